//! Which commands write: the one list durable writes (`Config::wait_replicas`, see
//! [`crate::command::durable`]) ask.
//!
//! The list is the `write` flag of the servers' own command tables (`COMMAND` on Redis 7.0.15,
//! and `src/commands/*.json` of Redis up to 8.4 and Valkey up to 9.0), plus the commands that
//! may write without carrying the flag: `EVAL`, `EVALSHA` and `FCALL` (a script or function
//! writes, or not, as it runs; their `_RO` forms cannot). Blocking commands that write (BLPOP,
//! BLMOVE, BRPOPLPUSH, BZPOPMIN, XREADGROUP, ...) are writes like any other. Of the container
//! commands, only `FUNCTION LOAD | DELETE | FLUSH | RESTORE` and the `XGROUP` subcommands
//! write. Names match case-insensitively.
//!
//! Why a list rather than asking each node's `COMMAND` table once: the list costs no round
//! trip and no per-node state, answers the same on every node (a new master may run another
//! version), and keeps working where `COMMAND` is renamed or refused by an ACL, as production
//! setups often do. What it misses are commands it does not know: those of modules (RedisJSON's
//! `JSON.SET`, RedisBloom's `BF.ADD`, ...) and of server versions after the ones above. Such
//! commands are sent without WAIT; a caller who needs them durable sends `WAIT` itself, or adds
//! the name here. Read-only commands are never followed by WAIT, so a read never fails because
//! the replicas lag.
//!
//! `SORT`, `GEORADIUS` and `GEORADIUSBYMEMBER` carry the flag because of their `STORE` option,
//! and count as writes with or without it, as the servers count them; their `_RO` forms are
//! reads.

use crate::command::upper_name;

/// Every command the servers flag `write`, and the scripts that may write, in upper case,
/// sorted (binary search). Container commands are in [`SUBCOMMAND_WRITES`].
const WRITES: &[&[u8]] = &[
    b"APPEND",
    b"BITFIELD",
    b"BITOP",
    b"BLMOVE",
    b"BLMPOP",
    b"BLPOP",
    b"BRPOP",
    b"BRPOPLPUSH",
    b"BZMPOP",
    b"BZPOPMAX",
    b"BZPOPMIN",
    b"COPY",
    b"DECR",
    b"DECRBY",
    b"DEL",
    b"DELEX",   // Redis 8.4
    b"DELIFEQ", // Valkey 9.0
    b"EVAL",
    b"EVALSHA",
    b"EXPIRE",
    b"EXPIREAT",
    b"FCALL",
    b"FLUSHALL",
    b"FLUSHDB",
    b"GEOADD",
    b"GEORADIUS",
    b"GEORADIUSBYMEMBER",
    b"GEOSEARCHSTORE",
    b"GETDEL",
    b"GETEX",
    b"GETSET",
    b"HDEL",
    b"HEXPIRE",   // Redis 7.4, Valkey 9.0
    b"HEXPIREAT", // Redis 7.4, Valkey 9.0
    b"HGETDEL",   // Redis 8.0
    b"HGETEX",    // Redis 8.0, Valkey 9.0
    b"HINCRBY",
    b"HINCRBYFLOAT",
    b"HMSET",
    b"HPERSIST",   // Redis 7.4, Valkey 9.0
    b"HPEXPIRE",   // Redis 7.4, Valkey 9.0
    b"HPEXPIREAT", // Redis 7.4, Valkey 9.0
    b"HSET",
    b"HSETEX", // Redis 8.0, Valkey 9.0
    b"HSETNX",
    b"INCR",
    b"INCRBY",
    b"INCRBYFLOAT",
    b"LINSERT",
    b"LMOVE",
    b"LMPOP",
    b"LPOP",
    b"LPUSH",
    b"LPUSHX",
    b"LREM",
    b"LSET",
    b"LTRIM",
    b"MIGRATE",
    b"MOVE",
    b"MSET",
    b"MSETEX", // Redis 8.4
    b"MSETNX",
    b"PERSIST",
    b"PEXPIRE",
    b"PEXPIREAT",
    b"PFADD",
    b"PFDEBUG",
    b"PFMERGE",
    b"PSETEX",
    b"RENAME",
    b"RENAMENX",
    b"RESTORE",
    b"RESTORE-ASKING",
    b"RPOP",
    b"RPOPLPUSH",
    b"RPUSH",
    b"RPUSHX",
    b"SADD",
    b"SDIFFSTORE",
    b"SET",
    b"SETBIT",
    b"SETEX",
    b"SETNX",
    b"SETRANGE",
    b"SFLUSH", // Redis 8.0
    b"SINTERSTORE",
    b"SMOVE",
    b"SORT",
    b"SPOP",
    b"SREM",
    b"SUNIONSTORE",
    b"SWAPDB",
    b"UNLINK",
    b"VADD",     // Redis 8.0 vector sets
    b"VREM",     // Redis 8.0 vector sets
    b"VSETATTR", // Redis 8.0 vector sets
    b"XACK",
    b"XACKDEL", // Redis 8.2
    b"XADD",
    b"XAUTOCLAIM",
    b"XCLAIM",
    b"XDEL",
    b"XDELEX", // Redis 8.2
    b"XREADGROUP",
    b"XSETID",
    b"XTRIM",
    b"ZADD",
    b"ZDIFFSTORE",
    b"ZINCRBY",
    b"ZINTERSTORE",
    b"ZMPOP",
    b"ZPOPMAX",
    b"ZPOPMIN",
    b"ZRANGESTORE",
    b"ZREM",
    b"ZREMRANGEBYLEX",
    b"ZREMRANGEBYRANK",
    b"ZREMRANGEBYSCORE",
    b"ZUNIONSTORE",
];

