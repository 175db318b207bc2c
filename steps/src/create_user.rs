//! `create_user`: the sync user, on the Salesforce Integration licence and its API-only
//! profile.

use runner_core::step::prelude::*;

use crate::common::{
    INTEGRATION_LICENSE, INTEGRATION_PROFILES, USER_FIELDS, assignments_read, reread_after_ambiguous, user_read,
};

pub struct CreateUser;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Username, email-shaped and unique across all Salesforce orgs.
    username: String,
    /// Email address; required to create the user.
    email: Option<String>,
    /// First name.
    #[schemars(extend("default" = DEFAULT_FIRST_NAME))]
    first_name: Option<String>,
    /// Last name.
    #[schemars(extend("default" = DEFAULT_LAST_NAME))]
    last_name: Option<String>,
    /// Alias (at most 8 characters).
    #[schemars(extend("x-default" = "from the username, 8 characters"))]
    alias: Option<String>,
    /// Profile name, to override the one found through the licence.
    #[schemars(extend("x-default" = "the Salesforce Integration licence's profile"))]
    profile: Option<String>,
    /// TimeZoneSidKey, e.g. Australia/Sydney.
    #[schemars(extend("x-default" = "the running user's"))]
    time_zone: Option<String>,
    /// LocaleSidKey, e.g. en_AU.
    #[schemars(extend("x-default" = "the running user's"))]
    locale: Option<String>,
    /// LanguageLocaleKey, e.g. en_US.
    #[schemars(extend("x-default" = "the running user's"))]
    language: Option<String>,
    /// EmailEncodingKey, e.g. UTF-8.
    #[schemars(extend("x-default" = "UTF-8"))]
    email_encoding: Option<String>,
    /// Reactivate the user if it exists but is inactive.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    reactivate: bool,
}

static META: StepMeta = StepMeta {
    name: "create_user",
    summary: "Create the sync user on the Salesforce Integration licence and its API-only profile",
    description: "Finds the profile through the Salesforce Integration licence (\"Minimum Access - API Only \
Integrations\", or \"Salesforce API Only System Integrations\" in older orgs), checks a seat is free, and creates \
the user. A user with that username already in the org is ok, or changed when asked-for fields differ. A create \
is never retried blindly: after an ambiguous failure the step reads by username first.",
};

const DEFAULT_FIRST_NAME: &str = "StoreConnect";
const DEFAULT_LAST_NAME: &str = "Sync User";

fn default_alias(username: &str) -> String {
    let local = username.split('@').next().unwrap_or(username);
    let alias: String = local.chars().filter(|c| c.is_ascii_alphanumeric()).take(8).collect();
    if alias.is_empty() { "scsync".to_string() } else { alias }
}

impl Step for CreateUser {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        let profiles = match &params.profile {
            Some(name) => format!("SELECT Id, Name, UserLicense.Name FROM Profile WHERE Name = {}", soql_quote(name)),
            None => format!(
                "SELECT Id, Name, UserLicense.Name FROM Profile WHERE UserLicense.Name = {}",
                soql_quote(INTEGRATION_LICENSE)
            ),
        };
        Ok(vec![
            user_read(&params.username),
            Read::new("profiles", profiles),
            Read::new(
                "licenses",
                "SELECT Id, Name, MasterLabel, TotalLicenses, UsedLicenses FROM UserLicense".to_string(),
            ),
        ])
    }

    async fn apply(&self, params: Params, observed: Observed, ctx: &mut StepCtx) -> Result<StepOutput, StepFailure> {
        let existing = observed.first("user")?;
        if ctx.check_mode() && existing.is_none() {
            // Planned before any check can fail, so that planning goes on to find what the
            // later steps would trip on too.
            ctx.plan(Planned::user(&params.username));
        }
        let profile = choose_profile(&params, &observed)?;
        match existing {
            Some(user) => update_existing(&params, user, &profile, &observed, ctx).await,
            None => create(&params, &profile, &observed, ctx).await,
        }
    }
}

/// The profile the user gets: (id, name, licence name).
struct Profile {
    id: String,
    name: String,
    license: String,
}

fn choose_profile(params: &Params, observed: &Observed) -> Result<Profile, StepFailure> {
    let profiles = observed.rows("profiles")?;
    let pick = match &params.profile {
        Some(_) => profiles.first(),
        // Prefer the current name, then the legacy one, then anything on the licence.
        None => INTEGRATION_PROFILES
            .iter()
            .find_map(|wanted| profiles.iter().find(|p| str_field(p, "Name") == Some(wanted)))
            .or(profiles.first()),
    };
    let Some(profile) = pick else {
        return Err(match &params.profile {
            Some(name) => StepFailure::new("runner::create_user::no_profile", format!("create_user: there is no profile named {name:?}"))
                .hint("check the name in Setup → Profiles, or leave `profile` out to use the integration licence's profile"),
            None => StepFailure::new(
                "runner::create_user::no_profile",
                format!("create_user: no profile belongs to the {INTEGRATION_LICENSE} licence in this org"),
            )
            .hint("the org needs the Salesforce Integration user licence (Enterprise, Unlimited, Performance or Developer Edition)"),
        });
    };
    Ok(Profile {
        id: str_field(profile, "Id").unwrap_or_default().to_string(),
        name: str_field(profile, "Name").unwrap_or_default().to_string(),
        license: path_field(profile, "UserLicense", "Name").unwrap_or(INTEGRATION_LICENSE).to_string(),
    })
}

