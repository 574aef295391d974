import ctypes
import gc
import re
import signal
import threading
import time

import pytest

import redis_sentinel
from redis_sentinel import Error, ErrorKind, _abi, errors, replies
from redis_sentinel._lib import FUNCTIONS
from topology import resp_command, wait_until

HEADER = __import__("os").path.join(__import__("os").path.dirname(__file__), "..", "..",
                                    "include", "redis_sentinel.h")


@pytest.fixture
def client(topo):
    c = redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=2, names=["a", "b"])
    yield c
    c.close()


def test_every_header_function_is_declared():
    with open(HEADER) as f:
        declared = set(re.findall(r"\b(sentinel_\w+)\(", f.read()))
    assert declared == set(FUNCTIONS)


def test_unchecked_handles_keep_return_types_and_still_check_names(client):
    from redis_sentinel import _lib
    for name, func in _lib.unchecked(_lib.lib).items():
        assert func.argtypes is None, name
        if FUNCTIONS[name][0] is ctypes.c_int:  # no restype: ctypes reads a C int then
            assert isinstance(func, _lib._IntResultFunc) and func.restype is None, name
        elif FUNCTIONS[name][0] in (_lib.ClientPtr, _lib.ConnPtr):  # as an address
            assert func.restype is ctypes.c_void_p, name
        else:
            assert func.restype is FUNCTIONS[name][0], name
        assert getattr(_lib.lib, name).argtypes == FUNCTIONS[name][1], name
    for call in (lambda: client.execute(b"a", "PING"), lambda: client.get_master(None),
                 lambda: client.master(7).__enter__()):
        with pytest.raises(Error) as info:
            call()
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT
        assert "master name must be str" in str(info.value)


def test_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", redis_sentinel.version())


@pytest.mark.parametrize("kwargs, text", [
    (dict(network="udp"), "network"),
    (dict(address="nohost"), "address"),
    (dict(pool_size=0), "pool size"),
    (dict(names=[]), "names"),
    (dict(names=[1]), "names"),
    (dict(names="a"), "did you mean ['a']"),
    (dict(pool_size="x"), "pool_size"),
])
def test_bad_arguments(topo, kwargs, text):
    args = dict(network="tcp", address=topo.sentinel_addr, pool_size=1, names=["a"])
    args.update(kwargs)
    with pytest.raises(Error) as info:
        redis_sentinel.Client(args["network"], args["address"], pool_size=args["pool_size"],
                              names=args["names"])
    assert info.value.kind == ErrorKind.INVALID_ARGUMENT
    assert text in str(info.value)


def test_unknown_and_unreachable(topo, client):
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", topo.sentinel_addr, names=["nope"])
    assert info.value.kind == ErrorKind.UNKNOWN_MASTER and "nope" in str(info.value)
    with pytest.raises(Error) as info:
        client.get_master("c")
    assert info.value.kind == ErrorKind.UNKNOWN_MASTER
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", "127.0.0.1:1", names=["a"])
    assert info.value.kind == ErrorKind.SENTINEL and info.value.is_sentinel


def test_reply_mapping(client):
    with client.master("a") as conn:
        assert conn.cmd("SET", "k", b"v\x00\r\n") == "OK"
        assert conn.cmd("GET", "k") == b"v\x00\r\n"
        assert conn.cmd("GET", "missing") is None
        assert conn.cmd("INCRBY", "n", 5) == 5
        assert conn.cmd("INCRBYFLOAT", "f", 1.5) == b"1.5"
        assert conn.cmd("PING") == "PONG"
        conn.cmd("DEL", "l")
        conn.cmd("RPUSH", "l", "x", "", 3)
        assert conn.cmd("LRANGE", "l", 0, -1) == [b"x", b"", b"3"]
        conn.cmd("SET", "s", "x")
        conn.cmd("MULTI")
        conn.cmd("INCR", "s")
        conn.cmd("SET", "o", 1)
        result = conn.cmd("EXEC")
        assert isinstance(result[0], Error) and result[0].kind == ErrorKind.SERVER
        assert result[1] == "OK"
        with pytest.raises(Error) as info:
            conn.cmd("GET", True)
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT
        with pytest.raises(Error):
            conn.cmd()


def client_id(conn):
    return conn.cmd("CLIENT", "ID")


def test_conns_the_server_closed_while_idle_are_not_handed_out(topo, client):
    # Redis's `timeout` closes idle clients; the pool must notice instead of failing a command
    port = topo.masters["a"].port
    with client.master("a") as c1, client.master("a") as c2:
        ids = {str(client_id(c1)), str(client_id(c2))}
    resp_command(port, "CONFIG", "SET", "timeout", "1")
    try:
        deadline = time.monotonic() + 10
        while ids & set(re.findall(r"id=(\d+)", resp_command(port, "CLIENT", "LIST"))):
            assert time.monotonic() < deadline, "the server never closed the idle conns"
            time.sleep(0.1)
        for _ in range(3):
            assert client.execute("a", "SET", "after-idle", "1") == "OK"
        with client.master("a") as conn:
            assert str(client_id(conn)) not in ids
    finally:
        resp_command(port, "CONFIG", "SET", "timeout", "0")


