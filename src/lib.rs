//! sealnet: realtime networking for games with a Noise NX key exchange and per-operation AES-256-GCM.

pub mod auth;
pub mod ffi;
pub mod peer;
pub mod protocol;
pub mod realtime;
pub mod rooms;
