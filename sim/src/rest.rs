//! The one REST dispatcher every request goes through: top-level requests, composite
//! subrequests and batch subrequests alike. It routes `/services/data/…` to the
//! handlers and serves queries and their cursors.

use serde_json::{Map, Value, json};

use crate::error::SfError;
use crate::model::make_id;
use crate::state::{Cursor, OrgState};
use crate::wire::{Ctx, Request, SimResponse, parse_object_body, record_json_in, resolve_row_id};
use crate::{composite, describe, dml, password, soql, util};

/// Splits a path into decoded segments, dropping empty ones (trailing slashes).
fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(|s| util::percent_decode(s, false)).collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// The one REST dispatcher.
pub fn dispatch(org_state: &mut OrgState, req: Request<'_>) -> SimResponse {
    let (path, query) = req.path_and_query.split_once('?').unwrap_or((req.path_and_query, ""));
    let pairs = util::parse_query(query);
    let segs = segments(path);
    if segs.len() < 2 || segs[0] != "services" || segs[1] != "data" {
        return SfError::not_found().into();
    }
    let Some(version_seg) = segs.get(2) else {
        return SimResponse::json(200, org_state.version_list());
    };
    let version = if version_seg == "latest" {
        org_state.latest().to_string()
    } else {
        match version_seg.strip_prefix('v') {
            Some(v) if org_state.versions.iter().any(|(known, _)| known == v) => v.to_string(),
            _ => return SfError::not_found().into(),
        }
    };
    let mut method = req.method.to_ascii_uppercase();
    if method == "POST"
        && let Some(over) = util::query_param(&pairs, "_HttpMethod")
    {
        method = over.to_ascii_uppercase();
    }
    if method == "HEAD" {
        method = "GET".into();
    }
    let rest: Vec<&str> = segs[3..].iter().map(String::as_str).collect();
    let ctx =
        Ctx { version: &version, method: &method, pairs: &pairs, headers: req.headers, body: req.body, tooling: false };
    let result = route(org_state, &ctx, &rest);
    match result {
        Ok(resp) => resp,
        Err(err) => err.into(),
    }
}

fn route(org_state: &mut OrgState, ctx: &Ctx<'_>, rest: &[&str]) -> Result<SimResponse, SfError> {
    match rest {
        [] => {
            ctx.only("GET,HEAD")?;
            Ok(SimResponse::json(200, resource_map(ctx.version)))
        }
        ["limits"] => {
            ctx.only("GET,HEAD")?;
            Ok(SimResponse::json(200, limits(org_state)))
        }
        [resource @ ("query" | "queryAll")] => {
            ctx.only("GET,HEAD")?;
            let Some(q) = util::query_param(ctx.pairs, "q") else {
                return Err(SfError::bad("MALFORMED_QUERY", "A query string has to be specified"));
            };
            // Official REST `queryAll` resource: the result includes deleted records
            // (IsDeleted = true); `query` never does.
            let scope = soql::Scope { tooling: false, include_deleted: *resource == "queryAll" };
            // A queryAll's nextRecordsUrl says `query`: either resource serves the locator.
            run_query(org_state, ctx, q, "query", scope)
        }
        ["query" | "queryAll", locator] => {
            ctx.only("GET,HEAD")?;
            next_page(org_state, ctx.version, locator)
        }
        // The Tooling API: the same org seen through `/tooling/`, where the setup
        // objects clients ask for (User, Profile, PermissionSet, …) live too.
        ["tooling"] => {
            ctx.only("GET,HEAD")?;
            Ok(SimResponse::json(200, tooling_resource_map(ctx.version)))
        }
        ["tooling", "query"] => {
            ctx.only("GET,HEAD")?;
            let Some(q) = util::query_param(ctx.pairs, "q") else {
                return Err(SfError::bad("MALFORMED_QUERY", "A query string has to be specified"));
            };
            run_query(org_state, ctx, q, "tooling/query", soql::Scope { tooling: true, include_deleted: false })
        }
        ["tooling", "query", locator] => {
            ctx.only("GET,HEAD")?;
            next_page(org_state, ctx.version, locator)
        }
        ["tooling", "sobjects", rest @ ..] => {
            let mut inner = vec!["sobjects"];
            inner.extend_from_slice(rest);
            let tooling = Ctx { tooling: true, ..*ctx };
            let resp = route(org_state, &tooling, &inner)?;
            Ok(tooling_urls(resp, ctx.version))
        }
        ["sobjects"] => {
            ctx.only("GET,HEAD")?;
            Ok(SimResponse::json(200, describe::global(&org_state.org, ctx.version)))
        }
        ["sobjects", type_name] => {
            let object = dml::object_def(&org_state.org, type_name)?;
            match ctx.method {
                "GET" => Ok(SimResponse::json(
                    200,
                    json!({"objectDescribe": describe::global_entry(&object, ctx.version), "recentItems": []}),
                )),
                "POST" if object.createable => {
                    let body = parse_object_body(ctx.body, &object.name)?;
                    let raw = String::from_utf8_lossy(ctx.body);
                    let id = dml::insert(org_state, &object.name, &body, Some(&raw))?;
                    Ok(SimResponse::json(201, json!({"id": id, "success": true, "errors": []})).with_header(
                        "Location",
                        format!("/services/data/v{}/sobjects/{}/{id}", ctx.version, object.name),
                    ))
                }
                _ => Err(SfError::method_not_allowed(
                    ctx.method,
                    if object.createable { "HEAD,GET,POST" } else { "HEAD,GET" },
                )),
            }
        }
        ["sobjects", type_name, "describe"] => {
            ctx.only("GET,HEAD")?;
            let object = dml::object_def(&org_state.org, type_name)?;
            Ok(SimResponse::json(200, describe::object(org_state, &object, ctx.version, ctx.tooling)))
        }
        ["sobjects", type_name, id] => row(org_state, ctx, type_name, id),
        ["sobjects", type_name, id, "password"] => password::resource(org_state, ctx, type_name, id),
        ["composite"] => {
            ctx.only("POST")?;
            composite::composite(org_state, ctx, dispatch)
        }
        ["composite", "batch"] => {
            ctx.only("POST")?;
            composite::batch(org_state, ctx, dispatch)
        }
        ["composite", "sobjects"] => composite::collections(org_state, ctx, None),
        ["composite", "sobjects", type_name] => composite::collections(org_state, ctx, Some(type_name)),
        _ => Err(SfError::not_found()),
    }
}

