//! Shared modules, with the binary: the module search path (`lib_path` in runner.toml,
//! `--lib`, `RUNNER_LIB`, the built-in `lib/`), the sandbox in every root, and what
//! `runner check` finds in calls to modules and in imports.

use std::path::Path;

use assert_cmd::Command;

/// `runner` in `cwd`, with a home of its own so that no user's runner.toml is read.
fn runner(cwd: &Path, home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
    cmd.env("NO_COLOR", "1")
        .env_remove("SF_ACCESS_TOKEN")
        .env_remove("RUNNER_LIB")
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".state"))
        .current_dir(cwd);
    cmd
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("its folder");
        std::fs::write(path, text).expect("the file");
    }
}

const ACME: &str = r#"// shared/acme.rhai
fn ensure_account(name) {
    step(`acme: account ${name}`, || {
        if sf::query(`SELECT Id FROM Account WHERE Name = '${name}'`).is_empty() {
            sf::create("Account", #{ Name: name });
            return `created ${name}`;
        }
        `${name} is there`
    })
}
"#;

#[test]
fn a_client_playbook_imports_a_module_from_the_lib_path_of_runner_toml_and_runs_against_sim() {
    let work = tempfile::tempdir().expect("a folder");
    write(
        work.path(),
        &[
            ("clients/runner.toml", "lib_path = [\"../shared\"]\n"),
            ("clients/a/p.rhai", "import \"acme\" as acme;\nacme::ensure_account(\"Acme Client A\");\n"),
            ("shared/acme.rhai", ACME),
        ],
    );
    let clients = work.path().join("clients");
    let play = || {
        runner(&clients, work.path())
            .args(["play", "a/p.rhai", "--org", "sim", "--journal"])
            .arg(work.path().join("j.jsonl"))
            .output()
            .expect("runs")
    };
    // Untrusted, its lib_path is not searched: the run against sim goes on, and says how to trust the file.
    let out = play();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("runner::playbook::module_not_found") && !stderr.contains("shared/acme.rhai"), "{stderr}");
    let toml = clients.canonicalize().expect("canonical").join("runner.toml");
    assert!(
        stderr.contains(&format!(
            "warning: ignoring lib_path of untrusted {} (run `runner trust {}`",
            toml.display(),
            toml.display()
        )),
        "{stderr}"
    );
    runner(&clients, work.path()).arg("trust").assert().success();
    let out = play();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("changed") && l.contains("acme: account Acme Client A")), "{stdout}");
    assert!(stdout.contains("Account Acme Client A: absent →"), "the module's write reached the org: {stdout}");

    // Without the runner.toml, the import is not found, and the message says where it looked.
    std::fs::remove_file(clients.join("runner.toml")).expect("removed");
    let out = runner(&clients, work.path()).args(["check", "a/p.rhai"]).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("runner::playbook::module_not_found"), "{stderr}");
    assert!(stderr.contains("looked for a/acme.rhai") && stderr.contains("acme.rhai (built"), "{stderr}");

    // --lib and RUNNER_LIB find it too.
    runner(&clients, work.path()).args(["check", "a/p.rhai", "--lib", "../shared"]).assert().success();
    let lib = format!("/nonexistent:{}", work.path().join("shared").display());
    runner(&clients, work.path()).env("RUNNER_LIB", lib).args(["check", "a/p.rhai"]).assert().success();
}

#[cfg(unix)]
#[test]
fn a_link_in_a_lib_root_that_points_outside_it_is_refused() {
    let work = tempfile::tempdir().expect("a folder");
    write(
        work.path(),
        &[("a/p.rhai", "import \"acme\" as acme;\nacme::ensure_account(\"x\");\n"), ("elsewhere/acme.rhai", ACME)],
    );
    std::fs::create_dir_all(work.path().join("shared")).expect("shared");
    std::os::unix::fs::symlink(work.path().join("elsewhere/acme.rhai"), work.path().join("shared/acme.rhai"))
        .expect("a link");
    for command in
        [&["check", "a/p.rhai", "--lib", "shared"][..], &["play", "a/p.rhai", "--org", "sim", "--lib", "shared"]]
    {
        let out = runner(work.path(), work.path()).args(command).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{command:?}: {stderr}");
        assert!(stderr.contains("leads outside its folder"), "{command:?}: {stderr}");
    }
}

#[test]
fn the_built_in_lib_storeconnect_is_imported_from_a_playbook_in_any_folder() {
    let work = tempfile::tempdir().expect("a folder");
    let playbook = "import \"lib/storeconnect\" as sc;\nlet d = sc::record_type_defaults(vars, \"default_\");\nprint(`defaults: ${d.keys().len()} ${d.Account}`);\n";
    write(work.path(), &[("p.rhai", playbook)]);
    assert!(!work.path().join("lib").exists());
    let out = runner(work.path(), work.path())
        .args(["play", "p.rhai", "--org", "sim", "--var", "default_Account=Business", "--journal"])
        .arg(work.path().join("j.jsonl"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("defaults: 1 Business"), "{stdout}");
}

#[test]
fn check_flags_a_misspelt_module_function_with_did_you_mean_at_its_line_and_exits_3() {
    let work = tempfile::tempdir().expect("a folder");
    write(
        work.path(),
        &[
            ("p.rhai", "import \"lib/acme\" as acme;\n\nacme::ensure_settings(#{ a: 1 });\n"),
            ("lib/acme.rhai", "fn ensure_setting(map) { map }\n"),
        ],
    );
    for command in [&["check", "p.rhai"][..], &["play", "p.rhai", "--org", "sim"]] {
        let out = runner(work.path(), work.path()).args(command).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{command:?}: {stderr}");
        assert!(stderr.contains("`acme::ensure_settings` is not a function of the module `lib/acme`"), "{stderr}");
        assert!(stderr.contains("did you mean `acme::ensure_setting`"), "{stderr}");
        assert!(stderr.contains("p.rhai:3:"), "{stderr}");
    }
}

#[test]
fn check_reports_an_import_cycle_with_its_chain_and_exits_3() {
    let work = tempfile::tempdir().expect("a folder");
    write(
        work.path(),
        &[
            ("p.rhai", "import \"lib/a\" as a;\n"),
            ("lib/a.rhai", "import \"lib/b\" as b;\nfn f() { 1 }\n"),
            ("lib/b.rhai", "import \"lib/a\" as a;\nfn g() { 2 }\n"),
        ],
    );
    let out = runner(work.path(), work.path()).args(["check", "p.rhai"]).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("runner::playbook::import_cycle"), "{stderr}");
    assert!(stderr.contains("lib/a.rhai → lib/b.rhai → lib/a.rhai"), "{stderr}");
    assert!(stderr.contains("b.rhai:1:"), "points at the import that closes it: {stderr}");
}
