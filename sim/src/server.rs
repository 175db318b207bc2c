//! HTTP: connections served with hyper (so a fault can really drop one), routes in
//! axum, the bearer check, API usage, faults, then the one REST dispatcher.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Extension, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use crate::rest::dispatch;
use crate::state::{Console, OrgState, versions_up_to};
use crate::wire::{Request, SimResponse};
use crate::{SimConfig, oauth, seed, seed_file, soap, storeconnect};

pub const DEFAULT_API_LIMIT: u64 = 15_000;

/// What a request found out about its token.
pub enum AuthError {
    /// No valid token: 401 INVALID_SESSION_ID.
    Session,
    /// The API limit is reached: 403 REQUEST_LIMIT_EXCEEDED.
    Limit,
}

/// A fault drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    UnavailableBefore,
    DropBefore,
    UnavailableAfter,
    DropAfter,
}

/// Mutable state behind one lock: the org and the session bookkeeping.
pub struct State {
    pub org_state: OrgState,
    /// Valid tokens and the authenticated calls each has served.
    pub tokens: IndexMap<String, u64>,
    /// The token a new OAuth grant hands out while it stays valid.
    pub current_token: String,
    pub usage: u64,
    pub rng: StdRng,
}

/// Two base-62 characters, different for each simulated org of a process (up to 3,844),
/// from a random start, so that each org has ids of its own.
fn random_pod() -> String {
    use std::sync::OnceLock;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    let next = NEXT.get_or_init(|| AtomicU64::new(StdRng::from_os_rng().random_range(0..62 * 62)));
    let n = next.fetch_add(1, Ordering::Relaxed) % (62 * 62);
    [ALPHABET[(n / 62) as usize] as char, ALPHABET[(n % 62) as usize] as char].iter().collect()
}

pub struct Shared {
    pub config: SimConfig,
    state: Mutex<State>,
    api_calls: AtomicU64,
    /// Set by tests to read the org's final state without faults in the way.
    faults_paused: std::sync::atomic::AtomicBool,
}

impl Shared {
    /// The seeded org, with the config's seed files applied.
    pub fn new(config: SimConfig, instance_url: String) -> Result<Self, seed_file::SeedFileError> {
        let seed = seed::build_on(config.scenario, &random_pod());
        let mut org_state = OrgState {
            org: seed.org,
            org_id: seed.org_id,
            admin_id: seed.admin_id,
            meta: seed.meta,
            versions: versions_up_to(&config.api_version_latest),
            cursors: IndexMap::new(),
            next_cursor: 0,
            mixed: None,
            console: Console::default(),
            instance_url,
            api_usage: (0, config.faults.api_limit.unwrap_or(DEFAULT_API_LIMIT)),
        };
        for file in &config.seed_files {
            seed_file::apply(&mut org_state, file)?;
        }
        let mut tokens = IndexMap::new();
        tokens.insert(config.token.clone(), 0);
        org_state.console = storeconnect::seeded_console(&org_state.org);
        let state = State {
            org_state,
            tokens,
            current_token: config.token.clone(),
            usage: 0,
            rng: StdRng::seed_from_u64(config.faults.seed),
        };
        Ok(Shared {
            config,
            state: Mutex::new(state),
            api_calls: AtomicU64::new(0),
            faults_paused: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The state; a poisoned lock still holds a consistent org (writes are atomic
    /// under the lock), so it is used as is.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn api_calls(&self) -> u64 {
        self.api_calls.load(Ordering::SeqCst)
    }

    pub fn pause_faults(&self, paused: bool) {
        self.faults_paused.store(paused, Ordering::SeqCst);
    }

    pub fn count_call(&self) {
        self.api_calls.fetch_add(1, Ordering::SeqCst);
    }

    pub fn limit(&self) -> u64 {
        self.config.faults.api_limit.unwrap_or(DEFAULT_API_LIMIT)
    }

    /// Checks a token (consuming one of its calls when tokens expire) and the API limit.
    pub fn authorize(&self, state: &mut State, token: Option<&str>) -> Result<(), AuthError> {
        let token = token.ok_or(AuthError::Session)?;
        let uses = state.tokens.get_mut(token).ok_or(AuthError::Session)?;
        if let Some(max) = self.config.faults.expire_token_after
            && *uses >= max
        {
            state.tokens.shift_remove(token);
            return Err(AuthError::Session);
        }
        *uses += 1;
        if let Some(limit) = self.config.faults.api_limit
            && state.usage >= limit
        {
            return Err(AuthError::Limit);
        }
        Ok(())
    }

    /// Draws a fault for one request from the seeded RNG.
    pub fn draw_fault(&self, state: &mut State) -> Option<Fault> {
        let rate = self.config.faults.fail_rate;
        if rate <= 0.0 || self.faults_paused.load(Ordering::SeqCst) {
            return None;
        }
        if state.rng.random::<f64>() >= rate {
            return None;
        }
        Some(match state.rng.random_range(0..4) {
            0 => Fault::UnavailableBefore,
            1 => Fault::DropBefore,
            2 => Fault::UnavailableAfter,
            _ => Fault::DropAfter,
        })
    }

    pub fn limit_header(&self, state: &State) -> String {
        format!("api-usage={}/{}", state.usage, self.limit())
    }

    pub async fn latency(&self) {
        if self.config.faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.config.faults.latency_ms)).await;
        }
    }
}

