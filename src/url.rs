//! One-string configuration:
//! `redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/name[,name...][/db][?params]`
//! (`rediss+sentinel://` for TLS to the data nodes). The parameters are the Python keyword
//! names, durations in seconds. Errors name the bad part, and never repeat a password.

use std::time::Duration;

use crate::config::{Config, Credentials, NodeAddr, SentinelAddr, TlsOptions};
use crate::error::{Error, Result};

/// The port of a sentinel given without one.
const DEFAULT_SENTINEL_PORT: u16 = 26379;

impl Config {
    /// The configuration a sentinel URL spells (see the module documentation), validated like
    /// any other; the pool size stays the default (10) unless the URL has `pool_size`.
    ///
    /// ```
    /// let config = redis_sentinel::Config::from_url(
    ///     "redis+sentinel://:secret@10.0.0.1,10.0.0.2:26380/bucket0,bucket1/2?read_timeout=0.5",
    /// )
    /// .unwrap();
    /// assert_eq!(config.masters, ["bucket0", "bucket1"]);
    /// assert_eq!(config.database, 2);
    /// ```
    pub fn from_url(url: &str) -> Result<Config> {
        let bad = |what: String| Error::invalid(format!("sentinel URL: {what}"));
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("rediss+sentinel://") {
            (true, rest)
        } else {
            let scheme = url.split_once("://").map_or("none", |(scheme, _)| scheme);
            return Err(bad(format!(
                "scheme {scheme:?} is not redis+sentinel:// or rediss+sentinel://"
            )));
        };
        let mut config = Config::default();
        if tls {
            config.data_tls = Some(TlsOptions::default());
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let hosts = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => {
                config.data_auth = Some(credentials(userinfo, "user info")?);
                hosts
            }
            None => authority,
        };
        for host in hosts.split(',') {
            config
                .sentinels
                .push(SentinelAddr::Tcp(sentinel_addr(host)?));
        }
        let mut segments = path.split('/');
        for name in segments.next().unwrap_or("").split(',') {
            let name = decode(name).map_err(|why| bad(format!("master name: {why}")))?;
            if name.is_empty() {
                return Err(bad(
                    "a master name is empty (the path is /name[,name...])".into()
                ));
            }
            config.masters.push(name);
        }
        match (segments.next(), segments.next()) {
            (None, _) | (Some(""), None) => {}
            (Some(db), None) => {
                config.database = db
                    .parse()
                    .map_err(|_| bad(format!("database {db:?} is not a number")))?;
            }
            (Some(_), Some(_)) => {
                return Err(bad("the path has more than /name[,name...]/db".into()));
            }
        }
        let mut sentinel_user = None;
        let mut sentinel_password = None;
        let mut data_user = None;
        let mut data_password = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let secret = key.ends_with("password");
            let value = decode(raw).map_err(|why| {
                if secret {
                    bad(format!("{key}: not valid percent-encoding"))
                } else {
                    bad(format!("{key}: {why}"))
                }
            })?;
            set_param(&mut config, key, &value, |slot| match slot {
                Slot::SentinelUser => sentinel_user = Some(value.clone()),
                Slot::SentinelPassword => sentinel_password = Some(value.clone()),
                Slot::User => data_user = Some(value.clone()),
                Slot::Password => data_password = Some(value.clone()),
            })?;
        }
        if data_user.is_some() || data_password.is_some() {
            let (user, password) = match config.data_auth.take() {
                Some(auth) => (auth.username, auth.password),
                None => (None, String::new()),
            };
            let password = data_password.unwrap_or(password);
            config.data_auth = Some(Credentials::new(data_user.or(user), password));
        }
        match (sentinel_user, sentinel_password) {
            (None, None) => {}
            (_, None) => return Err(bad("sentinel_username needs sentinel_password".into())),
            (user, Some(password)) => config.sentinel_auth = Some(Credentials::new(user, password)),
        }
        config.validate()?;
        Ok(config)
    }
}

/// Where a credential parameter goes.
enum Slot {
    User,
    Password,
    SentinelUser,
    SentinelPassword,
}

