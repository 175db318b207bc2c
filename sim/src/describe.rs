//! Describe global (`GET …/sobjects/`) and sObject describe, built from the schema.
//! Key sets follow recorded Salesforce responses (keys in alphabetical order, as
//! Salesforce writes them).

use serde_json::{Value, json};

use crate::model::{FieldDef, FieldType, ObjectDef, Org};
use crate::state::OrgState;

const MASTER_RECORD_TYPE: &str = "012000000000000AAA";
const SYSTEM_FIELDS: &[&str] =
    &["Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"];

fn object_urls(object: &ObjectDef, version: &str) -> Value {
    let base = format!("/services/data/v{version}/sobjects/{}", object.name);
    json!({
        "compactLayouts": format!("{base}/describe/compactLayouts"),
        "rowTemplate": format!("{base}/{{ID}}"),
        "approvalLayouts": format!("{base}/describe/approvalLayouts"),
        "listviews": format!("{base}/listviews"),
        "describe": format!("{base}/describe"),
        "quickActions": format!("{base}/quickActions"),
        "layouts": format!("{base}/describe/layouts"),
        "sobject": base,
    })
}

/// One entry of describe global's `sobjects`.
pub fn global_entry(object: &ObjectDef, version: &str) -> Value {
    let data = !object.setup;
    json!({
        "activateable": false,
        "associateEntityType": null,
        "associateParentEntity": null,
        "createable": object.createable,
        "custom": object.custom,
        "customSetting": false,
        "deepCloneable": false,
        "deletable": object.deletable,
        "deprecatedAndHidden": false,
        "feedEnabled": data,
        "hasSubtypes": false,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": object.key_prefix,
        "label": object.label,
        "labelPlural": object.label_plural,
        "layoutable": data,
        "mergeable": false,
        "mruEnabled": data,
        "name": object.name,
        "queryable": true,
        "replicateable": true,
        "retrieveable": true,
        "searchable": data,
        "triggerable": data,
        "undeletable": data && object.deletable,
        "updateable": object.updateable,
        "urls": object_urls(object, version),
    })
}

/// `GET …/sobjects/`.
pub fn global(org: &Org, version: &str) -> Value {
    let sobjects: Vec<Value> = org.schema.objects().map(|o| global_entry(o, version)).collect();
    json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
}

fn field_json(object: &ObjectDef, field: &FieldDef) -> Value {
    let ty = field.ty;
    let is_text = ty.is_text();
    // A text area of up to 255 characters filters and sorts like a string field
    // (recorded describe: BillingStreet is a 255-character textarea, filterable);
    // a long one does not (Description, 32,000).
    let long_text = ty == FieldType::TextArea && field.length > 255;
    let byte_length = match ty {
        FieldType::Id | FieldType::Reference => 18,
        _ if is_text => field.length * 3,
        _ => 0,
    };
    let system = SYSTEM_FIELDS.contains(&field.name.as_str());
    let defaulted =
        field.default.is_some() || system || field.name == "OwnerId" || field.name == "Name" && !field.createable;
    let default_value = match (&field.default, ty) {
        (Some(Value::Bool(b)), FieldType::Boolean) => json!(b),
        _ => Value::Null,
    };
    let picklist: Vec<Value> = field
        .picklist
        .iter()
        .map(|v| json!({"active": true, "defaultValue": false, "label": v, "validFor": null, "value": v}))
        .collect();
    let id_lookup = field.name == "Id" || field.unique || (object.name == "User" && field.name == "Username");
    json!({
        "aggregatable": !long_text && ty != FieldType::Address && field.name != "IsDeleted",
        "aiPredictionField": false,
        "autoNumber": false,
        "byteLength": byte_length,
        "calculated": field.name == "Name" && !field.createable,
        "calculatedFormula": null,
        "cascadeDelete": false,
        "caseSensitive": false,
        "compoundFieldName": field.compound,
        "controllerName": null,
        "createable": field.createable,
        "custom": field.name.ends_with("__c"),
        "defaultValue": default_value,
        "defaultValueFormula": null,
        "defaultedOnCreate": defaulted,
        "dependentPicklist": false,
        "deprecatedAndHidden": false,
        "digits": if ty == FieldType::Int { 9 } else { 0 },
        "displayLocationInDecimal": false,
        "encrypted": false,
        "externalId": false,
        "extraTypeInfo": null,
        "filterable": !long_text,
        "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": false,
        "groupable": !matches!(
            ty,
            FieldType::Double | FieldType::Currency | FieldType::DateTime | FieldType::Address
        ) && !long_text,
        "highScaleNumber": false,
        "htmlFormatted": false,
        "idLookup": id_lookup,
        "inlineHelpText": null,
        // The Id field is labelled after its object ("Account ID" in the recorded describe).
        "label": if field.name == "Id" { format!("{} ID", object.label) } else { field.label.clone() },
        "length": if is_text { field.length } else if matches!(ty, FieldType::Id | FieldType::Reference) { 18 } else { 0 },
        "mask": null,
        "maskType": null,
        "name": field.name,
        "nameField": field.name == "Name",
        "namePointing": false,
        "nillable": field.nillable,
        "permissionable": field.nillable && !system && field.updateable,
        "picklistValues": picklist,
        "polymorphicForeignKey": field.reference_to.len() > 1,
        "precision": if matches!(ty, FieldType::Double | FieldType::Currency) { 18 } else { 0 },
        "queryByDistance": ty == FieldType::Address,
        "referenceTargetField": null,
        "referenceTo": field.reference_to,
        "relationshipName": field.relationship_name,
        "relationshipOrder": null,
        "restrictedDelete": false,
        "restrictedPicklist": ty == FieldType::Picklist && field.restricted_picklist,
        "scale": field.scale,
        "searchPrefilterable": false,
        "soapType": ty.soap_type(),
        "sortable": !long_text && ty != FieldType::Address,
        "type": ty.describe_name(),
        "unique": field.unique,
        "updateable": field.updateable,
        "writeRequiresMasterRead": false,
    })
}

