//! Errors of the Salesforce client. Every variant has a stable code and a help that
//! says what to do. No variant ever holds a token or a secret runner put there, and
//! what a server echoes is redacted when shown ([`crate::redact`]).

use std::time::Duration;

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::usage::ApiUsage;

/// One error as Salesforce reports it: `errorCode` in REST errors, `statusCode` in
/// SaveResults and the Metadata API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error_code: String,
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

impl ApiError {
    pub fn new(error_code: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError { error_code: error_code.into(), message: message.into(), fields: Vec::new() }
    }

    /// Reads one error object (`errorCode` or `statusCode`, `message`, `fields`).
    pub fn from_value(value: &Value) -> Option<ApiError> {
        let map = value.as_object()?;
        let code = map.get("errorCode").or_else(|| map.get("statusCode")).and_then(Value::as_str);
        let message = map.get("message").and_then(Value::as_str);
        if code.is_none() && message.is_none() {
            return None;
        }
        let fields = match map.get("fields") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            Some(Value::String(one)) => vec![one.clone()],
            _ => Vec::new(),
        };
        Some(ApiError {
            error_code: code.unwrap_or("UNKNOWN").to_string(),
            message: message.unwrap_or_default().to_string(),
            fields,
        })
    }

    /// The error with every known secret cut out of its message: servers echo what
    /// they were sent.
    pub fn redacted(mut self) -> ApiError {
        self.message = crate::redact::text(&self.message).into_owned();
        self
    }

    /// Reads an error body: the usual array of error objects, or a single object.
    /// An empty array gives an empty list. Anything else gives `None`.
    pub fn list_from_value(value: &Value) -> Option<Vec<ApiError>> {
        match value {
            Value::Array(items) => items.iter().map(ApiError::from_value).collect(),
            Value::Object(_) => ApiError::from_value(value).map(|e| vec![e]),
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error_code, crate::redact::text(self.message.trim()))?;
        if !self.fields.is_empty() {
            write!(f, " (fields: {})", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// What went wrong talking to Salesforce.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[non_exhaustive]
pub enum ClientError {
    #[error("Salesforce refused {method} {path} (HTTP {status}): {}", first_error(.errors))]
    #[diagnostic(code(runner::sf::api), help("{}", api_help(.errors)))]
    Api { method: String, path: String, status: u16, errors: Vec<ApiError> },

    #[error("the Salesforce session is invalid or has expired ({method} {path})")]
    #[diagnostic(code(runner::sf::session_invalid), help("{hint}"))]
    SessionInvalid { method: String, path: String, hint: String },

    #[error("the org's daily API request limit is exceeded{}", .usage.map(|u| format!(" ({u} used)")).unwrap_or_default())]
    #[diagnostic(
        code(runner::sf::request_limit),
        help(
            "stop sending requests to this org: the limit is a rolling 24-hour window. Try again later, or raise the org's API limit"
        )
    )]
    RequestLimit { usage: Option<ApiUsage> },

    #[error("the token endpoint refused the request (HTTP {status}): {}: {}", redact(.error), redact(.description))]
    #[diagnostic(code(runner::sf::oauth), help("{}", oauth_help(.error, .description)))]
    OAuth { status: u16, error: String, description: String },

    #[error("{method} {path} answered HTTP {status} with {} where Salesforce's API was expected: {:?}", describe_content_type(.content_type), redact(.snippet))]
    #[diagnostic(
        code(runner::sf::unexpected_response),
        help(
            "this is not the Salesforce API answering: check the instance URL, and whether a proxy, a login or maintenance page is in the way, then run again"
        )
    )]
    UnexpectedResponse { method: String, path: String, status: u16, content_type: String, snippet: String, write: bool },

    #[error("{method} {path} failed: {}{}", chain(.source.as_ref()), if *.sent { " (the request may have reached Salesforce)" } else { "" })]
    #[diagnostic(code(runner::sf::transport), help("{}", transport_help(*.sent, *.write)))]
    Transport {
        method: String,
        path: String,
        /// True when the request may have reached the server.
        sent: bool,
        /// True when the request writes (a create, update, delete or metadata update).
        write: bool,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("{method} {path} got no answer within {}", humantime::format_duration(*.after))]
    #[diagnostic(code(runner::sf::timeout), help("{}", timeout_help(*.write)))]
    Timeout { method: String, path: String, after: Duration, write: bool },

    #[error("refusing to send credentials over plain http to {url}")]
    #[diagnostic(
        code(runner::sf::insecure_url),
        help("use an https:// URL; plain http is only allowed for loopback addresses (127.0.0.1, ::1, localhost)")
    )]
    InsecureUrl { url: String },

    #[error("invalid URL `{url}`: {reason}")]
    #[diagnostic(
        code(runner::sf::invalid_url),
        help("give an instance URL such as https://acme.my.salesforce.com (or http://127.0.0.1:PORT for a local org)")
    )]
    InvalidUrl { url: String, reason: String },

    #[error("the Metadata API returned a SOAP fault {}: {}", redact(.fault_code), redact(.message))]
    #[diagnostic(code(runner::sf::soap), help("{}", soap_help(.fault_code)))]
    Soap { fault_code: String, message: String },

    #[error("invalid client configuration: {reason}")]
    #[diagnostic(
        code(runner::sf::config),
        help("fix the connection settings (API version, certificates) and run again")
    )]
    Config { reason: String },

    #[error("`{name}` is not {kind}")]
    #[diagnostic(
        code(runner::sf::invalid_name),
        help("{kind} looks like {example}: check the spelling in the playbook")
    )]
    InvalidName { kind: &'static str, name: String, example: &'static str },

    #[error("`{path}` is not a Salesforce API path: {reason}")]
    #[diagnostic(
        code(runner::sf::invalid_path),
        help(
            "paths are relative to /services/data/vXX.X (such as /sobjects/User/005…/password) or start with /services/, and stay on the org's instance"
        )
    )]
    InvalidPath { path: String, reason: String },

    #[error("{method} {path} answered more than {} (runner's cap on one answer)", bytes(*.limit))]
    #[diagnostic(code(runner::sf::body_too_large), help("{}", body_too_large_help(*.write)))]
    BodyTooLarge { method: String, path: String, limit: u64, write: bool },

    #[error("{method} {path} answered HTTP {status} with JSON that does not parse: {reason}")]
    #[diagnostic(code(runner::sf::invalid_json), help("{}", invalid_json_help(*.truncated, *.write)))]
    InvalidJson { method: String, path: String, status: u16, reason: String, truncated: bool, write: bool },

    #[error("{method} {path} answered HTTP {status} with no body, where Salesforce's API sends one")]
    #[diagnostic(code(runner::sf::empty_body), help("{}", empty_body_help(*.write)))]
    EmptyBody { method: String, path: String, status: u16, write: bool },

    #[error("{method} {path} answered JSON that is not {wanted}")]
    #[diagnostic(
        code(runner::sf::unexpected_shape),
        help(
            "the answer is JSON, but not what Salesforce's API gives here: check that the instance URL is the org's (not another API on the same host), then run again"
        )
    )]
    UnexpectedShape { method: String, path: String, wanted: String, write: bool },

    #[error("the query's pages go round in a loop: nextRecordsUrl {path} came back after {pages} page(s)")]
    #[diagnostic(
        code(runner::sf::pagination_loop),
        help(
            "Salesforce never sends the same nextRecordsUrl twice: a caching proxy or a server that is not Salesforce is answering. Check the instance URL and run again"
        )
    )]
    PaginationLoop { path: String, pages: usize },

    #[error("the query has more than {limit} pages ({path}): runner stops reading there")]
    #[diagnostic(
        code(runner::sf::too_many_pages),
        help(
            "narrow the query (a WHERE clause or a LIMIT): that many pages of up to 2,000 records is more than a playbook should read; or the server is not Salesforce and invents pages"
        )
    )]
    TooManyPages { path: String, limit: usize },

    #[error("{method} {path} was rate limited (HTTP 429){}", retry_after_text(*.retry_after))]
    #[diagnostic(
        code(runner::sf::rate_limited),
        help(
            "the server, or a gateway before it, limits how fast requests may come: wait{}, then run again; fewer orgs at once (`--jobs`) send fewer requests",
            retry_after_text(*.retry_after)
        )
    )]
    RateLimited { method: String, path: String, retry_after: Option<Duration> },

    #[error("{method} {path}: the server is temporarily unavailable (HTTP 503){}{}", retry_after_text(*.retry_after), detail_text(.detail))]
    #[diagnostic(code(runner::sf::unavailable), help("{}", unavailable_help(*.retry_after, *.write)))]
    Unavailable { method: String, path: String, retry_after: Option<Duration>, detail: String, write: bool },

    #[error("{method} {path} reported success but gave no record id")]
    #[diagnostic(
        code(runner::sf::missing_id),
        help(
            "the record was probably created, but runner cannot tell which one it is: re-read the org (by natural key) before running again. Salesforce always answers a create with the new id, so something else may be answering"
        )
    )]
    MissingId { method: String, path: String },

    #[error("{method} {path}: TLS with {host} failed: {}", .kind.what())]
    #[diagnostic(code(runner::sf::tls), help("{}", .kind.help()))]
    Tls { method: String, path: String, host: String, kind: TlsFailure },
}

