//! The playbook engine: the `sf` module, named steps, check mode, hardening and the
//! errors that point into `.rhai` files.

use runner_core::playbook::Playbook;
use runner_sim::Scenario;
use runner_tests::{TestOrg, failure_code, outcome_of, scripts_dir};

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("folders");
    }
    std::fs::write(&path, text).expect("written");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_creates_an_account_and_reads_it_back() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org.play(&scripts_dir().join("examples/hello.rhai"), &[], false).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(outcome_of(&report, "sf::create"), "changed");
    assert_eq!(outcome_of(&report, "sf::query"), "ok");
    assert_eq!(org.count("SELECT Id FROM Account WHERE Name = 'Hello from runner'").await, 1);
    let journal = org.writes();
    assert_eq!(journal.len(), 1, "one write journaled");
    assert_eq!(journal[0]["method"], "POST");
    assert_eq!(journal[0]["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sf_calls_obey_check_mode_and_update_writes_only_differences() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org.play(&scripts_dir().join("examples/hello.rhai"), &[], true).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(
        org.count("SELECT Id FROM Account WHERE Name = 'Hello from runner'").await,
        0,
        "check mode sent no create"
    );

    let text = r#"
        let id = sf::create("Account", #{ Name: "Update me", Phone: "1" });
        sf::update("Account", id, #{ Name: "Update me", Phone: "2" });
        sf::update("Account", id, #{ Phone: "2" });
    "#;
    let report = org.play_text(text, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    let updates: Vec<_> = report.steps.iter().filter(|s| s.name == "sf::update").collect();
    assert_eq!(updates[0].outcome.as_str(), "changed");
    assert_eq!(updates[0].changes.len(), 1, "only Phone differed: {:?}", updates[0].changes);
    assert_eq!(updates[1].outcome.as_str(), "ok");
    let rows = org.query("SELECT Phone FROM Account WHERE Name = 'Update me'").await;
    assert_eq!(rows[0]["Phone"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_step_folds_its_calls_and_reports_changed_only_when_something_changed() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org.play(&scripts_dir().join("examples/partner.rhai"), &[], false).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let store_step =
        report.steps.iter().find(|s| s.name.starts_with("acme: store")).expect("the partner step is one line");
    assert_eq!(store_step.outcome.as_str(), "changed");
    assert!(!report.steps.iter().any(|s| s.name.starts_with("sf::")), "calls inside a named step are folded into it");
    let rows = org.query("SELECT s_c__Domain__c FROM s_c__Store__c WHERE Name = 'Demo Store'").await;
    assert_eq!(rows[0]["s_c__Domain__c"], "shop.acme.example");

    let again = org.play(&scripts_dir().join("examples/partner.rhai"), &[], false).await;
    let store_step = again.steps.iter().find(|s| s.name.starts_with("acme: store")).expect("step");
    assert_eq!(store_step.outcome.as_str(), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_can_be_caught_by_code() {
    let org = TestOrg::start(Scenario::NoSeats).await;
    let text = r#"
        let code = "";
        try {
            create_user(#{ username: "new.sync@client.example", email: "a@b.example" });
        } catch (err) {
            code = err.code;
        }
        if code != "runner::create_user::no_free_seats" { throw `unexpected ${code}`; }
    "#;
    let report = org.play_text(text, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(outcome_of(&report, "create_user"), "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_argument_names_the_step_and_the_field() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org.play_text(r#"assign_psl(#{ usr: "x@y.example" });"#, &[], false).await.expect("compiles");
    let error = report.error.expect("an error");
    assert_eq!(error.code, "runner::playbook::bad_argument");
    assert!(error.message.contains("assign_psl") && error.message.contains("user"), "{}", error.message);
    assert!(error.location.as_deref().is_some_and(|l| l.ends_with(":1:1")), "{:?}", error.location);

    let report = org.play_text(r#"assign_psl(#{ user: 5 });"#, &[], false).await.expect("compiles");
    let error = report.error.expect("an error");
    assert!(error.message.contains("`user`"), "a mistyped field is named: {}", error.message);
}

#[test]
fn check_reports_every_finding_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(
        dir.path(),
        "bad.rhai",
        "create_usr(#{ username: \"a@b.c\" });\nassign_psl(#{ user: \"a@b.c\", licence: \"x\" });\nsf::upsert(\"Account\", #{});\nverify(\"a@b.c\");\n",
    );
    let playbook = Playbook::load_file(&path).expect("compiles");
    let findings = playbook.check(&runner_steps::registry());
    let summary: Vec<(String, usize)> =
        findings.iter().map(|f| (f.code.clone(), f.location.as_ref().map(|l| l.line).unwrap_or(0))).collect();
    assert_eq!(
        summary,
        vec![
            ("runner::playbook::unknown_function".to_string(), 1),
            ("runner::playbook::bad_argument".to_string(), 2),
            ("runner::playbook::unknown_function".to_string(), 3),
            ("runner::playbook::bad_argument".to_string(), 4),
        ]
    );
    assert!(findings[0].help.as_deref().unwrap_or_default().contains("create_user"), "suggests the step");
    assert!(findings[1].help.as_deref().unwrap_or_default().contains("license"), "suggests the field");
}

#[test]
fn the_shipped_playbooks_pass_check() {
    for name in ["setup.rhai", "swap.rhai", "reauth.rhai", "audit.rhai", "examples/hello.rhai", "examples/partner.rhai"]
    {
        let playbook = Playbook::load_file(&scripts_dir().join(name)).expect("compiles");
        let findings = playbook.check(&runner_steps::registry());
        assert!(findings.is_empty(), "{name}: {findings:?}");
    }
}

#[test]
fn syntax_errors_point_at_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "syntax.rhai", "let a = 1;\nlet b = ;\n");
    let err = Playbook::load_file(&path).expect_err("does not compile");
    assert_eq!(err.code, "runner::playbook::syntax");
    assert_eq!(err.location.as_ref().map(|l| l.line), Some(2));
}

#[test]
fn eval_is_disabled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "eval.rhai", "eval(\"1 + 1\");\n");
    let err = Playbook::load_file(&path).expect_err("eval is refused at compile time");
    assert_eq!(err.code, "runner::playbook::syntax");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_resolve_inside_the_playbook_folder_only_and_errors_point_into_modules() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let outside = tempfile::tempdir().expect("temp dir");
    write(outside.path(), "secret.rhai", "fn x() { 1 }\n");
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "lib/util.rhai", "fn boom() {\n    throw \"boom in module\";\n}\n");
    let escape =
        format!("import \"../{}/secret\" as s;\n", outside.path().file_name().and_then(|n| n.to_str()).unwrap_or(""));
    let path = write(dir.path(), "escape.rhai", &escape);
    let report = org.play_compiled(Playbook::load_file(&path).expect("compiles"), &[], false).await;
    assert_eq!(failure_code(&report), Some("runner::playbook::module_not_found"));

    let path = write(dir.path(), "uses.rhai", "import \"lib/util\" as util;\n\nutil::boom();\n");
    let report = org.play_compiled(Playbook::load_file(&path).expect("compiles"), &[], false).await;
    let error = report.error.expect("an error");
    assert_eq!(error.code, "runner::playbook::thrown");
    let location = error.location.expect("a location");
    assert!(location.contains("lib/util.rhai:2"), "points into the module: {location}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_hits_the_operations_limit() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    let report = org.play_text("let i = 0; loop { i += 1; }", &[], false).await.expect("compiles");
    assert_eq!(failure_code(&report), Some("runner::playbook::limit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_ahead_that_stops_early_says_so_and_the_run_goes_on() {
    let org = TestOrg::start(Scenario::StoreConnect).await;
    // The observe pass never sees a step's results, so using one stops it early, in every round.
    let text = format!(
        r#"
        let licence = assign_psl(#{{ user: "{}" }}).license;
        print(`licence: ${{licence.len()}} characters`);
    "#,
        runner_sim::SYNC_USERNAME
    );
    let report = org.play_text(&text, &[], false).await.expect("compiles");
    assert!(report.error.is_none(), "the run itself reads and goes on: {:?}", report.error);
    assert!(
        report.notes.iter().any(|n| n.contains("read-ahead") && n.contains("stopped early")),
        "the early stop is not silent: {:?}",
        report.notes
    );
    // Rows it had no answer for stop only the first round: the next one has them, and is not stopped.
    let text = r#"
        let first = sf::query("SELECT Id, Username FROM User ORDER BY Username")[0];
        let again = sf::query(`SELECT Id FROM User WHERE Username = '${first.Username}'`);
        print(`first user: ${first.Username}, ${again.len()} row`);
    "#;
    let rounds = org.play_text(text, &[], false).await.expect("compiles");
    assert!(rounds.error.is_none(), "{:?}", rounds.error);
    assert!(rounds.notes.is_empty(), "{:?}", rounds.notes);
    assert_eq!(
        rounds.recap.api_calls, 4,
        "connection (userinfo and the Organization), then one batch for each query, read ahead, the running user with the first (2)"
    );
    let quiet = org.play_text(r#"sf::query("SELECT Id FROM User");"#, &[], false).await.expect("compiles");
    assert!(quiet.notes.is_empty(), "{:?}", quiet.notes);
}
