//! The command line: its parsing, and one function per command.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::exit::Outcome;
use crate::{
    Context, brand, builtin, credentials, handover, init, interrupt, output, play, sim_cert, sim_fleet, stdout, target,
    trust,
};

#[derive(Parser)]
#[command(
    name = "runner",
    version,
    about = "Sets up and maintains the StoreConnect sync user in Salesforce orgs, from Rhai playbooks."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a playbook against one or more orgs.
    Play(play::PlayArgs),
    /// Compile and pre-flight playbooks without touching any org; report every finding.
    Check {
        /// Playbook files (or names of built-in playbooks).
        #[arg(required = true)]
        playbooks: Vec<String>,
        /// A folder to look for imported modules in, after the playbook's own (repeatable; before RUNNER_LIB and
        /// runner.toml's lib_path).
        #[arg(long = "lib", value_name = "DIR")]
        lib: Vec<std::path::PathBuf>,
    },
    /// Write the handover document of an org's sync user (Markdown or one HTML page): the user, its licences
    /// and permission sets, sign-in, record-type defaults, StoreConnect's configured user, an audit, and where
    /// the credentials are kept. Never a secret.
    Report(handover::ReportArgs),
    /// List the native steps, or describe one with its parameters.
    Steps { name: Option<String> },
    /// The simulated Salesforce org.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    /// TOTP helpers for the sync user's verification method.
    Totp {
        #[command(subcommand)]
        command: TotpCommand,
    },
    /// The sync user's credentials file.
    Credentials {
        #[command(subcommand)]
        command: CredentialsCommand,
    },
    /// List the playbooks built into the binary.
    Playbooks,
    /// Copy the built-in playbooks into DIR (default ./scripts) to customise them; never through a symlink.
    Init {
        #[arg(default_value = "scripts")]
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
    /// Trust a runner.toml (default ./runner.toml) as it is now: one outside ~/.config/runner/ is used only once
    /// trusted, and again only after an edit is trusted.
    Trust(trust::TrustArgs),
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

#[derive(Subcommand)]
enum SimCommand {
    /// Serve a simulated org on 127.0.0.1 until interrupted.
    Serve(SimServeArgs),
}

#[derive(Subcommand)]
enum TotpCommand {
    /// Print the current 6-digit code, for the first login as the sync user.
    Code {
        /// The sync user's credentials file, or the TOTP secret file an older `verify` wrote (mode 0600).
        #[arg(long)]
        secret_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum CredentialsCommand {
    /// Print the username, password, current TOTP code and login URL, for the first login
    /// and StoreConnect's Console. Prints the secrets: mind who is watching the screen.
    Show {
        /// The credentials file (mode 0600).
        #[arg(long)]
        file: PathBuf,
        /// One JSON object: username, password, totp_code, valid_for_s, login_url (null when missing).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct SimServeArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The access token clients must send (random when not given). Also from
    /// RUNNER_SIM_TOKEN or --token-file, which `ps` does not show.
    #[arg(long, env = "RUNNER_SIM_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file (mode 0600) holding the access token clients must send.
    #[arg(long, conflicts_with = "token")]
    token_file: Option<PathBuf>,
    /// The seed org.
    #[arg(long, default_value = "storeconnect")]
    scenario: runner_sim::Scenario,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests that fail with a 503 or a dropped connection (0.0–1.0).
    #[arg(long, default_value_t = 0.0, value_parser = runner_sim::parse_fail_rate)]
    fail_rate: f64,
    /// Seed of the fault RNG.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Revoke the token after this many API calls.
    #[arg(long)]
    expire_token_after: Option<u64>,
    /// Refuse calls with REQUEST_LIMIT_EXCEEDED after this many.
    #[arg(long)]
    api_limit: Option<u64>,
    /// Answer a query inside a /composite request from the org as it was before that
    /// request's writes: the strictest reading of what Salesforce leaves undocumented.
    #[arg(long)]
    composite_reads_before_writes: bool,
    /// Serve HTTPS with a certificate made now for 127.0.0.1 and localhost.
    #[arg(long)]
    tls: bool,
    /// Where to write the certificate to trust, as PEM (with --tls; default: a new private folder in the temp
    /// dir, removed when the sim stops). Never written through a symlink.
    #[arg(long, requires = "tls")]
    cert_file: Option<PathBuf>,
    /// A PEM certificate for the JWT bearer flow (the connected app's); repeatable.
    #[arg(long)]
    jwt_cert: Vec<PathBuf>,
    /// The connected app's consumer key, for OAuth client credentials and JWT (with a
    /// client secret).
    #[arg(long)]
    client_id: Option<String>,
    /// The connected app's consumer secret (with --client-id). Also from
    /// RUNNER_SIM_CLIENT_SECRET or --client-secret-file.
    #[arg(long, env = "RUNNER_SIM_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// A file (mode 0600) holding the connected app's consumer secret.
    #[arg(long, conflicts_with = "client_secret")]
    client_secret_file: Option<PathBuf>,
    /// A refresh token the token endpoint accepts (random when not given). Also from
    /// RUNNER_SIM_REFRESH_TOKEN or --refresh-token-file.
    #[arg(long, env = "RUNNER_SIM_REFRESH_TOKEN", hide_env_values = true)]
    refresh_token: Option<String>,
    /// A file (mode 0600) holding a refresh token the token endpoint accepts.
    #[arg(long, conflicts_with = "refresh_token")]
    refresh_token_file: Option<PathBuf>,
    /// A seed file (JSON, or TOML when named *.toml) of objects, fields and records
    /// added after the scenario's seed; repeatable, applied in order.
    #[arg(long, value_name = "FILE")]
    seed_file: Vec<PathBuf>,
    /// Serve this many independent simulated orgs (each its own port, data, token and
    /// client secret), with their inventory in --config-out.
    #[arg(long, requires = "config_out", value_parser = clap::value_parser!(u32).range(1..=1000),
          conflicts_with_all = FLEET_CONFLICTS)]
    orgs: Option<u32>,
    /// Write a runner.toml for the orgs served (sim-1 … sim-N, group `sim`, a username and
    /// email each); their client secrets go beside it in files of mode 0600. Replaces only a
    /// file runner sim serve wrote.
    #[arg(long, value_name = "FILE", conflicts_with_all = FLEET_CONFLICTS)]
    config_out: Option<PathBuf>,
}

/// What a fleet's orgs choose each for themselves (a port, their secrets), or what its
/// runner.toml cannot pass on (a certificate to trust). --token, --client-secret and
/// --refresh-token are not here, since clap would count their RUNNER_SIM_* variables as
/// given: a fleet warns that it ignores them instead.
const FLEET_CONFLICTS: [&str; 7] =
    ["port", "token_file", "client_id", "client_secret_file", "refresh_token_file", "tls", "cert_file"];

/// The command line as clap sees it, under the running binary's name.
fn command(ctx: &Context) -> clap::Command {
    let mut command = Cli::command().name(ctx.name).bin_name(ctx.name);
    if let Some(about) = ctx.about {
        command = command.about(about);
    }
    if let Some(version) = ctx.version {
        command = command.version(version);
    }
    command
}

/// Parses `args` (the program's name first) and runs the command they name.
pub(crate) fn run(ctx: &Context, args: Vec<std::ffi::OsString>) -> Outcome {
    let parsed = command(ctx).try_get_matches_from(args).and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        // Printed here rather than by clap, so that its help names the running binary (see crate::brand).
        Err(err) => return clap_error(&err),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{}: cannot start the async runtime: {err}", ctx.name);
            return Outcome::Internal;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Play(args) => play::play(ctx, args).await,
            Command::Check { playbooks, lib } => play::check(ctx, &playbooks, &lib),
            Command::Report(args) => handover::report(ctx, args).await,
            Command::Steps { name } => output::steps(&ctx.steps, name.as_deref()),
            Command::Sim { command: SimCommand::Serve(args) } => sim_serve(ctx, args).await,
            Command::Totp { command: TotpCommand::Code { secret_file } } => credentials::totp_code(&secret_file),
            Command::Credentials { command: CredentialsCommand::Show { file, json } } => credentials::show(&file, json),
            Command::Playbooks => {
                for (path, text) in builtin::listed(ctx.playbooks) {
                    println!("{path:<24} {}", builtin::summary(text));
                }
                Outcome::Done
            }
            Command::Init { dir, force } => init::init(ctx.playbooks, &dir, force),
            Command::Trust(args) => trust::run(args),
            Command::Completions { shell } => {
                // Into memory first: clap_complete panics when a write fails.
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut command(ctx), ctx.name, &mut script);
                stdout::bytes(&script);
                Outcome::Done
            }
        }
    })
}

