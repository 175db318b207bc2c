//! Resolving an `sf` CLI alias or username to an instance URL, API version and token.
//!
//! `sf org display --target-org NAME --json` gives `result.instanceUrl` and
//! `result.apiVersion`. Since May 2026 it redacts `result.accessToken`, so the token
//! comes from `sf org auth show-access-token --target-org NAME --json`; older CLIs
//! without that command still print the token in `org display`. A value starting with
//! `[REDACTED]` is never used as a token. The two commands run concurrently.

use std::ffi::OsString;
use std::process::Stdio;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

use super::TargetError;

/// The program run; found on PATH.
const PROGRAM: &str = "sf";
/// The sf CLI refreshes tokens over the network: give it time, but not forever.
const TIMEOUT: Duration = Duration::from_secs(120);
/// Quiet, non-interactive, and no self-update in the middle of a run.
const ENV: [(&str, &str); 4] = [
    ("SF_DISABLE_TELEMETRY", "true"),
    ("SF_SKIP_NEW_VERSION_CHECK", "true"),
    ("SF_AUTOUPDATE_DISABLE", "true"),
    ("SF_DISABLE_AUTOUPDATE", "true"),
];
/// What the child may see of runner's environment: where home, programs, the sf CLI's
/// own settings, proxies, extra CAs, the locale and the temp folder are. Nothing else:
/// runner's environment may hold SF_ACCESS_TOKEN and the client secrets runner.toml
/// names.
const ALLOWED_ENV: [&str; 14] = [
    "HOME",
    "PATH",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "NODE_EXTRA_CA_CERTS",
    "LANG",
    "TMPDIR",
    // Where Windows keeps home and programs.
    "USERPROFILE",
    "APPDATA",
    "LOCALAPPDATA",
    "SYSTEMROOT",
    "PATHEXT",
];

/// The variables passed on to `sf` out of `vars`: the allow-list above (proxy names in
/// either case), `LC_*`, and the sf CLI's `SF_*` and `SFDX_*` settings, bar any that
/// holds a secret (`SF_ACCESS_TOKEN`, `SFDX_ACCESS_TOKEN`, a `…_SECRET`).
fn child_env(vars: impl Iterator<Item = (OsString, OsString)>) -> Vec<(OsString, OsString)> {
    vars.filter(|(name, _)| {
        let Some(name) = name.to_str() else { return false };
        let upper = name.to_ascii_uppercase();
        let proxy = upper.ends_with("_PROXY") && ALLOWED_ENV.contains(&upper.as_str());
        let sf_setting =
            (name.starts_with("SF_") || name.starts_with("SFDX_")) && !runner_core::redact::is_secret_name(name);
        ALLOWED_ENV.contains(&name) || proxy || name.starts_with("LC_") || sf_setting
    })
    .collect()
}

const DISPLAY: &str = "org display";
const SHOW_TOKEN: &str = "org auth show-access-token";
/// sf's error name for an alias or username it has no authorization for.
const NOT_FOUND_ERRORS: [&str; 2] = ["NamedOrgNotFoundError", "NamedOrgNotFound"];

/// What the sf CLI says about an org.
pub struct SfOrg {
    pub instance_url: String,
    pub api_version: Option<String>,
    pub access_token: SecretString,
}

/// One finished `sf` run.
struct Run {
    success: bool,
    /// The JSON envelope (stdout, or stderr for CLIs that print errors there).
    json: Option<Value>,
    /// The last line of stderr, for when there is no JSON.
    stderr_tail: String,
}

enum RunError {
    NotInstalled,
    Spawn(std::io::Error),
    TimedOut,
}

impl Run {
    /// `status` 0 and a zero exit.
    fn ok(&self) -> bool {
        self.success && self.json.as_ref().and_then(|j| j.get("status")).and_then(Value::as_i64).unwrap_or(0) == 0
    }

