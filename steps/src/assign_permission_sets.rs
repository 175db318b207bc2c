//! `assign_permission_sets`: the StoreConnect permission sets (or others, by API name
//! or label), in one write request.

use runner_core::step::prelude::*;

use crate::common::{
    API_INTEGRATION_PSL, INTEGRATION_LICENSE, STORECONNECT_NAMESPACE, STORECONNECT_PERMISSION_SETS, UserState,
    assignee_id, assignments_read, require_user, split_namespace, user_read,
};

pub struct AssignPermissionSets;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Username of the user.
    user: String,
    /// API names (namespace__Name) or labels.
    #[schemars(extend("default" = STORECONNECT_PERMISSION_SETS))]
    permission_sets: Option<Vec<String>>,
}

static META: StepMeta = StepMeta {
    name: "assign_permission_sets",
    summary: "Assign permission sets (default: the two StoreConnect sync sets) to the user",
    description: "Takes API names, namespaced where they belong to a package (s_c__storeConnect_Sync), or labels. \
Already assigned sets are ok; the missing ones are assigned together in one request. A set that needs a \
permission set licence the user lacks is refused before anything is written.",
};

impl Step for AssignPermissionSets {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        let wanted = wanted(params);
        let names: Vec<&str> = wanted.iter().map(|w| split_namespace(w).1).collect();
        let user = soql_quote(&params.user);
        Ok(vec![
            user_read(&params.user),
            Read::new(
                "sets",
                format!(
                    "SELECT Id, Name, Label, NamespacePrefix, LicenseId FROM PermissionSet \
                     WHERE IsOwnedByProfile = false AND (Name IN {} OR Label IN {})",
                    soql_list(names),
                    soql_list(wanted.iter().map(String::as_str))
                ),
            ),
            assignments_read(&params.user),
            Read::new(
                "licenses",
                format!(
                    "SELECT Id, PermissionSetLicenseId FROM PermissionSetLicenseAssign WHERE Assignee.Username = {user}"
                ),
            ),
            Read::new("psl_names", "SELECT Id, DeveloperName, MasterLabel FROM PermissionSetLicense"),
            Read::new(
                "package",
                format!(
                    "SELECT Id FROM PermissionSet WHERE NamespacePrefix = {} LIMIT 1",
                    soql_quote(STORECONNECT_NAMESPACE)
                ),
            ),
        ])
    }

    async fn apply(&self, params: Params, observed: Observed, ctx: &mut StepCtx) -> Result<StepOutput, StepFailure> {
        let sets = resolve(&wanted(&params), &observed)?;
        let user = require_user("assign_permission_sets", &observed, ctx, &params.user)?;
        let assigned: Vec<&str> =
            observed.rows("assigned")?.iter().filter_map(|a| str_field(a, "PermissionSetId")).collect();
        let held: Vec<&str> =
            observed.rows("licenses")?.iter().filter_map(|a| str_field(a, "PermissionSetLicenseId")).collect();
        let missing: Vec<&Map<String, Value>> =
            sets.iter().copied().filter(|s| !assigned.contains(&str_field(s, "Id").unwrap_or_default())).collect();
        let names = |list: &[&Map<String, Value>]| list.iter().map(|s| api_name(s)).collect::<Vec<_>>().join(", ");
        if missing.is_empty() {
            return Ok(StepOutput::new(format!("{} already has {}", params.user, names(&sets))));
        }
        // An integration user needs the API Integration PSL before any permission set
        // that grants object access, whatever the set's own licence says (the
        // documented order; real-org-review.md 4.4 and 5.2).
        let on_integration_licence = match &user {
            UserState::Found(found) => {
                found
                    .get("Profile")
                    .and_then(|p| p.get("UserLicense"))
                    .and_then(|l| l.get("Name"))
                    .and_then(Value::as_str)
                    == Some(INTEGRATION_LICENSE)
            }
            UserState::Planned => true,
        };
        let api_psl = observed
            .rows("psl_names")?
            .iter()
            .find(|p| str_field(p, "DeveloperName") == Some(API_INTEGRATION_PSL))
            .and_then(|p| str_field(p, "Id"));
        if on_integration_licence && let Some(api_psl) = api_psl {
            let planned = ctx.check_mode()
                && ctx.is_planned(&Planned::PermissionSetLicense {
                    username: params.user.clone(),
                    license_id: api_psl.to_string(),
                });
            if !held.contains(&api_psl) && !planned {
                return Err(StepFailure::new(
                    "runner::assign_permission_sets::license_missing",
                    format!(
                        "assign_permission_sets: {} is an integration user without the Salesforce API Integration \
                         permission set licence, which Salesforce requires before these permission sets ({})",
                        params.user,
                        names(&missing)
                    ),
                )
                .hint(format!(
                    "assign the permission set licence first: assign_psl(#{{ user: \"{}\" }}) comes before assign_permission_sets",
                    params.user
                )));
            }
        }
        // Salesforce refuses a set whose licence the user lacks; say which step to run.
        for set in &missing {
            let Some(license) = str_field(set, "LicenseId").filter(|id| id.starts_with("0PL")) else { continue };
            let planned = ctx.check_mode()
                && ctx.is_planned(&Planned::PermissionSetLicense {
                    username: params.user.clone(),
                    license_id: license.to_string(),
                });
            if !held.contains(&license) && !planned {
                let psl = observed
                    .rows("psl_names")?
                    .iter()
                    .find(|p| str_field(p, "Id") == Some(license))
                    .map(|p| {
                        format!(
                            "{} ({})",
                            str_field(p, "MasterLabel").unwrap_or_default(),
                            str_field(p, "DeveloperName").unwrap_or_default()
                        )
                    })
                    .unwrap_or_else(|| license.to_string());
                return Err(StepFailure::new(
                    "runner::assign_permission_sets::license_missing",
                    format!(
                        "assign_permission_sets: {} needs the permission set licence {psl}, which {} does not have",
                        api_name(set),
                        params.user
                    ),
                )
                .hint(format!(
                    "assign the permission set licence first: assign_psl(#{{ user: \"{}\" }}) comes before assign_permission_sets",
                    params.user
                )));
            }
        }
        let assignee = assignee_id(&user, ctx, &params.user);
        let writes: Vec<Write> = missing
            .iter()
            .map(|set| {
                let mut fields = Map::new();
                fields.insert("AssigneeId".into(), json!(assignee));
                fields.insert("PermissionSetId".into(), json!(str_field(set, "Id").unwrap_or_default()));
                let change =
                    Change::new(format!("User {}", params.user), Some("permission set"), "absent", api_name(set));
                Write::Create { sobject: "PermissionSetAssignment".into(), fields, change }
            })
            .collect();
        if let Err(failure) = ctx.write_all(writes).await {
            return Err(explain(failure, &params.user));
        }
        let verb = if ctx.check_mode() { "would assign" } else { "assigned" };
        Ok(StepOutput::new(format!("{verb} {} to {}", names(&missing), params.user)))
    }
}

