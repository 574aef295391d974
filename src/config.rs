//! Addresses and options. Parsing here is pure, so every bad input is tested without a server.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

/// Where a sentinel listens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SentinelAddr {
    Tcp(NodeAddr),
    Unix(PathBuf),
}

impl SentinelAddr {
    /// `network` is `"tcp"` (address `host:port`, IPv6 as `[::1]:26379`) or `"unix"` (a path).
    pub fn parse(network: &str, address: &str) -> Result<Self> {
        match network {
            "tcp" => NodeAddr::parse(address).map(SentinelAddr::Tcp),
            "unix" if address.is_empty() => Err(Error::invalid("unix socket path is empty")),
            "unix" => Ok(SentinelAddr::Unix(PathBuf::from(address))),
            other => Err(Error::invalid(format!(
                "network \"{other}\" is not supported: use \"tcp\" or \"unix\""
            ))),
        }
    }
}

impl fmt::Display for SentinelAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SentinelAddr::Tcp(addr) => addr.fmt(f),
            SentinelAddr::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A TCP address as sentinels report it: a host (name or IP) and a port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeAddr {
    pub host: String,
    pub port: u16,
}

impl NodeAddr {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        NodeAddr {
            host: host.into(),
            port,
        }
    }

    /// Parses `host:port` or `[ipv6]:port`.
    pub fn parse(address: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid(format!("address \"{address}\" {why}"));
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let (host, rest) = rest
                .split_once(']')
                .ok_or_else(|| bad("has no closing ']'"))?;
            let port = rest
                .strip_prefix(':')
                .ok_or_else(|| bad("has no port after ']'"))?;
            (host, port)
        } else {
            let (host, port) = address
                .rsplit_once(':')
                .ok_or_else(|| bad("is not host:port"))?;
            if host.contains(':') {
                return Err(bad(
                    "is an IPv6 address without brackets: write [addr]:port",
                ));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(bad("has an empty host"));
        }
        let port = Self::parse_port(port).ok_or_else(|| bad("has no valid port (1-65535)"))?;
        Ok(NodeAddr::new(host, port))
    }

    /// Parses a port as sentinels send it: decimal text, 1-65535.
    pub fn parse_port(text: &str) -> Option<u16> {
        text.parse::<u16>().ok().filter(|&port| port != 0)
    }
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Everything a [`crate::Client`] needs. Defaults are the documented defaults of the C API.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// Sentinels to ask first; others are discovered with `SENTINEL SENTINELS`.
    pub sentinels: Vec<SentinelAddr>,
    /// Master names to follow.
    pub masters: Vec<String>,
    /// Most connections per master.
    pub pool_size: u32,
    /// Bound on opening a data connection (name lookup, TCP connect and handshake). Default 1 s.
    pub connect_timeout: Duration,
    /// Bound on the whole reply of a command (or all replies of a pipeline), from the moment it
    /// was sent, however slowly its bytes trickle in. Default 3 s. A command that waits on the
    /// server (BLPOP, XREAD BLOCK, WAIT and the like) is given its own timeout on top of this
    /// one, and waits without bound when that timeout is 0; a failover or
    /// [`crate::Client::interrupt_waits`] still ends its wait.
    pub read_timeout: Duration,
    /// Bound on writing one command to a data node. Default 3 s.
    pub write_timeout: Duration,
    /// How long `get_master` waits for a free connection. Default 4 s.
    pub pool_wait: Duration,
    /// Bound on connecting to and querying a sentinel. Default 1 s.
    pub sentinel_timeout: Duration,
    /// A silent sentinel link is PINGed after this long, and dropped after three times this. Default 1 s.
    pub sentinel_keepalive: Duration,
    /// TCP keepalive for every connection (data and sentinel): the kernel probes a connection
    /// silent this long, every third of it after that, and closes it after three unanswered
    /// probes. A peer that vanished without closing (a dead host, a NAT that forgot the
    /// connection) is then noticed while the connection sits in the pool, not by the next
    /// command's read timeout. Whole seconds, up to [`Config::MAX_TCP_KEEPALIVE`]; zero turns
    /// the probes off. Default 15 s (hiredis's `redisEnableKeepAlive` interval).
    pub tcp_keepalive: Duration,
    /// Longest a failover may fence a master: `get_master` waits this long for the new master,
    /// then the fence is lifted and the sentinels re-asked. Default 5 s.
    pub fence_wait: Duration,
    /// Credentials for masters and replicas (AUTH, or an ACL user). Default none.
    pub data_auth: Option<Credentials>,
    /// Credentials for sentinels (`requirepass` on sentinels). Default none.
    pub sentinel_auth: Option<Credentials>,
    /// TLS to masters and replicas. Default none (plain TCP).
    pub data_tls: Option<TlsOptions>,
    /// TLS to sentinels. Default none (plain TCP).
    pub sentinel_tls: Option<TlsOptions>,
    /// Database selected on every data connection. Default 0.
    pub database: i64,
    /// Name set with CLIENT SETNAME on every data connection. Default none.
    pub client_name: Option<String>,
    /// Speak RESP3 (HELLO 3) on data connections. Default false (RESP2).
    pub resp3: bool,
    /// After sending a command, spin on the socket this long before sleeping until the reply
    /// comes: lower latency for a CPU kept busy while waiting. A connection whose replies keep
    /// missing the budget pauses spinning for a while; commands that wait on the server never
    /// spin. Default zero (never spin); at most [`Config::MAX_BUSY_POLL`].
    pub busy_poll: Duration,
    /// Durable writes: after the writes of each request (a command, a pipeline, a
    /// transaction's EXEC) the client sends `WAIT wait_replicas wait_timeout` in the same
    /// round trip, and fails the request with [`crate::ErrorKind::NotReplicated`] when fewer
    /// replicas confirmed the writes in time. Reads never wait. Which commands write, and what
    /// a pipeline or transaction gets, is in the README ("Durable writes"). Default 0: off,
    /// nothing is sent and nothing costs more.
    pub wait_replicas: u32,
    /// How long WAIT waits for the replicas, whole milliseconds (rounded up), on top of the
    /// command's read timeout. Default 100 ms; must be more than zero when
    /// [`Config::wait_replicas`] is not 0 (WAIT's 0 would wait for ever).
    pub wait_timeout: Duration,
    /// Rewrites every address a sentinel reports (NAT, Docker). Default none.
    pub address_map: Option<AddressMap>,
    /// Told of switches, fences, sentinel links and re-resolutions. Default none.
    pub on_event: Option<EventHook>,
}

