//! `peer_client_*`: the realtime client (Photon's LoadBalancingClient) through the C ABI. Thin: the
//! client in `crate::realtime` does the work; this layer checks pointers, converts types and catches
//! panics. It is polled (peer_client_poll), never calls back, so nothing reaches the host after
//! peer_client_destroy returns.

use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use once_cell::sync::Lazy;
use parking_lot::Mutex;

use super::auth::peer_auth_values_t;
use super::boundary::{borrow_mut, c_str, guard, guard_detailed, Failure};
use super::dispatch::Prepared;
use super::params::peer_params_t;
use super::peer::{default_peer_config, peer_config, send_options};
use super::result::PeerResult;
use super::sized::{self, Sized32};
use super::types::{peer_config_t, peer_event_t, peer_operation_response_t, peer_send_options_t, peer_status_info_t};
use super::values::peer_table_t;
use crate::auth::{AuthType, AuthValues};
use crate::peer::{PeerEvent, WaitOutcome};
use crate::realtime::{ClientConfig, ClientError, ClientEvent, RealtimeClient};
use crate::rooms::{JoinMode, RoomOptions, RoomRequest, RoomSettings};

/// A realtime client. Opaque: the pointer is a handle, checked on every call, so a destroyed client
/// gives PEER_RESULT_INVALID_PEER instead of undefined behaviour.
pub struct peer_client_t {
    _private: (),
}

/// Client state (Photon's ClientState numbers): created, not connected yet.
pub const PEER_CLIENT_STATE_PEER_CREATED: u32 = 0;
/// Authenticating at a master or game server, after the key exchange.
pub const PEER_CLIENT_STATE_AUTHENTICATING: u32 = 1;
/// Leaving the master for the game server the master named.
pub const PEER_CLIENT_STATE_DISCONNECTING_FROM_MASTER_SERVER: u32 = 4;
/// Connecting to that game server, requiring the key the master gave.
pub const PEER_CLIENT_STATE_CONNECTING_TO_GAME_SERVER: u32 = 5;
/// Authenticated at the game server with the token; the join follows.
pub const PEER_CLIENT_STATE_CONNECTED_TO_GAME_SERVER: u32 = 6;
/// A room request is on its way (at the master, or at the game server).
pub const PEER_CLIENT_STATE_JOINING: u32 = 7;
/// In a room: events may be raised.
pub const PEER_CLIENT_STATE_JOINED: u32 = 8;
/// Leaving the room.
pub const PEER_CLIENT_STATE_LEAVING: u32 = 9;
/// Leaving the game server, back to the master.
pub const PEER_CLIENT_STATE_DISCONNECTING_FROM_GAME_SERVER: u32 = 10;
/// Connecting to a master (at login, or back from a game server with the token).
pub const PEER_CLIENT_STATE_CONNECTING_TO_MASTER_SERVER: u32 = 11;
/// peer_client_disconnect was called.
pub const PEER_CLIENT_STATE_DISCONNECTING: u32 = 12;
/// Not connected; peer_client_connect may log in (again).
pub const PEER_CLIENT_STATE_DISCONNECTED: u32 = 13;
/// Authenticated at a master: room requests may be sent.
pub const PEER_CLIENT_STATE_CONNECTED_TO_MASTER_SERVER: u32 = 14;

/// Client event: the state changed; `state` holds the new one.
pub const PEER_CLIENT_EVENT_STATE_CHANGED: u32 = 1;
/// A status of the connection underneath: `status` (PEER_STATUS_*) and `status_info`.
pub const PEER_CLIENT_EVENT_STATUS: u32 = 2;
/// In a room: `room`, `actor` and the `actors` in it (`actor_count` of them).
pub const PEER_CLIENT_EVENT_JOINED: u32 = 3;
/// A request failed: `op_code`, `return_code` (PEER_RETURN_CODE_*) and `message`. After
/// PEER_RETURN_CODE_AUTHENTICATION_TICKET_EXPIRED on the way back to the master, the client is
/// disconnected and the host must log in again (peer_client_connect with its values).
pub const PEER_CLIENT_EVENT_FAILED: u32 = 4;
/// A room event: `event`.
pub const PEER_CLIENT_EVENT_EVENT: u32 = 5;
/// A response to an operation other than the client's own: `response`.
pub const PEER_CLIENT_EVENT_RESPONSE: u32 = 6;

