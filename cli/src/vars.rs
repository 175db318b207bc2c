//! `--var`s across the orgs of one run: `{org}` in a value, and the refusal of a credentials file that several
//! orgs would share.
//!
//! A `--var` applies to every `--org`. For most values that is what a partner wants; for a credentials file it
//! is not: each org's `set_password` and `verify` would write their own user's secrets into the same file, the
//! last one winning, so every other org's sync user would be left with a password and an authenticator that
//! nobody holds. So, before anything runs, when more than one org is targeted:
//!
//! - `{org}` in any var's value (from `--var`, `[orgs.NAME.vars]` or `[group_vars.NAME]`) is replaced by a
//!   file-name-safe form of each org's name (for a URL, its host and port; `sim#2` becomes `sim_2`), so
//!   `--var credentials_file=creds/{org}.creds` gives every org a file of its own; `{{` is a literal `{`;
//! - then a var whose name ends in `_file` and that names a credentials path is refused when two orgs get the
//!   same path. A credentials path is what `credentials_file`, `totp_file` or `secret_file` names, or what any
//!   other `*_file` var names if there is no file there yet (a step would create it) or the file there starts
//!   like one runner writes secrets to. An existing file of another kind (a CSV the playbook reads, say) may be
//!   shared.
//!
//! Paths are compared after making them absolute, with their folder's links resolved, so `a.creds`,
//! `./a.creds` and `$PWD/a.creds` are one file.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;

use crate::target::VarSource;

/// What `{org}` in a `--var` value stands for.
pub const ORG_PLACEHOLDER: &str = "{org}";

/// The names of the vars the built-in playbooks read a credentials file from.
const CREDENTIALS_VARS: &[&str] = &["credentials_file", "totp_file", "secret_file"];

/// Several orgs of one run would share a credentials file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error(
    "{given} names the same credentials file, {}, for {} orgs ({}): each org's run would write its own sync \
     user's secrets there, and the last would overwrite the others'",
    path.display(),
    orgs.len(),
    orgs.join(", ")
)]
#[diagnostic(
    code(runner::play::shared_credentials_file),
    help(
        "give each org a file of its own: put {ORG_PLACEHOLDER} in the value (--var {var}=creds/{ORG_PLACEHOLDER}.creds \
         becomes one file per org), or run the orgs one at a time. Nothing was run."
    )
)]
pub struct SharedCredentialsFile {
    /// The var's name.
    pub var: String,
    /// Its value as given (before `{org}` was replaced), for the first of the orgs.
    pub value: String,
    /// Where it was given, for the first of the orgs: `--var`, `[orgs.NAME.vars]`, `[group_vars.NAME]`.
    pub from: VarSource,
    /// `--var k=v`, or `k = "v" in [group_vars.NAME]`.
    given: String,
    /// The file they would share.
    pub path: PathBuf,
    /// The orgs that would share it, by name, in the run's order.
    pub orgs: Vec<String>,
}

/// Where `--var`s come from.
pub fn command_line() -> VarSource {
    VarSource("--var".to_string())
}

/// One org of a run: its name and its vars, lowest precedence first (a later one of the same name wins).
pub struct OrgVars {
    pub name: String,
    pub vars: Vec<(String, String, VarSource)>,
}

