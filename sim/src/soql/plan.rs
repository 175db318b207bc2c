//! A query bound to the org's schema: canonical names, typed filter operands, and the
//! output shape. [`super::bind`] builds it; [`super::eval`] and [`super::columns`] read it.

use std::collections::HashSet;

use serde_json::Value;

use super::ast::CmpOp;
use crate::model::{FieldDef, ObjectDef};

/// One step through a parent relationship (`Profile` via `ProfileId`).
#[derive(Debug)]
pub(crate) struct Hop<'a> {
    pub via: &'a FieldDef,
    /// Canonical relationship name: the key in the response.
    pub rel: &'a str,
}

/// A resolved field path: zero or more hops, then a field of the last object.
#[derive(Debug)]
pub(crate) struct FieldPath<'a> {
    pub hops: Vec<Hop<'a>>,
    pub field: &'a FieldDef,
}

/// A filter operand converted to the field's type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Null,
    Bool(bool),
    Num(f64),
    /// Lower-cased: string comparison is case-insensitive.
    Text(String),
    /// 18-character id.
    Id(String),
    /// A date or dateTime literal as the half-open range `[lo, hi)` of days or seconds.
    Range(i64, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LikeTok {
    Any,
    One,
    Char(char),
}

#[derive(Debug)]
pub(crate) enum Pred<'a> {
    All(Vec<Pred<'a>>),
    Any(Vec<Pred<'a>>),
    Not(Box<Pred<'a>>),
    Cmp {
        path: FieldPath<'a>,
        op: CmpOp,
        operand: Operand,
    },
    In {
        path: FieldPath<'a>,
        negated: bool,
        operands: Vec<Operand>,
    },
    Like {
        path: FieldPath<'a>,
        pattern: Vec<LikeTok>,
    },
    /// A semi-join (or anti-join when negated), its sub-query already run.
    InSet {
        path: FieldPath<'a>,
        negated: bool,
        ids: HashSet<String>,
    },
}

#[derive(Debug)]
pub(crate) struct SortKey<'a> {
    pub path: FieldPath<'a>,
    pub descending: bool,
    pub nulls_first: bool,
}

/// A node of the response shape, in SELECT order.
#[derive(Debug)]
pub(crate) enum Column<'a> {
    Field { field: &'a FieldDef },
    Parent { hop_via: &'a FieldDef, rel: &'a str, children: Vec<Column<'a>> },
    Children(Box<ChildPlan<'a>>),
}

#[derive(Debug)]
pub(crate) struct ChildPlan<'a> {
    /// Canonical child relationship name: the key in the response.
    pub rel: &'a str,
    pub object: &'a ObjectDef,
    /// The child's lookup to the parent (`AssigneeId`).
    pub parent_field: &'a FieldDef,
    pub columns: Vec<Column<'a>>,
    pub filter: Option<Pred<'a>>,
    pub order: Vec<SortKey<'a>>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct Aggregate<'a> {
    /// `expr0`, … or the alias.
    pub key: String,
    /// `COUNT(Id)` as Salesforce names the column.
    pub display: String,
    pub arg: FieldPath<'a>,
}

#[derive(Debug)]
pub(crate) enum Shape<'a> {
    /// `SELECT COUNT() …`: only totalSize.
    CountOnly,
    /// Aggregate functions without GROUP BY: one `AggregateResult` row.
    Aggregates(Vec<Aggregate<'a>>),
    Rows(Vec<Column<'a>>),
}

#[derive(Debug)]
pub(crate) struct Plan<'a> {
    pub object: &'a ObjectDef,
    pub shape: Shape<'a>,
    pub filter: Option<Pred<'a>>,
    pub order: Vec<SortKey<'a>>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
    /// Selects `FullName` or `Metadata`: the result may have one row at most.
    pub one_row_only: bool,
}

/// The JSON null every missing or write-only field reads as.
pub(crate) static NULL: Value = Value::Null;
