//! The TOTP secret of the sync user's verification method (RFC 6238).
//!
//! Salesforce's `TwoFactorInfo.SharedKey` must be the base32 form of a 20-byte secret: exactly 32 characters
//! `A–Z2–7`, no padding (salesforce-api.md C.6 and G). Salesforce does not document the algorithm parameters,
//! so codes use the RFC 6238 / Google Authenticator defaults every app implements: HMAC-SHA1, 6 digits,
//! 30 s step, T0 = 0.
//!
//! The secret lives in a [`SecretBox`] (zeroized on drop, redacted in `Debug`) and only leaves it through
//! functions named `expose_…` or that return a [`SecretString`], so every place it travels shows up in review.
//!
//! Codes come from the `totp-rs` crate (HMAC-SHA1 and RFC 4226 dynamic truncation). Its constructor checks
//! for a 128-bit minimum secret, which 20 bytes satisfies; we call `TOTP::new_unchecked` anyway so that
//! [`code_at`] cannot fail, because every parameter is a constant and the key length is fixed by the type.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use data_encoding::BASE32_NOPAD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use secrecy::zeroize::{Zeroize as _, Zeroizing};
use secrecy::{ExposeSecret as _, SecretBox, SecretString};

/// Length of the secret in bytes (what `TwoFactorInfo.SharedKey` requires).
pub const SECRET_LEN: usize = 20;
/// Length of the secret in base32 characters: 20 bytes × 8 bits / 5 bits per character.
pub const SECRET_BASE32_LEN: usize = 32;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;

/// The first line of files written by [`write_secret_file`].
const FILE_HEADER: &str = "# runner: TOTP secret of the StoreConnect sync user's verification method \
(RFC 6238, SHA1, 6 digits, 30 s). Anyone who reads this file can produce the user's MFA codes: keep it mode 0600.";

