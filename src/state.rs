//! What the client knows, shared by the client, its watchers, the failover driver and the
//! pools: where each master is and where it has been, the failovers under way, the known
//! sentinels and the client's threads.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use crate::config::{ClientEvent, Config, NodeAddr, SentinelAddr};
use crate::error::Error;
use crate::net::stream::SocketHandle;
use crate::net::tls::Dial;
use crate::pool::replicas::ReplicaSet;
use crate::pool::NodePool;
use crate::sentinel::ask::ask_each_sentinel;
use crate::sync::{DriverSignal, StopSignal};

/// Up to this many masters, a name is looked up by comparing it with each.
const LINEAR_LOOKUP_MAX: usize = 8;

/// State shared by the client, its watchers and its pools.
pub(crate) struct State {
    pub config: Arc<Config>,
    /// How to dial sentinels, and data nodes for ROLE probes.
    pub sentinel_dial: Dial,
    pub data_dial: Dial,
    pub masters: Vec<NodePool>,
    pub replicas: Vec<ReplicaSet>,
    pub wake: Arc<dyn Fn() + Send + Sync>,
    pub index: HashMap<String, usize>,
    pub sentinels_up: Arc<AtomicUsize>,
    pub stop: StopSignal,
    pub watchers: Watchers,
    pub fences: Mutex<Vec<Option<Fence>>>,
    pub lineages: Mutex<Vec<Lineage>>,
    /// Why the last sentinel link failed, for diagnostics.
    pub last_sentinel_error: Mutex<Option<Error>>,
    pub driver: Arc<DriverSignal>,
    pub driver_thread: Mutex<Option<JoinHandle<()>>>,
}

impl State {
    /// Asks the sentinels for the healthy replicas of each master in `indices` and updates
    /// their sets, over one link per sentinel until every master has an answer.
    pub fn refresh_replicas(&self, indices: &[usize]) {
        let mut healthy: Vec<Option<Vec<NodeAddr>>> = vec![None; indices.len()];
        let names: Vec<&str> = indices.iter().map(|&i| self.masters[i].name()).collect();
        // Whether every sentinel answered: if none listed replicas then, they refuse (an ACL
        // without SENTINEL REPLICAS) or monitor no such master, and asking again every round
        // would only repeat that.
        let wanted: Vec<std::cell::Cell<bool>> =
            indices.iter().map(|_| std::cell::Cell::new(true)).collect();
        let all_answered = ask_each_sentinel(
            &self.watchers.known(),
            self.config.sentinel_timeout,
            &self.sentinel_dial,
            &names,
            |link, name| link.healthy_replicas(name),
            |at| wanted[at].get(),
            |at, found| {
                wanted[at].set(false);
                healthy[at] = Some(found.into_iter().map(|a| self.config.map_addr(a)).collect());
            },
        );
        if all_answered {
            for healthy in healthy.iter_mut().filter(|h| h.is_none()) {
                *healthy = Some(Vec::new());
            }
        }
        for (&index, healthy) in indices.iter().zip(healthy) {
            match healthy {
                Some(healthy) if !self.stop.is_stopped() => {
                    let make = || {
                        NodePool::new(
                            self.masters[index].name().to_owned(),
                            self.sentinels_up.clone(),
                            self.wake.clone(),
                        )
                    };
                    self.replicas[index].update(healthy, make, &self.config, &self.data_dial);
                }
                // No sentinel answered: try again on the driver's next round.
                _ => self.replicas[index].stale.store(true, Ordering::Release),
            }
        }
    }

    /// Marks the replica set of `index` for a refresh by the failover driver.
    pub fn replicas_changed(&self, index: usize) {
        self.replicas[index].stale.store(true, Ordering::Release);
        (self.wake)();
    }

    pub fn master_index(&self, name: &str) -> Option<usize> {
        // Most clients follow a handful of masters: comparing their names costs less than
        // hashing the one asked for (SipHash took a tenth of a GET's native instructions).
        if self.masters.len() <= LINEAR_LOOKUP_MAX {
            return self.masters.iter().position(|m| m.name() == name);
        }
        self.index.get(name).copied()
    }

