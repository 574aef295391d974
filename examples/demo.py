#!/usr/bin/env python3
"""make demo: starts 1 master + 2 replicas + 3 sentinels, writes through the C and the Python
client, forces a failover, and shows both clients following it. Stops everything at the end."""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))

import redis_sentinel  # noqa: E402
from topology import Topology, resp_command  # noqa: E402

SECONDS = 6.0


def python_writer(addr, stop, out):
    acked = failed = 0
    port = None
    start = time.monotonic()
    with redis_sentinel.Client("tcp", addr, pool_size=4, names=["mymaster"]) as client:
        last_check = 0.0
        while not stop.is_set():
            try:
                with client.master("mymaster") as conn:
                    conn.cmd("INCR", "demo:py")
                    acked += 1
                    if time.monotonic() - last_check > 0.1:
                        last_check = time.monotonic()
                        now_port = int(conn.cmd("CONFIG", "GET", "port")[1])
                        if now_port != port:
                            print("[python] t=%5.2fs  writing to master on port %d (%d INCRs acknowledged so far)"
                                  % (time.monotonic() - start, now_port, acked), flush=True)
                            port = now_port
            except redis_sentinel.Error:
                failed += 1
    out["acked"], out["failed"] = acked, failed
    print("[python] done: %d INCRs acknowledged, %d failed" % (acked, failed), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--c-demo", required=True, help="path of the built examples/demo.c")
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="redis-sentinel-demo-")
    print("starting 1 master, 2 replicas, 3 sentinels under %s ..." % base, flush=True)
    with Topology(base, names=["mymaster"], replicas=2, sentinels=3) as topo:
        print("master on port %d, replicas on %s, sentinels on %s" % (
            topo.masters["mymaster"].port, [r.port for r in topo.replicas["mymaster"]],
            [s.port for s in topo.sentinels]), flush=True)
        c_proc = subprocess.Popen([args.c_demo, topo.sentinel_addr, "mymaster", str(SECONDS)],
                                  stdout=subprocess.PIPE, text=True)
        c_lines = []

        def relay():
            for line in c_proc.stdout:
                c_lines.append(line)
                print(line, end="", flush=True)

        relay_thread = threading.Thread(target=relay)
        relay_thread.start()
        stop, result = threading.Event(), {}
        writer = threading.Thread(target=python_writer, args=(topo.sentinel_addr, stop, result))
        writer.start()
        time.sleep(2)
        print("forcing a failover: SENTINEL FAILOVER mymaster", flush=True)
        old, new = topo.failover("mymaster")
        print("sentinels agree: master moved from port %d to port %d" % (old, new), flush=True)
        time.sleep(SECONDS - 2.5)
        stop.set()
        writer.join()
        c_proc.wait(timeout=30)
        relay_thread.join()
        c_acked = next((int(l.split()[2]) for l in c_lines if "done:" in l), 0)
        c_total = int(resp_command(new, "GET", "demo:c") or 0)
        py_total = int(resp_command(new, "GET", "demo:py") or 0)
        for who, acked, total in (("C", c_acked, c_total), ("Python", result.get("acked", 0), py_total)):
            print("%-6s client: %d INCRs acknowledged, %d on the new master, %d lost"
                  % (who, acked, total, max(0, acked - total)), flush=True)
        print("stopping every server ...", flush=True)
    return c_proc.returncode


if __name__ == "__main__":
    sys.exit(main())
