//! The Godot binding's `all_types` program of the cross-binding test (tests/cross/README.md):
//!
//!     all_types --role send|receive --room ROOM
//!
//! It speaks the extension's own mapping without the engine: the sender builds the 21 values as a script
//! would hand them to `SealnetPeer.raise_event` (plain GDScript values, `SealnetValue` wrappers for
//! byte, short, 32-bit float and short array, a `Vector3` for the custom type, a `Dictionary` with
//! String keys for the table) and converts them with the extension's Godot → sealnet rules; the
//! receiver maps what arrives back to what a script would see in `event_received` and checks it
//! against the extension's documented mapping (one `int`, one `float`, packed arrays, `Array[bool]`,
//! `Dictionary`, `Vector3`).
//!
//! The server's address comes from SEALNET_SERVER_ADDR (else 127.0.0.1:4530); app id `demo`, automatic
//! key exchange, no pin. Exits 0 on success, 1 on a failure (each mismatch is printed to standard
//! error), 2 on bad arguments.

use std::collections::VecDeque;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sealnet::peer::{PeerEvent, WaitOutcome};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::StatusCode;
use sealnet_godot::client::{join_room, leave_room, raise_event, Client, Settings, Target};
use sealnet_godot::codes::{room, signal_for, EventSignal, ResponseSignal, Signal};
use sealnet_godot::value::{GdValue, Typed, WrapError};

/// The event every all_types program raises and waits for.
const EVENT: i64 = 42;
/// How long any one step may take before the program gives up.
const STEP: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Send,
    Receive,
}

fn parse_args() -> Result<(Role, String), String> {
    let mut role = None;
    let mut room = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--role" => {
                role = Some(match value()?.as_str() {
                    "send" => Role::Send,
                    "receive" => Role::Receive,
                    other => return Err(format!("--role must be send or receive, not {other}")),
                })
            }
            "--room" => room = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok((role.ok_or("--role is missing")?, room.ok_or("--room is missing")?))
}

fn main() -> ExitCode {
    let (role, room) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("all_types: {message}\nusage: all_types --role send|receive --room ROOM");
            return ExitCode::from(2);
        }
    };
    let address = std::env::var("SEALNET_SERVER_ADDR").unwrap_or_else(|_| "127.0.0.1:4530".into());
    match run(role, &room, &address) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("all_types ({}): {message}", if role == Role::Send { "send" } else { "receive" });
            ExitCode::FAILURE
        }
    }
}

/// The connection, drained as the node's `_process` would drain it.
struct Link {
    client: Client,
    queue: VecDeque<PeerEvent>,
}

impl Link {
    /// The next signal, within `STEP`. A status other than Connect and EncryptionEstablished (a
    /// disconnect, a refused key exchange, ...) is a failure unless the caller expects it.
    fn next(&mut self, waiting_for: &str) -> Result<Signal, String> {
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(signal_for(&event));
            }
            self.client.drain(&mut self.queue);
            if !self.queue.is_empty() {
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.client.wait(left) {
                WaitOutcome::Ready => {}
                WaitOutcome::TimedOut => return Err(format!("{} s without {waiting_for}", STEP.as_secs())),
                WaitOutcome::NotConnected => {
                    self.client.drain(&mut self.queue);
                    if self.queue.is_empty() {
                        return Err(format!("the connection ended while waiting for {waiting_for}"));
                    }
                }
            }
        }
    }

    fn status(&mut self, wanted: StatusCode) -> Result<(), String> {
        loop {
            match self.next(wanted.name())? {
                Signal::Status(status) if status.code == wanted as i64 => return Ok(()),
                Signal::Status(status) if status.code == StatusCode::Connect as i64 => {}
                other => return Err(unexpected(&other, wanted.name())),
            }
        }
    }

    fn response(&mut self, op_code: u8, what: &str) -> Result<ResponseSignal, String> {
        loop {
            match self.next(what)? {
                Signal::Response(response) if response.op_code == i64::from(op_code) => return Ok(response),
                // Join and leave events of this and other programs are not what anyone waits for.
                Signal::Event(event) if is_membership(&event) => {}
                other => return Err(unexpected(&other, what)),
            }
        }
    }

    fn event(&mut self, code: i64) -> Result<EventSignal, String> {
        loop {
            match self.next("event 42")? {
                Signal::Event(event) if event.code == code => return Ok(event),
                Signal::Event(event) if is_membership(&event) => {}
                other => return Err(unexpected(&other, "event 42")),
            }
        }
    }
}