def use_each_after_kill(client, killed_id, use):
    """Checks out both conns of master "a" (pool of 2) and runs `use` on each: the one the
    server killed must fail with IO and is carefully put back. Then it must not come back."""
    for conn in [client.get_master("a"), client.get_master("a")]:
        try:
            use(conn)
        except Error as e:
            assert e.kind == ErrorKind.IO
            client.carefully_put_master("a", conn, e)
        else:
            client.put_master("a", conn)
    with client.master("a") as c1, client.master("a") as c2:
        assert killed_id not in (client_id(c1), client_id(c2))


def test_errors_in_a_row_each_say_their_own_thing(topo, client):
    # short commands share one error slot per thread: each error must be its own
    client.execute("a", "SET", "text", "x")
    for command, code in ((("LPUSH", "text", "1"), "WRONGTYPE"), (("NOSUCHCMD",), "ERR"),
                          (("INCR", "text"), "ERR value is not an integer")):
        with pytest.raises(Error) as info:
            client.execute("a", *command)
        assert str(info.value).startswith(code), info.value
        with client.master("a") as conn, pytest.raises(Error) as info:
            conn.cmd(*command)
        assert str(info.value).startswith(code), info.value
        assert client.execute("a", "GET", "text") == b"x"


def test_server_error_keeps_readonly_closes(topo, client):
    client.execute("a", "SET", "k", "a string")
    conn = client.get_master("a")
    first = client_id(conn)
    err = None
    try:
        conn.cmd("LPUSH", "k", "x")
    except Error as e:
        err = e
    assert err.kind == ErrorKind.SERVER and str(err).startswith("WRONGTYPE")
    client.carefully_put_master("a", conn, err)
    with client.master("a") as conn:
        assert client_id(conn) == first
        with pytest.raises(Error) as info:
            conn.cmd("EVAL", "return redis.error_reply('READONLY fake')", 0)
        assert info.value.is_readonly and info.value.kind == ErrorKind.READONLY
    with client.master("a") as conn:
        second = client_id(conn)
        assert second != first
    # killed by the server: IO, and the conn is not reused
    resp_command(topo.masters["a"].port, "CLIENT", "KILL", "ID", second)
    use_each_after_kill(client, second, client_id)


def test_conns_left_with_session_state_are_not_pooled_again(topo):
    # Put back inside MULTI, a conn would answer the next caller QUEUED and never run a thing.
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=1, names=["a"]) as client:
        client.execute("a", "SET", "session", "v")
        with client.master("a") as conn:
            kept = client_id(conn)
            conn.pipeline([("MULTI",), ("INCR", "n"), ("EXEC",)])
            conn.cmd("WATCH", "session")
            conn.cmd("UNWATCH")
        with client.master("a") as conn:
            assert client_id(conn) == kept  # finished transactions leave nothing behind
        for setup in (("MULTI",), ("WATCH", "session"), ("SELECT", "3"), ("SUBSCRIBE", "ch")):
            with client.master("a") as conn:
                left = client_id(conn)
                conn.cmd(*setup)
            assert client.execute("a", "GET", "session") == b"v", setup
            with client.master("a") as conn:
                assert client_id(conn) != left, setup


def test_put_back_conn_is_unusable(client):
    conn = client.get_master("b")
    client.put_master("b", conn)
    with pytest.raises(Error) as info:
        conn.cmd("PING")
    assert info.value.kind == ErrorKind.INVALID_ARGUMENT
    client.put_master("b", conn)  # twice: harmless


def test_with_block_is_its_conn(client):
    """client.master() returns the conn itself, checked out by `with` and put back after it:
    it can be entered again once the block ended, but not while it runs."""
    block = client.master("b")
    assert isinstance(block, redis_sentinel.Conn)
    with pytest.raises(Error) as info:
        block.cmd("PING")  # not checked out before the block starts
    assert info.value.kind == ErrorKind.INVALID_ARGUMENT
    for _ in range(2):
        with block as conn:
            assert conn is block and conn.cmd("PING") == "PONG"
            with pytest.raises(Error) as info:
                block.__enter__()
            assert info.value.kind == ErrorKind.INVALID_ARGUMENT
            assert "checked out already" in str(info.value)
            assert client.stats("b")["conns_in_use"] == 1
        assert client.stats("b")["conns_in_use"] == 0
        with pytest.raises(Error):
            conn.cmd("PING")  # put back
    with pytest.raises(ZeroDivisionError):
        with client.master("b") as conn:
            conn.cmd("PING")
            1 / 0
    assert client.stats("b")["conns_in_use"] == 0
    assert client.stats("b")["conns_open"] == 0  # closed: the block ended in an exception


