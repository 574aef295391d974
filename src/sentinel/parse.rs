//! Pure parsers of what sentinels (and data nodes, for ROLE) answer.

use crate::resp::value::Value;

use crate::config::NodeAddr;

/// The text of a bulk, simple or verbatim string.
pub(crate) fn text(value: &Value) -> Option<&str> {
    std::str::from_utf8(value.as_bytes()?).ok()
}

/// The value of `key` in a flat field/value list (how sentinels describe instances).
fn field_value<'a>(fields: &'a [Value], key: &str) -> Option<&'a str> {
    fields
        .chunks(2)
        .find(|pair| text(&pair[0]) == Some(key))
        .and_then(|pair| pair.get(1))
        .and_then(text)
}

/// The reply of `SENTINEL GET-MASTER-ADDR-BY-NAME`: `[ip, port]`, or nil for an unknown name.
pub fn parse_master_addr(reply: &Value) -> Result<Option<NodeAddr>, String> {
    match reply {
        Value::Nil => Ok(None),
        Value::Array(items) if items.is_empty() => Ok(None),
        Value::Array(items) if items.len() == 2 => {
            let host = text(&items[0]).filter(|h| !h.is_empty());
            let port = text(&items[1]).and_then(NodeAddr::parse_port);
            match (host, port) {
                (Some(host), Some(port)) => Ok(Some(NodeAddr::new(host, port))),
                _ => Err(format!("bad address in reply {reply:?}")),
            }
        }
        other => Err(format!("unexpected reply {other:?}")),
    }
}

/// The reply of `SENTINEL SENTINELS`: one flat field/value list per sentinel.
pub fn parse_sentinels(reply: &Value) -> Result<Vec<NodeAddr>, String> {
    let Value::Array(entries) = reply else {
        return Err(format!("unexpected reply {reply:?}"));
    };
    let mut found = Vec::with_capacity(entries.len());
    for entry in entries {
        let Value::Array(fields) = entry else {
            return Err(format!("unexpected entry {entry:?}"));
        };
        let field = |key: &str| field_value(fields, key);
        match (field("ip"), field("port").and_then(NodeAddr::parse_port)) {
            (Some(ip), Some(port)) => found.push(NodeAddr::new(ip, port)),
            _ => return Err(format!("sentinel entry without ip/port: {entry:?}")),
        }
    }
    Ok(found)
}

/// The reply of `SENTINEL REPLICAS`: the replicas fit to serve reads, those that no sentinel
/// marks down or disconnected and whose link to the master is up.
pub fn parse_healthy_replicas(reply: &Value) -> Result<Vec<NodeAddr>, String> {
    let Value::Array(entries) = reply else {
        return Err(format!("unexpected reply {reply:?}"));
    };
    let mut healthy = Vec::new();
    for entry in entries {
        let Value::Array(fields) = entry else {
            return Err(format!("unexpected entry {entry:?}"));
        };
        let field = |key: &str| field_value(fields, key);
        let flags = field("flags").unwrap_or("");
        let down = flags
            .split(',')
            .any(|f| matches!(f, "s_down" | "o_down" | "disconnected"));
        let link_ok = field("master-link-status") == Some("ok");
        match (field("ip"), field("port").and_then(NodeAddr::parse_port)) {
            (Some(ip), Some(port)) if !down && link_ok => healthy.push(NodeAddr::new(ip, port)),
            (Some(_), Some(_)) => {}
            _ => return Err(format!("replica entry without ip/port: {entry:?}")),
        }
    }
    Ok(healthy)
}

/// The `role:` line of an `INFO replication` reply: "master" or "slave".
pub fn parse_info_role(reply: &Value) -> Option<String> {
    text(reply)?
        .lines()
        .find_map(|line| line.strip_prefix("role:"))
        .map(|role| role.trim().to_owned())
}

/// The reply of `SENTINEL MASTER`: the address and the configuration epoch that produced it.
pub fn parse_master_info(reply: &Value) -> Result<(NodeAddr, u64), String> {
    let Value::Array(fields) = reply else {
        return Err(format!("unexpected reply {reply:?}"));
    };
    let field = |key: &str| field_value(fields, key);
    let ip = field("ip").filter(|ip| !ip.is_empty());
    let port = field("port").and_then(NodeAddr::parse_port);
    let epoch = field("config-epoch")
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    match (ip, port) {
        (Some(ip), Some(port)) => Ok((NodeAddr::new(ip, port), epoch)),
        _ => Err(format!("master entry without ip/port: {reply:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn master_addr_replies() {
        let ok = Value::Array(vec![bulk("127.0.0.1"), bulk("6380")]);
        assert_eq!(
            parse_master_addr(&ok),
            Ok(Some(NodeAddr::new("127.0.0.1", 6380)))
        );
        assert_eq!(parse_master_addr(&Value::Nil), Ok(None));
        assert!(parse_master_addr(&Value::Array(vec![bulk("h"), bulk("0")])).is_err());
        assert!(parse_master_addr(&Value::Int(1)).is_err());
    }

    #[test]
    fn sentinels_reply() {
        let entry = |ip: &str, port: &str| {
            Value::Array(vec![
                bulk("name"),
                bulk("x"),
                bulk("ip"),
                bulk(ip),
                bulk("port"),
                bulk(port),
            ])
        };
        let reply = Value::Array(vec![entry("10.0.0.1", "26380"), entry("::1", "26381")]);
        assert_eq!(
            parse_sentinels(&reply).unwrap(),
            vec![
                NodeAddr::new("10.0.0.1", 26380),
                NodeAddr::new("::1", 26381)
            ]
        );
        assert!(parse_sentinels(&Value::Array(vec![Value::Array(vec![bulk("ip")])])).is_err());
    }

    #[test]
    fn master_info() {
        let flat = [
            "name",
            "m",
            "ip",
            "127.0.0.1",
            "port",
            "6380",
            "config-epoch",
            "7",
        ];
        let reply = Value::Array(flat.iter().map(|s| bulk(s)).collect());
        assert_eq!(
            parse_master_info(&reply),
            Ok((NodeAddr::new("127.0.0.1", 6380), 7))
        );
        assert!(parse_master_info(&Value::Array(vec![bulk("ip")])).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::resp::read::generated::value;
    use crate::sentinel::events::parse_message;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn sentinel_answers_never_panic(reply in value()) {
            let _ = parse_master_addr(&reply);
            let _ = parse_sentinels(&reply);
            let _ = parse_healthy_replicas(&reply);
            let _ = parse_master_info(&reply);
            let _ = parse_message(&reply);
            let _ = parse_info_role(&reply);
        }

        #[test]
        fn flat_field_lists_never_panic(
            fields in proptest::collection::vec(
                "(ip|port|flags|config-epoch|master-link-status|ok|s_down|127\\.0\\.0\\.1|6379|99999|-3|)", 0..12),
            nest in any::<bool>(),
        ) {
            let list = Value::Array(fields.iter().map(|f| Value::BulkString(f.clone().into_bytes())).collect());
            let reply = if nest { Value::Array(vec![list.clone(), list]) } else { list };
            let _ = parse_sentinels(&reply);
            let _ = parse_healthy_replicas(&reply);
            let _ = parse_master_info(&reply);
            let _ = parse_master_addr(&reply);
        }
    }
}
