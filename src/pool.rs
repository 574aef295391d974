//! Per-master connection pools, one r2d2 pool per master *address*.
//!
//! Each time a master moves, it gets a new `Epoch`: a new address, a new pool, and the next
//! generation number. A connection remembers the generation it was opened for; when it comes
//! back after the master moved, r2d2 asks `DataManager::has_broken`, which says yes, and the
//! connection is closed instead of reused (SPEC guarantee 2).
//!
//! While a failover of a master is under way the master is *fenced*: no conn is handed out for
//! it, and conns already out refuse to send commands, so the master being demoted cannot
//! acknowledge a write that its replacement will never see. Conns of older generations refuse
//! too. Both checks are one atomic load of `generation << 1 | fenced`.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use scheduled_thread_pool::ScheduledThreadPool;

use crate::command::blocking::{server_wait, ServerWait};
use crate::command::session::Session;
use crate::config::{Config, NodeAddr};
use crate::datalink::DataLink;
use crate::error::{Error, ErrorKind, Result};
use crate::net::stream::SocketHandle;
use crate::net::tls::Dial;
use crate::resp::encode::encode_command;
use crate::resp::server_error::{
    data_node_error, kind_of, says_replica, server_error_text, During,
};

pub use redis::Value;

/// State shared by a master's pools and the connections they hand out.
pub(crate) struct MasterShared {
    pub name: String,
    /// `generation << 1 | fenced`. The generation is bumped on every switch; connections of
    /// older generations are dropped on return and send nothing.
    state: AtomicU64,
    /// How many sentinel links are up, to flag errors that happened while cut off.
    pub sentinels_up: Arc<AtomicUsize>,
    /// Raised when a conn saw READONLY or broke: the failover driver re-asks the sentinels.
    pub reask_wanted: AtomicBool,
    /// How many failovers have fenced this master.
    pub fences_raised: AtomicU64,
    wake_driver: Arc<dyn Fn() + Send + Sync>,
    fence_lock: Mutex<()>,
    fence_changed: Condvar,
    /// The socket of every open data connection of this master, whatever its generation.
    live: Mutex<Vec<Arc<LiveSocket>>>,
}

/// A data connection's socket as its master sees it, so that a command in flight can be ended
/// at once: when the client leaves the node (a switch), when a failover fences it (its reply
/// would acknowledge a write the new master may never see), or when an interrupt ends the
/// commands that wait on the server. A read blocked on a shut socket returns at once; without
/// this, a command on a hung master would hold its caller for the whole read timeout after the
/// client had moved on, and a BLPOP on a stopped one for ever.
pub(crate) struct LiveSocket {
    socket: SocketHandle,
    generation: u64,
    /// [`IDLE`], [`SENDING`] or [`WAITING`].
    activity: AtomicU8,
    /// Set before the socket is shut: the command's error then says why.
    shut: AtomicBool,
}

const IDLE: u8 = 0;
/// A command that answers at once is in flight.
const SENDING: u8 = 1;
/// A command that waits on the server (see `blocking`) is in flight.
const WAITING: u8 = 2;

impl LiveSocket {
    fn shut_down(&self) {
        self.shut.store(true, Ordering::Release);
        self.socket.shut_down();
    }
}

impl MasterShared {
    pub fn generation(&self) -> u64 {
        self.state.load(Ordering::Acquire) >> 1
    }

    pub fn is_fenced(&self) -> bool {
        self.state.load(Ordering::Acquire) & 1 == 1
    }

    /// True when a conn of `generation` may send: the master has not moved and is not fenced.
    fn may_send(&self, generation: u64) -> bool {
        self.state.load(Ordering::Acquire) == generation << 1
    }

    /// Fences `generation`; false when the master has moved on since.
    pub fn fence(&self, generation: u64) -> bool {
        let open = generation << 1;
        match self
            .state
            .compare_exchange(open, open | 1, Ordering::SeqCst, Ordering::Acquire)
        {
            Ok(_) => {
                self.fences_raised.fetch_add(1, Ordering::Relaxed);
                self.end_commands_of(generation);
                true
            }
            Err(now) => now == open | 1,
        }
    }

