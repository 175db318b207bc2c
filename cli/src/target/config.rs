//! Named orgs from `runner.toml`:
//!
//! ```toml
//! [orgs.acme-prod]
//! instance_url = "https://acme.my.salesforce.com"
//! auth = "client_credentials"          # or "jwt" or "refresh_token"
//! client_id = "3MVG9…"
//! client_secret_env = "ACME_CLIENT_SECRET"      # or client_secret_file = "secrets/acme.secret"
//! # jwt: username = "…", private_key_file = "keys/acme.key", login_url = "https://login.salesforce.com",
//! #      audience = "https://test.salesforce.com" (default: from login_url)
//! # refresh_token: refresh_token_env = "…" / refresh_token_file = "…"
//! api_version = "62.0"                 # optional: runner's pinned version by default; "newest" asks the org
//! ```
//!
//! It is also the inventory: `[orgs.NAME.vars]` (that org's playbook vars), `[groups]` (`clients = ["acme-prod",
//! "@eu"]`, a member being an org or another group) and `[group_vars.NAME]` (vars for every org of a group).
//!
//! The file is looked for in the working directory, then in the user config directory (or is `--config FILE`).
//! Relative paths in it are relative to the file's own folder. Secrets come from
//! environment variables, or from files that only their owner can read (mode 0600).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use miette::Diagnostic;
use runner_core::client::{Auth, check_secure};
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::TargetError;
use super::jwt::{Audience, JwtBearer};

/// The file name, in the working directory and in the user config directory.
pub const FILE_NAME: &str = "runner.toml";
/// Where the JWT bearer flow logs in when `login_url` is not given.
const DEFAULT_LOGIN_URL: &str = "https://login.salesforce.com";
/// Biggest runner.toml, secret or key file read.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

const KEYS_HELP: &str = "runner.toml has lib_path = [\"folder\", …] (where `import` looks after the playbook's folder), [orgs.NAME] tables with: instance_url, auth (\"client_credentials\", \"jwt\" or \"refresh_token\"), client_id, client_secret_env or client_secret_file, username, private_key_file, login_url, audience, refresh_token_env or refresh_token_file, api_version (\"62.0\", or \"newest\" to ask the org), and a [orgs.NAME.vars] table; besides them, [groups] (NAME = [\"org-a\", \"@other-group\"]) and [group_vars.NAME] tables";

/// runner.toml is not valid: its syntax, or a key that is not known. It names the
/// line, the column and the key, never the text there: a line may hold a secret.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("invalid {}{}: {message}", .path.display(), .at.as_deref().unwrap_or_default())]
#[diagnostic(code(runner::config::parse))]
pub struct ParseError {
    path: PathBuf,
    message: String,
    /// ` at line L, column C (key `K`)`.
    at: Option<String>,
    #[help]
    help: String,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Parse(Box<ParseError>),
    #[error("cannot read {}: {source}", .path.display())]
    #[diagnostic(code(runner::config::read), help("check that the file exists and is readable"))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("[orgs.{org}] in {}: {reason}", .path.display())]
    #[diagnostic(code(runner::config::invalid), help("{help}"))]
    Invalid { path: PathBuf, org: String, reason: String, help: String },
    #[error("the environment variable {var} (the {what} of [orgs.{org}]) is not set or is empty")]
    #[diagnostic(
        code(runner::config::secret_env),
        help("export the variable {what}_env names before running runner, or use {what}_file")
    )]
    SecretEnv { org: String, var: String, what: String },
    #[error("[orgs.{org}] in {}: the value of {key} is not a valid environment variable name", .path.display())]
    #[diagnostic(
        code(runner::config::env_name),
        help(
            "{key} names the environment variable that holds the secret (letters, digits and _, not starting with a digit), e.g. {key} = \"ACME_SECRET\"; the secret itself goes in that variable, or in a mode-0600 file named by {file_key}. If you pasted the secret there, consider it exposed and rotate it"
        )
    )]
    EnvName { path: PathBuf, org: String, key: String, file_key: String },
    #[error("refusing to read the {what} from {}: its mode is {mode:04o}, so other users can read it", .path.display())]
    #[diagnostic(code(runner::config::secret_file_mode), help("run `chmod 600 {}`", shell_quote(.path)))]
    SecretFileMode { path: PathBuf, what: String, mode: u32 },
    #[error("cannot read the {what} from {}: {reason}", .path.display())]
    #[diagnostic(
        code(runner::config::secret_file),
        help("check the path in runner.toml (relative paths start at runner.toml's folder)")
    )]
    SecretFile { path: PathBuf, what: String, reason: String },
    #[error("{} is not a usable private key: {reason}", .path.display())]
    #[diagnostic(
        code(runner::config::private_key),
        help(
            "give the unencrypted RSA private key (PEM, `BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`, 2048 bits or more) whose certificate is uploaded to the connected app"
        )
    )]
    PrivateKey { path: PathBuf, reason: String },
    #[error("{} {reason}", describe_files(.files))]
    #[diagnostic(code(runner::config::inventory), help("{help}"))]
    Inventory { files: Vec<PathBuf>, reason: String, help: String },
    #[error("no group `{name}` in {}", describe_files(.files))]
    #[diagnostic(code(runner::config::unknown_group), help("{help}"))]
    UnknownGroup { name: String, files: Vec<PathBuf>, help: String },
    #[error("the groups of {} contain each other: {cycle}", describe_files(.files))]
    #[diagnostic(
        code(runner::config::group_cycle),
        help(
            "a group may name other groups, but never itself, directly or through another: remove one of these members"
        )
    )]
    GroupCycle { files: Vec<PathBuf>, cycle: String },
    #[error("{} is not trusted: a runner.toml outside ~/.config/runner/ is used only once trusted, and this one is new or was edited since", .path.display())]
    #[diagnostic(
        code(runner::config::untrusted),
        help(
            "read it (it chooses the hosts your secrets and key files are sent to), then run `{command}`; or name it for one run with --config"
        )
    )]
    Untrusted { path: PathBuf, command: String },
    #[error("refusing {}: {reason}", .path.display())]
    #[diagnostic(code(runner::config::unsafe_permissions), help("{fix}"))]
    UnsafePermissions { path: PathBuf, reason: String, fix: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    orgs: BTreeMap<String, OrgEntry>,
    /// Folders `import` looks in after the playbook's own, relative to this file's folder.
    #[serde(default)]
    lib_path: Vec<String>,
    /// `clients = ["acme-prod", "globex-prod", "@eu"]`: a member is an org, or a group (by name or `@name`).
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
    /// `[group_vars.clients]`: vars for every org of a group (Ansible's name for them). Not `[groups.vars.NAME]`,
    /// which would make `vars` a name no group could have.
    #[serde(default)]
    group_vars: BTreeMap<String, IndexMap<String, VarText>>,
}

