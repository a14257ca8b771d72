//! `peer_*` lifecycle and messaging functions. Thin: every decision lives in the peer and the protocol
//! core; this layer only checks pointers, converts types and catches panics.

use std::collections::VecDeque;
use std::ffi::c_char;
use std::time::Duration;

use std::sync::atomic::Ordering;

use super::boundary::{borrow_mut, c_str, guard, guard_detailed, Failure};
use super::constants::{PEER_PIN_AS_CONFIGURED, PEER_PIN_KEY, PEER_PIN_NONE, PEER_TRANSPORT_TCP};
use super::dispatch::Prepared;
use super::handles::{self, Callbacks, DispatchMark, PeerHandle};
use super::params::peer_params_t;
use super::result::PeerResult;
use super::sized::{self, Sized32};
use super::types::{
    peer_config_t, peer_connect_options_t, peer_polled_event_t, peer_send_options_t, peer_stats_t, peer_t,
};
use crate::peer::{
    CertificateCheck, ConnectOptions, ConnectSecurity, Peer, PeerConfig, PinChoice, TransportKind, WaitOutcome,
};
use crate::protocol::codec::Params;
use crate::protocol::frame::Delivery;
use crate::protocol::message::Versions;
use crate::protocol::sealing::SendOptions;
use crate::protocol::session::{SessionConfig, MAX_TIMER};

impl Sized32 for peer_config_t {
    const MIN_SIZE: usize = std::mem::offset_of!(peer_config_t, max_queued_bytes);
    fn set_size(&mut self, size: u32) {
        self.struct_size = size;
    }
    fn reserved(&self) -> &[u8] {
        &self.reserved
    }
}

impl Sized32 for peer_send_options_t {
    const MIN_SIZE: usize = std::mem::size_of::<peer_send_options_t>();
    fn set_size(&mut self, size: u32) {
        self.struct_size = size;
    }
    fn reserved(&self) -> &[u8] {
        std::slice::from_ref(&self.reserved)
    }
}

impl Sized32 for peer_connect_options_t {
    /// The first layout (0.2) ended before `auth`.
    const MIN_SIZE: usize = std::mem::offset_of!(peer_connect_options_t, auth);
    fn set_size(&mut self, size: u32) {
        self.struct_size = size;
    }
    fn reserved(&self) -> &[u8] {
        &self.reserved
    }
    fn reserved_later(&self) -> &[u8] {
        &self.reserved_2
    }
}

impl Sized32 for peer_stats_t {
    const MIN_SIZE: usize = std::mem::size_of::<peer_stats_t>();
    fn set_size(&mut self, size: u32) {
        self.struct_size = size;
    }
}

fn default_config() -> peer_config_t {
    let defaults = PeerConfig::default();
    peer_config_t {
        struct_size: std::mem::size_of::<peer_config_t>() as u32,
        on_status: None,
        on_operation_response: None,
        on_event: None,
        user_data: std::ptr::null_mut(),
        disconnect_timeout_ms: defaults.session.disconnect_timeout.as_millis() as u32,
        ping_interval_ms: defaults.session.ping_interval.as_millis() as u32,
        auto_key_exchange: 1,
        pin_server_key: 0,
        server_public_key: [0; 32],
        max_queued_events: defaults.max_queued_events as u32,
        max_protocol_version: 0,
        reserved: [0; 5],
        max_queued_bytes: defaults.max_queued_bytes as u64,
    }
}

fn default_send_options() -> peer_send_options_t {
    peer_send_options_t {
        struct_size: std::mem::size_of::<peer_send_options_t>() as u32,
        delivery_mode: Delivery::Reliable as u8,
        encrypt: 0,
        channel: 0,
        reserved: 0,
    }
}

/// Fills `*out_config` with defaults: no callbacks, 10 s disconnect timeout, 1 s ping, automatic key
/// exchange on, no pin, 65536 results and 32 MiB queued at most, the latest protocol version.
/// `struct_size` is `sizeof(peer_config_t)` as the caller compiled it: only that many bytes are
/// written, so a host built against an older header is safe.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_config_default(out_config: *mut peer_config_t, struct_size: u32) -> u32 {
    // SAFETY: `struct_size` writable bytes per the contract.
    guard_detailed(|| unsafe { sized::write(out_config, struct_size, default_config(), "peer_config_t") })
}

