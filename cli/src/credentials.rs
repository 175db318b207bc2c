//! `runner credentials show` and `runner totp code`: show the sync user's secrets to their owner.
//!
//! These commands exist to print the password and the current TOTP code, so they do, but only on stdout; errors
//! (on stderr) come from `runner_core::credentials`, whose messages never hold a secret.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use runner_core::credentials::{self, Credentials, CredentialsError};
use runner_core::totp;
use serde_json::json;

use crate::exit::Outcome;

/// `runner credentials show --file F [--json]`.
pub fn show(file: &Path, as_json: bool) -> Outcome {
    let credentials = match Credentials::load(file) {
        Ok(Some(credentials)) => credentials,
        Ok(None) => return refuse(CredentialsError::Missing { path: file.to_owned() }),
        Err(err) => return refuse(err),
    };
    let now = unix_now();
    let code = credentials.totp_code_at(now);
    let valid_for = code.as_ref().map(|_| totp::valid_for(now));
    if as_json {
        let document = json!({
            "username": credentials.username,
            "password": credentials.expose_password(),
            "totp_code": code,
            "valid_for_s": valid_for,
            "login_url": credentials.login_url,
        });
        crate::stdout::secret_line(format_args!("{document}"));
        return Outcome::Done;
    }
    crate::stdout::secret_line(format_args!("username:   {}", credentials.username));
    match credentials.expose_password() {
        Some(password) => crate::stdout::secret_line(format_args!("password:   {password}")),
        None => println!("password:   none yet (runner's set_password step sets one and keeps it in this file)"),
    }
    match (code, valid_for) {
        (Some(code), Some(seconds)) => println!("totp code:  {code} (valid for {seconds} more second(s))"),
        _ => println!("totp code:  none yet (runner's verify step registers an authenticator and keeps it here)"),
    }
    println!("login url:  {}", credentials.login_url);
    Outcome::Done
}

/// `runner totp code --secret-file F`: a credentials file, or a TOTP secret file of an older runner.
pub fn totp_code(file: &Path) -> Outcome {
    match credentials::read_totp_secret(file) {
        Ok(secret) => {
            let now = unix_now();
            crate::stdout::secret_line(format_args!("{}", totp::code_at(&secret, now)));
            eprintln!("valid for {} more second(s)", totp::valid_for(now));
            Outcome::Done
        }
        Err(err) => refuse(err),
    }
}

/// A file that can't be used is bad input, like a bad option: exit 2, not 1 (which says a playbook stopped).
fn refuse(err: CredentialsError) -> Outcome {
    eprintln!("{:?}", miette::Report::new(err));
    Outcome::BadInput
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}
