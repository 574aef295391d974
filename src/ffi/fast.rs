//! The fast path for bindings such as ctypes, where every foreign call, every argument array
//! element and every reply field read costs more than the native work.
//!
//! - Short commands whose reply is copied into the caller's buffer (`*_into`): arguments travel
//!   as plain pointer/length parameters (or, in the `_str` forms, as NUL-terminated strings:
//!   fewer parameters to convert), and a string, status, integer or nil reply comes back in a
//!   reusable slot, without a reply tree to walk or free.
//! - `sentinel_reply_flatten`: any other reply tree as two flat buffers, read in one go.

use std::ffi::{c_char, c_int, c_longlong, CStr};

use crate::resp::value::Value;

use super::sentinel_reply_type::*;
use super::{boundary, boundary_void, mut_arg, ref_arg, sentinel_client, sentinel_conn};
use super::{sentinel_error, sentinel_reply, str_arg};
use crate::error::{Error, Result};

/// What `sentinel_master_command_into` and `sentinel_command_into` (and their `_str` forms)
/// return when the reply is not a string copied into `slot->buf` (they return that string's
/// length, 0 or more).
#[repr(C)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sentinel_into_kind {
    /// The reply is nil.
    SENTINEL_INTO_NIL = -1,
    /// The reply is an integer, in `slot->integer`.
    SENTINEL_INTO_INTEGER = -2,
    /// The reply is a status (`OK`): `slot->len` bytes in `slot->buf`.
    SENTINEL_INTO_STATUS = -3,
    /// Any other reply, or a string or status longer than `slot->cap`: in `slot->reply`.
    SENTINEL_INTO_REPLY = -4,
    /// No reply: the error is in `slot->error` (unless `slot` was NULL).
    SENTINEL_INTO_ERROR = -5,
}

use sentinel_into_kind::*;

/// Where `sentinel_master_command_into` and `sentinel_command_into` (and their `_str` forms)
/// put a reply. The caller
/// owns the slot and `buf`, and may reuse both for every call of one thread. The calls set
/// `reply` and `error` to NULL unless they return them; what they return belongs to the caller.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct sentinel_reply_slot {
    /// Caller's buffer for string and status replies (not NUL-terminated there). May be NULL
    /// when `cap` is 0.
    pub buf: *mut c_char,
    /// Size of `buf` in bytes.
    pub cap: usize,
    /// With SENTINEL_INTO_STATUS: bytes of text in `buf`.
    pub len: usize,
    /// With SENTINEL_INTO_INTEGER: the integer.
    pub integer: c_longlong,
    /// With SENTINEL_INTO_REPLY: the reply; free it with `sentinel_reply_free`.
    pub reply: *mut sentinel_reply,
    /// With SENTINEL_INTO_ERROR: the error; free it with `sentinel_error_free`.
    pub error: *mut sentinel_error,
}

/// Runs a command of one to three arguments on the current master of `name`, as
/// `sentinel_master_command_argv` does (check out, run, carefully put back), and puts the reply
/// in `slot`. The arguments are `a0`..`a2` with lengths `n0`..`n2` (binary-safe); the first NULL
/// pointer ends them, so a two-argument command passes `a2 = NULL`. Lengths are `int` so that
/// a foreign-call layer can pass its plain integers; longer arguments, and longer commands,
/// take `sentinel_master_command_argv`.
///
/// Returns the length of a string reply copied into `slot->buf` (0 or more), or one of
/// SENTINEL_INTO_NIL, _INTEGER, _STATUS, _REPLY (anything else, or a string longer than
/// `slot->cap`), _ERROR (an error reply, bad arguments or a failure, with the same kinds as
/// `sentinel_master_command_argv`'s `*err`). Does not take ownership of `name` or the arguments.
///
/// # Safety
/// `client` is NULL or a live client; `name` NULL or NUL-terminated; each argument before the
/// first NULL valid for its length; `slot` NULL or writable, its `buf` valid for `cap` bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sentinel_master_command_into(
    client: *mut sentinel_client,
    name: *const c_char,
    slot: *mut sentinel_reply_slot,
    a0: *const c_char,
    n0: c_int,
    a1: *const c_char,
    n1: c_int,
    a2: *const c_char,
    n2: c_int,
) -> c_int {
    // SAFETY: forwarded contract (the arguments are read inside the boundary).
    unsafe {
        master_into_slot(here!(), client, name, slot, || {
            short_args([(a0, n0), (a1, n1), (a2, n2)])
        })
    }
}

