//! Metadata API SOAP for Profile: `readMetadata`, `updateMetadata`, `upsertMetadata`
//! on `recordTypeVisibilities`. Accepts any namespace prefixes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, State as AxState};
use axum::response::Response;
use quick_xml::Reader;
use quick_xml::events::Event;

use crate::core::{Core, ProfileMeta, RecordTypeVisibility};
use crate::seed::profile_full_name;
use crate::server::{AuthError, ConnDrop, Fault, Outcome, Shared, State, json_response, text_response, unavailable};
use crate::util::xml_escape;

const CONTENT_TYPE: &str = "text/xml;charset=UTF-8";

/// A parsed XML element: local name, attributes (local names), children, text.
#[derive(Debug, Default, Clone)]
pub struct Elem {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Elem>,
    pub text: String,
}

impl Elem {
    pub fn child(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Elem> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
    /// `xsi:type` without its prefix.
    pub fn xsi_type(&self) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == "type").map(|(_, v)| v.rsplit(':').next().unwrap_or(v))
    }
    /// The first descendant with this name, depth first.
    pub fn find(&self, name: &str) -> Option<&Elem> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }
}

fn local(name: &[u8]) -> String {
    let text = String::from_utf8_lossy(name);
    text.rsplit(':').next().unwrap_or(&text).to_string()
}

/// Parses a document into its root element.
pub fn parse(xml: &str) -> Result<Elem, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Elem> = vec![Elem::default()];
    loop {
        let event = reader.read_event().map_err(|e| e.to_string())?;
        match event {
            Event::Start(e) => {
                stack.push(start_elem(&e)?);
            }
            Event::Empty(e) => {
                let elem = start_elem(&e)?;
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(elem);
                }
            }
            Event::End(_) => {
                let elem = stack.pop().ok_or("unbalanced document")?;
                let parent = stack.last_mut().ok_or("unbalanced document")?;
                parent.children.push(elem);
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| e.to_string())?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                let text = t.decode().map_err(|e| e.to_string())?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => match r.decode().map_err(|e| e.to_string())?.as_ref() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(format!("unknown entity &{other};")),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().ok_or("empty document")?;
    if !stack.is_empty() {
        return Err("unexpected end of document".into());
    }
    root.children.pop().ok_or_else(|| "empty document".to_string())
}

fn start_elem(e: &quick_xml::events::BytesStart<'_>) -> Result<Elem, String> {
    let mut elem = Elem { name: local(e.name().as_ref()), ..Elem::default() };
    for attr in e.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let value = attr.unescape_value().map_err(|e| e.to_string())?.to_string();
        elem.attrs.push((local(attr.key.as_ref()), value));
    }
    Ok(elem)
}

fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="http://soap.sforce.com/2006/04/metadata" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"#
    )
}

/// A SOAP fault (HTTP 500).
pub fn fault(code: &str, message: &str) -> Response {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="http://soap.sforce.com/2006/04/metadata"><soapenv:Body><soapenv:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#,
        xml_escape(code),
        xml_escape(message)
    );
    text_response(500, CONTENT_TYPE, body)
}

/// `POST /services/Soap/m/{version}`.
pub async fn handle(
    AxState(shared): AxState<Arc<Shared>>,
    Extension(conn): Extension<ConnDrop>,
    body: Bytes,
) -> Response {
    shared.latency().await;
    let text = String::from_utf8_lossy(&body).into_owned();
    let doc = match parse(&text) {
        Ok(doc) => doc,
        Err(e) => return fault("soapenv:Client", &format!("Unable to parse the request: {e}")),
    };
    let session = doc.find("SessionHeader").and_then(|h| h.child_text("sessionId")).map(str::to_string);
    let outcome = {
        let mut state = shared.lock();
        handle_locked(&shared, &mut state, session.as_deref(), &doc)
    };
    match outcome {
        Outcome::Respond(resp) => resp,
        Outcome::Drop => conn.drop_connection().await,
    }
}

