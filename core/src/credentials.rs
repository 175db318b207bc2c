//! The sync user's credentials file: one per sync user, holding what its first login and StoreConnect's Console
//! need — the username, the login host, the password and the TOTP authenticator's `otpauth://` URI.
//!
//! ```text
//! # runner credentials v1 - SECRET: the password and MFA secret of a Salesforce user. Keep it mode 0600 …
//! username=storeconnect.sync@client.example
//! login_url=https://login.salesforce.com
//! password=…
//! password_set_at=2025-06-01T10:00:00Z
//! otpauth=otpauth://totp/Salesforce:storeconnect.sync%40client.example?secret=…&issuer=Salesforce&…
//! totp_registered_at=2025-06-01T10:00:05Z
//! ```
//!
//! The header line is how runner recognises a file as its own: [`Credentials::store`] only ever replaces a file
//! that starts with it, so a mistyped path (`~/.ssh/authorized_keys`) is refused rather than overwritten. After
//! it come `key=value` lines; a value is everything after the first `=`, verbatim (a password may start or end
//! with a space). Keys runner does not know are kept, in order, when the file is rewritten, so a newer runner's
//! fields survive an older one; `#` comments after the header are not.
//!
//! A file holding secrets is only read if it is a regular file owned by the effective user that neither the
//! group nor others can access, opened without following symbolic links and without blocking (a FIFO planted at
//! the path must not hang the run). It is written to a 0600 temporary file in the same folder, flushed to disk
//! and renamed over the old one: a crash never leaves half a file, and a process holding the old file open keeps
//! reading the old content.
//!
//! Passwords and TOTP secrets only leave a [`Credentials`] through functions named `expose_…`; no error, `Debug`
//! output or panic message contains them.

use std::fs::{self, File, Metadata};
use std::io::{self, Read as _};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::{Mode, OFlags};
use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret as _, SecretString};

use crate::totp::{self, TotpError, TotpSecret};
use crate::whole_file::{Existing, WholeFile, folder_of, write_whole};

/// The first line of every credentials file runner writes. Files are recognised by its first words,
/// [`HEADER_PREFIX`] and the version, so the warning can be reworded without orphaning old files.
pub const HEADER: &str = "# runner credentials v1 - SECRET: the password and MFA secret of a Salesforce user. Keep \
this file mode 0600 and share it with no one: whoever reads it can log in as that user.";

/// What a credentials file of any version starts with; the version number follows.
pub const HEADER_PREFIX: &str = "# runner credentials v";

/// The first words of the TOTP secret files that `verify` wrote before credentials files existed.
const LEGACY_TOTP_HEADER: &str = "# runner: TOTP secret";

/// The largest file [`Credentials::load`] reads. Real files are a few hundred bytes; the cap stops a huge or
/// endless file (a device, a growing log) from being read into memory.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

const USERNAME: &str = "username";
const LOGIN_URL: &str = "login_url";
const PASSWORD: &str = "password";
const PASSWORD_SET_AT: &str = "password_set_at";
const OTPAUTH: &str = "otpauth";
const TOTP_REGISTERED_AT: &str = "totp_registered_at";

