//! What servers echo back is redacted: SOAP fault text quoting the session id, OAuth
//! `error_description` quoting the refresh token or client secret, REST messages
//! quoting the token (issue 9, finding 2).

use secrecy::SecretString;
use serde_json::json;

use super::super::*;
use super::assert_hidden;
use super::mock::{Reply, mock};

const TOKEN: &str = "00Dxx0000009ECH!AQechoedSessionIdvalue.123456789abcdefghijk";
const REFRESH: &str = "5Aep861echoedRefreshTokenValue";
const CLIENT_SECRET: &str = "echoed-client-secret-9F8E7D";

/// No retries: each test's server answers once.
fn options() -> ClientOptions {
    ClientOptions { retry: RetryPolicy::none(), ..super::test_options() }
}

#[tokio::test]
async fn a_soap_fault_quoting_the_session_id_is_redacted() {
    let org = mock(|_, _| Reply::Raw {
        status: 500,
        content_type: "text/xml;charset=UTF-8",
        body: format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOCATOR</faultcode><faultstring>bad sessionId {TOKEN} (or {})</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
            url::form_urlencoded::byte_serialize(TOKEN.as_bytes()).collect::<String>()
        ),
    })
    .await;
    let sf =
        SfClient::connect(&org.url, Auth::AccessToken(SecretString::from(TOKEN)), options()).await.expect("connect");
    let err = sf.read_profile_record_types("Admin").await.expect_err("fault");
    assert!(matches!(err, ClientError::Soap { .. }), "{err:?}");
    assert!(err.to_string().contains("[REDACTED]"), "{err}");
    assert_hidden(&err, TOKEN);
    assert_hidden(&err, "AQechoedSessionIdvalue");
    let failure = crate::step::StepFailure::from(err);
    assert!(!failure.message.contains("AQechoed"), "{}", failure.message);
}

#[tokio::test]
async fn an_oauth_error_description_quoting_the_secrets_is_redacted() {
    let server = mock(|seen, _| {
        let sent = seen.body.clone();
        Reply::Json(
            400,
            json!({"error": "invalid_grant", "error_description": format!("refused {REFRESH} with {CLIENT_SECRET}; body was {sent}")}),
        )
    })
    .await;
    let auth = Auth::RefreshToken {
        token_url: url::Url::parse(&format!("{}/services/oauth2/token", server.url)).expect("url"),
        client_id: "id".into(),
        client_secret: Some(SecretString::from(CLIENT_SECRET)),
        refresh_token: SecretString::from(REFRESH),
    };
    let err = SfClient::connect(&server.url, auth, options()).await.expect_err("refused");
    assert!(matches!(err, ClientError::OAuth { .. }), "{err:?}");
    // The echoed form body carries both form-encoded.
    assert_hidden(&err, REFRESH);
    assert_hidden(&err, CLIENT_SECRET);
    assert_hidden(&err, "echoed-client-secret");
}

#[tokio::test]
async fn a_rest_error_quoting_the_token_is_redacted() {
    let org = mock(|_, _| {
        Reply::Json(400, json!([{"errorCode": "MALFORMED_QUERY", "message": format!("Authorization: Bearer {TOKEN}")}]))
    })
    .await;
    let sf =
        SfClient::connect(&org.url, Auth::AccessToken(SecretString::from(TOKEN)), options()).await.expect("connect");
    let err = sf.query("SELECT Id FROM User").await.expect_err("refused");
    assert_hidden(&err, TOKEN);
    let failure = crate::step::StepFailure::from(err);
    assert!(!format!("{failure:?}").contains(TOKEN), "{failure:?}");
}
