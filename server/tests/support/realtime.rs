//! Driving a `RealtimeClient` (the higher-level client) from an async test.

use std::time::{Duration, Instant};

use sealnet::realtime::{ClientEvent, RealtimeClient};

use super::WAIT;

/// Services the client on a blocking thread until `done` holds; returns it with everything it reported.
pub async fn drive(
    mut client: RealtimeClient,
    done: impl Fn(&RealtimeClient, &[ClientEvent]) -> bool + Send + 'static,
) -> (RealtimeClient, Vec<ClientEvent>) {
    tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        let deadline = Instant::now() + WAIT;
        while !done(&client, &seen) {
            assert!(Instant::now() < deadline, "client stuck in {:?}; saw {seen:?}", client.state());
            match client.service() {
                Some(event) => seen.push(event),
                None => {
                    client.wait(Duration::from_millis(5));
                }
            }
        }
        // The state runs ahead of the events reporting it: take those already queued too.
        while let Some(event) = client.service() {
            seen.push(event);
        }
        (client, seen)
    })
    .await
    .unwrap()
}
