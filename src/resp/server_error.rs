//! What an error reply means to the client: the one table that data links, pools, sentinel
//! links and the C layer read.

use std::fmt;

use crate::error::{Error, ErrorKind};
use crate::resp::value::ServerError;

/// What the client was doing when the error reply came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum During {
    /// Logging in: AUTH, HELLO with AUTH, SELECT, CLIENT SETNAME on a new connection.
    Login,
    /// A caller's command.
    Command,
}

/// The kind of error an error reply with `code` (and `details`) stands for.
///
/// | code | during login | during a command |
/// |---|---|---|
/// | READONLY; UNBLOCKED "master -> replica" | READONLY | READONLY (the node is a replica now) |
/// | NOAUTH, WRONGPASS | AUTH | AUTH (the connection lost its login) |
/// | NOPERM | AUTH (the user may not log in so) | SERVER (only that command is refused) |
/// | anything else | SERVER | SERVER (the connection is fine) |
pub(crate) fn classify(code: &str, details: Option<&str>, during: During) -> ErrorKind {
    if is_replica_now(code, details) {
        return ErrorKind::ReadOnly;
    }
    match (code, during) {
        ("NOAUTH" | "WRONGPASS", _) | ("NOPERM", During::Login) => ErrorKind::Auth,
        _ => ErrorKind::Server,
    }
}

/// [`classify`] for a parsed error reply.
pub(crate) fn kind_of(err: &ServerError, during: During) -> ErrorKind {
    classify(err.code(), err.details(), during)
}

/// READONLY, or the error a master that turns replica sends its blocked clients (`-UNBLOCKED
/// force unblock from blocking operation, instance state changed (master -> replica?)`): either
/// way the connection points at a replica now.
fn is_replica_now(code: &str, details: Option<&str>) -> bool {
    match code {
        "READONLY" => true,
        "UNBLOCKED" => details.is_some_and(|d| d.contains("master -> replica")),
        _ => false,
    }
}

/// True for an error reply that says the connection points at a replica now.
pub(crate) fn says_replica(err: &ServerError) -> bool {
    is_replica_now(err.code(), err.details())
}

/// An error of the `redis` crate met while talking to the data node at `addr`: an error reply
/// is classified as at login, anything else is I/O.
pub(crate) fn data_node_error(err: &redis::RedisError, addr: &impl fmt::Display) -> Error {
    let kind = match err.code() {
        Some(code) => match classify(code, err.detail(), During::Login) {
            ErrorKind::Server => ErrorKind::Io,
            kind => kind,
        },
        None if err.kind() == redis::ErrorKind::AuthenticationFailed => ErrorKind::Auth,
        None => ErrorKind::Io,
    };
    Error::new(kind, format!("{addr}: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_table_for_every_link() {
        use During::*;
        for during in [Login, Command] {
            assert_eq!(
                classify("READONLY", Some("You can't write"), during),
                ErrorKind::ReadOnly
            );
            let unblocked = "force unblock from blocking operation, instance state changed (master -> replica?)";
            assert_eq!(
                classify("UNBLOCKED", Some(unblocked), during),
                ErrorKind::ReadOnly
            );
            assert_eq!(
                classify("UNBLOCKED", Some("client unblocked"), during),
                ErrorKind::Server
            );
            assert_eq!(classify("NOAUTH", None, during), ErrorKind::Auth);
            assert_eq!(
                classify("WRONGPASS", Some("invalid"), during),
                ErrorKind::Auth
            );
            assert_eq!(
                classify("ERR", Some("unknown command"), during),
                ErrorKind::Server
            );
            assert_eq!(classify("WRONGTYPE", None, during), ErrorKind::Server);
        }
        assert_eq!(classify("NOPERM", None, Login), ErrorKind::Auth);
        assert_eq!(classify("NOPERM", None, Command), ErrorKind::Server);
    }
}
