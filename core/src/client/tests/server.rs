//! Behaviour over real HTTP against a scripted server on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Map, Value, json};

use super::super::*;
use super::mock::{Reply, Seen, dropper, mock};
use super::test_options as options;
use super::{assert_hidden, fixture};

const TOKEN: &str = "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.39AsX.LVpxezPwuX5VAIrrbbHMuol7GQxnMe";
const FRESH: &str = "00Dxx0000001gPL!FRESHTOKENvalue.2222222222222222222222222222222222222";
const CLIENT_SECRET: &str = "client-secret-8B3C1F0E9A";

fn token() -> Auth {
    Auth::AccessToken(SecretString::from(TOKEN))
}

async fn client(url: &str) -> SfClient {
    SfClient::connect(url, token(), options()).await.expect("connect")
}

fn bearer(seen: &Seen) -> &str {
    seen.authorization.as_deref().unwrap_or_default()
}

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn page(total: u64, names: &[&str], next: Option<&str>) -> Value {
    let records: Vec<Value> =
        names.iter().map(|n| json!({"attributes": {"type": "Account", "url": "/x"}, "Name": n})).collect();
    let mut page = json!({"totalSize": total, "done": next.is_none(), "records": records});
    if let Some(next) = next {
        page["nextRecordsUrl"] = json!(next);
    }
    page
}

fn html_page() -> Reply {
    Reply::Raw {
        status: 503,
        content_type: "text/html; charset=utf-8",
        body: format!("<html><body><h1>Service Unavailable</h1><p>{TOKEN}</p>{}</body></html>", "x".repeat(500)),
    }
}

#[tokio::test]
async fn query_follows_next_records_url() {
    let org = mock(|seen, _| match seen.path.as_str() {
        "/services/data/v62.0/query" => Reply::JsonWith(
            200,
            page(3, &["A", "B"], Some("/services/data/v62.0/query/01gD0000000001-2000")),
            vec![("Sforce-Limit-Info", "api-usage=18/5000".into())],
        ),
        "/services/data/v62.0/query/01gD0000000001-2000" => Reply::Json(200, page(3, &["C"], None)),
        _ => Reply::Json(404, json!([{"errorCode": "NOT_FOUND", "message": "no"}])),
    })
    .await;
    let sf = client(&org.url).await;
    let soql = "SELECT Id, Name FROM Account WHERE Name = 'O''Hara & Sons' AND Id != null";
    let result = sf.query(soql).await.expect("query");
    assert_eq!(result.total_size, 3);
    let names: Vec<&str> = result.records.iter().filter_map(|r| r["Name"].as_str()).collect();
    assert_eq!(names, ["A", "B", "C"]);
    let seen = org.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].param("q").as_deref(), Some(soql));
    assert_eq!(bearer(&seen[0]), format!("Bearer {TOKEN}"));
    assert_eq!(sf.api_calls(), 2);
    assert_eq!(sf.api_usage(), Some(ApiUsage { used: 18, limit: 5000 }));
}

#[tokio::test]
async fn query_all_and_errors() {
    let org = mock(|seen, _| match seen.path.as_str() {
        "/services/data/v62.0/queryAll" => Reply::Json(200, page(1, &["Deleted"], None)),
        _ => Reply::Json(
            400,
            serde_json::from_str(&fixture("restforce/sobject/query_error_response.json")).expect("json"),
        ),
    })
    .await;
    let sf = client(&org.url).await;
    assert_eq!(sf.query_all("SELECT Name FROM Account").await.expect("queryAll").records.len(), 1);
    let err = sf.query("SELECT Nope FROM Account").await.expect_err("bad field");
    assert_eq!(err.error_code(), Some("INVALID_FIELD"));
    assert!(matches!(err, ClientError::Api { status: 400, .. }));
    assert!(!err.is_ambiguous_write());
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn record_crud() {
    let org = mock(|seen, _| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/services/data/v62.0/sobjects/Account/001000000000001AAA") => {
            Reply::Json(200, json!({"attributes": {"type": "Account"}, "Id": "001000000000001AAA", "Name": "Acme"}))
        }
        ("POST", "/services/data/v62.0/sobjects/Account/") => Reply::Json(
            201,
            serde_json::from_str(&fixture("restforce/sobject/create_success_response.json")).expect("json"),
        ),
        ("POST", "/services/data/v62.0/sobjects/User/") => Reply::Json(
            400,
            json!([{"message": "Duplicate Username.", "errorCode": "DUPLICATE_USERNAME", "fields": ["Username"]}]),
        ),
        ("PATCH", _) | ("DELETE", _) => Reply::Raw { status: 204, content_type: "", body: String::new() },
        _ => Reply::Json(404, json!([{"errorCode": "NOT_FOUND", "message": "no"}])),
    })
    .await;
    let sf = client(&org.url).await;
    let record = sf.get("Account", "001000000000001AAA", Some(&["Id", "Name"])).await.expect("get");
    assert_eq!(record["Name"], "Acme");
    let fields = map(json!({"Name": "Acme"}));
    assert_eq!(sf.create("Account", &fields).await.expect("create"), "some_id");
    sf.update("Account", "001000000000001AAA", &fields).await.expect("update");
    sf.delete("Account", "001000000000001AAA").await.expect("delete");
    let err = sf.create("User", &fields).await.expect_err("duplicate");
    assert_eq!(err.error_code(), Some("DUPLICATE_USERNAME"));
    assert_eq!(err.first_api_error().map(|e| e.fields.clone()), Some(vec!["Username".to_string()]));
    let seen = org.seen();
    assert_eq!(seen[0].param("fields").as_deref(), Some("Id,Name"));
    assert_eq!(seen[1].json(), json!({"Name": "Acme"}));
    assert_eq!(seen[2].method, "PATCH");
    assert!(seen[2].content_type.as_deref().is_some_and(|c| c.starts_with("application/json")));
    assert_eq!(seen[3].method, "DELETE");
    // Ids and names that could change the path are refused before sending.
    assert!(matches!(sf.get("Account", "../../x", None).await, Err(ClientError::InvalidName { .. })));
    assert!(matches!(sf.update("Acc/ount", "001000000000001AAA", &fields).await, Err(ClientError::InvalidName { .. })));
    assert_eq!(org.count(), 5);
}

