//! `--org` targets: what each names and how runner connects to it.

use std::time::Duration;

use miette::Diagnostic;
use runner_core::client::{Auth, ClientOptions, SfClient};
use secrecy::SecretString;

/// What an `--org` value names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A fresh simulated org inside this process, seeded with a scenario.
    Sim(runner_sim::Scenario),
    /// An instance URL; the token comes from `SF_ACCESS_TOKEN`.
    Url(String),
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum TargetError {
    #[error("unknown simulated-org scenario `{0}`")]
    #[diagnostic(code(runner::target::scenario), help("scenarios: {}", scenario_names()))]
    UnknownScenario(String),
    #[error("`{0}` is not a target runner knows")]
    #[diagnostic(
        code(runner::target::unknown),
        help("use `sim`, `sim:SCENARIO`, or an instance URL such as https://acme.my.salesforce.com with SF_ACCESS_TOKEN set")
    )]
    Unknown(String),
    #[error("SF_ACCESS_TOKEN is not set, and target {0} needs an access token")]
    #[diagnostic(
        code(runner::target::no_token),
        help("export SF_ACCESS_TOKEN (for example from `sf org auth show-access-token --json`)")
    )]
    NoToken(String),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Client(#[from] runner_core::client::ClientError),
    #[error("cannot start the simulated org: {0}")]
    #[diagnostic(code(runner::target::sim))]
    Sim(std::io::Error),
}

fn scenario_names() -> String {
    runner_sim::Scenario::ALL.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}

impl Target {
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        if text == "sim" {
            return Ok(Target::Sim(runner_sim::Scenario::default()));
        }
        if let Some(name) = text.strip_prefix("sim:") {
            return name.parse().map(Target::Sim).map_err(|_| TargetError::UnknownScenario(name.to_string()));
        }
        if text.starts_with("http://") || text.starts_with("https://") {
            return Ok(Target::Url(text.to_string()));
        }
        Err(TargetError::Unknown(text.to_string()))
    }
}

/// A connected org, and the simulated org behind it when there is one (kept alive
/// for as long as the connection).
pub struct Connection {
    pub client: SfClient,
    pub simulated: bool,
    pub sim: Option<runner_sim::SimHandle>,
}

pub fn client_options() -> ClientOptions {
    ClientOptions { timeout: Duration::from_secs(60), ..ClientOptions::default() }
}

pub async fn connect(target: &Target) -> Result<Connection, TargetError> {
    match target {
        Target::Sim(scenario) => {
            let config = runner_sim::SimConfig { scenario: *scenario, ..Default::default() };
            let sim = runner_sim::start(config).await.map_err(TargetError::Sim)?;
            let auth = Auth::AccessToken(SecretString::from(sim.token().to_string()));
            let client = SfClient::connect(&sim.instance_url(), auth, client_options()).await?;
            Ok(Connection { client, simulated: true, sim: Some(sim) })
        }
        Target::Url(url) => {
            let token = std::env::var("SF_ACCESS_TOKEN").map_err(|_| TargetError::NoToken(url.clone()))?;
            let auth = Auth::AccessToken(SecretString::from(token));
            let client = SfClient::connect(url, auth, client_options()).await?;
            Ok(Connection { client, simulated: false, sim: None })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(Target::parse("sim").ok(), Some(Target::Sim(runner_sim::Scenario::default())));
        assert!(matches!(Target::parse("sim:no-package"), Ok(Target::Sim(runner_sim::Scenario::NoPackage))));
        assert!(matches!(Target::parse("sim:nope"), Err(TargetError::UnknownScenario(_))));
        assert!(matches!(Target::parse("http://127.0.0.1:8080"), Ok(Target::Url(_))));
        assert!(matches!(Target::parse("my-alias"), Err(TargetError::Unknown(_))));
    }
}