/// Why a TLS connection failed, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// No trusted authority signed the server's certificate (a self-signed one, the
    /// sim's, or a TLS-inspecting proxy's).
    UntrustedCertificate,
    /// The certificate is for another name.
    WrongHost,
    /// The certificate has expired or is not valid yet.
    Expired,
    /// The server answered in plain text: an `https://` URL to a plain-http server.
    NotTls,
    /// Anything else the TLS layer said.
    Other(String),
}

impl TlsFailure {
    fn what(&self) -> String {
        match self {
            TlsFailure::UntrustedCertificate => {
                "the server's certificate is not signed by an authority runner trusts".into()
            }
            TlsFailure::WrongHost => "the server's certificate is for another host name".into(),
            TlsFailure::Expired => "the server's certificate has expired or is not valid yet".into(),
            TlsFailure::NotTls => "the server does not speak TLS (a plain-http server on an https:// URL?)".into(),
            TlsFailure::Other(text) => format!("the TLS handshake failed ({text})"),
        }
    }

    fn help(&self) -> String {
        let trust = "runner trusts the system's certificate authorities plus the PEM certificates in the file that RUNNER_CA_CERT names";
        match self {
            TlsFailure::NotTls => format!(
                "use http:// for a plain-http server on loopback (such as `runner sim serve` without --tls); for https, {trust}"
            ),
            TlsFailure::WrongHost => {
                format!("check the host name in the instance URL (the org's My Domain); {trust}")
            }
            _ => format!(
                "{trust}: for `runner sim serve --tls`, set RUNNER_CA_CERT to the certificate file it prints; behind a TLS-inspecting proxy, to the proxy's CA certificate"
            ),
        }
    }
}