/// Options of a room the client creates (Photon's RoomOptions). They apply only when the request
/// creates the room; joining an existing room ignores them. Grows like peer_config_t.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct peer_room_options_t {
    /// sizeof(peer_room_options_t) as the host compiled it; peer_room_options_default sets it.
    pub struct_size: u32,
    /// Most players; 0: as many as the server allows.
    pub max_players: u32,
    /// 1: others may join.
    pub is_open: u8,
    /// 1: JoinRandomRoom may pick it, and the lobby lists it.
    pub is_visible: u8,
    /// 0 (the default): the events a player cached leave the room's cache when it leaves (Photon's
    /// CleanupCacheOnLeave); 1: they stay.
    pub keep_cache_on_leave: u8,
    /// Must be zero.
    pub reserved: [u8; 5],
    /// Milliseconds a player whose connection is lost keeps its place and actor number (Photon's
    /// PlayerTtl); the client rejoins by itself within it. 0: none. The server caps it
    /// (max_player_ttl_ms), refusing more.
    pub player_ttl_ms: u32,
    /// Milliseconds the room outlives its last player (Photon's EmptyRoomTtl). 0: none; capped by
    /// the server as above.
    pub empty_room_ttl_ms: u32,
    /// The room's first custom properties (string or number keys), or NULL. Borrowed for the call.
    pub custom_properties: *const peer_table_t,
    /// `listed_in_lobby_count` names (NUL-terminated UTF-8) of custom properties the lobby lists
    /// (Photon's CustomRoomPropertiesForLobby), or NULL. Borrowed for the call.
    pub listed_in_lobby: *const *const c_char,
    pub listed_in_lobby_count: usize,
}

impl Sized32 for peer_room_options_t {
    /// The first layout ended with `reserved`.
    const MIN_SIZE: usize = 16;
    fn set_size(&mut self, size: u32) {
        self.struct_size = size;
    }
    fn reserved(&self) -> &[u8] {
        &self.reserved
    }
}

fn default_room_options() -> peer_room_options_t {
    peer_room_options_t {
        struct_size: std::mem::size_of::<peer_room_options_t>() as u32,
        max_players: 0,
        is_open: 1,
        is_visible: 1,
        keep_cache_on_leave: 0,
        reserved: [0; 5],
        player_ttl_ms: 0,
        empty_room_ttl_ms: 0,
        custom_properties: ptr::null(),
        listed_in_lobby: ptr::null(),
        listed_in_lobby_count: 0,
    }
}

/// What a realtime client connects to, and how.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct peer_client_config_t {
    /// sizeof(peer_client_config_t) as the host compiled it; peer_client_config_default sets it.
    pub struct_size: u32,
    /// 1: require `master_public_key` of every master (recommended: every game server's key then
    /// comes from the master, encrypted).
    pub pin_master_key: u8,
    /// Must be zero.
    pub reserved: [u8; 3],
    pub master_public_key: [u8; 32],
    /// Settings of the peer underneath (timeouts, queue bounds, protocol version), or NULL for
    /// peer_config_default's. Its callbacks and `user_data` are not used (the client is polled); it
    /// must keep `auto_key_exchange` on and `pin_server_key` off (the client pins each server itself).
    pub peer: *const peer_config_t,
    /// `master_count` master addresses ("host:port", NUL-terminated), 1 to 64: a login tries them in
    /// order until one answers.
    pub masters: *const *const c_char,
    pub master_count: usize,
    /// The application id (1 to 64 bytes, NUL-terminated UTF-8).
    pub app_id: *const c_char,
    /// The game's version (at most 32 bytes), or NULL for the library's.
    pub app_version: *const c_char,
}

impl Sized32 for peer_client_config_t {
    const MIN_SIZE: usize = std::mem::size_of::<peer_client_config_t>();
    fn set_size(&mut self, size: u32) {
        self.struct_size = size;
    }
    fn reserved(&self) -> &[u8] {
        &self.reserved
    }
}

