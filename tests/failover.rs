//! Fault injection against real processes: every acknowledged write must be on the surviving
//! master. Each writer pushes its sequence numbers onto a list of its own, so the writes
//! missing at the end are known one by one, with when each was acknowledged. Each test starts
//! its own topology; every wait is bounded.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{direct, wait_for, wait_links, Topology};
use redis_sentinel::{Client, ClientEvent, EventHook};

use common::writers::{lost_only_before, lost_writes, missing_writes, print_report, Writers, NAME};

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
    let lost = lost_writes(&report, "127.0.0.1", new);
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
    let killed_at = Instant::now();
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    let lost = lost_only_before(&report, "127.0.0.1", new, killed_at);
    print_report("kill -9", &report, lost);
}

/// Durable writes (`wait_replicas` 1): a write is acknowledged only once a replica has it, and
/// Sentinel promotes the replica with the most data, so a kill -9 of the master loses no
/// acknowledged write at all, not even the replication tail the plain test above allows.
#[test]
fn kill_nine_of_the_master_loses_no_durable_write() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let client = durable_client_for(&topo);
    let writers = Writers::start(&client, 8);
    std::thread::sleep(Duration::from_millis(300));
    topo.signal(old, "KILL");
    let killed_at = Instant::now();
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    // Until the other replica follows the new master, WAIT there finds none: wait for it.
    std::thread::sleep(Duration::from_millis(1500));
    let report = writers.stop();
    let lost = lost_writes(&report, "127.0.0.1", new);
    print_report("kill -9, durable writes", &report, lost);
    assert!(
        report.acks.iter().any(|at| *at < killed_at),
        "no write acknowledged before the kill"
    );
    assert!(
        report.acks.iter().any(|at| *at > killed_at),
        "no write acknowledged by the new master"
    );
    assert_eq!(lost, 0, "acknowledged durable writes lost");
}

/// A forced failover with durable writes: none lost either, and the fence lets a durable
/// write in flight finish (its WAIT is what makes it safe) instead of ending it.
#[test]
fn forced_failover_loses_no_durable_write() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let client = durable_client_for(&topo);
    let writers = Writers::start(&client, 8);
    std::thread::sleep(Duration::from_millis(500));
    topo.start_failover(NAME, 0);
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(1500));
    let report = writers.stop();
    let lost = lost_writes(&report, "127.0.0.1", new);
    print_report("forced failover, durable writes", &report, lost);
    assert!(report.acked > 0);
    assert_eq!(lost, 0, "acknowledged durable writes lost");
}

fn durable_client_for(topo: &Topology) -> Arc<Client> {
    let mut config = topo.config(&[NAME], 8);
    config.read_timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_millis(300);
    config.wait_replicas = 1;
    let client = Arc::new(Client::new(config).unwrap());
    wait_links(&client, 3, Duration::from_secs(10));
    client
}

/// SIGSTOP of the master (a frozen VM, a partition): connects to it still succeed, nothing is
/// answered. With 3 replicas (the leader's own +switch-master comes late) and one writer, as
/// users meet it. The floor is down-after (1 s) plus the election and promotion.
fn stopped_master(read_timeout: Duration) {
    let topo = Topology::start(&[NAME], 3, 3);
    let old = topo.master_port(NAME);
    let mut config = topo.config(&[NAME], 8);
    config.read_timeout = read_timeout;
    config.connect_timeout = Duration::from_millis(300);
    let switched: Arc<Mutex<Option<Instant>>> = Arc::default();
    let seen = switched.clone();
    config.on_event = Some(EventHook(Arc::new(move |event| {
        if let ClientEvent::MasterSwitched { .. } = event {
            seen.lock().unwrap().get_or_insert_with(Instant::now);
        }
    })));
    let client = Arc::new(Client::new(config).unwrap());
    wait_links(&client, 3, Duration::from_secs(10));
    let writers = Writers::start(&client, 1);
    std::thread::sleep(Duration::from_millis(300));
    let stopped_at = Instant::now();
    topo.signal(old, "STOP");
    let frozen_at = Instant::now();
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    // Past the leader's +switch-master and the stale answers before it.
    std::thread::sleep(Duration::from_millis(2500));
    let report = writers.stop();
    topo.signal(old, "CONT");
    let lost = lost_only_before(&report, "127.0.0.1", new, frozen_at);
    print_report(
        &format!("SIGSTOP, read timeout {read_timeout:?}"),
        &report,
        lost,
    );
    assert!(
        report.slowest_command < read_timeout + Duration::from_millis(300),
        "a command hung for {:?}",
        report.slowest_command
    );
    // The writer waits for the failover, not for its read timeout on top: it writes again
    // right after the client switched, and its longest pause is the one the failover made.
    let switched_at = switched.lock().unwrap().expect("the client switched");
    let resumed = *report
        .acks
        .iter()
        .find(|at| **at >= switched_at)
        .expect("writes after the switch");
    eprintln!(
        "switched {:?} after the stop, resumed {:?} after the switch",
        switched_at - stopped_at,
        resumed - switched_at
    );
    assert!(
        resumed - switched_at < Duration::from_millis(300),
        "the writer resumed {:?} after the switch",
        resumed - switched_at
    );
    assert!(
        report.longest_pause <= resumed - stopped_at,
        "the writer paused {:?} outside the failover",
        report.longest_pause
    );
    // Sentinels take down-after (1 s) plus an election or two; redis-py pauses 2.4-2.9 s.
    assert!(
        report.longest_pause < Duration::from_secs(4),
        "the writer paused {:?}",
        report.longest_pause
    );
    // Never stepped back: one fence, one switch, whatever the sentinels said meanwhile.
    assert_eq!(client.master_addr(NAME).unwrap().port, new);
    assert_eq!(client.failovers_seen(NAME).unwrap(), 1);
    assert_eq!(client.fences_raised(NAME).unwrap(), 1);
}

