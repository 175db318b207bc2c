//! `runner report`: the handover document for a client. It audits the org (the audit playbook, which writes
//! nothing), reads the sync user's set-up, and writes one Markdown or HTML document that says what a
//! consultant hands over: who the sync user is, what it holds, whether it can sign in, and where its
//! credentials are kept. It never holds a secret.

mod read;
mod render;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use miette::Report;
use tokio::sync::Semaphore;

use crate::Context;
use crate::engine::{RunOptions, connect_and_run};
use crate::exit::Outcome;
use crate::play::{OrgSelection, Preflight, SelectedOrg, preflight, select_orgs};
use crate::target::{ConnectOptions, connect};

#[derive(Args)]
pub struct ReportArgs {
    /// The org(s): as for `runner play` (`@GROUP` included). Several need `--out` with `{org}` in it.
    #[arg(short = 'o', long = "org", default_value = "sim")]
    pub orgs: Vec<String>,
    /// Read this runner.toml instead of the working directory's and the user's.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A variable, `key=value`, as for `runner play`: `username` (default: the user StoreConnect is configured
    /// with), `credentials_file`, `default_<Object>` for the audit.
    #[arg(long = "var", value_parser = crate::play::parse_var)]
    pub vars: Vec<(String, String)>,
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Write the document to FILE (replaced whole, mode 0600; a symbolic link is refused) instead of standard
    /// output. `{org}` stands for each org's name: `--out handover/{org}.html`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
    /// The audit playbook whose result the document gives.
    #[arg(long, default_value = "audit.rhai")]
    pub audit: String,
    /// How many orgs are read at once.
    #[arg(short = 'j', long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// How long one request to an org may take, retries included.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Markdown, for a wiki, a ticket or a repository.
    Md,
    /// One self-contained HTML page: no script, nothing loaded from elsewhere.
    Html,
    /// The facts as one JSON object, for other tools.
    Json,
}

pub async fn report(ctx: &Context, args: ReportArgs) -> Outcome {
    let audit = match preflight(ctx, &args.audit, &[], args.config.as_deref()) {
        Ok(playbook) => Arc::new(playbook),
        Err(Preflight::Config(outcome)) => return outcome,
        Err(Preflight::Findings(findings)) => {
            for finding in findings {
                eprintln!("{:?}", Report::new(finding));
            }
            return Outcome::InvalidPlaybook;
        }
    };
    let selected = match select_orgs(&OrgSelection {
        orgs: &args.orgs,
        config: args.config.as_deref(),
        shard: None,
        vars: &args.vars,
    }) {
        Ok(selected) => selected,
        Err(outcome) => return outcome,
    };
    let outs: Vec<Option<PathBuf>> = match out_paths(&args, &selected) {
        Ok(outs) => outs,
        Err(message) => {
            eprintln!("{}: {message}", ctx.name);
            return Outcome::BadInput;
        }
    };
    for path in outs.iter().flatten() {
        if let Err(err) = crate::reports::check_path(path, "--out") {
            eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
            return Outcome::BadInput;
        }
    }
    let limit = Arc::new(Semaphore::new(args.jobs as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, org) in selected.into_iter().enumerate() {
        let (audit, limit, registry) = (audit.clone(), limit.clone(), ctx.steps.clone());
        let connect_options = ConnectOptions {
            request_timeout: args.request_timeout,
            sim_seeds: ctx.sim_seeds.clone(),
            config: args.config.clone(),
        };
        let version = ctx.version.unwrap_or(env!("CARGO_PKG_VERSION")).to_string();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (index, one_org(org, audit, registry, connect_options, version).await)
        });
    }
    let mut documents = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(done) => documents.push(done),
            Err(err) => {
                eprintln!("{}: an org's report stopped unexpectedly: {err}", ctx.name);
                return Outcome::Internal;
            }
        }
    }
    documents.sort_by_key(|(index, _)| *index);
    let mut outcome = Outcome::Done;
    for ((_, document), out) in documents.into_iter().zip(outs) {
        let handover = match document {
            Ok(handover) => handover,
            Err((org, err)) => {
                eprintln!("{org}: no report: {}", crate::output::redacted_report(&err));
                outcome = Outcome::Unreachable;
                continue;
            }
        };
        let text = match args.format {
            Format::Md => render::markdown(&render::document(&handover)),
            Format::Html => render::html(&render::document(&handover)),
            Format::Json => serde_json::to_string_pretty(&handover).unwrap_or_default() + "\n",
        };
        // Nothing secret was put in, and the run's secrets are cut out all the same.
        let text = runner_core::redact::text(&text).into_owned();
        match out {
            None => print!("{text}"),
            Some(path) => match crate::reports::write_whole(&path, "--out", text.as_bytes()) {
                Ok(()) => eprintln!("{}: report written to {}", handover.org, path.display()),
                Err(err) => {
                    eprintln!("{}", crate::output::redacted_report(&Report::new(err)));
                    outcome = Outcome::BadInput;
                }
            },
        }
    }
    outcome
}

