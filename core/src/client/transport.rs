//! Sending one logical request: timeouts, retries with backoff, `Retry-After`,
//! call counting and `Sforce-Limit-Info`. Knows nothing about tokens beyond the one
//! it is handed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::error::{ApiError, ClientError};
use super::soap;
use super::types::{ApiUsage, ClientOptions};

/// What the client and its token sources share: the HTTP client and the counters.
pub(crate) struct Shared {
    pub http: reqwest::Client,
    pub options: ClientOptions,
    pub api_calls: AtomicU64,
    pub usage: Mutex<Option<ApiUsage>>,
    rng: Mutex<SmallRng>,
}

/// A request body.
#[derive(Clone)]
pub(crate) enum Body {
    None,
    Json(Value),
    /// `application/x-www-form-urlencoded` (token endpoint). Values may be secrets.
    Form(Vec<(&'static str, SecretString)>),
    /// The inner XML of a Metadata SOAP body; the envelope (with the session id) is
    /// written at send time so that a refreshed token is used on retry.
    Soap(String),
}

/// One logical request.
pub(crate) struct Req {
    pub method: Method,
    pub url: Url,
    /// For messages: the path without the query string.
    pub path: String,
    pub body: Body,
    /// Idempotent: may be retried after it reached the server (5xx gateway errors,
    /// resets, timeouts). Every request is retried when the connection failed before
    /// it was sent.
    pub safe: bool,
    /// Changes data: failures after sending are ambiguous.
    pub write: bool,
}

impl Req {
    pub fn new(method: Method, url: Url, body: Body) -> Req {
        let path = url.path().to_string();
        let write = super::error::is_write_method(method.as_str());
        let safe = matches!(method, Method::GET | Method::HEAD | Method::DELETE | Method::PATCH);
        Req { method, url, path, body, safe, write }
    }

    pub fn safe(mut self, safe: bool) -> Req {
        self.safe = safe;
        self
    }

    pub fn write(mut self, write: bool) -> Req {
        self.write = write;
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Req {
        self.path = path.into();
        self
    }
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
    /// How many attempts were made (1 = no retry).
    pub attempts: u32,
}

impl Resp {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn is_json(&self) -> bool {
        self.content_type.to_ascii_lowercase().contains("json")
    }

    pub fn is_xml(&self) -> bool {
        self.content_type.to_ascii_lowercase().contains("xml")
    }

    /// The body as JSON, when it is declared and parses as JSON.
    pub fn json(&self) -> Option<Value> {
        if !self.is_json() {
            return None;
        }
        serde_json::from_slice(&self.body).ok()
    }
}

/// A failed attempt.
enum AttemptError {
    /// The connection could not be made: nothing was sent.
    NotSent(reqwest::Error),
    /// The connection broke after the request may have been sent.
    Broken(reqwest::Error),
    TimedOut,
}

impl Shared {
    pub fn new(options: ClientOptions) -> Result<Shared, ClientError> {
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(options.user_agent.clone())
            // A redirect is never part of Salesforce's API; following one could carry
            // the token elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        for pem in &options.extra_root_certs {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| ClientError::Config {
                reason: format!("an extra root certificate is not valid PEM: {e}"),
            })?;
            if certs.is_empty() {
                return Err(ClientError::Config { reason: "an extra root certificate holds no certificate".into() });
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Config { reason: format!("cannot set up the HTTP client: {e}") })?;
        Ok(Shared {
            http,
            options,
            api_calls: AtomicU64::new(0),
            usage: Mutex::new(None),
            rng: Mutex::new(SmallRng::from_os_rng()),
        })
    }

    pub fn api_calls(&self) -> u64 {
        self.api_calls.load(Ordering::Relaxed)
    }

    pub fn api_usage(&self) -> Option<ApiUsage> {
        *self.usage.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `req` with retries. `token` goes in `Authorization` (or in the SOAP header).
    /// Returns the response whatever its status; only transport failures are errors.
    pub async fn send(&self, req: &Req, token: Option<&SecretString>) -> Result<Resp, ClientError> {
        let policy = self.options.retry;
        let auth_header = match token {
            Some(token) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
                    ClientError::Config {
                        reason: "the access token holds characters that cannot go in an HTTP header".into(),
                    }
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(req, token, auth_header.as_ref()).await;
            let retries_left = attempt <= policy.max_retries;
            let retry_after = match &outcome {
                Ok((resp, retry_after)) if req.safe && matches!(resp.status, 502..=504) => Some(*retry_after),
                Ok(_) => None,
                Err(AttemptError::NotSent(_)) => Some(None),
                Err(AttemptError::Broken(_) | AttemptError::TimedOut) if req.safe => Some(None),
                Err(_) => None,
            };
            if let Some(retry_after) = retry_after
                && retries_left
            {
                let delay = self.backoff(attempt - 1, retry_after);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                continue;
            }
            return match outcome {
                Ok((mut resp, _)) => {
                    resp.attempts = attempt;
                    Ok(resp)
                }
                Err(AttemptError::NotSent(e)) => Err(ClientError::Transport {
                    method: req.method.to_string(),
                    path: req.path.clone(),
                    sent: false,
                    write: req.write,
                    source: Box::new(e.without_url()),
                }),
                Err(AttemptError::Broken(e)) => Err(ClientError::Transport {
                    method: req.method.to_string(),
                    path: req.path.clone(),
                    sent: true,
                    write: req.write,
                    source: Box::new(e.without_url()),
                }),
                Err(AttemptError::TimedOut) => Err(ClientError::Timeout {
                    method: req.method.to_string(),
                    path: req.path.clone(),
                    after: self.options.timeout,
                    write: req.write,
                }),
            };
        }
    }

    /// Full jitter in an exponential window, or the server's `Retry-After`; both capped.
    fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let policy = self.options.retry;
        if let Some(after) = retry_after {
            return after.min(policy.max_delay);
        }
        let window = policy.base_delay.saturating_mul(2u32.saturating_pow(retry.min(20))).min(policy.max_delay);
        let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        if millis == 0 {
            return Duration::ZERO;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        Duration::from_millis(rng.random_range(0..=millis))
    }

    async fn send_once(
        &self,
        req: &Req,
        token: Option<&SecretString>,
        auth_header: Option<&HeaderValue>,
    ) -> Result<(Resp, Option<Duration>), AttemptError> {
        let mut builder = self.http.request(req.method.clone(), req.url.clone());
        match &req.body {
            Body::None => {
                builder = builder.header(ACCEPT, "application/json");
            }
            Body::Json(value) => {
                let bytes = serde_json::to_vec(value).unwrap_or_default();
                builder = builder
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_TYPE, "application/json; charset=UTF-8")
                    .body(bytes);
            }
            Body::Form(pairs) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (key, value) in pairs {
                    form.append_pair(key, value.expose_secret());
                }
                builder = builder
                    .header(ACCEPT, "application/json")
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.finish());
            }
            Body::Soap(inner) => {
                let session = token.map(|t| t.expose_secret()).unwrap_or_default();
                builder = builder
                    .header(CONTENT_TYPE, "text/xml; charset=UTF-8")
                    .header("SOAPAction", "\"\"")
                    .body(soap::envelope(session, inner));
            }
        }
        if let Some(value) = auth_header
            && !matches!(req.body, Body::Soap(_))
        {
            builder = builder.header(AUTHORIZATION, value.clone());
        }
        self.api_calls.fetch_add(1, Ordering::Relaxed);
        let response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.note_limit_info(&headers);
        let body = response.bytes().await.map_err(classify)?.to_vec();
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Ok((Resp { status, content_type, body, attempts: 1 }, retry_after))
    }

    fn note_limit_info(&self, headers: &HeaderMap) {
        let usage = headers
            .get_all("Sforce-Limit-Info")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(ApiUsage::parse_header);
        if let Some(usage) = usage {
            *self.usage.lock().unwrap_or_else(|e| e.into_inner()) = Some(usage);
        }
    }
}

