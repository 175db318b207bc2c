//! Writing a file whole: under a random temporary name in the same folder, then renamed onto
//! the path. A reader sees the old file or the new one, never half of one; a failure leaves
//! the old file as it was (the temporary file's Drop removes it); and the temporary file is
//! created with O_CREAT|O_EXCL (tempfile's own open), which never follows a link, at the
//! mode given. A rename replaces the folder entry, so a link swapped in at the path is
//! replaced, not written through.
//!
//! Every file runner writes whole goes through here: the credentials file, the trust list,
//! the simulated fleet's inventory and secrets, the sim's certificate, reports and `init`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What to do with a file already at the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it: the caller has checked that it may.
    Replace,
    /// Leave it: a file that appeared since the caller looked is kept, and the write fails
    /// with [`io::ErrorKind::AlreadyExists`].
    Keep,
}

/// How to write one file.
#[derive(Debug, Clone, Copy)]
pub struct WholeFile {
    /// The temporary file's name starts with this (`.runner-credentials-`), so a leftover
    /// after a kill says whose it is.
    pub temp_prefix: &'static str,
    /// The new file's mode; `None` keeps tempfile's own, 0600.
    pub mode: Option<u32>,
    pub existing: Existing,
    /// Also flush the folder, so that the rename itself survives a crash (for files whose
    /// loss would lose a secret already sent to the org).
    pub sync_folder: bool,
}

impl WholeFile {
    /// A private file (0600) that replaces what is there.
    pub const fn private(temp_prefix: &'static str) -> Self {
        WholeFile { temp_prefix, mode: None, existing: Existing::Replace, sync_folder: false }
    }
}

/// What failed, in words a message can use: "cannot {action} {path}: {source}".
#[derive(Debug)]
pub struct WholeFileError {
    pub action: &'static str,
    pub path: PathBuf,
    pub source: io::Error,
}

impl WholeFileError {
    /// The path was taken while the file was being written, and [`Existing::Keep`] kept it.
    pub fn already_exists(&self) -> bool {
        self.source.kind() == io::ErrorKind::AlreadyExists
    }
}

/// The folder a path's file is in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to `path` whole, as [`WholeFile`] says.
pub fn write_whole(path: &Path, bytes: &[u8], how: WholeFile) -> Result<(), WholeFileError> {
    let folder = folder_of(path);
    let failed = |action: &'static str, at: &Path| {
        let at = at.to_owned();
        move |source: io::Error| WholeFileError { action, path: at, source }
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(how.temp_prefix).suffix(".tmp");
    if let Some(mode) = how.mode {
        builder.permissions(fs::Permissions::from_mode(mode));
    }
    let mut temp = builder.tempfile_in(folder).map_err(failed("create a temporary file in", folder))?;
    temp.write_all(bytes).map_err(failed("write", temp.path()))?;
    temp.as_file().sync_all().map_err(failed("write", temp.path()))?;
    let persisted = match how.existing {
        Existing::Replace => temp.persist(path),
        Existing::Keep => temp.persist_noclobber(path),
    };
    persisted.map_err(|err| WholeFileError {
        action: "rename a temporary file onto",
        path: path.to_owned(),
        source: err.error,
    })?;
    if how.sync_folder {
        File::open(folder).and_then(|dir| dir.sync_all()).map_err(failed("flush the folder", folder))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_new_file_is_private_and_a_kept_one_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_whole(&path, b"one", WholeFile::private(".t-")).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let keep = WholeFile { existing: Existing::Keep, ..WholeFile::private(".t-") };
        let err = write_whole(&path, b"two", keep).unwrap_err();
        assert!(err.already_exists(), "{err:?}");
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file is left behind");
    }

    #[test]
    fn a_link_at_the_path_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"theirs").unwrap();
        let path = dir.path().join("link");
        symlink(&target, &path).unwrap();
        write_whole(&path, b"ours", WholeFile { mode: Some(0o644), ..WholeFile::private(".t-") }).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"theirs");
        assert!(!fs::symlink_metadata(&path).unwrap().file_type().is_symlink());
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
    }
}
