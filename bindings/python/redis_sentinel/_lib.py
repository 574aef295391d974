"""Finds libredis_sentinel and declares every C function's signature in one table.

A missing ``restype`` would silently truncate returned pointers to ``int``; a test checks that
every ``sentinel_*`` function in the header has an entry here.
"""

import ctypes
import ctypes.util
import os
import sys
from ctypes import (POINTER, c_bool, c_char, c_char_p, c_double, c_int, c_longlong, c_size_t, c_uint,
                    c_uint64, c_void_p)


class ClientPtr(c_void_p):
    """sentinel_client *"""


class ConnPtr(c_void_p):
    """sentinel_conn *"""


class ErrorPtr(c_void_p):
    """sentinel_error *"""


class OptionsPtr(c_void_p):
    """sentinel_options *"""


class PubSubPtr(c_void_p):
    """sentinel_pubsub *"""


class Reply(ctypes.Structure):
    pass


Reply._fields_ = [
    ("type", c_int),
    ("integer", c_longlong),
    ("dval", c_double),
    ("len", c_size_t),
    ("str", POINTER(c_char)),  # sliced to bytes (str[:len]) without a foreign call
    ("elements", c_size_t),
    ("element", POINTER(POINTER(Reply))),
]

ReplyPtr = POINTER(Reply)

class ReplySlot(ctypes.Structure):
    """``sentinel_reply_slot``: where the ``_into`` calls put a reply."""
    _fields_ = [
        ("buf", c_void_p),
        ("cap", c_size_t),
        ("len", c_size_t),
        ("integer", ctypes.c_longlong),
        ("reply", ReplyPtr),
        ("error", ErrorPtr),
    ]


class EventStruct(ctypes.Structure):
    _fields_ = [
        ("kind", c_int),
        ("master", c_char_p),
        ("old_address", c_char_p),
        ("new_address", c_char_p),
        ("sentinel", c_char_p),
    ]


class MessageStruct(ctypes.Structure):
    """``sentinel_message``: what a subscription received."""
    _fields_ = [
        ("type", ctypes.c_int32),
        ("channel", POINTER(c_char)),
        ("channel_len", c_size_t),
        ("pattern", POINTER(c_char)),
        ("pattern_len", c_size_t),
        ("data", POINTER(c_char)),
        ("data_len", c_size_t),
    ]


class MasterStatsStruct(ctypes.Structure):
    _fields_ = [
        ("address", ctypes.c_char * 264),
        ("generation", c_uint64),
        ("conns_open", ctypes.c_uint32),
        ("conns_idle", ctypes.c_uint32),
        ("conns_in_use", ctypes.c_uint32),
        ("fenced", c_bool),
        ("failovers_seen", c_uint64),
        ("fences_raised", c_uint64),
        ("last_switch_unix_ms", ctypes.c_int64),
    ]


ADDRESS_MAP_FN = ctypes.CFUNCTYPE(c_bool, c_char_p, c_int, c_void_p, ctypes.POINTER(ctypes.c_char), c_size_t,
                                  ctypes.POINTER(c_int))
EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.POINTER(EventStruct), c_void_p)

