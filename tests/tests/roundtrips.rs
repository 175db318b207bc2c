//! Round trips per playbook, counted from the simulated org's request log: every request
//! with its start and end, so that requests sent together count as one *wave* and the
//! waves are the run's sequential round trips (see `runner_sim::request_log`). The org
//! waits a latency on each request only so that requests sent together overlap in the
//! log whatever the machine's load; nothing here measures time.
//!
//! The counts are pinned: a change that adds a round trip (or an API call) must say so
//! here. `bench/latency.sh` measures what they cost at a given latency.
//! Before this file: a first setup took 21 waves (18 after connecting), a re-run 6 (3);
//! before the read-ahead's first round went out with connecting, 10 (9) and 2 (1).

use runner_sim::request_log::{LoggedRequest, RequestLog, waves};
use runner_sim::{Faults, SimConfig};
use runner_tests::{TestOrg, borrowed, failure_code, outcome_of, scripts_dir};

const USER: &str = "roundtrips.sync@client.example";
const OTHER: &str = "roundtrips.grant@client.example";

/// Enough for requests sent together to overlap in the log even on a loaded machine.
const LATENCY_MS: u64 = 60;

/// Waves with a connecting request in them: the version list, a token, userinfo.
fn connecting_waves(requests: &[LoggedRequest]) -> usize {
    let connecting = |r: &LoggedRequest| {
        r.path.starts_with("/services/oauth2/")
            || (r.method == "GET" && r.path.trim_end_matches('/') == "/services/data")
    };
    let mut spans: Vec<(u64, u64, bool)> = requests.iter().map(|r| (r.start_us, r.end_us, connecting(r))).collect();
    spans.sort_unstable();
    let mut found: Vec<(u64, bool)> = Vec::new();
    for (start, end, c) in spans {
        match found.last_mut() {
            Some((reach, any)) if start < *reach => {
                *reach = (*reach).max(end);
                *any |= c;
            }
            _ => found.push((end, c)),
        }
    }
    found.iter().filter(|(_, c)| *c).count()
}

/// (API calls the run counted, requests the org saw, waves, waves after connecting).
fn counts(report: &runner_core::report::OrgReport, log: &RequestLog) -> (u64, usize, usize, usize) {
    let requests = log.entries();
    let all = waves(&requests);
    (report.recap.api_calls, requests.len(), all, all - connecting_waves(&requests))
}

