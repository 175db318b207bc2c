//! Writes: what a step asks to change, sent one by one or as one all-or-none
//! collection, each journaled before it is sent and with its result after.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::client::{ApiError, ClientError, NewRecord, RecordTypeVisibility, SfClient};
use crate::failure::StepFailure;
use crate::journal::{Entry, Journal, now_rfc3339};
use crate::report::Change;

/// A write a step wants made, with the changes it stands for.
#[derive(Debug, Clone)]
pub enum Write {
    Create {
        sobject: String,
        fields: Map<String, Value>,
        change: Change,
    },
    Update {
        sobject: String,
        id: String,
        fields: Map<String, Value>,
        changes: Vec<Change>,
    },
    Delete {
        sobject: String,
        id: String,
        change: Change,
    },
    ProfileRecordTypes {
        profile: String,
        visibilities: Vec<RecordTypeVisibility>,
        changes: Vec<Change>,
    },
    /// A user's password (`POST /sobjects/User/{id}/password`, salesforce-api.md C.2).
    Password {
        user_id: String,
        password: secrecy::SecretString,
        change: Change,
    },
}

impl Write {
    pub(crate) fn changes(&self) -> Vec<Change> {
        match self {
            Write::Create { change, .. } | Write::Delete { change, .. } | Write::Password { change, .. } => {
                vec![change.clone()]
            }
            Write::Update { changes, .. } | Write::ProfileRecordTypes { changes, .. } => changes.clone(),
        }
    }

    /// Adds the secrets this write carries (secret-named fields, a password) to the
    /// run's registry, so that they are cut out wherever they show up later, even
    /// echoed by a server under another name.
    pub(crate) fn register_secrets(&self) {
        use secrecy::ExposeSecret as _;
        let fields = match self {
            Write::Create { fields, .. } | Write::Update { fields, .. } => fields,
            Write::Password { password, .. } => {
                crate::redact::register(password.expose_secret());
                return;
            }
            Write::Delete { .. } | Write::ProfileRecordTypes { .. } => return,
        };
        for (name, value) in fields {
            if crate::redact::is_secret_name(name)
                && let Some(text) = value.as_str()
            {
                crate::redact::register(text);
            }
        }
    }

    pub(crate) fn is_create(&self) -> bool {
        matches!(self, Write::Create { .. })
    }
}

/// What a write gave back.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Sent and applied. `id` is set for creates.
    Done { id: Option<String> },
    /// Check mode: not sent.
    Planned,
}

impl Written {
    pub fn id(&self) -> Option<&str> {
        match self {
            Written::Done { id } => id.as_deref(),
            Written::Planned => None,
        }
    }
}

/// Where a write's journal line comes from.
pub(crate) struct JournalContext {
    pub(crate) journal: Option<Arc<Journal>>,
    pub(crate) target: String,
    pub(crate) org_id: String,
    pub(crate) step: String,
}

impl JournalContext {
    /// Journals a write before it is sent. A write that cannot be journaled is not
    /// sent: the error stops the step, and with it the run.
    fn begin(&self, method: &str, path: &str, request: &Value) -> Result<Instant, StepFailure> {
        let started = Instant::now();
        let Some(journal) = &self.journal else { return Ok(started) };
        journal.append(self.entry(journal, method, path, request.clone(), "sending", Value::Null, 0)).map_err(
            |err| {
                use miette::Diagnostic as _;
                let mut failure = StepFailure::new("runner::journal::write", format!("{err}; the write was not sent"));
                failure.hint = err.help().map(|h| h.to_string());
                failure
            },
        )?;
        Ok(started)
    }

    /// Journals a write's result. A failure here is kept by the journal: the run's next
    /// write stops on it, and the CLI fails the run.
    fn append(&self, method: &str, path: &str, request: Value, outcome: Result<Value, &ClientError>, started: Instant) {
        let Some(journal) = &self.journal else { return };
        let (status, result) = match outcome {
            Ok(result) => ("ok", result),
            Err(err) => (
                "failed",
                json!({"error": err.to_string(), "error_code": err.error_code(), "ambiguous": err.is_ambiguous_write()}),
            ),
        };
        let elapsed = started.elapsed().as_millis() as u64;
        let _ = journal.append(self.entry(journal, method, path, request, status, result, elapsed));
    }