/// What peer_client_poll hands out. Which fields hold data depends on `kind` (PEER_CLIENT_EVENT_*);
/// the others are zero or NULL. Every pointer stays valid until the next peer_client_poll or
/// peer_client_destroy on this client; copy what you keep.
#[repr(C)]
pub struct peer_client_event_t {
    pub kind: u32,
    /// PEER_CLIENT_EVENT_STATE_CHANGED: the new PEER_CLIENT_STATE_*.
    pub state: u32,
    /// PEER_CLIENT_EVENT_STATUS.
    pub status: u32,
    pub status_info: peer_status_info_t,
    /// PEER_CLIENT_EVENT_JOINED: the room's name (NUL-terminated UTF-8), own actor number, and the
    /// actor numbers in the room, ascending. `rejoined` is 1 when the client came back by itself
    /// after losing the connection (the room's PlayerTtl kept its place and actor number).
    pub room: *const c_char,
    pub actor: i32,
    pub rejoined: u8,
    pub actors: *const i32,
    pub actor_count: usize,
    /// PEER_CLIENT_EVENT_FAILED.
    pub op_code: u8,
    pub return_code: i16,
    pub message: *const c_char,
    /// PEER_CLIENT_EVENT_EVENT.
    pub event: peer_event_t,
    /// PEER_CLIENT_EVENT_RESPONSE.
    pub response: peer_operation_response_t,
}

/// A client event with its C-visible data owned here.
struct PolledEvent {
    kind: u32,
    state: u32,
    /// Status, event or response, prepared as for peers.
    peer: Option<Prepared>,
    room: Option<CString>,
    actor: i32,
    rejoined: bool,
    actors: Vec<i32>,
    op_code: u8,
    return_code: i16,
    message: Option<CString>,
}

impl PolledEvent {
    fn new(event: ClientEvent) -> Self {
        let mut polled = PolledEvent {
            kind: 0,
            state: 0,
            peer: None,
            room: None,
            actor: 0,
            rejoined: false,
            actors: Vec::new(),
            op_code: 0,
            return_code: 0,
            message: None,
        };
        match event {
            ClientEvent::StateChanged(state) => {
                polled.kind = PEER_CLIENT_EVENT_STATE_CHANGED;
                polled.state = state as u32;
            }
            ClientEvent::Status(status) => {
                polled.kind = PEER_CLIENT_EVENT_STATUS;
                polled.peer = Some(Prepared::new(PeerEvent::Status(status)));
            }
            ClientEvent::Joined { room, actor, actors, rejoined } => {
                polled.kind = PEER_CLIENT_EVENT_JOINED;
                polled.room = Some(super::dispatch::c_string(room));
                polled.actor = actor;
                polled.rejoined = rejoined;
                polled.actors = actors;
            }
            ClientEvent::Failed { op, return_code, message } => {
                polled.kind = PEER_CLIENT_EVENT_FAILED;
                polled.op_code = op;
                polled.return_code = return_code;
                polled.message = Some(super::dispatch::c_string(message));
            }
            ClientEvent::Event { event, encrypted } => {
                polled.kind = PEER_CLIENT_EVENT_EVENT;
                polled.peer = Some(Prepared::new(PeerEvent::Event { event, encrypted }));
            }
            ClientEvent::Response { response, encrypted } => {
                polled.kind = PEER_CLIENT_EVENT_RESPONSE;
                polled.peer = Some(Prepared::new(PeerEvent::OperationResponse { response, encrypted }));
            }
        }
        polled
    }

