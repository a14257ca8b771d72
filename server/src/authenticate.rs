//! Authenticate (230) and AuthenticateOnce (231) on a connection, the gate on everything else, and
//! the server tokens a connection is given (docs/auth.md).
//!
//! A custom authentication runs its provider call on its own task. While it runs, the connection
//! reads nothing more from its client, so the operations sent after Authenticate are handled after
//! it, in order; output, timers and relayed events go on meanwhile.

use std::time::{Duration, Instant};

use sealnet::auth::{
    AuthType, AuthValues, ServerToken, EVENT_AUTH, PARAM_AUTH_ONCE_SECRET, PARAM_DATA, PARAM_NICKNAME, PARAM_USER_ID,
};
use sealnet::protocol::codec::{Params, Table};
use sealnet::protocol::message::{EventData, OperationRequest, OperationResponse};
use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{op_code, return_code};
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinHandle;

use crate::admin::AuthCounters;
use crate::auth::token::{data_to_table, AuthOnceSecret, InvalidToken, TokenClaims};
use crate::auth::{AuthContext, AuthRequest, WebhookOutcome};
use crate::config::Role;
use crate::connection::Connection;
use crate::ops::{error, respond};
use crate::plugin::{AuthenticatedContext, Verdict};
use sealnet::protocol::status::DisconnectReason;

/// Time a provider call may take beyond the webhook's budget before the server gives up on it.
const PROVIDER_GRACE: Duration = Duration::from_millis(100);

/// Where a connection stands.
#[derive(Default)]
pub(crate) enum AuthState {
    /// Not authenticated (yet).
    #[default]
    None,
    /// A provider call is in flight.
    Pending(PendingCall),
    /// Let in without an identity: the backend was unavailable and the server is configured to
    /// admit players then.
    Unverified,
    /// Admitted by an AuthOnce key exchange whose client has not yet sent an authenticated frame:
    /// the first message can be replayed by anyone, so nothing counts until the client shows it
    /// holds the keys ([`confirm_auth_once`]).
    AwaitingProof(Box<Authenticated>),
    Authenticated(Box<Authenticated>),
}

pub(crate) struct PendingCall {
    pub(crate) call: JoinHandle<WebhookOutcome>,
    options: SendOptions,
    /// The client asked for an AuthOnce secret.
    auth_once: bool,
    /// Held while the call runs: the server-wide bound on outstanding calls.
    _permit: OwnedSemaphorePermit,
}

impl Drop for PendingCall {
    /// A connection that goes away stops waiting for its backend.
    fn drop(&mut self) {
        self.call.abort();
    }
}

/// An authenticated player.
pub(crate) struct Authenticated {
    pub(crate) context: AuthContext,
    /// Data servers and plugins carry in the player's token.
    pub(crate) injected: Table,
    /// When the token the client holds expires (ms since the Unix epoch).
    pub(crate) token_expires_ms: i64,
    /// How the player proved who it is; carried into every token it is given.
    pub(crate) origin: Origin,
    /// The player's AuthOnce secret, carried into every token it is given.
    pub(crate) auth_once: Option<AuthOnceSecret>,
}

/// How and when a player last authenticated with the backend or anonymously (a token does not reset
/// it).
#[derive(Clone, Copy)]
pub(crate) struct Origin {
    pub(crate) anonymous: bool,
    pub(crate) authenticated_ms: i64,
    /// Admitted by a server token in this connection.
    pub(crate) via_token: bool,
}

impl AuthState {
    pub(crate) fn is_pending(&self) -> bool {
        matches!(self, AuthState::Pending(_))
    }

    /// Whether operations other than authentication may run.
    fn admits(&self) -> bool {
        matches!(self, AuthState::Unverified | AuthState::Authenticated(_))
    }

    pub(crate) fn context(&self) -> Option<&Authenticated> {
        match self {
            AuthState::Authenticated(authenticated) => Some(authenticated),
            _ => None,
        }
    }
}

