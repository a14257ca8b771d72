//! Who gets in: connections that have not sent Connect yet (pending) have a bound of their own, a
//! short deadline and a bound per source address; only connections past Connect count against
//! `max_connections`. A full pending pool makes room by closing its oldest member, so a flood of
//! silent sockets ages out while an honest client, which sends Connect at once, gets through.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::Config;
use crate::limits::Source;
use crate::rooms::Peer;
use sealnet::protocol::status::DisconnectReason;

/// Why a connection was not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many connections from this source are waiting for their Connect: closed at once.
    PendingFromSource,
    /// `max_connections` is reached.
    ServerFull,
    /// Too many connections from this source are past Connect.
    SourceFull,
}

#[derive(Default)]
struct State {
    /// Pending connections by id; ids grow with time, so the first is the oldest.
    pending: BTreeMap<u64, (Source, Arc<Peer>)>,
    pending_per_source: HashMap<Source, usize>,
    admitted: usize,
    admitted_per_source: HashMap<Source, usize>,
}

/// Counts connections and decides who gets in.
pub struct Admission {
    state: Mutex<State>,
    max_pending: usize,
    max_pending_per_source: usize,
    max_connections: usize,
    max_connections_per_source: usize,
}

fn decrement(counts: &mut HashMap<Source, usize>, source: Source) {
    if let Some(count) = counts.get_mut(&source) {
        *count -= 1;
        if *count == 0 {
            counts.remove(&source);
        }
    }
}

impl Admission {
    pub fn new(config: &Config) -> Self {
        Admission {
            state: Mutex::default(),
            max_pending: config.admission.max_pending,
            max_pending_per_source: config.admission.max_pending_per_address,
            max_connections: config.max_connections,
            max_connections_per_source: config.admission.max_connections_per_address,
        }
    }

    /// A new transport connection: registers it as pending. When the pool is full, the oldest pending
    /// connection is told to close.
    pub fn arrive(&self, id: u64, source: Source, peer: &Arc<Peer>) -> Result<(), Refusal> {
        let evicted = {
            let mut state = self.state.lock();
            let from_source = state.pending_per_source.get(&source).copied().unwrap_or(0);
            if from_source >= self.max_pending_per_source {
                return Err(Refusal::PendingFromSource);
            }
            let evicted = if state.pending.len() >= self.max_pending {
                state.pending.pop_first().map(|(_, (old_source, old))| {
                    decrement(&mut state.pending_per_source, old_source);
                    old
                })
            } else {
                None
            };
            state.pending.insert(id, (source, peer.clone()));
            *state.pending_per_source.entry(source).or_default() += 1;
            evicted
        };
        if let Some(oldest) = evicted {
            tracing::debug!(
                connection = oldest.id(),
                "pending pool full: closing the oldest connection without Connect"
            );
            oldest.kick(DisconnectReason::Timeout, "too many connections waiting: send Connect sooner");
        }
        Ok(())
    }

    /// The connection sent Connect: it leaves the pending pool and is admitted if there is room. On
    /// success the caller must call [`leave`](Self::leave) with `admitted = true` when it closes.
    pub fn connect(&self, id: u64, source: Source) -> Result<(), Refusal> {
        let mut state = self.state.lock();
        if state.pending.remove(&id).is_some() {
            decrement(&mut state.pending_per_source, source);
        }
        if state.admitted >= self.max_connections {
            return Err(Refusal::ServerFull);
        }
        let from_source = state.admitted_per_source.get(&source).copied().unwrap_or(0);
        if from_source >= self.max_connections_per_source {
            return Err(Refusal::SourceFull);
        }
        state.admitted += 1;
        *state.admitted_per_source.entry(source).or_default() += 1;
        Ok(())
    }

    /// The connection closed: releases what it held.
    pub fn leave(&self, id: u64, source: Source, admitted: bool) {
        let mut state = self.state.lock();
        if state.pending.remove(&id).is_some() {
            decrement(&mut state.pending_per_source, source);
        }
        if admitted {
            state.admitted -= 1;
            decrement(&mut state.admitted_per_source, source);
        }
    }

    /// Connections past Connect.
    pub fn admitted(&self) -> usize {
        self.state.lock().admitted
    }

    /// Connections waiting for their Connect.
    pub fn pending(&self) -> usize {
        self.state.lock().pending.len()
    }
}
