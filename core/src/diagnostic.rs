//! Playbook errors that point at the line in the right `.rhai` file: the text of every
//! file a playbook loaded, locations, and the turning of engine errors into diagnostics.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use miette::{Diagnostic, LabeledSpan, SourceCode};
use rhai::{EvalAltResult, Position};

use crate::sandbox;

/// The text of every file a playbook has loaded, by display name, for diagnostics.
#[derive(Debug, Default)]
pub struct Sources {
    files: Mutex<HashMap<String, Arc<String>>>,
    /// What the loaded files assign into by index, whose sizes are checked as they run.
    pub(crate) assigned_roots: Arc<sandbox::AssignedRoots>,
}

impl Sources {
    pub(crate) fn add(&self, name: &str, text: String) -> Arc<String> {
        let text = Arc::new(text);
        if let Ok(mut files) = self.files.lock() {
            files.insert(name.to_string(), text.clone());
        }
        text
    }

    pub(crate) fn get(&self, name: &str) -> Option<Arc<String>> {
        self.files.lock().ok()?.get(name).cloned()
    }
}

/// Where in which file.
#[derive(Debug, Clone)]
pub struct Location {
    pub source: String,
    pub line: usize,
    pub column: usize,
    excerpt: Option<Excerpt>,
}

/// The longest message shown: Rhai quotes tokens and values, which can be huge.
pub(crate) const MAX_MESSAGE: usize = 4_000;

/// Where imports are looked for, for messages about one that is not found.
pub(crate) const MODULE_SEARCH_HELP: &str = "an import is looked for in the playbook's own folder, then in each --lib folder, RUNNER_LIB, runner.toml's lib_path, and the built-in playbooks (lib/storeconnect); e.g. import \"lib/acme\" as acme;";

/// The longest part of a line a diagnostic shows: one 2 MB line (a huge literal) would
/// otherwise be printed whole.
const MAX_SHOWN_LINE: usize = 160;

/// `text` cut to `max` characters, with an ellipsis when cut.
pub(crate) fn cut_line(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}… ({} characters)", text.chars().take(max).collect::<String>(), text.chars().count())
    }
}

/// The lines around a location, each cut to [`MAX_SHOWN_LINE`], as miette shows them:
/// with the file's own line numbers.
#[derive(Debug, Clone)]
struct Excerpt {
    name: String,
    text: String,
    /// The file's line number of the excerpt's first line, 0-based.
    first_line: usize,
    /// Byte offset and length of the label in `text`.
    label: (usize, usize),
}

impl Excerpt {
    fn new(name: &str, full: &str, line: usize, column: usize) -> Option<Excerpt> {
        let lines: Vec<&str> = full.split_inclusive('\n').collect();
        let index = line.checked_sub(1)?;
        lines.get(index)?;
        let first_line = index.saturating_sub(1);
        let mut text = String::new();
        let mut label = (0, 1);
        for (i, raw) in lines.iter().enumerate().skip(first_line).take(index - first_line + 2) {
            let body = raw.trim_end_matches(['\n', '\r']);
            let chars: Vec<char> = body.chars().collect();
            if i == index {
                // A window around the column, so that the label stays in view.
                let col = column.saturating_sub(1).min(chars.len());
                let start = if chars.len() > MAX_SHOWN_LINE { col.saturating_sub(MAX_SHOWN_LINE / 2) } else { 0 };
                let end = (start + MAX_SHOWN_LINE).min(chars.len());
                let mut shown = String::new();
                if start > 0 {
                    shown.push('…');
                }
                let before: String = chars[start..col.max(start)].iter().collect();
                shown.push_str(&before);
                let rest: String = chars[col.max(start)..end].iter().collect();
                let len = rest
                    .char_indices()
                    .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == ':'))
                    .map(|(i, _)| i)
                    .unwrap_or(rest.trim_end().len())
                    .max(1)
                    .min(rest.trim_end().len().max(1));
                label = (text.len() + shown.len(), len);
                shown.push_str(&rest);
                if end < chars.len() {
                    shown.push_str(&format!("… ({} characters)", chars.len()));
                }
                text.push_str(&shown);
            } else if chars.len() > MAX_SHOWN_LINE {
                text.push_str(&chars[..MAX_SHOWN_LINE].iter().collect::<String>());
                text.push('…');
            } else {
                text.push_str(body);
            }
            text.push('\n');
        }
        Some(Excerpt { name: name.to_string(), text, first_line, label })
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.read_span(span, context_lines_before, context_lines_after)?;
        let contents = miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )
        .with_language("rhai");
        Ok(Box::new(contents))
    }
}

