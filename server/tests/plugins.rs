//! Plugins over real sockets: the shipped profanity mask, and a plugin that rejects.

mod support;

use std::sync::Arc;

use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::message::{EventData, OperationRequest};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code};
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
            return Verdict::Reject { return_code: 0, message: format!("event 13 refused in {}", ctx.room) };
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
