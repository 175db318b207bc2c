//! The `runner` binary, end to end: commands, output, exit codes, the standalone
//! simulated org, and that no secret reaches any output.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

fn runner() -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
    cmd.env("NO_COLOR", "1").env_remove("SF_ACCESS_TOKEN");
    cmd
}

mod common;
use common::Served;

const TOKEN: &str = "test-token-123";

#[test]
fn hello_runs_against_the_embedded_sim_with_changed_and_ok_lines_and_a_recap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = runner()
        .args(["play", scripts().join("examples/hello.rhai").to_str().expect("path"), "--org", "sim"])
        .arg("--journal")
        .arg(dir.path().join("j.jsonl"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("changed") && l.contains("sf::create")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("ok") && l.contains("sf::query")), "{stdout}");
    assert!(stdout.contains("Account 001"), "the playbook printed the account: {stdout}");
    assert!(stdout.contains("recap sim"), "{stdout}");
    assert!(stdout.contains("journal: "), "{stdout}");
}

/// `runner play FILE --org sim --json ARGS…` of a playbook written to a temporary folder.
fn play_json(source: &str, args: &[&str]) -> (Option<i32>, Value) {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbook = dir.path().join("own.rhai");
    std::fs::write(&playbook, source).expect("write the playbook");
    let out = runner()
        .arg("play")
        .arg(&playbook)
        .args(["--org", "sim", "--json", "--journal"])
        .arg(dir.path().join("j.jsonl"))
        .args(args)
        .output()
        .expect("runs");
    let document = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), document)
}

