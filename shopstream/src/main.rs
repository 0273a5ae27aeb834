//! `shopstream`: the whole stack on a laptop, one process, one port, no AWS account.
//! `main` only reads the command line and wires config to clients to handlers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ingest_cognito::{CognitoConfig, CognitoTokenVerifier};
use ingest_domain::{Ingest, SystemClock, TokenVerifier};
use ingest_http::{Access, Site};
use personalize::recommend::ITEM_CACHE_TTL;
use personalize::{Processor, Recommender, StateStore};
use shopstream::lake_local::{CatalogStock, FileAlertLog};
use shopstream::site_config::{AuthSettings, DemoAccount};
use shopstream::{LocalApp, SiteConfig};
use sqlite_store::{SqliteEventLog, SqliteStateStore};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "shopstream", version, about = "Shopstream: real-time retail clickstream analytics, locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once
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
        #[command(flatten)]
        cognito: CognitoArgs,
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
    /// The data lake in DIR/lake: raw events by day, the curated star schema in Parquet.
    Lake {
        #[command(subcommand)]
        command: LakeCommand,
    },
    /// Run SQL on the lake (tables: events, fact_events, fact_sales, fact_inventory_snapshot,
    /// dim_product, dim_store, dim_date), e.g. a query of examples/sql/.
    Query {
        /// Data directory.
        #[arg(long, value_name = "DIR", default_value = ".shopstream/data")]
        data: PathBuf,
        /// How to print the result.
        #[arg(long, value_enum, default_value = "table")]
        format: QueryFormat,
        /// A file with the SQL statement.
        #[arg(long, value_name = "FILE", conflicts_with = "sql", required_unless_present = "sql")]
        file: Option<PathBuf>,
        /// The SQL statement.
        sql: Option<String>,
    },
}

