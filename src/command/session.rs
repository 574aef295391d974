//! Commands that leave state on a connection for the commands after them.
//!
//! A pooled conn must come back as it was handed out. One put back inside MULTI would queue the
//! next caller's commands (each answered QUEUED, none run); one left subscribed, in another
//! database, or logged in as another user would hand that to the next caller too. Such a conn
//! is closed when it comes back instead of being pooled again: a reconnect costs far less than
//! a caller acting on someone else's session.

use crate::command::upper_name;

/// What a conn's commands have left behind, as far as the next caller could notice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Session {
    in_multi: bool,
    watching: bool,
    /// Subscribed, monitoring, another database, protocol or user, replies turned off, ...
    changed: bool,
}

impl Session {
    /// Notes what `args` does to the session. Sent or only queued, it counts: a conn whose
    /// queued commands were dropped unsent is closed for nothing, which is safe.
    pub fn track(&mut self, args: &[&[u8]]) {
        let Some(name) = args.first() else {
            return;
        };
        // Every tracked command starts with one of these: one byte turns most others away.
        let first = name.first().map(u8::to_ascii_uppercase);
        if !matches!(
            first,
            Some(b'A' | b'C' | b'D' | b'E' | b'H' | b'M' | b'P' | b'R' | b'S' | b'U' | b'W')
        ) {
            return;
        }
        let mut buf = [0u8; 11];
        let Some(upper) = upper_name(name, &mut buf) else {
            return;
        };
        match upper {
            b"MULTI" => self.in_multi = true,
            b"EXEC" | b"DISCARD" => {
                self.in_multi = false;
                self.watching = false;
            }
            b"WATCH" => self.watching = true,
            b"UNWATCH" => self.watching = false,
            b"SELECT" | b"SUBSCRIBE" | b"PSUBSCRIBE" | b"SSUBSCRIBE" | b"MONITOR" | b"HELLO"
            | b"AUTH" | b"RESET" | b"SYNC" | b"PSYNC" => self.changed = true,
            b"CLIENT" => {
                let sub = args.get(1).copied().unwrap_or_default();
                if sub.eq_ignore_ascii_case(b"REPLY") || sub.eq_ignore_ascii_case(b"TRACKING") {
                    self.changed = true;
                }
            }
            _ => {}
        }
    }

    /// True when the next caller would find the conn as a fresh one.
    pub fn is_clean(&self) -> bool {
        !(self.in_multi || self.watching || self.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(commands: &[&str]) -> Session {
        let mut session = Session::default();
        for command in commands {
            let args: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
            session.track(&args);
        }
        session
    }

    #[test]
    fn transactions_end_clean() {
        assert!(after(&["MULTI", "INCR k", "EXEC"]).is_clean());
        assert!(after(&["watch k", "multi", "set k v", "discard"]).is_clean());
        assert!(after(&["WATCH k", "UNWATCH"]).is_clean());
        assert!(after(&[
            "GET k",
            "SET k v",
            "CLIENT ID",
            "CLIENT SETNAME x",
            "SCAN 0"
        ])
        .is_clean());
        assert!(after(&[]).is_clean());
    }

    #[test]
    fn state_left_behind_is_noticed() {
        for commands in [
            &["MULTI", "INCR k"][..],
            &["WATCH k"],
            &["WATCH k", "MULTI"],
            &["SELECT 3"],
            &["select 0"],
            &["SUBSCRIBE ch"],
            &["PSUBSCRIBE c*"],
            &["SSUBSCRIBE ch"],
            &["MONITOR"],
            &["HELLO 3"],
            &["AUTH user pw"],
            &["RESET"],
            &["CLIENT REPLY OFF"],
            &["client tracking on"],
            &["MULTI", "SELECT 3", "EXEC"],
        ] {
            assert!(!after(commands).is_clean(), "{commands:?}");
        }
    }
}
