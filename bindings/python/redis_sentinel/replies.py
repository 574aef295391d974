"""Replies: the reply slots of the ``_into`` calls, and native reply trees (walked, or read
flat in one copy when large) turned into Python values."""

import collections
import ctypes
import struct
from ctypes import byref, c_size_t
from typing import Any

from . import _lib
from ._abi import (ARRAY, BIGNUM, BOOL, DOUBLE, ERROR, INTEGER, MAP, NIL, PUSH, SET, STATUS,
                   STRING, VERB, _INTO_INTEGER, _INTO_NIL, _INTO_REPLY, _INTO_STATUS)
from ._lib import ErrorPtr, lib
from ._natives import _reply_free
from .errors import Error, ErrorKind, _error_reply, _take_error


_SLOT_BYTES = 4096  # string replies up to this size are copied out; longer ones come as trees


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
