//! The operator's surface over real sockets: /healthz, /readyz and /metrics on the admin listener,
//! and a drain (no new players, the connected ones go on, readiness false, done when they leave).

mod support;

use std::time::Duration;

use sealnet::auth::{AuthType, AuthValues};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code, DisconnectReason};
use support::*;

fn admin_config() -> sealnet_server::Config {
    let mut config = test_config();
    config.admin.listen = "127.0.0.1:0".into();
    config
}

#[tokio::test]
async fn health_readiness_and_metrics_answer_on_the_admin_listener() {
    let server = start_server(admin_config()).await;
    let admin = server.admin_addr().expect("the admin listener is on");
    assert_eq!(get(admin, "/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(get(admin, "/readyz").await.0, 200);

    let mut client = Client::encrypted(server.local_addr()).await;
    client.join_and_settle("r").await;
    let params = AuthValues::new(AuthType::None).to_request().unwrap().params;
    client.send(op_code::AUTHENTICATE, params, SendOptions::ENCRYPTED).await;
    assert_eq!(client.response(op_code::AUTHENTICATE).await.0.return_code, return_code::OK);

    let (status, body) = get(admin, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(metric(&body, "sealnet_connections "), Some(1), "{body}");
    assert_eq!(metric(&body, "sealnet_rooms "), Some(1), "{body}");
    assert_eq!(metric(&body, "sealnet_ready "), Some(1), "{body}");
    assert_eq!(metric(&body, "sealnet_authentications_total{outcome=\"authenticated\"} "), Some(1), "{body}");
    assert!(body.contains("# TYPE sealnet_authentications_total counter"), "{body}");
    assert_eq!(get(admin, "/nothing-here").await.0, 404);
}

#[tokio::test]
async fn a_server_without_an_admin_address_has_no_admin_listener() {
    let server = start_server(test_config()).await;
    assert_eq!(server.admin_addr(), None);
}

#[tokio::test]
async fn a_drain_refuses_new_players_reports_not_ready_and_ends_when_the_last_leaves() {
    let server = start_server(admin_config()).await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().unwrap());
    let mut client = Client::encrypted(addr).await;
    client.join_and_settle("r").await;

    let drained = tokio::spawn(server.drain(Duration::from_secs(60)));
    // Readiness turns false once the drain has begun; the admin listener stays up meanwhile.
    let deadline = std::time::Instant::now() + WAIT;
    while get(admin, "/readyz").await.0 != 503 {
        assert!(std::time::Instant::now() < deadline, "readiness never turned false");
        tokio::task::yield_now().await;
    }
    let (_, body) = get(admin, "/metrics").await;
    assert_eq!(metric(&body, "sealnet_ready "), Some(0));
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "nobody new gets in");

    client.raise(1, None, Some(1), SendOptions::ENCRYPTED).await;
    assert_eq!(client.event().await.0.code, 1, "the connected player goes on playing");
    assert!(!drained.is_finished());

    client.session.disconnect(DisconnectReason::ClientRequest, "done");
    client.until_closed().await;
    tokio::time::timeout(WAIT, drained).await.expect("the drain ends when the last player leaves").unwrap();
}

#[tokio::test]
async fn a_drain_that_runs_out_disconnects_the_rest_and_a_stopper_cuts_it_short() {
    let server = start_server(test_config()).await;
    let mut patient = Client::encrypted(server.local_addr()).await;
    let started = std::time::Instant::now();
    let drained = tokio::spawn(server.drain(Duration::from_millis(200)));
    let status = patient.status(sealnet::protocol::status::StatusCode::DisconnectByServerLogic).await;
    assert_eq!(status.reason, DisconnectReason::ServerShutdown as u16);
    assert!(started.elapsed() >= Duration::from_millis(200), "not before the drain period is over");
    patient.until_closed().await;
    tokio::time::timeout(WAIT, drained).await.unwrap().unwrap();

    let server = start_server(test_config()).await;
    let mut client = Client::encrypted(server.local_addr()).await;
    let stopper = server.stopper();
    let drained = tokio::spawn(server.drain(Duration::from_secs(60)));
    stopper.stop();
    let status = client.status(sealnet::protocol::status::StatusCode::DisconnectByServerLogic).await;
    assert_eq!(status.reason, DisconnectReason::ServerShutdown as u16);
    client.until_closed().await;
    tokio::time::timeout(WAIT, drained).await.expect("stopped at once").unwrap();
}

#[tokio::test]
async fn relay_counters_of_every_shard_are_summed_on_each_scrape() {
    let mut config = admin_config();
    config.workers = 4;
    let server = start_server(config).await;
    let (addr, admin) = (server.local_addr(), server.admin_addr().unwrap());
    // Two members in each of six rooms, which spread over the shards.
    let rooms = ["a", "b", "c", "d", "e", "f"];
    let mut pairs = Vec::new();
    for room in rooms {
        let mut first = Client::encrypted(addr).await;
        first.join_and_settle(room).await;
        let mut second = Client::encrypted(addr).await;
        second.join_and_settle(room).await;
        pairs.push((first, second));
    }
    // In each room one encrypted event to everyone and one plain event to the others.
    for (first, second) in &mut pairs {
        first.raise(1, None, Some(1), SendOptions::ENCRYPTED).await;
        first.raise(2, None, None, SendOptions::RELIABLE).await;
        for client in [&mut *first, &mut *second] {
            loop {
                let (event, _) = client.event().await;
                if event.code == 1 {
                    break;
                }
            }
        }
        while second.event().await.0.code != 2 {}
    }
    let relayed = "sealnet_events_relayed_total{transport=\"tcp\",encrypted=\"true\"} ";
    let body = metrics_until(admin, |body| metric(body, relayed) == Some(6)).await;
    let plain = "sealnet_deliveries_total{transport=\"tcp\",encrypted=\"false\"} ";
    assert_eq!(metric(&body, plain), Some(6), "{body}");
    let encrypted = "sealnet_deliveries_total{transport=\"tcp\",encrypted=\"true\"} ";
    assert_eq!(metric(&body, encrypted), Some(12), "{body}");
    assert_eq!(metric(&body, "sealnet_key_exchanges_total{outcome=\"established\"} "), Some(12), "{body}");
    assert_eq!(metric(&body, "sealnet_members "), Some(12), "{body}");
    assert_eq!(metric(&body, "sealnet_workers "), Some(4), "{body}");
    assert!(metric(&body, "sealnet_received_bytes_total ").unwrap() > 0, "{body}");
    assert!(metric(&body, "sealnet_sent_bytes_total ").unwrap() > 0, "{body}");
    // Every delivery, membership events included, waited in a queue and is in the histogram.
    let waits = metric(&body, "sealnet_relay_queue_wait_seconds_count ").unwrap();
    assert!(waits >= 18, "{body}");
    assert_eq!(metric(&body, "sealnet_relay_queue_wait_seconds_bucket{le=\"+Inf\"} "), Some(waits), "{body}");

    // A player who leaves is counted by the reason the connection ended with.
    let (mut leaving, _stays) = pairs.pop().unwrap();
    leaving.session.disconnect(DisconnectReason::ClientRequest, "bye");
    leaving.until_closed().await;
    let closed = "sealnet_connections_closed_total{reason=\"ClientRequest\"} ";
    let body = metrics_until(admin, |body| metric(body, closed) == Some(1)).await;
    assert_eq!(metric(&body, "sealnet_members "), Some(11), "{body}");
}
