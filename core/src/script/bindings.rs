//! The functions a playbook calls: the native steps, `step`, `with_check_mode`, the `sf`
//! module and `print`, registered for a run, and for the observe pass that only
//! collects the reads.

use crate::schema::WriteKind;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rhai::{Dynamic, EvalAltResult, FnPtr, Map as RhaiMap, NativeCallContext, Position};
use serde_json::{Map, Value};

use crate::client::ClientError;
use crate::diagnostic::plain_message;
use crate::failure::StepFailure;
use crate::plan::PlanPass;
use crate::read::Read;
use crate::report::{Change, FailureInfo, Outcome, StepRecord};
use crate::session::{Group, RunShared, redact_change};
use crate::step::{DynStep, Registry, StepCtx};
use crate::write::{Write, Written};
use indexmap::IndexMap;

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
    let mut ctx = StepCtx::new(shared.clone(), name);
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
            // Its writes went in an earlier step's request: the line says so, or its "0 API
            // calls" would read as nothing sent.
            let summary = match ctx.sent_with.as_slice() {
                [] => output.summary,
                by => format!("{} (sent ahead with {}'s request)", output.summary, by.join(", ")),
            };
            timer.record_warned(shared, name, outcome, summary, ctx.changes, None, output.warnings);
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
            let would_change = shared.check_mode() && any_changed;
            let summary = match value.clone().into_string().ok() {
                // The closure's text says what the step did; in check mode it did nothing, so the line says
                // what it would do, and keeps the text as what a run does.
                Some(text) if would_change && !text.starts_with("would") => {
                    format!("would make {} change(s); when run: {text}", changes.len())
                }
                Some(text) => text,
                None if would_change => format!("would make {} change(s)", changes.len()),
                None if any_changed => format!("{} change(s)", changes.len()),
                None => "nothing to change".to_string(),
            };
            timer.record(shared, name, outcome, summary, changes, None);
        }
        // `exit()` inside the step ends the playbook there; the step itself did not fail.
        Err(err) if matches!(**err, EvalAltResult::Exit(..)) => {
            let outcome = if any_changed { Outcome::Changed } else { Outcome::Ok };
            timer.record(shared, name, outcome, "the playbook ended here (exit)".into(), changes, None);
        }
        Err(err) => {
            // A native step's failure inside keeps its code; so does what the closure threw with a code of
            // its own, so that JSON and JUnit name `acme::no_settings`, not only that a step failed.
            let info = inner_failure.unwrap_or_else(|| match crate::diagnostic::thrown(err) {
                Some(thrown) => FailureInfo {
                    code: thrown.code,
                    message: thrown.message,
                    error_code: thrown.error_code,
                    fields: Vec::new(),
                    hint: thrown.hint,
                    location: None,
                },
                None => FailureInfo {
                    code: "runner::playbook::step_failed".into(),
                    message: plain_message(err),
                    error_code: None,
                    fields: Vec::new(),
                    hint: None,
                    location: None,
                },
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

/// Which pass the playbook's functions serve.
#[derive(Clone)]
pub(crate) enum Mode {
    /// A run, or a planning pass: calls reach the org (writes only outside check mode).
    Run,
    /// The observe pass: calls only name the reads they would make; nothing is sent.
    Observe(Arc<Collector>),
}

/// A playbook function as `runner steps` documents it.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDoc {
    pub name: &'static str,
    pub signature: &'static str,
    pub summary: &'static str,
}

/// A function of the `sf` module: its documentation, and how it registers itself for a mode.
type SfBinding = (FunctionDoc, fn(&mut rhai::Module, &'static str, &Arc<RunShared>, &Mode));

const fn doc(name: &'static str, signature: &'static str, summary: &'static str) -> FunctionDoc {
    FunctionDoc { name, signature, summary }
}

/// The `sf` module, each function defined once for both passes: adding one is adding a
/// line here and its function below.
const SF: &[SfBinding] = &[
    (doc("query", "sf::query(soql)", "the rows of a SOQL query, every page of them"), sf_query),
    (doc("get", "sf::get(type, id)", "one record by id"), sf_get),
    (
        doc(
            "create",
            "sf::create(type, fields)",
            "create a record (in check mode, only shown, its fields checked against the describe)",
        ),
        sf_create,
    ),
    (
        doc(
            "update",
            "sf::update(type, id, fields)",
            "update only the fields that differ (in check mode, only shown, its fields checked against the describe)",
        ),
        sf_update,
    ),
    (doc("delete", "sf::delete(type, id)", "delete a record (in check mode, only shown)"), sf_delete),
];

/// The names of the `sf` module's functions, for `runner check`.
pub(crate) fn sf_function_names() -> impl Iterator<Item = &'static str> {
    SF.iter().map(|(doc, _)| doc.name)
}

/// The functions a playbook may call besides the steps and the `sf` module.
const PLAYBOOK_FUNCTION_DOCS: &[FunctionDoc] = &[
    doc(
        "step",
        "step(name, || { … })",
        "a step of the playbook's own: one line in the recap, changed when anything inside changed; the closure's \
         string is its summary (in check mode, after `would make N change(s); when run:` unless it starts with \
         `would`); `throw #{ code: \"acme::…\", message: … }` fails it with that code",
    ),
    doc("with_check_mode", "with_check_mode(|| { … })", "run a block in check mode, whatever the run's mode"),
    doc(
        "drift",
        "drift(target, field, expected, actual)",
        "record that the org differs from what the playbook expects (exit 5)",
    ),
];

/// Their names, for `runner check`.
pub(crate) fn playbook_function_names() -> impl Iterator<Item = &'static str> {
    PLAYBOOK_FUNCTION_DOCS.iter().map(|doc| doc.name)
}

/// Every function a playbook may call besides the native steps: runner's own, then the
/// `sf` module's.
pub fn playbook_function_docs() -> impl Iterator<Item = FunctionDoc> {
    PLAYBOOK_FUNCTION_DOCS.iter().copied().chain(SF.iter().map(|(doc, _)| *doc))
}

fn sf_query(module: &mut rhai::Module, name: &'static str, shared: &Arc<RunShared>, mode: &Mode) {
    let (s, mode) = (shared.clone(), mode.clone());
    module.set_native_fn(name, move |ctx: NativeCallContext, soql: &str| -> Result<rhai::Array, Box<EvalAltResult>> {
        if let Mode::Observe(collector) = &mode {
            // A query an earlier round of the read-ahead answered gives its rows, so that the reads which depend
            // on them (the user StoreConnect is configured with, then that user's state) are found in this round.
            return match s.read_ahead.get(soql) {
                Some(Ok(answer)) => {
                    Ok(answer.records.into_iter().map(|r| to_dynamic(strip_attributes(Value::Object(r)))).collect())
                }
                Some(Err(refused)) => Err(failure_to_rhai("sf::query", &refused, ctx.call_position())),
                None => {
                    collector.add(Read::new("sf::query", soql));
                    Ok(rhai::Array::new())
                }
            };
        }
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
    });
}

fn sf_get(module: &mut rhai::Module, name: &'static str, shared: &Arc<RunShared>, mode: &Mode) {
    let (s, mode) = (shared.clone(), mode.clone());
    module.set_native_fn(
        name,
        move |ctx: NativeCallContext, sobject: &str, id: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            if let Mode::Observe(_) = &mode {
                return Ok(Dynamic::from_map(RhaiMap::new()));
            }
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
}

fn sf_create(module: &mut rhai::Module, name: &'static str, shared: &Arc<RunShared>, mode: &Mode) {
    let (s, mode) = (shared.clone(), mode.clone());
    module.set_native_fn(
        name,
        move |ctx: NativeCallContext, sobject: &str, fields: RhaiMap| -> Result<String, Box<EvalAltResult>> {
            if let Mode::Observe(_) = &mode {
                s.schema.want(sobject);
                return Ok(String::new());
            }
            let timer = Timer::start(&s);
            let fields = object_of(&fields)?;
            if let Err(failure) = check_fields(&s, "sf::create", sobject, &fields, WriteKind::Create) {
                return Err(step_failed(&s, timer, "sf::create", failure, ctx.call_position()));
            }
            let label = record_label(sobject, &fields);
            let write = Write::Create {
                sobject: sobject.to_string(),
                fields: fields.clone(),
                change: Change::added(label.clone(), Value::Object(fields)),
            };
            let mut step_ctx = StepCtx::new(s.clone(), "sf::create");
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
}

fn sf_update(module: &mut rhai::Module, name: &'static str, shared: &Arc<RunShared>, mode: &Mode) {
    let (s, mode) = (shared.clone(), mode.clone());
    module.set_native_fn(
        name,
        move |ctx: NativeCallContext, sobject: &str, id: &str, fields: RhaiMap| -> Result<(), Box<EvalAltResult>> {
            if let Mode::Observe(_) = &mode {
                s.schema.want(sobject);
                return Ok(());
            }
            let timer = Timer::start(&s);
            let wanted = object_of(&fields)?;
            if let Err(failure) = check_fields(&s, "sf::update", sobject, &wanted, WriteKind::Update) {
                return Err(step_failed(&s, timer, "sf::update", failure, ctx.call_position()));
            }
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
            let mut step_ctx = StepCtx::new(s.clone(), "sf::update");
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
}

fn sf_delete(module: &mut rhai::Module, name: &'static str, shared: &Arc<RunShared>, mode: &Mode) {
    let (s, mode) = (shared.clone(), mode.clone());
    module.set_native_fn(
        name,
        move |ctx: NativeCallContext, sobject: &str, id: &str| -> Result<(), Box<EvalAltResult>> {
            if let Mode::Observe(_) = &mode {
                return Ok(());
            }
            let timer = Timer::start(&s);
            let change = Change::removed(format!("{sobject} {id}"), "present");
            let write = Write::Delete { sobject: sobject.to_string(), id: id.to_string(), change };
            let mut step_ctx = StepCtx::new(s.clone(), "sf::delete");
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
}

/// In check mode (and when planning a run), refuses a write that the object's describe says Salesforce
/// would refuse; a run sends it and lets Salesforce say.
fn check_fields(
    s: &RunShared,
    step: &str,
    sobject: &str,
    fields: &Map<String, Value>,
    kind: WriteKind,
) -> Result<(), StepFailure> {
    if !s.check_mode() {
        return Ok(());
    }
    s.block_on(s.schema.check_write(&s.client, step, sobject, fields, kind, s.planning_writes()))
}

/// What `sf::create` answers in check mode instead of an id.
fn planned_id(sobject: &str) -> String {
    format!("(planned {sobject})")
}

/// A record check mode only planned: later calls on it are planned too, not read.
fn is_planned_id(id: &str) -> bool {
    id.starts_with("(planned ")
}

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

/// Registers the playbook's functions for `mode`: every native step, `step(name, fn)`,
/// `with_check_mode(fn)`, `drift(…)`, the `sf` module and `print`.
pub(crate) fn register(engine: &mut rhai::Engine, registry: &Registry, shared: &Arc<RunShared>, mode: Mode) {
    for step in registry.iter() {
        let name = step.meta().name;
        let (s, st, m) = (shared.clone(), step.clone(), mode.clone());
        engine.register_fn(name, move |ctx: NativeCallContext, args: Dynamic| match &m {
            Mode::Run => call_step(&s, &st, args, ctx.call_position()),
            Mode::Observe(collector) => Ok(observe_step(&s, &st, &args, collector)),
        });
        let (s, st, m) = (shared.clone(), step.clone(), mode.clone());
        engine.register_fn(name, move |ctx: NativeCallContext| match &m {
            Mode::Run => call_step(&s, &st, Dynamic::UNIT, ctx.call_position()),
            Mode::Observe(_) => Ok(Dynamic::from_map(RhaiMap::new())),
        });
    }
    let (s, m) = (shared.clone(), mode.clone());
    engine.register_fn("step", move |ctx: NativeCallContext, name: &str, body: FnPtr| match &m {
        Mode::Run => call_group(&s, &ctx, name, &body),
        Mode::Observe(_) => Ok(body.call_within_context::<Dynamic>(&ctx, ()).unwrap_or(Dynamic::UNIT)),
    });
    let (s, m) = (shared.clone(), mode.clone());
    engine.register_fn("with_check_mode", move |ctx: NativeCallContext, body: FnPtr| match &m {
        Mode::Run => call_in_check_mode(&s, &ctx, &body),
        Mode::Observe(_) => Ok(body.call_within_context::<Dynamic>(&ctx, ()).unwrap_or(Dynamic::UNIT)),
    });
    // `drift(target, field, expected, actual)`: the one way a playbook reports that the org differs from what it
    // expects, collected into the org's report (and the exit code) instead of parsed out of a message. The observe
    // pass cannot know any; a planning pass records into its own copy of the run, which is dropped.
    let (s, m) = (shared.clone(), mode.clone());
    engine.register_fn(
        "drift",
        move |target: &str, field: &str, expected: Dynamic, actual: Dynamic| -> Result<(), Box<EvalAltResult>> {
            if let Mode::Run = &m {
                s.record_drift(target, field, from_dynamic(&expected)?, from_dynamic(&actual)?);
            }
            Ok(())
        },
    );
    let mut module = rhai::Module::new();
    for (doc, bind) in SF {
        bind(&mut module, doc.name, shared, &mode);
    }
    engine.register_static_module("sf", module.into());
    if let Mode::Run = mode {
        let s = shared.clone();
        engine.on_print(move |text| s.print(text));
        let s = shared.clone();
        engine.on_debug(move |text, _, _| s.print(text));
    } else {
        engine.on_print(|_| {});
        engine.on_debug(|_, _, _| {});
    }
}

/// A native step in the observe pass: the reads it would make with these arguments.
fn observe_step(shared: &Arc<RunShared>, step: &Arc<dyn DynStep>, args: &Dynamic, collector: &Collector) -> Dynamic {
    if let Ok(json) = rhai::serde::from_dynamic::<Value>(args) {
        let ctx = StepCtx::new(shared.clone(), step.meta().name);
        for read in step.reads(json, &ctx) {
            collector.add(read);
        }
    }
    Dynamic::from_map(RhaiMap::new())
}

/// The reads an observe pass collected, in first-seen order, by their read-ahead key.
#[derive(Default)]
pub(crate) struct Collector {
    reads: Mutex<IndexMap<String, Read>>,
}

impl Collector {
    /// In the order of the last call that asks for each read, so that the reads the later
    /// steps still want come last (see [`crate::read::ReadAhead::refill`]).
    fn add(&self, read: Read) {
        if let Ok(mut reads) = self.reads.lock() {
            let key = read.key();
            let read = reads.shift_remove(&key).unwrap_or(read);
            reads.insert(key, read);
        }
    }

    pub(crate) fn take(&self) -> Vec<Read> {
        self.reads.lock().map(|mut r| r.drain(..).map(|(_, read)| read).collect()).unwrap_or_default()
    }
}