    #[allow(clippy::too_many_arguments)]
    fn entry<'a>(
        &'a self,
        journal: &'a Journal,
        method: &'a str,
        path: &'a str,
        request: Value,
        status: &'a str,
        result: Value,
        duration_ms: u64,
    ) -> Entry<'a> {
        Entry {
            time: now_rfc3339(),
            run_id: journal.run_id(),
            target: &self.target,
            org_id: &self.org_id,
            step: &self.step,
            check_mode: false,
            method,
            path,
            request,
            status,
            result,
            duration_ms,
        }
    }
}

/// Sends one write, journaling the request before it goes and its result after.
pub(crate) async fn send_one(
    client: &SfClient,
    journal: &JournalContext,
    write: &Write,
) -> Result<Written, StepFailure> {
    match write {
        Write::Create { sobject, fields, .. } => {
            let path = format!("/sobjects/{sobject}");
            let started = journal.begin("POST", &path, &Value::Object(fields.clone()))?;
            let result = client.create(sobject, fields).await;
            let outcome = result.as_ref().map(|id| json!({"id": id}));
            journal.append("POST", &path, Value::Object(fields.clone()), outcome, started);
            Ok(Written::Done { id: Some(result?) })
        }
        Write::Update { sobject, id, fields, .. } => {
            let path = format!("/sobjects/{sobject}/{id}");
            let started = journal.begin("PATCH", &path, &Value::Object(fields.clone()))?;
            let result = client.update(sobject, id, fields).await;
            journal.append("PATCH", &path, Value::Object(fields.clone()), result.as_ref().map(|_| json!({})), started);
            result?;
            Ok(Written::Done { id: Some(id.clone()) })
        }
        Write::Delete { sobject, id, .. } => {
            let path = format!("/sobjects/{sobject}/{id}");
            let started = journal.begin("DELETE", &path, &Value::Null)?;
            let result = client.delete(sobject, id).await;
            journal.append("DELETE", &path, Value::Null, result.as_ref().map(|_| json!({})), started);
            result?;
            Ok(Written::Done { id: Some(id.clone()) })
        }
        Write::Password { user_id, password, .. } => {
            use secrecy::ExposeSecret;
            let path = format!("/sobjects/User/{user_id}/password");
            let body = json!({ "NewPassword": password.expose_secret() });
            let started = journal.begin("POST", &path, &json!({ "NewPassword": crate::journal::REDACTED }))?;
            let result = client.request_json(reqwest::Method::POST, &path, Some(&body)).await;
            journal.append(
                "POST",
                &path,
                json!({ "NewPassword": crate::journal::REDACTED }),
                result.as_ref().map(|_| json!({})),
                started,
            );
            result?;
            Ok(Written::Done { id: Some(user_id.clone()) })
        }
        Write::ProfileRecordTypes { profile, visibilities, .. } => {
            let request = json!({
                "type": "Profile",
                "fullName": profile,
                "recordTypeVisibilities": visibilities.iter().map(|v| json!({
                    "recordType": v.record_type, "default": v.default, "visible": v.visible,
                })).collect::<Vec<_>>(),
            });
            let started = journal.begin("SOAP", "updateMetadata", &request)?;
            let result = client.update_profile_record_types(profile, visibilities).await;
            journal.append("SOAP", "updateMetadata", request, result.as_ref().map(|_| json!({})), started);
            result?;
            Ok(Written::Done { id: None })
        }
    }
}