fn handle_locked(shared: &Shared, state: &mut State, session: Option<&str>, doc: &Elem) -> Outcome {
    match shared.authorize(state, session) {
        Err(AuthError::Session) => {
            return Outcome::Respond(fault(
                "sf:INVALID_SESSION_ID",
                "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
            ));
        }
        Err(AuthError::Limit) => {
            return Outcome::Respond(fault(
                "sf:REQUEST_LIMIT_EXCEEDED",
                "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded.",
            ));
        }
        Ok(()) => {}
    }
    let fault_kind = shared.draw_fault(state);
    match fault_kind {
        Some(Fault::UnavailableBefore) => return Outcome::Respond(json_response(503, &unavailable())),
        Some(Fault::DropBefore) => return Outcome::Drop,
        _ => {}
    }
    state.usage += 1;
    shared.count_call();
    let response = operate(&mut state.core, doc);
    match fault_kind {
        Some(Fault::UnavailableAfter) => Outcome::Respond(json_response(503, &unavailable())),
        Some(Fault::DropAfter) => Outcome::Drop,
        _ => Outcome::Respond(response),
    }
}

fn operate(core: &mut Core, doc: &Elem) -> Response {
    let Some(body) = doc.child("Body") else {
        return fault("soapenv:Client", "No SOAP Body found in the request");
    };
    let Some(op) = body.children.first() else {
        return fault("soapenv:Client", "No operation found in the SOAP Body");
    };
    match op.name.as_str() {
        "readMetadata" => read_metadata(core, op),
        "updateMetadata" => write_metadata(core, doc, op, false),
        "upsertMetadata" => write_metadata(core, doc, op, true),
        other => fault(
            "soapenv:Client",
            &format!("No operation available for request {{http://soap.sforce.com/2006/04/metadata}}{other}"),
        ),
    }
}

/// The profile whose metadata fullName is `full_name`.
fn profile_by_full_name(core: &Core, full_name: &str) -> Option<(String, String)> {
    core.org.records("Profile").find_map(|p| {
        let name = p.get("Name")?.as_str()?;
        let id = p.get("Id")?.as_str()?;
        (profile_full_name(name) == full_name).then(|| (id.to_string(), name.to_string()))
    })
}

fn profile_license_name(core: &Core, profile_id: &str) -> String {
    core.org
        .get(profile_id)
        .and_then(|(_, p)| p.get("UserLicenseId")?.as_str().map(str::to_string))
        .and_then(|l| core.org.get(&l).and_then(|(_, lic)| lic.get("Name")?.as_str().map(str::to_string)))
        .unwrap_or_default()
}

