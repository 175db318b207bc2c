//! Metadata API over SOAP: envelopes written with quick-xml (everything escaped) and
//! responses read by local name, whatever the namespace prefixes.

use std::io::Write as _;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::{Reader, XmlVersion};

use super::error::ApiError;
use super::types::RecordTypeVisibility;

const SOAPENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const MET: &str = "http://soap.sforce.com/2006/04/metadata";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

type XmlResult = std::io::Result<()>;

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> XmlResult {
    w.create_element(name).write_text_content(BytesText::new(&clean(text)))?;
    Ok(())
}

/// XML 1.0 cannot carry most control characters even escaped: drop them.
fn clean(text: &str) -> String {
    text.chars().filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r')).collect()
}

/// The whole envelope: the session header with `session_id`, then `inner_body`
/// (XML written by [`read_metadata_body`] or [`update_profile_body`]).
pub(crate) fn envelope(session_id: &str, inner_body: &str) -> Vec<u8> {
    let build = || -> std::io::Result<Vec<u8>> {
        let mut w = Writer::new(Vec::new());
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        w.create_element("soapenv:Envelope")
            .with_attribute(("xmlns:soapenv", SOAPENV))
            .with_attribute(("xmlns:met", MET))
            .with_attribute(("xmlns:xsi", XSI))
            .write_inner_content(|w| {
                w.create_element("soapenv:Header").write_inner_content(|w| {
                    w.create_element("met:SessionHeader")
                        .write_inner_content(|w| text_element(w, "met:sessionId", session_id))?;
                    Ok(())
                })?;
                w.create_element("soapenv:Body").write_inner_content(|w| {
                    w.get_mut().write_all(inner_body.as_bytes())?;
                    Ok(())
                })?;
                Ok(())
            })?;
        Ok(w.into_inner())
    };
    // Writing to a Vec cannot fail.
    build().unwrap_or_default()
}

/// `<met:readMetadata><met:type>TYPE</met:type><met:fullNames>NAME</met:fullNames>…`
pub(crate) fn read_metadata_body(metadata_type: &str, full_names: &[&str]) -> String {
    let build = || -> std::io::Result<Vec<u8>> {
        let mut w = Writer::new(Vec::new());
        w.create_element("met:readMetadata").write_inner_content(|w| {
            text_element(w, "met:type", metadata_type)?;
            for name in full_names {
                text_element(w, "met:fullNames", name)?;
            }
            Ok(())
        })?;
        Ok(w.into_inner())
    };
    String::from_utf8(build().unwrap_or_default()).unwrap_or_default()
}

/// `<met:listMetadata><met:queries><met:type>TYPE</met:type></met:queries></met:listMetadata>`
pub(crate) fn list_metadata_body(metadata_type: &str) -> String {
    let build = || -> std::io::Result<Vec<u8>> {
        let mut w = Writer::new(Vec::new());
        w.create_element("met:listMetadata").write_inner_content(|w| {
            w.create_element("met:queries").write_inner_content(|w| text_element(w, "met:type", metadata_type))?;
            Ok(())
        })?;
        Ok(w.into_inner())
    };
    String::from_utf8(build().unwrap_or_default()).unwrap_or_default()
}

