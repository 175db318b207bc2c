//! The Salesforce rules the sync-user setup meets.

use runner_sim::{SYNC_USERNAME, Scenario};
use serde_json::{Value, json};

use crate::common::*;

const KEY: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

async fn integration_profile(sim: &Sim) -> String {
    let id = sim.query_one("SELECT Id FROM Profile WHERE UserLicense.Name = 'Salesforce Integration'", "Id").await;
    id.as_str().unwrap_or_default().to_string()
}

fn new_user(username: &str, profile: &str) -> Value {
    json!({
        "Username": username, "LastName": "Sync User", "FirstName": "StoreConnect", "Email": "ops@client.example",
        "Alias": "scsync2", "TimeZoneSidKey": "Australia/Sydney", "LocaleSidKey": "en_AU",
        "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "ProfileId": profile,
    })
}

async fn id_of(sim: &Sim, soql: &str) -> String {
    sim.query_one(soql, "Id").await.as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn full_sync_user_setup_in_documented_order() {
    let sim = sim().await;
    let profile = integration_profile(&sim).await;
    let user = sim.create("User", new_user("new.sync@client.example", &profile)).await;
    assert!(user.starts_with("005"));
    let record = sim.get(&format!("sobjects/User/{user}")).await.body;
    assert_eq!(record["Name"], "StoreConnect Sync User");
    assert_eq!(record["IsActive"], true);
    assert_eq!(record["UserType"], "Standard");
    let seats =
        sim.query("SELECT TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'").await;
    assert_eq!((seats[0]["TotalLicenses"].clone(), seats[0]["UsedLicenses"].clone()), (json!(5), json!(2)));
    // A UserLogin row comes with the user; IsFrozen is updatable.
    let login = id_of(&sim, &format!("SELECT Id FROM UserLogin WHERE UserId = '{user}'")).await;
    assert!(login.starts_with("060"));
    assert_eq!(sim.patch(&format!("sobjects/UserLogin/{login}"), &json!({"IsFrozen": true})).await.status, 204);
    assert_eq!(sim.patch(&format!("sobjects/UserLogin/{login}"), &json!({"IsFrozen": false})).await.status, 204);

    // Permission sets that grant object access fail until the user holds the PSL.
    let sync_ps =
        id_of(&sim, "SELECT Id FROM PermissionSet WHERE Name = 'storeConnect_Sync' AND NamespacePrefix = 's_c'").await;
    let std_ps = id_of(
        &sim,
        "SELECT Id FROM PermissionSet WHERE Name = 'storeConnect_Sync_standard' AND NamespacePrefix = null",
    )
    .await;
    let reply =
        sim.post("sobjects/PermissionSetAssignment", &json!({"AssigneeId": user, "PermissionSetId": sync_ps})).await;
    assert_eq!(reply.status, 400);
    let (code, message) = error_of(&reply);
    assert_eq!(code, "FIELD_INTEGRITY_EXCEPTION");
    assert_eq!(
        message,
        "Can't assign permission set StoreConnect Sync User Permission to user new.sync@client.example. The user license doesn't allow the permission: Read Accounts"
    );

    let psl =
        id_of(&sim, "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'").await;
    let psla =
        sim.create("PermissionSetLicenseAssign", json!({"AssigneeId": user, "PermissionSetLicenseId": psl})).await;
    assert!(psla.starts_with("2LA"));
    let reply = sim
        .post("sobjects/PermissionSetLicenseAssign", &json!({"AssigneeId": user, "PermissionSetLicenseId": psl}))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!([{"message": format!("duplicate value found: <unknown> duplicates value on record with id: {psla}"), "errorCode": "DUPLICATE_VALUE", "fields": []}])
    );
    assert_eq!(sim.query_one("SELECT UsedLicenses FROM PermissionSetLicense", "UsedLicenses").await, 2);
    // No update on PermissionSetLicenseAssign.
    let reply = sim.patch(&format!("sobjects/PermissionSetLicenseAssign/{psla}"), &json!({})).await;
    assert_eq!(reply.status, 405);
    assert_eq!(
        error_of(&reply),
        ("METHOD_NOT_ALLOWED".into(), "HTTP Method 'PATCH' not allowed. Allowed are HEAD,GET,DELETE".into())
    );

    for ps in [&sync_ps, &std_ps] {
        let id = sim.create("PermissionSetAssignment", json!({"AssigneeId": user, "PermissionSetId": ps})).await;
        assert!(id.starts_with("0Pa"));
    }
    let reply =
        sim.post("sobjects/PermissionSetAssignment", &json!({"AssigneeId": user, "PermissionSetId": sync_ps})).await;
    assert_eq!(
        reply.body,
        json!([{"message": format!("Duplicate PermissionSetAssignment. Assignee: {user}; Permission Set: {sync_ps}"), "errorCode": "DUPLICATE_VALUE", "fields": []}])
    );
    let assigned = sim
        .query(&format!("SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE AssigneeId = '{user}' AND PermissionSet.IsOwnedByProfile = false"))
        .await;
    assert_eq!(assigned.len(), 2);

    // TOTP: base32 of 20 bytes; write-only; TwoFactorMethodsInfo derives HasTotp.
    assert_eq!(
        sim.query_one(&format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE UserId = '{user}'"), "HasTotp").await,
        false
    );
    let reply =
        sim.post("sobjects/TwoFactorInfo", &json!({"UserId": user, "Type": "TOTP", "SharedKey": "TOOSHORT"})).await;
    assert_eq!((reply.status.as_u16(), error_of(&reply).0.as_str()), (400, "FIELD_INTEGRITY_EXCEPTION"));
    let reply = sim.post("sobjects/TwoFactorInfo", &json!({"UserId": user, "Type": "HOTP", "SharedKey": KEY})).await;
    assert_eq!(error_of(&reply).0, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    let tfi = sim.create("TwoFactorInfo", json!({"UserId": user, "Type": "TOTP", "SharedKey": KEY})).await;
    assert_eq!(sim.get(&format!("sobjects/TwoFactorInfo/{tfi}")).await.body["SharedKey"], Value::Null);
    assert_eq!(
        sim.query_one(&format!("SELECT SharedKey FROM TwoFactorInfo WHERE Id = '{tfi}'"), "SharedKey").await,
        Value::Null
    );
    assert_eq!(
        sim.query_one(&format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE UserId = '{user}'"), "HasTotp").await,
        true
    );
    assert_eq!(sim.delete(&format!("sobjects/TwoFactorInfo/{tfi}")).await.status, 204);
    assert_eq!(
        sim.query_one(&format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE UserId = '{user}'"), "HasTotp").await,
        false
    );
    let reply = sim.post("sobjects/TwoFactorMethodsInfo", &json!({"UserId": user})).await;
    assert_eq!(reply.status, 405);

    // Swap: point the setup configuration at the new user.
    let config = id_of(&sim, "SELECT Id FROM s_c__Setup_Configuration__c WHERE Name = 'selected_sync_user_id'").await;
    assert_eq!(
        sim.patch(&format!("sobjects/s_c__Setup_Configuration__c/{config}"), &json!({"s_c__Text__c": user}))
            .await
            .status,
        204
    );
    assert_eq!(sim.delete(&format!("sobjects/s_c__Setup_Configuration__c/{config}")).await.status, 204);
}

#[tokio::test]
async fn users_cannot_be_deleted_and_usernames_are_global() {
    let sim = sim().await;
    let profile = integration_profile(&sim).await;
    let sync = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    let reply = sim.delete(&format!("sobjects/User/{sync}")).await;
    assert_eq!(reply.status, 405);
    assert_eq!(
        reply.body,
        json!([{"errorCode": "METHOD_NOT_ALLOWED", "message": "HTTP Method 'DELETE' not allowed. Allowed are HEAD,GET,PATCH"}])
    );
    let reply = sim.delete(&format!("composite/sobjects?ids={sync}")).await;
    assert_eq!(reply.body[0]["success"], false);

    for taken in [SYNC_USERNAME, "STORECONNECT.SYNC@storeconnect-demo.example", "someone@taken.example"] {
        let reply = sim.post("sobjects/User", &new_user(taken, &profile)).await;
        assert_eq!(reply.status, 400, "{taken}");
        let (code, message) = error_of(&reply);
        assert_eq!(code, "DUPLICATE_USERNAME");
        assert!(message.starts_with(
            "Duplicate Username.<br>The username already exists in this or another Salesforce organization."
        ));
        assert_eq!(reply.body[0]["fields"], json!(["Username"]));
    }
    let reply = sim.post("sobjects/User", &new_user("not-an-email", &profile)).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body[0]["fields"], json!(["Username"]));

    let mut missing = new_user("fresh@client.example", &profile);
    if let Some(m) = missing.as_object_mut() {
        m.remove("Alias");
        m.remove("TimeZoneSidKey");
    }
    let reply = sim.post("sobjects/User", &missing).await;
    assert_eq!(
        reply.body,
        json!([{"message": "Required fields are missing: [Alias, TimeZoneSidKey]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Alias", "TimeZoneSidKey"]}])
    );
    let mut long_alias = new_user("fresh@client.example", &profile);
    long_alias["Alias"] = json!("ninechars");
    let reply = sim.post("sobjects/User", &long_alias).await;
    assert_eq!(error_of(&reply).0, "STRING_TOO_LONG");
    let account = id_of(&sim, "SELECT Id FROM Account LIMIT 1").await;
    let reply = sim.post("sobjects/User", &new_user("fresh@client.example", &account)).await;
    assert_eq!(error_of(&reply).0, "FIELD_INTEGRITY_EXCEPTION");
}

#[tokio::test]
async fn licence_seats_are_counted() {
    let sim = sim_scenario(Scenario::NoSeats).await;
    let profile = integration_profile(&sim).await;
    let seats =
        sim.query("SELECT TotalLicenses, UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'").await;
    assert_eq!((seats[0]["TotalLicenses"].clone(), seats[0]["UsedLicenses"].clone()), (json!(1), json!(1)));
    let reply = sim.post("sobjects/User", &new_user("second.sync@client.example", &profile)).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.body,
        json!([{"message": "License Limit Exceeded", "errorCode": "LICENSE_LIMIT_EXCEEDED", "fields": []}])
    );

    // An inactive user takes no seat; reactivating needs one.
    let mut inactive = new_user("second.sync@client.example", &profile);
    inactive["IsActive"] = json!(false);
    let second = sim.create("User", inactive).await;
    let reply = sim.patch(&format!("sobjects/User/{second}"), &json!({"IsActive": true})).await;
    assert_eq!(error_of(&reply).0, "LICENSE_LIMIT_EXCEEDED");
    let sync = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    assert_eq!(sim.patch(&format!("sobjects/User/{sync}"), &json!({"IsActive": false})).await.status, 204);
    assert_eq!(
        sim.query_one("SELECT UsedLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'", "UsedLicenses")
            .await,
        0
    );
    assert_eq!(sim.patch(&format!("sobjects/User/{second}"), &json!({"IsActive": true})).await.status, 204);

    // PSL seats: the only one is held by the old sync user.
    let psl = id_of(&sim, "SELECT Id FROM PermissionSetLicense").await;
    let reply = sim
        .post("sobjects/PermissionSetLicenseAssign", &json!({"AssigneeId": second, "PermissionSetLicenseId": psl}))
        .await;
    assert_eq!(error_of(&reply), ("LICENSE_LIMIT_EXCEEDED".into(), "License Limit Exceeded".into()));
    let old = id_of(&sim, &format!("SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '{sync}'")).await;
    assert_eq!(sim.delete(&format!("sobjects/PermissionSetLicenseAssign/{old}")).await.status, 204);
    assert_eq!(
        sim.post("sobjects/PermissionSetLicenseAssign", &json!({"AssigneeId": second, "PermissionSetLicenseId": psl}))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn view_all_data_cannot_be_set_alone() {
    let sim = sim().await;
    let ps = sim.create("PermissionSet", json!({"Name": "Custom_Set", "Label": "Custom Set"})).await;
    let reply = sim.patch(&format!("sobjects/PermissionSet/{ps}"), &json!({"PermissionsViewAllData": true})).await;
    assert_eq!(reply.status, 400);
    let (code, message) = error_of(&reply);
    assert_eq!(code, "FIELD_INTEGRITY_EXCEPTION");
    assert!(message.starts_with("Permission View All Data depends on permission(s)"), "{message}");
    let reply = sim
        .patch(
            &format!("sobjects/PermissionSet/{ps}"),
            &json!({"PermissionsViewAllData": true, "PermissionsViewSetup": true, "PermissionsViewRoles": true}),
        )
        .await;
    assert_eq!(reply.status, 204);
    let profile_owned = id_of(&sim, "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true LIMIT 1").await;
    let admin = id_of(&sim, "SELECT Id FROM User WHERE Username LIKE 'admin@%'").await;
    let reply = sim
        .post("sobjects/PermissionSetAssignment", &json!({"AssigneeId": admin, "PermissionSetId": profile_owned}))
        .await;
    assert_eq!(error_of(&reply).0, "FIELD_INTEGRITY_EXCEPTION");
}

#[tokio::test]
async fn scenarios_seed_what_they_promise() {
    let legacy = sim_scenario(Scenario::LegacyProfile).await;
    let name =
        legacy.query_one("SELECT Name FROM Profile WHERE UserLicense.Name = 'Salesforce Integration'", "Name").await;
    assert_eq!(name, "Salesforce API Only System Integrations");
    let current = sim().await;
    let name =
        current.query_one("SELECT Name FROM Profile WHERE UserLicense.Name = 'Salesforce Integration'", "Name").await;
    assert_eq!(name, "Minimum Access - API Only Integrations");
    let sets = current
        .query("SELECT Name, NamespacePrefix, Label FROM PermissionSet WHERE IsOwnedByProfile = false ORDER BY Name")
        .await;
    assert_eq!(sets.len(), 4);
    let sync = current.query(&format!("SELECT Id, (SELECT PermissionSet.Name FROM PermissionSetAssignments) FROM User WHERE Username = '{SYNC_USERNAME}'")).await;
    assert_eq!(sync[0]["PermissionSetAssignments"]["totalSize"], 2);
    let config = current
        .query_one(
            "SELECT s_c__Text__c FROM s_c__Setup_Configuration__c WHERE Name = 'selected_sync_user_id'",
            "s_c__Text__c",
        )
        .await;
    // Stored on 15 characters.
    assert_eq!(config.as_str(), sync[0]["Id"].as_str().and_then(|id| id.get(..15)));
    let rts = current.query("SELECT DeveloperName FROM RecordType WHERE SobjectType IN ('Account','Contact','Order') AND IsActive = true").await;
    assert_eq!(rts.len(), 6);

    let single = sim_scenario(Scenario::SingleRecordTypes).await;
    assert_eq!(single.query("SELECT Id FROM RecordType").await.len(), 3);
    let bare = sim_scenario(Scenario::NoPackage).await;
    assert_eq!(bare.query("SELECT Id FROM PermissionSet WHERE Name LIKE '%storeConnect%'").await.len(), 0);
    let scratch = sim_scenario(Scenario::Scratch).await;
    assert_eq!(scratch.query("SELECT Id FROM User").await.len(), 1);
    assert_eq!(
        scratch
            .query_one("SELECT TotalLicenses FROM UserLicense WHERE Name = 'Salesforce Integration'", "TotalLicenses")
            .await,
        1
    );
}

/// `TimeZoneSidKey` is a restricted picklist: a key outside Salesforce's supported
/// time zones is refused, on create and on update.
#[tokio::test]
async fn a_time_zone_outside_the_picklist_is_refused() {
    let sim = sim().await;
    let profile = integration_profile(&sim).await;
    let mut user = new_user("tz.sync@client.example", &profile);
    user["TimeZoneSidKey"] = json!("Mars/Olympus_Mons");
    let reply = sim.post("sobjects/User", &user).await;
    assert_eq!(reply.status.as_u16(), 400, "{:?}", reply.body);
    let (code, message) = error_of(&reply);
    assert_eq!(code, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    assert!(message.contains("Time Zone: bad value for restricted picklist field: Mars/Olympus_Mons"), "{message}");

    user["TimeZoneSidKey"] = json!("Europe/London");
    let id = sim.create("User", user).await;
    let reply = sim.patch(&format!("sobjects/User/{id}"), &json!({"TimeZoneSidKey": "australia/sydney"})).await;
    assert_eq!(error_of(&reply).0, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "keys are case-sensitive");
    let reply = sim.patch(&format!("sobjects/User/{id}"), &json!({"TimeZoneSidKey": "America/Los_Angeles"})).await;
    assert_eq!(reply.status.as_u16(), 204);
}
