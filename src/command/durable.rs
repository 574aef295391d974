//! Durable writes (`Config::wait_replicas`): a write is acknowledged only once enough replicas
//! have it.
//!
//! Replication is asynchronous: a master acknowledges a write before any replica has it, and a
//! failover (a dead master, a partition) loses what the promoted replica had not received.
//! Redis's `WAIT numreplicas timeout` answers once that many replicas have every write the
//! connection made so far, or when the timeout runs out, with how many did. With durable writes
//! on, the client sends `WAIT` after the writes of each request, in the same write to the
//! socket (no extra round trip to start it), consumes its reply, and fails the request with
//! [`ErrorKind::NotReplicated`] when fewer replicas confirmed in time. Sentinel promotes the
//! replica with the most data, so a write confirmed by one replica survives the loss of the
//! master; with several replicas, asking all of them also covers a promotion that picks
//! another one.
//!
//! The rule, for one request (a command, a pipeline, the appended commands one `get_reply`
//! sends):
//! - a request without a write (see [`crate::command::writes`]) is sent as it is: reads never
//!   wait for the replicas;
//! - one WAIT per request, after its last write, however many writes it holds;
//! - inside MULTI nothing runs until EXEC, so no WAIT is sent there: the EXEC of a transaction
//!   that queued a write counts as the write, whether MULTI was sent in this request or an
//!   earlier one; a request that ends inside MULTI gets its WAIT before that MULTI (a WAIT
//!   queued in the transaction would answer `QUEUED`, and its result would show in EXEC's);
//! - WAIT's reply is taken out: the caller gets exactly the replies of the commands it sent;
//! - WAIT's count only matters when a write may have happened: when no write of the request
//!   wrote (an error reply; the nil of an EXEC that WATCH aborted, of a blocking pop that timed
//!   out, of a pop from a missing key) the caller gets those replies as they are;
//! - otherwise, fewer replicas than asked fail the whole request with NotReplicated, a
//!   pipeline included, with the replies dropped: the writes did reach the master, but a reply
//!   a caller might take for a durable acknowledgement is never handed out. The connection stays
//!   usable (every reply was read).

use std::fmt;
use std::time::Duration;

use crate::command::blocking::ServerWait;
use crate::command::upper_name;
use crate::command::writes::is_write;
use crate::error::{Error, ErrorKind, Result};
use crate::resp::encode::encode_command;
use crate::resp::value::Value;

/// Durable writes on one connection: what to ask for, and the transaction it is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Durable {
    replicas: u32,
    /// Whole milliseconds, at least 1 (WAIT's 0 would wait for ever).
    timeout_ms: u64,
    /// MULTI was sent and EXEC or DISCARD not yet.
    in_multi: bool,
    /// A write was queued in that transaction.
    queued_write: bool,
}

/// What one request's WAIT needs from its replies.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    replicas: u32,
    timeout_ms: u64,
    /// Where WAIT's reply is among the replies.
    at: usize,
    /// The replies whose writes WAIT confirms.
    covers: Vec<Cover>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cover {
    reply: usize,
    /// Whether a nil reply may still mean a write: see [`Step::Write`].
    nil_wrote: bool,
}

impl Durable {
    /// The setting of a connection made with `replicas` and `timeout`; `None` when off.
    pub fn new(replicas: u32, timeout: Duration) -> Option<Durable> {
        (replicas > 0).then(|| Durable {
            replicas,
            timeout_ms: timeout_millis(timeout),
            in_multi: false,
            queued_write: false,
        })
    }

