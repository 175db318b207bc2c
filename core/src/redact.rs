//! The one redaction rule for every secret runner handles: access and refresh tokens,
//! client secrets, JWT assertions, passwords, TOTP seeds. It applies wherever text
//! leaves the process: the human output, `--json`, errors, the journal and panics.
//!
//! Two halves, both always applied:
//!
//! 1. **By name.** A value under a field whose name [`is_secret_name`] is replaced by
//!    [`REDACTED`], whatever it is (bar `null` and booleans, which cannot hold a
//!    secret and say whether one is set).
//! 2. **By value.** Every secret the run knows ([`Secrets`]) is cut out of any text
//!    where it appears as a substring: as is, percent-encoded (any encode set, `%XX`
//!    in either case), form-encoded (`+` for a space), JSON-escaped or XML-escaped.
//!    So is anything shaped like a Salesforce session id (`00D…!…`), known or not,
//!    because a server may echo a token runner never saw.
//!
//! The name pattern (case-insensitive, on the name with `_`, `-` and `.` removed and a
//! custom suffix such as `__c` dropped):
//! - contains `secret`, `token`, `password`, `passwd`, `passphrase`, `pwd`,
//!   `sessionid`, `assertion`, `credential`, `privatekey`, `apikey` or `otpauth`; or
//! - ends with `key` (`SharedKey`, `Api_Key__c`, `private_key`, `Key`), except the
//!   ordinary Salesforce fields listed in [`ORDINARY_KEYS`] and any `…SidKey`
//!   (`TimeZoneSidKey`, `LocaleSidKey`), which name picklist values, not secrets.
//!
//! It errs on the side of redacting: a `Sort_Key__c` is hidden too.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock, RwLock};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this are not cut out of text by value: a three-letter
/// "secret" would blank every word that contains it. Salesforce's own minimum
/// password length is 8; tokens and client secrets are far longer.
pub const MIN_SECRET_LEN: usize = 6;

/// Words that make a field name secret wherever they appear in it.
const SECRET_WORDS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "sessionid",
    "assertion",
    "credential",
    "privatekey",
    "apikey",
    "otpauth",
];

/// Salesforce fields ending in `Key` that hold no secret (compared compacted, lower case).
pub const ORDINARY_KEYS: &[&str] = &[
    "languagelocalekey",
    "emailencodingkey",
    "licensedefinitionkey",
    "permissionsetlicensekey",
    "servicepresencestatuskey",
    "sobjecttypekey",
];

/// Whether a field of this name holds a secret (see the module docs for the pattern).
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    // `Api_Secret__c`, `ns__Token__c`: the custom suffix says nothing about the value.
    let base = ["__c", "__s", "__x", "__e", "__mdt"].iter().find_map(|s| lower.strip_suffix(s)).unwrap_or(&lower);
    let compact: String = base.chars().filter(|c| !matches!(c, '_' | '-' | '.' | ' ')).collect();
    if SECRET_WORDS.iter().any(|word| compact.contains(word)) {
        return true;
    }
    compact.ends_with("key") && !compact.ends_with("sidkey") && !ORDINARY_KEYS.contains(&compact.as_str())
}

/// The secret values a run knows, to cut out of any text.
///
/// Thread-safe and cheap to clone (clones share one list); it only grows. Its `Debug`
/// says how many it holds, never what.
///
/// runner uses one process-wide registry ([`global`]) rather than a handle threaded
/// through each run: the secrets come from unrelated places (the client's OAuth
/// flows, the CLI's JWT bearer source and `runner.toml`, steps that set passwords and
/// TOTP seeds), and some sinks that must redact have no run to ask (the panic hook, a
/// connect error rendered before any run exists). Redacting one org's secret in
/// another org's output in a multi-org run hides nothing that should show.
#[derive(Clone, Default)]
pub struct Secrets {
    known: Arc<RwLock<Known>>,
}

/// The secrets, longest first, and for each byte the positions of the secrets that start
/// with it: a text is tried, at each of its bytes, only against the secrets that can start
/// there (with that byte, or with what an encoding starting there decodes to), so that a
/// fleet's thousands of secrets cost little more than one org's few.
#[derive(Default)]
struct Known {
    secrets: Vec<SecretString>,
    by_first: Vec<Vec<usize>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} known)", self.len())
    }
}

impl Secrets {
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Adds a secret value (surrounding whitespace ignored). Short ones are not kept;
    /// see [`MIN_SECRET_LEN`].
    pub fn add(&self, value: &str) {
        let value = value.trim();
        if value.len() < MIN_SECRET_LEN {
            return;
        }
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        if !known.secrets.iter().any(|s| s.expose_secret() == value) {
            known.secrets.push(SecretString::from(value.to_string()));
            // Longest first, so that a secret containing another is cut out whole.
            known.secrets.sort_by_key(|s| std::cmp::Reverse(s.expose_secret().len()));
            let mut by_first = vec![Vec::new(); 256];
            for (i, secret) in known.secrets.iter().enumerate() {
                if let Some(&b) = secret.expose_secret().as_bytes().first() {
                    by_first[usize::from(b)].push(i);
                }
            }
            known.by_first = by_first;
        }
    }

