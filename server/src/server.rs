//! The listener: binds (with the configured backlog), accepts connections, admits them, and runs
//! the shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sealnet::protocol::noise::Keypair;
use sealnet::protocol::session::SessionConfig;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::admission::Admission;
use crate::auth::token::TokenKeys;
use crate::auth::{system_clock, AuthProvider, WallClock};
use crate::config::Config;
use crate::connection;
use crate::limits::{KeyExchangeLimiter, Source};
use crate::plugin::{self, Plugin};
use crate::rooms::{OutputBudget, Rooms};

/// How long shutdown waits for connections to say goodbye before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) session_config: SessionConfig,
    pub(crate) keypair: Arc<Keypair>,
    pub(crate) plugins: Vec<Arc<dyn Plugin>>,
    pub(crate) rooms: Rooms,
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
}

/// A bound listening socket, before the server runs on it. Binding comes first so that a server that
/// cannot listen fails before it touches its key file.
pub struct Listener(TcpListener);

impl Listener {
    /// Binds `config.listen` with the configured backlog (the kernel's default of 128 stalls bursts of
    /// connects for a whole SYN retransmission).
    pub fn bind(config: &Config) -> io::Result<Listener> {
        let socket = if config.listen.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(config.listen)?;
        Ok(Listener(socket.listen(config.admission.listen_backlog)?))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A server ready to start: its configuration, keys, plugins and authentication provider.
pub struct Server {
    config: Config,
    keypair: Keypair,
    plugins: Vec<Arc<dyn Plugin>>,
    token_keys: Option<TokenKeys>,
    auth_provider: Option<Arc<dyn AuthProvider>>,
    clock: WallClock,
}

impl Server {
    /// A server with the plugins its configuration enables. Without [`Server::with_token_keys`] its
    /// tokens are sealed under a key made for this process alone, so no other server opens them.
    pub fn new(config: Config, keypair: Keypair) -> Self {
        let plugins = plugin::from_config(&config.plugins);
        Server { config, keypair, plugins, token_keys: None, auth_provider: None, clock: system_clock() }
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

    /// Binds the configured address and starts accepting connections.
    pub async fn start(self) -> io::Result<RunningServer> {
        let listener = Listener::bind(&self.config)?;
        self.serve(listener)
    }

    /// Starts accepting connections on a listener bound earlier.
    pub fn serve(self, listener: Listener) -> io::Result<RunningServer> {
        let listener = listener.0;
        let local_addr = listener.local_addr()?;
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
        let output_budget = Arc::new(OutputBudget::new(config.limits.output_budget_bytes));
        let admission = &config.admission;
        let shared = Arc::new(Shared {
            rooms: Rooms::new(
                config.limits.max_room_size,
                output_budget.clone(),
                session_config.max_clear_body as usize,
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
            keypair: Arc::new(self.keypair),
            plugins: self.plugins,
            config,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(RunningServer { local_addr, public_key, shared, stop, task })
    }
}

/// A started server. Dropping it also shuts the server down, without waiting.
pub struct RunningServer {
    local_addr: SocketAddr,
    public_key: [u8; 32],
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningServer {
    /// The address actually bound (the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
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

    /// Stops accepting, disconnects every client with ServerShutdown, and waits (about 1.5 s at most)
    /// for the goodbyes to be delivered.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let mut connections = JoinSet::new();
    let for_connections = stopped.clone();
    tracing::debug!(address = %listener.local_addr().map_or_else(|_| "?".into(), |a| a.to_string()), "accepting");
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, address)) => {
                    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                    let source = Source::of(address.ip());
                    let (peer, outbound) = connection::new_peer(&shared, id);
                    match shared.admission.arrive(id, source, &peer) {
                        Ok(()) => {
                            tracing::debug!(connection = id, %address, "accepted");
                            // Small frames should leave at once; the session already batches what it can.
                            let _ = stream.set_nodelay(true);
                            let slot =
                                connection::Slot { shared: shared.clone(), id, source, address, admitted: false };
                            connections.spawn(connection::serve(stream, slot, peer, outbound, for_connections.clone()));
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
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = stop_requested(&mut stopped) => break,
        }
    }
    drop(listener);
    tracing::info!(connections = connections.len(), "shutting down: disconnecting clients");
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async { while connections.join_next().await.is_some() {} });
    if drained.await.is_err() {
        tracing::warn!(connections = connections.len(), "shutdown grace period over: closing remaining connections");
        connections.shutdown().await;
    }
}

/// Resolves once a stop is requested, or the server handle is gone (which means the same).
pub(crate) async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
