"""make bench, Python side: our binding against redis-py (with its hiredis parser), interleaved.
Usage: bench_py.py SENTINEL_PORT NAME. Prints KEY=VALUE lines."""
import random
import socket
import sys
import time

import redis
from redis.sentinel import Sentinel

import redis_sentinel

BUSY_POLL = 100e-6  # seconds, as the C benchmark's BUSY_POLL_US


def raw_socket_getter(client, name):
    """The floor for any Python client: a pre-encoded GET over a plain socket to the master
    `client` uses for `name`, no client at all. Returns the socket and the GET function."""
    master_port = int(client.stats(name)["address"].rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", master_port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    raw_get = b"*2\r\n$3\r\nGET\r\n$9\r\nbench:key\r\n"

    def raw_socket_get():
        raw.sendall(raw_get)
        reply = raw.recv(4096)
        while not reply.endswith(b"\r\n") or reply.count(b"\r\n") < 2:
            reply += raw.recv(4096)

    return raw, raw_socket_get


def get_sides(ours, theirs, name):
    """The GETs both benchmarks time, by side: through a `with` block, through
    `client.execute` (both on `ours`), and through redis-py (`theirs`)."""
    def with_block():
        with ours.master(name) as conn:
            conn.cmd("GET", "bench:key")

    def execute():
        ours.execute(name, "GET", "bench:key")

    def redis_py():
        theirs.get("bench:key")

    return {"with": with_block, "execute": execute, "redispy": redis_py}


def main():
    port, name = int(sys.argv[1]), sys.argv[2]
    ours = redis_sentinel.Client("tcp", "127.0.0.1:%d" % port, pool_size=4, names=[name])
    spinning = redis_sentinel.Client("tcp", "127.0.0.1:%d" % port, pool_size=4, names=[name],
                                     busy_poll=BUSY_POLL)
    theirs = Sentinel([("127.0.0.1", port)]).master_for(name)
    assert redis.utils.HIREDIS_AVAILABLE, "install hiredis so redis-py uses its C parser"

    get_by = get_sides(ours, theirs, name)
    our_get, our_execute, their_get = get_by["with"], get_by["execute"], get_by["redispy"]
    our_get_spinning = get_sides(spinning, theirs, name)["with"]
    raw, raw_socket_get = raw_socket_getter(ours, name)

    commands = [("SET", "bench:pipe", "some-value-16b..")] * 100

    def our_pipeline():
        with ours.master(name) as conn:
            conn.pipeline(commands)

    def their_pipeline():
        pipe = theirs.pipeline(transaction=False)
        for command in commands:
            pipe.set(command[1], command[2])
        pipe.execute()

    def timed(fn, n):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - t0

    for fn in (our_get, our_execute, their_get, our_pipeline, their_pipeline, our_get_spinning,
               raw_socket_get):
        timed(fn, 200)  # warm up: open connections
    rounds, gets, pipes = 40, 250, 12
    sides = [("get_ours", our_get, gets), ("execute_ours", our_execute, gets),
             ("get_theirs", their_get, gets), ("pipe_ours", our_pipeline, pipes),
             ("pipe_theirs", their_pipeline, pipes), ("get_spinning", our_get_spinning, gets),
             ("get_raw", raw_socket_get, gets)]
    totals = {key: 0.0 for key, _, _ in sides}
    # A fresh order every round, from a fixed seed. Rotating a fixed order would give each side
    # the same predecessor every time, and what ran just before moves a round trip by
    # microseconds: up to 0.15 of the GET ratio, measured.
    orders = random.Random(1)
    for _ in range(rounds):
        orders.shuffle(sides)
        for key, fn, n in sides:
            totals[key] += timed(fn, n)
    print("PY_GET_US_OURS=%.1f" % (totals["get_ours"] / (rounds * gets) * 1e6))
    print("PY_GET_US_RAW_SOCKET=%.1f" % (totals["get_raw"] / (rounds * gets) * 1e6))
    print("PY_GET_US_OURS_BUSYPOLL=%.1f" % (totals["get_spinning"] / (rounds * gets) * 1e6))
    print("PY_EXECUTE_US_OURS=%.1f" % (totals["execute_ours"] / (rounds * gets) * 1e6))
    print("PY_GET_US_REDISPY=%.1f" % (totals["get_theirs"] / (rounds * gets) * 1e6))
    print("PY_PIPE_OPS_OURS=%.0f" % (rounds * pipes * 100 / totals["pipe_ours"]))
    print("PY_PIPE_OPS_REDISPY=%.0f" % (rounds * pipes * 100 / totals["pipe_theirs"]))
    raw.close()
    ours.close()
    spinning.close()


if __name__ == "__main__":
    main()
