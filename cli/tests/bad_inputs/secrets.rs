//! Secrets, runner.toml and the journal: malformed config with secrets in it, wrong
//! modes, missing variables, a secret pasted into a `*_env` key, bad key files, a
//! password in the org URL, journals that are links, folders or full (issue 9,
//! findings 3, 9, 22, 23).

use super::{Case, SEEDED_SECRETS, run_all};

const CLIENT_SECRET: &str = SEEDED_SECRETS[1];
const PASSWORD: &str = SEEDED_SECRETS[2];

/// A runner.toml with an `[orgs.acme]` table of these lines.
fn toml(lines: &str) -> String {
    format!("# the org\n[orgs.acme]\n{lines}\n")
}

fn client_credentials(secret_line: &str) -> String {
    toml(&format!(
        "instance_url = \"https://acme.example.invalid\"\nauth = \"client_credentials\"\nclient_id = \"x\"\n{secret_line}"
    ))
}

fn jwt() -> String {
    toml(
        "instance_url = \"https://acme.example.invalid\"\nauth = \"jwt\"\nclient_id = \"x\"\nusername = \"u@acme.example\"\nprivate_key_file = \"k.pem\"",
    )
}

/// `runner play examples/hello.rhai --org acme` with a journal in the case's folder.
/// Named with `--config`, which trusts it for the run: these cases are about what a trusted file may say.
fn play_acme(name: &'static str, exit: &'static [i32], names: &[&str]) -> Case {
    let args =
        ["play", "examples/hello.rhai", "--org", "acme", "--config", "{dir}/runner.toml", "--journal", "{dir}/j.jsonl"];
    Case::new(name, &args, exit, names)
}

