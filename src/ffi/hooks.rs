//! Connection options beyond timeouts: credentials, per-connection setup, the address-map and
//! event callbacks, and the per-master stats snapshot.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use super::options::{sentinel_options, update_options};
use super::{boundary, mut_arg, ref_arg, sentinel_client, sentinel_error, str_arg};
use crate::config::{
    AddressMap, ClientEvent, Config, Credentials, EventHook, NodeAddr, TlsOptions,
};
use crate::error::Error;

/// Maps an address a sentinel reported to the one to dial. Write the host (NUL-terminated) into
/// `host_out` (`host_out_len` bytes) and the port into `*port_out` and return true; return
/// false to dial the reported address unchanged. Runs on the client's threads; must not call
/// `sentinel_client_close`.
#[allow(non_camel_case_types)]
pub type sentinel_address_map_fn = Option<
    unsafe extern "C" fn(
        host: *const c_char,
        port: c_int,
        user_data: *mut c_void,
        host_out: *mut c_char,
        host_out_len: usize,
        port_out: *mut c_int,
    ) -> bool,
>;

/// What happened, for `sentinel_event_fn`.
#[repr(C)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sentinel_event_kind {
    /// `master` moved from `old_address` (may be NULL) to `new_address`.
    SENTINEL_EVENT_MASTER_SWITCHED = 1,
    /// A failover of `master` began: conns to `old_address` are fenced.
    SENTINEL_EVENT_FENCE_RAISED = 2,
    /// The failover of `master` ended without a switch; `old_address` is served again.
    SENTINEL_EVENT_FENCE_LIFTED = 3,
    /// The subscription to `sentinel` came up.
    SENTINEL_EVENT_SENTINEL_UP = 4,
    /// The subscription to `sentinel` went down; the client reconnects by itself.
    SENTINEL_EVENT_SENTINEL_DOWN = 5,
    /// The sentinels were asked where `master` is and answered `new_address`.
    SENTINEL_EVENT_MASTER_RESOLVED = 6,
    /// The sentinels named `old_address` for `master`, a node the client had already left for
    /// a master it confirmed itself, with no newer config epoch: old news, not followed.
    SENTINEL_EVENT_STALE_ANSWER_IGNORED = 7,
}

/// An event. Every string is NUL-terminated, may be NULL when it does not apply, and is valid
/// only during the callback.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct sentinel_event {
    pub kind: sentinel_event_kind,
    pub master: *const c_char,
    pub old_address: *const c_char,
    pub new_address: *const c_char,
    pub sentinel: *const c_char,
}

/// Receives events. Runs on the client's own threads (a sentinel watcher or the failover
/// driver), one event at a time per thread; it must return quickly and must not call
/// `sentinel_client_close`. It may call any other function.
#[allow(non_camel_case_types)]
pub type sentinel_event_fn =
    Option<unsafe extern "C" fn(event: *const sentinel_event, user_data: *mut c_void)>;

/// A caller's `user_data`, passed back to its callback from the client's threads.
#[derive(Clone, Copy)]
struct UserData(*mut c_void);

// SAFETY: the header documents that callbacks run on the client's threads; the caller promises
// `user_data` may be used from them.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

fn credentials(username: *const c_char, password: *const c_char) -> Result<Credentials, Error> {
    let username = if username.is_null() {
        None
    } else {
        // SAFETY: non-NULL and NUL-terminated per the callers' contracts.
        Some(unsafe { str_arg(username, "username") }?.to_owned())
    };
    // SAFETY: NULL or NUL-terminated per the callers' contracts.
    let password = unsafe { str_arg(password, "password") }?.to_owned();
    Ok(Credentials { username, password })
}

