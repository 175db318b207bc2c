//! The sim's SOQL: a hand-written lexer and recursive-descent parser, a binder that
//! checks the query against the org's schema with Salesforce's error codes and
//! messages, and an evaluator that shapes records exactly as the REST query resource
//! returns them.
//!
//! Supported grammar (keywords case-insensitive):
//!
//! ```text
//! query      := SELECT item {, item} FROM Object [WHERE cond] [ORDER BY order {, order}]
//!               [LIMIT n] [OFFSET n]
//! item       := path | COUNT() | COUNT(path) [alias]
//!             | ( SELECT path {, path} FROM ChildRelationship [WHERE cond] [ORDER BY …] [LIMIT n] [OFFSET n] )
//! path       := Field | Relationship{.Relationship}.Field
//! cond       := unary {AND unary} | unary {OR unary}      -- mixing AND/OR needs parentheses
//! unary      := NOT unary | ( cond ) | simple
//! simple     := path (= | != | <> | < | <= | > | >=) value
//!             | path LIKE 'pattern'                       -- % and _, case-insensitive
//!             | path [NOT] IN ( value {, value} )
//!             | path [NOT] IN ( SELECT idField FROM Object [WHERE cond] )   -- semi/anti-join
//! value      := 'string' | number | TRUE | FALSE | NULL | YYYY-MM-DD | YYYY-MM-DDThh:mm:ssZ
//!             | TODAY | YESTERDAY | TOMORROW
//! order      := path [ASC | DESC] [NULLS FIRST | NULLS LAST]
//! ```
//!
//! `queryAll` ([`Scope::include_deleted`]) also returns deleted rows; the Tooling API
//! ([`Scope::tooling`]) also knows the Tooling-only fields (`Profile.FullName`).

mod ast;
mod bind;
mod columns;
mod dates;
mod error;
mod eval;
mod lexer;
mod parser;
mod plan;

#[cfg(test)]
mod tests;

pub use error::{ErrorCode, SoqlError};

use crate::model::Org;

/// A parsed query. Parsing checks syntax only; [`execute`] and [`columns`] check it
/// against an org's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    text: String,
    select: ast::Select,
}

impl Query {
    /// The query text as received.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The FROM object as written (not checked against a schema).
    pub fn object_name(&self) -> &str {
        &self.select.from.text
    }

    /// `SELECT COUNT() …`: the response is only `totalSize` with no records.
    pub fn is_count_only(&self) -> bool {
        self.select.items.iter().any(|i| matches!(i, ast::SelectItem::Count { arg: None, .. }))
    }
}

/// All matching records, already shaped; the server paginates them.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    /// `totalSize`: every matching row (after LIMIT/OFFSET), independent of paging.
    /// For `COUNT()` the count, with `records` empty.
    pub total_size: usize,
    pub records: Vec<serde_json::Value>,
}

/// Which API surface a query runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope {
    /// `/tooling/query`: Tooling-only fields exist.
    pub tooling: bool,
    /// `/queryAll`: deleted rows are returned too.
    pub include_deleted: bool,
}

/// Parses SOQL text; errors are `MALFORMED_QUERY` in Salesforce's caret form.
pub fn parse(text: &str) -> Result<Query, SoqlError> {
    let select = parser::parse_select(text)?;
    Ok(Query { text: text.to_string(), select })
}

/// Runs a query against the org. `api_version` is like `"62.0"` and goes into each
/// record's `attributes.url`.
pub fn execute(org: &Org, query: &Query, api_version: &str) -> Result<QueryOutput, SoqlError> {
    execute_in(org, query, api_version, Scope::default())
}

/// [`execute`] on a given API surface.
pub fn execute_in(org: &Org, query: &Query, api_version: &str, scope: Scope) -> Result<QueryOutput, SoqlError> {
    execute_on(org, query, api_version, dates::today(), scope)
}

/// Same as [`execute_in`], with TODAY fixed to `today` (days since 1970-01-01).
fn execute_on(org: &Org, query: &Query, api_version: &str, today: i64, scope: Scope) -> Result<QueryOutput, SoqlError> {
    let binder = bind::Binder { org, text: &query.text, today, scope };
    let plan = binder.plan(&query.select)?;
    let output = eval::run(org, &plan, api_version, scope);
    // The plan already refuses a one-row field without an `Id =` filter; a result of
    // several rows is refused the same way whatever the filter.
    if plan.one_row_only && output.total_size > 1 {
        return Err(SoqlError::plain(ErrorCode::MalformedQuery, bind::ONE_ROW_MESSAGE));
    }
    Ok(output)
}

/// The column metadata `GET …/query?q=…&columns=true` answers (no records).
pub fn columns(org: &Org, query: &Query) -> Result<serde_json::Value, SoqlError> {
    columns_in(org, query, Scope::default())
}

/// [`columns`] on a given API surface.
pub fn columns_in(org: &Org, query: &Query, scope: Scope) -> Result<serde_json::Value, SoqlError> {
    let binder = bind::Binder { org, text: &query.text, today: dates::today(), scope };
    let plan = binder.plan(&query.select)?;
    Ok(columns::metadata(&plan))
}