def test_threads_count_exactly(client):
    with client.master("a") as conn:
        conn.cmd("DEL", "counter")
    errors = []

    def work():
        for _ in range(2000):
            try:
                with client.master("a") as conn:
                    conn.cmd("INCR", "counter")
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with client.master("a") as conn:
        assert conn.cmd("GET", "counter") == b"16000"


def test_calls_after_close_raise_closed(topo):
    client = redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=1, names=["a"])
    conn = client.get_master("a")
    client.close()
    client.close()
    for call in (lambda: client.get_master("a"), lambda: conn.cmd("PING"),
                 lambda: client.put_master("a", conn),
                 lambda: client.carefully_put_master("a", conn, None),
                 lambda: client.execute("a", "PING"), lambda: client.master("a").__enter__()):
        with pytest.raises(Error) as info:
            call()
        assert info.value.kind == ErrorKind.CLOSED
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=1, names=["a"]) as c:
        with c.master("a") as conn:
            assert conn.cmd("PING") == "PONG"
    assert c.closed


def test_garbage_collected_client_closes(topo):
    client = redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=1, names=["a"])
    client.get_master("a")
    del client
    gc.collect()


def test_unix_socket(topo):
    with redis_sentinel.Client("unix", topo.sentinel_socket(), names=["b"]) as client:
        with client.master("b") as conn:
            assert conn.cmd("ROLE")[0] == b"master"


def test_sentinel_given_by_host_name(topo):
    port = topo.sentinel_addr.rsplit(":", 1)[1]
    with redis_sentinel.Client("tcp", "localhost:" + port, names=["a"]) as client:
        assert client.execute("a", "PING") == "PONG"
    with pytest.raises(Error) as info:
        redis_sentinel.Client("tcp", "no-such-host.invalid:" + port, names=["a"])
    assert "no-such-host.invalid" in str(info.value)


def test_a_reconnected_sentinel_link_catches_a_missed_switch(two_masters_topo):
    """A sentinel link that comes back checks whether its sentinel now names another master
    (here: its config was rewritten, which publishes no switch): if so the client follows,
    if not, nothing else is asked."""
    topo = two_masters_topo
    sentinel = topo.sentinels[0].port
    events = []
    kinds = lambda kind: [e for e in events if e["kind"] == kind]  # noqa: E731
    with redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"],
                               on_event=events.append) as client:
        wait_until("the sentinel link", lambda: kinds("sentinel_up"), 10, 0.01)
        topo.cmd(sentinel, "CLIENT", "KILL", "TYPE", "pubsub")
        wait_until("the link to come back", lambda: len(kinds("sentinel_up")) == 2, 10, 0.01)
        time.sleep(0.5)  # a re-ask would have been announced by now
        assert kinds("master_resolved") == []
        b = "127.0.0.1:%d" % topo.masters["b"].port
        assert topo.cmd(sentinel, "SENTINEL", "REMOVE", "a") == "OK"
        assert topo.cmd(sentinel, "SENTINEL", "MONITOR", "a", "127.0.0.1",
                        str(topo.masters["b"].port), "1") == "OK"
        topo.cmd(sentinel, "CLIENT", "KILL", "TYPE", "pubsub")
        wait_until("the client to follow", lambda: client.stats("a")["address"] == b, 10, 0.01)
        assert [e["new_address"] for e in kinds("master_resolved")] == [b]
        with client.master("a") as conn:
            assert int(conn.cmd("CONFIG", "GET", "port")[1]) == topo.masters["b"].port


def test_forced_failover_followed(failover_topo):
    topo = failover_topo
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=4, names=["mymaster"]) as client:
        before = client.get_master("mymaster")
        before_id = client_id(before)
        old, new = topo.failover("mymaster")
        deadline = time.monotonic() + 10
        while True:
            with client.master("mymaster") as conn:
                if int(conn.cmd("CONFIG", "GET", "port")[1]) == new:
                    break
            assert time.monotonic() < deadline, "client did not follow the failover"
            time.sleep(0.01)
        with pytest.raises(Error) as info:
            before.cmd("SET", "k", "lost?")  # the old master must not take it
        assert info.value.kind == ErrorKind.READONLY and info.value.is_readonly
        client.carefully_put_master("mymaster", before, info.value)
        for _ in range(6):
            with client.master("mymaster") as conn:
                assert conn.cmd("ROLE")[0] == b"master"
                assert int(conn.cmd("CONFIG", "GET", "port")[1]) == new
        clients = resp_command(old, "CLIENT", "LIST")
        assert "id=%d " % before_id not in clients


