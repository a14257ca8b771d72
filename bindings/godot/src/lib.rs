//! Godot 4 GDExtension for sealnet: registers the `SealnetPeer` and `SealnetRealtimeClient` nodes and
//! the `SealnetValue` class.
//!
//! Layout:
//! - `value`: the engine-free mirror of Godot values, its mapping to sealnet values both ways, the
//!   checks of the `SealnetValue` constructors and the built-in custom types;
//! - `codes`: error codes, signal payloads, argument checks and the key pin, engine-free;
//! - `client`: the engine-free owner of the sealnet peer, which builds requests and reports stats;
//! - `realtime`: the engine-free owner of the realtime client (Photon's LoadBalancingClient): settings,
//!   room options, room properties, players and the lobby's room list as Godot values, and the
//!   mapping of its events to signals;
//! - `variant`: the thin copy between Godot `Variant`s and the engine-free values, and the custom types
//!   scripts register;
//! - `sealnet_value`: the `SealnetValue` class (explicitly typed values);
//! - `node`: the `SealnetPeer` class itself;
//! - `realtime_node`: the `SealnetRealtimeClient` class;
//! - `test_server` (tests only): the reference server in-process, for the end-to-end tests.
//!
//! Only `variant`, `sealnet_value`, `node` and `realtime_node` need a running engine; the rest is
//! covered by `cargo test`, and is what `examples/all_types.rs` and `examples/realtime.rs` use to speak
//! the Godot mapping without an engine.

use godot::init::{gdextension, ExtensionLibrary};

pub mod client;
pub mod codes;
mod node;
pub mod realtime;
mod realtime_node;
mod sealnet_value;
#[cfg(test)]
mod test_server;
pub mod value;
mod variant;

pub use node::SealnetPeer;
pub use realtime_node::SealnetRealtimeClient;
pub use sealnet_value::SealnetValue;

struct SealnetExtension;

#[gdextension]
unsafe impl ExtensionLibrary for SealnetExtension {}
