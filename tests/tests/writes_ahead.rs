//! Writes ahead (`runner_core::ahead`): the plan's chain of setup creates goes to the org
//! in one Composite request at the chain's first write. These tests check what the org
//! holds afterwards, and what the report says, when the run and the chain part ways.

use runner_sim::request_log::RequestLog;
use runner_sim::{Faults, Scenario, SimConfig};
use runner_tests::{TestOrg, borrowed, failure_code, outcome_of, scripts_dir};

const USER: &str = "ahead.sync@client.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_went_ahead_for_a_step_the_run_never_reached_is_in_the_report() {
    // The planning pass sees `org.check_mode` set and plans all three steps; the run stops
    // after the first. The licence and the sets went with the user's create.
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let playbook = format!(
        r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});
           if !org.check_mode {{ throw "stopped by the playbook"; }}
           assign_psl(#{{ user: "{USER}" }});
           assign_permission_sets(#{{ user: "{USER}" }});"#
    );
    let report = org.play_text(&playbook, &[], false).await.expect("compiles");
    assert!(report.error.as_ref().is_some_and(|e| e.message.contains("stopped by the playbook")), "{:?}", report.error);
    assert_eq!(outcome_of(&report, "create_user"), "changed");
    assert!(report.steps.iter().all(|s| s.name != "assign_psl" && s.name != "assign_permission_sets"));
    let psl = org.count(&format!("SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = '{USER}'")).await;
    let sets = org
        .count(&format!(
            "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '{USER}' AND PermissionSet.IsOwnedByProfile = false"
        ))
        .await;
    assert_eq!((psl, sets), (1, 2), "the chain was applied whole");
    let notes = report.notes.join("\n");
    for step in ["assign_psl", "assign_permission_sets"] {
        assert!(
            notes.contains(&format!("written ahead for {step}, which did not ask for it")),
            "{step} is named: {notes}"
        );
    }
    // The next run finds them made: nothing is assigned twice.
    let again = org
        .play_text(
            &format!(r#"assign_psl(#{{ user: "{USER}" }}); assign_permission_sets(#{{ user: "{USER}" }});"#),
            &[],
            false,
        )
        .await
        .expect("compiles");
    assert_eq!(failure_code(&again), None, "{:?}", again.error);
    assert_eq!(outcome_of(&again, "assign_psl"), "ok");
    assert_eq!(outcome_of(&again, "assign_permission_sets"), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_plans_no_chain_writes_as_before() {
    // A check run plans nothing to send ahead, and writes nothing.
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let playbook = format!(
        r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});
           assign_psl(#{{ user: "{USER}" }});
           assign_permission_sets(#{{ user: "{USER}" }});"#
    );
    let report = org.play_text(&playbook, &[], true).await.expect("compiles");
    assert_eq!(failure_code(&report), None, "{:?}", report.error);
    assert_eq!(outcome_of(&report, "assign_permission_sets"), "changed");
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0);
    assert!(report.notes.iter().all(|n| !n.contains("written ahead")), "{:?}", report.notes);
}

/// Runs a first setup on a new org; its report, the credentials file, the org, and the
/// requests the run sent.
async fn first_setup(
    faults: Faults,
    dir: &std::path::Path,
) -> (runner_core::report::OrgReport, std::path::PathBuf, TestOrg, usize) {
    let log = RequestLog::memory();
    let strict = faults.composite_reads_before_writes;
    let org = TestOrg::start_with(SimConfig { faults, access_log: Some(log.clone()), ..SimConfig::default() }).await;
    let credentials = dir.join(format!("sync-{strict}.creds"));
    let vars = org.setup_vars(USER, &credentials.to_string_lossy()).await;
    log.clear();
    let report = org.play(&scripts_dir().join("setup.rhai"), &borrowed(&vars), false).await;
    let requests = log.entries().len();
    (report, credentials, org, requests)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmations_the_composite_request_did_not_show_are_read_again() {
    // The strictest reading of what Salesforce leaves undocumented: a query in the same
    // Composite request as the password (or the TOTP secret) sees none of it. The steps
    // read their confirmation again after the request, and setup ends where it must:
    // StoreConnect signs in with the kept credentials.
    let dir = tempfile::tempdir().expect("temp dir");
    let strict = Faults { composite_reads_before_writes: true, ..Faults::default() };
    let (report, credentials, org, requests) = first_setup(strict, dir.path()).await;
    assert_eq!(failure_code(&report), None, "{:?}", report.error);
    assert_eq!(outcome_of(&report, "set_password"), "changed");
    assert_eq!(outcome_of(&report, "verify"), "changed");
    let details = runner_tests::sign_in_details(&credentials);
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "StoreConnect signs in with the kept credentials: {body}");
    // Reading them again cost requests the default reading does not need.
    let (default, _, _, default_requests) = first_setup(Faults::default(), dir.path()).await;
    assert_eq!(failure_code(&default), None, "{:?}", default.error);
    assert!(requests > default_requests, "read again: {requests} requests, {default_requests} without");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_first_write_fails_its_own_step_and_the_chain_writes_nothing() {
    // The username is taken in another org: Salesforce refuses the user's create, the
    // first of the chain, and rolls back the licence sent with it.
    let log = RequestLog::memory();
    let org = TestOrg::start_with(SimConfig { access_log: Some(log.clone()), ..SimConfig::default() }).await;
    let taken = "sync@taken.example";
    // The profile's defaults come later in the plan: they wait for the chain, so a
    // refused chain leaves the profile as it was.
    let profile = org.query("SELECT Id FROM Profile WHERE UserLicense.Name = 'Salesforce Integration'").await;
    let profile = profile[0]["Id"].as_str().expect("the integration profile").to_string();
    let before = org.profile_visibilities(&profile).await;
    let defaults = org.default_vars().await;
    let playbook = format!(
        r#"create_user(#{{ username: "{taken}", email: "ops@client.example" }});
           assign_psl(#{{ user: "{taken}" }});
           set_defaults(#{{ user: "{taken}", defaults: #{{ {} }} }});"#,
        defaults
            .iter()
            .map(|(k, v)| format!("{}: \"{v}\"", k.trim_start_matches("default_")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let report = org.play_text(&playbook, &[], false).await.expect("compiles");
    assert_eq!(failure_code(&report), Some("runner::create_user::duplicate_username"), "{:?}", report.error);
    assert!(report.steps.iter().all(|s| s.name != "assign_psl"), "the playbook stopped at create_user");
    let psl =
        org.count(&format!("SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = '{taken}'")).await;
    assert_eq!(psl, 0, "nothing of the chain was kept");
    let chains = log.entries().iter().filter(|r| r.method == "POST" && r.path.ends_with("/composite")).count();
    assert_eq!(chains, 1, "the user and its licence went as one request");
    assert!(report.notes.iter().all(|n| !n.contains("written ahead")), "{:?}", report.notes);
    assert_eq!(org.profile_visibilities(&profile).await, before, "the profile's defaults are untouched");
}
