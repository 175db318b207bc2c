//! Individual steps' edges: reactivation, TOTP rotation, record-type choices, retiring
//! by deactivation, single record types, and the API limit.

use runner_sim::{Faults, SYNC_USERNAME, Scenario, SimConfig};
use runner_tests::{TestOrg, failure_code, outcome_of};
use serde_json::json;

const USER: &str = "edge.sync@client.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_user_is_reactivated_only_when_asked() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let create = format!(r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});"#);
    org.play_text(&create, &[], false).await.expect("compiles");
    let id = org.query(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await[0]["Id"]
        .as_str()
        .expect("id")
        .to_string();
    org.update("User", &id, json!({"IsActive": false})).await;

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

    let rotate = format!(r#"verify(#{{ user: "{SYNC_USERNAME}", rotate: true, credentials_file: "{file}" }});"#);
    let report = org.play_text(&rotate, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(outcome_of(&report, "verify"), "changed");
    let registered = org.query(&format!("SELECT Id FROM TwoFactorInfo WHERE User.Username = '{SYNC_USERNAME}'")).await;
    assert_eq!(registered.len(), 1, "the old secret was replaced, not added to");
    let kept = runner_core::credentials::Credentials::load(std::path::Path::new(file.as_ref()))
        .expect("the credentials file loads")
        .expect("the new secret is kept");
    assert_eq!(kept.totp_code_at(59).map(|c| c.len()), Some(6));
    assert!(kept.totp_registered_at.is_some(), "and marked registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_defaults_lists_the_choices_of_every_object_without_a_default() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let choices = org.record_type_choices().await;
    assert!(choices.len() >= 2, "the seed has several objects with several record types: {choices:?}");
    let (first_object, first_choice) = &choices[0];
    let report = org
        .play_text(
            &format!(
                r#"set_defaults(#{{ user: "{SYNC_USERNAME}", defaults: #{{ {first_object}: "{first_choice}" }} }});"#
            ),
            &[],
            false,
        )
        .await
        .expect("compiles");
    assert_eq!(failure_code(&report), Some("runner::set_defaults::default_needed"), "{:#?}", report.error);
    let message = &report.error.as_ref().expect("error").message;
    for (object, _) in &choices[1..] {
        assert!(message.contains(&format!("--var default_{object}=")), "{object} in {message}");
    }
    assert!(!message.contains(&format!("--var default_{first_object}=")), "{first_object} has its default: {message}");

    let mut given: Vec<String> = choices.iter().map(|(o, rt)| format!("{o}: \"{rt}\"")).collect();
    given[0] = format!("{first_object}: \"Nope\"");
    let report = org
        .play_text(
            &format!(r#"set_defaults(#{{ user: "{SYNC_USERNAME}", defaults: #{{ {} }} }});"#, given.join(", ")),
            &[],
            false,
        )
        .await
        .expect("compiles");
    let finding =
        report.steps.iter().find(|s| s.name == "set_defaults").and_then(|s| s.error.clone()).expect("a finding");
    assert_eq!(finding.code, "runner::set_defaults::unknown_record_type");

    let typo = format!(r#"set_defaults(#{{ user: "{SYNC_USERNAME}", defaults: #{{ Acount: "X" }} }});"#);
    let report = org.play_text(&typo, &[], false).await.expect("compiles");
    let message = &report.error.as_ref().expect("error").message;
    assert!(message.contains("Acount") && message.contains("did you mean Account"), "{message}");
    assert!(org.writes().is_empty(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_for_an_object_with_one_record_type_is_a_warning() {
    let org = TestOrg::start(Scenario::SingleRecordTypes).await;
    let rt = org.query("SELECT DeveloperName FROM RecordType WHERE SobjectType = 'Account'").await;
    let name = rt[0]["DeveloperName"].as_str().expect("a record type");
    let playbook = format!(r#"set_defaults(#{{ user: "{SYNC_USERNAME}", defaults: #{{ Account: "{name}" }} }});"#);
    let report = org.play_text(&playbook, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    let record = report.steps.iter().find(|s| s.name == "set_defaults").expect("ran");
    assert_eq!(record.outcome.as_str(), "ok");
    assert!(record.warnings.iter().any(|w| w.contains("needs none")), "{:?}", record.warnings);
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
async fn swap_can_deactivate_the_previous_user_once_storeconnect_syncs_as_the_new_one() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("b.creds");
    let creds = file.to_string_lossy().to_string();
    let setup = format!(
        r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});
           assign_psl(#{{ user: "{USER}" }});
           assign_permission_sets(#{{ user: "{USER}" }});
           set_password(#{{ user: "{USER}", credentials_file: "{creds}" }});
           verify(#{{ user: "{USER}", credentials_file: "{creds}" }});"#
    );
    let report = org.play_text(&setup, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    let details = runner_tests::sign_in_details(&file);
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "{body}");
    let swap =
        format!(r#"swap_user(#{{ new_user: "{USER}", retire_old: "deactivate", old_user: "{SYNC_USERNAME}" }});"#);
    let report = org.play_text(&swap, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    let old = org.query(&format!("SELECT IsActive FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    assert_eq!(old[0]["IsActive"], false);
    let new = org.query(&format!("SELECT IsActive FROM User WHERE Username = '{USER}'")).await;
    assert_eq!(new[0]["IsActive"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_limit_stops_the_run_with_a_clear_error() {
    // The record type choices read here (4), then one wave: userinfo (which the limit
    // gates but does not count), the Organization, the batch of reads, listMetadata and
    // readMetadata (4); then the user's create, sent ahead with its licence and sets in
    // one request (1): the limit falls on the next write, the password's.
    // A limit inside that wave would refuse whichever of its requests came last.
    let faults = Faults { api_limit: Some(9), ..Faults::default() };
    let org = TestOrg::start_with(SimConfig { faults, ..SimConfig::default() }).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let creds = dir.path().join("sync.creds").to_string_lossy().to_string();
    let mut vars = vec![
        ("username".to_string(), USER.to_string()),
        ("email".to_string(), "ops@client.example".to_string()),
        ("credentials_file".to_string(), creds),
    ];
    vars.extend(org.default_vars().await);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let report = org.play(&runner_tests::scripts_dir().join("setup.rhai"), &vars, false).await;
    assert_eq!(failure_code(&report), Some("runner::sf::request_limit"));
    assert!(report.error.as_ref().expect("error").message.to_lowercase().contains("limit"));
}
