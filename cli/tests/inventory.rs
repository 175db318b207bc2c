//! The inventory in runner.toml (issue 11): per-org and group vars and their precedence, `{org}` in values,
//! groups (`--org @NAME`), a name of its own for each org in every report, and `--shard K/N`. End to end with
//! the built binary, against the in-process simulated org and `runner sim serve` on 127.0.0.1, with the
//! runner.toml given by `--config FILE`.

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

mod common;
use common::Served;

const TOKEN: &str = "00DSIM0000000001!AQ.inventory-token-for-runner-tests";
const CLIENT_ID: &str = "runner-inventory-test-app";
const CLIENT_SECRET: &str = "client-secret-for-inventory-tests-Xy7";

/// Creates the user `vars.username` (the playbook's own default otherwise) and prints the vars it got.
const PLAYBOOK: &str = r#"
let username = vars.username ?? "playbook.default@example.invalid";
create_user(#{ username: username, email: vars.email ?? username });
print(`vars: username=${username} tier=${vars.tier ?? "playbook"} region=${vars.region ?? "playbook"} file=${vars.credentials_file ?? "none"}`);
"#;

struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new(toml: &str) -> Work {
        let dir = tempfile::tempdir().expect("temp dir");
        for sub in ["home", "config"] {
            std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        std::fs::write(dir.path().join("inventory.toml"), toml).expect("write");
        std::fs::write(dir.path().join("user.rhai"), PLAYBOOK).expect("write");
        Work { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical")
    }

    fn config(&self) -> PathBuf {
        self.path().join("inventory.toml")
    }

    /// `runner play user.rhai --config inventory.toml --json ARGS…`.
    fn play(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        let mut cmd = Command::cargo_bin("runner").expect("the runner binary");
        cmd.current_dir(self.path())
            .env_remove("SF_ACCESS_TOKEN")
            .env("NO_COLOR", "1")
            .env("HOME", self.path().join("home"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("PATH", "/usr/bin:/bin")
            .envs(envs.iter().copied())
            .args(["play", "user.rhai", "--json", "--config"])
            .arg(self.config())
            .arg("--journal")
            .arg(self.path().join("journal.jsonl"))
            .args(args);
        cmd.output().expect("runner runs")
    }

    fn journal(&self) -> String {
        std::fs::read_to_string(self.path().join("journal.jsonl")).unwrap_or_default()
    }
}

/// Standard error with the lines miette wraps joined again.
fn stderr(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stderr);
    text.split_whitespace().filter(|w| *w != "│").collect::<Vec<_>>().join(" ")
}

/// Standard error as printed, line by line.
fn stderr_lines(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn doc(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("one JSON document ({e}): {}", stderr(out)))
}

/// The org names of the JSON report, in order.
fn reported(out: &Output) -> Vec<String> {
    doc(out)["result"]["orgs"]
        .as_array()
        .expect("orgs")
        .iter()
        .map(|o| o["target"].as_str().expect("target").to_string())
        .collect()
}

/// What the playbook printed for the org named `name`: `username=… tier=… region=… file=…`.
fn vars_of(out: &Output, name: &str) -> String {
    let prefix = format!("[{name}] vars: ");
    let err = stderr_lines(out);
    err.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} printed its vars: {err}"))
        .to_string()
}

fn assert_ok(out: &Output) {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), stderr(out));
}