/// The answer to an operation a client may not send before it authenticates, if `op` is one.
pub(crate) fn gate(conn: &Connection, op: u8) -> Option<OperationResponse> {
    let authenticating = matches!(op, op_code::AUTHENTICATE | op_code::AUTHENTICATE_ONCE);
    // A game server admits players by the token a master gave them, whatever it allows otherwise.
    let game_server = conn.shared.config.role == Role::Game;
    let open = conn.shared.config.auth.allow_anonymous && !game_server;
    if authenticating || open || conn.auth.admits() {
        return None;
    }
    let message = if game_server {
        "authenticate first with the server token matchmaking gave (operation 231)"
    } else {
        "authenticate first (operation 230, or 231 with a server token)"
    };
    Some(error(op, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, message.to_owned()))
}

/// Handles Authenticate or AuthenticateOnce.
pub(crate) fn handle(conn: &mut Connection, request: &OperationRequest, options: SendOptions) {
    let op = request.op_code;
    if let Some(refusal) = refusal(conn, request) {
        respond(conn, refusal, options);
        return;
    }
    let values = match AuthValues::from_request(request) {
        Ok(values) => values,
        Err(problem) => return respond(conn, error(op, return_code::INVALID_OPERATION, problem.to_string()), options),
    };
    // The secret would be readable by anyone on the path of a connection in clear.
    let auth_once = values.expected_protocol().is_some();
    if auth_once && !conn.session.is_encrypted() {
        let message = "an AuthOnce secret (parameter 195) is given only over WSS or an encrypted connection".to_owned();
        return respond(conn, error(op, return_code::INVALID_OPERATION, message), options);
    }
    if conn.shared.config.role == Role::Game && values.auth_type != AuthType::Token {
        let message = "this game server admits players with a server token from a master (operation 231)".to_owned();
        return respond(conn, error(op, return_code::INVALID_AUTHENTICATION, message), options);
    }
    match values.auth_type {
        AuthType::Token => {
            // A token bound to an AuthOnce secret travels readable in the first message of the AuthOnce
            // key exchange, so it admits only through that exchange, never alone.
            let opened = open_admissible(conn, values.token()).and_then(|claims| match claims.auth_once {
                None => Ok(claims),
                Some(_) => Err(InvalidToken),
            });
            match opened {
                Ok(claims) => {
                    let origin = Origin {
                        anonymous: claims.anonymous,
                        authenticated_ms: claims.authenticated_ms,
                        via_token: true,
                    };
                    let player = Player { context: claims.context, injected: claims.injected, origin };
                    admit(conn, player, auth_once, op, options)
                }
                Err(invalid) => {
                    AuthCounters::count(&conn.shared.auth_counters.token_refused);
                    tracing::info!(connection = conn.id, "server token refused");
                    respond(conn, error(op, return_code::AUTHENTICATION_TICKET_EXPIRED, invalid.to_string()), options)
                }
            }
        }
        AuthType::None if conn.shared.config.auth.allow_anonymous => match anonymous_user_id() {
            Some(user_id) => {
                let context = AuthContext { user_id, ..AuthContext::default() };
                let origin = Origin { anonymous: true, authenticated_ms: (conn.shared.clock)(), via_token: false };
                let player = Player { context, injected: Table::new(), origin };
                admit(conn, player, auth_once, op, options)
            }
            None => {
                let message = "the server could not create a user id; try again".to_owned();
                respond(conn, error(op, return_code::INTERNAL_SERVER_ERROR, message), options)
            }
        },
        AuthType::None => {
            let message = "anonymous players are not allowed on this server".to_owned();
            respond(conn, error(op, return_code::INVALID_AUTHENTICATION, message), options)
        }
        AuthType::Custom => start_call(conn, values, options, auth_once),
    }
}

