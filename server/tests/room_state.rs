//! What a room remembers, over real sockets with several clients: room and player properties set by
//! SetProperties (252) and broadcast as PropertiesChanged (253), compare-and-set with expected values
//! (231), the master client and its handover, and the event cache (RaiseEvent option 247) that a late
//! joiner receives in order before live events.

mod support;

use sealnet::protocol::codec::{Key, Params, Table, Value};
use sealnet::protocol::message::EventData;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::SessionEvent;
use sealnet::protocol::status::{op_code, return_code};
use sealnet::rooms::{
    CACHE, CACHE_ADD, CACHE_REMOVE, CACHE_REMOVE_OF_ACTORS_LEFT, EVENT_PROPERTIES_CHANGED, EXPECTED_VALUES,
    GAME_PROPERTIES, MASTER_CLIENT_ID, PLAYER_PROPERTIES, PROPERTIES, PROP_CLEANUP_CACHE_ON_LEAVE, PROP_IS_OPEN,
    PROP_MASTER_CLIENT_ID, RECEIVERS_MASTER_CLIENT, TARGET_ACTOR,
};
use support::*;

const MARKER: i32 = 99;

fn props(entries: &[(&str, Value)]) -> Table {
    entries.iter().map(|(key, value)| (Key::String((*key).into()), value.clone())).collect()
}

fn string_key(name: &str) -> Key {
    Key::String(name.into())
}

/// Sends SetProperties and returns the response's return code and message.
async fn set(client: &mut Client, target: i32, changes: Table, expected: Option<Table>) -> (i16, String) {
    let mut params = Params::new();
    params.insert(PROPERTIES, Value::Table(changes));
    if target != 0 {
        params.insert(TARGET_ACTOR, target);
    }
    if let Some(expected) = expected {
        params.insert(EXPECTED_VALUES, Value::Table(expected));
    }
    client.send(op_code::SET_PROPERTIES, params, SendOptions::ENCRYPTED).await;
    let (response, _) = client.response(op_code::SET_PROPERTIES).await;
    (response.return_code, response.debug_message.unwrap_or_default())
}

/// The next event, which must be PropertiesChanged: (target actor, changed properties, sender).
async fn properties_changed(client: &mut Client) -> (i32, Table, i32) {
    let (event, _) = client.event().await;
    assert_eq!(event.code, EVENT_PROPERTIES_CHANGED, "{event:?}");
    let Some(Value::Table(changed)) = event.params.get(PROPERTIES) else { panic!("{event:?}") };
    (int(event.params.get(TARGET_ACTOR)), changed.clone(), int(event.params.get(ACTOR_NR)))
}

/// Joins with the full answer, and consumes the joiner's own Join event.
async fn join_answer(client: &mut Client, room: &str, game_properties: Option<Table>) -> Params {
    let mut params = Params::new();
    params.insert(ROOM_NAME, room);
    if let Some(table) = game_properties {
        params.insert(GAME_PROPERTIES, Value::Table(table));
    }
    client.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (response, _) = client.response(op_code::JOIN_ROOM).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    let (event, _) = client.event().await;
    assert_eq!(event.code, EVENT_JOIN);
    response.params
}

/// Raises `code` with `data` and the cache option (if any); events go to Others.
async fn raise_cached(client: &mut Client, code: i32, data: i32, cache: Option<u8>, actors: Option<Vec<i32>>) {
    let mut params = Params::new();
    params.insert(CODE, code);
    params.insert(DATA, data);
    if let Some(cache) = cache {
        params.insert(CACHE, Value::Byte(cache));
    }
    if let Some(actors) = actors {
        params.insert(ACTOR_LIST, Value::IntArray(actors));
    }
    client.send(op_code::RAISE_EVENT, params, SendOptions::ENCRYPTED).await;
}

/// Events up to the marker from `from`, as (code, data).
async fn events_until_marker(client: &mut Client) -> Vec<(u8, i32)> {
    let mut got = Vec::new();
    loop {
        let (event, _) = client.event().await;
        if event.code as i32 == MARKER {
            return got;
        }
        got.push((event.code, data_of(&event)));
    }
}

async fn marker(client: &mut Client) {
    client.raise(MARKER, None, Some(1), SendOptions::ENCRYPTED).await;
}

/// An event's Int data; -1 for one without (Join, Leave).
fn data_of(event: &EventData) -> i32 {
    match event.params.get(DATA) {
        Some(Value::Int(data)) => *data,
        _ => -1,
    }
}

fn event_of(event: &EventData) -> (u8, i32) {
    (event.code, event.sender)
}

