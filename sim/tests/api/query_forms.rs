//! SOQL forms and paths independent clients use (the sf CLI, CumulusCI), with the
//! exact JSON Salesforce answers: child sub-queries, semi-joins, IN and OR,
//! case-insensitive names, queryAll, the Tooling API, column metadata, trailing and
//! doubled slashes, chunked bodies.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

const SYNC: &str = "storeconnect.sync@storeconnect-demo.example";

async fn id_of(sim: &Sim, soql: &str) -> String {
    sim.query_one(soql, "Id").await.as_str().expect("a record").to_string()
}

fn url(object: &str, id: &str) -> String {
    format!("/services/data/v62.0/sobjects/{object}/{id}")
}

/// A user with no assignments, as a client meets a brand-new sync user.
async fn bare_user(sim: &Sim) -> String {
    let profile = id_of(sim, "SELECT Id FROM Profile WHERE UserLicense.Name = 'Salesforce Integration'").await;
    sim.create(
        "User",
        json!({
            "Username": "fresh.sync@client.example", "LastName": "Fresh", "Email": "ops@client.example",
            "Alias": "fresh", "TimeZoneSidKey": "Australia/Sydney", "LocaleSidKey": "en_AU",
            "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US", "ProfileId": profile,
        }),
    )
    .await
}

async fn query_body(sim: &Sim, resource: &str, soql: &str) -> Value {
    let reply = sim.get(&format!("{resource}?q={}", encode(soql))).await;
    assert_eq!(reply.status, 200, "{soql}: {}", reply.body);
    reply.body
}

#[tokio::test]
async fn child_subqueries_answer_null_when_empty_in_canonical_spelling() {
    let sim = sim().await;
    let fresh = bare_user(&sim).await;
    let sync = id_of(&sim, &format!("SELECT Id FROM User WHERE Username = '{SYNC}'")).await;
    let psl =
        id_of(&sim, "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'").await;
    let psla = id_of(&sim, &format!("SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = '{sync}'")).await;
    // CumulusCI's query, in lower case: names come back as Salesforce spells them.
    let body = query_body(
        &sim,
        "query",
        "select id,(select permissionsetlicenseid from permissionsetlicenseassignments) from user \
         where alias in ('fresh','scsync') order by alias",
    )
    .await;
    assert_eq!(
        body,
        json!({"totalSize": 2, "done": true, "records": [
            {"attributes": {"type": "User", "url": url("User", &fresh)}, "Id": fresh,
             "PermissionSetLicenseAssignments": null},
            {"attributes": {"type": "User", "url": url("User", &sync)}, "Id": sync,
             "PermissionSetLicenseAssignments": {"totalSize": 1, "done": true, "records": [
                {"attributes": {"type": "PermissionSetLicenseAssign", "url": url("PermissionSetLicenseAssign", &psla)},
                 "PermissionSetLicenseId": psl}]}},
        ]})
    );
}

#[tokio::test]
async fn semi_joins_in_lists_and_or() {
    let sim = sim().await;
    let profile = id_of(&sim, "SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'").await;
    let body = query_body(
        &sim,
        "query",
        &format!("SELECT Name FROM Profile WHERE Id IN (SELECT ProfileId FROM User WHERE Username = '{SYNC}')"),
    )
    .await;
    assert_eq!(
        body,
        json!({"totalSize": 1, "done": true, "records": [
            {"attributes": {"type": "Profile", "url": url("Profile", &profile)}, "Name": "Minimum Access - API Only Integrations"}]})
    );
    // CumulusCI's PSL lookup: IN lists joined by OR.
    let psl =
        id_of(&sim, "SELECT Id FROM PermissionSetLicense WHERE DeveloperName = 'SalesforceAPIIntegrationPsl'").await;
    let body = query_body(
        &sim,
        "query",
        "SELECT Id,DeveloperName,PermissionSetLicenseKey FROM PermissionSetLicense WHERE DeveloperName IN \
         ('SalesforceAPIIntegrationPsl') OR PermissionSetLicenseKey IN ('SalesforceAPIIntegrationPsl')",
    )
    .await;
    let key = sim
        .query_one(
            &format!("SELECT PermissionSetLicenseKey FROM PermissionSetLicense WHERE Id = '{psl}'"),
            "PermissionSetLicenseKey",
        )
        .await;
    assert_eq!(
        body,
        json!({"totalSize": 1, "done": true, "records": [
            {"attributes": {"type": "PermissionSetLicense", "url": url("PermissionSetLicense", &psl)},
             "Id": psl, "DeveloperName": "SalesforceAPIIntegrationPsl", "PermissionSetLicenseKey": key}]})
    );
    // Anti-join: profiles nobody uses.
    let body =
        query_body(&sim, "query", "SELECT COUNT() FROM Profile WHERE Id NOT IN (SELECT ProfileId FROM User)").await;
    assert!(body["totalSize"].as_u64().is_some_and(|n| n > 0), "{body}");
    assert_eq!(body["records"], json!([]));
}

