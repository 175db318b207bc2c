//! How a command ended, and the one mapping from that to the process's exit status (the README's table).
//!
//! Commands answer an [`Outcome`], never a number: a script tells "the playbook stopped" (1) from "that file
//! cannot be used" (2) only if no command can pick a number on its own.

use std::process::ExitCode;

use runner_core::interrupt::Cause;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every org ran its playbook to the end; any other command did what it was asked.
    Done,
    /// The playbook stopped on an error in at least one org (a step failed, an uncaught `throw`, drift found by
    /// an audit, a journal that cannot be opened or written). Only `play` ends so.
    PlaybookStopped,
    /// The command line was wrong, or a file or folder it names cannot be used: `init`, `credentials show`,
    /// `totp code`, `sim serve --token-file`.
    BadInput,
    /// The playbook does not compile, or `check` found problems. No org was touched.
    InvalidPlaybook,
    /// An org could not be reached, resolved or authenticated (its playbook did not start), or `sim serve` could
    /// not start the simulated org.
    Unreachable,
    /// Stopped by a signal, or because standard output was closed.
    Interrupted(Cause),
    /// The program itself could not run (its async runtime did not start, its name is not a command name).
    Internal,
}

/// The exit status of an outcome: the only place these numbers are written.
pub fn code(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Done => 0,
        Outcome::PlaybookStopped => 1,
        Outcome::BadInput => 2,
        Outcome::InvalidPlaybook => 3,
        Outcome::Unreachable => 4,
        // What a shell reports for a process the signal ended: 128 + its number, so `set -o pipefail` scripts
        // see the same as for any other tool.
        Outcome::Interrupted(Cause::Sigint) => 130,
        Outcome::Interrupted(Cause::BrokenPipe) => 141,
        Outcome::Interrupted(Cause::Sigterm) => 143,
        // sysexits.h's EX_SOFTWARE: not one of the outcomes above, which scripts act on.
        Outcome::Internal => 70,
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        ExitCode::from(code(outcome))
    }
}

/// Ends the process at once with `outcome`'s status (a second signal, stdout closed outside `play`).
pub(crate) fn now(outcome: Outcome) -> ! {
    std::process::exit(i32::from(code(outcome)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_readmes() {
        let table = [
            (Outcome::Done, 0),
            (Outcome::PlaybookStopped, 1),
            (Outcome::BadInput, 2),
            (Outcome::InvalidPlaybook, 3),
            (Outcome::Unreachable, 4),
            (Outcome::Internal, 70),
            (Outcome::Interrupted(Cause::Sigint), 130),
            (Outcome::Interrupted(Cause::BrokenPipe), 141),
            (Outcome::Interrupted(Cause::Sigterm), 143),
        ];
        let readme = include_str!("../../README.md");
        for (outcome, expected) in table {
            assert_eq!(code(outcome), expected, "{outcome:?}");
            // Every code has its row in the README's table (130 and 143 share one).
            let row = [format!("| {expected} |"), format!("| {expected}, "), format!(", {expected} |")];
            assert!(row.iter().any(|row| readme.contains(row.as_str())), "no row for {expected} in the README");
        }
        // The interrupt statuses agree with what core says a signal's status is.
        for cause in [Cause::Sigint, Cause::Sigterm, Cause::BrokenPipe] {
            assert_eq!(code(Outcome::Interrupted(cause)), cause.exit_code());
        }
    }
}
