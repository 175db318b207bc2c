//! `runner sim serve --orgs N --config-out FILE`: a fleet of simulated orgs and the
//! `runner.toml` inventory that reaches them.
//!
//! Each org is a simulated org of its own (its own port, data, token and connected-app
//! secret), so a fleet run meets what a partner's 40 client orgs would give it: N hosts,
//! N logins, N different sync users. FILE names every org (`sim-1` … `sim-N`), a group
//! `sim`, and each org's `username` and `email` (Salesforce usernames are unique across
//! all orgs, so they differ per org). It never holds a secret: each org's client secret
//! goes to `FILE-NAME.sim-K.secret` beside it, mode 0600.
//!
//! Nothing that runner did not write is overwritten: FILE is replaced only if it starts
//! with [`HEADER`], a secret file only if it holds one secret of the shape written here
//! ([`SECRET_PREFIX`]). Both are written to a temporary file (`O_EXCL`, mode 0600) in the
//! same folder and renamed over the name, so a link there is replaced, never followed.

use runner_core::whole_file::{Existing, WholeFile, write_whole};
use std::fs;
use std::io::{self, Read as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// FILE's first line: how a later `--config-out` knows the file is one it may replace.
pub const HEADER: &str = "# Written by `runner sim serve --orgs`: the inventory of a fleet of simulated orgs.";

/// Every client secret written starts so, so that a secret file runner wrote is told
/// apart from one it did not.
const SECRET_PREFIX: &str = "runner-sim-";

/// The connected app's consumer key every org of the fleet has (not a secret).
pub const CLIENT_ID: &str = "runner-sim-client";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FleetError {
    #[error("{} is a symbolic link; runner sim serve does not write through links", path.display())]
    #[diagnostic(
        code(runner::sim::fleet_symlink),
        help("Name the real file (`realpath` shows it), or remove the link.")
    )]
    Symlink { path: PathBuf },

    #[error("{} is there and was not written by runner sim serve; not replacing it", path.display())]
    #[diagnostic(code(runner::sim::fleet_not_ours), help("Name another file for --config-out, or move this one away."))]
    NotOurs { path: PathBuf },

    #[error("cannot {action} {}", path.display())]
    #[diagnostic(code(runner::sim::fleet_io), help("Check that the folder exists and that you may write it."))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// One org of the fleet, as FILE describes it.
pub struct FleetOrg {
    /// `sim-K`.
    pub name: String,
    pub instance_url: String,
    pub client_secret: String,
    pub username: String,
    pub email: String,
}

impl FleetOrg {
    /// The K-th org (1-based) of a fleet, its secret still to be filled in.
    pub fn new(k: usize, instance_url: String, client_secret: String) -> Self {
        let name = format!("sim-{k}");
        FleetOrg {
            username: format!("storeconnect.sync.{k}@{name}.example"),
            email: format!("ops@{name}.example"),
            name,
            instance_url,
            client_secret,
        }
    }
}

/// A client secret for an org of the fleet, recognisable as runner's by its prefix.
pub fn client_secret(random: &str) -> String {
    format!("{SECRET_PREFIX}{random}")
}

/// The secret file of `org` beside `config`: `runner.toml` → `runner.toml.sim-1.secret`.
pub fn secret_path(config: &Path, org: &str) -> PathBuf {
    let name = config.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "runner.toml".into());
    config.with_file_name(format!("{name}.{org}.secret"))
}

/// Writes each org's secret file, then `config`.
pub fn write(config: &Path, orgs: &[FleetOrg]) -> Result<(), FleetError> {
    for org in orgs {
        let path = secret_path(config, &org.name);
        replace(&path, &org.client_secret, |text| {
            let text = text.trim();
            text.starts_with(SECRET_PREFIX) && !text.contains(char::is_whitespace)
        })?;
    }
    replace(config, &render(config, orgs), |text| text.starts_with(HEADER))
}

/// FILE's text: TOML with every value quoted by the toml crate's rules (via `toml_str`).
fn render(config: &Path, orgs: &[FleetOrg]) -> String {
    let mut text = format!("{HEADER}\n# Secrets are in the files beside it, mode 0600; none is here.\n");
    for org in orgs {
        let secret_file = secret_path(config, &org.name);
        // Relative to FILE's folder, as runner.toml resolves it, so the folder can move as a whole.
        let secret_file = secret_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        text.push_str(&format!(
            "\n[orgs.{name}]\ninstance_url = {url}\nauth = \"client_credentials\"\nclient_id = {id}\nclient_secret_file = {file}\n\n[orgs.{name}.vars]\nusername = {user}\nemail = {email}\n",
            name = org.name,
            url = toml_str(&org.instance_url),
            id = toml_str(CLIENT_ID),
            file = toml_str(&secret_file),
            user = toml_str(&org.username),
            email = toml_str(&org.email),
        ));
    }
    let members: Vec<String> = orgs.iter().map(|org| toml_str(&org.name)).collect();
    text.push_str(&format!("\n[groups]\nsim = [{}]\n", members.join(", ")));
    text
}

