//! Profile metadata as real orgs hold it: record types discovered, not known; the
//! Metadata API's refusals; per-object replacement; personAccountDefault; fullName
//! versus translated Name; the Tooling API's FullName.

use runner_sim::{ADMIN_USERNAME, Scenario};
use serde_json::Value;

use crate::common::*;

/// The integration profile's fullName: its English label (salesforce-api.md D.3).
const INTEGRATION: &str = "Minimum Access - API Only Integrations";

/// A record type as SOQL shows it.
#[derive(Debug, Clone)]
struct Rt {
    name: String,
    active: bool,
    person: bool,
}

async fn record_types(sim: &Sim, object: &str) -> Vec<Rt> {
    sim.query(&format!(
        "SELECT DeveloperName, IsActive, IsPersonType FROM RecordType WHERE SobjectType = '{object}' ORDER BY DeveloperName"
    ))
    .await
    .iter()
    .map(|r| Rt {
        name: format!("{object}.{}", r["DeveloperName"].as_str().unwrap_or_default()),
        active: r["IsActive"] == true,
        person: r["IsPersonType"] == true,
    })
    .collect()
}

async fn read(sim: &Sim, full_name: &str) -> Vec<Visibility> {
    visibilities(&soap_call(sim, &read_profile(full_name)).await)
}

fn of(entries: &[Visibility], object: &str) -> Vec<Visibility> {
    entries.iter().filter(|v| v.object() == object).cloned().collect()
}

/// Sends `entries` for the integration profile; answers the errors (empty on success).
async fn update(sim: &Sim, full_name: &str, entries: &str) -> Vec<(String, String)> {
    let xml = soap_call(sim, &update_profile(full_name, entries)).await;
    let errors = metadata_errors(&xml);
    assert_eq!(xml.contains("<success>true</success>"), errors.is_empty(), "{xml}");
    errors
}

fn integrity(message: &str) -> Vec<(String, String)> {
    vec![("FIELD_INTEGRITY_EXCEPTION".to_string(), message.to_string())]
}

#[tokio::test]
async fn the_seed_has_record_types_no_playbook_can_know() {
    let sim = sim().await;
    let account = record_types(&sim, "Account").await;
    assert_eq!(account.iter().filter(|t| t.active).count(), 3, "{account:?}");
    assert_eq!(account.iter().filter(|t| !t.active).count(), 1, "{account:?}");
    assert_eq!(record_types(&sim, "Contact").await.len(), 2);
    assert_eq!(record_types(&sim, "Order").await.len(), 1);
    let shipped = ["Business_Account", "Wholesale_Account", "Customer", "Partner", "Online", "In_Store"];
    for rt in sim.query("SELECT DeveloperName FROM RecordType").await {
        assert!(!shipped.contains(&rt["DeveloperName"].as_str().unwrap_or_default()), "{rt}");
    }
    // The integration profile: one default per object, every active type visible, the
    // inactive one not.
    let entries = read(&sim, INTEGRATION).await;
    for rt in &account {
        let entry = entries.iter().find(|v| v.record_type == rt.name).cloned();
        assert_eq!(entry.map(|e| e.visible), Some(rt.active), "{}", rt.name);
    }
    for object in ["Account", "Contact", "Order"] {
        assert_eq!(of(&entries, object).iter().filter(|v| v.default).count(), 1, "{object}");
    }
    // Without Person Accounts there is no personAccountDefault element.
    assert!(entries.iter().all(|v| v.person_account_default.is_none()), "{entries:?}");

    let single = sim_scenario(Scenario::SingleRecordTypes).await;
    for object in ["Account", "Contact", "Order"] {
        assert_eq!(record_types(&single, object).await.len(), 1, "{object}");
    }
}

