"""The client's keyword options, handed to the native options one setter each. The
library validates every value and its message is the one raised; only what ctypes cannot
pass (a non-str, a non-number) is refused here."""

import ctypes
import logging
from ctypes import byref
from typing import Any, List, Optional, Tuple

from . import _lib
from ._abi import _EVENT_KINDS
from ._lib import ErrorPtr, lib
from .arguments import _optional_str
from .errors import Error, ErrorKind, _check, _take_error


_log = logging.getLogger("redis_sentinel")


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


def _wait_replicas(replicas, timeout) -> Optional[Tuple[int, int]]:
    """Durable writes as the native setter takes them: (replicas, timeout in whole ms), or None
    when off (``replicas`` 0). Only what ctypes would pass wrong (a negative or huge int wraps
    around in a C unsigned) is refused here."""
    if isinstance(replicas, bool) or not isinstance(replicas, int) or not 0 <= replicas < 2 ** 32:
        raise Error(ErrorKind.INVALID_ARGUMENT,
                    "wait_replicas must be an int >= 0 (0 is off), got %r" % (replicas,))
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
            or not 0 < timeout < 2 ** 32 / 1000):
        raise Error(ErrorKind.INVALID_ARGUMENT,
                    "wait_timeout must be a positive number of seconds, got %r" % (timeout,))
    if replicas == 0:
        return None
    return replicas, max(1, int(round(timeout * 1000)))


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
    wait = extras["wait"]
    if wait is not None:
        _check(lib.sentinel_options_set_wait_replicas(opts, wait[0], wait[1], byref(err)), err)
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
