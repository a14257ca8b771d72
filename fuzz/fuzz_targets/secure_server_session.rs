#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::secure::secure_server_session`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("secure_server_session"), |data: &[u8]| {
    sealnet_fuzz::secure::secure_server_session(data);
});
