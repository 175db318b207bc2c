//! `runner-sim`: a simulated Salesforce org on loopback that speaks Salesforce's wire
//! format (REST, composite, sObject collections, SOQL, OAuth token and userinfo, and
//! the Metadata SOAP calls for Profile) and enforces the Salesforce rules the
//! StoreConnect sync-user setup meets. One sim-only route set, under `/_sim/storeconnect/`,
//! plays the StoreConnect Console's "Change Sync User" sign-in, which no API offers.
//!
//! It is written from Salesforce's documented format, never from `runner-core`: the
//! two meet only on the wire.
//!
//! # Layers
//!
//! Each module imports only modules of the layers below it (no import cycles:
//! `../shared/tools/cycles.py sim/src`):
//!
//! 1. `util`, `timezones`, `error`, `jwt`, `tls`, [`model`] (schema, records, ids),
//!    [`request_log`] (each request's start and end);
//! 2. [`soql`] (lexer → parser; bind → eval → plan), `access` (permission gates),
//!    `state` (`OrgState`: everything a request can read or change, nothing of HTTP);
//! 3. `dml`: write → rules (one function per object) → coerce and derived;
//! 4. `wire` (REST request, response, record shapes), `describe`, `password`, `seed`
//!    (scenarios), `seed_file` ([`SeedFile`]);
//! 5. `composite` (given the dispatcher as an argument), then `rest`, the one REST
//!    dispatcher;
//! 6. `http` (responses, bearer token, dropped connections), then `gate`: the one
//!    request gate of REST and SOAP (latency, token, limit, faults, API usage);
//! 7. the HTTP handlers: `soap`, `oauth`, `storeconnect` (sim-only routes);
//! 8. `server` (routes, connections, the org a config starts with), and this file.
//!
//! # Seed files
//!
//! A scenario's seed org holds what the StoreConnect setup meets. A step for anything
//! else needs objects, fields and records of its own: a [`SeedFile`] adds them, after
//! the scenario's seed, in code (`SimConfig { seed_files: vec![SeedFile::load(path)?],
//! .. }`) or from the command line (`runner sim serve --seed-file F`, repeatable).
//!
//! ```json
//! {
//!   "objects": [{"name": "Depot__c", "key_prefix": "a7D", "fields": [
//!     {"name": "Region__c", "type": "picklist", "picklist": ["North", "South"]}]}],
//!   "fields": [{"object": "Account", "name": "Tier__c", "type": "string", "length": 20}],
//!   "records": [
//!     {"object": "Depot__c", "ref": "d1", "fields": {"Name": "Depot 1", "Region__c": "North"}},
//!     {"object": "Contact", "fields": {"LastName": "Ops", "AccountId": "@Account.Name=Acme"}}]
//! }
//! ```
//!
//! Records go through the rules of an API create, so a seed file cannot build an org
//! Salesforce would refuse; a string `@ref` (an earlier record's `ref`), `@admin` or
//! `@Object.Field=value` stands for an id. A refused file fails [`start`] with an error
//! that names the file, the entry and, for syntax, the line. `sim/seeds/` holds ready
//! files: `permission-set-groups.json` adds `PermissionSetGroup` (key prefix `0PG`),
//! which `PermissionSetAssignment.PermissionSetGroupId` assigns.

#![recursion_limit = "256"]

pub mod model;
pub mod soql;

mod access;
mod composite;
mod describe;
mod dml;
mod error;
mod gate;
mod http;
mod jwt;
mod oauth;
mod password;
pub mod request_log;
mod rest;
mod seed;
mod seed_file;
mod server;
mod soap;
mod state;
mod storeconnect;
mod timezones;
mod tls;
mod util;
mod wire;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

use rand::{Rng, SeedableRng};

pub use request_log::{LoggedRequest, RequestLog};
pub use seed::{ADMIN_USERNAME, SEED_TOTP_SECRET, SYNC_USERNAME};
pub use seed_file::{SeedExtraField, SeedField, SeedFile, SeedFileError, SeedObject, SeedRecord};

