"""``Conn``: one checked-out connection, and the ``with`` blocks that check one out and
put it back. ``Conn.cmd`` and the block's enter and exit are hand-inlined: they are the hot
paths, and each Python call they avoid costs a command 0.1-0.3 us."""

from ctypes import byref, c_size_t
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from ._lib import ErrorPtr, lib
from ._natives import _command_argv, _command_into, _command_into_str, _pointer_arg, _put_master
from .arguments import (Arg, _SCRATCH, _WORDS, _argv, _encode, _name, _packed_argv, _scratch,
                        _short, _word)
from .errors import Error, ErrorKind, _HARMLESS, _take_error
from .replies import _FREE_SLOTS, _from_slot, _new_slot, _slot_reply, _take_reply, _take_slot


_new = object.__new__


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


def _unattached(cls, client: "Client", name: str, native) -> "Conn":
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
