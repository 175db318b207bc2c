//! Record writes with field validation and the Salesforce rules the steps meet.
//!
//! `write` (insert, update, delete) → `rules` (one function per object) → `coerce`
//! (field values) and `derived` (fields and records Salesforce computes).

mod coerce;
mod derived;
mod rules;
mod write;

pub(crate) use coerce::cannot_deserialize;
pub(crate) use derived::{blank_record, compute_names, derive_org};
pub(crate) use write::{delete, insert, object_def, update};
