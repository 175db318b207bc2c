//! The run journal: one JSON line per write request and its result, appended as the
//! run goes, so that a consultant can hand it over and an interrupted run leaves a
//! trace. Secrets never reach it: values of secret-bearing fields are replaced before
//! a line is written.

use std::fs::File;
#[cfg(not(unix))]
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

pub use crate::redact::REDACTED;

/// Redacts a journal line's request or result with the one rule of [`crate::redact`]:
/// secret-named fields at any depth, and every known secret of the run wherever it
/// appears.
pub fn redact(value: &Value) -> Value {
    crate::redact::value(value)
}

/// Why the journal cannot be used. A run whose journal fails stops before its next
/// write: a write that cannot be journaled is not sent.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
pub enum JournalError {
    #[error("refusing the journal {}: it is a symbolic link", .path.display())]
    #[diagnostic(
        code(runner::journal::symlink),
        help("give --journal the real file's path; runner does not follow a link there, which could point anywhere")
    )]
    Symlink { path: PathBuf },
    #[error("refusing the journal {}: it is {kind}, not a regular file", .path.display())]
    #[diagnostic(code(runner::journal::not_a_file), help("give --journal a file path (it is created if missing)"))]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("cannot open the journal {}: {reason}", .path.display())]
    #[diagnostic(code(runner::journal::open), help("{help}"))]
    Open { path: PathBuf, reason: String, help: String },
    #[error("cannot write the journal {}: {reason}", .path.display())]
    #[diagnostic(
        code(runner::journal::write),
        help(
            "the run stopped before its next write, so that no write goes unrecorded: free disk space or restore the journal's folder, then run again (it picks up where the org stands)"
        )
    )]
    Write { path: PathBuf, reason: String },
}

/// Where journal lines go: the opened file, or a writer a test injects.
struct Sink {
    writer: Box<dyn Write + Send>,
    /// The (device, inode) of the file opened, to notice it removed or replaced.
    identity: Option<(u64, u64)>,
}

/// An append-only journal file shared by every org of a run.
pub struct Journal {
    path: PathBuf,
    sink: Mutex<Sink>,
    run_id: String,
    /// The first failure; every later append fails with it.
    failure: Mutex<Option<JournalError>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).field("run_id", &self.run_id).finish_non_exhaustive()
    }
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
    /// `sending` on the line written before the request goes out; `ok` or `failed` on
    /// the line after.
    pub status: &'a str,
    pub result: Value,
    pub duration_ms: u64,
}

fn new_run_id() -> String {
    format!(
        "{}-{}",
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0),
        std::process::id()
    )
}

impl Journal {
    /// Opens a journal that appends to `path`, creating it with mode 0600 and missing
    /// folders with mode 0700. Refuses a symbolic link (the last component is opened
    /// with O_NOFOLLOW) and anything but a regular file or a character device (so that
    /// `/dev/null` still discards the journal).
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let open_error = |reason: String, help: &str| JournalError::Open {
            path: path.to_path_buf(),
            reason,
            help: help.to_string(),
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(parent).map_err(|e| {
                open_error(
                    format!("cannot create its folder {}: {e}", parent.display()),
                    "give --journal a path in a folder you can write",
                )
            })?;
        }
        let (file, identity) = open_file(path)?;
        Ok(Journal {
            path: path.to_path_buf(),
            sink: Mutex::new(Sink { writer: Box::new(file), identity }),
            run_id: new_run_id(),
            failure: Mutex::new(None),
        })
    }

    /// A journal that writes to `writer`, for tests of what a failing journal does.
    pub fn with_writer(path: impl Into<PathBuf>, writer: Box<dyn Write + Send>) -> Journal {
        Journal {
            path: path.into(),
            sink: Mutex::new(Sink { writer, identity: None }),
            run_id: new_run_id(),
            failure: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The failure that stopped the journal, if one did.
    pub fn failure(&self) -> Option<JournalError> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Appends one entry. The request and result are redacted here, whatever the caller
    /// passed. After one failure, every later append fails too.
    pub fn append(&self, mut entry: Entry<'_>) -> Result<(), JournalError> {
        if let Some(failure) = self.failure() {
            return Err(failure);
        }
        entry.request = redact(&entry.request);
        entry.result = redact(&entry.result);
        let redacted_path = crate::redact::text(entry.path).into_owned();
        let written = serde_json::to_value(&entry).map_err(std::io::Error::other).and_then(|mut line| {
            line["path"] = Value::String(redacted_path);
            let mut line = serde_json::to_vec(&line).map_err(std::io::Error::other)?;
            line.push(b'\n');
            let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(identity) = sink.identity
                && still_there(&self.path) != Some(identity)
            {
                return Err(std::io::Error::other("it was removed or replaced while the run was going"));
            }
            sink.writer.write_all(&line)?;
            sink.writer.flush()
        });
        written.map_err(|e| {
            let failure = JournalError::Write { path: self.path.clone(), reason: e.to_string() };
            *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(failure.clone());
            failure
        })
    }
}

#[cfg(unix)]
fn open_file(path: &Path) -> Result<(File, Option<(u64, u64)>), JournalError> {
    use rustix::fs::{Mode, OFlags};
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
    // O_NONBLOCK: opening a FIFO for writing otherwise waits for a reader, forever.
    let flags =
        OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = match rustix::fs::open(path, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::LOOP) => return Err(JournalError::Symlink { path: path.to_path_buf() }),
        Err(rustix::io::Errno::NXIO) => {
            return Err(JournalError::NotAFile { path: path.to_path_buf(), kind: "a FIFO or a socket" });
        }
        Err(rustix::io::Errno::ISDIR) => {
            return Err(JournalError::NotAFile { path: path.to_path_buf(), kind: "a folder" });
        }
        Err(rustix::io::Errno::NOENT) => {
            return Err(JournalError::Open {
                path: path.to_path_buf(),
                reason: "its folder does not exist".into(),
                help: "give --journal a path in a folder that exists".into(),
            });
        }
        Err(errno) => {
            return Err(JournalError::Open {
                path: path.to_path_buf(),
                reason: std::io::Error::from(errno).to_string(),
                help: "give --journal a file you can write".into(),
            });
        }
    };
    let meta = file.metadata().map_err(|e| JournalError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
        help: "give --journal a file you can write".into(),
    })?;
    let kind = meta.file_type();
    if kind.is_char_device() {
        return Ok((file, None));
    }
    if !kind.is_file() {
        let kind = if kind.is_fifo() || kind.is_socket() { "a FIFO or a socket" } else { "a special file" };
        return Err(JournalError::NotAFile { path: path.to_path_buf(), kind });
    }
    // A journal an older runner created 0644: it holds what the run did, keep it private.
    if meta.permissions().mode() & 0o077 != 0 && meta.uid() == rustix::process::geteuid().as_raw() {
        let _ = rustix::fs::fchmod(&file, Mode::from_raw_mode(0o600));
    }
    Ok((file, Some((meta.dev(), meta.ino()))))
}

