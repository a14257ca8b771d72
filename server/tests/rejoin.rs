//! PlayerTtl and EmptyRoomTtl over real sockets: a player whose connection dies mid-game stays in the
//! room as inactive and rejoins with the same actor number within PlayerTtl, and is gone after it; an
//! empty room survives for EmptyRoomTtl. Players authenticate with an in-process provider, since a
//! rejoin is recognised by the user id.

mod support;

use std::sync::Arc;
use std::time::Duration;

use sealnet::auth::{AuthType, AuthValues};
use sealnet::protocol::codec::{Key, Params, Table, Value};
use sealnet::protocol::message::OperationResponse;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code};
use sealnet::rooms::{
    GAME_PROPERTIES, IS_INACTIVE, JOIN_MODE, PLAYER_PROPERTIES, PLAYER_PROP_IS_INACTIVE, PROP_EMPTY_ROOM_TTL,
    PROP_PLAYER_TTL,
};
use sealnet_server::{Plugin, RunningServer, Server};
use support::*;
use tokio::sync::mpsc;

/// Tells the test which rooms closed.
struct CloseWatch(mpsc::UnboundedSender<String>);

impl Plugin for CloseWatch {
    fn name(&self) -> &str {
        "close-watch"
    }

    fn on_close(&self, room: &str) {
        let _ = self.0.send(room.to_owned());
    }
}

async fn server() -> RunningServer {
    server_watching_closes().await.0
}

async fn server_watching_closes() -> (RunningServer, mpsc::UnboundedReceiver<String>) {
    let (closes, closed) = mpsc::unbounded_channel();
    let server = start_built(test_config(), move |server: Server| {
        server.with_auth_provider(Arc::new(Everyone)).with_plugin(Arc::new(CloseWatch(closes)))
    })
    .await;
    (server, closed)
}

async fn player(server: &RunningServer, name: &str) -> Client {
    let mut client = Client::encrypted(server.local_addr()).await;
    let mut values = AuthValues::new(AuthType::Custom);
    values.set_connection_token(name.as_bytes()).unwrap();
    client.send(op_code::AUTHENTICATE, values.to_request().unwrap().params, SendOptions::ENCRYPTED).await;
    let (response, _) = client.response(op_code::AUTHENTICATE).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    client
}

fn room_options(player_ttl_ms: i32, empty_room_ttl_ms: i32) -> Table {
    [
        (Key::Byte(PROP_PLAYER_TTL), Value::Int(player_ttl_ms)),
        (Key::Byte(PROP_EMPTY_ROOM_TTL), Value::Int(empty_room_ttl_ms)),
    ]
    .into_iter()
    .collect()
}

/// Sends JoinRoom with a join mode (and options, for the creator) and returns the answer.
async fn join(client: &mut Client, room: &str, mode: u8, options: Option<Table>) -> OperationResponse {
    let mut params = Params::new();
    params.insert(ROOM_NAME, room);
    params.insert(JOIN_MODE, Value::Byte(mode));
    if let Some(options) = options {
        params.insert(GAME_PROPERTIES, Value::Table(options));
    }
    client.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    client.response(op_code::JOIN_ROOM).await.0
}

const CREATE: u8 = 1;
const JOIN_OR_REJOIN: u8 = 2;
const REJOIN_ONLY: u8 = 3;

