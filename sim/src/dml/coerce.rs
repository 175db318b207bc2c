//! Field values as a write sends them, checked and converted to the stored form as
//! Salesforce does: field names and writability, types, lengths, restricted
//! picklists, email shapes, and references to existing records of the right object.

use serde_json::{Map, Value, json};

use crate::error::SfError;
use crate::model::{FieldDef, FieldType, ObjectDef, Org, normalize_id};
use crate::util;

fn field_label_id(field: &FieldDef) -> String {
    if field.ty == FieldType::Reference && !field.label.ends_with("ID") {
        format!("{} ID", field.label)
    } else {
        field.label.clone()
    }
}

/// Where in the raw JSON a key's value starts, for JSON_PARSER_ERROR positions.
fn position_of(raw: Option<&str>, key: &str) -> (usize, usize) {
    let Some(raw) = raw else { return (1, 1) };
    let needle = format!("\"{key}\"");
    let Some(at) = raw.find(&needle) else { return (1, 1) };
    let mut end = at + needle.len();
    let rest = &raw[end..];
    let skip = rest.find(|c: char| c != ':' && !c.is_whitespace()).unwrap_or(0);
    end += skip + 1;
    let before = &raw[..end.min(raw.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(1);
    (line, column)
}

fn json_token(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Number(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

pub(crate) fn cannot_deserialize(kind: &str, key: &str, v: &Value, raw: Option<&str>) -> SfError {
    let (line, column) = position_of(raw, key);
    let shown = match v {
        Value::String(s) => s.clone(),
        Value::Array(_) => "[".into(),
        Value::Object(_) => "{".into(),
        other => other.to_string(),
    };
    SfError::json_parser(format!(
        "Cannot deserialize instance of {kind} from {} value {shown} or request may be missing a required field at [line:{line}, column:{column}]",
        json_token(v)
    ))
}

/// Converts a JSON value written to `field` into the stored form, as Salesforce would.
fn coerce(org: &Org, field: &FieldDef, key: &str, v: &Value, raw: Option<&str>) -> Result<Value, SfError> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let label = field_label_id(field);
    let fname = field.name.as_str();
    match field.ty {
        FieldType::Boolean => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Value::Bool(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Value::Bool(false)),
            _ => Err(cannot_deserialize("boolean", key, v, raw)),
        },
        FieldType::Int => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::String(s) => {
                s.trim().parse::<i64>().map(|n| json!(n)).map_err(|_| cannot_deserialize("int", key, v, raw))
            }
            _ => Err(cannot_deserialize("int", key, v, raw)),
        },
        FieldType::Double | FieldType::Currency => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => {
                s.trim().parse::<f64>().map(|n| json!(n)).map_err(|_| cannot_deserialize("double", key, v, raw))
            }
            _ => Err(cannot_deserialize("double", key, v, raw)),
        },
        FieldType::Date => match v {
            Value::String(s) => {
                util::normalize_date(s).map(Value::String).ok_or_else(|| cannot_deserialize("date", key, v, raw))
            }
            _ => Err(cannot_deserialize("date", key, v, raw)),
        },
        FieldType::DateTime => match v {
            Value::String(s) => util::normalize_datetime(s)
                .map(Value::String)
                .ok_or_else(|| cannot_deserialize("datetime", key, v, raw)),
            _ => Err(cannot_deserialize("datetime", key, v, raw)),
        },
        FieldType::Id | FieldType::Reference => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(_) | Value::Object(_) => return Err(cannot_deserialize("reference", key, v, raw)),
                other => other.to_string(),
            };
            if text.is_empty() {
                return Ok(Value::Null);
            }
            let Some(id) = normalize_id(&text) else {
                return Err(SfError::bad("MALFORMED_ID", format!("{label}: id value of incorrect type: {text}"))
                    .with_fields(&[fname]));
            };
            let target_ok = org
                .schema
                .by_key_prefix(&id[..3])
                .is_some_and(|o| field.reference_to.iter().any(|t| t.eq_ignore_ascii_case(&o.name)));
            if !target_ok {
                return Err(SfError::bad(
                    "FIELD_INTEGRITY_EXCEPTION",
                    format!("{label}: id value of incorrect type: {text}"),
                )
                .with_fields(&[fname]));
            }
            if org.get(&id).is_none() {
                return Err(
                    SfError::bad("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id").with_fields::<&str>(&[])
                );
            }
            Ok(Value::String(id))
        }
        _ => {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(_) | Value::Object(_) => return Err(cannot_deserialize("string", key, v, raw)),
                other => other.to_string(),
            };
            if field.length > 0 && text.chars().count() > field.length as usize {
                return Err(SfError::bad(
                    "STRING_TOO_LONG",
                    format!("{label}: data value too large: {text} (max length={})", field.length),
                )
                .with_fields(&[fname]));
            }
            if field.ty == FieldType::Picklist
                && field.restricted_picklist
                && !field.picklist.iter().any(|p| p == &text)
            {
                return Err(SfError::bad(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!("{label}: bad value for restricted picklist field: {text}"),
                )
                .with_fields(&[fname]));
            }
            if field.ty == FieldType::Email && !is_email_shaped(&text) {
                return Err(SfError::bad("INVALID_EMAIL_ADDRESS", format!("{label}: invalid email address: {text}"))
                    .with_fields(&[fname]));
            }
            Ok(Value::String(text))
        }
    }
}

/// `local@domain.tld`, no spaces.
pub fn is_email_shaped(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else { return false };
    !local.is_empty()
        && !text.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
}

/// Which operation a field check is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
}

/// Checks the body's field names and converts the values; answers canonical name → value.
pub fn read_body(
    org: &Org,
    object: &ObjectDef,
    body: &Map<String, Value>,
    raw: Option<&str>,
    op: Op,
) -> Result<Vec<(String, Value)>, SfError> {
    let mut values = Vec::new();
    let mut not_writable = Vec::new();
    for (key, v) in body {
        if key == "attributes" {
            continue;
        }
        if key.eq_ignore_ascii_case("Id") {
            if op == Op::Insert && !v.is_null() {
                return Err(SfError::bad("INVALID_FIELD", "The Id field should not be specified in the sobject data."));
            }
            continue;
        }
        let Some(field) = object.field(key) else {
            return Err(SfError::bad(
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {}", object.name),
            ));
        };
        let writable = match op {
            Op::Insert => field.createable,
            Op::Update => field.updateable,
        };
        if !writable {
            not_writable.push(field.name.clone());
            continue;
        }
        values.push((field.name.clone(), v.clone()));
    }
    if !not_writable.is_empty() {
        return Err(SfError::bad(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                not_writable.join(", ")
            ),
        )
        .with_fields(&not_writable));
    }
    let mut out = Vec::new();
    for (name, v) in values {
        let field = object.field(&name).ok_or_else(SfError::not_found)?;
        let value = coerce(org, field, &name, &v, raw)?;
        out.push((name, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_email_shaped("a@b.co"));
        assert!(!is_email_shaped("a@b"));
        assert!(!is_email_shaped("ab.co"));
        assert!(!is_email_shaped("a b@c.d"));
    }

    #[test]
    fn json_positions() {
        assert_eq!(position_of(Some(r#"{"IsActive": "yes"}"#), "IsActive"), (1, 14));
    }
}
