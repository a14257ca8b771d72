//! The room ticket a master puts in the token of its answer: which room, on which game server, with
//! which options. A game server lets a player create or join only the room its ticket names, on
//! itself, so that a token holder can neither skip the master's placement nor create rooms of its own
//! choosing, and the room is created with the options its creator asked the master for, whoever of
//! its players arrives first.
//!
//! It rides in the token's injected data (docs/auth.md §5.1, key 8), sealed and authenticated like the
//! rest of the token, under keys only servers write.

use sealnet::protocol::codec::{Key, Table, Value};
use sealnet::rooms::RoomOptions;

const ROOM: &str = "sealnet.room";
const GAME_SERVER: &str = "sealnet.game_server";
const MAX_PLAYERS: &str = "sealnet.max_players";
const IS_OPEN: &str = "sealnet.is_open";
const IS_VISIBLE: &str = "sealnet.is_visible";

/// Writes the ticket for `room` on `game_server` into a token's injected data.
pub(crate) fn grant(injected: &mut Table, room: &str, game_server: &str, options: RoomOptions) {
    injected.insert(Key::String(ROOM.into()), Value::String(room.into()));
    injected.insert(Key::String(GAME_SERVER.into()), Value::String(game_server.into()));
    injected.insert(Key::String(MAX_PLAYERS.into()), Value::Long(i64::from(options.max_players)));
    injected.insert(Key::String(IS_OPEN.into()), Value::Bool(options.is_open));
    injected.insert(Key::String(IS_VISIBLE.into()), Value::Bool(options.is_visible));
}

/// The options of the room the ticket in `injected` grants, when it grants `room` on `game_server`.
pub(crate) fn admits(injected: &Table, room: &str, game_server: &str) -> Option<RoomOptions> {
    let text = |key: &str| match injected.get(&Key::String(key.into())) {
        Some(Value::String(text)) => Some(text.as_str()),
        _ => None,
    };
    let flag = |key: &str| match injected.get(&Key::String(key.into())) {
        Some(Value::Bool(flag)) => Some(*flag),
        _ => None,
    };
    if text(ROOM)? != room || text(GAME_SERVER)? != game_server {
        return None;
    }
    let max_players = match injected.get(&Key::String(MAX_PLAYERS.into()))? {
        Value::Long(max) => u32::try_from(*max).ok()?,
        _ => return None,
    };
    Some(RoomOptions { max_players, is_open: flag(IS_OPEN)?, is_visible: flag(IS_VISIBLE)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_admits_its_room_on_its_game_server_only() {
        let options = RoomOptions { max_players: 4, is_open: false, is_visible: true };
        let mut injected = Table::new();
        injected.insert(Key::String("plugin.level".into()), Value::Int(3));
        grant(&mut injected, "arena", "game-1", options);
        assert_eq!(admits(&injected, "arena", "game-1"), Some(options));
        assert_eq!(admits(&injected, "arena", "game-2"), None, "another game server");
        assert_eq!(admits(&injected, "lobby", "game-1"), None, "another room");
        assert_eq!(admits(&Table::new(), "arena", "game-1"), None, "no ticket");
        grant(&mut injected, "lobby", "game-2", RoomOptions::default());
        assert_eq!(admits(&injected, "arena", "game-1"), None, "a newer ticket replaces the older one");
        assert_eq!(injected.get(&Key::String("plugin.level".into())), Some(&Value::Int(3)), "other data stays");
    }
}
