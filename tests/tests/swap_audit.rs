//! swap.rhai, reauth.rhai and audit.rhai against the simulated org.

use runner_core::report::OrgReport;
use runner_sim::{SYNC_USERNAME, Scenario};
use runner_tests::{TestOrg, borrowed, failure_code, outcome_of, scripts_dir, sign_in_details};
use serde_json::{Value, json};

const NEW_USER: &str = "storeconnect.sync2@client.example";

async fn configured_user(org: &TestOrg) -> Option<String> {
    let rows =
        org.query("SELECT s_c__Text__c FROM s_c__Setup_Configuration__c WHERE Name = 'selected_sync_user_id'").await;
    rows.first().and_then(|r| r["s_c__Text__c"].as_str().map(str::to_string))
}

async fn user_id(org: &TestOrg, username: &str) -> String {
    let rows = org.query(&format!("SELECT Id FROM User WHERE Username = '{username}'")).await;
    rows[0]["Id"].as_str().expect("an id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_to_a_user_that_cannot_sign_in_says_what_is_missing_and_writes_nothing() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let create = format!(r#"create_user(#{{ username: "{NEW_USER}", email: "ops@client.example" }});"#);
    let created = org.play_text(&create, &[], false).await.expect("compiles");
    assert!(created.error.is_none(), "{:?}", created.error);
    let writes = org.writes().len();
    let report = org.play(&scripts_dir().join("swap.rhai"), &[("new_user", NEW_USER)], false).await;
    assert_eq!(failure_code(&report), Some("runner::swap_user::not_ready"));
    let finding = report.steps.iter().find(|s| s.name == "swap_user").and_then(|s| s.error.clone()).expect("a finding");
    assert_eq!(finding.code, "runner::swap_user::not_ready");
    for missing in
        ["password", "permission set licence", "s_c__storeConnect_Sync", "storeConnect_Sync_standard", "TOTP"]
    {
        assert!(finding.message.contains(missing), "{missing} in {}", finding.message);
    }
    let old = user_id(&org, SYNC_USERNAME).await;
    let configured = configured_user(&org).await.unwrap_or_default();
    assert_eq!(configured.get(..15), old.get(..15), "StoreConnect still syncs as the old user");
    assert_eq!(org.writes().len(), writes, "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauth_deletes_the_configuration_record_once() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org.play(&scripts_dir().join("reauth.rhai"), &[], false).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(outcome_of(&report, "swap_user"), "changed");
    assert_eq!(configured_user(&org).await, None);
    assert_eq!(org.count("SELECT Id FROM s_c__Setup_Configuration__c WHERE Name = 'selected_sync_user_id'").await, 0);
    let again = org.play(&scripts_dir().join("reauth.rhai"), &[], false).await;
    assert_eq!(outcome_of(&again, "swap_user"), "ok");
}

fn drift_of(report: &OrgReport) -> Vec<(String, String, String, Value, Value)> {
    report
        .drift
        .iter()
        .map(|d| (d.org.clone(), d.target.clone(), d.field.clone(), d.expected.clone(), d.actual.clone()))
        .collect()
}

async fn delete_assignment(org: &TestOrg, username: &str, set: &str) {
    let assignments = org
        .query(&format!(
            "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '{username}' AND PermissionSet.Name = '{set}'"
        ))
        .await;
    assert_eq!(assignments.len(), 1, "{username} holds {set}");
    org.delete("PermissionSetAssignment", assignments[0]["Id"].as_str().expect("id")).await;
    assert_eq!(
        org.count(&format!(
            "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '{username}' AND PermissionSet.Name = '{set}'"
        ))
        .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_passes_on_a_set_up_org_and_names_a_deleted_assignment() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let vars = [("username", SYNC_USERNAME)];
    let report = org.play(&scripts_dir().join("audit.rhai"), &vars, false).await;
    assert!(report.error.is_none(), "a set-up org has no drift: {:?}", report.error);
    assert!(report.drift.is_empty(), "{:?}", report.drift);
    assert_eq!(
        report.recap.api_calls, 4,
        "connection and facts (2), a batch that finds the user and reads the org (1), one of the user's state (1)"
    );

    delete_assignment(&org, SYNC_USERNAME, "storeConnect_Sync_standard").await;
    let writes = org.writes().len();
    let drifted = org.play(&scripts_dir().join("audit.rhai"), &vars, false).await;
    assert_eq!(failure_code(&drifted), None, "drift is not a failure: {:?}", drifted.error);
    assert_eq!(
        drift_of(&drifted),
        [(
            drifted.target.clone(),
            format!("User {SYNC_USERNAME}"),
            "permission set".to_string(),
            json!("storeConnect_Sync_standard"),
            json!("absent")
        )]
    );
    assert_eq!(org.writes().len(), writes, "an audit writes nothing");
    assert_eq!(outcome_of(&drifted, "assign_permission_sets"), "changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_without_a_username_audits_the_user_storeconnect_is_configured_with() {
    let org = TestOrg::start(Scenario::Scratch).await;
    assert_eq!(configured_user(&org).await, None, "a fresh org: StoreConnect has no sync user");
    let audit = scripts_dir().join("audit.rhai");
    let fresh = org.play(&audit, &[], false).await;
    assert_eq!(failure_code(&fresh), None, "no sync user is drift, not an argument error: {:?}", fresh.error);
    assert_eq!(
        drift_of(&fresh),
        [(fresh.target.clone(), "StoreConnect".into(), "sync user".into(), json!("a configured user"), json!("none"))]
    );

    // Set up, then StoreConnect's Console signs in as the new user: that configures it.
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let vars = org.setup_vars(NEW_USER, &credentials.to_string_lossy()).await;
    let setup = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert!(setup.error.is_none(), "{:#?}", setup.error);
    let details = sign_in_details(&credentials);
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "{body}");
    let id = user_id(&org, NEW_USER).await;
    assert_eq!(
        configured_user(&org).await.and_then(|c| c.get(..15).map(str::to_string)),
        id.get(..15).map(str::to_string)
    );

    // The record-type defaults as setup took them, without the username.
    let defaults: Vec<(&str, &str)> = borrowed(&vars)
        .into_iter()
        .filter(|(k, _)| k.starts_with("default_") || k.starts_with("person_default_"))
        .collect();
    assert!(!defaults.is_empty(), "the seed has objects with several record types");
    let writes = org.writes().len();
    let clean = org.play(&audit, &defaults, false).await;
    assert!(clean.error.is_none(), "{:?}", clean.error);
    assert!(clean.drift.is_empty(), "{:?}", clean.drift);
    assert_eq!(
        clean.recap.api_calls, 7,
        "connection (2), one batch each for the configuration, its user and the user's state (3), beside the \
         first the profiles' full names (listMetadata) and the profile's record types (readMetadata) (2)"
    );
    let who = clean.steps.iter().find(|s| s.name == "StoreConnect's sync user").expect("the lookup's line");
    assert!(who.summary.contains(NEW_USER), "{}", who.summary);
    for step in ["create_user", "assign_psl", "assign_permission_sets", "set_password", "verify", "set_defaults"] {
        assert_eq!(outcome_of(&clean, step), "ok", "{step} audited");
    }

    delete_assignment(&org, NEW_USER, "storeConnect_Sync").await;
    let drifted = org.play(&audit, &defaults, false).await;
    assert_eq!(failure_code(&drifted), None, "{:?}", drifted.error);
    let drift = drift_of(&drifted);
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0].0, drifted.target);
    assert_eq!(drift[0].1, format!("User {NEW_USER}"));
    assert_eq!(drift[0].2, "permission set");
    assert!(drift[0].3.as_str().is_some_and(|set| set.ends_with("storeConnect_Sync")), "{drift:?}");
    assert_eq!(drift[0].4, json!("absent"));
    assert_eq!(org.writes().len(), writes, "audits write nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_that_does_not_exist_is_drift() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org.play(&scripts_dir().join("audit.rhai"), &[("username", "nobody@client.example")], false).await;
    assert_eq!(failure_code(&report), None, "{:?}", report.error);
    assert_eq!(
        drift_of(&report),
        [(report.target.clone(), "User nobody@client.example".into(), "exists".into(), json!(true), json!(false))]
    );
    assert!(org.writes().is_empty());

    // StoreConnect configured with a user that is gone: the configuration names an id no user has.
    let config = org.query("SELECT Id FROM s_c__Setup_Configuration__c WHERE Name = 'selected_sync_user_id'").await;
    let config_id = config[0]["Id"].as_str().expect("id").to_string();
    let missing = "005000000000AAA";
    org.update("s_c__Setup_Configuration__c", &config_id, json!({"s_c__Text__c": missing})).await;
    let gone = org.play(&scripts_dir().join("audit.rhai"), &[], false).await;
    assert_eq!(failure_code(&gone), None, "{:?}", gone.error);
    assert_eq!(
        drift_of(&gone),
        [(gone.target.clone(), format!("User {missing}"), "exists".into(), json!(true), json!(false))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_names_each_part_of_the_setup_a_user_lacks() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let create = format!(r#"create_user(#{{ username: "{NEW_USER}", email: "ops@client.example" }});"#);
    let created = org.play_text(&create, &[], false).await.expect("compiles");
    assert!(created.error.is_none(), "{:?}", created.error);
    let writes = org.writes().len();
    let report = org.play(&scripts_dir().join("audit.rhai"), &[("username", NEW_USER)], false).await;
    assert_eq!(failure_code(&report), None, "{:?}", report.error);
    let user = format!("User {NEW_USER}");
    let drift: Vec<(String, Value, Value)> = drift_of(&report)
        .into_iter()
        .map(|(org_name, target, field, expected, actual)| {
            assert_eq!((org_name.as_str(), target.as_str()), (report.target.as_str(), user.as_str()));
            (field, expected, actual)
        })
        .collect();
    let has = |field: &str, expected: Value, actual: Value| {
        assert!(
            drift.contains(&(field.to_string(), expected.clone(), actual.clone())),
            "{field} {expected} {actual} in {drift:?}"
        );
    };
    has("permission set licence", json!("Salesforce API Integration"), json!("absent"));
    has("permission set", json!("storeConnect_Sync_standard"), json!("absent"));
    has("TOTP registered", json!(true), json!(false));
    has("password set", json!(true), json!(false));
    assert!(
        drift
            .iter()
            .any(|(f, e, _)| f == "permission set" && e.as_str().is_some_and(|s| s.ends_with("storeConnect_Sync"))),
        "{drift:?}"
    );
    assert_eq!(drift.len(), 5, "{drift:?}");
    assert_eq!(org.writes().len(), writes, "an audit writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_without_storeconnect_is_drift_not_a_failure() {
    let org = TestOrg::start(Scenario::NoPackage).await;
    let report = org.play(&scripts_dir().join("audit.rhai"), &[], false).await;
    assert_eq!(failure_code(&report), None, "{:?}", report.error);
    let drift = drift_of(&report);
    assert!(
        drift.contains(&(
            report.target.clone(),
            "StoreConnect".into(),
            "package".into(),
            json!("installed"),
            json!("absent")
        )),
        "{drift:?}"
    );
    assert_eq!(outcome_of(&report, "StoreConnect's sync user"), "ok", "the refused query is the answer, not a failure");
    assert_eq!(report.recap.failed, 0);
    assert!(org.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_is_recorded_once_per_call_and_redacted_as_a_change_is() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let text = r#"
        drift("User u@client.example", "permission set", "storeConnect_Sync_standard", "absent");
        drift("User u@client.example", "password", "hunter2-secret", ());
        drift("Account", "count", 2, 1);
    "#;
    let report = org.play_text(text, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    let org_name = report.target.clone();
    assert_eq!(
        drift_of(&report),
        [
            (
                org_name.clone(),
                "User u@client.example".into(),
                "permission set".into(),
                json!("storeConnect_Sync_standard"),
                json!("absent")
            ),
            (org_name.clone(), "User u@client.example".into(), "password".into(), json!("[REDACTED]"), Value::Null),
            (org_name, "Account".into(), "count".into(), json!(2), json!(1)),
        ],
        "the observe and planning passes record none"
    );
    let checked = org.play_text(text, &[], true).await.expect("compiles");
    assert_eq!(checked.drift.len(), 3, "check mode reports drift too");
}
