//! What the handover document says, read from the org: the sync user, its licence, PSL and permission sets,
//! its password and verification method, its profile's record-type defaults, StoreConnect's configured user,
//! and what the credentials file holds (whether, never what).

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use runner_core::client::soql::soql_quote;
use runner_core::client::{ClientError, QueryResult, SfClient};
use runner_core::credentials::Credentials;
use runner_core::step::{same_id, str_field};
use runner_steps::names::{SELECTED_SYNC_USER, SETUP_CONFIGURATION, SETUP_CONFIGURATION_VALUE};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::engine::{OrgFacts, OrgReport};

/// Where StoreConnect keeps the user it syncs as (the procedure's Console → Change Sync User writes it).
fn configured_user_soql() -> String {
    format!(
        "SELECT {SETUP_CONFIGURATION_VALUE}, LastModifiedDate FROM {SETUP_CONFIGURATION} WHERE Name = '{SELECTED_SYNC_USER}'"
    )
}

#[derive(Debug, Serialize)]
pub struct Handover {
    /// The org's name in this run (`--org`, or a named org of runner.toml).
    pub org: String,
    pub org_id: String,
    pub org_name: String,
    pub instance_url: String,
    pub edition: String,
    pub sandbox: bool,
    /// When the org was read, RFC 3339 in UTC.
    pub generated_at: String,
    pub runner_version: String,
    /// How the user was chosen: `--var username` or StoreConnect's configuration.
    pub user_source: String,
    /// The user named, whether or not it exists.
    pub username: Option<String>,
    pub user: Option<SyncUser>,
    pub storeconnect: StoreConnect,
    pub audit: Audit,
    pub credentials_file: Option<CredentialsFile>,
    /// What could not be read, said plainly; the rest of the document stands.
    pub notes: Vec<String>,
}

impl Handover {
    /// The org's own part, from the facts read while the document's reads were under way.
    pub fn set_org(&mut self, facts: &OrgFacts) {
        self.org = facts.target.clone();
        self.org_id = facts.org_id.clone();
        self.org_name = facts.org_name.clone();
        self.instance_url = facts.instance_url.clone();
        self.edition = facts.edition.clone();
        self.sandbox = facts.is_sandbox;
    }
}

#[derive(Debug, Serialize)]
pub struct SyncUser {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub active: bool,
    pub created: Option<String>,
    pub last_login: Option<String>,
    pub profile: String,
    pub licence: Option<String>,
    pub permission_set_licences: Vec<Assigned>,
    pub permission_sets: Vec<Assigned>,
    /// `User.LastPasswordChangeDate`: empty for a user that never had a password.
    pub password_changed: Option<String>,
    /// `TwoFactorMethodsInfo.HasTotp`.
    pub totp_registered: Option<bool>,
    /// `TwoFactorInfo.CreatedDate` of its TOTP entry.
    pub totp_registered_at: Option<String>,
    /// The profile's default record types (`None` when they could not be read).
    pub record_type_defaults: Option<Vec<RecordTypeDefault>>,
}