/// Why an authentication cannot even start, if it cannot.
fn refusal(conn: &mut Connection, request: &OperationRequest) -> Option<OperationResponse> {
    let op = request.op_code;
    let not_now = |message: &str| Some(error(op, return_code::OPERATION_NOT_ALLOWED_IN_CURRENT_STATE, message.into()));
    if conn.session.protocol_version() < 2 {
        return not_now("authentication needs protocol version 2");
    }
    match conn.auth {
        AuthState::Authenticated(_) | AuthState::AwaitingProof(_) => return not_now("already authenticated"),
        AuthState::Pending(_) => return not_now("an authentication is already in progress"),
        AuthState::None | AuthState::Unverified => {}
    }
    let now = Instant::now();
    let own = conn.auth_limit.reserve(std::time::Duration::ZERO, now).is_some();
    if !own || conn.shared.auth_limiter.admit(conn.slot_source(), now).is_none() {
        AuthCounters::count(&conn.shared.auth_counters.rate_limited);
        tracing::info!(connection = conn.id, "authentication rate limited");
        let message = "too many authentication attempts; try again later".to_owned();
        return Some(error(op, return_code::HTTP_LIMIT_REACHED, message));
    }
    None
}

fn start_call(conn: &mut Connection, values: AuthValues, options: SendOptions, auth_once: bool) {
    const OP: u8 = op_code::AUTHENTICATE;
    let Some(provider) = conn.shared.auth_provider.clone() else {
        let message = "no authentication backend is configured on this server".to_owned();
        return respond(conn, error(OP, return_code::INVALID_AUTHENTICATION, message), options);
    };
    let Ok(permit) = conn.shared.auth_calls.clone().try_acquire_owned() else {
        AuthCounters::count(&conn.shared.auth_counters.unavailable);
        tracing::warn!(connection = conn.id, "too many authentication calls outstanding");
        return respond(conn, unavailable(), options);
    };
    let request = AuthRequest {
        app_id: conn.client.app_id.clone(),
        app_version: conn.client.app_version.clone(),
        connection_token: values.connection_token().to_vec(),
        user_id: values.user_id().map(str::to_owned),
        params: values.params().to_vec(),
        auth_data: values.auth_data().map(<[u8]>::to_vec),
        // An IPv4 client of a dual-stack listener as the backend knows it, a.b.c.d, not ::ffff:a.b.c.d.
        client_address: std::net::SocketAddr::new(conn.slot_address().ip().to_canonical(), conn.slot_address().port()),
    };
    tracing::debug!(connection = conn.id, provider = provider.name(), "authentication call started");
    // Any provider, an embedder's too, gets the webhook's budget (and a little for scheduling): the
    // client sends nothing while it waits.
    let budget = Duration::from_millis(conn.shared.config.auth.webhook.timeout_ms) + PROVIDER_GRACE;
    let answer = provider.authenticate(request);
    let call = tokio::spawn(async move {
        tokio::time::timeout(budget, answer).await.unwrap_or_else(|_| WebhookOutcome::Unavailable {
            detail: format!("the authentication provider did not answer within {} ms", budget.as_millis()),
            transient: true,
        })
    });
    conn.auth = AuthState::Pending(PendingCall { call, options, auth_once, _permit: permit });
}

/// Applies the provider's answer to the call [`start_call`] started.
pub(crate) fn complete(conn: &mut Connection, outcome: Result<WebhookOutcome, tokio::task::JoinError>) {
    const OP: u8 = op_code::AUTHENTICATE;
    let AuthState::Pending(pending) = std::mem::take(&mut conn.auth) else { return };
    let options = pending.options;
    let outcome = outcome.unwrap_or_else(|problem| WebhookOutcome::Unavailable {
        detail: format!("the authentication provider failed: {problem}"),
        transient: true,
    });
    match outcome {
        WebhookOutcome::Accepted(context) => {
            let origin = Origin { anonymous: false, authenticated_ms: (conn.shared.clock)(), via_token: false };
            let player = Player { context, injected: Table::new(), origin };
            admit(conn, player, pending.auth_once, OP, options)
        }
        WebhookOutcome::Rejected { message } => {
            AuthCounters::count(&conn.shared.auth_counters.rejected);
            tracing::info!(connection = conn.id, "authentication rejected by the backend");
            let message = message.filter(|m| !m.is_empty()).unwrap_or_else(|| "authentication failed".into());
            respond(conn, error(OP, return_code::CUSTOM_AUTHENTICATION_FAILED, message), options)
        }
        WebhookOutcome::Refused { logged_message } => {
            AuthCounters::count(&conn.shared.auth_counters.rejected);
            tracing::info!(connection = conn.id, backend_message = ?logged_message, "authentication refused by the backend");
            respond(conn, error(OP, return_code::CUSTOM_AUTHENTICATION_FAILED, "authentication failed".into()), options)
        }
        WebhookOutcome::Unavailable { detail, transient } => {
            AuthCounters::count(&conn.shared.auth_counters.unavailable);
            tracing::warn!(connection = conn.id, %detail, transient, "authentication backend unavailable");
            // Only an outage lets players in: a backend that answers wrongly may do so for inputs a
            // client chose.
            if conn.shared.config.auth.webhook.reject_if_unavailable || !transient {
                respond(conn, unavailable(), options)
            } else {
                conn.auth = AuthState::Unverified;
                conn.auth_deadline = None;
                let message = "authentication service unavailable: admitted without an identity".to_owned();
                let response = OperationResponse {
                    op_code: OP,
                    return_code: return_code::OK,
                    debug_message: Some(message),
                    params: Params::new(),
                };
                respond(conn, response, options)
            }
        }
    }
}