/// What can go wrong with a TOTP secret. No variant ever holds the secret or any part of it.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TotpError {
    /// The base32 text, once spaces are removed, isn't 32 characters long.
    #[error("a TOTP secret must be 32 base32 characters (20 bytes); this one has {found}")]
    #[diagnostic(
        code(runner::totp::base32_length),
        help(
            "Salesforce's TwoFactorInfo.SharedKey only accepts the base32 form of exactly 20 bytes (32 characters \
             A-Z and 2-7, no `=` padding). Spaces and lowercase are fine. Check that the whole key was copied."
        )
    )]
    Base32Length {
        /// Characters found after removing whitespace.
        found: usize,
    },

    /// A character outside the base32 alphabet.
    #[error("character {position} of the TOTP secret is not a base32 character (A-Z, 2-7)")]
    #[diagnostic(
        code(runner::totp::base32_character),
        help("base32 has no 0, 1, 8 or 9: a 0 is probably the letter O, a 1 the letter I or L, an 8 the letter B.")
    )]
    Base32Character {
        /// 1-based position in the secret after whitespace is removed.
        position: usize,
    },

    /// The operating system's random number generator failed.
    #[error("could not get random bytes from the operating system for a new TOTP secret")]
    #[diagnostic(
        code(runner::totp::random),
        help(
            "This is a problem with the machine (no /dev/urandom or getrandom(2)?), not with the org. Retry, or run elsewhere."
        )
    )]
    Random(#[source] rand::rand_core::OsError),

    /// The otpauth URI could not be turned into a QR code.
    #[error("could not render the otpauth URI as a QR code: {reason}")]
    #[diagnostic(
        code(runner::totp::qr),
        help("The URI is probably too long: use a shorter issuer or account name, or enter the key by hand.")
    )]
    Qr {
        /// What the QR encoder said (never contains the data).
        reason: String,
    },

    /// `write_secret_file` was asked not to overwrite, and the file exists.
    #[error("{} already exists; not overwriting it", path.display())]
    #[diagnostic(
        code(runner::totp::file_exists),
        help(
            "It may hold the secret of a verification method that is still registered in Salesforce. Move it away \
             first, or ask explicitly to overwrite it."
        )
    )]
    FileExists {
        /// The file that exists.
        path: PathBuf,
    },

    /// Reading, writing or inspecting a secret file failed.
    #[error("could not {action} {}", path.display())]
    #[diagnostic(code(runner::totp::io), help("Check that the directory exists and that you may read and write it."))]
    Io {
        /// What we were doing: "create", "write", "read", ….
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// The secret file can be read or written by the group or by others.
    #[error("{} holds a TOTP secret but its mode is {mode:04o}: group or others can access it", path.display())]
    #[diagnostic(
        code(runner::totp::file_permissions),
        help(
            "Run `chmod 600 '{}'` and try again. If other people could read the file, treat the secret as leaked: \
             register a new verification method for the user.",
            path.display()
        )
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits (`mode & 0o7777`).
        mode: u32,
    },

    /// The file has no secret in any of the understood forms.
    #[error("{} does not contain a TOTP secret", path.display())]
    #[diagnostic(
        code(runner::totp::file_no_secret),
        help(
            "The file should contain a `secret=<BASE32>` line, an `otpauth://totp/…?secret=<BASE32>` URI, or just the \
             32-character base32 secret. Lines starting with # are comments."
        )
    )]
    NoSecretInFile {
        /// The file.
        path: PathBuf,
    },

    /// A line of the file holds something that isn't a valid secret.
    #[error("line {line} of {} does not hold a valid TOTP secret", path.display())]
    #[diagnostic(code(runner::totp::file_invalid_line))]
    InvalidLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// Why the line was rejected.
        #[source]
        reason: Box<TotpError>,
        /// The help of `reason`, shown on this error.
        #[help]
        help: Option<String>,
    },

    /// An otpauth URI that doesn't describe a SHA1 / 6-digit / 30 s TOTP key.
    #[error("unsupported otpauth URI: {reason}")]
    #[diagnostic(
        code(runner::totp::unsupported_uri),
        help(
            "Salesforce verification methods use TOTP with SHA1, 6 digits and a 30 s period; runner can only \
             produce codes for those. The URI must look like otpauth://totp/<label>?secret=<BASE32>&…"
        )
    )]
    UnsupportedUri {
        /// What is wrong (a parameter name and value, never the secret).
        reason: String,
    },

    /// The file holds more than one secret and they differ.
    #[error("{} holds different TOTP secrets (on lines {first_line} and {other_line})", path.display())]
    #[diagnostic(
        code(runner::totp::file_mismatch),
        help(
            "The `secret=` line and the `uri=` line must carry the same secret. Keep the one registered in \
             Salesforce and delete the other."
        )
    )]
    SecretMismatch {
        /// The file.
        path: PathBuf,
        /// Line of the first secret.
        first_line: usize,
        /// Line of the secret that differs from it.
        other_line: usize,
    },
}

