//! Salesforce errors as the simulator answers them.

use serde_json::{Map, Value, json};

/// One Salesforce error: HTTP status, `errorCode`/`statusCode`, message and fields.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct SfError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// `fields` of the error; `None` leaves the key out of REST error bodies.
    pub fields: Option<Vec<String>>,
    /// Salesforce writes `errorCode` before `message` in some bodies (NOT_FOUND,
    /// METHOD_NOT_ALLOWED, PROCESSING_HALTED); key order is kept for fidelity.
    pub code_first: bool,
}

impl SfError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        SfError { status, code, message: message.into(), fields: None, code_first: false }
    }

    /// A 400 with the given code.
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        SfError::new(400, code, message)
    }

    pub fn with_fields<S: AsRef<str>>(mut self, fields: &[S]) -> Self {
        self.fields = Some(fields.iter().map(|f| f.as_ref().to_string()).collect());
        self
    }

    pub fn code_first(mut self) -> Self {
        self.code_first = true;
        self
    }

    /// 404 `NOT_FOUND` "The requested resource does not exist".
    pub fn not_found() -> Self {
        SfError::new(404, "NOT_FOUND", "The requested resource does not exist").code_first()
    }

    /// 405 `METHOD_NOT_ALLOWED` listing the allowed methods.
    pub fn method_not_allowed(method: &str, allowed: &str) -> Self {
        SfError::new(405, "METHOD_NOT_ALLOWED", format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"))
            .code_first()
    }

    /// 400 `JSON_PARSER_ERROR`.
    pub fn json_parser(message: impl Into<String>) -> Self {
        SfError::bad("JSON_PARSER_ERROR", message)
    }

    /// The element of a REST error array: `{"message","errorCode","fields"?}`.
    pub fn rest_json(&self) -> Value {
        let mut map = Map::new();
        if self.code_first {
            map.insert("errorCode".into(), json!(self.code));
            map.insert("message".into(), json!(self.message));
        } else {
            map.insert("message".into(), json!(self.message));
            map.insert("errorCode".into(), json!(self.code));
        }
        if let Some(fields) = &self.fields {
            map.insert("fields".into(), json!(fields));
        }
        Value::Object(map)
    }

    /// The REST error body: a one-element array.
    pub fn rest_body(&self) -> Value {
        Value::Array(vec![self.rest_json()])
    }

    /// The element of a SaveResult's `errors`: `{"statusCode","message","fields":[]}`.
    pub fn save_error(&self) -> Value {
        json!({
            "statusCode": self.code,
            "message": self.message,
            "fields": self.fields.clone().unwrap_or_default(),
        })
    }
}
