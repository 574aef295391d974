#!/usr/bin/env python3
"""make bench-failover: one topology (1 master, 2 replicas, 3 sentinels), three INCR writers
running side by side (our C API, our Python binding, redis-py's Sentinel.master_for), first
through a forced failover, then through a kill -9 of the master.

For each writer it prints the longest gap between two acknowledged writes, how many
acknowledged writes the surviving master does not have, and when the writer's first write
landed on the new master, relative to the first +switch-master any sentinel published
(negative: before it). A monitor polls every data node every millisecond for ROLE and the
writers' counters, which is how "first write on the new master" is seen from outside.

Then a queue through one more forced failover: a producer (our binding) and one BLPOP consumer
per client; for each consumer, the longest wait between two items, and items lost or received
twice.

Last, SIGSTOP of the master (a hung node: connects succeed, nothing is answered) in a topology
with 3 replicas, once with a 500 ms read timeout on every side and once with 3 s (our default),
the longest gap counting a writer still stuck at the end."""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from topology import Topology, resp_command, wait_until  # noqa: E402

NAME = "mymaster"
WRITERS = ("C API", "Python binding", "redis-py master_for")


class Announcements:
    """First time each sentinel event was seen on any sentinel."""

    def __init__(self, ports):
        self.first = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._listen, args=(p,), daemon=True) for p in ports]
        for t in self.threads:
            t.start()

    def reset(self):
        with self.lock:
            self.first = {}

    def _listen(self, port):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$1\r\n*\r\n")
        sock.settimeout(0.1)
        buf = b""
        while not self.stop.is_set():
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            buf += data
            for event in re.findall(rb"\$\d+\r\n([+-][a-z-]+)\r\n", buf):
                with self.lock:
                    self.first.setdefault(event.decode(), now)
            buf = buf[-256:]


class NodeMonitor:
    """Polls ROLE and the writers' counters on every data node every millisecond."""

    def __init__(self, ports, keys):
        self.ports, self.keys = ports, keys
        self.became_master = {}   # port -> time
        self.first_write = {}     # key -> (port, time)
        self.base = {}            # (port, key) -> value when the node became master
        self.exclude = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, exclude_port):
        self.exclude = {exclude_port}
        self.thread.start()

    def _run(self):
        socks = {}
        while not self.stop.is_set():
            for port in self.ports:
                if port in self.exclude:
                    continue
                try:
                    if port not in socks:
                        socks[port] = socket.create_connection(("127.0.0.1", port), timeout=0.2)
                    role, values = self._poll(socks[port])
                except OSError:
                    socks.pop(port, None)
                    continue
                now = time.monotonic()
                if role != "master":
                    continue
                if port not in self.became_master:
                    self.became_master[port] = now
                    for key, value in zip(self.keys, values):
                        self.base[(port, key)] = value
                    continue
                for key, value in zip(self.keys, values):
                    if key not in self.first_write and value > self.base[(port, key)]:
                        self.first_write[key] = (port, now)
            time.sleep(0.001)

    def _poll(self, sock):
        cmds = [["ROLE"], ["MGET"] + list(self.keys)]
        out = b""
        for cmd in cmds:
            out += b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in cmd)
        sock.sendall(out)
        reader = sock.makefile("rb")
        role = _read(reader)[0]
        values = [int(v) if v else 0 for v in _read(reader)]
        return role, values


def _read(reader):
    line = reader.readline()
    tag, rest = line[:1], line[1:-2]
    if tag == b"*":
        return [_read(reader) for _ in range(int(rest))]
    if tag == b"$":
        n = int(rest)
        return None if n < 0 else reader.read(n + 2)[:-2].decode()
    if tag in (b"+", b":"):
        return rest.decode()
    raise OSError("bad reply %r" % line)


def parse(output):
    return dict(line.split("=", 1) for line in output.decode().splitlines() if "=" in line)


