//! Resilience: against a simulated org that drops connections and answers 503 before
//! and after applying writes, re-running setup.rhai converges on exactly the state of a
//! fault-free run, with no duplicates.

use std::sync::Arc;

use runner_sim::{Faults, Scenario, SimConfig};
use runner_tests::{TestOrg, scripts_dir};
use serde_json::Value;
use tokio::sync::Semaphore;

const USER: &str = "storeconnect.sync2@client.example";
const SEEDS: u64 = 50;
const MAX_RUNS: usize = 5;

/// The org's StoreConnect-relevant state, with ids replaced by names so that two orgs compare.
async fn snapshot(org: &TestOrg) -> Value {
    let q = |soql: String| async move { org.query(&soql).await };
    let users = q(format!("SELECT Username, IsActive, Profile.Name FROM User WHERE Username = '{USER}'")).await;
    let psl = q(format!(
        "SELECT PermissionSetLicense.DeveloperName FROM PermissionSetLicenseAssign WHERE Assignee.Username = '{USER}'"
    ))
    .await;
    let sets = q(format!(
        "SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE Assignee.Username = '{USER}' ORDER BY PermissionSet.Name"
    ))
    .await;
    let totp = q(format!("SELECT Type FROM TwoFactorInfo WHERE User.Username = '{USER}'")).await;
    let mfa = q(format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE User.Username = '{USER}'")).await;
    let password_set = q(format!("SELECT LastPasswordChangeDate FROM User WHERE Username = '{USER}'"))
        .await
        .first()
        .is_some_and(|u| u["LastPasswordChangeDate"].is_string());
    let strip = |rows: Vec<Value>| -> Vec<Value> {
        rows.into_iter()
            .map(|mut r| {
                strip_attributes(&mut r);
                r
            })
            .collect()
    };
    let defaults: Vec<String> = org
        .client()
        .await
        .read_profile_record_types("Minimum Access - API Only Integrations")
        .await
        .expect("readMetadata")
        .into_iter()
        .filter(|v| v.default)
        .map(|v| v.record_type)
        .collect();
    serde_json::json!({
        "users": strip(users), "psl": strip(psl), "sets": strip(sets), "totp": strip(totp), "mfa": strip(mfa),
        "password_set": password_set,
        "defaults": defaults,
    })
}

fn strip_attributes(value: &mut Value) {
    if let Value::Object(map) = value {
        map.remove("attributes");
        for v in map.values_mut() {
            strip_attributes(v);
        }
    }
}

async fn converge(org: &TestOrg, credentials: &str, defaults: &[(String, String)]) -> usize {
    let mut vars = vec![("username", USER), ("email", "ops@client.example"), ("credentials_file", credentials)];
    vars.extend(defaults.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for run in 1..=MAX_RUNS {
        let report = org.play(&scripts_dir().join("setup.rhai"), &vars, false).await;
        if report.error.is_none() {
            return run;
        }
    }
    panic!("setup did not converge in {MAX_RUNS} runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_converges_to_the_fault_free_state_under_injected_faults() {
    let clean = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let clean_totp = dir.path().join("clean.creds").to_string_lossy().to_string();
    // Every seed org has the same record types: found once, by query.
    let defaults = Arc::new(clean.default_vars().await);
    assert_eq!(converge(&clean, &clean_totp, &defaults).await, 1, "a fault-free run succeeds at once");
    let expected = Arc::new(snapshot(&clean).await);
    assert_eq!(expected["sets"].as_array().map(Vec::len), Some(2), "{expected}");

    let dir = Arc::new(dir);
    let limit = Arc::new(Semaphore::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    for seed in 1..=SEEDS {
        let (expected, dir, limit, defaults) = (expected.clone(), dir.clone(), limit.clone(), defaults.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore");
            let faults = Faults { fail_rate: 0.2, seed, ..Faults::default() };
            let org = TestOrg::start_with(SimConfig { faults, ..SimConfig::default() }).await;
            let totp = dir.path().join(format!("seed-{seed}.creds")).to_string_lossy().to_string();
            let runs = converge(&org, &totp, &defaults).await;
            let faults_served = org.sim().api_calls();
            org.sim().pause_faults(true);
            let state = snapshot(&org).await;
            assert_eq!(state, *expected, "seed {seed}: the state differs from a fault-free run");
            let details = runner_tests::sign_in_details(std::path::Path::new(&totp));
            let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
            assert_eq!(status, 200, "seed {seed}: StoreConnect signs in with the kept credentials: {body}");
            (seed, runs, faults_served)
        });
    }
    let mut reruns = 0;
    while let Some(done) = tasks.join_next().await {
        let (_, runs, _) = done.expect("a seed's task");
        reruns += runs - 1;
    }
    // The faults must actually have bitten: with a 20% rate over 50 orgs some runs fail.
    assert!(reruns > 0, "no run needed a re-run: the faults did not bite");
}
