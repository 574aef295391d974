//! The safe Rust client against real redis-server and redis-sentinel processes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{direct, thread_count, wait_for, wait_links, Topology};
use redis::ConnectionLike;
use redis_sentinel::{Client, Config, Conn, ErrorKind, SentinelAddr, Value};

fn cmd(conn: &mut Conn, args: &[&str]) -> redis_sentinel::Result<Value> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    conn.command(&args)
}

fn client_id(conn: &mut Conn) -> i64 {
    match cmd(conn, &["CLIENT", "ID"]).unwrap() {
        Value::Int(id) => id,
        other => panic!("CLIENT ID gave {other:?}"),
    }
}

fn role(conn: &mut Conn) -> String {
    match cmd(conn, &["ROLE"]).unwrap() {
        Value::Array(items) => match &items[0] {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn commands_errors_and_connection_reuse() {
    let topo = Topology::start(&["alpha", "beta"], 1, 1);
    let client = topo.client(&["alpha", "beta"], 1);
    assert_eq!(
        client.master_addr("alpha").unwrap().port,
        topo.master_port("alpha")
    );
    assert_eq!(
        client.master_addr("beta").unwrap().port,
        topo.master_port("beta")
    );

    let mut conn = client.get_master("alpha").unwrap();
    assert_eq!(conn.addr().port, topo.master_port("alpha"));
    assert_eq!(
        conn.command(&[b"SET", b"bin\0key", b"v\0\r\nx"]).unwrap(),
        Value::Okay
    );
    assert_eq!(
        conn.command(&[b"GET", b"bin\0key"]).unwrap(),
        Value::BulkString(b"v\0\r\nx".to_vec())
    );
    assert_eq!(cmd(&mut conn, &["GET", "missing"]).unwrap(), Value::Nil);
    let id = client_id(&mut conn);

    // An ordinary error reply keeps the connection.
    let err = cmd(&mut conn, &["NOSUCHCOMMAND"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.message().starts_with("ERR"), "{}", err.message());
    client.carefully_put_master(conn, Some(&err));
    let mut conn = client.get_master("alpha").unwrap();
    assert_eq!(
        client_id(&mut conn),
        id,
        "SERVER error must keep the connection"
    );

    // READONLY closes it.
    let err = cmd(
        &mut conn,
        &[
            "EVAL",
            "return redis.error_reply('READONLY fake replica')",
            "0",
        ],
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly);
    assert!(err.is_readonly());
    client.carefully_put_master(conn, Some(&err));
    let mut conn = client.get_master("alpha").unwrap();
    let id2 = client_id(&mut conn);
    assert_ne!(id2, id, "READONLY must close the connection");

    // A connection killed by the server fails with IO and is not reused, even by plain put.
    direct(topo.master_port("alpha"))
        .req_command(redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id2))
        .unwrap();
    let err = cmd(&mut conn, &["PING"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(conn.is_broken());
    client.put_master(conn);
    let mut conn = client.get_master("alpha").unwrap();
    assert_ne!(client_id(&mut conn), id2);

    // Pool of one: a second checkout waits and then times out.
    let started = std::time::Instant::now();
    let err = client.get_master("alpha").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PoolTimeout, "{err}");
    assert!(started.elapsed() >= Duration::from_millis(1900));
    assert!(err.message().contains("alpha"), "{}", err.message());
    client.put_master(conn);

    // Names the client was not given.
    assert_eq!(
        client.get_master("gamma").unwrap_err().kind(),
        ErrorKind::UnknownMaster
    );
    let mut beta = client.get_master("beta").unwrap();
    assert_eq!(beta.addr().port, topo.master_port("beta"));
    assert_eq!(role(&mut beta), "master");
    drop(beta);

    // A name the sentinel does not monitor.
    let err = Client::new(topo.config(&["alpha", "nope"], 1))
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::UnknownMaster);
    assert!(err.message().contains("nope"));

    // Nested error replies stay values.
    let mut conn = client.get_master("alpha").unwrap();
    cmd(&mut conn, &["SET", "str", "x"]).unwrap();
    cmd(&mut conn, &["MULTI"]).unwrap();
    cmd(&mut conn, &["INCR", "str"]).unwrap();
    cmd(&mut conn, &["SET", "other", "1"]).unwrap();
    match cmd(&mut conn, &["EXEC"]).unwrap() {
        Value::Array(items) => {
            assert!(matches!(items[0], Value::ServerError(_)), "{items:?}");
            assert_eq!(items[1], Value::Okay);
        }
        other => panic!("{other:?}"),
    }
    client.put_master(conn);
    client.close();
    assert_eq!(
        client.get_master("alpha").unwrap_err().kind(),
        ErrorKind::Closed
    );
}

#[test]
fn eight_threads_count_exactly_and_close_leaves_nothing() {
    let topo = Topology::start(&["mymaster"], 0, 1);
    let threads_before = thread_count();
    let client = Arc::new(topo.client(&["mymaster"], 4));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                for _ in 0..2000 {
                    let mut conn = client.get_master("mymaster").unwrap();
                    let result = cmd(&mut conn, &["INCR", "counter"]);
                    client.carefully_put_master(conn, result.as_ref().err());
                    result.unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut conn = client.get_master("mymaster").unwrap();
    assert_eq!(
        cmd(&mut conn, &["GET", "counter"]).unwrap(),
        Value::BulkString(b"16000".to_vec())
    );
    assert!(client.pool_state("mymaster").unwrap().0 <= 4);
    drop(conn);
    client.close();
    client.close(); // twice is a no-op
    wait_for("threads to end", Duration::from_secs(2), || {
        thread_count() <= threads_before
    });
    let mut direct = direct(topo.master_port("mymaster"));
    let clients: String = redis::cmd("CLIENT").arg("LIST").query(&mut direct).unwrap();
    let ours = clients
        .lines()
        .filter(|l| !l.contains(" name=sentinel-"))
        .count();
    assert_eq!(ours, 1, "only our direct connection remains:\n{clients}");
}

#[test]
fn close_is_prompt() {
    let topo = Topology::start(&["mymaster"], 0, 1);
    let client = topo.client(&["mymaster"], 2);
    wait_links(&client, 1, Duration::from_secs(5));
    let started = std::time::Instant::now();
    client.close();
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "close took {:?}",
        started.elapsed()
    );
}

#[test]
fn forced_failover_is_followed_and_old_conns_are_dropped() {
    let topo = Topology::start(&["mymaster"], 2, 3);
    let client = topo.client(&["mymaster"], 4);
    wait_links(&client, 3, Duration::from_secs(10));
    let mut before = client.get_master("mymaster").unwrap();
    let before_id = client_id(&mut before);
    let (old, new) = topo.failover("mymaster");
    assert_eq!(old, topo.master_port("mymaster"));
    let took = wait_for("client to follow", Duration::from_secs(10), || {
        client.master_addr("mymaster").unwrap().port == new
    });
    eprintln!("client followed the failover {took:?} after sentinels agreed");
    assert!(before.is_stale());
    // A conn from before the switch refuses to write to the old master: READONLY, not sent.
    let err = cmd(&mut before, &["SET", "k", "lost?"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReadOnly, "{err}");
    assert!(err.is_readonly());
    client.carefully_put_master(before, Some(&err));
    for _ in 0..6 {
        let mut conn = client.get_master("mymaster").unwrap();
        assert_eq!(conn.addr().port, new);
        assert_eq!(role(&mut conn), "master");
        assert_ne!(client_id(&mut conn), before_id);
        client.put_master(conn);
    }
    // The conn taken before the switch was closed, not parked in any pool.
    let mut old_master = direct(old);
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut old_master)
        .unwrap();
    assert!(
        !list.contains(&format!("id={before_id} ")),
        "old conn still open:\n{list}"
    );
    assert_eq!(client.failovers_seen("mymaster").unwrap(), 1);
}

#[test]
fn sentinel_restart_keeps_commands_working() {
    let topo = Topology::start(&["mymaster"], 0, 1);
    let client = topo.client(&["mymaster"], 2);
    wait_links(&client, 1, Duration::from_secs(5));
    topo.kill_sentinel(0);
    wait_links(&client, 0, Duration::from_secs(5));
    for i in 0..50 {
        let mut conn = client.get_master("mymaster").unwrap();
        cmd(&mut conn, &["SET", "k", &i.to_string()]).unwrap();
        client.put_master(conn);
    }
    topo.restart_sentinel(0);
    wait_links(&client, 1, Duration::from_secs(10));
    let mut conn = client.get_master("mymaster").unwrap();
    assert_eq!(
        cmd(&mut conn, &["GET", "k"]).unwrap(),
        Value::BulkString(b"49".to_vec())
    );
}

#[test]
fn unix_socket_sentinel_and_no_sentinel() {
    let topo = Topology::start(&["mymaster"], 0, 1);
    let addr = SentinelAddr::parse("unix", topo.sentinel_socket()).unwrap();
    let client = Client::new(Config::new(addr, vec!["mymaster".into()], 1)).unwrap();
    let mut conn = client.get_master("mymaster").unwrap();
    assert_eq!(
        cmd(&mut conn, &["PING"]).unwrap(),
        Value::SimpleString("PONG".into())
    );
    drop(conn);
    client.close();

    let nobody = SentinelAddr::parse("tcp", "127.0.0.1:1").unwrap();
    let err = Client::new(Config::new(nobody, vec!["mymaster".into()], 1))
        .err()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Sentinel);
    assert!(err.is_sentinel());
    assert!(err.message().contains("127.0.0.1:1"), "{}", err.message());
}

#[test]
fn waits_on_the_server_get_their_own_timeout_and_close_ends_them() {
    let topo = Topology::start(&["mymaster"], 0, 1);
    let mut config = topo.config(&["mymaster"], 2);
    config.read_timeout = Duration::from_millis(100);
    let client = Arc::new(Client::new(config).unwrap());

    // Appended commands are allowed the longest wait among them.
    let mut conn = client.get_master("mymaster").unwrap();
    conn.append(&[b"BLPOP", b"nothing", b"0.3"]).unwrap();
    conn.append(&[b"PING"]).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(conn.get_reply().unwrap(), Value::Nil);
    assert_eq!(
        conn.get_reply().unwrap(),
        Value::SimpleString("PONG".into())
    );
    assert!(started.elapsed() >= Duration::from_millis(280));
    client.put_master(conn);

    // Timeout 0 waits until woken: here by close, which must not wait for it.
    let waiter = {
        let client = client.clone();
        std::thread::spawn(move || {
            let mut conn = client.get_master("mymaster").unwrap();
            cmd(&mut conn, &["BLPOP", "nothing", "0"]).unwrap_err()
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let started = std::time::Instant::now();
    client.close();
    let err = waiter.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.message().contains("interrupted"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}
