//! The relay engine's counters: one set per shard, written only by that shard's thread and summed
//! when `/metrics` is scraped, so counting costs the hot path a plain load and store on a cache line
//! no other core writes (no locked instruction, no line bouncing between cores).

use std::sync::atomic::{AtomicU64, Ordering};

use sealnet::protocol::status::DisconnectReason;

/// A counter with one writer (its shard's thread) and any number of readers.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning thread calls this, so a load and a store cannot lose an update.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        self.0.store(self.0.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds of the queue-wait histogram's buckets, in microseconds (the last bucket is +Inf).
pub(crate) const WAIT_BUCKETS_US: [u64; 10] = [10, 25, 50, 100, 250, 500, 1_000, 5_000, 25_000, 100_000];

/// A latency histogram with one writer: a counter per bucket, and the sum.
#[derive(Default)]
pub(crate) struct Histogram {
    buckets: [Counter; WAIT_BUCKETS_US.len() + 1],
    sum_ns: Counter,
}

impl Histogram {
    pub(crate) fn record(&self, wait: std::time::Duration) {
        let micros = wait.as_micros() as u64;
        let bucket = WAIT_BUCKETS_US.iter().position(|&bound| micros <= bound).unwrap_or(WAIT_BUCKETS_US.len());
        self.buckets[bucket].add(1);
        self.sum_ns.add(wait.as_nanos() as u64);
    }
}

/// Disconnect reason codes counted one by one; higher codes count as the last.
pub(crate) const REASONS: usize = 16;

/// What one shard counted. Aligned so that two shards' counters never share a cache line.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct ShardCounters {
    /// Events relayed, by encryption: `[plain, encrypted]`.
    pub(crate) events_relayed: [Counter; 2],
    /// Copies of those events queued for recipients, by encryption.
    pub(crate) deliveries: [Counter; 2],
    /// Recipients left out: `[no keys for an encrypted event, protocol too old, server busy]`.
    pub(crate) skipped: [Counter; 3],
    pub(crate) bytes_in: Counter,
    pub(crate) bytes_out: Counter,
    /// Key exchanges: `[requested, established, refused by the rate limit]`.
    pub(crate) key_exchanges: [Counter; 3],
    /// Members disconnected because they did not read fast enough (counted by the member's own
    /// connection when it acts on the kick, or finds its output full).
    pub(crate) slow_consumers: Counter,
    /// Connections closed, by the disconnect reason code they ended with (0: none given).
    pub(crate) closed: [Counter; REASONS],
    /// Connections that asked for a key exchange and ended without keys, by the reason they ended
    /// with.
    pub(crate) key_exchange_failures: [Counter; REASONS],
    /// How long events waited between the relay and the recipient's seal (membership events too).
    pub(crate) queue_wait: Histogram,
    /// UDP datagrams by what became of them, as [`UDP_OUTCOMES`] names them.
    pub(crate) udp: [Counter; UDP_OUTCOMES.len()],
    /// WSS connections by how their handshake ended, as [`WSS_OUTCOMES`] names them.
    pub(crate) wss: [Counter; WSS_OUTCOMES.len()],
    /// WebSocket messages that ended their connection, as [`WSS_REFUSALS`] names them.
    pub(crate) wss_refused: [Counter; WSS_REFUSALS.len()],
}

/// What became of the TCP connections the WSS listener accepted (the labels of
/// `sealnet_wss_connections_total`): every accepted one ends in exactly one of the others.
pub(crate) const WSS_OUTCOMES: [&str; 8] = [
    "accepted",
    "established",
    "refused_admission",
    "refused_rate_limited",
    "handshake_timeout",
    "tls_failed",
    "upgrade_failed",
    "closed_before_upgrade",
];

