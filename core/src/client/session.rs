//! The session: the token every request carries, one refresh when Salesforce says it
//! expired, and the answers turned into errors.

use super::*;

impl SfClient {
    pub(super) fn current_token(&self) -> (u64, SecretString) {
        let guard = self.inner.token.read().unwrap_or_else(|e| e.into_inner());
        (guard.0, guard.1.clone())
    }

    /// `/services/data/vXX.X` + `path`, or `path` itself when it already starts there.
    pub(super) fn full_data_path(&self, path: &str) -> String {
        if path.starts_with("/services/data/") {
            path.to_string()
        } else {
            let path = if path.starts_with('/') { path.to_string() } else { format!("/{path}") };
            format!("/services/data/v{}{path}", self.api_version())
        }
    }

    pub(super) fn data_url(&self, path: &str) -> Result<Url, ClientError> {
        self.absolute_url(&self.full_data_path(path))
    }

    /// Joins a server-absolute path (`/services/...`) to the instance; never leaves it.
    pub(super) fn absolute_url(&self, path: &str) -> Result<Url, ClientError> {
        let invalid = |reason: &str| ClientError::InvalidPath { path: path.to_string(), reason: reason.to_string() };
        if !path.starts_with("/services/")
            || path.contains("..")
            || path.contains(char::is_whitespace)
            || path.contains('#')
        {
            return Err(invalid("not a path under /services/"));
        }
        let url = self.inner.instance_url.join(path).map_err(|e| invalid(&e.to_string()))?;
        if url.origin() != self.inner.instance_url.origin() {
            return Err(invalid("the path leaves the instance"));
        }
        Ok(url)
    }

    /// Sends a request with the current token; on an invalid session, refreshes once
    /// (when the auth can) and sends it again.
    pub(super) async fn execute(&self, req: &Req) -> Result<Resp, ClientError> {
        let (generation, token) = self.current_token();
        let resp = self.inner.shared.send(req, Some(&token)).await?;
        if !session_invalid(req, &resp) {
            return Ok(resp);
        }
        if !self.inner.auth.can_refresh() {
            return Err(ClientError::SessionInvalid {
                method: req.method.to_string(),
                path: req.path.clone(),
                hint:
                    "get a fresh token (`sf org login web`, then `sf org auth show-access-token --json`) and run again"
                        .into(),
            });
        }
        self.refresh(generation).await?;
        let (_, token) = self.current_token();
        let resp = self.inner.shared.send(req, Some(&token)).await?;
        if session_invalid(req, &resp) {
            return Err(ClientError::SessionInvalid {
                method: req.method.to_string(),
                path: req.path.clone(),
                hint: format!(
                    "a fresh token from {} was refused too: check the connected app's policies (IP relaxation, session timeout) and the run-as user",
                    self.inner.auth.kind()
                ),
            });
        }
        Ok(resp)
    }

    /// Gets a new token unless another request already did since `seen_generation`.
    pub(super) async fn refresh(&self, seen_generation: u64) -> Result<(), ClientError> {
        let _guard = self.inner.refresh_lock.lock().await;
        if self.current_token().0 != seen_generation {
            return Ok(());
        }
        let endpoint = TokenEndpoint { shared: self.inner.shared.clone() };
        let token = auth::fetch_token(&self.inner.auth, &endpoint).await?;
        crate::redact::global().add_secret(&token.access_token);
        let mut guard = self.inner.token.write().unwrap_or_else(|e| e.into_inner());
        *guard = (seen_generation + 1, token.access_token);
        Ok(())
    }

    pub(super) fn response_error(&self, req: &Req, resp: &Resp) -> ClientError {
        let token = self.current_token().1;
        error_from_response(req, resp, &[token.expose_secret()], self.api_usage())
    }

    /// The JSON body of a successful response; anything else is an error.
    pub(super) fn expect_json(&self, req: &Req, resp: &Resp) -> Result<Value, ClientError> {
        if !resp.is_success() {
            return Err(self.response_error(req, resp));
        }
        match resp.json() {
            Some(value) => Ok(value),
            None => {
                let token = self.current_token().1;
                Err(not_json(req, resp, &[token.expose_secret()]))
            }
        }
    }

