//! The error-code catalogue (`runner_core::codes`) against the sources and the docs.
//!
//! A code that a source file writes but the catalogue lacks is undocumented; a catalogue
//! entry no source writes is stale; `docs/error-codes.md` is generated from the catalogue
//! and must match it. `UPDATE_ERROR_CODES=1 cargo test -p runner-core --test error_codes`
//! rewrites the docs page.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use runner_core::codes;

/// The folders whose files may write a `runner::…` code.
const SOURCE_FOLDERS: &[&str] = &["core/src", "steps/src", "cli/src", "sim/src", "scripts", "examples"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("core sits inside the workspace").to_path_buf()
}

fn source_files(folder: &Path, found: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(folder).unwrap_or_else(|e| panic!("cannot list {}: {e}", folder.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            // A build folder (cargo marks it with CACHEDIR.TAG) holds copies, not sources;
            // `cli/src/target` is a source folder.
            if path.join("CACHEDIR.TAG").exists() {
                continue;
            }
            source_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "rhai") && !path.ends_with("core/src/codes.rs") {
            found.push(path);
        }
    }
}

/// Every `runner::a::b` written in a file, with the file it was first seen in.
fn codes_in_sources(root: &Path) -> (BTreeMap<String, PathBuf>, String) {
    let mut files = Vec::new();
    for folder in SOURCE_FOLDERS {
        source_files(&root.join(folder), &mut files);
    }
    let mut codes = BTreeMap::new();
    let mut all_text = String::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        for code in scan_codes(&text) {
            codes.entry(code).or_insert_with(|| file.strip_prefix(root).unwrap_or(&file).to_path_buf());
        }
        all_text.push_str(&text);
    }
    (codes, all_text)
}

/// `runner::` followed by two or more `::`-separated lower-case segments.
fn scan_codes(text: &str) -> Vec<String> {
    let segment =
        |s: &str| s.bytes().take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_').count();
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("runner::") {
        let start = at + "runner::".len();
        let mut end = start;
        let mut segments = 0;
        loop {
            let len = segment(&rest[end..]);
            if len == 0 {
                break;
            }
            end += len;
            segments += 1;
            if rest[end..].starts_with("::") && segment(&rest[end + 2..]) > 0 {
                end += 2;
            } else {
                break;
            }
        }
        if segments >= 2 {
            found.push(rest[at..end].to_string());
        }
        rest = &rest[end.max(start)..];
    }
    found
}

fn render_markdown() -> String {
    let mut by_area: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for (code, meaning) in codes::ALL {
        let area = code.split("::").nth(1).expect("runner::area::name");
        by_area.entry(area).or_default().push((code, meaning.trim()));
    }
    let mut page = String::from(
        "# Error codes\n\n\
         Generated from `core/src/codes.rs` by `UPDATE_ERROR_CODES=1 cargo test -p runner-core --test error_codes`; \
         edit that file, not this one.\n\n\
         A playbook sees the code as `err.code`; `--json` reports it as `code`. Codes are stable: \
         a code is never reused for another meaning.\n",
    );
    for (area, rows) in by_area {
        page.push_str(&format!("\n## {area}\n\n| Code | Meaning |\n|---|---|\n"));
        for (code, meaning) in rows {
            page.push_str(&format!("| `{code}` | {} |\n", meaning.replace('|', "\\|")));
        }
    }
    page
}

#[test]
fn the_scanner_finds_codes_and_only_codes() {
    let text = r#"code = "runner::step::user_not_found"; see runner::sf::api, runner.toml, runner::x"#;
    assert_eq!(scan_codes(text), ["runner::step::user_not_found", "runner::sf::api"]);
}

#[test]
fn every_code_in_the_sources_is_in_the_catalogue() {
    let (used, _) = codes_in_sources(&workspace_root());
    let listed: BTreeSet<&str> = codes::ALL.iter().map(|(code, _)| *code).collect();
    let missing: Vec<String> = used
        .iter()
        .filter(|(code, _)| !listed.contains(code.as_str()))
        .map(|(code, file)| format!("{code} (in {})", file.display()))
        .collect();
    assert!(missing.is_empty(), "add these to core/src/codes.rs:\n{}", missing.join("\n"));
}

#[test]
fn every_catalogue_entry_is_used_and_listed_once() {
    let (used, text) = codes_in_sources(&workspace_root());
    let mut seen = BTreeSet::new();
    for (code, meaning) in codes::ALL {
        assert!(seen.insert(*code), "{code} is listed twice");
        assert!(!meaning.trim().is_empty(), "{code} has no meaning");
        let constant = code.trim_start_matches("runner::").replace("::", "_").to_ascii_uppercase();
        assert!(
            used.contains_key(*code) || text.contains(&format!("codes::{constant}")),
            "{code} is in the catalogue but no source reports it: remove it"
        );
    }
}

#[test]
fn the_docs_page_matches_the_catalogue() {
    let path = workspace_root().join("docs/error-codes.md");
    let expected = render_markdown();
    if std::env::var_os("UPDATE_ERROR_CODES").is_some() {
        fs::write(&path, &expected).expect("write docs/error-codes.md");
        return;
    }
    let actual = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/error-codes.md is out of date: run UPDATE_ERROR_CODES=1 cargo test -p runner-core --test error_codes"
    );
}
