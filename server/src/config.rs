//! Server settings: a TOML file over built-in defaults, then command-line overrides.
//!
//! Every field has a default, so the server runs with no file at all. Unknown keys are refused, so a
//! misspelt setting is an error rather than silently ignored.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The defaults, as a config file would spell them. `Config::default()` parses this text, so the
/// documented defaults and the real ones cannot drift apart.
pub const DEFAULT_CONFIG_TOML: &str = r#"# sealnet-server configuration. Every key is optional; these are the defaults.

# Address and port to listen on (TCP). Port 0 picks a free port and prints it.
listen = "127.0.0.1:4530"

# What this process does (docs/cluster.md): "all" (master and game server in one process: matchmaking
# puts players in rooms right here, and its rooms are its directory),
# "master" (authentication and matchmaking; it sends players to game servers with a fresh token) or
# "game" (hosts rooms; admits only players with a server token from a master).
role = "all"

# Application ids a client may name in Connect; any other id is refused with UnknownAppId.
app_ids = ["demo"]

# Where the server's X25519 static key is kept; created (mode 0600) when missing.
# Without a setting: $STATE_DIRECTORY/server.key (systemd), else $XDG_STATE_HOME/sealnet/server.key,
# else ~/.local/state/sealnet/server.key.
# key_file = "/var/lib/sealnet/server.key"

# static_key = "<64 hex chars>"   # a secret key given inline; overrides key_file

# A client that sends nothing for this long is disconnected (at most 86400000, one day).
disconnect_timeout_ms = 10000

# On SIGTERM (or SIGINT) the server stops accepting and lets connected players go on for up to this
# long, then disconnects the rest with ServerShutdown; a second signal stops it at once. 0: no drain.
drain_timeout_ms = 10000

# Clients past their Connect; more are refused with ServerFull.
max_connections = 1000

# Log lines on stderr: "text" (readable) or "json" (one object per line, for log collectors).
log_format = "text"

# Event loops (threads) that run the connections; a room and its members run on one of them.
# 0: one per available core (at most 256).
workers = 0

# Events queued for one client. A client that lets its queue fill is disconnected (SlowConsumer).
outbound_queue = 4096

[cluster]
# The room directory the masters and game servers of a deployment share: a Redis (or Valkey) URL such
# as "redis://10.0.0.5:6379/" (a password goes in the URL: "redis://:PASSWORD@host:6379/"). Empty: in
# memory, which only role "all" can use.
redis_url = ""
# Prefix of every directory key, so that deployments can share one Redis.
redis_prefix = "sealnet"
# This game server's id in the directory. Empty: made up at start.
server_id = ""
# Where clients are told to reach this game server ("host:port"). Empty: the listen address, which
# then must not be a wildcard such as 0.0.0.0.
public_address = ""
# How often a game server writes its entry, load and rooms to the directory.
heartbeat_ms = 1000
# An entry that is not written again within this time expires: a game server that dies drops out of
# the directory after it, with its rooms.
expiry_ms = 5000

[admission]
# A new connection must send its Connect within this time (sockets that never do are closed).
connect_timeout_ms = 2000
# Connections that have not sent Connect yet; when full, the oldest such connection is closed to make
# room, so sockets that stay silent cannot lock players out.
max_pending = 1024
# Connections without a Connect from one address (IPv4 address or IPv6 /64); more are closed at once.
max_pending_per_address = 256
# Connections past Connect from one address; more are refused with ServerFull.
max_connections_per_address = 256
# The kernel's queue of connections not yet accepted.
listen_backlog = 1024
# Key exchanges (X25519 work) started per second, server-wide and per address, with their bursts.
# One over the budget waits for its turn, up to key_exchange_max_wait_ms, and is refused after that
# (disconnect reason RateLimited).
key_exchanges_per_second = 2000
key_exchange_burst = 2000
key_exchanges_per_address_per_second = 50
key_exchange_burst_per_address = 200
key_exchange_max_wait_ms = 2000

[limits]
# Members of one room; a JoinRoom beyond it is refused with GameFull (32765).
max_room_size = 100
# Encoded size of a RaiseEvent's data (parameter 245); larger events are refused with -2.
max_event_data_bytes = 32768
# Encoded size of a room's custom properties, and of one player's; a SetProperties (252) beyond it
# is refused with -2 and changes nothing.
max_room_properties_bytes = 16384
max_player_properties_bytes = 4096
# A room's event cache (RaiseEvent with cache option 4): events and bytes. A RaiseEvent that would
# exceed it is refused with -2 and not relayed.
max_cached_events = 1000
max_cache_bytes = 1048576
# The longest PlayerTtl (how long a disconnected player may rejoin) and EmptyRoomTtl (how long an
# empty room stays) a room may be created with, in milliseconds; longer ones are refused with -2.
max_player_ttl_ms = 600000
max_empty_room_ttl_ms = 600000
# A lobby (JoinLobby, 229, at a master or a server of role "all") gets room list updates at most
# this often, and lists at most this many rooms (the first by name).
lobby_update_interval_ms = 1000
max_lobby_rooms = 500
# Bytes of events queued for one client before it counts as too slow (SlowConsumer).
max_queued_bytes_per_client = 4194304
# Bytes of events queued for all clients together; while it is used up, RaiseEvent is refused with
# ServerBusy (-12) instead of letting the queues grow.
output_budget_bytes = 268435456
# What one client may send: operations and bytes per second, with bursts. A client over its budget
# is not read from until the budget refills; one that spends most of flood_window_ms throttled is
# disconnected (reason RateLimited).
ops_per_second = 200
ops_burst = 400
bytes_per_second = 262144
bytes_burst = 1048576
flood_window_ms = 5000

[auth]
# Let players in without authenticating. When false, every operation but Authenticate (230) and
# AuthenticateOnce (231) is refused with -3 ("authenticate first") until the player authenticates,
# and a connection that has not authenticated within deadline_ms of its Connect is closed.
allow_anonymous = true
deadline_ms = 10000
# Join events carry the joiner's nickname; with this, its user id too.
publish_user_id = false
# How long a server token is valid (docs/auth.md section 5.4).
token_lifetime_s = 3600
# Tokens are refreshed while a player plays, but no chain of refreshes outlives this: after it, the
# player must authenticate with the backend again (so a ban takes effect within it).
reauthenticate_after_s = 86400
# The token keys every server of a deployment shares: the first seals new tokens, all open tokens
# (rotation: add the new key first, drop the old one after a token lifetime). Each file holds 64 hex
# digits, mode 0600; a missing file is created. Without a setting: token.key beside the default
# static key, id 1.
# token_keys = [{ id = 2, file = "/var/lib/sealnet/token-2.key" }, { id = 1, file = "/var/lib/sealnet/token.key" }]
# Authenticate and AuthenticateOnce operations per second, per connection and per address, with
# bursts; more are answered with HttpLimitReached (32745).
per_connection_per_second = 1
per_connection_burst = 5
per_address_per_second = 20
per_address_burst = 50

