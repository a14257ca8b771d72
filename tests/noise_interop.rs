//! Interop with snow, an independent Noise implementation, and ring, an independent AES-GCM: our
//! client against a snow responder, a snow initiator against our server, and frames crossing between
//! the implementations in both directions.

mod support;

use std::sync::Arc;
use std::time::Instant;

use sealnet::protocol::aead::Cipher;
use sealnet::protocol::codec::{Params, Value};
use sealnet::protocol::message::{Connect, ConnectAck, EventData, OperationRequest, Versions};
use sealnet::protocol::noise::{self, Initiator, Keypair};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent};
use sealnet::protocol::status::StatusCode;

const PATTERN: &str = "Noise_NX_25519_AESGCM_SHA256";

fn snow_builder<'a>() -> snow::Builder<'a> {
    snow::Builder::new(PATTERN.parse().unwrap())
}

#[test]
fn our_initiator_completes_with_snow_responder() {
    let server_secret = [0x5a; 32];
    let server_public = *Keypair::from_secret_bytes(server_secret).public();
    let prologue = b"interop prologue";
    let mut responder = snow_builder()
        .local_private_key(&server_secret)
        .unwrap()
        .prologue(prologue)
        .unwrap()
        .build_responder()
        .unwrap();

    let mut first = Vec::new();
    let initiator = Initiator::start(prologue, b"from us", &mut first).unwrap();
    let mut payload = [0u8; 256];
    let n = responder.read_message(&first, &mut payload).unwrap();
    assert_eq!(&payload[..n], b"from us");
    let mut second = [0u8; 512];
    let len = responder.write_message(b"from snow", &mut second).unwrap();
    let completed = initiator.finish(&second[..len], Some(&server_public)).unwrap();
    assert_eq!(completed.remote_payload, b"from snow");
    assert_eq!(completed.remote_static, Some(server_public));
    assert_eq!(responder.get_handshake_hash(), &completed.handshake_hash[..]);

    let (snow_i2r, snow_r2i) = responder.dangerously_get_raw_split();
    assert_eq!(*completed.keys.send, snow_i2r);
    assert_eq!(*completed.keys.receive, snow_r2i);

    // Noise transport messages (empty associated data) are byte-identical.
    let transport = responder.into_stateless_transport_mode().unwrap();
    let ours = Cipher::new(&completed.keys.send);
    let mut sealed = Vec::new();
    ours.seal_append(7, &[], b"transport payload", &mut sealed);
    let mut opened = [0u8; 64];
    let n = transport.read_message(7, &sealed, &mut opened).unwrap();
    assert_eq!(&opened[..n], b"transport payload");
    let mut theirs = [0u8; 64];
    let n = transport.write_message(3, b"reply", &mut theirs).unwrap();
    let back = Cipher::new(&completed.keys.receive).open_to_vec(3, &[], &theirs[..n]).unwrap();
    assert_eq!(back, b"reply");
}

#[test]
fn snow_initiator_completes_with_our_responder() {
    let server = Keypair::generate().unwrap();
    let prologue = b"other prologue";
    let mut initiator = snow_builder().prologue(prologue).unwrap().build_initiator().unwrap();
    let mut first = [0u8; 128];
    let len = initiator.write_message(b"hi", &mut first).unwrap();
    let mut reply = Vec::new();
    let completed = noise::respond(&server, prologue, &first[..len], b"hello back", &mut reply).unwrap();
    assert_eq!(completed.remote_payload, b"hi");
    let mut payload = [0u8; 128];
    let n = initiator.read_message(&reply, &mut payload).unwrap();
    assert_eq!(&payload[..n], b"hello back");
    assert_eq!(initiator.get_remote_static().unwrap(), server.public());
    let (i2r, r2i) = initiator.dangerously_get_raw_split();
    assert_eq!(*completed.keys.receive, i2r);
    assert_eq!(*completed.keys.send, r2i);
}