fn is_membership(event: &EventSignal) -> bool {
    event.code == i64::from(room::EVENT_JOIN) || event.code == i64::from(room::EVENT_LEAVE)
}

fn unexpected(signal: &Signal, waiting_for: &str) -> String {
    match signal {
        Signal::Status(status) => format!(
            "status {} ({}) while waiting for {waiting_for}: reason {} {}",
            status.code,
            sealnet_godot::codes::status_name(status.code),
            status.reason,
            status.message
        ),
        Signal::Response(response) => format!(
            "response to operation {} (return code {}: {}) while waiting for {waiting_for}",
            response.op_code,
            response.return_code,
            response.debug_message.as_deref().unwrap_or("no message")
        ),
        Signal::Event(event) => {
            format!("event {} from actor {} while waiting for {waiting_for}", event.code, event.sender)
        }
    }
}

fn run(role: Role, room_name: &str, address: &str) -> Result<(), String> {
    let mut link = Link { client: Client::new(), queue: VecDeque::new() };
    link.client
        .connect(&Settings::default(), &Target::new(address, "demo"))
        .map_err(|failure| format!("connect to {address}: {failure}"))?;
    link.status(StatusCode::EncryptionEstablished)?;

    let join = join_room(room_name).map_err(|failure| failure.to_string())?;
    link.client.send(&join, SendOptions::ENCRYPTED).map_err(|failure| format!("JoinRoom: {failure}"))?;
    let joined = link.response(room::OP_JOIN_ROOM, "the JoinRoom response")?;
    if joined.return_code != 0 {
        return Err(format!(
            "JoinRoom refused ({}): {}",
            joined.return_code,
            joined.debug_message.as_deref().unwrap_or("no message")
        ));
    }

    let result = match role {
        Role::Send => send(&mut link),
        Role::Receive => receive(&mut link),
    };
    link.client.shutdown();
    result
}

fn send(link: &mut Link) -> Result<(), String> {
    let data = script_data().map_err(|error| format!("building the data: {error}"))?;
    let request =
        raise_event(EVENT, &data, room::RECEIVERS_OTHERS).map_err(|failure| format!("RaiseEvent: {failure}"))?;
    link.client.send(&request, SendOptions::ENCRYPTED).map_err(|failure| format!("RaiseEvent: {failure}"))?;
    link.client.send(&leave_room(), SendOptions::ENCRYPTED).map_err(|failure| format!("LeaveRoom: {failure}"))?;
    // Responses come in order: the LeaveRoom response means the event reached the server first. A
    // RaiseEvent response only comes when the server skipped a recipient, which is a failure here.
    let left = link.response(room::OP_LEAVE_ROOM, "the LeaveRoom response")?;
    if left.return_code != 0 {
        return Err(format!("LeaveRoom refused ({})", left.return_code));
    }
    Ok(())
}

fn receive(link: &mut Link) -> Result<(), String> {
    println!("joined");
    std::io::stdout().flush().map_err(|error| format!("standard output: {error}"))?;
    let event = link.event(EVENT)?;
    let data = event.data.iter().find(|(key, _)| *key == GdValue::Int(i64::from(room::DATA))).map(|(_, value)| value);
    let Some(data) = data else {
        return Err("event 42 has no data parameter (245)".into());
    };
    let mismatches = check(data);
    if !mismatches.is_empty() {
        for mismatch in &mismatches {
            eprintln!("all_types (receive): {mismatch}");
        }
        return Err(format!("{} of the values are not what was sent", mismatches.len()));
    }
    println!("ok: 21 values from actor {}", event.sender);
    Ok(())
}