/// What can go wrong with a credentials file. No variant holds a password, a TOTP secret, or any text of the
/// file beyond the names of runner's own keys: only paths, line numbers, modes and uids.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CredentialsError {
    /// There is no file at the path (for commands that need one; [`Credentials::load`] returns `Ok(None)`).
    #[error("there is no credentials file at {}", path.display())]
    #[diagnostic(
        code(runner::credentials::missing),
        help(
            "Check the path. runner writes the file when it sets the sync user's password or registers its \
             authenticator."
        )
    )]
    Missing {
        /// The path that was asked for.
        path: PathBuf,
    },

    /// The folder the file should be in does not exist.
    #[error("the folder {} does not exist, so {} cannot be there", folder.display(), path.display())]
    #[diagnostic(
        code(runner::credentials::folder_missing),
        help("Check the path for a typo, or create the folder first (mkdir -p, with mode 0700 for secrets).")
    )]
    FolderMissing {
        /// The credentials file.
        path: PathBuf,
        /// Its folder, the one that is missing (or one of its parents is).
        folder: PathBuf,
    },

    /// What should be the file's folder is something else.
    #[error("{} is not a folder, so {} cannot be in it", folder.display(), path.display())]
    #[diagnostic(code(runner::credentials::not_a_folder), help("Check the path for a typo."))]
    NotAFolder {
        /// The credentials file.
        path: PathBuf,
        /// What should have been its folder.
        folder: PathBuf,
    },

    /// The path names a folder.
    #[error("{} is a folder, not a file", path.display())]
    #[diagnostic(
        code(runner::credentials::is_folder),
        help("Name a file inside it instead, e.g. {}/sync-user.credentials", path.display())
    )]
    IsFolder {
        /// The folder.
        path: PathBuf,
    },

    /// The path is a symbolic link (dangling or not).
    #[error("{} is a symbolic link; runner only reads and writes credentials in a regular file", path.display())]
    #[diagnostic(
        code(runner::credentials::symlink),
        help(
            "A link lets whoever can change it redirect the secrets to another file. Name the real file instead \
             (`realpath` shows it), or remove the link."
        )
    )]
    Symlink {
        /// The link.
        path: PathBuf,
    },

    /// The path is a FIFO, a socket or a device.
    #[error("{} is {kind}, not a regular file", path.display())]
    #[diagnostic(code(runner::credentials::not_regular), help("Name a regular file for the credentials."))]
    NotRegular {
        /// The path.
        path: PathBuf,
        /// "a named pipe (FIFO)", "a socket", "a device", ….
        kind: &'static str,
    },

    /// The file belongs to another user.
    #[error("{} belongs to uid {owner}, not to you (uid {euid})", path.display())]
    #[diagnostic(
        code(runner::credentials::other_owner),
        help(
            "runner only trusts a secrets file that the user running it owns: another user could have written \
             it, or could read it. Run runner as its owner, or have a new file written."
        )
    )]
    OtherOwner {
        /// The file.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// The effective uid runner runs as.
        euid: u32,
    },

    /// The group or others may access the file.
    #[error("{} holds secrets but its mode is {mode:04o}: group or others can access it", path.display())]
    #[diagnostic(
        code(runner::credentials::permissions),
        help(
            "Run `chmod 600 '{}'` and try again. If other people could read the file, treat the password and the \
             MFA secret as leaked: set a new password and register a new authenticator for the user.",
            path.display()
        )
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits (`mode & 0o7777`).
        mode: u32,
    },

    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("{} is larger than {limit} bytes; a credentials file is a few hundred", path.display())]
    #[diagnostic(code(runner::credentials::too_large), help("Check the path: this is not a credentials file."))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },

    /// The file is not UTF-8 text.
    #[error("{} is not a text file", path.display())]
    #[diagnostic(code(runner::credentials::not_text), help("Check the path: this is not a credentials file."))]
    NotText {
        /// The file.
        path: PathBuf,
    },

    /// The file exists but runner did not write it: it has no credentials header.
    #[error("{} is not a runner credentials file; runner will not read or replace it", path.display())]
    #[diagnostic(
        code(runner::credentials::not_runner_file),
        help(
            "runner only replaces files whose first line is `{HEADER_PREFIX}1 …`, so a mistyped path never \
             overwrites someone else's file. Check the path, or move the file away if it is no longer needed."
        )
    )]
    NotRunnerFile {
        /// The file.
        path: PathBuf,
    },

    /// The file is a TOTP secret file of the kind `verify` wrote before credentials files.
    #[error("{} is an older runner TOTP secret file, not a credentials file", path.display())]
    #[diagnostic(
        code(runner::credentials::legacy_totp_file),
        help(
            "It may hold the secret of an authenticator that is still registered in Salesforce, so runner does \
             not replace it. `runner totp code --secret-file` still reads it. Choose another path for the \
             credentials file."
        )
    )]
    LegacyTotpFile {
        /// The file.
        path: PathBuf,
    },

    /// The file was written by a newer runner.
    #[error("{} is a version {version} credentials file; this runner reads version 1", path.display())]
    #[diagnostic(code(runner::credentials::newer_version), help("Use the runner that wrote it, or a newer one."))]
    NewerVersion {
        /// The file.
        path: PathBuf,
        /// The version on its first line.
        version: String,
    },

    /// A line that is neither a comment nor `key=value` with a lowercase key.
    #[error("line {line} of {} is not a `key=value` line", path.display())]
    #[diagnostic(
        code(runner::credentials::invalid_line),
        help(
            "After the first line, every line is blank, a `#` comment, or `key=value` where the key is lowercase \
             letters, digits and `_`. (The line is not shown: it may hold a secret.)"
        )
    )]
    InvalidLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },

    /// One of runner's keys appears twice.
    #[error("`{key}=` on line {line} of {} repeats line {first_line}", path.display())]
    #[diagnostic(code(runner::credentials::duplicate_key), help("Keep the right one and delete the other."))]
    DuplicateKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// Where it first appears.
        first_line: usize,
        /// Where it appears again.
        line: usize,
    },

    /// `username=` or `login_url=` is missing or empty.
    #[error("{} has no `{key}=` line", path.display())]
    #[diagnostic(
        code(runner::credentials::missing_key),
        help("A credentials file names the user (`username=`) and where it logs in (`login_url=`).")
    )]
    MissingKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
    },

    /// A `…_at=` value is not an RFC 3339 UTC time.
    #[error("`{key}=` on line {line} of {} is not a time like 2025-06-01T10:00:00Z", path.display())]
    #[diagnostic(code(runner::credentials::invalid_time))]
    InvalidTime {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// 1-based line number.
        line: usize,
    },

    /// The `otpauth=` value is not a TOTP URI runner can produce codes for.
    #[error("`otpauth=` on line {line} of {} does not hold a usable TOTP URI", path.display())]
    #[diagnostic(code(runner::credentials::invalid_otpauth))]
    InvalidOtpauth {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why (never contains the secret).
        #[source]
        reason: Box<TotpError>,
        /// The help of `reason`, shown on this error.
        #[help]
        help: Option<String>,
    },

    /// A value [`Credentials::store`] was asked to write cannot be written.
    #[error("cannot write {}: the `{key}` value {reason}", path.display())]
    #[diagnostic(
        code(runner::credentials::invalid_value),
        help("Each value is one line of the file: it cannot be empty (username, login_url) or contain a line break.")
    )]
    InvalidValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// "is empty", "contains a line break".
        reason: &'static str,
    },

    /// A file appeared at the path while a new one was being written.
    #[error("{} appeared while runner was writing it; not overwriting it", path.display())]
    #[diagnostic(
        code(runner::credentials::exists),
        help("Another process wrote the file at the same time. Check what it holds, then run again.")
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },

    /// A credentials file with no `otpauth=` line, where a TOTP code was asked for.
    #[error("{} has no TOTP authenticator yet", path.display())]
    #[diagnostic(
        code(runner::credentials::no_totp),
        help("The verify step adds it when it registers the authenticator in Salesforce.")
    )]
    NoTotp {
        /// The file.
        path: PathBuf,
    },

    /// A legacy TOTP secret file that does not hold a usable secret.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Totp(#[from] TotpError),

    /// The operating system refused something.
    #[error("could not {action} {}", path.display())]
    #[diagnostic(
        code(runner::credentials::io),
        help("Check that the folder exists and that you may read and write it.")
    )]
    Io {
        /// What we were doing: "open", "read", "write", ….
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// The TOTP authenticator: the secret and the URI it came in, which carry the same key.
struct Totp {
    secret: TotpSecret,
    uri: SecretString,
}

/// The sync user's credentials, as held in its credentials file.
///
/// `Debug` shows the username, the login URL and the times, and only whether there is a password and an
/// authenticator.
pub struct Credentials {
    /// The Salesforce username.
    pub username: String,
    /// Where the user logs in: `https://login.salesforce.com`, `https://test.salesforce.com` or the org's My Domain.
    pub login_url: String,
    /// When Salesforce accepted [`Credentials::expose_password`]; `None` while it is only kept here.
    pub password_set_at: Option<SystemTime>,
    /// When Salesforce registered the authenticator; `None` while it is only kept here.
    pub totp_registered_at: Option<SystemTime>,
    password: Option<SecretString>,
    totp: Option<Totp>,
    /// Keys this runner does not know, with their values, in file order. Values are kept secret: a newer runner
    /// may store secrets under keys this one has never heard of.
    other: Vec<(String, SecretString)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |present: bool| if present { Some("[REDACTED]") } else { None };
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("login_url", &self.login_url)
            .field("password", &redacted(self.password.is_some()))
            .field("password_set_at", &self.password_set_at)
            .field("totp", &redacted(self.totp.is_some()))
            .field("totp_registered_at", &self.totp_registered_at)
            .field("other_keys", &self.other.iter().map(|(key, _)| key.as_str()).collect::<Vec<_>>())
            .finish()
    }
}

