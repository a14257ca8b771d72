//! The higher-level client in rooms, over real sockets against a server of role "all": its room view
//! follows properties (compare-and-set included), players and the master client; its room list
//! follows the lobby; and a player whose connection is cut mid-game comes back by itself with the
//! same actor number within the room's PlayerTtl.

mod support;

use std::sync::Arc;

use sealnet::auth::{AuthType, AuthValues};
use sealnet::peer::PeerConfig;
use sealnet::protocol::codec::{Key, Table, Value};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::return_code;
use sealnet::realtime::{ClientConfig, ClientEvent, ClientState, RaiseEventOptions, RealtimeClient};
use sealnet::rooms::{
    JoinMode, RoomOptions, RoomRequest, EVENT_LEAVE, IS_INACTIVE, PROP_LISTED_IN_LOBBY, PROP_PLAYER_TTL,
};
use sealnet_server::{RunningServer, Server};
use support::realtime::drive;
use support::*;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

async fn server() -> RunningServer {
    start_built(test_config(), |server: Server| server.with_auth_provider(Arc::new(Everyone))).await
}

/// A client logged in as `name` at `address`, connected to the master (the server itself).
async fn logged_in(server: &RunningServer, address: String, name: &str) -> RealtimeClient {
    let mut client = RealtimeClient::new(ClientConfig {
        peer: PeerConfig::default(),
        masters: vec![address],
        master_key: Some(server.public_key()),
        app_id: "demo".into(),
        app_version: None,
    });
    let mut values = AuthValues::new(AuthType::Custom);
    values.set_connection_token(name.as_bytes()).unwrap();
    client.connect(values).unwrap();
    drive(client, |client, _| client.state() == ClientState::ConnectedToMasterServer).await.0
}

async fn joined(client: RealtimeClient) -> RealtimeClient {
    drive(client, |client, _| client.state() == ClientState::Joined).await.0
}

fn key(name: &str) -> Key {
    Key::String(name.into())
}

fn property(client: &RealtimeClient, name: &str) -> Option<Value> {
    client.room_view()?.properties.get(&key(name)).cloned()
}

fn creating(name: &str, extra: Table) -> RoomRequest {
    RoomRequest {
        extra,
        ..RoomRequest::new(Some(name.into()), Some(JoinMode::CreateIfNotExists), RoomOptions::default())
    }
}

#[tokio::test]
async fn the_room_view_follows_properties_players_and_the_master_client_and_the_lobby_lists_rooms() {
    let server = server().await;
    let address = server.local_addr().to_string();
    let mut lobby = logged_in(&server, address.clone(), "watcher").await;
    lobby.join_lobby().unwrap();

    let mut host = logged_in(&server, address.clone(), "host").await;
    let extra = Table::from_iter([
        (key("map"), Value::String("dust".into())),
        (Key::Byte(PROP_LISTED_IN_LOBBY), Value::StringArray(vec!["map".into()])),
    ]);
    host.request_room(creating("view", extra)).unwrap();
    let host = joined(host).await;
    let mut guest = logged_in(&server, address, "guest").await;
    guest.join_room("view").unwrap();
    let guest = joined(guest).await;
    let view = guest.room_view().unwrap();
    assert_eq!((view.actor, view.master), (2, 1));
    assert_eq!(view.players[&1].nickname(), Some("host"));
    assert_eq!(property(&guest, "map"), Some(Value::String("dust".into())), "from the join answer");

    // The lobby lists the room with its listed property.
    let (lobby, _) =
        drive(lobby, |client, _| client.room_list().rooms.get("view").is_some_and(|room| room.players == 2)).await;
    assert_eq!(lobby.room_list().rooms["view"].properties.get(&key("map")), Some(&Value::String("dust".into())));

    // Compare-and-set from both: only the one that expected the right value wins.
    let (mut host, mut guest) = (host, guest);
    let round = |value: i32| Table::from_iter([(key("round"), Value::Int(value))]);
    let unset = Table::from_iter([(key("round"), Value::Null)]);
    host.set_room_properties(round(1), Some(unset.clone())).unwrap();
    let (mut host, _) = drive(host, |client, _| property(client, "round") == Some(Value::Int(1))).await;
    guest.set_room_properties(round(2), Some(unset)).unwrap();
    let conflict = |_: &RealtimeClient, seen: &[ClientEvent]| {
        seen.iter().any(|event| {
            matches!(event, ClientEvent::Response { response, .. } if response.return_code == return_code::PROPERTIES_CONFLICT)
        })
    };
    let (guest, _) = drive(guest, conflict).await;
    assert_eq!(property(&guest, "round"), Some(Value::Int(1)), "the losing change was not applied");

    // A player's own properties, and the master client handed over.
    host.set_player_properties(1, Table::from_iter([(key("team"), Value::String("red".into()))]), None).unwrap();
    host.set_master_client(2).unwrap();
    let (guest, _) = drive(guest, |client, _| {
        let view = client.room_view().unwrap();
        view.is_master_client() && view.players[&1].properties.get(&key("team")).is_some()
    })
    .await;
    let (mut host, _) = drive(host, |client, _| client.room_view().unwrap().master == 2).await;

    // RaiseEvent options: an event to the master client only.
    let to_master = RaiseEventOptions { receivers: sealnet::rooms::RECEIVERS_MASTER_CLIENT, ..Default::default() };
    host.raise_event_with(9, Value::Int(1), &to_master, SendOptions::ENCRYPTED).unwrap();
    drive(guest, |_, seen| {
        seen.iter().any(|event| matches!(event, ClientEvent::Event { event, .. } if event.code == 9))
    })
    .await;
}