    pub fn add_secret(&self, value: &SecretString) {
        self.add(value.expose_secret());
    }

    pub fn len(&self) -> usize {
        self.known.read().map(|k| k.secrets.len()).unwrap_or_else(|e| e.into_inner().secrets.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `text` with every known secret, in any of its encodings, and anything shaped
    /// like a session id replaced by [`REDACTED`].
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let secrets: Vec<&[u8]> = known.secrets.iter().map(|s| s.expose_secret().as_bytes()).collect();
        let cut = cut_known(text, &secrets, &known.by_first);
        match cut_session_ids(&cut) {
            Cow::Borrowed(_) => cut,
            Cow::Owned(owned) => Cow::Owned(owned),
        }
    }

    /// `value` with secret-named fields and known secrets redacted, at any depth.
    pub fn value(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if is_secret_name(k) { redact_whole(v) } else { self.value(v) };
                        (k.clone(), v)
                    })
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::String(text) => Value::String(self.text(text).into_owned()),
            other => other.clone(),
        }
    }

    /// The value of a field called `name`: redacted whole when the name is secret.
    pub fn field(&self, name: &str, value: &Value) -> Value {
        if is_secret_name(name) { redact_whole(value) } else { self.value(value) }
    }
}

/// A secret-named field's value: `null` and booleans stay (they hold no secret and say
/// whether one is set), anything else is replaced.
fn redact_whole(value: &Value) -> Value {
    match value {
        Value::Null | Value::Bool(_) => value.clone(),
        _ => Value::String(REDACTED.into()),
    }
}

/// The registry of this process; see [`Secrets`] for why there is one.
pub fn global() -> &'static Secrets {
    static GLOBAL: OnceLock<Secrets> = OnceLock::new();
    GLOBAL.get_or_init(Secrets::new)
}

/// Adds a secret to the process's registry.
pub fn register(value: &str) {
    global().add(value);
}

/// [`Secrets::text`] with the process's registry.
pub fn text(text: &str) -> Cow<'_, str> {
    global().text(text)
}

/// [`Secrets::value`] with the process's registry.
pub fn value(value: &Value) -> Value {
    global().value(value)
}

/// [`Secrets::field`] with the process's registry.
pub fn field(name: &str, value: &Value) -> Value {
    global().field(name, value)
}

fn cut_known<'a>(text: &'a str, secrets: &[&[u8]], by_first: &[Vec<usize>]) -> Cow<'a, str> {
    if secrets.is_empty() {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut at = 0;
    let mut copied = 0;
    // Where the next byte that may start an encoding is, from each position: a window
    // without one can hold a secret only as is, which a plain comparison finds.
    let mut next_escape = vec![bytes.len(); bytes.len() + 1];
    for i in (0..bytes.len()).rev() {
        next_escape[i] = if matches!(bytes[i], b'%' | b'+' | b'\\' | b'&') { i } else { next_escape[i + 1] };
    }
    let matches_at = |at: usize, secret: &[u8]| {
        if next_escape[at] >= at.saturating_add(secret.len()) {
            bytes[at..].starts_with(secret).then_some(at + secret.len())
        } else {
            match_encoded(bytes, at, secret)
        }
    };
    let mut candidates: Vec<usize> = Vec::new();
    while at < bytes.len() {
        // The secrets whose first byte is written here, as is or encoded; tried in the
        // registry's order (longest first).
        candidates.clear();
        let mut several = false;
        for (k, b) in first_bytes(bytes, at).enumerate() {
            several |= k > 0;
            candidates.extend(by_first.get(usize::from(b)).into_iter().flatten());
        }
        if several {
            candidates.sort_unstable();
            candidates.dedup();
        }
        let found = candidates.iter().find_map(|&i| matches_at(at, secrets[i]));
        match found {
            Some(end) => {
                let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len()));
                buf.extend_from_slice(&bytes[copied..at]);
                buf.extend_from_slice(REDACTED.as_bytes());
                at = end;
                copied = end;
            }
            None => at += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.extend_from_slice(&bytes[copied..]);
            // Matches start on a secret's first byte and end after its last, so the
            // cuts fall on character boundaries.
            Cow::Owned(String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
    }
}

