//! A hostile org on loopback: a tiny TCP server that answers each path with canned
//! raw bytes (so it can lie about lengths, never finish, or not be HTTP at all), and
//! answers the connect-time calls (version list, userinfo, the Organization query) like an
//! org unless a case overrides them.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What a path gets.
#[derive(Clone)]
pub enum Canned {
    /// These bytes (status line, headers, body), then the connection closes.
    /// `{token}` in them is replaced by the bearer token the request carried, to
    /// check that an echoed token never reaches the output.
    Raw(Vec<u8>),
    /// This head, then chunks of `x` forever.
    Endless(&'static str),
    /// Reads the request and never answers.
    Silent,
}

/// A complete response with a correct `content-length`.
pub fn response(status: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Canned {
    let body = body.into();
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
    Canned::Raw(out)
}

pub fn json(status: &str, body: &str) -> Canned {
    response(status, &[("content-type", "application/json;charset=UTF-8")], body.as_bytes().to_vec())
}

/// The Organization query runner sends on connecting, beside userinfo: answered like
/// an org whatever a case puts on the query path, so that a case's answer meets the
/// playbook's own query (a route with a `?` matches the path and a query holding the text after it).
fn organization_route() -> (String, Canned) {
    let organization = r#"{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Organization"},"Id":"00D000000000001AAA","Name":"Hostile","OrganizationType":"Developer Edition","IsSandbox":false}]}"#;
    ("/services/data/v62.0/query?FROM Organization".into(), json("200 OK", organization))
}

/// The answers of an org that lets runner connect: a version list and userinfo. No
/// Composite Batch: the read-ahead's batch is refused (404), so the steps and queries
/// read for themselves, one request each, and a case's answer meets them.
fn org_routes() -> Vec<(String, Canned)> {
    let versions = r#"[{"label":"Winter '25","url":"/services/data/v62.0","version":"62.0"}]"#;
    let userinfo = r#"{"user_id":"005000000000001AAA","organization_id":"00D000000000001AAA","preferred_username":"admin@hostile.example","zoneinfo":"Europe/London","locale":"en_GB","language":"en_US"}"#;
    vec![
        ("/services/data/".into(), json("200 OK", versions)),
        ("/services/oauth2/userinfo".into(), json("200 OK", userinfo)),
    ]
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
    })
}

pub struct Hostile {
    pub port: u16,
    pub requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Hostile {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A server whose routes are the org's, with `overrides` put first. A route
    /// matches the request's path without the query; `"*"` matches everything.
    pub fn start(overrides: Vec<(&str, Canned)>) -> Hostile {
        let overridden = overrides.iter().any(|(p, _)| *p == "*");
        let mut routes: Vec<(String, Canned)> = Vec::new();
        if !overridden {
            routes.push(organization_route());
        }
        routes.extend(overrides.into_iter().map(|(p, c)| (p.to_string(), c)));
        routes.extend(org_routes());
        let routes = Arc::new(routes);
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let listener = runtime().block_on(TcpListener::bind("127.0.0.1:0")).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = runtime().spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, routes.clone(), counter.clone()));
            }
        });
        Hostile { port, requests, task }
    }
}

async fn serve(mut socket: tokio::net::TcpStream, routes: Arc<Vec<(String, Canned)>>, counter: Arc<AtomicUsize>) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 8192];
    // A request head, or the first bytes of something that is not HTTP (a TLS
    // ClientHello), which a plain server answers with a 400.
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.first().is_none_or(|b: &u8| b.is_ascii_alphabetic()) {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    counter.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&seen).to_string();
    if !head.starts_with(|c: char| c.is_ascii_alphabetic()) {
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
        return;
    }
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query.replace('+', " ").replace("%20", " ");
    let matches = |route: &str| match route.split_once('?') {
        Some((route_path, text)) => route_path == path && query.contains(text),
        None => route == "*" || route == path,
    };
    let token = head
        .lines()
        .find_map(|l| l.strip_prefix("authorization: ").or_else(|| l.strip_prefix("Authorization: ")))
        .and_then(|v| v.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_string();
    let canned = routes.iter().find(|(route, _)| matches(route)).map(|(_, c)| c.clone()).unwrap_or_else(|| {
        json("404 Not Found", r#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#)
    });
    match canned {
        Canned::Raw(bytes) => {
            let text = replace_token(&bytes, &token);
            let _ = socket.write_all(&text).await;
            let _ = socket.shutdown().await;
        }
        Canned::Endless(head) => {
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            let framed = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk, b"\r\n".to_vec()].concat();
            while socket.write_all(&framed).await.is_ok() {}
        }
        Canned::Silent => std::future::pending::<()>().await,
    }
}

fn replace_token(bytes: &[u8], token: &str) -> Vec<u8> {
    const MARK: &[u8] = b"{token}";
    if !bytes.windows(MARK.len()).any(|w| w == MARK) {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.windows(MARK.len()).position(|w| w == MARK) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(token.as_bytes());
        rest = &rest[at + MARK.len()..];
    }
    out.extend_from_slice(rest);
    // The content-length was written for the marked body: fix it up.
    fix_length(out)
}

fn fix_length(raw: Vec<u8>) -> Vec<u8> {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else { return raw };
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let body = &raw[end + 4..];
    if !head.to_ascii_lowercase().contains("content-length:") {
        return raw;
    }
    let lines: Vec<String> = head
        .split("\r\n")
        .map(|l| {
            if l.to_ascii_lowercase().starts_with("content-length:") {
                format!("content-length: {}", body.len())
            } else {
                l.to_string()
            }
        })
        .collect();
    [lines.join("\r\n").into_bytes(), b"\r\n\r\n".to_vec(), body.to_vec()].concat()
}

/// A simulated org serving HTTPS with a certificate runner does not trust (its CA is
/// not in RUNNER_CA_CERT): for the untrusted-certificate case.
pub fn tls_sim() -> runner_sim::SimHandle {
    runtime().block_on(runner_sim::start(runner_sim::SimConfig { tls: true, ..Default::default() })).expect("a TLS sim")
}
