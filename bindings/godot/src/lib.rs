//! Godot 4 GDExtension for sealnet: registers the `SealnetPeer` node and the `SealnetValue` class.
//!
//! Layout:
//! - `value`: the engine-free mirror of Godot values, its mapping to sealnet values both ways, the
//!   checks of the `SealnetValue` constructors and the built-in custom types;
//! - `codes`: error codes, signal payloads, argument checks and the key pin, engine-free;
//! - `client`: the engine-free owner of the sealnet peer, which builds requests and reports stats;
//! - `variant`: the thin copy between Godot `Variant`s and the engine-free values, and the custom types
//!   scripts register;
//! - `sealnet_value`: the `SealnetValue` class (explicitly typed values);
//! - `node`: the `SealnetPeer` class itself.
//!
//! Only `variant`, `sealnet_value` and `node` need a running engine; the rest is covered by `cargo
//! test`, and is what `examples/all_types.rs` uses to speak the Godot mapping without an engine.

use godot::init::{gdextension, ExtensionLibrary};

pub mod client;
pub mod codes;
mod node;
mod sealnet_value;
pub mod value;
mod variant;

pub use node::SealnetPeer;
pub use sealnet_value::SealnetValue;

struct SealnetExtension;

#[gdextension]
unsafe impl ExtensionLibrary for SealnetExtension {}