/// The 20-byte TOTP secret. Zeroized on drop; `Debug` prints `TotpSecret([REDACTED])`; no `Display`.
pub struct TotpSecret(SecretBox<[u8; SECRET_LEN]>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

impl TotpSecret {
    /// A new secret of 20 bytes from the operating system's random number generator.
    ///
    /// # Errors
    /// [`TotpError::Random`] if the OS generator fails (practically never on Linux or macOS).
    pub fn generate() -> Result<Self, TotpError> {
        let mut failure = None;
        // Fill the bytes in place on the heap, so no copy of them is left on the stack.
        let bytes = SecretBox::init_with_mut(|bytes: &mut [u8; SECRET_LEN]| {
            failure = OsRng.try_fill_bytes(bytes).err();
        });
        match failure {
            Some(err) => Err(TotpError::Random(err)),
            None => Ok(Self(bytes)),
        }
    }

    /// Parses the base32 form: exactly 32 characters `A–Z2–7` once whitespace is removed; lowercase is accepted,
    /// `=` padding is not (20 bytes never need it).
    ///
    /// # Errors
    /// [`TotpError::Base32Length`] or [`TotpError::Base32Character`]; neither contains the input.
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let normalized: Zeroizing<Vec<u8>> =
            Zeroizing::new(text.bytes().filter(|b| !b.is_ascii_whitespace()).map(|b| b.to_ascii_uppercase()).collect());
        // Count characters, not bytes, so a stray non-ASCII character gives an honest length.
        let found = text.chars().filter(|c| !c.is_whitespace()).count();
        if found != SECRET_BASE32_LEN || normalized.len() != SECRET_BASE32_LEN {
            return Err(TotpError::Base32Length { found });
        }
        if let Some(index) = normalized.iter().position(|b| !matches!(b, b'A'..=b'Z' | b'2'..=b'7')) {
            return Err(TotpError::Base32Character { position: index + 1 });
        }
        let mut failed = false;
        let bytes = SecretBox::init_with_mut(|bytes: &mut [u8; SECRET_LEN]| {
            // 32 characters × 5 bits = 160 bits = 20 bytes exactly, and the alphabet was checked above, so this
            // cannot fail; the check is kept so a future change can't silently produce a wrong key.
            failed = BASE32_NOPAD.decode_mut(&normalized, bytes).is_err();
        });
        if failed {
            return Err(TotpError::Base32Character { position: 1 });
        }
        Ok(Self(bytes))
    }

    /// The base32 form (32 characters, uppercase, no padding): the `SharedKey` value for Salesforce's
    /// `TwoFactorInfo`, and what a person types into an authenticator app.
    pub fn expose_base32(&self) -> SecretString {
        SecretString::from(BASE32_NOPAD.encode(self.0.expose_secret()))
    }

    /// Constant-time comparison, so comparing secrets doesn't leak how much of them matched.
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        let (a, b) = (self.0.expose_secret(), other.0.expose_secret());
        a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The 6-digit code for `unix_seconds` (RFC 6238: HMAC-SHA1, 30 s step, T0 = 0), zero-padded.
pub fn code_at(secret: &TotpSecret, unix_seconds: u64) -> String {
    hotp(secret.0.expose_secret(), unix_seconds / STEP_SECONDS, DIGITS)
}

/// Seconds the code for `unix_seconds` stays valid: 1 to [`STEP_SECONDS`], until the next step starts.
pub fn valid_for(unix_seconds: u64) -> u64 {
    STEP_SECONDS - unix_seconds % STEP_SECONDS
}

/// RFC 4226 HOTP with HMAC-SHA1: the `digits`-digit code for `counter`, zero-padded. `digits` must be 6 to 8 (the
/// RFC's range); TOTP is `hotp(key, unix / 30, 6)`.
fn hotp(key: &[u8], counter: u64, digits: u32) -> String {
    debug_assert!((6..=8).contains(&digits), "HOTP codes have 6 to 8 digits");
    // A step of one second makes totp-rs's "time" the HOTP counter itself.
    let mut totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, digits as usize, 0, 1, key.to_vec());
    let code = totp.generate(counter);
    // totp-rs only zeroizes its copy of the key with its `zeroize` feature; wipe it ourselves.
    totp.secret.zeroize();
    code
}

/// The Google "Key Uri Format" URI that authenticator apps scan:
/// `otpauth://totp/<Issuer>:<account>?secret=<BASE32>&issuer=<Issuer>&algorithm=SHA1&digits=6&period=30`.
/// Issuer and account are percent-encoded (everything but `A–Z a–z 0–9 - . _ ~`, so `@` → `%40`, space → `%20`,
/// and a colon inside either → `%3A`).
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> SecretString {
    let issuer = percent_encode(issuer);
    let account = percent_encode(account);
    let base32 = secret.expose_base32();
    SecretString::from(format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32.expose_secret()
    ))
}

