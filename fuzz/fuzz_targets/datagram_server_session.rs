#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::datagram_server::datagram_server_session`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("datagram_server_session"), |data: &[u8]| {
    sealnet_fuzz::datagram_server::datagram_server_session(data);
});
