//! Discovery as clients read it: `/limits` with `Sforce-Limit-Info`, and the parts of
//! sObject describe that clients use (field types and flags, references, picklist
//! values, child relationships), as exact JSON.

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn limits_count_the_calls_made() {
    let sim = sim().await;
    assert_eq!(sim.get("sobjects/").await.status, 200);
    let reply = sim.get("limits/").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Sforce-Limit-Info").as_deref(), Some("api-usage=2/15000"));
    let pair = |max: u64, remaining: u64| json!({"Max": max, "Remaining": remaining});
    assert_eq!(
        reply.body,
        json!({
            "ConcurrentAsyncGetReportInstances": pair(200, 200),
            "DailyApiRequests": pair(15_000, 14_998),
            "DailyAsyncApexExecutions": pair(250_000, 250_000),
            "DailyBulkApiBatches": pair(15_000, 15_000),
            "DataStorageMB": pair(5, 5),
            "FileStorageMB": pair(20, 20),
            "SingleEmail": pair(5_000, 5_000),
        })
    );
}

fn pick(fields: &Value, name: &str) -> Value {
    let field = fields.as_array().and_then(|f| f.iter().find(|f| f["name"] == name)).cloned().unwrap_or(Value::Null);
    let keys = [
        "name",
        "type",
        "length",
        "nillable",
        "createable",
        "updateable",
        "referenceTo",
        "relationshipName",
        "picklistValues",
    ];
    Value::Object(keys.iter().map(|k| (k.to_string(), field[*k].clone())).collect())
}

#[tokio::test]
async fn describe_gives_what_clients_read_of_fields_and_relationships() {
    let sim = sim().await;
    let user = sim.get("sobjects/User/describe/").await;
    assert_eq!(user.status, 200);
    assert_eq!(
        pick(&user.body["fields"], "ProfileId"),
        json!({"name": "ProfileId", "type": "reference", "length": 18, "nillable": false, "createable": true,
               "updateable": true, "referenceTo": ["Profile"], "relationshipName": "Profile", "picklistValues": []})
    );
    assert_eq!(
        pick(&user.body["fields"], "Username"),
        json!({"name": "Username", "type": "string", "length": 80, "nillable": false, "createable": true,
               "updateable": true, "referenceTo": [], "relationshipName": null, "picklistValues": []})
    );
    let children = user.body["childRelationships"].as_array().cloned().unwrap_or_default();
    let psa: Vec<&Value> = children.iter().filter(|c| c["relationshipName"] == "PermissionSetAssignments").collect();
    assert_eq!(
        psa,
        [&json!({"cascadeDelete": false, "childSObject": "PermissionSetAssignment", "deprecatedAndHidden": false,
                 "field": "AssigneeId", "junctionIdListNames": [], "junctionReferenceTo": [],
                 "relationshipName": "PermissionSetAssignments", "restrictedDelete": false})]
    );
    assert!(children.iter().any(|c| c["relationshipName"] == "PermissionSetLicenseAssignments"));

    let tfi = sim.get("sobjects/TwoFactorInfo/describe").await;
    assert_eq!(
        pick(&tfi.body["fields"], "Type"),
        json!({"name": "Type", "type": "picklist", "length": 40, "nillable": false, "createable": true,
               "updateable": true, "referenceTo": [], "relationshipName": null,
               "picklistValues": [{"active": true, "defaultValue": false, "label": "TOTP", "validFor": null, "value": "TOTP"}]})
    );
    // Every object the org holds has a describe.
    let global = sim.get("sobjects").await;
    for entry in global.body["sobjects"].as_array().cloned().unwrap_or_default() {
        let name = entry["name"].as_str().unwrap_or_default();
        let describe = sim.get(&format!("sobjects/{name}/describe")).await;
        assert_eq!(describe.status, 200, "{name}");
        assert_eq!(describe.body["name"], name);
        assert!(describe.body["fields"].as_array().is_some_and(|f| !f.is_empty()), "{name}");
    }
}