fn record_type_infos(org_state: &OrgState, object: &ObjectDef, version: &str) -> Vec<Value> {
    if object.field("RecordTypeId").is_none() {
        return Vec::new();
    }
    let default = org_state.default_record_type_for_admin(&object.name);
    let layout = |id: &str| json!({"layout": format!("/services/data/v{version}/sobjects/{}/describe/layouts/{id}", object.name)});
    let mut out: Vec<Value> = org_state
        .org
        .records("RecordType")
        .filter(|r| r.get("SobjectType").and_then(Value::as_str) == Some(object.name.as_str()))
        .map(|r| {
            let id = r.get("Id").and_then(Value::as_str).unwrap_or_default();
            let record_type =
                format!("{}.{}", object.name, r.get("DeveloperName").and_then(Value::as_str).unwrap_or_default());
            // Available: the running user's profile may create records of it.
            let available =
                org_state.admin_record_type_settings().iter().any(|e| e.record_type == record_type && e.visible);
            json!({
                "active": r.get("IsActive").and_then(Value::as_bool).unwrap_or(false),
                "available": available,
                "defaultRecordTypeMapping": default.as_deref() == Some(id),
                "developerName": r.get("DeveloperName").cloned().unwrap_or(Value::Null),
                "master": false,
                "name": r.get("Name").cloned().unwrap_or(Value::Null),
                "recordTypeId": id,
                "urls": layout(id),
            })
        })
        .collect();
    out.push(json!({
        "active": true,
        "available": true,
        "defaultRecordTypeMapping": default.is_none(),
        "developerName": "Master",
        "master": true,
        "name": "Master",
        "recordTypeId": MASTER_RECORD_TYPE,
        "urls": layout(MASTER_RECORD_TYPE),
    }));
    out
}

/// `GET …/sobjects/<Type>/describe`.
pub fn object(org_state: &OrgState, object: &ObjectDef, version: &str, tooling: bool) -> Value {
    let children: Vec<Value> = org_state
        .org
        .schema
        .child_relationships(&object.name)
        .into_iter()
        .map(|(rel, child, field)| {
            json!({
                "cascadeDelete": false,
                "childSObject": child.name,
                "deprecatedAndHidden": false,
                "field": field.name,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": rel,
                "restrictedDelete": false,
            })
        })
        .collect();
    let fields: Vec<Value> =
        object.fields.iter().filter(|f| tooling || !f.tooling_only).map(|f| field_json(object, f)).collect();
    let data = !object.setup;
    let mut urls = object_urls(object, version);
    if let Some(map) = urls.as_object_mut() {
        let base = format!("/services/data/v{version}/sobjects/{}", object.name);
        map.insert("uiDetailTemplate".into(), json!(format!("{}/{{ID}}", org_state.instance_url)));
        map.insert("uiEditTemplate".into(), json!(format!("{}/{{ID}}/e", org_state.instance_url)));
        map.insert("uiNewRecord".into(), json!(format!("{}/{}/e", org_state.instance_url, object.key_prefix)));
        map.insert("defaultValues".into(), json!(format!("{base}/defaultValues?recordTypeId&fields")));
    }
    json!({
        "actionOverrides": [],
        "activateable": false,
        "childRelationships": children,
        "compactLayoutable": data,
        "createable": object.createable,
        "custom": object.custom,
        "customSetting": false,
        "deepCloneable": false,
        "defaultImplementation": null,
        "deletable": object.deletable,
        "deprecatedAndHidden": false,
        "extendedBy": null,
        "extendsInterfaces": null,
        "feedEnabled": data,
        "fields": fields,
        "hasSubtypes": false,
        "implementedBy": null,
        "implementsInterfaces": null,
        "isInterface": false,
        "isSubtype": false,
        "keyPrefix": object.key_prefix,
        "label": object.label,
        "labelPlural": object.label_plural,
        "layoutable": data,
        "listviewable": null,
        "lookupLayoutable": null,
        "mergeable": false,
        "mruEnabled": data,
        "name": object.name,
        "namedLayoutInfos": [],
        "networkScopeFieldName": null,
        "queryable": true,
        "recordTypeInfos": record_type_infos(org_state, object, version),
        "replicateable": true,
        "retrieveable": true,
        "searchLayoutable": data,
        "searchable": data,
        "supportedScopes": [{"label": "All records", "name": "everything"}],
        "triggerable": data,
        "undeletable": data && object.deletable,
        "updateable": object.updateable,
        "urls": urls,
    })
}
