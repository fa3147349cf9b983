//! Serving connections: latchd's own accept loop over hyper-util, for what
//! `axum::serve` doesn't give — timeouts, connection caps, and one answer to
//! "who is the client" (`proxy::client_ip`) put on every request.
//!
//! `axum::serve` gives hyper no timer, so a socket that sent half a request
//! line was held forever; seventy of them exhausted a server with a low file
//! limit. Here every connection has:
//!
//! * a header-read timeout: a request head must arrive whole within
//!   `--header-read-timeout` of its first byte (or of the connection's
//!   start, for its first request);
//! * an idle timeout: a keep-alive connection with no request in flight is
//!   closed after `--idle-connection-timeout`. An open event stream is a
//!   request in flight, so it is never idle;
//! * a send timeout: a connection that takes none of what latchd is sending
//!   for `--send-timeout` is closed, so a stalled reader (an event stream
//!   nobody drains) can't hold its buffers forever.
//!
//! hyper's own `header_read_timeout` is off: it runs from the moment the
//! connection waits for a head, so between keep-alive requests it would be
//! the idle timeout too, and one can't be 10 s while the other is 60 s.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::IntoResponse;
use axum::Router;
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::error::ApiError;
use crate::limits::requester_key;
use crate::proxy::{self, TrustedProxies};

/// File descriptors kept for everything but client connections: stdio, the
/// listener, the database and its WAL and SHM, SMTP, the runtime's own.
const RESERVED_FDS: u64 = 64;

/// At most one "cap reached" line per cap this often, with the count since.
const CAP_LOG_EVERY: Duration = Duration::from_secs(10);

/// How latchd serves connections (`config::ServeArgs`, checked).
#[derive(Debug, Clone)]
pub struct ConnOptions {
    pub header_read_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub send_timeout: Option<Duration>,
    pub max_connections: usize,
    /// 0: no per-IP cap.
    pub max_connections_per_ip: usize,
    pub trusted_proxies: TrustedProxies,
}

/// Serves `app` on `listener` until `signal` resolves; then stops
/// accepting, tells every connection to finish (the event streams end on
/// `shutdown`, which the caller sets), and waits for them.
pub async fn run(
    listener: TcpListener,
    app: Router,
    options: ConnOptions,
    shutdown: watch::Receiver<bool>,
    signal: impl Future<Output = ()>,
) {
    let caps = Arc::new(Caps::new(&options));
    let options = Arc::new(options);
    // Every connection task holds a clone; when all are gone, so are they.
    let (all_closed, open) = watch::channel(());
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let Some(admitted) = caps.admit(peer.ip(), &options.trusted_proxies) else {
            // Dropping the socket closes it: the client sees a reset, not a hang.
            continue;
        };
        tracing::trace!(%peer, "connection accepted");
        // Without TCP_NODELAY an event frame written right after the stream's
        // headers waits for the peer's delayed ACK (Nagle): ~40 ms per revoke.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "can't set TCP_NODELAY");
        }
        let connection = Connection {
            app: app.clone(),
            options: options.clone(),
            caps: caps.clone(),
            peer,
            shutdown: shutdown.clone(),
            open: open.clone(),
        };
        tokio::spawn(connection.serve(stream, admitted));
    }
    drop(listener);
    drop(open);
    all_closed.closed().await;
}

/// What an accept error means: a connection that went before it was
/// accepted is nothing; anything else (out of file descriptors) is logged
/// and waited out, as hyper's server did.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "can't accept a connection; trying again in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection and what its requests need.
struct Connection {
    app: Router,
    options: Arc<ConnOptions>,
    caps: Arc<Caps>,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
    open: watch::Receiver<()>,
}

