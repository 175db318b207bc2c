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

pub mod client;
pub mod credentials;
pub mod facts;
pub mod interrupt;
pub mod journal;
mod plan;
pub mod playbook;
mod prefetch;
pub mod redact;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod step;
pub mod totp;

pub use report::{Change, OrgReport, Outcome, Recap, StepRecord};
pub use step::{Step, StepCtx, StepFailure, StepMeta, StepOutput};
