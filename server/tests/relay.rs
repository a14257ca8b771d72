//! Connecting, rooms and relaying, over real sockets against an in-process server.

mod support;

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::frame::Delivery;
use sealnet::protocol::message::Versions;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{OpCodeSet, SessionConfig};
use sealnet::protocol::status::{op_code, return_code, DisconnectReason, StatusCode};
use support::*;

#[tokio::test]
async fn unknown_app_id_is_refused_with_its_reason() {
    let server = start_server(test_config()).await;
    let mut client = Client::start(server.local_addr(), "not-an-app", SessionConfig::default()).await;
    let refused = client.status(StatusCode::DisconnectByServerLogic).await;
    assert_eq!(refused.reason, DisconnectReason::UnknownAppId as u16);
    assert_eq!(refused.message, "unknown app id");
    client.until_closed().await;
    assert!(!client.statuses.iter().any(|s| s.code == StatusCode::Connect));
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused_as_server_full() {
    let mut config = test_config();
    config.max_connections = 1;
    let server = start_server(config).await;
    let _first = Client::encrypted(server.local_addr()).await;
    let mut second = Client::start(server.local_addr(), "demo", SessionConfig::default()).await;
    let refused = second.status(StatusCode::DisconnectByServerUserLimit).await;
    assert_eq!(refused.reason, DisconnectReason::ServerFull as u16);
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test]
async fn joining_assigns_actor_numbers_and_announces_joins() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut a = Client::encrypted(addr).await;
    let mut b = Client::encrypted(addr).await;
    let mut c = Client::encrypted(addr).await;
    let mut elsewhere = Client::encrypted(addr).await;

    assert_eq!(a.join("lobby").await, (1, vec![1]));
    let (join, encrypted) = a.event().await;
    assert_eq!((join.code, join.sender), (EVENT_JOIN, 1));
    assert_eq!((int(join.params.get(ACTOR_NR)), ints(join.params.get(ACTOR_LIST))), (1, vec![1]));
    assert!(encrypted, "membership events are encrypted for members with keys");

    assert_eq!(b.join("lobby").await, (2, vec![1, 2]));
    for client in [&mut a, &mut b] {
        let (join, _) = client.event().await;
        assert_eq!(
            (join.code, int(join.params.get(ACTOR_NR)), ints(join.params.get(ACTOR_LIST))),
            (EVENT_JOIN, 2, vec![1, 2])
        );
    }
    assert_eq!(c.join("lobby").await, (3, vec![1, 2, 3]));
    assert_eq!(elsewhere.join("other").await, (1, vec![1]), "actor numbers are per room");
    assert_eq!(server.room_count(), 2);

    // Joining again while in a room is refused; the membership stays.
    assert_eq!(a.event().await.0.sender, 3);
    let mut params = Params::new();
    params.insert(ROOM_NAME, "other");
    a.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (response, encrypted) = a.response(op_code::JOIN_ROOM).await;
    assert_eq!(response.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    assert!(encrypted, "responses are encrypted when the request was");

    // A missing room name is an invalid operation.
    c.event().await; // its own join
    c.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    assert_eq!(c.response(op_code::LEAVE_ROOM).await.0.return_code, 0);
    c.send(op_code::JOIN_ROOM, Params::new(), SendOptions::RELIABLE).await;
    let (response, encrypted) = c.response(op_code::JOIN_ROOM).await;
    assert_eq!(response.return_code, return_code::INVALID_OPERATION);
    assert!(!encrypted);
}

#[tokio::test]
async fn leaving_and_disconnecting_announce_and_empty_rooms_vanish() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut a = Client::encrypted(addr).await;
    let mut b = Client::encrypted(addr).await;
    let mut c = Client::encrypted(addr).await;
    a.join_and_settle("r").await;
    b.join_and_settle("r").await;
    c.join_and_settle("r").await;
    a.event().await; // b's join
    a.event().await; // c's join
    b.event().await; // c's join

    c.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    let (response, _) = c.response(op_code::LEAVE_ROOM).await;
    assert_eq!(response.return_code, 0);
    c.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    let (response, _) = c.response(op_code::LEAVE_ROOM).await;
    assert_eq!(response.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    for client in [&mut a, &mut b] {
        let (leave, _) = client.event().await;
        assert_eq!((leave.code, leave.sender, ints(leave.params.get(ACTOR_LIST))), (EVENT_LEAVE, 3, vec![1, 2]));
    }

    // A disconnect leaves the room too.
    a.session.disconnect(DisconnectReason::ClientRequest, "bye");
    a.until_closed().await;
    let (leave, _) = b.event().await;
    assert_eq!(
        (leave.code, int(leave.params.get(ACTOR_NR)), ints(leave.params.get(ACTOR_LIST))),
        (EVENT_LEAVE, 1, vec![2])
    );

    // The last member leaves: the room is removed, so the next join starts over at actor 1.
    b.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    assert_eq!(b.response(op_code::LEAVE_ROOM).await.0.return_code, 0);
    assert_eq!(server.room_count(), 0);
    assert_eq!(c.join("r").await, (1, vec![1]));
}

#[tokio::test]
async fn encrypted_and_plain_events_reach_the_other_members() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = Client::encrypted(addr).await;
        client.join("r").await;
        clients.push(client);
    }
    for (index, client) in clients.iter_mut().enumerate() {
        for _ in index..3 {
            assert_eq!(client.event().await.0.code, EVENT_JOIN);
        }
    }

    let options = SendOptions { encrypt: true, delivery: Delivery::ReliableUnsequenced, channel: 3 };
    clients[0].raise(7, Some(Value::String("secret move".into())), None, options).await;
    clients[0].raise(8, Some(Value::Int(42)), None, SendOptions::RELIABLE).await;
    for receiver in &mut clients[1..] {
        let (event, encrypted) = receiver.event().await;
        assert_eq!((event.code, event.sender), (7, 1));
        assert_eq!(event.params.get(DATA), Some(&Value::String("secret move".into())));
        assert_eq!(int(event.params.get(ACTOR_NR)), 1);
        assert!(encrypted, "an encrypted event stays encrypted for every recipient");

        let (event, encrypted) = receiver.event().await;
        assert_eq!((event.code, event.params.get(DATA)), (8, Some(&Value::Int(42))));
        assert!(!encrypted, "a plain event stays plain");
    }
    // Nothing skipped, so no response; the sender (Others) gets no copy either.
    clients[0].barrier().await;
    assert!(clients[0].try_next().is_none());

    // An event without data carries only the sender.
    clients[1].raise(9, None, None, SendOptions::ENCRYPTED).await;
    let (event, _) = clients[2].event().await;
    assert_eq!(event.params.get(DATA), None);
    assert_eq!(int(event.params.get(ACTOR_NR)), 2);
}

