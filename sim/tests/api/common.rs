//! Helpers: start a sim, talk HTTP to it, read recorded fixtures, compare shapes.

#![allow(dead_code)]

use std::path::PathBuf;
use yaml_rust2::{Yaml, YamlLoader};

use reqwest::{Method, StatusCode};
use runner_sim::{Scenario, SimConfig, SimHandle};
use serde_json::Value;

pub const V: &str = "62.0";

pub struct Sim {
    pub handle: SimHandle,
    pub client: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
}

pub async fn sim() -> Sim {
    sim_with(SimConfig::default()).await
}

pub async fn sim_scenario(scenario: Scenario) -> Sim {
    sim_with(SimConfig { scenario, ..SimConfig::default() }).await
}

pub async fn sim_with(config: SimConfig) -> Sim {
    let handle = runner_sim::start(config).await.expect("sim starts");
    Sim { handle, client: reqwest::Client::new() }
}

impl Sim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.handle.instance_url())
    }

    /// `path` relative to `/services/data/v62.0/`.
    pub fn data(&self, rel: &str) -> String {
        self.url(&format!("/services/data/v{V}/{rel}"))
    }

    pub async fn send(&self, method: Method, url: &str, body: Option<&Value>, token: Option<&str>) -> Reply {
        let mut req = self.client.request(method, url);
        if let Some(token) = token {
            req = req.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body.to_string());
        }
        let resp = req.send().await.expect("request is answered");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body reads");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Reply { status, headers, body }
    }

    pub async fn call(&self, method: Method, rel: &str, body: Option<&Value>) -> Reply {
        let token = self.handle.token().to_string();
        self.send(method, &self.data(rel), body, Some(&token)).await
    }

    pub async fn get(&self, rel: &str) -> Reply {
        self.call(Method::GET, rel, None).await
    }
    pub async fn post(&self, rel: &str, body: &Value) -> Reply {
        self.call(Method::POST, rel, Some(body)).await
    }
    pub async fn patch(&self, rel: &str, body: &Value) -> Reply {
        self.call(Method::PATCH, rel, Some(body)).await
    }
    pub async fn delete(&self, rel: &str) -> Reply {
        self.call(Method::DELETE, rel, None).await
    }

    /// Runs a query and answers its records.
    pub async fn query(&self, soql: &str) -> Vec<Value> {
        let reply = self.get(&format!("query?q={}", encode(soql))).await;
        assert_eq!(reply.status, 200, "query {soql} failed: {}", reply.body);
        reply.body["records"].as_array().cloned().unwrap_or_default()
    }

    /// The single value of `field` of the first record of a query.
    pub async fn query_one(&self, soql: &str, field: &str) -> Value {
        let records = self.query(soql).await;
        records.first().map(|r| r[field].clone()).unwrap_or(Value::Null)
    }

    pub async fn create(&self, object: &str, body: Value) -> String {
        let reply = self.post(&format!("sobjects/{object}"), &body).await;
        assert_eq!(reply.status, 201, "create {object} failed: {}", reply.body);
        reply.body["id"].as_str().unwrap_or_default().to_string()
    }
}

/// Percent-encodes a query string value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The single error of a REST error body.
pub fn error_of(reply: &Reply) -> (String, String) {
    let e = &reply.body[0];
    (e["errorCode"].as_str().unwrap_or_default().to_string(), e["message"].as_str().unwrap_or_default().to_string())
}

// ---------------------------------------------------------------- Metadata SOAP

pub fn envelope(session: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:met="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soapenv:Header><met:SessionHeader><met:sessionId>{session}</met:sessionId></met:SessionHeader></soapenv:Header>
  <soapenv:Body>{body}</soapenv:Body>
</soapenv:Envelope>"#
    )
}

/// Posts a Metadata SOAP call; answers the status and the body.
pub async fn soap(sim: &Sim, session: &str, body: &str) -> (u16, String) {
    let resp = sim
        .client
        .post(sim.url("/services/Soap/m/62.0"))
        .header("Content-Type", "text/xml; charset=UTF-8")
        .header("SOAPAction", "\"\"")
        .body(envelope(session, body))
        .send()
        .await
        .expect("answered");
    (resp.status().as_u16(), resp.text().await.expect("text"))
}

