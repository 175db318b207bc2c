//! The playbooks built into the binary, so that a consultant who installed only
//! `runner` has them: `runner play setup.rhai` falls back to these, and `runner init`
//! copies them out for customisation. A binary is given them ([`crate::Runner::playbooks`]), with any of its own.

/// runner's playbooks: (path relative to `scripts/`, text). Imports resolve among the playbooks a binary has,
/// relative to the importing playbook's folder.
pub const PLAYBOOKS: &[(&str, &str)] = &[
    ("setup.rhai", include_str!("../../scripts/setup.rhai")),
    ("swap.rhai", include_str!("../../scripts/swap.rhai")),
    ("reauth.rhai", include_str!("../../scripts/reauth.rhai")),
    ("audit.rhai", include_str!("../../scripts/audit.rhai")),
    ("record_types.rhai", include_str!("../../scripts/record_types.rhai")),
    ("lib/storeconnect.rhai", include_str!("../../scripts/lib/storeconnect.rhai")),
    ("examples/hello.rhai", include_str!("../../scripts/examples/hello.rhai")),
    ("examples/partner.rhai", include_str!("../../scripts/examples/partner.rhai")),
    ("examples/lib/acme.rhai", include_str!("../../scripts/examples/lib/acme.rhai")),
];

/// The playbooks to list and to run by name: not the modules under a `lib/`.
pub fn listed<'a>(files: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = &'a (&'a str, &'a str)> {
    files.iter().filter(|(path, _)| !path.contains("lib/"))
}

/// The path of a built-in playbook, given as `setup.rhai`, `setup` or `examples/hello`.
pub fn find(files: &'static [(&'static str, &'static str)], name: &str) -> Option<&'static str> {
    let with_ext = if name.ends_with(".rhai") { name.to_string() } else { format!("{name}.rhai") };
    listed(files).map(|(path, _)| *path).find(|path| *path == with_ext)
}

/// A playbook's one-line summary: its first comment line, without the file name.
pub fn summary(text: &str) -> &str {
    let first = text.lines().next().unwrap_or_default().trim_start_matches("//").trim();
    first.split_once(" — ").map_or(first, |(_, rest)| rest)
}