#[tokio::test]
async fn properties_reach_every_member_and_a_late_joiner_reads_them_in_the_join_answer() {
    let server = start_server(test_config()).await;
    let mut a = Client::encrypted(server.local_addr()).await;
    let mut b = Client::encrypted(server.local_addr()).await;
    let created = join_answer(&mut a, "props", Some(props(&[("map", Value::String("dust".into()))]))).await;
    let Some(Value::Table(room)) = created.get(GAME_PROPERTIES) else { panic!("{created:?}") };
    assert_eq!(room.get(&string_key("map")), Some(&Value::String("dust".into())), "created with it");
    assert_eq!(room.get(&Key::Byte(PROP_IS_OPEN)), Some(&Value::Bool(true)), "the built-ins are listed");
    assert_eq!(int(created.get(MASTER_CLIENT_ID)), 1, "the creator is the master client");
    join_answer(&mut b, "props", None).await;
    assert_eq!(event_of(&a.event().await.0), (EVENT_JOIN, 2));

    // A room property, from the second player: everyone, the setter too, gets the change.
    let (code, message) = set(&mut b, 0, props(&[("round", Value::Int(1)), ("map", Value::Null)]), None).await;
    assert_eq!(code, return_code::OK, "{message}");
    for client in [&mut a, &mut b] {
        let (target, changed, sender) = properties_changed(client).await;
        assert_eq!((target, sender), (0, 2));
        assert_eq!(changed.get(&string_key("round")), Some(&Value::Int(1)));
        assert_eq!(changed.get(&string_key("map")), Some(&Value::Null), "a removal is a Null");
    }
    // A player property of player 1, set by itself.
    let (code, _) = set(&mut a, 1, props(&[("team", Value::String("red".into()))]), None).await;
    assert_eq!(code, return_code::OK);
    for client in [&mut a, &mut b] {
        let (target, changed, _) = properties_changed(client).await;
        assert_eq!((target, changed.get(&string_key("team"))), (1, Some(&Value::String("red".into()))));
    }

    let mut c = Client::encrypted(server.local_addr()).await;
    let answer = join_answer(&mut c, "props", None).await;
    let Some(Value::Table(room)) = answer.get(GAME_PROPERTIES) else { panic!("{answer:?}") };
    assert_eq!(room.get(&string_key("round")), Some(&Value::Int(1)));
    assert_eq!(room.get(&string_key("map")), None, "removed");
    let Some(Value::Table(players)) = answer.get(PLAYER_PROPERTIES) else { panic!("{answer:?}") };
    let Some(Value::Table(first)) = players.get(&Key::Int(1)) else { panic!("{players:?}") };
    assert_eq!(first.get(&string_key("team")), Some(&Value::String("red".into())));
    assert_eq!(players.len(), 3, "every member, the joiner too");
}

#[tokio::test]
async fn compare_and_set_applies_only_when_the_expected_values_match() {
    let server = start_server(test_config()).await;
    let mut a = Client::encrypted(server.local_addr()).await;
    let mut b = Client::encrypted(server.local_addr()).await;
    join_answer(&mut a, "cas", None).await;
    join_answer(&mut b, "cas", None).await;
    a.event().await;

    // Expecting an absent key (Null) claims it once.
    let claim = || (props(&[("owner", Value::Int(1))]), Some(props(&[("owner", Value::Null)])));
    let (changes, expected) = claim();
    assert_eq!(set(&mut a, 0, changes, expected).await.0, return_code::OK);
    properties_changed(&mut a).await;
    properties_changed(&mut b).await;
    let (changes, expected) = (props(&[("owner", Value::Int(2))]), Some(props(&[("owner", Value::Null)])));
    let (code, message) = set(&mut b, 0, changes, expected).await;
    assert_eq!(code, return_code::PROPERTIES_CONFLICT, "{message}");
    assert!(message.contains("\"owner\"") && message.contains("nothing changed"), "{message}");

    // The right expected value (an integer of another width compares by number) applies.
    let (changes, expected) = (props(&[("owner", Value::Int(2))]), Some(props(&[("owner", Value::Byte(1))])));
    assert_eq!(set(&mut b, 0, changes, expected).await.0, return_code::OK);
    let (_, changed, sender) = properties_changed(&mut a).await;
    assert_eq!((changed.get(&string_key("owner")), sender), (Some(&Value::Int(2)), 2));
    properties_changed(&mut b).await;

    // Nobody got an event for the refused change: the next event anyone sees is the marker.
    marker(&mut a).await;
    assert!(events_until_marker(&mut a).await.is_empty());
    assert!(events_until_marker(&mut b).await.is_empty());

    // Bad requests change nothing and say why.
    for (target, changes, what) in [
        (0, props(&[]), "at least one entry"),
        (0, [(Key::Byte(PROP_IS_OPEN), Value::Int(1))].into_iter().collect(), "must be a Bool"),
        (0, [(Key::Byte(7), Value::Int(1))].into_iter().collect(), "not one the server knows"),
        (1, [(Key::Byte(255), Value::String("x".into()))].into_iter().collect(), "the server's"),
        (9, props(&[("x", Value::Int(1))]), "actor 9 is not in the room"),
        (0, props(&[("big", Value::Bytes(vec![0; 20_000]))]), "over the limit"),
    ] {
        let (code, message) = set(&mut a, target, changes, None).await;
        assert_eq!(code, return_code::INVALID_OPERATION, "{what}: {message}");
        assert!(message.contains(what), "{what}: {message}");
    }
}