    fn view(&self) -> peer_client_event_t {
        let peer = self.peer.as_ref().map(Prepared::polled_view);
        let text = |text: &Option<CString>| text.as_ref().map_or(ptr::null(), |t| t.as_ptr());
        peer_client_event_t {
            kind: self.kind,
            state: self.state,
            status: peer.as_ref().map_or(0, |view| view.status),
            status_info: peer.as_ref().map_or(peer_status_info_t { reason: 0, message: ptr::null() }, |view| {
                peer_status_info_t { reason: view.status_info.reason, message: view.status_info.message }
            }),
            room: text(&self.room),
            actor: self.actor,
            rejoined: u8::from(self.rejoined),
            actors: if self.actors.is_empty() { ptr::null() } else { self.actors.as_ptr() },
            actor_count: self.actors.len(),
            op_code: self.op_code,
            return_code: self.return_code,
            message: text(&self.message),
            event: peer.as_ref().map_or(empty_event(), |view| peer_event_t { ..view.event }),
            response: peer.as_ref().map_or(empty_response(), |view| peer_operation_response_t { ..view.response }),
        }
    }
}

fn empty_event() -> peer_event_t {
    peer_event_t { code: 0, encrypted: 0, sender: 0, params: ptr::null() }
}

fn empty_response() -> peer_operation_response_t {
    peer_operation_response_t {
        op_code: 0,
        encrypted: 0,
        return_code: 0,
        debug_message: ptr::null(),
        params: ptr::null(),
    }
}

pub(super) struct ClientHandle {
    pub(super) client: Mutex<RealtimeClient>,
    /// Set by peer_client_destroy under the `client` lock: a call that looked the handle up just
    /// before it was unregistered finds it set and does nothing.
    destroyed: std::sync::atomic::AtomicBool,
    /// The data of the last polled event, alive until the next poll or destroy.
    polled: Mutex<Option<PolledEvent>>,
}

static CLIENTS: Lazy<Mutex<HashMap<usize, Arc<ClientHandle>>>> = Lazy::new(|| Mutex::new(HashMap::new()));
// Apart from peer handles' range, so that a peer handle passed as a client is refused.
static NEXT_CLIENT: AtomicUsize = AtomicUsize::new(1);

pub(super) fn lookup(client: *const peer_client_t) -> Result<Arc<ClientHandle>, PeerResult> {
    if client.is_null() {
        return Err(PeerResult::NullParameter);
    }
    CLIENTS.lock().get(&(client as usize)).cloned().ok_or(PeerResult::InvalidPeer)
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        let detail = error.to_string();
        let result = match error {
            ClientError::NotNow(_) => PeerResult::WrongState,
            ClientError::NoMaster => PeerResult::InvalidArgument,
            ClientError::Peer(error) => error.into(),
        };
        Failure::new(result, detail)
    }
}

/// Fills `*out_config` with the defaults (no masters, no pin, app id NULL) and sets its
/// `struct_size` to `struct_size`.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_config_default(out_config: *mut peer_client_config_t, struct_size: u32) -> u32 {
    // SAFETY: `struct_size` writable bytes per the contract.
    guard_detailed(|| unsafe { sized::write(out_config, struct_size, default_client_config(), "peer_client_config_t") })
}

/// Fills `*out_options` with the defaults (no limit of its own, open, visible); `struct_size` as for
/// peer_config_default.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_room_options_default(out_options: *mut peer_room_options_t, struct_size: u32) -> u32 {
    // SAFETY: `struct_size` writable bytes per the contract.
    guard_detailed(|| unsafe { sized::write(out_options, struct_size, default_room_options(), "peer_room_options_t") })
}