/// The claims of a token this server admits: valid here, not anonymous where anonymous players are
/// refused, and not a refresh chain older than re-authentication allows. Any failure is the one
/// [`InvalidToken`].
fn open_admissible(conn: &Connection, token: &[u8]) -> Result<TokenClaims, InvalidToken> {
    let now = (conn.shared.clock)();
    let auth = &conn.shared.config.auth;
    let max_age_ms = auth.reauthenticate_after_s as i64 * 1000;
    let claims = conn.shared.token_keys.open(token, &conn.client.app_id, now)?;
    let fresh = now.saturating_sub(claims.authenticated_ms) < max_age_ms;
    if fresh && (auth.allow_anonymous || !claims.anonymous) {
        Ok(claims)
    } else {
        Err(InvalidToken)
    }
}

/// Who a player is, as an authentication found it.
struct Player {
    context: AuthContext,
    injected: Table,
    origin: Origin,
}

/// Plugins see (and may refuse) a player about to be let in: the refusal's return code and message.
fn ask_plugins(
    conn: &Connection,
    context: &AuthContext,
    injected: &mut Table,
    via_token: bool,
) -> Option<(i16, String)> {
    let ctx = AuthenticatedContext { connection: conn.id, app_id: &conn.client.app_id, auth: context, via_token };
    for plugin in &conn.shared.plugins {
        if let Verdict::Reject { return_code, message } = plugin.on_authenticated(&ctx, injected) {
            tracing::info!(connection = conn.id, plugin = plugin.name(), "authentication refused by a plugin");
            return Some((return_code, message));
        }
    }
    None
}

/// Lets the player in: plugins see (and may refuse) it, and the client gets its token (and, when it
/// asked over WSS, its AuthOnce secret).
fn admit(conn: &mut Connection, mut player: Player, give_secret: bool, op: u8, options: SendOptions) {
    let via_token = player.origin.via_token;
    if let Some((return_code, message)) = ask_plugins(conn, &player.context, &mut player.injected, via_token) {
        return respond(conn, crate::ops::rejection(op, return_code, message), options);
    }
    let auth_once = match give_secret.then(AuthOnceSecret::generate) {
        None => None,
        Some(Some(fresh)) => Some(fresh),
        Some(None) => {
            tracing::error!(connection = conn.id, "the system random source failed: no AuthOnce secret");
            let message = "the server could not make an AuthOnce secret; try again".to_owned();
            return respond(conn, error(op, return_code::INTERNAL_SERVER_ERROR, message), options);
        }
    };
    let given_secret = auth_once.as_ref().map(|secret| secret.bytes().to_vec());
    let Player { context, injected, origin } = player;
    let mut authenticated = Box::new(Authenticated { context, injected, token_expires_ms: 0, origin, auth_once });
    let Some(token) = issue(conn, &mut authenticated) else {
        let message = "the server could not issue a token; see the server log".to_owned();
        return respond(conn, error(op, return_code::INTERNAL_SERVER_ERROR, message), options);
    };
    let mut params = Params::new();
    token.insert_into(&mut params);
    if let Some(secret) = given_secret {
        params.insert(PARAM_AUTH_ONCE_SECRET, secret);
    }
    params.insert(PARAM_USER_ID, authenticated.context.user_id.clone());
    params.insert(PARAM_NICKNAME, authenticated.context.nickname.clone());
    params.insert(PARAM_DATA, sealnet::protocol::codec::Value::Table(data_to_table(&authenticated.context.data)));
    AuthCounters::count(&conn.shared.auth_counters.authenticated);
    tracing::info!(connection = conn.id, user_id = %authenticated.context.user_id, via_token, "authenticated");
    conn.auth = AuthState::Authenticated(authenticated);
    conn.auth_deadline = None;
    let response = OperationResponse { op_code: op, return_code: return_code::OK, debug_message: None, params };
    respond(conn, response, options)
}