const WRITE_METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

impl ClientError {
    /// The Salesforce error code behind this error, if any (`DUPLICATE_VALUE`, `INVALID_SESSION_ID`, …).
    pub fn error_code(&self) -> Option<&str> {
        match self {
            ClientError::Api { errors, .. } => errors.first().map(|e| e.error_code.as_str()),
            ClientError::SessionInvalid { .. } => Some("INVALID_SESSION_ID"),
            ClientError::RequestLimit { .. } => Some("REQUEST_LIMIT_EXCEEDED"),
            ClientError::OAuth { error, .. } => Some(error.as_str()),
            ClientError::Soap { fault_code, .. } => {
                Some(fault_code.rsplit_once(':').map(|(_, code)| code).unwrap_or(fault_code.as_str()))
            }
            _ => None,
        }
    }

    /// The first Salesforce error of an [`ClientError::Api`] error.
    pub fn first_api_error(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api { errors, .. } => errors.first(),
            _ => None,
        }
    }

    /// True when a write may or may not have been applied: the connection broke or timed
    /// out after the request was sent, or a gateway answered instead of Salesforce.
    /// Re-read by natural key before trying again.
    pub fn is_ambiguous_write(&self) -> bool {
        match self {
            ClientError::Transport { sent, write, .. } => *sent && *write,
            ClientError::Timeout { write, .. } => *write,
            ClientError::UnexpectedResponse { status, write, .. } => *write && matches!(status, 500 | 502 | 503 | 504),
            ClientError::Unavailable { write, .. }
            | ClientError::BodyTooLarge { write, .. }
            | ClientError::InvalidJson { write, .. }
            | ClientError::EmptyBody { write, .. }
            | ClientError::UnexpectedShape { write, .. } => *write,
            ClientError::MissingId { .. } => true,
            _ => false,
        }
    }

    /// True when retrying later may succeed (transport trouble, timeouts, gateway errors).
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Transport { .. }
            | ClientError::Timeout { .. }
            | ClientError::Unavailable { .. }
            | ClientError::RateLimited { .. } => true,
            ClientError::InvalidJson { truncated, .. } => *truncated,
            ClientError::UnexpectedResponse { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}

