//! Files the binary writes (issue 9, findings 8, 10, 11 and 20): `runner init` never through a link, the sim's
//! certificate in a private folder, no credentials file shared by two orgs, and a closed stdout ends runner
//! quietly.

mod common;

use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::fs::{MetadataExt as _, symlink};
use std::path::Path;
use std::process::{Command, Stdio};

fn runner() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("runner"));
    cmd.env("NO_COLOR", "1").env_remove("SF_ACCESS_TOKEN");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every entry under `dir`, with what it is, so a test can see that nothing was written.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("ls") {
            let entry = entry.expect("an entry");
            let kind = entry.file_type().expect("a type");
            out.push(format!("{} {}", entry.path().display(), if kind.is_symlink() { "link" } else { "" }));
            if kind.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn init_never_writes_through_a_symlink_with_or_without_force() {
    let dir = tempfile::tempdir().expect("temp dir");
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious\n").expect("written");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("a folder");

    type Plant = fn(&Path, &Path, &Path);
    let cases: [(&str, Plant); 5] = [
        ("a link to a file at setup.rhai", |target, victim, _| {
            std::fs::create_dir(target).expect("mkdir");
            symlink(victim, target.join("setup.rhai")).expect("link");
        }),
        ("a dangling link at setup.rhai", |target, victim, _| {
            std::fs::create_dir(target).expect("mkdir");
            symlink(victim.with_file_name("created-through-link"), target.join("setup.rhai")).expect("link");
        }),
        ("a dangling link at lib/storeconnect.rhai", |target, victim, _| {
            std::fs::create_dir_all(target.join("lib")).expect("mkdir");
            symlink(victim.with_file_name("created-through-link"), target.join("lib/storeconnect.rhai")).expect("link");
        }),
        ("lib is a link to another folder", |target, _, elsewhere| {
            std::fs::create_dir(target).expect("mkdir");
            symlink(elsewhere, target.join("lib")).expect("link");
        }),
        ("DIR itself is a link", |target, _, elsewhere| {
            symlink(elsewhere, target).expect("link");
        }),
    ];
    for (index, (name, plant)) in cases.iter().enumerate() {
        let target = dir.path().join(format!("case{index}"));
        plant(&target, &victim, &elsewhere);
        let before = tree(dir.path());
        // With a trailing slash too: `DIR/` must not resolve a link at DIR.
        for (force, spelling) in [(false, target.display().to_string()), (true, format!("{}/", target.display()))] {
            let out = runner().arg("init").arg(&spelling).args(force.then_some("--force")).output().expect("runs");
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} (force {force}): {stderr}");
            assert!(stderr.contains("runner::init::symlink") && stderr.contains("symbolic link"), "{name}: {stderr}");
            assert_eq!(tree(dir.path()), before, "{name} (force {force}): nothing written");
            assert_eq!(std::fs::read_to_string(&victim).expect("read"), "precious\n", "{name}");
            assert!(!dir.path().join("created-through-link").exists(), "{name}");
        }
        assert!(std::fs::read_dir(&elsewhere).expect("ls").next().is_none(), "{name}: nothing written elsewhere");
    }

    // A real folder still works, and --force replaces a file runner init wrote, in place of a rename target.
    let fine = dir.path().join("fine");
    assert!(runner().arg("init").arg(&fine).output().expect("runs").status.success());
    std::fs::write(fine.join("setup.rhai"), "// edited\n").expect("edit");
    assert_eq!(
        runner().arg("init").arg(&fine).output().expect("runs").status.code(),
        Some(2),
        "no overwrite: the folder named is in the way, no playbook stopped"
    );
    assert!(runner().arg("init").arg(&fine).arg("--force").output().expect("runs").status.success());
    assert!(std::fs::read_to_string(fine.join("setup.rhai")).expect("read").contains("setup.rhai"));
}

