//! Composite, composite batch and sObject collections.

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn composite_references_and_shapes() {
    let sim = sim().await;
    let reply = sim
        .post(
            "composite",
            &json!({"compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "refAccount", "body": {"Name": "Sample Account"}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "refContact",
                 "body": {"LastName": "Sample Contact", "AccountId": "@{refAccount.id}"}},
                {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id,AccountId+FROM+Contact+WHERE+Id='@{refContact.id}'", "referenceId": "q"},
                {"method": "GET", "url": "/services/data/v62.0/sobjects/Account/@{q.records[0].AccountId}?fields=Name", "referenceId": "acc"},
                {"method": "PATCH", "url": "/services/data/v62.0/sobjects/Account/@{refAccount.id}", "referenceId": "upd", "body": {"Name": "Renamed"}},
                {"method": "GET", "url": "/services/data/v62.0/sobjects/Foo", "referenceId": "missing"},
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let results = reply.body["compositeResponse"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 6);
    let account = results[0]["body"]["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(results[0]["httpStatusCode"], 201);
    assert_eq!(results[0]["httpHeaders"]["Location"], format!("/services/data/v62.0/sobjects/Account/{account}"));
    assert_eq!(results[1]["httpStatusCode"], 201);
    assert_eq!(results[2]["body"]["records"][0]["AccountId"], account.as_str());
    assert_eq!(results[3]["body"]["Name"], "Sample Account");
    assert_eq!(results[4]["httpStatusCode"], 204);
    assert_eq!(results[4]["body"], Value::Null);
    assert_eq!(results[5]["httpStatusCode"], 404);

    // Shapes as recorded: the query subresponses and the 404 subresponse.
    let recorded = cassette_bodies("cumulusci/TestCompositeParallelSalesforce.test_composite_parallel_salesforce.yaml");
    let recorded_query = &recorded[1]["compositeResponse"][0];
    assert_shape_within(recorded_query, &results[2]);
    let recorded_404 = cassette_bodies("cumulusci/TestCompositeParallelSalesforce.test_errors.yaml").remove(0);
    assert_eq!(
        json!({"compositeResponse": [results[5].clone()]})["compositeResponse"][0]["body"],
        recorded_404["compositeResponse"][0]["body"]
    );
    assert_same_shape(&results[5], &recorded_404["compositeResponse"][0]);
    assert_eq!(sim.query_one(&format!("SELECT Name FROM Account WHERE Id = '{account}'"), "Name").await, "Renamed");
    // The whole composite counted as one call.
    assert_eq!(sim.handle.api_calls(), 2);
}

#[tokio::test]
async fn composite_error_subresponse_matches_recording() {
    let sim = sim().await;
    let reply = sim
        .post(
            "composite",
            &json!({"compositeRequest": [
                {"referenceId": "refAccount", "method": "GET", "url": "/services/data/v62.0/query/?q=select count() from Account"},
                {"referenceId": "refXYZZY", "method": "GET", "url": "/services/data/v62.0/query/?q=select count() from XYZZY"},
            ]}),
        )
        .await;
    let recorded = cassette_bodies("cumulusci/TestCountSObjects.test_count_sobjects__errors.yaml").remove(0);
    assert_same_shape(&reply.body, &recorded);
    let ours = &reply.body["compositeResponse"][1];
    assert_eq!(ours["httpStatusCode"], 400);
    assert_eq!(ours["body"][0]["errorCode"], "INVALID_TYPE");
    assert_eq!(ours["body"][0]["message"], recorded["compositeResponse"][1]["body"][0]["message"]);
}

#[tokio::test]
async fn composite_all_or_none_rolls_back() {
    let sim = sim().await;
    let before = sim.query("SELECT Id FROM Account").await.len();
    let reply = sim
        .post(
            "composite",
            &json!({"allOrNone": true, "compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "a", "body": {"Name": "Kept?"}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "c", "body": {"FirstName": "NoLastName", "AccountId": "@{a.id}"}},
                {"method": "GET", "url": "/services/data/v62.0/sobjects/Account/@{a.id}", "referenceId": "g"},
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let results = reply.body["compositeResponse"].as_array().cloned().unwrap_or_default();
    let halted = json!([{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}]);
    assert_eq!(results[0]["httpStatusCode"], 400);
    assert_eq!(results[0]["body"], halted);
    assert_eq!(results[1]["body"][0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(results[2]["body"], halted);
    assert_eq!(sim.query("SELECT Id FROM Account").await.len(), before);

    // Without allOrNone, a failed subrequest leaves the others; references to it fail.
    let reply = sim
        .post(
            "composite",
            &json!({"compositeRequest": [
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "bad", "body": {"FirstName": "x"}},
                {"method": "POST", "url": "/services/data/v62.0/sobjects/Account", "referenceId": "good", "body": {"Name": "Stays"}},
                {"method": "GET", "url": "/services/data/v62.0/sobjects/Contact/@{bad.id}", "referenceId": "after"},
            ]}),
        )
        .await;
    let results = reply.body["compositeResponse"].as_array().cloned().unwrap_or_default();
    assert_eq!(results[1]["httpStatusCode"], 201);
    assert_eq!(results[2]["httpStatusCode"], 400);
    assert_eq!(
        results[2]["body"],
        json!([{"errorCode": "PROCESSING_HALTED", "message": "Invalid reference specified. No value for bad.id found in bad."}])
    );
    assert_eq!(sim.query("SELECT Id FROM Account").await.len(), before + 1);
}

#[tokio::test]
async fn composite_limits_and_mixed_dml() {
    let sim = sim().await;
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": format!("r{i}")}))
        .collect();
    let reply = sim.post("composite", &json!({"compositeRequest": many})).await;
    assert_eq!(reply.status, 400);

    let users = sim.query("SELECT Id FROM User WHERE Username LIKE 'admin@%'").await;
    let admin = users[0]["Id"].as_str().unwrap_or_default().to_string();
    let config = sim.query("SELECT Id FROM s_c__Setup_Configuration__c").await;
    let config = config[0]["Id"].as_str().unwrap_or_default().to_string();
    let reply = sim
        .post(
            "composite",
            &json!({"allOrNone": true, "compositeRequest": [
                {"method": "PATCH", "url": format!("/services/data/v62.0/sobjects/s_c__Setup_Configuration__c/{config}"), "referenceId": "cfg", "body": {"s_c__Text__c": admin}},
                {"method": "PATCH", "url": format!("/services/data/v62.0/sobjects/User/{admin}"), "referenceId": "usr", "body": {"Title": "Boss"}},
            ]}),
        )
        .await;
    let results = reply.body["compositeResponse"].as_array().cloned().unwrap_or_default();
    assert_eq!(results[1]["body"][0]["errorCode"], "MIXED_DML_OPERATION");
    assert_eq!(
        results[1]["body"][0]["message"],
        "DML operation on setup object is not permitted after you have updated a non-setup object (or vice versa): User, original object: s_c__Setup_Configuration__c"
    );
    assert_eq!(results[0]["body"][0]["errorCode"], "PROCESSING_HALTED");
    assert_ne!(
        sim.query_one(
            &format!("SELECT s_c__Text__c FROM s_c__Setup_Configuration__c WHERE Id = '{config}'"),
            "s_c__Text__c"
        )
        .await,
        admin.as_str()
    );
}

#[tokio::test]
async fn composite_batch_runs_independent_subrequests() {
    let sim = sim().await;
    let reply = sim
        .post(
            "composite/batch",
            &json!({"batchRequests": [
                {"method": "GET", "url": "v62.0/query?q=SELECT+Id+FROM+User"},
                {"method": "POST", "url": "v62.0/sobjects/Account", "richInput": {"Name": "Batch"}},
                {"method": "GET", "url": "v62.0/sobjects/Nope/describe"},
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["hasErrors"], true);
    let results = reply.body["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results[0]["statusCode"], 200);
    assert_eq!(results[0]["result"]["totalSize"], 2);
    assert_eq!(results[1]["statusCode"], 201);
    assert_eq!(results[2]["statusCode"], 404);
    assert_eq!(results[2]["result"][0]["errorCode"], "NOT_FOUND");
    let keys: Vec<&String> = results[1].as_object().map(|m| m.keys().collect()).unwrap_or_default();
    assert_eq!(keys, ["statusCode", "result"]);
}

#[tokio::test]
async fn collections_create_update_delete_retrieve() {
    let sim = sim().await;
    let reply = sim
        .post(
            "composite/sobjects",
            &json!({"allOrNone": false, "records": [
                {"attributes": {"type": "Account"}, "Name": "One"},
                {"attributes": {"type": "Contact"}, "FirstName": "No last name"},
                {"Name": "No type"},
                {"attributes": {"type": "Account"}, "Name": "Two"},
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    let r = reply.body.as_array().cloned().unwrap_or_default();
    assert_eq!(r.len(), 4);
    assert_eq!(r[0]["success"], true);
    assert_eq!(r[0]["errors"], json!([]));
    assert_eq!(
        r[1],
        json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}]})
    );
    assert_eq!(r[2]["errors"][0]["statusCode"], "INVALID_TYPE");
    let one = r[0]["id"].as_str().unwrap_or_default().to_string();
    let two = r[3]["id"].as_str().unwrap_or_default().to_string();

    // allOrNone: nothing is kept, valid records report the rollback.
    let before = sim.query("SELECT Id FROM Account").await.len();
    let reply = sim
        .post(
            "composite/sobjects",
            &json!({"allOrNone": true, "records": [
                {"attributes": {"type": "Account"}, "Name": "Three"},
                {"attributes": {"type": "Account"}, "Bogus": 1},
            ]}),
        )
        .await;
    let r = reply.body.as_array().cloned().unwrap_or_default();
    assert_eq!(r[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(r[1]["errors"][0]["statusCode"], "INVALID_FIELD");
    assert_eq!(sim.query("SELECT Id FROM Account").await.len(), before);

    let reply = sim
        .patch(
            "composite/sobjects",
            &json!({"records": [
                {"attributes": {"type": "Account"}, "id": one, "Name": "One!"},
                {"attributes": {"type": "Account"}, "Name": "no id"},
            ]}),
        )
        .await;
    let r = reply.body.as_array().cloned().unwrap_or_default();
    assert_eq!(r[0], json!({"id": one, "success": true, "errors": []}));
    assert_eq!(r[1]["errors"][0]["statusCode"], "MISSING_ARGUMENT");

    let reply = sim
        .get(&format!(
            "composite/sobjects/Account?ids={one},{two},{}&fields=Id,Name",
            runner_sim::model::make_id("001", 999_999)
        ))
        .await;
    let r = reply.body.as_array().cloned().unwrap_or_default();
    assert_eq!(r[0]["Name"], "One!");
    assert_eq!(r[0]["attributes"]["type"], "Account");
    assert_eq!(r[1]["Name"], "Two");
    assert_eq!(r[2], Value::Null);

    let reply = sim.delete(&format!("composite/sobjects?ids={one},{two}&allOrNone=false")).await;
    assert_eq!(
        reply.body,
        json!([{"id": one, "success": true, "errors": []}, {"id": two, "success": true, "errors": []}])
    );
    assert_eq!(sim.get(&format!("sobjects/Account/{one}")).await.status, 404);

    let too_many: Vec<Value> =
        (0..201).map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("n{i}")})).collect();
    assert_eq!(sim.post("composite/sobjects", &json!({"records": too_many})).await.status, 400);
}

#[tokio::test]
async fn collections_refuse_mixed_setup_and_data() {
    let sim = sim().await;
    let users = sim.query("SELECT Id FROM User WHERE Username LIKE 'admin@%'").await;
    let admin = users[0]["Id"].as_str().unwrap_or_default().to_string();
    let account = sim.query_one("SELECT Id FROM Account LIMIT 1", "Id").await;
    let reply = sim
        .patch(
            "composite/sobjects",
            &json!({"allOrNone": false, "records": [
                {"attributes": {"type": "User"}, "id": admin, "Title": "Admin"},
                {"attributes": {"type": "Account"}, "Name": "Data", "id": account},
            ]}),
        )
        .await;
    let r = reply.body.as_array().cloned().unwrap_or_default();
    assert_eq!(r[0]["success"], true);
    assert_eq!(r[1]["errors"][0]["statusCode"], "MIXED_DML_OPERATION");
    assert_eq!(
        r[1]["errors"][0]["message"],
        "DML operation on setup object is not permitted after you have updated a non-setup object (or vice versa): Account, original object: User"
    );
}
