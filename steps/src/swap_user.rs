//! `swap_user`: points StoreConnect at another sync user, or (mode "reauth") clears the
//! configured one so that the StoreConnect Console asks for it and re-authenticates.

use runner_core::report::Change;
use runner_core::run::soql_quote;
use runner_core::step::{
    BoxFuture, Observed, ParamDoc, ParamType, Read, Step, StepCtx, StepFailure, StepMeta, StepOutput, Write,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::{
    API_INTEGRATION_PSL, INTEGRATION_LICENSE, SELECTED_SYNC_USER, SETUP_CONFIGURATION, SETUP_CONFIGURATION_VALUE,
    STORECONNECT_PERMISSION_SETS, path_field, split_namespace, str_field,
};

pub struct SwapUser;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Point the configuration at the new user.
    Point,
    /// Delete the configuration record: StoreConnect asks for the user and re-authenticates.
    Reauth,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Retire {
    Keep,
    Freeze,
    Deactivate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    new_user: Option<String>,
    mode: Option<Mode>,
    retire_old: Option<Retire>,
}

static META: StepMeta = StepMeta {
    name: "swap_user",
    summary: "Point StoreConnect's configured sync user at another user, or clear it to re-authenticate",
    description: "Reads s_c__Setup_Configuration__c (Name = 'selected_sync_user_id', field s_c__Text__c). When it \
already names the new user the step is ok and writes nothing. Otherwise it checks the new user is fully set up \
(active, integration profile, API Integration PSL, both StoreConnect permission sets, TOTP) and points the record \
at it. mode \"reauth\" deletes the record instead, as in StoreConnect's advanced procedure. retire_old freezes or \
deactivates the previous user (never the new one). The s_c__ record is written in its own request, apart from \
User writes.",
    params: &[
        ParamDoc {
            name: "new_user",
            ty: ParamType::String,
            required: false,
            default: None,
            doc: "Username of the new sync user (required for mode \"point\")",
        },
        ParamDoc {
            name: "mode",
            ty: ParamType::String,
            required: false,
            default: Some("\"point\""),
            doc: "\"point\" or \"reauth\"",
        },
        ParamDoc {
            name: "retire_old",
            ty: ParamType::String,
            required: false,
            default: Some("\"keep\""),
            doc: "\"keep\", \"freeze\" or \"deactivate\" the previous sync user",
        },
    ],
};

impl Step for SwapUser {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        let mut reads = vec![Read::new(
            "config",
            format!(
                "SELECT Id, Name, {SETUP_CONFIGURATION_VALUE} FROM {SETUP_CONFIGURATION} WHERE Name = {}",
                soql_quote(SELECTED_SYNC_USER)
            ),
        )];
        if let Some(user) = &params.new_user {
            let user = soql_quote(user);
            reads.push(Read::new(
                "user",
                format!("SELECT Id, Username, IsActive, Profile.Name, Profile.UserLicense.Name FROM User WHERE Username = {user}"),
            ));
            reads.push(Read::new(
                "psl",
                format!("SELECT Id, PermissionSetLicense.DeveloperName FROM PermissionSetLicenseAssign WHERE Assignee.Username = {user}"),
            ));
            reads.push(Read::new(
                "sets",
                format!(
                    "SELECT Id, PermissionSet.Name, PermissionSet.NamespacePrefix FROM PermissionSetAssignment WHERE Assignee.Username = {user}"
                ),
            ));
            reads.push(Read::new(
                "mfa",
                format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE User.Username = {user}"),
            ));
        }
        Ok(reads)
    }

    fn apply<'a>(
        &'a self,
        params: Params,
        observed: Observed,
        ctx: &'a mut StepCtx,
    ) -> BoxFuture<'a, Result<StepOutput, StepFailure>> {
        Box::pin(async move {
            let mode = params.mode.unwrap_or(Mode::Point);
            let retire = params.retire_old.unwrap_or(Retire::Keep);
            let config = observed.first("config");
            let old_id = config
                .and_then(|c| str_field(c, SETUP_CONFIGURATION_VALUE))
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            let new = match &params.new_user {
                Some(username) => Some(check_new_user(username, &observed)?),
                None if mode == Mode::Point => {
                    return Err(StepFailure::bad_argument("swap_user", "new_user", "required when mode is \"point\""));
                }
                None => None,
            };
            let new_id = new.as_ref().map(|(id, _)| id.clone());
            let mut summary = Vec::new();

            // The s_c__ record goes in a request of its own: Salesforce refuses setup-object
            // (User) and ordinary DML in one transaction (MIXED_DML_OPERATION).
            match (mode, config) {
                (Mode::Point, Some(record)) if old_id.is_some() && old_id == new_id => {
                    let username = new.as_ref().map(|(_, u)| u.as_str()).unwrap_or_default();
                    let _ = record;
                    summary.push(format!("StoreConnect already syncs as {username}"));
                }
                (Mode::Point, Some(record)) => {
                    let (id, username) = new.as_ref().map(|(i, u)| (i.clone(), u.clone())).unwrap_or_default();
                    let mut fields = Map::new();
                    fields.insert(SETUP_CONFIGURATION_VALUE.into(), json!(id));
                    let change = Change::new(
                        format!("{SETUP_CONFIGURATION} {SELECTED_SYNC_USER}"),
                        Some(SETUP_CONFIGURATION_VALUE),
                        old_id.clone().map(Value::from).unwrap_or(Value::Null),
                        id.clone(),
                    );
                    let record_id = str_field(record, "Id").unwrap_or_default().to_string();
                    ctx.write(Write::Update {
                        sobject: SETUP_CONFIGURATION.into(),
                        id: record_id,
                        fields,
                        changes: vec![change],
                    })
                    .await?;
                    summary.push(format!("{} StoreConnect at {username}", verb(ctx, "pointed", "would point")));
                }
                (Mode::Point, None) => {
                    let (id, username) = new.as_ref().map(|(i, u)| (i.clone(), u.clone())).unwrap_or_default();
                    let mut fields = Map::new();
                    fields.insert("Name".into(), json!(SELECTED_SYNC_USER));
                    fields.insert(SETUP_CONFIGURATION_VALUE.into(), json!(id));
                    let change = Change::added(format!("{SETUP_CONFIGURATION} {SELECTED_SYNC_USER}"), id.clone());
                    ctx.write(Write::Create { sobject: SETUP_CONFIGURATION.into(), fields, change }).await?;
                    summary.push(format!("{} StoreConnect at {username}", verb(ctx, "pointed", "would point")));
                }
                (Mode::Reauth, Some(record)) => {
                    let record_id = str_field(record, "Id").unwrap_or_default().to_string();
                    let change = Change::removed(
                        format!("{SETUP_CONFIGURATION} {SELECTED_SYNC_USER}"),
                        old_id.clone().unwrap_or_default(),
                    );
                    match ctx.write(Write::Delete { sobject: SETUP_CONFIGURATION.into(), id: record_id, change }).await
                    {
                        Ok(_) => {}
                        Err(f) if matches!(f.error_code(), Some("ENTITY_IS_DELETED" | "NOT_FOUND")) => {}
                        Err(f) => return Err(f),
                    }
                    summary.push(format!(
                        "{} the configured sync user: StoreConnect will ask for it and re-authenticate",
                        verb(ctx, "cleared", "would clear")
                    ));
                }
                (Mode::Reauth, None) => {
                    summary.push("no sync user is configured; StoreConnect will ask for one".to_string())
                }
            }

            if let Some(old) = old_id.as_deref().filter(|old| Some(*old) != new_id.as_deref()) {
                retire_old(ctx, old, retire, &mut summary).await?;
            }
            Ok(StepOutput::new(summary.join("; "))
                .with("previous_user_id", old_id.map(Value::from).unwrap_or(Value::Null)))
        })
    }
}

