//! One node's pool across its addresses: the epoch connections are handed out from, switches
//! and checkout.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::config::{Config, NodeAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::net::tls::Dial;
use crate::pool::addr_pool::{AddrPool, Refusal};
use crate::pool::conn::Conn;
use crate::pool::gate::NodeGate;

/// A master: its name, and the pool of the address connections are handed out to.
pub(crate) struct NodePool {
    pub gate: Arc<NodeGate>,
    pub(super) current: RwLock<Option<Arc<AddrPool>>>,
    /// When the master last moved (not counting the first resolution).
    pub last_switch: Mutex<Option<std::time::SystemTime>>,
}

impl NodePool {
    pub fn new(
        name: String,
        sentinels_up: Arc<AtomicUsize>,
        wake_driver: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        NodePool {
            gate: Arc::new(NodeGate {
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
        &self.gate.name
    }

    pub fn addr(&self) -> Option<Arc<NodeAddr>> {
        self.read().as_ref().map(|pool| pool.addr.clone())
    }

    pub fn generation(&self) -> u64 {
        self.gate.generation()
    }

    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<Arc<AddrPool>>> {
        self.current.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Points the master at `addr` with a fresh, empty pool. Never waits on the network.
    /// Returns false when it already pointed there.
    pub fn switch_to(&self, addr: NodeAddr, config: &Arc<Config>, dial: &Dial) -> bool {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        if current.as_ref().is_some_and(|pool| *pool.addr == addr) {
            return false;
        }
        let generation = self.gate.generation() + 1;
        let pool = AddrPool::new(
            Arc::new(addr),
            generation,
            self.gate.clone(),
            config.clone(),
            dial.clone(),
        );
        // Bump (and unfence) before publishing: from now on a conn of the old generation sends
        // nothing and is closed when it comes back.
        self.gate.state.store(generation << 1, Ordering::SeqCst);
        let old = current.replace(Arc::new(pool));
        drop(current);
        if let Some(old) = old {
            // Idle connections of the old address close here, outside the lock, and callers
            // waiting on it go on to the new one.
            old.close();
            *self.last_switch.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(std::time::SystemTime::now());
        }
        self.gate.notify_fence_waiters();
        // Commands in flight on the node left end now, not at their read timeout; so do
        // connects to it still under way.
        self.gate.shut_sockets(|s| s.generation != generation);
        true
    }

    /// Drops the pool: idle connections close now, checked-out ones when they come back.
    pub fn shut(&self) {
        let old = self
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(old) = old {
            old.close();
        }
    }

    /// Checks out a connection to the current master, waiting up to `fence_wait` while a
    /// failover is under way and up to `wait` for a free connection.
    pub fn checkout(&self, wait: Duration, fence_wait: Duration) -> Result<Conn> {
        if self.gate.is_fenced() {
            let deadline = Instant::now() + fence_wait;
            if !self.gate.wait_unfenced(deadline) {
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

    pub(super) fn checkout_unfenced(&self, wait: Duration) -> Result<Conn> {
        let pool = {
            let current = self.read();
            let Some(pool) = current.as_ref() else {
                return Err(Error::closed());
            };
            // Fast path: an idle connection, without cloning the pool handle.
            if let Some(pooled) = pool.try_idle() {
                return Ok(Conn {
                    pooled,
                    generation: pool.generation,
                    master: self.gate.clone(),
                });
            }
            pool.clone()
        };
        let deadline = Instant::now() + wait;
        match pool.checkout(deadline) {
            Ok(pooled) => Ok(Conn {
                pooled,
                generation: pool.generation,
                master: self.gate.clone(),
            }),
            Err(Refusal::Failed(err)) => Err(self.flag_sentinels_down(err)),
            Err(Refusal::Left) => {
                // The master moved while this caller waited or connected: the new pool now.
                let left = deadline.saturating_duration_since(Instant::now());
                self.checkout(left, left)
            }
        }
    }

    fn flag_sentinels_down(&self, err: Error) -> Error {
        if self.gate.sentinels_up.load(Ordering::Relaxed) == 0 {
            err.with_sentinel_down()
        } else {
            err
        }
    }

    pub fn stats(&self) -> (u32, u32) {
        match self.read().as_ref() {
            Some(pool) => pool.counts(),
            None => (0, 0),
        }
    }
}
