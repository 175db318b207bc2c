//! The credentials file through the steps (issue 9, findings 6, 7 and 19): a playbook cannot use
//! `set_password` or `verify` to overwrite a file that is not runner's, and a planted file (a link, another
//! user's, readable by others, a FIFO) is never read, reused or registered. Real playbook runs against the
//! simulated org; the org and the file are checked afterwards.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use runner_core::credentials::Credentials;
use runner_core::report::OrgReport;
use runner_core::totp::TotpSecret;
use runner_sim::Scenario;
use runner_tests::{TestOrg, failure_code, scripts_dir, sign_in_details};
use secrecy::SecretString;

const USER: &str = "files.sync@client.example";
/// The seed an attacker planted: it must never reach the org.
const PLANTED: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const AUTHORIZED_KEYS: &[u8] = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKey admin@host\n";

async fn setup_vars(org: &TestOrg, credentials: &Path) -> Vec<(String, String)> {
    let mut vars = vec![
        ("username".to_string(), USER.to_string()),
        ("email".to_string(), "ops@client.example".to_string()),
        ("credentials_file".to_string(), credentials.to_string_lossy().into_owned()),
    ];
    vars.extend(org.default_vars().await);
    vars
}

async fn setup(org: &TestOrg, credentials: &Path) -> OrgReport {
    let vars = setup_vars(org, credentials).await;
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    org.play(&scripts_dir().join("setup.rhai"), &vars, false).await
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A credentials file as an attacker would plant it: runner's format, an unconfirmed authenticator whose
/// secret they know, so that a run that trusts it registers their seed.
fn plant(path: &Path) {
    let mut credentials = Credentials::new(USER, "https://login.salesforce.com");
    credentials.set_totp(TotpSecret::from_base32(PLANTED).expect("a secret"), "Salesforce");
    credentials.set_password(SecretString::from("attacker-known-password-1A!"));
    credentials.store(path).expect("planted");
}

/// The user's TwoFactorInfo registrations, by id, read over plain REST (the secret itself reads back as null,
/// as in Salesforce; a sign-in proves which one is registered).
async fn registrations(org: &TestOrg) -> Vec<String> {
    org.query(&format!("SELECT Id FROM TwoFactorInfo WHERE User.Username = '{USER}'"))
        .await
        .iter()
        .map(|r| r["Id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A refused file stops setup in planning: no user, no TOTP, nothing journaled.
async fn assert_nothing_written(org: &TestOrg) {
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0, "no user created");
    assert!(org.writes().is_empty(), "nothing was sent: {:?}", org.writes());
}

/// The codes of the run's failure and of every step that failed: with both credentials steps refusing the
/// file, planning reports the two at once (`runner::plan::cannot_finish`), each step with its own code.
fn failure_codes(report: &OrgReport) -> Vec<String> {
    let steps = report.steps.iter().filter_map(|s| s.error.as_ref()).map(|e| e.code.clone());
    failure_code(report).map(str::to_string).into_iter().chain(steps).collect()
}

fn summary_of<'a>(report: &'a OrgReport, step: &str) -> &'a str {
    report.steps.iter().rev().find(|s| s.name == step).map(|s| s.summary.as_str()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_into_a_file_runner_did_not_write_is_refused_and_the_file_left_byte_identical() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    let first = setup(&org, &credentials).await;
    assert!(first.error.is_none(), "{:?}", first.error);
    let before = registrations(&org).await;
    let journal_before = org.writes().len();

    let ssh = dir.path().join(".ssh");
    std::fs::create_dir(&ssh).expect("a folder");
    let keys = ssh.join("authorized_keys");
    std::fs::write(&keys, AUTHORIZED_KEYS).expect("written");
    chmod(&keys, 0o600);
    let inode = std::fs::metadata(&keys).expect("meta").ino();
    let path = keys.to_string_lossy();
    for step in ["verify", "set_password"] {
        let text = format!(r#"{step}(#{{ user: "{USER}", credentials_file: "{path}", rotate: true }});"#);
        let report = org.play_text(&text, &[], false).await.expect("runs");
        assert_eq!(failure_code(&report), Some("runner::credentials::not_runner_file"), "{step}: {:?}", report.error);
        let message = &report.error.as_ref().expect("an error").message;
        assert!(message.contains(path.as_ref()), "{step} names the file: {message}");
        assert_eq!(std::fs::read(&keys).expect("still there"), AUTHORIZED_KEYS, "{step}: byte-identical");
        assert_eq!(std::fs::metadata(&keys).expect("meta").ino(), inode, "{step}: not replaced by a rename");
        let names: Vec<_> = std::fs::read_dir(&ssh).expect("ls").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, ["authorized_keys"], "{step}: no temporary file left");
    }
    assert_eq!(registrations(&org).await, before, "the authenticator was not rotated");
    assert_eq!(org.writes().len(), journal_before, "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_credentials_files_are_refused_and_their_seed_never_registered() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");

    let real = dir.path().join("real.creds");
    plant(&real);
    let link = dir.path().join("link.creds");
    std::os::unix::fs::symlink(&real, &link).expect("a symlink");
    let dangling = dir.path().join("dangling.creds");
    let dangling_target = dir.path().join("would-be-created.creds");
    std::os::unix::fs::symlink(&dangling_target, &dangling).expect("a dangling symlink");
    let loose = dir.path().join("loose.creds");
    plant(&loose);
    chmod(&loose, 0o644);
    let group = dir.path().join("group.creds");
    plant(&group);
    chmod(&group, 0o640);
    let foreign = dir.path().join("foreign.creds");
    plant(&foreign);
    // Only root can give a file away; the tests run as root in CI. Elsewhere that case is skipped.
    let euid = std::fs::metadata(dir.path()).expect("meta").uid();
    let can_chown = std::os::unix::fs::chown(&foreign, Some(euid + 4242), None).is_ok();

    let mut cases = vec![
        (link.clone(), "runner::credentials::symlink"),
        (dangling.clone(), "runner::credentials::symlink"),
        (loose.clone(), "runner::credentials::permissions"),
        (group.clone(), "runner::credentials::permissions"),
        (dir.path().to_path_buf(), "runner::credentials::is_folder"),
        (dir.path().join("no-such-folder/sync.creds"), "runner::credentials::folder_missing"),
    ];
    if can_chown {
        cases.push((foreign.clone(), "runner::credentials::other_owner"));
    }
    for (path, code) in cases {
        let before = std::fs::symlink_metadata(&path).ok().map(|m| (m.ino(), m.mode(), m.len()));
        let report = setup(&org, &path).await;
        let codes = failure_codes(&report);
        assert!(codes.iter().any(|c| c == code), "{}: {codes:?} {:#?}", path.display(), report.error);
        assert!(codes.iter().all(|c| c == code || c == "runner::plan::cannot_finish"), "{codes:?}");
        let error = report.error.as_ref().expect("an error");
        assert!(error.message.contains(&path.display().to_string()), "names {}: {}", path.display(), error.message);
        assert!(!format!("{report:?}").contains(PLANTED), "the planted seed is not shown");
        assert_nothing_written(&org).await;
        let after = std::fs::symlink_metadata(&path).ok().map(|m| (m.ino(), m.mode(), m.len()));
        assert_eq!(before, after, "{}: left as it was", path.display());
    }
    assert!(!dangling_target.exists(), "a dangling link's target is not created");
    assert!(registrations(&org).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_as_the_credentials_file_is_refused_without_hanging() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("sync.creds");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let vars = setup_vars(&org, &fifo).await;
    let playbook = scripts_dir().join("setup.rhai");
    // The run is watched from another thread: a hang fails the test instead of stalling the suite.
    let (tx, rx) = mpsc::channel();
    let runtime = tokio::runtime::Handle::current();
    let org = std::sync::Arc::new(org);
    let watched = org.clone();
    std::thread::spawn(move || {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let report = runtime.block_on(watched.play(&playbook, &vars, false));
        let _ = tx.send(report);
    });
    let report = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)))
        .await
        .expect("joined")
        .expect("setup ended instead of hanging on the FIFO");
    assert!(failure_codes(&report).iter().any(|c| c == "runner::credentials::not_regular"), "{:#?}", report.error);
    assert!(report.error.as_ref().expect("an error").message.contains("FIFO"));
    assert_nothing_written(&org).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_an_interrupted_run_kept_is_reused_and_the_step_says_so() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("sync.creds");
    // What an interrupted run leaves: the secret kept, never confirmed registered.
    let mut kept = Credentials::new(USER, "https://login.salesforce.com");
    kept.set_totp(TotpSecret::generate().expect("a secret"), "Salesforce");
    kept.store(&credentials).expect("kept");

    let report = setup(&org, &credentials).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let verify = summary_of(&report, "verify");
    assert!(verify.contains("reused"), "{verify}");
    assert!(!verify.contains("written"), "{verify}");
    let password = summary_of(&report, "set_password");
    assert!(password.contains("written to"), "a new password is written: {password}");
    assert_eq!(registrations(&org).await.len(), 1);
    let after = Credentials::load(&credentials).expect("loads").expect("kept");
    assert_eq!(after.totp_code_at(59), kept.totp_code_at(59), "the same secret");
    let details = sign_in_details(&credentials);
    let (status, body) = org.sign_in(&details.username, &details.password, &details.code).await;
    assert_eq!(status, 200, "StoreConnect signs in with the kept secret's code: {body}");
    assert_eq!(std::fs::metadata(&credentials).expect("meta").mode() & 0o7777, 0o600);

    // A fresh secret says it was written, not reused.
    let fresh = dir.path().join("fresh.creds");
    let text = format!(r#"verify(#{{ user: "{USER}", credentials_file: "{}", rotate: true }});"#, fresh.display());
    let report = org.play_text(&text, &[], false).await.expect("runs");
    assert!(report.error.is_none(), "{:?}", report.error);
    let verify = summary_of(&report, "verify");
    assert!(verify.contains("written to") && !verify.contains("reused"), "{verify}");
}
