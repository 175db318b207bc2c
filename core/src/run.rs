//! One playbook run against one org.
//!
//! The playbook runs on a blocking thread (Rhai is synchronous); native steps and `sf`
//! calls block on the async client there. Everything a run does is recorded as
//! [`StepRecord`]s, reported live through a [`RunObserver`] and journaled.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indexmap::IndexMap;
use rhai::{Dynamic, EvalAltResult, FnPtr, Map as RhaiMap, NativeCallContext, Position};
use serde_json::{Map, Value, json};

use crate::client::{ApiError, ClientError, NewRecord, SfClient};
use crate::facts::OrgFacts;
use crate::interrupt::Interrupt;
use crate::journal::{Entry, Journal, now_rfc3339};
use crate::plan::{Finding, PlanPass};
use crate::playbook::{self, Playbook, PlaybookError};
use crate::report::{ApiUsageReport, Change, FailureInfo, OrgFailure, OrgReport, Outcome, Recap, StepRecord};
use crate::step::{DynStep, Registry, StepCtx, StepFailure, Write, Written};

/// Receives what a run does as it happens (the CLI prints it).
pub trait RunObserver: Send + Sync {
    fn on_record(&self, target: &str, record: &StepRecord);
    fn on_print(&self, target: &str, text: &str);
}

/// Options of one org's run.
#[derive(Clone, Default)]
pub struct RunOptions {
    pub check_mode: bool,
    pub vars: IndexMap<String, String>,
    pub journal: Option<Arc<Journal>>,
    pub observer: Option<Arc<dyn RunObserver>>,
    /// The operation budget and deadline of the whole run, all passes together.
    pub limits: crate::sandbox::Limits,
    /// Once raised, no step or write starts (see [`crate::interrupt`]).
    pub interrupt: Interrupt,
}

/// A playbook-defined step in progress: what ran inside it so far.
struct Group {
    records: Vec<StepRecord>,
}

/// State shared by the steps and `sf` calls of one org's run.
pub struct RunShared {
    pub(crate) client: SfClient,
    pub(crate) facts: OrgFacts,
    check_mode: bool,
    /// Depth of `with_check_mode(|| …)` blocks: inside one, nothing is written.
    forced_check: std::sync::atomic::AtomicUsize,
    pub(crate) planned: Mutex<HashSet<(String, String)>>,
    /// Answers read ahead for the whole playbook, until the first write; shared with
    /// the planning passes.
    pub(crate) read_ahead: Arc<crate::prefetch::ReadAhead>,
    /// Set on a planning pass.
    plan: Option<PlanPass>,
    journal: Option<Arc<Journal>>,
    observer: Option<Arc<dyn RunObserver>>,
    records: Mutex<Vec<StepRecord>>,
    groups: Mutex<Vec<Group>>,
    runtime: tokio::runtime::Handle,
    /// Shared by the observe pass, the planning passes and the run.
    pub(crate) budget: Arc<crate::sandbox::Budget>,
    pub(crate) interrupt: Interrupt,
}

/// Where a write's journal line comes from.
pub(crate) struct JournalContext {
    journal: Option<Arc<Journal>>,
    target: String,
    org_id: String,
    step: String,
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

impl RunShared {
    pub(crate) fn check_mode(&self) -> bool {
        self.check_mode || self.forced_check.load(std::sync::atomic::Ordering::SeqCst) > 0
    }

    /// A planning pass of a run that will write, outside `with_check_mode`: what would
    /// fail when written must fail here.
    pub(crate) fn planning_writes(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| p.for_writing_run)
            && self.forced_check.load(std::sync::atomic::Ordering::SeqCst) == 0
    }

    pub(crate) fn journal_context(&self, step: &str) -> JournalContext {
        JournalContext {
            journal: self.journal.clone(),
            target: self.facts.target.clone(),
            org_id: self.facts.org_id.clone(),
            step: step.to_string(),
        }
    }

