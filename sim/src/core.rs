//! The org behind the HTTP server, and the one REST dispatcher every request goes
//! through: top-level requests, composite subrequests and batch subrequests alike.

use indexmap::IndexMap;
use serde_json::{Map, Value, json};

use crate::dml::{self, MixedDml};
use crate::error::SfError;
use crate::model::{Org, make_id, normalize_id};
use crate::{composite, describe, password, soql, util};

/// One `recordTypeVisibilities` entry of a profile's metadata (ProfileRecordTypeVisibility,
/// salesforce-api.md D.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordTypeVisibility {
    /// `<SObject>.<DeveloperName>`.
    pub record_type: String,
    pub visible: bool,
    pub default: bool,
    /// The person-account default (Account, with Person Accounts on).
    pub person_account_default: bool,
}

/// Profile metadata the Metadata API can read and update, by profile id.
pub type ProfileMeta = IndexMap<String, Vec<RecordTypeVisibility>>;

/// A query cursor: the rest of a result, served page by page.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// `query`, `queryAll` or `tooling/query`: where the next pages are.
    pub resource: String,
    pub total_size: usize,
    pub records: Vec<Value>,
    pub batch: usize,
}

/// Everything a REST request can read or change.
#[derive(Debug, Clone)]
pub struct Core {
    pub org: Org,
    pub org_id: String,
    /// The running user: owner of the token.
    pub admin_id: String,
    pub meta: ProfileMeta,
    /// `(version, label)`, oldest first; the last one is the latest.
    pub versions: Vec<(String, String)>,
    pub cursors: IndexMap<String, Cursor>,
    pub next_cursor: u64,
    /// Set while a transaction that forbids mixed DML is open.
    pub mixed: Option<MixedDml>,
    pub instance_url: String,
    /// Daily API requests (used, max), as the HTTP layer counts them.
    pub api_usage: (u64, u64),
}

/// A REST request, top-level or composite.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path_and_query: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// What the dispatcher answers: status, extra headers and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct SimResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl SimResponse {
    pub fn json(status: u16, body: Value) -> Self {
        SimResponse { status, headers: Vec::new(), body: Some(body) }
    }
    pub fn no_content() -> Self {
        SimResponse { status: 204, headers: Vec::new(), body: None }
    }
    pub fn error(err: &SfError) -> Self {
        SimResponse::json(err.status, err.rest_body())
    }
    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_string(), value));
        self
    }
}

impl From<SfError> for SimResponse {
    fn from(err: SfError) -> Self {
        SimResponse::error(&err)
    }
}

/// Season label of an API version: 62.0 is Winter '25.
pub fn version_label(version: &str) -> String {
    let major: i64 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(62);
    let k = major - 62;
    let season = ["Winter", "Spring", "Summer"][k.rem_euclid(3) as usize];
    let year = 25 + k.div_euclid(3);
    format!("{season} '{year:02}")
}

/// The oldest API version a Salesforce org still serves.
pub const OLDEST_VERSION: i64 = 31;

/// The versions the simulator serves, from 31.0, ending with `latest`.
pub fn versions_up_to(latest: &str) -> Vec<(String, String)> {
    let major: i64 = latest.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(62);
    // Salesforce retired versions 21.0–30.0 in Summer '25: every org lists 31.0 onwards,
    // and clients ask for old ones (the sf CLI reads the user with v51.0).
    let mut out: Vec<(String, String)> = (OLDEST_VERSION.min(major)..major)
        .map(|m| format!("{m}.0"))
        .map(|v| {
            let label = version_label(&v);
            (v, label)
        })
        .collect();
    out.push((latest.to_string(), version_label(latest)));
    out
}

impl Core {
    pub fn latest(&self) -> &str {
        self.versions.last().map(|(v, _)| v.as_str()).unwrap_or("62.0")
    }

    /// The `/services/data/` version list.
    pub fn version_list(&self) -> Value {
        Value::Array(
            self.versions
                .iter()
                .map(|(v, label)| json!({"label": label, "url": format!("/services/data/v{v}"), "version": v}))
                .collect(),
        )
    }

