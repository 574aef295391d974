//! `sentinel_client`: creation, checkout and return of conns, close.

use std::ffi::c_char;
use std::sync::Mutex;

use super::{
    boundary, boundary_void, mut_arg, new_handle, ref_arg, sentinel_conn, sentinel_error, str_arg,
    take_handle,
};
use crate::client::Client;
use crate::config::{Config, SentinelAddr};
use crate::error::Error;

/// A client: follows the masters it was given and pools connections to them. Opaque.
#[allow(non_camel_case_types)]
pub struct sentinel_client {
    pub(crate) core: Client,
    /// Per master: every conn handle ever made, and the ones free for reuse. Handles are
    /// recycled so a checkout allocates nothing once warm, and close can free conns still out.
    slabs: Box<[Mutex<HandleSlab>]>,
}

#[derive(Default)]
struct HandleSlab {
    all: Vec<*mut sentinel_conn>,
    free: Vec<*mut sentinel_conn>,
}

// SAFETY: the raw handles are only dereferenced by the thread that checked them out, or by
// close, which the contract says runs alone.
unsafe impl Send for HandleSlab {}

impl sentinel_client {
    fn take_handle(&self, index: usize) -> *mut sentinel_conn {
        let mut slab = self.slabs[index].lock().unwrap_or_else(|p| p.into_inner());
        if let Some(handle) = slab.free.pop() {
            return handle;
        }
        let handle = new_handle(sentinel_conn::empty(self, index));
        slab.all.push(handle);
        handle
    }

    pub(crate) fn release_handle(&self, handle: *mut sentinel_conn, index: usize) {
        let mut slab = self.slabs[index].lock().unwrap_or_else(|p| p.into_inner());
        slab.free.push(handle);
    }
}

/// Connects to the sentinel at `address`, resolves every name, opens an (initially empty) pool
/// per master, and starts following failovers on every sentinel it discovers.
///
/// `network` is `"tcp"` (`address` is `"host:port"`, IPv6 as `"[::1]:26379"`) or `"unix"`
/// (`address` is a socket path). `pool_size` (at least 1) bounds the connections per master;
/// `names` holds `names_len` (at least 1) NUL-terminated UTF-8 master names.
/// Defaults: connect timeout 1 s, read/write timeout 3 s, pool wait 4 s, sentinel timeout 1 s.
///
/// Returns NULL on failure and sets `*err` (when `err` is not NULL); on success sets `*err` to
/// NULL. Caller owns the result; free it with `sentinel_client_close`. Does not take ownership
/// of `network`, `address` or `names`.
///
/// # Safety
/// Each pointer is NULL or valid as described; `names` holds `names_len` pointers.
#[no_mangle]
pub unsafe extern "C" fn sentinel_client_new(
    network: *const c_char,
    address: *const c_char,
    pool_size: usize,
    names: *const *const c_char,
    names_len: usize,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_client {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: NULL or NUL-terminated strings, per the contract above.
        let network = unsafe { str_arg(network, "network") }?;
        // SAFETY: as above.
        let address = unsafe { str_arg(address, "address") }?;
        let config = Config {
            sentinels: vec![SentinelAddr::parse(network, address)?],
            ..Config::default()
        };
        // SAFETY: forwarded contract.
        unsafe { client_from_config(config, pool_size, names, names_len) }
    })
}

/// Completes `config` with the pool size and names of a C call and starts a client.
///
/// # Safety
/// `names` is NULL or holds `names_len` pointers, each NULL or a NUL-terminated string.
pub(crate) unsafe fn client_from_config(
    mut config: Config,
    pool_size: usize,
    names: *const *const c_char,
    names_len: usize,
) -> Result<*mut sentinel_client, Error> {
    if names.is_null() {
        return Err(Error::invalid("names is NULL"));
    }
    if names_len == 0 {
        return Err(Error::invalid("no master names given (names_len is 0)"));
    }
    config.pool_size = pool_size_arg(pool_size)?;
    // SAFETY: `names` is non-NULL and holds `names_len` pointers, per the contract.
    let raw_names = unsafe { std::slice::from_raw_parts(names, names_len) };
    config.masters = raw_names
        .iter()
        .enumerate()
        // SAFETY: each entry is NULL or a NUL-terminated string, per the contract.
        .map(|(i, &name)| unsafe { str_arg(name, &format!("names[{i}]")) }.map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;
    start_client(config)
}

/// A C pool size as the core's.
fn pool_size_arg(pool_size: usize) -> Result<u32, Error> {
    u32::try_from(pool_size)
        .map_err(|_| Error::invalid(format!("pool size {pool_size} is too large")))
}

/// Starts a client for `config` (masters included) and hands it to C.
fn start_client(config: Config) -> Result<*mut sentinel_client, Error> {
    let masters = config.masters.len();
    let core = Client::new(config)?;
    // One slab per master for master conns, then one per master for replica conns.
    let slabs = (0..2 * masters).map(|_| Mutex::default()).collect();
    Ok(new_handle(sentinel_client { core, slabs }))
}

/// Like `sentinel_client_new`, configured by one string:
/// `redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/name[,name...][/db][?params]`
/// (`rediss+sentinel://` for TLS to masters and replicas). Sentinels default to port 26379,
/// IPv6 hosts go in brackets, and user info and values are percent-decoded. The parameters
/// are the Python keyword names, durations in seconds: `connect_timeout`, `read_timeout`,
/// `write_timeout`, `pool_wait`, `fence_wait`, `sentinel_timeout`, `busy_poll`,
/// `tcp_keepalive`, `pool_size`, `db`, `client_name`, `resp3`, `username`, `password`,
/// `sentinel_username`, `sentinel_password`, `ca_file`, `cert_file`, `key_file`,
/// `server_name`, `sentinel_tls`, `sentinel_ca_file`, `sentinel_cert_file`,
/// `sentinel_key_file`, `sentinel_server_name`. `pool_size` 0 keeps the URL's (default 10).
/// A bad URL fails with INVALID_ARGUMENT naming the bad part (never a password). Returns NULL
/// on failure and sets `*err`. Caller owns the result; free it with `sentinel_client_close`.
/// Does not take ownership of `url`.
///
/// # Safety
/// `url` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sentinel_client_new_from_url(
    url: *const c_char,
    pool_size: usize,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_client {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: NULL or NUL-terminated, per the contract above.
        let url = unsafe { str_arg(url, "url") }?;
        let mut config = Config::from_url(url)?;
        if pool_size != 0 {
            config.pool_size = pool_size_arg(pool_size)?;
        }
        start_client(config)
    })
}