/// A snow-driven client against our server session, over real frames. Transport frames are sealed and
/// opened with ring, so the frame format, nonce rule and associated data are checked independently.
#[test]
fn snow_client_talks_to_our_server_session() {
    let now = Instant::now();
    let static_key = Arc::new(Keypair::generate().unwrap());
    let mut server = Session::server(SessionConfig::default(), static_key.clone(), now);

    let mut connect_body = Vec::new();
    Connect { app_id: "interop".into(), client_version: "snow".into(), versions: None }.encode(&mut connect_body);
    let connect_frame = support::plain_frame(0x01, &connect_body);
    server.receive(&connect_frame, now);
    assert!(matches!(server.poll_event(), Some(SessionEvent::ConnectRequest { app_id, .. }) if app_id == "interop"));
    server.accept(now).unwrap();
    let ack_frame = server.pending_output().to_vec();
    server.consume_output(ack_frame.len());
    assert_eq!(ack_frame[1], 0x02);

    let prologue = support::prologue(&connect_frame, &ack_frame);
    let mut initiator = snow_builder().prologue(&prologue).unwrap().build_initiator().unwrap();
    let mut first = [0u8; 64];
    let len = initiator.write_message(&[1], &mut first).unwrap();
    server.receive(&support::plain_frame(0x03, &first[..len]), now);
    let reply_frame = server.pending_output().to_vec();
    server.consume_output(reply_frame.len());
    assert_eq!(reply_frame[1], 0x04);
    let mut payload = [0u8; 64];
    let n = initiator.read_message(&reply_frame[8..], &mut payload).unwrap();
    assert_eq!(&payload[..n], &[1], "server payload carries the protocol version");
    assert_eq!(initiator.get_remote_static().unwrap(), static_key.public());
    let (c2s, s2c) = initiator.dangerously_get_raw_split();
    let (c2s, s2c) = (support::key(&c2s), support::key(&s2c));
    assert!(server.is_encrypted());

    let mut params = Params::new();
    params.insert(1, Value::String("secret".into()));
    let mut body = Vec::new();
    OperationRequest { op_code: 42, params: params.clone() }.encode(&mut body);
    server.receive(&support::sealed_frame(&c2s, 0, 0x05, true, &body), now);
    server.receive(&support::sealed_frame(&c2s, 1, 0x05, false, &body), now);
    let mut seen = Vec::new();
    while let Some(event) = server.poll_event() {
        if let SessionEvent::OperationRequest { request, encrypted, .. } = event {
            assert_eq!(request.op_code, 42);
            assert_eq!(request.params, params);
            seen.push(encrypted);
        }
    }
    assert_eq!(seen, vec![true, false]);

    // And the other way: the server's frames open with ring under the snow-derived key.
    let event = EventData { code: 9, sender: 3, params: params.clone() };
    server.send_event(&event, SendOptions::ENCRYPTED).unwrap();
    server.send_event(&event, SendOptions::RELIABLE).unwrap();
    let frames = support::split_frames(server.pending_output());
    assert_eq!(frames.len(), 2);
    for (index, frame) in frames.iter().enumerate() {
        let (message_type, encrypted, counter, plaintext) =
            support::open_sealed_frame(&s2c, frame).expect("ring opens our frame");
        assert_eq!((message_type, encrypted, counter), (0x07, index == 0, index as u64));
        let mut expected = Vec::new();
        event.encode(&mut expected);
        assert_eq!(plaintext, expected);
    }
}