/// A seed org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scenario {
    /// The package installed, 5 integration seats, the current integration profile
    /// name, several record types, an existing configured sync user.
    #[default]
    StoreConnect,
    /// The integration profile has its older name, "Salesforce API Only System Integrations".
    LegacyProfile,
    /// One integration seat and one PSL seat, both used by the existing sync user.
    NoSeats,
    /// The StoreConnect package is not installed.
    NoPackage,
    /// One record type per object.
    SingleRecordTypes,
    /// A scratch org: Developer Edition, sandbox, one integration seat, no sync user.
    Scratch,
    /// As `storeconnect`, but the admin lacks "Manage Multi-Factor Authentication in
    /// API", so `TwoFactorInfo` and `TwoFactorMethodsInfo` are out of its reach.
    NoMfaPermission,
    /// The running admin works in German: SOQL `Profile.Name` comes back translated
    /// for every profile, while Metadata `fullName`s stay English.
    Localized,
    /// Person Accounts are on: Account has a person record type besides business ones.
    PersonAccounts,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::StoreConnect,
        Scenario::LegacyProfile,
        Scenario::NoSeats,
        Scenario::NoPackage,
        Scenario::SingleRecordTypes,
        Scenario::Scratch,
        Scenario::NoMfaPermission,
        Scenario::Localized,
        Scenario::PersonAccounts,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::StoreConnect => "storeconnect",
            Scenario::LegacyProfile => "legacy-profile",
            Scenario::NoSeats => "no-seats",
            Scenario::NoPackage => "no-package",
            Scenario::SingleRecordTypes => "single-record-types",
            Scenario::Scratch => "scratch",
            Scenario::NoMfaPermission => "no-mfa-permission",
            Scenario::Localized => "localized",
            Scenario::PersonAccounts => "person-accounts",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scenario name that is not one of [`Scenario::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scenario `{0}` (expected one of: storeconnect, legacy-profile, no-seats, no-package, single-record-types, scratch, no-mfa-permission, localized, person-accounts)"
)]
pub struct UnknownScenario(pub String);

impl FromStr for Scenario {
    type Err = UnknownScenario;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL.into_iter().find(|sc| sc.name() == s).ok_or_else(|| UnknownScenario(s.to_string()))
    }
}

/// How unkind the network is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Added before handling each request (not the version list).
    pub latency_ms: u64,
    /// Share of requests (0.0–1.0) that fail with a 503 or a dropped connection,
    /// before or after the write is applied.
    pub fail_rate: f64,
    /// Seed of the fault RNG.
    pub seed: u64,
    /// Revoke a token after this many authenticated calls.
    pub expire_token_after: Option<u64>,
    /// Refuse calls with REQUEST_LIMIT_EXCEEDED after this many.
    pub api_limit: Option<u64>,
    /// A query inside a `/composite` request answers from the org as it was before the
    /// request's writes. Salesforce documents that later subrequests see earlier ones'
    /// output (the GET-after-POST example of resources_composite_composite_post); whether
    /// a query sees what those writes derive (a password's LastPasswordChangeDate,
    /// TwoFactorMethodsInfo.HasTotp) is not documented. Off, the sim shows them; on, it
    /// shows none of the request's writes, the strictest reading, which runner must
    /// survive by reading again after the request.
    pub composite_reads_before_writes: bool,
}

/// A share of requests that is not a probability: NaN, negative, or above 1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the fail rate must be a number from 0.0 to 1.0, not {0}")]
pub struct InvalidFailRate(pub String);

impl Faults {
    /// Refuses a [`Faults::fail_rate`] outside 0.0–1.0 (NaN included): above 1 it
    /// would silently mean 1, and NaN would silently mean 0.
    pub fn validate(&self) -> Result<(), InvalidFailRate> {
        if (0.0..=1.0).contains(&self.fail_rate) { Ok(()) } else { Err(InvalidFailRate(self.fail_rate.to_string())) }
    }
}

/// The value parser of `--fail-rate`: a number from 0.0 to 1.0.
pub fn parse_fail_rate(text: &str) -> Result<f64, InvalidFailRate> {
    let rate: f64 = text.trim().parse().map_err(|_| InvalidFailRate(format!("`{text}`")))?;
    Faults { fail_rate: rate, ..Faults::default() }.validate()?;
    Ok(rate)
}

/// A connected app allowed to use the client-credentials flow.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient").field("client_id", &self.client_id).field("client_secret", &"[REDACTED]").finish()
    }
}

/// How to start a simulated org.
#[derive(Clone)]
pub struct SimConfig {
    /// 0 picks any free port.
    pub port: u16,
    /// The access token clients must send.
    pub token: String,
    pub scenario: Scenario,
    pub faults: Faults,
    /// The newest API version served (the last of `GET /services/data/`).
    pub api_version_latest: String,
    /// Connected apps for `grant_type=client_credentials` (and `refresh_token`).
    pub oauth_clients: Vec<OAuthClient>,
    /// Refresh tokens accepted by `grant_type=refresh_token`.
    pub refresh_tokens: Vec<String>,
    /// Serve HTTPS with a certificate made at start for 127.0.0.1 and localhost
    /// (see [`SimHandle::certificate_pem`]).
    pub tls: bool,
    /// PEM certificates uploaded to the connected apps for the JWT bearer flow: an
    /// assertion whose `iss` is one of [`SimConfig::oauth_clients`] must be signed
    /// (RS256) by the private key of one of them.
    pub jwt_certificates: Vec<String>,
    /// Where each request's start, end, method, path and status are logged (see
    /// [`RequestLog`]). Defaults to the file `RUNNER_SIM_ACCESS_LOG` names, if any.
    pub access_log: Option<RequestLog>,
    /// Objects, fields and records added after the scenario's seed, in order (see
    /// [`SeedFile`]). A file the org refuses makes [`start`] fail.
    pub seed_files: Vec<SeedFile>,
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("port", &self.port)
            .field("token", &"[REDACTED]")
            .field("scenario", &self.scenario)
            .field("faults", &self.faults)
            .field("api_version_latest", &self.api_version_latest)
            .field("oauth_clients", &self.oauth_clients)
            .field("refresh_tokens", &format_args!("[{} REDACTED]", self.refresh_tokens.len()))
            .field("tls", &self.tls)
            .field("jwt_certificates", &self.jwt_certificates.len())
            .field("seed_files", &self.seed_files.len())
            .finish()
    }
}

/// Random characters of a Salesforce-looking secret.
pub(crate) fn random_secret(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::StdRng::from_os_rng();
    (0..len).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// A token shaped like Salesforce's: `<org id>!<opaque>`.
pub(crate) fn new_token() -> String {
    format!("00DHs0000000001!AQ{}", random_secret(94))
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            port: 0,
            token: new_token(),
            scenario: Scenario::StoreConnect,
            faults: Faults::default(),
            api_version_latest: "62.0".to_string(),
            oauth_clients: vec![OAuthClient {
                client_id: "runner-sim-client".to_string(),
                client_secret: random_secret(40),
            }],
            refresh_tokens: vec![format!("5Aep{}", random_secret(80))],
            tls: false,
            jwt_certificates: Vec::new(),
            access_log: RequestLog::from_env(),
            seed_files: Vec::new(),
        }
    }
}

/// A running simulated org. Dropping it stops the server too.
pub struct SimHandle {
    addr: SocketAddr,
    token: String,
    /// PEM of the certificate clients trust, when serving HTTPS.
    certificate_pem: Option<String>,
    server: Arc<gate::ServerState>,
    shutdown: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimHandle").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`, or `https://127.0.0.1:PORT` when serving TLS.
    pub fn instance_url(&self) -> String {
        let scheme = if self.certificate_pem.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The address the org listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// When serving HTTPS: the PEM certificate to trust, that of the local certificate
    /// authority that signed the server's certificate for 127.0.0.1 and localhost. Give
    /// it to runner's client as an extra root certificate, to Node as
    /// `NODE_EXTRA_CA_CERTS`, to Python's requests as `REQUESTS_CA_BUNDLE`.
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate_pem.as_deref()
    }

    /// The configured access token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// REST and SOAP calls served (not the version list, not OAuth).
    pub fn api_calls(&self) -> u64 {
        self.server.api_calls()
    }

    /// Stops (or resumes) injecting 503s and dropped connections, so that a test can
    /// read the org's final state reliably. Latency, token expiry and the API limit stay.
    pub fn pause_faults(&self, paused: bool) {
        self.server.pause_faults(paused);
    }

    /// Stops accepting connections, lets open requests finish, and waits.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Starts a simulated org on 127.0.0.1.
pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
    config.faults.validate().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, config.port)).await?;
    let addr = listener.local_addr()?;
    let token = config.token.clone();
    for pem in &config.jwt_certificates {
        jwt::parse_certificates(pem).map_err(|e| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("a JWT certificate is unusable: {e}"))
        })?;
    }
    let identity = if config.tls { Some(tls::identity()?) } else { None };
    let scheme = if identity.is_some() { "https" } else { "http" };
    let org_state = server::build_org(&config, format!("{scheme}://{addr}"))
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let server = Arc::new(gate::ServerState::new(config, org_state));
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let acceptor = identity.as_ref().map(|i| i.acceptor.clone());
    let mut router = server::router(server.clone());
    if let Some(log) = server.config.access_log.clone() {
        router = router.layer(axum::middleware::from_fn_with_state(log, server::access_log));
    }
    let task = tokio::spawn(server::serve(listener, router, rx, acceptor));
    let certificate_pem = identity.map(|i| i.ca_pem);
    Ok(SimHandle { addr, token, certificate_pem, server, shutdown, task: Some(task) })
}