fn profile_xml(core: &Core, profile_id: &str, full_name: &str) -> String {
    let mut entries = core.meta.get(profile_id).cloned().unwrap_or_default();
    entries.sort_by(|a, b| a.record_type.cmp(&b.record_type));
    let mut out =
        format!(r#"<records xsi:type="Profile"><fullName>{}</fullName><custom>false</custom>"#, xml_escape(full_name));
    for e in entries {
        out.push_str(&format!(
            "<recordTypeVisibilities><default>{}</default><recordType>{}</recordType><visible>{}</visible></recordTypeVisibilities>",
            e.default,
            xml_escape(&e.record_type),
            e.visible
        ));
    }
    out.push_str(&format!(
        "<userLicense>{}</userLicense></records>",
        xml_escape(&profile_license_name(core, profile_id))
    ));
    out
}

fn read_metadata(core: &Core, op: &Elem) -> Response {
    let kind = op.child_text("type").unwrap_or_default();
    let mut records = String::new();
    for full_name in op.children_named("fullNames").map(|c| c.text.trim()) {
        match (kind, profile_by_full_name(core, full_name)) {
            ("Profile", Some((id, _))) => records.push_str(&profile_xml(core, &id, full_name)),
            _ => records.push_str(r#"<records xsi:nil="true"/>"#),
        }
    }
    text_response(
        200,
        CONTENT_TYPE,
        envelope(&format!("<readMetadataResponse><result>{records}</result></readMetadataResponse>")),
    )
}

/// Applies one Profile's `recordTypeVisibilities` overlay to `meta`.
fn apply_profile(
    core: &Core,
    meta: &mut ProfileMeta,
    profile_id: &str,
    metadata: &Elem,
) -> Result<(), (String, String)> {
    let entries = meta.entry(profile_id.to_string()).or_default();
    for rtv in metadata.children_named("recordTypeVisibilities") {
        let Some(record_type) = rtv.child_text("recordType") else {
            return Err(("FIELD_INTEGRITY_EXCEPTION".into(), "In field: recordType - no value specified".into()));
        };
        let (object, dev) = record_type.split_once('.').unwrap_or((record_type, ""));
        let exists = core.org.records("RecordType").any(|r| {
            r.get("SobjectType").and_then(|v| v.as_str()) == Some(object)
                && r.get("DeveloperName").and_then(|v| v.as_str()) == Some(dev)
        });
        if !exists {
            return Err((
                "INVALID_CROSS_REFERENCE_KEY".into(),
                format!("In field: recordType - no RecordType named {record_type} found"),
            ));
        }
        let parse_bool = |name: &str| rtv.child_text(name).map(|t| t.eq_ignore_ascii_case("true"));
        let default = parse_bool("default");
        let visible = parse_bool("visible");
        if default == Some(true) {
            let prefix = format!("{object}.");
            for e in entries.iter_mut().filter(|e| e.record_type.starts_with(&prefix)) {
                e.default = false;
            }
        }
        match entries.iter_mut().find(|e| e.record_type == record_type) {
            Some(e) => {
                if let Some(d) = default {
                    e.default = d;
                }
                if let Some(v) = visible {
                    e.visible = v;
                }
            }
            None => entries.push(RecordTypeVisibility {
                record_type: record_type.to_string(),
                visible: visible.unwrap_or(false),
                default: default.unwrap_or(false),
            }),
        }
        if entries.iter().any(|e| e.default && !e.visible && e.record_type == record_type) {
            return Err((
                "FIELD_INTEGRITY_EXCEPTION".into(),
                format!("The default record type {record_type} must be visible"),
            ));
        }
    }
    Ok(())
}

fn write_metadata(core: &mut Core, doc: &Elem, op: &Elem, upsert: bool) -> Response {
    let all_or_none = doc
        .find("AllOrNoneHeader")
        .and_then(|h| h.child_text("allOrNone"))
        .is_some_and(|t| t.eq_ignore_ascii_case("true"));
    let mut meta = core.meta.clone();
    let mut results = Vec::new();
    let mut any_failed = false;
    for metadata in op.children_named("metadata") {
        let full_name = metadata.child_text("fullName").unwrap_or_default().to_string();
        let outcome = if metadata.xsi_type() != Some("Profile") {
            Err((
                "INVALID_TYPE".to_string(),
                format!(
                    "This simulated org only supports Profile metadata, not {}",
                    metadata.xsi_type().unwrap_or("(no xsi:type)")
                ),
            ))
        } else {
            match profile_by_full_name(core, &full_name) {
                None => Err((
                    "INVALID_CROSS_REFERENCE_KEY".to_string(),
                    format!("In field: fullName - no Profile named {full_name} found"),
                )),
                Some((id, _)) => {
                    let mut trial = meta.clone();
                    apply_profile(core, &mut trial, &id, metadata).map(|()| trial)
                }
            }
        };
        let created = if upsert { "<created>false</created>" } else { "" };
        match outcome {
            Ok(trial) => {
                meta = trial;
                results.push(format!(
                    "<result>{created}<fullName>{}</fullName><success>true</success></result>",
                    xml_escape(&full_name)
                ));
            }
            Err((code, message)) => {
                any_failed = true;
                results.push(format!(
                    "<result>{created}<errors><message>{}</message><statusCode>{}</statusCode></errors><fullName>{}</fullName><success>false</success></result>",
                    xml_escape(&message),
                    xml_escape(&code),
                    xml_escape(&full_name)
                ));
            }
        }
    }
    if !(all_or_none && any_failed) {
        core.meta = meta;
    }
    let tag = if upsert { "upsertMetadataResponse" } else { "updateMetadataResponse" };
    text_response(200, CONTENT_TYPE, envelope(&format!("<{tag}>{}</{tag}>", results.concat())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_prefix() {
        let xml = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://soap.sforce.com/2006/04/metadata"><s:Header><m:SessionHeader><m:sessionId>abc&amp;d</m:sessionId></m:SessionHeader></s:Header><s:Body><readMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><type>Profile</type><fullNames>Admin</fullNames></readMetadata></s:Body></s:Envelope>"#;
        let doc = parse(xml).unwrap_or_default();
        assert_eq!(doc.name, "Envelope");
        assert_eq!(doc.find("SessionHeader").and_then(|h| h.child_text("sessionId")), Some("abc&d"));
        let op = doc.child("Body").and_then(|b| b.children.first()).cloned().unwrap_or_default();
        assert_eq!(op.name, "readMetadata");
        assert_eq!(op.child_text("fullNames"), Some("Admin"));
    }
}
