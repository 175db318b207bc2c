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

/// How a chain of creates sent ahead ended when it was not applied.
pub(crate) enum ChainFailure {
    /// Salesforce refused the create at this index of the chain and rolled the rest
    /// back: nothing was written.
    Refused { index: usize, failure: StepFailure },
    /// The request failed as a whole; `ambiguous` on the failure says whether it may
    /// have been applied.
    Request(StepFailure),
}

/// Subrequests of one `/composite` request (salesforce-api.md A.7).
pub(crate) const COMPOSITE_SUBREQUESTS: usize = 25;

/// Sends a chain of creates, each with its reference (see `crate::ahead`), as one
/// all-or-none `POST /composite`, each create journaled under its own step before the
/// request goes and with its result after. The creates' ids, in order.
pub(crate) async fn send_chain(
    client: &SfClient,
    journals: &[JournalContext],
    entries: &[(&str, &Write)],
) -> Result<Vec<String>, ChainFailure> {
    use crate::client::{CompositeRequest, SubRequest};
    let mut subrequests = Vec::with_capacity(entries.len());
    let mut journaled = Vec::with_capacity(entries.len());
    for (&(reference, write), journal) in entries.iter().zip(journals) {
        let Write::Create { sobject, fields, .. } = write else {
            return Err(ChainFailure::Request(StepFailure::new("runner::internal", "a chain holds only creates")));
        };
        let path = format!("/sobjects/{sobject}");
        let body = Value::Object(fields.clone());
        let started = journal.begin("POST", &path, &body).map_err(ChainFailure::Request)?;
        journaled.push((journal, path.clone(), body.clone(), started));
        subrequests.push(SubRequest {
            method: "POST".into(),
            url: path,
            reference_id: reference.to_string(),
            body: Some(body),
        });
    }
    let responses = match client.composite(&CompositeRequest { all_or_none: true, subrequests }).await {
        Ok(responses) => responses,
        Err(err) => {
            for (journal, path, body, started) in journaled {
                journal.append("POST", &path, body, Err(&err), started);
            }
            return Err(ChainFailure::Request(StepFailure::from(err)));
        }
    };
    let mut results: Vec<Result<String, crate::client::ClientError>> = Vec::with_capacity(entries.len());
    for &(reference, _) in entries {
        let result = match responses.iter().find(|r| r.reference_id == reference) {
            Some(sub) => sub.clone().into_result().and_then(|body| {
                body.get("id").and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
                    crate::client::ClientError::Api {
                        method: "POST".into(),
                        path: "/composite".into(),
                        status: sub.status,
                        errors: vec![ApiError::new("UNKNOWN", format!("no id for `{reference}`"))],
                    }
                })
            }),
            None => Err(crate::client::ClientError::Api {
                method: "POST".into(),
                path: "/composite".into(),
                status: 200,
                errors: vec![ApiError::new("UNKNOWN", format!("no subresponse for `{reference}`"))],
            }),
        };
        results.push(result);
    }
    for ((journal, path, body, started), result) in journaled.into_iter().zip(&results) {
        let outcome = result.as_ref().map(|id| json!({"id": id}));
        journal.append("POST", &path, body, outcome, started);
    }
    if results.iter().all(Result::is_ok) {
        return Ok(results.into_iter().filter_map(Result::ok).collect());
    }
    // Every other subrequest says only that it was rolled back (PROCESSING_HALTED): the
    // cause is the one that does not.
    let failed =
        |r: &Result<String, crate::client::ClientError>| r.as_ref().err().map(|e| e.error_code().map(str::to_string));
    let index = results
        .iter()
        .position(|r| failed(r).is_some_and(|code| !code.as_deref().is_some_and(is_rollback_echo)))
        .or_else(|| results.iter().position(Result::is_err))
        .unwrap_or(0);
    let failure = match results.into_iter().nth(index) {
        Some(Err(err)) => StepFailure::from(err),
        _ => StepFailure::new("runner::internal", "the chain failed with no cause"),
    };
    Err(ChainFailure::Refused { index, failure })
}

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

/// Whether these writes can go in one `/composite` request with a query after them.
pub(crate) fn composable(writes: &[Write]) -> bool {
    !writes.is_empty() && writes.len() < COMPOSITE_SUBREQUESTS && writes.iter().all(|w| subrequest(w).is_some())
}

