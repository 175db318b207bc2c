//! The run journal: one JSON line per write request and its result, appended as the
//! run goes, so that a consultant can hand it over and an interrupted run leaves a
//! trace. Secrets never reach it: values of secret-bearing fields are replaced before
//! a line is written.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value};

/// Field names whose values are secrets wherever they appear in a request.
const SECRET_FIELDS: &[&str] = &[
    "SharedKey",
    "Password",
    "NewPassword",
    "access_token",
    "refresh_token",
    "client_secret",
    "assertion",
    "sessionId",
];

pub const REDACTED: &str = "[REDACTED]";

/// Replaces the value of every secret-bearing field, at any depth.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let secret = SECRET_FIELDS.iter().any(|s| s.eq_ignore_ascii_case(k));
                    (k.clone(), if secret && !v.is_null() { Value::String(REDACTED.into()) } else { redact(v) })
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// An append-only journal file shared by every org of a run.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    run_id: String,
}

#[derive(Debug, Serialize)]
pub struct Entry<'a> {
    pub time: String,
    pub run_id: &'a str,
    pub target: &'a str,
    pub org_id: &'a str,
    pub step: &'a str,
    pub check_mode: bool,
    pub method: &'a str,
    pub path: &'a str,
    pub request: Value,
    pub status: &'a str,
    pub result: Value,
    pub duration_ms: u64,
}

impl Journal {
    /// Opens (creating folders as needed) a journal that appends to `path`.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let run_id = format!(
            "{}-{}",
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0),
            std::process::id()
        );
        Ok(Journal { path: path.to_path_buf(), file: Mutex::new(file), run_id })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Appends one entry. The request and result are redacted here, whatever the caller passed.
    pub fn append(&self, mut entry: Entry<'_>) -> std::io::Result<()> {
        entry.request = redact(&entry.request);
        entry.result = redact(&entry.result);
        let mut line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = self.file.lock().map_err(|_| std::io::Error::other("journal lock poisoned"))?;
        file.write_all(&line)?;
        file.flush()
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_fields_are_redacted_at_any_depth() {
        let value = json!({
            "records": [{"attributes": {"type": "TwoFactorInfo"}, "SharedKey": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "UserId": "005"}],
            "client_secret": "s3cr3t",
            "Name": "kept"
        });
        let text = redact(&value).to_string();
        assert!(!text.contains("JBSWY3DP"));
        assert!(!text.contains("s3cr3t"));
        assert!(text.contains("kept"));
        assert!(text.contains(REDACTED));
    }

    #[test]
    fn entries_append_as_json_lines() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested/journal.jsonl");
        let journal = Journal::open(&path)?;
        for step in ["a", "b"] {
            journal.append(Entry {
                time: now_rfc3339(),
                run_id: journal.run_id(),
                target: "sim",
                org_id: "00D",
                step,
                check_mode: false,
                method: "POST",
                path: "/sobjects/Account",
                request: json!({"Name": "x", "Password": "hunter2"}),
                status: "ok",
                result: json!({"id": "001"}),
                duration_ms: 1,
            })?;
        }
        let text = std::fs::read_to_string(&path)?;
        let lines: Vec<Value> = text.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["step"], "b");
        assert!(!text.contains("hunter2"));
        Ok(())
    }
}
