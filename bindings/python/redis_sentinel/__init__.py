"""redis_sentinel: a Redis Sentinel client that follows failovers by itself.

    client = redis_sentinel.Client("tcp", "127.0.0.1:26379", pool_size=10, names=["bucket0"])
    with client.master("bucket0") as conn:
        conn.cmd("SET", "foo", 1)
    client.close()
"""

import array
import collections
import ctypes
import itertools
import logging
import os
import struct
import enum
import threading
import time
import weakref
from ctypes import byref, c_char_p, c_size_t, c_void_p
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from . import _lib
from ._lib import ConnPtr, ErrorPtr, lib

__all__ = ["Client", "Conn", "Error", "ErrorKind", "version"]

Arg = Union[str, bytes, bytearray, memoryview, int, float]


class ErrorKind(enum.IntEnum):
    INVALID_ARGUMENT = 1
    SENTINEL = 2
    UNKNOWN_MASTER = 3
    IO = 4
    POOL_TIMEOUT = 5
    READONLY = 6
    SERVER = 7
    AUTH = 8
    CLOSED = 9
    INTERNAL = 10


# Kinds after which a connection may be reused; any other error closes it on careful put-back.
# The library's own rule for which error kinds leave a connection usable, read once.
_HARMLESS = frozenset(k for k in ErrorKind if not lib.sentinel_error_kind_breaks_connection(k))


def _error_reply(raw: bytes) -> "Error":
    """A nested error reply as an Error, of the kind the library gives that reply."""
    return Error(ErrorKind(lib.sentinel_error_reply_kind(raw, len(raw))),
                 raw.decode("utf-8", "replace"))


class Error(Exception):
    """An error from the client. ``kind`` is an ErrorKind; ``str(e)`` is the message."""

    def __init__(self, kind: int, message: str, is_sentinel: bool = False,
                 is_readonly: Optional[bool] = None):
        super().__init__(message)
        self.kind = ErrorKind(kind)
        self.message = message
        self.is_sentinel = is_sentinel
        self.is_readonly = self.kind == ErrorKind.READONLY if is_readonly is None else is_readonly

    def __repr__(self):
        return "Error(%s, %r)" % (self.kind.name, self.message)


def _take_error(err: ErrorPtr) -> Error:
    """Copies a native error into an Error and frees the native one."""
    try:
        message = (lib.sentinel_error_message(err) or b"").decode("utf-8", "replace")
        return Error(lib.sentinel_error_get_kind(err), message,
                     bool(lib.sentinel_error_is_sentinel(err)),
                     bool(lib.sentinel_error_is_readonly(err)))
    finally:
        lib.sentinel_error_free(err)
        err.value = None  # the slot may be reused by the thread's next call


def _take_reply(reply, err: ErrorPtr) -> Any:
    """Converts and frees a native reply, or raises the native error when there is none."""
    if not reply:
        raise _take_error(err)
    try:
        r = reply[0]
        if r.type == STRING:  # the common case, without another call
            return r.str[:r.len]
        return _convert(reply)
    finally:
        _reply_free(reply)


def _closed() -> Error:
    return Error(ErrorKind.CLOSED, "the client is closed")


def version() -> str:
    """The native library's version, "MAJOR.MINOR.PATCH"."""
    return lib.sentinel_version().decode()


def _encode(arg: Arg) -> bytes:
    if type(arg) is str:
        return arg.encode()
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode("utf-8")
    if isinstance(arg, bool):
        raise Error(ErrorKind.INVALID_ARGUMENT,
                    "bool argument %r: pass an int or a string instead" % arg)
    if isinstance(arg, int):
        return str(arg).encode()
    if isinstance(arg, float):
        return repr(arg).encode()
    if isinstance(arg, (bytearray, memoryview)):
        return bytes(arg)
    raise Error(ErrorKind.INVALID_ARGUMENT,
                "argument of type %s: use str, bytes, int or float" % type(arg).__name__)


