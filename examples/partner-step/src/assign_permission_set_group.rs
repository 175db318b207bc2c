//! `assign_permission_set_group`: a permission set group, by DeveloperName or label, assigned to a user.
//!
//! Written as a partner writes a step: one import, `Params` documenting themselves, `observe` declaring every
//! read, `apply` checking everything it can before its one write.

use runner_core::step::prelude::*;

pub struct AssignPermissionSetGroup;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Username of the user.
    user: String,
    /// The group's DeveloperName or label.
    group: String,
}

static META: StepMeta = StepMeta {
    name: "assign_permission_set_group",
    summary: "Assign a permission set group to the user",
    description: "Finds the group by DeveloperName or label and assigns it to the user. Already assigned is ok. \
A group whose permissions Salesforce is still recalculating is assigned, with a warning.",
};

impl Step for AssignPermissionSetGroup {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        let (user, group) = (soql_quote(&params.user), soql_quote(&params.group));
        Ok(vec![
            Read::new("user", format!("SELECT Id FROM User WHERE Username = {user}")),
            // An org without permission set groups answers INVALID_TYPE: the step says so instead.
            Read::new(
                "group",
                format!(
                    "SELECT Id, DeveloperName, MasterLabel, Status FROM PermissionSetGroup \
                     WHERE DeveloperName = {group} OR MasterLabel = {group}"
                ),
            )
            .may_fail(),
            Read::new(
                "assigned",
                format!(
                    "SELECT Id, PermissionSetGroupId FROM PermissionSetAssignment \
                     WHERE Assignee.Username = {user} AND PermissionSetGroupId != null"
                ),
            )
            .may_fail(),
        ])
    }

    async fn apply(&self, params: Params, observed: Observed, ctx: &mut StepCtx) -> Result<StepOutput, StepFailure> {
        // Everything the reads can refuse is refused here, before the write: planning then reports it before
        // the run's first write, with the other steps' problems.
        if observed.failure("group")?.and_then(StepFailure::error_code) == Some("INVALID_TYPE") {
            return Err(StepFailure::new(
                "acme::assign_permission_set_group::unsupported",
                "assign_permission_set_group: this org has no permission set groups",
            )
            .hint("permission set groups need Enterprise edition or above; assign the permission sets instead"));
        }
        for read in ["group", "assigned"] {
            if let Some(failure) = observed.failure(read)? {
                return Err(failure.clone());
            }
        }
        let Some(group) = observed.first("group")? else {
            return Err(StepFailure::new(
                "acme::assign_permission_set_group::no_group",
                format!("assign_permission_set_group: this org has no permission set group {:?}", params.group),
            )
            .hint("Setup → Permission Set Groups lists them; give the DeveloperName or the label"));
        };
        let group_id = str_field(group, "Id").unwrap_or_default().to_string();
        let label = str_field(group, "MasterLabel").unwrap_or(&params.group).to_string();
        let user_id = match observed.first("user")? {
            Some(user) => Some(str_field(user, "Id").unwrap_or_default().to_string()),
            // In check mode, a user an earlier step would create is not an error.
            None if ctx.check_mode() && ctx.is_planned(&Planned::user(&params.user)) => None,
            None => {
                return Err(StepFailure::new(
                    "runner::step::user_not_found",
                    format!("assign_permission_set_group: there is no user {} in this org", params.user),
                )
                .hint("create it first (setup.rhai), or check the username"));
            }
        };
        let assigned = observed
            .rows("assigned")?
            .iter()
            .any(|row| str_field(row, "PermissionSetGroupId").is_some_and(|id| same_id(id, &group_id)));
        if assigned {
            return Ok(StepOutput::new(format!("{} already has {label}", params.user)).with("group_id", group_id));
        }
        let warning = (str_field(group, "Status") != Some("Updated"))
            .then(|| format!("Salesforce is still recalculating {label}'s permissions: they apply once it is done"));
        let change =
            Change::new(format!("User {}", params.user), Some("permission set group"), "absent", label.clone());
        let summary = match user_id {
            Some(user_id) => {
                let mut fields = Map::new();
                fields.insert("AssigneeId".into(), json!(user_id));
                fields.insert("PermissionSetGroupId".into(), json!(group_id));
                let create = Write::Create { sobject: "PermissionSetAssignment".into(), fields, change };
                match ctx.write(create).await {
                    Ok(Written::Done { .. }) => format!("assigned {label} to {}", params.user),
                    Ok(Written::Planned) => format!("would assign {label} to {}", params.user),
                    // Assigned by someone else since the read: what the step wanted holds.
                    Err(failure) if failure.error_code() == Some("DUPLICATE_VALUE") => {
                        format!("{} already has {label}", params.user)
                    }
                    // A dropped connection or a timeout: the create may have been applied. Read again, never guess.
                    Err(failure) if failure.ambiguous => {
                        let soql = format!(
                            "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} AND PermissionSetGroupId = {}",
                            soql_quote(&user_id),
                            soql_quote(&group_id)
                        );
                        if ctx.query(&soql).await?.records.is_empty() {
                            return Err(failure);
                        }
                        format!("assigned {label} to {}", params.user)
                    }
                    Err(failure) => return Err(failure),
                }
            }
            None => {
                ctx.note_change(change);
                format!("would assign {label} to {}", params.user)
            }
        };
        Ok(StepOutput::new(summary).with("group_id", group_id).with_warnings(warning))
    }
}