[auth.webhook]
# The backend's custom-authentication URL (docs/auth.md); empty: none (custom auth is refused).
url = ""
# File holding the shared secret of the request signature (at least 32 bytes, mode 0600).
secret_file = ""
# Plain http:// is accepted to loopback addresses only, unless this is set.
allow_plain_http = false
# Extra root certificate (PEM) for the backend's HTTPS, e.g. a private CA.
# ca_file = "/etc/sealnet/backend-ca.pem"
# The whole call, retries included; 5xx, connection failures and timeouts are retried within it.
timeout_ms = 1000
max_attempts = 3
# When the backend is unavailable: refuse the player (32744, "try again"), or let it in without an
# identity (no user id, no token).
reject_if_unavailable = true
# Largest Data a backend may return, as compact JSON text.
max_data_bytes = 512
# Webhook calls in flight, server-wide.
max_outstanding = 256

[auth.webhook.static]
# Key/values sent to the backend with every call, in the signed body ("Static").

[udp]
# The datagram transport (docs/protocol.md, version 3), the default of Photon's SDKs: game clients
# connect over UDP here and over TCP at `listen`, and play in the same rooms.
enabled = true
# Address and port for UDP. Empty: the address and port of `listen` (UDP and TCP ports are separate).
listen = ""
# Kernel receive and send buffer of the UDP socket. Bursts beyond it are dropped by the kernel, so it
# is set deliberately rather than left at the system default (often 208 KiB).
socket_buffer_bytes = 4194304
# Largest datagram the server sends (bytes of UDP payload); 1200 fits every path.
max_datagram = 1200

[wss]
# Secure WebSockets (docs/protocol.md, version 4): how browsers connect (Unity WebGL, HTML5 games), and
# native clients too. TLS protects everything, headers included, so no key exchange runs; WSS players
# play in the same rooms as UDP and TCP players.
enabled = true
# Address and port for WSS. Empty: the address of `listen` and its port + 14560, the WSS port Photon's
# servers pair with their TCP port (4530 -> 19090, 4531 -> 19091); port 0 stays 0 (any free port).
listen = ""
# The certificate chain (PEM, the server's certificate first) and its private key (PEM: PKCS#8, PKCS#1
# or SEC1; others must have no access to it). Without them a self-signed certificate for localhost,
# 127.0.0.1 and ::1 is made at every start and its SHA-256 fingerprint printed: for development only
# (browsers do not trust it; native clients can pin its fingerprint).
# cert_file = "/etc/sealnet/wss-cert.pem"
# key_file = "/etc/sealnet/wss-key.pem"
# The request path clients connect to, such as "/sealnet" (others are answered 404). Empty: any path.
path = ""
# false: plain ws:// without TLS, for a proxy in front that terminates TLS, or local tests. Plain
# WebSocket carries everything in clear: it is refused at start-up on an address other than loopback
# unless allow_plain_ws is set too.
tls = true
allow_plain_ws = false
# The TLS and WebSocket handshakes must be over within this time of the TCP connection's accept.
handshake_timeout_ms = 5000

[admin]
# The operator's HTTP listener: /healthz (alive), /readyz (accepting players; 503 while draining) and
# /metrics (Prometheus text). Empty: off. Keep it on loopback or a private network.
listen = ""

[plugins]
# Replace the masked words (case-insensitive) in string event data with asterisks.
profanity_mask = false
masked_words = []
"#;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The largest join answer the limits may lead to: the frame limit, less room for the rest.
const MAX_JOIN_ANSWER: usize = sealnet::protocol::frame::DEFAULT_MAX_BODY as usize - 16 * 1024;
/// Most event loops a server may be told to run.
pub const MAX_WORKERS: usize = 256;

/// Longest `disconnect_timeout_ms` accepted: one day.
pub const MAX_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

/// Everything the server can be told.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub role: Role,
    pub app_ids: Vec<String>,
    /// `None`: the default location (see [`crate::keyfile::default_key_path`]).
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// A 64-hex-digit X25519 secret; when set, `key_file` is not used. Taken out (and wiped) when the
    /// key is loaded, so it does not stay in memory for the server's lifetime.
    #[serde(default)]
    pub static_key: Option<String>,
    pub disconnect_timeout_ms: u64,
    pub drain_timeout_ms: u64,
    pub max_connections: usize,
    pub workers: usize,
    pub log_format: LogFormat,
    pub outbound_queue: usize,
    pub admission: AdmissionConfig,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    pub admin: AdminConfig,
    pub plugins: PluginConfig,
    pub cluster: ClusterConfig,
    pub udp: UdpConfig,
    pub wss: WssConfig,
}

/// The WSS (or plain WebSocket) listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WssConfig {
    pub enabled: bool,
    /// Empty: the TCP listen address, its port + [`WSS_PORT_OFFSET`].
    pub listen: String,
    /// `None`: a self-signed development certificate made at start.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Empty: any path.
    pub path: String,
    pub tls: bool,
    pub allow_plain_ws: bool,
    pub handshake_timeout_ms: u64,
}

/// What the default WSS port adds to the TCP port: Photon's servers listen for WSS at 19090 beside
/// TCP at 4530 (masters) and at 19091 beside 4531 (game servers), so a master and a game server on
/// neighbouring TCP ports never collide on their WSS ports either.
pub const WSS_PORT_OFFSET: u16 = 14560;

impl WssConfig {
    /// Where to listen, when WSS is on: `listen`, else the TCP address given with its port moved by
    /// [`WSS_PORT_OFFSET`] (port 0, any free port, stays 0).
    pub fn address(&self, tcp: SocketAddr) -> Result<Option<SocketAddr>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        if self.listen.is_empty() {
            let port = match tcp.port() {
                0 => Some(0),
                port => port.checked_add(WSS_PORT_OFFSET),
            };
            return match port {
                Some(port) => Ok(Some(SocketAddr::new(tcp.ip(), port))),
                None => Err(ConfigError::Invalid(format!(
                    "the TCP port {} leaves no default WSS port (it would be above 65535): set wss.listen",
                    tcp.port()
                ))),
            };
        }
        self.listen.parse().map(Some).map_err(|_| {
            ConfigError::Invalid(format!(
                "wss.listen must be an address such as 0.0.0.0:19090; it is {:?}",
                self.listen
            ))
        })
    }

    /// The settings agree with each other, and plain WebSocket is only where it is allowed.
    fn validate(&self, tcp: SocketAddr) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        let Some(address) = self.address(tcp)? else { return Ok(()) };
        if self.cert_file.is_some() != self.key_file.is_some() {
            return invalid("wss.cert_file and wss.key_file go together: set both, or neither".into());
        }
        if !self.tls && self.cert_file.is_some() {
            return invalid("wss.cert_file is set but wss.tls is false: plain WebSocket uses no certificate".into());
        }
        if !self.tls && !self.allow_plain_ws && !address.ip().is_loopback() {
            return invalid(format!(
                "wss.tls = false serves plain ws:// on {address}, which is not a loopback address: everything \
                 would travel in clear. Serve WSS (wss.tls = true), listen on loopback, or set \
                 wss.allow_plain_ws = true when a proxy in front terminates TLS"
            ));
        }
        let path_ok = self.path.starts_with('/')
            && !self
                .path
                .bytes()
                .any(|byte| byte.is_ascii_whitespace() || byte.is_ascii_control() || b"?#".contains(&byte));
        if !self.path.is_empty() && !path_ok {
            return invalid(format!(
                "wss.path must be empty (any path) or start with / and hold no spaces, ? or #; it is {:?}",
                self.path
            ));
        }
        Ok(())
    }
}

