//! The listener: accepts connections, enforces `max_connections`, and runs the shutdown.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sealnet::protocol::noise::Keypair;
use sealnet::protocol::session::SessionConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::config::Config;
use crate::connection::{self, Slot};
use crate::plugin::{self, Plugin};
use crate::rooms::Rooms;

/// Connections beyond `max_connections` still get a session, but only to be told ServerFull; at most
/// this many of them at a time, past which new connections are closed at once.
const REFUSAL_SLOTS: usize = 64;
/// How long shutdown waits for connections to say goodbye before they are cut.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// What every connection task shares.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) session_config: SessionConfig,
    pub(crate) keypair: Arc<Keypair>,
    pub(crate) plugins: Vec<Arc<dyn Plugin>>,
    pub(crate) rooms: Rooms,
    admitted: AtomicUsize,
    refusing: AtomicUsize,
}

impl Shared {
    /// Takes a connection slot: `Some(true)` admitted, `Some(false)` to be refused with ServerFull,
    /// `None` to be closed without a word.
    fn acquire(&self) -> Option<bool> {
        let max = self.config.max_connections;
        if self.admitted.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < max).then_some(n + 1)).is_ok() {
            return Some(true);
        }
        if self
            .refusing
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < REFUSAL_SLOTS).then_some(n + 1))
            .is_ok()
        {
            return Some(false);
        }
        None
    }

    pub(crate) fn release(&self, admitted: bool) {
        let counter = if admitted { &self.admitted } else { &self.refusing };
        counter.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A server ready to start: its configuration, key and plugins.
pub struct Server {
    config: Config,
    keypair: Keypair,
    plugins: Vec<Arc<dyn Plugin>>,
}

impl Server {
    /// A server with the plugins its configuration enables.
    pub fn new(config: Config, keypair: Keypair) -> Self {
        let plugins = plugin::from_config(&config.plugins);
        Server { config, keypair, plugins }
    }

    /// Adds a plugin after those already installed.
    pub fn with_plugin(mut self, plugin: Arc<dyn Plugin>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// Binds the configured address and starts accepting connections.
    pub async fn start(self) -> io::Result<RunningServer> {
        let listener = TcpListener::bind(self.config.listen).await?;
        let local_addr = listener.local_addr()?;
        let public_key = *self.keypair.public();
        let session_config =
            SessionConfig { disconnect_timeout: self.config.disconnect_timeout(), ..SessionConfig::default() };
        let shared = Arc::new(Shared {
            session_config,
            keypair: Arc::new(self.keypair),
            plugins: self.plugins,
            rooms: Rooms::new(),
            admitted: AtomicUsize::new(0),
            refusing: AtomicUsize::new(0),
            config: self.config,
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

    /// Connections counted against `max_connections`.
    pub fn connection_count(&self) -> usize {
        self.shared.admitted.load(Ordering::Acquire)
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
                    match admit(&shared, stream, id) {
                        Some((stream, slot)) => {
                            tracing::debug!(connection = id, %address, admitted = slot.admitted, "accepted");
                            connections.spawn(connection::serve(stream, id, slot, for_connections.clone()));
                        }
                        None => tracing::warn!(%address, "too many connections: closed without a session"),
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

fn admit(shared: &Arc<Shared>, stream: TcpStream, id: u64) -> Option<(TcpStream, Slot)> {
    let admitted = shared.acquire()?;
    if !admitted {
        tracing::info!(connection = id, "server full: the connection will be refused");
    }
    // Small frames should leave at once; the session already batches what it can.
    let _ = stream.set_nodelay(true);
    Some((stream, Slot { shared: shared.clone(), admitted }))
}

/// Resolves once a stop is requested, or the server handle is gone (which means the same).
pub(crate) async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
