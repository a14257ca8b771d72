//! Load: 100 clients in 10 rooms, each raising 100 encrypted events. Every event must reach every other
//! member of its room exactly once, in the order its sender raised them.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sealnet::protocol::codec::Value;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::SessionEvent;
use support::*;

const ROOMS: usize = 10;
const PER_ROOM: usize = 10;
const EVENTS: i32 = 100;
const EVENT_CODE: u8 = 1;
const DONE_CODE: u8 = 2;
/// The whole run must finish within this, or the test fails rather than hangs.
const RUN_LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_every_other_member_once_and_in_order() {
    // Clients that are done wait, unserviced, for the others (so no Leave reaches one still counting);
    // on a loaded machine that takes longer than the 10 s disconnect timeout.
    let config = sealnet_server::Config { disconnect_timeout_ms: RUN_LIMIT.as_millis() as u64, ..test_config() };
    let server = start_server(config).await;
    let addr = server.local_addr();
    let started = Instant::now();

    let mut tasks = Vec::new();
    for index in 0..ROOMS * PER_ROOM {
        let room = format!("room-{}", index % ROOMS);
        tasks.push(tokio::spawn(async move { run_client(addr, room).await }));
    }
    // Clients stay connected until all are done, so no Leave event reaches one still counting.
    let all = async {
        let mut received = 0;
        let mut finished = Vec::new();
        for task in tasks {
            let (count, client) = task.await.expect("client task");
            received += count;
            finished.push(client);
        }
        (received, finished)
    };
    let (received, _clients) = tokio::time::timeout(RUN_LIMIT, all).await.expect("load run finished in time");
    let elapsed = started.elapsed();
    let expected = ROOMS * PER_ROOM * (PER_ROOM - 1) * EVENTS as usize;
    assert_eq!(received, expected);
    eprintln!("load: {} clients, {} events delivered (encrypted) in {:.2?}", ROOMS * PER_ROOM, received, elapsed);
    assert_eq!(server.room_count(), ROOMS);
}

/// One client: join, wait for a full room, raise its events, and check what the others raised.
/// Returns how many relayed events it received, and the still connected client.
async fn run_client(addr: std::net::SocketAddr, room: String) -> (usize, Client) {
    let mut client = Client::encrypted(addr).await;
    let (me, _) = client.join(&room).await;

    // Every member sees the tenth join before anyone raises, because nobody raises before seeing it.
    loop {
        let (event, _) = client.event().await;
        assert_eq!(event.code, EVENT_JOIN);
        if ints(event.params.get(ACTOR_LIST)).len() == PER_ROOM {
            break;
        }
    }

    for sequence in 0..EVENTS {
        let data = Value::Array(vec![Value::Int(me), Value::Int(sequence)]);
        let mut params = sealnet::protocol::codec::Params::new();
        params.insert(CODE, i32::from(EVENT_CODE));
        params.insert(DATA, data);
        client
            .session
            .send_operation(
                &sealnet::protocol::message::OperationRequest {
                    op_code: sealnet::protocol::status::op_code::RAISE_EVENT,
                    params,
                },
                SendOptions::ENCRYPTED,
            )
            .expect("queued");
    }
    client.flush().await;
    client.raise(i32::from(DONE_CODE), None, Some(1), SendOptions::ENCRYPTED).await;

    // Next expected sequence number per sender; done markers seen (ours included).
    let mut next: HashMap<i32, i32> = HashMap::new();
    let mut done = 0;
    let mut received = 0;
    while done < PER_ROOM {
        let (event, encrypted) = match client.next().await {
            SessionEvent::Event { event, encrypted } => (event, encrypted),
            other => panic!("actor {me} in {room}: unexpected {other:?}"),
        };
        assert!(encrypted, "relayed events stay encrypted");
        match event.code {
            EVENT_CODE => {
                let Some(Value::Array(data)) = event.params.get(DATA) else { panic!("bad data {event:?}") };
                assert_eq!(data[0], Value::Int(event.sender), "the sender field names the raiser");
                assert_ne!(event.sender, me, "no copy of one's own events (receiver group Others)");
                let expected = next.entry(event.sender).or_insert(0);
                assert_eq!(data[1], Value::Int(*expected), "actor {me} in {room}: out of order from {}", event.sender);
                *expected += 1;
                received += 1;
            }
            DONE_CODE => {
                let from = event.sender;
                let expected = if from == me { 0 } else { EVENTS };
                assert_eq!(next.get(&from).copied().unwrap_or(0), expected, "actor {me}: done from {from} early");
                done += 1;
            }
            other => panic!("actor {me}: unexpected event code {other}"),
        }
    }
    assert_eq!(next.len(), PER_ROOM - 1);
    assert!(next.values().all(|&count| count == EVENTS));
    (received, client)
}
