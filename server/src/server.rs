//! The listener: binds (with the configured backlog), accepts connections, admits them, and runs
//! the shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::datagram::DatagramConfig;
use sealnet::protocol::noise::Keypair;
use sealnet::protocol::session::{SessionConfig, Transport};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::admission::Admission;
use crate::auth::token::TokenKeys;
use crate::auth::{system_clock, AuthProvider, WallClock};
use crate::config::{Config, Role};
use crate::connection;
use crate::directory::{Directory, RedisDirectory};
use crate::heartbeat;
use crate::limits::{KeyExchangeLimiter, Source};
use crate::plugin::{self, Plugin};
use crate::rooms::{OutputBudget, RoomLimits, Rooms};
use crate::shards::{ShardThreads, Shards};

/// How long shutdown waits for connections to say goodbye before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) session_config: SessionConfig,
    /// The same for UDP connections (datagram mode).
    pub(crate) datagram_session_config: SessionConfig,
    /// The same for WebSocket connections (secure message transport: TLS protects them).
    pub(crate) secure_session_config: SessionConfig,
    pub(crate) keypair: Arc<Keypair>,
    pub(crate) plugins: Vec<Arc<dyn Plugin>>,
    pub(crate) rooms: Rooms,
    /// Players waiting for room lists (masters and role "all").
    pub(crate) lobby: crate::lobby::Lobby,
    pub(crate) admission: Admission,
    pub(crate) key_exchanges: KeyExchangeLimiter,
    pub(crate) output_budget: Arc<OutputBudget>,
    pub(crate) token_keys: TokenKeys,
    pub(crate) auth_provider: Option<Arc<dyn AuthProvider>>,
    /// Provider calls in flight, server-wide.
    pub(crate) auth_calls: Arc<tokio::sync::Semaphore>,
    /// Authentications per address.
    pub(crate) auth_limiter: KeyExchangeLimiter,
    pub(crate) clock: WallClock,
    /// Accepting players (false while draining or stopping), for readiness checks.
    pub(crate) ready: std::sync::atomic::AtomicBool,
    pub(crate) auth_counters: crate::admin::AuthCounters,
    pub(crate) shards: Arc<Shards>,
    /// The deployment's room directory (masters and game servers; `None` in role "all").
    pub(crate) directory: Option<Directory>,
    /// Where this master placed rooms lately.
    pub(crate) placements: crate::matchmaking::Placements,
    /// This game server's id in the directory (empty for other roles).
    pub(crate) server_id: String,
    /// The runtime that called `serve`: directory calls run there, not on a shard.
    pub(crate) runtime: tokio::runtime::Handle,
}

/// The bound listening sockets, before the server runs on them. Binding comes first so that a server
/// that cannot listen fails before it touches its key file.
pub struct Listener {
    tcp: TcpListener,
    udp: Option<std::net::UdpSocket>,
    wss: Option<crate::wss::WssListener>,
}

impl Listener {
    /// Binds `config.listen` with the configured backlog (the kernel's default of 128 stalls bursts of
    /// connects for a whole SYN retransmission), the UDP socket when UDP is on (at `udp.listen`, or at
    /// the TCP address and the port TCP got), and the WSS socket with its certificate when WSS is on.
    /// Each error names what could not be set up.
    pub fn bind(config: &Config) -> io::Result<Listener> {
        let context = |what: String| move |error: io::Error| io::Error::new(error.kind(), format!("{what}: {error}"));
        let tcp = (|| {
            let socket = if config.listen.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
            socket.set_reuseaddr(true)?;
            socket.bind(config.listen)?;
            socket.listen(config.admission.listen_backlog)
        })()
        .map_err(context(format!("cannot listen on {}", config.listen)))?;
        let invalid = |e: crate::config::ConfigError| io::Error::new(io::ErrorKind::InvalidInput, e.to_string());
        let buffers = config.udp.socket_buffer_bytes;
        let udp = match config.udp.address(tcp.local_addr()?).map_err(invalid)? {
            // Any free port was asked for: the same number as TCP's when it is free for UDP too.
            Some(address) if config.udp.listen.is_empty() && config.listen.port() == 0 => {
                let any = SocketAddr::new(address.ip(), 0);
                let udp = crate::udp::bind(address, buffers).or_else(|_| crate::udp::bind(any, buffers));
                Some(udp.map_err(context(format!("cannot listen on UDP {address}")))?)
            }
            Some(address) => {
                Some(crate::udp::bind(address, buffers).map_err(context(format!("cannot listen on UDP {address}")))?)
            }
            None => None,
        };
        let wss = crate::wss::bind(config)?;
        Ok(Listener { tcp, udp, wss })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The UDP address, when UDP is on.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp.as_ref().and_then(|udp| udp.local_addr().ok())
    }