#[derive(Debug, Serialize)]
pub struct Assigned {
    /// `namespace__Name`, or the API name when it has no namespace.
    pub api_name: String,
    pub label: String,
    /// When it was assigned.
    pub since: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RecordTypeDefault {
    pub object: String,
    pub record_type: String,
    /// The default for person accounts rather than business accounts.
    pub person_accounts: bool,
}

#[derive(Debug, Serialize)]
pub struct StoreConnect {
    pub installed: bool,
    /// `s_c__Setup_Configuration__c` `selected_sync_user_id`, as StoreConnect stores it (15 or 18 characters).
    pub configured_user_id: Option<String>,
    pub configured_username: Option<String>,
    pub configured_at: Option<String>,
    /// Whether StoreConnect syncs as the user this document is about.
    pub configured_is_this_user: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct Audit {
    /// `ok`, `drift` or `failed`, as `runner play audit.rhai --json` reports it.
    pub outcome: String,
    pub at: String,
    pub playbook: String,
    pub drift: Vec<DriftLine>,
    pub failure: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DriftLine {
    pub target: String,
    pub field: String,
    pub expected: String,
    pub actual: String,
}

#[derive(Debug, Serialize)]
pub struct CredentialsFile {
    pub path: PathBuf,
    /// `present`, `missing`, `unreadable` or `another user` (it holds someone else's credentials).
    pub state: String,
    pub holds_password: bool,
    pub holds_authenticator: bool,
    pub detail: Option<String>,
}

/// Reads the org for the document, all but its facts ([`Handover::set_org`]). A read Salesforce refuses
/// becomes a note; a failure to reach the org is the error.
pub async fn read(
    client: &SfClient,
    vars: &IndexMap<String, String>,
    runner_version: &str,
) -> Result<Handover, ClientError> {
    let mut notes = Vec::new();
    let mut username = vars.get("username").filter(|u| !u.is_empty()).cloned();
    let user_source = if username.is_some() { "--var username" } else { "StoreConnect's configured user" };
    // With the username known, StoreConnect's configuration and the user's own reads go in one round trip.
    let mut soqls = vec![configured_user_soql()];
    if let Some(name) = &username {
        soqls.extend(user_reads(name));
    }
    let mut results = client.query_batch(&soqls).await?.into_iter();
    let config = results.next();
    let mut storeconnect = storeconnect_part(config, &mut notes);
    let mut user_results: Vec<Result<QueryResult, ClientError>> = results.collect();
    if username.is_none()
        && let Some(id) = storeconnect.configured_user_id.clone()
    {
        let found = first_row(client.query(&format!("SELECT Username FROM User WHERE Id = {}", soql_quote(&id))).await);
        username = found.as_ref().and_then(|u| text(u, "Username"));
        match &username {
            Some(name) => user_results = client.query_batch(&user_reads(name)).await?,
            None => notes.push(format!("StoreConnect is configured with user {id}, which does not exist")),
        }
    }
    let user = match &username {
        Some(name) => sync_user(client, name, user_results, &mut notes).await,
        None => None,
    };
    if let Some(id) = &storeconnect.configured_user_id {
        match &user {
            Some(user) if same_id(id, &user.id) => {
                storeconnect.configured_is_this_user = true;
                storeconnect.configured_username = Some(user.username.clone());
            }
            _ => {
                let found =
                    first_row(client.query(&format!("SELECT Username FROM User WHERE Id = {}", soql_quote(id))).await);
                storeconnect.configured_username = found.as_ref().and_then(|u| text(u, "Username"));
            }
        }
    }
    if username.is_some() && user.is_none() {
        notes.push(format!("there is no user {}", username.as_deref().unwrap_or_default()));
    }
    let credentials_file = vars
        .get("credentials_file")
        .or_else(|| vars.get("totp_file"))
        .filter(|p| !p.is_empty())
        .map(|path| credentials_part(Path::new(path), username.as_deref()));
    Ok(Handover {
        org: String::new(),
        org_id: String::new(),
        org_name: String::new(),
        instance_url: client.instance_url().as_str().trim_end_matches('/').to_string(),
        edition: String::new(),
        sandbox: false,
        generated_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        runner_version: runner_version.to_string(),
        user_source: user_source.to_string(),
        username,
        user,
        storeconnect,
        // Filled in by the caller, which runs the audit beside these reads.
        audit: Audit::default(),
        credentials_file,
        notes,
    })
}

/// The user's own reads, in one batch: the user, its PSLs, its permission sets, its verification methods.
fn user_reads(username: &str) -> Vec<String> {
    let user = soql_quote(username);
    vec![
        format!(
            "SELECT Id, Username, Name, Email, IsActive, CreatedDate, LastLoginDate, LastPasswordChangeDate, ProfileId, \
             Profile.Name, Profile.UserLicense.Name FROM User WHERE Username = {user}"
        ),
        format!(
            "SELECT PermissionSetLicense.DeveloperName, PermissionSetLicense.MasterLabel, CreatedDate FROM \
             PermissionSetLicenseAssign WHERE Assignee.Username = {user}"
        ),
        format!(
            "SELECT PermissionSet.Name, PermissionSet.NamespacePrefix, PermissionSet.Label, SystemModstamp FROM \
             PermissionSetAssignment WHERE Assignee.Username = {user} AND PermissionSet.IsOwnedByProfile = false"
        ),
        format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE User.Username = {user}"),
        format!("SELECT Type, CreatedDate FROM TwoFactorInfo WHERE User.Username = {user} AND Type = 'TOTP'"),
    ]
}

async fn sync_user(
    client: &SfClient,
    username: &str,
    results: Vec<Result<QueryResult, ClientError>>,
    notes: &mut Vec<String>,
) -> Option<SyncUser> {
    let mut results = results.into_iter();
    let mut next = |what: &str, notes: &mut Vec<String>| match results.next() {
        Some(Ok(result)) => Some(result.records),
        Some(Err(err)) => {
            notes.push(format!("{what} could not be read: {err}"));
            None
        }
        None => None,
    };
    let user = next("the user", notes)?.into_iter().next()?;
    let psls = next("its permission set licences", notes).unwrap_or_default();
    let sets = next("its permission sets", notes).unwrap_or_default();
    let methods = next("its verification methods (TwoFactorMethodsInfo)", notes);
    let totp = next("its TOTP registration (TwoFactorInfo)", notes);
    let profile_id = text(&user, "ProfileId").unwrap_or_default();
    let record_type_defaults = match record_type_defaults(client, &profile_id).await {
        Ok(defaults) => Some(defaults),
        Err(reason) => {
            notes.push(format!("the profile's record-type defaults could not be read: {reason}"));
            None
        }
    };
    let mut permission_sets: Vec<Assigned> = sets
        .iter()
        .map(|row| {
            let set = row.get("PermissionSet").and_then(Value::as_object);
            let name = set.and_then(|s| text(s, "Name")).unwrap_or_default();
            let api_name = match set.and_then(|s| text(s, "NamespacePrefix")) {
                Some(ns) => format!("{ns}__{name}"),
                None => name,
            };
            Assigned {
                api_name,
                label: set.and_then(|s| text(s, "Label")).unwrap_or_default(),
                since: text(row, "SystemModstamp"),
            }
        })
        .collect();
    permission_sets.sort_by(|a, b| a.api_name.cmp(&b.api_name));
    Some(SyncUser {
        id: text(&user, "Id").unwrap_or_default(),
        username: text(&user, "Username").unwrap_or_else(|| username.to_string()),
        name: text(&user, "Name").unwrap_or_default(),
        email: text(&user, "Email").unwrap_or_default(),
        active: user.get("IsActive").and_then(Value::as_bool).unwrap_or(false),
        created: text(&user, "CreatedDate"),
        last_login: text(&user, "LastLoginDate"),
        profile: nested(&user, &["Profile", "Name"]).unwrap_or_default(),
        licence: nested(&user, &["Profile", "UserLicense", "Name"]),
        permission_set_licences: psls
            .iter()
            .map(|row| Assigned {
                api_name: nested(row, &["PermissionSetLicense", "DeveloperName"]).unwrap_or_default(),
                label: nested(row, &["PermissionSetLicense", "MasterLabel"]).unwrap_or_default(),
                since: text(row, "CreatedDate"),
            })
            .collect(),
        permission_sets,
        password_changed: text(&user, "LastPasswordChangeDate"),
        totp_registered: methods.map(|rows| rows.iter().any(|r| r.get("HasTotp") == Some(&Value::Bool(true)))),
        totp_registered_at: totp.and_then(|rows| rows.first().and_then(|r| text(r, "CreatedDate"))),
        record_type_defaults,
    })
}

/// The profile's defaults through Metadata, by the FullName Tooling gives for its Id: a translated profile
/// name is not its Metadata name (see set_defaults).
async fn record_type_defaults(client: &SfClient, profile_id: &str) -> Result<Vec<RecordTypeDefault>, String> {
    let soql = format!("SELECT FullName FROM Profile WHERE Id = {}", soql_quote(profile_id));
    let full_name = first_row(client.query_tooling(&soql).await)
        .and_then(|p| text(&p, "FullName"))
        .ok_or_else(|| format!("Tooling has no FullName for the profile {profile_id}"))?;
    let visibilities = client.read_profile_record_types(&full_name).await.map_err(|e| e.to_string())?;
    let mut defaults = Vec::new();
    for v in &visibilities {
        let (object, record_type) = v.record_type.split_once('.').unwrap_or((v.record_type.as_str(), ""));
        let entry = |person_accounts| RecordTypeDefault {
            object: object.to_string(),
            record_type: record_type.to_string(),
            person_accounts,
        };
        if v.default {
            defaults.push(entry(false));
        }
        if v.person_account_default == Some(true) {
            defaults.push(entry(true));
        }
    }
    defaults.sort_by(|a, b| (&a.object, a.person_accounts).cmp(&(&b.object, b.person_accounts)));
    Ok(defaults)
}

fn storeconnect_part(config: Option<Result<QueryResult, ClientError>>, notes: &mut Vec<String>) -> StoreConnect {
    let mut part = StoreConnect {
        installed: true,
        configured_user_id: None,
        configured_username: None,
        configured_at: None,
        configured_is_this_user: false,
    };
    match config {
        Some(Ok(result)) => {
            if let Some(row) = result.records.first() {
                part.configured_user_id = text(row, SETUP_CONFIGURATION_VALUE);
                part.configured_at = text(row, "LastModifiedDate");
            }
        }
        // Salesforce's answer for an object the org does not have.
        Some(Err(err)) if err.error_code() == Some("INVALID_TYPE") => part.installed = false,
        Some(Err(err)) => notes.push(format!("StoreConnect's configuration could not be read: {err}")),
        None => {}
    }
    part
}

/// What the credentials file holds, by name only: the report is not where secrets go.
fn credentials_part(path: &Path, username: Option<&str>) -> CredentialsFile {
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let part = |state: &str, detail: Option<String>| CredentialsFile {
        path: shown.clone(),
        state: state.to_string(),
        holds_password: false,
        holds_authenticator: false,
        detail,
    };
    match Credentials::load(path) {
        Ok(None) => part("missing", Some("no file there".into())),
        Err(err) => part("unreadable", Some(err.to_string())),
        Ok(Some(credentials)) => {
            let other = username.is_some_and(|u| !u.eq_ignore_ascii_case(&credentials.username));
            CredentialsFile {
                path: shown,
                state: if other { "another user" } else { "present" }.to_string(),
                holds_password: credentials.has_password(),
                holds_authenticator: credentials.totp_secret().is_some(),
                detail: other.then(|| format!("it holds {}", credentials.username)),
            }
        }
    }
}

/// The audit's result, as the report of `audit.rhai`'s run says it.
pub fn audit_part(report: &OrgReport, playbook: &str, at: String) -> Audit {
    let shown = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".to_string(),
        other => other.to_string(),
    };
    Audit {
        outcome: crate::reports::org_outcome(report).to_string(),
        at,
        playbook: playbook.to_string(),
        drift: report
            .drift
            .iter()
            .map(|d| DriftLine {
                target: d.target.clone(),
                field: d.field.clone(),
                expected: shown(&d.expected),
                actual: shown(&d.actual),
            })
            .collect(),
        failure: report.error.as_ref().map(|e| format!("{} ({})", e.message, e.code)),
    }
}

fn first_row(result: Result<QueryResult, ClientError>) -> Option<Map<String, Value>> {
    result.ok().and_then(|r| r.records.into_iter().next())
}

fn text(row: &Map<String, Value>, field: &str) -> Option<String> {
    str_field(row, field).filter(|s| !s.is_empty()).map(str::to_string)
}

fn nested(row: &Map<String, Value>, path: &[&str]) -> Option<String> {
    let (last, parents) = path.split_last()?;
    let mut at = row;
    for parent in parents {
        at = at.get(*parent)?.as_object()?;
    }
    text(at, last)
}