#[cfg(not(unix))]
fn open_file(path: &Path) -> Result<(File, Option<(u64, u64)>), JournalError> {
    let file = OpenOptions::new().create(true).append(true).open(path).map_err(|e| JournalError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
        help: "give --journal a file you can write".into(),
    })?;
    Ok((file, None))
}

/// The (device, inode) now at `path`, not following a link.
#[cfg(unix)]
fn still_there(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn still_there(_path: &Path) -> Option<(u64, u64)> {
    None
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
    fn entries_append_as_json_lines() -> Result<(), Box<dyn std::error::Error>> {
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

    fn entry(journal: &Journal) -> Entry<'_> {
        Entry {
            time: now_rfc3339(),
            run_id: journal.run_id(),
            target: "sim",
            org_id: "00D",
            step: "s",
            check_mode: false,
            method: "POST",
            path: "/sobjects/Account",
            request: json!({"Name": "x"}),
            status: "ok",
            result: json!({}),
            duration_ms: 1,
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_journal_is_private_and_its_new_folders_too() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("a/b/journal.jsonl");
        let journal = Journal::open(&path)?;
        journal.append(entry(&journal))?;
        assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(dir.path().join("a"))?.permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(dir.path().join("a/b"))?.permissions().mode() & 0o777, 0o700);
        // One an older runner left readable is made private.
        let old = dir.path().join("old.jsonl");
        std::fs::write(&old, "")?;
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644))?;
        Journal::open(&old)?;
        assert_eq!(std::fs::metadata(&old)?.permissions().mode() & 0o777, 0o600);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_a_fifo_and_a_folder_are_refused() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("authorized_keys");
        std::fs::write(&target, "keep me\n")?;
        let link = dir.path().join("journal.jsonl");
        std::os::unix::fs::symlink(&target, &link)?;
        let err = Journal::open(&link).expect_err("a symlink is refused");
        assert!(matches!(err, JournalError::Symlink { .. }), "{err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&target)?, "keep me\n", "the link's target is untouched");
        let dangling = dir.path().join("dangling.jsonl");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling)?;
        assert!(matches!(Journal::open(&dangling), Err(JournalError::Symlink { .. })));
        assert!(!dir.path().join("nowhere").exists(), "nothing is created through a dangling link");
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )?;
        assert!(matches!(Journal::open(&fifo), Err(JournalError::NotAFile { .. })));
        assert!(matches!(Journal::open(dir.path()), Err(JournalError::NotAFile { .. })));
        Ok(())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_full_disk_fails_the_append_and_every_later_one() -> Result<(), Box<dyn std::error::Error>> {
        let journal = Journal::open(Path::new("/dev/full"))?;
        let err = journal.append(entry(&journal)).expect_err("/dev/full is full");
        assert!(matches!(err, JournalError::Write { .. }), "{err}");
        assert!(journal.failure().is_some());
        assert!(journal.append(entry(&journal)).is_err(), "a failed journal stays failed");
        // /dev/null, a character device too, still discards the journal.
        let null = Journal::open(Path::new("/dev/null"))?;
        null.append(entry(&null))?;
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_journal_whose_folder_is_removed_fails() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("gone/journal.jsonl");
        let journal = Journal::open(&path)?;
        journal.append(entry(&journal))?;
        std::fs::remove_dir_all(dir.path().join("gone"))?;
        let err = journal.append(entry(&journal)).expect_err("the file is gone");
        assert!(err.to_string().contains("removed or replaced"), "{err}");
        Ok(())
    }

    #[test]
    fn an_injected_writer_that_fails_fails_the_journal() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from_raw_os_error(28))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let journal = Journal::with_writer("/injected", Box::new(Broken));
        let err = journal.append(entry(&journal)).expect_err("it fails");
        assert!(err.to_string().contains("/injected"), "{err}");
    }
}
