"""Production options: credentials, connection setup, address mapping, events and stats."""
import contextlib
import os
import re
import socket
import threading
import time

import pytest

import redis_sentinel
from redis_sentinel import Error, ErrorKind
from topology import wait_until


def test_auth_with_acl_user_and_sentinel_password(auth_topo):
    with redis_sentinel.Client("tcp", auth_topo.sentinel_addr, names=["s"], username="app",
                               password="app-secret", sentinel_password="sentinel-secret") as c:
        assert c.execute("s", "ACL", "WHOAMI") == b"app"
        with c.master("s") as conn:
            assert conn.cmd("SET", "k", 1) == "OK"
    # RESP3 logs in with HELLO 3 AUTH, selects and names the connection in the same write
    with redis_sentinel.Client("tcp", auth_topo.sentinel_addr, names=["s"], username="app",
                               password="app-secret", sentinel_password="sentinel-secret",
                               resp3=True, db=1, client_name="resp3-app") as c:
        info = c.execute("s", "CLIENT", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        assert "user=app" in text and "resp=3" in text and "db=1" in text, text
        assert "name=resp3-app" in text, text
    with redis_sentinel.Client("tcp", auth_topo.sentinel_addr, names=["s"], username="app",
                               password="wrong-pw", sentinel_password="sentinel-secret",
                               resp3=True, pool_wait=0.5) as c:
        with pytest.raises(Error) as info:
            c.execute("s", "PING")
        assert info.value.kind == ErrorKind.AUTH and "wrong-pw" not in str(info.value)


def test_refused_logins_name_the_node_and_hide_the_password(auth_topo):
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", auth_topo.sentinel_addr, names=["s"],
                              sentinel_password="wrong-sentinel-pw")
    assert info.value.kind == ErrorKind.AUTH
    assert auth_topo.sentinel_addr in str(info.value)
    assert "wrong-sentinel-pw" not in str(info.value)
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", auth_topo.sentinel_addr, names=["s"])  # no sentinel password
    assert info.value.kind in (ErrorKind.AUTH, ErrorKind.SENTINEL)
    with redis_sentinel.Client("tcp", auth_topo.sentinel_addr, names=["s"], pool_wait=0.5,
                               password="wrong-data-pw", sentinel_password="sentinel-secret") as c:
        with pytest.raises(Error) as info:
            c.get_master("s")
        assert info.value.kind == ErrorKind.AUTH, info.value
        assert str(auth_topo.masters["s"].port) in str(info.value)
        assert "wrong-data-pw" not in str(info.value)


def test_database_client_name_and_resp3(topo):
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], db=3,
                               client_name="checkout-service", resp3=True) as c:
        with c.master("a") as conn:
            info = conn.cmd("CLIENT", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            assert "name=checkout-service" in text and "db=3" in text and "resp=3" in text
            conn.cmd("HSET", "h", "f", "v")
            assert conn.cmd("HGETALL", "h") == {b"f": b"v"}  # a RESP3 map
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], busy_poll=0.0002) as c:
        assert c.execute("a", "SET", "spun", "1") == "OK"
        with c.master("a") as conn:
            assert conn.pipeline([("GET", "spun")] * 3) == [b"1"] * 3
        # Replies slower than the budget pause spinning; every reply stays the right one.
        slow = "local x = 0 for i = 1, 100000 do x = x + i end return x"
        for _ in range(40):
            assert c.execute("a", "EVAL", slow, "0") == 5000050000
            assert c.execute("a", "GET", "spun") == b"1"
        c.execute("a", "RPUSH", "spun:list", "x")
        assert c.execute("a", "BLPOP", "spun:list", "1") == [b"spun:list", b"x"]
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], db=10000,
                               pool_wait=0.5) as c:
        with pytest.raises(Error) as info:
            c.get_master("a")  # the server refuses the SELECT: say so, and which node
        port = str(topo.masters["a"].port)
        assert info.value.kind == ErrorKind.SERVER and "SELECT" in str(info.value), info.value
        assert port in str(info.value)
    for bad in (dict(db=-1), dict(client_name="has space"), dict(db="x"),
                dict(busy_poll=0.02), dict(busy_poll=-1), dict(busy_poll="1"),
                dict(tcp_keepalive=-1), dict(tcp_keepalive=1.5), dict(tcp_keepalive=32768)):
        with pytest.raises(Error) as info:
            redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], **bad)
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT


def _keepalive_timers(remote_port):
    """The /proc/net/tcp timer kind (2 is keepalive) of this process's established TCP
    connections to 127.0.0.1:remote_port."""
    ours = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            ours.add(target[8:-1])
    timers = []
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote, state, timer, inode = fields[2], fields[3], fields[5], fields[9]
            if inode in ours and state == "01" and remote == "0100007F:%04X" % remote_port:
                timers.append(int(timer.split(":")[0], 16))
    return timers


def test_tcp_keepalive_probes_idle_connections(topo):
    port = topo.masters["a"].port
    for keepalive, timer in ((5, 2), (0, 0)):
        with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"],
                                   tcp_keepalive=keepalive) as c:
            assert c.execute("a", "PING") == "PONG"
            assert _keepalive_timers(port) == [timer], keepalive  # the pooled, idle conn


def test_address_map(topo):
    seen = []

    def to_localhost(host, port):
        seen.append((host, port))
        return ("localhost", port) if host == "127.0.0.1" else None

    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], address_map=to_localhost) as c:
        assert c.stats("a")["address"] == "localhost:%d" % topo.masters["a"].port
        assert c.execute("a", "PING") == "PONG"
    assert ("127.0.0.1", topo.masters["a"].port) in seen


def test_events_and_stats_through_a_failover(failover_topo):
    topo = failover_topo
    events, lock = [], threading.Lock()

    def record(event):
        with lock:
            events.append(event)

    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["mymaster"], on_event=record,
                               log_events=True) as c:
        before = c.stats("mymaster")
        assert before["failovers_seen"] == 0 and before["last_switch"] is None
        assert before["address"] == "127.0.0.1:%d" % topo.masters["mymaster"].port
        with c.master("mymaster") as conn:
            conn.cmd("PING")
            assert c.stats("mymaster")["conns_in_use"] == 1
        old, new = topo.failover("mymaster")
        deadline = time.monotonic() + 10
        while c.stats("mymaster")["address"] != "127.0.0.1:%d" % new:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        after = c.stats("mymaster")
        assert after["failovers_seen"] == 1 and after["generation"] == 2
        assert after["fences_raised"] >= 1 and not after["fenced"]
        assert after["last_switch"] is not None
    kinds = [e["kind"] for e in events]
    assert "sentinel_up" in kinds and "fence_raised" in kinds
    switched = [e for e in events if e["kind"] == "master_switched"]
    assert switched and switched[0]["old_address"] == "127.0.0.1:%d" % old
    assert switched[0]["new_address"] == "127.0.0.1:%d" % new


@contextlib.contextmanager
def writing(client, key):
    """RPUSHes 1, 2, 3... to `key` on a thread while the block runs; yields the list of
    the numbers the client saw acknowledged."""
    acked, stop = [], threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                client.execute("mymaster", "RPUSH", key, i)
                acked.append(i)
            except Error:
                pass  # not acknowledged: the client may refuse a write while fenced

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        yield acked
    finally:
        stop.set()
        thread.join()


def fail_over_while_writing(topo, client, key, address_of):
    """Forces a failover under writes, waits until the client follows it and writes on, and
    checks that the new master holds every acknowledged write. Returns the new master's port."""
    with writing(client, key) as acked:
        time.sleep(0.3)
        old, new = topo.failover("mymaster")
        deadline = time.monotonic() + 10  # one bound for both waits
        while client.stats("mymaster")["address"] != address_of(new):
            assert time.monotonic() < deadline, "client did not follow the failover"
            time.sleep(0.01)
        written = len(acked)
        while len(acked) < written + 100:
            assert time.monotonic() < deadline, "no writes after the switch"
            time.sleep(0.01)
    stored = {int(x) for x in topo.cmd(new, "LRANGE", key, 0, -1)}
    assert [i for i in acked if i not in stored] == []
    return new