/// Sends several creates as one all-or-none sObject-collections request.
pub(crate) async fn send_creates(
    client: &SfClient,
    journal: &JournalContext,
    creates: &[&Write],
) -> Result<Vec<String>, StepFailure> {
    let records: Vec<NewRecord> = creates
        .iter()
        .filter_map(|w| match w {
            Write::Create { sobject, fields, .. } => {
                Some(NewRecord { sobject: sobject.clone(), fields: fields.clone() })
            }
            _ => None,
        })
        .collect();
    let request = Value::Array(
        records
            .iter()
            .map(|r| {
                let mut body = r.fields.clone();
                body.insert("attributes".into(), json!({"type": r.sobject}));
                Value::Object(body)
            })
            .collect(),
    );
    let started = journal.begin("POST", "/composite/sobjects", &request)?;
    let result = client.create_many(&records, true).await;
    let outcome = result.as_ref().map(|saves| {
        Value::Array(
            saves
                .iter()
                .map(|s| json!({"id": s.id, "success": s.success, "errors": s.errors.iter().map(|e| json!({"statusCode": e.error_code, "message": e.message})).collect::<Vec<_>>()}))
                .collect(),
        )
    });
    journal.append("POST", "/composite/sobjects", request, outcome, started);
    let saves = result?;
    if saves.iter().all(|s| s.success && s.id.is_some()) {
        return Ok(saves.into_iter().filter_map(|s| s.id).collect());
    }
    // With allOrNone, every other record reports that it was rolled back because of
    // the one that failed, and it may be listed first: report the cause (as
    // django-salesforce's `_group_results` does; AllOrNoneHeader doc).
    let errors: Vec<ApiError> = saves.into_iter().filter(|s| !s.success).flat_map(|s| s.errors).collect();
    let cause = errors.iter().position(|e| !is_rollback_echo(&e.error_code)).unwrap_or(0);
    let first = errors.into_iter().nth(cause);
    let message = first.as_ref().map(|e| e.message.clone()).unwrap_or_else(|| "the record was not saved".into());
    let mut failure = StepFailure::new("runner::sf::api", message);
    failure.sf_error = first.map(Box::new);
    Err(failure)
}

/// Status codes that only say another record or subrequest of the same all-or-none
/// request failed.
pub fn is_rollback_echo(code: &str) -> bool {
    matches!(code, "ALL_OR_NONE_OPERATION_ROLLED_BACK" | "PROCESSING_HALTED")
}

/// Subrequests of one `/composite` request, and how many of them may be queries
/// (salesforce-api.md A.7).
pub(crate) const COMPOSITE_SUBREQUESTS: usize = 25;
pub(crate) const COMPOSITE_QUERIES: usize = 5;

/// One write of a Composite request: the journal of its step, and its `referenceId`,
/// which later subrequests may name (`@{w0.id}`).
pub(crate) struct Composed<'a> {
    pub(crate) journal: &'a JournalContext,
    pub(crate) reference: String,
    pub(crate) write: &'a Write,
}

/// How a Composite request of writes ended when it was not applied.
pub(crate) enum CompositeFailure {
    /// Salesforce refused the write at this index and rolled the rest back: nothing was
    /// written.
    Refused { index: usize, failure: StepFailure },
    /// The request failed as a whole; `ambiguous` on the failure says whether it may
    /// have been applied.
    Request(StepFailure),
}

impl CompositeFailure {
    pub(crate) fn into_failure(self) -> StepFailure {
        match self {
            CompositeFailure::Refused { failure, .. } | CompositeFailure::Request(failure) => failure,
        }
    }
}

/// What [`send_composite`] gives back: each write's result, and the answers of the
/// queries sent after the writes, in order (`None`: not one page; read it alone).
pub(crate) type Composited = (Vec<Written>, Vec<Option<crate::client::QueryResult>>);

/// A write as a `/composite` subrequest: method, path, the body sent, and the body
/// journaled (the password's redacted). `None` for a Metadata write, which is SOAP.
fn subrequest(write: &Write) -> Option<(&'static str, String, Option<Value>, Value)> {
    use secrecy::ExposeSecret as _;
    Some(match write {
        Write::Create { sobject, fields, .. } => {
            ("POST", format!("/sobjects/{sobject}"), Some(Value::Object(fields.clone())), Value::Object(fields.clone()))
        }
        Write::Update { sobject, id, fields, .. } => (
            "PATCH",
            format!("/sobjects/{sobject}/{id}"),
            Some(Value::Object(fields.clone())),
            Value::Object(fields.clone()),
        ),
        Write::Delete { sobject, id, .. } => ("DELETE", format!("/sobjects/{sobject}/{id}"), None, Value::Null),
        Write::Password { user_id, password, .. } => (
            "POST",
            format!("/sobjects/User/{user_id}/password"),
            Some(json!({ "NewPassword": password.expose_secret() })),
            json!({ "NewPassword": crate::journal::REDACTED }),
        ),
        Write::ProfileRecordTypes { .. } => return None,
    })
}

/// Whether these writes can go in one `/composite` request with queries after them.
pub(crate) fn composable(writes: &[Write]) -> bool {
    !writes.is_empty()
        && writes.len() + COMPOSITE_QUERIES <= COMPOSITE_SUBREQUESTS
        && writes.iter().all(|w| subrequest(w).is_some())
}

