//! Playbooks: malformed, mistyped, empty, binary.

use super::{Case, run_all};

#[test]
fn malformed_playbooks_are_named_at_their_line() {
    let cases = vec![
        Case::new("syntax error", &["check", "p.rhai"], &[3], &["p.rhai:1", "syntax"]).file(
            "p.rhai",
            "let x = ;\n",
            0o644,
        ),
        Case::new("unknown step", &["check", "p.rhai"], &[3], &["creat_user", "create_user"]).file(
            "p.rhai",
            "creat_user(#{ username: \"a@b.example\" });\n",
            0o644,
        ),
        Case::new("missing playbook", &["play", "nope.rhai", "--org", "sim"], &[2, 3], &["nope.rhai"]),
        Case::new("empty playbook", &["play", "p.rhai", "--org", "sim", "--journal", "j"], &[0], &["recap"])
            .file("p.rhai", "", 0o644),
    ];
    run_all(&cases);
}
