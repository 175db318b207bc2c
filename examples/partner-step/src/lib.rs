//! Acme's build of runner: runner's native steps plus [`AssignPermissionSetGroup`].
//!
//! `src/main.rs` turns this into the `acme-runner` binary; `tests/` prove the step against a simulated org
//! seeded with a permission set group.

mod assign_permission_set_group;

pub use assign_permission_set_group::AssignPermissionSetGroup;
use runner_core::step::Registry;

/// runner's steps, and Acme's.
pub fn registry() -> Registry {
    let mut registry = runner_steps::registry();
    registry.register(AssignPermissionSetGroup);
    registry
}

/// Acme's playbooks, beside runner's (`acme-runner playbooks`).
pub const PLAYBOOKS: &[(&str, &str)] = &[("acme/sync_group.rhai", include_str!("../playbooks/acme/sync_group.rhai"))];

/// The objects Acme's step works on, which runner's simulated org lacks: `acme-runner play --org sim` and
/// `acme-runner sim serve` get them.
pub const SIM_SEED: &str = include_str!("../seeds/permission-set-groups.json");
