//! One playbook run against one org.
//!
//! The playbook runs on a blocking thread (Rhai is synchronous); native steps and `sf`
//! calls block on the async client there. Everything a run does is recorded as
//! [`StepRecord`]s, reported live through a [`RunObserver`] and journaled.

use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;

use crate::client::SfClient;
pub use crate::client::soql::{soql_escape, soql_quote};
use crate::facts::OrgFacts;
use crate::plan::{Finding, PlanPass};
use crate::playbook::{Playbook, PlaybookError};
use crate::report::{ApiUsageReport, FailureInfo, OrgFailure, OrgReport, Outcome, Recap, StepRecord};
use crate::script::bindings::{self, Collector, Mode};
use crate::session::RunShared;
pub use crate::session::{RunObserver, RunOptions, redact_change, redact_failure_info, redact_record};
use crate::step::Registry;
pub use crate::write::is_rollback_echo;

/// How many observe passes the read-ahead makes at most: each round sees the answers of the rounds before it, so
/// a playbook that reads who to look at before reading about them (audit.rhai: StoreConnect's configured user, then
/// that user's licence, sets and authenticator) has both read ahead, in one batch each.
const READ_AHEAD_ROUNDS: usize = 3;

/// Runs the observe pass and answers the reads it collected in one batch, again while a
/// pass finds reads the earlier ones did not. Best effort: whatever goes wrong here, the
/// real run reads for itself.
fn read_ahead(
    playbook: &Playbook,
    registry: &Registry,
    shared: &Arc<RunShared>,
    vars: &IndexMap<String, String>,
) -> Result<(), PlaybookError> {
    let mut stopped_early = None;
    for _ in 0..READ_AHEAD_ROUNDS {
        let collector = Arc::new(Collector::default());
        let engine = playbook.engine_with(&shared.budget, |engine| {
            bindings::register(engine, registry, shared, Mode::Observe(collector.clone()))
        });
        // The pass sees no results of steps (and no rows of queries not answered yet), so it may stop early on
        // what it cannot know; what it collected still counts. A limit, the deadline or an interrupt are not
        // that: they stop the run.
        stopped_early = None;
        if let Err(stopped) = playbook.run(&engine, &shared.budget, registry, &shared.facts, vars, shared.check_mode())
        {
            if matches!(stopped.code.as_str(), "runner::playbook::limit" | "runner::playbook::timeout")
                || stopped.code == crate::interrupt::CODE
            {
                return Err(stopped);
            }
            stopped_early = Some(stopped);
        }
        // Only what no earlier round answered: a pass that finds nothing new ends the read-ahead.
        let collected = collector.take();
        shared.read_ahead.expect(&collected);
        let mut reads: Vec<_> = collected.into_iter().filter(|r| !shared.read_ahead.has(r)).collect();
        // The running user's row goes with the first batch rather than on a round trip of its own.
        if let Some(soql) = shared.facts.running_user_soql()
            && shared.read_ahead.get(&soql).is_none()
            && !reads.iter().any(|r| r.key() == soql)
        {
            reads.push(crate::read::Read::new("running_user", soql));
        }
        if reads.is_empty() {
            break;
        }
        // The describes check mode's sf::create/sf::update checks need go beside the batch.
        let (mut answered, ()) = shared.block_on(async {
            tokio::join!(crate::read::answer(&shared.client, reads), shared.schema.prefetch(&shared.client))
        });
        shared.read_ahead.fill(std::mem::take(&mut answered.queries));
        shared.read_ahead.fill_profiles(&mut answered);
        if let Some(why) = answered.unanswered {
            // The org is not answering batches now: another round would only cost more.
            shared.note(format!("read-ahead: {why}; the steps read for themselves"));
            break;
        }
    }
    if let Some(stopped) = stopped_early {
        let at = stopped.location.as_ref().map(|l| format!(" at {l}")).unwrap_or_default();
        shared.note(format!(
            "read-ahead: the observe pass stopped early{at} ({}); the reads after it are sent when they come",
            stopped.message
        ));
    }
    Ok(())
}

