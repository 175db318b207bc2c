//! runner-core: the engine behind `runner`.
//!
//! - [`playbook`]: the hardened Rhai engine, module loading, pre-flight checks and
//!   diagnostics that point into `.rhai` files.
//! - [`step`]: the contract every native step implements (observe, then apply).
//! - [`run`]: one playbook run against one org: check mode, the `sf` module, records.
//! - [`client`]: the Salesforce client (REST, composite, collections, Metadata SOAP).
//! - [`journal`]: the append-only record of every write request.
//! - [`redact`]: the one redaction rule for secrets, and the registry of the run's secrets.
//! - [`credentials`]: the sync user's credentials file (username, login URL, password, TOTP).
//! - [`totp`]: the sync user's TOTP secret, its codes and otpauth URI.

mod ahead;
pub mod client;
pub mod codes;
pub mod credentials;
pub mod diagnostic;
pub mod facts;
pub mod failure;
pub mod interrupt;
pub mod journal;
mod plan;
pub mod script;

/// The playbook API by its old path: the engine and its diagnostics.
pub mod playbook {
    pub use crate::diagnostic::{Location, PlaybookError, plain_message};
    pub use crate::script::engine::{Playbook, PlaybookRoot};
}
pub mod read;
pub mod redact;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod schema;
pub mod session;
pub mod step;
pub mod suggest;
pub mod totp;
pub mod whole_file;
pub mod write;

pub use report::{Change, OrgReport, Outcome, Recap, StepRecord};
pub use step::{Step, StepCtx, StepFailure, StepMeta, StepOutput};
