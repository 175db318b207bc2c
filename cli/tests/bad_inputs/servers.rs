//! Servers: a hostile org on loopback (`hostile.rs`) answers HTML, broken JSON, huge
//! or endless bodies, redirects, loops, rate limits, silence and plain text to TLS.
//! Every case runs a real `runner play` with a seeded token, which must never print,
//! even when the server echoes it back.

use super::hostile::{Canned, Hostile, json, response, tls_sim};
use super::{Case, SEEDED_SECRETS, run_all};

/// Reads one query's rows.
const QUERY: &str = "let rows = sf::query(\"SELECT Id FROM Account\");\nprint(`rows: ${rows.len()}`);\n";
/// Creates one record.
const CREATE: &str = "let id = sf::create(\"Account\", #{ Name: \"Hostile\" });\nprint(`created ${id}`);\n";

const QUERY_PATH: &str = "/services/data/v62.0/query";
const CREATE_PATH: &str = "/services/data/v62.0/sobjects/Account/";

const PLAYBOOK_FAILED: &[i32] = &[1];
const CONNECT_FAILED: &[i32] = &[4];

fn html(status: &str) -> Canned {
    let page = "<!DOCTYPE html><html><head><title>Proxy</title></head><body><h1>Access denied</h1>\
                <p>Your request (Bearer {token}) was blocked by the corporate proxy.</p></body></html>";
    response(status, &[("content-type", "text/html; charset=utf-8")], page.as_bytes().to_vec())
}

/// A `runner play` of `playbook` against `org`, with the seeded token.
fn play(name: &'static str, org: &str, playbook: &str, exit: &'static [i32], names: &[&str]) -> Case {
    Case::new(name, &["play", "p.rhai", "--org", org, "--journal", "{dir}/journal.jsonl"], exit, names)
        .file("p.rhai", playbook, 0o644)
        .env("SF_ACCESS_TOKEN", SEEDED_SECRETS[0])
}