    /// Points master `index` at `addr` (no-op when it is already there).
    pub fn apply_master_addr(&self, index: usize, addr: NodeAddr) {
        if self.stop.is_stopped() {
            return;
        }
        let master = &self.masters[index];
        let old = master.addr().map(|a| (*a).clone());
        if master.switch_to(addr.clone(), &self.config, &self.data_dial) {
            self.replicas_changed(index);
            self.config.emit(ClientEvent::MasterSwitched {
                master: master.name().to_owned(),
                old,
                new: addr,
            });
        }
    }
}

/// A failover in progress for one master.
#[derive(Clone, Debug)]
pub(crate) struct Fence {
    /// The generation fenced: once the master moves past it, the fence is gone.
    pub(crate) generation: u64,
    /// The replica being promoted, once a sentinel has named it.
    pub(crate) candidate: Option<NodeAddr>,
    /// The sentinel leading the failover; only its abort lifts the fence.
    pub(crate) raised_by: Option<SentinelAddr>,
    /// Whether the commands in flight when it went up, and unanswered after the grace, have
    /// been ended (see `failover::IN_FLIGHT_GRACE`).
    pub(crate) in_flight_ended: bool,
    pub(crate) raised_at: Instant,
}

/// Where a master has been, as far as the client knows: to tell a stale sentinel answer from
/// news. Sentinels keep naming the old master, with the old config epoch, until the promotion
/// is announced, a second or more after the client has confirmed the new master itself.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lineage {
    /// The highest config epoch any sentinel named the current address with (0: none yet).
    pub(crate) config_epoch: u64,
    /// The client found the current address itself, by probing a failover's candidate, and no
    /// sentinel has named it since: should that failover be aborted, its switch is void.
    probed_only: bool,
    /// The addresses the client has left, each with the highest epoch it was known under.
    left: Vec<(NodeAddr, u64)>,
}

/// How the client came to a master's address.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Found {
    /// A sentinel named it, with this config epoch (0: not known).
    Named { config_epoch: u64 },
    /// The candidate of a failover said ROLE master before any sentinel named it.
    Probe,
}

/// How many left addresses a lineage remembers.
const LINEAGE_DEPTH: usize = 8;

impl Lineage {
    /// The client moves from `old` to `new`, found as `how` says.
    pub(crate) fn moved(&mut self, old: Option<NodeAddr>, new: &NodeAddr, how: Found) {
        let epoch = match how {
            Found::Named { config_epoch } => config_epoch,
            Found::Probe => 0,
        };
        self.left.retain(|(addr, _)| addr != new);
        if let Some(old) = old {
            self.left.retain(|(addr, _)| *addr != old);
            self.left.push((old, self.config_epoch.max(epoch)));
            if self.left.len() > LINEAGE_DEPTH {
                self.left.remove(0);
            }
        }
        self.config_epoch = epoch;
        self.probed_only = matches!(how, Found::Probe);
    }

    /// A sentinel named the current address, with `epoch` (0: not known).
    pub(crate) fn named_again(&mut self, epoch: u64) {
        self.config_epoch = self.config_epoch.max(epoch);
        self.probed_only = false;
    }

    /// A failover was aborted. If the client had followed it by probing its candidate and no
    /// sentinel has named that node since, the sentinels never took the step the client
    /// took: the master it left is no longer old news. Returns that master.
    pub(crate) fn undo_probed_step(&mut self) -> Option<NodeAddr> {
        if !self.probed_only {
            return None;
        }
        self.probed_only = false;
        self.left.pop().map(|(addr, _)| addr)
    }

    /// True when an answer naming `addr` with `epoch` only repeats what the client knew
    /// before it left `addr`.
    pub(crate) fn is_stale(&self, addr: &NodeAddr, epoch: u64) -> bool {
        self.left
            .iter()
            .any(|(left, at)| left == addr && epoch <= *at)
    }
}

