//! Failovers: fencing the old master, confirming the new one, and re-asking the sentinels.
//!
//! The leader sentinel announces a failover (`+failover-state-select-slave`, `+selected-slave`)
//! before it tells the chosen replica `SLAVEOF NO ONE`. The client fences the master at the
//! first of those announcements, so nothing more is written to the node being demoted, then
//! polls `ROLE` on the chosen replica every few milliseconds and switches the moment it says
//! `master`, typically a second before any sentinel publishes `+switch-master`. One driver
//! thread per client does the polling for every master.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::config::{ClientEvent, NodeAddr, SentinelAddr};
use crate::net::tls::Dial;
use crate::sentinel::ask::ask_each_sentinel;
use crate::sentinel::probe::RoleProbe;
use crate::state::{Fence, Found, Lineage, State};

/// How often a fenced master's candidate is asked for its ROLE. Every client of the fleet
/// asks the same node while it is being promoted: 5 ms finds the promotion 2-3 ms late on
/// average, at 200 probes a second per client, where 2 ms found it 1 ms late at 500.
const PROBE_INTERVAL: Duration = Duration::from_millis(5);
/// At most one re-ask per master in this interval, however many conns report trouble.
const REASK_INTERVAL: Duration = Duration::from_millis(100);
/// Bound on one ROLE probe (connect, or one round trip).
const PROBE_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a command in flight when its master was fenced may still take to answer. A master
/// being failed over that still serves answers within a millisecond or two, and its candidate
/// is promoted tens of milliseconds after the fence: a reply by then acknowledges a write the
/// candidate has most likely received. One later may come from a master the failover has
/// left behind (or one that hung): it is ended, its caller told it may or may not have been
/// applied. Ending every command in flight at the fence itself told callers that about writes
/// that had landed (9 of 10 such errors in 12 forced failovers).
const IN_FLIGHT_GRACE: Duration = Duration::from_millis(50);

/// How the sentinels named a master.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Named {
    /// In answer to a query, with the config epoch it gave (0: not known).
    Answer { config_epoch: u64 },
    /// In a `+switch-master` announcement: news, whatever the client knew.
    Announcement,
}

impl State {
    fn lineages(&self) -> std::sync::MutexGuard<'_, Vec<Lineage>> {
        self.lineages.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fences(&self) -> std::sync::MutexGuard<'_, Vec<Option<Fence>>> {
        self.fences.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A sentinel leads a failover of master `index`: fence it, and remember the candidate.
    pub fn failover_started(
        &self,
        index: usize,
        candidate: Option<NodeAddr>,
        by: Option<&SentinelAddr>,
    ) {
        let master = &self.masters[index];
        if candidate.is_some() && candidate.as_ref() == master.addr().as_deref() {
            // The sentinels promote the node the client is on: an echo of a failover it has
            // followed already, or a retry of one that was aborted after the client got there.
            // Either way nothing written there will be undone; a fence raised meanwhile ends.
            self.lift_fence(index);
            return;
        }
        let generation = master.generation();
        let raised = {
            let mut fences = self.fences();
            match &mut fences[index] {
                Some(fence) if fence.generation == generation => {
                    if candidate.is_some() {
                        fence.candidate = candidate;
                    }
                    false
                }
                slot => {
                    let raised = master.gate.fence(generation);
                    if raised {
                        *slot = Some(Fence {
                            generation,
                            candidate,
                            raised_by: by.cloned(),
                            raised_at: Instant::now(),
                            in_flight_ended: false,
                        });
                    }
                    raised
                }
            }
        };
        // Told outside the lock: a hook may call back into the client.
        if let (true, Some(address)) = (raised, master.addr()) {
            self.config.emit(ClientEvent::FenceRaised {
                master: master.name().to_owned(),
                address: (*address).clone(),
            });
        }
        self.driver.wake();
    }

