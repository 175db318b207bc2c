//! Trust (issue 11): a runner.toml outside the user config directory is used only once `runner trust` trusted it as
//! it is now, or when `--config` names it; a config file others could write is refused. With the binary, a temp
//! HOME (config and state folders of its own) and a temp working directory.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A group whose one org is the in-process sim, and a var for it: whether the inventory was read shows in `who=`.
const TOML: &str = "[groups]\nfleet = [\"sim\"]\n[group_vars.fleet]\nwho = \"from-toml\"\n";
const PLAYBOOK: &str = "print(`who=${vars.who ?? \"none\"}`);\n";

struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        let dir = tempfile::tempdir().expect("temp dir");
        let work = Work { dir };
        for sub in ["home", "config", "state", "cwd"] {
            std::fs::create_dir(work.path().join(sub)).expect("mkdir");
        }
        work.write("cwd/p.rhai", PLAYBOOK, 0o644);
        work.write("cwd/runner.toml", TOML, 0o644);
        work
    }

    fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical")
    }

    fn cwd(&self) -> PathBuf {
        self.path().join("cwd")
    }

    fn toml(&self) -> PathBuf {
        self.cwd().join("runner.toml")
    }

    fn write(&self, relative: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    fn runner(&self) -> Command {
        let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
        cmd.current_dir(self.cwd())
            .env_remove("SF_ACCESS_TOKEN")
            .env_remove("RUNNER_LIB")
            .env("NO_COLOR", "1")
            .env("HOME", self.path().join("home"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_STATE_HOME", self.path().join("state"));
        cmd
    }

    /// `runner play p.rhai --org ORG ARGS…`.
    fn play(&self, org: &str, args: &[&str]) -> Output {
        self.runner()
            .args(["play", "p.rhai", "--org", org, "--journal"])
            .arg(self.path().join("j.jsonl"))
            .args(args)
            .output()
            .expect("runner runs")
    }

    fn trust(&self, args: &[&str]) -> Output {
        self.runner().arg("trust").args(args).output().expect("runner runs")
    }
}

/// Standard output then standard error (what the playbook prints is on standard output), with the lines miette
/// wraps joined again.
fn stderr(out: &Output) -> String {
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    text.split_whitespace().filter(|w| *w != "│").collect::<Vec<_>>().join(" ")
}

fn assert_untrusted(out: &Output, file: &Path) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("runner::config::untrusted"), "{err}");
    assert!(err.contains(&format!("{} is not trusted", file.display())), "{err}");
    assert!(err.contains(&format!("run `runner trust {}`", file.display())), "the exact command: {err}");
    assert!(!err.contains("who="), "the playbook did not run: {err}");
}

#[test]
fn an_untrusted_runner_toml_in_the_working_directory_is_used_only_once_trusted_and_until_edited() {
    let work = Work::new();
    assert_untrusted(&work.play("@fleet", &[]), &work.toml());

    let out = work.trust(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("trusted {}", work.toml().display())));
    let trusted = work.path().join("state/runner/trusted");
    let mode = std::fs::metadata(&trusted).expect("the trust list").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the trust list is private");
    let out = work.play("@fleet", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("who=from-toml"), "{}", stderr(&out));
    let list = work.trust(&["--list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(&format!("{}  (trusted)", work.toml().display())));

    // An edit, even one that keeps the file's size, must be trusted again.
    work.write("cwd/runner.toml", &TOML.replace("from-toml", "from-tomx"), 0o644);
    assert_untrusted(&work.play("@fleet", &[]), &work.toml());
    let list = work.trust(&["--list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("(edited since, not trusted)"));
    assert!(work.trust(&["runner.toml"]).status.success());
    assert!(stderr(&work.play("@fleet", &[])).contains("who=from-tomx"));

    // --remove takes the trust back.
    assert!(work.trust(&["--remove", "runner.toml"]).status.success());
    assert_untrusted(&work.play("@fleet", &[]), &work.toml());
}

#[test]
fn config_names_a_file_that_is_used_without_runner_trust_and_not_trusted_afterwards() {
    let work = Work::new();
    let out = work.play("@fleet", &["--config", "runner.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("who=from-toml"), "{}", stderr(&out));
    // For that run only: nothing was stored.
    assert!(!work.path().join("state/runner/trusted").exists());
    assert_untrusted(&work.play("@fleet", &[]), &work.toml());
}

#[test]
fn sim_runs_whatever_untrusted_runner_toml_lies_around() {
    let work = Work::new();
    for org in ["sim", "sim:single-record-types"] {
        let out = work.play(org, &[]);
        assert!(out.status.success(), "{org}: {}", stderr(&out));
        assert!(stderr(&out).contains("who=none"), "its vars are not read: {}", stderr(&out));
    }
    // Nor does one others could write, which is not used either.
    std::fs::set_permissions(work.toml(), std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = work.play("sim", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_untrusted(&work.play("@fleet", &[]), &work.toml());
}

#[test]
fn the_users_own_runner_toml_needs_no_trust() {
    let work = Work::new();
    std::fs::remove_file(work.toml()).expect("rm");
    work.write("config/runner/runner.toml", TOML, 0o600);
    let out = work.play("@fleet", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("who=from-toml"), "{}", stderr(&out));
}

#[test]
fn a_config_file_others_can_write_is_refused_trusted_or_not() {
    let work = Work::new();
    let toml = work.toml();
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o664)).expect("chmod");
    let refused = |out: &Output| {
        let err = stderr(out);
        assert!(err.contains("runner::config::unsafe_permissions"), "{err}");
        assert!(err.contains("its mode is 0664"), "{err}");
        assert!(err.contains(&format!("run `chmod go-w {}`", toml.display())), "{err}");
        assert!(!err.contains("who="), "{err}");
    };
    let out = work.trust(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    refused(&out);
    let out = work.play("@fleet", &["--config", toml.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    refused(&out);

    // Trusted, then made world-writable: refused too.
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(work.trust(&[]).status.success());
    std::fs::set_permissions(&toml, std::fs::Permissions::from_mode(0o646)).expect("chmod");
    let err = stderr(&work.play("@fleet", &[]));
    assert!(err.contains("runner::config::unsafe_permissions") && err.contains("0646"), "{err}");

    // The user's own file as well.
    std::fs::remove_file(&toml).expect("rm");
    let own = work.write("config/runner/runner.toml", TOML, 0o620);
    let err = stderr(&work.play("@fleet", &[]));
    assert!(err.contains("runner::config::unsafe_permissions"), "{err}");
    assert!(err.contains(&format!("chmod go-w {}", own.display())), "{err}");
}
