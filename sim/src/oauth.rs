//! `POST /services/oauth2/token` (client credentials, refresh token, JWT bearer) and
//! `GET /services/oauth2/userinfo`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::header;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use crate::gate::{Refusal, ServerState};
use crate::http::{bearer, json_response, limit_error};
use crate::{jwt, util};

fn oauth_error(error: &str, description: &str) -> Response {
    json_response(400, &json!({"error": error, "error_description": description}))
}

/// `client_id:client_secret` from HTTP Basic auth.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let decoded = data_encoding::BASE64.decode(encoded.trim().as_bytes()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// Base64 of a digest of `id + issued_at`, shaped like Salesforce's signature.
fn signature(id: &str, issued_at: &str, secret: &str) -> String {
    let mut bytes = Vec::with_capacity(32);
    for salt in 0u8..4 {
        let mut h = DefaultHasher::new();
        (salt, id, issued_at, secret).hash(&mut h);
        bytes.extend_from_slice(&h.finish().to_be_bytes());
    }
    data_encoding::BASE64.encode(&bytes)
}

/// `POST /services/oauth2/token`.
pub async fn token(AxState(server): AxState<Arc<ServerState>>, headers: HeaderMap, body: Bytes) -> Response {
    // A round trip like any other, though not API usage.
    server.latency().await;
    let form = util::parse_query(&String::from_utf8_lossy(&body));
    let param = |name: &str| util::query_param(&form, name).map(str::to_string);
    let (basic_id, basic_secret) = basic_credentials(&headers).unzip();
    let client_id = param("client_id").or(basic_id);
    let client_secret = param("client_secret").or(basic_secret);
    let grant = param("grant_type").unwrap_or_default();
    let config = &server.config;
    let client = client_id.as_deref().and_then(|id| config.oauth_clients.iter().find(|c| c.client_id == id));
    let mut jwt_user: Option<String> = None;
    match grant.as_str() {
        "client_credentials" => {
            let Some(client) = client else {
                return oauth_error("invalid_client_id", "client identifier invalid");
            };
            if client_secret.as_deref() != Some(client.client_secret.as_str()) {
                return oauth_error("invalid_client", "invalid client credentials");
            }
        }
        "refresh_token" => {
            let Some(client) = client else {
                return oauth_error("invalid_client_id", "client identifier invalid");
            };
            if let Some(secret) = client_secret.as_deref()
                && secret != client.client_secret
            {
                return oauth_error("invalid_client", "invalid client credentials");
            }
            let refresh = param("refresh_token").unwrap_or_default();
            if !config.refresh_tokens.iter().any(|t| t == &refresh) {
                return oauth_error("invalid_grant", "expired access/refresh token");
            }
        }
        JWT_BEARER => {
            let Some(assertion) = param("assertion") else {
                return oauth_error("invalid_request", "assertion parameter is missing");
            };
            match verify_jwt(&server, &assertion) {
                Ok(user_id) => jwt_user = Some(user_id),
                Err(refusal) => return oauth_error(refusal.error, refusal.description),
            }
        }
        _ => return oauth_error("unsupported_grant_type", "grant type not supported"),
    }
    let secret = client.map(|c| c.client_secret.clone()).unwrap_or_default();
    let mut session = server.lock();
    if !session.tokens.contains_key(&session.current_token) {
        let fresh = crate::new_token();
        session.tokens.insert(fresh.clone(), 0);
        session.current_token = fresh;
    }
    let access_token = session.current_token.clone();
    let instance_url = session.org_state.instance_url.clone();
    let user_id = jwt_user.clone().unwrap_or_else(|| session.org_state.admin_id.clone());
    let id = format!("{instance_url}/id/{}/{user_id}", session.org_state.org_id);
    drop(session);
    if jwt_user.is_some() {
        // The JWT bearer response has neither a signature nor a refresh token.
        let body = json!({
            "access_token": access_token,
            "scope": "api",
            "instance_url": instance_url,
            "id": id,
            "token_type": "Bearer",
        });
        return json_response(200, &body);
    }
    let issued_at = util::epoch_millis().to_string();
    let body = json!({
        "access_token": access_token,
        "signature": signature(&id, &issued_at, &secret),
        "scope": "api",
        "instance_url": instance_url,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
    });
    json_response(200, &body)
}

