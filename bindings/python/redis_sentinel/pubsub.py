"""``PubSub``: a subscription that follows the master across failovers, shaped like redis-py's.
After a switch or a broken connection it subscribes again on the new master and delivers one
``{"type": "resubscribed", ...}`` message: messages published in between may be lost."""

import collections
import threading
from ctypes import byref, c_char_p, c_size_t
from typing import Any, Dict, Iterator, Optional

from ._abi import MESSAGE_TYPES
from ._lib import ErrorPtr, lib
from .arguments import Arg, _encode, _name
from .errors import Error, ErrorKind, _closed, _take_error


def _text(pointer, length: int) -> Optional[bytes]:
    return pointer[:length] if pointer else None


class PubSub:
    """``client.pubsub(name)``: subscribe, then read with ``get_message`` or ``listen``. Use it
    from one thread at a time; ``close`` may come from any thread, and ends a waiting read."""

    def __init__(self, client, name: str):
        self._client = client
        self._lock = threading.Lock()
        self._inflight: "collections.deque[int]" = collections.deque()
        self._closed = False
        self._ptr = None
        encoded = _name(name)
        err = ErrorPtr()
        ptr = client._enter()
        try:
            handle = lib.sentinel_pubsub_new(ptr, encoded, byref(err))
        finally:
            client._leave()
        if not handle:
            raise _take_error(err)
        self._ptr = handle
        self._forks = client._forks
        self.name = name

    def _enter(self):
        self._inflight.append(1)
        client = self._client
        if self._closed or client._forked or self._forks != client._forks:
            self._inflight.pop()
            if self._closed:
                raise _closed()
            raise Error(ErrorKind.INVALID_ARGUMENT,
                        "the subscription was made before os.fork(): make a new one here")
        return self._ptr

    def _change(self, native, names) -> None:
        encoded = [a if type(a) is bytes else _encode(a) for a in names]
        n = len(encoded)
        argv = (c_char_p * max(1, n))(*encoded)
        lens = (c_size_t * max(1, n))(*map(len, encoded))
        err = ErrorPtr()
        ptr = self._enter()
        try:
            ok = native(ptr, argv, lens, n, byref(err))
        finally:
            self._inflight.pop()
        if not ok:
            raise _take_error(err)

    def subscribe(self, *channels: Arg) -> None:
        """Subscribes to ``channels``; returns once the master confirmed them."""
        self._change(lib.sentinel_pubsub_subscribe, channels)

    def psubscribe(self, *patterns: Arg) -> None:
        """Subscribes to glob-style ``patterns`` (``news.*``)."""
        self._change(lib.sentinel_pubsub_psubscribe, patterns)

    def unsubscribe(self, *channels: Arg) -> None:
        """Unsubscribes from ``channels``; from every channel when none is given."""
        self._change(lib.sentinel_pubsub_unsubscribe, channels)

    def punsubscribe(self, *patterns: Arg) -> None:
        """Unsubscribes from ``patterns``; from every pattern when none is given."""
        self._change(lib.sentinel_pubsub_punsubscribe, patterns)

    def get_message(self, timeout: float = 0.0) -> Optional[Dict[str, Any]]:
        """The next message as ``{"type", "channel", "pattern", "data"}`` (``type`` is
        "message", "pmessage" or "resubscribed"), or None when none came within ``timeout``
        seconds. Subscribe confirmations are not messages. Raises CLOSED once closed."""
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise Error(ErrorKind.INVALID_ARGUMENT,
                        "timeout must be seconds >= 0, got %r" % (timeout,))
        err = ErrorPtr()
        ptr = self._enter()
        try:
            msg = lib.sentinel_pubsub_next(ptr, int(timeout * 1000), byref(err))
        finally:
            self._inflight.pop()
        if not msg:
            if err:
                raise _take_error(err)
            return None
        try:
            m = msg[0]
            return {"type": MESSAGE_TYPES.get(m.type, str(m.type)),
                    "channel": _text(m.channel, m.channel_len),
                    "pattern": _text(m.pattern, m.pattern_len),
                    "data": _text(m.data, m.data_len)}
        finally:
            lib.sentinel_message_free(msg)

    def listen(self) -> Iterator[Dict[str, Any]]:
        """Yields every message as it comes; ends when the subscription is closed."""
        while True:
            try:
                message = self.get_message(timeout=1.0)
            except Error as e:
                if e.kind == ErrorKind.CLOSED:
                    return
                raise
            if message is not None:
                yield message

    def close(self) -> None:
        """Ends the subscription (from any thread: a waiting read raises CLOSED) and frees it.
        Closing twice is a no-op."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        ptr = self._ptr
        if ptr is None:
            return
        forked = self._client._forked or self._forks != self._client._forks
        if not forked:  # a parent's subscription is the parent's to free
            lib.sentinel_pubsub_close(ptr)
            while self._inflight:
                threading.Event().wait(0.001)
            lib.sentinel_pubsub_free(ptr)
        self._ptr = None

    def __enter__(self) -> "PubSub":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_ptr", None) is not None:
                self.close()
        except Exception:
            pass
