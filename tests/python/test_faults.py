"""A data node that misbehaves: replies that trickle, break the protocol, or come out of step.

The sentinels of the shared topology name the real master; the client's address map sends it
to a fake node instead, which answers GET <case> with the crafted bytes of that case and any
other command correctly. Every case must end within its bound with a clear error, and the
next command must get its own reply on a clean connection."""
import socket
import threading
import time

import pytest

import redis_sentinel
from redis_sentinel import Error, ErrorKind

READ_TIMEOUT = 1.0

# What the fake node sends for GET <case>: a list of (delay before, bytes).
CASES = {
    # Each byte 100 ms after the last: 20 reads, 2 s in all, past the 1 s bound.
    "trickle": [(0.1, bytes([b])) for b in b"$10\r\n0123456789\r\n"],
    "no_crlf_after_payload": [(0, b"$3\r\nabcXY")],
    "negative_length": [(0, b"$-5\r\n")],
    "negative_count": [(0, b"*-3\r\n")],
    "huge_length": [(0, b"$99999999999\r\n")],
    "huge_count_then_nothing": [(0, b"*4294967295\r\n:1\r\n")],
    "unknown_type": [(0, b"?what\r\n")],
    "lf_without_cr": [(0, b"+OK\n")],
    "endless_line": [(0, b"+" + b"x" * (2 * 1024 * 1024))],
    "bad_integer": [(0, b":12a\r\n")],
    "cut_then_silent": [(0, b"$10\r\n01234")],
    "closed_midway": [(0, b"$10\r\n01234"), (0, None)],
    # Out of step: a second reply nobody asked for, at once or a little later.
    "extra_reply": [(0, b"$5\r\nfirst\r\n$5\r\nstale\r\n")],
    "extra_reply_later": [(0, b"$5\r\nfirst\r\n"), (0.05, b"$5\r\nstale\r\n")],
    "two_writes": [(0, b"$5\r\nfirst\r\n"), (0, b"$5\r\nstale\r\n")],
}

# Cases that return a value before their fault shows; the next caller must not see "stale".
OUT_OF_STEP = {"extra_reply", "extra_reply_later", "two_writes"}


def _read_command(reader):
    """One RESP command (an array of bulk strings) from a file object, or None at EOF."""
    line = reader.readline()
    if not line:
        return None
    assert line.startswith(b"*"), line
    args = []
    for _ in range(int(line[1:])):
        size = int(reader.readline()[1:])
        args.append(reader.read(size + 2)[:-2])
    return args


class FakeNode:
    """A TCP server on a free loopback port that speaks just enough RESP."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        reader = conn.makefile("rb")
        try:
            while not self.stopping:
                args = _read_command(reader)
                if args is None:
                    return
                name = args[0].upper()
                if name == b"GET" and args[1].decode() in CASES:
                    for delay, data in CASES[args[1].decode()]:
                        time.sleep(delay)
                        if data is None:
                            conn.close()
                            return
                        conn.sendall(data)
                elif name == b"GET":
                    conn.sendall(b"$%d\r\n%s\r\n" % (len(args[1]), args[1]))
                elif name == b"PING":
                    conn.sendall(b"+PONG\r\n")
                else:
                    conn.sendall(b"+OK\r\n")
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        self.listener.close()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass


@pytest.fixture
def fake_client(topo):
    node = FakeNode()
    real = topo.masters["a"].port

    def to_fake(host, port):
        return ("127.0.0.1", node.port) if port == real else None

    client = redis_sentinel.Client("tcp", topo.sentinel_addr, pool_size=2, names=["a"],
                                   read_timeout=READ_TIMEOUT, address_map=to_fake)
    try:
        yield client
    finally:
        client.close()
        node.stop()


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_misbehaving_node_fails_fast_and_cleanly(fake_client, case):
    client = fake_client
    assert client.execute("a", "GET", "warm") == b"warm"
    started = time.monotonic()
    try:
        with client.master("a") as conn:
            reply = conn.cmd("GET", case)
        # Only an out-of-step reply may come back, before the extra bytes show.
        assert case in OUT_OF_STEP and reply == b"first", (case, reply)
    except Error as e:
        assert e.kind == ErrorKind.IO, (case, e)
    took = time.monotonic() - started
    assert took < READ_TIMEOUT + 0.3, "%s took %.2f s" % (case, took)
    # The next callers get their own replies, on conns that hold nothing of this one's.
    time.sleep(0.1)
    for i in range(4):
        assert client.execute("a", "GET", "next%d" % i) == b"next%d" % i, case
        with client.master("a") as conn:
            assert conn.cmd("GET", "again%d" % i) == b"again%d" % i, case


def test_errors_say_what_broke(fake_client):
    client = fake_client
    for case, words in [("no_crlf_after_payload", "CRLF"), ("negative_length", "length"),
                        ("trickle", "timed out"), ("unknown_type", "type byte"),
                        ("huge_length", "too long")]:
        with pytest.raises(Error) as info:
            client.execute("a", "GET", case)
        assert info.value.kind == ErrorKind.IO, (case, info.value)
        assert words in str(info.value), (case, str(info.value))


def test_a_pipeline_is_bounded_as_a_whole(fake_client):
    client = fake_client
    started = time.monotonic()
    with pytest.raises(Error) as info:
        with client.master("a") as conn:
            conn.pipeline([("GET", "x"), ("GET", "trickle"), ("GET", "y")])
    assert info.value.kind == ErrorKind.IO
    assert time.monotonic() - started < READ_TIMEOUT + 0.3
    assert client.execute("a", "GET", "z") == b"z"
