//! A sim-only stand-in for StoreConnect's Console: "Change Sync User → Apply
//! permissions → Enter verification code" (the procedure in
//! `/work/server/seeds/000_f450f65864bdbe47.txt`, salesforce-api.md F). A person signs
//! in as the new sync user there, so the route takes no bearer token and isn't API
//! usage; it still waits the configured latency and works under the state lock.
//!
//! - `POST /_sim/storeconnect/change-sync-user` `{"username","password","verification_code"}`
//! - `GET /_sim/storeconnect/state` → `{"configured_user_id","authenticated_user_id"}`
//!
//! StoreConnect's *authenticated* user (whose credentials it holds) is kept apart from
//! the *configured* one (`s_c__Setup_Configuration__c.s_c__Text__c`): only a sign-in
//! here changes the first, while any client can rewrite or delete the second
//! (real-org-review, risk 3).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::response::Response;
use ring::hmac;
use serde_json::{Map, Value, json};

use crate::access;
use crate::gate::ServerState;
use crate::http::json_response;
use crate::model::{Org, Record, normalize_id};
use crate::state::{Console, OrgState};
use crate::{dml, password, util};

const CONFIG_OBJECT: &str = "s_c__Setup_Configuration__c";
const CONFIG_NAME: &str = "selected_sync_user_id";
const CONFIG_FIELD: &str = "s_c__Text__c";

/// Why a sign-in is refused: the first condition a real sign-in would fail on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the request is malformed: {0}")]
    BadRequest(String),
    #[error("the StoreConnect package is not installed")]
    NoPackage,
    #[error("no user has the username {0}")]
    UnknownUser(String),
    // The Console's own words: "Note, you cannot select the same user."
    #[error("you cannot select the same user: StoreConnect is already configured with this sync user")]
    SameUser,
    #[error("the user is inactive")]
    Inactive,
    #[error("the user is frozen (UserLogin.IsFrozen)")]
    Frozen,
    #[error("the user has no password: set one (the password resource) before signing in")]
    NoPassword,
    #[error("the password is wrong")]
    WrongPassword,
    #[error("the user has no verification method: no TOTP authenticator (TwoFactorInfo) is registered")]
    NoVerificationMethod,
    #[error("the verification code is not valid for the user's authenticator")]
    BadCode,
    #[error("the user does not hold the Salesforce API Integration permission set licence")]
    MissingPsl,
    #[error("the user is not assigned the permission set {0}")]
    MissingPermissionSet(&'static str),
    #[error("StoreConnect could not store the configuration: {0}")]
    Internal(String),
}

impl Refusal {
    /// A stable id for tests and clients.
    pub fn condition(&self) -> &'static str {
        match self {
            Refusal::BadRequest(_) => "bad_request",
            Refusal::NoPackage => "no_package",
            Refusal::UnknownUser(_) => "unknown_user",
            Refusal::SameUser => "same_user",
            Refusal::Inactive => "user_inactive",
            Refusal::Frozen => "user_frozen",
            Refusal::NoPassword => "no_password",
            Refusal::WrongPassword => "wrong_password",
            Refusal::NoVerificationMethod => "no_verification_method",
            Refusal::BadCode => "bad_verification_code",
            Refusal::MissingPsl => "missing_psl",
            Refusal::MissingPermissionSet(_) => "missing_permission_set",
            Refusal::Internal(_) => "internal",
        }
    }

    /// 401 for credentials and codes, 403 for the user's state and permissions.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::NoPackage | Refusal::UnknownUser(_) => 404,
            Refusal::SameUser => 409,
            Refusal::NoPassword | Refusal::WrongPassword | Refusal::NoVerificationMethod | Refusal::BadCode => 401,
            Refusal::Inactive | Refusal::Frozen | Refusal::MissingPsl | Refusal::MissingPermissionSet(_) => 403,
            Refusal::Internal(_) => 500,
        }
    }
}

/// The seeded state of StoreConnect's side: it authenticated the configured sync user.
pub fn seeded_console(org: &Org) -> Console {
    Console { authenticated_user: configured_user(org) }
}

fn str_of<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

fn config_record(org: &Org) -> Option<&Record> {
    org.schema.definition(CONFIG_OBJECT)?;
    org.records(CONFIG_OBJECT).find(|r| str_of(r, "Name") == Some(CONFIG_NAME))
}

/// The configured sync user as an 18-character id (the record may hold 15 or 18).
pub fn configured_user(org: &Org) -> Option<String> {
    config_record(org).and_then(|r| str_of(r, CONFIG_FIELD)).and_then(|t| normalize_id(t.trim()))
}