#[tokio::test]
async fn the_master_client_is_handed_over_when_it_leaves_and_when_it_is_set() {
    let server = start_server(test_config()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut client = Client::encrypted(server.local_addr()).await;
        join_answer(&mut client, "master", None).await;
        clients.push(client);
    }
    for (index, client) in clients.iter_mut().enumerate() {
        for _ in index + 1..3 {
            client.event().await;
        }
    }
    // Set explicitly, compare-and-set on the current master: only the master's view wins.
    let to = |actor: i32| [(Key::Byte(PROP_MASTER_CLIENT_ID), Value::Int(actor))].into_iter().collect::<Table>();
    let (code, _) = set(&mut clients[2], 0, to(3), Some(to(2))).await;
    assert_eq!(code, return_code::PROPERTIES_CONFLICT, "the master is 1, not 2");
    assert_eq!(set(&mut clients[0], 0, to(3), Some(to(1))).await.0, return_code::OK);
    for client in clients.iter_mut() {
        let (_, changed, _) = properties_changed(client).await;
        assert_eq!(changed.get(&Key::Byte(PROP_MASTER_CLIENT_ID)), Some(&Value::Int(3)));
    }
    // MasterClient events now reach actor 3.
    clients[0].raise(5, None, Some(RECEIVERS_MASTER_CLIENT), SendOptions::ENCRYPTED).await;
    assert_eq!(event_of(&clients[2].event().await.0), (5, 1));

    // The master leaves: the Leave event names the next one, the lowest actor left.
    drop(clients.remove(2));
    for client in clients.iter_mut() {
        let (event, _) = client.event().await;
        assert_eq!((event.code, int(event.params.get(MASTER_CLIENT_ID))), (EVENT_LEAVE, 1), "{event:?}");
    }
    // A leave of someone else hands nothing over.
    let mut last = clients.remove(1);
    last.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    let (event, _) = clients[0].event().await;
    assert_eq!((event.code, event.params.get(MASTER_CLIENT_ID)), (EVENT_LEAVE, None));
}

/// The response to `op`, and the events passed over before it, as (code, data).
async fn answer_after(client: &mut Client, op: u8) -> ((i16, String), Vec<(u8, i32)>) {
    let mut passed = Vec::new();
    loop {
        match client.next().await {
            SessionEvent::OperationResponse { response, .. } if response.op_code == op => {
                return ((response.return_code, response.debug_message.unwrap_or_default()), passed)
            }
            SessionEvent::Event { event, .. } => passed.push((event.code, data_of(&event))),
            other => panic!("expected a response to {op}, got {other:?}"),
        }
    }
}

async fn answer(client: &mut Client, op: u8) -> (i16, String) {
    answer_after(client, op).await.0
}

/// Returns once the server has handled everything `client` sent, with the events that arrived
/// meanwhile.
async fn settled(client: &mut Client) -> Vec<(u8, i32)> {
    client.send(1, Params::new(), SendOptions::ENCRYPTED).await;
    let (answer, passed) = answer_after(client, 1).await;
    assert_eq!(answer.0, return_code::INVALID_OPERATION);
    passed
}

/// Joins `room` as a new player and returns what it receives before `fence`'s marker: the cache.
async fn late_joiner(
    server: &sealnet_server::RunningServer,
    room: &str,
    fence: &mut Client,
) -> (Client, Vec<(u8, i32)>) {
    let mut joiner = Client::encrypted(server.local_addr()).await;
    join_answer(&mut joiner, room, None).await;
    marker(fence).await;
    let cached = events_until_marker(&mut joiner).await;
    (joiner, cached)
}

