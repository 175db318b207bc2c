//! `runner`: sets up and maintains the StoreConnect sync user in Salesforce orgs from
//! Rhai playbooks.

mod builtin;
mod credentials;
mod output;
mod play;
mod target;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

/// Exit codes, documented in the README.
pub mod exit {
    /// Every org ran its playbook to the end.
    pub const OK: u8 = 0;
    /// The playbook stopped on an error in at least one org (a step failed, an
    /// uncaught `throw`, drift found by an audit).
    pub const PLAYBOOK_FAILED: u8 = 1;
    /// The command line was wrong (clap's own code), or a file it names can't be used
    /// (`credentials show`, `totp code`).
    pub const USAGE: u8 = 2;
    /// The playbook does not compile or `runner check` found problems. No org was touched.
    pub const INVALID_PLAYBOOK: u8 = 3;
    /// An org could not be reached or authenticated; its playbook did not start.
    pub const CONNECT_FAILED: u8 = 4;
}

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
    },
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
    /// Copy the built-in playbooks into DIR (default ./scripts) to customise them.
    Init {
        #[arg(default_value = "scripts")]
        dir: PathBuf,
        /// Overwrite files that already exist.
        #[arg(long)]
        force: bool,
    },
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
    /// The access token clients must send (random when not given).
    #[arg(long)]
    token: Option<String>,
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
    /// Serve HTTPS with a certificate made now for 127.0.0.1 and localhost.
    #[arg(long)]
    tls: bool,
    /// Where to write the certificate to trust, as PEM (with --tls; default: the temp dir).
    #[arg(long, requires = "tls")]
    cert_file: Option<PathBuf>,
    /// A PEM certificate for the JWT bearer flow (the connected app's); repeatable.
    #[arg(long)]
    jwt_cert: Vec<PathBuf>,
    /// The connected app's consumer key, for OAuth client credentials and JWT (with --client-secret).
    #[arg(long, requires = "client_secret")]
    client_id: Option<String>,
    /// The connected app's consumer secret (with --client-id).
    #[arg(long, requires = "client_id")]
    client_secret: Option<String>,
    /// A refresh token the token endpoint accepts (random when not given).
    #[arg(long)]
    refresh_token: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("runner: cannot start the async runtime: {err}");
            return ExitCode::from(exit::PLAYBOOK_FAILED);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Play(args) => play::play(args).await,
            Command::Check { playbooks } => play::check(&playbooks),
            Command::Steps { name } => output::steps(name.as_deref()),
            Command::Sim { command: SimCommand::Serve(args) } => sim_serve(args).await,
            Command::Totp { command: TotpCommand::Code { secret_file } } => credentials::totp_code(&secret_file),
            Command::Credentials { command: CredentialsCommand::Show { file, json } } => credentials::show(&file, json),
            Command::Playbooks => {
                for (path, text) in builtin::FILES.iter().filter(|(path, _)| !path.contains("lib/")) {
                    println!("{path:<24} {}", builtin::summary(text));
                }
                exit::OK
            }
            Command::Init { dir, force } => init(&dir, force),
            Command::Completions { shell } => {
                clap_complete::generate(shell, &mut Cli::command(), "runner", &mut std::io::stdout());
                exit::OK
            }
        }
    });
    ExitCode::from(code)
}

async fn sim_serve(args: SimServeArgs) -> u8 {
    let mut config = runner_sim::SimConfig { port: args.port, scenario: args.scenario, ..Default::default() };
    if let Some(token) = args.token {
        config.token = token;
    }
    if let (Some(client_id), Some(client_secret)) = (args.client_id, args.client_secret) {
        config.oauth_clients = vec![runner_sim::OAuthClient { client_id, client_secret }];
    }
    if let Some(refresh_token) = args.refresh_token {
        config.refresh_tokens = vec![refresh_token];
    }
    config.faults = runner_sim::Faults {
        latency_ms: args.latency_ms,
        fail_rate: args.fail_rate,
        seed: args.seed,
        expire_token_after: args.expire_token_after,
        api_limit: args.api_limit,
    };
    config.tls = args.tls;
    for path in &args.jwt_cert {
        match std::fs::read_to_string(path) {
            Ok(pem) => config.jwt_certificates.push(pem),
            Err(err) => {
                eprintln!("runner: cannot read the JWT certificate {}: {err}", path.display());
                return exit::USAGE;
            }
        }
    }
    let handle = match runner_sim::start(config).await {
        Ok(handle) => handle,
        Err(err) => {
            eprintln!("runner: cannot start the simulated org: {err}");
            return exit::CONNECT_FAILED;
        }
    };
    if let Some(pem) = handle.certificate_pem() {
        let path = args
            .cert_file
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("runner-sim-{}.pem", handle.addr().port())));
        if let Err(err) = std::fs::write(&path, pem) {
            eprintln!("runner: cannot write the certificate to {}: {err}", path.display());
            return exit::CONNECT_FAILED;
        }
        println!("certificate: {}", path.display());
    }
    println!("instance url: {}", handle.instance_url());
    println!("token: {}", handle.token());
    println!("scenario: {}", args.scenario);
    println!(
        "try: SF_ACCESS_TOKEN={} runner play scripts/examples/hello.rhai --org {}",
        handle.token(),
        handle.instance_url()
    );
    // Flushing matters: scripts wait for these lines before connecting.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    handle.shutdown().await;
    exit::OK
}

/// Copies the built-in playbooks, with their `lib/`, into `dir`; refuses to overwrite.
fn init(dir: &std::path::Path, force: bool) -> u8 {
    let existing: Vec<String> = builtin::FILES
        .iter()
        .map(|(path, _)| dir.join(path))
        .filter(|target| target.exists())
        .map(|target| target.display().to_string())
        .collect();
    if !existing.is_empty() && !force {
        eprintln!("runner: not overwriting existing files: {}", existing.join(", "));
        eprintln!("  hint: choose another folder (runner init DIR), or pass --force to overwrite them");
        return exit::PLAYBOOK_FAILED;
    }
    for (path, text) in builtin::FILES {
        let target = dir.join(path);
        let written =
            target.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&target, text));
        if let Err(err) = written {
            eprintln!("runner: cannot write {}: {err}", target.display());
            return exit::PLAYBOOK_FAILED;
        }
        println!("wrote {}", target.display());
    }
    println!("Run one with: runner play {}/setup.rhai --check --var username=… --var email=…", dir.display());
    exit::OK
}

/// Where runner keeps its state (the journals), per the platform's conventions.
pub fn state_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "runner")
        .map(|dirs| dirs.state_dir().unwrap_or(dirs.data_local_dir()).to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("runner"))
}