/// Help and version on stdout, a usage error on stderr; coloured as clap would colour them.
fn clap_error(err: &clap::Error) -> Outcome {
    use std::io::IsTerminal as _;
    let terminal = if err.use_stderr() { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() };
    let rendered = err.render();
    let text = if terminal && std::env::var_os("NO_COLOR").is_none() {
        rendered.ansi().to_string()
    } else {
        rendered.to_string()
    };
    let text = text.trim_end();
    if err.use_stderr() {
        eprintln!("{text}");
        Outcome::BadInput
    } else {
        println!("{text}");
        Outcome::Done
    }
}

/// A secret of `runner sim serve`: given as is (an option or its environment
/// variable), or read from a private file.
fn sim_secret(value: Option<String>, file: Option<&std::path::Path>, what: &str) -> Result<Option<String>, Outcome> {
    let Some(path) = file else { return Ok(value) };
    match target::read_secret_file(path, what) {
        Ok(secret) => Ok(Some(secret)),
        Err(err) => {
            eprintln!("{}", output::redacted_report(&miette::Report::new(err)));
            Err(Outcome::BadInput)
        }
    }
}

async fn sim_serve(ctx: &Context, args: SimServeArgs) -> Outcome {
    // The binary's own seeds first, so that a --seed-file may add records to the objects they add.
    let mut config = runner_sim::SimConfig {
        port: args.port,
        scenario: args.scenario,
        seed_files: ctx.sim_seeds.clone(),
        ..Default::default()
    };
    if args.config_out.is_some()
        && (args.token.is_some() || args.client_secret.is_some() || args.refresh_token.is_some())
    {
        eprintln!(
            "{}: warning: with --orgs each org has a token and secrets of its own; --token, --client-secret, \
                 --refresh-token and RUNNER_SIM_TOKEN, RUNNER_SIM_CLIENT_SECRET, RUNNER_SIM_REFRESH_TOKEN are ignored",
            brand::name()
        );
    }
    // A fleet's orgs each make their own (serve_fleet); the warning above says these go unused.
    let (token_arg, client_secret_arg, refresh_token_arg) = if args.config_out.is_some() {
        (None, None, None)
    } else {
        (args.token, args.client_secret, args.refresh_token)
    };
    let secrets = (
        sim_secret(token_arg, args.token_file.as_deref(), "token"),
        sim_secret(client_secret_arg, args.client_secret_file.as_deref(), "client secret"),
        sim_secret(refresh_token_arg, args.refresh_token_file.as_deref(), "refresh token"),
    );
    let (token, client_secret, refresh_token) = match secrets {
        (Ok(token), Ok(client_secret), Ok(refresh_token)) => (token, client_secret, refresh_token),
        (Err(code), _, _) | (_, Err(code), _) | (_, _, Err(code)) => return code,
    };
    if let Some(token) = token {
        config.token = token;
    }
    match (args.client_id, client_secret) {
        (Some(client_id), Some(client_secret)) => {
            config.oauth_clients = vec![runner_sim::OAuthClient { client_id, client_secret }];
        }
        (None, None) => {}
        (Some(_), None) => {
            eprintln!(
                "{}: --client-id needs a client secret (--client-secret, RUNNER_SIM_CLIENT_SECRET or --client-secret-file)",
                brand::name()
            );
            return Outcome::BadInput;
        }
        (None, Some(_)) => {
            eprintln!("{}: a client secret needs --client-id", brand::name());
            return Outcome::BadInput;
        }
    }
    if let Some(refresh_token) = refresh_token {
        config.refresh_tokens = vec![refresh_token];
    }
    config.faults = runner_sim::Faults {
        latency_ms: args.latency_ms,
        fail_rate: args.fail_rate,
        seed: args.seed,
        expire_token_after: args.expire_token_after,
        api_limit: args.api_limit,
        composite_reads_before_writes: args.composite_reads_before_writes,
    };
    config.tls = args.tls;
    for path in &args.jwt_cert {
        match std::fs::read_to_string(path) {
            Ok(pem) => config.jwt_certificates.push(pem),
            Err(err) => {
                eprintln!("{}: cannot read the JWT certificate {}: {err}", brand::name(), path.display());
                return Outcome::BadInput;
            }
        }
    }
    for path in &args.seed_file {
        match runner_sim::SeedFile::load(path) {
            Ok(file) => config.seed_files.push(file),
            Err(err) => {
                eprintln!("{}: {err}", brand::name());
                return Outcome::BadInput;
            }
        }
    }
    if let Some(config_out) = &args.config_out {
        return serve_fleet(config, args.orgs.unwrap_or(1), config_out).await;
    }
    let handle = match runner_sim::start(config).await {
        Ok(handle) => handle,
        Err(err) => {
            eprintln!("{}: cannot start the simulated org: {err}", brand::name());
            return Outcome::Unreachable;
        }
    };
    // Kept until the sim stops: a private folder made for the certificate is removed then.
    let mut _cert = None;
    if let Some(pem) = handle.certificate_pem() {
        match sim_cert::write(pem, args.cert_file.as_deref()) {
            Ok(written) => {
                println!("certificate: {}", written.path.display());
                _cert = Some(written);
            }
            Err(err) => {
                eprintln!("{:?}", miette::Report::new(err));
                return Outcome::Unreachable;
            }
        }
    }
    println!("instance url: {}", handle.instance_url());
    println!("token: {}", handle.token());
    println!("scenario: {}", args.scenario);
    println!(
        "try: SF_ACCESS_TOKEN={} {} play scripts/examples/hello.rhai --org {}",
        handle.token(),
        brand::name(),
        handle.instance_url()
    );
    // Flushing matters: scripts wait for these lines before connecting.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    interrupt::until_interrupted().await;
    handle.shutdown().await;
    Outcome::Done
}

