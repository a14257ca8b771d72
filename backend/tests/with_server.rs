//! The whole authentication path: the real `sealnet-backend` binary on an SQLite file, a sealnet
//! server (in-process) whose webhook calls it, and real client peers that log in, build connection
//! tokens from their sessions and authenticate; then a logged-out session, a banned player and a
//! backend that is down, each as the player sees it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sealnet::auth::{AuthType, AuthValues, ServerToken, PARAM_NICKNAME, PARAM_USER_ID};
use sealnet::peer::{AuthState, ConnectOptions, Peer, PeerConfig, PeerEvent, PinChoice};
use sealnet::protocol::codec::Value;
use sealnet::protocol::message::OperationResponse;
use sealnet::protocol::status::{op_code, return_code, StatusCode};
use sealnet_backend::client::{connection_token, Connection};
use sealnet_backend::session_id::SessionId;
use sealnet_server::auth::setup;
use sealnet_server::{Config, Server};

const WAIT: Duration = Duration::from_secs(30);
const PLAYERS: usize = 200;

struct Backend {
    child: Child,
    address: SocketAddr,
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn backend_binary() -> &'static str {
    env!("CARGO_BIN_EXE_sealnet-backend")
}

fn start_backend(dir: &Path) -> Backend {
    let secret = dir.join("webhook.secret");
    if !secret.exists() {
        let status = Command::new(backend_binary()).arg("gen-secret").arg(&secret).status().unwrap();
        assert!(status.success());
    }
    let mut child = Command::new(backend_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--secret-file"])
        .arg(&secret)
        .arg("--database-url")
        .arg(dir.join("backend.db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).parse().unwrap();
    Backend { child, address }
}

fn server_config(dir: &Path, backend: SocketAddr) -> Config {
    let mut config = Config { listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    config.key_file = Some(dir.join("server.key"));
    config.auth.allow_anonymous = false;
    config.auth.webhook.url = format!("http://{backend}/auth");
    config.auth.webhook.secret_file = dir.join("webhook.secret");
    // Everyone connects from 127.0.0.1 at once.
    config.auth.per_address_burst = PLAYERS as f64 * 2.0;
    config.admission.key_exchange_burst_per_address = PLAYERS as f64 * 2.0;
    config
}

async fn log_in_guest(backend: SocketAddr, device: String, name: String) -> SessionId {
    let mut connection = Connection::open(backend).await.unwrap();
    let body = serde_json::json!({ "device_id": device, "display_name": name });
    let reply = connection.post_json("/guest", &body).await.unwrap();
    let session = reply.json()["session"].as_str().unwrap().to_owned();
    SessionId::decode(&session).unwrap()
}

fn connect(peer: &Peer, server: SocketAddr, token: &[u8]) {
    let mut values = AuthValues::new(AuthType::Custom);
    values.set_connection_token(token).unwrap();
    let address = server.to_string();
    let options = ConnectOptions {
        address: &address,
        app_id: "demo",
        app_version: None,
        pin: PinChoice::None,
        auth: Some(&values),
    };
    peer.connect_with(&options).unwrap();
}

fn auth_response(peer: &Peer) -> OperationResponse {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match peer.poll_event() {
            Some(PeerEvent::OperationResponse { response, .. }) if response.op_code == op_code::AUTHENTICATE => {
                return response
            }
            Some(PeerEvent::Status(info)) if info.code == StatusCode::Disconnect => panic!("disconnected: {info:?}"),
            Some(_) => {}
            None => {
                peer.wait(Duration::from_millis(100));
            }
        }
    }
    panic!("no answer to Authenticate in time");
}

#[test]
fn players_log_in_and_authenticate_through_the_real_backend() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let backend = start_backend(dir.path());
    let config = server_config(dir.path(), backend.address);
    let server = runtime.block_on(async {
        let keypair = sealnet::protocol::noise::Keypair::generate().unwrap();
        let server = Server::new(config.clone(), keypair)
            .with_token_keys(setup::token_keys(&config).unwrap())
            .with_auth_provider(setup::webhook(&config).unwrap().expect("a webhook"));
        server.start().await.unwrap()
    });
    let address = server.local_addr();

    // 200 guests log in, then all authenticate at once.
    let sessions: Vec<SessionId> = runtime.block_on(async {
        let logins =
            (0..PLAYERS).map(|i| log_in_guest(backend.address, format!("device-{i:04}-test"), format!("P{i}")));
        futures_join_all(logins).await
    });
    let peers: Vec<Peer> = (0..PLAYERS).map(|_| Peer::new(PeerConfig::default())).collect();
    let started = Instant::now();
    for (peer, session) in peers.iter().zip(&sessions) {
        connect(peer, address, &connection_token(session, b";mode=duel;lobby=7"));
    }
    let answers: Vec<OperationResponse> = peers.iter().map(auth_response).collect();
    let elapsed = started.elapsed();
    let mut user_ids = std::collections::HashSet::new();
    for (index, answer) in answers.iter().enumerate() {
        assert_eq!(answer.return_code, return_code::OK, "player {index}: {:?}", answer.debug_message);
        assert_eq!(answer.params.get(PARAM_NICKNAME), Some(&Value::String(format!("P{index}"))));
        let Some(Value::String(user_id)) = answer.params.get(PARAM_USER_ID) else { panic!("no user id") };
        user_ids.insert(user_id.clone());
        assert!(ServerToken::from_params(&answer.params).is_some());
    }
    assert_eq!(user_ids.len(), PLAYERS, "every guest has its own user id");
    assert!(peers.iter().all(|peer| peer.auth_state() == AuthState::Authenticated));
    println!(
        "{PLAYERS} connections, key exchanges and webhook authentications in {} ms ({:.0} per second)",
        elapsed.as_millis(),
        PLAYERS as f64 / elapsed.as_secs_f64()
    );
    drop(peers);

    // A session that ended (logged out): the backend's message reaches the player.
    let ended = runtime.block_on(log_in_guest(backend.address, "device-ended-1".into(), "Gone".into()));
    runtime.block_on(async {
        let mut connection = Connection::open(backend.address).await.unwrap();
        let body = serde_json::json!({ "session": ended.encode() });
        assert_eq!(connection.post_json("/logout", &body).await.unwrap().status, 204);
    });
    let peer = Peer::new(PeerConfig::default());
    connect(&peer, address, &connection_token(&ended, b""));
    let answer = auth_response(&peer);
    assert_eq!(answer.return_code, return_code::CUSTOM_AUTHENTICATION_FAILED);
    assert_eq!(answer.debug_message.as_deref(), Some("Session expired, please log in again"));

    // A banned player: a generic message, never the reason.
    let banned = runtime.block_on(async {
        let mut connection = Connection::open(backend.address).await.unwrap();
        let body = serde_json::json!({ "device_id": "device-banned-1", "display_name": "Cheater" });
        let reply = connection.post_json("/guest", &body).await.unwrap().json();
        (SessionId::decode(reply["session"].as_str().unwrap()).unwrap(), reply["player_id"].as_i64().unwrap())
    });
    let status = Command::new(backend_binary())
        .args(["ban", &banned.1.to_string(), "--reason", "aimbot in match 42", "--database-url"])
        .arg(dir.path().join("backend.db"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let peer = Peer::new(PeerConfig::default());
    connect(&peer, address, &connection_token(&banned.0, b""));
    let answer = auth_response(&peer);
    assert_eq!(answer.return_code, return_code::CUSTOM_AUTHENTICATION_FAILED);
    assert_eq!(answer.debug_message.as_deref(), Some("authentication failed"));

    // The backend goes down: "try again", distinct from a rejection.
    let waiting = runtime.block_on(log_in_guest(backend.address, "device-waiting-1".into(), "Patient".into()));
    drop(backend);
    let peer = Peer::new(PeerConfig::default());
    connect(&peer, address, &connection_token(&waiting, b""));
    let answer = auth_response(&peer);
    assert_eq!(answer.return_code, return_code::EXTERNAL_HTTP_CALL_FAILED);
    assert_eq!(answer.debug_message.as_deref(), Some("authentication service unavailable, try again"));
    runtime.block_on(server.shutdown());
}

/// Runs futures concurrently on the current task (the test has no futures crate).
async fn futures_join_all<T: Send + 'static>(
    futures: impl Iterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}
