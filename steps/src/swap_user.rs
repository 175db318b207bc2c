//! `swap_user`: moves StoreConnect to another sync user the way StoreConnect documents
//! it, or clears the configured one so that the Console re-authenticates.
//!
//! StoreConnect's procedure changes the sync user in its Console ("Change Sync User →
//! Apply permissions → Enter Verification Code"), which authenticates the new user.
//! Nothing documents that writing the configuration record does that, so this step
//! never writes a user id there (real-org-review.md 8.2). It checks that the new user
//! can sign in, says what to do in the Console, and, once the configuration names the
//! new user, retires the old one if asked. It never retires the user StoreConnect is
//! configured with.

use runner_core::step::prelude::*;

use crate::common::{
    API_INTEGRATION_PSL, SELECTED_SYNC_USER, SETUP_CONFIGURATION, SETUP_CONFIGURATION_VALUE,
    STORECONNECT_PERMISSION_SETS, mfa_permission_read, require_mfa_permission, split_namespace,
};

pub struct SwapUser;

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Check the new user and guide the Console change; retire the old user after it.
    Console,
    /// Delete the configuration record: StoreConnect asks for the user and re-authenticates.
    Reauth,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Retire {
    Keep,
    Freeze,
    Deactivate,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Username of the new sync user (required unless mode is "reauth").
    new_user: Option<String>,
    /// "console": check the new user and guide the Console change; "reauth": clear the
    /// configuration so that StoreConnect asks for the user again.
    #[schemars(extend("default" = "console"))]
    mode: Option<Mode>,
    /// What to do with old_user once StoreConnect syncs as new_user.
    #[schemars(extend("default" = "keep"))]
    retire_old: Option<Retire>,
    /// Username of the previous sync user, to retire.
    old_user: Option<String>,
    /// The new user's credentials file, named in the Console instructions.
    credentials_file: Option<String>,
}

static META: StepMeta = StepMeta {
    name: "swap_user",
    summary: "Move StoreConnect to another sync user through its Console, or clear it to re-authenticate",
    description: "Reads s_c__Setup_Configuration__c (Name = 'selected_sync_user_id', field s_c__Text__c). When it \
already names the new user (ids compared on 15 characters) the step is ok. Otherwise it checks that the new user \
can sign in (active, not frozen, a password set, TOTP registered, the API Integration PSL and both StoreConnect \
permission sets) and says how to change the sync user in the StoreConnect Console, which authenticates the user: \
runner never writes the user id into the configuration itself. Once the configuration names the new user, \
retire_old with old_user freezes or deactivates the old one; the user StoreConnect is configured with is never \
retired. mode \"reauth\" deletes the record instead, as in StoreConnect's advanced procedure.",
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
                format!(
                    "SELECT Id, Username, IsActive, LastPasswordChangeDate, Profile.UserLicense.Name FROM User WHERE Username = {user}"
                ),
            ));
            reads.push(Read::new("login", format!("SELECT Id, IsFrozen FROM UserLogin WHERE User.Username = {user}")));
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
            reads.push(
                Read::new("mfa", format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE User.Username = {user}"))
                    .may_fail(),
            );
            reads.push(mfa_permission_read());
        }
        if let Some(old) = &params.old_user {
            let old = soql_quote(old);
            reads
                .push(Read::new("old_user", format!("SELECT Id, Username, IsActive FROM User WHERE Username = {old}")));
            reads.push(Read::new(
                "old_login",
                format!("SELECT Id, IsFrozen FROM UserLogin WHERE User.Username = {old}"),
            ));
        }
        Ok(reads)
    }

    async fn apply(&self, params: Params, observed: Observed, ctx: &mut StepCtx) -> Result<StepOutput, StepFailure> {
        let config = observed.first("config")?;
        let configured =
            config.and_then(|c| str_field(c, SETUP_CONFIGURATION_VALUE)).filter(|v| !v.is_empty()).map(str::to_string);
        match params.mode.unwrap_or(Mode::Console) {
            Mode::Reauth => reauth(ctx, config, configured).await,
            Mode::Console => console(&params, &observed, ctx, configured).await,
        }
    }
}

