//! Seed files: objects, fields and records a caller adds to a scenario's seed org,
//! so that a step for an object the default seed lacks can be tested.
//!
//! Records are inserted through the same rules as an API create (`POST
//! /sobjects/<Type>`): required fields, restricted picklists, reference targets,
//! seats, duplicate assignments, derived fields. A seed file thus cannot build an
//! org that Salesforce itself would have refused; the one privilege it has is to
//! write before the first request, as the running user.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::dml;
use crate::model::{FieldDef, FieldType, ObjectDef};
use crate::seed;
use crate::state::OrgState;

/// A seed file: objects to add, fields to add to existing objects, records to insert,
/// applied in that order after the scenario's seed.
///
/// In JSON (TOML has the same shape):
///
/// ```json
/// {
///   "objects": [{
///     "name": "PermissionSetGroup", "key_prefix": "0PG", "setup": true,
///     "fields": [
///       {"name": "DeveloperName", "type": "string", "required": true, "unique": true, "length": 80},
///       {"name": "MasterLabel", "type": "string", "required": true, "length": 80},
///       {"name": "Status", "type": "picklist", "picklist": ["Updated", "Outdated"], "default": "Updated"}
///     ]
///   }],
///   "fields": [{"object": "Account", "name": "Tier__c", "type": "picklist", "picklist": ["Gold", "Silver"]}],
///   "records": [
///     {"object": "PermissionSetGroup", "ref": "sales", "fields": {"DeveloperName": "Sales", "MasterLabel": "Sales"}},
///     {"object": "PermissionSetAssignment", "fields": {"AssigneeId": "@admin", "PermissionSetGroupId": "@sales"}}
///   ]
/// }
/// ```
///
/// A string field value that starts with `@` names a record instead of an id:
/// - `@name`: the record of this file whose `ref` is `name` (earlier in the file);
/// - `@admin`: the running user;
/// - `@Object.Field=value`: the one live record of `Object` whose `Field` is `value`
///   (`@PermissionSet.Name=storeConnect_Sync`), for records of the scenario's seed;
/// - `@@text`: the literal text `@text`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    /// Where the file was read from, for error messages (set by [`SeedFile::load`]).
    #[serde(skip)]
    pub source: Option<String>,
    #[serde(default)]
    pub objects: Vec<SeedObject>,
    /// Fields added to objects that already exist (the scenario's or this file's).
    #[serde(default)]
    pub fields: Vec<SeedExtraField>,
    #[serde(default)]
    pub records: Vec<SeedRecord>,
}

/// An object to add. It gets the system fields every sObject has (`Id`, `IsDeleted`,
/// `CreatedDate`, …); a name ending in `__c` makes it custom.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedObject {
    pub name: String,
    /// Defaults to the name, spaced at capitals (`PermissionSetGroup` → "Permission Set Group").
    pub label: Option<String>,
    /// Defaults to the label with an `s`.
    pub label_plural: Option<String>,
    /// The three characters every id of the object starts with; unique in the org.
    pub key_prefix: String,
    /// A setup object: a transaction that writes it cannot write non-setup objects.
    #[serde(default)]
    pub setup: bool,
    #[serde(default)]
    pub fields: Vec<SeedField>,
}

/// A field, declared as sObject describe would show it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedField {
    pub name: String,
    /// A describe type name: reference, string, textarea, email, phone, url,
    /// picklist, boolean, int, double, currency, date, datetime.
    #[serde(rename = "type", deserialize_with = "field_type")]
    pub ty: FieldType,
    pub label: Option<String>,
    /// Not nillable, and without a default, required on create.
    #[serde(default)]
    pub required: bool,
    /// Unique across the object's records (case-insensitively for text).
    #[serde(default)]
    pub unique: bool,
    /// Maximum characters of a text field (255 for string when not given).
    pub length: Option<u32>,
    /// The object a reference field points to.
    pub reference_to: Option<String>,
    /// The parent relationship name of a reference (`Account` for `AccountId`,
    /// `Store__r` for `Store__c`); derived from the name when not given.
    pub relationship_name: Option<String>,
    /// The child relationship the reference creates on its target, if any.
    pub child_relationship_name: Option<String>,
    /// The values of a picklist field.
    #[serde(default)]
    pub picklist: Vec<String>,
    /// Whether only `picklist` values may be written (default true).
    #[serde(default = "yes")]
    pub restricted: bool,
    /// The value a create without the field gets.
    pub default: Option<Value>,
    /// Neither createable nor updateable through the API.
    #[serde(default)]
    pub read_only: bool,
}

