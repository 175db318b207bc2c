//! The reports of a `runner play` for CI: the run's metadata in `--json`, `--junit FILE` and `--summary FILE`.
//!
//! Everything here is built from the org reports, which are redacted as recorded; the text is redacted once more
//! on the way out, as `--json` is. Files are written once, after the run, whole: a CI job never reads half a
//! report.

use runner_core::whole_file::{self, WholeFile};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde_json::{Value, json};

use crate::engine::{OrgFailure, OrgReport, StepOutcome};

/// A report file that cannot be written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReportError {
    #[error("{} ({what}) is a symbolic link, a folder or not a regular file; runner does not write a report through it", path.display())]
    #[diagnostic(
        code(runner::report::not_a_file),
        help("A link could send the report over another file. Name a regular file, or a new one, in a real folder.")
    )]
    NotAFile { path: PathBuf, what: &'static str },

    #[error("{} ({what}) would go in {}, which is not a folder", path.display(), folder.display())]
    #[diagnostic(code(runner::report::folder_missing), help("Create the folder first (mkdir -p {}); runner does not make folders for reports.", folder.display()))]
    FolderMissing { path: PathBuf, folder: PathBuf, what: &'static str },

    #[error("cannot write {} ({what})", path.display())]
    #[diagnostic(code(runner::report::write), help("Check that its folder exists and can be written."))]
    Write { path: PathBuf, what: &'static str, source: io::Error },
}

/// What a run was, for its reports: the metadata of `result.run` in `--json`.
pub struct RunInfo {
    /// The running binary's version (a partner's binary gives its own).
    pub version: &'static str,
    pub playbook: String,
    pub check_mode: bool,
    pub started: SystemTime,
    pub duration: Duration,
    /// Each org's `--org` (after runner.toml's groups), in the order of the reports.
    pub targets: Vec<String>,
}

/// How one org's run ended, in a word, for the summary and `result.run`.
pub fn org_outcome(report: &OrgReport) -> &'static str {
    match report.failure {
        Some(OrgFailure::Connect) => "unreachable",
        Some(OrgFailure::Playbook) => "failed",
        None if !report.drift.is_empty() => "drift",
        None => "ok",
    }
}

impl RunInfo {
    /// `result.run`: the run and, per org, its name, `--org`, org id, outcome and how many drift entries it has
    /// (the entries themselves are in `result.orgs[].drift`).
    pub fn json(&self, reports: &[OrgReport]) -> Value {
        let orgs: Vec<Value> = reports
            .iter()
            .enumerate()
            .map(|(i, report)| {
                json!({
                    "name": report.target,
                    "target": self.targets.get(i).map(|t| runner_core::redact::text(t).into_owned()),
                    "org_id": report.org_id,
                    "outcome": org_outcome(report),
                    "drift_count": report.drift.len(),
                })
            })
            .collect();
        json!({
            "runner_version": self.version,
            "playbook": self.playbook,
            "check_mode": self.check_mode,
            "started_at": humantime::format_rfc3339_millis(self.started).to_string(),
            "duration_ms": u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
        })
        .as_object()
        .cloned()
        .map(|mut run| {
            run.insert("orgs".into(), Value::Array(orgs));
            Value::Object(run)
        })
        .unwrap_or(Value::Null)
    }
}

/// Text as a report may carry it: redacted, and without the control characters XML 1.0 cannot hold even
/// escaped (an ANSI colour code in a server's message).
fn clean(text: &str) -> String {
    runner_core::redact::text(text).chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).collect()
}

fn secs(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// The JUnit XML: one `<testsuite>` per org, named by the org's name; one `<testcase>` per step record; one
/// more per drift entry, each a `<failure type="drift">` of its own (CI lists failed testcases one by one, so
/// each drift gets its own line and message); an org that was not reached, or whose playbook stopped outside
/// any step, gets a `connect` or `playbook` testcase carrying that error.
pub fn junit(info: &RunInfo, reports: &[OrgReport]) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let tests: usize = reports.iter().map(cases).sum();
    let failures: usize = reports.iter().map(failures).sum();
    let errors = reports.iter().filter(|r| r.failure == Some(OrgFailure::Connect)).count();
    w.create_element("testsuites")
        .with_attribute(("name", clean(&format!("runner {}", info.playbook)).as_str()))
        .with_attribute(("tests", tests.to_string().as_str()))
        .with_attribute(("failures", failures.to_string().as_str()))
        .with_attribute(("errors", errors.to_string().as_str()))
        .with_attribute(("time", secs(u64::try_from(info.duration.as_millis()).unwrap_or(u64::MAX)).as_str()))
        .write_inner_content(|w| {
            for (i, report) in reports.iter().enumerate() {
                suite(w, info, info.targets.get(i).map(String::as_str), report)?;
            }
            Ok::<(), io::Error>(())
        })?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}

/// Whether the org's error is on none of its step records, and so needs a testcase of its own.
fn error_outside_steps(report: &OrgReport) -> bool {
    report.error.is_some() && !report.steps.iter().any(|s| s.outcome == StepOutcome::Failed)
}