def test_nodes_known_by_host_name_through_a_failover(hostname_topo):
    """Sentinels that report host names (announce-hostnames, as on Kubernetes): every address
    is looked up, and a failover is followed by name without losing an acknowledged write."""
    topo = hostname_topo
    events = []
    port = topo.sentinels[0].port
    with redis_sentinel.Client("tcp", "localhost:%d" % port, names=["mymaster"], pool_size=4,
                               on_event=events.append) as client:
        assert client.stats("mymaster")["address"] == "localhost:%d" % topo.masters["mymaster"].port
        fail_over_while_writing(topo, client, "by-name", lambda port: "localhost:%d" % port)
    assert {e["sentinel"] for e in events if e["kind"] == "sentinel_up"} == {
        "localhost:%d" % s.port for s in topo.sentinels}


def test_promotion_seen_through_info_when_role_is_refused(role_refused_topo):
    """An ACL user without ROLE: the client's probes of the promoted replica fall back to INFO
    replication, so it still moves before the sentinels announce +switch-master (about a
    second later: they poll INFO once a second), and loses no acknowledged write."""
    topo = role_refused_topo
    announced = []
    listener = socket.create_connection(("127.0.0.1", topo.sentinels[0].port))
    listener.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$14\r\n+switch-master\r\n")
    listener.settimeout(30)

    def listen():
        seen = b""
        while b"$7\r\nmessage\r\n" not in seen:
            chunk = listener.recv(4096)
            if not chunk:
                return
            seen += chunk
        announced.append(time.monotonic())

    thread = threading.Thread(target=listen)
    thread.start()
    switched = []
    record = lambda e: e["kind"] == "master_switched" and switched.append(time.monotonic())  # noqa: E731
    try:
        with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["mymaster"], pool_size=4,
                                   username="app", password="app-secret",
                                   on_event=record) as client:
            with pytest.raises(Error) as info:
                client.execute("mymaster", "ROLE")
            assert "NOPERM" in str(info.value)
            new = fail_over_while_writing(topo, client, "no-role", lambda p: "127.0.0.1:%d" % p)
        thread.join(30)
    finally:
        listener.close()
    assert announced and switched and switched[0] < announced[0], (switched, announced)
    log = [dict(zip(e[::2], e[1::2])) for e in topo.cmd(new, "ACL", "LOG")]
    assert any(e["object"] == "role" and e["username"] == "app" for e in log), log


def test_failover_followed_when_nodes_refuse_role_and_info(role_and_info_refused_topo):
    """An ACL user without @dangerous cannot ask a node its role at all: the client then takes
    the sentinels' word for the new master, and still loses no acknowledged write."""
    topo = role_and_info_refused_topo
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["mymaster"], pool_size=4,
                               username="app", password="app-secret") as client:
        for command in ("ROLE", "INFO"):
            with pytest.raises(Error) as info:
                client.execute("mymaster", command)
            assert "NOPERM" in str(info.value)
        fail_over_while_writing(topo, client, "no-dangerous", lambda p: "127.0.0.1:%d" % p)


# What Jedis needs of a sentinel, and all such an ACL user may do there.
JEDIS_SENTINEL_USER = ["jedis", "on", ">jedis-pw", "&*", "+auth", "+ping", "+subscribe",
                       "+psubscribe", "+sentinel|get-master-addr-by-name"]


def acl_log(topo, port, command):
    entries = [dict(zip(e[::2], e[1::2])) for e in topo.cmd(port, "ACL", "LOG")]
    return sum(int(e["count"]) for e in entries if e["object"] == command)


