//! Composite, composite batch and sObject collections. Subrequests go back through
//! the one dispatcher, which the router passes in (this module sits below it); transactions roll back by restoring a clone of the org.

use serde_json::{Map, Value, json};

use crate::dml;
use crate::error::SfError;
use crate::model::normalize_id;
use crate::state::{MixedDml, OrgState};
use crate::util;
use crate::wire::{Ctx, Dispatch, Request, SimResponse, parse_json, record_json};

const MAX_SUBREQUESTS: usize = 25;
const MAX_RECORDS: usize = 200;
const HALTED: &str = "The transaction was rolled back since another operation in the same transaction failed.";

fn halted() -> Value {
    json!([{"errorCode": "PROCESSING_HALTED", "message": HALTED}])
}

fn body_object(ctx: &Ctx<'_>) -> Result<Map<String, Value>, SfError> {
    match parse_json(ctx.body)? {
        Value::Object(map) => Ok(map),
        _ => Err(SfError::json_parser(
            "Cannot deserialize instance of request from START_ARRAY value [line:1, column:1]",
        )),
    }
}

/// Opens a mixed-DML scope unless one is already open; answers whether it opened one.
fn open_mixed(org_state: &mut OrgState) -> bool {
    if org_state.mixed.is_some() {
        false
    } else {
        org_state.mixed = Some(MixedDml::default());
        true
    }
}

