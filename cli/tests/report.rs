//! `runner report` (issue 11, part 4): the handover document, end to end with the built binary against
//! `runner sim serve` on 127.0.0.1. The HTML page is rendered by headless Chromium (Debian's `chromium`):
//! what a client opens is the DOM it builds, so that is what the assertions read. No document may hold a
//! secret: the password and TOTP secret setup kept, the access token.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::{Served, record_type_vars};
use runner_sim::SYNC_USERNAME;

const TOKEN: &str = "00DSIM0000000001!AQ.report-token-for-runner-tests";
const NEW_USER: &str = "handover.sync@client.example";
/// A name someone typed into Setup: markup in HTML, a table break and emphasis in Markdown.
const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>|*Sync*";

fn runner(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env("SF_ACCESS_TOKEN", TOKEN)
        .env("HOME", dir.join("home"))
        .env("XDG_CONFIG_HOME", dir.join("config"));
    cmd
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Headless Chromium's DOM of `page`, or `None` where there is no Chromium and none is required.
/// `.ci/run` installs it and sets RUNNER_REQUIRE_BROWSER, so CI never skips.
fn rendered_dom(page: &Path, scratch: &Path) -> Option<String> {
    let browser = std::env::var_os("CHROMIUM").map(PathBuf::from).or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from).into_iter().find(|p| p.exists())
    });
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("RUNNER_REQUIRE_BROWSER").is_none(),
            "RUNNER_REQUIRE_BROWSER is set and there is no chromium: apt-get install chromium"
        );
        eprintln!("skipped: no chromium (apt-get install chromium); .ci/run installs it");
        return None;
    };
    let profile = scratch.join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile folder");
    // The flags a closed network and a root user need (see the machine notes): no sandbox for root, and no
    // background connections, which this machine refuses.
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium rendered the page: {}", String::from_utf8_lossy(&out.stderr));
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(dom.contains("</html>"), "a whole DOM: {dom}");
    Some(dom)
}

/// The secrets the credentials file holds: the password and the otpauth URI with the TOTP secret.
fn secrets_in(file: &Path) -> Vec<String> {
    let contents = std::fs::read_to_string(file).expect("the credentials file");
    let secrets: Vec<String> = contents
        .lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(key, _)| matches!(*key, "password" | "otpauth"))
        .map(|(_, value)| value.to_string())
        .collect();
    assert_eq!(secrets.len(), 2, "setup kept a password and an authenticator");
    let secret = secrets[1].split("secret=").nth(1).and_then(|s| s.split('&').next()).expect("a TOTP secret");
    let mut all = secrets.clone();
    all.push(secret.to_string());
    all.push(TOKEN.to_string());
    all
}

/// Over the org's REST API, as an admin in Setup would.
async fn api(served: &Served, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let http = reqwest::Client::new();
    let mut request = http.request(method, format!("{}/services/data/v62.0/{path}", served.url)).bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("answered");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap_or(Value::Null)
}

