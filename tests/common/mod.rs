//! A real topology for Rust tests, started and stopped by `tests/topology.py`.
#![allow(dead_code)]

pub mod writers;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use redis_sentinel::{Client, Config, SentinelAddr};

pub struct Topology {
    dir: PathBuf,
    vars: HashMap<String, String>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/topology.py")
}

fn run(args: &[&str]) -> HashMap<String, String> {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "topology.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

impl Topology {
    /// Starts masters named `names`, each with `replicas` replicas, and `sentinels` sentinels.
    pub fn start(names: &[&str], replicas: usize, sentinels: usize) -> Topology {
        Self::start_with(names, replicas, sentinels, &[])
    }

    /// Like `start`, with extra `topology.py up` arguments.
    pub fn start_with(
        names: &[&str],
        replicas: usize,
        sentinels: usize,
        extra: &[&str],
    ) -> Topology {
        static SEQ: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "redis-sentinel-rs-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let dir_str = dir.to_str().unwrap().to_owned();
        // A guard first, so a start that fails halfway still stops what it started.
        let mut topo = Topology {
            dir,
            vars: HashMap::new(),
        };
        let (names, replicas, sentinels) =
            (names.join(","), replicas.to_string(), sentinels.to_string());
        let mut args = vec!["up", "--dir", &dir_str, "--names", &names];
        args.extend(["--replicas", &replicas, "--sentinels", &sentinels]);
        args.extend_from_slice(extra);
        topo.vars = run(&args);
        topo
    }

    pub fn dir(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    pub fn sentinel_addr(&self) -> &str {
        &self.vars["SENTINEL_ADDR"]
    }

    pub fn sentinel_socket(&self) -> &str {
        &self.vars["SENTINEL_SOCKET"]
    }

    pub fn master_port(&self, name: &str) -> u16 {
        self.vars[&format!("MASTER_PORT_{name}")].parse().unwrap()
    }

    pub fn replica_ports(&self, name: &str) -> Vec<u16> {
        self.vars[&format!("REPLICA_PORTS_{name}")]
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|p| p.parse().unwrap())
            .collect()
    }

    /// Forces a failover and waits until every sentinel agrees; returns (old port, new port).
    pub fn failover(&self, name: &str) -> (u16, u16) {
        let vars = run(&["failover", "--dir", self.dir(), "--name", name]);
        (
            vars["OLD_PORT"].parse().unwrap(),
            vars["NEW_PORT"].parse().unwrap(),
        )
    }

    /// Sends KILL (and waits for the exit), STOP or CONT to the server on `port`.
    pub fn signal(&self, port: u16, sig: &str) {
        run(&[
            "signal",
            "--dir",
            self.dir(),
            "--port",
            &port.to_string(),
            "--sig",
            sig,
        ]);
    }

    /// Waits until every live sentinel names a master other than `old_port`; returns its port.
    pub fn wait_switch(&self, name: &str, old_port: u16) -> u16 {
        let vars = run(&[
            "wait-switch",
            "--dir",
            self.dir(),
            "--name",
            name,
            "--old-port",
            &old_port.to_string(),
        ]);
        vars["NEW_PORT"].parse().unwrap()
    }

    /// Starts a forced failover without waiting for it.
    pub fn start_failover(&self, name: &str, sentinel_index: usize) {
        let port: u16 = self.vars["SENTINEL_PORTS"]
            .split(',')
            .nth(sentinel_index)
            .unwrap()
            .parse()
            .unwrap();
        let reply: String = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(name)
            .query(&mut direct(port))
            .unwrap();
        assert_eq!(reply, "OK");
    }

    pub fn sentinel_port(&self, index: usize) -> u16 {
        self.vars["SENTINEL_PORTS"]
            .split(',')
            .nth(index)
            .unwrap()
            .parse()
            .unwrap()
    }

    pub fn kill_sentinel(&self, index: usize) {
        run(&[
            "kill-sentinel",
            "--dir",
            self.dir(),
            "--index",
            &index.to_string(),
        ]);
    }

    pub fn restart_sentinel(&self, index: usize) {
        run(&[
            "restart-sentinel",
            "--dir",
            self.dir(),
            "--index",
            &index.to_string(),
        ]);
    }

    pub fn config(&self, names: &[&str], pool_size: u32) -> Config {
        let addr = SentinelAddr::parse("tcp", self.sentinel_addr()).unwrap();
        let mut config = Config::new(
            addr,
            names.iter().map(|s| s.to_string()).collect(),
            pool_size,
        );
        config.pool_wait = Duration::from_secs(2);
        config
    }

    pub fn client(&self, names: &[&str], pool_size: u32) -> Client {
        Client::new(self.config(names, pool_size)).expect("client starts")
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = Command::new("python3")
            .arg(script())
            .args(["down", "--dir", self.dir()])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A direct connection to a server, bypassing the client under test.
pub fn direct(port: u16) -> redis::Connection {
    direct_at("127.0.0.1", port)
}

/// [`direct`] through the server's address `host`.
pub fn direct_at(host: &str, port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://{host}:{port}/")).unwrap();
    client
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap()
}

/// Polls `check` every 10 ms until it holds, failing after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

/// Waits until `count` sentinel links are up, naming the last link error on timeout.
pub fn wait_links(client: &Client, count: usize, limit: Duration) {
    let start = Instant::now();
    while client.sentinels_up() != count {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {count} sentinel links (up: {}, last error: {:?})",
            client.sentinels_up(),
            client.last_sentinel_error()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Number of threads of this process.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}
