//! Talking to one sentinel: a link with bounded waits, the queries the client needs, and pure
//! parsers for what sentinels answer and publish.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use crate::config::{Credentials, NodeAddr, SentinelAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::resp::{encode_command, parse_frame, Frame};
use crate::tls::{Dial, TlsLink};

/// A socket to a sentinel. A clone of it lets another thread shut the link down at once.
pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
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
    fn connect(
        addr: &SentinelAddr,
        timeout: Duration,
        tls: Option<&TlsLink>,
    ) -> io::Result<Stream> {
        match addr {
            SentinelAddr::Unix(path) => UnixStream::connect(path).map(Stream::Unix),
            SentinelAddr::Tcp(node) => Self::connect_tcp(node, timeout, tls),
        }
    }

    /// TCP (with TCP_NODELAY) to the first address of `node` that answers within `timeout`,
    /// wrapped in TLS when `tls` is given.
    pub(crate) fn connect_tcp(
        node: &NodeAddr,
        timeout: Duration,
        tls: Option<&TlsLink>,
    ) -> io::Result<Stream> {
        let mut last_err = io::Error::new(io::ErrorKind::NotFound, "host has no address");
        for sock_addr in (node.host.as_str(), node.port).to_socket_addrs()? {
            match TcpStream::connect_timeout(&sock_addr, timeout) {
                Ok(tcp) => {
                    tcp.set_nodelay(true)?;
                    return match tls {
                        Some(tls) => Self::wrap_tls(tcp, &node.host, tls),
                        None => Ok(Stream::Tcp(tcp)),
                    };
                }
                Err(err) => last_err = err,
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

    fn socket(&self) -> Option<&TcpStream> {
        match self {
            Stream::Tcp(s) => Some(s),
            Stream::Unix(_) => None,
            Stream::Tls(s) => Some(&s.sock),
        }
    }

    /// True when nothing waits on the socket: the peer has neither closed it nor sent bytes
    /// that no request asked for. Three syscalls; for links that sat idle.
    pub(crate) fn is_quiet(&self) -> bool {
        matches!(self.readable_within(Duration::ZERO), Ok(false))
    }

    /// Spins (without sleeping) until bytes wait on the socket, or `budget` has passed.
    pub(crate) fn spin_until_readable(&self, budget: Duration) -> io::Result<()> {
        if let Stream::Tls(tls) = self {
            if tls.conn.wants_write() {
                return Ok(()); // a handshake or alert is still going out: read normally
            }
        }
        self.readable_within(budget).map(drop)
    }

    /// Peeks at the socket without sleeping, again and again for up to `budget` (zero: once):
    /// true as soon as bytes, an end of stream or an error wait to be read.
    fn readable_within(&self, budget: Duration) -> io::Result<bool> {
        let Some(socket) = self.socket() else {
            return Ok(false);
        };
        socket.set_nonblocking(true)?;
        let deadline = Instant::now() + budget;
        let mut byte = [0u8; 1];
        let readable = loop {
            match socket.peek(&mut byte) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        break false;
                    }
                    std::hint::spin_loop();
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                _ => break true,
            }
        };
        socket.set_nonblocking(false)?;
        Ok(readable)
    }

    /// Wraps `tcp` in TLS; the handshake runs on first use, bounded by the socket timeouts.
    fn wrap_tls(tcp: TcpStream, host: &str, tls: &TlsLink) -> io::Result<Stream> {
        let name = tls.server_name.as_deref().unwrap_or(host).to_owned();
        let server_name = rustls::pki_types::ServerName::try_from(name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let conn = rustls::ClientConnection::new(tls.config.clone(), server_name)
            .map_err(io::Error::other)?;
        Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
    }

    /// A handle on the same socket, for [`Stream::shutdown`] from another thread.
    pub fn try_clone(&self) -> io::Result<Stream> {
        match self {
            Stream::Tcp(s) => s.try_clone().map(Stream::Tcp),
            Stream::Unix(s) => s.try_clone().map(Stream::Unix),
            Stream::Tls(s) => s.sock.try_clone().map(Stream::Tcp),
        }
    }

    /// Wakes any thread blocked on this socket and fails its next call.
    pub fn shutdown(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
            Stream::Tls(s) => s.sock.shutdown(Shutdown::Both),
        };
    }

    pub(crate) fn set_timeouts(&self, read: Duration, write: Duration) -> io::Result<()> {
        self.set_read_timeout(read)?;
        match self {
            Stream::Tcp(s) => s.set_write_timeout(Some(write)),
            Stream::Unix(s) => s.set_write_timeout(Some(write)),
            Stream::Tls(s) => s.sock.set_write_timeout(Some(write)),
        }
    }

    fn set_read_timeout(&self, read: Duration) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(Some(read)),
            Stream::Unix(s) => s.set_read_timeout(Some(read)),
            Stream::Tls(s) => s.sock.set_read_timeout(Some(read)),
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

/// One connection to one sentinel, used either for queries or for a subscription.
pub struct SentinelLink {
    addr: SentinelAddr,
    stream: Stream,
    buf: Vec<u8>,
    timeout: Duration,
}

impl SentinelLink {
    /// Connects within `timeout`, in TLS and authenticated as `dial` says; every later query
    /// is bounded by `timeout` too.
    pub(crate) fn connect(addr: &SentinelAddr, timeout: Duration, dial: &Dial) -> Result<Self> {
        let auth = dial.auth.as_ref();
        let stream = Stream::connect(addr, timeout, dial.tls.as_ref())
            .and_then(|s| s.set_timeouts(timeout, timeout).map(|()| s))
            .map_err(|e| Error::sentinel(format!("cannot connect to sentinel {addr}: {e}")))?;
        let mut link = SentinelLink {
            addr: addr.clone(),
            stream,
            buf: Vec::with_capacity(512),
            timeout,
        };
        if let Some(auth) = auth {
            link.authenticate(auth)?;
        }
        Ok(link)
    }

    fn authenticate(&mut self, auth: &Credentials) -> Result<()> {
        self.send(&auth.auth_command())?;
        match self.read_frame(self.timeout)? {
            Some(Frame::Error(msg)) => Err(Error::new(
                ErrorKind::Auth,
                format!("sentinel {} refused authentication: {msg}", self.addr),
            )
            .with_sentinel_down()),
            Some(_) => Ok(()),
            None => Err(self.fail(format!("no reply to AUTH within {:?}", self.timeout))),
        }
    }

    pub fn addr(&self) -> &SentinelAddr {
        &self.addr
    }

    pub fn shutdown_handle(&self) -> Result<Stream> {
        self.stream.try_clone().map_err(|e| self.fail(e))
    }

    fn fail(&self, err: impl std::fmt::Display) -> Error {
        Error::sentinel(format!("sentinel {}: {err}", self.addr))
    }

    pub fn send(&mut self, args: &[&[u8]]) -> Result<()> {
        let mut out = Vec::with_capacity(64);
        encode_command(&mut out, args);
        self.stream
            .write_all(&out)
            .and_then(|()| self.stream.flush())
            .map_err(|e| self.fail(e))
    }

    /// Reads one frame, waiting at most `wait`; `Ok(None)` when none arrived in time.
    /// Bytes of a frame cut by the timeout stay buffered for the next call.
    pub fn read_frame(&mut self, wait: Duration) -> Result<Option<Frame>> {
        let deadline = Instant::now() + wait;
        let mut chunk = [0u8; 4096];
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used);
                    return Ok(Some(frame));
                }
                Ok(None) => {}
                Err(e) => return Err(self.fail(format!("protocol error: {}", e.0))),
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.set_read_timeout(left)?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(self.fail("connection closed")),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail(e)),
            }
        }
    }

    fn set_read_timeout(&self, wait: Duration) -> Result<()> {
        let wait = wait.max(Duration::from_millis(1));
        self.stream.set_read_timeout(wait).map_err(|e| self.fail(e))
    }

    /// Sends a command and waits for its reply; an error reply is a SENTINEL error.
    pub fn query(&mut self, args: &[&[u8]]) -> Result<Frame> {
        self.send(args)?;
        match self.read_frame(self.timeout)? {
            Some(Frame::Error(msg)) => Err(self.fail(format!(
                "{} answered with an error: {msg}",
                String::from_utf8_lossy(args.first().copied().unwrap_or_default())
            ))),
            Some(frame) => Ok(frame),
            None => Err(self.fail(format!("no reply within {:?}", self.timeout))),
        }
    }

    /// `SENTINEL GET-MASTER-ADDR-BY-NAME`: `None` when the sentinel does not monitor `name`.
    pub fn master_addr(&mut self, name: &str) -> Result<Option<NodeAddr>> {
        let frame = self.query(&[b"SENTINEL", b"get-master-addr-by-name", name.as_bytes()])?;
        parse_master_addr(&frame).map_err(|why| self.fail(format!("master \"{name}\": {why}")))
    }

    /// `SENTINEL REPLICAS`: the healthy replicas of `name`.
    pub fn healthy_replicas(&mut self, name: &str) -> Result<Vec<NodeAddr>> {
        let frame = self.query(&[b"SENTINEL", b"replicas", name.as_bytes()])?;
        parse_healthy_replicas(&frame).map_err(|why| self.fail(format!("master \"{name}\": {why}")))
    }

    /// `SENTINEL SENTINELS`: the other sentinels watching `name`.
    pub fn other_sentinels(&mut self, name: &str) -> Result<Vec<NodeAddr>> {
        let frame = self.query(&[b"SENTINEL", b"sentinels", name.as_bytes()])?;
        parse_sentinels(&frame).map_err(|why| self.fail(format!("master \"{name}\": {why}")))
    }
}

