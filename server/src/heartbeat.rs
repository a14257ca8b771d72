//! A game server's heartbeat: every `cluster.heartbeat_ms` it writes its entry (addresses, public key,
//! load, whether it drains) and its rooms to the directory, and removes the rooms it no longer hosts.
//! When it stops, it withdraws its entry, so masters stop sending players at once instead of after
//! the expiry.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::directory::{Directory, GameServerEntry, Heartbeat, RoomEntry};
use crate::server::Shared;

/// Where clients reach this game server and the key they pin (its id is `Shared::server_id`).
pub(crate) struct Identity {
    pub(crate) address: String,
    pub(crate) public_key: String,
}

/// Beats until `stop` fires, then withdraws.
pub(crate) async fn run(shared: Arc<Shared>, directory: Directory, me: Identity, mut stop: watch::Receiver<bool>) {
    let id = &shared.server_id;
    let cluster = &shared.config.cluster;
    let ttl = Duration::from_millis(cluster.expiry_ms);
    let mut ticks = tokio::time::interval(Duration::from_millis(cluster.heartbeat_ms));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut listed: HashSet<String> = HashSet::new();
    let mut reachable = true;
    tracing::info!(id = %id, address = %me.address, "game server joins the directory");
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.wait_for(|stop| *stop) => break,
        }
        let rooms: Vec<RoomEntry> = shared
            .rooms
            .snapshot()
            .into_iter()
            .map(|room| RoomEntry {
                name: room.name,
                game_server: id.clone(),
                players: room.players as u32,
                max_players: room.max_players as u32,
                open: room.options.is_open,
                visible: room.options.is_visible,
                listed: RoomEntry::encode_listed(&room.listed),
            })
            .collect();
        let entry = GameServerEntry {
            id: id.clone(),
            addresses: BTreeMap::from([("tcp".to_owned(), me.address.clone())]),
            public_key: me.public_key.clone(),
            players: rooms.iter().map(|room| room.players).sum(),
            rooms: rooms.len() as u32,
            draining: !shared.ready.load(Ordering::Relaxed),
        };
        let now: HashSet<String> = rooms.iter().map(|room| room.name.clone()).collect();
        let gone: Vec<String> = listed.difference(&now).cloned().collect();
        let beat = Heartbeat { server: Some(&entry), rooms: &rooms, gone: &gone };
        match directory.heartbeat(&beat, ttl).await {
            Ok(()) => {
                if !reachable {
                    tracing::info!("room directory reachable again");
                }
                reachable = true;
                listed = now;
            }
            // Rooms go on without the directory; matchmaking at the masters waits for it.
            Err(problem) => {
                if reachable {
                    tracing::warn!(%problem, "heartbeat failed: rooms go on, masters cannot place players here");
                }
                reachable = false;
            }
        }
    }
    let rooms: Vec<String> = listed.into_iter().collect();
    match directory.withdraw(id, &rooms).await {
        Ok(()) => tracing::info!(id = %id, "game server left the directory"),
        Err(problem) => tracing::warn!(%problem, "could not leave the directory: the entry expires by itself"),
    }
}