/// `value` with `{org}` replaced by `slug`, and `{{` read as one literal `{` (so `{{org}` stays `{org}`).
pub fn expand(value: &str, slug: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix(ORG_PLACEHOLDER) {
            out.push_str(slug);
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Each org's vars, layered and with `{org}` replaced by a file-name-safe form of the org's name; refuses a
/// credentials file shared by two orgs.
pub fn per_org(orgs: &[OrgVars]) -> Result<Vec<IndexMap<String, String>>, Box<SharedCredentialsFile>> {
    // The winning value of each var, with where it came from, per org.
    let layered: Vec<IndexMap<&str, (&str, &VarSource)>> = orgs
        .iter()
        .map(|org| {
            let mut vars = IndexMap::new();
            for (key, value, source) in &org.vars {
                vars.insert(key.as_str(), (value.as_str(), source));
            }
            vars
        })
        .collect();
    let expanded: Vec<IndexMap<String, String>> = orgs
        .iter()
        .zip(&layered)
        .map(|(org, vars)| {
            let slug = org_slug(&org.name);
            vars.iter().map(|(key, (value, _))| (key.to_string(), expand(value, &slug))).collect()
        })
        .collect();
    if orgs.len() < 2 {
        return Ok(expanded);
    }
    let names: indexmap::IndexSet<&str> = layered.iter().flat_map(|vars| vars.keys().copied()).collect();
    for var in names {
        if !var.ends_with("_file") {
            continue;
        }
        let mut by_path: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
        for (index, org_vars) in expanded.iter().enumerate() {
            let Some(path) = org_vars.get(var).filter(|p| !p.is_empty()) else { continue };
            if !names_credentials(var, Path::new(path)) {
                continue;
            }
            by_path.entry(comparable(Path::new(path))).or_default().push(index);
        }
        if let Some((path, sharing)) = by_path.into_iter().find(|(_, orgs)| orgs.len() > 1) {
            let first = sharing.first().copied().unwrap_or_default();
            // Always there: the org's path came from this var.
            let Some((value, from)) = layered.get(first).and_then(|vars| vars.get(var)).copied() else { continue };
            let given = if from.0 == "--var" {
                format!("--var {var}={value}")
            } else {
                format!("{var} = {value:?} in {}", from.0)
            };
            return Err(Box::new(SharedCredentialsFile {
                var: var.to_string(),
                value: value.to_string(),
                from: from.clone(),
                given,
                path,
                orgs: sharing.iter().filter_map(|i| orgs.get(*i)).map(|o| o.name.clone()).collect(),
            }));
        }
    }
    Ok(expanded)
}

/// Whether `path`, the value of var `var`, is where a step keeps secrets.
fn names_credentials(var: &str, path: &Path) -> bool {
    if CREDENTIALS_VARS.contains(&var) {
        return true;
    }
    match runner_core::credentials::starts_like_a_secrets_file(path) {
        Ok(secrets) => secrets,
        // Nothing there yet: whatever writes it would write it for every org.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => true,
        // Unreadable here: the playbook cannot use it either, and will say so.
        Err(_) => false,
    }
}

/// `path` made absolute and lexically clean, with its folder's links resolved where the folder exists.
fn comparable(path: &Path) -> PathBuf {
    let absolute = std::env::current_dir().map(|cwd| cwd.join(path)).unwrap_or_else(|_| path.to_path_buf());
    let mut clean = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    match (clean.parent().and_then(|p| p.canonicalize().ok()), clean.file_name()) {
        (Some(folder), Some(name)) => folder.join(name),
        _ => clean,
    }
}

/// A form of an `--org` value that is safe in a file name: an instance URL's host (and port), any other
/// target's text, with everything but letters, digits, `.`, `-` and `_` turned into `_`.
pub fn org_slug(org: &str) -> String {
    let text = match url::Url::parse(org) {
        Ok(url) if url.host_str().is_some() => {
            let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
            match url.port() {
                Some(port) => format!("{host}-{port}"),
                None => host,
            }
        }
        _ => org.to_string(),
    };
    let slug: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect();
    // A slug of dots would name a folder, not a file.
    if slug.chars().all(|c| c == '.') { slug.replace('.', "_") } else { slug }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String, VarSource)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string(), command_line())).collect()
    }

    fn orgs(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    /// Every org with the same vars, as `--var`s give them.
    fn per_org(
        vars: &[(String, String, VarSource)],
        orgs: &[String],
    ) -> Result<Vec<IndexMap<String, String>>, Box<SharedCredentialsFile>> {
        let orgs: Vec<OrgVars> = orgs.iter().map(|name| OrgVars { name: name.clone(), vars: vars.to_vec() }).collect();
        super::per_org(&orgs)
    }

    #[test]
    fn braces_expand_org_and_escape() {
        assert_eq!(expand("s/{org}.creds", "acme"), "s/acme.creds");
        assert_eq!(expand("{{org}", "acme"), "{org}");
        assert_eq!(expand("{{{org}}", "acme"), "{acme}");
        assert_eq!(expand("a{b}{", "acme"), "a{b}{");
    }

    #[test]
    fn a_later_layer_wins_and_the_message_names_where_the_value_came_from() {
        let group = VarSource("[group_vars.clients]".into());
        let org = VarSource("[orgs.a.vars]".into());
        let layers = |name: &str| OrgVars {
            name: name.into(),
            vars: vec![
                ("username".into(), "g".into(), group.clone()),
                ("username".into(), "o".into(), org.clone()),
                ("credentials_file".into(), "shared.creds".into(), group.clone()),
            ],
        };
        let err = super::per_org(&[layers("a"), layers("b")]).unwrap_err();
        assert_eq!(err.from, group);
        assert!(err.to_string().contains("credentials_file = \"shared.creds\" in [group_vars.clients]"), "{err}");
        let mut one = layers("a");
        one.vars.push(("username".into(), "cli".into(), command_line()));
        assert_eq!(super::per_org(&[one]).unwrap()[0]["username"], "cli");
    }

    #[test]
    fn one_org_may_use_any_file() {
        let got = per_org(&vars(&[("credentials_file", "a.creds")]), &orgs(&["prod"])).unwrap();
        assert_eq!(got[0]["credentials_file"], "a.creds");
    }

    #[test]
    fn a_credentials_file_shared_by_two_orgs_is_refused_naming_the_var_and_the_orgs() {
        for var in ["credentials_file", "totp_file", "secret_file", "other_file"] {
            let err = per_org(&vars(&[("username", "u"), (var, "a.creds")]), &orgs(&["prod", "uat"])).unwrap_err();
            assert_eq!(err.var, var);
            assert_eq!(err.orgs, ["prod", "uat"]);
            let text = err.to_string();
            assert!(text.contains(&format!("--var {var}=a.creds")) && text.contains("prod, uat"), "{text}");
        }
    }

    #[test]
    fn the_same_file_spelt_differently_is_still_shared() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.creds");
        let b = dir.path().join("sub/../a.creds");
        let c = dir.path().join("./a.creds");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert_eq!(comparable(&a), comparable(&b));
        assert_eq!(comparable(&a), comparable(&c));
    }

    #[test]
    fn org_in_the_value_gives_each_org_its_own_file() {
        let given = vars(&[("credentials_file", "creds/{org}.creds")]);
        let got =
            per_org(&given, &orgs(&["prod", "https://acme.my.salesforce.com", "http://127.0.0.1:8080", "sim:scratch"]))
                .unwrap();
        let files: Vec<&str> = got.iter().map(|v| v["credentials_file"].as_str()).collect();
        assert_eq!(
            files,
            [
                "creds/prod.creds",
                "creds/acme.my.salesforce.com.creds",
                "creds/127.0.0.1-8080.creds",
                "creds/sim_scratch.creds"
            ]
        );
        // The same org twice still shares.
        assert!(per_org(&given, &orgs(&["prod", "prod"])).is_err());
    }

    #[test]
    fn an_existing_input_file_may_be_shared_but_not_a_credentials_file() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("users.csv");
        std::fs::write(&input, "username\n").unwrap();
        let input = input.to_string_lossy().to_string();
        assert!(per_org(&vars(&[("users_file", &input)]), &orgs(&["a", "b"])).is_ok());
        assert!(per_org(&vars(&[("credentials_file", &input)]), &orgs(&["a", "b"])).is_err(), "by its name");
        let creds = dir.path().join("c");
        std::fs::write(&creds, format!("{}\nusername=u\n", runner_core::credentials::HEADER)).unwrap();
        let creds = creds.to_string_lossy().to_string();
        assert!(per_org(&vars(&[("sync_file", &creds)]), &orgs(&["a", "b"])).is_err(), "by its contents");
        assert!(per_org(&vars(&[("username", "shared")]), &orgs(&["a", "b"])).is_ok(), "not a *_file var");
        assert!(per_org(&vars(&[("credentials_file", "")]), &orgs(&["a", "b"])).is_ok(), "empty: no file");
    }
}
