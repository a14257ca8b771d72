//! Properties of a room and of its players (SetProperties, 252), and the change event every member
//! gets.
//!
//! Clients own the custom keys: any key that is not a Byte. Byte keys are the server's built-ins: a
//! room's are its options (MaxPlayers 255, IsVisible 254, IsOpen 253) and its master client (248),
//! which SetProperties may change with checked values; a player's (nickname 255, user id 253) come
//! from authentication and are read-only. A change is checked as a whole before any of it applies:
//! the expected values (compare-and-set), the built-in values, and the size bound of the result.

use sealnet::protocol::codec::{encoded_value_len, Key, Params, Table, Value};
use sealnet::protocol::message::EventData;
use sealnet::protocol::status::return_code;
use sealnet::rooms::{
    PLAYER_PROP_NICKNAME, PLAYER_PROP_USER_ID, PROP_EMPTY_ROOM_TTL, PROP_IS_OPEN, PROP_IS_VISIBLE,
    PROP_MASTER_CLIENT_ID, PROP_MAX_PLAYERS, PROP_PLAYER_TTL,
};

use super::{codes, Identity, RoomState};

/// Whose properties a SetProperties changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Room,
    Player(i32),
}

/// Why a SetProperties changed nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyError {
    /// An expected value does not match the current one (compare-and-set).
    Conflict { key: Key, current: Option<Value> },
    /// A built-in key with a value of the wrong type or range, or one that cannot be set.
    Invalid(String),
    /// The player is not in the room.
    NoSuchPlayer(i32),
    /// The properties would exceed their size bound.
    TooLarge { size: usize, max: usize },
}

impl PropertyError {
    /// The return code and message the client gets.
    pub fn answer(&self) -> (i16, String) {
        match self {
            PropertyError::Conflict { key, current } => {
                let current = match current {
                    Some(value) => format!("it is a {}", value.type_name()),
                    None => "it is not set".to_owned(),
                };
                let message =
                    format!("expected value of property {} does not match ({current}): nothing changed", describe(key));
                (return_code::PROPERTIES_CONFLICT, message)
            }
            PropertyError::Invalid(message) => (return_code::INVALID_OPERATION, message.clone()),
            PropertyError::NoSuchPlayer(actor) => {
                (return_code::INVALID_OPERATION, format!("actor {actor} is not in the room"))
            }
            PropertyError::TooLarge { size, max } => (
                return_code::INVALID_OPERATION,
                format!("the properties would take {size} bytes, over the limit of {max} bytes: nothing changed"),
            ),
        }
    }
}

fn describe(key: &Key) -> String {
    match key {
        Key::String(name) => format!("{name:?}"),
        other => format!("{:?}", other.to_value()),
    }
}

/// The encoded size of a table's entries: what the size bounds count.
pub fn encoded_size(table: &Table) -> usize {
    table.iter().map(|(key, value)| encoded_value_len(&key.to_value()) + encoded_value_len(value)).sum()
}