fn serve() -> Served {
    Served::start(TOKEN, &["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
}

/// `[orgs.NAME]` tables that all sign in to `served`, each with the extra lines given.
fn named_orgs(served: &Served, orgs: &[(&str, &str)]) -> String {
    orgs.iter()
        .map(|(name, extra)| {
            format!(
                "[orgs.{name}]\ninstance_url = \"{}\"\nauth = \"client_credentials\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_env = \"INVENTORY_SECRET\"\n{extra}\n",
                served.url
            )
        })
        .collect()
}

/// The usernames of the org's users among `names`, asked over REST.
async fn users(served: &Served, names: &[&str]) -> Vec<String> {
    let list = names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
    let response = reqwest::Client::new()
        .get(format!("{}/services/data/v62.0/query", served.url))
        .query(&[("q", format!("SELECT Username FROM User WHERE Username IN ({list}) ORDER BY Username"))])
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the simulated org answers");
    let body: Value = response.json().await.expect("json");
    body["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["Username"].as_str().unwrap_or("").to_string())
        .collect()
}

const ENV: &[(&str, &str)] = &[("INVENTORY_SECRET", CLIENT_SECRET)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_named_orgs_with_their_own_username_each_get_their_own_sync_user() {
    let served = serve();
    let toml = named_orgs(
        &served,
        &[
            ("acme-prod", "[orgs.acme-prod.vars]\nusername = \"storeconnect.sync@acme.example\"\n"),
            ("globex-prod", "[orgs.globex-prod.vars]\nusername = \"storeconnect.sync@globex.example\"\n"),
        ],
    );
    let work = Work::new(&toml);
    let out = work.play(&["--org", "acme-prod", "--org", "globex-prod"], ENV);
    assert_ok(&out);
    assert_eq!(reported(&out), ["acme-prod", "globex-prod"]);
    assert!(vars_of(&out, "acme-prod").starts_with("username=storeconnect.sync@acme.example "));
    assert!(vars_of(&out, "globex-prod").starts_with("username=storeconnect.sync@globex.example "));
    assert_eq!(
        users(&served, &["storeconnect.sync@acme.example", "storeconnect.sync@globex.example"]).await,
        ["storeconnect.sync@acme.example", "storeconnect.sync@globex.example"],
        "each org got its own sync user"
    );
    assert!(users(&served, &["playbook.default@example.invalid"]).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn var_beats_org_vars_which_beat_group_vars_which_beat_the_playbook() {
    let served = serve();
    let mut toml = named_orgs(
        &served,
        &[
            ("acme-prod", "[orgs.acme-prod.vars]\nusername = \"org@acme.example\"\ntier = \"org\"\n"),
            ("globex-prod", ""),
        ],
    );
    toml.push_str(
        "[groups]\nclients = [\"acme-prod\", \"globex-prod\"]\n\n[group_vars.clients]\ntier = \"group\"\nregion = \"group\"\nusername = \"group.{org}@clients.example\"\n",
    );
    let work = Work::new(&toml);
    let out = work.play(&["--org", "@clients", "--var", "region=cli"], ENV);
    assert_ok(&out);
    assert_eq!(vars_of(&out, "acme-prod"), "username=org@acme.example tier=org region=cli file=none");
    assert_eq!(
        vars_of(&out, "globex-prod"),
        "username=group.globex-prod@clients.example tier=group region=cli file=none"
    );
    assert_eq!(
        users(&served, &["org@acme.example", "group.globex-prod@clients.example"]).await,
        ["group.globex-prod@clients.example", "org@acme.example"]
    );
    // Without the group's vars or --var, the playbook's own default applies.
    let work = Work::new(&named_orgs(&served, &[("solo", "")]));
    let out = work.play(&["--org", "solo"], ENV);
    assert_ok(&out);
    assert_eq!(
        vars_of(&out, "solo"),
        "username=playbook.default@example.invalid tier=playbook region=playbook file=none"
    );
}

#[test]
fn org_in_a_value_gives_each_org_its_own_credentials_file_and_a_shared_one_is_refused() {
    let toml =
        "[groups]\nfleet = [\"sim\", \"sim:scratch\"]\n\n[group_vars.fleet]\nusername = \"sync.{org}@fleet.example\"\n";
    let work = Work::new(toml);
    let out =
        work.play(&["--org", "@fleet", "--var", "credentials_file=secrets/{org}.creds", "--var", "tier={{org}"], &[]);
    assert_ok(&out);
    assert_eq!(
        vars_of(&out, "sim"),
        "username=sync.sim@fleet.example tier={org} region=playbook file=secrets/sim.creds"
    );
    assert_eq!(
        vars_of(&out, "sim:scratch"),
        "username=sync.sim_scratch@fleet.example tier={org} region=playbook file=secrets/sim_scratch.creds"
    );

    // One file for the whole group: refused before anything runs, naming the var and the orgs.
    let journal = work.journal();
    let out = work.play(&["--org", "@fleet", "--var", "credentials_file=secrets/all.creds"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::play::shared_credentials_file"), "{err}");
    assert!(err.contains("--var credentials_file=secrets/all.creds") && err.contains("sim, sim:scratch"), "{err}");
    assert_eq!(work.journal(), journal, "nothing ran");

    // Also when the shared file comes from runner.toml, or only shows once {org} is expanded.
    let toml = "[groups]\nfleet = [\"sim\", \"sim:scratch\"]\n\n[group_vars.fleet]\ncredentials_file = \"secrets/fleet.creds\"\n";
    let work = Work::new(toml);
    let out = work.play(&["--org", "@fleet"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("credentials_file = \"secrets/fleet.creds\" in [group_vars.fleet]"),
        "{}",
        stderr(&out)
    );
    let out = work
        .play(&["--org", "sim:scratch", "--org", "sim:storeconnect", "--var", "credentials_file={{org}.creds"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("sim:scratch, sim:storeconnect"), "{}", stderr(&out));
}

#[test]
fn groups_of_groups_select_each_org_once_in_order() {
    let toml = "[groups]\neu = [\"sim:scratch\", \"sim:legacy-profile\"]\nall = [\"sim:storeconnect\", \"@eu\", \"sim:scratch\"]\ntop = [\"all\", \"eu\"]\n";
    let work = Work::new(toml);
    let out = work.play(&["--org", "@top"], &[]);
    assert_ok(&out);
    // sim targets repeat (each is an org of its own), reported with #K.
    assert_eq!(
        reported(&out),
        [
            "sim:storeconnect",
            "sim:scratch#1",
            "sim:legacy-profile#1",
            "sim:scratch#2",
            "sim:scratch#3",
            "sim:legacy-profile#2"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_org_in_a_group_and_on_the_command_line_runs_once() {
    let served = serve();
    let mut toml = named_orgs(
        &served,
        &[
            ("acme", "[orgs.acme.vars]\nusername = \"once@acme.example\"\n"),
            ("globex", "[orgs.globex.vars]\nusername = \"once@globex.example\"\n"),
        ],
    );
    toml.push_str("[groups]\nclients = [\"globex\", \"acme\"]\nmore = [\"@clients\", \"acme\"]\n");
    let work = Work::new(&toml);
    let out = work.play(&["--org", "acme", "--org", "@more"], ENV);
    assert_ok(&out);
    assert_eq!(reported(&out), ["acme", "globex"]);
}

#[test]
fn an_unknown_group_and_a_cycle_are_clear_errors() {
    let work = Work::new("[groups]\nclients = [\"sim\"]\n");
    let out = work.play(&["--org", "@cleints"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::config::unknown_group") && err.contains("did you mean `clients`"), "{err}");

    let work = Work::new("[groups]\na = [\"sim\", \"b\"]\nb = [\"@c\"]\nc = [\"a\"]\n");
    let out = work.play(&["--org", "sim"], &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("runner::config::group_cycle") && err.contains("a → b → c → a"), "{err}");

    let work = Work::new("[groups]\na = [\"sim\"]\n\n[group_vars.b]\nx = \"1\"\n");
    let out = work.play(&["--org", "sim"], &[]);
    assert!(stderr(&out).contains("[group_vars.b] is for a group of [groups]"), "{}", stderr(&out));

    let work = Work::new("[groups]\na = [\"sim\"]\n\n[group_vars.a]\nlist = [\"x\"]\n");
    let out = work.play(&["--org", "@a"], &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("a string, a number or a boolean"), "{}", stderr(&out));
}

#[test]
fn a_config_file_that_is_not_there_exits_2() {
    let work = Work::new("");
    std::fs::remove_file(work.config()).expect("rm");
    let out = work.play(&["--org", "sim"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("runner::config::read") && stderr(&out).contains("inventory.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn several_sims_are_each_reported_by_a_name_of_their_own() {
    let work = Work::new("");
    let out = work.play(&["--org", "sim", "--org", "sim", "--org", "sim", "--org", "sim:scratch"], &[]);
    assert_ok(&out);
    assert_eq!(reported(&out), ["sim#1", "sim#2", "sim#3", "sim:scratch"]);
    let journal = work.journal();
    for name in ["sim#1", "sim#2", "sim#3", "sim:scratch"] {
        assert!(journal.contains(&format!("\"target\":\"{name}\"")), "the journal names {name}: {journal}");
    }
    // The human output too.
    let out = Command::cargo_bin("runner")
        .expect("runner")
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .args(["play", "user.rhai", "--org", "sim", "--org", "sim", "--journal", "/dev/null"])
        .output()
        .expect("runs");
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("recap sim#1") && stdout.contains("recap sim#2"), "{stdout}");
}

#[test]
fn shards_partition_the_selection_and_bad_shards_exit_2() {
    let toml = "[groups]\nfleet = [\"sim:scratch\", \"sim:storeconnect\", \"sim:legacy-profile\", \"sim:person-accounts\", \"sim:localized\"]\n";
    let work = Work::new(toml);
    let mut seen: Vec<String> = Vec::new();
    for k in 1..=2 {
        let out = work.play(&["--org", "@fleet", "--shard", &format!("{k}/2")], &[]);
        assert_ok(&out);
        let names = reported(&out);
        assert!(!names.is_empty(), "shard {k}/2 has orgs");
        seen.extend(names);
    }
    seen.sort();
    assert_eq!(seen, ["sim:legacy-profile", "sim:localized", "sim:person-accounts", "sim:scratch", "sim:storeconnect"]);
    // The same slices whatever the order the orgs are given in.
    let again = work.play(
        &[
            "--org",
            "sim:localized",
            "--org",
            "sim:person-accounts",
            "--org",
            "sim:legacy-profile",
            "--org",
            "sim:storeconnect",
            "--org",
            "sim:scratch",
            "--shard",
            "1/2",
        ],
        &[],
    );
    let mut first = reported(&again);
    first.sort();
    let mut expected = reported(&work.play(&["--org", "@fleet", "--shard", "1/2"], &[]));
    expected.sort();
    assert_eq!(first, expected);

    // More shards than orgs: the last ones are empty, and run nothing.
    let out = work.play(&["--org", "@fleet", "--shard", "6/6"], &[]);
    assert_ok(&out);
    assert!(reported(&out).is_empty());

    for bad in ["0/2", "3/2", "1/0", "x/2", "2"] {
        let out = work.play(&["--org", "@fleet", "--shard", bad], &[]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("K/N"), "{bad}: {}", stderr(&out));
    }
}
