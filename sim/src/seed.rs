//! The schema and the seed orgs (scenarios).

use serde_json::{Value, json};

use crate::Scenario;
use crate::dml::{blank_record, compute_names, derive_org};
use crate::model::{FieldDef, FieldType, ObjectDef, Org, Schema};
use crate::state::{ProfileMeta, RecordTypeVisibility};
use crate::util;

pub const INTEGRATION_PROFILE: &str = "Minimum Access - API Only Integrations";
pub const LEGACY_INTEGRATION_PROFILE: &str = "Salesforce API Only System Integrations";
pub const SYNC_USERNAME: &str = "storeconnect.sync@storeconnect-demo.example";
pub const ADMIN_USERNAME: &str = "admin@storeconnect-demo.example";
/// The TOTP secret of the seeded sync user (base32 of 20 bytes).
pub const SEED_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// The values of the compound addresses' `…GeocodeAccuracy` picklists (the Account
/// describe recorded in fixtures/recorded/cumulusci/GET_sobjects_Account_describe.yaml
/// has them for both Billing and Shipping).
const GEOCODE_ACCURACY: &[&str] = &[
    "Address",
    "NearAddress",
    "Block",
    "Street",
    "ExtendedZip",
    "Zip",
    "Neighborhood",
    "City",
    "County",
    "State",
    "Unknown",
];

fn s(name: &str) -> FieldDef {
    FieldDef::new(name, FieldType::String)
}
fn b(name: &str) -> FieldDef {
    FieldDef::new(name, FieldType::Boolean)
}
fn int(name: &str) -> FieldDef {
    FieldDef::new(name, FieldType::Int)
}
fn r(name: &str, target: &str, rel: &str, children: Option<&str>) -> FieldDef {
    FieldDef::reference(name, target, rel, children)
}
fn owner() -> FieldDef {
    r("OwnerId", "User", "Owner", None).required().default_value(Value::Null).label("Owner ID")
}

fn read_only_object(mut o: ObjectDef) -> ObjectDef {
    o.createable = false;
    o.updateable = false;
    o.deletable = false;
    o
}

/// The running user's effective user permissions as one read-only row (official object
/// reference, UserPermissionAccess: "Represents the permissions accessibility for a
/// current user", describeSObjects() and query() only, API 41.0 and later; fields
/// `LastCacheUpdate` and `Permissions<PermissionName>`). Jetstream reads it as
/// `SELECT Id, PermissionsModifyAllData, PermissionsModifyMetadata FROM UserPermissionAccess`
/// (libs/shared/ui-core/src/orgs/useOrgPermissions.tsx, github.com/jetstreamapp/jetstream),
/// so it has an `Id`; it has the system fields every sim object has (the object reference
/// lists only the object's own fields, as it does for every object). One
/// `Permissions<Name>` field per permission the sim's PermissionSet knows: a permission it
/// does not know is `INVALID_FIELD`, as OrgCheck expects of a real org
/// (build/src/api/dataset/orgcheck-api-dataset-currentuserpermissions.js, github.com/SalesforceLabs/OrgCheck).
/// The key prefix is the sim's own: the real one is unconfirmed. The row is derived
/// (`dml::derived`), never written.
fn user_permission_access(schema: &Schema) -> ObjectDef {
    let mut object = ObjectDef::new(crate::access::PERMISSION_ACCESS, "0up", true)
        .with_field(FieldDef::new("LastCacheUpdate", FieldType::DateTime).read_only().label("Last Cache Update"));
    let permissions = schema.definition("PermissionSet").map(|ps| ps.fields.clone()).unwrap_or_default();
    for field in permissions.into_iter().filter(|f| f.name.starts_with("Permissions")) {
        object = object.with_field(field.read_only());
    }
    labels(read_only_object(object), "User Permission Access", "User Permission Access")
}

fn labels(mut o: ObjectDef, label: &str, plural: &str) -> ObjectDef {
    o.label = label.to_string();
    o.label_plural = plural.to_string();
    o
}