#[tokio::test]
async fn query_all_pages_through_the_query_resource() {
    let sim = sim().await;
    let records: Vec<Value> =
        (0..200).map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("Bulk {i:03}")})).collect();
    let reply = sim.post("composite/sobjects", &json!({"allOrNone": true, "records": records})).await;
    assert_eq!(reply.status, 200);
    let token = sim.handle.token().to_string();
    let first: Value = sim
        .client
        .get(sim.data(&format!("queryAll/?q={}", encode("SELECT Name FROM Account ORDER BY Name"))))
        .bearer_auth(&token)
        .header("Sforce-Query-Options", "batchSize=200")
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!((first["totalSize"].clone(), first["done"].clone()), (json!(202), json!(false)));
    // The locator of a queryAll is given under `query`; `queryAll` serves it too.
    let next = first["nextRecordsUrl"].as_str().expect("more").to_string();
    assert!(next.starts_with("/services/data/v62.0/query/01g") && next.ends_with("-200"), "{next}");
    for page_url in [next.clone(), next.replace("/query/", "/queryAll/")] {
        let rest = sim.send(reqwest::Method::GET, &sim.url(&page_url), None, Some(&token)).await;
        assert_eq!(rest.status, 200);
        let names: Vec<&str> =
            rest.body["records"].as_array().expect("records").iter().filter_map(|r| r["Name"].as_str()).collect();
        assert_eq!(names, ["Bulk 199", "Bulk Buyers Pty Ltd"]);
        assert_eq!((rest.body["totalSize"].clone(), rest.body["done"].clone()), (json!(202), json!(true)));
    }
}

#[tokio::test]
async fn the_tooling_api_serves_the_same_org() {
    let sim = sim().await;
    let profile = id_of(&sim, "SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'").await;
    let body = query_body(
        &sim,
        "tooling/query/",
        "SELECT Id, Name FROM Profile WHERE Name = 'Minimum Access - API Only Integrations'",
    )
    .await;
    assert_eq!(
        body,
        json!({"totalSize": 1, "done": true, "records": [
            {"attributes": {"type": "Profile", "url": format!("/services/data/v62.0/tooling/sobjects/Profile/{profile}")},
             "Id": profile, "Name": "Minimum Access - API Only Integrations"}]})
    );
    let map = sim.get("tooling/").await;
    assert_eq!(map.status, 200);
    assert_eq!(map.body["query"], "/services/data/v62.0/tooling/query");
    assert_eq!(map.body["sobjects"], "/services/data/v62.0/tooling/sobjects");
    let record = sim.get(&format!("tooling/sobjects/Profile/{profile}")).await;
    assert_eq!(record.status, 200);
    assert_eq!(
        record.body["attributes"],
        json!({"type": "Profile", "url": format!("/services/data/v62.0/tooling/sobjects/Profile/{profile}")})
    );
    let describe = sim.get("tooling/sobjects/PermissionSet/describe/").await;
    assert_eq!(describe.status, 200);
    assert_eq!(describe.body["name"], "PermissionSet");
    assert_eq!(describe.body["urls"]["describe"], "/services/data/v62.0/tooling/sobjects/PermissionSet/describe");
    // An object the org lacks is refused as on the data API.
    let reply = sim.get(&format!("tooling/query?q={}", encode("SELECT Id FROM SandboxProcess"))).await;
    assert_eq!((reply.status.as_u16(), error_of(&reply).0.as_str()), (400, "INVALID_TYPE"));
}

#[tokio::test]
async fn column_metadata_is_what_the_sf_cli_reads() {
    let sim = sim().await;
    let reply = sim.get(&format!("query?q={}&columns=true", encode("SELECT Id, Profile.Name FROM User"))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let column = |name: &str, display: &str, apex: Value, text: bool, joins: Value| {
        json!({"aggregate": false, "apexType": apex, "booleanType": false, "columnName": name, "custom": false,
               "displayName": display, "foreignKeyName": null, "insertable": false, "joinColumns": joins,
               "numberType": false, "textType": text, "updatable": false})
    };
    assert_eq!(
        reply.body,
        json!({
            "columnMetadata": [
                column("Id", "Id", json!("Id"), false, json!([])),
                column("Profile", "Profile", Value::Null, false, json!([column("Name", "Profile.Name", json!("String"), true, json!([]))])),
            ],
            "entityName": "User",
            "groupBy": false,
            "idSelected": true,
            "keyPrefix": "005",
        })
    );
}

/// Sends raw HTTP/1.1 and answers the status line and body.
async fn raw(sim: &Sim, request: String) -> (String, String) {
    let addr = sim.handle.addr();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await.expect("in time").expect("reads");
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn chunked_bodies_trailing_and_doubled_slashes_are_accepted() {
    let sim = sim().await;
    let token = sim.handle.token().to_string();
    let addr = sim.handle.addr();
    let json_body = r#"{"Name":"Chunked Co"}"#;
    let (first, second) = json_body.split_at(9);
    let request = format!(
        "POST /services/data/v62.0/sobjects/Account/ HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         {:x}\r\n{first}\r\n{:x}\r\n{second}\r\n0\r\n\r\n",
        first.len(),
        second.len()
    );
    let (status, body) = raw(&sim, request).await;
    assert_eq!(status, "HTTP/1.1 201 Created");
    assert!(body.contains(r#""success":true"#), "{body}");
    assert_eq!(sim.query("SELECT Id FROM Account WHERE Name = 'Chunked Co'").await.len(), 1);

    // `https://host/` + `/services/…`, as the sf CLI joins them.
    let reply = sim.send(reqwest::Method::GET, &sim.url("//services/data//v62.0/limits/"), None, Some(&token)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body["DailyApiRequests"]["Max"].is_u64());
    let versions = sim.send(reqwest::Method::GET, &sim.url("//services/data"), None, None).await;
    assert_eq!(versions.status, 200);
    let record = sim.get("sobjects/Organization/").await;
    assert_eq!(record.status, 200);
    assert_eq!(record.body["objectDescribe"]["name"], "Organization");
}