/// The bytes a secret's first byte may be, written at `at`: the byte there, and what an
/// encoding starting there ([`match_escaped`]) may stand for. At most six; no allocation,
/// since it is asked at every byte of every text.
fn first_bytes(text: &[u8], at: usize) -> impl Iterator<Item = u8> {
    let rest = &text[at..];
    let mut out = [rest[0]; 6];
    let mut len = 1;
    let mut push = |b: u8| {
        out[len] = b;
        len += 1;
    };
    match rest[0] {
        b'%' if rest.len() >= 3 => hex_pair(rest[1], rest[2]).into_iter().for_each(&mut push),
        b'+' => push(b' '),
        b'\\' => {
            [b'"', b'\\', b'/'].into_iter().for_each(&mut push);
            if rest.len() >= 6 && rest[1] == b'u' && rest[2] == b'0' && rest[3] == b'0' {
                hex_pair(rest[4], rest[5]).into_iter().for_each(&mut push);
            }
        }
        b'&' => [b'<', b'>', b'"', b'\''].into_iter().for_each(&mut push),
        _ => {}
    }
    out.into_iter().take(len)
}

/// Where a match of `secret` starting at `at` ends, each of its bytes written as is or
/// in one of the encodings that carry secrets in URLs, forms, JSON and XML.
fn match_encoded(text: &[u8], at: usize, secret: &[u8]) -> Option<usize> {
    // A byte may match both as is and encoded (`&` against `&amp;`): try both, with a
    // bound on the work so that a hostile text cannot make it explode.
    let mut budget = 4 * secret.len() + 16;
    match_from(text, at, secret, &mut budget)
}

fn match_from(text: &[u8], j: usize, secret: &[u8], budget: &mut usize) -> Option<usize> {
    let Some((&b, rest)) = secret.split_first() else { return Some(j) };
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    let mut next = [None; 2];
    next[0] = match_escaped(text, j, b);
    if text.get(j) == Some(&b) {
        next[1] = Some(j + 1);
    }
    next.into_iter().flatten().find_map(|j| match_from(text, j, rest, budget))
}

/// Where `b`, written in an encoding at `j`, ends.
fn match_escaped(text: &[u8], j: usize, b: u8) -> Option<usize> {
    let rest = text.get(j..)?;
    match *rest.first()? {
        b'%' if rest.len() >= 3 && hex_pair(rest[1], rest[2]) == Some(b) => Some(j + 3),
        b'+' if b == b' ' => Some(j + 1),
        b'\\' => {
            let escaped = match b {
                b'"' => Some(&b"\\\""[..]),
                b'\\' => Some(&b"\\\\"[..]),
                b'/' => Some(&b"\\/"[..]),
                _ => None,
            };
            if let Some(escaped) = escaped
                && rest.starts_with(escaped)
            {
                return Some(j + escaped.len());
            }
            // `\u00XX`
            if rest.len() >= 6
                && rest[1] == b'u'
                && rest[2] == b'0'
                && rest[3] == b'0'
                && hex_pair(rest[4], rest[5]) == Some(b)
            {
                return Some(j + 6);
            }
            None
        }
        b'&' => {
            let entities: &[&[u8]] = match b {
                b'&' => &[b"&amp;", b"&#38;"],
                b'<' => &[b"&lt;"],
                b'>' => &[b"&gt;"],
                b'"' => &[b"&quot;", b"&#34;"],
                b'\'' => &[b"&apos;", b"&#39;"],
                _ => &[],
            };
            entities.iter().find(|e| rest.starts_with(e)).map(|e| j + e.len())
        }
        _ => None,
    }
}

fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    Some(digit(hi)? << 4 | digit(lo)?)
}

