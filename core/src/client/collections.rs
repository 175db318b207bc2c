//! sObject Collections: up to 200 records created, updated or deleted in one request.

use super::*;

impl SfClient {
    /// Creates records with sObject Collections, 200 per request. With `all_or_none`,
    /// each request of 200 is atomic on its own.
    pub async fn create_many(&self, records: &[NewRecord], all_or_none: bool) -> Result<Vec<SaveResult>, ClientError> {
        let mut out = Vec::with_capacity(records.len());
        for chunk in records.chunks(COLLECTION_CHUNK) {
            let mut items = Vec::with_capacity(chunk.len());
            for record in chunk {
                check_sobject(&record.sobject)?;
                let mut body = Map::new();
                body.insert("attributes".into(), json!({ "type": record.sobject }));
                body.extend(record.fields.iter().map(|(k, v)| (k.clone(), v.clone())));
                items.push(Value::Object(body));
            }
            let body = json!({ "allOrNone": all_or_none, "records": items });
            let req = Req::new(Method::POST, self.data_url("/composite/sobjects")?, Body::Json(body));
            out.extend(self.save_results(&req, chunk.len()).await?);
        }
        Ok(out)
    }

    /// Updates records with sObject Collections (PATCH), 200 per request.
    pub async fn update_many(
        &self,
        records: &[RecordUpdate],
        all_or_none: bool,
    ) -> Result<Vec<SaveResult>, ClientError> {
        let mut out = Vec::with_capacity(records.len());
        for chunk in records.chunks(COLLECTION_CHUNK) {
            let mut items = Vec::with_capacity(chunk.len());
            for record in chunk {
                check_sobject(&record.sobject)?;
                check_id(&record.id)?;
                let mut body = Map::new();
                body.insert("attributes".into(), json!({ "type": record.sobject }));
                body.insert("id".into(), Value::String(record.id.clone()));
                body.extend(
                    record
                        .fields
                        .iter()
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("id"))
                        .map(|(k, v)| (k.clone(), v.clone())),
                );
                items.push(Value::Object(body));
            }
            let body = json!({ "allOrNone": all_or_none, "records": items });
            let req = Req::new(Method::PATCH, self.data_url("/composite/sobjects")?, Body::Json(body));
            out.extend(self.save_results(&req, chunk.len()).await?);
        }
        Ok(out)
    }

    /// Deletes records with sObject Collections, 200 per request.
    pub async fn delete_many(&self, ids: &[String], all_or_none: bool) -> Result<Vec<SaveResult>, ClientError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(COLLECTION_CHUNK) {
            for id in chunk {
                check_id(id)?;
            }
            let path = format!("/composite/sobjects?ids={}&allOrNone={all_or_none}", chunk.join(","));
            let req = Req::new(Method::DELETE, self.data_url(&path)?, Body::None);
            out.extend(self.save_results(&req, chunk.len()).await?);
        }
        Ok(out)
    }

    pub(super) async fn save_results(&self, req: &Req, expected: usize) -> Result<Vec<SaveResult>, ClientError> {
        let value = self.json(req).await?;
        let results = value
            .as_array()
            .filter(|items| items.len() == expected)
            .and_then(|items| items.iter().map(SaveResult::from_value).collect::<Option<Vec<_>>>());
        results.ok_or_else(|| self.shape_error(req, &req.path, "one save result per record"))
    }
}