fn limits(org_state: &OrgState) -> Value {
    let (used, max) = org_state.api_usage;
    let pair = |max: u64, remaining: u64| json!({"Max": max, "Remaining": remaining});
    json!({
        "ConcurrentAsyncGetReportInstances": pair(200, 200),
        "DailyApiRequests": pair(max, max.saturating_sub(used)),
        "DailyAsyncApexExecutions": pair(250_000, 250_000),
        "DailyBulkApiBatches": pair(15_000, 15_000),
        "DataStorageMB": pair(5, 5),
        "FileStorageMB": pair(20, 20),
        "SingleEmail": pair(5_000, 5_000),
    })
}

fn tooling_resource_map(version: &str) -> Value {
    let base = format!("/services/data/v{version}/tooling");
    json!({
        "query": format!("{base}/query"),
        "sobjects": format!("{base}/sobjects"),
        "search": format!("{base}/search"),
        "executeAnonymous": format!("{base}/executeAnonymous"),
        "completions": format!("{base}/completions"),
        "runTestsAsynchronous": format!("{base}/runTestsAsynchronous"),
        "runTestsSynchronous": format!("{base}/runTestsSynchronous"),
    })
}

/// Rewrites `/services/data/vXX.X/sobjects/…` URLs (records' `attributes.url`,
/// describe URLs, `Location`) to their Tooling API form.
fn tooling_urls(mut resp: SimResponse, version: &str) -> SimResponse {
    let from = format!("/services/data/v{version}/sobjects/");
    let to = format!("/services/data/v{version}/tooling/sobjects/");
    fn walk(v: &mut Value, from: &str, to: &str) {
        match v {
            Value::String(s) if s.contains(from) => *s = s.replace(from, to),
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, from, to)),
            Value::Object(map) => map.values_mut().for_each(|i| walk(i, from, to)),
            _ => {}
        }
    }
    if let Some(body) = resp.body.as_mut() {
        walk(body, &from, &to);
    }
    for (_, value) in resp.headers.iter_mut() {
        *value = value.replace(&from, &to);
    }
    resp
}

fn resource_map(version: &str) -> Value {
    let base = format!("/services/data/v{version}");
    json!({
        "tooling": format!("{base}/tooling"),
        "metadata": format!("{base}/metadata"),
        "composite": format!("{base}/composite"),
        "query": format!("{base}/query"),
        "queryAll": format!("{base}/queryAll"),
        "sobjects": format!("{base}/sobjects"),
        "limits": format!("{base}/limits"),
        "recent": format!("{base}/recent"),
        "search": format!("{base}/search"),
        "identity": "/services/oauth2/userinfo",
    })
}

fn row(org_state: &mut OrgState, ctx: &Ctx<'_>, type_name: &str, raw_id: &str) -> Result<SimResponse, SfError> {
    let object = dml::object_def(&org_state.org, type_name)?;
    let mut allowed = vec!["HEAD", "GET"];
    if object.updateable {
        allowed.push("PATCH");
    }
    if object.deletable {
        allowed.push("DELETE");
    }
    if !allowed.contains(&ctx.method) {
        return Err(SfError::method_not_allowed(ctx.method, &allowed.join(",")));
    }
    let id = resolve_row_id(org_state, &object.name, raw_id)?;
    match ctx.method {
        "GET" => {
            let fields = util::query_param(ctx.pairs, "fields")
                .map(|f| f.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>());
            let record = record_json_in(org_state, &id, fields.as_deref(), ctx.version, ctx.tooling)?;
            Ok(SimResponse::json(200, record))
        }
        "PATCH" => {
            let body = parse_object_body(ctx.body, &object.name)?;
            let raw = String::from_utf8_lossy(ctx.body);
            dml::update(org_state, &object.name, &id, &body, Some(&raw))?;
            Ok(SimResponse::no_content())
        }
        _ => {
            dml::delete(org_state, Some(&object.name), &id)?;
            Ok(SimResponse::no_content())
        }
    }
}