/// Our client session against a snow-driven server.
#[test]
fn our_client_session_talks_to_snow_server() {
    let now = Instant::now();
    let server_secret = [0x33; 32];
    let server_public = *Keypair::from_secret_bytes(server_secret).public();
    // A version-1 client: the frames below are built by hand in version 1's form.
    let config =
        SessionConfig { server_key_pin: Some(server_public), versions: Versions::V1, ..SessionConfig::default() };
    let mut client = Session::client(config, now);
    client.connect("interop", "1.0", now).unwrap();
    let connect_frame = client.pending_output().to_vec();
    client.consume_output(connect_frame.len());

    let mut ack_body = Vec::new();
    ConnectAck { reason: 0, message: String::new(), versions: None }.encode(&mut ack_body);
    let ack_frame = support::plain_frame(0x02, &ack_body);
    client.receive(&ack_frame, now);
    let init_frame = client.pending_output().to_vec();
    client.consume_output(init_frame.len());
    assert_eq!(init_frame[1], 0x03, "auto key exchange sends HandshakeInit after Connect");

    let prologue = support::prologue(&connect_frame, &ack_frame);
    let mut responder = snow_builder()
        .local_private_key(&server_secret)
        .unwrap()
        .prologue(&prologue)
        .unwrap()
        .build_responder()
        .unwrap();
    let mut payload = [0u8; 64];
    responder.read_message(&init_frame[8..], &mut payload).unwrap();
    let mut reply = [0u8; 256];
    let len = responder.write_message(&[1], &mut reply).unwrap();
    client.receive(&support::plain_frame(0x04, &reply[..len]), now);
    let (c2s, s2c) = responder.dangerously_get_raw_split();
    let (c2s, s2c) = (support::key(&c2s), support::key(&s2c));

    let statuses: Vec<StatusCode> = std::iter::from_fn(|| client.poll_event())
        .filter_map(|e| match e {
            SessionEvent::Status(info) => Some(info.code),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![StatusCode::Connect, StatusCode::EncryptionEstablished]);
    assert_eq!(client.remote_static_key(), Some(&server_public));

    let mut params = Params::new();
    params.insert(5, Value::Long(-77));
    client.send_operation(&OperationRequest { op_code: 7, params: params.clone() }, SendOptions::ENCRYPTED).unwrap();
    let frames = support::split_frames(client.pending_output());
    let (message_type, encrypted, counter, body) = support::open_sealed_frame(&c2s, &frames[0]).unwrap();
    assert_eq!((message_type, encrypted, counter), (0x05, true, 0));
    let mut expected = Vec::new();
    OperationRequest { op_code: 7, params: params.clone() }.encode(&mut expected);
    assert_eq!(body, expected);

    let mut event_body = Vec::new();
    EventData { code: 1, sender: 2, params }.encode(&mut event_body);
    client.receive(&support::sealed_frame(&s2c, 0, 0x07, true, &event_body), now);
    match client.poll_event() {
        Some(SessionEvent::Event { event, encrypted: true }) => assert_eq!(event.code, 1),
        other => panic!("expected an encrypted event, got {other:?}"),
    }
}

const PSK_PATTERN: &str = "Noise_NXpsk2_25519_AESGCM_SHA256";

fn snow_psk_builder<'a>() -> snow::Builder<'a> {
    snow::Builder::new(PSK_PATTERN.parse().unwrap())
}

#[test]
fn our_psk_initiator_completes_with_snow_responder() {
    let server_secret = [0x3c; 32];
    let server_public = *Keypair::from_secret_bytes(server_secret).public();
    let psk = [0x77; 32];
    let prologue = b"psk prologue";
    let mut responder = snow_psk_builder()
        .local_private_key(&server_secret)
        .unwrap()
        .psk(2, &psk)
        .unwrap()
        .prologue(prologue)
        .unwrap()
        .build_responder()
        .unwrap();

    // A token-sized payload: the first message carries the server token.
    let token = vec![0xab; 600];
    let mut first = Vec::new();
    let initiator = Initiator::start_psk(prologue, &token, &psk, &mut first).unwrap();
    let mut payload = vec![0u8; 2048];
    let n = responder.read_message(&first, &mut payload).unwrap();
    assert_eq!(&payload[..n], &token[..]);
    let mut second = [0u8; 512];
    let len = responder.write_message(b"psk reply", &mut second).unwrap();
    let completed = initiator.finish(&second[..len], Some(&server_public)).unwrap();
    assert_eq!(completed.remote_payload, b"psk reply");
    assert_eq!(responder.get_handshake_hash(), &completed.handshake_hash[..]);
    let (snow_i2r, snow_r2i) = responder.dangerously_get_raw_split();
    assert_eq!(*completed.keys.send, snow_i2r);
    assert_eq!(*completed.keys.receive, snow_r2i);
}

#[test]
fn snow_psk_initiator_completes_with_our_responder() {
    let server = Keypair::generate().unwrap();
    let psk = [0x21; 32];
    let prologue = b"another psk prologue";
    let mut initiator = snow_psk_builder().psk(2, &psk).unwrap().prologue(prologue).unwrap().build_initiator().unwrap();
    let mut first = [0u8; 256];
    let len = initiator.write_message(b"token bytes", &mut first).unwrap();
    let responder = noise::Responder::read_psk(prologue, &first[..len]).unwrap();
    assert_eq!(responder.remote_payload(), b"token bytes");
    let mut reply = Vec::new();
    let completed = responder.finish_psk(&server, &psk, b"welcome", &mut reply).unwrap();
    let mut payload = [0u8; 128];
    let n = initiator.read_message(&reply, &mut payload).unwrap();
    assert_eq!(&payload[..n], b"welcome");
    assert_eq!(initiator.get_handshake_hash(), &completed.handshake_hash[..]);
    let (snow_i2r, snow_r2i) = initiator.dangerously_get_raw_split();
    assert_eq!(*completed.keys.receive, snow_i2r);
    assert_eq!(*completed.keys.send, snow_r2i);
}

#[test]
fn a_psk_that_differs_fails_the_reply_on_both_implementations() {
    let server = Keypair::generate().unwrap();
    let prologue = b"p";
    // snow's initiator holds one secret, our responder another: snow refuses our reply.
    let mut initiator =
        snow_psk_builder().psk(2, &[1; 32]).unwrap().prologue(prologue).unwrap().build_initiator().unwrap();
    let mut first = [0u8; 256];
    let len = initiator.write_message(b"t", &mut first).unwrap();
    let mut reply = Vec::new();
    noise::Responder::read_psk(prologue, &first[..len])
        .unwrap()
        .finish_psk(&server, &[2; 32], b"", &mut reply)
        .unwrap();
    assert!(initiator.read_message(&reply, &mut [0u8; 128]).is_err());
    // And our initiator refuses a reply made with another secret.
    let mut first = Vec::new();
    let ours = Initiator::start_psk(prologue, b"t", &[3; 32], &mut first).unwrap();
    let mut reply = Vec::new();
    noise::Responder::read_psk(prologue, &first).unwrap().finish_psk(&server, &[4; 32], b"", &mut reply).unwrap();
    assert_eq!(ours.finish(&reply, None).unwrap_err(), noise::NoiseError::Decrypt);
}
