//! Files: credentials paths that are folders, links, FIFOs, loose, foreign or not runner's; a credentials file
//! shared by two orgs; `init` and `sim serve --tls` pointed at links.

use std::os::unix::fs::symlink;
use std::path::Path;

use super::{Case, SEEDED_SECRETS, run_all};

/// setup.rhai on a simulated org with one record type per object (no `--var default_…` needed), its
/// credentials file at `file` (relative to the case's folder).
fn setup_with(file: &str) -> Vec<String> {
    [
        "play",
        "setup.rhai",
        "--org",
        "sim:single-record-types",
        "--journal",
        "j.jsonl",
        "--var",
        "username=bad.sync@client.example",
        "--var",
        "email=ops@client.example",
        "--var",
    ]
    .iter()
    .map(|a| a.to_string())
    .chain([format!("credentials_file={file}")])
    .collect()
}

fn setup_case(name: &'static str, file: &str, names: &[&str]) -> Case {
    let mut case = Case::new(name, &[], &[1], names);
    case.args = setup_with(file);
    case
}

/// A credentials file in runner's format carrying a seeded password, as someone might plant it.
fn planted() -> String {
    format!(
        "{}\nusername=bad.sync@client.example\nlogin_url=https://login.salesforce.com\npassword={}\n",
        runner_core::credentials::HEADER,
        SEEDED_SECRETS[2]
    )
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

#[test]
fn bad_credentials_files_are_refused_naming_the_file_and_the_cause() {
    let keys = format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI {}\n", SEEDED_SECRETS[2]);
    let cases = vec![
        setup_case("credentials path is a folder", "sub", &["sub is a folder, not a file"]).prepare(|dir| {
            std::fs::create_dir(dir.join("sub")).expect("a folder");
        }),
        setup_case("credentials path in a missing folder", "nowhere/sync.creds", &["nowhere", "does not exist"]),
        setup_case("credentials path is a symlink", "link.creds", &["link.creds", "symbolic link"])
            .file("real.creds", planted(), 0o600)
            .prepare(|dir| symlink(dir.join("real.creds"), dir.join("link.creds")).expect("a link")),
        setup_case("credentials path is a dangling symlink", "dangling.creds", &["dangling.creds", "symbolic link"])
            .prepare(|dir| symlink(dir.join("made-through-link"), dir.join("dangling.creds")).expect("a link")),
        setup_case("credentials path is a FIFO", "fifo.creds", &["fifo.creds", "FIFO"])
            .prepare(|dir| mkfifo(&dir.join("fifo.creds"))),
        setup_case("credentials file is mode 0644", "loose.creds", &["loose.creds", "0644", "chmod 600"]).file(
            "loose.creds",
            planted(),
            0o644,
        ),
        setup_case("credentials file is not runner's format", "authorized_keys", &[
            "authorized_keys",
            "not a runner credentials file",
        ])
        .file("authorized_keys", keys.clone(), 0o600),
        setup_case("credentials file is an old TOTP secret file", "old.totp", &["old.totp", "older runner TOTP"])
            .file("old.totp", "# runner: TOTP secret\nsecret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n", 0o600),
        setup_case("credentials file is not text", "binary.creds", &["binary.creds", "not a text file"]).file(
            "binary.creds",
            b"# runner credentials v1\nusername=\xff\xfe\n".to_vec(),
            0o600,
        ),
        setup_case("credentials file is huge", "huge.creds", &["huge.creds", "larger than"]).file(
            "huge.creds",
            format!("{}\nusername=u\nlogin_url=https://x\npad={}\n", runner_core::credentials::HEADER, "x".repeat(70_000)),
            0o600,
        ),
        Case::new(
            "rotate: true into a file runner did not write",
            &["play", "p.rhai", "--org", "sim:single-record-types", "--journal", "j.jsonl"],
            &[1],
            &["authorized_keys", "not a runner credentials file"],
        )
        .file("authorized_keys", keys, 0o600)
        .file(
            "p.rhai",
            "create_user(#{ username: \"bad.sync@client.example\", email: \"ops@client.example\", last_name: \"S\" });\n\
             verify(#{ user: \"bad.sync@client.example\", credentials_file: \"authorized_keys\", rotate: true });\n",
            0o644,
        ),
        Case::new("credentials show on a FIFO", &["credentials", "show", "--file", "fifo"], &[2], &["fifo", "FIFO"])
            .prepare(|dir| mkfifo(&dir.join("fifo"))),
        Case::new("totp code from a dangling symlink", &["totp", "code", "--secret-file", "gone"], &[2], &[
            "gone",
            "symbolic link",
        ])
        .prepare(|dir| symlink(dir.join("nothing-here"), dir.join("gone")).expect("a link")),
    ];
    let mut cases = cases;
    if can_give_files_away() {
        cases.push(
            setup_case("credentials file of another user", "foreign.creds", &["foreign.creds", "belongs to uid 4242"])
                .file("foreign.creds", planted(), 0o600)
                .prepare(|dir| {
                    std::os::unix::fs::chown(dir.join("foreign.creds"), Some(4242), None).expect("chown");
                }),
        );
    }
    run_all(&cases);
}

/// Only root can give a file to another user; elsewhere that case is left out.
fn can_give_files_away() -> bool {
    let Ok(file) = tempfile::NamedTempFile::new() else { return false };
    std::os::unix::fs::chown(file.path(), Some(4242), None).is_ok()
}

#[test]
fn the_foreign_and_planted_files_are_left_as_they_were() {
    // The cases above only look at the output; this one also looks at the files afterwards.
    let case = setup_case("authorized_keys left byte-identical", "authorized_keys", &["not a runner credentials file"])
        .file("authorized_keys", "ssh-ed25519 AAAA admin@host\n", 0o600);
    let ran = super::run(&case);
    super::check(&case, &ran).unwrap_or_else(|why| panic!("{why}"));
    assert_eq!(std::fs::read(ran.dir.path().join("authorized_keys")).expect("kept"), b"ssh-ed25519 AAAA admin@host\n");
    assert!(!ran.dir.path().join("made-through-link").exists());
}

#[test]
fn shared_files_and_links_in_init_and_sim_serve_are_refused() {
    let two_orgs = |var: &str| -> Vec<String> {
        [
            "play",
            "setup.rhai",
            "--org",
            "sim",
            "--org",
            "sim:scratch",
            "--journal",
            "j.jsonl",
            "--var",
            "username=bad.sync@client.example",
            "--var",
            "email=ops@client.example",
            "--var",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([var.to_string()])
        .collect()
    };
    let mut shared = Case::new(
        "a credentials file shared by two orgs",
        &[],
        &[2],
        &["credentials_file", "sim, sim:scratch", "shared.creds"],
    );
    shared.args = two_orgs("credentials_file=shared.creds");
    let mut shared_alias = Case::new("a totp_file shared by two orgs", &[], &[2], &["totp_file", "sim, sim:scratch"]);
    shared_alias.args = two_orgs("totp_file=./shared.totp");
    let mut shared_existing =
        Case::new("an existing credentials file under another *_file name", &[], &[2], &["sync_file", "sim:scratch"])
            .file("c.creds", planted(), 0o600);
    shared_existing.args = two_orgs("sync_file=c.creds");

    let cases =
        vec![
            shared,
            shared_alias,
            shared_existing,
            Case::new("init into a symlinked folder", &["init", "scripts"], &[2], &["scripts", "symbolic link"])
                .prepare(|dir| {
                    std::fs::create_dir(dir.join("elsewhere")).expect("a folder");
                    symlink(dir.join("elsewhere"), dir.join("scripts")).expect("a link");
                }),
            Case::new(
                "init --force over a dangling link",
                &["init", "scripts", "--force"],
                &[2],
                &["setup.rhai", "symbolic link"],
            )
            .prepare(|dir| {
                std::fs::create_dir(dir.join("scripts")).expect("a folder");
                symlink(dir.join("made-through-link"), dir.join("scripts/setup.rhai")).expect("a link");
            }),
            Case::new("init where a folder is a file", &["init", "scripts"], &[2], &["scripts/lib", "not a folder"])
                .file("scripts/lib", "a file\n", 0o644),
            Case::new(
                "sim serve --tls --cert-file at a symlink",
                &["sim", "serve", "--tls", "--cert-file", "ca.pem"],
                &[4],
                &["ca.pem", "symbolic link"],
            )
            .file("victim", "precious\n", 0o644)
            .prepare(|dir| symlink(dir.join("victim"), dir.join("ca.pem")).expect("a link")),
        ];
    run_all(&cases);
}
