//! `verify`: registers a TOTP authenticator as the user's verification method, so that
//! the first login as the sync user (and StoreConnect's) can answer MFA.
//!
//! The secret is kept in the user's credentials file (mode 0600), which `set_password`
//! shares, or shown once on the terminal; it never reaches the step's output, the
//! journal or `--json`.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::SystemTime;

use runner_core::step::prelude::*;
use runner_core::totp::{self, TotpSecret};
use secrecy::{ExposeSecret, SecretString};

use crate::common::{UserState, mfa_permission_read, require_mfa_permission, require_user, user_read};
use crate::kept::Kept;

pub struct Verify;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Username of the user.
    user: String,
    /// The user's credentials file (mode 0600), shared with set_password; `secret_file`,
    /// its name from before the file held the password too, is an alias.
    #[serde(alias = "secret_file")]
    credentials_file: Option<PathBuf>,
    /// Replace an existing TOTP registration with a new secret.
    #[serde(default)]
    #[schemars(extend("default" = false))]
    rotate: bool,
    /// Issuer shown by the authenticator app.
    #[schemars(extend("default" = DEFAULT_ISSUER))]
    issuer: Option<String>,
}

const DEFAULT_ISSUER: &str = "Salesforce";

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
};

impl Step for Verify {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
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
        reads.push(mfa_permission_read());
        Ok(reads)
    }

    async fn apply(&self, params: Params, observed: Observed, ctx: &mut StepCtx) -> Result<StepOutput, StepFailure> {
        require_mfa_permission("verify", &observed, ctx, &["methods", "registered"])?;
        let user = require_user("verify", &observed, ctx, &params.user)?;
        let warnings = privilege_warning(&params.user, &observed)?;
        let file = Kept::new("verify", params.credentials_file.as_deref(), &params.user);
        let kept = file.load()?;
        let has_totp =
            observed.rows("methods")?.iter().any(|m| m.get("HasTotp").and_then(Value::as_bool) == Some(true));
        let held = kept.as_ref().is_some_and(|c| c.totp_secret().is_some() && c.totp_registered_at.is_some());
        if has_totp && !params.rotate && (held || !file.in_file()) {
            let summary = if held {
                format!("{} has a TOTP authenticator, its secret kept in the credentials file", params.user)
            } else {
                format!("{} already has a TOTP authenticator", params.user)
            };
            return Ok(StepOutput::new(summary).with("has_totp", true).with_warnings(warnings));
        }
        file.require_somewhere(ctx, "runner::verify::nowhere_to_show_secret", "the TOTP secret")?;
        let target = format!("User {}", params.user);
        let change = if has_totp {
            Change::new(target, Some("TOTP authenticator"), "registered", "replaced with a new secret")
        } else {
            Change::new(target, Some("TOTP authenticator"), "absent", "registered")
        };
        // A secret an interrupted run kept, and never confirmed, is registered as it is, so
        // the authenticator the consultant scanned stays valid. `load` only returns a
        // regular 0600 file of the effective user, so it cannot have been planted.
        let reuse = !params.rotate
            && kept.as_ref().is_some_and(|c| c.totp_secret().is_some() && c.totp_registered_at.is_none());
        let shown = match (reuse, params.credentials_file.as_deref()) {
            (true, Some(path)) => format!("reused the secret kept in {}", path.display()),
            _ => format!("secret {}", file.describe()),
        };
        if ctx.check_mode() {
            ctx.note_change(change);
            return Ok(StepOutput::new(format!("would register a TOTP authenticator for {} ({shown})", params.user))
                .with_warnings(warnings));
        }
        let UserState::Found(found) = user else {
            return Err(StepFailure::new(
                "runner::step::user_not_found",
                format!("verify: there is no user {}", params.user),
            ));
        };
        let user_id = str_field(found, "Id").unwrap_or_default().to_string();
        let issuer = params.issuer.clone().unwrap_or_else(|| DEFAULT_ISSUER.to_string());
        let mut credentials = kept.unwrap_or_else(|| file.fresh(ctx));
        // Keep the secret before registering it: a registered secret nobody holds locks
        // the user out.
        if !reuse {
            let secret = TotpSecret::generate()
                .map_err(|err| StepFailure::new("runner::verify::random", format!("verify: {err}")))?;
            credentials.set_totp(secret, &issuer);
            file.store(&credentials)?;
        }
        let (shared_key, uri) = match (credentials.totp_secret(), credentials.expose_otpauth_uri()) {
            (Some(secret), Some(uri)) => (secret.expose_base32(), SecretString::from(uri.to_string())),
            _ => return Err(StepFailure::new("runner::internal", "verify: the kept secret vanished")),
        };
        let mut writes = Vec::new();
        if has_totp {
            for old in observed.rows("registered")? {
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
        let (_, confirmation) = ctx
            .write_then_confirm(
                writes,
                &format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE UserId = {}", soql_quote(&user_id)),
                |answer| answer.records.iter().any(|m| m.get("HasTotp").and_then(Value::as_bool) == Some(true)),
            )
            .await?;
        let confirmed = confirmation.is_some();
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
        file.store(&credentials)?;
        if !file.in_file() {
            show_on_terminal(&uri, &params.user);
        }
        Ok(StepOutput::new(format!("registered a TOTP authenticator for {} ({shown})", params.user))
            .with("has_totp", true)
            .with_warnings(warnings))
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
fn privilege_warning(username: &str, observed: &Observed) -> Result<Vec<String>, StepFailure> {
    let assigned = observed.rows("privileges")?;
    let held: Vec<&str> = PRIVILEGES
        .iter()
        .filter(|(field, _)| {
            assigned
                .iter()
                .any(|a| a.get("PermissionSet").and_then(|p| p.get(*field)).and_then(Value::as_bool) == Some(true))
        })
        .map(|(_, label)| *label)
        .collect();
    if held.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![format!(
        "{username} holds {}: third-party reports (unconfirmed by Salesforce documentation) say that from July 2026 \
         users with such permissions need phishing-resistant MFA for UI logins and that TOTP no longer satisfies it; \
         if StoreConnect's sign-in with the verification code is refused, that is the likely cause",
        held.join(", ")
    )])
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
