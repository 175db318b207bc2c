//! Secrets end to end (issue 9): secret-named fields never show in the human output,
//! `--json`, `--check` or the journal; the `sf` child gets an allow-listed
//! environment; core dumps are off; the sim takes its secrets outside argv; a write
//! that cannot be journaled is not sent.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::Served;

const TOKEN: &str = "00Dsecrets0000001!AQsecretsE2EtokenNEVERSHOWN";
const API_SECRET: &str = "store-api-secret-NEVERSHOWN-1";
const PASSWORD: &str = "StorePassword-NEVERSHOWN-2";
const NEW_SECRET: &str = "store-api-secret-NEVERSHOWN-3";

fn runner() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("runner"));
    cmd.env("NO_COLOR", "1").env_remove("SF_ACCESS_TOKEN").stdin(Stdio::null());
    cmd
}

fn text(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [TOKEN, API_SECRET, PASSWORD, NEW_SECRET, "NEVERSHOWN"] {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
}

const PLAYBOOK: &str = r#"
let id = sf::create("s_c__Store__c", #{ Name: "Secret Store", s_c__Domain__c: "shop.example", s_c__Api_Secret__c: vars.api_secret, s_c__Password__c: vars.password });
sf::update("s_c__Store__c", id, #{ s_c__Api_Secret__c: vars.new_secret, s_c__Domain__c: "shop2.example" });
print(`the secret was ${vars.api_secret}`);
"#;

fn play(dir: &Path, served: &Served, extra: &[&str]) -> Output {
    runner()
        .current_dir(dir)
        .env("SF_ACCESS_TOKEN", &served.token)
        .args(["play", "p.rhai", "--org", &served.url, "--journal"])
        .arg(dir.join("journal.jsonl"))
        .args(["--var", &format!("api_secret={API_SECRET}"), "--var", &format!("password={PASSWORD}")])
        .args(["--var", &format!("new_secret={NEW_SECRET}")])
        .args(extra)
        .output()
        .expect("runner runs")
}

#[test]
fn secret_fields_show_nowhere_in_output_json_check_or_journal() {
    let served = Served::start(TOKEN, &[]);
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("p.rhai"), PLAYBOOK).expect("playbook");
    for extra in [&[][..], &["--json"], &["--check"], &["--check", "--json"]] {
        let out = play(dir.path(), &served, extra);
        let shown = text(&out);
        assert!(out.status.success(), "{extra:?}: exit {:?}\n{shown}", out.status.code());
        assert_no_secret(&format!("runner play {extra:?}"), &shown);
        assert!(shown.contains("[REDACTED]"), "{extra:?}: the fields are there, redacted:\n{shown}");
        assert!(shown.contains("shop.example"), "{extra:?}: ordinary fields still show:\n{shown}");
    }
    let journal = std::fs::read_to_string(dir.path().join("journal.jsonl")).expect("journal");
    assert!(journal.contains("s_c__Api_Secret__c"), "{journal}");
    assert_no_secret("the journal", &journal);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("journal.jsonl")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the journal is private");
    }
}

async fn accounts(served: &Served, name: &str) -> usize {
    let url = format!("{}/services/data/v62.0/query", served.url);
    let soql = format!("SELECT Id FROM Account WHERE Name = '{name}'");
    let body: serde_json::Value = reqwest::Client::new()
        .get(url)
        .query(&[("q", soql)])
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    body["totalSize"].as_u64().unwrap_or(0) as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_cannot_be_journaled_is_not_sent() {
    let served = Served::start(TOKEN, &[]);
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("p.rhai"), "sf::create(\"Account\", #{ Name: \"Unjournaled\" });\n").expect("write");
    let out = runner()
        .current_dir(dir.path())
        .env("SF_ACCESS_TOKEN", &served.token)
        .args(["play", "p.rhai", "--org", &served.url, "--journal", "/dev/full"])
        .output()
        .expect("runner runs");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("cannot write the journal") && shown.contains("not sent"), "{shown}");
    assert_eq!(accounts(&served, "Unjournaled").await, 0, "the write was not sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_removed_mid_run_stops_the_run_before_its_next_write() {
    // Every request takes 400 ms: time to remove the journal between the writes.
    let served = Served::start(TOKEN, &["--latency-ms", "400"]);
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("p.rhai"),
        "sf::create(\"Account\", #{ Name: \"First Write\" });\nsf::query(\"SELECT Id FROM User LIMIT 1\");\nsf::create(\"Account\", #{ Name: \"Second Write\" });\n",
    )
    .expect("write");
    let journal_dir = dir.path().join("journals");
    let journal = journal_dir.join("j.jsonl");
    let child = runner()
        .current_dir(dir.path())
        .env("SF_ACCESS_TOKEN", &served.token)
        .args(["play", "p.rhai", "--org", &served.url, "--journal"])
        .arg(&journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runner starts");
    let started = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&journal).unwrap_or_default();
        if lines.lines().any(|l| l.contains("\"status\":\"ok\"")) {
            std::fs::remove_dir_all(&journal_dir).expect("remove the journal's folder");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the first write was never journaled");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("runner ends");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("removed or replaced"), "{shown}");
    assert_eq!(accounts(&served, "First Write").await, 1);
    assert_eq!(accounts(&served, "Second Write").await, 0, "the unjournaled write was not sent");
}

#[cfg(target_os = "linux")]
#[test]
fn core_dumps_are_off() {
    let served = Served::start(TOKEN, &[]);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", served.pid())).expect("limits");
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).expect("a core limit");
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}

