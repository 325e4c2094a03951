//! Start-up and shutdown: build the state (connect, migrate), serve, and stop gracefully.

use std::{future::Future, net::SocketAddr};

use tokio::net::TcpListener;

use crate::{cache::Redis, config::Settings, db, state::AppState};

/// Connects to the database (migrating it) and to Redis when configured.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let pool = db::PoolConfig {
        max_connections: settings.database_max_connections,
        // While the database is down, waiting for a connection must end in a 503 before the request
        // timeout turns it into a 504.
        acquire_timeout: (settings.request_timeout / 2).min(db::PoolConfig::default().acquire_timeout),
    };
    let database = db::Db::connect(&settings.database_url, &pool).await?;
    let applied = db::migrate::run(&database, db::migrate::embedded(&database)).await?;
    if applied > 0 {
        tracing::info!(applied, "database migrated");
    }
    let redis = settings.redis_url.as_deref().map(Redis::new).transpose()?;
    let mailer = crate::email::Mailer::from_settings(&settings)?;
    Ok(AppState::new(settings, database, redis, mailer))
}

/// Serves until `shutdown` resolves, then: `/ready` turns 503, waits `SHUTDOWN_DELAY` so load balancers
/// notice, stops accepting, lets in-flight requests finish for at most `SHUTDOWN_TIMEOUT`.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = crate::app::build(state.clone());
    // Jobs stop being claimed as soon as shutdown begins; running ones finish or are handed back.
    let (jobs_stop, jobs_stopped) = tokio::sync::watch::channel(false);
    let background = match state.settings.job_workers {
        true => crate::jobs::start(&state, crate::jobs::Registry::standard(), jobs_stopped),
        false => Vec::new(),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal_state = state.clone();
    tokio::spawn(async move {
        shutdown.await;
        signal_state.begin_shutdown();
        tracing::info!("shutdown started; readiness is now 503");
        let _ = jobs_stop.send(true);
        tokio::time::sleep(signal_state.settings.shutdown_delay).await;
        let _ = stop_tx.send(true);
    });
    let mut stop = stop_rx.clone();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(
        async move {
            let _ = stop.wait_for(|v| *v).await;
        },
    );
    let drain = state.settings.shutdown_timeout;
    let mut stopped = stop_rx;
    let server = async move { server.await.map_err(anyhow::Error::from) };
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r?,
        _ = async {
            let _ = stopped.wait_for(|v| *v).await;
            tokio::time::sleep(drain).await;
        } => tracing::warn!(timeout = ?drain, "in-flight requests did not finish in time; stopping anyway"),
    }
    for task in background {
        let _ = task.await;
    }
    state.db.close().await;
    tracing::info!("shutdown complete");
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