impl Credentials {
    /// Credentials with no password and no authenticator yet.
    pub fn new(username: impl Into<String>, login_url: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            login_url: login_url.into(),
            password_set_at: None,
            totp_registered_at: None,
            password: None,
            totp: None,
            other: Vec::new(),
        }
    }

    /// Whether a password is kept.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The password, to send to Salesforce or to show to its owner.
    pub fn expose_password(&self) -> Option<&str> {
        self.password.as_ref().map(|password| password.expose_secret())
    }

    /// Keeps `password`. Clears [`Credentials::password_set_at`]: a new password is not set in Salesforce until
    /// the caller says so, after Salesforce accepted it.
    pub fn set_password(&mut self, password: SecretString) {
        self.password = Some(password);
        self.password_set_at = None;
    }

    /// The authenticator's secret, for [`totp::code_at`] or Salesforce's `TwoFactorInfo.SharedKey`.
    pub fn totp_secret(&self) -> Option<&TotpSecret> {
        self.totp.as_ref().map(|totp| &totp.secret)
    }

    /// The `otpauth://` URI an authenticator app (or StoreConnect's Console) takes.
    pub fn expose_otpauth_uri(&self) -> Option<&str> {
        self.totp.as_ref().map(|totp| totp.uri.expose_secret())
    }

    /// The current code of the authenticator, if there is one.
    pub fn totp_code_at(&self, unix_seconds: u64) -> Option<String> {
        self.totp_secret().map(|secret| totp::code_at(secret, unix_seconds))
    }

    /// Keeps `secret` with its URI for this user (`otpauth://totp/<issuer>:<username>?…`). Clears
    /// [`Credentials::totp_registered_at`]: a new secret is not registered until the caller says so.
    pub fn set_totp(&mut self, secret: TotpSecret, issuer: &str) {
        let uri = totp::otpauth_uri(&secret, issuer, &self.username);
        self.totp = Some(Totp { secret, uri });
        self.totp_registered_at = None;
    }

    /// Keeps the authenticator of an `otpauth://totp/…` URI made elsewhere. Clears
    /// [`Credentials::totp_registered_at`], like [`Credentials::set_totp`].
    ///
    /// # Errors
    /// [`TotpError`] if the URI has no valid secret or other parameters than SHA1, 6 digits, 30 s.
    pub fn set_otpauth_uri(&mut self, uri: SecretString) -> Result<(), TotpError> {
        let secret = totp::secret_from_uri(uri.expose_secret())?;
        self.totp = Some(Totp { secret, uri });
        self.totp_registered_at = None;
        Ok(())
    }

    /// Reads the credentials file at `path`: `Ok(None)` if its folder exists but the file does not.
    ///
    /// # Errors
    /// The file is refused unless it is a regular file (not a link, folder, FIFO or device) owned by the effective
    /// user, with no group or other permission bits, at most [`MAX_FILE_BYTES`] long, and in runner's format; a
    /// missing folder is an error too, as it is more likely a typo than a file yet to be written.
    pub fn load(path: &Path) -> Result<Option<Self>, CredentialsError> {
        let Some(contents) = read_checked(path)? else {
            return Ok(None);
        };
        match Format::of(&contents) {
            Format::V1 => parse(path, &contents).map(Some),
            other => Err(other.refusal(path)),
        }
    }

    /// Writes the credentials to `path`, mode 0600.
    ///
    /// A file already there is replaced only if it passes [`Credentials::load`]'s checks and starts with runner's
    /// header: anything else is refused, naming it. The content goes to a temporary file in the same folder
    /// (created 0600 with `O_EXCL`), is flushed to disk, and is renamed over `path`; then the folder is flushed,
    /// so the rename survives a crash. A new file is linked in with `RENAME_NOREPLACE`, so a file that appears
    /// meanwhile is not overwritten either.
    ///
    /// # Errors
    /// [`CredentialsError::InvalidValue`] before anything is touched if a value is empty or has a line break;
    /// the refusals of [`Credentials::load`]; [`CredentialsError::NotRunnerFile`] and its kin;
    /// [`CredentialsError::Io`].
    pub fn store(&self, path: &Path) -> Result<(), CredentialsError> {
        let contents = self.render(path)?;
        let replacing = match read_checked(path)? {
            None => false,
            Some(existing) => match Format::of(&existing) {
                Format::V1 => true,
                other => return Err(other.refusal(path)),
            },
        };
        let how = WholeFile {
            temp_prefix: ".runner-credentials-",
            mode: Some(0o600),
            existing: if replacing { Existing::Replace } else { Existing::Keep },
            // The password may already be on its way to the org: the file must survive a crash.
            sync_folder: true,
        };
        write_whole(path, contents.as_bytes(), how).map_err(|err| {
            if err.already_exists() {
                CredentialsError::Exists { path: path.to_owned() }
            } else {
                CredentialsError::Io { action: err.action, path: err.path, source: err.source }
            }
        })?;
        Ok(())
    }

    /// The file's text. Checks every value first, so a bad value leaves the file alone.
    fn render(&self, path: &Path) -> Result<Zeroizing<String>, CredentialsError> {
        let invalid = |key: &'static str, reason: &'static str| CredentialsError::InvalidValue {
            path: path.to_owned(),
            key,
            reason,
        };
        let one_line = |key: &'static str, value: &str| {
            if value.contains(['\n', '\r']) { Err(invalid(key, "contains a line break")) } else { Ok(()) }
        };
        for (key, value) in [(USERNAME, self.username.as_str()), (LOGIN_URL, self.login_url.as_str())] {
            if value.is_empty() {
                return Err(invalid(key, "is empty"));
            }
            one_line(key, value)?;
        }
        if let Some(password) = self.expose_password() {
            if password.is_empty() {
                return Err(invalid(PASSWORD, "is empty"));
            }
            one_line(PASSWORD, password)?;
        }
        if let Some(uri) = self.expose_otpauth_uri() {
            one_line(OTPAUTH, uri)?;
        }
        // Values of other keys came from a file, one line each; they cannot hold a line break.

        // Sized up front so the buffer holding the secrets is not reallocated, which would leave copies behind.
        let size = HEADER.len()
            + 512
            + self.username.len()
            + self.login_url.len()
            + self.expose_password().map_or(0, str::len)
            + self.expose_otpauth_uri().map_or(0, str::len)
            + self.other.iter().map(|(key, value)| key.len() + value.expose_secret().len() + 2).sum::<usize>();
        let mut text = Zeroizing::new(String::with_capacity(size));
        text.push_str(HEADER);
        text.push('\n');
        let mut line = |key: &str, value: &str| {
            text.push_str(key);
            text.push('=');
            text.push_str(value);
            text.push('\n');
        };
        line(USERNAME, &self.username);
        line(LOGIN_URL, &self.login_url);
        if let Some(password) = self.expose_password() {
            line(PASSWORD, password);
        }
        if let Some(at) = self.password_set_at {
            line(PASSWORD_SET_AT, &humantime::format_rfc3339_seconds(at).to_string());
        }
        if let Some(uri) = self.expose_otpauth_uri() {
            line(OTPAUTH, uri);
        }
        if let Some(at) = self.totp_registered_at {
            line(TOTP_REGISTERED_AT, &humantime::format_rfc3339_seconds(at).to_string());
        }
        for (key, value) in &self.other {
            line(key, value.expose_secret());
        }
        Ok(text)
    }
}

