//! The OAuth 2.0 JWT bearer flow (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`):
//! an RS256 assertion signed with the private key whose certificate was uploaded to
//! the connected app, checked as Salesforce checks it.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;

/// Why an assertion is refused: the OAuth `error` and `error_description` Salesforce answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: &'static str,
    pub description: &'static str,
}

const INVALID_ASSERTION: Refusal = Refusal { error: "invalid_grant", description: "invalid assertion" };
const UNKNOWN_CLIENT: Refusal = Refusal { error: "invalid_client_id", description: "client identifier invalid" };
const BAD_AUDIENCE: Refusal = Refusal { error: "invalid_grant", description: "audience is invalid" };
const EXPIRED: Refusal = Refusal { error: "invalid_grant", description: "expired authorization code" };
const NOT_APPROVED: Refusal = Refusal { error: "invalid_grant", description: "user hasn't approved this consumer" };

/// The `aud` of a production org's assertions.
pub const PRODUCTION_AUDIENCE: &str = "https://login.salesforce.com";
/// The `aud` of a sandbox's assertions.
pub const SANDBOX_AUDIENCE: &str = "https://test.salesforce.com";

/// The audiences an org accepts. The JWT bearer help page (remoteaccess_oauth_jwt_flow,
/// quoted in the `salesforce-jwt-bearer-token-flow` README) lists login.salesforce.com,
/// test.salesforce.com or an Experience Cloud site URL, and no My Domain. Production orgs
/// take the first and sandboxes the second: that is why sfdx-core's `authJwt` tries both
/// (`getLoginAudienceCombos`, "we can no longer depend on instance names or URLs to
/// determine audience"), and why a client must cope with the wrong one being refused.
/// `own_url` (the org's instance URL) is accepted too only when given, for clients that
/// predate this rule.
pub fn audiences(is_sandbox: bool, own_url: Option<&str>) -> Vec<String> {
    let mut list = vec![if is_sandbox { SANDBOX_AUDIENCE } else { PRODUCTION_AUDIENCE }.to_string()];
    if let Some(own) = own_url {
        list.push(own.trim_end_matches('/').to_string());
    }
    list
}

/// What a valid assertion grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    pub username: String,
}

/// Parses PEM certificates, refusing text that holds none or an unparsable one.
pub fn parse_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    if certs.is_empty() {
        return Err("no PEM certificate found".into());
    }
    for cert in &certs {
        webpki::EndEntityCert::try_from(cert).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    }
    Ok(certs)
}

fn decode_part(part: &str) -> Result<Vec<u8>, Refusal> {
    // base64url without padding, as RFC 7515 requires; padding is tolerated.
    data_encoding::BASE64URL_NOPAD.decode(part.trim_end_matches('=').as_bytes()).map_err(|_| INVALID_ASSERTION)
}

fn decode_json(part: &str) -> Result<serde_json::Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(&decode_part(part)?) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(INVALID_ASSERTION),
    }
}

fn signed_by(certs: &[CertificateDer<'static>], message: &[u8], signature: &[u8]) -> bool {
    let algorithms = [webpki::ring::RSA_PKCS1_2048_8192_SHA256, webpki::ring::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS];
    certs.iter().any(|der| {
        webpki::EndEntityCert::try_from(der)
            .is_ok_and(|cert| algorithms.iter().any(|alg| cert.verify_signature(*alg, message, signature).is_ok()))
    })
}

/// The inputs an assertion is checked against.
pub struct Verifier<'a> {
    /// Consumer keys of the connected apps.
    pub client_ids: &'a [&'a str],
    /// Certificates uploaded for the JWT flow, as PEM.
    pub certificates: &'a [String],
    /// The `aud` values accepted, from [`audiences`].
    pub audiences: &'a [String],
    /// Seconds since the epoch.
    pub now: u64,
    /// Whether an active user has this username (case-insensitive).
    pub user_exists: &'a dyn Fn(&str) -> bool,
}

impl Verifier<'_> {
    /// Checks an assertion: shape and `alg`, `iss`, the RS256 signature, `aud`, `exp`,
    /// then `sub` (`prn`, the legacy claim, wins when both are given).
    pub fn verify(&self, assertion: &str) -> Result<Grant, Refusal> {
        let mut parts = assertion.trim().split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(INVALID_ASSERTION);
        };
        let header_json = decode_json(header)?;
        if header_json.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(INVALID_ASSERTION);
        }
        let claims_json = decode_json(claims)?;
        let signature = decode_part(signature)?;
        let text = |name: &str| claims_json.get(name).and_then(Value::as_str).map(str::to_string);

        let issuer = text("iss").ok_or(INVALID_ASSERTION)?;
        if !self.client_ids.contains(&issuer.as_str()) {
            return Err(UNKNOWN_CLIENT);
        }
        let certs: Vec<CertificateDer<'static>> =
            self.certificates.iter().filter_map(|pem| parse_certificates(pem).ok()).flatten().collect();
        let message = format!("{header}.{claims}");
        if !signed_by(&certs, message.as_bytes(), &signature) {
            return Err(INVALID_ASSERTION);
        }

        let audiences: Vec<String> = match claims_json.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let valid_audience = |aud: &String| self.audiences.iter().any(|ok| ok == aud.trim_end_matches('/'));
        if !audiences.iter().any(valid_audience) {
            return Err(BAD_AUDIENCE);
        }

        let expiry = claims_json.get("exp").and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)));
        match expiry {
            Some(exp) if exp > self.now => {}
            _ => return Err(EXPIRED),
        }

        let username = text("prn").or_else(|| text("sub")).ok_or(INVALID_ASSERTION)?;
        if !(self.user_exists)(&username) {
            return Err(NOT_APPROVED);
        }
        Ok(Grant { client_id: issuer, username })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_takes_login_and_a_sandbox_takes_test() {
        assert_eq!(audiences(false, None), [PRODUCTION_AUDIENCE]);
        assert_eq!(audiences(true, None), [SANDBOX_AUDIENCE]);
        assert_eq!(audiences(false, Some("http://127.0.0.1:1/")), [PRODUCTION_AUDIENCE, "http://127.0.0.1:1"]);
    }
}
