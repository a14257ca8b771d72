#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::auth_once::auth_once_server_session`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("auth_once_server_session"), |data: &[u8]| {
    sealnet_fuzz::auth_once::auth_once_server_session(data);
});
