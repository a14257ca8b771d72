//! A few valid inputs per target, built with sealnet's own encoders, so the fuzzer starts from inputs
//! that reach deep (a Connect and a handshake for the sessions, sealed traffic for the encrypted ones)
//! instead of discovering the frame format first. The smoke test runs them and mutates them; the
//! fuzzing script writes them out (`SEALNET_FUZZ_WRITE_SEEDS=dir` on a target binary) as a read-only
//! second corpus.

use std::path::Path;

use sealnet::protocol::codec::{encode_params, Key, Params, Table, Value};
use sealnet::protocol::frame::{Delivery, Fragment, Header, MessageType, DEFAULT_MAX_BODY};
use sealnet::protocol::message::{
    Connect, ConnectAck, Disconnect, EventData, OperationRequest, OperationResponse, Ping, Pong, Versions,
};
use sealnet::protocol::noise::{respond_with_ephemeral, Initiator, Keypair};
use sealnet::protocol::sealing::{append_frame, SendOptions};

use crate::noise::{static_key, INITIATOR_EPHEMERAL, PAYLOAD, PROLOGUE, RESPONDER_EPHEMERAL};

/// With this variable set to a directory, a target binary writes its seeds there and exits.
pub const WRITE_SEEDS_VAR: &str = "SEALNET_FUZZ_WRITE_SEEDS";

/// For the libFuzzer entry points' `init`: writes `target`'s seeds and exits when asked to.
pub fn write_if_requested(target: &str) {
    let Some(dir) = std::env::var_os(WRITE_SEEDS_VAR) else {
        return;
    };
    write(target, Path::new(&dir)).unwrap_or_else(|error| panic!("writing seeds to {dir:?}: {error}"));
    std::process::exit(0);
}

/// Writes `target`'s seeds into `dir` as `seed-NN`.
pub fn write(target: &str, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (index, seed) in seeds(target).iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{index:02}")), seed)?;
    }
    Ok(())
}

/// The seeds of the target called `name` (none for an unknown name).
pub fn seeds(name: &str) -> Vec<Vec<u8>> {
    match name {
        "frame_header" => frame_headers(),
        "params" => vec![encoded_params(&sample_params()), encoded_params(&Params::new()), vec![1, 5, 0x0a, 1, 1, 0]],
        "messages" => messages(),
        "noise_responder" => noise_responder(),
        "noise_initiator" => noise_initiator(),
        "server_session" => server_session(),
        "client_session" => client_session(),
        "encrypted_server_session" => encrypted(true),
        "encrypted_client_session" => encrypted(false),
        _ => Vec::new(),
    }
}

fn sample_params() -> Params {
    let mut inner = Params::new();
    inner.insert(1, "nested");
    inner.insert(2, Value::Double(-0.5));
    let mut table = Table::new();
    table.insert(Key::String("hp".into()), Value::Int(5));
    table.insert(Key::Byte(255), Value::Short(1));
    [
        (0, Value::Null),
        (1, Value::Bool(true)),
        (2, Value::Int(-7)),
        (3, Value::Long(1 << 40)),
        (4, Value::Float(1.5)),
        (5, Value::String("hello".into())),
        (6, Value::Bytes(vec![0, 1, 2, 255])),
        (7, Value::Array(vec![Value::Int(1), Value::Bool(false), Value::Array(vec![Value::Null])])),
        (8, Value::Map(inner)),
        // Version 2.
        (9, Value::Byte(200)),
        (10, Value::Short(-300)),
        (11, Value::ShortArray(vec![-1, 2])),
        (12, Value::IntArray(vec![7, -8])),
        (13, Value::LongArray(vec![-1])),
        (14, Value::FloatArray(vec![0.5])),
        (15, Value::DoubleArray(vec![-0.125])),
        (16, Value::BoolArray(vec![true, false, true])),
        (17, Value::StringArray(vec!["a".into(), String::new()])),
        (18, Value::Table(table)),
        (19, Value::Custom { code: 86, data: vec![0, 0, 0x80, 0x3f] }),
    ]
    .into_iter()
    .collect()
}

fn encoded_params(params: &Params) -> Vec<u8> {
    let mut out = Vec::new();
    encode_params(params, &mut out);
    out
}

fn small_params() -> Vec<u8> {
    let params: Params = [(1, Value::Int(42)), (2, Value::String("x".into()))].into_iter().collect();
    encoded_params(&params)
}

fn frame_headers() -> Vec<Vec<u8>> {
    let mut headers = Vec::new();
    let mut clear = Header::new(MessageType::Connect, 12);
    headers.push(clear);
    clear.message_type = MessageType::Ping;
    clear.delivery = Delivery::Unreliable;
    clear.channel = 3;
    headers.push(clear);
    let mut sealed = Header::new(MessageType::OperationRequest, 40);
    sealed.counter = Some(5);
    sealed.encrypted = true;
    headers.push(sealed);
    sealed.sequence = Some(9);
    sealed.fragment = Some(Fragment { group: 1, index: 0, count: 2 });
    headers.push(sealed);
    headers
        .into_iter()
        .map(|header| {
            let mut out = vec![0; header.len()];
            header.write(&mut out);
            out
        })
        .collect()
}

