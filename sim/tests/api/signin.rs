//! Passwords, the MFA permission gate, the licence rule on object permissions, and
//! the sim-only StoreConnect sign-in, over real HTTP.

use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use runner_sim::{ADMIN_USERNAME, SYNC_USERNAME, Scenario};
use serde_json::{Value, json};

use crate::common::*;

const KEY: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const GOOD_PASSWORD: &str = "Tr0ub4dor-and-3";
const NOT_SUPPORTED_TAIL: &str = "is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.";

// ------------------------------------------------------------------ helpers

/// The RFC 6238 code of `secret` at step `step` (SHA1, 6 digits), written here from
/// the RFC rather than taken from the sim.
fn hotp(secret_b32: &str, step: u64) -> String {
    let secret = data_encoding::BASE32_NOPAD.decode(secret_b32.as_bytes()).expect("base32 key");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &secret);
    let h = ring::hmac::sign(&key, &step.to_be_bytes());
    let h = h.as_ref();
    let o = (h[19] & 0x0f) as usize;
    let word = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]);
    format!("{:06}", word % 1_000_000)
}

fn step_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() / 30
}

fn code_now(secret: &str) -> String {
    hotp(secret, step_now())
}

/// A code valid for none of the steps the sim accepts around now.
fn wrong_code(secret: &str) -> String {
    let step = step_now();
    let valid: Vec<String> = (step - 2..=step + 2).map(|s| hotp(secret, s)).collect();
    (0..10u32).map(|n| format!("{:06}", n * 111_111)).find(|c| !valid.contains(c)).expect("a wrong code")
}

async fn id_of(sim: &Sim, soql: &str) -> String {
    sim.query_one(soql, "Id").await.as_str().unwrap_or_default().to_string()
}

async fn profile_on(sim: &Sim, license: &str) -> String {
    id_of(sim, &format!("SELECT Id FROM Profile WHERE UserLicense.Name = '{license}' ORDER BY Name LIMIT 1")).await
}

async fn new_user(sim: &Sim, username: &str, license: &str) -> String {
    let profile = profile_on(sim, license).await;
    sim.create(
        "User",
        json!({
            "Username": username, "LastName": "Sync", "FirstName": "Next", "Email": "ops@client.example",
            "Alias": "nxsync", "TimeZoneSidKey": "Australia/Sydney", "LocaleSidKey": "en_AU",
            "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "ProfileId": profile,
        }),
    )
    .await
}

async fn set_id(sim: &Sim, name: &str) -> String {
    id_of(sim, &format!("SELECT Id FROM PermissionSet WHERE Name = '{name}'")).await
}

async fn psl_id(sim: &Sim) -> String {
    id_of(sim, "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'").await
}

async fn sign_in(sim: &Sim, username: &str, password: &str, code: &str) -> Reply {
    let body = json!({"username": username, "password": password, "verification_code": code});
    sim.send(Method::POST, &sim.url("/_sim/storeconnect/change-sync-user"), Some(&body), None).await
}