impl SentinelLink {
    /// `SENTINEL MASTER`: address and config epoch; `None` when `name` is not monitored.
    pub fn master_info(&mut self, name: &str) -> Result<Option<(NodeAddr, u64)>> {
        self.send(&[b"SENTINEL", b"master", name.as_bytes()])?;
        match self.read_frame(self.timeout)? {
            Some(Frame::Error(_)) => Ok(None),
            Some(frame) => parse_master_info(&frame)
                .map(Some)
                .map_err(|why| self.fail(format!("master \"{name}\": {why}"))),
            None => Err(self.fail(format!("no reply within {:?}", self.timeout))),
        }
    }

    /// `ROLE` of the node at the other end (a data node, not a sentinel): "master", "slave".
    pub fn role(&mut self) -> Result<String> {
        match self.query(&[b"ROLE"])? {
            Frame::Array(items) => items
                .first()
                .and_then(Frame::as_text)
                .map(str::to_owned)
                .ok_or_else(|| self.fail("empty ROLE reply")),
            other => Err(self.fail(format!("unexpected ROLE reply {other:?}"))),
        }
    }
}

pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The value of `key` in a flat field/value list (how sentinels describe instances).
fn field_value<'a>(fields: &'a [Frame], key: &str) -> Option<&'a str> {
    fields
        .chunks(2)
        .find(|pair| pair[0].as_text() == Some(key))
        .and_then(|pair| pair.get(1))
        .and_then(Frame::as_text)
}