/// Fills `*out_options` with the defaults (reliable, not encrypted, channel 0); `struct_size` as for
/// peer_config_default.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_send_options_default(out_options: *mut peer_send_options_t, struct_size: u32) -> u32 {
    // SAFETY: `struct_size` writable bytes per the contract.
    guard_detailed(|| unsafe { sized::write(out_options, struct_size, default_send_options(), "peer_send_options_t") })
}

/// Fills `*out_options` with the defaults: no address or app id yet (set both), the library's version
/// string, TCP, the pin as configured at peer_create, no authentication values, the system's trust
/// store for WSS, no auth_once. `struct_size` as for peer_config_default.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_connect_options_default(out_options: *mut peer_connect_options_t, struct_size: u32) -> u32 {
    let defaults = default_connect_options();
    // SAFETY: `struct_size` writable bytes per the contract.
    guard_detailed(|| unsafe { sized::write(out_options, struct_size, defaults, "peer_connect_options_t") })
}

fn default_connect_options() -> peer_connect_options_t {
    peer_connect_options_t {
        struct_size: std::mem::size_of::<peer_connect_options_t>() as u32,
        address: std::ptr::null(),
        app_id: std::ptr::null(),
        app_version: std::ptr::null(),
        transport: PEER_TRANSPORT_TCP,
        pin: PEER_PIN_AS_CONFIGURED,
        server_public_key: [0; 32],
        reserved: [0; 7],
        auth: std::ptr::null(),
        ca_file: std::ptr::null(),
        certificate_fingerprint: [0; 32],
        pin_certificate: 0,
        auth_once: 0,
        reserved_2: [0; 6],
    }
}

/// Creates a peer. No thread starts until peer_connect.
///
/// Ownership: on success `*out_peer` is a handle the caller must release with peer_destroy. The
/// config is copied; `user_data` must stay valid until peer_destroy returns.
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_create(config: *const peer_config_t, out_peer: *mut *mut peer_t) -> u32 {
    guard_detailed(|| {
        // SAFETY: NULL-checked; `struct_size` readable bytes per the contract.
        let config = unsafe { sized::read(config, default_config(), "peer_config_t")? };
        // SAFETY: NULL-checked; a writable slot per the contract.
        let out_peer = unsafe { borrow_mut(out_peer)? };
        let peer = Peer::new(peer_config(&config)?);
        *out_peer = handles::register(PeerHandle {
            peer,
            callbacks: Callbacks {
                on_status: config.on_status,
                on_operation_response: config.on_operation_response,
                on_event: config.on_event,
                user_data: config.user_data,
            },
            dispatch: Default::default(),
            polled: Default::default(),
            destroy_requested: Default::default(),
        });
        Ok(())
    })
}

/// Reads a peer configuration (its callbacks aside), refusing values out of range.
pub(crate) fn peer_config(config: &peer_config_t) -> Result<PeerConfig, Failure> {
    let max_timer = MAX_TIMER.as_millis() as u32;
    for (name, value) in
        [("disconnect_timeout_ms", config.disconnect_timeout_ms), ("ping_interval_ms", config.ping_interval_ms)]
    {
        if value == 0 || value > max_timer {
            let detail = format!("{name} is {value}; it must be 1 to {max_timer} (one day)");
            return Err(Failure::new(PeerResult::InvalidArgument, detail));
        }
    }
    if config.max_queued_events == 0 {
        return Err(Failure::new(PeerResult::InvalidArgument, "max_queued_events must be above 0"));
    }
    let defaults = PeerConfig::default();
    // Zero in a field added after the first layout means "as before": its default.
    let max_version = match config.max_protocol_version {
        0 => defaults.session.versions.max,
        version if (1..=defaults.session.versions.max).contains(&version) => version,
        version => {
            let detail = format!(
                "max_protocol_version is {version}; this library speaks 1 to {}",
                defaults.session.versions.max
            );
            return Err(Failure::new(PeerResult::InvalidArgument, detail));
        }
    };
    let session = SessionConfig {
        disconnect_timeout: Duration::from_millis(config.disconnect_timeout_ms.into()),
        ping_interval: Duration::from_millis(config.ping_interval_ms.into()),
        auto_key_exchange: config.auto_key_exchange != 0,
        server_key_pin: (config.pin_server_key != 0).then_some(config.server_public_key),
        versions: Versions { max: max_version, ..defaults.session.versions },
        ..defaults.session
    };
    let max_queued_bytes = match config.max_queued_bytes {
        0 => defaults.max_queued_bytes,
        bytes => usize::try_from(bytes).unwrap_or(usize::MAX),
    };
    Ok(PeerConfig { session, max_queued_events: config.max_queued_events as usize, max_queued_bytes, ..defaults })
}

