//! The test vectors of docs/protocol.md, section 12, recomputed.
//!
//! Each value of section 12 is computed here from the crate's public API, with the functions the
//! session itself builds frames with, and compared with the hex written in this file; that hex must
//! in turn stand in section 12 as a whole block, and every block of section 12 must be checked by
//! some test here. So neither the code nor the document can change a byte without a test failing.

mod support;

use std::sync::Arc;
use std::time::Instant;

use sealnet::protocol::codec::{Limits, Params, DEFAULT_LIMITS};
use sealnet::protocol::frame::{Header, MessageType, DEFAULT_MAX_BODY, SECURE_VERSION};
use sealnet::protocol::message::{EventData, OperationRequest, Ping, Pong, Versions};
use sealnet::protocol::noise::{self, hex, Initiator, Keypair};
use sealnet::protocol::sealing::{append_versioned_frame, open_frame, Opener, Sealer, SendOptions};
use sealnet::protocol::session::{Session, SessionConfig, SessionEvent, Transport, PROLOGUE_LABEL};

// ---------------------------------------------------------------------------------------------
// Reading section 12
// ---------------------------------------------------------------------------------------------

/// The document as it is in the checkout, so an edit is seen without rebuilding anything.
fn protocol_doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md");
    std::fs::read_to_string(path).expect("docs/protocol.md is readable")
}

/// The lines from the one starting with `heading` up to, not including, the next one starting with
/// `next` (empty when there is no such heading).
fn lines_under(lines: impl IntoIterator<Item = String>, heading: &str, next: &str) -> Vec<String> {
    let mut lines = lines.into_iter().skip_while(|line| !line.starts_with(heading));
    let Some(heading) = lines.next() else { return Vec::new() };
    std::iter::once(heading).chain(lines.take_while(|line| !line.starts_with(next))).collect()
}

/// Section 12 alone, from its heading to the next top-level heading.
fn section_12() -> Vec<String> {
    let lines = lines_under(protocol_doc().lines().map(str::to_owned), "## 12. ", "## ");
    assert!(!lines.is_empty(), "docs/protocol.md has no section 12");
    lines
}

/// Collapses every run of whitespace to one space, so alignment and line width are free to change.
fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A word that reads as hex bytes. An annotation must not start with one, or bytes could hide in it.
fn is_hex_word(word: &str) -> bool {
    !word.is_empty() && word.len() % 2 == 0 && word.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn unhex(rows: &[&str]) -> Vec<u8> {
    let digits: String = rows.concat().split_whitespace().collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits in {rows:?}");
    (0..digits.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&digits[at..at + 2], 16).unwrap_or_else(|_| panic!("not hex: {rows:?}")))
        .collect()
}

/// `bytes` cut into rows as long as `rows`, for a failure message that lines up with the document.
fn as_rows(bytes: &[u8], rows: &[&str]) -> String {
    let mut rest = bytes;
    let mut text = String::new();
    for row in rows {
        let (this, next) = rest.split_at(unhex(&[row]).len().min(rest.len()));
        text += &format!("    {}\n", hex(this));
        rest = next;
    }
    if !rest.is_empty() {
        text += &format!("    {} (beyond the documented length)\n", hex(rest));
    }
    text
}

/// One subsection of section 12 (`### 12.n ...`), with its fenced blocks, and which of those blocks
/// a check has matched so far.
struct Subsection {
    number: &'static str,
    text: String,
    blocks: Vec<Vec<String>>,
    checked: Vec<bool>,
}

impl Subsection {
    fn open(number: &'static str) -> Self {
        let lines = lines_under(section_12(), &format!("### {number} "), "### ");
        assert!(!lines.is_empty(), "section 12 has no subsection {number}");
        let mut blocks = Vec::new();
        let mut block: Option<Vec<String>> = None;
        for line in &lines {
            if line.trim_start().starts_with("```") {
                match block.take() {
                    Some(done) => blocks.push(done),
                    None => block = Some(Vec::new()),
                }
            } else if let Some(block) = block.as_mut() {
                if !line.trim().is_empty() {
                    block.push(normalise(line));
                }
            }
        }
        assert!(block.is_none(), "section {number} has an unclosed code block");
        let checked = vec![false; blocks.len()];
        Subsection { number, text: normalise(&lines.join("\n")), blocks, checked }
    }

    /// A documented line holds `row`: exactly, or followed by an annotation that does not begin
    /// with more hex.
    fn line_holds(line: &str, row: &str) -> bool {
        match line.strip_prefix(normalise(row).as_str()) {
            Some("") => true,
            Some(rest) => {
                rest.strip_prefix(' ').is_some_and(|annotation| !annotation.split(' ').next().is_some_and(is_hex_word))
            }
            None => false,
        }
    }

