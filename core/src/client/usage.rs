//! The org's daily API usage, as Salesforce reports it on every REST answer.

use serde::{Deserialize, Serialize};

/// The org's daily API usage, from the last `Sforce-Limit-Info: api-usage=USED/LIMIT` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiUsage {
    pub used: u64,
    pub limit: u64,
}

impl ApiUsage {
    /// Parses a `Sforce-Limit-Info` header value, e.g.
    /// `api-usage=18/5000, per-app-api-usage=17/250(appName=sample-app)`.
    pub fn parse_header(value: &str) -> Option<ApiUsage> {
        value.split([',', ';']).find_map(|part| {
            let rest = part.trim().strip_prefix("api-usage=")?;
            let (used, limit) = rest.split_once('/')?;
            let limit: String = limit.trim().chars().take_while(|c| c.is_ascii_digit()).collect();
            Some(ApiUsage { used: used.trim().parse().ok()?, limit: limit.parse().ok()? })
        })
    }
}

impl std::fmt::Display for ApiUsage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.used, self.limit)
    }
}
