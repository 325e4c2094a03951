//! The `neoforge` command line: serve (default), worker, migrate, check-config, openapi, create-admin,
//! seed-demo, backup, jobs, healthcheck.

use std::{net::SocketAddr, process::ExitCode};

use clap::{Parser, Subcommand};
use neoforge::{config::Settings, db, server, telemetry};

#[derive(Parser)]
#[command(
    name = "neoforge",
    version,
    about = "NeoForge: the API, the web app and its docs in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve HTTP (the default).
    Serve,
    /// Run the job workers and periodic tasks without serving HTTP (scale them apart from the API).
    Worker,
    /// Probe this instance's `GET /health` on `HOST:PORT` (loopback for 0.0.0.0): exit 0 when it answers
    /// 200 within 3 s, else 1. For container health checks in images without curl.
    Healthcheck,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Validate the configuration and print a summary (without secrets).
    CheckConfig,
    /// Print the OpenAPI document as JSON.
    Openapi,
    /// Create an administrator (or promote an existing account). Without --password one is generated and printed.
    CreateAdmin {
        /// The administrator's email address.
        #[arg(long)]
        email: String,
        /// The password (else `ADMIN_PASSWORD`, else a generated one printed once).
        #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Write demo data once (a demo user, projects, tickets, posts, a week of status events) and print the
    /// demo credentials. Refused in staging and production. Used by `make run DEMO=1`.
    SeedDemo,
    /// Inspect and repair the background job queue (the back office of `/api/v1/admin/jobs`).
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Write a consistent copy of the SQLite database to PATH (a new file) while the server keeps serving.
    /// For PostgreSQL use pg_dump (docs/operations.md).
    Backup {
        /// The file to write; it must not exist.
        path: std::path::PathBuf,
    },
    /// `make bench`'s references: bare axum routes (`/plain`, `/select/{id}`) on HOST:PORT over the
    /// migrated DATABASE_URL, with no middleware. Not for deployments.
    #[command(hide = true)]
    BenchReference,
}

#[derive(Subcommand)]
enum JobsAction {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state: queued, running, done or dead.
        #[arg(long)]
        state: Option<String>,
        /// Only jobs of this queue.
        #[arg(long)]
        queue: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Run a dead (or waiting) job again now, with fresh attempts.
    Retry { id: uuid::Uuid },
    /// Delete a dead job.
    Discard { id: uuid::Uuid },
}

fn main() -> ExitCode {
    neoforge::allocator::tune();
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        let doc = neoforge::openapi::document();
        println!("{}", doc.to_pretty_json().expect("the OpenAPI document serialises"));
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck();
    }
    let mut settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            refuse_settings(&e.to_string());
            return ExitCode::from(2);
        }
    };
    // The runtime comes first: the OpenTelemetry export layer spawns its batch task on it.
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("neoforge: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let _entered = runtime.enter();
        telemetry::init(&settings);
    }
    // With JSON logs every line the process writes is a JSON object: a fatal error is logged, not printed.
    // (A setting that cannot be read is refused above in plain text: the log format is not known yet.)
    let json_logs = settings.telemetry.log_format == neoforge::config::LogFormat::Json;
    let fatal = |message: String| {
        tracing::error!(error = %message, "fatal");
        if !json_logs {
            eprintln!("neoforge: {message}");
        }
    };
    if let Err(e) = settings.ensure_secret_key() {
        fatal(format!("cannot prepare SECRET_KEY: {e:#}"));
        return ExitCode::from(2);
    }
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Worker => worker(settings).await,
            Command::Migrate => migrate(settings).await,
            Command::CheckConfig => {
                println!("configuration is valid: {settings:?}");
                Ok(())
            }
            Command::CreateAdmin { email, password } => create_admin(settings, &email, password.as_deref()).await,
            Command::SeedDemo => seed_demo(settings).await,
            Command::Backup { path } => backup(settings, &path).await,
            Command::Jobs { action } => jobs(settings, action).await,
            Command::BenchReference => {
                let addr = SocketAddr::new(settings.server.host, settings.server.port);
                neoforge::bench_reference::serve(&settings.database.url, settings.database.max_connections, addr).await
            }
            Command::Openapi | Command::Healthcheck => unreachable!("handled before the runtime starts"),
        }
    });
    // Spans still queued for the collector go out before the process ends.
    runtime.block_on(neoforge::otel::shutdown());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            fatal(format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let addr = SocketAddr::new(settings.server.host, settings.server.port);
    let state = server::build_state(settings).await?;
    neoforge::auth::bootstrap::ensure_admin(&state).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, environment = state.settings.environment.as_str(), "NeoForge is serving on http://{addr}");
    server::serve(state, listener, server::shutdown_signal()).await
}

/// A setting that cannot be read stops start-up with one line naming it. Logging is not set up yet, so
/// the format is read from the environment as the settings would: JSON lines when `LOG_FORMAT=json`, or
/// when it is unset in production — there every line the process writes is a JSON object.
fn refuse_settings(reason: &str) {
    let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_ascii_lowercase());
    let json = match var("LOG_FORMAT").as_deref() {
        Some("json") => true,
        Some(_) => false,
        None => var("ENVIRONMENT").as_deref() == Some("production"),
    };
    if json {
        let line = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            "level": "error",
            "target": "neoforge",
            "message": "fatal: invalid configuration",
            "error": reason,
        });
        eprintln!("{line}");
    } else {
        eprintln!("neoforge: {reason}");
    }
}

