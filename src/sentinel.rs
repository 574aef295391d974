//! Talking to one sentinel: a link with bounded waits, the queries the client needs, and pure
//! parsers for what sentinels answer and publish.

use std::io::Write;
use std::time::{Duration, Instant};

use redis::Value;

use crate::config::{Credentials, NodeAddr, SentinelAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::net::stream::{SocketHandle, Stream, Until};
use crate::net::tls::Dial;
use crate::resp::encode::encode_command;
use crate::resp::read::ReplyReader;
use crate::resp::server_error::server_error_text;

/// What a sentinel link's reader starts with: sentinels answer in a few hundred bytes, and a
/// client keeps several links (on several threads) open.
const SENTINEL_READ_CAPACITY: usize = 1024;

/// One connection to one sentinel, used either for queries or for a subscription.
pub struct SentinelLink {
    addr: SentinelAddr,
    stream: Stream,
    replies: ReplyReader,
    timeout: Duration,
    /// The data node at the other end refused `ROLE` once: ask it `INFO` straight away.
    refuses_role: bool,
}

impl SentinelLink {
    /// Connects within `timeout`, in TLS and authenticated as `dial` says; every later query
    /// is bounded by `timeout` too.
    pub(crate) fn connect(addr: &SentinelAddr, timeout: Duration, dial: &Dial) -> Result<Self> {
        let auth = dial.auth.as_ref();
        let stream = Stream::connect(addr, timeout, dial)
            .and_then(|s| s.set_timeouts(timeout, timeout).map(|()| s))
            .map_err(|e| Error::sentinel(format!("cannot connect to sentinel {addr}: {e}")))?;
        let mut link = SentinelLink {
            addr: addr.clone(),
            stream,
            replies: ReplyReader::with_capacity(SENTINEL_READ_CAPACITY),
            timeout,
            refuses_role: false,
        };
        if let Some(auth) = auth {
            link.authenticate(auth)?;
        }
        Ok(link)
    }

    fn authenticate(&mut self, auth: &Credentials) -> Result<()> {
        self.send(&auth.auth_command())?;
        match self.read_reply(self.timeout)? {
            Some(Value::ServerError(refused)) => Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "sentinel {} refused authentication: {}",
                    self.addr,
                    server_error_text(&refused)
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
    pub(crate) fn shutdown_handle(&self) -> Result<SocketHandle> {
        self.stream.socket_handle().map_err(|e| self.fail(e))
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
                server_error_text(&refused)
            ))),
            Some(reply) => Ok(reply),
            None => Err(self.fail(format!("no reply within {:?}", self.timeout))),
        }
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
        match self.read_reply(self.timeout)? {
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
}

impl SentinelLink {
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

    /// `ROLE` of the node at the other end (a data node, not a sentinel): "master", "slave".
    /// A node that refuses ROLE (renamed away, or an ACL user not allowed it) is asked
    /// `INFO replication` instead, from then on directly; `None` when it refuses that too (an
    /// ACL user without `@dangerous`), so only the sentinels can say what it is.
    pub fn role(&mut self) -> Result<Option<String>> {
        if !self.refuses_role {
            self.send(&[b"ROLE"])?;
            match self.read_reply(self.timeout)? {
                Some(Value::Array(items)) => {
                    return items
                        .first()
                        .and_then(text)
                        .map(|role| Some(role.to_owned()))
                        .ok_or_else(|| self.fail("empty ROLE reply"))
                }
                Some(Value::ServerError(_)) => self.refuses_role = true,
                Some(other) => return Err(self.fail(format!("unexpected ROLE reply {other:?}"))),
                None => return Err(self.fail(format!("no reply within {:?}", self.timeout))),
            }
        }
        self.send(&[b"INFO", b"replication"])?;
        match self.read_reply(self.timeout)? {
            Some(Value::ServerError(_)) => Ok(None),
            Some(info) => parse_info_role(&info)
                .map(Some)
                .ok_or_else(|| self.fail("INFO replication without a role")),
            None => Err(self.fail(format!("no reply within {:?}", self.timeout))),
        }
    }
}

/// The text of a bulk, simple or verbatim string.
fn text(value: &Value) -> Option<&str> {
    match value {
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
        Value::SimpleString(text) | Value::VerbatimString { text, .. } => Some(text),
        Value::Okay => Some("OK"),
        _ => None,
    }
}

/// The value of `key` in a flat field/value list (how sentinels describe instances).
fn field_value<'a>(fields: &'a [Value], key: &str) -> Option<&'a str> {
    fields
        .chunks(2)
        .find(|pair| text(&pair[0]) == Some(key))
        .and_then(|pair| pair.get(1))
        .and_then(text)
}