#[tokio::test]
async fn composite_round_trip() {
    let org = mock(|seen, _| {
        assert_eq!(seen.path, "/services/data/v62.0/composite");
        Reply::Json(
            200,
            json!({"compositeResponse": [
                {"body": {"id": "001R00000064wdtIAA", "success": true, "errors": []},
                 "httpHeaders": {"Location": "/services/data/v62.0/sobjects/Account/001R00000064wdtIAA"},
                 "httpStatusCode": 201, "referenceId": "refAccount"},
                {"body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}],
                 "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "refContact"}
            ]}),
        )
    })
    .await;
    let sf = client(&org.url).await;
    let request = CompositeRequest {
        all_or_none: true,
        subrequests: vec![
            SubRequest {
                method: "POST".into(),
                url: "/sobjects/Account".into(),
                reference_id: "refAccount".into(),
                body: Some(json!({"Name": "Sample"})),
            },
            SubRequest {
                method: "POST".into(),
                url: "/services/data/v62.0/sobjects/Contact".into(),
                reference_id: "refContact".into(),
                body: Some(json!({"LastName": "S", "AccountId": "@{refAccount.id}"})),
            },
        ],
    };
    let responses = sf.composite(&request).await.expect("composite");
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0].headers["Location"], "/services/data/v62.0/sobjects/Account/001R00000064wdtIAA");
    assert_eq!(responses[0].clone().into_result().expect("created")["id"], "001R00000064wdtIAA");
    let err = responses[1].clone().into_result().expect_err("halted");
    assert_eq!(err.error_code(), Some("PROCESSING_HALTED"));
    assert!(err.to_string().contains("POST /services/data/v62.0/sobjects/Contact"), "{err}");
    let body = org.seen()[0].json();
    assert_eq!(body["allOrNone"], true);
    assert_eq!(body["compositeRequest"][0]["url"], "/services/data/v62.0/sobjects/Account");
    assert_eq!(body["compositeRequest"][0]["referenceId"], "refAccount");
    assert_eq!(body["compositeRequest"][1]["body"]["AccountId"], "@{refAccount.id}");
}

fn batch_answer(seen: &Seen) -> Value {
    let requests = seen.json()["batchRequests"].as_array().cloned().unwrap_or_default();
    let results: Vec<Value> = requests
        .iter()
        .map(|r| {
            let url = r["url"].as_str().unwrap_or_default();
            assert_eq!(r["method"], "GET");
            if url.starts_with("v62.0/query/01gNEXT") {
                json!({"statusCode": 200, "result": page(3, &["page2"], None)})
            } else if url.contains("Nope") {
                json!({"statusCode": 400, "result": [{"errorCode": "INVALID_TYPE", "message": "sObject type 'Nope' is not supported."}]})
            } else if url.contains("Many") {
                json!({"statusCode": 200, "result": page(3, &["page1a", "page1b"], Some("/services/data/v62.0/query/01gNEXT-2000"))})
            } else {
                assert!(url.starts_with("v62.0/query?q="), "{url}");
                json!({"statusCode": 200, "result": page(1, &["one"], None)})
            }
        })
        .collect();
    json!({"hasErrors": false, "results": results})
}

#[tokio::test]
async fn query_batch_in_one_round_trip_then_pages() {
    let org = mock(|seen, _| match seen.path.as_str() {
        "/services/data/v62.0/composite/batch" => Reply::Json(200, batch_answer(seen)),
        _ => Reply::Json(404, json!([{"errorCode": "NOT_FOUND", "message": "no"}])),
    })
    .await;
    let sf = client(&org.url).await;
    let mut soqls: Vec<String> = (0..24).map(|i| format!("SELECT Id FROM Account LIMIT {i}")).collect();
    soqls.push("SELECT Id FROM Many".into());
    soqls.push("SELECT Id FROM Nope".into());
    let results = sf.query_batch(&soqls).await.expect("batch");
    assert_eq!(results.len(), 26);
    assert_eq!(results[0].as_ref().expect("ok").records.len(), 1);
    let many = results[24].as_ref().expect("many");
    let names: Vec<&str> = many.records.iter().filter_map(|r| r["Name"].as_str()).collect();
    assert_eq!(names, ["page1a", "page1b", "page2"]);
    let err = results[25].as_ref().expect_err("nope");
    assert_eq!(err.error_code(), Some("INVALID_TYPE"));
    // 26 queries: a batch of 25, a batch of 1, then one batch for the second page.
    assert_eq!(sf.api_calls(), 3);
    let seen = org.seen();
    assert_eq!(seen[0].json()["batchRequests"].as_array().map(Vec::len), Some(25));
    assert_eq!(seen[0].json()["haltOnError"], false);
    assert_eq!(sf.query_batch(&[]).await.expect("empty").len(), 0);
    assert_eq!(sf.api_calls(), 3);
}

#[tokio::test]
async fn query_batch_falls_back_to_composite() {
    let org = mock(|seen, _| match seen.path.as_str() {
        "/services/data/v62.0/composite" => {
            let subs = seen.json()["compositeRequest"].as_array().cloned().unwrap_or_default();
            assert!(subs.len() <= 5);
            let answers: Vec<Value> = subs
                .iter()
                .map(|s| {
                    assert!(s["url"].as_str().is_some_and(|u| u.starts_with("/services/data/v62.0/query?q=")));
                    json!({"body": page(1, &["x"], None), "httpHeaders": {}, "httpStatusCode": 200, "referenceId": s["referenceId"]})
                })
                .collect();
            Reply::Json(200, json!({"compositeResponse": answers}))
        }
        _ => Reply::Json(404, json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])),
    })
    .await;
    let sf = client(&org.url).await;
    let soqls: Vec<String> = (0..7).map(|i| format!("SELECT Id FROM Account LIMIT {i}")).collect();
    let results = sf.query_batch(&soqls).await.expect("fallback");
    assert!(results.iter().all(|r| r.as_ref().is_ok_and(|q| q.records.len() == 1)));
    // One refused batch, then two composites (5 + 2).
    assert_eq!(sf.api_calls(), 3);
    sf.query_batch(&soqls[..2]).await.expect("again");
    assert_eq!(sf.api_calls(), 4, "the batch resource is not asked again");
}