#[tokio::test]
async fn recipients_without_keys_are_skipped_for_encrypted_events_only() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut sender = Client::encrypted(addr).await;
    let mut keyed = Client::encrypted(addr).await;
    let mut keyless_a = Client::plain(addr).await;
    let mut keyless_b = Client::plain(addr).await;
    sender.join_and_settle("r").await;
    keyed.join_and_settle("r").await;
    keyless_a.join_and_settle("r").await;
    keyless_b.join_and_settle("r").await;
    for _ in 0..3 {
        assert_eq!(sender.event().await.0.code, EVENT_JOIN);
    }
    for _ in 0..2 {
        assert_eq!(keyed.event().await.0.code, EVENT_JOIN);
    }
    let (join, encrypted) = keyless_a.event().await;
    assert!(join.code == EVENT_JOIN && !encrypted, "a member without keys gets plain membership events");

    sender.raise(5, Some(Value::String("classified".into())), None, SendOptions::ENCRYPTED).await;
    let (response, encrypted) = sender.response(op_code::RAISE_EVENT).await;
    assert!(encrypted);
    assert_eq!(response.return_code, return_code::OK);
    assert_eq!(int(response.params.get(SKIPPED)), 2);
    assert_eq!(int(response.params.get(DELIVERED)), 1);
    assert_eq!(response.debug_message.as_deref(), Some("2 recipients skipped: no encryption keys"));
    let (event, encrypted) = keyed.event().await;
    assert!(event.code == 5 && encrypted);

    sender.raise(6, Some(Value::String("public".into())), None, SendOptions::RELIABLE).await;
    for client in [&mut keyed, &mut keyless_a, &mut keyless_b] {
        let (event, encrypted) = client.event().await;
        assert_eq!((event.code, encrypted), (6, false), "the keyless members never saw event 5");
    }
    sender.barrier().await;
    assert!(sender.try_next().is_none(), "no response when nobody was skipped");
}