/// The schema of a StoreConnect org (`package`: whether the s_c objects exist;
/// `person_accounts`: whether Person Accounts are enabled).
pub fn schema(package: bool, person_accounts: bool) -> Schema {
    let mut schema = Schema::default();
    // Organization: every field of the recorded record
    // (fixtures/recorded/cumulusci/GET_sobjects_Organization.yaml). That record has no
    // IsDeleted, so the object does not either.
    let pick = |name: &str| FieldDef::new(name, FieldType::Picklist).length(40);
    let mut organization = ObjectDef::new("Organization", "00D", true)
        .without_field("IsDeleted")
        .with_field(s("Name").required().length(80))
        .with_field(s("Division").length(80))
        .with_field(FieldDef::new("Street", FieldType::TextArea).length(255).compound("Address"))
        .with_field(s("City").length(40).compound("Address"))
        .with_field(s("State").length(80).compound("Address").label("State/Province"))
        .with_field(s("PostalCode").length(20).compound("Address").label("Zip/Postal Code"))
        .with_field(s("Country").length(80).compound("Address"))
        .with_field(FieldDef::new("Latitude", FieldType::Double).scale(15).compound("Address"))
        .with_field(FieldDef::new("Longitude", FieldType::Double).scale(15).compound("Address"))
        .with_field(pick("GeocodeAccuracy").compound("Address").label("Geocode Accuracy"))
        .with_field(FieldDef::new("Address", FieldType::Address).read_only())
        .with_field(FieldDef::new("Phone", FieldType::Phone).length(40))
        .with_field(FieldDef::new("Fax", FieldType::Phone).length(40))
        .with_field(s("PrimaryContact").length(80).label("Primary Contact"))
        .with_field(pick("DefaultLocaleSidKey").required().label("Locale"))
        .with_field(pick("TimeZoneSidKey").required().label("Time Zone"))
        .with_field(pick("LanguageLocaleKey").required().label("Language"))
        .with_field(b("ReceivesInfoEmails").label("Info Emails"))
        .with_field(b("ReceivesAdminInfoEmails").label("Info Emails Admin"));
    for pref in [
        "PreferencesRequireOpportunityProducts",
        "PreferencesTransactionSecurityPolicy",
        "PreferencesTerminateOldestSession",
        "PreferencesConsentManagementEnabled",
        "PreferencesAutoSelectIndividualOnMerge",
        "PreferencesLightningLoginEnabled",
        "PreferencesOnlyLLPermUserAllowed",
    ] {
        organization = organization.with_field(b(pref));
    }
    organization = organization
        .with_field(int("FiscalYearStartMonth").label("Fiscal Year Starts In"))
        .with_field(b("UsesStartDateAsFiscalYearName").label("Fiscal Year Name by Start"));
    for access in ["Account", "Contact", "Opportunity", "Lead", "Case", "Calendar", "Pricebook", "Campaign"] {
        organization = organization.with_field(pick(&format!("Default{access}Access")));
    }
    organization = organization
        .with_field(FieldDef::new("DelegatedAuthenticationServiceUrl", FieldType::Url).length(1000))
        .with_field(FieldDef::new("ComplianceBccEmail", FieldType::Email).length(80))
        .with_field(pick("UiSkin").label("UI Skin"))
        .with_field(s("SignupCountryIsoCode").length(2))
        .with_field(FieldDef::new("TrialExpirationDate", FieldType::DateTime))
        .with_field(int("NumKnowledgeService").label("Knowledge Licenses"))
        .with_field(pick("OrganizationType").label("Edition"))
        .with_field(s("NamespacePrefix").length(15))
        .with_field(s("InstanceName").length(5))
        .with_field(b("IsSandbox"))
        .with_field(s("WebToCaseDefaultOrigin").length(40))
        .with_field(int("MonthlyPageViewsUsed"))
        .with_field(int("MonthlyPageViewsEntitlement"))
        .with_field(b("IsReadOnly"));
    schema.add(read_only_object(organization));
    schema.add(labels(
        read_only_object(
            ObjectDef::new("UserLicense", "100", true)
                .with_field(s("Name").required().length(40).unique())
                .with_field(s("MasterLabel").required().length(80))
                .with_field(s("LicenseDefinitionKey").required().length(40))
                .with_field(FieldDef::new("Status", FieldType::Picklist).required().length(40))
                .with_field(int("TotalLicenses").required())
                .with_field(int("UsedLicenses").required())
                .with_field(FieldDef::new("UsedLicensesLastUpdated", FieldType::DateTime)),
        ),
        "User License",
        "User Licenses",
    ));
    schema.add(read_only_object(
        ObjectDef::new("Profile", "00e", true)
            .with_field(s("Name").required().length(255))
            // The Metadata API name, never translated (salesforce-api.md D.3: "System
            // Administrator" is `Admin`); only the Tooling API can select it.
            .with_field(s("FullName").read_only().tooling_only().label("Full Name"))
            .with_field(FieldDef::new("Metadata", FieldType::ComplexValue).read_only().tooling_only())
            .with_field(r("UserLicenseId", "UserLicense", "UserLicense", None).required().label("User License ID"))
            .with_field(FieldDef::new("UserType", FieldType::Picklist).length(40))
            .with_field(FieldDef::new("Description", FieldType::String).length(255)),
    ));
    let mut user = ObjectDef::new("User", "005", true)
        .with_field(s("Username").required().length(80).unique())
        .with_field(s("LastName").required().length(80))
        .with_field(s("FirstName").length(40))
        .with_field(s("Name").read_only().length(121).label("Full Name"))
        .with_field(s("CompanyName").length(80))
        .with_field(s("Title").length(80))
        .with_field(s("Department").length(80))
        .with_field(FieldDef::new("Email", FieldType::Email).required().length(128))
        .with_field(s("Alias").required().length(8))
        .with_field(s("CommunityNickname").length(40).label("Nickname"))
        .with_field(b("IsActive").default_value(Value::Bool(true)).label("Active"))
        .with_field(
            FieldDef::new("TimeZoneSidKey", FieldType::Picklist)
                .required()
                .length(40)
                .picklist(crate::timezones::TIME_ZONE_SID_KEYS)
                .label("Time Zone"),
        )
        .with_field(FieldDef::new("LocaleSidKey", FieldType::Picklist).required().length(40).label("Locale"))
        .with_field(
            FieldDef::new("EmailEncodingKey", FieldType::Picklist).required().length(40).label("Email Encoding"),
        )
        .with_field(FieldDef::new("LanguageLocaleKey", FieldType::Picklist).required().length(40).label("Language"))
        .with_field(r("ProfileId", "Profile", "Profile", Some("Users")).required().label("Profile ID"))
        .with_field(
            FieldDef::new("UserType", FieldType::Picklist)
                .read_only()
                .default_value(json!("Standard"))
                .label("User Type"),
        )
        .with_field(r("ManagerId", "User", "Manager", None).label("Manager ID"))
        .with_field(s("FederationIdentifier").length(512))
        .with_field(FieldDef::new("LastLoginDate", FieldType::DateTime).read_only())
        .with_field(FieldDef::new("LastPasswordChangeDate", FieldType::DateTime).read_only());
    user.deletable = false;
    schema.add(user);
    let mut login = labels(
        ObjectDef::new("UserLogin", "060", true)
            .with_field(r("UserId", "User", "User", None).read_only().label("User ID"))
            .with_field(b("IsFrozen").label("Is Frozen"))
            .with_field(b("IsPasswordLocked").label("Is Password Locked")),
        "User Login",
        "User Logins",
    );
    login.createable = false;
    login.deletable = false;
    schema.add(login);
    schema.add(labels(
        read_only_object(
            ObjectDef::new("PermissionSetLicense", "0PL", true)
                .with_field(s("DeveloperName").required().length(80))
                .with_field(s("MasterLabel").required().length(80))
                .with_field(s("PermissionSetLicenseKey").required().length(80))
                .with_field(FieldDef::new("Status", FieldType::Picklist).required().length(40))
                .with_field(int("TotalLicenses").required())
                .with_field(int("UsedLicenses").required())
                .with_field(FieldDef::new("ExpirationDate", FieldType::Date))
                .with_field(b("IsAvailableForIntegrations")),
        ),
        "Permission Set License",
        "Permission Set Licenses",
    ));
    let mut psla = labels(
        ObjectDef::new("PermissionSetLicenseAssign", "2LA", true)
            .with_field(
                r("AssigneeId", "User", "Assignee", Some("PermissionSetLicenseAssignments"))
                    .required()
                    .create_only()
                    .label("Assignee ID"),
            )
            .with_field(
                r(
                    "PermissionSetLicenseId",
                    "PermissionSetLicense",
                    "PermissionSetLicense",
                    Some("PermissionSetLicenseAssignments"),
                )
                .required()
                .create_only()
                .label("Permission Set License ID"),
            )
            .with_field(b("IsRevoked").read_only()),
        "Permission Set License Assignment",
        "Permission Set License Assignments",
    );
    psla.updateable = false;
    schema.add(psla);
    let mut license_ref = r("LicenseId", "PermissionSetLicense", "License", None).create_only().label("License ID");
    license_ref.reference_to.push("UserLicense".into());
    schema.add(labels(
        ObjectDef::new("PermissionSet", "0PS", true)
            .with_field(s("Name").required().length(80).unique())
            .with_field(s("Label").required().length(80))
            .with_field(s("Description").length(255))
            .with_field(s("NamespacePrefix").read_only().length(15))
            .with_field(license_ref)
            .with_field(b("IsOwnedByProfile").read_only())
            .with_field(b("IsCustom").read_only())
            .with_field(FieldDef::new("Type", FieldType::Picklist).read_only().default_value(json!("Regular")))
            .with_field(r("ProfileId", "Profile", "Profile", None).read_only().label("Profile ID"))
            .with_field(b("PermissionsApiEnabled").label("API Enabled"))
            .with_field(b("PermissionsViewSetup").label("View Setup and Configuration"))
            .with_field(b("PermissionsViewRoles").label("View Roles and Role Hierarchy"))
            .with_field(b("PermissionsViewAllData").label("View All Data"))
            .with_field(b("PermissionsModifyAllData").label("Modify All Data"))
            .with_field(b("PermissionsCustomizeApplication").label("Customize Application"))
            .with_field(b("PermissionsAuthorApex").label("Author Apex"))
            // See access::MFA_API_PERMISSION for the sources of the name and label.
            .with_field(b("PermissionsManageTwoFactor").label("Manage Multi-Factor Authentication in API")),
        "Permission Set",
        "Permission Sets",
    ));
    schema.add(user_permission_access(&schema));
    // One row per object the org has: how clients ask whether an object exists without
    // a describe per name (official object reference, EntityDefinition: "row-based
    // access to metadata about standard and custom objects", queryable with SOQL).
    schema.add(labels(
        read_only_object(
            ObjectDef::new("EntityDefinition", "4ie", true)
                .with_field(s("QualifiedApiName").required().length(250))
                .with_field(s("DeveloperName").required().length(40))
                .with_field(s("Label").required().length(40))
                .with_field(s("PluralLabel").length(40))
                .with_field(s("KeyPrefix").length(3))
                .with_field(s("NamespacePrefix").length(15))
                .with_field(b("IsCustomSetting")),
        ),
        "Entity Definition",
        "Entity Definitions",
    ));
    // Object permissions of a permission set, as Salesforce models them: one row per
    // (ParentId, SobjectType) (official ObjectPermissions object reference; real-org-review
    // 5.2). Salesforce can also create and edit them; the sim serves the seeded rows only.
    schema.add(labels(
        read_only_object(
            ObjectDef::new("ObjectPermissions", "110", true)
                .with_field(r("ParentId", "PermissionSet", "Parent", Some("ObjectPerms")).required().label("Parent ID"))
                .with_field(FieldDef::new("SobjectType", FieldType::Picklist).required().length(40))
                .with_field(b("PermissionsRead").label("Read"))
                .with_field(b("PermissionsCreate").label("Create"))
                .with_field(b("PermissionsEdit").label("Edit"))
                .with_field(b("PermissionsDelete").label("Delete"))
                .with_field(b("PermissionsViewAllRecords").label("View All"))
                .with_field(b("PermissionsModifyAllRecords").label("Modify All")),
        ),
        "Object Permissions",
        "Object Permissions",
    ));
    let mut psa = labels(
        ObjectDef::new("PermissionSetAssignment", "0Pa", true)
            .with_field(
                r("AssigneeId", "User", "Assignee", Some("PermissionSetAssignments"))
                    .required()
                    .create_only()
                    .label("Assignee ID"),
            )
            .with_field(
                // Not required on its own: an assignment names a permission set or a
                // permission set group, exactly one (the rule is in `rules`).
                r("PermissionSetId", "PermissionSet", "PermissionSet", Some("Assignments"))
                    .create_only()
                    .label("Permission Set ID"),
            )
            // Official PermissionSetAssignment reference: "PermissionSetGroupId … the
            // ID of the permission set group" (salesforce-api.md C.4). The
            // PermissionSetGroup object itself comes from a seed file.
            .with_field(
                r("PermissionSetGroupId", "PermissionSetGroup", "PermissionSetGroup", None)
                    .create_only()
                    .label("Permission Set Group ID"),
            )
            .with_field(b("IsActive").read_only().default_value(Value::Bool(true)))
            .with_field(FieldDef::new("ExpirationDate", FieldType::DateTime)),
        "Permission Set Assignment",
        "Permission Set Assignments",
    );
    psa.updateable = true;
    schema.add(psa);
    schema.add(labels(
        read_only_object(
            ObjectDef::new("RecordType", "012", true)
                .with_field(s("Name").required().length(80))
                .with_field(s("DeveloperName").required().length(80))
                .with_field(FieldDef::new("SobjectType", FieldType::Picklist).required().length(40))
                .with_field(b("IsActive"))
                .with_field(b("IsPersonType"))
                .with_field(s("NamespacePrefix").length(15))
                .with_field(FieldDef::new("Description", FieldType::String).length(255)),
        ),
        "Record Type",
        "Record Types",
    ));
    schema.add(labels(
        ObjectDef::new("TwoFactorInfo", "0Th", true)
            .with_field(r("UserId", "User", "User", None).required().create_only().label("User ID"))
            .with_field(FieldDef::new("Type", FieldType::Picklist).required().picklist(&["TOTP"]).length(40))
            .with_field(s("SharedKey").required().write_only().length(255).label("Shared Key")),
        "Two Factor Info",
        "Two Factor Infos",
    ));
    schema.add(labels(
        read_only_object(
            ObjectDef::new("TwoFactorMethodsInfo", "0gm", true)
                .with_field(r("UserId", "User", "User", None).read_only().label("User ID"))
                .with_field(s("ExternalId").read_only().length(18))
                .with_field(b("HasTotp").read_only())
                .with_field(b("HasSalesforceAuthenticator").read_only())
                .with_field(b("HasTempCode").read_only())
                .with_field(b("HasU2F").read_only())
                .with_field(b("HasSecurityKey").read_only())
                .with_field(b("HasBuiltInAuthenticator").read_only())
                .with_field(b("HasVerifiedMobileNumber").read_only())
                .with_field(b("HasUserVerifiedMobileNumber").read_only())
                .with_field(b("HasUserVerifiedEmailAddress").read_only()),
        ),
        "Two Factor Methods Info",
        "Two Factor Methods Info",
    ));
    schema.add(
        ObjectDef::new("Group", "00G", true)
            .with_field(s("Name").required().length(40))
            .with_field(s("DeveloperName").length(80))
            .with_field(FieldDef::new("Type", FieldType::Picklist).default_value(json!("Regular")).length(40)),
    );
    // Account: every standard field of the recorded describe
    // (fixtures/recorded/cumulusci/GET_sobjects_Account_describe.yaml), with its type,
    // length, label, writability and picklist values; its custom fields are not standard
    // and stay out.
    let mut account = ObjectDef::new("Account", "001", false)
        .with_field(r("MasterRecordId", "Account", "MasterRecord", None).read_only().label("Master Record ID"))
        .with_field(FieldDef::new("Name", FieldType::String).required().label("Account Name"))
        .with_field(
            FieldDef::new("Type", FieldType::Picklist)
                .length(40)
                .open_picklist(&[
                    "Prospect",
                    "Customer - Direct",
                    "Customer - Channel",
                    "Channel Partner / Reseller",
                    "Installation Partner",
                    "Technology Partner",
                    "Other",
                ])
                .label("Account Type"),
        )
        .with_field(r("RecordTypeId", "RecordType", "RecordType", None).label("Record Type ID"))
        .with_field(r("ParentId", "Account", "Parent", Some("ChildAccounts")).label("Parent Account ID"))
        .with_field(
            FieldDef::new("BillingStreet", FieldType::TextArea)
                .length(255)
                .compound("BillingAddress")
                .label("Billing Street"),
        )
        .with_field(
            FieldDef::new("BillingCity", FieldType::String).length(40).compound("BillingAddress").label("Billing City"),
        )
        .with_field(
            FieldDef::new("BillingState", FieldType::String)
                .length(80)
                .compound("BillingAddress")
                .label("Billing State/Province"),
        )
        .with_field(
            FieldDef::new("BillingPostalCode", FieldType::String)
                .length(20)
                .compound("BillingAddress")
                .label("Billing Zip/Postal Code"),
        )
        .with_field(
            FieldDef::new("BillingCountry", FieldType::String)
                .length(80)
                .compound("BillingAddress")
                .label("Billing Country"),
        )
        .with_field(
            FieldDef::new("BillingLatitude", FieldType::Double)
                .scale(15)
                .compound("BillingAddress")
                .label("Billing Latitude"),
        )
        .with_field(
            FieldDef::new("BillingLongitude", FieldType::Double)
                .scale(15)
                .compound("BillingAddress")
                .label("Billing Longitude"),
        )
        .with_field(
            FieldDef::new("BillingGeocodeAccuracy", FieldType::Picklist)
                .length(40)
                .compound("BillingAddress")
                .picklist(GEOCODE_ACCURACY)
                .label("Billing Geocode Accuracy"),
        )
        .with_field(FieldDef::new("BillingAddress", FieldType::Address).read_only().label("Billing Address"))
        .with_field(
            FieldDef::new("ShippingStreet", FieldType::TextArea)
                .length(255)
                .compound("ShippingAddress")
                .label("Shipping Street"),
        )
        .with_field(
            FieldDef::new("ShippingCity", FieldType::String)
                .length(40)
                .compound("ShippingAddress")
                .label("Shipping City"),
        )
        .with_field(
            FieldDef::new("ShippingState", FieldType::String)
                .length(80)
                .compound("ShippingAddress")
                .label("Shipping State/Province"),
        )
        .with_field(
            FieldDef::new("ShippingPostalCode", FieldType::String)
                .length(20)
                .compound("ShippingAddress")
                .label("Shipping Zip/Postal Code"),
        )
        .with_field(
            FieldDef::new("ShippingCountry", FieldType::String)
                .length(80)
                .compound("ShippingAddress")
                .label("Shipping Country"),
        )
        .with_field(
            FieldDef::new("ShippingLatitude", FieldType::Double)
                .scale(15)
                .compound("ShippingAddress")
                .label("Shipping Latitude"),
        )
        .with_field(
            FieldDef::new("ShippingLongitude", FieldType::Double)
                .scale(15)
                .compound("ShippingAddress")
                .label("Shipping Longitude"),
        )
        .with_field(
            FieldDef::new("ShippingGeocodeAccuracy", FieldType::Picklist)
                .length(40)
                .compound("ShippingAddress")
                .picklist(GEOCODE_ACCURACY)
                .label("Shipping Geocode Accuracy"),
        )
        .with_field(FieldDef::new("ShippingAddress", FieldType::Address).read_only().label("Shipping Address"))
        .with_field(FieldDef::new("Phone", FieldType::Phone).length(40).label("Account Phone"))
        .with_field(FieldDef::new("Fax", FieldType::Phone).length(40).label("Account Fax"))
        .with_field(FieldDef::new("AccountNumber", FieldType::String).length(40).label("Account Number"))
        .with_field(FieldDef::new("Website", FieldType::Url).label("Website"))
        .with_field(FieldDef::new("PhotoUrl", FieldType::Url).read_only().label("Photo URL"))
        .with_field(FieldDef::new("Sic", FieldType::String).length(20).label("SIC Code"))
        .with_field(
            FieldDef::new("Industry", FieldType::Picklist)
                .length(40)
                .open_picklist(&[
                    "Agriculture",
                    "Apparel",
                    "Banking",
                    "Biotechnology",
                    "Chemicals",
                    "Communications",
                    "Construction",
                    "Consulting",
                    "Education",
                    "Electronics",
                    "Energy",
                    "Engineering",
                    "Entertainment",
                    "Environmental",
                    "Finance",
                    "Food & Beverage",
                    "Government",
                    "Healthcare",
                    "Hospitality",
                    "Insurance",
                    "Machinery",
                    "Manufacturing",
                    "Media",
                    "Not For Profit",
                    "Recreation",
                    "Retail",
                    "Shipping",
                    "Technology",
                    "Telecommunications",
                    "Transportation",
                    "Utilities",
                    "Other",
                ])
                .label("Industry"),
        )
        .with_field(FieldDef::new("AnnualRevenue", FieldType::Currency).label("Annual Revenue"))
        .with_field(FieldDef::new("NumberOfEmployees", FieldType::Int).label("Employees"))
        .with_field(
            FieldDef::new("Ownership", FieldType::Picklist)
                .length(40)
                .open_picklist(&["Public", "Private", "Subsidiary", "Other"])
                .label("Ownership"),
        )
        .with_field(FieldDef::new("TickerSymbol", FieldType::String).length(20).label("Ticker Symbol"))
        .with_field(FieldDef::new("Description", FieldType::TextArea).label("Account Description"))
        .with_field(
            FieldDef::new("Rating", FieldType::Picklist)
                .length(40)
                .open_picklist(&["Hot", "Warm", "Cold"])
                .label("Account Rating"),
        )
        .with_field(FieldDef::new("Site", FieldType::String).length(80).label("Account Site"))
        .with_field(owner())
        .with_field(FieldDef::new("LastActivityDate", FieldType::Date).read_only().label("Last Activity"))
        .with_field(FieldDef::new("LastViewedDate", FieldType::DateTime).read_only().label("Last Viewed Date"))
        .with_field(FieldDef::new("LastReferencedDate", FieldType::DateTime).read_only().label("Last Referenced Date"))
        .with_field(FieldDef::new("IsPartner", FieldType::Boolean).update_only().label("Partner Account"))
        .with_field(
            FieldDef::new("IsCustomerPortal", FieldType::Boolean).update_only().label("Customer Portal Account"),
        )
        .with_field(FieldDef::new("ChannelProgramName", FieldType::String).read_only().label("Channel Program Name"))
        .with_field(
            FieldDef::new("ChannelProgramLevelName", FieldType::String).read_only().label("Channel Program Level Name"),
        )
        .with_field(FieldDef::new("Jigsaw", FieldType::String).length(20).label("Data.com Key"))
        .with_field(
            FieldDef::new("JigsawCompanyId", FieldType::String).length(20).read_only().label("Jigsaw Company ID"),
        )
        .with_field(
            FieldDef::new("CleanStatus", FieldType::Picklist)
                .length(40)
                .picklist(&[
                    "Matched",
                    "Different",
                    "Acknowledged",
                    "NotFound",
                    "Inactive",
                    "Pending",
                    "SelectMatch",
                    "Skipped",
                ])
                .label("Clean Status"),
        )
        .with_field(
            FieldDef::new("AccountSource", FieldType::Picklist)
                .length(40)
                .open_picklist(&["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"])
                .label("Account Source"),
        )
        .with_field(FieldDef::new("DunsNumber", FieldType::String).length(9).label("D-U-N-S Number"))
        .with_field(FieldDef::new("Tradestyle", FieldType::String).label("Tradestyle"))
        .with_field(FieldDef::new("NaicsCode", FieldType::String).length(8).label("NAICS Code"))
        .with_field(FieldDef::new("NaicsDesc", FieldType::String).length(120).label("NAICS Description"))
        .with_field(FieldDef::new("YearStarted", FieldType::String).length(4).label("Year Started"))
        .with_field(FieldDef::new("SicDesc", FieldType::String).length(80).label("SIC Description"))
        .with_field(r("DandbCompanyId", "DandBCompany", "DandbCompany", None).label("D&B Company ID"))
        .with_field(r("OperatingHoursId", "OperatingHours", "OperatingHours", None).label("Operating Hour ID"));
    if person_accounts {
        // Person Accounts on (official "Person Account Record Types"): Account says
        // which records are person accounts, and Name becomes a compound of the
        // person's names (the recorded describe, from such an org, shows
        // compoundFieldName "Name" and extraTypeInfo "switchablepersonname").
        account = account.with_field(b("IsPersonAccount").read_only().label("Is Person Account"));
        if let Some(name) = account.fields.iter_mut().find(|f| f.name == "Name") {
            name.compound = Some("Name".into());
        }
    }
    schema.add(account);
    schema.add(
        ObjectDef::new("Contact", "003", false)
            .with_field(s("FirstName").length(40))
            .with_field(s("LastName").required().length(80))
            .with_field(s("Name").read_only().length(121).label("Full Name"))
            .with_field(r("AccountId", "Account", "Account", Some("Contacts")).label("Account ID"))
            .with_field(r("RecordTypeId", "RecordType", "RecordType", None).label("Record Type ID"))
            .with_field(FieldDef::new("Email", FieldType::Email).length(80))
            .with_field(FieldDef::new("Phone", FieldType::Phone).length(40))
            .with_field(owner()),
    );
    schema.add(
        ObjectDef::new("Order", "801", false)
            .with_field(s("Name").length(80))
            .with_field(r("AccountId", "Account", "Account", Some("Orders")).required().label("Account ID"))
            .with_field(r("RecordTypeId", "RecordType", "RecordType", None).label("Record Type ID"))
            .with_field(FieldDef::new("EffectiveDate", FieldType::Date).required().label("Order Start Date"))
            .with_field(
                FieldDef::new("Status", FieldType::Picklist)
                    .required()
                    .picklist(&["Draft", "Activated"])
                    .default_value(json!("Draft")),
            )
            .with_field(owner()),
    );
    if package {
        schema.add(labels(
            ObjectDef::new("s_c__Setup_Configuration__c", "a0X", false)
                .with_field(s("Name").length(80).label("Setup Configuration Name"))
                .with_field(FieldDef::new("s_c__Text__c", FieldType::TextArea).length(131_072).label("Text"))
                .with_field(owner()),
            "Setup Configuration",
            "Setup Configurations",
        ));
        schema.add(labels(
            ObjectDef::new("s_c__Store__c", "a0Y", false)
                .with_field(s("Name").length(80).label("Store Name"))
                .with_field(FieldDef::new("s_c__Domain__c", FieldType::String).length(255).label("Domain"))
                // The store's payment-gateway credentials: fields a playbook may set and
                // runner must never show (issue 9).
                .with_field(FieldDef::new("s_c__Api_Secret__c", FieldType::String).length(255).label("API Secret"))
                .with_field(FieldDef::new("s_c__Password__c", FieldType::String).length(255).label("Password"))
                .with_field(owner()),
            "Store",
            "Stores",
        ));
    }
    schema
}

