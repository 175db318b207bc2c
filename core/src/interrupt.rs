//! A run asked to stop: by SIGINT or SIGTERM, or because the reader of its output went away.
//!
//! The CLI raises an [`Interrupt`] and the run checks it before every request that writes (and before every
//! native step): a write never starts after it, while the one in flight is left to finish, so its journal line
//! is written with its real result. A re-run then reads the org and picks up where it stopped, as after any
//! failure.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::failure::StepFailure;

/// The code of what a step or write reports once a stop was asked for.
pub const CODE: &str = "runner::interrupted";

/// Why a run was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// SIGINT (Ctrl-C).
    Sigint,
    /// SIGTERM.
    Sigterm,
    /// Standard output was closed by its reader (`runner … | head -1`).
    BrokenPipe,
}

impl Cause {
    /// What to call it in a message.
    pub fn describe(self) -> &'static str {
        match self {
            Cause::Sigint => "SIGINT",
            Cause::Sigterm => "SIGTERM",
            Cause::BrokenPipe => "a closed output pipe",
        }
    }

    /// The exit status shells give a process the matching signal ended: 128 + its number.
    pub fn exit_code(self) -> u8 {
        match self {
            Cause::Sigint => 130,
            Cause::Sigterm => 143,
            Cause::BrokenPipe => 141,
        }
    }

    fn to_raw(self) -> u8 {
        self.exit_code()
    }

    fn from_raw(raw: u8) -> Option<Cause> {
        [Cause::Sigint, Cause::Sigterm, Cause::BrokenPipe].into_iter().find(|c| c.to_raw() == raw)
    }
}

/// A flag shared by everything one invocation runs; cheap to clone. The first cause raised is kept.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicU8>);

impl Interrupt {
    /// Asks every run sharing this flag to stop. Answers whether this was the first request.
    pub fn raise(&self, cause: Cause) -> bool {
        self.0.compare_exchange(0, cause.to_raw(), Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }

    /// Why a stop was asked for, if it was.
    pub fn cause(&self) -> Option<Cause> {
        Cause::from_raw(self.0.load(Ordering::SeqCst))
    }

    /// `Err` once a stop was asked for: what a step or write reports instead of starting.
    ///
    /// # Errors
    /// [`StepFailure`] `runner::interrupted`.
    pub fn check(&self) -> Result<(), StepFailure> {
        match self.cause() {
            None => Ok(()),
            Some(cause) => {
                Err(StepFailure::new(CODE, format!("stopped by {}: no further write was sent", cause.describe()))
                    .hint("run the playbook again: it reads the org and picks up where this run stopped"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_cause_is_kept() {
        let flag = Interrupt::default();
        assert!(flag.check().is_ok());
        assert!(flag.raise(Cause::Sigterm));
        assert!(!flag.raise(Cause::Sigint));
        assert_eq!(flag.clone().cause(), Some(Cause::Sigterm));
        let failure = flag.check().err().map(|f| f.code);
        assert_eq!(failure.as_deref(), Some("runner::interrupted"));
        assert_eq!([Cause::Sigint, Cause::Sigterm, Cause::BrokenPipe].map(Cause::exit_code), [130, 143, 141]);
    }
}
