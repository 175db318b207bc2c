//! What the binary tests share: `runner sim serve` in the background.

// Each test binary compiles this module and uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `runner sim serve --port 0 --token TOKEN EXTRA…`, killed on drop.
pub struct Served {
    child: Child,
    pub url: String,
    pub token: String,
}

impl Served {
    pub fn start(token: &str, extra: &[&str]) -> Served {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("runner"))
            .args(["sim", "serve", "--port", "0", "--token", token])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (mut url, mut printed_token) = (String::new(), String::new());
        // It prints its URL and token, then a `try:` line once it accepts connections.
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            if let Some(u) = line.strip_prefix("instance url: ") {
                url = u.to_string();
            }
            if let Some(t) = line.strip_prefix("token: ") {
                printed_token = t.to_string();
            }
            if line.starts_with("try: ") {
                break;
            }
        }
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "printed its URL: {url}"
        );
        Served { child, url, token: printed_token }
    }
}

impl Served {
    /// The process id of `runner sim serve`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `--var default_<Object>=…` arguments setup.rhai needs on `target`, found by the
/// built-in record_types.rhai: the tests cannot know the org's record type names.
pub fn record_type_vars(target: &str, envs: &[(&str, &str)], dir: &std::path::Path) -> Vec<String> {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("runner"));
    cmd.current_dir(dir).args(["play", "record_types.rhai", "--org", target, "--journal", "/dev/null"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("record_types.rhai runs");
    assert!(out.status.success(), "record_types.rhai: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let vars: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("--var "))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|pair| pair.starts_with("default_"))
        .flat_map(|pair| ["--var".to_string(), pair.to_string()])
        .collect();
    assert!(!vars.is_empty(), "the seed has objects with several record types: {stdout}");
    vars
}

/// The `Id` of the first row `soql` finds, asked over the org's REST API as an admin's tool would.
pub async fn first_id(url: &str, token: &str, soql: &str) -> String {
    let body = query(url, token, soql).await;
    body["records"][0]["Id"].as_str().unwrap_or_else(|| panic!("{soql}: {body}")).to_string()
}

/// `GET /query?q=SOQL` over the org's REST API: the answer as Salesforce gives it.
pub async fn query(url: &str, token: &str, soql: &str) -> serde_json::Value {
    reqwest::Client::new()
        .get(format!("{url}/services/data/v62.0/query"))
        .query(&[("q", soql)])
        .bearer_auth(token)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json")
}
