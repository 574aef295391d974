//! `sentinel_error`: an error handed to C, with its kind, message and flags.

use std::ffi::{c_char, c_int, CString};

use super::{boundary_void, free_handle};
use crate::error::{Error, ErrorKind};
use crate::resp::server_error::{classify, During};

/// What went wrong. Values are stable; new kinds may be added at the end.
#[repr(C)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sentinel_error_kind {
    /// NULL where not allowed, bad UTF-8, pool size 0, no names, bad address.
    SENTINEL_ERROR_INVALID_ARGUMENT = 1,
    /// No sentinel reachable, sentinel connection lost, bad sentinel answer.
    SENTINEL_ERROR_SENTINEL = 2,
    /// Name not given to this client, or not monitored by the sentinel.
    SENTINEL_ERROR_UNKNOWN_MASTER = 3,
    /// Connect/read/write failure or timeout talking to a data node.
    SENTINEL_ERROR_IO = 4,
    /// No connection became free within the pool wait time.
    SENTINEL_ERROR_POOL_TIMEOUT = 5,
    /// The server replied READONLY: the connection points at a replica.
    SENTINEL_ERROR_READONLY = 6,
    /// Any other error reply (ERR, WRONGTYPE, ...): the connection is fine.
    SENTINEL_ERROR_SERVER = 7,
    /// Authentication refused.
    SENTINEL_ERROR_AUTH = 8,
    /// The client is closed.
    SENTINEL_ERROR_CLOSED = 9,
    /// A bug (a caught panic); the message says where.
    SENTINEL_ERROR_INTERNAL = 10,
    /// Durable writes (`sentinel_options_set_wait_replicas`): the write reached the master, but
    /// fewer replicas than asked confirmed it in time, so a failover may lose it; the message
    /// says how many confirmed, of how many asked, within what timeout. The connection is fine.
    SENTINEL_ERROR_NOT_REPLICATED = 11,
}

impl From<ErrorKind> for sentinel_error_kind {
    fn from(kind: ErrorKind) -> Self {
        use sentinel_error_kind::*;
        match kind {
            ErrorKind::InvalidArgument => SENTINEL_ERROR_INVALID_ARGUMENT,
            ErrorKind::Sentinel => SENTINEL_ERROR_SENTINEL,
            ErrorKind::UnknownMaster => SENTINEL_ERROR_UNKNOWN_MASTER,
            ErrorKind::Io => SENTINEL_ERROR_IO,
            ErrorKind::PoolTimeout => SENTINEL_ERROR_POOL_TIMEOUT,
            ErrorKind::ReadOnly => SENTINEL_ERROR_READONLY,
            ErrorKind::Server => SENTINEL_ERROR_SERVER,
            ErrorKind::Auth => SENTINEL_ERROR_AUTH,
            ErrorKind::Closed => SENTINEL_ERROR_CLOSED,
            ErrorKind::Internal => SENTINEL_ERROR_INTERNAL,
            ErrorKind::NotReplicated => SENTINEL_ERROR_NOT_REPLICATED,
        }
    }
}

/// An error: its kind, a message, and whether the sentinel side was at fault. Opaque.
#[allow(non_camel_case_types)]
pub struct sentinel_error {
    pub(crate) error: Error,
    message: CString,
}

impl sentinel_error {
    pub(crate) fn new(error: Error) -> Self {
        let message = CString::new(error.message().replace('\0', "\\0")).unwrap_or_default();
        sentinel_error { error, message }
    }
}

/// The kind of `err`. A NULL `err` gives SENTINEL_ERROR_INVALID_ARGUMENT.
///
/// # Safety
/// `err` is NULL or an error from this library that has not been freed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_error_get_kind(
    err: *const sentinel_error,
) -> sentinel_error_kind {
    let mut kind = sentinel_error_kind::SENTINEL_ERROR_INVALID_ARGUMENT;
    boundary_void(|| {
        // SAFETY: NULL or a live error, per the contract above.
        if let Some(err) = unsafe { err.as_ref() } {
            kind = err.error.kind().into();
        }
    });
    kind
}

