//! The REST wire between the router and its handlers: a request, a response, what a
//! handler reads of the request, JSON bodies, and records as the REST API shows them.
//! Below the router, so that composite and the password resource answer through it
//! without importing the router.

use serde_json::{Map, Value, json};

use crate::error::SfError;
use crate::model::normalize_id;
use crate::state::OrgState;

/// A REST request, top-level or composite.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The REST dispatcher, as composite and batch call it for their subrequests.
pub type Dispatch = fn(&mut OrgState, Request<'_>) -> SimResponse;

/// What the dispatcher answers: status, extra headers and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl SimResponse {
    pub fn json(status: u16, body: Value) -> Self {
        SimResponse { status, headers: Vec::new(), body: Some(body) }
    }
    pub fn no_content() -> Self {
        SimResponse { status: 204, headers: Vec::new(), body: None }
    }
    pub fn error(err: &SfError) -> Self {
        SimResponse::json(err.status, err.rest_body())
    }
    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_string(), value));
        self
    }
}

impl From<SfError> for SimResponse {
    fn from(err: SfError) -> Self {
        SimResponse::error(&err)
    }
}

/// Parses a JSON body, answering Salesforce's JSON_PARSER_ERROR when it isn't JSON.
pub fn parse_json(body: &[u8]) -> Result<Value, SfError> {
    serde_json::from_slice::<Value>(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        let ch = text
            .lines()
            .nth(e.line().saturating_sub(1))
            .and_then(|l| l.chars().nth(e.column().saturating_sub(1)));
        let message = match (e.classify(), ch) {
            (serde_json::error::Category::Eof, _) | (_, None) => format!(
                "Unexpected end-of-input: expected close marker for OBJECT at [line:{}, column:{}]",
                e.line(),
                e.column()
            ),
            (_, Some(c)) => format!(
                "Unexpected character ('{c}' (code {})): was expecting double-quote to start field name at [line:{}, column:{}]",
                c as u32,
                e.line(),
                e.column()
            ),
        };
        SfError::json_parser(message)
    })
}

pub fn parse_object_body(body: &[u8], type_name: &str) -> Result<Map<String, Value>, SfError> {
    match parse_json(body)? {
        Value::Object(map) => Ok(map),
        other => Err(SfError::json_parser(format!(
            "Cannot deserialize instance of {type_name} from {} value [line:1, column:1]",
            if other.is_array() { "START_ARRAY" } else { "VALUE_STRING" }
        ))),
    }
}

/// What a handler needs of the request.
pub struct Ctx<'a> {
    pub version: &'a str,
    pub method: &'a str,
    pub pairs: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Under `/tooling/`: Tooling-only fields show in describes and records.
    pub tooling: bool,
}

impl Ctx<'_> {
    pub fn only(&self, allowed: &str) -> Result<(), SfError> {
        if allowed.split(',').any(|m| m == self.method || (m == "HEAD" && self.method == "GET")) {
            Ok(())
        } else {
            Err(SfError::method_not_allowed(self.method, allowed))
        }
    }
}

/// Resolves an id from a URL for `object`: 404 when it isn't id-shaped, 400 when it
/// is of another type, 404 when no such record exists.
pub fn resolve_row_id(org_state: &OrgState, object_name: &str, raw: &str) -> Result<String, SfError> {
    let object = org_state.org.schema.object(object_name).ok_or_else(SfError::not_found)?;
    let shaped = (raw.len() == 15 || raw.len() == 18) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if !shaped {
        return Err(SfError::new(
            404,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {raw}"),
        ));
    }
    let Some(id) = normalize_id(raw) else {
        return Err(SfError::bad("MALFORMED_ID", format!("{} ID: id value of incorrect type: {raw}", object.label)));
    };
    if id[..3] != object.key_prefix {
        return Err(SfError::bad("MALFORMED_ID", format!("{} ID: id value of incorrect type: {raw}", object.label)));
    }
    if org_state.org.is_deleted_id(&id) {
        // A deleted record's row answers 404 ENTITY_IS_DELETED to GET, PATCH and a
        // second DELETE (errorcodes page: "ENTITY_IS_DELETED … deleted record").
        return Err(SfError::new(404, "ENTITY_IS_DELETED", "entity is deleted"));
    }
    if org_state.org.get(&id).is_none() {
        return Err(SfError::not_found());
    }
    Ok(id)
}

/// A record as the REST API shows it: `attributes`, then fields in canonical order
/// (or the requested ones, then `Id`).
pub fn record_json(org_state: &OrgState, id: &str, fields: Option<&[String]>, version: &str) -> Result<Value, SfError> {
    record_json_in(org_state, id, fields, version, false)
}

/// [`record_json`], under `/tooling/` when `tooling`.
pub fn record_json_in(
    org_state: &OrgState,
    id: &str,
    fields: Option<&[String]>,
    version: &str,
    tooling: bool,
) -> Result<Value, SfError> {
    let (object, record) = org_state.org.get(id).ok_or_else(SfError::not_found)?;
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": object.name, "url": format!("/services/data/v{version}/sobjects/{}/{id}", object.name)}),
    );
    match fields {
        None => {
            // Tooling-only fields (`Profile.FullName`) are not part of the REST record.
            for field in object.fields.iter().filter(|f| tooling || !f.tooling_only) {
                let value = if field.write_only {
                    Value::Null
                } else {
                    record.get(&field.name).cloned().unwrap_or(Value::Null)
                };
                out.insert(field.name.clone(), value);
            }
        }
        Some(names) => {
            for name in names {
                let field = object.field(name).filter(|f| tooling || !f.tooling_only).ok_or_else(|| {
                    SfError::bad(
                        "INVALID_FIELD",
                        format!(
                            "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                            object.name
                        ),
                    )
                })?;
                let value = if field.write_only {
                    Value::Null
                } else {
                    record.get(&field.name).cloned().unwrap_or(Value::Null)
                };
                out.insert(field.name.clone(), value);
            }
            if !out.contains_key("Id") {
                out.insert("Id".into(), Value::String(id.to_string()));
            }
        }
    }
    Ok(Value::Object(out))
}