/// Cuts out `00D<up to 15 letters or digits>!<16 or more token characters>`: the shape
/// of a Salesforce session id (an access token), whoever's it is.
fn cut_session_ids(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let token_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-');
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = text[at..].find("00D") {
        let start = at + found;
        let mut j = start + 3;
        while j < bytes.len() && j - start - 3 < 15 && bytes[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if bytes.get(j) == Some(&b'!') {
            let token_start = j + 1;
            let mut end = token_start;
            while end < bytes.len() && token_char(bytes[end]) {
                end += 1;
            }
            if end - token_start >= 16 {
                let buf = out.get_or_insert_with(String::new);
                buf.push_str(&text[copied..start]);
                buf.push_str(REDACTED);
                copied = end;
                at = end;
                continue;
            }
        }
        at = start + 3;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn among_many_secrets_each_is_cut_out_whatever_its_first_byte_is_written_as() {
        let secrets = Secrets::new();
        for k in 0..500 {
            secrets.add(&format!("fleet-secret-{k:04}"));
        }
        secrets.add("\"quoted secret");
        secrets.add("&amp-led secret");
        secrets.add("Apples and pears");
        assert_eq!(secrets.text("a fleet-secret-0421 b"), "a [REDACTED] b");
        assert_eq!(secrets.text("%66leet-secret-0007"), "[REDACTED]", "percent-encoded first byte");
        assert_eq!(secrets.text(r#"{"k":"\"quoted secret"}"#), r#"{"k":"[REDACTED]"}"#);
        assert_eq!(secrets.text("x=\\u0022quoted secret"), "x=[REDACTED]");
        assert_eq!(secrets.text("&amp;amp-led secret"), "[REDACTED]");
        assert_eq!(secrets.text("%41pples+and+pears"), "[REDACTED]");
        assert_eq!(secrets.text("nothing here"), "nothing here");
    }

    #[test]
    fn secret_names_match_the_pattern_and_ordinary_keys_do_not() {
        for name in [
            "SharedKey",
            "sharedkey",
            "Password",
            "NewPassword",
            "Password__c",
            "Api_Secret__c",
            "client_secret",
            "access_token",
            "refresh_token",
            "sessionId",
            "assertion",
            "privateKey",
            "private_key",
            "Api_Key__c",
            "Key",
            "ns__Token__c",
            "otpauth_uri",
        ] {
            assert!(is_secret_name(name), "{name} is secret");
        }
        for name in [
            "Name",
            "Username",
            "TimeZoneSidKey",
            "LocaleSidKey",
            "LanguageLocaleKey",
            "EmailEncodingKey",
            "LicenseDefinitionKey",
            "PermissionSetLicenseKey",
            "keyPrefix",
            "ProfileId",
            "Monkey_Business",
        ] {
            assert!(!is_secret_name(name), "{name} is ordinary");
        }
    }

    #[test]
    fn known_secrets_are_cut_out_in_every_encoding() {
        let secrets = Secrets::new();
        secrets.add("s3cr3t/with+odd&chars \"x\"");
        secrets.add("short");
        let cases = [
            "plain s3cr3t/with+odd&chars \"x\" end".to_string(),
            format!(
                "form {}",
                url::form_urlencoded::byte_serialize("s3cr3t/with+odd&chars \"x\"".as_bytes()).collect::<String>()
            ),
            "percent s3cr3t%2Fwith%2Bodd%26chars%20%22x%22".to_string(),
            "lower s3cr3t%2fwith%2bodd%26chars%20%22x%22".to_string(),
            serde_json::to_string("s3cr3t/with+odd&chars \"x\"").unwrap_or_default(),
            "xml s3cr3t/with+odd&amp;chars &quot;x&quot;".to_string(),
        ];
        for case in cases {
            let cut = secrets.text(&case);
            assert!(cut.contains(REDACTED), "{case} → {cut}");
            assert!(!cut.contains("s3cr3t"), "{case} → {cut}");
        }
        assert_eq!(secrets.text("short words stay"), "short words stay", "too short to be cut out by value");
        assert_eq!(format!("{secrets:?}"), "Secrets(1 known)");
    }

    #[test]
    fn session_ids_are_cut_out_even_when_unknown() {
        let secrets = Secrets::new();
        let text = "INVALID_SESSION_ID: 00D5g000004ABCD!AQ4AQFh1q2w3e4r5t6y7u8i9o0p.x_y is bad; org 00D5g000004ABCDEAA";
        let cut = secrets.text(text);
        assert!(!cut.contains("AQ4AQFh1"), "{cut}");
        assert!(cut.contains("org 00D5g000004ABCDEAA"), "an org id alone stays: {cut}");
    }

    #[test]
    fn values_are_redacted_by_name_and_by_value() {
        let secrets = Secrets::new();
        secrets.add("hunter2-the-password");
        let value = json!({
            "Password__c": "whatever",
            "Api_Secret__c": 1234,
            "IsActive": true,
            "SharedKey": null,
            "Note__c": "it is hunter2-the-password, really",
            "nested": [{"client_secret": {"deep": "x"}}],
            "TimeZoneSidKey": "Europe/Paris",
        });
        let out = secrets.value(&value);
        assert_eq!(out["Password__c"], REDACTED);
        assert_eq!(out["Api_Secret__c"], REDACTED);
        assert_eq!(out["IsActive"], true);
        assert_eq!(out["SharedKey"], Value::Null);
        assert_eq!(out["Note__c"], "it is [REDACTED], really");
        assert_eq!(out["nested"][0]["client_secret"], REDACTED);
        assert_eq!(out["TimeZoneSidKey"], "Europe/Paris");
    }

    #[test]
    fn text_with_multibyte_characters_survives() {
        let secrets = Secrets::new();
        secrets.add("ünïcødé-secret");
        assert_eq!(secrets.text("→ ünïcødé-secret ←"), "→ [REDACTED] ←");
        assert_eq!(secrets.text("→ €uro ←"), "→ €uro ←");
    }
}
