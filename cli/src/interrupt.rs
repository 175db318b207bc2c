//! SIGINT and SIGTERM.
//!
//! `runner play` stops cleanly on the first one: no write starts after it, the request in flight finishes and
//! is journaled, the recap is printed, and runner exits 130 (SIGINT) or 143 (SIGTERM), the statuses a shell
//! gives a process that signal ended. A second signal ends runner at once, with the same status: the request
//! in flight, if any, then has no journal line. Other commands keep the default: a signal ends them.

use runner_core::interrupt::{Cause, Interrupt};
use tokio::signal::unix::{SignalKind, signal};

/// Listens for SIGINT and SIGTERM for the rest of the process, raising `interrupt` on the first and exiting on
/// the second. Registered before any org is contacted, so no signal finds the default handler mid-run.
pub fn watch(interrupt: Interrupt) {
    let (Ok(mut sigint), Ok(mut sigterm)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        // Without handlers the default stays: a signal ends runner as it ends any program.
        eprintln!("{}: cannot listen for SIGINT and SIGTERM; a signal will end the run abruptly", crate::brand::name());
        return;
    };
    tokio::spawn(async move {
        loop {
            let cause = tokio::select! {
                _ = sigint.recv() => Cause::Sigint,
                _ = sigterm.recv() => Cause::Sigterm,
            };
            if interrupt.raise(cause) {
                eprintln!(
                    "{}: {} received: finishing the request in flight, sending no further write (again to stop at \
                     once)",
                    crate::brand::name(),
                    cause.describe()
                );
            } else {
                eprintln!("{}: {} received again: stopping now", crate::brand::name(), cause.describe());
                crate::exit::now(crate::exit::Outcome::Interrupted(interrupt.cause().unwrap_or(cause)));
            }
        }
    });
}

/// `runner sim serve`: serves until SIGINT or SIGTERM.
pub async fn until_interrupted() {
    match signal(SignalKind::terminate()) {
        Ok(mut sigterm) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = sigterm.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
