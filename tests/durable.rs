//! Durable writes (`Config::wait_replicas`) against real servers: WAIT after writes only, one
//! per request, and NotReplicated, on a conn that stays usable, when the replicas are stopped.

mod common;

use std::time::{Duration, Instant};

use common::Topology;
use redis_sentinel::{Client, Conn, ErrorKind, Value};

const NAME: &str = "durable";

fn cmd(conn: &mut Conn, args: &[&str]) -> redis_sentinel::Result<Value> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    conn.command(&args)
}

/// How many WAITs the server on `port` has run, from `INFO commandstats`.
fn waits(port: u16) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut common::direct(port))
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_wait:calls="))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

fn durable_client(topo: &Topology, replicas: u32, timeout: Duration) -> Client {
    let mut config = topo.config(&[NAME], 2);
    config.wait_replicas = replicas;
    config.wait_timeout = timeout;
    Client::new(config).expect("client starts")
}

/// Resumes the stopped servers when dropped, so that a failing test leaves none stopped.
struct Stopped<'a> {
    topo: &'a Topology,
    ports: Vec<u16>,
}

impl<'a> Stopped<'a> {
    fn stop(topo: &'a Topology, ports: Vec<u16>) -> Stopped<'a> {
        let mut stopped = Stopped {
            topo,
            ports: Vec::new(),
        };
        for port in ports {
            // Noted first: a stop that failed halfway is resumed too.
            stopped.ports.push(port);
            topo.signal(port, "STOP");
        }
        stopped
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        for &port in &self.ports {
            self.topo.signal(port, "CONT");
        }
    }
}

#[test]
fn writes_wait_for_the_replicas_and_reads_never_do() {
    let topo = Topology::start(&[NAME], 2, 1);
    let master = topo.master_port(NAME);
    let client = durable_client(&topo, 1, Duration::from_secs(2));
    let mut conn = client.get_master(NAME).unwrap();
    let before = waits(master);
    assert_eq!(cmd(&mut conn, &["SET", "k", "1"]).unwrap(), Value::Okay);
    assert_eq!(cmd(&mut conn, &["incr", "k"]).unwrap(), Value::Int(2));
    assert_eq!(waits(master) - before, 2, "one WAIT per write");

    // Reads never wait.
    let before = waits(master);
    for read in [
        &["GET", "k"][..],
        &["MGET", "k", "x"],
        &["EXISTS", "k"],
        &["EVAL_RO", "return 1", "0"],
        &["PING"],
    ] {
        cmd(&mut conn, read).unwrap();
    }
    let reads: Vec<Vec<&[u8]>> = vec![vec![b"GET", b"k"], vec![b"TTL", b"k"]];
    let reads: Vec<&[&[u8]]> = reads.iter().map(Vec::as_slice).collect();
    conn.pipeline(&reads).unwrap();
    assert_eq!(waits(master), before, "no WAIT for reads");

    // A pipeline of 10 writes: one WAIT, and exactly the caller's 10 replies.
    let before = waits(master);
    let incr: &[&[u8]] = &[b"INCR", b"n"];
    let replies = conn.pipeline(&[incr; 10]).unwrap();
    assert_eq!(replies, (1..=10).map(Value::Int).collect::<Vec<_>>());
    assert_eq!(
        waits(master) - before,
        1,
        "one WAIT for a pipeline of 10 writes"
    );

    // Appended commands: one WAIT for the batch, the replies one by one.
    let before = waits(master);
    for _ in 0..3 {
        conn.append(incr).unwrap();
    }
    conn.append(&[b"GET", b"n"]).unwrap();
    assert_eq!(conn.get_reply().unwrap(), Value::Int(11));
    assert_eq!(conn.get_reply().unwrap(), Value::Int(12));
    assert_eq!(conn.get_reply().unwrap(), Value::Int(13));
    assert_eq!(conn.get_reply().unwrap(), Value::BulkString(b"13".to_vec()));
    assert_eq!(waits(master) - before, 1, "one WAIT for the appended batch");

    // MULTI/EXEC: nothing inside the transaction, one WAIT after EXEC.
    let before = waits(master);
    assert_eq!(cmd(&mut conn, &["MULTI"]).unwrap(), Value::Okay);
    cmd(&mut conn, &["INCR", "n"]).unwrap();
    cmd(&mut conn, &["SET", "t", "x"]).unwrap();
    assert_eq!(waits(master), before, "no WAIT inside MULTI");
    assert_eq!(
        cmd(&mut conn, &["EXEC"]).unwrap(),
        Value::Array(vec![Value::Int(14), Value::Okay])
    );
    assert_eq!(waits(master) - before, 1, "one WAIT for MULTI/EXEC");
    // A transaction of reads, and one discarded: none.
    let before = waits(master);
    for command in [&["MULTI"][..], &["GET", "n"], &["EXEC"]] {
        cmd(&mut conn, command).unwrap();
    }
    for command in [&["MULTI"][..], &["SET", "n", "0"], &["DISCARD"]] {
        cmd(&mut conn, command).unwrap();
    }
    let transaction: Vec<&[&[u8]]> = vec![&[b"MULTI"], &[b"INCR", b"n"], &[b"EXEC"]];
    assert_eq!(waits(master), before);
    let replies = conn.pipeline(&transaction).unwrap();
    assert_eq!(replies.len(), 3);
    assert_eq!(replies[2], Value::Array(vec![Value::Int(15)]));
    assert_eq!(
        waits(master) - before,
        1,
        "one WAIT for a pipelined transaction"
    );

    // A blocking write waits on the server, then for the replicas, in one round trip.
    let before = waits(master);
    cmd(&mut conn, &["RPUSH", "queue", "job"]).unwrap();
    assert_eq!(
        cmd(
            &mut conn,
            &["BLMOVE", "queue", "taken", "LEFT", "RIGHT", "1"]
        )
        .unwrap(),
        Value::BulkString(b"job".to_vec())
    );
    assert_eq!(waits(master) - before, 2);
    client.put_master(conn);
    client.close();
}

#[test]
fn stopped_replicas_make_writes_not_replicated_and_keep_the_conn() {
    let topo = Topology::start(&[NAME], 2, 1);
    let timeout = Duration::from_millis(200);
    let client = durable_client(&topo, 1, timeout);
    let mut conn = client.get_master(NAME).unwrap();
    assert_eq!(cmd(&mut conn, &["SET", "k", "1"]).unwrap(), Value::Okay);
    let id = cmd(&mut conn, &["CLIENT", "ID"]).unwrap();

    let stopped = Stopped::stop(&topo, topo.replica_ports(NAME));
    let started = Instant::now();
    let err = cmd(&mut conn, &["INCR", "k"]).unwrap_err();
    let spent = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::NotReplicated, "{err}");
    assert!(
        err.message().contains(&format!(
            "master \"{NAME}\" at 127.0.0.1:{}: the write reached the master, but only 0 of the 1 \
             replica asked for confirmed it within 200 ms: it may be lost in a failover",
            topo.master_port(NAME)
        )),
        "{err}"
    );
    assert!(
        spent >= timeout && spent < timeout + Duration::from_millis(500),
        "NotReplicated after {spent:?}, not about the wait timeout"
    );
    assert!(!err.kind().breaks_connection() && !err.is_readonly() && !err.is_sentinel());
    assert!(!conn.is_broken());
    // Reads go on while the replicas are stopped, on the same conn, in step.
    assert_eq!(
        cmd(&mut conn, &["GET", "k"]).unwrap(),
        Value::BulkString(b"2".to_vec()),
        "the write did reach the master"
    );
    // A pipeline fails as a whole; its reads' replies are not handed out.
    let pipeline: Vec<&[&[u8]]> = vec![&[b"GET", b"k"], &[b"INCR", b"k"], &[b"GET", b"k"]];
    let err = conn.pipeline(&pipeline).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotReplicated);
    // A blocking pop that times out wrote nothing: its nil comes back, no error.
    assert_eq!(
        cmd(&mut conn, &["BLPOP", "empty", "0.05"]).unwrap(),
        Value::Nil
    );
    client.carefully_put_master(conn, Some(&err));

    let mut conn = client.get_master(NAME).unwrap();
    assert_eq!(
        cmd(&mut conn, &["CLIENT", "ID"]).unwrap(),
        id,
        "careful put-back kept it"
    );
    drop(stopped);
    // Resumed, the replicas catch up and confirm again.
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(err) = cmd(&mut conn, &["INCR", "probe"]) {
        assert_eq!(err.kind(), ErrorKind::NotReplicated, "{err}");
        assert!(
            Instant::now() < deadline,
            "replicas never confirmed again: {err}"
        );
    }
    // 1, then the INCR and the pipeline's INCR that were not replicated but landed.
    assert_eq!(cmd(&mut conn, &["INCR", "k"]).unwrap(), Value::Int(4));
    assert_eq!(cmd(&mut conn, &["CLIENT", "ID"]).unwrap(), id);
    client.put_master(conn);
    client.close();
}
