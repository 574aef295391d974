//! `sentinel_pubsub`: subscriptions that follow the master, and the messages they receive.

use std::ffi::{c_char, CStr};
use std::ptr::{addr_of, addr_of_mut};
use std::time::Duration;

use super::{
    boundary, boundary_void, free_handle, new_handle, ref_arg, sentinel_client, sentinel_error,
    str_arg,
};
use crate::error::{Error, Result};
use crate::pubsub::{Message, PubSub, PubSubCloser};

/// A subscription to channels and patterns on the current master of one name, following it
/// across failovers: after a switch or a broken link it subscribes again on the new link and
/// delivers one SENTINEL_MESSAGE_RESUBSCRIBED (messages published in between may be lost).
/// It has a connection of its own, never one from the pools. Opaque.
#[allow(non_camel_case_types)]
pub struct sentinel_pubsub {
    core: PubSub,
    closer: PubSubCloser,
}

/// What a `sentinel_message` is.
#[repr(C)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sentinel_message_type {
    /// Published on a subscribed channel: `channel` and `data` are set.
    SENTINEL_MESSAGE = 1,
    /// Published on a channel matching a subscribed pattern: `pattern`, `channel`, `data`.
    SENTINEL_PMESSAGE = 2,
    /// The subscription started again on a new connection (the master moved, or the
    /// connection broke): messages published since the last one received may be lost.
    SENTINEL_MESSAGE_RESUBSCRIBED = 3,
}

/// One message from `sentinel_pubsub_next`; free it with `sentinel_message_free`. The strings
/// are binary-safe (use the lengths) and NUL-terminated; NULL with length 0 when not set.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct sentinel_message {
    /// A `sentinel_message_type`.
    pub r#type: i32,
    pub channel: *const c_char,
    pub channel_len: usize,
    pub pattern: *const c_char,
    pub pattern_len: usize,
    pub data: *const c_char,
    pub data_len: usize,
}

/// A message and the bytes its pointers point into. The C struct comes first, so a pointer
/// to it is a pointer to the whole.
#[repr(C)]
struct OwnedMessage {
    message: sentinel_message,
    strings: [Vec<u8>; 3],
}

impl OwnedMessage {
    fn new(message: Message) -> OwnedMessage {
        use sentinel_message_type::*;
        let (kind, pattern, channel, data) = match message {
            Message::Message { channel, data } => {
                (SENTINEL_MESSAGE, None, Some(channel), Some(data))
            }
            Message::PMessage {
                pattern,
                channel,
                data,
            } => (SENTINEL_PMESSAGE, Some(pattern), Some(channel), Some(data)),
            Message::Resubscribed => (SENTINEL_MESSAGE_RESUBSCRIBED, None, None, None),
        };
        let mut owned = OwnedMessage {
            message: sentinel_message {
                r#type: kind as i32,
                channel: std::ptr::null(),
                channel_len: 0,
                pattern: std::ptr::null(),
                pattern_len: 0,
                data: std::ptr::null(),
                data_len: 0,
            },
            strings: Default::default(),
        };
        let fields = [channel, pattern, data];
        for (slot, field) in owned.strings.iter_mut().zip(fields) {
            if let Some(mut bytes) = field {
                bytes.push(0);
                *slot = bytes;
            }
        }
        let view = |bytes: &Vec<u8>| match bytes.split_last() {
            Some((_, text)) => (bytes.as_ptr().cast(), text.len()),
            None => (std::ptr::null(), 0),
        };
        let m = &mut owned.message;
        (m.channel, m.channel_len) = view(&owned.strings[0]);
        (m.pattern, m.pattern_len) = view(&owned.strings[1]);
        (m.data, m.data_len) = view(&owned.strings[2]);
        owned
    }
}

