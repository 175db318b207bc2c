//! `runner play --json --junit FILE --summary FILE` as CI uses them: the run's metadata in JSON, JUnit XML that
//! parses back with a testsuite per org, and a Markdown summary with a row per org.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::Value;

const DRIFT: i32 = 5;

fn play(dir: &Path, playbook: &str, args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
    cmd.env("NO_COLOR", "1").env_remove("SF_ACCESS_TOKEN").current_dir(dir);
    cmd.args(["play", playbook]).args(args).arg("--journal").arg(dir.join("j.jsonl"));
    cmd.output().expect("runs")
}

/// A testsuite as parsed back: its name, testcase count, and the failures' `type`s.
#[derive(Debug, Default)]
struct Suite {
    name: String,
    tests_attr: usize,
    cases: usize,
    failure_types: Vec<String>,
    failure_messages: Vec<String>,
}

fn attr(e: &quick_xml::events::BytesStart, key: &str) -> Option<String> {
    e.try_get_attribute(key)
        .expect("well-formed attributes")
        .map(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).expect("escaped right").into_owned())
}

fn parse_junit(xml: &str) -> Vec<Suite> {
    let mut reader = Reader::from_str(xml);
    let mut suites: Vec<Suite> = Vec::new();
    loop {
        match reader.read_event().expect("the JUnit file is well-formed XML") {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => suites.push(Suite {
                    name: attr(&e, "name").expect("a suite's name"),
                    tests_attr: attr(&e, "tests").expect("tests").parse().expect("a number"),
                    ..Default::default()
                }),
                b"testcase" => suites.last_mut().expect("a testcase is in a suite").cases += 1,
                b"failure" => {
                    let suite = suites.last_mut().expect("in a suite");
                    suite.failure_types.push(attr(&e, "type").expect("a failure's type"));
                    suite.failure_messages.push(attr(&e, "message").expect("a failure's message"));
                }
                _ => {}
            },
            _ => {}
        }
    }
    suites
}

#[test]
fn two_sims_give_run_metadata_two_suites_and_two_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = play(
        dir.path(),
        "audit.rhai",
        &["--org", "sim", "--org", "sim", "--json", "--junit", "j.xml", "--summary", "s.md"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let document: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(document["status"], 0);
    let run = &document["result"]["run"];
    assert_eq!(run["runner_version"], env!("CARGO_PKG_VERSION"));
    assert!(run["playbook"].as_str().expect("a playbook").contains("audit.rhai"), "{run}");
    assert_eq!(run["check_mode"], false);
    let started = run["started_at"].as_str().expect("a start time");
    assert!(started.starts_with("20") && started.ends_with('Z') && started.contains('T'), "RFC 3339 UTC: {started}");
    assert!(run["duration_ms"].as_u64().expect("a duration") < 600_000, "{run}");
    let orgs = run["orgs"].as_array().expect("the orgs");
    assert_eq!(orgs.len(), 2);
    for (org, name) in orgs.iter().zip(["sim#1", "sim#2"]) {
        assert_eq!(org["name"], name);
        assert_eq!(org["target"], "sim");
        assert!(org["org_id"].as_str().is_some_and(|id| id.starts_with("00D")), "{org}");
        assert_eq!(org["outcome"], "ok");
        assert_eq!(org["drift_count"], 0);
    }
    // The envelope's orgs are as before.
    assert_eq!(document["result"]["orgs"][1]["target"], "sim#2");

    let suites = parse_junit(&std::fs::read_to_string(dir.path().join("j.xml")).expect("the JUnit file"));
    assert_eq!(suites.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["sim#1", "sim#2"]);
    for (suite, org) in suites.iter().zip(document["result"]["orgs"].as_array().expect("orgs")) {
        let steps = org["steps"].as_array().expect("steps").len();
        assert_eq!(suite.cases, steps, "a testcase per step: {suite:?}");
        assert_eq!(suite.tests_attr, steps);
        assert!(suite.failure_types.is_empty(), "{suite:?}");
    }

    let summary = std::fs::read_to_string(dir.path().join("s.md")).expect("the summary");
    let rows: Vec<&str> = summary.lines().filter(|l| l.starts_with("| sim#")).collect();
    assert_eq!(rows.len(), 2, "{summary}");
    assert!(rows[0].starts_with("| sim#1 | ok | 0 | 0 | "), "{summary}");
    assert!(summary.contains("**Total:** 2 org(s): 2 ok, 0 drift, 0 failed, 0 unreachable"), "{summary}");

    // The summary is appended to, as GitHub's step summary file is; the JUnit file is replaced whole.
    let again = play(dir.path(), "audit.rhai", &["--org", "sim", "--junit", "j.xml", "--summary", "s.md"]);
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    let summary = std::fs::read_to_string(dir.path().join("s.md")).expect("the summary");
    assert_eq!(summary.matches("**Total:**").count(), 2, "{summary}");
    let suites = parse_junit(&std::fs::read_to_string(dir.path().join("j.xml")).expect("the JUnit file"));
    assert_eq!(suites.len(), 1);
}

#[test]
fn drift_is_a_junit_failure_and_a_count_in_the_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = play(
        dir.path(),
        "audit.rhai",
        &["--org", "sim", "--org", "sim:scratch", "--json", "--junit", "j.xml", "--summary", "s.md"],
    );
    assert_eq!(out.status.code(), Some(DRIFT), "{}", String::from_utf8_lossy(&out.stderr));
    let document: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(document["result"]["run"]["orgs"][1]["outcome"], "drift");
    assert_eq!(document["result"]["run"]["orgs"][1]["drift_count"], 1);

    let suites = parse_junit(&std::fs::read_to_string(dir.path().join("j.xml")).expect("the JUnit file"));
    assert_eq!(suites.len(), 2);
    assert!(suites[0].failure_types.is_empty(), "{:?}", suites[0]);
    let scratch = &suites[1];
    assert_eq!(scratch.name, "sim:scratch");
    let steps = document["result"]["orgs"][1]["steps"].as_array().expect("steps").len();
    assert_eq!(scratch.cases, steps + 1, "a testcase per step and one per drift: {scratch:?}");
    assert_eq!(scratch.failure_types, ["drift"]);
    assert!(scratch.failure_messages[0].contains("sync user"), "{scratch:?}");

    let summary = std::fs::read_to_string(dir.path().join("s.md")).expect("the summary");
    assert!(summary.contains("| sim:scratch | drift | 0 | 1 | "), "{summary}");
    assert!(summary.contains("· 1 drift ·"), "{summary}");
}