/// Set on every request: notifying it makes the connection task drop the
/// connection without an HTTP response.
#[derive(Clone)]
pub struct ConnDrop(pub Arc<Notify>);

impl ConnDrop {
    /// Drops the connection; never answers.
    pub async fn drop_connection(&self) -> Response {
        self.0.notify_one();
        std::future::pending::<Response>().await
    }
}

/// The token of an `Authorization: Bearer …` or `OAuth …` header.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")).then(|| token.trim().to_string())
}

pub fn json_response(status: u16, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    resp
}

fn sim_response(resp: SimResponse, limit_info: &str) -> Response {
    let mut out = match &resp.body {
        Some(body) => json_response(resp.status, body),
        None => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            r
        }
    };
    for (k, v) in &resp.headers {
        if let (Ok(name), Ok(value)) = (header::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            out.headers_mut().insert(name, value);
        }
    }
    if let Ok(value) = HeaderValue::from_str(limit_info) {
        out.headers_mut().insert("Sforce-Limit-Info", value);
    }
    out
}

pub fn session_error() -> Value {
    json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
}

pub fn limit_error() -> Value {
    json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
}

pub fn unavailable() -> Value {
    json!([{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable. Please try again later."}])
}

async fn versions(AxState(shared): AxState<Arc<Shared>>) -> Response {
    let list = shared.lock().org_state.version_list();
    json_response(200, &list)
}

/// Everything under `/services/data/vXX.X/…` (and anything unknown).
async fn rest(
    AxState(shared): AxState<Arc<Shared>>,
    Extension(conn): Extension<ConnDrop>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| uri.path().to_string());
    if !uri.path().starts_with("/services/data/") {
        return json_response(404, &crate::error::SfError::not_found().rest_body());
    }
    shared.latency().await;
    let header_pairs: Vec<(String, String)> =
        headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string()))).collect();
    let token = bearer(&headers);
    let outcome = {
        let mut state = shared.lock();
        handle_rest(&shared, &mut state, token.as_deref(), method.as_str(), &path_and_query, &header_pairs, &body)
    };
    match outcome {
        Outcome::Respond(resp) => resp,
        Outcome::Drop => conn.drop_connection().await,
    }
}

/// What the HTTP layer does with a request once the org has seen it.
pub enum Outcome {
    Respond(Response),
    Drop,
}

