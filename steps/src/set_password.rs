//! `set_password`: gives the sync user a password, which users created through the API
//! do not get (no password, no e-mail: salesforce-api.md C.1 and C.2, real-org-review.md
//! 3.4), yet StoreConnect's Console signs in with one.
//!
//! The password is random, kept in the user's credentials file (mode 0600) before it is
//! sent, so that an interrupted run never leaves a password nobody holds: a re-run that
//! finds a password the org has not confirmed sets a new one.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::SystemTime;

use rand::TryRngCore as _;
use rand::rngs::OsRng;
use runner_core::step::prelude::*;
use secrecy::{ExposeSecret, SecretString};

use crate::common::{UserState, require_user, user_read};
use crate::kept::Kept;

pub struct SetPassword;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Username of the user.
    user: String,
    /// The user's credentials file (mode 0600), shared with verify.
    credentials_file: Option<PathBuf>,
    /// Set a new password even when one is set and kept.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    rotate: bool,
}

static META: StepMeta = StepMeta {
    name: "set_password",
    summary: "Give the user a strong random password, kept in its credentials file",
    description: "Users created through the API have no password, and StoreConnect's Console signs in with one. \
The step generates 24 random characters (upper and lower case, digits, punctuation), keeps them in \
`credentials_file` (mode 0600) before sending them, sets them with POST /sobjects/User/{id}/password, and confirms \
through User.LastPasswordChangeDate. A user whose password is set and held in the file is ok; `rotate: true` sets \
a new one. Without a file the password is shown once on the terminal. \
`runner credentials show --file F` prints it with the current verification code.",
};

/// Long enough to be strong whatever the org's policy asks (Salesforce's strictest
/// complexity rule wants upper, lower, digits and punctuation).
const PASSWORD_LEN: usize = 24;
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
/// Punctuation that needs no escaping in a shell, JSON, XML or a URL form.
const PUNCTUATION: &[u8] = b"!#%+-=?@^_~";

impl Step for SetPassword {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        Ok(vec![user_read(&params.user)])
    }

    async fn apply(&self, params: Params, observed: Observed, ctx: &mut StepCtx) -> Result<StepOutput, StepFailure> {
        let user = require_user("set_password", &observed, ctx, &params.user)?;
        let file = Kept::new("set_password", params.credentials_file.as_deref(), &params.user);
        let kept = file.load()?;
        let set_in_org = match &user {
            UserState::Found(found) => found.get("LastPasswordChangeDate").is_some_and(|d| !d.is_null()),
            UserState::Planned => false,
        };
        let held = kept.as_ref().is_some_and(|c| c.has_password() && c.password_set_at.is_some());
        if set_in_org && !params.rotate && (held || !file.in_file()) {
            let summary = if held {
                format!("{} has a password, kept in its credentials file", params.user)
            } else {
                format!("{} has a password (runner does not hold it; `rotate: true` sets one it keeps)", params.user)
            };
            return Ok(StepOutput::new(summary).with("password_set", true));
        }
        file.require_somewhere(ctx, "runner::set_password::nowhere_to_keep", "the password")?;
        let target = format!("User {}", params.user);
        let change = if set_in_org {
            Change::new(target, Some("password"), "set", "replaced by a new random password")
        } else {
            Change::new(target, Some("password"), "none", "a random password")
        };
        if ctx.check_mode() {
            ctx.note_change(change);
            return Ok(StepOutput::new(format!("would set a password for {} ({})", params.user, file.describe())));
        }
        let UserState::Found(found) = user else {
            return Err(StepFailure::new(
                "runner::step::user_not_found",
                format!("set_password: there is no user {}", params.user),
            ));
        };
        let user_id = str_field(found, "Id").unwrap_or_default().to_string();
        let password = generate()?;
        let mut credentials = kept.unwrap_or_else(|| file.fresh(ctx));
        // Kept before it is sent: a password Salesforce has and nobody holds locks the
        // user out of StoreConnect's Console.
        credentials.set_password(password.clone());
        file.store(&credentials)?;
        let write = Write::Password { user_id: user_id.clone(), password: password.clone(), change };
        let (_, confirmation) = ctx
            .write_then_confirm(
                vec![write],
                &format!("SELECT LastPasswordChangeDate FROM User WHERE Id = {}", soql_quote(&user_id)),
                |answer| {
                    answer.records.first().and_then(|u| u.get("LastPasswordChangeDate")).is_some_and(|d| !d.is_null())
                },
            )
            .await
            .map_err(explain)?;
        let confirmed = confirmation
            .as_ref()
            .and_then(|a| a.records.first())
            .and_then(|u| u.get("LastPasswordChangeDate"))
            .filter(|d| !d.is_null());
        // What the user's row reads now, for the steps after this one (verify reads it).
        if let Some(date) = confirmed {
            let mut row = found.clone();
            row.insert("LastPasswordChangeDate".into(), date.clone());
            ctx.wrote_answer(&user_read(&params.user), vec![row]);
        }
        let confirmed = confirmed.is_some();
        if !confirmed {
            return Err(StepFailure::new(
                "runner::set_password::not_confirmed",
                format!(
                    "set_password: Salesforce accepted the password but {}'s LastPasswordChangeDate is empty",
                    params.user
                ),
            )
            .hint("run the playbook again: it sets a new password and keeps it"));
        }
        credentials.password_set_at = Some(SystemTime::now());
        file.store(&credentials)?;
        if !file.in_file() {
            show_on_terminal(&params.user, &password);
        }
        Ok(StepOutput::new(format!("set a password for {} ({})", params.user, file.describe()))
            .with("password_set", true))
    }
}