#[test]
fn stopped_master_with_short_read_timeout() {
    stopped_master(Duration::from_millis(500));
}

#[test]
fn stopped_master_with_default_read_timeout() {
    stopped_master(redis_sentinel::Config::default().read_timeout);
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
    let lost = lost_writes(&report, "127.0.0.1", new);
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
    let lost = lost_writes(&report, "127.0.0.1", topo.master_port(NAME));
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
        client.failovers_seen(NAME).unwrap(),
        0,
        "the client must not have moved"
    );
    let lost = lost_writes(&report, "127.0.0.1", old);
    print_report("aborted failover", &report, lost);
    assert_eq!(lost, 0);
    assert!(
        report.longest_gap < Duration::from_secs(5),
        "gap {:?}",
        report.longest_gap
    );
}

/// The sentinels keep naming the old master, with the old config epoch, for about a second
/// after the client confirmed the new one with ROLE. Every path that re-asks them in that
/// window must leave the client where it is: an I/O error on the new master's conns (killed
/// here with CLIENT KILL) and watchers reconnecting (their links killed on every sentinel).
/// Stepping back would send writes to the old master, which still accepts them until it is
/// demoted, and they would be lost.
#[test]
fn stale_answers_after_the_switch_never_take_the_client_back() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let mut config = topo.config(&[NAME], 8);
    config.read_timeout = Duration::from_secs(2);
    let ignored: Arc<Mutex<Vec<u16>>> = Arc::default();
    let seen = ignored.clone();
    config.on_event = Some(EventHook(Arc::new(move |event| {
        if let ClientEvent::StaleAnswerIgnored { address, .. } = event {
            seen.lock().unwrap().push(address.port);
        }
    })));
    let client = Arc::new(Client::new(config).unwrap());
    wait_links(&client, 3, Duration::from_secs(10));
    let writers = Writers::start(&client, 4);
    std::thread::sleep(Duration::from_millis(300));
    topo.start_failover(NAME, 0);
    wait_for("the client to switch", Duration::from_secs(10), || {
        client.failovers_seen(NAME).unwrap() == 1
    });
    let new = client.master_addr(NAME).unwrap().port;
    let sentinel_says = || -> u16 {
        let addr: (String, u16) = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(NAME)
            .query(&mut direct(topo.sentinel_port(1)))
            .unwrap();
        addr.1
    };
    let in_window = sentinel_says() == old;
    // An I/O error on every conn to the new master: each makes the client re-ask.
    let _: redis::Value = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .query(&mut direct(new))
        .unwrap();
    // Every watcher's link: each reconnects and checks its sentinel's answer.
    for index in 0..3 {
        let _: redis::RedisResult<redis::Value> = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("pubsub")
            .query(&mut direct(topo.sentinel_port(index)));
    }
    let still_in_window = sentinel_says() == old;
    let switched = topo.wait_switch(NAME, old);
    assert_eq!(
        switched, new,
        "the sentinels promoted the node the client chose"
    );
    wait_links(&client, 3, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    let lost = lost_writes(&report, "127.0.0.1", new);
    print_report("stale answers after the switch", &report, lost);
    eprintln!(
        "re-asked inside the window: {in_window}/{still_in_window}; stale answers ignored: {:?}",
        ignored.lock().unwrap()
    );
    assert_eq!(lost, 0, "acknowledged writes lost");
    assert_eq!(client.master_addr(NAME).unwrap().port, new);
    assert_eq!(
        client.failovers_seen(NAME).unwrap(),
        1,
        "the client stepped back"
    );
    assert_eq!(
        client.fences_raised(NAME).unwrap(),
        1,
        "a fence on the new master"
    );
    if in_window && still_in_window {
        assert!(
            ignored.lock().unwrap().iter().all(|port| *port == old),
            "only the old master is old news"
        );
        assert!(
            !ignored.lock().unwrap().is_empty(),
            "no re-ask was answered stale"
        );
    }
}

