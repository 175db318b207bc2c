//! The StoreConnect setup playbook against the simulated org, asserting on the org's state.

use runner_sim::Scenario;
use runner_tests::{TestOrg, borrowed, failure_code, outcome_of, scripts_dir};

const USER: &str = "storeconnect.sync2@client.example";

async fn setup_vars(org: &TestOrg, credentials: &str) -> Vec<(String, String)> {
    org.setup_vars(USER, credentials).await
}

async fn assert_fully_set_up(org: &TestOrg) {
    let users = org.query(&format!("SELECT Id, IsActive, Profile.Name FROM User WHERE Username = '{USER}'")).await;
    assert_eq!(users.len(), 1, "exactly one user");
    assert_eq!(users[0]["IsActive"], true);
    assert_eq!(users[0]["Profile"]["Name"], "Minimum Access - API Only Integrations");
    let psl = org
        .query(&format!(
            "SELECT Id, PermissionSetLicense.DeveloperName FROM PermissionSetLicenseAssign WHERE Assignee.Username = '{USER}'"
        ))
        .await;
    assert_eq!(psl.len(), 1, "exactly one PSL assignment");
    assert_eq!(psl[0]["PermissionSetLicense"]["DeveloperName"], "SalesforceAPIIntegrationPsl");
    let sets = org
        .query(&format!(
            "SELECT PermissionSet.Name, PermissionSet.NamespacePrefix FROM PermissionSetAssignment \
             WHERE Assignee.Username = '{USER}' AND PermissionSet.IsOwnedByProfile = false ORDER BY PermissionSet.Name"
        ))
        .await;
    let names: Vec<String> = sets
        .iter()
        .map(|s| match s["PermissionSet"]["NamespacePrefix"].as_str() {
            Some(ns) => format!("{ns}__{}", s["PermissionSet"]["Name"].as_str().unwrap_or_default()),
            None => s["PermissionSet"]["Name"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    assert_eq!(names, vec!["s_c__storeConnect_Sync", "storeConnect_Sync_standard"]);
    let mfa = org.query(&format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE User.Username = '{USER}'")).await;
    assert_eq!(mfa.len(), 1);
    assert_eq!(mfa[0]["HasTotp"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_creates_a_fully_set_up_sync_user_and_a_rerun_writes_nothing() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let choices = org.record_type_choices().await;
    let vars = setup_vars(&org, &credentials.to_string_lossy()).await;
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert_eq!(report.error.as_ref().map(|e| e.message.clone()), None);
    for step in ["create_user", "assign_psl", "assign_permission_sets", "set_password", "verify", "set_defaults"] {
        assert_eq!(outcome_of(&report, step), "changed", "{step} on a fresh org");
    }
    assert_fully_set_up(&org).await;
    let users = org.query(&format!("SELECT ProfileId FROM User WHERE Username = '{USER}'")).await;
    let visibilities = org.profile_visibilities(users[0]["ProfileId"].as_str().expect("a profile")).await;
    for (object, wanted) in choices {
        let full = format!("{object}.{wanted}");
        assert!(visibilities.iter().any(|(rt, default, _)| *default && rt == &full), "{full}: {visibilities:?}");
    }

    let writes_before = org.writes().len();
    let again = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert!(again.error.is_none(), "{:?}", again.error);
    for step in ["create_user", "assign_psl", "assign_permission_sets", "set_password", "verify", "set_defaults"] {
        assert_eq!(outcome_of(&again, step), "ok", "{step} on a set-up org");
    }
    assert_eq!(org.writes().len(), writes_before, "a re-run sends no write");
    // Connection and facts (2: userinfo and the Organization), and beside them every step's
    // reads read ahead in one batch (1), beside it the profiles' full
    // names (listMetadata, 1) and the integration profile's record types (readMetadata, 1);
    // planning reuses what was read.
    assert_eq!(again.recap.api_calls, 5, "a re-run costs one round of reads: {:#?}", again.steps);
    assert_fully_set_up(&org).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_mode_reports_every_change_and_writes_nothing() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let users_before = org.count("SELECT Id FROM User").await;
    let never = "/nonexistent-folder-for-runner/never-written.creds";
    let vars = setup_vars(&org, never).await;
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), true).await;
    // The credentials file's folder is missing: planning says so before anything is written.
    assert_eq!(
        failure_code(&report),
        Some("runner::plan::cannot_finish"),
        "set_password and verify: {:#?}",
        report.error
    );
    assert!(report.error.as_ref().expect("an error").message.contains("nonexistent-folder-for-runner"));

    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let vars = setup_vars(&org, &credentials.to_string_lossy()).await;
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), true).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    for step in ["create_user", "assign_psl", "assign_permission_sets", "set_password", "verify", "set_defaults"] {
        assert_eq!(outcome_of(&report, step), "changed", "{step} would change");
        let record = report.steps.iter().find(|s| s.name == step).expect("step ran");
        assert!(!record.changes.is_empty(), "{step} says what would change");
    }
    assert_eq!(report.recap.api_calls, 5, "check mode reads once and writes nothing: {:#?}", report.steps);
    assert_eq!(org.count("SELECT Id FROM User").await, users_before);
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0);
    assert!(org.writes().is_empty(), "check mode journals no write");
    assert!(!credentials.exists(), "check mode keeps no credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_integration_profile_is_accepted() {
    let org = TestOrg::start(Scenario::LegacyProfile).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds").to_string_lossy().to_string();
    let vars = setup_vars(&org, &credentials).await;
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let users = org.query(&format!("SELECT Profile.Name FROM User WHERE Username = '{USER}'")).await;
    assert_eq!(users[0]["Profile"]["Name"], "Salesforce API Only System Integrations");
}

/// The code of the finding a planned run stopped on, for `step`.
fn finding_code<'a>(report: &'a runner_core::report::OrgReport, step: &str) -> Option<&'a str> {
    report.steps.iter().find(|s| s.name == step).and_then(|s| s.error.as_ref()).map(|e| e.code.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_free_seat_is_reported_with_the_licence_counts_before_any_write() {
    let org = TestOrg::start(Scenario::NoSeats).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = setup_vars(&org, &dir.path().join("sync.creds").to_string_lossy()).await;
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    // Both licences are full: every problem is named at once.
    assert_eq!(failure_code(&report), Some("runner::plan::cannot_finish"));
    assert_eq!(finding_code(&report, "create_user"), Some("runner::create_user::no_free_seats"));
    assert_eq!(finding_code(&report, "assign_psl"), Some("runner::assign_psl::no_free_seats"));
    let message = &report.error.as_ref().expect("an error").message;
    assert!(message.contains("Salesforce Integration") && message.contains("1 of 1 used"), "{message}");
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0);
    assert!(org.writes().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_package_is_named_before_any_write() {
    let org = TestOrg::start(Scenario::NoPackage).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let vars = setup_vars(&org, &dir.path().join("sync.creds").to_string_lossy()).await;
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    assert_eq!(failure_code(&report), Some("runner::assign_permission_sets::package_missing"));
    assert!(report.error.as_ref().expect("error").message.contains("StoreConnect package is not installed"));
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0, "no user is left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_sets_before_the_psl_are_refused_and_nothing_is_written() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let playbook = format!(
        r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});
           assign_permission_sets(#{{ user: "{USER}" }});"#
    );
    let report = org.play_text(&playbook, &[], false).await.expect("compiles");
    assert_eq!(failure_code(&report), Some("runner::assign_permission_sets::license_missing"));
    let error = report.error.as_ref().expect("an error");
    assert!(error.message.contains("Salesforce API Integration"), "names the PSL: {}", error.message);
    assert!(error.hint.as_deref().unwrap_or_default().contains("assign_psl"), "says which step comes first: {error:?}");
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_set_salesforce_refuses_is_reported_by_its_cause_not_by_the_rollback() {
    // A set tied to the Salesforce user licence cannot go to an integration user; runner
    // cannot foresee it from the set (only PSL-bound sets are checked), so Salesforce
    // refuses the all-or-none request and reports the first set as rolled back.
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let licence = org.query("SELECT Id FROM UserLicense WHERE Name = 'Salesforce'").await[0]["Id"].clone();
    org.insert(
        "PermissionSet",
        serde_json::json!({"Name": "Sales_Extras", "Label": "Sales Extras", "LicenseId": licence}),
    )
    .await;
    let playbook = format!(
        r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});
           assign_psl(#{{ user: "{USER}" }});
           assign_permission_sets(#{{ user: "{USER}", permission_sets: ["s_c__storeConnect_Sync", "Sales_Extras"] }});"#
    );
    let report = org.play_text(&playbook, &[], false).await.expect("compiles");
    let error = report
        .steps
        .iter()
        .find(|s| s.name == "assign_permission_sets")
        .and_then(|s| s.error.as_ref())
        .expect("Salesforce refuses");
    assert_eq!(error.code, "runner::assign_permission_sets::license_mismatch", "{error:#?}");
    assert_eq!(error.error_code.as_deref(), Some("FIELD_INTEGRITY_EXCEPTION"), "{error:#?}");
    assert!(!error.message.contains("rolled back"), "{}", error.message);
    let held = org
        .count(&format!(
            "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '{USER}' AND PermissionSet.IsOwnedByProfile = false"
        ))
        .await;
    assert_eq!(held, 0, "all or none: the other set was not kept either");
    // The refusal rolled back the chain sent ahead with the user's create; each step then
    // sent its own write, so what the steps before the refused one made is there.
    assert_eq!(outcome_of(&report, "create_user"), "changed");
    assert_eq!(outcome_of(&report, "assign_psl"), "changed");
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 1);
    let psl = org.count(&format!("SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = '{USER}'")).await;
    assert_eq!(psl, 1, "the licence, assigned once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_username_taken_in_another_org_suggests_another() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org
        .play_text(r#"create_user(#{ username: "sync@taken.example", email: "ops@client.example" });"#, &[], false)
        .await
        .expect("compiles");
    assert_eq!(failure_code(&report), Some("runner::create_user::duplicate_username"));
    let hint = report.error.as_ref().and_then(|e| e.hint.clone()).unwrap_or_default();
    assert!(hint.contains("choose another"), "{hint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_runs_over_https_trusting_the_simulated_orgs_certificate() {
    let config = runner_sim::SimConfig { tls: true, ..runner_sim::SimConfig::default() };
    let org = TestOrg::start_with(config).await;
    let url = org.sim().instance_url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let pem = org.sim().certificate_pem().expect("a TLS sim has a certificate").as_bytes().to_vec();

    // Without trusting the certificate, runner refuses the connection.
    let auth = || runner_core::client::Auth::AccessToken(org.sim().token().to_string().into());
    // Connecting with a known API version sends nothing: the first request meets the certificate.
    let untrusted = match runner_core::client::SfClient::connect(&url, auth(), Default::default()).await {
        Ok(client) => client.query("SELECT Id FROM Organization").await.map(|_| ()),
        Err(err) => Err(err),
    };
    assert!(untrusted.is_err(), "a self-signed certificate is not trusted by default");

    let options = runner_core::client::ClientOptions { extra_root_certs: vec![pem], ..Default::default() };
    let client = runner_core::client::SfClient::connect(&url, auth(), options).await.expect("trusted TLS connect");
    let rows = client.query("SELECT Id FROM Organization").await.expect("a query over https");
    assert_eq!(rows.records.len(), 1);
}
