//! The real `sealnet-server` binary: startup lines, key file handling, and graceful shutdown.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sealnet::protocol::sealing::SendOptions;
use sealnet::protocol::status::{DisconnectReason, StatusCode};
use support::*;

const BIN: &str = env!("CARGO_BIN_EXE_sealnet-server");

/// A running server process, killed if a test fails before it exits.
struct Process {
    child: Option<Child>,
    addr: std::net::SocketAddr,
    public_key: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs the binary and parses its two startup lines.
fn spawn(key_file: &Path, extra: &[&str]) -> Process {
    spawn_with_environment(key_file, extra, &[])
}

/// [`spawn`] with extra environment variables.
fn spawn_with_environment(key_file: &Path, extra: &[&str], environment: &[(&str, &str)]) -> Process {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--key-file"])
        .arg(key_file)
        .args(extra)
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap_or_default()).is_err() {
                break;
            }
        }
    });
    let first = lines.recv_timeout(WAIT).expect("the listening line");
    let second = lines.recv_timeout(WAIT).expect("the public key line");
    let addr = first.strip_prefix("sealnet-server listening on ").expect(&first).parse().expect("an address");
    let public_key = second.strip_prefix("sealnet-server public key: ").expect(&second).to_owned();
    assert_eq!(public_key.len(), 64);
    assert!(public_key.bytes().all(|b| b.is_ascii_hexdigit()));
    Process { child: Some(child), addr, public_key }
}

/// Sends a signal with the `kill` command.
fn signal(process: &Process, name: &str) {
    let pid = process.child.as_ref().unwrap().id();
    let status = Command::new("kill").arg(format!("-{name}")).arg(pid.to_string()).status().unwrap();
    assert!(status.success());
}

/// Waits for the process to exit, bounded by `limit`; returns its status and stderr.
fn wait_exit(mut process: Process, limit: Duration) -> (ExitStatus, String) {
    let mut child = process.child.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let status = child.wait();
        let _ = done_tx.send(status);
    });
    let status = done.recv_timeout(limit).expect("the server exits in time").unwrap();
    let mut log = String::new();
    stderr.read_to_string(&mut log).unwrap();
    (status, log)
}

/// A config file in `dir` setting the drain period.
fn drain_config(dir: &Path, drain_ms: u64) -> String {
    let path = dir.join("server.toml");
    std::fs::write(&path, format!("drain_timeout_ms = {drain_ms}\n")).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn sigterm_drains_then_a_second_signal_disconnects_with_server_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("k");
    let process = spawn(&key_file, &["--config", &drain_config(dir.path(), 60_000)]);

    let mut client = Client::encrypted(process.addr).await;
    assert_eq!(sealnet::protocol::noise::hex(client.session.remote_static_key().unwrap()), process.public_key);
    client.join_and_settle("r").await;

    signal(&process, "TERM");
    // Draining: the connected player goes on playing, nobody new gets in.
    client.raise(1, None, Some(1), SendOptions::ENCRYPTED).await;
    assert_eq!(client.event().await.0.code, 1, "still relayed while draining");
    let refused = wait_for_refusal(process.addr).await;
    assert!(refused, "new connections are refused while draining");

    signal(&process, "TERM");
    let status = client.status(StatusCode::DisconnectByServerLogic).await;
    assert_eq!(status.reason, DisconnectReason::ServerShutdown as u16);
    assert_eq!(status.message, "server shutting down");
    client.until_closed().await;

    let (exit, log) = wait_exit(process, Duration::from_secs(5));
    assert_eq!(exit.code(), Some(0), "stderr:\n{log}");
    let secret = std::fs::read_to_string(&key_file).unwrap();
    assert!(!log.contains(secret.trim()), "the secret key never appears in the log");
    assert!(log.contains("SIGTERM") && log.contains("second signal"), "{log}");
}

/// Connects until the listener is gone (the drain closes it right after the signal is handled).
async fn wait_for_refusal(addr: std::net::SocketAddr) -> bool {
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        match tokio::net::TcpStream::connect(addr).await {
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionRefused => return true,
            // Accepted just before the drain began (it is closed with the rest): try again after the
            // signal has had time to land; there is no event to wait for from outside the process.
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    false
}

#[tokio::test]
async fn a_drain_ends_when_its_period_does_and_the_rest_are_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let process = spawn(&dir.path().join("k"), &["--config", &drain_config(dir.path(), 300)]);
    let mut client = Client::encrypted(process.addr).await;
    signal(&process, "INT");
    let status = client.status(StatusCode::DisconnectByServerLogic).await;
    assert_eq!(status.reason, DisconnectReason::ServerShutdown as u16);
    let (exit, log) = wait_exit(process, Duration::from_secs(5));
    assert_eq!(exit.code(), Some(0), "stderr:\n{log}");
    assert!(log.contains("drain period over"), "{log}");
}

#[tokio::test]
async fn a_drain_ends_as_soon_as_the_last_player_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let process = spawn(&dir.path().join("k"), &["--config", &drain_config(dir.path(), 60_000)]);
    let mut client = Client::encrypted(process.addr).await;
    client.join_and_settle("r").await;
    signal(&process, "TERM");
    assert!(wait_for_refusal(process.addr).await);
    client.session.disconnect(DisconnectReason::ClientRequest, "done playing");
    client.until_closed().await;
    // Far less than the 60 s drain period.
    let (exit, log) = wait_exit(process, Duration::from_secs(10));
    assert_eq!(exit.code(), Some(0), "stderr:\n{log}");
    assert!(log.contains("drained: every player has left"), "{log}");
}

