//! The directory of a single process (`role = "all"`), with the same expiry rules as on Redis.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::{GameServerEntry, Heartbeat, Reservation, RoomEntry};

#[derive(Default)]
pub struct MemoryDirectory {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    servers: HashMap<String, (GameServerEntry, Instant)>,
    rooms: HashMap<String, (RoomEntry, Instant)>,
}

impl State {
    /// Forgets what expired.
    fn prune(&mut self, now: Instant) {
        self.servers.retain(|_, (_, until)| *until > now);
        self.rooms.retain(|_, (_, until)| *until > now);
    }
}

impl MemoryDirectory {
    pub fn heartbeat(&self, beat: &Heartbeat<'_>, ttl: Duration) {
        let now = Instant::now();
        let until = now + ttl;
        let mut state = self.state.lock();
        state.prune(now);
        if let Some(server) = beat.server {
            state.servers.insert(server.id.clone(), (server.clone(), until));
        }
        for room in beat.rooms {
            state.rooms.insert(room.name.clone(), (room.clone(), until));
        }
        if let Some(server) = beat.server {
            for name in beat.gone {
                if state.rooms.get(name).is_some_and(|(room, _)| room.game_server == server.id) {
                    state.rooms.remove(name);
                }
            }
        }
    }

    pub fn withdraw(&self, server_id: &str, rooms: &[String]) {
        let mut state = self.state.lock();
        state.servers.remove(server_id);
        for name in rooms {
            if state.rooms.get(name).is_some_and(|(room, _)| room.game_server == server_id) {
                state.rooms.remove(name);
            }
        }
    }

    pub fn game_servers(&self) -> Vec<GameServerEntry> {
        let mut state = self.state.lock();
        state.prune(Instant::now());
        state.servers.values().map(|(entry, _)| entry.clone()).collect()
    }

    pub fn game_server(&self, id: &str) -> Option<GameServerEntry> {
        let mut state = self.state.lock();
        state.prune(Instant::now());
        state.servers.get(id).map(|(entry, _)| entry.clone())
    }

    pub fn room(&self, name: &str) -> Option<RoomEntry> {
        let mut state = self.state.lock();
        state.prune(Instant::now());
        state.rooms.get(name).map(|(entry, _)| entry.clone())
    }

    pub fn reserve(&self, entry: &RoomEntry, ttl: Duration) -> Reservation {
        let now = Instant::now();
        let mut state = self.state.lock();
        state.prune(now);
        if let Some((existing, _)) = state.rooms.get(&entry.name) {
            return Reservation::Exists(existing.clone());
        }
        state.rooms.insert(entry.name.clone(), (entry.clone(), now + ttl));
        Reservation::Reserved
    }

    pub fn visible_rooms(&self) -> Vec<RoomEntry> {
        let mut state = self.state.lock();
        state.prune(Instant::now());
        state.rooms.values().map(|(entry, _)| entry).filter(|entry| entry.visible).cloned().collect()
    }

    pub fn random_room(&self) -> Option<RoomEntry> {
        let mut state = self.state.lock();
        state.prune(Instant::now());
        // HashMap order differs per process and per table, which is all the randomness matchmaking
        // needs here; each room is checked against its game server being alive.
        let servers = &state.servers;
        state
            .rooms
            .values()
            .map(|(entry, _)| entry)
            .find(|entry| {
                // A draining server's listener is closed: its rooms take nobody new.
                entry.joinable_at_random()
                    && servers.get(&entry.game_server).is_some_and(|(server, _)| !server.draining)
            })
            .cloned()
    }
}
