//! Fields and records Salesforce derives from others: a new record's defaults and
//! audit fields, a person's `Name`, compound addresses, a user's nickname and
//! `UserLogin` row, the default record type, seat counts, one `TwoFactorMethodsInfo`
//! row per user, and which objects the running user may access and which user
//! permissions it holds (`UserPermissionAccess`).

use serde_json::{Map, Value, json};

use crate::model::{FieldType, ObjectDef, Org, Record};
use crate::state::OrgState;
use crate::util;

fn str_of<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

fn is_truthy(record: &Record, field: &str) -> bool {
    record.get(field).and_then(Value::as_bool).unwrap_or(false)
}

/// A record of `object` with every field present, null or defaulted, in schema order.
pub fn blank_record(object: &ObjectDef, id: &str, now: &str, user_id: &str) -> Record {
    let mut record = Record::new();
    for field in &object.fields {
        let value = match field.name.as_str() {
            "Id" => Value::String(id.to_string()),
            "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => Value::String(now.to_string()),
            "CreatedById" | "LastModifiedById" | "OwnerId" => Value::String(user_id.to_string()),
            _ => field.default.clone().unwrap_or(Value::Null),
        };
        record.insert(field.name.clone(), value);
    }
    record
}

/// Fields Salesforce computes from others: a person's `Name`, and each compound
/// address from its components.
pub(crate) fn compute_names(object: &ObjectDef, record: &mut Record) {
    if matches!(object.name.as_str(), "User" | "Contact") {
        let first = str_of(record, "FirstName").unwrap_or_default();
        let last = str_of(record, "LastName").unwrap_or_default();
        let name = format!("{first} {last}").trim().to_string();
        record.insert("Name".into(), Value::String(name));
    }
    for field in object.fields.iter().filter(|f| f.ty == FieldType::Address) {
        let value = compound_address(object, record, &field.name);
        record.insert(field.name.clone(), value);
    }
}

/// The value of compound address `name` (`BillingAddress`): an object of its
/// components (keys as in the recorded Organization record's `Address`), or null
/// when every component is null.
fn compound_address(object: &ObjectDef, record: &Record, name: &str) -> Value {
    const PARTS: [(&str, &str); 8] = [
        ("city", "City"),
        ("country", "Country"),
        ("geocodeAccuracy", "GeocodeAccuracy"),
        ("latitude", "Latitude"),
        ("longitude", "Longitude"),
        ("postalCode", "PostalCode"),
        ("state", "State"),
        ("street", "Street"),
    ];
    let mut out = Map::new();
    for (key, suffix) in PARTS {
        let component = object
            .fields
            .iter()
            .find(|f| f.compound.as_deref() == Some(name) && f.name.ends_with(suffix))
            .and_then(|f| record.get(&f.name))
            .cloned()
            .unwrap_or(Value::Null);
        out.insert(key.to_string(), component);
    }
    if out.values().all(Value::is_null) { Value::Null } else { Value::Object(out) }
}

pub(super) fn default_user_fields(org: &Org, record: &mut Record) {
    if record.get("CommunityNickname").is_none_or(Value::is_null) {
        let base = str_of(record, "Username").and_then(|u| u.split('@').next()).unwrap_or("user").to_string();
        let mut nick = base.clone();
        let mut n = 1;
        while org.records("User").any(|u| str_of(u, "CommunityNickname").is_some_and(|c| c.eq_ignore_ascii_case(&nick)))
        {
            n += 1;
            nick = format!("{base}{n}");
        }
        nick.truncate(40);
        record.insert("CommunityNickname".into(), Value::String(nick));
    }
}

/// A record-type-enabled object created without `RecordTypeId` gets the running
/// user's profile default.
pub(super) fn default_record_type(org_state: &OrgState, object: &ObjectDef, record: &mut Record) {
    if object.field("RecordTypeId").is_none() || record.get("RecordTypeId").is_some_and(|v| !v.is_null()) {
        return;
    }
    if let Some(rt) = org_state.default_record_type_for_admin(&object.name) {
        record.insert("RecordTypeId".into(), Value::String(rt));
    }
}

pub(super) fn license_of_profile(org: &Org, profile_id: &str) -> Option<String> {
    org.get(profile_id).and_then(|(_, p)| str_of(p, "UserLicenseId").map(str::to_string))
}

pub(super) fn active_users_on_license(org: &Org, license_id: &str, except: &str) -> i64 {
    org.records("User")
        .filter(|u| str_of(u, "Id") != Some(except) && is_truthy(u, "IsActive"))
        .filter(|u| str_of(u, "ProfileId").and_then(|p| license_of_profile(org, p)).as_deref() == Some(license_id))
        .count() as i64
}

