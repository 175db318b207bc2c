//! How a command ended, and the one mapping from that to the process's exit status (the README's table).
//!
//! Commands answer an [`Outcome`], never a number: a script tells "the playbook stopped" (1) from "that file
//! cannot be used" (2) only if no command can pick a number on its own.

use std::process::ExitCode;

use crate::engine::{OrgFailure, OrgReport};
use runner_core::interrupt::Cause;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every org ran its playbook to the end; any other command did what it was asked.
    Done,
    /// The playbook stopped on an error in at least one org (a step failed, an uncaught `throw`, a journal that
    /// cannot be opened or written). Only `play` ends so.
    PlaybookStopped,
    /// The command line was wrong, or a file or folder it names cannot be used: `init`, `credentials show`,
    /// `totp code`, `sim serve --token-file`.
    BadInput,
    /// The playbook does not compile, or `check` found problems. No org was touched.
    InvalidPlaybook,
    /// An org could not be reached, resolved or authenticated (its playbook did not start), or `sim serve` could
    /// not start the simulated org.
    Unreachable,
    /// Every org ran its playbook to the end, and at least one recorded drift (`drift(…)`, as `audit.rhai` does):
    /// the org differs from what the playbook expects. Only `play` ends so.
    Drift,
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
        Outcome::Drift => 5,
        // What a shell reports for a process the signal ended: 128 + its number, so `set -o pipefail` scripts
        // see the same as for any other tool.
        Outcome::Interrupted(Cause::Sigint) => 130,
        Outcome::Interrupted(Cause::BrokenPipe) => 141,
        Outcome::Interrupted(Cause::Sigterm) => 143,
        // sysexits.h's EX_SOFTWARE: not one of the outcomes above, which scripts act on.
        Outcome::Internal => 70,
    }
}

/// How the orgs' runs ended, together: the most severe outcome wins, as the README's table says. A stopped
/// playbook anywhere outweighs an org not reached, which outweighs drift: drift is only known of orgs whose
/// playbook ran to the end, and a CI job that sees 5 must be able to trust that every org was audited.
pub fn of_orgs<'a>(reports: impl IntoIterator<Item = &'a OrgReport>) -> Outcome {
    let mut outcome = Outcome::Done;
    for report in reports {
        match report.failure {
            Some(OrgFailure::Playbook) => return Outcome::PlaybookStopped,
            Some(OrgFailure::Connect) => outcome = Outcome::Unreachable,
            None if !report.drift.is_empty() && outcome == Outcome::Done => outcome = Outcome::Drift,
            None => {}
        }
    }
    outcome
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
            (Outcome::Drift, 5),
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
        // The README says which code a fleet of mixed outcomes gets.
        assert!(readme.contains("the most severe wins: 1, then 4, then 5"), "the README's rule for a fleet");
        // The interrupt statuses agree with what core says a signal's status is.
        for cause in [Cause::Sigint, Cause::Sigterm, Cause::BrokenPipe] {
            assert_eq!(code(Outcome::Interrupted(cause)), cause.exit_code());
        }
    }

    fn report(failure: Option<OrgFailure>, drifted: bool) -> OrgReport {
        let drift = if drifted {
            vec![runner_core::report::Drift {
                org: "sim".into(),
                target: "User u".into(),
                field: "permission set".into(),
                expected: "assigned".into(),
                actual: "absent".into(),
            }]
        } else {
            Vec::new()
        };
        OrgReport {
            target: "sim".into(),
            org_id: None,
            steps: Vec::new(),
            recap: Default::default(),
            failure,
            error: None,
            diagnostic: None,
            notes: Vec::new(),
            drift,
        }
    }

    #[test]
    fn a_fleet_gets_its_most_severe_outcome() {
        let clean = report(None, false);
        let drifted = report(None, true);
        let unreachable = report(Some(OrgFailure::Connect), false);
        // A failed playbook's drift does not make it drift: it is a failure.
        let stopped = report(Some(OrgFailure::Playbook), true);
        assert_eq!(of_orgs([&clean, &clean]), Outcome::Done);
        assert_eq!(of_orgs([&clean, &drifted]), Outcome::Drift);
        assert_eq!(of_orgs([&drifted, &unreachable]), Outcome::Unreachable);
        assert_eq!(of_orgs([&unreachable, &drifted]), Outcome::Unreachable);
        assert_eq!(of_orgs([&drifted, &unreachable, &stopped]), Outcome::PlaybookStopped);
        assert_eq!(of_orgs([&stopped, &drifted]), Outcome::PlaybookStopped);
    }
}
