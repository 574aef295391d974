//! `sentinel_reply`: a reply tree shaped like hiredis's `redisReply`.

use std::ffi::{c_char, c_int, c_longlong};

use super::{boundary_void, new_handle, take_handle};
use crate::resp::value::Value;

/// Reply types; the numbers are hiredis's `REDIS_REPLY_*`.
#[repr(C)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum sentinel_reply_type {
    SENTINEL_REPLY_STRING = 1,
    SENTINEL_REPLY_ARRAY = 2,
    SENTINEL_REPLY_INTEGER = 3,
    SENTINEL_REPLY_NIL = 4,
    SENTINEL_REPLY_STATUS = 5,
    SENTINEL_REPLY_ERROR = 6,
    SENTINEL_REPLY_DOUBLE = 7,
    SENTINEL_REPLY_BOOL = 8,
    SENTINEL_REPLY_MAP = 9,
    SENTINEL_REPLY_SET = 10,
    SENTINEL_REPLY_PUSH = 12,
    SENTINEL_REPLY_BIGNUM = 13,
    SENTINEL_REPLY_VERB = 14,
}

/// One node of a reply tree; fields mean what they mean in hiredis's `redisReply`.
#[repr(C)]
pub struct sentinel_reply {
    /// A `sentinel_reply_type`.
    pub r#type: c_int,
    /// INTEGER; BOOL as 0/1.
    pub integer: c_longlong,
    /// DOUBLE.
    pub dval: f64,
    /// Bytes in `str`, not counting the terminating NUL.
    pub len: usize,
    /// STRING, STATUS, ERROR, BIGNUM, VERB, DOUBLE text; NUL-terminated, binary-safe.
    pub str: *mut c_char,
    /// ARRAY, SET, PUSH: count; MAP: 2 x pairs, key then value.
    pub elements: usize,
    /// The `elements` children.
    pub element: *mut *mut sentinel_reply,
}

use sentinel_reply_type::*;

impl sentinel_reply {
    fn node(kind: sentinel_reply_type) -> sentinel_reply {
        sentinel_reply {
            r#type: kind as c_int,
            integer: 0,
            dval: 0.0,
            len: 0,
            str: std::ptr::null_mut(),
            elements: 0,
            element: std::ptr::null_mut(),
        }
    }

    fn with_bytes(kind: sentinel_reply_type, bytes: &[u8]) -> sentinel_reply {
        let mut owned = Vec::with_capacity(bytes.len() + 1);
        owned.extend_from_slice(bytes);
        Self::with_owned(kind, owned)
    }

    /// Takes `bytes` as the node's string, NUL added. The reply reader leaves room for the
    /// NUL in bulk strings, so the common reply moves here without a second allocation.
    fn with_owned(kind: sentinel_reply_type, mut bytes: Vec<u8>) -> sentinel_reply {
        let len = bytes.len();
        bytes.push(0);
        let text: Box<[u8]> = bytes.into_boxed_slice();
        sentinel_reply {
            len,
            str: Box::into_raw(text).cast(),
            ..Self::node(kind)
        }
    }

    fn with_children(
        kind: sentinel_reply_type,
        children: impl ExactSizeIterator<Item = Value>,
    ) -> sentinel_reply {
        let nodes: Box<[*mut sentinel_reply]> = children.map(Self::from_value).collect();
        sentinel_reply {
            elements: nodes.len(),
            element: Box::into_raw(nodes).cast(),
            ..Self::node(kind)
        }
    }

    fn build(value: Value) -> sentinel_reply {
        match value {
            Value::Nil => Self::node(SENTINEL_REPLY_NIL),
            Value::Int(n) => sentinel_reply {
                integer: n,
                ..Self::node(SENTINEL_REPLY_INTEGER)
            },
            Value::BulkString(bytes) => Self::with_owned(SENTINEL_REPLY_STRING, bytes),
            Value::SimpleString(text) => Self::with_bytes(SENTINEL_REPLY_STATUS, text.as_bytes()),
            Value::Okay => Self::with_bytes(SENTINEL_REPLY_STATUS, b"OK"),
            Value::Array(items) => Self::with_children(SENTINEL_REPLY_ARRAY, items.into_iter()),
            Value::Set(items) => Self::with_children(SENTINEL_REPLY_SET, items.into_iter()),
            Value::Map(pairs) => {
                let flat = pairs
                    .into_iter()
                    .flat_map(|(k, v)| [k, v])
                    .collect::<Vec<_>>();
                Self::with_children(SENTINEL_REPLY_MAP, flat.into_iter())
            }
            Value::Attribute { data, .. } => Self::build(*data),
            Value::Double(d) => sentinel_reply {
                dval: d,
                ..Self::with_bytes(SENTINEL_REPLY_DOUBLE, format_double(d).as_bytes())
            },
            Value::Boolean(b) => sentinel_reply {
                integer: b.into(),
                ..Self::node(SENTINEL_REPLY_BOOL)
            },
            Value::VerbatimString { text, .. } => {
                Self::with_bytes(SENTINEL_REPLY_VERB, text.as_bytes())
            }
            Value::BigNumber(digits) => Self::with_owned(SENTINEL_REPLY_BIGNUM, digits),
            Value::Push { kind, data } => {
                let head = Value::BulkString(kind.into_bytes());
                let all = std::iter::once(head).chain(data).collect::<Vec<_>>();
                Self::with_children(SENTINEL_REPLY_PUSH, all.into_iter())
            }
            Value::ServerError(err) => {
                Self::with_bytes(SENTINEL_REPLY_ERROR, err.to_string().as_bytes())
            }
        }
    }