fn messages() -> Vec<Vec<u8>> {
    let params = sample_params();
    let mut bodies: Vec<Vec<u8>> = vec![Vec::new(); 8];
    Connect { app_id: "fuzz-app".into(), client_version: "1.0".into(), versions: Some(Versions { min: 1, max: 2 }) }
        .encode(&mut bodies[0]);
    ConnectAck { reason: 7, message: "unknown app".into(), versions: Some((Versions { min: 1, max: 2 }, 0)) }
        .encode(&mut bodies[1]);
    OperationRequest { op_code: 3, params: params.clone() }.encode(&mut bodies[2]);
    OperationResponse { op_code: 3, return_code: -2, debug_message: Some("no".into()), params: params.clone() }
        .encode(&mut bodies[3]);
    EventData { code: 9, sender: 12, params }.encode(&mut bodies[4]);
    Ping { timestamp_ms: 1234 }.encode(&mut bodies[5]);
    Pong { echo_ms: 1234, server_time_ms: Some(5000) }.encode(&mut bodies[6]);
    Disconnect { reason: 4, message: "bye".into() }.encode(&mut bodies[7]);
    bodies
        .into_iter()
        .enumerate()
        .map(|(selector, body)| {
            let mut seed = vec![selector as u8];
            seed.extend_from_slice(&body);
            seed
        })
        .collect()
}

/// An initiator's first message (`e` and the version payload).
fn first_message(secret: [u8; 32]) -> Vec<u8> {
    let mut first = Vec::new();
    Initiator::start_with_ephemeral(Keypair::from_secret_bytes(secret), PROLOGUE, PAYLOAD, &mut first)
        .expect("a short payload is accepted");
    first
}

fn noise_responder() -> Vec<Vec<u8>> {
    let mut low_order = vec![0u8; 32];
    low_order.push(1);
    vec![first_message(INITIATOR_EPHEMERAL), first_message([0x44; 32]), low_order]
}

fn noise_initiator() -> Vec<Vec<u8>> {
    let first = first_message(INITIATOR_EPHEMERAL);
    let mut reply = Vec::new();
    respond_with_ephemeral(
        static_key(),
        Keypair::from_secret_bytes(RESPONDER_EPHEMERAL),
        PROLOGUE,
        &first,
        PAYLOAD,
        &mut reply,
    )
    .expect("the responder accepts");
    let mut seeds = Vec::new();
    for mode in [0u8, 2, 3] {
        let mut seed = vec![mode];
        seed.extend_from_slice(&reply);
        seeds.push(seed);
    }
    seeds.push(vec![4, 0, 0, 1]);
    seeds.push(vec![6, 0, 0, 1, 2, 3]);
    seeds.push(vec![7, 0, 0, 1]);
    seeds.push(vec![4, 0x80, 0x21, 1]);
    seeds
}

/// One clear frame as a session writes it before the keys exist.
fn clear_frame(message_type: MessageType, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    append_frame(&mut out, message_type, SendOptions::RELIABLE, None, DEFAULT_MAX_BODY, |out| {
        out.extend_from_slice(body)
    })
    .expect("small frames fit");
    out
}

fn encode(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    write(&mut out);
    out
}

fn session_seed(flags: u8, steps: &[u8], frames: &[Vec<u8>]) -> Vec<u8> {
    let mut seed = vec![flags, steps.len() as u8];
    seed.extend_from_slice(steps);
    for frame in frames {
        seed.extend_from_slice(frame);
    }
    seed
}

fn server_session() -> Vec<Vec<u8>> {
    let connect = clear_frame(
        MessageType::Connect,
        &encode(|out| {
            Connect {
                app_id: "fuzz-app".into(),
                client_version: "1.0".into(),
                versions: Some(Versions { min: 1, max: 2 }),
            }
            .encode(out)
        }),
    );
    let handshake = clear_frame(MessageType::HandshakeInit, &first_message([0x44; 32]));
    let operation = clear_frame(
        MessageType::OperationRequest,
        &encode(|out| out.extend_from_slice(&[3])).into_iter().chain(small_params()).collect::<Vec<_>>(),
    );
    let ping = clear_frame(MessageType::Ping, &encode(|out| Ping { timestamp_ms: 5 }.encode(out)));
    let disconnect = clear_frame(
        MessageType::Disconnect,
        &encode(|out| Disconnect { reason: 1, message: "bye".into() }.encode(out)),
    );
    vec![
        session_seed(0, &[], &[connect.clone(), operation.clone(), ping.clone(), disconnect.clone()]),
        session_seed(0x40, &[0x05, 0x3f], &[connect.clone(), operation.clone(), ping.clone()]),
        session_seed(0, &[], &[connect.clone(), handshake.clone()]),
        session_seed(1, &[0x3f, 0x00, 0xc0], &[connect.clone(), handshake.clone(), ping]),
        session_seed(0x80, &[0x1f, 0xa0], &[connect, handshake, operation, disconnect]),
    ]
}