#[test]
fn a_failed_step_carries_its_code_and_a_symlinked_report_is_refused_before_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A playbook whose step fails, with a message XML and Markdown must escape.
    std::fs::write(
        dir.path().join("bad.rhai"),
        "throw #{ code: \"acme::x::broken\", message: \"a <b> & \\\"c\\\" | d\" };\n",
    )
    .expect("write");
    let out = play(dir.path(), "bad.rhai", &["--junit", "j.xml", "--summary", "s.md"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = std::fs::read_to_string(dir.path().join("j.xml")).expect("the JUnit file");
    let suites = parse_junit(&xml);
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].failure_types.len(), 1, "{xml}");
    assert!(
        suites[0].failure_types[0].starts_with("runner::") || suites[0].failure_types[0].starts_with("acme::"),
        "{xml}"
    );
    // Escaped by the writer, so read back as thrown.
    assert!(suites[0].failure_messages[0].contains("a <b> & \"c\" | d"), "{xml}");
    let summary = std::fs::read_to_string(dir.path().join("s.md")).expect("the summary");
    assert!(summary.contains("| sim | failed |"), "{summary}");

    // A link at the report's place is refused before any org is touched: exit 2, the link's target untouched.
    #[cfg(unix)]
    {
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").expect("write");
        std::os::unix::fs::symlink(&victim, dir.path().join("link.xml")).expect("symlink");
        let out = play(dir.path(), "audit.rhai", &["--junit", "link.xml"]);
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stderr).contains("runner::report::not_a_file"));
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep");
        let out = play(dir.path(), "audit.rhai", &["--summary", "link.xml"]);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep");
    }
    // A report whose folder is missing is refused before any org is touched (2): a typo costs no run.
    let out = play(dir.path(), "audit.rhai", &["--junit", "no-such-folder/j.xml"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runner::report::folder_missing"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("mkdir -p no-such-folder"));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("recap"), "no org ran");
    // A report that cannot be written after a good run fails it (1): CI must not pass without its report.
    // /proc is a folder where not even root can create a file.
    let out = play(dir.path(), "audit.rhai", &["--junit", "/proc/runner-j.xml"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runner::report::write"));
}
