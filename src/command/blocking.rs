//! Commands that wait on the server by design (BLPOP, XREAD BLOCK, WAIT, ...).
//!
//! The read timeout bounds how long a hung master can hold a caller; a `BLPOP list 10` is not
//! hung when it has not answered after 3 s. Such a command's reply is allowed its own timeout on
//! top of the read timeout, as go-redis and Jedis allow it, and a timeout of 0 (wait for ever,
//! in Redis's terms) waits without bound: the caller asked for that.

use std::time::Duration;

use crate::command::upper_name;

/// How much longer than the read timeout a command's reply may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ServerWait {
    For(Duration),
    /// The command's timeout is 0, or too large to count: no read timeout at all.
    Unbounded,
}

/// What `args` may wait on the server, or `None` for a command that answers at once.
/// Inside MULTI these commands do not block, and a reply is still allowed the wait: harmless,
/// as EXEC answers at once.
pub(crate) fn server_wait(args: &[&[u8]]) -> Option<ServerWait> {
    let (name, rest) = args.split_first()?;
    // Every blocking command starts with B, W or X: one byte turns all others away.
    if !matches!(name.first()?.to_ascii_uppercase(), b'B' | b'W' | b'X') {
        return None;
    }
    match upper_name(name, &mut [0u8; 10])? {
        b"BLPOP" | b"BRPOP" | b"BRPOPLPUSH" | b"BLMOVE" | b"BZPOPMIN" | b"BZPOPMAX" => {
            seconds(rest.last()?)
        }
        b"BLMPOP" | b"BZMPOP" => seconds(rest.first()?),
        b"WAIT" => millis(rest.get(1)?),
        b"WAITAOF" => millis(rest.get(2)?),
        b"XREAD" => block_option(rest),
        // GROUP <group> <consumer> come first, and may be named BLOCK.
        b"XREADGROUP" => block_option(rest.get(3..)?),
        _ => None,
    }
}

/// The `BLOCK <ms>` option of XREAD and XREADGROUP, before STREAMS (keys may be named BLOCK).
fn block_option(options: &[&[u8]]) -> Option<ServerWait> {
    let mut options = options.iter();
    while let Some(option) = options.next() {
        if option.eq_ignore_ascii_case(b"STREAMS") {
            return None;
        }
        if option.eq_ignore_ascii_case(b"BLOCK") {
            return millis(options.next()?);
        }
    }
    None
}

/// A timeout in seconds, fractions allowed (Redis 6+). One Redis refuses is not waited for.
fn seconds(arg: &[u8]) -> Option<ServerWait> {
    let secs: f64 = std::str::from_utf8(arg).ok()?.trim().parse().ok()?;
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    if secs == 0.0 {
        return Some(ServerWait::Unbounded);
    }
    Some(Duration::try_from_secs_f64(secs).map_or(ServerWait::Unbounded, ServerWait::For))
}

/// A timeout in milliseconds.
fn millis(arg: &[u8]) -> Option<ServerWait> {
    let ms: u64 = std::str::from_utf8(arg).ok()?.parse().ok()?;
    Some(match ms {
        0 => ServerWait::Unbounded,
        ms => ServerWait::For(Duration::from_millis(ms)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServerWait::{For, Unbounded};

    fn wait(command: &str) -> Option<ServerWait> {
        let args: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
        server_wait(&args)
    }

    #[test]
    fn finds_each_blocking_commands_timeout() {
        let secs = Duration::from_secs;
        assert_eq!(wait("BLPOP a b 5"), Some(For(secs(5))));
        assert_eq!(wait("brpop a 0.25"), Some(For(Duration::from_millis(250))));
        assert_eq!(wait("BRPOPLPUSH a b 0"), Some(Unbounded));
        assert_eq!(wait("BLMOVE a b LEFT RIGHT 2"), Some(For(secs(2))));
        assert_eq!(wait("BZPOPMIN z 1"), Some(For(secs(1))));
        assert_eq!(
            wait("BzPopMax z 1.5"),
            Some(For(Duration::from_millis(1500)))
        );
        assert_eq!(wait("BLMPOP 3 2 a b LEFT COUNT 2"), Some(For(secs(3))));
        assert_eq!(wait("BZMPOP 0 1 z MIN"), Some(Unbounded));
        assert_eq!(wait("WAIT 1 1500"), Some(For(Duration::from_millis(1500))));
        assert_eq!(wait("WAIT 1 0"), Some(Unbounded));
        assert_eq!(wait("WAITAOF 1 0 20"), Some(For(Duration::from_millis(20))));
        assert_eq!(
            wait("XREAD COUNT 2 BLOCK 700 STREAMS s $"),
            Some(For(Duration::from_millis(700)))
        );
        assert_eq!(wait("xread block 0 streams s $"), Some(Unbounded));
        assert_eq!(
            wait("XREADGROUP GROUP BLOCK BLOCK BLOCK 40 STREAMS s >"),
            Some(For(Duration::from_millis(40)))
        );
        assert_eq!(wait("BLPOP a 1e30"), Some(Unbounded));
    }

    #[test]
    fn other_commands_and_refused_timeouts_wait_nothing() {
        for command in [
            "GET k",
            "BITCOUNT k",
            "WATCH k",
            "XADD s * f v",
            "XREAD STREAMS BLOCK 5",
            "XREAD COUNT 2 STREAMS s 0",
            "XREADGROUP GROUP g c STREAMS s >",
            "BLPOP a -1",
            "BLPOP a nan",
            "BLPOP a soon",
            "BLPOP",
            "WAIT 1",
            "WAIT 1 1.5",
            "BLPOPPOPPOPPOP a 1",
        ] {
            assert_eq!(wait(command), None, "{command}");
        }
        assert_eq!(server_wait(&[]), None);
        assert_eq!(server_wait(&[b""]), None);
    }

    #[test]
    fn unbounded_outranks_any_bounded_wait() {
        assert!(Unbounded > For(Duration::MAX));
        assert!(Some(For(Duration::ZERO)) > None);
    }
}
