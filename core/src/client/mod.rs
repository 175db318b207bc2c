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
mod collections;
mod describe;
mod error;
mod metadata;
mod query;
mod records;
mod session;
mod soap;
pub mod soql;
mod transport;
mod types;
mod usage;
mod validate;

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
pub use describe::{FieldAccess, ObjectFields};
pub use error::{ApiError, ClientError, TlsFailure};
pub use types::{
    ApiUsage, ClientOptions, CompositeRequest, DEFAULT_API_VERSION, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_QUERY_PAGES,
    NewRecord, QueryResult, RecordTypeVisibility, RecordUpdate, RetryPolicy, SaveResult, SubRequest, SubResponse,
};

use session::*;
use transport::{Body, Req, Resp, Shared, error_from_response, not_json, unexpected};
use types::{QueryPage, strip_query};
pub use validate::check_secure;
use validate::*;

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

impl SfClient {
    /// Connects to an org: checks the URL (plain http only for loopback), gets a token
    /// for the OAuth variants (the token's `instance_url` wins) and discovers the newest
    /// API version when [`ClientOptions::api_version`] is `None`.
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
