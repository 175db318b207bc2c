//! The sync user's credentials file, as `set_password` and `verify` share it: one file
//! per user, refused when it holds another user's credentials, and the rule that a
//! secret is kept somewhere (the file, or a terminal to show it on) before it is set.

use std::io::IsTerminal;
use std::path::Path;

use runner_core::credentials::{Credentials, CredentialsError};
use runner_core::step::{StepCtx, StepFailure};

/// Where a step keeps the secrets it sets for `username`.
pub struct Kept<'a> {
    step: &'static str,
    path: Option<&'a Path>,
    username: &'a str,
}

impl<'a> Kept<'a> {
    pub fn new(step: &'static str, path: Option<&'a Path>, username: &'a str) -> Self {
        Kept { step, path, username }
    }

    pub fn in_file(&self) -> bool {
        self.path.is_some()
    }

    /// What the summary says of where the secret went.
    pub fn describe(&self) -> String {
        match self.path {
            Some(path) => format!("written to {}", path.display()),
            None => "shown once on the terminal".to_string(),
        }
    }

    /// The credentials kept for this user, if any; a file kept for another user is refused.
    pub fn load(&self) -> Result<Option<Credentials>, StepFailure> {
        let Some(path) = self.path else { return Ok(None) };
        let kept = Credentials::load(path).map_err(|err| self.failure(err))?;
        if let Some(kept) = &kept
            && !kept.username.eq_ignore_ascii_case(self.username)
        {
            return Err(StepFailure::new(
                "runner::credentials::other_user",
                format!(
                    "{}: {} holds the credentials of {}, not of {}",
                    self.step,
                    path.display(),
                    kept.username,
                    self.username
                ),
            )
            .hint("give each sync user a credentials file of its own"));
        }
        Ok(kept)
    }

    /// New credentials for this user, signing in on this org's host.
    pub fn fresh(&self, ctx: &StepCtx) -> Credentials {
        Credentials::new(self.username, &ctx.facts().instance_url)
    }

    pub fn store(&self, credentials: &Credentials) -> Result<(), StepFailure> {
        match self.path {
            Some(path) => credentials.store(path).map_err(|err| self.failure(err)),
            None => Ok(()),
        }
    }

    /// A secret set in Salesforce that nobody holds locks the user out: refuse to set one
    /// with neither a file to keep it in nor a terminal to show it on. Checked while
    /// planning too, so that the run stops before its first write.
    pub fn require_somewhere(&self, ctx: &StepCtx, code: &str, what: &str) -> Result<(), StepFailure> {
        if self.path.is_some() || std::io::stderr().is_terminal() || !ctx.writes_follow() {
            return Ok(());
        }
        Err(StepFailure::new(
            code,
            format!("{}: there is no terminal to show {what} on, and no credentials_file to keep it in", self.step),
        )
        .hint("pass `credentials_file: \"…\"` (setup.rhai takes --var credentials_file=PATH)"))
    }

    /// A credentials-file error as a step failure, keeping its stable code and help.
    fn failure(&self, err: CredentialsError) -> StepFailure {
        use miette::Diagnostic;
        let code = err.code().map(|c| c.to_string()).unwrap_or_else(|| "runner::credentials::io".into());
        let hint = err.help().map(|h| h.to_string());
        let mut failure = StepFailure::new(&code, format!("{}: {err}", self.step));
        failure.hint = hint;
        failure
    }
}
