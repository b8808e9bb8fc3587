//! Connections: accepted up to a limit, each request's head read within a time limit, all
//! closed gracefully at shutdown.
//!
//! `axum::serve` has neither bound: it gives hyper no timer, and without one hyper waits
//! for a request head forever, so a client that opens connections and sends nothing, or
//! sends its headers a byte at a time, holds a task and a file descriptor for each as long
//! as it likes, until the process runs out of descriptors and accepts nobody. This is the
//! same accept loop with both bounds:
//! - **Header read timeout**: a request's head (request line and headers) must arrive
//!   within [`Limits::header_read_timeout`] of the first moment the server waits for it,
//!   which is also how long a kept-alive connection may sit idle between requests; then
//!   the connection is closed.
//! - **Write stall timeout**: an answer whose bytes make no progress for
//!   [`Limits::write_timeout`] (a client that stops reading fills its receive window)
//!   ends the connection; a slow reader that keeps reading is not cut off.
//! - **Connection limit**: at most [`Limits::max_connections`] at once; beyond it the
//!   server stops accepting (new connections wait in the kernel's queue) until one closes.
//! - **Shutdown**: the server stops accepting, lets each connection finish the request it
//!   is serving, and after [`SHUTDOWN_GRACE`] drops the ones still open.
//!
//! A request's body is read by its handler, under the request time limit (408 `timeout`)
//! and the body size limits (413).

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Sleep;
use tower::ServiceExt as _;

/// File descriptors kept for everything but client connections: the database pool, the
/// log, static files, SMTP.
const RESERVED_DESCRIPTORS: u64 = 256;

/// How long a stopping server waits for its connections to finish before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long to wait before accepting again after an error that is not one connection's
/// (out of file descriptors, most likely).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The bounds on connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Longest wait for a request's head, and longest idle time of a kept-alive
    /// connection.
    pub header_read_timeout: Duration,
    /// Longest time an answer may go without any of its bytes being taken by the client.
    pub write_timeout: Duration,
}

impl Limits {
    /// The timeouts, and as many connections as `wanted` or as the process's file
    /// descriptors allow (after [`RESERVED_DESCRIPTORS`]), whichever is fewer. On Linux
    /// the soft descriptor limit is first raised to the hard one.
    pub fn new(wanted: usize, header_read_timeout: Duration, write_timeout: Duration) -> Self {
        let descriptors = raise_descriptor_limit();
        let allowed = descriptors.map_or(wanted, |limit| {
            usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS).max(1)).unwrap_or(wanted)
        });
        Self {
            max_connections: wanted.min(allowed),
            header_read_timeout,
            write_timeout,
        }
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one and returns it (`None`: unknown or
/// unlimited).
#[cfg(target_os = "linux")]
fn raise_descriptor_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if setrlimit(Resource::Nofile, limit).is_err() {
            limit = getrlimit(Resource::Nofile);
        }
    }
    limit.current
}

#[cfg(not(target_os = "linux"))]
fn raise_descriptor_limit() -> Option<u64> {
    None
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, lets each connection finish the request it is serving, and returns once all
/// are closed or [`SHUTDOWN_GRACE`] has passed. Handlers see the client's address as
/// `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let max = u32::try_from(limits.max_connections)
        .unwrap_or(u32::MAX)
        .max(1);
    let slots = Arc::new(Semaphore::new(max as usize));
    let (phase, phase_seen) = watch::channel(Phase::Serving);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut shutdown = pin!(shutdown);

    loop {
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    if !is_one_connections_error(&error) {
                        tracing::error!(%error, "cannot accept connections; pausing");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                    continue;
                }
            },
        };
        // Small JSON answers: send them now rather than wait to fill a segment.
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(remote));
                request.map(Body::new)
            });
        let io = WriteDeadline {
            stream,
            limit: limits.write_timeout,
            stalled: None,
        };
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let mut phase_seen = phase_seen.clone();
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = reached(&mut phase_seen, Phase::Closing) => {
                    connection.as_mut().graceful_shutdown();
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        () = reached(&mut phase_seen, Phase::Dropping) => {}
                    }
                }
            }
            drop(slot);
        });
    }

    drop(listener);
    phase.send_replace(Phase::Closing);
    // Every connection holds a slot until it has closed: all slots free, all closed.
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(max))
        .await
        .is_err()
    {
        let open = max as usize - slots.available_permits();
        tracing::warn!(
            open,
            "connections still open after the shutdown grace; dropping them"
        );
        phase.send_replace(Phase::Dropping);
        let _ = slots.acquire_many(max).await;
    }
}

/// Where a server is in its life, as its connections see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Serving,
    /// Finish the request being served, then close.
    Closing,
    /// Close now.
    Dropping,
}

/// Completes once the server has reached `wanted` (or the loop that would say so is gone).
async fn reached(phase: &mut watch::Receiver<Phase>, wanted: Phase) {
    let _ = phase.wait_for(|now| *now >= wanted).await;
}

/// A client connection whose writes fail once they have made no progress for `limit`.
struct WriteDeadline {
    stream: TcpStream,
    limit: Duration,
    /// Running while a write or flush waits for the client to take bytes.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl WriteDeadline {
    /// `attempt`, unless it is still waiting and has been for `limit`.
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        attempt: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if attempt.is_ready() {
            self.stalled = None;
            return attempt;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.progress(cx, attempt)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.progress(cx, attempt)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_flush(cx);
        this.progress(cx, attempt)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Errors that concern only the connection being accepted (it went away before we took
/// it), after which accepting again at once is right.
fn is_one_connections_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
