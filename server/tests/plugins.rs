//! Plugins over real sockets: the shipped profanity mask, a plugin that rejects, and one that uses every
//! room lifecycle hook.

mod support;

use std::sync::Arc;

use sealnet::protocol::codec::{Key, Params, Table, Value};
use sealnet::protocol::message::{EventData, OperationRequest, OperationResponse};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code};
use sealnet::rooms::{GAME_PROPERTIES, PLAYER_PROPERTIES, PROPERTIES};
use sealnet_server::plugin::{CreateContext, JoinContext, NewRoom, PropertiesContext, RoomHandle};
use sealnet_server::{EventContext, OpContext, Plugin, Verdict};
use support::*;

#[tokio::test]
async fn the_profanity_mask_cleans_relayed_events() {
    let mut config = test_config();
    config.plugins.profanity_mask = true;
    config.plugins.masked_words = vec!["darn".into(), "heck".into()];
    let server = start_server(config).await;
    let addr = server.local_addr();
    let mut a = Client::encrypted(addr).await;
    let mut b = Client::encrypted(addr).await;
    let mut keyless = Client::plain(addr).await;
    a.join_and_settle("chat").await;
    b.join_and_settle("chat").await;
    keyless.join_and_settle("chat").await;
    for _ in 0..2 {
        assert_eq!(a.event().await.0.code, 255);
    }
    assert_eq!(b.event().await.0.code, 255);

    a.raise(1, Some(Value::String("Darn it, what the HECK".into())), None, SendOptions::ENCRYPTED).await;
    a.response(op_code::RAISE_EVENT).await; // the keyless member was skipped
    let (event, encrypted) = b.event().await;
    assert_eq!(event.params.get(DATA), Some(&Value::String("**** it, what the ****".into())));
    assert!(encrypted, "masked data is re-encrypted for the recipient");

    let data = Value::Array(vec![Value::String("heck no".into()), Value::Int(3), Value::String("darning".into())]);
    a.raise(2, Some(data), None, SendOptions::RELIABLE).await;
    let expected = Value::Array(vec![Value::String("**** no".into()), Value::Int(3), Value::String("darning".into())]);
    assert_eq!(b.event().await.0.params.get(DATA), Some(&expected));
    assert_eq!(keyless.event().await.0.params.get(DATA), Some(&expected));

    // Properties are shown to everyone too: the mask applies to their values.
    assert_eq!(set_property(&mut a, "title", Value::String("darn room".into())).await.return_code, 0);
    let (event, _) = b.event().await;
    let Some(Value::Table(changed)) = event.params.get(PROPERTIES) else { panic!("{event:?}") };
    assert_eq!(changed.get(&key("title")), Some(&Value::String("**** room".into())));
}

/// Refuses event code 13, and joining the room called "forbidden".
struct Gatekeeper;

impl Plugin for Gatekeeper {
    fn name(&self) -> &str {
        "gatekeeper"
    }

    fn on_operation(&self, ctx: &OpContext<'_>, request: &mut OperationRequest) -> Verdict {
        let forbidden = Some(&Value::String("forbidden".into()));
        if request.op_code == op_code::JOIN_ROOM && request.params.get(ROOM_NAME) == forbidden {
            assert!(ctx.actor.is_none() && ctx.room.is_none());
            return Verdict::reject("that room is closed");
        }
        Verdict::Continue
    }

    fn on_event(&self, ctx: &EventContext<'_>, event: &mut EventData) -> Verdict {
        if event.code == 13 {
            return Verdict::Reject { return_code: 0, message: format!("event 13 refused in {}", ctx.room.name()) };
        }
        // Plugins may also rewrite what is relayed.
        event.params.insert(1, Value::String("stamped".into()));
        Verdict::Continue
    }
}

#[tokio::test]
async fn a_rejecting_plugin_answers_plugin_rejected() {
    let server = start_server_with(test_config(), vec![Arc::new(Gatekeeper)]).await;
    let addr = server.local_addr();
    let mut a = Client::encrypted(addr).await;
    let mut b = Client::encrypted(addr).await;

    let mut params = Params::new();
    params.insert(ROOM_NAME, "forbidden");
    a.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (response, encrypted) = a.response(op_code::JOIN_ROOM).await;
    assert_eq!(response.return_code, return_code::PLUGIN_REJECTED);
    assert_eq!(response.debug_message.as_deref(), Some("that room is closed"));
    assert!(encrypted);

    a.join_and_settle("open").await;
    b.join_and_settle("open").await;
    a.event().await;
    a.raise(13, Some(Value::Int(1)), None, SendOptions::ENCRYPTED).await;
    let (response, _) = a.response(op_code::RAISE_EVENT).await;
    assert_eq!(response.return_code, return_code::PLUGIN_REJECTED, "a rejection never reads as success");
    assert_eq!(response.debug_message.as_deref(), Some("event 13 refused in open"));

    a.raise(14, Some(Value::Int(1)), None, SendOptions::ENCRYPTED).await;
    let (event, _) = b.event().await;
    assert_eq!(event.code, 14, "event 13 never reached the room");
    assert_eq!(event.params.get(1), Some(&Value::String("stamped".into())));
}