/// The default peer configuration, for a host that gives none.
pub(crate) fn default_peer_config() -> peer_config_t {
    default_config()
}

/// Starts connecting over TCP to `address` ("host:port", resolved on the I/O thread) with `app_id`
/// (1–64 bytes, NUL-terminated UTF-8); peer_connect_with chooses the transport. Returns at once;
/// progress arrives as statuses: 1024 Connect, then 1048 EncryptionEstablished when automatic key
/// exchange is on, or 1023/1040/1051 on failure.
///
/// Thread: any thread. Reconnecting is allowed once the peer is disconnected.
#[unsafe(no_mangle)]
pub extern "C" fn peer_connect(peer: *mut peer_t, address: *const c_char, app_id: *const c_char) -> u32 {
    guard_detailed(|| {
        let handle = handles::lookup(peer)?;
        // SAFETY: NULL-checked, NUL-terminated strings per the contract.
        let (address, app_id) = unsafe { (c_str(address)?, c_str(app_id)?) };
        Ok(handle.peer.connect(address, app_id)?)
    })
}

/// Starts connecting with per-connection options (address, app id, app version, transport, pin,
/// authentication values); otherwise as peer_connect. `options` is read during the call only.
///
/// With `options->transport` PEER_TRANSPORT_UDP the connection runs over UDP (protocol version 3). A
/// UDP server that does not answer is found out by the connect timeout (status 1040), not by a
/// refusal: nothing the network says about a datagram ends the connection.
///
/// With `options->auth` the peer sends Authenticate (230, or AuthenticateOnce 231 for
/// PEER_AUTH_TOKEN) by itself right after the key exchange, before status 1048 reaches the host, and
/// the answer arrives as the operation response to 230 or 231. PEER_RESULT_INVALID_ARGUMENT when the
/// peer's config has `auto_key_exchange` 0 on TCP (over UDP the key exchange always runs), or for
/// PEER_AUTH_TOKEN when neither the values nor the peer hold a token; peer_last_error says which.
/// `transport` 0 is PEER_TRANSPORT_UDP: options filled by peer_connect_options_default are TCP
/// unless changed, but a zero-initialised struct asks for UDP.
///
/// With PEER_TRANSPORT_WSS, `address` is a `wss://` URL and the connection runs over WebSocket and
/// TLS (protocol version 4): status 1024 Connect, then at once 1048 EncryptionEstablished ("TLS
/// protects the connection (WSS); no key exchange runs"); the state is PEER_STATE_ENCRYPTED, sends
/// with `encrypt` succeed, peer_establish_encryption does nothing and returns PEER_RESULT_OK, and
/// peer_server_public_key has no key (PEER_RESULT_ENCRYPTION_NOT_ESTABLISHED). The certificate
/// check is `ca_file` or `pin_certificate`, else the system's trust store; a certificate it refuses
/// gives status 1022 SecurityExceptionOnConnect (the message says why, e.g. "the server's
/// certificate does not match the pinned fingerprint: got HEX"), then 1025. A server-key pin is
/// refused over WSS (PEER_RESULT_INVALID_ARGUMENT).
///
/// With `auth_once` 1 (UDP or TCP), the key exchange presents the AuthOnceWss credentials the peer
/// holds and authenticates the connection; the state of peer_get_auth_state is
/// PEER_AUTH_STATE_AUTHENTICATED when 1048 arrives. A token the server refuses ends the connection
/// with reason PEER_DISCONNECT_REASON_TOKEN_REFUSED, the auth state PEER_AUTH_STATE_FAILED with
/// return code 32753, and the peer forgets the credentials.
///
/// Thread: any thread. Reconnecting is allowed once the peer is disconnected.
#[unsafe(no_mangle)]
pub extern "C" fn peer_connect_with(peer: *mut peer_t, options: *const peer_connect_options_t) -> u32 {
    guard_detailed(|| {
        let handle = handles::lookup(peer)?;
        // SAFETY: NULL-checked; `struct_size` readable bytes per the contract.
        let options = unsafe { sized::read(options, default_connect_options(), "peer_connect_options_t")? };
        // SAFETY: NUL-terminated strings per the contract (NULL refused, or allowed for app_version).
        let (address, app_id) = unsafe { (c_str(options.address)?, c_str(options.app_id)?) };
        let app_version = if options.app_version.is_null() {
            None
        } else {
            // SAFETY: as above.
            Some(unsafe { c_str(options.app_version)? })
        };
        let transport = TransportKind::from_number(options.transport).ok_or_else(|| {
            let detail = format!(
                "transport {} is not available (PEER_TRANSPORT_UDP 0, PEER_TRANSPORT_TCP 1 or PEER_TRANSPORT_WSS 5; \
                 plain WebSocket 4 is not offered)",
                options.transport
            );
            Failure::new(PeerResult::InvalidArgument, detail)
        })?;
        // SAFETY: NULL or a NUL-terminated string per the contract.
        let security = unsafe { connect_security(&options)? };
        let pin = match options.pin {
            PEER_PIN_AS_CONFIGURED => PinChoice::AsConfigured,
            PEER_PIN_KEY => PinChoice::Key(options.server_public_key),
            PEER_PIN_NONE => PinChoice::None,
            other => return Err(Failure::new(PeerResult::InvalidArgument, format!("pin is {other}; use PEER_PIN_*"))),
        };
        // SAFETY: NULL or live values per the contract.
        let auth = unsafe { super::auth::values_of(options.auth) };
        let connect = ConnectOptions { address, app_id, app_version, pin, auth };
        Ok(handle.peer.connect_secured(transport, &connect, &security)?)
    })
}