def in_thread(fn, *args):
    """Runs fn(*args) on a thread; returns the thread and a dict that gets "result" or
    "error", and "seconds"."""
    outcome = {}

    def run():
        start = time.monotonic()
        try:
            outcome["result"] = fn(*args)
        except Error as e:
            outcome["error"] = e
        outcome["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_commands_that_wait_on_the_server_get_their_own_timeout(topo):
    port = topo.masters["a"].port
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=2, names=["a"],
                               read_timeout=0.2) as client:
        for command in (("BLPOP", "nothing", "0.5"), ("XREAD", "BLOCK", "500", "STREAMS", "wait-stream", "$"),
                        ("WAIT", "5", "500")):
            start = time.monotonic()
            client.execute("a", *command)  # None, None, and the replicas that acked
            assert 0.45 < time.monotonic() - start < 2, command
        with client.master("a") as conn:
            start = time.monotonic()
            assert conn.pipeline([("PING",), ("BLPOP", "nothing", 0.4), ("PING",)]) == [
                "PONG", None, "PONG"]
            assert time.monotonic() - start > 0.35
        # timeout 0 waits without bound: here until another client pushes, 0.6 s later
        threading.Timer(0.6, lambda: resp_command(port, "RPUSH", "wait-list", "v")).start()
        assert client.execute("a", "BLPOP", "wait-list", 0) == [b"wait-list", b"v"]
        # any other command still fails at the read timeout, and says so. The server is paused
        # briefly, far from the sentinel's down-after.
        resp_command(port, "CLIENT", "PAUSE", "600", "ALL")
        start = time.monotonic()
        with pytest.raises(Error) as info:
            client.execute("a", "GET", "k")
        assert time.monotonic() - start < 0.5
        assert info.value.kind == ErrorKind.IO and "no reply within 200 ms" in str(info.value)


def test_close_and_interrupt_end_waits(topo):
    client = redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=2, names=["a"])
    thread, outcome = in_thread(client.execute, "a", "BLPOP", "nothing", 0)
    time.sleep(0.3)
    client.interrupt_waits()
    thread.join(2)
    assert outcome["error"].kind == ErrorKind.IO and "interrupted" in str(outcome["error"])
    assert client.execute("a", "PING") == "PONG"
    thread, outcome = in_thread(client.execute, "a", "BLPOP", "nothing", 0)
    time.sleep(0.3)
    start = time.monotonic()
    client.close()  # would wait for ever on the BLPOP otherwise
    assert time.monotonic() - start < 2
    thread.join(2)
    assert outcome["error"].kind == ErrorKind.IO


def test_a_demoted_master_unblocks_waits_as_readonly(two_masters_topo):
    topo = two_masters_topo
    a, b = topo.masters["a"].port, topo.masters["b"].port
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=2, names=["a"]) as client:
        thread, outcome = in_thread(client.execute, "a", "BLPOP", "nothing", 0)
        time.sleep(0.3)
        resp_command(a, "REPLICAOF", "127.0.0.1", str(b))
        try:
            thread.join(5)
        finally:
            resp_command(a, "REPLICAOF", "NO", "ONE")
        error = outcome["error"]
        assert error.kind == ErrorKind.READONLY and error.is_readonly
        assert str(error).startswith("UNBLOCKED"), error


def test_a_failover_ends_waits_on_the_old_master(failover_topo):
    topo = failover_topo
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=4, names=["mymaster"]) as client:
        thread, outcome = in_thread(client.execute, "mymaster", "BLPOP", "jobs", 0)
        time.sleep(0.3)
        old, new = topo.failover("mymaster")
        thread.join(10)
        error = outcome["error"]
        assert error.kind == ErrorKind.READONLY, error
        # ended by the switch, seconds before the old master is demoted
        assert "moved while the command waited" in str(error), error
        assert topo.role(old) == "master"
        threading.Timer(0.3, lambda: resp_command(new, "RPUSH", "jobs", "j1")).start()
        assert client.execute("mymaster", "BLPOP", "jobs", 0) == [b"jobs", b"j1"]


def test_a_wait_on_a_stopped_master_ends_when_the_client_follows(failover_topo):
    # the old master never answers again: only the switch can end a wait without bound
    topo = failover_topo
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=4, names=["mymaster"]) as client:
        thread, outcome = in_thread(client.execute, "mymaster", "BLPOP", "jobs", 0)
        time.sleep(0.3)
        master = topo.masters["mymaster"]
        master.signal(signal.SIGSTOP)
        try:
            topo.wait_switch("mymaster", master.port)
            thread.join(10)
        finally:
            master.signal(signal.SIGCONT)
        assert "error" in outcome, "the wait did not end: %r" % outcome
        error = outcome["error"]
        assert error.kind == ErrorKind.READONLY and "moved while the command waited" in str(error)


def test_sentinel_killed_and_restarted(failover_topo):
    topo = failover_topo
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=2, names=["mymaster"]) as client:
        for s in topo.sentinels:
            s.kill()
        for i in range(100):
            with client.master("mymaster") as conn:
                conn.cmd("SET", "k", i)
        for i in range(len(topo.sentinels)):
            topo.restart_sentinel(i)
        with client.master("mymaster") as conn:
            assert conn.cmd("GET", "k") == b"99"