/// A subscription on the current master of `name`; it connects at its first subscribe. NULL
/// on failure (unknown name, closed client) with `*err` set. Caller owns the result; free it
/// with `sentinel_pubsub_free`. It may outlive `client` (every call then fails with CLOSED).
/// Does not take ownership of `name`.
///
/// # Safety
/// `client` is NULL or a live client; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn sentinel_pubsub_new(
    client: *mut sentinel_client,
    name: *const c_char,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_pubsub {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: NULL or a live client, per the contract above.
        let client = unsafe { ref_arg(client.cast_const(), "client") }?;
        // SAFETY: NULL or NUL-terminated, per the contract above.
        let name = unsafe { str_arg(name, "name") }?;
        let core = client.core.pubsub(name)?;
        let closer = core.closer();
        Ok(new_handle(sentinel_pubsub { core, closer }))
    })
}

/// Borrows the subscription behind `ps`, failing with INVALID_ARGUMENT when it is NULL. Only
/// the core is borrowed, so a `sentinel_pubsub_close` on another thread (which reads
/// `closer`) aliases nothing.
///
/// # Safety
/// `ps` is NULL or a live subscription used by no other thread (but close) for `'a`.
unsafe fn core_of<'a>(ps: *mut sentinel_pubsub) -> Result<&'a mut PubSub> {
    if ps.is_null() {
        return Err(Error::invalid("ps is NULL"));
    }
    // SAFETY: non-NULL and live per the contract; the field is borrowed, not the whole.
    Ok(unsafe { &mut *addr_of_mut!((*ps).core) })
}

/// The names of a (p)(un)subscribe call: `count` strings, each `lens[i]` bytes, or each
/// NUL-terminated when `lens` is NULL.
///
/// # Safety
/// `names` holds `count` pointers, each valid for its length (or NUL-terminated); `lens` is
/// NULL or holds `count` lengths.
unsafe fn names_arg<'a>(
    names: *const *const c_char,
    lens: *const usize,
    count: usize,
) -> Result<Vec<&'a [u8]>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if names.is_null() {
        return Err(Error::invalid("names is NULL"));
    }
    // SAFETY: `names` holds `count` pointers, per the contract.
    let pointers = unsafe { std::slice::from_raw_parts(names, count) };
    pointers
        .iter()
        .enumerate()
        .map(|(i, &name)| {
            if name.is_null() {
                return Err(Error::invalid(format!("names[{i}] is NULL")));
            }
            Ok(if lens.is_null() {
                // SAFETY: NUL-terminated when `lens` is NULL, per the contract.
                unsafe { CStr::from_ptr(name) }.to_bytes()
            } else {
                // SAFETY: `lens` holds `count` lengths and `name` is valid for its own.
                unsafe { std::slice::from_raw_parts(name.cast::<u8>(), *lens.add(i)) }
            })
        })
        .collect()
}

/// Runs `change` on the subscription behind `ps` with the names given, for the export `func`.
///
/// # Safety
/// As `names_arg`, and `ps` is NULL or a live subscription used by no other thread.
unsafe fn change(
    func: &'static str,
    ps: *mut sentinel_pubsub,
    names: *const *const c_char,
    lens: *const usize,
    count: usize,
    err: *mut *mut sentinel_error,
    change: fn(&mut PubSub, &[&[u8]]) -> Result<()>,
) -> bool {
    boundary(func, err, false, || {
        // SAFETY: forwarded contract.
        let core = unsafe { core_of(ps) }?;
        // SAFETY: forwarded contract.
        let names = unsafe { names_arg(names, lens, count) }?;
        change(core, &names).map(|()| true)
    })
}

/// Subscribes to `count` channels (`names[i]`, `lens[i]` bytes each; `lens` NULL: each
/// NUL-terminated) and returns once the master confirmed them. Returns false and sets `*err`
/// on failure (IO when the master cannot be reached: the channels stay in the subscription,
/// which keeps trying in `sentinel_pubsub_next`). Does not take ownership of the names.
///
/// # Safety
/// `ps` is NULL or a live subscription used by no other thread; `names` holds `count`
/// pointers valid as described; `lens` is NULL or holds `count` lengths.
#[no_mangle]
pub unsafe extern "C" fn sentinel_pubsub_subscribe(
    ps: *mut sentinel_pubsub,
    names: *const *const c_char,
    lens: *const usize,
    count: usize,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { change(here!(), ps, names, lens, count, err, PubSub::subscribe) }
}

