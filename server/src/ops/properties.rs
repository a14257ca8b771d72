//! SetProperties (252): changes the room's properties or a player's, compare-and-set when the
//! request carries expected values (231); every member then gets PropertiesChanged (253).

use sealnet::protocol::codec::{Params, Table, Value};
use sealnet::protocol::message::{OperationRequest, OperationResponse};
use sealnet::protocol::status::{op_code, return_code};

use super::error;
use super::hooks::{ask_plugins, Stopped};
use crate::connection::Connection;
use crate::plugin::{PropertiesContext, RoomHandle};
use crate::rooms::{codes, Target};

const OP: u8 = op_code::SET_PROPERTIES;

pub(super) fn set_properties(conn: &mut Connection, request: OperationRequest) -> OperationResponse {
    let Some(membership) = conn.membership.as_ref() else {
        let message = "join a room before setting properties";
        return error(OP, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, message.into());
    };
    let mut params = request.params;
    let changes = match params.remove(codes::PROPERTIES) {
        Some(Value::Table(changes)) if !changes.is_empty() => changes,
        _ => {
            let message = format!("parameter {} (properties) must be a Table of at least one entry", codes::PROPERTIES);
            return error(OP, return_code::INVALID_OPERATION, message);
        }
    };
    let target = match params.get(codes::TARGET_ACTOR) {
        None | Some(Value::Int(0)) => Target::Room,
        Some(Value::Int(actor)) => Target::Player(*actor),
        Some(_) => {
            let message = format!("parameter {} (target actor) must be an Int (0: the room)", codes::TARGET_ACTOR);
            return error(OP, return_code::INVALID_OPERATION, message);
        }
    };
    let expected: Option<&Table> = match params.get(codes::EXPECTED_VALUES) {
        None => None,
        Some(Value::Table(expected)) => Some(expected),
        Some(_) => {
            let message = format!("parameter {} (expected values) must be a Table", codes::EXPECTED_VALUES);
            return error(OP, return_code::INVALID_OPERATION, message);
        }
    };
    let mut changes = changes;
    let shared = conn.shared.clone();
    let sender_auth = conn.auth.context().map(|a| &a.context);
    let stopped = ask_plugins(&shared.plugins, OP, conn.id, |plugin| {
        let ctx = PropertiesContext {
            room: RoomHandle::new(&membership.room, plugin),
            sender: membership.actor,
            target,
            sender_auth,
        };
        plugin.on_set_properties(&ctx, &mut changes)
    });
    if let Stopped::With(answer) = stopped {
        // A quiet cancel reads as done.
        return answer.unwrap_or_else(done);
    }
    match membership.room.set_properties(membership.actor, target, changes, expected) {
        Ok(handed_over) => {
            if let Some(master) = handed_over {
                tracing::debug!(connection = conn.id, master, "master client handed over");
            }
            done()
        }
        Err(problem) => {
            let (code, message) = problem.answer();
            tracing::debug!(connection = conn.id, code, "properties not set");
            error(OP, code, message)
        }
    }
}

fn done() -> OperationResponse {
    OperationResponse { op_code: OP, return_code: return_code::OK, debug_message: None, params: Params::new() }
}
