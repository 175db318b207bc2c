//! The OAuth 2.0 JWT bearer flow, as a [`TokenSource`] for the client.
//!
//! The assertion is `base64url(header).base64url(claims).base64url(signature)` with
//! header `{"alg":"RS256"}`, claims `iss` (the connected app's consumer key), `sub`
//! (the username), `aud` (the login URL) and `exp` (now + 3 minutes), signed with
//! RSASSA-PKCS1-v1_5 SHA-256 by `ring`. It is posted to `{login_url}/services/oauth2/token`
//! with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, and made anew each
//! time the client needs a token.

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

/// Reads an unencrypted RSA private key from PEM: PKCS#8 (`BEGIN PRIVATE KEY`) or
/// PKCS#1 (`BEGIN RSA PRIVATE KEY`). The reason for a refusal never quotes the key.
pub fn parse_private_key(pem: &[u8]) -> Result<RsaKeyPair, String> {
    let der = PrivateKeyDer::from_pem_slice(pem).map_err(|err| match err {
        rustls_pki_types::pem::Error::NoItemsFound => {
            "no unencrypted private key in it (an `ENCRYPTED PRIVATE KEY` must be decrypted first, e.g. `openssl pkey -in KEY -out KEY.pem`)"
                .to_string()
        }
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

/// Gets tokens with signed JWT assertions.
pub struct JwtBearer {
    token_url: Url,
    audience: String,
    client_id: String,
    username: String,
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl JwtBearer {
    pub fn new(token_url: Url, audience: String, client_id: String, username: String, key: RsaKeyPair) -> JwtBearer {
        JwtBearer { token_url, audience, client_id, username, key, rng: SystemRandom::new() }
    }

    /// The signed assertion for a request made at `now` (seconds since the epoch).
    pub fn assertion(&self, now: u64) -> Result<SecretString, ClientError> {
        let header = json!({"alg": "RS256"});
        let claims = json!({
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
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

    fn fetch<'a>(&'a self, endpoint: &'a TokenEndpoint) -> BoxFuture<'a, Result<Token, ClientError>> {
        Box::pin(async move {
            let assertion = self.assertion(now_secs())?;
            let form = vec![("grant_type", SecretString::from(GRANT_TYPE)), ("assertion", assertion)];
            endpoint.request(&self.token_url, form).await
        })
    }
}

#[cfg(test)]
mod tests {
    use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
    use secrecy::ExposeSecret as _;
    use serde_json::Value;

    use super::*;

    const PKCS8: &str = include_str!("../../tests/fixtures/jwt-test-key.pem");
    const PKCS1: &str = include_str!("../../tests/fixtures/jwt-test-key-pkcs1.pem");

    fn bearer(pem: &str) -> JwtBearer {
        let key = parse_private_key(pem.as_bytes()).expect("the fixture key parses");
        JwtBearer::new(
            Url::parse("https://login.salesforce.com/services/oauth2/token").expect("url"),
            "https://login.salesforce.com".into(),
            "3MVG9.consumer".into(),
            "integration@acme.example".into(),
            key,
        )
    }

    #[test]
    fn the_assertion_has_salesforce_claims_and_a_valid_rs256_signature() {
        for pem in [PKCS8, PKCS1] {
            let bearer = bearer(pem);
            let assertion = bearer.assertion(1_000_000).expect("signed");
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