    /// Adds to `packed` (`count` commands, as `encode_command` wrote them) the WAIT it needs,
    /// if any, and returns how to read the replies then. Notes the transaction state the
    /// commands leave, as sent.
    pub fn plan(&mut self, packed: &mut Vec<u8>, count: usize) -> Option<Plan> {
        let mut covers = Vec::new();
        // Where WAIT goes: after the last command that leaves the connection outside MULTI.
        let mut wait_at = (!self.in_multi).then_some((0, 0));
        let mut commands = Commands {
            packed: &packed[..],
            at: 0,
        };
        for index in 0..count {
            let Some((name, sub)) = commands.next() else {
                // Not what encode_command writes (a bug): confirm whatever ran, at the end.
                debug_assert!(false, "durable: cannot read back the packed commands");
                self.in_multi = false;
                self.queued_write = false;
                let covers = (0..count).map(|reply| Cover {
                    reply,
                    nil_wrote: true,
                });
                let end = packed.len();
                return Some(self.wait_at(packed, end, count, covers.collect()));
            };
            match Step::of(name, sub) {
                Step::Multi => {
                    if !self.in_multi {
                        self.queued_write = false;
                    }
                    self.in_multi = true;
                }
                Step::Exec => {
                    if self.in_multi && self.queued_write {
                        // A nil EXEC: WATCH aborted the transaction.
                        covers.push(Cover {
                            reply: index,
                            nil_wrote: false,
                        });
                    }
                    self.in_multi = false;
                    self.queued_write = false;
                }
                Step::Discard => {
                    self.in_multi = false;
                    self.queued_write = false;
                }
                Step::Write { .. } if self.in_multi => self.queued_write = true,
                Step::Write { nil_wrote } => covers.push(Cover {
                    reply: index,
                    nil_wrote,
                }),
                Step::Other => {}
            }
            if !self.in_multi {
                wait_at = Some((commands.at, index + 1));
            }
        }
        // Every cover leaves the connection outside MULTI: none comes after `wait_at`.
        let (byte, reply) = wait_at?;
        if covers.is_empty() {
            return None;
        }
        Some(self.wait_at(packed, byte, reply, covers))
    }

    /// Puts `WAIT replicas timeout` into `packed` at `byte`, as reply `reply`.
    fn wait_at(&self, packed: &mut Vec<u8>, byte: usize, reply: usize, covers: Vec<Cover>) -> Plan {
        let (replicas, timeout) = (self.replicas.to_string(), self.timeout_ms.to_string());
        let mut wait = Vec::with_capacity(40);
        encode_command(
            &mut wait,
            &[b"WAIT", replicas.as_bytes(), timeout.as_bytes()],
        );
        packed.splice(byte..byte, wait);
        Plan {
            replicas: self.replicas,
            timeout_ms: self.timeout_ms,
            at: reply,
            covers,
        }
    }
}

impl Plan {
    /// How long the replies may take on the server: the commands' own wait, then WAIT's.
    pub fn wait(&self, commands: Option<ServerWait>) -> Option<ServerWait> {
        let timeout = Duration::from_millis(self.timeout_ms);
        Some(match commands {
            None => ServerWait::For(timeout),
            Some(ServerWait::For(wait)) => ServerWait::For(wait.saturating_add(timeout)),
            Some(ServerWait::Unbounded) => ServerWait::Unbounded,
        })
    }

    /// Takes WAIT's reply out of `replies` and judges it: NotReplicated when a write may have
    /// happened and fewer replicas than asked confirmed it. `node` names the node for the
    /// message ("master \"m\" at host:port").
    pub fn settle(self, replies: &mut Vec<Value>, node: impl fmt::Display) -> Result<()> {
        if self.at >= replies.len() {
            return Err(Error::new(ErrorKind::Io, "no reply to WAIT read (a bug)"));
        }
        let confirmed = replies.remove(self.at);
        let wrote = self.covers.iter().filter(|c| may_have_written(c, replies));
        let writes = wrote.count();
        if writes == 0 {
            return Ok(());
        }
        let what = match writes {
            1 => "the write".to_owned(),
            n => format!("the {n} writes"),
        };
        let (asked, within) = (self.replicas, self.timeout_ms);
        let replicas = if asked == 1 { "replica" } else { "replicas" };
        let failure = match confirmed {
            Value::Int(n) if n >= i64::from(asked) => return Ok(()),
            Value::Int(n) => format!(
                "only {n} of the {asked} {replicas} asked for confirmed it within {within} ms"
            ),
            Value::ServerError(err) => {
                format!("WAIT {asked} {within} was refused ({err}), so no replica confirmed it")
            }
            other => {
                format!("WAIT {asked} {within} answered {other:?}, so no replica confirmed it")
            }
        };
        Err(Error::new(
            ErrorKind::NotReplicated,
            format!(
                "{node}: {what} reached the master, but {failure}: it may be lost in a failover"
            ),
        ))
    }
}

