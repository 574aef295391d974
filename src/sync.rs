//! Signals and latches the client's threads wait on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A stop flag that sleeping threads can wait on.
#[derive(Default)]
pub(crate) struct StopSignal {
    stopped: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
}

impl StopSignal {
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    pub fn stop(&self) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.stopped.store(true, Ordering::Release);
        self.cond.notify_all();
    }

    /// Sleeps for `wait` or until stopped; returns true when stopped.
    pub fn sleep(&self, wait: Duration) -> bool {
        let guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let (_guard, _) = self
            .cond
            .wait_timeout_while(guard, wait, |_| !self.is_stopped())
            .unwrap_or_else(|p| p.into_inner());
        self.is_stopped()
    }
}

/// Wakes the driver thread: a fence was raised, or a conn reported trouble, or close.
#[derive(Default)]
pub(crate) struct DriverSignal {
    pending: Mutex<bool>,
    cond: Condvar,
}

impl DriverSignal {
    pub fn wake(&self) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cond.notify_all();
    }

    pub fn wait(&self, timeout: Duration) {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let (mut pending, _) = self
            .cond
            .wait_timeout_while(pending, timeout, |pending| !*pending)
            .unwrap_or_else(|p| p.into_inner());
        *pending = false;
    }
}