/// The process id of the server on `port`.
fn pid_of(port: u16) -> u32 {
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut direct(port))
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
        .expect("INFO server names the process")
}

/// True when some sentinel of `topo` logged `what`.
fn sentinels_logged(topo: &Topology, what: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(topo.dir()) else {
        return false;
    };
    entries.flatten().any(|entry| {
        std::fs::read_to_string(entry.path().join("sentinel.log"))
            .is_ok_and(|log| log.contains(what))
    })
}

/// The candidate hangs the moment it is promoted (SIGSTOP right after the client confirmed it
/// with ROLE, before the leader's next INFO sees it). The leader never sees the promotion
/// and aborts its failover after the failover timeout (3 s); the old master is still up (a
/// forced failover) and the sentinels name it as before. The client must go back to it,
/// rather than take every answer naming it for old news and wait on the hung node forever.
#[test]
fn a_candidate_that_hangs_once_promoted_sends_the_client_back_after_the_abort() {
    let topo = Topology::start(&[NAME], 2, 3);
    let old = topo.master_port(NAME);
    let pids: Vec<(u16, u32)> = topo
        .replica_ports(NAME)
        .into_iter()
        .map(|port| (port, pid_of(port)))
        .collect();
    let mut config = topo.config(&[NAME], 8);
    config.read_timeout = Duration::from_millis(500);
    config.connect_timeout = Duration::from_millis(300);
    // (when, port) of each switch; when the candidate was frozen.
    let switches: Arc<Mutex<Vec<(Instant, u16)>>> = Arc::default();
    let frozen: Arc<Mutex<Option<(Instant, u16)>>> = Arc::default();
    let (seen, freeze) = (switches.clone(), frozen.clone());
    config.on_event = Some(EventHook(Arc::new(move |event| {
        if let ClientEvent::MasterSwitched { new, .. } = event {
            seen.lock().unwrap().push((Instant::now(), new.port));
            let mut frozen = freeze.lock().unwrap();
            if frozen.is_none() {
                if let Some((port, pid)) = pids.iter().find(|(port, _)| *port == new.port) {
                    let stopped = std::process::Command::new("kill")
                        .args(["-STOP", &pid.to_string()])
                        .status();
                    assert!(stopped.is_ok_and(|s| s.success()), "SIGSTOP {pid}");
                    *frozen = Some((Instant::now(), *port));
                }
            }
        }
    })));
    let client = Arc::new(Client::new(config).unwrap());
    wait_links(&client, 3, Duration::from_secs(10));
    let writers = Writers::start(&client, 4);
    std::thread::sleep(Duration::from_millis(300));
    topo.start_failover(NAME, 0);
    wait_for("the candidate frozen", Duration::from_secs(10), || {
        frozen.lock().unwrap().is_some()
    });
    let back = wait_for(
        "the client back on the old master",
        Duration::from_secs(10),
        || client.master_addr(NAME).unwrap().port == old,
    );
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    let (frozen_at, candidate) = frozen.lock().unwrap().unwrap();
    if sentinels_logged(&topo, "+promoted-slave") {
        // The leader's INFO reached the candidate in the few milliseconds before it froze: the
        // failover went on, and there is no abort to follow in this run.
        eprintln!("the leader saw the promotion before the freeze: nothing aborted");
        return;
    }
    assert!(
        sentinels_logged(&topo, "-failover-abort-slave-timeout"),
        "the leader aborted"
    );
    let switched_at = switches.lock().unwrap()[0].0;
    // Writes the candidate acknowledged before it froze are lost with it: nothing else. `kill`
    // returns once the signal is sent; a reply the candidate sent just before it stopped may
    // still be on its way, as in `lost_only_before`.
    let frozen_by = frozen_at + Duration::from_millis(50);
    let missing = missing_writes(&report, "127.0.0.1", old);
    let lost = missing.len() as i64;
    print_report("candidate hung once promoted", &report, lost);
    eprintln!(
        "back on the old master {back:?} after the freeze of {candidate}; switches {:?}",
        switches
            .lock()
            .unwrap()
            .iter()
            .map(|(at, port)| (*at - switched_at, *port))
            .collect::<Vec<_>>()
    );
    let elsewhere = missing
        .iter()
        .filter(|at| **at < switched_at || **at > frozen_by)
        .count();
    assert_eq!(
        elsewhere, 0,
        "{lost} acknowledged writes lost, {elsewhere} of them not acknowledged by the candidate before it froze"
    );
    // The failover timeout (3 s), the abort's re-ask, and a read timeout for the writers
    // waiting on the frozen node.
    assert!(
        report.longest_pause < Duration::from_millis(4500),
        "the writers paused {:?}",
        report.longest_pause
    );
}