    fn result_str(&self, key: &str) -> Option<&str> {
        self.json.as_ref()?.get("result")?.get(key)?.as_str()
    }

    /// sf's error `name`.
    fn error_name(&self) -> Option<&str> {
        self.json.as_ref()?.get("name")?.as_str()
    }

    /// sf's error message, clipped; stderr's last line without JSON. Never stdout's
    /// raw text, which may hold a token.
    fn error_message(&self) -> String {
        let message = self.json.as_ref().and_then(|j| j.get("message")).and_then(Value::as_str);
        let text = match message {
            Some(message) => message.trim(),
            None if !self.stderr_tail.is_empty() => self.stderr_tail.as_str(),
            None => "it printed no JSON error",
        };
        clip(text)
    }
}

fn clip(text: &str) -> String {
    const MAX: usize = 300;
    let text = text.replace(['\n', '\r'], " ");
    if text.chars().count() <= MAX { text } else { format!("{}…", text.chars().take(MAX).collect::<String>()) }
}

/// The JSON object in `bytes`: all of it, or from the first `{` to the last `}` (for
/// a CLI that prints a warning line around it).
fn json_in(bytes: &[u8]) -> Option<Value> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if let Ok(value) = serde_json::from_str::<Value>(text)
        && value.is_object()
    {
        return Some(value);
    }
    let (start, end) = (text.find('{')?, text.rfind('}')?);
    serde_json::from_str::<Value>(text.get(start..=end)?).ok().filter(Value::is_object)
}

/// A usable token: not empty, not redacted.
fn usable(token: Option<&str>) -> Option<&str> {
    token.map(str::trim).filter(|t| !t.is_empty() && !t.starts_with("[REDACTED]"))
}

