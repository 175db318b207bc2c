//! `--org` targets that need resolving, end to end with the built binary: `sf` CLI
//! aliases (through a fake `sf` on PATH) and named orgs from runner.toml (client
//! credentials, refresh token, JWT bearer), each against a `runner sim serve` on
//! 127.0.0.1. Nothing here talks to anything but loopback.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};

mod common;
use common::Served;

/// The token the simulated orgs accept; must never reach runner's output.
const TOKEN: &str = "00DSIM0000000001!AQ.sf-cli-token-for-runner-tests";
const CLIENT_ID: &str = "runner-test-connected-app";
const CLIENT_SECRET: &str = "client-secret-for-runner-tests-Zq9";
const REFRESH_TOKEN: &str = "5Aep-refresh-token-for-runner-tests";
const ACCOUNT: &str = "Hello from runner";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn serve(extra: &[&str]) -> Served {
    Served::start(TOKEN, extra)
}

/// How many Accounts named [`ACCOUNT`] the org has, asked over REST.
async fn accounts(served: &Served) -> u64 {
    let response = reqwest::Client::new()
        .get(format!("{}/services/data/v62.0/query", served.url))
        .query(&[("q", format!("SELECT Id FROM Account WHERE Name = '{ACCOUNT}'"))])
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the simulated org answers");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    body["totalSize"].as_u64().expect("totalSize")
}

/// A working directory with its own config home, so that no real runner.toml or sf
/// CLI of the machine takes part.
struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new() -> Workdir {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "config", "bin", "empty-bin"] {
            std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        Workdir { dir }
    }

    /// Canonical, so that paths in messages compare equal.
    fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical")
    }

    /// Writes `relative`; the working directory's `runner.toml` is then trusted with `runner trust`, as a user
    /// would before using it (tests/trust.rs is about an untrusted one).
    fn write(&self, relative: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        if relative == "runner.toml" {
            self.runner().args(["trust", "runner.toml"]).assert().success();
        }
        path
    }

    /// The state folder (XDG_STATE_HOME), where `runner trust` keeps its list.
    fn state(&self) -> String {
        self.path().join("state").to_string_lossy().into_owned()
    }

    /// `runner` in this directory, with its own home, config and state folders.
    fn runner(&self) -> Command {
        let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
        cmd.current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_STATE_HOME", self.path().join("state"));
        cmd
    }

    /// `runner play examples/hello.rhai --org ORG` from this directory, with `bin/` (the
    /// fake sf) first on PATH.
    fn play(&self, org: &str, envs: &[(&str, &str)]) -> Output {
        self.play_with_path(org, envs, &format!("{}:/usr/bin:/bin", self.path().join("bin").display()))
    }

    fn play_with_path(&self, org: &str, envs: &[(&str, &str)], path: &str) -> Output {
        let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
        cmd.current_dir(self.path())
            .env_remove("SF_ACCESS_TOKEN")
            .env("NO_COLOR", "1")
            .env("HOME", self.path().join("home"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("PATH", path)
            .envs(envs.iter().copied())
            .args(["play", "examples/hello.rhai", "--org", org, "--journal"])
            .arg(self.path().join("journal.jsonl"));
        cmd.output().expect("runner runs")
    }

    fn journal(&self) -> String {
        std::fs::read_to_string(self.path().join("journal.jsonl")).unwrap_or_default()
    }

    /// The fake sf's log: one line per call, `ARGS|ENV VALUES`.
    fn sf_log(&self) -> String {
        std::fs::read_to_string(self.path().join("sf.log")).unwrap_or_default()
    }

    /// Writes `bin/sf`: it knows the alias `my-alias` only. `display` is the
    /// `result.accessToken` of `org display` (None: no such field); `show` is what
    /// `org auth show-access-token` does.
    fn fake_sf(&self, served: &Served, display_token: Option<&str>, show: Show) {
        let mut display = json!({
            "id": "00DSIM0000000001",
            "apiVersion": "62.0",
            "instanceUrl": served.url,
            "username": "admin@storeconnect-demo.example",
            "clientId": "PlatformCLI",
            "connectedStatus": "Connected",
            "alias": "my-alias",
        });
        if let Some(token) = display_token {
            display["accessToken"] = json!(token);
        }
        let envelope = |result: Value| json!({"status": 0, "result": result, "warnings": []}).to_string();
        self.write("sf-out/display.json", &envelope(display), 0o644);
        let show_script = match show {
            Show::Token(token) => {
                self.write("sf-out/show.json", &envelope(json!({"accessToken": token})), 0o644);
                "cat \"$OUT/show.json\"".to_string()
            }
            Show::UnknownCommand => {
                "echo 'Error (2): Command org:auth:show-access-token not found.' >&2; exit 127".to_string()
            }
            Show::Fails => {
                let error = json!({"status": 1, "name": "RefreshTokenAuthError", "message": "Error authenticating with the refresh token due to: expired access/refresh token", "exitCode": 1});
                self.write("sf-out/show-error.json", &error.to_string(), 0o644);
                "cat \"$OUT/show-error.json\"; exit 1".to_string()
            }
        };
        let script = format!(
            r#"#!/bin/sh
OUT='{out}'
echo "$*|$SF_DISABLE_TELEMETRY $SF_SKIP_NEW_VERSION_CHECK $SF_AUTOUPDATE_DISABLE $SF_DISABLE_AUTOUPDATE" >> '{log}'
case "$1 $2" in
  "org display") alias="$4" ;;
  "org auth") alias="$5" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
if [ "$alias" != "my-alias" ]; then
  echo '{{"status":1,"name":"NamedOrgNotFoundError","message":"No authorization information found for '"$alias"'.","exitCode":1,"warnings":[]}}'
  exit 1
fi
case "$1 $2" in
  "org display") cat "$OUT/display.json" ;;
  "org auth") {show_script} ;;
