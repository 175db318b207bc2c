//! The OAuth 2.0 JWT bearer flow, as a [`TokenSource`] for the client.
//!
//! The assertion is `base64url(header).base64url(claims).base64url(signature)` with
//! header `{"alg":"RS256"}`, claims `iss` (the connected app's consumer key), `sub`
//! (the username), `aud` (see [`Audience`]) and `exp` (now + 3 minutes), signed with
//! RSASSA-PKCS1-v1_5 SHA-256 by `ring`. It is posted to `{login_url}/services/oauth2/token`
//! with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, and made anew each
//! time the client needs a token.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use data_encoding::BASE64URL_NOPAD;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use runner_core::client::{BoxFuture, ClientError, Token, TokenEndpoint, TokenSource};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject as _;
use secrecy::SecretString;
use serde_json::json;
use url::Url;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long an assertion is valid: Salesforce wants `exp` within a few minutes.
pub const LIFETIME_SECS: u64 = 180;

/// The `aud` a production org takes (sfdx-core `SfdcUrl.PRODUCTION`).
pub const PRODUCTION_AUDIENCE: &str = "https://login.salesforce.com";
/// The `aud` a sandbox takes (sfdx-core `SfdcUrl.SANDBOX`).
pub const SANDBOX_AUDIENCE: &str = "https://test.salesforce.com";

/// The `aud` claim to sign. The JWT bearer help page (quoted in the npm
/// `salesforce-jwt-bearer-token-flow` README) lists login.salesforce.com,
/// test.salesforce.com or an Experience Cloud site URL; the My Domain is not among them,
/// so the login URL cannot simply be reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// `audience` in runner.toml: sent as is, never swapped for another.
    Explicit(String),
    /// Guessed from the login URL ([`default_audience`]). A URL does not tell a sandbox
    /// for sure, so when the org refuses it the other documented one is tried, once.
    Default(&'static str),
}

/// test.salesforce.com when `login_url` looks like a sandbox's, login.salesforce.com
/// otherwise.
///
/// The sandbox patterns are those of sfdx-core's `SfdcUrl.isSandboxUrl()` (src/util/sfdcUrl.ts,
/// deprecated in a58ab89e "identification of a sandbox instance by URL alone is not
/// deterministic", removed in 977b028a): test.salesforce.com, enhanced-domain
/// `*.sandbox.my.salesforce.com` (and `.mil`), the older `name--sandbox.my.salesforce.com`,
/// and the `csNN` sandbox instances (`csNN.salesforce.com`, `*.csNN.my.salesforce.com`,
/// `csNN.force.com`). Its "falcon" `xxxNNs.sfdc-….salesforce.com` pattern is left out. Since
/// then sfdx-core signs login.salesforce.com first and tries the other pairs when refused
/// (`getJwtAudienceUrl`, `getLoginAudienceCombos`): the fallback in [`JwtBearer`] stands in
/// for that.
pub fn default_audience(login_url: &Url) -> &'static str {
    let host = login_url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    if is_sandbox_host(&host) { SANDBOX_AUDIENCE } else { PRODUCTION_AUDIENCE }
}

fn is_sandbox_host(host: &str) -> bool {
    if host == "test.salesforce.com"
        || host.ends_with(".sandbox.my.salesforce.com")
        || host.ends_with(".sandbox.my.salesforce.mil")
    {
        return true;
    }
    if let Some(rest) = host.strip_suffix(".my.salesforce.com") {
        let name = rest.rsplit('.').next().unwrap_or_default();
        if let Some((org, sandbox)) = name.split_once("--")
            && !org.is_empty()
            && !sandbox.is_empty()
        {
            return true;
        }
    }
    let labels: Vec<&str> = host.split('.').collect();
    labels.iter().enumerate().any(|(at, label)| {
        let instance = label.strip_prefix("cs").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        instance && matches!(labels[at + 1..].join(".").as_str(), "salesforce.com" | "my.salesforce.com" | "force.com")
    })
}

/// The other documented audience: login ↔ test.
fn other_audience(audience: &str) -> &'static str {
    if audience == SANDBOX_AUDIENCE { PRODUCTION_AUDIENCE } else { SANDBOX_AUDIENCE }
}

/// An `invalid_grant` about the audience. The wording varies ("audience is invalid";
/// the OAuth errors help page shows "Audience validation failed"), so like sfdx-core's
/// `authJwt` this only looks for the word.
fn is_audience_refusal(err: &ClientError) -> bool {
    matches!(err, ClientError::OAuth { error, description, .. }
        if error == "invalid_grant" && description.to_ascii_lowercase().contains("audience"))
}