/// Credentials for masters and replicas: `AUTH password`, or `AUTH username password` for an
/// ACL user when `username` is not NULL. A refused login is SENTINEL_ERROR_AUTH naming the
/// node; the password never appears in a message. Default: none. Returns false and sets `*err`
/// on NULL `opts` or `password`. Does not take ownership of the strings.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread; strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_password(
    opts: *mut sentinel_options,
    username: *const c_char,
    password: *const c_char,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        config.data_auth = Some(credentials(username, password)?);
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// Credentials for the sentinels themselves (sentinels with `requirepass`), as
/// `sentinel_options_set_password`. Default: none.
///
/// # Safety
/// As `sentinel_options_set_password`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_sentinel_password(
    opts: *mut sentinel_options,
    username: *const c_char,
    password: *const c_char,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        config.sentinel_auth = Some(credentials(username, password)?);
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// Database every data connection selects (SELECT). Default 0. Returns false and sets `*err`
/// on NULL `opts` or a negative `database`.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_database(
    opts: *mut sentinel_options,
    database: i64,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        Config::check_database(database)?;
        config.database = database;
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// Name every data connection gets with CLIENT SETNAME (no spaces). Default: none. Returns
/// false and sets `*err` on NULL or bad arguments. Does not take ownership of `name`.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_client_name(
    opts: *mut sentinel_options,
    name: *const c_char,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        // SAFETY: forwarded contract.
        let name = unsafe { str_arg(name, "name") }?;
        Config::check_client_name(name)?;
        config.client_name = Some(name.to_owned());
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// Speak RESP3 (HELLO 3) on data connections, so replies may be maps, sets, doubles,
/// booleans. Default false (RESP2). Returns false and sets `*err` on NULL `opts`.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_resp3(
    opts: *mut sentinel_options,
    resp3: bool,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        config.resp3 = resp3;
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// Applies `map` to every address a sentinel reports (masters, failover candidates, other
/// sentinels) before dialing it; `user_data` is passed back. NULL `map` removes it. Default:
/// none. Returns false and sets `*err` on NULL `opts`.
///
/// # Safety
/// `opts` is NULL or live options; `map` is safe to call from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_address_map(
    opts: *mut sentinel_options,
    map: sentinel_address_map_fn,
    user_data: *mut c_void,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        config.address_map = c_address_map(map, UserData(user_data));
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// The address map that calls the C function `map` (if any) with `user_data`.
fn c_address_map(map: sentinel_address_map_fn, user_data: UserData) -> Option<AddressMap> {
    let map = map?;
    Some(AddressMap(Arc::new(move |addr: &NodeAddr| {
        let user_data = user_data;
        let host = CString::new(addr.host.as_str()).ok()?;
        let mut out = [0 as c_char; 256];
        let mut port: c_int = addr.port.into();
        // SAFETY: the caller promised `map` is callable with these arguments.
        let mapped = unsafe {
            map(
                host.as_ptr(),
                addr.port.into(),
                user_data.0,
                out.as_mut_ptr(),
                out.len(),
                &mut port,
            )
        };
        if !mapped {
            return None;
        }
        out[out.len() - 1] = 0;
        // SAFETY: NUL-terminated within `out` (forced above).
        let host = unsafe { std::ffi::CStr::from_ptr(out.as_ptr()) }
            .to_str()
            .ok()?;
        let port = u16::try_from(port).ok().filter(|&p| p != 0)?;
        (!host.is_empty()).then(|| NodeAddr::new(host, port))
    })))
}

/// Calls `callback` with `user_data` for every event (see `sentinel_event_kind`). NULL
/// `callback` removes it. Default: none. Returns false and sets `*err` on NULL `opts`.
///
/// # Safety
/// `opts` is NULL or live options; `callback` is safe to call from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_event_callback(
    opts: *mut sentinel_options,
    callback: sentinel_event_fn,
    user_data: *mut c_void,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        config.on_event = c_event_hook(callback, UserData(user_data));
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// The event hook that calls the C function `callback` (if any) with `user_data`.
fn c_event_hook(callback: sentinel_event_fn, user_data: UserData) -> Option<EventHook> {
    let callback = callback?;
    Some(EventHook(Arc::new(move |event: &ClientEvent| {
        let user_data = user_data;
        deliver(event, |raw| {
            // SAFETY: the caller promised `callback` is callable with these arguments.
            unsafe { callback(raw, user_data.0) }
        });
    })))
}

fn deliver(event: &ClientEvent, call: impl FnOnce(*const sentinel_event)) {
    use sentinel_event_kind::*;
    let text = |s: &dyn std::fmt::Display| CString::new(s.to_string()).ok();
    let (kind, master, old, new, sentinel) = match event {
        ClientEvent::MasterSwitched { master, old, new } => (
            SENTINEL_EVENT_MASTER_SWITCHED,
            text(master),
            old.as_ref().and_then(|o| text(o)),
            text(new),
            None,
        ),
        ClientEvent::FenceRaised { master, address } => (
            SENTINEL_EVENT_FENCE_RAISED,
            text(master),
            text(address),
            None,
            None,
        ),
        ClientEvent::FenceLifted { master, address } => (
            SENTINEL_EVENT_FENCE_LIFTED,
            text(master),
            text(address),
            None,
            None,
        ),
        ClientEvent::SentinelUp { sentinel } => {
            (SENTINEL_EVENT_SENTINEL_UP, None, None, None, text(sentinel))
        }
        ClientEvent::SentinelDown { sentinel } => (
            SENTINEL_EVENT_SENTINEL_DOWN,
            None,
            None,
            None,
            text(sentinel),
        ),
        ClientEvent::MasterResolved { master, address } => (
            SENTINEL_EVENT_MASTER_RESOLVED,
            text(master),
            None,
            text(address),
            None,
        ),
        ClientEvent::StaleAnswerIgnored { master, address } => (
            SENTINEL_EVENT_STALE_ANSWER_IGNORED,
            text(master),
            text(address),
            None,
            None,
        ),
    };
    let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
    let raw = sentinel_event {
        kind,
        master: ptr(&master),
        old_address: ptr(&old),
        new_address: ptr(&new),
        sentinel: ptr(&sentinel),
    };
    call(&raw);
}

