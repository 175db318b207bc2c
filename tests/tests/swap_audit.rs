//! swap.rhai, reauth.rhai and audit.rhai against the simulated org.

use runner_sim::{SYNC_USERNAME, Scenario};
use runner_tests::{TestOrg, failure_code, outcome_of, scripts_dir};

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
    let writes = org.journal().len();
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
    assert_eq!(org.journal().len(), writes, "nothing was written");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_passes_on_a_set_up_org_and_names_a_deleted_assignment() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let vars = [("username", SYNC_USERNAME)];
    let report = org.play(&scripts_dir().join("audit.rhai"), &vars, false).await;
    assert!(report.error.is_none(), "a set-up org has no drift: {:?}", report.error);
    assert_eq!(report.recap.api_calls, 4, "connection and facts (3) and one batch of every read (1)");

    let assignments = org
        .query(&format!(
            "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '{SYNC_USERNAME}' AND PermissionSet.Name = 'storeConnect_Sync_standard'"
        ))
        .await;
    org.delete("PermissionSetAssignment", assignments[0]["Id"].as_str().expect("id")).await;
    let writes = org.journal().len();
    let drifted = org.play(&scripts_dir().join("audit.rhai"), &vars, false).await;
    assert_eq!(failure_code(&drifted), Some("runner::audit::drift"));
    let message = &drifted.error.as_ref().expect("error").message;
    assert!(message.contains("storeConnect_Sync_standard"), "{message}");
    assert_eq!(org.journal().len(), writes, "an audit writes nothing");
    assert_eq!(outcome_of(&drifted, "assign_permission_sets"), "changed");
}
