//! `runner`: sets up and maintains the StoreConnect sync user in Salesforce orgs from
//! Rhai playbooks. The command is the library's [`runner_cli::Runner`]; this binary gives it runner's steps
//! and playbooks, as a partner's binary gives it its own.

use std::process::ExitCode;

fn main() -> ExitCode {
    runner_cli::Runner::new().steps(runner_steps::registry()).playbooks(runner_cli::PLAYBOOKS).run()
}
