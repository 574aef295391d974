"""``Client``: the native client's lifetime (open, reopen after a fork, close), the calls in
flight that close waits for, and the commands it runs itself (``Client.execute`` lives in
``_hot``)."""

import collections
import os
import threading
import time
import weakref
from ctypes import byref, c_char_p
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from . import _hot, _lib, replies
from ._lib import ErrorPtr, lib
from ._natives import _get_master, _master_command_argv, _master_command_into, _pointer_arg
from .arguments import Arg, _argv, _name, _short
from .conn import Conn, _Checkout, _check_in, _check_out, _new, _unattached
from .errors import Error, ErrorKind, _check, _closed, _take_error
from .options import _options, _set_extras, _wait_replicas
from .pubsub import PubSub
from .replies import _slot_reply, _take_reply, _take_slot

# Bound by assignment, not imported: CPython compiles a method call on a name an import bound
# (taking it for a module) as an attribute load, which builds a bound method on every call;
# for _FREE_SLOTS.pop and .append that cost each GET 1.1k instructions.
_FREE_SLOTS = replies._FREE_SLOTS


_CLOSE_LOCK = threading.Lock()


_LIVE_CLIENTS: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    global _CLOSE_LOCK
    _CLOSE_LOCK = threading.Lock()  # another parent thread may have held it at fork time
    for client in list(_LIVE_CLIENTS):
        client._inflight = collections.deque()  # calls in flight belonged to parent threads
        if not client._closed:
            client._forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Client:
    """A Sentinel client: one pool per master name, following failovers by itself.

    Safe to share between threads. Every call after ``close()`` raises Error(CLOSED).
    """

    def __init__(self, network: str, address: str, pool_size: int = 10,
                 names: Iterable[str] = (), *,
                 sentinels: Iterable[Union[str, Tuple[str, str]]] = (),
                 connect_timeout: Optional[float] = None,
                 read_timeout: Optional[float] = None,
                 write_timeout: Optional[float] = None,
                 pool_wait: Optional[float] = None,
                 fence_wait: Optional[float] = None,
                 sentinel_timeout: Optional[float] = None,
                 busy_poll: Optional[float] = None,
                 tcp_keepalive: Optional[int] = None,
                 wait_replicas: int = 0,
                 wait_timeout: float = 0.1,
                 password: Optional[str] = None,
                 username: Optional[str] = None,
                 sentinel_password: Optional[str] = None,
                 sentinel_username: Optional[str] = None,
                 db: Optional[int] = None,
                 client_name: Optional[str] = None,
                 resp3: bool = False,
                 tls: Optional[Dict[str, str]] = None,
                 sentinel_tls: Optional[Dict[str, str]] = None,
                 address_map: Optional[Callable[[str, int], Optional[Tuple[str, int]]]] = None,
                 on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
                 log_events: bool = False):
        """Connects to the sentinel at ``address`` (and any in ``sentinels``: "host:port" or
        (network, address) pairs), resolves every name, and starts following failovers.

        Timeouts are in seconds. Defaults: connect 1, read 3, write 3, pool wait 4, fence
        wait 5, sentinel 1. The read timeout bounds a command's whole reply (a pipeline's
        replies together) from the moment it was sent, however slowly the bytes arrive;
        blocking commands (BLPOP, XREAD BLOCK, WAIT...) get their own timeout on top.
        ``password``/``username`` authenticate to masters and replicas,
        ``sentinel_password``/``sentinel_username`` to sentinels. ``db`` is SELECTed and
        ``client_name`` set on every data connection; ``resp3`` speaks RESP3. ``tls`` and
        ``sentinel_tls`` are dicts of ``ca_file``, ``cert_file``, ``key_file`` (PEM paths) and
        ``server_name`` (verified instead of the dialed host).
        ``address_map(host, port)`` may return another ``(host, port)`` to dial for an address a
        sentinel reported. ``on_event(event)`` receives dicts (``kind``, ``master``,
        ``old_address``, ``new_address``, ``sentinel``) on the client's own threads; with
        ``log_events`` they also go to the ``redis_sentinel`` logger. ``busy_poll`` (seconds,
        at most 0.01; default 0) spins on the socket that long for each reply before sleeping:
        lower latency for a core kept busy while waiting (a connection whose replies keep
        missing it pauses spinning for a while). ``tcp_keepalive`` (whole seconds,
        default 15, 0 for off) has the kernel probe connections silent that long, so a peer
        that vanished without closing is noticed while the connection sits in the pool.
        ``wait_replicas`` (default 0: off) turns on durable writes: after the writes of each
        call (a command, a pipeline, a transaction's EXEC) the client sends ``WAIT
        wait_replicas wait_timeout`` in the same round trip, and raises Error(NOT_REPLICATED)
        when fewer replicas confirmed within ``wait_timeout`` seconds (default 0.1): the write
        reached the master but may be lost in a failover; the connection stays usable. Reads
        never wait."""
        self._ptr = None
        self._closed = False
        # One entry per native call in flight: deque.append/pop are atomic, cheaper than a lock.
        self._inflight: "collections.deque[int]" = collections.deque()
        if isinstance(names, (str, bytes)):
            raise Error(ErrorKind.INVALID_ARGUMENT,
                        "names must be a list of master names, got %r (did you mean [%r]?)"
                        % (names, names))
        names = list(names)
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
            raise Error(ErrorKind.INVALID_ARGUMENT, "pool_size must be a positive int, got %r" % (pool_size,))
        for name in names:
            if not isinstance(name, str):
                raise Error(ErrorKind.INVALID_ARGUMENT, "master names must be str, got %r" % (name,))
        if not isinstance(network, str) or not isinstance(address, str):
            raise Error(ErrorKind.INVALID_ARGUMENT, "network and address must be str")
        timeouts = {"connect_timeout": connect_timeout, "read_timeout": read_timeout,
                    "write_timeout": write_timeout, "pool_wait": pool_wait,
                    "fence_wait": fence_wait, "sentinel_timeout": sentinel_timeout}
        extras = {"password": password, "username": username,
                  "sentinel_password": sentinel_password, "sentinel_username": sentinel_username,
                  "db": db, "client_name": client_name, "resp3": resp3,
                  "tls": tls, "sentinel_tls": sentinel_tls,
                  "address_map": address_map, "on_event": on_event, "log_events": log_events,
                  "busy_poll": busy_poll, "tcp_keepalive": tcp_keepalive,
                  "wait": _wait_replicas(wait_replicas, wait_timeout)}
        self._spec = (network, address, pool_size, names, list(sentinels), timeouts, extras)
        self._callbacks: List[Any] = []  # ctypes callbacks must outlive the native client
        self._forked = False   # set in a child after os.fork(): reopen before the next call
        self._forks = 0        # bumped on reopen after a fork; conns of an older count are unusable
        self._ptr = self._open()
        self._arg = _pointer_arg(self._ptr.value)  # what the hot paths pass for _ptr
        self.names = names
        _LIVE_CLIENTS.add(self)

    @classmethod
    def from_url(cls, url: str, pool_size: int = 0) -> "Client":
        """A client configured by one string, the same in C, C++, Rust and Python:
        ``redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/name[,name...][/db]
        [?params]`` (``rediss+sentinel://`` for TLS to the data nodes). The parameters are this
        class's keyword names, in seconds (``read_timeout=0.5&wait_replicas=1&wait_timeout=0.1``);
        ``pool_size`` 0 keeps the URL's (default 10). ``names`` is None on such a client."""
        if not isinstance(url, str):
            raise Error(ErrorKind.INVALID_ARGUMENT, "url must be str, got %r" % (url,))
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
            raise Error(ErrorKind.INVALID_ARGUMENT, "pool_size must be an int >= 0, got %r" % (pool_size,))
        client = cls.__new__(cls)
        client._ptr = None
        client._closed = False
        client._inflight = collections.deque()
        client._spec = ("url", url, pool_size)
        client._callbacks = []
        client._forked = False
        client._forks = 0
        client._ptr = client._open()
        client._arg = _pointer_arg(client._ptr.value)
        client.names = None
        _LIVE_CLIENTS.add(client)
        return client

    def _open(self):
        """Creates the native client from the arguments given to the constructor."""
        if self._spec[0] == "url":
            _, url, pool_size = self._spec
            err = ErrorPtr()
            ptr = lib.sentinel_client_new_from_url(url.encode(), pool_size, byref(err))
            if not ptr:
                raise _take_error(err)
            return ptr
        network, address, pool_size, names, sentinels, timeouts, extras = self._spec
        encoded = [n.encode("utf-8") for n in names]
        array = (c_char_p * max(1, len(encoded)))(*encoded)
        err = ErrorPtr()
        plain = all(v is None or v is False for v in extras.values())  # db=0 is not plain
        if plain and not sentinels and all(v is None for v in timeouts.values()):
            ptr = lib.sentinel_client_new(network.encode(), address.encode(), pool_size, array,
                                          len(encoded), byref(err))
        else:
            opts = _options([(network, address)] + sentinels, timeouts)
            try:
                self._callbacks = _set_extras(opts, extras)
            except BaseException:
                lib.sentinel_options_free(opts)
                raise
            try:
                ptr = lib.sentinel_client_new_with_options(opts, pool_size, array, len(encoded),
                                                           byref(err))
            finally:
                lib.sentinel_options_free(opts)
        if not ptr:
            raise _take_error(err)
        return ptr

    def _reopen_after_fork(self):
        """In a forked child: the parent's native client (its threads and sockets) must never be
        touched here, so it is abandoned and a fresh one opened, as redis-py does with pools."""
        with _CLOSE_LOCK:
            if self._forked and not self._closed:
                self._ptr = self._open()
                self._arg = _pointer_arg(self._ptr.value)
                self._forks += 1
                self._forked = False

    # A native call runs inside _enter/_leave so close() can wait for calls in flight. The
    # order (register, then check) pairs with close (mark, then wait): either the call sees
    # the client closed, or close sees the call and waits for it.
    def _enter(self):
        self._inflight.append(1)
        if self._closed or self._forked:
            try:
                return self._reenter()
            except BaseException:
                self._inflight.pop()
                raise
        return self._ptr

    def _leave(self):
        self._inflight.pop()

    def _reenter(self):
        """_enter's slow half, for a caller that registered itself already: raises if the
        client is closed, reopens it in a forked child."""
        if self._closed:
            raise _closed()
        self._reopen_after_fork()
        if self._closed:
            raise _closed()
        return self._ptr

    @property
    def closed(self) -> bool:
        return self._closed

    def get_master(self, name: str) -> "Conn":
        """Checks out a connection to the current master of ``name``."""
        return _check_out(_unattached(Conn, self, name, _get_master))

    def get_replica(self, name: str) -> "Conn":
        """Checks out a connection to a healthy replica of ``name`` (round-robin). Put it
        back with put_master / carefully_put_master, or use ``with client.replica(name)``."""
        return _check_out(_unattached(Conn, self, name, lib.sentinel_get_replica))

    def replica(self, name: str) -> "_Checkout":
        """``with client.replica("name") as conn:`` checks out a replica conn and carefully
        puts it back when the block ends."""
        return _unattached(_Checkout, self, name, lib.sentinel_get_replica)

    def put_master(self, name: str, conn: "Conn") -> None:
        """Puts ``conn`` back; it is closed instead if it is broken or its master moved."""
        self.carefully_put_master(name, conn, None)

    def carefully_put_master(self, name: str, conn: "Conn", err: Optional[BaseException]) -> None:
        """Puts ``conn`` back, closing it unless ``err`` is None or a harmless error
        (a SERVER error reply, or a bad argument that never reached the server)."""
        if not isinstance(conn, Conn) or conn._client is not self:
            raise Error(ErrorKind.INVALID_ARGUMENT, "conn was not checked out of this client")
        if self._closed:
            raise _closed()
        _check_in(conn, None, err, None)

    execute = _hot.execute

    def _execute_short(self, encoded: bytes, args: Tuple[Arg, ...]) -> Any:
        short = _short(args)
        if short is None:
            return self._execute_argv(encoded, args)
        scratch = _take_slot()
        try:
            ptr = self._enter()
            try:
                kind = _master_command_into(ptr, encoded, scratch[1], *short)
            finally:
                self._leave()
            return _slot_reply(kind, scratch)
        finally:
            _FREE_SLOTS.append(scratch)

    def _execute_argv(self, encoded: bytes, args: Tuple[Arg, ...]) -> Any:
        argv, argvlen, argc, err, err_ref = _argv(args)
        ptr = self._enter()
        try:
            reply = _master_command_argv(ptr, encoded, argc, argv, argvlen, err_ref)
        finally:
            self._leave()
        return _take_reply(reply, err)

    def stats(self, name: str) -> Dict[str, Any]:
        """A snapshot of master ``name``: address, generation, conns open/idle/in use,
        failovers seen, fences raised, whether it is fenced now, and the last switch time
        (seconds since the epoch, or None)."""
        encoded = _name(name)
        ptr = self._enter()
        try:
            out = _lib.MasterStatsStruct()
            err = ErrorPtr()
            _check(lib.sentinel_client_stats(ptr, encoded, byref(out), byref(err)), err)
        finally:
            self._leave()
        return {
            "address": out.address.decode(), "generation": out.generation,
            "conns_open": out.conns_open, "conns_idle": out.conns_idle,
            "conns_in_use": out.conns_in_use, "fenced": bool(out.fenced),
            "failovers_seen": out.failovers_seen, "fences_raised": out.fences_raised,
            "last_switch": out.last_switch_unix_ms / 1000 if out.last_switch_unix_ms else None,
        }

    def master(self, name: str) -> "_Checkout":
        """``with client.master("name") as conn: ...`` checks out a connection to the current
        master when the block starts and carefully puts it back when it ends. Returns the conn
        itself, not yet checked out; it may be used for one block at a time."""
        block = _new(_Checkout)  # _unattached, inline: every `with` block runs this
        block._client, block.name, block._ptr, block._forks = self, name, None, -1
        block._native = _get_master
        return block

    def pubsub(self, name: str) -> "PubSub":
        """A subscription on the current master of ``name`` that follows it across failovers:
        ``ps.subscribe("orders")``, then ``ps.get_message(timeout=1.0)`` or ``ps.listen()``.
        Also ``with client.pubsub(name) as ps:``."""
        return PubSub(self, name)

    def interrupt_waits(self) -> None:
        """Ends every command of this client waiting on the server (BLPOP, XREAD BLOCK, WAIT
        and the like): each raises an IO error now, and its conn is closed when put back.
        Commands that start waiting later are not affected. ``close`` does this itself."""
        ptr = self._enter()
        try:
            lib.sentinel_client_interrupt_waits(ptr)
        finally:
            self._leave()

    def close(self) -> None:
        """Stops background threads and closes every connection; commands other threads are
        waiting in (BLPOP and the like) end with an IO error. Closing twice is a no-op."""
        with _CLOSE_LOCK:
            if self._closed:
                return
            self._closed = True
        # Calls in flight end within their timeouts, or, waiting on the server, when woken.
        # Woken again each time round: a call may start its wait just after a wake.
        while self._inflight:
            if self._ptr is not None and not self._forked:
                lib.sentinel_client_interrupt_waits(self._ptr)
            time.sleep(0.001)
        ptr, self._ptr = self._ptr, None
        if ptr and not self._forked:  # a parent's client is the parent's to close
            lib.sentinel_client_close(ptr)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        # At interpreter shutdown module globals may already be gone: never raise here.
        try:
            if self._ptr is not None and not self._closed:
                self.close()
        except Exception:
            pass
