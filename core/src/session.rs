//! One org's run as the steps and playbook functions share it: the client and the
//! org's facts, check mode, what check mode plans, the read-ahead, the journal, the
//! records the run reports, and the budget and interrupt that bound it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use crate::client::SfClient;
use crate::facts::OrgFacts;
use crate::interrupt::Interrupt;
use crate::journal::Journal;
use crate::plan::{Finding, PlanPass};
use crate::report::{Change, Drift, FailureInfo, StepRecord};
use crate::write::JournalContext;

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
pub(crate) struct Group {
    pub(crate) records: Vec<StepRecord>,
}

/// State shared by the steps and `sf` calls of one org's run.
pub struct RunShared {
    pub(crate) client: SfClient,
    pub(crate) facts: OrgFacts,
    pub(crate) check_mode: bool,
    /// Depth of `with_check_mode(|| …)` blocks: inside one, nothing is written.
    pub(crate) forced_check: std::sync::atomic::AtomicUsize,
    pub(crate) planned: Mutex<HashSet<(String, String)>>,
    /// Answers read ahead for the whole playbook, until the first write; shared with
    /// the planning passes.
    pub(crate) read_ahead: Arc<crate::read::ReadAhead>,
    /// Describes for check mode's field checks; shared with the planning passes.
    pub(crate) schema: Arc<crate::schema::Schema>,
    /// Set on a planning pass.
    pub(crate) plan: Option<PlanPass>,
    /// What the run sends ahead of its steps, from the plan (see [`crate::ahead`]).
    pub(crate) ahead: Arc<crate::ahead::Ahead>,
    pub(crate) journal: Option<Arc<Journal>>,
    pub(crate) observer: Option<Arc<dyn RunObserver>>,
    pub(crate) records: Mutex<Vec<StepRecord>>,
    pub(crate) groups: Mutex<Vec<Group>>,
    /// See [`crate::report::OrgReport::notes`].
    pub(crate) notes: Mutex<Vec<String>>,
    /// What the playbook recorded with `drift(…)`; a planning pass keeps its own, which
    /// is dropped, so each drift is reported once, from the run.
    pub(crate) drift: Mutex<Vec<Drift>>,
    pub(crate) runtime: tokio::runtime::Handle,
    /// Shared by the observe pass, the planning passes and the run.
    pub(crate) budget: Arc<crate::sandbox::Budget>,
    pub(crate) interrupt: Interrupt,
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

    pub(crate) fn record(&self, record: StepRecord) {
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

    pub(crate) fn print(&self, text: &str) {
        if let Some(observer) = &self.observer {
            observer.on_print(&self.facts.target, &crate::redact::text(text));
        }
    }

    pub(crate) fn note(&self, note: String) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(crate::redact::text(&note).into_owned());
        }
    }

    /// Records one drift, redacted as a change is: the target's text, and the values of a
    /// secret-named field.
    pub(crate) fn record_drift(
        &self,
        target: &str,
        field: &str,
        expected: serde_json::Value,
        actual: serde_json::Value,
    ) {
        use crate::redact;
        let drift = Drift {
            org: self.facts.target.clone(),
            target: redact::text(target).into_owned(),
            field: redact::text(field).into_owned(),
            expected: redact::field(field, &expected),
            actual: redact::field(field, &actual),
        };
        if let Ok(mut all) = self.drift.lock() {
            all.push(drift);
        }
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
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

impl RunShared {
    pub(crate) fn new(
        client: SfClient,
        facts: OrgFacts,
        options: &RunOptions,
        read_ahead: Arc<crate::read::ReadAhead>,
    ) -> Self {
        RunShared {
            client,
            facts,
            check_mode: options.check_mode,
            forced_check: std::sync::atomic::AtomicUsize::new(0),
            planned: Mutex::new(HashSet::new()),
            read_ahead,
            schema: Arc::default(),
            plan: None,
            ahead: Arc::default(),
            journal: options.journal.clone(),
            observer: options.observer.clone(),
            records: Mutex::new(Vec::new()),
            groups: Mutex::new(Vec::new()),
            notes: Mutex::new(Vec::new()),
            drift: Mutex::new(Vec::new()),
            runtime: tokio::runtime::Handle::current(),
            budget: crate::sandbox::Budget::new(options.limits),
            interrupt: options.interrupt.clone(),
        }
    }

    /// The same run with the org's facts, once read (see [`crate::run::connect_and_run`]):
    /// the read-ahead's answers, and what its first round noted, move over.
    pub(crate) fn with_facts(&self, facts: OrgFacts) -> RunShared {
        let take = |m: &Mutex<Vec<String>>| m.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default();
        RunShared {
            client: self.client.clone(),
            facts,
            check_mode: self.check_mode,
            forced_check: std::sync::atomic::AtomicUsize::new(0),
            planned: Mutex::new(HashSet::new()),
            read_ahead: self.read_ahead.clone(),
            // What the observe pass saw written is what the check's one batch of describes reads.
            schema: self.schema.clone(),
            plan: None,
            ahead: self.ahead.clone(),
            journal: self.journal.clone(),
            observer: self.observer.clone(),
            records: Mutex::new(self.records.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()),
            groups: Mutex::new(Vec::new()),
            notes: Mutex::new(take(&self.notes)),
            drift: Mutex::new(self.drift.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()),
            runtime: self.runtime.clone(),
            budget: self.budget.clone(),
            interrupt: self.interrupt.clone(),
        }
    }

    /// A silent check-mode copy for a planning pass: no journal, no output, the same
    /// read-ahead answers.
    pub(crate) fn planning_pass(&self, found: &[Finding]) -> RunShared {
        RunShared {
            client: self.client.clone(),
            facts: self.facts.clone(),
            check_mode: true,
            forced_check: std::sync::atomic::AtomicUsize::new(0),
            planned: Mutex::new(HashSet::new()),
            read_ahead: self.read_ahead.clone(),
            schema: self.schema.clone(),
            plan: Some(PlanPass::new(found, !self.check_mode)),
            ahead: Arc::default(),
            journal: None,
            observer: None,
            records: Mutex::new(Vec::new()),
            groups: Mutex::new(Vec::new()),
            notes: Mutex::new(Vec::new()),
            drift: Mutex::new(Vec::new()),
            runtime: self.runtime.clone(),
            budget: self.budget.clone(),
            interrupt: self.interrupt.clone(),
        }
    }
}
