//! The outcome of setup is that StoreConnect can sign in as the sync user: every test
//! here ends with StoreConnect's Console sign-in, as the simulated org plays it. Record
//! type names are the org's own, found by query.

use runner_sim::{SYNC_USERNAME, Scenario};
use runner_tests::{TestOrg, borrowed, failure_code, outcome_of, scripts_dir, sign_in_details};

const USER: &str = "storeconnect.sync2@client.example";
const OTHER: &str = "storeconnect.sync3@client.example";

async fn setup_vars(org: &TestOrg, username: &str, credentials: &str) -> Vec<(String, String)> {
    org.setup_vars(username, credentials).await
}

async fn user_id(org: &TestOrg, username: &str) -> String {
    let rows = org.query(&format!("SELECT Id FROM User WHERE Username = '{username}'")).await;
    rows.first().and_then(|r| r["Id"].as_str()).map(str::to_string).unwrap_or_else(|| panic!("no user {username}"))
}

async fn configured(org: &TestOrg) -> Option<String> {
    let rows =
        org.query("SELECT s_c__Text__c FROM s_c__Setup_Configuration__c WHERE Name = 'selected_sync_user_id'").await;
    rows.first().and_then(|r| r["s_c__Text__c"].as_str().map(str::to_string))
}

fn same_id(a: &str, b: &str) -> bool {
    a.len() >= 15 && b.len() >= 15 && a[..15] == b[..15]
}

