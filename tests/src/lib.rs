//! End-to-end test harness: a simulated org on loopback, playbooks run in-process
//! against it over real HTTP, and an independent REST reader to assert on the org's
//! state afterwards. The reader uses plain reqwest, not runner's client, so that a
//! client bug cannot hide a step bug.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
pub use runner_cli::testing::API;
use runner_cli::testing::{Mode, OrgReport, Playbook};
use runner_sim::{Scenario, SimConfig};
use serde_json::Value;

/// The repository's `scripts/` folder.
pub fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

/// runner's own test harness ([`runner_cli::testing::TestOrg`]: the org, REST reads and writes, the journal),
/// with what these end-to-end tests add: playbooks run with runner's own steps, and StoreConnect's side of
/// the org (its Console sign-in, the profile's record types).
pub struct TestOrg {
    org: runner_cli::testing::TestOrg,
    http: reqwest::Client,
}

impl std::ops::Deref for TestOrg {
    type Target = runner_cli::testing::TestOrg;

    fn deref(&self) -> &Self::Target {
        &self.org
    }
}

impl TestOrg {
    pub async fn start(scenario: Scenario) -> TestOrg {
        TestOrg::start_with(SimConfig { scenario, ..Default::default() }).await
    }

    pub async fn start_with(config: SimConfig) -> TestOrg {
        TestOrg { org: runner_cli::testing::TestOrg::start_with(config).await, http: reqwest::Client::new() }
    }

    /// Runs a playbook file in-process against this org.
    pub async fn play(&self, playbook: &Path, vars: &[(&str, &str)], check_mode: bool) -> OrgReport {
        let playbook = Playbook::load_file(playbook).unwrap_or_else(|e| panic!("{} compiles: {e}", playbook.display()));
        self.play_compiled(playbook, vars, check_mode).await
    }

    /// Runs playbook text (written to a temporary folder); a playbook that does not compile is the `Err`.
    pub async fn play_text(&self, text: &str, vars: &[(&str, &str)], check_mode: bool) -> Result<OrgReport, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("playbook.rhai");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let playbook = Playbook::load_file(&path).map_err(|e| format!("{e}"))?;
        Ok(self.play_compiled(playbook, vars, check_mode).await)
    }

    /// Runs a loaded playbook with runner's steps, whatever `runner check` would say of it.
    pub async fn play_compiled(&self, playbook: Playbook, vars: &[(&str, &str)], check_mode: bool) -> OrgReport {
        let mode = if check_mode { Mode::Check } else { Mode::Apply };
        self.org.run(&runner_steps::registry(), playbook, vars, mode).await
    }
}

