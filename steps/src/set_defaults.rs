//! `set_defaults`: the default record type, on the sync user's profile, of each object
//! that has several active record types, so that records StoreConnect creates from
//! the website get the right one.
//!
//! Three things real orgs teach (real-org-review.md section 6):
//! - the Metadata `fullName` of a profile is not its `Name`, which Salesforce translates
//!   for admins who work in another language: the step takes the full name listMetadata
//!   gives the profile's Id (read ahead), or asks Tooling for `FullName` by Id;
//! - whether `updateMetadata` overlays a profile's record type visibilities or replaces
//!   an object's block whole is not documented for CRUD calls: the step sends, for each
//!   object it changes, the whole merged block (every current visibility unchanged, the
//!   old default with `default=false`, the new one `default=true, visible=true`), which
//!   is right under both readings. CumulusCI's `update_admin_profile` does the same
//!   (`cumulusci/tasks/salesforce/update_profile.py`, `_set_record_types`);
//! - record type names are the org's own: nothing is assumed, every name is checked
//!   against the org before anything is written.

use indexmap::IndexMap;
use runner_core::step::prelude::*;

use crate::common::{INTEGRATION_LICENSE, INTEGRATION_PROFILES, user_read};

pub struct SetDefaults;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Username whose profile is set.
    user: Option<String>,
    /// Profile name (as Setup shows it), instead of the user's.
    #[schemars(extend("x-default" = "the user's profile"))]
    profile: Option<String>,
    /// Object → record type DeveloperName or label, e.g. #{ Account: "Retail" }.
    defaults: Option<IndexMap<String, String>>,
    /// With Person Accounts: Account → the person record type that is the
    /// person-account default.
    person_defaults: Option<IndexMap<String, String>>,
    /// Objects that must have a default when they have several record types.
    #[schemars(extend("default" = DEFAULT_OBJECTS))]
    objects: Option<Vec<String>>,
}

const DEFAULT_OBJECTS: [&str; 3] = ["Account", "Contact", "Order"];

/// Objects that commonly carry record types: the candidates for "did you mean" when a
/// default names an object the org does not have.
const RECORD_TYPE_OBJECTS: [&str; 12] = [
    "Account",
    "Contact",
    "Order",
    "Opportunity",
    "Lead",
    "Case",
    "Campaign",
    "Contract",
    "Product2",
    "Asset",
    "Quote",
    "WorkOrder",
];

static META: StepMeta = StepMeta {
    name: "set_defaults",
    summary: "Set the profile's default record types for objects with several record types",
    description: "Reads the active record types and the profile's record type settings (Metadata API \
readMetadata, the profile's fullName from Tooling), and writes each object whose default differs as one whole \
block (updateMetadata): every visibility as it was, the old default cleared, the new one visible and default. \
Before anything is written, every object with several active record types and no default given is reported with \
its DeveloperNames; a default for an object with fewer than two is a warning; a default for an object the org \
does not have is an error. The profile is the user's, or `profile`, or the Salesforce Integration licence's.",
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
        reads.push(match &params.profile {
            Some(name) => {
                Read::new("profiles", format!("SELECT Id, Name FROM Profile WHERE Name = {}", soql_quote(name)))
            }
            None => Read::new(
                "profiles",
                format!("SELECT Id, Name FROM Profile WHERE UserLicense.Name = {}", soql_quote(INTEGRATION_LICENSE)),
            ),
        });
        let objects = considered_objects(params);
        let listed = soql_list(objects.iter().map(String::as_str));
        reads.push(Read::new(
            "record_types",
            format!(
                "SELECT Id, Name, DeveloperName, SobjectType, IsActive, IsPersonType FROM RecordType \
                 WHERE SobjectType IN {listed} AND IsActive = true ORDER BY SobjectType, DeveloperName"
            ),
        ));
        // Which of the objects exist: a typo in a default must not pass for "no record types".
        reads.push(
            Read::new(
                "objects",
                format!("SELECT QualifiedApiName FROM EntityDefinition WHERE QualifiedApiName IN {listed}"),
            )
            .may_fail(),
        );
        reads.extend(profile_guesses(params));
        Ok(reads)
    }

    async fn apply(&self, params: Params, observed: Observed, ctx: &mut StepCtx) -> Result<StepOutput, StepFailure> {
        let plan = wanted_defaults(&params, &observed)?;
        let profile_id = profile_id(&params, &observed, ctx)?;
        if plan.defaults.is_empty() && plan.person_defaults.is_empty() {
            return Ok(StepOutput::new("no object has several active record types; the profile needs no defaults")
                .with_warnings(plan.warnings));
        }
        let full_name = full_name(ctx, &profile_id).await?;
        let current = ctx.profile_record_types(&full_name).await?;
        let mut visibilities = Vec::new();
        let mut changes = Vec::new();
        let objects: Vec<&String> = plan.defaults.keys().chain(plan.person_defaults.keys()).collect();
        let mut done: Vec<&String> = Vec::new();
        for object in objects {
            if done.contains(&object) {
                continue;
            }
            done.push(object);
            let wanted = plan.defaults.get(object).map(|rt| format!("{object}.{rt}"));
            let wanted_person = plan.person_defaults.get(object).map(|rt| format!("{object}.{rt}"));
            let (block, object_changes) =
                merged_block(&full_name, object, &current, wanted.as_deref(), wanted_person.as_deref());
            if !object_changes.is_empty() {
                visibilities.extend(block);
                changes.extend(object_changes);
            }
        }
        let asked = describe(&plan);
        if visibilities.is_empty() {
            return Ok(StepOutput::new(format!("{full_name} already defaults to {asked}"))
                .with("profile", full_name)
                .with_warnings(plan.warnings));
        }
        let count = changes.len();
        ctx.write(Write::ProfileRecordTypes { profile: full_name.clone(), visibilities, changes }).await?;
        let verb = if ctx.check_mode() { "would set" } else { "set" };
        Ok(StepOutput::new(format!("{verb} {count} default record type(s) on {full_name}: {asked}"))
            .with("profile", full_name)
            .with_warnings(plan.warnings))
    }
}