impl Connection {
    async fn serve(self, stream: TcpStream, admitted: Admitted) {
        let activity = Arc::new(Mutex::new(Activity::new()));
        let io = TokioIo::new(Watched::new(stream, activity.clone(), &self.options));
        let peer = self.peer.ip();
        let (app, options, caps) = (self.app, self.options, self.caps);
        let service = hyper::service::service_fn(move |request| {
            handle(
                request,
                app.clone(),
                peer,
                InFlight::begin(&activity),
                options.clone(),
                caps.clone(),
            )
        });
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(None);
        builder.http2().timer(TokioTimer::new());
        let connection = builder.serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut shutdown = self.shutdown;
        let mut stopping = false;
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(peer = %self.peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = crate::http::shutdown_signalled(&mut shutdown), if !stopping => {
                    stopping = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
        drop(admitted);
        drop(self.open);
    }
}

/// One request: the client's address found and put on it, the per-IP cap
/// counted for a client behind a trusted proxy, and the response body made
/// to hold the request's place until it ends.
async fn handle(
    mut request: hyper::Request<Incoming>,
    app: Router,
    peer: IpAddr,
    in_flight: InFlight,
    options: Arc<ConnOptions>,
    caps: Arc<Caps>,
) -> Result<hyper::Response<Body>, std::convert::Infallible> {
    let (client, error) = proxy::client_ip(peer, request.headers(), &options.trusted_proxies);
    if let Some(error) = error {
        tracing::warn!(proxy = %peer, %error, "ignored X-Forwarded-For from a trusted proxy; counting the request as the proxy's");
    }
    // Behind a proxy, one connection carries many clients: their cap is
    // counted per request, for as long as its response (a stream) lasts.
    let slot = match client.forwarded {
        false => None,
        true => match caps.per_ip(client.ip) {
            Some(slot) => Some(slot),
            None => {
                let refused = ApiError::RateLimited { retry_after_s: 1 }.into_response();
                return Ok(refused.map(|body| Guarded::wrap(body, in_flight, None)));
            }
        },
    };
    request.extensions_mut().insert(client);
    let response = match app.oneshot(request.map(Body::new)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    Ok(response.map(|body| Guarded::wrap(body, in_flight, slot)))
}

/// A response body that keeps its request counted (in flight on its
/// connection, and against its client's cap) until it ends or is dropped.
struct Guarded {
    body: Body,
    _in_flight: InFlight,
    _slot: Option<IpSlot>,
}

impl Guarded {
    fn wrap(body: Body, in_flight: InFlight, slot: Option<IpSlot>) -> Body {
        Body::new(Guarded {
            body,
            _in_flight: in_flight,
            _slot: slot,
        })
    }
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

// --------------------------------------------------------------- the caps

/// `--max-connections` and `--max-connections-per-ip`.
struct Caps {
    total: Arc<Semaphore>,
    max_total: usize,
    max_per_ip: usize,
    per_ip: IpCounts,
    total_log: CapLog,
    per_ip_log: CapLog,
}

/// What an admitted connection holds until it closes.
struct Admitted {
    _permit: OwnedSemaphorePermit,
    _slot: Option<IpSlot>,
}

impl Caps {
    fn new(options: &ConnOptions) -> Self {
        Self {
            total: Arc::new(Semaphore::new(options.max_connections)),
            max_total: options.max_connections,
            max_per_ip: options.max_connections_per_ip,
            per_ip: Arc::default(),
            total_log: CapLog::default(),
            per_ip_log: CapLog::default(),
        }
    }

    /// A place for a connection from `peer`, or `None` (and a log line)
    /// when a cap is reached. A trusted proxy's connections count toward
    /// the total only: its clients are counted per request.
    fn admit(&self, peer: IpAddr, trusted: &TrustedProxies) -> Option<Admitted> {
        let peer = peer.to_canonical();
        let Ok(permit) = self.total.clone().try_acquire_owned() else {
            self.total_log.hit(|refused| {
                tracing::warn!(
                    max_connections = self.max_total,
                    refused,
                    "connection refused: --max-connections reached"
                );
            });
            return None;
        };
        let slot = match trusted.contains(peer) {
            true => None,
            false => Some(self.per_ip(peer)?),
        };
        Some(Admitted {
            _permit: permit,
            _slot: slot,
        })
    }

    /// A place for one more connection or request from `ip` (per /64 for
    /// IPv6), or `None` (and a log line) at `--max-connections-per-ip`.
    fn per_ip(&self, ip: IpAddr) -> Option<IpSlot> {
        if self.max_per_ip == 0 {
            return Some(IpSlot(None));
        }
        let key = requester_key(ip.to_canonical());
        let mut counts = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.entry(key).or_insert(0);
        if *count >= self.max_per_ip {
            drop(counts);
            self.per_ip_log.hit(|refused| {
                tracing::warn!(
                    client = %key,
                    max_connections_per_ip = self.max_per_ip,
                    refused,
                    "connection refused: --max-connections-per-ip reached for this client"
                );
            });
            return None;
        }
        *count += 1;
        Some(IpSlot(Some((self.per_ip.clone(), key))))
    }
}

/// One connection (or proxied request) counted against an address.
struct IpSlot(Option<(IpCounts, IpAddr)>);

/// Open connections (or proxied requests) per client key.
type IpCounts = Arc<Mutex<HashMap<IpAddr, usize>>>;

impl Drop for IpSlot {
    fn drop(&mut self) {
        let Some((counts, key)) = self.0.take() else {
            return;
        };
        let mut counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&key);
            }
        }
    }
}

/// Logs a cap's refusals: the first at once, then at most one line per
/// [`CAP_LOG_EVERY`] with how many were refused since.
#[derive(Default)]
struct CapLog(Mutex<(Option<Instant>, u64)>);

impl CapLog {
    fn hit(&self, log: impl FnOnce(u64)) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (last, refused) = &mut *state;
        *refused += 1;
        if last.is_none_or(|at| at.elapsed() >= CAP_LOG_EVERY) {
            *last = Some(Instant::now());
            let count = std::mem::take(refused);
            drop(state);
            log(count);
        }
    }
}