/// Seals a fresh token for the player and remembers when it expires.
fn issue(conn: &Connection, authenticated: &mut Authenticated) -> Option<ServerToken> {
    let now = (conn.shared.clock)();
    let lifetime_ms = conn.shared.config.auth.token_lifetime_s as i64 * 1000;
    let claims = TokenClaims {
        context: authenticated.context.clone(),
        app_id: conn.client.app_id.clone(),
        app_version: conn.client.app_version.clone(),
        issued_ms: now,
        expires_ms: now.saturating_add(lifetime_ms),
        injected: authenticated.injected.clone(),
        anonymous: authenticated.origin.anonymous,
        authenticated_ms: authenticated.origin.authenticated_ms,
        auth_once: authenticated.auth_once.clone(),
    };
    match conn.shared.token_keys.seal(&claims) {
        Ok(bytes) => {
            authenticated.token_expires_ms = claims.expires_ms;
            Some(ServerToken { bytes, expires_at_ms: claims.expires_ms })
        }
        Err(problem) => {
            tracing::warn!(connection = conn.id, %problem, "token not issued");
            None
        }
    }
}

/// A fresh token on JoinRoom (docs/auth.md §5.4), when the player is authenticated: in the response
/// when it goes encrypted. A plain response carries none, since a token never travels in clear: the
/// token follows it in an AuthEvent ([`refresh_after_plain_join`]).
pub(crate) fn refresh_for_join(conn: &mut Connection, params: &mut Params, options: SendOptions) {
    if !options.encrypt {
        return;
    }
    if let Some(token) = fresh_token(conn) {
        token.insert_into(params);
    }
}

/// After the response to a plain JoinRoom: the fresh token, encrypted, in an AuthEvent.
pub(crate) fn refresh_after_plain_join(conn: &mut Connection, options: SendOptions) {
    if let Some(token) = fresh_token(conn) {
        push(conn, &token, options);
    }
}

/// A new token for an authenticated player, remembered as the one the client holds.
pub(crate) fn fresh_token(conn: &mut Connection) -> Option<ServerToken> {
    let mut auth = std::mem::take(&mut conn.auth);
    let token = match &mut auth {
        AuthState::Authenticated(authenticated) => issue(conn, authenticated),
        _ => None,
    };
    conn.auth = auth;
    token
}

/// After a RaiseEvent: pushes a fresh token (AuthEvent) when less than a third of the client's is left.
pub(crate) fn refresh_while_playing(conn: &mut Connection, options: SendOptions) {
    // Every RaiseEvent passes here: unauthenticated players cost one check, not a clock read.
    let Some(expires_ms) = conn.auth.context().map(|a| a.token_expires_ms) else { return };
    let lifetime_ms = conn.shared.config.auth.token_lifetime_s as i64 * 1000;
    if expires_ms.saturating_sub((conn.shared.clock)()) < lifetime_ms / 3 {
        if let Some(token) = fresh_token(conn) {
            push(conn, &token, options);
        }
    }
}

/// Sends `token` in an AuthEvent, always encrypted (an authenticated client has keys).
fn push(conn: &mut Connection, token: &ServerToken, options: SendOptions) {
    let mut params = Params::new();
    token.insert_into(&mut params);
    let event = EventData { code: EVENT_AUTH, sender: 0, params };
    let options = SendOptions { encrypt: true, ..options };
    if let Err(problem) = conn.session.send_event(&event, options) {
        tracing::debug!(connection = conn.id, %problem, "token refresh not sent");
    }
}

