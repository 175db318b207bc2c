//! What the CLI uses of runner-core's run machinery, named once: when core's modules move, this file changes
//! and the commands do not.

#[cfg(feature = "testing")]
pub use runner_core::client::{Auth, ClientOptions, SfClient};
pub use runner_core::facts::OrgFacts;
pub use runner_core::journal::Journal;
pub use runner_core::playbook::{Playbook, PlaybookError, PlaybookRoot};
pub use runner_core::report::{FailureInfo, OrgFailure, OrgReport, Outcome as StepOutcome, StepRecord};
pub use runner_core::run::{RunObserver, RunOptions, connect_and_run, connect_failure_report};
pub use runner_core::sandbox::Limits;
pub use runner_core::script::playbook_function_docs;
pub use runner_core::step::{ParamDoc, Registry};
