//! The custom-auth webhook (docs/auth.md §2–§3): the sealnet server asks who a connection token's
//! player is.
//!
//! Order of work: the signature and timestamp first (nothing is parsed from an unsigned body), then
//! the JSON, then the connection token's first 16 bytes as a session id, then one indexed lookup.
//! Refusals of the caller are HTTP statuses (401 unsigned, 400 malformed); refusals of the *player*
//! are HTTP 200 with ResultCode 2 or 3, which the server turns into the client's error.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::error::{decode, ApiError};
use super::AppState;
use crate::player_data::AuthData;
use crate::session_id::SessionId;
use crate::signature::{Refusal, SignatureHeaders, SIGNATURE_HEADER, TIMESTAMP_HEADER};

/// Shown to the player for an unknown or expired session (ResultCode 2).
pub const EXPIRED_MESSAGE: &str = "Session expired, please log in again";
/// Shown to the player for a token too short to hold a session id (ResultCode 2).
pub const INVALID_TOKEN_MESSAGE: &str = "Invalid connection token, please log in again";
/// The only thing a banned player's reply says (ResultCode 3); the reason stays in this backend's log.
pub const REFUSED_MESSAGE: &str = "authentication failed";

pub const RESULT_OK: u8 = 0;
pub const RESULT_REJECTED: u8 = 2;
pub const RESULT_REFUSED: u8 = 3;

/// The fields of docs/auth.md §2 this backend uses. The others (`AuthParams`, `AuthData`, `Static`,
/// a client's `UserId` hint) are allowed and ignored: identity comes from the session alone.
#[derive(Deserialize)]
struct WebhookRequest {
    #[serde(rename = "AppId")]
    app_id: String,
    #[serde(rename = "AppVersion")]
    app_version: String,
    #[serde(rename = "ConnectionToken")]
    connection_token: String,
    #[serde(rename = "ClientAddress")]
    client_address: String,
}

#[derive(Serialize, Default)]
struct WebhookReply<'a> {
    #[serde(rename = "ResultCode")]
    result_code: u8,
    #[serde(rename = "UserId", skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(rename = "Nickname", skip_serializing_if = "Option::is_none")]
    nickname: Option<&'a str>,
    #[serde(rename = "Data", skip_serializing_if = "Option::is_none")]
    data: Option<AuthData<'a>>,
    #[serde(rename = "Message", skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

fn rejection(result_code: u8, message: &'static str) -> Response {
    Json(WebhookReply { result_code, message: Some(message), ..WebhookReply::default() }).into_response()
}

pub(super) async fn authenticate(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refusal) = check_signature(&state, &headers, &body) {
        tracing::warn!(reason = %refusal, "refused an unauthenticated webhook call");
        return ApiError::new(StatusCode::UNAUTHORIZED, refusal.to_string()).into_response();
    }
    match answer(&state, &body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn check_signature(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let single = |name: &str| -> Result<Option<&[u8]>, Refusal> {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(value), None) => Ok(Some(value.as_bytes())),
            (Some(_), Some(_)) => Err(Refusal::DuplicateHeader),
        }
    };
    let signed = SignatureHeaders { timestamp: single(TIMESTAMP_HEADER)?, signature: single(SIGNATURE_HEADER)? };
    state.signer.verify(&signed, body, crate::clock::now_s())
}

async fn answer(state: &AppState, body: &[u8]) -> Result<Response, ApiError> {
    let request: WebhookRequest = decode(body)?;
    let token = STANDARD
        .decode(&request.connection_token)
        .map_err(|_| ApiError::bad_request("ConnectionToken is not standard base64"))?;
    // For the log only: who asked, on behalf of which client.
    let (app_id, client) = (request.app_id.as_str(), request.client_address.as_str());
    let Some(id) = SessionId::from_token(&token) else {
        tracing::debug!(app_id, client, len = token.len(), "connection token shorter than a session id");
        return Ok(rejection(RESULT_REJECTED, INVALID_TOKEN_MESSAGE));
    };
    let Some(session) = state.store.lookup_session(&id).await? else {
        tracing::debug!(app_id, client, session = %id.short(), "unknown session");
        return Ok(rejection(RESULT_REJECTED, EXPIRED_MESSAGE));
    };
    let player_id = session.player_id;
    // A ban outranks an expiry: a banned player is not told to log in again.
    if session.banned {
        let reason = session.ban_reason.as_deref().unwrap_or("(no reason given)");
        tracing::info!(player_id, reason, app_id, client, "refused a banned player");
        return Ok(rejection(RESULT_REFUSED, REFUSED_MESSAGE));
    }
    if session.expires_at_ms <= crate::clock::now_ms() {
        tracing::debug!(player_id, session = %id.short(), "expired session");
        return Ok(rejection(RESULT_REJECTED, EXPIRED_MESSAGE));
    }
    tracing::debug!(player_id, app_id, app_version = request.app_version, client, "authenticated");
    let reply = WebhookReply {
        result_code: RESULT_OK,
        user_id: Some(state.user_id(player_id)),
        nickname: Some(&session.data.display_name),
        data: Some(session.data.data(session.session_region.as_deref())),
        message: None,
    };
    Ok(Json(reply).into_response())
}
