"""Command arguments: encoding them to bytes, the argv arrays the native calls take (reused
per thread), and the encoded names of masters and commands."""

import array
import ctypes
import itertools
import threading
from ctypes import byref, c_char_p, c_size_t
from typing import Dict, Optional, Union

from ._lib import ErrorPtr
from .errors import Error, ErrorKind


Arg = Union[str, bytes, bytearray, memoryview, int, float]


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


_INT_MAX = 2**31 - 1  # the _into calls take lengths as C ints


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


def _name(name: str) -> bytes:
    if not isinstance(name, str):
        raise Error(ErrorKind.INVALID_ARGUMENT, "master name must be str, got %r" % (name,))
    encoded = _word(name) if type(name) is str else name.encode("utf-8")
    if encoded is None or b"\0" in encoded:
        raise Error(ErrorKind.INVALID_ARGUMENT, "master name %r contains a NUL byte" % (name,))
    return encoded


def _optional_str(value, what):
    if value is None:
        return None
    if not isinstance(value, str):
        raise Error(ErrorKind.INVALID_ARGUMENT, "%s must be str, got %r" % (what, value))
    return value.encode()
