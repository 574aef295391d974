//! Fault injection against real processes: every acknowledged INCR must be on the surviving
//! master. Each test starts its own topology; every wait is bounded.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{direct, wait_for, wait_links, Topology};
use redis_sentinel::Client;

const NAME: &str = "mymaster";
const KEY: &str = "acked";

struct WriterLog {
    acks: Vec<Instant>,
    slowest_command: Duration,
    failures: u64,
}

struct Writers {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<WriterLog>>,
}

struct Report {
    acked: u64,
    longest_gap: Duration,
    slowest_command: Duration,
    failures: u64,
}

impl Writers {
    fn start(client: &Arc<Client>, threads: usize) -> Writers {
        let stop = Arc::new(AtomicBool::new(false));
        let handles = (0..threads)
            .map(|_| {
                let (client, stop) = (client.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut log = WriterLog {
                        acks: Vec::new(),
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
                        let result = conn.command(&[b"INCR", KEY.as_bytes()]);
                        log.slowest_command = log.slowest_command.max(started.elapsed());
                        match &result {
                            Ok(_) => log.acks.push(Instant::now()),
                            Err(_) => log.failures += 1,
                        }
                        client.carefully_put_master(conn, result.as_ref().err());
                    }
                    log
                })
            })
            .collect();
        Writers { stop, handles }
    }

    fn stop(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        let mut acks = Vec::new();
        let mut report = Report {
            acked: 0,
            longest_gap: Duration::ZERO,
            slowest_command: Duration::ZERO,
            failures: 0,
        };
        for handle in self.handles {
            let log = handle.join().unwrap();
            report.slowest_command = report.slowest_command.max(log.slowest_command);
            report.failures += log.failures;
            acks.extend(log.acks);
        }
        acks.sort();
        report.acked = acks.len() as u64;
        report.longest_gap = acks
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or_default();
        report
    }
}

fn counter_on(port: u16) -> u64 {
    match redis::cmd("GET")
        .arg(KEY)
        .query::<Option<u64>>(&mut direct(port))
    {
        Ok(value) => value.unwrap_or(0),
        Err(e) => panic!("GET on {port}: {e}"),
    }
}

fn client_for(topo: &Topology, read_timeout: Duration) -> Arc<Client> {
    let mut config = topo.config(&[NAME], 8);
    config.read_timeout = read_timeout;
    config.connect_timeout = Duration::from_millis(300);
    let client = Arc::new(Client::new(config).unwrap());
    wait_links(&client, 3, Duration::from_secs(10));
    client
}

fn follow(client: &Client, new_port: u16) -> Duration {
    wait_for("client to follow", Duration::from_secs(10), || {
        client.master_addr(NAME).unwrap().port == new_port
    })
}

/// Acknowledged writes missing from `counter`. A command whose reply never arrived may still
/// have been applied, so the counter may exceed the acknowledged count by the failed attempts.
fn lost_writes(report: &Report, counter: u64) -> i64 {
    assert!(
        counter <= report.acked + report.failures,
        "counter {counter} exceeds acked {} + failed {}",
        report.acked,
        report.failures
    );
    (report.acked as i64 - counter as i64).max(0)
}

fn print_report(what: &str, report: &Report, lost: i64) {
    eprintln!(
        "{what}: acked {} lost {lost} longest gap {:?} slowest command {:?} failed attempts {}",
        report.acked, report.longest_gap, report.slowest_command, report.failures
    );
}

#[test]
fn forced_failover_with_eight_writers_loses_nothing() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let client = client_for(&topo, Duration::from_secs(2));
    let writers = Writers::start(&client, 8);
    std::thread::sleep(Duration::from_millis(500));
    topo.start_failover(NAME, 0);
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    let lost = lost_writes(&report, counter_on(new));
    print_report("forced failover", &report, lost);
    assert_eq!(lost, 0, "acknowledged writes lost");
    assert!(
        report.longest_gap < Duration::from_millis(1500),
        "gap {:?}",
        report.longest_gap
    );
}