    /// The sentinel `by` gave up its failover of master `index`: lift the fence it raised.
    /// When the client had already switched to that failover's candidate by probing it, and
    /// no sentinel has named the candidate since, the sentinels will not stand by it: they
    /// still name the master the client left, may turn the candidate back into a replica,
    /// or promote another one. The client asks them again, and this time takes their word.
    pub fn failover_aborted(&self, index: usize, by: &SentinelAddr) {
        let mut fences = self.fences();
        let lift = fences[index]
            .as_ref()
            .is_some_and(|f| f.raised_by.as_ref().is_none_or(|raiser| raiser == by));
        if lift {
            if let Some(fence) = fences[index].take() {
                drop(fences);
                self.lift(index, fence.generation);
            }
        } else {
            drop(fences);
        }
        if self.lineages()[index].undo_probed_step().is_some() {
            self.reask(index, false);
        }
    }

    /// The sentinels name `addr` as the master of `index` (with config `epoch`; 0 when not
    /// known). Switches once `ROLE` confirms it; until then the master stays fenced with
    /// `addr` as the candidate. A node that will tell this client neither its ROLE nor its INFO
    /// is taken at the sentinels' word. When the client already points there, `lift_fence`
    /// says whether to end a fence raised meanwhile.
    pub fn master_named(&self, index: usize, addr: NodeAddr, news: Named, lift_fence: bool) {
        let (epoch, announced) = match news {
            Named::Answer { config_epoch } => (config_epoch, false),
            Named::Announcement => (0, true),
        };
        let current = self.masters[index].addr();
        if current.as_deref() == Some(&addr) {
            self.lineages()[index].named_again(epoch);
            if lift_fence {
                self.lift_fence(index);
            }
            return;
        }
        if !announced
            && self.lineages()[index].is_stale(&addr, epoch)
            && !self.current_stepped_down(index)
        {
            // Never step back: the client left `addr` for a master it confirmed itself, and
            // this answer is older news than that (no newer epoch). Probing `addr`, or fencing
            // the new master with it as the candidate, would stall every caller on a node that
            // is being demoted, or hung.
            self.config.emit(ClientEvent::StaleAnswerIgnored {
                master: self.masters[index].name().to_owned(),
                address: addr,
            });
            return;
        }
        let named = Found::Named {
            config_epoch: epoch,
        };
        match probe_role(&addr, self.probe_timeout(), &self.data_dial) {
            Some(Some(role)) if role == "master" => self.switch(index, addr, named),
            Some(None) => self.switch(index, addr, named),
            _ => self.failover_started(index, Some(addr), None),
        }
    }

    /// True when the current master of `index` says it is not a master any more: only then
    /// may an answer naming a node the client left take it back there.
    fn current_stepped_down(&self, index: usize) -> bool {
        let Some(current) = self.masters[index].addr() else {
            return false;
        };
        matches!(
            probe_role(&current, self.probe_timeout(), &self.data_dial),
            Some(Some(role)) if role != "master"
        )
    }

    fn probe_timeout(&self) -> Duration {
        self.config.sentinel_timeout.min(PROBE_TIMEOUT)
    }

    /// Points master `index` at `addr`, found as `how` says.
    fn switch(&self, index: usize, addr: NodeAddr, how: Found) {
        let old = self.masters[index].addr().map(|a| (*a).clone());
        if old.as_ref() != Some(&addr) {
            self.lineages()[index].moved(old, &addr, how);
        }
        self.apply_master_addr(index, addr);
        let generation = self.masters[index].generation();
        let mut fences = self.fences();
        if fences[index]
            .as_ref()
            .is_some_and(|f| f.generation < generation)
        {
            fences[index] = None;
        }
    }

    fn lift_fence(&self, index: usize) {
        let fence = self.fences()[index].take();
        if let Some(fence) = fence {
            self.lift(index, fence.generation);
        }
    }

    /// Lifts the fence of `generation` on master `index` and says so.
    fn lift(&self, index: usize, generation: u64) {
        let master = &self.masters[index];
        let was_fenced = master.gate.is_fenced() && master.generation() == generation;
        master.gate.lift(generation);
        if let (true, Some(address)) = (was_fenced, master.addr()) {
            self.config.emit(ClientEvent::FenceLifted {
                master: master.name().to_owned(),
                address: (*address).clone(),
            });
        }
    }