    /// Lifts the fence of `generation`, if it is still the current one.
    pub fn lift(&self, generation: u64) {
        let open = generation << 1;
        if self
            .state
            .compare_exchange(open | 1, open, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.notify_fence_waiters();
        }
    }

    fn notify_fence_waiters(&self) {
        let _guard = self.fence_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.fence_changed.notify_all();
    }

    /// Waits until `generation` is no longer fenced, or `deadline`; true when it may proceed.
    fn wait_unfenced(&self, deadline: Instant) -> bool {
        let mut guard = self.fence_lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if !self.is_fenced() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = self
                .fence_changed
                .wait_timeout(guard, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Shuts the sockets of `generation` that `which` picks by their activity.
    fn shut_sockets(&self, which: impl Fn(&LiveSocket) -> bool) {
        // Pairs with the fence in `DataConnection::exchange`: either a command sees the new
        // state and does not send, or its activity is seen here.
        fence(Ordering::SeqCst);
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        for socket in live.iter().filter(|s| which(s)) {
            socket.shut_down();
        }
    }

    /// Ends the commands in flight on conns of `generation` that answer at once: the node is
    /// being failed over, and their replies would acknowledge writes the new master may never
    /// see. Commands waiting on the server (a queue's BLPOP) wait on until the switch ends
    /// them as READONLY, what a consumer loop retries on, or an aborted failover lets them be.
    fn end_commands_of(&self, generation: u64) {
        self.shut_sockets(|s| {
            s.generation == generation && s.activity.load(Ordering::SeqCst) == SENDING
        });
    }

    /// Ends the waits of conns of every generation but `keep` (`None`: of all).
    pub fn interrupt_waits(&self, keep: Option<u64>) {
        self.shut_sockets(|s| {
            Some(s.generation) != keep && s.activity.load(Ordering::SeqCst) == WAITING
        });
    }

    fn register(&self, socket: Arc<LiveSocket>) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(socket);
    }

    fn forget(&self, socket: &Arc<LiveSocket>) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| !Arc::ptr_eq(s, socket));
    }

    fn want_reask(&self) {
        if !self.reask_wanted.swap(true, Ordering::AcqRel) {
            (self.wake_driver)();
        }
    }

    /// Why a command was refused. A conn from before a switch points at a node that is no
    /// longer the master, exactly what READONLY means to callers (check out a new conn and
    /// retry), so it says READONLY without a round trip; during a failover the node is still
    /// master but must not acknowledge more writes, which is an I/O-kind refusal.
    fn not_sent(&self, generation: u64, addr: &NodeAddr) -> Error {
        let name = &self.name;
        if self.generation() == generation {
            Error::new(
                ErrorKind::Io,
                format!("command not sent: master \"{name}\" at {addr} is being failed over (fenced until its replacement answers)"),
            )
        } else {
            Error::new(
                ErrorKind::ReadOnly,
                format!("READONLY command not sent: {addr} is no longer the master of \"{name}\" (it moved after this conn was checked out)"),
            )
        }
    }
}

/// A connection to a data node, as pooled.
pub struct DataConnection {
    link: DataLink,
    live: Arc<LiveSocket>,
    master: Arc<MasterShared>,
    generation: u64,
    broken: bool,
    /// What its commands left behind; a conn that is not clean is closed when it comes back.
    session: Session,
    packed: Vec<u8>,
    addr: Arc<NodeAddr>,
    /// Commands appended but not sent yet, how many, and the longest any may wait on the
    /// server.
    queued: Vec<u8>,
    queued_count: usize,
    queued_wait: Option<ServerWait>,
    /// Replies read but not yet taken by `get_reply`.
    replies: std::collections::VecDeque<Value>,
    /// When it was last checked out (or opened).
    last_checkout: Instant,
    /// Whether it has run a command since its socket was last checked for unasked bytes.
    ran_commands: bool,
}

/// How long a pooled conn may go without a checkout before the next one looks for a close by
/// the server.
const CHECK_IDLE_AFTER: Duration = Duration::from_secs(1);

/// The r2d2 manager for one master address of one generation.
pub(crate) struct DataManager {
    dial: Dial,
    addr: Arc<NodeAddr>,
    generation: u64,
    master: Arc<MasterShared>,
    config: Arc<Config>,
    last_connect_error: Arc<Mutex<Option<(Instant, Error)>>>,
}

