//! A test harness for native steps (feature `testing`): a simulated org in this process, records seeded into
//! it, playbooks run against it with the steps of your choice, and the org read back.
//!
//! The org is read back over plain REST (reqwest), not through runner's client, so that a client bug cannot
//! hide a step bug. The helpers panic with a message saying what failed, as assertions do: they are for tests.
//!
//! ```no_run
//! # async fn example() {
//! use runner_cli::testing::TestOrg;
//!
//! let org = TestOrg::start().await;
//! let steps = runner_steps::registry();
//! let first = org.play_text(&steps, r#"create_user(#{ username: "s@x.example", email: "s@x.example" });"#, &[]).await;
//! assert!(first.error.is_none(), "{:?}", first.error);
//! assert_eq!(org.count("SELECT Id FROM User WHERE Username = 's@x.example'").await, 1);
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
pub use runner_sim::{Scenario, SeedFile, SimConfig, SimHandle};
use serde_json::Value;

use crate::engine::{Auth, ClientOptions, Journal, RunOptions, SfClient, connect_and_run};
pub use crate::engine::{OrgReport, Playbook, Registry};

/// The REST API version the harness reads with.
pub const API: &str = "v62.0";

/// Send writes, or only show what they would change (`--check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Check,
}

/// A running simulated org, a plain HTTP reader and writer of its records, and a journal of the runs' writes.
pub struct TestOrg {
    sim: SimHandle,
    http: reqwest::Client,
    journal_dir: tempfile::TempDir,
}

impl TestOrg {
    /// The default org: StoreConnect installed, one integration user licence free.
    pub async fn start() -> TestOrg {
        TestOrg::start_with(SimConfig::default()).await
    }

    /// The default org, with the objects, fields and records of these seed files added (JSON, or TOML when
    /// named `*.toml`; see [`SeedFile`]).
    pub async fn seeded(seed_files: &[&Path]) -> TestOrg {
        let seed_files = seed_files
            .iter()
            .map(|path| SeedFile::load(path).unwrap_or_else(|e| panic!("the seed file {}: {e}", path.display())))
            .collect();
        TestOrg::start_with(SimConfig { seed_files, ..SimConfig::default() }).await
    }

    /// An org seeded as `config` says: a scenario, seed files, faults.
    pub async fn start_with(config: SimConfig) -> TestOrg {
        let sim = runner_sim::start(config).await.unwrap_or_else(|e| panic!("the simulated org starts: {e}"));
        let journal_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder for the journal: {e}"));
        TestOrg { sim, http: reqwest::Client::new(), journal_dir }
    }

    /// The org's instance URL, for `--org URL` (with [`TestOrg::token`] in `SF_ACCESS_TOKEN`).
    pub fn instance_url(&self) -> String {
        self.sim.instance_url()
    }

    /// The access token the org accepts.
    pub fn token(&self) -> &str {
        self.sim.token()
    }

    /// The simulated org itself.
    pub fn sim(&self) -> &SimHandle {
        &self.sim
    }

    /// Runs the playbook file against this org with `steps`, in-process; `vars` are its `--var`s.
    pub async fn play(&self, steps: &Registry, playbook: &Path, vars: &[(&str, &str)], mode: Mode) -> OrgReport {
        let loaded =
            Playbook::load_file(playbook).unwrap_or_else(|e| panic!("{} does not compile: {e:?}", playbook.display()));
        let findings = loaded.check(steps);
        assert!(findings.is_empty(), "{} has problems: {findings:?}", playbook.display());
        self.run(steps, loaded, vars, mode).await
    }

    /// Runs playbook text (written to a temporary folder) against this org with `steps`, sending writes.
    pub async fn play_text(&self, steps: &Registry, text: &str, vars: &[(&str, &str)]) -> OrgReport {
        self.play_text_in(steps, text, vars, Mode::Apply).await
    }

    /// Runs playbook text in check mode: what would change, with nothing sent.
    pub async fn check_text(&self, steps: &Registry, text: &str, vars: &[(&str, &str)]) -> OrgReport {
        self.play_text_in(steps, text, vars, Mode::Check).await
    }

    async fn play_text_in(&self, steps: &Registry, text: &str, vars: &[(&str, &str)], mode: Mode) -> OrgReport {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder for the playbook: {e}"));
        let path = dir.path().join("playbook.rhai");
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.play(steps, &path, vars, mode).await
    }

