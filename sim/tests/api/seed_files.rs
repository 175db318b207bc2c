//! Seed files: objects, fields and records added to a scenario's seed org.

use std::path::PathBuf;

use runner_sim::{SeedFile, SimConfig};
use serde_json::json;

use crate::common::*;

/// The PermissionSetGroup seed file the sim ships for partners' tests.
fn permission_set_groups() -> SeedFile {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds/permission-set-groups.json");
    SeedFile::load(&path).expect("the shipped seed file parses")
}

async fn seeded(files: Vec<SeedFile>) -> Sim {
    sim_with(SimConfig { seed_files: files, ..SimConfig::default() }).await
}

async fn start_error(files: Vec<SeedFile>) -> String {
    let err = runner_sim::start(SimConfig { seed_files: files, ..SimConfig::default() }).await.expect_err("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    err.to_string()
}

fn json_file(text: &str) -> SeedFile {
    SeedFile::from_json(text).expect("parses")
}

#[tokio::test]
async fn a_seed_file_adds_objects_fields_and_records_with_refs() {
    let file = json_file(
        r#"{
          "objects": [
            {"name": "Acme_Region__c", "key_prefix": "a7R", "fields": [
              {"name": "Code__c", "type": "string", "required": true, "unique": true, "length": 5}
            ]},
            {"name": "Acme_Depot__c", "key_prefix": "a7D", "fields": [
              {"name": "Region__c", "type": "reference", "reference_to": "Acme_Region__c",
               "child_relationship_name": "Depots__r"},
              {"name": "Kind__c", "type": "picklist", "picklist": ["Hub", "Spoke"], "default": "Spoke"},
              {"name": "Open__c", "type": "boolean"}
            ]}
          ],
          "fields": [{"object": "Account", "name": "Acme_Tier__c", "type": "picklist", "picklist": ["Gold", "Silver"]}],
          "records": [
            {"object": "Acme_Region__c", "ref": "north", "fields": {"Name": "North", "Code__c": "N"}},
            {"object": "Acme_Depot__c", "fields": {"Name": "Depot 1", "Region__c": "@north", "Open__c": true}},
            {"object": "Acme_Depot__c", "fields": {"Name": "@@home", "Region__c": "@north", "Kind__c": "Hub"}},
            {"object": "Account", "fields": {"Name": "Acme", "Acme_Tier__c": "Gold", "OwnerId": "@admin"}}
          ]
        }"#,
    );
    let sim = seeded(vec![file]).await;
    let depots = sim.query("SELECT Name, Kind__c, Open__c, Region__r.Code__c FROM Acme_Depot__c ORDER BY Name").await;
    assert_eq!(depots.len(), 2, "{depots:?}");
    assert_eq!((depots[0]["Name"].clone(), depots[0]["Kind__c"].clone()), (json!("@home"), json!("Hub")));
    assert_eq!((depots[1]["Kind__c"].clone(), depots[1]["Open__c"].clone()), (json!("Spoke"), json!(true)));
    assert_eq!(depots[1]["Region__r"]["Code__c"], "N");
    let children = sim.query("SELECT Code__c, (SELECT Name FROM Depots__r) FROM Acme_Region__c").await;
    assert_eq!(children[0]["Depots__r"]["totalSize"], 2);
    // Existing accounts read the new field as null; the seeded one has its value.
    let tiers = sim.query("SELECT Acme_Tier__c FROM Account WHERE Acme_Tier__c != null").await;
    assert_eq!(tiers.len(), 1);
    // The new objects behave like any other: describe, API writes and their rules.
    let describe = sim.get("sobjects/Acme_Depot__c/describe").await;
    assert_eq!(describe.body["keyPrefix"], "a7D");
    assert_eq!(describe.body["custom"], true);
    let dup = sim.post("sobjects/Acme_Region__c", &json!({"Name": "Other", "Code__c": "n"})).await;
    assert_eq!(error_of(&dup).0, "DUPLICATE_VALUE");
    let bad = sim.post("sobjects/Acme_Depot__c", &json!({"Name": "X", "Kind__c": "Warehouse"})).await;
    assert_eq!(error_of(&bad).0, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    let entity = sim.query("SELECT KeyPrefix FROM EntityDefinition WHERE QualifiedApiName = 'Acme_Depot__c'").await;
    assert_eq!(entity[0]["KeyPrefix"], "a7D");
}

#[tokio::test]
async fn records_can_name_seed_records_by_a_field() {
    let file = json_file(
        r#"{"records": [{"object": "Contact", "fields": {"LastName": "Ops",
            "AccountId": "@Account.Name=StoreConnect Demo Pty Ltd"}}]}"#,
    );
    let accounts = sim().await.query("SELECT Name FROM Account").await;
    let name = accounts[0]["Name"].as_str().unwrap_or_default().to_string();
    let text = serde_json::to_string(&json!({"records": [{"object": "Contact",
        "fields": {"LastName": "Ops", "AccountId": format!("@Account.Name={name}")}}]}))
    .unwrap_or_default();
    let sim = seeded(vec![json_file(&text)]).await;
    let contact = sim.query("SELECT Account.Name FROM Contact WHERE LastName = 'Ops'").await;
    assert_eq!(contact[0]["Account"]["Name"], json!(name));
    // No such record: the error names the record, the field and the lookup.
    let err = start_error(vec![file]).await;
    assert!(err.contains("records[0].fields.AccountId"), "{err}");
    assert!(err.contains("no Account has Name = StoreConnect Demo Pty Ltd"), "{err}");
}