/// The objects whose record types are read: those the step must look at, and any a
/// default is given for.
fn considered_objects(params: &Params) -> Vec<String> {
    let mut objects: Vec<String> =
        params.objects.clone().unwrap_or_else(|| DEFAULT_OBJECTS.iter().map(|o| o.to_string()).collect());
    let given = params.defaults.iter().chain(params.person_defaults.iter()).flat_map(|m| m.keys());
    for object in given {
        if !objects.iter().any(|o| o.eq_ignore_ascii_case(object)) {
            objects.push(object.clone());
        }
    }
    objects
}

/// What the step will set: object → DeveloperName, and what to tell the consultant.
#[derive(Debug, Default)]
struct Wanted {
    defaults: IndexMap<String, String>,
    person_defaults: IndexMap<String, String>,
    warnings: Vec<String>,
}

/// Checks every default against the org's record types and reports every problem at
/// once, so that the consultant fixes them in one go.
fn wanted_defaults(params: &Params, observed: &Observed) -> Result<Wanted, StepFailure> {
    let mut by_object: IndexMap<String, Vec<&Map<String, Value>>> = IndexMap::new();
    for rt in observed.rows("record_types")? {
        by_object.entry(str_field(rt, "SobjectType").unwrap_or_default().to_string()).or_default().push(rt);
    }
    let existing: Option<Vec<&str>> = match observed.failure("objects")? {
        Some(_) => None,
        None => Some(observed.rows("objects")?.iter().filter_map(|o| str_field(o, "QualifiedApiName")).collect()),
    };
    let required: Vec<String> =
        params.objects.clone().unwrap_or_else(|| DEFAULT_OBJECTS.iter().map(|o| o.to_string()).collect());
    let given = params.defaults.clone().unwrap_or_default();
    let given_person = params.person_defaults.clone().unwrap_or_default();
    let mut problems: Vec<StepFailure> = Vec::new();
    let mut wanted = Wanted::default();

    for object in considered_objects(params) {
        let types = by_object.iter().find(|(o, _)| o.eq_ignore_ascii_case(&object)).map(|(_, t)| t.as_slice());
        let types = types.unwrap_or(&[]);
        let canonical = types.first().and_then(|rt| str_field(rt, "SobjectType")).unwrap_or(&object).to_string();
        let known = match &existing {
            Some(names) => names.iter().any(|n| n.eq_ignore_ascii_case(&object)),
            None => !types.is_empty() || required.iter().any(|o| o.eq_ignore_ascii_case(&object)),
        };
        let asked = given.iter().find(|(o, _)| o.eq_ignore_ascii_case(&object)).map(|(_, rt)| rt.as_str());
        let asked_person =
            given_person.iter().find(|(o, _)| o.eq_ignore_ascii_case(&object)).map(|(_, rt)| rt.as_str());
        if !known {
            if asked.is_some() || asked_person.is_some() {
                problems.push(unknown_object(&object, &required));
            }
            continue;
        }
        let business: Vec<&Map<String, Value>> = types.iter().copied().filter(|rt| !is_person(rt)).collect();
        let person: Vec<&Map<String, Value>> = types.iter().copied().filter(|rt| is_person(rt)).collect();
        match (business.len(), asked) {
            (0 | 1, Some(asked)) => wanted.warnings.push(format!(
                "set_defaults: a default ({asked}) is given for {canonical}, which has {} active record type(s) and needs none; it is left as it is",
                business.len()
            )),
            (0 | 1, None) => {}
            (_, None) => problems.push(default_needed(&canonical, &business)),
            (_, Some(asked)) => match business.iter().find(|rt| matches_record_type(rt, asked)) {
                Some(rt) => {
                    wanted.defaults.insert(canonical.clone(), str_field(rt, "DeveloperName").unwrap_or_default().into());
                }
                None => problems.push(unknown_record_type(&canonical, asked, &business, person.iter().any(|rt| matches_record_type(rt, asked)))),
            },
        }
        if let Some(asked) = asked_person {
            match person.iter().find(|rt| matches_record_type(rt, asked)) {
                Some(rt) => {
                    wanted
                        .person_defaults
                        .insert(canonical.clone(), str_field(rt, "DeveloperName").unwrap_or_default().into());
                }
                None if person.is_empty() => wanted.warnings.push(format!(
                    "set_defaults: a person-account default ({asked}) is given for {canonical}, which has no active person record type; it is left as it is"
                )),
                None => problems.push(unknown_record_type(&canonical, asked, &person, false)),
            }
        }
    }
    match problems.len() {
        0 => Ok(wanted),
        1 => Err(problems.remove(0)),
        count => {
            let first = problems.remove(0);
            let mut message = format!("set_defaults: {count} problems with the record-type defaults:");
            let mut hints: Vec<String> = first.hint.iter().cloned().collect();
            for problem in std::iter::once(&first).chain(problems.iter()) {
                message.push_str("\n  - ");
                message.push_str(problem.message.trim_start_matches("set_defaults: "));
            }
            hints.extend(problems.into_iter().filter_map(|p| p.hint));
            Err(StepFailure { message, hint: Some(hints.join("\n")), ..first })
        }
    }
}