#[test]
fn runner_toml_never_shows_its_values() {
    let cases = vec![
        play_acme("unterminated string holding a secret", &[4], &["runner.toml", "line 5", "client_id"])
            .file("runner.toml", toml(&format!("instance_url = \"https://a.example\"\nauth = \"jwt\"\nclient_id = \"{CLIENT_SECRET}\nusername = \"u\"")), 0o644),
        play_acme("secret as a value of the wrong type", &[4], &["runner.toml", "instance_url", "line 3"])
            .file("runner.toml", toml(&format!("instance_url = [\"{CLIENT_SECRET}\"]\nauth = \"jwt\"\nclient_id = \"x\"")), 0o644),
        play_acme("secret under an unknown key", &[4], &["client_secret", "client_secret_env"])
            .file("runner.toml", client_credentials(&format!("client_secret = \"{CLIENT_SECRET}\"")), 0o644),
        play_acme("secret as the auth kind", &[4], &["`auth`", "client_credentials"]).file(
            "runner.toml",
            toml(&format!("instance_url = \"https://a.example\"\nauth = \"{CLIENT_SECRET}\"\nclient_id = \"x\"")),
            0o644,
        ),
        play_acme("bare secret on a line of its own", &[4], &["runner.toml", "line"])
            .file("runner.toml", format!("{PASSWORD}\n[orgs.acme]\n"), 0o644),
        play_acme("client secret pasted into client_secret_env", &[4], &["the value of client_secret_env is not a valid environment variable name"])
            .file("runner.toml", client_credentials(&format!("client_secret_env = \"{CLIENT_SECRET}\"")), 0o644),
        play_acme("token pasted into refresh_token_env", &[4], &["the value of refresh_token_env is not a valid environment variable name"])
            .file(
                "runner.toml",
                toml(&format!(
                    "instance_url = \"https://acme.example.invalid\"\nauth = \"refresh_token\"\nclient_id = \"x\"\nrefresh_token_env = \"{}\"",
                    SEEDED_SECRETS[0]
                )),
                0o644,
            ),
        play_acme("missing environment variable", &[4], &["ACME_SECRET_UNSET", "not set"])
            .file("runner.toml", client_credentials("client_secret_env = \"ACME_SECRET_UNSET\""), 0o644),
        play_acme("empty environment variable", &[4], &["ACME_SECRET_EMPTY", "empty"])
            .file("runner.toml", client_credentials("client_secret_env = \"ACME_SECRET_EMPTY\""), 0o644)
            .env("ACME_SECRET_EMPTY", "  "),
        play_acme("secret file readable by others", &[4], &["chmod 600", "client_secret"])
            .file("runner.toml", client_credentials("client_secret_file = \"s.secret\""), 0o644)
            .file("s.secret", format!("{CLIENT_SECRET}\n"), 0o644),
        play_acme("secret file missing", &[4], &["cannot read the client_secret", "s.secret"])
            .file("runner.toml", client_credentials("client_secret_file = \"s.secret\""), 0o644),
        play_acme("secret file is a folder", &[4], &["regular file"])
            .file("runner.toml", client_credentials("client_secret_file = \"secrets\""), 0o644)
            .file("secrets/inside", "x", 0o600),
        play_acme("secret in both env and file", &[4], &["not both"]).file(
            "runner.toml",
            client_credentials("client_secret_env = \"ACME_SECRET\"\nclient_secret_file = \"s.secret\""),
            0o644,
        ),
        play_acme("private key file is not PEM", &[4], &["not a usable private key", "not PEM"])
            .file("runner.toml", jwt(), 0o644)
            .file("k.pem", format!("{CLIENT_SECRET}\n"), 0o600),
        play_acme("certificate in the private key file", &[4], &["not a usable private key", "certificate, not a private key"])
            .file("runner.toml", jwt(), 0o644)
            .file("k.pem", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n", 0o600),
        play_acme("private key file readable by others", &[4], &["chmod 600", "private key"])
            .file("runner.toml", jwt(), 0o644)
            .file("k.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0o644),
    ];
    run_all(&cases);
}

#[test]
fn org_urls_with_a_password_are_refused_without_echoing_it() {
    let url = format!("https://admin:{PASSWORD}@acme.my.salesforce.com");
    let loopback = format!("http://admin:{PASSWORD}@127.0.0.1:9");
    let ftp = format!("ftp://admin:{PASSWORD}@acme.example");
    let cases = vec![
        Case::new(
            "password in the org URL",
            &["play", "examples/hello.rhai", "--org", &url],
            &[2],
            &["runner::target::url_credentials", "acme.my.salesforce.com"],
        )
        .env("SF_ACCESS_TOKEN", SEEDED_SECRETS[0]),
        Case::new(
            "password in a loopback org URL, --json",
            &["play", "examples/hello.rhai", "--org", &loopback, "--json"],
            &[2],
            &["runner::target::url_credentials"],
        ),
        Case::new(
            "password in a URL runner does not know",
            &["play", "examples/hello.rhai", "--org", &ftp],
            &[2],
            &["not a target"],
        ),
        Case::new(
            "seeded token, nothing listening",
            &["play", "examples/hello.rhai", "--org", "http://127.0.0.1:9", "--journal", "{dir}/j"],
            &[4],
            &["127.0.0.1"],
        )
        .env("SF_ACCESS_TOKEN", SEEDED_SECRETS[0]),
    ];
    run_all(&cases);
}

#[test]
fn journals_that_cannot_be_used_stop_the_run() {
    let cases = vec![
        Case::new(
            "journal is a symlink",
            &["play", "examples/hello.rhai", "--org", "sim", "--journal", "{dir}/j.jsonl"],
            &[1],
            &["symbolic link", "j.jsonl"],
        )
        .file("authorized_keys", "keep\n", 0o600)
        .link("j.jsonl", "{dir}/authorized_keys"),
        Case::new(
            "journal is a dangling symlink",
            &["play", "examples/hello.rhai", "--org", "sim", "--journal", "{dir}/j.jsonl"],
            &[1],
            &["symbolic link"],
        )
        .link("j.jsonl", "{dir}/nowhere"),
        Case::new(
            "journal is a folder",
            &["play", "examples/hello.rhai", "--org", "sim", "--journal", "{dir}/jdir"],
            &[1],
            &["runner::journal::not_a_file", "a folder"],
        )
        .file("jdir/x", "x", 0o600),
        Case::new(
            "journal's folder is a file",
            &["play", "examples/hello.rhai", "--org", "sim", "--journal", "{dir}/afile/j.jsonl"],
            &[1],
            &["runner::journal::open", "cannot create its"],
        )
        .file("afile", "x", 0o600),
        Case::new(
            "journal in missing folders is created",
            &["play", "examples/hello.rhai", "--org", "sim", "--journal", "{dir}/new/deeper/j.jsonl"],
            &[0],
            &["journal:", "deeper"],
        ),
        Case::new(
            "journal on a full disk",
            &["play", "examples/hello.rhai", "--org", "sim", "--journal", "/dev/full"],
            &[1],
            &["cannot write the journal", "not sent"],
        ),
        Case::new(
            "journal on a full disk, --json",
            &["play", "examples/hello.rhai", "--org", "sim", "--journal", "/dev/full", "--json"],
            &[1],
            &["runner::journal::write"],
        ),
    ];
    run_all(&cases);
}

#[test]
fn sim_secrets_from_files_are_mode_checked() {
    let cases = vec![
        Case::new(
            "sim token file readable by others",
            &["sim", "serve", "--token-file", "{dir}/t"],
            &[2],
            &["chmod 600", "token"],
        )
        .file("t", format!("{}\n", SEEDED_SECRETS[0]), 0o644),
        Case::new(
            "sim token file missing",
            &["sim", "serve", "--token-file", "{dir}/t"],
            &[2],
            &["cannot read the token"],
        ),
        Case::new(
            "sim client secret file empty",
            &["sim", "serve", "--client-id", "x", "--client-secret-file", "{dir}/s"],
            &[2],
            &["empty"],
        )
        .file("s", "\n", 0o600),
        Case::new("sim client id without a secret", &["sim", "serve", "--client-id", "x"], &[2], &["client secret"]),
        Case::new(
            "sim token given twice",
            &["sim", "serve", "--token", "abcdefgh", "--token-file", "{dir}/t"],
            &[2],
            &["cannot be used with"],
        )
        .file("t", "x\n", 0o600),
    ];
    run_all(&cases);
}
