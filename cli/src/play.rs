//! `runner play` and `runner check`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use indexmap::IndexMap;
use miette::Report;
use runner_core::interrupt::{Cause, Interrupt};
use tokio::sync::Semaphore;

use crate::Context;
use crate::engine::{
    FailureInfo, Journal, Limits, OrgReport, Playbook, PlaybookError, PlaybookRoot, Registry, RunObserver, RunOptions,
    connect_and_run, connect_failure_report,
};
use crate::exit::{self, Outcome};
use crate::output::{HumanOutput, render_json};
use crate::progress::FleetProgress;
use crate::target::{ConfigError, ConnectOptions, Inventory, Target, connect};

#[derive(Args)]
pub struct PlayArgs {
    /// The playbook: a file, or the name of a built-in playbook (`runner playbooks`).
    pub playbook: String,
    /// The org(s) to run against: `sim`, `sim:SCENARIO`, an instance URL, a named org
    /// from runner.toml, `@GROUP` (a group of runner.toml), or an sf CLI alias or username.
    #[arg(short = 'o', long = "org", default_value = "sim")]
    pub orgs: Vec<String>,
    /// Read this runner.toml (named orgs, groups, their vars) instead of the working directory's and the
    /// user's.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Run only slice K of N (1-based) of the selected orgs, for a CI matrix: the orgs sorted by name, every
    /// N-th from the K-th.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Check mode: send no writes, show what would change.
    #[arg(long)]
    pub check: bool,
    /// A playbook variable, `key=value` (repeatable); read as `vars.key`. Beats the org's and its groups' vars
    /// in runner.toml. `{org}` in the value stands for each org's name (`--var credentials_file=creds/{org}.creds`),
    /// `{{` for a literal `{`; several orgs may not share a credentials file.
    #[arg(long = "var", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Print one JSON document (shaped like the sf CLI's) instead of lines.
    #[arg(long)]
    pub json: bool,
    /// How many orgs run at once.
    #[arg(short = 'j', long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// Append the journal of writes to this file (default: under the state directory).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Stop an org's playbook that runs longer than this (`90s`, `10m`), counting the
    /// read-ahead, planning and the run, and the time steps wait on the org.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// How long one request to an org may take, retries included (e.g. 30s, 5m).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_request_timeout)]
    pub request_timeout: std::time::Duration,
    /// A folder to look for imported modules in, after the playbook's own (repeatable; before RUNNER_LIB and
    /// runner.toml's lib_path).
    #[arg(long = "lib", value_name = "DIR")]
    pub lib: Vec<PathBuf>,
    /// After the run, write a JUnit XML report to FILE: a testsuite per org, a testcase per step and per drift
    /// entry (replaced whole; a symbolic link is refused).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// After the run, append a Markdown summary to FILE: a table row per org and a totals line
    /// (`--summary "$GITHUB_STEP_SUMMARY"`; a symbolic link is refused).
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
}

fn parse_request_timeout(text: &str) -> Result<std::time::Duration, String> {
    let duration =
        humantime::parse_duration(text).map_err(|e| format!("`{text}` is not a duration such as 30s or 5m: {e}"))?;
    if duration.is_zero() {
        return Err("a request needs some time: give more than 0s".into());
    }
    Ok(duration)
}

/// `--shard K/N`: slice K (1-based) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let bad = || format!("`{text}` is not a shard: give K/N with 1 <= K <= N, e.g. --shard 2/4");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count): (usize, usize) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
    if index == 0 || count == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// The orgs of shard `shard`, in the order given: the selection sorted by name (so the slicing depends on
/// nothing but the selection), then every N-th from the K-th.
pub fn shard_of(selected: Vec<String>, shard: Shard) -> Vec<String> {
    let mut sorted: Vec<(usize, &String)> = selected.iter().enumerate().collect();
    sorted.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
    let mut kept: Vec<usize> = sorted
        .iter()
        .enumerate()
        .filter(|(rank, _)| rank % shard.count == shard.index - 1)
        .map(|(_, (i, _))| *i)
        .collect();
    kept.sort_unstable();
    kept.into_iter().filter_map(|i| selected.get(i).cloned()).collect()
}

/// A name of its own for each org of a run: its `--org`, or `sim#K` for the K-th of several identical ones
/// (several `--org sim` are as many simulated orgs).
pub fn org_names(selected: &[String]) -> Vec<String> {
    let mut seen: IndexMap<&str, usize> = IndexMap::new();
    selected
        .iter()
        .map(|org| {
            let total = selected.iter().filter(|o| *o == org).count();
            let nth = seen.entry(org.as_str()).or_insert(0);
            *nth += 1;
            if total > 1 { format!("{org}#{nth}") } else { org.clone() }
        })
        .collect()
}

