//! `shopstream`: the whole stack on a laptop, one process, one port, no AWS account.
//! `main` only reads the command line and wires config to clients to handlers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ingest_domain::{Ingest, SystemClock};
use ingest_http::{Access, Site};
use personalize::recommend::ITEM_CACHE_TTL;
use personalize::{Processor, Recommender, StateStore};
use sqlite_store::{SqliteEventLog, SqliteStateStore};

#[derive(Parser)]
#[command(name = "shopstream", version, about = "Shopstream: real-time retail clickstream analytics, locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the ingest API and the storefront, storing accepted events durably in DIR.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Data directory (created if missing).
        #[arg(long, value_name = "DIR", default_value = ".shopstream/data")]
        data: PathBuf,
        /// The built storefront to serve at `/` (built by `cargo xtask build`).
        #[arg(long, value_name = "DIR", default_value = "storefront/dist")]
        site: PathBuf,
        /// Require this public write key on ingest requests (repeatable). Without any, every request is
        /// accepted, from any origin.
        #[arg(long = "write-key", value_name = "KEY")]
        write_keys: Vec<String>,
        /// A browser origin (e.g. `https://shop.example`) allowed to send with the write keys (repeatable).
        /// The server's own origin is always allowed.
        #[arg(long = "allowed-origin", value_name = "ORIGIN", requires = "write_keys")]
        allowed_origins: Vec<String>,
    },
    /// Print the refused events and batches, with their reasons, as JSON lines, oldest first.
    Rejected {
        /// Data directory.
        #[arg(long, value_name = "DIR", default_value = ".shopstream/data")]
        data: PathBuf,
    },
    /// Print the stored events as JSON lines, oldest first.
    Events {
        /// Data directory.
        #[arg(long, value_name = "DIR", default_value = ".shopstream/data")]
        data: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve { addr, data, site, write_keys, allowed_origins } => {
            serve(addr, data, site, access(write_keys, allowed_origins)?)
        }
        Command::Events { data } => print_rows(data, SqliteEventLog::read_after),
        Command::Rejected { data } => print_rows(data, SqliteEventLog::read_rejected_after),
    }
}

fn access(write_keys: Vec<String>, allowed_origins: Vec<String>) -> anyhow::Result<Access> {
    if write_keys.is_empty() {
        return Ok(Access::Open);
    }
    for origin in &allowed_origins {
        anyhow::ensure!(
            ingest_http::access::is_valid_origin(origin),
            "--allowed-origin {origin:?} must be a scheme and host such as https://shop.example (no path, no wildcard)"
        );
    }
    let site = Site { name: "local".into(), allowed_origins };
    Ok(Access::write_keys(write_keys.into_iter().map(|k| (k, site.clone()))))
}

fn serve(addr: SocketAddr, data: PathBuf, site: PathBuf, access: Access) -> anyhow::Result<()> {
    let log = SqliteEventLog::open(&data).with_context(|| format!("cannot use data directory {}", data.display()))?;
    let ingest = Ingest::new(Arc::new(log.clone()), Arc::new(SystemClock)).with_rejected_sink(Arc::new(log.clone()));
    match &access {
        Access::Open => tracing::warn!(
            "no --write-key given: the ingest accepts every request from any origin (fine for a local demo, not for a public server)"
        ),
        Access::WriteKeys(keys) => tracing::info!(keys = keys.len(), "ingest requires a write key"),
    }
    let state: Arc<dyn StateStore> = Arc::new(
        SqliteStateStore::open(&data).with_context(|| format!("cannot use data directory {}", data.display()))?,
    );
    let recommender = Recommender::new(state.clone(), Arc::new(SystemClock)).with_item_cache(ITEM_CACHE_TTL);
    let processor = Processor::new(state.clone()).with_rejected_sink(Arc::new(log.clone()));
    let app =
        shopstream::local_app(ingest, access, recommender, &site).into_make_service_with_connect_info::<SocketAddr>();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        tokio::spawn(shopstream::run_processor(log.clone(), processor, state));
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!(data = %log.path().display(), site = %site.display(), "shopstream serving");
        println!("Shopstream is running at http://{local}/  (events stored in {})", log.path().display());
        axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await.context("server failed")
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

type ReadPage = fn(&SqliteEventLog, i64, usize) -> Result<Vec<sqlite_store::StoredEvent>, sqlite_store::StoreError>;

fn print_rows(data: PathBuf, read_page: ReadPage) -> anyhow::Result<()> {
    use std::io::Write;
    let log = SqliteEventLog::open_read_only(&data)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut after = 0;
    loop {
        let page = read_page(&log, after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for row in &page {
            writeln!(out, "{}", row.json)?;
        }
    }
    out.flush()?;
    Ok(())
}