    /// Marks the block made of exactly `rows`, one per line; fails if there is none.
    fn expect_block(&mut self, what: &str, rows: &[String]) {
        let found = self.blocks.iter().position(|block| {
            block.len() == rows.len() && block.iter().zip(rows).all(|(line, row)| Self::line_holds(line, row))
        });
        match found {
            Some(index) => self.checked[index] = true,
            None => panic!(
                "section {}, {what}: no code block there reads, line by line,\n{}",
                self.number,
                rows.iter().map(|row| format!("    {row}\n")).collect::<String>()
            ),
        }
    }

    /// An annotated hex block: `rows` (the hex of each line, without its annotation) must be what the
    /// code computed, and must be a block of the document.
    fn frame(&mut self, what: &str, rows: &[&str], computed: &[u8]) {
        assert!(
            unhex(rows) == computed,
            "section {}, {what}: the code computes\n{}but the documented hex is\n{}",
            self.number,
            as_rows(computed, rows),
            rows.iter().map(|row| format!("    {row}\n")).collect::<String>()
        );
        self.expect_block(what, &rows.iter().map(|row| row.to_string()).collect::<Vec<_>>());
    }

    /// A block of labelled values, one `label hex` per line.
    fn values(&mut self, what: &str, rows: &[(&str, &str, &[u8])]) {
        for (label, documented, computed) in rows {
            assert!(
                unhex(&[documented]) == *computed,
                "section {}, {label}: the code computes {} but the documented hex is {documented}",
                self.number,
                hex(computed)
            );
        }
        self.expect_block(what, &rows.iter().map(|(label, value, _)| format!("{label} {value}")).collect::<Vec<_>>());
    }

    /// Hex quoted in the prose, as `` `01 02` ``.
    fn quoted(&self, what: &str, documented: &str, computed: &[u8]) {
        assert!(
            unhex(&[documented]) == computed,
            "section {}, {what}: the code computes {} but the documented hex is {documented}",
            self.number,
            hex(computed)
        );
        self.mentions(&format!("`{documented}`"));
    }

    fn mentions(&self, phrase: &str) {
        assert!(self.text.contains(&normalise(phrase)), "section {} does not say {phrase:?}", self.number);
    }

    /// Every block of the subsection was checked: a block added to the document needs a check here.
    fn finish(self) {
        let unchecked: Vec<&Vec<String>> =
            self.blocks.iter().zip(&self.checked).filter(|(_, checked)| !**checked).map(|(block, _)| block).collect();
        assert!(unchecked.is_empty(), "section {}: blocks no test checks: {unchecked:#?}", self.number);
    }
}

// ---------------------------------------------------------------------------------------------
// The connection of section 12
// ---------------------------------------------------------------------------------------------

const CLIENT_EPHEMERAL_SECRET: [u8; 32] = counting_from(0x00);
const SERVER_STATIC_SECRET: [u8; 32] = counting_from(0x20);
const SERVER_EPHEMERAL_SECRET: [u8; 32] = counting_from(0x40);

/// 32 consecutive byte values: private keys anyone can retype from the document.
const fn counting_from(first: u8) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        bytes[i] = first + i as u8;
        i += 1;
    }
    bytes
}

/// What a server of section 12 speaks: versions 1 to 2.
const SERVER_VERSIONS: Versions = Versions { min: 1, max: 2 };

/// One connection of section 12, from Connect to the split keys, with the two sessions that
/// produced its Connect and ConnectAck, left in the Connected state.
struct Connection {
    version: u8,
    client: Session,
    server: Session,
    connect: Vec<u8>,
    connect_ack: Vec<u8>,
    prologue: Vec<u8>,
    handshake_init: Vec<u8>,
    handshake_reply: Vec<u8>,
    handshake_hash: [u8; 32],
    k1: [u8; 32],
    k2: [u8; 32],
}

/// Appends a key-exchange frame as the session does: clear, reliable, channel 0.
fn pre_key_frame(version: u8, message_type: MessageType, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    append_versioned_frame(&mut frame, version, message_type, SendOptions::RELIABLE, None, DEFAULT_MAX_BODY, |out| {
        out.extend_from_slice(body)
    })
    .expect("a key-exchange frame fits");
    frame
}

/// The body of a clear frame, after checking its header.
fn clear_body(frame: &[u8], version: u8, message_type: MessageType) -> &[u8] {
    let (header, header_len) = Header::parse(frame, DEFAULT_MAX_BODY).expect("the frame parses");
    assert_eq!((header.version, header.message_type, header.counter), (version, message_type, None));
    assert_eq!(frame.len(), header_len + header.body_len as usize, "one whole frame");
    &frame[header_len..]
}

