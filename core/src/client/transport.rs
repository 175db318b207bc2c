//! Sending one logical request: timeouts, retries with backoff, `Retry-After`,
//! call counting and `Sforce-Limit-Info`. Knows nothing about tokens beyond the one
//! it is handed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::error::{ApiError, ClientError, TlsFailure};
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
    /// The server's `Retry-After`, in seconds.
    pub retry_after: Option<Duration>,
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

    /// True when the body holds nothing but whitespace.
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }
}

/// A failed attempt.
enum AttemptError {
    /// The connection could not be made: nothing was sent.
    NotSent(reqwest::Error),
    /// The connection broke after the request may have been sent.
    Broken(reqwest::Error),
    TimedOut,
    /// The TLS handshake failed: nothing was sent, and trying again cannot help.
    Tls(TlsFailure),
    /// The body passed [`ClientOptions::max_body_bytes`].
    TooLarge,
}

impl Shared {
    pub fn new(options: ClientOptions) -> Result<Shared, ClientError> {
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .user_agent(options.user_agent.clone())
            // A redirect is never part of Salesforce's API; following one could carry
            // the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            // `check_secure` lets plain http go to `localhost` because it is loopback:
            // make it so, whatever the system resolver (or /etc/hosts) says.
            .resolve_to_addrs("localhost", &LOCALHOST_ADDRS);
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

    /// Sends `req` with retries, all within [`ClientOptions::request_timeout`]. `token`
    /// goes in `Authorization` (or in the SOAP header). Returns the response whatever
    /// its status; only transport failures are errors.
    pub async fn send(&self, req: &Req, token: Option<&SecretString>) -> Result<Resp, ClientError> {
        let policy = self.options.retry;
        let started = Instant::now();
        let deadline = started + self.options.request_timeout;
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
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = tokio::time::timeout(remaining, self.send_once(req, token, auth_header.as_ref()))
                .await
                .unwrap_or(Err(AttemptError::TimedOut));
            let retries_left = attempt <= policy.max_retries;
            let retry_after = match &outcome {
                Ok(resp) if req.safe && matches!(resp.status, 429 | 502..=504) => Some(resp.retry_after),
                Ok(_) => None,
                Err(AttemptError::NotSent(_)) => Some(None),
                Err(AttemptError::Broken(_) | AttemptError::TimedOut) if req.safe => Some(None),
                Err(_) => None,
            };
            if let Some(retry_after) = retry_after
                && retries_left
            {
                let delay = self.backoff(attempt - 1, retry_after);
                // Another try only if the wait leaves it some time before the deadline.
                if Instant::now() + delay < deadline {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    continue;
                }
            }
            return match outcome {
                Ok(mut resp) => {
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
                    after: round_for_humans(started.elapsed()),
                    write: req.write,
                }),
                Err(AttemptError::Tls(kind)) => Err(ClientError::Tls {
                    method: req.method.to_string(),
                    path: req.path.clone(),
                    host: req.url.host_str().unwrap_or_default().to_string(),
                    kind,
                }),
                Err(AttemptError::TooLarge) => Err(ClientError::BodyTooLarge {
                    method: req.method.to_string(),
                    path: req.path.clone(),
                    limit: self.options.max_body_bytes,
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
    ) -> Result<Resp, AttemptError> {
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
        let mut response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        self.note_limit_info(&headers);
        let limit = self.options.max_body_bytes;
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(AttemptError::TooLarge);
        }
        // Read chunk by chunk against the cap: a body that never ends stops here,
        // not when memory runs out.
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
                return Err(AttemptError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Ok(Resp { status, content_type, body, attempts: 1, retry_after })
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

/// Where `localhost` goes: loopback only (the port is the URL's).
pub(crate) const LOCALHOST_ADDRS: [std::net::SocketAddr; 2] = [
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0),
    std::net::SocketAddr::new(std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), 0),
];

/// Whole seconds past one second: "got no answer within 2s", not "2s 3ms 112us".
fn round_for_humans(elapsed: Duration) -> Duration {
    if elapsed >= Duration::from_secs(1) {
        Duration::from_secs(elapsed.as_secs_f64().round() as u64)
    } else {
        Duration::from_millis(elapsed.as_millis() as u64)
    }
}

/// The TLS failure behind a transport error, if that is what it is. rustls's error
/// travels inside (nested) `io::Error`s, whose `source()` skips what they wrap, so
/// each one is opened with `get_ref`.
fn tls_failure(error: &reqwest::Error) -> Option<TlsFailure> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    // Bounded: a chain is a handful of links.
    for _ in 0..32 {
        let link = next?;
        if let Some(tls) = link.downcast_ref::<rustls::Error>() {
            return Some(describe_tls(tls));
        }
        next = match link.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => link.source(),
        };
    }
    None
}

fn describe_tls(error: &rustls::Error) -> TlsFailure {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsFailure::WrongHost,
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
                TlsFailure::Expired
            }
            _ => TlsFailure::UntrustedCertificate,
        },
        // A plain-http server answers the ClientHello with `HTTP/1.1 400 …`, which
        // rustls reads as a record of an unknown content type.
        rustls::Error::InvalidMessage(_) => TlsFailure::NotTls,
        other => TlsFailure::Other(other.to_string()),
    }
}

