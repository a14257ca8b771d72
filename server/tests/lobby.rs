//! The lobby over real sockets: JoinLobby (229) gives the room list (GameList, 230), then throttled
//! updates (GameListUpdate, 229) as rooms are added, change and go, with the properties each room
//! lists; at a server of role "all" from its own rooms, at a master from the directory.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sealnet::protocol::codec::{Key, Params, Table, Value};
use sealnet::protocol::message::EventData;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code};
use sealnet::rooms::{
    EVENT_GAME_LIST, EVENT_GAME_LIST_UPDATE, GAME_LIST, GAME_PROPERTIES, PROP_IS_OPEN, PROP_IS_VISIBLE,
    PROP_LISTED_IN_LOBBY, PROP_MAX_PLAYERS, PROP_PLAYER_COUNT, PROP_REMOVED,
};
use sealnet_server::config::Role;
use sealnet_server::directory::{Directory, Heartbeat, MemoryDirectory, RoomEntry};
use sealnet_server::Server;
use support::*;

fn lobby_config() -> sealnet_server::Config {
    let mut config = test_config();
    config.limits.lobby_update_interval_ms = 20;
    config
}

async fn join_lobby(client: &mut Client) -> Table {
    client.send(op_code::JOIN_LOBBY, Params::new(), SendOptions::ENCRYPTED).await;
    let (response, _) = client.response(op_code::JOIN_LOBBY).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    let (event, _) = client.event().await;
    assert_eq!(event.code, EVENT_GAME_LIST);
    list_of(&event)
}

fn list_of(event: &EventData) -> Table {
    match event.params.get(GAME_LIST) {
        Some(Value::Table(list)) => list.clone(),
        other => panic!("no room list: {other:?}"),
    }
}

/// The next update's entry for `room`, passing over updates that do not name it.
async fn update_for(client: &mut Client, room: &str) -> Table {
    loop {
        let (event, _) = client.event().await;
        assert_eq!(event.code, EVENT_GAME_LIST_UPDATE, "{event:?}");
        if let Some(Value::Table(entry)) = list_of(&event).get(&Key::String(room.into())) {
            return entry.clone();
        }
    }
}

fn string(key: &str) -> Key {
    Key::String(key.into())
}

#[tokio::test]
async fn a_lobby_lists_visible_rooms_with_their_listed_properties_and_follows_them() {
    let server = start_server(lobby_config()).await;
    let mut watcher = Client::encrypted(server.local_addr()).await;
    assert!(join_lobby(&mut watcher).await.is_empty(), "no rooms yet");

    // A room listing "map" but not "secret", and a hidden room.
    let mut host = Client::encrypted(server.local_addr()).await;
    let options: Table = [
        (Key::Byte(PROP_MAX_PLAYERS), Value::Int(4)),
        (Key::Byte(PROP_LISTED_IN_LOBBY), Value::StringArray(vec!["map".into()])),
        (string("map"), Value::String("dust".into())),
        (string("secret"), Value::Int(42)),
    ]
    .into_iter()
    .collect();
    let mut params = Params::new();
    params.insert(ROOM_NAME, "listed");
    params.insert(GAME_PROPERTIES, Value::Table(options));
    host.send(op_code::CREATE_ROOM, params, SendOptions::ENCRYPTED).await;
    assert_eq!(host.response(op_code::CREATE_ROOM).await.0.return_code, return_code::OK);
    let mut hidden = Client::encrypted(server.local_addr()).await;
    let mut params = Params::new();
    params.insert(ROOM_NAME, "hidden");
    params.insert(
        GAME_PROPERTIES,
        Value::Table([(Key::Byte(PROP_IS_VISIBLE), Value::Bool(false))].into_iter().collect()),
    );
    hidden.send(op_code::CREATE_ROOM, params, SendOptions::ENCRYPTED).await;
    assert_eq!(hidden.response(op_code::CREATE_ROOM).await.0.return_code, return_code::OK);

    let entry = update_for(&mut watcher, "listed").await;
    assert_eq!(entry.get(&Key::Byte(PROP_PLAYER_COUNT)), Some(&Value::Int(1)));
    assert_eq!(entry.get(&Key::Byte(PROP_MAX_PLAYERS)), Some(&Value::Int(4)));
    assert_eq!(entry.get(&Key::Byte(PROP_IS_OPEN)), Some(&Value::Bool(true)));
    assert_eq!(entry.get(&string("map")), Some(&Value::String("dust".into())));
    assert_eq!(entry.get(&string("secret")), None, "not listed");

    // A second player, then the room going: each an update; the hidden room never shows.
    let mut guest = Client::encrypted(server.local_addr()).await;
    guest.join("listed").await;
    assert_eq!(update_for(&mut watcher, "listed").await.get(&Key::Byte(PROP_PLAYER_COUNT)), Some(&Value::Int(2)));
    drop(host);
    drop(guest);
    let gone = update_for(&mut watcher, "listed").await;
    assert_eq!(gone.get(&Key::Byte(PROP_REMOVED)), Some(&Value::Bool(true)), "{gone:?}");

    // A late lobby member gets the current list at once; the hidden room is not in it.
    let mut late = Client::encrypted(server.local_addr()).await;
    assert!(join_lobby(&mut late).await.is_empty());
}

