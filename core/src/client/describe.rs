//! sObject describes: which fields an object has, and which of them a create or an update may set.

use super::*;

/// What a describe says about writing an object's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectFields {
    /// The object's API name as the org spells it.
    pub name: String,
    pub fields: Vec<FieldAccess>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldAccess {
    pub name: String,
    /// A lookup's relationship name (`Account` for `AccountId`), which a create may use for an external id.
    pub relationship_name: Option<String>,
    pub createable: bool,
    pub updateable: bool,
}

impl ObjectFields {
    /// The field of this name, matched as Salesforce matches API names: without regard to case.
    pub fn field(&self, name: &str) -> Option<&FieldAccess> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The field whose relationship this name is.
    pub fn relationship(&self, name: &str) -> Option<&FieldAccess> {
        self.fields.iter().find(|f| f.relationship_name.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(name)))
    }

    fn from_value(value: &Value) -> Option<ObjectFields> {
        let name = value.get("name")?.as_str()?.to_string();
        let fields = value
            .get("fields")?
            .as_array()?
            .iter()
            .filter_map(|f| {
                Some(FieldAccess {
                    name: f.get("name")?.as_str()?.to_string(),
                    relationship_name: f.get("relationshipName").and_then(Value::as_str).map(str::to_string),
                    createable: f.get("createable").and_then(Value::as_bool).unwrap_or(false),
                    updateable: f.get("updateable").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect();
        Some(ObjectFields { name, fields })
    }
}

impl SfClient {
    /// The describes of `sobjects` (`GET …/sobjects/{name}/describe`) in as few round trips as
    /// `/composite/batch` allows (25 a request). An object the org does not have is its own `Err`
    /// (Salesforce's `NOT_FOUND`), and so is a name that is no API name (it is not sent); transport,
    /// session and limit errors fail the whole call.
    pub async fn describe_many(
        &self,
        sobjects: &[String],
    ) -> Result<Vec<Result<ObjectFields, ClientError>>, ClientError> {
        let version = self.api_version().to_string();
        let urls: Vec<String> = sobjects
            .iter()
            .filter(|o| check_sobject(o).is_ok())
            .map(|o| format!("/services/data/v{version}/sobjects/{o}/describe"))
            .collect();
        let mut answers = urls.iter().zip(self.get_many(&urls).await?);
        Ok(sobjects
            .iter()
            .map(|sobject| {
                check_sobject(sobject)?;
                let (url, (status, body)) = answers.next().ok_or_else(|| ClientError::UnexpectedShape {
                    method: "GET".into(),
                    path: format!("/sobjects/{sobject}/describe"),
                    wanted: "one answer per describe".into(),
                    write: false,
                })?;
                if !(200..300).contains(&status) {
                    let errors = ApiError::list_from_value(&body).filter(|e| !e.is_empty()).unwrap_or_else(|| {
                        vec![ApiError::new("UNKNOWN", format!("the describe failed with HTTP {status}"))]
                    });
                    return Err(ClientError::Api { method: "GET".into(), path: url.clone(), status, errors });
                }
                ObjectFields::from_value(&body).ok_or_else(|| ClientError::UnexpectedShape {
                    method: "GET".into(),
                    path: url.clone(),
                    wanted: "an sObject describe".into(),
                    write: false,
                })
            })
            .collect())
    }
}
