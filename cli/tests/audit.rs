//! `runner play audit.rhai` as CI runs it: drift in `--json` and the recap, and its own exit code (5), which a
//! failed or unreachable org outweighs.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use serde_json::{Value, json};

mod common;
use common::Served;
use runner_sim::SYNC_USERNAME;

const TOKEN: &str = "audit-token";
const DRIFT: i32 = 5;

/// `runner play audit.rhai ARGS… --journal DIR/j.jsonl`.
fn audit(dir: &Path, args: &[&str], token: Option<&str>) -> Output {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
    cmd.env("NO_COLOR", "1").env_remove("SF_ACCESS_TOKEN");
    if let Some(token) = token {
        cmd.env("SF_ACCESS_TOKEN", token);
    }
    cmd.args(["play", "audit.rhai"]).args(args).arg("--journal").arg(dir.join("j.jsonl"));
    cmd.output().expect("runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("one JSON document ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

#[test]
fn a_set_up_org_exits_0_with_no_drift_and_one_without_a_sync_user_exits_5_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let clean = audit(dir.path(), &["--org", "sim", "--json"], None);
    assert_eq!(code(&clean), Some(0), "{}", String::from_utf8_lossy(&clean.stderr));
    let document = json_of(&clean);
    assert_eq!(document["status"], 0);
    assert_eq!(document["result"]["orgs"][0]["drift"], json!([]));

    let fresh = audit(dir.path(), &["--org", "sim:scratch", "--json"], None);
    assert_eq!(code(&fresh), Some(DRIFT), "{}", String::from_utf8_lossy(&fresh.stderr));
    let document = json_of(&fresh);
    assert_eq!(document["status"], DRIFT);
    let org = &document["result"]["orgs"][0];
    assert!(org.get("failure").is_none(), "drift is not a failure: {org}");
    assert_eq!(
        org["drift"],
        json!([{"org": org["target"], "target": "StoreConnect", "field": "sync user", "expected": "a configured user", "actual": "none"}])
    );

    // People read the same drift in the recap, and the playbook says what it means.
    let human = audit(dir.path(), &["--org", "sim:scratch"], None);
    assert_eq!(code(&human), Some(DRIFT));
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert!(stdout.contains("StoreConnect has no sync user"), "{stdout}");
    assert!(stdout.contains("drift (1):"), "{stdout}");
    assert!(stdout.contains("- StoreConnect sync user: expected a configured user, found none"), "{stdout}");
}

#[test]
fn a_fleet_exits_with_its_most_severe_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mixed = audit(dir.path(), &["--org", "sim", "--org", "sim:scratch", "--json"], None);
    assert_eq!(code(&mixed), Some(DRIFT), "one org drifted, the other is clean");
    let document = json_of(&mixed);
    let drifted: Vec<usize> = document["result"]["orgs"]
        .as_array()
        .expect("orgs")
        .iter()
        .map(|o| o["drift"].as_array().map_or(usize::MAX, Vec::len))
        .collect();
    assert_eq!(drifted, [0, 1]);

    // An org not reached outweighs drift: its own drift is unknown.
    let unreachable = audit(
        dir.path(),
        &["--org", "sim:scratch", "--org", "http://127.0.0.1:9", "--request-timeout", "2s", "--json"],
        Some("no-token"),
    );
    assert_eq!(code(&unreachable), Some(4), "{}", String::from_utf8_lossy(&unreachable.stderr));

    // A playbook that failed outweighs both.
    let failed = audit(dir.path(), &["--org", "sim:scratch", "--org", "sim:no-mfa-permission", "--json"], None);
    assert_eq!(code(&failed), Some(1), "{}", String::from_utf8_lossy(&failed.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permission_set_assignment_deleted_in_the_org_is_drift_naming_the_org_and_the_set() {
    let served = Served::start(TOKEN, &[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let before = audit(dir.path(), &["--org", &served.url, "--json"], Some(TOKEN));
    assert_eq!(code(&before), Some(0), "{}", String::from_utf8_lossy(&before.stdout));

    // Someone removes the sync user's standard set in Setup: here, over the org's REST API.
    let soql = format!(
        "SELECT Id FROM PermissionSetAssignment WHERE PermissionSet.Name = 'storeConnect_Sync_standard' AND \
         Assignee.Username = '{SYNC_USERNAME}'"
    );
    let id = common::first_id(&served.url, TOKEN, &soql).await;
    let deleted = reqwest::Client::new()
        .delete(format!("{}/services/data/v62.0/sobjects/PermissionSetAssignment/{id}", served.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answered");
    assert_eq!(deleted.status().as_u16(), 204);

    let after = audit(dir.path(), &["--org", &served.url, "--json"], Some(TOKEN));
    assert_eq!(code(&after), Some(DRIFT), "{}", String::from_utf8_lossy(&after.stderr));
    let document = json_of(&after);
    let org = &document["result"]["orgs"][0];
    assert_eq!(org["target"], json!(served.url));
    assert_eq!(
        org["drift"],
        json!([{
            "org": served.url,
            "target": format!("User {SYNC_USERNAME}"),
            "field": "permission set",
            "expected": "storeConnect_Sync_standard",
            "actual": "absent",
        }])
    );
    // The audit wrote nothing: the assignment is still gone.
    assert_eq!(common::query(&served.url, TOKEN, &soql).await["totalSize"], 0);
}
