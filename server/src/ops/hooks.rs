//! Plugins' verdicts turned into answers, and the room lifecycle hooks called from joins and leaves.

use std::sync::Arc;

use sealnet::protocol::codec::Table;
use sealnet::protocol::message::OperationResponse;
use sealnet::protocol::status::return_code;

use super::rejection;
use crate::auth::AuthContext;
use crate::plugin::{CreateContext, JoinContext, Plugin, RoomHandle, Verdict};
use crate::rooms::{JoinHooks, Membership, NewRoom, Refused, Room};

/// What became of an operation after the plugins saw it.
pub(super) enum Stopped {
    /// Nobody stopped it: the server goes on.
    No,
    /// A plugin stopped it: send this answer (`None`: none at all, a quiet cancel).
    With(Option<OperationResponse>),
}

/// Asks each plugin in turn (`ask`) about operation `op`, until one stops it.
pub(super) fn ask_plugins(
    plugins: &[Arc<dyn Plugin>],
    op: u8,
    connection: u64,
    mut ask: impl FnMut(&Arc<dyn Plugin>) -> Verdict,
) -> Stopped {
    for plugin in plugins {
        let answer = match ask(plugin) {
            Verdict::Continue => continue,
            Verdict::Reject { return_code, message } => {
                tracing::info!(connection, op, plugin = plugin.name(), return_code, "operation rejected by plugin");
                Some(rejection(op, return_code, message))
            }
            // A plugin may cancel or answer as a matter of course (say, every event of one code).
            Verdict::Cancel => None,
            Verdict::Respond(mut response) => {
                response.op_code = op;
                Some(response)
            }
        };
        tracing::debug!(connection, op, plugin = plugin.name(), "operation stopped by plugin");
        return Stopped::With(answer);
    }
    Stopped::No
}

/// The plugins' say in a join: [`Plugin::on_create`] and [`Plugin::on_join`]; a refusal's answer is
/// kept for the client.
pub(super) struct JoinPlugins<'a> {
    pub plugins: &'a [Arc<dyn Plugin>],
    pub op: u8,
    pub connection: u64,
    pub auth: Option<&'a AuthContext>,
    /// The answer of the plugin that refused.
    pub refusal: Option<OperationResponse>,
}

impl JoinPlugins<'_> {
    /// Keeps a refusal; a join that did not happen cannot be answered as a success.
    fn settle(&mut self, stopped: Stopped) -> Result<(), Refused> {
        let Stopped::With(answer) = stopped else { return Ok(()) };
        let mut answer = answer.unwrap_or_else(|| rejection(self.op, return_code::PLUGIN_REJECTED, String::new()));
        if answer.return_code == return_code::OK {
            answer.return_code = return_code::PLUGIN_REJECTED;
        }
        self.refusal = Some(answer);
        Err(Refused)
    }
}

impl JoinHooks for JoinPlugins<'_> {
    fn before_create(&mut self, room: &str, new_room: &mut NewRoom) -> Result<(), Refused> {
        let ctx = CreateContext { connection: self.connection, room, auth: self.auth };
        let stopped = ask_plugins(self.plugins, self.op, self.connection, |plugin| plugin.on_create(&ctx, new_room));
        self.settle(stopped)
    }

    fn before_join(&mut self, room: &Arc<Room>, properties: &mut Table) -> Result<(), Refused> {
        let (plugins, connection, auth) = (self.plugins, self.connection, self.auth);
        let stopped = ask_plugins(plugins, self.op, connection, |plugin| {
            plugin.on_join(&JoinContext { connection, room: RoomHandle::new(room, plugin), auth }, properties)
        });
        self.settle(stopped)
    }
}

/// Tells the plugins that `membership`'s player left, and that its room closed if it did.
pub(crate) fn left(plugins: &[Arc<dyn Plugin>], membership: &Membership) {
    for plugin in plugins {
        plugin.on_leave(&RoomHandle::new(&membership.room, plugin), membership.actor);
    }
    if membership.room.is_closed() {
        closed(plugins, &membership.room);
    }
}

/// Tells the plugins that `room` closed.
pub(crate) fn closed(plugins: &[Arc<dyn Plugin>], room: &Room) {
    for plugin in plugins {
        plugin.on_close(room.name());
    }
}