/// Exercises every room lifecycle hook: what it changes, cancels or answers is named in each hook.
#[derive(Default)]
struct Referee {
    log: std::sync::Mutex<Vec<String>>,
}

const TIMER_EVENT: u8 = 202;
const LEFT_EVENT: u8 = 201;

fn key(name: &str) -> Key {
    Key::String(name.into())
}

impl Referee {
    fn note(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }
}

impl Plugin for Referee {
    fn name(&self) -> &str {
        "referee"
    }

    fn on_create(&self, ctx: &CreateContext<'_>, room: &mut NewRoom) -> Verdict {
        if ctx.room == "no-create" {
            return Verdict::reject("rooms of that name are not made here");
        }
        room.properties.insert(key("mode"), Value::String("ranked".into()));
        Verdict::Continue
    }

    fn on_join(&self, ctx: &JoinContext<'_>, properties: &mut Table) -> Verdict {
        let team = if ctx.room.actors().len().is_multiple_of(2) { "red" } else { "blue" };
        properties.insert(key("team"), Value::String(team.into()));
        if ctx.room.name() == "timed" {
            ctx.room.set_timer(std::time::Duration::from_millis(20), 7).unwrap();
        }
        if ctx.room.actors().len() >= 2 {
            return Verdict::Respond(OperationResponse {
                op_code: 0,
                return_code: return_code::OK, // a join that did not happen cannot read as success
                debug_message: Some("two players per room here".into()),
                params: Params::new(),
            });
        }
        Verdict::Continue
    }

    fn on_leave(&self, room: &RoomHandle<'_>, actor: i32) {
        self.note(format!("left {} {actor}", room.name()));
        let mut params = Params::new();
        params.insert(254, actor);
        room.send_event(None, LEFT_EVENT, params);
    }

    fn on_set_properties(&self, _ctx: &PropertiesContext<'_>, changes: &mut Table) -> Verdict {
        if changes.get(&key("locked")).is_some() {
            return Verdict::Cancel;
        }
        if changes.get(&key("ask")).is_some() {
            let mut params = Params::new();
            params.insert(1, "answered by the referee");
            return Verdict::Respond(OperationResponse { op_code: 0, return_code: 7, debug_message: None, params });
        }
        if let Some(Value::String(shout)) = changes.get(&key("shout")).cloned() {
            changes.insert(key("shout"), Value::String(shout.to_uppercase()));
        }
        Verdict::Continue
    }

    fn on_event(&self, _ctx: &EventContext<'_>, event: &mut EventData) -> Verdict {
        match event.code {
            40 => Verdict::Cancel,
            41 => Verdict::Respond(OperationResponse {
                op_code: 0,
                return_code: return_code::OK,
                debug_message: Some("kept by the referee".into()),
                params: Params::new(),
            }),
            _ => Verdict::Continue,
        }
    }

    fn on_close(&self, room: &str) {
        self.note(format!("closed {room}"));
    }

    fn on_timer(&self, room: &RoomHandle<'_>, timer: u64) {
        let mut params = Params::new();
        params.insert(1, timer as i32);
        room.send_event(Some(&[1]), TIMER_EVENT, params);
    }
}

async fn set_property(client: &mut Client, name: &str, value: Value) -> OperationResponse {
    let mut changes = Table::new();
    changes.insert(key(name), value);
    let mut params = Params::new();
    params.insert(PROPERTIES, Value::Table(changes));
    client.send(op_code::SET_PROPERTIES, params, SendOptions::ENCRYPTED).await;
    client.response(op_code::SET_PROPERTIES).await.0
}