/// Runs a command of one to three arguments on `conn`, as `sentinel_command_argv` does, and
/// puts the reply in `slot`. Arguments, returns and errors as in `sentinel_master_command_into`;
/// a failure marks `conn` broken as `sentinel_command_argv` does. Does not take ownership of
/// `conn` or the arguments.
///
/// # Safety
/// `conn` is NULL or a checked-out conn used by no other thread; arguments and `slot` as in
/// `sentinel_master_command_into`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn sentinel_command_into(
    conn: *mut sentinel_conn,
    slot: *mut sentinel_reply_slot,
    a0: *const c_char,
    n0: c_int,
    a1: *const c_char,
    n1: c_int,
    a2: *const c_char,
    n2: c_int,
) -> c_int {
    // SAFETY: forwarded contract (the arguments are read inside the boundary).
    unsafe {
        conn_into_slot(here!(), conn, slot, || {
            short_args([(a0, n0), (a1, n1), (a2, n2)])
        })
    }
}

/// `sentinel_master_command_into` for text arguments: `a0`..`a2` are NUL-terminated strings,
/// and the first NULL ends them, so `sentinel_master_command_into_str(client, "m0", &slot,
/// "GET", key, NULL)` runs `GET key`. An argument cannot contain a NUL byte; binary arguments
/// take `sentinel_master_command_into`. Returns and errors as `sentinel_master_command_into`.
/// Does not take ownership of `name` or the arguments.
///
/// # Safety
/// `client` is NULL or a live client; `name` and each argument before the first NULL are
/// NULL-or-NUL-terminated strings; `slot` as in `sentinel_master_command_into`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_master_command_into_str(
    client: *mut sentinel_client,
    name: *const c_char,
    slot: *mut sentinel_reply_slot,
    a0: *const c_char,
    a1: *const c_char,
    a2: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract (the arguments are read inside the boundary).
    unsafe { master_into_slot(here!(), client, name, slot, || text_args([a0, a1, a2])) }
}

/// `sentinel_command_into` for text arguments, NUL-terminated as in
/// `sentinel_master_command_into_str`. Does not take ownership of `conn` or the arguments.
///
/// # Safety
/// `conn` is NULL or a checked-out conn used by no other thread; arguments as in
/// `sentinel_master_command_into_str`; `slot` as in `sentinel_master_command_into`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_command_into_str(
    conn: *mut sentinel_conn,
    slot: *mut sentinel_reply_slot,
    a0: *const c_char,
    a1: *const c_char,
    a2: *const c_char,
) -> c_int {
    // SAFETY: forwarded contract (the arguments are read inside the boundary).
    unsafe { conn_into_slot(here!(), conn, slot, || text_args([a0, a1, a2])) }
}

/// Runs the command `args` gives on the current master of `name` as
/// `sentinel_master_command_argv` does (check out, run, carefully put back), for the export
/// `func`, and puts the reply in `slot`.
///
/// # Safety
/// `client` is NULL or a live client; `name` NULL or NUL-terminated; `slot` NULL or writable,
/// its `buf` valid for `cap` bytes.
unsafe fn master_into_slot<'a>(
    func: &'static str,
    client: *mut sentinel_client,
    name: *const c_char,
    slot: *mut sentinel_reply_slot,
    args: impl FnOnce() -> Result<([&'a [u8]; 3], usize)>,
) -> c_int {
    let run = || {
        // SAFETY: NULL or a live client, per the contract above.
        let client = unsafe { ref_arg(client.cast_const(), "client") }?;
        // SAFETY: NULL or a NUL-terminated string, per the contract above.
        let name = unsafe { str_arg(name, "name") }?;
        let (args, argc) = args()?;
        let index = client.core.master_index(name)?;
        let mut conn = client.core.get_master_at(index)?;
        let result = conn.command(&args[..argc]);
        client
            .core
            .carefully_put_master(conn, result.as_ref().err());
        result
    };
    // SAFETY: NULL or writable, per the contract above.
    unsafe { into_slot(func, slot, run) }
}

/// Runs the command `args` gives on `conn` as `sentinel_command_argv` does, for the export
/// `func`, and puts the reply in `slot`.
///
/// # Safety
/// `conn` is NULL or a checked-out conn used by no other thread; `slot` NULL or writable, its
/// `buf` valid for `cap` bytes.
unsafe fn conn_into_slot<'a>(
    func: &'static str,
    conn: *mut sentinel_conn,
    slot: *mut sentinel_reply_slot,
    args: impl FnOnce() -> Result<([&'a [u8]; 3], usize)>,
) -> c_int {
    let run = || {
        // SAFETY: NULL or a checked-out conn used only by this thread, per the contract.
        let conn = unsafe { mut_arg(conn, "conn") }?.live()?;
        let (args, argc) = args()?;
        conn.command(&args[..argc])
    };
    // SAFETY: NULL or writable, per the contract above.
    unsafe { into_slot(func, slot, run) }
}

/// Runs `body` for the export `func` inside `boundary` and puts its reply, or its error, in
/// `slot`; returns where it went.
///
/// # Safety
/// `slot` is NULL or writable, its `buf` valid for `cap` bytes.
unsafe fn into_slot(
    func: &'static str,
    slot: *mut sentinel_reply_slot,
    body: impl FnOnce() -> Result<Value>,
) -> c_int {
    // SAFETY: NULL or writable, per the contract above.
    let Some(slot) = (unsafe { slot.as_mut() }) else {
        return SENTINEL_INTO_ERROR as c_int;
    };
    slot.reply = std::ptr::null_mut();
    let mut error = std::ptr::null_mut();
    let kind = boundary(func, &mut error, SENTINEL_INTO_ERROR as c_int, || {
        let value = body()?;
        Ok(fill(slot, value))
    });
    slot.error = error;
    kind
}

/// The arguments before the first NULL pointer, and how many there are.
///
/// # Safety
/// Each pointer before the first NULL is valid for its length.
unsafe fn short_args<'a>(pairs: [(*const c_char, c_int); 3]) -> Result<([&'a [u8]; 3], usize)> {
    leading_args(pairs, |i, ptr, len| {
        let len = usize::try_from(len)
            .map_err(|_| Error::invalid(format!("n{i} is negative ({len})")))?;
        // SAFETY: non-NULL and valid for `len` bytes, per the caller's contract.
        Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
    })
}