/// The `grant_type` of the JWT bearer flow.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Set (to anything) to make the org's own instance URL a valid JWT `aud` as well, as the
/// simulated org accepted before it followed Salesforce's documented audiences.
pub const OWN_AUDIENCE_ENV: &str = "RUNNER_SIM_JWT_OWN_AUDIENCE";

/// Checks a JWT bearer assertion; answers the id of the user it names.
fn verify_jwt(server: &ServerState, assertion: &str) -> Result<String, jwt::Refusal> {
    let config = &server.config;
    let client_ids: Vec<&str> = config.oauth_clients.iter().map(|c| c.client_id.as_str()).collect();
    let session = server.lock();
    let is_sandbox = session
        .org_state
        .org
        .records("Organization")
        .next()
        .and_then(|o| o.get("IsSandbox").and_then(Value::as_bool))
        .unwrap_or(false);
    let own_url = std::env::var_os(OWN_AUDIENCE_ENV).map(|_| session.org_state.instance_url.as_str());
    let audiences = jwt::audiences(is_sandbox, own_url);
    let find_user = |username: &str| {
        session
            .org_state
            .org
            .records("User")
            .find(|u| {
                u.get("Username").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(username))
                    && u.get("IsActive").and_then(Value::as_bool).unwrap_or(true)
            })
            .and_then(|u| u.get("Id").and_then(Value::as_str).map(str::to_string))
    };
    let verifier = jwt::Verifier {
        client_ids: &client_ids,
        certificates: &config.jwt_certificates,
        audiences: &audiences,
        now: (util::epoch_millis() / 1000) as u64,
        user_exists: &|username| find_user(username).is_some(),
    };
    let grant = verifier.verify(assertion)?;
    find_user(&grant.username)
        .ok_or(jwt::Refusal { error: "invalid_grant", description: "user hasn't approved this consumer" })
}

/// The identity service's answer (userinfo, the identity URL) to a missing, expired or
/// revoked token: 403, where the REST API answers 401. The UserInfo help page
/// (remoteaccess_using_userinfo_endpoint, quoted by Mobile SDK Android PR #2430; iOS issue
/// #3398 shows the 403 for an expired session) gives the status. The body is the bare
/// code `Bad_OAuth_Token`, which nforce and jsforce read as a plain-string error; that it
/// is sent as `text/plain` is unconfirmed.
fn bad_oauth_token() -> Response {
    let mut resp = Response::new(Body::from("Bad_OAuth_Token"));
    *resp.status_mut() = StatusCode::FORBIDDEN;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain;charset=UTF-8"));
    resp
}

fn str_field(record: &serde_json::Map<String, Value>, name: &str) -> Value {
    record.get(name).cloned().unwrap_or(Value::Null)
}

