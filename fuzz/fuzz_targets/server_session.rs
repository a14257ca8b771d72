#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::session::server_session`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("server_session"), |data: &[u8]| {
    sealnet_fuzz::session::server_session(data);
});
