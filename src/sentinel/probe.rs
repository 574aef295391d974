//! ROLE probes of data nodes: how the client confirms a failover's candidate is master, as
//! the sentinel client protocol asks, before any sentinel announces it.

use std::time::Duration;

use crate::config::{NodeAddr, SentinelAddr};
use crate::error::Result;
use crate::net::tls::Dial;
use crate::resp::value::Value;
use crate::sentinel::link::{Peer, QueryLink};
use crate::sentinel::parse::{parse_info_role, text};

/// A link to a data node that asks it for its role.
pub(crate) struct RoleProbe {
    link: QueryLink,
    /// The node refused `ROLE` once: ask it `INFO` straight away.
    refuses_role: bool,
}

impl RoleProbe {
    /// Connects to the data node at `addr` within `timeout` (TLS and credentials as `dial`
    /// says); every question is bounded by `timeout` too.
    pub(crate) fn connect(addr: &NodeAddr, timeout: Duration, dial: &Dial) -> Result<Self> {
        let target = SentinelAddr::Tcp(addr.clone());
        let link = QueryLink::connect(&target, Peer::DataNode, timeout, dial)?;
        Ok(RoleProbe {
            link,
            refuses_role: false,
        })
    }

    /// `ROLE` of the node: "master", "slave".
    /// A node that refuses ROLE (renamed away, or an ACL user not allowed it) is asked
    /// `INFO replication` instead, from then on directly; `None` when it refuses that too (an
    /// ACL user without `@dangerous`), so only the sentinels can say what it is.
    pub fn role(&mut self) -> Result<Option<String>> {
        if !self.refuses_role {
            self.link.send(&[b"ROLE"])?;
            match self.link.read_reply(self.link.timeout)? {
                Some(Value::Array(items)) => {
                    return items
                        .first()
                        .and_then(text)
                        .map(|role| Some(role.to_owned()))
                        .ok_or_else(|| self.link.fail("empty ROLE reply"))
                }
                Some(Value::ServerError(_)) => self.refuses_role = true,
                Some(other) => {
                    return Err(self.link.fail(format!("unexpected ROLE reply {other:?}")))
                }
                None => {
                    return Err(self
                        .link
                        .fail(format!("no reply within {:?}", self.link.timeout)))
                }
            }
        }
        self.link.send(&[b"INFO", b"replication"])?;
        match self.link.read_reply(self.link.timeout)? {
            Some(Value::ServerError(_)) => Ok(None),
            Some(info) => parse_info_role(&info)
                .map(Some)
                .ok_or_else(|| self.link.fail("INFO replication without a role")),
            None => Err(self
                .link
                .fail(format!("no reply within {:?}", self.link.timeout))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::sentinel::link::tests::query_link_pair;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn role_falls_back_to_info_replication_when_refused() {
        let (link, mut node) = query_link_pair(Peer::DataNode);
        let mut link = RoleProbe {
            link,
            refuses_role: false,
        };
        node.write_all(b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n")
            .unwrap();
        assert_eq!(link.role().unwrap().as_deref(), Some("master"));
        let info = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n";
        let refused = b"-NOPERM this user has no permissions to run the 'role' command\r\n";
        node.write_all(refused).unwrap();
        node.write_all(format!("${}\r\n{info}\r\n", info.len()).as_bytes())
            .unwrap();
        assert_eq!(link.role().unwrap().as_deref(), Some("slave"));
        let mut sent = vec![0u8; 256];
        let n = std::io::Read::read(&mut node, &mut sent).unwrap();
        let sent = String::from_utf8_lossy(&sent[..n]);
        assert!(
            sent.ends_with("*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n"),
            "{sent}"
        );
        assert_eq!(parse_info_role(&Value::Nil), None);
        assert_eq!(parse_info_role(&bulk("# Replication\r\n")), None);
        // Refused once, ROLE is not asked again on this link; refused INFO too: it will not
        // say, and the link stays usable.
        node.write_all(b"-NOPERM this user has no permissions to run the 'info' command\r\n")
            .unwrap();
        assert_eq!(link.role().unwrap(), None);
        let info = "# Replication\r\nrole:master\r\n";
        node.write_all(format!("${}\r\n{info}\r\n", info.len()).as_bytes())
            .unwrap();
        assert_eq!(link.role().unwrap().as_deref(), Some("master"));
        let mut again = vec![0u8; 256];
        let n = std::io::Read::read(&mut node, &mut again).unwrap();
        let info_twice = "*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n".repeat(2);
        assert_eq!(String::from_utf8_lossy(&again[..n]), info_twice);
    }
}