fn verb(ctx: &StepCtx, done: &'static str, planned: &'static str) -> &'static str {
    if ctx.check_mode() { planned } else { done }
}

/// Checks the new user is fully set up; returns (id, username) or says what is missing.
fn check_new_user(username: &str, observed: &Observed) -> Result<(String, String), StepFailure> {
    let Some(user) = observed.first("user") else {
        return Err(StepFailure::new(
            "runner::step::user_not_found",
            format!("swap_user: there is no user {username} in this org"),
        )
        .hint("set it up first: runner play setup.rhai --var username=… --var email=…"));
    };
    let mut missing = Vec::new();
    if user.get("IsActive").and_then(Value::as_bool) != Some(true) {
        missing.push("it is inactive".to_string());
    }
    let license =
        user.get("Profile").and_then(|p| p.get("UserLicense")).and_then(|l| l.get("Name")).and_then(Value::as_str);
    if license != Some(INTEGRATION_LICENSE) {
        let profile = path_field(user, "Profile", "Name").unwrap_or("unknown");
        missing.push(format!("its profile {profile} is not on the {INTEGRATION_LICENSE} licence"));
    }
    let has_psl = observed
        .rows("psl")
        .iter()
        .any(|a| path_field(a, "PermissionSetLicense", "DeveloperName") == Some(API_INTEGRATION_PSL));
    if !has_psl {
        missing.push("the Salesforce API Integration permission set licence".to_string());
    }
    for wanted in STORECONNECT_PERMISSION_SETS {
        let (ns, name) = split_namespace(wanted);
        let held = observed.rows("sets").iter().any(|a| {
            path_field(a, "PermissionSet", "Name") == Some(name)
                && path_field(a, "PermissionSet", "NamespacePrefix").filter(|p| !p.is_empty()) == ns
        });
        if !held {
            missing.push(format!("the permission set {wanted}"));
        }
    }
    let totp = observed.rows("mfa").iter().any(|m| m.get("HasTotp").and_then(Value::as_bool) == Some(true));
    if !totp {
        missing.push("a TOTP authenticator".to_string());
    }
    if !missing.is_empty() {
        return Err(StepFailure::new(
            "runner::swap_user::not_set_up",
            format!("swap_user: {username} is not fully set up: missing {}", missing.join(", ")),
        )
        .hint(format!("run setup.rhai for it first: runner play setup.rhai --var username={username} --var email=…")));
    }
    Ok((str_field(user, "Id").unwrap_or_default().to_string(), username.to_string()))
}

