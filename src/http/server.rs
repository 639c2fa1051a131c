//! The accept loop and connection driver every listener uses (SPEC §8 "Connections").
//!
//! `axum::serve` accepts as fast as the kernel hands out sockets and keeps every one
//! until its peer leaves: a thousand silent sockets exhausted the file descriptors and
//! the server stopped answering, `/healthz` included. Here:
//!
//! - At most `max_connections` are open at once. At the cap the loop stops calling
//!   `accept`, so new connections wait in the kernel's backlog instead of failing with
//!   `EMFILE`, and connections with no request in progress are asked to close to make
//!   room (nginx does the same with its "reusable" connections): a flood of silent
//!   sockets can delay a new client, never lock it out.
//! - A request's head must arrive within `header_timeout` of its first byte (of the
//!   connection's start, for a new connection); a kept-alive connection with no request
//!   closes after `idle_timeout`. hyper's own `header_read_timeout` cannot do both: it
//!   starts as soon as hyper waits for a head, so it would also cut idle keep-alive
//!   connections at the header timeout.
//! - Request bodies must arrive within `body_timeout` (see [`super::body`]), and an
//!   answer given before its body was read never strands the client's next request.
//! - On shutdown the loop stops accepting, idle connections close at once, and
//!   requests in flight finish.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tower::ServiceExt as _;

use super::body::{self, ResponseGuard};
use crate::config::Config;

/// File descriptors kept for everything that is not a client connection: the store's
/// files or sockets, cookie-login verification requests, logs, the listeners.
const FD_RESERVE: usize = 128;

/// The connection limits of one listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn of(config: &Config) -> Self {
        Self {
            header_timeout: config.http_header_timeout,
            body_timeout: config.http_body_timeout,
            idle_timeout: config.http_idle_timeout,
            max_connections: config
                .max_connections
                .unwrap_or_else(default_max_connections),
        }
    }
}

/// What the process's file-descriptor limit allows, minus [`FD_RESERVE`] (at least 16).
pub fn default_max_connections() -> usize {
    let limit = fd_limit().unwrap_or(1024);
    limit.saturating_sub(FD_RESERVE).clamp(16, MAX_CONNECTIONS)
}

/// A connection is shed at the cap only after this long without a request: a client
/// that just connected has its request in flight, unread yet, and must not lose it.
const MIN_IDLE_TO_SHED: Duration = Duration::from_millis(250);

/// Upper bound of `max_connections` (the semaphore counts in `u32`).
pub const MAX_CONNECTIONS: usize = 1 << 20;

#[cfg(unix)]
fn fd_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as usize)
}

#[cfg(not(unix))]
fn fd_limit() -> Option<usize> {
    None
}

