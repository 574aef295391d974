//! The one error type of the client. Its [`ErrorKind`] values are the C enum's values.

use std::fmt;

/// What went wrong, in the categories a caller can act on. Numbers match `sentinel_error_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
#[non_exhaustive]
pub enum ErrorKind {
    /// NULL where not allowed, bad UTF-8, pool size 0, no names, bad address.
    InvalidArgument = 1,
    /// No sentinel reachable, sentinel connection lost, bad sentinel answer.
    Sentinel = 2,
    /// Name not given to this client, or not monitored by the sentinel.
    UnknownMaster = 3,
    /// Connect/read/write failure or timeout talking to a data node.
    Io = 4,
    /// No connection became free within the pool wait time.
    PoolTimeout = 5,
    /// The server replied READONLY: the connection points at a replica.
    ReadOnly = 6,
    /// Any other error reply: the connection is fine.
    Server = 7,
    /// Authentication refused.
    Auth = 8,
    /// The client is closed.
    Closed = 9,
    /// A bug (a caught panic).
    Internal = 10,
    /// Durable writes (`Config::wait_replicas`): the write reached the master, but fewer
    /// replicas than asked confirmed it in time, so a failover may lose it. The connection is
    /// fine.
    NotReplicated = 11,
}

impl ErrorKind {
    /// True when a connection that saw this error must not be reused.
    pub fn breaks_connection(self) -> bool {
        !matches!(
            self,
            ErrorKind::Server
                | ErrorKind::InvalidArgument
                | ErrorKind::UnknownMaster
                | ErrorKind::NotReplicated
        )
    }

    fn label(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Sentinel => "sentinel error",
            ErrorKind::UnknownMaster => "unknown master",
            ErrorKind::Io => "I/O error",
            ErrorKind::PoolTimeout => "pool timeout",
            ErrorKind::ReadOnly => "read-only",
            ErrorKind::Server => "server error",
            ErrorKind::Auth => "authentication error",
            ErrorKind::Closed => "closed",
            ErrorKind::Internal => "internal error",
            ErrorKind::NotReplicated => "not replicated",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// An error with its kind, a sentence for humans, and whether the sentinel side was at fault
/// (radix's `ClientError.SentinelErr`): set for every SENTINEL error, and for data-node errors
/// that happened while no sentinel link was up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    from_sentinel: bool,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            from_sentinel: kind == ErrorKind::Sentinel,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn sentinel(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Sentinel, message)
    }

    pub fn closed() -> Self {
        Self::new(ErrorKind::Closed, "the client is closed")
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when the error came from, or happened while cut off from, the sentinels.
    pub fn is_sentinel(&self) -> bool {
        self.from_sentinel
    }

    pub fn is_readonly(&self) -> bool {
        self.kind == ErrorKind::ReadOnly
    }

    /// Marks an error that happened while no sentinel could be reached.
    pub fn with_sentinel_down(mut self) -> Self {
        self.from_sentinel = true;
        self
    }

    /// Prefixes the message with context, keeping kind and flags.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_errors_are_flagged() {
        assert!(Error::sentinel("x").is_sentinel());
        assert!(!Error::new(ErrorKind::Io, "x").is_sentinel());
        assert!(Error::new(ErrorKind::Io, "x")
            .with_sentinel_down()
            .is_sentinel());
    }

    #[test]
    fn only_harmless_errors_keep_a_connection() {
        assert!(!ErrorKind::Server.breaks_connection());
        assert!(!ErrorKind::NotReplicated.breaks_connection());
        for kind in [
            ErrorKind::Io,
            ErrorKind::ReadOnly,
            ErrorKind::Internal,
            ErrorKind::Auth,
        ] {
            assert!(kind.breaks_connection(), "{kind}");
        }
    }

    #[test]
    fn context_keeps_kind() {
        let e = Error::new(ErrorKind::PoolTimeout, "inner").context("master \"m\"");
        assert_eq!(e.kind(), ErrorKind::PoolTimeout);
        assert_eq!(e.to_string(), "master \"m\": inner");
    }
}