def test_sentinel_acl_user_with_only_what_jedis_needs(failover_topo, two_masters_topo):
    """Sentinels refuse SENTINEL MASTER, REPLICAS and SENTINELS to the client's user: it still
    starts, follows failovers by their events, finds a switch it missed through
    get-master-addr-by-name, and does not keep asking what it is refused."""
    for topo in (failover_topo, two_masters_topo):
        for s in topo.sentinels:
            assert topo.cmd(s.port, "ACL", "SETUSER", *JEDIS_SENTINEL_USER) == "OK"
    login = dict(sentinel_username="jedis", sentinel_password="jedis-pw")
    with redis_sentinel.Client("tcp", failover_topo.sentinel_addr, names=["mymaster"],
                               pool_size=4, **login) as client:
        fail_over_while_writing(failover_topo, client, "jedis-acl", lambda p: "127.0.0.1:%d" % p)

    topo, sentinel = two_masters_topo, two_masters_topo.sentinels[0].port
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], **login) as client:
        time.sleep(1)  # refused replica lists were asked again every 100 ms before
        assert acl_log(topo, sentinel, "sentinel|replicas") <= 2
        b = topo.masters["b"].port
        assert topo.cmd(sentinel, "SENTINEL", "REMOVE", "a") == "OK"
        assert topo.cmd(sentinel, "SENTINEL", "MONITOR", "a", "127.0.0.1", str(b), "1") == "OK"
        topo.cmd(sentinel, "CLIENT", "KILL", "TYPE", "pubsub")
        wait_until("the missed switch to be found",
                   lambda: client.stats("a")["address"] == "127.0.0.1:%d" % b, 10, 0.01)
        assert acl_log(topo, sentinel, "sentinel|master") >= 1  # refused, then fell back


def replica_ports(client, picks):
    """The ports `picks` replica checkouts landed on (None for a failed checkout)."""
    ports = set()
    for _ in range(picks):
        try:
            with client.replica("mymaster") as conn:
                ports.add(int(conn.cmd("CONFIG", "GET", "port")[1]))
        except Error:
            ports.add(None)
    return ports


def test_replica_reads_round_robin_and_skip_down_replicas(failover_topo):
    topo = failover_topo
    replicas = {r.port for r in topo.replicas["mymaster"]}
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["mymaster"], pool_size=2) as c:
        c.execute("mymaster", "SET", "rk", "v")
        seen = set()
        for _ in range(6):
            with c.replica("mymaster") as conn:
                assert conn.cmd("ROLE")[0] == b"slave"
                seen.add(int(conn.cmd("CONFIG", "GET", "port")[1]))
                with pytest.raises(Error) as info:
                    conn.cmd("SET", "rk", "x")
                assert info.value.is_readonly
        assert seen == replicas  # both replicas served reads
        # a replica that dies is dropped once a sentinel marks it down
        victim = topo.replicas["mymaster"][0]
        victim.kill()
        deadline = time.monotonic() + 10
        while True:
            ports = replica_ports(c, 4)
            if ports == {topo.replicas["mymaster"][1].port}:
                break
            assert time.monotonic() < deadline, ports
            time.sleep(0.1)
        # after a failover the set follows: the promoted replica is no longer read from (the
        # old master joins as a replica only once the sentinels reconfigure it, ~10 s later)
        old, new = topo.failover("mymaster")
        deadline = time.monotonic() + 10
        while True:
            ports = replica_ports(c, 4)
            if new not in ports:
                break
            assert time.monotonic() < deadline, ports
            time.sleep(0.05)
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["mymaster"]) as c:
        with pytest.raises(Error) as info:
            c.get_replica("nope")
        assert info.value.kind == ErrorKind.UNKNOWN_MASTER