pub fn parse_var(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("`{text}` is not key=value"))?;
    let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("`{key}` is not a variable name (letters, digits, _)"));
    }
    Ok((key.to_string(), value.to_string()))
}

/// Where imports are looked for after the playbook's own folder, in order: the `--lib` folders, `RUNNER_LIB`
/// (colon-separated, as `ANSIBLE_LIBRARY`), runner.toml's `lib_path`, then the built-in playbooks, so that
/// `import "lib/storeconnect"` works from any folder.
pub fn module_roots(ctx: &Context, lib: &[PathBuf], config: Option<&Path>) -> Result<Vec<PlaybookRoot>, ConfigError> {
    let mut dirs: Vec<PathBuf> = lib.to_vec();
    if let Some(paths) = std::env::var_os("RUNNER_LIB") {
        dirs.extend(std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.extend(crate::target::config_lib_path(config)?);
    let mut roots: Vec<PlaybookRoot> = dirs.into_iter().map(|dir| PlaybookRoot::Dir { dir }).collect();
    roots.push(PlaybookRoot::Embedded { files: ctx.playbooks, dir: String::new() });
    Ok(roots)
}

/// Why a playbook cannot run: the module search path could not be read (it has said why, and how the command
/// ends), or the playbook does not load or `check` finds problems in it.
pub enum Preflight {
    Config(Outcome),
    Findings(Vec<PlaybookError>),
}

/// Loads `name` with the module search path and checks it, before any org is touched.
pub fn preflight(ctx: &Context, name: &str, lib: &[PathBuf], config: Option<&Path>) -> Result<Playbook, Preflight> {
    let roots = match module_roots(ctx, lib, config) {
        Ok(roots) => roots,
        // As a bad runner.toml met when resolving an org.
        Err(err) => {
            eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
            return Err(Preflight::Config(Outcome::Unreachable));
        }
    };
    let playbook = load_playbook(ctx, name, &roots).map_err(|err| Preflight::Findings(vec![err]))?;
    let findings = playbook.check(&ctx.steps);
    if findings.is_empty() { Ok(playbook) } else { Err(Preflight::Findings(findings)) }
}

/// Finds a playbook (a file that exists, else a built-in one of that name) and gives it `lib` to import from.
pub fn load_playbook(ctx: &Context, name: &str, lib: &[PlaybookRoot]) -> Result<Playbook, PlaybookError> {
    Ok(find_playbook(ctx, name)?.with_lib(lib.iter().cloned()))
}

fn find_playbook(ctx: &Context, name: &str) -> Result<Playbook, PlaybookError> {
    let path = Path::new(name);
    if path.is_file() {
        return Playbook::load_file(path);
    }
    if path.is_dir() {
        return Err(PlaybookError::plain(
            "runner::playbook::not_found",
            format!("{name} is a folder, not a playbook file"),
        )
        .with_help("give the playbook's .rhai file, e.g. scripts/setup.rhai"));
    }
    let builtin = name.trim_start_matches("./").trim_start_matches("scripts/");
    if let Some(entry) = crate::builtin::find(ctx.playbooks, builtin) {
        return Playbook::load_embedded(ctx.playbooks, entry);
    }
    Err(PlaybookError::plain(
        "runner::playbook::not_found",
        format!("no playbook at {name}, and no built-in playbook of that name"),
    )
    .with_help("`runner playbooks` lists the built-in playbooks"))
}

pub fn check(ctx: &Context, playbooks: &[String], lib: &[PathBuf]) -> Outcome {
    let roots = match module_roots(ctx, lib, None) {
        Ok(roots) => roots,
        Err(err) => {
            eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
            return Outcome::Unreachable;
        }
    };
    let mut findings = 0usize;
    for name in playbooks {
        match load_playbook(ctx, name, &roots) {
            Err(err) => {
                findings += 1;
                eprintln!("{:?}", Report::new(err));
            }
            Ok(playbook) => {
                let found = playbook.check(&ctx.steps);
                findings += found.len();
                for finding in found {
                    eprintln!("{:?}", Report::new(finding));
                }
                if findings == 0 {
                    println!("{}: ok", playbook.name());
                }
            }
        }
    }
    if findings == 0 {
        Outcome::Done
    } else {
        eprintln!("{findings} finding(s)");
        Outcome::InvalidPlaybook
    }
}

pub async fn play(ctx: &Context, args: PlayArgs) -> Outcome {
    // From here on SIGINT, SIGTERM and a closed stdout stop the runs cleanly (see crate::interrupt).
    let interrupt = Interrupt::default();
    crate::interrupt::watch(interrupt.clone());
    crate::stdout::stop_runs_on_close(interrupt.clone());
    let registry = ctx.steps.clone();
    // Pre-flight before touching any org: a typo should not cost a half-run.
    let playbook = match preflight(ctx, &args.playbook, &args.lib, args.config.as_deref()) {
        Ok(playbook) => playbook,
        Err(Preflight::Config(outcome)) => return outcome,
        Err(Preflight::Findings(findings)) => {
            if args.json {
                let infos: Vec<_> = findings.iter().map(PlaybookError::info).collect();
                println!("{}", crate::output::render_invalid_json(exit::code(Outcome::InvalidPlaybook), &infos));
            }
            for finding in findings {
                eprintln!("{:?}", Report::new(finding));
            }
            eprintln!("the playbook has problems; no org was touched (`runner check {}`)", args.playbook);
            return Outcome::InvalidPlaybook;
        }
    };
    // A report that could not be written at the end is refused now, before any org is touched.
    let report_paths = [(args.junit.as_deref(), "--junit"), (args.summary.as_deref(), "--summary")];
    for (path, what) in report_paths {
        if let Some(path) = path
            && let Err(err) = crate::reports::check_path(path, what)
        {
            eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
            return Outcome::BadInput;
        }
    }
    let started = (std::time::SystemTime::now(), Instant::now());
    let selected = match select_orgs(&OrgSelection {
        orgs: &args.orgs,
        config: args.config.as_deref(),
        shard: args.shard,
        vars: &args.vars,
    }) {
        Ok(selected) => selected,
        Err(outcome) => return outcome,
    };
    let org_targets: Vec<String> = selected.iter().map(|org| org.target_text.clone()).collect();
    let journal_path = args.journal.clone().unwrap_or_else(default_journal_path);
    let journal = match Journal::open(&journal_path) {
        Ok(journal) => Arc::new(journal),
        // As a journal that fails mid-run: the run stops before its first write (the README's promise since
        // journals exist), though no org was touched.
        Err(err) => {
            eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
            return Outcome::PlaybookStopped;
        }
    };
    let progress = Arc::new(FleetProgress::new(selected.len(), args.json));
    let human = Arc::new(HumanOutput::new(selected.len() > 1, args.check).with_progress(progress.clone()));
    let observer: Arc<dyn RunObserver> = if args.json { Arc::new(crate::output::StderrPrints) } else { human.clone() };
    let options = RunOptions {
        check_mode: args.check,
        vars: IndexMap::new(),
        journal: Some(journal.clone()),
        observer: Some(observer),
        limits: Limits { timeout: args.timeout, ..Default::default() },
        interrupt: interrupt.clone(),
    };
    let playbook = Arc::new(playbook);
    let limit = Arc::new(Semaphore::new(args.jobs as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, SelectedOrg { name: label, target, vars, .. }) in selected.into_iter().enumerate() {
        let (playbook, registry, limit, progress) =
            (playbook.clone(), registry.clone(), limit.clone(), progress.clone());
        let options = RunOptions { vars, ..options.clone() };
        let connect_options = ConnectOptions {
            request_timeout: args.request_timeout,
            sim_seeds: ctx.sim_seeds.clone(),
            config: args.config.clone(),
        };
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            progress.started();
            let done = run_one(label, target, playbook, registry, options, connect_options).await;
            progress.finished(&done.0);
            (index, done)
        });
    }
    let mut reports: Vec<(usize, (OrgReport, Option<Report>))> = Vec::new();
    let mut lost = false;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(done) => reports.push(done),
            Err(err) => {
                // Its report is gone with it: the run must not pass for having run to the end.
                lost = true;
                eprintln!("{}: an org's run stopped unexpectedly: {err}", ctx.name);
            }
        }
    }
    progress.finish();
    reports.sort_by_key(|(index, _)| *index);
    let mut outcome = exit::of_orgs(reports.iter().map(|(_, (r, _))| r));
    // A write whose result could not be journaled fails the run, even when it was the last.
    let journal_failure = journal.failure();
    if (journal_failure.is_some() || lost) && outcome == Outcome::Done {
        outcome = Outcome::PlaybookStopped;
    }
    let info = crate::reports::RunInfo {
        version: ctx.version.unwrap_or(env!("CARGO_PKG_VERSION")),
        playbook: playbook.name().to_string(),
        check_mode: args.check,
        started: started.0,
        duration: started.1.elapsed(),
        targets: org_targets,
    };
    // Written before the JSON document, whose status must say if they could not be: a CI job that reads a
    // green status must find its reports.
    if !write_reports(&args, &info, reports.iter().map(|(_, (r, _))| r))
        && matches!(outcome, Outcome::Done | Outcome::Drift)
    {
        outcome = Outcome::PlaybookStopped;
    }
    if args.json {
        let reports: Vec<OrgReport> = reports.into_iter().map(|(_, (r, _))| r).collect();
        println!("{}", render_json(exit::code(outcome), info.json(&reports), &reports, &[]));
        eprintln!("journal: {}", journal.path().display());
    } else {
        let several = reports.len() > 1;
        for (_, (report, diagnostic)) in &reports {
            human.recap(report);
            if let Some(diagnostic) = diagnostic {
                if several {
                    eprintln!("error in {}:", report.target);
                }
                eprintln!("{}", crate::output::redacted_report(diagnostic));
            }
        }
        if several {
            let reports: Vec<OrgReport> = reports.iter().map(|(_, (r, _))| r.clone()).collect();
            println!("{}", crate::progress::fleet_table(&reports, std::io::stdout().is_terminal()));
        }
        println!("journal: {}", journal.path().display());
    }
    if let Some(failure) = journal_failure {
        eprintln!("{}", crate::output::redacted_report(&Report::new(failure)));
    }
    match interrupt.cause() {
        Some(Cause::BrokenPipe) => Outcome::Interrupted(Cause::BrokenPipe),
        Some(cause) => {
            eprintln!(
                "{}: stopped by {}: no write was sent after it; {} lists every request sent. Run the playbook \
                 again to finish: it picks up where the org stands.",
                ctx.name,
                cause.describe(),
                journal.path().display()
            );
            Outcome::Interrupted(cause)
        }
        None => outcome,
    }
}