    /// Builds the tree for `value`; the caller frees it with `sentinel_reply_free`.
    pub(crate) fn from_value(value: Value) -> *mut sentinel_reply {
        new_handle(Self::build(value))
    }
}

/// Text of a double the way Redis writes it (`inf`, `-inf`, `nan`, shortest round-trip digits).
fn format_double(d: f64) -> String {
    if d.is_infinite() {
        if d > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if d.is_nan() {
        "nan".into()
    } else {
        format!("{d}")
    }
}

/// Frees `reply` and every node and string under it. NULL is a no-op.
///
/// # Safety
/// `reply` is NULL or the root of a tree from this library that has not been freed; nodes
/// inside a tree must not be freed on their own.
#[no_mangle]
pub unsafe extern "C" fn sentinel_reply_free(reply: *mut sentinel_reply) {
    boundary_void(|| {
        // SAFETY: forwarded contract.
        unsafe { free_tree(reply) }
    });
}

/// # Safety
/// `reply` is NULL or a node built by `from_value` and not freed yet.
unsafe fn free_tree(reply: *mut sentinel_reply) {
    // SAFETY: built by new_handle in `from_value`, freed once, per the contract.
    let Some(node) = (unsafe { take_handle(reply) }) else {
        return;
    };
    if !node.str.is_null() {
        let text = std::ptr::slice_from_raw_parts_mut(node.str.cast::<u8>(), node.len + 1);
        // SAFETY: `str` is a Box<[u8]> of `len + 1` bytes made by `with_bytes`.
        drop(unsafe { Box::from_raw(text) });
    }
    if !node.element.is_null() {
        let children = std::ptr::slice_from_raw_parts_mut(node.element, node.elements);
        // SAFETY: `element` is a Box<[*mut sentinel_reply]> of `elements` entries.
        let children = unsafe { Box::from_raw(children) };
        for &child in children.iter() {
            // SAFETY: each child is a node of this tree, freed once here.
            unsafe { free_tree(child) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_of(node: &sentinel_reply) -> Vec<u8> {
        // SAFETY: test trees come from `from_value`.
        unsafe { std::slice::from_raw_parts(node.str.cast::<u8>(), node.len + 1) }.to_vec()
    }

    #[test]
    fn builds_and_frees_nested_trees() {
        let value = Value::Array(vec![
            Value::BulkString(b"a\0b".to_vec()),
            Value::Int(-7),
            Value::Nil,
            Value::Map(vec![(Value::SimpleString("k".into()), Value::Double(1.5))]),
            Value::Boolean(true),
        ]);
        let root = sentinel_reply::from_value(value);
        // SAFETY: just built.
        let node = unsafe { &*root };
        assert_eq!(node.r#type, SENTINEL_REPLY_ARRAY as c_int);
        assert_eq!(node.elements, 5);
        // SAFETY: five children.
        let kids = unsafe { std::slice::from_raw_parts(node.element, 5) };
        // SAFETY: children are live nodes.
        let kid = |i: usize| unsafe { &*kids[i] };
        assert_eq!(string_of(kid(0)), b"a\0b\0");
        assert_eq!(kid(0).len, 3);
        assert_eq!(kid(1).integer, -7);
        assert_eq!(kid(2).r#type, SENTINEL_REPLY_NIL as c_int);
        assert_eq!(kid(3).elements, 2);
        assert_eq!(kid(4).integer, 1);
        // SAFETY: root of a live tree.
        unsafe { sentinel_reply_free(root) };
    }

    #[test]
    fn doubles_keep_value_and_text() {
        let root = sentinel_reply::from_value(Value::Double(f64::INFINITY));
        // SAFETY: just built.
        let node = unsafe { &*root };
        assert_eq!(string_of(node), b"inf\0");
        // SAFETY: root of a live tree.
        unsafe { sentinel_reply_free(root) };
    }
}