/// The certificate check and AuthOnceWss choice of a host's options.
///
/// # Safety
/// `options.ca_file` must be NULL or a NUL-terminated string.
unsafe fn connect_security(options: &peer_connect_options_t) -> Result<ConnectSecurity, Failure> {
    let flag = |name: &str, value: u8| match value {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(Failure::new(PeerResult::InvalidArgument, format!("{name} is {other}; it must be 0 or 1"))),
    };
    let pinned = flag("pin_certificate", options.pin_certificate)?;
    let auth_once = flag("auth_once", options.auth_once)?;
    let certificate = match (options.ca_file.is_null(), pinned) {
        (true, false) => CertificateCheck::SystemRoots,
        (true, true) => CertificateCheck::Fingerprint(options.certificate_fingerprint),
        (false, false) => {
            // SAFETY: non-NULL and NUL-terminated per the caller's contract.
            let path = unsafe { c_str(options.ca_file)? };
            if path.is_empty() {
                return Err(Failure::new(PeerResult::InvalidArgument, "ca_file is empty; give a path or NULL"));
            }
            CertificateCheck::CaFile(path.into())
        }
        (false, true) => {
            let detail = "ca_file and pin_certificate are both set; a connection checks one or the other";
            return Err(Failure::new(PeerResult::InvalidArgument, detail));
        }
    };
    Ok(ConnectSecurity { certificate, auth_once })
}