    pub(super) async fn json(&self, req: &Req) -> Result<Value, ClientError> {
        let resp = self.execute(req).await?;
        self.expect_json(req, &resp)
    }

    pub(super) async fn no_content(&self, req: &Req) -> Result<Resp, ClientError> {
        let resp = self.execute(req).await?;
        if resp.is_success() { Ok(resp) } else { Err(self.response_error(req, &resp)) }
    }

    pub(super) fn shape_error(&self, req: &Req, path: &str, wanted: &str) -> ClientError {
        ClientError::UnexpectedShape {
            method: req.method.to_string(),
            path: path.to_string(),
            wanted: wanted.to_string(),
            write: req.write,
        }
    }
}

/// Where [`SfClient::userinfo`] asks.
pub(super) const USERINFO_PATH: &str = "/services/oauth2/userinfo";

/// Whether the answer means the token is no longer valid: a 401 on REST, a SOAP fault
/// `INVALID_SESSION_ID`, or a 403 from userinfo.
pub(super) fn session_invalid(req: &Req, resp: &Resp) -> bool {
    match resp.status {
        401 => true,
        // The UserInfo help page (remoteaccess_using_userinfo_endpoint, quoted by Mobile SDK
        // Android PR #2430; iOS issue #3398 shows it for an expired session) says userinfo
        // answers 403, not 401, for an invalid token. Elsewhere a 403 is about permissions
        // or the API limit, never the session.
        403 => req.url.path() == USERINFO_PATH && !names_another_error(resp),
        500 => {
            resp.is_xml()
                && soap::parse(&resp.body)
                    .ok()
                    .and_then(|doc| soap::fault(&doc))
                    .is_some_and(|(code, _)| code.ends_with("INVALID_SESSION_ID"))
        }
        _ => false,
    }
}

/// True when the body is a REST error list whose codes say something other than an
/// invalid session (`REQUEST_LIMIT_EXCEEDED`, `INSUFFICIENT_ACCESS`, …). The identity
/// service's 403 for a bad token is a bare `Bad_OAuth_Token` (nforce and jsforce read it
/// as a plain string), not such a list; an unknown body counts as the token's fault, since
/// one refresh costs little and a second 403 still ends in [`ClientError::SessionInvalid`].
pub(super) fn names_another_error(resp: &Resp) -> bool {
    resp.json()
        .and_then(|json| ApiError::list_from_value(&json))
        .is_some_and(|errors| !errors.is_empty() && errors.iter().all(|e| e.error_code != "INVALID_SESSION_ID"))
}

/// `GET /services/data/`: the last element is the newest version.
pub(super) async fn discover_version(
    shared: &Shared,
    instance: &Url,
    token: &SecretString,
) -> Result<String, ClientError> {
    let url = instance
        .join("/services/data/")
        .map_err(|e| ClientError::InvalidUrl { url: instance.as_str().to_string(), reason: e.to_string() })?;
    let req = Req::new(Method::GET, url, Body::None);
    let resp = shared.send(&req, None).await?;
    let secrets = [token.expose_secret()];
    if !resp.is_success() {
        return Err(error_from_response(&req, &resp, &secrets, shared.api_usage()));
    }
    let version = resp
        .json()
        .as_ref()
        .and_then(Value::as_array)
        .and_then(|versions| versions.last())
        .and_then(|last| last.get("version"))
        .and_then(Value::as_str)
        .map(normalize_version);
    match version {
        Some(Ok(version)) => Ok(version),
        _ if resp.json().is_some() => Err(ClientError::UnexpectedShape {
            method: "GET".into(),
            path: req.path.clone(),
            wanted: "a list of API versions".into(),
            write: false,
        }),
        _ => Err(not_json(&req, &resp, &secrets)),
    }
}
