//! The Salesforce client: REST (query, sObject CRUD, composite, sObject collections),
//! Metadata SOAP for Profile record type visibilities, and OAuth tokens.
//!
//! - Every request has a timeout, is counted ([`SfClient::api_calls`]) and has its
//!   `Sforce-Limit-Info` read ([`SfClient::api_usage`]).
//! - Safe requests (reads, PATCH/DELETE of known ids) are retried on 502/503/504,
//!   resets and timeouts, with exponential backoff and full jitter, honouring
//!   `Retry-After`. Creates are retried only when the connection failed before the
//!   request was sent; otherwise the error says the write is ambiguous
//!   ([`ClientError::is_ambiguous_write`]).
//! - An expired session (a 401, a SOAP `INVALID_SESSION_ID`, or userinfo's 403) is
//!   refreshed once when the [`Auth`] can, then the request is sent again.
//! - Tokens and secrets live in [`secrecy::SecretString`] and never appear in errors,
//!   `Debug` output or logs.

mod auth;
mod error;
mod soap;
pub mod soql;
mod transport;
mod types;
mod usage;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

pub use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use url::Url;

pub use auth::{Auth, BoxFuture, Token, TokenEndpoint, TokenSource};
pub use error::{ApiError, ClientError, TlsFailure};
pub use types::{
    ApiUsage, ClientOptions, CompositeRequest, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_QUERY_PAGES, NewRecord, QueryResult,
    RecordTypeVisibility, RecordUpdate, RetryPolicy, SaveResult, SubRequest, SubResponse,
};

use transport::{Body, Req, Resp, Shared, error_from_response, not_json, unexpected};
use types::{QueryPage, strip_query};

/// Records per sObject Collections request.
const COLLECTION_CHUNK: usize = 200;
/// Subrequests per `/composite/batch` request.
const BATCH_LIMIT: usize = 25;
/// Query subrequests per `/composite` request.
const COMPOSITE_QUERY_LIMIT: usize = 5;

/// A connection to one org. Cheap to clone: clones share the token and the counters.
#[derive(Clone)]
pub struct SfClient {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    instance_url: Url,
    api_version: String,
    auth: Auth,
    /// The current token and its generation (bumped by every refresh).
    token: RwLock<(u64, SecretString)>,
    refresh_lock: tokio::sync::Mutex<()>,
    /// Set when the org answered 404 to `/composite/batch`: use `/composite` instead.
    batch_unavailable: AtomicBool,
}

impl fmt::Debug for SfClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SfClient")
            .field("instance_url", &self.inner.instance_url.as_str())
            .field("api_version", &self.inner.api_version)
            .field("auth", &self.inner.auth)
            .field("api_calls", &self.api_calls())
            .finish()
    }
}

/// Checks that credentials may be sent to `url`: https, or http to a loopback host.
/// One rule for the client and for everything that resolves a target before it.
pub fn check_secure(url: &Url) -> Result<(), ClientError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback { Ok(()) } else { Err(ClientError::InsecureUrl { url: url.as_str().to_string() }) }
        }
        other => Err(ClientError::InvalidUrl {
            url: url.as_str().to_string(),
            reason: format!("the scheme must be https (or http for loopback), not `{other}`"),
        }),
    }
}

/// Parses and checks an instance URL; keeps only scheme, host and port.
pub(crate) fn parse_instance_url(text: &str) -> Result<Url, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidUrl { url: text.to_string(), reason: reason.to_string() };
    let mut url = Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL"));
    }
    check_secure(&url)?;
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `"62.0"` (a leading `v` is dropped).
fn normalize_version(version: &str) -> Result<String, ClientError> {
    let version = version.trim().trim_start_matches(['v', 'V']);
    let valid = !version.is_empty()
        && version.chars().all(|c| c.is_ascii_digit() || c == '.')
        && version.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(version.to_string())
    } else {
        Err(ClientError::Config { reason: format!("`{version}` is not an API version such as 62.0") })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_sobject(name: &str) -> Result<(), ClientError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ClientError::InvalidName {
            kind: "an sObject API name",
            name: name.to_string(),
            example: "Account or StoreConnect_Store__c (letters, digits, _)",
        })
    }
}

fn check_id(id: &str) -> Result<(), ClientError> {
    if matches!(id.len(), 15 | 18) && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(ClientError::InvalidName {
            kind: "a Salesforce record id",
            name: id.to_string(),
            example: "001000000000001AAA (15 or 18 letters and digits)",
        })
    }
}

fn check_field(name: &str) -> Result<(), ClientError> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        Ok(())
    } else {
        Err(ClientError::InvalidName {
            kind: "a field API name",
            name: name.to_string(),
            example: "Name, Owner.Name or My_Field__c (letters, digits, _ and .)",
        })
    }
}

