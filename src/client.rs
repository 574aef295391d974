//! The client: resolves masters at start, hands out and takes back connections, closes cleanly.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::{Config, NodeAddr, SentinelAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::failover::run_driver;
use crate::net::tls::Dial;
use crate::pool::replicas::ReplicaSet;
use crate::pool::{Conn, NodePool};
use crate::pubsub::PubSub;
use crate::sentinel::SentinelLink;
use crate::state::{Lineage, State, Watchers};
use crate::sync::{DriverSignal, StopSignal};
use crate::watcher::watch;

/// What [`Client::stats`] reports for one master.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MasterStats {
    /// Where conns are handed out to now.
    pub address: NodeAddr,
    /// The generation of the pool conns are handed out from: 1 after the first resolution, one
    /// more on every switch. Each conn keeps the one it came from ([`crate::Conn::generation`]);
    /// a conn of an older generation is closed when put back.
    pub generation: u64,
    /// Connections open in the current pool, and how many of those are idle.
    pub conns_open: u32,
    pub conns_idle: u32,
    /// Switches followed since the client started.
    pub failovers_seen: u64,
    /// Failovers that fenced this master (aborted ones included).
    pub fences_raised: u64,
    /// True while a failover is under way.
    pub fenced: bool,
    /// When the master last moved.
    pub last_switch: Option<std::time::SystemTime>,
}

/// A Redis Sentinel client: one pool per master, following failovers by itself.
///
/// `Client` is `Send + Sync`; every method takes `&self`.
pub struct Client {
    shared: Arc<State>,
    closed: AtomicBool,
}

impl Client {
    /// Connects to the first sentinel, resolves every master, and starts watching sentinels.
    pub fn new(config: Config) -> Result<Client> {
        config.validate()?;
        let config = Arc::new(config);
        let keepalive = config.tcp_keepalive;
        let sentinel_dial = Dial::new(
            config.sentinel_auth.as_ref(),
            config.sentinel_tls.as_ref(),
            keepalive,
        )?;
        let data_dial = Dial::new(
            config.data_auth.as_ref(),
            config.data_tls.as_ref(),
            keepalive,
        )?;
        let mut link = connect_any_sentinel(&config, &sentinel_dial)?;
        let mut resolved = Vec::with_capacity(config.masters.len());
        let mut other_sentinels = Vec::new();
        for name in &config.masters {
            match link.master_addr(name)? {
                Some(addr) => resolved.push(config.map_addr(addr)),
                None => {
                    return Err(Error::new(
                        ErrorKind::UnknownMaster,
                        format!(
                            "sentinel {} does not monitor a master named \"{name}\"",
                            link.addr()
                        ),
                    ))
                }
            }
            other_sentinels.extend(
                link.other_sentinels(name)?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| config.map_addr(a)),
            );
        }
        drop(link);

