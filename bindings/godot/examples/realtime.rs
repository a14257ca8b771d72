//! An end-to-end check of `SealnetRealtimeClient` without the engine: two clients drive the
//! extension's engine-free realtime layer (`sealnet_godot::realtime`, what the node calls) as a script
//! would, and check what the node's signals would carry.
//!
//!     realtime
//!
//! Against the server at SEALNET_SERVER_ADDR (else 127.0.0.1:4530), a server of role "all" (it is its
//! own master), pinning SEALNET_SERVER_KEY when set; app id `demo`. Both log in anonymously; the first
//! creates a room with options, the second's CreateRoom of it fails with GameIdAlreadyExists, its
//! JoinRoom succeeds; the first sees the join, the second raises an event with data the first
//! receives; the second leaves (back to ConnectedToMasterServer), gets GameDoesNotExist for a missing
//! room, finds the room with JoinRandomRoom, leaves again; both disconnect. `test.sh` runs it under
//! `scripts/with-server.sh`. Exits 0 on success (printing one line), 1 on a failure.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use sealnet::protocol::status::return_code;
use sealnet_godot::client::auth_values;
use sealnet_godot::codes::{auth, client_state, matchmaking, room, EventSignal};
use sealnet_godot::realtime::{
    room_options, signals_for, FailedSignal, JoinedSignal, Realtime, RealtimeSettings, RealtimeSignal,
};
use sealnet_godot::value::GdValue;

/// How long any one step may take before the program gives up.
const STEP: Duration = Duration::from_secs(30);
/// The event the second client raises.
const EVENT: i64 = 7;