pub(super) fn after_insert(org_state: &mut OrgState, object: &ObjectDef, id: &str) {
    if object.name == "User" {
        let Some(login_def) = org_state.org.schema.object("UserLogin").cloned() else { return };
        let now = util::now_sf();
        let login_id = org_state.org.new_id(&login_def);
        let mut login = blank_record(&login_def, &login_id, &now, &org_state.admin_id);
        login.insert("UserId".into(), Value::String(id.to_string()));
        org_state.org.insert("UserLogin", login);
    }
}

/// The running user's `UserPermissionAccess` row: each `Permissions<Name>` field is what
/// [`crate::access::holds_permission`] says (its profile's own permission set or an active
/// assignment), the one rule that also gates the MFA objects. Re-derived after every
/// write, so an assignment made during a run shows on the next read; `LastCacheUpdate`
/// ("the last modified date and time of either the user info or org info", object
/// reference) moves only when a value does.
fn derive_permission_access(org: &mut Org, running_user: &str) {
    let Some(def) = org.schema.definition(crate::access::PERMISSION_ACCESS).cloned() else { return };
    let held: Vec<(String, bool)> = def
        .fields
        .iter()
        .filter(|f| f.name.starts_with("Permissions"))
        .map(|f| (f.name.clone(), crate::access::holds_permission(org, running_user, &f.name)))
        .collect();
    let existing = org.records(&def.name).next().and_then(|r| str_of(r, "Id").map(str::to_string));
    let id = match existing {
        Some(id) => id,
        None => {
            let id = org.new_id(&def);
            org.insert(&def.name, blank_record(&def, &id, &util::now_sf(), running_user));
            id
        }
    };
    let Some(row) = org.get_mut(&id) else { return };
    let mut changed = row.get("LastCacheUpdate").is_none_or(Value::is_null);
    for (field, value) in held {
        changed |= row.get(&field) != Some(&Value::Bool(value));
        row.insert(field, Value::Bool(value));
    }
    if changed {
        row.insert("LastCacheUpdate".into(), Value::String(util::now_sf()));
    }
}

/// Recomputes derived data: seat counts, one `TwoFactorMethodsInfo` row per user, and
/// which objects the running user may access.
pub fn derive(org_state: &mut OrgState) {
    derive_org(&mut org_state.org, &org_state.admin_id);
}

/// Recomputes derived data on an org (used by seeding too).
pub fn derive_org(org: &mut Org, admin_id: &str) {
    crate::access::refresh(org, admin_id);
    derive_permission_access(org, admin_id);
    let licenses: Vec<(String, i64)> = org
        .records("UserLicense")
        .filter_map(|l| str_of(l, "Id").map(str::to_string))
        .map(|id| {
            let used = active_users_on_license(org, &id, "");
            (id, used)
        })
        .collect();
    for (id, used) in licenses {
        if let Some(rec) = org.get_mut(&id) {
            rec.insert("UsedLicenses".into(), json!(used));
        }
    }
    let psls: Vec<(String, i64)> = org
        .records("PermissionSetLicense")
        .filter_map(|l| str_of(l, "Id").map(str::to_string))
        .map(|id| {
            let used = org
                .records("PermissionSetLicenseAssign")
                .filter(|a| str_of(a, "PermissionSetLicenseId") == Some(id.as_str()))
                .count();
            (id, used as i64)
        })
        .collect();
    for (id, used) in psls {
        if let Some(rec) = org.get_mut(&id) {
            rec.insert("UsedLicenses".into(), json!(used));
        }
    }
    let Some(methods_def) = org.schema.definition("TwoFactorMethodsInfo").cloned() else { return };
    let users: Vec<String> = org.records("User").filter_map(|u| str_of(u, "Id").map(str::to_string)).collect();
    for user in users {
        let has_totp = org
            .records("TwoFactorInfo")
            .any(|t| str_of(t, "UserId") == Some(user.as_str()) && str_of(t, "Type") == Some("TOTP"));
        let existing = org
            .records("TwoFactorMethodsInfo")
            .find(|m| str_of(m, "UserId") == Some(user.as_str()))
            .and_then(|m| str_of(m, "Id").map(str::to_string));
        match existing {
            Some(id) => {
                if let Some(rec) = org.get_mut(&id) {
                    rec.insert("HasTotp".into(), Value::Bool(has_totp));
                }
            }
            None => {
                let id = org.new_id(&methods_def);
                let mut rec = blank_record(&methods_def, &id, &util::now_sf(), admin_id);
                rec.insert("UserId".into(), Value::String(user.clone()));
                rec.insert("ExternalId".into(), Value::String(user[..15].to_string()));
                rec.insert("HasTotp".into(), Value::Bool(has_totp));
                org.insert("TwoFactorMethodsInfo", rec);
            }
        }
    }
}
