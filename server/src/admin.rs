//! The operator's HTTP listener: liveness, readiness and Prometheus metrics, read from what the
//! server keeps anyway (admission counts, rooms, the output budget), from counters that events off
//! the hot path bump (authentications), and from the shards' own counters (see `metrics`), summed on
//! each scrape, so serving it costs the relay nothing.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::server::Shared;

/// Authentication outcomes, counted when each one is answered.
#[derive(Default)]
pub(crate) struct AuthCounters {
    pub(crate) authenticated: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) unavailable: AtomicU64,
    pub(crate) token_refused: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
}

impl AuthCounters {
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Serves the admin endpoints until `stopped` turns true.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(shared);
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
        tracing::warn!(%error, "the admin listener failed");
    }
}

async fn ready(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    if shared.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "draining: not accepting players\n")
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let mut out = String::with_capacity(2048);
    let mut gauge = |name: &str, help: &str, value: u64| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
    };
    gauge(
        "sealnet_ready",
        "1 while the server accepts players, 0 while draining.",
        shared.ready.load(Ordering::Relaxed) as u64,
    );
    gauge(
        "sealnet_connections",
        "Connections past Connect, counted against max_connections.",
        shared.admission.admitted() as u64,
    );
    gauge(
        "sealnet_pending_connections",
        "Connections that have not sent Connect yet.",
        shared.admission.pending() as u64,
    );
    gauge("sealnet_rooms", "Rooms with members.", shared.rooms.room_count() as u64);
    gauge("sealnet_members", "Members of all rooms.", shared.rooms.member_count() as u64);
    gauge("sealnet_lobby_members", "Players in the lobby, receiving room lists.", shared.lobby.member_count() as u64);
    gauge("sealnet_workers", "Event loops running connections.", shared.shards.count() as u64);
    gauge("sealnet_queued_output_bytes", "Bytes of events queued for all clients.", shared.output_budget.used() as u64);
    gauge(
        "sealnet_auth_calls_in_flight",
        "Authentication provider calls running now.",
        (shared.config.auth.webhook.max_outstanding - shared.auth_calls.available_permits()) as u64,
    );
    let counters = &shared.auth_counters;
    let _ = write!(
        out,
        "# HELP sealnet_authentications_total Authentications answered, by outcome.\n\
         # TYPE sealnet_authentications_total counter\n"
    );
    for (outcome, counter) in [
        ("authenticated", &counters.authenticated),
        ("rejected", &counters.rejected),
        ("unavailable", &counters.unavailable),
        ("token_refused", &counters.token_refused),
        ("rate_limited", &counters.rate_limited),
    ] {
        let _ =
            writeln!(out, "sealnet_authentications_total{{outcome=\"{outcome}\"}} {}", counter.load(Ordering::Relaxed));
    }
    crate::metrics::render(&mut out, shared.shards.all_counters());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