/// Everything but RFC 3986's unreserved characters is escaped.
const URI_COMPONENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn percent_encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// Decodes a query-string value: `%XX` escapes, and `+` as a space. Malformed escapes are kept literally.
fn percent_decode(text: &str) -> Zeroizing<Vec<u8>> {
    let spaced = Zeroizing::new(text.replace('+', " "));
    Zeroizing::new(percent_encoding::percent_decode_str(&spaced).collect())
}

/// Renders `uri` as a QR code of Unicode half blocks (two modules per character cell), with the quiet zone.
///
/// Drawn for the usual light-on-dark terminal: dark modules are left as (dark) background and light modules
/// are printed as blocks, so the code scans the right way round. The string holds the secret, visually.
///
/// # Errors
/// [`TotpError::Qr`] if the URI is too long for a QR code.
pub fn qr_for_terminal(uri: &SecretString) -> Result<String, TotpError> {
    use qrcode::render::unicode::Dense1x2;
    let code =
        qrcode::QrCode::new(uri.expose_secret().as_bytes()).map_err(|err| TotpError::Qr { reason: err.to_string() })?;
    Ok(code.render::<Dense1x2>().dark_color(Dense1x2::Light).light_color(Dense1x2::Dark).quiet_zone(true).build())
}

/// Writes the secret and its otpauth URI to `path`, in the format [`read_secret_file`] reads:
///
/// ```text
/// # runner: TOTP secret of the StoreConnect sync user's verification method (…)
/// secret=<BASE32>
/// uri=otpauth://totp/…
/// ```
///
/// The file is created with mode 0600 from the start (never briefly readable by others). Unless `overwrite`,
/// an existing file is an error; when overwriting, the existing file's mode is reset to 0600 before writing.
///
/// # Errors
/// [`TotpError::FileExists`], or [`TotpError::Io`] naming the path.
pub fn write_secret_file(
    path: &Path,
    secret: &TotpSecret,
    uri: &SecretString,
    overwrite: bool,
) -> Result<(), TotpError> {
    let io_error =
        |action: &'static str| move |source: io::Error| TotpError::Io { action, path: path.to_owned(), source };
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            TotpError::FileExists { path: path.to_owned() }
        } else {
            TotpError::Io { action: "create", path: path.to_owned(), source }
        }
    })?;
    if overwrite {
        // `mode` only applies to files `open` creates; an overwritten file keeps its old mode unless we reset it.
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io_error("set the permissions of"))?;
    }
    let contents = Zeroizing::new(format!(
        "{FILE_HEADER}\nsecret={}\nuri={}\n",
        secret.expose_base32().expose_secret(),
        uri.expose_secret()
    ));
    file.write_all(contents.as_bytes()).map_err(io_error("write"))?;
    file.sync_all().map_err(io_error("write"))?;
    Ok(())
}

/// Reads a secret file. Three forms are understood (blank lines and `#` comments are ignored):
/// the `secret=…` / `uri=…` lines that [`write_secret_file`] writes, a bare base32 secret, or a bare
/// `otpauth://totp/…` URI. If the file carries the secret more than once, every copy must agree.
///
/// Refuses a file whose mode lets the group or others read or write it.
///
/// # Errors
/// [`TotpError::InsecurePermissions`] (with the `chmod` command to fix it), [`TotpError::Io`],
/// [`TotpError::NoSecretInFile`], [`TotpError::InvalidLine`], [`TotpError::SecretMismatch`].
pub fn read_secret_file(path: &Path) -> Result<TotpSecret, TotpError> {
    let io_error =
        |action: &'static str| move |source: io::Error| TotpError::Io { action, path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io_error("open"))?;
    // Check the file we opened, not the path, so it can't be swapped between the check and the read.
    let mode = file.metadata().map_err(io_error("inspect"))?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(TotpError::InsecurePermissions { path: path.to_owned(), mode });
    }
    let mut contents = Zeroizing::new(String::new());
    file.read_to_string(&mut contents).map_err(io_error("read"))?;
    parse_secret_file(path, &contents)
}

