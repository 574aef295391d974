"""The native functions the hot paths call without ctypes' argument checks (see
``_lib.unchecked``), and the cheapest way to pass them a handle."""

from ctypes import c_void_p

from . import _lib
from ._lib import lib


_UNCHECKED = _lib.unchecked(lib)


_command_into = _UNCHECKED["sentinel_command_into"]


_master_command_into = _UNCHECKED["sentinel_master_command_into"]


_master_command_into_str = _UNCHECKED["sentinel_master_command_into_str"]


_command_into_str = _UNCHECKED["sentinel_command_into_str"]


_command_argv = _UNCHECKED["sentinel_command_argv"]


_master_command_argv = _UNCHECKED["sentinel_master_command_argv"]


_reply_free = _UNCHECKED["sentinel_reply_free"]


_get_master = _UNCHECKED["sentinel_get_master"]


_put_master = _UNCHECKED["sentinel_put_master"]


# A handle (its address) as ctypes passes it most cheaply to a function without argtypes: a
# ready pointer argument, as byref() makes, where a c_void_p would be converted again on every
# call. Functions with argtypes accept it too.
_pointer_arg = c_void_p.from_param
