//! What the host hands the I/O thread (operations already encoded, and requests), and what the I/O
//! thread publishes for the host to read (the session state, the server key).
//!
//! The session itself belongs to the I/O thread alone. The host never takes a lock that is held
//! while frames are decoded or sockets are used: sending is a check against the published state,
//! an encode into the outbox and, only when the outbox was empty, a wake-up of the I/O thread.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use std::time::Instant;

use crate::protocol::sealing::SendOptions;
use crate::protocol::session::SessionStats;
use crate::protocol::status::PeerState;

/// One encoded operation waiting in the outbox: its body is the next `len` bytes of the data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub len: usize,
    pub options: SendOptions,
}

/// Encoded operations in the order they were sent, back to back.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub data: Vec<u8>,
    pub ops: Vec<Pending>,
}

impl Outbox {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Puts `rest` (taken earlier and not yet sent) back before what was added since.
    pub fn put_back(&mut self, mut rest: Outbox) {
        rest.data.extend_from_slice(&self.data);
        rest.ops.extend_from_slice(&self.ops);
        *self = rest;
    }
}

/// Requests from the host, read by the I/O thread on each turn.
#[derive(Default)]
pub(crate) struct Control {
    pub outbox: Outbox,
    pub establish_encryption: bool,
    pub disconnect: bool,
    pub shutdown: bool,
    pub waker: Option<Arc<mio::Waker>>,
}

/// What the I/O thread publishes about its session.
pub(crate) struct Board {
    state: AtomicU8,
    version: AtomicU8,
    server_key: Mutex<Option<[u8; 32]>>,
    stats: Mutex<Published>,
    pub auth: super::auth::AuthBoard,
}

/// Stats as of a moment, with the server clock at that moment.
#[derive(Default, Clone, Copy)]
pub(crate) struct Published {
    pub stats: SessionStats,
    pub server_time: Option<(Instant, u64)>,
}

impl Board {
    pub fn new() -> Self {
        Board {
            state: AtomicU8::new(PeerState::Disconnected as u8),
            // 0 until a connection is accepted.
            version: AtomicU8::new(0),
            server_key: Mutex::new(None),
            stats: Mutex::new(Published::default()),
            auth: super::auth::AuthBoard::default(),
        }
    }

    pub fn protocol_version(&self) -> u8 {
        self.version.load(Ordering::Acquire)
    }

    pub fn set_protocol_version(&self, version: u8) {
        self.version.store(version, Ordering::Release);
    }

    pub fn stats(&self) -> Published {
        *self.stats.lock()
    }

    pub fn set_stats(&self, published: Published) {
        *self.stats.lock() = published;
    }

    pub fn state(&self) -> PeerState {
        PeerState::from_u8(self.state.load(Ordering::Acquire)).unwrap_or(PeerState::Disconnected)
    }

    pub fn set_state(&self, state: PeerState) {
        self.state.store(state as u8, Ordering::Release);
    }

    pub fn server_key(&self) -> Option<[u8; 32]> {
        *self.server_key.lock()
    }

    pub fn set_server_key(&self, key: Option<[u8; 32]>) {
        *self.server_key.lock() = key;
    }
}

/// Set when a wake-up is on its way to the I/O thread, which clears it once awake, so a burst of
/// sends costs one wake-up.
#[derive(Default)]
pub(crate) struct WakeFlag {
    pending: AtomicBool,
    /// Wake-ups sent, for diagnostics; touched only when one is sent.
    sent: AtomicU64,
}

impl WakeFlag {
    /// Wakes the I/O thread unless a wake-up is already pending.
    pub fn wake(&self, control: &Control) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            if let Some(waker) = control.waker.as_ref() {
                self.sent.fetch_add(1, Ordering::Relaxed);
                let _ = waker.wake();
            }
        }
    }

    /// The I/O thread is awake: the next request needs a new wake-up.
    pub fn clear(&self) {
        self.pending.store(false, Ordering::Release);
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}
