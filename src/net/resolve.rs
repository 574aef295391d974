//! Host name lookups that end by a deadline.
//!
//! `getaddrinfo` can be neither cancelled nor given a timeout: behind a slow resolver (the
//! five-second DNS stalls of some container networks) it would hold a connect, and so
//! `sentinel_client_new` or a `get_master` that opens a connection, far past the connect
//! timeout. So a name that is not an IP literal is looked up on a short-lived helper thread,
//! and the caller waits for it only until its deadline. A lookup that outlives the deadline
//! finishes on its own and is dropped; at most [`MAX_LOOKUPS_IN_FLIGHT`] run at once, so a
//! resolver that never answers cannot make us pile up threads.

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

/// Lookups running at once, across every client in the process.
pub(crate) const MAX_LOOKUPS_IN_FLIGHT: usize = 8;

static LOOKUPS_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

type Lookup = fn(&str, u16) -> io::Result<Vec<SocketAddr>>;

fn system_lookup(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    Ok((host, port).to_socket_addrs()?.collect())
}

/// The addresses of `host`, by `deadline`. An IP literal costs no lookup and no thread.
pub(crate) fn resolve(host: &str, port: u16, deadline: Instant) -> io::Result<Vec<SocketAddr>> {
    resolve_with(host, port, deadline, system_lookup)
}

fn resolve_with(
    host: &str,
    port: u16,
    deadline: Instant,
    lookup: Lookup,
) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let slot = InFlight::take().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "cannot look up {host}: {MAX_LOOKUPS_IN_FLIGHT} earlier lookups are still \
                 waiting for the resolver"
            ),
        )
    })?;
    let (answer, answered) = mpsc::sync_channel(1);
    let name = host.to_owned();
    thread::Builder::new()
        .name("redis-sentinel-lookup".into())
        .spawn(move || {
            let result = lookup(&name, port);
            drop(slot);
            let _ = answer.send(result); // the caller may have stopped waiting
        })?;
    let wait = deadline.saturating_duration_since(Instant::now());
    match answered.recv_timeout(wait) {
        Ok(result) => result,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("looking up {host} took longer than the connect timeout"),
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(io::Error::other(format!(
            "the lookup of {host} ended without an answer"
        ))),
    }
}

/// One of the [`MAX_LOOKUPS_IN_FLIGHT`] slots, given back when dropped (also when the helper
/// thread cannot be spawned, or panics).
struct InFlight;

impl InFlight {
    fn take() -> Option<InFlight> {
        LOOKUPS_IN_FLIGHT
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_LOOKUPS_IN_FLIGHT).then_some(n + 1)
            })
            .ok()
            .map(|_| InFlight)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        LOOKUPS_IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn slow_lookup(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        thread::sleep(Duration::from_millis(700));
        system_lookup(host, port)
    }

    // One test: the slots are shared by the whole process, and a lookup of this test must not
    // find them taken by another test's stuck lookups.
    #[test]
    fn lookups_end_by_the_deadline_in_a_bounded_number_of_threads() {
        let far = Instant::now() + Duration::from_secs(5);
        let never = |_: &str, _: u16| -> io::Result<Vec<SocketAddr>> { unreachable!() };
        for (host, ip) in [("127.0.0.1", "127.0.0.1"), ("::1", "::1")] {
            let addrs = resolve_with(host, 7, far, never).unwrap();
            assert_eq!(addrs, vec![SocketAddr::new(ip.parse().unwrap(), 7)]);
        }
        let local = resolve("localhost", 7, far).unwrap();
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 7));
        assert!(!local.is_empty());

        let started = Instant::now();
        let deadline = started + Duration::from_millis(100);
        let err = resolve_with("localhost", 7, deadline, slow_lookup).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("localhost"), "{err}");
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
        // Fill every slot with stuck lookups: the next one fails at once, naming why.
        let stuck: Vec<_> = (0..MAX_LOOKUPS_IN_FLIGHT)
            .map(|_| thread::spawn(move || resolve_with("localhost", 7, deadline, slow_lookup)))
            .collect();
        thread::sleep(Duration::from_millis(100));
        let full = resolve_with(
            "localhost",
            7,
            Instant::now() + Duration::from_secs(5),
            slow_lookup,
        );
        let full = full.unwrap_err().to_string();
        assert!(full.contains("still waiting for the resolver"), "{full}");
        for t in stuck {
            let _ = t.join();
        }
        // Once the stuck lookups end, their slots are free again.
        let wait_until = Instant::now() + Duration::from_secs(5);
        while LOOKUPS_IN_FLIGHT.load(Ordering::Acquire) > 0 && Instant::now() < wait_until {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(resolve_with(
            "localhost",
            7,
            Instant::now() + Duration::from_secs(5),
            slow_lookup
        )
        .is_ok());
    }
}