    /// The WSS listener's address, URL and certificate, when WSS is on.
    pub fn wss(&self) -> Option<&crate::wss::WssInfo> {
        self.wss.as_ref().map(|wss| &wss.endpoint.info)
    }
}

/// A process-wide id for each connection, whatever its transport.
pub(crate) fn next_connection_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// A server ready to start: its configuration, keys, plugins and authentication provider.
pub struct Server {
    config: Config,
    keypair: Keypair,
    plugins: Vec<Arc<dyn Plugin>>,
    token_keys: Option<TokenKeys>,
    auth_provider: Option<Arc<dyn AuthProvider>>,
    clock: WallClock,
    directory: Option<Directory>,
}

impl Server {
    /// A server with the plugins its configuration enables. Without [`Server::with_token_keys`] its
    /// tokens are sealed under a key made for this process alone, so no other server opens them.
    pub fn new(config: Config, keypair: Keypair) -> Self {
        let plugins = plugin::from_config(&config.plugins);
        Server {
            config,
            keypair,
            plugins,
            token_keys: None,
            auth_provider: None,
            clock: system_clock(),
            directory: None,
        }
    }

    /// The room directory a master or game server shares with the rest of its deployment (a
    /// [`Directory::Memory`] lets several servers of one process share one, as tests do).
    pub fn with_directory(mut self, directory: Directory) -> Self {
        self.directory = Some(directory);
        self
    }

    /// What this server does in its deployment.
    pub fn role(&self) -> Role {
        self.config.role
    }

    /// Connects the directory `cluster.redis_url` names, when the role needs one and none was given.
    pub async fn connect_directory(mut self) -> io::Result<Self> {
        if self.directory.is_none() && self.config.role != Role::All {
            let cluster = &self.config.cluster;
            let directory = RedisDirectory::connect(&cluster.redis_url, &cluster.redis_prefix)
                .await
                .map_err(|problem| io::Error::other(problem.to_string()))?;
            self.directory = Some(Directory::Redis(directory));
        }
        Ok(self)
    }

    /// The token keys of the deployment (see [`crate::auth::token`]).
    pub fn with_token_keys(mut self, keys: TokenKeys) -> Self {
        self.token_keys = Some(keys);
        self
    }

    /// What checks custom authentication: the webhook, or an embedder's provider.
    pub fn with_auth_provider(mut self, provider: Arc<dyn AuthProvider>) -> Self {
        self.auth_provider = Some(provider);
        self
    }

    /// The wall clock tokens are issued and checked by (tests drive their own).
    pub fn with_clock(mut self, clock: WallClock) -> Self {
        self.clock = clock;
        self
    }