fn wanted(params: &Params) -> Vec<String> {
    params
        .permission_sets
        .clone()
        .unwrap_or_else(|| STORECONNECT_PERMISSION_SETS.iter().map(|s| s.to_string()).collect())
}

fn api_name(set: &Map<String, Value>) -> String {
    let name = str_field(set, "Name").unwrap_or_default();
    match str_field(set, "NamespacePrefix").filter(|ns| !ns.is_empty()) {
        Some(ns) => format!("{ns}__{name}"),
        None => name.to_string(),
    }
}

/// Matches each wanted name to a permission set: namespaced API name, plain API name, then label.
fn resolve<'a>(wanted: &[String], observed: &'a Observed) -> Result<Vec<&'a Map<String, Value>>, StepFailure> {
    let sets = observed.rows("sets")?;
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in wanted {
        let (ns, bare) = split_namespace(name);
        let by_name = sets.iter().find(|s| {
            str_field(s, "Name") == Some(bare) && str_field(s, "NamespacePrefix").filter(|p| !p.is_empty()) == ns
        });
        let by_label = || sets.iter().find(|s| str_field(s, "Label") == Some(name.as_str()));
        match by_name.or_else(by_label) {
            Some(set) => found.push(set),
            None => missing.push(name.as_str()),
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let wants_package =
        missing.iter().any(|m| split_namespace(m).0 == Some(STORECONNECT_NAMESPACE) || m.contains("storeConnect"));
    if wants_package && observed.rows("package")?.is_empty() {
        return Err(StepFailure::new(
            "runner::assign_permission_sets::package_missing",
            format!(
                "assign_permission_sets: the StoreConnect package is not installed in this org (no {} permission sets)",
                missing.join(", ")
            ),
        )
        .hint("install the StoreConnect managed package (namespace s_c), then run again"));
    }
    Err(StepFailure::new(
        "runner::assign_permission_sets::not_found",
        format!("assign_permission_sets: no permission set named {}", missing.join(", ")),
    )
    .hint("give API names (namespace__Name, e.g. s_c__storeConnect_Sync) or labels as in Setup → Permission Sets"))
}

fn explain(failure: StepFailure, user: &str) -> StepFailure {
    if failure.error_code() != Some("FIELD_INTEGRITY_EXCEPTION") {
        return failure;
    }
    // Salesforce gives the same status code for two different remedies: the message
    // tells them apart (real-org-review.md 5.2).
    if failure.message.contains("doesn't match the license") {
        return StepFailure {
            code: "runner::assign_permission_sets::license_mismatch".into(),
            hint: Some(format!(
                "the permission set is tied to a user licence {user} does not have; an integration user can only hold \
                 sets with no licence or the Salesforce API Integration permission set licence"
            )),
            ..failure
        };
    }
    StepFailure {
        code: "runner::assign_permission_sets::license_missing".into(),
        hint: Some(format!(
            "assign the permission set licence to {user} first: run assign_psl before assign_permission_sets"
        )),
        ..failure
    }
}
