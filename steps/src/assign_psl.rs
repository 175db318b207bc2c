//! `assign_psl`: the permission set licence, by default "Salesforce API Integration".
//! It must come before any permission set that needs it.

use runner_core::step::prelude::*;

use crate::common::{API_INTEGRATION_PSL, UserState, assignee_id, require_user, reread_after_ambiguous, user_read};

pub struct AssignPsl;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Username of the user.
    user: String,
    /// The licence's DeveloperName or label.
    #[schemars(extend("default" = API_INTEGRATION_PSL))]
    license: Option<String>,
}

static META: StepMeta = StepMeta {
    name: "assign_psl",
    summary: "Assign a permission set licence (default: Salesforce API Integration) to the user",
    description: "Finds the licence by DeveloperName or label, checks a seat is free, and assigns it. Already \
assigned is ok. Assign it before the permission sets: Salesforce refuses permission sets that need it otherwise.",
};

impl Step for AssignPsl {
    type Params = Params;

    fn meta(&self) -> &'static StepMeta {
        &META
    }

    fn observe(&self, params: &Params, _ctx: &StepCtx) -> Result<Vec<Read>, StepFailure> {
        let license = soql_quote(params.license.as_deref().unwrap_or(API_INTEGRATION_PSL));
        Ok(vec![
            user_read(&params.user),
            Read::new(
                "license",
                format!(
                    "SELECT Id, DeveloperName, MasterLabel, TotalLicenses, UsedLicenses FROM PermissionSetLicense \
                     WHERE DeveloperName = {license} OR MasterLabel = {license}"
                ),
            ),
            assigned_read(&params.user),
        ])
    }

    async fn apply(&self, params: Params, observed: Observed, ctx: &mut StepCtx) -> Result<StepOutput, StepFailure> {
        let wanted = params.license.as_deref().unwrap_or(API_INTEGRATION_PSL);
        let Some(license) = observed.first("license")? else {
            return Err(StepFailure::new(
                "runner::assign_psl::no_license",
                format!("assign_psl: this org has no permission set licence {wanted:?}"),
            )
            .hint("check Setup → Company Information → Permission Set Licenses; the Salesforce API Integration licence comes with the Salesforce Integration user licence"));
        };
        let license_id = str_field(license, "Id").unwrap_or_default().to_string();
        let label = str_field(license, "MasterLabel").unwrap_or(wanted).to_string();
        let user = require_user("assign_psl", &observed, ctx, &params.user)?;
        let already =
            observed.rows("assigned")?.iter().any(|a| str_field(a, "PermissionSetLicenseId") == Some(&license_id));
        if already {
            return Ok(output(format!("{} already has {label}", params.user), &license_id, &label));
        }
        let (total, used) = (int_field(license, "TotalLicenses"), int_field(license, "UsedLicenses"));
        if used >= total {
            return Err(StepFailure::new(
                "runner::assign_psl::no_free_seats",
                format!("assign_psl: no free seat on the {label} permission set licence: {used} of {total} used"),
            )
            .hint("remove the licence from a user who no longer needs it, or buy more seats"));
        }
        let change =
            Change::new(format!("User {}", params.user), Some("permission set licence"), "absent", label.clone());
        let user_id = assignee_id(&user, ctx, &params.user);
        let mut fields = Map::new();
        fields.insert("AssigneeId".into(), json!(user_id));
        fields.insert("PermissionSetLicenseId".into(), json!(license_id));
        if let UserState::Planned = user {
            // The planned write, which the run may send ahead with the user's create.
            ctx.write(Write::Create { sobject: "PermissionSetLicenseAssign".into(), fields, change }).await?;
            ctx.plan(Planned::PermissionSetLicense { username: params.user.clone(), license_id: license_id.clone() });
            return Ok(output(format!("would assign {label} to {}", params.user), &license_id, &label));
        }
        let assigned = observed.rows("assigned")?.to_vec();
        match ctx
            .write(Write::Create { sobject: "PermissionSetLicenseAssign".into(), fields, change: change.clone() })
            .await
        {
            Ok(written) => {
                // What `assigned` reads now: what it read, and the assignment just made
                // (assign_permission_sets checks the licence with the same read).
                if let Some(id) = written.id() {
                    let mut rows = assigned;
                    rows.push(
                        json!({"attributes": {"type": "PermissionSetLicenseAssign"}, "Id": id, "PermissionSetLicenseId": license_id})
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                    );
                    ctx.wrote_answer(&assigned_read(&params.user), rows);
                }
            }
            // Assigned by someone else in the meantime, or applied before a dropped
            // connection: read again rather than guess.
            Err(failure) if failure.ambiguous || failure.error_code() == Some("DUPLICATE_VALUE") => {
                let soql = format!(
                    "SELECT Id FROM PermissionSetLicenseAssign WHERE AssigneeId = {} AND PermissionSetLicenseId = {}",
                    soql_quote(&user_id),
                    soql_quote(&license_id)
                );
                if reread_after_ambiguous(ctx, &soql).await?.is_none() {
                    return Err(failure);
                }
                if failure.ambiguous {
                    ctx.note_change(change);
                }
            }
            Err(failure) => return Err(failure),
        }
        if ctx.check_mode() {
            ctx.plan(Planned::PermissionSetLicense { username: params.user.clone(), license_id: license_id.clone() });
            return Ok(output(format!("would assign {label} to {}", params.user), &license_id, &label));
        }
        Ok(output(format!("assigned {label} to {}", params.user), &license_id, &label))
    }
}

fn output(summary: String, license_id: &str, label: &str) -> StepOutput {
    StepOutput::new(summary).with("license_id", license_id.to_string()).with("license", label.to_string())
}

/// The user's licence assignments, under the name `assigned`.
fn assigned_read(user: &str) -> Read {
    Read::new(
        "assigned",
        format!(
            "SELECT Id, PermissionSetLicenseId FROM PermissionSetLicenseAssign WHERE Assignee.Username = {}",
            soql_quote(user)
        ),
    )
}