/// Vars as `play` takes them.
pub fn borrowed(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// The report helpers a partner's tests use too, from the one harness runner ships.
pub use runner_cli::testing::{failure_code, outcome_of};

/// What `runner credentials show` gives a consultant: username, password, current code.
pub struct SignInDetails {
    pub username: String,
    pub password: String,
    pub code: String,
}

/// Reads a credentials file the way `runner credentials show` does.
pub fn sign_in_details(path: &Path) -> SignInDetails {
    let credentials = runner_core::credentials::Credentials::load(path)
        .unwrap_or_else(|e| panic!("{} loads: {e}", path.display()))
        .unwrap_or_else(|| panic!("{} exists", path.display()));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    SignInDetails {
        username: credentials.username.clone(),
        password: credentials.expose_password().expect("a password is kept").to_string(),
        code: credentials.totp_code_at(now).expect("a TOTP secret is kept"),
    }
}

impl TestOrg {
    /// StoreConnect's Console sign-in (Change Sync User → Apply permissions → code), as
    /// the simulated org plays it: (status, body).
    pub async fn sign_in(&self, username: &str, password: &str, code: &str) -> (u16, Value) {
        let url = format!("{}/_sim/storeconnect/change-sync-user", self.sim().instance_url());
        let body = serde_json::json!({"username": username, "password": password, "verification_code": code});
        let response = self.http.post(url).json(&body).send().await.expect("the Console answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    /// Who StoreConnect is configured with and who it authenticated.
    pub async fn storeconnect_state(&self) -> Value {
        let url = format!("{}/_sim/storeconnect/state", self.sim().instance_url());
        self.http.get(url).send().await.expect("state answered").json().await.expect("JSON state")
    }

    /// For each object with several active business record types, one that the
    /// integration profile does not default to yet, found by query: the playbooks and
    /// tests cannot know the org's names, and a default that is already set proves nothing.
    pub async fn record_type_choices(&self) -> Vec<(String, String)> {
        let rows = self
            .query(
                "SELECT SobjectType, DeveloperName FROM RecordType WHERE IsActive = true AND IsPersonType = false \
                 ORDER BY SobjectType, DeveloperName",
            )
            .await;
        let profile = self.query("SELECT Id FROM Profile WHERE UserLicense.Name = 'Salesforce Integration'").await;
        let current: Vec<String> = match profile.first().and_then(|p| p["Id"].as_str()) {
            Some(id) => self
                .profile_visibilities(id)
                .await
                .into_iter()
                .filter(|(_, default, _)| *default)
                .map(|(rt, ..)| rt)
                .collect(),
            None => Vec::new(),
        };
        let mut by_object: IndexMap<String, Vec<String>> = IndexMap::new();
        for row in rows {
            let object = row["SobjectType"].as_str().unwrap_or_default().to_string();
            by_object.entry(object).or_default().push(row["DeveloperName"].as_str().unwrap_or_default().to_string());
        }
        by_object
            .into_iter()
            .filter(|(_, names)| names.len() >= 2)
            .filter_map(|(object, names)| {
                let pick = names.iter().find(|n| !current.contains(&format!("{object}.{n}"))).or(names.first())?;
                Some((object, pick.clone()))
            })
            .collect()
    }

    /// setup.rhai's vars for `username`: a credentials file and the record-type defaults
    /// this org needs.
    pub async fn setup_vars(&self, username: &str, credentials: &str) -> Vec<(String, String)> {
        let mut vars = vec![
            ("username".to_string(), username.to_string()),
            ("email".to_string(), "ops@client.example".to_string()),
            ("credentials_file".to_string(), credentials.to_string()),
        ];
        vars.extend(self.default_vars().await);
        vars
    }

    /// The `--var default_<Object>=…` pairs a consultant would pass for this org.
    pub async fn default_vars(&self) -> Vec<(String, String)> {
        self.record_type_choices().await.into_iter().map(|(object, name)| (format!("default_{object}"), name)).collect()
    }

    /// A profile's record type defaults, read over plain SOAP `readMetadata` by its
    /// Tooling FullName: `(recordType, default, visible)`.
    pub async fn profile_visibilities(&self, profile_id: &str) -> Vec<(String, bool, bool)> {
        let url = format!("{}/services/data/{API}/tooling/query", self.sim().instance_url());
        let soql = format!("SELECT FullName FROM Profile WHERE Id = '{profile_id}'");
        let body: Value = self
            .http
            .get(url)
            .query(&[("q", soql.as_str())])
            .bearer_auth(self.sim().token())
            .send()
            .await
            .expect("tooling answers")
            .json()
            .await
            .expect("JSON");
        let full_name = body["records"][0]["FullName"].as_str().expect("a FullName").to_string();
        let envelope = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>{}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body><met:readMetadata><met:type>Profile</met:type><met:fullNames>{}</met:fullNames></met:readMetadata></soapenv:Body></soapenv:Envelope>"#,
            self.sim().token(),
            full_name.replace('&', "&amp;").replace('<', "&lt;")
        );
        let url = format!("{}/services/Soap/m/62.0", self.sim().instance_url());
        let text = self
            .http
            .post(url)
            .header("Content-Type", "text/xml; charset=UTF-8")
            .header("SOAPAction", "\"\"")
            .body(envelope)
            .send()
            .await
            .expect("SOAP answers")
            .text()
            .await
            .expect("text");
        let tag = |block: &str, name: &str| -> Option<String> {
            let start = block.find(&format!("<{name}>"))? + name.len() + 2;
            let end = block[start..].find(&format!("</{name}>"))? + start;
            Some(block[start..end].to_string())
        };
        text.split("<recordTypeVisibilities>")
            .skip(1)
            .filter_map(|block| {
                let block = block.split("</recordTypeVisibilities>").next()?;
                Some((tag(block, "recordType")?, tag(block, "default")? == "true", tag(block, "visible")? == "true"))
            })
            .collect()
    }
}