/// A user id for an anonymous player: random, so two anonymous players never share one.
fn anonymous_user_id() -> Option<String> {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("the system random source failed: anonymous player refused");
        return None;
    }
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Some(format!("anonymous-{hex}"))
}

fn unavailable() -> OperationResponse {
    let message = "authentication service unavailable, try again".to_owned();
    error(op_code::AUTHENTICATE, return_code::EXTERNAL_HTTP_CALL_FAILED, message)
}

/// The AuthOnce key exchange (docs/auth.md §5.6): the token in the client's first handshake message
/// names the secret to mix in. Admitted as a token authentication would be, with the secret the token
/// carries; but anyone may have copied that message, so the player counts as authenticated only from
/// the client's first authenticated frame ([`confirm_auth_once`]), which only the secret's holder can
/// send.
pub(crate) fn auth_once(conn: &mut Connection, token: &[u8]) {
    // The first thing a connection does: not on top of another authentication or a room joined without.
    if conn.session.protocol_version() < 2 || !matches!(conn.auth, AuthState::None) || conn.membership.is_some() {
        let message = "an AuthOnce key exchange must come first on a connection of protocol version 2 or later";
        return refuse_key_exchange(conn, DisconnectReason::ProtocolViolation, message);
    }
    let opened = open_admissible(conn, token).and_then(|claims| match claims.auth_once {
        Some(_) => Ok(claims),
        None => Err(InvalidToken),
    });
    let claims = match opened {
        Ok(claims) => claims,
        Err(invalid) => {
            AuthCounters::count(&conn.shared.auth_counters.token_refused);
            tracing::info!(connection = conn.id, "AuthOnce token refused");
            let message = format!("{invalid} (AuthenticationTicketExpired, 32753)");
            return refuse_key_exchange(conn, DisconnectReason::TokenRefused, &message);
        }
    };
    let secret = claims.auth_once.expect("checked when opened");
    if let Err(problem) = conn.session.admit_auth_once(secret.bytes()) {
        tracing::warn!(connection = conn.id, %problem, "could not run the AuthOnce key exchange");
        return;
    }
    if conn.session.is_encrypted() {
        let origin = Origin { anonymous: claims.anonymous, authenticated_ms: claims.authenticated_ms, via_token: true };
        let (context, injected) = (claims.context, claims.injected);
        let pending =
            Authenticated { context, injected, token_expires_ms: claims.expires_ms, origin, auth_once: Some(secret) };
        conn.auth = AuthState::AwaitingProof(Box::new(pending));
    }
}

/// The client of an AuthOnce key exchange sent its first authenticated frame: it holds the secret, and
/// the player the token names is let in (plugins may still refuse it). Called before each operation is
/// handled; false when a plugin refused the player, so the operation must not run.
pub(crate) fn confirm_auth_once(conn: &mut Connection) -> bool {
    if !matches!(conn.auth, AuthState::AwaitingProof(_)) || !conn.session.peer_holds_keys() {
        return true;
    }
    let AuthState::AwaitingProof(mut authenticated) = std::mem::take(&mut conn.auth) else {
        unreachable!("checked above");
    };
    if let Some((_, message)) = ask_plugins(conn, &authenticated.context, &mut authenticated.injected, true) {
        conn.session.disconnect(DisconnectReason::ServerLogic, &message);
        return false;
    }
    AuthCounters::count(&conn.shared.auth_counters.authenticated);
    let user_id = &authenticated.context.user_id;
    tracing::info!(connection = conn.id, user_id = %user_id, "authenticated by AuthOnce key exchange");
    conn.auth = AuthState::Authenticated(authenticated);
    conn.auth_deadline = None;
    true
}

fn refuse_key_exchange(conn: &mut Connection, reason: DisconnectReason, message: &str) {
    if let Err(problem) = conn.session.refuse_key_exchange(reason, message) {
        tracing::warn!(connection = conn.id, %problem, "could not refuse the AuthOnce key exchange");
    }
}