def test_options(topo):
    with redis_sentinel.Client("tcp", "127.0.0.1:1", pool_size=1, names=["a"],
                               sentinels=[topo.sentinel_addr, ("unix", topo.sentinel_socket())],
                               connect_timeout=0.5, read_timeout=0.25, write_timeout=0.25,
                               pool_wait=0.2, fence_wait=1, sentinel_timeout=0.3) as client:
        with client.master("a") as conn:
            assert conn.cmd("PING") == "PONG"
            with pytest.raises(Error) as info:
                client.get_master("a")   # pool of one, 200 ms wait
            assert info.value.kind == ErrorKind.POOL_TIMEOUT
            resp_command(topo.masters["a"].port, "CLIENT", "PAUSE", "500", "ALL")
            with pytest.raises(Error) as info:
                conn.cmd("GET", "k")   # read timeout 250 ms
            assert info.value.kind == ErrorKind.IO and "within 250 ms" in str(info.value)
    for bad in (dict(read_timeout=0), dict(pool_wait=-1), dict(fence_wait="x"),
                dict(sentinels=["nohost"]), dict(sentinels=[("udp", "h:1")])):
        with pytest.raises(Error) as info:
            redis_sentinel.Client("tcp", topo.sentinel_addr, names=["a"], **bad)
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT, bad


def test_pipeline(topo, client):
    with client.master("a") as conn:
        replies = conn.pipeline([("SET", "p", 1), ("INCR", "p"), ("LPUSH", "p", "x"), ("GET", "p")])
        assert replies[:2] == ["OK", 2]
        assert isinstance(replies[2], Error) and replies[2].kind == ErrorKind.SERVER
        assert replies[3] == b"2"
        assert conn.pipeline([]) == []
        big = conn.pipeline([("INCR", "q")] * 1000)
        assert big[-1] - big[0] == 999
        with pytest.raises(Error) as info:
            conn.pipeline([("PING",), ()])
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT
        # a broken pipeline: the connection is killed under it
        victim = client_id(conn)
    resp_command(topo.masters["a"].port, "CLIENT", "KILL", "ID", victim)
    use_each_after_kill(client, victim, lambda conn: conn.pipeline([("CLIENT", "ID"), ("PING",)]))


def test_execute_and_large_replies(client):
    assert client.execute("a", "SET", "e", "v") == "OK"
    assert client.execute("a", "GET", "e") == b"v"
    with pytest.raises(Error) as info:
        client.execute("a", "INCR", "e")
    assert info.value.kind == ErrorKind.SERVER
    with pytest.raises(Error) as info:
        client.execute("zzz", "PING")
    assert info.value.kind == ErrorKind.UNKNOWN_MASTER
    # a large reply takes the flattened path; nested arrays, nil and integers survive it
    client.execute("a", "DEL", "big")
    client.execute("a", "RPUSH", "big", *range(50))
    assert client.execute("a", "LRANGE", "big", 0, -1) == [str(i).encode() for i in range(50)]
    nested = client.execute("a", "EVAL", "return {1, 'x', {2, {3}}, false, 4, 5, 6, 7, 8}", 0)
    assert nested == [1, b"x", [2, [3]], None, 4, 5, 6, 7, 8]
    # replies far larger than one read: a 5 MB value, 20000 elements, then a small reply
    blob = bytes(range(256)) * (5 * 4096)
    assert client.execute("a", "SET", "blob", blob) == "OK"
    assert client.execute("a", "GET", "blob") == blob
    client.execute("a", "DEL", "many")
    for start in range(0, 20000, 1000):
        client.execute("a", "RPUSH", "many", *range(start, start + 1000))
    with client.master("a") as conn:
        many, length, small = conn.pipeline([("LRANGE", "many", 0, -1), ("STRLEN", "blob"),
                                             ("GET", "e")])
    assert many == [str(i).encode() for i in range(20000)]
    assert (length, small) == (len(blob), b"v")
    client.execute("a", "DEL", "blob", "many")