/// The message of `err`: a NUL-terminated sentence naming the master, address and cause.
/// Owned by `err`; valid until `err` is freed. A NULL `err` gives an empty string.
///
/// # Safety
/// `err` is NULL or an error from this library that has not been freed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_error_message(err: *const sentinel_error) -> *const c_char {
    // SAFETY: NULL or a live error, per the contract above.
    match unsafe { err.as_ref() } {
        Some(err) => err.message.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// True when the error came from the sentinel side: every SENTINEL error, and data-node
/// errors that happened while no sentinel was reachable (radix `ClientError.SentinelErr`).
/// False for NULL.
///
/// # Safety
/// `err` is NULL or an error from this library that has not been freed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_error_is_sentinel(err: *const sentinel_error) -> bool {
    // SAFETY: NULL or a live error, per the contract above.
    unsafe { err.as_ref() }.is_some_and(|e| e.error.is_sentinel())
}

/// True when the server replied READONLY (radix `CmdError.Readonly()`). False for NULL.
///
/// # Safety
/// `err` is NULL or an error from this library that has not been freed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_error_is_readonly(err: *const sentinel_error) -> bool {
    // SAFETY: NULL or a live error, per the contract above.
    unsafe { err.as_ref() }.is_some_and(|e| e.error.is_readonly())
}

/// The kind this library gives an error reply whose text (`CODE details`, as in a
/// `SENTINEL_REPLY_ERROR` element) is the `len` bytes at `text`: READONLY for READONLY and for
/// UNBLOCKED "master -> replica" (the connection points at a replica now), AUTH for NOAUTH and
/// WRONGPASS, SERVER for any other. For bindings that make their own error objects of nested
/// error replies, so that they classify them as the library does. INVALID_ARGUMENT when `text`
/// is NULL.
///
/// # Safety
/// `text` is NULL or points at `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn sentinel_error_reply_kind(
    text: *const c_char,
    len: usize,
) -> sentinel_error_kind {
    if text.is_null() {
        return sentinel_error_kind::SENTINEL_ERROR_INVALID_ARGUMENT;
    }
    // SAFETY: `len` readable bytes at `text`, per the contract above.
    let bytes = unsafe { std::slice::from_raw_parts(text.cast::<u8>(), len) };
    let text = String::from_utf8_lossy(bytes);
    let (code, details) = match text.split_once(' ') {
        Some((code, details)) => (code, Some(details)),
        None => (&*text, None),
    };
    classify(code, details, During::Command).into()
}

/// True when a conn whose last error was of `kind` (a `sentinel_error_kind` value) must not be
/// reused, as `sentinel_carefully_put_master` decides: every kind but SERVER, INVALID_ARGUMENT,
/// UNKNOWN_MASTER and NOT_REPLICATED. True for a value that is no kind.
#[no_mangle]
pub extern "C" fn sentinel_error_kind_breaks_connection(kind: c_int) -> bool {
    let kind = match kind {
        1 => ErrorKind::InvalidArgument,
        2 => ErrorKind::Sentinel,
        3 => ErrorKind::UnknownMaster,
        4 => ErrorKind::Io,
        5 => ErrorKind::PoolTimeout,
        6 => ErrorKind::ReadOnly,
        7 => ErrorKind::Server,
        8 => ErrorKind::Auth,
        9 => ErrorKind::Closed,
        11 => ErrorKind::NotReplicated,
        _ => ErrorKind::Internal,
    };
    kind.breaks_connection()
}

/// Frees `err` and its message. NULL is a no-op.
///
/// # Safety
/// `err` is NULL or an error from this library that has not been freed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_error_free(err: *mut sentinel_error) {
    // SAFETY: forwarded contract (`boundary` makes every error with new_handle).
    unsafe { free_handle(err) }
}
