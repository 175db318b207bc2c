//! `acme-runner`, the binary: runner's commands with Acme's step, under Acme's name.

use std::process::Output;

use assert_cmd::Command;

fn acme() -> Command {
    let mut command = Command::cargo_bin("acme-runner").unwrap_or_else(|e| panic!("acme-runner is built: {e}"));
    command.env_remove("RUNNER_CA_CERT").env("NO_COLOR", "1");
    command
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn steps_lists_runners_seven_and_acmes_under_acmes_name() {
    let out = acme().arg("steps").output().expect("acme-runner runs");
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    let steps = [
        "create_user",
        "assign_psl",
        "assign_permission_sets",
        "set_password",
        "verify",
        "set_defaults",
        "swap_user",
        "assign_permission_set_group",
    ];
    for step in steps {
        assert!(shown.lines().any(|l| l.starts_with(step)), "{step}: {shown}");
    }
    assert!(shown.contains("`acme-runner steps NAME`"), "{shown}");
    assert!(!shown.contains("`runner "), "{shown}");
}

#[test]
fn a_playbook_error_names_acme_runner() {
    let dir = tempfile::tempdir().expect("a folder");
    let playbook = dir.path().join("p.rhai");
    std::fs::write(&playbook, "assign_permission_set_group(#{ user: \"u@x.example\", grup: \"G\" });\n")
        .expect("write");
    let out = acme().current_dir(dir.path()).args(["play", "p.rhai", "--journal", "/dev/null"]).output().expect("runs");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(3), "the playbook is invalid, no org touched: {shown}");
    assert!(shown.contains("did you mean `group`?"), "{shown}");
    assert!(shown.contains("`acme-runner steps assign_permission_set_group`"), "{shown}");
    assert!(shown.contains("`acme-runner check p.rhai`"), "{shown}");
    assert!(!shown.contains("`runner "), "{shown}");
}

#[test]
fn the_sim_of_play_has_acmes_objects_and_help_names_the_binary() {
    // setup's first step, then Acme's playbook, on the in-process sim: its group comes from the binary's seed.
    let dir = tempfile::tempdir().expect("a folder");
    let playbook = dir.path().join("p.rhai");
    std::fs::write(
        &playbook,
        "create_user(#{ username: \"s@x.example\", email: \"s@x.example\" });\n\
         assign_permission_set_group(#{ user: \"s@x.example\", group: \"StoreConnect Sync Group\" });\n",
    )
    .expect("write");
    let out = acme().current_dir(dir.path()).args(["play", "p.rhai", "--journal", "j.jsonl"]).output().expect("runs");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("assigned StoreConnect Sync Group to s@x.example"), "{}", text(&out));

    let help = acme().arg("--help").output().expect("runs");
    assert!(help.status.success());
    assert!(text(&help).contains("Usage: acme-runner <COMMAND>"), "{}", text(&help));
    assert!(text(&help).contains("Acme's permission set groups"), "{}", text(&help));
}

#[test]
fn commands_that_are_not_play_do_not_exit_1() {
    let dir = tempfile::tempdir().expect("a folder");
    let missing = dir.path().join("missing.creds");
    for args in [vec!["credentials", "show", "--file"], vec!["totp", "code", "--secret-file"]] {
        let out = acme().args(&args).arg(&missing).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    let scripts = dir.path().join("scripts");
    assert!(acme().arg("init").arg(&scripts).output().expect("runs").status.success());
    assert!(scripts.join("acme/sync_group.rhai").is_file(), "init copies Acme's playbooks too");
    let again = acme().arg("init").arg(&scripts).output().expect("runs");
    assert_eq!(again.status.code(), Some(2), "files in the way: {}", text(&again));
    assert!(text(&again).contains("acme-runner init DIR"), "{}", text(&again));
}