    fn record(&self, record: StepRecord) {
        // The one place every step line passes: what is reported is redacted here.
        let record = redact_record(record);
        if let Ok(mut groups) = self.groups.lock()
            && let Some(group) = groups.last_mut()
        {
            group.records.push(record);
            return;
        }
        if let Some(observer) = &self.observer {
            observer.on_record(&self.facts.target, &record);
        }
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }

    fn print(&self, text: &str) {
        if let Some(observer) = &self.observer {
            observer.on_print(&self.facts.target, &crate::redact::text(text));
        }
    }

    fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

/// A step line as it may be shown: secret-named fields and known secrets redacted
/// (see [`crate::redact`]), in its summary, changes, warnings and error.
pub fn redact_record(mut record: StepRecord) -> StepRecord {
    use crate::redact;
    record.summary = redact::text(&record.summary).into_owned();
    record.changes = record.changes.iter().map(redact_change).collect();
    for warning in &mut record.warnings {
        *warning = redact::text(warning).into_owned();
    }
    if let Some(error) = &mut record.error {
        redact_failure_info(error);
    }
    record
}

/// A change as it may be shown: the before and after of a secret-named field hidden.
pub fn redact_change(change: &Change) -> Change {
    use crate::redact;
    let (before, after) = match &change.field {
        Some(field) => (redact::field(field, &change.before), redact::field(field, &change.after)),
        None => (redact::value(&change.before), redact::value(&change.after)),
    };
    Change { target: redact::text(&change.target).into_owned(), field: change.field.clone(), before, after }
}

pub fn redact_failure_info(info: &mut FailureInfo) {
    use crate::redact;
    info.message = redact::text(&info.message).into_owned();
    info.hint = info.hint.as_deref().map(|h| redact::text(h).into_owned());
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

/// Escapes a value for a single-quoted SOQL string literal.
pub fn soql_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out
}

/// A single-quoted SOQL string literal.
pub fn soql_quote(value: &str) -> String {
    format!("'{}'", soql_escape(value))
}

fn to_dynamic(value: Value) -> Dynamic {
    rhai::serde::to_dynamic(value).unwrap_or(Dynamic::UNIT)
}

fn from_dynamic(value: &Dynamic) -> Result<Value, Box<EvalAltResult>> {
    rhai::serde::from_dynamic::<Value>(value)
}

/// Removes Salesforce's `attributes` from records, at any depth: playbooks want fields.
fn strip_attributes(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter().filter(|(k, _)| k != "attributes").map(|(k, v)| (k, strip_attributes(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_attributes).collect()),
        other => other,
    }
}

/// The error value a playbook's `catch (err)` receives: an object map with `code`.
pub(crate) fn failure_to_rhai(step: &str, failure: &StepFailure, at: Position) -> Box<EvalAltResult> {
    let mut map = RhaiMap::new();
    map.insert("code".into(), failure.code.clone().into());
    map.insert("message".into(), failure.message.clone().into());
    map.insert("step".into(), step.to_string().into());
    if let Some(sf) = &failure.sf_error {
        map.insert("error_code".into(), sf.error_code.clone().into());
        map.insert("fields".into(), sf.fields.iter().map(|f| Dynamic::from(f.clone())).collect::<rhai::Array>().into());
    }
    if let Some(hint) = &failure.hint {
        map.insert("hint".into(), hint.clone().into());
    }
    Box::new(EvalAltResult::ErrorRuntime(map.into(), at))
}

/// Times a call and records it, whatever its result.
struct Timer {
    started: Instant,
    calls_before: u64,
}

impl Timer {
    fn start(shared: &RunShared) -> Timer {
        Timer { started: Instant::now(), calls_before: shared.client.api_calls() }
    }

    fn record(
        self,
        shared: &RunShared,
        name: &str,
        outcome: Outcome,
        summary: String,
        changes: Vec<Change>,
        error: Option<FailureInfo>,
    ) {
        self.record_warned(shared, name, outcome, summary, changes, error, Vec::new());
    }