/// Reads the TOTP secret from a credentials file or from a TOTP secret file `verify` wrote before credentials
/// files existed (any of the forms [`totp::read_secret_file`] reads), with the same checks as
/// [`Credentials::load`] for both.
///
/// # Errors
/// [`CredentialsError::Missing`] if there is no file; [`CredentialsError::NoTotp`] for credentials without an
/// authenticator; [`CredentialsError::Totp`] for a legacy file without a usable secret; the refusals of
/// [`Credentials::load`].
pub fn read_totp_secret(path: &Path) -> Result<TotpSecret, CredentialsError> {
    let contents = read_checked(path)?.ok_or_else(|| CredentialsError::Missing { path: path.to_owned() })?;
    match Format::of(&contents) {
        Format::V1 => parse(path, &contents)?
            .totp
            .map(|totp| totp.secret)
            .ok_or_else(|| CredentialsError::NoTotp { path: path.to_owned() }),
        Format::Newer(version) => Err(CredentialsError::NewerVersion { path: path.to_owned(), version }),
        Format::LegacyTotp | Format::Other => Ok(totp::parse_secret_file(path, &contents)?),
    }
}

/// Whether `path` is a regular file that starts like a file runner writes secrets to: a credentials file of any
/// version or a TOTP secret file of an older `verify`. Only the first bytes are read, whatever the file's mode
/// or owner, without following a link or blocking on a FIFO (neither is a regular file: `false`).
///
/// For telling a file that holds secrets from any other file a path may name, e.g. a playbook's input.
///
/// # Errors
/// [`io::Error`] if the file exists and cannot be opened or read.
pub fn starts_like_a_secrets_file(path: &Path) -> io::Result<bool> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::LOOP | rustix::io::Errno::NXIO) => return Ok(false),
        Err(errno) => return Err(errno.into()),
    };
    if !file.metadata()?.file_type().is_file() {
        return Ok(false);
    }
    let mut start = Vec::with_capacity(64);
    file.take(64).read_to_end(&mut start)?;
    Ok(start.starts_with(HEADER_PREFIX.as_bytes()) || start.starts_with(LEGACY_TOTP_HEADER.as_bytes()))
}

/// What a file's first line says it is.
enum Format {
    V1,
    Newer(String),
    LegacyTotp,
    Other,
}

impl Format {
    fn of(contents: &str) -> Self {
        let first = contents.lines().next().unwrap_or("");
        if let Some(rest) = first.strip_prefix(HEADER_PREFIX) {
            let version: String = rest.chars().take_while(char::is_ascii_digit).collect();
            return match version.as_str() {
                "" => Self::Other,
                "1" => Self::V1,
                _ => Self::Newer(version),
            };
        }
        if first.starts_with(LEGACY_TOTP_HEADER) { Self::LegacyTotp } else { Self::Other }
    }

    /// Why a file of this format is not read or replaced as credentials.
    fn refusal(self, path: &Path) -> CredentialsError {
        let path = path.to_owned();
        match self {
            Self::Newer(version) => CredentialsError::NewerVersion { path, version },
            Self::LegacyTotp => CredentialsError::LegacyTotpFile { path },
            Self::V1 | Self::Other => CredentialsError::NotRunnerFile { path },
        }
    }
}

/// Parses a version 1 file (its header already recognised); `path` is only used in errors.
fn parse(path: &Path, contents: &str) -> Result<Credentials, CredentialsError> {
    let mut seen: Vec<(&'static str, usize)> = Vec::new();
    let mut credentials = Credentials::new(String::new(), String::new());
    for (index, line) in contents.lines().enumerate().skip(1) {
        let line_number = index + 1;
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(CredentialsError::InvalidLine { path: path.to_owned(), line: line_number });
        };
        if key.is_empty() || !key.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_')) {
            return Err(CredentialsError::InvalidLine { path: path.to_owned(), line: line_number });
        }
        let known = [USERNAME, LOGIN_URL, PASSWORD, PASSWORD_SET_AT, OTPAUTH, TOTP_REGISTERED_AT];
        let Some(key) = known.into_iter().find(|known| *known == key) else {
            credentials.other.push((key.to_owned(), SecretString::from(value.to_owned())));
            continue;
        };
        if let Some((_, first_line)) = seen.iter().find(|(seen_key, _)| *seen_key == key) {
            return Err(CredentialsError::DuplicateKey {
                path: path.to_owned(),
                key,
                first_line: *first_line,
                line: line_number,
            });
        }
        seen.push((key, line_number));
        let time = |value: &str| {
            humantime::parse_rfc3339(value).map_err(|_| CredentialsError::InvalidTime {
                path: path.to_owned(),
                key,
                line: line_number,
            })
        };
        match key {
            USERNAME => credentials.username = value.to_owned(),
            LOGIN_URL => credentials.login_url = value.to_owned(),
            // An empty value is how a person blanking the line by hand says "none".
            PASSWORD if value.is_empty() => {}
            PASSWORD => credentials.password = Some(SecretString::from(value.to_owned())),
            OTPAUTH if value.is_empty() => {}
            OTPAUTH => {
                let secret = totp::secret_from_uri(value).map_err(|reason| CredentialsError::InvalidOtpauth {
                    path: path.to_owned(),
                    line: line_number,
                    help: miette::Diagnostic::help(&reason).map(|help| help.to_string()),
                    reason: Box::new(reason),
                })?;
                credentials.totp = Some(Totp { secret, uri: SecretString::from(value.to_owned()) });
            }
            PASSWORD_SET_AT => credentials.password_set_at = Some(time(value)?),
            _ => credentials.totp_registered_at = Some(time(value)?),
        }
    }
    for (key, value) in [(USERNAME, &credentials.username), (LOGIN_URL, &credentials.login_url)] {
        if value.is_empty() {
            return Err(CredentialsError::MissingKey { path: path.to_owned(), key });
        }
    }
    Ok(credentials)
}

/// For `fuzz/` only, not an API: what [`Credentials::load`] does with a file's text once
/// read, plus a render and re-parse of what parsed, which must give the same values.
#[doc(hidden)]
pub fn fuzz_parse(contents: &str) {
    let path = Path::new("credentials");
    let parsed = match Format::of(contents) {
        Format::V1 => parse(path, contents),
        other => Err(other.refusal(path)),
    };
    let Ok(first) = parsed else { return };
    // A value render refuses (a line break, say) is fine; one it writes must read back.
    let Ok(text) = first.render(path) else { return };
    let again = parse(path, &text);
    assert!(again.is_ok(), "a rendered file does not parse: {again:?}");
    if let Ok(again) = again {
        assert_eq!(
            (first.username.as_str(), first.login_url.as_str()),
            (again.username.as_str(), again.login_url.as_str())
        );
        assert_eq!(first.expose_password(), again.expose_password());
    }
}

