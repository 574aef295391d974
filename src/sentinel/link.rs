//! Bounded request/reply links: [`QueryLink`] to any node, and [`SentinelLink`] with the
//! queries the client asks sentinels. (A data node is asked its ROLE through
//! [`crate::sentinel::probe::RoleProbe`].)

use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use crate::resp::value::Value;

use crate::config::{Credentials, NodeAddr, SentinelAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::net::stream::{SocketHandle, Stream, Until};
use crate::net::tls::Dial;
use crate::resp::encode::encode_command;
use crate::resp::read::ReplyReader;
use crate::sentinel::parse::{
    parse_healthy_replicas, parse_master_addr, parse_master_info, parse_sentinels,
};

/// What a query link's reader starts with: sentinels and ROLE answer in a few hundred bytes,
/// and a client keeps several links (on several threads) open.
const QUERY_READ_CAPACITY: usize = 1024;

/// What is at the other end of a [`QueryLink`], for its error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    Sentinel,
    DataNode,
}

/// One connection to one node, each wait bounded: for queries, or a subscription. Every
/// failure is a SENTINEL error: these links only ever serve the client's view of the
/// topology, never a caller's command.
pub struct QueryLink {
    addr: SentinelAddr,
    peer: Peer,
    stream: Stream,
    replies: ReplyReader,
    pub(crate) timeout: Duration,
}

impl QueryLink {
    /// Connects within `timeout`, in TLS and authenticated as `dial` says; every later query
    /// is bounded by `timeout` too.
    pub(crate) fn connect(
        addr: &SentinelAddr,
        peer: Peer,
        timeout: Duration,
        dial: &Dial,
    ) -> Result<Self> {
        let auth = dial.auth.as_ref();
        let stream = Stream::connect(addr, timeout, dial)
            .and_then(|s| s.set_timeouts(timeout, timeout).map(|()| s))
            .map_err(|e| Error::sentinel(format!("cannot connect to {peer} {addr}: {e}")))?;
        let mut link = QueryLink::over(addr.clone(), peer, stream, timeout);
        if let Some(auth) = auth {
            link.authenticate(auth)?;
        }
        Ok(link)
    }

    fn over(addr: SentinelAddr, peer: Peer, stream: Stream, timeout: Duration) -> QueryLink {
        QueryLink {
            addr,
            peer,
            stream,
            replies: ReplyReader::with_capacity(QUERY_READ_CAPACITY),
            timeout,
        }
    }

    fn authenticate(&mut self, auth: &Credentials) -> Result<()> {
        self.send(&auth.auth_command())?;
        match self.read_reply(self.timeout)? {
            Some(Value::ServerError(refused)) => Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "{} {} refused authentication: {refused}",
                    self.peer, self.addr
                ),
            )
            .with_sentinel_down()),
            Some(_) => Ok(()),
            None => Err(self.fail(format!("no reply to AUTH within {:?}", self.timeout))),
        }
    }

    pub fn addr(&self) -> &SentinelAddr {
        &self.addr
    }

    /// A handle to shut this link's socket down from another thread.
    pub(crate) fn shutdown_handle(&self) -> SocketHandle {
        self.stream.socket_handle()
    }

    pub(crate) fn fail(&self, err: impl std::fmt::Display) -> Error {
        Error::sentinel(format!("{} {}: {err}", self.peer, self.addr))
    }

    pub fn send(&mut self, args: &[&[u8]]) -> Result<()> {
        let mut out = Vec::with_capacity(64);
        encode_command(&mut out, args);
        self.stream
            .write_all(&out)
            .and_then(|()| self.stream.flush())
            .map_err(|e| self.fail(e))
    }

    /// Reads one reply, waiting at most `wait`; `Ok(None)` when none arrived in time.
    /// Bytes of a reply cut by the timeout stay buffered for the next call.
    pub fn read_reply(&mut self, wait: Duration) -> Result<Option<Value>> {
        let mut source = Until {
            stream: &mut self.stream,
            deadline: Instant::now() + wait,
        };
        match self.replies.read_value(&mut source) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_timeout() => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Sends a command and waits for its reply; an error reply is a SENTINEL error.
    pub fn query(&mut self, args: &[&[u8]]) -> Result<Value> {
        self.send(args)?;
        match self.read_reply(self.timeout)? {
            Some(Value::ServerError(refused)) => Err(self.fail(format!(
                "{} answered with an error: {}",
                String::from_utf8_lossy(args.first().copied().unwrap_or_default()),
                refused
            ))),
            Some(reply) => Ok(reply),
            None => Err(self.fail(format!("no reply within {:?}", self.timeout))),
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Peer::Sentinel => "sentinel",
            Peer::DataNode => "node",
        })
    }
}

/// A [`QueryLink`] to a sentinel, with the queries the client asks sentinels.
pub struct SentinelLink(QueryLink);

impl Deref for SentinelLink {
    type Target = QueryLink;

    fn deref(&self) -> &QueryLink {
        &self.0
    }
}

impl DerefMut for SentinelLink {
    fn deref_mut(&mut self) -> &mut QueryLink {
        &mut self.0
    }
}

impl SentinelLink {
    /// Connects to the sentinel at `addr` (see [`QueryLink::connect`]).
    pub(crate) fn connect(addr: &SentinelAddr, timeout: Duration, dial: &Dial) -> Result<Self> {
        QueryLink::connect(addr, Peer::Sentinel, timeout, dial).map(SentinelLink)
    }

    /// `SENTINEL GET-MASTER-ADDR-BY-NAME`: `None` when the sentinel does not monitor `name`.
    pub fn master_addr(&mut self, name: &str) -> Result<Option<NodeAddr>> {
        let reply = self.query(&[b"SENTINEL", b"get-master-addr-by-name", name.as_bytes()])?;
        parse_master_addr(&reply).map_err(|why| self.fail(format!("master \"{name}\": {why}")))
    }

