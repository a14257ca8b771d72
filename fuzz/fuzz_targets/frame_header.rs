#![no_main]
//! libFuzzer entry point; the target itself is `sealnet_fuzz::frame_header::run`.

libfuzzer_sys::fuzz_target!(init: sealnet_fuzz::seeds::write_if_requested("frame_header"), |data: &[u8]| {
    sealnet_fuzz::frame_header::run(data);
});
