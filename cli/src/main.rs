//! `runner`: sets up and maintains the StoreConnect sync user in Salesforce orgs from
//! Rhai playbooks.

// Every print of the CLI goes through `stdout`, so that a closed pipe (`runner … | head -1`) ends output quietly
// instead of panicking; defined before the modules so that they all see these, not std's.
macro_rules! println {
    () => { $crate::stdout::line(format_args!("")) };
    ($($arg:tt)*) => { $crate::stdout::line(format_args!($($arg)*)) };
}
macro_rules! print {
    ($($arg:tt)*) => { $crate::stdout::text(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { $crate::stdout::error_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::stdout::error_line(format_args!($($arg)*)) };
}

mod builtin;
mod credentials;
mod init;
mod interrupt;
mod output;
mod play;
mod sim_cert;
mod stdout;
mod target;
mod vars;

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
    /// Copy the built-in playbooks into DIR (default ./scripts) to customise them; never through a symlink.
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
}

fn main() -> ExitCode {
    harden_process();
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
            Command::Init { dir, force } => init::init(&dir, force),
            Command::Completions { shell } => {
                // Into memory first: clap_complete panics when a write fails.
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "runner", &mut script);
                stdout::bytes(&script);
                exit::OK
            }
        }
    });
    ExitCode::from(code)
}

/// Before anything holds a secret: no core dump (it would hold the access token), and
/// a panic message with the run's secrets cut out.
fn harden_process() {
    #[cfg(unix)]
    {
        let none = rustix::process::Rlimit { current: Some(0), maximum: Some(0) };
        if let Err(err) = rustix::process::setrlimit(rustix::process::Resource::Core, none) {
            eprintln!("runner: warning: cannot turn core dumps off: {err}");
        }
    }
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Box<dyn Any>".to_string());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or("<unnamed>").to_string();
        eprintln!(
            "thread '{thread}' panicked{at}:\n{}\nrunner: this is a bug; please report it",
            runner_core::redact::text(&payload)
        );
    }));
}

/// A secret of `runner sim serve`: given as is (an option or its environment
/// variable), or read from a private file.
fn sim_secret(value: Option<String>, file: Option<&std::path::Path>, what: &str) -> Result<Option<String>, u8> {
    let Some(path) = file else { return Ok(value) };
    match target::read_secret_file(path, what) {
        Ok(secret) => Ok(Some(secret)),
        Err(err) => {
            eprintln!("{}", output::redacted_report(&miette::Report::new(err)));
            Err(exit::USAGE)
        }
    }
}

async fn sim_serve(args: SimServeArgs) -> u8 {
    let mut config = runner_sim::SimConfig { port: args.port, scenario: args.scenario, ..Default::default() };
    let secrets = (
        sim_secret(args.token, args.token_file.as_deref(), "token"),
        sim_secret(args.client_secret, args.client_secret_file.as_deref(), "client secret"),
        sim_secret(args.refresh_token, args.refresh_token_file.as_deref(), "refresh token"),
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
                "runner: --client-id needs a client secret (--client-secret, RUNNER_SIM_CLIENT_SECRET or --client-secret-file)"
            );
            return exit::USAGE;
        }
        (None, Some(_)) => {
            eprintln!("runner: a client secret needs --client-id");
            return exit::USAGE;
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
    for path in &args.seed_file {
        match runner_sim::SeedFile::load(path) {
            Ok(file) => config.seed_files.push(file),
            Err(err) => {
                eprintln!("runner: {err}");
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
                return exit::CONNECT_FAILED;
            }
        }
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
    interrupt::until_interrupted().await;
    handle.shutdown().await;
    exit::OK
}

/// Where runner keeps its state (the journals), per the platform's conventions.
pub fn state_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "runner")
        .map(|dirs| dirs.state_dir().unwrap_or(dirs.data_local_dir()).to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("runner"))
}