fn main() -> ExitCode {
    let address = std::env::var("SEALNET_SERVER_ADDR").unwrap_or_else(|_| "127.0.0.1:4530".into());
    let pin = std::env::var("SEALNET_SERVER_KEY").unwrap_or_default();
    match run(&address, &pin) {
        Ok(summary) => {
            println!("realtime: ok: {summary}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("realtime: {message}");
            ExitCode::FAILURE
        }
    }
}

/// One client and what it has signalled, serviced as the node's `_process` services it.
struct Player {
    name: &'static str,
    client: Realtime,
    /// Every state it announced, in order.
    states: Vec<i64>,
}

impl Player {
    /// The next signal that `find` accepts, within `STEP`. States are recorded on the way; an
    /// unexpected `failed` is an error, other signals are passed over.
    fn wait_for<T>(&mut self, what: &str, mut find: impl FnMut(&RealtimeSignal) -> Option<T>) -> Result<T, String> {
        let deadline = Instant::now() + STEP;
        loop {
            while let Some(event) = self.client.service() {
                for signal in signals_for(&event) {
                    if let RealtimeSignal::State(state) = signal {
                        self.states.push(state);
                    }
                    if let Some(found) = find(&signal) {
                        return Ok(found);
                    }
                    if let RealtimeSignal::Failed(failed) = &signal {
                        return Err(format!("{}: failed {failed:?} while waiting for {what}", self.name));
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("{}: {} s without {what} (states {:?})", self.name, STEP.as_secs(), self.states));
            }
            self.client.wait(left.min(Duration::from_millis(50)));
        }
    }

    fn state(&mut self, wanted: i64) -> Result<(), String> {
        let what = format!("state {}", client_state::name(wanted));
        self.wait_for(&what, |signal| matches!(signal, RealtimeSignal::State(state) if *state == wanted).then_some(()))
    }

    fn joined(&mut self) -> Result<JoinedSignal, String> {
        let joined = self.wait_for("joined", |signal| match signal {
            RealtimeSignal::Joined(joined) => Some(joined.clone()),
            _ => None,
        })?;
        self.expect(self.client.state() as i64 == client_state::JOINED, "is joined after `joined`")?;
        self.expect(self.client.room() == joined.room && self.client.actor() == joined.actor, "reports its room")?;
        Ok(joined)
    }

    /// The `failed` signal of a refused request; the client is back at the master after it.
    fn failed(&mut self, op: u8, code: i16) -> Result<(), String> {
        let failed = self.wait_for("failed", |signal| match signal {
            RealtimeSignal::Failed(failed) => Some(failed.clone()),
            _ => None,
        })?;
        let FailedSignal { op: got_op, return_code: got_code, message } = &failed;
        if (*got_op, *got_code) != (i64::from(op), i64::from(code)) {
            return Err(format!("{}: expected failed({op}, {code}), got {failed:?}", self.name));
        }
        self.expect(!message.is_empty(), "gets the server's message with `failed`")?;
        self.state(client_state::CONNECTED_TO_MASTER_SERVER)
    }

    fn event(&mut self, code: i64) -> Result<EventSignal, String> {
        self.wait_for("an event", |signal| match signal {
            RealtimeSignal::Event(event) if event.code == code => Some(event.clone()),
            _ => None,
        })
    }

    fn expect(&self, holds: bool, what: &str) -> Result<(), String> {
        if holds {
            Ok(())
        } else {
            Err(format!("{} {what}: no (state {:?}, states {:?})", self.name, self.client.state(), self.states))
        }
    }
}

fn text(value: &str) -> GdValue {
    GdValue::String(value.into())
}

fn param(data: &[(GdValue, GdValue)], key: u8) -> Option<&GdValue> {
    data.iter().find(|(found, _)| *found == GdValue::Int(i64::from(key))).map(|(_, value)| value)
}

fn run(address: &str, pin: &str) -> Result<String, String> {
    let settings = RealtimeSettings {
        master_addresses: vec![address.to_owned()],
        master_key_pin: pin.to_owned(),
        app_id: "demo".into(),
        ..RealtimeSettings::default()
    };
    // The Dictionary a script passes to connect_to_master.
    let anonymous = auth_values(&[(text("auth_type"), GdValue::Int(auth::TYPE_NONE))]).map_err(|e| e.to_string())?;
    let mut alice = Player { name: "alice", client: Realtime::new(), states: Vec::new() };
    let mut bob = Player { name: "bob", client: Realtime::new(), states: Vec::new() };
    for player in [&mut alice, &mut bob] {
        player.client.connect(&settings, anonymous.as_ref()).map_err(|e| format!("{}: connect: {e}", player.name))?;
        player.state(client_state::CONNECTED_TO_MASTER_SERVER)?;
        let login = [client_state::CONNECTING_TO_MASTER_SERVER, client_state::AUTHENTICATING];
        player.expect(player.states[..2] == login, "went through ConnectingToMasterServer and Authenticating")?;
        player.expect(player.client.server_token().is_some(), "holds a server token")?;
    }
    let second_login = alice.client.connect(&settings, None).unwrap_err();
    alice.expect(second_login.code.code() == 23, "refuses a second login with ERR_WRONG_STATE")?;

    let name = format!("godot-realtime-{}", std::process::id());
    let options = room_options(&[
        (text("max_players"), GdValue::Int(4)),
        (text("is_open"), GdValue::Bool(true)),
        (text("is_visible"), GdValue::Bool(true)),
    ])
    .map_err(|e| e.to_string())?;
    alice.client.create_room(&name, &options).map_err(|e| format!("alice: create_room: {e}"))?;
    let first = alice.joined()?;
    alice.expect(first.room == name && first.actors == [first.actor as i32], "is alone in the room it created")?;

    bob.client.create_room(&name, &options).map_err(|e| format!("bob: create_room: {e}"))?;
    bob.failed(matchmaking::OP_CREATE_ROOM, matchmaking::GAME_ID_ALREADY_EXISTS)?;
    bob.client.join_room(&name).map_err(|e| format!("bob: join_room: {e}"))?;
    let second = bob.joined()?;
    bob.expect(second.room == name && second.actors.len() == 2, "joins the room with both actors in it")?;
    bob.expect(second.actors.contains(&(first.actor as i32)), "sees alice in the actor list")?;
    let bob_actor = second.actor;
    alice.wait_for("bob's join", |signal| match signal {
        RealtimeSignal::Event(event) if event.code == i64::from(room::EVENT_JOIN) && event.sender == bob_actor => {
            Some(())
        }
        _ => None,
    })?;

    // What a script raises: a Dictionary of a String, a packed array and a Vector3.
    let data = GdValue::Dictionary(vec![
        (GdValue::Int(0), text("hello from bob")),
        (GdValue::Int(1), GdValue::PackedInt32Array(vec![1, -2, 300_000])),
        (GdValue::Int(2), GdValue::Vector3([1.0, 2.5, -3.0])),
    ]);
    bob.client.raise_event(EVENT, &data, room::RECEIVERS_OTHERS, true).map_err(|e| format!("bob: raise_event: {e}"))?;
    let event = alice.event(EVENT)?;
    alice.expect(event.sender == bob_actor && event.was_encrypted, "gets bob's event, encrypted")?;
    if param(&event.data, room::DATA) != Some(&data) {
        return Err(format!("alice: the event's data is {:?}, not {data:?}", param(&event.data, room::DATA)));
    }

    bob.client.leave_room().map_err(|e| format!("bob: leave_room: {e}"))?;
    bob.state(client_state::CONNECTED_TO_MASTER_SERVER)?;
    bob.expect(bob.states.contains(&client_state::LEAVING), "went through Leaving")?;
    bob.expect(bob.client.room().is_empty() && bob.client.actor() == -1, "is in no room after leaving")?;
    let outside = bob.client.raise_event(EVENT, &GdValue::Nil, room::RECEIVERS_OTHERS, true).unwrap_err();
    bob.expect(outside.code.code() == 23, "cannot raise events outside a room (ERR_WRONG_STATE)")?;

    bob.client.join_room(&format!("{name}-missing")).map_err(|e| format!("bob: join_room: {e}"))?;
    bob.failed(room::OP_JOIN_ROOM, return_code::GAME_DOES_NOT_EXIST)?;

    bob.client.join_random_room().map_err(|e| format!("bob: join_random_room: {e}"))?;
    let random = bob.joined()?;
    bob.expect(random.room == name, "finds alice's open, visible room at random")?;
    bob.client.leave_room().map_err(|e| format!("bob: leave_room: {e}"))?;
    bob.state(client_state::CONNECTED_TO_MASTER_SERVER)?;

    for player in [&mut alice, &mut bob] {
        player.client.disconnect();
        player.state(client_state::DISCONNECTED)?;
        player.client.shutdown();
    }
    Ok(format!(
        "room {name:?}: GameIdAlreadyExists, join as actor {bob_actor}, event {EVENT} with data, leave, \
         GameDoesNotExist, JoinRandomRoom, disconnect"
    ))
}
