//! Playbooks: the engine that runs them, the functions they call, and `runner check`.

pub(crate) mod bindings;
mod check;
pub mod engine;

pub use bindings::{FunctionDoc, playbook_function_docs};
pub use engine::{Playbook, PlaybookRoot};