#[test]
fn kill_nine_of_the_master_loses_nothing() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let client = client_for(&topo, Duration::from_secs(2));
    let writers = Writers::start(&client, 8);
    std::thread::sleep(Duration::from_millis(300));
    topo.signal(old, "KILL");
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    let lost = lost_writes(&report, counter_on(new));
    print_report("kill -9", &report, lost);
    // Replication is asynchronous: a write the master acknowledged in the microseconds before
    // SIGKILL may not have reached any replica. No client can save it; at most one per writer.
    assert!(lost <= 8, "{lost} acknowledged writes lost");
}

#[test]
fn stopped_master_does_not_hang_callers() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let read_timeout = Duration::from_millis(500);
    let client = client_for(&topo, read_timeout);
    let writers = Writers::start(&client, 8);
    std::thread::sleep(Duration::from_millis(300));
    topo.signal(old, "STOP");
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    topo.signal(old, "CONT");
    let lost = lost_writes(&report, counter_on(new));
    print_report("SIGSTOP", &report, lost);
    // As with kill -9: a write acknowledged just before SIGSTOP may not have left the master.
    assert!(lost <= 8, "{lost} acknowledged writes lost");
    assert!(
        report.slowest_command < read_timeout + Duration::from_millis(300),
        "a command hung for {:?}",
        report.slowest_command
    );
}

#[test]
fn failover_followed_when_the_given_sentinel_dies() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let client = client_for(&topo, Duration::from_secs(2));
    let writers = Writers::start(&client, 4);
    topo.kill_sentinel(0);
    wait_links(&client, 2, Duration::from_secs(5));
    topo.start_failover(NAME, 1);
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(200));
    let report = writers.stop();
    let lost = lost_writes(&report, counter_on(new));
    print_report("given sentinel dead", &report, lost);
    assert_eq!(lost, 0);
}

#[test]
fn all_sentinels_down_commands_keep_going() {
    let topo = Topology::start(&[NAME], 1, 3);
    let client = client_for(&topo, Duration::from_secs(2));
    let writers = Writers::start(&client, 4);
    for i in 0..3 {
        topo.kill_sentinel(i);
    }
    wait_links(&client, 0, Duration::from_secs(5));
    // A failing checkout now says the sentinels are unreachable.
    std::thread::sleep(Duration::from_millis(300));
    for i in 0..3 {
        topo.restart_sentinel(i);
    }
    wait_links(&client, 3, Duration::from_secs(10));
    let report = writers.stop();
    let lost = lost_writes(&report, counter_on(topo.master_port(NAME)));
    print_report("sentinels restarted", &report, lost);
    assert_eq!(lost, 0);
    assert_eq!(
        report.failures, 0,
        "commands failed while the sentinels were down"
    );
    assert!(
        report.longest_gap < Duration::from_millis(200),
        "gap {:?}",
        report.longest_gap
    );
}

#[test]
fn aborted_failover_lifts_the_fence() {
    // The replicas refuse SLAVEOF: the leader selects one, cannot promote it, and aborts
    // (-failover-abort-slave-timeout) after the failover timeout (3 s).
    let topo = Topology::start_with(&[NAME], 2, 3, &["--unpromotable"]);
    let old = topo.master_port(NAME);
    let client = client_for(&topo, Duration::from_secs(2));
    let writers = Writers::start(&client, 4);
    std::thread::sleep(Duration::from_millis(200));
    topo.start_failover(NAME, 0);
    wait_for("a fence", Duration::from_secs(5), || {
        client.fences_raised(NAME).unwrap() > 0
    });
    let lifted = wait_for("the fence lifted", Duration::from_secs(10), || {
        !client.is_fenced(NAME).unwrap()
    });
    eprintln!("fence lifted {lifted:?} after it was seen");
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    assert_eq!(client.master_addr(NAME).unwrap().port, old);
    assert_eq!(
        client.generation(NAME).unwrap(),
        0,
        "the client must not have moved"
    );
    let lost = lost_writes(&report, counter_on(old));
    print_report("aborted failover", &report, lost);
    assert_eq!(lost, 0);
    assert!(
        report.longest_gap < Duration::from_secs(5),
        "gap {:?}",
        report.longest_gap
    );
}
