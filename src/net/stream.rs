//! Bytes on sockets, for every link: TCP (with keepalive and, when dialed so, TLS) or unix
//! sockets, with bounded waits, peeking without blocking, and one way to cut a socket from
//! another thread. Knows nothing of Redis.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockRef, Socket, TcpKeepalive, Type};

use crate::config::{NodeAddr, SentinelAddr};
use crate::net::resolve::resolve;
use crate::net::tls::{Dial, TlsLink};

/// Has the kernel probe `tcp` once it has been silent for `idle`, then every third of that,
/// and reset it after three unanswered probes. Zero leaves keepalive off.
fn keep_alive(tcp: &TcpStream, idle: Duration) -> io::Result<()> {
    if idle.is_zero() {
        return Ok(());
    }
    let probes = TcpKeepalive::new()
        .with_time(idle)
        .with_interval((idle / 3).max(Duration::from_secs(1)))
        .with_retries(3);
    SockRef::from(tcp).set_tcp_keepalive(&probes)
}

/// The socket of every link: to a sentinel, to a data node, or a ROLE probe. TCP (with TLS when
/// dialed so) or a unix socket.
pub enum Stream {
    Tcp(Shared<TcpStream>),
    Unix(Shared<UnixStream>),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Shared<TcpStream>>>),
}

/// A socket that its link reads and writes and a [`SocketHandle`] can cut from another thread:
/// one file descriptor for both (a duplicate per connection would halve how many connections
/// a process's descriptor limit allows).
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    pub(crate) fn new(socket: T) -> Self {
        Shared(Arc::new(socket))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Read for Shared<T>
where
    for<'a> &'a T: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl<T> Write for Shared<T>
where
    for<'a> &'a T: Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self.0).flush()
    }
}

/// A handle on a stream's socket, the one way for another thread to cut it: a read blocked on
/// the stream then returns at once, and so does a connect under way (with ECONNRESET).
#[derive(Clone)]
pub(crate) enum SocketHandle {
    Tcp(Arc<TcpStream>),
    Unix(Arc<UnixStream>),
}

impl SocketHandle {
    pub fn shut_down(&self) {
        // Best effort: a socket that is already shut or closed has nothing left to wake.
        let _ = match self {
            SocketHandle::Tcp(s) => s.shutdown(Shutdown::Both),
            SocketHandle::Unix(s) => s.shutdown(Shutdown::Both),
        };
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Tcp(_) => "Stream::Tcp",
            Stream::Unix(_) => "Stream::Unix",
            Stream::Tls(_) => "Stream::Tls",
        })
    }
}

impl Stream {
    pub(crate) fn connect(
        addr: &SentinelAddr,
        timeout: Duration,
        dial: &Dial,
    ) -> io::Result<Stream> {
        match addr {
            SentinelAddr::Unix(path) => UnixStream::connect(path).map(Stream::unix),
            SentinelAddr::Tcp(node) => Self::connect_tcp(node, timeout, dial, |_| ()).map(|c| c.0),
        }
    }

    pub(crate) fn unix(socket: UnixStream) -> Stream {
        Stream::Unix(Shared::new(socket))
    }

