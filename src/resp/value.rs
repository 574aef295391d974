//! Replies as the client hands them out: its own types, so the public API does not change when
//! the redis crate (whose parser reads the rare reply types) does.

use std::fmt;

/// A reply from a data node, RESP2 or RESP3. An error reply is a [`Value::ServerError`] only
/// where it is one element among others (in a transaction's `EXEC` reply, or the replies of a
/// pipeline); a command whose own reply is an error fails with that error instead.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A nil: RESP2's null bulk string or null array, RESP3's null.
    Nil,
    Int(i64),
    /// A bulk string: binary-safe bytes.
    BulkString(Vec<u8>),
    Array(Vec<Value>),
    /// A status reply other than `OK`.
    SimpleString(String),
    /// The status reply `OK`.
    Okay,
    /// A RESP3 map: key/value pairs in the order the server sent them.
    Map(Vec<(Value, Value)>),
    /// A RESP3 reply with attributes attached.
    Attribute {
        data: Box<Value>,
        attributes: Vec<(Value, Value)>,
    },
    /// A RESP3 set.
    Set(Vec<Value>),
    /// A RESP3 double.
    Double(f64),
    /// A RESP3 boolean.
    Boolean(bool),
    /// A RESP3 verbatim string and its three-letter format (`txt`, `mkd`).
    VerbatimString {
        format: String,
        text: String,
    },
    /// A RESP3 big number: its decimal digits, as sent.
    BigNumber(Vec<u8>),
    /// A RESP3 push (`message`, `invalidate`, ...) and the rest of its elements.
    Push {
        kind: String,
        data: Vec<Value>,
    },
    /// An error reply nested among other values.
    ServerError(ServerError),
}

/// An error reply: its code (`ERR`, `READONLY`, `WRONGTYPE`, ...) and the text after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    code: String,
    details: Option<String>,
}

impl ServerError {
    pub(crate) fn new(code: impl Into<String>, details: Option<String>) -> ServerError {
        ServerError {
            code: code.into(),
            details,
        }
    }

    /// The first word of the reply: `ERR`, `READONLY`, `WRONGTYPE`, ...
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The text after the code, if any.
    pub fn details(&self) -> Option<&str> {
        self.details.as_deref()
    }
}

/// The reply as the server wrote it, without the leading `-`: `READONLY You can't write...`.
impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.details {
            Some(details) => write!(f, "{} {details}", self.code),
            None => f.write_str(&self.code),
        }
    }
}

/// A message published on a channel, as a subscribed link reads it, borrowed from the reply.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Published<'a> {
    /// The pattern it matched (a `pmessage`), or `None` (a `message`).
    pub pattern: Option<&'a [u8]>,
    pub channel: &'a [u8],
    pub data: &'a [u8],
}

impl Value {
    /// The bytes of a bulk, simple or verbatim string.
    pub(crate) fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::BulkString(bytes) => Some(bytes),
            Value::SimpleString(text) | Value::VerbatimString { text, .. } => Some(text.as_bytes()),
            Value::Okay => Some(b"OK"),
            _ => None,
        }
    }

    /// What a subscribed link reads, as its kind (`message`, `subscribe`, `pong`, ...) and
    /// the rest: a RESP2 array or a RESP3 push.
    fn subscription_frame(&self) -> Option<(&[u8], &[Value])> {
        match self {
            Value::Push { kind, data } => Some((kind.as_bytes(), data)),
            Value::Array(items) => {
                let (kind, rest) = items.split_first()?;
                Some((kind.as_bytes()?, rest))
            }
            _ => None,
        }
    }

    /// The published message this reply of a subscribed link carries, if it is one.
    pub(crate) fn as_published(&self) -> Option<Published<'_>> {
        match self.subscription_frame()? {
            (b"message", [channel, data]) => Some(Published {
                pattern: None,
                channel: channel.as_bytes()?,
                data: data.as_bytes()?,
            }),
            (b"pmessage", [pattern, channel, data]) => Some(Published {
                pattern: Some(pattern.as_bytes()?),
                channel: channel.as_bytes()?,
                data: data.as_bytes()?,
            }),
            _ => None,
        }
    }

    /// True for the confirmation of a (P)SUBSCRIBE or (P)UNSUBSCRIBE.
    pub(crate) fn is_subscription_confirmation(&self) -> bool {
        matches!(
            self.subscription_frame(),
            Some((
                b"subscribe" | b"psubscribe" | b"unsubscribe" | b"punsubscribe",
                _
            ))
        )
    }

    /// The same reply as the redis crate's parser built it (for the rare types it reads).
    pub(crate) fn from_parsed(value: redis::Value) -> Value {
        let all = |items: Vec<redis::Value>| items.into_iter().map(Value::from_parsed).collect();
        let pairs = |pairs: Vec<(redis::Value, redis::Value)>| {
            pairs
                .into_iter()
                .map(|(k, v)| (Value::from_parsed(k), Value::from_parsed(v)))
                .collect()
        };
        match value {
            redis::Value::Nil => Value::Nil,
            redis::Value::Int(n) => Value::Int(n),
            redis::Value::BulkString(bytes) => Value::BulkString(bytes),
            redis::Value::Array(items) => Value::Array(all(items)),
            redis::Value::SimpleString(text) => Value::SimpleString(text),
            redis::Value::Okay => Value::Okay,
            redis::Value::Map(items) => Value::Map(pairs(items)),
            redis::Value::Attribute { data, attributes } => Value::Attribute {
                data: Box::new(Value::from_parsed(*data)),
                attributes: pairs(attributes),
            },
            redis::Value::Set(items) => Value::Set(all(items)),
            redis::Value::Double(d) => Value::Double(d),
            redis::Value::Boolean(b) => Value::Boolean(b),
            redis::Value::VerbatimString { format, text } => Value::VerbatimString {
                format: format.to_string(),
                text,
            },
            redis::Value::BigNumber(digits) => Value::BigNumber(digits),
            redis::Value::Push { kind, data } => Value::Push {
                kind: kind.to_string(),
                data: all(data),
            },
            redis::Value::ServerError(err) => Value::ServerError(ServerError::new(
                err.code(),
                err.details().map(str::to_owned),
            )),
            // The crate's `Value` may grow: keep what is new readable rather than lose it.
            #[allow(unreachable_patterns)]
            other => Value::SimpleString(format!("{other:?}")),
        }
    }
}
