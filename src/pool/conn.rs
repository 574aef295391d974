//! Connections to data nodes as pooled, and as handed out: [`Conn`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::command::blocking::{server_wait, ServerWait};
use crate::command::session::Session;
use crate::config::NodeAddr;
use crate::error::{Error, ErrorKind, Result};
use crate::pool::addr_pool::Pooled;
use crate::pool::gate::{LiveSocket, NodeGate, WatchedSocket, IDLE, SENDING, WAITING};
use crate::pool::link::DataLink;
use crate::resp::encode::encode_command;
use crate::resp::server_error::{data_node_error, kind_of, says_replica, During};
use crate::resp::value::Value;

/// A connection to a data node, as pooled.
pub struct DataConnection {
    pub(super) link: DataLink,
    /// Its socket as the gate sees it (forgotten when the conn drops).
    pub(super) watched: WatchedSocket,
    pub(super) generation: u64,
    pub(super) broken: bool,
    /// What its commands left behind; a conn that is not clean is closed when it comes back.
    pub(super) session: Session,
    pub(super) packed: Vec<u8>,
    pub(super) addr: Arc<NodeAddr>,
    /// Commands appended but not sent yet, how many, and the longest any may wait on the
    /// server.
    pub(super) queued: Vec<u8>,
    pub(super) queued_count: usize,
    pub(super) queued_wait: Option<ServerWait>,
    /// Replies read but not yet taken by `get_reply`.
    pub(super) replies: std::collections::VecDeque<Value>,
    /// When it was last checked out (or opened).
    pub(super) last_checkout: Instant,
    /// Whether it has run a command since its socket was last checked for unasked bytes.
    pub(super) ran_commands: bool,
}

/// How long a pooled conn may go without a checkout before the next one looks for a close by
/// the server.
pub(super) const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

impl DataConnection {
    pub(super) fn new(
        link: DataLink,
        watched: WatchedSocket,
        generation: u64,
        addr: Arc<NodeAddr>,
    ) -> Self {
        DataConnection {
            link,
            watched,
            generation,
            broken: false,
            session: Session::default(),
            packed: Vec::with_capacity(256),
            addr,
            queued: Vec::new(),
            queued_count: 0,
            queued_wait: None,
            replies: std::collections::VecDeque::new(),
            last_checkout: Instant::now(),
            ran_commands: false,
        }
    }

    fn live(&self) -> &LiveSocket {
        self.watched.live()
    }

    /// Runs on every checkout of an idle conn. A conn that ran commands since the last check
    /// is checked for bytes no command asked for (a server out of step, whose extra reply the
    /// next caller would take for its own), as redis-py checks every connection it hands out.
    /// A conn checked out within the last second cannot have been idle longer, and Redis
    /// closes idle clients only after whole seconds: if it ran nothing, it is handed out as is
    /// (one clock read, no syscall). Any other is checked for a close by the server. Neither
    /// check costs a round trip. One idle longer than `idle_timeout` is not handed out.
    pub(super) fn usable_after_idle(&mut self, idle_timeout: Duration) -> bool {
        let now = Instant::now();
        let idle = now.duration_since(self.last_checkout);
        self.last_checkout = now;
        let ran_commands = std::mem::take(&mut self.ran_commands);
        if idle > idle_timeout {
            return false;
        }
        (idle < CHECK_IDLE_AFTER && !ran_commands) || self.link.is_usable_after_idle()
    }

    /// Runs when the conn comes back: whether it may serve another caller. Unsent commands and
    /// unread replies belong to the caller that put it back.
    pub(super) fn reusable(&mut self, generation_current: bool) -> bool {
        self.queued.clear();
        self.queued_count = 0;
        self.queued_wait = None;
        self.replies.clear();
        generation_current && !self.broken && self.link.is_in_step() && self.session.is_clean()
    }
}

