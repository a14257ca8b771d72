//! Matchmaking in one process: the room operations of a server of role "all" (JoinMode, CreateRoom,
//! JoinRandomRoom, room options, their error codes), and a master with game servers sharing an
//! in-memory directory, driven by the realtime client. The same over separate processes and Redis is
//! in tests/cluster.rs.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sealnet::auth::{AuthType, AuthValues};
use sealnet::peer::PeerConfig;
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code};
use sealnet::realtime::{ClientConfig, ClientEvent, ClientState, RealtimeClient};
use sealnet::rooms::{JoinMode, RoomOptions, RoomRequest};
use sealnet_server::auth::token::TokenKeys;
use sealnet_server::config::Role;
use sealnet_server::directory::{Directory, MemoryDirectory};
use sealnet_server::{RunningServer, Server};
use support::realtime::drive;
use support::*;

/// Sends a room request and returns the response's return code and parameters (events that come
/// first, such as the Join events of a room the client is in, are passed over).
async fn ask(client: &mut Client, request: RoomRequest) -> (i16, Params) {
    let (op, params) = request.to_operation();
    client.send(op, params, SendOptions::ENCRYPTED).await;
    loop {
        match client.next().await {
            sealnet::protocol::session::SessionEvent::OperationResponse { response, .. } if response.op_code == op => {
                return (response.return_code, response.params)
            }
            sealnet::protocol::session::SessionEvent::Event { .. } => {}
            other => panic!("expected a response to operation {op}, got {other:?}"),
        }
    }
}

fn named(name: &str, mode: JoinMode, options: RoomOptions) -> RoomRequest {
    RoomRequest::new(Some(name.into()), Some(mode), options)
}

#[tokio::test]
async fn room_operations_of_a_single_server_have_photons_modes_options_and_codes() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut first = Client::encrypted(addr).await;
    let mut second = Client::encrypted(addr).await;
    let open = RoomOptions::default();

    assert_eq!(ask(&mut first, named("a", JoinMode::JoinOnly, open)).await.0, return_code::GAME_DOES_NOT_EXIST);
    assert_eq!(ask(&mut first, RoomRequest::new(None, None, open)).await.0, return_code::NO_RANDOM_MATCH_FOUND);
    let (code, params) =
        ask(&mut first, named("a", JoinMode::CreateOnly, RoomOptions { max_players: 1, ..open })).await;
    assert_eq!(code, return_code::OK);
    assert_eq!(params.get(ROOM_NAME), Some(&Value::String("a".into())));
    assert_eq!(ask(&mut second, named("a", JoinMode::CreateOnly, open)).await.0, return_code::GAME_ID_ALREADY_EXISTS);
    assert_eq!(ask(&mut second, named("a", JoinMode::CreateIfNotExists, open)).await.0, return_code::GAME_FULL);
    assert_eq!(
        ask(&mut second, RoomRequest::new(None, None, open)).await.0,
        return_code::NO_RANDOM_MATCH_FOUND,
        "a full room is not picked at random"
    );

    let mut third = Client::encrypted(addr).await;
    let closed = RoomOptions { is_open: false, ..open };
    assert_eq!(
        ask(&mut third, named("shut", JoinMode::CreateIfNotExists, closed)).await.0,
        return_code::OK,
        "its creator gets in"
    );
    assert_eq!(ask(&mut second, named("shut", JoinMode::JoinOnly, open)).await.0, return_code::GAME_CLOSED);

    // A CreateRoom without a name is given one; JoinRandomRoom finds that open room.
    let mut host = Client::encrypted(addr).await;
    let (code, params) = ask(&mut host, RoomRequest::new(None, Some(JoinMode::CreateOnly), open)).await;
    assert_eq!(code, return_code::OK);
    let Some(Value::String(name)) = params.get(ROOM_NAME).cloned() else { panic!("the room's name: {params:?}") };
    let (code, params) = ask(&mut second, RoomRequest::new(None, None, open)).await;
    assert_eq!(code, return_code::OK);
    assert_eq!(params.get(ROOM_NAME), Some(&Value::String(name)));

    // A JoinRoom without a join mode creates its room, as it always did.
    let mut legacy = Client::encrypted(addr).await;
    legacy.join_and_settle("made-on-demand").await;
    // Malformed requests are refused with what is wrong.
    let mut params = Params::new();
    params.insert(ROOM_NAME, "x");
    params.insert(sealnet::rooms::JOIN_MODE, Value::Byte(9));
    let mut fresh = Client::encrypted(addr).await;
    fresh.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (response, _) = fresh.response(op_code::JOIN_ROOM).await;
    assert_eq!(response.return_code, return_code::INVALID_OPERATION);
    assert!(response.debug_message.unwrap().contains("join mode"));
}

/// A master and game servers in one process, sharing one in-memory directory and one token key.
struct Deployment {
    master: RunningServer,
    games: Vec<RunningServer>,
    directory: Directory,
}