#[tokio::test]
async fn version_one_members_are_skipped_for_events_holding_newer_types() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut sender = Client::encrypted(addr).await;
    let mut current = Client::encrypted(addr).await;
    let v1_config = SessionConfig { versions: Versions::V1, ..SessionConfig::default() };
    let mut old = Client::start(addr, "demo", v1_config).await;
    old.status(StatusCode::EncryptionEstablished).await;
    assert_eq!(old.session.protocol_version(), 1);
    sender.join_and_settle("r").await;
    current.join_and_settle("r").await;
    old.join_and_settle("r").await;
    for _ in 0..2 {
        assert_eq!(sender.event().await.0.code, EVENT_JOIN);
    }
    assert_eq!(current.event().await.0.code, EVENT_JOIN);

    // A short inside a version-1 array: only version-2 members can decode it.
    let newer = Value::Array(vec![Value::Int(1), Value::Short(-2)]);
    sender.raise(5, Some(newer.clone()), None, SendOptions::ENCRYPTED).await;
    let (response, _) = sender.response(op_code::RAISE_EVENT).await;
    assert_eq!(response.return_code, return_code::OK);
    assert_eq!((int(response.params.get(SKIPPED)), int(response.params.get(DELIVERED))), (1, 1));
    assert_eq!(
        response.debug_message.as_deref(),
        Some("1 recipient skipped: the event holds value types of protocol version 2, which they do not speak")
    );
    let (event, _) = current.event().await;
    assert_eq!((event.code, event.params.get(DATA)), (5, Some(&newer)));

    // The version-1 member is still connected and gets the next version-1 event, and only that.
    sender.raise(6, Some(Value::Int(7)), None, SendOptions::ENCRYPTED).await;
    let (event, _) = old.event().await;
    assert_eq!((event.code, event.params.get(DATA)), (6, Some(&Value::Int(7))));
    assert_eq!(current.event().await.0.code, 6);
    sender.barrier().await;
    assert!(sender.try_next().is_none(), "no response when nobody was skipped");
}

#[tokio::test]
async fn actor_lists_are_int_arrays_packed_on_version_2_and_generic_on_version_1() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut current = Client::encrypted(addr).await;
    let v1_config = SessionConfig { versions: Versions::V1, ..SessionConfig::default() };
    let mut old = Client::start(addr, "demo", v1_config).await;
    old.status(StatusCode::EncryptionEstablished).await;
    current.join_and_settle("r").await;
    let mut params = Params::new();
    params.insert(ROOM_NAME, "r");
    old.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (response, _) = old.response(op_code::JOIN_ROOM).await;
    let generic = Value::Array(vec![Value::Int(1), Value::Int(2)]);
    assert_eq!(response.params.get(ACTOR_LIST), Some(&generic), "version 1 has no packed arrays");
    let (join, _) = old.event().await;
    assert_eq!(join.params.get(ACTOR_LIST), Some(&generic));
    let (join, _) = current.event().await;
    assert_eq!(join.params.get(ACTOR_LIST), Some(&Value::IntArray(vec![1, 2])), "Photon's int[] on version 2");
}