impl DataConnection {
    pub(super) fn command(&mut self, args: &[&[u8]], master: &NodeGate) -> Result<Value> {
        self.session.track(args);
        self.packed.clear();
        encode_command(&mut self.packed, args);
        if self.link.durable().is_some() {
            // The way of a pipeline, which adds the WAIT a write needs (`command::durable`).
            let reply = self.send_packed(1, server_wait(args), master)?.pop();
            let reply = reply.ok_or_else(|| Error::new(ErrorKind::Io, "no reply read"))?;
            return self.check_reply(reply, master);
        }
        let reply = self.exchange(server_wait(args), master, |link, packed, wait| {
            link.request_one(packed, wait)
        })?;
        self.check_reply(reply, master)
    }

    pub(super) fn pipeline(
        &mut self,
        commands: &[&[&[u8]]],
        master: &NodeGate,
    ) -> Result<Vec<Value>> {
        self.packed.clear();
        let mut wait = None;
        for args in commands {
            encode_command(&mut self.packed, args);
            wait = wait.max(server_wait(args));
            self.session.track(args);
        }
        self.send_packed(commands.len(), wait, master)
    }

    /// Sends `self.packed` (`count` commands) and reads `count` replies.
    pub(super) fn send_packed(
        &mut self,
        count: usize,
        wait: Option<ServerWait>,
        master: &NodeGate,
    ) -> Result<Vec<Value>> {
        // Durable writes add a WAIT (`command::durable`); `None` when off.
        let plan = self
            .link
            .durable()
            .and_then(|d| d.plan(&mut self.packed, count));
        let (count, wait) = plan
            .as_ref()
            .map_or((count, wait), |p| (count + 1, p.wait(wait)));
        let mut replies = self.exchange(wait, master, |link, packed, wait| {
            link.request(packed, count, wait)
        })?;
        if replies.iter().any(is_readonly_error) {
            self.broken = true;
            master.want_reask();
        }
        if let Some(plan) = plan {
            let node = format_args!("master \"{}\" at {}", master.name, self.addr);
            plan.settle(&mut replies, node)
                .inspect_err(|_| master.want_reask())?;
        }
        Ok(replies)
    }

    /// Runs `io` on the link with the packed commands, with the conn's socket marked busy so
    /// that a switch, a fence or an interrupt can end the command at once (see [`LiveSocket`]).
    pub(super) fn exchange<T>(
        &mut self,
        wait: Option<ServerWait>,
        master: &NodeGate,
        io: impl FnOnce(&mut DataLink, &[u8], Option<ServerWait>) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let activity = if wait.is_some() { WAITING } else { SENDING };
        self.live().activity.store(activity, Ordering::SeqCst);
        // The one check that a conn may send, made after the store: a fence or switch from
        // here on sees the activity.
        if !master.may_send(self.generation) {
            self.live().activity.store(IDLE, Ordering::Release);
            self.broken = true;
            return Err(master.not_sent(self.generation, &self.addr));
        }
        self.ran_commands = true;
        let result = io(&mut self.link, &self.packed, wait);
        self.live().activity.store(IDLE, Ordering::SeqCst);
        let shut = self.live().shut.load(Ordering::Acquire);
        if shut {
            // Its socket is shut, even when the reply came in just before.
            self.broken = true;
        }
        result.map_err(|err| {
            if !shut {
                return self.fail(&err, master);
            }
            let (name, addr) = (&master.name, &self.addr);
            if master.generation() != self.generation {
                // As for a command not sent on a stale conn: retry on a fresh one.
                let what = if wait.is_some() { "waited" } else { "was in flight" };
                Error::new(
                    ErrorKind::ReadOnly,
                    format!("READONLY master \"{name}\" moved while the command {what} on {addr}: the client left that node"),
                )
            } else if master.is_fenced() {
                Error::new(
                    ErrorKind::Io,
                    format!("master \"{name}\" at {addr} is being failed over: the command in flight was ended (it may or may not have been applied)"),
                )
            } else {
                Error::new(
                    ErrorKind::Io,
                    format!("master \"{name}\": {addr}: interrupted while the command waited"),
                )
            }
        })
    }

    pub(super) fn check_reply(&mut self, reply: Value, master: &NodeGate) -> Result<Value> {
        let Value::ServerError(err) = reply else {
            return Ok(reply);
        };
        let text = err.to_string();
        let kind = kind_of(&err, During::Command);
        if kind == ErrorKind::Server {
            return Err(Error::new(kind, text));
        }
        self.broken = true;
        master.want_reask();
        Err(Error::new(
            kind,
            format!("{} (master \"{}\" at {})", text, master.name, self.addr),
        ))
    }

