//! The gate of one node's pools: the `generation << 1 | fenced` word that every send checks,
//! fencing and lifting, and the live sockets of its connections.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use crate::config::NodeAddr;
use crate::error::{Error, ErrorKind};
use crate::net::stream::SocketHandle;

/// State shared by a master's pools and the connections they hand out.
pub(crate) struct NodeGate {
    pub name: String,
    /// `generation << 1 | fenced`. The generation is bumped on every switch; connections of
    /// older generations are dropped on return and send nothing.
    pub(super) state: AtomicU64,
    /// How many sentinel links are up, to flag errors that happened while cut off.
    pub sentinels_up: Arc<AtomicUsize>,
    /// Raised when a conn saw READONLY or broke: the failover driver re-asks the sentinels.
    pub reask_wanted: AtomicBool,
    /// How many failovers have fenced this master.
    pub fences_raised: AtomicU64,
    pub(super) wake_driver: Arc<dyn Fn() + Send + Sync>,
    pub(super) fence_lock: Mutex<()>,
    pub(super) fence_changed: Condvar,
    /// The socket of every open data connection of this master, whatever its generation.
    pub(super) live: Mutex<Vec<Arc<LiveSocket>>>,
}

/// A data connection's socket as its master sees it, so that a command in flight can be ended
/// at once: when the client leaves the node (a switch), when a failover fences it (its reply
/// would acknowledge a write the new master may never see), or when an interrupt ends the
/// commands that wait on the server. A read blocked on a shut socket returns at once; without
/// this, a command on a hung master would hold its caller for the whole read timeout after the
/// client had moved on, and a BLPOP on a stopped one for ever.
pub(crate) struct LiveSocket {
    pub(super) socket: SocketHandle,
    pub(super) generation: u64,
    /// [`IDLE`], [`SENDING`] or [`WAITING`].
    pub(super) activity: AtomicU8,
    /// Set before the socket is shut: the command's error then says why.
    pub(super) shut: AtomicBool,
}

pub(super) const IDLE: u8 = 0;
/// A command that answers at once is in flight.
pub(super) const SENDING: u8 = 1;
/// A command that waits on the server (see `blocking`) is in flight.
pub(super) const WAITING: u8 = 2;

/// A socket [`NodeGate::watch`] keeps an eye on, until this drops.
pub(crate) struct WatchedSocket {
    gate: Arc<NodeGate>,
    live: Arc<LiveSocket>,
}

impl WatchedSocket {
    pub(super) fn live(&self) -> &LiveSocket {
        &self.live
    }
}

impl Drop for WatchedSocket {
    fn drop(&mut self) {
        self.gate.forget(&self.live);
    }
}

impl LiveSocket {
    pub(super) fn shut_down(&self) {
        self.shut.store(true, Ordering::Release);
        self.socket.shut_down();
    }
}

impl NodeGate {
    pub fn generation(&self) -> u64 {
        self.state.load(Ordering::Acquire) >> 1
    }

    pub fn is_fenced(&self) -> bool {
        self.state.load(Ordering::Acquire) & 1 == 1
    }

    /// True when a conn of `generation` may send: the master has not moved and is not fenced.
    pub(super) fn may_send(&self, generation: u64) -> bool {
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

    pub(super) fn notify_fence_waiters(&self) {
        let _guard = self.fence_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.fence_changed.notify_all();
    }

    /// Waits until `generation` is no longer fenced, or `deadline`; true when it may proceed.
    pub(super) fn wait_unfenced(&self, deadline: Instant) -> bool {
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
    pub(super) fn shut_sockets(&self, which: impl Fn(&LiveSocket) -> bool) {
        // The state was changed before this (SeqCst), and `DataConnection::exchange` stores
        // its activity before it loads the state (SeqCst): either a command sees the new state
        // and does not send, or its activity is seen here.
        fence(Ordering::SeqCst);
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        for socket in live.iter().filter(|s| which(s)) {
            socket.shut_down();
        }
    }

    /// Ends the commands still in flight on conns of `generation` that answer at once: the
    /// node is being failed over, it has not answered them within the grace the fence gave,
    /// and a reply now could acknowledge a write the new master never sees. (No command starts
    /// on a fenced conn, so these are the ones that were in flight when the fence went up.)
    /// Commands waiting on the server (a queue's BLPOP) wait on until the switch ends them as
    /// READONLY, what a consumer loop retries on, or an aborted failover lets them be.
    pub fn end_commands_of(&self, generation: u64) {
        self.shut_sockets(|s| {
            s.generation == generation && s.activity.load(Ordering::SeqCst) == SENDING
        });
    }

    /// Ends the commands waiting on the server on every conn of this node.
    pub fn interrupt_waits(&self) {
        self.shut_sockets(|s| s.activity.load(Ordering::SeqCst) == WAITING);
    }

    pub(super) fn register(&self, socket: Arc<LiveSocket>) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(socket);
    }

    pub(super) fn forget(&self, socket: &Arc<LiveSocket>) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|s| !Arc::ptr_eq(s, socket));
    }

    /// Watches the socket of a link opened outside the pools in `generation` (a
    /// subscription's): a switch shuts it as it shuts the pools' older conns, so a read waiting
    /// on it returns at once. It is forgotten when the guard drops.
    pub fn watch(self: &Arc<Self>, socket: SocketHandle, generation: u64) -> WatchedSocket {
        let live = Arc::new(LiveSocket {
            socket,
            generation,
            activity: AtomicU8::new(IDLE),
            shut: AtomicBool::new(false),
        });
        self.register(live.clone());
        WatchedSocket {
            gate: self.clone(),
            live,
        }
    }

    pub(super) fn want_reask(&self) {
        if !self.reask_wanted.swap(true, Ordering::AcqRel) {
            (self.wake_driver)();
        }
    }

    /// Why a command was refused. A conn from before a switch points at a node that is no
    /// longer the master, exactly what READONLY means to callers (check out a new conn and
    /// retry), so it says READONLY without a round trip; during a failover the node is still
    /// master but must not acknowledge more writes, which is an I/O-kind refusal.
    pub(super) fn not_sent(&self, generation: u64, addr: &NodeAddr) -> Error {
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
