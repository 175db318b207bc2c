//! The parsed, not yet schema-checked, form of a query. Every name keeps the byte
//! offset where it starts, for the caret in error messages.

/// A name as written, with where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Name {
    pub text: String,
    pub at: usize,
}

/// A dotted field path (`Profile.UserLicense.Name`); `segments` as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    pub segments: Vec<String>,
    pub at: usize,
}

impl Path {
    pub fn text(&self) -> String {
        self.segments.join(".")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SelectItem {
    Field(Path),
    /// `COUNT()` (arg `None`) or `COUNT(field)`, optionally aliased.
    Count {
        at: usize,
        arg: Option<Path>,
        alias: Option<Name>,
    },
    /// A parent-to-child sub-query; its `from` is a child relationship name.
    SubQuery(Box<Select>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Select {
    pub at: usize,
    pub items: Vec<SelectItem>,
    pub from: Name,
    pub filter: Option<Cond>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LitKind {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    /// Days since the epoch.
    Date(i64),
    /// Seconds since the epoch.
    DateTime(i64),
    /// `TODAY` (0), `YESTERDAY` (-1), `TOMORROW` (1): days relative to today.
    RelativeDay(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Literal {
    pub kind: LitKind,
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp { path: Path, op: CmpOp, value: Literal },
    Like { path: Path, pattern: Literal },
    In { path: Path, negated: bool, values: Vec<Literal> },
    SemiJoin { path: Path, negated: bool, query: Box<Select> },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrderItem {
    pub path: Path,
    pub descending: bool,
    /// `Some(true)` for NULLS FIRST, `Some(false)` for NULLS LAST.
    pub nulls_first: Option<bool>,
}
