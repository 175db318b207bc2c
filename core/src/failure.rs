//! The failure of a step or an `sf` call: what a playbook catches as `err` and what a
//! report shows. Below the steps and the session so that both can speak it.

use crate::client::{ApiError, ClientError};
use crate::report::FailureInfo;

/// A structured step failure: a stable code, a message, the Salesforce error where
/// there is one, and a hint saying what to do. Playbooks can `catch` it and read
/// `err.code`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StepFailure {
    pub code: String,
    pub message: String,
    pub sf_error: Option<Box<ApiError>>,
    pub hint: Option<String>,
    /// The failed write may or may not have been applied (a dropped connection, a
    /// timeout): re-read by natural key before deciding anything.
    pub ambiguous: bool,
}

impl StepFailure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        StepFailure { code: code.to_string(), message: message.into(), sf_error: None, hint: None, ambiguous: false }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Arguments that did not decode: names the step and the field.
    pub fn bad_argument(step: &str, path: &str, problem: &str) -> Self {
        let field = if path.is_empty() || path == "." { String::new() } else { format!(" `{path}`") };
        StepFailure::new("runner::playbook::bad_argument", format!("{step}: argument{field}: {problem}"))
            .hint(format!("`runner steps {step}` lists its parameters and their types"))
    }

    /// The Salesforce error code, when the failure came from Salesforce.
    pub fn error_code(&self) -> Option<&str> {
        self.sf_error.as_ref().map(|e| e.error_code.as_str())
    }

    pub fn info(&self) -> FailureInfo {
        FailureInfo {
            code: self.code.clone(),
            message: self.message.clone(),
            error_code: self.sf_error.as_ref().map(|e| e.error_code.clone()),
            fields: self.sf_error.as_ref().map(|e| e.fields.clone()).unwrap_or_default(),
            hint: self.hint.clone(),
            location: None,
        }
    }
}

impl From<ClientError> for StepFailure {
    fn from(err: ClientError) -> Self {
        use miette::Diagnostic;
        let code = err.code().map(|c| c.to_string()).unwrap_or_else(|| "runner::sf::error".to_string());
        let hint = err.help().map(|h| h.to_string());
        // Servers echo what they were sent: the message and Salesforce's own text are
        // redacted here, where a client error becomes what a run reports.
        let sf_error = err.first_api_error().cloned().map(|mut e| {
            e.message = crate::redact::text(&e.message).into_owned();
            Box::new(e)
        });
        let ambiguous = err.is_ambiguous_write();
        let message = crate::redact::text(&err.to_string()).into_owned();
        StepFailure { code, message, sf_error, hint, ambiguous }
    }
}
