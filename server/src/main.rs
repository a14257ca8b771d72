//! The `sealnet-server` command: reads the configuration, binds, loads or creates the key, serves
//! until SIGINT or SIGTERM, then disconnects every client with ServerShutdown and exits 0.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use sealnet::protocol::noise::hex;
use sealnet_server::config::{self, Command, LogFormat};
use sealnet_server::keyfile::{self, KeyOrigin, KeySource};
use sealnet_server::{Listener, Server};
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let mut config = match config::parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => *config,
        Ok(Command::Help) => {
            let _ = writeln!(std::io::stdout(), "{}", config::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            let protocols =
                format!("{}-{}", sealnet::protocol::frame::PROTOCOL_VERSION, sealnet::protocol::frame::LATEST_VERSION);
            let _ = writeln!(
                std::io::stdout(),
                "sealnet-server {} (protocol versions {protocols})",
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("sealnet-server: {error}");
            return ExitCode::from(2);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
    raise_open_file_limit();

    // Connections run on the server's own shard threads (`workers`); this thread accepts them and
    // serves the admin listener and the signals.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sealnet-server: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Bind first: a server that cannot listen exits before it creates a key file anywhere.
    let listener = match runtime.block_on(async { Listener::bind(&config) }) {
        Ok(listener) => listener,
        // Each error names the listener or the file it is about.
        Err(error) => {
            eprintln!("sealnet-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (keypair, source) = match keyfile::server_key(&mut config) {
        Ok(found) => found,
        Err(error) => {
            eprintln!("sealnet-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    match source {
        KeySource::Config => tracing::info!("using the static key from the configuration"),
        KeySource::File { path, origin: KeyOrigin::Created } => {
            tracing::info!(path = %path.display(), "generated a new server key")
        }
        KeySource::File { path, origin: KeyOrigin::Loaded } => {
            tracing::info!(path = %path.display(), "loaded server key")
        }
    }

    let token_keys = match sealnet_server::auth::setup::token_keys(&config) {
        Ok(keys) => keys,
        Err(error) => {
            eprintln!("sealnet-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let webhook = match sealnet_server::auth::setup::webhook(&config) {
        Ok(webhook) => webhook,
        Err(error) => {
            eprintln!("sealnet-server: auth.webhook: {error}");
            return ExitCode::FAILURE;
        }
    };
    let drain_ms = config.drain_timeout_ms;
    let mut server = Server::new(config, keypair).with_token_keys(token_keys);
    if let Some(webhook) = webhook {
        tracing::info!("custom authentication through the webhook");
        server = server.with_auth_provider(webhook);
    }
    let code = runtime.block_on(run(server, listener, drain_ms));
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

/// Lifts the soft limit on open files to the hard limit: every connection is a descriptor, and the
/// configured connection limits, not a low default of 1024, should decide how many there may be.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                tracing::debug!(from = limit.rlim_cur, to = limit.rlim_max, "raised the open-file limit");
            }
        }
    }
}

async fn run(server: Server, listener: Listener, drain_ms: u64) -> ExitCode {
    // Handlers go in before the startup lines, so a signal sent as soon as they are read is caught.
    let (mut interrupt, mut terminate) = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("sealnet-server: cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let role = server.role();
    let server = match server.connect_directory().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("sealnet-server: cluster.redis_url: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = match server.serve(listener) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("sealnet-server: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let printed = writeln!(stdout, "sealnet-server listening on {}", server.local_addr())
        .and_then(|()| writeln!(stdout, "sealnet-server public key: {}", hex(&server.public_key())))
        .and_then(|()| match server.udp_addr() {
            Some(address) => writeln!(stdout, "sealnet-server listening on UDP {address}"),
            None => writeln!(stdout, "sealnet-server UDP off"),
        })
        .and_then(|()| match server.wss() {
            Some(wss) => writeln!(stdout, "sealnet-server listening on {}", wss.startup_line()),
            None => writeln!(stdout, "sealnet-server WSS off"),
        })
        .and_then(|()| stdout.flush());
    drop(stdout);
    if let Err(error) = printed {
        tracing::warn!(%error, "could not print the startup lines");
    }
    let wss = server.wss().map(|wss| wss.url.as_str());
    tracing::info!(address = %server.local_addr(), udp = ?server.udp_addr(), wss, role = role.name(), "listening");
    if server.wss().is_some_and(|wss| wss.self_signed && !wss.address.ip().is_loopback()) {
        tracing::warn!(
            "WSS serves the self-signed development certificate beyond loopback: set wss.cert_file and wss.key_file"
        );
    }

    let signal_name = tokio::select! {
        _ = interrupt.recv() => "SIGINT",
        _ = terminate.recv() => "SIGTERM",
    };
    // A second signal during the drain stops the server at once.
    let stopper = server.stopper();
    let second_signal = async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    };
    let drain = Duration::from_millis(drain_ms);
    tracing::info!(signal = signal_name, drain_ms, "shutting down: draining (a second signal stops at once)");
    let drained = server.drain(drain);
    tokio::pin!(drained);
    tokio::select! {
        () = &mut drained => {}
        signal = second_signal => {
            tracing::info!(signal, "second signal: stopping at once");
            stopper.stop();
            drained.await;
        }
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}
