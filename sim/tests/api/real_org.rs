//! What other tools read of a real org: system fields on every object, deleted rows
//! and queryAll, the whole Organization record, the standard Account fields.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::*;

const SYSTEM_FIELDS: [(&str, &str); 7] = [
    ("Id", "id"),
    ("IsDeleted", "boolean"),
    ("CreatedDate", "datetime"),
    ("CreatedById", "reference"),
    ("LastModifiedDate", "datetime"),
    ("LastModifiedById", "reference"),
    ("SystemModstamp", "datetime"),
];

fn fields_of(describe: &Value) -> Vec<Value> {
    describe["fields"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn every_object_has_the_system_fields_in_describe_and_soql() {
    let sim = sim().await;
    let global = sim.get("sobjects/").await;
    let objects: Vec<String> = global.body["sobjects"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    assert!(objects.len() > 10, "{objects:?}");
    for object in &objects {
        let describe = sim.get(&format!("sobjects/{object}/describe")).await;
        assert_eq!(describe.status, 200, "{object}");
        let fields = fields_of(&describe.body);
        for (name, ty) in SYSTEM_FIELDS {
            // The recorded Organization record has no IsDeleted; nor has the sim's.
            if object == "Organization" && name == "IsDeleted" {
                assert!(!fields.iter().any(|f| f["name"] == name));
                continue;
            }
            let field = fields.iter().find(|f| f["name"] == name).cloned().unwrap_or(Value::Null);
            assert_eq!(field["type"], ty, "{object}.{name}");
            assert_eq!((field["createable"].clone(), field["updateable"].clone()), (json!(false), json!(false)));
            assert_eq!(field["nillable"], false, "{object}.{name}");
        }
        let select = if object == "Organization" {
            "Id, CreatedDate, CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp"
        } else {
            "Id, IsDeleted, CreatedDate, CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp"
        };
        let reply = sim.get(&format!("query?q={}", encode(&format!("SELECT {select} FROM {object} LIMIT 1")))).await;
        assert_eq!(reply.status, 200, "{object}: {}", reply.body);
    }

    // LastModified* and SystemModstamp change on update; CreatedDate does not.
    let id = sim.create("Account", json!({"Name": "Modstamp Pty Ltd"})).await;
    let soql = format!(
        "SELECT IsDeleted, CreatedDate, LastModifiedDate, LastModifiedById, SystemModstamp FROM Account WHERE Id = '{id}'"
    );
    let before = sim.query(&soql).await.remove(0);
    assert_eq!(before["IsDeleted"], false);
    assert_eq!(sim.patch(&format!("sobjects/Account/{id}"), &json!({"Site": "Pyrmont"})).await.status, 204);
    let after = sim.query(&soql).await.remove(0);
    assert_eq!(after["CreatedDate"], before["CreatedDate"]);
    for field in ["LastModifiedDate", "SystemModstamp"] {
        let (b, a) = (before[field].as_str().unwrap_or_default(), after[field].as_str().unwrap_or_default());
        assert!(a > b, "{field}: {b} then {a}");
    }
    assert!(after["LastModifiedById"].as_str().is_some_and(|u| u.starts_with("005")));
}

#[tokio::test]
async fn a_deleted_row_is_kept_for_query_all_only() {
    let sim = sim().await;
    let id = sim.create("Account", json!({"Name": "Short Lived Pty Ltd"})).await;
    let soql = format!("SELECT Id, Name, IsDeleted FROM Account WHERE Id = '{id}'");
    assert_eq!(sim.delete(&format!("sobjects/Account/{id}")).await.status, 204);

    assert!(sim.query(&soql).await.is_empty());
    let all = sim.get(&format!("queryAll?q={}", encode(&soql))).await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["totalSize"], 1);
    assert_eq!(all.body["records"][0]["IsDeleted"], true);
    assert_eq!(all.body["records"][0]["Name"], "Short Lived Pty Ltd");
    // A plain count of every Account leaves it out; queryAll's counts it.
    let count = "SELECT COUNT() FROM Account";
    let live = sim.get(&format!("query?q={}", encode(count))).await.body["totalSize"].as_u64();
    let all = sim.get(&format!("queryAll?q={}", encode(count))).await.body["totalSize"].as_u64();
    assert_eq!(all, live.map(|n| n + 1));

    for reply in [
        sim.get(&format!("sobjects/Account/{id}")).await,
        sim.patch(&format!("sobjects/Account/{id}"), &json!({"Name": "Back"})).await,
        sim.delete(&format!("sobjects/Account/{id}")).await,
    ] {
        assert_eq!(reply.status, 404, "{}", reply.body);
        assert_eq!(error_of(&reply), ("ENTITY_IS_DELETED".to_string(), "entity is deleted".to_string()));
    }
}

#[tokio::test]
async fn rules_ignore_deleted_rows() {
    let sim = sim().await;
    // A deleted permission set assignment no longer blocks assigning the set again.
    let user = sim.query("SELECT Id FROM User WHERE Profile.UserLicense.Name = 'Salesforce Integration'").await;
    let user = user[0]["Id"].as_str().unwrap_or_default().to_string();
    let assignments = sim
        .query(&format!(
            "SELECT Id, PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '{user}' AND PermissionSet.IsOwnedByProfile = false"
        ))
        .await;
    let first = assignments[0].clone();
    let body = json!({"AssigneeId": user, "PermissionSetId": first["PermissionSetId"]});
    let reply = sim.post("sobjects/PermissionSetAssignment", &body).await;
    assert_eq!(error_of(&reply).0, "DUPLICATE_VALUE");
    assert_eq!(
        sim.delete(&format!("sobjects/PermissionSetAssignment/{}", first["Id"].as_str().unwrap_or_default()))
            .await
            .status,
        204
    );
    sim.create("PermissionSetAssignment", body).await;

    // A deleted TwoFactorInfo no longer counts as a registered TOTP.
    let totp = format!("SELECT HasTotp FROM TwoFactorMethodsInfo WHERE UserId = '{user}'");
    assert_eq!(sim.query_one(&totp, "HasTotp").await, true);
    let tfi = sim.query(&format!("SELECT Id FROM TwoFactorInfo WHERE UserId = '{user}'")).await;
    assert_eq!(
        sim.delete(&format!("sobjects/TwoFactorInfo/{}", tfi[0]["Id"].as_str().unwrap_or_default())).await.status,
        204
    );
    assert_eq!(sim.query_one(&totp, "HasTotp").await, false);

    // A deleted PSL assignment frees its seat.
    let used = "SELECT UsedLicenses FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'";
    let before = sim.query_one(used, "UsedLicenses").await.as_i64().unwrap_or(-1);
    let psla = sim.query(&format!("SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '{user}'")).await;
    assert_eq!(
        sim.delete(&format!("sobjects/PermissionSetLicenseAssign/{}", psla[0]["Id"].as_str().unwrap_or_default()))
            .await
            .status,
        204
    );
    assert_eq!(sim.query_one(used, "UsedLicenses").await.as_i64(), Some(before - 1));
}

#[tokio::test]
async fn the_organization_record_has_every_recorded_field() {
    let sim = sim().await;
    let recorded = cassette_bodies("cumulusci/GET_sobjects_Organization.yaml").remove(0);
    let id = sim.query("SELECT Id FROM Organization").await[0]["Id"].as_str().unwrap_or_default().to_string();
    let reply = sim.get(&format!("sobjects/Organization/{id}")).await;
    assert_eq!(reply.status, 200);
    let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
    assert_eq!(keys(&reply.body), keys(&recorded), "Organization fields differ from the recording");
    // Same JSON type wherever both are set, compound Address included.
    assert_shape_within(&reply.body, &recorded);
    for (field, value) in recorded.as_object().cloned().unwrap_or_default() {
        // A production org has no trial end; the recording is of a scratch org.
        if field == "attributes" || field == "TrialExpirationDate" || value.is_null() {
            continue;
        }
        assert!(!reply.body[&field].is_null(), "{field} is set in the recording but null here");
    }
    assert_eq!(reply.body["Address"]["country"], reply.body["Country"]);
    // Every field can be selected.
    let all: Vec<String> = keys(&recorded).into_iter().filter(|k| k != "attributes").collect();
    let rows = sim.query(&format!("SELECT {} FROM Organization", all.join(", "))).await;
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn the_account_describe_has_every_recorded_standard_field() {
    let sim = sim().await;
    let recorded = cassette_bodies("cumulusci/GET_sobjects_Account_describe.yaml").remove(0);
    let ours = fields_of(&sim.get("sobjects/Account/describe").await.body);
    let mut missing = Vec::new();
    // Custom fields end in __c (the recording marks some `custom: false` all the same).
    for theirs in fields_of(&recorded).iter().filter(|f| f["name"].as_str().is_some_and(|n| !n.ends_with("__c"))) {
        let name = theirs["name"].as_str().unwrap_or_default();
        let Some(mine) = ours.iter().find(|f| f["name"] == name) else {
            missing.push(name.to_string());
            continue;
        };
        for key in [
            "type",
            "soapType",
            "length",
            "nillable",
            "createable",
            "updateable",
            "label",
            "referenceTo",
            "compoundFieldName",
            "precision",
            "scale",
            "restrictedPicklist",
        ] {
            // The recording is of a Person Accounts org, where Name is compound;
            // checked against the person-accounts scenario below.
            if name == "Name" && key == "compoundFieldName" {
                continue;
            }
            assert_eq!(mine[key], theirs[key], "Account.{name}.{key}");
        }
        let values = |f: &Value| -> Vec<Value> {
            f["picklistValues"].as_array().map(|a| a.iter().map(|p| p["value"].clone()).collect()).unwrap_or_default()
        };
        assert_eq!(values(mine), values(theirs), "Account.{name} picklist");
    }
    assert!(missing.is_empty(), "standard fields missing from the Account describe: {missing:?}");

    // A compound address reads as an object built from its components.
    let id = sim
        .create("Account", json!({"Name": "Address Pty Ltd", "BillingCity": "Hobart", "BillingPostalCode": "7000", "AnnualRevenue": 1250000.5}))
        .await;
    let row = sim
        .query(&format!("SELECT BillingAddress, ShippingAddress, AnnualRevenue FROM Account WHERE Id = '{id}'"))
        .await;
    assert_eq!(row[0]["BillingAddress"]["city"], "Hobart");
    assert_eq!(row[0]["BillingAddress"]["postalCode"], "7000");
    assert_eq!(row[0]["ShippingAddress"], Value::Null);
    assert_eq!(row[0]["AnnualRevenue"], 1250000.5);
    let reply = sim.post("sobjects/Account", &json!({"Name": "x", "BillingAddress": {"city": "Hobart"}})).await;
    assert_eq!(error_of(&reply).0, "INVALID_FIELD_FOR_INSERT_UPDATE");
    let reply = sim.post("sobjects/Account", &json!({"Name": "x", "CleanStatus": "Sparkling"})).await;
    assert_eq!(error_of(&reply).0, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    // An unrestricted picklist takes a value outside its list.
    sim.create("Account", json!({"Name": "Y", "Industry": "Retail Technology"})).await;

    let person = sim_scenario(runner_sim::Scenario::PersonAccounts).await;
    let fields = fields_of(&person.get("sobjects/Account/describe").await.body);
    let name = fields.iter().find(|f| f["name"] == "Name").cloned().unwrap_or(Value::Null);
    let theirs = fields_of(&recorded).into_iter().find(|f| f["name"] == "Name").unwrap_or(Value::Null);
    assert_eq!(name["compoundFieldName"], theirs["compoundFieldName"]);
}
