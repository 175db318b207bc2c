//! The step against a simulated org seeded with a permission set group, through runner-cli's test harness.

use std::path::Path;

use runner_cli::testing::{TestOrg, failure_code, outcome_of};

const USER: &str = "acme.sync@client.example";
const GROUP: &str = "StoreConnect_Sync_Group";

fn seed() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/permission-set-groups.json"))
}

fn assign(group: &str) -> String {
    format!(r#"assign_permission_set_group(#{{ user: "{USER}", group: "{group}" }});"#)
}

fn create_user() -> String {
    format!(r#"create_user(#{{ username: "{USER}", email: "ops@client.example" }});"#)
}

async fn group_assignments(org: &TestOrg) -> usize {
    org.count(&format!(
        "SELECT Id FROM PermissionSetAssignment WHERE Assignee.Username = '{USER}' AND PermissionSetGroup.DeveloperName = '{GROUP}'"
    ))
    .await
}

#[tokio::test]
async fn assigns_the_group_once_and_a_second_run_writes_nothing() {
    let org = TestOrg::seeded(&[seed()]).await;
    let steps = partner_step::registry();
    let first = org.play_text(&steps, &format!("{}\n{}", create_user(), assign(GROUP)), &[]).await;
    assert_eq!(failure_code(&first), None, "{:#?}", first.error);
    assert_eq!(outcome_of(&first, "assign_permission_set_group"), "changed");
    assert_eq!(group_assignments(&org).await, 1);

    let written = org.writes().len();
    assert!(written >= 2, "the first run created the user and the assignment: {:#?}", org.writes());
    let again = org.play_text(&steps, &assign(GROUP), &[]).await;
    assert_eq!(failure_code(&again), None, "{:#?}", again.error);
    assert_eq!(outcome_of(&again, "assign_permission_set_group"), "ok");
    assert_eq!(org.writes().len(), written, "the second run sent no write: {:#?}", org.writes());
    assert_eq!(group_assignments(&org).await, 1);
}

#[tokio::test]
async fn check_mode_writes_nothing_and_says_what_would_change() {
    let org = TestOrg::seeded(&[seed()]).await;
    let steps = partner_step::registry();
    let made = org.play_text(&steps, &create_user(), &[]).await;
    assert_eq!(failure_code(&made), None, "{:#?}", made.error);
    let written = org.writes().len();

    let checked = org.check_text(&steps, &assign("StoreConnect Sync Group"), &[]).await;
    assert_eq!(failure_code(&checked), None, "{:#?}", checked.error);
    assert_eq!(outcome_of(&checked, "assign_permission_set_group"), "changed");
    assert_eq!(org.writes().len(), written, "check mode sent no write");
    assert_eq!(group_assignments(&org).await, 0);
}

#[tokio::test]
async fn check_mode_takes_a_user_an_earlier_step_would_create() {
    let org = TestOrg::seeded(&[seed()]).await;
    let checked =
        org.check_text(&partner_step::registry(), &format!("{}\n{}", create_user(), assign(GROUP)), &[]).await;
    assert_eq!(failure_code(&checked), None, "{:#?}", checked.error);
    assert_eq!(outcome_of(&checked, "assign_permission_set_group"), "changed");
    assert!(org.writes().is_empty());
}

#[tokio::test]
async fn a_missing_group_stops_the_run_before_its_first_write() {
    let org = TestOrg::seeded(&[seed()]).await;
    let report = org.play_text(&partner_step::registry(), &format!("{}\n{}", create_user(), assign("Nope")), &[]).await;
    assert_eq!(failure_code(&report), Some("acme::assign_permission_set_group::no_group"));
    // Planning found it from the reads: not even the user was created.
    assert!(org.writes().is_empty(), "{:#?}", org.writes());
    assert_eq!(org.count(&format!("SELECT Id FROM User WHERE Username = '{USER}'")).await, 0);
}

#[tokio::test]
async fn an_org_without_permission_set_groups_is_named() {
    let org = TestOrg::start().await;
    let report = org.play_text(&partner_step::registry(), &format!("{}\n{}", create_user(), assign(GROUP)), &[]).await;
    assert_eq!(failure_code(&report), Some("acme::assign_permission_set_group::unsupported"), "{:#?}", report.error);
    assert!(org.writes().is_empty());
}
