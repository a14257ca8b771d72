#![doc = include_str!("../README.md")]

pub mod config;
mod connection;
pub mod keyfile;
mod ops;
pub mod plugin;
pub mod rooms;
mod server;

pub use config::Config;
pub use plugin::{EventContext, OpContext, Plugin, ProfanityMask, ReceiverGroup, Verdict};
pub use server::{RunningServer, Server};
