//! What the running user and an assignee may hold: the "Manage Multi-Factor
//! Authentication in API" gate on the MFA objects, and the object permissions a
//! permission set grants, which the user licence must allow.

use serde_json::Value;

use crate::error::SfError;
use crate::model::{Org, Record};

/// "Manage Multi-Factor Authentication in API". The official TwoFactorInfo and
/// TwoFactorMethodsInfo object reference pages say this permission is required to
/// access them (salesforce-api.md C.6; real-org-review 7.4). The API name comes from
/// a generated Profile describe model, a third-party source (real-org-review, risk 5).
pub const MFA_API_PERMISSION: &str = "PermissionsManageTwoFactor";

/// The object that answers the running user's effective permissions (see
/// `seed::user_permission_access`); its one row is [`holds_permission`] per field.
pub const PERMISSION_ACCESS: &str = "UserPermissionAccess";

/// The objects that permission gates.
pub const MFA_OBJECTS: [&str; 2] = ["TwoFactorInfo", "TwoFactorMethodsInfo"];

/// DeveloperName of the "Salesforce API Integration" permission set licence
/// (salesforce-api.md C.3, third-party but from several independent repositories).
pub const INTEGRATION_PSL: &str = "SalesforceAPIIntegrationPsl";

/// Name of the user licence the rule on object permissions applies to (salesforce-api.md E).
pub const INTEGRATION_LICENSE: &str = "Salesforce Integration";

/// What Salesforce answers for an object the user may not see. The shape comes from
/// third-party test fixtures (real-org-review 7.4), not from an official page: the
/// sim answers it wherever the object is named (query, describe, DML).
pub fn not_supported(object: &str) -> SfError {
    SfError::bad(
        "INVALID_TYPE",
        format!(
            "sObject type '{object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

fn str_of<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

fn is_true(record: &Record, field: &str) -> bool {
    record.get(field).and_then(Value::as_bool).unwrap_or(false)
}

/// Whether `user` holds a `Permissions*` flag through the permission set its profile
/// owns or through an assigned permission set, the two ways a user gets a permission
/// (salesforce-api.md C.4: `IsOwnedByProfile`).
pub fn holds_permission(org: &Org, user: &str, permission: &str) -> bool {
    let Some(profile) = org.get(user).and_then(|(_, u)| str_of(u, "ProfileId").map(str::to_string)) else {
        return false;
    };
    let through_profile = org.records("PermissionSet").any(|ps| {
        is_true(ps, "IsOwnedByProfile") && str_of(ps, "ProfileId") == Some(profile.as_str()) && is_true(ps, permission)
    });
    through_profile
        || org
            .records("PermissionSetAssignment")
            .filter(|a| str_of(a, "AssigneeId") == Some(user))
            // An assignment Salesforce reports inactive (expired) grants nothing.
            .filter(|a| a.get("IsActive").and_then(Value::as_bool) != Some(false))
            .filter_map(|a| str_of(a, "PermissionSetId"))
            .any(|ps| org.get(ps).is_some_and(|(_, ps)| is_true(ps, permission)))
}

/// Hides the MFA objects from the schema the running user sees unless it holds the
/// permission. Re-evaluated after every write, so granting the permission (assigning
/// a permission set) takes effect on the next request, and a rolled-back transaction
/// restores the gate with the data.
pub fn refresh(org: &mut Org, running_user: &str) {
    let denied: &[&str] = if holds_permission(org, running_user, MFA_API_PERMISSION) { &[] } else { &MFA_OBJECTS };
    org.schema.set_denied(denied);
}

/// The first object permission a permission set grants, as Salesforce names it in
/// the licence error: (`Read`, `Account`).
pub fn first_object_grant(org: &Org, permission_set: &str) -> Option<(&'static str, String)> {
    const FLAGS: [(&str, &str); 6] = [
        ("PermissionsRead", "Read"),
        ("PermissionsCreate", "Create"),
        ("PermissionsEdit", "Edit"),
        ("PermissionsDelete", "Delete"),
        ("PermissionsViewAllRecords", "View All"),
        ("PermissionsModifyAllRecords", "Modify All"),
    ];
    org.records("ObjectPermissions").filter(|op| str_of(op, "ParentId") == Some(permission_set)).find_map(|op| {
        let (_, label) = FLAGS.iter().find(|(flag, _)| is_true(op, flag))?;
        Some((*label, str_of(op, "SobjectType")?.to_string()))
    })
}

/// The licence rule for a permission set with no `LicenseId`: one that grants any
/// object permission can't go to a user on the Salesforce Integration user licence
/// who doesn't hold the Salesforce API Integration PSL. Source: third-party reports
/// quoted in real-org-review 4.4 and 5.2 ("Can't assign permission set … The user
/// license doesn't allow the permission: Read Accounts", FIELD_INTEGRITY_EXCEPTION),
/// and salesforce-api.md C.4 ("the PSL has to be assigned before permission sets that
/// grant standard-object access").
pub fn unlicensed_assignment(org: &Org, permission_set: &Record, assignee: &str) -> Option<SfError> {
    let ps_id = str_of(permission_set, "Id")?;
    let (permission, sobject) = first_object_grant(org, ps_id)?;
    let (_, user) = org.get(assignee)?;
    let profile = str_of(user, "ProfileId")?;
    let license = org.get(profile).and_then(|(_, p)| str_of(p, "UserLicenseId"))?;
    let on_integration_license = org.get(license).is_some_and(|(_, l)| str_of(l, "Name") == Some(INTEGRATION_LICENSE));
    if !on_integration_license || holds_psl(org, assignee, INTEGRATION_PSL) {
        return None;
    }
    let plural = org.schema.definition(&sobject).map(|o| o.label_plural.clone()).unwrap_or(sobject);
    Some(
        SfError::bad(
            "FIELD_INTEGRITY_EXCEPTION",
            format!(
                "Can't assign permission set {} to user {}. The user license doesn't allow the permission: {permission} {plural}",
                str_of(permission_set, "Label").unwrap_or_default(),
                str_of(user, "Username").unwrap_or_default(),
            ),
        )
        .with_fields::<&str>(&[]),
    )
}

/// Whether `user` holds the permission set licence with this DeveloperName.
pub fn holds_psl(org: &Org, user: &str, developer_name: &str) -> bool {
    org.records("PermissionSetLicenseAssign").filter(|a| str_of(a, "AssigneeId") == Some(user)).any(|a| {
        str_of(a, "PermissionSetLicenseId")
            .and_then(|psl| org.get(psl))
            .is_some_and(|(_, psl)| str_of(psl, "DeveloperName") == Some(developer_name))
    })
}