        let sentinels_up = Arc::new(AtomicUsize::new(0));
        let driver = Arc::new(DriverSignal::default());
        let wake: Arc<dyn Fn() + Send + Sync> = {
            let driver = driver.clone();
            Arc::new(move || driver.wake())
        };
        let masters: Vec<NodePool> = config
            .masters
            .iter()
            .map(|name| NodePool::new(name.clone(), sentinels_up.clone(), wake.clone()))
            .collect();
        for (master, addr) in masters.iter().zip(resolved) {
            master.switch_to(addr, &config, &data_dial);
        }
        let index = config
            .masters
            .iter()
            .enumerate()
            .map(|(i, name)| (name.clone(), i))
            .collect();
        let replicas = config
            .masters
            .iter()
            .map(|name| ReplicaSet::new(name.clone()))
            .collect();
        let shared = Arc::new(State {
            config: config.clone(),
            sentinel_dial,
            data_dial,
            masters,
            replicas,
            wake: wake.clone(),
            index,
            sentinels_up,
            stop: StopSignal::default(),
            watchers: Watchers::default(),
            fences: Mutex::new(vec![None; config.masters.len()]),
            lineages: Mutex::new(vec![Lineage::default(); config.masters.len()]),
            last_sentinel_error: Mutex::new(None),
            driver,
            driver_thread: Mutex::new(None),
        });
        let driver_shared = shared.clone();
        let driver_thread = std::thread::Builder::new()
            .name("sentinel-failover".into())
            .spawn(move || run_driver(driver_shared))
            .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start a thread: {e}")))?;
        *shared
            .driver_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(driver_thread);
        for addr in config.sentinels.iter().cloned() {
            watch(&shared, addr);
        }
        for addr in other_sentinels {
            watch(&shared, SentinelAddr::Tcp(addr));
        }
        // Replica sets are known before the first get_replica; later the driver keeps them.
        let all: Vec<usize> = (0..shared.replicas.len()).collect();
        shared.refresh_replicas(&all);
        Ok(Client {
            shared,
            closed: AtomicBool::new(false),
        })
    }

    /// The master names this client follows, in the order given.
    pub fn master_names(&self) -> impl Iterator<Item = &str> {
        self.shared.masters.iter().map(|m| m.name())
    }

    /// Index of `name`, for the `*_at` methods; UNKNOWN_MASTER when not given to this client.
    pub fn master_index(&self, name: &str) -> Result<usize> {
        self.shared.master_index(name).ok_or_else(|| {
            Error::new(
                ErrorKind::UnknownMaster,
                format!("master \"{name}\" was not given to this client"),
            )
        })
    }

    /// Checks out a connection to the current master of `name`.
    pub fn get_master(&self, name: &str) -> Result<Conn> {
        self.get_master_at(self.master_index(name)?)
    }

    /// Like [`Client::get_master`], by index.
    pub fn get_master_at(&self, index: usize) -> Result<Conn> {
        let master = &self.shared.masters[self.open_index(index)?];
        master.checkout(self.shared.config.pool_wait, self.shared.config.fence_wait)
    }

    /// A subscription on the current master of `name` that follows it across failovers
    /// (see [`PubSub`]). It connects at its first subscribe.
    pub fn pubsub(&self, name: &str) -> Result<PubSub> {
        let index = self.open_index(self.master_index(name)?)?;
        Ok(PubSub::new(self.shared.clone(), index))
    }

    /// `index` when the client is open and follows that many masters.
    fn open_index(&self, index: usize) -> Result<usize> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::closed());
        }
        if index >= self.shared.masters.len() {
            return Err(Error::invalid(format!("no master with index {index}")));
        }
        Ok(index)
    }

    /// Checks out a connection to a healthy replica of `name`, round-robin. Put it back with
    /// [`Client::put_master`] or [`Client::carefully_put_master`] like any other.
    pub fn get_replica(&self, name: &str) -> Result<Conn> {
        self.get_replica_at(self.master_index(name)?)
    }

    /// Like [`Client::get_replica`], by index.
    pub fn get_replica_at(&self, index: usize) -> Result<Conn> {
        let set = &self.shared.replicas[self.open_index(index)?];
        set.checkout(self.shared.config.pool_wait)
    }

    /// The replicas `name` currently reads from.
    pub fn replica_addrs(&self, name: &str) -> Result<Vec<NodeAddr>> {
        Ok(self.shared.replicas[self.master_index(name)?].addrs())
    }

    /// Puts a connection back. It is closed instead of reused when it is broken, when its
    /// master moved since it was handed out, or when its commands left state the next caller
    /// would inherit (inside MULTI or WATCH, subscribed, another database, ...).
    pub fn put_master(&self, conn: Conn) {
        drop(conn);
    }

    /// Puts a connection back, closing it when `last_error` says it cannot be trusted.
    pub fn carefully_put_master(&self, mut conn: Conn, last_error: Option<&Error>) {
        if last_error.is_some_and(|e| e.kind().breaks_connection()) {
            conn.mark_broken();
        }
        drop(conn);
    }

    /// Where the client currently sends connections for `name`.
    pub fn master_addr(&self, name: &str) -> Result<NodeAddr> {
        let index = self.master_index(name)?;
        self.shared.masters[index]
            .addr()
            .map(|addr| (*addr).clone())
            .ok_or_else(Error::closed)
    }

    /// How many times `name` has moved since the client started (0 before the first switch):
    /// [`MasterStats::failovers_seen`].
    pub fn failovers_seen(&self, name: &str) -> Result<u64> {
        let index = self.master_index(name)?;
        Ok(self.shared.masters[index].generation().saturating_sub(1))
    }

    /// True while a failover of `name` is under way and its connections are fenced.
    pub fn is_fenced(&self, name: &str) -> Result<bool> {
        Ok(self.shared.masters[self.master_index(name)?]
            .gate
            .is_fenced())
    }

    /// A snapshot of what the client knows about `name`.
    pub fn stats(&self, name: &str) -> Result<MasterStats> {
        let master = &self.shared.masters[self.master_index(name)?];
        let (open, idle) = master.stats();
        Ok(MasterStats {
            address: master
                .addr()
                .map(|a| (*a).clone())
                .ok_or_else(Error::closed)?,
            generation: master.generation(),
            conns_open: open,
            conns_idle: idle,
            failovers_seen: master.generation().saturating_sub(1),
            fences_raised: master.gate.fences_raised.load(Ordering::Relaxed),
            fenced: master.gate.is_fenced(),
            last_switch: *master.last_switch.lock().unwrap_or_else(|p| p.into_inner()),
        })
    }

    /// How many failovers have fenced `name` since the client started.
    pub fn fences_raised(&self, name: &str) -> Result<u64> {
        let master = &self.shared.masters[self.master_index(name)?];
        Ok(master.gate.fences_raised.load(Ordering::Relaxed))
    }

    /// Why the most recent sentinel link failed, if one has.
    pub fn last_sentinel_error(&self) -> Option<Error> {
        self.shared
            .last_sentinel_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Number of sentinel links currently up.
    pub fn sentinels_up(&self) -> usize {
        self.shared.sentinels_up.load(Ordering::Acquire)
    }

    /// `(open, idle)` connections of the current pool of `name`.
    pub fn pool_state(&self, name: &str) -> Result<(u32, u32)> {
        Ok(self.shared.masters[self.master_index(name)?].stats())
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Ends every command of this client that is waiting on the server (BLPOP, XREAD BLOCK,
    /// WAIT and the like, see `blocking`): each fails now with an IO error, and its conn is
    /// closed when it comes back. Commands that start waiting later are not affected. For a
    /// program that must close the client while threads wait; `close` does it first.
    pub fn interrupt_waits(&self) {
        for master in &self.shared.masters {
            master.gate.interrupt_waits();
        }
        for set in &self.shared.replicas {
            set.interrupt_waits();
        }
    }

    /// Ends the waits of commands waiting on the server, stops and joins every watcher,
    /// closes every idle connection. Connections still checked out
    /// close when dropped. Closing twice is a no-op.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.interrupt_waits();
        let shared = &self.shared;
        shared.stop.stop();
        shared.driver.wake();
        shared.watchers.stop_and_join();
        let driver = shared
            .driver_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(driver) = driver {
            let _ = driver.join();
        }
        for master in &shared.masters {
            master.shut();
        }
        for set in &shared.replicas {
            set.shut();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.close();
    }
}

fn connect_any_sentinel(config: &Config, dial: &Dial) -> Result<SentinelLink> {
    let mut failures = Vec::new();
    for addr in &config.sentinels {
        match SentinelLink::connect(addr, config.sentinel_timeout, dial) {
            Ok(link) => return Ok(link),
            Err(err) => failures.push(err),
        }
    }
    let text = failures
        .iter()
        .map(Error::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    // A refused login is worth its own kind: retrying will not help, fixing the password will.
    let kind = if failures.iter().any(|e| e.kind() == ErrorKind::Auth) {
        ErrorKind::Auth
    } else {
        ErrorKind::Sentinel
    };
    Err(Error::new(kind, format!("no sentinel reachable: {text}")).with_sentinel_down())
}