/// Auth, limit, faults and dispatch, all under the lock, with no await.
fn handle_rest(
    shared: &Shared,
    state: &mut State,
    token: Option<&str>,
    method: &str,
    path_and_query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Outcome {
    match shared.authorize(state, token) {
        Err(AuthError::Session) => {
            let info = shared.limit_header(state);
            return Outcome::Respond(sim_response(SimResponse::json(401, session_error()), &info));
        }
        Err(AuthError::Limit) => {
            let info = shared.limit_header(state);
            return Outcome::Respond(sim_response(SimResponse::json(403, limit_error()), &info));
        }
        Ok(()) => {}
    }
    let fault = shared.draw_fault(state);
    match fault {
        Some(Fault::UnavailableBefore) => {
            let info = shared.limit_header(state);
            return Outcome::Respond(sim_response(SimResponse::json(503, unavailable()), &info));
        }
        Some(Fault::DropBefore) => return Outcome::Drop,
        _ => {}
    }
    state.usage += 1;
    shared.count_call();
    state.org_state.api_usage.0 = state.usage;
    let resp = dispatch(&mut state.org_state, Request { method, path_and_query, headers, body });
    let info = shared.limit_header(state);
    match fault {
        Some(Fault::UnavailableAfter) => Outcome::Respond(sim_response(SimResponse::json(503, unavailable()), &info)),
        Some(Fault::DropAfter) => Outcome::Drop,
        _ => Outcome::Respond(sim_response(resp, &info)),
    }
}

/// One stderr line per request: method, path (without the query), status.
pub async fn access_log(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(|q| format!("?{}", q.chars().take(160).collect::<String>())).unwrap_or_default();
    let resp = next.run(req).await;
    eprintln!("sim: {method} {path}{query} -> {}", resp.status().as_u16());
    resp
}

async fn not_found() -> Response {
    json_response(404, &crate::error::SfError::not_found().rest_body())
}

/// The largest request body the sim reads. Salesforce takes up to 50 MB (Developer
/// Limits and Allocations Quick Reference, "API Request Limits and Allocations": SOAP
/// and REST request size); the sim is stricter on purpose, since every open connection
/// may buffer this much and no runner request comes near 1 MiB. A larger body gets a 413.
pub const MAX_REQUEST_BODY: usize = 8 * 1024 * 1024;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/oauth2/userinfo", get(oauth::userinfo).post(oauth::userinfo))
        .route("/id/{org}/{user}", get(oauth::identity).post(oauth::identity))
        .route("/services/Soap/m/{version}", post(soap::handle))
        .route("/services/Soap/m/{version}/", post(soap::handle))
        .route("/services/Soap/m/{version}/{org}", post(soap::handle))
        // Sim-only: StoreConnect's Console, which a person drives, not an API client.
        .route("/_sim/storeconnect/change-sync-user", post(storeconnect::change_sync_user))
        .route("/_sim/storeconnect/state", get(storeconnect::state))
        .route("/", get(not_found))
        .fallback(rest)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .with_state(shared)
}

async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

async fn serve_connection<S>(stream: S, router: Router, mut shutdown: watch::Receiver<bool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let dropper = Arc::new(Notify::new());
    let signal = dropper.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnDrop(signal.clone()));
        collapse_slashes(req.uri_mut());
        let svc = TowerToHyperService::new(router.clone());
        async move { hyper::service::Service::call(&svc, req).await }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        // Dropping the connection future closes the socket with no response.
        _ = dropper.notified() => {}
        _ = wait_shutdown(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// `//services//data` is `/services/data`: Salesforce's front end collapses repeated
/// slashes, and clients rely on it (the sf CLI joins an instance URL ending in `/`
/// with paths starting with `/`).
fn collapse_slashes(uri: &mut Uri) {
    if !uri.path().contains("//") {
        return;
    }
    let mut path = String::with_capacity(uri.path().len());
    for c in uri.path().chars() {
        if !(c == '/' && path.ends_with('/')) {
            path.push(c);
        }
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = path_and_query.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(new) = Uri::from_parts(parts) {
            *uri = new;
        }
    }
}

/// How long a client has to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves one accepted connection, over TLS when an acceptor is given.
async fn serve_accepted(
    stream: tokio::net::TcpStream,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
) {
    let Some(acceptor) = tls else {
        return serve_connection(stream, router, shutdown).await;
    };
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let stream = tokio::select! {
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            // A failed or slow handshake (e.g. a client that does not trust the
            // certificate) just closes the connection.
            _ => return,
        },
        _ = wait_shutdown(&mut shutdown) => return,
    };
    serve_connection(stream, router, shutdown).await;
}

/// Accepts connections until shutdown, then waits for open ones to finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
    tls: Option<TlsAcceptor>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                connections.spawn(serve_accepted(stream, router.clone(), shutdown.clone(), tls.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = wait_shutdown(&mut shutdown) => break,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Makes an axum response from a status and text body.
pub fn text_response(status: u16, content_type: &'static str, body: String) -> Response {
    let mut resp = (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
