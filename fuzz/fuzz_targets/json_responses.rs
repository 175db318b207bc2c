//! The client's JSON decoders of REST answers and the errors made of them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    runner_core::client::fuzzing::json(data);
});
