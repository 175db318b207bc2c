//! `--var`s across the orgs of one run: `{org}` in a value, and the refusal of a credentials file that several
//! orgs would share.
//!
//! A `--var` applies to every `--org`. For most values that is what a partner wants; for a credentials file it
//! is not: each org's `set_password` and `verify` would write their own user's secrets into the same file, the
//! last one winning, so every other org's sync user would be left with a password and an authenticator that
//! nobody holds. So, before anything runs, when more than one org is targeted:
//!
//! - `{org}` in any `--var` value is replaced by a file-name-safe form of each org's `--org` (for a URL, its
//!   host and port), so `--var credentials_file=creds/{org}.creds` gives every org a file of its own;
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

/// What `{org}` in a `--var` value stands for.
pub const ORG_PLACEHOLDER: &str = "{org}";

/// The names of the vars the built-in playbooks read a credentials file from.
const CREDENTIALS_VARS: &[&str] = &["credentials_file", "totp_file", "secret_file"];

/// Several orgs of one run would share a credentials file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error(
    "--var {var}={value} names the same credentials file, {}, for {} orgs ({}): each org's run would write its own \
     sync user's secrets there, and the last would overwrite the others'",
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
    /// Its value as given (before `{org}` was replaced).
    pub value: String,
    /// The file they would share.
    pub path: PathBuf,
    /// The `--org`s that would share it, in command-line order.
    pub orgs: Vec<String>,
}

/// Each org's vars, with `{org}` replaced; refuses a credentials file shared by two orgs. `orgs` are the
/// `--org` values as given.
pub fn per_org(
    vars: &[(String, String)],
    orgs: &[String],
) -> Result<Vec<IndexMap<String, String>>, Box<SharedCredentialsFile>> {
    let expanded: Vec<IndexMap<String, String>> = orgs
        .iter()
        .map(|org| {
            let slug = org_slug(org);
            vars.iter().map(|(key, value)| (key.clone(), value.replace(ORG_PLACEHOLDER, &slug))).collect()
        })
        .collect();
    if orgs.len() < 2 {
        return Ok(expanded);
    }
    // Last one wins for a var given twice, as in the playbook's `vars`.
    let given: IndexMap<&str, &str> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for (var, value) in given {
        if !var.ends_with("_file") {
            continue;
        }
        let mut by_path: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
        for (org, org_vars) in orgs.iter().zip(&expanded) {
            let Some(path) = org_vars.get(var).filter(|p| !p.is_empty()) else { continue };
            if !names_credentials(var, Path::new(path)) {
                continue;
            }
            by_path.entry(comparable(Path::new(path))).or_default().push(org.clone());
        }
        if let Some((path, orgs)) = by_path.into_iter().find(|(_, orgs)| orgs.len() > 1) {
            return Err(Box::new(SharedCredentialsFile { var: var.to_string(), value: value.to_string(), path, orgs }));
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

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn orgs(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
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
