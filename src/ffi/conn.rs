//! `sentinel_conn`: one checked-out connection, and running commands on it.

use std::ffi::c_char;

use super::{boundary, mut_arg, sentinel_client, sentinel_error, sentinel_reply};
use crate::error::Error;
use crate::pool::Conn;

/// One checked-out connection. Opaque. Used by one thread at a time; may move between threads.
#[allow(non_camel_case_types)]
pub struct sentinel_conn {
    pub(crate) conn: Option<Conn>,
    pub(crate) client: *const sentinel_client,
    pub(crate) master: usize,
}

impl sentinel_conn {
    pub(crate) fn empty(client: &sentinel_client, master: usize) -> Self {
        sentinel_conn {
            conn: None,
            client,
            master,
        }
    }

    pub(crate) fn live(&mut self) -> Result<&mut Conn, Error> {
        self.conn
            .as_mut()
            .ok_or_else(|| Error::invalid("conn was already put back"))
    }
}

/// Collects `argc` arguments; `argvlen` NULL means every argument is NUL-terminated.
///
/// # Safety
/// `argv` holds `argc` pointers, each NULL or valid for its length (or NUL-terminated).
pub(crate) unsafe fn collect_args<'a>(
    argc: usize,
    argv: *const *const c_char,
    argvlen: *const usize,
) -> Result<Vec<&'a [u8]>, Error> {
    if argc == 0 {
        return Err(Error::invalid(
            "argc is 0: a command needs at least one argument",
        ));
    }
    if argv.is_null() {
        return Err(Error::invalid("argv is NULL"));
    }
    // SAFETY: `argv` is non-NULL and holds `argc` pointers, per the contract.
    let ptrs = unsafe { std::slice::from_raw_parts(argv, argc) };
    let lens = if argvlen.is_null() {
        None
    } else {
        // SAFETY: `argvlen`, when given, holds `argc` lengths, per the contract.
        Some(unsafe { std::slice::from_raw_parts(argvlen, argc) })
    };
    let mut args = Vec::with_capacity(argc);
    for (i, &ptr) in ptrs.iter().enumerate() {
        if ptr.is_null() {
            return Err(Error::invalid(format!("argv[{i}] is NULL")));
        }
        let arg = match lens {
            // SAFETY: `ptr` is valid for `len` bytes, per the contract.
            Some(lens) => unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), lens[i]) },
            // SAFETY: `ptr` is NUL-terminated when no lengths are given.
            None => unsafe { std::ffi::CStr::from_ptr(ptr) }.to_bytes(),
        };
        args.push(arg);
    }
    Ok(args)
}

/// Runs one command on `conn` and returns its reply.
///
/// `argv` holds `argc` (at least 1) arguments. When `argvlen` is NULL each argument is
/// NUL-terminated; otherwise `argvlen[i]` is the length of `argv[i]` and arguments are
/// binary-safe. An error reply at top level returns NULL with `*err` of kind SERVER or READONLY
/// (the connection is fine after SERVER, not after READONLY); error replies nested in arrays
/// (EXEC, scripts) are elements of type SENTINEL_REPLY_ERROR. An I/O failure or timeout returns
/// NULL with kind IO and marks `conn` broken, so putting it back closes it. A command on a conn
/// whose master is being failed over is not sent (IO); on a conn checked out before the master
/// moved it is not sent either and fails as READONLY (the node is no longer the master).
///
/// Caller owns the result; free it with `sentinel_reply_free`. Does not take ownership of
/// `argv` or `argvlen`.
///
/// # Safety
/// `conn` is NULL or a checked-out conn used by no other thread; `argv`/`argvlen` as above.
#[no_mangle]
pub unsafe extern "C" fn sentinel_command_argv(
    conn: *mut sentinel_conn,
    argc: usize,
    argv: *const *const c_char,
    argvlen: *const usize,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_reply {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: NULL or a checked-out conn used only by this thread, per the contract.
        let conn = unsafe { mut_arg(conn, "conn") }?.live()?;
        // SAFETY: forwarded contract.
        let args = unsafe { collect_args(argc, argv, argvlen) }?;
        let value = conn.command(&args)?;
        Ok(sentinel_reply::from_value(value))
    })
}

/// Makes `conn` close, instead of going back to the pool, when it is put back. For errors the
/// library cannot see: an application timeout, or an exception in the middle of a MULTI.
/// NULL is a no-op. Does not take ownership of `conn`.
///
/// # Safety
/// `conn` is NULL or a checked-out conn used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_conn_mark_broken(conn: *mut sentinel_conn) {
    super::boundary_void(|| {
        // SAFETY: NULL or a checked-out conn used only by this thread, per the contract.
        if let Ok(Some(conn)) = unsafe { mut_arg(conn, "conn") }.map(|c| c.conn.as_mut()) {
            conn.mark_broken();
        }
    });
}

