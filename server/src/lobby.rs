//! The lobby of a master, or of a server of role "all": players who join it (JoinLobby, 229) get the
//! list of visible rooms at once (GameList, 230), then what changed (GameListUpdate, 229), at most once
//! every `limits.lobby_update_interval_ms`. A room's entry gives its MaxPlayers, IsOpen, player count
//! and the properties it lists; a removed room's entry is `{251: true}`. A master reads the rooms from
//! the directory, a server of role "all" from its own rooms, and neither reads them while the lobby is
//! empty: the first player to join wakes the lobby, which reads them then.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sealnet::protocol::codec::{Key, Params, Table, Value};
use sealnet::protocol::message::EventData;
use tokio::sync::watch;

use crate::config::Role;
use crate::rooms::{codes, OutputBudget, Peer};
use crate::server::Shared;

/// The lobby's members and the list as they last got it.
#[derive(Debug, Default)]
pub(crate) struct Lobby {
    state: Mutex<LobbyState>,
    /// A player joined a lobby whose list is not current: read the rooms now.
    wake: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct LobbyState {
    members: BTreeMap<u64, Arc<Peer>>,
    /// Room name to its entry, as last sent.
    listed: BTreeMap<String, Table>,
    /// `listed` follows the rooms (false after the lobby was empty for a refresh: nothing was read).
    current: bool,
}

/// One room as a lobby lists it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListedRoom {
    pub name: String,
    pub max_players: u32,
    pub open: bool,
    pub players: u32,
    pub properties: Table,
}

impl ListedRoom {
    fn entry(&self) -> Table {
        let mut entry = self.properties.clone();
        entry.insert(codes::PROP_MAX_PLAYERS, Value::Int(self.max_players.min(i32::MAX as u32) as i32));
        entry.insert(codes::PROP_IS_OPEN, Value::Bool(self.open));
        entry.insert(codes::PROP_PLAYER_COUNT, Value::Int(self.players.min(i32::MAX as u32) as i32));
        entry
    }
}

fn lock(mutex: &Mutex<LobbyState>) -> std::sync::MutexGuard<'_, LobbyState> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Lobby {
    /// Adds `peer` and queues the whole list for it, or, when the list is not current, has the next
    /// refresh (at once) send it. Returns false if it was in already.
    pub(crate) fn join(&self, peer: &Arc<Peer>, budget: &OutputBudget) -> bool {
        let mut state = lock(&self.state);
        if state.members.insert(peer.id(), peer.clone()).is_some() {
            return false;
        }
        if !state.current {
            self.wake.notify_one();
            return true;
        }
        let list = state.listed.iter().map(|(name, entry)| (name.clone(), entry.clone()));
        let body = encode(codes::EVENT_GAME_LIST, list);
        crate::rooms::offer_system_event(peer, body, budget);
        true
    }

    /// Removes the connection `id`; returns whether it was in.
    pub(crate) fn leave(&self, id: u64) -> bool {
        lock(&self.state).members.remove(&id).is_some()
    }

    pub(crate) fn member_count(&self) -> usize {
        lock(&self.state).members.len()
    }

    /// Stops following the rooms while nobody is in the lobby.
    fn forget(&self) {
        let mut state = lock(&self.state);
        state.listed.clear();
        state.current = false;
    }

    /// Takes `rooms` as the list now and sends the members what changed, if anything did; after the
    /// list was not current, the whole list.
    pub(crate) fn refresh(&self, rooms: Vec<ListedRoom>, budget: &OutputBudget) {
        let now: BTreeMap<String, Table> = rooms.iter().map(|room| (room.name.clone(), room.entry())).collect();
        let mut state = lock(&self.state);
        if !state.current {
            let body = encode(codes::EVENT_GAME_LIST, now.iter().map(|(name, entry)| (name.clone(), entry.clone())));
            for peer in state.members.values() {
                crate::rooms::offer_system_event(peer, body.clone(), budget);
            }
            state.listed = now;
            state.current = true;
            return;
        }
        let mut changes: Vec<(String, Table)> = now
            .iter()
            .filter(|(name, entry)| state.listed.get(*name) != Some(*entry))
            .map(|(name, entry)| (name.clone(), entry.clone()))
            .collect();
        let removed = Table::from_iter([(Key::Byte(codes::PROP_REMOVED), Value::Bool(true))]);
        changes.extend(
            state.listed.keys().filter(|name| !now.contains_key(*name)).map(|name| (name.clone(), removed.clone())),
        );
        state.listed = now;
        if changes.is_empty() || state.members.is_empty() {
            return;
        }
        let body = encode(codes::EVENT_GAME_LIST_UPDATE, changes.into_iter());
        for peer in state.members.values() {
            crate::rooms::offer_system_event(peer, body.clone(), budget);
        }
    }
}

fn encode(code: u8, rooms: impl Iterator<Item = (String, Table)>) -> Arc<[u8]> {
    let list: Table = rooms.map(|(name, entry)| (Key::String(name), Value::Table(entry))).collect();
    let mut params = Params::new();
    params.insert(codes::GAME_LIST, Value::Table(list));
    let mut body = Vec::new();
    EventData { code, sender: 0, params }.encode(&mut body);
    body.into()
}

/// Refreshes the lobby every interval until `stop`, while it has members, and at once when a player
/// joins a lobby whose list is not current.
pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let interval = Duration::from_millis(shared.config.limits.lobby_update_interval_ms);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shared.lobby.wake.notified() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        if shared.lobby.member_count() == 0 {
            shared.lobby.forget();
            continue;
        }
        let Some(rooms) = visible_rooms(&shared).await else { continue };
        shared.lobby.refresh(rooms, &shared.output_budget);
    }
}

/// The visible rooms, at most `limits.max_lobby_rooms` of them (by name); `None` while the directory
/// cannot be read.
async fn visible_rooms(shared: &Shared) -> Option<Vec<ListedRoom>> {
    let mut rooms: Vec<ListedRoom> = match (&shared.config.role, &shared.directory) {
        (Role::Master, Some(directory)) => match directory.visible_rooms().await {
            Ok(rooms) => rooms
                .into_iter()
                .map(|room| ListedRoom {
                    properties: room.listed_properties(),
                    name: room.name,
                    max_players: room.max_players,
                    open: room.open,
                    players: room.players,
                })
                .collect(),
            Err(problem) => {
                tracing::debug!(%problem, "lobby not refreshed");
                return None;
            }
        },
        _ => shared
            .rooms
            .snapshot()
            .into_iter()
            .filter(|room| room.options.is_visible)
            .map(|room| ListedRoom {
                name: room.name,
                max_players: room.options.max_players,
                open: room.options.is_open,
                players: room.players as u32,
                properties: room.listed,
            })
            .collect(),
    };
    rooms.sort_by(|a, b| a.name.cmp(&b.name));
    rooms.truncate(shared.config.limits.max_lobby_rooms);
    Some(rooms)
}
