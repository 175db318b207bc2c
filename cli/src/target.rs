//! `--org` targets: what each names and how runner connects to it.
//!
//! [`Target::parse`] is pure syntax and touches nothing. [`connect`] resolves a name:
//! a named org from `runner.toml` (the working directory's, then the user config
//! directory's), and otherwise an alias or username of the `sf` CLI.

mod config;
mod jwt;
mod sf;

use std::time::Duration;

use miette::Diagnostic;
use runner_core::client::{Auth, ClientOptions, SfClient};
use secrecy::SecretString;

/// The module folders the runner.toml files name (`lib_path`): `--config`'s file, or the working
/// directory's file then the user's.
pub fn config_lib_path(config: Option<&std::path::Path>) -> Result<Vec<std::path::PathBuf>, ConfigError> {
    config::lib_path(&config_files(config), config.is_some())
}
#[cfg(fuzzing)]
pub use config::fuzz_parse as fuzz_config;
pub use config::{ConfigError, Inventory, VarSource};
pub(crate) use config::{FILE_NAME as CONFIG_FILE_NAME, read_config_bytes, shell_quote};

/// Reads a secret from a file only its owner can read (mode 0600), as runner.toml's
/// `*_file` keys are read.
pub fn read_secret_file(path: &std::path::Path, what: &str) -> Result<String, ConfigError> {
    config::read_secret_text(path, what)
}

/// What an `--org` value names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// A fresh simulated org inside this process, seeded with a scenario.
    Sim(runner_sim::Scenario),
    /// An instance URL; the token comes from `SF_ACCESS_TOKEN`.
    Url(String),
    /// A name: a named org from `runner.toml` if one is defined, else an `sf` CLI alias
    /// or username. Resolved by [`connect`].
    Named(String),
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum TargetError {
    #[error("cannot read the certificates in {0} ({CA_CERT_ENV}): {1}")]
    #[diagnostic(
        code(runner::target::ca_cert),
        help("point {CA_CERT_ENV} at a PEM file, e.g. the one `runner sim serve --tls` prints")
    )]
    CaCert(std::path::PathBuf, std::io::Error),
    #[error("{CA_CERT_ENV} names {0}, which holds no usable certificate: {1}")]
    #[diagnostic(
        code(runner::target::ca_cert_invalid),
        help(
            "point {CA_CERT_ENV} at a PEM file of CA certificates (`-----BEGIN CERTIFICATE-----` blocks), e.g. the one `runner sim serve --tls` prints, or unset it"
        )
    )]
    CaCertInvalid(std::path::PathBuf, String),
    #[error("unknown simulated-org scenario `{0}`")]
    #[diagnostic(code(runner::target::scenario), help("scenarios: {}", scenario_names()))]
    UnknownScenario(String),
    #[error("the --org URL {shown} holds a user name or password; refusing it")]
    #[diagnostic(
        code(runner::target::url_credentials),
        help(
            "give the instance URL alone (https://acme.my.salesforce.com) and the access token in SF_ACCESS_TOKEN, or define a named org in runner.toml; a password typed into a URL ends up in shell history and process lists, so change it"
        )
    )]
    UrlCredentials { shown: String },
    #[error("`{0}` is not a target runner knows")]
    #[diagnostic(
        code(runner::target::unknown),
        help(
            "use `sim`, `sim:SCENARIO`, an instance URL such as https://acme.my.salesforce.com with SF_ACCESS_TOKEN set, a named org from runner.toml, or an sf CLI alias or username"
        )
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
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(Box<ConfigError>),

    #[error(
        "`{name}` is not a named org in runner.toml, and the sf CLI (`sf`) is not on PATH to resolve it as an alias"
    )]
    #[diagnostic(
        code(runner::target::sf_not_found),
        help(
            "install the Salesforce CLI (`npm install --global @salesforce/cli`) and log in with `sf org login web --alias {name}`; or define [orgs.{name}] in runner.toml (looked in {searched}); or give an instance URL with SF_ACCESS_TOKEN set"
        )
    )]
    SfNotFound { name: String, searched: String },
    #[error(
        "no org `{name}`: runner.toml does not define it, and the sf CLI has no authorization for it ({sf_message})"
    )]
    #[diagnostic(
        code(runner::target::unknown_org),
        help(
            "`sf org list` shows the aliases and usernames the sf CLI knows; log in with `sf org login web --alias {name}`, or define [orgs.{name}] in runner.toml (looked in {searched})"
        )
    )]
    UnknownOrg { name: String, searched: String, sf_message: String },
    #[error("`sf {command}` failed for `{name}`: {message}")]
    #[diagnostic(
        code(runner::target::sf_failed),
        help(
            "run `sf {command} --target-org {name}` to see what is wrong; `sf org login web --alias {name}` logs in again"
        )
    )]
    SfFailed { name: String, command: String, message: String },
    #[error("`sf {command}` for `{name}` did not finish within {seconds} s")]
    #[diagnostic(
        code(runner::target::sf_timeout),
        help("run `sf {command} --target-org {name}` to see what it waits for (a network problem, a prompt)")
    )]
    SfTimeout { name: String, command: String, seconds: u64 },
    #[error("the sf CLI gave no usable access token for `{name}`: {detail}")]
    #[diagnostic(
        code(runner::target::sf_no_token),
        help(
            "update the Salesforce CLI (`sf update`) so that `sf org auth show-access-token` exists, or log in again with `sf org login web --alias {name}`"
        )
    )]
    SfNoToken { name: String, detail: String },
}

