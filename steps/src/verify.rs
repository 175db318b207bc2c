//! `verify`: registers a TOTP authenticator as the user's verification method, so that
//! the first login as the sync user (and StoreConnect's) can answer MFA.
//!
//! The secret is kept in the user's credentials file (mode 0600), which `set_password`
//! shares, or shown once on the terminal; it never reaches the step's output, the
//! journal or `--json`.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::SystemTime;

use runner_core::credentials::Credentials;
use runner_core::report::Change;
use runner_core::run::soql_quote;
use runner_core::step::{
    BoxFuture, Observed, ParamDoc, ParamType, Read, Step, StepCtx, StepFailure, StepMeta, StepOutput, Write,
};
use runner_core::totp::{self, TotpSecret};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::{UserState, mfa_permission_reads, require_mfa_permission, require_user, str_field, user_read};
use crate::set_password::credentials_failure;

pub struct Verify;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    user: String,
    /// `secret_file` is its name from before the credentials file held the password too.
    #[serde(alias = "secret_file")]
    credentials_file: Option<PathBuf>,
    #[serde(default)]
    rotate: bool,
    issuer: Option<String>,
}

static META: StepMeta = StepMeta {
    name: "verify",
    summary: "Register a TOTP authenticator as the user's verification method",
    description: "Inserts TwoFactorInfo (Type TOTP) with a random 20-byte secret in base32, then confirms through \
TwoFactorMethodsInfo.HasTotp. The secret is kept in `credentials_file` (mode 0600) before it is registered, or \
shown once on the terminal (a QR code and the otpauth:// URI). A user who has TOTP, with its secret kept in the \
file, is ok; `rotate: true` replaces it. A secret kept by an interrupted run is registered as it is, so the \
consultant's authenticator stays valid. `runner credentials show --file F` prints the current code. The running \
user needs \"Manage Multi-Factor Authentication in API\"; Salesforce Authenticator is not offered: StoreConnect \
does not support it.",
    params: &[
        ParamDoc { name: "user", ty: ParamType::String, required: true, default: None, doc: "Username of the user" },
        ParamDoc {
            name: "credentials_file",
            ty: ParamType::String,
            required: false,
            default: None,
            doc: "The user's credentials file (mode 0600), shared with set_password; `secret_file` is an alias",
        },
        ParamDoc {
            name: "rotate",
            ty: ParamType::Bool,
            required: false,
            default: Some("false"),
            doc: "Replace an existing TOTP registration with a new secret",
        },
        ParamDoc {
            name: "issuer",
            ty: ParamType::String,
            required: false,
            default: Some("\"Salesforce\""),
            doc: "Issuer shown by the authenticator app",
        },
    ],
};