/// Twelve forced failovers in a row under two writers. A master being failed over still
/// answers at once: every command in flight when the fence went up gets its reply, and none
/// is ended as "may or may not have been applied" (before the grace, 10 of 12 failovers ended
/// one, 9 of those for writes that had landed). Nothing acknowledged is lost either.
#[test]
fn twelve_forced_failovers_end_no_command_in_flight() {
    const ROUNDS: usize = 12;
    let topo = Topology::start(&[NAME], 2, 3);
    let client = client_for(&topo, Duration::from_secs(2));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (client, stop) = (client.clone(), stop.clone());
            std::thread::spawn(move || {
                let (list, mut seq) = (format!("acked:{w}"), 0u64);
                let (mut acked, mut ended, mut others) = (Vec::new(), Vec::new(), Vec::new());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(mut conn) = client.get_master(NAME) else {
                        continue;
                    };
                    let value = seq.to_string();
                    let result = conn.command(&[b"RPUSH", list.as_bytes(), value.as_bytes()]);
                    match &result {
                        Ok(_) => acked.push(seq),
                        Err(e) if e.to_string().contains("in flight was ended") => {
                            ended.push(e.to_string())
                        }
                        Err(e) => others.push(e.to_string()),
                    }
                    seq += 1;
                    client.carefully_put_master(conn, result.as_ref().err());
                }
                (acked, ended, others)
            })
        })
        .collect();
    for round in 0..ROUNDS {
        let old = client.master_addr(NAME).unwrap().port;
        // A forced failover needs a replica the sentinels see as healthy: the one the last
        // failover left behind is reconfigured by it, the demoted master only later.
        wait_for("a failover to be accepted", Duration::from_secs(20), || {
            let reply: redis::RedisResult<String> = redis::cmd("SENTINEL")
                .arg("FAILOVER")
                .arg(NAME)
                .query(&mut direct(topo.sentinel_port(round % 3)));
            reply.is_ok()
        });
        let new = topo.wait_switch(NAME, old);
        follow(&client, new);
        // The next failover promotes a replica of this master: one that has caught up with
        // it, or the writes it lacks would be lost to any client.
        wait_for("a replica in sync", Duration::from_secs(20), || {
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query(&mut direct(new))
                .unwrap_or_default();
            info.lines()
                .any(|l| l.starts_with("slave") && l.contains("state=online"))
        });
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let results: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let last = client.master_addr(NAME).unwrap().port;
    let mut conn = direct(last);
    let mut lost = 0;
    for (w, (acked, _, _)) in results.iter().enumerate() {
        let stored: Vec<u64> = redis::cmd("LRANGE")
            .arg(format!("acked:{w}"))
            .arg(0)
            .arg(-1)
            .query(&mut conn)
            .unwrap();
        let stored: std::collections::HashSet<u64> = stored.into_iter().collect();
        lost += acked.iter().filter(|seq| !stored.contains(seq)).count();
    }
    let ended: Vec<&String> = results.iter().flat_map(|r| r.1.iter()).collect();
    let others: Vec<&String> = results.iter().flat_map(|r| r.2.iter()).collect();
    eprintln!(
        "{ROUNDS} forced failovers: acked {} lost {lost}, in flight ended {}, other errors {} {:?}",
        results.iter().map(|r| r.0.len()).sum::<usize>(),
        ended.len(),
        others.len(),
        others.iter().take(3).collect::<Vec<_>>()
    );
    assert_eq!(client.failovers_seen(NAME).unwrap(), ROUNDS as u64);
    assert!(ended.is_empty(), "commands in flight were ended: {ended:?}");
    assert_eq!(lost, 0, "acknowledged writes lost");
}
