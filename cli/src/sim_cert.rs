//! Where `runner sim serve --tls` puts the certificate clients are to trust.
//!
//! The default used to be a predictable name in the shared temp folder, which another local user could plant
//! a link at (to make the sim overwrite a file of the user's) or a certificate of their own at (to be trusted
//! through `RUNNER_CA_CERT`). Now it is a fresh folder with a random name, mode 0700, and the file is created
//! in it with `O_EXCL`; the folder goes when the sim stops. A `--cert-file` the user names is never written
//! through a link: it is replaced by renaming a temporary file from the same folder over it.

use runner_core::whole_file::{WholeFile, write_whole};
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CertError {
    #[error("{} is a symbolic link; runner sim serve does not write the certificate through links", path.display())]
    #[diagnostic(
        code(runner::sim::cert_symlink),
        help("Name the real file (`realpath` shows it), remove the link, or leave out --cert-file.")
    )]
    Symlink { path: PathBuf },

    #[error("{} is not a regular file; not replacing it with the certificate", path.display())]
    #[diagnostic(code(runner::sim::cert_not_a_file), help("Name a file for --cert-file, or leave it out."))]
    NotAFile { path: PathBuf },

    #[error("cannot {action} {}", path.display())]
    #[diagnostic(code(runner::sim::cert_io), help("Check that the folder exists and that you may write it."))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The written certificate; a private folder made for it is removed on drop.
pub struct WrittenCert {
    pub path: PathBuf,
    _folder: Option<tempfile::TempDir>,
}

/// Writes `pem` to `cert_file`, or into a new private folder when none is given.
pub fn write(pem: &str, cert_file: Option<&Path>) -> Result<WrittenCert, CertError> {
    match cert_file {
        Some(path) => replace(pem, path).map(|()| WrittenCert { path: path.to_owned(), _folder: None }),
        None => in_private_folder(pem),
    }
}

fn in_private_folder(pem: &str) -> Result<WrittenCert, CertError> {
    let temp = std::env::temp_dir();
    let folder = tempfile::Builder::new().prefix("runner-sim-").tempdir_in(&temp).map_err(|source| CertError::Io {
        action: "create a private folder in",
        path: temp.clone(),
        source,
    })?;
    // tempfile already makes it 0700 on Unix; said here so it stays true whatever its default becomes.
    fs::set_permissions(folder.path(), fs::Permissions::from_mode(0o700)).map_err(|source| CertError::Io {
        action: "make private",
        path: folder.path().to_owned(),
        source,
    })?;
    let path = folder.path().join("ca.pem");
    // create_new is O_CREAT|O_EXCL: nothing that is already there, a link included, is opened.
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|source| CertError::Io { action: "create", path: path.clone(), source })?;
    file.write_all(pem.as_bytes()).and_then(|()| file.sync_all()).map_err(|source| CertError::Io {
        action: "write",
        path: path.clone(),
        source,
    })?;
    Ok(WrittenCert { path, _folder: Some(folder) })
}

fn replace(pem: &str, path: &Path) -> Result<(), CertError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(CertError::Symlink { path: path.to_owned() }),
        Ok(meta) if !meta.is_file() => return Err(CertError::NotAFile { path: path.to_owned() }),
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(CertError::Io { action: "inspect", path: path.to_owned(), source }),
    }
    write_whole(path, pem.as_bytes(), WholeFile::private(".runner-sim-cert-")).map_err(|err| CertError::Io {
        action: err.action,
        path: err.path,
        source: err.source,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::MetadataExt as _;

    use super::*;

    #[test]
    fn the_default_is_a_fresh_private_folder_removed_when_dropped() {
        let a = write("PEM A", None).unwrap();
        let b = write("PEM B", None).unwrap();
        assert_ne!(a.path.parent(), b.path.parent(), "a fresh folder each time");
        let folder = a.path.parent().unwrap().to_owned();
        assert_eq!(fs::metadata(&folder).unwrap().mode() & 0o777, 0o700);
        assert_eq!(fs::read_to_string(&a.path).unwrap(), "PEM A");
        drop(a);
        assert!(!folder.exists());
    }

    #[test]
    fn a_named_file_is_replaced_but_never_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        for link_to in [victim.clone(), dir.path().join("dangling-target")] {
            let link = dir.path().join("cert.pem");
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(&link_to, &link).unwrap();
            let err = write("PEM", Some(&link)).err().unwrap();
            assert!(matches!(err, CertError::Symlink { .. }), "{err:?}");
        }
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!dir.path().join("dangling-target").exists());

        let file = dir.path().join("ca.pem");
        write("one", Some(&file)).unwrap();
        write("two", Some(&file)).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "two", "an old certificate file is replaced");
    }
}