    /// Adds a plugin after those already installed.
    pub fn with_plugin(mut self, plugin: Arc<dyn Plugin>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// Binds the configured address, connects the directory if the role needs one, and starts
    /// accepting connections.
    pub async fn start(self) -> io::Result<RunningServer> {
        let listener = Listener::bind(&self.config)?;
        self.connect_directory().await?.serve(listener)
    }

    /// Starts accepting connections on a listener bound earlier.
    pub fn serve(self, listener: Listener) -> io::Result<RunningServer> {
        let udp_addr = listener.udp_addr();
        let wss_info = listener.wss().cloned();
        let Listener { tcp: listener, udp, wss } = listener;
        let local_addr = listener.local_addr()?;
        let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
        if self.config.role != Role::All && self.directory.is_none() {
            return Err(invalid(format!(
                "role {} needs a room directory (connect_directory)",
                self.config.role.name()
            )));
        }
        let advertised = match self.config.role {
            Role::Game => Some(self.config.advertised_address(local_addr).map_err(|e| invalid(e.to_string()))?),
            _ => None,
        };
        let server_id = match (self.config.role, self.config.cluster.server_id.as_str()) {
            (Role::Game, "") => {
                generated_server_id().ok_or_else(|| io::Error::other("no randomness for a server id"))?
            }
            (Role::Game, configured) => configured.to_owned(),
            _ => String::new(),
        };
        // Bound before anything starts, so a bad admin address fails the start.
        let admin = match self
            .config
            .admin
            .address()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?
        {
            Some(address) => {
                let std_listener = std::net::TcpListener::bind(address)?;
                std_listener.set_nonblocking(true)?;
                Some(TcpListener::from_std(std_listener)?)
            }
            None => None,
        };
        let public_key = *self.keypair.public();
        let config = self.config;
        let session_config = SessionConfig {
            disconnect_timeout: config.disconnect_timeout(),
            connect_timeout: Duration::from_millis(config.admission.connect_timeout_ms),
            // The relay keeps its own bounded queues; the session's output stays small.
            max_pending_output: 1024 * 1024,
            gate_key_exchange: true,
            // One clock for every client: the server time games synchronise on.
            server_epoch: Some(std::time::Instant::now()),
            ..SessionConfig::default()
        };
        let datagram = DatagramConfig { max_datagram: config.udp.max_datagram, ..DatagramConfig::default() };
        let datagram_session_config =
            SessionConfig { transport: Transport::Datagram(datagram), ..session_config.clone() };
        let secure_session_config = SessionConfig { transport: Transport::Secure, ..session_config.clone() };
        let (shards, shard_threads) = Shards::start(config.workers)?;
        let output_budget = Arc::new(OutputBudget::new(config.limits.output_budget_bytes));
        let admission = &config.admission;
        let shared = Arc::new(Shared {
            rooms: Rooms::new(
                RoomLimits {
                    max_room_size: config.limits.max_room_size,
                    max_clear_body: session_config.max_clear_body as usize,
                    max_room_properties_bytes: config.limits.max_room_properties_bytes,
                    max_player_properties_bytes: config.limits.max_player_properties_bytes,
                    max_cached_events: config.limits.max_cached_events,
                    max_cache_bytes: config.limits.max_cache_bytes,
                },
                output_budget.clone(),
            ),
            admission: Admission::new(&config),
            key_exchanges: KeyExchangeLimiter::new(
                admission.key_exchanges_per_second,
                admission.key_exchange_burst,
                admission.key_exchanges_per_address_per_second,
                admission.key_exchange_burst_per_address,
                Duration::from_millis(admission.key_exchange_max_wait_ms),
            ),
            output_budget,
            session_config,
            datagram_session_config,
            secure_session_config,
            token_keys: self.token_keys.unwrap_or_else(TokenKeys::ephemeral),
            auth_provider: self.auth_provider,
            auth_calls: Arc::new(tokio::sync::Semaphore::new(config.auth.webhook.max_outstanding)),
            auth_limiter: KeyExchangeLimiter::new(
                1e12,
                1e12,
                config.auth.per_address_per_second,
                config.auth.per_address_burst,
                Duration::ZERO,
            ),
            clock: self.clock,
            ready: std::sync::atomic::AtomicBool::new(true),
            auth_counters: Default::default(),
            shards,
            keypair: Arc::new(self.keypair),
            plugins: self.plugins,
            config,
            directory: self.directory,
            placements: Default::default(),
            lobby: Default::default(),
            server_id,
            runtime: tokio::runtime::Handle::current(),
        });
        let (heartbeat_stop, heartbeat_stopped) = watch::channel(false);
        let heartbeat = match (&shared.directory, advertised) {
            (Some(directory), Some(address)) => {
                let me = heartbeat::Identity { address, public_key: sealnet::protocol::noise::hex(&public_key) };
                Some(tokio::spawn(heartbeat::run(shared.clone(), directory.clone(), me, heartbeat_stopped)))
            }
            _ => None,
        };
        let (lobby_stop, lobby_stopped) = watch::channel(false);
        let lobby = matches!(shared.config.role, Role::Master | Role::All)
            .then(|| tokio::spawn(crate::lobby::run(shared.clone(), lobby_stopped)));
        let shared_for_loop = shared.clone();
        let (stop, phase) = watch::channel(Phase::Running);
        let (admin_stop, admin_stopped) = watch::channel(false);
        let admin_addr = match admin {
            Some(admin) => {
                let addr = admin.local_addr()?;
                tokio::spawn(crate::admin::serve(admin, shared.clone(), admin_stopped));
                Some(addr)
            }
            None => None,
        };
        let task = tokio::spawn(async move {
            accept_loop(listener, udp, wss, shared_for_loop, shard_threads, phase).await;
            let _ = heartbeat_stop.send(true);
            if let Some(heartbeat) = heartbeat {
                let _ = heartbeat.await;
            }
            let _ = admin_stop.send(true);
            let _ = lobby_stop.send(true);
            if let Some(lobby) = lobby {
                let _ = lobby.await;
            }
        });
        Ok(RunningServer { local_addr, udp_addr, wss: wss_info, admin_addr, public_key, shared, stop, task })
    }
}

/// A game server id for a deployment that did not configure one: random, so restarts never collide
/// (`None` when the system's random source fails: a fixed id would collide).
fn generated_server_id() -> Option<String> {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).ok()?;
    Some(format!("game-{}", sealnet::protocol::noise::hex(&bytes)))
}