async fn reauth(
    ctx: &mut StepCtx,
    config: Option<&Map<String, Value>>,
    configured: Option<String>,
) -> Result<StepOutput, StepFailure> {
    let Some(record) = config else {
        return Ok(StepOutput::new("no sync user is configured; StoreConnect will ask for one"));
    };
    let record_id = str_field(record, "Id").unwrap_or_default().to_string();
    let change =
        Change::removed(format!("{SETUP_CONFIGURATION} {SELECTED_SYNC_USER}"), configured.clone().unwrap_or_default());
    // The s_c__ record goes in a request of its own: Salesforce refuses setup-object
    // and ordinary DML in one transaction (MIXED_DML_OPERATION, salesforce-api.md A.6).
    match ctx.write(Write::Delete { sobject: SETUP_CONFIGURATION.into(), id: record_id, change }).await {
        Ok(_) => {}
        Err(f) if matches!(f.error_code(), Some("ENTITY_IS_DELETED" | "NOT_FOUND")) => {}
        Err(f) => return Err(f),
    }
    Ok(StepOutput::new(format!(
        "{} the configured sync user: StoreConnect will ask for it and re-authenticate",
        verb(ctx, "cleared", "would clear")
    ))
    .with("previous_user_id", configured.map(Value::from).unwrap_or(Value::Null)))
}

async fn console(
    params: &Params,
    observed: &Observed,
    ctx: &mut StepCtx,
    configured: Option<String>,
) -> Result<StepOutput, StepFailure> {
    let Some(username) = &params.new_user else {
        return Err(StepFailure::bad_argument("swap_user", "new_user", "required unless mode is \"reauth\""));
    };
    let retire = params.retire_old.unwrap_or(Retire::Keep);
    if retire != Retire::Keep && params.old_user.is_none() {
        return Err(StepFailure::bad_argument(
            "swap_user",
            "old_user",
            "retire_old needs the username of the user to retire (old_user)",
        ));
    }
    require_mfa_permission("swap_user", observed, ctx, &["mfa"])?;
    let new_id = check_ready(username, observed)?;
    let syncs_as_new = configured.as_deref().is_some_and(|c| same_id(c, &new_id));
    if syncs_as_new {
        let mut summary = vec![format!("StoreConnect syncs as {username}")];
        if let Some(old) = &params.old_user {
            retire_old(ctx, observed, old, &new_id, configured.as_deref(), retire, &mut summary).await?;
        }
        return Ok(StepOutput::new(summary.join("; ")).with("user_id", new_id));
    }
    // The Console has not been used yet: name who StoreConnect syncs as, so that the
    // consultant knows what to pass as old_user afterwards.
    let previous = match &configured {
        Some(id) => {
            let soql = format!("SELECT Id, Username FROM User WHERE Id = {}", soql_quote(&id18(id)));
            let found = ctx.query(&soql).await?;
            let name = found.records.first().and_then(|u| str_field(u, "Username")).map(str::to_string);
            Some(name.unwrap_or_else(|| id.clone()))
        }
        None => None,
    };
    let code = match &params.credentials_file {
        Some(file) => format!("`runner credentials show --file {file}` gives the password and the code"),
        None => {
            "the code comes from the authenticator app registered for the user (or `runner credentials show`)".into()
        }
    };
    let now = match &previous {
        Some(name) => format!("StoreConnect syncs as {name}"),
        None => "StoreConnect has no sync user configured".to_string(),
    };
    let then = match (&previous, retire) {
        (Some(name), _) => format!(
            " Then run this playbook again with --var old_user={name} (and --var retire_old=freeze or deactivate) to retire the old user."
        ),
        (None, _) => String::new(),
    };
    let summary = format!(
        "{now}. {username} is ready to sign in. In the StoreConnect Console: Sync → Change Sync User → ✕ next to the \
         current user → select {username} → Apply permissions → Enter Verification Code ({code}).{then}"
    );
    Ok(StepOutput::skipped(summary)
        .with("user_id", new_id)
        .with("previous_user", previous.map(Value::from).unwrap_or(Value::Null)))
}

fn verb(ctx: &StepCtx, done: &'static str, planned: &'static str) -> &'static str {
    if ctx.check_mode() { planned } else { done }
}

