//! `runner credentials show` and `runner totp code` on credentials files: what they print, their exit codes,
//! and that errors never carry the secrets.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use runner_core::credentials::Credentials;
use runner_core::totp::{self, TotpSecret};
use secrecy::SecretString;
use serde_json::Value;

const USERNAME: &str = "sc.sync@client.example";
const LOGIN_URL: &str = "https://client.my.salesforce.com";
const PASSWORD: &str = "c0rrect horse=battery";
const BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

fn runner() -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
    cmd.env("NO_COLOR", "1").env_remove("SF_ACCESS_TOKEN");
    cmd
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// Writes a credentials file the way runner's steps do, with a password and an authenticator or not.
fn store(path: &Path, password: bool, authenticator: bool) {
    let mut credentials = Credentials::new(USERNAME, LOGIN_URL);
    if password {
        credentials.set_password(SecretString::from(PASSWORD));
    }
    if authenticator {
        credentials.set_totp(TotpSecret::from_base32(BASE32).expect("a secret"), "Salesforce");
    }
    credentials.store(path).expect("stored");
}

/// The codes of the steps around the command's run: the command read the clock somewhere in `before..=after`,
/// and either side of a step boundary is fine.
fn plausible_codes(before: u64, after: u64) -> Vec<String> {
    let secret = TotpSecret::from_base32(BASE32).expect("a secret");
    (before.saturating_sub(totp::STEP_SECONDS)..=after + totp::STEP_SECONDS)
        .step_by(usize::try_from(totp::STEP_SECONDS).expect("small"))
        .chain([after])
        .map(|t| totp::code_at(&secret, t))
        .collect()
}

#[test]
fn show_prints_the_username_password_code_and_login_url() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sync.credentials");
    store(&file, true, true);
    let before = unix_now();
    let out = runner().args(["credentials", "show", "--file"]).arg(&file).output().expect("runs");
    let after = unix_now();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(lines[0], format!("username:   {USERNAME}"));
    assert_eq!(lines[1], format!("password:   {PASSWORD}"));
    let code_line = lines[2].strip_prefix("totp code:  ").expect("a code line");
    let (code, valid) = code_line.split_once(" (valid for ").expect("how long it is valid");
    assert!(plausible_codes(before, after).iter().any(|c| c == code), "{code_line}");
    let seconds: u64 = valid.strip_suffix(" more second(s))").expect("seconds").parse().expect("a number");
    assert!((1..=30).contains(&seconds), "{code_line}");
    assert_eq!(lines[3], format!("login url:  {LOGIN_URL}"));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn show_json_is_one_object_with_the_code_and_how_long_it_is_valid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sync.credentials");
    store(&file, true, true);
    let before = unix_now();
    let out = runner().args(["credentials", "show", "--json", "--file"]).arg(&file).output().expect("runs");
    let after = unix_now();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let keys: Vec<&str> = doc.as_object().expect("an object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["username", "password", "totp_code", "valid_for_s", "login_url"]);
    assert_eq!(doc["username"], USERNAME);
    assert_eq!(doc["password"], PASSWORD);
    assert_eq!(doc["login_url"], LOGIN_URL);
    let code = doc["totp_code"].as_str().expect("a code");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
    assert!(plausible_codes(before, after).iter().any(|c| c == code), "{code}");
    let seconds = doc["valid_for_s"].as_u64().expect("seconds");
    assert!((1..=30).contains(&seconds), "{seconds}");
}

#[test]
fn show_says_what_is_missing_and_still_exits_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("new.credentials");
    store(&file, false, false);
    let out = runner().args(["credentials", "show", "--file"]).arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("username:   {USERNAME}")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("password:   none yet")), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("totp code:  none yet")), "{stdout}");
    assert!(stdout.contains(LOGIN_URL), "{stdout}");

    let out = runner().args(["credentials", "show", "--json", "--file"]).arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["username"], USERNAME);
    for key in ["password", "totp_code", "valid_for_s"] {
        assert_eq!(doc[key], Value::Null, "{key}: {doc}");
    }

    store(&file, true, false);
    let out = runner().args(["credentials", "show", "--json", "--file"]).arg(&file).output().expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["password"], PASSWORD);
    assert_eq!(doc["totp_code"], Value::Null);
}

#[test]
fn unusable_files_exit_2_with_the_reason_and_no_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let insecure = dir.path().join("insecure.credentials");
    store(&insecure, true, true);
    std::fs::set_permissions(&insecure, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let foreign = dir.path().join("authorized_keys");
    std::fs::write(&foreign, format!("ssh-ed25519 AAAA {PASSWORD}\n")).expect("written");
    std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let link = dir.path().join("link.credentials");
    std::os::unix::fs::symlink(&insecure, &link).expect("symlink");
    let cases = [
        (dir.path().join("absent"), "runner::credentials::missing"),
        (dir.path().join("no-folder/c"), "runner::credentials::folder_missing"),
        (dir.path().to_path_buf(), "is a folder, not a file"),
        (insecure, "chmod 600"),
        (foreign, "runner::credentials::not_runner_file"),
        (link, "runner::credentials::symlink"),
    ];
    for (file, expected) in cases {
        for json in [false, true] {
            let mut cmd = runner();
            cmd.args(["credentials", "show", "--file"]).arg(&file);
            if json {
                cmd.arg("--json");
            }
            let out = cmd.output().expect("runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{}: {stderr}", file.display());
            assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
            assert!(stderr.contains(expected), "{}: {stderr}", file.display());
            assert!(!stderr.contains(PASSWORD) && !stderr.contains(BASE32), "{stderr}");
        }
    }
}

#[test]
fn totp_code_reads_a_credentials_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sync.credentials");
    store(&file, true, true);
    let before = unix_now();
    let out = runner().args(["totp", "code", "--secret-file"]).arg(&file).output().expect("runs");
    let after = unix_now();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(plausible_codes(before, after).contains(&code), "{code}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("more second(s)"));

    let without = dir.path().join("no-totp.credentials");
    store(&without, true, false);
    let out = runner().args(["totp", "code", "--secret-file"]).arg(&without).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("runner::credentials::no_totp") && !stderr.contains(PASSWORD), "{stderr}");

    let out = runner().args(["totp", "code", "--secret-file"]).arg(dir.path().join("absent")).output().expect("runs");
    assert_eq!(out.status.code(), Some(2), "a missing file is bad input, not a stopped playbook");
}
