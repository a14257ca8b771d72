#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::datagram_endpoint::run`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("datagram_endpoint"), |data: &[u8]| {
    sealnet_fuzz::datagram_endpoint::run(data);
});