/// A playbook's own step that creates an Account, then reads it back by name.
const OWN_STEP: &str = r#"
step("ensure the demo account", || {
    if sf::query("SELECT Id FROM Account WHERE Name = 'Own Step Demo'").is_empty() {
        sf::create("Account", #{ Name: "Own Step Demo" });
    }
    "created the demo account"
});
"#;

#[test]
fn in_check_mode_a_playbook_step_says_what_it_would_do_and_keeps_its_text_as_what_a_run_does() {
    let (code, checked) = play_json(OWN_STEP, &["--check"]);
    assert_eq!(code, Some(0), "{checked}");
    let step = &checked["result"]["orgs"][0]["steps"].as_array().expect("steps").last().cloned().expect("a step");
    assert_eq!(step["name"], "ensure the demo account");
    assert_eq!(step["outcome"], "changed");
    assert_eq!(step["summary"], "would make 1 change(s); when run: created the demo account", "{step}");

    let (code, run) = play_json(OWN_STEP, &[]);
    assert_eq!(code, Some(0), "{run}");
    let step = run["result"]["orgs"][0]["steps"].as_array().expect("steps").last().cloned().expect("a step");
    assert_eq!(step["summary"], "created the demo account", "a run keeps the text: {step}");

    // A text that already speaks of what would happen is the author's wording, kept as it is.
    let worded = OWN_STEP
        .replace(r#""created the demo account""#, r#"if org.check_mode { "would create it" } else { "created it" }"#);
    let (_, checked) = play_json(&worded, &["--check"]);
    let step = checked["result"]["orgs"][0]["steps"].as_array().expect("steps").last().cloned().expect("a step");
    assert_eq!(step["summary"], "would create it", "{step}");
}

/// A step that tries a write and says what Salesforce's refusal was, so that check mode and a run can be
/// compared.
fn caught(write: &str) -> String {
    format!(
        r#"step("try", || {{ let said = "written"; try {{ {write}; }} catch (e) {{ said = `refused: ${{e.error_code}} ${{e.fields ?? ""}}`; }} said }});"#
    )
}

/// The summary of the step named `try`.
fn printed(document: &Value) -> Vec<String> {
    document["result"]["orgs"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["name"] == "try")
        .map(|s| s["summary"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn check_mode_refuses_a_write_with_the_code_the_org_refuses_it_with_in_a_run() {
    let writes = [
        (r#"sf::create("Account", #{ Nmae: "Typo" })"#, "INVALID_FIELD"),
        (r#"sf::create("Acount", #{ Name: "Typo" })"#, "NOT_FOUND"),
        (
            r#"sf::update("Account", sf::query("SELECT Id FROM Account LIMIT 1")[0].Id, #{ CreatedDate: "2020-01-01T00:00:00Z" })"#,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
        ),
    ];
    for (write, code) in writes {
        // In a run the write reaches the simulated org, whose DML rules refuse it; in check mode nothing is
        // sent, and the describe answers for it.
        let (_, run) = play_json(&caught(write), &[]);
        let (_, checked) = play_json(&caught(write), &["--check"]);
        let (run, checked) = (printed(&run), printed(&checked));
        assert!(run.first().is_some_and(|p| p.starts_with(&format!("refused: {code}"))), "{write}: run {run:?}");
        assert_eq!(checked, run, "{write}: check mode says what the run says");
    }
    // A good write passes the check.
    let (code, checked) = play_json(&caught(r#"sf::create("Account", #{ Name: "Fine", Phone: "1" })"#), &["--check"]);
    assert_eq!((code, printed(&checked)), (Some(0), vec!["would make 1 change(s); when run: written".to_string()]));

    // Uncaught, the check names the field and the one meant, at the call.
    let (code, document) = play_json(r#"sf::create("Account", #{ Nmae: "Typo" });"#, &["--check"]);
    assert_eq!(code, Some(1), "{document}");
    let error = &document["result"]["orgs"][0]["steps"][0]["error"];
    assert_eq!(error["error_code"], "INVALID_FIELD", "{error}");
    assert_eq!(error["hint"], "Nmae: did you mean Name?", "{error}");
}

#[test]
fn the_describes_check_mode_needs_are_read_in_one_request() {
    let one = r#"sf::create("Account", #{ Name: "A" });"#;
    let three = r#"sf::create("Account", #{ Name: "A" }); sf::create("Contact", #{ LastName: "B" }); sf::create("s_c__Store__c", #{ Name: "C" });"#;
    let calls = |source: &str| {
        let (code, document) = play_json(source, &["--check"]);
        assert_eq!(code, Some(0), "{document}");
        document["result"]["orgs"][0]["recap"]["api_calls"].as_u64().expect("api_calls")
    };
    assert_eq!(calls(three), calls(one), "three objects' describes in the request that reads one");

    // A name that is no API name spoils only its own check, not the batch's other objects'.
    let (code, document) =
        play_json(r#"sf::create("Account", #{ Name: "A" }); sf::create("Bad Name", #{ Name: "B" });"#, &["--check"]);
    assert_eq!(code, Some(1), "{document}");
    let steps = document["result"]["orgs"][0]["steps"].as_array().expect("steps").clone();
    assert_eq!(steps.len(), 1, "the one finding: {steps:?}");
    assert_eq!(steps[0]["error"]["code"], "runner::sf::invalid_name", "{steps:?}");
    assert!(steps[0]["error"]["message"].as_str().is_some_and(|m| m.contains("`Bad Name`")), "as spelt: {steps:?}");
    let at = steps[0]["error"]["location"].as_str().unwrap_or_default();
    assert!(at.ends_with(":1:44"), "at the second create, the first passed its check: {at}");
    // Without it, the valid object's check passes in the same batch.
    let (code, _) = play_json(r#"sf::create("Account", #{ Name: "A" });"#, &["--check"]);
    assert_eq!(code, Some(0));
}

#[test]
fn a_code_a_playbook_step_throws_is_the_code_on_its_step_record() {
    let source = r#"
step("acme settings", || {
    throw #{ code: "acme::no_settings", message: "Acme_Settings__c has no default record", hint: "create one in Setup" };
});
"#;
    let (code, document) = play_json(source, &[]);
    assert_eq!(code, Some(1), "{document}");
    let org = &document["result"]["orgs"][0];
    let step = org["steps"].as_array().expect("steps").iter().find(|s| s["name"] == "acme settings").expect("the step");
    assert_eq!(step["outcome"], "failed");
    assert_eq!(step["error"]["code"], "acme::no_settings", "{step}");
    assert_eq!(step["error"]["message"], "Acme_Settings__c has no default record");
    assert_eq!(step["error"]["hint"], "create one in Setup");

    // A string thrown has no code of its own: the step failed, as before.
    let (_, document) = play_json(r#"step("plain", || { throw "no luck"; });"#, &[]);
    let step = document["result"]["orgs"][0]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "plain")
        .cloned();
    assert_eq!(step.expect("the step")["error"]["code"], "runner::playbook::step_failed");
}

#[test]
fn a_long_step_name_does_not_run_into_its_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let playbook = dir.path().join("long.rhai");
    std::fs::write(&playbook, r#"step("View All Data on StoreConnect Sync Standard Permission", || "all good");"#)
        .expect("write the playbook");
    let out = runner()
        .arg("play")
        .arg(&playbook)
        .args(["--org", "sim", "--journal"])
        .arg(dir.path().join("j.jsonl"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("Sync Standard Permission  all good"), "{stdout}");
}

#[test]
fn json_output_is_one_envelope_shaped_like_the_sf_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = runner()
        .args(["play", "examples/hello.rhai", "--org", "sim", "--org", "sim:legacy-profile", "--json", "--journal"])
        .arg(dir.path().join("j.jsonl"))
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["status"], 0);
    assert_eq!(doc["warnings"], Value::Array(vec![]));
    let orgs = doc["result"]["orgs"].as_array().expect("orgs");
    assert_eq!(orgs.len(), 2);
    assert_eq!(orgs[0]["target"], "sim");
    assert_eq!(orgs[1]["target"], "sim:legacy-profile");
    assert_ne!(orgs[0]["org_id"], orgs[1]["org_id"], "each simulated org has an id of its own");
    for org in orgs {
        assert!(org["org_id"].as_str().is_some_and(|id| id.starts_with("00D")));
        for step in org["steps"].as_array().expect("steps") {
            for key in ["name", "outcome", "summary", "changes", "api_calls", "duration_ms"] {
                assert!(step.get(key).is_some(), "step has {key}: {step}");
            }
        }
        for key in ["ok", "changed", "failed", "skipped", "api_calls", "duration_ms"] {
            assert!(org["recap"].get(key).is_some(), "recap has {key}");
        }
        assert_eq!(org["recap"]["changed"], 1);
    }
}

#[test]
fn check_reports_findings_with_file_and_line_and_exits_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.rhai");
    std::fs::write(&path, "let u = \"a@b.c\";\ncreate_usr(#{ username: u });\n").expect("written");
    let out = runner().args(["check"]).arg(&path).output().expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.rhai:2:1"), "{stderr}");
    assert!(stderr.contains("create_user"), "suggests the step: {stderr}");

    // play pre-flights the same way and touches no org; --json still prints one document.
    let out = runner().args(["play"]).arg(&path).args(["--org", "sim", "--json"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["status"], 3);
    assert_eq!(doc["result"]["findings"][0]["code"], "runner::playbook::unknown_function");
    assert!(doc["result"]["findings"][0]["location"].as_str().is_some_and(|l| l.ends_with("bad.rhai:2:1")), "{doc}");
}

#[test]
fn a_failing_step_exits_1_and_the_error_points_at_the_playbook_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fail.rhai");
    std::fs::write(&path, "// first\ncreate_user(#{ username: \"x@y.example\", email: \"a@b.example\" });\n")
        .expect("written");
    let out = runner()
        .args(["play"])
        .arg(&path)
        .args(["--org", "sim:no-seats", "--journal"])
        .arg(dir.path().join("j.jsonl"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.lines().any(|l| l.starts_with("failed") && l.contains("create_user")), "{stdout}");
    assert!(stderr.contains("runner::create_user::no_free_seats"), "{stderr}");
    assert!(stderr.contains("fail.rhai:2:1"), "{stderr}");
}

#[test]
fn bad_arguments_exit_2() {
    runner().args(["play", "examples/hello.rhai", "--var", "novalue"]).assert().code(2);
    runner().args(["play", "examples/hello.rhai", "--org", "sim:nope"]).assert().code(2);
    runner().args(["steps", "no_such_step"]).assert().code(2);
}

#[test]
fn steps_are_documented() {
    let out = runner().args(["steps", "create_user"]).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for param in ["username", "email", "profile", "reactivate"] {
        assert!(stdout.contains(param), "{param} documented: {stdout}");
    }
    // The list documents the playbook's own functions too, not only the native steps.
    let out = runner().arg("steps").output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for function in ["step(name", "with_check_mode(", "drift(target", "sf::query(soql)", "sf::update(type, id, fields)"]
    {
        assert!(stdout.lines().any(|l| l.starts_with(function)), "{function} documented: {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_serve_speaks_salesforce_rest_and_runner_plays_against_it_by_url() {
    let served = Served::start(TOKEN, &[]);
    assert_eq!(served.token, "test-token-123");
    let http = reqwest::Client::new();
    let query = |q: &str, token: &str| {
        http.get(format!("{}/services/data/v62.0/query", served.url)).query(&[("q", q)]).bearer_auth(token).send()
    };
    let response = query("SELECT Id, Name, UserLicense.Name FROM Profile", "test-token-123").await.expect("answered");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert!(body["totalSize"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(body["done"], true);
    let first = &body["records"][0];
    assert_eq!(first["attributes"]["type"], "Profile");
    assert_eq!(first["UserLicense"]["attributes"]["type"], "UserLicense");
    assert!(first["UserLicense"]["Name"].is_string());

    let bad = query("SELECT Id FORM Profile", "test-token-123").await.expect("answered");
    assert_eq!(bad.status().as_u16(), 400);
    let body: Value = bad.json().await.expect("json");
    assert_eq!(body[0]["errorCode"], "MALFORMED_QUERY");
    assert!(body[0]["message"].is_string());

    let unauthorized = query("SELECT Id FROM Profile", "wrong").await.expect("answered");
    assert_eq!(unauthorized.status().as_u16(), 401);

    let created = http
        .post(format!("{}/services/data/v62.0/sobjects/Account", served.url))
        .bearer_auth("test-token-123")
        .json(&serde_json::json!({"Name": "By curl"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(created.status().as_u16(), 201);
    let body: Value = created.json().await.expect("json");
    assert_eq!(body["success"], true);
    assert_eq!(body["errors"], Value::Array(vec![]));
    assert!(body["id"].as_str().is_some_and(|id| id.len() == 18 && id.starts_with("001")));

    let dir = tempfile::tempdir().expect("temp dir");
    let out = runner()
        .env("SF_ACCESS_TOKEN", "test-token-123")
        .args([
            "play",
            scripts().join("examples/hello.rhai").to_str().expect("path"),
            "--org",
            &served.url,
            "--journal",
        ])
        .arg(dir.path().join("j.jsonl"))
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows =
        query("SELECT Id FROM Account WHERE Name = 'Hello from runner'", "test-token-123").await.expect("answered");
    let body: Value = rows.json().await.expect("json");
    assert_eq!(body["totalSize"], 1, "the play created the account in the served org");
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_any_request() {
    let out = runner()
        .env("SF_ACCESS_TOKEN", "whatever")
        .args(["play", "examples/hello.rhai", "--org", "http://example.com", "--journal", "/dev/null"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("https"), "{stderr}");
}

#[test]
fn the_password_and_totp_secret_reach_no_output_journal_or_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let journal = dir.path().join("j.jsonl");
    let out = runner()
        .args(["play", "setup.rhai", "--org", "sim", "--json", "--var", "username=sc.sync@client.example"])
        .args(["--var", "email=ops@client.example", "--var"])
        .arg(format!("credentials_file={}", credentials.display()))
        .args(common::record_type_vars("sim", &[], dir.path()))
        .arg("--journal")
        .arg(&journal)
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&credentials).expect("meta").permissions().mode() & 0o777, 0o600);
    let file = std::fs::read_to_string(&credentials).expect("the credentials file");
    let password = file.lines().find_map(|l| l.strip_prefix("password=")).expect("a password line").to_string();
    let uri = file.lines().find_map(|l| l.strip_prefix("otpauth=")).expect("an otpauth line").to_string();
    let secret = uri.split("secret=").nth(1).and_then(|r| r.split('&').next()).expect("a secret").to_string();
    assert_eq!(secret.len(), 32);
    assert!(password.len() >= 20, "a strong password");
    let journal = std::fs::read_to_string(&journal).expect("journal");
    assert!(journal.contains("TwoFactorInfo"), "the TOTP write is journaled");
    assert!(journal.contains("/password"), "the password write is journaled");
    for (what, text) in [
        ("stdout", String::from_utf8_lossy(&out.stdout).to_string()),
        ("stderr", String::from_utf8_lossy(&out.stderr).to_string()),
        ("journal", journal),
    ] {
        assert!(!text.contains(&secret), "the secret leaked into {what}");
        assert!(!text.contains(&password), "the password leaked into {what}");
    }
    let code = runner().args(["totp", "code", "--secret-file"]).arg(&credentials).output().expect("runs");
    assert!(code.status.success());
    let digits = String::from_utf8_lossy(&code.stdout).trim().to_string();
    assert!(digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()), "{digits}");
}

#[test]
fn built_in_playbooks_run_from_an_empty_folder_and_init_copies_them_without_overwriting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = runner()
        .args(["play", "setup.rhai", "--org", "sim", "--var", "username=sc.sync@client.example"])
        .args(["--var", "email=ops@client.example", "--var", "credentials_file=sync.creds", "--journal", "j.jsonl"])
        .args(common::record_type_vars("sim", &[], dir.path()))
        .current_dir(dir.path())
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("changed") && l.contains("set_defaults")), "{stdout}");

    let listed = runner().arg("playbooks").output().expect("runs");
    let listed = String::from_utf8_lossy(&listed.stdout);
    for name in ["setup.rhai", "swap.rhai", "reauth.rhai", "audit.rhai"] {
        assert!(listed.lines().any(|l| l.starts_with(name) && l.len() > name.len() + 10), "{name} listed: {listed}");
    }

    let target = dir.path().join("mine");
    runner().arg("init").arg(&target).assert().success();
    assert!(target.join("setup.rhai").is_file());
    assert!(target.join("lib/storeconnect.rhai").is_file());
    std::fs::write(target.join("setup.rhai"), "// my edits\n").expect("edit");
    runner().arg("init").arg(&target).assert().failure();
    assert_eq!(std::fs::read_to_string(target.join("setup.rhai")).expect("read"), "// my edits\n", "kept");
    runner().arg("check").arg(target.join("swap.rhai")).assert().success();
}

#[test]
fn runner_plays_over_https_against_sim_serve_tls_when_told_to_trust_its_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cert = dir.path().join("sim.pem");
    let served = Served::start("tls-token", &["--tls", "--cert-file", cert.to_str().expect("utf-8 path")]);
    let url = served.url.clone();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let play = |trust: bool| {
        let mut cmd = runner();
        cmd.env("SF_ACCESS_TOKEN", "tls-token").args(["play", "examples/hello.rhai", "--org", &url, "--journal"]);
        cmd.arg(dir.path().join("j.jsonl"));
        if trust {
            cmd.env("RUNNER_CA_CERT", &cert);
        }
        cmd.output().expect("runs")
    };
    let untrusted = play(false);
    assert_eq!(untrusted.status.code(), Some(4), "an untrusted certificate is refused");
    let trusted = play(true);
    assert!(trusted.status.success(), "{}", String::from_utf8_lossy(&trusted.stderr));
}

#[test]
fn an_org_over_its_api_limit_stops_while_the_other_orgs_go_on() {
    // Connecting and the read-ahead's first round are one wave: userinfo (which the limit
    // gates but does not count), the Organization, the playbook's query and Account's
    // describe. A limit that ran out inside it would refuse whichever request came last;
    // this one runs out after the create, on the query the create made stale.
    let limited = Served::start(TOKEN, &["--api-limit", "4"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = runner()
        .env("SF_ACCESS_TOKEN", "test-token-123")
        .args(["play", "examples/hello.rhai", "--org", &limited.url, "--org", "sim", "--json", "--journal"])
        .arg(dir.path().join("j.jsonl"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let orgs = doc["result"]["orgs"].as_array().expect("orgs");
    assert_eq!(orgs[0]["error"]["code"], "runner::sf::request_limit", "{}", orgs[0]);
    assert!(orgs[1].get("error").is_none(), "the other org went on: {}", orgs[1]);
    assert_eq!(orgs[1]["recap"]["changed"], 1);
}
