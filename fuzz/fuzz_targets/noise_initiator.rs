#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::noise::initiator`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("noise_initiator"), |data: &[u8]| {
    sealnet_fuzz::noise::initiator(data);
});