/// Container commands and their subcommands that write, in upper case.
const SUBCOMMAND_WRITES: &[(&[u8], &[&[u8]])] = &[
    (b"FUNCTION", &[b"DELETE", b"FLUSH", b"LOAD", b"RESTORE"]),
    (
        b"XGROUP",
        &[
            b"CREATE",
            b"CREATECONSUMER",
            b"DELCONSUMER",
            b"DESTROY",
            b"SETID",
        ],
    ),
];

/// The longest name in either list.
const LONGEST: usize = 17;

/// True when the command `name` (with its first argument `sub`, for container commands) writes,
/// or may write, to the dataset: see the module documentation.
pub(crate) fn is_write(name: &[u8], sub: Option<&[u8]>) -> bool {
    let mut buf = [0u8; LONGEST];
    let Some(upper) = upper_name(name, &mut buf) else {
        return false;
    };
    if WRITES.binary_search(&upper).is_ok() {
        return true;
    }
    let Some((_, subs)) = SUBCOMMAND_WRITES.iter().find(|(c, _)| *c == upper) else {
        return false;
    };
    let mut buf = [0u8; LONGEST];
    sub.and_then(|sub| upper_name(sub, &mut buf))
        .is_some_and(|sub| subs.contains(&sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(command: &str) -> bool {
        let mut args = command.split(' ').map(str::as_bytes);
        let name = args.next().unwrap();
        is_write(name, args.next())
    }

    #[test]
    fn the_list_is_sorted_upper_case_and_fits_the_buffer() {
        assert!(WRITES.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        let names = WRITES
            .iter()
            .chain(SUBCOMMAND_WRITES.iter().map(|(c, _)| c))
            .chain(SUBCOMMAND_WRITES.iter().flat_map(|(_, subs)| subs.iter()));
        for name in names {
            assert!(name.len() <= LONGEST, "{}", String::from_utf8_lossy(name));
            assert_eq!(*name, name.to_ascii_uppercase().as_slice());
        }
        assert!(WRITES.iter().any(|n| n.len() == LONGEST));
    }

    #[test]
    fn writes_in_any_case_blocking_ones_and_scripts_included() {
        for command in [
            "SET k v",
            "set k v",
            "Incr k",
            "DEL a b",
            "RPUSH l 1",
            "BLMOVE a b LEFT RIGHT 1",
            "BRPOPLPUSH a b 0",
            "BLPOP l 1",
            "BZPOPMIN z 1",
            "XREADGROUP GROUP g c STREAMS s >",
            "EVAL return 1 0",
            "evalsha abc 0",
            "FCALL f 0",
            "FLUSHALL",
            "GEORADIUSBYMEMBER g m 1 km",
            "SORT l",
            "RESTORE-ASKING k 0 x",
            "FUNCTION LOAD code",
            "function delete lib",
            "XGROUP CREATE s g $",
            "xgroup createconsumer s g c",
            "HSETEX h EX 1 FIELDS 1 f v",
            "DELIFEQ k v",
        ] {
            assert!(writes(command), "{command}");
        }
    }

    #[test]
    fn reads_and_everything_else_do_not() {
        for command in [
            "GET k",
            "MGET a b",
            "EXISTS k",
            "EVAL_RO return 1 0",
            "EVALSHA_RO abc 0",
            "FCALL_RO f 0",
            "SORT_RO l",
            "GEORADIUS_RO g 0 0 1 km",
            "BITFIELD_RO k GET u8 0",
            "XREAD STREAMS s 0",
            "PING",
            "INFO",
            "MULTI",
            "EXEC",
            "DISCARD",
            "WATCH k",
            "WAIT 1 100",
            "PUBLISH ch m",
            "CLIENT SETNAME x",
            "CONFIG SET maxmemory 1",
            "SCRIPT LOAD x",
            "FUNCTION LIST",
            "FUNCTION",
            "XGROUP HELP",
            "XGROUP",
            "XINFO STREAM s",
            "OBJECT ENCODING k",
            "JSON.SET k $ 1",
            "GEORADIUSBYMEMBERX g m 1 km",
            "",
        ] {
            assert!(!writes(command), "{command}");
        }
        assert!(!is_write(&[b'S'; 100], None));
        assert!(!is_write(b"FUNCTION", Some(&[b'L'; 100])));
    }
}