/// The UDP listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpConfig {
    pub enabled: bool,
    /// Empty: the TCP listen address.
    pub listen: String,
    pub socket_buffer_bytes: usize,
    pub max_datagram: usize,
}

impl UdpConfig {
    /// Where to listen, when UDP is on: `listen`, else the TCP address given.
    pub fn address(&self, tcp: SocketAddr) -> Result<Option<SocketAddr>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        if self.listen.is_empty() {
            return Ok(Some(tcp));
        }
        self.listen.parse().map(Some).map_err(|_| {
            ConfigError::Invalid(format!("udp.listen must be an address such as 0.0.0.0:5055; it is {:?}", self.listen))
        })
    }
}

/// What a server process does in a deployment (docs/cluster.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Master and game server in one process.
    All,
    /// Authentication and matchmaking; sends players to game servers.
    Master,
    /// Hosts rooms for players a master sent.
    Game,
}

impl Role {
    /// Whether rooms are hosted.
    pub fn hosts_rooms(self) -> bool {
        matches!(self, Role::All | Role::Game)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Master => "master",
            Role::Game => "game",
        }
    }
}

/// The directory a deployment shares, and this server's place in it.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub redis_url: String,
    pub redis_prefix: String,
    pub server_id: String,
    pub public_address: String,
    pub heartbeat_ms: u64,
    pub expiry_ms: u64,
}

impl fmt::Debug for ClusterConfig {
    /// The URL may hold a password: only whether one is set is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("redis_url", &if self.redis_url.is_empty() { "" } else { "<set>" })
            .field("redis_prefix", &self.redis_prefix)
            .field("server_id", &self.server_id)
            .field("public_address", &self.public_address)
            .field("heartbeat_ms", &self.heartbeat_ms)
            .field("expiry_ms", &self.expiry_ms)
            .finish()
    }
}

/// The operator's HTTP listener.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Empty: no admin listener; otherwise an address such as `127.0.0.1:9100`.
    pub listen: String,
}

impl AdminConfig {
    /// The address to listen on, when the listener is on.
    pub fn address(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.listen.is_empty() {
            return Ok(None);
        }
        self.listen.parse().map(Some).map_err(|_| {
            ConfigError::Invalid(format!(
                "admin.listen must be an address such as 127.0.0.1:9100; it is {:?}",
                self.listen
            ))
        })
    }
}

/// Who may play, and how the server finds out (docs/auth.md).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub allow_anonymous: bool,
    pub deadline_ms: u64,
    pub publish_user_id: bool,
    pub token_lifetime_s: u64,
    pub reauthenticate_after_s: u64,
    /// Empty: the default token key file.
    #[serde(default)]
    pub token_keys: Vec<TokenKeyConfig>,
    pub per_connection_per_second: f64,
    pub per_connection_burst: f64,
    pub per_address_per_second: f64,
    pub per_address_burst: f64,
    pub webhook: WebhookConfig,
}

/// One token key: its id (in every token it seals) and its file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenKeyConfig {
    pub id: u32,
    pub file: PathBuf,
}

/// The custom-authentication webhook. Its `Debug` hides the URL's path and query and the static
/// values, which may hold API keys.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    pub secret_file: PathBuf,
    pub allow_plain_http: bool,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    pub timeout_ms: u64,
    pub max_attempts: u32,
    pub reject_if_unavailable: bool,
    pub max_data_bytes: usize,
    pub max_outstanding: usize,
    #[serde(rename = "static")]
    pub static_params: std::collections::BTreeMap<String, String>,
}

/// How connections are let in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionConfig {
    pub connect_timeout_ms: u64,
    pub max_pending: usize,
    pub max_pending_per_address: usize,
    pub max_connections_per_address: usize,
    pub listen_backlog: u32,
    pub key_exchanges_per_second: f64,
    pub key_exchange_burst: f64,
    pub key_exchanges_per_address_per_second: f64,
    pub key_exchange_burst_per_address: f64,
    pub key_exchange_max_wait_ms: u64,
}

/// What rooms and clients may use.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_room_size: usize,
    pub max_event_data_bytes: usize,
    pub max_room_properties_bytes: usize,
    pub max_player_properties_bytes: usize,
    pub max_cached_events: usize,
    pub max_cache_bytes: usize,
    pub max_player_ttl_ms: u64,
    pub max_empty_room_ttl_ms: u64,
    pub lobby_update_interval_ms: u64,
    pub max_lobby_rooms: usize,
    pub max_queued_bytes_per_client: usize,
    pub output_budget_bytes: usize,
    pub ops_per_second: f64,
    pub ops_burst: f64,
    pub bytes_per_second: f64,
    pub bytes_burst: f64,
    pub flood_window_ms: u64,
}

/// Settings of the plugins that ship with the server.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    pub profanity_mask: bool,
    pub masked_words: Vec<String>,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoint = match self.url.split_once("://") {
            Some((scheme, rest)) => format!("{scheme}://{}", rest.split(['/', '?']).next().unwrap_or_default()),
            None if self.url.is_empty() => String::new(),
            None => "<invalid>".to_owned(),
        };
        f.debug_struct("WebhookConfig")
            .field("url", &endpoint)
            .field("secret_file", &self.secret_file)
            .field("allow_plain_http", &self.allow_plain_http)
            .field("ca_file", &self.ca_file)
            .field("timeout_ms", &self.timeout_ms)
            .field("max_attempts", &self.max_attempts)
            .field("reject_if_unavailable", &self.reject_if_unavailable)
            .field("max_data_bytes", &self.max_data_bytes)
            .field("max_outstanding", &self.max_outstanding)
            .field("static_params", &format_args!("<{} entries>", self.static_params.len()))
            .finish()
    }
}