async fn console_state(sim: &Sim) -> Value {
    let reply = sim.send(Method::GET, &sim.url("/_sim/storeconnect/state"), None, None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

/// Asserts a refused sign-in: status and condition, and answers the reason.
fn refused(reply: &Reply, status: u16, condition: &str) -> String {
    assert_eq!(
        (reply.status.as_u16(), reply.body["condition"].as_str(), reply.body["ok"].as_bool()),
        (status, Some(condition), Some(false)),
        "{}",
        reply.body
    );
    reply.body["reason"].as_str().unwrap_or_default().to_string()
}

fn password_path(user: &str) -> String {
    format!("sobjects/User/{user}/password")
}

// ------------------------------------------------------------------ passwords

#[tokio::test]
async fn api_users_have_no_password_until_one_is_set() {
    let sim = sim().await;
    let user = new_user(&sim, "pw.user@client.example", "Salesforce Integration").await;
    let record = sim.get(&format!("sobjects/User/{user}")).await.body;
    assert_eq!(record["LastPasswordChangeDate"], Value::Null);
    let reply = sim.get(&password_path(&user)).await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (200, json!({"isExpired": true})));

    // Policy failures: too short, no digit, no letter, the username, the word "password".
    for weak in ["ab1", "lettersonlyhere", "12345678901", "pw.user2024", "MyPassword99"] {
        let reply = sim.post(&password_path(&user), &json!({"NewPassword": weak})).await;
        assert_eq!(reply.status, 400, "{weak}: {}", reply.body);
        assert_eq!(error_of(&reply).0, "INVALID_NEW_PASSWORD", "{weak}");
    }
    let reply = sim.post(&password_path(&user), &json!({"NewPassword": "short1"})).await;
    assert_eq!(
        reply.body,
        json!([{"message": "Your password must have a mix of letters and numbers and be at least 8 characters long.", "errorCode": "INVALID_NEW_PASSWORD"}])
    );
    // Malformed bodies.
    let reply = sim.post(&password_path(&user), &json!({})).await;
    assert_eq!((reply.status.as_u16(), error_of(&reply).0.as_str()), (400, "INVALID_FIELD"));
    let reply = sim.post(&password_path(&user), &json!({"NewPassword": 12345678})).await;
    assert_eq!((reply.status.as_u16(), error_of(&reply).0.as_str()), (400, "JSON_PARSER_ERROR"));
    let reply = sim.post(&password_path(&user), &json!(["x"])).await;
    assert_eq!((reply.status.as_u16(), error_of(&reply).0.as_str()), (400, "JSON_PARSER_ERROR"));
    assert_eq!(sim.get(&format!("sobjects/User/{user}")).await.body["LastPasswordChangeDate"], Value::Null);

    let reply = sim.post(&password_path(&user), &json!({"NewPassword": GOOD_PASSWORD})).await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (204, Value::Null));
    let after = sim.get(&format!("sobjects/User/{user}")).await.body;
    assert!(after["LastPasswordChangeDate"].is_string(), "{after}");
    assert_eq!(after["LastModifiedDate"], after["LastPasswordChangeDate"]);
    // Set by an admin: temporary.
    assert_eq!(sim.get(&password_path(&user)).await.body, json!({"isExpired": true}));
    // Never readable.
    let text = sim.get(&format!("sobjects/User/{user}")).await.body.to_string()
        + &sim.query(&format!("SELECT Id, Name, LastPasswordChangeDate FROM User WHERE Id = '{user}'")).await[0]
            .to_string();
    assert!(!text.contains(GOOD_PASSWORD));

    // A reset returns nothing and leaves the user without a usable password.
    let reply = sim.delete(&password_path(&user)).await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (204, Value::Null));
    assert_eq!(sim.get(&password_path(&user)).await.body, json!({"isExpired": true}));
    let reason = refused(&sign_in(&sim, "pw.user@client.example", GOOD_PASSWORD, "000000").await, 401, "no_password");
    assert!(reason.contains("password"), "{reason}");
}

#[tokio::test]
async fn seeded_users_have_a_password_and_the_resource_checks_ids_and_sessions() {
    let sim = sim().await;
    for username in [SYNC_USERNAME, ADMIN_USERNAME] {
        let user = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{username}'")).await;
        assert!(sim.get(&format!("sobjects/User/{user}")).await.body["LastPasswordChangeDate"].is_string());
        assert_eq!(sim.get(&password_path(&user)).await.body, json!({"isExpired": false}), "{username}");
    }
    let sync = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    // A 15-character id works as on other row routes.
    assert_eq!(sim.get(&password_path(&sync[..15])).await.status, 200);
    let missing = format!("{}zzzzz", &sync[..10]);
    let reply = sim.get(&password_path(&missing)).await;
    assert_eq!((reply.status.as_u16(), error_of(&reply).0.as_str()), (404, "NOT_FOUND"));
    let account = id_of(&sim, "SELECT Id FROM Account LIMIT 1").await;
    let reply = sim.get(&password_path(&account)).await;
    assert_eq!((reply.status.as_u16(), error_of(&reply).0.as_str()), (400, "MALFORMED_ID"));
    let reply = sim.get(&format!("sobjects/Account/{account}/password")).await;
    assert_eq!(reply.status, 404);
    let reply = sim.call(Method::PATCH, &password_path(&sync), Some(&json!({"NewPassword": GOOD_PASSWORD}))).await;
    assert_eq!(reply.status, 405);

    // Through the same gate as any REST call: a session, and API usage.
    let reply = sim.send(Method::GET, &sim.data(&password_path(&sync)), None, Some("00Dbogus!token")).await;
    assert_eq!((reply.status.as_u16(), error_of(&reply).0.as_str()), (401, "INVALID_SESSION_ID"));
    let before = sim.handle.api_calls();
    sim.get(&password_path(&sync)).await;
    assert_eq!(sim.handle.api_calls(), before + 1);
}

