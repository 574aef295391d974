//! One node's pool across its addresses: the epoch connections are handed out from, switches
//! and checkout.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use scheduled_thread_pool::ScheduledThreadPool;

use crate::config::{Config, NodeAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::net::tls::Dial;
use crate::pool::conn::{Conn, DataManager};
use crate::pool::gate::NodeGate;

/// One address of a master and its pool.
pub(crate) struct PoolEpoch {
    pub addr: Arc<NodeAddr>,
    pub generation: u64,
    pub(super) pool: r2d2::Pool<DataManager>,
    pub(super) last_connect_error: Arc<Mutex<Option<(Instant, Error)>>>,
}

/// A master: its name, and the epoch connections are handed out from.
pub(crate) struct NodePool {
    pub gate: Arc<NodeGate>,
    pub(super) current: RwLock<Option<PoolEpoch>>,
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
        self.read().as_ref().map(|epoch| epoch.addr.clone())
    }

    pub fn generation(&self) -> u64 {
        self.gate.generation()
    }

    pub(super) fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<PoolEpoch>> {
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
        let generation = self.gate.generation() + 1;
        let addr = Arc::new(addr);
        let last_connect_error = Arc::new(Mutex::new(None));
        let manager = DataManager {
            dial: dial.clone(),
            addr: addr.clone(),
            generation,
            master: self.gate.clone(),
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
        self.gate.state.store(generation << 1, Ordering::SeqCst);
        let old = current.replace(PoolEpoch {
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
        self.gate.notify_fence_waiters();
        // Commands in flight on the node left end now, not at their read timeout.
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
        drop(old);
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
                    master: self.gate.clone(),
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
                        master: self.gate.clone(),
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

    pub(super) fn checkout_error(
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
        if self.gate.sentinels_up.load(Ordering::Relaxed) == 0 {
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