/// A TCP proxy to `target` whose connections the test can cut, as a network failure would.
async fn cuttable_proxy(target: std::net::SocketAddr) -> (std::net::SocketAddr, watch::Sender<u32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (cut, cuts) = watch::channel(0u32);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let mut cuts = cuts.clone();
            let generation = *cuts.borrow();
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(target).await else { return };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    _ = cuts.wait_for(|now| *now != generation) => {}
                }
            });
        }
    });
    (address, cut)
}

#[tokio::test]
async fn a_player_cut_off_mid_game_rejoins_by_itself_with_its_actor_number() {
    let server = server().await;
    let (proxy, cut) = cuttable_proxy(server.local_addr()).await;
    let mut host = logged_in(&server, server.local_addr().to_string(), "host").await;
    host.request_room(creating("comeback", Table::from_iter([(Key::Byte(PROP_PLAYER_TTL), Value::Int(30_000))])))
        .unwrap();
    let host = joined(host).await;
    let mut player = logged_in(&server, proxy.to_string(), "player").await;
    player.join_room("comeback").unwrap();
    let player = joined(player).await;
    assert_eq!(player.actor(), Some(2));
    let (host, _) = drive(host, |client, _| client.room_view().unwrap().players.len() == 2).await;

    cut.send_modify(|generation| *generation += 1);
    let (player, seen) = drive(player, |client, seen| {
        client.state() == ClientState::Joined
            && seen.iter().any(|event| matches!(event, ClientEvent::Joined { rejoined: true, .. }))
    })
    .await;
    assert_eq!(player.actor(), Some(2), "the same actor number");
    assert!(!player.is_rejoining());
    assert!(
        seen.iter().any(|event| matches!(event, ClientEvent::StateChanged(ClientState::ConnectingToGameServer))),
        "the host saw it reconnect: {seen:?}"
    );
    let back = |_: &RealtimeClient, seen: &[ClientEvent]| {
        seen.iter().any(
            |event| matches!(event, ClientEvent::Event { event, .. } if event.code == EVENT_JOIN && event.sender == 2),
        )
    };
    let (host, seen) = drive(host, back).await;
    assert!(!host.room_view().unwrap().players[&2].is_inactive(), "active again in the others' view");
    let inactive = seen.iter().any(|event| {
        matches!(event, ClientEvent::Event { event, .. }
            if event.code == EVENT_LEAVE && event.params.get(IS_INACTIVE) == Some(&Value::Bool(true)))
    });
    assert!(inactive, "the others saw it go inactive first: {seen:?}");
}