fn keys() -> TokenKeys {
    TokenKeys::new(vec![(1, zeroize::Zeroizing::new([7u8; 32]))])
}

async fn deployment(games: usize) -> Deployment {
    let directory = Directory::Memory(Arc::new(MemoryDirectory::default()));
    let start = |role: Role| {
        let mut config = test_config();
        config.role = role;
        config.cluster.heartbeat_ms = 50;
        config.cluster.expiry_ms = 500;
        let keypair = sealnet::protocol::noise::Keypair::generate().unwrap();
        Server::new(config, keypair).with_token_keys(keys()).with_directory(directory.clone()).start()
    };
    let master = start(Role::Master).await.unwrap();
    let mut started = Vec::new();
    for _ in 0..games {
        started.push(start(Role::Game).await.unwrap());
    }
    let deadline = Instant::now() + WAIT;
    while directory.game_servers().await.unwrap().len() < games {
        assert!(Instant::now() < deadline, "game servers register");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Deployment { master, games: started, directory }
}

fn realtime(master: &RunningServer) -> RealtimeClient {
    RealtimeClient::new(ClientConfig {
        peer: PeerConfig::default(),
        masters: vec![master.local_addr().to_string()],
        master_key: Some(master.public_key()),
        app_id: "demo".into(),
        app_version: None,
    })
}

fn states(seen: &[ClientEvent]) -> Vec<ClientState> {
    seen.iter()
        .filter_map(|event| if let ClientEvent::StateChanged(state) = event { Some(*state) } else { None })
        .collect()
}

#[tokio::test]
async fn the_client_follows_the_master_to_the_game_server_and_back() {
    let deployment = deployment(1).await;
    let mut client = realtime(&deployment.master);
    client.connect(AuthValues::new(AuthType::None)).unwrap();
    let (mut client, _) = drive(client, |client, _| client.state() == ClientState::ConnectedToMasterServer).await;
    let login_token = client.token().unwrap();
    client.join_or_create_room("lobby-1", RoomOptions::default()).unwrap();
    let (client, seen) = drive(client, |client, _| client.state() == ClientState::Joined).await;
    assert_eq!(
        states(&seen),
        [
            ClientState::Joining,
            ClientState::DisconnectingFromMasterServer,
            ClientState::ConnectingToGameServer,
            ClientState::Authenticating,
            ClientState::ConnectedToGameServer,
            ClientState::Joining,
            ClientState::Joined
        ]
    );
    assert_eq!(client.peer().server_public_key(), Some(deployment.games[0].public_key()), "pinned the game server");
    assert_ne!(client.token().unwrap().bytes, login_token.bytes, "the switch refreshed the token");
    assert!(client.token().unwrap().expires_at_ms >= login_token.expires_at_ms);
    assert_eq!(client.room(), Some("lobby-1"));
    let room = deployment.directory.room("lobby-1").await.unwrap().expect("the room is in the directory");
    assert_eq!(room.game_server, deployment.directory.game_servers().await.unwrap()[0].id);

    let mut client = client;
    client.leave_room().unwrap();
    let (client, seen) = drive(client, |client, _| client.state() == ClientState::ConnectedToMasterServer).await;
    assert_eq!(
        states(&seen),
        [
            ClientState::Leaving,
            ClientState::DisconnectingFromGameServer,
            ClientState::ConnectingToMasterServer,
            ClientState::Authenticating,
            ClientState::ConnectedToMasterServer
        ]
    );
    assert_eq!(client.peer().server_public_key(), Some(deployment.master.public_key()));
}

#[tokio::test]
async fn in_one_process_the_client_joins_without_switching() {
    let server = start_server(test_config()).await;
    let mut client = realtime(&server);
    client.connect(AuthValues::new(AuthType::None)).unwrap();
    let (mut client, _) = drive(client, |client, _| client.state() == ClientState::ConnectedToMasterServer).await;
    client.join_or_create_room("here", RoomOptions::default()).unwrap();
    let (mut client, seen) = drive(client, |client, _| client.state() == ClientState::Joined).await;
    assert_eq!(states(&seen), [ClientState::Joining, ClientState::Joined]);
    client.leave_room().unwrap();
    let (_, seen) = drive(client, |client, _| client.state() == ClientState::ConnectedToMasterServer).await;
    assert_eq!(states(&seen), [ClientState::Leaving, ClientState::ConnectedToMasterServer]);
}

#[tokio::test]
async fn a_game_server_admits_only_players_with_a_token_and_a_master_matches_only_authenticated_ones() {
    let deployment = deployment(1).await;
    let mut stranger = Client::encrypted(deployment.games[0].local_addr()).await;
    let join = named("r", JoinMode::CreateIfNotExists, RoomOptions::default());
    assert_eq!(ask(&mut stranger, join.clone()).await.0, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    let anonymous = AuthValues::new(AuthType::None).to_request().unwrap();
    stranger.send(anonymous.op_code, anonymous.params, SendOptions::ENCRYPTED).await;
    let (response, _) = stranger.response(op_code::AUTHENTICATE).await;
    assert_eq!(response.return_code, return_code::INVALID_AUTHENTICATION);
    assert!(response.debug_message.unwrap().contains("server token"));
    let random = RoomRequest::new(None, None, RoomOptions::default());

    let mut unknown = Client::encrypted(deployment.master.local_addr()).await;
    assert_eq!(ask(&mut unknown, join).await.0, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    assert_eq!(ask(&mut unknown, random).await.0, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
}

/// Authenticates a raw client: anonymously, or with `token`. Returns the token the answer carries.
async fn authenticate(client: &mut Client, token: Option<&[u8]>) -> (i16, Option<Vec<u8>>) {
    let values = match token {
        Some(token) => {
            let mut values = AuthValues::new(AuthType::Token);
            values.set_token(token).unwrap();
            values
        }
        None => AuthValues::new(AuthType::None),
    };
    let request = values.to_request().unwrap();
    client.send(request.op_code, request.params, SendOptions::ENCRYPTED).await;
    let (response, _) = client.response(request.op_code).await;
    (response.return_code, sealnet::auth::ServerToken::from_params(&response.params).map(|token| token.bytes))
}

#[tokio::test]
async fn a_game_server_hosts_only_the_room_a_master_placed_there_with_its_creators_options() {
    let deployment = deployment(1).await;
    let (master, game) = (deployment.master.local_addr(), deployment.games[0].local_addr());
    let mut player = Client::encrypted(master).await;
    let (code, login_token) = authenticate(&mut player, None).await;
    assert_eq!(code, return_code::OK);

    // A token without a room ticket admits the player, but creates no room.
    let mut bypass = Client::encrypted(game).await;
    assert_eq!(authenticate(&mut bypass, login_token.as_deref()).await.0, return_code::OK);
    let own = named("of-my-own", JoinMode::CreateIfNotExists, RoomOptions::default());
    assert_eq!(ask(&mut bypass, own).await.0, return_code::GAME_DOES_NOT_EXIST);

    // The master's answer carries a ticket for its room only, with the options asked for.
    let small = RoomOptions { max_players: 1, ..RoomOptions::default() };
    let (code, params) = ask(&mut player, named("placed", JoinMode::CreateOnly, small)).await;
    assert_eq!(code, return_code::OK);
    let ticket = sealnet::auth::ServerToken::from_params(&params).unwrap().bytes;
    let mut first = Client::encrypted(game).await;
    assert_eq!(authenticate(&mut first, Some(&ticket)).await.0, return_code::OK);
    let elsewhere = named("elsewhere", JoinMode::CreateIfNotExists, RoomOptions::default());
    assert_eq!(ask(&mut first, elsewhere).await.0, return_code::GAME_DOES_NOT_EXIST, "not the ticket's room");
    // Asking for other options changes nothing: the room is created with the ticket's (one player).
    let roomy = named("placed", JoinMode::CreateIfNotExists, RoomOptions { max_players: 50, ..RoomOptions::default() });
    assert_eq!(ask(&mut first, roomy.clone()).await.0, return_code::OK);
    let mut second = Client::encrypted(game).await;
    assert_eq!(authenticate(&mut second, Some(&ticket)).await.0, return_code::OK);
    assert_eq!(ask(&mut second, roomy).await.0, return_code::GAME_FULL);
}

#[tokio::test]
async fn a_master_bounds_the_room_requests_of_one_connection() {
    let deployment = deployment(1).await;
    let mut player = Client::encrypted(deployment.master.local_addr()).await;
    assert_eq!(authenticate(&mut player, None).await.0, return_code::OK);
    let mut codes = Vec::new();
    for index in 0..12 {
        let request = named(&format!("burst-{index}"), JoinMode::CreateOnly, RoomOptions::default());
        codes.push(ask(&mut player, request).await.0);
    }
    // The burst of 10 gets rooms; the rest wait for the budget to refill (2 per second).
    assert_eq!(codes.iter().filter(|code| **code == return_code::OK).count(), 10, "{codes:?}");
    assert_eq!(codes[10..], [return_code::SERVER_BUSY, return_code::SERVER_BUSY]);
}

#[test]
fn every_master_address_is_checked_at_login() {
    let mut client = RealtimeClient::new(ClientConfig {
        peer: PeerConfig::default(),
        masters: vec!["127.0.0.1:4530".into(), "no port here".into()],
        master_key: None,
        app_id: "demo".into(),
        app_version: None,
    });
    let refused = client.connect(AuthValues::new(AuthType::None));
    assert_eq!(refused, Err(sealnet::realtime::ClientError::Peer(sealnet::peer::PeerError::InvalidAddress)));
    assert_eq!(client.state(), ClientState::PeerCreated, "nothing started");
}