/// Sends writes and then queries (at most [`COMPOSITE_QUERIES`]) as one all-or-none
/// `POST /composite`, each write journaled under its step before the request goes and
/// with its result after. Composite takes every sObject resource, the password's
/// included (salesforce-api.md A.7).
pub(crate) async fn send_composite(
    client: &SfClient,
    writes: &[Composed<'_>],
    soqls: &[String],
) -> Result<Composited, CompositeFailure> {
    use crate::client::{ClientError, CompositeRequest, SubRequest};
    let mut subrequests = Vec::with_capacity(writes.len() + soqls.len());
    let mut journaled = Vec::with_capacity(writes.len());
    for composed in writes {
        let Some((method, path, body, shown)) = subrequest(composed.write) else {
            let failure = StepFailure::new("runner::internal", "a Metadata write cannot go in a composite request");
            return Err(CompositeFailure::Request(failure));
        };
        let started = composed.journal.begin(method, &path, &shown).map_err(CompositeFailure::Request)?;
        journaled.push((composed.journal, method, path.clone(), shown, started));
        subrequests.push(SubRequest {
            method: method.into(),
            url: path,
            reference_id: composed.reference.clone(),
            body,
        });
    }
    for (i, soql) in soqls.iter().take(COMPOSITE_QUERIES).enumerate() {
        let url = client.query_subrequest_url(soql);
        subrequests.push(SubRequest { method: "GET".into(), url, reference_id: format!("q{i}"), body: None });
    }
    let responses = match client.composite(&CompositeRequest { all_or_none: true, subrequests }).await {
        Ok(responses) => responses,
        Err(err) => {
            for (journal, method, path, shown, started) in journaled {
                journal.append(method, &path, shown, Err(&err), started);
            }
            return Err(CompositeFailure::Request(StepFailure::from(err)));
        }
    };
    let missing = |what: String| ClientError::Api {
        method: "POST".into(),
        path: "/composite".into(),
        status: 200,
        errors: vec![ApiError::new("UNKNOWN", what)],
    };
    let results: Vec<Result<Value, ClientError>> = writes
        .iter()
        .map(|composed| match responses.iter().find(|r| r.reference_id == composed.reference) {
            Some(sub) => sub.clone().into_result(),
            None => Err(missing(format!("no subresponse for `{}`", composed.reference))),
        })
        .collect();
    for ((journal, method, path, shown, started), result) in journaled.into_iter().zip(&results) {
        let outcome = result.as_ref().map(|body| match body.get("id") {
            Some(id) => json!({ "id": id }),
            None => json!({}),
        });
        journal.append(method, &path, shown, outcome, started);
    }
    // Every other subrequest says only that it was rolled back (PROCESSING_HALTED): the
    // cause is the one that does not.
    if let Some(index) = results
        .iter()
        .position(|r| r.as_ref().err().is_some_and(|e| !e.error_code().is_some_and(is_rollback_echo)))
        .or_else(|| results.iter().position(Result::is_err))
    {
        let failure = results.into_iter().nth(index).and_then(Result::err).map(StepFailure::from);
        let failure =
            failure.unwrap_or_else(|| StepFailure::new("runner::internal", "the request failed with no cause"));
        return Err(CompositeFailure::Refused { index, failure });
    }
    let mut written = Vec::with_capacity(writes.len());
    for (composed, result) in writes.iter().zip(results) {
        let body = result.unwrap_or_default();
        let id = match composed.write {
            Write::Create { .. } => match body.get("id").and_then(Value::as_str) {
                Some(id) => Some(id.to_string()),
                // Applied, by its status, but with no id to go on: the step re-reads.
                None => {
                    let mut failure = StepFailure::from(missing(format!("no id for `{}`", composed.reference)));
                    failure.ambiguous = true;
                    return Err(CompositeFailure::Request(failure));
                }
            },
            Write::Update { id, .. } | Write::Delete { id, .. } => Some(id.clone()),
            Write::Password { user_id, .. } => Some(user_id.clone()),
            Write::ProfileRecordTypes { .. } => None,
        };
        written.push(Written::Done { id });
    }
    let answers = (0..soqls.len())
        .map(|i| {
            let reference = format!("q{i}");
            responses.iter().find(|r| r.reference_id == reference).and_then(|sub| client.query_subresponse(sub).ok())
        })
        .collect();
    Ok((written, answers))
}