async fn set_up(org: &TestOrg, username: &str, credentials: &std::path::Path) {
    let vars = setup_vars(org, username, &credentials.to_string_lossy()).await;
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert!(report.error.is_none(), "setup of {username}: {:#?}", report.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_setup_storeconnect_signs_in_as_the_sync_user_and_a_rerun_writes_nothing() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let vars = setup_vars(&org, USER, &credentials.to_string_lossy()).await;
    assert!(vars.iter().any(|(k, _)| k.starts_with("default_")), "the seed has objects with several record types");
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert!(report.error.is_none(), "{:#?}", report.error);
    for step in ["create_user", "assign_psl", "assign_permission_sets", "set_password", "verify", "set_defaults"] {
        assert_eq!(outcome_of(&report, step), "changed", "{step} on a fresh org");
    }
    let users = org.query(&format!("SELECT Id, LastPasswordChangeDate FROM User WHERE Username = '{USER}'")).await;
    assert!(users[0]["LastPasswordChangeDate"].is_string(), "the password is set: {:?}", users[0]);

    let writes = org.writes().len();
    let again = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert!(again.error.is_none(), "{:#?}", again.error);
    for step in ["create_user", "assign_psl", "assign_permission_sets", "set_password", "verify", "set_defaults"] {
        assert_eq!(outcome_of(&again, step), "ok", "{step} on a set-up org");
    }
    assert_eq!(org.writes().len(), writes, "a re-run sends no write");

    let details = sign_in_details(&credentials);
    assert_eq!(details.username, USER);
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "{body}");
    let id = user_id(&org, USER).await;
    assert!(same_id(configured(&org).await.as_deref().unwrap_or_default(), &id), "StoreConnect is configured with it");
    let state = org.storeconnect_state().await;
    assert_eq!(state["authenticated_user_id"].as_str(), Some(id.as_str()), "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_that_cannot_finish_names_every_record_type_choice_and_writes_nothing() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds").to_string_lossy().to_string();
    let vars = [("username", USER), ("email", "ops@client.example"), ("credentials_file", credentials.as_str())];
    let report = org.play(&scripts_dir().join("setup.rhai"), &vars, false).await;
    assert_eq!(failure_code(&report), Some("runner::set_defaults::default_needed"), "{:#?}", report.error);
    let message = &report.error.as_ref().expect("an error").message;
    for (object, _) in org.record_type_choices().await {
        assert!(message.contains(&format!("--var default_{object}=")), "names the var for {object}: {message}");
        let names = org
            .query(&format!(
                "SELECT DeveloperName FROM RecordType WHERE SobjectType = '{object}' AND IsActive = true AND IsPersonType = false"
            ))
            .await;
        for name in names {
            let name = name["DeveloperName"].as_str().unwrap_or_default();
            assert!(message.contains(name), "lists {object}.{name}: {message}");
        }
    }
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0, "no user is left behind");
    assert!(org.writes().is_empty(), "nothing was sent");
    assert!(!std::path::Path::new(&credentials).exists(), "no credentials file for a user that does not exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_user_without_the_mfa_permission_stops_setup_before_any_write() {
    let org = TestOrg::start(Scenario::NoMfaPermission).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds").to_string_lossy().to_string();
    let vars = setup_vars(&org, USER, &credentials).await;
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert_eq!(failure_code(&report), Some("runner::mfa::permission_missing"), "{:#?}", report.error);
    let error = report.error.as_ref().expect("an error");
    assert!(error.message.contains("Manage Multi-Factor Authentication in API"), "{}", error.message);
    assert!(error.hint.as_deref().unwrap_or_default().contains("nothing was written"), "{error:?}");
    let verify = report.steps.iter().find(|s| s.name == "verify").expect("verify is reported");
    assert_eq!(verify.error.as_ref().map(|e| e.code.as_str()), Some("runner::mfa::permission_missing"));
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0);
    assert!(org.writes().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_are_set_on_a_profile_whose_name_is_translated() {
    let org = TestOrg::start(Scenario::Localized).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let choices = org.record_type_choices().await;
    set_up(&org, USER, &credentials).await;
    let profile = org.query(&format!("SELECT ProfileId, Profile.Name FROM User WHERE Username = '{USER}'")).await;
    let profile_id = profile[0]["ProfileId"].as_str().expect("a profile").to_string();
    let visibilities = org.profile_visibilities(&profile_id).await;
    for (object, wanted) in choices {
        let full = format!("{object}.{wanted}");
        let defaults: Vec<&String> = visibilities
            .iter()
            .filter(|(rt, default, _)| *default && rt.starts_with(&format!("{object}.")))
            .map(|(rt, ..)| rt)
            .collect();
        assert_eq!(defaults, vec![&full], "one default for {object}: {visibilities:?}");
    }
    let active = org.query("SELECT SobjectType, DeveloperName FROM RecordType WHERE IsActive = true").await;
    for rt in active {
        let full = format!(
            "{}.{}",
            rt["SobjectType"].as_str().unwrap_or_default(),
            rt["DeveloperName"].as_str().unwrap_or_default()
        );
        assert!(
            visibilities.iter().any(|(name, _, visible)| *visible && name == &full),
            "{full} stays visible: {visibilities:?}"
        );
    }
    let details = sign_in_details(&credentials);
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_set_up_without_a_password_cannot_sign_in() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let file = credentials.to_string_lossy().to_string();
    let playbook = format!(
        r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});
           assign_psl(#{{ user: "{USER}" }});
           assign_permission_sets(#{{ user: "{USER}" }});
           verify(#{{ user: "{USER}", credentials_file: "{file}" }});"#
    );
    let report = org.play_text(&playbook, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:#?}", report.error);
    let credentials = runner_core::credentials::Credentials::load(&credentials).expect("loads").expect("kept");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let code = credentials.totp_code_at(now).expect("a secret");
    assert!(!credentials.has_password(), "verify keeps no password");
    let (status, body) = org.sign_in(USER, "a guess 12345", &code).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body["reason"].as_str().unwrap_or_default().contains("password"), "the reason names the password: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_goes_through_the_console_then_freezes_the_old_user() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("b.creds");
    set_up(&org, USER, &credentials).await;
    let a = user_id(&org, SYNC_USERNAME).await;
    let b = user_id(&org, USER).await;
    assert!(same_id(&configured(&org).await.unwrap_or_default(), &a), "the seed syncs as A");

    let file = credentials.to_string_lossy().to_string();
    let first = [("new_user", USER), ("credentials_file", file.as_str())];
    let report = org.play(&scripts_dir().join("swap.rhai"), &first, false).await;
    assert!(report.error.is_none(), "{:#?}", report.error);
    let swap = report.steps.iter().find(|s| s.name == "swap_user").expect("swap_user ran");
    assert!(swap.summary.contains(SYNC_USERNAME), "names who StoreConnect syncs as: {}", swap.summary);
    assert!(swap.summary.contains("Change Sync User"), "says what to do in the Console: {}", swap.summary);
    assert!(same_id(&configured(&org).await.unwrap_or_default(), &a), "until the sign-in, the configuration names A");

    let details = sign_in_details(&credentials);
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "{body}");
    assert!(same_id(&configured(&org).await.unwrap_or_default(), &b));

    let retire = [("new_user", USER), ("retire_old", "freeze"), ("old_user", SYNC_USERNAME)];
    let report = org.play(&scripts_dir().join("swap.rhai"), &retire, false).await;
    assert!(report.error.is_none(), "{:#?}", report.error);
    assert_eq!(outcome_of(&report, "swap_user"), "changed");
    let frozen = |id: String| {
        let org = &org;
        async move {
            org.query(&format!("SELECT IsFrozen FROM UserLogin WHERE UserId = '{id}'")).await[0]["IsFrozen"] == true
        }
    };
    assert!(frozen(a.clone()).await, "A is frozen");
    assert!(!frozen(b.clone()).await, "B is not");

    let writes = org.writes().len();
    let again = org.play(&scripts_dir().join("swap.rhai"), &retire, false).await;
    assert!(again.error.is_none(), "{:#?}", again.error);
    assert_eq!(outcome_of(&again, "swap_user"), "ok");
    assert_eq!(org.writes().len(), writes, "a third run writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retiring_the_configured_user_is_refused() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    set_up(&org, USER, &dir.path().join("b.creds")).await;
    set_up(&org, OTHER, &dir.path().join("c.creds")).await;
    let details = sign_in_details(&dir.path().join("b.creds"));
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "{body}");
    // StoreConnect syncs as B: naming B as the old user of a swap to C must not freeze it
    // before the Console has moved to C.
    let vars = [("new_user", OTHER), ("retire_old", "freeze"), ("old_user", USER)];
    let report = org.play(&scripts_dir().join("swap.rhai"), &vars, false).await;
    assert!(report.error.is_none(), "{:#?}", report.error);
    assert_eq!(outcome_of(&report, "swap_user"), "skipped", "waits for the Console change");
    let b = user_id(&org, USER).await;
    let login = org.query(&format!("SELECT IsFrozen FROM UserLogin WHERE UserId = '{b}'")).await;
    assert_eq!(login[0]["IsFrozen"], false, "the configured user is never retired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn person_account_defaults_are_set_beside_the_business_default() {
    let org = TestOrg::start(Scenario::PersonAccounts).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let person = org
        .query("SELECT DeveloperName FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true AND IsActive = true")
        .await;
    let person = person[0]["DeveloperName"].as_str().expect("a person record type").to_string();
    let mut vars = setup_vars(&org, USER, &credentials.to_string_lossy()).await;
    vars.push(("person_default_Account".into(), person.clone()));
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert!(report.error.is_none(), "{:#?}", report.error);
    let again = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert_eq!(outcome_of(&again, "set_defaults"), "ok", "{:#?}", again.steps);
    let details = sign_in_details(&credentials);
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "{body}");
}