    /// TCP (with TCP_NODELAY, and keepalive as `dial` says) to the first address of `node`
    /// that answers, wrapped in TLS when `dial` says so. The name lookup and every address
    /// tried share the one `timeout`. `watch` is handed each socket before its connect starts,
    /// so another thread can cut a connect it no longer wants (to a node the client has left)
    /// instead of waiting out the timeout; what it returns is kept with the stream.
    pub(crate) fn connect_tcp<G>(
        node: &NodeAddr,
        timeout: Duration,
        dial: &Dial,
        mut watch: impl FnMut(SocketHandle) -> G,
    ) -> io::Result<(Stream, G)> {
        let deadline = Instant::now() + timeout;
        let mut last_err = io::Error::new(io::ErrorKind::NotFound, "host has no address");
        for sock_addr in resolve(&node.host, node.port, deadline)? {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no address of {} answered within the connect timeout",
                        node.host
                    ),
                ));
            }
            let tcp = Arc::new(unconnected_socket(&sock_addr)?);
            let watched = watch(SocketHandle::Tcp(tcp.clone()));
            match SockRef::from(&*tcp).connect_timeout(&sock_addr.into(), left) {
                Ok(()) => {
                    tcp.set_nodelay(true)?;
                    keep_alive(&tcp, dial.keepalive)?;
                    let tcp = Shared(tcp);
                    let stream = match &dial.tls {
                        Some(tls) => Self::wrap_tls(tcp, &node.host, tls)?,
                        None => Stream::Tcp(tcp),
                    };
                    return Ok((stream, watched));
                }
                Err(err) => last_err = connect_error(err, left),
            }
        }
        Err(last_err)
    }

    /// Completes a TLS handshake now (bounded by the socket timeouts), so a refused
    /// certificate fails the connect rather than the first command.
    pub(crate) fn handshake(&mut self) -> io::Result<()> {
        if let Stream::Tls(tls) = self {
            while tls.conn.is_handshaking() {
                tls.conn.complete_io(&mut tls.sock)?;
            }
        }
        Ok(())
    }

    pub(crate) fn socket(&self) -> SockRef<'_> {
        match self {
            Stream::Tcp(s) => SockRef::from(&**s),
            Stream::Unix(s) => SockRef::from(&**s),
            Stream::Tls(s) => SockRef::from(&*s.sock),
        }
    }

    /// True when nothing waits on the socket: the peer has neither closed it nor sent bytes
    /// that no request asked for, and keepalive probes have not given up on it. One syscall;
    /// for links that sat idle.
    pub(crate) fn is_quiet(&self) -> bool {
        matches!(self.readable_within(Duration::ZERO), Ok(false))
    }

    /// Spins (without sleeping) until bytes wait on the socket, or `budget` has passed: whether
    /// they came in time, or `None` when it could not spin (the read that follows reports why).
    pub(crate) fn spin_until_readable(&self, budget: Duration) -> Option<bool> {
        if let Stream::Tls(tls) = self {
            if tls.conn.wants_write() {
                return None; // a handshake or alert is still going out: read normally
            }
        }
        self.readable_within(budget).ok()
    }

    /// Peeks at the socket without sleeping, again and again for up to `budget` (zero: once):
    /// true as soon as bytes, an end of stream or an error wait to be read.
    fn readable_within(&self, budget: Duration) -> io::Result<bool> {
        let socket = self.socket();
        let mut byte = [MaybeUninit::<u8>::uninit()];
        let mut deadline = None;
        loop {
            match socket.recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let deadline = *deadline.get_or_insert_with(|| Instant::now() + budget);
                    if Instant::now() >= deadline {
                        return Ok(false);
                    }
                    std::hint::spin_loop();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => return Ok(true),
            }
        }
    }

    /// Wraps `tcp` in TLS; the handshake runs on first use, bounded by the socket timeouts.
    fn wrap_tls(tcp: Shared<TcpStream>, host: &str, tls: &TlsLink) -> io::Result<Stream> {
        let name = tls.server_name.as_deref().unwrap_or(host).to_owned();
        let server_name = rustls::pki_types::ServerName::try_from(name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = rustls::ClientConnection::new(tls.config.clone(), server_name)
            .map_err(io::Error::other)?;
        Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
    }

    pub(crate) fn set_timeouts(&self, read: Duration, write: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(read))?;
        match self {
            Stream::Tcp(s) => s.set_write_timeout(Some(write)),
            Stream::Unix(s) => s.set_write_timeout(Some(write)),
            Stream::Tls(s) => s.sock.set_write_timeout(Some(write)),
        }
    }

    pub(crate) fn socket_handle(&self) -> SocketHandle {
        match self {
            Stream::Tcp(s) => SocketHandle::Tcp(s.0.clone()),
            Stream::Unix(s) => SocketHandle::Unix(s.0.clone()),
            Stream::Tls(s) => SocketHandle::Tcp(s.sock.0.clone()),
        }
    }

    /// `None`: reads wait without bound.
    pub(crate) fn set_read_timeout(&self, read: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(read),
            Stream::Unix(s) => s.set_read_timeout(read),
            Stream::Tls(s) => s.sock.set_read_timeout(read),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tls(s) => s.flush(),
            _ => Ok(()),
        }
    }
}

/// A TCP socket for `addr`, not connected yet: a std `TcpStream` only once connected could not
/// be cut while it connects.
fn unconnected_socket(addr: &SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(*addr),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    Ok(TcpStream::from(socket))
}

/// A failed connect said plainly: a cut one says so rather than "connection reset".
fn connect_error(err: io::Error, timeout: Duration) -> io::Error {
    match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no answer to connect within {} ms (timed out)",
                timeout.as_millis()
            ),
        ),
        io::ErrorKind::ConnectionReset => io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "connect abandoned: the client no longer needs this node",
        ),
        _ => err,
    }
}

/// A link's stream as a reader whose every read ends by `deadline`, so that a reply read
/// across several reads still waits no longer than it was allowed.
pub(crate) struct Until<'a> {
    pub stream: &'a mut Stream,
    pub deadline: Instant,
}

impl Read for Until<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        // A zero timeout would mean "wait forever".
        self.stream
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
        self.stream.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_links_get_the_keepalive_they_are_dialed_with() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let node = NodeAddr::new("127.0.0.1", listener.local_addr().unwrap().port());
        let timeout = Duration::from_secs(1);
        let dial = Dial {
            keepalive: Duration::from_secs(7),
            ..Dial::default()
        };
        let probed = Stream::connect_tcp(&node, timeout, &dial, |_| ())
            .unwrap()
            .0;
        let socket = probed.socket();
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), Duration::from_secs(7));
        assert_eq!(
            socket.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(2)
        );
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), 3);
        let unprobed = Stream::connect_tcp(&node, timeout, &Dial::default(), |_| ())
            .unwrap()
            .0;
        assert!(!unprobed.socket().keepalive().unwrap());
    }
}
