//! Sockets: bytes in and out with bounded waits; nothing here knows Redis.

pub(crate) mod resolve;
pub(crate) mod spin;
pub(crate) mod stream;
pub(crate) mod tls;
