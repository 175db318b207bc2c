//! The native StoreConnect steps, one file per step, in the order of the documented
//! procedure. A partner's own build of runner registers its steps beside these.

mod common;
mod kept;

pub mod assign_permission_sets;
pub mod assign_psl;
pub mod create_user;
pub mod set_defaults;
pub mod set_password;
pub mod swap_user;
pub mod verify;

use runner_core::step::Registry;

/// The Salesforce and StoreConnect names the steps use, for what reads an org the way they do
/// (`runner report`).
pub mod names {
    pub use crate::common::{
        API_INTEGRATION_PSL, INTEGRATION_LICENSE, SELECTED_SYNC_USER, SETUP_CONFIGURATION, SETUP_CONFIGURATION_VALUE,
        STORECONNECT_PERMISSION_SETS,
    };
}

/// Every native step this build of runner knows.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .register(create_user::CreateUser)
        .register(assign_psl::AssignPsl)
        .register(assign_permission_sets::AssignPermissionSets)
        .register(set_password::SetPassword)
        .register(verify::Verify)
        .register(set_defaults::SetDefaults)
        .register(swap_user::SwapUser);
    registry
}
