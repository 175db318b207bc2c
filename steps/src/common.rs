//! What several steps share: the StoreConnect and Salesforce names they use, the
//! user lookup, and the failures that point the consultant at the step to run first.

use runner_core::step::prelude::*;

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
     Profile.UserLicense.Name, TimeZoneSidKey, LocaleSidKey, LanguageLocaleKey, EmailEncodingKey, LastPasswordChangeDate";

/// The running user's permission to read and write `TwoFactorInfo` and to read
/// `TwoFactorMethodsInfo`, "Manage Multi-Factor Authentication in API". Required by the
/// official object reference pages of both objects
/// (developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-twofactorinfo.html);
/// its API name, `PermissionsManageTwoFactor`, is the one generated Profile and
/// PermissionSet describe models carry (label "Manage Multi-Factor Authentication in API").
pub const MFA_API_PERMISSION: &str = "PermissionsManageTwoFactor";
pub const MFA_API_PERMISSION_LABEL: &str = "Manage Multi-Factor Authentication in API";

/// The read of a user by username, under the name `user`.
pub fn user_read(username: &str) -> Read {
    Read::new("user", format!("SELECT {USER_FIELDS} FROM User WHERE Username = {}", soql_quote(username)))
}

/// The user's assignments of permission sets that are not a profile's own, under the
/// name `assigned`. A user just created has none (its profile's own set is assigned to it,
/// which this read leaves out): create_user keeps that answer.
pub fn assignments_read(username: &str) -> Read {
    Read::new(
        "assigned",
        format!(
            "SELECT Id, PermissionSetId FROM PermissionSetAssignment WHERE Assignee.Username = {} \
             AND PermissionSet.IsOwnedByProfile = false",
            soql_quote(username)
        ),
    )
}

/// A user as a step found it.
pub enum UserState<'a> {
    Found(&'a Map<String, Value>),
    /// Not in the org, but an earlier step of this check-mode run would create it.
    Planned,
}

/// The id to assign to: the user's, or for a user an earlier step of this check-mode run
/// plans to create, the stand-in the plan's writes carry (see `StepCtx::planned_id`).
pub fn assignee_id(user: &UserState, ctx: &StepCtx, username: &str) -> String {
    match user {
        UserState::Found(found) => str_field(found, "Id").unwrap_or_default().to_string(),
        UserState::Planned => ctx.planned_id(&Planned::user(username)),
    }
}

/// Finds the user a step works on, or fails saying to create it first.
pub fn require_user<'a>(
    step: &str,
    observed: &'a Observed,
    ctx: &StepCtx,
    username: &str,
) -> Result<UserState<'a>, StepFailure> {
    if let Some(user) = observed.first("user")? {
        return Ok(UserState::Found(user));
    }
    if ctx.check_mode() && ctx.is_planned(&Planned::user(username)) {
        return Ok(UserState::Planned);
    }
    Err(StepFailure::new("runner::step::user_not_found", format!("{step}: there is no user {username} in this org"))
        .hint("create it first with create_user (setup.rhai runs the steps in order), or check the username"))
}

/// Splits a possibly namespaced API name: `s_c__storeConnect_Sync` → (Some("s_c"), "storeConnect_Sync").
/// Custom-object suffixes (`__c`) are not namespaces.
pub fn split_namespace(name: &str) -> (Option<&str>, &str) {
    match name.split_once("__") {
        Some((ns, rest)) if !ns.is_empty() && !rest.is_empty() && !rest.contains("__") => (Some(ns), rest),
        _ => (None, name),
    }
}

/// Re-reads after an ambiguous create: did the record get made after all?
pub async fn reread_after_ambiguous(ctx: &StepCtx, soql: &str) -> Result<Option<Map<String, Value>>, StepFailure> {
    let result = ctx.query(soql).await?;
    Ok(result.records.into_iter().next())
}

/// The read that tells whether the running user holds [`MFA_API_PERMISSION`], however it
/// holds it (its profile or an assigned permission set). `UserPermissionAccess` is the
/// current session's effective user permissions, one row with a `Permissions<Name>` field
/// per permission (object reference, "UserPermissionAccess": describeSObjects() and
/// query(), API 41.0 and later, readable without View Setup), so the read needs no user
/// id and goes out while connecting, beside `userinfo`. Mature clients read it so:
/// Jetstream's `libs/shared/ui-core/src/orgs/useOrgPermissions.tsx`
/// (`SELECT Id, PermissionsModifyAllData, PermissionsModifyMetadata FROM UserPermissionAccess`,
/// github.com/jetstreamapp/jetstream) and Salesforce Labs OrgCheck's
/// `build/src/api/dataset/orgcheck-api-dataset-currentuserpermissions.js`
/// (`SELECT Permissions<field> FROM UserPermissionAccess`, passing over `INVALID_FIELD`
/// where the org does not know the permission, github.com/SalesforceLabs/OrgCheck).
/// A refusal is an answer: an org or API version without the field says nothing either way.
pub fn mfa_permission_read() -> Read {
    Read::new("mfa_permission", format!("SELECT {MFA_API_PERMISSION} FROM UserPermissionAccess")).may_fail()
}

/// Fails, before anything is written, when [`mfa_permission_read`] shows that the running
/// user lacks the permission, or when Salesforce hides a TwoFactor object from it
/// (`INVALID_TYPE`, which would otherwise read as a missing package).
pub fn require_mfa_permission(
    step: &str,
    observed: &Observed,
    ctx: &StepCtx,
    two_factor_reads: &[&str],
) -> Result<(), StepFailure> {
    let mut hidden = false;
    for name in two_factor_reads {
        hidden |= observed.failure(name)?.and_then(StepFailure::error_code) == Some("INVALID_TYPE");
    }
    // Only an answered `false` is a finding: a refusal, or a row without the field, says nothing.
    let lacking = observed.failure("mfa_permission")?.is_none()
        && observed.first("mfa_permission")?.and_then(|row| row.get(MFA_API_PERMISSION)).and_then(Value::as_bool)
            == Some(false);
    if hidden || lacking {
        return Err(mfa_permission_missing(step, ctx));
    }
    for name in two_factor_reads {
        if let Some(failure) = observed.failure(name)? {
            return Err(failure.clone());
        }
    }
    Ok(())
}

pub fn mfa_permission_missing(step: &str, ctx: &StepCtx) -> StepFailure {
    StepFailure::new(
        "runner::mfa::permission_missing",
        format!(
            "{step}: the running user {} lacks the \"{MFA_API_PERMISSION_LABEL}\" permission ({MFA_API_PERMISSION}), which Salesforce requires to register and read verification methods",
            ctx.facts().username
        ),
    )
    .hint(format!(
        "in Setup → Permission Sets, open (or create) a permission set assigned to {}, then System Permissions → Edit → tick \"{MFA_API_PERMISSION_LABEL}\" → Save; or enable it on the user's profile (Setup → Profiles → System Permissions). Then run again",
        ctx.facts().username
    ))
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