/// The NUL-terminated arguments before the first NULL pointer, and how many there are.
///
/// # Safety
/// Each pointer before the first NULL is a NUL-terminated string.
unsafe fn text_args<'a>(ptrs: [*const c_char; 3]) -> Result<([&'a [u8]; 3], usize)> {
    leading_args(ptrs.map(|ptr| (ptr, ())), |_, ptr, ()| {
        // SAFETY: non-NULL and NUL-terminated, per the caller's contract.
        Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
    })
}

/// The arguments `read` makes of each non-NULL pointer (with its index and what comes with
/// it) before the first NULL one, and how many there are: at least one.
fn leading_args<'a, T>(
    items: [(*const c_char, T); 3],
    read: impl Fn(usize, *const c_char, T) -> Result<&'a [u8]>,
) -> Result<([&'a [u8]; 3], usize)> {
    let mut args: [&[u8]; 3] = [&[]; 3];
    let mut argc = 0;
    for (i, (ptr, extra)) in items.into_iter().enumerate() {
        if ptr.is_null() {
            break;
        }
        args[i] = read(i, ptr, extra)?;
        argc += 1;
    }
    if argc == 0 {
        return Err(Error::invalid(
            "a0 is NULL: a command needs at least one argument",
        ));
    }
    Ok((args, argc))
}

/// Puts `value` in `slot`, copied where it fits, and says where it went.
fn fill(slot: &mut sentinel_reply_slot, value: Value) -> c_int {
    let copied = |slot: &mut sentinel_reply_slot, bytes: &[u8]| {
        if bytes.is_empty() {
            return true;
        }
        if bytes.len() > slot.cap || slot.buf.is_null() {
            return false;
        }
        // SAFETY: `buf` is valid for `cap` bytes, per the callers' contract, and `bytes` fits.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), slot.buf.cast(), bytes.len()) };
        true
    };
    match value {
        Value::BulkString(bytes) if bytes.len() <= c_int::MAX as usize && copied(slot, &bytes) => {
            bytes.len() as c_int
        }
        Value::Nil => SENTINEL_INTO_NIL as c_int,
        Value::Int(n) => {
            slot.integer = n;
            SENTINEL_INTO_INTEGER as c_int
        }
        Value::Okay if copied(slot, b"OK") => {
            slot.len = 2;
            SENTINEL_INTO_STATUS as c_int
        }
        Value::SimpleString(text) if copied(slot, text.as_bytes()) => {
            slot.len = text.len();
            SENTINEL_INTO_STATUS as c_int
        }
        other => {
            slot.reply = sentinel_reply::from_value(other);
            SENTINEL_INTO_REPLY as c_int
        }
    }
}

/// One node of a flattened reply tree (see `sentinel_reply_flatten`): 40 bytes, native endian.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, Default)]
pub struct sentinel_flat_node {
    /// A `sentinel_reply_type`.
    pub r#type: i32,
    pub reserved: i32,
    /// INTEGER and BOOL: the value; ARRAY, SET, PUSH, MAP: the number of children (MAP: 2 x pairs).
    pub integer: i64,
    /// DOUBLE: the value.
    pub dval: f64,
    /// Bytes of this node's string in the strings buffer.
    pub len: u64,
    /// Where this node's string starts in the strings buffer.
    pub offset: u64,
}

/// Serializes the tree under `reply` into `nodes` (pre-order: a node, then its children) and
/// `strings` (every string, back to back, without NULs), for bindings that read one buffer
/// faster than many nodes. Writes the number of nodes and of string bytes the tree needs into
/// `needed[0]` and `needed[1]`, and fills the buffers only when they are large enough
/// (`nodes_cap` nodes, `strings_cap` bytes; call once with 0 to size them). Returns true when
/// it filled them. Does not take ownership of anything.
///
/// # Safety
/// `reply` is NULL or a live reply; `nodes`/`strings` hold their caps (or are NULL with cap
/// 0); `needed` is NULL or holds 2 values.
#[no_mangle]
pub unsafe extern "C" fn sentinel_reply_flatten(
    reply: *const sentinel_reply,
    nodes: *mut sentinel_flat_node,
    nodes_cap: usize,
    strings: *mut c_char,
    strings_cap: usize,
    needed: *mut usize,
) -> bool {
    let mut filled = false;
    boundary_void(|| {
        // SAFETY: NULL or a live reply, per the contract above.
        let Some(root) = (unsafe { reply.as_ref() }) else {
            return;
        };
        let mut counts = (0usize, 0usize);
        // SAFETY: a live tree.
        unsafe { measure(root, &mut counts) };
        if !needed.is_null() {
            // SAFETY: `needed` holds 2 values, per the contract above.
            unsafe {
                *needed = counts.0;
                *needed.add(1) = counts.1;
            }
        }
        if nodes.is_null()
            || nodes_cap < counts.0
            || (counts.1 > 0 && (strings.is_null() || strings_cap < counts.1))
        {
            return;
        }
        // SAFETY: the buffers hold what `measure` counted, per the caps checked above.
        let nodes = unsafe { std::slice::from_raw_parts_mut(nodes, counts.0) };
        let strings = if counts.1 == 0 {
            &mut [][..]
        } else {
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts_mut(strings.cast::<u8>(), counts.1) }
        };
        let mut at = (0usize, 0usize);
        // SAFETY: a live tree.
        unsafe { flatten(root, nodes, strings, &mut at) };
        filled = true;
    });
    filled
}