#[tokio::test]
async fn sobject_collections() {
    let org = mock(|seen, _| {
        assert_eq!(seen.path, "/services/data/v62.0/composite/sobjects");
        let count = match seen.method.as_str() {
            "DELETE" => seen.param("ids").map(|ids| ids.split(',').count()).unwrap_or(0),
            _ => seen.json()["records"].as_array().map(Vec::len).unwrap_or(0),
        };
        let results: Vec<Value> = (0..count)
            .map(|i| {
                if i == 1 {
                    json!({"success": false, "errors": [{"statusCode": "DUPLICATE_VALUE", "message": "Duplicate PermissionSetAssignment. Assignee: 005; Permission Set: 0PS", "fields": []}]})
                } else {
                    json!({"id": format!("0Pa{i:015}"), "success": true, "errors": []})
                }
            })
            .collect();
        Reply::Json(200, Value::Array(results))
    })
    .await;
    let sf = client(&org.url).await;
    let records: Vec<NewRecord> = (0..201)
        .map(|i| NewRecord {
            sobject: "PermissionSetAssignment".into(),
            fields: map(json!({"AssigneeId": "005000000000001AAA", "PermissionSetId": format!("0PS{i:015}")})),
        })
        .collect();
    let saved = sf.create_many(&records, false).await.expect("create_many");
    assert_eq!(saved.len(), 201);
    assert!(!saved[1].success);
    assert_eq!(saved[1].errors[0].error_code, "DUPLICATE_VALUE");
    assert_eq!(saved[200].id.as_deref(), Some("0Pa000000000000000"));
    let seen = org.seen();
    assert_eq!(seen.len(), 2, "chunks of 200");
    let first = seen[0].json();
    assert_eq!(first["allOrNone"], false);
    assert_eq!(first["records"][0]["attributes"]["type"], "PermissionSetAssignment");
    assert_eq!(first["records"][0]["AssigneeId"], "005000000000001AAA");

    let updates = vec![RecordUpdate {
        sobject: "User".into(),
        id: "005000000000001AAA".into(),
        fields: map(json!({"IsActive": false})),
    }];
    assert_eq!(sf.update_many(&updates, true).await.expect("update_many").len(), 1);
    let patch = &org.seen()[2];
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.json()["records"][0]["id"], "005000000000001AAA");
    assert_eq!(patch.json()["allOrNone"], true);

    let ids = vec!["0Pa000000000000001".to_string(), "0Pa000000000000002".to_string()];
    let deleted = sf.delete_many(&ids, true).await.expect("delete_many");
    assert_eq!(deleted.len(), 2);
    let delete = &org.seen()[3];
    assert_eq!(delete.param("ids").as_deref(), Some("0Pa000000000000001,0Pa000000000000002"));
    assert_eq!(delete.param("allOrNone").as_deref(), Some("true"));
    assert!(sf.create_many(&[], true).await.expect("nothing").is_empty());
    assert_eq!(sf.api_calls(), 4);
}

#[tokio::test]
async fn client_credentials_refresh_once_on_401() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let issued = tokens.clone();
    let org = Arc::new(std::sync::OnceLock::<String>::new());
    let org_url = org.clone();
    let server = mock(move |seen, _| match seen.path.as_str() {
        "/services/oauth2/token" => {
            assert_eq!(seen.param("grant_type").as_deref(), Some("client_credentials"));
            assert_eq!(seen.param("client_secret").as_deref(), Some(CLIENT_SECRET));
            let n = issued.fetch_add(1, Ordering::SeqCst);
            let token = if n == 0 { TOKEN } else { FRESH };
            Reply::Json(
                200,
                json!({
                    "access_token": token, "instance_url": org_url.get().cloned().unwrap_or_default(),
                    "id": "https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001Svqw",
                    "token_type": "Bearer", "issued_at": "1278448832702", "signature": "sig="
                }),
            )
        }
        "/services/data/v62.0/query" if seen.authorization.as_deref() == Some(&format!("Bearer {FRESH}")) => {
            Reply::Json(200, page(1, &["ok"], None))
        }
        _ => Reply::Json(401, serde_json::from_str(&fixture("restforce/expired_session_response.json")).expect("json")),
    })
    .await;
    org.set(server.url.clone()).expect("once");
    let auth = Auth::ClientCredentials {
        token_url: url::Url::parse(&format!("{}/services/oauth2/token", server.url)).expect("url"),
        client_id: "3MVG9consumerkey".into(),
        client_secret: SecretString::from(CLIENT_SECRET),
    };
    // The token's instance_url wins over the URL given to connect.
    let sf = SfClient::connect("https://login.salesforce.com", auth, options()).await.expect("connect");
    assert_eq!(sf.instance_url().as_str(), format!("{}/", server.url));
    let result = sf.query("SELECT Id FROM User").await.expect("query after refresh");
    assert_eq!(result.records.len(), 1);
    // token, query (401), token, query again
    assert_eq!(sf.api_calls(), 4);
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    let debug = format!("{sf:?}");
    assert!(!debug.contains(TOKEN) && !debug.contains(FRESH) && !debug.contains(CLIENT_SECRET), "{debug}");
}

#[tokio::test]
async fn refreshed_token_refused_too() {
    let server = mock(|seen, _| match seen.path.as_str() {
        "/services/oauth2/token" => Reply::Json(200, json!({"access_token": FRESH, "token_type": "Bearer"})),
        _ => Reply::Json(401, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])),
    })
    .await;
    let auth = Auth::ClientCredentials {
        token_url: url::Url::parse(&format!("{}/services/oauth2/token", server.url)).expect("url"),
        client_id: "id".into(),
        client_secret: SecretString::from(CLIENT_SECRET),
    };
    let sf = SfClient::connect(&server.url, auth, options()).await.expect("connect");
    let err = sf.query("SELECT Id FROM User").await.expect_err("still 401");
    assert!(matches!(err, ClientError::SessionInvalid { .. }), "{err:?}");
    assert_eq!(err.error_code(), Some("INVALID_SESSION_ID"));
    assert_hidden(&err, FRESH);
    assert_hidden(&err, CLIENT_SECRET);
    // token, query, token, query: one refresh only.
    assert_eq!(sf.api_calls(), 4);
}