/// The `EntityDefinition` row that describes `object`.
fn entity_definition(object: &ObjectDef) -> Value {
    let name = &object.name;
    let (namespace, bare) = match name.split_once("__") {
        Some((ns, rest)) if object.custom && rest.contains("__") => {
            (Some(ns.to_string()), rest.trim_end_matches("__c").to_string())
        }
        _ => (None, name.trim_end_matches("__c").to_string()),
    };
    json!({"QualifiedApiName": name, "DeveloperName": bare, "Label": object.label, "PluralLabel": object.label_plural,
           "KeyPrefix": object.key_prefix, "NamespacePrefix": namespace, "IsCustomSetting": false})
}

/// Adds the `EntityDefinition` row of an object added after the seed (by a seed file).
pub fn add_entity_definition(org: &mut Org, object: &ObjectDef, user: &str) {
    let Some(def) = org.schema.definition("EntityDefinition").cloned() else { return };
    let id = org.new_id(&def);
    let mut record = blank_record(&def, &id, &util::now_sf(), user);
    if let Value::Object(values) = entity_definition(object) {
        record.extend(values);
    }
    org.insert(&def.name, record);
}

/// A seeded org: data, the admin user, profile metadata.
pub struct Seed {
    pub org: Org,
    pub org_id: String,
    pub admin_id: String,
    pub meta: ProfileMeta,
}

