#!/usr/bin/env python3
"""make bench: starts 20 masters and a sentinel on loopback, then runs the C benchmark (our API
against hiredis), the Python benchmark (our binding against redis-py), and the resource check;
then a master with one replica for durable writes (plain INCR against INCR with WAIT 1); and
prints one table. Every comparison runs interleaved in the same process and topology."""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from topology import Topology, resp_command  # noqa: E402

NAMES = ["m%d" % i for i in range(20)]
PROCESSES = 3  # for the round-trip latencies, C and Python


def run(cmd, env):
    out = subprocess.run(cmd, env=env, check=True, stdout=subprocess.PIPE).stdout.decode()
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def median_of(cmd, env, processes):
    """Each value's median over `processes` runs of `cmd`. Round-trip timings move by several
    microseconds from one process to the next (the same code, laid out differently in
    memory); every process still interleaves its sides, so each sees the same noise."""
    runs = [run(cmd, env) for _ in range(processes)]
    return {k: statistics.median(float(one[k]) for one in runs) for k in runs[0]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--c-bench", required=True)
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="redis-sentinel-bench-")
    print("starting 20 masters and 1 sentinel ...", flush=True)
    with Topology(base, names=NAMES, replicas=0, sentinels=1) as topo:
        port = topo.masters["m0"].port
        resp_command(port, "SET", "bench:key", "some-value-16b..")
        env = dict(os.environ, SENTINEL_ADDR=topo.sentinel_addr, NAME="m0", MASTER_PORT=str(port),
                   PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
        r = {}
        for mode in ("latency", "getput", "pipeline", "threads"):
            print("C: %s ..." % mode, flush=True)
            r.update(median_of([args.c_bench, mode], env, PROCESSES if mode == "latency" else 1))
        for count in (1, 20):
            one = run([args.c_bench, "resources"], dict(env, NAMES=",".join(NAMES[:count])))
            r.update({"%s_%d" % (k, count): v for k, v in one.items()})
        print("Python ...", flush=True)
        r.update(median_of([sys.executable, os.path.join(HERE, "bench_py.py"),
                            str(topo.sentinels[0].port), "m0"], env, PROCESSES))
    # Durable writes need a replica to confirm them: a master of its own with one.
    print("starting a master with 1 replica for durable writes ...", flush=True)
    with Topology(tempfile.mkdtemp(prefix="redis-sentinel-bench-"), names=["d0"], replicas=1,
                  sentinels=1) as topo:
        env = dict(os.environ, SENTINEL_ADDR=topo.sentinel_addr, NAME="d0",
                   MASTER_PORT=str(topo.masters["d0"].port))
        print("C: durable ...", flush=True)
        r.update(median_of([args.c_bench, "durable"], env, PROCESSES))

    f = {k: float(v) for k, v in r.items()}
    rows = [
        ("C: GET round trip (checkout + GET + put back)", "%.1f us" % f["GET_US_OURS"],
         "%.1f us" % f["GET_US_HIREDIS"], "%.3fx time" % (f["GET_US_OURS"] / f["GET_US_HIREDIS"])),
        ("C: GET round trip, busy_poll %d us (opt-in)" % f["BUSY_POLL_US"], "%.1f us" % f["GET_US_OURS_BUSYPOLL"],
         "%.1f us" % f["GET_US_HIREDIS"], "%.3fx time" % (f["GET_US_OURS_BUSYPOLL"] / f["GET_US_HIREDIS"])),
        ("C: get_master + put_master, no command", "%.0f ns" % f["GETPUT_NS"], "-", "-"),
        ("C: pipelined SET, depth 100", "%.0f/s" % f["PIPE_OPS_OURS"], "%.0f/s" % f["PIPE_OPS_HIREDIS"],
         "%.2fx" % (f["PIPE_OPS_OURS"] / f["PIPE_OPS_HIREDIS"])),
    ]
    rows += [
        ("C: INCR round trip, durable writes (wait_replicas=%d, 1 replica) vs plain INCR"
         % f["WAIT_REPLICAS"], "%.1f us" % f["INCR_US_DURABLE"],
         "%.1f us (ours, plain)" % f["INCR_US_PLAIN"],
         "%.2fx time" % (f["INCR_US_DURABLE"] / f["INCR_US_PLAIN"])),
        ("C: INCR + WAIT %d in one write (durable INCR)" % f["WAIT_REPLICAS"],
         "%.1f us" % f["INCR_US_DURABLE"], "%.1f us" % f["INCR_US_HIREDIS_WAIT"],
         "%.3fx time" % (f["INCR_US_DURABLE"] / f["INCR_US_HIREDIS_WAIT"])),
    ]
    for t in (1, 2, 4):
        o, h = f["THREADS%d_OPS_OURS" % t], f["THREADS%d_OPS_HIREDIS" % t]
        rows.append(("C: GET throughput, %d thread%s" % (t, "s" if t > 1 else ""), "%.0f/s" % o,
                     "%.0f/s" % h, "%.2fx" % (o / h)))
    rows += [
        ("Python: GET (checkout, GET, put back)", "%.1f us" % f["PY_GET_US_OURS"],
         "%.1f us (redis-py)" % f["PY_GET_US_REDISPY"], "%.2fx faster" % (f["PY_GET_US_REDISPY"] / f["PY_GET_US_OURS"])),
        ("Python: GET via client.execute (same, in one native call)", "%.1f us" % f["PY_EXECUTE_US_OURS"],
         "%.1f us (redis-py)" % f["PY_GET_US_REDISPY"], "%.2fx faster" % (f["PY_GET_US_REDISPY"] / f["PY_EXECUTE_US_OURS"])),
        ("Python: GET (checkout, GET, put back), busy_poll %d us (opt-in)" % f["BUSY_POLL_US"], "%.1f us" % f["PY_GET_US_OURS_BUSYPOLL"],
         "%.1f us (redis-py)" % f["PY_GET_US_REDISPY"], "%.2fx faster" % (f["PY_GET_US_REDISPY"] / f["PY_GET_US_OURS_BUSYPOLL"])),
        ("Python: GET over a raw socket, pre-encoded, no client (the floor)", "%.1f us" % f["PY_GET_US_RAW_SOCKET"],
         "%.1f us (redis-py)" % f["PY_GET_US_REDISPY"], "%.2fx faster" % (f["PY_GET_US_REDISPY"] / f["PY_GET_US_RAW_SOCKET"])),
        # What each client adds to the floor: the part a client controls, with less of the
        # VM's wake-up noise in it than the ratios above.
        ("Python: time a client adds to the floor, per GET (client.execute)",
         "%.1f us" % (f["PY_EXECUTE_US_OURS"] - f["PY_GET_US_RAW_SOCKET"]),
         "%.1f us (redis-py)" % (f["PY_GET_US_REDISPY"] - f["PY_GET_US_RAW_SOCKET"]),
         "%.1fx less" % ((f["PY_GET_US_REDISPY"] - f["PY_GET_US_RAW_SOCKET"])
                         / max(0.1, f["PY_EXECUTE_US_OURS"] - f["PY_GET_US_RAW_SOCKET"]))),
        ("Python: pipelined SET, depth 100", "%.0f/s" % f["PY_PIPE_OPS_OURS"],
         "%.0f/s (redis-py)" % f["PY_PIPE_OPS_REDISPY"], "%.2fx faster" % (f["PY_PIPE_OPS_OURS"] / f["PY_PIPE_OPS_REDISPY"])),
        ("Idle client, 1 master, pools of 10: threads / RSS (of it private: heap, stacks)",
         "%d / %d KiB (%d KiB)" % (f["THREADS_ADDED_1"], f["RSS_ADDED_KB_1"], f["ANON_ADDED_KB_1"]), "-", "-"),
        ("Idle client, 20 masters, pools of 10: threads / RSS (of it private: heap, stacks)",
         "%d / %d KiB (%d KiB)" % (f["THREADS_ADDED_20"], f["RSS_ADDED_KB_20"], f["ANON_ADDED_KB_20"]), "-", "-"),
        ("Threads left after close (1 / 20 masters)", "%d / %d" % (f["THREADS_AFTER_CLOSE_1"], f["THREADS_AFTER_CLOSE_20"]), "-", "-"),
    ]
    print()
    print("| measurement | redis-sentinel | comparison (hiredis unless named) | ratio |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| %s | %s | %s | %s |" % row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