fn text(value: &str) -> GdValue {
    GdValue::String(value.into())
}

fn entries(pairs: Vec<(i64, GdValue)>) -> GdValue {
    GdValue::Dictionary(pairs.into_iter().map(|(key, value)| (GdValue::Int(key), value)).collect())
}

/// The data as a script builds it: what GDScript has of its own, and `SealnetValue` constructors for
/// the rest.
fn script_data() -> Result<GdValue, WrapError> {
    let table = GdValue::Dictionary(vec![
        (text("name"), text("Ann")),
        (text("score"), GdValue::Int(10)),
        (GdValue::Int(7), GdValue::Float(0.25)),
    ]);
    Ok(entries(vec![
        (1, GdValue::Sealnet(Typed::byte(200)?)),
        (2, GdValue::Sealnet(Typed::short(-12345)?)),
        (3, GdValue::Int(-100_000)),
        (4, GdValue::Int(1 << 40)),
        (5, GdValue::Sealnet(Typed::float32(1.5)?)),
        (6, GdValue::Float(-2.25)),
        (7, GdValue::Bool(true)),
        (8, text("héllo wörld")),
        (9, GdValue::PackedByteArray(vec![0, 1, 254, 255])),
        (10, GdValue::Sealnet(Typed::short_array(&GdValue::PackedInt32Array(vec![-1, 2, 300]))?)),
        (11, GdValue::PackedInt32Array(vec![7, -8, 9_000_000])),
        (12, GdValue::PackedInt64Array(vec![-1, 4_294_967_296])),
        (13, GdValue::PackedFloat32Array(vec![0.5, -1.25])),
        (14, GdValue::PackedFloat64Array(vec![3.5, -0.125])),
        // A typed Array[bool]: GDScript's bool array.
        (15, GdValue::BoolArray(vec![true, false, true])),
        (16, GdValue::PackedStringArray(vec!["a".into(), "β".into(), String::new()])),
        (17, GdValue::Array(vec![GdValue::Int(1), text("two"), GdValue::Nil, GdValue::Bool(false)])),
        (18, table),
        // The built-in registration of Vector3 (custom code 86).
        (19, GdValue::Vector3([1.0, 2.0, 3.0])),
        (20, entries(vec![(1, GdValue::Int(5))])),
        (21, GdValue::Nil),
    ]))
}

/// What a script sees in `event_received` for the 21 values, by the extension's documented mapping.
fn expected() -> Vec<(i64, GdValue)> {
    vec![
        (1, GdValue::Int(200)),
        (2, GdValue::Int(-12345)),
        (3, GdValue::Int(-100_000)),
        (4, GdValue::Int(1 << 40)),
        (5, GdValue::Float(1.5)),
        (6, GdValue::Float(-2.25)),
        (7, GdValue::Bool(true)),
        (8, text("héllo wörld")),
        (9, GdValue::PackedByteArray(vec![0, 1, 254, 255])),
        (10, GdValue::PackedInt32Array(vec![-1, 2, 300])),
        (11, GdValue::PackedInt32Array(vec![7, -8, 9_000_000])),
        (12, GdValue::PackedInt64Array(vec![-1, 4_294_967_296])),
        (13, GdValue::PackedFloat32Array(vec![0.5, -1.25])),
        (14, GdValue::PackedFloat64Array(vec![3.5, -0.125])),
        (15, GdValue::BoolArray(vec![true, false, true])),
        (16, GdValue::PackedStringArray(vec!["a".into(), "β".into(), String::new()])),
        (17, GdValue::Array(vec![GdValue::Int(1), text("two"), GdValue::Nil, GdValue::Bool(false)])),
        (
            18,
            GdValue::Dictionary(vec![
                (text("name"), text("Ann")),
                (text("score"), GdValue::Int(10)),
                (GdValue::Int(7), GdValue::Float(0.25)),
            ]),
        ),
        // The receiver's built-in registration of code 86 makes it a Vector3 again, not bytes.
        (19, GdValue::Vector3([1.0, 2.0, 3.0])),
        (20, entries(vec![(1, GdValue::Int(5))])),
        (21, GdValue::Nil),
    ]
}

