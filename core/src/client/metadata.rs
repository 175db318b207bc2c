//! The Metadata API over SOAP: a profile's record type visibilities.

use super::*;

impl SfClient {
    /// Reads a Profile's record type visibilities with `readMetadata`.
    pub async fn read_profile_record_types(
        &self,
        profile_full_name: &str,
    ) -> Result<Vec<RecordTypeVisibility>, ClientError> {
        let inner = soap::read_metadata_body("Profile", &[profile_full_name]);
        let (req, doc) = self.soap_call("readMetadata", inner, false).await?;
        let result = doc.find("result").ok_or_else(|| self.shape_error(&req, &req.path, "a readMetadata result"))?;
        let record =
            result.children_named("records").find(|r| r.attr("nil") != Some("true") && r.child("fullName").is_some());
        match record {
            Some(record) => Ok(soap::record_type_visibilities(record)),
            None => Err(ClientError::Api {
                method: "POST".into(),
                path: req.path.clone(),
                status: 200,
                errors: vec![ApiError::new(
                    "NOT_FOUND",
                    format!("no Profile with the full name `{profile_full_name}`"),
                )],
            }),
        }
    }

    /// Reads several Profiles' record type visibilities with one `readMetadata` (at most
    /// 10 full names per call, Metadata API Developer Guide, readMetadata: "Limit: 10").
    /// A name that is no profile's is absent from the answer.
    pub async fn read_profiles_record_types(
        &self,
        full_names: &[&str],
    ) -> Result<Vec<(String, Vec<RecordTypeVisibility>)>, ClientError> {
        let mut found = Vec::new();
        for chunk in full_names.chunks(10) {
            let inner = soap::read_metadata_body("Profile", chunk);
            let (req, doc) = self.soap_call("readMetadata", inner, false).await?;
            let result =
                doc.find("result").ok_or_else(|| self.shape_error(&req, &req.path, "a readMetadata result"))?;
            for record in result.children_named("records").filter(|r| r.attr("nil") != Some("true")) {
                if let Some(name) = record.child("fullName").map(|n| n.text.trim().to_string()) {
                    found.push((name, soap::record_type_visibilities(record)));
                }
            }
        }
        Ok(found)
    }

    /// Every Profile's Id and Metadata full name, with `listMetadata` (its FileProperties
    /// carry both: official meta_listmetadata): the full name of a profile known by Id
    /// without a Tooling query that must wait for the Id.
    pub async fn list_profiles(&self) -> Result<Vec<(String, String)>, ClientError> {
        let (_, doc) = self.soap_call("listMetadata", soap::list_metadata_body("Profile"), false).await?;
        let Some(response) = doc.find("listMetadataResponse") else { return Ok(Vec::new()) };
        Ok(response
            .children_named("result")
            .filter_map(|r| {
                let id = r.child("id")?.text.trim().to_string();
                let full_name = r.child("fullName")?.text.trim().to_string();
                (!id.is_empty() && !full_name.is_empty()).then_some((id, full_name))
            })
            .collect())
    }

    /// Sets record type visibilities on a Profile with `updateMetadata`; only the given
    /// entries change (profile updates overlay).
    pub async fn update_profile_record_types(
        &self,
        profile_full_name: &str,
        changes: &[RecordTypeVisibility],
    ) -> Result<(), ClientError> {
        let inner = soap::update_profile_body(profile_full_name, changes);
        let (req, doc) = self.soap_call("updateMetadata", inner, true).await?;
        let result = doc.find("result").ok_or_else(|| self.shape_error(&req, &req.path, "an updateMetadata result"))?;
        match result.child_text("success") {
            Some("true") => Ok(()),
            _ => {
                let mut errors = soap::result_errors(result);
                if errors.is_empty() {
                    errors.push(ApiError::new(
                        "UNKNOWN",
                        format!("updateMetadata did not succeed for `{profile_full_name}`"),
                    ));
                }
                Err(ClientError::Api { method: "POST".into(), path: req.path.clone(), status: 200, errors })
            }
        }
    }

    pub(super) async fn soap_call(
        &self,
        operation: &str,
        inner: String,
        write: bool,
    ) -> Result<(Req, soap::Element), ClientError> {
        let url = self.absolute_url(&format!("/services/Soap/m/{}", self.api_version()))?;
        let req = Req::new(Method::POST, url, Body::Soap(inner))
            // readMetadata reads; updateMetadata of a Profile overlays the same values again: both idempotent.
            .safe(true)
            .write(write);
        let path = format!("{} ({operation})", req.path);
        let req = req.path(path);
        let resp = self.execute(&req).await?;
        let token = self.current_token().1;
        let secrets = [token.expose_secret()];
        let doc = if resp.is_xml() { soap::parse(&resp.body).ok() } else { None };
        let Some(doc) = doc else {
            return Err(if resp.is_success() {
                unexpected(&req, &resp, &secrets)
            } else {
                self.response_error(&req, &resp)
            });
        };
        if let Some((fault_code, message)) = soap::fault(&doc) {
            if fault_code.ends_with("REQUEST_LIMIT_EXCEEDED") {
                return Err(ClientError::RequestLimit { usage: self.api_usage() });
            }
            // A fault may quote the session id it was sent.
            let (fault_code, message) =
                (crate::redact::text(&fault_code).into_owned(), crate::redact::text(&message).into_owned());
            return Err(ClientError::Soap { fault_code, message });
        }
        if !resp.is_success() {
            return Err(unexpected(&req, &resp, &secrets));
        }
        Ok((req, doc))
    }
}