/// Writes the connection's traffic counters, round-trip time and the server's clock to `*out_stats`;
/// `struct_size` is `sizeof(peer_stats_t)` as the caller compiled it, and only that many bytes are
/// written. Counters are those of the current (or last) connection.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_get_stats(peer: *const peer_t, out_stats: *mut peer_stats_t, struct_size: u32) -> u32 {
    guard_detailed(|| {
        let handle = handles::lookup(peer)?;
        let (stats, server_time) = handle.peer.stats_and_server_time();
        let millis = |duration: Option<Duration>| duration.map_or(0, |d| d.as_millis().min(u32::MAX as u128) as u32);
        let out = peer_stats_t {
            struct_size: std::mem::size_of::<peer_stats_t>() as u32,
            protocol_version: stats.protocol_version.into(),
            rtt_ms: millis(stats.rtt),
            rtt_variance_ms: millis(stats.rtt_variance),
            rtt_known: stats.rtt.is_some() as u8,
            server_time_known: server_time.is_some() as u8,
            reserved: [0; 6],
            bytes_sent: stats.bytes_sent,
            bytes_received: stats.bytes_received,
            frames_sent: stats.frames_sent,
            frames_received: stats.frames_received,
            server_time_ms: server_time.unwrap_or(0),
        };
        // SAFETY: `struct_size` writable bytes per the contract.
        unsafe { sized::write(out_stats, struct_size, out, "peer_stats_t") }
    })
}

/// Starts the key exchange (Noise NX). The outcome arrives as status 1048 EncryptionEstablished or 1049
/// EncryptionFailedToEstablish. Only needed when `auto_key_exchange` is 0. Over WSS (no key exchange:
/// TLS protects the connection) it does nothing and returns PEER_RESULT_OK once connected.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_establish_encryption(peer: *mut peer_t) -> u32 {
    guard_detailed(|| Ok(handles::lookup(peer)?.peer.establish_encryption()?))
}

/// Sends an operation. `params` may be NULL (no parameters) and is copied, so the caller keeps
/// ownership. `options` may be NULL (reliable, unencrypted, channel 0). With `encrypt` set before the
/// key exchange completed, returns PEER_RESULT_ENCRYPTION_NOT_ESTABLISHED and sends nothing. A
/// value whose type the connection's protocol version lacks (a byte, short, packed array, table or
/// custom value on a version-1 connection) gives PEER_RESULT_NEEDS_PROTOCOL_VERSION, and parameters
/// beyond the codec's limits PEER_RESULT_PARAMS_TOO_LARGE; peer_last_error says which value.
///
/// Thread: any thread, concurrently with peer_service.
#[unsafe(no_mangle)]
pub extern "C" fn peer_send_operation(
    peer: *mut peer_t,
    op_code: u8,
    params: *const peer_params_t,
    options: *const peer_send_options_t,
) -> u32 {
    guard_detailed(|| {
        let handle = handles::lookup(peer)?;
        // SAFETY: NULL is allowed; a non-NULL pointer is valid per the contract.
        let params = unsafe { params.as_ref() };
        // SAFETY: NULL is allowed; otherwise `struct_size` readable bytes per the contract.
        let options = unsafe { send_options(options)? };
        // Borrowed, not copied: the parameters are encoded straight into the send buffer.
        let empty = Params::new();
        let params = params.map_or(&empty, |p| &p.params);
        Ok(handle.peer.send_operation_parts(op_code, params, options)?)
    })
}

/// The send options a host passed (reliable and in clear for NULL).
///
/// # Safety
/// `options` is NULL or points at `struct_size` readable bytes.
pub(crate) unsafe fn send_options(options: *const peer_send_options_t) -> Result<SendOptions, Failure> {
    if options.is_null() {
        return Ok(SendOptions::RELIABLE);
    }
    // SAFETY: per this function's contract.
    let options = unsafe { sized::read(options, default_send_options(), "peer_send_options_t")? };
    Ok(SendOptions {
        encrypt: options.encrypt != 0,
        delivery: Delivery::from_u8(options.delivery_mode).ok_or_else(|| {
            let detail = format!("delivery_mode is {}; it must be 0 to 3", options.delivery_mode);
            Failure::new(PeerResult::InvalidArgument, detail)
        })?,
        channel: options.channel,
    })
}

