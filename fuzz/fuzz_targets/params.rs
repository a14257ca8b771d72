#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::params::run`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("params"), |data: &[u8]| {
    sealnet_fuzz::params::run(data);
});
