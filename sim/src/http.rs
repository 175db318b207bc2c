//! HTTP pieces every handler shares: JSON and text responses, the bearer token, the
//! error bodies of the request gate, and the handle that drops a connection.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::wire::SimResponse;

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

/// Makes an axum response from a status and text body.
pub fn text_response(status: u16, content_type: &'static str, body: String) -> Response {
    let mut resp = (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// What the REST dispatcher answered, as an HTTP response.
pub fn rest_response(resp: SimResponse) -> Response {
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
    out
}

/// Adds the `Sforce-Limit-Info` header (`api-usage=N/M`) the REST API sends on every
/// response.
pub fn with_limit_info(mut resp: Response, limit_info: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(limit_info) {
        resp.headers_mut().insert("Sforce-Limit-Info", value);
    }
    resp
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
