//! The runner.toml loader, with its diagnostics rendered. The cli is a binary, so its
//! `target` module is compiled here from the cli's sources.
#![no_main]
#![allow(dead_code, unused_imports)]

// An inline module with a folder path, so that `target.rs` finds its own children
// (`target/config.rs`, …) as it does in the cli.
#[path = "../../cli/src"]
mod cli {
    pub mod target;
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        cli::target::fuzz_config(text);
    }
});