/// The reply of `SENTINEL GET-MASTER-ADDR-BY-NAME`: `[ip, port]`, or nil for an unknown name.
pub fn parse_master_addr(frame: &Frame) -> Result<Option<NodeAddr>, String> {
    match frame {
        Frame::Nil => Ok(None),
        Frame::Array(items) if items.is_empty() => Ok(None),
        Frame::Array(items) if items.len() == 2 => {
            let host = items[0].as_text().filter(|h| !h.is_empty());
            let port = items[1].as_text().and_then(NodeAddr::parse_port);
            match (host, port) {
                (Some(host), Some(port)) => Ok(Some(NodeAddr::new(host, port))),
                _ => Err(format!("bad address in reply {frame:?}")),
            }
        }
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// The reply of `SENTINEL SENTINELS`: one flat field/value list per sentinel.
pub fn parse_sentinels(frame: &Frame) -> Result<Vec<NodeAddr>, String> {
    let Frame::Array(entries) = frame else {
        return Err(format!("unexpected reply {frame:?}"));
    };
    let mut found = Vec::with_capacity(entries.len());
    for entry in entries {
        let Frame::Array(fields) = entry else {
            return Err(format!("unexpected entry {entry:?}"));
        };
        let field = |key: &str| field_value(fields, key);
        match (field("ip"), field("port").and_then(NodeAddr::parse_port)) {
            (Some(ip), Some(port)) => found.push(NodeAddr::new(ip, port)),
            _ => return Err(format!("sentinel entry without ip/port: {entry:?}")),
        }
    }
    Ok(found)
}

/// The reply of `SENTINEL REPLICAS`: the replicas fit to serve reads, those that no sentinel
/// marks down or disconnected and whose link to the master is up.
pub fn parse_healthy_replicas(frame: &Frame) -> Result<Vec<NodeAddr>, String> {
    let Frame::Array(entries) = frame else {
        return Err(format!("unexpected reply {frame:?}"));
    };
    let mut healthy = Vec::new();
    for entry in entries {
        let Frame::Array(fields) = entry else {
            return Err(format!("unexpected entry {entry:?}"));
        };
        let field = |key: &str| field_value(fields, key);
        let flags = field("flags").unwrap_or("");
        let down = flags
            .split(',')
            .any(|f| matches!(f, "s_down" | "o_down" | "disconnected"));
        let link_ok = field("master-link-status") == Some("ok");
        match (field("ip"), field("port").and_then(NodeAddr::parse_port)) {
            (Some(ip), Some(port)) if !down && link_ok => healthy.push(NodeAddr::new(ip, port)),
            (Some(_), Some(_)) => {}
            _ => return Err(format!("replica entry without ip/port: {entry:?}")),
        }
    }
    Ok(healthy)
}

/// What a sentinel publishes that the client acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>`
    SwitchMaster {
        name: String,
        old: NodeAddr,
        new: NodeAddr,
    },
    /// The publishing sentinel leads a failover of `name`: `+failover-state-select-slave`
    /// (no candidate yet), then `+selected-slave`, `+failover-state-send-slaveof-noone` and
    /// `+promoted-slave`, which name the replica being promoted.
    FailoverStarted {
        name: String,
        candidate: Option<NodeAddr>,
    },
    /// The publishing sentinel gave up its failover of `name` (`-failover-abort-*`, except
    /// `not-elected`, which only says another sentinel leads).
    FailoverAborted { name: String, reason: String },
    /// Something changed about a replica of `name` (added, down, up, reconfigured).
    ReplicaChanged { name: String },
}

/// What watchers subscribe to (a pattern: the abort channels have many names).
pub const EVENT_PATTERN: &str = "*";

/// Parses a published event; `None` for channels or payloads the client does not act on.
pub fn parse_event(channel: &str, payload: &str) -> Option<Event> {
    let words: Vec<&str> = payload.split_ascii_whitespace().collect();
    let port = |w: &str| NodeAddr::parse_port(w);
    match channel {
        "+switch-master" => match words.as_slice() {
            [name, old_ip, old_port, new_ip, new_port] => Some(Event::SwitchMaster {
                name: (*name).to_owned(),
                old: NodeAddr::new(*old_ip, port(old_port)?),
                new: NodeAddr::new(*new_ip, port(new_port)?),
            }),
            _ => None,
        },
        "+failover-state-select-slave" => match words.as_slice() {
            ["master", name, ..] => Some(Event::FailoverStarted {
                name: (*name).to_owned(),
                candidate: None,
            }),
            _ => None,
        },
        "+selected-slave" | "+failover-state-send-slaveof-noone" | "+promoted-slave" => {
            match words.as_slice() {
                ["slave", _, ip, p, "@", name, ..] => Some(Event::FailoverStarted {
                    name: (*name).to_owned(),
                    candidate: Some(NodeAddr::new(*ip, port(p)?)),
                }),
                _ => None,
            }
        }
        "+slave" | "+sdown" | "-sdown" | "+odown" | "-odown" | "+slave-reconf-done"
        | "+convert-to-slave" | "+role-change" | "-role-change" => match words.as_slice() {
            ["slave", _, _, _, "@", name, ..] => Some(Event::ReplicaChanged {
                name: (*name).to_owned(),
            }),
            _ => None,
        },
        "-failover-abort-not-elected" => None,
        abort if abort.starts_with("-failover-abort-") => match words.as_slice() {
            ["master", name, ..] => Some(Event::FailoverAborted {
                name: (*name).to_owned(),
                reason: abort.trim_start_matches("-failover-abort-").to_owned(),
            }),
            _ => None,
        },
        _ => None,
    }
}

/// A pub/sub push: `["message", channel, payload]` or `["pmessage", pattern, channel, payload]`.
pub fn parse_message(frame: &Frame) -> Option<(&str, &str)> {
    match frame {
        Frame::Array(items) if items.len() == 3 && items[0].as_text() == Some("message") => {
            Some((items[1].as_text()?, items[2].as_text()?))
        }
        Frame::Array(items) if items.len() == 4 && items[0].as_text() == Some("pmessage") => {
            Some((items[2].as_text()?, items[3].as_text()?))
        }
        _ => None,
    }
}

/// The reply of `SENTINEL MASTER`: the address and the configuration epoch that produced it.
pub fn parse_master_info(frame: &Frame) -> Result<(NodeAddr, u64), String> {
    let Frame::Array(fields) = frame else {
        return Err(format!("unexpected reply {frame:?}"));
    };
    let field = |key: &str| field_value(fields, key);
    let ip = field("ip").filter(|ip| !ip.is_empty());
    let port = field("port").and_then(NodeAddr::parse_port);
    let epoch = field("config-epoch")
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    match (ip, port) {
        (Some(ip), Some(port)) => Ok((NodeAddr::new(ip, port), epoch)),
        _ => Err(format!("master entry without ip/port: {frame:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Frame {
        Frame::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn master_addr_replies() {
        let ok = Frame::Array(vec![bulk("127.0.0.1"), bulk("6380")]);
        assert_eq!(
            parse_master_addr(&ok),
            Ok(Some(NodeAddr::new("127.0.0.1", 6380)))
        );
        assert_eq!(parse_master_addr(&Frame::Nil), Ok(None));
        assert!(parse_master_addr(&Frame::Array(vec![bulk("h"), bulk("0")])).is_err());
        assert!(parse_master_addr(&Frame::Integer(1)).is_err());
    }

    #[test]
    fn sentinels_reply() {
        let entry = |ip: &str, port: &str| {
            Frame::Array(vec![
                bulk("name"),
                bulk("x"),
                bulk("ip"),
                bulk(ip),
                bulk("port"),
                bulk(port),
            ])
        };
        let frame = Frame::Array(vec![entry("10.0.0.1", "26380"), entry("::1", "26381")]);
        assert_eq!(
            parse_sentinels(&frame).unwrap(),
            vec![
                NodeAddr::new("10.0.0.1", 26380),
                NodeAddr::new("::1", 26381)
            ]
        );
        assert!(parse_sentinels(&Frame::Array(vec![Frame::Array(vec![bulk("ip")])])).is_err());
    }

    #[test]
    fn switch_master_event() {
        assert_eq!(
            parse_event("+switch-master", "mymaster 127.0.0.1 6379 127.0.0.1 6380"),
            Some(Event::SwitchMaster {
                name: "mymaster".into(),
                old: NodeAddr::new("127.0.0.1", 6379),
                new: NodeAddr::new("127.0.0.1", 6380),
            })
        );
        assert_eq!(
            parse_event("+switch-master", "mymaster 127.0.0.1 6379"),
            None
        );
        assert_eq!(parse_event("+sdown", "master m 127.0.0.1 6379"), None);
    }

    #[test]
    fn messages() {
        let frame = Frame::Array(vec![
            bulk("message"),
            bulk("+switch-master"),
            bulk("m a 1 b 2"),
        ]);
        assert_eq!(parse_message(&frame), Some(("+switch-master", "m a 1 b 2")));
        let pmessage = Frame::Array(vec![bulk("pmessage"), bulk("*"), bulk("+sdown"), bulk("x")]);
        assert_eq!(parse_message(&pmessage), Some(("+sdown", "x")));
        let pong = Frame::Array(vec![bulk("pong"), bulk("")]);
        assert_eq!(parse_message(&pong), None);
    }

    #[test]
    fn failover_events() {
        let started = |candidate: Option<NodeAddr>| Event::FailoverStarted {
            name: "m".into(),
            candidate,
        };
        assert_eq!(
            parse_event("+failover-state-select-slave", "master m 127.0.0.1 6379"),
            Some(started(None))
        );
        let slave = "slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379";
        for channel in [
            "+selected-slave",
            "+failover-state-send-slaveof-noone",
            "+promoted-slave",
        ] {
            assert_eq!(
                parse_event(channel, slave),
                Some(started(Some(NodeAddr::new("127.0.0.1", 6380)))),
                "{channel}"
            );
        }
        assert_eq!(
            parse_event("-failover-abort-no-good-slave", "master m 127.0.0.1 6379"),
            Some(Event::FailoverAborted {
                name: "m".into(),
                reason: "no-good-slave".into()
            })
        );
        assert_eq!(
            parse_event("-failover-abort-not-elected", "master m 127.0.0.1 6379"),
            None
        );
    }

    #[test]
    fn replica_events_and_health() {
        let slave = "slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379";
        for channel in ["+slave", "+sdown", "-sdown", "+slave-reconf-done"] {
            assert_eq!(
                parse_event(channel, slave),
                Some(Event::ReplicaChanged { name: "m".into() })
            );
        }
        assert_eq!(parse_event("+sdown", "master m 127.0.0.1 6379"), None);
        let entry = |port: &str, flags: &str, link: &str| {
            let flat = [
                "ip",
                "127.0.0.1",
                "port",
                port,
                "flags",
                flags,
                "master-link-status",
                link,
            ];
            Frame::Array(flat.iter().map(|s| bulk(s)).collect())
        };
        let frame = Frame::Array(vec![
            entry("1", "slave", "ok"),
            entry("2", "s_down,slave", "ok"),
            entry("3", "slave,disconnected", "ok"),
            entry("4", "slave", "err"),
        ]);
        assert_eq!(
            parse_healthy_replicas(&frame),
            Ok(vec![NodeAddr::new("127.0.0.1", 1)])
        );
    }

    #[test]
    fn master_info() {
        let flat = [
            "name",
            "m",
            "ip",
            "127.0.0.1",
            "port",
            "6380",
            "config-epoch",
            "7",
        ];
        let frame = Frame::Array(flat.iter().map(|s| bulk(s)).collect());
        assert_eq!(
            parse_master_info(&frame),
            Ok((NodeAddr::new("127.0.0.1", 6380), 7))
        );
        assert!(parse_master_info(&Frame::Array(vec![bulk("ip")])).is_err());
    }
}
