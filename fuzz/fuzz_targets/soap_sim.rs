//! The sim's SOAP request decoder: what an unauthenticated client POSTs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    runner_sim::fuzz_soap(data);
});
