//! Tests of the Salesforce client: recorded fixtures, and a tiny HTTP server on
//! 127.0.0.1 standing in for an org.

mod fixtures;
mod hostile;
mod mock;
mod redaction;
mod server;
mod yaml;

use std::path::PathBuf;
use std::time::Duration;

use super::{ClientOptions, RetryPolicy};

/// Options for a client talking to a test server: API version pinned (no version
/// round trip), and two retries with millisecond delays so retry tests stay quick.
pub(super) fn test_options() -> ClientOptions {
    ClientOptions {
        api_version: Some("62.0".into()),
        timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        ..ClientOptions::default()
    }
}

/// A recorded fixture under the repository's `fixtures/recorded/` (a verbatim copy of
/// the responses recorded from real orgs, with their licences).
pub(super) fn fixture(relative: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "fixtures", "recorded", relative].iter().collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// Asserts that `secret` shows nowhere in an error: Display, Debug, help, or the
/// rendered miette report.
pub(super) fn assert_hidden(err: &super::ClientError, secret: &str) {
    use miette::Diagnostic;
    let display = err.to_string();
    let debug = format!("{err:?}");
    let help = err.help().map(|h| h.to_string()).unwrap_or_default();
    let mut report = String::new();
    let handler = miette::NarratableReportHandler::new();
    handler.render_report(&mut report, err).expect("render");
    for (what, text) in [("Display", &display), ("Debug", &debug), ("help", &help), ("report", &report)] {
        assert!(!text.contains(secret), "the secret shows in the error's {what}: {text}");
    }
    assert!(err.code().is_some_and(|c| c.to_string().starts_with("runner::sf::")), "no stable code: {err:?}");
    assert!(!help.is_empty(), "no help: {err:?}");
}
