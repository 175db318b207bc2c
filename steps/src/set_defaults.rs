//! `set_defaults`: the default record type, on the sync user's profile, of each object
//! that has several active record types — so that records StoreConnect creates from
//! the website get the right one.

use indexmap::IndexMap;
use runner_core::client::RecordTypeVisibility;
use runner_core::report::Change;
use runner_core::run::soql_quote;
use runner_core::step::{
    BoxFuture, Observed, ParamDoc, ParamType, Read, Step, StepCtx, StepFailure, StepMeta, StepOutput, Write,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::common::{INTEGRATION_LICENSE, INTEGRATION_PROFILES, path_field, soql_list, str_field, user_read};

pub struct SetDefaults;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    user: Option<String>,
    profile: Option<String>,
    defaults: Option<IndexMap<String, String>>,
    objects: Option<Vec<String>>,
}

const DEFAULT_OBJECTS: [&str; 3] = ["Account", "Contact", "Order"];

static META: StepMeta = StepMeta {
    name: "set_defaults",
    summary: "Set the profile's default record types for objects with several record types",
    description: "Reads the active record types and the profile's record type settings (Metadata API \
readMetadata), and writes only the defaults that differ (updateMetadata, which overlays the profile). An object \
with several active record types and no default given is an error that lists the choices; objects with one record \
type need nothing. The profile is the user's, or `profile`, or the Salesforce Integration licence's.",
    params: &[
        ParamDoc {
            name: "user",
            ty: ParamType::String,
            required: false,
            default: None,
            doc: "Username whose profile is set",
        },
        ParamDoc {
            name: "profile",
            ty: ParamType::String,
            required: false,
            default: Some("the user's profile"),
            doc: "Profile name, instead of the user's",
        },
        ParamDoc {
            name: "defaults",
            ty: ParamType::Map,
            required: false,
            default: None,
            doc: "Object → record type DeveloperName or label, e.g. #{ Account: \"Business_Account\" }",
        },
        ParamDoc {
            name: "objects",
            ty: ParamType::StringList,
            required: false,
            default: Some("[\"Account\", \"Contact\", \"Order\"]"),
            doc: "Objects to look at",
        },
    ],
};

impl Step for SetDefaults {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        let mut reads = Vec::new();
        if let Some(user) = &params.user {
            reads.push(user_read(user));
        }
        reads.push(Read::new(
            "profiles",
            format!("SELECT Id, Name FROM Profile WHERE UserLicense.Name = {}", soql_quote(INTEGRATION_LICENSE)),
        ));
        reads.push(Read::new(
            "record_types",
            format!(
                "SELECT Id, Name, DeveloperName, SobjectType FROM RecordType WHERE SobjectType IN {} AND IsActive = true \
                 ORDER BY SobjectType, DeveloperName",
                soql_list(objects(params).iter().map(String::as_str))
            ),
        ));
        Ok(reads)
    }

    fn apply<'a>(
        &'a self,
        params: Params,
        observed: Observed,
        ctx: &'a mut StepCtx,
    ) -> BoxFuture<'a, Result<StepOutput, StepFailure>> {
        Box::pin(async move {
            let profile = profile_name(&params, &observed, ctx)?;
            let wanted = wanted_defaults(&params, &observed)?;
            if wanted.is_empty() {
                return Ok(StepOutput::new(format!(
                    "no object has several active record types; {profile} needs no defaults"
                ))
                .with("profile", profile));
            }
            let current = ctx.client().read_profile_record_types(&profile).await?;
            let mut visibilities = Vec::new();
            let mut changes = Vec::new();
            for (object, record_type) in &wanted {
                let full = format!("{object}.{record_type}");
                let before = current
                    .iter()
                    .find(|v| v.default && v.record_type.split_once('.').map(|(o, _)| o) == Some(object.as_str()))
                    .map(|v| v.record_type.clone());
                if before.as_deref() == Some(full.as_str()) {
                    continue;
                }
                changes.push(Change::new(
                    format!("Profile {profile}"),
                    Some(&format!("{object} default record type")),
                    before.map(Value::from).unwrap_or(Value::from("none")),
                    full.clone(),
                ));
                visibilities.push(RecordTypeVisibility {
                    record_type: full,
                    default: true,
                    visible: true,
                    person_account_default: None,
                });
            }
            let summary_of = |list: &IndexMap<String, String>| {
                list.iter().map(|(o, rt)| format!("{o}={rt}")).collect::<Vec<_>>().join(", ")
            };
            if visibilities.is_empty() {
                return Ok(StepOutput::new(format!("{profile} already defaults to {}", summary_of(&wanted)))
                    .with("profile", profile));
            }
            let count = visibilities.len();
            ctx.write(Write::ProfileRecordTypes { profile: profile.clone(), visibilities, changes }).await?;
            let verb = if ctx.check_mode() { "would set" } else { "set" };
            Ok(StepOutput::new(format!("{verb} {count} default record type(s) on {profile}: {}", summary_of(&wanted)))
                .with("profile", profile))
        })
    }
}