/// Each org's `--out`: one document per file, so several orgs need `{org}` in it, and stdout takes one.
fn out_paths(args: &ReportArgs, selected: &[SelectedOrg]) -> Result<Vec<Option<PathBuf>>, String> {
    match &args.out {
        None if selected.len() > 1 => Err(format!(
            "{} orgs make {} documents: give --out with {{org}} in it, e.g. --out handover/{{org}}.{}",
            selected.len(),
            selected.len(),
            extension(args.format)
        )),
        None => Ok(vec![None]),
        Some(out) if selected.len() > 1 && !out.contains(crate::vars::ORG_PLACEHOLDER) => Err(format!(
            "{} orgs would write one file, {out}: put {{org}} in it, e.g. --out handover/{{org}}.{}",
            selected.len(),
            extension(args.format)
        )),
        Some(out) => {
            let paths: Vec<PathBuf> = selected
                .iter()
                .map(|org| PathBuf::from(crate::vars::expand(out, &crate::vars::org_slug(&org.name))))
                .collect();
            // Two names that make one file name (`a:b`, `a_b`): the second document would replace the first.
            for (i, path) in paths.iter().enumerate() {
                if let Some(j) = paths[..i].iter().position(|p| p == path) {
                    return Err(format!(
                        "{} and {} would both write {}: name the orgs so that their file names differ",
                        selected[j].name,
                        selected[i].name,
                        path.display()
                    ));
                }
            }
            Ok(paths.into_iter().map(Some).collect())
        }
    }
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Md => "md",
        Format::Html => "html",
        Format::Json => "json",
    }
}

type OrgDocument = Result<read::Handover, (String, Report)>;

/// Connects, audits (in check mode: the audit writes nothing either way) and reads the set-up concurrently.
async fn one_org(
    org: SelectedOrg,
    audit: Arc<crate::engine::Playbook>,
    registry: crate::engine::Registry,
    connect_options: ConnectOptions,
    version: String,
) -> OrgDocument {
    let name = org.name.clone();
    let connection = connect(&org.target, &connect_options).await.map_err(|e| (name.clone(), Report::new(e)))?;
    let options = RunOptions { check_mode: true, vars: org.vars.clone(), ..RunOptions::default() };
    let audited_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let audit_name = audit.name().to_string();
    // The document's reads need none of the facts: they go out with connecting and the audit's first reads.
    let audit_run =
        connect_and_run(audit, registry, connection.client.clone(), &org.name, connection.simulated, options);
    let (ran, reads) = tokio::join!(audit_run, read::read(&connection.client, &org.vars, &version));
    // An org that cannot be reached is that first, whatever the document's reads met.
    let (facts, audit_report) = ran.map_err(|e| (name.clone(), Report::new(e)))?;
    let mut handover = reads.map_err(|e| (name.clone(), Report::new(e)))?;
    handover.set_org(&facts);
    handover.audit = read::audit_part(&audit_report, &audit_name, audited_at);
    if let Some(sim) = connection.sim {
        sim.shutdown().await;
    }
    Ok(handover)
}
