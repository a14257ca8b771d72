#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::noise::psk_responder`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("noise_psk_responder"), |data: &[u8]| {
    sealnet_fuzz::noise::psk_responder(data);
});