/// The reply of `SENTINEL GET-MASTER-ADDR-BY-NAME`: `[ip, port]`, or nil for an unknown name.
pub fn parse_master_addr(reply: &Value) -> Result<Option<NodeAddr>, String> {
    match reply {
        Value::Nil => Ok(None),
        Value::Array(items) if items.is_empty() => Ok(None),
        Value::Array(items) if items.len() == 2 => {
            let host = text(&items[0]).filter(|h| !h.is_empty());
            let port = text(&items[1]).and_then(NodeAddr::parse_port);
            match (host, port) {
                (Some(host), Some(port)) => Ok(Some(NodeAddr::new(host, port))),
                _ => Err(format!("bad address in reply {reply:?}")),
            }
        }
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// The reply of `SENTINEL SENTINELS`: one flat field/value list per sentinel.
pub fn parse_sentinels(reply: &Value) -> Result<Vec<NodeAddr>, String> {
    let Value::Array(entries) = reply else {
        return Err(format!("unexpected reply {reply:?}"));
    };
    let mut found = Vec::with_capacity(entries.len());
    for entry in entries {
        let Value::Array(fields) = entry else {
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
pub fn parse_healthy_replicas(reply: &Value) -> Result<Vec<NodeAddr>, String> {
    let Value::Array(entries) = reply else {
        return Err(format!("unexpected reply {reply:?}"));
    };
    let mut healthy = Vec::new();
    for entry in entries {
        let Value::Array(fields) = entry else {
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
pub fn parse_message(reply: &Value) -> Option<(&str, &str)> {
    match reply {
        Value::Array(items) if items.len() == 3 && text(&items[0]) == Some("message") => {
            Some((text(&items[1])?, text(&items[2])?))
        }
        Value::Array(items) if items.len() == 4 && text(&items[0]) == Some("pmessage") => {
            Some((text(&items[2])?, text(&items[3])?))
        }
        _ => None,
    }
}

/// The `role:` line of an `INFO replication` reply: "master" or "slave".
pub fn parse_info_role(reply: &Value) -> Option<String> {
    text(reply)?
        .lines()
        .find_map(|line| line.strip_prefix("role:"))
        .map(|role| role.trim().to_owned())
}

/// The reply of `SENTINEL MASTER`: the address and the configuration epoch that produced it.
pub fn parse_master_info(reply: &Value) -> Result<(NodeAddr, u64), String> {
    let Value::Array(fields) = reply else {
        return Err(format!("unexpected reply {reply:?}"));
    };
    let field = |key: &str| field_value(fields, key);
    let ip = field("ip").filter(|ip| !ip.is_empty());
    let port = field("port").and_then(NodeAddr::parse_port);
    let epoch = field("config-epoch")
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    match (ip, port) {
        (Some(ip), Some(port)) => Ok((NodeAddr::new(ip, port), epoch)),
        _ => Err(format!("master entry without ip/port: {reply:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::os::unix::net::UnixStream;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    /// A link over one end of a socket pair; the test plays the sentinel at the other end.
    fn link_pair() -> (SentinelLink, UnixStream) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let link = SentinelLink {
            addr: SentinelAddr::Unix("test".into()),
            stream: Stream::Unix(ours),
            replies: ReplyReader::with_capacity(SENTINEL_READ_CAPACITY),
            timeout: Duration::from_millis(200),
            refuses_role: false,
        };
        (link, theirs)
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

    #[test]
    fn role_falls_back_to_info_replication_when_refused() {
        let (mut link, mut node) = link_pair();
        node.write_all(b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n")
            .unwrap();
        assert_eq!(link.role().unwrap().as_deref(), Some("master"));
        let info = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n";
        let refused = b"-NOPERM this user has no permissions to run the 'role' command\r\n";
        node.write_all(refused).unwrap();
        node.write_all(format!("${}\r\n{info}\r\n", info.len()).as_bytes())
            .unwrap();
        assert_eq!(link.role().unwrap().as_deref(), Some("slave"));
        let mut sent = vec![0u8; 256];
        let n = std::io::Read::read(&mut node, &mut sent).unwrap();
        let sent = String::from_utf8_lossy(&sent[..n]);
        assert!(
            sent.ends_with("*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n"),
            "{sent}"
        );
        assert_eq!(parse_info_role(&Value::Nil), None);
        assert_eq!(parse_info_role(&bulk("# Replication\r\n")), None);
        // Refused once, ROLE is not asked again on this link; refused INFO too: it will not
        // say, and the link stays usable.
        node.write_all(b"-NOPERM this user has no permissions to run the 'info' command\r\n")
            .unwrap();
        assert_eq!(link.role().unwrap(), None);
        let info = "# Replication\r\nrole:master\r\n";
        node.write_all(format!("${}\r\n{info}\r\n", info.len()).as_bytes())
            .unwrap();
        assert_eq!(link.role().unwrap().as_deref(), Some("master"));
        let mut again = vec![0u8; 256];
        let n = std::io::Read::read(&mut node, &mut again).unwrap();
        let info_twice = "*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n".repeat(2);
        assert_eq!(String::from_utf8_lossy(&again[..n]), info_twice);
    }

    #[test]
    fn master_addr_replies() {
        let ok = Value::Array(vec![bulk("127.0.0.1"), bulk("6380")]);
        assert_eq!(
            parse_master_addr(&ok),
            Ok(Some(NodeAddr::new("127.0.0.1", 6380)))
        );
        assert_eq!(parse_master_addr(&Value::Nil), Ok(None));
        assert!(parse_master_addr(&Value::Array(vec![bulk("h"), bulk("0")])).is_err());
        assert!(parse_master_addr(&Value::Int(1)).is_err());
    }

    #[test]
    fn sentinels_reply() {
        let entry = |ip: &str, port: &str| {
            Value::Array(vec![
                bulk("name"),
                bulk("x"),
                bulk("ip"),
                bulk(ip),
                bulk("port"),
                bulk(port),
            ])
        };
        let reply = Value::Array(vec![entry("10.0.0.1", "26380"), entry("::1", "26381")]);
        assert_eq!(
            parse_sentinels(&reply).unwrap(),
            vec![
                NodeAddr::new("10.0.0.1", 26380),
                NodeAddr::new("::1", 26381)
            ]
        );
        assert!(parse_sentinels(&Value::Array(vec![Value::Array(vec![bulk("ip")])])).is_err());
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
        let reply = Value::Array(vec![
            bulk("message"),
            bulk("+switch-master"),
            bulk("m a 1 b 2"),
        ]);
        assert_eq!(parse_message(&reply), Some(("+switch-master", "m a 1 b 2")));
        let pmessage = Value::Array(vec![bulk("pmessage"), bulk("*"), bulk("+sdown"), bulk("x")]);
        assert_eq!(parse_message(&pmessage), Some(("+sdown", "x")));
        let pong = Value::Array(vec![bulk("pong"), bulk("")]);
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
            Value::Array(flat.iter().map(|s| bulk(s)).collect())
        };
        let reply = Value::Array(vec![
            entry("1", "slave", "ok"),
            entry("2", "s_down,slave", "ok"),
            entry("3", "slave,disconnected", "ok"),
            entry("4", "slave", "err"),
        ]);
        assert_eq!(
            parse_healthy_replicas(&reply),
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
        let reply = Value::Array(flat.iter().map(|s| bulk(s)).collect());
        assert_eq!(
            parse_master_info(&reply),
            Ok((NodeAddr::new("127.0.0.1", 6380), 7))
        );
        assert!(parse_master_info(&Value::Array(vec![bulk("ip")])).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::resp::read::generated::value;

    /// Words sentinels use, so that generated payloads reach past the first match arm.
    const WORDS: &str = "(master|slave|@|mymaster|127\\.0\\.0\\.1|::1|6379|0|65536|-1|x| )";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn events_never_panic(
            channel in "(\\+switch-master|\\+selected-slave|\\+promoted-slave|\\+failover-state-select-slave|\\+failover-state-send-slaveof-noone|-failover-abort-[a-z-]{0,12}|\\+sdown|\\+slave|.{0,12})",
            words in proptest::collection::vec(WORDS, 0..10),
            noise in ".{0,24}",
        ) {
            let payload = words.join(" ");
            let _ = parse_event(&channel, &payload);
            let _ = parse_event(&channel, &noise);
            let _ = parse_event(&noise, &payload);
        }

        #[test]
        fn sentinel_answers_never_panic(reply in value()) {
            let _ = parse_master_addr(&reply);
            let _ = parse_sentinels(&reply);
            let _ = parse_healthy_replicas(&reply);
            let _ = parse_master_info(&reply);
            let _ = parse_message(&reply);
            let _ = parse_info_role(&reply);
        }

        #[test]
        fn flat_field_lists_never_panic(
            fields in proptest::collection::vec(
                "(ip|port|flags|config-epoch|master-link-status|ok|s_down|127\\.0\\.0\\.1|6379|99999|-3|)", 0..12),
            nest in any::<bool>(),
        ) {
            let list = Value::Array(fields.iter().map(|f| Value::BulkString(f.clone().into_bytes())).collect());
            let reply = if nest { Value::Array(vec![list.clone(), list]) } else { list };
            let _ = parse_sentinels(&reply);
            let _ = parse_healthy_replicas(&reply);
            let _ = parse_master_info(&reply);
            let _ = parse_master_addr(&reply);
        }
    }
}
