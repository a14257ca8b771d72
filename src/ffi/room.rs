//! `peer_client_*` calls about the room the client is in (events to chosen receivers, properties,
//! interest groups, the room's view) and the lobby. Thin, as the rest of the client's ABI: the
//! realtime client keeps the view and builds the operations; this layer converts and copies.

use std::ptr;

use super::boundary::{borrow_mut, byte_slice, guard, guard_detailed, Failure};
use super::client::{lookup, peer_client_t};
use super::peer::send_options;
use super::result::PeerResult;
use super::sized::{self, Sized32};
use super::types::peer_send_options_t;
use super::values::{checked, owned, peer_table_t, peer_value_t};
use crate::protocol::codec::{Key, Table, Value};
use crate::realtime::{RaiseEventOptions, RoomView};
use crate::rooms;

/// Who a raised event reaches and what it does to the room's event cache (Photon's
/// RaiseEventOptions). Fill it with peer_raise_event_options_default. Grows like peer_config_t.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct peer_raise_event_options_t {
    /// sizeof(peer_raise_event_options_t) as the host compiled it.
    pub struct_size: u32,
    /// PEER_RECEIVERS_* (default PEER_RECEIVERS_OTHERS); ignored when `target_actors` is set.
    pub receivers: u8,
    /// Only the players subscribed to this interest group (peer_client_change_groups), within the
    /// receivers; 0 (the default): no group.
    pub interest_group: u8,
    /// PEER_EVENT_CACHE_* (default PEER_EVENT_CACHE_NONE).
    pub cache: u8,
    /// Must be zero.
    pub reserved: u8,
    /// `target_actor_count` actor numbers the event reaches instead of the receivers (or, with
    /// PEER_EVENT_CACHE_REMOVE, whose cached events leave the cache); NULL for none. Borrowed for
    /// the call.
    pub target_actors: *const i32,
    pub target_actor_count: usize,
}

impl Sized32 for peer_raise_event_options_t {
    const MIN_SIZE: usize = std::mem::size_of::<peer_raise_event_options_t>();
    fn set_size(&mut self, size: u32) {
        self.struct_size = size;
    }
    fn reserved(&self) -> &[u8] {
        std::slice::from_ref(&self.reserved)
    }
}

const _: () = assert!(
    std::mem::size_of::<peer_raise_event_options_t>() == 4 + 4 + 2 * std::mem::size_of::<usize>(),
    "no padding"
);

fn default_raise_event_options() -> peer_raise_event_options_t {
    peer_raise_event_options_t {
        struct_size: std::mem::size_of::<peer_raise_event_options_t>() as u32,
        receivers: rooms::RECEIVERS_OTHERS as u8,
        interest_group: 0,
        cache: rooms::CACHE_NONE,
        reserved: 0,
        target_actors: ptr::null(),
        target_actor_count: 0,
    }
}

/// Fills `*out_options` with the defaults (to the others, no group, no cache); `struct_size` as for
/// peer_config_default.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_raise_event_options_default(
    out_options: *mut peer_raise_event_options_t,
    struct_size: u32,
) -> u32 {
    // SAFETY: `struct_size` writable bytes per the contract.
    guard_detailed(|| unsafe {
        sized::write(out_options, struct_size, default_raise_event_options(), "peer_raise_event_options_t")
    })
}

/// The raise options a host passed (the defaults for NULL).
///
/// # Safety
/// `options` is NULL or points at `struct_size` readable bytes whose `target_actors` is NULL or
/// holds `target_actor_count` actor numbers.
unsafe fn raise_options(options: *const peer_raise_event_options_t) -> Result<RaiseEventOptions, Failure> {
    if options.is_null() {
        return Ok(RaiseEventOptions::default());
    }
    // SAFETY: per this function's contract.
    let options = unsafe { sized::read(options, default_raise_event_options(), "peer_raise_event_options_t")? };
    let receivers = i32::from(options.receivers);
    if ![rooms::RECEIVERS_OTHERS, rooms::RECEIVERS_ALL, rooms::RECEIVERS_MASTER_CLIENT].contains(&receivers) {
        return Err(Failure::new(PeerResult::InvalidArgument, "receivers must be a PEER_RECEIVERS_* value"));
    }
    let caches = [rooms::CACHE_NONE, rooms::CACHE_ADD, rooms::CACHE_REMOVE, rooms::CACHE_REMOVE_OF_ACTORS_LEFT];
    if !caches.contains(&options.cache) {
        return Err(Failure::new(PeerResult::InvalidArgument, "cache must be a PEER_EVENT_CACHE_* value"));
    }
    // SAFETY: per this function's contract.
    let targets = unsafe { actor_slice(options.target_actors, options.target_actor_count)? };
    Ok(RaiseEventOptions {
        receivers,
        target_actors: targets.to_vec(),
        interest_group: options.interest_group,
        cache: options.cache,
    })
}