#[tokio::test]
async fn two_defaults_or_none_for_one_object_are_refused() {
    let sim = sim().await;
    let active: Vec<Rt> = record_types(&sim, "Account").await.into_iter().filter(|t| t.active).collect();
    let before = read(&sim, INTEGRATION).await;

    let two: String = active.iter().enumerate().map(|(i, t)| rtv_xml(&t.name, i < 2, true, None)).collect();
    assert_eq!(
        update(&sim, INTEGRATION, &two).await,
        integrity("More than 1 default record type specified for: Account")
    );
    let none: String = active.iter().map(|t| rtv_xml(&t.name, false, true, None)).collect();
    assert_eq!(
        update(&sim, INTEGRATION, &none).await,
        integrity("No default record type specified for recordTypeVisibility for Account")
    );
    // Nothing changed.
    assert_eq!(read(&sim, INTEGRATION).await, before);
}

#[tokio::test]
async fn unknown_inactive_and_hidden_defaults_are_refused() {
    let sim = sim().await;
    let account = record_types(&sim, "Account").await;
    let active = account.iter().find(|t| t.active).map(|t| t.name.clone()).unwrap_or_default();
    let inactive = account.iter().find(|t| !t.active).map(|t| t.name.clone()).unwrap_or_default();
    let before = read(&sim, INTEGRATION).await;

    let errors = update(&sim, INTEGRATION, &rtv_xml("Account.Not_In_This_Org", true, true, None)).await;
    assert_eq!(errors.first().map(|e| e.0.as_str()), Some("INVALID_CROSS_REFERENCE_KEY"), "{errors:?}");
    let errors = update(&sim, INTEGRATION, &rtv_xml(&inactive, false, true, None)).await;
    assert_eq!(errors.first().map(|e| e.0.as_str()), Some("FIELD_INTEGRITY_EXCEPTION"), "{errors:?}");
    assert!(errors[0].1.contains("inactive"), "{errors:?}");
    assert_eq!(
        update(&sim, INTEGRATION, &rtv_xml(&active, true, false, None)).await,
        integrity(&format!("The default record type {active} must be visible"))
    );
    assert_eq!(read(&sim, INTEGRATION).await, before);
}

#[tokio::test]
async fn an_update_replaces_the_block_of_each_object_it_names() {
    let sim = sim().await;
    let before = read(&sim, INTEGRATION).await;
    let account = of(&before, "Account");
    let visible: Vec<&Visibility> = account.iter().filter(|v| v.visible).collect();
    assert!(visible.len() >= 2, "{before:?}");
    let chosen = visible.iter().find(|v| !v.default).map(|v| v.record_type.clone()).unwrap_or_default();

    // Only one Account entry sent: the others become not visible and not default.
    assert_eq!(update(&sim, INTEGRATION, &rtv_xml(&chosen, true, true, None)).await, vec![]);
    let after = read(&sim, INTEGRATION).await;
    for v in of(&after, "Account") {
        let is_chosen = v.record_type == chosen;
        assert_eq!((v.default, v.visible), (is_chosen, is_chosen), "{v:?}");
    }
    assert_eq!(of(&after, "Account").len(), account.len(), "every record type keeps an entry");
    // Objects not mentioned keep their entries.
    for object in ["Contact", "Order"] {
        assert_eq!(of(&after, object), of(&before, object), "{object}");
    }

    // The whole merged block, with the default moved, restores every visibility.
    let merged: String = visible.iter().map(|v| rtv_xml(&v.record_type, v.record_type == chosen, true, None)).collect();
    assert_eq!(update(&sim, INTEGRATION, &merged).await, vec![]);
    let again = of(&read(&sim, INTEGRATION).await, "Account");
    for v in &again {
        let was = account.iter().find(|b| b.record_type == v.record_type).map(|b| b.visible);
        assert_eq!(Some(v.visible), was, "{v:?}");
        assert_eq!(v.default, v.record_type == chosen, "{v:?}");
    }
}