/// Reads an unencrypted RSA private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or
/// PKCS#1 (`BEGIN RSA PRIVATE KEY`). The reason for a refusal never quotes the key.
pub fn parse_private_key(pem: &[u8]) -> Result<RsaKeyPair, String> {
    let der = PrivateKeyDer::from_pem_slice(pem).map_err(|err| match err {
        rustls_pki_types::pem::Error::NoItemsFound => what_pem_holds(pem),
        _ => "it is not valid PEM".to_string(),
    })?;
    let parsed = match &der {
        PrivateKeyDer::Pkcs8(key) => RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(key) => RsaKeyPair::from_der(key.secret_pkcs1_der()),
        PrivateKeyDer::Sec1(_) => return Err("it is an EC key; Salesforce's JWT flow signs with RSA (RS256)".into()),
        _ => return Err("it is not an RSA key".into()),
    };
    parsed.map_err(|rejected| format!("the RSA key was rejected ({rejected})"))
}

/// Why a PEM file holds no usable private key, from its `BEGIN` labels (never its contents).
fn what_pem_holds(pem: &[u8]) -> String {
    let text = String::from_utf8_lossy(pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        "it holds an `ENCRYPTED PRIVATE KEY`, which must be decrypted first (e.g. `openssl pkey -in KEY -out KEY.pem`)"
            .into()
    } else if text.contains("-----BEGIN CERTIFICATE-----") {
        "it holds a certificate, not a private key: give the private key that goes with the certificate uploaded to the connected app".into()
    } else if !text.contains("-----BEGIN ") {
        "it is not PEM (no `-----BEGIN …-----` line)".into()
    } else {
        "no private key in it (want `BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`)".into()
    }
}

