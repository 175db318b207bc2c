//! The org's state behind the server: the records and schema ([`Org`]), the profile
//! metadata the Metadata API reads and writes, query cursors, the open transaction's
//! mixed-DML guard, StoreConnect's side of the sign-in, and the API versions served.
//! Everything a request can read or change, and nothing of HTTP.

use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::error::SfError;
use crate::model::{ObjectDef, Org};

/// One `recordTypeVisibilities` entry of a profile's metadata (ProfileRecordTypeVisibility,
/// salesforce-api.md D.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordTypeVisibility {
    /// `<SObject>.<DeveloperName>`.
    pub record_type: String,
    pub visible: bool,
    pub default: bool,
    /// The person-account default (Account, with Person Accounts on).
    pub person_account_default: bool,
}

/// Profile metadata the Metadata API can read and update, by profile id.
pub type ProfileMeta = IndexMap<String, Vec<RecordTypeVisibility>>;

/// A query cursor: the rest of a result, served page by page.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// `query`, `queryAll` or `tooling/query`: where the next pages are.
    pub resource: String,
    pub total_size: usize,
    pub records: Vec<Value>,
    pub batch: usize,
}

/// Everything a REST request can read or change.
#[derive(Debug, Clone)]
pub struct OrgState {
    pub org: Org,
    pub org_id: String,
    /// The running user: owner of the token.
    pub admin_id: String,
    pub meta: ProfileMeta,
    /// `(version, label)`, oldest first; the last one is the latest.
    pub versions: Vec<(String, String)>,
    pub cursors: IndexMap<String, Cursor>,
    pub next_cursor: u64,
    /// Set while a transaction that forbids mixed DML is open.
    pub mixed: Option<MixedDml>,
    /// StoreConnect's side of the org (see `storeconnect`).
    pub console: Console,
    pub instance_url: String,
    /// Daily API requests (used, max), as the HTTP layer counts them.
    pub api_usage: (u64, u64),
    /// See [`crate::Faults::composite_reads_before_writes`].
    pub composite_reads_before_writes: bool,
}

/// StoreConnect's side of the org: whom it authenticated. Kept apart from the
/// configured sync user, which any client can rewrite (see `storeconnect`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Console {
    /// 18-character id of the user StoreConnect holds credentials for.
    pub authenticated_user: Option<String>,
}

/// Tracks which kind of object (setup or not) a transaction has written first.
#[derive(Debug, Clone, Default)]
pub struct MixedDml {
    first: Option<(bool, String)>,
}

impl MixedDml {
    /// Records a write to `object`, or fails if the transaction already wrote the other
    /// kind (official "sObjects That Cannot Be Used Together in DML Operations").
    pub fn touch(&mut self, object: &ObjectDef) -> Result<(), SfError> {
        match &self.first {
            None => {
                self.first = Some((object.setup, object.name.clone()));
                Ok(())
            }
            Some((setup, _)) if *setup == object.setup => Ok(()),
            Some((_, original)) => Err(mixed_dml_error(&object.name, original)),
        }
    }
}

fn mixed_dml_error(object: &str, original: &str) -> SfError {
    SfError::bad(
        "MIXED_DML_OPERATION",
        format!(
            "DML operation on setup object is not permitted after you have updated a non-setup object (or vice versa): {object}, original object: {original}"
        ),
    )
    .with_fields::<&str>(&[])
}

/// Season label of an API version: 62.0 is Winter '25.
pub fn version_label(version: &str) -> String {
    let major: i64 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(62);
    let k = major - 62;
    let season = ["Winter", "Spring", "Summer"][k.rem_euclid(3) as usize];
    let year = 25 + k.div_euclid(3);
    format!("{season} '{year:02}")
}

/// The oldest API version a Salesforce org still serves.
pub const OLDEST_VERSION: i64 = 31;

/// The versions the simulator serves, from 31.0, ending with `latest`.
pub fn versions_up_to(latest: &str) -> Vec<(String, String)> {
    let major: i64 = latest.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(62);
    // Salesforce retired versions 21.0–30.0 in Summer '25: every org lists 31.0 onwards,
    // and clients ask for old ones (the sf CLI reads the user with v51.0).
    let mut out: Vec<(String, String)> = (OLDEST_VERSION.min(major)..major)
        .map(|m| format!("{m}.0"))
        .map(|v| {
            let label = version_label(&v);
            (v, label)
        })
        .collect();
    out.push((latest.to_string(), version_label(latest)));
    out
}

impl OrgState {
    pub fn latest(&self) -> &str {
        self.versions.last().map(|(v, _)| v.as_str()).unwrap_or("62.0")
    }

    /// The `/services/data/` version list.
    pub fn version_list(&self) -> Value {
        Value::Array(
            self.versions
                .iter()
                .map(|(v, label)| json!({"label": label, "url": format!("/services/data/v{v}"), "version": v}))
                .collect(),
        )
    }

    /// The running user's profile's metadata entries.
    pub fn admin_record_type_settings(&self) -> &[RecordTypeVisibility] {
        self.org
            .get(&self.admin_id)
            .and_then(|(_, u)| u.get("ProfileId")?.as_str())
            .and_then(|profile| self.meta.get(profile))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The record type the admin's profile defaults to for `object`.
    pub fn default_record_type_for_admin(&self, object: &str) -> Option<String> {
        let entries = self.admin_record_type_settings();
        let prefix = format!("{object}.");
        let dev_name = entries.iter().find(|e| e.default && e.record_type.starts_with(&prefix))?.record_type
            [prefix.len()..]
            .to_string();
        self.org
            .records("RecordType")
            .find(|r| {
                r.get("SobjectType").and_then(Value::as_str) == Some(object)
                    && r.get("DeveloperName").and_then(Value::as_str) == Some(dev_name.as_str())
            })
            .and_then(|r| r.get("Id")?.as_str().map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_labels() {
        assert_eq!(version_label("62.0"), "Winter '25");
        assert_eq!(version_label("60.0"), "Spring '24");
        assert_eq!(version_label("61.0"), "Summer '24");
        assert_eq!(version_label("31.0"), "Summer '14");
        assert_eq!(version_label("67.0"), "Summer '26");
        let list = versions_up_to("62.0");
        assert_eq!(list.last().map(|(v, _)| v.as_str()), Some("62.0"));
        assert!(list.len() > 3);
    }
}