/// A var's value in runner.toml: a string, or a number or boolean written as TOML does, which the playbook
/// reads as text like a `--var`.
#[derive(Debug, Clone, PartialEq)]
pub struct VarText(pub String);

impl<'de> Deserialize<'de> for VarText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = VarText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<VarText, E> {
                Ok(VarText(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<VarText, E> {
                Ok(VarText(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<VarText, E> {
                Ok(VarText(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<VarText, E> {
                Ok(VarText(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<VarText, E> {
                Ok(VarText(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AuthKind {
    ClientCredentials,
    Jwt,
    RefreshToken,
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthKind::ClientCredentials => "client_credentials",
            AuthKind::Jwt => "jwt",
            AuthKind::RefreshToken => "refresh_token",
        })
    }
}

impl AuthKind {
    /// The optional keys this kind of auth reads, and what it needs.
    fn keys(self) -> (&'static [&'static str], &'static str) {
        match self {
            AuthKind::ClientCredentials => (
                &["client_secret_env", "client_secret_file"],
                "auth = \"client_credentials\" takes instance_url, client_id, and client_secret_env or client_secret_file",
            ),
            AuthKind::Jwt => (
                &["username", "private_key_file", "login_url", "audience"],
                "auth = \"jwt\" takes instance_url, client_id, username, private_key_file, and optionally login_url (default https://login.salesforce.com) and audience (the JWT `aud`: https://login.salesforce.com for production, https://test.salesforce.com for sandboxes, or an Experience Cloud site URL; by default guessed from login_url, with the other tried once when refused)",
            ),
            AuthKind::RefreshToken => (
                &["refresh_token_env", "refresh_token_file", "client_secret_env", "client_secret_file"],
                "auth = \"refresh_token\" takes instance_url, client_id, refresh_token_env or refresh_token_file, and optionally client_secret_env or client_secret_file",
            ),
        }
    }
}

/// One `[orgs.NAME]` table. Every key is known: anything else is an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgEntry {
    instance_url: String,
    auth: AuthKind,
    client_id: String,
    client_secret_env: Option<String>,
    client_secret_file: Option<String>,
    username: Option<String>,
    private_key_file: Option<String>,
    login_url: Option<String>,
    audience: Option<String>,
    refresh_token_env: Option<String>,
    refresh_token_file: Option<String>,
    /// `"62.0"`, or `"newest"` to read the org's version list on connecting (a round trip
    /// more); runner's pinned version when not given.
    api_version: Option<String>,
    /// `[orgs.NAME.vars]`: this org's playbook vars.
    #[serde(default)]
    vars: IndexMap<String, VarText>,
}

impl OrgEntry {
    /// The optional keys that are set, by name.
    fn optional_keys(&self) -> [(&'static str, bool); 8] {
        [
            ("client_secret_env", self.client_secret_env.is_some()),
            ("client_secret_file", self.client_secret_file.is_some()),
            ("username", self.username.is_some()),
            ("private_key_file", self.private_key_file.is_some()),
            ("login_url", self.login_url.is_some()),
            ("audience", self.audience.is_some()),
            ("refresh_token_env", self.refresh_token_env.is_some()),
            ("refresh_token_file", self.refresh_token_file.is_some()),
        ]
    }
}

/// A named org found in a runner.toml.
#[derive(Debug, Clone)]
pub struct NamedOrg {
    name: String,
    /// The runner.toml it came from.
    file: PathBuf,
    entry: OrgEntry,
}

/// What [`NamedOrg::resolve`] gives: where to connect and how to get tokens.
pub struct Resolved {
    pub instance_url: String,
    pub auth: Auth,
    /// `None` asks for the newest (the version list); the client checks the text.
    pub api_version: Option<String>,
}

/// The runner.toml files to look in, in order: the working directory's, then the
/// user config directory's.
pub fn candidate_files() -> Vec<PathBuf> {
    let local = std::env::current_dir().map(|dir| dir.join(FILE_NAME)).unwrap_or_else(|_| PathBuf::from(FILE_NAME));
    let mut files = vec![local];
    if let Some(dirs) = directories::ProjectDirs::from("", "", "runner") {
        let user = dirs.config_dir().join(FILE_NAME);
        if !files.contains(&user) {
            files.push(user);
        }
    }
    files
}

/// Whether the sf CLI has an alias `name`, read from its alias file without running `sf`: `~/.sfdx/alias.json`,
/// `{"orgs": {"ALIAS": "username"}}`, where @salesforce/core keeps aliases (forcedotcom/sfdx-core,
/// src/stateAggregator/accessors/aliasAccessor.ts: `FILENAME = 'alias.json'` in `Global.DIR`, `~/.sfdx`). Only
/// for a warning: a file that is missing or unreadable means no alias.
pub fn is_sf_alias(name: &str) -> bool {
    let Some(dirs) = directories::BaseDirs::new() else { return false };
    let Ok(file) = std::fs::File::open(dirs.home_dir().join(".sfdx").join("alias.json")) else { return false };
    let mut text = String::new();
    if file.take(MAX_FILE_BYTES).read_to_string(&mut text).is_err() {
        return false;
    }
    serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|aliases| aliases["orgs"].get(name).is_some())
}

/// `a/runner.toml, b/runner.toml` for messages.
pub fn describe_files(files: &[PathBuf]) -> String {
    files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" and ")
}

/// Looks `name` up in the first of `files` that defines it. A file that exists but
/// cannot be read or parsed is an error even when a later one would define the org.
pub fn find_org(name: &str, files: &[PathBuf], explicit: bool) -> Result<Option<NamedOrg>, ConfigError> {
    for file in files {
        if !file.is_file() {
            continue;
        }
        let mut orgs = load(file, explicit)?;
        if let Some(entry) = orgs.remove(name) {
            return Ok(Some(NamedOrg { name: name.to_string(), file: file.clone(), entry }));
        }
    }
    Ok(None)
}

/// The module folders of every runner.toml of `files` that exists, in that order, each
/// relative to its file's folder (`~/…` under the home directory). An untrusted file's are
/// left out, with a warning naming the command that trusts it: a run against `sim` works
/// whatever runner.toml lies in the folder, but never imports from where that file points.
pub fn lib_path(files: &[PathBuf], explicit: bool) -> Result<Vec<PathBuf>, ConfigError> {
    let mut dirs = Vec::new();
    for file in files.iter().filter(|f| f.is_file()) {
        let config = match load_file(file, explicit) {
            Ok(config) => config,
            Err(ConfigError::Untrusted { path, command }) => {
                // Parsed only to tell whether there is anything to warn about; nothing in it is used.
                let has_lib_path = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|text| toml::from_str::<ConfigFile>(&text).ok())
                    .is_some_and(|config| !config.lib_path.is_empty());
                if has_lib_path {
                    eprintln!("warning: ignoring lib_path of untrusted {} (run `{command}` to use it)", path.display());
                }
                continue;
            }
            Err(err) => return Err(err),
        };
        dirs.extend(config.lib_path.iter().map(|dir| relative_to(file, dir)));
    }
    Ok(dirs)
}

/// `text`, a path from the runner.toml `file`: `~/…` is under the home directory, a
/// relative path is relative to the file's folder.
fn relative_to(file: &Path, text: &str) -> PathBuf {
    if let Some(rest) = text.strip_prefix("~/")
        && let Some(dirs) = directories::BaseDirs::new()
    {
        return dirs.home_dir().join(rest);
    }
    let path = Path::new(text);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    file.parent().map_or_else(|| path.to_path_buf(), |dir| dir.join(path))
}

/// Where a var of one org came from, for messages: `--var`, `[orgs.acme.vars]`, `[group_vars.clients]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarSource(pub String);

/// The inventory: runner.toml's named orgs, groups and their vars, from every file searched (the first file
/// that defines a name wins, as for connecting to it).
#[derive(Debug, Default)]
pub struct Inventory {
    /// The files searched, for messages.
    files: Vec<PathBuf>,
    orgs: BTreeMap<String, NamedOrg>,
    groups: BTreeMap<String, Vec<String>>,
    group_vars: BTreeMap<String, IndexMap<String, String>>,
}

/// Whether `text` is a var name, as `--var` takes them: letters, digits and `_`.
pub fn is_var_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Inventory {
    /// Reads `files`: every one that exists, or, when `explicit` (`--config FILE`), every one, which must.
    pub fn load(files: &[PathBuf], explicit: bool) -> Result<Inventory, ConfigError> {
        let mut inventory = Inventory { files: files.to_vec(), ..Inventory::default() };
        for file in files {
            if !explicit && !file.is_file() {
                continue;
            }
            let config = load_file(file, explicit)?;
            for (name, entry) in config.orgs {
                inventory.orgs.entry(name.clone()).or_insert(NamedOrg { name, file: file.clone(), entry });
            }
            for (name, members) in config.groups {
                inventory.groups.entry(name).or_insert(members);
            }
            for (name, vars) in config.group_vars {
                let vars = vars.into_iter().map(|(k, v)| (k, v.0)).collect();
                inventory.group_vars.entry(name).or_insert(vars);
            }
        }
        inventory.validate()?;
        Ok(inventory)
    }

    fn invalid(&self, reason: String, help: &str) -> ConfigError {
        ConfigError::Inventory { files: self.files.clone(), reason, help: help.to_string() }
    }

    /// Refuses what no run could use: a name that is an org and a group, vars for a group that does not
    /// exist, a var name `--var` would refuse, a member naming an unknown group, and groups in a cycle.
    fn validate(&self) -> Result<(), ConfigError> {
        for name in self.groups.keys() {
            if self.orgs.contains_key(name) {
                return Err(self.invalid(
                    format!("has an org and a group both named `{name}`"),
                    "rename one: `--org NAME` would not say which is meant",
                ));
            }
        }
        for name in self.group_vars.keys() {
            if !self.groups.contains_key(name) {
                return Err(self.unknown_group(name, &format!("[group_vars.{name}] is for a group of [groups]")));
            }
        }
        let tables = self
            .orgs
            .iter()
            .map(|(name, org)| (format!("[orgs.{name}.vars]"), &org.entry.vars))
            .map(|(table, vars)| (table, vars.keys().cloned().collect::<Vec<_>>()))
            .chain(self.group_vars.iter().map(|(n, v)| (format!("[group_vars.{n}]"), v.keys().cloned().collect())));
        for (table, keys) in tables {
            if let Some(bad) = keys.iter().find(|k| !is_var_name(k)) {
                return Err(self.invalid(
                    format!("{table}: `{bad}` is not a var name"),
                    "var names are letters, digits and _, as with --var",
                ));
            }
        }
        for (group, members) in &self.groups {
            for member in members {
                if let Some(inner) = member.strip_prefix('@')
                    && !self.groups.contains_key(inner)
                {
                    return Err(self.unknown_group(inner, &format!("[groups] {group} names it")));
                }
            }
            self.members(group, &mut Vec::new(), &mut Vec::new())?;
        }
        Ok(())
    }

    /// The group a member names, if it names one: `@name`, or a bare name that is a group.
    fn member_group<'a>(&self, member: &'a str) -> Option<&'a str> {
        let name = member.strip_prefix('@').unwrap_or(member);
        self.groups.contains_key(name).then_some(name)
    }

    /// Appends `group`'s orgs, groups expanded, to `out`; `path` is the groups being expanded, to find a cycle.
    fn members(&self, group: &str, path: &mut Vec<String>, out: &mut Vec<String>) -> Result<(), ConfigError> {
        if let Some(at) = path.iter().position(|g| g == group) {
            let mut cycle: Vec<&str> = path[at..].iter().map(String::as_str).collect();
            cycle.push(group);
            return Err(ConfigError::GroupCycle { files: self.files.clone(), cycle: cycle.join(" → ") });
        }
        let Some(members) = self.groups.get(group) else {
            return Err(self.unknown_group(group, "--org @NAME selects a group of [groups]"));
        };
        path.push(group.to_string());
        for member in members {
            match self.member_group(member) {
                Some(inner) => self.members(inner, path, out)?,
                None => out.push(member.clone()),
            }
        }
        path.pop();
        Ok(())
    }

    fn unknown_group(&self, name: &str, why: &str) -> ConfigError {
        let closest = runner_core::suggest::closest(name, self.groups.keys().map(String::as_str)).map(str::to_string);
        let known = if self.groups.is_empty() {
            "it defines no groups: add `[groups]` with `NAME = [\"org-a\", \"org-b\"]`".to_string()
        } else {
            format!("its groups: {}", self.groups.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
        };
        let help = match closest {
            Some(g) => format!("did you mean `{g}`? {why}; {known}"),
            None => format!("{why}; {known}"),
        };
        ConfigError::UnknownGroup { name: name.to_string(), files: self.files.clone(), help }
    }

    /// The `--org` values with every `@group` replaced by its orgs, in order, each org once. `sim` and
    /// `sim:SCENARIO` are kept each time they are given: each starts an org of its own.
    pub fn select(&self, given: &[String]) -> Result<Vec<String>, ConfigError> {
        let mut selected: Vec<String> = Vec::new();
        for text in given {
            let mut orgs = Vec::new();
            match text.strip_prefix('@') {
                Some(group) => self.members(group, &mut Vec::new(), &mut orgs)?,
                None => orgs.push(text.clone()),
            }
            for org in orgs {
                let fresh = org == "sim" || org.starts_with("sim:");
                if fresh || !selected.contains(&org) {
                    selected.push(org);
                }
            }
        }
        Ok(selected)
    }

    /// The vars runner.toml gives `org` (an `--org` value), lowest precedence first: its groups' (outer groups
    /// before the groups inside them, then by name), then its own `[orgs.NAME.vars]`.
    pub fn vars_for(&self, org: &str) -> Vec<(String, String, VarSource)> {
        let mut groups: Vec<(usize, &str)> = Vec::new();
        for group in self.groups.keys() {
            let mut orgs = Vec::new();
            // Validated at load: no cycle, no unknown group.
            if self.members(group, &mut Vec::new(), &mut orgs).is_ok() && orgs.iter().any(|o| o == org) {
                groups.push((self.depth(group), group));
            }
        }
        groups.sort();
        let mut vars = Vec::new();
        for (_, group) in groups {
            if let Some(group_vars) = self.group_vars.get(group) {
                let source = VarSource(format!("[group_vars.{group}]"));
                vars.extend(group_vars.iter().map(|(k, v)| (k.clone(), v.clone(), source.clone())));
            }
        }
        if let Some(named) = self.orgs.get(org) {
            let source = VarSource(format!("[orgs.{org}.vars]"));
            vars.extend(named.entry.vars.iter().map(|(k, v)| (k.clone(), v.0.clone(), source.clone())));
        }
        vars
    }

    /// How deep `group` is nested: 0 when no group contains it, else one more than the deepest that does.
    fn depth(&self, group: &str) -> usize {
        // Bounded by the number of groups: there is no cycle (validated at load).
        let mut depth = 0;
        let mut level = vec![group.to_string()];
        while depth <= self.groups.len() {
            let parents: Vec<String> = self
                .groups
                .iter()
                .filter(|(_, members)| {
                    members.iter().any(|m| self.member_group(m).is_some_and(|g| level.iter().any(|l| l == g)))
                })
                .map(|(name, _)| name.clone())
                .collect();
            if parents.is_empty() {
                break;
            }
            level = parents;
            depth += 1;
        }
        depth
    }
}

fn load(path: &Path, explicit: bool) -> Result<BTreeMap<String, OrgEntry>, ConfigError> {
    load_file(path, explicit).map(|config| config.orgs)
}

#[cfg(any(test, fuzzing))]
fn parse(path: &Path, text: String) -> Result<BTreeMap<String, OrgEntry>, ConfigError> {
    parse_file(path, text).map(|config| config.orgs)
}

/// Reads a runner.toml that is to be used: one whose permissions are safe (see [`read_config`]) and that
/// is trusted: named by `--config` (`explicit`), in the user config directory, or trusted with `runner trust`
/// with the very bytes read here, so the text checked is the text parsed.
fn load_file(path: &Path, explicit: bool) -> Result<ConfigFile, ConfigError> {
    let (bytes, unsafe_permissions) = read_config(path)?;
    // Untrusted first: such a file is not used whatever its mode (a run against `sim` ignores it), and `runner
    // trust` then says what is wrong with its permissions.
    if !explicit && !in_user_config_dir(path) && !crate::trust::is_trusted(path, &bytes) {
        let shown = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        // Written as `runner`: what is printed gets the binary's own name (crate::brand).
        let command = format!("runner trust {}", shell_quote(&shown));
        return Err(ConfigError::Untrusted { path: shown, command });
    }
    if let Some(err) = unsafe_permissions {
        return Err(err);
    }
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::Read {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"),
    })?;
    parse_file(path, text)
}

/// Whether `path` is the user's own runner.toml, in the user config directory (`~/.config/runner/`), which is
/// trusted as the user's own file is. Compared canonically, so `./runner.toml` run from that folder is too.
fn in_user_config_dir(path: &Path) -> bool {
    let Some(dirs) = directories::ProjectDirs::from("", "", "runner") else { return false };
    let (Ok(dir), Ok(file)) = (std::fs::canonicalize(dirs.config_dir()), std::fs::canonicalize(path)) else {
        return false;
    };
    file.parent() == Some(dir.as_path())
}

/// A runner.toml's bytes, refused when another user could have written them: the file is group- or
/// world-writable, or is owned by someone else.
pub(crate) fn read_config_bytes(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let (bytes, unsafe_permissions) = read_config(path)?;
    unsafe_permissions.map_or(Ok(bytes), Err)
}

/// A runner.toml's bytes, and why its permissions are unsafe when they are (another user could have written
/// it). The checks are on the open file, so it cannot be swapped between check and read.
fn read_config(path: &Path) -> Result<(Vec<u8>, Option<ConfigError>), ConfigError> {
    let read_error = |source| ConfigError::Read { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(read_error(std::io::Error::new(std::io::ErrorKind::InvalidInput, "it is not a regular file")));
    }
    let mut unsafe_permissions = None;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        // Named in full, so that the command given can be pasted from anywhere.
        let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let quoted = shell_quote(path);
        let mode = meta.mode() & 0o7777;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            unsafe_permissions = Some(ConfigError::UnsafePermissions {
                path: path.to_path_buf(),
                reason: format!(
                    "it is owned by another user (uid {}), who could change where runner connects",
                    meta.uid()
                ),
                fix: format!("if you checked its contents, make it yours: `chown \"$(id -u)\" {quoted}`, or copy it"),
            });
        } else if mode & 0o022 != 0 {
            unsafe_permissions = Some(ConfigError::UnsafePermissions {
                path: path.to_path_buf(),
                reason: format!("its mode is {mode:04o}, so other users can change where runner connects"),
                fix: format!("run `chmod go-w {quoted}`"),
            });
        }
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut bytes).map_err(read_error)?;
    Ok((bytes, unsafe_permissions))
}

fn parse_file(path: &Path, text: String) -> Result<ConfigFile, ConfigError> {
    match toml::from_str::<ConfigFile>(&text) {
        Ok(config) => Ok(config),
        Err(err) => {
            let message = without_values(err.message().trim());
            let key = err.span().and_then(|span| key_at(&text, span.start));
            let at = err.span().map(|span| {
                let (line, column) = line_column(&text, span.start);
                match &key {
                    Some(key) => format!(" at line {line}, column {column} (key `{key}`)"),
                    None => format!(" at line {line}, column {column}"),
                }
            });
            // `client_secret = "…"` is an unknown key: say where secrets go instead.
            let unknown = message.strip_prefix("unknown field `").and_then(|rest| rest.split('`').next());
            let secretish = unknown.is_some_and(|key| {
                let key = key.to_ascii_lowercase();
                ["secret", "token", "password", "passwd", "key"].iter().any(|word| key.contains(word))
            });
            let help = if secretish {
                "secrets do not go in runner.toml: name an environment variable (client_secret_env, refresh_token_env) or a mode-0600 file (client_secret_file, refresh_token_file, private_key_file)".to_string()
            } else {
                KEYS_HELP.to_string()
            };
            Err(ConfigError::Parse(Box::new(ParseError { path: path.to_path_buf(), message, at, help })))
        }
    }
}

/// A TOML or serde message with the values it quotes taken out: serde quotes a value of
/// the wrong type or an unknown variant (`invalid type: string "…"`), and that value may
/// be a secret. Key names and what was expected stay.
fn without_values(message: &str) -> String {
    let message = message.lines().next().unwrap_or_default();
    let mut out = String::with_capacity(message.len());
    let mut in_backticks = false;
    let mut in_value = false;
    for c in message.chars() {
        match c {
            // `"` between backticks is TOML's own text (expected `"`), not a value.
            '`' if !in_value => {
                in_backticks = !in_backticks;
                out.push(c);
            }
            '"' if !in_backticks => {
                if !in_value {
                    out.push_str("(value not shown)");
                }
                in_value = !in_value;
            }
            _ if in_value => {}
            _ => out.push(c),
        }
    }
    // `unknown variant `x`, expected one of …`: the variant is the file's value.
    if let Some(after) = out.strip_prefix("unknown variant `")
        && let Some(end) = after.find('`')
    {
        return format!("unknown value{}", &after[end + 1..]);
    }
    out
}

/// 1-based line and column (in characters) of byte `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

/// The key of the `key = value` line holding byte `at`, when the line has a bare key.
fn key_at(text: &str, at: usize) -> Option<String> {
    let at = at.min(text.len());
    let start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare =
        !key.is_empty() && key.len() <= 64 && key.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    bare.then(|| key.to_string())
}

/// An environment variable name: letters, digits and `_`, not starting with a digit.
fn is_env_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && !text.starts_with(|c: char| c.is_ascii_digit())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// How a message names the variable of `{what}_env`: by name when it looks like one
/// (upper case, as variables are named), else only by the key, in case a secret that
/// happens to look like a name was pasted there.
fn describe_env(var: &str, what: &str) -> String {
    if var.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') {
        var.to_string()
    } else {
        format!("named by {what}_env")
    }
}

/// `https://…@host/…` with the part before `@` hidden, for messages.
pub fn without_userinfo(text: &str) -> String {
    let Some(scheme_end) = text.find("://") else { return text.to_string() };
    let authority_start = scheme_end + 3;
    let authority_end = text[authority_start..].find(['/', '?', '#']).map_or(text.len(), |i| authority_start + i);
    match text[authority_start..authority_end].rfind('@') {
        Some(at) => format!("{}…@{}", &text[..authority_start], &text[authority_start + at + 1..]),
        None => text.to_string(),
    }
}

/// `'path'` when it needs quoting for a POSIX shell.
pub(crate) fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=~".contains(c));
    if plain && !text.is_empty() { text } else { format!("'{}'", text.replace('\'', r"'\''")) }
}

impl NamedOrg {
    /// The runner.toml it came from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.file.clone(),
            org: self.name.clone(),
            reason: reason.into(),
            help: self.entry.auth.keys().1.to_string(),
        }
    }