#[test]
fn hostile_servers_get_a_clear_error_and_no_leak() {
    // Where the redirect points: another loopback server, which must see no request
    // (a followed redirect would carry the token to it).
    let sink = Hostile::start(vec![("*", json("200 OK", "{}"))]);
    let redirect_to = format!("{}/services/data/v62.0/query", sink.url());
    let mut servers = Vec::new();
    let mut cases = Vec::new();
    let mut add = |overrides: Vec<(&str, Canned)>, build: &dyn Fn(&str) -> Case| {
        let server = Hostile::start(overrides);
        cases.push(build(&server.url()));
        servers.push(server);
    };

    add(vec![("*", html("200 OK"))], &|org| {
        play(
            "an HTML proxy page with 200",
            org,
            QUERY,
            CONNECT_FAILED,
            &["text/html", "proxy", "runner::sf::unexpected_response"],
        )
    });
    add(vec![("*", html("502 Bad Gateway"))], &|org| {
        play("an HTML proxy page with 502", org, QUERY, CONNECT_FAILED, &["HTTP 502", "text/html", "proxy"])
    });
    add(vec![(QUERY_PATH, json("200 OK", r#"{"totalSize": 3, "done": true, "records": [{"Id": "001"#))], &|org| {
        play("truncated JSON", org, QUERY, PLAYBOOK_FAILED, &["ends early", "runner::sf::invalid_json", "cut short"])
    });
    add(vec![(QUERY_PATH, json("200 OK", r#"{"rows": [1, 2, 3], "next": null}"#))], &|org| {
        play("mis-shaped JSON", org, QUERY, PLAYBOOK_FAILED, &["not a query result", "runner::sf::unexpected_shape"])
    });
    add(
        vec![(QUERY_PATH, response("200 OK", &[("content-type", "text/html")], vec![b'<'; 10 * 1024 * 1024]))],
        &|org| play("a 10 MB body", org, QUERY, PLAYBOOK_FAILED, &["text/html", "runner::sf::unexpected_response"]),
    );
    add(
        vec![(
            QUERY_PATH,
            Canned::Endless("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"),
        )],
        &|org| play("a body that never ends", org, QUERY, PLAYBOOK_FAILED, &["32 MiB", "runner::sf::body_too_large"]),
    );
    add(vec![(QUERY_PATH, response("302 Found", &[("location", &redirect_to)], ""))], &|org| {
        play("a redirect to plain http", org, QUERY, PLAYBOOK_FAILED, &["HTTP 302", "runner::sf::unexpected_response"])
    });
    add(vec![(QUERY_PATH, response("500 Internal Server Error", &[], ""))], &|org| {
        play("a 500 with no body", org, QUERY, PLAYBOOK_FAILED, &["HTTP 500", "no content type"])
    });
    add(
        vec![(
            QUERY_PATH,
            response(
                "200 OK",
                &[("content-type", "application/json")],
                [
                    &br#"{"totalSize": 1, "done": true, "records": [{"Name": ""#[..],
                    &[0xff, 0xfe, 0xc3],
                    &br#""}]}"#[..],
                ]
                .concat(),
            ),
        )],
        &|org| play("invalid UTF-8", org, QUERY, PLAYBOOK_FAILED, &["runner::sf::invalid_json", "unicode"]),
    );
    add(
        vec![
            (
                QUERY_PATH,
                json(
                    "200 OK",
                    r#"{"totalSize": 4000, "done": false, "nextRecordsUrl": "/services/data/v62.0/query/01gLOOP-2000", "records": []}"#,
                ),
            ),
            (
                "/services/data/v62.0/query/01gLOOP-2000",
                json(
                    "200 OK",
                    r#"{"totalSize": 4000, "done": false, "nextRecordsUrl": "/services/data/v62.0/query/01gLOOP-2000", "records": []}"#,
                ),
            ),
        ],
        &|org| {
            play(
                "a self-referencing nextRecordsUrl",
                org,
                QUERY,
                PLAYBOOK_FAILED,
                &["runner::sf::pagination_loop", "nextRecordsUrl"],
            )
        },
    );
    let garbage = [
        ("content-type", "application/json"),
        ("sforce-limit-info", "api-usage=lots/??, api-usage=99999999999999999999999/-1, =/=/("),
    ];
    add(
        vec![(
            QUERY_PATH,
            response(
                "200 OK",
                &garbage,
                r#"{"totalSize": 1, "done": true, "records": [{"Id": "001000000000001AAA"}]}"#,
            ),
        )],
        &|org| play("a garbage Sforce-Limit-Info", org, QUERY, &[0], &["rows: 1"]),
    );
    add(
        vec![(
            QUERY_PATH,
            response(
                "429 Too Many Requests",
                &[("content-type", "application/json"), ("retry-after", "1")],
                r#"{"message": "slow down"}"#,
            ),
        )],
        &|org| play("a 429", org, QUERY, PLAYBOOK_FAILED, &["rate limited", "runner::sf::rate_limited", "wait"]),
    );
    add(
        vec![(
            CREATE_PATH,
            response(
                "503 Service Unavailable",
                &[("content-type", "application/json"), ("retry-after", "30")],
                r#"[{"errorCode": "SERVER_UNAVAILABLE", "message": "Server temporarily unavailable."}]"#,
            ),
        )],
        &|org| {
            play(
                "a 503 with Retry-After",
                org,
                CREATE,
                PLAYBOOK_FAILED,
                &["temporarily unavailable", "temporary", "wait 30s"],
            )
        },
    );
    add(vec![(CREATE_PATH, response("204 No Content", &[], ""))], &|org| {
        play("a 204 where a save result belongs", org, CREATE, PLAYBOOK_FAILED, &["runner::sf::empty_body", "no body"])
    });
    add(vec![(CREATE_PATH, json("201 Created", r#"{"success": true, "errors": []}"#))], &|org| {
        play(
            "a create answered without an id",
            org,
            CREATE,
            PLAYBOOK_FAILED,
            &["runner::sf::missing_id", "no record id"],
        )
    });
    add(vec![("*", Canned::Silent)], &|org| {
        let mut case = play(
            "a server that never answers",
            org,
            QUERY,
            CONNECT_FAILED,
            &["no answer within 2s", "--request-timeout"],
        );
        case.args.extend(["--request-timeout".to_string(), "2s".to_string()]);
        case
    });
    add(vec![], &|org| {
        let org = org.replacen("http://", "https://", 1);
        play("TLS to a plain server", &org, QUERY, CONNECT_FAILED, &["does not speak TLS", "RUNNER_CA_CERT"])
    });
    add(vec![], &|org| {
        play(
            "RUNNER_CA_CERT is not PEM",
            org,
            QUERY,
            CONNECT_FAILED,
            &["RUNNER_CA_CERT", "ca.pem", "no `-----BEGIN CERTIFICATE-----`"],
        )
        .file("ca.pem", "this is not a certificate\n", 0o644)
        .env("RUNNER_CA_CERT", "{dir}/ca.pem")
    });
    add(vec![], &|org| {
        play(
            "RUNNER_CA_CERT holds a broken certificate",
            org,
            QUERY,
            CONNECT_FAILED,
            &["RUNNER_CA_CERT", "ca.pem", "not a valid X.509 certificate"],
        )
        .file("ca.pem", "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n", 0o644)
        .env("RUNNER_CA_CERT", "{dir}/ca.pem")
    });
    add(vec![], &|org| {
        play("RUNNER_CA_CERT is missing", org, QUERY, CONNECT_FAILED, &["RUNNER_CA_CERT", "missing.pem"])
            .env("RUNNER_CA_CERT", "{dir}/missing.pem")
    });

    let sim = tls_sim();
    cases.push(play(
        "an untrusted certificate",
        &sim.instance_url(),
        QUERY,
        CONNECT_FAILED,
        &["not signed by an authority runner trusts", "RUNNER_CA_CERT", "runner::sf::tls"],
    ));

    for case in &cases {
        assert!(case.name.len() > 3);
    }
    run_all(&cases);
    assert_eq!(sink.requests.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect was not followed");
    drop(servers);
    drop(sim);
}