/// One step of a reference path: a field name or an array index.
enum Step {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            steps.push(Step::Key(name.to_string()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let close = stripped.find(']')?;
            steps.push(Step::Index(stripped[..close].parse().ok()?));
            rest = &stripped[close + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(steps)
}

/// Looks `ref.path` up in earlier results.
fn lookup(results: &[(String, Option<Value>)], expr: &str) -> Option<Value> {
    let (reference, path) = expr.split_once('.').unwrap_or((expr, ""));
    let (reference, first_index) = match reference.find('[') {
        Some(i) => (&reference[..i], &reference[i..]),
        None => (reference, ""),
    };
    let (_, body) = results.iter().find(|(r, _)| r == reference)?;
    let mut current = body.as_ref()?.clone();
    let full = format!("{first_index}{}{path}", if first_index.is_empty() || path.is_empty() { "" } else { "." });
    for step in parse_path(&full)? {
        current = match step {
            Step::Key(k) => current.get(&k)?.clone(),
            Step::Index(i) => current.get(i)?.clone(),
        };
    }
    if current.is_null() { None } else { Some(current) }
}

/// Replaces `@{…}` references in a string: a string that is one reference takes the
/// referenced value as is; otherwise the text is substituted.
fn resolve_str(text: &str, results: &[(String, Option<Value>)]) -> Result<Value, String> {
    if let Some(inner) = text.strip_prefix("@{").and_then(|t| t.strip_suffix('}'))
        && !inner.contains('}')
    {
        return lookup(results, inner).ok_or_else(|| inner.to_string());
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let expr = &after[..end];
        let value = lookup(results, expr).ok_or_else(|| expr.to_string())?;
        match value {
            Value::String(s) => out.push_str(&s),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

fn resolve_value(value: &Value, results: &[(String, Option<Value>)]) -> Result<Value, String> {
    Ok(match value {
        Value::String(s) => resolve_str(s, results)?,
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve_value(v, results)).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), resolve_value(v, results)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn invalid_reference(expr: &str) -> SimResponse {
    let reference = expr.split(['.', '[']).next().unwrap_or(expr);
    SimResponse::json(
        400,
        json!([{
            "errorCode": "PROCESSING_HALTED",
            "message": format!("Invalid reference specified. No value for {expr} found in {reference}."),
        }]),
    )
}

fn sub_result(resp: &SimResponse, reference_id: &str) -> Value {
    let headers: Map<String, Value> = resp
        .headers
        .iter()
        .filter(|(k, _)| k != "Content-Length")
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "body": resp.body.clone().unwrap_or(Value::Null),
        "httpHeaders": headers,
        "httpStatusCode": resp.status,
        "referenceId": reference_id,
    })
}

/// `POST …/composite`.
pub fn composite(org_state: &mut OrgState, ctx: &Ctx<'_>, dispatch: Dispatch) -> Result<SimResponse, SfError> {
    let body = body_object(ctx)?;
    let all_or_none = body.get("allOrNone").and_then(Value::as_bool).unwrap_or(false);
    let Some(Value::Array(subrequests)) = body.get("compositeRequest") else {
        return Err(SfError::bad("JSON_PARSER_ERROR", "No compositeRequest found in the request body").code_first());
    };
    if subrequests.is_empty() || subrequests.len() > MAX_SUBREQUESTS {
        return Err(SfError::bad(
            "INVALID_INPUT",
            format!("The number of subrequests must be between 1 and {MAX_SUBREQUESTS}; found {}", subrequests.len()),
        ));
    }
    for sub in subrequests {
        let reference = sub.get("referenceId").and_then(Value::as_str).unwrap_or_default();
        let method = sub.get("method").and_then(Value::as_str).unwrap_or_default();
        let url = sub.get("url").and_then(Value::as_str).unwrap_or_default();
        if reference.is_empty() || url.is_empty() {
            return Err(SfError::bad("INVALID_INPUT", "Each subrequest needs a method, a url and a referenceId"));
        }
        if !matches!(method, "GET" | "POST" | "PUT" | "PATCH" | "DELETE") {
            return Err(SfError::bad("INVALID_INPUT", format!("Invalid HTTP method for a subrequest: {method}")));
        }
        if !reference.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(SfError::bad("INVALID_INPUT", format!("Invalid referenceId: {reference}")));
        }
        if let Some(Value::Object(h)) = sub.get("httpHeaders")
            && let Some(name) = h
                .keys()
                .find(|k| ["accept", "authorization", "content-type"].contains(&k.to_ascii_lowercase().as_str()))
        {
            return Err(SfError::bad("INVALID_INPUT", format!("Subrequests can't set the {name} header")));
        }
    }
    let snapshot = all_or_none.then(|| org_state.org.clone());
    let before = org_state.composite_reads_before_writes.then(|| org_state.org.clone());
    let opened = all_or_none && open_mixed(org_state);
    let mut results: Vec<(String, Option<Value>)> = Vec::new();
    let mut out: Vec<Value> = Vec::new();
    let mut failed_at: Option<usize> = None;
    for (i, sub) in subrequests.iter().enumerate() {
        let reference = sub.get("referenceId").and_then(Value::as_str).unwrap_or_default().to_string();
        if failed_at.is_some() {
            out.push(json!({"body": halted(), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference}));
            continue;
        }
        let method = sub.get("method").and_then(Value::as_str).unwrap_or_default();
        let url = sub.get("url").and_then(Value::as_str).unwrap_or_default();
        let resp = match (resolve_str(url, &results), sub.get("body").map(|b| resolve_value(b, &results)).transpose()) {
            (Err(expr), _) | (_, Err(expr)) => invalid_reference(&expr),
            (Ok(url), Ok(body)) => {
                let url = url.as_str().unwrap_or_default().to_string();
                let headers: Vec<(String, String)> = match sub.get("httpHeaders") {
                    Some(Value::Object(h)) => {
                        h.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
                    }
                    _ => Vec::new(),
                };
                let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
                let request = Request { method, path_and_query: &url, headers: &headers, body: &bytes };
                match &before {
                    Some(before) if method == "GET" => {
                        let now = std::mem::replace(&mut org_state.org, before.clone());
                        let resp = dispatch(org_state, request);
                        org_state.org = now;
                        resp
                    }
                    _ => dispatch(org_state, request),
                }
            }
        };
        if resp.status >= 400 && all_or_none {
            failed_at = Some(i);
        }
        results.push((reference.clone(), if resp.status < 400 { resp.body.clone() } else { None }));
        out.push(sub_result(&resp, &reference));
    }
    if opened {
        org_state.mixed = None;
    }
    if let (Some(failed), Some(snapshot)) = (failed_at, snapshot) {
        org_state.org = snapshot;
        for result in out.iter_mut().take(failed) {
            let reference = result.get("referenceId").cloned().unwrap_or(Value::Null);
            *result = json!({"body": halted(), "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference});
        }
    }
    Ok(SimResponse::json(200, json!({"compositeResponse": out})))
}

/// `POST …/composite/batch`.
pub fn batch(org_state: &mut OrgState, ctx: &Ctx<'_>, dispatch: Dispatch) -> Result<SimResponse, SfError> {
    let body = body_object(ctx)?;
    let halt_on_error = body.get("haltOnError").and_then(Value::as_bool).unwrap_or(false);
    let Some(Value::Array(requests)) = body.get("batchRequests") else {
        return Err(SfError::bad("JSON_PARSER_ERROR", "No batchRequests found in the request body"));
    };
    if requests.is_empty() || requests.len() > MAX_SUBREQUESTS {
        return Err(SfError::bad(
            "INVALID_INPUT",
            format!("The number of batch requests must be between 1 and {MAX_SUBREQUESTS}; found {}", requests.len()),
        ));
    }
    let mut results = Vec::new();
    let mut has_errors = false;
    let mut halted_now = false;
    for sub in requests {
        if halted_now {
            results.push(json!({
                "statusCode": 412,
                "result": [{"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}],
            }));
            continue;
        }
        let method = sub.get("method").and_then(Value::as_str).unwrap_or("GET").to_ascii_uppercase();
        let url = sub.get("url").and_then(Value::as_str).unwrap_or_default();
        let path = if url.starts_with("/services/data/") {
            url.to_string()
        } else {
            format!("/services/data/{}", url.trim_start_matches('/'))
        };
        let bytes = sub.get("richInput").map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let resp =
            dispatch(org_state, Request { method: &method, path_and_query: &path, headers: ctx.headers, body: &bytes });
        if resp.status >= 400 {
            has_errors = true;
            halted_now = halt_on_error;
        }
        results.push(json!({"statusCode": resp.status, "result": resp.body.unwrap_or(Value::Null)}));
    }
    Ok(SimResponse::json(200, json!({"hasErrors": has_errors, "results": results})))
}

fn save_ok(id: &str) -> Value {
    json!({"id": id, "success": true, "errors": []})
}

fn save_err(id: Option<&str>, err: &SfError) -> Value {
    match id {
        Some(id) => json!({"id": id, "success": false, "errors": [err.save_error()]}),
        None => json!({"success": false, "errors": [err.save_error()]}),
    }
}

fn rolled_back(id: Option<&str>) -> Value {
    let err = SfError::bad(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    );
    save_err(id, &err)
}

/// `…/composite/sobjects[/<Type>]`.
pub fn collections(org_state: &mut OrgState, ctx: &Ctx<'_>, type_name: Option<&str>) -> Result<SimResponse, SfError> {
    match (ctx.method, type_name) {
        ("GET", Some(t)) => retrieve(org_state, ctx, t, None),
        ("POST", Some(t)) => {
            let body = body_object(ctx)?;
            retrieve(org_state, ctx, t, Some(&body))
        }
        ("POST", None) => write_many(org_state, ctx, true),
        ("PATCH", None) => write_many(org_state, ctx, false),
        ("DELETE", None) => delete_many(org_state, ctx),
        (m, None) => Err(SfError::method_not_allowed(m, "DELETE,PATCH,POST")),
        (m, Some(_)) => Err(SfError::method_not_allowed(m, "GET,HEAD,POST")),
    }
}

fn retrieve(
    org_state: &mut OrgState,
    ctx: &Ctx<'_>,
    type_name: &str,
    body: Option<&Map<String, Value>>,
) -> Result<SimResponse, SfError> {
    let object = dml::object_def(&org_state.org, type_name)?;
    let (ids, fields): (Vec<String>, Option<Vec<String>>) = match body {
        Some(b) => (
            b.get("ids")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            b.get("fields")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()),
        ),
        None => (
            util::query_param(ctx.pairs, "ids")
                .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
                .unwrap_or_default(),
            util::query_param(ctx.pairs, "fields")
                .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()),
        ),
    };
    if ids.is_empty() {
        return Err(SfError::bad("INVALID_INPUT", "The ids parameter is required"));
    }
    if ids.len() > 2000 {
        return Err(SfError::bad("INVALID_INPUT", "Too many ids; at most 2000 are allowed"));
    }
    let mut out = Vec::new();
    for raw in ids {
        let id = normalize_id(&raw).filter(|id| id[..3] == object.key_prefix && org_state.org.get(id).is_some());
        match id {
            Some(id) => out.push(record_json(org_state, &id, fields.as_deref(), ctx.version)?),
            None => out.push(Value::Null),
        }
    }
    Ok(SimResponse::json(200, Value::Array(out)))
}

fn write_many(org_state: &mut OrgState, ctx: &Ctx<'_>, create: bool) -> Result<SimResponse, SfError> {
    let body = body_object(ctx)?;
    let all_or_none = body.get("allOrNone").and_then(Value::as_bool).unwrap_or(false);
    let Some(Value::Array(records)) = body.get("records") else {
        return Err(SfError::bad("INVALID_INPUT", "The request body needs a records array"));
    };
    if records.len() > MAX_RECORDS {
        return Err(SfError::bad(
            "EXCEEDED_ID_LIMIT",
            format!("record limit reached. cannot submit more than {MAX_RECORDS} records into this call"),
        ));
    }
    let snapshot = all_or_none.then(|| org_state.org.clone());
    let opened = open_mixed(org_state);
    let mut out: Vec<(Option<String>, Result<(), SfError>)> = Vec::new();
    for record in records {
        let Some(map) = record.as_object() else {
            out.push((None, Err(SfError::bad("INVALID_TYPE", "Must send a concrete entity type."))));
            continue;
        };
        let type_name = map.get("attributes").and_then(|a| a.get("type")).and_then(Value::as_str);
        let id_value =
            map.iter().find(|(k, _)| k.eq_ignore_ascii_case("id")).and_then(|(_, v)| v.as_str()).map(str::to_string);
        let Some(type_name) = type_name else {
            out.push((id_value, Err(SfError::bad("INVALID_TYPE", "Must send a concrete entity type."))));
            continue;
        };
        // An object hidden by a permission gate goes on to the DML, which names the gate.
        if org_state.org.schema.object(type_name).is_none() && !org_state.org.schema.denies(type_name) {
            out.push((
                id_value,
                Err(SfError::bad("INVALID_TYPE", format!("sObject type '{type_name}' is not supported."))),
            ));
            continue;
        }
        if create {
            if id_value.is_some() {
                out.push((
                    None,
                    Err(SfError::bad("INVALID_FIELD", "The Id field should not be specified in the sobject data.")),
                ));
                continue;
            }
            match dml::insert(org_state, type_name, map, None) {
                Ok(id) => out.push((Some(id), Ok(()))),
                Err(e) => out.push((None, Err(e))),
            }
        } else {
            let Some(raw_id) = id_value else {
                out.push((None, Err(SfError::bad("MISSING_ARGUMENT", "Id not specified in an update call").with_fields::<&str>(&[]))));
                continue;
            };
            let Some(id) = normalize_id(&raw_id) else {
                out.push((
                    Some(raw_id.clone()),
                    Err(SfError::bad("MALFORMED_ID", format!("malformed id {raw_id}")).with_fields(&["Id"])),
                ));
                continue;
            };
            match dml::update(org_state, type_name, &id, map, None) {
                Ok(()) => out.push((Some(id), Ok(()))),
                Err(e) => out.push((Some(id), Err(e))),
            }
        }
    }
    if opened {
        org_state.mixed = None;
    }
    let any_failed = out.iter().any(|(_, r)| r.is_err());
    let rollback = all_or_none && any_failed;
    if let (true, Some(snapshot)) = (rollback, snapshot) {
        org_state.org = snapshot;
    }
    let results: Vec<Value> = out
        .iter()
        .map(|(id, result)| match result {
            Ok(()) if rollback => rolled_back(if create { None } else { id.as_deref() }),
            Ok(()) => save_ok(id.as_deref().unwrap_or_default()),
            Err(e) => save_err(if create { None } else { id.as_deref() }, e),
        })
        .collect();
    Ok(SimResponse::json(200, Value::Array(results)))
}

fn delete_many(org_state: &mut OrgState, ctx: &Ctx<'_>) -> Result<SimResponse, SfError> {
    let all_or_none = util::query_param(ctx.pairs, "allOrNone").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let ids: Vec<String> = util::query_param(ctx.pairs, "ids")
        .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(SfError::bad("INVALID_INPUT", "The ids parameter is required"));
    }
    if ids.len() > MAX_RECORDS {
        return Err(SfError::bad(
            "EXCEEDED_ID_LIMIT",
            format!("record limit reached. cannot submit more than {MAX_RECORDS} records into this call"),
        ));
    }
    let snapshot = all_or_none.then(|| org_state.org.clone());
    let opened = open_mixed(org_state);
    let mut out: Vec<(String, Result<(), SfError>)> = Vec::new();
    for raw in ids {
        let Some(id) = normalize_id(&raw) else {
            out.push((
                raw.clone(),
                Err(SfError::bad("MALFORMED_ID", format!("malformed id {raw}")).with_fields::<&str>(&[])),
            ));
            continue;
        };
        let result = dml::delete(org_state, None, &id);
        out.push((id, result));
    }
    if opened {
        org_state.mixed = None;
    }
    let rollback = all_or_none && out.iter().any(|(_, r)| r.is_err());
    if let (true, Some(snapshot)) = (rollback, snapshot) {
        org_state.org = snapshot;
    }
    let results: Vec<Value> = out
        .iter()
        .map(|(id, result)| match result {
            Ok(()) if rollback => rolled_back(Some(id)),
            Ok(()) => save_ok(id),
            Err(e) => save_err(Some(id), e),
        })
        .collect();
    Ok(SimResponse::json(200, Value::Array(results)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve() {
        let results = vec![
            ("refAccount".to_string(), Some(json!({"id": "001Hs0000000001AAA", "success": true}))),
            ("q".to_string(), Some(json!({"records": [{"Id": "005Hs0000000002AAA"}]}))),
        ];
        assert_eq!(resolve_str("@{refAccount.id}", &results), Ok(json!("001Hs0000000001AAA")));
        assert_eq!(resolve_str("@{q.records[0].Id}", &results), Ok(json!("005Hs0000000002AAA")));
        assert_eq!(
            resolve_str("/services/data/v62.0/sobjects/Account/@{refAccount.id}", &results),
            Ok(json!("/services/data/v62.0/sobjects/Account/001Hs0000000001AAA"))
        );
        assert_eq!(resolve_str("@{missing.id}", &results), Err("missing.id".to_string()));
        assert_eq!(resolve_str("@{q.records[5].Id}", &results), Err("q.records[5].Id".to_string()));
        assert_eq!(resolve_str("plain", &results), Ok(json!("plain")));
    }
}
