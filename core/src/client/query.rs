//! Queries: one SOQL query and its pages, several in one composite batch, and composite requests.

use super::*;

impl SfClient {
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

    pub(super) async fn query_at(&self, resource: &str, soql: &str) -> Result<QueryResult, ClientError> {
        let path = format!("/{resource}?q={}", encode(soql));
        let req = Req::new(Method::GET, self.data_url(&path)?, Body::None);
        let page = self.query_page(&req).await?;
        self.finish_query(page).await
    }

    pub(super) async fn query_page(&self, req: &Req) -> Result<QueryPage, ClientError> {
        let value = self.json(req).await?;
        let resp_path = req.path.clone();
        QueryPage::from_value(value).ok_or_else(|| self.shape_error(req, &resp_path, "a query result"))
    }

    /// Follows the pages after `page`, at most [`ClientOptions::max_query_pages`] in all.
    pub(super) async fn finish_query(&self, mut page: QueryPage) -> Result<QueryResult, ClientError> {
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

    /// The url of a query as a `/composite` subrequest.
    pub(crate) fn query_subrequest_url(&self, soql: &str) -> String {
        format!("/services/data/v{}/query?q={}", self.api_version(), encode(soql))
    }

    /// The answer of a query sent as a `/composite` subrequest: one page only; a result
    /// with more pages is an error, and the caller reads it again as a query of its own.
    pub(crate) fn query_subresponse(&self, sub: &SubResponse) -> Result<QueryResult, ClientError> {
        let url = if sub.url.is_empty() { format!("composite:{}", sub.reference_id) } else { sub.url.clone() };
        let page = self.sub_query_page(&url, sub.status, sub.body.clone())?;
        if page.next_records_url.is_some() {
            return Err(ClientError::UnexpectedShape {
                method: "GET".into(),
                path: strip_query(&url),
                wanted: "a query result of one page".into(),
                write: false,
            });
        }
        Ok(QueryResult { total_size: page.total_size, records: page.records })
    }

    pub(super) fn sub_query_page(&self, url: &str, status: u16, body: Value) -> Result<QueryPage, ClientError> {
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
    pub(super) async fn get_many(&self, urls: &[String]) -> Result<Vec<(u16, Value)>, ClientError> {
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
    pub(super) async fn batch_get(&self, urls: &[String]) -> Result<Option<Vec<(u16, Value)>>, ClientError> {
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
}
