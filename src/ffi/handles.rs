//! Peer handles: the `peer_t *` a host holds is a registry key, not an address, so a call on a destroyed
//! or made-up peer is refused instead of touching freed memory.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use once_cell::sync::Lazy;
use parking_lot::Mutex;

use super::dispatch::Prepared;
use super::result::PeerResult;
use super::types::{peer_event_callback, peer_operation_response_callback, peer_status_callback, peer_t};
use crate::peer::Peer;

/// The host's callbacks. `user_data` is only ever handed back to them.
pub(crate) struct Callbacks {
    pub on_status: peer_status_callback,
    pub on_operation_response: peer_operation_response_callback,
    pub on_event: peer_event_callback,
    pub user_data: *mut c_void,
}

// SAFETY: sealnet never dereferences `user_data`; callbacks are invoked only on the host thread that
// calls peer_service, which is the host's documented responsibility.
unsafe impl Send for Callbacks {}
// SAFETY: as above; the struct is read-only after creation.
unsafe impl Sync for Callbacks {}

pub(crate) struct PeerHandle {
    pub peer: Peer,
    pub callbacks: Callbacks,
    /// Held while callbacks run, so peer_destroy on another thread waits for them to finish. The flag
    /// is set by peer_destroy under this lock: a peer_service that looked the handle up just before
    /// destroy unregistered it finds it set and dispatches nothing.
    pub dispatch: Mutex<Dispatch>,
    /// Keeps the data of the last polled event alive until the next poll, service or destroy.
    pub polled: Mutex<Option<Prepared>>,
    /// peer_destroy was called from inside one of this peer's callbacks: the peer_service running
    /// them finishes the destruction before it returns.
    pub destroy_requested: std::sync::atomic::AtomicBool,
}

/// Dispatch state of one peer, guarded by [`PeerHandle::dispatch`].
#[derive(Default)]
pub(crate) struct Dispatch {
    pub destroyed: bool,
}

impl PeerHandle {
    /// Takes the dispatch lock for running callbacks or handing out a polled event; refused once
    /// peer_destroy has begun, so nothing reaches the host after destroy returns.
    pub fn begin_dispatch(&self) -> Result<parking_lot::MutexGuard<'_, Dispatch>, PeerResult> {
        let dispatch = self.dispatch.lock();
        if dispatch.destroyed {
            return Err(PeerResult::InvalidPeer);
        }
        Ok(dispatch)
    }
}

static PEERS: Lazy<Mutex<HashMap<usize, Arc<PeerHandle>>>> = Lazy::new(|| Mutex::new(HashMap::new()));
// Handles start high and step by 16 so they are never NULL and look like aligned pointers.
static NEXT_HANDLE: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    /// Handles whose callbacks are running on this thread.
    static DISPATCHING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

pub(crate) fn register(handle: PeerHandle) -> *mut peer_t {
    let id = 0x10_000 + NEXT_HANDLE.fetch_add(1, Ordering::Relaxed) * 16;
    PEERS.lock().insert(id, Arc::new(handle));
    id as *mut peer_t
}

pub(crate) fn lookup(peer: *const peer_t) -> Result<Arc<PeerHandle>, PeerResult> {
    if peer.is_null() {
        return Err(PeerResult::NullParameter);
    }
    PEERS.lock().get(&(peer as usize)).cloned().ok_or(PeerResult::InvalidPeer)
}

pub(crate) fn unregister(peer: *const peer_t) -> Result<Arc<PeerHandle>, PeerResult> {
    if peer.is_null() {
        return Err(PeerResult::NullParameter);
    }
    PEERS.lock().remove(&(peer as usize)).ok_or(PeerResult::InvalidPeer)
}

pub(crate) fn is_dispatching(peer: *const peer_t) -> bool {
    DISPATCHING.with(|stack| stack.borrow().contains(&(peer as usize)))
}

/// Marks `peer` as dispatching on this thread for the lifetime of the guard.
pub(crate) struct DispatchMark(usize);

impl DispatchMark {
    pub fn new(peer: *const peer_t) -> Self {
        DISPATCHING.with(|stack| stack.borrow_mut().push(peer as usize));
        DispatchMark(peer as usize)
    }
}

impl Drop for DispatchMark {
    fn drop(&mut self) {
        DISPATCHING.with(|stack| {
            let mut stack = stack.borrow_mut();
            if let Some(position) = stack.iter().rposition(|id| *id == self.0) {
                stack.remove(position);
            }
        });
    }
}
