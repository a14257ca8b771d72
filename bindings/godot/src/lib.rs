//! Godot 4 GDExtension for sealnet: registers the `SealnetPeer` node.
//!
//! Layout:
//! - `value`: the engine-free mirror of Godot values and its mapping to sealnet parameters;
//! - `codes`: error codes, signal payloads, argument checks and the key pin, engine-free;
//! - `client`: the engine-free owner of the sealnet peer, which builds requests;
//! - `variant`: the thin copy between Godot `Variant`s and the engine-free values;
//! - `node`: the `SealnetPeer` class itself.
//!
//! Only `variant` and `node` need a running engine; the rest is covered by `cargo test`.

use godot::init::{gdextension, ExtensionLibrary};

pub mod client;
pub mod codes;
mod node;
pub mod value;
mod variant;

pub use node::SealnetPeer;

struct SealnetExtension;

#[gdextension]
unsafe impl ExtensionLibrary for SealnetExtension {}