#[test]
fn after_setup_the_html_handover_renders_in_chromium_with_the_org_s_facts_and_no_secret() {
    let served = Served::start(TOKEN, &[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path().canonicalize().expect("canonical");
    let creds = dir.join("handover.creds");
    // The org's own record type names, which only a query knows.
    let defaults = record_type_vars(&served.url, &[("SF_ACCESS_TOKEN", TOKEN)], &dir);
    let setup = runner(&dir)
        .args(["play", "setup.rhai", "--org", &served.url, "--journal", "/dev/null"])
        .args(["--var", &format!("username={NEW_USER}"), "--var", "email=ops@client.example"])
        .arg("--var")
        .arg(format!("credentials_file={}", creds.display()))
        .args(&defaults)
        .output()
        .expect("setup runs");
    assert!(setup.status.success(), "setup: {}", text(&setup));
    let secrets = secrets_in(&creds);

    let page = dir.join("handover.html");
    let report = runner(&dir)
        .args(["report", "--org", &served.url, "--format", "html", "--out"])
        .arg(&page)
        .args(["--var", &format!("username={NEW_USER}")])
        .arg("--var")
        .arg(format!("credentials_file={}", creds.display()))
        .args(&defaults)
        .output()
        .expect("report runs");
    assert!(report.status.success(), "report: {}", text(&report));
    let html = std::fs::read_to_string(&page).expect("the page");
    for secret in &secrets {
        assert!(!html.contains(secret.as_str()), "the page holds a secret");
        assert!(!text(&report).contains(secret.as_str()), "the output holds a secret");
    }
    assert!(!html.contains("<script") && !html.contains("src=\"http"), "self-contained, no script");

    let Some(dom) = rendered_dom(&page, &dir) else { return };
    assert!(dom.contains(&format!("<dd>{NEW_USER}</dd>")), "the sync user's username: {dom}");
    assert!(dom.contains("Salesforce Integration"), "its licence: {dom}");
    assert!(dom.contains("Salesforce API Integration (SalesforceAPIIntegrationPsl)"), "its PSL: {dom}");
    for set in ["s_c__storeConnect_Sync", "storeConnect_Sync_standard"] {
        assert!(dom.contains(&format!("<td>{set}</td>")), "permission set {set}: {dom}");
    }
    assert!(dom.contains("yes (TOTP authenticator), registered"), "the verification method: {dom}");
    assert!(dom.contains("yes, last changed"), "the password: {dom}");
    // Each default setup was given is in the profile's table, by the name the org uses.
    for pair in defaults.iter().filter(|a| a.starts_with("default_")) {
        let (object, record_type) = pair.trim_start_matches("default_").split_once('=').expect("Object=Name");
        assert!(dom.contains(&format!("<td>{object}</td><td>{record_type}</td>")), "default {pair}: {dom}");
    }
    // StoreConnect still syncs as the seed's user: the report says so, as something to do.
    assert!(dom.contains(&format!("{SYNC_USERNAME} (")), "StoreConnect's configured user: {dom}");
    assert!(dom.contains("another user"), "{dom}");
    assert!(dom.contains("no drift"), "the audit's result: {dom}");
    assert!(dom.contains(&creds.display().to_string()), "where the credentials are kept: {dom}");
    for secret in &secrets {
        assert!(!dom.contains(secret.as_str()), "the rendered page holds a secret");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_the_org_s_data_stays_text_and_drift_is_in_the_document() {
    let served = Served::start(TOKEN, &[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path().canonicalize().expect("canonical");
    // In Setup: someone renames StoreConnect's sync user and removes its standard permission set.
    let user =
        common::first_id(&served.url, TOKEN, &format!("SELECT Id FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    api(
        &served,
        reqwest::Method::PATCH,
        &format!("sobjects/User/{user}"),
        Some(serde_json::json!({"LastName": HOSTILE_NAME})),
    )
    .await;
    let assignment = common::first_id(
        &served.url,
        TOKEN,
        &format!(
            "SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.Name = 'storeConnect_Sync_standard' AND \
             Assignee.Username = '{SYNC_USERNAME}'"
        ),
    )
    .await;
    api(&served, reqwest::Method::DELETE, &format!("sobjects/PermissionSetAssignment/{assignment}"), None).await;

    // No --var username: the document is about the user StoreConnect is configured with.
    let markdown = runner(&dir).args(["report", "--org", &served.url]).output().expect("report runs");
    assert!(markdown.status.success(), "{}", text(&markdown));
    let md = String::from_utf8_lossy(&markdown.stdout);
    assert!(md.contains(&format!("- **Username:** {SYNC_USERNAME}")), "{md}");
    assert!(md.contains("- **Chosen by:** StoreConnect's configured user"), "{md}");
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;\\|\\*Sync\\*"), "markup escaped: {md}");
    assert!(!md.contains("<img"), "{md}");
    assert!(md.contains("- **Result:** **1 drift(s)**"), "{md}");
    assert!(md.contains("| **storeConnect_Sync_standard** | **not assigned** |"), "the missing set: {md}");
    assert!(md.contains("No credentials file was named"), "{md}");

    let page = dir.join("drift.html");
    let html = runner(&dir).args(["report", "--org", &served.url, "--format", "html", "--out"]).arg(&page).output();
    assert!(html.expect("report runs").status.success());
    let Some(dom) = rendered_dom(&page, &dir) else { return };
    assert!(!dom.contains("<img"), "the name is text, not an element: {dom}");
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;|*Sync*"), "shown as typed: {dom}");
    assert!(dom.contains("1 drift(s)"), "{dom}");

    // The same facts for other tools.
    let json = runner(&dir).args(["report", "--org", &served.url, "--format", "json"]).output().expect("runs");
    let facts: Value = serde_json::from_slice(&json.stdout).expect("one JSON object");
    assert_eq!(facts["audit"]["outcome"], "drift");
    assert_eq!(facts["audit"]["drift"][0]["expected"], "storeConnect_Sync_standard");
    assert_eq!(facts["storeconnect"]["configured_is_this_user"], true);
    assert!(facts["user"]["name"].as_str().is_some_and(|n| n.ends_with(HOSTILE_NAME)), "{facts}");
}

#[test]
fn several_orgs_need_a_file_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path().canonicalize().expect("canonical");
    let to_stdout = runner(&dir).args(["report", "--org", "sim", "--org", "sim:scratch"]).output().expect("runs");
    assert_eq!(to_stdout.status.code(), Some(2), "{}", text(&to_stdout));
    assert!(text(&to_stdout).contains("--out handover/{org}.md"), "{}", text(&to_stdout));
    let one_file = runner(&dir).args(["report", "--org", "sim", "--org", "sim:scratch", "--out", "all.md"]).output();
    let one_file = one_file.expect("runs");
    assert_eq!(one_file.status.code(), Some(2), "{}", text(&one_file));
    assert!(!dir.join("all.md").exists());

    // Two orgs whose names make one file name: refused, rather than one document replacing the other.
    let clash = runner(&dir)
        .args(["report", "--org", "sim:scratch", "--org", "sim_scratch", "--out", "{org}.md"])
        .output()
        .expect("runs");
    assert_eq!(clash.status.code(), Some(2), "{}", text(&clash));
    assert!(text(&clash).contains("would both write sim_scratch.md"), "{}", text(&clash));
    // A folder that is not there is refused before any org is read.
    let missing = runner(&dir)
        .args(["report", "--org", "sim", "--org", "sim:scratch", "--out", "handover/{org}.md"])
        .output()
        .expect("runs");
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(text(&missing).contains("runner::report::folder_missing"), "{}", text(&missing));

    std::fs::create_dir(dir.join("handover")).expect("mkdir");
    let each = runner(&dir)
        .args(["report", "--org", "sim", "--org", "sim:scratch", "--out", "handover/{org}.md"])
        .output()
        .expect("runs");
    assert!(each.status.success(), "{}", text(&each));
    let set_up = std::fs::read_to_string(dir.join("handover/sim.md")).expect("sim's document");
    assert!(set_up.contains(&format!("- **Username:** {SYNC_USERNAME}")), "{set_up}");
    let scratch = std::fs::read_to_string(dir.join("handover/sim_scratch.md")).expect("sim:scratch's document");
    assert!(scratch.contains("- **Configured sync user:** **none**"), "an org with no sync user: {scratch}");
    assert!(scratch.contains("**1 drift(s)**"), "{scratch}");
}