#[derive(Subcommand)]
enum LakeCommand {
    /// Bring the lake up to date: the event log's new events into raw/, then the curated layer
    /// (only days whose raw files changed are rebuilt; running it twice changes nothing).
    Build {
        /// Data directory.
        #[arg(long, value_name = "DIR", default_value = ".shopstream/data")]
        data: PathBuf,
    },
    /// Print the Athena DDL of the same tables over a bucket (partition projection on `dt`).
    Ddl {
        /// Where the lake is, e.g. `s3://my-lake-bucket/` (raw/ and curated/ under it).
        #[arg(long, value_name = "S3_URL")]
        location: String,
    },
    /// Print the same tables as JSON for the CDK stack's Glue catalog (`infra/lake-tables.json`).
    GlueTables,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum QueryFormat {
    Table,
    Csv,
    Json,
}

/// The storefront's sign-in settings and the verifier of the pool's tokens (both or neither).
type SignIn = (Option<AuthSettings>, Option<Arc<dyn TokenVerifier>>);

/// Sign-in for shoppers: a Cognito user pool (or an emulator's, as `cargo xtask demo` starts in moto).
/// With it, the storefront offers sign-in and sign-up, and the ingest and recommendations trust a
/// `user_id` only from a token of this pool.
#[derive(clap::Args)]
struct CognitoArgs {
    /// The user pool's id (e.g. `eu-west-1_AbC123`).
    #[arg(long = "cognito-pool-id", value_name = "ID", requires = "client_id")]
    pool_id: Option<String>,
    /// The app client the storefront signs in with (it needs the `USER_PASSWORD_AUTH` flow).
    #[arg(long = "cognito-client-id", value_name = "ID", requires = "pool_id")]
    client_id: Option<String>,
    /// The pool's region (default: the part of the pool id before `_`).
    #[arg(long = "cognito-region", value_name = "REGION", requires = "pool_id")]
    region: Option<String>,
    /// Cognito's API, for the browser and the pool's keys: an emulator's URL such as
    /// `http://127.0.0.1:5000` (default: `https://cognito-idp.<region>.amazonaws.com`).
    #[arg(long = "cognito-endpoint", value_name = "URL", requires = "pool_id")]
    endpoint: Option<String>,
    /// An account shown on the sign-in page, as `USERNAME:PASSWORD`: only with an emulator's
    /// `--cognito-endpoint` (a real pool's password would be published at `/config.json`).
    #[arg(long = "demo-account", value_name = "USER:PASSWORD", requires = "endpoint")]
    demo_account: Option<String>,
}

impl CognitoArgs {
    /// The storefront's sign-in settings and the verifier of the pool's tokens, or neither.
    fn build(self) -> anyhow::Result<SignIn> {
        let (Some(pool_id), Some(client_id)) = (self.pool_id, self.client_id) else { return Ok((None, None)) };
        let region = match self.region {
            Some(r) => r,
            None => pool_id.split_once('_').map(|(r, _)| r.to_owned()).ok_or_else(|| {
                anyhow::anyhow!("--cognito-pool-id {pool_id:?} has no region prefix: give --cognito-region")
            })?,
        };
        let emulated = self.endpoint.is_some();
        let endpoint = self
            .endpoint
            .unwrap_or_else(|| format!("https://cognito-idp.{region}.amazonaws.com"))
            .trim_end_matches('/')
            .to_owned();
        let mut config = CognitoConfig::new(&region, &pool_id, [client_id.clone()]);
        if emulated {
            // Emulators serve the keys under their own address; the tokens still name the AWS issuer.
            config = config.with_jwks_url(format!("{endpoint}/{pool_id}/.well-known/jwks.json"));
        }
        let verifier: Arc<dyn TokenVerifier> =
            Arc::new(CognitoTokenVerifier::new(config).map_err(|e| anyhow::anyhow!("Cognito settings: {e}"))?);
        let demo = match self.demo_account {
            Some(account) => {
                let (username, password) = account
                    .split_once(':')
                    .ok_or_else(|| anyhow::anyhow!("--demo-account must be USERNAME:PASSWORD"))?;
                Some(DemoAccount { username: username.to_owned(), password: password.to_owned() })
            }
            None => None,
        };
        let auth = AuthSettings {
            region,
            user_pool_id: pool_id,
            client_id,
            endpoint: format!("{endpoint}/"),
            demo,
            codes_sent: !emulated,
        };
        Ok((Some(auth), Some(verifier)))
    }
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
        Command::Serve { addr, data, site, write_keys, allowed_origins, cognito } => {
            serve(addr, data, site, access(write_keys, allowed_origins)?, cognito.build()?)
        }
        Command::Events { data } => quiet_when_piped_to_head(print_rows(data, SqliteEventLog::read_after)),
        Command::Rejected { data } => quiet_when_piped_to_head(print_rows(data, SqliteEventLog::read_rejected_after)),
        Command::Lake { command: LakeCommand::Build { data } } => lake_build(data),
        Command::Lake { command: LakeCommand::Ddl { location } } => {
            anyhow::ensure!(location.starts_with("s3://"), "--location must be an s3:// URL");
            let location = if location.ends_with('/') { location } else { format!("{location}/") };
            print!("{}", lake::schema::athena_ddl(&location));
            Ok(())
        }
        Command::Lake { command: LakeCommand::GlueTables } => {
            println!("{}", serde_json::to_string_pretty(&lake::schema::glue_tables())?);
            Ok(())
        }
        Command::Query { data, format, file, sql } => query(data, format, file, sql),
    }
}