#[tokio::test]
async fn a_late_joiner_gets_the_cache_in_order_before_live_events_and_removals_hold() {
    let server = start_server(test_config()).await;
    let mut a = Client::encrypted(server.local_addr()).await;
    let mut b = Client::encrypted(server.local_addr()).await;
    join_answer(&mut a, "cache", None).await;
    join_answer(&mut b, "cache", None).await;
    a.event().await;
    // Two senders, taking turns so the room's order is known.
    raise_cached(&mut a, 1, 10, Some(CACHE_ADD), None).await;
    let mut a_got = settled(&mut a).await;
    raise_cached(&mut b, 2, 20, Some(CACHE_ADD), None).await;
    let mut b_got = settled(&mut b).await;
    raise_cached(&mut a, 3, 30, None, None).await; // live only
    raise_cached(&mut a, 1, 11, Some(CACHE_ADD), None).await;
    a_got.extend(settled(&mut a).await);
    raise_cached(&mut b, 4, 40, Some(CACHE_ADD), None).await;
    raise_cached(&mut b, 4, 0, Some(CACHE_REMOVE), None).await; // code 4, any sender: relays nothing
    marker(&mut b).await;
    a_got.extend(events_until_marker(&mut a).await);
    b_got.extend(events_until_marker(&mut b).await);
    assert_eq!(a_got, [(2, 20), (4, 40)], "cached events relay live too");
    assert_eq!(b_got, [(1, 10), (3, 30), (1, 11)]);

    let (_c, cached) = late_joiner(&server, "cache", &mut a).await;
    assert_eq!(cached, [(1, 10), (2, 20), (1, 11)], "the cache in order, then live");

    raise_cached(&mut b, 1, 0, Some(CACHE_REMOVE), Some(vec![1])).await;
    settled(&mut b).await;
    let (_d, cached) = late_joiner(&server, "cache", &mut a).await;
    assert_eq!(cached, [(2, 20)], "actor 1's code-1 events removed");

    // A leaving player's events go with it (CleanupCacheOnLeave, on by default).
    b.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    assert_eq!(answer(&mut b, op_code::LEAVE_ROOM).await.0, return_code::OK);
    let (_e, cached) = late_joiner(&server, "cache", &mut a).await;
    assert_eq!(cached, [], "b's event 2 went with it");
}

#[tokio::test]
async fn without_cleanup_a_leavers_events_stay_until_removed_and_the_cache_is_bounded() {
    let mut config = test_config();
    config.limits.max_cached_events = 3;
    let server = start_server(config).await;
    let mut a = Client::encrypted(server.local_addr()).await;
    let mut b = Client::encrypted(server.local_addr()).await;
    let keep: Table = [(Key::Byte(PROP_CLEANUP_CACHE_ON_LEAVE), Value::Bool(false))].into_iter().collect();
    join_answer(&mut a, "kept", Some(keep)).await;
    join_answer(&mut b, "kept", None).await;
    a.event().await;
    raise_cached(&mut b, 7, 70, Some(CACHE_ADD), None).await;
    settled(&mut b).await;
    raise_cached(&mut a, 8, 80, Some(CACHE_ADD), None).await;
    raise_cached(&mut a, 8, 81, Some(CACHE_ADD), None).await;
    raise_cached(&mut a, 8, 82, Some(CACHE_ADD), None).await;
    let (code, message) = answer(&mut a, op_code::RAISE_EVENT).await;
    assert_eq!(code, return_code::INVALID_OPERATION);
    assert!(message.contains("cache is full"), "{message}");
    marker(&mut a).await;
    assert_eq!(events_until_marker(&mut b).await, [(8, 80), (8, 81)], "the refused event was not relayed");

    b.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    assert_eq!(answer(&mut b, op_code::LEAVE_ROOM).await.0, return_code::OK);
    let (_c, cached) = late_joiner(&server, "kept", &mut a).await;
    assert_eq!(cached, [(7, 70), (8, 80), (8, 81)], "the leaver's event stayed");

    raise_cached(&mut a, 0, 0, Some(CACHE_REMOVE_OF_ACTORS_LEFT), None).await;
    settled(&mut a).await;
    let (_d, cached) = late_joiner(&server, "kept", &mut a).await;
    assert_eq!(cached, [(8, 80), (8, 81)]);
}

#[tokio::test]
async fn malformed_cache_options_are_refused() {
    let server = start_server(test_config()).await;
    let mut a = Client::encrypted(server.local_addr()).await;
    join_answer(&mut a, "bad-cache", None).await;
    for option in [Value::Byte(1), Value::Int(4)] {
        let mut params = Params::new();
        params.insert(CODE, 1);
        params.insert(CACHE, option);
        a.send(op_code::RAISE_EVENT, params, SendOptions::ENCRYPTED).await;
        let (code, message) = answer(&mut a, op_code::RAISE_EVENT).await;
        assert_eq!(code, return_code::INVALID_OPERATION);
        assert!(message.contains("(cache)"), "{message}");
    }
}