/// A simulated org with its request log, waiting the latency on each request.
async fn logged_org() -> (TestOrg, RequestLog) {
    let log = RequestLog::memory();
    let config = SimConfig {
        access_log: Some(log.clone()),
        faults: Faults { latency_ms: LATENCY_MS, ..Faults::default() },
        ..SimConfig::default()
    };
    (TestOrg::start_with(config).await, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_playbook_takes_its_pinned_calls_and_round_trips() {
    let (org, log) = logged_org().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let vars = org.setup_vars(USER, &credentials.to_string_lossy()).await;
    let defaults: Vec<(String, String)> = vars.iter().filter(|(k, _)| k.starts_with("default_")).cloned().collect();
    let setup = scripts_dir().join("setup.rhai");

    log.clear();
    let first = org.play(&setup, &borrowed(&vars), false).await;
    assert_eq!(failure_code(&first), None, "{:?}", first.error);
    assert_eq!(outcome_of(&first, "set_defaults"), "changed");
    // A step whose write went in an earlier step's request says whose.
    let summary =
        |step: &str| first.steps.iter().find(|s| s.name == step).map(|s| s.summary.clone()).unwrap_or_default();
    assert!(summary("assign_psl").ends_with("(sent ahead with create_user's request)"), "{}", summary("assign_psl"));
    assert!(
        summary("set_defaults").ends_with("(sent ahead with set_password's request)"),
        "{}",
        summary("set_defaults")
    );
    // Connecting (userinfo beside the Organization) and, in the same round trip, the
    // reads (the observe pass needs none of connecting's answers); then the writes: the
    // user, its licence and its permission sets in one Composite request, sent ahead from
    // the plan; the password and its confirmation in one request, with the reads of the
    // later steps that the writes dropped, and beside it the profile's defaults
    // (Metadata); the TOTP secret and its confirmation in one request. What a step wrote is
    // not read again (`read::changes`, `StepCtx::wrote_answer`).
    assert_eq!(counts(&first, &log), (9, 9, 4, 3), "a first setup");

    log.clear();
    let again = org.play(&setup, &borrowed(&vars), false).await;
    assert_eq!(failure_code(&again), None, "{:?}", again.error);
    assert_eq!(outcome_of(&again, "set_defaults"), "ok");
    // One round trip: userinfo and the Organization, and beside them every read: the
    // batch, listMetadata and readMetadata.
    assert_eq!(counts(&again, &log), (5, 5, 1, 0), "a re-run");

    let mut audit_vars = defaults.clone();
    audit_vars.push(("username".into(), USER.into()));
    log.clear();
    let audit = org.play(&scripts_dir().join("audit.rhai"), &borrowed(&audit_vars), false).await;
    assert_eq!(failure_code(&audit), None, "{:?}", audit.error);
    assert!(audit.drift.is_empty(), "{:?}", audit.drift);
    // Connecting with the first round of reads, then the configured user's reads.
    assert_eq!(counts(&audit, &log), (6, 6, 2, 1), "an audit");

    // PSL and both permission sets on a user that has neither.
    let made = org
        .play_text(&format!(r#"create_user(#{{ username: "{OTHER}", email: "ops@client.example" }});"#), &[], false)
        .await
        .expect("compiles");
    assert_eq!(failure_code(&made), None, "{:?}", made.error);
    log.clear();
    let grant = org
        .play_text(
            &format!(r#"assign_psl(#{{ user: "{OTHER}" }}); assign_permission_sets(#{{ user: "{OTHER}" }});"#),
            &[],
            false,
        )
        .await
        .expect("compiles");
    assert_eq!(failure_code(&grant), None, "{:?}", grant.error);
    assert_eq!(outcome_of(&grant, "assign_permission_sets"), "changed");
    // Connecting with the reads, then the licence and the permission sets in one
    // Composite request.
    assert_eq!(counts(&grant, &log), (4, 4, 2, 1), "PSL and two permission sets on an existing user");
    let sets = org
        .count(&format!(
            "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '{OTHER}' AND PermissionSet.IsOwnedByProfile = false"
        ))
        .await;
    assert_eq!(sets, 2, "both permission sets assigned");
}

/// The read-ahead's first round runs before the org's facts are in: a query built from
/// them is sent again once they are, and answered as the facts say, at the cost of the
/// round trip and no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_built_from_the_facts_costs_a_round_and_is_answered_right() {
    let (org, log) = logged_org().await;
    let playbook = r#"
        let rows = sf::query(`SELECT Id, Name FROM Organization WHERE Id = '${org.org_id}'`);
        if rows.len() != 1 || rows[0].Name != org.org_name { throw `the facts' query answered ${rows}`; }
    "#;
    log.clear();
    let report = org.play_text(playbook, &[], false).await.expect("compiles");
    assert_eq!(failure_code(&report), None, "{:?}", report.error);
    // Connecting with the first round (the query with no org id yet), then the query as
    // the facts say, which the run finds kept.
    assert_eq!(counts(&report, &log), (4, 4, 2, 1), "{:?}", log.entries());
}

/// A playbook that only writes reads nothing ahead but the describes check mode's field
/// checks need: they go with connecting, and a check run is that one round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_describes_of_what_a_playbook_writes_go_with_connecting() {
    let (org, log) = logged_org().await;
    log.clear();
    let report =
        org.play_text(r#"sf::create("Account", #{ Name: "Roundtrips Pty Ltd" });"#, &[], true).await.expect("compiles");
    assert_eq!(failure_code(&report), None, "{:?}", report.error);
    assert_eq!(outcome_of(&report, "sf::create"), "changed", "{:?}", report.steps);
    assert!(report.steps[0].summary.starts_with("would create"), "{:?}", report.steps);
    let paths: Vec<String> = log.entries().iter().map(|r| r.path.clone()).collect();
    assert!(paths.iter().any(|p| p.ends_with("/composite/batch")), "{paths:?}");
    // userinfo, the Organization and Account's describe (in a batch of describes).
    assert_eq!(counts(&report, &log), (3, 3, 1, 0), "{paths:?}");
}