/// `updateMetadata` of one Profile with only the given record type visibilities
/// (profile updates overlay: nothing else changes).
pub(crate) fn update_profile_body(profile_full_name: &str, changes: &[RecordTypeVisibility]) -> String {
    let build = || -> std::io::Result<Vec<u8>> {
        let mut w = Writer::new(Vec::new());
        w.create_element("met:updateMetadata").write_inner_content(|w| {
            w.create_element("met:metadata").with_attribute(("xsi:type", "met:Profile")).write_inner_content(|w| {
                text_element(w, "met:fullName", profile_full_name)?;
                for change in changes {
                    w.create_element("met:recordTypeVisibilities").write_inner_content(|w| {
                        // The schema's element order: default, personAccountDefault, recordType, visible.
                        text_element(w, "met:default", bool_text(change.default))?;
                        if let Some(person) = change.person_account_default {
                            text_element(w, "met:personAccountDefault", bool_text(person))?;
                        }
                        text_element(w, "met:recordType", &change.record_type)?;
                        text_element(w, "met:visible", bool_text(change.visible))?;
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(w.into_inner())
    };
    String::from_utf8(build().unwrap_or_default()).unwrap_or_default()
}

fn bool_text(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// A parsed XML element, names without prefixes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// The first element of that name, depth first (this one included). Walks with a
    /// stack of its own: the depth of a document is the server's to choose.
    pub fn find(&self, name: &str) -> Option<&Element> {
        let mut pending = vec![self];
        while let Some(element) = pending.pop() {
            if element.name == name {
                return Some(element);
            }
            pending.extend(element.children.iter().rev());
        }
        None
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn local(name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    match name.rsplit_once(':') {
        Some((_, local)) => local.to_string(),
        None => name.into_owned(),
    }
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

/// How deep a document may nest. A Metadata response is about 8 deep; the tree's
/// derived `Drop`, `Clone` and `Debug` recurse, so an unbounded depth is a stack
/// overflow waiting for a hostile server.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses a whole document into its root element; refuses one nested deeper than
/// [`MAX_DEPTH`].
pub(crate) fn parse(xml: &[u8]) -> Result<Element, String> {
    let mut reader = Reader::from_reader(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut buf = Vec::new();
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| e.to_string())?;
        let is_empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(start) | Event::Empty(start) => {
                if root.is_some() {
                    return Err("more than one root element".into());
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("the XML nests deeper than {MAX_DEPTH} elements"));
                }
                let mut element = Element { name: local(start.name().as_ref()), ..Element::default() };
                for attr in start.attributes().flatten() {
                    let value =
                        attr.normalized_value(XmlVersion::Implicit1_0).map(|v| v.into_owned()).unwrap_or_default();
                    element.attrs.push((local(attr.key.as_ref()), value));
                }
                if is_empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                } else {
                    stack.push(element);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::Text(text) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&text.xml10_content().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(data) => {
                if let Some(current) = stack.last_mut() {
                    current.text.push_str(&data.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some(current) = stack.last_mut() {
                    let ch = match reference.resolve_char_ref().map_err(|e| e.to_string())? {
                        Some(ch) => Some(ch),
                        None => entity(&reference.decode().map_err(|e| e.to_string())?),
                    };
                    match ch {
                        Some(ch) => current.text.push(ch),
                        None => return Err("unknown entity".into()),
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".to_string())
}

/// A SOAP fault: `(faultcode, faultstring)`.
pub(crate) fn fault(doc: &Element) -> Option<(String, String)> {
    let fault = doc.find("Fault")?;
    let code = fault.child_text("faultcode").unwrap_or("soapenv:Server").to_string();
    let message = fault.child_text("faultstring").unwrap_or_default().to_string();
    Some((code, message))
}

/// The `<errors>` of a metadata `<result>`.
pub(crate) fn result_errors(result: &Element) -> Vec<ApiError> {
    result
        .children_named("errors")
        .map(|e| ApiError {
            error_code: e.child_text("statusCode").unwrap_or("UNKNOWN").to_string(),
            message: e.child_text("message").unwrap_or_default().to_string(),
            fields: e.children_named("fields").map(|f| f.text.trim().to_string()).collect(),
        })
        .collect()
}

fn parse_bool(text: Option<&str>) -> Option<bool> {
    match text? {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// The record type visibilities of a `readMetadata` Profile record.
pub(crate) fn record_type_visibilities(record: &Element) -> Vec<RecordTypeVisibility> {
    record
        .children_named("recordTypeVisibilities")
        .filter_map(|v| {
            Some(RecordTypeVisibility {
                record_type: v.child_text("recordType")?.to_string(),
                default: parse_bool(v.child_text("default")).unwrap_or(false),
                visible: parse_bool(v.child_text("visible")).unwrap_or(false),
                person_account_default: parse_bool(v.child_text("personAccountDefault")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth))
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        // 1 MB of open tags: without a cap, the tree's recursive drop alone overflows.
        let deep = nested(350_000);
        let err = parse(deep.as_bytes()).expect_err("too deep");
        assert!(err.contains("nests deeper than 64"), "{err}");
        assert!(parse(nested(MAX_DEPTH).as_bytes()).is_ok());
        assert!(parse(nested(MAX_DEPTH + 1).as_bytes()).is_err());
    }

    #[test]
    fn find_walks_a_deep_tree_without_recursion() {
        let xml = format!("{}<Fault><faultcode>x</faultcode></Fault>{}", "<a>".repeat(60), "</a>".repeat(60));
        let doc = parse(xml.as_bytes()).expect("parses");
        assert_eq!(fault(&doc).map(|(code, _)| code), Some("x".to_string()));
        let xml = "<r><a><b/></a><b><c/></b></r>";
        let doc = parse(xml.as_bytes()).expect("parses");
        // Depth first: the first `b` is the one inside `a`.
        assert!(doc.find("b").is_some_and(|b| b.children.is_empty()));
    }

    #[test]
    fn many_attributes_parse_in_linear_time() {
        // RUSTSEC-2026-0194: quick-xml before 0.41 checked duplicate attributes
        // quadratically; 50,000 attributes took minutes.
        let attrs: String = (0..50_000).map(|i| format!(" a{i}=\"v\"")).collect();
        let xml = format!("<r{attrs}/>");
        let started = std::time::Instant::now();
        let doc = parse(xml.as_bytes()).expect("parses");
        assert_eq!(doc.attrs.len(), 50_000);
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    }
}
