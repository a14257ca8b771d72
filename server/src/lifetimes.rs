//! The timers of room lifetimes: a disconnected player's PlayerTtl, after which it leaves for good,
//! and an empty room's EmptyRoomTtl, after which it closes. Each timer carries the room's generation
//! from when it was set, so a rejoin or a join in the meantime makes it do nothing.

use std::sync::Arc;
use std::time::Duration;

use crate::ops::hooks;
use crate::rooms::{Departure, Room};
use crate::server::Shared;

/// Sets the timers a departure from `room` of `actor` asks for.
pub(crate) fn follow(shared: &Arc<Shared>, room: &Arc<Room>, actor: i32, departure: &Departure) {
    if let Some((after, generation)) = departure.expire_after {
        let (shared, room) = (shared.clone(), room.clone());
        spawn_after(after, async move {
            if let Some(close) = shared.rooms.expire_inactive(&room, actor, generation) {
                close_later(&shared, &room, close);
            } else if room.is_closed() {
                hooks::closed(&shared.plugins, &room);
            }
            tracing::debug!(room = room.name(), actor, "inactive player expired");
        });
    }
    if let Some(close) = departure.close_after {
        close_later(shared, room, close);
    }
}

fn close_later(shared: &Arc<Shared>, room: &Arc<Room>, (after, generation): (Duration, u64)) {
    let (shared, room) = (shared.clone(), room.clone());
    spawn_after(after, async move {
        if shared.rooms.close_if_idle(&room, generation) {
            tracing::debug!(room = room.name(), "empty room closed");
            hooks::closed(&shared.plugins, &room);
        }
    });
}

/// Runs `then` after `after` on the current event loop. Without one (the server is stopping) the
/// timer is not needed: the rooms go with the server.
fn spawn_after(after: Duration, then: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            tokio::time::sleep(after).await;
            then.await;
        });
    }
}
