//! Authentication over real sockets with an in-process provider: the gate, custom outcomes, server
//! tokens (valid, altered, expired, other key, rotated), their refresh on join and while playing, the
//! auth context plugins see, ordering behind a pending call, the deadline and the rate limit. The
//! webhook itself and the reference backend have their own suites.

mod support;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use sealnet::auth::{AuthType, AuthValues, ServerToken, EVENT_AUTH, PARAM_NICKNAME, PARAM_USER_ID};
use sealnet::protocol::codec::{Key, Params, Table, Value};
use sealnet::protocol::message::OperationResponse;
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::session::SessionConfig;
use sealnet::protocol::status::{op_code, return_code, StatusCode};
use sealnet_server::auth::token::TokenKeys;
use sealnet_server::auth::{AuthContext, AuthProvider, AuthRequest, AuthValue, ProviderFuture, WebhookOutcome};
use sealnet_server::{AuthenticatedContext, Config, EventContext, Plugin, RunningServer, Server, Verdict};
use support::*;
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

const HOUR_MS: i64 = 3_600_000;
const START_MS: i64 = 1_800_000_000_000;

/// Answers from the connection token: "ok:NAME", "expired", "banned", "down"; anything else is held
/// until the test releases it through `held`.
struct ScriptedBackend {
    calls: AtomicUsize,
    seen: Mutex<Vec<AuthRequest>>,
    held: mpsc::UnboundedSender<oneshot::Sender<WebhookOutcome>>,
}

impl AuthProvider for ScriptedBackend {
    fn name(&self) -> &str {
        "scripted"
    }

    fn authenticate(&self, request: AuthRequest) -> ProviderFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().push(request.clone());
        let token = String::from_utf8_lossy(&request.connection_token).into_owned();
        let outcome = match token.as_str() {
            t if t.starts_with("ok:") => Some(WebhookOutcome::Accepted(AuthContext {
                user_id: format!("user-{}", &t[3..]),
                nickname: t[3..].to_owned(),
                data: vec![("level".into(), AuthValue::Int(7)), ("region".into(), AuthValue::String("eu".into()))],
            })),
            "expired" => {
                Some(WebhookOutcome::Rejected { message: Some("Session expired, please log in again".into()) })
            }
            "banned" => Some(WebhookOutcome::Refused { logged_message: Some("cheating in match 42".into()) }),
            "down" => Some(WebhookOutcome::Unavailable { detail: "HTTP 503 three times".into(), transient: true }),
            "broken" => Some(WebhookOutcome::Unavailable { detail: "HTTP 400".into(), transient: false }),
            _ => None,
        };
        match outcome {
            Some(outcome) => Box::pin(async move { outcome }),
            None => {
                let (reply, answer) = oneshot::channel();
                let _ = self.held.send(reply);
                Box::pin(async move {
                    answer.await.unwrap_or(WebhookOutcome::Unavailable { detail: "dropped".into(), transient: true })
                })
            }
        }
    }
}

struct Setup {
    server: RunningServer,
    backend: Arc<ScriptedBackend>,
    held: mpsc::UnboundedReceiver<oneshot::Sender<WebhookOutcome>>,
    clock: Arc<AtomicI64>,
}

fn key(id: u32, byte: u8) -> (u32, Zeroizing<[u8; 32]>) {
    (id, Zeroizing::new([byte; 32]))
}

async fn setup_with(config: Config, keys: Vec<(u32, Zeroizing<[u8; 32]>)>, plugins: Vec<Arc<dyn Plugin>>) -> Setup {
    let (held_tx, held) = mpsc::unbounded_channel();
    let backend = Arc::new(ScriptedBackend { calls: AtomicUsize::new(0), seen: Mutex::new(Vec::new()), held: held_tx });
    let clock = Arc::new(AtomicI64::new(START_MS));
    let provider = backend.clone();
    let time = clock.clone();
    let server = start_built(config, move |server: Server| {
        let server = server
            .with_auth_provider(provider)
            .with_token_keys(TokenKeys::new(keys))
            .with_clock(Arc::new(move || time.load(Ordering::SeqCst)));
        plugins.into_iter().fold(server, Server::with_plugin)
    })
    .await;
    Setup { server, backend, held, clock }
}