#[test]
fn the_key_file_is_created_private_and_reused_and_refused_when_readable() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("server.key");

    let first = spawn(&key_file, &[]);
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let public_key = first.public_key.clone();
    signal(&first, "TERM");
    assert!(wait_exit(first, Duration::from_secs(5)).0.success());

    let second = spawn(&key_file, &[]);
    assert_eq!(second.public_key, public_key, "a restart keeps the key");
    signal(&second, "TERM");
    assert!(wait_exit(second, Duration::from_secs(5)).0.success());

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = Command::new(BIN).args(["--listen", "127.0.0.1:0", "--key-file"]).arg(&key_file).output().unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing is served");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("mode 0644") && stderr.contains("chmod 600"), "{stderr}");
}

#[test]
fn bad_configuration_is_reported_before_starting() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nmax_conections = 5\n").unwrap();
    let output = Command::new(BIN).arg("--config").arg(&config).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("max_conections"), "{stderr}");

    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("--app-id"));
}

#[test]
fn without_a_key_file_setting_the_key_lives_in_the_state_directory_not_the_working_directory() {
    let state = tempfile::tempdir().unwrap();
    let working = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(working.path())
        .env("XDG_STATE_HOME", state.path())
        .env_remove("STATE_DIRECTORY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("sealnet-server listening on"), "{first}");
    let _ = child.kill();
    let _ = child.wait();
    let key = state.path().join("sealnet/server.key");
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(key.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(std::fs::read_dir(working.path()).unwrap().count(), 0, "nothing is written to the working directory");
}

#[test]
fn a_server_that_cannot_listen_creates_no_key_file() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("server.key");
    let output = Command::new(BIN)
        .args(["--listen", &taken.local_addr().unwrap().to_string(), "--key-file"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot listen"), "{output:?}");
    assert!(!key.exists(), "the key file is written only once the server can listen");
}

#[tokio::test]
async fn app_ids_from_the_command_line_replace_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let process = spawn(&dir.path().join("k"), &["--app-id", "alpha", "--app-id", "beta"]);
    let mut beta = Client::start(process.addr, "beta", Default::default()).await;
    beta.status(StatusCode::EncryptionEstablished).await;
    let mut demo = Client::start(process.addr, "demo", Default::default()).await;
    let refused = demo.status(StatusCode::DisconnectByServerLogic).await;
    assert_eq!(refused.reason, DisconnectReason::UnknownAppId as u16);
}

#[test]
fn version_names_the_release_and_the_protocol_versions() {
    let output = Command::new(BIN).arg("--version").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let expected = format!("sealnet-server {} (protocol versions 1-", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&expected), "{text}");
}

#[tokio::test]
async fn settings_from_the_environment_and_json_logs_with_one_line_per_closed_connection() {
    let dir = tempfile::tempdir().unwrap();
    // The environment overrides the file's drain period; the command line would override both.
    let environment = [
        ("SEALNET_CONFIG_APP_IDS", r#"["gamma"]"#),
        ("SEALNET_CONFIG_LOG_FORMAT", "json"),
        ("SEALNET_CONFIG_DRAIN_TIMEOUT_MS", "0"),
    ];
    let config = drain_config(dir.path(), 60_000);
    let process = spawn_with_environment(&dir.path().join("k"), &["--config", &config], &environment);
    let mut client = Client::start(process.addr, "gamma", Default::default()).await;
    client.status(StatusCode::EncryptionEstablished).await;
    client.join_and_settle("r").await;
    client.session.disconnect(DisconnectReason::ClientRequest, "done playing");
    client.until_closed().await;
    let mut refused = Client::start(process.addr, "demo", Default::default()).await;
    assert_eq!(refused.status(StatusCode::DisconnectByServerLogic).await.reason, DisconnectReason::UnknownAppId as u16);
    refused.until_closed().await;
    signal(&process, "TERM");
    let (exit, log) = wait_exit(process, Duration::from_secs(10));
    assert_eq!(exit.code(), Some(0), "stderr:\n{log}");
    let lines: Vec<serde_json::Value> =
        log.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))).collect();
    let closed: Vec<&serde_json::Value> =
        lines.iter().map(|line| &line["fields"]).filter(|fields| fields["message"] == "connection closed").collect();
    assert_eq!(closed.len(), 2, "one line per connection:\n{log}");
    let player =
        closed.iter().find(|fields| fields["reason"] == DisconnectReason::ClientRequest as u16).expect("{log}");
    assert!(player["address"].as_str().unwrap().starts_with("127.0.0.1:"), "{player}");
    assert!(player["bytes_in"].as_u64().unwrap() > 0 && player["bytes_out"].as_u64().unwrap() > 0, "{player}");
    assert!(player["duration_ms"].is_u64(), "{player}");
    assert!(closed.iter().any(|fields| fields["reason"] == DisconnectReason::UnknownAppId as u16), "{log}");
}
