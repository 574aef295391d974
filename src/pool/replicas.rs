//! Replica reads: per master, a round-robin set of healthy replicas, each with its own pool.
//!
//! The set comes from `SENTINEL REPLICAS` (skipping replicas any sentinel marks down or
//! disconnected, or whose link to the master is down) and is refreshed when sentinels announce
//! replica changes or a failover, and when the client starts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::config::{Config, NodeAddr};
use crate::error::{Error, ErrorKind, Result};
use crate::net::tls::Dial;
use crate::pool::{Conn, NodePool};

/// The healthy replicas of one master.
pub(crate) struct ReplicaSet {
    name: String,
    replicas: RwLock<Vec<Arc<NodePool>>>,
    next: AtomicUsize,
    /// Raised by sentinel announcements; the failover driver refreshes the set.
    pub stale: AtomicBool,
}

impl ReplicaSet {
    pub fn new(name: String) -> Self {
        ReplicaSet {
            name,
            replicas: RwLock::new(Vec::new()),
            next: AtomicUsize::new(0),
            // The client asks for every set once it has started its threads; a set is stale
            // only when that (or a later) refresh finds no answer.
            stale: AtomicBool::new(false),
        }
    }

    /// See [`crate::Client::interrupt_waits`].
    pub fn interrupt_waits(&self) {
        let replicas = self.replicas.read().unwrap_or_else(|p| p.into_inner());
        for replica in replicas.iter() {
            replica.gate.interrupt_waits();
        }
    }

    pub fn addrs(&self) -> Vec<NodeAddr> {
        let replicas = self.replicas.read().unwrap_or_else(|p| p.into_inner());
        replicas
            .iter()
            .filter_map(|r| r.addr().map(|a| (*a).clone()))
            .collect()
    }

    /// Replaces the set with `healthy`, keeping the pools of replicas that stay.
    pub fn update(
        &self,
        healthy: Vec<NodeAddr>,
        make: impl Fn() -> NodePool,
        config: &Arc<Config>,
        dial: &Dial,
    ) {
        let mut healthy = healthy;
        // A stable order, so a refresh that finds the same replicas keeps the rotation going.
        healthy.sort_by(|a, b| (&a.host, a.port).cmp(&(&b.host, b.port)));
        healthy.dedup();
        let mut replicas = self.replicas.write().unwrap_or_else(|p| p.into_inner());
        let mut kept: Vec<Arc<NodePool>> = Vec::with_capacity(healthy.len());
        for addr in healthy {
            if let Some(existing) = replicas
                .iter()
                .find(|r| r.addr().is_some_and(|a| *a == addr))
            {
                kept.push(existing.clone());
            } else {
                let replica = make();
                replica.switch_to(addr, config, dial);
                kept.push(Arc::new(replica));
            }
        }
        let removed = std::mem::replace(&mut *replicas, kept);
        drop(replicas);
        drop(removed); // their idle connections close here, outside the lock
    }

    /// Checks out a conn to the next healthy replica, trying each one at most once.
    pub fn checkout(&self, wait: Duration) -> Result<Conn> {
        let replicas = self
            .replicas
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if replicas.is_empty() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("master \"{}\" has no healthy replica", self.name),
            ));
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut last_error = None;
        for i in 0..replicas.len() {
            match replicas[(start + i) % replicas.len()].checkout(wait, wait) {
                Ok(conn) => return Ok(conn),
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error
            .unwrap_or_else(|| Error::new(ErrorKind::Internal, "no replica was tried (a bug)")))
    }

    pub fn shut(&self) {
        let removed =
            std::mem::take(&mut *self.replicas.write().unwrap_or_else(|p| p.into_inner()));
        for replica in &removed {
            replica.shut();
        }
    }
}
