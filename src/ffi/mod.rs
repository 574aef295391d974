//! The C ABI. Every `unsafe` block and every `extern "C"` function of the crate lives in this
//! module tree. Each export validates its pointers, calls the safe core once, and maps the
//! result; each runs inside `boundary`, so no panic crosses into C.
#![allow(unsafe_code)]

mod client;
mod conn;
mod error;
mod hooks;
mod into;
mod options;
mod reply;

pub use client::*;
pub use conn::*;
pub use error::*;
pub use hooks::*;
pub use into::*;
pub use options::*;
pub use reply::*;

use std::any::Any;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, ErrorKind};

/// Runs `body` for the export `func`; an `Err` or a panic becomes `*err` (when `err` is not
/// NULL) and `failed` is returned. On success `*err` is set to NULL.
pub(crate) fn boundary<T>(
    func: &str,
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

fn panic_error(func: &str, panic: Box<dyn Any + Send>) -> Error {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Error::new(
        ErrorKind::Internal,
        format!("bug in redis-sentinel: {func} panicked: {what}"),
    )
}

fn set_error(err: *mut *mut sentinel_error, error: Option<Error>) {
    if err.is_null() {
        return;
    }
    let handle = error.map_or(std::ptr::null_mut(), |e| {
        Box::into_raw(Box::new(sentinel_error::new(e)))
    });
    // SAFETY: `err` is non-NULL and the caller promised it points to writable storage.
    unsafe { *err = handle };
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