/// Gets tokens with signed JWT assertions.
pub struct JwtBearer {
    token_url: Url,
    /// The audiences to try, in order: one when explicit, else the default and the other.
    audiences: Vec<String>,
    explicit: bool,
    /// Index in `audiences` of the one the org last took: later refreshes start there.
    preferred: AtomicUsize,
    client_id: String,
    username: String,
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl JwtBearer {
    pub fn new(token_url: Url, audience: Audience, client_id: String, username: String, key: RsaKeyPair) -> JwtBearer {
        let (audiences, explicit) = match audience {
            Audience::Explicit(aud) => (vec![aud], true),
            Audience::Default(aud) => (vec![aud.to_string(), other_audience(aud).to_string()], false),
        };
        JwtBearer {
            token_url,
            audiences,
            explicit,
            preferred: AtomicUsize::new(0),
            client_id,
            username,
            key,
            rng: SystemRandom::new(),
        }
    }

    /// The signed assertion for `audience` and a request made at `now` (seconds since the epoch).
    pub fn assertion(&self, audience: &str, now: u64) -> Result<SecretString, ClientError> {
        let header = json!({"alg": "RS256"});
        let claims = json!({
            "iss": self.client_id,
            "sub": self.username,
            "aud": audience,
            "exp": now + LIFETIME_SECS,
        });
        let signing_input = format!(
            "{}.{}",
            BASE64URL_NOPAD.encode(header.to_string().as_bytes()),
            BASE64URL_NOPAD.encode(claims.to_string().as_bytes())
        );
        let mut signature = vec![0u8; self.key.public().modulus_len()];
        self.key.sign(&RSA_PKCS1_SHA256, &self.rng, signing_input.as_bytes(), &mut signature).map_err(|_| {
            ClientError::Config { reason: "could not sign the JWT assertion with the private key".into() }
        })?;
        Ok(SecretString::from(format!("{signing_input}.{}", BASE64URL_NOPAD.encode(&signature))))
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl TokenSource for JwtBearer {
    fn describe(&self) -> String {
        "JWT bearer".into()
    }

    /// Asks with the preferred audience; when the org refuses that audience, with the
    /// other one, once. An explicit audience is never swapped.
    fn fetch<'a>(&'a self, endpoint: &'a TokenEndpoint) -> BoxFuture<'a, Result<Token, ClientError>> {
        Box::pin(async move {
            let first = self.preferred.load(Ordering::Relaxed) % self.audiences.len();
            let order = (0..self.audiences.len()).map(|i| (first + i) % self.audiences.len());
            let mut refused = Vec::new();
            let mut last = None;
            for index in order {
                let audience = &self.audiences[index];
                let assertion = self.assertion(audience, now_secs())?;
                let form = vec![("grant_type", SecretString::from(GRANT_TYPE)), ("assertion", assertion)];
                match endpoint.request(&self.token_url, form).await {
                    Ok(token) => {
                        self.preferred.store(index, Ordering::Relaxed);
                        return Ok(token);
                    }
                    Err(err) if is_audience_refusal(&err) => {
                        refused.push(audience.as_str());
                        last = Some(err);
                    }
                    Err(err) => return Err(err),
                }
            }
            Err(match last {
                Some(ClientError::OAuth { status, error, description }) => {
                    let tried = if self.explicit {
                        format!("aud {}, the `audience` set in runner.toml", refused.join(", "))
                    } else {
                        format!("tried aud {}", refused.join(", then "))
                    };
                    ClientError::OAuth { status, error, description: format!("{description} ({tried})") }
                }
                Some(other) => other,
                None => ClientError::Config { reason: "no JWT audience to try".into() },
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use runner_core::client::{Auth, SfClient};
    use secrecy::ExposeSecret as _;
    use serde_json::Value;

    use super::*;

    const PKCS8: &str = include_str!("../../tests/fixtures/jwt-test-key.pem");
    const CERT: &str = include_str!("../../tests/fixtures/jwt-test-cert.pem");
    const PKCS1: &str = include_str!("../../tests/fixtures/jwt-test-key-pkcs1.pem");

    fn bearer(pem: &str) -> JwtBearer {
        let key = parse_private_key(pem.as_bytes()).expect("the fixture key parses");
        JwtBearer::new(
            Url::parse("https://login.salesforce.com/services/oauth2/token").expect("url"),
            Audience::Default(PRODUCTION_AUDIENCE),
            "3MVG9.consumer".into(),
            "integration@acme.example".into(),
            key,
        )
    }

    #[test]
    fn the_assertion_has_salesforce_claims_and_a_valid_rs256_signature() {
        for pem in [PKCS8, PKCS1] {
            let bearer = bearer(pem);
            let assertion = bearer.assertion(PRODUCTION_AUDIENCE, 1_000_000).expect("signed");
            let parts: Vec<&str> = assertion.expose_secret().split('.').collect();
            assert_eq!(parts.len(), 3);
            let decode = |part: &str| -> Value {
                serde_json::from_slice(&BASE64URL_NOPAD.decode(part.as_bytes()).expect("base64url")).expect("json")
            };
            assert_eq!(decode(parts[0]), json!({"alg": "RS256"}));
            assert_eq!(
                decode(parts[1]),
                json!({"iss": "3MVG9.consumer", "sub": "integration@acme.example", "aud": "https://login.salesforce.com", "exp": 1_000_180})
            );
            let signature = BASE64URL_NOPAD.decode(parts[2].as_bytes()).expect("base64url");
            let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, bearer.key.public().as_ref());
            public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("the signature verifies");
        }
    }

    #[test]
    fn the_default_audience_is_test_only_for_sandbox_login_urls() {
        let sandbox = [
            "https://test.salesforce.com",
            "https://TEST.salesforce.com/",
            "https://acme--uat.sandbox.my.salesforce.com",
            "https://acme--uat.my.salesforce.com",
            "https://acme.cs42.my.salesforce.com",
            "https://cs42.salesforce.com",
            "https://cs7.force.com",
            "https://acme--uat.sandbox.my.salesforce.mil",
        ];
        let production = [
            "https://login.salesforce.com",
            "https://acme.my.salesforce.com",
            "https://acme-uat.my.salesforce.com",
            "https://--.my.salesforce.com",
            "https://cs.salesforce.com",
            "https://cs42x.salesforce.com",
            "https://cs42.example.com",
            "https://acme.my.site.com",
            "http://127.0.0.1:8080",
        ];
        for (urls, want) in [(&sandbox[..], SANDBOX_AUDIENCE), (&production[..], PRODUCTION_AUDIENCE)] {
            for url in urls {
                assert_eq!(default_audience(&Url::parse(url).expect("url")), want, "{url}");
            }
        }
        assert_eq!(other_audience(PRODUCTION_AUDIENCE), SANDBOX_AUDIENCE);
        assert_eq!(other_audience(SANDBOX_AUDIENCE), PRODUCTION_AUDIENCE);
    }

    fn options() -> runner_core::client::ClientOptions {
        runner_core::client::ClientOptions { api_version: Some("62.0".into()), ..Default::default() }
    }

    fn bearer_at(token_url: &str, audience: Audience, username: &str) -> Arc<JwtBearer> {
        let key = parse_private_key(PKCS8.as_bytes()).expect("the fixture key parses");
        let url = Url::parse(token_url).expect("url");
        Arc::new(JwtBearer::new(url, audience, "runner-test-app".into(), username.into(), key))
    }

    #[tokio::test]
    async fn a_sandbox_refusing_login_gets_test_once_and_keeps_it_for_refreshes() {
        let sim = runner_sim::start(runner_sim::SimConfig {
            scenario: runner_sim::Scenario::Scratch,
            oauth_clients: vec![runner_sim::OAuthClient {
                client_id: "runner-test-app".into(),
                client_secret: "unused".into(),
            }],
            jwt_certificates: vec![CERT.to_string()],
            faults: runner_sim::Faults { expire_token_after: Some(1), ..Default::default() },
            ..Default::default()
        })
        .await
        .expect("sim starts");
        let url = sim.instance_url();
        let source = bearer_at(
            &format!("{url}/services/oauth2/token"),
            Audience::Default(PRODUCTION_AUDIENCE),
            runner_sim::ADMIN_USERNAME,
        );
        let sf = SfClient::connect(&url, Auth::Custom(source.clone()), options()).await.expect("connect");
        assert_eq!(sf.api_calls(), 2, "login refused, then test taken: one retry");
        assert_eq!(source.preferred.load(Ordering::Relaxed), 1);
        sf.userinfo().await.expect("userinfo");
        // The token expires on the next call: userinfo's 403, one refresh, straight with test.
        sf.userinfo().await.expect("userinfo after a refresh");
        assert_eq!(sf.api_calls(), 2 + 1 + 1 + 1 + 1);
    }

    /// A token endpoint on 127.0.0.1 that refuses every request with `body`; counts them.
    async fn refusing_endpoint(body: &'static str) -> (String, Arc<AtomicUsize>) {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/services/oauth2/token", listener.local_addr().expect("addr"));
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let Ok(n) = socket.read(&mut buf).await else { return };
                        if n == 0 {
                            return;
                        }
                        data.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&data).to_ascii_lowercase();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let length = text[..end]
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            if data.len() >= end + 4 + length {
                                break;
                            }
                        }
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    let reply = format!(
                        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        (url, count)
    }

    const BAD_AUDIENCE: &str = r#"{"error":"invalid_grant","error_description":"audience is invalid"}"#;

    #[tokio::test]
    async fn when_neither_audience_is_taken_the_error_names_both_after_two_tries() {
        use miette::Diagnostic as _;
        let (url, count) = refusing_endpoint(BAD_AUDIENCE).await;
        let source = bearer_at(&url, Audience::Default(PRODUCTION_AUDIENCE), "u@acme.example");
        let err = SfClient::connect("http://127.0.0.1:9", Auth::Custom(source), options()).await.expect_err("refused");
        assert_eq!(count.load(Ordering::SeqCst), 2, "the other audience is tried once, never more");
        let text = err.to_string();
        assert!(
            text.contains(
                "audience is invalid (tried aud https://login.salesforce.com, then https://test.salesforce.com)"
            ),
            "{text}"
        );
        let help = err.help().map(|h| h.to_string()).unwrap_or_default();
        assert!(help.contains("`audience`") && help.contains("runner.toml"), "{help}");

        // An explicit audience is sent alone.
        let (url, count) = refusing_endpoint(BAD_AUDIENCE).await;
        let source = bearer_at(&url, Audience::Explicit("https://acme.my.site.com".into()), "u@acme.example");
        let err = SfClient::connect("http://127.0.0.1:9", Auth::Custom(source), options()).await.expect_err("refused");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(err.to_string().contains("(aud https://acme.my.site.com, the `audience` set in runner.toml)"), "{err}");

        // Any other refusal is not about the audience: no second try.
        let (url, count) =
            refusing_endpoint(r#"{"error":"invalid_grant","error_description":"user hasn't approved this consumer"}"#)
                .await;
        let source = bearer_at(&url, Audience::Default(SANDBOX_AUDIENCE), "u@acme.example");
        let err = SfClient::connect("http://127.0.0.1:9", Auth::Custom(source), options()).await.expect_err("refused");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        assert!(err.to_string().ends_with("user hasn't approved this consumer"), "{err}");
    }

    #[test]
    fn keys_that_cannot_sign_are_refused_without_quoting_them() {
        assert!(parse_private_key(b"not a key").is_err());
        let public =
            "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n";
        assert!(parse_private_key(public.as_bytes()).is_err());
        let truncated = PKCS8.replacen("MII", "MIA", 1);
        let err = parse_private_key(truncated.as_bytes()).err().unwrap_or_default();
        assert!(!err.contains("MIA"), "{err}");
    }
}