#[tokio::test]
async fn refresh_token_flow_and_oauth_errors() {
    let server = mock(|seen, n| match seen.path.as_str() {
        "/services/oauth2/token" if n == 0 => {
            assert_eq!(seen.param("grant_type").as_deref(), Some("refresh_token"));
            assert_eq!(seen.param("refresh_token").as_deref(), Some("5Aep861refresh"));
            assert_eq!(seen.param("client_secret"), None);
            let mut body: Value =
                serde_json::from_str(&fixture("restforce/refresh_success_response.json")).expect("json");
            body["instance_url"] = Value::Null;
            Reply::Json(200, body)
        }
        "/services/oauth2/token" => {
            Reply::Json(400, serde_json::from_str(&fixture("restforce/refresh_error_response.json")).expect("json"))
        }
        "/services/data/" => Reply::Json(
            200,
            serde_json::from_str(&fixture("restforce/services_data_success_response.json")).expect("json"),
        ),
        _ => Reply::Json(401, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])),
    })
    .await;
    let auth = || Auth::RefreshToken {
        token_url: url::Url::parse(&format!("{}/services/oauth2/token", server.url)).expect("url"),
        client_id: "id".into(),
        client_secret: None,
        refresh_token: SecretString::from("5Aep861refresh"),
    };
    let sf = SfClient::connect(&server.url, auth(), ClientOptions { api_version: None, ..options() })
        .await
        .expect("connect");
    // No instance_url in the token answer: the given URL stays; the version is the list's last.
    assert_eq!(sf.instance_url().as_str(), format!("{}/", server.url));
    assert_eq!(sf.api_version(), "100");
    let err = sf.userinfo().await.expect_err("refresh refused");
    match &err {
        ClientError::OAuth { status: 400, error, description } => {
            assert_eq!(error, "invalid_grant");
            assert_eq!(description, "expired access/refresh token");
        }
        other => panic!("{other:?}"),
    }
    assert_hidden(&err, "5Aep861refresh");
    assert_hidden(&err, "refreshed_access_token");
    let err = SfClient::connect(&server.url, auth(), options()).await.expect_err("connect refused");
    assert_eq!(err.error_code(), Some("invalid_grant"));
    let debug = format!("{:?}", auth());
    assert!(!debug.contains("5Aep861refresh"), "{debug}");
}

#[tokio::test]
async fn access_token_cannot_refresh() {
    let org = mock(|_, _| {
        Reply::Json(401, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]))
    })
    .await;
    let sf = client(&org.url).await;
    let err = sf.get("User", "005000000000001AAA", None).await.expect_err("401");
    assert!(matches!(err, ClientError::SessionInvalid { .. }));
    use miette::Diagnostic;
    assert!(err.help().is_some_and(|h| h.to_string().contains("sf org login")));
    assert_hidden(&err, TOKEN);
    assert_eq!(org.count(), 1);
}

