//! The webhook (docs/auth.md §2–§3): who a connection token's player is, and every way to be refused.

use sealnet_backend::client::{connection_token, webhook_body};
use sealnet_backend::clock::{now_ms, now_s};
use sealnet_backend::http::{EXPIRED_MESSAGE, INVALID_TOKEN_MESSAGE, REFUSED_MESSAGE};
use sealnet_backend::session_id::SessionId;
use sealnet_backend::signature::{Signer, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use sealnet_backend::user_id;
use serde_json::json;

use crate::common::{accepted, each_database, session_of, Harness, NAMESPACE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_authenticates_its_player() {
    each_database(async |h| {
        let (player_id, session) = h.player_with_session("lovelace").await;
        let json = accepted(&h.auth_session(&session).await);
        assert_eq!(json["UserId"], user_id::derive(NAMESPACE, player_id));
        assert_eq!(json["Nickname"], "lovelace");
        assert_eq!(json["Data"], json!({ "level": 1, "cosmetics": "", "flags": 0, "region": "" }));
        assert!(json.get("Message").is_none(), "{json}");

        // The same player through another session, even with no flags after the id: the same UserId.
        let other = session_of(&h.login("lovelace", "a long enough password").await);
        let again = accepted(&h.auth_token(other.as_bytes()).await);
        assert_eq!(again["UserId"], json["UserId"]);
        // A token of the maximum size is read the same way: only its first 16 bytes matter.
        let long = accepted(&h.auth_token(&connection_token(&other, &[0xee; 112])).await);
        assert_eq!(long["UserId"], json["UserId"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_is_flat_and_follows_the_player() {
    each_database(async |h| {
        let (player_id, session) = h.player_with_session("hamilton").await;
        h.admin_ok(&[
            "set-data",
            &player_id.to_string(),
            "display_name=Margaret H.",
            "level=42",
            "cosmetics=hat:red,cape:blue",
            "flags=5",
            "region=us-east",
        ])
        .await;
        let json = accepted(&h.auth_session(&session).await);
        assert_eq!(json["Nickname"], "Margaret H.");
        assert_eq!(
            json["Data"],
            json!({ "level": 42, "cosmetics": "hat:red,cape:blue", "flags": 5, "region": "us-east" })
        );
        let data = json["Data"].as_object().unwrap();
        assert!(data.values().all(|v| !v.is_object() && !v.is_array() && !v.is_null()), "scalars only");

        // A login that names a region puts it in its session's Data; the home region stays for others.
        let reply = h
            .post("/login", json!({ "username": "hamilton", "password": "a long enough password", "region": "eu" }))
            .await;
        let eu = session_of(&reply.json());
        assert_eq!(accepted(&h.auth_session(&eu).await)["Data"]["region"], "eu");
        assert_eq!(accepted(&h.auth_session(&session).await)["Data"]["region"], "us-east");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_unknown_sessions_are_rejected_with_a_message() {
    each_database(async |h| {
        let (player_id, _) = h.player_with_session("noether").await;
        // A session whose 30 minutes ended a minute ago: made in the past rather than waited for.
        let now = now_ms();
        let expired = h.backend.store().create_session(player_id, None, now - 31 * 60_000, 30 * 60_000).await.unwrap();
        let unknown = SessionId::generate().unwrap();
        for session in [expired.id, unknown] {
            let reply = h.auth_session(&session).await;
            assert_eq!(reply.status, 200);
            let json = reply.json();
            assert_eq!(json, json!({ "ResultCode": 2, "Message": EXPIRED_MESSAGE }));
        }
        assert_eq!(EXPIRED_MESSAGE, "Session expired, please log in again");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn banned_players_get_a_generic_refusal() {
    each_database(async |h| {
        let (_, session) = h.player_with_session("mallory").await;
        let reason = "aimbot confirmed in review #4711";
        let out = h.admin_ok(&["ban", "mallory", "--reason", reason]).await;
        assert!(out.contains("banned player"), "{out}");

        let reply = h.auth_session(&session).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!({ "ResultCode": 3, "Message": REFUSED_MESSAGE }));
        let text = reply.text();
        assert!(!text.contains("aimbot") && !text.contains("4711"), "the reason never leaves the backend: {text}");
        assert!(!text.contains("ban"), "{text}");

        let login = h.post("/login", json!({ "username": "mallory", "password": "a long enough password" })).await;
        assert_eq!(login.status, 403);
        assert!(!login.text().contains("aimbot"));

        h.admin_ok(&["unban", "mallory"]).await;
        accepted(&h.auth_session(&session).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_shorter_than_a_session_id_are_rejected() {
    each_database(async |h| {
        let (_, session) = h.player_with_session("shortie").await;
        for token in [&session.as_bytes()[..15], &[][..]] {
            let reply = h.auth_token(token).await;
            assert_eq!(reply.status, 200);
            assert_eq!(
                reply.json(),
                json!({ "ResultCode": 2, "Message": INVALID_TOKEN_MESSAGE }),
                "{} bytes",
                token.len()
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_bad_requests() {
    each_database(async |h| {
        let not_base64 =
            json!({ "AppId": "a", "AppVersion": "1", "ConnectionToken": "%%%", "ClientAddress": "1.2.3.4:5" });
        let missing_token = json!({ "AppId": "a", "AppVersion": "1", "ClientAddress": "1.2.3.4:5" });
        let wrong_type = json!({ "AppId": 7, "AppVersion": "1", "ConnectionToken": "", "ClientAddress": "1.2.3.4:5" });
        let bodies: Vec<Vec<u8>> = vec![
            b"not json".to_vec(),
            b"".to_vec(),
            b"[]".to_vec(),
            b"{}".to_vec(),
            serde_json::to_vec(&not_base64).unwrap(),
            serde_json::to_vec(&missing_token).unwrap(),
            serde_json::to_vec(&wrong_type).unwrap(),
        ];
        for body in bodies {
            let reply = h.auth_body(&body).await;
            assert_eq!(reply.status, 400, "{:?}: {}", String::from_utf8_lossy(&body), reply.text());
        }
    })
    .await;
}

/// Sends `body` to /auth with exactly these headers.
async fn raw(h: &Harness, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let mut conn = h.connect().await;
    conn.send(hyper::Method::POST, "/auth", headers, body.to_vec()).await.unwrap().status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_misigned_and_stale_calls_are_401() {
    each_database(async |h| {
        let (_, session) = h.player_with_session("eve").await;
        let body = webhook_body("test-app", session.as_bytes());
        let now = now_s().to_string();
        let good = h.signer.sign(&now, &body);
        assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &now), (SIGNATURE_HEADER, &good)], &body).await, 200, "control");

        // A missing header, either or both.
        assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &now)], &body).await, 401);
        assert_eq!(raw(h, &[(SIGNATURE_HEADER, &good)], &body).await, 401);
        assert_eq!(raw(h, &[], &body).await, 401);
        // Bad signatures: another secret, another body, a malformed value, a repeated header.
        let forged = Signer::new(b"not the secret, though long enough").sign(&now, &body);
        assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &now), (SIGNATURE_HEADER, &forged)], &body).await, 401);
        let mut altered = body.clone();
        altered[2] ^= 1;
        assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &now), (SIGNATURE_HEADER, &good)], &altered).await, 401);
        for bad in [&good[3..], &good[..good.len() - 1], "v1=", "v2=00"] {
            assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &now), (SIGNATURE_HEADER, bad)], &body).await, 401, "{bad}");
        }
        let twice =
            [(TIMESTAMP_HEADER, now.as_str()), (SIGNATURE_HEADER, good.as_str()), (SIGNATURE_HEADER, good.as_str())];
        assert_eq!(raw(h, &twice, &body).await, 401);
        // A signature over a different timestamp than the header's.
        let other_time = (now.parse::<i64>().unwrap() - 1).to_string();
        let shifted = h.signer.sign(&other_time, &body);
        assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &now), (SIGNATURE_HEADER, &shifted)], &body).await, 401);
        // Stale and future timestamps, correctly signed; and one inside the window.
        for skew in [-120, 120, -3600] {
            let ts = (now_s() + skew).to_string();
            let sig = h.signer.sign(&ts, &body);
            assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &ts), (SIGNATURE_HEADER, &sig)], &body).await, 401, "{skew} s");
        }
        let recent = (now_s() - 30).to_string();
        let sig = h.signer.sign(&recent, &body);
        assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &recent), (SIGNATURE_HEADER, &sig)], &body).await, 200);
        // Not a decimal integer, even when signed as such.
        for ts in ["abc", "-5", "1e9"] {
            let sig = h.signer.sign(ts, &body);
            assert_eq!(raw(h, &[(TIMESTAMP_HEADER, ts), (SIGNATURE_HEADER, &sig)], &body).await, 401, "{ts}");
        }
        // The signature is checked before the body is read: an unsigned malformed body is 401, not 400.
        assert_eq!(raw(h, &[(TIMESTAMP_HEADER, &now)], b"not json").await, 401);
    })
    .await;
}