/// The parsing half of [`read_secret_file`]; `path` is only used in errors.
pub(crate) fn parse_secret_file(path: &Path, contents: &str) -> Result<TotpSecret, TotpError> {
    let mut found: Option<(usize, TotpSecret)> = None;
    for (index, raw) in contents.lines().enumerate() {
        let line_number = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parsed = if starts_with_ignore_case(line, "otpauth:") {
            secret_from_uri(line)
        } else if let Some((key, value)) = line.split_once('=') {
            match key.trim().to_ascii_lowercase().as_str() {
                "secret" => TotpSecret::from_base32(value),
                "uri" => secret_from_uri(value.trim()),
                // Unknown keys are left for other tools or later versions.
                _ => continue,
            }
        } else {
            TotpSecret::from_base32(line)
        };
        let secret = parsed.map_err(|reason| TotpError::InvalidLine {
            path: path.to_owned(),
            line: line_number,
            help: miette::Diagnostic::help(&reason).map(|help| help.to_string()),
            reason: Box::new(reason),
        })?;
        match &found {
            None => found = Some((line_number, secret)),
            Some((first_line, first)) if !first.same_as(&secret) => {
                return Err(TotpError::SecretMismatch {
                    path: path.to_owned(),
                    first_line: *first_line,
                    other_line: line_number,
                });
            }
            Some(_) => {}
        }
    }
    found.map(|(_, secret)| secret).ok_or_else(|| TotpError::NoSecretInFile { path: path.to_owned() })
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// The secret of an `otpauth://totp/…` URI, after checking that its parameters are the ones [`code_at`] uses.
pub(crate) fn secret_from_uri(uri: &str) -> Result<TotpSecret, TotpError> {
    let unsupported = |reason: String| TotpError::UnsupportedUri { reason };
    let rest = uri
        .get(.."otpauth://".len())
        .filter(|scheme| scheme.eq_ignore_ascii_case("otpauth://"))
        .map(|scheme| &uri[scheme.len()..])
        .ok_or_else(|| unsupported("it does not start with otpauth://".to_owned()))?;
    let (kind, rest) = rest.split_once('/').unwrap_or((rest, ""));
    if !kind.eq_ignore_ascii_case("totp") {
        // The type is not secret; cap its length in case the URI is garbage.
        let kind: String = kind.chars().take(16).collect();
        return Err(unsupported(format!("type `{kind}`, runner only handles `totp`")));
    }
    let query = rest.split_once('?').map(|(_, query)| query).unwrap_or("");
    let query = query.split_once('#').map(|(query, _)| query).unwrap_or(query);
    let mut secret = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let expected = match name.to_ascii_lowercase().as_str() {
            "secret" => {
                let value = percent_decode(value);
                let text = std::str::from_utf8(&value).map_err(|_| TotpError::Base32Character { position: 1 })?;
                secret = Some(TotpSecret::from_base32(text)?);
                continue;
            }
            "algorithm" => "SHA1",
            "digits" => "6",
            "period" => "30",
            _ => continue,
        };
        let decoded = percent_decode(value);
        let value = String::from_utf8_lossy(&decoded);
        if !value.eq_ignore_ascii_case(expected) {
            let value: String = value.chars().take(16).collect();
            return Err(unsupported(format!("{name}={value}, runner only handles {name}={expected}")));
        }
    }
    secret.ok_or_else(|| unsupported("it has no secret= parameter".to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// RFC 6238 Appendix B, SHA1 rows: the key is the ASCII string "12345678901234567890".
    const RFC_KEY: &[u8; 20] = b"12345678901234567890";
    const RFC_VECTORS: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_base32(&BASE32_NOPAD.encode(RFC_KEY)).unwrap()
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn hotp_matches_rfc6238_appendix_b_sha1() {
        for (t, expected) in RFC_VECTORS {
            assert_eq!(hotp(RFC_KEY, t / 30, 8), expected, "t = {t}");
        }
    }

    #[test]
    fn hotp_matches_rfc4226_appendix_d() {
        // RFC 4226 Appendix D: same key, counters 0..=9, 6 digits.
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_KEY, counter as u64, 6), *code, "counter = {counter}");
        }
    }

    #[test]
    fn code_at_is_the_last_six_digits_of_the_rfc_vectors() {
        let secret = rfc_secret();
        for (t, expected) in RFC_VECTORS {
            assert_eq!(code_at(&secret, t), expected[2..], "t = {t}");
        }
    }

    #[test]
    fn valid_for_counts_down_to_the_next_step() {
        assert_eq!(valid_for(1_111_111_110), 30);
        assert_eq!(valid_for(1_111_111_139), 1);
        assert_eq!(valid_for(0), 30);
        assert_eq!(valid_for(59), 1);
    }

    #[test]
    fn code_at_changes_at_step_boundaries_only() {
        let secret = rfc_secret();
        assert_eq!(code_at(&secret, 1_111_111_110), code_at(&secret, 1_111_111_139));
        assert_ne!(code_at(&secret, 1_111_111_109), code_at(&secret, 1_111_111_110));
    }

    #[test]
    fn base32_round_trip() {
        let secret = TotpSecret::generate().unwrap();
        let text = secret.expose_base32();
        let text = text.expose_secret();
        assert_eq!(text.len(), SECRET_BASE32_LEN);
        assert!(text.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7')), "{text}");
        let again = TotpSecret::from_base32(text).unwrap();
        assert!(again.same_as(&secret));
        assert_eq!(code_at(&again, 1_700_000_000), code_at(&secret, 1_700_000_000));
    }

    #[test]
    fn base32_of_known_bytes() {
        assert_eq!(rfc_secret().expose_base32().expose_secret(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn generate_gives_different_secrets() {
        let a = TotpSecret::generate().unwrap();
        let b = TotpSecret::generate().unwrap();
        assert!(!a.same_as(&b));
    }

    #[test]
    fn from_base32_accepts_lowercase_and_spaces() {
        let secret = TotpSecret::from_base32("gezd gnbv gy3t qojq\tgezd gnbv gy3t qojq\n").unwrap();
        assert!(secret.same_as(&rfc_secret()));
    }

    #[test]
    fn from_base32_rejects_wrong_lengths() {
        for (text, found) in
            [("", 0), ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ", 31), ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQA", 33)]
        {
            assert!(
                matches!(TotpSecret::from_base32(text), Err(TotpError::Base32Length { found: f }) if f == found),
                "{text:?}"
            );
        }
        // A 16-byte secret (26 chars unpadded, 32 with padding) is not what Salesforce wants.
        let padded = BASE32_NOPAD.encode(&[7u8; 16]) + "======";
        assert_eq!(padded.len(), 32);
        assert!(TotpSecret::from_base32(&padded).is_err());
        // Multi-byte characters are counted as characters.
        assert!(matches!(
            TotpSecret::from_base32("ÉEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            Err(TotpError::Base32Length { found: 32 })
        ));
    }

    #[test]
    fn from_base32_rejects_characters_outside_the_alphabet() {
        let err = TotpSecret::from_base32("GEZDGNBVGY3TQ0JQGEZDGNBVGY3TQOJQ").unwrap_err();
        assert!(matches!(err, TotpError::Base32Character { position: 14 }), "{err:?}");
        assert!(!err.to_string().contains("GEZDG"));
    }

    #[test]
    fn debug_is_redacted() {
        let secret = rfc_secret();
        let debug = format!("{secret:?}");
        assert_eq!(debug, "TotpSecret([REDACTED])");
        assert!(!debug.contains(secret.expose_base32().expose_secret()));
        assert!(!format!("{secret:#?}").contains("GEZDG"));
    }

    #[test]
    fn otpauth_uri_follows_the_key_uri_format() {
        let uri = otpauth_uri(&rfc_secret(), "Store Connect", "sync@yourorg.example");
        assert_eq!(
            uri.expose_secret(),
            "otpauth://totp/Store%20Connect:sync%40yourorg.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Store%20Connect&algorithm=SHA1&digits=6&period=30"
        );
        let uri = otpauth_uri(&rfc_secret(), "a:b/c?d&e", "ü");
        assert!(
            uri.expose_secret().starts_with("otpauth://totp/a%3Ab%2Fc%3Fd%26e:%C3%BC?secret="),
            "{}",
            uri.expose_secret()
        );
    }

    #[test]
    fn otpauth_uri_parses_back() {
        let secret = TotpSecret::generate().unwrap();
        let uri = otpauth_uri(&secret, "Salesforce", "sync user@example.com");
        assert!(secret_from_uri(uri.expose_secret()).unwrap().same_as(&secret));
    }

    #[test]
    fn uri_parameters_other_than_the_defaults_are_refused() {
        let base = "otpauth://totp/X:y?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert!(secret_from_uri(base).is_ok());
        assert!(secret_from_uri(&format!("{base}&algorithm=sha1&digits=6&period=30")).is_ok());
        for extra in ["&algorithm=SHA256", "&digits=8", "&period=60"] {
            let err = secret_from_uri(&format!("{base}{extra}")).unwrap_err();
            assert!(matches!(err, TotpError::UnsupportedUri { .. }), "{extra}: {err:?}");
        }
        assert!(secret_from_uri("otpauth://hotp/X:y?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=1").is_err());
        assert!(secret_from_uri("otpauth://totp/X:y?issuer=X").is_err());
    }

    #[test]
    fn percent_decode_handles_escapes_and_garbage() {
        assert_eq!(percent_decode("a%40b%3a+c").as_slice(), b"a@b: c");
        assert_eq!(percent_decode("100%").as_slice(), b"100%");
        assert_eq!(percent_decode("%4").as_slice(), b"%4");
        assert_eq!(percent_decode("%zz").as_slice(), b"%zz");
    }

    #[test]
    fn qr_renders_as_several_lines_of_blocks() {
        let uri = otpauth_uri(&rfc_secret(), "Salesforce", "sync@yourorg.example");
        let qr = qr_for_terminal(&uri).unwrap();
        let lines: Vec<&str> = qr.lines().collect();
        assert!(lines.len() > 10, "{qr}");
        // Every line is as wide as the code plus its quiet zone, and the code has dark and light modules.
        let width = lines[0].chars().count();
        assert!(width > 20);
        assert!(lines.iter().all(|line| line.chars().count() == width));
        assert!(qr.contains('\u{2588}') && qr.contains(' '));
        // Drawn for a dark terminal: the light quiet zone is printed as full blocks, top and bottom.
        assert!(lines[0].chars().all(|c| c == '\u{2588}'), "{qr}");
        // (An odd number of rows leaves only the upper half of the last line.)
        assert!(lines[lines.len() - 1].chars().all(|c| c == '\u{2588}' || c == '\u{2580}'), "{qr}");
        assert!(!qr.contains("GEZDG"));
    }

    #[test]
    fn qr_refuses_data_that_does_not_fit() {
        let uri = SecretString::from("x".repeat(8000));
        assert!(matches!(qr_for_terminal(&uri), Err(TotpError::Qr { .. })));
    }

    #[test]
    fn written_file_is_0600_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("totp.secret");
        let secret = TotpSecret::generate().unwrap();
        let uri = otpauth_uri(&secret, "Salesforce", "sync@example.com");
        write_secret_file(&path, &secret, &uri, false).unwrap();
        assert_eq!(mode_of(&path), 0o600);

        let contents = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = contents.lines().collect();
        assert!(lines[0].starts_with("# "), "{contents}");
        assert_eq!(lines[1], format!("secret={}", secret.expose_base32().expose_secret()));
        assert_eq!(lines[2], format!("uri={}", uri.expose_secret()));

        assert!(read_secret_file(&path).unwrap().same_as(&secret));
    }

    #[test]
    fn existing_file_is_kept_unless_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("totp.secret");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let secret = TotpSecret::generate().unwrap();
        let uri = otpauth_uri(&secret, "Salesforce", "sync@example.com");

        let err = write_secret_file(&path, &secret, &uri, false).unwrap_err();
        assert!(matches!(&err, TotpError::FileExists { path: p } if p == &path), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old\n");

        write_secret_file(&path, &secret, &uri, true).unwrap();
        assert_eq!(mode_of(&path), 0o600, "overwriting must tighten the old mode");
        assert!(read_secret_file(&path).unwrap().same_as(&secret));
    }

    #[test]
    fn group_or_world_accessible_file_is_refused_with_the_chmod_command() {
        use miette::Diagnostic as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("totp.secret");
        let secret = rfc_secret();
        write_secret_file(&path, &secret, &otpauth_uri(&secret, "S", "a"), false).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = read_secret_file(&path).unwrap_err();
            assert!(matches!(err, TotpError::InsecurePermissions { mode: m, .. } if m == mode), "{mode:o}: {err:?}");
            let help = err.help().unwrap().to_string();
            assert!(help.contains(&format!("chmod 600 '{}'", path.display())), "{help}");
            assert!(!err.to_string().contains("GEZDG") && !help.contains("GEZDG"));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        assert!(read_secret_file(&path).unwrap().same_as(&secret));
    }

    #[test]
    fn reads_the_three_file_forms() {
        let dir = tempfile::tempdir().unwrap();
        let expected = rfc_secret();
        let forms = [
            "# runner: TOTP secret\nsecret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nuri=otpauth://totp/S:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=S\n",
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq\n",
            "\n# from the admin\notpauth://totp/Salesforce:sync%40x.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Salesforce\n",
        ];
        for (i, contents) in forms.iter().enumerate() {
            let path = dir.path().join(format!("form{i}"));
            std::fs::write(&path, contents).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            assert!(read_secret_file(&path).unwrap().same_as(&expected), "form {i}");
        }
    }

    #[test]
    fn bad_file_contents_are_reported_by_line_without_the_secret() {
        let path = Path::new("/nowhere/totp.secret");
        let cases = [
            ("# only a comment\n\n", "file_no_secret"),
            ("version=1\n", "file_no_secret"),
            ("# c\nsecret=GEZDGNBVGY3TQOJQ\n", "file_invalid_line"),
            (
                "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nuri=otpauth://totp/S:a?secret=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                "file_mismatch",
            ),
        ];
        for (contents, code) in cases {
            let err = parse_secret_file(path, contents).unwrap_err();
            let code_text = miette::Diagnostic::code(&err).unwrap().to_string();
            assert_eq!(code_text, format!("runner::totp::{code}"), "{contents:?}: {err:?}");
            assert!(!format!("{err} {err:?}").contains("GEZDG"), "{err:?}");
        }
        let err = parse_secret_file(path, "# c\nsecret=GEZDGNBVGY3TQOJQ\n").unwrap_err();
        assert!(matches!(err, TotpError::InvalidLine { line: 2, .. }), "{err:?}");
        let err = parse_secret_file(path, "secret=A\nuri=B\n").unwrap_err();
        assert!(matches!(err, TotpError::InvalidLine { line: 1, .. }), "{err:?}");
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent");
        let err = read_secret_file(&path).unwrap_err();
        assert!(matches!(err, TotpError::Io { action: "open", .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
    }
}