async fn retire_old(
    ctx: &mut StepCtx,
    old_id: &str,
    retire: Retire,
    summary: &mut Vec<String>,
) -> Result<(), StepFailure> {
    match retire {
        Retire::Keep => Ok(()),
        Retire::Freeze => {
            let login =
                ctx.query(&format!("SELECT Id, IsFrozen FROM UserLogin WHERE UserId = {}", soql_quote(old_id))).await?;
            let Some(row) = login.records.first() else {
                return Err(StepFailure::new(
                    "runner::swap_user::no_login",
                    format!("swap_user: no UserLogin row for the previous user {old_id}"),
                ));
            };
            if row.get("IsFrozen").and_then(Value::as_bool) == Some(true) {
                summary.push(format!("previous user {old_id} already frozen"));
                return Ok(());
            }
            let mut fields = Map::new();
            fields.insert("IsFrozen".into(), json!(true));
            let change = Change::new(format!("User {old_id}"), Some("IsFrozen"), false, true);
            let id = str_field(row, "Id").unwrap_or_default().to_string();
            ctx.write(Write::Update { sobject: "UserLogin".into(), id, fields, changes: vec![change] }).await?;
            summary.push(format!("{} the previous user {old_id}", verb(ctx, "froze", "would freeze")));
            Ok(())
        }
        Retire::Deactivate => {
            let user = ctx.query(&format!("SELECT Id, IsActive FROM User WHERE Id = {}", soql_quote(old_id))).await?;
            let active = user.records.first().and_then(|u| u.get("IsActive")).and_then(Value::as_bool);
            if active != Some(true) {
                summary.push(format!("previous user {old_id} already inactive"));
                return Ok(());
            }
            let mut fields = Map::new();
            fields.insert("IsActive".into(), json!(false));
            let change = Change::new(format!("User {old_id}"), Some("IsActive"), true, false);
            ctx.write(Write::Update { sobject: "User".into(), id: old_id.to_string(), fields, changes: vec![change] })
                .await?;
            summary.push(format!("{} the previous user {old_id}", verb(ctx, "deactivated", "would deactivate")));
            Ok(())
        }
    }
}