/// Metadata SOAP with the sim's own token.
pub async fn soap_call(sim: &Sim, body: &str) -> String {
    let token = sim.handle.token().to_string();
    let (status, xml) = soap(sim, &token, body).await;
    assert_eq!(status, 200, "{xml}");
    xml
}

pub fn read_profile(name: &str) -> String {
    format!("<met:readMetadata><met:type>Profile</met:type><met:fullNames>{name}</met:fullNames></met:readMetadata>")
}

/// An updateMetadata of one Profile carrying `entries` (recordTypeVisibilities XML).
pub fn update_profile(full_name: &str, entries: &str) -> String {
    format!(
        r#"<met:updateMetadata><met:metadata xsi:type="met:Profile"><met:fullName>{full_name}</met:fullName>{entries}</met:metadata></met:updateMetadata>"#
    )
}

/// One recordTypeVisibilities element.
pub fn rtv_xml(record_type: &str, default: bool, visible: bool, person_default: Option<bool>) -> String {
    let person =
        person_default.map(|p| format!("<met:personAccountDefault>{p}</met:personAccountDefault>")).unwrap_or_default();
    format!(
        "<met:recordTypeVisibilities><met:default>{default}</met:default>{person}<met:recordType>{record_type}</met:recordType><met:visible>{visible}</met:visible></met:recordTypeVisibilities>"
    )
}

/// One recordTypeVisibilities entry of a readMetadata answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    pub record_type: String,
    pub default: bool,
    pub visible: bool,
    /// None when the element is absent.
    pub person_account_default: Option<bool>,
}

impl Visibility {
    pub fn object(&self) -> &str {
        self.record_type.split('.').next().unwrap_or_default()
    }
}

fn element<'a>(chunk: &'a str, name: &str) -> Option<&'a str> {
    chunk.split(&format!("<{name}>")).nth(1)?.split(&format!("</{name}>")).next()
}

/// The recordTypeVisibilities entries of a readMetadata answer.
pub fn visibilities(xml: &str) -> Vec<Visibility> {
    xml.split("<recordTypeVisibilities>")
        .skip(1)
        .filter_map(|chunk| {
            let chunk = chunk.split("</recordTypeVisibilities>").next()?;
            Some(Visibility {
                record_type: element(chunk, "recordType")?.to_string(),
                default: element(chunk, "default")? == "true",
                visible: element(chunk, "visible")? == "true",
                person_account_default: element(chunk, "personAccountDefault").map(|v| v == "true"),
            })
        })
        .collect()
}

/// The `<errors>` of a write result: (statusCode, message) pairs.
pub fn metadata_errors(xml: &str) -> Vec<(String, String)> {
    xml.split("<errors>")
        .skip(1)
        .filter_map(|chunk| {
            let chunk = chunk.split("</errors>").next()?;
            Some((element(chunk, "statusCode")?.to_string(), element(chunk, "message")?.to_string()))
        })
        .collect()
}

// ---------------------------------------------------------------- fixtures

/// The repository's verbatim copy of the responses recorded from real orgs.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recorded")
}

pub fn fixture_text(rel: &str) -> String {
    let path = fixture_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {} unreadable: {e}", path.display()))
}

pub fn fixture_json(rel: &str) -> Value {
    serde_json::from_str(&fixture_text(rel)).expect("fixture is JSON")
}

/// The response bodies (`string:` scalars) of a recorded cassette, parsed as JSON.
pub fn cassette_bodies(rel: &str) -> Vec<Value> {
    yaml_strings(&fixture_text(rel)).into_iter().filter_map(|s| serde_json::from_str(&s).ok()).collect()
}

