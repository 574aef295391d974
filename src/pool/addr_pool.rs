//! The connections to one address of a node, in one generation: idle ones to hand out, and
//! room to open more.
//!
//! A caller that finds no idle connection and room for one opens it itself, on its own thread,
//! bounded by the connect timeout. No thread is shared between pools, so a node that drops
//! packets (a dead host: every connect waits out its timeout) holds up only the callers that
//! asked for it, never another master's pool nor its own replacement's. Each connect in
//! progress is watched by the node's gate like an open connection: when the client leaves the
//! node, the switch cuts it at once and its caller goes on to the new master.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::{Config, NodeAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::net::tls::Dial;
use crate::pool::conn::DataConnection;
use crate::pool::gate::NodeGate;
use crate::pool::link::DataLink;

/// An idle connection unused this long is closed rather than handed out (a burst's extra
/// connections do not stay open for ever).
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

pub(crate) struct AddrPool {
    pub addr: Arc<NodeAddr>,
    pub generation: u64,
    gate: Arc<NodeGate>,
    config: Arc<Config>,
    dial: Dial,
    slots: Mutex<Slots>,
    /// Signalled when a connection comes back, a slot frees up, or the pool closes.
    freed: Condvar,
}

#[derive(Default)]
struct Slots {
    /// Most recently returned last. Boxed: a conn moves in and out on every checkout, and a
    /// pointer moves cheaper than the whole conn.
    #[allow(clippy::vec_box)]
    idle: Vec<Box<DataConnection>>,
    /// Connections counted against the pool size: idle, checked out, and being opened.
    open: u32,
    /// Of `open`, how many callers are connecting right now.
    connecting: u32,
    /// Callers waiting on `freed`: a return signals only when someone waits.
    waiters: u32,
    /// The client left this address, or closed: nothing more is handed out or kept.
    closed: bool,
}

/// Why a checkout from one address pool did not hand out a connection.
pub(crate) enum Refusal {
    /// The client has left this address (or closed): ask the node for its current pool.
    Left,
    /// A real failure, for the caller.
    Failed(Error),
}