impl From<ConfigError> for TargetError {
    fn from(err: ConfigError) -> Self {
        TargetError::Config(Box::new(err))
    }
}

fn scenario_names() -> String {
    runner_sim::Scenario::ALL.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")
}

/// Whether `text` can name an org: an `sf` alias or username, or a key of `[orgs]`.
/// Never empty, never an option (`-…`, which `sf` would read as a flag), no
/// whitespace or control characters.
fn is_org_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && !text.starts_with('-')
        && !text.contains("://")
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
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
            let shown = config::without_userinfo(text);
            let userinfo = match url::Url::parse(text) {
                Ok(url) => !url.username().is_empty() || url.password().is_some(),
                Err(_) => shown != text,
            };
            if userinfo {
                return Err(TargetError::UrlCredentials { shown });
            }
            return Ok(Target::Url(text.to_string()));
        }
        if is_org_name(text) {
            return Ok(Target::Named(text.to_string()));
        }
        Err(TargetError::Unknown(config::without_userinfo(text)))
    }
}

/// A connected org, and the simulated org behind it when there is one (kept alive
/// for as long as the connection).
pub struct Connection {
    pub client: SfClient,
    pub simulated: bool,
    pub sim: Option<runner_sim::SimHandle>,
}

/// The environment variable naming a PEM file of extra certificates to trust: the
/// simulated org's (`runner sim serve --tls` prints its path) or a corporate proxy's.
pub const CA_CERT_ENV: &str = "RUNNER_CA_CERT";

/// How long one request to an org may take, retries included, unless `--request-timeout` says.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// How runner talks to every org of a run.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// One request, every retry included (`--request-timeout`).
    pub request_timeout: Duration,
    /// What an in-process simulated org (`sim`, `sim:SCENARIO`) is seeded with after its scenario: the objects
    /// a binary's own steps work on.
    pub sim_seeds: Vec<runner_sim::SeedFile>,
    /// `--config FILE`: the one runner.toml to read, instead of the working directory's and the user's.
    pub config: Option<std::path::PathBuf>,
}

/// The runner.toml files named orgs are looked up in: `--config FILE` alone, else the working directory's,
/// then the user config directory's.
pub fn config_files(config: Option<&std::path::Path>) -> Vec<std::path::PathBuf> {
    match config {
        Some(file) => vec![file.to_path_buf()],
        None => config::candidate_files(),
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions { request_timeout: DEFAULT_REQUEST_TIMEOUT, sim_seeds: Vec::new(), config: None }
    }
}

pub fn client_options(connect: &ConnectOptions) -> Result<ClientOptions, TargetError> {
    let mut extra_root_certs = Vec::new();
    if let Some(path) = std::env::var_os(CA_CERT_ENV) {
        let path = std::path::PathBuf::from(path);
        let pem = std::fs::read(&path).map_err(|err| TargetError::CaCert(path.clone(), err))?;
        check_ca_pem(&pem).map_err(|reason| TargetError::CaCertInvalid(path, reason))?;
        extra_root_certs.push(pem);
    }
    // One attempt never outlasts the whole request.
    let timeout = Duration::from_secs(60).min(connect.request_timeout);
    Ok(ClientOptions {
        timeout,
        request_timeout: connect.request_timeout,
        extra_root_certs,
        ..ClientOptions::default()
    })
}