/// Why a configuration could not be used. Never contains key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Read { path: PathBuf, message: String },
    Parse { origin: String, message: String },
    Invalid(String),
    Usage(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, message } => write!(f, "cannot read config file {}: {message}", path.display()),
            ConfigError::Parse { origin, message } => write!(f, "invalid config in {origin}: {}", message.trim_end()),
            ConfigError::Invalid(message) => write!(f, "invalid config: {message}"),
            ConfigError::Usage(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    fn default() -> Self {
        toml::from_str(DEFAULT_CONFIG_TOML).expect("the built-in default config parses")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("app_ids", &self.app_ids)
            .field("key_file", &self.key_file)
            .field("static_key", &self.static_key.as_ref().map(|_| "<set>"))
            .field("disconnect_timeout_ms", &self.disconnect_timeout_ms)
            .field("drain_timeout_ms", &self.drain_timeout_ms)
            .field("max_connections", &self.max_connections)
            .field("workers", &self.workers)
            .field("log_format", &self.log_format)
            .field("outbound_queue", &self.outbound_queue)
            .field("admission", &self.admission)
            .field("limits", &self.limits)
            .field("auth", &self.auth)
            .field("admin", &self.admin)
            .field("plugins", &self.plugins)
            .field("role", &self.role)
            .field("cluster", &self.cluster)
            .field("udp", &self.udp)
            .field("wss", &self.wss)
            .finish()
    }
}

/// Environment variables that set configuration keys: this prefix, then the key's path in capitals
/// with tables separated by a double underscore: `SEALNET_CONFIG_LISTEN=0.0.0.0:4530`,
/// `SEALNET_CONFIG_LIMITS__MAX_ROOM_SIZE=50`. A value is read as TOML (`50`, `true`, `["a", "b"]`),
/// or taken as a string when it is not valid TOML, so a string that looks like a number or a boolean
/// must be quoted (`'"123"'`). Keys are lowercased (keys with capitals, such as some webhook static
/// parameters, can only be set in the file). They override the file; options override them.
pub const ENV_PREFIX: &str = "SEALNET_CONFIG_";

/// The configuration keys set by `variables` (see [`ENV_PREFIX`]); other variables are ignored.
fn environment_table(variables: impl IntoIterator<Item = (String, String)>) -> Result<toml::Table, ConfigError> {
    let mut table = toml::Table::new();
    for (name, value) in variables {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else { continue };
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        if keys.iter().any(String::is_empty) {
            return Err(ConfigError::Usage(format!("{name} does not name a configuration key")));
        }
        let value = toml::from_str::<toml::Table>(&format!("value = {value}"))
            .ok()
            .and_then(|mut parsed| parsed.remove("value"))
            .unwrap_or(toml::Value::String(value));
        let (last, tables) = keys.split_last().expect("split yields at least one key");
        let mut at = &mut table;
        for key in tables {
            let entry = at.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(inner) = entry else {
                return Err(ConfigError::Usage(format!("{name}: {key} is set both as a value and as a table")));
            };
            at = inner;
        }
        at.insert(last.clone(), value);
    }
    Ok(table)
}

