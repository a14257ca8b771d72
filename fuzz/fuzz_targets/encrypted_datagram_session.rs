#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::encrypted_datagram::encrypted_datagram_session`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("encrypted_datagram_session"), |data: &[u8]| {
    sealnet_fuzz::encrypted_datagram::encrypted_datagram_session(data);
});