fn classify(error: reqwest::Error) -> AttemptError {
    if let Some(tls) = tls_failure(&error) {
        AttemptError::Tls(tls)
    } else if error.is_connect() {
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
    let json = resp.json();
    let errors = json.as_ref().and_then(ApiError::list_from_value).filter(|e| !e.is_empty());
    if errors.as_ref().is_some_and(|errors| errors.iter().any(|e| e.error_code == "REQUEST_LIMIT_EXCEEDED")) {
        return ClientError::RequestLimit { usage };
    }
    // A 429 says "later" whatever its body. So does a 503 from Salesforce (a
    // SERVER_UNAVAILABLE list) or with a Retry-After; a bare HTML 503 may be a proxy's
    // or a login page in the way, and keeps the "not the Salesforce API" hint.
    match resp.status {
        429 => {
            return ClientError::RateLimited {
                method: req.method.to_string(),
                path: req.path.clone(),
                retry_after: resp.retry_after,
            };
        }
        503 if errors.is_some() || resp.retry_after.is_some() => {
            let detail = match &errors {
                Some(errors) => first_error_line(errors, secrets),
                None => String::new(),
            };
            return ClientError::Unavailable {
                method: req.method.to_string(),
                path: req.path.clone(),
                retry_after: resp.retry_after,
                detail,
                write: req.write,
            };
        }
        _ => {}
    }
    if let Some(json) = json {
        if let Some(errors) = errors {
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

/// The first error of a list, short and without secrets, for a message.
fn first_error_line(errors: &[ApiError], secrets: &[&str]) -> String {
    errors.first().map(|e| snippet(e.to_string().as_bytes(), secrets)).unwrap_or_default()
}

/// A successful answer that should have carried JSON and did not: empty, declared
/// JSON but broken, or something else altogether.
pub(crate) fn not_json(req: &Req, resp: &Resp, secrets: &[&str]) -> ClientError {
    if resp.is_empty() {
        return ClientError::EmptyBody {
            method: req.method.to_string(),
            path: req.path.clone(),
            status: resp.status,
            write: req.write,
        };
    }
    if resp.is_json()
        && let Err(err) = serde_json::from_slice::<Value>(&resp.body)
    {
        let truncated = err.is_eof();
        let reason =
            if truncated { format!("it ends early, after {} bytes", resp.body.len()) } else { err.to_string() };
        return ClientError::InvalidJson {
            method: req.method.to_string(),
            path: req.path.clone(),
            status: resp.status,
            reason,
            truncated,
            write: req.write,
        };
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