/// TLS settings for one kind of node. PEM files; without a CA file the system's roots are
/// trusted. The server name, when given, is verified instead of the dialed host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsOptions {
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub server_name: Option<String>,
}

/// A user name (for ACL users) and a password. Debug output never shows the password.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credentials {
    pub username: Option<String>,
    pub password: String,
}

impl Credentials {
    /// The password of the default user (`username` None) or of an ACL user.
    pub fn new(username: Option<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username,
            password: password.into(),
        }
    }

    /// `AUTH [username] password`, as sent to sentinels and (in RESP2) to data nodes.
    pub(crate) fn auth_command(&self) -> Vec<&[u8]> {
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(user) = &self.username {
            args.push(user.as_bytes());
        }
        args.push(self.password.as_bytes());
        args
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// A function from a reported address to the one to dial (`None`: dial it unchanged).
pub type MapFn = dyn Fn(&NodeAddr) -> Option<NodeAddr> + Send + Sync;

/// Maps an address reported by a sentinel to the one this client must dial.
#[derive(Clone)]
pub struct AddressMap(pub Arc<MapFn>);

impl fmt::Debug for AddressMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AddressMap(..)")
    }
}

/// What the client tells an event hook.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A master moved: conns handed out from now on point at `new`.
    MasterSwitched {
        master: String,
        old: Option<NodeAddr>,
        new: NodeAddr,
    },
    /// A failover of `master` began: no conn is handed out or used for `address` meanwhile.
    FenceRaised { master: String, address: NodeAddr },
    /// The failover ended without a switch (aborted, or the fence wait ran out).
    FenceLifted { master: String, address: NodeAddr },
    /// A subscription to a sentinel came up.
    SentinelUp { sentinel: SentinelAddr },
    /// A subscription to a sentinel went down; the client reconnects by itself.
    SentinelDown { sentinel: SentinelAddr },
    /// The sentinels were asked where `master` is, and answered `address`.
    MasterResolved { master: String, address: NodeAddr },
    /// The sentinels named `address`, a node the client already left for a master it
    /// confirmed itself, with no newer config epoch: old news, not followed.
    StaleAnswerIgnored { master: String, address: NodeAddr },
}

/// Receives [`ClientEvent`]s on the client's own threads; it must return quickly.
#[derive(Clone)]
pub struct EventHook(pub Arc<dyn Fn(&ClientEvent) + Send + Sync>);

impl fmt::Debug for EventHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventHook(..)")
    }
}