esac
"#,
            out = self.path().join("sf-out").display(),
            log = self.path().join("sf.log").display(),
        );
        self.write("bin/sf", &script, 0o755);
    }
}

enum Show<'a> {
    /// Prints this token.
    Token(&'a str),
    /// An sf CLI from before the command existed.
    UnknownCommand,
    /// Exits 1 with an sf JSON error.
    Fails,
}

/// stderr with miette's line wrapping and box drawing undone, so that phrases match.
fn stderr(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    text.split_whitespace().filter(|word| !matches!(*word, "│" | "×" | "help:")).collect::<Vec<_>>().join(" ")
}

/// The run succeeded, and neither its output nor its journal holds the token.
fn assert_ran_without_leaking(work: &Workdir, out: &Output, secrets: &[&str]) {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
    let everything = format!("{}{}{}", String::from_utf8_lossy(&out.stdout), stderr(out), work.journal());
    for secret in secrets.iter().chain([&TOKEN]) {
        assert!(!everything.contains(secret), "a secret leaked into the output or journal");
    }
}

// ----- sf CLI aliases -----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sf_alias_resolves_through_the_sf_cli_and_the_playbook_runs_there() {
    let served = serve(&[]);
    let work = Workdir::new();
    work.fake_sf(&served, Some(TOKEN), Show::Token(TOKEN));
    let out = work.play("my-alias", &[]);
    assert_ran_without_leaking(&work, &out, &[]);
    assert_eq!(accounts(&served).await, 1, "the play created the account in the org behind the alias");
    let log = work.sf_log();
    assert!(log.contains("org display --target-org my-alias --json|"), "{log}");
    assert!(log.contains("org auth show-access-token --target-org my-alias --json|"), "{log}");
    for line in log.lines() {
        assert!(line.ends_with("|true true true true"), "sf runs without telemetry or update checks: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redacted_display_token_is_replaced_by_show_access_token() {
    let served = serve(&[]);
    let work = Workdir::new();
    work.fake_sf(&served, Some("[REDACTED] Use 'sf org auth show-access-token' to view"), Show::Token(TOKEN));
    let out = work.play("my-alias", &[]);
    assert_ran_without_leaking(&work, &out, &[]);
    assert_eq!(accounts(&served).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_sf_without_show_access_token_falls_back_to_the_display_token() {
    let served = serve(&[]);
    let work = Workdir::new();
    work.fake_sf(&served, Some(TOKEN), Show::UnknownCommand);
    let out = work.play("my-alias", &[]);
    assert_ran_without_leaking(&work, &out, &[]);
    assert_eq!(accounts(&served).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redacted_token_is_never_used_as_a_token() {
    let served = serve(&[]);
    let work = Workdir::new();
    work.fake_sf(&served, Some("[REDACTED] Use 'sf org auth show-access-token' to view"), Show::Fails);
    let out = work.play("my-alias", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::target::sf_no_token"), "{err}");
    assert!(err.contains("expired access/refresh token"), "sf's reason is shown: {err}");
    assert_eq!(accounts(&served).await, 0);
}

#[test]
fn an_unknown_alias_is_a_clear_error_that_exits_4() {
    let served = serve(&[]);
    let work = Workdir::new();
    work.fake_sf(&served, Some(TOKEN), Show::Token(TOKEN));
    let out = work.play("unknownalias", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::target::unknown_org"), "{err}");
    assert!(err.contains("No authorization information found for unknownalias"), "sf's message: {err}");
    assert!(err.contains("sf org login web --alias unknownalias"), "the help says how to log in: {err}");
    assert!(err.contains("runner.toml"), "{err}");
}

#[test]
fn no_sf_on_path_is_a_clear_error_that_exits_4() {
    let work = Workdir::new();
    let empty = work.path().join("empty-bin");
    let out = work.play_with_path("my-alias", &[], empty.to_str().expect("utf-8 path"));
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::target::sf_not_found"), "{err}");
    assert!(err.contains("not on PATH"), "{err}");
    assert!(err.contains("@salesforce/cli"), "the help says how to install it: {err}");
}

// ----- named orgs from runner.toml -----

fn client_credentials_toml(url: &str, secret_key: &str) -> String {
    format!(
        "[orgs.acme]\ninstance_url = \"{url}\"\nauth = \"client_credentials\"\nclient_id = \"{CLIENT_ID}\"\n{secret_key}\n"
    )
}

/// A simulated org that accepts the test app's client credentials and JWTs signed by the test key.
fn jwt_sim() -> Served {
    let cert = fixture("jwt-test-cert.pem");
    serve(&[
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--jwt-cert",
        cert.to_str().expect("utf-8 path"),
    ])
}

fn oauth_sim() -> Served {
    serve(&["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_with_the_secret_from_the_environment() {
    let served = oauth_sim();
    let work = Workdir::new();
    work.write(
        "runner.toml",
        &client_credentials_toml(&served.url, "client_secret_env = \"ACME_CLIENT_SECRET\""),
        0o644,
    );
    let out = work.play("acme", &[("ACME_CLIENT_SECRET", CLIENT_SECRET)]);
    assert_ran_without_leaking(&work, &out, &[CLIENT_SECRET]);
    assert_eq!(accounts(&served).await, 1);

    // A wrong secret is the token endpoint's refusal, and exits 4.
    let out = work.play("acme", &[("ACME_CLIENT_SECRET", "wrong")]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid_client"), "{}", stderr(&out));
    // An unset variable is named.
    let out = work.play("acme", &[]);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("ACME_CLIENT_SECRET"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_file_others_can_read_is_refused_with_the_chmod_to_run() {
    let served = oauth_sim();
    let work = Workdir::new();
    work.write(
        "runner.toml",
        &client_credentials_toml(&served.url, "client_secret_file = \"secrets/acme.secret\""),
        0o644,
    );
    let secret = work.write("secrets/acme.secret", &format!("{CLIENT_SECRET}\n"), 0o644);
    let out = work.play("acme", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::config::secret_file_mode"), "{err}");
    assert!(err.contains(&format!("chmod 600 {}", secret.display())), "{err}");
    assert!(!err.contains(CLIENT_SECRET));
    assert_eq!(accounts(&served).await, 0);

    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = work.play("acme", &[]);
    assert_ran_without_leaking(&work, &out, &[CLIENT_SECRET]);
    assert_eq!(accounts(&served).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_from_a_private_file() {
    let served = serve(&["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--refresh-token", REFRESH_TOKEN]);
    let work = Workdir::new();
    let toml = format!(
        "[orgs.acme-refresh]\ninstance_url = \"{}\"\nauth = \"refresh_token\"\nclient_id = \"{CLIENT_ID}\"\nrefresh_token_file = \"secrets/refresh\"\nclient_secret_env = \"ACME_CLIENT_SECRET\"\n",
        served.url
    );
    work.write("runner.toml", &toml, 0o644);
    work.write("secrets/refresh", REFRESH_TOKEN, 0o600);
    let out = work.play("acme-refresh", &[("ACME_CLIENT_SECRET", CLIENT_SECRET)]);
    assert_ran_without_leaking(&work, &out, &[CLIENT_SECRET, REFRESH_TOKEN]);
    assert_eq!(accounts(&served).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_bearer_with_a_private_key_file() {
    let served = jwt_sim();
    let work = Workdir::new();
    let toml = format!(
        "[orgs.acme-jwt]\ninstance_url = \"{url}\"\nauth = \"jwt\"\nclient_id = \"{CLIENT_ID}\"\nusername = \"{user}\"\nprivate_key_file = \"keys/acme.key\"\nlogin_url = \"{url}\"\n",
        url = served.url,
        user = runner_sim::ADMIN_USERNAME,
    );
    work.write("runner.toml", &toml, 0o644);
    let key_text = std::fs::read_to_string(fixture("jwt-test-key.pem")).expect("fixture key");
    let key = work.write("keys/acme.key", &key_text, 0o640);
    let out = work.play("acme-jwt", &[]);
    assert_eq!(out.status.code(), Some(4), "a group-readable key is refused: {}", stderr(&out));
    assert!(stderr(&out).contains(&format!("chmod 600 {}", key.display())), "{}", stderr(&out));

    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = work.play("acme-jwt", &[]);
    assert_ran_without_leaking(&work, &out, &[]);
    assert_eq!(accounts(&served).await, 1);
}

/// A `[orgs.NAME]` JWT table logging in at the simulated org itself (a production-style
/// login URL), with `extra` lines, and the fixture key in place.
fn jwt_org(work: &Workdir, name: &str, served: &Served, extra: &str) {
    let toml = format!(
        "[orgs.{name}]\ninstance_url = \"{url}\"\nauth = \"jwt\"\nclient_id = \"{CLIENT_ID}\"\nusername = \"{user}\"\nprivate_key_file = \"keys/acme.key\"\nlogin_url = \"{url}\"\n{extra}",
        url = served.url,
        user = runner_sim::ADMIN_USERNAME,
    );
    work.write("runner.toml", &toml, 0o644);
    let key_text = std::fs::read_to_string(fixture("jwt-test-key.pem")).expect("fixture key");
    work.write("keys/acme.key", &key_text, 0o600);
}

fn sandbox_jwt_sim() -> Served {
    let cert = fixture("jwt-test-cert.pem");
    serve(&[
        "--scenario",
        "scratch",
        "--client-id",
        CLIENT_ID,
        "--client-secret",
        CLIENT_SECRET,
        "--jwt-cert",
        cert.to_str().expect("utf-8 path"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_falls_back_from_the_login_audience_to_test_once_against_a_sandbox() {
    // The login URL is not a sandbox's, so runner signs login.salesforce.com first; the
    // sandbox refuses it and takes test.salesforce.com.
    let served = sandbox_jwt_sim();
    let work = Workdir::new();
    jwt_org(&work, "acme-uat", &served, "");
    let out = work.play("acme-uat", &[]);
    assert_ran_without_leaking(&work, &out, &[]);
    assert_eq!(accounts(&served).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audience_in_runner_toml_is_sent_as_is_and_never_swapped() {
    let sandbox = sandbox_jwt_sim();
    let work = Workdir::new();
    jwt_org(&work, "acme-uat", &sandbox, "audience = \"https://test.salesforce.com\"\n");
    let out = work.play("acme-uat", &[]);
    assert_ran_without_leaking(&work, &out, &[]);
    assert_eq!(accounts(&sandbox).await, 1);

    // A production org takes login.salesforce.com (the default would have worked), so
    // the refusal shows that the configured audience was sent, and only it.
    let production = jwt_sim();
    jwt_org(&work, "acme", &production, "audience = \"https://test.salesforce.com/\"\n");
    let out = work.play("acme", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::sf::oauth"), "{err}");
    assert!(
        err.contains("audience is invalid (aud https://test.salesforce.com, the `audience` set in runner.toml)"),
        "names the audience it sent: {err}"
    );
    assert!(!err.contains("then https://"), "no second audience was tried: {err}");
    assert_eq!(accounts(&production).await, 0);
}

/// Uses up the sim's token: after `calls` REST calls it is still listed, and expires on the next one.
async fn use_up(served: &Served, calls: u64) {
    for _ in 0..calls {
        let status = reqwest::Client::new()
            .get(format!("{}/services/data/v62.0/limits", served.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("answers")
            .status();
        assert_eq!(status.as_u16(), 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expiring_on_userinfo_is_refreshed_once_with_client_credentials() {
    let served = serve(&["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--expire-token-after", "5"]);
    // The token grant hands out the same token while it is valid: the run's first
    // authenticated call, userinfo, is the one it expires on, and answers 403.
    use_up(&served, 5).await;
    let work = Workdir::new();
    work.write(
        "runner.toml",
        &client_credentials_toml(&served.url, "client_secret_env = \"ACME_CLIENT_SECRET\""),
        0o644,
    );
    let out = work.play("acme", &[("ACME_CLIENT_SECRET", CLIENT_SECRET)]);
    assert_ran_without_leaking(&work, &out, &[CLIENT_SECRET]);
    assert_eq!(accounts_with_fresh_token(&served).await, 1);
}

/// Like [`accounts`], with a token of its own: the configured one has expired, and the
/// one the grant hands out may be on its last call.
async fn accounts_with_fresh_token(served: &Served) -> u64 {
    let client = reqwest::Client::new();
    for _ in 0..2 {
        let grant: Value = client
            .post(format!("{}/services/oauth2/token", served.url))
            .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)])
            .send()
            .await
            .expect("answers")
            .json()
            .await
            .expect("json");
        let token = grant["access_token"].as_str().expect("a token");
        let response = client
            .get(format!("{}/services/data/v62.0/query", served.url))
            .query(&[("q", format!("SELECT Id FROM Account WHERE Name = '{ACCOUNT}'"))])
            .bearer_auth(token)
            .send()
            .await
            .expect("answers");
        if response.status().as_u16() == 401 {
            continue;
        }
        let body: Value = response.json().await.expect("json");
        return body["totalSize"].as_u64().expect("totalSize");
    }
    panic!("no token worked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bare_token_expiring_on_userinfo_is_named_an_expired_session() {
    let served = serve(&["--expire-token-after", "2"]);
    use_up(&served, 2).await;
    let work = Workdir::new();
    let out = work.play(&served.url, &[("SF_ACCESS_TOKEN", TOKEN)]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::sf::session_invalid"), "{err}");
    assert!(err.contains("session is invalid or has expired (GET /services/oauth2/"), "{err}");
    assert!(err.contains("userinfo)"), "{err}");
    assert!(err.contains("sf org login web"), "the hint says how to get a fresh token: {err}");
    assert!(!err.contains("HTTP 403") && !err.contains(TOKEN), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_config_runner_toml_is_read_and_a_named_org_wins_over_an_sf_alias() {
    let served = oauth_sim();
    let work = Workdir::new();
    // A fake sf that would answer for `my-alias`, with a token the org refuses.
    work.fake_sf(&served, Some("00Dwrong!token"), Show::Token("00Dwrong!token"));
    let toml =
        client_credentials_toml(&served.url, "client_secret_env = \"ACME_CLIENT_SECRET\"").replace("acme", "my-alias");
    let user_toml = work.write("config/runner/runner.toml", &toml, 0o644);
    // The sf CLI's own alias file knows `my-alias` too: the named org still wins, with a warning.
    work.write("home/.sfdx/alias.json", r#"{"orgs": {"my-alias": "admin@storeconnect-demo.example"}}"#, 0o600);
    let out = work.play("my-alias", &[("ACME_CLIENT_SECRET", CLIENT_SECRET)]);
    assert_ran_without_leaking(&work, &out, &[CLIENT_SECRET]);
    assert_eq!(accounts(&served).await, 1);
    assert_eq!(work.sf_log(), "", "the sf CLI was not asked");
    let warning = format!(
        "warning: [orgs.my-alias] in {} shadows the sf CLI alias `my-alias`: runner connects to the named org",
        user_toml.display()
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&warning), "{}", stderr(&out));
}

#[test]
fn unknown_keys_in_runner_toml_name_the_key_and_the_file() {
    let work = Workdir::new();
    let file = work.write(
        "runner.toml",
        "[orgs.acme]\ninstance_url = \"https://acme.example.invalid\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nclient_secret_envv = \"X\"\n",
        0o644,
    );
    let out = work.play("acme", &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("client_secret_envv"), "names the key: {err}");
    assert!(err.contains(&file.display().to_string()), "names the file: {err}");
    assert!(err.contains("runner::config::parse"), "{err}");
}

#[test]
fn plain_http_urls_in_runner_toml_are_refused_before_any_request() {
    let work = Workdir::new();
    work.write(
        "runner.toml",
        "[orgs.remote]\ninstance_url = \"http://acme.example.invalid\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nclient_secret_env = \"X\"\n\n\
         [orgs.remote-login]\ninstance_url = \"https://acme.example.invalid\"\nauth = \"jwt\"\nclient_id = \"x\"\nusername = \"u@acme.example\"\nprivate_key_file = \"k\"\nlogin_url = \"http://login.example.invalid\"\n",
        0o644,
    );
    for org in ["remote", "remote-login"] {
        let out = work.play(org, &[("X", "secret")]);
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("runner::sf::insecure_url") && err.contains("https"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_refresh_an_expired_token_and_the_setup_completes() {
    let served = serve(&["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--expire-token-after", "5"]);
    let work = Workdir::new();
    work.write(
        "runner.toml",
        &client_credentials_toml(&served.url, "client_secret_env = \"ACME_CLIENT_SECRET\""),
        0o644,
    );
    let state = work.state();
    let out = work
        .runner()
        .env("NO_COLOR", "1")
        .env("ACME_CLIENT_SECRET", CLIENT_SECRET)
        .args(["play", "setup.rhai", "--org", "acme", "--var", "username=cc.sync@client.example"])
        .args([
            "--var",
            "email=ops@client.example",
            "--var",
            "credentials_file=sync.creds",
            "--journal",
            "journal.jsonl",
        ])
        .args(common::record_type_vars(
            "acme",
            &[("ACME_CLIENT_SECRET", CLIENT_SECRET), ("XDG_STATE_HOME", &state)],
            &work.path(),
        ))
        .output()
        .expect("runs");
    // The setup makes far more than 5 calls: it only completes by getting new tokens.
    assert_ran_without_leaking(&work, &out, &[CLIENT_SECRET]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().any(|l| l.starts_with("changed") && l.contains("set_defaults")), "{stdout}");
}

/// A `runner play` invocation: arguments and environment.
type Run<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>);

/// Distinctive pieces of a PEM key's body: any of them in an output means the key leaked.
fn key_fragments(pem: &str) -> Vec<String> {
    pem.lines().filter(|l| !l.starts_with("-----") && l.len() >= 40).map(|l| l[..40].to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_any_output_journal_or_json_on_success_or_failure() {
    let served = jwt_sim();
    let work = Workdir::new();
    let key_text = std::fs::read_to_string(fixture("jwt-test-key.pem")).expect("fixture key");
    work.write("keys/acme.key", &key_text, 0o600);
    let toml = format!(
        "[orgs.cc]\ninstance_url = \"{url}\"\nauth = \"client_credentials\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"CC_SECRET\"\n\n\
         [orgs.jwt]\ninstance_url = \"{url}\"\nauth = \"jwt\"\nclient_id = \"{CLIENT_ID}\"\nusername = \"{user}\"\nprivate_key_file = \"keys/acme.key\"\nlogin_url = \"{url}\"\n\n\
         [orgs.jwt-wrong-app]\ninstance_url = \"{url}\"\nauth = \"jwt\"\nclient_id = \"not-the-app\"\nusername = \"{user}\"\nprivate_key_file = \"keys/acme.key\"\nlogin_url = \"{url}\"\n",
        url = served.url,
        user = runner_sim::ADMIN_USERNAME,
    );
    work.write("runner.toml", &toml, 0o644);
    let failing = work.write("fail.rhai", "sf::query(\"SELECT Nope FROM Account\");\n", 0o644);
    let failing = failing.to_string_lossy().to_string();
    let state = work.state();
    let defaults =
        common::record_type_vars("cc", &[("CC_SECRET", CLIENT_SECRET), ("XDG_STATE_HOME", &state)], &work.path());
    let mut setup =
        vec!["setup.rhai", "--var", "username=scan.sync@client.example", "--var", "email=ops@client.example"];
    setup.extend(defaults.iter().map(String::as_str));
    let runs: Vec<Run> = vec![
        // Successes: client credentials, JWT, a token by URL; human and JSON output.
        (
            [&setup[..], &["--org", "cc", "--var", "credentials_file=sync.creds"]].concat(),
            vec![("CC_SECRET", CLIENT_SECRET)],
        ),
        (vec!["audit.rhai", "--org", "jwt", "--json", "--var", "username=scan.sync@client.example"], vec![]),
        (vec!["examples/hello.rhai", "--org", &served.url, "--json"], vec![("SF_ACCESS_TOKEN", TOKEN)]),
        // Failures: a wrong client secret, an app the org does not know, a Salesforce error, a revoked token.
        (vec!["examples/hello.rhai", "--org", "cc"], vec![("CC_SECRET", "not-the-secret")]),
        (vec!["examples/hello.rhai", "--org", "jwt-wrong-app", "--json"], vec![]),
        (vec![&failing, "--org", &served.url], vec![("SF_ACCESS_TOKEN", TOKEN)]),
        (vec![&failing, "--org", &served.url, "--json"], vec![("SF_ACCESS_TOKEN", "00Dwrong!token-never-valid")]),
    ];
    let mut everything = String::new();
    for (args, envs) in runs {
        let mut cmd = work.runner();
        cmd.env("NO_COLOR", "1").env_remove("SF_ACCESS_TOKEN").arg("play").args(&args);
        cmd.args(["--journal", "journal.jsonl"]);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("runs");
        everything.push_str(&String::from_utf8_lossy(&out.stdout));
        everything.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    everything.push_str(&work.journal());
    let kept = std::fs::read_to_string(work.path().join("sync.creds")).expect("the credentials file was written");
    let uri = kept.lines().find_map(|l| l.strip_prefix("otpauth=")).expect("otpauth line");
    let totp_secret = uri.split("secret=").nth(1).and_then(|r| r.split('&').next()).expect("a secret").to_string();
    let password = kept.lines().find_map(|l| l.strip_prefix("password=")).expect("password line").to_string();
    let mut secrets = vec![
        TOKEN.to_string(),
        CLIENT_SECRET.to_string(),
        totp_secret,
        password,
        runner_sim::SEED_TOTP_SECRET.to_string(),
        "00Dwrong!token-never-valid".to_string(),
    ];
    secrets.extend(key_fragments(&key_text));
    assert!(everything.contains("runner::"), "the failures were reported");
    for secret in &secrets {
        assert!(!everything.contains(secret.as_str()), "a secret leaked (starts {:.6}…)", secret);
    }
}
