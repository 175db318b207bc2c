//! SIGINT and SIGTERM end `runner play` cleanly (issue 9, Interruption): the request in flight finishes and
//! is journaled, no write starts after the signal, and runner exits 130 or 143. Real signals to the binary,
//! against `runner sim serve --latency-ms` so that a request is in flight long enough; each signal is sent
//! once runner has printed the line that comes just before the moment wanted, never after a sleep.

mod common;

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::Served;
use serde_json::Value;

fn runner() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("runner"));
    cmd.env("NO_COLOR", "1");
    cmd
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().expect("kill runs");
    assert!(sent.success(), "kill -{name}");
}

/// Reads `child`'s stdout up to the first line containing `wanted`; answers everything read so far.
fn read_until(stdout: &mut BufReader<std::process::ChildStdout>, wanted: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let read = stdout.read_line(&mut line).expect("a line");
        assert!(read > 0, "stdout ended before {wanted:?}: {seen}");
        seen.push_str(&line);
        if line.contains(wanted) {
            return seen;
        }
    }
}

/// The journal's result lines: each write is journaled as `sending` before it goes out,
/// then with its result.
fn journal(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("a complete journal line ({e}): {l}")))
        .filter(|entry| entry["status"] != "sending")
        .collect()
}

/// What a query answers on the served org, through a playbook `print`.
fn count(served: &Served, dir: &Path, soql: &str) -> usize {
    let playbook = dir.join("count.rhai");
    std::fs::write(&playbook, format!("print(`count=${{sf::query({soql:?}).len()}}`);\n")).expect("written");
    let out = runner()
        .env("SF_ACCESS_TOKEN", &served.token)
        .args(["play"])
        .arg(&playbook)
        .args(["--org", &served.url, "--journal", "/dev/null"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("count="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("a count: {stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

/// A loopback proxy in front of the sim that says when a request starting with `marker` has gone through it
/// to the sim: from then on, with the sim's latency, that request is in flight. Printing a line just before a
/// write is not enough: the signal can overtake the write between the print and the request.
struct Proxy {
    url: String,
    seen: std::sync::mpsc::Receiver<()>,
}

impl Proxy {
    fn start(upstream: &str, marker: &'static [u8]) -> Proxy {
        use std::io::Write as _;
        use std::net::{TcpListener, TcpStream};
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let (tx, seen) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(&upstream) else { return };
                let (mut client_in, mut server_out) =
                    (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                let (mut server_in, mut client_out) = (server, client);
                let tx = tx.clone();
                std::thread::spawn(move || {
                    let mut window: Vec<u8> = Vec::new();
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = client_in.read(&mut buf) {
                        if n == 0 || server_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        // Bytes kept across reads, so that a marker split between two is still found.
                        window.extend_from_slice(&buf[..n]);
                        if window.windows(marker.len()).any(|w| w == marker) {
                            let _ = tx.send(());
                            window.clear();
                        }
                        let keep = window.len().saturating_sub(marker.len());
                        window.drain(..keep);
                    }
                    let _ = server_out.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut server_in, &mut client_out);
                    let _ = client_out.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Proxy { url, seen }
    }
}

#[test]
fn sigint_lets_the_write_in_flight_finish_and_journal_then_sends_nothing_and_exits_130() {
    let served = Served::start("int-token", &["--latency-ms", "400"]);
    let proxy = Proxy::start(&served.url, b"POST /services/data/v62.0/sobjects/Account");
    let dir = tempfile::tempdir().expect("temp dir");
    let journal_path = dir.path().join("j.jsonl");
    let playbook = dir.path().join("two.rhai");
    std::fs::write(
        &playbook,
        "print(\"sending the first\");\nsf::create(\"Account\", #{ Name: \"Interrupt First\" });\n\
         print(\"sending the second\");\nsf::create(\"Account\", #{ Name: \"Interrupt Second\" });\n",
    )
    .expect("written");
    let mut child = runner()
        .env("SF_ACCESS_TOKEN", &served.token)
        .arg("play")
        .arg(&playbook)
        .args(["--org", &proxy.url, "--journal"])
        .arg(&journal_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    // The first create has reached the sim, which answers it 400 ms later.
    proxy.seen.recv_timeout(std::time::Duration::from_secs(30)).expect("the first create is sent");
    signal(&child, "INT");
    let mut seen = String::new();
    stdout.read_to_string(&mut seen).expect("the rest of stdout");
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    let status = child.wait().expect("ends");

    assert_eq!(status.code(), Some(130), "{seen}\n{stderr}");
    assert!(stderr.contains("SIGINT") && stderr.contains("no write was sent after it"), "{stderr}");
    assert!(seen.contains("created Account Interrupt First"), "the write in flight finished: {seen}");
    assert!(!seen.contains("sending the second") || seen.contains("stopped by SIGINT"), "{seen}");
    let lines = journal(&journal_path);
    assert_eq!(lines.len(), 1, "one write, journaled: {lines:?}");
    assert_eq!(lines[0]["path"], "/sobjects/Account");
    assert_eq!(lines[0]["status"], "ok", "{}", lines[0]);
    assert_eq!(count(&served, dir.path(), "SELECT Id FROM Account WHERE Name = 'Interrupt First'"), 1);
    assert_eq!(count(&served, dir.path(), "SELECT Id FROM Account WHERE Name = 'Interrupt Second'"), 0, "not sent");
}

#[test]
fn sigterm_stops_setup_with_143_and_a_rerun_finishes_it() {
    let served = Served::start("term-token", &["--latency-ms", "150"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let journal_path = dir.path().join("j.jsonl");
    let envs = [("SF_ACCESS_TOKEN", served.token.as_str())];
    let defaults = common::record_type_vars(&served.url, &envs, dir.path());
    let setup = |journal: &Path| {
        let mut cmd = runner();
        cmd.current_dir(dir.path())
            .env("SF_ACCESS_TOKEN", &served.token)
            .args(["play", "setup.rhai", "--org", &served.url, "--journal"])
            .arg(journal)
            .args(["--var", "username=term.sync@client.example", "--var", "email=ops@client.example"])
            .args(["--var", "credentials_file=sync.creds"])
            .args(&defaults);
        cmd
    };
    let mut child = setup(&journal_path).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("runs");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut seen = read_until(&mut stdout, "create_user");
    signal(&child, "TERM");
    stdout.read_to_string(&mut seen).expect("the rest");
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    let status = child.wait().expect("ends");
    assert_eq!(status.code(), Some(143), "{seen}\n{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert!(seen.contains("recap"), "the recap is printed: {seen}");
    let lines = journal(&journal_path);
    assert!(lines.iter().all(|l| l["status"] == "ok"), "{lines:?}");
    let psl = "SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = 'term.sync@client.example'";
    let journaled_psl = lines.iter().filter(|l| l["path"] == "/sobjects/PermissionSetLicenseAssign").count();
    assert_eq!(count(&served, dir.path(), psl), journaled_psl, "what the org holds is what the journal says");
    assert!(!seen.contains("set_defaults"), "setup stopped early: {seen}");

    let again = setup(&dir.path().join("j2.jsonl")).output().expect("runs");
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(count(&served, dir.path(), psl), 1);
    assert_eq!(
        count(&served, dir.path(), "SELECT Id FROM User WHERE Username = 'term.sync@client.example'"),
        1,
        "one user, not two"
    );
}