    #[allow(clippy::too_many_arguments)]
    fn record_warned(
        self,
        shared: &RunShared,
        name: &str,
        outcome: Outcome,
        summary: String,
        changes: Vec<Change>,
        error: Option<FailureInfo>,
        warnings: Vec<String>,
    ) {
        shared.record(StepRecord {
            name: name.to_string(),
            outcome,
            summary,
            changes,
            warnings,
            api_calls: shared.client.api_calls().saturating_sub(self.calls_before),
            duration_ms: self.started.elapsed().as_millis() as u64,
            error,
        });
    }
}

/// Runs a native step from the playbook.
fn call_step(
    shared: &Arc<RunShared>,
    step: &Arc<dyn DynStep>,
    args: Dynamic,
    at: Position,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let name = step.meta().name;
    let timer = Timer::start(shared);
    let call = shared.plan.as_ref().map(PlanPass::next_call);
    let failed = |failure: StepFailure, timer: Timer| {
        timer.record(shared, name, Outcome::Failed, failure.message.clone(), Vec::new(), Some(failure.info()));
        if let (Some(plan), Some(call)) = (&shared.plan, call) {
            // A finding of an earlier pass: go on, so the next problem shows too.
            if plan.is_known(call) {
                let mut data = RhaiMap::new();
                data.insert("outcome".into(), "failed".into());
                return Ok(Dynamic::from_map(data));
            }
            plan.throwing(call, name, &failure);
        }
        Err(failure_to_rhai(name, &failure, at))
    };
    if let Err(failure) = shared.interrupt.check() {
        return failed(failure, timer);
    }
    if !args.is_map() {
        let failure = StepFailure::bad_argument(
            name,
            "",
            &format!("expected one object map, e.g. {name}(#{{ user: \"…\" }}), got {}", args.type_name()),
        );
        return failed(failure, timer);
    }
    let json = from_dynamic(&args)?;
    let mut ctx = StepCtx { run: shared.clone(), step: name.to_string(), changes: Vec::new() };
    let result = shared.block_on(step.run(json, &mut ctx));
    match result {
        Ok(output) => {
            let outcome = if output.skipped {
                Outcome::Skipped
            } else if ctx.changes.is_empty() {
                Outcome::Ok
            } else {
                Outcome::Changed
            };
            let mut data = output.data;
            data.insert("outcome".into(), outcome.as_str().into());
            let shown: Vec<Change> = ctx.changes.iter().map(redact_change).collect();
            data.insert("changes".into(), serde_json::to_value(&shown).unwrap_or(Value::Null));
            data.insert("warnings".into(), serde_json::to_value(&output.warnings).unwrap_or(Value::Null));
            timer.record_warned(shared, name, outcome, output.summary, ctx.changes, None, output.warnings);
            Ok(to_dynamic(Value::Object(data)))
        }
        Err(failure) => failed(failure, timer),
    }
}

/// `step(name, || { … })`: a playbook-defined step. Its `sf` calls and native steps are
/// folded into one line; it is `changed` when anything inside changed (or would, in
/// check mode), and the closure's string result, if any, becomes its summary.
fn call_group(
    shared: &Arc<RunShared>,
    ctx: &NativeCallContext,
    name: &str,
    body: &FnPtr,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let timer = Timer::start(shared);
    if let Ok(mut groups) = shared.groups.lock() {
        groups.push(Group { records: Vec::new() });
    }
    let result: Result<Dynamic, _> = body.call_within_context(ctx, ());
    let inner = shared.groups.lock().ok().and_then(|mut g| g.pop()).map(|g| g.records).unwrap_or_default();
    let changes: Vec<Change> = inner.iter().flat_map(|r| r.changes.clone()).collect();
    let any_changed = inner.iter().any(|r| r.outcome == Outcome::Changed);
    let inner_failure = inner.iter().rev().find_map(|r| r.error.clone());
    match &result {
        Ok(value) => {
            let outcome = if any_changed { Outcome::Changed } else { Outcome::Ok };
            let summary = value.clone().into_string().unwrap_or_else(|_| {
                if shared.check_mode() && any_changed {
                    format!("would make {} change(s)", changes.len())
                } else if any_changed {
                    format!("{} change(s)", changes.len())
                } else {
                    "nothing to change".to_string()
                }
            });
            timer.record(shared, name, outcome, summary, changes, None);
        }
        // `exit()` inside the step ends the playbook there; the step itself did not fail.
        Err(err) if matches!(**err, EvalAltResult::Exit(..)) => {
            let outcome = if any_changed { Outcome::Changed } else { Outcome::Ok };
            timer.record(shared, name, outcome, "the playbook ended here (exit)".into(), changes, None);
        }
        Err(err) => {
            let info = inner_failure.unwrap_or_else(|| FailureInfo {
                code: "runner::playbook::step_failed".into(),
                message: playbook::plain_message(err),
                error_code: None,
                fields: Vec::new(),
                hint: None,
                location: None,
            });
            timer.record(shared, name, Outcome::Failed, info.message.clone(), changes, Some(info));
        }
    }
    result
}

/// `with_check_mode(|| { … })`: runs the closure in check mode whatever the run's mode,
/// so that an audit can ask every step what it would change.
fn call_in_check_mode(
    shared: &Arc<RunShared>,
    ctx: &NativeCallContext,
    body: &FnPtr,
) -> Result<Dynamic, Box<EvalAltResult>> {
    use std::sync::atomic::Ordering;
    shared.forced_check.fetch_add(1, Ordering::SeqCst);
    let result = body.call_within_context(ctx, ());
    shared.forced_check.fetch_sub(1, Ordering::SeqCst);
    result
}

/// The `sf` module: generic org calls that report, journal and obey check mode.
fn sf_module(shared: &Arc<RunShared>) -> rhai::Module {
    let mut module = rhai::Module::new();

    let s = shared.clone();
    module.set_native_fn(
        "query",
        move |ctx: NativeCallContext, soql: &str| -> Result<rhai::Array, Box<EvalAltResult>> {
            let timer = Timer::start(&s);
            let answer = match s.read_ahead.get(soql) {
                Some(Ok(answer)) => Ok(answer),
                Some(Err(refused)) => {
                    return Err(step_failed(&s, timer, "sf::query", refused, ctx.call_position()));
                }
                None => s.block_on(s.client.query(soql)),
            };
            match answer {
                Ok(result) => {
                    let rows = result.records.len();
                    timer.record(
                        &s,
                        "sf::query",
                        Outcome::Ok,
                        format!("{rows} row(s): {}", shorten(soql)),
                        Vec::new(),
                        None,
                    );
                    Ok(result.records.into_iter().map(|r| to_dynamic(strip_attributes(Value::Object(r)))).collect())
                }
                Err(err) => Err(sf_failed(&s, timer, "sf::query", err, ctx.call_position())),
            }
        },
    );

    let s = shared.clone();
    module.set_native_fn(
        "get",
        move |ctx: NativeCallContext, sobject: &str, id: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            let timer = Timer::start(&s);
            if s.check_mode() && is_planned_id(id) {
                timer.record(&s, "sf::get", Outcome::Ok, format!("{sobject} {id}: not created yet"), Vec::new(), None);
                return Ok(Dynamic::from_map(RhaiMap::new()));
            }
            match s.block_on(s.client.get(sobject, id, None)) {
                Ok(record) => {
                    timer.record(&s, "sf::get", Outcome::Ok, format!("{sobject} {id}"), Vec::new(), None);
                    Ok(to_dynamic(strip_attributes(Value::Object(record))))
                }
                Err(err) => Err(sf_failed(&s, timer, "sf::get", err, ctx.call_position())),
            }
        },
    );