/// Writes `--junit` and `--summary`, each whole; says on stderr why one could not be. False when one failed.
fn write_reports<'a>(
    args: &PlayArgs,
    info: &crate::reports::RunInfo,
    reports: impl Iterator<Item = &'a OrgReport>,
) -> bool {
    if args.junit.is_none() && args.summary.is_none() {
        return true;
    }
    let reports: Vec<OrgReport> = reports.cloned().collect();
    let mut written = true;
    let mut failed = |err: crate::reports::ReportError| {
        eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
        written = false;
    };
    if let Some(path) = &args.junit {
        let result = crate::reports::junit(info, &reports)
            .map_err(|source| crate::reports::ReportError::Write { path: path.clone(), what: "--junit", source })
            .and_then(|xml| crate::reports::write_whole(path, "--junit", &xml));
        if let Err(err) = result {
            failed(err);
        }
    }
    if let Some(path) = &args.summary
        && let Err(err) = crate::reports::append(path, "--summary", &crate::reports::summary(info, &reports))
    {
        failed(err);
    }
    written
}

/// What selects a command's orgs: `--org` values, `--config`, `--shard` and `--var`.
pub struct OrgSelection<'a> {
    pub orgs: &'a [String],
    pub config: Option<&'a Path>,
    pub shard: Option<Shard>,
    pub vars: &'a [(String, String)],
}