/// Stops a server at once (see [`RunningServer::stopper`]).
#[derive(Clone)]
pub struct Stopper(watch::Sender<Phase>);

impl Stopper {
    pub fn stop(&self) {
        let _ = self.0.send(Phase::Stopping);
    }
}

/// A started server. Dropping it also shuts the server down, without waiting.
pub struct RunningServer {
    local_addr: SocketAddr,
    udp_addr: Option<SocketAddr>,
    wss: Option<crate::wss::WssInfo>,
    admin_addr: Option<SocketAddr>,
    public_key: [u8; 32],
    shared: Arc<Shared>,
    stop: watch::Sender<Phase>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// The address actually bound (the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The UDP address bound, when UDP is on.
    pub fn udp_addr(&self) -> Option<SocketAddr> {
        self.udp_addr
    }

    /// The WSS listener's address, URL and certificate fingerprint, when WSS is on.
    pub fn wss(&self) -> Option<&crate::wss::WssInfo> {
        self.wss.as_ref()
    }

    /// The admin listener's address (health, readiness, metrics), when it is on.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The static public key clients can pin.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// Rooms that currently have members.
    pub fn room_count(&self) -> usize {
        self.shared.rooms.room_count()
    }

    /// Connections past Connect, counted against `max_connections`.
    pub fn connection_count(&self) -> usize {
        self.shared.admission.admitted()
    }

    /// Connections that have not sent Connect yet.
    pub fn pending_count(&self) -> usize {
        self.shared.admission.pending()
    }

    /// Bytes of events queued for all clients.
    pub fn queued_output_bytes(&self) -> usize {
        self.shared.output_budget.used()
    }

    /// Whether the server accepts players: false once a drain or shutdown began.
    pub fn is_ready(&self) -> bool {
        self.shared.ready.load(Ordering::Relaxed)
    }

    /// Stops accepting and lets connected players go on for up to `period`; the server stops when the
    /// last one leaves or the period ends (then the rest are disconnected with ServerShutdown).
    /// Resolves once it has stopped. A [`RunningServer::stop_now`] handle taken before cuts it short.
    pub async fn drain(self, period: Duration) {
        let until = Instant::now() + period;
        // A stop that came first (through a stopper) stays a stop.
        self.stop.send_if_modified(|phase| match phase {
            Phase::Running => {
                *phase = Phase::Draining { until };
                true
            }
            _ => false,
        });
        let _ = self.task.await;
    }

    /// A handle that stops the server at once, even while [`RunningServer::drain`] waits.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Stops accepting, disconnects every client with ServerShutdown, and waits (about 1.5 s at most)
    /// for the goodbyes to be delivered.
    pub async fn shutdown(self) {
        let _ = self.stop.send(Phase::Stopping);
        let _ = self.task.await;
    }
}

/// What the server's owner asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Accept nobody new; let connected players go on until they leave or `until` passes.
    Draining {
        until: Instant,
    },
    /// Disconnect everyone now (ServerShutdown).
    Stopping,
}