pub(crate) fn is_write_method(method: &str) -> bool {
    WRITE_METHODS.contains(&method)
}

/// Text a server sent back, with every secret of the run cut out: servers echo what
/// they were sent (a SOAP fault quoting the session id, an OAuth `error_description`
/// quoting the refresh token).
fn redact(text: &str) -> std::borrow::Cow<'_, str> {
    crate::redact::text(text)
}

fn first_error(errors: &[ApiError]) -> String {
    match errors {
        [] => "no error details".to_string(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

fn api_help(errors: &[ApiError]) -> &'static str {
    let code = errors.first().map(|e| e.error_code.as_str()).unwrap_or_default();
    match code {
        "INSUFFICIENT_ACCESS" | "INSUFFICIENT_ACCESS_OR_READONLY" | "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY" => {
            "the connected user lacks a permission for this: connect as an administrator (Manage Users, Modify All Data) and run again"
        }
        "DUPLICATE_VALUE" | "DUPLICATE_USERNAME" => {
            "the record already exists: read it (by its natural key) instead of creating it again"
        }
        "LICENSE_LIMIT_EXCEEDED" => {
            "no free licence seat is left: free a seat (deactivate a user) or buy more, then run again"
        }
        // Salesforce hides the TwoFactor objects from a user without the permission to
        // use them, with the error it gives for an object that does not exist (official
        // TwoFactorInfo / TwoFactorMethodsInfo object reference: access needs "Manage
        // Multi-Factor Authentication in API").
        "INVALID_TYPE" if errors.first().is_some_and(|e| e.message.contains("TwoFactor")) => {
            "the running user lacks \"Manage Multi-Factor Authentication in API\": enable it in Setup → Permission Sets \
             (a set assigned to you) → System Permissions, or on your profile, then run again"
        }
        "INVALID_TYPE" => {
            "the object does not exist in this org: check the object name, or install the package that provides it"
        }
        "INVALID_FIELD" | "MALFORMED_QUERY" => {
            "the query or field names do not match this org's schema: check the spelling and the API version"
        }
        "NOT_FOUND" | "ENTITY_IS_DELETED" => "the record does not exist (any more): re-read the org and run again",
        "MIXED_DML_OPERATION" => {
            "setup objects (User, assignments) and ordinary records must be written in separate requests"
        }
        "FIELD_INTEGRITY_EXCEPTION" => {
            "Salesforce rejected the field combination: the message names the dependency to satisfy"
        }
        _ => "Salesforce rejected the request: the error code and message say why; fix the cause and run again",
    }
}

fn oauth_help(error: &str, description: &str) -> &'static str {
    match error {
        "invalid_client_id" | "invalid_client" => "check the connected app's consumer key and secret",
        "invalid_grant" if description.to_ascii_lowercase().contains("audience") => {
            "the org refused the JWT's audience (`aud`): production orgs take https://login.salesforce.com, sandboxes https://test.salesforce.com, an Experience Cloud site its own URL; set `audience` in the org's runner.toml table to the one it takes"
        }
        "invalid_grant" => {
            "the grant was refused: check that the client-credentials flow is enabled with a run-as user, or that the refresh token is still valid, and that the token URL is the org's My Domain"
        }
        "unsupported_grant_type" => "enable this OAuth flow on the connected app (or External Client App)",
        _ => "check the connected app's settings and the token URL, then run again",
    }
}

fn soap_help(fault_code: &str) -> &'static str {
    if fault_code.ends_with("INVALID_SESSION_ID") {
        "the session is invalid or has expired: get a fresh token and run again"
    } else if fault_code.ends_with("INSUFFICIENT_ACCESS") {
        "the connected user needs Modify Metadata Through Metadata API Functions or Modify All Data"
    } else {
        "the Metadata API could not process the request: the fault message says why"
    }
}