/// The folder `path` is in (`.` for a bare file name).
/// The text of the file at `path` once it passed every check, or `None` if it does not exist (in a folder that
/// does).
fn read_checked(path: &Path) -> Result<Option<Zeroizing<String>>, CredentialsError> {
    // Looking at the path first gives each refusal its own clear error; the checks are repeated on the opened file
    // below, as the path can change in between.
    match fs::symlink_metadata(path) {
        Ok(meta) => refuse_unless_regular(path, &meta)?,
        Err(err) if matches!(err.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            let folder = folder_of(path);
            return match fs::metadata(folder) {
                Ok(meta) if meta.is_dir() => {
                    if err.kind() == io::ErrorKind::NotFound {
                        Ok(None)
                    } else {
                        Err(CredentialsError::Io { action: "inspect", path: path.to_owned(), source: err })
                    }
                }
                Ok(_) => Err(CredentialsError::NotAFolder { path: path.to_owned(), folder: folder.to_owned() }),
                Err(folder_err) if folder_err.kind() == io::ErrorKind::NotADirectory => {
                    Err(CredentialsError::NotAFolder { path: path.to_owned(), folder: folder.to_owned() })
                }
                Err(folder_err) if folder_err.kind() == io::ErrorKind::NotFound => {
                    Err(CredentialsError::FolderMissing { path: path.to_owned(), folder: folder.to_owned() })
                }
                Err(source) => Err(CredentialsError::Io { action: "inspect", path: folder.to_owned(), source }),
            };
        }
        Err(source) => return Err(CredentialsError::Io { action: "inspect", path: path.to_owned(), source }),
    }
    let mut file = open_checked(path)?;
    // Room for one byte more than the cap, so a file at the cap is read without the buffer growing: growing would
    // leave copies of the secrets in freed memory that Zeroizing cannot reach.
    let limit = MAX_FILE_BYTES + 1;
    let mut bytes = Zeroizing::new(Vec::with_capacity(usize::try_from(limit).unwrap_or(usize::MAX)));
    (&mut file).take(limit).read_to_end(&mut bytes).map_err(|source| CredentialsError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(CredentialsError::TooLarge { path: path.to_owned(), limit: MAX_FILE_BYTES });
    }
    if std::str::from_utf8(&bytes).is_err() {
        return Err(CredentialsError::NotText { path: path.to_owned() });
    }
    let text = String::from_utf8(std::mem::take(&mut *bytes))
        .map_err(|_| CredentialsError::NotText { path: path.to_owned() })?;
    Ok(Some(Zeroizing::new(text)))
}

/// Opens `path` for reading without following a link or blocking, then checks the file it got: regular, owned by
/// the effective user, no group or other permission bits, not over the size cap.
fn open_checked(path: &Path) -> Result<File, CredentialsError> {
    // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever. It has no effect on a regular
    // file, which is all that is read from here.
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let file = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::LOOP) => return Err(CredentialsError::Symlink { path: path.to_owned() }),
        // What Linux answers for a socket.
        Err(rustix::io::Errno::NXIO) => {
            return Err(CredentialsError::NotRegular { path: path.to_owned(), kind: "a socket" });
        }
        Err(errno) => {
            return Err(CredentialsError::Io { action: "open", path: path.to_owned(), source: errno.into() });
        }
    };
    let meta =
        file.metadata().map_err(|source| CredentialsError::Io { action: "inspect", path: path.to_owned(), source })?;
    refuse_unless_regular(path, &meta)?;
    let euid = rustix::process::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(CredentialsError::OtherOwner { path: path.to_owned(), owner: meta.uid(), euid });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::InsecurePermissions { path: path.to_owned(), mode });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(CredentialsError::TooLarge { path: path.to_owned(), limit: MAX_FILE_BYTES });
    }
    Ok(file)
}

