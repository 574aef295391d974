#!/usr/bin/env python3
"""Starts and stops real redis-server / redis-sentinel topologies on loopback ports.

Used by every harness: the Rust tests and the C harness call the command line, pytest and the
demo import it. Each server gets its own directory, port and pidfile under the topology's base
directory; everything is stopped by the pids recorded there, never by name.

    topology.py up --dir D [--names a,b] [--replicas 2] [--sentinels 3]   # prints KEY=VALUE lines
    topology.py down --dir D
"""

import argparse
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

STATE_FILE = "topology.json"

# The loopback addresses of a partitionable topology, by who uses them: the servers talk among
# themselves on "servers" (what sentinels report), the client under test dials data nodes on
# "data" and sentinels on "sentinels" (its address map rewrites what sentinels report), and the
# test observes on "observer". A cut of one path then leaves the others alone.
PARTITION_ADDRS = {"servers": "127.0.0.1", "data": "127.0.0.2", "sentinels": "127.0.0.3",
                   "observer": "127.0.0.4"}


PORT_LOG = "/tmp/redis-sentinel-test-ports"  # shared by every run on the machine, whatever TMPDIR
PORT_REUSE_AFTER = 3600.0


def free_port():
    """A free loopback port that no topology on this machine used in the last hour.

    Sentinels keep dialing the ports of nodes they saw die. If a parallel test started a server
    on such a port, those sentinels would publish their hellos there, and the two topologies
    would learn each other's sentinels. So ports are not reused across topologies."""
    now = time.time()
    with open(PORT_LOG, "a+") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.seek(0)
        recent = {}
        for line in log:
            try:
                port, stamp = line.split()
                if now - float(stamp) < PORT_REUSE_AFTER:
                    recent[int(port)] = float(stamp)
            except ValueError:
                continue
        for _ in range(1000):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in recent:
                break
        recent[port] = now
        log.seek(0)
        log.truncate()
        log.write("".join("%d %f\n" % item for item in recent.items()))
    return port


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        arg = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def make_certs(directory):
    """A CA, and a server and a client certificate it signed (SAN 127.0.0.1 and localhost),
    as PEM files in `directory`. Returns the directory."""
    os.makedirs(directory, exist_ok=True)

    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=redis-sentinel test CA")
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=localhost")
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", "san.ext")
    return directory


def resp_command(port, *args, timeout=2.0, host="127.0.0.1", password=None, ssl_ctx=None):
    """One command over a fresh socket (TLS when `ssl_ctx` is given, after AUTH when a password
    is given); returns the decoded reply (errors as RespError)."""
    raw = socket.create_connection((host, port), timeout=timeout)
    if ssl_ctx is not None:
        raw = ssl_ctx.wrap_socket(raw, server_hostname=host)
    with raw as sock:
        reader = sock.makefile("rb")
        if password is not None:
            sock.sendall(_encode(["AUTH", password]))
            reply = _read_reply(reader)
            if isinstance(reply, RespError):
                raise ConnectionError("AUTH refused on port %d" % port)
        sock.sendall(_encode(args))
        return _read_reply(reader)


class RespError(Exception):
    pass


def _read_reply(reader):
    line = reader.readline()
    if not line:
        raise ConnectionError("connection closed")
    tag, rest = line[:1], line[1:-2]
    if tag == b"+":
        return rest.decode()
    if tag == b"-":
        return RespError(rest.decode())
    if tag == b":":
        return int(rest)
    if tag == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if tag == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(reader) for _ in range(n)]
    raise ConnectionError("bad reply %r" % line)


def fields(flat):
    return dict(zip(flat[::2], flat[1::2]))