/// Queries one `/composite` request may hold (salesforce-api.md A.7).
pub(crate) const COMPOSITE_QUERIES: usize = 5;

/// What [`send_then_query`] gives back: each write's result, and the answers of the
/// queries sent after the writes, in order (`None`: not one page; read it alone).
pub(crate) type SentThenQueried = (Vec<Written>, Vec<Option<crate::client::QueryResult>>);

/// Sends writes and then queries (at most [`COMPOSITE_QUERIES`]) as one all-or-none
/// `POST /composite` (the password resource is an sObject resource, which Composite
/// takes: salesforce-api.md A.7), each write journaled before the request and with its
/// result after.
pub(crate) async fn send_then_query(
    client: &SfClient,
    journal: &JournalContext,
    writes: &[Write],
    soqls: &[String],
) -> Result<SentThenQueried, StepFailure> {
    use crate::client::{CompositeRequest, SubRequest};
    let mut subrequests = Vec::with_capacity(writes.len() + 1);
    let mut journaled = Vec::with_capacity(writes.len());
    for (i, write) in writes.iter().enumerate() {
        let Some((method, path, body, shown)) = subrequest(write) else {
            return Err(StepFailure::new("runner::internal", "a Metadata write cannot go in a composite request"));
        };
        let started = journal.begin(method, &path, &shown)?;
        journaled.push((method, path.clone(), shown, started));
        subrequests.push(SubRequest { method: method.into(), url: path, reference_id: format!("w{i}"), body });
    }
    for (i, soql) in soqls.iter().take(COMPOSITE_QUERIES).enumerate() {
        subrequests.push(SubRequest {
            method: "GET".into(),
            url: client.query_subrequest_url(soql),
            reference_id: format!("q{i}"),
            body: None,
        });
    }
    let responses = match client.composite(&CompositeRequest { all_or_none: true, subrequests }).await {
        Ok(responses) => responses,
        Err(err) => {
            for (method, path, shown, started) in journaled {
                journal.append(method, &path, shown, Err(&err), started);
            }
            return Err(StepFailure::from(err));
        }
    };
    let mut results = Vec::with_capacity(writes.len());
    for i in 0..writes.len() {
        let reference = format!("w{i}");
        results.push(match responses.iter().find(|r| r.reference_id == reference) {
            Some(sub) => sub.clone().into_result(),
            None => Err(crate::client::ClientError::Api {
                method: "POST".into(),
                path: "/composite".into(),
                status: 200,
                errors: vec![ApiError::new("UNKNOWN", format!("no subresponse for `{reference}`"))],
            }),
        });
    }
    for ((method, path, shown, started), result) in journaled.into_iter().zip(&results) {
        let outcome = result.as_ref().map(|body| match body.get("id") {
            Some(id) => json!({ "id": id }),
            None => json!({}),
        });
        journal.append(method, &path, shown, outcome, started);
    }
    if let Some(cause) = results
        .iter()
        .position(|r| r.as_ref().err().is_some_and(|e| !e.error_code().is_some_and(is_rollback_echo)))
        .or_else(|| results.iter().position(Result::is_err))
    {
        return Err(results
            .into_iter()
            .nth(cause)
            .and_then(Result::err)
            .map(StepFailure::from)
            .unwrap_or_else(|| StepFailure::new("runner::internal", "the composite request failed with no cause")));
    }
    let written = writes
        .iter()
        .zip(results)
        .map(|(write, result)| {
            let body = result.unwrap_or_default();
            let id = match write {
                Write::Create { .. } => body.get("id").and_then(Value::as_str).map(str::to_string),
                Write::Update { id, .. } | Write::Delete { id, .. } => Some(id.clone()),
                Write::Password { user_id, .. } => Some(user_id.clone()),
                Write::ProfileRecordTypes { .. } => None,
            };
            Written::Done { id }
        })
        .collect();
    let answers = (0..soqls.len())
        .map(|i| {
            let reference = format!("q{i}");
            responses.iter().find(|r| r.reference_id == reference).and_then(|sub| client.query_subresponse(sub).ok())
        })
        .collect();
    Ok((written, answers))
}