    /// Runs a loaded playbook against this org with `steps`, whatever `runner check` would say of it.
    pub async fn run(&self, steps: &Registry, playbook: Playbook, vars: &[(&str, &str)], mode: Mode) -> OrgReport {
        let client = self.client().await;
        let journal = Journal::open(&self.journal_path()).unwrap_or_else(|e| panic!("the journal opens: {e}"));
        let options = RunOptions {
            check_mode: mode == Mode::Check,
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<IndexMap<_, _>>(),
            journal: Some(Arc::new(journal)),
            ..RunOptions::default()
        };
        let ran = connect_and_run(Arc::new(playbook), steps.clone(), client, "sim", true, options).await;
        ran.unwrap_or_else(|e| panic!("the org's facts: {e}")).1
    }

    /// A runner client for this org, for what a playbook cannot show.
    pub async fn client(&self) -> SfClient {
        let auth = Auth::AccessToken(self.sim.token().to_string().into());
        SfClient::connect(&self.sim.instance_url(), auth, ClientOptions::default())
            .await
            .unwrap_or_else(|e| panic!("runner connects to the simulated org: {e}"))
    }

    /// Where the runs journal their writes.
    pub fn journal_path(&self) -> PathBuf {
        self.journal_dir.path().join("journal.jsonl")
    }

    /// The writes the runs sent so far, one JSON line each (`method`, `path`, `status`, …): a run that wrote
    /// nothing adds none.
    pub fn writes(&self) -> Vec<Value> {
        std::fs::read_to_string(self.journal_path())
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["status"] != "sending")
            .collect()
    }

    /// Every record a SOQL query answers (all pages), read over plain REST.
    pub async fn query(&self, soql: &str) -> Vec<Value> {
        let mut records = Vec::new();
        let mut url = format!("{}/services/data/{API}/query?q={}", self.sim.instance_url(), encode(soql));
        loop {
            let page = self.get(&url).await;
            records.extend(page["records"].as_array().cloned().unwrap_or_default());
            match page["nextRecordsUrl"].as_str() {
                Some(next) if page["done"] == false => url = format!("{}{next}", self.sim.instance_url()),
                _ => return records,
            }
        }
    }

    /// How many records a SOQL query answers.
    pub async fn count(&self, soql: &str) -> usize {
        self.query(soql).await.len()
    }

    /// Seeds a record over plain REST, as someone in Setup would; answers its id.
    pub async fn insert(&self, sobject: &str, fields: Value) -> String {
        let url = format!("{}/services/data/{API}/sobjects/{sobject}", self.sim.instance_url());
        let response = self
            .http
            .post(url)
            .bearer_auth(self.sim.token())
            .json(&fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create {sobject}: {e}"));
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("create {sobject}: not JSON: {e}"));
        assert_eq!(status, 201, "create {sobject}: {body}");
        body["id"].as_str().unwrap_or_else(|| panic!("create {sobject}: no id in {body}")).to_string()
    }

    /// Updates a record's fields over plain REST, as someone in Setup would.
    pub async fn update(&self, sobject: &str, id: &str, fields: Value) {
        let url = format!("{}/services/data/{API}/sobjects/{sobject}/{id}", self.sim.instance_url());
        let response = self
            .http
            .patch(url)
            .bearer_auth(self.sim.token())
            .json(&fields)
            .send()
            .await
            .unwrap_or_else(|e| panic!("update {sobject} {id}: {e}"));
        assert_eq!(response.status().as_u16(), 204, "update {sobject} {id}");
    }

    /// Deletes a record over plain REST.
    pub async fn delete(&self, sobject: &str, id: &str) {
        let url = format!("{}/services/data/{API}/sobjects/{sobject}/{id}", self.sim.instance_url());
        let response = self
            .http
            .delete(url)
            .bearer_auth(self.sim.token())
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete {sobject} {id}: {e}"));
        assert_eq!(response.status().as_u16(), 204, "delete {sobject} {id}");
    }

    async fn get(&self, url: &str) -> Value {
        let response =
            self.http.get(url).bearer_auth(self.sim.token()).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"));
        assert!(status.is_success(), "GET {url}: {status} {body}");
        body
    }
}

/// A query string's value, percent-encoded.
fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The outcome of the last call of `step` in a run (`ok`, `changed`, `failed`, `skipped`).
pub fn outcome_of<'a>(report: &'a OrgReport, step: &str) -> &'a str {
    report
        .steps
        .iter()
        .rev()
        .find(|s| s.name == step)
        .map(|s| s.outcome.as_str())
        .unwrap_or_else(|| panic!("no step {step} in {:#?}", report.steps))
}

/// The error code that stopped the run, if it stopped.
pub fn failure_code(report: &OrgReport) -> Option<&str> {
    report.error.as_ref().map(|e| e.code.as_str())
}

/// Panics, showing the error, unless the run went to the end.
pub fn assert_ran(report: &OrgReport) {
    assert!(report.error.is_none(), "the run stopped: {:#?}", report.error);
}