#[tokio::test]
async fn bad_seed_files_are_refused_with_where_and_why() {
    let cases = [
        (
            r#"{"objects": [{"name": "X__c", "key_prefix": "005"}]}"#,
            "objects[0] (X__c): the key prefix `005` is already used by User",
        ),
        (r#"{"objects": [{"name": "X__c", "key_prefix": "a1"}]}"#, "must be three letters or digits"),
        (r#"{"objects": [{"name": "Account", "key_prefix": "a1A"}]}"#, "already has an object Account"),
        (
            r#"{"objects": [{"name": "X__c", "key_prefix": "a1X"}, {"name": "Y__c", "key_prefix": "a1X"}]}"#,
            "objects[1] (Y__c): the key prefix `a1X` is already used by X__c",
        ),
        (
            r#"{"objects": [{"name": "X__c", "key_prefix": "a1X", "fields": [{"name": "P__c", "type": "reference"}]}]}"#,
            "objects[0].fields[0] (X__c.P__c): a reference field needs `reference_to`",
        ),
        (r#"{"fields": [{"object": "Nope__c", "name": "A__c", "type": "string"}]}"#, "the org has no object Nope__c"),
        (
            r#"{"fields": [{"object": "Account", "name": "Name", "type": "string"}]}"#,
            "Account already has a field Name",
        ),
        (
            r#"{"records": [{"object": "Account", "fields": {"Name": "A", "ParentId": "@missing"}}]}"#,
            "records[0].fields.ParentId: `@missing`: no earlier record has the ref `missing`",
        ),
        (
            r#"{"records": [{"object": "Contact", "fields": {"FirstName": "No last name"}}]}"#,
            "records[0] (Contact): REQUIRED_FIELD_MISSING",
        ),
    ];
    for (text, want) in cases {
        let err = start_error(vec![json_file(text)]).await;
        assert!(err.contains(want), "{text}\n  gave: {err}\n  want: {want}");
    }
}

#[test]
fn syntax_and_shape_errors_name_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("runner-sim-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json_path = dir.join("bad.json");
    std::fs::write(
        &json_path,
        "{\n  \"objects\": [\n    {\"name\": \"X__c\", \"key_prefix\": \"a1X\", \"setup\": \"yes\"}\n  ]\n}\n",
    )
    .expect("write");
    let err = SeedFile::load(&json_path).expect_err("setup is a boolean").to_string();
    assert!(err.contains("bad.json") && err.contains("line 3") && err.contains("objects[0].setup"), "{err}");
    let toml_path = dir.join("bad.toml");
    std::fs::write(&toml_path, "[[records]]\nobject = \"Account\"\nfields = { Name = \"A\" }\nref = 3\n")
        .expect("write");
    let err = SeedFile::load(&toml_path).expect_err("ref is a string").to_string();
    assert!(err.contains("bad.toml") && err.contains("line 4") && err.contains("records[0].ref"), "{err}");
    let err = SeedFile::load(&dir.join("absent.json")).expect_err("no file").to_string();
    assert!(err.contains("absent.json") && err.contains("cannot read"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn permission_set_groups_are_assigned_once() {
    let sim = seeded(vec![permission_set_groups()]).await;
    let group =
        sim.query_one("SELECT Id FROM PermissionSetGroup WHERE DeveloperName = 'StoreConnect_Sync_Group'", "Id").await;
    let group = group.as_str().unwrap_or_default().to_string();
    assert!(group.starts_with("0PG"), "{group}");
    assert_eq!(sim.query_one("SELECT Status FROM PermissionSetGroup", "Status").await, "Updated");
    let user = sim.query_one("SELECT Id FROM User WHERE Username LIKE 'storeconnect.sync@%'", "Id").await;
    let user = user.as_str().unwrap_or_default().to_string();
    let assign = json!({"AssigneeId": user, "PermissionSetGroupId": group});
    let first = sim.post("sobjects/PermissionSetAssignment", &assign).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let rows = sim
        .query(&format!(
            "SELECT PermissionSetId, PermissionSetGroup.DeveloperName FROM PermissionSetAssignment WHERE AssigneeId = '{user}' AND PermissionSetGroupId = '{group}'"
        ))
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["PermissionSetGroup"]["DeveloperName"], "StoreConnect_Sync_Group");
    assert_eq!(rows[0]["PermissionSetId"], json!(null));
    let again = sim.post("sobjects/PermissionSetAssignment", &assign).await;
    assert_eq!(again.status, 400);
    assert_eq!(
        error_of(&again),
        (
            "DUPLICATE_VALUE".to_string(),
            format!("Duplicate PermissionSetAssignment. Assignee: {user}; Permission Set Group: {group}")
        )
    );
    // Exactly one of the two: neither, or both, is refused.
    let neither = sim.post("sobjects/PermissionSetAssignment", &json!({"AssigneeId": user})).await;
    assert_eq!(
        error_of(&neither),
        ("REQUIRED_FIELD_MISSING".to_string(), "Required fields are missing: [PermissionSetId]".to_string())
    );
    let ps = sim.query_one("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = false LIMIT 1", "Id").await;
    let both = sim
        .post(
            "sobjects/PermissionSetAssignment",
            &json!({"AssigneeId": user, "PermissionSetId": ps, "PermissionSetGroupId": group}),
        )
        .await;
    assert_eq!(error_of(&both).0, "FIELD_INTEGRITY_EXCEPTION");
    // Deleting the assignment frees the pair again.
    let id = sim
        .query_one(&format!("SELECT Id FROM PermissionSetAssignment WHERE PermissionSetGroupId = '{group}'"), "Id")
        .await;
    let deleted = sim.delete(&format!("sobjects/PermissionSetAssignment/{}", id.as_str().unwrap_or_default())).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(sim.post("sobjects/PermissionSetAssignment", &assign).await.status, 201);
}

#[tokio::test]
async fn seed_file_assignments_go_through_the_same_rules() {
    let mut file = permission_set_groups();
    let extra = json_file(
        r#"{"records": [
          {"object": "PermissionSetAssignment", "fields": {"AssigneeId": "@admin",
            "PermissionSetGroupId": "@PermissionSetGroup.DeveloperName=StoreConnect_Sync_Group"}},
          {"object": "PermissionSetAssignment", "fields": {"AssigneeId": "@admin",
            "PermissionSetGroupId": "@PermissionSetGroup.DeveloperName=StoreConnect_Sync_Group"}}
        ]}"#,
    );
    file.records.extend(extra.records);
    let err = start_error(vec![file]).await;
    assert!(err.contains("records[2] (PermissionSetAssignment): DUPLICATE_VALUE"), "{err}");
}