/// Lays `overrides` over `base`, table by table, so a file need only name what it changes.
fn merge(base: &mut toml::Table, overrides: toml::Table) {
    for (key, value) in overrides {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

impl Config {
    /// Parses config text over the defaults. `origin` names the source in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        Self::from_layers(Some((text, origin)), toml::Table::new())
    }

    /// The defaults, then the file's text (with its origin for messages), then settings from the
    /// environment (see [`ENV_PREFIX`]).
    fn from_layers(file: Option<(&str, &str)>, environment: toml::Table) -> Result<Self, ConfigError> {
        let origin = match (file, environment.is_empty()) {
            (Some((_, origin)), true) => origin.to_owned(),
            (Some((_, origin)), false) => format!("{origin} and the environment"),
            (None, _) => "the environment".to_owned(),
        };
        let parse_error = |message: String| ConfigError::Parse { origin: origin.clone(), message };
        let mut merged: toml::Table = toml::from_str(DEFAULT_CONFIG_TOML).expect("the built-in default config parses");
        if let Some((text, _)) = file {
            let table: toml::Table = toml::from_str(text).map_err(|error| parse_error(describe(&error, text)))?;
            merge(&mut merged, table);
        }
        merge(&mut merged, environment);
        // The merged table has no positions in `text`; its errors name the key instead, and never
        // quote a value (which could be the secret static_key).
        let config = Config::deserialize(toml::Value::Table(merged))
            .map_err(|error| parse_error(error.message().trim_end().to_owned()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a config file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Self::from_file_and_environment(Some(path), toml::Table::new())
    }

    fn from_file_and_environment(path: Option<&Path>, environment: toml::Table) -> Result<Self, ConfigError> {
        let Some(path) = path else { return Self::from_layers(None, environment) };
        let text = std::fs::read_to_string(path)
            .map_err(|error| ConfigError::Read { path: path.to_owned(), message: error.to_string() })?;
        Self::from_layers(Some((&text, &path.display().to_string())), environment)
    }

    /// Refuses settings the server cannot run with, naming the setting and its bounds.
    /// The role and the directory settings agree.
    fn validate_cluster(&self) -> Result<(), ConfigError> {
        let cluster = &self.cluster;
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if self.role != Role::All && cluster.redis_url.is_empty() {
            return invalid(format!(
                "role {:?} needs cluster.redis_url: masters and game servers share their directory through Redis",
                self.role.name()
            ));
        }
        if self.role == Role::All && !cluster.redis_url.is_empty() {
            return invalid(
                "role \"all\" keeps its rooms to itself: cluster.redis_url is for the master and game roles".into(),
            );
        }
        if !cluster.redis_url.is_empty() && !cluster.redis_url.starts_with("redis://") {
            return invalid("cluster.redis_url must start with redis://".into());
        }
        if cluster.redis_prefix.is_empty() || cluster.server_id.len() > 64 {
            return invalid("cluster.redis_prefix must not be empty and cluster.server_id is at most 64 bytes".into());
        }
        if cluster.heartbeat_ms == 0
            || cluster.expiry_ms < 2 * cluster.heartbeat_ms
            || cluster.expiry_ms > MAX_TIMEOUT_MS
        {
            return invalid(format!(
                "cluster.heartbeat_ms must be above 0 and cluster.expiry_ms at least twice it (and at most a day); \
                 they are {} and {}",
                cluster.heartbeat_ms, cluster.expiry_ms
            ));
        }
        let host_port = cluster.public_address.rsplit_once(':');
        if !cluster.public_address.is_empty()
            && !host_port.is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
        {
            return invalid(format!("cluster.public_address {:?} is not host:port", cluster.public_address));
        }
        Ok(())
    }

    /// Where clients are told to reach this server: the configured public address, else the listen
    /// address (`bound`, once the port is known) unless it is a wildcard.
    pub fn advertised_address(&self, bound: SocketAddr) -> Result<String, ConfigError> {
        if !self.cluster.public_address.is_empty() {
            return Ok(self.cluster.public_address.clone());
        }
        if bound.ip().is_unspecified() {
            return Err(ConfigError::Invalid(format!(
                "listening on {bound}: set cluster.public_address to the address clients reach this server at"
            )));
        }
        Ok(bound.to_string())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if self.app_ids.is_empty() {
            return invalid("app_ids must name at least one application".into());
        }
        let max_app_id = sealnet::protocol::message::MAX_APP_ID;
        if let Some(id) = self.app_ids.iter().find(|id| id.is_empty() || id.len() > max_app_id) {
            return invalid(format!("app id {id:?} must be 1 to {max_app_id} bytes"));
        }
        let timeouts = [
            ("disconnect_timeout_ms", self.disconnect_timeout_ms),
            ("admission.connect_timeout_ms", self.admission.connect_timeout_ms),
            ("admission.key_exchange_max_wait_ms", self.admission.key_exchange_max_wait_ms),
            ("limits.flood_window_ms", self.limits.flood_window_ms),
            ("auth.deadline_ms", self.auth.deadline_ms),
            ("auth.webhook.timeout_ms", self.auth.webhook.timeout_ms),
            ("wss.handshake_timeout_ms", self.wss.handshake_timeout_ms),
        ];
        for (name, value) in timeouts {
            if value == 0 || value > MAX_TIMEOUT_MS {
                return invalid(format!("{name} must be 1 to {MAX_TIMEOUT_MS} (one day); it is {value}"));
            }
        }
        if self.workers > MAX_WORKERS {
            return invalid(format!("workers must be 0 (one per core) to {MAX_WORKERS}; it is {}", self.workers));
        }
        let counts = [
            ("max_connections", self.max_connections),
            ("outbound_queue", self.outbound_queue),
            ("admission.max_pending", self.admission.max_pending),
            ("admission.max_pending_per_address", self.admission.max_pending_per_address),
            ("admission.max_connections_per_address", self.admission.max_connections_per_address),
            ("admission.listen_backlog", self.admission.listen_backlog as usize),
            ("limits.max_room_size", self.limits.max_room_size),
            ("limits.max_event_data_bytes", self.limits.max_event_data_bytes),
            ("limits.max_room_properties_bytes", self.limits.max_room_properties_bytes),
            ("limits.max_player_properties_bytes", self.limits.max_player_properties_bytes),
            ("limits.max_cached_events", self.limits.max_cached_events),
            ("limits.max_cache_bytes", self.limits.max_cache_bytes),
            ("limits.lobby_update_interval_ms", self.limits.lobby_update_interval_ms as usize),
            ("limits.max_lobby_rooms", self.limits.max_lobby_rooms),
            ("limits.max_queued_bytes_per_client", self.limits.max_queued_bytes_per_client),
            ("limits.output_budget_bytes", self.limits.output_budget_bytes),
            ("auth.webhook.max_attempts", self.auth.webhook.max_attempts as usize),
            ("auth.webhook.max_data_bytes", self.auth.webhook.max_data_bytes),
            ("auth.webhook.max_outstanding", self.auth.webhook.max_outstanding),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, value)| *value == 0) {
            return invalid(format!("{name} must be above 0"));
        }
        let limits = &self.limits;
        // A join answer lists the room's properties and every player's in one message.
        let join_answer = limits.max_room_properties_bytes
            + limits.max_room_size.saturating_mul(limits.max_player_properties_bytes.saturating_add(64));
        if join_answer > MAX_JOIN_ANSWER {
            return invalid(format!(
                "limits.max_room_properties_bytes + limits.max_room_size x (limits.max_player_properties_bytes + 64) \
                 must be at most {MAX_JOIN_ANSWER} (a join answer lists them all); it is {join_answer}"
            ));
        }
        // A joiner is sent the whole cache at once.
        if limits.max_cached_events >= self.outbound_queue
            || limits.max_cache_bytes > limits.max_queued_bytes_per_client / 2
        {
            return invalid(
                "limits.max_cached_events must be below outbound_queue, and limits.max_cache_bytes at most \
                 half of limits.max_queued_bytes_per_client (a joiner is sent the whole cache at once)"
                    .to_owned(),
            );
        }
        let rates = [
            ("admission.key_exchanges_per_second", self.admission.key_exchanges_per_second),
            ("admission.key_exchange_burst", self.admission.key_exchange_burst),
            ("admission.key_exchanges_per_address_per_second", self.admission.key_exchanges_per_address_per_second),
            ("admission.key_exchange_burst_per_address", self.admission.key_exchange_burst_per_address),
            ("limits.ops_per_second", self.limits.ops_per_second),
            ("limits.ops_burst", self.limits.ops_burst),
            ("limits.bytes_per_second", self.limits.bytes_per_second),
            ("limits.bytes_burst", self.limits.bytes_burst),
            ("auth.per_connection_per_second", self.auth.per_connection_per_second),
            ("auth.per_connection_burst", self.auth.per_connection_burst),
            ("auth.per_address_per_second", self.auth.per_address_per_second),
            ("auth.per_address_burst", self.auth.per_address_burst),
        ];
        if let Some((name, value)) = rates.iter().find(|(_, value)| !(value.is_finite() && *value >= 1.0)) {
            return invalid(format!("{name} must be a number of at least 1; it is {value}"));
        }
        // The largest event data must still fit in a frame once the event around it is added.
        let max_data = sealnet::protocol::frame::DEFAULT_MAX_BODY as usize / 2;
        if self.limits.max_event_data_bytes > max_data {
            return invalid(format!("limits.max_event_data_bytes must be at most {max_data}"));
        }
        if self.drain_timeout_ms > MAX_TIMEOUT_MS {
            return invalid(format!("drain_timeout_ms must be at most {MAX_TIMEOUT_MS} (one day)"));
        }
        if self.static_key.as_deref().is_some_and(|key| crate::keyfile::parse_hex_key(key.trim()).is_none()) {
            // The value itself is a secret and is not repeated.
            return invalid("static_key must be 64 hex digits".into());
        }
        self.admin.address()?;
        self.udp.address(self.listen)?;
        if !(576..=65_507).contains(&self.udp.max_datagram) {
            return invalid(format!("udp.max_datagram must be 576 to 65507; it is {}", self.udp.max_datagram));
        }
        self.wss.validate(self.listen)?;
        self.validate_cluster()?;
        let lifetime = self.auth.token_lifetime_s;
        if !(1..=7 * 24 * 3600).contains(&lifetime) {
            return invalid(format!("auth.token_lifetime_s must be 1 to 604800 (a week); it is {lifetime}"));
        }
        let chain = self.auth.reauthenticate_after_s;
        if chain < lifetime || chain > 30 * 24 * 3600 {
            return invalid(format!(
                "auth.reauthenticate_after_s must be from auth.token_lifetime_s ({lifetime}) to 2592000 (30 days); it is {chain}"
            ));
        }
        if self.auth.webhook.timeout_ms >= self.disconnect_timeout_ms {
            return invalid(format!(
                "auth.webhook.timeout_ms ({}) must be below disconnect_timeout_ms ({}): a client waits without \
                 sending while its authentication runs",
                self.auth.webhook.timeout_ms, self.disconnect_timeout_ms
            ));
        }
        let mut ids: Vec<u32> = self.auth.token_keys.iter().map(|key| key.id).collect();
        ids.sort_unstable();
        if let Some(pair) = ids.windows(2).find(|pair| pair[0] == pair[1]) {
            return invalid(format!("auth.token_keys names key id {} twice", pair[0]));
        }
        let webhook = &self.auth.webhook;
        if !webhook.url.is_empty() && webhook.secret_file.as_os_str().is_empty() {
            return invalid(
                "auth.webhook.url is set but auth.webhook.secret_file is not: requests must be signed".into(),
            );
        }
        if self.plugins.masked_words.iter().any(|word| word.trim().is_empty()) {
            return invalid("plugins.masked_words must not contain empty words".into());
        }
        Ok(())
    }

    pub fn disconnect_timeout(&self) -> Duration {
        Duration::from_millis(self.disconnect_timeout_ms)
    }
}

/// The parse error with its line and column, but without quoting the file: the offending line could
/// hold the secret `static_key`.
fn describe(error: &toml::de::Error, text: &str) -> String {
    let message = error.message().trim_end();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |newline| newline + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Box<Config>),
    Help,
    Version,
}

pub const USAGE: &str = "\
Usage: sealnet-server [OPTIONS]

Options:
  --config FILE     read settings from a TOML file (built-in defaults otherwise)
  --listen ADDR     address to listen on, e.g. 127.0.0.1:4530 (port 0: any free port)
  --key-file PATH   where the server's static key is kept (created with mode 0600 when missing)
  --app-id ID       accepted application id; repeat for several (replaces the configured list)
  --role ROLE       all (default: master and game server in one process), master or game
  --version         print the version
  --help            print this help

Any setting can also come from the environment: SEALNET_CONFIG_ and the key in capitals, with tables
separated by two underscores (SEALNET_CONFIG_LIMITS__MAX_ROOM_SIZE=50). The environment overrides the
file; the options above override both.

Logging goes to stderr (log_format: text or json); set RUST_LOG (e.g. RUST_LOG=debug) to change the
level (default: info).";

/// Reads the arguments (without the program name): the config file first, then the overrides.
pub fn parse_args<I, S>(args: I) -> Result<Command, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    // Other variables may hold anything, UTF-8 or not; only ours must be text.
    let mut environment = Vec::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|name| name.starts_with(ENV_PREFIX)) else { continue };
        let value = value.into_string().map_err(|_| ConfigError::Usage(format!("{name} is not valid UTF-8")))?;
        environment.push((name.to_owned(), value));
    }
    parse_args_with_environment(args, environment)
}

