"""``Conn``: one checked-out connection, and the ``with`` blocks that check one out and
put it back (``Conn.cmd`` and the block's enter and exit live in ``_hot``)."""

from ctypes import byref, c_size_t
from typing import Any, Iterable, List, Sequence, Tuple

from . import _hot, replies
from ._hot import _check_in, _check_out
from ._lib import ErrorPtr, lib
from ._natives import _command_argv, _command_into
from .arguments import Arg, _argv, _encode, _packed_argv, _short
from .errors import Error, ErrorKind
from .replies import _slot_reply, _take_reply, _take_slot

# Bound by assignment, not imported: CPython compiles a method call on a name an import bound
# (taking it for a module) as an attribute load, which builds a bound method on every call;
# for _FREE_SLOTS.pop and .append that cost each GET 1.1k instructions.
_FREE_SLOTS = replies._FREE_SLOTS


_new = object.__new__


class Conn:
    """One checked-out connection. Use it from one thread at a time; put it back when done."""

    __slots__ = ("_client", "_ptr", "_forks", "name", "_native")

    def _unusable(self) -> "Error":
        if self._ptr is None:
            return Error(ErrorKind.INVALID_ARGUMENT, "conn was already put back")
        return Error(ErrorKind.INVALID_ARGUMENT,
                     "conn was checked out before os.fork(): check out a new one in this process")

    cmd = _hot.cmd

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


class _Checkout(Conn):
    """What Client.master and Client.replica return: a Conn that checks itself out when its
    ``with`` block starts and carefully puts itself back when the block ends. One object,
    whose __enter__ and __exit__ are the functions themselves: each object made and each
    Python call costs a block 0.1-0.3 us, with caches cold after every wait."""

    __slots__ = ()
    __enter__ = _check_out
    __exit__ = _check_in