/// `GET /health` over a plain TCP connection (the probe needs no TLS and no HTTP client crate).
fn healthcheck() -> ExitCode {
    use std::io::{Read, Write};
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("neoforge: {e}");
            return ExitCode::from(2);
        }
    };
    let host = match settings.server.host {
        ip if ip.is_unspecified() => std::net::IpAddr::from([127, 0, 0, 1]),
        ip => ip,
    };
    let addr = SocketAddr::new(host, settings.server.port);
    let timeout = std::time::Duration::from_secs(3);
    let probe = || -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(String::from_utf8_lossy(&head).into_owned())
    };
    match probe() {
        Ok(status) if status == "HTTP/1.1 200" => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("neoforge: {addr}/health answered {status:?}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("neoforge: cannot reach {addr}/health: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn worker(settings: Settings) -> anyhow::Result<()> {
    let state = server::build_state(settings).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let tasks = neoforge::jobs::start(
        &state,
        neoforge::jobs::Registry::standard(),
        neoforge::periodic_tasks(),
        stopped,
    );
    tracing::info!("NeoForge worker is running (jobs and periodic tasks; no HTTP)");
    server::shutdown_signal().await;
    tracing::info!("shutdown started; no new jobs are claimed");
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    state.db.close().await;
    tracing::info!("shutdown complete");
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    let database = db::Db::connect(&settings.database.url, &db::PoolConfig::default()).await?;
    let applied = db::migrate::run(&database, db::migrate::embedded(&database)).await?;
    println!("migrations applied: {applied}");
    database.close().await;
    Ok(())
}

async fn create_admin(settings: Settings, email: &str, password: Option<&str>) -> anyhow::Result<()> {
    let state = server::build_state(settings).await?;
    let (outcome, generated) = neoforge::auth::bootstrap::create_admin(&state, email, password).await?;
    // A server running on the same SQLite file cannot be told of the change: the sessions it may have
    // cached expire within the cache's lifetime, so this command reports success only after it.
    if outcome != neoforge::auth::bootstrap::Outcome::Created && state.db.backend() == db::Backend::Sqlite {
        tokio::time::sleep(neoforge::auth::session_cache::MAX_AGE).await;
    }
    match (outcome, generated) {
        (neoforge::auth::bootstrap::Outcome::Created, Some(pw)) => {
            println!("created administrator {email}; password (shown once): {pw}")
        }
        (neoforge::auth::bootstrap::Outcome::Created, None) => println!("created administrator {email}"),
        (_, Some(pw)) => {
            println!("{email} is now an administrator; its sessions and 2FA were reset; password (shown once): {pw}")
        }
        (neoforge::auth::bootstrap::Outcome::PromotedAndReset, None) => {
            println!("{email} is now an administrator; its sessions and 2FA were reset (password as given)")
        }
        (neoforge::auth::bootstrap::Outcome::Promoted, None) => println!("{email} is now an administrator"),
    }
    state.db.close().await;
    Ok(())
}

async fn jobs(settings: Settings, action: JobsAction) -> anyhow::Result<()> {
    use neoforge::jobs::admin::{self, Actor};
    let state = server::build_state(settings).await?;
    let explain = |e: neoforge::error::ApiError| anyhow::anyhow!(e.detail);
    let result = match action {
        JobsAction::List {
            state: status,
            queue,
            limit,
        } => {
            let jobs = admin::recent(&state, status.as_deref(), queue.as_deref(), limit)
                .await
                .map_err(explain);
            jobs.map(|jobs| {
                println!(
                    "{:<36}  {:<8}  {:<12}  {:<7}  {:>8}  {:<20}  last error",
                    "id", "queue", "kind", "status", "attempts", "created"
                );
                for j in jobs {
                    println!(
                        "{:<36}  {:<8}  {:<12}  {:<7}  {:>3} / {:<2}  {:<20}  {}",
                        j.id,
                        j.queue,
                        j.kind,
                        j.status,
                        j.attempts,
                        j.max_attempts,
                        j.created_at.format("%Y-%m-%d %H:%M:%S"),
                        j.last_error.as_deref().unwrap_or("")
                    );
                }
            })
        }
        JobsAction::Retry { id } => admin::retry(&state, id, Actor::Cli)
            .await
            .map(|j| {
                println!(
                    "job {} is queued to run now (attempts start again at 0 of {})",
                    j.id, j.max_attempts
                )
            })
            .map_err(explain),
        JobsAction::Discard { id } => admin::discard(&state, id, Actor::Cli)
            .await
            .map(|()| println!("job {id} discarded"))
            .map_err(explain),
    };
    state.db.close().await;
    result
}

async fn backup(settings: Settings, path: &std::path::Path) -> anyhow::Result<()> {
    // No migrations and no background work: the copy is of the database as it is.
    let database = db::Db::connect(&settings.database.url, &db::PoolConfig::default()).await?;
    let copied = db::backup::sqlite_copy(&database, path).await;
    database.close().await;
    println!("backup written to {} ({} bytes)", path.display(), copied?);
    Ok(())
}

async fn seed_demo(settings: Settings) -> anyhow::Result<()> {
    let state = server::build_state(settings).await?;
    let seeded = neoforge::demo::seed(&state).await;
    state.db.close().await;
    let what = match seeded? {
        neoforge::demo::Seeded::Created => "demo data written",
        neoforge::demo::Seeded::AlreadyPresent => "demo data already present, nothing changed",
    };
    println!(
        "{what}; demo sign-in: {} / {}",
        neoforge::demo::DEMO_EMAIL,
        neoforge::demo::DEMO_PASSWORD
    );
    Ok(())
}