/// # Safety
/// `node` is part of a live tree.
unsafe fn children(node: &sentinel_reply) -> &[*mut sentinel_reply] {
    if node.element.is_null() {
        &[]
    } else {
        // SAFETY: `element` holds `elements` pointers.
        unsafe { std::slice::from_raw_parts(node.element, node.elements) }
    }
}

/// # Safety
/// `node` is part of a live tree.
unsafe fn measure(node: &sentinel_reply, counts: &mut (usize, usize)) {
    counts.0 += 1;
    if !node.str.is_null() {
        counts.1 += node.len;
    }
    // SAFETY: a live tree.
    for &child in unsafe { children(node) } {
        // SAFETY: children of a live tree are live.
        unsafe { measure(&*child, counts) };
    }
}

/// # Safety
/// `node` is part of a live tree; the buffers are as large as `measure` said.
unsafe fn flatten(
    node: &sentinel_reply,
    nodes: &mut [sentinel_flat_node],
    strings: &mut [u8],
    at: &mut (usize, usize),
) {
    let mut flat = sentinel_flat_node {
        r#type: node.r#type,
        integer: node.integer,
        dval: node.dval,
        offset: at.1 as u64,
        ..Default::default()
    };
    if !node.str.is_null() {
        // SAFETY: `str` holds `len` bytes.
        let text = unsafe { std::slice::from_raw_parts(node.str.cast::<u8>(), node.len) };
        strings[at.1..at.1 + node.len].copy_from_slice(text);
        flat.len = node.len as u64;
        at.1 += node.len;
    }
    let aggregates = [
        SENTINEL_REPLY_ARRAY,
        SENTINEL_REPLY_SET,
        SENTINEL_REPLY_PUSH,
        SENTINEL_REPLY_MAP,
    ];
    if aggregates.iter().any(|&kind| kind as c_int == node.r#type) {
        flat.integer = node.elements as i64;
    }
    nodes[at.0] = flat;
    at.0 += 1;
    // SAFETY: a live tree.
    for &child in unsafe { children(node) } {
        // SAFETY: children of a live tree are live.
        unsafe { flatten(&*child, nodes, strings, at) };
    }
}