/// Free seats of the profile's licence, or a failure naming the licence and its counts.
fn check_seats(profile: &Profile, observed: &Observed) -> Result<(), StepFailure> {
    let Some(license) =
        observed.rows("licenses")?.iter().find(|l| str_field(l, "Name") == Some(profile.license.as_str()))
    else {
        return Ok(());
    };
    let (total, used) = (int_field(license, "TotalLicenses"), int_field(license, "UsedLicenses"));
    if used >= total {
        return Err(StepFailure::new(
            "runner::create_user::no_free_seats",
            format!("create_user: no free seat on the {} licence: {used} of {total} used", profile.license),
        )
        .hint("deactivate an integration user you no longer need (that frees its seat), or buy more seats"));
    }
    Ok(())
}

/// The fields the user should have, as Salesforce names them.
fn wanted_fields(params: &Params, profile: &Profile, ctx: &StepCtx, email: &str) -> Map<String, Value> {
    let d = &ctx.facts().user_defaults;
    let pick = |given: &Option<String>, default: &str| given.clone().unwrap_or_else(|| default.to_string());
    let mut fields = Map::new();
    fields.insert("Username".into(), json!(params.username));
    fields.insert("Email".into(), json!(email));
    fields.insert("FirstName".into(), json!(pick(&params.first_name, DEFAULT_FIRST_NAME)));
    fields.insert("LastName".into(), json!(pick(&params.last_name, DEFAULT_LAST_NAME)));
    fields.insert("Alias".into(), json!(params.alias.clone().unwrap_or_else(|| default_alias(&params.username))));
    fields.insert("ProfileId".into(), json!(profile.id));
    fields.insert("TimeZoneSidKey".into(), json!(pick(&params.time_zone, &d.time_zone)));
    fields.insert("LocaleSidKey".into(), json!(pick(&params.locale, &d.locale)));
    fields.insert("LanguageLocaleKey".into(), json!(pick(&params.language, &d.language)));
    fields.insert("EmailEncodingKey".into(), json!(pick(&params.email_encoding, &d.email_encoding)));
    fields
}

async fn create(
    params: &Params,
    profile: &Profile,
    observed: &Observed,
    ctx: &mut StepCtx,
) -> Result<StepOutput, StepFailure> {
    let Some(email) = &params.email else {
        return Err(StepFailure::bad_argument(
            "create_user",
            "email",
            "required to create the user, who does not exist yet",
        ));
    };
    check_seats(profile, observed)?;
    let fields = wanted_fields(params, profile, ctx, email);
    let change = Change::added(format!("User {}", params.username), format!("active, profile {}", profile.name));
    let write = Write::Create { sobject: "User".into(), fields: fields.clone(), change };
    let id = match ctx.write(write).await {
        Ok(written) => {
            let id = written.id().map(str::to_string);
            if let Some(id) = &id {
                // The later steps find the user by this read: they need not ask the org
                // for what was just written.
                ctx.wrote_answer(&user_read(&params.username), vec![created_row(id, fields, profile)]);
                ctx.wrote_answer(&assignments_read(&params.username), Vec::new());
            }
            id
        }
        Err(failure) if failure.ambiguous => {
            // The create may have been applied: users cannot be deleted, so never create twice.
            let soql = format!("SELECT {USER_FIELDS} FROM User WHERE Username = {}", soql_quote(&params.username));
            match reread_after_ambiguous(ctx, &soql).await? {
                Some(user) => {
                    let id = str_field(&user, "Id").map(str::to_string);
                    ctx.note_change(Change::added(
                        format!("User {}", params.username),
                        format!("active, profile {}", profile.name),
                    ));
                    id
                }
                None => return Err(failure.hint("the user was not created; run the playbook again")),
            }
        }
        Err(failure) => return Err(explain_create_failure(failure, params, profile)),
    };
    if ctx.check_mode() {
        ctx.plan(Planned::user(&params.username));
        return Ok(StepOutput::new(format!("would create {} on {}", params.username, profile.name))
            .with("username", params.username.clone())
            .with("profile", profile.name.clone()));
    }
    let id = id.unwrap_or_default();
    Ok(StepOutput::new(format!("created {} ({id}) on {}", params.username, profile.name))
        .with("id", id)
        .with("username", params.username.clone())
        .with("profile", profile.name.clone()))
}