/// A snapshot of one master, filled by `sentinel_client_stats`.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct sentinel_master_stats {
    /// Where conns are handed out to now: "host:port", NUL-terminated.
    pub address: [c_char; 264],
    /// The generation of the pool conns are handed out from: 1 after the first resolution, one
    /// more on every switch. A conn of an older generation is closed when put back.
    pub generation: u64,
    /// Connections open in the current pool.
    pub conns_open: u32,
    /// Of those, idle.
    pub conns_idle: u32,
    /// Of those, checked out.
    pub conns_in_use: u32,
    /// True while a failover is under way.
    pub fenced: bool,
    /// Switches followed since the client started.
    pub failovers_seen: u64,
    /// Failovers that fenced this master (aborted ones included).
    pub fences_raised: u64,
    /// When the master last moved, in milliseconds since the Unix epoch; 0 if never.
    pub last_switch_unix_ms: i64,
}

/// Fills `*out` with a snapshot of master `name`. Returns false and sets `*err` on NULL
/// arguments or an unknown name. Does not take ownership of `name`.
///
/// # Safety
/// `client` is NULL or a live client; `name` NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn sentinel_client_stats(
    client: *mut sentinel_client,
    name: *const c_char,
    out: *mut sentinel_master_stats,
    err: *mut *mut sentinel_error,
) -> bool {
    boundary(here!(), err, false, || {
        // SAFETY: forwarded contract.
        let client = unsafe { ref_arg(client.cast_const(), "client") }?;
        // SAFETY: forwarded contract.
        let name = unsafe { str_arg(name, "name") }?;
        // SAFETY: forwarded contract.
        let out = unsafe { mut_arg(out, "out") }?;
        let stats = client.core.stats(name)?;
        let mut address = [0 as c_char; 264];
        for (slot, byte) in address
            .iter_mut()
            .zip(stats.address.to_string().bytes().take(263))
        {
            *slot = byte as c_char;
        }
        *out = sentinel_master_stats {
            address,
            generation: stats.generation,
            conns_open: stats.conns_open,
            conns_idle: stats.conns_idle,
            conns_in_use: stats.conns_open.saturating_sub(stats.conns_idle),
            fenced: stats.fenced,
            failovers_seen: stats.failovers_seen,
            fences_raised: stats.fences_raised,
            last_switch_unix_ms: stats
                .last_switch
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64),
        };
        Ok(true)
    })
}

fn tls_options(
    ca_file: *const c_char,
    cert_file: *const c_char,
    key_file: *const c_char,
    server_name: *const c_char,
) -> Result<TlsOptions, Error> {
    let optional = |ptr: *const c_char, what: &str| -> Result<Option<String>, Error> {
        if ptr.is_null() {
            Ok(None)
        } else {
            // SAFETY: non-NULL and NUL-terminated per the callers' contracts.
            Ok(Some(unsafe { str_arg(ptr, what) }?.to_owned()))
        }
    };
    let opts = TlsOptions {
        ca_file: optional(ca_file, "ca_file")?.map(Into::into),
        cert_file: optional(cert_file, "cert_file")?.map(Into::into),
        key_file: optional(key_file, "key_file")?.map(Into::into),
        server_name: optional(server_name, "server_name")?,
    };
    crate::net::tls::check(&opts)?; // report unreadable files and bad names now
    Ok(opts)
}

/// TLS to masters and replicas: `ca_file` (PEM; NULL trusts the system's roots), an optional
/// client certificate `cert_file` + `key_file` (PEM, both or neither), and `server_name`: the
/// name verified in the nodes' certificates (NULL: the host each node is dialed at, as a
/// sentinel reports it). Default: plain TCP. Returns false and sets `*err` on NULL `opts`,
/// unreadable files, a lone cert/key, or a server name that is neither a DNS name nor an IP
/// address. Does not take ownership of the strings.
///
/// # Safety
/// `opts` is NULL or live options used by no other thread; strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_tls(
    opts: *mut sentinel_options,
    ca_file: *const c_char,
    cert_file: *const c_char,
    key_file: *const c_char,
    server_name: *const c_char,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        config.data_tls = Some(tls_options(ca_file, cert_file, key_file, server_name)?);
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}

/// TLS to sentinels, as `sentinel_options_set_tls`; `server_name` (or NULL for the dialed
/// host) is the name verified in the sentinels' certificates. Default: plain TCP.
///
/// # Safety
/// As `sentinel_options_set_tls`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_options_set_sentinel_tls(
    opts: *mut sentinel_options,
    ca_file: *const c_char,
    cert_file: *const c_char,
    key_file: *const c_char,
    server_name: *const c_char,
    err: *mut *mut sentinel_error,
) -> bool {
    let set = |config: &mut Config| {
        config.sentinel_tls = Some(tls_options(ca_file, cert_file, key_file, server_name)?);
        Ok(())
    };
    // SAFETY: forwarded contract.
    unsafe { update_options(here!(), opts, err, set) }
}