/// One HOTP value (RFC 4226 §5.3) of `digits` digits, with HMAC-SHA1.
fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let h = tag.as_ref();
    let offset = h.last().map(|b| (b & 0x0f) as usize).unwrap_or(0);
    let word = match h.get(offset..offset + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a & 0x7f, b, c, d]),
        _ => return u32::MAX,
    };
    word % 10u32.pow(digits)
}

/// Whether `code` is a current TOTP code for the base32 `secret`: RFC 6238 with the
/// defaults every authenticator app implements, HMAC-SHA1, 6 digits, 30 s, T0 = 0,
/// and ±1 step of drift (salesforce-api.md G; Salesforce's own parameters are
/// unconfirmed).
pub fn totp_valid(secret_b32: &str, code: &str, unix_secs: u64) -> bool {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(secret) = data_encoding::BASE32_NOPAD.decode(secret_b32.trim_end_matches('=').as_bytes()) else {
        return false;
    };
    let step = unix_secs / 30;
    [step.saturating_sub(1), step, step + 1].iter().any(|&counter| format!("{:06}", hotp(&secret, counter, 6)) == code)
}

/// What the request carries.
struct SignIn {
    username: String,
    password: Option<String>,
    code: Option<String>,
}

fn parse(body: &[u8]) -> Result<SignIn, Refusal> {
    let map: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(Refusal::BadRequest("the body must be a JSON object".into())),
        Err(e) => return Err(Refusal::BadRequest(format!("the body is not JSON ({e})"))),
    };
    let text = |key: &str| match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Refusal::BadRequest(format!("{key} must be a string"))),
    };
    let username = text("username")?.ok_or_else(|| Refusal::BadRequest("username is required".into()))?;
    Ok(SignIn { username, password: text("password")?, code: text("verification_code")? })
}