    /// Parses and checks a URL of this org: https, or http for loopback.
    fn url(&self, key: &str, text: &str) -> Result<Url, TargetError> {
        let shown = without_userinfo(text);
        let url = Url::parse(text.trim()).map_err(|e| self.invalid(format!("{key} `{shown}` is not a URL: {e}")))?;
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(self.invalid(format!("{key} `{shown}` has no host")).into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(self.invalid(format!("{key} must not hold credentials")).into());
        }
        check_secure(&url)?;
        Ok(url)
    }

    /// The `audience` key: an https URL, sent as the JWT `aud` without a trailing `/`.
    /// Never plain http, even for loopback: it is a claim naming Salesforce's login
    /// service (or an Experience Cloud site), not a host runner talks to.
    fn audience(&self, text: &str) -> Result<String, ConfigError> {
        let shown = without_userinfo(text);
        let bad = |why: &str| self.invalid(format!("audience `{shown}` {why}"));
        let url = Url::parse(text.trim()).map_err(|e| bad(&format!("is not a URL: {e}")))?;
        if url.scheme() != "https" {
            return Err(bad("must be an https URL such as https://test.salesforce.com"));
        }
        if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must be a plain https URL with a host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not have a query or a fragment"));
        }
        Ok(url.as_str().trim_end_matches('/').to_string())
    }

    /// A path from this org's table: `~/…` is under the home directory, a relative
    /// path is relative to the runner.toml's folder.
    fn path(&self, text: &str) -> PathBuf {
        relative_to(&self.file, text)
    }

    /// A secret from `{what}_env` or `{what}_file`; `None` when neither is set.
    fn secret(&self, what: &str, env: Option<&str>, file: Option<&str>) -> Result<Option<SecretString>, ConfigError> {
        let value = match (env, file) {
            (Some(_), Some(_)) => return Err(self.invalid(format!("give {what}_env or {what}_file, not both"))),
            (Some(var), None) => {
                if !is_env_name(var) {
                    return Err(ConfigError::EnvName {
                        path: self.file.clone(),
                        org: self.name.clone(),
                        key: format!("{what}_env"),
                        file_key: format!("{what}_file"),
                    });
                }
                match std::env::var(var) {
                    Ok(value) if !value.trim().is_empty() => value.trim().to_string(),
                    _ => {
                        return Err(ConfigError::SecretEnv {
                            org: self.name.clone(),
                            var: describe_env(var, what),
                            what: what.into(),
                        });
                    }
                }
            }
            (None, Some(file)) => read_secret_text(&self.path(file), what)?,
            (None, None) => return Ok(None),
        };
        runner_core::redact::register(&value);
        Ok(Some(SecretString::from(value)))
    }

    fn required_secret(&self, what: &str, env: Option<&str>, file: Option<&str>) -> Result<SecretString, ConfigError> {
        self.secret(what, env, file)?.ok_or_else(|| self.invalid(format!("{what}_env or {what}_file is missing")))
    }

    /// Checks the table, every URL in it and reads its secrets: after this, nothing is
    /// left to refuse before the first request.
    pub fn resolve(&self) -> Result<Resolved, TargetError> {
        let entry = &self.entry;
        let (allowed, _) = entry.auth.keys();
        if let Some((key, _)) = entry.optional_keys().into_iter().find(|(key, set)| *set && !allowed.contains(key)) {
            return Err(self.invalid(format!("`{key}` does not apply to auth = \"{}\"", entry.auth)).into());
        }
        let client_id = entry.client_id.trim().to_string();
        if client_id.is_empty() {
            return Err(self.invalid("client_id is empty").into());
        }
        let instance = self.url("instance_url", &entry.instance_url)?;
        let my_domain_token_url = instance
            .join("/services/oauth2/token")
            .map_err(|e| self.invalid(format!("instance_url `{}`: {e}", without_userinfo(&entry.instance_url))))?;
        let auth = match entry.auth {
            AuthKind::ClientCredentials => Auth::ClientCredentials {
                token_url: my_domain_token_url,
                client_id,
                client_secret: self.required_secret(
                    "client_secret",
                    entry.client_secret_env.as_deref(),
                    entry.client_secret_file.as_deref(),
                )?,
            },
            AuthKind::RefreshToken => Auth::RefreshToken {
                token_url: my_domain_token_url,
                client_id,
                client_secret: self.secret(
                    "client_secret",
                    entry.client_secret_env.as_deref(),
                    entry.client_secret_file.as_deref(),
                )?,
                refresh_token: self.required_secret(
                    "refresh_token",
                    entry.refresh_token_env.as_deref(),
                    entry.refresh_token_file.as_deref(),
                )?,
            },
            AuthKind::Jwt => {
                let username = entry.username.as_deref().map(str::trim).unwrap_or_default();
                if username.is_empty() {
                    return Err(self.invalid("username is missing").into());
                }
                let Some(key_file) = entry.private_key_file.as_deref() else {
                    return Err(self.invalid("private_key_file is missing").into());
                };
                let login_text = entry.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL);
                let login_url = self.url("login_url", login_text)?;
                let login_base = login_url.as_str().trim_end_matches('/');
                let token_url = Url::parse(&format!("{login_base}/services/oauth2/token"))
                    .map_err(|e| self.invalid(format!("login_url `{}`: {e}", without_userinfo(login_text))))?;
                check_secure(&token_url)?;
                let audience = match entry.audience.as_deref() {
                    Some(text) => Audience::Explicit(self.audience(text)?),
                    None => Audience::Default(super::jwt::default_audience(&login_url)),
                };
                let key_path = self.path(key_file);
                let pem = read_private_file(&key_path, "private key")?;
                let key = super::jwt::parse_private_key(&pem)
                    .map_err(|reason| ConfigError::PrivateKey { path: key_path, reason })?;
                Auth::Custom(Arc::new(JwtBearer::new(token_url, audience, client_id, username.to_string(), key)))
            }
        };
        let api_version = match entry.api_version.as_deref().map(str::trim) {
            Some("newest") => None,
            Some(version) => Some(version.to_string()),
            None => Some(runner_core::client::DEFAULT_API_VERSION.to_string()),
        };
        Ok(Resolved { instance_url: instance.as_str().to_string(), auth, api_version })
    }
}