/// The run's shared state with the running user's row in its facts: from the read-ahead
/// when it took the row along, else read now. A row that cannot be read leaves
/// `userinfo`'s settings, with a note: the steps meet the org's refusal themselves.
fn complete_facts(shared: &Arc<RunShared>) -> Arc<RunShared> {
    let Some(soql) = shared.facts.running_user_soql() else { return shared.clone() };
    let mut facts = shared.facts.clone();
    match shared.read_ahead.get(&soql) {
        Some(Ok(result)) => facts.complete(&result.records.into_iter().next().unwrap_or_default()),
        _ => {
            if let Err(err) = shared.block_on(facts.complete_from(&shared.client)) {
                shared.note(format!("the running user's settings were not read ({err}); userinfo's are used"));
                facts.running_user_read = true;
            }
        }
    }
    Arc::new(shared.with_facts(facts))
}

/// Plans the run (see [`crate::plan`]): every failure the reads foresee, uncaught by the
/// playbook, before anything is written.
/// A plan that finds nothing also gives the writes the run will ask for, in order (see
/// [`crate::ahead`]).
fn plan(playbook: &Playbook, registry: &Registry, shared: &RunShared, vars: &IndexMap<String, String>) -> Vec<Finding> {
    let mut found: Vec<Finding> = Vec::new();
    for _ in 0..crate::plan::MAX_PASSES {
        let pass = Arc::new(shared.planning_pass(&found));
        let engine = playbook.engine_with(&pass.budget, |e| bindings::register(e, registry, &pass, Mode::Run));
        let ended = playbook.run(&engine, &pass.budget, registry, &pass.facts, vars, true);
        let thrown = pass.plan.as_ref().and_then(PlanPass::take_thrown);
        let Err(err) = ended else {
            if found.is_empty()
                && let Some(plan) = &pass.plan
            {
                shared.ahead.set_plan(plan.take_writes());
            }
            return found;
        };
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

/// Plans the run, then runs it when planning found nothing.
fn plan_and_run(
    playbook: &Playbook,
    registry: &Registry,
    task_shared: &Arc<RunShared>,
    vars: &IndexMap<String, String>,
) -> Result<(), PlaybookError> {
    let findings = plan(playbook, registry, task_shared, vars);
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
    let engine = playbook.engine_with(&task_shared.budget, |e| bindings::register(e, registry, task_shared, Mode::Run));
    let ended = playbook.run(&engine, &task_shared.budget, registry, &task_shared.facts, vars, task_shared.check_mode);
    for (step, changes) in task_shared.ahead.unclaimed() {
        let what: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
        task_shared.note(format!("written ahead for {step}, which did not ask for it (the run stopped before it, or it found the org changed): {}", what.join("; ")));
    }
    ended
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
            return (task_shared, Err(PlaybookError::plain(&stopped.code, stopped.message)));
        }
        if let Err(stopped) = read_ahead(&playbook, &registry, &task_shared, &vars) {
            return (task_shared, Err(stopped));
        }
        let task_shared = complete_facts(&task_shared);
        let ended = plan_and_run(&playbook, &registry, &task_shared, &vars);
        (task_shared, ended)
    })
    .await;
    let (shared, outcome): (Arc<RunShared>, Result<(), PlaybookError>) = match joined {
        Ok(result) => result,
        Err(join) => (shared, Err(PlaybookError::internal(format!("the playbook thread stopped: {join}")))),
    };

    let steps = shared.records.lock().map(|r| r.clone()).unwrap_or_default();
    let notes = shared.notes.lock().map(|n| n.clone()).unwrap_or_default();
    let drift = shared.drift.lock().map(|d| d.clone()).unwrap_or_default();
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
            let mut info = FailureInfo::from(&err);
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
        notes,
        drift,
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
        notes: Vec::new(),
        drift: Vec::new(),
    }
}
