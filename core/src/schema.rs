//! The org's schema as check mode needs it: which fields `sf::create` and `sf::update` may set.
//!
//! In check mode (and in the planning passes before a run's first write) nothing reaches Salesforce, so a
//! misspelt field would only fail in the real run, half-way. Check mode asks the objects' describes instead
//! and refuses what Salesforce would refuse, with Salesforce's own error codes, so that a playbook catching
//! `INVALID_FIELD` behaves the same in both. The observe pass names every object the playbook writes
//! ([`Schema::want`]); the first check then reads all of their describes in one batch.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use crate::client::{ApiError, ClientError, ObjectFields, SfClient};
use crate::failure::StepFailure;

/// Describes read for this run, and the objects the observe pass saw written. Kept for the whole run: data
/// writes do not change the schema.
#[derive(Default)]
pub struct Schema {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Objects to describe at the first check: by lower-cased name, as the playbook spells them.
    wanted: BTreeMap<String, String>,
    /// By lower-cased name: the describe, or `None` for an object the org does not have.
    known: HashMap<String, Option<Arc<ObjectFields>>>,
}

/// What a write does with its fields: the describe's `createable` or `updateable` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
}

impl Schema {
    /// The observe pass saw a write to `sobject`.
    pub(crate) fn want(&self, sobject: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.wanted.entry(sobject.to_ascii_lowercase()).or_insert_with(|| sobject.to_string());
        }
    }

    /// Refuses, as Salesforce would, a write of `fields` to `sobject` that names an object the org does not
    /// have, a field the object does not have, or one the write may not set. `step` names the caller.
    ///
    /// A describe that cannot be read (the connection, a proxy's page, a refusal) fails the check in check mode, which
    /// sends nothing else that would report it. Planning a run skips the check instead: the write itself
    /// then meets the failure, where the run reports it as it would without this check.
    pub(crate) async fn check_write(
        &self,
        client: &SfClient,
        step: &str,
        sobject: &str,
        fields: &Map<String, Value>,
        kind: WriteKind,
        planning_a_run: bool,
    ) -> Result<(), StepFailure> {
        let object = match self.object(client, sobject).await {
            Ok(object) => object,
            Err(_) if planning_a_run => return Ok(()),
            Err(failure) => return Err(failure),
        };
        let Some(object) = object else {
            // REST answers a create or update on an unknown object with 404 NOT_FOUND
            // (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
            return Err(refusal(
                ApiError::new("NOT_FOUND", "The requested resource does not exist"),
                format!("{step}: the org has no object {sobject} (its describe answered NOT_FOUND)"),
                Some("check the object's API name in Setup → Object Manager; a custom object's ends in __c".into()),
            ));
        };
        let mut unknown = Vec::new();
        let mut read_only = Vec::new();
        for (name, value) in fields {
            if name == "attributes" {
                continue;
            }
            if kind == WriteKind::Create && name.eq_ignore_ascii_case("Id") && !value.is_null() {
                return Err(refusal(
                    ApiError::new("INVALID_FIELD", "The Id field should not be specified in the sobject data."),
                    format!("{step}: a new {} cannot be given an Id", object.name),
                    None,
                ));
            }
            let field = object.field(name).or_else(|| value.is_object().then(|| object.relationship(name)).flatten());
            match field {
                None => unknown.push(name.as_str()),
                Some(field) => {
                    let writable = match kind {
                        WriteKind::Create => field.createable,
                        WriteKind::Update => field.updateable,
                    };
                    if !writable && !name.eq_ignore_ascii_case("Id") {
                        read_only.push(field.name.clone());
                    }
                }
            }
        }
        if let Some(first) = unknown.first() {
            // The text Salesforce gives for a field the object lacks, as the sim's DML rules have it.
            let error =
                ApiError::new("INVALID_FIELD", format!("No such column '{first}' on sobject of type {}", object.name));
            let names: Vec<&str> = object.fields.iter().map(|f| f.name.as_str()).collect();
            let hints: Vec<String> = unknown
                .iter()
                .filter_map(|u| {
                    crate::suggest::closest(u, names.iter().copied()).map(|c| format!("{u}: did you mean {c}?"))
                })
                .collect();
            return Err(refusal(
                error,
                format!("{step}: {} has no field {} (from its describe)", object.name, unknown.join(", ")),
                (!hints.is_empty()).then(|| hints.join("; ")),
            ));
        }
        if !read_only.is_empty() {
            // A field the describe marks not createable / not updateable: Salesforce refuses the write with
            // INVALID_FIELD_FOR_INSERT_UPDATE (StatusCode, https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_concepts_core_data_objects.htm).
            let verb = if kind == WriteKind::Create { "create" } else { "update" };
            let mut error = ApiError::new(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!("Unable to create/update fields: {}.", read_only.join(", ")),
            );
            error.fields = read_only.clone();
            return Err(refusal(
                error,
                format!(
                    "{step}: a {verb} may not set {} on {} (read-only by its describe)",
                    read_only.join(", "),
                    object.name
                ),
                Some("leave the field out, or check its field-level security for the running user".into()),
            ));
        }
        Ok(())
    }

    /// Reads the describes the observe pass wants and nobody has read, beside the read-ahead's batch, so that
    /// the checks cost no round trip of their own. What is not answered is read again at the first check.
    pub(crate) async fn prefetch(&self, client: &SfClient) {
        let missing = self.missing(None);
        if !missing.is_empty() {
            let _ = self.fetch(client, &missing, None).await;
        }
    }

    /// `sobject`'s describe, read with every other object the observe pass saw written when it is not known.
    async fn object(&self, client: &SfClient, sobject: &str) -> Result<Option<Arc<ObjectFields>>, StepFailure> {
        let key = sobject.to_ascii_lowercase();
        if let Some(known) = self.state.lock().ok().and_then(|state| state.known.get(&key).cloned()) {
            return Ok(known);
        }
        let missing = self.missing(Some(sobject));
        self.fetch(client, &missing, Some(sobject)).await?;
        Ok(self.state.lock().ok().and_then(|state| state.known.get(&key).cloned().flatten()))
    }

    /// The wanted objects not described yet, and `also`, as the playbook spells them.
    fn missing(&self, also: Option<&str>) -> Vec<String> {
        let Ok(state) = self.state.lock() else { return Vec::new() };
        let mut names: BTreeMap<String, String> = state
            .wanted
            .iter()
            .filter(|(key, _)| !state.known.contains_key(*key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(also) = also {
            names.entry(also.to_ascii_lowercase()).or_insert_with(|| also.to_string());
        }
        names.into_values().collect()
    }

    /// Describes `names` in one batch and keeps each answer: the describe, or that the org has no such object.
    /// A refusal of `needed`'s describe is the error; another object's is left unknown.
    async fn fetch(&self, client: &SfClient, names: &[String], needed: Option<&str>) -> Result<(), StepFailure> {
        let answers = client.describe_many(names).await.map_err(StepFailure::from)?;
        let Ok(mut state) = self.state.lock() else { return Ok(()) };
        for (name, answer) in names.iter().zip(answers) {
            let entry = match answer {
                Ok(fields) => Some(Arc::new(fields)),
                Err(ClientError::Api { status: 404, .. }) => None,
                Err(err) if err.error_code() == Some("NOT_FOUND") || err.error_code() == Some("INVALID_TYPE") => None,
                // Another refusal of a describe says nothing of the write: no check rather than a false one.
                Err(err) if needed.is_some_and(|n| n.eq_ignore_ascii_case(name)) => return Err(StepFailure::from(err)),
                Err(_) => continue,
            };
            state.known.insert(name.to_ascii_lowercase(), entry);
        }
        Ok(())
    }
}

fn refusal(error: ApiError, message: String, hint: Option<String>) -> StepFailure {
    let mut failure = StepFailure::new(crate::codes::SF_API, message);
    failure.sf_error = Some(Box::new(error));
    failure.hint = hint;
    failure
}
