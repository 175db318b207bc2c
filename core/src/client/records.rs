//! One record at a time over REST, the identity endpoint, and any other REST call.

use super::*;

impl SfClient {
    /// One record, with all fields or the given ones.
    pub async fn get(
        &self,
        sobject: &str,
        id: &str,
        fields: Option<&[&str]>,
    ) -> Result<Map<String, Value>, ClientError> {
        check_sobject(sobject)?;
        check_id(id)?;
        let mut path = format!("/sobjects/{sobject}/{id}");
        if let Some(fields) = fields {
            for field in fields {
                check_field(field)?;
            }
            path.push_str("?fields=");
            path.push_str(&fields.join(","));
        }
        let req = Req::new(Method::GET, self.data_url(&path)?, Body::None);
        match self.json(&req).await? {
            Value::Object(map) => Ok(map),
            _ => Err(self.shape_error(&req, &req.path, "a record")),
        }
    }

    /// Creates a record; returns its id. Never retried once it may have reached the
    /// server: an ambiguous failure must be resolved by re-reading.
    pub async fn create(&self, sobject: &str, fields: &Map<String, Value>) -> Result<String, ClientError> {
        check_sobject(sobject)?;
        let req = Req::new(
            Method::POST,
            self.data_url(&format!("/sobjects/{sobject}/"))?,
            Body::Json(Value::Object(fields.clone())),
        );
        let value = self.json(&req).await?;
        let save = SaveResult::from_value(&value).ok_or_else(|| self.shape_error(&req, &req.path, "a save result"))?;
        match save {
            SaveResult { success: true, id: Some(id), .. } => Ok(id),
            // "Success" without the id: the record probably exists, and saying "not
            // created" would invite a duplicate.
            SaveResult { success: true, id: None, .. } => {
                Err(ClientError::MissingId { method: "POST".into(), path: req.path.clone() })
            }
            SaveResult { errors, .. } => Err(ClientError::Api {
                method: "POST".into(),
                path: req.path.clone(),
                status: 200,
                errors: if errors.is_empty() {
                    vec![ApiError::new("UNKNOWN", "the record was not created")]
                } else {
                    errors
                },
            }),
        }
    }

    /// Updates fields of a record (PATCH; retried when safe).
    pub async fn update(&self, sobject: &str, id: &str, fields: &Map<String, Value>) -> Result<(), ClientError> {
        check_sobject(sobject)?;
        check_id(id)?;
        let req = Req::new(
            Method::PATCH,
            self.data_url(&format!("/sobjects/{sobject}/{id}"))?,
            Body::Json(Value::Object(fields.clone())),
        );
        self.no_content(&req).await.map(|_| ())
    }

    /// Deletes a record. A retried delete whose record is already gone succeeds.
    pub async fn delete(&self, sobject: &str, id: &str) -> Result<(), ClientError> {
        check_sobject(sobject)?;
        check_id(id)?;
        let req = Req::new(Method::DELETE, self.data_url(&format!("/sobjects/{sobject}/{id}"))?, Body::None);
        let resp = self.execute(&req).await?;
        if resp.is_success() {
            return Ok(());
        }
        let err = self.response_error(&req, &resp);
        let gone = matches!(err.error_code(), Some("ENTITY_IS_DELETED" | "NOT_FOUND"));
        if resp.attempts > 1 && gone { Ok(()) } else { Err(err) }
    }

    /// `GET {instance}/services/oauth2/userinfo`.
    pub async fn userinfo(&self) -> Result<Map<String, Value>, ClientError> {
        let url = self.absolute_url(USERINFO_PATH)?;
        let req = Req::new(Method::GET, url, Body::None);
        match self.json(&req).await? {
            Value::Object(map) => Ok(map),
            _ => Err(self.shape_error(&req, &req.path, "a userinfo object")),
        }
    }

    /// Any REST call under `/services/data/vXX.X` (`path` like `/sobjects/User/005…/password`;
    /// a path starting with `/services/data/` is used as is). Returns the status and the
    /// JSON body (`null` when there is none); non-2xx answers are errors.
    pub async fn request_json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let url = self.data_url(path)?;
        let body = body.map(|b| Body::Json(b.clone())).unwrap_or(Body::None);
        let safe = idempotent(method.as_str(), path);
        let req = Req::new(method, url, body).safe(safe);
        let resp = self.execute(&req).await?;
        if !resp.is_success() {
            return Err(self.response_error(&req, &resp));
        }
        if resp.is_empty() {
            return Ok((resp.status, Value::Null));
        }
        let value = self.expect_json(&req, &resp)?;
        Ok((resp.status, value))
    }
}