fn closed_config() -> Config {
    let mut config = test_config();
    config.auth.allow_anonymous = false;
    config
}

async fn setup() -> Setup {
    setup_with(closed_config(), vec![key(1, 7)], Vec::new()).await
}

fn custom(connection_token: &str) -> Params {
    let mut values = AuthValues::new(AuthType::Custom);
    values.set_connection_token(connection_token.as_bytes()).unwrap();
    values.add_param("lobby", "eu-1").unwrap();
    values.to_request().unwrap().params
}

fn with_token(token: &[u8]) -> Params {
    let mut values = AuthValues::new(AuthType::Token);
    values.set_token(token).unwrap();
    values.to_request().unwrap().params
}

async fn authenticate(client: &mut Client, op: u8, params: Params) -> OperationResponse {
    client.send(op, params, SendOptions::ENCRYPTED).await;
    client.response(op).await.0
}

async fn log_in(client: &mut Client, name: &str) -> ServerToken {
    let response = authenticate(client, op_code::AUTHENTICATE, custom(&format!("ok:{name}"))).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    ServerToken::from_params(&response.params).expect("a token")
}

#[tokio::test]
async fn custom_authentication_gives_the_player_an_identity_and_a_token() {
    let setup = setup().await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    let response = authenticate(&mut client, op_code::AUTHENTICATE, custom("ok:Ada")).await;
    assert_eq!(response.return_code, return_code::OK);
    assert_eq!(response.params.get(PARAM_USER_ID), Some(&Value::String("user-Ada".into())));
    assert_eq!(response.params.get(PARAM_NICKNAME), Some(&Value::String("Ada".into())));
    let Some(Value::Table(data)) = response.params.get(DATA) else { panic!("data: {:?}", response.params) };
    assert_eq!(data.get(&Key::from("level")), Some(&Value::Long(7)));
    let token = ServerToken::from_params(&response.params).expect("a token");
    assert_eq!(token.expires_at_ms, START_MS + HOUR_MS, "one hour by default");

    let seen = setup.backend.seen.lock()[0].clone();
    assert_eq!(seen.connection_token, b"ok:Ada");
    assert_eq!(seen.app_id, "demo");
    assert_eq!(seen.params, vec![("lobby".to_owned(), "eu-1".to_owned())]);
    assert!(seen.client_address.ip().is_loopback());
}

