//! Bad inputs, table-driven: hostile or careless playbooks, command lines, config
//! files, secret files and servers. Every case asserts the exit code, a message that
//! names the cause, no panic (exit 101 or 134), no hang (a deadline per case), and no
//! seeded secret in any output.
//!
//! Each area's cases live in a module of their own; `run_all` runs a table.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod files;
mod hostile;
mod playbooks;
mod sandbox;
mod secrets;
mod servers;

/// Secrets every case seeds where it can, and none may print.
pub const SEEDED_SECRETS: &[&str] =
    &["00Dseeded!AQtokenvalueNEVERPRINTED42", "seeded-client-secret-NEVERPRINTED", "SEEDEDPASSWORDneverprinted9!"];

/// How long any case may take before it counts as a hang.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// One bad input.
pub struct Case {
    pub name: &'static str,
    /// Arguments after `runner`; `{dir}` is replaced by the case's folder.
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Files written into the case's folder before the run: (relative path, bytes, mode).
    pub files: Vec<(String, Vec<u8>, u32)>,
    /// Symbolic links made in the case's folder: (relative path, what it points to;
    /// `{dir}` is replaced).
    pub links: Vec<(String, String)>,
    /// The exit codes that are right for it.
    pub exit: &'static [i32],
    /// Every one of these must appear in stdout or stderr (case-insensitive).
    pub names: Vec<String>,
    /// Run on the case's folder after its files are written: for what `files` cannot make (links, FIFOs,
    /// owners).
    pub prepare: Option<fn(&Path)>,
}

impl Case {
    pub fn new(name: &'static str, args: &[&str], exit: &'static [i32], names: &[&str]) -> Case {
        Case {
            name,
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            files: Vec::new(),
            links: Vec::new(),
            exit,
            names: names.iter().map(|n| n.to_string()).collect(),
            prepare: None,
        }
    }

    pub fn prepare(mut self, prepare: fn(&Path)) -> Case {
        self.prepare = Some(prepare);
        self
    }

    pub fn file(mut self, path: &str, contents: impl Into<Vec<u8>>, mode: u32) -> Case {
        self.files.push((path.to_string(), contents.into(), mode));
        self
    }

    pub fn link(mut self, path: &str, target: &str) -> Case {
        self.links.push((path.to_string(), target.to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Case {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

/// What a case produced.
pub struct Ran {
    pub output: Output,
    pub elapsed: Duration,
    pub dir: tempfile::TempDir,
}

fn write_files(dir: &Path, files: &[(String, Vec<u8>, u32)]) {
    use std::os::unix::fs::PermissionsExt;
    for (rel, contents, mode) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("a folder for the case's file");
        }
        std::fs::write(&path, contents).expect("the case's file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).expect("its mode");
    }
}

/// Runs one case in a fresh folder, with a clean environment and a deadline.
pub fn run(case: &Case) -> Ran {
    let dir = tempfile::tempdir().expect("a folder for the case");
    write_files(dir.path(), &case.files);
    for (link, target) in &case.links {
        let target = target.replace("{dir}", &dir.path().to_string_lossy());
        std::os::unix::fs::symlink(target, dir.path().join(link)).expect("the case's link");
    }
    if let Some(prepare) = case.prepare {
        prepare(dir.path());
    }
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("a HOME");
    let args: Vec<String> = case.args.iter().map(|a| a.replace("{dir}", &dir.path().to_string_lossy())).collect();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("runner"));
    cmd.args(&args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join(".state"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &case.env {
        cmd.env(k, v.replace("{dir}", &dir.path().to_string_lossy()));
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("runner starts");
    let output = loop {
        if child.try_wait().expect("waits").is_some() {
            break child.wait_with_output().expect("its output");
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let out = child.wait_with_output().expect("its output");
            panic!(
                "{}: still running after {DEADLINE:?} (a hang)\nstdout: {}\nstderr: {}",
                case.name,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran { output, elapsed: started.elapsed(), dir }
}

/// Runs every case and reports all failures at once.
pub fn run_all(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let ran = run(case);
        if let Err(why) = check(case, &ran) {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

/// The assertions every case shares.
pub fn check(case: &Case, ran: &Ran) -> Result<(), String> {
    let stdout = String::from_utf8_lossy(&ran.output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&ran.output.stderr).to_string();
    let both = format!("{stdout}\n{stderr}");
    let shown = || format!("\n--- stdout:\n{}\n--- stderr:\n{}", cut(&stdout), cut(&stderr));
    let code = ran.output.status.code();
    if matches!(code, Some(101) | Some(134)) || code.is_none() {
        return Err(format!("crashed or was killed: {:?}{}", ran.output.status, shown()));
    }
    if both.contains("panicked at") || both.contains("RUST_BACKTRACE") {
        return Err(format!("panicked{}", shown()));
    }
    let code = code.unwrap_or(-1);
    if !case.exit.contains(&code) {
        return Err(format!("exit {code}, expected one of {:?}{}", case.exit, shown()));
    }
    let lower = both.to_lowercase();
    for name in &case.names {
        if !lower.contains(&name.to_lowercase()) {
            return Err(format!("the output does not name `{name}`{}", shown()));
        }
    }
    for secret in SEEDED_SECRETS {
        if both.contains(secret) {
            return Err(format!("a seeded secret leaked{}", shown()));
        }
    }
    Ok(())
}

fn cut(text: &str) -> String {
    if text.chars().count() > 3000 {
        format!("{}… ({} bytes)", text.chars().take(3000).collect::<String>(), text.len())
    } else {
        text.to_string()
    }
}

/// The repository's `scripts/` folder.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}