    let s = shared.clone();
    module.set_native_fn(
        "create",
        move |ctx: NativeCallContext, sobject: &str, fields: RhaiMap| -> Result<String, Box<EvalAltResult>> {
            let timer = Timer::start(&s);
            let fields = object_of(&fields)?;
            let label = record_label(sobject, &fields);
            let write = Write::Create {
                sobject: sobject.to_string(),
                fields: fields.clone(),
                change: Change::added(label.clone(), Value::Object(fields)),
            };
            let mut step_ctx = StepCtx { run: s.clone(), step: "sf::create".into(), changes: Vec::new() };
            match s.block_on(step_ctx.write(write)) {
                Ok(Written::Done { id: Some(id) }) => {
                    timer.record(
                        &s,
                        "sf::create",
                        Outcome::Changed,
                        format!("created {label} ({id})"),
                        step_ctx.changes,
                        None,
                    );
                    Ok(id)
                }
                Ok(_) => {
                    timer.record(
                        &s,
                        "sf::create",
                        Outcome::Changed,
                        format!("would create {label}"),
                        step_ctx.changes,
                        None,
                    );
                    Ok(planned_id(sobject))
                }
                Err(failure) => Err(step_failed(&s, timer, "sf::create", failure, ctx.call_position())),
            }
        },
    );