fn is_person(rt: &Map<String, Value>) -> bool {
    rt.get("IsPersonType").and_then(Value::as_bool).unwrap_or(false)
}

fn matches_record_type(rt: &Map<String, Value>, asked: &str) -> bool {
    str_field(rt, "DeveloperName") == Some(asked) || str_field(rt, "Name") == Some(asked)
}

fn choices(types: &[&Map<String, Value>]) -> String {
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
}

fn default_needed(object: &str, types: &[&Map<String, Value>]) -> StepFailure {
    let example = types.first().and_then(|rt| str_field(rt, "DeveloperName")).unwrap_or_default();
    StepFailure::new(
        "runner::set_defaults::default_needed",
        format!(
            "set_defaults: {object} has {} active record types and no default was given; choose one of: {} \
             (setup.rhai: --var default_{object}=<DeveloperName>)",
            types.len(),
            choices(types)
        ),
    )
    .hint(format!(
        "pass --var default_{object}=<DeveloperName> to setup.rhai (e.g. --var default_{object}={example}), or add it to the step's `defaults`"
    ))
}

fn unknown_record_type(object: &str, asked: &str, types: &[&Map<String, Value>], is_person_type: bool) -> StepFailure {
    let note = if is_person_type { " (it is a person-account record type: give it in `person_defaults`)" } else { "" };
    StepFailure::new(
        "runner::set_defaults::unknown_record_type",
        format!("set_defaults: {object} has no active record type {asked:?}{note}; choose one of: {}", choices(types)),
    )
    .hint(format!(
        "record types are named by DeveloperName or label, as Setup → Object Manager → {object} → Record Types shows"
    ))
}

