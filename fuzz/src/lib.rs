//! The bodies of sealnet's fuzz targets, shared by the libFuzzer entry points in `fuzz_targets/` and by
//! the smoke test in `tests/smoke.rs`, so both run exactly the same code.
//!
//! Each target takes arbitrary bytes and panics only when it finds a bug: a panic, abort, hang or
//! unbounded allocation inside sealnet, or a broken invariant the target checks (a round trip that does
//! not round-trip, a session that refuses what an honest peer sent, output that is not well-formed).
//! Everything is deterministic for a given input except the key exchanges inside `Session`, which draw
//! their ephemeral keys from the operating system.

pub mod alloc;
pub mod auth_once;
pub mod datagram_endpoint;
pub mod datagram_server;
pub mod datagram_wire;
pub mod encrypted;
pub mod encrypted_datagram;
pub mod frame_header;
pub mod input;
pub mod messages;
pub mod noise;
pub mod params;
pub mod secure;
pub mod seeds;
pub mod session;
pub mod wire;

#[global_allocator]
static ALLOCATOR: alloc::Bounded = alloc::Bounded;

/// One fuzz target: its name (the binary in `fuzz_targets/`) and its body.
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, in the order the scripts run them.
pub const TARGETS: &[Target] = &[
    Target { name: "frame_header", run: frame_header::run },
    Target { name: "params", run: params::run },
    Target { name: "messages", run: messages::run },
    Target { name: "noise_responder", run: noise::responder },
    Target { name: "noise_initiator", run: noise::initiator },
    Target { name: "server_session", run: session::server_session },
    Target { name: "client_session", run: session::client_session },
    Target { name: "encrypted_server_session", run: encrypted::encrypted_server_session },
    Target { name: "encrypted_client_session", run: encrypted::encrypted_client_session },
    Target { name: "datagram_endpoint", run: datagram_endpoint::run },
    Target { name: "datagram_server_session", run: datagram_server::datagram_server_session },
    Target { name: "encrypted_datagram_session", run: encrypted_datagram::encrypted_datagram_session },
    Target { name: "secure_server_session", run: secure::secure_server_session },
    Target { name: "secure_client_session", run: secure::secure_client_session },
    Target { name: "noise_psk_responder", run: noise::psk_responder },
    Target { name: "auth_once_server_session", run: auth_once::auth_once_server_session },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}