/// A field to add to an existing object.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SeedExtraField {
    pub object: String,
    #[serde(flatten)]
    pub field: SeedField,
}

/// A record to insert.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRecord {
    pub object: String,
    /// A name later records use (`"@name"`) for this record's id.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    #[serde(default)]
    pub fields: Map<String, Value>,
}

fn yes() -> bool {
    true
}

fn field_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<FieldType, D::Error> {
    let name = String::deserialize(d)?;
    FieldType::from_describe_name(&name).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "unknown field type `{name}` (expected one of: {})",
            FieldType::DECLARABLE_NAMES
        ))
    })
}

/// Why a seed file was refused: the file, where in it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedFileError {
    /// The file, when it was read from one.
    pub source: Option<String>,
    /// Where in the file: `records[2].fields.AssigneeId`, `objects[0] (Acme__c)`.
    pub at: String,
    /// The line and column of a syntax or shape error.
    pub line: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for SeedFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("seed file")?;
        if let Some(source) = &self.source {
            write!(f, " {source}")?;
        }
        if let Some((line, column)) = self.line {
            write!(f, ", line {line} column {column}")?;
        }
        if !self.at.is_empty() && self.at != "." {
            write!(f, ", at {}", self.at)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for SeedFileError {}

impl SeedFile {
    /// Parses a seed file written in JSON.
    pub fn from_json(text: &str) -> Result<SeedFile, SeedFileError> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let inner = e.inner();
            let line = (inner.line() > 0).then(|| (inner.line(), inner.column()));
            // serde_json appends " at line L column C" to the message; the line is given apart.
            let message = inner.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            SeedFileError { source: None, at: e.path().to_string(), line, message }
        })
    }

    /// Parses a seed file written in TOML.
    pub fn from_toml(text: &str) -> Result<SeedFile, SeedFileError> {
        let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, &e))?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let line = e.inner().span().map(|span| line_column(text, span.start));
            SeedFileError { source: None, at: e.path().to_string(), line, message: e.inner().message().to_string() }
        })
    }

    /// Reads a seed file: TOML when the name ends in `.toml`, JSON otherwise.
    pub fn load(path: &Path) -> Result<SeedFile, SeedFileError> {
        let source = Some(path.display().to_string());
        let text = std::fs::read_to_string(path).map_err(|e| SeedFileError {
            source: source.clone(),
            at: String::new(),
            line: None,
            message: format!("cannot read it: {e}"),
        })?;
        let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
        let parsed = if is_toml { SeedFile::from_toml(&text) } else { SeedFile::from_json(&text) };
        parsed.map(|file| SeedFile { source: source.clone(), ..file }).map_err(|e| SeedFileError { source, ..e })
    }
}