/// Creates a realtime client. No thread starts until peer_client_connect.
///
/// Ownership: on success `*out_client` is a handle the caller must release with
/// peer_client_destroy. The config and the strings it points at are copied.
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_create(config: *const peer_client_config_t, out_client: *mut *mut peer_client_t) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; `struct_size` readable bytes per the contract.
        let config = unsafe { sized::read(config, default_client_config(), "peer_client_config_t")? };
        // SAFETY: NULL-checked; a writable slot per the contract.
        let out_client = unsafe { borrow_mut(out_client)? };
        let peer = if config.peer.is_null() {
            default_peer_config()
        } else {
            // SAFETY: `struct_size` readable bytes per the contract.
            unsafe { sized::read(config.peer, default_peer_config(), "peer_config_t")? }
        };
        if peer.auto_key_exchange == 0 || peer.pin_server_key != 0 {
            let detail =
                "peer: the client needs auto_key_exchange on and pin_server_key off (pin masters with pin_master_key)";
            return Err(Failure::new(PeerResult::InvalidArgument, detail));
        }
        if config.master_count == 0 || config.master_count > 64 {
            return Err(Failure::new(PeerResult::InvalidArgument, "master_count must be 1 to 64"));
        }
        if config.masters.is_null() {
            return Err(PeerResult::NullParameter.into());
        }
        // SAFETY: non-NULL, with `master_count` entries per the contract.
        let addresses = unsafe { std::slice::from_raw_parts(config.masters, config.master_count) };
        let mut masters = Vec::with_capacity(addresses.len());
        for address in addresses {
            // SAFETY: each entry is a NUL-terminated string per the contract.
            masters.push(unsafe { c_str(*address)? }.to_owned());
        }
        // SAFETY: NUL-terminated strings per the contract; the version may be NULL.
        let app_id = unsafe { c_str(config.app_id)? }.to_owned();
        let app_version = match config.app_version.is_null() {
            true => None,
            // SAFETY: as above.
            false => Some(unsafe { c_str(config.app_version)? }.to_owned()),
        };
        let client = RealtimeClient::new(ClientConfig {
            peer: peer_config(&peer)?,
            masters,
            master_key: (config.pin_master_key != 0).then_some(config.master_public_key),
            app_id,
            app_version,
        });
        let id = 0x8000_0000 + NEXT_CLIENT.fetch_add(1, Ordering::Relaxed) * 16;
        let handle =
            ClientHandle { client: Mutex::new(client), destroyed: Default::default(), polled: Mutex::new(None) };
        CLIENTS.lock().insert(id, Arc::new(handle));
        *out_client = id as *mut peer_client_t;
        Ok(())
    })
}

fn default_client_config() -> peer_client_config_t {
    peer_client_config_t {
        struct_size: std::mem::size_of::<peer_client_config_t>() as u32,
        pin_master_key: 0,
        reserved: [0; 3],
        master_public_key: [0; 32],
        peer: ptr::null(),
        masters: ptr::null(),
        master_count: 0,
        app_id: ptr::null(),
        app_version: ptr::null(),
    }
}

/// Logs in: connects to the first master that answers and authenticates with `values` (copied; NULL
/// for an anonymous player, where the master allows it). PEER_RESULT_WRONG_STATE unless the client
/// is created or disconnected.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_connect(client: *mut peer_client_t, values: *const peer_auth_values_t) -> u32 {
    guard_detailed(|| {
        let handle = lookup(client)?;
        // SAFETY: NULL is allowed; otherwise live values per the contract.
        let values = unsafe { values.as_ref() }.map_or_else(|| AuthValues::new(AuthType::None), |v| v.values.clone());
        let result = handle.client.lock().connect(values);
        Ok(result?)
    })
}

/// A request for room `name` of `mode` with the options a host passed (the defaults for NULL).
///
/// # Safety
/// `options` is NULL or points at `struct_size` readable bytes, whose pointers are NULL or valid
/// per peer_room_options_t.
unsafe fn room_request(
    name: Option<&str>,
    mode: JoinMode,
    options: *const peer_room_options_t,
) -> Result<RoomRequest, Failure> {
    let mut request = RoomRequest::new(name.map(str::to_owned), Some(mode), RoomOptions::default());
    if options.is_null() {
        return Ok(request);
    }
    // SAFETY: per this function's contract (`struct_size` readable bytes).
    let options = unsafe { sized::read(options, default_room_options(), "peer_room_options_t")? };
    if options.is_open > 1 || options.is_visible > 1 || options.keep_cache_on_leave > 1 {
        return Err(Failure::new(
            PeerResult::InvalidArgument,
            "is_open, is_visible and keep_cache_on_leave are 0 or 1",
        ));
    }
    request.options = RoomOptions {
        max_players: options.max_players,
        is_open: options.is_open == 1,
        is_visible: options.is_visible == 1,
    };
    let mut settings = RoomSettings {
        player_ttl_ms: options.player_ttl_ms,
        empty_room_ttl_ms: options.empty_room_ttl_ms,
        cleanup_cache_on_leave: options.keep_cache_on_leave == 0,
        ..RoomSettings::default()
    };
    // SAFETY: NULL or a live table per the contract.
    if let Some(properties) = unsafe { peer_table_t::borrowed(options.custom_properties) } {
        settings.custom_properties = properties.clone();
    }
    if options.listed_in_lobby_count > 0 {
        if options.listed_in_lobby.is_null() {
            return Err(PeerResult::NullParameter.into());
        }
        // SAFETY: non-NULL, with `listed_in_lobby_count` entries per the contract.
        let names = unsafe { std::slice::from_raw_parts(options.listed_in_lobby, options.listed_in_lobby_count) };
        for &name in names {
            // SAFETY: each a NUL-terminated string per the contract.
            settings.listed_in_lobby.push(unsafe { c_str(name)? }.to_owned());
        }
    }
    request.extra = settings.to_extra();
    Ok(request)
}