def test_short_commands_copy_small_replies_out(client, monkeypatch):
    """Commands of up to three arguments take the _into calls (no argv arrays, no reply tree
    for strings, integers, statuses and nil); the reply must be the same either way."""
    def argv_path(*args):
        raise AssertionError("a short command took the argv path")

    from redis_sentinel import _hot as hot_module, client as client_module, conn as conn_module
    edge = replies._SLOT_BYTES
    client.execute("a", "SET", "fits", b"x" * edge)
    client.execute("a", "SET", "long", b"y" * (edge + 1))
    with monkeypatch.context() as patched:
        patched.setattr(client_module, "_master_command_argv", argv_path)
        patched.setattr(conn_module, "_command_argv", argv_path)
        with client.master("a") as conn:
            for run in (lambda *args: client.execute("a", *args), conn.cmd):
                assert run("GET", "fits") == b"x" * edge
                assert run("GET", "long") == b"y" * (edge + 1)
                assert run("SET", "text", "h\u00e9llo\u00a0") == "OK"
                assert run("GET", "text") == "h\u00e9llo\u00a0".encode()
                assert run("SET", bytearray(b"ba"), memoryview(b"\x00mv")) == "OK"
                assert run("GET", "ba") == b"\x00mv"
                assert run("ECHO", "") == b""
                assert run("PING") == "PONG"
                assert run("TYPE", "ba") == "string"
                assert run("EXISTS", "ba") == 1
                assert run("GET", "nothing") is None
                assert run("HKEYS", "nothing") == []  # any other reply: a tree
                with pytest.raises(Error) as info:
                    run("LPUSH", "ba", "x")
                assert info.value.kind == ErrorKind.SERVER and "WRONGTYPE" in str(info.value)
                with pytest.raises(Error) as info:
                    run("GET", None)
                assert info.value.kind == ErrorKind.INVALID_ARGUMENT
    assert client.execute("a", "MSET", "m1", "1", "m2", "2") == "OK"  # five arguments: argv

    # One to three str arguments without a NUL byte take the text calls (no lengths); any
    # other short command takes the _into calls, with lengths.
    taken = []
    with monkeypatch.context() as patched:
        for native in ("_master_command_into_str", "_command_into_str",
                       "_master_command_into", "_command_into"):
            module = (hot_module if native.endswith("_str") else
                      client_module if native.startswith("_master") else conn_module)
            def counted(*args, _native=native, _real=getattr(module, native)):
                taken.append(_native.replace("_master", "").strip("_"))
                return _real(*args)
            patched.setattr(module, native, counted)
        with client.master("a") as conn:
            for run in (lambda *args: client.execute("a", *args), conn.cmd):
                cases = [
                    (("SET", "nul", "a\0b"), "OK", "command_into"),
                    (("GET", "nul"), b"a\0b", "command_into_str"),
                    (("GET", "nul\0"), None, "command_into"),
                    (("SET", "text", "v\u00e9"), "OK", "command_into_str"),
                    (("PING",), "PONG", "command_into_str"),
                    (("GET", b"text"), "v\u00e9".encode(), "command_into"),
                    (("SET", "n", 5), "OK", "command_into"),
                    (("ECHO", "x" * 100000), b"x" * 100000, "command_into_str"),
                ]
                for args, expected, path in cases:
                    del taken[:]
                    assert run(*args) == expected, args
                    assert taken == [path], args
                del taken[:]
                with pytest.raises(Error) as info:
                    run("GET\0", "k")  # a command name with a NUL byte reaches the server
                assert info.value.kind == ErrorKind.SERVER and taken == ["command_into"]
    for call in (lambda: client.execute("a\0b", "PING"), lambda: client.master("a\0").__enter__(),
                 lambda: client.stats("a\0")):
        with pytest.raises(Error) as info:
            call()
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT and "NUL byte" in str(info.value)

    # Concurrent calls never share a reply buffer, whichever path they take, error replies
    # included (each call puts its buffer back for the next).
    errors = []

    def reader(i):
        value = ("thread-%d-" % i).encode() * (i + 1)
        client.execute("a", "SET", "t%d" % i, value)
        for n in range(300):
            if n % 3 == 0:
                with client.master("a") as conn:
                    got = conn.cmd("GET", "t%d" % i)
            else:
                got = client.execute("a", "GET", "t%d" % i)
            if n % 10 == 0:
                try:
                    client.execute("a", "LPUSH", "t%d" % i, "x")
                    got = "no WRONGTYPE"
                except Error as e:
                    got = value if e.kind == ErrorKind.SERVER else e
            if got != value:
                errors.append((i, got))
                return

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors


def test_resp3_reply_types(client):
    conn = client.get_master("a")
    try:
        hello = conn.cmd("HELLO", "3")
        assert isinstance(hello, dict) and hello[b"proto"] == 3           # MAP
        assert conn.cmd("EVAL", "return {double=3.5}", 0) == 3.5           # DOUBLE
        assert conn.cmd("EVAL", "return {map={k='v'}}", 0) == {b"k": b"v"}
        assert conn.cmd("EVAL", "return {set={a=true}}", 0) == [b"a"]      # SET
        assert conn.cmd("EVAL", "return {big_number='123456789012345678901234567890'}", 0) \
            == 123456789012345678901234567890                              # BIGNUM
        assert conn.cmd("EVAL", "return {verbatim_string={format='txt', string='hi'}}", 0) == "hi"
        assert conn.cmd("EVAL", "return nil", 0) is None                   # NIL (RESP3 null)
    finally:
        # a RESP3 conn must not go back to the pool for RESP2 users
        client.carefully_put_master("a", conn, Exception("switched protocol"))