/// Starts `runner sim serve` with `cmd`'s settings and returns the token it prints.
fn sim_token(mut cmd: Command) -> String {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("sim serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut token = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some(t) = line.strip_prefix("token: ") {
            token = t.to_string();
        }
        if line.starts_with("try: ") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    token
}

#[test]
fn the_sim_takes_its_secrets_from_the_environment_or_a_private_file() {
    let mut cmd = runner();
    cmd.args(["sim", "serve", "--port", "0"]).env("RUNNER_SIM_TOKEN", "token-from-the-environment");
    assert_eq!(sim_token(cmd), "token-from-the-environment");

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("token");
    std::fs::write(&file, "token-from-a-file\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let mut cmd = runner();
    cmd.args(["sim", "serve", "--port", "0", "--token-file"]).arg(&file);
    assert_eq!(sim_token(cmd), "token-from-a-file");

    let help = runner()
        .args(["sim", "serve", "--help"])
        .env("RUNNER_SIM_TOKEN", "token-from-the-environment")
        .env("RUNNER_SIM_CLIENT_SECRET", "secret-from-the-environment")
        .output()
        .expect("help");
    let help = text(&help);
    assert!(help.contains("RUNNER_SIM_TOKEN") && help.contains("--token-file"), "{help}");
    assert!(!help.contains("token-from-the-environment") && !help.contains("secret-from-the-environment"), "{help}");
}

#[cfg(unix)]
#[test]
fn the_sf_child_gets_only_the_allowed_environment() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let env_log = dir.path().join("env.log");
    let script = format!(
        "#!/bin/sh\nenv >> '{}'\necho '{{\"status\":1,\"name\":\"NamedOrgNotFoundError\",\"message\":\"No authorization information found for my-alias.\"}}'\nexit 1\n",
        env_log.display()
    );
    std::fs::write(bin.join("sf"), script).expect("sf");
    std::fs::set_permissions(bin.join("sf"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = runner()
        .current_dir(dir.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", dir.path())
        .env("SF_ACCESS_TOKEN", TOKEN)
        .env("ACME_CLIENT_SECRET", API_SECRET)
        .env("SF_LOG_LEVEL", "warn")
        .env("HTTPS_PROXY", "http://proxy.example:3128")
        .args(["play", "examples/hello.rhai", "--org", "my-alias", "--journal", "/dev/null"])
        .output()
        .expect("runner runs");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let env = std::fs::read_to_string(&env_log).expect("the fake sf ran");
    assert!(!env.contains(TOKEN) && !env.contains(API_SECRET), "{env}");
    assert!(!env.contains("SF_ACCESS_TOKEN") && !env.contains("ACME_CLIENT_SECRET"), "{env}");
    for kept in ["PATH=", "HOME=", "SF_LOG_LEVEL=warn", "HTTPS_PROXY=", "SF_DISABLE_TELEMETRY=true"] {
        assert!(env.lines().any(|l| l.starts_with(kept)), "{kept} is passed on: {env}");
    }
}