/// JoinOrCreateRoom: joins `name` (NUL-terminated UTF-8), created with `options` (NULL: the
/// defaults) where the master places it if it does not exist. The client switches to the game server
/// by itself; PEER_CLIENT_EVENT_JOINED or PEER_CLIENT_EVENT_FAILED follows. PEER_RESULT_WRONG_STATE
/// unless connected to a master.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_join_or_create_room(
    client: *mut peer_client_t,
    name: *const c_char,
    options: *const peer_room_options_t,
) -> u32 {
    guard_detailed(|| {
        let handle = lookup(client)?;
        // SAFETY: a NUL-terminated string and NULL-or-readable options per the contract.
        let request = unsafe { room_request(Some(c_str(name)?), JoinMode::CreateIfNotExists, options)? };
        let result = handle.client.lock().request_room(request);
        Ok(result?)
    })
}

/// CreateRoom: as peer_client_join_or_create_room, but fails (PEER_RETURN_CODE_GAME_ID_ALREADY_EXISTS)
/// if the room exists. `name` may be NULL: the master names the room (PEER_CLIENT_EVENT_JOINED says
/// how).
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_create_room(
    client: *mut peer_client_t,
    name: *const c_char,
    options: *const peer_room_options_t,
) -> u32 {
    guard_detailed(|| {
        let handle = lookup(client)?;
        // SAFETY: NULL or a NUL-terminated string, and NULL-or-readable options, per the contract.
        let name = if name.is_null() { None } else { Some(unsafe { c_str(name)? }) };
        // SAFETY: as above.
        let request = unsafe { room_request(name, JoinMode::CreateOnly, options)? };
        let result = handle.client.lock().request_room(request);
        Ok(result?)
    })
}

/// JoinRoom: joins `name`; fails (PEER_RETURN_CODE_GAME_DOES_NOT_EXIST) if it does not exist.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_join_room(client: *mut peer_client_t, name: *const c_char) -> u32 {
    guard_detailed(|| {
        let handle = lookup(client)?;
        // SAFETY: a NUL-terminated string per the contract.
        let name = unsafe { c_str(name)? };
        let result = handle.client.lock().join_room(name);
        Ok(result?)
    })
}

/// JoinRandomRoom: an open, visible room with space; PEER_RETURN_CODE_NO_RANDOM_MATCH_FOUND if none.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_join_random_room(client: *mut peer_client_t) -> u32 {
    guard_detailed(|| {
        let result = lookup(client)?.client.lock().join_random_room();
        Ok(result?)
    })
}

/// Leaves the room; the client goes back to the master with its token
/// (PEER_CLIENT_STATE_CONNECTED_TO_MASTER_SERVER follows). PEER_RESULT_WRONG_STATE unless joined.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_leave_room(client: *mut peer_client_t) -> u32 {
    guard_detailed(|| {
        let result = lookup(client)?.client.lock().leave_room();
        Ok(result?)
    })
}

