//! `verify`: registers a TOTP authenticator as the user's verification method, so that
//! the first login as the sync user (and StoreConnect's) can answer MFA.
//!
//! The secret is shown once, on the terminal, or written to a 0600 file; it never
//! reaches the step's output, the journal or `--json`.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;

use runner_core::report::Change;
use runner_core::run::soql_quote;
use runner_core::step::{
    BoxFuture, Observed, ParamDoc, ParamType, Read, Step, StepCtx, StepFailure, StepMeta, StepOutput, Write,
};
use runner_core::totp::{self, TotpSecret};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::common::{UserState, require_user, str_field, user_read};

pub struct Verify;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    user: String,
    secret_file: Option<PathBuf>,
    #[serde(default)]
    rotate: bool,
    issuer: Option<String>,
}

static META: StepMeta = StepMeta {
    name: "verify",
    summary: "Register a TOTP authenticator as the user's verification method",
    description: "Inserts TwoFactorInfo (Type TOTP) with a random 20-byte secret in base32, then confirms through \
TwoFactorMethodsInfo.HasTotp. A user who already has TOTP is ok; `rotate: true` replaces it. The secret is shown \
once: a QR code and the otpauth:// URI on the terminal, or written to `secret_file` (mode 0600). \
`runner totp code --secret-file F` prints the current code for the first login. Salesforce Authenticator is not \
offered: StoreConnect does not support it.",
    params: &[
        ParamDoc { name: "user", ty: ParamType::String, required: true, default: None, doc: "Username of the user" },
        ParamDoc {
            name: "secret_file",
            ty: ParamType::String,
            required: false,
            default: None,
            doc: "Write the secret here (mode 0600) instead of showing it",
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

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        let user = soql_quote(&params.user);
        Ok(vec![
            user_read(&params.user),
            Read::new(
                "methods",
                format!("SELECT Id, UserId, HasTotp FROM TwoFactorMethodsInfo WHERE User.Username = {user}"),
            ),
            Read::new(
                "registered",
                format!("SELECT Id, Type FROM TwoFactorInfo WHERE User.Username = {user} AND Type = 'TOTP'"),
            ),
        ])
    }

    fn apply<'a>(
        &'a self,
        params: Params,
        observed: Observed,
        ctx: &'a mut StepCtx,
    ) -> BoxFuture<'a, Result<StepOutput, StepFailure>> {
        Box::pin(async move {
            let user = require_user("verify", &observed, ctx, &params.user)?;
            let has_totp =
                observed.rows("methods").iter().any(|m| m.get("HasTotp").and_then(Value::as_bool) == Some(true));
            if has_totp && !params.rotate {
                return Ok(
                    StepOutput::new(format!("{} already has a TOTP authenticator", params.user)).with("has_totp", true)
                );
            }
            let target = format!("User {}", params.user);
            let change = if has_totp {
                Change::new(target, Some("TOTP authenticator"), "registered", "replaced with a new secret")
            } else {
                Change::new(target, Some("TOTP authenticator"), "absent", "registered")
            };
            if ctx.check_mode() {
                ctx.note_change(change);
                let shown = match &params.secret_file {
                    Some(path) => format!("written to {}", path.display()),
                    None => "shown on the terminal".to_string(),
                };
                return Ok(StepOutput::new(format!(
                    "would register a TOTP authenticator for {} (secret {shown})",
                    params.user
                )));
            }
            let UserState::Found(found) = user else {
                return Err(StepFailure::new(
                    "runner::step::user_not_found",
                    format!("verify: there is no user {}", params.user),
                ));
            };
            let user_id = str_field(found, "Id").unwrap_or_default().to_string();
            let interactive = std::io::stderr().is_terminal();
            if params.secret_file.is_none() && !interactive {
                return Err(StepFailure::new(
                    "runner::verify::nowhere_to_show_secret",
                    "verify: there is no terminal to show the TOTP secret on, and no secret_file to write it to",
                )
                .hint("pass `secret_file: \"…\"` (setup.rhai takes --var totp_file=PATH) so the secret is kept"));
            }
            let issuer = params.issuer.clone().unwrap_or_else(|| "Salesforce".to_string());
            // Keep the secret before registering it: a registered secret nobody has locks
            // the user out. A file left by an interrupted run is reused, so that a re-run
            // registers the secret the consultant already holds.
            let reuse = params.secret_file.as_ref().filter(|p| p.exists() && !params.rotate);
            let secret = match reuse {
                Some(path) => totp::read_secret_file(path).map_err(|err| {
                    StepFailure::new("runner::verify::secret_file", format!("verify: {err}"))
                        .hint("remove the file, or pass `rotate: true` to replace it")
                })?,
                None => TotpSecret::generate()
                    .map_err(|err| StepFailure::new("runner::verify::random", format!("verify: {err}")))?,
            };
            let uri = totp::otpauth_uri(&secret, &issuer, &params.user);
            if let (Some(path), None) = (&params.secret_file, reuse) {
                totp::write_secret_file(path, &secret, &uri, params.rotate).map_err(|err| {
                    StepFailure::new("runner::verify::secret_file", format!("verify: {err}"))
                        .hint("choose another secret_file, or remove the old one if it is no longer needed")
                })?;
            }
            let mut writes = Vec::new();
            if params.rotate {
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
            fields.insert("SharedKey".into(), json!(secret.expose_base32().expose_secret()));
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
                .hint("the running user needs the \"Manage Multi-Factor Authentication in API\" permission"));
            }
            let shown = match &params.secret_file {
                Some(path) => format!("secret written to {}", path.display()),
                None => {
                    show_on_terminal(&uri, &params.user);
                    "secret shown on the terminal".to_string()
                }
            };
            Ok(StepOutput::new(format!("registered a TOTP authenticator for {} ({shown})", params.user))
                .with("has_totp", true))
        })
    }
}

/// Writes the QR code and URI straight to the terminal (stderr), never to stdout,
/// where `--json` and redirected logs go.
fn show_on_terminal(uri: &secrecy::SecretString, username: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\nScan this with an authenticator app (Google Authenticator, Authy, …) for {username}:");
    if let Ok(qr) = totp::qr_for_terminal(uri) {
        let _ = writeln!(err, "{qr}");
    }
    let _ = writeln!(err, "or enter this URI by hand: {}", uri.expose_secret());
    let _ = writeln!(err, "This is shown once. Salesforce Authenticator is not supported by StoreConnect.\n");
}