_CACHED = 16
_ARGV_TYPES = [c_char_p * n for n in range(_CACHED)]
_LEN_TYPES = [c_size_t * n for n in range(_CACHED)]
_SIZES = tuple(c_size_t(n) for n in range(_CACHED))  # argc for the unchecked calls
_UNCHECKED = _lib.unchecked(lib)
_command_into = _UNCHECKED["sentinel_command_into"]
_master_command_into = _UNCHECKED["sentinel_master_command_into"]
_master_command_into_str = _UNCHECKED["sentinel_master_command_into_str"]
_command_into_str = _UNCHECKED["sentinel_command_into_str"]
_command_argv = _UNCHECKED["sentinel_command_argv"]
_master_command_argv = _UNCHECKED["sentinel_master_command_argv"]
_reply_free = _UNCHECKED["sentinel_reply_free"]
_get_master = _UNCHECKED["sentinel_get_master"]
_put_master = _UNCHECKED["sentinel_put_master"]
# A handle (its address) as ctypes passes it most cheaply to a function without argtypes: a
# ready pointer argument, as byref() makes, where a c_void_p would be converted again on every
# call. Functions with argtypes accept it too.
_pointer_arg = c_void_p.from_param
_new = object.__new__
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


_SCRATCH = threading.local()
_SIZE_T_CODE = next((c for c in "QLI" if array.array(c).itemsize == ctypes.sizeof(c_size_t)), None)


def _packed_argv(flat):
    """argv/argvlen for many arguments without one ctypes conversion per argument: the
    arguments are joined into one bytes object and argv points into it. Returns the arrays
    and the objects that must outlive the native call."""
    total = len(flat)
    if _SIZE_T_CODE is None or ctypes.sizeof(c_char_p) != ctypes.sizeof(c_size_t):
        return (c_char_p * total)(*flat), (c_size_t * total)(*map(len, flat)), None
    joined = b"".join(flat)
    lens = array.array(_SIZE_T_CODE, map(len, flat))
    base = ctypes.cast(c_char_p(joined), ctypes.c_void_p).value or 0
    starts = array.array(_SIZE_T_CODE, itertools.accumulate(lens, initial=base))
    starts.pop()
    argv = (c_char_p * total).from_buffer(starts)
    argvlen = (c_size_t * total).from_buffer(lens)
    return argv, argvlen, (joined, lens, starts)


def _scratch():
    """The calling thread's argv and argvlen arrays and error slot (with a reference to it),
    reused by every call: each native call copies what it needs before returning, and an error
    is taken (and the slot cleared) before the thread's next call. Not re-entrant, and need not
    be: native callbacks (events, address map) run on the client's own threads, never inside a
    caller's call."""
    try:
        return _SCRATCH.arrays
    except AttributeError:
        err = ErrorPtr()
        _SCRATCH.arrays = (_ARGV_TYPES[_CACHED - 1](), _LEN_TYPES[_CACHED - 1](), err, byref(err))
        return _SCRATCH.arrays


def _argv(args):
    """ctypes argv and argvlen arrays for one command, its argc (a c_size_t, as the unchecked
    calls need), and an error slot with a reference to it for the native call. Short commands
    use the thread's scratch arrays (see _scratch)."""
    n = len(args)
    if not n:
        raise Error(ErrorKind.INVALID_ARGUMENT, "a command needs at least one argument")
    if n >= _CACHED:
        encoded = [a if type(a) is bytes else _encode(a) for a in args]
        err = ErrorPtr()
        return ((c_char_p * n)(*encoded), (c_size_t * n)(*map(len, encoded)), c_size_t(n), err,
                byref(err))
    argv, argvlen, err, err_ref = _scratch()
    i = 0
    for a in args:
        if type(a) is not bytes:
            a = _encode(a)
        argv[i] = a
        argvlen[i] = len(a)
        i += 1
    return argv, argvlen, _SIZES[n], err, err_ref

_SLOT_BYTES = 4096  # string replies up to this size are copied out; longer ones come as trees
_INT_MAX = 2**31 - 1  # the _into calls take lengths as C ints
_INTO_NIL, _INTO_INTEGER, _INTO_STATUS, _INTO_REPLY = -1, -2, -3, -4


# Master names and command names, encoded: a dict lookup costs a GET less than encoding them
# again. Only short str without a NUL byte, and only so many, so that odd callers cannot grow it.
_WORDS: Dict[str, bytes] = {}


def _word(word: str) -> Optional[bytes]:
    """``word`` (a str) encoded and remembered in _WORDS; None if it holds a NUL byte (which
    the text calls cannot pass)."""
    if "\0" in word:
        return None
    encoded = word.encode()
    if len(word) <= 64 and len(_WORDS) < 1024:
        _WORDS[word] = encoded
    return encoded


