//! The room as the client knows it: filled from the join answer and kept up to date by the Join,
//! Leave and PropertiesChanged events, so hosts read players, properties and the master client
//! instead of decoding codes 248, 249, 203 and 253 themselves. Also the lobby's room list, kept from
//! GameList and GameListUpdate.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::protocol::codec::{Key, Params, Table, Value};
use crate::protocol::message::EventData;
use crate::rooms;

/// A player of the room.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Player {
    pub actor: i32,
    /// Its properties: custom ones and the server's (255 nickname, 253 user id, 254 inactive).
    pub properties: Table,
}

impl Player {
    /// Its nickname, from authentication.
    pub fn nickname(&self) -> Option<&str> {
        match self.properties.get(&Key::Byte(rooms::PLAYER_PROP_NICKNAME)) {
            Some(Value::String(name)) => Some(name),
            _ => None,
        }
    }

    /// It lost its connection and may rejoin within the room's PlayerTtl.
    pub fn is_inactive(&self) -> bool {
        self.properties.get(&Key::Byte(rooms::PLAYER_PROP_IS_INACTIVE)) == Some(&Value::Bool(true))
    }
}

/// The room the client is in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomView {
    pub name: String,
    /// The client's own actor number.
    pub actor: i32,
    pub master: i32,
    /// The room's properties: custom ones and the server's built-ins (255 MaxPlayers, 254 IsVisible,
    /// 253 IsOpen, 248 master client, 246 PlayerTtl, 245 EmptyRoomTtl).
    pub properties: Table,
    /// The players by actor number, inactive ones too.
    pub players: BTreeMap<i32, Player>,
}

fn int(params: &Params, key: u8) -> Option<i32> {
    match params.get(key) {
        Some(Value::Int(value)) => Some(*value),
        _ => None,
    }
}

fn table(value: Option<&Value>) -> Option<&Table> {
    match value {
        Some(Value::Table(table)) => Some(table),
        _ => None,
    }
}

/// Applies a change as PropertiesChanged gives it: a Null removes its key.
fn merge(properties: &mut Table, changes: &Table) {
    for (key, value) in changes.iter() {
        match value {
            Value::Null => properties.remove(key),
            value => properties.insert(key.clone(), value.clone()),
        };
    }
}

impl RoomView {
    /// The room a join answer describes (`actors` as the answer lists them).
    pub(super) fn from_join_answer(name: String, actor: i32, actors: &[i32], params: &Params) -> RoomView {
        let mut players: BTreeMap<i32, Player> =
            actors.iter().map(|&actor| (actor, Player { actor, properties: Table::new() })).collect();
        for (key, value) in table(params.get(rooms::PLAYER_PROPERTIES)).into_iter().flat_map(Table::iter) {
            if let (Key::Int(actor), Value::Table(properties)) = (key, value) {
                players.insert(*actor, Player { actor: *actor, properties: properties.clone() });
            }
        }
        RoomView {
            name,
            actor,
            master: int(params, rooms::MASTER_CLIENT_ID).unwrap_or(0),
            properties: table(params.get(rooms::ROOM_PROPERTIES)).cloned().unwrap_or_default(),
            players,
        }
    }