/// Indexes into [`ShardCounters::wss`].
pub(crate) mod wss {
    pub(crate) const ACCEPTED: usize = 0;
    /// TLS and the WebSocket upgrade done: a session starts.
    pub(crate) const ESTABLISHED: usize = 1;
    /// Too many connections waiting for their Connect (from the address, or evicted from the pool).
    pub(crate) const REFUSED_ADMISSION: usize = 2;
    /// Over the key-exchange budget, which TLS handshakes share with the Noise ones.
    pub(crate) const REFUSED_RATE_LIMITED: usize = 3;
    pub(crate) const HANDSHAKE_TIMEOUT: usize = 4;
    pub(crate) const TLS_FAILED: usize = 5;
    /// Not a WebSocket upgrade request (answered 400), or the wrong path (answered 404).
    pub(crate) const UPGRADE_FAILED: usize = 6;
    /// The client went away, or the server stopped, before the upgrade was done.
    pub(crate) const CLOSED_BEFORE_UPGRADE: usize = 7;
}

/// WebSocket messages that end a connection (the labels of `sealnet_wss_messages_refused_total`).
/// What is not one whole sealnet frame is the session's to refuse, and counts as its disconnect reason.
pub(crate) const WSS_REFUSALS: [&str; 3] = ["text", "too_large", "websocket_protocol"];

/// Indexes into [`ShardCounters::wss_refused`].
pub(crate) mod wss_refused {
    pub(crate) const TEXT: usize = 0;
    pub(crate) const TOO_LARGE: usize = 1;
    pub(crate) const WEBSOCKET_PROTOCOL: usize = 2;
}

/// What the UDP listener and its connections count (the labels of `sealnet_udp_datagrams_total`).
pub(crate) const UDP_OUTCOMES: [&str; 12] = [
    "retry_sent",
    "connection_created",
    "dropped_malformed",
    "retry_for_stale_cookie",
    "dropped_unknown_connection",
    "dropped_inbox_full",
    "dropped_throttled",
    "send_failed",
    "frames_dropped_malformed",
    "frames_dropped_authentication",
    "frames_dropped_replay",
    "frames_dropped_unexpected",
];

/// Indexes into [`ShardCounters::udp`].
pub(crate) mod udp {
    pub(crate) const RETRY_SENT: usize = 0;
    pub(crate) const CONNECTION_CREATED: usize = 1;
    pub(crate) const DROPPED_MALFORMED: usize = 2;
    /// Among the Retries: the Initial's cookie had expired or was not issued for its address.
    pub(crate) const STALE_COOKIE: usize = 3;
    pub(crate) const DROPPED_UNKNOWN_CONNECTION: usize = 4;
    pub(crate) const DROPPED_INBOX_FULL: usize = 5;
    pub(crate) const DROPPED_THROTTLED: usize = 6;
    pub(crate) const SEND_FAILED: usize = 7;
    /// What a connection's session dropped, added when it closes.
    pub(crate) const FRAMES_DROPPED_MALFORMED: usize = 8;
    pub(crate) const FRAMES_DROPPED_AUTHENTICATION: usize = 9;
    pub(crate) const FRAMES_DROPPED_REPLAY: usize = 10;
    pub(crate) const FRAMES_DROPPED_UNEXPECTED: usize = 11;
}

impl ShardCounters {
    /// Counts a closed connection; `keys_failed` when it asked for keys and ended without them.
    pub(crate) fn count_close(&self, reason: u16, keys_failed: bool) {
        let index = (reason as usize).min(REASONS - 1);
        self.closed[index].add(1);
        if keys_failed {
            self.key_exchange_failures[index].add(1);
        }
    }
}

