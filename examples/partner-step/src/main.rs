//! `acme-runner`: runner, with Acme's step and playbook beside runner's own.

use std::process::ExitCode;

fn main() -> ExitCode {
    runner_cli::Runner::new()
        .name("acme-runner")
        .about("runner, with Acme's permission set groups.")
        .version(env!("CARGO_PKG_VERSION"))
        .steps(partner_step::registry())
        .playbooks(runner_cli::PLAYBOOKS)
        .playbooks(partner_step::PLAYBOOKS)
        .sim_seed(partner_step::SIM_SEED)
        .run()
}
