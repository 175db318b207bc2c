//! The Rhai sandbox: hostile playbooks that try to crash, hang or exhaust the process,
//! escape the playbook's folder, or flood the terminal. Each ends quickly, with a
//! message naming the cause.

use std::time::Duration;

use super::{Case, check, run};

/// Every case here ends in well under this; the harness's own deadline is for hangs.
const QUICK: Duration = Duration::from_secs(20);

fn play(name: &'static str, exit: &'static [i32], names: &[&str], text: impl Into<Vec<u8>>) -> Case {
    Case::new(name, &["play", "p.rhai", "--org", "sim", "--journal", "j", "--timeout", "10s"], exit, names)
        .file("p.rhai", text, 0o644)
}

fn check_only(name: &'static str, exit: &'static [i32], names: &[&str], text: impl Into<Vec<u8>>) -> Case {
    Case::new(name, &["check", "p.rhai"], exit, names).file("p.rhai", text, 0o644)
}

/// Runs the cases, each also within [`QUICK`] and printing at most `max_output` bytes.
fn run_quick(cases: &[Case], max_output: usize) {
    let mut failures = Vec::new();
    for case in cases {
        let ran = run(case);
        if let Err(why) = check(case, &ran) {
            failures.push(format!("{}: {why}", case.name));
        }
        let printed = ran.output.stdout.len() + ran.output.stderr.len();
        if ran.elapsed > QUICK {
            failures.push(format!("{}: took {:?}", case.name, ran.elapsed));
        }
        if printed > max_output {
            failures.push(format!("{}: printed {printed} bytes", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_and_mistyped_playbooks_are_refused_before_any_org() {
    let cases = vec![
        check_only("syntax error", &[3], &["p.rhai:2", "syntax"], "let a = 1;\nlet x = (;\n"),
        play(
            "unknown step",
            &[3],
            &["creat_user", "did you mean `create_user`", "no org was touched"],
            "creat_user(#{ username: \"a@b.example\" });\n",
        ),
        check_only("a step given a string", &[3], &["create_user", "object map"], "create_user(\"a@b.example\");\n"),
        check_only("a step given two arguments", &[3], &["create_user", "one object map"], "create_user(#{}, #{});\n"),
        check_only(
            "a field of the wrong type",
            &[3],
            &["create_user", "username", "must be"],
            "create_user(#{ username: 42 });\n",
        ),
        check_only("empty playbook", &[0], &["p.rhai: ok"], ""),
        check_only(
            "binary file",
            &[3],
            &["p.rhai", "UTF-8"],
            vec![0x7f, b'E', b'L', b'F', 0, 0xff, 0xfe, 0x80, 0x00, 0x01],
        ),
        check_only("non-UTF-8 text", &[3], &["p.rhai", "UTF-8"], b"// caf\xe9 latin-1\nlet x = 1;\n".to_vec()),
        check_only("control characters", &[3], &["p.rhai:1", "syntax"], vec![0, 1, 2, 3, b'\n']),
        Case::new("a folder as the playbook", &["check", "lib"], &[3], &["lib is a folder"]).file(
            "lib/m.rhai",
            "",
            0o644,
        ),
        Case::new("a folder given to play", &["play", "lib", "--org", "sim"], &[3], &["lib is a folder"]).file(
            "lib/m.rhai",
            "",
            0o644,
        ),
        check_only("a byte-order mark", &[0], &["p.rhai: ok"], "\u{feff}let x = 1;\nprint(x);\n"),
        play("a byte-order mark in a run", &[0], &["recap"], "\u{feff}print(`ok`);\n"),
        check_only("sleep", &[3], &["sleep", "not available", "p.rhai:1"], "sleep(1000);\n"),
    ];
    run_quick(&cases, 20_000);
}

#[test]
fn huge_values_and_long_lines_are_named_and_cut() {
    let huge_literal = format!("let s = \"{}\";\n", "x".repeat(10 << 20));
    let long_line = format!("let a = [{}1]; let b = ;\n", "1, ".repeat(700_000));
    let cases = vec![
        check_only("a 10 MB string literal", &[3], &["p.rhai:1", "string", "exceeds"], huge_literal),
        check_only("a 2 MB line with an error", &[3], &["p.rhai:1", "syntax"], long_line),
        play(
            "a string doubled until too large",
            &[1],
            &["safety limit", "string"],
            "let s = \"x\";\nloop { s += s; }\n",
        ),
        play("exit with a long value", &[1], &["exit("], format!("exit(\"{}\");\n", "y".repeat(1 << 20))),
    ];
    run_quick(&cases, 20_000);
}

#[test]
fn runaway_playbooks_stop_quickly() {
    // One 1 MB copy per iteration: the deadline comes long before the operation budget.
    let slow = "let s = \"\";\ns.pad(1000000, \"y\");\nloop { let t = s + \"z\"; }\n";
    let cases = vec![
        play("deep recursion", &[1], &["safety limit", "stack"], "fn f(n) { f(n + 1) }\nf(0);\n"),
        play("an endless loop", &[1], &["operations", "endless loop"], "loop { }\n"),
        Case::new(
            "an endless slow loop",
            &["play", "p.rhai", "--org", "sim", "--journal", "j", "--timeout", "2s"],
            &[1],
            &["deadline (2s)", "--timeout"],
        )
        .file("p.rhai", slow, 0o644),
        play(
            "a map grown by assignment",
            &[1],
            &["safety limit", "object map", "p.rhai:3"],
            "let m = #{};\nlet i = 0;\nloop { m[`k${i}`] = i; i += 1; }\n",
        ),
        play(
            "an array grown through its elements",
            &[1],
            &["safety limit", "array"],
            "let x = [];\nx.pad(90000, 0);\nlet a = [];\na.pad(1000, 0);\nfor i in 0..1000 { a[i] = x; }\n",
        ),
        play(
            "closures capturing 512 KiB each",
            &[3],
            &["captures `s`", "p.rhai:3", "step("],
            "let big = \"\";\nbig.pad(524288, \"x\");\nlet fs = []; for i in 0..1000 { let s = big + i; fs.push(|| s); }\n",
        ),
        play("curry", &[3], &["curry", "not available"], "fn f(x) { x }\nlet p = Fn(\"f\").curry(1);\n"),
        play("exit()", &[0], &["before exit", "recap"], "print(\"before exit\");\nexit();\nprint(\"after exit\");\n"),
        play("exit(0) in a step", &[0], &["ended here"], "step(\"s\", || { exit(0); });\nthrow \"not reached\";\n"),
        play("exit(2)", &[1], &["exit(2)", "p.rhai:1"], "exit(2);\n"),
    ];
    run_quick(&cases, 20_000);
    // What comes after exit() does not run.
    let ran = run(&cases[7]);
    assert!(!String::from_utf8_lossy(&ran.output.stdout).contains("after exit"));
}

#[test]
fn imports_stay_inside_the_folder_and_cycles_are_named() {
    let outside = tempfile::tempdir().expect("a folder outside");
    std::fs::write(outside.path().join("evil.rhai"), "fn f() { 1 }\n").expect("the file outside");
    let inside = tempfile::tempdir().expect("a playbook folder");
    std::fs::create_dir_all(inside.path().join("lib")).expect("lib");
    std::fs::write(inside.path().join("p.rhai"), "import \"lib/evil\" as e;\n").expect("the playbook");
    std::os::unix::fs::symlink(outside.path().join("evil.rhai"), inside.path().join("lib/evil.rhai"))
        .expect("a symlink");
    let mut symlink = Case::new("an import through a symlink out", &[], &[3], &["leads outside"]);
    symlink.args = vec!["check".into(), inside.path().join("p.rhai").to_string_lossy().to_string()];

    let cycle = |name: &'static str, args: &[&str], exit: &'static [i32]| {
        Case::new(name, args, exit, &["import cycle", "lib/a.rhai → lib/b.rhai → lib/a.rhai", "lib/b.rhai:1"])
            .file("p.rhai", "import \"lib/a\" as a;\n", 0o644)
            .file("lib/a.rhai", "import \"lib/b\" as b;\nfn f() { 1 }\n", 0o644)
            .file("lib/b.rhai", "import \"lib/a\" as a;\n", 0o644)
    };
    let cases = vec![
        check_only("an import with ..", &[3], &["../x", "not a path inside"], "import \"../x\" as x;\n"),
        check_only("an absolute import", &[3], &["/etc/passwd", "not a path inside"], "import \"/etc/passwd\" as x;\n"),
        check_only("a missing module", &[3], &["lib/nope", "looked for"], "import \"lib/nope\" as x;\n"),
        symlink,
        cycle("an import cycle in check", &["check", "p.rhai"], &[3]),
        cycle("an import cycle in play", &["play", "p.rhai", "--org", "sim", "--journal", "j"], &[3]),
        check_only("a playbook importing itself", &[3], &["import cycle", "p.rhai → p.rhai"], "import \"p\" as me;\n"),
        Case::new("a module with a syntax error", &["check", "p.rhai"], &[3], &["lib/m.rhai:2", "syntax"])
            .file("p.rhai", "import \"lib/m\" as m;\n", 0o644)
            .file("lib/m.rhai", "fn f() { 1 }\nlet = 2;\n", 0o644),
        Case::new(
            "a module with a byte-order mark",
            &["play", "p.rhai", "--org", "sim", "--journal", "j"],
            &[0],
            &["3"],
        )
        .file("p.rhai", "import \"lib/m\" as m;\nprint(m::f());\n", 0o644)
        .file("lib/m.rhai", "\u{feff}fn f() { 3 }\n", 0o644),
    ];
    run_quick(&cases, 20_000);
    // The symlink's target is named nowhere: only the path inside the folder.
    let ran = run(&cases[3]);
    let printed = String::from_utf8_lossy(&ran.output.stderr).to_string();
    assert!(!printed.contains(&outside.path().to_string_lossy().to_string()), "{printed}");
}