struct Seeder {
    org: Org,
    now: String,
    admin: String,
}

impl Seeder {
    fn add(&mut self, object: &str, values: Value) -> String {
        let Some(def) = self.org.schema.object(object).cloned() else { return String::new() };
        let id = self.org.new_id(&def);
        let mut record = blank_record(&def, &id, &self.now, &self.admin);
        if let Value::Object(map) = values {
            for (k, v) in map {
                if def.field(&k).is_some_and(|f| f.write_only) {
                    self.org.set_hidden(&id, &k, v);
                    continue;
                }
                record.insert(k, v);
            }
        }
        compute_names(&def, &mut record);
        self.org.insert(&def.name, record);
        id
    }

    /// Sets a field after the fact (the admin user refers to records created after it).
    fn set(&mut self, id: &str, field: &str, value: Value) {
        if let Some(rec) = self.org.get_mut(id) {
            rec.insert(field.to_string(), value);
        }
    }
}

/// How a German-speaking admin sees a profile's `Name` in SOQL. The integration
/// profile's translation is this simulator's own; no source gives Salesforce's wording.
fn german_profile_name(name: &str) -> &str {
    match name {
        "System Administrator" => "Systemadministrator",
        "Standard User" => "Standardbenutzer",
        INTEGRATION_PROFILE => "Minimaler Zugriff – Nur API-Integrationen",
        LEGACY_INTEGRATION_PROFILE => "Salesforce – Nur API-Systemintegrationen",
        other => other,
    }
}

