//! `runner init [DIR]`: copies the built-in playbooks, with their `lib/`, into DIR.
//!
//! It never writes through a symbolic link, dangling or not, with or without `--force`: a link at DIR, at a
//! folder below it or at a file's place could send the copy over any file the user can write (a planted
//! `scripts/setup.rhai -> ~/.bashrc`). Every path is checked before anything is written, so a refusal leaves
//! the folder as it was. New files are created with `O_EXCL`, which does not follow a link either; with
//! `--force`, an existing file is replaced by renaming a temporary file over it, which replaces the folder
//! entry, never what a link there would point to.

use runner_core::whole_file::{WholeFile, write_whole};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use miette::Report;

use crate::exit::Outcome;

/// The playbooks to copy: (path relative to DIR, text).
type Files = [(&'static str, &'static str)];

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum InitError {
    #[error("{} is a symbolic link; runner init does not write through links", path.display())]
    #[diagnostic(
        code(runner::init::symlink),
        help(
            "A link could send the copy over another file. Name the real folder instead (`realpath` shows it), or \
             remove the link. Nothing was written."
        )
    )]
    Symlink { path: PathBuf },

    #[error("{} is not a folder, so runner init cannot write {} into it", path.display(), file.display())]
    #[diagnostic(
        code(runner::init::not_a_folder),
        help("Choose another folder (runner init DIR). Nothing was written.")
    )]
    NotAFolder { path: PathBuf, file: PathBuf },

    #[error("{} is not a regular file; runner init does not replace it", path.display())]
    #[diagnostic(code(runner::init::not_a_file), help("Move it away, or choose another folder. Nothing was written."))]
    NotAFile { path: PathBuf },

    #[error("not overwriting existing files: {}", files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "))]
    #[diagnostic(
        code(runner::init::exists),
        help("choose another folder (runner init DIR), or pass --force to overwrite them")
    )]
    Exists { files: Vec<PathBuf> },

    #[error("cannot {action} {}", path.display())]
    #[diagnostic(code(runner::init::io), help("Check that you may write the folder."))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What is at a path, without following a link.
enum Found {
    Nothing,
    Folder,
    File,
    Link,
    Other,
}

fn look(path: &Path) -> Result<Found, InitError> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Ok(Found::Link),
        Ok(meta) if meta.is_dir() => Ok(Found::Folder),
        Ok(meta) if meta.is_file() => Ok(Found::File),
        Ok(_) => Ok(Found::Other),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Found::Nothing),
        Err(source) => Err(InitError::Io { action: "inspect", path: path.to_owned(), source }),
    }
}

/// The folders from `dir` down to `file`'s, `dir` first.
fn folders(dir: &Path, relative: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut at = dir.to_path_buf();
    if let Some(parent) = relative.parent() {
        for component in parent.components() {
            at.push(component);
            out.push(at.clone());
        }
    }
    out
}

/// Checks every path first; answers the files that already exist.
fn preflight(files: &Files, dir: &Path) -> Result<Vec<PathBuf>, InitError> {
    let mut existing = Vec::new();
    for (relative, _) in files {
        let file = dir.join(relative);
        for folder in folders(dir, Path::new(relative)) {
            match look(&folder)? {
                Found::Link => return Err(InitError::Symlink { path: folder }),
                Found::Folder | Found::Nothing => {}
                Found::File | Found::Other => return Err(InitError::NotAFolder { path: folder, file }),
            }
        }
        match look(&file)? {
            Found::Nothing => {}
            Found::File => existing.push(file),
            Found::Link => return Err(InitError::Symlink { path: file }),
            Found::Folder | Found::Other => return Err(InitError::NotAFile { path: file }),
        }
    }
    Ok(existing)
}

/// Creates `folder` if it is missing; refuses a link that appeared since the preflight.
fn ensure_folder(folder: &Path, file: &Path) -> Result<(), InitError> {
    match fs::create_dir(folder) {
        Ok(()) => return Ok(()),
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => return Err(InitError::Io { action: "create the folder", path: folder.to_owned(), source }),
    }
    match look(folder)? {
        Found::Folder => Ok(()),
        Found::Link => Err(InitError::Symlink { path: folder.to_owned() }),
        _ => Err(InitError::NotAFolder { path: folder.to_owned(), file: file.to_owned() }),
    }
}

fn write_one(dir: &Path, relative: &str, text: &str, force: bool) -> Result<PathBuf, InitError> {
    let file = dir.join(relative);
    for folder in folders(dir, Path::new(relative)) {
        ensure_folder(&folder, &file)?;
    }
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source: io::Error| InitError::Io { action, path, source }
    };
    if force && matches!(look(&file)?, Found::File) {
        write_whole(&file, text.as_bytes(), WholeFile::private(".runner-init-")).map_err(|err| InitError::Io {
            action: "replace",
            path: file.clone(),
            source: err.source,
        })?;
        return Ok(file);
    }
    // O_CREAT|O_EXCL: fails on anything at the path, a dangling link included, instead of following it.
    let mut created = match fs::OpenOptions::new().write(true).create_new(true).open(&file) {
        Ok(created) => created,
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
            return Err(match look(&file)? {
                Found::Link => InitError::Symlink { path: file },
                _ => InitError::Exists { files: vec![file] },
            });
        }
        Err(source) => return Err(InitError::Io { action: "create", path: file, source }),
    };
    created.write_all(text.as_bytes()).map_err(io_error("write", &file))?;
    Ok(file)
}

fn copy(files: &Files, dir: &Path, force: bool) -> Result<(), InitError> {
    let existing = preflight(files, dir)?;
    if !existing.is_empty() && !force {
        return Err(InitError::Exists { files: existing });
    }
    for (relative, text) in files {
        let file = write_one(dir, relative, text, force)?;
        println!("wrote {}", file.display());
    }
    Ok(())
}

/// `runner init DIR [--force]`: copies the binary's built-in playbooks.
pub fn init(files: &Files, dir: &Path, force: bool) -> Outcome {
    // Without a trailing `/`: `scripts/` would resolve a link named scripts before it could be seen as one.
    let dir: PathBuf = dir.components().collect();
    let dir = dir.as_path();
    match copy(files, dir, force) {
        Ok(()) => {
            let dir = dir.display();
            match crate::builtin::listed(files).next() {
                Some(("setup.rhai", _)) => {
                    println!("Run one with: runner play {dir}/setup.rhai --check --var username=… --var email=…")
                }
                Some((first, _)) => println!("Run one with: runner play {dir}/{first} --check"),
                None => {}
            }
            Outcome::Done
        }
        Err(err) => {
            // Every refusal is about the folder the command line names, never a playbook that stopped: files in
            // the way, a link, a folder that cannot be written.
            eprintln!("{:?}", Report::new(err));
            Outcome::BadInput
        }
    }
}
