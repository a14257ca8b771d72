//! A room as a plugin sees it in a lifecycle hook: what is in it, and what the plugin may do there:
//! send events to chosen actors, and set timers that call it back for this room.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::{Params, Table};
use sealnet::protocol::message::EventData;

use super::{lock, system_event_options, Delivered, RelayedEvent, Room};
use crate::plugin::Plugin;

/// Timers one room may have pending, over all plugins: a plugin that sets more is refused.
pub const MAX_TIMERS_PER_ROOM: usize = 64;

/// Why a timer was not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerError {
    /// The room has [`MAX_TIMERS_PER_ROOM`] timers pending.
    TooMany,
    /// Not called from the server's event loops (timers run there).
    NoRuntime,
}

/// One room, seen by one plugin. Valid for the hook call it is passed to; the methods take the room's
/// lock briefly, so a hook may call them, but must not keep the handle.
#[derive(Clone, Copy)]
pub struct RoomHandle<'a> {
    room: &'a Arc<Room>,
    plugin: &'a Arc<dyn Plugin>,
}

impl<'a> RoomHandle<'a> {
    pub(crate) fn new(room: &'a Arc<Room>, plugin: &'a Arc<dyn Plugin>) -> Self {
        RoomHandle { room, plugin }
    }

    pub fn name(&self) -> &str {
        &self.room.name
    }

    /// The members' actor numbers, ascending.
    pub fn actors(&self) -> Vec<i32> {
        lock(&self.room.state).members.keys().copied().collect()
    }

    /// The master client's actor number (0 once the room is empty).
    pub fn master(&self) -> i32 {
        lock(&self.room.state).master
    }

    /// The room's properties, built-in and custom.
    pub fn properties(&self) -> Table {
        lock(&self.room.state).room_properties()
    }

    /// A member's properties, if it is in the room.
    pub fn player_properties(&self, actor: i32) -> Option<Table> {
        lock(&self.room.state).players.get(&actor).cloned()
    }

    /// Sends an event from the server (sender 0) to `actors` (`None`: every member), Reliable on
    /// channel 0, encrypted to each member with keys; a member without keys gets it in clear when it
    /// fits the clear-frame limit. Returns how many it was queued for.
    pub fn send_event(&self, actors: Option<&[i32]>, code: u8, params: Params) -> usize {
        let event = EventData { code, sender: 0, params };
        let needs_version = event.params.required_version();
        let mut body = Vec::new();
        event.encode(&mut body);
        let event = RelayedEvent { body: body.into(), needs_version, relayed_at: Instant::now() };
        let state = lock(&self.room.state);
        let mut queued = 0;
        let recipients: Vec<_> = match actors {
            Some(actors) => actors.iter().filter_map(|actor| state.members.get(actor)).collect(),
            None => state.members.values().collect(),
        };
        for peer in recipients {
            if self.room.deliver(peer, &event, system_event_options(peer)) == Delivered::Queued {
                self.room.budget.charge(event.body.len());
                queued += 1;
            }
        }
        queued
    }

    /// Calls the plugin's [`Plugin::on_timer`] for this room with `timer` once, `after` from now,
    /// unless the room is closed by then.
    pub fn set_timer(&self, after: Duration, timer: u64) -> Result<(), TimerError> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return Err(TimerError::NoRuntime) };
        let pending = &self.room.timers;
        if pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                (count < MAX_TIMERS_PER_ROOM).then_some(count + 1)
            })
            .is_err()
        {
            return Err(TimerError::TooMany);
        }
        let room = Arc::downgrade(self.room);
        let plugin = self.plugin.clone();
        runtime.spawn(async move {
            tokio::time::sleep(after).await;
            let Some(room) = room.upgrade() else { return };
            room.timers.fetch_sub(1, Ordering::AcqRel);
            if !room.is_closed() {
                plugin.on_timer(&RoomHandle::new(&room, &plugin), timer);
            }
        });
        Ok(())
    }
}

impl std::fmt::Debug for RoomHandle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomHandle").field("room", &self.room.name).field("plugin", &self.plugin.name()).finish()
    }
}
