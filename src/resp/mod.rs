//! The wire protocol: commands out, replies in, and what error replies mean. `io::Read` and
//! `io::Write` only, no sockets.

pub(crate) mod encode;
pub(crate) mod read;
pub(crate) mod server_error;
pub(crate) mod value;