impl Default for Config {
    /// No sentinels, no masters, pool size 10, and the default timeouts.
    fn default() -> Self {
        Config {
            sentinels: Vec::new(),
            masters: Vec::new(),
            pool_size: 10,
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(3),
            write_timeout: Duration::from_secs(3),
            pool_wait: Duration::from_secs(4),
            sentinel_timeout: Duration::from_secs(1),
            sentinel_keepalive: Duration::from_secs(1),
            tcp_keepalive: Duration::from_secs(15),
            fence_wait: Duration::from_secs(5),
            data_auth: None,
            sentinel_auth: None,
            data_tls: None,
            sentinel_tls: None,
            database: 0,
            client_name: None,
            resp3: false,
            busy_poll: Duration::ZERO,
            wait_replicas: 0,
            wait_timeout: Self::DEFAULT_WAIT_TIMEOUT,
            address_map: None,
            on_event: None,
        }
    }
}

impl Config {
    /// The longest [`Config::tcp_keepalive`] Linux accepts (`TCP_KEEPIDLE`).
    pub const MAX_TCP_KEEPALIVE: Duration = Duration::from_secs(32767);
    /// The longest [`Config::busy_poll`]: sleeping is cheaper beyond.
    pub const MAX_BUSY_POLL: Duration = Duration::from_millis(10);
    /// The default [`Config::wait_timeout`].
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_millis(100);

    /// The address to dial for an address a sentinel reported.
    pub fn map_addr(&self, addr: NodeAddr) -> NodeAddr {
        match &self.address_map {
            Some(map) => (map.0)(&addr).unwrap_or(addr),
            None => addr,
        }
    }

