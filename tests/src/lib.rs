//! End-to-end test harness: a simulated org on loopback, playbooks run in-process
//! against it over real HTTP, and an independent REST reader to assert on the org's
//! state afterwards. The reader uses plain reqwest, not runner's client, so that a
//! client bug cannot hide a step bug.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use runner_core::client::{Auth, ClientOptions, SfClient};
use runner_core::facts::OrgFacts;
use runner_core::journal::Journal;
use runner_core::playbook::Playbook;
use runner_core::report::OrgReport;
use runner_core::run::{RunOptions, run_playbook};
use runner_sim::{Scenario, SimConfig, SimHandle};
use serde_json::Value;

pub const API: &str = "v62.0";

/// The repository's `scripts/` folder.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

/// A running simulated org and a plain HTTP reader of its state.
pub struct TestOrg {
    pub sim: SimHandle,
    http: reqwest::Client,
    pub journal_dir: tempfile::TempDir,
}

impl TestOrg {
    pub async fn start(scenario: Scenario) -> TestOrg {
        TestOrg::start_with(SimConfig { scenario, ..Default::default() }).await
    }

    pub async fn start_with(config: SimConfig) -> TestOrg {
        let sim = runner_sim::start(config).await.expect("the simulated org starts");
        TestOrg { sim, http: reqwest::Client::new(), journal_dir: tempfile::tempdir().expect("a temp dir") }
    }

    pub fn journal_path(&self) -> PathBuf {
        self.journal_dir.path().join("journal.jsonl")
    }

    /// Journal lines written so far.
    pub fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.journal_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("journal lines are JSON"))
            .collect()
    }

    /// All records of a SOQL query, read over plain REST.
    pub async fn query(&self, soql: &str) -> Vec<Value> {
        let url = format!("{}/services/data/{API}/query", self.sim.instance_url());
        let response = self
            .http
            .get(url)
            .query(&[("q", soql)])
            .bearer_auth(self.sim.token())
            .send()
            .await
            .expect("the query is answered");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON answer");
        assert!(status.is_success(), "query {soql} failed: {status} {body}");
        body["records"].as_array().cloned().unwrap_or_default()
    }

    pub async fn count(&self, soql: &str) -> usize {
        self.query(soql).await.len()
    }

    /// Deletes a record over plain REST.
    pub async fn delete(&self, sobject: &str, id: &str) {
        let url = format!("{}/services/data/{API}/sobjects/{sobject}/{id}", self.sim.instance_url());
        let response = self.http.delete(url).bearer_auth(self.sim.token()).send().await.expect("delete answered");
        assert_eq!(response.status().as_u16(), 204, "delete {sobject} {id}");
    }

    /// A runner client for this org.
    pub async fn client(&self) -> SfClient {
        let auth = Auth::AccessToken(self.sim.token().to_string().into());
        SfClient::connect(&self.sim.instance_url(), auth, ClientOptions::default()).await.expect("runner connects")
    }

    /// Runs a playbook file in-process against this org.
    pub async fn play(&self, playbook: &Path, vars: &[(&str, &str)], check_mode: bool) -> OrgReport {
        let playbook = Playbook::load_file(playbook).unwrap_or_else(|e| panic!("{} compiles: {e}", playbook.display()));
        self.play_compiled(playbook, vars, check_mode).await
    }

    /// Runs playbook text (written to a temporary folder with optional modules).
    pub async fn play_text(&self, text: &str, vars: &[(&str, &str)], check_mode: bool) -> Result<OrgReport, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("playbook.rhai");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let playbook = Playbook::load_file(&path).map_err(|e| format!("{e}"))?;
        Ok(self.play_compiled(playbook, vars, check_mode).await)
    }

    pub async fn play_compiled(&self, playbook: Playbook, vars: &[(&str, &str)], check_mode: bool) -> OrgReport {
        let client = self.client().await;
        let facts = OrgFacts::read(&client, "sim", true).await.expect("facts are read");
        let journal = Journal::open(&self.journal_path()).expect("journal opens");
        let options = RunOptions {
            check_mode,
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<IndexMap<_, _>>(),
            journal: Some(Arc::new(journal)),
            observer: None,
        };
        run_playbook(Arc::new(playbook), runner_steps::registry(), client, facts, options).await
    }
}

/// The outcome of the named step in a report (the last one of that name).
pub fn outcome_of<'a>(report: &'a OrgReport, step: &str) -> &'a str {
    report
        .steps
        .iter()
        .rev()
        .find(|s| s.name == step)
        .map(|s| s.outcome.as_str())
        .unwrap_or_else(|| panic!("no step {step} in {:#?}", report.steps))
}

/// The failure code that ended the run, if any.
pub fn failure_code(report: &OrgReport) -> Option<&str> {
    report.error.as_ref().map(|e| e.code.as_str())
}
