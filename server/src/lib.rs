#![doc = include_str!("../README.md")]

mod admin;
mod admission;
pub mod audience;
pub mod auth;
mod authenticate;
pub mod config;
mod connection;
pub mod directory;
mod heartbeat;
pub mod keyfile;
mod lifetimes;
pub mod limits;
mod lobby;
mod matchmaking;
mod metrics;
mod ops;
pub mod plugin;
pub mod rooms;
mod server;
mod shards;
mod ticket;
mod udp;
mod udp_batch;
mod wss;

pub use config::Config;
pub use plugin::{AuthenticatedContext, EventContext, OpContext, Plugin, ProfanityMask, ReceiverGroup, Verdict};
pub use server::{Listener, RunningServer, Server, Stopper};
pub use wss::WssInfo;