/// Whether a request may be sent twice: reads, deletes, and PATCH of a known record id
/// (a PATCH by external id is an upsert that may create).
fn idempotent(method: &str, path: &str) -> bool {
    match method {
        "GET" | "HEAD" | "DELETE" => true,
        "PATCH" => is_record_path(path),
        _ => false,
    }
}

/// `…/sobjects/<SObject>/<record id>` (query string ignored).
fn is_record_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match segments.iter().rposition(|s| *s == "sobjects") {
        Some(at) if segments.len() == at + 3 => valid_name(segments[at + 1]) && check_id(segments[at + 2]).is_ok(),
        _ => false,
    }
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl SfClient {
    /// Connects to an org: checks the URL (plain http only for loopback), gets a token
    /// for the OAuth variants (the token's `instance_url` wins) and discovers the newest
    /// API version when none is given.
    pub async fn connect(instance_url: &str, auth: Auth, options: ClientOptions) -> Result<SfClient, ClientError> {
        let mut instance = parse_instance_url(instance_url)?;
        if let Some(token_url) = auth.token_url() {
            check_secure(token_url)?;
        }
        let explicit_version = options.api_version.as_deref().map(normalize_version).transpose()?;
        let shared = Arc::new(Shared::new(options)?);
        let token = match &auth {
            Auth::AccessToken(token) => token.clone(),
            other => {
                let endpoint = TokenEndpoint { shared: shared.clone() };
                let token = auth::fetch_token(other, &endpoint).await?;
                if let Some(url) = token.instance_url {
                    instance = url;
                }
                token.access_token
            }
        };
        crate::redact::global().add_secret(&token);
        let api_version = match explicit_version {
            Some(version) => version,
            None => discover_version(&shared, &instance, &token).await?,
        };
        Ok(SfClient {
            inner: Arc::new(Inner {
                shared,
                instance_url: instance,
                api_version,
                auth,
                token: RwLock::new((0, token)),
                refresh_lock: tokio::sync::Mutex::new(()),
                batch_unavailable: AtomicBool::new(false),
            }),
        })
    }

    /// The instance API calls go to (scheme, host and port; path `/`).
    pub fn instance_url(&self) -> &Url {
        &self.inner.instance_url
    }

    /// The API version in use, e.g. `"62.0"`.
    pub fn api_version(&self) -> &str {
        &self.inner.api_version
    }

    /// Every HTTP request sent to Salesforce so far, retries, token requests and the
    /// version list included.
    pub fn api_calls(&self) -> u64 {
        self.inner.shared.api_calls()
    }

    /// The last `Sforce-Limit-Info: api-usage=USED/LIMIT` seen.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.inner.shared.api_usage()
    }

    // ----- REST -----

    /// Runs a SOQL query and follows `nextRecordsUrl` to the last page.
    pub async fn query(&self, soql: &str) -> Result<QueryResult, ClientError> {
        self.query_at("query", soql).await
    }

    /// A Tooling API query (`/tooling/query`), every page: for fields only Tooling
    /// has, such as `Profile.FullName`.
    pub async fn query_tooling(&self, soql: &str) -> Result<QueryResult, ClientError> {
        self.query_at("tooling/query", soql).await
    }

    /// Like [`SfClient::query`], including deleted and archived records.
    pub async fn query_all(&self, soql: &str) -> Result<QueryResult, ClientError> {
        self.query_at("queryAll", soql).await
    }

    async fn query_at(&self, resource: &str, soql: &str) -> Result<QueryResult, ClientError> {
        let path = format!("/{resource}?q={}", encode(soql));
        let req = Req::new(Method::GET, self.data_url(&path)?, Body::None);
        let page = self.query_page(&req).await?;
        self.finish_query(page).await
    }

    async fn query_page(&self, req: &Req) -> Result<QueryPage, ClientError> {
        let value = self.json(req).await?;
        let resp_path = req.path.clone();
        QueryPage::from_value(value).ok_or_else(|| self.shape_error(req, &resp_path, "a query result"))
    }

    /// Follows the pages after `page`, at most [`ClientOptions::max_query_pages`] in all.
    async fn finish_query(&self, mut page: QueryPage) -> Result<QueryResult, ClientError> {
        let mut result = QueryResult { total_size: page.total_size, records: std::mem::take(&mut page.records) };
        let mut seen = std::collections::HashSet::new();
        while let Some(next) = page.next_records_url.take() {
            if !seen.insert(next.clone()) {
                return Err(ClientError::PaginationLoop { path: next, pages: seen.len() + 1 });
            }
            let limit = self.inner.shared.options.max_query_pages;
            if seen.len() >= limit {
                return Err(ClientError::TooManyPages { path: strip_query(&next), limit });
            }
            let req = Req::new(Method::GET, self.absolute_url(&next)?, Body::None);
            page = self.query_page(&req).await?;
            result.records.append(&mut page.records);
        }
        Ok(result)
    }

    /// One record, with all fields or the given ones.
    pub async fn get(
        &self,
        sobject: &str,
        id: &str,
        fields: Option<&[&str]>,
    ) -> Result<Map<String, Value>, ClientError> {
        check_sobject(sobject)?;
        check_id(id)?;
        let mut path = format!("/sobjects/{sobject}/{id}");
        if let Some(fields) = fields {
            for field in fields {
                check_field(field)?;
            }
            path.push_str("?fields=");
            path.push_str(&fields.join(","));
        }
        let req = Req::new(Method::GET, self.data_url(&path)?, Body::None);
        match self.json(&req).await? {
            Value::Object(map) => Ok(map),
            _ => Err(self.shape_error(&req, &req.path, "a record")),
        }
    }

    /// Creates a record; returns its id. Never retried once it may have reached the
    /// server: an ambiguous failure must be resolved by re-reading.
    pub async fn create(&self, sobject: &str, fields: &Map<String, Value>) -> Result<String, ClientError> {
        check_sobject(sobject)?;
        let req = Req::new(
            Method::POST,
            self.data_url(&format!("/sobjects/{sobject}/"))?,
            Body::Json(Value::Object(fields.clone())),
        );
        let value = self.json(&req).await?;
        let save = SaveResult::from_value(&value).ok_or_else(|| self.shape_error(&req, &req.path, "a save result"))?;
        match save {
            SaveResult { success: true, id: Some(id), .. } => Ok(id),
            // "Success" without the id: the record probably exists, and saying "not
            // created" would invite a duplicate.
            SaveResult { success: true, id: None, .. } => {
                Err(ClientError::MissingId { method: "POST".into(), path: req.path.clone() })
            }
            SaveResult { errors, .. } => Err(ClientError::Api {
                method: "POST".into(),
                path: req.path.clone(),
                status: 200,
                errors: if errors.is_empty() {
                    vec![ApiError::new("UNKNOWN", "the record was not created")]
                } else {
                    errors
                },
            }),
        }
    }

    /// Updates fields of a record (PATCH; retried when safe).
    pub async fn update(&self, sobject: &str, id: &str, fields: &Map<String, Value>) -> Result<(), ClientError> {
        check_sobject(sobject)?;
        check_id(id)?;
        let req = Req::new(
            Method::PATCH,
            self.data_url(&format!("/sobjects/{sobject}/{id}"))?,
            Body::Json(Value::Object(fields.clone())),
        );
        self.no_content(&req).await.map(|_| ())
    }

    /// Deletes a record. A retried delete whose record is already gone succeeds.
    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), ClientError> {
        check_sobject(sobject)?;
        check_id(id)?;
        let req = Req::new(Method::DELETE, self.data_url(&format!("/sobjects/{sobject}/{id}"))?, Body::None);
        let resp = self.execute(&req).await?;
        if resp.is_success() {
            return Ok(());
        }
        let err = self.response_error(&req, &resp);
        let gone = matches!(err.error_code(), Some("ENTITY_IS_DELETED" | "NOT_FOUND"));
        if resp.attempts > 1 && gone { Ok(()) } else { Err(err) }
    }

    /// `POST /composite`. Subrequest urls may be relative to `/services/data/vXX.X`.
    /// Retried only when no subrequest is a POST or PUT.
    pub async fn composite(&self, request: &CompositeRequest) -> Result<Vec<SubResponse>, ClientError> {
        let subrequests: Vec<Value> = request
            .subrequests
            .iter()
            .map(|s| {
                let mut item = json!({
                    "method": s.method,
                    "url": self.full_data_path(&s.url),
                    "referenceId": s.reference_id,
                });
                if let Some(body) = &s.body {
                    item["body"] = body.clone();
                }
                item
            })
            .collect();
        let safe = request.subrequests.iter().all(|s| idempotent(&s.method.to_ascii_uppercase(), &s.url));
        let write = request.subrequests.iter().any(|s| !s.method.eq_ignore_ascii_case("GET"));
        let body = json!({ "allOrNone": request.all_or_none, "compositeRequest": subrequests });
        let req = Req::new(Method::POST, self.data_url("/composite")?, Body::Json(body)).safe(safe).write(write);
        let value = self.json(&req).await?;
        let items = value
            .get("compositeResponse")
            .and_then(Value::as_array)
            .ok_or_else(|| self.shape_error(&req, &req.path, "a composite response"))?;
        let mut responses = Vec::with_capacity(items.len());
        for item in items {
            let mut sub = SubResponse::from_value(item)
                .ok_or_else(|| self.shape_error(&req, &req.path, "a composite subresponse"))?;
            if let Some(sent) = request.subrequests.iter().find(|s| s.reference_id == sub.reference_id) {
                sub.method = sent.method.clone();
                sub.url = self.full_data_path(&sent.url);
            }
            responses.push(sub);
        }
        Ok(responses)
    }

    /// Runs independent queries in as few round trips as the API allows:
    /// `/composite/batch` (25 per request; falls back to `/composite`, 5 queries per
    /// request, when the org does not offer it), then the next pages of unfinished
    /// queries the same way. A single query goes straight to `/query`.
    pub async fn query_batch(&self, soqls: &[String]) -> Result<Vec<Result<QueryResult, ClientError>>, ClientError> {
        if soqls.is_empty() {
            return Ok(Vec::new());
        }
        if soqls.len() == 1 {
            // Same contract as a batch: Salesforce's refusal of the query is its own
            // result; transport, session and limit errors fail the whole call.
            return match self.query(&soqls[0]).await {
                Ok(result) => Ok(vec![Ok(result)]),
                Err(err @ ClientError::Api { .. }) => Ok(vec![Err(err)]),
                Err(err) => Err(err),
            };
        }
        let version = self.api_version().to_string();
        let urls: Vec<String> =
            soqls.iter().map(|q| format!("/services/data/v{version}/query?q={}", encode(q))).collect();
        let mut results: Vec<Result<QueryResult, ClientError>> = Vec::with_capacity(soqls.len());
        let mut pending: Vec<(usize, String)> = Vec::new();
        // Per query: the nextRecordsUrls already followed, to catch a loop of any length.
        let mut seen: Vec<std::collections::HashSet<String>> = vec![std::collections::HashSet::new(); soqls.len()];
        for (i, (status, body)) in self.get_many(&urls).await?.into_iter().enumerate() {
            match self.sub_query_page(&urls[i], status, body) {
                Ok(mut page) => {
                    if let Some(next) = page.next_records_url.take() {
                        pending.push((i, next));
                    }
                    results.push(Ok(QueryResult { total_size: page.total_size, records: page.records }));
                }
                Err(err) => results.push(Err(err)),
            }
        }
        let limit = self.inner.shared.options.max_query_pages;
        while !pending.is_empty() {
            pending.retain(|(i, url)| {
                if !seen[*i].insert(url.clone()) {
                    results[*i] = Err(ClientError::PaginationLoop { path: url.clone(), pages: seen[*i].len() + 1 });
                    false
                } else if seen[*i].len() >= limit {
                    results[*i] = Err(ClientError::TooManyPages { path: strip_query(url), limit });
                    false
                } else {
                    true
                }
            });
            if pending.is_empty() {
                break;
            }
            let urls: Vec<String> = pending.iter().map(|(_, url)| url.clone()).collect();
            let answers = self.get_many(&urls).await?;
            let mut still = Vec::new();
            for ((i, url), (status, body)) in pending.into_iter().zip(answers) {
                let page = self.sub_query_page(&url, status, body);
                match (&mut results[i], page) {
                    (Ok(result), Ok(mut page)) => {
                        result.records.append(&mut page.records);
                        if let Some(next) = page.next_records_url.take() {
                            still.push((i, next));
                        }
                    }
                    (slot, Err(err)) => *slot = Err(err),
                    (Err(_), Ok(_)) => {}
                }
            }
            pending = still;
        }
        Ok(results)
    }

    fn sub_query_page(&self, url: &str, status: u16, body: Value) -> Result<QueryPage, ClientError> {
        let path = strip_query(url);
        if !(200..300).contains(&status) {
            let errors = ApiError::list_from_value(&body)
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| vec![ApiError::new("UNKNOWN", format!("the query failed with HTTP {status}"))]);
            if errors.iter().any(|e| e.error_code == "REQUEST_LIMIT_EXCEEDED") {
                return Err(ClientError::RequestLimit { usage: self.api_usage() });
            }
            return Err(ClientError::Api { method: "GET".into(), path, status, errors });
        }
        QueryPage::from_value(body).ok_or_else(|| ClientError::UnexpectedShape {
            method: "GET".into(),
            path,
            wanted: "a query result (a batch subrequest)".into(),
            write: false,
        })
    }

    /// GETs several `/services/data/...` urls in as few round trips as possible.
    async fn get_many(&self, urls: &[String]) -> Result<Vec<(u16, Value)>, ClientError> {
        let mut out = Vec::with_capacity(urls.len());
        let mut rest = urls;
        while !rest.is_empty() {
            if !self.inner.batch_unavailable.load(Ordering::Relaxed) {
                let (chunk, tail) = rest.split_at(rest.len().min(BATCH_LIMIT));
                match self.batch_get(chunk).await? {
                    Some(mut answers) => {
                        out.append(&mut answers);
                        rest = tail;
                        continue;
                    }
                    None => self.inner.batch_unavailable.store(true, Ordering::Relaxed),
                }
            }
            let (chunk, tail) = rest.split_at(rest.len().min(COMPOSITE_QUERY_LIMIT));
            let request = CompositeRequest {
                all_or_none: false,
                subrequests: chunk
                    .iter()
                    .enumerate()
                    .map(|(i, url)| SubRequest {
                        method: "GET".into(),
                        url: url.clone(),
                        reference_id: format!("q{i}"),
                        body: None,
                    })
                    .collect(),
            };
            let responses = self.composite(&request).await?;
            for (i, _) in chunk.iter().enumerate() {
                let reference = format!("q{i}");
                let sub = responses.iter().find(|r| r.reference_id == reference).ok_or_else(|| {
                    ClientError::UnexpectedResponse {
                        method: "POST".into(),
                        path: format!("/services/data/v{}/composite", self.api_version()),
                        status: 200,
                        content_type: "application/json".into(),
                        snippet: format!("no subresponse for `{reference}`"),
                        write: false,
                    }
                })?;
                out.push((sub.status, sub.body.clone()));
            }
            rest = tail;
        }
        Ok(out)
    }

    /// One `/composite/batch` of GETs; `None` when the org has no such resource.
    async fn batch_get(&self, urls: &[String]) -> Result<Option<Vec<(u16, Value)>>, ClientError> {
        let requests: Vec<Value> = urls
            .iter()
            .map(|url| json!({ "method": "GET", "url": url.strip_prefix("/services/data/").unwrap_or(url) }))
            .collect();
        let body = json!({ "batchRequests": requests, "haltOnError": false });
        let req = Req::new(Method::POST, self.data_url("/composite/batch")?, Body::Json(body)).safe(true).write(false);
        let resp = self.execute(&req).await?;
        if matches!(resp.status, 404 | 405) {
            return Ok(None);
        }
        let value = self.expect_json(&req, &resp)?;
        let results = value
            .get("results")
            .and_then(Value::as_array)
            .filter(|r| r.len() == urls.len())
            .ok_or_else(|| self.shape_error(&req, &req.path, "a batch response with one result per subrequest"))?;
        results
            .iter()
            .map(|r| {
                let status = r.get("statusCode").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok());
                match status {
                    Some(status) => Ok((status, r.get("result").cloned().unwrap_or(Value::Null))),
                    None => Err(self.shape_error(&req, &req.path, "a batch result with a statusCode")),
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Creates records with sObject Collections, 200 per request. With `all_or_none`,
    /// each request of 200 is atomic on its own.
    pub async fn create_many(&self, records: &[NewRecord], all_or_none: bool) -> Result<Vec<SaveResult>, ClientError> {
        let mut out = Vec::with_capacity(records.len());
        for chunk in records.chunks(COLLECTION_CHUNK) {
            let mut items = Vec::with_capacity(chunk.len());
            for record in chunk {
                check_sobject(&record.sobject)?;
                let mut body = Map::new();
                body.insert("attributes".into(), json!({ "type": record.sobject }));
                body.extend(record.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                items.push(Value::Object(body));
            }
            let body = json!({ "allOrNone": all_or_none, "records": items });
            let req = Req::new(Method::POST, self.data_url("/composite/sobjects")?, Body::Json(body));
            out.extend(self.save_results(&req, chunk.len()).await?);
        }
        Ok(out)
    }

    /// Updates records with sObject Collections (PATCH), 200 per request.
    pub async fn update_many(
        &self,
        records: &[RecordUpdate],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, ClientError> {
        let mut out = Vec::with_capacity(records.len());
        for chunk in records.chunks(COLLECTION_CHUNK) {
            let mut items = Vec::with_capacity(chunk.len());
            for record in chunk {
                check_sobject(&record.sobject)?;
                check_id(&record.id)?;
                let mut body = Map::new();
                body.insert("attributes".into(), json!({ "type": record.sobject }));
                body.insert("id".into(), Value::String(record.id.clone()));
                body.extend(
                    record
                        .fields
                        .iter()
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("id"))
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                items.push(Value::Object(body));
            }
            let body = json!({ "allOrNone": all_or_none, "records": items });
            let req = Req::new(Method::PATCH, self.data_url("/composite/sobjects")?, Body::Json(body));
            out.extend(self.save_results(&req, chunk.len()).await?);
        }
        Ok(out)
    }

    /// Deletes records with sObject Collections, 200 per request.
    pub async fn delete_many(&self, ids: &[String], all_or_none: bool) -> Result<Vec<SaveResult>, ClientError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(COLLECTION_CHUNK) {
            for id in chunk {
                check_id(id)?;
            }
            let path = format!("/composite/sobjects?ids={}&allOrNone={all_or_none}", chunk.join(","));
            let req = Req::new(Method::DELETE, self.data_url(&path)?, Body::None);
            out.extend(self.save_results(&req, chunk.len()).await?);
        }
        Ok(out)
    }

    async fn save_results(&self, req: &Req, expected: usize) -> Result<Vec<SaveResult>, ClientError> {
        let value = self.json(req).await?;
        let results = value
            .as_array()
            .filter(|items| items.len() == expected)
            .and_then(|items| items.iter().map(SaveResult::from_value).collect::<Option<Vec<_>>>());
        results.ok_or_else(|| self.shape_error(req, &req.path, "one save result per record"))
    }

    /// `GET {instance}/services/oauth2/userinfo`.
    pub async fn userinfo(&self) -> Result<Map<String, Value>, ClientError> {
        let url = self.absolute_url(USERINFO_PATH)?;
        let req = Req::new(Method::GET, url, Body::None);
        match self.json(&req).await? {
            Value::Object(map) => Ok(map),
            _ => Err(self.shape_error(&req, &req.path, "a userinfo object")),
        }
    }

    /// Any REST call under `/services/data/vXX.X` (`path` like `/sobjects/User/005…/password`;
    /// a path starting with `/services/data/` is used as is). Returns the status and the
    /// JSON body (`null` when there is none); non-2xx answers are errors.
    pub async fn request_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let url = self.data_url(path)?;
        let body = body.map(|b| Body::Json(b.clone())).unwrap_or(Body::None);
        let safe = idempotent(method.as_str(), path);
        let req = Req::new(method, url, body).safe(safe);
        let resp = self.execute(&req).await?;
        if !resp.is_success() {
            return Err(self.response_error(&req, &resp));
        }
        if resp.is_empty() {
            return Ok((resp.status, Value::Null));
        }
        let value = self.expect_json(&req, &resp)?;
        Ok((resp.status, value))
    }

    // ----- Metadata SOAP -----

    /// Reads a Profile's record type visibilities with `readMetadata`.
    pub async fn read_profile_record_types(
        &self,
        profile_full_name: &str,
    ) -> Result<Vec<RecordTypeVisibility>, ClientError> {
        let inner = soap::read_metadata_body("Profile", &[profile_full_name]);
        let (req, doc) = self.soap_call("readMetadata", inner, false).await?;
        let result = doc.find("result").ok_or_else(|| self.shape_error(&req, &req.path, "a readMetadata result"))?;
        let record =
            result.children_named("records").find(|r| r.attr("nil") != Some("true") && r.child("fullName").is_some());
        match record {
            Some(record) => Ok(soap::record_type_visibilities(record)),
            None => Err(ClientError::Api {
                method: "POST".into(),
                path: req.path.clone(),
                status: 200,
                errors: vec![ApiError::new(
                    "NOT_FOUND",
                    format!("no Profile with the full name `{profile_full_name}`"),
                )],
            }),
        }
    }

    /// Sets record type visibilities on a Profile with `updateMetadata`; only the given
    /// entries change (profile updates overlay).
    pub async fn update_profile_record_types(
        &self,
        profile_full_name: &str,
        changes: &[RecordTypeVisibility],
    ) -> Result<(), ClientError> {
        let inner = soap::update_profile_body(profile_full_name, changes);
        let (req, doc) = self.soap_call("updateMetadata", inner, true).await?;
        let result = doc.find("result").ok_or_else(|| self.shape_error(&req, &req.path, "an updateMetadata result"))?;
        match result.child_text("success") {
            Some("true") => Ok(()),
            _ => {
                let mut errors = soap::result_errors(result);
                if errors.is_empty() {
                    errors.push(ApiError::new(
                        "UNKNOWN",
                        format!("updateMetadata did not succeed for `{profile_full_name}`"),
                    ));
                }
                Err(ClientError::Api { method: "POST".into(), path: req.path.clone(), status: 200, errors })
            }
        }
    }

    async fn soap_call(
        &self,
        operation: &str,
        inner: String,
        write: bool,
    ) -> Result<(Req, soap::Element), ClientError> {
        let url = self.absolute_url(&format!("/services/Soap/m/{}", self.api_version()))?;
        let req = Req::new(Method::POST, url, Body::Soap(inner))
            // readMetadata reads; updateMetadata of a Profile overlays the same values again: both idempotent.
            .safe(true)
            .write(write);
        let path = format!("{} ({operation})", req.path);
        let req = req.path(path);
        let resp = self.execute(&req).await?;
        let token = self.current_token().1;
        let secrets = [token.expose_secret()];
        let doc = if resp.is_xml() { soap::parse(&resp.body).ok() } else { None };
        let Some(doc) = doc else {
            return Err(if resp.is_success() {
                unexpected(&req, &resp, &secrets)
            } else {
                self.response_error(&req, &resp)
            });
        };
        if let Some((fault_code, message)) = soap::fault(&doc) {
            if fault_code.ends_with("REQUEST_LIMIT_EXCEEDED") {
                return Err(ClientError::RequestLimit { usage: self.api_usage() });
            }
            // A fault may quote the session id it was sent.
            let (fault_code, message) =
                (crate::redact::text(&fault_code).into_owned(), crate::redact::text(&message).into_owned());
            return Err(ClientError::Soap { fault_code, message });
        }
        if !resp.is_success() {
            return Err(unexpected(&req, &resp, &secrets));
        }
        Ok((req, doc))
    }

    // ----- plumbing -----

    fn current_token(&self) -> (u64, SecretString) {
        let guard = self.inner.token.read().unwrap_or_else(|e| e.into_inner());
        (guard.0, guard.1.clone())
    }

    /// `/services/data/vXX.X` + `path`, or `path` itself when it already starts there.
    fn full_data_path(&self, path: &str) -> String {
        if path.starts_with("/services/data/") {
            path.to_string()
        } else {
            let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
            format!("/services/data/v{}{path}", self.api_version())
        }
    }

    fn data_url(&self, path: &str) -> Result<Url, ClientError> {
        self.absolute_url(&self.full_data_path(path))
    }

    /// Joins a server-absolute path (`/services/...`) to the instance; never leaves it.
    fn absolute_url(&self, path: &str) -> Result<Url, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidPath { path: path.to_string(), reason: reason.to_string() };
        if !path.starts_with("/services/")
            || path.contains("..")
            || path.contains(char::is_whitespace)
            || path.contains('#')
        {
            return Err(invalid("not a path under /services/"));
        }
        let url = self.inner.instance_url.join(path).map_err(|e| invalid(&e.to_string()))?;
        if url.origin() != self.inner.instance_url.origin() {
            return Err(invalid("the path leaves the instance"));
        }
        Ok(url)
    }

    /// Sends a request with the current token; on an invalid session, refreshes once
    /// (when the auth can) and sends it again.
    async fn execute(&self, req: &Req) -> Result<Resp, ClientError> {
        let (generation, token) = self.current_token();
        let resp = self.inner.shared.send(req, Some(&token)).await?;
        if !session_invalid(req, &resp) {
            return Ok(resp);
        }
        if !self.inner.auth.can_refresh() {
            return Err(ClientError::SessionInvalid {
                method: req.method.to_string(),
                path: req.path.clone(),
                hint:
                    "get a fresh token (`sf org login web`, then `sf org auth show-access-token --json`) and run again"
                        .into(),
            });
        }
        self.refresh(generation).await?;
        let (_, token) = self.current_token();
        let resp = self.inner.shared.send(req, Some(&token)).await?;
        if session_invalid(req, &resp) {
            return Err(ClientError::SessionInvalid {
                method: req.method.to_string(),
                path: req.path.clone(),
                hint: format!(
                    "a fresh token from {} was refused too: check the connected app's policies (IP relaxation, session timeout) and the run-as user",
                    self.inner.auth.kind()
                ),
            });
        }
        Ok(resp)
    }

    /// Gets a new token unless another request already did since `seen_generation`.
    async fn refresh(&self, seen_generation: u64) -> Result<(), ClientError> {
        let _guard = self.inner.refresh_lock.lock().await;
        if self.current_token().0 != seen_generation {
            return Ok(());
        }
        let endpoint = TokenEndpoint { shared: self.inner.shared.clone() };
        let token = auth::fetch_token(&self.inner.auth, &endpoint).await?;
        crate::redact::global().add_secret(&token.access_token);
        let mut guard = self.inner.token.write().unwrap_or_else(|e| e.into_inner());
        *guard = (seen_generation + 1, token.access_token);
        Ok(())
    }

    fn response_error(&self, req: &Req, resp: &Resp) -> ClientError {
        let token = self.current_token().1;
        error_from_response(req, resp, &[token.expose_secret()], self.api_usage())
    }

    /// The JSON body of a successful response; anything else is an error.
    fn expect_json(&self, req: &Req, resp: &Resp) -> Result<Value, ClientError> {
        if !resp.is_success() {
            return Err(self.response_error(req, resp));
        }
        match resp.json() {
            Some(value) => Ok(value),
            None => {
                let token = self.current_token().1;
                Err(not_json(req, resp, &[token.expose_secret()]))
            }
        }
    }

    async fn json(&self, req: &Req) -> Result<Value, ClientError> {
        let resp = self.execute(req).await?;
        self.expect_json(req, &resp)
    }

    async fn no_content(&self, req: &Req) -> Result<Resp, ClientError> {
        let resp = self.execute(req).await?;
        if resp.is_success() { Ok(resp) } else { Err(self.response_error(req, &resp)) }
    }

    fn shape_error(&self, req: &Req, path: &str, wanted: &str) -> ClientError {
        ClientError::UnexpectedShape {
            method: req.method.to_string(),
            path: path.to_string(),
            wanted: wanted.to_string(),
            write: req.write,
        }
    }
}

/// For `fuzz/` only, not an API: the decoders that read what a server sends.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// The Metadata SOAP decoder and what reads its tree.
    pub fn soap(xml: &[u8]) {
        let Ok(doc) = soap::parse(xml) else { return };
        let _ = soap::fault(&doc);
        if let Some(result) = doc.find("result") {
            let _ = soap::result_errors(result);
            for record in result.children_named("records") {
                let _ = soap::record_type_visibilities(record);
            }
        }
    }

    /// The JSON decoders of REST answers, and the errors made of an answer with the
    /// status and content type in the input's first two bytes.
    pub fn json(input: &[u8]) {
        let (status, content_type, body) = match input {
            [status, kind, body @ ..] => {
                const STATUSES: [u16; 14] = [200, 201, 204, 300, 302, 400, 401, 403, 404, 429, 500, 502, 503, 504];
                let status = STATUSES[usize::from(*status) % STATUSES.len()];
                let content_type = if kind % 2 == 0 { "application/json" } else { "text/html" };
                (status, content_type, body)
            }
            _ => (200, "application/json", input),
        };
        if let Ok(value) = serde_json::from_slice::<Value>(body) {
            let _ = QueryPage::from_value(value.clone());
            let _ = SaveResult::from_value(&value);
            let _ = SubResponse::from_value(&value).map(|sub| sub.into_result());
            let _ = ApiError::list_from_value(&value);
        }
        let _ = ApiUsage::parse_header(&String::from_utf8_lossy(body));
        let Ok(url) = Url::parse("https://fuzz.my.salesforce.com/services/data/v62.0/query") else { return };
        let req = Req::new(Method::GET, url, Body::None);
        let resp =
            Resp { status, content_type: content_type.into(), body: body.to_vec(), attempts: 1, retry_after: None };
        let secrets = ["00Dfuzz!token"];
        let error = error_from_response(&req, &resp, &secrets, None);
        let _ = (error.to_string(), miette::Diagnostic::help(&error).map(|h| h.to_string()));
        let _ = not_json(&req, &resp, &secrets).to_string();
    }
}