#[tokio::test]
async fn receiver_groups_select_others_all_or_the_master_client() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = Client::encrypted(addr).await;
        client.join("groups").await;
        clients.push(client);
    }
    for (index, client) in clients.iter_mut().enumerate() {
        for _ in index..3 {
            client.event().await;
        }
    }
    // Actor 2 raises one event per group, then a marker to All that closes the sequence.
    for (code, group) in [(10, Some(0)), (11, None), (12, Some(1)), (13, Some(2))] {
        clients[1].raise(code, Some(Value::Int(code)), group, SendOptions::ENCRYPTED).await;
    }
    clients[1].raise(99, None, Some(1), SendOptions::ENCRYPTED).await;
    let mut seen = Vec::new();
    for client in &mut clients {
        let mut codes = Vec::new();
        loop {
            let (event, _) = client.event().await;
            assert_eq!(event.sender, 2);
            if event.code == 99 {
                break;
            }
            codes.push(event.code);
        }
        seen.push(codes);
    }
    assert_eq!(seen[0], [10, 11, 12, 13], "actor 1 is the master client");
    assert_eq!(seen[1], [12], "the sender gets only All");
    assert_eq!(seen[2], [10, 11, 12]);

    // The master client is the lowest actor number present; it may be the sender itself.
    clients[0].raise(14, None, Some(2), SendOptions::ENCRYPTED).await;
    clients[0].raise(99, None, Some(1), SendOptions::ENCRYPTED).await;
    assert_eq!(clients[0].event().await.0.code, 14);
    assert_eq!(clients[0].event().await.0.code, 99);
    assert_eq!(clients[2].event().await.0.code, 99);

    // Bad groups and codes are refused.
    clients[0].raise(1, None, Some(3), SendOptions::ENCRYPTED).await;
    assert_eq!(clients[0].response(op_code::RAISE_EVENT).await.0.return_code, return_code::INVALID_OPERATION);
    clients[0].raise(200, None, None, SendOptions::ENCRYPTED).await;
    assert_eq!(clients[0].response(op_code::RAISE_EVENT).await.0.return_code, return_code::INVALID_OPERATION);
}

#[tokio::test]
async fn raising_outside_a_room_and_unknown_operations_are_errors() {
    let server = start_server(test_config()).await;
    let mut client = Client::encrypted(server.local_addr()).await;
    client.raise(1, None, None, SendOptions::ENCRYPTED).await;
    let (response, encrypted) = client.response(op_code::RAISE_EVENT).await;
    assert_eq!(response.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    assert!(encrypted);

    client.send(77, Params::new(), SendOptions::ENCRYPTED).await;
    let (response, encrypted) = client.response(77).await;
    assert_eq!(response.return_code, return_code::INVALID_OPERATION);
    assert_eq!(response.debug_message.as_deref(), Some("unknown operation 77"));
    assert!(encrypted);
}

#[tokio::test]
async fn a_client_sending_garbage_is_disconnected_and_the_room_carries_on() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut bad = Client::encrypted(addr).await;
    let mut a = Client::encrypted(addr).await;
    let mut b = Client::encrypted(addr).await;
    bad.join_and_settle("r").await;
    a.join_and_settle("r").await;
    b.join_and_settle("r").await;
    a.event().await;

    bad.write_raw(&[0xEE; 40]).await;
    let status = bad.status(StatusCode::DisconnectByServerLogic).await;
    assert_eq!(status.reason, DisconnectReason::ProtocolViolation as u16);
    assert!(!status.message.is_empty());
    bad.until_closed().await;

    for client in [&mut a, &mut b] {
        let (leave, _) = client.event().await;
        assert_eq!((leave.code, int(leave.params.get(ACTOR_NR))), (EVENT_LEAVE, 1));
    }
    a.raise(3, Some(Value::String("still here".into())), None, SendOptions::ENCRYPTED).await;
    let (event, encrypted) = b.event().await;
    assert!(event.code == 3 && event.sender == 2 && encrypted);

    // A connection that never sent a valid frame is dropped the same way.
    let mut raw = Client::start(addr, "demo", SessionConfig::default()).await;
    raw.write_raw(b"GET / HTTP/1.1\r\n\r\n").await;
    raw.until_closed().await;
    assert!(!raw.statuses.iter().any(|s| s.code == StatusCode::Connect), "{:?}", raw.statuses);
}

