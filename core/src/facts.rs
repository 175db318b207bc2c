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
    /// The running user's profile, through which it holds permissions. Empty in the
    /// read-ahead's observe pass, which reads it (see [`OrgFacts::read`]).
    pub profile_id: String,
    /// The running user's settings, used as defaults for new users.
    pub user_defaults: UserDefaults,
    /// Whether the running user's row has been read ([`OrgFacts::complete`]).
    #[serde(skip)]
    pub running_user_read: bool,
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
    /// Reads the facts in one round trip: `userinfo` and the Organization at once. The
    /// running user's row (its profile and settings) needs the user id that `userinfo`
    /// gives, so it is not read here: [`OrgFacts::running_user_soql`] is read with the
    /// run's first read-ahead batch and [`OrgFacts::complete`] fills it in. Until then the
    /// settings are `userinfo`'s (the same values: `zoneinfo`, `locale`, `language`) and
    /// `profile_id` is empty.
    pub async fn read(client: &SfClient, target: &str, simulated: bool) -> Result<OrgFacts, ClientError> {
        let (info, org) = tokio::join!(client.userinfo(), client.query(ORGANIZATION_SOQL));
        let info = info?;
        let org = org?.records.into_iter().next().unwrap_or_default();
        Ok(OrgFacts {
            target: target.to_string(),
            instance_url: client.instance_url().as_str().trim_end_matches('/').to_string(),
            api_version: client.api_version().to_string(),
            org_id: first_nonempty(string(&org, "Id"), string(&info, "organization_id")),
            org_name: string(&org, "Name"),
            edition: string(&org, "OrganizationType"),
            is_sandbox: org.get("IsSandbox").and_then(Value::as_bool).unwrap_or(false),
            simulated,
            username: string(&info, "preferred_username"),
            profile_id: String::new(),
            user_id: string(&info, "user_id"),
            user_defaults: UserDefaults {
                time_zone: string(&info, "zoneinfo"),
                locale: string(&info, "locale"),
                language: string(&info, "language"),
                email_encoding: "UTF-8".into(),
            },
            running_user_read: false,
        })
    }

    /// The query of the running user's row, until [`OrgFacts::complete`] has it.
    pub fn running_user_soql(&self) -> Option<String> {
        (!self.running_user_read && !self.user_id.is_empty()).then(|| {
            format!(
                "SELECT Id, Username, ProfileId, TimeZoneSidKey, LocaleSidKey, LanguageLocaleKey, EmailEncodingKey FROM User WHERE Id = '{}'",
                crate::client::soql::soql_escape(&self.user_id)
            )
        })
    }

    /// Fills in the running user's row; what it lacks stays as `userinfo` said.
    pub fn complete(&mut self, user: &Map<String, Value>) {
        let keep = |field: &mut String, key: &str| {
            let value = string(user, key);
            if !value.is_empty() {
                *field = value;
            }
        };
        keep(&mut self.username, "Username");
        keep(&mut self.profile_id, "ProfileId");
        keep(&mut self.user_defaults.time_zone, "TimeZoneSidKey");
        keep(&mut self.user_defaults.locale, "LocaleSidKey");
        keep(&mut self.user_defaults.language, "LanguageLocaleKey");
        keep(&mut self.user_defaults.email_encoding, "EmailEncodingKey");
        self.running_user_read = true;
    }

    /// Reads the running user's row now, when no read-ahead batch took it along.
    pub async fn complete_from(&mut self, client: &SfClient) -> Result<(), ClientError> {
        if let Some(soql) = self.running_user_soql() {
            let user = client.query(&soql).await?.records.into_iter().next().unwrap_or_default();
            self.complete(&user);
        }
        Ok(())
    }
}

fn string(map: &Map<String, Value>, key: &str) -> String {
    map.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn first_nonempty(a: String, b: String) -> String {
    if a.is_empty() { b } else { a }
}