def test_tls_to_sentinels_and_data_nodes(tls_topo):
    import os
    certs = tls_topo.tls_dir
    ca = os.path.join(certs, "ca.crt")
    with redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"],
                               tls={"ca_file": ca}, sentinel_tls={"ca_file": ca}) as c:
        assert c.execute("t", "SET", "k", "v") == "OK"
        with c.replica("t") as conn:
            assert conn.cmd("ROLE")[0] == b"slave"
    mutual = {"ca_file": ca, "cert_file": os.path.join(certs, "client.crt"),
              "key_file": os.path.join(certs, "client.key")}
    with redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"], tls=mutual,
                               sentinel_tls=dict(mutual, server_name="localhost")) as c:
        assert c.execute("t", "GET", "k") == b"v"
    # data nodes are dialed at 127.0.0.1; a server name is verified instead of that address
    with redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"], pool_wait=0.5,
                               tls=dict(mutual, server_name="localhost"),
                               sentinel_tls={"ca_file": ca}, busy_poll=0.0002) as c:
        assert c.execute("t", "GET", "k") == b"v"
        with c.master("t") as conn:  # busy polling reads TLS replies too
            assert conn.pipeline([("GET", "k")] * 50) == [b"v"] * 50
    with redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"], pool_wait=0.5,
                               tls={"ca_file": ca, "server_name": "not-the-name"},
                               sentinel_tls={"ca_file": ca}) as c:
        with pytest.raises(Error) as info:
            c.execute("t", "GET", "k")
        assert info.value.kind == ErrorKind.IO and "not-the-name" in str(info.value), info.value
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"],
                              tls={"ca_file": ca, "server_name": "not a host name"})
    assert info.value.kind == ErrorKind.INVALID_ARGUMENT
    # plaintext to a TLS-only sentinel, a wrong server name, a lone certificate: clear errors
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"], sentinel_timeout=0.5)
    assert info.value.kind == ErrorKind.SENTINEL
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"], sentinel_timeout=0.5,
                              sentinel_tls={"ca_file": ca, "server_name": "not-the-name"})
    assert info.value.kind == ErrorKind.SENTINEL
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"],
                              tls={"ca_file": ca, "cert_file": mutual["cert_file"]})
    assert info.value.kind == ErrorKind.INVALID_ARGUMENT
    # data nodes over plaintext fail on use, not at start, and say which master
    with redis_sentinel.Client("tcp", tls_topo.sentinel_addr, names=["t"], pool_wait=0.5,
                               connect_timeout=0.3, read_timeout=0.3,
                               sentinel_tls={"ca_file": ca}) as c:
        with pytest.raises(Error) as info:
            c.execute("t", "PING")
        assert info.value.kind in (ErrorKind.IO, ErrorKind.POOL_TIMEOUT) and '"t"' in str(info.value)


def test_from_url(topo):
    url = "redis+sentinel://%s/a,b/3?read_timeout=0.5&client_name=py-url&pool_size=2" % topo.sentinel_addr
    with redis_sentinel.Client.from_url(url) as client:
        assert client.execute("a", "CLIENT", "GETNAME") == b"py-url"
        assert b" db=3 " in client.execute("a", "CLIENT", "INFO")  # the path's database
        client.execute("a", "SET", "url:key", "v")
        assert client.execute("a", "GET", "url:key") == b"v"
        assert client.execute("b", "PING") == "PONG"
        assert client.stats("a")["conns_open"] <= 2
        client.execute("a", "DEL", "url:key")
    for url, part in [("redis://h/m", "scheme"), ("redis+sentinel://h/m?nope=1", "nope"),
                      ("redis+sentinel://u:hunter2%zz@h/m", "password"),
                      ("redis+sentinel://h/m?read_timeout=0", "read_timeout")]:
        with pytest.raises(Error) as info:
            redis_sentinel.Client.from_url(url)
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT, url
        assert part in str(info.value) and "hunter2" not in str(info.value), str(info.value)
    with pytest.raises(Error):
        redis_sentinel.Client.from_url(b"redis+sentinel://h/m")