impl r2d2::ManageConnection for DataManager {
    // Boxed: r2d2 moves connections in and out of its idle list by value on every checkout.
    type Connection = Box<DataConnection>;
    type Error = Error;

    fn connect(&self) -> Result<Box<DataConnection>> {
        let result = DataLink::connect(&self.addr, &self.config, &self.dial)
            .map_err(|e| e.context(format!("cannot connect to master \"{}\"", self.master.name)));
        let mut last = self
            .last_connect_error
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(link) => {
                *last = None;
                drop(last);
                let live = Arc::new(LiveSocket {
                    socket: link
                        .socket_handle()
                        .map_err(|e| Error::new(ErrorKind::Io, format!("{}: {e}", self.addr)))?,
                    generation: self.generation,
                    activity: AtomicU8::new(IDLE),
                    shut: AtomicBool::new(false),
                });
                self.master.register(live.clone());
                Ok(Box::new(DataConnection {
                    link,
                    live,
                    master: self.master.clone(),
                    generation: self.generation,
                    broken: false,
                    session: Session::default(),
                    packed: Vec::with_capacity(256),
                    addr: self.addr.clone(),
                    queued: Vec::new(),
                    queued_count: 0,
                    queued_wait: None,
                    replies: std::collections::VecDeque::new(),
                    last_checkout: Instant::now(),
                    ran_commands: false,
                }))
            }
            Err(err) => {
                *last = Some((Instant::now(), err.clone()));
                Err(err)
            }
        }
    }

    /// Runs on every checkout. A conn that ran commands since the last check is checked for
    /// bytes no command asked for (a server out of step, whose extra reply the next caller
    /// would take for its own), as redis-py checks every connection it hands out. A conn
    /// checked out within the last second cannot have been idle longer, and Redis closes idle
    /// clients only after whole seconds: if it ran nothing, it is handed out as is (one clock
    /// read, no syscall). Any other is checked for a close by the server. Neither check costs
    /// a round trip.
    fn is_valid(&self, conn: &mut Box<DataConnection>) -> Result<()> {
        let now = Instant::now();
        let recent = now.duration_since(conn.last_checkout) < CHECK_IDLE_AFTER;
        conn.last_checkout = now;
        let ran_commands = std::mem::take(&mut conn.ran_commands);
        if (recent && !ran_commands) || conn.link.is_usable_after_idle() {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Io,
            format!(
                "{}: closed by the server while idle in the pool, or sent bytes no command asked for",
                conn.addr
            ),
        ))
    }

    fn has_broken(&self, conn: &mut Box<DataConnection>) -> bool {
        // Unsent commands and unread replies belong to the caller that put the conn back.
        conn.queued.clear();
        conn.queued_count = 0;
        conn.queued_wait = None;
        conn.replies.clear();
        conn.broken
            || !conn.link.is_in_step()
            || !conn.session.is_clean()
            || self.generation != self.master.generation()
    }
}

impl DataConnection {
    fn command(&mut self, args: &[&[u8]], master: &MasterShared) -> Result<Value> {
        self.session.track(args);
        self.packed.clear();
        encode_command(&mut self.packed, args);
        let reply = self.exchange(server_wait(args), master, |link, packed, wait| {
            link.request_one(packed, wait)
        })?;
        self.check_reply(reply, master)
    }

