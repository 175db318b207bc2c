//! A fleet to test against (issue 11, part 6): `runner sim serve --orgs N --config-out C` serves N independent
//! simulated orgs and writes their runner.toml, which `--config C --org @sim` uses as it is. End to end with the
//! built binary on 127.0.0.1.

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

mod common;
use common::record_type_vars;

fn runner() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("runner"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `runner sim serve --orgs N --config-out CONFIG`, killed on drop.
struct Fleet {
    child: Child,
    config: PathBuf,
    /// Each org's line: name, instance URL, sync username.
    orgs: Vec<(String, String, String)>,
}

impl Fleet {
    fn start(n: u32, config: &Path) -> Fleet {
        let mut child = runner()
            .args(["sim", "serve", "--orgs", &n.to_string(), "--config-out"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut orgs = Vec::new();
        // One line per org, then `config: FILE` once every org accepts connections and FILE is written.
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            if line.starts_with("config: ") {
                break;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [name, url, username] = words[..]
                && name.starts_with("sim-")
            {
                orgs.push((name.to_string(), url.to_string(), username.to_string()));
            }
        }
        assert_eq!(orgs.len(), n as usize, "one line per org: {orgs:?}");
        Fleet { child, config: config.to_owned(), orgs }
    }

    fn secret_file(&self, org: &str) -> PathBuf {
        let name = self.config.file_name().expect("name").to_string_lossy().into_owned();
        self.config.with_file_name(format!("{name}.{org}.secret"))
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The usernames of the fleet's sync users in one org (the seed's own is not one), read over REST with a token of the org's own.
async fn sync_users(url: &str, secret: &str) -> Vec<String> {
    let client = reqwest::Client::new();
    let token: Value = client
        .post(format!("{url}/services/oauth2/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "runner-sim-client"), ("client_secret", secret)])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = token["access_token"].as_str().expect("an access token").to_string();
    let body: Value = client
        .get(format!("{url}/services/data/v62.0/query"))
        .query(&[("q", "SELECT Username FROM User WHERE Username LIKE '%@sim-%'")])
        .bearer_auth(token)
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    body["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["Username"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_three_gets_three_sync_users_and_audits_clean() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("C.toml");
    let fleet = Fleet::start(3, &config);

    // The secrets are private files beside C; C names them but holds none.
    let inventory = std::fs::read_to_string(&config).expect("C");
    for (name, _, username) in &fleet.orgs {
        let secret_file = fleet.secret_file(name);
        let mode = std::fs::metadata(&secret_file).expect("secret file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", secret_file.display());
        let secret = std::fs::read_to_string(&secret_file).expect("secret");
        assert!(!inventory.contains(secret.trim()), "C holds no secret:\n{inventory}");
        assert!(inventory.contains(&format!("[orgs.{name}]")) && inventory.contains(username), "{inventory}");
    }
    let usernames: std::collections::BTreeSet<_> = fleet.orgs.iter().map(|(_, _, u)| u.clone()).collect();
    assert_eq!(usernames.len(), 3, "a username of its own for each org: {usernames:?}");

    // The default scenario has objects with several record types: the same names in every org of the fleet.
    let defaults = record_type_vars("sim", &[], dir.path());
    std::fs::create_dir(dir.path().join("secrets")).expect("mkdir");
    std::fs::set_permissions(dir.path().join("secrets"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let out = runner()
        .current_dir(dir.path())
        .args(["play", "setup.rhai", "--config"])
        .arg(&config)
        .args(["--org", "@sim", "--var", "credentials_file=secrets/{org}.creds", "--journal", "/dev/null"])
        .args(&defaults)
        .output()
        .expect("setup runs");
    assert!(out.status.success(), "setup: exit {:?}\n{}", out.status.code(), text(&out));

    for (name, url, username) in &fleet.orgs {
        let secret = std::fs::read_to_string(fleet.secret_file(name)).expect("secret");
        assert_eq!(sync_users(url, secret.trim()).await, vec![username.clone()], "{name} has its own sync user only");
        assert!(dir.path().join(format!("secrets/{name}.creds")).is_file(), "{name} has its credentials file");
    }

    let out = runner()
        .current_dir(dir.path())
        .args(["play", "audit.rhai", "--config"])
        .arg(&config)
        .args(["--org", "@sim", "--json", "--journal", "/dev/null"])
        .args(&defaults)
        .output()
        .expect("audit runs");
    assert_eq!(out.status.code(), Some(0), "audit: {}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let orgs = report["result"]["orgs"].as_array().expect("orgs");
    let mut targets: Vec<&str> = orgs.iter().filter_map(|o| o["target"].as_str()).collect();
    targets.sort_unstable();
    assert_eq!(targets, ["sim-1", "sim-2", "sim-3"], "{report}");
    let ids: std::collections::BTreeSet<_> = orgs.iter().filter_map(|o| o["org_id"].as_str()).collect();
    assert_eq!(ids.len(), 3, "three orgs, three org ids: {ids:?}");

    // It serves until SIGTERM, then stops every org and exits 0.
    let mut fleet = fleet;
    let pid = fleet.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    assert_eq!(fleet.child.wait().expect("wait").code(), Some(0), "stops cleanly on SIGTERM");
}

#[test]
fn config_out_never_replaces_a_file_it_did_not_write() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("runner.toml");
    std::fs::write(&config, "[orgs.prod]\n").expect("write");
    let out = runner().args(["sim", "serve", "--orgs", "2", "--config-out"]).arg(&config).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("runner::sim::fleet_not_ours"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&config).expect("read"), "[orgs.prod]\n");
}

#[test]
fn a_fleet_refuses_a_fixed_port_and_ignores_a_sim_token_in_the_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("C.toml");
    let out = runner().args(["sim", "serve", "--orgs", "2", "--port", "4999", "--config-out"]).arg(&config).output();
    assert_eq!(out.expect("runs").status.code(), Some(2), "one port cannot serve two orgs");
    assert!(!config.exists());
    // RUNNER_SIM_TOKEN set for another sim does not stop a fleet, and no org takes it.
    let mut child = runner()
        .env("RUNNER_SIM_TOKEN", "00DSIM0000000001!AQ.one-token-for-all")
        .args(["sim", "serve", "--orgs", "2", "--config-out"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let stdout = child.stdout.take().expect("stdout");
    let ready = BufReader::new(stdout).lines().map_while(Result::ok).any(|line| line.starts_with("config: "));
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready, "the fleet started");
}
