//! sealnet-backend: the reference authentication backend for sealnet.
//!
//! It logs players in (an account with a password, or a guest by device id), keeps a *session* row per
//! login, and answers the sealnet server's custom-auth webhook (docs/auth.md §2–§3) by looking the
//! session up. The pieces, one concern each:
//!
//! - [`config`]: flags and the TOML file, validated into one [`config::Config`];
//! - [`secret`]: the shared webhook secret's file (mode checks, generation);
//! - [`signature`]: the `X-Sealnet-Timestamp` / `X-Sealnet-Signature` scheme, both sides;
//! - [`session_id`], [`user_id`], [`password`], [`player_data`]: the values the API deals in;
//! - [`db`]: storage (SQLite or PostgreSQL through one set of queries) and its migrations;
//! - [`http`]: the HTTP API (logins and the webhook) and [`http::start`], which runs it;
//! - [`admin`]: what the command-line admin subcommands do;
//! - [`client`]: a small HTTP client for the load generator and the tests.

pub mod admin;
pub mod client;
pub mod clock;
pub mod config;
pub mod db;
pub mod hex;
pub mod http;
pub mod measure;
pub mod password;
pub mod player_data;
pub mod secret;
pub mod session_id;
pub mod signature;
pub mod user_id;
