//! A scripted stand-in for an org on 127.0.0.1: every request is logged and answered
//! by the test's closure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub soap_action: Option<String>,
    pub body: String,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A decoded query (or form) parameter.
    pub fn param(&self, name: &str) -> Option<String> {
        let source = if self.method == "POST" && self.query.is_none() {
            Some(self.body.as_str())
        } else {
            self.query.as_deref()
        };
        url::form_urlencoded::parse(source?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// How to answer.
pub enum Reply {
    Json(u16, Value),
    JsonWith(u16, Value, Vec<(&'static str, String)>),
    Raw {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Never answer (for timeouts).
    Hang,
}

type Handler = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

struct Shared {
    handler: Box<Handler>,
    log: Mutex<Vec<Seen>>,
    count: AtomicUsize,
}

pub struct Mock {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Mock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Mock {
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.log.lock().expect("log").clone()
    }

    pub fn count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        authorization: header("authorization"),
        content_type: header("content-type"),
        soap_action: header("soapaction"),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let n = shared.count.fetch_add(1, Ordering::SeqCst);
    shared.log.lock().expect("log").push(seen.clone());
    match (shared.handler)(&seen, n) {
        Reply::Json(status, value) => json_response(status, value, Vec::new()),
        Reply::JsonWith(status, value, headers) => json_response(status, value, headers),
        Reply::Raw { status, content_type, body } => {
            (StatusCode::from_u16(status).expect("status"), [("content-type", content_type)], body).into_response()
        }
        Reply::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}

fn json_response(status: u16, value: Value, headers: Vec<(&'static str, String)>) -> Response {
    let mut response = (StatusCode::from_u16(status).expect("status"), axum::Json(value)).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, value.parse().expect("header"));
    }
    response
}

/// Starts a server on 127.0.0.1:0 answering with `handler(request, index)`.
pub async fn mock(handler: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Mock {
    let shared =
        Arc::new(Shared { handler: Box::new(handler), log: Mutex::new(Vec::new()), count: AtomicUsize::new(0) });
    let app = axum::Router::new().fallback(handle).with_state(shared.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Mock { url, shared, task }
}

/// A server that reads each request and closes the connection without answering.
pub struct Dropper {
    pub url: String,
    pub requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Dropper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn dropper() -> Dropper {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head and the declared body, then hang up.
                loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if data.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = socket.shutdown().await;
            });
        }
    });
    Dropper { url, requests, task }
}
