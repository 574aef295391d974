//! What sentinels publish that the client acts on.

use crate::resp::value::Value;

use crate::config::NodeAddr;

/// What a sentinel publishes that the client acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>`
    SwitchMaster {
        name: String,
        old: NodeAddr,
        new: NodeAddr,
    },
    /// The publishing sentinel leads a failover of `name`: `+failover-state-select-slave`
    /// (no candidate yet), then `+selected-slave`, `+failover-state-send-slaveof-noone` and
    /// `+promoted-slave`, which name the replica being promoted.
    FailoverStarted {
        name: String,
        candidate: Option<NodeAddr>,
    },
    /// The publishing sentinel gave up its failover of `name` (`-failover-abort-*`, except
    /// `not-elected`, which only says another sentinel leads).
    FailoverAborted { name: String, reason: String },
    /// Something changed about a replica of `name` (added, down, up, reconfigured).
    ReplicaChanged { name: String },
}

/// What watchers subscribe to (a pattern: the abort channels have many names).
pub const EVENT_PATTERN: &str = "*";

/// Parses a published event; `None` for channels or payloads the client does not act on.
pub fn parse_event(channel: &str, payload: &str) -> Option<Event> {
    let words: Vec<&str> = payload.split_ascii_whitespace().collect();
    let port = |w: &str| NodeAddr::parse_port(w);
    match channel {
        "+switch-master" => match words.as_slice() {
            [name, old_ip, old_port, new_ip, new_port] => Some(Event::SwitchMaster {
                name: (*name).to_owned(),
                old: NodeAddr::new(*old_ip, port(old_port)?),
                new: NodeAddr::new(*new_ip, port(new_port)?),
            }),
            _ => None,
        },
        "+failover-state-select-slave" => match words.as_slice() {
            ["master", name, ..] => Some(Event::FailoverStarted {
                name: (*name).to_owned(),
                candidate: None,
            }),
            _ => None,
        },
        "+selected-slave" | "+failover-state-send-slaveof-noone" | "+promoted-slave" => {
            match words.as_slice() {
                ["slave", _, ip, p, "@", name, ..] => Some(Event::FailoverStarted {
                    name: (*name).to_owned(),
                    candidate: Some(NodeAddr::new(*ip, port(p)?)),
                }),
                _ => None,
            }
        }
        "+slave" | "+sdown" | "-sdown" | "+odown" | "-odown" | "+slave-reconf-done"
        | "+convert-to-slave" | "+role-change" | "-role-change" => match words.as_slice() {
            ["slave", _, _, _, "@", name, ..] => Some(Event::ReplicaChanged {
                name: (*name).to_owned(),
            }),
            _ => None,
        },
        "-failover-abort-not-elected" => None,
        abort if abort.starts_with("-failover-abort-") => match words.as_slice() {
            ["master", name, ..] => Some(Event::FailoverAborted {
                name: (*name).to_owned(),
                reason: abort.trim_start_matches("-failover-abort-").to_owned(),
            }),
            _ => None,
        },
        _ => None,
    }
}

/// A pub/sub push: `["message", channel, payload]` or `["pmessage", pattern, channel, payload]`.
pub fn parse_message(reply: &Value) -> Option<(&str, &str)> {
    let message = reply.as_published()?;
    let text = |bytes| std::str::from_utf8(bytes).ok();
    Some((text(message.channel)?, text(message.data)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sentinel::parse::parse_healthy_replicas;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn switch_master_event() {
        assert_eq!(
            parse_event("+switch-master", "mymaster 127.0.0.1 6379 127.0.0.1 6380"),
            Some(Event::SwitchMaster {
                name: "mymaster".into(),
                old: NodeAddr::new("127.0.0.1", 6379),
                new: NodeAddr::new("127.0.0.1", 6380),
            })
        );
        assert_eq!(
            parse_event("+switch-master", "mymaster 127.0.0.1 6379"),
            None
        );
        assert_eq!(parse_event("+sdown", "master m 127.0.0.1 6379"), None);
    }

    #[test]
    fn messages() {
        let reply = Value::Array(vec![
            bulk("message"),
            bulk("+switch-master"),
            bulk("m a 1 b 2"),
        ]);
        assert_eq!(parse_message(&reply), Some(("+switch-master", "m a 1 b 2")));
        let pmessage = Value::Array(vec![bulk("pmessage"), bulk("*"), bulk("+sdown"), bulk("x")]);
        assert_eq!(parse_message(&pmessage), Some(("+sdown", "x")));
        let pong = Value::Array(vec![bulk("pong"), bulk("")]);
        assert_eq!(parse_message(&pong), None);
    }

    #[test]
    fn failover_events() {
        let started = |candidate: Option<NodeAddr>| Event::FailoverStarted {
            name: "m".into(),
            candidate,
        };
        assert_eq!(
            parse_event("+failover-state-select-slave", "master m 127.0.0.1 6379"),
            Some(started(None))
        );
        let slave = "slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379";
        for channel in [
            "+selected-slave",
            "+failover-state-send-slaveof-noone",
            "+promoted-slave",
        ] {
            assert_eq!(
                parse_event(channel, slave),
                Some(started(Some(NodeAddr::new("127.0.0.1", 6380)))),
                "{channel}"
            );
        }
        assert_eq!(
            parse_event("-failover-abort-no-good-slave", "master m 127.0.0.1 6379"),
            Some(Event::FailoverAborted {
                name: "m".into(),
                reason: "no-good-slave".into()
            })
        );
        assert_eq!(
            parse_event("-failover-abort-not-elected", "master m 127.0.0.1 6379"),
            None
        );
    }

    #[test]
    fn replica_events_and_health() {
        let slave = "slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379";
        for channel in ["+slave", "+sdown", "-sdown", "+slave-reconf-done"] {
            assert_eq!(
                parse_event(channel, slave),
                Some(Event::ReplicaChanged { name: "m".into() })
            );
        }
        assert_eq!(parse_event("+sdown", "master m 127.0.0.1 6379"), None);
        let entry = |port: &str, flags: &str, link: &str| {
            let flat = [
                "ip",
                "127.0.0.1",
                "port",
                port,
                "flags",
                flags,
                "master-link-status",
                link,
            ];
            Value::Array(flat.iter().map(|s| bulk(s)).collect())
        };
        let reply = Value::Array(vec![
            entry("1", "slave", "ok"),
            entry("2", "s_down,slave", "ok"),
            entry("3", "slave,disconnected", "ok"),
            entry("4", "slave", "err"),
        ]);
        assert_eq!(
            parse_healthy_replicas(&reply),
            Ok(vec![NodeAddr::new("127.0.0.1", 1)])
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Words sentinels use, so that generated payloads reach past the first match arm.
    const WORDS: &str = "(master|slave|@|mymaster|127\\.0\\.0\\.1|::1|6379|0|65536|-1|x| )";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn events_never_panic(
            channel in "(\\+switch-master|\\+selected-slave|\\+promoted-slave|\\+failover-state-select-slave|\\+failover-state-send-slaveof-noone|-failover-abort-[a-z-]{0,12}|\\+sdown|\\+slave|.{0,12})",
            words in proptest::collection::vec(WORDS, 0..10),
            noise in ".{0,24}",
        ) {
            let payload = words.join(" ");
            let _ = parse_event(&channel, &payload);
            let _ = parse_event(&channel, &noise);
            let _ = parse_event(&noise, &payload);
        }
    }
}