    /// `SENTINEL REPLICAS`: the healthy replicas of `name`; `None` when `name` is not monitored.
    pub fn healthy_replicas(&mut self, name: &str) -> Result<Option<Vec<NodeAddr>>> {
        self.ask_about(b"replicas", name, parse_healthy_replicas)
    }

    /// Sends `SENTINEL <subcommand> <name>` and parses the reply. `None` when the sentinel
    /// answers with an error (it does not monitor `name`), which leaves the link usable; an
    /// `Err` may leave a reply in flight, so the link is not for further queries.
    fn ask_about<T>(
        &mut self,
        subcommand: &[u8],
        name: &str,
        parse: fn(&Value) -> Result<T, String>,
    ) -> Result<Option<T>> {
        self.send(&[b"SENTINEL", subcommand, name.as_bytes()])?;
        match self.0.read_reply(self.0.timeout)? {
            Some(Value::ServerError(_)) => Ok(None),
            Some(reply) => parse(&reply)
                .map(Some)
                .map_err(|why| self.fail(format!("master \"{name}\": {why}"))),
            None => Err(self.fail(format!("no reply within {:?}", self.timeout))),
        }
    }

    /// `SENTINEL SENTINELS`: the other sentinels watching `name`; `None` when `name` is not
    /// monitored.
    pub fn other_sentinels(&mut self, name: &str) -> Result<Option<Vec<NodeAddr>>> {
        self.ask_about(b"sentinels", name, parse_sentinels)
    }

    /// `SENTINEL MASTER`: address and config epoch; `None` when `name` is not monitored.
    /// A sentinel that refuses `SENTINEL MASTER` to this user (an ACL that allows only what
    /// Jedis asks, `get-master-addr-by-name`) is asked that instead, and the address comes
    /// with epoch 0: nothing to rank it by.
    pub fn master_info(&mut self, name: &str) -> Result<Option<(NodeAddr, u64)>> {
        if let Some(found) = self.ask_about(b"master", name, parse_master_info)? {
            return Ok(Some(found));
        }
        let addr = self.ask_about(b"get-master-addr-by-name", name, parse_master_addr)?;
        Ok(addr.flatten().map(|addr| (addr, 0)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use std::os::unix::net::UnixStream;

    use crate::sentinel::events::parse_message;

    /// A link over one end of a socket pair; the test plays the `peer` at the other end.
    pub(crate) fn query_link_pair(peer: Peer) -> (QueryLink, UnixStream) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let addr = SentinelAddr::Unix("test".into());
        let link = QueryLink::over(addr, peer, Stream::unix(ours), Duration::from_millis(200));
        (link, theirs)
    }

    fn link_pair() -> (SentinelLink, UnixStream) {
        let (link, theirs) = query_link_pair(Peer::Sentinel);
        (SentinelLink(link), theirs)
    }

    #[test]
    fn idle_checks_see_unasked_bytes_and_closes_on_unix_links_too() {
        let (link, mut sentinel) = link_pair();
        assert!(link.stream.is_quiet());
        sentinel.write_all(b"+x\r\n").unwrap();
        assert!(!link.stream.is_quiet());
        let (link, sentinel) = link_pair();
        drop(sentinel);
        assert!(!link.stream.is_quiet());
    }

    #[test]
    fn a_reply_cut_by_the_wait_is_finished_by_the_next_read() {
        let (mut link, mut sentinel) = link_pair();
        let message = b"*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$9\r\nm a 1 b 2\r\n";
        sentinel.write_all(&message[..20]).unwrap();
        let started = Instant::now();
        assert_eq!(link.read_reply(Duration::from_millis(50)).unwrap(), None);
        assert!(started.elapsed() < Duration::from_secs(1));
        sentinel.write_all(&message[20..]).unwrap();
        let reply = link.read_reply(Duration::from_millis(50)).unwrap().unwrap();
        assert_eq!(parse_message(&reply), Some(("+switch-master", "m a 1 b 2")));
    }

    #[test]
    fn error_replies_and_closed_links_are_sentinel_errors() {
        let (mut link, mut sentinel) = link_pair();
        sentinel.write_all(b"-ERR no such master\r\n").unwrap();
        let err = link.query(&[b"SENTINEL", b"replicas", b"x"]).unwrap_err();
        assert!(err.is_sentinel());
        assert!(err.to_string().contains("ERR no such master"), "{err}");
        // Refused (or unknown): asked get-master-addr-by-name instead, epoch 0; nil is None.
        sentinel
            .write_all(b"-NOPERM no\r\n*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n")
            .unwrap();
        let fallback = Some((NodeAddr::new("127.0.0.1", 6380), 0));
        assert_eq!(link.master_info("x").unwrap(), fallback);
        sentinel.write_all(b"-ERR unknown\r\n$-1\r\n").unwrap();
        assert_eq!(link.master_info("x").unwrap(), None);
        sentinel
            .write_all(b"-ERR unknown\r\n-NOPERM no\r\n")
            .unwrap();
        assert_eq!(link.master_info("x").unwrap(), None);
        sentinel
            .write_all(b"-ERR No such master with that name\r\n*0\r\n")
            .unwrap();
        assert_eq!(link.other_sentinels("x").unwrap(), None);
        assert_eq!(link.other_sentinels("y").unwrap(), Some(vec![]));
        sentinel.write_all(b"?\r\n").unwrap();
        assert!(link.query(&[b"PING"]).unwrap_err().is_sentinel());
        let (mut link, sentinel) = link_pair();
        drop(sentinel);
        assert!(link.read_reply(Duration::from_millis(50)).is_err());
    }
}
