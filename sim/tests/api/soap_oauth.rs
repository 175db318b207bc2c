//! Metadata SOAP for Profile, OAuth token and userinfo, token expiry.

use reqwest::Method;
use runner_sim::{Faults, OAuthClient, SimConfig};
use serde_json::{Value, json};

use crate::common::*;

const PROFILE: &str = "Minimum Access - API Only Integrations";

#[tokio::test]
async fn profile_record_type_defaults_read_and_update() {
    let sim = sim().await;
    let token = sim.handle.token().to_string();
    let (status, xml) = soap(&sim, &token, &read_profile(PROFILE)).await;
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains("<readMetadataResponse>") && xml.contains(r#"<records xsi:type="Profile">"#), "{xml}");
    assert!(xml.contains(&format!("<fullName>{PROFILE}</fullName>")));
    // One entry per record type of the org; one default per object.
    let all_types = sim.query("SELECT SobjectType, DeveloperName FROM RecordType").await;
    let found = visibilities(&xml);
    assert_eq!(found.len(), all_types.len(), "{xml}");
    for object in ["Account", "Contact", "Order"] {
        assert_eq!(found.iter().filter(|v| v.object() == object && v.default).count(), 1, "{object}: {xml}");
    }

    let (_, admin) = soap(&sim, &token, &read_profile("Admin")).await;
    assert!(admin.contains("<fullName>Admin</fullName>"), "{admin}");

    // The whole Account block, with another default: accepted and read back.
    let old_default = found.iter().find(|v| v.object() == "Account" && v.default).map(|v| v.record_type.clone());
    let visible: Vec<&Visibility> = found.iter().filter(|v| v.object() == "Account" && v.visible).collect();
    let new_default = visible
        .iter()
        .find(|v| Some(&v.record_type) != old_default.as_ref())
        .map(|v| v.record_type.clone())
        .unwrap_or_default();
    let block: String =
        visible.iter().map(|v| rtv_xml(&v.record_type, v.record_type == new_default, true, None)).collect();
    let (status, xml) = soap(&sim, &token, &update_profile(PROFILE, &block)).await;
    assert_eq!(status, 200);
    assert!(xml.contains(&format!("<result><fullName>{PROFILE}</fullName><success>true</success></result>")), "{xml}");
    let (_, xml) = soap(&sim, &token, &read_profile(PROFILE)).await;
    let now: Vec<String> = visibilities(&xml)
        .into_iter()
        .filter(|v| v.object() == "Account" && v.default)
        .map(|v| v.record_type)
        .collect();
    assert_eq!(now, [new_default]);

    // A default namespace instead of prefixes works too; unknown record types fail per result.
    let bad = format!(
        r#"<updateMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><metadata xsi:type="Profile"><fullName>{PROFILE}</fullName>
        <recordTypeVisibilities><default>true</default><recordType>Account.Nope</recordType><visible>true</visible></recordTypeVisibilities>
        </metadata></updateMetadata>"#
    );
    let (status, xml) = soap(&sim, &token, &bad).await;
    assert_eq!(status, 200);
    assert!(
        xml.contains("<success>false</success>")
            && xml.contains("<statusCode>INVALID_CROSS_REFERENCE_KEY</statusCode>"),
        "{xml}"
    );
    assert!(
        xml.contains("<errors><message>In field: recordType - no RecordType named Account.Nope found</message>"),
        "{xml}"
    );

    // AllOrNoneHeader: one failure keeps every change out.
    let (_, before) = soap(&sim, &token, &read_profile("Admin")).await;
    let contact: Vec<Visibility> =
        visibilities(&before).into_iter().filter(|v| v.object() == "Contact" && v.visible).collect();
    let contact_default = contact.iter().find(|v| !v.default).map(|v| v.record_type.clone()).unwrap_or_default();
    let contact_block: String =
        contact.iter().map(|v| rtv_xml(&v.record_type, v.record_type == contact_default, true, None)).collect();
    let mixed = format!(
        r#"<met:updateMetadata><met:metadata xsi:type="met:Profile"><met:fullName>Admin</met:fullName>{contact_block}</met:metadata><met:metadata xsi:type="met:Profile"><met:fullName>No Such Profile</met:fullName></met:metadata></met:updateMetadata>"#
    );
    let body = envelope(&token, &mixed).replace(
        "<soapenv:Header>",
        "<soapenv:Header><met:AllOrNoneHeader><met:allOrNone>true</met:allOrNone></met:AllOrNoneHeader>",
    );
    let resp = sim.client.post(sim.url("/services/Soap/m/62.0/")).body(body).send().await.expect("answered");
    let xml = resp.text().await.expect("text");
    assert!(xml.contains("<fullName>Admin</fullName><success>true</success>"), "{xml}");
    assert!(xml.contains("no Profile named No Such Profile"), "{xml}");
    let (_, admin) = soap(&sim, &token, &read_profile("Admin")).await;
    assert_eq!(visibilities(&admin), visibilities(&before));

    let (status, xml) = soap(&sim, "bogus", &read_profile(PROFILE)).await;
    assert_eq!(status, 500);
    assert!(xml.contains("<faultcode>sf:INVALID_SESSION_ID</faultcode>"), "{xml}");
    // Eight SOAP calls and one query were served; the refused call does not count.
    assert_eq!(sim.handle.api_calls(), 9);
}

#[tokio::test]
async fn client_credentials_and_refresh_token_grants() {
    let config = SimConfig {
        oauth_clients: vec![OAuthClient { client_id: "app".into(), client_secret: "s3cret".into() }],
        refresh_tokens: vec!["refresh-1".into()],
        ..SimConfig::default()
    };
    let sim = sim_with(config).await;
    let form =
        |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&");
    let token_url = sim.url("/services/oauth2/token");
    let post = |body: String| {
        sim.client.post(&token_url).header("Content-Type", "application/x-www-form-urlencoded").body(body).send()
    };
    let resp = post(form(&[("grant_type", "client_credentials"), ("client_id", "app"), ("client_secret", "s3cret")]))
        .await
        .expect("answered");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_shape_within(&fixture_json("restforce/auth_success_response.json"), &body);
    assert_eq!(body["access_token"], sim.handle.token());
    assert_eq!(body["instance_url"], sim.handle.instance_url());
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["id"].as_str().is_some_and(|id| id.contains("/id/00D") && id.contains("/005")));
    assert!(body["issued_at"].as_str().is_some_and(|t| t.len() == 13 && t.bytes().all(|b| b.is_ascii_digit())));

    let resp = post(form(&[("grant_type", "client_credentials"), ("client_id", "app"), ("client_secret", "wrong")]))
        .await
        .expect("answered");
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.ok(),
        Some(json!({"error": "invalid_client", "error_description": "invalid client credentials"}))
    );

    let resp = post(form(&[("grant_type", "refresh_token"), ("client_id", "app"), ("refresh_token", "refresh-1")]))
        .await
        .expect("answered");
    assert_eq!(resp.status(), 200);
    let resp = post(form(&[("grant_type", "refresh_token"), ("client_id", "app"), ("refresh_token", "nope")]))
        .await
        .expect("answered");
    let body: Value = resp.json().await.expect("json");
    assert_same_shape(&body, &fixture_json("restforce/refresh_error_response.json"));
    assert_eq!(body["error"], "invalid_grant");
    let resp = post(form(&[("grant_type", "password")])).await.expect("answered");
    assert_eq!(resp.status(), 400);

    let info = sim.send(Method::GET, &sim.url("/services/oauth2/userinfo"), None, Some(sim.handle.token())).await;
    assert_eq!(info.status, 200);
    assert_eq!(info.body["preferred_username"], "admin@storeconnect-demo.example");
    assert_eq!(info.body["is_salesforce_integration_user"], false);
    assert!(info.body["urls"]["rest"].as_str().is_some_and(|u| u.ends_with("/services/data/v62.0/")));
    // The identity service answers a bad token with 403 and a bare code, not REST's 401.
    for token in [Some("bad"), None] {
        let mut req = sim.client.get(sim.url("/services/oauth2/userinfo"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("answered");
        assert_eq!(resp.status(), 403);
        assert!(resp.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/plain")));
        assert_eq!(resp.text().await.expect("text"), "Bad_OAuth_Token");
    }

    // The identity URL of the token response answers too.
    let id_url = body_id(&sim).await;
    let identity = sim.send(Method::GET, &id_url, None, Some(sim.handle.token())).await;
    assert_eq!(identity.status, 200);
    assert_eq!(identity.body["username"], "admin@storeconnect-demo.example");
    assert_eq!(identity.body["id"], id_url.as_str());
}

async fn body_id(sim: &Sim) -> String {
    let resp = sim
        .client
        .post(sim.url("/services/oauth2/token"))
        .body("grant_type=client_credentials&client_id=app&client_secret=s3cret")
        .send()
        .await
        .expect("answered");
    let body: Value = resp.json().await.expect("json");
    body["id"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn expired_tokens_are_replaced_by_a_new_grant() {
    let config = SimConfig {
        oauth_clients: vec![OAuthClient { client_id: "app".into(), client_secret: "s3cret".into() }],
        faults: Faults { expire_token_after: Some(2), ..Faults::default() },
        ..SimConfig::default()
    };
    let sim = sim_with(config).await;
    assert_eq!(sim.get("limits").await.status, 200);
    assert_eq!(sim.get("limits").await.status, 200);
    let reply = sim.get("limits").await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, fixture_json("restforce/expired_session_response.json"));
    let resp = sim
        .client
        .post(sim.url("/services/oauth2/token"))
        .body("grant_type=client_credentials&client_id=app&client_secret=s3cret")
        .send()
        .await
        .expect("answered");
    let body: Value = resp.json().await.expect("json");
    let fresh = body["access_token"].as_str().unwrap_or_default().to_string();
    assert_ne!(fresh, sim.handle.token());
    let reply = sim.send(Method::GET, &sim.data("limits"), None, Some(&fresh)).await;
    assert_eq!(reply.status, 200);
    let reply = sim.send(Method::GET, &sim.data("limits"), None, Some(sim.handle.token())).await;
    assert_eq!(reply.status, 401);
}

#[tokio::test]
async fn a_token_that_expires_on_userinfo_gets_403_there_and_401_on_rest() {
    let config = SimConfig {
        oauth_clients: vec![OAuthClient { client_id: "app".into(), client_secret: "s3cret".into() }],
        faults: Faults { expire_token_after: Some(1), ..Faults::default() },
        ..SimConfig::default()
    };
    let sim = sim_with(config).await;
    let userinfo = sim.url("/services/oauth2/userinfo");
    assert_eq!(sim.send(Method::GET, &userinfo, None, Some(sim.handle.token())).await.status, 200);
    let resp = sim.client.get(&userinfo).bearer_auth(sim.handle.token()).send().await.expect("answered");
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.text().await.expect("text"), "Bad_OAuth_Token");
    // Gone for REST too, with REST's answer.
    assert_eq!(sim.get("limits").await.status, 401);
    // The same identity service answers the identity URL alike.
    let id_url = body_id(&sim).await;
    let resp = sim.client.get(&id_url).bearer_auth("bad").send().await.expect("answered");
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.text().await.expect("text"), "Bad_OAuth_Token");
}

/// One deeply nested POST, unauthenticated, must be refused with a fault and leave the
/// sim serving (it once overflowed the stack and killed `runner sim serve`).
#[tokio::test]
async fn a_deeply_nested_soap_post_gets_a_fault_and_the_sim_keeps_serving() {
    let sim = sim().await;
    let depth = 1024 * 1024 / 7;
    let body = format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth));
    let resp = sim
        .client
        .post(sim.url("/services/Soap/m/62.0"))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 500);
    let text = resp.text().await.expect("text");
    assert!(text.contains("soapenv:Client") && text.contains("nests deeper than 64"), "{text}");
    let versions = sim.send(Method::GET, &sim.url("/services/data/"), None, None).await;
    assert_eq!(versions.status.as_u16(), 200, "the sim still serves");
}

