//! The credentials-file parser (after the file checks), with a render round trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        runner_core::credentials::fuzz_parse(text);
    }
});