def wait_until(what, predicate, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (OSError, ConnectionError) as e:
            last_error = e
        time.sleep(interval)
    raise TimeoutError("timed out after %.0fs waiting for %s (last error: %s)" % (timeout, what, last_error))


def _pid_is_redis(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"redis" in f.read()
    except OSError:
        return False


class Server:
    def __init__(self, kind, name, port, directory):
        self.kind, self.name, self.port, self.dir = kind, name, port, directory
        self.pidfile = os.path.join(directory, "%s.pid" % kind)
        self.pid = None

    def to_json(self):
        return {"kind": self.kind, "name": self.name, "port": self.port, "dir": self.dir, "pid": self.pid}

    @classmethod
    def from_json(cls, data):
        server = cls(data["kind"], data["name"], data["port"], data["dir"])
        server.pid = data["pid"]
        return server

    def wait_pid(self, timeout=10.0):
        def has_pid():
            try:
                with open(self.pidfile) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                return False
            if not _pid_is_redis(pid):
                return False
            self.pid = pid
            return True

        wait_until("pidfile %s" % self.pidfile, has_pid, timeout)

    def alive(self):
        return self.pid is not None and _pid_is_redis(self.pid)

    def signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self):
        """SIGKILL and wait until the process is gone (it is our child only sometimes)."""
        if not self.alive():
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while _pid_is_redis(self.pid) and time.monotonic() < deadline:
            try:
                os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pass
            try:
                with open("/proc/%d/stat" % self.pid) as f:
                    if f.read().split(") ")[1].startswith("Z"):
                        break
            except OSError:
                break
            time.sleep(0.01)


class Topology:
    """Masters (one per name), each with replicas, watched by sentinels, all on 127.0.0.1."""

    def __init__(self, base_dir, names=("mymaster",), replicas=2, sentinels=3, quorum=None,
                 down_after_ms=1000, failover_timeout_ms=3000, replica_priority=None,
                 unpromotable=False, password=None, acl_user=None, sentinel_password=None,
                 tls_dir=None, hostnames=False, partitionable=False):
        self.base = os.path.abspath(base_dir)
        self.names = list(names)
        self.n_replicas = replicas
        self.n_sentinels = sentinels
        self.quorum = quorum or max(1, sentinels // 2 + 1)
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.replica_priority = replica_priority
        # Replicas that refuse SLAVEOF: a failover selects one, cannot promote it, and aborts.
        self.unpromotable = unpromotable
        # requirepass on data nodes (and masterauth on replicas, auth-pass in sentinels), an
        # extra ACL user (name, password[, rules]; rules default to "+@all") on data nodes,
        # requirepass on sentinels.
        self.password, self.acl_user, self.sentinel_password = password, acl_user, sentinel_password
        # With a directory from make_certs: every server speaks TLS only (plaintext port 0).
        self.tls_dir = tls_dir
        # Every node is known by the name "localhost", not an IP: replicas announce it and
        # sentinels report it (resolve-hostnames, announce-hostnames), as in Kubernetes.
        self.hostnames = hostnames
        self.host = "localhost" if hostnames else "127.0.0.1"
        # "localhost" may resolve to ::1 first: listen there too where the machine has it.
        self._bind = "127.0.0.1 -::1" if hostnames else "127.0.0.1"
        # For partition tests: every server also listens on 127.0.0.2-4, so that a firewall
        # rule can cut one path to it and leave the others (see PARTITION_ADDRS).
        if partitionable:
            self._bind = " ".join(PARTITION_ADDRS.values())
        self.ssl = None
        if tls_dir:
            import ssl
            self.ssl = ssl.create_default_context(cafile=os.path.join(tls_dir, "ca.crt"))
            self.ssl.load_cert_chain(os.path.join(tls_dir, "client.crt"), os.path.join(tls_dir, "client.key"))
        self.masters = {}    # name -> Server (the initial master)
        self.replicas = {}   # name -> [Server]
        self.sentinels = []  # [Server]

    # ----- lifecycle -------------------------------------------------------------------
    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        os.makedirs(self.base, exist_ok=True)
        for name in self.names:
            master = self._start_redis("master", name, None)
            self.masters[name] = master
            self.replicas[name] = [self._start_redis("replica%d" % i, name, master.port)
                                   for i in range(self.n_replicas)]
        for i in range(self.n_sentinels):
            self.sentinels.append(self._start_sentinel(i))
        self.save()
        self.wait_ready()

    def _server_dir(self, label):
        d = os.path.join(self.base, label)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def _start_redis(self, role, name, master_port):
        port = free_port()
        server = Server("redis", "%s-%s" % (name, role), port, self._server_dir("%s-%s" % (name, role)))
        conf = [
            "port %d" % port, "bind %s" % self._bind, "dir %s" % server.dir,
            "pidfile %s" % server.pidfile, "daemonize yes", "logfile %s/redis.log" % server.dir,
            'save ""', "appendonly no", "protected-mode no",
        ]
        if self.hostnames:
            conf.append("replica-announce-ip localhost")
        if master_port:
            conf.append("replicaof %s %d" % (self.host, master_port))
            if self.replica_priority is not None:
                conf.append("replica-priority %d" % self.replica_priority)
            if self.unpromotable:
                conf += ['rename-command SLAVEOF ""', 'rename-command REPLICAOF ""']
        if self.password:
            conf += ["requirepass %s" % self.password, "masterauth %s" % self.password]
        conf += self._tls_conf(port)
        if self.acl_user:
            user, password, *rules = self.acl_user
            conf.append("user %s on >%s ~* &* %s" % (user, password, " ".join(rules) or "+@all"))
        conf_path = os.path.join(server.dir, "redis.conf")
        if os.path.exists(server.pidfile):
            os.unlink(server.pidfile)
        with open(conf_path, "w") as f:
            f.write("\n".join(conf) + "\n")
        subprocess.run(["redis-server", conf_path], check=True, stdout=subprocess.DEVNULL)
        server.wait_pid()
        self.save_partial(server)
        wait_until("redis on port %d" % port,
                   lambda: resp_command(port, "PING", password=self.password, ssl_ctx=self.ssl) == "PONG", 10)
        return server

    def _start_sentinel(self, i):
        port = free_port()
        server = Server("sentinel", "sentinel%d" % i, port, self._server_dir("sentinel%d" % i))
        conf = [
            "port %d" % port, "bind %s" % self._bind, "dir %s" % server.dir,
            "pidfile %s" % server.pidfile, "daemonize yes", "logfile %s/sentinel.log" % server.dir,
            "protected-mode no", "unixsocket %s/sentinel.sock" % server.dir,
        ]
        if self.hostnames:
            conf += ["sentinel resolve-hostnames yes", "sentinel announce-hostnames yes",
                     "sentinel announce-ip localhost"]
        for name in self.names:
            conf += [
                "sentinel monitor %s %s %d %d" % (name, self.host, self.masters[name].port,
                                                  self.quorum),
                "sentinel down-after-milliseconds %s %d" % (name, self.down_after_ms),
                "sentinel failover-timeout %s %d" % (name, self.failover_timeout_ms),
                "sentinel parallel-syncs %s 2" % name,
            ]
            if self.password:
                conf.append("sentinel auth-pass %s %s" % (name, self.password))
        if self.sentinel_password:
            conf += ["requirepass %s" % self.sentinel_password,
                     "sentinel sentinel-pass %s" % self.sentinel_password]
        conf += self._tls_conf(port)
        conf_path = os.path.join(server.dir, "sentinel.conf")
        with open(conf_path, "w") as f:
            f.write("\n".join(conf) + "\n")
        self._launch_sentinel(server)
        return server

    def _tls_conf(self, port):
        if not self.tls_dir:
            return []
        f = lambda name: os.path.join(self.tls_dir, name)  # noqa: E731
        return ["port 0", "tls-port %d" % port, "tls-cert-file %s" % f("server.crt"),
                "tls-key-file %s" % f("server.key"), "tls-ca-cert-file %s" % f("ca.crt"),
                "tls-replication yes", "tls-auth-clients optional"]

    def _launch_sentinel(self, server):
        # A killed server leaves its pidfile behind: never mistake that pid for the new one.
        try:
            os.unlink(server.pidfile)
        except FileNotFoundError:
            pass
        subprocess.run(["redis-sentinel", os.path.join(server.dir, "sentinel.conf")],
                       check=True, stdout=subprocess.DEVNULL)
        server.wait_pid()
        self.save_partial(server)
        wait_until("sentinel on port %d" % server.port,
                   lambda: resp_command(server.port, "PING", password=self.sentinel_password,
                                        ssl_ctx=self.ssl) == "PONG", 10)

    def wait_ready(self, timeout=30.0):
        """Every sentinel knows every replica and every other sentinel; replicas are in sync."""
        def ready():
            for name in self.names:
                for replica in self.replicas[name]:
                    info = self.cmd(replica.port, "INFO", "replication")
                    if "master_link_status:up" not in info:
                        return False
                for s in self.sentinels:
                    if not s.alive():
                        continue
                    reps = [fields(r) for r in self.cmd(s.port, "SENTINEL", "REPLICAS", name)]
                    # The sentinel must have read each replica's own INFO (its priority), not
                    # only the master's list of replicas.
                    priority = str(100 if self.replica_priority is None else self.replica_priority)
                    ok = [r for r in reps if "s_down" not in r["flags"]
                          and "disconnected" not in r["flags"]
                          and r.get("master-link-status") == "ok"
                          and r.get("slave-priority") == priority]
                    if len(ok) < self.n_replicas:
                        return False
                    others = self.cmd(s.port, "SENTINEL", "SENTINELS", name)
                    if len(others) < len([x for x in self.sentinels if x.alive()]) - 1:
                        return False
            return True

        wait_until("topology ready", ready, timeout, interval=0.1)

    def all_servers(self):
        servers = list(self.sentinels)
        for name in self.names:
            if name in self.masters:
                servers.append(self.masters[name])
            servers.extend(self.replicas.get(name, []))
        return servers

    def stop(self):
        servers = self.all_servers()
        try:
            with open(os.path.join(self.base, "pids")) as f:
                for line in f:
                    if line.strip():
                        server = Server("redis", "pid", 0, self.base)
                        server.pid = int(line)
                        servers.append(server)
        except OSError:
            pass
        for server in servers:
            server.kill()

    def save_partial(self, server):
        """Records a pid as soon as it exists, so a failed start still cleans up."""
        path = os.path.join(self.base, "pids")
        with open(path, "a") as f:
            f.write("%d\n" % server.pid)

    def save(self):
        with open(os.path.join(self.base, STATE_FILE), "w") as f:
            json.dump({
                "names": self.names,
                "masters": {n: s.to_json() for n, s in self.masters.items()},
                "replicas": {n: [s.to_json() for s in rs] for n, rs in self.replicas.items()},
                "sentinels": [s.to_json() for s in self.sentinels],
            }, f)

    @classmethod
    def load(cls, base_dir):
        with open(os.path.join(base_dir, STATE_FILE)) as f:
            data = json.load(f)
        topo = cls(base_dir, names=data["names"], replicas=0, sentinels=0)
        topo.masters = {n: Server.from_json(s) for n, s in data["masters"].items()}
        topo.replicas = {n: [Server.from_json(s) for s in rs] for n, rs in data["replicas"].items()}
        topo.sentinels = [Server.from_json(s) for s in data["sentinels"]]
        return topo

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        """Stops every server and removes the topology's directory (it was the caller's
        temporary directory: demo and benchmarks create one per run)."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # ----- queries and faults ----------------------------------------------------------
    def cmd(self, port, *args):
        """A command to one of this topology's servers, authenticated as it requires."""
        is_sentinel = any(s.port == port for s in self.sentinels)
        password = self.sentinel_password if is_sentinel else self.password
        return resp_command(port, *args, password=password, ssl_ctx=self.ssl)

    @property
    def sentinel_addr(self):
        return "127.0.0.1:%d" % self.sentinels[0].port

    def sentinel_socket(self, i=0):
        return os.path.join(self.sentinels[i].dir, "sentinel.sock")

    def server_by_port(self, port):
        for server in self.all_servers():
            if server.port == port:
                return server
        raise KeyError(port)

    def master_port(self, name, sentinel=None):
        """The master's port as a live sentinel reports it."""
        for s in ([sentinel] if sentinel else self.sentinels):
            if s.alive():
                try:
                    host, port = self.cmd(s.port, "SENTINEL", "get-master-addr-by-name", name)
                    return int(port)
                except (OSError, ConnectionError):
                    continue
        raise ConnectionError("no sentinel reachable")

    def role(self, port):
        return self.cmd(port, "ROLE")[0]

    def failover(self, name, wait=True, timeout=20.0):
        """Forces a failover and (by default) waits until every sentinel reports the new master
        and it answers ROLE master. Returns (old_port, new_port)."""
        old = self.master_port(name)
        reply = self.cmd(self.sentinels[0].port, "SENTINEL", "FAILOVER", name)
        if isinstance(reply, RespError):
            raise reply
        if wait:
            new = self.wait_switch(name, old, timeout)
            return old, new
        return old, None

    def wait_switch(self, name, old, timeout=20.0):
        result = {}

        def switched():
            ports = {self.master_port(name, s) for s in self.sentinels if s.alive()}
            if len(ports) == 1 and old not in ports:
                port = ports.pop()
                if self.role(port) == "master":
                    result["port"] = port
                    return True
            return False

        wait_until("failover of %s away from %d" % (name, old), switched, timeout)
        return result["port"]

    def restart_sentinel(self, i):
        self._launch_sentinel(self.sentinels[i])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--dir", required=True)
    up.add_argument("--names", default="mymaster")
    up.add_argument("--replicas", type=int, default=2)
    up.add_argument("--sentinels", type=int, default=3)
    up.add_argument("--replica-priority", type=int, default=None)
    up.add_argument("--unpromotable", action="store_true", help="replicas refuse SLAVEOF")
    up.add_argument("--partitionable", action="store_true",
                    help="servers listen on 127.0.0.1-4 as well (see PARTITION_ADDRS)")
    down = sub.add_parser("down")
    down.add_argument("--dir", required=True)
    fail = sub.add_parser("failover", help="force a failover; prints OLD_PORT and NEW_PORT")
    fail.add_argument("--dir", required=True)
    fail.add_argument("--name", default="mymaster")
    sig = sub.add_parser("signal", help="send a signal to the server on a port (KILL, STOP, CONT)")
    sig.add_argument("--dir", required=True)
    sig.add_argument("--port", type=int, required=True)
    sig.add_argument("--sig", required=True)
    wait = sub.add_parser("wait-switch", help="wait until every live sentinel names a new master")
    wait.add_argument("--dir", required=True)
    wait.add_argument("--name", default="mymaster")
    wait.add_argument("--old-port", type=int, required=True)
    for verb in ("kill-sentinel", "restart-sentinel"):
        op = sub.add_parser(verb)
        op.add_argument("--dir", required=True)
        op.add_argument("--index", type=int, default=0)
    args = parser.parse_args()
    if args.cmd == "failover":
        old, new = Topology.load(args.dir).failover(args.name)
        print("OLD_PORT=%d\nNEW_PORT=%d" % (old, new))
        return 0
    if args.cmd == "signal":
        server = Topology.load(args.dir).server_by_port(args.port)
        if args.sig == "KILL":
            server.kill()
        else:
            server.signal(getattr(signal, "SIG" + args.sig))
        return 0
    if args.cmd == "wait-switch":
        print("NEW_PORT=%d" % Topology.load(args.dir).wait_switch(args.name, args.old_port))
        return 0
    if args.cmd == "kill-sentinel":
        Topology.load(args.dir).sentinels[args.index].kill()
        return 0
    if args.cmd == "restart-sentinel":
        topo = Topology.load(args.dir)
        topo.restart_sentinel(args.index)
        topo.save()
        return 0
    if args.cmd == "up":
        topo = Topology(args.dir, names=args.names.split(","), replicas=args.replicas,
                        sentinels=args.sentinels, replica_priority=args.replica_priority,
                        unpromotable=args.unpromotable, partitionable=args.partitionable).start()
        print("SENTINEL_ADDR=%s" % topo.sentinel_addr)
        print("SENTINEL_PORTS=%s" % ",".join(str(s.port) for s in topo.sentinels))
        print("SENTINEL_PIDS=%s" % ",".join(str(s.pid) for s in topo.sentinels))
        print("SENTINEL_SOCKET=%s" % topo.sentinel_socket())
        print("NAMES=%s" % ",".join(topo.names))
        for name in topo.names:
            print("MASTER_PORT_%s=%d" % (name, topo.masters[name].port))
            print("REPLICA_PORTS_%s=%s" % (name, ",".join(str(r.port) for r in topo.replicas[name])))
        return 0
    # down: kill every pid recorded while starting (the state file may not exist yet)
    Topology(args.dir, replicas=0, sentinels=0).stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