    let s = shared.clone();
    module.set_native_fn(
        "update",
        move |ctx: NativeCallContext, sobject: &str, id: &str, fields: RhaiMap| -> Result<(), Box<EvalAltResult>> {
            let timer = Timer::start(&s);
            let wanted = object_of(&fields)?;
            if s.check_mode() && is_planned_id(id) {
                let changes: Vec<Change> = wanted
                    .iter()
                    .map(|(field, value)| {
                        Change::new(format!("{sobject} {id}"), Some(field), Value::Null, value.clone())
                    })
                    .collect();
                let summary = format!("would update the {sobject} check mode plans to create");
                timer.record(&s, "sf::update", Outcome::Changed, summary, changes, None);
                return Ok(());
            }
            let names: Vec<&str> = wanted.keys().map(String::as_str).collect();
            // Read first so that only differences are written and reported before → after.
            let current = match s.block_on(s.client.get(sobject, id, Some(&names))) {
                Ok(current) => current,
                Err(err) => return Err(sf_failed(&s, timer, "sf::update", err, ctx.call_position())),
            };
            let mut diff = Map::new();
            let mut changes = Vec::new();
            for (field, value) in &wanted {
                let before = current.get(field).cloned().unwrap_or(Value::Null);
                if !same_value(&before, value) {
                    changes.push(Change::new(format!("{sobject} {id}"), Some(field), before, value.clone()));
                    diff.insert(field.clone(), value.clone());
                }
            }
            if diff.is_empty() {
                timer.record(
                    &s,
                    "sf::update",
                    Outcome::Ok,
                    format!("{sobject} {id} already as wanted"),
                    Vec::new(),
                    None,
                );
                return Ok(());
            }
            let write = Write::Update { sobject: sobject.to_string(), id: id.to_string(), fields: diff, changes };
            let mut step_ctx = StepCtx { run: s.clone(), step: "sf::update".into(), changes: Vec::new() };
            match s.block_on(step_ctx.write(write)) {
                Ok(written) => {
                    let verb = if written == Written::Planned { "would update" } else { "updated" };
                    let fields: Vec<String> = step_ctx.changes.iter().filter_map(|c| c.field.clone()).collect();
                    let summary = format!("{verb} {sobject} {id}: {}", fields.join(", "));
                    timer.record(&s, "sf::update", Outcome::Changed, summary, step_ctx.changes, None);
                    Ok(())
                }
                Err(failure) => Err(step_failed(&s, timer, "sf::update", failure, ctx.call_position())),
            }
        },
    );

