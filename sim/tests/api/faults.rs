//! Faults: API limit, latency, 503s and dropped connections from a seeded RNG.

use std::time::{Duration, Instant};

use runner_sim::{Faults, SimConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

fn faulty(faults: Faults) -> SimConfig {
    SimConfig { faults, ..SimConfig::default() }
}

#[tokio::test]
async fn api_limit_refuses_calls() {
    let sim = sim_with(faulty(Faults { api_limit: Some(2), ..Faults::default() })).await;
    let first = sim.get("limits").await;
    assert_eq!(first.header("Sforce-Limit-Info").as_deref(), Some("api-usage=1/2"));
    assert_eq!(sim.get("limits").await.status, 200);
    let reply = sim.get("limits").await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(reply.header("Sforce-Limit-Info").as_deref(), Some("api-usage=2/2"));
    assert_eq!(sim.handle.api_calls(), 2);
    // The version list is not an API call.
    assert_eq!(sim.send(reqwest::Method::GET, &sim.url("/services/data/"), None, None).await.status, 200);
}

#[tokio::test]
async fn latency_delays_answers() {
    let sim = sim_with(faulty(Faults { latency_ms: 120, ..Faults::default() })).await;
    let started = Instant::now();
    assert_eq!(sim.get("limits").await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn failures_are_503s_or_dropped_connections() {
    let sim = sim_with(faulty(Faults { fail_rate: 1.0, seed: 7, ..Faults::default() })).await;
    let token = sim.handle.token().to_string();
    let (mut unavailable, mut dropped) = (0, 0);
    for i in 0..16 {
        let result = sim
            .client
            .post(sim.data("sobjects/Account"))
            .bearer_auth(&token)
            .header("Content-Type", "application/json")
            .body(json!({"Name": format!("Faulty {i}")}).to_string())
            .send()
            .await;
        match result {
            Ok(resp) => {
                assert_eq!(resp.status(), 503);
                let body: serde_json::Value = resp.json().await.expect("json");
                assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE");
                unavailable += 1;
            }
            Err(_) => dropped += 1,
        }
    }
    assert!(unavailable > 0 && dropped > 0, "{unavailable} 503s, {dropped} drops");
    // Faults after the write count as served calls; some of the 16 applied.
    let applied = sim.handle.api_calls();
    assert!(applied > 0 && applied < 16, "{applied}");
}

#[tokio::test]
async fn a_dropped_connection_closes_without_a_response() {
    // With this seed the first draw is a drop (checked below by reading the socket).
    let mut seen_drop = false;
    for seed in 0..20 {
        let sim = sim_with(faulty(Faults { fail_rate: 1.0, seed, ..Faults::default() })).await;
        let addr = sim.handle.instance_url().trim_start_matches("http://").to_string();
        let mut stream = tokio::net::TcpStream::connect(&addr).await.expect("connects");
        let request = format!(
            "GET /services/data/v62.0/limits HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            sim.handle.token()
        );
        stream.write_all(request.as_bytes()).await.expect("writes");
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        let Ok(Ok(_)) = read else { continue };
        if buf.is_empty() {
            seen_drop = true;
            break;
        }
        assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 503"));
    }
    assert!(seen_drop, "no seed in 0..20 dropped the first request");
}
