//! Planning: a failure the reads can foresee must come before the run's first write.
//!
//! Before a run writes anything, the playbook runs in check mode against what was read
//! (a *planning pass*: nothing is printed, journaled or written). A native step that
//! fails there, uncaught by the playbook, is a *finding*. The pass is then run again
//! with that call reporting its finding and carrying on, so that the next independent
//! problem shows too. The run stops with every finding, having written nothing, when
//! there is any. A failure the playbook catches is its own business, not a finding.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::ahead::PlannedWrite;
use crate::failure::StepFailure;
use crate::playbook::PlaybookError;
use crate::write::Write;

/// A pass cannot find more problems than it has step calls; this bounds a playbook
/// whose calls differ from pass to pass.
pub(crate) const MAX_PASSES: usize = 16;

/// A failure found while planning, at the `call`-th step call of the pass.
#[derive(Debug, Clone)]
pub struct Finding {
    pub(crate) call: usize,
    pub step: String,
    pub failure: StepFailure,
    /// The failure as the playbook met it, with its place in the `.rhai` file.
    pub(crate) error: Option<PlaybookError>,
}

impl Finding {
    /// `file:line:column` of the call in the playbook, when known.
    pub fn location(&self) -> Option<String> {
        self.error.as_ref()?.location.as_ref().map(|l| l.to_string())
    }
}

/// The state of one planning pass.
#[derive(Debug, Default)]
pub(crate) struct PlanPass {
    calls: AtomicUsize,
    /// Calls whose failure an earlier pass found: they report it and return nothing.
    known: HashSet<usize>,
    /// The last failure thrown into the playbook: if the pass ends with it, it is new.
    thrown: Mutex<Option<Finding>>,
    /// The run after this pass writes (it is not a `--check` run).
    pub(crate) for_writing_run: bool,
    /// The writes the pass asked for, in order: what the run may send ahead.
    writes: Mutex<Vec<PlannedWrite>>,
    write_calls: AtomicUsize,
}

impl PlanPass {
    pub(crate) fn new(found: &[Finding], for_writing_run: bool) -> Self {
        PlanPass { known: found.iter().map(|f| f.call).collect(), for_writing_run, ..PlanPass::default() }
    }

    /// Numbers the step calls of a pass: the same reads give the same calls in order.
    pub(crate) fn next_call(&self) -> usize {
        self.calls.fetch_add(1, Ordering::SeqCst)
    }

    pub(crate) fn is_known(&self, call: usize) -> bool {
        self.known.contains(&call)
    }

    pub(crate) fn throwing(&self, call: usize, step: &str, failure: &StepFailure) {
        if let Ok(mut thrown) = self.thrown.lock() {
            *thrown = Some(Finding { call, step: step.to_string(), failure: failure.clone(), error: None });
        }
    }

    pub(crate) fn take_thrown(&self) -> Option<Finding> {
        self.thrown.lock().ok()?.take()
    }

    /// Notes the writes of one `write`/`write_all` call of a step.
    pub(crate) fn planned_writes(&self, step: &str, writes: &[Write]) {
        let call = self.write_calls.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut all) = self.writes.lock() {
            all.extend(writes.iter().map(|w| PlannedWrite { call, step: step.to_string(), write: w.clone() }));
        }
    }

    pub(crate) fn take_writes(&self) -> Vec<PlannedWrite> {
        self.writes.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default()
    }
}
