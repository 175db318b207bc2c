//! Individual steps' edges: reactivation, TOTP rotation, record-type choices, retiring
//! by deactivation, single record types, and the API limit.

use runner_sim::{Faults, SYNC_USERNAME, Scenario, SimConfig};
use runner_tests::{API, TestOrg, failure_code, outcome_of};
use serde_json::json;

const USER: &str = "edge.sync@client.example";

async fn patch(org: &TestOrg, sobject: &str, id: &str, body: serde_json::Value) {
    let url = format!("{}/services/data/{API}/sobjects/{sobject}/{id}", org.sim.instance_url());
    let response =
        reqwest::Client::new().patch(url).bearer_auth(org.sim.token()).json(&body).send().await.expect("patch");
    assert_eq!(response.status().as_u16(), 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_user_is_reactivated_only_when_asked() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let create = format!(r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});"#);
    org.play_text(&create, &[], false).await.expect("compiles");
    let id = org.query(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await[0]["Id"]
        .as_str()
        .expect("id")
        .to_string();
    patch(&org, "User", &id, json!({"IsActive": false})).await;

    let report = org.play_text(&create, &[], false).await.expect("compiles");
    assert_eq!(failure_code(&report), Some("runner::create_user::inactive"));
    assert!(report.error.as_ref().and_then(|e| e.hint.clone()).unwrap_or_default().contains("reactivate: true"));

    let reactivate =
        format!(r#"create_user(#{{ username: "{USER}", email: "ops@client.example", reactivate: true }});"#);
    let report = org.play_text(&reactivate, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(outcome_of(&report, "create_user"), "changed");
    let users = org.query(&format!("SELECT IsActive FROM User WHERE Username = '{USER}'")).await;
    assert_eq!(users.len(), 1, "reactivated, not created again");
    assert_eq!(users[0]["IsActive"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_is_ok_when_totp_exists_and_rotate_replaces_the_secret() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rotated.totp");
    let file = file.to_string_lossy();
    let ok = org.play_text(&format!(r#"verify(#{{ user: "{SYNC_USERNAME}" }});"#), &[], false).await.expect("compiles");
    assert_eq!(outcome_of(&ok, "verify"), "ok", "the seeded sync user already has TOTP");

    let rotate = format!(r#"verify(#{{ user: "{SYNC_USERNAME}", rotate: true, secret_file: "{file}" }});"#);
    let report = org.play_text(&rotate, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(outcome_of(&report, "verify"), "changed");
    let registered = org.query(&format!("SELECT Id FROM TwoFactorInfo WHERE User.Username = '{SYNC_USERNAME}'")).await;
    assert_eq!(registered.len(), 1, "the old secret was replaced, not added to");
    let secret =
        runner_core::totp::read_secret_file(std::path::Path::new(file.as_ref())).expect("the new secret is kept");
    assert_eq!(runner_core::totp::code_at(&secret, 59).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_defaults_lists_the_choices_when_no_default_is_given() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org
        .play_text(
            &format!(r#"set_defaults(#{{ user: "{SYNC_USERNAME}", defaults: #{{ Account: "Business_Account" }} }});"#),
            &[],
            false,
        )
        .await
        .expect("compiles");
    assert_eq!(failure_code(&report), Some("runner::set_defaults::default_needed"));
    let message = &report.error.as_ref().expect("error").message;
    assert!(message.contains("Contact") && message.contains("Customer") && message.contains("Partner"), "{message}");

    let report = org
        .play_text(&format!(r#"set_defaults(#{{ user: "{SYNC_USERNAME}", defaults: #{{ Account: "Nope", Contact: "Customer", Order: "Online" }} }});"#), &[], false)
        .await
        .expect("compiles");
    assert_eq!(failure_code(&report), Some("runner::set_defaults::unknown_record_type"));
    assert!(org.journal().is_empty(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_with_one_record_type_need_no_default() {
    let org = TestOrg::start(Scenario::SingleRecordTypes).await;
    let report = org
        .play_text(&format!(r#"set_defaults(#{{ user: "{SYNC_USERNAME}" }});"#), &[], false)
        .await
        .expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(outcome_of(&report, "set_defaults"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_can_deactivate_the_previous_user() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    // Swap to the seeded user's replacement: set one up first, then swap with deactivate.
    let dir = tempfile::tempdir().expect("temp dir");
    let totp = dir.path().join("b.totp").to_string_lossy().to_string();
    let setup = format!(
        r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});
           assign_psl(#{{ user: "{USER}" }});
           assign_permission_sets(#{{ user: "{USER}" }});
           verify(#{{ user: "{USER}", secret_file: "{totp}" }});
           swap_user(#{{ new_user: "{USER}", retire_old: "deactivate" }});"#
    );
    let report = org.play_text(&setup, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    let old = org.query(&format!("SELECT IsActive FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    assert_eq!(old[0]["IsActive"], false);
    let new = org.query(&format!("SELECT IsActive FROM User WHERE Username = '{USER}'")).await;
    assert_eq!(new[0]["IsActive"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_limit_stops_the_run_with_a_clear_error() {
    let faults = Faults { api_limit: Some(6), ..Faults::default() };
    let org = TestOrg::start_with(SimConfig { faults, ..SimConfig::default() }).await;
    let vars = [("username", USER), ("email", "ops@client.example"), ("totp_file", "/tmp/never.totp")];
    let report = org.play(&runner_tests::scripts_dir().join("setup.rhai"), &vars, false).await;
    assert_eq!(failure_code(&report), Some("runner::sf::request_limit"));
    assert!(report.error.as_ref().expect("error").message.to_lowercase().contains("limit"));
}