    /// Tells the event hook, if any; a panicking hook is contained.
    pub fn emit(&self, event: ClientEvent) {
        if let Some(hook) = &self.on_event {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (hook.0)(&event)));
        }
    }

    pub fn new(sentinel: SentinelAddr, masters: Vec<String>, pool_size: u32) -> Self {
        Config {
            sentinels: vec![sentinel],
            masters,
            pool_size,
            ..Config::default()
        }
    }

    /// Rejects what cannot work, naming the offending value.
    pub fn validate(&self) -> Result<()> {
        if self.sentinels.is_empty() {
            return Err(Error::invalid("no sentinel address given"));
        }
        if self.masters.is_empty() {
            return Err(Error::invalid("no master names given"));
        }
        if let Some(name) = &self.client_name {
            Self::check_client_name(name)?;
        }
        Self::check_database(self.database)?;
        if self.pool_size == 0 {
            return Err(Error::invalid("pool size must be at least 1"));
        }
        for (i, name) in self.masters.iter().enumerate() {
            if name.is_empty() {
                return Err(Error::invalid(format!("master name {i} is empty")));
            }
            if name.contains(|c: char| c.is_whitespace() || c.is_control()) {
                return Err(Error::invalid(format!(
                    "master name \"{}\" contains whitespace",
                    name.escape_debug()
                )));
            }
            if self.masters[..i].contains(name) {
                return Err(Error::invalid(format!(
                    "master name \"{name}\" is given twice"
                )));
            }
        }
        let durations = [
            ("connect timeout", self.connect_timeout),
            ("read timeout", self.read_timeout),
            ("write timeout", self.write_timeout),
            ("sentinel timeout", self.sentinel_timeout),
            ("sentinel keepalive", self.sentinel_keepalive),
            ("fence wait", self.fence_wait),
            ("pool wait", self.pool_wait),
        ];
        for (what, value) in durations {
            Self::check_timeout(what, value)?;
        }
        Self::check_tcp_keepalive(self.tcp_keepalive)?;
        Self::check_wait_replicas(self.wait_replicas, self.wait_timeout)?;
        Self::check_busy_poll(self.busy_poll)
    }

    // One check per option, for `validate` and for the C setters, which report the same
    // message at once.

    /// A client name Redis accepts for CLIENT SETNAME.
    pub(crate) fn check_client_name(name: &str) -> Result<()> {
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid(
                "client name must be non-empty, without spaces",
            ));
        }
        Ok(())
    }

    pub(crate) fn check_database(database: i64) -> Result<()> {
        if database < 0 {
            return Err(Error::invalid(format!("database {database} is negative")));
        }
        Ok(())
    }

    /// Every timeout and wait: zero would mean "no bound" to a socket, or no wait at all.
    pub(crate) fn check_timeout(what: &str, value: Duration) -> Result<()> {
        if value.is_zero() {
            return Err(Error::invalid(format!("{what} must be greater than zero")));
        }
        Ok(())
    }

    pub(crate) fn check_tcp_keepalive(keepalive: Duration) -> Result<()> {
        if keepalive.subsec_nanos() != 0 || keepalive > Self::MAX_TCP_KEEPALIVE {
            return Err(Error::invalid(format!(
                "TCP keepalive of {} s: whole seconds, from 0 (off) to {} (Linux's limit)",
                keepalive.as_secs_f64(),
                Self::MAX_TCP_KEEPALIVE.as_secs()
            )));
        }
        Ok(())
    }

    /// Durable writes: any number of replicas (0 is off), and then a timeout WAIT will not
    /// take for "for ever".
    pub(crate) fn check_wait_replicas(replicas: u32, timeout: Duration) -> Result<()> {
        if replicas > 0 && timeout.is_zero() {
            return Err(Error::invalid(format!(
                "wait timeout must be greater than zero with {replicas} wait replicas \
                 (WAIT with timeout 0 would wait for ever)"
            )));
        }
        Ok(())
    }

    pub(crate) fn check_busy_poll(busy_poll: Duration) -> Result<()> {
        if busy_poll > Self::MAX_BUSY_POLL {
            return Err(Error::invalid(format!(
                "busy poll of {} us: at most {} us (sleeping is cheaper beyond)",
                busy_poll.as_micros(),
                Self::MAX_BUSY_POLL.as_micros()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn parses_tcp_ipv4_ipv6_and_names() {
        assert_eq!(
            NodeAddr::parse("127.0.0.1:26379").unwrap(),
            NodeAddr::new("127.0.0.1", 26379)
        );
        assert_eq!(
            NodeAddr::parse("[::1]:26379").unwrap(),
            NodeAddr::new("::1", 26379)
        );
        assert_eq!(
            NodeAddr::parse("redis.local:1").unwrap(),
            NodeAddr::new("redis.local", 1)
        );
        assert_eq!(NodeAddr::new("::1", 5).to_string(), "[::1]:5");
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "", "host", "host:", ":1", "h:0", "h:65536", "h:x", "::1:5", "[::1]", "[::1:5", "[]:5",
        ] {
            let err = NodeAddr::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn parses_networks() {
        assert_eq!(
            SentinelAddr::parse("unix", "/tmp/s.sock").unwrap(),
            SentinelAddr::Unix("/tmp/s.sock".into())
        );
        assert!(SentinelAddr::parse("udp", "h:1").is_err());
        assert!(SentinelAddr::parse("unix", "").is_err());
        assert!(SentinelAddr::parse("tcp", "h:1").is_ok());
    }

    #[test]
    fn validates_config() {
        let addr = SentinelAddr::parse("tcp", "127.0.0.1:26379").unwrap();
        let keepalive = |secs: f64| {
            let mut config = Config::new(addr.clone(), vec!["m".into()], 1);
            config.tcp_keepalive = Duration::from_secs_f64(secs);
            config.validate()
        };
        assert!(keepalive(0.0).is_ok());
        assert!(keepalive(32767.0).is_ok());
        assert!(keepalive(32768.0).is_err());
        assert!(keepalive(1.5).is_err());
        let durable = |replicas: u32, millis: u64| {
            let mut config = Config::new(addr.clone(), vec!["m".into()], 1);
            config.wait_replicas = replicas;
            config.wait_timeout = Duration::from_millis(millis);
            config.validate()
        };
        assert!(durable(1, 100).is_ok());
        assert!(durable(0, 0).is_ok(), "off: the timeout does not matter");
        let err = durable(2, 0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.message().contains("wait timeout"), "{err}");
        let mut spinning = Config::new(addr.clone(), vec!["m".into()], 1);
        spinning.busy_poll = Config::MAX_BUSY_POLL;
        assert!(spinning.validate().is_ok());
        spinning.busy_poll += Duration::from_micros(1);
        assert!(spinning.validate().is_err());
        assert!(Config::new(addr.clone(), vec!["m".into()], 1)
            .validate()
            .is_ok());
        assert!(Config::new(addr.clone(), vec![], 1).validate().is_err());
        assert!(Config::new(addr.clone(), vec!["m".into()], 0)
            .validate()
            .is_err());
        assert!(Config::new(addr.clone(), vec!["".into()], 1)
            .validate()
            .is_err());
        assert!(Config::new(addr.clone(), vec!["a b".into()], 1)
            .validate()
            .is_err());
        assert!(Config::new(addr, vec!["m".into(), "m".into()], 1)
            .validate()
            .is_err());
    }
}