    /// The running user's profile's metadata entries.
    pub fn admin_record_type_settings(&self) -> &[RecordTypeVisibility] {
        self.org
            .get(&self.admin_id)
            .and_then(|(_, u)| u.get("ProfileId")?.as_str())
            .and_then(|profile| self.meta.get(profile))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The record type the admin's profile defaults to for `object`.
    pub fn default_record_type_for_admin(&self, object: &str) -> Option<String> {
        let entries = self.admin_record_type_settings();
        let prefix = format!("{object}.");
        let dev_name = entries.iter().find(|e| e.default && e.record_type.starts_with(&prefix))?.record_type
            [prefix.len()..]
            .to_string();
        self.org
            .records("RecordType")
            .find(|r| {
                r.get("SobjectType").and_then(Value::as_str) == Some(object)
                    && r.get("DeveloperName").and_then(Value::as_str) == Some(dev_name.as_str())
            })
            .and_then(|r| r.get("Id")?.as_str().map(str::to_string))
    }
}

/// Splits a path into decoded segments, dropping empty ones (trailing slashes).
fn segments(path: &str) -> Vec<String> {
    path.split('/').filter(|s| !s.is_empty()).map(|s| util::percent_decode(s, false)).collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// Parses a JSON body, answering Salesforce's JSON_PARSER_ERROR when it isn't JSON.
pub fn parse_json(body: &[u8]) -> Result<Value, SfError> {
    serde_json::from_slice::<Value>(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        let ch = text
            .lines()
            .nth(e.line().saturating_sub(1))
            .and_then(|l| l.chars().nth(e.column().saturating_sub(1)));
        let message = match (e.classify(), ch) {
            (serde_json::error::Category::Eof, _) | (_, None) => format!(
                "Unexpected end-of-input: expected close marker for OBJECT at [line:{}, column:{}]",
                e.line(),
                e.column()
            ),
            (_, Some(c)) => format!(
                "Unexpected character ('{c}' (code {})): was expecting double-quote to start field name at [line:{}, column:{}]",
                c as u32,
                e.line(),
                e.column()
            ),
        };
        SfError::json_parser(message)
    })
}

fn parse_object_body(body: &[u8], type_name: &str) -> Result<Map<String, Value>, SfError> {
    match parse_json(body)? {
        Value::Object(map) => Ok(map),
        other => Err(SfError::json_parser(format!(
            "Cannot deserialize instance of {type_name} from {} value [line:1, column:1]",
            if other.is_array() { "START_ARRAY" } else { "VALUE_STRING" }
        ))),
    }
}

/// The one REST dispatcher.
pub fn dispatch(core: &mut Core, req: Request<'_>) -> SimResponse {
    let (path, query) = req.path_and_query.split_once('?').unwrap_or((req.path_and_query, ""));
    let pairs = util::parse_query(query);
    let segs = segments(path);
    if segs.len() < 2 || segs[0] != "services" || segs[1] != "data" {
        return SfError::not_found().into();
    }
    let Some(version_seg) = segs.get(2) else {
        return SimResponse::json(200, core.version_list());
    };
    let version = if version_seg == "latest" {
        core.latest().to_string()
    } else {
        match version_seg.strip_prefix('v') {
            Some(v) if core.versions.iter().any(|(known, _)| known == v) => v.to_string(),
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
    let result = route(core, &ctx, &rest);
    match result {
        Ok(resp) => resp,
        Err(err) => err.into(),
    }
}

/// What a handler needs of the request.
pub struct Ctx<'a> {
    pub version: &'a str,
    pub method: &'a str,
    pub pairs: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
    /// Under `/tooling/`: Tooling-only fields show in describes and records.
    pub tooling: bool,
}

impl Ctx<'_> {
    fn only(&self, allowed: &str) -> Result<(), SfError> {
        if allowed.split(',').any(|m| m == self.method || (m == "HEAD" && self.method == "GET")) {
            Ok(())
        } else {
            Err(SfError::method_not_allowed(self.method, allowed))
        }
    }
}

fn route(core: &mut Core, ctx: &Ctx<'_>, rest: &[&str]) -> Result<SimResponse, SfError> {
    match rest {
        [] => {
            ctx.only("GET,HEAD")?;
            Ok(SimResponse::json(200, resource_map(ctx.version)))
        }
        ["limits"] => {
            ctx.only("GET,HEAD")?;
            Ok(SimResponse::json(200, limits(core)))
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
            run_query(core, ctx, q, "query", scope)
        }
        ["query" | "queryAll", locator] => {
            ctx.only("GET,HEAD")?;
            next_page(core, ctx.version, locator)
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
            run_query(core, ctx, q, "tooling/query", soql::Scope { tooling: true, include_deleted: false })
        }
        ["tooling", "query", locator] => {
            ctx.only("GET,HEAD")?;
            next_page(core, ctx.version, locator)
        }
        ["tooling", "sobjects", rest @ ..] => {
            let mut inner = vec!["sobjects"];
            inner.extend_from_slice(rest);
            let tooling = Ctx { tooling: true, ..*ctx };
            let resp = route(core, &tooling, &inner)?;
            Ok(tooling_urls(resp, ctx.version))
        }
        ["sobjects"] => {
            ctx.only("GET,HEAD")?;
            Ok(SimResponse::json(200, describe::global(&core.org, ctx.version)))
        }
        ["sobjects", type_name] => {
            let object = dml::object_def(&core.org, type_name)?;
            match ctx.method {
                "GET" => Ok(SimResponse::json(
                    200,
                    json!({"objectDescribe": describe::global_entry(&object, ctx.version), "recentItems": []}),
                )),
                "POST" if object.createable => {
                    let body = parse_object_body(ctx.body, &object.name)?;
                    let raw = String::from_utf8_lossy(ctx.body);
                    let id = dml::insert(core, &object.name, &body, Some(&raw))?;
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
            let object = dml::object_def(&core.org, type_name)?;
            Ok(SimResponse::json(200, describe::object(core, &object, ctx.version, ctx.tooling)))
        }
        ["sobjects", type_name, id] => row(core, ctx, type_name, id),
        ["sobjects", type_name, id, "password"] => password::resource(core, ctx, type_name, id),
        ["composite"] => {
            ctx.only("POST")?;
            composite::composite(core, ctx)
        }
        ["composite", "batch"] => {
            ctx.only("POST")?;
            composite::batch(core, ctx)
        }
        ["composite", "sobjects"] => composite::collections(core, ctx, None),
        ["composite", "sobjects", type_name] => composite::collections(core, ctx, Some(type_name)),
        _ => Err(SfError::not_found()),
    }
}

fn limits(core: &Core) -> Value {
    let (used, max) = core.api_usage;
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

/// Resolves an id from a URL for `object`: 404 when it isn't id-shaped, 400 when it
/// is of another type, 404 when no such record exists.
pub fn resolve_row_id(core: &Core, object_name: &str, raw: &str) -> Result<String, SfError> {
    let object = core.org.schema.object(object_name).ok_or_else(SfError::not_found)?;
    let shaped = (raw.len() == 15 || raw.len() == 18) && raw.bytes().all(|b| b.is_ascii_alphanumeric());
    if !shaped {
        return Err(SfError::new(
            404,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {raw}"),
        ));
    }
    let Some(id) = normalize_id(raw) else {
        return Err(SfError::bad("MALFORMED_ID", format!("{} ID: id value of incorrect type: {raw}", object.label)));
    };
    if id[..3] != object.key_prefix {
        return Err(SfError::bad("MALFORMED_ID", format!("{} ID: id value of incorrect type: {raw}", object.label)));
    }
    if core.org.is_deleted_id(&id) {
        // A deleted record's row answers 404 ENTITY_IS_DELETED to GET, PATCH and a
        // second DELETE (errorcodes page: "ENTITY_IS_DELETED … deleted record").
        return Err(SfError::new(404, "ENTITY_IS_DELETED", "entity is deleted"));
    }
    if core.org.get(&id).is_none() {
        return Err(SfError::not_found());
    }
    Ok(id)
}

fn row(core: &mut Core, ctx: &Ctx<'_>, type_name: &str, raw_id: &str) -> Result<SimResponse, SfError> {
    let object = dml::object_def(&core.org, type_name)?;
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
    let id = resolve_row_id(core, &object.name, raw_id)?;
    match ctx.method {
        "GET" => {
            let fields = util::query_param(ctx.pairs, "fields")
                .map(|f| f.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>());
            let record = record_json_in(core, &id, fields.as_deref(), ctx.version, ctx.tooling)?;
            Ok(SimResponse::json(200, record))
        }
        "PATCH" => {
            let body = parse_object_body(ctx.body, &object.name)?;
            let raw = String::from_utf8_lossy(ctx.body);
            dml::update(core, &object.name, &id, &body, Some(&raw))?;
            Ok(SimResponse::no_content())
        }
        _ => {
            dml::delete(core, Some(&object.name), &id)?;
            Ok(SimResponse::no_content())
        }
    }
}

/// A record as the REST API shows it: `attributes`, then fields in canonical order
/// (or the requested ones, then `Id`).
pub fn record_json(core: &Core, id: &str, fields: Option<&[String]>, version: &str) -> Result<Value, SfError> {
    record_json_in(core, id, fields, version, false)
}

/// [`record_json`], under `/tooling/` when `tooling`.
pub fn record_json_in(
    core: &Core,
    id: &str,
    fields: Option<&[String]>,
    version: &str,
    tooling: bool,
) -> Result<Value, SfError> {
    let (object, record) = core.org.get(id).ok_or_else(SfError::not_found)?;
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        json!({"type": object.name, "url": format!("/services/data/v{version}/sobjects/{}/{id}", object.name)}),
    );
    match fields {
        None => {
            // Tooling-only fields (`Profile.FullName`) are not part of the REST record.
            for field in object.fields.iter().filter(|f| tooling || !f.tooling_only) {
                let value = if field.write_only {
                    Value::Null
                } else {
                    record.get(&field.name).cloned().unwrap_or(Value::Null)
                };
                out.insert(field.name.clone(), value);
            }
        }
        Some(names) => {
            for name in names {
                let field = object.field(name).filter(|f| tooling || !f.tooling_only).ok_or_else(|| {
                    SfError::bad(
                        "INVALID_FIELD",
                        format!(
                            "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                            object.name
                        ),
                    )
                })?;
                let value = if field.write_only {
                    Value::Null
                } else {
                    record.get(&field.name).cloned().unwrap_or(Value::Null)
                };
                out.insert(field.name.clone(), value);
            }
            if !out.contains_key("Id") {
                out.insert("Id".into(), Value::String(id.to_string()));
            }
        }
    }
    Ok(Value::Object(out))
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
    core: &mut Core,
    ctx: &Ctx<'_>,
    q: &str,
    resource: &str,
    scope: soql::Scope,
) -> Result<SimResponse, SfError> {
    let parsed = soql::parse(q).map_err(|e| soql_error(&e))?;
    if util::query_param(ctx.pairs, "columns").is_some_and(|c| c.eq_ignore_ascii_case("true")) {
        let columns = soql::columns_in(&core.org, &parsed, scope).map_err(|e| soql_error(&e))?;
        return Ok(SimResponse::json(200, columns));
    }
    let output = soql::execute_in(&core.org, &parsed, ctx.version, scope).map_err(|e| soql_error(&e))?;
    let mut records = output.records;
    if scope.tooling {
        records = records
            .into_iter()
            .map(|r| with_profile_metadata(core, r))
            .map(|r| tooling_urls(SimResponse::json(200, r), ctx.version).body.unwrap_or(Value::Null))
            .collect();
    }
    let batch = batch_size(ctx.headers);
    let cursor = Cursor { resource: resource.to_string(), total_size: output.total_size, records, batch };
    Ok(SimResponse::json(200, page(core, ctx.version, None, cursor, 0)))
}

/// Fills a Tooling Profile row's `Metadata` from the profile metadata the Metadata API
/// reads and writes, so both APIs show the same record type settings. Every field of
/// each entry is present, as JSON of a Metadata type lists them all.
fn with_profile_metadata(core: &Core, mut record: Value) -> Value {
    let is_profile = record.pointer("/attributes/type").and_then(Value::as_str) == Some("Profile");
    // The row's id is in its `attributes.url` even when Id is not selected.
    let id = record
        .pointer("/attributes/url")
        .and_then(Value::as_str)
        .and_then(|u| u.rsplit('/').next())
        .map(str::to_string);
    if let (true, Some(slot), Some(id)) = (is_profile, record.get_mut("Metadata"), id) {
        let entries: Vec<Value> = core
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
fn page(core: &mut Core, version: &str, locator: Option<&str>, cursor: Cursor, offset: usize) -> Value {
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
                core.next_cursor += 1;
                let id = make_id("01g", core.next_cursor);
                core.cursors.insert(id.clone(), cursor.clone());
                while core.cursors.len() > 200 {
                    core.cursors.shift_remove_index(0);
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

fn next_page(core: &mut Core, version: &str, locator: &str) -> Result<SimResponse, SfError> {
    let invalid = || SfError::bad("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (id, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let cursor = core.cursors.get(id).cloned().ok_or_else(invalid)?;
    if offset > cursor.records.len() {
        return Err(invalid());
    }
    Ok(SimResponse::json(200, page(core, version, Some(id), cursor, offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_labels() {
        assert_eq!(version_label("62.0"), "Winter '25");
        assert_eq!(version_label("60.0"), "Spring '24");
        assert_eq!(version_label("61.0"), "Summer '24");
        assert_eq!(version_label("31.0"), "Summer '14");
        assert_eq!(version_label("67.0"), "Summer '26");
        let list = versions_up_to("62.0");
        assert_eq!(list.last().map(|(v, _)| v.as_str()), Some("62.0"));
        assert!(list.len() > 3);
    }
}
