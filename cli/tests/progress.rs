//! A fleet's progress bar and closing table (issue 11, part 4): the bar on stderr only when stderr is a
//! terminal and `--json` is off, the table once per fleet run on stdout. The terminal is a real pty, made by
//! util-linux's `script` (Debian's bsdutils, an essential package).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn runner_path() -> String {
    assert_cmd::cargo::cargo_bin("runner").display().to_string()
}

const FLEET: [&str; 6] = ["--org", "sim", "--org", "sim", "--org", "sim:scratch"];

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn play(dir: &Path, extra: &[&str]) -> Output {
    Command::new(runner_path())
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["play", "audit.rhai", "--journal", "/dev/null"])
        .args(FLEET)
        .args(extra)
        .output()
        .expect("runner runs")
}

#[test]
fn on_a_terminal_the_fleet_s_progress_is_drawn_on_stderr_and_the_table_printed_once_on_stdout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stdout_file = dir.path().join("stdout.txt");
    // stderr is the pty `script` reads; stdout goes to a file, so what the pty shows came through stderr.
    let command = format!(
        "{} play audit.rhai --journal /dev/null {} > {}",
        runner_path(),
        FLEET.join(" "),
        stdout_file.display()
    );
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(dir.path())
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .output()
        .expect("script runs");
    // 5: one org drifted (sim:scratch has no sync user).
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let terminal = String::from_utf8_lossy(&out.stdout);
    assert!(terminal.contains("0/3 orgs"), "the bar starts at 0 of 3: {terminal}");
    assert!(terminal.contains("3/3 orgs · 0 failed · 0 running"), "and ends at 3 of 3: {terminal}");
    assert!(terminal.contains('\r'), "redrawn in place: {terminal}");

    let stdout = std::fs::read_to_string(&stdout_file).expect("stdout");
    assert!(!stdout.contains("orgs ·"), "no bar on stdout: {stdout}");
    assert_eq!(stdout.matches("| org ").count(), 1, "one table: {stdout}");
    for row in ["| sim#1 ", "| sim#2 ", "| sim:scratch "] {
        assert_eq!(stdout.matches(row).count(), 1, "a row for {row}: {stdout}");
    }
    assert!(stdout.contains("| 3 orgs "), "a totals row: {stdout}");
    let scratch = stdout.lines().find(|l| l.starts_with("| sim:scratch ")).expect("its row");
    let cells: Vec<&str> = scratch.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "drift", "{scratch}");
    assert_eq!(cells[6], "1", "one drift entry: {scratch}");
}

#[test]
fn without_a_terminal_or_under_json_nothing_is_drawn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let piped = play(dir.path(), &[]);
    assert_eq!(piped.status.code(), Some(5), "{}", text(&piped));
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains("orgs ·") && !stderr.contains('\r'), "no bar in a log: {stderr}");
    let stdout = String::from_utf8_lossy(&piped.stdout);
    assert_eq!(stdout.matches("| org ").count(), 1, "the table is printed all the same: {stdout}");

    let json = play(dir.path(), &["--json"]);
    assert_eq!(json.status.code(), Some(5));
    let document: Value = serde_json::from_slice(&json.stdout).expect("stdout is the JSON document alone");
    assert_eq!(document["result"]["orgs"].as_array().map(Vec::len), Some(3));
    assert!(!String::from_utf8_lossy(&json.stderr).contains("orgs ·"));

    // One org is no fleet: no table.
    let single = Command::new(runner_path())
        .current_dir(dir.path())
        .args(["play", "audit.rhai", "--journal", "/dev/null", "--org", "sim"])
        .output()
        .expect("runs");
    assert!(single.status.success(), "{}", text(&single));
    assert!(!String::from_utf8_lossy(&single.stdout).contains("| org "));
}