/// Where [`SfClient::userinfo`] asks.
const USERINFO_PATH: &str = "/services/oauth2/userinfo";

/// Whether the answer means the token is no longer valid: a 401 on REST, a SOAP fault
/// `INVALID_SESSION_ID`, or a 403 from userinfo.
fn session_invalid(req: &Req, resp: &Resp) -> bool {
    match resp.status {
        401 => true,
        // The UserInfo help page (remoteaccess_using_userinfo_endpoint, quoted by Mobile SDK
        // Android PR #2430; iOS issue #3398 shows it for an expired session) says userinfo
        // answers 403, not 401, for an invalid token. Elsewhere a 403 is about permissions
        // or the API limit, never the session.
        403 => req.url.path() == USERINFO_PATH && !names_another_error(resp),
        500 => {
            resp.is_xml()
                && soap::parse(&resp.body)
                    .ok()
                    .and_then(|doc| soap::fault(&doc))
                    .is_some_and(|(code, _)| code.ends_with("INVALID_SESSION_ID"))
        }
        _ => false,
    }
}

/// True when the body is a REST error list whose codes say something other than an
/// invalid session (`REQUEST_LIMIT_EXCEEDED`, `INSUFFICIENT_ACCESS`, …). The identity
/// service's 403 for a bad token is a bare `Bad_OAuth_Token` (nforce and jsforce read it
/// as a plain string), not such a list; an unknown body counts as the token's fault, since
/// one refresh costs little and a second 403 still ends in [`ClientError::SessionInvalid`].
fn names_another_error(resp: &Resp) -> bool {
    resp.json()
        .and_then(|json| ApiError::list_from_value(&json))
        .is_some_and(|errors| !errors.is_empty() && errors.iter().all(|e| e.error_code != "INVALID_SESSION_ID"))
}

/// `GET /services/data/`: the last element is the newest version.
async fn discover_version(shared: &Shared, instance: &Url, token: &SecretString) -> Result<String, ClientError> {
    let url = instance
        .join("/services/data/")
        .map_err(|e| ClientError::InvalidUrl { url: instance.as_str().to_string(), reason: e.to_string() })?;
    let req = Req::new(Method::GET, url, Body::None);
    let resp = shared.send(&req, None).await?;
    let secrets = [token.expose_secret()];
    if !resp.is_success() {
        return Err(error_from_response(&req, &resp, &secrets, shared.api_usage()));
    }
    let version = resp
        .json()
        .as_ref()
        .and_then(Value::as_array)
        .and_then(|versions| versions.last())
        .and_then(|last| last.get("version"))
        .and_then(Value::as_str)
        .map(normalize_version);
    match version {
        Some(Ok(version)) => Ok(version),
        _ if resp.json().is_some() => Err(ClientError::UnexpectedShape {
            method: "GET".into(),
            path: req.path.clone(),
            wanted: "a list of API versions".into(),
            write: false,
        }),
        _ => Err(not_json(&req, &resp, &secrets)),
    }
}