/// Equality as GDScript's `==` sees it: a Dictionary's order does not matter; every number here is
/// exactly representable, so floats compare exactly.
fn same(left: &GdValue, right: &GdValue) -> bool {
    match (left, right) {
        (GdValue::Dictionary(left), GdValue::Dictionary(right)) => {
            left.len() == right.len()
                && left.iter().all(|(key, value)| {
                    right.iter().any(|(other_key, other_value)| same(key, other_key) && same(value, other_value))
                })
        }
        (GdValue::Array(left), GdValue::Array(right)) => {
            left.len() == right.len() && left.iter().zip(right).all(|(left, right)| same(left, right))
        }
        _ => left == right,
    }
}

/// Every difference between the received data and [`expected`], one line each.
fn check(data: &GdValue) -> Vec<String> {
    let GdValue::Dictionary(received) = data else {
        return vec![format!("the data is a {} ({data:?}), not a Dictionary", data.type_name())];
    };
    let mut mismatches = Vec::new();
    let expected = expected();
    for (key, wanted) in &expected {
        match received.iter().find(|(received_key, _)| *received_key == GdValue::Int(*key)) {
            None => mismatches.push(format!("key {key}: missing; expected {} {wanted:?}", wanted.type_name())),
            Some((_, got)) if !same(got, wanted) => mismatches.push(format!(
                "key {key}: expected {} {wanted:?}, got {} {got:?}",
                wanted.type_name(),
                got.type_name()
            )),
            Some(_) => {}
        }
    }
    for (key, value) in received {
        if !expected.iter().any(|(wanted, _)| *key == GdValue::Int(*wanted)) {
            mismatches.push(format!("key {key:?}: not sent, got {} {value:?}", value.type_name()));
        }
    }
    mismatches
}

#[cfg(test)]
mod tests {
    use super::*;
    use sealnet_godot::value::{value_from_gd, value_to_gd};

    /// The data through the mapping out and back in, without a server.
    fn mapped() -> GdValue {
        value_to_gd(&value_from_gd(&script_data().unwrap()).unwrap())
    }

    #[test]
    fn the_sent_data_checks_out_through_the_mapping() {
        assert_eq!(check(&mapped()), Vec::<String>::new());
    }

    #[test]
    fn a_wrong_type_a_missing_key_and_an_extra_key_are_each_reported() {
        let GdValue::Dictionary(mut received) = mapped() else { unreachable!() };
        // Key 19 as bytes instead of a Vector3, key 21 gone, key 22 added.
        received[18].1 = GdValue::PackedByteArray(vec![0; 12]);
        received.retain(|(key, _)| *key != GdValue::Int(21));
        received.push((GdValue::Int(22), GdValue::Nil));
        let mismatches = check(&GdValue::Dictionary(received));
        assert_eq!(mismatches.len(), 3, "{mismatches:?}");
        assert!(mismatches[0].starts_with("key 19: expected Vector3"), "{}", mismatches[0]);
        assert!(mismatches[1].starts_with("key 21: missing"), "{}", mismatches[1]);
        assert!(mismatches[2].starts_with("key Int(22): not sent"), "{}", mismatches[2]);
        assert_eq!(check(&GdValue::Nil).len(), 1);
    }

    #[test]
    fn dictionaries_compare_without_regard_to_order() {
        let one = GdValue::Dictionary(vec![(text("a"), GdValue::Int(1)), (GdValue::Int(2), GdValue::Nil)]);
        let other = GdValue::Dictionary(vec![(GdValue::Int(2), GdValue::Nil), (text("a"), GdValue::Int(1))]);
        assert!(same(&one, &other));
        assert!(!same(&one, &GdValue::Dictionary(vec![(text("a"), GdValue::Int(1))])));
    }
}