impl Step for Verify {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        let user = soql_quote(&params.user);
        let mut reads = vec![
            user_read(&params.user),
            Read::new(
                "methods",
                format!("SELECT Id, UserId, HasTotp FROM TwoFactorMethodsInfo WHERE User.Username = {user}"),
            )
            .may_fail(),
            Read::new(
                "registered",
                format!("SELECT Id, Type FROM TwoFactorInfo WHERE User.Username = {user} AND Type = 'TOTP'"),
            )
            .may_fail(),
            Read::new(
                "privileges",
                format!(
                    "SELECT PermissionSet.Name, {} FROM PermissionSetAssignment WHERE Assignee.Username = {user}",
                    PRIVILEGES.iter().map(|(field, _)| format!("PermissionSet.{field}")).collect::<Vec<_>>().join(", ")
                ),
            )
            .may_fail(),
        ];
        reads.extend(mfa_permission_reads(ctx));
        Ok(reads)
    }

    fn apply<'a>(
        &'a self,
        params: Params,
        observed: Observed,
        ctx: &'a mut StepCtx,
    ) -> BoxFuture<'a, Result<StepOutput, StepFailure>> {
        Box::pin(async move {
            require_mfa_permission("verify", &observed, ctx, &["methods", "registered"])?;
            let user = require_user("verify", &observed, ctx, &params.user)?;
            let warnings = privilege_warning(&params.user, &observed);
            let kept = load(&params)?;
            let has_totp =
                observed.rows("methods").iter().any(|m| m.get("HasTotp").and_then(Value::as_bool) == Some(true));
            let held = kept.as_ref().is_some_and(|c| c.totp_secret().is_some() && c.totp_registered_at.is_some());
            if has_totp && !params.rotate && (held || params.credentials_file.is_none()) {
                let summary = if held {
                    format!("{} has a TOTP authenticator, its secret kept in the credentials file", params.user)
                } else {
                    format!("{} already has a TOTP authenticator", params.user)
                };
                return Ok(StepOutput::new(summary).with("has_totp", true).with_warnings(warnings));
            }
            if params.credentials_file.is_none() && !std::io::stderr().is_terminal() && ctx.writes_follow() {
                return Err(StepFailure::new(
                    "runner::verify::nowhere_to_show_secret",
                    "verify: there is no terminal to show the TOTP secret on, and no credentials_file to keep it in",
                )
                .hint("pass `credentials_file: \"…\"` (setup.rhai takes --var credentials_file=PATH) so the secret is kept"));
            }
            let target = format!("User {}", params.user);
            let change = if has_totp {
                Change::new(target, Some("TOTP authenticator"), "registered", "replaced with a new secret")
            } else {
                Change::new(target, Some("TOTP authenticator"), "absent", "registered")
            };
            let mut credentials = kept.unwrap_or_else(|| Credentials::new(&params.user, &ctx.facts().instance_url));
            // A secret an interrupted run kept, and never confirmed, is registered as it is, so the authenticator
            // the consultant scanned stays valid. `load` only returns a regular 0600 file of the effective user,
            // so what is reused cannot have been planted by someone else.
            let reuse =
                !params.rotate && credentials.totp_secret().is_some() && credentials.totp_registered_at.is_none();
            let shown = match &params.credentials_file {
                Some(path) if reuse => format!("reused the secret kept in {}", path.display()),
                Some(path) => format!("secret written to {}", path.display()),
                None => "secret shown on the terminal".to_string(),
            };
            if ctx.check_mode() {
                ctx.note_change(change);
                return Ok(StepOutput::new(format!(
                    "would register a TOTP authenticator for {} ({shown})",
                    params.user
                ))
                .with_warnings(warnings));
            }
            let UserState::Found(found) = user else {
                return Err(StepFailure::new(
                    "runner::step::user_not_found",
                    format!("verify: there is no user {}", params.user),
                ));
            };
            let user_id = str_field(found, "Id").unwrap_or_default().to_string();
            let issuer = params.issuer.clone().unwrap_or_else(|| "Salesforce".to_string());
            // Keep the secret before registering it: a registered secret nobody holds locks the user out.
            if !reuse {
                let secret = TotpSecret::generate()
                    .map_err(|err| StepFailure::new("runner::verify::random", format!("verify: {err}")))?;
                credentials.set_totp(secret, &issuer);
                store(&params, &credentials)?;
            }
            let (shared_key, uri) = match (credentials.totp_secret(), credentials.expose_otpauth_uri()) {
                (Some(secret), Some(uri)) => (secret.expose_base32(), SecretString::from(uri.to_string())),
                _ => return Err(StepFailure::new("runner::internal", "verify: the kept secret vanished")),
            };
            let mut writes = Vec::new();
            if has_totp {
                for old in observed.rows("registered") {
                    let id = str_field(old, "Id").unwrap_or_default().to_string();
                    let change =
                        Change::new(format!("User {}", params.user), Some("old TOTP secret"), "registered", "removed");
                    writes.push(Write::Delete { sobject: "TwoFactorInfo".into(), id, change });
                }
            }
            let mut fields = Map::new();
            fields.insert("UserId".into(), json!(user_id));
            fields.insert("Type".into(), json!("TOTP"));
            fields.insert("SharedKey".into(), json!(shared_key.expose_secret()));
            writes.push(Write::Create { sobject: "TwoFactorInfo".into(), fields, change });
            ctx.write_all(writes).await?;
            let confirmed = ctx
                .query(&format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE UserId = {}", soql_quote(&user_id)))
                .await?
                .records
                .iter()
                .any(|m| m.get("HasTotp").and_then(Value::as_bool) == Some(true));
            if !confirmed {
                return Err(StepFailure::new(
                    "runner::verify::not_confirmed",
                    format!(
                        "verify: Salesforce accepted the secret but TwoFactorMethodsInfo does not show TOTP for {}",
                        params.user
                    ),
                )
                .hint("run the playbook again: it registers the kept secret"));
            }
            credentials.totp_registered_at = Some(SystemTime::now());
            store(&params, &credentials)?;
            if params.credentials_file.is_none() {
                show_on_terminal(&uri, &params.user);
            }
            Ok(StepOutput::new(format!("registered a TOTP authenticator for {} ({shown})", params.user))
                .with("has_totp", true)
                .with_warnings(warnings))
        })
    }
}

