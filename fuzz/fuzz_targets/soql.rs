//! The sim's SOQL parser, then the query run against the storeconnect seed org.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        runner_sim::fuzz_soql(text);
    }
});
