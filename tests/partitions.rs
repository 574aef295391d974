//! Network faults: a host that vanishes and partitions, made with nftables on loopback (run as
//! root; `make test-partitions`). Every server listens on 127.0.0.1-4 (topology.py
//! `--partitionable`): the servers talk among themselves on .1, the client reaches data nodes
//! on .2 and sentinels on .3 (its address map rewrites what the sentinels report), and the
//! test observes on .4. A cut drops every packet to and from one address and port in an
//! nftables table of the test's own, so established connections go silent and connects get no
//! answer, as when a host dies or a link is cut. Each cut is checked to work before the run is
//! trusted, and each table is deleted when its test ends, passed or failed.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::writers::{
    lost_only_before, missing_writes, print_report, Report, Writers, NAME, REPLICATION_LAG,
};
use common::{wait_for, wait_links, Topology};
use redis_sentinel::{AddressMap, Client, ClientEvent, Config, EventHook, NodeAddr, SentinelAddr};

const SERVERS: &str = "127.0.0.1";
const DATA: &str = "127.0.0.2";
const SENTINELS: &str = "127.0.0.3";
const OBSERVER: &str = "127.0.0.4";

/// nftables tables of this suite are named with this prefix, the pid and a sequence number.
const TABLE_PREFIX: &str = "rst_partition_";

/// Packets to and from some `address:port`s dropped, until this drops.
struct Cut {
    table: String,
    /// When the rules went in (before they were checked).
    at: Instant,
}

impl Cut {
    fn new(paths: &[(&str, u16)]) -> Cut {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        remove_tables_of_dead_runs();
        let table = format!(
            "{TABLE_PREFIX}{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut rules = String::new();
        for (addr, port) in paths {
            assert!(addr.starts_with("127."), "cuts stay on loopback: {addr}");
            rules += &format!("    ip daddr {addr} tcp dport {port} drop\n");
            rules += &format!("    ip saddr {addr} tcp sport {port} drop\n");
        }
        let script = format!(
            "table ip {table} {{\n  chain out {{\n    type filter hook output priority 0; policy accept;\n{rules}  }}\n}}\n"
        );
        nft(&["-f", "-"], Some(&script));
        let cut = Cut {
            table,
            at: Instant::now(),
        };
        for (addr, port) in paths {
            let to: SocketAddr = format!("{addr}:{port}").parse().unwrap();
            assert!(
                TcpStream::connect_timeout(&to, Duration::from_millis(200)).is_err(),
                "the cut of {to} does not hold: a connect got through"
            );
        }
        cut
    }

    fn heal(self) {}
}

impl Drop for Cut {
    fn drop(&mut self) {
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &self.table])
            .status();
    }
}