/// # Safety
/// `actors` is NULL with `count` 0, or holds `count` readable actor numbers.
unsafe fn actor_slice<'a>(actors: *const i32, count: usize) -> Result<&'a [i32], PeerResult> {
    if count == 0 {
        return Ok(&[]);
    }
    if actors.is_null() {
        return Err(PeerResult::NullParameter);
    }
    // SAFETY: non-NULL with `count` elements per the contract.
    Ok(unsafe { std::slice::from_raw_parts(actors, count) })
}

/// Raises event `code` (0 to 199) with `data` (copied; NULL for none) to the others in the room, sent
/// with `options` (NULL: reliable, in clear). PEER_RESULT_WRONG_STATE unless joined.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_raise_event(
    client: *mut peer_client_t,
    code: u8,
    data: *const peer_value_t,
    options: *const peer_send_options_t,
) -> u32 {
    peer_client_raise_event_with(client, code, data, ptr::null(), options)
}

/// As peer_client_raise_event, to the receivers, actors or interest group `raise` names (NULL: the
/// others), or adding it to the room's event cache or removing cached events (see
/// PEER_EVENT_CACHE_*). PEER_RESULT_INVALID_ARGUMENT for an unknown receivers or cache value.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_raise_event_with(
    client: *mut peer_client_t,
    code: u8,
    data: *const peer_value_t,
    raise: *const peer_raise_event_options_t,
    options: *const peer_send_options_t,
) -> u32 {
    guard_detailed(|| {
        let handle = lookup(client)?;
        if i32::from(code) > rooms::MAX_CLIENT_EVENT_CODE {
            return Err(Failure::new(PeerResult::InvalidArgument, "event codes are 0 to 199"));
        }
        // SAFETY: NULL or a valid value, NULL-or-sized options, per the contract.
        let data = match unsafe { data.as_ref() } {
            None => Value::Null,
            // SAFETY: as above.
            Some(view) => checked(unsafe { owned(view)? })?,
        };
        // SAFETY: as above.
        let (raise, options) = unsafe { (raise_options(raise)?, send_options(options)?) };
        let result = handle.client.lock().raise_event_with(code, data, &raise, options);
        Ok(result?)
    })
}

/// # Safety
/// `table` is NULL or a live table.
unsafe fn table_copy(table: *const peer_table_t) -> Option<Table> {
    // SAFETY: per this function's contract.
    unsafe { peer_table_t::borrowed(table) }.cloned()
}

/// Sets properties of the room: each key of `changes` (borrowed for the call; a NULL value removes
/// the key) takes its value. With `expected` (NULL: none), only if those keys have those values now
/// (compare-and-set); otherwise nothing changes and a PEER_CLIENT_EVENT_RESPONSE of op code 252
/// carries PEER_RETURN_CODE_PROPERTIES_CONFLICT. A change reaches every player, this one too, as a
/// PEER_EVENT_CODE_PROPERTIES_CHANGED event, which the client's room view follows. Byte keys are
/// the server's (PEER_ROOM_PROP_*): IS_OPEN, IS_VISIBLE, MAX_PLAYERS and MASTER_CLIENT_ID may be set.
/// PEER_RESULT_WRONG_STATE unless joined.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_set_room_properties(
    client: *mut peer_client_t,
    changes: *const peer_table_t,
    expected: *const peer_table_t,
) -> u32 {
    set_properties(client, None, changes, expected)
}

/// As peer_client_set_room_properties, for the properties of player `actor` (this client's own, or
/// another's; at least 1, else PEER_RESULT_INVALID_ARGUMENT). Its Byte keys (PEER_PLAYER_PROP_*)
/// are read-only.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_set_player_properties(
    client: *mut peer_client_t,
    actor: i32,
    changes: *const peer_table_t,
    expected: *const peer_table_t,
) -> u32 {
    if actor < 1 {
        let detail = "actor numbers start at 1 (peer_client_set_room_properties sets the room's)";
        return guard_detailed(|| Err(Failure::new(PeerResult::InvalidArgument, detail)));
    }
    set_properties(client, Some(actor), changes, expected)
}