/// Runs the queued callbacks on the calling thread and returns. Call it regularly (every frame).
/// `out_dispatched` may be NULL; otherwise it receives the number of callbacks run.
///
/// Thread: any single thread at a time (typically the game's main thread); callbacks run on it.
/// Returns PEER_RESULT_CALLED_FROM_CALLBACK when called from one of this peer's callbacks. Once
/// peer_destroy has begun on another thread, returns PEER_RESULT_INVALID_PEER and runs no callback.
#[unsafe(no_mangle)]
pub extern "C" fn peer_service(peer: *mut peer_t, out_dispatched: *mut u32) -> u32 {
    guard(|| {
        if handles::is_dispatching(peer) {
            return Err(PeerResult::CalledFromCallback);
        }
        let handle = handles::lookup(peer)?;
        let _running = handle.begin_dispatch()?;
        let _mark = DispatchMark::new(peer);
        *handle.polled.lock() = None;
        let mut queued = VecDeque::new();
        handle.peer.drain_events(&mut queued);
        let mut dispatched = 0u32;
        for event in queued {
            Prepared::new(event).invoke(&handle.callbacks);
            dispatched = dispatched.saturating_add(1);
            // Destroyed from inside that callback: nothing more reaches the host.
            if handle.destroy_requested.load(Ordering::Acquire) {
                break;
            }
        }
        if handle.destroy_requested.load(Ordering::Acquire) {
            let mut running = _running;
            running.destroyed = true;
            handle.peer.shutdown();
            *handle.polled.lock() = None;
        }
        // SAFETY: NULL is allowed; otherwise writable per the contract.
        if let Some(out) = unsafe { out_dispatched.as_mut() } {
            *out = dispatched;
        }
        Ok(())
    })
}

/// Blocks the calling thread until results are queued for peer_service or peer_poll_event, or until
/// `timeout_ms` milliseconds pass. Returns PEER_RESULT_OK when results are queued,
/// PEER_RESULT_TIMED_OUT when none arrived in time, and PEER_RESULT_NOT_CONNECTED at once when nothing
/// is queued and no connection is running (nothing can arrive). Runs no callback itself: call
/// peer_service or peer_poll_event next. For hosts that are not a frame loop (bots, tests, headless
/// servers), which would otherwise sleep and poll.
///
/// Thread: any thread. A concurrent peer_destroy ends the wait (the next call then returns
/// PEER_RESULT_INVALID_PEER). Returns PEER_RESULT_CALLED_FROM_CALLBACK when called from one of this
/// peer's callbacks.
#[unsafe(no_mangle)]
pub extern "C" fn peer_wait(peer: *mut peer_t, timeout_ms: u32) -> u32 {
    guard(|| {
        if handles::is_dispatching(peer) {
            return Err(PeerResult::CalledFromCallback);
        }
        let handle = handles::lookup(peer)?;
        match handle.peer.wait(Duration::from_millis(timeout_ms.into())) {
            WaitOutcome::Ready => Ok(()),
            WaitOutcome::TimedOut => Err(PeerResult::TimedOut),
            WaitOutcome::NotConnected => Err(PeerResult::NotConnected),
        }
    })
}

/// Callback-free alternative to peer_service: takes the next queued result into `*out_event`, or
/// returns PEER_RESULT_NO_EVENT. Pointers inside `*out_event` stay valid until the next
/// peer_poll_event, peer_service or peer_destroy on this peer. Once peer_destroy has begun on another
/// thread, returns PEER_RESULT_INVALID_PEER and hands out nothing.
///
/// Thread: one thread at a time, as for peer_service. Returns PEER_RESULT_CALLED_FROM_CALLBACK when
/// called from one of this peer's callbacks.
#[unsafe(no_mangle)]
pub extern "C" fn peer_poll_event(peer: *mut peer_t, out_event: *mut peer_polled_event_t) -> u32 {
    guard(|| {
        if handles::is_dispatching(peer) {
            return Err(PeerResult::CalledFromCallback);
        }
        let handle = handles::lookup(peer)?;
        // SAFETY: NULL-checked; writable per the contract.
        let out = unsafe { borrow_mut(out_event)? };
        let _running = handle.begin_dispatch()?;
        let event = handle.peer.poll_event().ok_or(PeerResult::NoEvent)?;
        let mut slot = handle.polled.lock();
        let prepared = slot.insert(Prepared::new(event));
        *out = prepared.polled_view();
        Ok(())
    })
}