#[tokio::test]
async fn must_encrypt_operations_in_clear_are_answered_by_the_core() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    // A client that does not enforce must-encrypt itself, so the server's side is what is tested.
    let lax = SessionConfig { must_encrypt: OpCodeSet::empty(), ..SessionConfig::default() };

    let mut keyed = Client::start(addr, "demo", lax.clone()).await;
    keyed.status(StatusCode::EncryptionEstablished).await;
    for op in [op_code::AUTHENTICATE, op_code::AUTHENTICATE_ONCE] {
        let mut params = Params::new();
        params.insert(1, "token");
        keyed.send(op, params, SendOptions::RELIABLE).await;
        let (response, encrypted) = keyed.response(op).await;
        assert_eq!(response.return_code, return_code::MUST_ENCRYPT);
        assert!(!encrypted);
    }
    // Sent encrypted, it reaches the server's authentication, which has no backend to check it.
    let custom = sealnet::auth::AuthValues::new(sealnet::auth::AuthType::Custom).to_request().unwrap();
    keyed.send(op_code::AUTHENTICATE, custom.params, SendOptions::ENCRYPTED).await;
    let (response, encrypted) = keyed.response(op_code::AUTHENTICATE).await;
    assert_eq!(response.return_code, return_code::INVALID_AUTHENTICATION);
    assert!(encrypted);

    let keyless = SessionConfig { auto_key_exchange: false, ..lax };
    let mut plain = Client::start(addr, "demo", keyless).await;
    plain.status(StatusCode::Connect).await;
    plain.send(op_code::AUTHENTICATE, Params::new(), SendOptions::RELIABLE).await;
    assert_eq!(plain.response(op_code::AUTHENTICATE).await.0.return_code, return_code::MUST_ENCRYPT);
    // The connection stays usable.
    plain.barrier().await;
}

#[tokio::test]
async fn a_member_that_stops_reading_is_disconnected_as_a_slow_consumer() {
    let mut config = test_config();
    config.outbound_queue = 4;
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut sender = Client::encrypted(addr).await;
    let mut slow = Client::start_small_buffer(addr, "demo", SessionConfig::default()).await;
    slow.status(StatusCode::EncryptionEstablished).await;
    sender.join_and_settle("r").await;
    let (slow_actor, _) = slow.join("r").await;
    assert_eq!(sender.event().await.0.code, EVENT_JOIN);

    // The slow client reads nothing from here on; the sender floods until the server gives up on it.
    let chunk = Value::Bytes(vec![0x5A; 30 * 1024]);
    let mut sent = 0;
    let left = loop {
        if let Some(event) = sender.try_next() {
            break event;
        }
        assert!(sent < 2000, "the slow member was never disconnected");
        sender.raise(1, Some(chunk.clone()), None, SendOptions::RELIABLE).await;
        sent += 1;
    };
    let sealnet::protocol::session::SessionEvent::Event { event, .. } = left else { panic!("{left:?}") };
    assert_eq!((event.code, int(event.params.get(ACTOR_NR))), (EVENT_LEAVE, slow_actor));

    // The server keeps working for the others, and the slow client ends up disconnected.
    sender.barrier().await;
    slow.until_closed().await;
    let reasons: Vec<u16> = slow.statuses.iter().map(|s| s.reason).filter(|&r| r != 0).collect();
    assert!(reasons.iter().all(|&r| r == DisconnectReason::SlowConsumer as u16), "{:?}", slow.statuses);
}

#[tokio::test]
async fn the_join_response_comes_before_the_joiners_own_join_event_on_channel_zero() {
    let server = start_server(test_config()).await;
    let mut client = Client::encrypted(server.local_addr()).await;
    let mut params = Params::new();
    params.insert(ROOM_NAME, "order");
    // The request goes on channel 3, unreliable: the response follows the request, the Join event
    // is a system event (reliable, channel 0).
    client
        .send(op_code::JOIN_ROOM, params, SendOptions { encrypt: true, delivery: Delivery::Unreliable, channel: 3 })
        .await;
    match client.next().await {
        sealnet::protocol::session::SessionEvent::OperationResponse { response, .. } => {
            assert_eq!((response.op_code, response.return_code), (op_code::JOIN_ROOM, return_code::OK))
        }
        other => panic!("the response comes first, got {other:?}"),
    }
    let (event, encrypted) = client.event().await;
    assert_eq!((event.code, encrypted), (EVENT_JOIN, true));
}