fn transport_help(sent: bool, write: bool) -> &'static str {
    match (sent, write) {
        (true, true) => {
            "the write may or may not have been applied: re-read the org (by natural key) before trying again"
        }
        (false, _) => "could not reach Salesforce: check the instance URL, the network and any proxy, then run again",
        (true, false) => "the connection broke: check the network and run again",
    }
}

fn timeout_help(write: bool) -> &'static str {
    if write {
        "the write may or may not have been applied: re-read the org (by natural key) before trying again; `runner play --request-timeout` allows one request more time (retries included)"
    } else {
        "Salesforce did not answer in time: run again, or allow one request more time (retries included) with `runner play --request-timeout`, e.g. 5m"
    }
}

const REREAD: &str = "; the write may have been applied: re-read the org (by natural key) before trying again";

fn body_too_large_help(write: bool) -> String {
    format!(
        "no Salesforce API answer runner asks for comes near this size: something else is answering (a download, a proxy page, or a stream that never ends). Check the instance URL{}",
        if write { REREAD } else { "" }
    )
}

fn invalid_json_help(truncated: bool, write: bool) -> String {
    let why = if truncated {
        "the answer was cut short (a dropped connection, a proxy or a server that stopped mid-answer): run again"
    } else {
        "the answer is declared JSON but is not: a proxy or a server that is not Salesforce altered it. Check the instance URL and run again"
    };
    format!("{why}{}", if write { REREAD } else { "" })
}

fn empty_body_help(write: bool) -> String {
    format!(
        "the server answered without the data Salesforce returns here: check that the instance URL is the org's and that no proxy strips bodies{}",
        if write { REREAD } else { "" }
    )
}

fn unavailable_help(retry_after: Option<Duration>, write: bool) -> String {
    let wait = match retry_after {
        Some(after) => format!("the server asks to wait {}", humantime::format_duration(after)),
        None => "wait a few minutes".to_string(),
    };
    format!(
        "a temporary outage (maintenance or overload) of Salesforce or a proxy before it, not a problem with the playbook: {wait}, then run again{}",
        if write { REREAD } else { "" }
    )
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(after) => format!(" (retry after {})", humantime::format_duration(after)),
        None => String::new(),
    }
}

fn detail_text(detail: &str) -> String {
    if detail.is_empty() { String::new() } else { format!(": {detail}") }
}

fn bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else {
        format!("{n} bytes")
    }
}

fn describe_content_type(content_type: &str) -> String {
    if content_type.is_empty() { "no content type".to_string() } else { format!("`{content_type}`") }
}

fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(inner) = next {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        next = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_two_factor_object_points_at_the_permission_not_at_a_package() {
        let hidden = [ApiError::new("INVALID_TYPE", "sObject type 'TwoFactorMethodsInfo' is not supported.")];
        assert!(api_help(&hidden).contains("Manage Multi-Factor Authentication in API"));
        let missing = [ApiError::new("INVALID_TYPE", "sObject type 's_c__Store__c' is not supported.")];
        assert!(api_help(&missing).contains("install the package"));
    }
}
