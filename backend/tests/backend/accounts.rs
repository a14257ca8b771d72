//! The login API: registration, password and guest logins, logout, the health check.

use serde_json::json;

use crate::common::{each_database, session_of, NAMESPACE};
use sealnet_backend::clock::now_ms;
use sealnet_backend::user_id;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_then_log_in() {
    each_database(async |h| {
        let registered = h.register("Ada", "correct horse battery").await;
        assert_eq!(registered["username"], "ada", "usernames are kept in lower case");
        assert_eq!(registered["display_name"], "Ada", "the display name defaults to the name as typed");
        let player_id = registered["player_id"].as_i64().unwrap();
        assert_eq!(registered["user_id"], user_id::derive(NAMESPACE, player_id));

        let before = now_ms();
        let login = h.login("ADA", "correct horse battery").await;
        assert_eq!(login["player_id"], player_id);
        assert_eq!(login["user_id"], registered["user_id"]);
        assert_eq!(login["display_name"], "Ada");
        session_of(&login);
        let expires = login["expires_at_ms"].as_i64().unwrap();
        let ttl = 30 * 60_000;
        assert!((before + ttl..=now_ms() + ttl).contains(&expires), "the default TTL is 30 minutes");

        let again = h.login("ada", "correct horse battery").await;
        assert_ne!(again["session"], login["session"], "every login gets a fresh session");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refusals() {
    each_database(async |h| {
        h.register("grace", "a long enough password").await;
        let taken = h.post("/register", json!({ "username": "Grace", "password": "another password" })).await;
        assert_eq!(taken.status, 409, "{}", taken.text());
        assert_eq!(taken.json()["error"], "username taken");

        for (username, password) in
            [("ab", "long enough pw"), ("1abc", "long enough pw"), ("a b c", "long enough pw"), ("valid", "short")]
        {
            let reply = h.post("/register", json!({ "username": username, "password": password })).await;
            assert_eq!(reply.status, 400, "{username:?}/{password:?}: {}", reply.text());
            assert!(reply.json()["error"].is_string());
        }
        for body in [json!({ "username": "x" }), json!({ "username": "abc", "password": "long enough", "extra": 1 })] {
            let reply = h.post("/register", body).await;
            assert_eq!(reply.status, 400, "{}", reply.text());
        }
        let named = h
            .post("/register", json!({ "username": "hopper", "password": "long enough pw", "display_name": "Admiral" }))
            .await;
        assert_eq!(named.status, 201);
        assert_eq!(named.json()["display_name"], "Admiral");
        let bad_name = h
            .post("/register", json!({ "username": "hopper2", "password": "long enough pw", "display_name": "" }))
            .await;
        assert_eq!(bad_name.status, 400);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_and_unknown_users_look_alike() {
    each_database(async |h| {
        h.register("turing", "the right password").await;
        let wrong = h.post("/login", json!({ "username": "turing", "password": "the wrong password" })).await;
        let unknown = h.post("/login", json!({ "username": "nobody", "password": "the right password" })).await;
        let malformed = h.post("/login", json!({ "username": "!!", "password": "the right password" })).await;
        for reply in [&wrong, &unknown, &malformed] {
            assert_eq!(reply.status, 401, "{}", reply.text());
            assert_eq!(reply.json()["error"], "invalid username or password");
        }
        let region = h
            .post("/login", json!({ "username": "turing", "password": "the right password", "region": "no spaces" }))
            .await;
        assert_eq!(region.status, 400);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_device_is_its_own_guest() {
    each_database(async |h| {
        let first = h.guest("device-aaaa-0001").await;
        assert_eq!(first["created"], true);
        assert!(first["display_name"].as_str().unwrap().starts_with("Guest-"));
        let again = h.guest("device-aaaa-0001").await;
        assert_eq!(again["created"], false);
        assert_eq!(again["player_id"], first["player_id"], "the same device is the same guest");
        assert_eq!(again["user_id"], first["user_id"]);
        assert_ne!(again["session"], first["session"]);

        let other = h.guest("device-bbbb-0002").await;
        assert_ne!(other["player_id"], first["player_id"]);
        assert_ne!(other["user_id"], first["user_id"], "guests get distinct user ids");

        let named = h
            .post("/guest", json!({ "device_id": "device-cccc-0003", "display_name": "Speedy", "region": "eu" }))
            .await;
        assert_eq!(named.status, 200);
        assert_eq!(named.json()["display_name"], "Speedy");
        for device in ["short", &"d".repeat(129), "tab\there"] {
            let reply = h.post("/guest", json!({ "device_id": device })).await;
            assert_eq!(reply.status, 400, "{device:?}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session() {
    each_database(async |h| {
        let login = h.guest("device-logout-01").await;
        let session = session_of(&login);
        crate::common::accepted(&h.auth_session(&session).await);
        let reply = h.post("/logout", json!({ "session": login["session"] })).await;
        assert_eq!(reply.status, 204);
        let after = h.auth_session(&session).await.json();
        assert_eq!(after["ResultCode"], 2);
        assert_eq!(h.post("/logout", json!({ "session": login["session"] })).await.status, 204, "idempotent");
        assert_eq!(h.post("/logout", json!({ "session": "not-a-session" })).await.status, 400);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_unknown_routes() {
    each_database(async |h| {
        let mut conn = h.connect().await;
        let health = conn.send(hyper::Method::GET, "/health", &[], Vec::new()).await.unwrap();
        assert_eq!(health.status, 200);
        let missing = conn.send(hyper::Method::GET, "/nothing", &[], Vec::new()).await.unwrap();
        assert_eq!(missing.status, 404);
        let too_big =
            conn.post_json("/login", &json!({ "username": "x".repeat(70_000), "password": "p" })).await.unwrap();
        assert_eq!(too_big.status, 413);
    })
    .await;
}