/// Every scalar under a `string:` key of a YAML cassette, in document order.
pub fn yaml_strings(yaml: &str) -> Vec<String> {
    fn collect(node: &Yaml, out: &mut Vec<String>) {
        match node {
            Yaml::Hash(map) => {
                for (key, value) in map {
                    match (key.as_str(), value.as_str()) {
                        (Some("string"), Some(text)) => out.push(text.to_string()),
                        _ => collect(value, out),
                    }
                }
            }
            Yaml::Array(items) => items.iter().for_each(|item| collect(item, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for doc in YamlLoader::load_from_str(yaml).expect("the cassette is YAML") {
        collect(&doc, &mut out);
    }
    out
}

// ---------------------------------------------------------------- shapes

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares two JSON documents' shapes: same key sets at every object level (or, with
/// `subset`, ours within theirs), same types where both are non-null; array elements
/// of ours are compared with the first element of theirs.
pub fn shape_diffs(ours: &Value, theirs: &Value, path: &str, subset: bool, diffs: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys() {
                if !b.contains_key(k) {
                    diffs.push(format!("{path}.{k}: only in ours"));
                }
            }
            if !subset {
                for k in b.keys() {
                    if !a.contains_key(k) {
                        diffs.push(format!("{path}.{k}: missing from ours"));
                    }
                }
            }
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    shape_diffs(v, w, &format!("{path}.{k}"), subset, diffs);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                shape_diffs(v, w, &format!("{path}[{i}]"), subset, diffs);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let Some(first) = b.first() {
                for (i, v) in a.iter().enumerate() {
                    shape_diffs(v, first, &format!("{path}[{i}]"), subset, diffs);
                }
            }
        }
        (a, b) if kind(a) != kind(b) => diffs.push(format!("{path}: {} in ours, {} in theirs", kind(a), kind(b))),
        _ => {}
    }
}

/// A query result with each record cut down to its `attributes`, so results of
/// different objects compare on the envelope only.
pub fn skeleton(v: &Value) -> Value {
    let mut out = v.clone();
    if let Some(Value::Array(records)) = out.get_mut("records") {
        for r in records.iter_mut() {
            if let Some(map) = r.as_object_mut() {
                map.retain(|k, _| k == "attributes");
            }
        }
    }
    out
}

pub fn assert_same_shape(ours: &Value, theirs: &Value) {
    let mut diffs = Vec::new();
    shape_diffs(ours, theirs, "$", false, &mut diffs);
    assert!(diffs.is_empty(), "shape differs from the recording:\n{}", diffs.join("\n"));
}

pub fn assert_shape_within(ours: &Value, theirs: &Value) {
    let mut diffs = Vec::new();
    shape_diffs(ours, theirs, "$", true, &mut diffs);
    assert!(diffs.is_empty(), "shape not within the recording:\n{}", diffs.join("\n"));
}

#[test]
fn yaml_extraction_reads_every_quoting_style() {
    let yaml = "a:\n  string: \"{\\n  \\\"x\\\" : 1,\\n  \\\"y\\\"\\\n    \\ : \\\"a b\\\"\\n  }\"\nb:\n  string: '{\"k\": \"it''s\",\n    \"z\": 2}'\nc:\n  string: >-\n      {\"q\":\n      true}\n";
    let strings = yaml_strings(yaml);
    assert_eq!(strings.len(), 3, "{strings:?}");
    assert_eq!(serde_json::from_str::<Value>(&strings[0]).ok(), Some(serde_json::json!({"x": 1, "y": "a b"})));
    assert_eq!(serde_json::from_str::<Value>(&strings[1]).ok(), Some(serde_json::json!({"k": "it's", "z": 2})));
    assert_eq!(serde_json::from_str::<Value>(&strings[2]).ok(), Some(serde_json::json!({"q": true})));
}

#[test]
fn every_cassette_body_parses() {
    for (file, expected) in [
        ("cumulusci/GET_sobjects_Account_describe.yaml", 1),
        ("cumulusci/GET_sobjects_Global_describe.yaml", 1),
        ("cumulusci/GET_sobjects_Organization.yaml", 1),
        ("cumulusci/TestCompositeParallelSalesforce.test_errors.yaml", 1),
        ("cumulusci/TestCountSObjects.test_count_sobjects__errors.yaml", 1),
        ("cumulusci/TestCompositeParallelSalesforce.test_composite_parallel_salesforce.yaml", 2),
    ] {
        assert_eq!(cassette_bodies(file).len(), expected, "{file}");
    }
}

/// A sim serving HTTPS, and a client that trusts its certificate (and nothing else).
pub async fn sim_tls_with(config: SimConfig) -> Sim {
    let handle = runner_sim::start(SimConfig { tls: true, ..config }).await.expect("sim starts");
    let pem = handle.certificate_pem().expect("a TLS sim has a certificate").to_string();
    let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("certificate is PEM");
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(cert)
        .build()
        .expect("client builds");
    Sim { handle, client }
}
