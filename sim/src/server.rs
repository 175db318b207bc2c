//! HTTP: connections served with hyper (so a fault can really drop one), routes in
//! axum, and the REST and SOAP handlers behind the one request gate (`gate`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, State as AxState};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use crate::gate::{DEFAULT_API_LIMIT, Protocol, Refusal, ServerState};
use crate::http::{
    ConnDrop, bearer, json_response, limit_error, rest_response, session_error, unavailable, with_limit_info,
};
use crate::request_log::{InFlight, RequestLog, now_us};
use crate::rest::dispatch;
use crate::seed_file::SeedFileError;
use crate::state::{Console, OrgState, versions_up_to};
use crate::wire::Request;
use crate::{SimConfig, oauth, seed, seed_file, soap, storeconnect};

/// The org a config starts with: the scenario's seed, then the config's seed files.
pub fn build_org(config: &SimConfig, instance_url: String) -> Result<OrgState, SeedFileError> {
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
        composite_reads_before_writes: config.faults.composite_reads_before_writes,
    };
    for file in &config.seed_files {
        seed_file::apply(&mut org_state, file)?;
    }
    org_state.console = storeconnect::seeded_console(&org_state.org);
    Ok(org_state)
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

async fn versions(AxState(server): AxState<Arc<ServerState>>) -> Response {
    // Not API usage, but a round trip to Salesforce all the same: what a benchmark
    // counts as connecting must cost what it costs against a real org.
    server.latency().await;
    let list = server.lock().org_state.version_list();
    json_response(200, &list)
}

/// The REST API at the gate: every answer, refusals too, carries `Sforce-Limit-Info`.
const REST: Protocol = Protocol { refuse: rest_refusal, finish: with_limit_info };

fn rest_refusal(refusal: Refusal, limit_info: &str) -> Response {
    let (status, body) = match refusal {
        Refusal::Session => (401, session_error()),
        Refusal::Limit => (403, limit_error()),
        Refusal::Unavailable => (503, unavailable()),
    };
    with_limit_info(json_response(status, &body), limit_info)
}

/// Everything under `/services/data/vXX.X/…` (and anything unknown).
async fn rest(
    AxState(server): AxState<Arc<ServerState>>,
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
    let header_pairs: Vec<(String, String)> =
        headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string()))).collect();
    let token = bearer(&headers);
    let request =
        Request { method: method.as_str(), path_and_query: &path_and_query, headers: &header_pairs, body: &body };
    server.admit(&conn, token.as_deref(), &REST, |org_state| rest_response(dispatch(org_state, request))).await
}

/// Logs each request's start and end (see [`crate::request_log`]). The guard logs it
/// when dropped, so a connection dropped by a fault is logged too, with no status.
pub async fn access_log(
    AxState(log): AxState<RequestLog>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut in_flight = InFlight {
        log,
        start_us: now_us(),
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        status: None,
    };
    let resp = next.run(req).await;
    in_flight.status = Some(resp.status().as_u16());
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

pub fn router(server: Arc<ServerState>) -> Router {
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
        .with_state(server)
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