/// A record type of the seed.
struct SeedRecordType {
    object: &'static str,
    developer_name: &'static str,
    label: &'static str,
    active: bool,
    /// `IsPersonType`: a person-account record type.
    person: bool,
}

const fn rt(object: &'static str, developer_name: &'static str, label: &'static str) -> SeedRecordType {
    SeedRecordType { object, developer_name, label, active: true, person: false }
}

/// The record types of a scenario. Their names are an org's own, as on real orgs, and
/// appear nowhere else: clients must discover them (`SELECT … FROM RecordType`).
fn record_types(scenario: Scenario) -> Vec<SeedRecordType> {
    let account = [
        rt("Account", "AU_Retail_Trade", "AU Retail Trade"),
        rt("Account", "NZ_Distributor", "NZ Distributor"),
        rt("Account", "Franchise_Store", "Franchise Store"),
    ];
    let contact = [rt("Contact", "Store_Shopper", "Store Shopper"), rt("Contact", "Trade_Buyer", "Trade Buyer")];
    // One active Order type: with fewer than two, no default needs setting.
    let order = rt("Order", "Click_And_Collect", "Click & Collect");
    match scenario {
        Scenario::SingleRecordTypes => {
            let [first_account, ..] = account;
            let [first_contact, ..] = contact;
            vec![first_account, first_contact, order]
        }
        Scenario::PersonAccounts => {
            let [a, b, _] = account;
            // Official "Person Account Record Types": enabling Person Accounts adds an
            // Account record type `PersonAccount` with IsPersonType = true.
            let person = SeedRecordType { person: true, ..rt("Account", "PersonAccount", "Person Account") };
            let [c, d] = contact;
            vec![a, b, person, c, d, order]
        }
        _ => {
            let [a, b, c] = account;
            let retired =
                SeedRecordType { active: false, ..rt("Account", "Legacy_Dealer_2019", "Legacy Dealer (2019)") };
            let [d, e] = contact;
            vec![a, b, c, retired, d, e, order]
        }
    }
}