fn classify(error: reqwest::Error) -> AttemptError {
    if error.is_connect() {
        AttemptError::NotSent(error)
    } else if error.is_timeout() {
        AttemptError::TimedOut
    } else {
        AttemptError::Broken(error)
    }
}

/// At most 200 characters of a body, with every known secret taken out.
pub(crate) fn snippet(body: &[u8], secrets: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "[REDACTED]");
    }
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= 200 {
        collapsed
    } else {
        let mut cut: String = collapsed.chars().take(199).collect();
        cut.push('…');
        cut
    }
}

/// Turns a non-success (or unreadable) response into an error. `usage` is the last
/// known API usage, for [`ClientError::RequestLimit`].
pub(crate) fn error_from_response(req: &Req, resp: &Resp, secrets: &[&str], usage: Option<ApiUsage>) -> ClientError {
    if let Some(json) = resp.json() {
        if let Some(errors) = ApiError::list_from_value(&json).filter(|e| !e.is_empty()) {
            if errors.iter().any(|e| e.error_code == "REQUEST_LIMIT_EXCEEDED") {
                return ClientError::RequestLimit { usage };
            }
            return ClientError::Api {
                method: req.method.to_string(),
                path: req.path.clone(),
                status: resp.status,
                errors: errors.into_iter().map(ApiError::redacted).collect(),
            };
        }
        if let Some(error) = json.get("error").and_then(Value::as_str) {
            let description = json.get("error_description").and_then(Value::as_str).unwrap_or_default();
            return ClientError::OAuth {
                status: resp.status,
                error: crate::redact::text(error).into_owned(),
                description: crate::redact::text(description).into_owned(),
            };
        }
        if resp.status == 300
            && let Some(urls) = json.as_array()
        {
            let urls: Vec<&str> = urls.iter().filter_map(Value::as_str).collect();
            return ClientError::Api {
                method: req.method.to_string(),
                path: req.path.clone(),
                status: resp.status,
                errors: vec![ApiError::new(
                    "MULTIPLE_CHOICES",
                    format!("the external ID matches several records: {}", urls.join(", ")),
                )],
            };
        }
    }
    unexpected(req, resp, secrets)
}

pub(crate) fn unexpected(req: &Req, resp: &Resp, secrets: &[&str]) -> ClientError {
    ClientError::UnexpectedResponse {
        method: req.method.to_string(),
        path: req.path.clone(),
        status: resp.status,
        content_type: resp.content_type.clone(),
        snippet: crate::redact::text(&snippet(&resp.body, secrets)).into_owned(),
        write: req.write,
    }
}