# Reply slots no call is using: (slot, byref(slot), its buffer). A call takes one and appends
# it back once it has read the reply, so concurrent calls never share one; deque's pop and
# append are atomic, and unlike a list's they never reallocate.
_FREE_SLOTS: "collections.deque" = collections.deque()


def _new_slot():
    buf = (ctypes.c_char * _SLOT_BYTES)()
    slot = _lib.ReplySlot(ctypes.addressof(buf), _SLOT_BYTES)
    return slot, byref(slot), buf


def _take_slot():
    """A reply slot for one call, to be appended back to _FREE_SLOTS after its reply is read."""
    try:
        return _FREE_SLOTS.pop()
    except IndexError:
        return _new_slot()


def _slot_reply(kind: int, scratch) -> Any:
    """The reply an _into call returned as ``kind`` and left in ``scratch``'s slot."""
    if kind >= 0:
        return scratch[2][:kind]
    return _from_slot(kind, scratch[0], scratch[2])


def _short(args):
    """A command of one to three arguments as the _into calls take it, (a0, n0, a1, n1, a2, n2)
    with None and 0 for those missing; None for any other command. No ctypes array. (One to
    three str arguments without a NUL byte, the commonest shapes, execute and cmd pass to the
    text calls themselves, without calling this.)"""
    if not 0 < len(args) < 4:
        return None
    short = []
    for a in args:
        if type(a) is not bytes:
            a = _encode(a)
        if len(a) > _INT_MAX:
            return None
        short += (a, len(a))
    return (*short, *(None, 0) * (3 - len(args)))


def _from_slot(kind: int, slot, buf) -> Any:
    """The reply an _into call left in the thread's slot, for every kind but a copied string
    (which the callers slice from ``buf`` themselves); raises the native error."""
    if kind == _INTO_NIL:
        return None
    if kind == _INTO_INTEGER:
        return slot.integer
    if kind == _INTO_STATUS:
        return _status(buf[:slot.len])
    if kind == _INTO_REPLY:
        reply = slot.reply
        try:
            return _convert(reply)
        finally:
            _reply_free(reply)
    raise _take_error(slot.error)


STRING, ARRAY, INTEGER, NIL, STATUS, ERROR, DOUBLE, BOOL, MAP, SET, PUSH, BIGNUM, VERB = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14)


def _convert(ptr) -> Any:
    r = ptr[0]
    t = r.type
    if t == ARRAY and r.elements >= _FLATTEN_FROM:
        return _convert_flat(ptr)
    if t == STRING:
        return r.str[:r.len]
    if t == INTEGER:
        return r.integer
    if t == STATUS:
        return _status(r.str[:r.len])
    if t == NIL:
        return None
    if t in (ARRAY, SET, PUSH):
        elements = r.element
        return [_convert(elements[i]) for i in range(r.elements)]
    if t == MAP:
        elements = r.element
        items = [_convert(elements[i]) for i in range(r.elements)]
        return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
    if t == ERROR:
        return _error_reply(r.str[:r.len])
    if t == DOUBLE:
        return r.dval
    if t == BOOL:
        return bool(r.integer)
    if t == BIGNUM:
        return int(r.str[:r.len])
    if t == VERB:
        return r.str[:r.len].decode("utf-8", "replace")
    raise Error(ErrorKind.INTERNAL, "unknown reply type %d" % t)


_FLATTEN_FROM = 8
_FLAT_NODE = struct.Struct("=iiqdQQ")


def _convert_flat(ptr) -> Any:
    """Converts a large reply through one flat copy (sentinel_reply_flatten): reading two
    buffers with struct is much cheaper than visiting every node through ctypes."""
    needed = (c_size_t * 2)()
    lib.sentinel_reply_flatten(ptr, None, 0, None, 0, needed)
    nodes = bytearray(needed[0] * _FLAT_NODE.size)
    strings = bytearray(max(1, needed[1]))
    node_buf = (ctypes.c_char * len(nodes)).from_buffer(nodes)
    string_buf = (ctypes.c_char * len(strings)).from_buffer(strings)
    if not lib.sentinel_reply_flatten(ptr, node_buf, needed[0], string_buf, len(strings), needed):
        raise Error(ErrorKind.INTERNAL, "sentinel_reply_flatten refused buffers it sized")
    del node_buf, string_buf
    blob = bytes(strings)
    return _build_flat(_FLAT_NODE.iter_unpack(nodes).__next__, blob)


