//! Issue 8's acceptance with the binary, against `runner sim serve`: a full setup, the
//! credentials it keeps, and StoreConnect's Console signing in with them; a setup that
//! cannot finish writes nothing.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::Served;

const TOKEN: &str = "signin-test-token-0123456789";
const USER: &str = "storeconnect.sync9@client.example";

fn runner(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
    cmd.current_dir(dir).env("NO_COLOR", "1").env("SF_ACCESS_TOKEN", TOKEN);
    cmd
}

fn setup(served: &Served, dir: &Path, journal: &str, defaults: &[String]) -> Output {
    runner(dir)
        .args(["play", "setup.rhai", "--org", &served.url, "--var", &format!("username={USER}")])
        .args(["--var", "email=ops@client.example", "--var", "credentials_file=sync.creds", "--journal", journal])
        .args(defaults)
        .output()
        .expect("runs")
}

async fn users(served: &Served) -> usize {
    let body: Value = reqwest::Client::new()
        .get(format!("{}/services/data/v62.0/query", served.url))
        .query(&[("q", format!("SELECT Id FROM User WHERE Username = '{USER}'"))])
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    body["records"].as_array().map(Vec::len).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_then_credentials_show_then_storeconnect_signs_in() {
    let served = Served::start(TOKEN, &[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let defaults = common::record_type_vars(&served.url, &[("SF_ACCESS_TOKEN", TOKEN)], dir.path());
    let out = setup(&served, dir.path(), "first.jsonl", &defaults);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // The StoreConnect Standard set grants View All Data: the unconfirmed MFA rule is said.
    assert!(stdout.contains("warning:") && stdout.contains("phishing-resistant"), "{stdout}");

    let shown =
        runner(dir.path()).args(["credentials", "show", "--file", "sync.creds", "--json"]).output().expect("runs");
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    let details: Value = serde_json::from_slice(&shown.stdout).expect("one JSON object");
    assert_eq!(details["username"], USER);
    // The password and the TOTP secret went inside Composite requests: the journal names
    // each write and holds neither.
    let journal = std::fs::read_to_string(dir.path().join("first.jsonl")).expect("the journal");
    let password = details["password"].as_str().expect("a password");
    assert!(!journal.contains(password), "the password is in the journal");
    assert!(journal.contains("/password") && journal.contains("\"SharedKey\":\"[REDACTED]\""), "{journal}");
    let body = serde_json::json!({
        "username": details["username"],
        "password": details["password"],
        "verification_code": details["totp_code"],
    });
    let answer = reqwest::Client::new()
        .post(format!("{}/_sim/storeconnect/change-sync-user", served.url))
        .json(&body)
        .send()
        .await
        .expect("the Console answers");
    let status = answer.status().as_u16();
    let text = answer.text().await.expect("a body");
    assert_eq!(status, 200, "{text}");

    let again = setup(&served, dir.path(), "second.jsonl", &defaults);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let journal = std::fs::read_to_string(dir.path().join("second.jsonl")).unwrap_or_default();
    assert!(journal.trim().is_empty(), "a second setup writes nothing: {journal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_without_the_record_type_defaults_leaves_no_user_and_says_what_to_pass() {
    let served = Served::start(TOKEN, &[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = setup(&served, dir.path(), "j.jsonl", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let defaults = common::record_type_vars(&served.url, &[("SF_ACCESS_TOKEN", TOKEN)], dir.path());
    for pair in defaults.iter().filter(|a| a.starts_with("default_")) {
        let object = pair.split('=').next().unwrap_or_default();
        assert!(text.contains(&format!("--var {object}=")), "names --var {object}: {text}");
    }
    assert_eq!(users(&served).await, 0, "no user is left behind");
    assert!(!dir.path().join("sync.creds").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_without_the_mfa_permission_writes_nothing_and_names_it() {
    let served = Served::start(TOKEN, &["--scenario", "no-mfa-permission"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let defaults = common::record_type_vars(&served.url, &[("SF_ACCESS_TOKEN", TOKEN)], dir.path());
    let out = setup(&served, dir.path(), "j.jsonl", &defaults);
    assert_ne!(out.status.code(), Some(0));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("Manage Multi-Factor Authentication in API"), "{text}");
    assert_eq!(users(&served).await, 0, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_defaults_works_on_a_translated_profile_name() {
    let served = Served::start(TOKEN, &["--scenario", "localized"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let defaults = common::record_type_vars(&served.url, &[("SF_ACCESS_TOKEN", TOKEN)], dir.path());
    let out = setup(&served, dir.path(), "j.jsonl", &defaults);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("changed") && l.contains("set_defaults")), "{stdout}");
}