    fn pipeline(&mut self, commands: &[&[&[u8]]], master: &MasterShared) -> Result<Vec<Value>> {
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
    fn send_packed(
        &mut self,
        count: usize,
        wait: Option<ServerWait>,
        master: &MasterShared,
    ) -> Result<Vec<Value>> {
        let replies = self.exchange(wait, master, |link, packed, wait| {
            link.request(packed, count, wait)
        })?;
        if replies.iter().any(is_readonly_error) {
            self.broken = true;
            master.want_reask();
        }
        Ok(replies)
    }

    /// Runs `io` on the link with the packed commands, with the conn's socket marked busy so
    /// that a switch, a fence or an interrupt can end the command at once (see [`LiveSocket`]).
    fn exchange<T>(
        &mut self,
        wait: Option<ServerWait>,
        master: &MasterShared,
        io: impl FnOnce(&mut DataLink, &[u8], Option<ServerWait>) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let activity = if wait.is_some() { WAITING } else { SENDING };
        self.live.activity.store(activity, Ordering::SeqCst);
        // Checked again after the store: a fence or switch from here on sees the activity.
        if !master.may_send(self.generation) {
            self.live.activity.store(IDLE, Ordering::Release);
            self.broken = true;
            return Err(master.not_sent(self.generation, &self.addr));
        }
        self.ran_commands = true;
        let result = io(&mut self.link, &self.packed, wait);
        self.live.activity.store(IDLE, Ordering::SeqCst);
        let shut = self.live.shut.load(Ordering::Acquire);
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

    fn check_reply(&mut self, reply: Value, master: &MasterShared) -> Result<Value> {
        let Value::ServerError(err) = reply else {
            return Ok(reply);
        };
        let text = server_error_text(&err);
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

    fn fail(&mut self, err: &redis::RedisError, master: &MasterShared) -> Error {
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

impl Drop for DataConnection {
    fn drop(&mut self) {
        self.master.forget(&self.live);
    }
}

fn is_readonly_error(value: &Value) -> bool {
    matches!(value, Value::ServerError(err) if says_replica(err))
}

/// One address of a master and its pool.
pub(crate) struct Epoch {
    pub addr: Arc<NodeAddr>,
    pub generation: u64,
    pool: r2d2::Pool<DataManager>,
    last_connect_error: Arc<Mutex<Option<(Instant, Error)>>>,
}

/// A master: its name, and the epoch connections are handed out from.
pub(crate) struct Master {
    pub shared: Arc<MasterShared>,
    current: RwLock<Option<Epoch>>,
    /// When the master last moved (not counting the first resolution).
    pub last_switch: Mutex<Option<std::time::SystemTime>>,
}

impl Master {
    pub fn new(
        name: String,
        sentinels_up: Arc<AtomicUsize>,
        wake_driver: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Master {
            shared: Arc::new(MasterShared {
                name,
                state: AtomicU64::new(0),
                sentinels_up,
                reask_wanted: AtomicBool::new(false),
                fences_raised: AtomicU64::new(0),
                wake_driver,
                fence_lock: Mutex::new(()),
                fence_changed: Condvar::new(),
                live: Mutex::new(Vec::new()),
            }),
            current: RwLock::new(None),
            last_switch: Mutex::new(None),
        }
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn addr(&self) -> Option<Arc<NodeAddr>> {
        self.read().as_ref().map(|epoch| epoch.addr.clone())
    }

    pub fn generation(&self) -> u64 {
        self.shared.generation()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Epoch>> {
        self.current.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Points the master at `addr` with a fresh, empty pool. Never waits on the network.
    /// Returns false when it already pointed there.
    pub fn switch_to(
        &self,
        addr: NodeAddr,
        config: &Arc<Config>,
        dial: &Dial,
        threads: &Arc<ScheduledThreadPool>,
    ) -> bool {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|epoch| *epoch.addr == addr) {
            return false;
        }
        let generation = self.shared.generation() + 1;
        let addr = Arc::new(addr);
        let last_connect_error = Arc::new(Mutex::new(None));
        let manager = DataManager {
            dial: dial.clone(),
            addr: addr.clone(),
            generation,
            master: self.shared.clone(),
            config: config.clone(),
            last_connect_error: last_connect_error.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .test_on_check_out(true)
            .max_lifetime(None)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connection_timeout(config.pool_wait.max(Duration::from_millis(2)))
            .thread_pool(threads.clone())
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        // Bump (and unfence) before publishing: from now on a conn of the old epoch sends
        // nothing and is closed when it comes back.
        self.shared.state.store(generation << 1, Ordering::SeqCst);
        let old = current.replace(Epoch {
            addr,
            generation,
            pool,
            last_connect_error,
        });
        drop(current);
        // Idle connections of the old address close here, outside the lock.
        if old.is_some() {
            *self.last_switch.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(std::time::SystemTime::now());
        }
        drop(old);
        self.shared.notify_fence_waiters();
        // Commands in flight on the node left end now, not at their read timeout.
        self.shared.shut_sockets(|s| s.generation != generation);
        true
    }

    /// Drops the pool: idle connections close now, checked-out ones when they come back.
    pub fn shut(&self) {
        let old = self
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(old);
    }

    /// Checks out a connection to the current master, waiting up to `fence_wait` while a
    /// failover is under way and up to `wait` for a free connection.
    pub fn checkout(&self, wait: Duration, fence_wait: Duration) -> Result<Conn> {
        if self.shared.is_fenced() {
            let deadline = Instant::now() + fence_wait;
            if !self.shared.wait_unfenced(deadline) {
                let addr = self.addr().map(|a| a.to_string()).unwrap_or_default();
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "master \"{}\" at {addr} is failing over: no new master confirmed within {} ms",
                        self.name(),
                        fence_wait.as_millis()
                    ),
                ));
            }
        }
        self.checkout_unfenced(wait)
    }

    fn checkout_unfenced(&self, wait: Duration) -> Result<Conn> {
        let (pool, generation, addr, last_error) = {
            let current = self.read();
            let Some(epoch) = current.as_ref() else {
                return Err(Error::closed());
            };
            // Fast path: an idle connection, without cloning the pool handle.
            if let Some(pooled) = epoch.pool.try_get() {
                return Ok(Conn {
                    pooled,
                    generation: epoch.generation,
                    master: self.shared.clone(),
                });
            }
            (
                epoch.pool.clone(),
                epoch.generation,
                epoch.addr.clone(),
                epoch.last_connect_error.clone(),
            )
        };
        let start = Instant::now();
        let deadline = start + wait;
        let slice = Duration::from_millis(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match pool.get_timeout(left.min(slice)) {
                Ok(pooled) => {
                    return Ok(Conn {
                        pooled,
                        generation,
                        master: self.shared.clone(),
                    })
                }
                Err(_) => {
                    let failure = last_error.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    let fresh = failure.as_ref().is_some_and(|(at, _)| *at >= start);
                    if fresh || left <= slice {
                        return Err(self.checkout_error(failure.map(|(_, e)| e), &addr, wait));
                    }
                    if self.generation() != generation {
                        // The master moved while we waited: wait on the new pool instead.
                        let left = deadline.saturating_duration_since(Instant::now());
                        return self.checkout(left, left);
                    }
                }
            }
        }
    }

    fn checkout_error(
        &self,
        connect_error: Option<Error>,
        addr: &NodeAddr,
        wait: Duration,
    ) -> Error {
        let err = connect_error.unwrap_or_else(|| {
            Error::new(
                ErrorKind::PoolTimeout,
                format!(
                    "no free connection to master \"{}\" at {addr} within {} ms (all in use)",
                    self.name(),
                    wait.as_millis()
                ),
            )
        });
        if self.shared.sentinels_up.load(Ordering::Relaxed) == 0 {
            err.with_sentinel_down()
        } else {
            err
        }
    }

    pub fn stats(&self) -> (u32, u32) {
        match self.read().as_ref() {
            Some(epoch) => {
                let state = epoch.pool.state();
                (state.connections, state.idle_connections)
            }
            None => (0, 0),
        }
    }
}

/// A connection checked out of a master's pool. Dropping it puts it back, or closes it when it
/// is broken or its master has moved since it was handed out.
pub struct Conn {
    pooled: r2d2::PooledConnection<DataManager>,
    generation: u64,
    master: Arc<MasterShared>,
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
        self.check_may_send()?;
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
        self.check_may_send()?;
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
        if let Err(err) = self.check_may_send() {
            self.pooled.queued.clear();
            self.pooled.queued_count = 0;
            self.pooled.queued_wait = None;
            return Err(err);
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

    fn check_may_send(&mut self) -> Result<()> {
        if self.master.may_send(self.generation) {
            return Ok(());
        }
        self.pooled.broken = true;
        Err(self.master.not_sent(self.generation, &self.pooled.addr))
    }

    /// Closes the connection when it comes back instead of reusing it.
    pub fn mark_broken(&mut self) {
        self.pooled.broken = true;
    }

    pub fn is_broken(&self) -> bool {
        self.pooled.broken || !self.pooled.link.is_open()
    }

    /// The generation of the master's address this conn was opened for.
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