/// Whether the command of `cover` may have written, by its reply.
fn may_have_written(cover: &Cover, replies: &[Value]) -> bool {
    match replies.get(cover.reply) {
        Some(Value::ServerError(_)) | None => false,
        Some(Value::Nil) => cover.nil_wrote,
        Some(_) => true,
    }
}

/// `timeout` in whole milliseconds for WAIT, rounded up, at least 1.
fn timeout_millis(timeout: Duration) -> u64 {
    let millis = timeout.as_nanos().div_ceil(1_000_000);
    u64::try_from(millis).unwrap_or(u64::MAX).max(1)
}

/// What a command does to the rule.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Multi,
    Exec,
    Discard,
    /// A write. Most answer nil when they wrote nothing: a blocking pop that timed out, a pop
    /// or a move from a missing key. Not all: GETSET (and SET ... GET) answers nil for a key it
    /// created, a script's nil says nothing, and SET's nil (NX or XX not met, or GET of a new
    /// key) is taken as a write.
    Write {
        nil_wrote: bool,
    },
    Other,
}

impl Step {
    fn of(name: &[u8], sub: Option<&[u8]>) -> Step {
        let mut buf = [0u8; 7];
        match upper_name(name, &mut buf) {
            Some(b"MULTI") => Step::Multi,
            Some(b"EXEC") => Step::Exec,
            // RESET leaves a transaction as DISCARD does.
            Some(b"DISCARD" | b"RESET") => Step::Discard,
            upper if is_write(name, sub) => Step::Write {
                nil_wrote: matches!(
                    upper,
                    Some(b"SET" | b"GETSET" | b"EVAL" | b"EVALSHA" | b"FCALL")
                ),
            },
            _ => Step::Other,
        }
    }
}

/// The commands of a packed buffer, read back: each one's name and first argument, with `at`
/// just past it.
struct Commands<'a> {
    packed: &'a [u8],
    at: usize,
}

impl<'a> Commands<'a> {
    fn next(&mut self) -> Option<(&'a [u8], Option<&'a [u8]>)> {
        let argc = self.header(b'*')?;
        let mut first = [None, None];
        for i in 0..argc {
            let len = self.header(b'$')?;
            let arg = self.packed.get(self.at..self.at.checked_add(len)?)?;
            self.at += len;
            if self.packed.get(self.at..self.at + 2)? != b"\r\n" {
                return None;
            }
            self.at += 2;
            if let Some(slot) = first.get_mut(i) {
                *slot = Some(arg);
            }
        }
        Some((first[0]?, first[1]))
    }