FUNCTIONS = {
    "sentinel_version": (c_char_p, []),
    "sentinel_client_new": (ClientPtr, [c_char_p, c_char_p, c_size_t, POINTER(c_char_p), c_size_t,
                                        POINTER(ErrorPtr)]),
    "sentinel_client_new_with_options": (ClientPtr, [OptionsPtr, c_size_t, POINTER(c_char_p), c_size_t,
                                                     POINTER(ErrorPtr)]),
    "sentinel_client_new_from_url": (ClientPtr, [c_char_p, c_size_t, POINTER(ErrorPtr)]),
    "sentinel_options_new": (OptionsPtr, []),
    "sentinel_options_free": (None, [OptionsPtr]),
    "sentinel_options_add_sentinel": (c_bool, [OptionsPtr, c_char_p, c_char_p, POINTER(ErrorPtr)]),
    "sentinel_options_set_connect_timeout_ms": (c_bool, [OptionsPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_options_set_read_timeout_ms": (c_bool, [OptionsPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_options_set_write_timeout_ms": (c_bool, [OptionsPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_options_set_pool_wait_ms": (c_bool, [OptionsPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_options_set_fence_wait_ms": (c_bool, [OptionsPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_options_set_sentinel_timeout_ms": (c_bool, [OptionsPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_options_set_busy_poll_us": (c_bool, [OptionsPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_options_set_tcp_keepalive_s": (c_bool, [OptionsPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_options_set_wait_replicas": (c_bool, [OptionsPtr, c_uint, c_uint, POINTER(ErrorPtr)]),
    "sentinel_options_set_password": (c_bool, [OptionsPtr, c_char_p, c_char_p, POINTER(ErrorPtr)]),
    "sentinel_options_set_sentinel_password": (c_bool, [OptionsPtr, c_char_p, c_char_p, POINTER(ErrorPtr)]),
    "sentinel_options_set_tls": (c_bool, [OptionsPtr, c_char_p, c_char_p, c_char_p, c_char_p, POINTER(ErrorPtr)]),
    "sentinel_options_set_sentinel_tls": (c_bool, [OptionsPtr, c_char_p, c_char_p, c_char_p, c_char_p,
                                                   POINTER(ErrorPtr)]),
    "sentinel_options_set_database": (c_bool, [OptionsPtr, ctypes.c_int64, POINTER(ErrorPtr)]),
    "sentinel_options_set_client_name": (c_bool, [OptionsPtr, c_char_p, POINTER(ErrorPtr)]),
    "sentinel_options_set_resp3": (c_bool, [OptionsPtr, c_bool, POINTER(ErrorPtr)]),
    "sentinel_options_set_address_map": (c_bool, [OptionsPtr, ADDRESS_MAP_FN, c_void_p, POINTER(ErrorPtr)]),
    "sentinel_options_set_event_callback": (c_bool, [OptionsPtr, EVENT_FN, c_void_p, POINTER(ErrorPtr)]),
    "sentinel_client_stats": (c_bool, [ClientPtr, c_char_p, POINTER(MasterStatsStruct), POINTER(ErrorPtr)]),
    "sentinel_client_close": (None, [ClientPtr]),
    "sentinel_client_interrupt_waits": (None, [ClientPtr]),
    "sentinel_get_master": (ConnPtr, [ClientPtr, c_char_p, POINTER(ErrorPtr)]),
    "sentinel_get_replica": (ConnPtr, [ClientPtr, c_char_p, POINTER(ErrorPtr)]),
    "sentinel_put_master": (None, [ClientPtr, c_char_p, ConnPtr]),
    "sentinel_carefully_put_master": (None, [ClientPtr, c_char_p, ConnPtr, ErrorPtr]),
    "sentinel_conn_mark_broken": (None, [ConnPtr]),
    "sentinel_command_argv": (ReplyPtr, [ConnPtr, c_size_t, POINTER(c_char_p), POINTER(c_size_t),
                                         POINTER(ErrorPtr)]),
    "sentinel_master_command_argv": (ReplyPtr, [ClientPtr, c_char_p, c_size_t, POINTER(c_char_p),
                                                 POINTER(c_size_t), POINTER(ErrorPtr)]),
    "sentinel_master_command_into": (c_int, [ClientPtr, c_char_p, POINTER(ReplySlot), c_char_p, c_int,
                                             c_char_p, c_int, c_char_p, c_int]),
    "sentinel_command_into": (c_int, [ConnPtr, POINTER(ReplySlot), c_char_p, c_int, c_char_p, c_int,
                                      c_char_p, c_int]),
    "sentinel_master_command_into_str": (c_int, [ClientPtr, c_char_p, POINTER(ReplySlot), c_char_p, c_char_p,
                                                 c_char_p]),
    "sentinel_command_into_str": (c_int, [ConnPtr, POINTER(ReplySlot), c_char_p, c_char_p, c_char_p]),
    "sentinel_append_command_argv": (c_bool, [ConnPtr, c_size_t, POINTER(c_char_p), POINTER(c_size_t),
                                              POINTER(ErrorPtr)]),
    "sentinel_get_reply": (ReplyPtr, [ConnPtr, POINTER(ErrorPtr)]),
    "sentinel_pipeline_argv": (ReplyPtr, [ConnPtr, c_size_t, POINTER(c_size_t), POINTER(c_char_p),
                                          POINTER(c_size_t), POINTER(ErrorPtr)]),
    "sentinel_reply_free": (None, [ReplyPtr]),
    "sentinel_reply_flatten": (c_bool, [ReplyPtr, c_void_p, c_size_t, c_void_p, c_size_t, POINTER(c_size_t)]),
    "sentinel_error_get_kind": (c_int, [ErrorPtr]),
    "sentinel_error_message": (c_char_p, [ErrorPtr]),
    "sentinel_error_is_sentinel": (c_bool, [ErrorPtr]),
    "sentinel_error_is_readonly": (c_bool, [ErrorPtr]),
    "sentinel_error_reply_kind": (c_int, [c_char_p, c_size_t]),
    "sentinel_error_kind_breaks_connection": (c_bool, [c_int]),
    "sentinel_error_free": (None, [ErrorPtr]),
    "sentinel_pubsub_new": (PubSubPtr, [ClientPtr, c_char_p, POINTER(ErrorPtr)]),
    "sentinel_pubsub_subscribe": (c_bool, [PubSubPtr, POINTER(c_char_p), POINTER(c_size_t), c_size_t,
                                           POINTER(ErrorPtr)]),
    "sentinel_pubsub_psubscribe": (c_bool, [PubSubPtr, POINTER(c_char_p), POINTER(c_size_t), c_size_t,
                                            POINTER(ErrorPtr)]),
    "sentinel_pubsub_unsubscribe": (c_bool, [PubSubPtr, POINTER(c_char_p), POINTER(c_size_t), c_size_t,
                                             POINTER(ErrorPtr)]),
    "sentinel_pubsub_punsubscribe": (c_bool, [PubSubPtr, POINTER(c_char_p), POINTER(c_size_t), c_size_t,
                                              POINTER(ErrorPtr)]),
    "sentinel_pubsub_next": (POINTER(MessageStruct), [PubSubPtr, c_uint64, POINTER(ErrorPtr)]),
    "sentinel_pubsub_close": (None, [PubSubPtr]),
    "sentinel_pubsub_free": (None, [PubSubPtr]),
    "sentinel_message_free": (None, [POINTER(MessageStruct)]),
}

LIB_NAME = "libredis_sentinel.dylib" if sys.platform == "darwin" else "libredis_sentinel.so"


def candidate_paths():
    """Where the library is looked for, in order."""
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.abspath(os.path.join(here, "..", "..", ".."))
    paths = []
    if os.environ.get("REDIS_SENTINEL_LIB"):
        paths.append(os.environ["REDIS_SENTINEL_LIB"])
    paths.append(os.path.join(here, LIB_NAME))
    paths.append(os.path.join(repo, "target", "release", LIB_NAME))
    paths.append(os.path.join(repo, "target", "debug", LIB_NAME))
    return paths


def load():
    tried = []
    for path in candidate_paths():
        if os.path.exists(path):
            return _declare(ctypes.CDLL(path))
        tried.append(path)
    found = ctypes.util.find_library("redis_sentinel")
    if found:
        return _declare(ctypes.CDLL(found))
    raise OSError("libredis_sentinel not found; set REDIS_SENTINEL_LIB to its path (tried: %s, "
                  "then the system library path)" % ", ".join(tried))


def _declare(lib):
    for name, (restype, argtypes) in FUNCTIONS.items():
        func = getattr(lib, name)
        func.restype = restype
        func.argtypes = argtypes
    return lib


# The calls every command makes, declared a second time with restype but without argtypes.
# With argtypes, ctypes calls a Python-level from_param for each argument of each call; on the
# benchmark VM that was 3-5 us of CPU per command, more than all our native code. The binding
# passes these handles only what ctypes hands over unconverted: ready pointer arguments
# (c_void_p.from_param, byref()), pointer objects (ClientPtr, ConnPtr, ReplyPtr), bytes, None, ctypes
# arrays and c_size_t; a plain int only where the C parameter is an int (the _into calls'
# lengths), since that is what ctypes passes it as.
UNCHECKED = ("sentinel_master_command_into", "sentinel_command_into",
             "sentinel_master_command_into_str", "sentinel_command_into_str",
             "sentinel_master_command_argv", "sentinel_command_argv", "sentinel_get_master",
             "sentinel_put_master")
# Freeing a reply only frees memory: it keeps the GIL rather than drop and take it back.
UNCHECKED_HOLDING_GIL = ("sentinel_reply_free",)


def unchecked(library):
    """Fresh function objects for UNCHECKED and UNCHECKED_HOLDING_GIL, as a dict by name
    (``library[name]`` never returns the cached, checked one, so both kinds exist side by
    side; the PyDLL shares the CDLL's handle)."""
    holding_gil = ctypes.PyDLL(library._name, handle=library._handle)
    handles = {}
    for source, names in ((library, UNCHECKED), (holding_gil, UNCHECKED_HOLDING_GIL)):
        for name in names:
            if FUNCTIONS[name][0] is c_int and source is library:
                handles[name] = _IntResultFunc((name, library))
                continue
            func = source[name]
            restype = FUNCTIONS[name][0]
            # A handle comes back as its address, an int, made a ready pointer argument once
            # (ConnPtr would build an object that each later call converts again).
            func.restype = c_void_p if restype in (ClientPtr, ConnPtr) else restype
            handles[name] = func
    return handles


class _IntResultFunc(ctypes._CFuncPtr):
    """A foreign function returning a C int, with no restype at all (not even c_int): ctypes
    then builds the result with PyLong_FromLong, where a restype of c_int costs each call a
    linear search of its type table (_ctypes_get_fielddesc, about 300 instructions). Like
    CDLL's functions, it releases the GIL during the call."""

    _flags_ = ctypes._FUNCFLAG_CDECL


lib = load()
