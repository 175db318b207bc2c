//! Everything a native step needs, in one import: `use runner_core::step::prelude::*;`.

pub use schemars::JsonSchema;
pub use serde::Deserialize;
pub use serde_json::{Map, Value, json};

pub use super::{
    Observed, Planned, Read, Step, StepCtx, StepFailure, StepMeta, StepOutput, Write, Written, id18, int_field,
    path_field, same_id, soql_list, str_field,
};
pub use crate::client::RecordTypeVisibility;
pub use crate::client::soql::soql_quote;
pub use crate::report::Change;