/// `GET /services/oauth2/userinfo`: OpenID Connect userinfo for the token's user.
pub async fn userinfo(AxState(server): AxState<Arc<ServerState>>, headers: HeaderMap) -> Response {
    server.latency().await;
    let token = bearer(&headers);
    let mut session = server.lock();
    match server.authorize(&mut session, token.as_deref()) {
        Err(Refusal::Limit) => return json_response(403, &limit_error()),
        Err(_) => return bad_oauth_token(),
        Ok(()) => {}
    }
    let org_state = &session.org_state;
    let Some((_, user)) = org_state.org.get(&org_state.admin_id) else {
        return bad_oauth_token();
    };
    let user: serde_json::Map<String, Value> = user.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let profile = user.get("ProfileId").and_then(Value::as_str).unwrap_or_default();
    let is_integration = org_state
        .org
        .get(profile)
        .and_then(|(_, p)| p.get("UserLicenseId")?.as_str().map(str::to_string))
        .and_then(|l| {
            org_state.org.get(&l).and_then(|(_, lic)| lic.get("Name")?.as_str().map(|n| n == "Salesforce Integration"))
        })
        .unwrap_or(false);
    let base = org_state.instance_url.clone();
    let v = org_state.latest().to_string();
    let (org_id, user_id) = (org_state.org_id.clone(), org_state.admin_id.clone());
    let body = json!({
        "sub": format!("{base}/id/{org_id}/{user_id}"),
        "user_id": user_id,
        "organization_id": org_id,
        "preferred_username": str_field(&user, "Username"),
        "nickname": str_field(&user, "CommunityNickname"),
        "name": str_field(&user, "Name"),
        "email": str_field(&user, "Email"),
        "email_verified": true,
        "given_name": str_field(&user, "FirstName"),
        "family_name": str_field(&user, "LastName"),
        "zoneinfo": str_field(&user, "TimeZoneSidKey"),
        "photos": {
            "picture": format!("{base}/profilephoto/005/F"),
            "thumbnail": format!("{base}/profilephoto/005/T"),
        },
        "profile": format!("{base}/{user_id}"),
        "picture": format!("{base}/profilephoto/005/F"),
        "address": {},
        "is_salesforce_integration_user": is_integration,
        "urls": {
            "enterprise": format!("{base}/services/Soap/c/{v}/{}", &org_id[..15]),
            "metadata": format!("{base}/services/Soap/m/{v}/{}", &org_id[..15]),
            "partner": format!("{base}/services/Soap/u/{v}/{}", &org_id[..15]),
            "rest": format!("{base}/services/data/v{v}/"),
            "sobjects": format!("{base}/services/data/v{v}/sobjects/"),
            "search": format!("{base}/services/data/v{v}/search/"),
            "query": format!("{base}/services/data/v{v}/query/"),
            "recent": format!("{base}/services/data/v{v}/recent/"),
            "profile": format!("{base}/{user_id}"),
            "custom_domain": base,
        },
        "active": str_field(&user, "IsActive"),
        "user_type": "STANDARD",
        "language": str_field(&user, "LanguageLocaleKey"),
        "locale": str_field(&user, "LocaleSidKey"),
        "utcOffset": 36_000_000,
        "updated_at": str_field(&user, "LastModifiedDate"),
    });
    drop(session);
    json_response(200, &body)
}

/// `GET /id/<org id>/<user id>`: the identity URL of the token response.
pub async fn identity(AxState(server): AxState<Arc<ServerState>>, headers: HeaderMap) -> Response {
    let token = bearer(&headers);
    let mut session = server.lock();
    match server.authorize(&mut session, token.as_deref()) {
        Err(Refusal::Limit) => return json_response(403, &limit_error()),
        Err(_) => return bad_oauth_token(),
        Ok(()) => {}
    }
    let org_state = &session.org_state;
    let Some((_, user)) = org_state.org.get(&org_state.admin_id) else {
        return bad_oauth_token();
    };
    let user: serde_json::Map<String, Value> = user.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let base = org_state.instance_url.clone();
    let v = org_state.latest().to_string();
    let (org_id, user_id) = (org_state.org_id.clone(), org_state.admin_id.clone());
    let body = json!({
        "id": format!("{base}/id/{org_id}/{user_id}"),
        "asserted_user": true,
        "user_id": user_id,
        "organization_id": org_id,
        "username": str_field(&user, "Username"),
        "nick_name": str_field(&user, "CommunityNickname"),
        "display_name": str_field(&user, "Name"),
        "email": str_field(&user, "Email"),
        "email_verified": true,
        "first_name": str_field(&user, "FirstName"),
        "last_name": str_field(&user, "LastName"),
        "timezone": str_field(&user, "TimeZoneSidKey"),
        "active": str_field(&user, "IsActive"),
        "user_type": "STANDARD",
        "language": str_field(&user, "LanguageLocaleKey"),
        "locale": str_field(&user, "LocaleSidKey"),
        "utcOffset": 36_000_000,
        "last_modified_date": str_field(&user, "LastModifiedDate"),
        "is_app_installed": true,
        "urls": {
            "rest": format!("{base}/services/data/v{v}/"),
            "sobjects": format!("{base}/services/data/v{v}/sobjects/"),
            "query": format!("{base}/services/data/v{v}/query/"),
            "metadata": format!("{base}/services/Soap/m/{v}/{}", &org_id[..15]),
            "custom_domain": base,
        },
    });
    drop(session);
    json_response(200, &body)
}
