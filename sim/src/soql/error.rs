//! SOQL errors with Salesforce's error codes and message texts.
//!
//! Errors tied to a place in the query carry Salesforce's caret form:
//! `"\n<query line>\n<spaces>^\nERROR at Row:<r>:Column:<c>\n<text>"`.

/// The `errorCode` Salesforce answers for a failed query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    MalformedQuery,
    InvalidField,
    InvalidType,
    InvalidQueryFilterOperator,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedQuery => "MALFORMED_QUERY",
            ErrorCode::InvalidField => "INVALID_FIELD",
            ErrorCode::InvalidType => "INVALID_TYPE",
            ErrorCode::InvalidQueryFilterOperator => "INVALID_QUERY_FILTER_OPERATOR",
        }
    }
}

/// A query Salesforce would reject: the `errorCode` and the `message` of the
/// `[{"message":…,"errorCode":…}]` body (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct SoqlError {
    code: ErrorCode,
    message: String,
}

impl SoqlError {
    /// An error without a position (`SOQL statements cannot be empty or null`).
    pub(crate) fn plain(code: ErrorCode, message: impl Into<String>) -> Self {
        SoqlError { code, message: message.into() }
    }

    /// An error pointing at byte offset `at` of `text`, in Salesforce's caret form.
    pub(crate) fn at(code: ErrorCode, text: &str, at: usize, message: impl AsRef<str>) -> Self {
        let (row, col, line) = locate(text, at);
        let caret = format!("{}^", " ".repeat(col - 1));
        SoqlError { code, message: format!("\n{line}\n{caret}\nERROR at Row:{row}:Column:{col}\n{}", message.as_ref()) }
    }

    /// `MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE` or `INVALID_QUERY_FILTER_OPERATOR`.
    pub fn error_code(&self) -> &'static str {
        self.code.as_str()
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The `message` field of the error body, caret prefix included.
    pub fn message(&self) -> String {
        self.message.clone()
    }
}

/// 1-based row and column (in characters) of byte offset `at`, and the text of that row.
fn locate(text: &str, at: usize) -> (usize, usize, &str) {
    let at = at.min(text.len());
    let mut row = 1;
    let mut line_start = 0;
    for (i, ch) in text.char_indices() {
        if i >= at {
            break;
        }
        if ch == '\n' {
            row += 1;
            line_start = i + 1;
        }
    }
    let line_end = text[line_start..].find('\n').map(|n| line_start + n).unwrap_or(text.len());
    let line = text[line_start..line_end].trim_end_matches('\r');
    let col = text[line_start..at].chars().count() + 1;
    (row, col, line)
}

pub(crate) const NO_SUCH_COLUMN_TAIL: &str = "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";
pub(crate) const RELATIONSHIP_TAIL: &str = "If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.";
pub(crate) const NOT_SUPPORTED_TAIL: &str = "If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.";

pub(crate) fn no_such_column(field: &str, entity: &str) -> String {
    format!("No such column '{field}' on entity '{entity}'. {NO_SUCH_COLUMN_TAIL}")
}

pub(crate) fn bad_relationship(name: &str) -> String {
    format!("Didn't understand relationship '{name}' in field path. {RELATIONSHIP_TAIL}")
}

pub(crate) fn bad_child_relationship(name: &str) -> String {
    format!("Didn't understand relationship '{name}' in FROM part of query call. {RELATIONSHIP_TAIL}")
}

pub(crate) fn not_supported(object: &str) -> String {
    format!("sObject type '{object}' is not supported. {NOT_SUPPORTED_TAIL}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_points_at_the_column_on_the_right_row() {
        let e = SoqlError::at(ErrorCode::MalformedQuery, "SELECT Id\nFROM Account\nWHERE X", 15, "boom");
        assert_eq!(e.message(), "\nFROM Account\n     ^\nERROR at Row:2:Column:6\nboom");
        assert_eq!(e.error_code(), "MALFORMED_QUERY");
        assert_eq!(e.to_string(), format!("MALFORMED_QUERY: {}", e.message()));
    }
}
