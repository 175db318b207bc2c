//! What runner prints: live step lines and recaps for people, one JSON document for CI,
//! and step documentation.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::engine::{
    FailureInfo, OrgReport, ParamDoc, Registry, RunObserver, StepOutcome as Outcome, StepRecord, playbook_function_docs,
};
use crate::exit;
use crate::progress::FleetProgress;

/// Prints one line per step or call as it finishes, and the recap per org.
pub struct HumanOutput {
    prefix_targets: bool,
    check_mode: bool,
    color: bool,
    lock: Mutex<()>,
    progress: Option<Arc<FleetProgress>>,
}

impl HumanOutput {
    pub fn new(prefix_targets: bool, check_mode: bool) -> Self {
        HumanOutput {
            prefix_targets,
            check_mode,
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            lock: Mutex::new(()),
            progress: None,
        }
    }

    /// Prints through `progress`, so that lines scroll above the fleet's bar.
    pub fn with_progress(mut self, progress: Arc<FleetProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Prints `text` whole, one org's lines at a time.
    fn emit(&self, text: &str) {
        let _guard = self.lock.lock();
        match &self.progress {
            Some(progress) => progress.suspend(|| print!("{text}")),
            None => print!("{text}"),
        }
    }

    fn paint(&self, outcome: Outcome, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match outcome {
            Outcome::Ok => "32",
            Outcome::Changed => "33",
            Outcome::Skipped => "36",
            Outcome::Failed => "31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn prefix(&self, target: &str) -> String {
        if self.prefix_targets { format!("[{target}] ") } else { String::new() }
    }

    pub fn recap(&self, report: &OrgReport) {
        let r = &report.recap;
        let org = report.org_id.as_deref().map(|id| format!(" ({id})")).unwrap_or_default();
        let usage = r.api_usage.map(|u| format!(" · org API usage {}/{}", u.used, u.limit)).unwrap_or_default();
        let mode = if self.check_mode { " · check mode: nothing was written" } else { "" };
        let _guard = self.lock.lock();
        let drift = match report.drift.len() {
            0 => String::new(),
            n => format!(", {n} drift"),
        };
        println!(
            "recap {}{org}: {} ok, {} changed, {} failed, {} skipped{drift} · {} API calls · {}{usage}{mode}",
            report.target,
            r.ok,
            r.changed,
            r.failed,
            r.skipped,
            r.api_calls,
            seconds(r.duration_ms)
        );
        if !report.drift.is_empty() {
            println!("  drift ({}):", report.drift.len());
            for drift in &report.drift {
                println!("    - {}", runner_core::redact::text(&drift.to_string()));
            }
        }
        if let Some(error) = &report.error
            && report.diagnostic.is_none()
        {
            println!("  error: {}", runner_core::redact::text(&error.message));
            if let Some(hint) = &error.hint {
                println!("  hint: {}", runner_core::redact::text(hint));
            }
        }
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.2}s", ms as f64 / 1000.0)
}

impl RunObserver for HumanOutput {
    fn on_record(&self, target: &str, record: &StepRecord) {
        let label = match (record.outcome, self.check_mode) {
            (Outcome::Changed, true) => "would change",
            (outcome, _) => outcome.as_str(),
        };
        let status = self.paint(record.outcome, &format!("{label:<12}"));
        // Built first and printed in one go, through `println!`'s handling of a closed stdout.
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{}{status} {} {}  ({}, {} API call{})",
            self.prefix(target),
            name_column(&record.name),
            record.summary,
            seconds(record.duration_ms),
            record.api_calls,
            if record.api_calls == 1 { "" } else { "s" }
        );
        for change in &record.changes {
            let _ = writeln!(out, "{}    {change}", self.prefix(target));
        }
        for warning in &record.warnings {
            let _ = writeln!(out, "{}    warning: {warning}", self.prefix(target));
        }
        if let Some(error) = &record.error
            && let Some(hint) = &error.hint
        {
            let _ = writeln!(out, "{}    hint: {hint}", self.prefix(target));
        }
        self.emit(&out);
    }

    fn on_print(&self, target: &str, text: &str) {
        self.emit(&format!("{}{text}\n", self.prefix(target)));
    }
}

/// A diagnostic rendered for stderr, with the run's secrets cut out: whatever a server
/// or a file put into an error's text.
pub fn redacted_report(report: &miette::Report) -> String {
    runner_core::redact::text(&format!("{report:?}")).into_owned()
}

/// In `--json` mode stdout carries only the document: playbook prints go to stderr.
pub struct StderrPrints;

impl RunObserver for StderrPrints {
    fn on_record(&self, _target: &str, _record: &StepRecord) {}
    fn on_print(&self, target: &str, text: &str) {
        eprintln!("[{target}] {text}");
    }
}

/// The `--json` document, shaped like the sf CLI's envelope; `run` is the run's metadata (`result.run`).
pub fn render_json(status: u8, run: serde_json::Value, reports: &[OrgReport], warnings: &[String]) -> String {
    let document = json!({
        "status": status,
        "result": { "run": run, "orgs": reports },
        "warnings": warnings,
    });
    // The reports are redacted as recorded; this is the last line of defence.
    let document = runner_core::redact::value(&document);
    serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{\"status\":1}".to_string())
}

/// The `--json` document when the playbook is invalid and no org was touched: the sf
/// CLI's error envelope (`status`, `name`, `message`), with every finding in `result`.
pub fn render_invalid_json(status: u8, findings: &[FailureInfo]) -> String {
    let document = json!({
        "status": status,
        "name": "InvalidPlaybook",
        "message": format!("the playbook has {} problem(s); no org was touched", findings.len()),
        "result": { "orgs": [], "findings": findings },
        "warnings": [],
    });
    serde_json::to_string_pretty(&document).unwrap_or_else(|_| format!("{{\"status\":{status}}}"))
}

/// A step's name as a column 24 wide; a longer name (a playbook's `step("…")` often is) still
/// ends at least two spaces before what follows, so the summary does not run into it.
fn name_column(name: &str) -> String {
    let width = 24.max(name.chars().count() + 1);
    format!("{name:<width$}")
}

/// `runner steps [NAME]`: the steps of the binary that runs.
pub fn steps(registry: &Registry, name: Option<&str>) -> exit::Outcome {
    let Some(name) = name else {
        for step in registry.iter() {
            let meta = step.meta();
            println!("{} {}", name_column(meta.name), meta.summary);
        }
        println!("\nBesides the native steps, a playbook may call:");
        for function in playbook_function_docs() {
            println!("{} {}", name_column(function.signature), function.summary);
        }
        println!("\n`runner steps NAME` shows a step's parameters.");
        return exit::Outcome::Done;
    };
    let Some(step) = registry.get(name) else {
        let names: Vec<&str> = registry.names().collect();
        let names = if names.is_empty() { "none in this build".to_string() } else { names.join(", ") };
        eprintln!("{}: there is no step `{name}`; the steps are: {names}", crate::brand::name());
        return exit::Outcome::BadInput;
    };
    let meta = step.meta();
    println!("{} — {}\n", meta.name, meta.summary);
    if !meta.description.is_empty() {
        println!("{}\n", meta.description.trim());
    }
    println!("Parameters:");
    for param in step.params() {
        let required = if param.required { "required".to_string() } else { "optional".to_string() };
        let default = param.default.as_ref().map(|d| format!(", default {d}")).unwrap_or_default();
        let kind = if param.choices.is_empty() {
            param.ty.describe().to_string()
        } else {
            param.choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(" | ")
        };
        println!("  {:<18} {kind} ({required}{default})", param.name);
        println!("  {:<18} {}", "", param.doc);
    }
    println!("\nUsage in a playbook:\n  {}(#{{ {} }});", meta.name, example_args(step.params()));
    exit::Outcome::Done
}

fn example_args(params: &[ParamDoc]) -> String {
    let required: Vec<String> = params.iter().filter(|p| p.required).map(|p| format!("{}: …", p.name)).collect();
    if required.is_empty() { "…".to_string() } else { required.join(", ") }
}