/// `sentinel_pubsub_subscribe` for glob-style patterns (`news.*`).
///
/// # Safety
/// As `sentinel_pubsub_subscribe`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_pubsub_psubscribe(
    ps: *mut sentinel_pubsub,
    names: *const *const c_char,
    lens: *const usize,
    count: usize,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { change(here!(), ps, names, lens, count, err, PubSub::psubscribe) }
}

/// Unsubscribes from `count` channels, as `sentinel_pubsub_subscribe` names them; `count` 0
/// unsubscribes from every channel.
///
/// # Safety
/// As `sentinel_pubsub_subscribe`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_pubsub_unsubscribe(
    ps: *mut sentinel_pubsub,
    names: *const *const c_char,
    lens: *const usize,
    count: usize,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { change(here!(), ps, names, lens, count, err, PubSub::unsubscribe) }
}

/// Unsubscribes from `count` patterns; `count` 0 unsubscribes from every pattern.
///
/// # Safety
/// As `sentinel_pubsub_subscribe`.
#[no_mangle]
pub unsafe extern "C" fn sentinel_pubsub_punsubscribe(
    ps: *mut sentinel_pubsub,
    names: *const *const c_char,
    lens: *const usize,
    count: usize,
    err: *mut *mut sentinel_error,
) -> bool {
    // SAFETY: forwarded contract.
    unsafe { change(here!(), ps, names, lens, count, err, PubSub::punsubscribe) }
}

/// The next message, waiting at most `timeout_ms`. Returns NULL with `*err` NULL when none
/// came in time, NULL with `*err` set on failure (CLOSED once `ps` or its client is closed,
/// also while waiting). Subscribe confirmations are not messages. Caller owns the result;
/// free it with `sentinel_message_free`. Messages wait in the server's output buffer until
/// read: Redis disconnects a subscriber that falls too far behind (`client-output-buffer-limit
/// pubsub`), and the subscription then starts again with SENTINEL_MESSAGE_RESUBSCRIBED.
///
/// # Safety
/// `ps` is NULL or a live subscription used by no other thread (but `sentinel_pubsub_close`).
#[no_mangle]
pub unsafe extern "C" fn sentinel_pubsub_next(
    ps: *mut sentinel_pubsub,
    timeout_ms: u64,
    err: *mut *mut sentinel_error,
) -> *mut sentinel_message {
    boundary(here!(), err, std::ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let core = unsafe { core_of(ps) }?;
        let message = core.next(Duration::from_millis(timeout_ms))?;
        Ok(message.map_or(std::ptr::null_mut(), |m| {
            new_handle(OwnedMessage::new(m)).cast::<sentinel_message>()
        }))
    })
}

/// Closes `ps` from any thread, even while another waits in `sentinel_pubsub_next` (which
/// then returns CLOSED within a few tens of milliseconds). Every later call on `ps` fails
/// with CLOSED; it still has to be freed, by the thread that uses it. NULL is a no-op.
///
/// # Safety
/// `ps` is NULL or a subscription that has not been freed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_pubsub_close(ps: *mut sentinel_pubsub) {
    boundary_void(|| {
        if ps.is_null() {
            return;
        }
        // SAFETY: live per the contract; only `closer` is borrowed (see `change`).
        let closer = unsafe { &*addr_of!((*ps).closer) };
        closer.close();
    });
}

/// Closes and frees `ps`. NULL is a no-op.
///
/// # Safety
/// `ps` is NULL or a subscription from `sentinel_pubsub_new` that has not been freed, and no
/// other thread is inside a call on it.
#[no_mangle]
pub unsafe extern "C" fn sentinel_pubsub_free(ps: *mut sentinel_pubsub) {
    // SAFETY: forwarded contract.
    unsafe { free_handle(ps) }
}

/// Frees `msg`. NULL is a no-op.
///
/// # Safety
/// `msg` is NULL or a message from `sentinel_pubsub_next` that has not been freed.
#[no_mangle]
pub unsafe extern "C" fn sentinel_message_free(msg: *mut sentinel_message) {
    // SAFETY: every message is an OwnedMessage made by new_handle (its first field).
    unsafe { free_handle(msg.cast::<OwnedMessage>()) }
}