def _waits(client, name):
    """How many WAITs the master of ``name`` has run (INFO commandstats)."""
    stats = client.execute(name, "INFO", "commandstats").decode()
    match = re.search(r"cmdstat_wait:calls=(\d+)", stats)
    return int(match.group(1)) if match else 0


def test_durable_writes(topo):
    # Master "a" has one replica: one confirms, two cannot.
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"]) as plain, \
            redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], pool_size=1,
                                  wait_replicas=1, wait_timeout=2) as durable:
        before = _waits(plain, "a")
        with durable.master("a") as conn:
            assert conn.cmd("SET", "py:durable", 1) == "OK"
            assert conn.cmd("GET", "py:durable") == b"1"
            assert _waits(plain, "a") - before == 1, "one WAIT for the SET, none for the GET"
            replies = conn.pipeline([("INCR", "py:durable")] * 10)
            assert replies == list(range(2, 12)), "exactly the caller's replies"
            assert _waits(plain, "a") - before == 2, "one WAIT for a pipeline of 10 writes"
            conn.cmd("MULTI")
            conn.cmd("INCR", "py:durable")
            conn.cmd("INCR", "py:durable")
            assert conn.cmd("EXEC") == [12, 13]
            assert _waits(plain, "a") - before == 3, "one WAIT for MULTI/EXEC"
        assert durable.execute("a", "INCR", "py:durable") == 14
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], pool_size=1,
                               wait_replicas=2, wait_timeout=0.05) as durable:
        with durable.master("a") as conn:
            conn_id = conn.cmd("CLIENT", "ID")
            started = time.monotonic()
            with pytest.raises(Error) as info:
                conn.cmd("INCR", "py:durable")
            assert 0.045 <= time.monotonic() - started < 1.0
            assert info.value.kind == ErrorKind.NOT_REPLICATED
            assert "only 1 of the 2 replicas asked for confirmed it within 50 ms" in str(info.value)
            assert "may be lost in a failover" in str(info.value)
            with pytest.raises(Error) as info:
                conn.pipeline([("INCR", "py:durable"), ("GET", "py:durable")])
            assert info.value.kind == ErrorKind.NOT_REPLICATED
            assert conn.cmd("GET", "py:durable") == b"16", "the writes landed; a read does not wait"
        with pytest.raises(Error) as info:
            with durable.master("a") as conn:
                assert conn.cmd("CLIENT", "ID") == conn_id, "NOT_REPLICATED keeps the conn"
                conn.cmd("SET", "py:durable", 0)
        assert info.value.kind == ErrorKind.NOT_REPLICATED
        assert durable.execute("a", "CLIENT", "ID") == conn_id


def test_durable_writes_from_url_and_bad_values(topo):
    url = "redis+sentinel://%s/a?wait_replicas=2&wait_timeout=0.05" % topo.sentinel_addr
    with redis_sentinel.Client.from_url(url) as client:
        with pytest.raises(Error) as info:
            client.execute("a", "SET", "py:url", 1)
        assert info.value.kind == ErrorKind.NOT_REPLICATED and "within 50 ms" in str(info.value)
    with redis_sentinel.Client.from_url(url.replace("=2&", "=1&")) as client:
        assert client.execute("a", "SET", "py:url", 1) == "OK"
    with pytest.raises(Error) as info:
        redis_sentinel.Client.from_url(url.replace("0.05", "0"))
    assert info.value.kind == ErrorKind.INVALID_ARGUMENT and "wait_timeout" in str(info.value)
    for kwargs in (dict(wait_replicas=-1), dict(wait_replicas="1"), dict(wait_replicas=True),
                   dict(wait_replicas=2 ** 32), dict(wait_replicas=1, wait_timeout=0),
                   dict(wait_replicas=1, wait_timeout=-0.1), dict(wait_timeout="0.1"),
                   dict(wait_timeout=float("nan"))):
        with pytest.raises(Error) as info:
            redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], **kwargs)
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT, kwargs
        assert "wait_" in str(info.value), kwargs
    assert int(ErrorKind.NOT_REPLICATED) == 11
