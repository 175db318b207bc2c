//! Parsing of the responses recorded from real orgs.

use serde_json::Value;

use super::super::error::{ApiError, ClientError};
use super::super::transport::{Body, Req, Resp, error_from_response};
use super::super::types::{QueryPage, SaveResult, SubResponse};
use super::{fixture, yaml};

fn json(relative: &str) -> Value {
    serde_json::from_str(&fixture(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The decoded `string:` bodies of a cassette, as JSON.
fn cassette(relative: &str) -> Vec<Value> {
    yaml::strings(&fixture(relative))
        .iter()
        .map(|s| serde_json::from_str(s).unwrap_or_else(|e| panic!("{relative}: {e}\n{s}")))
        .collect()
}

fn response(status: u16, content_type: &str, body: &str) -> (Req, Resp) {
    let url = url::Url::parse("https://orgname.my.salesforce.com/services/data/v62.0/sobjects/Account/").expect("url");
    let req = Req::new(reqwest::Method::POST, url, Body::None);
    let resp = Resp {
        status,
        content_type: content_type.into(),
        body: body.as_bytes().to_vec(),
        attempts: 1,
        retry_after: None,
    };
    (req, resp)
}

#[test]
fn query_pages() {
    let page = QueryPage::from_value(json("restforce/sobject/query_success_response.json")).expect("query");
    assert_eq!(page.total_size, 1);
    assert!(page.done && page.next_records_url.is_none());
    let record = &page.records[0];
    assert_eq!(record["Text_Label"], "Hi there!");
    assert_eq!(record["ParentWhizbang__r"]["Name"], "Parent Whizbang");
    assert_eq!(record["Whizbangs__r"]["records"][0]["Name"], "Child Whizbang");

    let first =
        QueryPage::from_value(json("restforce/sobject/query_paginated_first_page_response.json")).expect("page");
    assert!(!first.done);
    assert_eq!(first.next_records_url.as_deref(), Some("/services/data/v26.0/query/01gD"));
    assert_eq!(first.records[0]["Text_Label"], "First Page");
    let last = QueryPage::from_value(json("restforce/sobject/query_paginated_last_page_response.json")).expect("page");
    assert!(last.done && last.next_records_url.is_none());

    let empty = QueryPage::from_value(json("restforce/sobject/query_empty_response.json")).expect("empty");
    assert_eq!((empty.total_size, empty.records.len()), (0, 0));
    let aggregate =
        QueryPage::from_value(json("restforce/sobject/query_aggregate_success_response.json")).expect("agg");
    assert_eq!(aggregate.records.len(), 3);
    assert_eq!(aggregate.records[2]["CampaignId"], Value::Null);

    // An error body is not a query page.
    assert!(QueryPage::from_value(json("restforce/sobject/query_error_response.json")).is_none());
}

#[test]
fn error_bodies() {
    let cases = [
        ("restforce/sobject/query_error_response.json", "INVALID_FIELD", "error_message"),
        ("restforce/sobject/write_error_response.json", "INVALID_FIELD", "No such column 'foo' on sobject of type Bar"),
        ("restforce/expired_session_response.json", "INVALID_SESSION_ID", "Session expired or invalid"),
        (
            "restforce/sobject/delete_error_response.json",
            "NOT_FOUND",
            "Provided external ID field does not exist or is not accessible: rid",
        ),
        (
            "restforce/sobject/sobject_describe_error_response.json",
            "NOT_FOUND",
            "The requested resource does not exist",
        ),
        (
            "restforce/sobject/search_error_response.json",
            "MALFORMED_SEARCH",
            "No search term found. The search term must be enclosed in braces.",
        ),
        (
            "restforce/sobject/sobject_find_error_response.json",
            "NOT_FOUND",
            "Provided external ID field does not exist or is not accessible: 23foo",
        ),
        (
            "restforce/sobject/upsert_error_response.json",
            "NOT_FOUND",
            "Provided external ID field does not exist or is not accessible: Namez",
        ),
    ];
    for (file, code, message) in cases {
        let errors = ApiError::list_from_value(&json(file)).expect(file);
        assert_eq!(errors, vec![ApiError::new(code, message)], "{file}");
        // Through the response path: an Api error with the first error shown.
        let (req, resp) = response(400, "application/json;charset=UTF-8", &fixture(file));
        let err = error_from_response(&req, &resp, &[], None);
        assert_eq!(err.error_code(), Some(code), "{file}");
        assert!(err.to_string().contains(message), "{err}");
    }
    // The single-object form (password resource) and the SaveResult form (statusCode, fields).
    let single: Value = serde_json::json!({"message":"You do not have permission to view this record.","errorCode":"INSUFFICIENT_ACCESS"});
    assert_eq!(ApiError::list_from_value(&single).expect("single")[0].error_code, "INSUFFICIENT_ACCESS");
    let save: Value = serde_json::json!([{"statusCode":"DUPLICATES_DETECTED","message":"Use one of these records?","fields":["Name"]}]);
    let errors = ApiError::list_from_value(&save).expect("save");
    assert_eq!(errors[0].error_code, "DUPLICATES_DETECTED");
    assert_eq!(errors[0].fields, vec!["Name".to_string()]);
}

#[test]
fn multiple_choices_and_oauth_errors() {
    let (req, resp) =
        response(300, "application/json", &fixture("restforce/sobject/upsert_multiple_error_response.json"));
    let err = error_from_response(&req, &resp, &[], None);
    assert_eq!(err.error_code(), Some("MULTIPLE_CHOICES"));
    assert!(err.to_string().contains("/services/data/v23.0/sobjects/Whizbang/bar"));

    for (file, description) in [
        ("restforce/auth_error_response.json", "authentication failure - Invalid Password"),
        ("restforce/refresh_error_response.json", "expired access/refresh token"),
    ] {
        let (req, resp) = response(400, "application/json", &fixture(file));
        match error_from_response(&req, &resp, &[], None) {
            ClientError::OAuth { status: 400, error, description: d } => {
                assert_eq!(error, "invalid_grant");
                assert_eq!(d, description);
            }
            other => panic!("{file}: {other:?}"),
        }
    }
}

#[test]
fn create_and_upsert_results() {
    let created = SaveResult::from_value(&json("restforce/sobject/create_success_response.json")).expect("create");
    assert_eq!(created, SaveResult { id: Some("some_id".into()), success: true, errors: vec![] });
    let upserted =
        SaveResult::from_value(&json("restforce/sobject/upsert_created_success_response.json")).expect("upsert");
    assert_eq!(upserted.id.as_deref(), Some("foo"));
}

#[test]
fn describe_like_bodies_are_records() {
    // get() returns any JSON object; these are the shapes it meets.
    for file in [
        "restforce/sobject/sobject_describe_success_response.json",
        "restforce/sobject/describe_sobjects_success_response.json",
        "restforce/sobject/org_query_response.json",
    ] {
        assert!(json(file).is_object(), "{file}");
    }
    let org = cassette("cumulusci/GET_sobjects_Organization.yaml");
    assert_eq!(org[0]["Id"], "00D0xORGID00000000");
    assert_eq!(org[0]["Name"], "CumulusCI - Dev Workspace");
    let account = cassette("cumulusci/GET_sobjects_Account_describe.yaml");
    assert_eq!(account[0]["name"], "Account");
    assert!(account[0]["recordTypeInfos"].as_array().is_some_and(|r| r.len() == 2));
    let global = cassette("cumulusci/GET_sobjects_Global_describe.yaml");
    assert!(global[0]["sobjects"].as_array().is_some_and(|s| !s.is_empty()));
}

#[test]
fn composite_responses() {
    let bodies = cassette("cumulusci/TestCompositeParallelSalesforce.test_composite_parallel_salesforce.yaml");
    assert_eq!(SaveResult::from_value(&bodies[0]).and_then(|s| s.id).as_deref(), Some("0010xACCOUNTID0000"));
    let subs: Vec<SubResponse> = bodies[1]["compositeResponse"]
        .as_array()
        .expect("compositeResponse")
        .iter()
        .map(|v| SubResponse::from_value(v).expect("sub"))
        .collect();
    assert_eq!(subs.len(), 4);
    assert_eq!(subs[1].reference_id, "CCI__RefId__1__");
    let page = QueryPage::from_value(subs[1].clone().into_result().expect("ok")).expect("page");
    assert_eq!(page.records[0]["Name"], "Smith Corp.");

    let errors = cassette("cumulusci/TestCompositeParallelSalesforce.test_errors.yaml");
    let sub = SubResponse::from_value(&errors[0]["compositeResponse"][0]).expect("sub");
    assert_eq!(sub.status, 404);
    let err = sub.into_result().expect_err("404");
    assert_eq!(err.error_code(), Some("NOT_FOUND"));
    assert!(matches!(err, ClientError::Api { status: 404, .. }));

    let counts = cassette("cumulusci/TestCountSObjects.test_count_sobjects__errors.yaml");
    let subs = counts[0]["compositeResponse"].as_array().expect("subs");
    let ok = SubResponse::from_value(&subs[0]).expect("ok");
    assert_eq!(QueryPage::from_value(ok.into_result().expect("ok")).expect("page").total_size, 17);
    let bad = SubResponse::from_value(&subs[1]).expect("bad").into_result().expect_err("400");
    assert_eq!(bad.error_code(), Some("INVALID_TYPE"));
    assert!(bad.to_string().contains("sObject type 'XYZZY' is not supported"), "{bad}");

    let refs = cassette("cumulusci/TestCompositeParallelSalesforce.test_reference_ids.yaml");
    assert_eq!(refs.len(), 2);
    assert_eq!(SubResponse::from_value(&refs[1]["compositeResponse"][0]).expect("sub").reference_id, "three");
}

#[test]
fn collection_results() {
    let bodies = cassette("cumulusci/TestUpsert.test_upsert_complex_external_id_field_rest__duplicate_error.yaml");
    let lists: Vec<Vec<SaveResult>> = bodies
        .iter()
        .filter_map(Value::as_array)
        .map(|items| items.iter().map(|v| SaveResult::from_value(v).expect("save result")).collect())
        .collect();
    assert!(lists.iter().any(|l| l.len() == 16 && l.iter().all(|s| s.success && s.id.is_some())));
    let queries: Vec<QueryPage> = bodies.iter().filter_map(|b| QueryPage::from_value(b.clone())).collect();
    assert!(queries.iter().any(|q| q.total_size == 2 && q.records[1]["AccountNumber"] == "420"));
}

#[test]
fn token_responses() {
    for file in [
        "restforce/auth_success_response.json",
        "restforce/reauth_success_response.json",
        "restforce/refresh_success_response.json",
    ] {
        let body = json(file);
        assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()), "{file}");
        assert_eq!(body["instance_url"], "https://na1.salesforce.com");
    }
    let device = cassette("cumulusci/test_get_device_oauth_token.yaml");
    assert_eq!(device[0]["error"], "slow_down");
    assert!(device[2]["access_token"].is_string());
}
