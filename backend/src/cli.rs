//! The command line: `serve`, `gen-secret`, and the admin subcommands.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sealnet_backend::config::{Config, Settings};
use sealnet_backend::db::{PlayerRef, Store};
use sealnet_backend::{admin, http, secret};

#[derive(Parser)]
#[command(name = "sealnet-backend", version, about = "Reference authentication backend for sealnet")]
pub struct Cli {
    /// A TOML configuration file; flags override its settings.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// postgres://..., sqlite://FILE, or the path of an SQLite file [default: sealnet-backend.db].
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the login API and the webhook.
    Serve(ServeArgs),
    /// Write a new webhook secret (64 hex digits, mode 0600) to FILE, which must not exist.
    GenSecret { file: PathBuf },
    /// Ban a player (a username or a player id); the webhook answers ResultCode 3 from now on.
    Ban {
        player: String,
        /// Kept for operators and logged by the webhook; never shown to the player.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a player's ban.
    Unban { player: String },
    /// Set a player's data: display_name, level, cosmetics, flags, region.
    SetData {
        player: String,
        #[arg(required = true, value_name = "KEY=VALUE")]
        assignments: Vec<String>,
    },
    /// List the sessions that have not expired.
    Sessions {
        /// Only this player's (a username or a player id).
        #[arg(long)]
        player: Option<String>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:4540]; port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// The webhook's shared secret: the file's first line, at least 32 bytes, mode 0600.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// How long a session is accepted after its login, 10 to 60 [default: 30].
    #[arg(long, value_name = "MINUTES")]
    session_ttl_minutes: Option<u32>,
    /// Mixed into every UserId, so deployments never share ids [default: sealnet].
    #[arg(long)]
    namespace: Option<String>,
    /// The database connection pool's size [default: 4 for SQLite, 8 for PostgreSQL].
    #[arg(long, value_name = "N")]
    max_db_connections: Option<u32>,
}

pub fn run(cli: Cli) -> Result<(), String> {
    let file = match &cli.config {
        Some(path) => Settings::from_file(path).map_err(|e| e.to_string())?,
        None => Settings::default(),
    };
    let mut flags = Settings { database_url: cli.database_url.clone(), ..Settings::default() };
    if let Command::Serve(args) = &cli.command {
        flags.listen = args.listen;
        flags.secret_file = args.secret_file.clone();
        flags.session_ttl_minutes = args.session_ttl_minutes;
        flags.namespace = args.namespace.clone();
        flags.max_db_connections = args.max_db_connections;
    }
    let config = Config::from_settings(file.overridden_by(flags)).map_err(|e| e.to_string())?;
    match cli.command {
        Command::GenSecret { file } => {
            secret::generate(&file).map_err(|e| e.to_string())?;
            println!("wrote a new secret to {} (mode 0600)", file.display());
            Ok(())
        }
        Command::Serve(_) => {
            init_logging("info,sqlx=warn");
            let runtime =
                tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(serve(&config))
        }
        command => {
            init_logging("warn");
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            let output = runtime.block_on(admin_command(&config, command))?;
            println!("{output}");
            Ok(())
        }
    }
}

/// Logs go to standard error, filtered by `SEALNET_BACKEND_LOG` (tracing's filter syntax).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEALNET_BACKEND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn serve(config: &Config) -> Result<(), String> {
    let backend = http::start(config).await.map_err(|e| e.to_string())?;
    // Scripts and tests wait for this line to learn the port (with --listen ...:0).
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", backend.addr()).and_then(|()| stdout.flush()).map_err(|e| e.to_string())?;
    drop(stdout);
    shutdown_signal().await;
    tracing::info!("shutting down");
    backend.stop().await.map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match &mut terminate {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
}

async fn admin_command(config: &Config, command: Command) -> Result<String, String> {
    let store = Store::connect(&config.database_url, 1).await.map_err(|e| format!("database: {e}"))?;
    let result = match command {
        Command::Ban { player, reason } => admin::ban(&store, &PlayerRef::parse(&player), reason.as_deref()).await,
        Command::Unban { player } => admin::unban(&store, &PlayerRef::parse(&player)).await,
        Command::SetData { player, assignments } => {
            admin::set_data(&store, &PlayerRef::parse(&player), &assignments).await
        }
        Command::Sessions { player } => admin::sessions(&store, player.map(|p| PlayerRef::parse(&p)).as_ref()).await,
        Command::Serve(_) | Command::GenSecret { .. } => unreachable!("handled by run"),
    };
    store.close().await;
    result.map_err(|e| e.to_string())
}