/// Sends any other operation (`params` borrowed for the call; NULL for none) on the current
/// connection, with `options` (NULL: reliable, in clear); its response comes as
/// PEER_CLIENT_EVENT_RESPONSE.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_send_operation(
    client: *mut peer_client_t,
    op_code: u8,
    params: *const peer_params_t,
    options: *const peer_send_options_t,
) -> u32 {
    guard_detailed(|| {
        let handle = lookup(client)?;
        // SAFETY: NULL or a live dictionary, and NULL-or-sized options, per the contract.
        let (params, options) = unsafe { (params.as_ref(), send_options(options)?) };
        let empty = crate::protocol::codec::Params::new();
        let result = handle.client.lock().send_operation(op_code, params.map_or(&empty, |p| &p.params), options);
        Ok(result?)
    })
}

/// Writes the client's own actor number in its room to `*out_actor`. PEER_RESULT_WRONG_STATE when it
/// is not in a room.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_actor_number(client: *const peer_client_t, out_actor: *mut i32) -> u32 {
    guard(|| {
        let actor = lookup(client)?.client.lock().actor().ok_or(PeerResult::WrongState)?;
        // SAFETY: NULL-checked; writable per the contract.
        *unsafe { borrow_mut(out_actor)? } = actor;
        Ok(())
    })
}

/// Copies the name of the client's room, NUL-terminated, into `buffer` of `capacity` bytes and its
/// length (without the NUL) to `*out_len`. PEER_RESULT_BUFFER_TOO_SMALL (with `*out_len` set) when it
/// does not fit; PEER_RESULT_WRONG_STATE when the client is not in a room.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_room_name(
    client: *const peer_client_t,
    buffer: *mut c_char,
    capacity: usize,
    out_len: *mut usize,
) -> u32 {
    guard(|| {
        let handle = lookup(client)?;
        let name = handle.client.lock().room().map(str::to_owned).ok_or(PeerResult::WrongState)?;
        // SAFETY: NULL-checked; writable per the contract.
        let out_len = unsafe { borrow_mut(out_len)? };
        *out_len = name.len();
        if buffer.is_null() || capacity <= name.len() {
            return Err(PeerResult::BufferTooSmall);
        }
        // SAFETY: `capacity` writable bytes per the contract, more than the name and its NUL.
        unsafe {
            ptr::copy_nonoverlapping(name.as_ptr().cast::<c_char>(), buffer, name.len());
            *buffer.add(name.len()) = 0;
        }
        Ok(())
    })
}

/// Moves the client on and takes the next thing that happened into `*out_event`, or returns
/// PEER_RESULT_NO_EVENT. Pointers inside `*out_event` stay valid until the next peer_client_poll or
/// peer_client_destroy on this client. Call it every frame (or after peer_client_wait).
///
/// Thread: one thread at a time.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_poll(client: *mut peer_client_t, out_event: *mut peer_client_event_t) -> u32 {
    guard(|| {
        let handle = lookup(client)?;
        // SAFETY: NULL-checked; writable per the contract.
        let out = unsafe { borrow_mut(out_event)? };
        // Held until the event is in place, so a destroy on another thread comes before this or after.
        let mut client = handle.client.lock();
        if handle.destroyed.load(Ordering::Acquire) {
            return Err(PeerResult::InvalidPeer);
        }
        let event = client.service().ok_or(PeerResult::NoEvent)?;
        let mut slot = handle.polled.lock();
        *out = slot.insert(PolledEvent::new(event)).view();
        Ok(())
    })
}

/// Blocks until the client may have something for peer_client_poll, or `timeout_ms` pass. Returns
/// PEER_RESULT_OK or PEER_RESULT_TIMED_OUT (poll either way), or PEER_RESULT_NOT_CONNECTED at once
/// when nothing can arrive.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_wait(client: *mut peer_client_t, timeout_ms: u32) -> u32 {
    guard(|| {
        let handle = lookup(client)?;
        // Waits on the peer without holding the client, so state reads and a destroy on other
        // threads go on meanwhile (a destroy ends the wait).
        let Some(peer) = handle.client.lock().peer_to_wait_on() else { return Ok(()) };
        match peer.wait(Duration::from_millis(timeout_ms.into())) {
            WaitOutcome::Ready => Ok(()),
            WaitOutcome::TimedOut => Err(PeerResult::TimedOut),
            WaitOutcome::NotConnected => Err(PeerResult::NotConnected),
        }
    })
}