fn client_session() -> Vec<Vec<u8>> {
    let ack = clear_frame(
        MessageType::ConnectAck,
        &encode(|out| {
            ConnectAck { reason: 0, message: String::new(), versions: Some((Versions { min: 1, max: 2 }, 2)) }
                .encode(out)
        }),
    );
    let refused = clear_frame(
        MessageType::ConnectAck,
        &encode(|out| {
            ConnectAck { reason: 13, message: "full".into(), versions: Some((Versions { min: 1, max: 2 }, 0)) }
                .encode(out)
        }),
    );
    let reply = clear_frame(MessageType::HandshakeReply, &[0x5a; 97]);
    let event = clear_frame(
        MessageType::Event,
        &encode(|out| EventData { code: 4, sender: 2, params: sample_params() }.encode(out)),
    );
    let response = clear_frame(
        MessageType::OperationResponse,
        &encode(|out| {
            OperationResponse { op_code: 1, return_code: 0, debug_message: None, params: Params::new() }.encode(out)
        }),
    );
    let ping = clear_frame(MessageType::Ping, &encode(|out| Ping { timestamp_ms: 5 }.encode(out)));
    let pong = clear_frame(MessageType::Pong, &encode(|out| Pong { echo_ms: 0, server_time_ms: None }.encode(out)));
    let disconnect = clear_frame(
        MessageType::Disconnect,
        &encode(|out| Disconnect { reason: 2, message: String::new() }.encode(out)),
    );
    let params = small_params();
    let mut relay_commands = vec![3u8, 0];
    relay_commands.extend_from_slice(&[1, 5, params.len() as u8]);
    relay_commands.extend_from_slice(&params);
    relay_commands.extend_from_slice(&[0x11, 230, 0, 0x3b, 6, 1, 2, 0, 0x0f, 2, 9, 0, 0x4b, 5]);
    vec![
        session_seed(0, &[], &[ack.clone(), reply]),
        session_seed(4, &[], &[ack.clone(), event.clone(), response.clone(), ping.clone(), pong.clone(), disconnect]),
        session_seed(0x44, &[0x02, 0x3f, 0xc0], &[ack, event, response, ping, pong]),
        session_seed(0, &[], &[refused]),
        relay_commands,
        vec![7, 4, 1, 1, 0, 0x24, 0x4b, 0x0b, 0x03],
    ]
}

fn encrypted(server_target: bool) -> Vec<Vec<u8>> {
    let params = small_params();
    let mut body = vec![3u8];
    if !server_target {
        body.extend_from_slice(&[0, 0, 0, 1]);
    }
    body.extend_from_slice(&params);
    let mut seeds = Vec::new();
    // A plain and an encrypted message, delivered; then time passes.
    let mut seed = vec![0u8, 0];
    for options in [0u8, 1] {
        seed.extend_from_slice(&[0, options, body.len() as u8]);
        seed.extend_from_slice(&body);
    }
    seed.extend_from_slice(&[6, 0x2c, 6, 0x24]);
    seeds.push(seed.clone());
    // The same delivered in pieces, with a structured message and a forged ping.
    let mut pieces = seed.clone();
    pieces.truncate(seed.len() - 4);
    pieces.extend_from_slice(&[5, 1, 2, 0, 0, 0, params.len() as u8]);
    pieces.extend_from_slice(&params);
    pieces.extend_from_slice(&[3, 7, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0x0e]);
    seeds.push(pieces);
    // A flipped bit, a replay, and the target's own sends.
    let mut tampered = vec![8u8, 0, 1, 1, body.len() as u8];
    tampered.extend_from_slice(&body);
    tampered.extend_from_slice(&[0, 0x10, 6]);
    tampered.extend_from_slice(&[0, 0, body.len() as u8]);
    tampered.extend_from_slice(&body);
    tampered.extend_from_slice(&[0x1e, 0x07, 1, params.len() as u8]);
    tampered.extend_from_slice(&params);
    tampered.push(5);
    seeds.push(tampered);
    // Small counter and pending-output limits.
    let mut limited = vec![0x15u8, 3];
    for _ in 0..4 {
        limited.extend_from_slice(&[0, 1, body.len() as u8]);
        limited.extend_from_slice(&body);
        limited.extend_from_slice(&[6, 0x07, 0, 0, 1]);
    }
    seeds.push(limited);
    seeds
}