/// Checks that the new user can sign in to StoreConnect; returns its id or says what is
/// missing, all of it at once.
fn check_ready(username: &str, observed: &Observed) -> Result<String, StepFailure> {
    let Some(user) = observed.first("user")? else {
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
    if observed.rows("login")?.iter().any(|l| l.get("IsFrozen").and_then(Value::as_bool) == Some(true)) {
        missing.push("it is frozen".to_string());
    }
    if user.get("LastPasswordChangeDate").is_none_or(Value::is_null) {
        missing.push("it has no password (run set_password)".to_string());
    }
    let has_psl = observed
        .rows("psl")?
        .iter()
        .any(|a| path_field(a, "PermissionSetLicense", "DeveloperName") == Some(API_INTEGRATION_PSL));
    if !has_psl {
        missing.push("the Salesforce API Integration permission set licence".to_string());
    }
    for wanted in STORECONNECT_PERMISSION_SETS {
        let (ns, name) = split_namespace(wanted);
        let held = observed.rows("sets")?.iter().any(|a| {
            path_field(a, "PermissionSet", "Name") == Some(name)
                && path_field(a, "PermissionSet", "NamespacePrefix").filter(|p| !p.is_empty()) == ns
        });
        if !held {
            missing.push(format!("the permission set {wanted}"));
        }
    }
    if !observed.rows("mfa")?.iter().any(|m| m.get("HasTotp").and_then(Value::as_bool) == Some(true)) {
        missing.push("a TOTP authenticator".to_string());
    }
    if !missing.is_empty() {
        return Err(StepFailure::new(
            "runner::swap_user::not_ready",
            format!("swap_user: {username} cannot sign in to StoreConnect yet: {}", missing.join(", ")),
        )
        .hint(format!(
            "run setup.rhai for it first: runner play setup.rhai --var username={username} --var email=… --var credentials_file=…"
        )));
    }
    Ok(str_field(user, "Id").unwrap_or_default().to_string())
}

async fn retire_old(
    ctx: &mut StepCtx,
    observed: &Observed,
    old_username: &str,
    new_id: &str,
    configured: Option<&str>,
    retire: Retire,
    summary: &mut Vec<String>,
) -> Result<(), StepFailure> {
    if retire == Retire::Keep {
        return Ok(());
    }
    let Some(old) = observed.first("old_user")? else {
        return Err(StepFailure::new(
            "runner::step::user_not_found",
            format!("swap_user: there is no user {old_username} (old_user) in this org"),
        ));
    };
    let old_id = str_field(old, "Id").unwrap_or_default().to_string();
    // Never the user StoreConnect syncs as: freezing it stops production syncs.
    if same_id(&old_id, new_id) || configured.is_some_and(|c| same_id(c, &old_id)) {
        return Err(StepFailure::new(
            "runner::swap_user::retire_configured",
            format!("swap_user: {old_username} is the user StoreConnect is configured with; it is not retired"),
        )
        .hint("old_user names the previous sync user, not the new one"));
    }
    let target = format!("User {old_username}");
    match retire {
        Retire::Keep => {}
        Retire::Freeze => {
            let Some(login) = observed.first("old_login")? else {
                return Err(StepFailure::new(
                    "runner::swap_user::no_login",
                    format!("swap_user: no UserLogin row for {old_username}"),
                ));
            };
            if login.get("IsFrozen").and_then(Value::as_bool) == Some(true) {
                summary.push(format!("{old_username} already frozen"));
                return Ok(());
            }
            let mut fields = Map::new();
            fields.insert("IsFrozen".into(), json!(true));
            let change = Change::new(target, Some("IsFrozen"), false, true);
            let id = str_field(login, "Id").unwrap_or_default().to_string();
            ctx.write(Write::Update { sobject: "UserLogin".into(), id, fields, changes: vec![change] }).await?;
            summary.push(format!("{} {old_username}", verb(ctx, "froze", "would freeze")));
        }
        Retire::Deactivate => {
            if old.get("IsActive").and_then(Value::as_bool) != Some(true) {
                summary.push(format!("{old_username} already inactive"));
                return Ok(());
            }
            let mut fields = Map::new();
            fields.insert("IsActive".into(), json!(false));
            let change = Change::new(target, Some("IsActive"), true, false);
            ctx.write(Write::Update { sobject: "User".into(), id: old_id, fields, changes: vec![change] }).await?;
            summary.push(format!("{} {old_username}", verb(ctx, "deactivated", "would deactivate")));
        }
    }
    Ok(())
}