/// Applies the query parameter `key` (decoded `value`); credentials go to `credential`.
fn set_param(
    config: &mut Config,
    key: &str,
    value: &str,
    mut credential: impl FnMut(Slot),
) -> Result<()> {
    let bad = |why: &str| Error::invalid(format!("sentinel URL: {key}={value:?} {why}"));
    let seconds = || -> Result<Duration> {
        let secs: f64 = value
            .parse()
            .map_err(|_| bad("is not a number of seconds"))?;
        if !(secs.is_finite() && secs >= 0.0) {
            return Err(bad("is not a number of seconds"));
        }
        Ok(Duration::from_secs_f64(secs))
    };
    let positive = || -> Result<Duration> {
        let value = seconds()?;
        Config::check_timeout(key, value)?;
        Ok(value)
    };
    let flag = || match value {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(bad("is not true or false")),
    };
    match key {
        "connect_timeout" => config.connect_timeout = positive()?,
        "read_timeout" => config.read_timeout = positive()?,
        "write_timeout" => config.write_timeout = positive()?,
        "pool_wait" => config.pool_wait = positive()?,
        "fence_wait" => config.fence_wait = positive()?,
        "sentinel_timeout" => config.sentinel_timeout = positive()?,
        "busy_poll" => {
            let busy_poll = seconds()?;
            Config::check_busy_poll(busy_poll)?;
            config.busy_poll = busy_poll;
        }
        "wait_replicas" => {
            config.wait_replicas = value
                .parse()
                .map_err(|_| bad("is not a number of replicas (0 or more)"))?;
        }
        "wait_timeout" => config.wait_timeout = positive()?,
        "tcp_keepalive" => {
            let secs: u64 = value.parse().map_err(|_| bad("is not whole seconds"))?;
            let keepalive = Duration::from_secs(secs);
            Config::check_tcp_keepalive(keepalive)?;
            config.tcp_keepalive = keepalive;
        }
        "pool_size" => {
            config.pool_size = value
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad("is not a positive number"))?;
        }
        "db" => config.database = value.parse().map_err(|_| bad("is not a number"))?,
        "client_name" => {
            Config::check_client_name(value)?;
            config.client_name = Some(value.to_owned());
        }
        "resp3" => config.resp3 = flag()?,
        "username" => credential(Slot::User),
        "password" => credential(Slot::Password),
        "sentinel_username" => credential(Slot::SentinelUser),
        "sentinel_password" => credential(Slot::SentinelPassword),
        "ca_file" => tls_of(config, false).ca_file = Some(value.into()),
        "cert_file" => tls_of(config, false).cert_file = Some(value.into()),
        "key_file" => tls_of(config, false).key_file = Some(value.into()),
        "server_name" => tls_of(config, false).server_name = Some(value.to_owned()),
        "sentinel_tls" => {
            if flag()? {
                tls_of(config, true);
            } else {
                config.sentinel_tls = None;
            }
        }
        "sentinel_ca_file" => tls_of(config, true).ca_file = Some(value.into()),
        "sentinel_cert_file" => tls_of(config, true).cert_file = Some(value.into()),
        "sentinel_key_file" => tls_of(config, true).key_file = Some(value.into()),
        "sentinel_server_name" => tls_of(config, true).server_name = Some(value.to_owned()),
        _ => {
            return Err(Error::invalid(format!(
                "sentinel URL: unknown parameter {key:?}"
            )))
        }
    }
    Ok(())
}

/// The TLS options of the data nodes or (`sentinel`) the sentinels, made on first use.
fn tls_of(config: &mut Config, sentinel: bool) -> &mut TlsOptions {
    let slot = if sentinel {
        &mut config.sentinel_tls
    } else {
        &mut config.data_tls
    };
    slot.get_or_insert_with(TlsOptions::default)
}

/// `user[:password]` or `:password`, percent-decoded; the password is never shown.
fn credentials(userinfo: &str, what: &str) -> Result<Credentials> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let user = decode(user)
        .map_err(|why| Error::invalid(format!("sentinel URL: user name in the {what}: {why}")))?;
    let password = decode(password).map_err(|_| {
        Error::invalid(format!(
            "sentinel URL: the password in the {what} is not valid percent-encoding"
        ))
    })?;
    if password.is_empty() {
        return Err(Error::invalid(format!(
            "sentinel URL: the {what} has no password (user:password@ or :password@)"
        )));
    }
    Ok(Credentials::new(
        (!user.is_empty()).then_some(user),
        password,
    ))
}

