//! HTTPS: the certificate made at start, for 127.0.0.1 and localhost, on the same
//! connection-serving code (faults included).

use std::time::Duration;

use runner_sim::{Faults, SimConfig};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn https_serves_the_api_with_a_trusted_certificate() {
    let sim = sim_tls_with(SimConfig::default()).await;
    let url = sim.handle.instance_url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let pem = sim.handle.certificate_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");

    let versions = sim.send(reqwest::Method::GET, &sim.url("/services/data/"), None, None).await;
    assert_eq!(versions.status, 200);
    assert_eq!(versions.body.as_array().and_then(|a| a.last()).map(|v| v["version"].clone()), Some(json!("62.0")));

    let reply = sim.get("query?q=SELECT+Id+FROM+Organization").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["totalSize"], 1);
    let org_id = reply.body["records"][0]["Id"].as_str().expect("id").to_string();
    assert_eq!(
        reply.body["records"][0]["attributes"]["url"],
        format!("/services/data/v62.0/sobjects/Organization/{org_id}")
    );

    // The same certificate is valid for `localhost`.
    let port = sim.handle.addr().port();
    let local = sim.send(reqwest::Method::GET, &format!("https://localhost:{port}/services/data/"), None, None).await;
    assert_eq!(local.status, 200);

    // The token endpoint answers the https instance URL.
    let userinfo =
        sim.send(reqwest::Method::GET, &sim.url("/services/oauth2/userinfo"), None, Some(sim.handle.token())).await;
    assert_eq!(userinfo.body["urls"]["rest"], format!("{url}/services/data/v62.0/"));
}

#[tokio::test]
async fn https_is_refused_by_a_client_that_does_not_trust_the_certificate() {
    let sim = sim_tls_with(SimConfig::default()).await;
    let untrusting = reqwest::Client::builder().tls_built_in_root_certs(false).build().expect("client builds");
    let err = untrusting.get(sim.url("/services/data/")).send().await.expect_err("untrusted certificate");
    assert!(err.is_connect(), "{err:?}");
    // Plain HTTP on the TLS port gets no HTTP answer either.
    let plain = sim.handle.instance_url().replace("https://", "http://");
    assert!(reqwest::Client::new().get(format!("{plain}/services/data/")).send().await.is_err());
    // The server still serves trusting clients afterwards.
    assert_eq!(sim.send(reqwest::Method::GET, &sim.url("/services/data/"), None, None).await.status, 200);
}

#[tokio::test]
async fn faults_drop_tls_connections_too() {
    let sim = sim_tls_with(SimConfig {
        faults: Faults { fail_rate: 1.0, seed: 7, ..Faults::default() },
        ..SimConfig::default()
    })
    .await;
    let token = sim.handle.token().to_string();
    let (mut unavailable, mut dropped) = (0, 0);
    for i in 0..16 {
        let result = tokio::time::timeout(
            Duration::from_secs(10),
            sim.client
                .post(sim.data("sobjects/Account"))
                .bearer_auth(&token)
                .header("Content-Type", "application/json")
                .body(json!({"Name": format!("Faulty {i}")}).to_string())
                .send(),
        )
        .await
        .expect("answered or dropped in time");
        match result {
            Ok(resp) => {
                assert_eq!(resp.status(), 503);
                unavailable += 1;
            }
            Err(_) => dropped += 1,
        }
    }
    assert!(unavailable > 0 && dropped > 0, "{unavailable} 503s, {dropped} drops");
}