#[tokio::test]
async fn each_room_lifecycle_hook_can_change_cancel_or_answer() {
    let referee = Arc::new(Referee::default());
    let server = start_server_with(test_config(), vec![referee.clone()]).await;
    let addr = server.local_addr();
    let mut a = Client::encrypted(addr).await;
    let mut b = Client::encrypted(addr).await;
    let mut c = Client::encrypted(addr).await;

    // Create: refused (no room is left behind), or changed.
    let mut params = Params::new();
    params.insert(ROOM_NAME, "no-create");
    a.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (response, _) = a.response(op_code::JOIN_ROOM).await;
    assert_eq!(response.return_code, return_code::PLUGIN_REJECTED);
    assert_eq!(server.room_count(), 0);
    let mut params = Params::new();
    params.insert(ROOM_NAME, "match");
    a.send(op_code::JOIN_ROOM, params.clone(), SendOptions::ENCRYPTED).await;
    let (answer, _) = a.response(op_code::JOIN_ROOM).await;
    let Some(Value::Table(room)) = answer.params.get(GAME_PROPERTIES) else { panic!("{answer:?}") };
    assert_eq!(room.get(&key("mode")), Some(&Value::String("ranked".into())), "set by on_create");

    // Join: changed (the joiner's first properties), or answered (a refusal, whatever the code).
    b.send(op_code::JOIN_ROOM, params.clone(), SendOptions::ENCRYPTED).await;
    let (answer, _) = b.response(op_code::JOIN_ROOM).await;
    let Some(Value::Table(players)) = answer.params.get(PLAYER_PROPERTIES) else { panic!("{answer:?}") };
    let team = |actor: i32| match players.get(&Key::Int(actor)) {
        Some(Value::Table(properties)) => properties.get(&key("team")).cloned(),
        _ => None,
    };
    assert_eq!((team(1), team(2)), (Some(Value::String("red".into())), Some(Value::String("blue".into()))));
    c.send(op_code::JOIN_ROOM, params, SendOptions::ENCRYPTED).await;
    let (refused, _) = c.response(op_code::JOIN_ROOM).await;
    assert_eq!(refused.return_code, return_code::PLUGIN_REJECTED, "a join that did not happen is no success");
    assert_eq!(refused.debug_message.as_deref(), Some("two players per room here"));
    for _ in 0..2 {
        assert_eq!(a.event().await.0.code, EVENT_JOIN);
    }
    assert_eq!(b.event().await.0.code, EVENT_JOIN);

    // SetProperties: changed, cancelled (answered 0, nothing set, no event), or answered.
    assert_eq!(set_property(&mut a, "shout", Value::String("go".into())).await.return_code, return_code::OK);
    for client in [&mut a, &mut b] {
        let (event, _) = client.event().await;
        let Some(Value::Table(changed)) = event.params.get(PROPERTIES) else { panic!("{event:?}") };
        assert_eq!(changed.get(&key("shout")), Some(&Value::String("GO".into())));
    }
    assert_eq!(set_property(&mut a, "locked", Value::Bool(true)).await.return_code, return_code::OK);
    let answered = set_property(&mut a, "ask", Value::Bool(true)).await;
    assert_eq!(
        (answered.return_code, answered.params.get(1)),
        (7, Some(&Value::String("answered by the referee".into())))
    );

    // RaiseEvent: cancelled quietly, or answered; neither reaches the room.
    a.raise(40, None, None, SendOptions::ENCRYPTED).await;
    a.raise(41, None, None, SendOptions::ENCRYPTED).await;
    let (kept, _) = a.response(op_code::RAISE_EVENT).await;
    assert_eq!(kept.debug_message.as_deref(), Some("kept by the referee"), "40 got no answer at all");
    a.raise(42, None, None, SendOptions::ENCRYPTED).await;
    assert_eq!(b.event().await.0.code, 42, "only 42 reached b: no PropertiesChanged for the cancelled change");

    // Timers: set in on_join of room "timed", due 20 ms later, sent to actor 1 there.
    let mut timed = Client::encrypted(addr).await;
    timed.join_and_settle("timed").await;
    let (event, _) = timed.event().await;
    assert_eq!((event.code, event.sender, event.params.get(1)), (TIMER_EVENT, 0, Some(&Value::Int(7))));

    // Leave: the plugin hears of it after the others got the Leave event, and may send them more.
    b.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    b.response(op_code::LEAVE_ROOM).await;
    assert_eq!(a.event().await.0.code, EVENT_LEAVE);
    let (event, _) = a.event().await;
    assert_eq!((event.code, event.params.get(254)), (LEFT_EVENT, Some(&Value::Int(2))));
    // Close: after the last player left.
    timed.send(op_code::LEAVE_ROOM, Params::new(), SendOptions::ENCRYPTED).await;
    timed.response(op_code::LEAVE_ROOM).await;
    let log = referee.log.lock().unwrap().clone();
    assert_eq!(log, ["left match 2", "left timed 1", "closed timed"], "match still has a player");
}
