//! Start-up and shutdown: build the state (connect, migrate), serve, and stop gracefully.

use std::future::Future;

use tokio::net::TcpListener;

use crate::{cache::Redis, config::Settings, db, state::AppState};

/// Connects to the database (migrating it) and to Redis when configured.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let pool = db::PoolConfig {
        max_connections: settings.database.max_connections,
        // While the database is down, waiting for a connection must end in a 503 before the request
        // timeout turns it into a 504.
        acquire_timeout: (settings.server.request_timeout / 2).min(db::PoolConfig::default().acquire_timeout),
    };
    let database = db::Db::connect(&settings.database.url, &pool).await?;
    let applied = db::migrate::run(&database, db::migrate::embedded(&database)).await?;
    if applied > 0 {
        tracing::info!(applied, "database migrated");
    }
    let redis = settings.database.redis_url.as_deref().map(Redis::new).transpose()?;
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
    // On PostgreSQL the session cache is used only while this feed hears other instances' changes.
    let _session_feed = match &state.db {
        db::Db::Postgres(pg) => Some(crate::auth::session_cache::spawn_feed(pg)),
        db::Db::Sqlite { .. } => None,
    };
    // Jobs stop being claimed as soon as shutdown begins; running ones finish or are handed back.
    let (jobs_stop, jobs_stopped) = tokio::sync::watch::channel(false);
    let background = match state.settings.jobs.workers {
        true => crate::jobs::start(
            &state,
            crate::jobs::Registry::standard(),
            crate::periodic_tasks(),
            jobs_stopped,
        ),
        false => Vec::new(),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal_state = state.clone();
    tokio::spawn(async move {
        shutdown.await;
        signal_state.begin_shutdown();
        tracing::info!("shutdown started; readiness is now 503");
        let _ = jobs_stop.send(true);
        tokio::time::sleep(signal_state.settings.server.shutdown_delay).await;
        let _ = stop_tx.send(true);
    });
    let limits = connection::Limits {
        header: state.settings.server.header_timeout,
        idle: state.settings.server.keep_alive_timeout,
    };
    // Every connection task holds a sender; when the last one ends, `recv` returns `None`.
    let (open_tx, mut open_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut stop = stop_rx.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    tokio::spawn(connection::serve(stream, peer, app.clone(), limits, stop_rx.clone(), open_tx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            _ = async { let _ = stop.wait_for(|v| *v).await; } => break,
        }
    }
    drop(listener);
    drop(open_tx);
    let drain = state.settings.server.shutdown_timeout;
    if tokio::time::timeout(drain, open_rx.recv()).await.is_err() {
        tracing::warn!(timeout = ?drain, "in-flight requests did not finish in time; stopping anyway");
    }
    for task in background {
        let _ = task.await;
    }
    state.db.close().await;
    tracing::info!("shutdown complete");
    Ok(())
}

/// One HTTP/1.1 connection with the slow-client rules of spec §8: the request head must arrive within
/// `HEADER_TIMEOUT` (counted from the connection's start or the first byte of a later request), and a
/// keep-alive connection may idle between requests for at most `KEEP_ALIVE_TIMEOUT`. A request in flight
/// is bounded by `REQUEST_TIMEOUT` (the timeout layer) instead.
///
/// Why not hyper's own `header_read_timeout`: its clock also runs while a keep-alive connection idles, so
/// idle connections would be cut at the header deadline (10 s) rather than after 60 s.
mod connection {
    use std::{
        net::SocketAddr,
        pin::Pin,
        sync::{Arc, Mutex},
        task::{Context, Poll},
        time::Duration,
    };

    use axum::{Router, extract::ConnectInfo};
    use hyper_util::rt::TokioIo;
    use tokio::{
        io::{AsyncRead, AsyncWrite, ReadBuf},
        net::TcpStream,
        time::Instant,
    };
    use tower::ServiceExt;

    #[derive(Clone, Copy, Debug)]
    pub struct Limits {
        pub header: Duration,
        pub idle: Duration,
    }

    impl Limits {
        /// How often a connection looks at its clock: a quarter of the shorter deadline, at most 1 s.
        fn check_every(&self) -> Duration {
            (self.header.min(self.idle) / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
        }
    }

    /// What a connection is doing, for its deadlines.
    #[derive(Debug)]
    struct Phase {
        in_flight: usize,
        /// Since when the current request head has been arriving (set at accept and by the first byte
        /// after a response).
        head_since: Option<Instant>,
        /// The last activity while no request is in flight.
        idle_since: Instant,
    }

    #[derive(Debug)]
    struct Clock(Mutex<Phase>);

    impl Clock {
        fn new(now: Instant) -> Self {
            Clock(Mutex::new(Phase {
                in_flight: 0,
                head_since: Some(now),
                idle_since: now,
            }))
        }

        fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }

        fn read(&self, now: Instant) {
            let mut p = self.phase();
            if p.in_flight == 0 && p.head_since.is_none() {
                p.head_since = Some(now);
            }
        }

        fn wrote(&self, now: Instant) {
            let mut p = self.phase();
            if p.in_flight == 0 {
                p.idle_since = now;
            }
        }

        /// Why the connection must close now, if it must.
        fn expired(&self, now: Instant, limits: &Limits) -> Option<&'static str> {
            let p = self.phase();
            if p.in_flight > 0 {
                return None;
            }
            match p.head_since {
                Some(since) if now.duration_since(since) >= limits.header => Some("request head not received in time"),
                None if now.duration_since(p.idle_since) >= limits.idle => Some("keep-alive connection idle"),
                _ => None,
            }
        }
    }

    /// Marks a request in flight from the moment its head was parsed until its response is ready.
    struct InFlight(Arc<Clock>);

    impl InFlight {
        fn begin(clock: &Arc<Clock>) -> Self {
            let mut p = clock.phase();
            p.in_flight += 1;
            p.head_since = None;
            drop(p);
            InFlight(clock.clone())
        }
    }

    impl Drop for InFlight {
        fn drop(&mut self) {
            let mut p = self.0.phase();
            p.in_flight -= 1;
            p.idle_since = Instant::now();
        }
    }

    /// The socket, reporting reads and writes to the clock.
    struct Tracked {
        inner: TcpStream,
        clock: Arc<Clock>,
    }

    impl AsyncRead for Tracked {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let before = buf.filled().len();
            let res = Pin::new(&mut self.inner).poll_read(cx, buf);
            if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
                self.clock.read(Instant::now());
            }
            res
        }
    }

    impl AsyncWrite for Tracked {
        fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
            let res = Pin::new(&mut self.inner).poll_write(cx, data);
            if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
                self.clock.wrote(Instant::now());
            }
            res
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[std::io::IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            let res = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
            if matches!(res, Poll::Ready(Ok(n)) if n > 0) {
                self.clock.wrote(Instant::now());
            }
            res
        }

        fn is_write_vectored(&self) -> bool {
            self.inner.is_write_vectored()
        }
    }

    /// Serves one connection until it ends, breaks a deadline, or shutdown asks it to finish its request.
    pub async fn serve(
        stream: TcpStream,
        peer: SocketAddr,
        app: Router,
        limits: Limits,
        mut stop: tokio::sync::watch::Receiver<bool>,
        _open: tokio::sync::mpsc::Sender<()>,
    ) {
        let _ = stream.set_nodelay(true);
        let clock = Arc::new(Clock::new(Instant::now()));
        let io = TokioIo::new(Tracked {
            inner: stream,
            clock: clock.clone(),
        });
        let service_clock = clock.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            let in_flight = InFlight::begin(&service_clock);
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await;
                drop(in_flight);
                res
            }
        });
        let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
        tokio::pin!(conn);
        let mut tick = tokio::time::interval(limits.check_every());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopping = false;
        loop {
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = tick.tick() => {
                    if let Some(why) = clock.expired(Instant::now(), &limits) {
                        // Nothing is in flight: dropping the connection closes the socket.
                        tracing::debug!(peer = %peer, reason = why, "closing a slow or idle connection");
                        return;
                    }
                }
                _ = async { let _ = stop.wait_for(|v| *v).await; }, if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
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