/// Stops every background thread, closes every socket, and frees `client` together with any
/// conn still checked out. Neither `client` nor its conns may be used afterwards. NULL is a
/// no-op. Must not run concurrently with any other call on `client` or its conns: end the
/// commands other threads wait in (BLPOP and the like) with `sentinel_client_interrupt_waits`
/// and join those threads first. (One thing is not waited for: a host name lookup that the
/// system resolver has held past the connect timeout. Its helper thread holds nothing of the
/// client and ends when the resolver answers.)
///
/// # Safety
/// `client` is NULL or a client from `sentinel_client_new` that has not been closed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_client_close(client: *mut sentinel_client) {
    boundary_void(|| {
        // SAFETY: NULL or a client from sentinel_client_new, closed once, per the contract.
        let Some(client) = (unsafe { take_handle(client) }) else {
            return;
        };
        for slab in client.slabs.iter() {
            let slab = std::mem::take(&mut *slab.lock().unwrap_or_else(|p| p.into_inner()));
            for handle in slab.all {
                // SAFETY: every handle in `all` came from new_handle and is freed only here.
                drop(unsafe { take_handle(handle) });
            }
        }
        client.core.close();
    });
}

/// Ends every command of `client` that is waiting on the server: BLPOP, BRPOP, BRPOPLPUSH,
/// BLMOVE, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, XREAD and XREADGROUP with BLOCK, WAIT, WAITAOF.
/// Each returns NULL with an IO error now, and its conn is closed when put back. Commands that
/// start waiting after this call are not affected. Any thread may call it while others use
/// the client: for instance to end a `BLPOP list 0` before `sentinel_client_close`, which must
/// not run while any thread is inside a call. Borrows `client`; NULL is a no-op.
///
/// # Safety
/// `client` is NULL or a live client.
#[no_mangle]
pub unsafe extern "C" fn sentinel_client_interrupt_waits(client: *const sentinel_client) {
    boundary_void(|| {
        // SAFETY: forwarded contract.
        if let Ok(client) = unsafe { ref_arg(client, "client") } {
            client.core.interrupt_waits();
        }
    });
}

/// Checks out a connection to the current master of `name`, waiting up to the pool wait time
/// for a free one. After the client has seen a failover, every conn it returns points at the
/// new master.
///
/// Returns NULL on failure and sets `*err`: UNKNOWN_MASTER for a name not given to the client,
/// POOL_TIMEOUT when every connection stayed busy, IO when the master cannot be reached.
/// Caller owns the result; give it back with `sentinel_put_master` or
/// `sentinel_carefully_put_master`. Does not take ownership of `name`.
///
/// # Safety
/// `client` is NULL or a live client; `name` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn sentinel_get_master(
    client: *mut sentinel_client,
    name: *const c_char,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_conn {
    // SAFETY: forwarded contract.
    unsafe { checkout_handle(here!(), client, name, err, Side::Master) }
}

/// Checks out a connection to a healthy replica of `name`, round-robin: replicas that a
/// sentinel marks down or disconnected, or whose link to the master is down, are skipped; the
/// set follows replica announcements and failovers. Returns NULL and sets `*err`:
/// UNKNOWN_MASTER for a name not given to the client, IO when no healthy replica can be
/// reached. Caller owns the result; give it back with `sentinel_put_master` or
/// `sentinel_carefully_put_master`. Does not take ownership of `name`.
///
/// # Safety
/// As `sentinel_get_master`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_get_replica(
    client: *mut sentinel_client,
    name: *const c_char,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_conn {
    // SAFETY: forwarded contract.
    unsafe { checkout_handle(here!(), client, name, err, Side::Replica) }
}