#[test]
fn sim_serve_tls_writes_its_certificate_into_a_fresh_private_folder() {
    let mut paths = Vec::new();
    let mut children = Vec::new();
    for _ in 0..2 {
        let mut child = runner()
            .args(["sim", "serve", "--port", "0", "--tls"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut cert = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            if let Some(path) = line.strip_prefix("certificate: ") {
                cert = Some(std::path::PathBuf::from(path));
            }
            if line.starts_with("try: ") {
                break;
            }
        }
        let cert = cert.expect("the certificate's path is printed");
        let folder = cert.parent().expect("a folder").to_path_buf();
        let meta = std::fs::symlink_metadata(&folder).expect("the folder");
        assert!(meta.is_dir() && !meta.file_type().is_symlink());
        assert_eq!(meta.mode() & 0o777, 0o700, "{}", folder.display());
        let file = std::fs::symlink_metadata(&cert).expect("the file");
        assert!(file.is_file() && !file.file_type().is_symlink());
        assert!(std::fs::read_to_string(&cert).expect("read").starts_with("-----BEGIN CERTIFICATE-----"));
        paths.push((cert, folder));
        children.push(child);
    }
    assert_ne!(paths[0].1, paths[1].1, "a fresh folder per sim, not a predictable name");
    for (mut child, (_, folder)) in children.into_iter().zip(&paths) {
        // SIGTERM stops it as Ctrl-C does, and the private folder goes with it.
        assert!(Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill").success());
        assert!(child.wait().expect("ends").success());
        assert!(!folder.exists(), "{} is removed when the sim stops", folder.display());
    }
}

#[test]
fn several_orgs_sharing_a_credentials_file_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = dir.path().join("j.jsonl");
    for var in ["credentials_file", "totp_file"] {
        let out = runner()
            .current_dir(dir.path())
            .args(["play", "setup.rhai", "--org", "sim", "--org", "sim:scratch", "--journal"])
            .arg(&journal)
            .args(["--var", "username=sc.sync@client.example", "--var", "email=ops@client.example"])
            .args(["--var", &format!("{var}=shared.creds")])
            .output()
            .expect("runs");
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        for named in [var, "shared.creds", "sim, sim:scratch", "runner::play::shared_credentials_file", "{org}"] {
            assert!(stderr.contains(named), "names {named}: {stderr}");
        }
        assert!(!journal.exists(), "nothing ran: no journal was even opened");
        assert!(!dir.path().join("shared.creds").exists());
    }

    // {org} gives each org its own file, and then the run goes ahead.
    let out = runner()
        .current_dir(dir.path())
        .args(["play", "setup.rhai", "--org", "sim", "--org", "sim:scratch", "--journal"])
        .arg(&journal)
        .args(["--var", "username=sc.sync@client.example", "--var", "email=ops@client.example"])
        .args(["--var", "credentials_file={org}.creds"])
        .args(common::record_type_vars("sim", &[], dir.path()))
        .output()
        .expect("runs");
    assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(dir.path().join("sim.creds").is_file(), "{}", text(&out.stderr));
}

/// Runs `args` with stdout a pipe whose reader is already gone, as after `| head -1` has read its line.
fn with_closed_stdout(args: &[&str], dir: &Path) -> std::process::Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    runner().current_dir(dir).args(args).stdout(writer).stderr(Stdio::piped()).output().expect("runs")
}

#[test]
fn a_closed_stdout_ends_output_commands_quietly_with_141() {
    let dir = tempfile::tempdir().expect("temp dir");
    let init = dir.path().join("scripts").to_string_lossy().into_owned();
    for args in [
        vec!["steps"],
        vec!["steps", "verify"],
        vec!["playbooks"],
        vec!["completions", "bash"],
        vec!["init", init.as_str()],
        vec!["check", "setup.rhai"],
    ] {
        let out = with_closed_stdout(&args, dir.path());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

#[test]
fn runner_play_read_only_to_its_first_line_stops_quietly_with_141() {
    let served = common::Served::start("pipe-token", &["--latency-ms", "100"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let journal = dir.path().join("j.jsonl");
    let envs = [("SF_ACCESS_TOKEN", "pipe-token")];
    let defaults = common::record_type_vars(&served.url, &envs, dir.path());
    let mut child = runner()
        .current_dir(dir.path())
        .env("SF_ACCESS_TOKEN", "pipe-token")
        .args(["play", "setup.rhai", "--org", &served.url, "--journal"])
        .arg(&journal)
        .args(["--var", "username=pipe.sync@client.example", "--var", "email=ops@client.example"])
        .args(["--var", "credentials_file=sync.creds"])
        .args(defaults)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("a first line");
    // `head -1` has its line and goes: every later write of runner's meets a closed pipe.
    drop(stdout);
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    let status = child.wait().expect("ends");
    assert!(first.contains("create_user"), "{first}");
    assert_eq!(status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Stopped as on SIGINT: the journal's lines are complete, and no write started after the
    // request that was in flight. That request carried create_user's write and, sent ahead
    // with it, those of the steps the plan had after it (the licence, the sets, the
    // profile's defaults); the password and the authenticator were never sent.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&journal)
        .expect("a journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a complete JSON line"))
        .collect();
    assert!(!lines.is_empty(), "create_user's write is journaled");
    let steps: std::collections::BTreeSet<&str> = lines.iter().filter_map(|l| l["step"].as_str()).collect();
    assert!(steps.contains("create_user"), "{steps:?}");
    for later in ["set_password", "verify"] {
        assert!(!steps.contains(later), "{later} wrote after the pipe closed: {steps:?}");
    }
}