async fn run(command: &str, name: &str) -> Result<Run, RunError> {
    let mut cmd = tokio::process::Command::new(PROGRAM);
    cmd.args(command.split(' '))
        .arg("--target-org")
        .arg(name)
        .arg("--json")
        .env_clear()
        .envs(child_env(std::env::vars_os()))
        .envs(ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(TIMEOUT, cmd.output()).await {
        Err(_) => return Err(RunError::TimedOut),
        Ok(Err(err)) if err.kind() == std::io::ErrorKind::NotFound => return Err(RunError::NotInstalled),
        Ok(Err(err)) => return Err(RunError::Spawn(err)),
        Ok(Ok(output)) => output,
    };
    let json = json_in(&output.stdout).or_else(|| json_in(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr_tail = stderr.lines().rev().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default().to_string();
    Ok(Run { success: output.status.success(), json, stderr_tail })
}

/// Asks the sf CLI for `name`'s instance, API version and token. `searched` names the
/// runner.toml files that did not define `name`, for the messages.
pub async fn resolve(name: &str, searched: &str) -> Result<SfOrg, TargetError> {
    let (display, show) = tokio::join!(run(DISPLAY, name), run(SHOW_TOKEN, name));
    let run_error = |command: &str, err: RunError| match err {
        RunError::NotInstalled => TargetError::SfNotFound { name: name.into(), searched: searched.into() },
        RunError::Spawn(err) => TargetError::SfFailed {
            name: name.into(),
            command: command.into(),
            message: format!("cannot run `{PROGRAM}`: {err}"),
        },
        RunError::TimedOut => {
            TargetError::SfTimeout { name: name.into(), command: command.into(), seconds: TIMEOUT.as_secs() }
        }
    };
    let display = display.map_err(|err| run_error(DISPLAY, err))?;
    if !display.ok() {
        let message = display.error_message();
        let not_found = display.error_name().is_some_and(|n| NOT_FOUND_ERRORS.contains(&n))
            || message.contains("No authorization information found");
        return Err(if not_found {
            TargetError::UnknownOrg { name: name.into(), searched: searched.into(), sf_message: message }
        } else {
            TargetError::SfFailed { name: name.into(), command: DISPLAY.into(), message }
        });
    }
    let Some(instance_url) = display.result_str("instanceUrl").map(str::trim).filter(|u| !u.is_empty()) else {
        return Err(TargetError::SfFailed {
            name: name.into(),
            command: DISPLAY.into(),
            message: "its result has no instanceUrl".into(),
        });
    };
    let api_version = display.result_str("apiVersion").map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    let shown = show.as_ref().ok().filter(|run| run.ok()).and_then(|run| usable(run.result_str("accessToken")));
    let token = match shown.or_else(|| usable(display.result_str("accessToken"))) {
        Some(token) => SecretString::from(token.to_string()),
        None => {
            let why = match &show {
                Ok(run) if run.ok() => "`sf org auth show-access-token` printed no token".to_string(),
                Ok(run) => format!("`sf org auth show-access-token` failed ({})", run.error_message()),
                Err(RunError::TimedOut) => "`sf org auth show-access-token` timed out".to_string(),
                Err(_) => "`sf org auth show-access-token` could not run".to_string(),
            };
            return Err(TargetError::SfNoToken {
                name: name.into(),
                detail: format!("{why}, and `sf org display` gives none (it redacts tokens since May 2026)"),
            });
        }
    };
    Ok(SfOrg { instance_url: instance_url.to_string(), api_version, access_token: token })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_gets_an_allow_list_of_the_environment() {
        let vars = [
            ("HOME", "/home/u"),
            ("PATH", "/usr/bin"),
            ("SF_ACCESS_TOKEN", "00Dx!secret"),
            ("SFDX_ACCESS_TOKEN", "00Dx!secret"),
            ("ACME_CLIENT_SECRET", "s3cr3t"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
            ("SF_USE_GENERIC_UNIX_KEYCHAIN", "true"),
            ("SFDX_LOG_LEVEL", "warn"),
            ("https_proxy", "http://proxy:3128"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("no_proxy", "localhost"),
            ("NODE_EXTRA_CA_CERTS", "/ca.pem"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C.UTF-8"),
            ("TMPDIR", "/tmp"),
            ("RUNNER_SIM_TOKEN", "t0k3n-value"),
            ("XAUTHORITY", "/x"),
        ];
        let passed: Vec<String> = child_env(vars.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))))
            .into_iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            passed,
            [
                "HOME",
                "PATH",
                "SF_USE_GENERIC_UNIX_KEYCHAIN",
                "SFDX_LOG_LEVEL",
                "https_proxy",
                "HTTPS_PROXY",
                "no_proxy",
                "NODE_EXTRA_CA_CERTS",
                "LANG",
                "LC_ALL",
                "TMPDIR"
            ]
        );
    }

    #[test]
    fn redacted_and_empty_tokens_are_not_tokens() {
        assert_eq!(usable(Some("[REDACTED] Use 'sf org auth show-access-token' to view")), None);
        assert_eq!(usable(Some("  ")), None);
        assert_eq!(usable(None), None);
        assert_eq!(usable(Some("00D!abc")), Some("00D!abc"));
    }

    #[test]
    fn the_json_envelope_is_found_around_noise() {
        let noisy = b"Warning: something\n{\"status\":0,\"result\":{\"instanceUrl\":\"https://a.example\"}}\n";
        assert_eq!(
            json_in(noisy).and_then(|j| j["result"]["instanceUrl"].as_str().map(String::from)).as_deref(),
            Some("https://a.example")
        );
        assert!(json_in(b"no json here").is_none());
        assert!(json_in(b"[1, 2]").is_none());
    }

    #[test]
    fn error_messages_are_clipped_to_one_line() {
        let run = Run {
            success: false,
            json: Some(serde_json::json!({"status": 1, "name": "X", "message": format!("a\nb{}", "c".repeat(400))})),
            stderr_tail: String::new(),
        };
        let message = run.error_message();
        assert!(message.starts_with("a b") && message.ends_with('…') && message.chars().count() == 301, "{message}");
    }
}
