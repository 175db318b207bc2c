//! The OAuth JWT bearer grant: RS256 assertions checked against the connected app's
//! certificate, with Salesforce's error bodies.

use std::time::{SystemTime, UNIX_EPOCH};

use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use runner_sim::{ADMIN_USERNAME, OAuthClient, SYNC_USERNAME, Scenario, SimConfig};
use serde_json::{Value, json};

use crate::common::*;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/jwt").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

/// Signs `claims` with `alg` in the header, using the key in `key_file` (PKCS#8 PEM).
fn assertion_with(key_file: &str, alg: &str, claims: &Value) -> String {
    let pem = fixture(key_file);
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = data_encoding::BASE64.decode(body.as_bytes()).expect("key is base64");
    let key = RsaKeyPair::from_pkcs8(&der).expect("an RSA PKCS#8 key");
    let signing_input =
        format!("{}.{}", b64(json!({"alg": alg}).to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
        .expect("signs");
    format!("{signing_input}.{}", b64(&signature))
}

fn assertion(claims: &Value) -> String {
    assertion_with("app.key", "RS256", claims)
}

fn claims(aud: &str) -> Value {
    json!({"iss": "app", "sub": SYNC_USERNAME, "aud": aud, "exp": now() + 180})
}

async fn jwt_sim() -> Sim {
    jwt_sim_of(Scenario::StoreConnect).await
}

async fn jwt_sim_of(scenario: Scenario) -> Sim {
    sim_with(SimConfig {
        scenario,
        oauth_clients: vec![OAuthClient { client_id: "app".into(), client_secret: "s3cret".into() }],
        jwt_certificates: vec![fixture("app.crt")],
        ..SimConfig::default()
    })
    .await
}

async fn grant(sim: &Sim, assertion: &str) -> (u16, Value) {
    let body = format!("grant_type={}&assertion={}", encode(GRANT), encode(assertion));
    let resp = sim
        .client
        .post(sim.url("/services/oauth2/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("answered");
    (resp.status().as_u16(), resp.json().await.expect("json"))
}

fn refusal(error: &str, description: &str) -> (u16, Value) {
    (400, json!({"error": error, "error_description": description}))
}

#[tokio::test]
async fn a_signed_assertion_gets_a_token_for_its_user() {
    let sim = jwt_sim().await;
    let sync_id = sim.query_one(&format!("SELECT Id FROM User WHERE Username = '{SYNC_USERNAME}'"), "Id").await;
    let org_id = sim.query_one("SELECT Id FROM Organization", "Id").await;
    let url = sim.handle.instance_url();
    for aud in ["https://login.salesforce.com", "https://login.salesforce.com/"] {
        let (status, body) = grant(&sim, &assertion(&claims(aud))).await;
        assert_eq!(status, 200, "{aud}: {body}");
        let token = body["access_token"].as_str().expect("a token").to_string();
        assert_eq!(
            body,
            json!({
                "access_token": token,
                "scope": "api",
                "instance_url": url,
                "id": format!("{url}/id/{}/{}", org_id.as_str().expect("org id"), sync_id.as_str().expect("user id")),
                "token_type": "Bearer",
            })
        );
        // The token works on the REST API.
        let reply = sim.send(reqwest::Method::GET, &sim.data("limits"), None, Some(&token)).await;
        assert_eq!(reply.status, 200);
    }
    // `prn`, the legacy subject claim, is accepted (and wins over `sub`).
    let legacy = json!({"iss": "app", "prn": SYNC_USERNAME, "sub": "nobody@example.com", "aud": "https://login.salesforce.com", "exp": now() + 60});
    assert_eq!(grant(&sim, &assertion(&legacy)).await.0, 200);
}

#[tokio::test]
async fn production_takes_only_login_and_a_sandbox_only_test_as_the_audience() {
    let invalid = refusal("invalid_grant", "audience is invalid");
    let production = jwt_sim().await;
    let own = production.handle.instance_url();
    for aud in ["https://test.salesforce.com", own.as_str(), "https://acme.my.salesforce.com"] {
        assert_eq!(grant(&production, &assertion(&claims(aud))).await, invalid, "{aud}");
    }
    // An `aud` array is valid when one of its entries is.
    let mut both = claims("");
    both["aud"] = json!(["https://test.salesforce.com", "https://login.salesforce.com"]);
    assert_eq!(grant(&production, &assertion(&both)).await.0, 200);

    let sandbox = jwt_sim_of(Scenario::Scratch).await;
    let sandbox_user =
        json!({"iss": "app", "sub": ADMIN_USERNAME, "aud": "https://test.salesforce.com", "exp": now() + 180});
    let (status, body) = grant(&sandbox, &assertion(&sandbox_user)).await;
    assert_eq!(status, 200, "{body}");
    let own = sandbox.handle.instance_url();
    for aud in ["https://login.salesforce.com", own.as_str()] {
        let mut claims = sandbox_user.clone();
        claims["aud"] = json!(aud);
        assert_eq!(grant(&sandbox, &assertion(&claims)).await, invalid, "{aud}");
    }
}

#[tokio::test]
async fn bad_assertions_are_refused_as_salesforce_refuses_them() {
    let sim = jwt_sim().await;
    let aud = "https://login.salesforce.com";
    let with = |patch: Value| {
        let mut c = claims(aud);
        if let (Some(map), Some(extra)) = (c.as_object_mut(), patch.as_object()) {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
        c
    };
    // Expired, or no expiry.
    assert_eq!(
        grant(&sim, &assertion(&with(json!({"exp": now() - 10})))).await,
        refusal("invalid_grant", "expired authorization code")
    );
    let mut no_exp = claims(aud);
    no_exp.as_object_mut().map(|m| m.remove("exp"));
    assert_eq!(grant(&sim, &assertion(&no_exp)).await, refusal("invalid_grant", "expired authorization code"));
    // Another audience.
    assert_eq!(
        grant(&sim, &assertion(&with(json!({"aud": "https://acme.my.salesforce.com"})))).await,
        refusal("invalid_grant", "audience is invalid")
    );
    // An unknown consumer key.
    assert_eq!(
        grant(&sim, &assertion(&with(json!({"iss": "someone-else"})))).await,
        refusal("invalid_client_id", "client identifier invalid")
    );
    // A user that does not exist.
    assert_eq!(
        grant(&sim, &assertion(&with(json!({"sub": "nobody@example.com"})))).await,
        refusal("invalid_grant", "user hasn't approved this consumer")
    );
    // Signed with a key whose certificate was not uploaded.
    assert_eq!(
        grant(&sim, &assertion_with("other.key", "RS256", &claims(aud))).await,
        refusal("invalid_grant", "invalid assertion")
    );
    // A tampered claim set breaks the signature.
    let good = assertion(&claims(aud));
    let parts: Vec<&str> = good.split('.').collect();
    let forged_claims = b64(with(json!({"sub": "admin@storeconnect-demo.example"})).to_string().as_bytes());
    let forged = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    assert_eq!(grant(&sim, &forged).await, refusal("invalid_grant", "invalid assertion"));
    // Only RS256; and garbage is not an assertion.
    assert_eq!(
        grant(&sim, &assertion_with("app.key", "HS256", &claims(aud))).await,
        refusal("invalid_grant", "invalid assertion")
    );
    assert_eq!(grant(&sim, "not.a-jwt").await, refusal("invalid_grant", "invalid assertion"));
    // No assertion at all.
    let resp = sim
        .client
        .post(sim.url("/services/oauth2/token"))
        .body(format!("grant_type={}", encode(GRANT)))
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.ok(),
        Some(json!({"error": "invalid_request", "error_description": "assertion parameter is missing"}))
    );
}

#[tokio::test]
async fn without_an_uploaded_certificate_no_assertion_is_valid() {
    let sim = sim_with(SimConfig {
        oauth_clients: vec![OAuthClient { client_id: "app".into(), client_secret: "s3cret".into() }],
        ..SimConfig::default()
    })
    .await;
    let claims = claims("https://login.salesforce.com");
    assert_eq!(grant(&sim, &assertion(&claims)).await, refusal("invalid_grant", "invalid assertion"));
}

#[tokio::test]
async fn an_unusable_certificate_stops_the_start() {
    let config = SimConfig { jwt_certificates: vec!["not a certificate".into()], ..SimConfig::default() };
    let err = runner_sim::start(config).await.expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("JWT certificate"), "{err}");
}
