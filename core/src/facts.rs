//! Facts about the target org, read once per run and given to playbooks as `org`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::client::{ClientError, SfClient};

/// What a playbook (and a step) knows about the org it runs against.
#[derive(Debug, Clone, Serialize)]
pub struct OrgFacts {
    /// The `--org` value this run was started with.
    pub target: String,
    pub instance_url: String,
    pub api_version: String,
    pub org_id: String,
    pub org_name: String,
    pub edition: String,
    pub is_sandbox: bool,
    /// True when the target is runner's simulated org.
    pub simulated: bool,
    pub user_id: String,
    pub username: String,
    /// The running user's settings (`userinfo`'s `zoneinfo`, `locale`, `language`), the
    /// defaults of new users.
    pub user_defaults: UserDefaults,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct UserDefaults {
    pub time_zone: String,
    pub locale: String,
    pub language: String,
    pub email_encoding: String,
}

const ORGANIZATION_SOQL: &str = "SELECT Id, Name, OrganizationType, IsSandbox FROM Organization";

impl OrgFacts {
    /// What is known before the org has answered: enough for a playbook's observe pass,
    /// which runs while [`OrgFacts::read`] is under way. Every read a step declares must
    /// therefore stand without the org's answers (the running user is
    /// `UserPermissionAccess`, never an id); what a playbook reads from `org` differently
    /// once the facts are in costs the read-ahead a round, never a wrong answer, since
    /// answers are kept by their query's text.
    pub fn provisional(client: &SfClient, target: &str, simulated: bool) -> OrgFacts {
        OrgFacts {
            target: target.to_string(),
            instance_url: client.instance_url().as_str().trim_end_matches('/').to_string(),
            api_version: client.api_version().to_string(),
            org_id: String::new(),
            org_name: String::new(),
            edition: String::new(),
            is_sandbox: false,
            simulated,
            user_id: String::new(),
            username: String::new(),
            user_defaults: UserDefaults::default(),
        }
    }

    /// Reads the facts in one round trip: `userinfo` and the Organization at once. The
    /// running user's settings are `userinfo`'s: the same values its User row holds
    /// (`TimeZoneSidKey`, `LocaleSidKey`, `LanguageLocaleKey`), without the round trip the
    /// row would cost after `userinfo` gave its id. `userinfo` has no email encoding:
    /// `UTF-8`, the picklist's Unicode entry, which can write every language.
    pub async fn read(client: &SfClient, target: &str, simulated: bool) -> Result<OrgFacts, ClientError> {
        let (info, org) = tokio::join!(client.userinfo(), client.query(ORGANIZATION_SOQL));
        let info = info?;
        let org = org?.records.into_iter().next().unwrap_or_default();
        Ok(OrgFacts {
            org_id: first_nonempty(string(&org, "Id"), string(&info, "organization_id")),
            org_name: string(&org, "Name"),
            edition: string(&org, "OrganizationType"),
            is_sandbox: org.get("IsSandbox").and_then(Value::as_bool).unwrap_or(false),
            username: string(&info, "preferred_username"),
            user_id: string(&info, "user_id"),
            user_defaults: UserDefaults {
                time_zone: string(&info, "zoneinfo"),
                locale: string(&info, "locale"),
                language: string(&info, "language"),
                email_encoding: "UTF-8".into(),
            },
            ..OrgFacts::provisional(client, target, simulated)
        })
    }
}

fn string(map: &Map<String, Value>, key: &str) -> String {
    map.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn first_nonempty(a: String, b: String) -> String {
    if a.is_empty() { b } else { a }
}