/// Values compare as Photon's clients expect: integers by number whatever their width (a MaxPlayers
/// sent as a Byte matches the Int the server reports), everything else exactly.
fn same_value(a: &Value, b: &Value) -> bool {
    fn integer(value: &Value) -> Option<i64> {
        match value {
            Value::Byte(v) => Some(i64::from(*v)),
            Value::Short(v) => Some(i64::from(*v)),
            Value::Int(v) => Some(i64::from(*v)),
            Value::Long(v) => Some(*v),
            _ => None,
        }
    }
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// A player's properties when it joins: the built-ins its authentication gives.
pub fn player_properties(identity: &Identity) -> Table {
    let mut properties = Table::new();
    if let Some(nickname) = &identity.nickname {
        properties.insert(PLAYER_PROP_NICKNAME, nickname.clone());
    }
    if let Some(user_id) = &identity.user_id {
        properties.insert(PLAYER_PROP_USER_ID, user_id.clone());
    }
    properties
}

/// The built-in changes a room SetProperties asks for, read and checked.
#[derive(Debug, Default)]
struct BuiltInChanges {
    max_players: Option<u32>,
    is_open: Option<bool>,
    is_visible: Option<bool>,
    master: Option<i32>,
}

impl RoomState {
    /// The room's properties as a join answer lists them: the built-ins, then the custom ones.
    pub(super) fn room_properties(&self) -> Table {
        let mut table = self.properties.clone();
        self.built_ins().into_iter().for_each(|(key, value)| {
            table.insert(key, value);
        });
        table
    }

    fn built_ins(&self) -> [(u8, Value); 6] {
        let millis = |ttl: std::time::Duration| Value::Int(ttl.as_millis().min(i32::MAX as u128) as i32);
        [
            (PROP_MAX_PLAYERS, Value::Int(self.options.max_players.min(i32::MAX as u32) as i32)),
            (PROP_IS_VISIBLE, Value::Bool(self.options.is_visible)),
            (PROP_IS_OPEN, Value::Bool(self.options.is_open)),
            (PROP_MASTER_CLIENT_ID, Value::Int(self.master)),
            (PROP_PLAYER_TTL, millis(self.player_ttl)),
            (PROP_EMPTY_ROOM_TTL, millis(self.empty_room_ttl)),
        ]
    }

    /// Every member's properties, keyed by actor number (Int), for a join answer.
    pub(super) fn player_property_table(&self) -> Table {
        self.players.iter().map(|(actor, properties)| (Key::Int(*actor), Value::Table(properties.clone()))).collect()
    }

    fn current(&self, target: Target, key: &Key) -> Option<Value> {
        match (target, key) {
            (Target::Room, Key::Byte(byte)) => {
                self.built_ins().into_iter().find(|(built_in, _)| built_in == byte).map(|(_, value)| value)
            }
            (Target::Room, key) => self.properties.get(key).cloned(),
            (Target::Player(actor), key) => self.players.get(&actor)?.get(key).cloned(),
        }
    }

    /// Applies a SetProperties of `target` if every expected value matches and the result is valid
    /// and within `max_bytes`; returns the master client's actor number when the change handed the
    /// role over. Nothing changes on an error.
    pub(super) fn set_properties(
        &mut self,
        target: Target,
        changes: &Table,
        expected: Option<&Table>,
        max_bytes: usize,
    ) -> Result<Option<i32>, PropertyError> {
        if let Target::Player(actor) = target {
            if !self.members.contains_key(&actor) {
                return Err(PropertyError::NoSuchPlayer(actor));
            }
        }
        for (key, value) in expected.into_iter().flat_map(Table::iter) {
            let current = self.current(target, key);
            let matches = match (&current, value) {
                (None, Value::Null) => true,
                (Some(current), expected) => same_value(current, expected),
                (None, _) => false,
            };
            if !matches {
                return Err(PropertyError::Conflict { key: key.clone(), current });
            }
        }
        let built_ins = self.built_in_changes(target, changes)?;
        let custom = match target {
            Target::Room => &self.properties,
            Target::Player(actor) => &self.players[&actor],
        };
        let mut merged = custom.clone();
        for (key, value) in changes.iter().filter(|(key, _)| !matches!(key, Key::Byte(_))) {
            match value {
                Value::Null => merged.remove(key),
                value => merged.insert(key.clone(), value.clone()),
            };
        }
        let size = encoded_size(&merged);
        if size > max_bytes {
            return Err(PropertyError::TooLarge { size, max: max_bytes });
        }
        match target {
            Target::Room => self.properties = merged,
            Target::Player(actor) => *self.players.get_mut(&actor).expect("checked above") = merged,
        }
        let BuiltInChanges { max_players, is_open, is_visible, master } = built_ins;
        self.options.max_players = max_players.unwrap_or(self.options.max_players);
        self.options.is_open = is_open.unwrap_or(self.options.is_open);
        self.options.is_visible = is_visible.unwrap_or(self.options.is_visible);
        let handed_over = master.filter(|&master| master != self.master);
        if let Some(master) = handed_over {
            self.master = master;
        }
        Ok(handed_over)
    }

    fn built_in_changes(&self, target: Target, changes: &Table) -> Result<BuiltInChanges, PropertyError> {
        let mut built_ins = BuiltInChanges::default();
        for (key, value) in changes.iter() {
            let Key::Byte(byte) = key else { continue };
            if let Target::Player(_) = target {
                return Err(PropertyError::Invalid(format!(
                    "player property {byte} is the server's (byte keys: {PLAYER_PROP_NICKNAME} nickname, \
                     {PLAYER_PROP_USER_ID} user id); custom properties take other keys, such as strings"
                )));
            }
            let wrong = |what: &str| PropertyError::Invalid(format!("room property {byte} ({what})"));
            match (*byte, value) {
                (PROP_MAX_PLAYERS, value) => match value {
                    Value::Byte(max) => built_ins.max_players = Some(u32::from(*max)),
                    Value::Int(max) if *max >= 0 => built_ins.max_players = Some(*max as u32),
                    _ => return Err(wrong("max players) must be a Byte or an Int of at least 0")),
                },
                (PROP_IS_OPEN, Value::Bool(open)) => built_ins.is_open = Some(*open),
                (PROP_IS_VISIBLE, Value::Bool(visible)) => built_ins.is_visible = Some(*visible),
                (PROP_IS_OPEN | PROP_IS_VISIBLE, _) => return Err(wrong("open, visible) must be a Bool")),
                (PROP_MASTER_CLIENT_ID, Value::Int(actor)) if self.members.contains_key(actor) => {
                    built_ins.master = Some(*actor)
                }
                (PROP_MASTER_CLIENT_ID, _) => {
                    return Err(wrong("master client) must be the Int actor number of a player in the room"))
                }
                (PROP_PLAYER_TTL | PROP_EMPTY_ROOM_TTL, _) => {
                    return Err(wrong("player TTL, empty room TTL) is set when the room is created"))
                }
                (other, _) => {
                    return Err(PropertyError::Invalid(format!(
                        "room property {other} is not one the server knows (byte keys: {PROP_MAX_PLAYERS} max \
                         players, {PROP_IS_VISIBLE} visible, {PROP_IS_OPEN} open, {PROP_MASTER_CLIENT_ID} master \
                         client); custom properties take other keys, such as strings"
                    )))
                }
            }
        }
        Ok(built_ins)
    }
}

/// The PropertiesChanged event (253) for a change `sender` made to `target`.
pub fn changed_event(sender: i32, target: Target, changes: Table) -> EventData {
    let mut params = Params::new();
    params.insert(
        codes::TARGET_ACTOR,
        match target {
            Target::Room => 0,
            Target::Player(actor) => actor,
        },
    );
    params.insert(codes::PROPERTIES, Value::Table(changes));
    params.insert(codes::ACTOR_NR, sender);
    EventData { code: codes::EVENT_PROPERTIES_CHANGED, sender, params }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, Value)]) -> Table {
        entries.iter().map(|(key, value)| (Key::String((*key).into()), value.clone())).collect()
    }

    #[test]
    fn integers_compare_by_number_and_other_values_exactly() {
        assert!(same_value(&Value::Byte(4), &Value::Int(4)));
        assert!(same_value(&Value::Long(-1), &Value::Short(-1)));
        assert!(!same_value(&Value::Int(4), &Value::Int(5)));
        assert!(!same_value(&Value::Int(1), &Value::Bool(true)));
        assert!(same_value(&Value::String("a".into()), &Value::String("a".into())));
    }

    #[test]
    fn the_size_bound_counts_keys_and_values() {
        let small = table(&[("a", Value::Int(1))]);
        assert_eq!(
            encoded_size(&small),
            encoded_value_len(&Value::String("a".into())) + encoded_value_len(&Value::Int(1))
        );
        assert_eq!(encoded_size(&Table::new()), 0);
    }
}