/// `--max-connections`, fitted under the file-descriptor limit: the soft
/// limit is raised toward the hard one first, and what still doesn't fit
/// lowers the cap, said in the log.
pub fn fit_to_file_limit(max_connections: usize) -> usize {
    let wanted = (max_connections as u64).saturating_add(RESERVED_FDS);
    match raise_file_limit(wanted) {
        Some(limit) if limit < wanted => {
            let fitted = limit.saturating_sub(RESERVED_FDS).max(limit / 2).max(1);
            let fitted = usize::try_from(fitted).unwrap_or(max_connections);
            tracing::warn!(
                file_limit = limit,
                max_connections,
                lowered_to = fitted,
                "the file-descriptor limit (RLIMIT_NOFILE, `ulimit -n`) is below --max-connections; \
                 lowered --max-connections to {fitted} to fit"
            );
            fitted
        }
        _ => max_connections,
    }
}

/// Raises the soft RLIMIT_NOFILE toward `wanted` (at most the hard limit);
/// answers the soft limit now in force, `None` for unlimited or unknown.
#[cfg(unix)]
fn raise_file_limit(wanted: u64) -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current?;
    if current >= wanted {
        return Some(current);
    }
    let raised = limit.maximum.map_or(wanted, |hard| hard.min(wanted));
    if raised > current {
        let new = rustix::process::Rlimit {
            current: Some(raised),
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, new) {
            Ok(()) => {
                tracing::info!(
                    from = current,
                    to = raised,
                    "raised the file-descriptor limit"
                );
                return Some(raised);
            }
            Err(e) => tracing::debug!(error = %e, "can't raise the file-descriptor limit"),
        }
    }
    Some(current)
}

#[cfg(not(unix))]
fn raise_file_limit(_wanted: u64) -> Option<u64> {
    None
}

// ----------------------------------------------------------- the timeouts

/// What a connection is doing, for its read deadline: shared by its IO
/// (which reads and times out) and its service (which sees requests begin
/// and their responses end).
struct Activity {
    /// Requests whose response hasn't ended (an event stream is one).
    in_flight: usize,
    /// No request has begun on this connection yet.
    fresh: bool,
    /// When the connection last went without a request in flight.
    waiting_since: Instant,
    /// When the bytes of the next request head began to arrive.
    head_since: Option<Instant>,
    /// The connection's task, parked on a read while a request was in
    /// flight: woken when the last one ends, so its idle deadline is set.
    reader: Option<std::task::Waker>,
}

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: 0,
            fresh: true,
            waiting_since: Instant::now(),
            head_since: None,
            reader: None,
        }
    }

    /// When a connection waiting for a request is closed, and why.
    fn read_deadline(&self, options: &Timeouts) -> Option<(Instant, &'static str)> {
        if self.in_flight > 0 {
            return None;
        }
        let (since, timeout, why) = match (self.head_since, self.fresh) {
            (Some(since), _) => (since, options.header_read, "request head not sent in time"),
            (None, true) => (
                self.waiting_since,
                options.header_read,
                "no request sent in time",
            ),
            (None, false) => (self.waiting_since, options.idle, "idle keep-alive"),
        };
        timeout.map(|timeout| (since + timeout, why))
    }
}

/// A request counted in flight on its connection until dropped.
struct InFlight(Arc<Mutex<Activity>>);

