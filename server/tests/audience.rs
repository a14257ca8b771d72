//! Who a raised event reaches, over real sockets: target actors (252) instead of the receiver group, an
//! interest group (240) narrowing it to the subscribers ChangeGroups (248) made, and the errors for
//! malformed requests. Each case ends with a fence: the sender raises a marker to everyone, and since a
//! sender's events arrive in order, whoever has not seen the event before the marker never will.

mod support;

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code};
use support::*;

const INTEREST_GROUP: u8 = 240;
const GROUPS_REMOVE: u8 = 239;
const GROUPS_ADD: u8 = 238;
const MARKER: i32 = 99;

async fn room_of(count: usize, name: &str) -> (sealnet_server::RunningServer, Vec<Client>) {
    let server = start_server(test_config()).await;
    let mut clients = Vec::new();
    for _ in 0..count {
        let mut client = Client::encrypted(server.local_addr()).await;
        client.join(name).await;
        clients.push(client);
    }
    // Everyone has seen every Join before the cases start: its own and those of the later joiners.
    for (index, client) in clients.iter_mut().enumerate() {
        for _ in index..count {
            assert_eq!(client.event().await.0.code, EVENT_JOIN);
        }
    }
    (server, clients)
}

/// Raises event 1 with `extra` from `clients[from]`, then the marker to all; returns the actors
/// (1-based) that got event 1.
async fn reached(clients: &mut [Client], from: usize, extra: Params) -> Vec<usize> {
    let mut params = extra;
    params.insert(CODE, 1);
    clients[from].send(op_code::RAISE_EVENT, params, SendOptions::ENCRYPTED).await;
    clients[from].raise(MARKER, None, Some(1), SendOptions::ENCRYPTED).await;
    let mut got = Vec::new();
    for (index, client) in clients.iter_mut().enumerate() {
        loop {
            let (event, _) = client.event().await;
            match event.code as i32 {
                1 => got.push(index + 1),
                MARKER => break,
                other => panic!("unexpected event {other}"),
            }
        }
    }
    got
}

async fn change_groups(client: &mut Client, remove: Option<&[u8]>, add: Option<&[u8]>) {
    let mut params = Params::new();
    if let Some(remove) = remove {
        params.insert(GROUPS_REMOVE, remove.to_vec());
    }
    if let Some(add) = add {
        params.insert(GROUPS_ADD, add.to_vec());
    }
    client.send(op_code::CHANGE_GROUPS, params, SendOptions::ENCRYPTED).await;
    assert_eq!(client.response(op_code::CHANGE_GROUPS).await.0.return_code, return_code::OK);
}

#[tokio::test]
async fn target_actors_get_the_event_and_nobody_else() {
    let (_server, mut clients) = room_of(4, "targets").await;
    let mut params = Params::new();
    params.insert(ACTOR_LIST, Value::IntArray(vec![3, 1, 3, 42]));
    assert_eq!(reached(&mut clients, 0, params).await, [1, 3], "repeats once, the sender when named, 42 absent");
    let mut params = Params::new();
    params.insert(ACTOR_LIST, Value::Array(vec![Value::Int(4)]));
    // Target actors replace the receiver group, whatever it says.
    params.insert(RECEIVER_GROUP, 1);
    assert_eq!(reached(&mut clients, 1, params).await, [4]);
}

#[tokio::test]
async fn an_interest_group_reaches_its_subscribers_within_the_receiver_group() {
    let (_server, mut clients) = room_of(4, "groups").await;
    change_groups(&mut clients[1], None, Some(&[7])).await;
    change_groups(&mut clients[2], None, Some(&[])).await; // every group
    change_groups(&mut clients[3], None, Some(&[7, 8])).await;
    change_groups(&mut clients[3], Some(&[7]), None).await;
    let group = |number: u8| {
        let mut params = Params::new();
        params.insert(INTEREST_GROUP, Value::Byte(number));
        params
    };
    assert_eq!(reached(&mut clients, 0, group(7)).await, [2, 3], "actor 4 left group 7");
    assert_eq!(reached(&mut clients, 0, group(8)).await, [3, 4]);
    assert_eq!(reached(&mut clients, 1, group(7)).await, [3], "the sender is not among Others");
    let mut all = group(7);
    all.insert(RECEIVER_GROUP, 1);
    assert_eq!(reached(&mut clients, 1, all).await, [2, 3], "with All, the subscribed sender too");
    assert_eq!(reached(&mut clients, 0, group(0)).await, [2, 3, 4], "group 0 is everyone");
    change_groups(&mut clients[2], Some(&[]), None).await;
    assert_eq!(reached(&mut clients, 0, group(8)).await, [4], "removed from every group");
}

#[tokio::test]
async fn malformed_audiences_and_changes_are_refused_with_a_reason() {
    let (_server, mut clients) = room_of(2, "bad").await;
    let client = &mut clients[0];
    for (key, value, what) in [
        (ACTOR_LIST, Value::String("1".into()), "target actors"),
        (ACTOR_LIST, Value::Array(vec![Value::Long(1)]), "target actors"),
        (INTEREST_GROUP, Value::Int(3), "interest group"),
    ] {
        let mut params = Params::new();
        params.insert(CODE, 1);
        params.insert(key, value);
        client.send(op_code::RAISE_EVENT, params, SendOptions::ENCRYPTED).await;
        let (response, _) = client.response(op_code::RAISE_EVENT).await;
        assert_eq!(response.return_code, return_code::INVALID_OPERATION);
        assert!(response.debug_message.as_deref().is_some_and(|m| m.contains(what)), "{response:?}");
    }
    let mut params = Params::new();
    params.insert(GROUPS_ADD, Value::IntArray(vec![1]));
    client.send(op_code::CHANGE_GROUPS, params, SendOptions::ENCRYPTED).await;
    assert_eq!(client.response(op_code::CHANGE_GROUPS).await.0.return_code, return_code::INVALID_OPERATION);

    let server = start_server(test_config()).await;
    let mut outside = Client::encrypted(server.local_addr()).await;
    outside.send(op_code::CHANGE_GROUPS, Params::new(), SendOptions::ENCRYPTED).await;
    let (response, _) = outside.response(op_code::CHANGE_GROUPS).await;
    assert_eq!(response.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
}