impl Location {
    pub(crate) fn at(sources: &Sources, source: &str, pos: Position) -> Option<Location> {
        let line = pos.line()?;
        let column = pos.position().unwrap_or(1);
        let excerpt = sources.get(source).and_then(|text| Excerpt::new(source, &text, line, column));
        Some(Location { source: source.to_string(), line, column, excerpt })
    }

    fn offset(&self) -> Option<(usize, usize)> {
        self.excerpt.as_ref().map(|e| e.label)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.source, self.line, self.column)
    }
}

/// A playbook error, rendered by miette at the line in the right `.rhai` file.
#[derive(Debug, Clone)]
pub struct PlaybookError {
    pub code: String,
    pub message: String,
    pub help: Option<String>,
    pub location: Option<Box<Location>>,
    /// Where the failing code was called from, outermost first.
    pub calls: Vec<Location>,
}

impl PlaybookError {
    pub fn plain(code: &str, message: impl Into<String>) -> Self {
        PlaybookError { code: code.into(), message: message.into(), help: None, location: None, calls: Vec::new() }
    }

    pub fn internal(message: String) -> Self {
        PlaybookError::plain("runner::internal", message)
    }
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PlaybookError {}

impl Diagnostic for PlaybookError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let called_from: Vec<String> = self.calls.iter().map(|c| format!("called from {c}")).collect();
        match (&self.help, called_from.is_empty()) {
            (Some(help), true) => Some(Box::new(help.clone())),
            (Some(help), false) => Some(Box::new(format!("{help}\n{}", called_from.join("\n")))),
            (None, false) => Some(Box::new(called_from.join("\n"))),
            (None, true) => None,
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self.location.as_ref()?.excerpt.as_ref()? as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let location = self.location.as_ref()?;
        let (offset, len) = location.offset()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_primary_with_span(Some("here".into()), (offset, len)))))
    }
}

/// A short plain-text message for an engine error (no location).
pub fn plain_message(err: &EvalAltResult) -> String {
    let (leaf, _) = innermost(err);
    leaf_details(leaf, &[]).1
}

/// What a playbook threw as a map with a `code` (`throw #{ code: "acme::no_settings", message: … }`, or a
/// step's error caught and thrown again): its own code, message, hint and Salesforce error code.
pub struct Thrown {
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
    pub error_code: Option<String>,
}

/// The map a playbook threw, when it threw one with a `code`.
pub fn thrown(err: &EvalAltResult) -> Option<Thrown> {
    let (EvalAltResult::ErrorRuntime(value, _), _) = innermost(err) else { return None };
    let map = value.clone().try_cast::<rhai::Map>()?;
    let get = |k: &str| map.get(k).map(|v| v.to_string()).filter(|v| !v.is_empty() && v != "()");
    Some(Thrown {
        code: get("code")?,
        message: cut_line(&get("message").unwrap_or_default(), MAX_MESSAGE),
        hint: get("hint"),
        error_code: get("error_code"),
    })
}

/// Follows nested call and module errors to the one that happened first.
fn innermost(err: &EvalAltResult) -> (&EvalAltResult, Vec<(&str, Position)>) {
    let mut chain = Vec::new();
    let mut current = err;
    loop {
        match current {
            EvalAltResult::ErrorInFunctionCall(_, source, inner, pos) => {
                chain.push((source.as_str(), *pos));
                current = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                chain.push((name.as_str(), *pos));
                current = inner;
            }
            _ => return (current, chain),
        }
    }
}

/// Turns an engine error into a diagnostic at the innermost location that has one,
/// with the calls that led there.
pub(crate) fn diagnose(err: &EvalAltResult, sources: &Sources, top: &str, step_names: &[&str]) -> PlaybookError {
    // Each wrapper says in which source its inner error happened; the outermost call
    // site is in `top`.
    let mut calls = Vec::new();
    let mut source = top.to_string();
    let mut current = err;
    loop {
        match current {
            EvalAltResult::ErrorInFunctionCall(_, inner_source, inner, pos) => {
                if let Some(loc) = Location::at(sources, &source, *pos) {
                    calls.push(loc);
                }
                if !inner_source.is_empty() {
                    source = inner_source.clone();
                }
                current = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                if let Some(loc) = Location::at(sources, &source, *pos) {
                    calls.push(loc);
                }
                source = name.clone();
                current = inner;
            }
            _ => break,
        }
    }
    let (code, message, help) = leaf_details(current, step_names);
    let message = cut_line(&message, MAX_MESSAGE);
    let mut location = Location::at(sources, &source, current.position()).map(Box::new);
    if location.is_none() {
        location = calls.pop().map(Box::new);
    }
    PlaybookError { code, message, help, location, calls }
}

