//! Signals and latches the client's threads wait on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::Duration;

use scheduled_thread_pool::{OnPoolDropBehavior, ScheduledThreadPool};

/// Threads that open data connections for every pool of one client (r2d2 connects in the
/// background). Two, so one master that hangs on connect cannot hold up all the others.
const CONNECT_THREADS: usize = 2;

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

/// Counts threads down as they exit, so close can wait for threads it cannot join.
pub(crate) struct ExitLatch {
    running: Mutex<usize>,
    cond: Condvar,
}

impl ExitLatch {
    pub fn wait(&self, bound: Duration) {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self.cond.wait_timeout_while(running, bound, |n| *n > 0);
    }
}

struct ExitGuard(Arc<ExitLatch>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let mut running = self.0.running.lock().unwrap_or_else(|p| p.into_inner());
        *running -= 1;
        self.0.cond.notify_all();
    }
}

thread_local! {
    static EXIT_GUARD: std::cell::RefCell<Option<ExitGuard>> = const { std::cell::RefCell::new(None) };
}

/// Starts the connect threads and plants in each one a guard that counts down when it exits:
/// the pool's workers are detached, so this is how close knows they are gone.
pub(crate) fn start_connect_threads() -> (Arc<ScheduledThreadPool>, Arc<ExitLatch>) {
    let threads = ScheduledThreadPool::builder()
        .num_threads(CONNECT_THREADS)
        .thread_name_pattern("sentinel-connect-{}")
        .on_drop_behavior(OnPoolDropBehavior::DiscardPendingScheduled)
        .build();
    let latch = Arc::new(ExitLatch {
        running: Mutex::new(CONNECT_THREADS),
        cond: Condvar::new(),
    });
    // Each job waits at the barrier until all have started, so each runs on its own thread.
    let barrier = Arc::new(Barrier::new(CONNECT_THREADS + 1));
    for _ in 0..CONNECT_THREADS {
        let (latch, barrier) = (latch.clone(), barrier.clone());
        threads.execute(move || {
            EXIT_GUARD.with(|slot| *slot.borrow_mut() = Some(ExitGuard(latch)));
            barrier.wait();
        });
    }
    barrier.wait();
    (Arc::new(threads), latch)
}
