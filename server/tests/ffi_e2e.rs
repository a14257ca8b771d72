//! End to end through the exported C functions: a real `sealnet-server` process on loopback, driven
//! exactly as a C, C# or C++ host drives the library.

use std::ffi::{c_void, CStr, CString};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use sealnet::ffi::*;

const BIN: &str = env!("CARGO_BIN_EXE_sealnet-server");
const WAIT: Duration = Duration::from_secs(15);
const OK: u32 = PeerResult::Ok as u32;

const JOIN_ROOM: u8 = 226;
const RAISE_EVENT: u8 = 253;

struct Server {
    child: Child,
    address: String,
    public_key: [u8; 32],
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--app-id", "ffi-test", "--key-file"])
        .arg(dir.path().join("server.key"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let listening = rx.recv_timeout(WAIT).unwrap();
    let key_line = rx.recv_timeout(WAIT).unwrap();
    let address = listening.strip_prefix("sealnet-server listening on ").unwrap().to_owned();
    let hex = key_line.strip_prefix("sealnet-server public key: ").unwrap();
    let mut public_key = [0u8; 32];
    for (i, byte) in public_key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    Server { child, address, public_key, _dir: dir }
}

/// (status, reason, message)
type StatusRecord = (u32, u16, String);
/// (event code, sender, encrypted, text in key 245)
type EventRecord = (u8, i32, bool, Option<String>);
/// (op code, return code, actor in key 254)
type ResponseRecord = (u8, i16, Option<i32>);

/// What a host's callbacks saw.
#[derive(Default)]
struct Seen {
    statuses: Mutex<Vec<StatusRecord>>,
    events: Mutex<Vec<EventRecord>>,
    responses: Mutex<Vec<ResponseRecord>>,
    callbacks: AtomicUsize,
    /// Set while the owning host considers the peer destroyed; a callback then is a bug.
    destroyed: AtomicBool,
    late_callbacks: AtomicUsize,
}

impl Seen {
    fn note_callback(&self) {
        self.callbacks.fetch_add(1, Ordering::SeqCst);
        if self.destroyed.load(Ordering::SeqCst) {
            self.late_callbacks.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn status_codes(&self) -> Vec<u32> {
        self.statuses.lock().unwrap().iter().map(|s| s.0).collect()
    }
}

unsafe extern "C" fn on_status(user_data: *mut c_void, status: u32, info: *const peer_status_info_t) {
    let seen = unsafe { &*(user_data as *const Seen) };
    seen.note_callback();
    let info = unsafe { &*info };
    let message = unsafe { CStr::from_ptr(info.message) }.to_string_lossy().into_owned();
    seen.statuses.lock().unwrap().push((status, info.reason, message));
}

unsafe extern "C" fn on_event(user_data: *mut c_void, event: *const peer_event_t) {
    let seen = unsafe { &*(user_data as *const Seen) };
    seen.note_callback();
    let event = unsafe { &*event };
    let mut text: *const std::ffi::c_char = std::ptr::null();
    let mut len = 0usize;
    let data = (peer_params_get_string(event.params, 245, &mut text, &mut len) == OK)
        .then(|| String::from_utf8(unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) }.to_vec()).unwrap());
    seen.events.lock().unwrap().push((event.code, event.sender, event.encrypted != 0, data));
}

unsafe extern "C" fn on_response(user_data: *mut c_void, response: *const peer_operation_response_t) {
    let seen = unsafe { &*(user_data as *const Seen) };
    seen.note_callback();
    let response = unsafe { &*response };
    let mut actor = 0i32;
    let actor = (peer_params_get_i32(response.params, 254, &mut actor) == OK).then_some(actor);
    seen.responses.lock().unwrap().push((response.op_code, response.return_code, actor));
}

struct Host {
    peer: *mut peer_t,
    seen: Arc<Seen>,
}

// SAFETY: the handle is only an identifier; the library synchronises access to the peer.
unsafe impl Send for Host {}
unsafe impl Sync for Host {}

impl Host {
    fn new(configure: impl FnOnce(&mut peer_config_t)) -> Host {
        let seen = Arc::new(Seen::default());
        let mut config: peer_config_t = unsafe { std::mem::zeroed() };
        assert_eq!(peer_config_default(&mut config, std::mem::size_of::<peer_config_t>() as u32), OK);
        config.on_status = Some(on_status);
        config.on_event = Some(on_event);
        config.on_operation_response = Some(on_response);
        config.user_data = Arc::as_ptr(&seen) as *mut c_void;
        configure(&mut config);
        let mut peer = std::ptr::null_mut();
        assert_eq!(peer_create(&config, &mut peer), OK);
        Host { peer, seen }
    }

    fn connect(&self, server: &Server) {
        let address = CString::new(server.address.clone()).unwrap();
        assert_eq!(peer_connect(self.peer, address.as_ptr(), c"ffi-test".as_ptr()), OK);
    }

    /// Services the peer (as a game loop would) until `done` holds or the deadline passes.
    fn service_until(&self, what: &str, mut done: impl FnMut(&Seen) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            assert_eq!(peer_service(self.peer, std::ptr::null_mut()), OK);
            if done(&self.seen) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; statuses {:?}",
                self.seen.statuses.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn wait_status(&self, status: u32) {
        self.service_until(&format!("status {status}"), |seen| seen.status_codes().contains(&status));
    }

    fn join(&self, room: &str) -> i32 {
        let params = Params::new();
        let room = CString::new(room).unwrap();
        assert_eq!(peer_params_put_string(params.0, 255, room.as_ptr(), room.as_bytes().len()), OK);
        assert_eq!(peer_send_operation(self.peer, JOIN_ROOM, params.0, std::ptr::null()), OK);
        let mut actor = None;
        self.service_until("join response", |seen| {
            actor = seen.responses.lock().unwrap().iter().find(|r| r.0 == JOIN_ROOM).and_then(|r| r.2);
            actor.is_some()
        });
        actor.unwrap()
    }

    fn raise(&self, text: &str, encrypt: bool) -> u32 {
        let params = Params::new();
        assert_eq!(peer_params_put_i32(params.0, 244, 7), OK);
        assert_eq!(peer_params_put_string(params.0, 245, text.as_ptr().cast(), text.len()), OK);
        let options = peer_send_options_t {
            struct_size: std::mem::size_of::<peer_send_options_t>() as u32,
            delivery_mode: PEER_DELIVERY_MODE_RELIABLE,
            encrypt: encrypt as u8,
            channel: 0,
            reserved: 0,
        };
        peer_send_operation(self.peer, RAISE_EVENT, params.0, &options)
    }

    fn destroy(&self) {
        assert_eq!(peer_destroy(self.peer), OK);
        self.seen.destroyed.store(true, Ordering::SeqCst);
    }
}

/// An owned parameter dictionary.
struct Params(*mut peer_params_t);

impl Params {
    fn new() -> Params {
        let mut params = std::ptr::null_mut();
        assert_eq!(peer_params_new(&mut params), OK);
        Params(params)
    }
}

impl Drop for Params {
    fn drop(&mut self) {
        peer_params_free(self.0);
    }
}

#[test]
fn key_exchange_reports_statuses_in_order_and_exposes_the_server_key() {
    let server = start_server();
    let host = Host::new(|_| {});
    host.connect(&server);
    host.wait_status(PEER_STATUS_ENCRYPTION_ESTABLISHED);
    assert_eq!(host.seen.status_codes(), vec![PEER_STATUS_CONNECT, PEER_STATUS_ENCRYPTION_ESTABLISHED]);
    let mut key = [0u8; 32];
    assert_eq!(peer_server_public_key(host.peer, key.as_mut_ptr()), OK);
    assert_eq!(key, server.public_key);
    let mut state = 0;
    assert_eq!(peer_state(host.peer, &mut state), OK);
    assert_eq!(state, PEER_STATE_ENCRYPTED);

    // Oversized parameters are refused before anything is sent.
    let params = Params::new();
    let big = vec![0u8; 300 * 1024];
    assert_eq!(peer_params_put_bytes(params.0, 245, big.as_ptr(), big.len()), OK);
    assert_eq!(
        peer_send_operation(host.peer, RAISE_EVENT, params.0, std::ptr::null()),
        PeerResult::ParamsTooLarge as u32
    );
    let params = Params::new();
    for key in 0..3 {
        assert_eq!(peer_params_put_bytes(params.0, key, big.as_ptr(), 200 * 1024), OK);
    }
    assert_eq!(
        peer_send_operation(host.peer, RAISE_EVENT, params.0, std::ptr::null()),
        PeerResult::MessageTooLarge as u32
    );
    host.destroy();
}

#[test]
fn encrypted_event_reaches_every_other_member_and_plain_stays_plain() {
    let server = start_server();
    let hosts: Vec<Host> = (0..3).map(|_| Host::new(|_| {})).collect();
    for host in &hosts {
        host.connect(&server);
        host.wait_status(PEER_STATUS_ENCRYPTION_ESTABLISHED);
    }
    let actors: Vec<i32> = hosts.iter().map(|h| h.join("ffi-room")).collect();
    assert_eq!(hosts[0].raise("secret plan", true), OK);
    assert_eq!(hosts[0].raise("hello all", false), OK);
    for host in &hosts[1..] {
        host.service_until("two events", |seen| seen.events.lock().unwrap().iter().filter(|e| e.0 == 7).count() == 2);
        let events: Vec<_> = host.seen.events.lock().unwrap().iter().filter(|e| e.0 == 7).cloned().collect();
        assert_eq!(events[0], (7, actors[0], true, Some("secret plan".into())));
        assert_eq!(events[1], (7, actors[0], false, Some("hello all".into())));
    }
    // Receivers default to Others: the sender gets nothing back. A later event it does receive
    // proves the queue was drained in order.
    assert_eq!(hosts[1].raise("from two", true), OK);
    hosts[0].service_until("event from host 1", |seen| seen.events.lock().unwrap().iter().any(|e| e.0 == 7));
    let first = hosts[0].seen.events.lock().unwrap().iter().find(|e| e.0 == 7).cloned().unwrap();
    assert_eq!(first, (7, actors[1], true, Some("from two".into())));
    for host in &hosts {
        host.destroy();
    }
}

#[test]
fn encrypt_before_the_key_exchange_is_a_distinct_error() {
    let server = start_server();
    let host = Host::new(|config| config.auto_key_exchange = 0);
    host.connect(&server);
    host.wait_status(PEER_STATUS_CONNECT);
    let result = host.raise("too early", true);
    assert_eq!(result, PeerResult::EncryptionNotEstablished as u32);
    let text = unsafe { CStr::from_ptr(peer_result_str(result)) }.to_str().unwrap();
    assert!(text.contains("establish encryption first"), "{text}");
    let mut key = [0u8; 32];
    assert_eq!(peer_server_public_key(host.peer, key.as_mut_ptr()), PeerResult::EncryptionNotEstablished as u32);
    assert_eq!(peer_establish_encryption(host.peer), OK);
    host.wait_status(PEER_STATUS_ENCRYPTION_ESTABLISHED);
    host.join("late-room");
    assert_eq!(host.raise("now fine", true), OK);
    host.destroy();
}

#[test]
fn pin_mismatch_reports_encryption_failed() {
    let server = start_server();
    let host = Host::new(|config| {
        config.pin_server_key = 1;
        config.server_public_key = [0x42; 32];
    });
    host.connect(&server);
    host.wait_status(PEER_STATUS_DISCONNECT);
    let codes = host.seen.status_codes();
    assert_eq!(codes[..2], [PEER_STATUS_CONNECT, PEER_STATUS_ENCRYPTION_FAILED_TO_ESTABLISH]);
    assert_eq!(*codes.last().unwrap(), PEER_STATUS_DISCONNECT);
    host.destroy();

    let pinned = Host::new(|config| {
        config.pin_server_key = 1;
        config.server_public_key = server.public_key;
    });
    pinned.connect(&server);
    pinned.wait_status(PEER_STATUS_ENCRYPTION_ESTABLISHED);
    pinned.destroy();
}

#[test]
fn killing_the_server_gives_a_disconnect_status() {
    let mut server = start_server();
    let host = Host::new(|config| config.disconnect_timeout_ms = 3000);
    host.connect(&server);
    host.wait_status(PEER_STATUS_ENCRYPTION_ESTABLISHED);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    host.wait_status(PEER_STATUS_DISCONNECT);
    let codes = host.seen.status_codes();
    let cause = codes[codes.len() - 2];
    assert!(
        [
            PEER_STATUS_DISCONNECT_BY_SERVER_REASON_UNKNOWN,
            PEER_STATUS_TIMEOUT_DISCONNECT,
            PEER_STATUS_EXCEPTION_ON_RECEIVE
        ]
        .contains(&cause),
        "statuses {codes:?}"
    );
    let mut state = 99;
    assert_eq!(peer_state(host.peer, &mut state), OK);
    assert_eq!(state, PEER_STATE_DISCONNECTED);
    host.destroy();
}

#[test]
fn destroy_while_traffic_flows_stops_all_callbacks() {
    let server = start_server();
    let sender = Arc::new(Host::new(|_| {}));
    let receiver = Host::new(|_| {});
    for host in [&*sender, &receiver] {
        host.connect(&server);
        host.wait_status(PEER_STATUS_ENCRYPTION_ESTABLISHED);
        host.join("busy-room");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let pump = {
        let (sender, stop) = (sender.clone(), stop.clone());
        // Sending from a thread other than the one that services: allowed by the API.
        std::thread::spawn(move || {
            let mut sent = 0u32;
            while !stop.load(Ordering::SeqCst) {
                if sender.raise("flood", sent.is_multiple_of(2)) == OK {
                    sent += 1;
                }
                if sent.is_multiple_of(64) {
                    std::thread::yield_now();
                }
            }
            sent
        })
    };
    receiver.service_until("traffic", |seen| seen.events.lock().unwrap().len() > 200);
    receiver.destroy();
    let seen_at_destroy = receiver.seen.callbacks.load(Ordering::SeqCst);
    // More traffic keeps arriving for a while; none of it may reach a callback now.
    let more_after = sender.seen.callbacks.load(Ordering::SeqCst);
    sender.service_until("sender still live", |seen| seen.callbacks.load(Ordering::SeqCst) >= more_after);
    assert_eq!(peer_service(receiver.peer, std::ptr::null_mut()), PeerResult::InvalidPeer as u32);
    assert_eq!(peer_destroy(receiver.peer), PeerResult::InvalidPeer as u32);
    assert_eq!(receiver.raise("gone", false), PeerResult::InvalidPeer as u32);
    stop.store(true, Ordering::SeqCst);
    let sent = pump.join().unwrap();
    assert!(sent > 200);
    assert_eq!(receiver.seen.callbacks.load(Ordering::SeqCst), seen_at_destroy);
    assert_eq!(receiver.seen.late_callbacks.load(Ordering::SeqCst), 0);
    sender.destroy();
}

unsafe extern "C" fn destroy_from_callback(user_data: *mut c_void, status: u32, _info: *const peer_status_info_t) {
    let slot = unsafe { &*(user_data as *const Mutex<(usize, Vec<u32>)>) };
    let mut slot = slot.lock().unwrap();
    let peer = slot.0 as *mut peer_t;
    let nested = peer_service(peer, std::ptr::null_mut());
    slot.1.push(nested);
    let result = peer_destroy(peer);
    slot.1.push(result);
    let _ = status;
}

#[test]
fn service_from_inside_a_callback_is_refused_and_destroy_is_deferred() {
    let server = start_server();
    let slot = Box::new(Mutex::new((0usize, Vec::<u32>::new())));
    let mut config: peer_config_t = unsafe { std::mem::zeroed() };
    assert_eq!(peer_config_default(&mut config, std::mem::size_of::<peer_config_t>() as u32), OK);
    config.on_status = Some(destroy_from_callback);
    config.user_data = &*slot as *const _ as *mut c_void;
    let mut peer = std::ptr::null_mut();
    assert_eq!(peer_create(&config, &mut peer), OK);
    slot.lock().unwrap().0 = peer as usize;
    let address = CString::new(server.address.clone()).unwrap();
    assert_eq!(peer_connect(peer, address.as_ptr(), c"ffi-test".as_ptr()), OK);
    let deadline = Instant::now() + WAIT;
    while slot.lock().unwrap().1.is_empty() {
        // The Connect status (and EncryptionEstablished soon after) reach the callback here.
        assert_eq!(peer_service(peer, std::ptr::null_mut()), OK);
        assert!(Instant::now() < deadline);
        let _ = peer_wait(peer, 20);
    }
    let results = slot.lock().unwrap().1.clone();
    assert_eq!(results, [PeerResult::CalledFromCallback as u32, OK], "nested service refused, destroy accepted");
    // The peer_service that ran the callback finished the destruction: the handle is gone, and the
    // status queued behind the first one never reached a callback.
    assert_eq!(peer_service(peer, std::ptr::null_mut()), PeerResult::InvalidPeer as u32);
    assert_eq!(peer_destroy(peer), PeerResult::InvalidPeer as u32);
    assert_eq!(slot.lock().unwrap().1.len(), 2, "one callback only");
}

#[test]
fn poll_event_is_a_callback_free_alternative() {
    let server = start_server();
    let mut config: peer_config_t = unsafe { std::mem::zeroed() };
    assert_eq!(peer_config_default(&mut config, std::mem::size_of::<peer_config_t>() as u32), OK);
    let mut peer = std::ptr::null_mut();
    assert_eq!(peer_create(&config, &mut peer), OK);
    let address = CString::new(server.address.clone()).unwrap();
    assert_eq!(peer_connect(peer, address.as_ptr(), c"ffi-test".as_ptr()), OK);
    let mut statuses = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !statuses.contains(&PEER_STATUS_ENCRYPTION_ESTABLISHED) {
        let mut event: peer_polled_event_t = unsafe { std::mem::zeroed() };
        match peer_poll_event(peer, &mut event) {
            OK => {
                assert_eq!(event.kind, PeerEventKind::Status as u32);
                assert!(!event.status_info.message.is_null());
                statuses.push(event.status);
            }
            result => {
                assert_eq!(result, PeerResult::NoEvent as u32);
                assert!(Instant::now() < deadline);
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    assert_eq!(statuses, vec![PEER_STATUS_CONNECT, PEER_STATUS_ENCRYPTION_ESTABLISHED]);
    assert_eq!(peer_destroy(peer), OK);
}

#[test]
fn null_and_invalid_arguments_are_errors_not_crashes() {
    let null = PeerResult::NullParameter as u32;
    assert_eq!(peer_create(std::ptr::null(), std::ptr::null_mut()), null);
    assert_eq!(peer_connect(std::ptr::null_mut(), c"x:1".as_ptr(), c"a".as_ptr()), null);
    assert_eq!(peer_service(std::ptr::null_mut(), std::ptr::null_mut()), null);
    assert_eq!(peer_destroy(std::ptr::null_mut()), null);
    assert_eq!(peer_send_operation(std::ptr::null_mut(), 1, std::ptr::null(), std::ptr::null()), null);
    let bogus = 0xdead_0000usize as *mut peer_t;
    assert_eq!(peer_service(bogus, std::ptr::null_mut()), PeerResult::InvalidPeer as u32);
    assert_eq!(peer_establish_encryption(bogus), PeerResult::InvalidPeer as u32);

    let host = Host::new(|_| {});
    assert_eq!(peer_connect(host.peer, c"no-port".as_ptr(), c"ffi-test".as_ptr()), PeerResult::InvalidAddress as u32);
    assert_eq!(peer_connect(host.peer, std::ptr::null(), c"ffi-test".as_ptr()), null);
    assert_eq!(host.raise("not connected", false), PeerResult::NotConnected as u32);
    let mut state = 7;
    assert_eq!(peer_state(host.peer, std::ptr::null_mut()), null);
    assert_eq!(peer_state(host.peer, &mut state), OK);
    assert_eq!(state, PEER_STATE_DISCONNECTED);
    let options = peer_send_options_t {
        struct_size: std::mem::size_of::<peer_send_options_t>() as u32,
        delivery_mode: 9,
        encrypt: 0,
        channel: 0,
        reserved: 0,
    };
    assert_eq!(peer_send_operation(host.peer, 1, std::ptr::null(), &options), PeerResult::InvalidArgument as u32);
    let mut bad = peer_config_t { disconnect_timeout_ms: 0, ..unsafe { std::mem::zeroed() } };
    bad.ping_interval_ms = 1;
    let mut peer = std::ptr::null_mut();
    assert_eq!(peer_create(&bad, &mut peer), PeerResult::InvalidArgument as u32);
    assert!(peer.is_null(), "out-params are written only on success");
    host.destroy();
    let version = unsafe { CStr::from_ptr(peer_version()) }.to_str().unwrap();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let unknown = unsafe { CStr::from_ptr(peer_result_str(12345)) }.to_str().unwrap();
    assert_eq!(unknown, "unknown result code");
}

#[test]
fn params_round_trip_through_the_c_functions() {
    let params = Params::new();
    assert_eq!(peer_params_put_i32(params.0, 1, -5), OK);
    assert_eq!(peer_params_put_i64(params.0, 2, i64::MIN), OK);
    assert_eq!(peer_params_put_f64(params.0, 3, 2.5), OK);
    assert_eq!(peer_params_put_bool(params.0, 4, 1), OK);
    assert_eq!(peer_params_put_bytes(params.0, 5, [1u8, 2, 3].as_ptr(), 3), OK);
    assert_eq!(peer_params_put_i32_array(params.0, 6, [7, 8, 9].as_ptr(), 3), OK);
    assert_eq!(peer_params_put_string(params.0, 7, [0xffu8].as_ptr().cast(), 1), PeerResult::InvalidArgument as u32);
    let nested = Params::new();
    assert_eq!(peer_params_put_f32(nested.0, 0, 1.5), OK);
    assert_eq!(peer_params_put_params(params.0, 8, nested.0), OK);
    let mut count = 0;
    assert_eq!(peer_params_count(params.0, &mut count), OK);
    assert_eq!(count, 7);
    let mut key = 0;
    assert_eq!(peer_params_key_at(params.0, 6, &mut key), OK);
    assert_eq!(key, 8);
    assert_eq!(peer_params_key_at(params.0, 7, &mut key), PeerResult::NotFound as u32);
    let (mut i, mut l, mut f, mut b) = (0i32, 0i64, 0f64, 0u8);
    assert_eq!(peer_params_get_i32(params.0, 1, &mut i), OK);
    assert_eq!(peer_params_get_i64(params.0, 2, &mut l), OK);
    assert_eq!(peer_params_get_f64(params.0, 3, &mut f), OK);
    assert_eq!(peer_params_get_bool(params.0, 4, &mut b), OK);
    assert_eq!((i, l, f, b), (-5, i64::MIN, 2.5, 1));
    assert_eq!(peer_params_get_i32(params.0, 3, &mut i), PeerResult::TypeMismatch as u32);
    assert_eq!(peer_params_get_i32(params.0, 99, &mut i), PeerResult::NotFound as u32);
    let mut small = [0i32; 2];
    let mut n = 0usize;
    assert_eq!(
        peer_params_get_i32_array(params.0, 6, small.as_mut_ptr(), 2, &mut n),
        PeerResult::BufferTooSmall as u32
    );
    assert_eq!(n, 3);
    let mut big = [0i32; 4];
    assert_eq!(peer_params_get_i32_array(params.0, 6, big.as_mut_ptr(), 4, &mut n), OK);
    assert_eq!(&big[..n], &[7, 8, 9]);
    let mut copy = std::ptr::null_mut();
    assert_eq!(peer_params_get_params(params.0, 8, &mut copy), OK);
    let mut x = 0f32;
    assert_eq!(peer_params_get_f32(copy, 0, &mut x), OK);
    assert_eq!(x, 1.5);
    peer_params_free(copy);
    let mut clone = std::ptr::null_mut();
    assert_eq!(peer_params_clone(params.0, &mut clone), OK);
    assert_eq!(peer_params_remove(clone, 1), OK);
    assert_eq!(peer_params_remove(clone, 1), PeerResult::NotFound as u32);
    let mut clone_count = 0;
    assert_eq!(peer_params_count(clone, &mut clone_count), OK);
    assert_eq!(clone_count, count - 1, "the clone is independent");
    assert_eq!(peer_params_get_i32(params.0, 1, &mut i), OK);
    peer_params_free(clone);
    let mut kind = 0u32;
    assert_eq!(peer_params_type(params.0, 5, &mut kind), OK);
    assert_eq!(kind, PeerValueType::Bytes as u32);
    peer_params_free(std::ptr::null_mut());
}

#[test]
fn a_host_that_stops_servicing_is_disconnected_with_a_clear_status_not_silently() {
    let server = start_server();
    let sender = Host::new(|_| {});
    let idle = Host::new(|config| config.max_queued_events = 8);
    for host in [&sender, &idle] {
        host.connect(&server);
        host.wait_status(PEER_STATUS_ENCRYPTION_ESTABLISHED);
        host.join("overflow-room");
    }
    for n in 0..64 {
        assert_eq!(sender.raise(&format!("event {n}"), n % 2 == 0), OK);
    }
    // The idle host does not service; its state is observable without dispatching anything.
    let deadline = Instant::now() + WAIT;
    let mut state = PEER_STATE_ENCRYPTED;
    while state != PEER_STATE_DISCONNECTED {
        assert_eq!(peer_state(idle.peer, &mut state), OK);
        assert!(Instant::now() < deadline, "the overflowing peer was never disconnected");
        std::thread::sleep(Duration::from_millis(2));
    }
    idle.service_until("final status", |seen| seen.status_codes().contains(&PEER_STATUS_DISCONNECT));
    let statuses = idle.seen.statuses.lock().unwrap().clone();
    let overflow = statuses.iter().find(|s| s.0 == PEER_STATUS_EXCEPTION).expect("an Exception status");
    assert_eq!(overflow.1, PEER_DISCONNECT_REASON_SLOW_CONSUMER);
    assert!(overflow.2.contains("queue full"), "{}", overflow.2);
    let delivered = idle.seen.events.lock().unwrap().iter().filter(|e| e.0 == 7).count();
    assert!(delivered <= 8, "the queue stayed bounded ({delivered} events)");
    idle.destroy();
    sender.destroy();
}