#[tokio::test]
async fn person_account_default_is_read_and_written_on_person_types() {
    let sim = sim_scenario(Scenario::PersonAccounts).await;
    let account = record_types(&sim, "Account").await;
    let person: Vec<&Rt> = account.iter().filter(|t| t.person).collect();
    let business: Vec<&Rt> = account.iter().filter(|t| !t.person && t.active).collect();
    assert_eq!(person.len(), 1, "{account:?}");
    assert!(person[0].name.ends_with(".PersonAccount"), "{account:?}");
    assert_eq!(business.len(), 2, "{account:?}");

    let entries = read(&sim, INTEGRATION).await;
    let acc = of(&entries, "Account");
    assert!(acc.iter().all(|v| v.person_account_default.is_some()), "{acc:?}");
    let person_defaults: Vec<&Visibility> = acc.iter().filter(|v| v.person_account_default == Some(true)).collect();
    assert_eq!(person_defaults.len(), 1);
    assert_eq!(person_defaults[0].record_type, person[0].name);
    assert!(of(&entries, "Contact").iter().all(|v| v.person_account_default.is_none()));
    let business_default = acc.iter().find(|v| v.default).map(|v| v.record_type.clone()).unwrap_or_default();
    assert!(business.iter().any(|t| t.name == business_default), "{acc:?}");

    let block = |default: &str, person_default: &str| -> String {
        account
            .iter()
            .filter(|t| t.active)
            .map(|t| rtv_xml(&t.name, t.name == default, true, Some(t.name == person_default)))
            .collect()
    };
    // personAccountDefault on a business type; default on the person type.
    let errors = update(&sim, INTEGRATION, &block(&business[0].name, &business[1].name)).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].1.contains("person account record type"), "{errors:?}");
    let errors = update(&sim, INTEGRATION, &block(&person[0].name, &person[0].name)).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].1.contains("personAccountDefault, not the default"), "{errors:?}");
    // Visible person type, no person default.
    let errors = update(&sim, INTEGRATION, &block(&business[0].name, "none")).await;
    assert_eq!(
        errors,
        integrity("No person account default record type specified for recordTypeVisibility for Account")
    );
    assert_eq!(read(&sim, INTEGRATION).await, entries);

    // A valid block: business default moved, person default kept.
    let other = business.iter().find(|t| t.name != business_default).map(|t| t.name.clone()).unwrap_or_default();
    assert_eq!(update(&sim, INTEGRATION, &block(&other, &person[0].name)).await, vec![]);
    let acc = of(&read(&sim, INTEGRATION).await, "Account");
    assert_eq!(acc.iter().filter(|v| v.default).map(|v| v.record_type.clone()).collect::<Vec<_>>(), [other]);
    assert_eq!(
        acc.iter()
            .filter(|v| v.person_account_default == Some(true))
            .map(|v| v.record_type.clone())
            .collect::<Vec<_>>(),
        [person[0].name.clone()]
    );
    // The Account describe knows the person type.
    let describe = sim.get("sobjects/Account/describe").await;
    let fields = describe.body["fields"].as_array().cloned().unwrap_or_default();
    assert!(fields.iter().any(|f| f["name"] == "IsPersonAccount"));
}

#[tokio::test]
async fn an_unknown_full_name_reads_empty_and_cannot_be_updated() {
    let sim = sim().await;
    let xml = soap_call(&sim, &read_profile("System Administrator")).await;
    assert!(xml.contains("<readMetadataResponse><result/></readMetadataResponse>"), "{xml}");
    assert!(!xml.contains("<records"), "{xml}");
    let errors = update(&sim, "System Administrator", "").await;
    assert_eq!(
        errors,
        vec![(
            "INVALID_CROSS_REFERENCE_KEY".to_string(),
            "In field: fullName - no Profile named System Administrator found".to_string()
        )]
    );
    // The short name is the one the Metadata API knows.
    let xml = soap_call(&sim, &read_profile("Admin")).await;
    assert!(xml.contains("<fullName>Admin</fullName>"), "{xml}");
}