#[tokio::test]
async fn joining_a_room_leaves_the_lobby_and_a_lobby_needs_keys() {
    let server = start_server(lobby_config()).await;
    let mut plain = Client::plain(server.local_addr()).await;
    plain.send(op_code::JOIN_LOBBY, Params::new(), SendOptions::RELIABLE).await;
    let (refused, _) = plain.response(op_code::JOIN_LOBBY).await;
    assert_eq!(refused.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    assert!(refused.debug_message.as_deref().is_some_and(|m| m.contains("encrypted")), "{refused:?}");

    let mut player = Client::encrypted(server.local_addr()).await;
    join_lobby(&mut player).await;
    player.join_and_settle("somewhere").await;
    player.send(op_code::LEAVE_LOBBY, Params::new(), SendOptions::ENCRYPTED).await;
    let (response, _) = player.response(op_code::LEAVE_LOBBY).await;
    assert_eq!(response.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, "joining left it");
}

#[tokio::test]
async fn a_masters_lobby_lists_the_rooms_of_the_directory() {
    let directory = Directory::Memory(Arc::new(MemoryDirectory::default()));
    let mut config = lobby_config();
    config.role = Role::Master;
    let keypair = sealnet::protocol::noise::Keypair::generate().unwrap();
    let master = Server::new(config, keypair)
        .with_token_keys(sealnet_server::auth::token::TokenKeys::new(vec![(1, zeroize::Zeroizing::new([7u8; 32]))]))
        .with_directory(directory.clone())
        .start()
        .await
        .unwrap();
    let mut watcher = Client::encrypted(master.local_addr()).await;
    join_lobby(&mut watcher).await;

    // What a game server's heartbeat writes.
    let listed: Table = [(string("mode"), Value::String("ranked".into()))].into_iter().collect();
    let room = RoomEntry {
        name: "arena".into(),
        game_server: "gs-1".into(),
        players: 3,
        max_players: 8,
        open: true,
        visible: true,
        listed: RoomEntry::encode_listed(&listed),
    };
    let rooms = [room];
    let beat = Heartbeat { server: None, rooms: &rooms, gone: &[] };
    directory.heartbeat(&beat, Duration::from_secs(60)).await.unwrap();
    let entry = update_for(&mut watcher, "arena").await;
    assert_eq!(entry.get(&Key::Byte(PROP_PLAYER_COUNT)), Some(&Value::Int(3)));
    assert_eq!(entry.get(&string("mode")), Some(&Value::String("ranked".into())), "carried through the directory");
}