/// [`parse_args`] with the environment given (`SEALNET_CONFIG_*` variables; others are ignored).
pub fn parse_args_with_environment<I, S>(
    args: I,
    environment: impl IntoIterator<Item = (String, String)>,
) -> Result<Command, ConfigError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut config_file: Option<PathBuf> = None;
    let mut listen: Option<SocketAddr> = None;
    let mut key_file: Option<PathBuf> = None;
    let mut app_ids: Vec<String> = Vec::new();
    let mut role: Option<Role> = None;
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => (name.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Ok(Command::Help);
        }
        if name == "--version" || name == "-V" {
            return Ok(Command::Version);
        }
        if !matches!(name.as_str(), "--config" | "--listen" | "--key-file" | "--app-id" | "--role") {
            return Err(ConfigError::Usage(format!("unknown argument {arg:?} (see --help)")));
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| ConfigError::Usage(format!("{name} needs a value (see --help)")))?;
        match name.as_str() {
            "--config" => config_file = Some(PathBuf::from(value)),
            "--listen" => {
                listen = Some(value.parse().map_err(|_| {
                    ConfigError::Usage(format!("--listen: {value:?} is not an address such as 127.0.0.1:4530"))
                })?)
            }
            "--key-file" => key_file = Some(PathBuf::from(value)),
            "--role" => {
                role = Some(match value.as_str() {
                    "all" => Role::All,
                    "master" => Role::Master,
                    "game" => Role::Game,
                    _ => return Err(ConfigError::Usage(format!("--role: {value:?} is not all, master or game"))),
                })
            }
            _ => app_ids.push(value),
        }
    }
    let mut layer = environment_table(environment)?;
    // The role decides which other settings are valid, so it joins the layers before they are checked.
    if let Some(role) = role {
        layer.insert("role".into(), toml::Value::String(role.name().into()));
    }
    let mut config = Config::from_file_and_environment(config_file.as_deref(), layer)?;
    set(&mut config.listen, listen);
    if key_file.is_some() {
        config.key_file = key_file;
    }
    if !app_ids.is_empty() {
        config.app_ids = app_ids;
    }
    config.validate()?;
    Ok(Command::Run(Box::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file() {
        let config = Config::default();
        assert_eq!(config.listen, "127.0.0.1:4530".parse().unwrap());
        assert_eq!(config.app_ids, ["demo"]);
        assert_eq!(config.key_file, None, "the key lives in the state directory unless told otherwise");
        assert_eq!(config.static_key, None);
        assert_eq!(config.disconnect_timeout(), Duration::from_secs(10));
        assert_eq!(config.max_connections, 1000);
        assert_eq!(config.outbound_queue, 4096);
        assert!(!config.plugins.profanity_mask);
        assert!(config.plugins.masked_words.is_empty());
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(parse_args(Vec::<String>::new()), Ok(Command::Run(Box::new(config))));
    }

    #[test]
    fn roles_need_the_directory_their_deployment_shares() {
        assert_eq!(Config::default().role, Role::All);
        let invalid = |text: &str, part: &str| matches!(Config::from_toml(text, "test"), Err(ConfigError::Invalid(m)) if m.contains(part));
        assert!(invalid("role = \"master\"", "cluster.redis_url"));
        let master = Config::from_toml("role = \"master\"\n[cluster]\nredis_url = \"redis://10.0.0.5:6379/\"", "test");
        assert_eq!(master.map(|config| config.role), Ok(Role::Master));
        assert!(invalid("role = \"game\"\n[cluster]\nredis_url = \"http://x\"", "redis://"));
        assert!(invalid("[cluster]\nredis_url = \"redis://10.0.0.5:6379/\"", "role \"all\""));
        assert!(invalid(
            "role = \"game\"\n[cluster]\nredis_url = \"redis://h/\"\nheartbeat_ms = 1000\nexpiry_ms = 1500",
            "twice"
        ));
        assert!(matches!(parse_args(["--role", "game"]), Err(ConfigError::Invalid(m)) if m.contains("redis_url")));
        assert!(
            matches!(parse_args(["--role", "referee"]), Err(ConfigError::Usage(m)) if m.contains("all, master or game"))
        );
        // The role from the command line counts when the other layers are checked.
        let environment = [("SEALNET_CONFIG_CLUSTER__REDIS_URL".to_owned(), "redis://10.0.0.5:6379/".to_owned())];
        let Ok(Command::Run(config)) = parse_args_with_environment(["--role", "game"], environment) else {
            panic!("a game server with a directory")
        };
        assert_eq!(config.role, Role::Game);
    }

    #[test]
    fn a_game_server_advertises_its_public_address_or_a_concrete_listen_address() {
        let mut config = Config::default();
        let bound: SocketAddr = "127.0.0.1:4531".parse().unwrap();
        assert_eq!(config.advertised_address(bound), Ok("127.0.0.1:4531".to_owned()));
        assert!(config.advertised_address("0.0.0.0:4531".parse().unwrap()).is_err(), "a wildcard reaches nobody");
        config.cluster.public_address = "game-1.example.com:4531".into();
        assert_eq!(
            config.advertised_address("0.0.0.0:4531".parse().unwrap()),
            Ok("game-1.example.com:4531".to_owned())
        );
    }

    #[test]
    fn wss_listens_beside_tcp_at_photons_offset_unless_told_where() {
        let config = Config::default();
        assert!(config.wss.enabled && config.wss.tls && !config.wss.allow_plain_ws);
        let at = |tcp: &str| config.wss.address(tcp.parse().unwrap());
        assert_eq!(at("127.0.0.1:4530"), Ok(Some("127.0.0.1:19090".parse().unwrap())));
        assert_eq!(at("[::1]:4531"), Ok(Some("[::1]:19091".parse().unwrap())));
        assert_eq!(at("127.0.0.1:0"), Ok(Some("127.0.0.1:0".parse().unwrap())), "any free port stays any");
        assert!(matches!(at("127.0.0.1:60000"), Err(ConfigError::Invalid(m)) if m.contains("set wss.listen")));
        let config = Config::from_toml("[wss]\nlisten = \"0.0.0.0:9443\"", "t").unwrap();
        assert_eq!(config.wss.address(config.listen), Ok(Some("0.0.0.0:9443".parse().unwrap())));
        let off = Config::from_toml("listen = \"127.0.0.1:60000\"\n[wss]\nenabled = false", "t").unwrap();
        assert_eq!(off.wss.address(off.listen), Ok(None), "off: the overflowing default does not matter");
    }

    #[test]
    fn wss_settings_that_disagree_are_refused_by_name() {
        let invalid = |text: &str, part: &str| match Config::from_toml(text, "t") {
            Err(ConfigError::Invalid(message)) => assert!(message.contains(part), "{message}"),
            other => panic!("{text}: {other:?}"),
        };
        invalid("[wss]\ncert_file = \"/etc/c.pem\"", "go together");
        invalid("[wss]\nkey_file = \"/etc/k.pem\"", "go together");
        invalid("[wss]\ntls = false\ncert_file = \"/c\"\nkey_file = \"/k\"", "plain WebSocket uses no certificate");
        invalid("[wss]\npath = \"sealnet\"", "wss.path");
        invalid("[wss]\npath = \"/a b\"", "wss.path");
        invalid("[wss]\npath = \"/a?b\"", "wss.path");
        invalid("[wss]\nlisten = \"nowhere\"", "wss.listen");
        invalid("[wss]\nhandshake_timeout_ms = 0", "wss.handshake_timeout_ms");
        invalid("listen = \"0.0.0.0:4530\"\n[wss]\ntls = false", "allow_plain_ws");
        invalid("[wss]\ntls = false\nlisten = \"10.0.0.5:9090\"", "not a loopback address");
        for fine in [
            "[wss]\ntls = false",
            "[wss]\ntls = false\nlisten = \"[::1]:9090\"",
            "listen = \"0.0.0.0:4530\"\n[wss]\ntls = false\nallow_plain_ws = true",
            "[wss]\npath = \"/sealnet/v1\"",
            "[wss]\ncert_file = \"/c\"\nkey_file = \"/k\"",
        ] {
            assert!(Config::from_toml(fine, "t").is_ok(), "{fine}");
        }
        let environment = [("SEALNET_CONFIG_WSS__TLS".to_owned(), "false".to_owned())];
        let refused = parse_args_with_environment(["--listen", "0.0.0.0:0"], environment);
        assert!(matches!(refused, Err(ConfigError::Invalid(m)) if m.contains("plain ws://")));
    }

    #[test]
    fn the_installed_configuration_file_is_the_defaults() {
        let shipped = include_str!("../../packaging/sealnet-server.toml");
        assert_eq!(shipped, DEFAULT_CONFIG_TOML, "packaging/sealnet-server.toml must be DEFAULT_CONFIG_TOML");
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        assert_eq!(Config::from_toml("", "test"), Ok(Config::default()));
    }

    #[test]
    fn file_values_override_defaults() {
        let text = r#"
            listen = "0.0.0.0:9000"
            app_ids = ["a", "b"]
            key_file = "/var/lib/sealnet/key"
            disconnect_timeout_ms = 5000
            outbound_queue = 16
            [limits]
            max_cached_events = 15
            [plugins]
            profanity_mask = true
            masked_words = ["darn", "heck"]
        "#;
        let config = Config::from_toml(text, "test").unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.app_ids, ["a", "b"]);
        assert_eq!(config.key_file, Some(PathBuf::from("/var/lib/sealnet/key")));
        assert_eq!(config.disconnect_timeout_ms, 5000);
        assert_eq!(config.max_connections, 1000, "unset keys keep their default");
        assert_eq!(config.outbound_queue, 16);
        assert_eq!(
            config.plugins,
            PluginConfig { profanity_mask: true, masked_words: vec!["darn".into(), "heck".into()] }
        );
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let error = Config::from_toml("listen = \"127.0.0.1:1\"\nmax_conections = 5\n", "server.toml").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("server.toml"), "{text}");
        assert!(text.contains("max_conections"), "{text}");

        let error = Config::from_toml("[plugins]\nprofanity = true\n", "server.toml").unwrap_err();
        assert!(error.to_string().contains("profanity"), "{error}");
    }

    #[test]
    fn wrong_types_and_bad_values_are_errors() {
        assert!(matches!(Config::from_toml("listen = 5", "t"), Err(ConfigError::Parse { .. })));
        assert!(matches!(Config::from_toml("listen = \"nowhere\"", "t"), Err(ConfigError::Parse { .. })));
        assert!(matches!(Config::from_toml("app_ids = []", "t"), Err(ConfigError::Invalid(_))));
        assert!(matches!(Config::from_toml("outbound_queue = 0", "t"), Err(ConfigError::Invalid(_))));
        // A timeout that would overflow the clock is refused with its name and its bounds.
        let error = Config::from_toml("disconnect_timeout_ms = 18446744073709551615", "t");
        assert!(matches!(&error, Err(ConfigError::Parse { .. }) | Err(ConfigError::Invalid(_))), "{error:?}");
        let error = Config::from_toml("disconnect_timeout_ms = 9000000000000", "t").unwrap_err();
        assert!(error.to_string().contains("disconnect_timeout_ms must be 1 to 86400000"), "{error}");
        let error = Config::from_toml("[limits]\nops_per_second = 0", "t").unwrap_err();
        assert!(error.to_string().contains("limits.ops_per_second"), "{error}");
        let error = Config::from_toml("static_key = \"abcd\"", "t").unwrap_err();
        assert_eq!(error, ConfigError::Invalid("static_key must be 64 hex digits".into()));
    }

    #[test]
    fn nested_tables_merge_over_the_defaults() {
        let config = Config::from_toml("[limits]\nmax_room_size = 8\n", "t").unwrap();
        assert_eq!(config.limits.max_room_size, 8);
        assert_eq!(config.limits.ops_per_second, Config::default().limits.ops_per_second);
        let error = Config::from_toml("[admission]\nmax_pendng = 8\n", "t").unwrap_err();
        assert!(error.to_string().contains("max_pendng"), "{error}");
    }

    #[test]
    fn parse_errors_point_at_the_line_without_quoting_it() {
        let secret = "ab".repeat(32);
        let error =
            Config::from_toml(&format!("listen = \"127.0.0.1:1\"\nstatic_key = {secret}\n"), "s.toml").unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("invalid config in s.toml: line 2, column"), "{text}");
        assert!(!text.contains(&secret), "{text}");
    }

    #[test]
    fn static_key_is_not_printed_by_debug() {
        let key = "11".repeat(32);
        let config = Config::from_toml(&format!("static_key = \"{key}\""), "t").unwrap();
        assert_eq!(config.static_key.as_deref(), Some(key.as_str()));
        assert!(!format!("{config:?}").contains(&key));
    }

    #[test]
    fn command_line_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, "app_ids = [\"x\"]\nlisten = \"127.0.0.1:7000\"\n").unwrap();
        let args = [
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--key-file=k.key",
            "--app-id",
            "one",
            "--app-id",
            "two",
        ];
        let Ok(Command::Run(config)) = parse_args(args) else { panic!("arguments refused") };
        assert_eq!(config.listen, "127.0.0.1:0".parse().unwrap());
        assert_eq!(config.key_file, Some(PathBuf::from("k.key")));
        assert_eq!(config.app_ids, ["one", "two"]);

        let Ok(Command::Run(config)) = parse_args(["--config", path.to_str().unwrap()]) else { panic!() };
        assert_eq!(config.app_ids, ["x"]);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert_eq!(parse_args(["--help"]), Ok(Command::Help));
        assert!(matches!(parse_args(["--listen"]), Err(ConfigError::Usage(_))));
        assert!(matches!(parse_args(["--listen", "nope"]), Err(ConfigError::Usage(_))));
        assert!(matches!(parse_args(["--frobnicate"]), Err(ConfigError::Usage(_))));
        assert!(matches!(parse_args(["--config", "/nonexistent/sealnet.toml"]), Err(ConfigError::Read { .. })));
    }

    fn run(args: &[&str], environment: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let environment = environment.iter().map(|(name, value)| (name.to_string(), value.to_string()));
        match parse_args_with_environment(args.iter().copied(), environment)? {
            Command::Run(config) => Ok(*config),
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn the_environment_overrides_the_file_and_the_options_override_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(&path, "max_connections = 5\n[limits]\nmax_room_size = 7\nops_burst = 9\n").unwrap();
        let file = path.to_str().unwrap();
        let environment = [
            ("SEALNET_CONFIG_LIMITS__MAX_ROOM_SIZE", "50"),
            ("SEALNET_CONFIG_LISTEN", "127.0.0.1:4999"),
            ("SEALNET_CONFIG_AUTH__WEBHOOK__STATIC__REGION", "eu"),
            ("SEALNET_CONFIG_APP_IDS", r#"["a", "b"]"#),
            ("UNRELATED", "ignored"),
        ];
        let config = run(&["--config", file, "--listen", "127.0.0.1:5000"], &environment).unwrap();
        assert_eq!(config.max_connections, 5, "from the file");
        assert_eq!(config.limits.ops_burst, 9.0, "from the file");
        assert_eq!(config.limits.max_room_size, 50, "the environment over the file");
        assert_eq!(config.listen, "127.0.0.1:5000".parse().unwrap(), "the option over the environment");
        assert_eq!(config.auth.webhook.static_params.get("region").map(String::as_str), Some("eu"));
        assert_eq!(config.app_ids, ["a", "b"]);
        assert_eq!(run(&[], &[("SEALNET_CONFIG_WORKERS", "3")]).unwrap().workers, 3);
        assert_eq!(run(&[], &[("SEALNET_CONFIG_LOG_FORMAT", "json")]).unwrap().log_format, LogFormat::Json);
    }

    #[test]
    fn bad_settings_from_the_environment_name_the_key_and_never_the_value() {
        let unknown = run(&[], &[("SEALNET_CONFIG_NO_SUCH_KEY", "1")]).unwrap_err().to_string();
        assert!(unknown.contains("no_such_key") && unknown.contains("environment"), "{unknown}");
        let empty = run(&[], &[("SEALNET_CONFIG_LIMITS____X", "1")]).unwrap_err().to_string();
        assert!(empty.contains("SEALNET_CONFIG_LIMITS____X"), "{empty}");
        let secret = "ab".repeat(31);
        let bad_key = run(&[], &[("SEALNET_CONFIG_STATIC_KEY", &secret)]).unwrap_err().to_string();
        assert!(!bad_key.contains(&secret), "{bad_key}");
        assert!(run(&[], &[("SEALNET_CONFIG_WORKERS", "100000")]).unwrap_err().to_string().contains("workers"));
    }
}