async fn admin_profile_id(sim: &Sim) -> String {
    let user = sim.query(&format!("SELECT ProfileId FROM User WHERE Username = '{ADMIN_USERNAME}'")).await;
    user.first().and_then(|u| u["ProfileId"].as_str()).unwrap_or_default().to_string()
}

async fn integration_profile_id(sim: &Sim) -> String {
    let rows = sim.query("SELECT Id FROM Profile WHERE UserLicense.Name = 'Salesforce Integration'").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows[0]["Id"].as_str().unwrap_or_default().to_string()
}

async fn tooling(sim: &Sim, soql: &str) -> Reply {
    sim.get(&format!("tooling/query?q={}", encode(soql))).await
}

const ONE_ROW: &str = "When retrieving results with Metadata or FullName fields, the query qualifications must specify no more than one row for retrieval.";

#[tokio::test]
async fn tooling_full_name_is_one_row_at_a_time_and_tooling_only() {
    let sim = sim().await;
    let admin = admin_profile_id(&sim).await;
    let reply = tooling(&sim, &format!("SELECT Id, Name, FullName FROM Profile WHERE Id = '{admin}'")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["totalSize"], 1);
    let row = &reply.body["records"][0];
    assert_eq!((row["Name"].clone(), row["FullName"].clone()), ("System Administrator".into(), "Admin".into()));
    assert!(row["attributes"]["url"].as_str().is_some_and(|u| u.contains("/tooling/sobjects/Profile/")));

    let int = integration_profile_id(&sim).await;
    let reply = tooling(&sim, &format!("SELECT FullName FROM Profile WHERE Id = '{int}' AND Name != null")).await;
    assert_eq!(reply.body["records"][0]["FullName"], INTEGRATION, "{}", reply.body);

    // Metadata agrees with readMetadata.
    let reply = tooling(&sim, &format!("SELECT Metadata FROM Profile WHERE Id = '{int}'")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let meta = reply.body["records"][0]["Metadata"]["recordTypeVisibilities"].as_array().cloned().unwrap_or_default();
    let read_back = read(&sim, INTEGRATION).await;
    assert_eq!(meta.len(), read_back.len());
    for v in &read_back {
        let m = meta.iter().find(|m| m["recordType"] == v.record_type.as_str()).cloned().unwrap_or(Value::Null);
        assert_eq!((m["default"] == v.default, m["visible"] == v.visible), (true, true), "{m} vs {v:?}");
    }

    // More than one row possible: refused, whatever the data.
    for soql in [
        "SELECT Id, FullName FROM Profile".to_string(),
        "SELECT FullName FROM Profile WHERE Name = 'System Administrator'".to_string(),
        format!("SELECT FullName FROM Profile WHERE Id IN ('{admin}', '{int}')"),
        format!("SELECT FullName FROM Profile WHERE Id = '{admin}' OR Id = '{int}'"),
        "SELECT Metadata FROM Profile".to_string(),
    ] {
        let reply = tooling(&sim, &soql).await;
        assert_eq!(reply.status, 400, "{soql}");
        assert_eq!(error_of(&reply), ("MALFORMED_QUERY".to_string(), ONE_ROW.to_string()), "{soql}");
    }
    // Without FullName, Tooling Profile queries are ordinary.
    let reply = tooling(&sim, "SELECT Id, Name FROM Profile").await;
    assert_eq!(reply.body["totalSize"], 3, "{}", reply.body);

    // On the REST API FullName and Metadata do not exist.
    for field in ["FullName", "Metadata"] {
        let reply =
            sim.get(&format!("query?q={}", encode(&format!("SELECT {field} FROM Profile WHERE Id = '{admin}'")))).await;
        assert_eq!(reply.status, 400);
        let (code, message) = error_of(&reply);
        assert_eq!(code, "INVALID_FIELD");
        assert!(message.contains(&format!("No such column '{field}' on entity 'Profile'")), "{message}");
    }
    let rest = sim.get("sobjects/Profile/describe").await;
    let tool = sim.get("tooling/sobjects/Profile/describe").await;
    let names = |r: &Reply| -> Vec<String> {
        r.body["fields"]
            .as_array()
            .map(|a| a.iter().filter_map(|f| f["name"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    assert!(!names(&rest).contains(&"FullName".to_string()), "{:?}", names(&rest));
    assert!(names(&tool).contains(&"FullName".to_string()), "{:?}", names(&tool));
    let record = sim.get(&format!("sobjects/Profile/{admin}")).await;
    assert!(record.body.get("FullName").is_none(), "{}", record.body);
    let record = sim.get(&format!("sobjects/Profile/{admin}?fields=FullName")).await;
    assert_eq!(error_of(&record).0, "INVALID_FIELD");
}

#[tokio::test]
async fn localized_profile_names_are_translated_but_full_names_are_not() {
    let sim = sim_scenario(Scenario::Localized).await;
    let names: Vec<String> = sim
        .query("SELECT Name FROM Profile")
        .await
        .iter()
        .filter_map(|p| p["Name"].as_str().map(str::to_string))
        .collect();
    for english in ["System Administrator", "Standard User", INTEGRATION] {
        assert!(!names.iter().any(|n| n == english), "{english} untranslated: {names:?}");
    }
    assert!(names.iter().any(|n| n == "Systemadministrator"), "{names:?}");
    assert!(names.iter().any(|n| n == "Standardbenutzer"), "{names:?}");

    // The licence's Name is the internal name, not translated (official object-userlicense).
    let int = integration_profile_id(&sim).await;
    let shown = sim.query(&format!("SELECT Name, UserLicense.Name FROM Profile WHERE Id = '{int}'")).await;
    assert_eq!(shown[0]["UserLicense"]["Name"], "Salesforce Integration");
    let translated = shown[0]["Name"].as_str().unwrap_or_default().to_string();
    assert_ne!(translated, INTEGRATION);

    // The fullName, from Tooling by Id, is English and is what readMetadata knows.
    let reply = tooling(&sim, &format!("SELECT Name, FullName FROM Profile WHERE Id = '{int}'")).await;
    assert_eq!(reply.body["records"][0]["FullName"], INTEGRATION, "{}", reply.body);
    let xml = soap_call(&sim, &read_profile(INTEGRATION)).await;
    assert!(xml.contains(&format!("<fullName>{INTEGRATION}</fullName>")), "{xml}");
    assert!(!visibilities(&xml).is_empty());
    // The translated Name is not a fullName.
    let xml = soap_call(&sim, &read_profile(&translated)).await;
    assert!(xml.contains("<result/>"), "{xml}");
    let admin = admin_profile_id(&sim).await;
    let reply = tooling(&sim, &format!("SELECT FullName FROM Profile WHERE Id = '{admin}'")).await;
    assert_eq!(reply.body["records"][0]["FullName"], "Admin");

    // listMetadata gives each profile's Id with its (English) fullName, as Tooling does.
    let xml =
        soap_call(&sim, "<met:listMetadata><met:queries><met:type>Profile</met:type></met:queries></met:listMetadata>")
            .await;
    let listed: Vec<(String, String)> = xml
        .split("<result>")
        .skip(1)
        .filter_map(|r| {
            let field = |name: &str| {
                Some(r.split(&format!("<{name}>")).nth(1)?.split(&format!("</{name}>")).next()?.to_string())
            };
            Some((field("id")?, field("fullName")?))
        })
        .collect();
    assert_eq!(listed.len(), sim.query("SELECT Id FROM Profile").await.len(), "{xml}");
    assert!(listed.contains(&(int.clone(), INTEGRATION.to_string())), "{listed:?}");
    assert!(listed.contains(&(admin.clone(), "Admin".to_string())), "{listed:?}");
    assert!(!listed.iter().any(|(_, name)| name == &translated), "{listed:?}");
}
