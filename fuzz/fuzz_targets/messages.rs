#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::messages::run`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("messages"), |data: &[u8]| {
    sealnet_fuzz::messages::run(data);
});