fn cases(report: &OrgReport) -> usize {
    report.steps.len() + report.drift.len() + usize::from(error_outside_steps(report))
}

fn failures(report: &OrgReport) -> usize {
    let steps = report.steps.iter().filter(|s| s.outcome == StepOutcome::Failed).count();
    let playbook = usize::from(error_outside_steps(report) && report.failure != Some(OrgFailure::Connect));
    steps + report.drift.len() + playbook
}

fn suite(w: &mut Writer<Vec<u8>>, info: &RunInfo, target: Option<&str>, report: &OrgReport) -> io::Result<()> {
    let name = clean(&report.target);
    let unreachable = report.failure == Some(OrgFailure::Connect);
    let skipped = report.steps.iter().filter(|s| s.outcome == StepOutcome::Skipped).count();
    w.create_element("testsuite")
        .with_attribute(("name", name.as_str()))
        .with_attribute(("tests", cases(report).to_string().as_str()))
        .with_attribute(("failures", failures(report).to_string().as_str()))
        .with_attribute(("errors", usize::from(unreachable).to_string().as_str()))
        .with_attribute(("skipped", skipped.to_string().as_str()))
        .with_attribute(("time", secs(report.recap.duration_ms).as_str()))
        .with_attribute(("timestamp", humantime::format_rfc3339_seconds(info.started).to_string().as_str()))
        .write_inner_content(|w| {
            w.create_element("properties").write_inner_content(|w| {
                let mut property = |key: &str, value: &str| {
                    w.create_element("property")
                        .with_attribute(("name", key))
                        .with_attribute(("value", clean(value).as_str()))
                        .write_empty()
                        .map(|_| ())
                };
                if let Some(target) = target {
                    property("target", target)?;
                }
                if let Some(org_id) = &report.org_id {
                    property("org_id", org_id)?;
                }
                property("check_mode", if info.check_mode { "true" } else { "false" })?;
                property("outcome", org_outcome(report))
            })?;
            for step in &report.steps {
                let case = w
                    .create_element("testcase")
                    .with_attribute(("name", clean(&step.name).as_str()))
                    .with_attribute(("classname", name.as_str()))
                    .with_attribute(("time", secs(step.duration_ms).as_str()));
                let mut out = clean(&step.summary);
                for change in &step.changes {
                    out.push_str(&format!("\n{}", clean(&change.to_string())));
                }
                case.write_inner_content(|w| {
                    match (&step.error, step.outcome) {
                        (Some(error), _) => failure(w, "failure", &error.code, &error.message)?,
                        (None, StepOutcome::Failed) => failure(w, "failure", "failed", &step.summary)?,
                        (None, StepOutcome::Skipped) => {
                            w.create_element("skipped").write_empty()?;
                        }
                        _ => {}
                    }
                    w.create_element("system-out").write_text_content(BytesText::new(&out))?;
                    Ok::<(), io::Error>(())
                })?;
            }
            for drift in &report.drift {
                w.create_element("testcase")
                    .with_attribute(("name", clean(&format!("drift: {} {}", drift.target, drift.field)).as_str()))
                    .with_attribute(("classname", name.as_str()))
                    .with_attribute(("time", "0"))
                    .write_inner_content(|w| failure(w, "failure", "drift", &drift.to_string()))?;
            }
            if error_outside_steps(report)
                && let Some(error) = &report.error
            {
                let (case, kind) = if unreachable { ("connect", "error") } else { ("playbook", "failure") };
                w.create_element("testcase")
                    .with_attribute(("name", case))
                    .with_attribute(("classname", name.as_str()))
                    .with_attribute(("time", "0"))
                    .write_inner_content(|w| failure(w, kind, &error.code, &error.message))?;
            }
            Ok::<(), io::Error>(())
        })?;
    Ok(())
}

/// `<failure message=… type=CODE>message</failure>` (or `<error>` for an org not reached).
fn failure(w: &mut Writer<Vec<u8>>, element: &str, code: &str, message: &str) -> io::Result<()> {
    let message = clean(message);
    w.create_element(element)
        .with_attribute(("message", message.as_str()))
        .with_attribute(("type", clean(code).as_str()))
        .write_text_content(BytesText::new(&message))?;
    Ok(())
}

