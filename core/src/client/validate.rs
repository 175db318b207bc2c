//! What may be sent: https or loopback, and names, ids and versions of the shapes
//! Salesforce accepts, checked before any request is built from them.

use super::*;

/// Checks that credentials may be sent to `url`: https, or http to a loopback host.
/// One rule for the client and for everything that resolves a target before it.
pub fn check_secure(url: &Url) -> Result<(), ClientError> {
    match url.scheme() {
        "https" => Ok(()),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback { Ok(()) } else { Err(ClientError::InsecureUrl { url: url.as_str().to_string() }) }
        }
        other => Err(ClientError::InvalidUrl {
            url: url.as_str().to_string(),
            reason: format!("the scheme must be https (or http for loopback), not `{other}`"),
        }),
    }
}

/// Parses and checks an instance URL; keeps only scheme, host and port.
pub(crate) fn parse_instance_url(text: &str) -> Result<Url, ClientError> {
    let invalid = |reason: &str| ClientError::InvalidUrl { url: text.to_string(), reason: reason.to_string() };
    let mut url = Url::parse(text.trim()).map_err(|e| invalid(&e.to_string()))?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(invalid("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials do not belong in the URL"));
    }
    check_secure(&url)?;
    url.set_path("/");
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// `"62.0"` (a leading `v` is dropped).
pub(super) fn normalize_version(version: &str) -> Result<String, ClientError> {
    let version = version.trim().trim_start_matches(['v', 'V']);
    let valid = !version.is_empty()
        && version.chars().all(|c| c.is_ascii_digit() || c == '.')
        && version.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(version.to_string())
    } else {
        Err(ClientError::Config { reason: format!("`{version}` is not an API version such as 62.0") })
    }
}

pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn check_sobject(name: &str) -> Result<(), ClientError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(ClientError::InvalidName {
            kind: "an sObject API name",
            name: name.to_string(),
            example: "Account or StoreConnect_Store__c (letters, digits, _)",
        })
    }
}

pub(super) fn check_id(id: &str) -> Result<(), ClientError> {
    if matches!(id.len(), 15 | 18) && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(ClientError::InvalidName {
            kind: "a Salesforce record id",
            name: id.to_string(),
            example: "001000000000001AAA (15 or 18 letters and digits)",
        })
    }
}

pub(super) fn check_field(name: &str) -> Result<(), ClientError> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        Ok(())
    } else {
        Err(ClientError::InvalidName {
            kind: "a field API name",
            name: name.to_string(),
            example: "Name, Owner.Name or My_Field__c (letters, digits, _ and .)",
        })
    }
}

/// Whether a request may be sent twice: reads, deletes, and PATCH of a known record id
/// (a PATCH by external id is an upsert that may create).
pub(super) fn idempotent(method: &str, path: &str) -> bool {
    match method {
        "GET" | "HEAD" | "DELETE" => true,
        "PATCH" => is_record_path(path),
        _ => false,
    }
}

/// `…/sobjects/<SObject>/<record id>` (query string ignored).
pub(super) fn is_record_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match segments.iter().rposition(|s| *s == "sobjects") {
        Some(at) if segments.len() == at + 3 => valid_name(segments[at + 1]) && check_id(segments[at + 2]).is_ok(),
        _ => false,
    }
}

pub(super) fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
