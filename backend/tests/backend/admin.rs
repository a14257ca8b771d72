//! The binary: admin subcommands, `gen-secret`, and `serve` as a script starts it.

use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use sealnet_backend::client::{webhook_body, Connection};
use sealnet_backend::http::{self, StartError};
use sealnet_backend::secret::SecretError;
use sealnet_backend::signature::Signer;
use sealnet_backend::user_id;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::{accepted, each_database, kinds, session_of, test_config, write_secret, TestDatabase, SECRET};

const BINARY: &str = env!("CARGO_BIN_EXE_sealnet-backend");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_lists_the_valid_sessions() {
    each_database(async |h| {
        let empty = h.admin_ok(&["sessions"]).await;
        assert!(empty.trim_end().ends_with("0 sessions"), "{empty}");

        let (ada, ada_session) = h.player_with_session("ada").await;
        let guest = h.guest("device-listing-1").await;
        let guest_session = session_of(&guest);
        let all = h.admin_ok(&["sessions"]).await;
        assert!(all.trim_end().ends_with("2 sessions"), "{all}");
        assert!(all.contains(&format!("{}…", ada_session.short())), "{all}");
        assert!(all.contains(&format!("{}…", guest_session.short())), "{all}");
        assert!(all.contains(&ada.to_string()) && all.contains(" ada "), "{all}");
        assert!(all.contains("(guest)"), "{all}");
        assert!(!all.contains(&ada_session.encode()), "whole session ids are credentials and never listed");

        let only = h.admin_ok(&["sessions", "--player", "ada"]).await;
        assert!(only.trim_end().ends_with("1 session"), "{only}");
        let by_id = h.admin_ok(&["sessions", "--player", &guest["player_id"].to_string()]).await;
        assert!(by_id.contains(&guest_session.short()) && !by_id.contains(&ada_session.short()), "{by_id}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_name_players_by_id_or_username() {
    each_database(async |h| {
        let guest = h.guest("device-admin-0001").await;
        let id = guest["player_id"].to_string();
        let session = session_of(&guest);
        let out = h.admin_ok(&["ban", &id]).await;
        assert!(out.contains(&id) && out.contains("guest"), "{out}");
        assert_eq!(h.auth_session(&session).await.json()["ResultCode"], 3);
        let out = h.admin_ok(&["unban", &id]).await;
        assert!(out.starts_with("unbanned"), "{out}");
        let out = h.admin_ok(&["unban", &id]).await;
        assert!(out.contains("was not banned"), "{out}");
        accepted(&h.auth_session(&session).await);

        for args in [
            &["ban", "nobody"][..],
            &["unban", "123"],
            &["set-data", "nobody", "level=2"],
            &["sessions", "--player", "nobody"],
        ] {
            let output = h.admin(args).await;
            assert!(!output.status.success(), "{args:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.contains("no such player"), "{args:?}: {stderr}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_data_is_all_or_nothing() {
    each_database(async |h| {
        let (player_id, session) = h.player_with_session("knuth").await;
        let out = h.admin_ok(&["set-data", "knuth", "level=7", "flags=0x3"]).await;
        assert!(out.contains(r#""level":7"#) && out.contains(r#""flags":3"#), "{out}");
        for bad in [
            &["set-data", "knuth", "level=8", "colour=red"][..],
            &["set-data", "knuth", "level=8", "level=-1"],
            &["set-data", "knuth", "noequals"],
        ] {
            let output = h.admin(bad).await;
            assert!(!output.status.success(), "{bad:?}");
        }
        let output = h.admin(&["set-data", "knuth"]).await;
        assert!(!output.status.success(), "at least one key=value is required");
        let json = accepted(&h.auth_session(&session).await);
        assert_eq!(json["Data"]["level"], 7, "the refused commands changed nothing");
        assert_eq!(json["Data"]["flags"], 3);
        assert_eq!(json["UserId"], user_id::derive(crate::common::NAMESPACE, player_id));
    })
    .await;
}

#[tokio::test]
async fn gen_secret_writes_a_private_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("webhook.secret");
    let output = tokio::process::Command::new(BINARY).arg("gen-secret").arg(&path).output().await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.len(), 65);
    assert!(text[..64].bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) && text.ends_with('\n'));
    let output = tokio::process::Command::new(BINARY).arg("gen-secret").arg(&path).output().await.unwrap();
    assert!(!output.status.success(), "an existing secret is never replaced");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_secrets_that_are_shared_short_or_missing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("db").display());
    let shared = write_secret(dir.path(), "shared.secret", SECRET, 0o640);
    match http::start(&test_config(&url, &shared)).await {
        Err(StartError::Secret(SecretError::Permissions { mode: 0o640, .. })) => {}
        other => panic!("a group-readable secret was not refused: {:?}", other.err()),
    }
    let short = write_secret(dir.path(), "short.secret", "too short", 0o600);
    assert!(matches!(
        http::start(&test_config(&url, &short)).await,
        Err(StartError::Secret(SecretError::TooShort { .. }))
    ));
    let mut config = test_config(&url, &short);
    config.secret_file = None;
    assert!(matches!(http::start(&config).await, Err(StartError::NoSecretFile)));

    // The binary says why, and does not start.
    let output = tokio::process::Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url, "--secret-file"])
        .arg(&shared)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mode 0640") && stderr.contains("chmod 600"), "{stderr}");
    assert!(output.stdout.is_empty(), "it never printed a listening line");
}

/// `serve` as scripts run it: a config file, port 0, the address read from its first line, then
/// SIGTERM. It uses the default password cost, so one test covers the cost deployments get.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_its_address_and_stops_on_sigterm() {
    for kind in kinds() {
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::create(kind, dir.path()).await;
        let secret = write_secret(dir.path(), "webhook.secret", SECRET, 0o600);
        let config = dir.path().join("backend.toml");
        let toml = format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"{}\"\nsecret_file = \"{}\"\nnamespace = \"from-config\"\nsession_ttl_minutes = 15\n",
            database.url,
            secret.display()
        );
        std::fs::write(&config, toml).unwrap();
        let mut child = tokio::process::Command::new(BINARY)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("SEALNET_BACKEND_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Read the log as it comes, so a full pipe can never stall the server.
        let mut stderr = child.stderr.take().unwrap();
        let log = tokio::spawn(async move {
            let mut text = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text).await.map(|_| text)
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
        let addr = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let addr: std::net::SocketAddr = addr.parse().unwrap();
        assert!(addr.ip().is_loopback() && addr.port() != 0);

        let mut conn = Connection::open(addr).await.unwrap();
        let account = json!({ "username": "config", "password": "a long enough password" });
        assert_eq!(conn.post_json("/register", &account).await.unwrap().status, 201);
        let login = conn.post_json("/login", &account).await.unwrap().json();
        let expires_in = login["expires_at_ms"].as_i64().unwrap() - sealnet_backend::clock::now_ms();
        assert!((14 * 60_000..=15 * 60_000).contains(&expires_in), "the TTL comes from the file: {expires_in}");
        let session = session_of(&login);
        let signer = Signer::new(SECRET.as_bytes());
        let reply = conn
            .webhook(&signer, sealnet_backend::clock::now_s(), &webhook_body("app", session.as_bytes()))
            .await
            .unwrap();
        let json = accepted(&reply);
        assert_eq!(json["UserId"], user_id::derive("from-config", login["player_id"].as_i64().unwrap()));

        // A ban's reason reaches the backend's log and nothing else.
        let reason = "wallhack reported by three players";
        let ban = tokio::process::Command::new(BINARY)
            .args(["--database-url", &database.url, "ban", "config", "--reason", reason])
            .output()
            .await
            .unwrap();
        assert!(ban.status.success(), "{}", String::from_utf8_lossy(&ban.stderr));
        let reply = conn
            .webhook(&signer, sealnet_backend::clock::now_s(), &webhook_body("app", session.as_bytes()))
            .await
            .unwrap();
        assert_eq!(reply.json()["ResultCode"], 3);
        assert!(!reply.text().contains("wallhack"));
        drop(conn);

        let pid = child.id().unwrap().to_string();
        let killed = tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
        assert!(status.success(), "a clean exit on SIGTERM: {status}");
        let log = log.await.unwrap().unwrap();
        assert!(log.contains("refused a banned player") && log.contains(reason), "{log}");
        assert!(!log.contains(&session.encode()), "whole session ids are never logged");
        database.drop_database().await;
    }
}