    /// Follows a room event (Join, Leave, PropertiesChanged); other events change nothing.
    pub(super) fn apply(&mut self, event: &EventData) {
        let params = &event.params;
        match event.code {
            rooms::EVENT_JOIN => {
                let properties = table(params.get(rooms::PLAYER_PROPERTIES)).cloned().unwrap_or_default();
                self.players.insert(event.sender, Player { actor: event.sender, properties });
            }
            rooms::EVENT_LEAVE => {
                if params.get(rooms::IS_INACTIVE) == Some(&Value::Bool(true)) {
                    if let Some(player) = self.players.get_mut(&event.sender) {
                        player.properties.insert(rooms::PLAYER_PROP_IS_INACTIVE, true);
                    }
                } else {
                    self.players.remove(&event.sender);
                }
                if let Some(master) = int(params, rooms::MASTER_CLIENT_ID) {
                    self.master = master;
                }
            }
            rooms::EVENT_PROPERTIES_CHANGED => {
                let Some(changes) = table(params.get(rooms::PROPERTIES)) else { return };
                match int(params, rooms::TARGET_ACTOR) {
                    Some(0) | None => {
                        merge(&mut self.properties, changes);
                        if let Some(Value::Int(master)) = changes.get(&Key::Byte(rooms::PROP_MASTER_CLIENT_ID)) {
                            self.master = *master;
                        }
                    }
                    Some(actor) => {
                        if let Some(player) = self.players.get_mut(&actor) {
                            merge(&mut player.properties, changes);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether this client is the master client.
    pub fn is_master_client(&self) -> bool {
        self.master == self.actor
    }

    /// How long the server keeps this client's place after its connection is lost (zero: not at all).
    pub fn player_ttl(&self) -> Duration {
        match self.properties.get(&Key::Byte(rooms::PROP_PLAYER_TTL)) {
            Some(Value::Int(ms)) if *ms > 0 => Duration::from_millis(*ms as u64),
            _ => Duration::ZERO,
        }
    }
}

/// One room of the lobby's list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedRoom {
    pub name: String,
    pub players: i32,
    pub max_players: i32,
    pub open: bool,
    /// The properties the room lists in the lobby, and the server's (255, 253, 252).
    pub properties: Table,
}

/// The lobby's room list, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomList {
    pub rooms: BTreeMap<String, ListedRoom>,
}

impl RoomList {
    /// Follows GameList (replacing the list) and GameListUpdate (changing it); returns whether the
    /// event was one of them.
    pub(super) fn apply(&mut self, event: &EventData) -> bool {
        let whole = match event.code {
            rooms::EVENT_GAME_LIST => true,
            rooms::EVENT_GAME_LIST_UPDATE => false,
            _ => return false,
        };
        if whole {
            self.rooms.clear();
        }
        for (key, value) in table(event.params.get(rooms::GAME_LIST)).into_iter().flat_map(Table::iter) {
            let (Key::String(name), Value::Table(entry)) = (key, value) else { continue };
            if entry.get(&Key::Byte(rooms::PROP_REMOVED)) == Some(&Value::Bool(true)) {
                self.rooms.remove(name);
                continue;
            }
            let number = |key: u8| match entry.get(&Key::Byte(key)) {
                Some(Value::Int(value)) => *value,
                _ => 0,
            };
            let room = ListedRoom {
                name: name.clone(),
                players: number(rooms::PROP_PLAYER_COUNT),
                max_players: number(rooms::PROP_MAX_PLAYERS),
                open: entry.get(&Key::Byte(rooms::PROP_IS_OPEN)) != Some(&Value::Bool(false)),
                properties: entry.clone(),
            };
            self.rooms.insert(name.clone(), room);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(code: u8, sender: i32, params: Params) -> EventData {
        EventData { code, sender, params }
    }

    #[test]
    fn the_view_follows_joins_leaves_and_property_changes() {
        let mut answer = Params::new();
        answer.insert(rooms::MASTER_CLIENT_ID, 1);
        let mut players = Table::new();
        players.insert(Key::Int(1), Value::Table(Table::from_iter([(Key::Byte(255), Value::String("ann".into()))])));
        answer.insert(rooms::PLAYER_PROPERTIES, Value::Table(players));
        let mut view = RoomView::from_join_answer("r".into(), 2, &[1, 2], &answer);
        assert_eq!(view.players[&1].nickname(), Some("ann"));
        assert!(!view.is_master_client());

        let mut changed = Params::new();
        changed.insert(rooms::TARGET_ACTOR, 0);
        let changes = Table::from_iter([
            (Key::String("map".into()), Value::Int(3)),
            (Key::Byte(rooms::PROP_MASTER_CLIENT_ID), Value::Int(2)),
        ]);
        changed.insert(rooms::PROPERTIES, Value::Table(changes));
        view.apply(&event(rooms::EVENT_PROPERTIES_CHANGED, 1, changed));
        assert!(view.is_master_client());
        assert_eq!(view.properties.get(&Key::String("map".into())), Some(&Value::Int(3)));

        let mut inactive = Params::new();
        inactive.insert(rooms::IS_INACTIVE, true);
        view.apply(&event(rooms::EVENT_LEAVE, 1, inactive));
        assert!(view.players[&1].is_inactive());
        view.apply(&event(rooms::EVENT_LEAVE, 1, Params::new()));
        assert!(!view.players.contains_key(&1));
    }

    #[test]
    fn the_room_list_follows_the_list_and_its_updates() {
        let entry = |players: i32| {
            Value::Table(Table::from_iter([
                (Key::Byte(rooms::PROP_PLAYER_COUNT), Value::Int(players)),
                (Key::Byte(rooms::PROP_MAX_PLAYERS), Value::Int(4)),
            ]))
        };
        let list = |rooms: Vec<(&str, Value)>| {
            let mut params = Params::new();
            let table: Table = rooms.into_iter().map(|(name, value)| (Key::String(name.into()), value)).collect();
            params.insert(rooms::GAME_LIST, Value::Table(table));
            params
        };
        let mut rooms_seen = RoomList::default();
        assert!(rooms_seen.apply(&event(rooms::EVENT_GAME_LIST, 0, list(vec![("a", entry(1)), ("b", entry(2))]))));
        let removed = Value::Table(Table::from_iter([(Key::Byte(rooms::PROP_REMOVED), Value::Bool(true))]));
        rooms_seen.apply(&event(rooms::EVENT_GAME_LIST_UPDATE, 0, list(vec![("a", entry(3)), ("b", removed)])));
        assert_eq!(rooms_seen.rooms.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(rooms_seen.rooms["a"].players, 3);
        assert!(!rooms_seen.apply(&event(1, 0, Params::new())));
    }
}