fn toml_error(text: &str, e: &toml::de::Error) -> SeedFileError {
    SeedFileError {
        source: None,
        at: String::new(),
        line: e.span().map(|span| line_column(text, span.start)),
        message: e.message().to_string(),
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// Applies a seed file to a freshly seeded org.
pub fn apply(org_state: &mut OrgState, file: &SeedFile) -> Result<(), SeedFileError> {
    let fail = |at: String, message: String| SeedFileError { source: file.source.clone(), at, line: None, message };
    // Objects first, then their fields, so that references between new objects resolve
    // whatever their order in the file.
    for (i, object) in file.objects.iter().enumerate() {
        let at = format!("objects[{i}] ({})", object.name);
        let def = new_object(org_state, object).map_err(|m| fail(at.clone(), m))?;
        org_state.org.schema.add(def);
    }
    for (i, object) in file.objects.iter().enumerate() {
        for (j, field) in object.fields.iter().enumerate() {
            let at = format!("objects[{i}].fields[{j}] ({}.{})", object.name, field.name);
            add_field(org_state, &object.name, field).map_err(|m| fail(at, m))?;
        }
    }
    for (i, extra) in file.fields.iter().enumerate() {
        let at = format!("fields[{i}] ({}.{})", extra.object, extra.field.name);
        add_field(org_state, &extra.object, &extra.field).map_err(|m| fail(at, m))?;
    }
    for object in &file.objects {
        if let Some(def) = org_state.org.schema.definition(&object.name).cloned() {
            seed::add_entity_definition(&mut org_state.org, &def, &org_state.admin_id);
        }
    }
    let mut refs: Vec<(String, String)> = Vec::new();
    for (i, record) in file.records.iter().enumerate() {
        let at = format!("records[{i}] ({})", record.object);
        let mut body = Map::new();
        for (key, value) in &record.fields {
            let resolved =
                resolve(org_state, &refs, value).map_err(|m| fail(format!("records[{i}].fields.{key}"), m))?;
            body.insert(key.clone(), resolved);
        }
        let id = dml::insert(org_state, &record.object, &body, None).map_err(|e| fail(at.clone(), e.to_string()))?;
        if let Some(name) = &record.reference {
            if name == "admin" || name.is_empty() || name.contains(['.', '=', '@']) {
                return Err(fail(at, format!("`{name}` cannot be a ref: it is reserved or has `.`, `=` or `@`")));
            }
            if refs.iter().any(|(n, _)| n == name) {
                return Err(fail(at, format!("the ref `{name}` is already used by an earlier record")));
            }
            refs.push((name.clone(), id));
        }
    }
    Ok(())
}

fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.ends_with('_')
}

fn new_object(org_state: &OrgState, object: &SeedObject) -> Result<ObjectDef, String> {
    if !is_api_name(&object.name) {
        return Err(format!("`{}` is not an API name (letters, digits and _, starting with a letter)", object.name));
    }
    if let Some(existing) = org_state.org.schema.definition(&object.name) {
        return Err(format!(
            "the org already has an object {}: add fields to it under `fields` instead",
            existing.name
        ));
    }
    let prefix = &object.key_prefix;
    if prefix.len() != 3 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("the key prefix `{prefix}` must be three letters or digits"));
    }
    if let Some(owner) = org_state.org.schema.by_key_prefix(prefix) {
        return Err(format!("the key prefix `{prefix}` is already used by {}", owner.name));
    }
    let mut def = ObjectDef::new(&object.name, prefix, object.setup);
    if let Some(label) = &object.label {
        def.label = label.clone();
        def.label_plural = format!("{label}s");
    }
    if let Some(plural) = &object.label_plural {
        def.label_plural = plural.clone();
    }
    if def.custom {
        // Every custom object has a Name (text, 80) and an owner, as the seed's
        // StoreConnect objects do (official "Custom Object Fields": standard fields).
        let name_label = format!("{} Name", def.label);
        def = def.with_field(FieldDef::new("Name", FieldType::String).length(80).label(&name_label)).with_field(
            FieldDef::reference("OwnerId", "User", "Owner", None)
                .required()
                .default_value(Value::Null)
                .label("Owner ID"),
        );
    }
    Ok(def)
}

fn add_field(org_state: &mut OrgState, object: &str, field: &SeedField) -> Result<(), String> {
    let Some(target_object) = org_state.org.schema.definition(object) else {
        return Err(format!("the org has no object {object}"));
    };
    if !is_api_name(&field.name) {
        return Err(format!("`{}` is not an API name (letters, digits and _, starting with a letter)", field.name));
    }
    if let Some(existing) = target_object.field(&field.name) {
        return Err(format!("{} already has a field {}", target_object.name, existing.name));
    }
    let mut def = FieldDef::new(&field.name, field.ty);
    if let Some(label) = &field.label {
        def.label = label.clone();
    }
    if let Some(length) = field.length {
        if !field.ty.is_text() {
            return Err(format!("a {} field has no length", field.ty.describe_name()));
        }
        if !(1..=131_072).contains(&length) {
            return Err(format!("the length {length} is not from 1 to 131072"));
        }
        def.length = length;
    }
    match (field.ty, &field.reference_to) {
        (FieldType::Reference, None) => return Err("a reference field needs `reference_to`".to_string()),
        (FieldType::Reference, Some(target)) => {
            let Some(target_def) = org_state.org.schema.definition(target) else {
                return Err(format!("`reference_to` names {target}, which the org does not have"));
            };
            def.reference_to = vec![target_def.name.clone()];
            let derived = match field.name.strip_suffix("__c") {
                Some(base) => format!("{base}__r"),
                None => field.name.strip_suffix("Id").filter(|b| !b.is_empty()).unwrap_or(&field.name).to_string(),
            };
            def.relationship_name = Some(field.relationship_name.clone().unwrap_or(derived));
            def.child_relationship_name = field.child_relationship_name.clone();
        }
        (_, Some(_)) => return Err("only a reference field has `reference_to`".to_string()),
        (_, None) => {}
    }
    if field.ty == FieldType::Picklist {
        if field.picklist.is_empty() {
            return Err("a picklist field needs `picklist` values".to_string());
        }
        def.picklist = field.picklist.clone();
        def.restricted_picklist = field.restricted;
    } else if !field.picklist.is_empty() {
        return Err("only a picklist field has `picklist` values".to_string());
    }
    if field.required {
        def = def.required();
    }
    if field.unique {
        def = def.unique();
    }
    if field.read_only {
        def = def.read_only();
    }
    if let Some(default) = &field.default {
        if field.ty == FieldType::Picklist
            && field.restricted
            && !default.as_str().is_some_and(|d| def.picklist.iter().any(|p| p == d))
        {
            return Err(format!("the default {default} is not one of the picklist values"));
        }
        def.default = Some(default.clone());
    }
    org_state.org.add_field(object, def);
    Ok(())
}