/// Serves `app` on `listener` until `stop` turns true, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let max = limits.max_connections.clamp(1, MAX_CONNECTIONS);
    let permits = Arc::new(Semaphore::new(max));
    let (shed, _) = watch::channel(0u64);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true);
    'accept: loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                tracing::warn!(max, "connection limit reached; closing idle connections");
                loop {
                    shed.send_modify(|round| *round += 1);
                    tokio::select! {
                        permit = permits.clone().acquire_owned() => break permit.expect("semaphore never closed"),
                        // Connections too young to shed at one round are old enough at a later one.
                        () = tokio::time::sleep(MIN_IDLE_TO_SHED) => {}
                        () = stopped(&mut stop) => break 'accept,
                    }
                }
            }
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break 'accept,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and friends: the reserve ran out. Waiting lets connections end.
                tracing::error!("accept error: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Watched {
            inner: stream,
            activity: activity.clone(),
        });
        let service = {
            let app = app.clone();
            let activity = activity.clone();
            hyper::service::service_fn(move |request: Request<Incoming>| {
                handle(app.clone(), request, peer, limits.body_timeout, &activity)
            })
        };
        let connection = http.serve_connection(io, service);
        let (shed, stop) = (shed.subscribe(), stop.clone());
        tokio::spawn(async move {
            drive(connection, &activity, limits, shed, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    // Every connection holds a permit until it is closed.
    let _ = permits.acquire_many(max as u32).await;
    Ok(())
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// One request through the router, with the body limits and the peer address.
fn handle(
    app: Router,
    request: Request<Incoming>,
    peer: SocketAddr,
    body_timeout: Duration,
    activity: &Arc<Activity>,
) -> impl std::future::Future<Output = Result<Response<Body>, Infallible>> {
    let guard = ResponseGuard::new(activity.clone());
    let (mut parts, incoming) = request.into_parts();
    let (request_body, progress) = body::RequestBody::new(incoming, body_timeout);
    parts.extensions.insert(ConnectInfo(peer));
    let request = Request::from_parts(parts, Body::new(request_body));
    async move {
        let Ok(response) = app.oneshot(request).await;
        Ok(body::finish(response, progress, guard).await)
    }
}

/// Runs one connection until it ends, times out, is shed, or shutdown finishes it.
async fn drive<C>(
    connection: C,
    activity: &Activity,
    limits: Limits,
    mut shed: watch::Receiver<u64>,
    mut stop: watch::Receiver<bool>,
) where
    C: std::future::Future<Output = Result<(), hyper::Error>> + GracefulShutdown,
{
    let mut connection = std::pin::pin!(connection);
    let mut stopping = false;
    loop {
        let deadline = activity.deadline(&limits);
        let expired = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            // Dropping the connection closes the socket; no request is in progress.
            () = expired => if activity.deadline(&limits).is_some_and(|at| at <= Instant::now()) {
                return;
            },
            () = activity.changed.notified() => {}
            Ok(()) = shed.changed() => if activity.reusable() {
                return;
            },
            () = stopped(&mut stop), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Lets [`drive`] shut down the connection types it is given.
pub trait GracefulShutdown {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S> GracefulShutdown for hyper::server::conn::http1::Connection<I, S>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: hyper::service::HttpService<Incoming>,
    S::ResBody: hyper::body::Body + 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self)
    }
}

/// What a connection is doing, for its timeouts.
pub struct Activity {
    state: Mutex<State>,
    /// Woken when the last request in progress finishes (a new deadline starts).
    changed: Notify,
}

struct State {
    /// Requests whose answer is not fully written yet.
    in_flight: usize,
    /// Start of the current wait: for a head, or idle.
    since: Instant,
    /// The wait is for a request head (a new connection, or bytes arrived while idle).
    awaiting_head: bool,
    /// Bytes of a next request arrived since the last answer (the connection is in use).
    bytes_seen: bool,
}

impl Activity {
    fn new() -> Self {
        Self {
            state: Mutex::new(State {
                in_flight: 0,
                since: Instant::now(),
                awaiting_head: true,
                bytes_seen: false,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the connection must close if nothing happens; `None` while a request runs.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let state = self.lock();
        if state.in_flight > 0 {
            return None;
        }
        let timeout = if state.awaiting_head {
            limits.header_timeout
        } else {
            limits.idle_timeout
        };
        Some(state.since + timeout)
    }

    /// No request in progress and none arriving for a while: closing it loses nothing.
    fn reusable(&self) -> bool {
        let state = self.lock();
        state.in_flight == 0 && !state.bytes_seen && state.since.elapsed() >= MIN_IDLE_TO_SHED
    }

    fn on_bytes(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && !state.bytes_seen {
            state.bytes_seen = true;
            if !state.awaiting_head {
                state.awaiting_head = true;
                state.since = Instant::now();
            }
        }
    }

    pub(super) fn request_started(&self) {
        let mut state = self.lock();
        state.in_flight += 1;
        state.awaiting_head = false;
        state.bytes_seen = false;
    }

    pub(super) fn request_finished(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.since = Instant::now();
            state.awaiting_head = false;
            state.bytes_seen = false;
            drop(state);
            self.changed.notify_one();
        }
    }
}

/// The socket, telling its connection's [`Activity`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.on_bytes();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