fn refuse_unless_regular(path: &Path, meta: &Metadata) -> Result<(), CredentialsError> {
    let kind = meta.file_type();
    let path = path.to_owned();
    if kind.is_file() {
        Ok(())
    } else if kind.is_symlink() {
        Err(CredentialsError::Symlink { path })
    } else if kind.is_dir() {
        Err(CredentialsError::IsFolder { path })
    } else if kind.is_fifo() {
        Err(CredentialsError::NotRegular { path, kind: "a named pipe (FIFO)" })
    } else if kind.is_socket() {
        Err(CredentialsError::NotRegular { path, kind: "a socket" })
    } else if kind.is_block_device() || kind.is_char_device() {
        Err(CredentialsError::NotRegular { path, kind: "a device" })
    } else {
        Err(CredentialsError::NotRegular { path, kind: "something other than a file" })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write as _;
    use std::os::unix::fs::symlink;
    use std::sync::mpsc;
    use std::time::{Duration, UNIX_EPOCH};

    use miette::Diagnostic as _;

    use super::*;

    const PASSWORD_TEXT: &str = " Tr0ub4dor&3=horse ";
    const BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    fn sample() -> Credentials {
        let mut credentials = Credentials::new("sc.sync@client.example", "https://login.salesforce.com");
        credentials.set_password(SecretString::from(PASSWORD_TEXT));
        credentials.set_totp(TotpSecret::from_base32(BASE32).unwrap(), "Salesforce");
        credentials.password_set_at = Some(UNIX_EPOCH + Duration::from_secs(1_750_000_000));
        credentials.totp_registered_at = Some(UNIX_EPOCH + Duration::from_secs(1_750_000_005));
        credentials
    }

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn chmod(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Writes `contents` as a 0600 file, the way a person or another program might.
    fn write_file(path: &Path, contents: &str) {
        fs::write(path, contents).unwrap();
        chmod(path, 0o600);
    }

    fn code(err: &CredentialsError) -> String {
        err.code().map(|code| code.to_string()).unwrap_or_default()
    }

    /// Neither the error's text, its help, its sources nor its Debug form carry a secret.
    fn assert_no_secret(err: &CredentialsError) {
        let mut texts =
            vec![err.to_string(), format!("{err:?}"), err.help().map(|h| h.to_string()).unwrap_or_default()];
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            texts.push(inner.to_string());
            source = inner.source();
        }
        for text in texts {
            for secret in [PASSWORD_TEXT.trim(), BASE32, "GEZDG", "hunter2"] {
                assert!(!text.contains(secret), "{secret:?} in {text:?}");
            }
        }
    }

    /// The files in `dir`, so a test can see that no temporary file was left behind.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn round_trip_keeps_every_field_in_a_0600_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.credentials");
        let written = sample();
        written.store(&path).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(names_in(dir.path()), ["sync.credentials"], "no temporary file is left");

        let read = Credentials::load(&path).unwrap().unwrap();
        assert_eq!(read.username, written.username);
        assert_eq!(read.login_url, written.login_url);
        assert_eq!(read.expose_password(), Some(PASSWORD_TEXT), "spaces around the password are kept");
        assert_eq!(read.expose_otpauth_uri(), written.expose_otpauth_uri());
        assert!(read.totp_secret().unwrap().same_as(written.totp_secret().unwrap()));
        assert_eq!(read.totp_code_at(59), written.totp_code_at(59));
        assert_eq!(read.password_set_at, written.password_set_at);
        assert_eq!(read.totp_registered_at, written.totp_registered_at);
    }

    #[test]
    fn the_file_is_the_documented_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.credentials");
        sample().store(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        assert!(HEADER.starts_with("# runner credentials v1 ") && HEADER.contains("SECRET"));
        assert_eq!(
            lines[1..],
            [
                "username=sc.sync@client.example",
                "login_url=https://login.salesforce.com",
                &format!("password={PASSWORD_TEXT}"),
                "password_set_at=2025-06-15T15:06:40Z",
                &format!(
                    "otpauth=otpauth://totp/Salesforce:sc.sync%40client.example?secret={BASE32}&issuer=Salesforce\
                     &algorithm=SHA1&digits=6&period=30"
                ),
                "totp_registered_at=2025-06-15T15:06:45Z",
            ]
        );
    }

    #[test]
    fn optional_fields_may_be_absent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        Credentials::new("u@x.example", "https://test.salesforce.com").store(&path).unwrap();
        let read = Credentials::load(&path).unwrap().unwrap();
        assert!(!read.has_password() && read.expose_password().is_none());
        assert!(read.totp_secret().is_none() && read.expose_otpauth_uri().is_none() && read.totp_code_at(0).is_none());
        assert!(read.password_set_at.is_none() && read.totp_registered_at.is_none());
        let err = read_totp_secret(&path).unwrap_err();
        assert_eq!(code(&err), "runner::credentials::no_totp");
    }

    #[test]
    fn new_secrets_clear_their_set_and_registered_times() {
        let mut credentials = sample();
        credentials.set_password(SecretString::from("new"));
        assert!(credentials.password_set_at.is_none());
        credentials.set_totp(TotpSecret::generate().unwrap(), "S");
        assert!(credentials.totp_registered_at.is_none());
        credentials.totp_registered_at = Some(UNIX_EPOCH);
        let uri = format!("otpauth://totp/S:a?secret={BASE32}");
        credentials.set_otpauth_uri(SecretString::from(uri.clone())).unwrap();
        assert!(credentials.totp_registered_at.is_none());
        assert_eq!(credentials.expose_otpauth_uri(), Some(uri.as_str()));
        assert!(credentials.set_otpauth_uri(SecretString::from("otpauth://totp/S:a?digits=8")).is_err());
    }

    #[test]
    fn debug_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        write_file(&path, &format!("{HEADER}\nusername=u\nlogin_url=https://x\nsecurity_token=hunter2\n"));
        let mut credentials = Credentials::load(&path).unwrap().unwrap();
        credentials.set_password(SecretString::from(PASSWORD_TEXT));
        credentials.set_totp(TotpSecret::from_base32(BASE32).unwrap(), "S");
        for debug in [format!("{credentials:?}"), format!("{credentials:#?}")] {
            for secret in [PASSWORD_TEXT.trim(), BASE32, "otpauth", "hunter2"] {
                assert!(!debug.contains(secret), "{secret} in {debug}");
            }
            assert!(debug.contains("[REDACTED]") && debug.contains("security_token"), "{debug}");
            assert!(debug.contains("username") && debug.contains("https://x"), "{debug}");
        }
    }

    #[test]
    fn unknown_keys_are_kept_in_order_when_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        write_file(
            &path,
            &format!(
                "{HEADER}\n# a note\nfuture_key=a=b\nusername=u@x.example\n\nlogin_url=https://x.my.salesforce.com\n\
                 security_token=hunter2\nfuture_key=again\n"
            ),
        );
        let mut credentials = Credentials::load(&path).unwrap().unwrap();
        credentials.set_password(SecretString::from("pw"));
        credentials.store(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("password=pw\nfuture_key=a=b\nsecurity_token=hunter2\nfuture_key=again\n"), "{text}");
        assert!(!text.contains("# a note"), "comments after the header are not kept");
        assert_eq!(Credentials::load(&path).unwrap().unwrap().expose_password(), Some("pw"));
    }

    #[test]
    fn values_with_line_breaks_or_empty_required_values_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        sample().store(&path).unwrap();
        let before = fs::read_to_string(&path).unwrap();
        let cases: Vec<(Credentials, &str)> = vec![
            (
                {
                    let mut c = sample();
                    c.set_password(SecretString::from("hunter2\nusername=evil"));
                    c
                },
                "password",
            ),
            (
                {
                    let mut c = sample();
                    c.set_password(SecretString::from("hunter2\r"));
                    c
                },
                "password",
            ),
            (
                {
                    let mut c = sample();
                    c.set_password(SecretString::from(""));
                    c
                },
                "password",
            ),
            (
                {
                    let mut c = sample();
                    c.username = "a\nb".into();
                    c
                },
                "username",
            ),
            (Credentials::new("u", ""), "login_url"),
            (Credentials::new("", "https://x"), "username"),
            (
                {
                    let mut c = sample();
                    c.set_otpauth_uri(SecretString::from(format!("otpauth://totp/a\nb?secret={BASE32}"))).unwrap();
                    c
                },
                "otpauth",
            ),
        ];
        for (credentials, key) in cases {
            let err = credentials.store(&path).unwrap_err();
            assert!(matches!(&err, CredentialsError::InvalidValue { key: k, .. } if *k == key), "{key}: {err:?}");
            assert_no_secret(&err);
            assert_eq!(fs::read_to_string(&path).unwrap(), before, "{key}: the file is left alone");
        }
        assert_eq!(names_in(dir.path()), ["c"]);
    }

    #[test]
    fn a_missing_file_is_none_but_a_missing_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Credentials::load(&dir.path().join("absent")).unwrap().is_none());

        let path = dir.path().join("no-such-folder/c");
        for err in [Credentials::load(&path).unwrap_err(), sample().store(&path).unwrap_err()] {
            assert_eq!(code(&err), "runner::credentials::folder_missing", "{err:?}");
            assert!(err.to_string().contains("no-such-folder") && err.to_string().contains("does not exist"), "{err}");
        }
        let deeper = dir.path().join("a/b/c");
        assert_eq!(code(&Credentials::load(&deeper).unwrap_err()), "runner::credentials::folder_missing");

        let file = dir.path().join("plain");
        write_file(&file, "x");
        let under_a_file = file.join("c");
        for err in [Credentials::load(&under_a_file).unwrap_err(), sample().store(&under_a_file).unwrap_err()] {
            assert_eq!(code(&err), "runner::credentials::not_a_folder", "{err:?}");
        }

        let err = read_totp_secret(&dir.path().join("absent")).unwrap_err();
        assert_eq!(code(&err), "runner::credentials::missing");
    }

    #[test]
    fn a_folder_is_refused_as_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("sub");
        fs::create_dir(&folder).unwrap();
        for err in [Credentials::load(&folder).unwrap_err(), sample().store(&folder).unwrap_err()] {
            assert_eq!(code(&err), "runner::credentials::is_folder");
            assert_eq!(err.to_string(), format!("{} is a folder, not a file", folder.display()));
        }
        assert!(folder.is_dir());
    }

    #[test]
    fn symlinks_are_neither_followed_nor_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        sample().store(&real).unwrap();
        let before = fs::read_to_string(&real).unwrap();
        let link = dir.path().join("link");
        symlink(&real, &link).unwrap();

        for err in [
            Credentials::load(&link).unwrap_err(),
            sample().store(&link).unwrap_err(),
            read_totp_secret(&link).unwrap_err(),
        ] {
            assert_eq!(code(&err), "runner::credentials::symlink", "{err:?}");
            assert!(err.to_string().contains(&link.display().to_string()));
        }
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link itself is left alone");
        assert_eq!(fs::read_to_string(&real).unwrap(), before);
    }

    #[test]
    fn a_dangling_symlink_is_refused_and_its_target_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("would-be-created");
        let link = dir.path().join("dangling");
        symlink(&target, &link).unwrap();
        for err in [Credentials::load(&link).unwrap_err(), sample().store(&link).unwrap_err()] {
            assert_eq!(code(&err), "runner::credentials::symlink", "{err:?}");
        }
        assert!(!target.exists());
        assert_eq!(names_in(dir.path()), ["dangling"]);
    }

    #[test]
    fn opening_a_symlink_directly_is_refused_too() {
        // The path check comes first; this is the open that still refuses if a link is swapped in after it.
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        sample().store(&real).unwrap();
        let link = dir.path().join("link");
        symlink(&real, &link).unwrap();
        assert_eq!(code(&open_checked(&link).unwrap_err()), "runner::credentials::symlink");
    }

    /// Runs `f` on another thread and fails if it takes more than five seconds, rather than hanging the suite.
    fn within_five_seconds<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(5)).expect("finished without blocking")
    }

    #[test]
    fn a_fifo_is_refused_without_hanging() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        let (a, b, c) = (fifo.clone(), fifo.clone(), fifo.clone());
        let errors = within_five_seconds(move || {
            vec![
                Credentials::load(&a).unwrap_err(),
                sample().store(&b).unwrap_err(),
                // The open itself, as if the FIFO had been swapped in after the path was checked.
                open_checked(&c).unwrap_err(),
            ]
        });
        for err in errors {
            assert_eq!(code(&err), "runner::credentials::not_regular", "{err:?}");
            assert!(err.to_string().contains("FIFO"), "{err}");
        }
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn secrets_files_are_told_from_other_files_by_their_first_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("c");
        sample().store(&credentials).unwrap();
        chmod(&credentials, 0o644);
        let legacy = dir.path().join("t");
        write_file(&legacy, &format!("{LEGACY_TOTP_HEADER}\nsecret={BASE32}\n"));
        let input = dir.path().join("users.csv");
        write_file(&input, "username,email\n");
        let link = dir.path().join("link");
        symlink(&credentials, &link).unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
        assert!(starts_like_a_secrets_file(&credentials).unwrap(), "whatever its mode");
        assert!(starts_like_a_secrets_file(&legacy).unwrap());
        assert!(!starts_like_a_secrets_file(&input).unwrap());
        assert!(!starts_like_a_secrets_file(&link).unwrap());
        assert!(within_five_seconds(move || !starts_like_a_secrets_file(&fifo).unwrap()));
        assert_eq!(starts_like_a_secrets_file(&dir.path().join("absent")).unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_device_is_refused() {
        let err = within_five_seconds(|| Credentials::load(Path::new("/dev/null")).unwrap_err());
        assert_eq!(code(&err), "runner::credentials::not_regular", "{err:?}");
        assert!(err.to_string().contains("a device"), "{err}");
    }

    #[test]
    fn group_or_other_access_is_refused_with_the_chmod_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        sample().store(&path).unwrap();
        for mode in [0o640, 0o620, 0o610, 0o604, 0o602, 0o601, 0o644, 0o660, 0o666] {
            chmod(&path, mode);
            for err in [Credentials::load(&path).unwrap_err(), sample().store(&path).unwrap_err()] {
                assert!(
                    matches!(err, CredentialsError::InsecurePermissions { mode: m, .. } if m == mode),
                    "{mode:o}: {err:?}"
                );
                let help = err.help().unwrap().to_string();
                assert!(help.contains(&format!("chmod 600 '{}'", path.display())), "{help}");
                assert_no_secret(&err);
            }
            assert_eq!(mode_of(&path), mode, "a refused file is left as it was");
        }
        chmod(&path, 0o400);
        assert!(Credentials::load(&path).unwrap().is_some(), "read-only for the owner is fine");
        sample().store(&path).unwrap();
        assert_eq!(mode_of(&path), 0o600, "the replacement is 0600");
    }

    #[test]
    fn a_file_of_another_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        sample().store(&path).unwrap();
        let euid = rustix::process::geteuid().as_raw();
        // Only root can give a file away; elsewhere this rule is covered by review.
        if std::os::unix::fs::chown(&path, Some(euid + 4242), None).is_err() {
            return;
        }
        for err in [Credentials::load(&path).unwrap_err(), sample().store(&path).unwrap_err()] {
            assert!(
                matches!(err, CredentialsError::OtherOwner { owner, euid: e, .. } if owner == euid + 4242 && e == euid),
                "{err:?}"
            );
        }
    }

    #[test]
    fn a_file_runner_did_not_write_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authorized_keys");
        let keys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample admin@host\n";
        write_file(&path, keys);
        for err in [sample().store(&path).unwrap_err(), Credentials::load(&path).unwrap_err()] {
            assert_eq!(code(&err), "runner::credentials::not_runner_file", "{err:?}");
            assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), keys);
        assert_eq!(names_in(dir.path()), ["authorized_keys"]);

        // Nor is an empty file, a header-like line without a version, or a newer version's file.
        for (contents, expected) in [
            ("", "not_runner_file"),
            ("# runner credentials vX\nusername=u\n", "not_runner_file"),
            ("username=u\nlogin_url=https://x\n", "not_runner_file"),
            ("# runner credentials v2 - SECRET\nusername=u\n", "newer_version"),
        ] {
            write_file(&path, contents);
            let err = sample().store(&path).unwrap_err();
            assert_eq!(code(&err), format!("runner::credentials::{expected}"), "{contents:?}: {err:?}");
            assert_eq!(fs::read_to_string(&path).unwrap(), contents);
        }
    }

    #[test]
    fn an_old_totp_secret_file_is_not_replaced_but_still_gives_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.totp");
        let secret = TotpSecret::from_base32(BASE32).unwrap();
        totp::write_secret_file(&path, &secret, &totp::otpauth_uri(&secret, "S", "a"), false).unwrap();
        let before = fs::read_to_string(&path).unwrap();
        for err in [sample().store(&path).unwrap_err(), Credentials::load(&path).unwrap_err()] {
            assert_eq!(code(&err), "runner::credentials::legacy_totp_file", "{err:?}");
            assert_no_secret(&err);
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), before);
        assert!(read_totp_secret(&path).unwrap().same_as(&secret));
    }

    #[test]
    fn read_totp_secret_reads_credentials_and_the_three_legacy_forms() {
        let dir = tempfile::tempdir().unwrap();
        let expected = TotpSecret::from_base32(BASE32).unwrap();
        let credentials = dir.path().join("c");
        sample().store(&credentials).unwrap();
        assert!(read_totp_secret(&credentials).unwrap().same_as(&expected));
        let forms = [
            format!("# runner: TOTP secret\nsecret={BASE32}\nuri=otpauth://totp/S:a?secret={BASE32}&issuer=S\n"),
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n".to_owned(),
            format!("\n# from the admin\notpauth://totp/Salesforce:sync%40x.example?secret={BASE32}\n"),
        ];
        for (i, contents) in forms.iter().enumerate() {
            let path = dir.path().join(format!("form{i}"));
            write_file(&path, contents);
            assert!(read_totp_secret(&path).unwrap().same_as(&expected), "form {i}");
            // The same checks as for credentials apply.
            chmod(&path, 0o644);
            assert_eq!(code(&read_totp_secret(&path).unwrap_err()), "runner::credentials::permissions");
        }
        let path = dir.path().join("garbage");
        write_file(&path, "secret=GEZDG\n");
        let err = read_totp_secret(&path).unwrap_err();
        assert_eq!(code(&err), "runner::totp::file_invalid_line", "{err:?}");
        assert_no_secret(&err);
    }

    #[test]
    fn replacing_keeps_an_open_reader_on_the_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        let mut credentials = sample();
        credentials.set_password(SecretString::from("old-password"));
        credentials.store(&path).unwrap();
        let mut reader = File::open(&path).unwrap();

        credentials.set_password(SecretString::from("new-password"));
        credentials.store(&path).unwrap();

        let mut seen = String::new();
        reader.read_to_string(&mut seen).unwrap();
        assert!(seen.contains("password=old-password") && !seen.contains("new-password"), "{seen}");
        assert_eq!(Credentials::load(&path).unwrap().unwrap().expose_password(), Some("new-password"));
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(names_in(dir.path()), ["c"]);
    }

    #[test]
    fn a_file_appearing_while_a_new_one_is_written_is_not_overwritten() {
        // `store` saw no file; by the time it links its temporary file in, someone else's is there.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        let mut temp = tempfile::Builder::new().tempfile_in(dir.path()).unwrap();
        temp.write_all(b"mine").unwrap();
        write_file(&path, "theirs");
        let err = temp.persist_noclobber(&path).unwrap_err();
        assert_eq!(err.error.kind(), io::ErrorKind::AlreadyExists, "the primitive store relies on");
        assert_eq!(fs::read_to_string(&path).unwrap(), "theirs");
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_folder() {
        assert_eq!(folder_of(Path::new("c")), Path::new("."));
        assert_eq!(folder_of(Path::new("/c")), Path::new("/"));
        assert_eq!(folder_of(Path::new("a/c")), Path::new("a"));
    }

    #[test]
    fn a_file_over_the_size_cap_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        let padding = "x".repeat(usize::try_from(MAX_FILE_BYTES).unwrap());
        write_file(&path, &format!("{HEADER}\nusername=u\nlogin_url=https://x\npadding={padding}\n"));
        let err = Credentials::load(&path).unwrap_err();
        assert_eq!(code(&err), "runner::credentials::too_large", "{err:?}");
    }

    #[test]
    fn a_file_that_is_not_text_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        fs::write(&path, b"# runner credentials v1\nusername=\xff\n").unwrap();
        chmod(&path, 0o600);
        assert_eq!(code(&Credentials::load(&path).unwrap_err()), "runner::credentials::not_text");
    }

    #[test]
    fn bad_contents_are_reported_by_line_without_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c");
        let head = format!("{HEADER}\nusername=u\nlogin_url=https://x\n");
        let cases = [
            (format!("{head}hunter2\n"), "invalid_line", Some(4)),
            (format!("{head}Password=hunter2\n"), "invalid_line", Some(4)),
            (format!("{head} password=hunter2\n"), "invalid_line", Some(4)),
            (format!("{head}=hunter2\n"), "invalid_line", Some(4)),
            (format!("{head}password=hunter2\npassword=hunter2\n"), "duplicate_key", Some(5)),
            (format!("{HEADER}\nlogin_url=https://x\npassword=hunter2\n"), "missing_key", None),
            (format!("{HEADER}\nusername=\nlogin_url=https://x\n"), "missing_key", None),
            (format!("{HEADER}\nusername=u\n"), "missing_key", None),
            (format!("{head}password_set_at=yesterday\n"), "invalid_time", Some(4)),
            (format!("{head}totp_registered_at=2025-06-01T10:00:00+02:00\n"), "invalid_time", Some(4)),
            (format!("{head}otpauth=otpauth://totp/S:a?secret=GEZDGNBVGY3TQOJQ\n"), "invalid_otpauth", Some(4)),
            (format!("{head}otpauth=otpauth://totp/S:a?secret={BASE32}&digits=8\n"), "invalid_otpauth", Some(4)),
            (format!("{head}otpauth=hunter2\n"), "invalid_otpauth", Some(4)),
        ];
        for (contents, expected, line) in cases {
            write_file(&path, &contents);
            let err = Credentials::load(&path).unwrap_err();
            assert_eq!(code(&err), format!("runner::credentials::{expected}"), "{contents:?}: {err:?}");
            if let Some(line) = line {
                assert!(err.to_string().contains(&format!("line {line}")), "{err}");
            }
            assert_no_secret(&err);
        }
        // Blank values of optional keys mean "none".
        write_file(&path, &format!("{head}password=\notpauth=\n"));
        let read = Credentials::load(&path).unwrap().unwrap();
        assert!(!read.has_password() && read.totp_secret().is_none());
    }

    #[test]
    fn error_codes_are_under_runner_credentials() {
        let path = PathBuf::from("/x");
        let errors = [
            CredentialsError::Missing { path: path.clone() },
            CredentialsError::IsFolder { path: path.clone() },
            CredentialsError::Symlink { path: path.clone() },
            CredentialsError::NotRunnerFile { path: path.clone() },
            CredentialsError::Io { action: "open", path, source: io::Error::other("x") },
        ];
        for err in errors {
            assert!(code(&err).starts_with("runner::credentials::"), "{err:?}");
            assert!(err.help().is_some(), "{err:?} has help");
        }
    }
}