impl AddrPool {
    pub fn new(
        addr: Arc<NodeAddr>,
        generation: u64,
        gate: Arc<NodeGate>,
        config: Arc<Config>,
        dial: Dial,
    ) -> AddrPool {
        AddrPool {
            addr,
            generation,
            gate,
            config,
            dial,
            slots: Mutex::new(Slots::default()),
            freed: Condvar::new(),
        }
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An idle connection if one is usable, without waiting and without connecting.
    pub fn try_idle(self: &Arc<Self>) -> Option<Pooled> {
        loop {
            let conn = self.slots().idle.pop()?;
            match self.usable(conn) {
                Some(conn) => return Some(self.pooled(conn)),
                None => continue,
            }
        }
    }

    /// An idle connection, or a new one this caller opens when there is room, or the first
    /// that comes back before `deadline`.
    pub fn checkout(self: &Arc<Self>, deadline: Instant) -> std::result::Result<Pooled, Refusal> {
        let mut slots = self.slots();
        loop {
            if slots.closed {
                return Err(Refusal::Left);
            }
            if let Some(conn) = slots.idle.pop() {
                drop(slots);
                if let Some(conn) = self.usable(conn) {
                    return Ok(self.pooled(conn));
                }
                slots = self.slots();
                continue;
            }
            if slots.open < self.config.pool_size {
                slots.open += 1;
                slots.connecting += 1;
                drop(slots);
                let opened = self.open();
                let mut slots = self.slots();
                slots.connecting -= 1;
                return match opened {
                    Ok(conn) => Ok(self.pooled(conn)),
                    Err(err) => {
                        self.release(&mut slots);
                        drop(slots);
                        if self.gate.generation() != self.generation {
                            // A connect to the node the client left, cut by the switch.
                            Err(Refusal::Left)
                        } else {
                            Err(Refusal::Failed(err))
                        }
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Refusal::Failed(self.wait_error(&slots)));
            }
            slots.waiters += 1;
            slots = self
                .freed
                .wait_timeout(slots, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            slots.waiters -= 1;
        }
    }

    /// Opens a connection on the caller's thread, watched by the gate while it connects.
    fn open(&self) -> Result<Box<DataConnection>> {
        let (gate, generation) = (&self.gate, self.generation);
        let (link, watched) = DataLink::connect(&self.addr, &self.config, &self.dial, |s| {
            gate.watch(s, generation)
        })
        .map_err(|e| e.context(format!("cannot connect to master \"{}\"", gate.name)))?;
        Ok(Box::new(DataConnection::new(
            link,
            watched,
            generation,
            self.addr.clone(),
        )))
    }

    /// `conn`, when it may be handed out after sitting idle; otherwise it is closed.
    fn usable(&self, mut conn: Box<DataConnection>) -> Option<Box<DataConnection>> {
        if conn.usable_after_idle(IDLE_TIMEOUT) {
            return Some(conn);
        }
        drop(conn);
        let mut slots = self.slots();
        self.release(&mut slots);
        None
    }

    /// One counted connection is gone.
    fn release(&self, slots: &mut Slots) {
        slots.open -= 1;
        if slots.waiters > 0 {
            self.freed.notify_one();
        }
    }

    fn pooled(self: &Arc<Self>, conn: Box<DataConnection>) -> Pooled {
        Pooled {
            conn: Some(conn),
            pool: self.clone(),
        }
    }

    /// Takes back a connection: kept for the next caller, or closed when it cannot be reused.
    fn put_back(&self, mut conn: Box<DataConnection>) {
        let keep = conn.reusable(self.gate.generation() == self.generation);
        let mut slots = self.slots();
        if keep && !slots.closed {
            slots.idle.push(conn);
            if slots.waiters > 0 {
                self.freed.notify_one();
            }
            return;
        }
        self.release(&mut slots);
        drop(slots);
        drop(conn);
    }

    /// Stops handing out and keeping connections: idle ones close now, the others when they
    /// come back; callers waiting for one go on to the node's current pool.
    pub fn close(&self) {
        let idle = {
            let mut slots = self.slots();
            slots.closed = true;
            let idle = std::mem::take(&mut slots.idle);
            slots.open -= idle.len() as u32;
            self.freed.notify_all();
            idle
        };
        drop(idle);
    }

    /// Connections open (idle or checked out, not those still connecting), and idle.
    pub fn counts(&self) -> (u32, u32) {
        let slots = self.slots();
        (slots.open - slots.connecting, slots.idle.len() as u32)
    }

    fn wait_error(&self, slots: &Slots) -> Error {
        let (name, addr, wait) = (&self.gate.name, &self.addr, self.config.pool_wait);
        let size = self.config.pool_size;
        let text = if slots.connecting > 0 {
            format!(
                "no free connection to master \"{name}\" at {addr} within {} ms: all {size} taken, {} of them still connecting (connect timeout {} ms)",
                wait.as_millis(),
                slots.connecting,
                self.config.connect_timeout.as_millis()
            )
        } else {
            format!(
                "no free connection to master \"{name}\" at {addr} within {} ms (all {size} in use)",
                wait.as_millis()
            )
        };
        Error::new(ErrorKind::PoolTimeout, text)
    }
}

/// A connection checked out of an [`AddrPool`]; it goes back there when dropped.
pub(crate) struct Pooled {
    conn: Option<Box<DataConnection>>,
    pool: Arc<AddrPool>,
}

impl std::ops::Deref for Pooled {
    type Target = DataConnection;
    fn deref(&self) -> &DataConnection {
        self.conn
            .as_deref()
            .expect("a pooled conn is present until dropped")
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DataConnection {
        self.conn
            .as_deref_mut()
            .expect("a pooled conn is present until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put_back(conn);
        }
    }
}