/// Writes the engine's counters, summed over `shards`, in Prometheus' text format.
pub(crate) fn render(out: &mut String, shards: &[ShardCounters]) {
    use std::fmt::Write as _;
    let sum = |pick: &dyn Fn(&ShardCounters) -> &Counter| shards.iter().map(|s| pick(s).get()).sum::<u64>();
    let mut family = |name: &str, help: &str, rows: &[(String, u64)]| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} counter\n");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    // One row per element of a counter array, each labelled as `labels` says.
    let rows = |labels: &[&str], pick: &dyn Fn(&ShardCounters) -> &[Counter]| {
        labels
            .iter()
            .enumerate()
            .map(|(index, label)| (format!("{{{label}}}"), sum(&|s| &pick(s)[index])))
            .collect::<Vec<_>>()
    };
    let by_encryption = [r#"transport="tcp",encrypted="false""#, r#"transport="tcp",encrypted="true""#];
    family("sealnet_events_relayed_total", "Events relayed to a room.", &rows(&by_encryption, &|s| &s.events_relayed));
    let help = "Copies of relayed events queued for recipients.";
    family("sealnet_deliveries_total", help, &rows(&by_encryption, &|s| &s.deliveries));
    let reasons = [r#"reason="no_keys""#, r#"reason="outdated_protocol""#, r#"reason="server_busy""#];
    let help = "Recipients an event was not queued for, by reason (server_busy: whole events refused).";
    family("sealnet_deliveries_skipped_total", help, &rows(&reasons, &|s| &s.skipped));
    family("sealnet_received_bytes_total", "Bytes read from clients.", &[(String::new(), sum(&|s| &s.bytes_in))]);
    family("sealnet_sent_bytes_total", "Bytes written to clients.", &[(String::new(), sum(&|s| &s.bytes_out))]);
    let outcomes = [r#"outcome="requested""#, r#"outcome="established""#, r#"outcome="refused_rate_limited""#];
    let key_exchanges = rows(&outcomes, &|s| &s.key_exchanges);
    family("sealnet_key_exchanges_total", "Key exchanges, by outcome.", &key_exchanges);
    family(
        "sealnet_slow_consumer_disconnects_total",
        "Members disconnected because their queue or output filled.",
        &[(String::new(), sum(&|s| &s.slow_consumers))],
    );
    let labels: Vec<String> = UDP_OUTCOMES.iter().map(|outcome| format!("outcome=\"{outcome}\"")).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let help = "UDP datagrams the listener and the UDP connections handled, by outcome.";
    family("sealnet_udp_datagrams_total", help, &rows(&labels, &|s| &s.udp));
    let labels: Vec<String> = WSS_OUTCOMES.iter().map(|outcome| format!("outcome=\"{outcome}\"")).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let help = "TCP connections the WSS listener accepted, and how their TLS and WebSocket handshakes ended.";
    family("sealnet_wss_connections_total", help, &rows(&labels, &|s| &s.wss));
    let labels: Vec<String> = WSS_REFUSALS.iter().map(|reason| format!("reason=\"{reason}\"")).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let help = "WebSocket messages that ended their connection, by reason.";
    family("sealnet_wss_messages_refused_total", help, &rows(&labels, &|s| &s.wss_refused));
    // Reasons that never happened are left out.
    let by_reason = |pick: &dyn Fn(&ShardCounters) -> &[Counter; REASONS]| {
        (0..REASONS)
            .map(|code| {
                let name = match (code, DisconnectReason::from_u16(code as u16)) {
                    (0, _) => "none".to_owned(),
                    (_, Some(reason)) => format!("{reason:?}"),
                    _ if code == REASONS - 1 => "other".to_owned(),
                    _ => format!("{code}"),
                };
                (format!("{{reason=\"{name}\"}}"), sum(&|s| &pick(s)[code]))
            })
            .filter(|(_, value)| *value > 0)
            .collect::<Vec<_>>()
    };
    family("sealnet_connections_closed_total", "Connections closed, by disconnect reason.", &by_reason(&|s| &s.closed));
    family(
        "sealnet_key_exchange_failures_total",
        "Connections that started a key exchange and ended without keys, by disconnect reason.",
        &by_reason(&|s| &s.key_exchange_failures),
    );

    let name = "sealnet_relay_queue_wait_seconds";
    let _ = write!(
        out,
        "# HELP {name} Time from relaying an event (decoded, past the plugins) to sealing it for a recipient.\n\
         # TYPE {name} histogram\n"
    );
    let mut cumulative = 0;
    for (index, bound) in
        WAIT_BUCKETS_US.iter().map(|&us| format!("{}", us as f64 / 1e6)).chain(["+Inf".into()]).enumerate()
    {
        cumulative += sum(&|s| &s.queue_wait.buckets[index]);
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_sum {}", sum(&|s| &s.queue_wait.sum_ns) as f64 / 1e9);
    let _ = writeln!(out, "{name}_count {cumulative}");
}
