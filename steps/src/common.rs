//! What several steps share: the StoreConnect and Salesforce names they use, the
//! user lookup, and the failures that point the consultant at the step to run first.

use runner_core::run::soql_quote;
use runner_core::step::{Observed, Read, StepCtx, StepFailure};
use serde_json::{Map, Value};

/// The user licence of integration users.
pub const INTEGRATION_LICENSE: &str = "Salesforce Integration";
/// The integration profile's current name, and the one older orgs still have.
pub const INTEGRATION_PROFILES: [&str; 2] =
    ["Minimum Access - API Only Integrations", "Salesforce API Only System Integrations"];
/// The permission set licence that must come before any permission set.
pub const API_INTEGRATION_PSL: &str = "SalesforceAPIIntegrationPsl";
/// StoreConnect's managed-package namespace.
pub const STORECONNECT_NAMESPACE: &str = "s_c";
/// The two permission sets the sync user needs.
pub const STORECONNECT_PERMISSION_SETS: [&str; 2] = ["s_c__storeConnect_Sync", "storeConnect_Sync_standard"];
/// Where StoreConnect keeps its configured sync user.
pub const SETUP_CONFIGURATION: &str = "s_c__Setup_Configuration__c";
pub const SELECTED_SYNC_USER: &str = "selected_sync_user_id";
pub const SETUP_CONFIGURATION_VALUE: &str = "s_c__Text__c";

pub const USER_FIELDS: &str = "Id, Username, Email, FirstName, LastName, Alias, IsActive, ProfileId, Profile.Name, \
     TimeZoneSidKey, LocaleSidKey, LanguageLocaleKey, EmailEncodingKey";

/// The read of a user by username, under the name `user`.
pub fn user_read(username: &str) -> Read {
    Read::new("user", format!("SELECT {USER_FIELDS} FROM User WHERE Username = {}", soql_quote(username)))
}

/// A user as a step found it.
pub enum UserState<'a> {
    Found(&'a Map<String, Value>),
    /// Not in the org, but an earlier step of this check-mode run would create it.
    Planned,
}

impl UserState<'_> {
    pub fn id(&self) -> Option<&str> {
        match self {
            UserState::Found(user) => str_field(user, "Id"),
            UserState::Planned => None,
        }
    }
}

/// Finds the user a step works on, or fails saying to create it first.
pub fn require_user<'a>(
    step: &str,
    observed: &'a Observed,
    ctx: &StepCtx,
    username: &str,
) -> Result<UserState<'a>, StepFailure> {
    if let Some(user) = observed.first("user") {
        return Ok(UserState::Found(user));
    }
    if ctx.check_mode() && ctx.is_planned("User", username) {
        return Ok(UserState::Planned);
    }
    Err(StepFailure::new("runner::step::user_not_found", format!("{step}: there is no user {username} in this org"))
        .hint("create it first with create_user (setup.rhai runs the steps in order), or check the username"))
}

pub fn str_field<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

pub fn int_field(record: &Map<String, Value>, field: &str) -> i64 {
    record.get(field).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))).unwrap_or(0)
}

/// A nested relationship field: `Profile.Name`.
pub fn path_field<'a>(record: &'a Map<String, Value>, relationship: &str, field: &str) -> Option<&'a str> {
    record.get(relationship)?.get(field)?.as_str()
}

/// Splits a possibly namespaced API name: `s_c__storeConnect_Sync` → (Some("s_c"), "storeConnect_Sync").
/// Custom-object suffixes (`__c`) are not namespaces.
pub fn split_namespace(name: &str) -> (Option<&str>, &str) {
    match name.split_once("__") {
        Some((ns, rest)) if !ns.is_empty() && !rest.is_empty() && !rest.contains("__") => (Some(ns), rest),
        _ => (None, name),
    }
}

/// A SOQL `IN (…)` list.
pub fn soql_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = values.into_iter().map(soql_quote).collect();
    format!("({})", quoted.join(", "))
}

/// Re-reads after an ambiguous create: did the record get made after all?
pub async fn reread_after_ambiguous(ctx: &StepCtx, soql: &str) -> Result<Option<Map<String, Value>>, StepFailure> {
    let result = ctx.query(soql).await?;
    Ok(result.records.into_iter().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_split_only_on_package_prefixes() {
        assert_eq!(split_namespace("s_c__storeConnect_Sync"), (Some("s_c"), "storeConnect_Sync"));
        assert_eq!(split_namespace("storeConnect_Sync_standard"), (None, "storeConnect_Sync_standard"));
        assert_eq!(split_namespace("s_c__Setup_Configuration__c"), (None, "s_c__Setup_Configuration__c"));
    }
}
