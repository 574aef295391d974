"""Pub/Sub from Python against real processes: messages, patterns, unsubscribe, close, and a
subscription that follows a forced failover with a publisher running."""

import bisect
import threading
import time

import pytest

import redis_sentinel
from redis_sentinel import Error, ErrorKind


@pytest.fixture
def client(topo):
    c = redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=2, names=["a", "b"])
    yield c
    c.close()


def test_messages_patterns_and_unsubscribe(client):
    with client.pubsub("a") as ps:
        ps.subscribe("py.orders", b"py.audit")
        ps.psubscribe("py.news.*")
        assert ps.get_message(timeout=0.05) is None, "confirmations are not messages"
        client.execute("a", "PUBLISH", "py.orders", "1")
        client.execute("a", "PUBLISH", "py.news.x", b"\x00bin")
        client.execute("a", "PUBLISH", "py.elsewhere", "ignored")
        assert ps.get_message(timeout=2) == {"type": "message", "channel": b"py.orders",
                                             "pattern": None, "data": b"1"}
        assert ps.get_message(timeout=2) == {"type": "pmessage", "channel": b"py.news.x",
                                             "pattern": b"py.news.*", "data": b"\x00bin"}
        ps.unsubscribe("py.orders")
        ps.punsubscribe()
        client.execute("a", "PUBLISH", "py.orders", "2")
        client.execute("a", "PUBLISH", "py.news.y", "3")
        client.execute("a", "PUBLISH", "py.audit", "4")
        assert ps.get_message(timeout=2)["data"] == b"4"
        with pytest.raises(Error) as info:
            ps.subscribe()
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT
        with pytest.raises(Error) as info:
            ps.get_message(timeout=-1)
        assert info.value.kind == ErrorKind.INVALID_ARGUMENT
    with pytest.raises(Error) as info:
        ps.get_message()
    assert info.value.kind == ErrorKind.CLOSED
    with pytest.raises(Error) as info:
        client.pubsub("nope")
    assert info.value.kind == ErrorKind.UNKNOWN_MASTER


def test_close_from_another_thread_ends_listen(client):
    ps = client.pubsub("b")
    ps.subscribe("py.quiet")
    got = []
    done = threading.Event()

    def listen():
        for message in ps.listen():
            got.append(message)
        done.set()

    reader = threading.Thread(target=listen)
    reader.start()
    client.execute("b", "PUBLISH", "py.quiet", "hello")
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    ps.close()
    assert done.wait(2), "listen ended"
    reader.join()
    assert time.monotonic() - started < 1
    assert [m["data"] for m in got] == [b"hello"]


def test_a_subscription_of_a_closed_client_is_closed(topo):
    c = redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=1, names=["a"])
    ps = c.pubsub("a")
    c.close()
    with pytest.raises(Error) as info:
        ps.subscribe("x")
    assert info.value.kind == ErrorKind.CLOSED
    ps.close()


def test_a_forced_failover_resubscribes_once_in_order(failover_topo):
    client = redis_sentinel.Client("tcp", failover_topo.sentinel_addr, pool_size=4,
                                   names=["mymaster"], read_timeout=0.5, connect_timeout=0.3)
    stop = threading.Event()
    published = []

    def publish():
        n = 0
        while not stop.is_set():
            try:
                client.execute("mymaster", "PUBLISH", "seq", str(n))
                published.append(n)
            except Error:
                pass  # never published again: the old master may have delivered it
            n += 1
            time.sleep(0.001)

    try:
        ps = client.pubsub("mymaster")
        ps.subscribe("seq")
        publisher = threading.Thread(target=publish)
        publisher.start()
        received = []
        end = time.monotonic() + 0.5
        failed_over = False
        while time.monotonic() < end or not failed_over:
            if not failed_over and time.monotonic() >= end:
                failover_topo.failover("mymaster", wait=False)
                failed_over = True
                end = time.monotonic() + 5
            message = ps.get_message(timeout=0.1)
            if message is not None:
                received.append((time.monotonic(), message))
            if failed_over and time.monotonic() >= end:
                break
        stop.set()
        publisher.join()
        ps.close()
    finally:
        client.close()
    kinds = [m["type"] for _, m in received]
    assert kinds.count("resubscribed") >= 1, kinds
    numbers = [int(m["data"]) for _, m in received if m["type"] == "message"]
    assert numbers == sorted(set(numbers)), "no duplicates, in order"
    times = [t for t, m in received if m["type"] == "message"]
    pause = max(b - a for a, b in zip(times, times[1:]))
    assert pause < 1.0, pause
    after = kinds[kinds.index("resubscribed") + 1:]
    assert len(after) > 100, "messages after the marker"
    # An acknowledged message may be missing only where a marker stands.
    last, marked = -1, False
    for _, m in received:
        if m["type"] == "resubscribed":
            marked = True
            continue
        n = int(m["data"])
        skipped = bisect.bisect_left(published, n) - bisect.bisect_right(published, last)
        assert skipped == 0 or marked, "%d acknowledged messages before %d missing" % (skipped, n)
        last, marked = n, False


def test_a_subscription_from_before_a_fork_refuses_to_work_in_the_child(topo):
    import os
    with redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=1, names=["a"]) as client:
        ps = client.pubsub("a")
        ps.subscribe("py.forked")
        pid = os.fork()
        if pid == 0:  # child: never reads the parent's subscription socket
            code = 1
            try:
                try:
                    ps.get_message(timeout=0.1)
                except Error as e:
                    assert e.kind == ErrorKind.INVALID_ARGUMENT and "fork" in str(e)
                else:
                    raise AssertionError("a subscription from before the fork worked")
                with client.pubsub("a") as own:  # a new one works
                    own.subscribe("py.child")
                ps.close()  # the parent's to free: dropped here, not freed
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        client.execute("a", "PUBLISH", "py.forked", "still")
        assert ps.get_message(timeout=2)["data"] == b"still"
        ps.close()