/// Queues one command on `conn` without sending it (hiredis's `redisAppendCommandArgv`).
/// Arguments as in `sentinel_command_argv`. `sentinel_get_reply` sends every queued command in
/// one write and returns the replies in order. Returns false and sets `*err` on bad arguments.
/// Does not take ownership of `argv` or `argvlen`.
///
/// # Safety
/// As `sentinel_command_argv`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_append_command_argv(
    conn: *mut sentinel_conn,
    argc: usize,
    argv: *const *const c_char,
    argvlen: *const usize,
    err: *mut *mut sentinel_error,
) -> bool {
    boundary(here!(), err, false, || {
        // SAFETY: NULL or a checked-out conn used only by this thread, per the contract.
        let conn = unsafe { mut_arg(conn, "conn") }?.live()?;
        // SAFETY: forwarded contract.
        let args = unsafe { collect_args(argc, argv, argvlen) }?;
        conn.append(&args)?;
        Ok(true)
    })
}

/// The reply of the oldest command queued with `sentinel_append_command_argv`, sending all
/// queued commands first when none has been sent yet (hiredis's `redisGetReply`). Error replies
/// come back as replies of type SENTINEL_REPLY_ERROR, not as `*err`. Returns NULL and sets
/// `*err`: INVALID_ARGUMENT when nothing is queued, IO when the connection failed (the conn is
/// then marked broken). Caller owns the result; free it with `sentinel_reply_free`.
///
/// # Safety
/// `conn` is NULL or a checked-out conn used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_get_reply(
    conn: *mut sentinel_conn,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_reply {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: NULL or a checked-out conn used only by this thread, per the contract.
        let conn = unsafe { mut_arg(conn, "conn") }?.live()?;
        Ok(sentinel_reply::from_value(conn.get_reply()?))
    })
}

/// Runs `ncommands` commands in one round trip and returns their replies as one
/// SENTINEL_REPLY_ARRAY of `ncommands` elements; error replies are elements of type
/// SENTINEL_REPLY_ERROR. Command `i` has `argcs[i]` (at least 1) arguments; `argv` holds all
/// arguments of all commands one after another, and `argvlen` (or NULL for NUL-terminated
/// arguments) their lengths. Returns NULL and sets `*err` on bad arguments, or IO when the
/// connection failed (the conn is then marked broken). Caller owns the result; free it with
/// `sentinel_reply_free`. Does not take ownership of `argcs`, `argv` or `argvlen`.
///
/// # Safety
/// `conn` is NULL or a checked-out conn used by no other thread; `argcs` holds `ncommands`
/// counts; `argv` (and `argvlen`, when not NULL) hold their sum.
#[no_mangle]
pub unsafe extern "C" fn sentinel_pipeline_argv(
    conn: *mut sentinel_conn,
    ncommands: usize,
    argcs: *const usize,
    argv: *const *const c_char,
    argvlen: *const usize,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_reply {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: NULL or a checked-out conn used only by this thread, per the contract.
        let conn = unsafe { mut_arg(conn, "conn") }?.live()?;
        if ncommands == 0 {
            return Err(Error::invalid("ncommands is 0"));
        }
        if argcs.is_null() {
            return Err(Error::invalid("argcs is NULL"));
        }
        // SAFETY: `argcs` holds `ncommands` counts, per the contract.
        let counts = unsafe { std::slice::from_raw_parts(argcs, ncommands) };
        let total = counts
            .iter()
            .try_fold(0usize, |sum, &n| sum.checked_add(n))
            .ok_or_else(|| Error::invalid("argcs add up to more than memory holds"))?;
        if let Some(i) = counts.iter().position(|&n| n == 0) {
            return Err(Error::invalid(format!(
                "argcs[{i}] is 0: a command needs at least one argument"
            )));
        }
        // SAFETY: `argv`/`argvlen` hold `total` entries, per the contract.
        let args = unsafe { collect_args(total, argv, argvlen) }?;
        let mut commands = Vec::with_capacity(ncommands);
        let mut rest = args.as_slice();
        for &n in counts {
            let (command, tail) = rest.split_at(n);
            commands.push(command);
            rest = tail;
        }
        let replies = conn.pipeline(&commands)?;
        Ok(sentinel_reply::from_value(
            crate::resp::value::Value::Array(replies),
        ))
    })
}
