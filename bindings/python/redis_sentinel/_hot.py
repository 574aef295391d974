"""The hottest paths, hand-inlined: ``Client.execute``, ``Conn.cmd`` and a ``with`` block's
enter and exit. Each Python call they avoid (a helper, ``_enter``/``_leave``, a lookup through
``self``) costs a command 0.1-0.3 us, with caches cold after every wait on the network, so
these functions repeat what the helpers of ``arguments``, ``replies`` and ``Client`` do. The
classes take them as their methods; a test checks that every native call here is registered
as in flight."""

from typing import Any, Optional

from . import replies
from ._lib import lib
from ._natives import (_command_into_str, _master_command_into_str, _pointer_arg,
                       _put_master)
from .arguments import Arg, _SCRATCH, _WORDS, _name, _scratch, _word
from .errors import Error, ErrorKind, _HARMLESS, _take_error
from .replies import _from_slot, _new_slot

# Bound by assignment, not imported: CPython compiles a method call on a name an import bound
# (taking it for a module) as an attribute load, which builds a bound method on every call;
# for _FREE_SLOTS.pop and .append that cost each GET 1.1k instructions.
_FREE_SLOTS = replies._FREE_SLOTS


def execute(self: "Client", name: str, *args: Arg) -> Any:
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


def cmd(self: "Conn", *args: Arg) -> Any:
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