/// Asks to end the connection. Status 1025 Disconnect follows through peer_service.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_disconnect(peer: *mut peer_t) -> u32 {
    guard(|| {
        handles::lookup(peer)?.peer.disconnect();
        Ok(())
    })
}

/// Disconnects (if connected), stops the I/O thread and frees the peer. When it returns, no callback
/// of this peer runs any more and no thread of it remains; the handle is invalid and further calls
/// with it return PEER_RESULT_INVALID_PEER.
///
/// Thread: any thread. If another thread is inside peer_service for this peer, waits for it to return.
/// From inside one of this peer's own callbacks, the destruction is deferred: the handle is invalid
/// at once (calls with it return PEER_RESULT_INVALID_PEER), no further callback runs, and the
/// peer_service that ran the callback completes the destruction before it returns.
#[unsafe(no_mangle)]
pub extern "C" fn peer_destroy(peer: *mut peer_t) -> u32 {
    guard(|| {
        if handles::is_dispatching(peer) {
            handles::unregister(peer)?.destroy_requested.store(true, Ordering::Release);
            return Ok(());
        }
        let handle = handles::unregister(peer)?;
        let mut running = handle.dispatch.lock();
        running.destroyed = true;
        handle.peer.shutdown();
        *handle.polled.lock() = None;
        Ok(())
    })
}

/// Writes the peer state to `*out_state`: PEER_STATE_* (0, 1, 3, 4 are Photon's PeerStateValue).
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_state(peer: *const peer_t, out_state: *mut u32) -> u32 {
    guard(|| {
        let handle = handles::lookup(peer)?;
        // SAFETY: NULL-checked; writable per the contract.
        let out = unsafe { borrow_mut(out_state)? };
        *out = handle.peer.state() as u32;
        Ok(())
    })
}

/// Copies the server's static public key (32 bytes) into `out_key` once the key exchange succeeded;
/// PEER_RESULT_ENCRYPTION_NOT_ESTABLISHED before.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_server_public_key(peer: *const peer_t, out_key: *mut u8) -> u32 {
    guard(|| {
        let handle = handles::lookup(peer)?;
        if out_key.is_null() {
            return Err(PeerResult::NullParameter);
        }
        let key = handle.peer.server_public_key().ok_or(PeerResult::EncryptionNotEstablished)?;
        // SAFETY: non-NULL with room for 32 bytes per the contract.
        unsafe { std::ptr::copy_nonoverlapping(key.as_ptr(), out_key, key.len()) };
        Ok(())
    })
}

/// Why the last `peer_*` call that failed on the calling thread failed, in words that name the
/// parameter and the limit where there is one (for example "invalid connect request: the app id is
/// 65 bytes; the limit is 64"), NUL-terminated UTF-8. Never contains key material. An empty string
/// before any call failed.
///
/// Ownership: owned by sealnet; never free it. Lifetime: valid until the next failing `peer_*` call on
/// the same thread; copy it to keep it.
/// Thread: any thread; each thread has its own.
#[unsafe(no_mangle)]
pub extern "C" fn peer_last_error() -> *const c_char {
    std::panic::catch_unwind(super::boundary::last_error).unwrap_or(c"internal error".as_ptr())
}

/// A static, NUL-terminated description of a result code. Never NULL; never free it.
///
/// Thread: any thread.
#[unsafe(no_mangle)]
pub extern "C" fn peer_result_str(result: u32) -> *const c_char {
    std::panic::catch_unwind(|| PeerResult::describe(result).as_ptr()).unwrap_or(c"internal error".as_ptr())
}

/// A static, NUL-terminated name of a status code ("Connect", "EncryptionEstablished", …), or
/// "Unknown". Never NULL; never free it.
#[unsafe(no_mangle)]
pub extern "C" fn peer_status_str(status: u32) -> *const c_char {
    std::panic::catch_unwind(|| super::constants::status_name(status).as_ptr()).unwrap_or(c"Unknown".as_ptr())
}

/// The library version ("MAJOR.MINOR.PATCH"), static and NUL-terminated. Compare with
/// SEALNET_VERSION_STRING to detect a header/library mismatch.
#[unsafe(no_mangle)]
pub extern "C" fn peer_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