/// A secret from a private file, as text without surrounding whitespace.
pub(crate) fn read_secret_text(path: &Path, what: &str) -> Result<String, ConfigError> {
    let bytes = read_private_file(path, what)?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::SecretFile {
        path: path.to_path_buf(),
        what: what.into(),
        reason: "it is not UTF-8 text".into(),
    })?;
    let value = text.trim();
    if value.is_empty() {
        return Err(ConfigError::SecretFile {
            path: path.to_path_buf(),
            what: what.into(),
            reason: "it is empty".into(),
        });
    }
    runner_core::redact::register(value);
    Ok(value.to_string())
}

/// Reads a file that holds a secret. Refuses one that the group or others may read
/// or write (any of mode 0077), naming the `chmod` that fixes it.
fn read_private_file(path: &Path, what: &str) -> Result<Vec<u8>, ConfigError> {
    let failed = |reason: String| ConfigError::SecretFile { path: path.to_path_buf(), what: what.to_string(), reason };
    let file = std::fs::File::open(path).map_err(|e| failed(e.to_string()))?;
    // The checks are on the open file, so it cannot be swapped between check and read.
    let meta = file.metadata().map_err(|e| failed(e.to_string()))?;
    if !meta.is_file() {
        return Err(failed("it is not a regular file".into()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(ConfigError::SecretFileMode { path: path.to_path_buf(), what: what.to_string(), mode });
        }
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(failed("it is too large".into()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut bytes).map_err(|e| failed(e.to_string()))?;
    Ok(bytes)
}

/// For `fuzz/` only: a runner.toml's text parsed, its URLs checked (no file or
/// variable read), and every diagnostic rendered as the terminal would show it.
#[cfg(fuzzing)]
pub fn fuzz_parse(text: &str) {
    let render = |err: &dyn Diagnostic| {
        let mut out = String::new();
        let _ = miette::GraphicalReportHandler::new().render_report(&mut out, err);
    };
    let file = PathBuf::from("/nonexistent-fuzz/runner.toml");
    let orgs = match parse(&file, text.to_string()) {
        Ok(orgs) => orgs,
        Err(err) => return render(&err),
    };
    for (name, entry) in orgs {
        let org = NamedOrg { name, file: file.clone(), entry };
        let mut errors: Vec<TargetError> = Vec::new();
        errors.extend(org.url("instance_url", &org.entry.instance_url).err());
        if let Some(login) = &org.entry.login_url {
            errors.extend(org.url("login_url", login).err());
        }
        if let Some(audience) = &org.entry.audience {
            errors.extend(org.audience(audience).err().map(TargetError::from));
        }
        for err in &errors {
            render(err);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(text: &str) -> Result<NamedOrg, ConfigError> {
        let mut orgs = parse(Path::new("/cfg/runner.toml"), text.to_string())?;
        let (name, entry) = orgs.pop_first().expect("one org");
        Ok(NamedOrg { name, file: PathBuf::from("/cfg/runner.toml"), entry })
    }

    fn inventory(text: &str) -> Result<Inventory, ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("runner.toml");
        std::fs::write(&file, text).expect("write");
        Inventory::load(&[file], true)
    }

    fn values(vars: Vec<(String, String, VarSource)>, key: &str) -> Vec<String> {
        vars.into_iter().filter(|(k, _, _)| k == key).map(|(_, v, s)| format!("{v} from {}", s.0)).collect()
    }

    #[test]
    fn inner_groups_beat_outer_ones_and_the_org_beats_its_groups() {
        let inv = inventory(
            "[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"jwt\"\nclient_id = \"x\"\n[orgs.a.vars]\nk = \"org\"\n\
             [groups]\nall = [\"@eu\", \"b\"]\neu = [\"a\", \"b\"]\nzz = [\"b\"]\n\
             [group_vars.all]\nk = \"all\"\nn = 3\n[group_vars.eu]\nk = \"eu\"\n[group_vars.zz]\nk = \"zz\"\n",
        )
        .expect("valid");
        // Lowest first: the last one wins.
        assert_eq!(
            values(inv.vars_for("a"), "k"),
            ["all from [group_vars.all]", "eu from [group_vars.eu]", "org from [orgs.a.vars]"]
        );
        // all (depth 0) < zz (depth 0, later name) < eu (depth 1).
        assert_eq!(
            values(inv.vars_for("b"), "k"),
            ["all from [group_vars.all]", "zz from [group_vars.zz]", "eu from [group_vars.eu]"]
        );
        assert_eq!(values(inv.vars_for("b"), "n"), ["3 from [group_vars.all]"], "numbers are text");
        assert!(inv.vars_for("c").is_empty());
        assert_eq!(
            inv.select(&["@all".into(), "a".into(), "sim".into(), "sim".into()]).expect("selects"),
            ["a", "b", "sim", "sim"]
        );
    }

    #[test]
    fn inventory_mistakes_are_refused() {
        let err = inventory("[groups]\na = [\"@a\"]\n").expect_err("cycle");
        assert!(matches!(&err, ConfigError::GroupCycle { cycle, .. } if cycle == "a → a"), "{err}");
        let err = inventory("[groups]\na = [\"@nope\"]\n").expect_err("unknown");
        assert!(matches!(err, ConfigError::UnknownGroup { .. }), "{err}");
        let err = inventory(
            "[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"jwt\"\nclient_id = \"x\"\n[groups]\na = []\n",
        )
        .expect_err("both");
        assert!(err.to_string().contains("an org and a group both named `a`"), "{err}");
        let err = inventory("[groups]\na = []\n[group_vars.a]\n\"bad-name\" = \"x\"\n").expect_err("name");
        assert!(err.to_string().contains("`bad-name` is not a var name"), "{err}");
        let err = inventory("[group_vars.a]\nx = 1\n").expect_err("no group");
        assert!(err.help().is_some_and(|h| h.to_string().contains("[group_vars.a] is for a group")), "{err}");
        let secret = "hunter2-in-a-var";
        let err = inventory(&format!("[groups]\na = []\n[group_vars.a]\nx = [\"{secret}\"]\n")).expect_err("type");
        let report = format!("{:?}", miette::Report::new(err));
        assert!(report.contains("a string, a number or a boolean") && !report.contains(secret), "{report}");
        let err = Inventory::load(&[PathBuf::from("/nonexistent/runner.toml")], true).expect_err("named, missing");
        assert!(matches!(err, ConfigError::Read { .. }));
        assert!(Inventory::load(&[PathBuf::from("/nonexistent/runner.toml")], false).is_ok(), "searched, missing");
    }

    #[test]
    fn unknown_keys_name_the_key_and_the_file() {
        let err = org(
            "[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"jwt\"\nclient_id = \"x\"\nclientsecret = \"y\"\n",
        )
        .expect_err("unknown key");
        let text = err.to_string();
        assert!(text.contains("clientsecret") && text.contains("/cfg/runner.toml"), "{text}");
        let err = org("[org.a]\n").expect_err("unknown table");
        assert!(err.to_string().contains("`org`"), "{err}");
        let err = org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"password\"\nclient_id = \"x\"\n")
            .expect_err("unknown auth");
        assert!(err.to_string().contains("`auth`") && err.to_string().contains("client_credentials"), "{err}");
    }

    #[test]
    fn a_secret_written_into_runner_toml_is_not_quoted_back() {
        let text = "[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nclient_secret = \"hunter2-sekrit\"\n";
        let err = org(text).expect_err("unknown key");
        let report = format!("{:?}", miette::Report::new(err));
        assert!(report.contains("client_secret") && report.contains("client_secret_env"), "{report}");
        assert!(!report.contains("hunter2-sekrit"), "{report}");
        let err = org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"jwt\"\nclient_idd = \"x\"\n")
            .expect_err("typo");
        let text = err.to_string();
        assert!(text.contains("line 4") && text.contains("client_idd"), "other mistakes are pointed at: {text}");
    }

    #[test]
    fn syntax_and_type_errors_name_line_column_and_key_but_no_value() {
        let secret = "hunter2-sekrit-value";
        for text in [
            format!("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"jwt\"\nclient_id = \"{secret}\n"),
            format!("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"{secret}\"\nclient_id = \"x\"\n"),
            format!("[orgs.a]\ninstance_url = 42\nauth = \"jwt\"\nclient_id = \"{secret}\"\nx = {secret}\n"),
            format!("[orgs.a]\ninstance_url = [\"{secret}\"]\nauth = \"jwt\"\nclient_id = \"x\"\n"),
            format!("{secret}\n"),
        ] {
            let err = org(&text).expect_err("invalid");
            let report = format!("{:?}", miette::Report::new(err));
            assert!(!report.contains(secret), "{report}");
            assert!(report.contains("line "), "{report}");
        }
        let err = org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"passwordy\"\nclient_id = \"x\"\n")
            .expect_err("bad auth");
        let text = err.to_string();
        assert!(text.contains("line 3") && text.contains("`auth`") && !text.contains("passwordy"), "{text}");
        assert_eq!(
            without_values(r#"invalid type: string "s3cr3t", expected a sequence"#),
            "invalid type: string (value not shown), expected a sequence"
        );
    }

    #[test]
    fn a_secret_pasted_into_an_env_key_is_not_echoed() {
        for pasted in ["seeded-client-secret-NEVERPRINTED", "abc def", "1ABC", "x!y"] {
            let entry = org(&format!("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nclient_secret_env = \"{pasted}\"\n"))
                .expect("parses");
            let err = entry.resolve().err().expect("refused");
            let text = err.to_string();
            assert!(text.contains("the value of client_secret_env is not a valid environment variable name"), "{text}");
            let report = format!("{:?}", miette::Report::new(err));
            assert!(!report.contains(pasted), "{report}");
        }
        // A name-shaped value that is not upper case is not echoed either when unset.
        let entry = org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nclient_secret_env = \"q8Zr4kP2mW7xN1vB\"\n")
            .expect("parses");
        let report = format!("{:?}", miette::Report::new(entry.resolve().err().expect("unset")));
        assert!(!report.contains("q8Zr4kP2mW7xN1vB") && report.contains("named by client_secret_env"), "{report}");
    }

    #[test]
    fn userinfo_is_hidden_in_echoed_urls() {
        assert_eq!(without_userinfo("https://u:pw@host.example/x"), "https://…@host.example/x");
        assert_eq!(without_userinfo("https://host.example/a@b"), "https://host.example/a@b");
        assert_eq!(without_userinfo("acme"), "acme");
    }

    #[test]
    fn keys_of_another_auth_and_missing_secrets_are_refused() {
        let entry = org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nusername = \"u\"\n")
            .expect("parses");
        let err = entry.resolve().err().expect("refused");
        assert!(err.to_string().contains("`username` does not apply"), "{err}");
        let entry =
            org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"client_credentials\"\nclient_id = \"x\"\n")
                .expect("parses");
        let err = entry.resolve().err().expect("refused");
        assert!(err.to_string().contains("client_secret_env or client_secret_file is missing"), "{err}");
        let entry = org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nclient_secret_env = \"RUNNER_TEST_SURELY_UNSET_VAR\"\n")
            .expect("parses");
        let err = entry.resolve().err().expect("refused");
        assert!(err.to_string().contains("RUNNER_TEST_SURELY_UNSET_VAR"), "{err}");
    }

    #[test]
    fn api_version_is_pinned_unless_given_and_newest_asks_the_org() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = dir.path().join("s.secret");
        std::fs::write(&secret, "shh").expect("secret");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("mode");
        let table = |extra: &str| {
            format!(
                "[orgs.a]\ninstance_url = \"https://acme.example.invalid\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nclient_secret_file = \"{}\"\n{extra}",
                secret.display()
            )
        };
        let version = |extra: &str| org(&table(extra)).expect("parses").resolve().expect("resolves").api_version;
        assert_eq!(version(""), Some(runner_core::client::DEFAULT_API_VERSION.to_string()));
        assert_eq!(version("api_version = \"63.0\"\n"), Some("63.0".to_string()));
        assert_eq!(version("api_version = \"newest\"\n"), None);
    }

    #[test]
    fn plain_http_is_refused_for_every_remote_url_before_any_secret_is_read() {
        let entry = org("[orgs.a]\ninstance_url = \"http://acme.example.invalid\"\nauth = \"client_credentials\"\nclient_id = \"x\"\nclient_secret_file = \"/nonexistent\"\n")
            .expect("parses");
        assert!(matches!(
            entry.resolve(),
            Err(TargetError::Client(runner_core::client::ClientError::InsecureUrl { .. }))
        ));
        let entry = org("[orgs.a]\ninstance_url = \"https://acme.example.invalid\"\nauth = \"jwt\"\nclient_id = \"x\"\nusername = \"u\"\nprivate_key_file = \"/nonexistent\"\nlogin_url = \"http://login.example.invalid\"\n")
            .expect("parses");
        assert!(matches!(
            entry.resolve(),
            Err(TargetError::Client(runner_core::client::ClientError::InsecureUrl { .. }))
        ));
    }

    #[test]
    fn audience_is_a_jwt_key_and_must_be_an_https_url() {
        let jwt = |audience: &str| {
            org(&format!("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"jwt\"\nclient_id = \"x\"\nusername = \"u\"\nprivate_key_file = \"/nonexistent\"\naudience = \"{audience}\"\n"))
                .expect("parses")
        };
        for bad in [
            "http://test.salesforce.com",
            "test.salesforce.com",
            "https://u:p@test.salesforce.com",
            "https://test.salesforce.com/?x=1",
        ] {
            let err = jwt(bad).resolve().err().expect("refused");
            assert!(err.to_string().contains(&format!("audience `{}`", without_userinfo(bad))), "{err}");
            assert!(!err.to_string().contains("u:p@"), "{err}");
        }
        // A good one passes, and the key file is what stops this one.
        let err = jwt("https://test.salesforce.com/").resolve().err().expect("no key");
        assert!(err.to_string().contains("/nonexistent"), "{err}");
        let entry = org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"client_credentials\"\nclient_id = \"x\"\naudience = \"https://test.salesforce.com\"\n")
            .expect("parses");
        let err = entry.resolve().err().expect("refused");
        assert!(err.to_string().contains("`audience` does not apply"), "{err}");
    }

    #[test]
    fn relative_paths_start_at_the_config_folder() {
        let entry =
            org("[orgs.a]\ninstance_url = \"https://a.example\"\nauth = \"client_credentials\"\nclient_id = \"x\"\n")
                .expect("parses");
        assert_eq!(entry.path("secrets/a.secret"), PathBuf::from("/cfg/secrets/a.secret"));
        assert_eq!(entry.path("/abs/a.secret"), PathBuf::from("/abs/a.secret"));
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote(Path::new("/tmp/a.secret")), "/tmp/a.secret");
        assert_eq!(shell_quote(Path::new("/tmp/my secrets/a")), "'/tmp/my secrets/a'");
        assert_eq!(shell_quote(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s");
        std::fs::write(&path, "sekrit\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = read_private_file(&path, "client secret").expect_err("refused");
        assert!(matches!(err, ConfigError::SecretFileMode { mode: 0o644, .. }));
        let help = err.help().map(|h| h.to_string()).unwrap_or_default();
        assert_eq!(help, format!("run `chmod 600 {}`", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert_eq!(read_private_file(&path, "client secret").expect("read"), b"sekrit\n");
    }
}
