//! One thread per known sentinel, subscribed to its events.
//!
//! A watcher subscribes first and asks second, so nothing published between the two is missed.
//! After every (re)connect it re-asks where each master is, because events may have been lost
//! while the link was down. A silent link is PINGed, and dropped when still silent.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{ClientEvent, SentinelAddr};
use crate::error::Result;
use crate::failover::Named;
use crate::net::stream::SocketHandle;
use crate::sentinel::{parse_event, parse_message, Event, SentinelLink, EVENT_PATTERN};
use crate::state::State;

/// Starts a watcher thread for the sentinel at `addr`, unless one exists or the client is
/// closing.
pub(crate) fn watch(state: &Arc<State>, addr: SentinelAddr) {
    let shared = state.clone();
    state.watchers.add(addr.clone(), move |name, socket| {
        std::thread::Builder::new().name(name).spawn(move || {
            Watcher {
                shared,
                addr,
                socket,
            }
            .run()
        })
    });
}

struct Watcher {
    shared: Arc<State>,
    addr: SentinelAddr,
    socket: Arc<Mutex<Option<SocketHandle>>>,
}

const BACKOFF_START: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

impl Watcher {
    fn run(self) {
        let mut backoff = BACKOFF_START;
        let mut ever_up = false;
        while !self.shared.stop.is_stopped() {
            let mut was_up = false;
            if let Err(err) = self.watch(&mut was_up, ever_up) {
                *self
                    .shared
                    .last_sentinel_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(err);
            }
            self.set_socket(None);
            if was_up {
                backoff = BACKOFF_START;
                ever_up = true;
            }
            if self.shared.stop.sleep(backoff) {
                break;
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
    }

    fn set_socket(&self, stream: Option<SocketHandle>) {
        *self.socket.lock().unwrap_or_else(|p| p.into_inner()) = stream;
        // A close that raced with us has already swept the slots: cut our own link.
        if self.shared.stop.is_stopped() {
            if let Some(stream) = self
                .socket
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
            {
                stream.shut_down();
            }
        }
    }

    /// Runs one link until it fails or the client closes. `reconnect`: the link was up
    /// before (see [`Watcher::refresh_from_sentinel`]).
    fn watch(&self, was_up: &mut bool, reconnect: bool) -> Result<()> {
        let timeout = self.shared.config.sentinel_timeout;
        let keepalive = self.shared.config.sentinel_keepalive;
        let mut sub = SentinelLink::connect(&self.addr, timeout, &self.shared.sentinel_dial)?;
        self.set_socket(Some(sub.shutdown_handle()));
        sub.send(&[b"PSUBSCRIBE", EVENT_PATTERN.as_bytes()])?;
        if sub.read_reply(timeout)?.is_none() {
            return Err(crate::error::Error::sentinel(format!(
                "sentinel {}: no PSUBSCRIBE confirmation within {timeout:?}",
                self.addr
            )));
        }
        let _up = LinkUp::new(&self.shared, &self.addr);
        *was_up = true;
        self.refresh_from_sentinel(reconnect);

        let mut last_heard = Instant::now();
        let mut ping_sent = false;
        while !self.shared.stop.is_stopped() {
            match sub.read_reply(keepalive)? {
                Some(reply) => {
                    last_heard = Instant::now();
                    ping_sent = false;
                    if let Some((channel, payload)) = parse_message(&reply) {
                        if let Some(event) = parse_event(channel, payload) {
                            self.handle(event);
                        }
                    }
                }
                None if last_heard.elapsed() >= keepalive * 3 => {
                    return Err(crate::error::Error::sentinel(format!(
                        "sentinel {} silent for {:?}",
                        self.addr,
                        last_heard.elapsed()
                    )));
                }
                None if !ping_sent => {
                    sub.send(&[b"PING"])?;
                    ping_sent = true;
                }
                None => {}
            }
        }
        Ok(())
    }

    /// Learns the other sentinels from this one (on a reconnect: at the first connect, the
    /// sentinels the client started with were just learned, from the first sentinel that
    /// answered, and asking each sentinel again would cost one query per master each), then
    /// checks that it names the master the client follows for every name: events may have
    /// been missed before this link subscribed, or while it was down.
    /// When it names another (or cannot say), every sentinel is re-asked and the highest
    /// config epoch, then the most sentinels, win, so one stale sentinel cannot move the
    /// client. When it agrees, this sentinel knows of no switch we missed, and a switch another
    /// sentinel knows of reaches us through that sentinel's own link, or its own check when
    /// that link comes back. So a (re)connect costs one query link, not one per known sentinel
    /// as well.
    fn refresh_from_sentinel(&self, learn_sentinels: bool) {
        let config = &self.shared.config;
        let dial = &self.shared.sentinel_dial;
        let Ok(mut link) = SentinelLink::connect(&self.addr, config.sentinel_timeout, dial) else {
            return self.shared.reask_all();
        };
        for master in self.shared.masters.iter().filter(|_| learn_sentinels) {
            match link.other_sentinels(master.name()) {
                Ok(Some(others)) => {
                    for other in others {
                        let other = SentinelAddr::Tcp(config.map_addr(other));
                        watch(&self.shared, other);
                    }
                }
                Ok(None) => {} // not monitored by this sentinel
                // A query that failed may leave its reply in flight: drop this link.
                Err(_) => return self.shared.reask_all(),
            }
        }
        let agrees = |master: &crate::pool::NodePool| match link.master_info(master.name()) {
            Ok(Some((addr, _epoch))) => master.addr().as_deref() == Some(&config.map_addr(addr)),
            Ok(None) => true, // it does not monitor this one, so it has no news of it either
            Err(_) => false,
        };
        if !self.shared.masters.iter().all(agrees) {
            drop(link);
            self.shared.reask_all();
        }
    }

    fn handle(&self, event: Event) {
        let name = match &event {
            Event::SwitchMaster { name, .. }
            | Event::FailoverStarted { name, .. }
            | Event::FailoverAborted { name, .. }
            | Event::ReplicaChanged { name } => name,
        };
        let Some(index) = self.shared.master_index(name) else {
            return;
        };
        let map = |addr| self.shared.config.map_addr(addr);
        match event {
            Event::SwitchMaster { old, new, .. } => {
                let (old, new) = (map(old), map(new));
                let current = self.shared.masters[index].addr();
                match current.as_deref() {
                    // Already there (by a probe, or a duplicate): now a sentinel vouches for it.
                    Some(cur) if *cur == new => {
                        self.shared
                            .master_named(index, new, Named::Announcement, false)
                    }
                    // An announcement, not an answer: news whatever the epoch.
                    Some(cur) if *cur == old => {
                        self.shared
                            .master_named(index, new, Named::Announcement, true)
                    }
                    // We missed a step, or this announcement is stale: ask instead of guessing.
                    _ => self.shared.reask(index, false),
                }
            }
            Event::FailoverStarted { candidate, .. } => {
                self.shared
                    .failover_started(index, candidate.map(map), Some(&self.addr))
            }
            Event::FailoverAborted { .. } => self.shared.failover_aborted(index, &self.addr),
            Event::ReplicaChanged { .. } => self.shared.replicas_changed(index),
        }
    }
}

/// Counts a link as up for as long as it lives.
struct LinkUp<'a>(&'a State, &'a SentinelAddr);

impl<'a> LinkUp<'a> {
    fn new(shared: &'a State, sentinel: &'a SentinelAddr) -> Self {
        shared.sentinels_up.fetch_add(1, Ordering::AcqRel);
        shared.config.emit(ClientEvent::SentinelUp {
            sentinel: sentinel.clone(),
        });
        LinkUp(shared, sentinel)
    }
}

impl Drop for LinkUp<'_> {
    fn drop(&mut self) {
        self.0.sentinels_up.fetch_sub(1, Ordering::AcqRel);
        if !self.0.stop.is_stopped() {
            self.0.config.emit(ClientEvent::SentinelDown {
                sentinel: self.1.clone(),
            });
        }
    }
}
