//! A hostile server: caps on bodies, time and pages, and errors whose hints fit them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use miette::Diagnostic;
use secrecy::SecretString;
use serde_json::{Map, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::super::*;
use super::assert_hidden;
use super::mock::{Reply, mock};
use super::test_options as options;

const TOKEN: &str = "00Dxx0000001gPL!HOSTILEtokenvalue.3333333333333333333333333333333333";

async fn client_with(url: &str, options: ClientOptions) -> SfClient {
    SfClient::connect(url, Auth::AccessToken(SecretString::from(TOKEN)), options).await.expect("connect")
}

/// Connecting discovers the API version: a request at once.
fn discover() -> ClientOptions {
    ClientOptions { api_version: None, ..options() }
}

fn help(err: &ClientError) -> String {
    err.help().map(|h| h.to_string()).unwrap_or_default()
}

/// What the raw server does after reading a request.
enum Raw {
    /// Writes these bytes, then closes.
    Once(Vec<u8>),
    /// Writes the head, then body bytes forever.
    Endless(&'static str),
}

/// A raw TCP server on 127.0.0.1 that answers every request with `reply()`.
async fn raw_server(reply: impl Fn() -> Raw + Send + Sync + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let reply = Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (reply, counter) = (reply.clone(), counter.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                // A request head, or anything that is not HTTP (a TLS ClientHello), as
                // a plain-http server would answer it with a 400.
                let not_http = |seen: &[u8]| seen.first().is_some_and(|b| !b.is_ascii_alphabetic());
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") && !not_http(&seen) {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                match reply() {
                    Raw::Once(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                        let _ = socket.shutdown().await;
                    }
                    Raw::Endless(head) => {
                        if socket.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = vec![b'x'; 64 * 1024];
                        let framed = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk, b"\r\n".to_vec()].concat();
                        while socket.write_all(&framed).await.is_ok() {}
                    }
                }
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn a_body_over_the_cap_is_refused_by_its_length_or_while_streaming() {
    let big = "x".repeat(4096);
    let org = mock(move |_, _| Reply::Raw { status: 200, content_type: "application/json", body: big.clone() }).await;
    let small = ClientOptions { max_body_bytes: 1024, ..options() };
    let sf = client_with(&org.url, small.clone()).await;
    let err = sf.query("SELECT Id FROM Account").await.expect_err("too large");
    assert!(matches!(err, ClientError::BodyTooLarge { limit: 1024, .. }), "{err:?}");
    assert_eq!(org.count(), 1, "a body too large is not fetched again");
    assert_hidden(&err, TOKEN);

    // Chunked, no length, never ends: stopped at the cap, quickly.
    let (url, _) = raw_server(|| {
        Raw::Endless("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n")
    })
    .await;
    let sf = client_with(&url, ClientOptions { max_body_bytes: 4 * 1024 * 1024, ..options() }).await;
    let started = Instant::now();
    let err = sf.get("Account", "001000000000001AAA", None).await.expect_err("endless");
    assert!(matches!(err, ClientError::BodyTooLarge { .. }), "{err:?}");
    assert!(err.to_string().contains("4 MiB"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_server_that_never_answers_costs_the_request_timeout_retries_included() {
    let org = mock(|_, _| Reply::Hang).await;
    let options = ClientOptions {
        timeout: Duration::from_secs(60),
        request_timeout: Duration::from_millis(700),
        retry: RetryPolicy { max_retries: 4, ..RetryPolicy::default() },
        ..options()
    };
    let sf = client_with(&org.url, options).await;
    let started = Instant::now();
    let err = sf.query("SELECT Id FROM Account").await.expect_err("timeout");
    let elapsed = started.elapsed();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert!(elapsed >= Duration::from_millis(650) && elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(help(&err).contains("--request-timeout"), "the hint names the option: {}", help(&err));
}

#[tokio::test]
async fn pagination_loops_and_endless_pages_are_caught() {
    // A → B → A: a loop longer than one page.
    let org = mock(|seen, _| {
        let next = match seen.path.as_str() {
            "/services/data/v62.0/query/01g-A" => "/services/data/v62.0/query/01g-B",
            _ => "/services/data/v62.0/query/01g-A",
        };
        Reply::Json(200, json!({"totalSize": 9, "done": false, "nextRecordsUrl": next, "records": []}))
    })
    .await;
    let sf = client_with(&org.url, options()).await;
    let err = sf.query("SELECT Id FROM Account").await.expect_err("loop");
    assert!(matches!(err, ClientError::PaginationLoop { .. }), "{err:?}");
    assert_eq!(org.count(), 3);
    assert!(help(&err).contains("never sends the same nextRecordsUrl"), "{}", help(&err));
    assert_hidden(&err, TOKEN);

    // Ever-new pages: capped.
    let org = mock(|_, n| {
        let next = format!("/services/data/v62.0/query/01g-{n}");
        Reply::Json(200, json!({"totalSize": 9, "done": false, "nextRecordsUrl": next, "records": [{"Id": n}]}))
    })
    .await;
    let sf = client_with(&org.url, ClientOptions { max_query_pages: 20, ..options() }).await;
    let err = sf.query("SELECT Id FROM Account").await.expect_err("endless");
    assert!(matches!(err, ClientError::TooManyPages { limit: 20, .. }), "{err:?}");
    assert_eq!(org.count(), 20, "at most the cap of pages is read");

    // The batch path: a self-referencing page and a loop, each its own result.
    let org = mock(|seen, _| match seen.path.as_str() {
        "/services/data/v62.0/composite/batch" => {
            let requests = seen.json()["batchRequests"].as_array().map(Vec::len).unwrap_or(0);
            let results: Vec<_> = (0..requests)
                .map(|_| {
                    json!({"statusCode": 200, "result": {"totalSize": 1, "done": false,
                        "nextRecordsUrl": "/services/data/v62.0/query/01g-same", "records": []}})
                })
                .collect();
            Reply::Json(200, json!({"hasErrors": false, "results": results}))
        }
        _ => Reply::Json(404, json!([])),
    })
    .await;
    let sf = client_with(&org.url, options()).await;
    let results = sf.query_batch(&["SELECT Id FROM A".into(), "SELECT Id FROM B".into()]).await.expect("batch");
    for result in results {
        assert!(matches!(result, Err(ClientError::PaginationLoop { .. })), "{result:?}");
    }
}

#[tokio::test]
async fn rate_limits_and_outages_say_later() {
    let org =
        mock(|_, _| Reply::JsonWith(429, json!({"message": "slow down"}), vec![("Retry-After", "0".into())])).await;
    let sf = client_with(&org.url, options()).await;
    let err = sf.query("SELECT Id FROM Account").await.expect_err("429");
    assert!(matches!(err, ClientError::RateLimited { .. }), "{err:?}");
    assert_eq!(org.count(), 3, "a read is retried after a 429");
    assert!(err.to_string().contains("rate limited"), "{err}");
    assert!(help(&err).contains("wait"), "{}", help(&err));
    assert!(err.is_transient());

    let org = mock(|_, _| {
        Reply::JsonWith(
            503,
            json!([{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable."}]),
            vec![("Retry-After", "1".into())],
        )
    })
    .await;
    let sf = client_with(&org.url, options()).await;
    let err = sf.create("Account", &Map::new()).await.expect_err("503");
    assert!(matches!(err, ClientError::Unavailable { .. }), "{err:?}");
    assert!(help(&err).contains("temporary") && help(&err).contains("wait 1s"), "{}", help(&err));
    assert!(!help(&err).contains("fix the cause"), "{}", help(&err));
    assert!(err.is_ambiguous_write(), "a create answered 503 may have been applied");
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn truncated_json_an_empty_answer_and_a_create_without_id_each_have_their_hint() {
    let org = mock(|seen, _| match seen.path.as_str() {
        "/services/data/v62.0/query" => {
            Reply::Raw { status: 200, content_type: "application/json", body: r#"{"totalSize": 1, "done": tr"#.into() }
        }
        "/services/data/v62.0/sobjects/Account/" => {
            Reply::Raw { status: 204, content_type: "application/json", body: String::new() }
        }
        "/services/data/v62.0/sobjects/Contact/" => Reply::Json(201, json!({"success": true, "errors": []})),
        _ => Reply::Raw { status: 200, content_type: "application/json", body: "[1, 2,, 3]".into() },
    })
    .await;
    let sf = client_with(&org.url, ClientOptions { retry: RetryPolicy::none(), ..options() }).await;

    let err = sf.query("SELECT Id FROM Account").await.expect_err("truncated");
    assert!(matches!(err, ClientError::InvalidJson { truncated: true, .. }), "{err:?}");
    assert!(err.to_string().contains("ends early"), "{err}");
    assert!(help(&err).contains("cut short"), "{}", help(&err));

    let err = sf.get("Account", "001000000000001AAA", None).await.expect_err("broken");
    assert!(matches!(err, ClientError::InvalidJson { truncated: false, .. }), "{err:?}");
    assert!(!help(&err).contains("cut short"), "{}", help(&err));

    let err = sf.create("Account", &Map::new()).await.expect_err("204");
    assert!(matches!(err, ClientError::EmptyBody { status: 204, .. }), "{err:?}");
    assert!(help(&err).contains("re-read"), "{}", help(&err));

    let err = sf.create("Contact", &Map::new()).await.expect_err("no id");
    assert!(matches!(err, ClientError::MissingId { .. }), "{err:?}");
    assert!(!err.to_string().contains("not created"), "{err}");
    assert!(err.is_ambiguous_write());
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn a_bad_field_name_is_named_as_such() {
    let org = mock(|_, _| Reply::Json(200, json!({}))).await;
    let sf = client_with(&org.url, options()).await;
    let err = sf.get("Account", "001000000000001AAA", Some(&["Name", "Bad Field"])).await.expect_err("bad");
    assert!(matches!(err, ClientError::InvalidName { .. }), "{err:?}");
    assert!(err.to_string().contains("not a field API name"), "{err}");
    assert!(!help(&err).contains("instance URL"), "{}", help(&err));
    assert_eq!(org.count(), 0, "nothing is sent");
}

#[tokio::test]
async fn tls_failures_name_runner_ca_cert() {
    // https:// to a plain-http server.
    let (url, _) = raw_server(|| Raw::Once(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n".to_vec())).await;
    let url = url.replacen("http://", "https://", 1);
    let err =
        SfClient::connect(&url, Auth::AccessToken(SecretString::from(TOKEN)), discover()).await.expect_err("not tls");
    assert!(matches!(err, ClientError::Tls { kind: TlsFailure::NotTls, .. }), "{err:?}");
    assert!(err.to_string().contains("does not speak TLS"), "{err}");
    assert!(help(&err).contains("RUNNER_CA_CERT"), "{}", help(&err));

    // A certificate nobody trusts: the sim's own, without its CA.
    let sim = runner_sim::start(runner_sim::SimConfig { tls: true, ..Default::default() }).await.expect("sim");
    let started = Instant::now();
    let err = SfClient::connect(&sim.instance_url(), Auth::AccessToken(SecretString::from(TOKEN)), discover())
        .await
        .expect_err("untrusted");
    assert!(matches!(err, ClientError::Tls { kind: TlsFailure::UntrustedCertificate, .. }), "{err:?}");
    assert!(help(&err).contains("RUNNER_CA_CERT"), "{}", help(&err));
    assert!(started.elapsed() < Duration::from_secs(2), "a TLS refusal is not retried: {:?}", started.elapsed());
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn localhost_goes_to_loopback_whatever_the_resolver_says() {
    let org = mock(|_, _| Reply::Json(200, json!({"user_id": "005xx"}))).await;
    let url = org.url.replacen("127.0.0.1", "localhost", 1);
    let sf = client_with(&url, options()).await;
    assert_eq!(sf.userinfo().await.expect("userinfo")["user_id"], "005xx");
    assert!(super::super::transport::LOCALHOST_ADDRS.iter().all(|a| a.ip().is_loopback()));
}