fn nft(args: &[&str], input: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("nft")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nft runs (apt-get install nftables; the partition tests run as root)");
    if let Some(input) = input {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nft {args:?} failed (the partition tests need root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Deletes the tables a killed run of this suite left behind (its pid is gone); never another
/// live run's.
fn remove_tables_of_dead_runs() {
    for line in nft(&["list", "tables"], None).lines() {
        let Some(table) = line.strip_prefix("table ip ") else {
            continue;
        };
        let Some(rest) = table.strip_prefix(TABLE_PREFIX) else {
            continue;
        };
        let pid = rest.split('_').next().unwrap_or("");
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("nft")
                .args(["delete", "table", "ip", table])
                .status();
        }
    }
}

/// A topology whose servers listen on every address of the suite.
fn topology(replicas: usize) -> Topology {
    Topology::start_with(&[NAME], replicas, 3, &["--partitionable"])
}

/// What the client saw of the failover.
#[derive(Default)]
struct Seen {
    switched_at: Option<Instant>,
    fenced_at: Option<Instant>,
}

/// A client that dials data nodes on .2 and sentinels on .3, whatever the sentinels report.
/// With `durable`, a write is acknowledged only once a replica has it (`wait_replicas` 1).
fn client(
    topo: &Topology,
    connect_timeout: Duration,
    durable: bool,
    seen: &Arc<Mutex<Seen>>,
) -> Arc<Client> {
    let sentinel_ports: Vec<u16> = (0..3).map(|i| topo.sentinel_port(i)).collect();
    let sentinel =
        SentinelAddr::parse("tcp", &format!("{SENTINELS}:{}", sentinel_ports[0])).unwrap();
    let mut config = Config::new(sentinel, vec![NAME.to_owned()], 8);
    config.read_timeout = Duration::from_secs(1);
    config.connect_timeout = connect_timeout;
    config.pool_wait = Duration::from_secs(2);
    config.wait_replicas = u32::from(durable);
    config.address_map = Some(AddressMap(Arc::new(move |addr: &NodeAddr| {
        let host = if sentinel_ports.contains(&addr.port) {
            SENTINELS
        } else {
            DATA
        };
        Some(NodeAddr::new(host.to_owned(), addr.port))
    })));
    let seen = seen.clone();
    config.on_event = Some(EventHook(Arc::new(move |event| {
        let mut seen = seen.lock().unwrap();
        match event {
            ClientEvent::MasterSwitched { old: Some(_), .. } => {
                seen.switched_at.get_or_insert_with(Instant::now);
            }
            ClientEvent::FenceRaised { .. } => {
                seen.fenced_at.get_or_insert_with(Instant::now);
            }
            _ => {}
        }
    })));
    let client = Arc::new(Client::new(config).unwrap());
    wait_links(&client, 3, Duration::from_secs(10));
    client
}

/// A fresh partitionable topology, its client, and two writers under way.
struct Run {
    topo: Topology,
    old: u16,
    seen: Arc<Mutex<Seen>>,
    client: Arc<Client>,
    writers: Writers,
}

impl Run {
    fn start(connect_timeout: Duration, durable: bool) -> Run {
        let topo = topology(2);
        let old = topo.master_port(NAME);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let client = client(&topo, connect_timeout, durable, &seen);
        let writers = Writers::start(&client, 2);
        std::thread::sleep(Duration::from_millis(300));
        Run {
            topo,
            old,
            seen,
            client,
            writers,
        }
    }
}

fn follow(client: &Client, new: u16) {
    wait_for("the client to follow", Duration::from_secs(10), || {
        client.master_addr(NAME).unwrap().port == new
    });
}

fn sentinel_paths(topo: &Topology) -> Vec<(&'static str, u16)> {
    (0..3).map(|i| (SENTINELS, topo.sentinel_port(i))).collect()
}

/// The first acknowledgement at or after `at`.
fn first_ack_after(report: &Report, at: Instant) -> Duration {
    report
        .acks
        .iter()
        .find(|ack| **ack >= at)
        .map(|ack| *ack - at)
        .expect("writes after the switch")
}

/// The master's host vanishes: every packet to it is dropped, on every path. The client must
/// write on the new master right after it switches, whatever its connect timeout: no connect
/// to the dead node may hold up the new master's.
fn dead_master(connect_timeout: Duration) {
    let Run {
        topo,
        old,
        seen,
        client,
        writers,
    } = Run::start(connect_timeout, false);
    let cut = Cut::new(&[(SERVERS, old), (DATA, old), (OBSERVER, old)]);
    let cut_at = cut.at;
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(500));
    let report = writers.stop();
    // Healed only now: the dead node stays dead for the whole run.
    cut.heal();
    let lost = lost_only_before(&report, OBSERVER, new, cut_at);
    let switched_at = seen
        .lock()
        .unwrap()
        .switched_at
        .expect("the client switched");
    let first_write = first_ack_after(&report, switched_at);
    print_report(
        &format!("dead master, connect timeout {connect_timeout:?}"),
        &report,
        lost,
    );
    eprintln!(
        "switched {:?} after the cut, first write on the new master {:?} after the switch",
        switched_at - cut_at,
        first_write
    );
    // The target is 50 ms (make bench-failover measures it); the bound here leaves room for a
    // loaded machine and still fails the old behaviour (0.7-4.8 s behind connects to the
    // dead node).
    assert!(
        first_write < Duration::from_millis(300),
        "the first write on the new master came {first_write:?} after the switch"
    );
    assert!(
        report.longest_pause < switched_at - cut_at + Duration::from_millis(500),
        "a writer paused {:?}, the switch came {:?} after the cut",
        report.longest_pause,
        switched_at - cut_at
    );
}

#[test]
#[ignore = "needs root and nftables: make test-partitions"]
fn a_dead_master_costs_no_more_than_the_failover() {
    dead_master(Duration::from_secs(1));
}

#[test]
#[ignore = "needs root and nftables: make test-partitions"]
fn a_dead_master_costs_no_more_than_the_failover_with_a_long_connect_timeout() {
    dead_master(Duration::from_secs(3));
}

/// The client and the master are cut off together from the sentinels and the replicas, for 8 s,
/// then the cut heals. The master acknowledges writes throughout; the sentinels promote a
/// replica meanwhile, and the heal demotes the old master: what it acknowledged during the cut
/// is gone, for any client (durable writes are the answer). The client must be on the new
/// master right after the heal, and have lost nothing acknowledged before the cut.
#[test]
#[ignore = "needs root and nftables: make test-partitions"]
fn client_and_master_cut_off_together_follow_the_failover_at_the_heal() {
    cut_off_together(false);
}

/// The same with durable writes: no acknowledged write is lost at all (the master cut off
/// from its replicas cannot have one confirmed).
#[test]
#[ignore = "needs root and nftables: make test-partitions"]
fn client_and_master_cut_off_together_lose_no_durable_write() {
    cut_off_together(true);
}

fn cut_off_together(durable: bool) {
    let Run {
        topo,
        old,
        seen: _,
        client,
        writers,
    } = Run::start(Duration::from_secs(1), durable);
    let replicas = topo.replica_ports(NAME);
    let mut paths = vec![(SERVERS, old)];
    paths.extend(sentinel_paths(&topo));
    paths.extend(replicas.iter().map(|&port| (DATA, port)));
    let cut = Cut::new(&paths);
    let cut_at = cut.at;
    let new = topo.wait_switch(NAME, old);
    let remaining = Duration::from_secs(8).saturating_sub(cut_at.elapsed());
    std::thread::sleep(remaining);
    cut.heal();
    let healed_at = Instant::now();
    let followed = wait_for("the client to follow", Duration::from_secs(15), || {
        client.master_addr(NAME).unwrap().port == new
    });
    std::thread::sleep(Duration::from_millis(500));
    let report = writers.stop();
    let missing = missing_writes(&report, OBSERVER, new);
    // What the master acknowledged just before the cut may not have reached a replica yet.
    let early = missing
        .iter()
        .filter(|at| **at + REPLICATION_LAG < cut_at)
        .count();
    let after_heal = missing
        .iter()
        .filter(|at| **at > healed_at + followed + Duration::from_millis(50))
        .count();
    print_report(
        &format!("client and master cut off, 8 s, durable {durable}"),
        &report,
        missing.len() as i64,
    );
    eprintln!("followed {followed:?} after the heal");
    if durable {
        assert!(missing.is_empty(), "{} durable writes lost", missing.len());
    }
    assert_eq!(
        early, 0,
        "writes acknowledged well before the cut were lost"
    );
    assert_eq!(
        after_heal, 0,
        "writes acknowledged after the client followed were lost"
    );
    assert!(
        followed < Duration::from_secs(5),
        "the client stayed on the old master {followed:?} after the heal"
    );
}

/// The master is cut off from the sentinels and the replicas; the client reaches everything.
/// What the master acknowledges between the cut and the client's fence is lost (it never
/// reached a replica); after the fence nothing more may be acknowledged there.
#[test]
#[ignore = "needs root and nftables: make test-partitions"]
fn a_master_cut_off_from_its_replicas_acknowledges_nothing_after_the_fence() {
    master_cut_off(false);
}

/// The same with durable writes: nothing acknowledged is lost at all.
#[test]
#[ignore = "needs root and nftables: make test-partitions"]
fn a_master_cut_off_from_its_replicas_loses_no_durable_write() {
    master_cut_off(true);
}

fn master_cut_off(durable: bool) {
    let Run {
        topo,
        old,
        seen,
        client,
        writers,
    } = Run::start(Duration::from_secs(1), durable);
    let cut = Cut::new(&[(SERVERS, old)]);
    let cut_at = cut.at;
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    cut.heal();
    let fenced_at = seen.lock().unwrap().fenced_at.expect("the client fenced");
    let missing = missing_writes(&report, OBSERVER, new);
    // What the master acknowledged just before the cut may not have reached a replica yet.
    let early = missing
        .iter()
        .filter(|at| **at + REPLICATION_LAG < cut_at)
        .count();
    let after_fence = missing
        .iter()
        .filter(|at| **at > fenced_at + Duration::from_millis(100))
        .count();
    print_report(
        &format!("master cut off from sentinels and replicas, durable {durable}"),
        &report,
        missing.len() as i64,
    );
    eprintln!("fenced {:?} after the cut", fenced_at - cut_at);
    if durable {
        assert!(missing.is_empty(), "{} durable writes lost", missing.len());
    }
    assert_eq!(
        early, 0,
        "writes acknowledged well before the cut were lost"
    );
    assert_eq!(
        after_fence, 0,
        "writes acknowledged after the fence were lost"
    );
}

/// The client loses every sentinel (the data nodes stay reachable): writes go on without a
/// pause, and after the heal the client hears of the next failover and follows it.
#[test]
#[ignore = "needs root and nftables: make test-partitions"]
fn a_client_cut_off_from_the_sentinels_keeps_writing_and_follows_after_the_heal() {
    let Run {
        topo,
        old,
        seen: _,
        client,
        writers,
    } = Run::start(Duration::from_secs(1), false);
    let cut = Cut::new(&sentinel_paths(&topo));
    let cut_at = cut.at;
    wait_for(
        "the sentinel links to drop",
        Duration::from_secs(10),
        || client.sentinels_up() == 0,
    );
    std::thread::sleep(Duration::from_secs(1));
    cut.heal();
    let cut_for = cut_at.elapsed();
    wait_links(&client, 3, Duration::from_secs(10));
    let relinked = cut_at.elapsed() - cut_for;
    let report_cut = writers.stop();
    print_report("client cut off from the sentinels", &report_cut, 0);
    eprintln!("links back {relinked:?} after the heal");
    assert!(
        report_cut.longest_gap < Duration::from_millis(200),
        "writes paused {:?} while the sentinels were cut off",
        report_cut.longest_gap
    );
    // The second run's writers start their sequences again: on empty lists.
    let _: () = redis::cmd("DEL")
        .arg("acked:0")
        .arg("acked:1")
        .query(&mut common::direct_at(OBSERVER, old))
        .unwrap();
    let writers = Writers::start(&client, 2);
    std::thread::sleep(Duration::from_millis(200));
    topo.start_failover(NAME, 0);
    let new = topo.wait_switch(NAME, old);
    follow(&client, new);
    std::thread::sleep(Duration::from_millis(300));
    let report = writers.stop();
    let missing = missing_writes(&report, OBSERVER, new);
    print_report(
        "forced failover after the heal",
        &report,
        missing.len() as i64,
    );
    assert!(missing.is_empty(), "acknowledged writes lost");
}

/// Twenty masters on one client, one of them on a host that vanishes: the other nineteen see
/// no pause (their callers never wait behind connects to the dead node), and the dead one's
/// callers move on at its failover.
#[test]
#[ignore = "needs root and nftables: make test-partitions"]
fn one_dead_master_among_twenty_pauses_none_of_the_others() {
    let names: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let topo = Topology::start_with(&name_refs, 1, 3, &["--partitionable"]);
    let sentinel_ports: Vec<u16> = (0..3).map(|i| topo.sentinel_port(i)).collect();
    let sentinel =
        SentinelAddr::parse("tcp", &format!("{SENTINELS}:{}", sentinel_ports[0])).unwrap();
    let mut config = Config::new(sentinel, names.clone(), 4);
    config.read_timeout = Duration::from_secs(1);
    config.connect_timeout = Duration::from_secs(3);
    config.address_map = Some(AddressMap(Arc::new(move |addr: &NodeAddr| {
        let host = if sentinel_ports.contains(&addr.port) {
            SENTINELS
        } else {
            DATA
        };
        Some(NodeAddr::new(host.to_owned(), addr.port))
    })));
    let client = Arc::new(Client::new(config).unwrap());
    wait_links(&client, 3, Duration::from_secs(10));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Two threads per master, so one can hold a conn stuck on the dead node while the other
    // asks for a new one.
    let writers: Vec<_> = (0..names.len() * 2)
        .map(|i| {
            let (client, stop, name) = (client.clone(), stop.clone(), names[i / 2].clone());
            std::thread::spawn(move || {
                // Every pause of 20 ms or more: (length, when it began).
                let mut pauses = Vec::new();
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut conn) = client.get_master(&name) else {
                        continue;
                    };
                    let result = conn.command(&[b"INCR", b"k"]);
                    if result.is_ok() {
                        if last.elapsed() >= Duration::from_millis(20) {
                            pauses.push((last.elapsed(), last));
                        }
                        last = Instant::now();
                    }
                    client.carefully_put_master(conn, result.as_ref().err());
                }
                pauses.push((last.elapsed(), last));
                (name, pauses)
            })
        })
        .collect();
    // As long a window before the cut as after it: the pauses a loaded machine makes anyway.
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(4000));
    let dead = topo.master_port("m0");
    let cut = Cut::new(&[(SERVERS, dead), (DATA, dead), (OBSERVER, dead)]);
    let cut_at = cut.at;
    let new = topo.wait_switch("m0", dead);
    wait_for("the client to follow m0", Duration::from_secs(10), || {
        client.master_addr("m0").unwrap().port == new
    });
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let ended = cut_at.elapsed();
    let pauses: Vec<(String, Vec<(Duration, Instant)>)> =
        writers.into_iter().map(|w| w.join().unwrap()).collect();
    cut.heal();
    // The longest pause of the healthy masters' writers, before the cut (from their warm-up
    // on) and after it.
    let longest = |masters: &dyn Fn(&str) -> bool, after_cut: bool| {
        pauses
            .iter()
            .filter(|(name, _)| masters(name))
            .flat_map(|(_, pauses)| pauses.iter())
            .filter(|(_, from)| (*from >= cut_at) == after_cut && *from > started)
            .map(|(pause, _)| *pause)
            .max()
            .unwrap_or_default()
    };
    let healthy = |name: &str| name != "m0";
    let (before, after) = (longest(&healthy, false), longest(&healthy, true));
    let dead_pause = longest(&|name| name == "m0", false).max(longest(&|name| name == "m0", true));
    eprintln!(
        "twenty masters, one dead: longest pause of a healthy master's writer {after:?} in the {ended:?} after the cut, {before:?} in the 4 s before; of the dead one's {dead_pause:?}"
    );
    // No pause beyond what the machine makes anyway (40 writers and 43 servers on two
    // cores); the old shared connect threads held every pool's connects for the dead node's
    // connect timeout (3 s).
    assert!(
        after < before + Duration::from_millis(500),
        "a healthy master's writer paused {after:?} after the cut, {before:?} at most before"
    );
}