/// Every check of a real sign-in, in the order a person meets them; answers the
/// user's id.
fn check(org: &Org, req: &SignIn, unix_secs: u64) -> Result<String, Refusal> {
    if org.schema.definition(CONFIG_OBJECT).is_none() {
        return Err(Refusal::NoPackage);
    }
    let user = org
        .records("User")
        .find(|u| str_of(u, "Username").is_some_and(|n| n.eq_ignore_ascii_case(req.username.trim())))
        .ok_or_else(|| Refusal::UnknownUser(req.username.clone()))?;
    let id = str_of(user, "Id").unwrap_or_default().to_string();
    // The Console refuses the same user when it is picked, before any sign-in.
    if configured_user(org).as_deref() == Some(id.as_str()) {
        return Err(Refusal::SameUser);
    }
    if user.get("IsActive").and_then(Value::as_bool) != Some(true) {
        return Err(Refusal::Inactive);
    }
    // "If a user's account is frozen, they can't log in" (official UserLogin, C.1).
    let frozen = org
        .records("UserLogin")
        .any(|l| str_of(l, "UserId") == Some(id.as_str()) && l.get("IsFrozen").and_then(Value::as_bool) == Some(true));
    if frozen {
        return Err(Refusal::Frozen);
    }
    // API-created users have no password (C.1; real-org-review 3.4).
    if !password::has_password(org, &id) {
        return Err(Refusal::NoPassword);
    }
    if !req.password.as_deref().is_some_and(|p| password::matches(org, &id, p)) {
        return Err(Refusal::WrongPassword);
    }
    // StoreConnect signs in with "verification codes from an authenticator app" (F.4),
    // registered as a TOTP TwoFactorInfo (C.6).
    let secret = org
        .records("TwoFactorInfo")
        .filter(|t| str_of(t, "UserId") == Some(id.as_str()) && str_of(t, "Type") == Some("TOTP"))
        .find_map(|t| org.hidden(str_of(t, "Id")?, "SharedKey")?.as_str().map(str::to_string))
        .ok_or(Refusal::NoVerificationMethod)?;
    if !req.code.as_deref().is_some_and(|c| totp_valid(&secret, c.trim(), unix_secs)) {
        return Err(Refusal::BadCode);
    }
    // The procedure says StoreConnect "will apply the required permissions
    // automatically"; whether it can assign the PSL and sets itself is unconfirmed, so
    // the sim requires them already assigned (F steps 1-2), the stricter reading.
    if !access::holds_psl(org, &id, access::INTEGRATION_PSL) {
        return Err(Refusal::MissingPsl);
    }
    let wanted: [(&str, Option<&str>, &'static str); 2] = [
        ("storeConnect_Sync", Some("s_c"), "StoreConnect Sync User Permission (s_c__storeConnect_Sync)"),
        ("storeConnect_Sync_standard", None, "StoreConnect Sync Standard Permission (storeConnect_Sync_standard)"),
    ];
    for (name, namespace, label) in wanted {
        let assigned =
            org.records("PermissionSetAssignment").filter(|a| str_of(a, "AssigneeId") == Some(id.as_str())).any(|a| {
                str_of(a, "PermissionSetId").and_then(|ps| org.get(ps)).is_some_and(|(_, ps)| {
                    str_of(ps, "Name") == Some(name) && str_of(ps, "NamespacePrefix") == namespace
                })
            });
        if !assigned {
            return Err(Refusal::MissingPermissionSet(label));
        }
    }
    Ok(id)
}

/// Points the configuration at the user, creating the record if it was deleted.
fn configure(org_state: &mut OrgState, user_id: &str) -> Result<(), Refusal> {
    // 15 characters, as seeded: the stored form is unconfirmed (real-org-review 8.3).
    let short = user_id.get(..15).unwrap_or(user_id).to_string();
    let existing = config_record(&org_state.org).and_then(|r| str_of(r, "Id").map(str::to_string));
    let mut body = Map::new();
    body.insert(CONFIG_FIELD.into(), Value::String(short));
    let written = match existing {
        Some(id) => dml::update(org_state, CONFIG_OBJECT, &id, &body, None),
        None => {
            body.insert("Name".into(), Value::String(CONFIG_NAME.into()));
            dml::insert(org_state, CONFIG_OBJECT, &body, None).map(|_| ())
        }
    };
    written.map_err(|e| Refusal::Internal(e.to_string()))?;
    // A sign-in is a login.
    if let Some(user) = org_state.org.get_mut(user_id) {
        user.insert("LastLoginDate".into(), Value::String(util::now_sf()));
    }
    Ok(())
}

fn change(org_state: &mut OrgState, body: &[u8]) -> Result<String, Refusal> {
    let req = parse(body)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let id = check(&org_state.org, &req, now)?;
    configure(org_state, &id)?;
    org_state.console.authenticated_user = Some(id.clone());
    Ok(id)
}

/// `POST /_sim/storeconnect/change-sync-user`.
pub async fn change_sync_user(AxState(server): AxState<Arc<ServerState>>, body: Bytes) -> Response {
    server.latency().await;
    let outcome = {
        let mut session = server.lock();
        change(&mut session.org_state, &body)
    };
    match outcome {
        Ok(id) => json_response(200, &json!({"ok": true, "user_id": id})),
        Err(refusal) => json_response(
            refusal.status(),
            &json!({"ok": false, "reason": refusal.to_string(), "condition": refusal.condition()}),
        ),
    }
}

/// `GET /_sim/storeconnect/state`.
pub async fn state(AxState(server): AxState<Arc<ServerState>>) -> Response {
    server.latency().await;
    let body = {
        let session = server.lock();
        json!({
            "configured_user_id": configured_user(&session.org_state.org),
            "authenticated_user_id": session.org_state.console.authenticated_user,
        })
    };
    json_response(200, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotp_matches_rfc_6238_vectors() {
        // RFC 6238 Appendix B, SHA1, 8 digits, secret "12345678901234567890".
        let secret = b"12345678901234567890";
        for (t, want) in
            [(59u64, 94_287_082), (1_111_111_109, 7_081_804), (1_234_567_890, 89_005_924), (2_000_000_000, 69_279_037)]
        {
            assert_eq!(hotp(secret, t / 30, 8), want, "t={t}");
        }
    }

    #[test]
    fn totp_allows_one_step_of_drift() {
        let b32 = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        // At t=59 the 6-digit code is the last 6 digits of 94287082.
        assert!(totp_valid(&b32, "287082", 59));
        assert!(totp_valid(&b32, "287082", 59 + 30));
        assert!(!totp_valid(&b32, "287082", 59 + 60));
        assert!(!totp_valid(&b32, "28708", 59));
        assert!(!totp_valid(&b32, "abcdef", 59));
        assert!(!totp_valid("not base32!", "287082", 59));
    }

    #[test]
    fn bodies_parse_or_refuse() {
        assert!(matches!(parse(b"nope"), Err(Refusal::BadRequest(_))));
        assert!(matches!(parse(br#"{"password": "x"}"#), Err(Refusal::BadRequest(_))));
        assert!(matches!(parse(br#"{"username": "a@b.c", "verification_code": 123456}"#), Err(Refusal::BadRequest(_))));
        let ok = parse(br#"{"username": "a@b.c"}"#).ok();
        assert!(ok.is_some_and(|s| s.username == "a@b.c" && s.password.is_none() && s.code.is_none()));
    }

    #[test]
    fn the_no_password_reason_says_password() {
        assert!(Refusal::NoPassword.to_string().contains("password"));
        assert_eq!(Refusal::NoPassword.condition(), "no_password");
    }
}
