//! Record writes: insert, update and delete, each through the field checks
//! (`coerce`), the object rules (`rules`) and the derived fields (`derived`), in
//! the order Salesforce applies them.

use serde_json::{Map, Value};

use super::coerce::{Op, read_body};
use super::derived::{after_insert, blank_record, compute_names, default_record_type, default_user_fields, derive};
use super::rules::{check_required, check_shared_key, check_unique, validate};
use crate::error::SfError;
use crate::model::{ObjectDef, Org, Record};
use crate::state::OrgState;
use crate::util;

/// The object a request names, as the running user may use it: NOT_FOUND when it
/// doesn't exist, INVALID_TYPE when the user lacks the permission to see it.
pub fn object_def(org: &Org, name: &str) -> Result<ObjectDef, SfError> {
    if org.schema.denies(name) {
        return Err(crate::access::not_supported(name));
    }
    org.schema.object(name).cloned().ok_or_else(SfError::not_found)
}

fn str_of<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

/// Inserts a record through every rule. Answers the new 18-character id.
pub fn insert(
    org_state: &mut OrgState,
    type_name: &str,
    body: &Map<String, Value>,
    raw: Option<&str>,
) -> Result<String, SfError> {
    let object = object_def(&org_state.org, type_name)?;
    if !object.createable {
        return Err(SfError::bad(
            "INVALID_TYPE_FOR_OPERATION",
            format!("entity type cannot be inserted: {}", object.name),
        ));
    }
    if let Some(tx) = org_state.mixed.as_mut() {
        tx.touch(&object)?;
    }
    let values = read_body(&org_state.org, &object, body, raw, Op::Insert)?;
    let now = util::now_sf();
    let mut record = blank_record(&object, "", &now, &org_state.admin_id);
    let mut write_only = Vec::new();
    for (name, value) in values {
        let is_write_only = object.field(&name).is_some_and(|f| f.write_only);
        if is_write_only && !value.is_null() {
            write_only.push((name.clone(), value.clone()));
        }
        record.insert(name, value);
    }
    default_record_type(org_state, &object, &mut record);
    check_required(&object, &record, Op::Insert, &[])?;
    if object.name == "User" {
        default_user_fields(&org_state.org, &mut record);
    }
    check_unique(&org_state.org, &object, &record, "")?;
    validate(&org_state.org, &object, None, &record)?;
    let id = org_state.org.new_id(&object);
    record.insert("Id".into(), Value::String(id.clone()));
    for (name, _) in &write_only {
        record.insert(name.clone(), Value::Null);
    }
    compute_names(&object, &mut record);
    org_state.org.insert(&object.name, record);
    for (name, value) in write_only {
        org_state.org.set_hidden(&id, &name, value);
    }
    after_insert(org_state, &object, &id);
    derive(org_state);
    Ok(id)
}

/// Updates a record through every rule.
pub fn update(
    org_state: &mut OrgState,
    type_name: &str,
    id: &str,
    body: &Map<String, Value>,
    raw: Option<&str>,
) -> Result<(), SfError> {
    let object = object_def(&org_state.org, type_name)?;
    if !object.updateable {
        return Err(SfError::bad(
            "INVALID_TYPE_FOR_OPERATION",
            format!("entity type cannot be updated: {}", object.name),
        ));
    }
    if let Some(tx) = org_state.mixed.as_mut() {
        tx.touch(&object)?;
    }
    let Some((found, old)) = org_state.org.get(id) else {
        return Err(SfError::bad("ENTITY_IS_DELETED", "entity is deleted").with_fields::<&str>(&[]));
    };
    if !found.name.eq_ignore_ascii_case(&object.name) {
        return Err(SfError::bad("MALFORMED_ID", format!("{} ID: id value of incorrect type: {id}", object.label)));
    }
    let old = old.clone();
    let values = read_body(&org_state.org, &object, body, raw, Op::Update)?;
    let mut record = old.clone();
    let mut touched = Vec::new();
    let mut write_only = Vec::new();
    for (name, value) in values {
        touched.push(name.clone());
        if object.field(&name).is_some_and(|f| f.write_only) {
            write_only.push((name.clone(), value.clone()));
            record.insert(name, Value::Null);
        } else {
            record.insert(name, value);
        }
    }
    check_required(&object, &record, Op::Update, &touched)?;
    let self_id = str_of(&old, "Id").unwrap_or_default().to_string();
    check_unique(&org_state.org, &object, &record, &self_id)?;
    validate(&org_state.org, &object, Some(&old), &record)?;
    for (name, value) in &write_only {
        if object.name == "TwoFactorInfo" && name == "SharedKey" {
            check_shared_key(value)?;
        }
    }
    let now = util::now_after(str_of(&old, "SystemModstamp"));
    record.insert("LastModifiedDate".into(), Value::String(now.clone()));
    record.insert("SystemModstamp".into(), Value::String(now));
    record.insert("LastModifiedById".into(), Value::String(org_state.admin_id.clone()));
    compute_names(&object, &mut record);
    org_state.org.insert(&object.name, record);
    for (name, value) in write_only {
        org_state.org.set_hidden(&self_id, &name, value);
    }
    derive(org_state);
    Ok(())
}

/// Deletes a record, if its object allows it.
pub fn delete(org_state: &mut OrgState, type_name: Option<&str>, id: &str) -> Result<(), SfError> {
    let Some((found, _)) = org_state.org.get(id) else {
        return Err(SfError::bad("ENTITY_IS_DELETED", "entity is deleted").with_fields::<&str>(&[]));
    };
    let object = found.clone();
    // A delete by id alone (sObject Collections) names no type: gate on the id's object.
    if org_state.org.schema.denies(&object.name) {
        return Err(crate::access::not_supported(&object.name));
    }
    if let Some(t) = type_name
        && !object.name.eq_ignore_ascii_case(t)
    {
        return Err(SfError::bad("MALFORMED_ID", format!("bad id {id}")));
    }
    if !object.deletable {
        return Err(SfError::bad(
            "INVALID_TYPE_FOR_OPERATION",
            format!("entity type cannot be deleted: {}", object.name),
        ));
    }
    if let Some(tx) = org_state.mixed.as_mut() {
        tx.touch(&object)?;
    }
    let stamp = org_state.org.get(id).and_then(|(_, r)| str_of(r, "SystemModstamp")).map(str::to_string);
    org_state.org.mark_deleted(id, &util::now_after(stamp.as_deref()));
    derive(org_state);
    Ok(())
}
