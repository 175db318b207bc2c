//! One playbook run against one org.
//!
//! The playbook runs on a blocking thread (Rhai is synchronous); native steps and `sf`
//! calls block on the async client there. Everything a run does is recorded as
//! [`StepRecord`]s, reported live through a [`RunObserver`] and journaled.

use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;

pub use crate::client::soql::{soql_escape, soql_quote};
use crate::client::{ClientError, SfClient};
use crate::facts::OrgFacts;
use crate::plan::{Finding, PlanPass};
use crate::playbook::{Playbook, PlaybookError};
use crate::read::Read;
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

/// One observe pass: the reads it collected that no earlier round answered, and where the
/// pass stopped short, if it did.
struct Round {
    reads: Vec<Read>,
    stopped_early: Option<PlaybookError>,
}

/// Runs the observe pass once. It sees no results of steps (and no rows of queries not
/// answered yet), so it may stop early on what it cannot know; what it collected still
/// counts. A limit, the deadline or an interrupt are not that: they stop the run.
fn observe_round(
    playbook: &Playbook,
    registry: &Registry,
    shared: &Arc<RunShared>,
    vars: &IndexMap<String, String>,
) -> Result<Round, PlaybookError> {
    let collector = Arc::new(Collector::default());
    let engine = playbook.engine_with(&shared.budget, |engine| {
        bindings::register(engine, registry, shared, Mode::Observe(collector.clone()))
    });
    let mut stopped_early = None;
    if let Err(stopped) = playbook.run(&engine, &shared.budget, registry, &shared.facts, vars, shared.check_mode()) {
        if matches!(stopped.code.as_str(), "runner::playbook::limit" | "runner::playbook::timeout")
            || stopped.code == crate::interrupt::CODE
        {
            return Err(stopped);
        }
        stopped_early = Some(stopped);
    }
    let collected = collector.take();
    shared.read_ahead.expect(&collected);
    let reads = collected.into_iter().filter(|r| !shared.read_ahead.has(r)).collect();
    Ok(Round { reads, stopped_early })
}

/// Answers one round's reads in one round trip, and beside them the describes check
/// mode's sf::create/sf::update checks need. False when the org is not answering
/// batches now: another round would only cost more.
async fn answer_round(shared: &RunShared, reads: Vec<Read>) -> bool {
    let (mut answered, ()) =
        tokio::join!(crate::read::answer(&shared.client, reads), shared.schema.prefetch(&shared.client));
    shared.read_ahead.fill(std::mem::take(&mut answered.queries));
    shared.read_ahead.fill_profiles(&mut answered);
    if let Some(why) = answered.unanswered {
        shared.note(format!("read-ahead: {why}; the steps read for themselves"));
        return false;
    }
    true
}

/// The read-ahead's first round, made while connecting (see [`connect_and_run`]).
struct FirstRound {
    stopped_early: Option<PlaybookError>,
    /// False when the org did not answer its batch.
    more: bool,
}

/// Runs the observe pass and answers the reads it collected in one batch, again while a
/// pass finds reads the earlier ones did not. Best effort: whatever goes wrong here, the
/// real run reads for itself. The `first` round was made with provisional facts, so the
/// next pass always runs, with the real ones, even when the first found nothing: what
/// they change of the reads is sent then.
fn read_ahead(
    playbook: &Playbook,
    registry: &Registry,
    shared: &Arc<RunShared>,
    vars: &IndexMap<String, String>,
    first: FirstRound,
) -> Result<(), PlaybookError> {
    let mut stopped_early = first.stopped_early;
    let mut rounds = if first.more { 1 } else { READ_AHEAD_ROUNDS };
    while rounds < READ_AHEAD_ROUNDS {
        if rounds == 1 {
            // What the playbook will read is what it reads with the real facts.
            shared.read_ahead.forget_expected();
        }
        rounds += 1;
        let round = observe_round(playbook, registry, shared, vars)?;
        stopped_early = round.stopped_early;
        // A pass that finds nothing new ends the read-ahead.
        if round.reads.is_empty() || !shared.block_on(answer_round(shared, round.reads)) {
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

/// Connects and runs a compiled playbook against one org: the org's facts
/// ([`OrgFacts::read`]: `userinfo` and the Organization) and the read-ahead's first round
/// go out at once, the round's observe pass run with [`OrgFacts::provisional`] facts (no
/// step's reads need the org's answers). The rounds after it run with the real facts and
/// send only what no earlier round answered, so what the provisional facts got wrong
/// costs a round, never a wrong answer. When the facts cannot be read, the org is one
/// that could not be reached, as before, and what the round read is dropped unused.
pub async fn connect_and_run(
    playbook: Arc<Playbook>,
    registry: Registry,
    client: SfClient,
    target: &str,
    simulated: bool,
    options: RunOptions,
) -> Result<(OrgFacts, OrgReport), ClientError> {
    let started = Instant::now();
    let provisional = OrgFacts::provisional(&client, target, simulated);
    let speculative = Arc::new(RunShared::new(client.clone(), provisional, &options, Arc::default()));
    let first_round = async {
        let (p, r, s, v) = (playbook.clone(), registry.clone(), speculative.clone(), options.vars.clone());
        let observed = tokio::task::spawn_blocking(move || {
            s.interrupt.check().map_err(|stopped| PlaybookError::plain(&stopped.code, stopped.message))?;
            observe_round(&p, &r, &s, &v)
        })
        .await
        .unwrap_or_else(|join| Err(PlaybookError::internal(format!("the playbook thread stopped: {join}"))));
        let round = observed?;
        // Even with no reads: the describes check mode's field checks need go with connecting.
        let more = answer_round(&speculative, round.reads).await;
        Ok(FirstRound { stopped_early: round.stopped_early, more })
    };
    // A facts read that fails ends the join at once, and the round's requests with it.
    let (facts, first) = tokio::try_join!(OrgFacts::read(&client, target, simulated), async {
        Ok::<_, ClientError>(first_round.await)
    })?;
    let shared = Arc::new(speculative.with_facts(facts.clone()));
    let report = run_shared(playbook, registry, client, shared, options.vars, first, started).await;
    Ok((facts, report))
}

/// The read-ahead after its `first` round, planning and the run.
async fn run_shared(
    playbook: Arc<Playbook>,
    registry: Registry,
    client: SfClient,
    shared: Arc<RunShared>,
    vars: IndexMap<String, String>,
    first: Result<FirstRound, PlaybookError>,
    started: Instant,
) -> OrgReport {
    let facts = shared.facts.clone();
    let task_shared = shared.clone();
    let joined = tokio::task::spawn_blocking(move || {
        let first = match first {
            Ok(first) => first,
            Err(stopped) => return (task_shared, Err(stopped)),
        };
        if let Err(stopped) = read_ahead(&playbook, &registry, &task_shared, &vars, first) {
            return (task_shared, Err(stopped));
        }
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