/// The room's properties (`actor` None) or a player's.
fn set_properties(
    client: *mut peer_client_t,
    actor: Option<i32>,
    changes: *const peer_table_t,
    expected: *const peer_table_t,
) -> u32 {
    guard_detailed(|| {
        let handle = lookup(client)?;
        // SAFETY: live tables per the contract (`changes` NULL-checked here).
        let changes = unsafe { table_copy(changes) }.ok_or(PeerResult::NullParameter)?;
        // SAFETY: as above.
        let expected = unsafe { table_copy(expected) };
        let mut client = handle.client.lock();
        let result = match actor {
            None => client.set_room_properties(changes, expected),
            Some(actor) => client.set_player_properties(actor, changes, expected),
        };
        Ok(result?)
    })
}

/// Hands the master client role to `actor`, compared and set against the master this client knows,
/// so two players handing it over at once cannot both win. Everyone sees the change as a
/// PEER_EVENT_CODE_PROPERTIES_CHANGED event of PEER_ROOM_PROP_MASTER_CLIENT_ID.
/// PEER_RESULT_WRONG_STATE unless joined.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_set_master_client(client: *mut peer_client_t, actor: i32) -> u32 {
    guard_detailed(|| {
        let result = lookup(client)?.client.lock().set_master_client(actor);
        Ok(result?)
    })
}

/// Changes this client's interest groups: leaves the `remove_count` groups of `remove`, then joins the
/// `add_count` groups of `add` (group numbers 1 to 255, borrowed for the call). A NULL list leaves that
/// step out; a non-NULL list with a count of 0 means every group (leave all, or join all).
/// PEER_RESULT_WRONG_STATE unless joined.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_change_groups(
    client: *mut peer_client_t,
    remove: *const u8,
    remove_count: usize,
    add: *const u8,
    add_count: usize,
) -> u32 {
    guard_detailed(|| {
        let handle = lookup(client)?;
        // NULL is "leave the step out", so it is told apart from an empty list before the slice.
        let list = |groups: *const u8, count: usize| -> Result<Option<&[u8]>, PeerResult> {
            if groups.is_null() {
                return if count == 0 { Ok(None) } else { Err(PeerResult::NullParameter) };
            }
            // SAFETY: non-NULL with `count` readable bytes per the contract.
            unsafe { byte_slice(groups, count) }.map(Some)
        };
        let (remove, add) = (list(remove, remove_count)?, list(add, add_count)?);
        let result = handle.client.lock().change_groups(remove, add);
        Ok(result?)
    })
}

/// Joins the lobby at the master: the room list (peer_client_room_list) fills and follows the
/// server's updates, at most about once a second. Joining a room leaves it. PEER_RESULT_WRONG_STATE
/// unless connected to a master.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_join_lobby(client: *mut peer_client_t) -> u32 {
    guard_detailed(|| {
        let result = lookup(client)?.client.lock().join_lobby();
        Ok(result?)
    })
}

/// Leaves the lobby; the room list empties. PEER_RESULT_WRONG_STATE unless connected to a master.
///
/// Thread: the thread that polls this client.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_leave_lobby(client: *mut peer_client_t) -> u32 {
    guard_detailed(|| {
        let result = lookup(client)?.client.lock().leave_lobby();
        Ok(result?)
    })
}

/// Runs `read` on the client's room view; PEER_RESULT_WRONG_STATE when it is not in a room.
fn with_view<T>(client: *const peer_client_t, read: impl FnOnce(&RoomView) -> T) -> Result<T, PeerResult> {
    let handle = lookup(client)?;
    let client = handle.client.lock();
    client.room_view().map(read).ok_or(PeerResult::WrongState)
}

/// Hands `table` to the host through `out`.
fn hand_out(out: *mut *mut peer_table_t, table: Result<Table, PeerResult>) -> Result<(), PeerResult> {
    // SAFETY: NULL-checked; a writable slot per the contract.
    let out = unsafe { borrow_mut(out)? };
    *out = peer_table_t::handed_out(table?);
    Ok(())
}