fn leaf_details(leaf: &EvalAltResult, step_names: &[&str]) -> (String, String, Option<String>) {
    use EvalAltResult as E;
    let s = |v: &str| v.to_string();
    match leaf {
        E::ErrorParsing(kind, _) => {
            // An invisible character would make the message look empty.
            let kind = kind.to_string().replace('\u{feff}', "U+FEFF (a byte-order mark)");
            (s("runner::playbook::syntax"), format!("syntax error: {kind}"), None)
        }
        E::ErrorTerminated(token, _) => match sandbox::stopped_by(token) {
            Some((kind, limit)) if kind == sandbox::PAST_DEADLINE => (
                s("runner::playbook::timeout"),
                format!("the playbook ran past its deadline ({limit}) and was stopped"),
                Some(s("look for an endless loop; `runner play --timeout` sets the deadline (5m by default)")),
            ),
            Some((_, limit)) => (
                s("runner::playbook::limit"),
                format!(
                    "the playbook hit a safety limit: it ran out of its {limit} operations (the read-ahead, planning and the run share them)"
                ),
                Some(s("look for an endless loop or runaway recursion")),
            ),
            None => (s("runner::playbook::runtime"), leaf.to_string(), None),
        },
        E::ErrorVariableNotFound(name, _) => (
            s("runner::playbook::unknown_variable"),
            format!("unknown variable `{name}`"),
            Some(s("`org` and `vars` are predefined; declare other variables with `let`")),
        ),
        E::ErrorFunctionNotFound(sig, _) => {
            let name = sig.split('(').next().unwrap_or(sig).trim();
            if step_names.contains(&name) {
                (
                    s("runner::playbook::bad_argument"),
                    format!("{name} takes one object map: {sig} does not fit"),
                    Some(format!("`runner steps {name}` lists its parameters")),
                )
            } else {
                (
                    s("runner::playbook::unknown_function"),
                    format!("unknown function or step: {sig}"),
                    // Check finds a name no file defines and a call to the file's or a
                    // module's function with the wrong number of arguments; not a call
                    // through `Fn(…)`, a method call, or arguments of the wrong type.
                    Some(s(
                        "`runner steps` lists the steps; if the function exists, check the number and types of its arguments",
                    )),
                )
            }
        }
        E::ErrorModuleNotFound(what, _) => {
            (s("runner::playbook::module_not_found"), format!("cannot import {what}"), Some(s(MODULE_SEARCH_HELP)))
        }
        E::ErrorRuntime(value, _) => match value.clone().try_cast::<rhai::Map>() {
            Some(map) if map.contains_key("code") => {
                let get = |k: &str| map.get(k).map(|v| v.to_string()).filter(|v| !v.is_empty() && v != "()");
                let step = get("step");
                let message = get("message").unwrap_or_default();
                let message = match step {
                    Some(step) if !message.starts_with(&format!("{step}:")) => format!("{step}: {message}"),
                    _ => message,
                };
                let mut help = get("hint");
                if let Some(code) = get("error_code") {
                    let note = format!("Salesforce error code: {code}");
                    help = Some(match help {
                        Some(h) => format!("{h}\n{note}"),
                        None => note,
                    });
                }
                (get("code").unwrap_or_else(|| s("runner::playbook::thrown")), message, help)
            }
            _ => (s("runner::playbook::thrown"), format!("the playbook threw: {value}"), None),
        },
        E::ErrorTooManyOperations(_)
        | E::ErrorTooManyVariables(_)
        | E::ErrorTooManyModules(_)
        | E::ErrorStackOverflow(_)
        | E::ErrorDataTooLarge(..) => (
            s("runner::playbook::limit"),
            format!("the playbook hit a safety limit: {leaf}"),
            Some(s("look for an endless loop or runaway recursion")),
        ),
        other => (s("runner::playbook::runtime"), other.to_string(), None),
    }
}
