//! Writers for fault tests: each pushes its sequence numbers onto a list of its own, so the
//! writes missing at the end are known one by one, with when each was acknowledged.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redis_sentinel::Client;

use super::direct_at;

pub const NAME: &str = "mymaster";
/// Writer `w` pushes onto the list `acked:w`.
const KEY: &str = "acked";

pub struct WriterLog {
    /// When each write was acknowledged, and its sequence number.
    pub acks: Vec<(Instant, u64)>,
    /// The longest this writer went without an acknowledgement, counting from its last one to
    /// when it was told to stop (a writer still blocked at the end counts).
    pub longest_pause: Duration,
    pub slowest_command: Duration,
    pub failures: u64,
}

pub struct Writers {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<WriterLog>>,
}

pub struct Report {
    pub acked: u64,
    /// Every acknowledgement, in order.
    pub acks: Vec<Instant>,
    /// Per writer: when each of its writes was acknowledged, and its sequence number.
    pub per_writer: Vec<Vec<(Instant, u64)>>,
    pub longest_gap: Duration,
    pub longest_pause: Duration,
    pub slowest_command: Duration,
    pub failures: u64,
}

impl Writers {
    pub fn start(client: &Arc<Client>, threads: usize) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let handles = (0..threads)
            .map(|w| {
                let (client, stop) = (client.clone(), stop.clone());
                std::thread::spawn(move || {
                    let list = format!("{KEY}:{w}");
                    let mut seq = 0u64;
                    let mut log = WriterLog {
                        acks: Vec::new(),
                        longest_pause: Duration::ZERO,
                        slowest_command: Duration::ZERO,
                        failures: 0,
                    };
                    while !stop.load(Ordering::Relaxed) {
                        let mut conn = match client.get_master(NAME) {
                            Ok(conn) => conn,
                            Err(_) => {
                                log.failures += 1;
                                std::thread::sleep(Duration::from_millis(1));
                                continue;
                            }
                        };
                        let started = Instant::now();
                        let value = seq.to_string();
                        let result = conn.command(&[b"RPUSH", list.as_bytes(), value.as_bytes()]);
                        log.slowest_command = log.slowest_command.max(started.elapsed());
                        match &result {
                            Ok(_) => log.acks.push((Instant::now(), seq)),
                            Err(_) => log.failures += 1,
                        }
                        // Never sent twice: a failed write may still have been applied.
                        seq += 1;
                        client.carefully_put_master(conn, result.as_ref().err());
                    }
                    log.longest_pause = log
                        .acks
                        .windows(2)
                        .map(|w| w[1].0 - w[0].0)
                        .max()
                        .unwrap_or_default();
                    log
                })
            })
            .collect();
        Writers { stop, handles }
    }

    pub fn stop(self) -> Report {
        let stopped_at = Instant::now();
        self.stop.store(true, Ordering::Relaxed);
        let mut acks = Vec::new();
        let mut report = Report {
            acked: 0,
            acks: Vec::new(),
            per_writer: Vec::new(),
            longest_gap: Duration::ZERO,
            longest_pause: Duration::ZERO,
            slowest_command: Duration::ZERO,
            failures: 0,
        };
        for handle in self.handles {
            let log = handle.join().unwrap();
            let tail = log
                .acks
                .iter()
                .rev()
                .find(|(at, _)| *at <= stopped_at)
                .map_or(Duration::MAX, |(last, _)| stopped_at - *last);
            report.longest_pause = report.longest_pause.max(log.longest_pause).max(tail);
            report.slowest_command = report.slowest_command.max(log.slowest_command);
            report.failures += log.failures;
            acks.extend(log.acks.iter().map(|(at, _)| *at));
            report.per_writer.push(log.acks);
        }
        acks.sort();
        report.acked = acks.len() as u64;
        report.longest_gap = acks
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        report.acks = acks;
        report
    }
}

/// When each acknowledged write missing from the master at `port` was acknowledged.
pub fn missing_writes(report: &Report, host: &str, port: u16) -> Vec<Instant> {
    let mut conn = direct_at(host, port);
    let mut missing = Vec::new();
    for (w, acks) in report.per_writer.iter().enumerate() {
        let stored: Vec<u64> = redis::cmd("LRANGE")
            .arg(format!("{KEY}:{w}"))
            .arg(0)
            .arg(-1)
            .query(&mut conn)
            .unwrap_or_else(|e| panic!("LRANGE on {port}: {e}"));
        let stored: HashSet<u64> = stored.into_iter().collect();
        missing.extend(
            acks.iter()
                .filter(|(_, seq)| !stored.contains(seq))
                .map(|(at, _)| *at),
        );
    }
    missing
}

/// The most a replica may trail its master by under the tests' load: a write acknowledged longer
/// before a fault than this must have reached a replica.
pub const REPLICATION_LAG: Duration = Duration::from_millis(250);

/// How many acknowledged writes the master at `host:port` lacks.
pub fn lost_writes(report: &Report, host: &str, port: u16) -> i64 {
    missing_writes(report, host, port).len() as i64
}

/// Replication is asynchronous: what the master acknowledged before it died (or froze) but had
/// not yet sent to a replica is lost to every client, and under load (nine topologies on two
/// cores) that can be a few milliseconds of writes. Anything acknowledged after the fault, by
/// whichever node, must be on the surviving master, and nothing acknowledged well before it
/// may be missing. Returns how many were lost, all acknowledged just before `fault_at`.
pub fn lost_only_before(report: &Report, host: &str, port: u16, fault_at: Instant) -> i64 {
    let missing = missing_writes(report, host, port);
    let early = missing
        .iter()
        .filter(|at| **at + REPLICATION_LAG < fault_at)
        .count();
    assert_eq!(
        early, 0,
        "acknowledged writes lost that were acknowledged more than {REPLICATION_LAG:?} before the fault"
    );
    // A reply the master sent just before the fault may still be on its way.
    let late: Vec<Duration> = missing
        .iter()
        .filter(|at| **at > fault_at + Duration::from_millis(50))
        .map(|at| *at - fault_at)
        .collect();
    assert!(
        late.is_empty(),
        "{} acknowledged writes lost that were acknowledged after the fault (first {:?} after it)",
        late.len(),
        late.iter().min()
    );
    missing.len() as i64
}

pub fn print_report(what: &str, report: &Report, lost: i64) {
    eprintln!(
        "{what}: acked {} lost {lost} longest gap {:?} longest pause of a writer {:?} slowest command {:?} failed attempts {}",
        report.acked, report.longest_gap, report.longest_pause, report.slowest_command, report.failures
    );
}