fn objects(params: &Params) -> Vec<String> {
    params.objects.clone().unwrap_or_else(|| DEFAULT_OBJECTS.iter().map(|o| o.to_string()).collect())
}

fn profile_name(params: &Params, observed: &Observed, ctx: &StepCtx) -> Result<String, StepFailure> {
    if let Some(profile) = &params.profile {
        return Ok(profile.clone());
    }
    if let Some(user) = observed.first("user")
        && let Some(name) = path_field(user, "Profile", "Name")
    {
        return Ok(name.to_string());
    }
    let planned_user = params.user.as_ref().is_some_and(|u| ctx.check_mode() && ctx.is_planned("User", u));
    if params.user.is_some() && !planned_user {
        let user = params.user.as_deref().unwrap_or_default();
        return Err(StepFailure::new(
            "runner::step::user_not_found",
            format!("set_defaults: there is no user {user} in this org"),
        )
        .hint("create it first with create_user, or pass `profile: \"…\"`"));
    }
    // The integration profile, as create_user chooses it.
    let profiles = observed.rows("profiles");
    INTEGRATION_PROFILES
        .iter()
        .find_map(|wanted| profiles.iter().find(|p| str_field(p, "Name") == Some(wanted)))
        .or(profiles.first())
        .and_then(|p| str_field(p, "Name"))
        .map(str::to_string)
        .ok_or_else(|| {
            StepFailure::new(
                "runner::set_defaults::no_profile",
                "set_defaults: no profile given and no Salesforce Integration profile found",
            )
            .hint("pass `user: \"…\"` or `profile: \"…\"`")
        })
}

/// Object → record type DeveloperName, for each object with several active record types.
fn wanted_defaults(params: &Params, observed: &Observed) -> Result<IndexMap<String, String>, StepFailure> {
    let mut by_object: IndexMap<String, Vec<&Map<String, Value>>> = IndexMap::new();
    for rt in observed.rows("record_types") {
        by_object.entry(str_field(rt, "SobjectType").unwrap_or_default().to_string()).or_default().push(rt);
    }
    let given = params.defaults.clone().unwrap_or_default();
    for object in given.keys() {
        if !objects(params).iter().any(|o| o.eq_ignore_ascii_case(object)) && params.objects.is_some() {
            return Err(StepFailure::new(
                "runner::set_defaults::unknown_object",
                format!("set_defaults: a default is given for {object}, which is not in `objects`"),
            ));
        }
    }
    let mut wanted = IndexMap::new();
    for object in objects(params) {
        let types = by_object.get(&object).map(Vec::as_slice).unwrap_or(&[]);
        let choices = || {
            types
                .iter()
                .map(|rt| {
                    format!(
                        "{} ({})",
                        str_field(rt, "DeveloperName").unwrap_or_default(),
                        str_field(rt, "Name").unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let asked = given.iter().find(|(o, _)| o.eq_ignore_ascii_case(&object)).map(|(_, rt)| rt.as_str());
        if types.len() < 2 {
            if let Some(asked) = asked
                && !types.iter().any(|rt| matches_record_type(rt, asked))
            {
                return Err(unknown_record_type(&object, asked, &choices()));
            }
            continue;
        }
        let Some(asked) = asked else {
            return Err(StepFailure::new(
                "runner::set_defaults::default_needed",
                format!(
                    "set_defaults: {object} has {} active record types and no default was given; choose one of: {}",
                    types.len(),
                    choices()
                ),
            )
            .hint(format!(
                "add it to `defaults`, e.g. defaults: #{{ {object}: \"{}\" }}",
                str_field(types[0], "DeveloperName").unwrap_or_default()
            )));
        };
        let Some(rt) = types.iter().find(|rt| matches_record_type(rt, asked)) else {
            return Err(unknown_record_type(&object, asked, &choices()));
        };
        wanted.insert(object.clone(), str_field(rt, "DeveloperName").unwrap_or_default().to_string());
    }
    Ok(wanted)
}

fn matches_record_type(rt: &Map<String, Value>, asked: &str) -> bool {
    str_field(rt, "DeveloperName") == Some(asked) || str_field(rt, "Name") == Some(asked)
}

fn unknown_record_type(object: &str, asked: &str, choices: &str) -> StepFailure {
    StepFailure::new(
        "runner::set_defaults::unknown_record_type",
        format!("set_defaults: {object} has no active record type {asked:?}; choose one of: {choices}"),
    )
}