#[tokio::test]
async fn custom_token_source() {
    struct Fixed(AtomicUsize);
    impl TokenSource for Fixed {
        fn describe(&self) -> String {
            "fixed test tokens".into()
        }
        fn fetch<'a>(&'a self, _endpoint: &'a TokenEndpoint) -> BoxFuture<'a, Result<Token, ClientError>> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                Ok(Token { access_token: SecretString::from(if n == 0 { TOKEN } else { FRESH }), instance_url: None })
            })
        }
    }
    let org = mock(|seen, _| {
        if seen.authorization.as_deref() == Some(&format!("Bearer {FRESH}")) {
            Reply::Json(200, json!({"user_id": "005xx", "organization_id": "00Dxx"}))
        } else {
            Reply::Json(401, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]))
        }
    })
    .await;
    let source = Arc::new(Fixed(AtomicUsize::new(0)));
    let sf = SfClient::connect(&org.url, Auth::Custom(source.clone()), options()).await.expect("connect");
    let info = sf.userinfo().await.expect("userinfo");
    assert_eq!(info["user_id"], "005xx");
    assert_eq!(org.seen()[0].path, "/services/oauth2/userinfo");
    assert_eq!(source.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn get_retried_on_503_with_retry_after() {
    let org = mock(|_, n| {
        if n < 2 {
            Reply::JsonWith(
                503,
                json!([{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}]),
                vec![("Retry-After", "0".into())],
            )
        } else {
            Reply::Json(200, page(1, &["finally"], None))
        }
    })
    .await;
    let sf = client(&org.url).await;
    let result = sf.query("SELECT Id FROM Account").await.expect("after retries");
    assert_eq!(result.records[0]["Name"], "finally");
    assert_eq!(sf.api_calls(), 3);

    // Retries run out: the last answer is the error.
    let org = mock(|_, _| html_page()).await;
    let sf = client(&org.url).await;
    let err = sf.query("SELECT Id FROM Account").await.expect_err("always 503");
    assert!(matches!(err, ClientError::UnexpectedResponse { status: 503, .. }), "{err:?}");
    assert!(!err.is_ambiguous_write(), "a read is never an ambiguous write");
    assert_eq!(org.count(), 3, "1 + max_retries");
}

#[tokio::test]
async fn create_not_retried_on_503() {
    let org = mock(|_, _| html_page()).await;
    let sf = client(&org.url).await;
    let err = sf.create("Account", &map(json!({"Name": "x"}))).await.expect_err("503");
    assert_eq!(org.count(), 1);
    assert!(err.is_ambiguous_write(), "a gateway error on a create is ambiguous: {err:?}");
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn delete_retry_that_finds_the_record_gone_succeeds() {
    let org = mock(|_, n| {
        if n == 0 {
            Reply::JsonWith(
                503,
                json!([{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}]),
                vec![("Retry-After", "0".into())],
            )
        } else {
            Reply::Json(404, json!([{"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}]))
        }
    })
    .await;
    let sf = client(&org.url).await;
    sf.delete("Account", "001000000000001AAA").await.expect("already gone after a retry");
    assert_eq!(org.count(), 2);
    // Without a retry, a missing record is an error.
    let err = sf.delete("Account", "001000000000001AAA").await.expect_err("gone");
    assert_eq!(err.error_code(), Some("ENTITY_IS_DELETED"));
}

#[tokio::test]
async fn dropped_connection() {
    let server = dropper().await;
    let sf = client(&server.url).await;
    let err = sf.create("User", &map(json!({"Username": "sync@example.com"}))).await.expect_err("dropped");
    assert!(matches!(err, ClientError::Transport { sent: true, .. }), "{err:?}");
    assert!(err.is_ambiguous_write());
    assert_eq!(server.requests.load(Ordering::SeqCst), 1, "a create is never sent twice");
    assert_hidden(&err, TOKEN);

    let before = server.requests.load(Ordering::SeqCst);
    let err = sf.query("SELECT Id FROM User").await.expect_err("dropped");
    assert!(!err.is_ambiguous_write());
    assert_eq!(server.requests.load(Ordering::SeqCst) - before, 3, "reads are retried");

    let composite = CompositeRequest {
        all_or_none: true,
        subrequests: vec![SubRequest {
            method: "POST".into(),
            url: "/sobjects/Account".into(),
            reference_id: "a".into(),
            body: Some(json!({})),
        }],
    };
    let before = server.requests.load(Ordering::SeqCst);
    let err = sf.composite(&composite).await.expect_err("dropped");
    assert!(err.is_ambiguous_write());
    assert_eq!(server.requests.load(Ordering::SeqCst) - before, 1);
}

#[tokio::test]
async fn connection_refused_is_retried_and_not_ambiguous() {
    // Bind then free a port: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let sf = client(&url).await;
    let err = sf.create("Account", &map(json!({"Name": "x"}))).await.expect_err("refused");
    assert!(matches!(err, ClientError::Transport { sent: false, .. }), "{err:?}");
    assert!(!err.is_ambiguous_write());
    assert_eq!(sf.api_calls(), 3, "not sent, so retried even for a create");
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn unexpected_bodies() {
    let org = mock(|seen, _| match seen.path.as_str() {
        "/services/data/v62.0/sobjects/Account/001000000000001AAA" => html_page(),
        "/services/data/v62.0/sobjects/Account/001000000000002AAA" => {
            Reply::Raw { status: 200, content_type: "application/json", body: String::new() }
        }
        "/services/data/v62.0/sobjects/Account/001000000000003AAA" => {
            Reply::Raw { status: 200, content_type: "text/plain", body: "{\"Id\": \"x\"}".into() }
        }
        _ => Reply::Raw { status: 200, content_type: "text/html", body: "<html>login</html>".into() },
    })
    .await;
    let sf = SfClient::connect(&org.url, token(), ClientOptions { retry: RetryPolicy::none(), ..options() })
        .await
        .expect("connect");
    for id in ["001000000000001AAA", "001000000000003AAA"] {
        let err = sf.get("Account", id, None).await.expect_err("unexpected");
        let ClientError::UnexpectedResponse { snippet, .. } = &err else { panic!("{err:?}") };
        assert!(snippet.chars().count() <= 200, "{snippet}");
        assert_hidden(&err, TOKEN);
    }
    // An empty body where a record was expected is named as such, not as "not the API".
    let err = sf.get("Account", "001000000000002AAA", None).await.expect_err("empty");
    assert!(matches!(err, ClientError::EmptyBody { status: 200, .. }), "{err:?}");
    let err = sf.get("Account", "001000000000001AAA", None).await.expect_err("html");
    assert!(err.to_string().contains("text/html"), "{err}");
    assert!(err.to_string().contains("[REDACTED]"), "the echoed token is cut out: {err}");
    let err = sf.query("SELECT Id FROM Account").await.expect_err("login page");
    assert!(matches!(err, ClientError::UnexpectedResponse { status: 200, .. }));
}

#[tokio::test]
async fn insecure_and_invalid_urls() {
    for url in ["http://example.com", "http://example.com:8080/", "http://10.0.0.1", "http://127.0.0.1.example.com"] {
        let err = SfClient::connect(url, token(), options()).await.expect_err(url);
        assert!(matches!(err, ClientError::InsecureUrl { .. }), "{url}: {err:?}");
        assert_hidden(&err, TOKEN);
    }
    for url in ["not a url", "ftp://example.com", "mailto:x@example.com"] {
        let err = SfClient::connect(url, token(), options()).await.expect_err(url);
        assert!(matches!(err, ClientError::InvalidUrl { .. }), "{url}: {err:?}");
    }
    let auth = Auth::ClientCredentials {
        token_url: url::Url::parse("http://login.example.com/services/oauth2/token").expect("url"),
        client_id: "id".into(),
        client_secret: SecretString::from(CLIENT_SECRET),
    };
    let err = SfClient::connect("https://acme.my.salesforce.com", auth, options()).await.expect_err("http token url");
    assert!(matches!(err, ClientError::InsecureUrl { .. }));
    for url in ["http://localhost:1", "http://[::1]:1", "http://127.0.0.2:1"] {
        check_secure(&url::Url::parse(url).expect("url")).expect(url);
    }
    // http to 127.0.0.1 is allowed, path and query dropped.
    let org =
        mock(|_, _| Reply::Json(200, json!([{"version": "61.0"}, {"version": "62.0", "url": "/services/data/v62.0"}])))
            .await;
    let sf = SfClient::connect(
        &format!("{}/some/path?x=1", org.url),
        token(),
        ClientOptions { api_version: None, ..options() },
    )
    .await
    .expect("loopback");
    assert_eq!(sf.instance_url().as_str(), format!("{}/", org.url));
    assert_eq!(sf.api_version(), "62.0");
    assert_eq!(org.seen()[0].path, "/services/data/");
    assert_eq!(org.seen()[0].authorization, None, "the version list needs no token");
}

#[tokio::test]
async fn timeouts() {
    let org = mock(|_, _| Reply::Hang).await;
    let short = ClientOptions { timeout: Duration::from_millis(200), ..options() };
    let sf = SfClient::connect(&org.url, token(), short).await.expect("connect");
    let err = sf.query("SELECT Id FROM Account").await.expect_err("timeout");
    assert!(matches!(err, ClientError::Timeout { .. }), "{err:?}");
    assert!(!err.is_ambiguous_write());
    assert_eq!(org.count(), 3, "reads are retried after a timeout");
    let before = org.count();
    let err = sf.create("Account", &map(json!({"Name": "x"}))).await.expect_err("timeout");
    assert!(matches!(err, ClientError::Timeout { .. }));
    assert!(err.is_ambiguous_write());
    assert_eq!(org.count() - before, 1, "a create is not sent again");
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn api_calls_and_limit_info() {
    let org = mock(|seen, n| match seen.path.as_str() {
        "/services/data/" => Reply::Json(200, json!([{"version": "62.0"}])),
        _ if n == 1 => {
            Reply::JsonWith(200, page(0, &[], None), vec![("Sforce-Limit-Info", "api-usage=25/15000".into())])
        }
        _ => Reply::JsonWith(
            403,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
            vec![("Sforce-Limit-Info", "api-usage=15001/15000, per-app-api-usage=17/250(appName=runner)".into())],
        ),
    })
    .await;
    let sf =
        SfClient::connect(&org.url, token(), ClientOptions { api_version: None, ..options() }).await.expect("connect");
    assert_eq!(sf.api_calls(), 1, "the version list counts");
    assert_eq!(sf.api_usage(), None, "the version list has no limit info");
    sf.query("SELECT COUNT() FROM Account").await.expect("query");
    assert_eq!(sf.api_usage(), Some(ApiUsage { used: 25, limit: 15000 }));
    let err = sf.query("SELECT Id FROM Account").await.expect_err("limit");
    match &err {
        ClientError::RequestLimit { usage } => assert_eq!(*usage, Some(ApiUsage { used: 15001, limit: 15000 })),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.error_code(), Some("REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(sf.api_calls(), 3, "a request limit is not retried");
    assert_hidden(&err, TOKEN);
    assert_eq!(
        ApiUsage::parse_header("per-app-api-usage=1/2(appName=x), api-usage=3/4"),
        Some(ApiUsage { used: 3, limit: 4 })
    );
    assert_eq!(ApiUsage::parse_header("garbage"), None);
}

const ENVELOPE_START: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>"#;
const ENVELOPE_END: &str = "</soapenv:Body></soapenv:Envelope>";

fn soap(status: u16, inner: &str) -> Reply {
    Reply::Raw {
        status,
        content_type: "text/xml;charset=UTF-8",
        body: format!("{ENVELOPE_START}{inner}{ENVELOPE_END}"),
    }
}

fn fault(code: &str, message: &str) -> Reply {
    soap(
        500,
        &format!(
            "<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring></soapenv:Fault>"
        ),
    )
}

#[tokio::test]
async fn metadata_soap() {
    const NAME: &str = "Minimum Access - API Only Integrations";
    let org = mock(|seen, _| {
        assert_eq!(seen.path, "/services/Soap/m/62.0");
        assert!(seen.content_type.as_deref().is_some_and(|c| c.starts_with("text/xml")));
        assert_eq!(seen.soap_action.as_deref(), Some("\"\""));
        assert_eq!(seen.authorization, None, "the session goes in the SOAP header");
        let doc = super::super::soap::parse(seen.body.as_bytes()).expect("request is XML");
        assert_eq!(doc.find("sessionId").map(|e| e.text.as_str()), Some(TOKEN));
        if let Some(read) = doc.find("readMetadata") {
            assert_eq!(read.child_text("type"), Some("Profile"));
            match read.child_text("fullNames") {
                Some(NAME) => soap(200, &format!(
                    "<readMetadataResponse><result><records xsi:type=\"Profile\"><fullName>{NAME}</fullName><custom>false</custom>\
                     <recordTypeVisibilities><default>true</default><recordType>Account.Business_Account</recordType><visible>true</visible></recordTypeVisibilities>\
                     <recordTypeVisibilities><default>false</default><personAccountDefault>true</personAccountDefault><recordType>Account.PersonAccount</recordType><visible>true</visible></recordTypeVisibilities>\
                     <userLicense>Salesforce Integration</userLicense></records></result></readMetadataResponse>"
                )),
                Some("Bad <&> \"name\"") => soap(200, "<readMetadataResponse><result><records xsi:nil=\"true\"/></result></readMetadataResponse>"),
                _ => fault("INVALID_TYPE", "Unable to determine type mapping for type Profile"),
            }
        } else {
            let update = doc.find("updateMetadata").expect("updateMetadata");
            let metadata = update.child("metadata").expect("metadata");
            assert_eq!(metadata.attr("type"), Some("met:Profile"));
            let visibility = metadata.child("recordTypeVisibilities").expect("visibility");
            let order: Vec<&str> = visibility.children.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(order, ["default", "personAccountDefault", "recordType", "visible"]);
            if metadata.child_text("fullName") == Some(NAME) {
                soap(200, &format!("<updateMetadataResponse><result><fullName>{NAME}</fullName><success>true</success></result></updateMetadataResponse>"))
            } else {
                soap(200, "<updateMetadataResponse><result><errors><fields>recordType</fields><message>Record Type Account.Nope not found</message><statusCode>FIELD_INTEGRITY_EXCEPTION</statusCode></errors><fullName>Other</fullName><success>false</success></result></updateMetadataResponse>")
            }
        }
    })
    .await;
    let sf = client(&org.url).await;
    let visibilities = sf.read_profile_record_types(NAME).await.expect("read");
    assert_eq!(
        visibilities,
        vec![
            RecordTypeVisibility {
                record_type: "Account.Business_Account".into(),
                default: true,
                visible: true,
                person_account_default: None
            },
            RecordTypeVisibility {
                record_type: "Account.PersonAccount".into(),
                default: false,
                visible: true,
                person_account_default: Some(true)
            },
        ]
    );
    let missing = sf.read_profile_record_types("Bad <&> \"name\"").await.expect_err("nil record");
    assert_eq!(missing.error_code(), Some("NOT_FOUND"));
    let err = sf.read_profile_record_types("Nope").await.expect_err("fault");
    match &err {
        ClientError::Soap { fault_code, message } => {
            assert_eq!(fault_code, "sf:INVALID_TYPE");
            assert!(message.contains("type mapping"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.error_code(), Some("INVALID_TYPE"));
    assert_hidden(&err, TOKEN);

    let change = RecordTypeVisibility {
        record_type: "Account.PersonAccount".into(),
        default: true,
        visible: true,
        person_account_default: Some(true),
    };
    sf.update_profile_record_types(NAME, std::slice::from_ref(&change)).await.expect("update");
    let err = sf.update_profile_record_types("Other", &[change]).await.expect_err("errors");
    assert_eq!(err.error_code(), Some("FIELD_INTEGRITY_EXCEPTION"));
    assert_eq!(err.first_api_error().map(|e| e.fields.clone()), Some(vec!["recordType".to_string()]));
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn soap_invalid_session_refreshes() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let issued = tokens.clone();
    let server = mock(move |seen, _| match seen.path.as_str() {
        "/services/oauth2/token" => {
            let n = issued.fetch_add(1, Ordering::SeqCst);
            Reply::Json(200, json!({"access_token": if n == 0 { TOKEN } else { FRESH }}))
        }
        _ if seen.body.contains(FRESH) => soap(
            200,
            "<updateMetadataResponse><result><fullName>P</fullName><success>true</success></result></updateMetadataResponse>",
        ),
        _ => fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session"),
    })
    .await;
    let auth = Auth::ClientCredentials {
        token_url: url::Url::parse(&format!("{}/services/oauth2/token", server.url)).expect("url"),
        client_id: "id".into(),
        client_secret: SecretString::from(CLIENT_SECRET),
    };
    let sf = SfClient::connect(&server.url, auth, options()).await.expect("connect");
    sf.update_profile_record_types("P", &[]).await.expect("ok after a refresh");
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
    // token, SOAP (fault), token, SOAP
    assert_eq!(sf.api_calls(), 4);
    // An access token cannot refresh: the fault becomes SessionInvalid.
    let stale = client(&server.url).await;
    let err = stale.update_profile_record_types("P", &[]).await.expect_err("stale session");
    assert!(matches!(err, ClientError::SessionInvalid { .. }), "{err:?}");
    assert_hidden(&err, TOKEN);
}

#[tokio::test]
async fn request_json_escape_hatch() {
    let org = mock(|seen, _| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/services/data/v62.0/sobjects/User/005000000000001AAA/password") => {
            Reply::Json(200, json!({"isExpired": false}))
        }
        ("POST", "/services/data/v62.0/sobjects/User/005000000000001AAA/password") => {
            Reply::Raw { status: 204, content_type: "", body: String::new() }
        }
        _ => Reply::Json(
            403,
            json!({"message": "You do not have permission to view this record.", "errorCode": "INSUFFICIENT_ACCESS"}),
        ),
    })
    .await;
    let sf = client(&org.url).await;
    let (status, body) =
        sf.request_json(Method::GET, "/sobjects/User/005000000000001AAA/password", None).await.expect("get");
    assert_eq!((status, body), (200, json!({"isExpired": false})));
    let (status, body) = sf
        .request_json(
            Method::POST,
            "/services/data/v62.0/sobjects/User/005000000000001AAA/password",
            Some(&json!({"NewPassword": "x"})),
        )
        .await
        .expect("post");
    assert_eq!((status, body), (204, Value::Null));
    let err =
        sf.request_json(Method::DELETE, "/sobjects/User/005000000000002AAA/password", None).await.expect_err("403");
    assert_eq!(err.error_code(), Some("INSUFFICIENT_ACCESS"), "the single-object error form");
    assert!(matches!(sf.request_json(Method::GET, "/../../etc", None).await, Err(ClientError::InvalidPath { .. })));
    // Paths never leave the instance.
    assert!(matches!(sf.absolute_url("//evil.example.com/services/x"), Err(ClientError::InvalidPath { .. })));
    assert!(matches!(sf.absolute_url("https://evil.example.com/services/x"), Err(ClientError::InvalidPath { .. })));
    let url = sf.data_url("//evil.example.com/x").expect("stays on the instance");
    assert_eq!(url.origin(), sf.instance_url().origin());
}

#[test]
fn idempotence() {
    assert!(idempotent("PATCH", "/sobjects/Account/001000000000001AAA"));
    assert!(idempotent("PATCH", "/services/data/v62.0/sobjects/User/005000000000001"));
    assert!(!idempotent("PATCH", "/sobjects/Account/External_Id__c/abc"), "an upsert may create");
    assert!(!idempotent("POST", "/sobjects/Account/"));
    assert!(!idempotent("PUT", "/sobjects/Account/001000000000001AAA"));
    assert!(idempotent("GET", "/query?q=x") && idempotent("DELETE", "/sobjects/Account/001000000000001AAA"));
}

#[tokio::test]
async fn single_query_batch_keeps_the_contract() {
    let org = mock(|seen, _| match seen.param("q").as_deref() {
        Some("SELECT Id FROM Nope") => Reply::Json(400, json!([{"errorCode": "INVALID_TYPE", "message": "no Nope"}])),
        _ => Reply::Json(401, json!([{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}])),
    })
    .await;
    let sf = client(&org.url).await;
    let results = sf.query_batch(&["SELECT Id FROM Nope".to_string()]).await.expect("one query");
    assert_eq!(results[0].as_ref().expect_err("refused").error_code(), Some("INVALID_TYPE"));
    let err = sf.query_batch(&["SELECT Id FROM User".to_string()]).await.expect_err("session");
    assert!(matches!(err, ClientError::SessionInvalid { .. }));
}

/// Connecting sends userinfo, the Organization and the read-ahead's first reads at once:
/// with an expired token, all of them meet the 401 together and still make one refresh.
#[tokio::test]
async fn concurrent_401s_refresh_once() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let issued = tokens.clone();
    let server = mock(move |seen, _| match seen.path.as_str() {
        "/services/oauth2/token" => {
            let n = issued.fetch_add(1, Ordering::SeqCst);
            Reply::Json(200, json!({"access_token": if n == 0 { TOKEN } else { FRESH }}))
        }
        _ if seen.authorization.as_deref() != Some(&format!("Bearer {FRESH}")) => {
            Reply::Json(401, json!([{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]))
        }
        "/services/oauth2/userinfo" => Reply::Json(200, json!({"user_id": "005000000000001AAA"})),
        _ => Reply::Json(200, page(1, &["ok"], None)),
    })
    .await;
    let auth = Auth::ClientCredentials {
        token_url: url::Url::parse(&format!("{}/services/oauth2/token", server.url)).expect("url"),
        client_id: "id".into(),
        client_secret: SecretString::from(CLIENT_SECRET),
    };
    let sf = SfClient::connect(&server.url, auth, options()).await.expect("connect");
    let other = sf.clone();
    let (info, org, permissions, user) = tokio::join!(
        sf.userinfo(),
        sf.query("SELECT Id, Name FROM Organization"),
        other.query("SELECT PermissionsManageTwoFactor FROM UserPermissionAccess"),
        other.query("SELECT Id FROM User"),
    );
    assert_eq!(info.expect("userinfo")["user_id"], "005000000000001AAA");
    org.expect("org");
    permissions.expect("permissions");
    user.expect("user");
    assert_eq!(tokens.load(Ordering::SeqCst), 2, "the first token, then one refresh for all four");
    assert_eq!(other.api_calls(), sf.api_calls(), "clones share the counters");
}

#[tokio::test]
async fn bad_root_certificate_is_a_config_error() {
    let options = ClientOptions { extra_root_certs: vec![b"not a certificate".to_vec()], ..options() };
    let err = SfClient::connect("https://acme.my.salesforce.com", token(), options).await.expect_err("bad pem");
    assert!(matches!(err, ClientError::Config { .. }), "{err:?}");
    let options = ClientOptions { api_version: Some("sixty-two".into()), ..super::server::options() };
    let err = SfClient::connect("https://acme.my.salesforce.com", token(), options).await.expect_err("bad version");
    assert!(matches!(err, ClientError::Config { .. }), "{err:?}");
}

/// An org whose userinfo answers 403 `Bad_OAuth_Token` (plain text, as the identity
/// service does) to every token but [`FRESH`], and whose token endpoint hands out
/// [`TOKEN`] first, then [`FRESH`].
async fn userinfo_403_org(tokens: Arc<AtomicUsize>) -> super::mock::Mock {
    mock(move |seen, _| match seen.path.as_str() {
        "/services/oauth2/token" => {
            let n = tokens.fetch_add(1, Ordering::SeqCst);
            Reply::Json(200, json!({"access_token": if n == 0 { TOKEN } else { FRESH }, "token_type": "Bearer"}))
        }
        "/services/oauth2/userinfo" if bearer(seen) == format!("Bearer {FRESH}") => {
            Reply::Json(200, json!({"user_id": "005xx", "organization_id": "00Dxx"}))
        }
        "/services/oauth2/userinfo" => {
            Reply::Raw { status: 403, content_type: "text/plain", body: "Bad_OAuth_Token".into() }
        }
        _ => Reply::Json(404, json!([{"errorCode": "NOT_FOUND", "message": "not here"}])),
    })
    .await
}

fn client_credentials(url: &str) -> Auth {
    Auth::ClientCredentials {
        token_url: url::Url::parse(&format!("{url}/services/oauth2/token")).expect("url"),
        client_id: "3MVG9consumerkey".into(),
        client_secret: SecretString::from(CLIENT_SECRET),
    }
}

#[tokio::test]
async fn userinfo_403_is_an_expired_session_and_refreshes_once() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let org = userinfo_403_org(tokens.clone()).await;
    let sf = SfClient::connect(&org.url, client_credentials(&org.url), options()).await.expect("connect");
    let info = sf.userinfo().await.expect("userinfo after one refresh");
    assert_eq!(info["user_id"], "005xx");
    let paths: Vec<String> = org.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        paths,
        ["/services/oauth2/token", "/services/oauth2/userinfo", "/services/oauth2/token", "/services/oauth2/userinfo"]
    );
    assert_eq!(tokens.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn userinfo_403_with_a_bare_token_is_session_invalid_not_a_generic_403() {
    use miette::Diagnostic;
    for body in [
        Reply::Raw { status: 403, content_type: "text/plain", body: "Bad_OAuth_Token".into() },
        Reply::Json(403, json!("Bad_OAuth_Token")),
    ] {
        let body = Arc::new(std::sync::Mutex::new(Some(body)));
        let org = mock(move |_, _| body.lock().expect("lock").take().unwrap_or(Reply::Json(500, json!(null)))).await;
        let sf = client(&org.url).await;
        let err = sf.userinfo().await.expect_err("403");
        assert!(matches!(err, ClientError::SessionInvalid { .. }), "{err:?}");
        assert_eq!(err.error_code(), Some("INVALID_SESSION_ID"));
        assert!(err.to_string().contains("invalid or has expired") && err.to_string().contains("userinfo"), "{err}");
        assert!(err.help().is_some_and(|h| h.to_string().contains("sf org login")));
        assert_hidden(&err, TOKEN);
        assert_eq!(org.count(), 1);
    }
    // The same token refused again after a refresh says so.
    let org = mock(|seen, _| match seen.path.as_str() {
        "/services/oauth2/token" => Reply::Json(200, json!({"access_token": FRESH, "token_type": "Bearer"})),
        _ => Reply::Raw { status: 403, content_type: "text/plain", body: "Bad_OAuth_Token".into() },
    })
    .await;
    let sf = SfClient::connect(&org.url, client_credentials(&org.url), options()).await.expect("connect");
    let err = sf.userinfo().await.expect_err("still 403");
    assert!(matches!(err, ClientError::SessionInvalid { .. }), "{err:?}");
    assert!(err.help().is_some_and(|h| h.to_string().contains("was refused too")));
    assert_eq!(org.count(), 4, "token, userinfo, token, userinfo: one refresh");
}

#[tokio::test]
async fn a_403_that_names_another_error_is_never_a_session_error() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let issued = tokens.clone();
    let org = mock(move |seen, _| match seen.path.as_str() {
        "/services/oauth2/token" => {
            issued.fetch_add(1, Ordering::SeqCst);
            Reply::Json(200, json!({"access_token": TOKEN, "token_type": "Bearer"}))
        }
        "/services/oauth2/userinfo" => Reply::Json(
            403,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
        ),
        "/services/data/v62.0/query" if seen.query.as_deref().is_some_and(|q| q.contains("Account")) => Reply::Json(
            403,
            json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
        ),
        _ => Reply::Json(
            403,
            json!([{"message": "insufficient access rights on object id", "errorCode": "INSUFFICIENT_ACCESS"}]),
        ),
    })
    .await;
    let sf = SfClient::connect(&org.url, client_credentials(&org.url), options()).await.expect("connect");
    let err = sf.query("SELECT Id FROM User").await.expect_err("403");
    assert!(matches!(err, ClientError::Api { status: 403, .. }), "{err:?}");
    assert_eq!(err.error_code(), Some("INSUFFICIENT_ACCESS"));
    let err = sf.query("SELECT Id FROM Account").await.expect_err("403");
    assert!(matches!(err, ClientError::RequestLimit { .. }), "{err:?}");
    let err = sf.userinfo().await.expect_err("403");
    assert!(matches!(err, ClientError::RequestLimit { .. }), "{err:?}");
    assert_eq!(tokens.load(Ordering::SeqCst), 1, "no 403 here asked for a new token");
    assert_eq!(org.count(), 4);
}