impl InFlight {
    fn begin(activity: &Arc<Mutex<Activity>>) -> Self {
        let mut state = activity.lock().unwrap_or_else(PoisonError::into_inner);
        state.in_flight += 1;
        state.fresh = false;
        state.head_since = None;
        drop(state);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.waiting_since = Instant::now();
            if let Some(reader) = state.reader.take() {
                reader.wake();
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header_read: Option<Duration>,
    idle: Option<Duration>,
    send: Option<Duration>,
}

/// A socket whose reads time out while it waits for a request and whose
/// writes time out when the peer takes nothing ([`Activity`]).
struct Watched {
    io: TcpStream,
    activity: Arc<Mutex<Activity>>,
    timeouts: Timeouts,
    read_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl Watched {
    fn new(io: TcpStream, activity: Arc<Mutex<Activity>>, options: &ConnOptions) -> Self {
        Self {
            io,
            activity,
            timeouts: Timeouts {
                header_read: options.header_read_timeout,
                idle: options.idle_timeout,
                send: options.send_timeout,
            },
            read_timer: None,
            write_timer: None,
        }
    }

    fn activity(&self) -> std::sync::MutexGuard<'_, Activity> {
        self.activity.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A read that would wait: an error once the connection's read deadline
    /// has passed.
    fn poll_read_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let deadline = {
            let mut state = self.activity();
            let deadline = state.read_deadline(&self.timeouts);
            let parked = state.reader.as_ref();
            if state.in_flight > 0 && !parked.is_some_and(|w| w.will_wake(cx.waker())) {
                state.reader = Some(cx.waker().clone());
            }
            deadline
        };
        let Some((deadline, why)) = deadline else {
            self.read_timer = None;
            return Poll::Pending;
        };
        let timer = self
            .read_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        ready!(timer.as_mut().poll(cx));
        tracing::debug!(why, "closing a connection");
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why)))
    }

    /// A write that would wait: an error once the peer has taken nothing
    /// for the send timeout. Any progress starts the wait again.
    fn stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some(send) = self.timeouts.send else {
            return Poll::Pending;
        };
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(send)));
        ready!(timer.as_mut().poll(cx));
        tracing::debug!("closing a connection: the peer took nothing for the send timeout");
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer stopped reading",
        ))
    }

    fn written<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.write_timer = None;
                Poll::Ready(result)
            }
            Poll::Pending => self.stalled(cx).map(Err),
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let mut state = self.activity();
                    if state.in_flight == 0 && state.head_since.is_none() {
                        // A fresh connection's first head is timed from
                        // its start, a later one from its first byte.
                        let since = match state.fresh {
                            true => state.waiting_since,
                            false => Instant::now(),
                        };
                        state.head_since = Some(since);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_read_deadline(cx),
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.written(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.written(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.written(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_shutdown(cx);
        self.written(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(per_ip: usize, total: usize) -> ConnOptions {
        ConnOptions {
            header_read_timeout: None,
            idle_timeout: None,
            send_timeout: None,
            max_connections: total,
            max_connections_per_ip: per_ip,
            trusted_proxies: TrustedProxies::new(vec![
                crate::proxy::parse_network("10.0.0.1").unwrap()
            ]),
        }
    }

    #[tokio::test]
    async fn caps_count_per_client_and_in_total_and_free_on_drop() {
        let opts = options(2, 3);
        let caps = Caps::new(&opts);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let one = caps.admit(a, &opts.trusted_proxies).unwrap();
        let two = caps.admit(a, &opts.trusted_proxies).unwrap();
        assert!(caps.admit(a, &opts.trusted_proxies).is_none(), "per IP");
        let proxy = caps
            .admit("10.0.0.1".parse().unwrap(), &opts.trusted_proxies)
            .unwrap();
        assert!(
            caps.admit("192.0.2.2".parse().unwrap(), &opts.trusted_proxies)
                .is_none(),
            "in total"
        );
        drop((one, proxy));
        let _three = caps.admit(a, &opts.trusted_proxies).unwrap();
        drop(two);
        assert!(caps.per_ip.lock().unwrap().get(&a) == Some(&1));
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let opts = options(1, 10);
        let caps = Caps::new(&opts);
        let _held = caps.per_ip(v6("2001:db8::1")).unwrap();
        assert!(caps.per_ip(v6("2001:db8::2")).is_none(), "one /64");
        assert!(Caps::new(&options(0, 10)).per_ip(a).is_some());
    }

    #[test]
    fn deadlines_follow_what_the_connection_is_doing() {
        let timeouts = Timeouts {
            header_read: Some(Duration::from_secs(10)),
            idle: Some(Duration::from_secs(60)),
            send: None,
        };
        let mut state = Activity::new();
        let start = state.waiting_since;
        assert_eq!(
            state.read_deadline(&timeouts).map(|(at, _)| at),
            Some(start + Duration::from_secs(10)),
            "a new connection sends its first head within the header timeout"
        );
        state.in_flight = 1;
        state.fresh = false;
        assert!(
            state.read_deadline(&timeouts).is_none(),
            "never while a request (a stream) runs"
        );
        state.in_flight = 0;
        assert_eq!(
            state.read_deadline(&timeouts).map(|(at, _)| at),
            Some(start + Duration::from_secs(60))
        );
        state.head_since = Some(start + Duration::from_secs(50));
        assert_eq!(
            state.read_deadline(&timeouts).map(|(at, _)| at),
            Some(start + Duration::from_secs(60))
        );
    }
}
