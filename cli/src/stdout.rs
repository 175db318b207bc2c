//! Standard output that may be closed under runner (`runner steps | head -1`).
//!
//! Rust ignores SIGPIPE, so a write to a closed pipe fails with `BrokenPipe`, and `println!` panics on it.
//! The workspace forbids `unsafe`, so SIGPIPE's default cannot be restored; instead every `println!` and
//! `print!` of the CLI comes here (main.rs shadows the macros for the whole crate), and a failed write is taken
//! as "the reader has gone", as other command-line tools take it:
//!
//! - most commands stop at once, printing nothing more, with exit status 141 (128 + SIGPIPE: what a shell
//!   reports for `cat` or `grep` in the same place, so `set -o pipefail` scripts see the same);
//! - `runner play` stops as on SIGINT ([`crate::interrupt`]): no write starts after it, the request in flight
//!   finishes and is journaled, and it exits 141. Killing it at once would leave a half-done setup.
//!
//! Any other error writing stdout (a full disk under `> file`) is said once on stderr and handled the same way.
//! Writes to stderr ignore errors: there is nowhere left to report them.
//!
//! Being the one way out, this is also where messages get the running binary's name ([`crate::brand`]); only
//! [`secret_line`] prints as is, as it prints what a file holds.

use std::fmt;
use std::io::{self, Write as _};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use runner_core::interrupt::{Cause, Interrupt};

/// Set once stdout failed: nothing more is written to it.
static CLOSED: AtomicBool = AtomicBool::new(false);
/// The runs to stop when stdout closes, if a `runner play` is under way.
static RUNS: OnceLock<Interrupt> = OnceLock::new();

/// From now on, a closed stdout stops these runs instead of ending the process.
pub fn stop_runs_on_close(interrupt: Interrupt) {
    let _ = RUNS.set(interrupt);
}

/// `println!`.
pub fn line(args: fmt::Arguments<'_>) {
    write(&branded(args), true);
}

/// `print!`.
pub fn text(args: fmt::Arguments<'_>) {
    write(&branded(args), false);
}

/// A line holding a secret or a username, which a rewrite must never alter (`credentials show`, `totp code`).
pub fn secret_line(args: fmt::Arguments<'_>) {
    write(&fmt::format(args), true);
}

/// `eprintln!`: best effort.
pub fn error_line(args: fmt::Arguments<'_>) {
    let text = branded(args);
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.write_all(b"\n"));
}

fn branded(args: fmt::Arguments<'_>) -> String {
    let text = fmt::format(args);
    match crate::brand::rewrite(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(rewritten) => rewritten,
    }
}

/// Writes bytes produced elsewhere (shell completions) with the same handling.
pub fn bytes(bytes: &[u8]) {
    if CLOSED.load(Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(err) = out.write_all(bytes).and_then(|()| out.flush()) {
        drop(out);
        closed(&err);
    }
}

fn write(text: &str, newline: bool) {
    if CLOSED.load(Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| if newline { out.write_all(b"\n") } else { Ok(()) });
    if let Err(err) = written {
        drop(out);
        closed(&err);
    }
}

fn closed(err: &io::Error) {
    if CLOSED.swap(true, Ordering::SeqCst) {
        return;
    }
    if err.kind() != io::ErrorKind::BrokenPipe {
        error_line(format_args!("{}: cannot write to standard output ({err}); stopping", crate::brand::name()));
    }
    match RUNS.get() {
        Some(runs) => {
            runs.raise(Cause::BrokenPipe);
        }
        None => crate::exit::now(crate::exit::Outcome::Interrupted(Cause::BrokenPipe)),
    }
}