/// Writes the client's PEER_CLIENT_STATE_* to `*out_state`.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_state(client: *const peer_client_t, out_state: *mut u32) -> u32 {
    guard(|| {
        let state = lookup(client)?.client.lock().state() as u32;
        // SAFETY: NULL-checked; writable per the contract.
        *unsafe { borrow_mut(out_state)? } = state;
        Ok(())
    })
}

/// Copies the 32-byte static public key of the server the client is connected to (the master, or the
/// game server it switched to) into `out_key`. PEER_RESULT_ENCRYPTION_NOT_ESTABLISHED before a key
/// exchange, as for peer_server_public_key.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_server_public_key(client: *const peer_client_t, out_key: *mut u8) -> u32 {
    guard(|| {
        let key =
            lookup(client)?.client.lock().peer().server_public_key().ok_or(PeerResult::EncryptionNotEstablished)?;
        if out_key.is_null() {
            return Err(PeerResult::NullParameter);
        }
        // SAFETY: NULL-checked; 32 writable bytes per the contract.
        unsafe { ptr::copy_nonoverlapping(key.as_ptr(), out_key, key.len()) };
        Ok(())
    })
}

/// Disconnects and stays disconnected (PEER_CLIENT_STATE_DISCONNECTED follows).
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_disconnect(client: *mut peer_client_t) -> u32 {
    guard(|| {
        lookup(client)?.client.lock().disconnect();
        Ok(())
    })
}

/// Disconnects, stops the client's thread and frees it. When it returns no thread of it remains; the
/// handle is invalid and further calls with it return PEER_RESULT_INVALID_PEER. The data of the last
/// polled event is freed too: a host that destroys on one thread must not be reading that event on
/// another.
///
/// Thread: any thread; a call on another thread at the same time finishes first, and a
/// peer_client_wait ends.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_destroy(client: *mut peer_client_t) -> u32 {
    guard(|| {
        if client.is_null() {
            return Err(PeerResult::NullParameter);
        }
        let handle = CLIENTS.lock().remove(&(client as usize)).ok_or(PeerResult::InvalidPeer)?;
        let client = handle.client.lock();
        handle.destroyed.store(true, Ordering::Release);
        client.peer().shutdown();
        *handle.polled.lock() = None;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::ClientState;

    #[test]
    fn client_states_have_the_clients_numbers() {
        assert_eq!(PEER_CLIENT_STATE_PEER_CREATED, ClientState::PeerCreated as u32);
        assert_eq!(PEER_CLIENT_STATE_AUTHENTICATING, ClientState::Authenticating as u32);
        assert_eq!(
            PEER_CLIENT_STATE_DISCONNECTING_FROM_MASTER_SERVER,
            ClientState::DisconnectingFromMasterServer as u32
        );
        assert_eq!(PEER_CLIENT_STATE_CONNECTING_TO_GAME_SERVER, ClientState::ConnectingToGameServer as u32);
        assert_eq!(PEER_CLIENT_STATE_CONNECTED_TO_GAME_SERVER, ClientState::ConnectedToGameServer as u32);
        assert_eq!(PEER_CLIENT_STATE_JOINING, ClientState::Joining as u32);
        assert_eq!(PEER_CLIENT_STATE_JOINED, ClientState::Joined as u32);
        assert_eq!(PEER_CLIENT_STATE_LEAVING, ClientState::Leaving as u32);
        assert_eq!(PEER_CLIENT_STATE_DISCONNECTING_FROM_GAME_SERVER, ClientState::DisconnectingFromGameServer as u32);
        assert_eq!(PEER_CLIENT_STATE_CONNECTING_TO_MASTER_SERVER, ClientState::ConnectingToMasterServer as u32);
        assert_eq!(PEER_CLIENT_STATE_DISCONNECTING, ClientState::Disconnecting as u32);
        assert_eq!(PEER_CLIENT_STATE_DISCONNECTED, ClientState::Disconnected as u32);
        assert_eq!(PEER_CLIENT_STATE_CONNECTED_TO_MASTER_SERVER, ClientState::ConnectedToMasterServer as u32);
    }
}
