//! How the client gets its access token: a given token, or an OAuth flow it can
//! repeat when the token expires.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::error::ClientError;
use super::transport::{Body, Req, Shared, error_from_response, unexpected};

/// A boxed future, for [`TokenSource`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How to authenticate.
#[derive(Clone)]
pub enum Auth {
    /// A ready access token (`SF_ACCESS_TOKEN`, or from the `sf` CLI). Cannot be refreshed.
    AccessToken(SecretString),
    /// OAuth client credentials against `token_url` (the org's My Domain
    /// `/services/oauth2/token`).
    ClientCredentials { token_url: Url, client_id: String, client_secret: SecretString },
    /// OAuth refresh token.
    RefreshToken { token_url: Url, client_id: String, client_secret: Option<SecretString>, refresh_token: SecretString },
    /// Any other way of getting tokens (JWT bearer, …). Asked again when the token expires.
    Custom(Arc<dyn TokenSource>),
}

impl Auth {
    /// A short name for messages.
    pub fn kind(&self) -> String {
        match self {
            Auth::AccessToken(_) => "access token".into(),
            Auth::ClientCredentials { .. } => "client credentials".into(),
            Auth::RefreshToken { .. } => "refresh token".into(),
            Auth::Custom(source) => source.describe(),
        }
    }

    /// Whether a new token can be had when the current one expires.
    pub fn can_refresh(&self) -> bool {
        !matches!(self, Auth::AccessToken(_))
    }

    pub(crate) fn token_url(&self) -> Option<&Url> {
        match self {
            Auth::ClientCredentials { token_url, .. } | Auth::RefreshToken { token_url, .. } => Some(token_url),
            _ => None,
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::AccessToken(_) => f.write_str("Auth::AccessToken([REDACTED])"),
            Auth::ClientCredentials { token_url, client_id, .. } => f
                .debug_struct("Auth::ClientCredentials")
                .field("token_url", &token_url.as_str())
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .finish(),
            Auth::RefreshToken { token_url, client_id, client_secret, .. } => f
                .debug_struct("Auth::RefreshToken")
                .field("token_url", &token_url.as_str())
                .field("client_id", client_id)
                .field("client_secret", &client_secret.as_ref().map(|_| "[REDACTED]"))
                .field("refresh_token", &"[REDACTED]")
                .finish(),
            Auth::Custom(source) => write!(f, "Auth::Custom({})", source.describe()),
        }
    }
}

/// A token from a token endpoint.
#[derive(Clone)]
pub struct Token {
    pub access_token: SecretString,
    /// The instance the token is for; API calls go there.
    pub instance_url: Option<Url>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"[REDACTED]")
            .field("instance_url", &self.instance_url.as_ref().map(Url::as_str))
            .finish()
    }
}

/// A source of access tokens, for flows the client does not know (JWT bearer).
pub trait TokenSource: Send + Sync {
    /// A short name for messages, e.g. "JWT bearer".
    fn describe(&self) -> String {
        "custom token source".into()
    }

    /// Gets a fresh token; `endpoint` posts to an OAuth token endpoint through the
    /// client (counted, with timeouts and error mapping).
    fn fetch<'a>(&'a self, endpoint: &'a TokenEndpoint) -> BoxFuture<'a, Result<Token, ClientError>>;
}

/// Posts OAuth token requests through the client's HTTP stack.
pub struct TokenEndpoint {
    pub(crate) shared: Arc<Shared>,
}

impl TokenEndpoint {
    /// POSTs `form` (`application/x-www-form-urlencoded`) to `token_url` and reads
    /// `{access_token, instance_url, …}` or `{error, error_description}`.
    /// `token_url` must be https (or http on a loopback address).
    pub async fn request(
        &self,
        token_url: &Url,
        form: Vec<(&'static str, SecretString)>,
    ) -> Result<Token, ClientError> {
        super::check_secure(token_url)?;
        let secrets: Vec<String> = form
            .iter()
            .filter(|(k, _)| !matches!(*k, "grant_type" | "client_id" | "format"))
            .map(|(_, v)| v.expose_secret().to_string())
            .collect();
        // The client secret, refresh token or JWT assertion: cut out wherever they show up.
        for secret in &secrets {
            crate::redact::register(secret);
        }
        // Token requests have no side effect: safe to retry.
        let req = Req::new(Method::POST, token_url.clone(), Body::Form(form)).safe(true).write(false);
        let resp = self.shared.send(&req, None).await?;
        let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let json = resp.json();
        if resp.is_success()
            && let Some(Value::Object(map)) = &json
            && let Some(access_token) = map.get("access_token").and_then(Value::as_str)
            && !access_token.is_empty()
        {
            crate::redact::register(access_token);
            if let Some(refresh_token) = map.get("refresh_token").and_then(Value::as_str) {
                crate::redact::register(refresh_token);
            }
            let instance_url = match map.get("instance_url").and_then(Value::as_str) {
                Some(text) => Some(super::parse_instance_url(text)?),
                None => None,
            };
            return Ok(Token { access_token: SecretString::from(access_token.to_string()), instance_url });
        }
        if let Some(json) = &json
            && let Some(error) = json.get("error").and_then(Value::as_str)
        {
            let description = json.get("error_description").and_then(Value::as_str).unwrap_or_default();
            return Err(ClientError::OAuth {
                status: resp.status,
                error: crate::redact::text(error).into_owned(),
                description: crate::redact::text(description).into_owned(),
            });
        }
        // Never quote a body that may hold a token.
        let body_text = String::from_utf8_lossy(&resp.body);
        if body_text.contains("access_token") || body_text.contains("refresh_token") {
            let withheld = super::transport::Resp {
                status: resp.status,
                content_type: resp.content_type.clone(),
                body: b"[body withheld: it may hold a token]".to_vec(),
                attempts: resp.attempts,
                retry_after: resp.retry_after,
            };
            return Err(unexpected(&req, &withheld, &secret_refs));
        }
        if resp.is_success() {
            return Err(super::transport::not_json(&req, &resp, &secret_refs));
        }
        Err(error_from_response(&req, &resp, &secret_refs, None))
    }
}

/// Gets a token for an OAuth variant of `auth`.
pub(crate) async fn fetch_token(auth: &Auth, endpoint: &TokenEndpoint) -> Result<Token, ClientError> {
    match auth {
        Auth::AccessToken(token) => Ok(Token { access_token: token.clone(), instance_url: None }),
        Auth::ClientCredentials { token_url, client_id, client_secret } => {
            let form = vec![
                ("grant_type", SecretString::from("client_credentials")),
                ("client_id", SecretString::from(client_id.clone())),
                ("client_secret", client_secret.clone()),
            ];
            endpoint.request(token_url, form).await
        }
        Auth::RefreshToken { token_url, client_id, client_secret, refresh_token } => {
            let mut form = vec![
                ("grant_type", SecretString::from("refresh_token")),
                ("refresh_token", refresh_token.clone()),
                ("client_id", SecretString::from(client_id.clone())),
                ("format", SecretString::from("json")),
            ];
            if let Some(secret) = client_secret {
                form.push(("client_secret", secret.clone()));
            }
            endpoint.request(token_url, form).await
        }
        Auth::Custom(source) => source.fetch(endpoint).await,
    }
}