    /// Asks every known sentinel where master `index` is and follows the answer with the
    /// highest configuration epoch (see [`most_credible`]). With no sentinel reachable, keeps
    /// the last known master.
    pub fn reask(&self, index: usize, lift_fence: bool) {
        self.reask_masters(&[index], lift_fence);
    }

    /// [`State::reask`] for every master, over one link per sentinel rather than one per
    /// master and sentinel.
    pub fn reask_all(&self) {
        let all: Vec<usize> = (0..self.masters.len()).collect();
        self.reask_masters(&all, false);
    }

    fn reask_masters(&self, indices: &[usize], lift_fence: bool) {
        let mut answers: Vec<Vec<(NodeAddr, u64)>> = vec![Vec::new(); indices.len()];
        let names: Vec<&str> = indices.iter().map(|&i| self.masters[i].name()).collect();
        ask_each_sentinel(
            &self.watchers.known(),
            self.config.sentinel_timeout,
            &self.sentinel_dial,
            &names,
            |link, name| link.master_info(name),
            |_| true,
            |at, (found, epoch)| answers[at].push((self.config.map_addr(found), epoch)),
        );
        for (&index, answers) in indices.iter().zip(answers) {
            match most_credible(answers) {
                Some((addr, epoch)) => {
                    self.config.emit(ClientEvent::MasterResolved {
                        master: self.masters[index].name().to_owned(),
                        address: addr.clone(),
                    });
                    self.master_named(
                        index,
                        addr,
                        Named::Answer {
                            config_epoch: epoch,
                        },
                        lift_fence,
                    )
                }
                None if lift_fence => self.lift_fence(index),
                None => {}
            }
        }
    }
}

/// The address named with the highest config epoch; among those, the one most sentinels
/// name (answers fallen back to `get-master-addr-by-name` all carry epoch 0, so one stale
/// sentinel would otherwise win whenever it answered first); then the first named.
fn most_credible(answers: Vec<(NodeAddr, u64)>) -> Option<(NodeAddr, u64)> {
    let top = answers.iter().map(|(_, epoch)| *epoch).max()?;
    let named: Vec<NodeAddr> = answers
        .into_iter()
        .filter(|(_, epoch)| *epoch == top)
        .map(|(addr, _)| addr)
        .collect();
    let votes = |addr: &NodeAddr| named.iter().filter(|a| *a == addr).count();
    let mut best: Option<(&NodeAddr, usize)> = None;
    for addr in &named {
        let count = votes(addr);
        if best.is_none_or(|(_, most)| count > most) {
            best = Some((addr, count));
        }
    }
    best.map(|(addr, _)| (addr.clone(), top))
}

/// Asks the data node at `addr` for its role: `None` when it cannot be reached, `Some(None)`
/// when it will not say (see [`RoleProbe::role`]).
fn probe_role(addr: &NodeAddr, timeout: Duration, dial: &Dial) -> Option<Option<String>> {
    RoleProbe::connect(addr, timeout, dial).ok()?.role().ok()
}