    /// `<marker><n>\r\n` at `at`: n.
    fn header(&mut self, marker: u8) -> Option<usize> {
        let rest = self.packed.get(self.at..)?;
        let (&first, rest) = rest.split_first()?;
        if first != marker {
            return None;
        }
        let end = rest.iter().position(|&b| b == b'\r')?;
        let n = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
        if rest.get(end + 1) != Some(&b'\n') {
            return None;
        }
        self.at += 1 + end + 2;
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::value::ServerError;

    const WAIT: &str = "WAIT 1 100";

    fn durable() -> Durable {
        Durable::new(1, Duration::from_millis(100)).unwrap()
    }

    fn pack(commands: &[&str]) -> Vec<u8> {
        let mut packed = Vec::new();
        for command in commands {
            let args: Vec<&[u8]> = command.split(' ').map(str::as_bytes).collect();
            encode_command(&mut packed, &args);
        }
        packed
    }

    /// The commands `durable` sends for `commands`, and the plan.
    fn send(durable: &mut Durable, commands: &[&str]) -> (Vec<String>, Option<Plan>) {
        let mut packed = pack(commands);
        let plan = durable.plan(&mut packed, commands.len());
        (unpack(&packed), plan)
    }

    /// Each command of `packed`, its arguments joined by spaces.
    fn unpack(mut packed: &[u8]) -> Vec<String> {
        fn line(packed: &mut &[u8], marker: u8) -> usize {
            let end = packed.windows(2).position(|w| w == b"\r\n").unwrap();
            assert_eq!(packed[0], marker);
            let n = std::str::from_utf8(&packed[1..end])
                .unwrap()
                .parse()
                .unwrap();
            *packed = &packed[end + 2..];
            n
        }
        let mut commands = Vec::new();
        while !packed.is_empty() {
            let mut args = Vec::new();
            for _ in 0..line(&mut packed, b'*') {
                let len = line(&mut packed, b'$');
                args.push(String::from_utf8_lossy(&packed[..len]).into_owned());
                packed = &packed[len + 2..];
            }
            commands.push(args.join(" "));
        }
        commands
    }

    fn covers(plan: &Plan) -> Vec<usize> {
        plan.covers.iter().map(|c| c.reply).collect()
    }

    #[test]
    fn off_unless_asked_for_replicas() {
        assert_eq!(Durable::new(0, Duration::from_millis(100)), None);
        assert!(Durable::new(2, Duration::from_millis(100)).is_some());
    }

    #[test]
    fn a_write_gets_one_wait_after_it_in_the_same_buffer() {
        let mut d = durable();
        let (sent, plan) = send(&mut d, &["INCR k"]);
        assert_eq!(sent, ["INCR k", WAIT]);
        let plan = plan.unwrap();
        assert_eq!((plan.at, covers(&plan)), (1, vec![0]));
        let mut packed = pack(&["INCR k"]);
        d.plan(&mut packed, 1);
        assert_eq!(packed, pack(&["INCR k", "WAIT 1 100"]));
    }

    #[test]
    fn reads_get_no_wait() {
        let mut d = durable();
        for commands in [
            &["GET k"][..],
            &["GET a", "MGET a b", "PING", "EVAL_RO return 0"],
            &["MULTI", "GET k", "EXEC"],
            &["WATCH k", "MULTI", "DISCARD"],
        ] {
            let (sent, plan) = send(&mut d, commands);
            assert_eq!(sent, commands, "{commands:?}");
            assert_eq!(plan, None);
        }
    }

    #[test]
    fn a_pipeline_of_writes_gets_one_wait_at_the_end() {
        let mut d = durable();
        let commands: Vec<String> = (0..10).map(|i| format!("SET k{i} {i}")).collect();
        let commands: Vec<&str> = commands.iter().map(String::as_str).collect();
        let (sent, plan) = send(&mut d, &commands);
        assert_eq!(sent.len(), 11);
        assert_eq!(sent[10], WAIT);
        let plan = plan.unwrap();
        assert_eq!(plan.at, 10);
        assert_eq!(covers(&plan), (0..10).collect::<Vec<_>>());
        let (sent, plan) = send(&mut d, &["SET a 1", "GET a", "INCR b", "GET b"]);
        assert_eq!(sent, ["SET a 1", "GET a", "INCR b", "GET b", WAIT]);
        assert_eq!(covers(&plan.unwrap()), [0, 2]);
    }

    #[test]
    fn a_transaction_gets_one_wait_after_exec_and_none_inside() {
        let mut d = durable();
        let (sent, plan) = send(&mut d, &["MULTI", "SET a 1", "INCR b", "EXEC"]);
        assert_eq!(sent, ["MULTI", "SET a 1", "INCR b", "EXEC", WAIT]);
        let plan = plan.unwrap();
        assert_eq!((plan.at, covers(&plan)), (4, vec![3]));
        assert!(!plan.covers[0].nil_wrote);
        // One command at a time, as `command` sends them.
        for (command, waits) in [
            ("multi", false),
            ("set a 1", false),
            ("get a", false),
            ("exec", true),
            ("MULTI", false),
            ("GET a", false),
            ("EXEC", false),
            ("MULTI", false),
            ("SET a 2", false),
            ("DISCARD", false),
            ("EXEC", false),
            ("MULTI", false),
            ("SET a 3", false),
            ("RESET", false),
            ("SET a 3", true),
        ] {
            let (sent, plan) = send(&mut d, &[command]);
            assert_eq!(plan.is_some(), waits, "{command}");
            assert_eq!(sent.len(), 1 + waits as usize, "{command}");
        }
    }

    #[test]
    fn a_request_that_ends_inside_multi_waits_before_that_multi() {
        let mut d = durable();
        let (sent, plan) = send(&mut d, &["SET a 1", "MULTI", "SET b 2"]);
        assert_eq!(sent, ["SET a 1", WAIT, "MULTI", "SET b 2"]);
        let plan = plan.unwrap();
        assert_eq!((plan.at, covers(&plan)), (1, vec![0]));
        // The transaction goes on in the next request, whose EXEC waits.
        let (sent, plan) = send(&mut d, &["INCR c", "EXEC", "GET b"]);
        assert_eq!(sent, ["INCR c", "EXEC", "GET b", WAIT]);
        assert_eq!(covers(&plan.unwrap()), [1]);
        // Ends inside MULTI with no write before it: nothing to wait for yet.
        let (sent, plan) = send(&mut d, &["GET a", "MULTI", "SET b 2"]);
        assert_eq!((sent.len(), plan), (3, None));
        let (sent, plan) = send(&mut d, &["SET c 3"]);
        assert_eq!((sent.len(), plan), (1, None), "queued, not run");
        let (sent, plan) = send(&mut d, &["EXEC"]);
        assert_eq!(sent, ["EXEC", WAIT]);
        assert_eq!(covers(&plan.unwrap()), [0]);
        // Two transactions: the WAIT goes before the second, after the first's EXEC.
        let (sent, _) = send(&mut d, &["MULTI", "SET a 1", "EXEC", "MULTI", "SET a 2"]);
        assert_eq!(sent, ["MULTI", "SET a 1", "EXEC", WAIT, "MULTI", "SET a 2"]);
    }

    #[test]
    fn blocking_writes_wait_too_and_their_waits_add_up() {
        let mut d = durable();
        let (sent, plan) = send(&mut d, &["BLMOVE a b LEFT RIGHT 2"]);
        assert_eq!(sent, ["BLMOVE a b LEFT RIGHT 2", WAIT]);
        let plan = plan.unwrap();
        let ms = Duration::from_millis;
        assert_eq!(plan.wait(None), Some(ServerWait::For(ms(100))));
        assert_eq!(
            plan.wait(Some(ServerWait::For(ms(2000)))),
            Some(ServerWait::For(ms(2100)))
        );
        assert_eq!(
            plan.wait(Some(ServerWait::Unbounded)),
            Some(ServerWait::Unbounded)
        );
        let (sent, _) = send(&mut d, &["brpoplpush a b 0"]);
        assert_eq!(sent.len(), 2);
        let (sent, plan) = send(&mut d, &["XREAD BLOCK 10 STREAMS s $"]);
        assert_eq!((sent.len(), plan), (1, None));
    }

    #[test]
    fn timeouts_are_whole_milliseconds_rounded_up() {
        assert_eq!(timeout_millis(Duration::from_millis(100)), 100);
        assert_eq!(timeout_millis(Duration::from_micros(1500)), 2);
        assert_eq!(timeout_millis(Duration::from_nanos(1)), 1);
        assert_eq!(timeout_millis(Duration::ZERO), 1);
        assert_eq!(timeout_millis(Duration::MAX), u64::MAX);
    }

    fn plan_for(commands: &[&str]) -> Plan {
        durable().plan(&mut pack(commands), commands.len()).unwrap()
    }

    #[test]
    fn enough_confirmations_hand_out_exactly_the_callers_replies() {
        let plan = plan_for(&["SET a 1", "GET a"]);
        let mut replies = vec![Value::Okay, Value::BulkString(b"1".to_vec()), Value::Int(2)];
        plan.settle(&mut replies, "master").unwrap();
        assert_eq!(replies, [Value::Okay, Value::BulkString(b"1".to_vec())]);
        // WAIT in the middle (before a trailing MULTI) comes out of the middle.
        let plan = plan_for(&["SET a 1", "MULTI", "SET b 2"]);
        let queued = || Value::SimpleString("QUEUED".into());
        let mut replies = vec![Value::Okay, Value::Int(1), Value::Okay, queued()];
        plan.settle(&mut replies, "master").unwrap();
        assert_eq!(replies, [Value::Okay, Value::Okay, queued()]);
    }

    #[test]
    fn too_few_confirmations_fail_with_not_replicated() {
        let plan = plan_for(&["INCR k"]);
        let mut replies = vec![Value::Int(7), Value::Int(0)];
        let err = plan
            .settle(&mut replies, "master \"m\" at 127.0.0.1:6379")
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotReplicated);
        assert!(!err.kind().breaks_connection());
        assert_eq!(
            err.message(),
            "master \"m\" at 127.0.0.1:6379: the write reached the master, but only 0 of the 1 \
             replica asked for confirmed it within 100 ms: it may be lost in a failover"
        );
        let mut two = Durable::new(2, Duration::from_millis(250)).unwrap();
        let mut packed = pack(&["SET a 1", "SET b 2"]);
        let plan = two.plan(&mut packed, 2).unwrap();
        let mut replies = vec![Value::Okay, Value::Okay, Value::Int(1)];
        let err = plan.settle(&mut replies, "m").unwrap_err();
        assert!(
            err.message().contains("the 2 writes reached the master, but only 1 of the 2 replicas asked for confirmed it within 250 ms"),
            "{err}"
        );
        let refused = ServerError::new(
            "ERR",
            Some("WAIT cannot be used with replica instances".into()),
        );
        let plan = plan_for(&["SET a 1"]);
        let mut replies = vec![Value::Okay, Value::ServerError(refused)];
        let err = plan.settle(&mut replies, "m").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotReplicated);
        assert!(
            err.message().contains("was refused (ERR WAIT cannot"),
            "{err}"
        );
    }

    #[test]
    fn failed_writes_leave_nothing_to_confirm() {
        let wrongtype = || Value::ServerError(ServerError::new("WRONGTYPE", None));
        let plan = plan_for(&["INCR k"]);
        let mut replies = vec![wrongtype(), Value::Int(0)];
        plan.settle(&mut replies, "m").unwrap();
        assert_eq!(replies, [wrongtype()]);
        // A transaction WATCH aborted ran nothing.
        let plan = plan_for(&["MULTI", "SET a 1", "EXEC"]);
        let queued = || Value::SimpleString("QUEUED".into());
        let mut replies = vec![Value::Okay, queued(), Value::Nil, Value::Int(0)];
        plan.settle(&mut replies, "m").unwrap();
        // A write answering nil (SET ... GET of a new key) may have written.
        let plan = plan_for(&["SET a 1 GET"]);
        let mut replies = vec![Value::Nil, Value::Int(0)];
        assert!(plan.settle(&mut replies, "m").is_err());
        // A blocking pop that timed out, a pop of a missing key: nothing written.
        for command in ["BLPOP l 1", "BLMOVE a b LEFT RIGHT 1", "LPOP l", "GETDEL k"] {
            let plan = plan_for(&[command]);
            let mut replies = vec![Value::Nil, Value::Int(0)];
            plan.settle(&mut replies, "m").unwrap();
            assert_eq!(replies, [Value::Nil], "{command}");
        }
        for command in ["GETSET a 1", "EVAL x 0", "evalsha x 0", "FCALL f 0"] {
            let plan = plan_for(&[command]);
            let mut replies = vec![Value::Nil, Value::Int(0)];
            assert!(plan.settle(&mut replies, "m").is_err(), "{command}");
        }
        // One failed write, one that landed: WAIT's count matters.
        let plan = plan_for(&["INCR k", "SET a 1"]);
        let mut replies = vec![wrongtype(), Value::Okay, Value::Int(0)];
        let err = plan.settle(&mut replies, "m").unwrap_err();
        assert!(err.message().contains(": the write reached"), "{err}");
    }

    #[test]
    fn reads_back_binary_arguments() {
        let mut packed = Vec::new();
        encode_command(&mut packed, &[b"SET", b"k\r\n*1\r\n", b""]);
        encode_command(&mut packed, &[b"FUNCTION", b"LOAD", b"x"]);
        encode_command(&mut packed, &[b"PING"]);
        let mut read = Commands {
            packed: &packed,
            at: 0,
        };
        assert_eq!(read.next(), Some((&b"SET"[..], Some(&b"k\r\n*1\r\n"[..]))));
        assert_eq!(read.next(), Some((&b"FUNCTION"[..], Some(&b"LOAD"[..]))));
        assert_eq!(read.next(), Some((&b"PING"[..], None)));
        assert_eq!(read.next(), None);
        assert_eq!(read.at, packed.len());
        let mut d = durable();
        let plan = d.plan(&mut packed, 3).unwrap();
        assert_eq!(covers(&plan), [0, 1]);
    }
}
