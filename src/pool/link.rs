//! One connection to a data node (a master or a replica): connect, log in, send packed
//! commands, read replies.
//!
//! Our own rather than `redis::Connection`, for two reasons: TLS to data nodes must be able to
//! verify a server name other than the dialed host (the redis crate always verifies the host),
//! and the socket must be ours to busy-poll. Replies are read by `resp::read`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use redis::RedisResult;

use crate::resp::value::Value;

use crate::command::blocking::ServerWait;
use crate::command::durable::Durable;
use crate::config::{Config, NodeAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::net::spin::SpinGovernor;
use crate::net::stream::{SocketHandle, Stream, Until};
use crate::net::tls::Dial;
use crate::resp::encode::encode_command;
use crate::resp::read::ReplyReader;
use crate::resp::server_error::{data_node_error, kind_of, During};

pub(crate) struct DataLink {
    stream: Stream,
    replies: ReplyReader,
    open: bool,
    /// How long to poll the socket for a reply before sleeping in `read`; zero polls not at all.
    busy_poll: Duration,
    /// Whether polling has been paying on this link.
    spin_governor: SpinGovernor,
    read_timeout: Duration,
    write_timeout: Duration,
    /// The read timeout in force: `read_timeout`, or longer for a command that waits on the
    /// server (`None`: no bound).
    reply_bound: Option<Duration>,
    /// Durable writes, when on: see `command::durable`.
    durable: Option<Durable>,
}

impl DataLink {
    /// Connects, then logs in, selects the database and names the connection, as `config`
    /// says: all within `config.connect_timeout`. The socket is handed to `watch` before the
    /// connect starts (see [`Stream::connect_tcp`]): whoever holds it can cut the connect and
    /// the login, and what `watch` returns comes back with the link.
    pub fn connect<G>(
        addr: &NodeAddr,
        config: &Config,
        dial: &Dial,
        watch: impl FnMut(SocketHandle) -> G,
    ) -> Result<(DataLink, G)> {
        let io_error = |e: io::Error| Error::new(ErrorKind::Io, format!("{addr}: {e}"));
        let started = Instant::now();
        let (mut stream, watched) =
            Stream::connect_tcp(addr, config.connect_timeout, dial, watch).map_err(io_error)?;
        let left = config
            .connect_timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        stream.set_timeouts(left, left).map_err(io_error)?;
        stream.handshake().map_err(io_error)?;
        let mut link = DataLink {
            stream,
            replies: ReplyReader::new(),
            open: true,
            busy_poll: config.busy_poll,
            spin_governor: SpinGovernor::default(),
            read_timeout: config.read_timeout,
            write_timeout: config.write_timeout,
            reply_bound: Some(left),
            durable: Durable::new(config.wait_replicas, config.wait_timeout),
        };
        link.set_up(addr, config, dial)?;
        link.stream
            .set_timeouts(config.read_timeout, config.write_timeout)
            .map_err(io_error)?;
        link.reply_bound = Some(config.read_timeout);
        Ok((link, watched))
    }

    /// Sends every setup command in one write; the first error reply fails the connect.
    fn set_up(&mut self, addr: &NodeAddr, config: &Config, dial: &Dial) -> Result<()> {
        let mut packed = Vec::with_capacity(128);
        let mut steps: Vec<&str> = Vec::with_capacity(3);
        let auth = dial.auth.as_ref();
        if config.resp3 {
            let mut args: Vec<&[u8]> = vec![b"HELLO", b"3"];
            if let Some(auth) = auth {
                let user = auth.username.as_deref().unwrap_or("default");
                args.extend([&b"AUTH"[..], user.as_bytes(), auth.password.as_bytes()]);
            }
            encode_command(&mut packed, &args);
            steps.push("HELLO 3");
        } else if let Some(auth) = auth {
            encode_command(&mut packed, &auth.auth_command());
            steps.push("AUTH");
        }
        let database = config.database.to_string();
        if config.database != 0 {
            encode_command(&mut packed, &[b"SELECT", database.as_bytes()]);
            steps.push("SELECT");
        }
        if let Some(name) = &config.client_name {
            encode_command(&mut packed, &[b"CLIENT", b"SETNAME", name.as_bytes()]);
            steps.push("CLIENT SETNAME");
        }
        if steps.is_empty() {
            return Ok(());
        }
        let replies = self
            .request(&packed, steps.len(), None)
            .map_err(|e| data_node_error(&e, addr))?;
        for (step, reply) in steps.iter().zip(replies) {
            if let Value::ServerError(err) = reply {
                let text = err.to_string();
                let kind = match kind_of(&err, During::Login) {
                    // Whatever AUTH answers, the login was refused.
                    _ if *step == "AUTH" => ErrorKind::Auth,
                    ErrorKind::ReadOnly => ErrorKind::Server,
                    kind => kind,
                };
                return Err(if kind == ErrorKind::Auth {
                    Error::new(kind, format!("{addr} refused authentication: {text}"))
                } else {
                    Error::new(kind, format!("{addr} refused {step}: {text}"))
                });
            }
        }
        Ok(())
    }

    /// Durable writes on this link, `None` when off.
    pub fn durable(&mut self) -> Option<&mut Durable> {
        self.durable.as_mut()
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// For a link that sat idle: false when the server has closed it meanwhile (Redis's
    /// `timeout`, a restart) or sent something unasked, so it is not handed out to fail.
    pub fn is_usable_after_idle(&self) -> bool {
        self.open && !self.replies.has_unread() && self.stream.is_quiet()
    }

    /// False once the link broke or holds bytes no request asked for.
    pub fn is_in_step(&self) -> bool {
        self.open && !self.replies.has_unread()
    }

    /// Sends `packed` (`count` commands) and reads their `count` replies. RESP3 push messages
    /// are not replies and are skipped. Any failure closes the link: what it would read next
    /// could be the reply of a command it gave up on. So do bytes left over after the last
    /// reply: the server is out of step with the commands sent.
    /// `wait`: how much longer than the read timeout the replies may take (see `blocking`).
    /// The read timeout (plus `wait`) bounds all `count` replies together, from the send on,
    /// however slowly their bytes arrive.
    pub fn request(
        &mut self,
        packed: &[u8],
        count: usize,
        wait: Option<ServerWait>,
    ) -> RedisResult<Vec<Value>> {
        let mut replies = Vec::with_capacity(count);
        self.exchange(packed, wait, |link, reads| {
            for _ in 0..count {
                replies.push(link.read_reply(reads)?);
            }
            Ok(())
        })?;
        Ok(replies)
    }

    /// [`DataLink::request`] for one command.
    pub fn request_one(&mut self, packed: &[u8], wait: Option<ServerWait>) -> RedisResult<Value> {
        self.exchange(packed, wait, |link, reads| link.read_reply(reads))
    }

    /// Sends `packed` and runs `read` under the request's deadline; see [`DataLink::request`].
    fn exchange<T>(
        &mut self,
        packed: &[u8],
        wait: Option<ServerWait>,
        read: impl FnOnce(&mut Self, &mut ReadBudget) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let may_spin = wait.is_none();
        self.waiting(wait, |link| {
            link.send(packed, may_spin)?;
            let mut reads = ReadBudget {
                deadline: link.reply_bound.map(|bound| Instant::now() + bound),
                reads: 0,
                retimed: false,
            };
            let result = read(link, &mut reads);
            if reads.retimed {
                // Later reads shortened the socket's timeout: give the next request its own.
                if let Err(err) = link.stream.set_read_timeout(link.reply_bound) {
                    link.open = false;
                    return result.and(Err(err.into()));
                }
            }
            let value = result?;
            if link.replies.has_unread() {
                link.open = false;
                return Err(out_of_step());
            }
            Ok(value)
        })
    }

    /// Runs `io` with the read timeout lengthened by `wait`, and puts the read timeout back
    /// after. A link whose timeout cannot be put back is closed rather than left unbounded.
    fn waiting<T>(
        &mut self,
        wait: Option<ServerWait>,
        io: impl FnOnce(&mut Self) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let Some(wait) = wait else {
            return io(self);
        };
        let bound = match wait {
            ServerWait::For(extra) => Some(self.read_timeout.saturating_add(extra)),
            ServerWait::Unbounded => None,
        };
        if let Err(err) = self.stream.set_read_timeout(bound) {
            self.open = false;
            return Err(err.into());
        }
        self.reply_bound = bound;
        let result = io(self);
        self.reply_bound = Some(self.read_timeout);
        if let Err(err) = self.stream.set_read_timeout(self.reply_bound) {
            self.open = false;
            return result.and(Err(err.into()));
        }
        result
    }

    /// Sends `packed` without reading a reply: for a subscription, whose confirmations and
    /// messages are read by [`DataLink::read_within`]. A failure closes the link.
    pub fn send_only(&mut self, packed: &[u8]) -> RedisResult<()> {
        self.send(packed, false)
    }

    /// The next reply or message, waiting at most `wait`; `None` when nothing complete came in
    /// time (the bytes of one cut by the wait stay buffered for the next call). A failure
    /// closes the link.
    pub fn read_within(&mut self, wait: Duration) -> RedisResult<Option<Value>> {
        let mut source = Until {
            stream: &mut self.stream,
            deadline: Instant::now() + wait,
        };
        match self.replies.read_value(&mut source) {
            Ok(value) => Ok(Some(value)),
            Err(err) if err.is_timeout() => Ok(None),
            Err(err) => {
                self.open = false;
                Err(err)
            }
        }
    }

    /// Sends `packed`, then busy-polls for the reply if configured and `may_spin` (not for
    /// commands that wait on the server: their replies are slow by design) and polling has
    /// been paying on this link.
    fn send(&mut self, packed: &[u8], may_spin: bool) -> RedisResult<()> {
        let sent = self
            .stream
            .write_all(packed)
            .and_then(|()| self.stream.flush())
            .map_err(|e| timed_out_as(e, "could not send the command", Some(self.write_timeout)));
        if sent.is_err() {
            self.open = false;
        }
        if sent.is_ok() && may_spin && !self.busy_poll.is_zero() && self.spin_governor.should_spin()
        {
            if let Some(caught) = self.stream.spin_until_readable(self.busy_poll) {
                self.spin_governor.record(caught);
            }
        }
        Ok(sent?)
    }

    /// The next reply, skipping push messages.
    fn read_reply(&mut self, reads: &mut ReadBudget) -> RedisResult<Value> {
        loop {
            let mut source = BoundedReads {
                stream: &mut self.stream,
                budget: reads,
            };
            match self.replies.read_value(&mut source) {
                Ok(Value::Push { .. }) => {}
                Ok(value) => return Ok(value),
                Err(err) if err.is_timeout() => {
                    self.open = false;
                    let timed_out = io::Error::from(io::ErrorKind::TimedOut);
                    return Err(timed_out_as(timed_out, "no reply", self.reply_bound).into());
                }
                Err(err) => {
                    self.open = false;
                    return Err(err);
                }
            }
        }
    }
}

/// The deadline of one request's replies, and whether its reads changed the socket's timeout.
struct ReadBudget {
    /// `None`: the replies may take as long as they take (a command that waits without bound).
    deadline: Option<Instant>,
    reads: u32,
    retimed: bool,
}

/// The link's socket as the replies of one request read it. The first read waits the socket's
/// timeout as set (one reply in one read, the common case, costs nothing more); every further
/// read waits only what is left until the deadline, so bytes that trickle in cannot stretch a
/// reply past its bound (one setsockopt per extra read).
struct BoundedReads<'a> {
    stream: &'a mut Stream,
    budget: &'a mut ReadBudget,
}

impl io::Read for BoundedReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let budget = &mut *self.budget;
        if budget.reads > 0 {
            if let Some(deadline) = budget.deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                // A zero timeout would mean "wait for ever".
                self.stream
                    .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
                budget.retimed = true;
            }
        }
        budget.reads += 1;
        self.stream.read(buf)
    }
}

/// What a reply followed by bytes nobody asked for means.
fn out_of_step() -> redis::RedisError {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "protocol error: the server sent more than the replies asked for (connection closed)",
    )
    .into()
}

/// A socket timeout said plainly: the OS says "Resource temporarily unavailable".
fn timed_out_as(err: io::Error, what: &str, bound: Option<Duration>) -> io::Error {
    if !matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) {
        return err;
    }
    let within = bound.map_or(String::new(), |b| format!(" within {} ms", b.as_millis()));
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what}{within} (timed out)"),
    )
}
