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
    /// The running user's profile, through which it holds permissions.
    pub profile_id: String,
    /// The running user's settings, used as defaults for new users.
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
    /// Reads the facts: `userinfo`, then the Organization and the running user in one batch.
    pub async fn read(client: &SfClient, target: &str, simulated: bool) -> Result<OrgFacts, ClientError> {
        let info = client.userinfo().await?;
        let user_id = string(&info, "user_id");
        let user_soql = format!(
            "SELECT Id, Username, ProfileId, TimeZoneSidKey, LocaleSidKey, LanguageLocaleKey, EmailEncodingKey FROM User WHERE Id = '{}'",
            crate::client::soql::soql_escape(&user_id)
        );
        let mut results = client.query_batch(&[ORGANIZATION_SOQL.to_string(), user_soql]).await?.into_iter();
        let org = results.next().transpose()?.and_then(|r| r.records.into_iter().next()).unwrap_or_default();
        let user = results.next().transpose()?.and_then(|r| r.records.into_iter().next()).unwrap_or_default();
        Ok(OrgFacts {
            target: target.to_string(),
            instance_url: client.instance_url().as_str().trim_end_matches('/').to_string(),
            api_version: client.api_version().to_string(),
            org_id: first_nonempty(string(&org, "Id"), string(&info, "organization_id")),
            org_name: string(&org, "Name"),
            edition: string(&org, "OrganizationType"),
            is_sandbox: org.get("IsSandbox").and_then(Value::as_bool).unwrap_or(false),
            simulated,
            username: first_nonempty(string(&user, "Username"), string(&info, "preferred_username")),
            profile_id: string(&user, "ProfileId"),
            user_id,
            user_defaults: UserDefaults {
                time_zone: first_nonempty(string(&user, "TimeZoneSidKey"), string(&info, "zoneinfo")),
                locale: first_nonempty(string(&user, "LocaleSidKey"), string(&info, "locale")),
                language: first_nonempty(string(&user, "LanguageLocaleKey"), string(&info, "language")),
                email_encoding: first_nonempty(string(&user, "EmailEncodingKey"), "UTF-8".into()),
            },
        })
    }
}

fn string(map: &Map<String, Value>, key: &str) -> String {
    map.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn first_nonempty(a: String, b: String) -> String {
    if a.is_empty() { b } else { a }
}
