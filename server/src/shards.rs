//! The relay engine's threads: a fixed set of shards, each a single-threaded event loop on its own
//! thread, that run the connections.
//!
//! A room belongs to one shard (by a hash of its name), and a connection moves to its room's shard
//! when it joins, so a room's fan-out runs on one thread: the sender relays into the members' queues
//! and their connections seal and write in the same loop, without waking another thread, locking
//! against one, or handing work across cores. Rooms spread over the shards, so the server uses every
//! core once there are at least as many busy rooms as shards.

use std::cell::Cell;
use std::future::Future;
use std::hash::BuildHasher;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::{oneshot, Notify};

use crate::metrics::ShardCounters;

thread_local! {
    /// The shard this thread runs, if it is one.
    static CURRENT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The shards of one server, as its connections see them.
pub(crate) struct Shards {
    handles: Vec<Handle>,
    next: AtomicUsize,
    /// One fixed hasher for every room name (random per server, so clients cannot aim rooms at a
    /// shard).
    hasher: std::collections::hash_map::RandomState,
    /// One set per shard, then one for work done off the shards (written by one thread at a time).
    counters: Vec<ShardCounters>,
    /// Connections alive on any shard.
    live: AtomicUsize,
    live_changed: Notify,
}

impl Shards {
    /// Starts `count` shards; `0` means one per available core (at most `MAX_WORKERS`).
    pub(crate) fn start(count: usize) -> io::Result<(Arc<Shards>, ShardThreads)> {
        let count = match count {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()).min(crate::config::MAX_WORKERS),
            count => count,
        };
        let mut threads = ShardThreads { stops: Vec::with_capacity(count), stopped: Vec::with_capacity(count) };
        let mut shards = Shards {
            handles: Vec::with_capacity(count),
            next: AtomicUsize::new(0),
            hasher: Default::default(),
            counters: (0..=count).map(|_| ShardCounters::default()).collect(),
            live: AtomicUsize::new(0),
            live_changed: Notify::new(),
        };
        for index in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let (stop, stop_requested) = oneshot::channel::<()>();
            let (done, stopped) = oneshot::channel::<()>();
            shards.handles.push(runtime.handle().clone());
            std::thread::Builder::new().name(format!("sealnet-shard-{index}")).spawn(move || {
                CURRENT.with(|current| current.set(Some(index)));
                let _ = runtime.block_on(stop_requested);
                // Dropping the runtime drops its connections, which leave their rooms.
                drop(runtime);
                let _ = done.send(());
            })?;
            threads.stops.push(stop);
            threads.stopped.push(stopped);
        }
        Ok((Arc::new(shards), threads))
    }

    pub(crate) fn count(&self) -> usize {
        self.handles.len()
    }

    /// The shard this thread runs, if it is one.
    pub(crate) fn current() -> Option<usize> {
        CURRENT.with(Cell::get)
    }

    /// The counters of the shard this thread runs (only this thread writes them).
    pub(crate) fn counters(&self) -> &ShardCounters {
        let off_shard = self.counters.len() - 1;
        &self.counters[Self::current().unwrap_or(off_shard).min(off_shard)]
    }

    /// Every shard's counters, for a scrape.
    pub(crate) fn all_counters(&self) -> &[ShardCounters] {
        &self.counters
    }

    /// The shard that runs the room called `name`.
    pub(crate) fn of_room(&self, name: &str) -> usize {
        (self.hasher.hash_one(name) % self.handles.len() as u64) as usize
    }

    /// The shard for a new connection, before it joins a room: round robin.
    pub(crate) fn for_new_connection(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len()
    }

    /// Runs a connection's task on `shard`.
    pub(crate) fn spawn<F>(&self, shard: usize, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.handles[shard].spawn(task));
    }

    /// Counts a connection as alive while the guard lives (it moves with the connection).
    pub(crate) fn connection_guard(self: &Arc<Self>) -> LiveGuard {
        self.live.fetch_add(1, Ordering::Relaxed);
        LiveGuard(self.clone())
    }

    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    /// Resolves once no connection is alive.
    pub(crate) async fn all_closed(&self) {
        loop {
            let changed = self.live_changed.notified();
            if self.live() == 0 {
                return;
            }
            changed.await;
        }
    }
}

/// The threads behind [`Shards`]. Dropping this stops them (their connections are dropped with them)
/// without waiting.
pub(crate) struct ShardThreads {
    stops: Vec<oneshot::Sender<()>>,
    stopped: Vec<oneshot::Receiver<()>>,
}

impl ShardThreads {
    /// Stops every shard and waits (up to `limit`) for their threads to drop what they ran.
    pub(crate) async fn stop(mut self, limit: Duration) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
        let stopped = std::mem::take(&mut self.stopped);
        let _ = tokio::time::timeout(limit, async move {
            for done in stopped {
                let _ = done.await;
            }
        })
        .await;
    }
}

/// A connection alive on some shard.
pub(crate) struct LiveGuard(Arc<Shards>);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
        self.0.live_changed.notify_waiters();
    }
}
