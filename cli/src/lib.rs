//! runner-cli: the `runner` command, as a library a partner builds its own binary with.
//!
//! `runner` itself is [`Runner`] with runner's native steps and built-in playbooks. A partner's binary is the
//! same with its own steps (usually runner's plus its own), its own playbooks beside runner's, and its own name,
//! which every message then uses ("`acme-runner steps assign_permission_set_group`"):
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     let mut steps = runner_steps::registry();
//!     // steps.register(my_crate::AssignPermissionSetGroup);
//!     runner_cli::Runner::new()
//!         .name("acme-runner")
//!         .steps(steps)
//!         .playbooks(runner_cli::PLAYBOOKS)
//!         .run()
//! }
//! ```
//!
//! With the `testing` feature, [`testing`] starts a simulated org in-process, runs playbooks against it with a
//! registry, and reads the org back, for a partner's step tests.

// Every print of the CLI goes through `stdout`, so that a closed pipe (`runner … | head -1`) ends output quietly
// instead of panicking, and so that messages name the running binary; defined before the modules so that they
// all see these, not std's.
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

mod brand;
mod builtin;
mod commands;
mod credentials;
mod engine;
pub mod exit;
mod handover;
mod init;
mod interrupt;
mod output;
mod play;
mod progress;
mod reports;
mod sim_cert;
mod sim_fleet;
mod stdout;
mod target;
#[cfg(feature = "testing")]
pub mod testing;
mod trust;
mod vars;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

pub use builtin::PLAYBOOKS;
pub use exit::Outcome;
pub use runner_core::step::{Registry, Step};

/// A build of the runner command: its name, its native steps, its built-in playbooks.
#[must_use = "a Runner does nothing until `run`"]
pub struct Runner {
    name: &'static str,
    about: Option<&'static str>,
    version: Option<&'static str>,
    steps: Registry,
    playbooks: Vec<(&'static str, &'static str)>,
    sim_seeds: Vec<&'static str>,
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new()
    }
}

impl Runner {
    /// A command named `runner`, with no native step and no built-in playbook until given some.
    pub fn new() -> Self {
        Runner {
            name: brand::DEFAULT,
            about: None,
            version: None,
            steps: Registry::new(),
            playbooks: Vec::new(),
            sim_seeds: Vec::new(),
        }
    }

    /// The binary's name, as users type it: shown in its help, its completions and every message that says
    /// what to run. Letters, digits, `-`, `_` and `.`.
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The one-line description `--help` shows.
    pub fn about(mut self, about: &'static str) -> Self {
        self.about = Some(about);
        self
    }

    /// What `--version` prints (runner-cli's own version otherwise).
    pub fn version(mut self, version: &'static str) -> Self {
        self.version = Some(version);
        self
    }

    /// The native steps playbooks may call, replacing any given before: `runner_steps::registry()` for
    /// runner's, with a partner's registered beside them.
    pub fn steps(mut self, steps: Registry) -> Self {
        self.steps = steps;
        self
    }

    /// Adds one native step to those given so far.
    pub fn step<S: Step>(mut self, step: S) -> Self {
        self.steps.register(step);
        self
    }

    /// Adds built-in playbooks: (path, text) pairs, paths relative to a `scripts/` folder (`setup.rhai`,
    /// `lib/storeconnect.rhai`). `play NAME` falls back to them, `playbooks` lists them (not `lib/`), `init`
    /// copies them out. All given share one folder, so a partner's playbook may import runner's `lib/`; a path
    /// given again replaces the earlier text.
    pub fn playbooks(mut self, files: &'static [(&'static str, &'static str)]) -> Self {
        for file in files {
            self.playbooks.retain(|(path, _)| *path != file.0);
            self.playbooks.push(*file);
        }
        self
    }

    /// Adds a seed file (JSON, as `runner sim serve --seed-file` takes) that every simulated org of this binary
    /// gets after its scenario's seed, in `play --org sim` and `sim serve`: the objects and records the binary's
    /// own steps work on, where runner's seed lacks them.
    pub fn sim_seed(mut self, json: &'static str) -> Self {
        self.sim_seeds.push(json);
        self
    }

    /// Runs the command the process's arguments name.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os()).into()
    }

    /// Runs the command `args` name (the program's name first, as in `std::env::args_os`), answering how it
    /// ended; [`exit::code`] gives its exit status. Meant to be called once per process: it sets the process's
    /// panic hook and core-dump limit, and the name messages use.
    pub fn run_from<I, T>(self, args: I) -> Outcome
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        if !brand::is_valid(self.name) {
            eprintln!("runner: {:?} cannot be a command's name: use letters, digits, `-`, `_` and `.`", self.name);
            return Outcome::Internal;
        }
        brand::set(self.name);
        harden_process();
        let mut sim_seeds = Vec::new();
        for (index, json) in self.sim_seeds.iter().enumerate() {
            match runner_sim::SeedFile::from_json(json) {
                Ok(seed) => sim_seeds.push(seed),
                // The binary was built with it: its builder's mistake, not the user's input.
                Err(err) => {
                    eprintln!(
                        "{}: the built-in seed file #{} of the simulated org is refused: {err}",
                        self.name,
                        index + 1
                    );
                    return Outcome::Internal;
                }
            }
        }
        let ctx = Context {
            name: self.name,
            about: self.about,
            version: self.version,
            steps: self.steps,
            // Core reads built-in playbooks, and the modules they import, from a 'static table; made once per
            // process, by the one call that runs a command.
            playbooks: Vec::leak(self.playbooks),
            sim_seeds,
        };
        commands::run(&ctx, args.into_iter().map(Into::into).collect())
    }
}

/// What every command may use of the build that runs it.
pub(crate) struct Context {
    pub name: &'static str,
    pub about: Option<&'static str>,
    pub version: Option<&'static str>,
    pub steps: Registry,
    pub playbooks: &'static [(&'static str, &'static str)],
    pub sim_seeds: Vec<runner_sim::SeedFile>,
}

/// Before anything holds a secret: no core dump (it would hold the access token), and
/// a panic message with the run's secrets cut out.
fn harden_process() {
    #[cfg(unix)]
    {
        let none = rustix::process::Rlimit { current: Some(0), maximum: Some(0) };
        if let Err(err) = rustix::process::setrlimit(rustix::process::Resource::Core, none) {
            eprintln!("{}: warning: cannot turn core dumps off: {err}", brand::name());
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
            "thread '{thread}' panicked{at}:\n{}\n{}: this is a bug; please report it",
            runner_core::redact::text(&payload),
            brand::name()
        );
    }));
}

/// Where runner keeps its state (the journals), per the platform's conventions. A partner's binary shares it:
/// its journals are runner's journals.
pub(crate) fn state_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "runner")
        .map(|dirs| dirs.state_dir().unwrap_or(dirs.data_local_dir()).to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("runner"))
}
