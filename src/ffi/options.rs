//! `sentinel_options`: several sentinels and every timeout, for `sentinel_client_new_with_options`.

use std::ffi::{c_char, c_uint};
use std::time::Duration;

use super::client::client_from_config;
use super::{
    boundary, export_name, free_handle, mut_arg, new_handle, ref_arg, sentinel_client,
    sentinel_error, str_arg,
};
use crate::config::{Config, SentinelAddr};
use crate::error::Error;

/// Options for a client: the sentinels to ask first and the timeouts. Opaque.
#[allow(non_camel_case_types)]
pub struct sentinel_options {
    pub(crate) config: Config,
}

/// New options with no sentinel and every default: connect timeout 1000 ms, read and write
/// timeouts 3000 ms, pool wait 4000 ms, fence wait 5000 ms, sentinel timeout 1000 ms.
/// Caller owns the result; free it with `sentinel_options_free`. NULL only if out of memory.
#[no_mangle]
pub extern "C" fn sentinel_options_new() -> *mut sentinel_options {
    let options = || {
        Ok(new_handle(sentinel_options {
            config: Config::default(),
        }))
    };
    boundary(here!(), std::ptr::null_mut(), std::ptr::null_mut(), options)
}

/// Frees `opts`. NULL is a no-op. Clients made from `opts` do not depend on it.
///
/// # Safety
/// `opts` is NULL or options from `sentinel_options_new` that have not been freed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_free(opts: *mut sentinel_options) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(opts) }
}

/// Adds a sentinel to ask (in the order added). `network` and `address` as in
/// `sentinel_client_new`. Others are still discovered with `SENTINEL SENTINELS`.
/// Returns false and sets `*err` on a NULL or bad argument. Does not take ownership of
/// `network` or `address`.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread; strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_add_sentinel(
    opts: *mut sentinel_options,
    network: *const c_char,
    address: *const c_char,
    err: *mut *mut sentinel_error,
) -> bool {
    let add = |config: &mut Config| {
        // SAFETY: NULL or NUL-terminated strings, per the contract above.
        let network = unsafe { str_arg(network, "network") }?;
        // SAFETY: as above.
        let address = unsafe { str_arg(address, "address") }?;
        config
            .sentinels
            .push(SentinelAddr::parse(network, address)?);
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, add) }
}

/// Runs `update` on the options behind `opts` for the setter `func`: NULL `opts` or an `Err`
/// from `update` returns false with `*err` set.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
pub(crate) unsafe fn update_options(
    func: &'static str,
    opts: *mut sentinel_options,
    err: *mut *mut sentinel_error,
    update: impl FnOnce(&mut Config) -> Result<(), Error>,
) -> bool {
    boundary(func, err, false, || {
        // SAFETY: forwarded contract.
        let opts = unsafe { mut_arg(opts, "opts") }?;
        update(&mut opts.config).map(|()| true)
    })
}

/// Sets one duration of `opts` from milliseconds, rejecting 0.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
unsafe fn set_millis(
    func: &'static str,
    opts: *mut sentinel_options,
    millis: u64,
    err: *mut *mut sentinel_error,
    field: fn(&mut Config) -> &mut Duration,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe {
        update_options(func, opts, err, |config| {
            let value = Duration::from_millis(millis);
            Config::check_timeout(export_name(func), value)?;
            *field(config) = value;
            Ok(())
        })
    }
}

/// Bound on opening a data connection (name lookup, TCP connect and handshake). Default
/// 1000 ms.
/// Returns false and sets `*err` when `opts` is NULL or `millis` is 0.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_connect_timeout_ms(
    opts: *mut sentinel_options,
    millis: u64,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { set_millis(here!(), opts, millis, err, |c| &mut c.connect_timeout) }
}

/// Bound on the whole reply of a command (or all replies of a pipeline), counted from the
/// moment it was sent, however slowly its bytes trickle in; a hung master fails the command
/// (IO) after this long. Default 3000 ms. A command that waits on the server (see
/// `sentinel_client_interrupt_waits`) is given its own timeout on top of this one, and waits
/// without bound when that timeout is 0; a failover or an interrupt still ends its wait.
/// Returns false and sets `*err` when `opts` is NULL or `millis` is 0.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_read_timeout_ms(
    opts: *mut sentinel_options,
    millis: u64,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { set_millis(here!(), opts, millis, err, |c| &mut c.read_timeout) }
}

/// Bound on writing one command to a data node. Default 3000 ms.
/// Returns false and sets `*err` when `opts` is NULL or `millis` is 0.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_write_timeout_ms(
    opts: *mut sentinel_options,
    millis: u64,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { set_millis(here!(), opts, millis, err, |c| &mut c.write_timeout) }
}

/// How long `sentinel_get_master` waits for a free connection before POOL_TIMEOUT.
/// Default 4000 ms. Returns false and sets `*err` when `opts` is NULL or `millis` is 0.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_pool_wait_ms(
    opts: *mut sentinel_options,
    millis: u64,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { set_millis(here!(), opts, millis, err, |c| &mut c.pool_wait) }
}