/// For `fuzz/` only, not an API: SOQL parsed, then run (and its columns read) against
/// the storeconnect seed org, as `/query` and `/tooling/query` would.
#[doc(hidden)]
pub fn fuzz_soql(text: &str) {
    use std::sync::OnceLock;
    static ORG: OnceLock<model::Org> = OnceLock::new();
    let org = ORG.get_or_init(|| seed::build_on(Scenario::StoreConnect, "Fz").org);
    let Ok(query) = soql::parse(text) else { return };
    for tooling in [false, true] {
        let scope = || soql::Scope { tooling, include_deleted: false };
        let _ = soql::execute_in(org, &query, "62.0", scope());
        let _ = soql::columns_in(org, &query, scope());
    }
}

/// For `fuzz/` only, not an API: the SOAP request decoder and the lookups the
/// Metadata handler makes on its tree.
#[doc(hidden)]
pub fn fuzz_soap(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let Ok(doc) = soap::parse(&text) else { return };
    let _ = doc.find("SessionHeader").and_then(|h| h.child_text("sessionId"));
    if let Some(op) = doc.child("Body").and_then(|b| b.children.first()) {
        let _ = op.child_text("type");
        for metadata in op.children_named("metadata") {
            let _ = metadata.xsi_type();
            let _ = metadata.children_named("recordTypeVisibilities").count();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for scenario in Scenario::ALL {
            assert_eq!(scenario.to_string().parse::<Scenario>(), Ok(scenario));
        }
        assert_eq!("no-seats".parse::<Scenario>(), Ok(Scenario::NoSeats));
        assert_eq!("no-mfa-permission".parse::<Scenario>(), Ok(Scenario::NoMfaPermission));
        assert!("nope".parse::<Scenario>().is_err());
        assert_eq!(Scenario::default(), Scenario::StoreConnect);
        let message = UnknownScenario("nope".into()).to_string();
        for scenario in Scenario::ALL {
            assert!(message.contains(&format!(" {scenario}")), "{scenario} missing from: {message}");
        }
    }

    #[test]
    fn fail_rates_outside_zero_to_one_are_refused() {
        for ok in ["0", "0.0", "0.25", "1", "1.0"] {
            assert!(parse_fail_rate(ok).is_ok(), "{ok}");
        }
        for bad in ["1.01", "2", "-0.1", "NaN", "nan", "inf", "-inf", "", "half"] {
            let err = parse_fail_rate(bad).expect_err(bad);
            assert!(err.to_string().contains("from 0.0 to 1.0"), "{err}");
        }
        let faults = Faults { fail_rate: f64::NAN, ..Faults::default() };
        assert!(faults.validate().is_err());
    }

    #[tokio::test]
    async fn start_refuses_an_invalid_fail_rate() {
        let config = SimConfig { faults: Faults { fail_rate: 1.5, ..Faults::default() }, ..SimConfig::default() };
        let err = start(config).await.expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("1.5"), "{err}");
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let config = SimConfig::default();
        let text = format!("{config:?}");
        assert!(!text.contains(&config.token));
        assert!(config.oauth_clients.iter().all(|c| !text.contains(&c.client_secret)));
        assert!(config.refresh_tokens.iter().all(|t| !text.contains(t)));
        assert_ne!(SimConfig::default().token, config.token);
    }
}