fn unknown_object(object: &str, required: &[String]) -> StepFailure {
    let candidates = RECORD_TYPE_OBJECTS.iter().copied().chain(required.iter().map(String::as_str));
    let best = runner_core::suggest::closest(object, candidates);
    let suggestion = best.map(|b| format!("; did you mean {b}?")).unwrap_or_default();
    StepFailure::new(
        "runner::set_defaults::unknown_object",
        format!("set_defaults: a default is given for {object}, which this org does not have{suggestion}"),
    )
    .hint(match best {
        Some(best) => format!("use the object's API name: --var default_{best}=…"),
        None => "use the object's API name, as Setup → Object Manager shows it".to_string(),
    })
}

/// The Id of the profile to set: the user's, the named one, or the integration licence's.
fn profile_id(params: &Params, observed: &Observed, ctx: &StepCtx) -> Result<String, StepFailure> {
    if params.profile.is_none()
        && let Some(user) = observed.first("user")?
        && let Some(id) = str_field(user, "ProfileId")
    {
        return Ok(id.to_string());
    }
    let planned_user = params.user.as_ref().is_some_and(|u| ctx.check_mode() && ctx.is_planned(&Planned::user(u)));
    if let (Some(user), None, false) = (&params.user, &params.profile, planned_user) {
        return Err(StepFailure::new(
            "runner::step::user_not_found",
            format!("set_defaults: there is no user {user} in this org"),
        )
        .hint("create it first with create_user, or pass `profile: \"…\"`"));
    }
    let profiles = observed.rows("profiles")?;
    // The integration profile as create_user picks it; names are only a preference, as
    // they may be translated.
    let pick = match &params.profile {
        Some(_) => profiles.first(),
        None => INTEGRATION_PROFILES
            .iter()
            .find_map(|wanted| profiles.iter().find(|p| str_field(p, "Name") == Some(wanted)))
            .or(profiles.first()),
    };
    pick.and_then(|p| str_field(p, "Id")).map(str::to_string).ok_or_else(|| match &params.profile {
        Some(name) => StepFailure::new(
            "runner::set_defaults::no_profile",
            format!("set_defaults: there is no profile named {name:?}"),
        )
        .hint("give the profile's name as Setup → Profiles shows it, or `user: \"…\"`"),
        None => StepFailure::new(
            "runner::set_defaults::no_profile",
            "set_defaults: no profile given and no Salesforce Integration profile found",
        )
        .hint("pass `user: \"…\"` or `profile: \"…\"`"),
    })
}

/// Every profile's full name (`listMetadata`) and the record types of the profile the
/// step expects (`readMetadata`), read ahead beside the batch, so that a profile found by
/// the batch needs no more round trips: the named profile, or the integration profiles as
/// create_user picks them. Their names are taken as full names, which they are for these
/// profiles (salesforce-api.md D.3, unconfirmed): an answer is used only for the full name
/// `listMetadata` gives the profile's own Id, so a translated name or another profile
/// just misses, and the step reads by Id as before.
fn profile_guesses(params: &Params) -> Vec<Read> {
    let names: Vec<&str> = match &params.profile {
        Some(name) => vec![name.as_str()],
        None => INTEGRATION_PROFILES.to_vec(),
    };
    vec![Read::profile_metadata("profile_metadata", &names)]
}

/// The profile's Metadata `fullName`, from Tooling by Id (salesforce-api.md D.3): never
/// `Profile.Name`, which is translated for admins working in another language. The
/// read-ahead's `listMetadata` (see [`profile_guesses`]) spares the request.
async fn full_name(ctx: &StepCtx, profile_id: &str) -> Result<String, StepFailure> {
    if let Some(name) = ctx.profile_full_name(profile_id) {
        return Ok(name);
    }
    let read =
        Read::tooling("full_name", format!("SELECT Id, FullName FROM Profile WHERE Id = {}", soql_quote(profile_id)));
    let observed = ctx.read(vec![read]).await?;
    observed.first("full_name")?.and_then(|p| str_field(p, "FullName")).map(str::to_string).ok_or_else(|| {
        StepFailure::new(
            "runner::set_defaults::no_profile",
            format!("set_defaults: Tooling has no FullName for the profile {profile_id}"),
        )
        .hint("the running user needs View Setup and Configuration to read profiles through the Tooling API")
    })
}

