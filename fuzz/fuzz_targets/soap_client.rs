//! The client's Metadata SOAP decoder: what a (hostile) server answers.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    runner_core::client::fuzzing::soap(data);
});