/// The credentials kept for this user, if any; a file kept for another user is refused.
fn load(params: &Params) -> Result<Option<Credentials>, StepFailure> {
    let Some(path) = &params.credentials_file else { return Ok(None) };
    let kept = Credentials::load(path).map_err(|err| credentials_failure("verify", err))?;
    if let Some(kept) = &kept
        && !kept.username.eq_ignore_ascii_case(&params.user)
    {
        return Err(StepFailure::new(
            "runner::credentials::other_user",
            format!("verify: {} holds the credentials of {}, not of {}", path.display(), kept.username, params.user),
        )
        .hint("give each sync user a credentials file of its own"));
    }
    Ok(kept)
}

fn store(params: &Params, credentials: &Credentials) -> Result<(), StepFailure> {
    match &params.credentials_file {
        Some(path) => credentials.store(path).map_err(|err| credentials_failure("verify", err)),
        None => Ok(()),
    }
}

/// Permissions that make a user "privileged" under Salesforce's 2026 phishing-resistant
/// MFA rules, as third-party write-ups describe them (real-org-review.md 7.5,
/// salesforce-api.md H); not confirmed by an official page.
const PRIVILEGES: [(&str, &str); 4] = [
    ("PermissionsViewAllData", "View All Data"),
    ("PermissionsModifyAllData", "Modify All Data"),
    ("PermissionsCustomizeApplication", "Customize Application"),
    ("PermissionsAuthorApex", "Author Apex"),
];

/// Warns when the sync user holds a permission that may make Salesforce refuse TOTP
/// for its UI logins. Unconfirmed, so a warning and not a failure.
fn privilege_warning(username: &str, observed: &Observed) -> Vec<String> {
    let held: Vec<&str> = PRIVILEGES
        .iter()
        .filter(|(field, _)| {
            observed
                .rows("privileges")
                .iter()
                .any(|a| a.get("PermissionSet").and_then(|p| p.get(*field)).and_then(Value::as_bool) == Some(true))
        })
        .map(|(_, label)| *label)
        .collect();
    if held.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{username} holds {}: third-party reports (unconfirmed by Salesforce documentation) say that from July 2026 \
         users with such permissions need phishing-resistant MFA for UI logins and that TOTP no longer satisfies it; \
         if StoreConnect's sign-in with the verification code is refused, that is the likely cause",
        held.join(", ")
    )]
}

/// Writes the QR code and URI straight to the terminal (stderr), never to stdout,
/// where `--json` and redirected logs go.
fn show_on_terminal(uri: &SecretString, username: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\nScan this with an authenticator app (Google Authenticator, Authy, …) for {username}:");
    if let Ok(qr) = totp::qr_for_terminal(uri) {
        let _ = writeln!(err, "{qr}");
    }
    let _ = writeln!(err, "or enter this URI by hand: {}", uri.expose_secret());
    let _ = writeln!(err, "This is shown once. Salesforce Authenticator is not supported by StoreConnect.\n");
}