/// The whole block of `object`'s visibilities with the wanted defaults: every current
/// entry as it is, the old default cleared, the new one default and visible.
fn merged_block(
    profile: &str,
    object: &str,
    current: &[RecordTypeVisibility],
    wanted: Option<&str>,
    wanted_person: Option<&str>,
) -> (Vec<RecordTypeVisibility>, Vec<Change>) {
    let of_object = |v: &&RecordTypeVisibility| v.record_type.split_once('.').map(|(o, _)| o) == Some(object);
    let mut block: Vec<RecordTypeVisibility> = current.iter().filter(of_object).cloned().collect();
    let mut changes = Vec::new();
    let target = format!("Profile {profile}");
    if let Some(wanted) = wanted {
        let before = block.iter().find(|v| v.default).map(|v| v.record_type.clone());
        let already = before.as_deref() == Some(wanted) && block.iter().any(|v| v.record_type == wanted && v.visible);
        if !already {
            changes.push(Change::new(
                target.clone(),
                Some(&format!("{object} default record type")),
                before.map(Value::from).unwrap_or(Value::from("none")),
                wanted,
            ));
            set_flag(&mut block, wanted, |v, on| v.default = on);
        }
    }
    if let Some(wanted) = wanted_person {
        let before = block.iter().find(|v| v.person_account_default == Some(true)).map(|v| v.record_type.clone());
        let already = before.as_deref() == Some(wanted) && block.iter().any(|v| v.record_type == wanted && v.visible);
        if !already {
            changes.push(Change::new(
                target,
                Some(&format!("{object} person-account default record type")),
                before.map(Value::from).unwrap_or(Value::from("none")),
                wanted,
            ));
            set_flag(&mut block, wanted, |v, on| v.person_account_default = Some(on));
        }
    }
    (block, changes)
}

/// Makes `wanted` the one entry with the flag (visible too), clearing it elsewhere.
fn set_flag(block: &mut Vec<RecordTypeVisibility>, wanted: &str, set: impl Fn(&mut RecordTypeVisibility, bool)) {
    if !block.iter().any(|v| v.record_type == wanted) {
        block.push(RecordTypeVisibility {
            record_type: wanted.to_string(),
            default: false,
            visible: true,
            person_account_default: None,
        });
    }
    for entry in block.iter_mut() {
        let is_wanted = entry.record_type == wanted;
        set(entry, is_wanted);
        if is_wanted {
            entry.visible = true;
        }
    }
}

fn describe(plan: &Wanted) -> String {
    let business = plan.defaults.iter().map(|(o, rt)| format!("{o}={rt}"));
    let person = plan.person_defaults.iter().map(|(o, rt)| format!("{o} person={rt}"));
    business.chain(person).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtv(record_type: &str, default: bool, visible: bool) -> RecordTypeVisibility {
        RecordTypeVisibility { record_type: record_type.into(), default, visible, person_account_default: None }
    }

    #[test]
    fn the_merged_block_keeps_every_visibility_and_moves_the_default() {
        let current = vec![
            rtv("Account.A", true, true),
            rtv("Account.B", false, true),
            rtv("Account.C", false, false),
            rtv("Contact.X", true, true),
        ];
        let (block, changes) = merged_block("P", "Account", &current, Some("Account.C"), None);
        assert_eq!(
            block,
            vec![rtv("Account.A", false, true), rtv("Account.B", false, true), rtv("Account.C", true, true)]
        );
        assert_eq!(changes.len(), 1);
        let (block, changes) = merged_block("P", "Account", &current, Some("Account.A"), None);
        assert!(changes.is_empty(), "{block:?}");
    }

    #[test]
    fn a_person_default_is_its_own_flag() {
        let mut person = rtv("Account.PersonAccount", false, true);
        person.person_account_default = Some(false);
        let current = vec![rtv("Account.A", true, true), person];
        let (block, changes) = merged_block("P", "Account", &current, None, Some("Account.PersonAccount"));
        assert_eq!(changes.len(), 1);
        assert_eq!(block.iter().filter(|v| v.person_account_default == Some(true)).count(), 1);
        assert_eq!(block.iter().filter(|v| v.default).count(), 1, "the business default stays");
    }
}
