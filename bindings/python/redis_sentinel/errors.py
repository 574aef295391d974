"""Errors: ``Error``, its ``ErrorKind``, and turning native errors into them. Which error
reply means which kind, and which kinds leave a connection usable, is the library's rule:
this module asks it rather than classifying text itself."""

import enum
from typing import Optional

from ._lib import ErrorPtr, lib


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
    NOT_REPLICATED = 11  # durable writes: the write reached the master, too few replicas confirmed


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


def _check(ok: bool, err: ErrorPtr) -> None:
    if not ok:
        raise _take_error(err)


def _closed() -> Error:
    return Error(ErrorKind.CLOSED, "the client is closed")