fn batch_size(headers: &[(String, String)]) -> usize {
    header(headers, "Sforce-Query-Options")
        .and_then(|h| {
            h.split(',').find_map(|part| {
                let (k, v) = part.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("batchSize")).then(|| v.trim().parse::<usize>().ok()).flatten()
            })
        })
        .map(|n| n.clamp(200, 2000))
        .unwrap_or(2000)
}

fn run_query(
    org_state: &mut OrgState,
    ctx: &Ctx<'_>,
    q: &str,
    resource: &str,
    scope: soql::Scope,
) -> Result<SimResponse, SfError> {
    let parsed = soql::parse(q).map_err(|e| soql_error(&e))?;
    if util::query_param(ctx.pairs, "columns").is_some_and(|c| c.eq_ignore_ascii_case("true")) {
        let columns = soql::columns_in(&org_state.org, &parsed, scope).map_err(|e| soql_error(&e))?;
        return Ok(SimResponse::json(200, columns));
    }
    let output = soql::execute_in(&org_state.org, &parsed, ctx.version, scope).map_err(|e| soql_error(&e))?;
    let mut records = output.records;
    if scope.tooling {
        records = records
            .into_iter()
            .map(|r| with_profile_metadata(org_state, r))
            .map(|r| tooling_urls(SimResponse::json(200, r), ctx.version).body.unwrap_or(Value::Null))
            .collect();
    }
    let batch = batch_size(ctx.headers);
    let cursor = Cursor { resource: resource.to_string(), total_size: output.total_size, records, batch };
    Ok(SimResponse::json(200, page(org_state, ctx.version, None, cursor, 0)))
}

/// Fills a Tooling Profile row's `Metadata` from the profile metadata the Metadata API
/// reads and writes, so both APIs show the same record type settings. Every field of
/// each entry is present, as JSON of a Metadata type lists them all.
fn with_profile_metadata(org_state: &OrgState, mut record: Value) -> Value {
    let is_profile = record.pointer("/attributes/type").and_then(Value::as_str) == Some("Profile");
    // The row's id is in its `attributes.url` even when Id is not selected.
    let id = record
        .pointer("/attributes/url")
        .and_then(Value::as_str)
        .and_then(|u| u.rsplit('/').next())
        .map(str::to_string);
    if let (true, Some(slot), Some(id)) = (is_profile, record.get_mut("Metadata"), id) {
        let entries: Vec<Value> = org_state
            .meta
            .get(&id)
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        json!({
                            "default": e.default,
                            "personAccountDefault": e.person_account_default,
                            "recordType": e.record_type,
                            "visible": e.visible,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        *slot = json!({"custom": false, "recordTypeVisibilities": entries});
    }
    record
}

fn soql_error(e: &soql::SoqlError) -> SfError {
    let code: &'static str = e.error_code();
    SfError::bad(code, e.message())
}

/// Builds one page of a result; stores the cursor when more pages follow.
fn page(org_state: &mut OrgState, version: &str, locator: Option<&str>, cursor: Cursor, offset: usize) -> Value {
    let end = (offset + cursor.batch).min(cursor.records.len());
    let records: Vec<Value> = cursor.records.get(offset..end).map(<[Value]>::to_vec).unwrap_or_default();
    let done = end >= cursor.records.len();
    let mut out = Map::new();
    out.insert("totalSize".into(), json!(cursor.total_size));
    out.insert("done".into(), json!(done));
    if !done {
        let locator = match locator {
            Some(l) => l.to_string(),
            None => {
                org_state.next_cursor += 1;
                let id = make_id("01g", org_state.next_cursor);
                org_state.cursors.insert(id.clone(), cursor.clone());
                while org_state.cursors.len() > 200 {
                    org_state.cursors.shift_remove_index(0);
                }
                id
            }
        };
        out.insert(
            "nextRecordsUrl".into(),
            json!(format!("/services/data/v{version}/{}/{locator}-{end}", cursor.resource)),
        );
    }
    out.insert("records".into(), Value::Array(records));
    Value::Object(out)
}

fn next_page(org_state: &mut OrgState, version: &str, locator: &str) -> Result<SimResponse, SfError> {
    let invalid = || SfError::bad("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (id, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let cursor = org_state.cursors.get(id).cloned().ok_or_else(invalid)?;
    if offset > cursor.records.len() {
        return Err(invalid());
    }
    Ok(SimResponse::json(200, page(org_state, version, Some(id), cursor, offset)))
}