/// A Markdown table cell: one line, its pipes and backslashes escaped so that a value cannot end the cell.
fn cell(text: &str) -> String {
    clean(text)
        .chars()
        .map(|c| match c {
            '\\' => "\\\\".to_string(),
            '|' => "\\|".to_string(),
            '\n' | '\r' | '\t' => " ".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The Markdown summary: a heading, one table row per org (org, outcome, changed, drift, API calls), and a
/// totals line.
pub fn summary(info: &RunInfo, reports: &[OrgReport]) -> String {
    let mode = if info.check_mode { " (check mode: nothing was written)" } else { "" };
    let mut out = format!("### {} {}{mode}\n\n", crate::brand::name(), cell(&info.playbook));
    out.push_str("| org | outcome | changed | drift | API calls |\n|---|---|--:|--:|--:|\n");
    let (mut changed, mut drift, mut calls) = (0u64, 0usize, 0u64);
    let mut by_outcome: Vec<(&str, usize)> = ["ok", "drift", "failed", "unreachable"].map(|o| (o, 0)).to_vec();
    for report in reports {
        let outcome = org_outcome(report);
        out.push_str(&format!(
            "| {} | {outcome} | {} | {} | {} |\n",
            cell(&report.target),
            report.recap.changed,
            report.drift.len(),
            report.recap.api_calls
        ));
        changed += u64::from(report.recap.changed);
        drift += report.drift.len();
        calls += report.recap.api_calls;
        if let Some(count) = by_outcome.iter_mut().find(|(o, _)| *o == outcome) {
            count.1 += 1;
        }
    }
    let outcomes: Vec<String> = by_outcome.iter().map(|(o, n)| format!("{n} {o}")).collect();
    out.push_str(&format!(
        "\n**Total:** {} org(s): {} · {changed} changed · {drift} drift · {calls} API calls · {:.2}s\n\n",
        reports.len(),
        outcomes.join(", "),
        info.duration.as_secs_f64()
    ));
    out
}

/// Refuses, before the run, a report path that is a symbolic link (dangling or not), a folder or another
/// non-regular file, or one whose folder is missing, so that a planted link costs nothing and a typo costs
/// no run.
pub fn check_path(path: &Path, what: &'static str) -> Result<(), ReportError> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(ReportError::FolderMissing { path: path.to_owned(), folder: folder.to_owned(), what });
    }
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(ReportError::NotAFile { path: path.to_owned(), what }),
        Ok(_) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(ReportError::Write { path: path.to_owned(), what, source }),
    }
}

/// Writes `bytes` as the whole of `path`: a temporary file in the same folder, renamed over it, so a reader
/// sees the old report or the new one, never a part. The rename replaces a folder entry and never follows a
/// link, and a link there is refused anyway.
pub fn write_whole(path: &Path, what: &'static str, bytes: &[u8]) -> Result<(), ReportError> {
    check_path(path, what)?;
    whole_file::write_whole(path, bytes, WholeFile::private(".runner-report-")).map_err(|e| ReportError::Write {
        path: path.to_owned(),
        what,
        source: e.source,
    })?;
    Ok(())
}

/// Appends `text` to `path`, creating it when missing: GitHub's `GITHUB_STEP_SUMMARY` is one file that each
/// step appends to. A link is refused (and `O_NOFOLLOW` closes the gap between the check and the open).
pub fn append(path: &Path, what: &'static str, text: &str) -> Result<(), ReportError> {
    check_path(path, what)?;
    let err = |source| ReportError::Write { path: path.to_owned(), what, source };
    let mut options = fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            ReportError::NotAFile { path: path.to_owned(), what }
        } else {
            err(source)
        }
    })?;
    // One write of the whole text, so that a summary is not interleaved with another step's.
    file.write_all(text.as_bytes()).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_cannot_end_early_or_span_lines() {
        assert_eq!(cell("a|b\\|c\nd"), "a\\|b\\\\\\|c d");
    }

    fn info(targets: &[&str]) -> RunInfo {
        RunInfo {
            version: "9.9.9",
            playbook: "audit.rhai".into(),
            check_mode: true,
            started: SystemTime::UNIX_EPOCH,
            duration: Duration::from_millis(1500),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn unreachable(name: &str) -> OrgReport {
        let failure = crate::engine::FailureInfo {
            code: "runner::target::connect".into(),
            message: "cannot reach <host> & \"it\"\u{1b}[31m".into(),
            error_code: None,
            fields: Vec::new(),
            hint: None,
            location: None,
        };
        crate::engine::connect_failure_report(name, failure, 7)
    }

    #[test]
    fn an_org_not_reached_is_one_escaped_error_testcase_and_an_unreachable_row() {
        let reports = [unreachable("a<b>&\"c\"|d")];
        let xml = String::from_utf8(junit(&info(&["https://x.example"]), &reports).expect("xml")).expect("utf-8");
        assert!(
            xml.contains(r#"<testsuite name="a&lt;b&gt;&amp;&quot;c&quot;|d" tests="1" failures="0" errors="1""#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase name="connect""#), "{xml}");
        assert!(
            xml.contains(
                r#"<error message="cannot reach &lt;host&gt; &amp; &quot;it&quot;[31m" type="runner::target::connect">"#
            ),
            "{xml}"
        );
        assert!(!xml.contains('\u{1b}'), "no control character: {xml}");
        let md = summary(&info(&["x"]), &reports);
        assert!(md.contains("| a<b>&\"c\"\\|d | unreachable | 0 | 0 | 0 |"), "{md}");
        assert!(md.contains("(check mode: nothing was written)"), "{md}");
        assert!(md.contains("1 org(s): 0 ok, 0 drift, 0 failed, 1 unreachable"), "{md}");
        let run = info(&["https://x.example"]).json(&reports);
        assert_eq!(run["started_at"], "1970-01-01T00:00:00.000Z");
        assert_eq!(run["duration_ms"], 1500);
        assert_eq!(run["orgs"][0]["outcome"], "unreachable");
        assert_eq!(run["orgs"][0]["target"], "https://x.example");
    }
}