/// Longest a failover may fence a master: while fenced, `sentinel_get_master` waits up to this
/// long for the new master, and commands on conns to the old master fail (IO) without being
/// sent. When it ends, the fence is lifted and the sentinels re-asked. Default 5000 ms.
/// Returns false and sets `*err` when `opts` is NULL or `millis` is 0.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_fence_wait_ms(
    opts: *mut sentinel_options,
    millis: u64,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { set_millis(here!(), opts, millis, err, |c| &mut c.fence_wait) }
}

/// Bound on connecting to and querying a sentinel; a silent sentinel link is dropped after
/// three times its keepalive (1000 ms). Default 1000 ms.
/// Returns false and sets `*err` when `opts` is NULL or `millis` is 0.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_sentinel_timeout_ms(
    opts: *mut sentinel_options,
    millis: u64,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { set_millis(here!(), opts, millis, err, |c| &mut c.sentinel_timeout) }
}

/// After sending commands, spin on the socket for up to `micros` microseconds waiting for
/// the reply before the thread sleeps until it comes. Spinning trades a CPU kept busy while
/// waiting for lower latency: a thread that sleeps must be woken, which on loopback or a fast
/// network can take longer than Redis takes to answer. Worth it with spare cores and replies
/// expected within tens of microseconds; with more busy threads than cores the spinning
/// threads take the CPU the others need. A connection whose replies keep missing the budget
/// (a slow network, slow commands) pauses spinning, for up to 1024 replies, then tries again;
/// commands that wait on the server (BLPOP and the like) never spin. 0 (the default) never
/// spins. Returns false and sets `*err` when `opts` is NULL or `micros` is above 10000.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_busy_poll_us(
    opts: *mut sentinel_options,
    micros: u64,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        let busy_poll = Duration::from_micros(micros);
        Config::check_busy_poll(busy_poll)?;
        config.busy_poll = busy_poll;
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// TCP keepalive for every connection (data and sentinel): the kernel probes a connection
/// silent for `seconds`, then every third of that (at least 1 s), and closes it after three
/// unanswered probes. A peer that vanished without closing (a dead host, a NAT that forgot
/// the connection) is then noticed while the connection sits idle in the pool, instead of by
/// the next command's read timeout. 0 turns the probes off. Default 15 s. Returns false and
/// sets `*err` when `opts` is NULL or `seconds` is above 32767 (Linux's limit).
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_tcp_keepalive_s(
    opts: *mut sentinel_options,
    seconds: u64,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        let keepalive = Duration::from_secs(seconds);
        Config::check_tcp_keepalive(keepalive)?;
        config.tcp_keepalive = keepalive;
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// Durable writes: after the writes of each request (a command, a pipeline, the commands
/// appended before one `sentinel_get_reply`, a transaction's EXEC) the client sends
/// `WAIT replicas timeout_ms` in the same write, reads its reply itself, and fails the request
/// with SENTINEL_ERROR_NOT_REPLICATED when fewer than `replicas` replicas confirmed the writes
/// within `timeout_ms`: the writes reached the master, but a failover may lose them. The
/// connection stays usable, and a pipeline that fails so returns no replies. Reads never wait;
/// no WAIT is sent inside MULTI; a pipeline or transaction gets one WAIT, not one per command.
/// The write commands are the servers' own (their `write` flag) plus EVAL, EVALSHA and FCALL;
/// module commands are not known (see the README, "Durable writes"). The read timeout of a
/// request with a WAIT is longer by `timeout_ms`. `replicas` 0 (the default) turns it off.
/// Returns false and sets `*err` when `opts` is NULL, or `timeout_ms` is 0 while `replicas` is
/// not (WAIT would wait for ever).
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_wait_replicas(
    opts: *mut sentinel_options,
    replicas: c_uint,
    timeout_ms: c_uint,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        Config::check_wait_replicas(replicas, timeout)?;
        config.wait_replicas = replicas;
        config.wait_timeout = timeout;
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// Like `sentinel_client_new`, with the sentinels and timeouts of `opts` (at least one
/// sentinel added). Returns NULL on failure and sets `*err`. Caller owns the result; free it
/// with `sentinel_client_close`. Does not take ownership of `opts` or `names`.
///
/// # Safety
/// `opts` is NULL or live options; `names` holds `names_len` pointers, each NULL or a
/// NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sentinel_client_new_with_options(
    opts: *const sentinel_options,
    pool_size: usize,
    names: *const *const c_char,
    names_len: usize,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_client {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let opts = unsafe { ref_arg(opts, "opts") }?;
        if opts.config.sentinels.is_empty() {
            return Err(Error::invalid(
                "opts has no sentinel: add one with sentinel_options_add_sentinel",
            ));
        }
        // SAFETY: forwarded contract.
        unsafe { client_from_config(opts.config.clone(), pool_size, names, names_len) }
    })
}