/// `runner sim serve --orgs N --config-out FILE`: N orgs like `base`, each with secrets of its own.
async fn serve_fleet(base: runner_sim::SimConfig, orgs: u32, config_out: &std::path::Path) -> Outcome {
    let mut handles = Vec::new();
    let mut fleet = Vec::new();
    for k in 1..=orgs as usize {
        // A fresh default for each: a random token, refresh token and client secret of its own.
        let fresh = runner_sim::SimConfig::default();
        let random = fresh.oauth_clients.first().map(|c| c.client_secret.clone()).unwrap_or_default();
        let client_secret = sim_fleet::client_secret(&random);
        let mut config = base.clone();
        config.port = 0;
        config.token = fresh.token;
        config.refresh_tokens = fresh.refresh_tokens;
        config.oauth_clients = vec![runner_sim::OAuthClient {
            client_id: sim_fleet::CLIENT_ID.to_string(),
            client_secret: client_secret.clone(),
        }];
        // Each org its own fault sequence, still reproducible from --seed.
        config.faults.seed = base.faults.seed.wrapping_add(k as u64 - 1);
        let handle = match runner_sim::start(config).await {
            Ok(handle) => handle,
            Err(err) => {
                eprintln!("{}: cannot start simulated org sim-{k}: {err}", brand::name());
                return Outcome::Unreachable;
            }
        };
        fleet.push(sim_fleet::FleetOrg::new(k, handle.instance_url(), client_secret));
        handles.push(handle);
    }
    if let Err(err) = sim_fleet::write(config_out, &fleet) {
        eprintln!("{:?}", miette::Report::new(err));
        return Outcome::BadInput;
    }
    for org in &fleet {
        println!("{} {} {}", org.name, org.instance_url, org.username);
    }
    println!(
        "try: {} play scripts/setup.rhai --config {} --org @sim --var 'credentials_file=secrets/{{org}}.creds'",
        brand::name(),
        config_out.display()
    );
    // The last line: scripts wait for it before connecting.
    println!("config: {}", config_out.display());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    interrupt::until_interrupted().await;
    for handle in handles {
        handle.shutdown().await;
    }
    Outcome::Done
}