/// Checked here, where the variable and the file can be named: the HTTP client would
/// only say that "an extra root certificate" is wrong, or nothing at all for a file
/// without PEM blocks.
fn check_ca_pem(pem: &[u8]) -> Result<(), String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("a PEM block does not decode ({e})"))?;
        webpki::anchor_from_trusted_cert(&cert)
            .map_err(|e| format!("certificate {} is not a valid X.509 certificate ({e})", count + 1))?;
        count += 1;
    }
    if count == 0 {
        return Err("it has no `-----BEGIN CERTIFICATE-----` block".into());
    }
    Ok(())
}

pub async fn connect(target: &Target, options: &ConnectOptions) -> Result<Connection, TargetError> {
    match target {
        Target::Sim(scenario) => {
            let config = runner_sim::SimConfig {
                scenario: *scenario,
                seed_files: options.sim_seeds.clone(),
                ..Default::default()
            };
            let sim = runner_sim::start(config).await.map_err(TargetError::Sim)?;
            let auth = Auth::AccessToken(SecretString::from(sim.token().to_string()));
            let client = SfClient::connect(&sim.instance_url(), auth, client_options(options)?).await?;
            Ok(Connection { client, simulated: true, sim: Some(sim) })
        }
        Target::Url(url) => {
            let token = std::env::var("SF_ACCESS_TOKEN").map_err(|_| TargetError::NoToken(url.clone()))?;
            let auth = Auth::AccessToken(SecretString::from(token));
            let client = SfClient::connect(url, auth, client_options(options)?).await?;
            Ok(Connection { client, simulated: false, sim: None })
        }
        Target::Named(name) => {
            let files = config_files(options.config.as_deref());
            let client = match config::find_org(name, &files, options.config.is_some())? {
                Some(org) => {
                    if config::is_sf_alias(name) {
                        eprintln!(
                            "warning: [orgs.{name}] in {} shadows the sf CLI alias `{name}`: runner connects to the named org",
                            org.file().display()
                        );
                    }
                    // Every URL is checked and every secret read before any request.
                    let resolved = org.resolve()?;
                    let options = ClientOptions { api_version: resolved.api_version, ..client_options(options)? };
                    SfClient::connect(&resolved.instance_url, resolved.auth, options).await?
                }
                None => {
                    let org = sf::resolve(name, &config::describe_files(&files)).await?;
                    // The alias's own version, as sf itself would use; else runner's pinned one.
                    let defaults = client_options(options)?;
                    let options =
                        ClientOptions { api_version: org.api_version.or(defaults.api_version.clone()), ..defaults };
                    SfClient::connect(&org.instance_url, Auth::AccessToken(org.access_token), options).await?
                }
            };
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
        assert_eq!(Target::parse("my-alias").ok(), Some(Target::Named("my-alias".into())));
        assert_eq!(Target::parse("admin@acme.example").ok(), Some(Target::Named("admin@acme.example".into())));
        assert_eq!(Target::parse("acme-prod").ok(), Some(Target::Named("acme-prod".into())));
    }

    #[test]
    fn a_url_with_userinfo_is_refused_without_echoing_it() {
        for text in
            ["https://user:pw-SECRET@acme.example", "http://user@127.0.0.1:8080", "https://:pw-SECRET@acme.example/x"]
        {
            let err = Target::parse(text).expect_err("refused");
            let report = format!("{:?}", miette::Report::new(err));
            assert!(report.contains("user name or password"), "{report}");
            assert!(!report.contains("pw-SECRET") && !report.contains("user@"), "{report}");
        }
        let err = Target::parse("ftp://user:pw-SECRET@acme.example").expect_err("unknown");
        assert!(!err.to_string().contains("pw-SECRET"), "{err}");
    }

    #[test]
    fn names_that_cannot_be_orgs_are_refused() {
        for text in ["", "-o", "--target-org", "my alias", "ftp://acme.example", "tab\there", "new\nline"] {
            assert!(matches!(Target::parse(text), Err(TargetError::Unknown(_))), "{text:?}");
        }
    }
}
