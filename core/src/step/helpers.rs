//! Reading Salesforce records as steps find them: fields by name, nested relationship
//! fields, `IN (…)` lists, and ids in their two forms.

use serde_json::{Map, Value};

use crate::client::soql::soql_quote;

pub fn str_field<'a>(record: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

/// A number field as an integer (Salesforce sends counts as JSON numbers, sometimes floats).
pub fn int_field(record: &Map<String, Value>, field: &str) -> i64 {
    record.get(field).and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))).unwrap_or(0)
}

/// A nested relationship field: `Profile.Name`.
pub fn path_field<'a>(record: &'a Map<String, Value>, relationship: &str, field: &str) -> Option<&'a str> {
    record.get(relationship)?.get(field)?.as_str()
}

/// A SOQL `IN (…)` list.
pub fn soql_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = values.into_iter().map(soql_quote).collect();
    format!("({})", quoted.join(", "))
}

/// Salesforce ids name the same record on their first 15 characters (case-sensitive);
/// the 18-character form only adds a case-insensitive checksum.
pub fn same_id(a: &str, b: &str) -> bool {
    a.len() >= 15 && b.len() >= 15 && a.get(..15) == b.get(..15)
}

/// The 18-character form of a 15-character id (the suffix encodes the case of each
/// group of five characters); other lengths are returned as they are.
pub fn id18(id: &str) -> String {
    if id.len() != 15 || !id.is_ascii() {
        return id.to_string();
    }
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut out = id.to_string();
    for chunk in id.as_bytes().chunks(5) {
        let bits =
            chunk.iter().enumerate().fold(0usize, |acc, (i, b)| acc | (usize::from(b.is_ascii_uppercase()) << i));
        out.push(ALPHABET[bits] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_on_fifteen_characters() {
        // Salesforce's documented example: 001D000000IqhSL is 001D000000IqhSLIAZ.
        assert_eq!(id18("001D000000IqhSL"), "001D000000IqhSLIAZ");
        assert_eq!(id18("001D000000IqhSLIAZ"), "001D000000IqhSLIAZ");
        assert!(same_id("001D000000IqhSL", "001D000000IqhSLIAZ"));
        assert!(!same_id("001D000000IqhSl", "001D000000IqhSLIAZ"));
        assert!(!same_id("", ""));
    }
}