    let s = shared.clone();
    module.set_native_fn(
        "delete",
        move |ctx: NativeCallContext, sobject: &str, id: &str| -> Result<(), Box<EvalAltResult>> {
            let timer = Timer::start(&s);
            let change = Change::removed(format!("{sobject} {id}"), "present");
            let write = Write::Delete { sobject: sobject.to_string(), id: id.to_string(), change };
            let mut step_ctx = StepCtx { run: s.clone(), step: "sf::delete".into(), changes: Vec::new() };
            match s.block_on(step_ctx.write(write)) {
                Ok(written) => {
                    let verb = if written == Written::Planned { "would delete" } else { "deleted" };
                    timer.record(
                        &s,
                        "sf::delete",
                        Outcome::Changed,
                        format!("{verb} {sobject} {id}"),
                        step_ctx.changes,
                        None,
                    );
                    Ok(())
                }
                Err(failure) if failure.sf_error.as_ref().is_some_and(|e| e.error_code == "ENTITY_IS_DELETED") => {
                    timer.record(
                        &s,
                        "sf::delete",
                        Outcome::Ok,
                        format!("{sobject} {id} already deleted"),
                        Vec::new(),
                        None,
                    );
                    Ok(())
                }
                Err(failure) => Err(step_failed(&s, timer, "sf::delete", failure, ctx.call_position())),
            }
        },
    );

    module
}

/// What `sf::create` answers in check mode instead of an id.
fn planned_id(sobject: &str) -> String {
    format!("(planned {sobject})")
}

/// A record check mode only planned: later calls on it are planned too, not read.
fn is_planned_id(id: &str) -> bool {
    id.starts_with("(planned ")
}

/// Names of the functions in the `sf` module, for `runner check`.
pub const SF_FUNCTIONS: &[&str] = &["query", "get", "create", "update", "delete"];

fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

fn record_label(sobject: &str, fields: &Map<String, Value>) -> String {
    let key =
        ["Name", "Username", "DeveloperName", "LastName"].iter().find_map(|k| fields.get(*k).and_then(Value::as_str));
    match key {
        Some(key) => format!("{sobject} {key}"),
        None => format!("{sobject} (new)"),
    }
}