#[tokio::test]
async fn a_request_body_over_the_cap_gets_413() {
    let sim = sim().await;
    let body = vec![b' '; 9 * 1024 * 1024];
    let resp = sim
        .client
        .post(sim.url("/services/Soap/m/62.0"))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .body(body)
        .send()
        .await
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 413);
    let versions = sim.send(Method::GET, &sim.url("/services/data/"), None, None).await;
    assert_eq!(versions.status.as_u16(), 200);
}

/// One request gate for REST and SOAP: a Metadata call is API usage, seen by
/// `Sforce-Limit-Info`, `/limits` and the API limit; the sim-only StoreConnect routes
/// and the version list are not.
#[tokio::test]
async fn soap_calls_count_as_api_usage() {
    let sim = sim().await;
    let first = sim.get("limits").await;
    assert_eq!(first.header("Sforce-Limit-Info").as_deref(), Some("api-usage=1/15000"));
    soap_call(&sim, &read_profile(PROFILE)).await;
    soap_call(&sim, &read_profile(PROFILE)).await;
    let state = sim.send(Method::GET, &sim.url("/_sim/storeconnect/state"), None, None).await;
    assert_eq!(state.status, 200);
    let versions = sim.send(Method::GET, &sim.url("/services/data/"), None, None).await;
    assert_eq!(versions.status, 200);
    let after = sim.get("limits").await;
    assert_eq!(after.header("Sforce-Limit-Info").as_deref(), Some("api-usage=4/15000"));
    assert_eq!(after.body["DailyApiRequests"], json!({"Max": 15000, "Remaining": 15000 - 4}));
    assert_eq!(sim.handle.api_calls(), 4);
}

#[tokio::test]
async fn the_api_limit_counts_soap_calls() {
    let config = SimConfig { faults: Faults { api_limit: Some(2), ..Faults::default() }, ..SimConfig::default() };
    let sim = sim_with(config).await;
    soap_call(&sim, &read_profile(PROFILE)).await;
    assert_eq!(sim.get("limits").await.status, 200);
    let token = sim.handle.token().to_string();
    let (status, xml) = soap(&sim, &token, &read_profile(PROFILE)).await;
    assert_eq!(status, 500);
    assert!(xml.contains("sf:REQUEST_LIMIT_EXCEEDED"), "{xml}");
    let refused = sim.get("limits").await;
    assert_eq!((refused.status.as_u16(), error_of(&refused).0.as_str()), (403, "REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(refused.header("Sforce-Limit-Info").as_deref(), Some("api-usage=2/2"));
}
