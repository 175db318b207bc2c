//! The name of the binary that runs (`runner`, or a partner's `acme-runner`), in every message.
//!
//! Hints written in core and in the steps say "`runner steps X`", "`runner credentials show …`": they cannot
//! know which binary shows them, and threading a name through every step failure would reshape core. So the
//! CLI rewrites them where they leave the process: everything it prints goes through [`crate::stdout`], which
//! turns "runner " followed by one of runner's commands into the running binary's name. "runner" alone (as in
//! "runner only trusts …") is left: it names the software, not a command to type.

use std::borrow::Cow;
use std::sync::OnceLock;

/// The name of runner's own binary.
pub const DEFAULT: &str = "runner";

/// runner's commands: "runner " before one of these is a command line to type.
const COMMANDS: &[&str] =
    &["play", "check", "steps", "sim", "totp", "credentials", "playbooks", "init", "completions", "help"];

static NAME: OnceLock<String> = OnceLock::new();

/// Sets the running binary's name, once per process: what [`name`] answers from then on.
pub(crate) fn set(name: &str) {
    let _ = NAME.set(name.to_string());
}

/// The running binary's name.
pub fn name() -> &'static str {
    NAME.get().map(String::as_str).unwrap_or(DEFAULT)
}

/// A name a shell can run without quoting, and that a rewritten message cannot be broken by (in a JSON string, a
/// quote or a backslash would).
pub(crate) fn is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with(['-', '.'])
}

/// `text` with "runner COMMAND" naming the running binary instead.
pub fn rewrite(text: &str) -> Cow<'_, str> {
    rewrite_as(text, name())
}

fn rewrite_as<'a>(text: &'a str, name: &str) -> Cow<'a, str> {
    if name == DEFAULT || !text.contains("runner ") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = 0;
    for (at, _) in text.match_indices("runner ") {
        // Part of a longer word or path (`acme-runner play`, `/usr/bin/runner play`): not runner's own name.
        let joined = text[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || "-_./".contains(c));
        let after = &text[at + "runner ".len()..];
        let command = COMMANDS.iter().any(|command| {
            after.strip_prefix(command).is_some_and(|tail| !tail.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        });
        if joined || !command {
            continue;
        }
        out.push_str(&text[rest..at]);
        out.push_str(name);
        rest = at + "runner".len();
    }
    if rest == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[rest..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_name_the_running_binary() {
        let cases = [
            ("`runner steps create_user` lists its parameters", "`acme-runner steps create_user` lists its parameters"),
            (
                "set it up first: runner play setup.rhai --var x=1",
                "set it up first: acme-runner play setup.rhai --var x=1",
            ),
            ("(`runner credentials show --file F`)", "(`acme-runner credentials show --file F`)"),
            ("runner init does not write through links", "acme-runner init does not write through links"),
            ("runner check; runner steps", "acme-runner check; acme-runner steps"),
            ("`runner playbooks` lists them", "`acme-runner playbooks` lists them"),
        ];
        for (text, expected) in cases {
            assert_eq!(rewrite_as(text, "acme-runner"), expected);
        }
    }

    #[test]
    fn the_software_files_and_other_words_are_left_alone() {
        for text in [
            "runner only trusts a file its owner owns",
            "the `audience` set in runner.toml",
            "acme-runner play x",
            "/usr/local/bin/runner play x",
            "runner playground",
            "runner's set_password step",
            "a runner stepsister",
        ] {
            assert_eq!(rewrite_as(text, "acme-runner"), text);
        }
        assert!(matches!(rewrite_as("`runner steps`", DEFAULT), Cow::Borrowed(_)));
    }

    #[test]
    fn names_must_run_unquoted() {
        assert!(is_valid("acme-runner") && is_valid("runner") && is_valid("acme_runner2"));
        for bad in ["", "acme runner", "a\"b", "-x", "a/b", "a\\b", &"x".repeat(65)] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
