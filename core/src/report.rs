//! What a run reports: one record per step or `sf` call, and a recap per org.

use serde::Serialize;
use serde_json::Value;

/// How a step or call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The org already was as wanted; nothing was written.
    Ok,
    /// Something was written (or, in check mode, would be).
    Changed,
    /// The step decided it had nothing to do here.
    Skipped,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Changed => "changed",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        }
    }
}

/// One change a step made, or would make in check mode: `target.field: before → after`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What is changed, for a human: `User storeconnect.sync@client.example`.
    pub target: String,
    /// The field or aspect, when one applies: `IsActive`, `assignment`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub before: Value,
    pub after: Value,
}

impl Change {
    pub fn new(
        target: impl Into<String>,
        field: Option<&str>,
        before: impl Into<Value>,
        after: impl Into<Value>,
    ) -> Self {
        Change { target: target.into(), field: field.map(str::to_string), before: before.into(), after: after.into() }
    }

    /// Something that did not exist and will: `absent → <after>`.
    pub fn added(target: impl Into<String>, after: impl Into<Value>) -> Self {
        Change::new(target, None, Value::String("absent".into()), after)
    }

    /// Something that existed and will not.
    pub fn removed(target: impl Into<String>, before: impl Into<Value>) -> Self {
        Change::new(target, None, before, Value::String("absent".into()))
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match &self.field {
            Some(field) => write!(f, "{} {}: {} → {}", self.target, field, show(&self.before), show(&self.after)),
            None => write!(f, "{}: {} → {}", self.target, show(&self.before), show(&self.after)),
        }
    }
}

/// A failure as reported (in `--json` and in the human output).
#[derive(Debug, Clone, Serialize)]
pub struct FailureInfo {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// `file:line` in the playbook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl crate::diagnostic::PlaybookError {
    /// The error as a report shows it.
    pub fn info(&self) -> FailureInfo {
        FailureInfo::from(self)
    }
}

impl From<&crate::diagnostic::PlaybookError> for FailureInfo {
    fn from(error: &crate::diagnostic::PlaybookError) -> Self {
        FailureInfo {
            code: error.code.clone(),
            message: error.message.clone(),
            error_code: None,
            fields: Vec::new(),
            hint: error.help.clone(),
            location: error.location.as_ref().map(|l| l.to_string()),
        }
    }
}

/// One line of the run: a native step, an `sf::` call, a playbook-defined step, or the
/// playbook's own failure.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub name: String,
    pub outcome: Outcome,
    pub summary: String,
    pub changes: Vec<Change>,
    /// What the consultant should know that did not stop the step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub api_calls: u64,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<FailureInfo>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Recap {
    pub ok: u32,
    pub changed: u32,
    pub failed: u32,
    pub skipped: u32,
    pub api_calls: u64,
    pub duration_ms: u64,
    /// The org's daily API usage after the run, from `Sforce-Limit-Info`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_usage: Option<ApiUsageReport>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ApiUsageReport {
    pub used: u64,
    pub limit: u64,
}

impl Recap {
    pub fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Ok => self.ok += 1,
            Outcome::Changed => self.changed += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => self.failed += 1,
        }
    }
}

/// One way the org differs from what a playbook expects, as the playbook recorded it with
/// `drift(target, field, expected, actual)`: data for CI and reports, not a message to parse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// The org's name as its report names it ([`OrgReport::target`]), so that a fleet's
    /// drift can be listed together.
    pub org: String,
    /// What differs, for a human: `User storeconnect.sync@client.example`, `StoreConnect`.
    pub target: String,
    /// The field or aspect: `permission set`, `password`, `sync user`.
    pub field: String,
    pub expected: Value,
    pub actual: Value,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        write!(f, "{} {}: expected {}, found {}", self.target, self.field, show(&self.expected), show(&self.actual))
    }
}

/// Why an org's run did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgFailure {
    /// The org could not be reached or authenticated; nothing ran.
    Connect,
    /// The playbook stopped on an error (a step failure, a thrown error, a limit).
    Playbook,
}

/// Everything one org's run produced.
#[derive(Debug, Clone, Serialize)]
pub struct OrgReport {
    pub target: String,
    pub org_id: Option<String>,
    pub steps: Vec<StepRecord>,
    pub recap: Recap,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<OrgFailure>,
    /// The error that ended the run, rendered as plain text (the CLI renders it fancy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<FailureInfo>,
    /// The same error with its place in the playbook, for the CLI to render.
    #[serde(skip)]
    pub diagnostic: Option<std::sync::Arc<crate::diagnostic::PlaybookError>>,
    /// What went differently than planned without failing the run (a read-ahead that
    /// stopped early, a batch that was not answered), for whoever investigates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What the playbook found differs from what it expects (see [`Drift`]); always
    /// present in JSON, empty when nothing drifted.
    pub drift: Vec<Drift>,
}