// ------------------------------------------------------------------ MFA permission gate

#[tokio::test]
async fn mfa_objects_are_invalid_types_without_the_permission() {
    let sim = sim_scenario(Scenario::NoMfaPermission).await;
    let sync = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    for object in ["TwoFactorMethodsInfo", "TwoFactorInfo"] {
        let reply = sim.get(&format!("query?q={}", encode(&format!("SELECT Id FROM {object}")))).await;
        assert_eq!(reply.status, 400, "{}", reply.body);
        let (code, message) = error_of(&reply);
        assert_eq!(code, "INVALID_TYPE");
        assert!(message.ends_with(&format!("sObject type '{object}' {NOT_SUPPORTED_TAIL}")), "{message}");

        let reply = sim.get(&format!("sobjects/{object}/describe")).await;
        assert_eq!(
            reply.body,
            json!([{"message": format!("sObject type '{object}' {NOT_SUPPORTED_TAIL}"), "errorCode": "INVALID_TYPE"}])
        );
        assert_eq!(reply.status, 400);
    }
    // DML.
    let reply = sim.post("sobjects/TwoFactorInfo", &json!({"UserId": sync, "Type": "TOTP", "SharedKey": KEY})).await;
    assert_eq!(
        (reply.status.as_u16(), error_of(&reply)),
        (400, ("INVALID_TYPE".to_string(), format!("sObject type 'TwoFactorInfo' {NOT_SUPPORTED_TAIL}")))
    );
    let reply = sim
        .post(
            "composite/sobjects",
            &json!({"allOrNone": false, "records": [{"attributes": {"type": "TwoFactorInfo"}, "UserId": sync, "Type": "TOTP", "SharedKey": KEY}]}),
        )
        .await;
    assert_eq!(reply.body[0]["errors"][0]["statusCode"], "INVALID_TYPE", "{}", reply.body);
    // A batch subrequest and a composite subrequest.
    let q = encode(&format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE UserId = '{sync}'"));
    let reply = sim
        .post(
            "composite/batch",
            &json!({"batchRequests": [{"method": "GET", "url": "v62.0/limits"}, {"method": "GET", "url": format!("v62.0/query?q={q}")}]}),
        )
        .await;
    assert_eq!(reply.body["hasErrors"], true);
    assert_eq!(reply.body["results"][0]["statusCode"], 200);
    assert_eq!(reply.body["results"][1]["statusCode"], 400);
    assert_eq!(reply.body["results"][1]["result"][0]["errorCode"], "INVALID_TYPE");
    let reply = sim
        .post(
            "composite",
            &json!({"compositeRequest": [{"method": "GET", "url": format!("/services/data/v62.0/query?q={q}"), "referenceId": "mfa"}]}),
        )
        .await;
    assert_eq!(reply.body["compositeResponse"][0]["body"][0]["errorCode"], "INVALID_TYPE", "{}", reply.body);
    // Not in the global describe either.
    let names: Vec<Value> = sim.get("sobjects").await.body["sobjects"]
        .as_array()
        .map(|a| a.iter().map(|o| o["name"].clone()).collect())
        .unwrap_or_default();
    assert!(names.contains(&json!("User")) && !names.contains(&json!("TwoFactorInfo")));

    // Granting the permission through an assigned permission set opens them.
    let admin = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{ADMIN_USERNAME}'")).await;
    let ps = sim
        .create("PermissionSet", json!({"Name": "Mfa_Api", "Label": "MFA API", "PermissionsManageTwoFactor": true}))
        .await;
    sim.create("PermissionSetAssignment", json!({"AssigneeId": admin, "PermissionSetId": ps})).await;
    assert_eq!(
        sim.query_one(&format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE UserId = '{sync}'"), "HasTotp").await,
        true
    );
}

#[tokio::test]
async fn the_admin_holds_the_mfa_permission_in_the_default_scenario() {
    let sim = sim().await;
    let held = sim
        .query("SELECT PermissionsManageTwoFactor FROM PermissionSet WHERE IsOwnedByProfile = true AND Profile.Name = 'System Administrator'")
        .await;
    assert_eq!(held[0]["PermissionsManageTwoFactor"], true);
    assert_eq!(sim.get("query?q=SELECT+Id+FROM+TwoFactorMethodsInfo").await.status, 200);
    assert_eq!(sim.get("sobjects/TwoFactorInfo/describe").await.status, 200);
    let no_mfa = sim_scenario(Scenario::NoMfaPermission).await;
    let held = no_mfa
        .query("SELECT PermissionsManageTwoFactor FROM PermissionSet WHERE IsOwnedByProfile = true AND Profile.Name = 'System Administrator'")
        .await;
    assert_eq!(held[0]["PermissionsManageTwoFactor"], false);
}

#[tokio::test]
async fn user_permission_access_is_the_running_users_effective_permissions() {
    const SOQL: &str = "SELECT PermissionsManageTwoFactor, PermissionsModifyAllData FROM UserPermissionAccess";
    let sim = sim().await;
    let rows = sim.query(SOQL).await;
    assert_eq!(rows.len(), 1, "one row, the running user's: {rows:?}");
    assert_eq!(
        (rows[0]["PermissionsManageTwoFactor"].clone(), rows[0]["PermissionsModifyAllData"].clone()),
        (json!(true), json!(true))
    );

    // Without it on the profile, then granted through an assigned permission set: the
    // row follows, on the next read.
    let no_mfa = sim_scenario(Scenario::NoMfaPermission).await;
    let rows = no_mfa.query(SOQL).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["PermissionsManageTwoFactor"], false, "{rows:?}");
    assert_eq!(rows[0]["PermissionsModifyAllData"], true, "the profile's other permissions still count");
    let admin = id_of(&no_mfa, &format!("SELECT Id FROM User WHERE Username = '{ADMIN_USERNAME}'")).await;
    let ps = no_mfa
        .create("PermissionSet", json!({"Name": "Mfa_Api", "Label": "MFA API", "PermissionsManageTwoFactor": true}))
        .await;
    let assignment =
        no_mfa.create("PermissionSetAssignment", json!({"AssigneeId": admin, "PermissionSetId": ps})).await;
    assert_eq!(no_mfa.query_one(SOQL, "PermissionsManageTwoFactor").await, true);
    assert_eq!(no_mfa.delete(&format!("sobjects/PermissionSetAssignment/{assignment}")).await.status, 204);
    assert_eq!(no_mfa.query_one(SOQL, "PermissionsManageTwoFactor").await, false, "unassigned, it is gone again");

    // A permission the org does not know is an unknown field; the object is read-only.
    let reply =
        sim.get(&format!("query?q={}", encode("SELECT PermissionsNoSuchThing FROM UserPermissionAccess"))).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(error_of(&reply).0, "INVALID_FIELD");
    let id = sim.query("SELECT Id FROM UserPermissionAccess").await[0]["Id"].as_str().expect("an id").to_string();
    let reply = sim.post("sobjects/UserPermissionAccess", &json!({"PermissionsManageTwoFactor": false})).await;
    assert!(reply.status.is_client_error(), "{} {}", reply.status, reply.body);
    let reply =
        sim.patch(&format!("sobjects/UserPermissionAccess/{id}"), &json!({"PermissionsManageTwoFactor": false})).await;
    assert!(reply.status.is_client_error(), "{} {}", reply.status, reply.body);
    assert_eq!(sim.delete(&format!("sobjects/UserPermissionAccess/{id}")).await.status.as_u16() / 100, 4);
    assert_eq!(sim.query_one(SOQL, "PermissionsManageTwoFactor").await, true, "nothing changed");
    let describe = sim.get("sobjects/UserPermissionAccess/describe").await;
    assert_eq!(describe.status, 200);
    assert_eq!(
        (describe.body["createable"].clone(), describe.body["updateable"].clone(), describe.body["deletable"].clone()),
        (json!(false), json!(false), json!(false))
    );
}

// ------------------------------------------------------------------ licences

#[tokio::test]
async fn object_permissions_need_the_psl_on_the_integration_licence() {
    let sim = sim().await;
    let sets = sim
        .query("SELECT Name, LicenseId FROM PermissionSet WHERE Name IN ('storeConnect_Sync', 'storeConnect_Sync_standard')")
        .await;
    assert_eq!(sets.len(), 2);
    assert!(sets.iter().all(|s| s["LicenseId"].is_null()), "{sets:?}");
    let grants = sim
        .query("SELECT SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete FROM ObjectPermissions WHERE Parent.Name = 'storeConnect_Sync_standard' ORDER BY SobjectType")
        .await;
    let objects: Vec<&str> = grants.iter().filter_map(|g| g["SobjectType"].as_str()).collect();
    assert_eq!(objects, ["Account", "Contact", "Order", "s_c__Setup_Configuration__c", "s_c__Store__c"]);
    assert!(grants.iter().all(|g| g["PermissionsRead"] == true && g["PermissionsDelete"] == false));

    let user = new_user(&sim, "licence.user@client.example", "Salesforce Integration").await;
    let content = set_id(&sim, "storeConnect_Content_Manager").await;
    let sync_set = set_id(&sim, "storeConnect_Sync").await;
    let psa = |ps: &str| json!({"attributes": {"type": "PermissionSetAssignment"}, "AssigneeId": user, "PermissionSetId": ps});
    // The valid record comes first: its rolled-back result is listed first.
    let reply =
        sim.post("composite/sobjects", &json!({"allOrNone": true, "records": [psa(&content), psa(&sync_set)]})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body,
        json!([
            {"success": false, "errors": [{"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all records were valid and the request was using AllOrNone header", "fields": []}]},
            {"success": false, "errors": [{"statusCode": "FIELD_INTEGRITY_EXCEPTION", "message": "Can't assign permission set StoreConnect Sync User Permission to user licence.user@client.example. The user license doesn't allow the permission: Read Accounts", "fields": []}]},
        ])
    );
    let assigned = format!("SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{user}'");
    assert!(sim.query(&assigned).await.is_empty());
    // Composite with allOrNone: the other subrequest is halted.
    let url = "/services/data/v62.0/sobjects/PermissionSetAssignment";
    let reply = sim
        .post(
            "composite",
            &json!({"allOrNone": true, "compositeRequest": [
                {"method": "POST", "url": url, "referenceId": "content", "body": {"AssigneeId": user, "PermissionSetId": content}},
                {"method": "POST", "url": url, "referenceId": "sync", "body": {"AssigneeId": user, "PermissionSetId": sync_set}},
            ]}),
        )
        .await;
    let results = &reply.body["compositeResponse"];
    assert_eq!(results[0]["body"][0]["errorCode"], "PROCESSING_HALTED", "{}", reply.body);
    assert_eq!(results[1]["body"][0]["errorCode"], "FIELD_INTEGRITY_EXCEPTION");
    assert!(sim.query(&assigned).await.is_empty());

    // With the PSL, the same request goes through.
    sim.create("PermissionSetLicenseAssign", json!({"AssigneeId": user, "PermissionSetLicenseId": psl_id(&sim).await}))
        .await;
    let reply =
        sim.post("composite/sobjects", &json!({"allOrNone": true, "records": [psa(&content), psa(&sync_set)]})).await;
    assert!(reply.body.as_array().is_some_and(|r| r.iter().all(|r| r["success"] == true)), "{}", reply.body);
    assert_eq!(sim.query(&assigned).await.len(), 2);

    // Another user licence isn't bound by the rule.
    let standard = new_user(&sim, "standard.user@client.example", "Salesforce").await;
    sim.create("PermissionSetAssignment", json!({"AssigneeId": standard, "PermissionSetId": sync_set})).await;
}

#[tokio::test]
async fn a_set_tied_to_the_psl_still_needs_it_first() {
    let sim = sim().await;
    let psl = psl_id(&sim).await;
    let ps =
        sim.create("PermissionSet", json!({"Name": "Tied_To_Psl", "Label": "Tied To PSL", "LicenseId": psl})).await;
    let user = new_user(&sim, "tied.user@client.example", "Salesforce Integration").await;
    let reply = sim.post("sobjects/PermissionSetAssignment", &json!({"AssigneeId": user, "PermissionSetId": ps})).await;
    assert_eq!(
        (reply.status.as_u16(), error_of(&reply)),
        (
            400,
            (
                "FIELD_INTEGRITY_EXCEPTION".to_string(),
                "Can't assign permission set Tied To PSL to user tied.user@client.example. The user must be assigned the permission set license Salesforce API Integration first.".to_string()
            )
        )
    );
}

// ------------------------------------------------------------------ StoreConnect sign-in

#[tokio::test]
async fn the_console_signs_in_only_a_fully_set_up_user() {
    let sim = sim().await;
    let seeded = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    assert_eq!(console_state(&sim).await, json!({"configured_user_id": seeded, "authenticated_user_id": seeded}));

    let name = "next.sync@client.example";
    refused(&sign_in(&sim, name, GOOD_PASSWORD, "000000").await, 404, "unknown_user");
    let user = new_user(&sim, name, "Salesforce Integration").await;
    // Usernames match whatever their case.
    let reason = refused(&sign_in(&sim, &name.to_uppercase(), GOOD_PASSWORD, "000000").await, 401, "no_password");
    assert!(reason.contains("password"), "{reason}");

    assert_eq!(sim.post(&password_path(&user), &json!({"NewPassword": GOOD_PASSWORD})).await.status, 204);
    refused(&sign_in(&sim, name, "Wr0ng-password", "000000").await, 401, "wrong_password");
    refused(&sign_in(&sim, name, GOOD_PASSWORD, "000000").await, 401, "no_verification_method");

    sim.create("TwoFactorInfo", json!({"UserId": user, "Type": "TOTP", "SharedKey": KEY})).await;
    refused(&sign_in(&sim, name, GOOD_PASSWORD, &wrong_code(KEY)).await, 401, "bad_verification_code");
    refused(&sign_in(&sim, name, GOOD_PASSWORD, &code_now(KEY)).await, 403, "missing_psl");

    sim.create("PermissionSetLicenseAssign", json!({"AssigneeId": user, "PermissionSetLicenseId": psl_id(&sim).await}))
        .await;
    refused(&sign_in(&sim, name, GOOD_PASSWORD, &code_now(KEY)).await, 403, "missing_permission_set");
    let sync_set = set_id(&sim, "storeConnect_Sync").await;
    sim.create("PermissionSetAssignment", json!({"AssigneeId": user, "PermissionSetId": sync_set})).await;
    let reason = refused(&sign_in(&sim, name, GOOD_PASSWORD, &code_now(KEY)).await, 403, "missing_permission_set");
    assert!(reason.contains("storeConnect_Sync_standard"), "{reason}");
    let std_set = set_id(&sim, "storeConnect_Sync_standard").await;
    sim.create("PermissionSetAssignment", json!({"AssigneeId": user, "PermissionSetId": std_set})).await;

    // Frozen, then inactive: each refused, then undone.
    let login = id_of(&sim, &format!("SELECT Id FROM UserLogin WHERE UserId = '{user}'")).await;
    sim.patch(&format!("sobjects/UserLogin/{login}"), &json!({"IsFrozen": true})).await;
    refused(&sign_in(&sim, name, GOOD_PASSWORD, &code_now(KEY)).await, 403, "user_frozen");
    sim.patch(&format!("sobjects/UserLogin/{login}"), &json!({"IsFrozen": false})).await;
    sim.patch(&format!("sobjects/User/{user}"), &json!({"IsActive": false})).await;
    refused(&sign_in(&sim, name, GOOD_PASSWORD, &code_now(KEY)).await, 403, "user_inactive");
    sim.patch(&format!("sobjects/User/{user}"), &json!({"IsActive": true})).await;
    // Nothing changed so far.
    assert_eq!(console_state(&sim).await, json!({"configured_user_id": seeded, "authenticated_user_id": seeded}));

    let reply = sign_in(&sim, name, GOOD_PASSWORD, &code_now(KEY)).await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (200, json!({"ok": true, "user_id": user})));
    assert_eq!(console_state(&sim).await, json!({"configured_user_id": user, "authenticated_user_id": user}));
    let stored = sim
        .query_one(
            "SELECT s_c__Text__c FROM s_c__Setup_Configuration__c WHERE Name = 'selected_sync_user_id'",
            "s_c__Text__c",
        )
        .await;
    assert_eq!(stored, json!(&user[..15]));
    assert!(sim.get(&format!("sobjects/User/{user}")).await.body["LastLoginDate"].is_string());

    // The same user again is refused.
    refused(&sign_in(&sim, name, GOOD_PASSWORD, &code_now(KEY)).await, 409, "same_user");
}