fn lake_build(data: PathBuf) -> anyhow::Result<()> {
    let lake = shopstream::lake_local::lake_of(&data);
    if data.join(sqlite_store::DB_FILE).is_file() {
        let log = SqliteEventLog::open_read_only(&data)?;
        let copied = shopstream::lake_local::catch_up_raw(&log, &lake)?;
        eprintln!("raw: {copied} new events from the event log");
    }
    let reference = lake::reference::Reference::load(&lake, &shopstream::lake_local::catalog_reference())?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = std::time::Instant::now();
    let r = lake::curated::build(&lake, &reference, threads)?;
    eprintln!(
        "curated: {} days built, {} unchanged, {} removed; {} events, {} sales lines, {} stock counts; \
         dropped {} repeated events, {} repeated orders, {} bad lines; {:.1} s",
        r.days_built,
        r.days_unchanged,
        r.days_removed,
        r.events,
        r.sales_lines,
        r.snapshot_rows,
        r.duplicate_events,
        r.duplicate_orders,
        r.bad_lines,
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}

fn query(data: PathBuf, format: QueryFormat, file: Option<PathBuf>, sql: Option<String>) -> anyhow::Result<()> {
    let sql = match (file, sql) {
        (Some(f), _) => std::fs::read_to_string(&f).with_context(|| format!("cannot read {}", f.display()))?,
        (None, Some(sql)) => sql,
        (None, None) => anyhow::bail!("give SQL or --file"),
    };
    let format = match format {
        QueryFormat::Table => lake::query::Format::Table,
        QueryFormat::Csv => lake::query::Format::Csv,
        QueryFormat::Json => lake::query::Format::Json,
    };
    let lake = shopstream::lake_local::lake_of(&data);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let q = lake::query::LakeQuery::open(&lake).await?;
        if q.empty_tables.len() == lake::schema::Table::ALL.len() + 1 {
            eprintln!("note: the lake in {} is empty; run `shopstream lake build` first", lake.root().display());
        }
        let batches = q.sql(&sql).await?;
        print!("{}", lake::query::render(&batches, format)?);
        anyhow::Ok(())
    })
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

fn serve(addr: SocketAddr, data: PathBuf, site: PathBuf, access: Access, sign_in: SignIn) -> anyhow::Result<()> {
    let log = SqliteEventLog::open(&data).with_context(|| format!("cannot use data directory {}", data.display()))?;
    let (auth, verifier) = sign_in;
    let mut ingest =
        Ingest::new(Arc::new(log.clone()), Arc::new(SystemClock)).with_rejected_sink(Arc::new(log.clone()));
    match (&auth, &verifier) {
        (Some(auth), Some(verifier)) => {
            tracing::info!(pool = %auth.user_pool_id, endpoint = %auth.endpoint, "shoppers sign in with Cognito");
            ingest = ingest.with_token_verifier(verifier.clone());
        }
        _ => tracing::info!("no --cognito-pool-id: sign-in is off, no user_id is trusted"),
    }
    match &access {
        Access::Open => tracing::warn!(
            "no --write-key given: the ingest accepts every request from any origin (fine for a local demo, not for a public server)"
        ),
        Access::WriteKeys(keys) => tracing::info!(keys = keys.len(), "ingest requires a write key"),
    }
    let sqlite_state =
        SqliteStateStore::open(&data).with_context(|| format!("cannot use data directory {}", data.display()))?;
    // The processor runs in the background, at a lower priority: it loads with a connection of its own.
    let background_state: Arc<dyn StateStore> =
        Arc::new(sqlite_state.with_own_reader().context("cannot open the state for the processor")?);
    let state: Arc<dyn StateStore> = Arc::new(sqlite_state);
    let recommender = Recommender::new(state, Arc::new(SystemClock)).with_item_cache(ITEM_CACHE_TTL);
    let alerts = Arc::new(FileAlertLog::new(&data));
    let processor = Processor::new(background_state.clone())
        .with_rejected_sink(Arc::new(log.clone()))
        .with_alerts(alerts.clone(), Arc::new(CatalogStock::new()));
    let lake = shopstream::lake_local::lake_of(&data);
    let app = shopstream::local_app(LocalApp {
        ingest,
        access,
        recommender,
        verifier,
        log: log.clone(),
        site_config: SiteConfig { auth },
        site_dir: &site,
        alerts,
        lake: lake.clone(),
    })
    .into_make_service_with_connect_info::<SocketAddr>();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let background = shopstream::background_runtime().context("cannot start the background runtime")?;
    // The background's threads wait for idle cores: they read the log with a connection of their own.
    let background_log = log.with_own_reader().context("cannot open the event log for the background")?;
    background.spawn(shopstream::run_processor(background_log.clone(), processor, background_state));
    background.spawn(shopstream::lake_local::run_raw_writer(background_log.clone(), lake.clone()));
    background.spawn(shopstream::lake_local::run_lake_builder(lake, background_log));
    runtime.block_on(async move {
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

/// `shopstream events | head` stops reading early: a closed standard output ends the listing, not
/// an error.
fn quiet_when_piped_to_head(printed: anyhow::Result<()>) -> anyhow::Result<()> {
    match printed {
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {
            Ok(())
        }
        other => other,
    }
}

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