def _build_flat(take, blob) -> Any:
    t, _, integer, dval, length, offset = take()
    if t == STATUS:
        return _status(blob[offset:offset + length])
    if t == STRING:
        return blob[offset:offset + length]
    if t == INTEGER:
        return integer
    if t == NIL:
        return None
    if t in (ARRAY, SET, PUSH):
        return [_build_flat(take, blob) for _ in range(integer)]
    if t == MAP:
        items = [_build_flat(take, blob) for _ in range(integer)]
        return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
    if t == ERROR:
        return _error_reply(bytes(blob[offset:offset + length]))
    if t == DOUBLE:
        return dval
    if t == BOOL:
        return bool(integer)
    if t == BIGNUM:
        return int(blob[offset:offset + length])
    if t == VERB:
        return blob[offset:offset + length].decode("utf-8", "replace")
    raise Error(ErrorKind.INTERNAL, "unknown reply type %d" % t)


def _status(text: bytes) -> str:
    """A status reply's text as str; "OK", by far the commonest, without decoding."""
    return "OK" if text == b"OK" else text.decode("utf-8", "replace")


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


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
        that vanished without closing is noticed while the connection sits in the pool."""
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
                  "busy_poll": busy_poll, "tcp_keepalive": tcp_keepalive}
        self._spec = (network, address, pool_size, names, list(sentinels), timeouts, extras)
        self._callbacks: List[Any] = []  # ctypes callbacks must outlive the native client
        self._forked = False   # set in a child after os.fork(): reopen before the next call
        self._forks = 0        # bumped on reopen after a fork; conns of an older count are unusable
        self._ptr = self._open()
        self._arg = _pointer_arg(self._ptr.value)  # what the hot paths pass for _ptr
        self.names = names
        _LIVE_CLIENTS.add(self)

    def _open(self):
        """Creates the native client from the arguments given to the constructor."""
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

    def execute(self, name: str, *args: Arg) -> Any:
        """Runs one command on the current master of ``name`` in a single native call:
        checks out a connection, runs the command, and carefully puts the connection back."""
        if type(name) is str:
            try:
                encoded = _WORDS[name]
            except KeyError:
                encoded = _name(name)
        else:
            encoded = _name(name)
        # Text commands of one to three str arguments (GET key, SET key value, ...) go in one
        # native call with three arguments fewer than _into's (no lengths), and without
        # calling helpers: each costs a GET 0.1-0.3 us, with caches cold after each wait.
        n = len(args)
        if n == 2 and type(args[0]) is str and type(args[1]) is str and "\0" not in args[1]:
            b, c = args[1].encode(), None
        elif (n == 3 and type(args[0]) is str and type(args[1]) is str and type(args[2]) is str
                and "\0" not in args[1] and "\0" not in args[2]):
            b, c = args[1].encode(), args[2].encode()
        elif n == 1 and type(args[0]) is str:
            b = c = None
        else:
            return self._execute_short(encoded, args)
        try:
            a = _WORDS[args[0]]
        except KeyError:
            a = _word(args[0])
            if a is None:  # a NUL byte in the command name
                return self._execute_short(encoded, args)
        try:
            scratch = _FREE_SLOTS.pop()
        except IndexError:
            scratch = _new_slot()
        inflight = self._inflight  # _enter and _leave, inline: this is the hottest path
        inflight.append(1)
        try:
            ptr = self._arg if not (self._closed or self._forked) else self._reenter()
            kind = _master_command_into_str(ptr, encoded, scratch[1], a, b, c)
        finally:
            inflight.pop()
        try:
            if kind >= 0:
                return scratch[2][:kind]
            return _from_slot(kind, scratch[0], scratch[2])
        finally:
            _FREE_SLOTS.append(scratch)

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


def _options(sentinels, timeouts):
    """Builds native options; the caller frees them."""
    opts = lib.sentinel_options_new()
    try:
        for entry in sentinels:
            network, address = ("tcp", entry) if isinstance(entry, str) else entry
            if not isinstance(network, str) or not isinstance(address, str):
                raise Error(ErrorKind.INVALID_ARGUMENT,
                            "sentinel %r: use \"host:port\" or (network, address)" % (entry,))
            err = ErrorPtr()
            if not lib.sentinel_options_add_sentinel(opts, network.encode(), address.encode(),
                                                     byref(err)):
                raise _take_error(err)
        for name, seconds in timeouts.items():
            if seconds is None:
                continue
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
                raise Error(ErrorKind.INVALID_ARGUMENT,
                            "%s must be a positive number of seconds, got %r" % (name, seconds))
            setter = getattr(lib, "sentinel_options_set_%s_ms" % name)
            err = ErrorPtr()
            if not setter(opts, max(1, int(round(seconds * 1000))), byref(err)):
                raise _take_error(err)
        return opts
    except BaseException:
        lib.sentinel_options_free(opts)
        raise


_EVENT_KINDS = {1: "master_switched", 2: "fence_raised", 3: "fence_lifted", 4: "sentinel_up",
                5: "sentinel_down", 6: "master_resolved", 7: "stale_answer_ignored"}
_log = logging.getLogger("redis_sentinel")


def _check(ok: bool, err: ErrorPtr) -> None:
    if not ok:
        raise _take_error(err)


def _optional_str(value, what):
    if value is None:
        return None
    if not isinstance(value, str):
        raise Error(ErrorKind.INVALID_ARGUMENT, "%s must be str, got %r" % (what, value))
    return value.encode()


def _set_extras(opts, extras) -> List[Any]:
    """Applies credentials, connection setup and callbacks to native options; returns the
    ctypes callbacks, which must stay alive as long as the native client."""
    callbacks: List[Any] = []
    err = ErrorPtr()
    if extras["password"] is not None:
        _check(lib.sentinel_options_set_password(
            opts, _optional_str(extras["username"], "username"),
            _optional_str(extras["password"], "password"), byref(err)), err)
    if extras["sentinel_password"] is not None:
        _check(lib.sentinel_options_set_sentinel_password(
            opts, _optional_str(extras["sentinel_username"], "sentinel_username"),
            _optional_str(extras["sentinel_password"], "sentinel_password"), byref(err)), err)
    if extras["db"] is not None:
        if isinstance(extras["db"], bool) or not isinstance(extras["db"], int):
            raise Error(ErrorKind.INVALID_ARGUMENT, "db must be an int, got %r" % (extras["db"],))
        _check(lib.sentinel_options_set_database(opts, extras["db"], byref(err)), err)
    if extras["client_name"] is not None:
        _check(lib.sentinel_options_set_client_name(
            opts, _optional_str(extras["client_name"], "client_name"), byref(err)), err)
    for key, setter in (("tls", lib.sentinel_options_set_tls),
                        ("sentinel_tls", lib.sentinel_options_set_sentinel_tls)):
        tls = extras[key]
        if tls is None:
            continue
        unknown = set(tls) - {"ca_file", "cert_file", "key_file", "server_name"}
        if not isinstance(tls, dict) or unknown:
            raise Error(ErrorKind.INVALID_ARGUMENT,
                        "%s must be a dict of ca_file, cert_file, key_file, server_name" % key)
        values = [_optional_str(None if tls.get(k) is None else str(tls[k]), k)
                  for k in ("ca_file", "cert_file", "key_file", "server_name")]
        _check(setter(opts, *values, byref(err)), err)
    if extras["resp3"]:
        _check(lib.sentinel_options_set_resp3(opts, True, byref(err)), err)
    busy_poll = extras["busy_poll"]
    if busy_poll is not None:
        if isinstance(busy_poll, bool) or not isinstance(busy_poll, (int, float)) or busy_poll < 0:
            raise Error(ErrorKind.INVALID_ARGUMENT,
                        "busy_poll must be seconds >= 0, got %r" % (busy_poll,))
        _check(lib.sentinel_options_set_busy_poll_us(opts, round(busy_poll * 1e6), byref(err)), err)
    keepalive = extras["tcp_keepalive"]
    if keepalive is not None:
        if isinstance(keepalive, bool) or not isinstance(keepalive, int) or keepalive < 0:
            raise Error(ErrorKind.INVALID_ARGUMENT,
                        "tcp_keepalive must be whole seconds >= 0, got %r" % (keepalive,))
        _check(lib.sentinel_options_set_tcp_keepalive_s(opts, keepalive, byref(err)), err)
    mapper = extras["address_map"]
    if mapper is not None:
        def map_address(host, port, _user, host_out, host_out_len, port_out):
            try:
                mapped = mapper(host.decode(), port)
                if mapped is None:
                    return False
                new_host, new_port = mapped
                raw = new_host.encode()[:host_out_len - 1] + b"\0"
                ctypes.memmove(host_out, raw, len(raw))
                port_out[0] = int(new_port)
                return True
            except Exception:  # a failing mapper keeps the reported address
                _log.exception("address_map failed")
                return False
        callback = _lib.ADDRESS_MAP_FN(map_address)
        callbacks.append(callback)
        _check(lib.sentinel_options_set_address_map(opts, callback, None, byref(err)), err)
    handler, log_events = extras["on_event"], extras["log_events"]
    if handler is not None or log_events:
        def on_event(raw, _user):
            e = raw[0]
            event = {"kind": _EVENT_KINDS.get(e.kind, str(e.kind))}
            for field in ("master", "old_address", "new_address", "sentinel"):
                value = getattr(e, field)
                event[field] = value.decode() if value is not None else None
            if log_events:
                _log.info("redis_sentinel event %s", event)
            if handler is not None:
                try:
                    handler(event)
                except Exception:  # an event handler must not break the client
                    _log.exception("on_event handler failed")
        callback = _lib.EVENT_FN(on_event)
        callbacks.append(callback)
        _check(lib.sentinel_options_set_event_callback(opts, callback, None, byref(err)), err)
    return callbacks


def _name(name: str) -> bytes:
    if not isinstance(name, str):
        raise Error(ErrorKind.INVALID_ARGUMENT, "master name must be str, got %r" % (name,))
    encoded = _word(name) if type(name) is str else name.encode("utf-8")
    if encoded is None or b"\0" in encoded:
        raise Error(ErrorKind.INVALID_ARGUMENT, "master name %r contains a NUL byte" % (name,))
    return encoded


class Conn:
    """One checked-out connection. Use it from one thread at a time; put it back when done."""

    __slots__ = ("_client", "_ptr", "_forks", "name", "_native")

    def _unusable(self) -> "Error":
        if self._ptr is None:
            return Error(ErrorKind.INVALID_ARGUMENT, "conn was already put back")
        return Error(ErrorKind.INVALID_ARGUMENT,
                     "conn was checked out before os.fork(): check out a new one in this process")

    def cmd(self, *args: Arg) -> Any:
        """Runs one command and returns its reply as Python values."""
        # Text commands as in Client.execute, inline for the same reason.
        n = len(args)
        if n == 2 and type(args[0]) is str and type(args[1]) is str and "\0" not in args[1]:
            b, c = args[1].encode(), None
        elif (n == 3 and type(args[0]) is str and type(args[1]) is str and type(args[2]) is str
                and "\0" not in args[1] and "\0" not in args[2]):
            b, c = args[1].encode(), args[2].encode()
        elif n == 1 and type(args[0]) is str:
            b = c = None
        else:
            return self._cmd_short(args)
        try:
            a = _WORDS[args[0]]
        except KeyError:
            a = _word(args[0])
            if a is None:  # a NUL byte in the command name
                return self._cmd_short(args)
        try:
            scratch = _FREE_SLOTS.pop()
        except IndexError:
            scratch = _new_slot()
        client = self._client  # _call, with _enter and _leave, inline: the hot path
        inflight = client._inflight
        inflight.append(1)
        try:
            if client._closed or client._forked:
                client._reenter()
            handle = self._ptr
            if handle is None or self._forks != client._forks:
                raise self._unusable()
            kind = _command_into_str(handle, scratch[1], a, b, c)
        finally:
            inflight.pop()
        try:
            if kind >= 0:
                return scratch[2][:kind]
            return _from_slot(kind, scratch[0], scratch[2])
        finally:
            _FREE_SLOTS.append(scratch)

    def _cmd_short(self, args: Tuple[Arg, ...]) -> Any:
        short = _short(args)
        if short is None:
            return self._cmd_argv(args)
        scratch = _take_slot()
        try:
            return _slot_reply(self._call(_command_into, scratch[1], *short), scratch)
        finally:
            _FREE_SLOTS.append(scratch)

    def _cmd_argv(self, args: Tuple[Arg, ...]) -> Any:
        argv, argvlen, argc, err, err_ref = _argv(args)
        return _take_reply(self._call(_command_argv, argc, argv, argvlen, err_ref), err)

    def _call(self, native, *args):
        """``native(handle, *args)`` as a call in flight of the client (cmd does the same
        inline: it is the hot path)."""
        client = self._client
        client._enter()
        try:
            handle = self._ptr
            if handle is None or self._forks != client._forks:
                raise self._unusable()
            return native(handle, *args)
        finally:
            client._leave()

    def pipeline(self, commands: Iterable[Sequence[Arg]]) -> List[Any]:
        """Runs every command in one round trip; returns their replies in order. An error
        reply is an ``Error`` in its place in the list; a broken connection raises."""
        commands = commands if isinstance(commands, list) else list(commands)
        argcs = list(map(len, commands))
        if 0 in argcs:
            raise Error(ErrorKind.INVALID_ARGUMENT, "every pipelined command needs an argument")
        flat = [a.encode() if type(a) is str else a if type(a) is bytes else _encode(a)
                for command in commands for a in command]
        if not argcs:
            return []
        argv, argvlen, _keep_alive = _packed_argv(flat)
        counts = (c_size_t * len(argcs))(*argcs)
        err = ErrorPtr()
        reply = self._call(lib.sentinel_pipeline_argv, len(argcs), counts, argv, argvlen, byref(err))
        return _take_reply(reply, err)

    def __repr__(self):
        state = "put back" if self._ptr is None else "checked out"
        return "<Conn %s (%s)>" % (self.name, state)


def _unattached(cls, client: Client, name: str, native) -> "Conn":
    """A ``cls`` (Conn or _Checkout) of ``client`` for ``name``, holding no connection yet;
    ``native`` (sentinel_get_master or sentinel_get_replica) checks one out. Made without
    __init__, which would cost a Python call more."""
    conn = _new(cls)
    conn._client, conn.name, conn._ptr, conn._forks = client, name, None, -1
    conn._native = native
    return conn


def _check_out(conn: "Conn") -> "Conn":
    """Checks out a connection into ``conn`` with its ``_native`` (sentinel_get_master or
    sentinel_get_replica) and returns ``conn``; a with block's __enter__."""
    if conn._ptr is not None:
        raise Error(ErrorKind.INVALID_ARGUMENT, "this with block's conn is checked out already")
    client, name = conn._client, conn.name
    if type(name) is str:  # _name, through _WORDS, as in execute
        try:
            encoded = _WORDS[name]
        except KeyError:
            encoded = _name(name)
    else:
        encoded = _name(name)
    try:  # _scratch, inline
        _, _, err, err_ref = _SCRATCH.arrays
    except AttributeError:
        _, _, err, err_ref = _scratch()
    inflight = client._inflight  # _enter and _leave, inline: every `with` block runs this
    inflight.append(1)
    try:
        ptr = client._arg if not (client._closed or client._forked) else client._reenter()
        handle = conn._native(ptr, encoded, err_ref)
    finally:
        inflight.pop()
    if not handle:
        raise _take_error(err)
    conn._ptr = _pointer_arg(handle)
    conn._forks = client._forks
    return conn


def _check_in(conn: "Conn", exc_type, err: Optional[BaseException], tb) -> None:
    """Carefully puts ``conn`` back (see Client.carefully_put_master), unless its client is
    closed; a with block's __exit__."""
    client = conn._client
    if client._closed:
        return
    inflight = client._inflight  # _enter and _leave, inline: every `with` block runs this
    inflight.append(1)
    try:
        ptr = client._arg if not client._forked else client._reenter()
        handle, conn._ptr = conn._ptr, None
        if handle is None or conn._forks != client._forks:
            return  # already put back, or checked out before a fork: not ours to touch
        if err is not None and not (isinstance(err, Error) and err.kind in _HARMLESS):
            lib.sentinel_conn_mark_broken(handle)
        _put_master(ptr, None, handle)
    finally:
        inflight.pop()


class _Checkout(Conn):
    """What Client.master and Client.replica return: a Conn that checks itself out when its
    ``with`` block starts and carefully puts itself back when the block ends. One object,
    whose __enter__ and __exit__ are the functions themselves: each object made and each
    Python call costs a block 0.1-0.3 us, with caches cold after every wait."""

    __slots__ = ()
    __enter__ = _check_out
    __exit__ = _check_in
