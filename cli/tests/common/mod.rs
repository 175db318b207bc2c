//! What the binary tests share: `runner sim serve` in the background.

// Each test binary compiles this module and uses part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// `runner sim serve --port 0 --token TOKEN EXTRA…`, killed on drop.
pub struct Served {
    child: Child,
    pub url: String,
    pub token: String,
}

impl Served {
    pub fn start(token: &str, extra: &[&str]) -> Served {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("runner"))
            .args(["sim", "serve", "--port", "0", "--token", token])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let (mut url, mut printed_token) = (String::new(), String::new());
        // It prints its URL and token, then a `try:` line once it accepts connections.
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line");
            if let Some(u) = line.strip_prefix("instance url: ") {
                url = u.to_string();
            }
            if let Some(t) = line.strip_prefix("token: ") {
                printed_token = t.to_string();
            }
            if line.starts_with("try: ") {
                break;
            }
        }
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "printed its URL: {url}"
        );
        Served { child, url, token: printed_token }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
