//! A fleet's progress while it runs, and its closing table.
//!
//! The bar goes to stderr, and only when several orgs run, stderr is a terminal and `--json` is off: a CI log
//! or a pipe gets no redraws. Step lines are printed through [`FleetProgress::suspend`], so that they scroll
//! above the bar instead of through it.

use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

use comfy_table::{Cell, CellAlignment, Table, presets};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{OrgFailure, OrgReport};

/// How the fleet stands: orgs done, failed (of those done) and running now.
#[derive(Default)]
struct Counts {
    done: u64,
    failed: u64,
    running: u64,
}

pub struct FleetProgress {
    bar: Option<ProgressBar>,
    counts: Mutex<Counts>,
}

impl FleetProgress {
    /// A bar for `orgs` orgs when it is wanted (several orgs, a terminal, no `--json`); else one that draws
    /// nothing.
    pub fn new(orgs: usize, json: bool) -> FleetProgress {
        let wanted = orgs > 1 && !json && std::io::stderr().is_terminal();
        let bar = wanted.then(|| {
            let bar = ProgressBar::with_draw_target(Some(orgs as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{bar:30} {pos}/{len} orgs · {msg} · {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("█▉ ");
            bar.set_style(style);
            bar.set_message("0 failed · 0 running");
            // Redrawn on a timer too, so that the elapsed time moves while every org waits on Salesforce.
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        FleetProgress { bar, counts: Mutex::new(Counts::default()) }
    }

    pub fn started(&self) {
        self.update(|c| c.running += 1);
    }

    pub fn finished(&self, report: &OrgReport) {
        let failed = report.failure.is_some();
        self.update(|c| {
            c.running = c.running.saturating_sub(1);
            c.done += 1;
            c.failed += u64::from(failed);
        });
    }

    fn update(&self, change: impl FnOnce(&mut Counts)) {
        let Ok(mut counts) = self.counts.lock() else { return };
        change(&mut counts);
        if let Some(bar) = &self.bar {
            bar.set_position(counts.done);
            bar.set_message(format!("{} failed · {} running", counts.failed, counts.running));
        }
    }

    /// Runs `print` with the bar cleared, then draws it again below what was printed.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Clears the bar for good: the recaps and the table follow.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The fleet's closing table: one row per org and a totals row. Box-drawing on a terminal, ASCII in a log.
pub fn fleet_table(reports: &[OrgReport], terminal: bool) -> String {
    let mut table = Table::new();
    table.load_preset(if terminal { presets::UTF8_FULL_CONDENSED } else { presets::ASCII_FULL_CONDENSED });
    table.set_header(["org", "outcome", "ok", "changed", "failed", "drift", "API calls", "time"]);
    let (mut ok, mut changed, mut failed, mut drift, mut calls) = (0u64, 0u64, 0u64, 0usize, 0u64);
    let mut outcomes: indexmap::IndexMap<&str, usize> = indexmap::IndexMap::new();
    for report in reports {
        let r = &report.recap;
        let outcome = crate::reports::org_outcome(report);
        *outcomes.entry(outcome).or_default() += 1;
        ok += u64::from(r.ok);
        changed += u64::from(r.changed);
        failed += u64::from(r.failed);
        drift += report.drift.len();
        calls += r.api_calls;
        let unreachable = matches!(report.failure, Some(OrgFailure::Connect));
        let count = |n: u32| if unreachable { "-".to_string() } else { n.to_string() };
        table.add_row([
            Cell::new(runner_core::redact::text(&report.target)),
            Cell::new(outcome),
            Cell::new(count(r.ok)),
            Cell::new(count(r.changed)),
            Cell::new(count(r.failed)),
            Cell::new(report.drift.len()),
            Cell::new(r.api_calls),
            Cell::new(format!("{:.2}s", r.duration_ms as f64 / 1000.0)),
        ]);
    }
    let summary: Vec<String> = outcomes.iter().map(|(outcome, n)| format!("{n} {outcome}")).collect();
    table.add_row([
        Cell::new(format!("{} orgs", reports.len())),
        Cell::new(summary.join(", ")),
        Cell::new(ok),
        Cell::new(changed),
        Cell::new(failed),
        Cell::new(drift),
        Cell::new(calls),
        Cell::new(""),
    ]);
    for column in 2..8 {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.to_string()
}