def test_fork_child_gets_its_own_client(topo):
    import os
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=2, names=["a"]) as client:
        client.execute("a", "DEL", "forked")
        before = client.get_master("a")
        parent_id = client_id(before)
        pid = os.fork()
        if pid == 0:  # child: never touches the parent's native client or sockets
            code = 1
            try:
                try:
                    before.cmd("PING")
                except Error as e:
                    assert e.kind == ErrorKind.INVALID_ARGUMENT and "fork" in str(e)
                else:
                    raise AssertionError("a conn from before the fork worked in the child")
                with client.master("a") as conn:
                    assert client_id(conn) != parent_id
                    conn.cmd("SET", "forked", os.getpid())
                client.put_master("a", before)  # harmless: dropped, not sent to the parent's pool
                client.close()
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        assert client.execute("a", "GET", "forked") == str(pid).encode()
        assert client_id(before) == parent_id  # the parent's conn still works
        client.put_master("a", before)


def test_pip_wheel_bundles_the_library(tmp_path):
    import os
    import subprocess
    import sys
    import zipfile
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    env = {k: v for k, v in os.environ.items() if k != "REDIS_SENTINEL_LIB"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), os.path.join(root, "bindings", "python")],
                   check=True, env=env)
    wheel = next(p for p in os.listdir(tmp_path) if p.endswith(".whl"))
    assert "none-any" not in wheel, wheel
    target = tmp_path / "installed"
    with zipfile.ZipFile(tmp_path / wheel) as zf:
        assert any(n.endswith("libredis_sentinel.so") for n in zf.namelist())
        zf.extractall(target)
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-c",
                          "import redis_sentinel, redis_sentinel._lib as l; "
                          "print(redis_sentinel.version(), l.lib._name)"],
                         check=True, env=env, cwd=str(tmp_path), capture_output=True, text=True)
    assert str(target) in out.stdout


def test_nested_errors_and_put_back_follow_the_library():
    # The binding classifies no error text itself: the library's one table decides.
    unblocked = b"UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
    assert errors._error_reply(unblocked).kind == ErrorKind.READONLY
    assert errors._error_reply(b"READONLY You can't write").is_readonly
    assert errors._error_reply(b"NOAUTH Authentication required.").kind == ErrorKind.AUTH
    assert errors._error_reply(b"WRONGTYPE Operation").kind == ErrorKind.SERVER
    assert str(errors._error_reply(b"ERR bad \xff")) == "ERR bad \ufffd"
    assert errors._HARMLESS == {ErrorKind.SERVER, ErrorKind.INVALID_ARGUMENT,
                                ErrorKind.UNKNOWN_MASTER, ErrorKind.NOT_REPLICATED}


def test_python_constants_match_the_header():
    import os
    header = open(os.path.join(os.path.dirname(__file__), "..", "..", "include",
                               "redis_sentinel.h")).read()

    def enum(prefix):
        return {name: int(value) for name, value in
                re.findall(r"\b%s([A-Z_]+) = (-?\d+)" % prefix, header)}

    errors = enum("SENTINEL_ERROR_")
    assert errors == {k.name: int(k) for k in ErrorKind}
    events = enum("SENTINEL_EVENT_")
    assert {v: k.lower() for k, v in events.items()} == _abi._EVENT_KINDS
    replies = enum("SENTINEL_REPLY_")
    for name, value in replies.items():
        assert getattr(_abi, name) == value, name
    messages = {int(v): k for k, v in re.findall(r"\b(SENTINEL_(?:P?MESSAGE\w*)) = (\d+)", header)}
    assert messages == {1: "SENTINEL_MESSAGE", 2: "SENTINEL_PMESSAGE", 3: "SENTINEL_MESSAGE_RESUBSCRIBED"}
    assert _abi.MESSAGE_TYPES == {1: "message", 2: "pmessage", 3: "resubscribed"}
    intos = enum("SENTINEL_INTO_")
    for name in ("NIL", "INTEGER", "STATUS", "REPLY"):
        assert getattr(_abi, "_INTO_" + name) == intos[name], name


def _header_structs():
    """Each ``typedef struct name {...}`` of the header: its fields as (name, kind, size),
    kind being signed, unsigned, float, bool, pointer or char[] (an array of char)."""
    header = re.sub(r"/\*.*?\*/", "", open(HEADER).read(), flags=re.S)
    sizes = {"int": 4, "int32_t": 4, "int64_t": 8, "long long": 8, "uint32_t": 4, "uint64_t": 8,
             "size_t": ctypes.sizeof(ctypes.c_size_t), "double": 8, "bool": 1}
    structs = {}
    for name, body in re.findall(r"typedef struct (\w+) \{(.*?)\} \1;", header, flags=re.S):
        fields = []
        for decl in filter(None, (d.strip() for d in body.split(";"))):
            array = re.fullmatch(r"char (\w+)\[(\d+)\]", decl)
            if array:
                fields.append((array.group(1), "char[]", int(array.group(2))))
                continue
            ctype, field = re.fullmatch(r"(.*?)\s*\b(\w+)", decl).groups()
            if ctype.endswith("*"):
                fields.append((field, "pointer", ctypes.sizeof(ctypes.c_void_p)))
            elif ctype.startswith("enum "):
                fields.append((field, "signed", 4))
            else:
                kind = ("unsigned" if ctype.startswith("uint") or ctype == "size_t" else
                        "float" if ctype == "double" else "bool" if ctype == "bool" else "signed")
                fields.append((field, kind, sizes[ctype]))
        structs[name] = fields
    return structs


