//! sealnet-backend-load: a load generator for the webhook, against a real backend over loopback.
//!
//! It starts the backend in this process (on a runtime of its own, so the server's threads are not
//! the client's), creates a few thousand guest sessions through the login API, then sends signed
//! `/auth` calls: first open-loop at a fixed rate (the latency figures that matter), then unthrottled
//! (the ceiling). With no `--database-url` it uses a new SQLite file in a temporary directory.
//!
//! This is a benchmark, not a test: it prints figures and fails only when requests fail.

mod phases;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use sealnet_backend::config::Config;
use sealnet_backend::http;
use sealnet_backend::signature::Signer;

use sealnet_backend::measure::cpu::CpuTimes;

#[derive(Parser)]
#[command(name = "sealnet-backend-load", about = "Load generator for the sealnet-backend webhook")]
struct Args {
    /// postgres://... or an SQLite URL or path [default: a new SQLite file in a temporary directory].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Guest sessions created before the timed runs; calls cycle through them.
    #[arg(long, default_value_t = 3000)]
    sessions: usize,
    /// Webhook calls per second in the open-loop run.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Length of each timed run, in seconds.
    #[arg(long, default_value_t = 10)]
    duration_s: u64,
    /// Connections of the open-loop run: at most this many calls are in flight.
    #[arg(long, default_value_t = 256)]
    connections: usize,
    /// Connections of the unthrottled run, each sending back to back (0 skips the run).
    #[arg(long, default_value_t = 32)]
    unthrottled_connections: usize,
    /// Worker threads of the backend's runtime.
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Worker threads of the load generator's runtime.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
}

/// A private temporary directory, removed when dropped (also when the run fails).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        use std::os::unix::fs::DirBuilderExt;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| e.to_string())?;
        let path = std::env::temp_dir().join(format!("sealnet-backend-load-{}", sealnet_backend::hex::encode(&random)));
        std::fs::DirBuilder::new().mode(0o700).create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sealnet-backend-load: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    tracing_subscriber::fmt().with_env_filter("warn").with_writer(std::io::stderr).init();
    let dir = TempDir::new()?;
    let url = args.database_url.clone().unwrap_or_else(|| dir.0.join("load.db").display().to_string());
    let secret_file = dir.0.join("webhook.secret");
    sealnet_backend::secret::generate(&secret_file).map_err(|e| e.to_string())?;
    let secret = sealnet_backend::secret::load(&secret_file).map_err(|e| e.to_string())?;
    let signer = Arc::new(Signer::new(secret.as_bytes()));

    let mut config = Config::for_database(&url).map_err(|e| e.to_string())?;
    config.listen = "127.0.0.1:0".parse().expect("a valid address");
    config.secret_file = Some(secret_file);
    config.namespace = "load".into();

    let server_runtime = runtime(args.server_threads, "backend")?;
    let client_runtime = runtime(args.client_threads, "load")?;
    let backend = server_runtime.block_on(http::start(&config)).map_err(|e| e.to_string())?;
    let addr = backend.addr();
    let database = backend.store().backend().name();
    println!(
        "sealnet-backend-load: backend on {addr} ({database}, {} server threads, {} client threads)",
        args.server_threads, args.client_threads
    );

    let result = client_runtime.block_on(measure(&args, addr, signer));
    server_runtime.block_on(backend.stop()).map_err(|e| e.to_string())?;
    result
}

fn runtime(threads: usize, name: &str) -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(name)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

async fn measure(args: &Args, addr: std::net::SocketAddr, signer: Arc<Signer>) -> Result<(), String> {
    let started = std::time::Instant::now();
    let bodies = Arc::new(phases::create_sessions(addr, args.sessions.max(1), 32).await?);
    println!("  created {} sessions in {:.1} s", bodies.len(), started.elapsed().as_secs_f64());

    // A short warm-up at the same rate: connections, prepared statements and caches, not measured.
    phases::open_loop(addr, signer.clone(), bodies.clone(), args.rate, Duration::from_secs(1), args.connections)
        .await?;

    let duration = Duration::from_secs(args.duration_s.max(1));
    let before = CpuTimes::now();
    let open = phases::open_loop(addr, signer.clone(), bodies.clone(), args.rate, duration, args.connections).await?;
    let cpu = cpu_line(before);
    println!(
        "open loop: {} req/s for {} s on {} connections (latency from the due time's dispatch to the whole reply)",
        args.rate,
        duration.as_secs(),
        args.connections
    );
    println!(
        "  sent {}, ok {}, failed {}, achieved {:.1} req/s, at most {} in flight",
        open.sent,
        open.latencies.ok(),
        open.latencies.failed,
        open.latencies.ok() as f64 / open.elapsed.as_secs_f64(),
        open.max_in_flight
    );
    println!("  latency {}", open.latencies.summary());
    println!("  dispatch lag p99 {:.2} ms; {cpu}", open.dispatch_lag_p99.as_secs_f64() * 1000.0);
    let mut failed = open.latencies.failed;

    if args.unthrottled_connections > 0 {
        let before = CpuTimes::now();
        let (latencies, elapsed) =
            phases::unthrottled(addr, signer, bodies, duration, args.unthrottled_connections).await?;
        let cpu = cpu_line(before);
        println!("unthrottled: {} connections back to back for {} s", args.unthrottled_connections, duration.as_secs());
        println!(
            "  ok {}, failed {}, achieved {:.1} req/s",
            latencies.ok(),
            latencies.failed,
            latencies.ok() as f64 / elapsed.as_secs_f64()
        );
        println!("  latency {}", latencies.summary());
        println!("  {cpu}");
        failed += latencies.failed;
    }
    if failed > 0 {
        return Err(format!("{failed} webhook calls failed"));
    }
    Ok(())
}

/// `steal 0.3% of CPU time, busy 41.0%` since `before`, or a note that /proc/stat is not there.
fn cpu_line(before: Option<CpuTimes>) -> String {
    match (before, CpuTimes::now()) {
        (Some(before), Some(after)) => {
            let (steal, busy) = before.shares_until(&after);
            format!("steal {steal:.1}% of CPU time, busy {busy:.1}% (all cores, all processes)")
        }
        _ => "steal unknown (no /proc/stat)".into(),
    }
}
