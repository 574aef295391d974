//! The C ABI. Every `unsafe` block and every `extern "C"` function of the crate lives in this
//! module tree. Each export validates its pointers, calls the safe core once, and maps the
//! result; each runs inside `boundary`, so no panic crosses into C.
#![allow(unsafe_code)]

/// Where it is written: the path of the export around it, for [`boundary`] and the messages
/// it builds (see [`export_name`]), so no export types its own name twice. Costs nothing: the
/// path is a constant.
macro_rules! here {
    () => {{
        fn here() {}
        std::any::type_name_of_val(&here)
    }};
}

mod client;
mod conn;
mod error;
mod hooks;
mod options;
mod pubsub;
mod reply;
// Last, so the header lists the fast path after everything it builds on.
mod fast;

pub use client::*;
pub use conn::*;
pub use error::*;
pub use fast::*;
pub use hooks::*;
pub use options::*;
pub use pubsub::*;
pub use reply::*;

use std::any::Any;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, ErrorKind};

/// The export's name in a path given by `here!()`.
pub(crate) fn export_name(here: &'static str) -> &'static str {
    here.trim_end_matches("::here")
        .rsplit("::")
        .find(|segment| !segment.starts_with('{'))
        .unwrap_or(here)
}

/// Runs `body` for the export at `func` (`here!()`); an `Err` or a panic becomes `*err` (when
/// `err` is not NULL) and `failed` is returned. On success `*err` is set to NULL.
pub(crate) fn boundary<T>(
    func: &'static str,
    err: *mut *mut sentinel_error,
    failed: T,
    body: impl FnOnce() -> Result<T, Error>,
) -> T {
    let outcome =
        catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| Err(panic_error(func, panic)));
    match outcome {
        Ok(value) => {
            set_error(err, None);
            value
        }
        Err(error) => {
            set_error(err, Some(error));
            failed
        }
    }
}

/// Runs `body` for an export that reports nothing (free, put, close): a panic is swallowed.
pub(crate) fn boundary_void(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}

fn panic_error(func: &'static str, panic: Box<dyn Any + Send>) -> Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Error::new(
        ErrorKind::Internal,
        format!(
            "bug in redis-sentinel: {} panicked: {what}",
            export_name(func)
        ),
    )
}

fn set_error(err: *mut *mut sentinel_error, error: Option<Error>) {
    if err.is_null() {
        return;
    }
    let handle = error.map_or(std::ptr::null_mut(), |e| new_handle(sentinel_error::new(e)));
    // SAFETY: `err` is non-NULL and the caller promised it points to writable storage.
    unsafe { *err = handle };
}

/// Hands `value` to C as a handle it owns, to be given back to [`free_handle`] once.
pub(crate) fn new_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back a handle made by [`new_handle`]; `None` for NULL.
///
/// # Safety
/// `handle` is NULL or came from [`new_handle`] and has not been taken back yet.
pub(crate) unsafe fn take_handle<T>(handle: *mut T) -> Option<Box<T>> {
    // SAFETY: made by Box::into_raw in new_handle, taken back once, per the contract.
    (!handle.is_null()).then(|| unsafe { Box::from_raw(handle) })
}

/// Frees a handle made by [`new_handle`], for a `*_free` export: NULL is a no-op and a panic
/// in a destructor is swallowed.
///
/// # Safety
/// As [`take_handle`].
pub(crate) unsafe fn free_handle<T>(handle: *mut T) {
    // SAFETY: forwarded contract.
    boundary_void(|| drop(unsafe { take_handle(handle) }));
}

/// Borrows a C string argument as UTF-8, naming the argument when it is NULL or not UTF-8.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Error> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// Borrows a handle argument, failing with INVALID_ARGUMENT when it is NULL.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` that nothing mutates for `'a`.
pub(crate) unsafe fn ref_arg<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: forwarded from the caller's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// Mutably borrows a handle argument, failing with INVALID_ARGUMENT when it is NULL.
///
/// # Safety
/// `ptr` is NULL or points to a live `T` used by no one else for `'a`.
pub(crate) unsafe fn mut_arg<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Error> {
    // SAFETY: forwarded from the caller's contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::invalid(format!("{what} is NULL")))
}

/// The library version, `"MAJOR.MINOR.PATCH"`. The string is static: do not free it.
#[no_mangle]
pub extern "C" fn sentinel_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::export_name;

    #[test]
    fn here_names_the_export_it_is_written_in() {
        fn sentinel_example() -> &'static str {
            export_name(here!())
        }
        fn sentinel_example_closure() -> &'static str {
            let inner = || export_name(here!());
            inner()
        }
        assert_eq!(sentinel_example(), "sentinel_example");
        assert_eq!(sentinel_example_closure(), "sentinel_example_closure");
    }
}