#[tokio::test]
async fn each_backend_outcome_reaches_the_client_as_its_code_and_only_the_allowed_message() {
    let setup = setup().await;
    let addr = setup.server.local_addr();
    let mut client = Client::encrypted(addr).await;
    let expired = authenticate(&mut client, op_code::AUTHENTICATE, custom("expired")).await;
    assert_eq!(expired.return_code, return_code::CUSTOM_AUTHENTICATION_FAILED);
    assert_eq!(expired.debug_message.as_deref(), Some("Session expired, please log in again"));

    let mut client = Client::encrypted(addr).await;
    let banned = authenticate(&mut client, op_code::AUTHENTICATE, custom("banned")).await;
    assert_eq!(banned.return_code, return_code::CUSTOM_AUTHENTICATION_FAILED);
    assert_eq!(banned.debug_message.as_deref(), Some("authentication failed"), "never the reason");

    let mut client = Client::encrypted(addr).await;
    let down = authenticate(&mut client, op_code::AUTHENTICATE, custom("down")).await;
    assert_eq!(down.return_code, return_code::EXTERNAL_HTTP_CALL_FAILED);
    assert_eq!(down.debug_message.as_deref(), Some("authentication service unavailable, try again"));
    assert!(!format!("{down:?}").contains("503"), "backend details stay in the server log");
    // Refused players stay unauthenticated: the gate still holds.
    client.send(op_code::JOIN_ROOM, room("lobby"), SendOptions::ENCRYPTED).await;
    let (join, _) = client.response(op_code::JOIN_ROOM).await;
    assert_eq!(join.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
}

#[tokio::test]
async fn a_server_that_admits_players_while_its_backend_is_down_says_so() {
    let mut config = closed_config();
    config.auth.webhook.reject_if_unavailable = false;
    let setup = setup_with(config, vec![key(1, 7)], Vec::new()).await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    let down = authenticate(&mut client, op_code::AUTHENTICATE, custom("down")).await;
    assert_eq!(down.return_code, return_code::OK);
    assert!(ServerToken::from_params(&down.params).is_none(), "no identity, no token");
    assert!(down.debug_message.unwrap().contains("without an identity"));
    assert_eq!(client.join("lobby").await.0, 1, "the gate is open");
}

fn room(name: &str) -> Params {
    let mut params = Params::new();
    params.insert(ROOM_NAME, name.to_owned());
    params
}

#[tokio::test]
async fn nothing_but_authentication_runs_before_it_where_anonymous_players_are_refused() {
    let setup = setup().await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    for op in [op_code::JOIN_ROOM, op_code::RAISE_EVENT, op_code::LEAVE_ROOM, 99] {
        client.send(op, room("lobby"), SendOptions::ENCRYPTED).await;
        let (response, _) = client.response(op).await;
        assert_eq!(response.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, "op {op}");
        assert!(response.debug_message.unwrap().contains("authenticate first"));
    }
    let mut anonymous = AuthValues::new(AuthType::None).to_request().unwrap().params;
    let refused = authenticate(&mut client, op_code::AUTHENTICATE, std::mem::take(&mut anonymous)).await;
    assert_eq!(refused.return_code, return_code::INVALID_AUTHENTICATION);
    log_in(&mut client, "Ada").await;
    assert_eq!(client.join_and_settle("lobby").await.0, 1);
    let again = authenticate(&mut client, op_code::AUTHENTICATE, custom("ok:Ada")).await;
    assert_eq!(again.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
}

#[tokio::test]
async fn where_anonymous_players_are_allowed_they_get_distinct_ids_and_tokens() {
    let setup = setup_with(test_config(), vec![key(1, 7)], Vec::new()).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut client = Client::encrypted(setup.server.local_addr()).await;
        let params = AuthValues::new(AuthType::None).to_request().unwrap().params;
        let response = authenticate(&mut client, op_code::AUTHENTICATE, params).await;
        assert_eq!(response.return_code, return_code::OK);
        assert!(ServerToken::from_params(&response.params).is_some());
        ids.push(response.params.get(PARAM_USER_ID).cloned().unwrap());
    }
    assert_ne!(ids[0], ids[1]);
    assert_eq!(setup.backend.calls.load(Ordering::SeqCst), 0, "anonymous needs no backend");
}

#[tokio::test]
async fn a_valid_token_authenticates_on_another_server_without_a_backend_call() {
    let first = setup().await;
    let second = setup().await; // the same token key: one deployment
    let mut client = Client::encrypted(first.server.local_addr()).await;
    let token = log_in(&mut client, "Ada").await;

    let mut moved = Client::encrypted(second.server.local_addr()).await;
    let response = authenticate(&mut moved, op_code::AUTHENTICATE_ONCE, with_token(&token.bytes)).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    assert_eq!(response.params.get(PARAM_USER_ID), Some(&Value::String("user-Ada".into())));
    assert_eq!(second.backend.calls.load(Ordering::SeqCst), 0);
    assert!(ServerToken::from_params(&response.params).is_some(), "a fresh token");

    // Authenticate (230) carrying the token does the same.
    let mut again = Client::encrypted(second.server.local_addr()).await;
    let response = authenticate(&mut again, op_code::AUTHENTICATE, with_token(&token.bytes)).await;
    assert_eq!(response.return_code, return_code::OK, "{:?}", response.debug_message);
    assert_eq!(second.backend.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn tampered_expired_and_foreign_tokens_all_get_the_same_refusal() {
    let setup = setup_with(closed_config(), vec![key(2, 9), key(1, 7)], Vec::new()).await;
    let addr = setup.server.local_addr();
    let mut client = Client::encrypted(addr).await;
    let token = log_in(&mut client, "Ada").await;
    assert_eq!(&token.bytes[1..5], &2u32.to_be_bytes(), "sealed under the first key");

    let other_deployment = setup_with(closed_config(), vec![key(3, 1)], Vec::new()).await;
    let mut foreign_client = Client::encrypted(other_deployment.server.local_addr()).await;
    let foreign = log_in(&mut foreign_client, "Eve").await;
    let old_key = setup_with(closed_config(), vec![key(1, 7)], Vec::new()).await;
    let mut old_client = Client::encrypted(old_key.server.local_addr()).await;
    let rotated_out = log_in(&mut old_client, "Bob").await;

    let mut tampered = token.bytes.clone();
    tampered[30] ^= 0x40;
    let mut wrong_id = token.bytes.clone();
    wrong_id[4] = 5;
    let mut refusals = Vec::new();
    for (what, bytes) in [("tampered", tampered), ("unknown key id", wrong_id), ("foreign", foreign.bytes)] {
        let mut client = Client::encrypted(addr).await;
        let response = authenticate(&mut client, op_code::AUTHENTICATE_ONCE, with_token(&bytes)).await;
        refusals.push((what, response.return_code, response.debug_message));
    }
    let mut client = Client::encrypted(addr).await;
    let accepted = authenticate(&mut client, op_code::AUTHENTICATE_ONCE, with_token(&rotated_out.bytes)).await;
    assert_eq!(accepted.return_code, return_code::OK, "the previous key is still accepted");

    setup.clock.store(START_MS + HOUR_MS, Ordering::SeqCst);
    let mut client = Client::encrypted(addr).await;
    let expired = authenticate(&mut client, op_code::AUTHENTICATE_ONCE, with_token(&token.bytes)).await;
    refusals.push(("expired", expired.return_code, expired.debug_message));
    for (what, code, message) in &refusals {
        assert_eq!(*code, return_code::AUTHENTICATION_TICKET_EXPIRED, "{what}");
        assert_eq!(message, &refusals[0].2, "{what}: one message for every failure");
    }
}

#[tokio::test]
async fn joining_a_room_refreshes_the_token_and_playing_pushes_one_before_it_runs_low() {
    let setup = setup().await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    let first = log_in(&mut client, "Ada").await;

    setup.clock.store(START_MS + 10 * 60_000, Ordering::SeqCst);
    client.send(op_code::JOIN_ROOM, room("arena"), SendOptions::ENCRYPTED).await;
    let (joined, _) = client.response(op_code::JOIN_ROOM).await;
    let on_join = ServerToken::from_params(&joined.params).expect("a token in the join response");
    assert_eq!(on_join.expires_at_ms, START_MS + 10 * 60_000 + HOUR_MS);
    assert_ne!(on_join.bytes, first.bytes);
    assert_eq!(client.event().await.0.code, EVENT_JOIN);

    // With more than a third of the lifetime left, raising events pushes nothing.
    setup.clock.store(START_MS + 40 * 60_000, Ordering::SeqCst);
    client.raise(1, None, Some(1), SendOptions::ENCRYPTED).await;
    assert_eq!(client.event().await.0.code, 1);
    client.barrier().await;
    assert!(client.try_next().is_none(), "no refresh yet");

    // Under a third left (20 minutes): the next event brings a fresh token.
    setup.clock.store(START_MS + 51 * 60_000, Ordering::SeqCst);
    client.raise(1, None, Some(1), SendOptions::ENCRYPTED).await;
    let mut pushed = None;
    for _ in 0..2 {
        let (event, encrypted) = client.event().await;
        if event.code == EVENT_AUTH {
            assert!(encrypted);
            pushed = ServerToken::from_params(&event.params);
        }
    }
    let pushed = pushed.expect("an AuthEvent with a token");
    assert_eq!(pushed.expires_at_ms, START_MS + 51 * 60_000 + HOUR_MS);

    // Idle past the hour: the room connection stays, the old token admits nowhere.
    setup.clock.store(START_MS + 10 * 60_000 + HOUR_MS + 1, Ordering::SeqCst);
    let mut elsewhere = Client::encrypted(setup.server.local_addr()).await;
    let refused = authenticate(&mut elsewhere, op_code::AUTHENTICATE_ONCE, with_token(&on_join.bytes)).await;
    assert_eq!(refused.return_code, return_code::AUTHENTICATION_TICKET_EXPIRED);
    client.raise(2, None, Some(1), SendOptions::ENCRYPTED).await;
    assert_eq!(client.event().await.0.code, 2, "still playing in the room");
}

#[tokio::test]
async fn other_members_see_the_nickname_and_the_user_id_only_where_published() {
    for publish in [false, true] {
        let mut config = closed_config();
        config.auth.publish_user_id = publish;
        let setup = setup_with(config, vec![key(1, 7)], Vec::new()).await;
        let addr = setup.server.local_addr();
        let mut a = Client::encrypted(addr).await;
        let mut b = Client::encrypted(addr).await;
        log_in(&mut a, "Ada").await;
        log_in(&mut b, "Bob").await;
        a.join_and_settle("r").await;
        b.join("r").await;
        let (join, _) = a.event().await;
        assert_eq!(join.code, EVENT_JOIN);
        assert_eq!(join.params.get(PARAM_NICKNAME), Some(&Value::String("Bob".into())));
        let user_id = join.params.get(PARAM_USER_ID);
        assert_eq!(user_id.is_some(), publish, "{user_id:?}");
    }
}

/// Records what it sees of authenticated players, and injects a rating into their tokens.
#[derive(Default)]
struct Matchmaker {
    seen: Mutex<Vec<(String, bool, Option<Value>)>>,
    event_senders: Mutex<Vec<Option<String>>>,
}

impl Plugin for Matchmaker {
    fn name(&self) -> &str {
        "matchmaker"
    }

    fn on_authenticated(&self, ctx: &AuthenticatedContext<'_>, injected: &mut Table) -> Verdict {
        let level = ctx.auth.data.iter().find(|(key, _)| key == "level").map(|(_, v)| v.clone());
        let rating = injected.get(&Key::from("rating")).cloned();
        self.seen.lock().push((ctx.auth.user_id.clone(), ctx.via_token, rating));
        if let Some(AuthValue::Int(level)) = level {
            injected.insert("rating", 1000 + level as i32);
        }
        Verdict::Continue
    }

    fn on_event(&self, ctx: &EventContext<'_>, _event: &mut sealnet::protocol::message::EventData) -> Verdict {
        self.event_senders.lock().push(ctx.sender_auth.map(|auth| auth.nickname.clone()));
        Verdict::Continue
    }
}

#[tokio::test]
async fn plugins_read_the_auth_context_and_share_injected_data_through_the_token() {
    let plugin = Arc::new(Matchmaker::default());
    let first = setup_with(closed_config(), vec![key(1, 7)], vec![plugin.clone()]).await;
    let second = setup_with(closed_config(), vec![key(1, 7)], vec![plugin.clone()]).await;
    let mut client = Client::encrypted(first.server.local_addr()).await;
    let token = log_in(&mut client, "Ada").await;
    client.join_and_settle("r").await;
    client.raise(1, None, None, SendOptions::ENCRYPTED).await;
    client.barrier().await;
    assert_eq!(plugin.event_senders.lock().as_slice(), &[Some("Ada".to_owned())]);

    let mut moved = Client::encrypted(second.server.local_addr()).await;
    let response = authenticate(&mut moved, op_code::AUTHENTICATE_ONCE, with_token(&token.bytes)).await;
    assert_eq!(response.return_code, return_code::OK);
    let seen = plugin.seen.lock().clone();
    assert_eq!(seen[0], ("user-Ada".to_owned(), false, None));
    assert_eq!(seen[1], ("user-Ada".to_owned(), true, Some(Value::Int(1007))), "the rating came with the token");
}

#[tokio::test]
async fn operations_sent_behind_a_pending_authentication_run_after_it_in_order() {
    let mut setup = setup().await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    client.send(op_code::AUTHENTICATE, custom("hold"), SendOptions::ENCRYPTED).await;
    client.send(op_code::JOIN_ROOM, room("r"), SendOptions::ENCRYPTED).await;
    let reply = tokio::time::timeout(WAIT, setup.held.recv()).await.unwrap().unwrap();
    // Meanwhile the connection stays alive and nothing was answered yet.
    client.flush().await;
    assert!(client.try_next().is_none());
    let context = AuthContext { user_id: "u".into(), nickname: "Held".into(), data: Vec::new() };
    reply.send(WebhookOutcome::Accepted(context)).unwrap();
    let (auth, _) = client.response(op_code::AUTHENTICATE).await;
    assert_eq!(auth.return_code, return_code::OK);
    let (join, _) = client.response(op_code::JOIN_ROOM).await;
    assert_eq!(join.return_code, return_code::OK, "the join ran after the authentication: {:?}", join.debug_message);
}

#[tokio::test]
async fn a_connection_that_does_not_authenticate_in_time_is_closed_with_a_reason() {
    let mut config = closed_config();
    config.auth.deadline_ms = 300;
    let setup = setup_with(config, vec![key(1, 7)], Vec::new()).await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    let status = client.status(StatusCode::DisconnectByServerLogic).await;
    assert!(status.message.contains("not authenticated in time"), "{status:?}");
}

#[tokio::test]
async fn authentication_attempts_are_rate_limited_per_connection() {
    let mut config = test_config();
    config.auth.per_connection_burst = 2.0;
    config.auth.per_connection_per_second = 1.0;
    let setup = setup_with(config, vec![key(1, 7)], Vec::new()).await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(authenticate(&mut client, op_code::AUTHENTICATE, custom("expired")).await.return_code);
    }
    let failed = return_code::CUSTOM_AUTHENTICATION_FAILED;
    assert_eq!(codes, vec![failed, failed, return_code::HTTP_LIMIT_REACHED]);
    assert_eq!(setup.backend.calls.load(Ordering::SeqCst), 2, "the limited attempt never reached the backend");
}

#[tokio::test]
async fn a_129_byte_connection_token_is_refused_by_the_server_with_its_size() {
    let setup = setup().await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    let mut params = Params::new();
    params.insert(sealnet::auth::PARAM_AUTH_TYPE, 0u8);
    params.insert(sealnet::auth::PARAM_CONNECTION_TOKEN, vec![b'x'; 129]);
    let response = authenticate(&mut client, op_code::AUTHENTICATE, params).await;
    assert_eq!(response.return_code, return_code::INVALID_OPERATION);
    let message = response.debug_message.unwrap();
    assert!(message.contains("129") && message.contains("128"), "{message}");
    assert_eq!(setup.backend.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_version_1_connection_cannot_authenticate() {
    let setup = setup().await;
    let config = SessionConfig { versions: sealnet::protocol::message::Versions::V1, ..SessionConfig::default() };
    let mut client = Client::start(setup.server.local_addr(), "demo", config).await;
    client.status(StatusCode::EncryptionEstablished).await;
    // Version 1 has no tables: the request carries only what version 1 can.
    let mut params = Params::new();
    params.insert(sealnet::auth::PARAM_CONNECTION_TOKEN, b"ok:Ada".to_vec());
    let response = authenticate(&mut client, op_code::AUTHENTICATE, params).await;
    assert_eq!(response.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
    assert!(response.debug_message.unwrap().contains("protocol version 2"));
    assert_eq!(setup.backend.calls.load(Ordering::SeqCst), 0);
}

/// The client peer (what the C ABI and the bindings drive) authenticating by itself.
mod peer {
    use std::time::{Duration, Instant};

    use sealnet::peer::{AuthState, ConnectOptions, Peer, PeerConfig, PeerEvent, PinChoice};

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
    }

    fn connect(peer: &Peer, address: &str, auth: &AuthValues) {
        let options = ConnectOptions {
            address,
            app_id: "demo",
            app_version: Some("1.2"),
            pin: PinChoice::None,
            auth: Some(auth),
        };
        peer.connect_with(&options).unwrap();
    }

    /// The next response to `op`, skipping everything else.
    fn response(peer: &Peer, op: u8) -> OperationResponse {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match peer.poll_event() {
                Some(PeerEvent::OperationResponse { response, encrypted }) if response.op_code == op => {
                    assert!(encrypted);
                    return response;
                }
                Some(PeerEvent::Status(info)) if info.code == StatusCode::Disconnect => {
                    panic!("disconnected: {info:?}")
                }
                Some(_) => {}
                None => {
                    peer.wait(Duration::from_millis(100));
                }
            }
        }
        panic!("no response to {op} in time");
    }

    #[test]
    fn the_peer_authenticates_by_itself_and_carries_its_token_to_another_server() {
        let runtime = runtime();
        let first = runtime.block_on(setup());
        let second = runtime.block_on(setup());
        let peer = Peer::new(PeerConfig::default());
        let mut values = AuthValues::new(AuthType::Custom);
        values.set_connection_token(b"ok:Ada").unwrap();
        connect(&peer, &first.server.local_addr().to_string(), &values);
        let answer = response(&peer, op_code::AUTHENTICATE);
        assert_eq!(answer.return_code, return_code::OK);
        assert_eq!(peer.auth_state(), AuthState::Authenticated);
        let token = peer.server_token().expect("the peer keeps the token");
        assert_eq!(token, ServerToken::from_params(&answer.params).unwrap());
        assert_eq!(first.backend.seen.lock()[0].app_version, "1.2");

        // The join response brings a fresh token, which the peer keeps.
        first.clock.store(START_MS + 60_000, Ordering::SeqCst);
        peer.send_operation_parts(op_code::JOIN_ROOM, &room("r"), SendOptions::ENCRYPTED).unwrap();
        assert_eq!(response(&peer, op_code::JOIN_ROOM).return_code, return_code::OK);
        let refreshed = peer.server_token().unwrap();
        assert_eq!(refreshed.expires_at_ms, START_MS + 60_000 + HOUR_MS);

        // Moving to another server of the deployment: a token authentication with the kept token.
        peer.disconnect();
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(Instant::now() < deadline, "no Disconnect status");
            match peer.poll_event() {
                Some(PeerEvent::Status(info)) if info.code == StatusCode::Disconnect => break,
                Some(_) => {}
                None => {
                    peer.wait(Duration::from_millis(100));
                }
            }
        }
        connect(&peer, &second.server.local_addr().to_string(), &AuthValues::new(AuthType::Token));
        let moved = response(&peer, op_code::AUTHENTICATE_ONCE);
        assert_eq!(moved.return_code, return_code::OK, "{:?}", moved.debug_message);
        assert_eq!(moved.params.get(PARAM_USER_ID), Some(&Value::String("user-Ada".into())));
        assert_eq!(second.backend.calls.load(Ordering::SeqCst), 0, "no backend call for a token");
        peer.shutdown();
    }

    #[test]
    fn a_refused_player_hears_the_code_and_the_message() {
        let runtime = runtime();
        let setup = runtime.block_on(setup());
        let peer = Peer::new(PeerConfig::default());
        let mut values = AuthValues::new(AuthType::Custom);
        values.set_connection_token(b"expired").unwrap();
        connect(&peer, &setup.server.local_addr().to_string(), &values);
        let answer = response(&peer, op_code::AUTHENTICATE);
        assert_eq!(answer.return_code, return_code::CUSTOM_AUTHENTICATION_FAILED);
        assert_eq!(answer.debug_message.as_deref(), Some("Session expired, please log in again"));
        assert_eq!(peer.auth_state(), AuthState::Failed { return_code: return_code::CUSTOM_AUTHENTICATION_FAILED });
        assert!(peer.server_token().is_none());
        peer.shutdown();
    }

    #[test]
    fn a_token_authentication_without_any_token_is_refused_at_connect() {
        let peer = Peer::new(PeerConfig::default());
        let options = ConnectOptions {
            address: "127.0.0.1:9",
            app_id: "demo",
            app_version: None,
            pin: PinChoice::None,
            auth: Some(&AuthValues::new(AuthType::Token)),
        };
        let error = peer.connect_with(&options).unwrap_err();
        assert!(error.to_string().contains("needs a server token"), "{error}");
    }
}

#[tokio::test]
async fn a_token_never_travels_in_clear_even_for_a_plain_join() {
    let setup = setup().await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    log_in(&mut client, "Ada").await;
    client.send(op_code::JOIN_ROOM, room("r"), SendOptions::RELIABLE).await;
    let (joined, encrypted) = client.response(op_code::JOIN_ROOM).await;
    assert!(!encrypted);
    assert_eq!(joined.return_code, return_code::OK);
    assert!(ServerToken::from_params(&joined.params).is_none(), "no token in a plain response");
    let mut pushed = None;
    for _ in 0..2 {
        let (event, encrypted) = client.event().await;
        if event.code == EVENT_AUTH {
            assert!(encrypted, "the token comes in an encrypted AuthEvent");
            pushed = ServerToken::from_params(&event.params);
        }
    }
    assert!(pushed.is_some());
}

#[tokio::test]
async fn an_anonymous_token_does_not_open_a_server_that_refuses_anonymous_players() {
    let open = setup_with(test_config(), vec![key(1, 7)], Vec::new()).await;
    let closed = setup().await; // same key, anonymous players refused
    let mut client = Client::encrypted(open.server.local_addr()).await;
    let params = AuthValues::new(AuthType::None).to_request().unwrap().params;
    let response = authenticate(&mut client, op_code::AUTHENTICATE, params).await;
    let token = ServerToken::from_params(&response.params).unwrap();

    let mut elsewhere = Client::encrypted(open.server.local_addr()).await;
    let accepted = authenticate(&mut elsewhere, op_code::AUTHENTICATE_ONCE, with_token(&token.bytes)).await;
    assert_eq!(accepted.return_code, return_code::OK, "where anonymous players are allowed");
    let mut refused = Client::encrypted(closed.server.local_addr()).await;
    let refusal = authenticate(&mut refused, op_code::AUTHENTICATE_ONCE, with_token(&token.bytes)).await;
    assert_eq!(refusal.return_code, return_code::AUTHENTICATION_TICKET_EXPIRED);
}

#[tokio::test]
async fn refreshing_tokens_cannot_outlive_the_reauthentication_period() {
    let mut config = closed_config();
    config.auth.reauthenticate_after_s = 3600;
    let setup = setup_with(config, vec![key(1, 7)], Vec::new()).await;
    let addr = setup.server.local_addr();
    let mut client = Client::encrypted(addr).await;
    let first = log_in(&mut client, "Ada").await;

    setup.clock.store(START_MS + 50 * 60_000, Ordering::SeqCst);
    let mut second = Client::encrypted(addr).await;
    let response = authenticate(&mut second, op_code::AUTHENTICATE_ONCE, with_token(&first.bytes)).await;
    assert_eq!(response.return_code, return_code::OK);
    let refreshed = ServerToken::from_params(&response.params).unwrap();
    assert_eq!(refreshed.expires_at_ms, START_MS + 110 * 60_000, "a fresh token, valid for an hour");

    // Still unexpired, but the backend last vouched for the player over an hour ago.
    setup.clock.store(START_MS + 61 * 60_000, Ordering::SeqCst);
    let mut third = Client::encrypted(addr).await;
    let refusal = authenticate(&mut third, op_code::AUTHENTICATE_ONCE, with_token(&refreshed.bytes)).await;
    assert_eq!(refusal.return_code, return_code::AUTHENTICATION_TICKET_EXPIRED);
    assert_eq!(setup.backend.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn only_an_outage_lets_players_in_without_an_identity() {
    let mut config = closed_config();
    config.auth.webhook.reject_if_unavailable = false;
    let setup = setup_with(config, vec![key(1, 7)], Vec::new()).await;
    let mut client = Client::encrypted(setup.server.local_addr()).await;
    let broken = authenticate(&mut client, op_code::AUTHENTICATE, custom("broken")).await;
    assert_eq!(broken.return_code, return_code::EXTERNAL_HTTP_CALL_FAILED, "a backend error is not an outage");
    client.send(op_code::JOIN_ROOM, room("r"), SendOptions::ENCRYPTED).await;
    let (join, _) = client.response(op_code::JOIN_ROOM).await;
    assert_eq!(join.return_code, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE);
}