/// `host[:port]` (IPv6 in brackets), port 26379 when not given.
fn sentinel_addr(host: &str) -> Result<NodeAddr> {
    if host.is_empty() {
        return Err(Error::invalid(
            "sentinel URL: a sentinel address is empty (host[:port][,host[:port]...])",
        ));
    }
    let has_port = match host.strip_prefix('[') {
        Some(rest) => rest
            .split_once(']')
            .is_some_and(|(_, after)| !after.is_empty()),
        None => host.contains(':'),
    };
    let full = if has_port {
        host.to_owned()
    } else {
        format!("{host}:{DEFAULT_SENTINEL_PORT}")
    };
    NodeAddr::parse(&full).map_err(|e| Error::invalid(format!("sentinel URL: {}", e.message())))
}

/// Percent-decoding into UTF-8.
fn decode(text: &str) -> std::result::Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{text:?} has a bad %-escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn err(url: &str) -> String {
        let e = Config::from_url(url).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{url}");
        e.message().to_owned()
    }

    #[test]
    fn the_grammar() {
        let c = Config::from_url("redis+sentinel://127.0.0.1/m").unwrap();
        assert_eq!(
            c.sentinels,
            [SentinelAddr::Tcp(NodeAddr::new("127.0.0.1", 26379))]
        );
        assert_eq!(c.masters, ["m"]);
        assert_eq!((c.database, c.pool_size), (0, 10));
        assert!(c.data_auth.is_none() && c.data_tls.is_none() && c.sentinel_auth.is_none());
        let c = Config::from_url(
            "rediss+sentinel://us%40er:p%3Ass@h1:1,[::1]:2,[fe80::1]/a,b%2Fc/3?pool_size=4",
        )
        .unwrap();
        assert_eq!(
            c.sentinels,
            [
                SentinelAddr::Tcp(NodeAddr::new("h1", 1)),
                SentinelAddr::Tcp(NodeAddr::new("::1", 2)),
                SentinelAddr::Tcp(NodeAddr::new("fe80::1", 26379)),
            ]
        );
        assert_eq!(c.masters, ["a", "b/c"]);
        assert_eq!((c.database, c.pool_size), (3, 4));
        assert_eq!(
            c.data_auth,
            Some(Credentials::new(Some("us@er".into()), "p:ss"))
        );
        assert_eq!(c.data_tls, Some(TlsOptions::default()));
        let c = Config::from_url("redis+sentinel://:pw@h/m/").unwrap();
        assert_eq!(c.data_auth, Some(Credentials::new(None, "pw")));
    }

    #[test]
    fn every_parameter() {
        let c = Config::from_url(
            "redis+sentinel://h/m?connect_timeout=0.25&read_timeout=2&write_timeout=1.5\
             &pool_wait=3&fence_wait=4&sentinel_timeout=0.5&busy_poll=0.0001&tcp_keepalive=30\
             &db=5&client_name=app&resp3=true&username=u&password=p%26w\
             &sentinel_username=su&sentinel_password=sp&ca_file=/ca.pem&cert_file=/c.pem\
             &key_file=/k.pem&server_name=redis.local&sentinel_tls=1\
             &sentinel_ca_file=/sca.pem&sentinel_cert_file=/sc.pem&sentinel_key_file=/sk.pem\
             &sentinel_server_name=sentinel.local&wait_replicas=2&wait_timeout=0.25",
        )
        .unwrap();
        let ms = Duration::from_millis;
        assert_eq!((c.wait_replicas, c.wait_timeout), (2, ms(250)));
        assert_eq!(
            (c.connect_timeout, c.read_timeout, c.write_timeout),
            (ms(250), ms(2000), ms(1500))
        );
        assert_eq!(
            (c.pool_wait, c.fence_wait, c.sentinel_timeout),
            (ms(3000), ms(4000), ms(500))
        );
        assert_eq!(c.busy_poll, Duration::from_micros(100));
        assert_eq!(c.tcp_keepalive, Duration::from_secs(30));
        assert_eq!(
            (c.database, c.client_name.as_deref(), c.resp3),
            (5, Some("app"), true)
        );
        assert_eq!(c.data_auth, Some(Credentials::new(Some("u".into()), "p&w")));
        assert_eq!(
            c.sentinel_auth,
            Some(Credentials::new(Some("su".into()), "sp"))
        );
        let data = c.data_tls.unwrap();
        assert_eq!(
            data.ca_file.as_deref(),
            Some(std::path::Path::new("/ca.pem"))
        );
        assert_eq!(
            data.cert_file.as_deref(),
            Some(std::path::Path::new("/c.pem"))
        );
        assert_eq!(
            data.key_file.as_deref(),
            Some(std::path::Path::new("/k.pem"))
        );
        assert_eq!(data.server_name.as_deref(), Some("redis.local"));
        let sentinel = c.sentinel_tls.unwrap();
        assert_eq!(
            sentinel.ca_file.as_deref(),
            Some(std::path::Path::new("/sca.pem"))
        );
        assert_eq!(
            sentinel.cert_file.as_deref(),
            Some(std::path::Path::new("/sc.pem"))
        );
        assert_eq!(
            sentinel.key_file.as_deref(),
            Some(std::path::Path::new("/sk.pem"))
        );
        assert_eq!(sentinel.server_name.as_deref(), Some("sentinel.local"));
        // Durable writes: off unless asked for; the default timeout when only replicas are given.
        let c = Config::from_url("redis+sentinel://h/m?wait_replicas=1").unwrap();
        assert_eq!((c.wait_replicas, c.wait_timeout), (1, ms(100)));
        let c = Config::from_url("redis+sentinel://h/m").unwrap();
        assert_eq!(c.wait_replicas, 0);
        // The path's db, then a parameter that overrides it; a user in the URL keeps its password.
        let c = Config::from_url("redis+sentinel://u:pw@h/m/1?db=2&username=v").unwrap();
        assert_eq!(c.database, 2);
        assert_eq!(c.data_auth, Some(Credentials::new(Some("v".into()), "pw")));
    }

    #[test]
    fn each_way_to_get_it_wrong() {
        assert!(err("redis://h/m").contains("scheme \"redis\""));
        assert!(err("h/m").contains("scheme \"none\""));
        assert!(err("redis+sentinel:///m").contains("sentinel address is empty"));
        assert!(err("redis+sentinel://a,,b/m").contains("sentinel address is empty"));
        assert!(err("redis+sentinel://h:0/m").contains("h:0"));
        assert!(err("redis+sentinel://h:x/m").contains("h:x"));
        assert!(err("redis+sentinel://[::1/m").contains("[::1"));
        assert!(err("redis+sentinel://h").contains("master name is empty"));
        assert!(err("redis+sentinel://h/a,,b").contains("master name is empty"));
        assert!(err("redis+sentinel://h/a,a").contains("given twice"));
        assert!(err("redis+sentinel://h/m/x").contains("database \"x\""));
        assert!(err("redis+sentinel://h/m/1/2").contains("more than"));
        assert!(err("redis+sentinel://h/m%2").contains("bad %-escape"));
        assert!(err("redis+sentinel://h/m%ff").contains("not UTF-8"));
        assert!(err("redis+sentinel://h/m?nope=1").contains("unknown parameter \"nope\""));
        assert!(err("redis+sentinel://h/m?read_timeout=x").contains("read_timeout=\"x\""));
        assert!(err("redis+sentinel://h/m?read_timeout=0").contains("greater than zero"));
        assert!(err("redis+sentinel://h/m?read_timeout=-1").contains("seconds"));
        assert!(err("redis+sentinel://h/m?read_timeout=inf").contains("seconds"));
        assert!(err("redis+sentinel://h/m?busy_poll=1").contains("busy"));
        assert!(err("redis+sentinel://h/m?tcp_keepalive=1.5").contains("whole seconds"));
        assert!(err("redis+sentinel://h/m?pool_size=0").contains("positive"));
        assert!(err("redis+sentinel://h/m?wait_replicas=-1").contains("wait_replicas=\"-1\""));
        assert!(err("redis+sentinel://h/m?wait_replicas=x").contains("number of replicas"));
        assert!(err("redis+sentinel://h/m?wait_timeout=0").contains("greater than zero"));
        assert!(err("redis+sentinel://h/m?wait_timeout=x").contains("seconds"));
        assert!(err("redis+sentinel://h/m?resp3=maybe").contains("true or false"));
        assert!(err("redis+sentinel://h/m?client_name=a%20b").contains("space"));
        assert!(err("redis+sentinel://h/m?sentinel_username=u").contains("needs sentinel_password"));
        assert!(err("redis+sentinel://user@h/m").contains("no password"));
        // A password is never repeated, whatever is wrong with it.
        for url in [
            "redis+sentinel://u:s3cr%zzet@h/m",
            "redis+sentinel://h/m?password=s3cr%zzet",
            "redis+sentinel://h/m?sentinel_password=s3cr%zzet",
        ] {
            let message = err(url);
            assert!(!message.contains("s3cr"), "{message}");
            assert!(message.contains("password"), "{message}");
        }
    }
}