/// One org a command runs against, with the variables it gets.
pub struct SelectedOrg {
    /// Its name of its own in this run (`sim#2`).
    pub name: String,
    /// What selected it (`--org` or a group's member).
    pub target_text: String,
    pub target: Target,
    /// Its vars: groups', its own, then `--var`, with `{org}` expanded.
    pub vars: IndexMap<String, String>,
}

/// The orgs of a command line, each with its vars; on failure it has said why on stderr, and answers how the
/// command ends.
pub fn select_orgs(selection: &OrgSelection<'_>) -> Result<Vec<SelectedOrg>, Outcome> {
    // The inventory is read only when something needs it, so that `--org sim` runs whatever runner.toml is
    // around, as before there were groups.
    let explicit = selection.config.is_some();
    let needs_inventory = explicit
        || selection.orgs.iter().any(|o| o.starts_with('@') || matches!(Target::parse(o), Ok(Target::Named(_))));
    let files = crate::target::config_files(selection.config);
    let inventory = if needs_inventory {
        match Inventory::load(&files, explicit) {
            Ok(inventory) => inventory,
            Err(err) => return Err(inventory_failed(err, explicit)),
        }
    } else {
        Inventory::default()
    };
    let mut selected = match inventory.select(selection.orgs) {
        Ok(selected) => selected,
        Err(err) => return Err(inventory_failed(err, explicit)),
    };
    if let Some(shard) = selection.shard {
        let of = selected.len();
        selected = shard_of(selected, shard);
        eprintln!("shard {}/{}: {} of {of} org(s)", shard.index, shard.count, selected.len());
    }
    let names = org_names(&selected);
    let mut targets = Vec::new();
    for org in &selected {
        match Target::parse(org) {
            Ok(target) => targets.push(target),
            Err(err) => {
                eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
                return Err(Outcome::BadInput);
            }
        }
    }
    // Lowest precedence first: the org's groups' vars, its own, then --var. The playbook's own defaults
    // (`vars.x ?? …`) apply to what none of them sets.
    let layered: Vec<crate::vars::OrgVars> = selected
        .iter()
        .zip(&names)
        .map(|(org, name)| {
            let mut vars = inventory.vars_for(org);
            vars.extend(selection.vars.iter().map(|(k, v)| (k.clone(), v.clone(), crate::vars::command_line())));
            crate::vars::OrgVars { name: name.clone(), vars }
        })
        .collect();
    // Refused before anything runs: a credentials file shared by two orgs ends with every org but one holding
    // secrets that nobody has.
    let per_org_vars = match crate::vars::per_org(&layered) {
        Ok(vars) => vars,
        Err(err) => {
            eprintln!("{:?}", Report::new(*err));
            return Err(Outcome::BadInput);
        }
    };
    Ok(selected
        .into_iter()
        .zip(names)
        .zip(targets)
        .zip(per_org_vars)
        .map(|(((target_text, name), target), vars)| SelectedOrg { name, target_text, target, vars })
        .collect())
}

