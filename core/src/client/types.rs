//! Plain data exchanged with the client: options, query results, save results,
//! composite requests and responses.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{ApiError, ClientError};

/// How failed requests are retried (safe requests only, see [`super::SfClient`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retries.
    pub max_retries: u32,
    /// The first backoff window; each retry doubles it (full jitter inside the window).
    pub base_delay: Duration,
    /// The longest wait between two attempts, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 4, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }
}

/// 32 MiB: Salesforce's largest answers runner asks for (a query page of 2,000 wide
/// records, a describe) stay well under it.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;

/// Pages read for one query (single or batched) before giving up: 10,000 pages of up
/// to 2,000 records is 20 million records, far past any playbook's need, and a server
/// that invents ever-new `nextRecordsUrl`s must not keep a run forever.
pub const DEFAULT_MAX_QUERY_PAGES: usize = 10_000;

/// The API version runner uses unless told otherwise: the one its steps and the
/// simulated org are written and tested against. Every org of a later release still
/// serves it (Salesforce serves each version for years), and naming it spares the
/// version list's round trip on connecting.
pub const DEFAULT_API_VERSION: &str = "62.0";

/// Connection options.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `"62.0"`; `None` discovers the newest version from `GET /services/data/`, a
    /// round trip before any other. By default [`DEFAULT_API_VERSION`].
    pub api_version: Option<String>,
    /// Per attempt, connection and body included.
    pub timeout: Duration,
    /// Per logical request, every retry and backoff included: a server that accepts
    /// connections and never answers costs this much, not `attempts × timeout`.
    pub request_timeout: Duration,
    /// The largest response body read; a larger one (or one that never ends) is
    /// [`ClientError::BodyTooLarge`] instead of growing until memory runs out.
    pub max_body_bytes: u64,
    /// Pages read for one query before [`ClientError::TooManyPages`].
    pub max_query_pages: usize,
    pub user_agent: String,
    /// Extra trusted root certificates (PEM), e.g. the simulated org's self-signed one.
    pub extra_root_certs: Vec<Vec<u8>>,
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_version: Some(DEFAULT_API_VERSION.to_string()),
            timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_query_pages: DEFAULT_MAX_QUERY_PAGES,
            user_agent: concat!("runner/", env!("CARGO_PKG_VERSION")).to_string(),
            extra_root_certs: Vec::new(),
            retry: RetryPolicy::default(),
        }
    }
}

pub use super::usage::ApiUsage;

/// The records of a query, all pages followed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QueryResult {
    pub total_size: u64,
    pub records: Vec<Map<String, Value>>,
}

/// One page of a query, as Salesforce sends it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryPage {
    pub total_size: u64,
    pub done: bool,
    pub next_records_url: Option<String>,
    pub records: Vec<Map<String, Value>>,
}

impl QueryPage {
    /// Reads `{totalSize, done, nextRecordsUrl?, records}`; `None` if the shape is wrong.
    pub(crate) fn from_value(value: Value) -> Option<QueryPage> {
        let Value::Object(mut map) = value else { return None };
        let total_size = map.get("totalSize")?.as_u64()?;
        let done = map.get("done").and_then(Value::as_bool).unwrap_or(true);
        let next_records_url = map.get("nextRecordsUrl").and_then(Value::as_str).map(str::to_string);
        let records = match map.remove("records") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(record) => Some(record),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?,
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return None,
        };
        Some(QueryPage { total_size, done, next_records_url: if done { None } else { next_records_url }, records })
    }
}

/// The result of saving one record in an sObject Collections request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SaveResult {
    pub id: Option<String>,
    pub success: bool,
    pub errors: Vec<ApiError>,
}

impl SaveResult {
    /// Reads `{id, success, errors: [{statusCode|errorCode, message, fields}]}`.
    pub fn from_value(value: &Value) -> Option<SaveResult> {
        let map = value.as_object()?;
        let success = map.get("success")?.as_bool()?;
        let id = map.get("id").and_then(Value::as_str).map(str::to_string);
        let errors = match map.get("errors") {
            None | Some(Value::Null) => Vec::new(),
            Some(errors) => ApiError::list_from_value(errors)?,
        };
        Some(SaveResult { id, success, errors })
    }
}

/// A record to create with [`super::SfClient::create_many`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    pub sobject: String,
    pub fields: Map<String, Value>,
}

/// A record to update with [`super::SfClient::update_many`].
#[derive(Debug, Clone, PartialEq)]
pub struct RecordUpdate {
    pub sobject: String,
    pub id: String,
    pub fields: Map<String, Value>,
}

/// A `POST /composite` request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompositeRequest {
    pub all_or_none: bool,
    pub subrequests: Vec<SubRequest>,
}

/// One subrequest of a composite request.
#[derive(Debug, Clone, PartialEq)]
pub struct SubRequest {
    /// `GET`, `POST`, `PATCH`, `PUT` or `DELETE`.
    pub method: String,
    /// Either the full `/services/data/vXX.X/...` path, or a path relative to it
    /// (`/sobjects/Account`), which the client completes with its API version.
    pub url: String,
    pub reference_id: String,
    pub body: Option<Value>,
}

/// One subrequest's result.
#[derive(Debug, Clone, PartialEq)]
pub struct SubResponse {
    pub reference_id: String,
    pub status: u16,
    pub body: Value,
    pub headers: Map<String, Value>,
    /// The subrequest's method and url, when the client sent it (for errors).
    pub method: String,
    pub url: String,
}

impl SubResponse {
    /// Reads `{body, httpHeaders, httpStatusCode, referenceId}`.
    pub fn from_value(value: &Value) -> Option<SubResponse> {
        let map = value.as_object()?;
        let status = u16::try_from(map.get("httpStatusCode")?.as_u64()?).ok()?;
        Some(SubResponse {
            reference_id: map.get("referenceId").and_then(Value::as_str).unwrap_or_default().to_string(),
            status,
            body: map.get("body").cloned().unwrap_or(Value::Null),
            headers: map.get("httpHeaders").and_then(Value::as_object).cloned().unwrap_or_default(),
            method: String::new(),
            url: String::new(),
        })
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body of a successful subrequest, or its errors as [`ClientError::Api`].
    pub fn into_result(self) -> Result<Value, ClientError> {
        if self.is_success() {
            return Ok(self.body);
        }
        let errors = ApiError::list_from_value(&self.body).unwrap_or_else(|| {
            vec![ApiError::new(
                "UNKNOWN",
                format!("subrequest `{}` failed with HTTP {}", self.reference_id, self.status),
            )]
        });
        let path =
            if self.url.is_empty() { format!("composite:{}", self.reference_id) } else { strip_query(&self.url) };
        Err(ClientError::Api { method: self.method, path, status: self.status, errors })
    }
}

/// The path of a URL without its query string (queries can be long; errors show paths).
pub(crate) fn strip_query(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}

/// One record type's visibility on a profile (Metadata API `ProfileRecordTypeVisibility`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTypeVisibility {
    /// `<SObject>.<RecordTypeDeveloperName>`, e.g. `Account.Business_Account`.
    pub record_type: String,
    pub default: bool,
    pub visible: bool,
    /// Only for Account record types when Person Accounts are enabled.
    pub person_account_default: Option<bool>,
}