async fn accept_loop(
    listener: TcpListener,
    udp: Option<std::net::UdpSocket>,
    wss: Option<crate::wss::WssListener>,
    shared: Arc<Shared>,
    shard_threads: ShardThreads,
    mut phase: watch::Receiver<Phase>,
) {
    let shards = shared.shards.clone();
    // The connections' own stop signal: fired on Stopping, or when a drain runs out of time.
    let (disconnect, for_connections) = watch::channel(false);
    // UDP connections need their datagrams routed until the very end, so the listener stops last.
    let udp = udp.map(|socket| tokio::spawn(crate::udp::serve(socket, shared.clone(), for_connections.clone())));
    tracing::debug!(address = %listener.local_addr().map_or_else(|_| "?".into(), |a| a.to_string()), "accepting");
    let mut listener = Some(listener);
    // WSS stops accepting with TCP; its endpoint stays for the connections.
    let (mut wss_listener, wss_endpoint) = match wss {
        Some(wss) => (Some(wss.tcp), Some(wss.endpoint)),
        None => (None, None),
    };
    let mut drain_until: Option<Instant> = None;
    loop {
        tokio::select! {
            accepted = accept(listener.as_ref()) => match accepted {
                Ok((stream, address)) => {
                    let id = next_connection_id();
                    let source = Source::of(address.ip());
                    let (peer, outbound) = connection::new_peer(&shared, id);
                    match shared.admission.arrive(id, source, &peer) {
                        Ok(()) => {
                            tracing::debug!(connection = id, %address, "accepted");
                            // Small frames should leave at once; the session already batches what it can.
                            let _ = stream.set_nodelay(true);
                            let slot = connection::Slot {
                                shared: shared.clone(),
                                id,
                                source,
                                address,
                                admitted: false,
                                _alive: shards.connection_guard(),
                            };
                            // Handed over as a plain socket, to be registered with its shard's own loop.
                            match stream.into_std() {
                                Ok(stream) => {
                                    let task = connection::serve(stream, slot, peer, outbound, for_connections.clone());
                                    shards.spawn(shards.for_new_connection(), task);
                                }
                                Err(error) => tracing::warn!(connection = id, %error, "could not hand the connection over"),
                            }
                        }
                        Err(refusal) => {
                            tracing::debug!(%address, ?refusal, "connection closed at once");
                        }
                    }
                }
                Err(error) => {
                    // Typically out of file descriptors: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            accepted = accept(wss_listener.as_ref()) => match (accepted, &wss_endpoint) {
                (Ok((stream, address)), Some(endpoint)) => {
                    crate::wss::accept(&shared, endpoint, stream, address, &for_connections)
                }
                (Ok(_), None) => {}
                (Err(error), _) => {
                    tracing::warn!(%error, "WSS accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = shards.all_closed(), if drain_until.is_some() => {
                tracing::info!("drained: every player has left");
                break;
            }
            changed = phase.changed() => {
                let next = if changed.is_ok() { *phase.borrow_and_update() } else { Phase::Stopping };
                match next {
                    Phase::Running => {}
                    Phase::Draining { until } => {
                        wss_listener = None;
                        if listener.take().is_some() {
                            shared.ready.store(false, Ordering::Relaxed);
                            tracing::info!(connections = shards.live(), "draining: accepting nobody new");
                        }
                        drain_until = Some(until);
                    }
                    Phase::Stopping => break,
                }
            }
            () = sleep_until_instant(drain_until) => {
                tracing::info!(connections = shards.live(), "drain period over");
                break;
            }
        }
    }
    shared.ready.store(false, Ordering::Relaxed);
    drop(listener);
    drop(wss_listener);
    tracing::info!(connections = shards.live(), "shutting down: disconnecting clients");
    let _ = disconnect.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, shards.all_closed()).await.is_err() {
        tracing::warn!(connections = shards.live(), "shutdown grace period over: closing remaining connections");
    }
    shard_threads.stop(SHUTDOWN_GRACE).await;
    if let Some(udp) = udp {
        udp.abort();
    }
}

/// The next connection, or never once the listener is gone (draining).
async fn accept(listener: Option<&TcpListener>) -> io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_instant(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Resolves once a stop is requested, or the server handle is gone (which means the same).
pub(crate) async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