def run_scenario(topo, label, fault, c_writer, seconds_after, ann, read_timeout=1.0):
    old = topo.master_port(NAME)
    keys = ["bench:%s:%d" % (label, i) for i in range(3)]
    ports = [s.port for s in topo.all_servers() if s.kind == "redis" and s.alive()]
    sentinel_ports = ",".join(str(s.port) for s in topo.sentinels)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    total = 1.5 + seconds_after
    procs = [
        subprocess.Popen([c_writer, topo.sentinel_addr, NAME, keys[0], str(total),
                          str(int(read_timeout * 1000))], stdout=subprocess.PIPE),
        subprocess.Popen([sys.executable, os.path.join(HERE, "failover_writer.py"), "ours",
                          sentinel_ports, NAME, keys[1], str(total), str(read_timeout)],
                         stdout=subprocess.PIPE, env=env),
        subprocess.Popen([sys.executable, os.path.join(HERE, "failover_writer.py"), "redis-py",
                          sentinel_ports, NAME, keys[2], str(total), str(read_timeout)],
                         stdout=subprocess.PIPE, env=env),
    ]
    monitor = NodeMonitor(ports, keys)
    monitor.start(exclude_port=old)
    time.sleep(1.5)
    ann.reset()
    fault(old)
    new = topo.wait_switch(NAME, old, timeout=30)
    results = [parse(p.communicate(timeout=total + 60)[0]) for p in procs]
    monitor.stop.set()
    time.sleep(0.3)
    switch_at = ann.first.get("+switch-master")
    selected_at = ann.first.get("+selected-slave")
    # More than one node promoted means the sentinels failed over twice (a failover that
    # timed out, then another): writes acknowledged by the first one are lost to every client.
    promoted = sorted(monitor.became_master.items(), key=lambda item: item[1])
    print("  %s: promoted %s; the sentinels ended on %d" % (label, ", ".join(
        "%d at %+.0f ms" % (port, (at - (selected_at or at)) * 1000) for port, at in promoted),
        new), flush=True)
    rows = []
    for writer, key, result in zip(WRITERS, keys, results):
        counter = int(resp_command(new, "GET", key) or 0)
        acked = int(result["ACKED"])
        lost = max(0, acked - counter)
        first = monitor.first_write.get(key)
        def since(at):
            return "-" if not first or at is None else "%+.0f" % ((first[1] - at) * 1000)
        rows.append((label, writer, float(result["GAP_MS"]), lost, acked, since(switch_at),
                     since(selected_at)))
    return rows, new


CONSUMERS = (("ours", "Python binding"), ("redis-py", "redis-py master_for"))


def run_queue(topo, seconds_after):
    """Scenario 3: a forced failover while a producer feeds one list per consumer."""
    lists = ["bench:queue:%s" % kind for kind, _ in CONSUMERS]
    sentinel_ports = ",".join(str(s.port) for s in topo.sentinels if s.alive())
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    script = os.path.join(HERE, "failover_consumer.py")
    total = 1.5 + seconds_after

    def start(kind, key):
        return subprocess.Popen([sys.executable, script, kind, sentinel_ports, NAME, key,
                                 str(total)], stdout=subprocess.PIPE, env=env)

    consumers = [start(kind, key) for (kind, _), key in zip(CONSUMERS, lists)]
    producer = start("producer", ",".join(lists))
    time.sleep(1.5)
    old = topo.master_port(NAME)
    resp_command(topo.sentinels[0].port, "SENTINEL", "FAILOVER", NAME)
    topo.wait_switch(NAME, old, timeout=30)
    produced = int(parse(producer.communicate(timeout=total + 60)[0])["PRODUCED"])
    rows = []
    for (_, label), proc in zip(CONSUMERS, consumers):
        result = parse(proc.communicate(timeout=total + 60)[0])
        received, distinct = int(result["RECEIVED"]), int(result["DISTINCT"])
        rows.append((label, float(result["GAP_MS"]), produced - distinct, received - distinct,
                     produced))
    return rows


SUBSCRIBERS = (("c", "C API"), ("ours", "Python binding"), ("redis-py", "redis-py master_for"))


def run_pubsub(topo, label, fault, c_subscriber, seconds_after):
    """A publisher that follows the failover, and one subscriber per client on its channel."""
    channel = "bench:pubsub:%s" % label
    sentinel_ports = ",".join(str(s.port) for s in topo.sentinels if s.alive())
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    script = os.path.join(HERE, "failover_subscriber.py")
    total = 1.5 + seconds_after

    def start(kind):
        if kind == "c":
            command = [c_subscriber, topo.sentinel_addr, NAME, channel, str(total + 0.5)]
        else:
            command = [sys.executable, script, kind, sentinel_ports, NAME, channel, str(total + 0.5)]
        return subprocess.Popen(command, stdout=subprocess.PIPE, env=env)

    subscribers = [start(kind) for kind, _ in SUBSCRIBERS]
    for proc in subscribers:
        proc.stdout.readline()  # READY: subscribed
    publisher = start("publisher")
    time.sleep(1.5)
    old = topo.master_port(NAME)
    fault(old)
    topo.wait_switch(NAME, old, timeout=30)
    published = int(parse(publisher.communicate(timeout=total + 60)[0])["PUBLISHED"])
    rows = []
    for (_, client), proc in zip(SUBSCRIBERS, subscribers):
        result = parse(proc.communicate(timeout=total + 60)[0])
        rows.append((label, client, float(result["GAP_MS"]),
                     max(0, published - int(result["DISTINCT"])), int(result["OUT_OF_ORDER"]),
                     int(result["MARKERS"]), published))
    return rows