#[tokio::test]
async fn a_full_room_refuses_joins_with_game_full() {
    let mut config = test_config();
    config.limits.max_room_size = 2;
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut a = Client::encrypted(addr).await;
    let mut b = Client::encrypted(addr).await;
    let mut c = Client::encrypted(addr).await;
    a.join("small").await;
    b.join("small").await;
    let mut params = Params::new();
    params.insert(ROOM_NAME, "small");
    c.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (response, _) = c.response(op_code::JOIN_ROOM).await;
    assert_eq!(response.return_code, return_code::GAME_FULL);
    assert_eq!(response.debug_message.as_deref(), Some("room \"small\" is full (2 players)"));
    c.join("elsewhere").await;
}

#[tokio::test]
async fn the_event_data_limit_applies_to_the_data_not_the_relayed_event() {
    let mut config = test_config();
    config.limits.max_event_data_bytes = 1000;
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut sender = Client::encrypted(addr).await;
    let mut receiver = Client::encrypted(addr).await;
    sender.join_and_settle("sized").await;
    receiver.join_and_settle("sized").await;
    assert_eq!(sender.event().await.0.code, EVENT_JOIN);
    // Exactly at the limit: a Bytes value of 997 bytes is 1000 encoded (tag, 2-byte length, data).
    sender.raise(1, Some(Value::Bytes(vec![1; 997])), None, SendOptions::ENCRYPTED).await;
    assert_eq!(receiver.event().await.0.code, 1, "data at the limit is relayed, event header and all");
    sender.raise(1, Some(Value::Bytes(vec![1; 998])), None, SendOptions::ENCRYPTED).await;
    let (response, _) = sender.response(op_code::RAISE_EVENT).await;
    assert_eq!(response.return_code, return_code::INVALID_OPERATION);
    assert_eq!(response.debug_message.as_deref(), Some("event data of 1001 bytes exceeds the limit of 1000 bytes"));
}

#[tokio::test]
async fn one_skipped_recipient_is_reported_in_the_singular() {
    let server = start_server(test_config()).await;
    let addr = server.local_addr();
    let mut sender = Client::encrypted(addr).await;
    let mut keyless = Client::plain(addr).await;
    sender.join_and_settle("grammar").await;
    keyless.join_and_settle("grammar").await;
    assert_eq!(sender.event().await.0.code, EVENT_JOIN);
    sender.raise(2, Some(Value::Int(1)), None, SendOptions::ENCRYPTED).await;
    let (response, _) = sender.response(op_code::RAISE_EVENT).await;
    assert_eq!(response.debug_message.as_deref(), Some("1 recipient skipped: no encryption keys"));
    // An event too large to send in clear skips a member without keys, and says so.
    sender.raise(3, Some(Value::Bytes(vec![0; 5000])), None, SendOptions::RELIABLE).await;
    let (response, _) = sender.response(op_code::RAISE_EVENT).await;
    assert_eq!(
        response.debug_message.as_deref(),
        Some("1 recipient skipped: too large to send without encryption keys")
    );
}

#[tokio::test]
async fn a_shipped_version_1_client_gets_exactly_the_version_1_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start_server(test_config()).await;
    let mut stream = tokio::net::TcpStream::connect(server.local_addr()).await.unwrap();
    // docs/protocol.md 12.2: the Connect a version-1 client sends, byte for byte (app id "demo").
    let connect = [1, 0x01, 0x04, 0, 0, 0, 0, 9, 4, b'd', b'e', b'm', b'o', 3, b'1', b'.', b'0'];
    stream.write_all(&connect).await.unwrap();
    let mut ack = [0u8; 11];
    tokio::time::timeout(WAIT, stream.read_exact(&mut ack)).await.expect("answered in time").unwrap();
    // The version-1 accepting ConnectAck of 12.2: no version range, version byte 1.
    assert_eq!(ack, [1, 0x02, 0x04, 0, 0, 0, 0, 3, 0, 0, 0]);
}