fn same_value(current: &Value, wanted: &Value) -> bool {
    match (current, wanted) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

fn object_of(fields: &RhaiMap) -> Result<Map<String, Value>, Box<EvalAltResult>> {
    match from_dynamic(&Dynamic::from_map(fields.clone()))? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn sf_failed(shared: &RunShared, timer: Timer, name: &str, err: ClientError, at: Position) -> Box<EvalAltResult> {
    step_failed(shared, timer, name, StepFailure::from(err), at)
}

fn step_failed(shared: &RunShared, timer: Timer, name: &str, failure: StepFailure, at: Position) -> Box<EvalAltResult> {
    timer.record(shared, name, Outcome::Failed, failure.message.clone(), Vec::new(), Some(failure.info()));
    if let Some(plan) = &shared.plan {
        // `sf` calls return typed values a later pass could not stand in for, so
        // planning ends at the first one that fails.
        plan.throwing(usize::MAX, name, &failure);
    }
    failure_to_rhai(name, &failure, at)
}

/// Registers the run's functions: every native step, `step(name, fn)` and the `sf` module.
pub(crate) fn register_run_functions(engine: &mut rhai::Engine, registry: &Registry, shared: &Arc<RunShared>) {
    for step in registry.iter() {
        let name = step.meta().name;
        let (s, st) = (shared.clone(), step.clone());
        engine.register_fn(name, move |ctx: NativeCallContext, args: Dynamic| {
            call_step(&s, &st, args, ctx.call_position())
        });
        let (s, st) = (shared.clone(), step.clone());
        engine.register_fn(name, move |ctx: NativeCallContext| call_step(&s, &st, Dynamic::UNIT, ctx.call_position()));
    }
    let s = shared.clone();
    engine
        .register_fn("step", move |ctx: NativeCallContext, name: &str, body: FnPtr| call_group(&s, &ctx, name, &body));
    let s = shared.clone();
    engine
        .register_fn("with_check_mode", move |ctx: NativeCallContext, body: FnPtr| call_in_check_mode(&s, &ctx, &body));
    engine.register_static_module("sf", sf_module(shared).into());
    let s = shared.clone();
    engine.on_print(move |text| s.print(text));
    let s = shared.clone();
    engine.on_debug(move |text, _, _| s.print(text));
}

/// Runs the observe pass and answers the reads it collected in one batch. Best effort:
/// whatever goes wrong here, the real run reads for itself.
fn read_ahead(playbook: &Playbook, registry: &Registry, shared: &Arc<RunShared>, vars: &IndexMap<String, String>) {
    let collector = Arc::new(crate::prefetch::Collector::default());
    let engine = playbook.engine_with(&shared.budget, |engine| {
        crate::prefetch::register_observe_functions(engine, registry, shared, &collector);
    });
    // The pass sees no real results, so it may stop early; what it collected still counts.
    let _ = playbook.run(&engine, &shared.budget, registry, &shared.facts, vars, shared.check_mode());
    let reads = collector.take();
    if reads.is_empty() {
        return;
    }
    let answers = shared.block_on(crate::prefetch::answer(&shared.client, reads));
    shared.read_ahead.fill(answers);
}

impl RunShared {
    fn new(
        client: SfClient,
        facts: OrgFacts,
        options: &RunOptions,
        read_ahead: Arc<crate::prefetch::ReadAhead>,
    ) -> Self {
        RunShared {
            client,
            facts,
            check_mode: options.check_mode,
            forced_check: std::sync::atomic::AtomicUsize::new(0),
            planned: Mutex::new(HashSet::new()),
            read_ahead,
            plan: None,
            journal: options.journal.clone(),
            observer: options.observer.clone(),
            records: Mutex::new(Vec::new()),
            groups: Mutex::new(Vec::new()),
            runtime: tokio::runtime::Handle::current(),
            budget: crate::sandbox::Budget::new(options.limits),
            interrupt: options.interrupt.clone(),
        }
    }

    /// A silent check-mode copy for a planning pass: no journal, no output, the same
    /// read-ahead answers.
    fn planning_pass(&self, found: &[Finding]) -> RunShared {
        RunShared {
            client: self.client.clone(),
            facts: self.facts.clone(),
            check_mode: true,
            forced_check: std::sync::atomic::AtomicUsize::new(0),
            planned: Mutex::new(HashSet::new()),
            read_ahead: self.read_ahead.clone(),
            plan: Some(PlanPass::new(found, !self.check_mode)),
            journal: None,
            observer: None,
            records: Mutex::new(Vec::new()),
            groups: Mutex::new(Vec::new()),
            runtime: self.runtime.clone(),
            budget: self.budget.clone(),
            interrupt: self.interrupt.clone(),
        }
    }
}

/// Plans the run (see [`crate::plan`]): every failure the reads foresee, uncaught by the
/// playbook, before anything is written.
fn plan(playbook: &Playbook, registry: &Registry, shared: &RunShared, vars: &IndexMap<String, String>) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    for _ in 0..crate::plan::MAX_PASSES {
        let pass = Arc::new(shared.planning_pass(&found));
        let engine = playbook.engine_for_run(registry, &pass);
        let ended = playbook.run(&engine, &pass.budget, registry, &pass.facts, vars, true);
        let thrown = pass.plan.as_ref().and_then(PlanPass::take_thrown);
        let Err(err) = ended else { return found };
        // The pass ended on the failure a step threw: a finding. Anything else is the
        // playbook's own error, which the run meets before its first write as well.
        let Some(mut finding) =
            thrown.filter(|f| f.failure.code == err.code && err.message.ends_with(&f.failure.message))
        else {
            return found;
        };
        finding.error = Some(err);
        let last = finding.call == usize::MAX;
        found.push(finding);
        if last {
            return found;
        }
    }
    found
}

/// The error of a run that planning stopped. One finding is reported as the failure it
/// is, at its line, so that its code stays the step's own; several are listed in one.
fn plan_error(findings: &[Finding], check_mode: bool) -> PlaybookError {
    let written = if check_mode { "" } else { "nothing was written: " };
    if let [finding] = findings
        && let Some(error) = &finding.error
    {
        let mut error = error.clone();
        let note = format!("{written}planning found this before the run's first write; fix it and run again");
        error.help = Some(match error.help.take() {
            Some(help) => format!("{help}\n{note}"),
            None => note,
        });
        return error;
    }
    let mut message = format!("{written}this playbook cannot finish in this org: {} problems found", findings.len());
    for finding in findings {
        let at = finding.location().map(|l| format!(" ({l})")).unwrap_or_default();
        message.push_str(&format!("\n  - {}{at}", finding.failure.message));
        if let Some(hint) = &finding.failure.hint {
            message.push_str(&format!("\n    hint: {hint}"));
        }
    }
    let mut error = PlaybookError::plain("runner::plan::cannot_finish", message);
    error.help =
        Some("fix these, then run the playbook again: it reads the org again and picks up where it stands".into());
    error
}

/// Runs a compiled playbook against one org and reports what happened.
pub async fn run_playbook(
    playbook: Arc<Playbook>,
    registry: Registry,
    client: SfClient,
    facts: OrgFacts,
    options: RunOptions,
) -> OrgReport {
    let started = Instant::now();
    let shared = Arc::new(RunShared::new(client.clone(), facts.clone(), &options, Arc::default()));
    let task_shared = shared.clone();
    let vars = options.vars.clone();
    let joined = tokio::task::spawn_blocking(move || {
        if let Err(stopped) = task_shared.interrupt.check() {
            return Err(PlaybookError::plain(&stopped.code, stopped.message));
        }
        read_ahead(&playbook, &registry, &task_shared, &vars);
        let findings = plan(&playbook, &registry, &task_shared, &vars);
        if !findings.is_empty() {
            for finding in &findings {
                let mut info = finding.failure.info();
                info.location = finding.location();
                task_shared.record(StepRecord {
                    name: finding.step.clone(),
                    outcome: Outcome::Failed,
                    summary: finding.failure.message.clone(),
                    changes: Vec::new(),
                    warnings: Vec::new(),
                    api_calls: 0,
                    duration_ms: 0,
                    error: Some(info),
                });
            }
            return Err(plan_error(&findings, task_shared.check_mode));
        }
        let engine = playbook.engine_for_run(&registry, &task_shared);
        playbook.run(&engine, &task_shared.budget, &registry, &task_shared.facts, &vars, task_shared.check_mode)
    })
    .await;
    let outcome: Result<(), PlaybookError> = match joined {
        Ok(result) => result,
        Err(join) => Err(PlaybookError::internal(format!("the playbook thread stopped: {join}"))),
    };

    let steps = shared.records.lock().map(|r| r.clone()).unwrap_or_default();
    let mut recap = Recap::default();
    for step in &steps {
        recap.count(step.outcome);
    }
    recap.api_calls = client.api_calls();
    recap.duration_ms = started.elapsed().as_millis() as u64;
    recap.api_usage = client.api_usage().map(|u| ApiUsageReport { used: u.used, limit: u.limit });
    let (failure, error, diagnostic) = match outcome {
        Ok(()) => (None, None, None),
        Err(err) => {
            let mut info = err.info();
            redact_failure_info(&mut info);
            (Some(OrgFailure::Playbook), Some(info), Some(Arc::new(err)))
        }
    };
    OrgReport {
        target: facts.target.clone(),
        org_id: Some(facts.org_id.clone()),
        steps,
        recap,
        failure,
        error,
        diagnostic,
    }
}

/// The report of an org that could not be reached: nothing ran.
pub fn connect_failure_report(target: &str, mut failure: FailureInfo, duration_ms: u64) -> OrgReport {
    redact_failure_info(&mut failure);
    OrgReport {
        target: target.to_string(),
        org_id: None,
        steps: Vec::new(),
        recap: Recap { failed: 0, duration_ms, ..Recap::default() },
        failure: Some(OrgFailure::Connect),
        error: Some(failure),
        diagnostic: None,
    }
}