/// Writes the actor number of the room's master client to `*out_actor`. PEER_RESULT_WRONG_STATE when
/// the client is not in a room.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_master_client(client: *const peer_client_t, out_actor: *mut i32) -> u32 {
    guard(|| {
        let master = with_view(client, |view| view.master)?;
        // SAFETY: NULL-checked; writable per the contract.
        *unsafe { borrow_mut(out_actor)? } = master;
        Ok(())
    })
}

/// Copies the room's properties (custom ones, and the server's under PEER_ROOM_PROP_* keys) as the
/// client last heard them into a new table at `*out_table`. PEER_RESULT_WRONG_STATE when the client
/// is not in a room.
///
/// Ownership: the caller owns the table and frees it with peer_table_free.
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_room_properties(client: *const peer_client_t, out_table: *mut *mut peer_table_t) -> u32 {
    guard(|| hand_out(out_table, with_view(client, |view| view.properties.clone())))
}

/// Copies the actor numbers of the room's players (inactive ones too), ascending, into `out_actors` of
/// `capacity` entries, and their number to `*out_count`. PEER_RESULT_BUFFER_TOO_SMALL (with
/// `*out_count` set) when they do not fit (`out_actors` may be NULL with `capacity` 0 to ask);
/// PEER_RESULT_WRONG_STATE when the client is not in a room.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_players(
    client: *const peer_client_t,
    out_actors: *mut i32,
    capacity: usize,
    out_count: *mut usize,
) -> u32 {
    guard(|| {
        let actors: Vec<i32> = with_view(client, |view| view.players.keys().copied().collect())?;
        // SAFETY: NULL-checked; writable per the contract.
        *unsafe { borrow_mut(out_count)? } = actors.len();
        if actors.is_empty() {
            return Ok(());
        }
        if out_actors.is_null() || capacity < actors.len() {
            return Err(PeerResult::BufferTooSmall);
        }
        // SAFETY: `capacity` writable entries per the contract, at least as many as the actors.
        unsafe { ptr::copy_nonoverlapping(actors.as_ptr(), out_actors, actors.len()) };
        Ok(())
    })
}

/// Copies the properties of player `actor` (custom ones, and the server's under PEER_PLAYER_PROP_*
/// keys: nickname, user id, inactive) into a new table at `*out_table`. PEER_RESULT_NOT_FOUND when no
/// such player is in the room; PEER_RESULT_WRONG_STATE when the client is not in a room.
///
/// Ownership: the caller owns the table and frees it with peer_table_free.
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_player_properties(
    client: *const peer_client_t,
    actor: i32,
    out_table: *mut *mut peer_table_t,
) -> u32 {
    guard(|| {
        let properties = with_view(client, |view| view.players.get(&actor).map(|player| player.properties.clone()))?;
        hand_out(out_table, properties.ok_or(PeerResult::NotFound))
    })
}

/// Copies the lobby's room list into a new table at `*out_table`: each room's name (String key) to a
/// table of what the lobby lists of it: PEER_ROOM_PROP_MAX_PLAYERS, PEER_ROOM_PROP_IS_OPEN,
/// PEER_ROOM_PROP_PLAYER_COUNT and the custom properties it lists. Empty outside the lobby.
///
/// Ownership: the caller owns the table and frees it with peer_table_free.
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_room_list(client: *const peer_client_t, out_table: *mut *mut peer_table_t) -> u32 {
    guard(|| {
        let handle = lookup(client)?;
        let client = handle.client.lock();
        let rooms = client.room_list().rooms.iter();
        let list = rooms.map(|(name, room)| (Key::String(name.clone()), Value::Table(room.properties.clone())));
        hand_out(out_table, Ok(list.collect()))
    })
}

/// Writes 1 to `*out_rejoining` while the client is coming back to its room by itself after losing
/// the connection (within the room's PlayerTtl), else 0. PEER_CLIENT_EVENT_JOINED with `rejoined` 1
/// ends it, or PEER_CLIENT_EVENT_FAILED with PEER_RETURN_CODE_JOIN_FAILED_WITH_REJOINER_NOT_FOUND.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_client_is_rejoining(client: *const peer_client_t, out_rejoining: *mut u8) -> u32 {
    guard(|| {
        let rejoining = lookup(client)?.client.lock().is_rejoining();
        // SAFETY: NULL-checked; writable per the contract.
        *unsafe { borrow_mut(out_rejoining)? } = u8::from(rejoining);
        Ok(())
    })
}
