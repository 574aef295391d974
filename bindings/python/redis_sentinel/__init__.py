"""redis_sentinel: a Redis Sentinel client that follows failovers by itself.

    client = redis_sentinel.Client("tcp", "127.0.0.1:26379", pool_size=10, names=["bucket0"])
    with client.master("bucket0") as conn:
        conn.cmd("SET", "foo", 1)
    client.close()

Modules, bottom up: ``_lib`` loads the library and declares every C signature, ``_abi`` holds
the numbers shared with C, ``errors``, ``arguments`` and ``replies`` convert what crosses the
boundary, ``options`` turns keywords into native options, ``conn`` and ``client`` are the API.
"""

from . import _lib
from .client import Client
from .conn import Conn
from .errors import Error, ErrorKind
from .pubsub import PubSub

__all__ = ["Client", "Conn", "Error", "ErrorKind", "PubSub", "version"]


def version() -> str:
    """The native library's version, "MAJOR.MINOR.PATCH"."""
    return _lib.lib.sentinel_version().decode()