/// `s` as a TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Replaces `path` with `contents` (mode 0600) if nothing is there, or if what is there is
/// a regular file of ours (`ours` says so from its text). Never writes through a link.
fn replace(path: &Path, contents: &str, ours: impl Fn(&str) -> bool) -> Result<(), FleetError> {
    let io_err = |action: &'static str, at: &Path| {
        let at = at.to_owned();
        move |source: io::Error| FleetError::Io { action, path: at, source }
    };
    let replacing = match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(FleetError::Symlink { path: path.to_owned() }),
        Ok(meta) if !meta.is_file() => return Err(FleetError::NotOurs { path: path.to_owned() }),
        Ok(meta) => {
            // O_NOFOLLOW: a link swapped in since the check above is not read through.
            let mut file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                .open(path)
                .map_err(io_err("open", path))?;
            let mut text = String::new();
            // A file that is not text (or is large) is not one runner wrote.
            let read = (&mut file).take(1 << 20).read_to_string(&mut text);
            // Another user's file is not ours, whatever it says.
            let mine = meta.uid() == rustix::process::getuid().as_raw();
            if read.is_err() || !mine || !ours(&text) {
                return Err(FleetError::NotOurs { path: path.to_owned() });
            }
            true
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => false,
        Err(source) => return Err(FleetError::Io { action: "inspect", path: path.to_owned(), source }),
    };
    // A new file is linked in without replacing: one that appeared since the check is left alone.
    let how = WholeFile {
        existing: if replacing { Existing::Replace } else { Existing::Keep },
        ..WholeFile::private(".runner-sim-fleet-")
    };
    write_whole(path, contents.as_bytes(), how).map_err(|err| {
        if err.already_exists() {
            FleetError::NotOurs { path: path.to_owned() }
        } else {
            FleetError::Io { action: err.action, path: err.path, source: err.source }
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn fleet() -> Vec<FleetOrg> {
        (1..=2).map(|k| FleetOrg::new(k, format!("http://127.0.0.1:{}", 4000 + k), client_secret("s3cr3t"))).collect()
    }

    #[test]
    fn the_inventory_holds_no_secret_and_the_secrets_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("fleet.toml");
        write(&config, &fleet()).unwrap();
        let text = fs::read_to_string(&config).unwrap();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("sim = [\"sim-1\", \"sim-2\"]"), "{text}");
        assert!(text.contains("storeconnect.sync.2@sim-2.example"), "{text}");
        let parsed: toml::Table = text.parse().unwrap();
        assert_eq!(parsed["orgs"]["sim-1"]["client_secret_file"].as_str(), Some("fleet.toml.sim-1.secret"));
        let secret = secret_path(&config, "sim-1");
        assert_eq!(fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read_to_string(&secret).unwrap(), "runner-sim-s3cr3t");
        // Written again: its own files are replaced.
        write(&config, &fleet()).unwrap();
    }

    #[test]
    fn a_file_runner_did_not_write_or_a_link_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("runner.toml");
        fs::write(&config, "[orgs.prod]\n").unwrap();
        assert!(matches!(write(&config, &fleet()), Err(FleetError::NotOurs { .. })));
        assert_eq!(fs::read_to_string(&config).unwrap(), "[orgs.prod]\n");

        let other = dir.path().join("other.toml");
        fs::write(secret_path(&other, "sim-1"), "a secret of the user's").unwrap();
        assert!(matches!(write(&other, &fleet()), Err(FleetError::NotOurs { .. })));
        assert_eq!(fs::read_to_string(secret_path(&other, "sim-1")).unwrap(), "a secret of the user's");

        let victim = dir.path().join("victim");
        fs::write(&victim, "precious").unwrap();
        let linked = dir.path().join("linked.toml");
        std::os::unix::fs::symlink(&victim, &linked).unwrap();
        assert!(matches!(write(&linked, &fleet()), Err(FleetError::Symlink { .. })));
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    }
}
