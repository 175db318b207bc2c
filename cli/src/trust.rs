//! `runner trust`: which runner.toml files outside the user config directory may be used.
//!
//! A runner.toml decides where runner sends secrets and key files, and where modules are imported from, so one
//! planted in a repository must not be used just for being in the working directory. As mise and direnv do, a
//! file is trusted by its canonical path and the SHA-256 of its content: an edited file must be trusted again.
//!
//! The list is `trusted` in the state directory (`~/.local/state/runner/`, as the journal), one
//! `SHA256-HEX  /canonical/path` line per file (the shape of `sha256sum`'s output), written 0600 to a temporary
//! file and renamed over the old list, never through a symlink.

use runner_core::whole_file::{WholeFile, write_whole};
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use clap::Args;
use miette::{Diagnostic, Report};

use crate::exit::Outcome;
use crate::target::{ConfigError, read_config_bytes, shell_quote};

/// The list's file name in the state directory.
const FILE_NAME: &str = "trusted";

#[derive(Args)]
pub struct TrustArgs {
    /// The runner.toml to trust (default: the working directory's).
    #[arg(value_name = "FILE", conflicts_with_all = ["list", "remove"])]
    file: Option<PathBuf>,
    /// List the trusted files, and whether each is still as it was trusted.
    #[arg(long)]
    list: bool,
    /// Stop trusting FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "list")]
    remove: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum TrustError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot {action} {}: {source}", .path.display())]
    #[diagnostic(
        code(runner::trust::write),
        help("check that the state directory (XDG_STATE_HOME, else ~/.local/state/runner) is yours and writable")
    )]
    Write {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds a line break in its path; runner does not trust such a file", .0.display())]
    #[diagnostic(code(runner::trust::write), help("move it to a folder whose path is one line"))]
    Newline(PathBuf),
}

/// One trusted file: the SHA-256 of its content (hex) and its canonical path.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    hash: String,
    path: PathBuf,
}

fn list_file() -> PathBuf {
    crate::state_dir().join(FILE_NAME)
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The trusted files. A list that cannot be read, or that another user could have written, trusts nothing
/// (`runner trust` writes a fresh one).
fn entries() -> Vec<Entry> {
    let Ok(bytes) = read_config_bytes(&list_file()) else { return Vec::new() };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| line.split_once("  "))
        .filter(|(hash, path)| hash.len() == 64 && !path.is_empty())
        .map(|(hash, path)| Entry { hash: hash.to_string(), path: PathBuf::from(path) })
        .collect()
}

/// Whether `path`, whose content is `bytes` (as just read, so what is checked is what is used), is trusted.
pub fn is_trusted(path: &Path, bytes: &[u8]) -> bool {
    let Ok(path) = std::fs::canonicalize(path) else { return false };
    let hash = sha256_hex(bytes);
    entries().iter().any(|e| e.path == path && e.hash == hash)
}

fn write_entries(entries: &[Entry]) -> Result<(), TrustError> {
    let file = list_file();
    let dir = crate::state_dir();
    let failed = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| TrustError::Write { action, path, source }
    };
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(failed("create", &dir))?;
    // The rename below replaces a link rather than following it; one found here is refused all the same, as
    // something other than runner put it there.
    if std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(TrustError::Write {
            action: "replace",
            path: file,
            source: std::io::Error::other("it is a symbolic link; remove it"),
        });
    }
    let mut text = String::new();
    for entry in entries {
        text.push_str(&format!("{}  {}\n", entry.hash, entry.path.display()));
    }
    write_whole(&file, text.as_bytes(), WholeFile::private(".runner-trusted-")).map_err(|err| TrustError::Write {
        action: err.action,
        path: err.path,
        source: err.source,
    })?;
    Ok(())
}

/// Trusts `path` as it is now; answers its canonical path.
fn trust(path: &Path) -> Result<PathBuf, TrustError> {
    // The same checks as for using it: a file others can write is refused here too.
    let bytes = read_config_bytes(path)?;
    let canonical =
        std::fs::canonicalize(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
    if canonical.to_string_lossy().contains(['\n', '\r']) {
        return Err(TrustError::Newline(canonical));
    }
    let mut list = entries();
    list.retain(|e| e.path != canonical);
    list.push(Entry { hash: sha256_hex(&bytes), path: canonical.clone() });
    write_entries(&list)?;
    Ok(canonical)
}

/// Stops trusting `path`; answers whether it was trusted.
fn remove(path: &Path) -> Result<bool, TrustError> {
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut list = entries();
    let before = list.len();
    list.retain(|e| e.path != canonical);
    if list.len() == before {
        return Ok(false);
    }
    write_entries(&list)?;
    Ok(true)
}

pub fn run(args: TrustArgs) -> Outcome {
    let fail = |err: TrustError| {
        eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
        Outcome::BadInput
    };
    if args.list {
        for entry in entries() {
            let state = match std::fs::read(&entry.path) {
                Ok(bytes) if sha256_hex(&bytes) == entry.hash => "trusted",
                Ok(_) => "edited since, not trusted",
                Err(_) => "missing",
            };
            println!("{}  ({state})", entry.path.display());
        }
        return Outcome::Done;
    }
    if let Some(path) = args.remove {
        return match remove(&path) {
            Ok(true) => {
                println!("no longer trusted: {}", path.display());
                Outcome::Done
            }
            Ok(false) => {
                println!("{} was not trusted", path.display());
                Outcome::Done
            }
            Err(err) => fail(err),
        };
    }
    let path = args.file.unwrap_or_else(|| PathBuf::from(crate::target::CONFIG_FILE_NAME));
    match trust(&path) {
        Ok(canonical) => {
            println!("trusted {} (until it is edited)", shell_quote(&canonical));
            Outcome::Done
        }
        Err(err) => fail(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_is_hex_of_the_digest() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