def wait_replicas(port, count, timeout=40):
    def ready():
        info = resp_command(port, "INFO", "replication")
        online = len(re.findall(r"slave\d+:.*state=online", info))
        return online >= count
    wait_until("%d replicas online on %d" % (count, port), ready, timeout, interval=0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--c-writer", required=True)
    parser.add_argument("--c-subscriber", required=True)
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="redis-sentinel-bench-")
    print("starting 1 master, 2 replicas, 3 sentinels ...", flush=True)
    with Topology(base, names=[NAME], replicas=2, sentinels=3) as topo:
        ann = Announcements([s.port for s in topo.sentinels])

        def forced(old):
            resp_command(topo.sentinels[0].port, "SENTINEL", "FAILOVER", NAME)

        def kill(old):
            topo.server_by_port(old).kill()

        print("scenario 1: forced failover (SENTINEL FAILOVER), writers run 12 s after it", flush=True)
        rows, new = run_scenario(topo, "forced", forced, args.c_writer, 12.0, ann)
        print("waiting for the old master to rejoin as a replica ...", flush=True)
        wait_replicas(new, 2)
        print("scenario 2: kill -9 of the master, writers run 6 s after it", flush=True)
        rows2, _ = run_scenario(topo, "kill -9", kill, args.c_writer, 6.0, ann)
        ann.stop.set()
        print("scenario 3: forced failover under a queue (RPUSH producer, BLPOP consumers), "
              "12 s after it", flush=True)
        queue_rows = run_queue(topo, 12.0)
        new = topo.master_port(NAME)
        print("waiting for the old master to rejoin as a replica ...", flush=True)
        wait_replicas(new, 1)
        print("scenario 4: Pub/Sub through a forced failover, 8 s after it", flush=True)
        pubsub_rows = run_pubsub(topo, "forced", forced, args.c_subscriber, 8.0)
        wait_replicas(topo.master_port(NAME), 1)
        print("scenario 5: Pub/Sub through a kill -9 of the master, 8 s after it", flush=True)
        pubsub_rows += run_pubsub(topo, "kill -9", kill, args.c_subscriber, 8.0)
    stop_rows = []
    print("starting 1 master, 3 replicas, 3 sentinels for SIGSTOP ...", flush=True)
    with Topology(tempfile.mkdtemp(prefix="redis-sentinel-bench-"), names=[NAME], replicas=3,
                  sentinels=3) as topo:
        ann = Announcements([s.port for s in topo.sentinels])
        for label, read_timeout in (("SIGSTOP, 500 ms", 0.5), ("SIGSTOP, 3 s (our default)", 3.0)):
            def stop(old):
                topo.server_by_port(old).signal(signal.SIGSTOP)
                # Let it go once every writer is done, so none waits on it for ever.
                timer = threading.Timer(1.5 + 8.0 + 10.0, topo.server_by_port(old).signal,
                                        args=(signal.SIGCONT,))
                timer.daemon = True
                timer.start()
                stopped.append((old, timer))

            stopped = []
            print("scenario: %s read timeout on every side, writers run 8 s after it" % label,
                  flush=True)
            rows3, new = run_scenario(topo, label, stop, args.c_writer, 8.0, ann, read_timeout)
            for old, timer in stopped:
                timer.cancel()
                topo.server_by_port(old).signal(signal.SIGCONT)
            stop_rows += rows3
            print("waiting for the old master to rejoin as a replica ...", flush=True)
            wait_replicas(new, 3)
        ann.stop.set()
    print()
    print("| scenario | client | longest write gap (ms) | acked writes lost | acked writes "
          "| first write on new master after first +switch-master (ms) | ... after first +selected-slave (ms) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, writer, gap, lost, acked, after_switch, after_selected in rows + rows2 + stop_rows:
        print("| %s | %s | %.0f | %d | %d | %s | %s |" % (label, writer, gap, lost, acked, after_switch,
                                                     after_selected))
    print()
    print("| scenario | consumer | longest wait between two items (ms) | items lost "
          "| items received twice | items produced |")
    print("|---|---|---:|---:|---:|---:|")
    for label, gap, lost, twice, produced in queue_rows:
        print("| forced, queue | %s | %.0f | %d | %d | %d |" % (label, gap, lost, twice, produced))
    print()
    print("| scenario | subscriber | longest pause in received messages (ms) | messages missed "
          "| received twice or out of order | resubscribed markers | messages published |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, client, gap, missed, disorder, markers, published in pubsub_rows:
        print("| %s, Pub/Sub | %s | %.0f | %d | %d | %d | %d |" % (label, client, gap, missed,
                                                              disorder, markers, published))
    return 0


if __name__ == "__main__":
    sys.exit(main())
