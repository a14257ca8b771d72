//! The login API games call: register, log in with a password, log in as a guest, log out.
//!
//! A successful login creates a session and answers with its id (22 characters, base64url) and its
//! expiry; the game puts the id's 16 raw bytes at the start of its connection token.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{decode, ApiError};
use super::AppState;
use crate::db::NewAccount;
use crate::player_data;

pub const MIN_USERNAME: usize = 3;
pub const MAX_USERNAME: usize = 32;
pub const MIN_PASSWORD: usize = 8;
/// Bounds the work one request can ask of argon2 (which hashes the whole password).
pub const MAX_PASSWORD: usize = 1024;
pub const MIN_DEVICE_ID: usize = 8;
pub const MAX_DEVICE_ID: usize = 128;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    username: String,
    password: String,
    display_name: Option<String>,
}

#[derive(Serialize)]
struct RegisterReply {
    player_id: i64,
    username: String,
    display_name: String,
    user_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuestRequest {
    device_id: String,
    /// Used when the device's guest is created; later logins keep the stored name.
    display_name: Option<String>,
    region: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoutRequest {
    session: String,
}

/// What every login answers with.
#[derive(Serialize)]
struct SessionReply {
    /// The session id, base64url without padding (22 characters).
    session: String,
    /// When the session stops being accepted, in milliseconds since the Unix epoch.
    expires_at_ms: i64,
    player_id: i64,
    /// The UserId the webhook will give game servers for this player.
    user_id: String,
    display_name: String,
    /// Guests only: whether this login created the guest.
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<bool>,
}

pub(super) async fn register(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Response, ApiError> {
    let request: RegisterRequest = decode(&body)?;
    let username = username(&request.username)?;
    check_password(&request.password)?;
    let display_name = match &request.display_name {
        Some(name) => player_data::display_name(name).map_err(ApiError::bad_request)?,
        None => request.username.clone(),
    };
    let hasher = state.hasher.clone();
    let password = request.password;
    let slot = password_slot(&state).await?;
    let password_hash = tokio::task::spawn_blocking(move || hasher.hash(&password))
        .await
        .map_err(|e| ApiError::internal("password hashing task", e))?
        .map_err(|e| ApiError::internal("password hashing", e))?;
    drop(slot);
    let account = NewAccount { username: &username, password_hash: &password_hash, display_name: &display_name };
    let Some(player_id) = state.store.create_account(&account, crate::clock::now_ms()).await? else {
        return Err(ApiError::new(StatusCode::CONFLICT, "username taken"));
    };
    tracing::info!(player_id, username, "registered account");
    let reply = RegisterReply { player_id, user_id: state.user_id(player_id), username, display_name };
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

pub(super) async fn login(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Json<impl Serialize>, ApiError> {
    let request: LoginRequest = decode(&body)?;
    let region = optional_region(request.region.as_deref())?;
    let refused = || ApiError::new(StatusCode::UNAUTHORIZED, "invalid username or password");
    // A malformed username is refused like a wrong password, so the answer never tells which usernames
    // could exist; the decoy verification below keeps the timing the same too.
    let account = match username(&request.username) {
        Ok(name) => state.store.account(&name).await?,
        Err(_) => None,
    };
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());
    let hasher = state.hasher.clone();
    let password = request.password;
    let slot = password_slot(&state).await?;
    let matched = tokio::task::spawn_blocking(move || hasher.verify(&password, stored.as_deref()))
        .await
        .map_err(|e| ApiError::internal("password verification task", e))?;
    drop(slot);
    let account = account.filter(|_| matched).ok_or_else(refused)?;
    if account.banned {
        tracing::info!(player_id = account.player_id, "refused login of a banned player");
        return Err(ApiError::new(StatusCode::FORBIDDEN, "this account cannot log in"));
    }
    let reply = new_session(&state, account.player_id, account.display_name, region, None).await?;
    Ok(Json(reply))
}

pub(super) async fn guest(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Json<impl Serialize>, ApiError> {
    let request: GuestRequest = decode(&body)?;
    let region = optional_region(request.region.as_deref())?;
    let device_hash = device_hash(&request.device_id)?;
    let display_name = match &request.display_name {
        Some(name) => player_data::display_name(name).map_err(ApiError::bad_request)?,
        None => format!("Guest-{}", device_hash[..6].to_ascii_uppercase()),
    };
    let guest = state.store.guest(&device_hash, &display_name, crate::clock::now_ms()).await?;
    if guest.banned {
        tracing::info!(player_id = guest.player_id, "refused guest login of a banned player");
        return Err(ApiError::new(StatusCode::FORBIDDEN, "this account cannot log in"));
    }
    if guest.created {
        tracing::info!(player_id = guest.player_id, "created guest player");
    }
    let reply = new_session(&state, guest.player_id, guest.display_name, region, Some(guest.created)).await?;
    Ok(Json(reply))
}

pub(super) async fn logout(State(state): State<Arc<AppState>>, body: Bytes) -> Result<StatusCode, ApiError> {
    let request: LogoutRequest = decode(&body)?;
    let id = crate::session_id::SessionId::decode(&request.session)
        .ok_or_else(|| ApiError::bad_request("session is not a session id (22 characters of base64url)"))?;
    // Ending a session that is already gone is not an error: logout is idempotent.
    state.store.delete_session(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A turn at argon2 (see [`AppState::password_slots`]); held until the hash is done.
async fn password_slot(state: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    state.password_slots.acquire().await.map_err(|e| ApiError::internal("password slots", e))
}

async fn new_session(
    state: &AppState,
    player_id: i64,
    display_name: String,
    region: Option<String>,
    created: Option<bool>,
) -> Result<SessionReply, ApiError> {
    let now = crate::clock::now_ms();
    let session = state.store.create_session(player_id, region.as_deref(), now, state.ttl_ms).await?;
    tracing::debug!(player_id, session = %session.id.short(), "created session");
    Ok(SessionReply {
        session: session.id.encode(),
        expires_at_ms: session.expires_at_ms,
        player_id,
        user_id: state.user_id(player_id),
        display_name,
        created,
    })
}

/// 3 to 32 characters: a letter, then letters, digits, `_`, `.` or `-`; compared in lower case.
fn username(text: &str) -> Result<String, ApiError> {
    let bytes = text.as_bytes();
    let valid = (MIN_USERNAME..=MAX_USERNAME).contains(&bytes.len())
        && bytes[0].is_ascii_alphabetic()
        && bytes.iter().all(|&c| c.is_ascii_alphanumeric() || b"_.-".contains(&c));
    if !valid {
        return Err(ApiError::bad_request(format!(
            "username must be {MIN_USERNAME} to {MAX_USERNAME} characters: a letter, then letters, digits, '_', '.' or '-'"
        )));
    }
    Ok(text.to_ascii_lowercase())
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "password must be at least {MIN_PASSWORD} characters and at most {MAX_PASSWORD} bytes"
        )));
    }
    Ok(())
}

fn optional_region(region: Option<&str>) -> Result<Option<String>, ApiError> {
    region.map(player_data::region).transpose().map_err(ApiError::bad_request)
}

/// The stored form of a device id: its SHA-256 in hex, so the database never holds a value that logs
/// in as the guest.
fn device_hash(device_id: &str) -> Result<String, ApiError> {
    if !(MIN_DEVICE_ID..=MAX_DEVICE_ID).contains(&device_id.len()) || device_id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "device_id must be {MIN_DEVICE_ID} to {MAX_DEVICE_ID} bytes without control characters"
        )));
    }
    let mut hash = Sha256::new();
    hash.update(b"sealnet-backend device id v1\0");
    hash.update(device_id.as_bytes());
    Ok(crate::hex::encode(&hash.finalize()))
}