#[tokio::test]
async fn the_sign_in_needs_no_token_and_is_not_api_usage() {
    let sim = sim().await;
    let before = sim.handle.api_calls();
    refused(&sign_in(&sim, "nobody@client.example", GOOD_PASSWORD, "000000").await, 404, "unknown_user");
    refused(&sign_in(&sim, SYNC_USERNAME, GOOD_PASSWORD, "000000").await, 409, "same_user");
    console_state(&sim).await;
    assert_eq!(sim.handle.api_calls(), before);
    let reply = sim
        .send(Method::POST, &sim.url("/_sim/storeconnect/change-sync-user"), Some(&json!({"password": "x"})), None)
        .await;
    refused(&reply, 400, "bad_request");
    let bare = sim_scenario(Scenario::NoPackage).await;
    refused(&sign_in(&bare, ADMIN_USERNAME, GOOD_PASSWORD, "000000").await, 404, "no_package");
    assert_eq!(console_state(&bare).await, json!({"configured_user_id": null, "authenticated_user_id": null}));
}

#[tokio::test]
async fn deleting_the_configuration_keeps_the_authenticated_user() {
    let sim = sim().await;
    let seeded = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    let config = id_of(&sim, "SELECT Id FROM s_c__Setup_Configuration__c WHERE Name = 'selected_sync_user_id'").await;
    assert_eq!(sim.delete(&format!("sobjects/s_c__Setup_Configuration__c/{config}")).await.status, 204);
    assert_eq!(console_state(&sim).await, json!({"configured_user_id": null, "authenticated_user_id": seeded}));

    // With no configuration the same user may sign in again; the record comes back.
    assert_eq!(sim.post(&password_path(&seeded), &json!({"NewPassword": GOOD_PASSWORD})).await.status, 204);
    let reply = sign_in(&sim, SYNC_USERNAME, GOOD_PASSWORD, &code_now(runner_sim::SEED_TOTP_SECRET)).await;
    assert_eq!((reply.status.as_u16(), reply.body.clone()), (200, json!({"ok": true, "user_id": seeded})));
    let rows = sim.query("SELECT Name, s_c__Text__c FROM s_c__Setup_Configuration__c").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0]["Name"].clone(), rows[0]["s_c__Text__c"].clone()),
        (json!("selected_sync_user_id"), json!(&seeded[..15]))
    );
    assert_eq!(console_state(&sim).await, json!({"configured_user_id": seeded, "authenticated_user_id": seeded}));
}