def _ctypes_fields(structure):
    fields = []
    for name, ctype in structure._fields_:
        if issubclass(ctype, ctypes.Array):
            assert ctype._type_ is ctypes.c_char, name
            kind = "char[]"
        elif issubclass(ctype, ctypes._Pointer) or ctype._type_ in "zPO":
            kind = "pointer"
        else:
            kind = {"?": "bool", "d": "float"}.get(
                ctype._type_, "unsigned" if ctype._type_.isupper() else "signed")
        fields.append((name, kind, ctypes.sizeof(ctype)))
    return fields


def test_python_struct_layouts_match_the_header():
    from redis_sentinel import _lib
    structs = _header_structs()
    for c_name, structure in [("sentinel_reply", _lib.Reply), ("sentinel_reply_slot", _lib.ReplySlot),
                              ("sentinel_event", _lib.EventStruct),
                              ("sentinel_master_stats", _lib.MasterStatsStruct),
                              ("sentinel_message", _lib.MessageStruct)]:
        assert _ctypes_fields(structure) == structs[c_name], c_name
    # The flat node is read with struct.unpack, not ctypes: the same check on its format.
    codes = {("signed", 4): "i", ("signed", 8): "q", ("float", 8): "d", ("unsigned", 8): "Q"}
    flat = replies._FLAT_NODE.format
    assert flat[0] == "=" and "".join(codes[(k, s)] for _, k, s in structs["sentinel_flat_node"]) == flat[1:]
    assert replies._FLAT_NODE.size == 40


def test_every_native_call_on_a_client_is_registered_in_flight():
    """close() frees the native client once no call is in flight, so every native call that
    uses a client (or a conn of it) must run inside ``try``/``finally`` that registers it just
    before (``inflight.append(1)`` or ``_enter()``) and ends it in ``finally`` (``pop()`` or
    ``_leave()``). This finds every native call site of the client, conn and _hot modules."""
    import ast
    import inspect
    from redis_sentinel import _hot, _natives, client as client_module, conn as conn_module
    from redis_sentinel import pubsub as pubsub_module

    natives = {name for name, value in vars(_natives).items()
               if name.startswith("_") and callable(value) and name != "_pointer_arg"}
    # A message, once received, belongs to no client or subscription.
    independent = {"sentinel_message_free"}
    # _open makes the client before anyone can call it; close runs once the calls have ended.
    exempt = {"Client._open", "Client.close", "PubSub.close"}

    def is_native(call):
        f = call.func
        if isinstance(f, ast.Attribute):
            return (isinstance(f.value, ast.Name) and f.value.id == "lib"
                    and f.attr.startswith("sentinel_") and f.attr not in independent
                    ) or f.attr == "_native"
        return isinstance(f, ast.Name) and (f.id in natives or f.id == "native")

    def calls(node, names):
        return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                   and n.func.attr in names for n in ast.walk(node))

    found, unguarded = [], []

    def visit(node, where, guarded):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            where = "%s.%s" % (where, node.name) if where else node.name
        if isinstance(node, ast.Call) and is_native(node):
            found.append(where)
            if not guarded and where not in exempt:
                unguarded.append("%s: %s" % (where, ast.unparse(node)))
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for i, stmt in enumerate(block):
                registered = (isinstance(stmt, ast.Try) and i > 0
                              and calls(block[i - 1], {"append", "_enter"})
                              and any(calls(s, {"pop", "_leave"}) for s in stmt.finalbody))
                if registered:
                    for inner in stmt.body:
                        visit(inner, where, True)
                    for inner in stmt.handlers + stmt.orelse + stmt.finalbody:
                        visit(inner, where, guarded)
                else:
                    visit(stmt, where, guarded)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.stmt, ast.excepthandler)):
                visit(child, where, guarded)

    for module in (_hot, client_module, conn_module, pubsub_module):
        visit(ast.parse(inspect.getsource(module)), "", False)
    assert not unguarded, unguarded
    # The scan sees the hot paths, not just the easy ones.
    for where in ("execute", "cmd", "_check_out", "_check_in", "Client._execute_short",
                  "Client._execute_argv", "Client.stats", "Client.interrupt_waits", "Conn._call"):
        assert where in found, where