    pub(super) fn fail(&mut self, err: &redis::RedisError, master: &NodeGate) -> Error {
        self.broken = true;
        master.want_reask();
        let err = data_node_error(err, &self.addr).context(format!("master \"{}\"", master.name));
        if master.sentinels_up.load(Ordering::Relaxed) == 0 {
            err.with_sentinel_down()
        } else {
            err
        }
    }
}

pub(super) fn is_readonly_error(value: &Value) -> bool {
    matches!(value, Value::ServerError(err) if says_replica(err))
}

/// A connection checked out of a master's pool. Dropping it puts it back, or closes it when it
/// is broken or its master has moved since it was handed out.
pub struct Conn {
    pub(super) pooled: Pooled,
    pub(super) generation: u64,
    pub(super) master: Arc<NodeGate>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("master", &self.master.name)
            .field("addr", &self.pooled.addr)
            .field("generation", &self.generation)
            .field("broken", &self.pooled.broken)
            .finish()
    }
}

impl Conn {
    /// Runs one command. A top-level error reply is an `Err` of kind SERVER or READONLY;
    /// error replies nested in arrays stay values (`Value::ServerError`).
    pub fn command(&mut self, args: &[&[u8]]) -> Result<Value> {
        if args.is_empty() {
            return Err(Error::invalid("a command needs at least one argument"));
        }
        let master = &self.master;
        self.pooled.command(args, master)
    }

    /// Sends every command in one write and reads every reply. Error replies are
    /// `Value::ServerError` elements; an I/O failure fails the whole call and breaks the conn.
    pub fn pipeline(&mut self, commands: &[&[&[u8]]]) -> Result<Vec<Value>> {
        if commands.iter().any(|args| args.is_empty()) {
            return Err(Error::invalid(
                "every pipelined command needs at least one argument",
            ));
        }
        let master = &self.master;
        self.pooled.pipeline(commands, master)
    }

    /// Queues a command without sending it; [`Conn::get_reply`] sends every queued command in
    /// one write and returns their replies in order, one per call.
    pub fn append(&mut self, args: &[&[u8]]) -> Result<()> {
        if args.is_empty() {
            return Err(Error::invalid("a command needs at least one argument"));
        }
        let conn = &mut *self.pooled;
        encode_command(&mut conn.queued, args);
        conn.queued_count += 1;
        conn.queued_wait = conn.queued_wait.max(server_wait(args));
        conn.session.track(args);
        Ok(())
    }

    /// The reply of the oldest appended command. Error replies are values
    /// (`Value::ServerError`), as inside a pipeline; an I/O failure breaks the conn.
    pub fn get_reply(&mut self) -> Result<Value> {
        if let Some(reply) = self.pooled.replies.pop_front() {
            return Ok(reply);
        }
        if self.pooled.queued_count == 0 {
            return Err(Error::invalid("no appended command is waiting for a reply"));
        }
        let conn = &mut *self.pooled;
        std::mem::swap(&mut conn.packed, &mut conn.queued);
        conn.queued.clear();
        let count = std::mem::take(&mut conn.queued_count);
        let wait = conn.queued_wait.take();
        let replies = conn.send_packed(count, wait, &self.master)?;
        conn.replies.extend(replies);
        conn.replies
            .pop_front()
            .ok_or_else(|| Error::new(ErrorKind::Io, "no reply read"))
    }

    /// Closes the connection when it comes back instead of reusing it.
    pub fn mark_broken(&mut self) {
        self.pooled.broken = true;
    }

    pub fn is_broken(&self) -> bool {
        self.pooled.broken || !self.pooled.link.is_open()
    }

    /// The generation of the pool this conn came from (see [`crate::MasterStats::generation`]).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// True when the master has moved since this conn was handed out.
    pub fn is_stale(&self) -> bool {
        self.generation != self.master.generation()
    }

    pub fn addr(&self) -> &NodeAddr {
        &self.pooled.addr
    }

    pub fn master_name(&self) -> &str {
        &self.master.name
    }
}