/// The driver thread: polls candidates of fenced masters, ends fences that outlive the fence
/// wait, and re-asks the sentinels when conns report READONLY or broken connections.
pub(crate) fn run_driver(shared: std::sync::Arc<State>) {
    let count = shared.masters.len();
    // None: the candidate will not say its role, so it is not asked again during the fence.
    let mut probes: HashMap<NodeAddr, Option<RoleProbe>> = HashMap::new();
    let mut last_reask: Vec<Option<Instant>> = vec![None; count];
    while !shared.stop.is_stopped() {
        let mut fenced_any = false;
        let mut stale_replicas = Vec::new();
        for (index, last_reask) in last_reask.iter_mut().enumerate() {
            let fence = shared.fences()[index].clone();
            if let Some(fence) = fence {
                if shared.masters[index].generation() != fence.generation {
                    shared.fences()[index] = None;
                } else {
                    fenced_any = true;
                    drive_fence(&shared, index, &fence, &mut probes);
                }
            }
            if shared.replicas[index].stale.swap(false, Ordering::AcqRel) {
                stale_replicas.push(index);
            }
            let master = &shared.masters[index].gate;
            let due = last_reask.is_none_or(|at| at.elapsed() >= REASK_INTERVAL);
            if due && master.reask_wanted.swap(false, Ordering::AcqRel) {
                *last_reask = Some(Instant::now());
                shared.reask(index, false);
            }
        }
        if !stale_replicas.is_empty() {
            shared.refresh_replicas(&stale_replicas);
        }
        if !fenced_any {
            probes.clear();
        }
        let pending_reask = shared
            .masters
            .iter()
            .any(|m| m.gate.reask_wanted.load(Ordering::Acquire))
            || shared
                .replicas
                .iter()
                .any(|r| r.stale.load(Ordering::Acquire));
        let nap = if fenced_any {
            PROBE_INTERVAL
        } else if pending_reask {
            REASK_INTERVAL
        } else {
            Duration::from_secs(1)
        };
        shared.driver.wait(nap);
    }
}

fn drive_fence(
    shared: &State,
    index: usize,
    fence: &Fence,
    probes: &mut HashMap<NodeAddr, Option<RoleProbe>>,
) {
    if !fence.in_flight_ended && fence.raised_at.elapsed() >= IN_FLIGHT_GRACE {
        let mut fences = shared.fences();
        if let Some(current) = fences[index]
            .as_mut()
            .filter(|f| f.generation == fence.generation && f.raised_at == fence.raised_at)
        {
            current.in_flight_ended = true;
            drop(fences);
            shared.masters[index].gate.end_commands_of(fence.generation);
        }
    }
    if let Some(candidate) = &fence.candidate {
        if !probes.contains_key(candidate) {
            if let Ok(link) =
                RoleProbe::connect(candidate, shared.probe_timeout(), &shared.data_dial)
            {
                probes.insert(candidate.clone(), Some(link));
            }
        }
        if let Some(Some(link)) = probes.get_mut(candidate) {
            match link.role() {
                Ok(Some(role)) if role == "master" => {
                    shared.switch(index, candidate.clone(), Found::Probe);
                    return;
                }
                Ok(Some(_)) => {} // a replica still
                // It will not say: the sentinels' +switch-master decides.
                Ok(None) => {
                    probes.insert(candidate.clone(), None);
                }
                Err(_) => {
                    probes.remove(candidate);
                }
            }
        }
    }
    if fence.raised_at.elapsed() >= shared.config.fence_wait {
        shared.reask(index, true);
        // Whatever the sentinels said, this fence has had its time.
        let mut fences = shared.fences();
        if fences[index]
            .as_ref()
            .is_some_and(|f| f.generation == fence.generation && f.raised_at == fence.raised_at)
        {
            fences[index] = None;
            drop(fences);
            shared.lift(index, fence.generation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(port: u16) -> NodeAddr {
        NodeAddr::new("10.0.0.1".to_owned(), port)
    }

    #[test]
    fn the_highest_epoch_wins_then_the_most_sentinels() {
        assert_eq!(most_credible(vec![]), None);
        // A newer epoch outranks any number of stale sentinels.
        let answers = vec![(at(1), 3), (at(1), 3), (at(2), 4)];
        assert_eq!(most_credible(answers), Some((at(2), 4)));
        // Epoch 0 everywhere (get-master-addr-by-name): the majority, not the first to answer.
        let answers = vec![(at(1), 0), (at(2), 0), (at(2), 0)];
        assert_eq!(most_credible(answers), Some((at(2), 0)));
        // A tie keeps the first named.
        let answers = vec![(at(1), 0), (at(2), 0)];
        assert_eq!(most_credible(answers), Some((at(1), 0)));
    }
}