fn drain_events(session: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

impl Connection {
    /// A client offering `offered` connects (app `demo`, version `1.0`) to a server that speaks
    /// versions 1 to 2, and the key exchange runs with the keys of section 12.1.
    fn new(offered: Versions) -> Self {
        let now = Instant::now();
        let server_static = Arc::new(Keypair::from_secret_bytes(SERVER_STATIC_SECRET));
        // The key exchange is run by hand below, with fixed ephemeral keys the sessions cannot take.
        let client_config = SessionConfig { versions: offered, auto_key_exchange: false, ..SessionConfig::default() };
        let server_config = SessionConfig { versions: SERVER_VERSIONS, ..SessionConfig::default() };
        let mut client = Session::client(client_config, now);
        let mut server = Session::server(server_config, server_static.clone(), now);

        // Connect and ConnectAck come out of the sessions themselves.
        client.connect("demo", "1.0", now).expect("connect");
        let mut connect = Vec::new();
        client.take_output(&mut connect);
        server.receive(&connect, now);
        let version = match drain_events(&mut server).as_slice() {
            [SessionEvent::ConnectRequest { app_id, client_version, protocol_version }] => {
                assert_eq!((app_id.as_str(), client_version.as_str()), ("demo", "1.0"));
                *protocol_version
            }
            other => panic!("the server reports {other:?} instead of a connect request"),
        };
        server.accept(now).expect("accept");
        let mut connect_ack = Vec::new();
        server.take_output(&mut connect_ack);
        client.receive(&connect_ack, now);
        assert!(!client.wants_close(), "the client accepts the ConnectAck: {:?}", drain_events(&mut client));
        assert_eq!(client.protocol_version(), version, "both ends speak the chosen version");
        assert_eq!(server.protocol_version(), version);
        drain_events(&mut client);
        drain_events(&mut server);

        // Section 6.3.
        let mut prologue = PROLOGUE_LABEL.to_vec();
        for frame in [&connect, &connect_ack] {
            prologue.extend_from_slice(&(frame.len() as u32).to_be_bytes());
            prologue.extend_from_slice(frame);
        }

        // Section 6.4, with the payloads the sessions send: the connection's version.
        let client_ephemeral = Keypair::from_secret_bytes(CLIENT_EPHEMERAL_SECRET);
        let server_ephemeral = Keypair::from_secret_bytes(SERVER_EPHEMERAL_SECRET);
        let mut message1 = Vec::new();
        let initiator =
            Initiator::start_with_ephemeral(client_ephemeral, &prologue, &[version], &mut message1).expect("message 1");
        let mut message2 = Vec::new();
        let responder = noise::respond_with_ephemeral(
            &server_static,
            server_ephemeral,
            &prologue,
            &message1,
            &[version],
            &mut message2,
        )
        .expect("message 2");
        let initiator =
            initiator.finish(&message2, Some(server_static.public())).expect("the client accepts message 2");

        assert_eq!(initiator.handshake_hash, responder.handshake_hash, "both ends hold one handshake hash");
        assert_eq!(*initiator.keys.send, *responder.keys.receive, "k1 is client to server on both ends");
        assert_eq!(*initiator.keys.receive, *responder.keys.send, "k2 is server to client on both ends");
        assert_eq!(initiator.remote_static, Some(*server_static.public()));
        assert_eq!(
            (initiator.remote_payload.as_slice(), responder.remote_payload.as_slice()),
            (&[version][..], &[version][..])
        );

        Connection {
            version,
            client,
            server,
            handshake_init: pre_key_frame(version, MessageType::HandshakeInit, &message1),
            handshake_reply: pre_key_frame(version, MessageType::HandshakeReply, &message2),
            connect,
            connect_ack,
            prologue,
            handshake_hash: initiator.handshake_hash,
            k1: *initiator.keys.send,
            k2: *initiator.keys.receive,
        }
    }

    /// Section 12.1–12.5: a client that offers only version 1, so its Connect has no range.
    fn version_1() -> Self {
        Self::new(Versions::V1)
    }

    /// Section 12.6: a client that offers versions 1 to 2.
    fn version_2() -> Self {
        Self::new(Versions { min: 1, max: 2 })
    }

    /// The prologue is private to a session, so it is checked through the handshake, which fails
    /// unless both ends hash the same prologue: each session, with its own random ephemeral key,
    /// must complete a key exchange against the documented prologue.
    fn assert_sessions_use_prologue(mut self) {
        let now = Instant::now();
        let server_static = Keypair::from_secret_bytes(SERVER_STATIC_SECRET);

        self.client.establish_encryption(now).expect("the client starts the key exchange");
        let mut init = Vec::new();
        self.client.take_output(&mut init);
        let message1 = clear_body(&init, self.version, MessageType::HandshakeInit);
        let mut message2 = Vec::new();
        noise::respond(&server_static, &self.prologue, message1, &[self.version], &mut message2).expect("message 2");
        self.client.receive(&pre_key_frame(self.version, MessageType::HandshakeReply, &message2), now);
        assert!(
            self.client.is_encrypted(),
            "the client session's prologue differs from the documented one: {:?}",
            drain_events(&mut self.client)
        );

        self.server.receive(&self.handshake_init, now);
        let mut reply = Vec::new();
        self.server.take_output(&mut reply);
        assert!(self.server.is_encrypted(), "the server answers: {:?}", drain_events(&mut self.server));
        let message2 = clear_body(&reply, self.version, MessageType::HandshakeReply);
        let mut message1 = Vec::new();
        let initiator = Initiator::start_with_ephemeral(
            Keypair::from_secret_bytes(CLIENT_EPHEMERAL_SECRET),
            &self.prologue,
            &[self.version],
            &mut message1,
        )
        .expect("message 1");
        assert_eq!(pre_key_frame(self.version, MessageType::HandshakeInit, &message1), self.handshake_init);
        let completed = initiator.finish(message2, Some(server_static.public()));
        assert!(completed.is_ok(), "the server session's prologue differs from the documented one: {completed:?}");
    }
}

/// Seals one frame as the session does once keys exist, with the sender's next counter.
fn sealed_frame(
    sealer: &mut Sealer,
    version: u8,
    message_type: MessageType,
    options: SendOptions,
    write_body: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let mut frame = Vec::new();
    append_versioned_frame(&mut frame, version, message_type, options, Some(sealer), DEFAULT_MAX_BODY, write_body)
        .expect("the frame is sealed");
    frame
}

/// Opens one frame as the receiving session does, checking the header it was meant to have.
fn open_sealed(opener: &mut Opener, frame: &[u8], version: u8, message_type: MessageType, encrypted: bool) -> Vec<u8> {
    let mut frame = frame.to_vec();
    let (header, header_len) = Header::parse(&frame, DEFAULT_MAX_BODY).expect("the frame parses");
    assert_eq!((header.version, header.message_type, header.encrypted), (version, message_type, encrypted));
    open_frame(&mut frame, &header, header_len, Some(opener)).expect("the frame opens").to_vec()
}

/// A sealer for a sending key, with the limits a session gives its own by default.
fn sealer(key: &[u8; 32]) -> Sealer {
    Sealer::new(key, SessionConfig::default().counter_limit)
}

// ---------------------------------------------------------------------------------------------
// One test per subsection
// ---------------------------------------------------------------------------------------------

#[test]
fn section_12_has_the_subsections_these_tests_check() {
    let headings: Vec<String> = section_12()
        .iter()
        .filter_map(|line| line.strip_prefix("### "))
        .map(|heading| heading.split(' ').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        headings,
        ["12.1", "12.2", "12.3", "12.4", "12.5", "12.6", "12.7", "12.8"],
        "a new subsection needs a test"
    );
}

#[test]
fn keys_12_1() {
    let mut section = Subsection::open("12.1");
    let client_ephemeral = Keypair::from_secret_bytes(CLIENT_EPHEMERAL_SECRET);
    let server_static = Keypair::from_secret_bytes(SERVER_STATIC_SECRET);
    let server_ephemeral = Keypair::from_secret_bytes(SERVER_EPHEMERAL_SECRET);
    section.values(
        "the keys",
        &[
            (
                "client ephemeral private",
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                &CLIENT_EPHEMERAL_SECRET,
            ),
            (
                "client ephemeral public",
                "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f",
                client_ephemeral.public(),
            ),
            (
                "server static private",
                "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f",
                &SERVER_STATIC_SECRET,
            ),
            (
                "server static public",
                "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254",
                server_static.public(),
            ),
            (
                "server ephemeral private",
                "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f",
                &SERVER_EPHEMERAL_SECRET,
            ),
            (
                "server ephemeral public",
                "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a",
                server_ephemeral.public(),
            ),
        ],
    );
    section.finish();
}

#[test]
fn connect_and_connect_ack_12_2() {
    let c = Connection::version_1();
    let mut section = Subsection::open("12.2");
    section.frame("Connect", &["01 01 04 00 00000009", "04 64656d6f 03 312e30"], &c.connect);
    section.mentions(&format!("client version `1.0` ({} bytes)", c.connect.len()));
    section.frame("ConnectAck", &["01 02 04 00 00000003", "0000 00"], &c.connect_ack);
    section.mentions(&format!("Accepting ConnectAck ({} bytes)", c.connect_ack.len()));
    section.finish();
}

#[test]
fn prologue_12_3() {
    let c = Connection::version_1();
    let mut section = Subsection::open("12.3");
    section.frame(
        "the prologue",
        &[
            "7365616c6e65742f31204e582070726f6c6f677565",
            "00000011 0101040000000009 0464656d6f03312e30",
            "0000000b 0102040000000003 000000",
        ],
        &c.prologue,
    );
    section.mentions(&format!("Prologue ({} bytes)", c.prologue.len()));
    section.finish();
    c.assert_sessions_use_prologue();
}

#[test]
fn handshake_12_4() {
    let c = Connection::version_1();
    let mut section = Subsection::open("12.4");
    section.frame(
        "HandshakeInit",
        &["01 03 04 00 00000021", "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f", "01"],
        &c.handshake_init,
    );
    section.mentions(&format!("HandshakeInit frame ({} bytes", c.handshake_init.len()));
    section.frame(
        "HandshakeReply",
        &[
            "01 04 04 00 00000061",
            "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a",
            "7b1c32180116ec5e33d35e1e800a972809c76a6e86be86cf0cbeaf3ce5e7d7e3",
            "73d9c34763874f0860aa9ac8b6135639",
            "41",
            "14223b55194682adcb7b5519143b2d74",
        ],
        &c.handshake_reply,
    );
    section.mentions(&format!("HandshakeReply frame ({} bytes", c.handshake_reply.len()));
    section.values(
        "the results",
        &[
            ("handshake hash h", "43bbeb67763ffe66775f16768613cb3c9c988f3b19eadb91c1e9792ec1d15dbe", &c.handshake_hash),
            ("k1 (client->server)", "e8c1546c45f535c36aaa31205cce8a745367d3999efbc72954ac5b3775b3451b", &c.k1),
            ("k2 (server->client)", "76b4e2fd688ac318a7ff18e3a122f248aee00891ec7452e56862f63b9510ae48", &c.k2),
        ],
    );
    section.finish();
    assert_snow_agrees(&c);
}

#[test]
fn transport_frames_12_5() {
    let c = Connection::version_1();
    let limits = Limits { protocol_version: 1, ..DEFAULT_LIMITS };
    let mut section = Subsection::open("12.5");
    // The client seals its frames with one sealer, so the Ping after the request takes counter 1.
    let mut client = sealer(&c.k1);

    let mut params = Params::new();
    params.insert(1, "token");
    let request = OperationRequest { op_code: 230, params };
    let mut body = Vec::new();
    request.encode(&mut body);
    section.quoted("the request's plaintext body", "e6 01 01 07 05 746f6b656e", &body);
    let request_frame =
        sealed_frame(&mut client, 1, MessageType::OperationRequest, SendOptions::ENCRYPTED, |out| request.encode(out));
    section.frame(
        "the encrypted OperationRequest",
        &["01 05 07 00 0000001a 0000000000000000", "c8823967a3e7bb855955", "14b1b91f10bb0f99b3ea25d50cad6cf6"],
        &request_frame,
    );

    let ping = Ping { timestamp_ms: 1000 };
    let ping_frame = sealed_frame(&mut client, 1, MessageType::Ping, SendOptions::RELIABLE, |out| ping.encode(out));
    section.frame(
        "the plain-authenticated Ping",
        &["01 08 06 00 00000018 0000000000000001", "00000000000003e8", "7206b383e423365df5c3e99c1d7f9bef"],
        &ping_frame,
    );

    let mut params = Params::new();
    params.insert(245, -1i32);
    let event = EventData { code: 1, sender: 2, params };
    let event_frame =
        sealed_frame(&mut sealer(&c.k2), 1, MessageType::Event, SendOptions::RELIABLE, |out| event.encode(out));
    section.frame(
        "the plain-authenticated Event",
        &["01 07 06 00 00000019 0000000000000000", "01 00000002 01 f5 03 01", "74d6b633f5cea7977b1668eb6d04c603"],
        &event_frame,
    );
    section.finish();

    // The receiving ends read back what was sent, in order, as sessions do.
    let mut server = Opener::in_order(&c.k1);
    let opened = open_sealed(&mut server, &request_frame, 1, MessageType::OperationRequest, true);
    assert_eq!(OperationRequest::decode(&opened, &limits), Ok(request));
    let opened = open_sealed(&mut server, &ping_frame, 1, MessageType::Ping, false);
    assert_eq!(Ping::decode(&opened, &limits), Ok(ping));
    let opened = open_sealed(&mut Opener::in_order(&c.k2), &event_frame, 1, MessageType::Event, false);
    assert_eq!(EventData::decode(&opened, &limits), Ok(event));

    assert_ring_opens(&c.k1, &request_frame, &body);
    assert_ring_opens(&c.k1, &ping_frame, &0x3e8u64.to_be_bytes());
    assert_ring_opens(&c.k2, &event_frame, &unhex(&["01 00000002 01 f5 03 01"]));
}

#[test]
fn version_2_connection_12_6() {
    let c = Connection::version_2();
    assert_eq!(c.version, 2, "a version-2 server chooses 2 for a client offering 1 to 2");
    let limits = Limits { protocol_version: 2, ..DEFAULT_LIMITS };
    let mut section = Subsection::open("12.6");

    section.frame("Connect", &["01 01 04 00 0000000b", "04 64656d6f 03 312e30", "01 02"], &c.connect);
    section.mentions(&format!("versions 1 to 2 ({} bytes)", c.connect.len()));
    section.frame("ConnectAck", &["01 02 04 00 00000006", "0000 00", "01 02 02"], &c.connect_ack);
    section.mentions(&format!("Accepting ConnectAck ({} bytes)", c.connect_ack.len()));

    section.frame(
        "the prologue",
        &[
            "7365616c6e65742f31204e582070726f6c6f677565",
            "00000013 010104000000000b 0464656d6f03312e300102",
            "0000000e 0102040000000006 000000010202",
        ],
        &c.prologue,
    );
    section.mentions(&format!("Prologue ({} bytes)", c.prologue.len()));

    section.frame(
        "HandshakeInit",
        &["02 03 04 00 00000021", "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f", "02"],
        &c.handshake_init,
    );
    section.mentions(&format!("HandshakeInit frame ({} bytes", c.handshake_init.len()));
    section.frame(
        "HandshakeReply",
        &[
            "02 04 04 00 00000061",
            "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a",
            "7b1c32180116ec5e33d35e1e800a972809c76a6e86be86cf0cbeaf3ce5e7d7e3",
            "5081cd1bc0db11f988be3c31bf6e3d12",
            "42",
            "436b06e344cdf0591b2c9225dacc7983",
        ],
        &c.handshake_reply,
    );
    section.mentions(&format!("HandshakeReply frame ({} bytes", c.handshake_reply.len()));
    section.values(
        "the results",
        &[
            ("handshake hash h", "d64c14a94c29f567a056acf83869a67a02f84c2d7409b73688d564682e65831a", &c.handshake_hash),
            ("k1 (client->server)", "e8c1546c45f535c36aaa31205cce8a745367d3999efbc72954ac5b3775b3451b", &c.k1),
            ("k2 (server->client)", "76b4e2fd688ac318a7ff18e3a122f248aee00891ec7452e56862f63b9510ae48", &c.k2),
        ],
    );

    let mut params = Params::new();
    params.insert(1, -2i16);
    params.insert(2, vec![1.0f32, 2.0]);
    assert_eq!(params.required_version(), 2, "the request needs a version-2 connection");
    let request = OperationRequest { op_code: 7, params };
    let mut body = Vec::new();
    request.encode(&mut body);
    section.quoted("the request's plaintext body", "07 02 01 0c 03 02 10 02 0000803f 00000040", &body);
    let request_frame =
        sealed_frame(&mut sealer(&c.k1), 2, MessageType::OperationRequest, SendOptions::ENCRYPTED, |out| {
            request.encode(out)
        });
    section.frame(
        "the encrypted OperationRequest",
        &[
            "02 05 07 00 00000020 0000000000000000",
            "2981396ca591c4ec3c3b206d8ab3e797",
            "5dc9b740f9587fb861118854db94cba6",
        ],
        &request_frame,
    );

    // What a version-2 server answers a Ping with (section 3.11).
    let pong = Pong { echo_ms: 1000, server_time_ms: Some(5000) };
    let pong_frame =
        sealed_frame(&mut sealer(&c.k2), 2, MessageType::Pong, SendOptions::RELIABLE, |out| pong.encode(out));
    section.frame(
        "the plain-authenticated Pong",
        &[
            "02 09 06 00 00000020 0000000000000000",
            "00000000000003e8 0000000000001388",
            "20b9f4ef74e26ee6a2b9b5bc13e19103",
        ],
        &pong_frame,
    );
    section.finish();

    let opened = open_sealed(&mut Opener::in_order(&c.k1), &request_frame, 2, MessageType::OperationRequest, true);
    assert_eq!(OperationRequest::decode(&opened, &limits), Ok(request));
    let opened = open_sealed(&mut Opener::in_order(&c.k2), &pong_frame, 2, MessageType::Pong, false);
    assert_eq!(Pong::decode(&opened, &limits), Ok(pong));

    assert_snow_agrees(&c);
    assert_ring_opens(&c.k1, &request_frame, &body);
    assert_ring_opens(&c.k2, &pong_frame, &unhex(&["00000000000003e8 0000000000001388"]));
    c.assert_sessions_use_prologue();
}

// ---------------------------------------------------------------------------------------------
// Independent implementations (section 12: "checked against independent implementations")
// ---------------------------------------------------------------------------------------------

/// snow, another Noise implementation, given the same keys, prologue and payloads, writes the same
/// two messages and ends with the same handshake hash and split keys.
fn assert_snow_agrees(c: &Connection) {
    let params: snow::params::NoiseParams = "Noise_NX_25519_AESGCM_SHA256".parse().expect("snow knows the pattern");
    let mut initiator = snow::Builder::new(params.clone())
        .prologue(&c.prologue)
        .and_then(|builder| builder.fixed_ephemeral_key_for_testing_only(&CLIENT_EPHEMERAL_SECRET).build_initiator())
        .expect("snow initiator");
    let mut responder = snow::Builder::new(params)
        .local_private_key(&SERVER_STATIC_SECRET)
        .and_then(|builder| builder.prologue(&c.prologue))
        .and_then(|builder| builder.fixed_ephemeral_key_for_testing_only(&SERVER_EPHEMERAL_SECRET).build_responder())
        .expect("snow responder");
    let (mut message1, mut message2, mut payload) = ([0u8; 64], [0u8; 128], [0u8; 16]);
    let len1 = initiator.write_message(&[c.version], &mut message1).expect("snow message 1");
    assert_eq!(&message1[..len1], clear_body(&c.handshake_init, c.version, MessageType::HandshakeInit));
    responder.read_message(&message1[..len1], &mut payload).expect("snow reads message 1");
    let len2 = responder.write_message(&[c.version], &mut message2).expect("snow message 2");
    assert_eq!(&message2[..len2], clear_body(&c.handshake_reply, c.version, MessageType::HandshakeReply));
    let read = initiator.read_message(&message2[..len2], &mut payload).expect("snow reads message 2");
    assert_eq!(&payload[..read], &[c.version]);
    assert_eq!(initiator.get_handshake_hash(), &c.handshake_hash[..]);
    assert_eq!(initiator.dangerously_get_raw_split(), (c.k1, c.k2));
}

/// ring, another AES-GCM implementation, verifies the frame's tag and recovers `plaintext`.
fn assert_ring_opens(key: &[u8; 32], frame: &[u8], plaintext: &[u8]) {
    let opened = support::open_sealed_frame(&support::key(key), frame).map(|(_, _, _, body)| body);
    assert_eq!(opened.as_deref(), Some(plaintext), "ring does not open {}", hex(frame));
}

// ---------------------------------------------------------------------------------------------
// AuthOnce (section 16) and the secure message transport (section 15)
// ---------------------------------------------------------------------------------------------

/// The AuthOnce secret of section 12.7, and the token that names it (opaque bytes to the client).
const AUTH_ONCE_SECRET: [u8; 32] = counting_from(0x60);
const AUTH_ONCE_TOKEN: [u8; 16] =
    [0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f];

#[test]
fn auth_once_handshake_12_7() {
    let c = Connection::version_2();
    let mut payload = vec![c.version];
    payload.extend_from_slice(&AUTH_ONCE_TOKEN);
    let mut message1 = Vec::new();
    let initiator = Initiator::start_psk_with_ephemeral(
        Keypair::from_secret_bytes(CLIENT_EPHEMERAL_SECRET),
        &c.prologue,
        &payload,
        &AUTH_ONCE_SECRET,
        &mut message1,
    )
    .expect("message 1");
    let responder = noise::Responder::read_psk(&c.prologue, &message1).expect("the server reads message 1");
    assert_eq!(responder.remote_payload(), payload.as_slice());
    let mut message2 = Vec::new();
    let server_static = Keypair::from_secret_bytes(SERVER_STATIC_SECRET);
    let server = responder
        .finish_psk_with_ephemeral(
            &server_static,
            Keypair::from_secret_bytes(SERVER_EPHEMERAL_SECRET),
            &AUTH_ONCE_SECRET,
            &[c.version],
            &mut message2,
        )
        .expect("message 2");
    let client = initiator.finish(&message2, Some(server_static.public())).expect("the client accepts message 2");
    assert_eq!((*client.keys.send, client.handshake_hash), (*server.keys.receive, server.handshake_hash));

    let init = pre_key_frame(c.version, MessageType::HandshakeInitPsk, &message1);
    let reply = pre_key_frame(c.version, MessageType::HandshakeReply, &message2);
    let mut section = Subsection::open("12.7");
    section.frame(
        "HandshakeInitPsk",
        &[
            "02 0c 04 00 00000041",
            "8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f",
            "e9",
            "e42b5edd64b0e63c4cda2be48752e308",
            "4d891050640da61000223686caa4ecea",
        ],
        &init,
    );
    section.frame(
        "HandshakeReply",
        &[
            "02 04 04 00 00000061",
            "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a",
            "522e33430986f9685a133764838a2c6ec6d4818f9926110db763526d219b200b",
            "a0b5433d6d33cd7ae7fe1511eb252d31",
            "75",
            "575f8d75b13673dcb7a2e66b9c6590d6",
        ],
        &reply,
    );
    section.values(
        "the results",
        &[
            (
                "handshake hash h",
                "b1ef2126b4ace519654fba93db206cecc42b2be5d811c3622bb4c96322ba3e86",
                &client.handshake_hash,
            ),
            (
                "k1 (client->server)",
                "8265f2914fdff6c9e66836b90ce93bde6c1a5fe8bee92afe36975f99c37446c8",
                &client.keys.send[..],
            ),
            (
                "k2 (server->client)",
                "8bc96422a09ff5b22c581c814b96406188bbe34e2f3367b50054fcb8504b0a70",
                &client.keys.receive[..],
            ),
        ],
    );
    section.finish();

    // snow, with the same keys and secret, writes and reads the same messages.
    let params: snow::params::NoiseParams = "Noise_NXpsk2_25519_AESGCM_SHA256".parse().expect("snow knows it");
    let mut snow_client = snow::Builder::new(params.clone())
        .prologue(&c.prologue)
        .and_then(|builder| builder.psk(2, &AUTH_ONCE_SECRET))
        .and_then(|builder| builder.fixed_ephemeral_key_for_testing_only(&CLIENT_EPHEMERAL_SECRET).build_initiator())
        .expect("snow initiator");
    let mut snow_server = snow::Builder::new(params)
        .local_private_key(&SERVER_STATIC_SECRET)
        .and_then(|builder| builder.prologue(&c.prologue))
        .and_then(|builder| builder.psk(2, &AUTH_ONCE_SECRET))
        .and_then(|builder| builder.fixed_ephemeral_key_for_testing_only(&SERVER_EPHEMERAL_SECRET).build_responder())
        .expect("snow responder");
    let (mut first, mut second, mut read) = ([0u8; 128], [0u8; 128], [0u8; 64]);
    let len = snow_client.write_message(&payload, &mut first).expect("snow message 1");
    assert_eq!(&first[..len], message1.as_slice());
    snow_server.read_message(&first[..len], &mut read).expect("snow reads message 1");
    let len = snow_server.write_message(&[c.version], &mut second).expect("snow message 2");
    assert_eq!(&second[..len], message2.as_slice());
    snow_client.read_message(&second[..len], &mut read).expect("snow reads message 2");
    assert_eq!(snow_client.dangerously_get_raw_split(), (*client.keys.send, *client.keys.receive));
}

#[test]
fn secure_transport_frames_12_8() {
    let mut section = Subsection::open("12.8");
    let now = Instant::now();
    let mut client = Session::client(SessionConfig { transport: Transport::Secure, ..SessionConfig::default() }, now);
    client.connect("demo", "1.0", now).expect("connect");
    let mut connect = Vec::new();
    client.take_output(&mut connect);
    section.frame("Connect", &["01 01 04 00 0000000b", "04 64656d6f 03 312e30", "04 04"], &connect);

    // An event raised with Encrypt, relayed over WSS: the ENCRYPTED flag without a counter, no tag.
    let mut params = Params::new();
    params.insert(245, "hi");
    let event = EventData { code: 1, sender: 2, params };
    let mut frame = Vec::new();
    append_versioned_frame(
        &mut frame,
        SECURE_VERSION,
        MessageType::Event,
        SendOptions::ENCRYPTED,
        None,
        DEFAULT_MAX_BODY,
        |out| event.encode(out),
    )
    .expect("a version-4 frame");
    section.frame("the Event", &["04 07 05 00 0000000b", "01 00000002 01 f5 07 02 6869"], &frame);
    section.finish();
}
