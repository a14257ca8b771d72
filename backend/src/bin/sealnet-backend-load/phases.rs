//! The load generator's phases: create sessions, then webhook calls open-loop at a fixed rate, then
//! as fast as the connections go.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sealnet_backend::client::{connection_token, webhook_body, Connection};
use sealnet_backend::clock::now_s;
use sealnet_backend::session_id::SessionId;
use sealnet_backend::signature::Signer;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use sealnet_backend::measure::stats::Latencies;

/// Logs `count` guests in through `connections` connections; returns their sessions' webhook bodies.
pub async fn create_sessions(addr: SocketAddr, count: usize, connections: usize) -> Result<Vec<Arc<[u8]>>, String> {
    let mut tasks = JoinSet::new();
    let connections = connections.clamp(1, count.max(1));
    for worker in 0..connections {
        tasks.spawn(async move {
            let mut conn = Connection::open(addr).await.map_err(|e| e.to_string())?;
            let mut bodies = Vec::new();
            for i in (worker..count).step_by(connections) {
                let device = format!("load-device-{i:08}");
                let reply =
                    conn.post_json("/guest", &json!({ "device_id": device })).await.map_err(|e| e.to_string())?;
                let session = reply.json()["session"].as_str().and_then(SessionId::decode);
                let session =
                    session.ok_or_else(|| format!("guest login failed: {} {}", reply.status, reply.text()))?;
                // A token as a game builds it: the session id, then its own flags (about 60 bytes in all).
                let token = connection_token(
                    &session,
                    format!("\x01mode=ranked;lobby=L{i:06};nonce=0123456789abcdef").as_bytes(),
                );
                bodies.push(Arc::from(webhook_body("load-test", &token)));
            }
            Ok::<_, String>(bodies)
        });
    }
    let mut all = Vec::with_capacity(count);
    while let Some(done) = tasks.join_next().await {
        all.extend(done.map_err(|e| e.to_string())??);
    }
    Ok(all)
}

/// A set of open connections, lent out one request at a time.
struct Pool {
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

async fn open_pool(addr: SocketAddr, size: usize) -> Result<Arc<Pool>, String> {
    let mut idle = Vec::with_capacity(size);
    for _ in 0..size {
        idle.push(Connection::open(addr).await.map_err(|e| e.to_string())?);
    }
    Ok(Arc::new(Pool { idle: Mutex::new(idle), permits: Semaphore::new(size) }))
}

/// One signed webhook call; true when it answered 200 with ResultCode 0.
async fn call(conn: &mut Connection, signer: &Signer, body: &[u8]) -> bool {
    match conn.webhook(signer, now_s(), body).await {
        Ok(reply) => reply.status == 200 && reply.body.starts_with(br#"{"ResultCode":0,"#),
        Err(_) => false,
    }
}

pub struct OpenLoopResult {
    pub latencies: Latencies,
    pub sent: u64,
    pub elapsed: Duration,
    /// How late the dispatcher sent requests (timer granularity, a busy client), at the 99th percentile.
    pub dispatch_lag_p99: Duration,
    pub max_in_flight: usize,
}

/// Requests at `rate` per second for `duration`, each sent at its due time whether or not earlier ones
/// have answered (open loop), on at most `connections` at once. A request that finds every connection
/// busy waits for one, and that wait counts in its latency: a backend that falls behind shows up as
/// latency, not as a politely lower rate.
pub async fn open_loop(
    addr: SocketAddr,
    signer: Arc<Signer>,
    bodies: Arc<Vec<Arc<[u8]>>>,
    rate: u32,
    duration: Duration,
    connections: usize,
) -> Result<OpenLoopResult, String> {
    let pool = open_pool(addr, connections).await?;
    let total = (f64::from(rate) * duration.as_secs_f64()).round() as u64;
    let results = Arc::new(Mutex::new(Latencies::with_capacity(total as usize)));
    let mut lags = Latencies::with_capacity(total as usize);
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    let mut max_in_flight = 0;
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / f64::from(rate));
        tokio::time::sleep_until(due.into()).await;
        let sent = Instant::now();
        lags.record(sent.saturating_duration_since(due));
        max_in_flight = max_in_flight.max(connections - pool.permits.available_permits());
        let (pool, signer, results) = (pool.clone(), signer.clone(), results.clone());
        let body = bodies[i as usize % bodies.len()].clone();
        tasks.spawn(async move {
            let Ok(_permit) = pool.permits.acquire().await else { return };
            let mut conn = pool.idle.lock().unwrap().pop().expect("a permit means an idle connection");
            let ok = call(&mut conn, &signer, &body).await;
            let latency = sent.elapsed();
            pool.idle.lock().unwrap().push(conn);
            let mut results = results.lock().unwrap();
            if ok {
                results.record(latency);
            } else {
                results.failed += 1;
            }
        });
        // Reap finished tasks as we go, so the set stays as small as what is in flight.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed();
    let mut latencies = std::mem::take(&mut *results.lock().unwrap());
    latencies.sort();
    lags.sort();
    Ok(OpenLoopResult { latencies, sent: total, elapsed, dispatch_lag_p99: lags.quantile(0.99), max_in_flight })
}

/// Every connection sends its next request as soon as the previous one answers, for `duration`.
pub async fn unthrottled(
    addr: SocketAddr,
    signer: Arc<Signer>,
    bodies: Arc<Vec<Arc<[u8]>>>,
    duration: Duration,
    connections: usize,
) -> Result<(Latencies, Duration), String> {
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    let end = start + duration;
    for worker in 0..connections {
        let (signer, bodies) = (signer.clone(), bodies.clone());
        tasks.spawn(async move {
            let mut conn = Connection::open(addr).await.map_err(|e| e.to_string())?;
            let mut latencies = Latencies::with_capacity(16 * 1024);
            let mut i = worker;
            while Instant::now() < end {
                let sent = Instant::now();
                if call(&mut conn, &signer, &bodies[i % bodies.len()]).await {
                    latencies.record(sent.elapsed());
                } else {
                    latencies.failed += 1;
                }
                i += connections;
            }
            Ok::<_, String>(latencies)
        });
    }
    let mut all = Latencies::default();
    while let Some(done) = tasks.join_next().await {
        all.merge(done.map_err(|e| e.to_string())??);
    }
    let elapsed = start.elapsed();
    all.sort();
    Ok((all, elapsed))
}