fn explain(failure: StepFailure) -> StepFailure {
    match failure.error_code() {
        Some("INVALID_NEW_PASSWORD") => StepFailure {
            code: "runner::set_password::policy".into(),
            hint: Some(
                "the org's password policy refused it (Setup → Password Policies); runner's passwords are 24 \
                 characters with every character class, so the policy may forbid reuse or demand more"
                    .into(),
            ),
            ..failure
        },
        Some("INSUFFICIENT_ACCESS") => StepFailure {
            code: "runner::set_password::access".into(),
            hint: Some("the running user needs the Manage Users permission to set another user's password".into()),
            ..failure
        },
        _ => failure,
    }
}

/// 24 characters from the operating system's generator, with every character class.
fn generate() -> Result<SecretString, StepFailure> {
    let classes: [&[u8]; 4] = [UPPER, LOWER, DIGITS, PUNCTUATION];
    let all: Vec<u8> = classes.concat();
    let random = |bound: usize| -> Result<usize, StepFailure> {
        // Rejection sampling keeps every character equally likely.
        let zone = u32::MAX - (u32::MAX % bound as u32);
        loop {
            let value = OsRng.try_next_u32().map_err(|_| {
                StepFailure::new(
                    "runner::set_password::random",
                    "set_password: the operating system's random generator failed",
                )
            })?;
            if value < zone {
                return Ok((value % bound as u32) as usize);
            }
        }
    };
    let mut chars: Vec<u8> = Vec::with_capacity(PASSWORD_LEN);
    for class in classes {
        chars.push(class[random(class.len())?]);
    }
    while chars.len() < PASSWORD_LEN {
        chars.push(all[random(all.len())?]);
    }
    for i in (1..chars.len()).rev() {
        chars.swap(i, random(i + 1)?);
    }
    let text = String::from_utf8(chars).unwrap_or_default();
    Ok(SecretString::from(text))
}

/// Shown once, on the terminal (stderr), never on stdout where `--json` and logs go.
fn show_on_terminal(username: &str, password: &SecretString) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\nThe password of {username} (shown once; keep it in a password manager):");
    let _ = writeln!(err, "  {}\n", password.expose_secret());
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn passwords_are_long_and_mix_every_class() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let password = generate().unwrap();
            let text = password.expose_secret();
            assert_eq!(text.len(), PASSWORD_LEN);
            for class in [UPPER, LOWER, DIGITS, PUNCTUATION] {
                assert!(text.bytes().any(|b| class.contains(&b)), "{text}");
            }
            assert!(seen.insert(text.to_string()));
        }
    }
}
