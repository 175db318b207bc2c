//! A step's parameters, read from its `Params` type's JSON Schema: the one place they
//! are declared. `runner steps NAME`, the defaults it shows and `runner check`'s type
//! checks of literal arguments all come from here.
//!
//! The schema comes from `schemars` (`#[derive(JsonSchema)]`): doc comments become the
//! descriptions, `Option` fields are optional, and a default is the field's
//! `#[schemars(extend("default" = …))]` value, or `extend("x-default" = "…")` for one
//! that is worked out at run time ("the running user's").

use schemars::JsonSchema;
use serde_json::{Map, Value};

/// The type of a step parameter, for `runner steps NAME` and for `runner check`'s
/// pre-flight of literal arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Bool,
    Int,
    StringList,
    /// An object map, e.g. `defaults: #{ Account: "Retail" }`.
    Map,
}

impl ParamType {
    pub fn describe(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Bool => "bool",
            ParamType::Int => "int",
            ParamType::StringList => "array of strings",
            ParamType::Map => "object map",
        }
    }
}

/// One parameter of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDoc {
    pub name: String,
    pub ty: ParamType,
    pub required: bool,
    /// The default, as a human reads it (`"Salesforce API Integration"`, `false`).
    pub default: Option<String>,
    pub doc: String,
    /// The values it takes, when it is one of a few (`"keep"`, `"freeze"`, …).
    pub choices: Vec<String>,
}

/// The parameters of `P`, in declaration order.
pub fn param_docs<P: JsonSchema>() -> Vec<ParamDoc> {
    let schema = schemars::schema_for!(P);
    let root = schema.as_value();
    let definitions = root.get("$defs").and_then(Value::as_object);
    let required: Vec<&str> =
        root.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let Some(properties) = root.get("properties").and_then(Value::as_object) else { return Vec::new() };
    properties
        .iter()
        .map(|(name, property)| {
            let resolved = resolve(property, definitions);
            ParamDoc {
                name: name.clone(),
                ty: type_of(&resolved),
                required: required.contains(&name.as_str()),
                default: default_of(property),
                doc: text(property, "description")
                    .or_else(|| text(&resolved, "description"))
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                choices: choices(&resolved),
            }
        })
        .collect()
}

fn text(schema: &Value, key: &str) -> Option<String> {
    schema.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The schema a property stands for: `$ref`s followed, `Option`'s null branch dropped.
fn resolve(schema: &Value, definitions: Option<&Map<String, Value>>) -> Value {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let name = target.rsplit('/').next().unwrap_or(target);
        if let Some(found) = definitions.and_then(|d| d.get(name)) {
            return resolve(found, definitions);
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let real: Vec<&Value> = branches.iter().filter(|b| b.get("type") != Some(&Value::from("null"))).collect();
            if let [one] = real.as_slice() {
                return resolve(one, definitions);
            }
            if real.iter().all(|b| b.get("const").is_some() || b.get("enum").is_some()) {
                let values: Vec<Value> = real
                    .iter()
                    .flat_map(|b| match (b.get("const"), b.get("enum")) {
                        (Some(c), _) => vec![c.clone()],
                        (_, Some(Value::Array(e))) => e.clone(),
                        _ => Vec::new(),
                    })
                    .collect();
                return serde_json::json!({"type": "string", "enum": values});
            }
        }
    }
    schema.clone()
}

fn type_of(schema: &Value) -> ParamType {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = types.into_iter().find(|t| *t != "null").unwrap_or("string");
    match kind {
        "boolean" => ParamType::Bool,
        "integer" | "number" => ParamType::Int,
        "array" => ParamType::StringList,
        "object" => ParamType::Map,
        _ => ParamType::String,
    }
}

fn default_of(property: &Value) -> Option<String> {
    if let Some(text) = property.get("x-default").and_then(Value::as_str) {
        return Some(text.to_string());
    }
    property.get("default").filter(|d| !d.is_null()).map(|d| d.to_string())
}

fn choices(schema: &Value) -> Vec<String> {
    schema
        .get("enum")
        .and_then(Value::as_array)
        .map(|values| values.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Keep,
        Freeze,
    }

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Params {
        /// Username of the user.
        user: String,
        /// Replace it.
        #[serde(default)]
        #[schemars(extend("default" = false))]
        rotate: bool,
        /// What to do with the old one.
        #[schemars(extend("default" = "keep"))]
        mode: Option<Mode>,
        /// Time zone.
        #[schemars(extend("x-default" = "the running user's"))]
        time_zone: Option<String>,
        /// Sets.
        sets: Option<Vec<String>>,
        /// Defaults.
        defaults: Option<indexmap::IndexMap<String, String>>,
    }

    #[test]
    fn parameters_come_from_the_schema_in_declaration_order() {
        let docs = param_docs::<Params>();
        let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["user", "rotate", "mode", "time_zone", "sets", "defaults"]);
        assert_eq!(
            docs[0],
            ParamDoc {
                name: "user".into(),
                ty: ParamType::String,
                required: true,
                default: None,
                doc: "Username of the user.".into(),
                choices: vec![]
            }
        );
        assert_eq!((docs[1].ty, docs[1].required, docs[1].default.as_deref()), (ParamType::Bool, false, Some("false")));
        assert_eq!(docs[2].choices, ["keep", "freeze"]);
        assert_eq!(docs[2].default.as_deref(), Some("\"keep\""));
        assert_eq!(docs[3].default.as_deref(), Some("the running user's"));
        assert_eq!((docs[4].ty, docs[5].ty), (ParamType::StringList, ParamType::Map));
        assert!(!docs[4].required && !docs[5].required);
    }
}