/// A field value with its `@` references replaced by ids.
fn resolve(org_state: &OrgState, refs: &[(String, String)], value: &Value) -> Result<Value, String> {
    let Value::String(text) = value else { return Ok(value.clone()) };
    let Some(reference) = text.strip_prefix('@') else { return Ok(value.clone()) };
    if let Some(literal) = reference.strip_prefix('@') {
        return Ok(Value::String(format!("@{literal}")));
    }
    if reference == "admin" {
        return Ok(Value::String(org_state.admin_id.clone()));
    }
    if let Some((path, wanted)) = reference.split_once('=') {
        let Some((object, field)) = path.split_once('.') else {
            return Err(format!("`{text}` is not `@Object.Field=value`"));
        };
        let Some(def) = org_state.org.schema.definition(object) else {
            return Err(format!("`{text}`: the org has no object {object}"));
        };
        let Some(field_def) = def.field(field) else {
            return Err(format!("`{text}`: {} has no field {field}", def.name));
        };
        let matches: Vec<&str> = org_state
            .org
            .records(&def.name)
            .filter(|r| match r.get(&field_def.name) {
                Some(Value::String(s)) => s == wanted,
                Some(other) if !other.is_null() => *other.to_string() == *wanted,
                _ => false,
            })
            .filter_map(|r| r.get("Id").and_then(Value::as_str))
            .collect();
        return match matches.as_slice() {
            [id] => Ok(Value::String((*id).to_string())),
            [] => Err(format!("`{text}`: no {} has {} = {wanted}", def.name, field_def.name)),
            _ => Err(format!("`{text}`: {} records of {} have {} = {wanted}", matches.len(), def.name, field_def.name)),
        };
    }
    refs.iter()
        .find(|(name, _)| name == reference)
        .map(|(_, id)| Value::String(id.clone()))
        .ok_or_else(|| format!("`{text}`: no earlier record has the ref `{reference}` (write `@@` for a literal `@`)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_the_path_and_line() {
        let text = "{\n  \"objects\": [{\"name\": \"A__c\", \"key_prefix\": \"a01\",\n    \"fields\": [{\"name\": \"X__c\", \"type\": \"strin\"}]}]\n}";
        let err = SeedFile::from_json(text).expect_err("bad type");
        assert_eq!(err.at, "objects[0].fields[0].type");
        assert_eq!(err.line.map(|(l, _)| l), Some(3));
        assert!(err.message.contains("unknown field type `strin`"), "{err}");
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = SeedFile::from_json(r#"{"record": []}"#).expect_err("typo");
        assert!(err.message.contains("unknown field `record`"), "{err}");
        let err = SeedFile::from_json(r#"{"records": [{"object": "Account", "feilds": {}}]}"#).expect_err("typo");
        assert_eq!(err.at, "records[0].feilds");
    }

    #[test]
    fn toml_reads_the_same_shape() {
        let text = "[[objects]]\nname = \"A__c\"\nkey_prefix = \"a01\"\n[[objects.fields]]\nname = \"X__c\"\ntype = \"boolean\"\n";
        let file = SeedFile::from_toml(text).expect("parses");
        assert_eq!(file.objects[0].fields[0].ty, FieldType::Boolean);
        let err = SeedFile::from_toml("[[objects]]\nname = \"A__c\"\n").expect_err("no prefix");
        assert!(err.message.contains("key_prefix"), "{err}");
    }
}
