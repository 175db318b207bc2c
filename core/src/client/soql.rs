//! SOQL string literals: every value a step or playbook puts into a query goes through
//! here, so that a quote in a username cannot change the query.

/// Escapes a value for a single-quoted SOQL string literal.
pub fn soql_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out
}

/// A single-quoted SOQL string literal.
pub fn soql_quote(value: &str) -> String {
    format!("'{}'", soql_escape(value))
}