#[tokio::test]
async fn a_player_killed_mid_game_rejoins_with_its_actor_number_within_player_ttl_and_is_gone_after() {
    let server = server().await;
    let mut host = player(&server, "host").await;
    let mut guest = player(&server, "guest").await;
    let created = join(&mut host, "ttl", CREATE, Some(room_options(60_000, 0))).await;
    assert_eq!(created.return_code, return_code::OK, "{:?}", created.debug_message);
    assert_eq!(join(&mut guest, "ttl", CREATE, None).await.return_code, return_code::OK);
    for _ in 0..2 {
        assert_eq!(host.event().await.0.code, EVENT_JOIN);
    }

    // Killed: the connection ends without a LeaveRoom.
    drop(guest);
    let (leave, _) = host.event().await;
    assert_eq!((leave.code, leave.params.get(IS_INACTIVE)), (EVENT_LEAVE, Some(&Value::Bool(true))));

    // A plain join is told to rejoin; a rejoin gets actor 2 back, flagged active again.
    let mut back = player(&server, "guest").await;
    assert_eq!(join(&mut back, "ttl", 0, None).await.return_code, return_code::JOIN_FAILED_FOUND_INACTIVE_JOINER);
    let rejoined = join(&mut back, "ttl", REJOIN_ONLY, None).await;
    assert_eq!(rejoined.return_code, return_code::OK, "{:?}", rejoined.debug_message);
    assert_eq!(int(rejoined.params.get(ACTOR_NR)), 2, "the same actor number");
    let Some(Value::Table(players)) = rejoined.params.get(PLAYER_PROPERTIES) else { panic!("{rejoined:?}") };
    let Some(Value::Table(own)) = players.get(&Key::Int(2)) else { panic!("{players:?}") };
    assert_eq!(own.get(&Key::Byte(PLAYER_PROP_IS_INACTIVE)), None);
    let (join_event, _) = host.event().await;
    assert_eq!((join_event.code, join_event.sender), (EVENT_JOIN, 2));

    // A new player is actor 3, and nobody else can rejoin.
    let mut third = player(&server, "third").await;
    assert_eq!(
        join(&mut third, "ttl", REJOIN_ONLY, None).await.return_code,
        return_code::JOIN_FAILED_WITH_REJOINER_NOT_FOUND
    );
    assert_eq!(int(join(&mut third, "ttl", JOIN_OR_REJOIN, None).await.params.get(ACTOR_NR)), 3);
}

#[tokio::test]
async fn after_player_ttl_the_inactive_player_leaves_for_good() {
    let server = server().await;
    let mut host = player(&server, "host").await;
    let mut guest = player(&server, "guest").await;
    join(&mut host, "short", CREATE, Some(room_options(150, 0))).await;
    join(&mut guest, "short", CREATE, None).await;
    for _ in 0..2 {
        host.event().await;
    }
    drop(guest);
    assert_eq!(host.event().await.0.params.get(IS_INACTIVE), Some(&Value::Bool(true)));
    // The second Leave event, without the inactive flag, is the expiry.
    let (gone, _) = host.event().await;
    assert_eq!((gone.code, int(gone.params.get(ACTOR_NR)), gone.params.get(IS_INACTIVE)), (EVENT_LEAVE, 2, None));
    let mut back = player(&server, "guest").await;
    assert_eq!(
        join(&mut back, "short", REJOIN_ONLY, None).await.return_code,
        return_code::JOIN_FAILED_WITH_REJOINER_NOT_FOUND
    );
}

#[tokio::test]
async fn an_empty_room_survives_for_empty_room_ttl_then_closes() {
    let (server, mut closed) = server_watching_closes().await;
    let mut host = player(&server, "host").await;
    join(&mut host, "lasting", CREATE, Some(room_options(0, 300))).await;
    assert_eq!(host.event().await.0.code, EVENT_JOIN);
    host.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    host.response(op_code::LEAVE_ROOM).await;
    assert_eq!(server.room_count(), 1, "empty, within its EmptyRoomTtl");
    let answer = join(&mut host, "lasting", 0, None).await;
    assert_eq!((answer.return_code, int(answer.params.get(ACTOR_NR))), (return_code::OK, 2), "the same room");
    assert_eq!(host.event().await.0.code, EVENT_JOIN);
    host.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    host.response(op_code::LEAVE_ROOM).await;
    let started = tokio::time::Instant::now();
    let room = tokio::time::timeout(WAIT, closed.recv()).await.expect("the room never closed");
    assert_eq!(room.as_deref(), Some("lasting"));
    assert!(started.elapsed() >= Duration::from_millis(250), "closed after its EmptyRoomTtl, not at once");
    assert_eq!(server.room_count(), 0);
    assert_eq!(join(&mut host, "lasting", 0, None).await.return_code, return_code::GAME_DOES_NOT_EXIST);

    let mut params = Params::new();
    params.insert(ROOM_NAME, "too-long");
    params.insert(GAME_PROPERTIES, Value::Table(room_options(0, 700_000)));
    host.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (refused, _) = host.response(op_code::JOIN_ROOM).await;
    assert_eq!(refused.return_code, return_code::INVALID_OPERATION);
    assert!(refused.debug_message.as_deref().is_some_and(|m| m.contains("empty room TTL")), "{refused:?}");
}
