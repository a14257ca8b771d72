//! The test harness: a fresh database and backend per test and database kind, and helpers that act
//! as a game (logins) and as a sealnet server (signed webhook calls).

use std::path::{Path, PathBuf};
use std::process::Output;

use sealnet_backend::client::{self, Connection, Reply};
use sealnet_backend::config::Config;
use sealnet_backend::http::{self, RunningBackend};
use sealnet_backend::password::PasswordCost;
use sealnet_backend::session_id::SessionId;
use sealnet_backend::signature::Signer;
use serde_json::{json, Value};
use sqlx::{Connection as _, Executor as _};

pub const NAMESPACE: &str = "test-namespace";
pub const POSTGRES_ENV: &str = "SEALNET_TEST_POSTGRES_URL";
/// Set (to anything but empty) to skip SQLite, when a run only adds PostgreSQL to an earlier one.
pub const SKIP_SQLITE_ENV: &str = "SEALNET_TEST_SKIP_SQLITE";

/// The secret the harness's backends trust.
pub const SECRET: &str = "a webhook secret used only by these tests, 48 bytes";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// SQLite (unless skipped), and PostgreSQL when a server is given.
pub fn kinds() -> Vec<Kind> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    let mut kinds = Vec::new();
    if !set(SKIP_SQLITE_ENV) {
        kinds.push(Kind::Sqlite);
    }
    if set(POSTGRES_ENV) {
        kinds.push(Kind::Postgres);
    }
    assert!(!kinds.is_empty(), "{SKIP_SQLITE_ENV} is set but {POSTGRES_ENV} is not: no database to test");
    kinds
}

/// Runs `test` against a fresh backend on each database kind in turn.
pub async fn each_database(test: impl AsyncFn(&Harness)) {
    for kind in kinds() {
        let harness = Harness::start(kind).await;
        eprintln!("-- on {kind:?}");
        test(&harness).await;
        harness.finish().await;
    }
}

/// A database of the test's own: a file in a temporary directory, or a new PostgreSQL database.
pub struct TestDatabase {
    pub url: String,
    /// PostgreSQL only: the server's URL and the database's name, to drop it afterwards.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create(kind: Kind, dir: &Path) -> TestDatabase {
        match kind {
            Kind::Sqlite => {
                TestDatabase { url: format!("sqlite://{}?mode=rwc", dir.join("backend.db").display()), postgres: None }
            }
            Kind::Postgres => {
                let server = std::env::var(POSTGRES_ENV).expect("checked by kinds()");
                let mut random = [0u8; 6];
                getrandom::fill(&mut random).unwrap();
                let name = format!("sealnet_test_{}", sealnet_backend::hex::encode(&random));
                sqlx::any::install_default_drivers();
                let mut conn = sqlx::AnyConnection::connect(&server).await.expect("connect to the test PostgreSQL");
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create a test database");
                conn.close().await.ok();
                TestDatabase { url: with_database(&server, &name), postgres: Some((server, name)) }
            }
        }
    }

    pub async fn drop_database(self) {
        if let Some((server, name)) = self.postgres {
            let mut conn = sqlx::AnyConnection::connect(&server).await.expect("connect to the test PostgreSQL");
            conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await.ok();
            conn.close().await.ok();
        }
    }
}

/// `url` with its database name (the path) replaced by `name`, keeping any query string.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

pub fn write_secret(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

/// A configuration for a test backend: port 0, cheap password hashing (the scheme is tested, not
/// its cost; one test runs the default cost through the binary).
pub fn test_config(database_url: &str, secret_file: &Path) -> Config {
    let mut config = Config::for_database(database_url).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.secret_file = Some(secret_file.to_owned());
    config.namespace = NAMESPACE.to_owned();
    config.password = PasswordCost { memory_kib: 256, iterations: 1 };
    config
}

pub struct Harness {
    pub backend: RunningBackend,
    pub database: TestDatabase,
    pub signer: Signer,
    /// Holds the secret and the SQLite file; removed on drop.
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start(kind: Kind) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let database = TestDatabase::create(kind, dir.path()).await;
        let secret = write_secret(dir.path(), "webhook.secret", SECRET, 0o600);
        let backend = http::start(&test_config(&database.url, &secret)).await.expect("the backend starts");
        Harness { backend, database, signer: Signer::new(SECRET.as_bytes()), _dir: dir }
    }

    pub async fn finish(self) {
        self.backend.stop().await.expect("the backend stops cleanly");
        self.database.drop_database().await;
    }

    pub async fn connect(&self) -> Connection {
        Connection::open(self.backend.addr()).await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.connect().await.post_json(path, &body).await.unwrap()
    }

    pub async fn register(&self, username: &str, password: &str) -> Value {
        let reply = self.post("/register", json!({ "username": username, "password": password })).await;
        assert_eq!(reply.status, 201, "register {username}: {}", reply.text());
        reply.json()
    }

    /// A password login that must succeed; its reply.
    pub async fn login(&self, username: &str, password: &str) -> Value {
        let reply = self.post("/login", json!({ "username": username, "password": password })).await;
        assert_eq!(reply.status, 200, "login {username}: {}", reply.text());
        reply.json()
    }

    pub async fn guest(&self, device_id: &str) -> Value {
        let reply = self.post("/guest", json!({ "device_id": device_id })).await;
        assert_eq!(reply.status, 200, "guest {device_id}: {}", reply.text());
        reply.json()
    }

    /// An account with a session: (player id, session id).
    pub async fn player_with_session(&self, username: &str) -> (i64, SessionId) {
        self.register(username, "a long enough password").await;
        let login = self.login(username, "a long enough password").await;
        (login["player_id"].as_i64().unwrap(), session_of(&login))
    }

    /// The webhook for a token built from `session` and some game flags, signed now.
    pub async fn auth_session(&self, session: &SessionId) -> Reply {
        self.auth_token(&client::connection_token(session, b"\x01mode=ranked;lobby=K7Q2;nonce=9f3a")).await
    }

    pub async fn auth_token(&self, token: &[u8]) -> Reply {
        self.auth_body(&client::webhook_body("test-app", token)).await
    }

    pub async fn auth_body(&self, body: &[u8]) -> Reply {
        let now = sealnet_backend::clock::now_s();
        self.connect().await.webhook(&self.signer, now, body).await.unwrap()
    }

    /// Runs the real binary with this harness's database.
    pub async fn admin(&self, args: &[&str]) -> Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sealnet-backend"));
        command.arg("--database-url").arg(&self.database.url).args(args);
        command.output().await.expect("run sealnet-backend")
    }

    /// Runs an admin command that must succeed; its standard output.
    pub async fn admin_ok(&self, args: &[&str]) -> String {
        let output = self.admin(args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        stdout
    }
}

pub fn session_of(login: &Value) -> SessionId {
    let text = login["session"].as_str().expect("a session in the reply");
    assert_eq!(text.len(), 22, "the session id's short form");
    SessionId::decode(text).expect("base64url without padding")
}

/// A successful webhook reply's JSON, checked for the parts every success has.
pub fn accepted(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["ResultCode"], 0, "{json}");
    assert!(json["UserId"].as_str().is_some_and(|id| !id.is_empty() && id.len() <= 128), "{json}");
    json
}

#[test]
fn database_names_are_replaced() {
    assert_eq!(with_database("postgres://u@h:5/db", "x"), "postgres://u@h:5/x");
    assert_eq!(with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
    assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
}