/// Which pool of a master a checkout draws from.
#[derive(Clone, Copy)]
enum Side {
    Master,
    Replica,
}

/// Checks out a conn of master `name` from `side` and wraps it in a recycled handle.
///
/// # Safety
/// `client` is NULL or a live client; `name` is NULL or a NUL-terminated string.
unsafe fn checkout_handle(
    func: &'static str,
    client: *mut sentinel_client,
    name: *const c_char,
    err: *mut *mut sentinel_error,
    side: Side,
) -> *mut sentinel_conn {
    boundary(func, err, std::ptr::null_mut(), || {
        // SAFETY: NULL or a live client, per the contract above.
        let client = unsafe { ref_arg(client.cast_const(), "client") }?;
        // SAFETY: NULL or a NUL-terminated string, per the contract above.
        let name = unsafe { str_arg(name, "name") }?;
        let index = client.core.master_index(name)?;
        let (conn, slab) = match side {
            Side::Master => (client.core.get_master_at(index)?, index),
            Side::Replica => (
                client.core.get_replica_at(index)?,
                client.slabs.len() / 2 + index,
            ),
        };
        let handle = client.take_handle(slab);
        // SAFETY: the handle was just taken from the free list: no one else uses it.
        unsafe { (*handle).conn = Some(conn) };
        Ok(handle)
    })
}

/// Puts `conn` back for reuse. It is closed instead when it is broken (an I/O or READONLY
/// error was seen on it), when its master has moved since it was checked out, or when its
/// commands left state the next caller would inherit: inside MULTI or WATCH, subscribed,
/// monitoring, or after SELECT, HELLO, AUTH, RESET, CLIENT REPLY or CLIENT TRACKING. NULL
/// `client` or `conn` is a no-op. Consumes `conn`. Does not take ownership of `name`.
///
/// # Safety
/// `conn` is NULL or a conn checked out of `client` and not yet put back.
#[no_mangle]
pub unsafe extern "C" fn sentinel_put_master(
    client: *mut sentinel_client,
    name: *const c_char,
    conn: *mut sentinel_conn,
) {
    // SAFETY: forwarded contract; no last error.
    unsafe { sentinel_carefully_put_master(client, name, conn, std::ptr::null()) }
}

/// Like `sentinel_put_master`, but also closes `conn` when `last_err` (the last error seen on
/// it, or NULL) says the connection cannot be trusted: any kind but SERVER, INVALID_ARGUMENT and
/// UNKNOWN_MASTER. Consumes `conn`; does not take ownership of `name` or `last_err`.
///
/// # Safety
/// As `sentinel_put_master`; `last_err` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn sentinel_carefully_put_master(
    client: *mut sentinel_client,
    name: *const c_char,
    conn: *mut sentinel_conn,
    last_err: *const sentinel_error,
) {
    // The conn knows its master; `name` is accepted for the radix-shaped signature.
    let _ = name;
    boundary_void(|| {
        if client.is_null() {
            return;
        }
        // SAFETY: NULL or a conn checked out and not yet returned, per the contract above.
        let Ok(handle) = (unsafe { mut_arg(conn, "conn") }) else {
            return;
        };
        let Some(core_conn) = handle.conn.take() else {
            return; // already put back
        };
        // SAFETY: NULL or a live error, per the contract above.
        let last_err = unsafe { last_err.as_ref() }.map(|e| &e.error);
        // SAFETY: the conn belongs to a live client (the one that made it).
        let owner = unsafe { &*handle.client };
        let index = handle.master;
        owner.release_handle(conn, index);
        owner.core.carefully_put_master(core_conn, last_err);
    });
}

/// Runs one command on the current master of `name`: checks out a conn (waiting as
/// `sentinel_get_master` does), runs the command as `sentinel_command_argv` does, and puts the
/// conn back (closed instead when the command broke it). Returns the reply, or NULL and sets
/// `*err` as those two functions do. Caller owns the result; free it with
/// `sentinel_reply_free`. Does not take ownership of `name`, `argv` or `argvlen`.
///
/// # Safety
/// `client` is NULL or a live client; `name` NULL or NUL-terminated; `argv`/`argvlen` as in
/// `sentinel_command_argv`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_master_command_argv(
    client: *mut sentinel_client,
    name: *const c_char,
    argc: usize,
    argv: *const *const c_char,
    argvlen: *const usize,
    err: *mut *mut sentinel_error,
) -> *mut super::sentinel_reply {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: NULL or a live client, per the contract above.
        let client = unsafe { ref_arg(client.cast_const(), "client") }?;
        // SAFETY: NULL or a NUL-terminated string, per the contract above.
        let name = unsafe { str_arg(name, "name") }?;
        // SAFETY: forwarded contract.
        let args = unsafe { super::conn::collect_args(argc, argv, argvlen) }?;
        let index = client.core.master_index(name)?;
        let mut conn = client.core.get_master_at(index)?;
        let result = conn.command(&args);
        client
            .core
            .carefully_put_master(conn, result.as_ref().err());
        Ok(super::sentinel_reply::from_value(result?))
    })
}