/// The watcher threads of one client, and the sockets close must cut.
#[derive(Default)]
pub(crate) struct Watchers {
    state: Mutex<WatcherState>,
}

#[derive(Default)]
struct WatcherState {
    stopped: bool,
    known: HashSet<SentinelAddr>,
    threads: Vec<JoinHandle<()>>,
    /// One slot per watcher: the socket it is blocked on, if any.
    sockets: Vec<Arc<Mutex<Option<SocketHandle>>>>,
}

impl Watchers {
    /// Starts a watcher for `addr` with `spawn` (handed the slot for the socket it will block
    /// on), unless one exists or the client is closing.
    pub fn add(
        &self,
        addr: SentinelAddr,
        spawn: impl FnOnce(String, Arc<Mutex<Option<SocketHandle>>>) -> std::io::Result<JoinHandle<()>>,
    ) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.stopped || !state.known.insert(addr.clone()) {
            return;
        }
        let socket = Arc::new(Mutex::new(None));
        state.sockets.push(socket.clone());
        let name = format!("sentinel-watch-{}", state.threads.len());
        match spawn(name, socket) {
            Ok(handle) => state.threads.push(handle),
            Err(_) => {
                // Out of threads: the sentinels already being watched keep the client informed.
                state.sockets.pop();
            }
        }
    }

    pub fn known(&self) -> Vec<SentinelAddr> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.known.iter().cloned().collect()
    }

    /// Cuts every link and joins every watcher. The caller has already raised the stop signal.
    pub fn stop_and_join(&self) {
        let (threads, sockets) = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.stopped = true;
            (
                std::mem::take(&mut state.threads),
                std::mem::take(&mut state.sockets),
            )
        };
        for socket in &sockets {
            if let Some(stream) = socket.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                stream.shut_down();
            }
        }
        for handle in threads {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(port: u16) -> NodeAddr {
        NodeAddr::new("10.0.0.1".to_owned(), port)
    }

    fn named(config_epoch: u64) -> Found {
        Found::Named { config_epoch }
    }

    #[test]
    fn a_left_master_named_again_without_a_newer_epoch_is_stale() {
        // Resolved at start (epoch unknown), then named with epoch 3.
        let mut lineage = Lineage {
            config_epoch: 3,
            ..Lineage::default()
        };
        // The client confirms the candidate itself: sentinels still name the old one, epoch 3.
        lineage.moved(Some(at(1)), &at(2), Found::Probe);
        assert!(lineage.is_stale(&at(1), 3));
        assert!(
            lineage.is_stale(&at(1), 0),
            "get-master-addr-by-name answers carry 0"
        );
        assert!(
            !lineage.is_stale(&at(1), 4),
            "a newer epoch is news: a failover back"
        );
        assert!(
            !lineage.is_stale(&at(3), 0),
            "a node never left is not stale"
        );
        // The promotion is announced (epoch 4); a later failover moves on to a third node.
        lineage.named_again(4);
        assert_eq!(lineage.undo_probed_step(), None, "named since: no undo");
        lineage.moved(Some(at(2)), &at(3), named(5));
        assert!(lineage.is_stale(&at(2), 5));
        assert!(lineage.is_stale(&at(1), 3));
        // Back to the first node with a newer epoch: it is no longer a left one.
        lineage.moved(Some(at(3)), &at(1), named(6));
        assert!(!lineage.is_stale(&at(1), 0));
        assert!(lineage.is_stale(&at(3), 6));
    }

    #[test]
    fn an_aborted_failover_followed_by_probe_makes_the_left_master_news_again() {
        let mut lineage = Lineage {
            config_epoch: 3,
            ..Lineage::default()
        };
        lineage.moved(Some(at(1)), &at(2), Found::Probe);
        assert!(lineage.is_stale(&at(1), 3));
        assert_eq!(lineage.undo_probed_step(), Some(at(1)));
        assert!(
            !lineage.is_stale(&at(1), 3),
            "the sentinels' answer is news again"
        );
        assert_eq!(lineage.undo_probed_step(), None, "undone once");
    }
}