/// The row `user_read` answers for a user just created with `fields`: every one of
/// [`USER_FIELDS`], as the REST API shapes it (a relationship is a nested record). A new
/// user is active and has no password yet.
fn created_row(id: &str, mut fields: Map<String, Value>, profile: &Profile) -> Map<String, Value> {
    fields.insert("Id".into(), json!(id));
    fields.insert("IsActive".into(), json!(true));
    fields.insert("LastPasswordChangeDate".into(), Value::Null);
    fields.insert(
        "Profile".into(),
        json!({
            "attributes": {"type": "Profile"},
            "Name": profile.name,
            "UserLicense": {"attributes": {"type": "UserLicense"}, "Name": profile.license},
        }),
    );
    let mut row = Map::new();
    row.insert("attributes".into(), json!({"type": "User"}));
    row.extend(fields);
    row
}

fn explain_create_failure(failure: StepFailure, params: &Params, profile: &Profile) -> StepFailure {
    match failure.error_code() {
        Some("DUPLICATE_USERNAME") => StepFailure {
            code: "runner::create_user::duplicate_username".into(),
            message: format!(
                "create_user: the username {} is already taken, in this or another Salesforce org",
                params.username
            ),
            hint: Some(format!(
                "usernames are unique across all Salesforce orgs; choose another, e.g. {}",
                suggest_username(&params.username)
            )),
            ..failure
        },
        Some("LICENSE_LIMIT_EXCEEDED") => StepFailure {
            code: "runner::create_user::no_free_seats".into(),
            message: format!("create_user: Salesforce refused: no free seat on the {} licence", profile.license),
            hint: Some("deactivate an integration user you no longer need, or buy more seats".into()),
            ..failure
        },
        _ => failure,
    }
}

fn suggest_username(username: &str) -> String {
    match username.split_once('@') {
        Some((local, domain)) => format!("{local}.{}@{domain}", "sync2"),
        None => format!("{username}@example.com"),
    }
}

async fn update_existing(
    params: &Params,
    user: &Map<String, Value>,
    profile: &Profile,
    observed: &Observed,
    ctx: &mut StepCtx,
) -> Result<StepOutput, StepFailure> {
    let id = str_field(user, "Id").unwrap_or_default().to_string();
    let active = user.get("IsActive").and_then(Value::as_bool).unwrap_or(true);
    let target = format!("User {}", params.username);
    let mut fields = Map::new();
    let mut changes = Vec::new();
    // Only what the playbook asked for is compared: a consultant's later edits in Setup
    // to fields the playbook leaves out are not overwritten.
    let asked: [(&str, Option<&String>); 9] = [
        ("Email", params.email.as_ref()),
        ("FirstName", params.first_name.as_ref()),
        ("LastName", params.last_name.as_ref()),
        ("Alias", params.alias.as_ref()),
        ("TimeZoneSidKey", params.time_zone.as_ref()),
        ("LocaleSidKey", params.locale.as_ref()),
        ("LanguageLocaleKey", params.language.as_ref()),
        ("EmailEncodingKey", params.email_encoding.as_ref()),
        ("ProfileId", params.profile.as_ref().map(|_| &profile.id)),
    ];
    for (field, wanted) in asked {
        let Some(wanted) = wanted else { continue };
        let current = str_field(user, field).unwrap_or_default();
        if current != wanted {
            let (before, after) = if field == "ProfileId" {
                (path_field(user, "Profile", "Name").unwrap_or(current).to_string(), profile.name.clone())
            } else {
                (current.to_string(), wanted.clone())
            };
            changes.push(Change::new(target.clone(), Some(field), before, after));
            fields.insert(field.into(), json!(wanted));
        }
    }
    if !active {
        if !params.reactivate {
            return Err(StepFailure::new(
                "runner::create_user::inactive",
                format!("create_user: {} exists but is inactive", params.username),
            )
            .hint("pass `reactivate: true` to reactivate it (it needs a free seat), or choose another username"));
        }
        check_seats(profile, observed)?;
        changes.push(Change::new(target.clone(), Some("IsActive"), false, true));
        fields.insert("IsActive".into(), json!(true));
    }
    let profile_name = path_field(user, "Profile", "Name").unwrap_or_default().to_string();
    let output = |summary: String| {
        StepOutput::new(summary)
            .with("id", id.clone())
            .with("username", params.username.clone())
            .with("profile", profile_name.clone())
    };
    if fields.is_empty() {
        return Ok(output(format!("{} exists ({id})", params.username)));
    }
    let names: Vec<String> = fields.keys().cloned().collect();
    ctx.write(Write::Update { sobject: "User".into(), id: id.clone(), fields, changes }).await?;
    let verb = if ctx.check_mode() { "would update" } else { "updated" };
    Ok(output(format!("{verb} {} ({id}): {}", params.username, names.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_come_from_the_username() {
        assert_eq!(default_alias("storeconnect.sync@client.example"), "storecon");
        assert_eq!(default_alias("sc@x.example"), "sc");
        assert_eq!(default_alias("@x"), "scsync");
    }
}
