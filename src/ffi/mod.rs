//! The C ABI. Thin by design: pointer checks, type conversion and panic boundaries only. Every symbol
//! starts with `peer_`; `include/sealnet.h` is generated from this module by cbindgen.
#![allow(non_camel_case_types)]
// These are C entry points: their pointer contracts are documented in the header and checked for NULL
// at runtime, as a C caller expects. Marking them `unsafe fn` would only burden Rust callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod auth;
mod boundary;
pub mod client;
pub mod constants;
mod dispatch;
mod handles;
pub mod params;
pub mod peer;
pub mod result;
pub mod room;
mod sized;
pub mod types;
pub mod values;

pub use auth::*;
pub use client::*;
pub use constants::*;
pub use params::*;
pub use peer::*;
pub use result::PeerResult;
pub use room::*;
pub use types::*;
pub use values::*;

#[cfg(test)]
mod header_drift {
    #[test]
    fn committed_header_matches_the_generated_one() {
        let generated = include_str!(concat!(env!("OUT_DIR"), "/sealnet.h"));
        let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/sealnet.h"))
            .expect("include/sealnet.h is committed");
        assert!(generated == committed, "include/sealnet.h differs from the generated header: run `make header`");
    }
}