/// runner.toml cannot give the run its orgs: nothing ran. A group that is not there, or a `--config` file that
/// cannot be read, is the command line's mistake (2); a runner.toml that is wrong is, as for connecting to a
/// named org in it, an org that could not be resolved (4).
fn inventory_failed(err: ConfigError, explicit: bool) -> Outcome {
    let outcome = match &err {
        ConfigError::UnknownGroup { .. } => Outcome::BadInput,
        ConfigError::Read { .. } if explicit => Outcome::BadInput,
        _ => Outcome::Unreachable,
    };
    eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
    outcome
}

/// Connects to one target and runs the playbook there. Never fails: a failure is in the report.
async fn run_one(
    label: String,
    target: Target,
    playbook: Arc<Playbook>,
    registry: Registry,
    options: RunOptions,
    connect_options: ConnectOptions,
) -> (OrgReport, Option<Report>) {
    let started = Instant::now();
    let connection = match connect(&target, &connect_options).await {
        Ok(connection) => connection,
        Err(err) => return connect_failed(&label, err, started),
    };
    let ran = connect_and_run(playbook, registry, connection.client.clone(), &label, connection.simulated, options);
    let report = match ran.await {
        Ok((_, report)) => report,
        Err(err) => return connect_failed(&label, err, started),
    };
    if let Some(sim) = connection.sim {
        sim.shutdown().await;
    }
    let diagnostic = report.diagnostic.clone().map(|d| Report::new(d.as_ref().clone()));
    (report, diagnostic)
}

fn connect_failed<E: miette::Diagnostic + Send + Sync + 'static>(
    label: &str,
    err: E,
    started: Instant,
) -> (OrgReport, Option<Report>) {
    let info = FailureInfo {
        code: err.code().map(|c| c.to_string()).unwrap_or_else(|| "runner::target::connect".into()),
        message: err.to_string(),
        error_code: None,
        fields: Vec::new(),
        hint: err.help().map(|h| h.to_string()),
        location: None,
    };
    let report = connect_failure_report(label, info, started.elapsed().as_millis() as u64);
    (report, Some(Report::new(err)))
}

fn default_journal_path() -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string().replace(':', "-");
    crate::state_dir().join("journal").join(format!("{stamp}-{}.jsonl", std::process::id()))
}

trait WithHelp {
    fn with_help(self, help: &str) -> Self;
}

impl WithHelp for PlaybookError {
    fn with_help(mut self, help: &str) -> Self {
        self.help = Some(help.to_string());
        self
    }
}
