#!/usr/bin/env python3
"""make bench-instructions: user-space instructions per Python GET, counted by callgrind, for
a raw socket, our client.execute, our `with client.master(...)` block and redis-py. Unlike
round-trip times these repeat from run to run (with PYTHONHASHSEED fixed, to the hundred), so
they show what a change to the binding costs or saves. Each side runs in its own process twice,
with SHORT and LONG GETs after the same warm-up; the difference over LONG - SHORT GETs cancels
start-up. Only the calling thread is counted (not the client's watcher threads, not the
kernel)."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from topology import Topology, resp_command  # noqa: E402

SHORT, LONG = 500, 5500
SIDES = [("raw", "raw socket, pre-encoded (the floor)"),
         ("execute", "client.execute"),
         ("with", "with client.master(...) as conn: conn.cmd(...)"),
         ("redispy", "redis-py master_for (hiredis parser)")]


def workload(port, name, side, count):
    """Runs `count` GETs through `side` after a warm-up of every side: what callgrind counts."""
    from redis.sentinel import Sentinel

    import redis_sentinel
    from bench_py import get_sides, raw_socket_getter

    ours = redis_sentinel.Client("tcp", "127.0.0.1:%d" % port, pool_size=4, names=[name])
    theirs = Sentinel([("127.0.0.1", port)]).master_for(name)
    raw, raw_socket_get = raw_socket_getter(ours, name)
    sides = dict(get_sides(ours, theirs, name), raw=raw_socket_get)
    for fn in sides.values():
        for _ in range(50):
            fn()
    fn = sides[side]
    for _ in range(count):
        fn()
    raw.close()
    ours.close()


def main_thread_instructions(out_dir, tag):
    """Callgrind's total for the first thread of one run (its files end in -01)."""
    (path,) = glob.glob(os.path.join(out_dir, "cg.%s.*-01" % tag))
    with open(path) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError("no totals in " + path)


def main():
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (apt-get install -y valgrind)")
    base = tempfile.mkdtemp(prefix="redis-sentinel-instructions-")
    try:
        with Topology(base, names=["m0"], replicas=0, sentinels=1) as topo:
            resp_command(topo.masters["m0"].port, "SET", "bench:key", "some-value-16b..")
            # A fixed hash seed: dict and set layouts, and so the counts, repeat exactly.
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"),
                       PYTHONHASHSEED="0")
            print("| GET through | user-space instructions per GET |")
            print("|---|---:|")
            for side, label in SIDES:
                totals = []
                for n in (SHORT, LONG):
                    tag = "%s.%d" % (side, n)
                    subprocess.run(
                        ["valgrind", "--tool=callgrind", "--separate-threads=yes",
                         "--callgrind-out-file=" + os.path.join(base, "cg.%s.%%p" % tag),
                         sys.executable, os.path.abspath(__file__), "--workload",
                         str(topo.sentinels[0].port), "m0", side, str(n)],
                        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    totals.append(main_thread_instructions(base, tag))
                print("| %s | %.1fk |" % (label, (totals[1] - totals[0]) / (LONG - SHORT) / 1000))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--workload"]:
        workload(int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