/// Builds the seed org of a scenario, with the default pod characters in its ids.
#[cfg(test)]
pub fn build(scenario: Scenario) -> Seed {
    build_on(scenario, "Hs")
}

/// Builds the seed org of a scenario whose ids carry `pod` (two base-62 characters).
pub fn build_on(scenario: Scenario, pod: &str) -> Seed {
    let package = scenario != Scenario::NoPackage;
    let scratch = scenario == Scenario::Scratch;
    let with_sync_user = package && !scratch;
    let person_accounts = scenario == Scenario::PersonAccounts;
    let german = scenario == Scenario::Localized;
    let mut org = Org::new(schema(package, person_accounts));
    org.set_pod(pod);
    let mut seeder = Seeder { org, now: util::now_sf(), admin: String::new() };

    let org_id = seeder.add(
        "Organization",
        json!({
            "Name": if scratch { "StoreConnect Scratch" } else { "StoreConnect Demo" },
            "Division": null,
            "Street": "Level 4, 100 Harris Street", "City": "Pyrmont", "State": "NSW", "PostalCode": "2009",
            "Country": "AU", "Latitude": null, "Longitude": null, "GeocodeAccuracy": null,
            "Phone": "+61 2 5550 0100", "Fax": null,
            "PrimaryContact": "Admin User",
            "DefaultLocaleSidKey": "en_AU",
            "TimeZoneSidKey": "Australia/Sydney",
            "LanguageLocaleKey": "en_US",
            "ReceivesInfoEmails": true, "ReceivesAdminInfoEmails": true,
            "PreferencesRequireOpportunityProducts": false, "PreferencesTransactionSecurityPolicy": false,
            "PreferencesTerminateOldestSession": false, "PreferencesConsentManagementEnabled": true,
            "PreferencesAutoSelectIndividualOnMerge": false, "PreferencesLightningLoginEnabled": true,
            "PreferencesOnlyLLPermUserAllowed": false,
            // The Australian financial year starts in July.
            "FiscalYearStartMonth": 7, "UsesStartDateAsFiscalYearName": false,
            "DefaultAccountAccess": "Edit", "DefaultContactAccess": "ControlledByParent",
            "DefaultOpportunityAccess": "Edit", "DefaultLeadAccess": "ReadEditTransfer",
            "DefaultCaseAccess": "ReadEditTransfer", "DefaultCalendarAccess": "HideDetailsInsert",
            "DefaultPricebookAccess": "ReadSelect", "DefaultCampaignAccess": "All",
            "DelegatedAuthenticationServiceUrl": null, "ComplianceBccEmail": null,
            "UiSkin": "Theme3", "SignupCountryIsoCode": "AU",
            "TrialExpirationDate": if scratch { json!(util::days_from_now_sf(30)) } else { Value::Null },
            "NumKnowledgeService": 0,
            "OrganizationType": if scratch { "Developer Edition" } else { "Enterprise Edition" },
            "NamespacePrefix": null,
            "InstanceName": if scratch { "CS152" } else { "AUS54" },
            "IsSandbox": scratch,
            "WebToCaseDefaultOrigin": "Web",
            "MonthlyPageViewsUsed": 0, "MonthlyPageViewsEntitlement": 0,
            "IsReadOnly": false,
        }),
    );
    let integration_seats = match scenario {
        Scenario::NoSeats | Scenario::Scratch => 1,
        _ => 5,
    };
    let sf_license = seeder.add(
        "UserLicense",
        json!({"Name": "Salesforce", "MasterLabel": "Salesforce", "LicenseDefinitionKey": "SFDC", "Status": "Active", "TotalLicenses": 10, "UsedLicenses": 0}),
    );
    let int_license = seeder.add(
        "UserLicense",
        json!({"Name": "Salesforce Integration", "MasterLabel": "Salesforce Integration", "LicenseDefinitionKey": "PID_Integration", "Status": "Active", "TotalLicenses": integration_seats, "UsedLicenses": 0}),
    );
    let int_profile_name =
        if scenario == Scenario::LegacyProfile { LEGACY_INTEGRATION_PROFILE } else { INTEGRATION_PROFILE };
    // `Name` is what SOQL answers, in the running user's language (NPSP#4994,
    // NebulaLogger#271: "the Profile object does not have an 'api' name that is
    // consistent across languages"); `FullName` is the Metadata name, always English.
    let mut profile = |name: &str, full_name: &str, license: &str| {
        let shown = if german { german_profile_name(name) } else { name };
        seeder.add(
            "Profile",
            json!({"Name": shown, "FullName": full_name, "UserLicenseId": license, "UserType": "Standard"}),
        )
    };
    let admin_profile = profile("System Administrator", "Admin", &sf_license);
    let standard_profile = profile("Standard User", "Standard", &sf_license);
    // The integration profiles are retrieved as `<label>.profile` (salesforce-api.md D.3),
    // so their fullName is the English label.
    let int_profile = profile(int_profile_name, int_profile_name, &int_license);

    let admin = seeder.add(
        "User",
        json!({
            "Username": ADMIN_USERNAME, "FirstName": "Admin", "LastName": "User", "Email": ADMIN_USERNAME,
            "Alias": "admin", "CommunityNickname": "admin", "IsActive": true,
            "TimeZoneSidKey": "Australia/Sydney", "LocaleSidKey": if german { "de_DE" } else { "en_AU" },
            "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": if german { "de" } else { "en_US" },
            "ProfileId": admin_profile,
        }),
    );
    seeder.admin = admin.clone();
    let now = seeder.now.clone();
    crate::password::seed(&mut seeder.org, &admin, &now);
    // Records made before the admin existed name it as creator and owner.
    let made_before: Vec<String> =
        [&org_id, &sf_license, &int_license, &admin_profile, &standard_profile, &int_profile, &admin]
            .iter()
            .map(|s| s.to_string())
            .collect();
    for id in &made_before {
        for field in ["CreatedById", "LastModifiedById"] {
            seeder.set(id, field, json!(admin));
        }
    }

    let psl_seats = if matches!(scenario, Scenario::NoSeats | Scenario::Scratch) { 1 } else { 5 };
    let psl = seeder.add(
        "PermissionSetLicense",
        json!({
            "DeveloperName": "SalesforceAPIIntegrationPsl", "MasterLabel": "Salesforce API Integration",
            "PermissionSetLicenseKey": "SalesforceAPIIntegrationPsl", "Status": "Active",
            "TotalLicenses": psl_seats, "UsedLicenses": 0, "IsAvailableForIntegrations": true,
        }),
    );
    for (profile, name) in [
        (&admin_profile, "System Administrator"),
        (&standard_profile, "Standard User"),
        (&int_profile, int_profile_name),
    ] {
        let ps_name = format!("X00e{}", &profile[3..15]);
        seeder.add(
            "PermissionSet",
            json!({
                "Name": ps_name, "Label": ps_name, "Description": format!("Profile-owned permission set of {name}"),
                "IsOwnedByProfile": true, "IsCustom": false, "Type": "Profile", "ProfileId": profile,
                "PermissionsApiEnabled": true, "PermissionsViewSetup": name == "System Administrator",
                "PermissionsViewRoles": name == "System Administrator",
                "PermissionsViewAllData": name == "System Administrator", "PermissionsModifyAllData": name == "System Administrator",
                "PermissionsManageTwoFactor": name == "System Administrator" && scenario != Scenario::NoMfaPermission,
            }),
        );
    }
    let mut sync_sets = Vec::new();
    if package {
        sync_sets.push(seeder.add(
            "PermissionSet",
            json!({"Name": "storeConnect_Sync", "Label": "StoreConnect Sync User Permission", "NamespacePrefix": "s_c", "IsCustom": false, "Type": "Regular", "PermissionsApiEnabled": true}),
        ));
        sync_sets.push(seeder.add(
            "PermissionSet",
            json!({"Name": "storeConnect_Sync_standard", "Label": "StoreConnect Sync Standard Permission", "NamespacePrefix": null, "IsCustom": true, "Type": "Regular", "PermissionsApiEnabled": true, "PermissionsViewSetup": true, "PermissionsViewRoles": true, "PermissionsViewAllData": true}),
        ));
        // Real sets of this kind carry no licence ("--None--") and grant object access
        // (real-org-review 5.2), so assigning them is what needs the PSL.
        for ps in &sync_sets {
            for object in ["Account", "Contact", "Order", "s_c__Setup_Configuration__c", "s_c__Store__c"] {
                seeder.add(
                    "ObjectPermissions",
                    json!({"ParentId": ps, "SobjectType": object, "PermissionsRead": true, "PermissionsCreate": true, "PermissionsEdit": true}),
                );
            }
        }
        seeder.add(
            "PermissionSet",
            json!({"Name": "storeConnect_Content_Manager", "Label": "StoreConnect Content Manager", "NamespacePrefix": "s_c", "IsCustom": false, "Type": "Regular"}),
        );
        seeder.add(
            "PermissionSet",
            json!({"Name": "StoreConnect_Theme_Manager", "Label": "StoreConnect Theme Manager", "NamespacePrefix": "s_c", "IsCustom": false, "Type": "Regular"}),
        );
    }

    let record_types = record_types(scenario);
    let mut rt_ids: Vec<(&SeedRecordType, String)> = Vec::new();
    for rt in &record_types {
        let id = seeder.add(
            "RecordType",
            json!({"Name": rt.label, "DeveloperName": rt.developer_name, "SobjectType": rt.object, "IsActive": rt.active, "IsPersonType": rt.person, "NamespacePrefix": null, "Description": format!("{} records", rt.label)}),
        );
        rt_ids.push((rt, id));
    }
    // The n-th active business record type of an object (wrapping), for sample records.
    let rt = |object: &str, n: usize| {
        let ids: Vec<&String> =
            rt_ids.iter().filter(|(t, _)| t.object == object && t.active && !t.person).map(|(_, id)| id).collect();
        if ids.is_empty() { Value::Null } else { json!(ids[n % ids.len()]) }
    };

    let acme = seeder.add("Account", json!({"Name": "Acme Outdoor Supplies", "AccountNumber": "A-1001", "RecordTypeId": rt("Account", 0), "Phone": "+61 2 5550 1000", "BillingCity": "Sydney", "BillingState": "NSW", "BillingCountry": "AU"}));
    let bulk = seeder.add("Account", json!({"Name": "Bulk Buyers Pty Ltd", "AccountNumber": "A-1002", "RecordTypeId": rt("Account", 1), "Industry": "Retail"}));
    seeder.add("Contact", json!({"FirstName": "Jane", "LastName": "Citizen", "AccountId": acme, "RecordTypeId": rt("Contact", 0), "Email": "jane.citizen@example.com"}));
    seeder.add("Contact", json!({"FirstName": "Sam", "LastName": "Trader", "AccountId": bulk, "RecordTypeId": rt("Contact", 1), "Email": "sam.trader@example.com"}));
    seeder.add("Order", json!({"Name": "Order 1", "AccountId": acme, "RecordTypeId": rt("Order", 0), "EffectiveDate": "2026-01-15", "Status": "Draft"}));

    if with_sync_user {
        let sync = seeder.add(
            "User",
            json!({
                "Username": SYNC_USERNAME, "FirstName": "StoreConnect", "LastName": "Sync User", "Email": "ops@storeconnect-demo.example",
                "Alias": "scsync", "CommunityNickname": "storeconnect.sync", "IsActive": true,
                "TimeZoneSidKey": "Australia/Sydney", "LocaleSidKey": "en_AU", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US",
                "ProfileId": int_profile,
            }),
        );
        seeder.add(
            "PermissionSetLicenseAssign",
            json!({"AssigneeId": sync, "PermissionSetLicenseId": psl, "IsRevoked": false}),
        );
        for ps in &sync_sets {
            seeder.add("PermissionSetAssignment", json!({"AssigneeId": sync, "PermissionSetId": ps}));
        }
        seeder.add("TwoFactorInfo", json!({"UserId": sync, "Type": "TOTP", "SharedKey": SEED_TOTP_SECRET}));
        crate::password::seed(&mut seeder.org, &sync, &now);
        // 15 characters: how StoreConnect stores the id is unconfirmed (real-org-review
        // 8.3), and the shorter form is the one a client comparing on 18 gets wrong.
        seeder.add(
            "s_c__Setup_Configuration__c",
            json!({"Name": "selected_sync_user_id", "s_c__Text__c": sync.get(..15).unwrap_or(&sync)}),
        );
    }
    if package {
        seeder.add("s_c__Store__c", json!({"Name": "Demo Store", "s_c__Domain__c": "shop.storeconnect-demo.example"}));
    }
    // One UserLogin per user.
    let users: Vec<String> =
        seeder.org.records("User").filter_map(|u| u.get("Id")?.as_str().map(str::to_string)).collect();
    for user in users {
        seeder.add("UserLogin", json!({"UserId": user}));
    }
    // Profile metadata: an entry for every record type; every active one visible, the
    // inactive one not. The integration profile defaults to the second active business
    // type (so a client that takes "the first" is wrong); the others to the first.
    let mut meta = ProfileMeta::new();
    for profile in [&admin_profile, &standard_profile, &int_profile] {
        let pick = if profile == &int_profile { 1 } else { 0 };
        let mut entries = Vec::new();
        for object in ["Account", "Contact", "Order"] {
            let of_object: Vec<&SeedRecordType> = record_types.iter().filter(|t| t.object == object).collect();
            let business: Vec<&&SeedRecordType> = of_object.iter().filter(|t| t.active && !t.person).collect();
            let default = business.get(pick).or(business.first()).map(|t| t.developer_name);
            let person_default = of_object.iter().find(|t| t.active && t.person).map(|t| t.developer_name);
            for t in &of_object {
                entries.push(RecordTypeVisibility {
                    record_type: format!("{object}.{}", t.developer_name),
                    visible: t.active,
                    default: Some(t.developer_name) == default,
                    person_account_default: Some(t.developer_name) == person_default,
                });
            }
        }
        meta.insert(profile.clone(), entries);
    }
    let entities: Vec<Value> = seeder.org.schema.objects().map(entity_definition).collect();
    for entity in entities {
        seeder.add("EntityDefinition", entity);
    }
    let mut org = seeder.org;
    derive_org(&mut org, &admin);
    Seed { org, org_id, admin_id: admin, meta }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storeconnect_seed_is_consistent() {
        let seed = build(Scenario::StoreConnect);
        let org = &seed.org;
        let users: Vec<_> = org.records("User").collect();
        assert_eq!(users.len(), 2);
        let int =
            org.records("UserLicense").find(|l| l["Name"] == "Salesforce Integration").cloned().unwrap_or_default();
        assert_eq!(int["UsedLicenses"], json!(1));
        assert_eq!(int["TotalLicenses"], json!(5));
        let psl = org.records("PermissionSetLicense").next().cloned().unwrap_or_default();
        assert_eq!(psl["UsedLicenses"], json!(1));
        let config = org.records("s_c__Setup_Configuration__c").next().cloned().unwrap_or_default();
        let sync = users.iter().find(|u| u["Username"] == SYNC_USERNAME).map(|u| u["Id"].clone()).unwrap_or_default();
        assert_eq!(config["s_c__Text__c"].as_str(), sync.as_str().and_then(|s| s.get(..15)));
        for user in &users {
            let id = user["Id"].as_str().unwrap_or_default();
            assert!(crate::password::has_password(org, id) && !crate::password::is_expired(org, id));
            assert!(user["LastPasswordChangeDate"].is_string());
        }
        let sets: Vec<_> = org
            .records("PermissionSet")
            .filter(|p| p["Name"].as_str().is_some_and(|n| n.starts_with("storeConnect_Sync")))
            .collect();
        assert_eq!(sets.len(), 2);
        assert!(sets.iter().all(|p| p["LicenseId"].is_null()));
        assert!(sets.iter().all(|p| crate::access::first_object_grant(org, p["Id"].as_str().unwrap_or_default())
            == Some(("Read", "Account".to_string()))));
        let admin = seed.admin_id.as_str();
        assert!(crate::access::holds_permission(org, admin, crate::access::MFA_API_PERMISSION));
        assert!(org.schema.object("TwoFactorInfo").is_some());
        assert_eq!(org.records("TwoFactorMethodsInfo").filter(|m| m["HasTotp"] == json!(true)).count(), 1);
        assert_eq!(org.records("UserLogin").count(), 2);
        let tfi = org.records("TwoFactorInfo").next().cloned().unwrap_or_default();
        assert_eq!(tfi["SharedKey"], Value::Null);
    }

    #[test]
    fn scenarios_differ_as_documented() {
        let no_pkg = build(Scenario::NoPackage);
        assert!(no_pkg.org.schema.object("s_c__Store__c").is_none());
        assert_eq!(no_pkg.org.records("PermissionSet").filter(|p| p["IsOwnedByProfile"] == json!(false)).count(), 0);
        let no_mfa = build(Scenario::NoMfaPermission);
        assert!(!crate::access::holds_permission(&no_mfa.org, &no_mfa.admin_id, crate::access::MFA_API_PERMISSION));
        assert!(no_mfa.org.schema.object("TwoFactorMethodsInfo").is_none());
        assert!(no_mfa.org.schema.denies("twofactorinfo"));
        assert_eq!(no_mfa.org.records("User").count(), 2);
        let legacy = build(Scenario::LegacyProfile);
        assert!(legacy.org.records("Profile").any(|p| p["Name"] == LEGACY_INTEGRATION_PROFILE));
        let single = build(Scenario::SingleRecordTypes);
        assert_eq!(single.org.records("RecordType").count(), 3);
        let scratch = build(Scenario::Scratch);
        let o = scratch.org.records("Organization").next().cloned().unwrap_or_default();
        assert_eq!(o["IsSandbox"], json!(true));
        assert!(o["TrialExpirationDate"].is_string());
        assert_eq!(scratch.org.records("User").count(), 1);
        let no_seats = build(Scenario::NoSeats);
        let int = no_seats
            .org
            .records("UserLicense")
            .find(|l| l["Name"] == "Salesforce Integration")
            .cloned()
            .unwrap_or_default();
        assert_eq!((int["TotalLicenses"].clone(), int["UsedLicenses"].clone()), (json!(1), json!(1)));
    }
}
