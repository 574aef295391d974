//! Reading replies from data nodes into [`Value`]s.
//!
//! A reply is first *scanned*: header by header, to find where it ends. The scan resumes where
//! it stopped when more bytes arrive, so a large reply is scanned once however many reads it
//! takes. The complete reply is then *built*. The common types (simple strings, integers, bulk
//! strings, arrays, maps, sets, nulls, booleans) are built here; the rare ones (errors,
//! doubles, big numbers, verbatim strings, attributes, pushes) and anything malformed are
//! handed, as the exact bytes of that element, to the redis crate's parser, so every value (and
//! every parse error) is what the crate itself would produce. The crate's parser is resumable
//! byte by byte, which makes it several times slower than this on the small replies that make
//! up most traffic.

use std::io::{self, Read};

use redis::RedisResult;

use super::value::Value;

/// Nesting deeper than this is refused, as the redis crate refuses it.
const MAX_DEPTH: usize = 100;
/// What a data connection's reader starts with: most replies fit in one read.
const INITIAL_CAPACITY: usize = 16 * 1024;
/// A buffer grown past this by a large reply shrinks back once it is drained.
const KEEP_CAPACITY: usize = 1024 * 1024;
/// The longest bulk payload accepted: Redis's own `proto-max-bulk-len` default.
const MAX_BULK_LEN: i64 = 512 * 1024 * 1024;
/// The longest header or simple line accepted (error texts, statuses, lengths): a server that
/// sends more without a line end is not speaking RESP, and waiting would only buffer it.
const MAX_LINE_LEN: usize = 1024 * 1024;

pub(crate) struct ReplyReader {
    buf: Vec<u8>,
    /// The buffer's size when the reader was made, which it shrinks back to.
    initial: usize,
    /// Bytes `start..end` are read but not yet returned as replies.
    start: usize,
    end: usize,
    scan: Scan,
}

/// How far the scan of the reply at `ReplyReader::start` has got.
#[derive(Default)]
struct Scan {
    /// Offset in the buffer of the next element header to scan.
    pos: usize,
    /// Elements still expected by each aggregate being scanned, outermost first.
    pending: Vec<u64>,
    /// Whether the reply's first element has been scanned.
    started: bool,
    /// The header at `pos` has no line end before this offset: a line that arrives in many
    /// reads is searched once, not again from its start after every read.
    searched_to: usize,
}

impl ReplyReader {
    pub fn new() -> Self {
        Self::with_capacity(INITIAL_CAPACITY)
    }

    /// A reader whose buffer starts at `capacity` bytes (it grows for larger replies).
    pub fn with_capacity(capacity: usize) -> Self {
        ReplyReader {
            buf: vec![0; capacity.max(16)],
            initial: capacity.max(16),
            start: 0,
            end: 0,
            scan: Scan::default(),
        }
    }

    /// Reads the next reply, reading from `stream` as often as it takes.
    pub fn read_value(&mut self, stream: &mut impl Read) -> RedisResult<Value> {
        loop {
            if let Some(reply_end) = self.scan.advance(&self.buf[..self.end])? {
                let reply = &self.buf[self.start..reply_end];
                let mut at = 0;
                let value = build(reply, &mut at)?;
                self.start = reply_end;
                self.scan = Scan {
                    pos: reply_end,
                    ..Scan::default()
                };
                if self.start == self.end {
                    self.reset();
                }
                return Ok(value);
            }
            self.fill(stream)?;
        }
    }

    /// True when bytes past the last reply returned are buffered: a reply nobody asked for,
    /// which the next caller would take for its own.
    pub fn has_unread(&self) -> bool {
        self.start != self.end
    }

    /// Empties the buffer, letting go of memory a large reply needed.
    fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.scan.pos = 0;
        self.scan.searched_to = 0;
        if self.buf.len() > KEEP_CAPACITY {
            self.buf = vec![0; self.initial];
        }
    }

    /// One read from `stream`, after making room: unconsumed bytes move to the front, and the
    /// buffer doubles when they fill more than half of it.
    fn fill(&mut self, stream: &mut impl Read) -> io::Result<()> {
        if self.start > 0 && self.buf.len() - self.end < self.buf.len() / 2 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scan.pos -= self.start;
            self.scan.searched_to = self.scan.searched_to.saturating_sub(self.start);
            self.start = 0;
        }
        if self.end - self.start > self.buf.len() / 2 {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match stream.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ))
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl Scan {
    /// Scans the headers of `data` from `pos` on. Returns where the reply ends once it is
    /// complete, `None` when more bytes are needed (and remembers how far it got).
    fn advance(&mut self, data: &[u8]) -> io::Result<Option<usize>> {
        loop {
            if self.started && self.pending.is_empty() {
                return Ok(Some(self.pos));
            }
            let Some(element) = scan_header(data, self.pos, &mut self.searched_to)? else {
                return Ok(None);
            };
            self.searched_to = 0;
            self.started = true;
            self.pos = element.next;
            if let Some(parent) = self.pending.last_mut() {
                *parent -= 1;
            }
            if element.children > 0 {
                if self.pending.len() >= MAX_DEPTH {
                    return Err(protocol_error("replies nested too deeply"));
                }
                self.pending.push(element.children);
            }
            while self.pending.last() == Some(&0) {
                self.pending.pop();
            }
        }
    }
}

/// One scanned element header: where the next header starts (after a bulk payload, if any)
/// and how many elements it contains.
struct Header {
    next: usize,
    children: u64,
}

/// Scans the element header at `pos`; `None` when its line (or bulk payload) is not all there.
/// Lengths must be -1 (nil) or within bounds, and a bulk payload must end in CRLF: a reply that
/// breaks either would leave the reader out of step with the server.
fn scan_header(data: &[u8], pos: usize, searched_to: &mut usize) -> io::Result<Option<Header>> {
    let Some((line, next)) = find_line(data, pos, searched_to)? else {
        return Ok(None);
    };
    let count = || match parse_int(line) {
        Some(n) if n >= -1 => Ok(n),
        Some(_) => Err(protocol_error("negative length other than -1")),
        None => Err(protocol_error("bad length")),
    };
    let (next, children) = match data[pos] {
        b'$' | b'!' | b'=' => match count()? {
            -1 if data[pos] == b'$' => (next, 0),
            -1 => {
                return Err(protocol_error(
                    "nil length on a blob error or verbatim string",
                ))
            }
            n if n > MAX_BULK_LEN => return Err(protocol_error("bulk string too long")),
            n => {
                let after = next + n as usize + 2;
                if data.len() < after {
                    return Ok(None);
                }
                if &data[after - 2..after] != b"\r\n" {
                    return Err(protocol_error("bulk string not followed by CRLF"));
                }
                (after, 0)
            }
        },
        b'*' | b'~' | b'>' => (next, count()?.max(0) as u64),
        b'%' => (next, count()?.max(0) as u64 * 2),
        b'|' => (next, count()?.max(0) as u64 * 2 + 1), // the attributes, then the value
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => (next, 0),
        other => {
            return Err(protocol_error(&format!(
                "unknown reply type byte 0x{other:02x}"
            )))
        }
    };
    Ok(Some(Header { next, children }))
}

/// The line after the type byte at `pos` (without CRLF) and where the next one starts; `None`
/// while its end has not arrived. A line ended by LF alone, or longer than [`MAX_LINE_LEN`],
/// is a protocol error.
fn line_at(data: &[u8], pos: usize) -> io::Result<Option<(&[u8], usize)>> {
    find_line(data, pos, &mut 0)
}

/// [`line_at`], searching for the line end from `*searched_to` on (no earlier byte of the line
/// is LF), and moving it to the end of `data` when the line end is not there yet.
fn find_line<'a>(
    data: &'a [u8],
    pos: usize,
    searched_to: &mut usize,
) -> io::Result<Option<(&'a [u8], usize)>> {
    let from = (*searched_to).max(pos + 1);
    let Some(rest) = data.get(from..) else {
        return Ok(None);
    };
    let Some(newline) = rest.iter().position(|&b| b == b'\n').map(|at| from + at) else {
        if data.len() - (pos + 1) > MAX_LINE_LEN + 1 {
            return Err(protocol_error("line too long"));
        }
        *searched_to = data.len();
        return Ok(None);
    };
    if newline - (pos + 1) > MAX_LINE_LEN + 1 {
        return Err(protocol_error("line too long"));
    }
    match data[pos + 1..newline].strip_suffix(b"\r") {
        Some(line) => Ok(Some((line, newline + 1))),
        None => Err(protocol_error("line ended by LF without CR")),
    }
}

/// A RESP integer: an optional `-` and decimal digits, nothing else. Anything odd (and
/// i64::MIN) is None, and the element goes to the redis crate's parser instead.
fn parse_int(line: &[u8]) -> Option<i64> {
    let (negative, digits) = match line {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, line),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(i64::from(byte - b'0'))?;
    }
    Some(if negative { -n } else { n })
}

/// A bulk string's bytes with room for one more: the C reply appends its NUL in place.
fn bulk_string(bytes: &[u8]) -> Vec<u8> {
    let mut owned = Vec::with_capacity(bytes.len() + 1);
    owned.extend_from_slice(bytes);
    owned
}

fn protocol_error(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("protocol error: {what}"),
    )
}

/// Builds the element at `*at` of a complete, scanned reply and moves `*at` past it.
fn build(data: &[u8], at: &mut usize) -> RedisResult<Value> {
    let start = *at;
    let (line, next) = line_at(data, start)?.ok_or_else(|| protocol_error("cut reply"))?;
    let common = match data[start] {
        b'+' => std::str::from_utf8(line).ok().map(|text| {
            *at = next;
            if text == "OK" {
                Value::Okay
            } else {
                Value::SimpleString(text.to_owned())
            }
        }),
        b':' => parse_int(line).map(|n| {
            *at = next;
            Value::Int(n)
        }),
        b'_' => {
            *at = next;
            Some(Value::Nil)
        }
        b'#' if line == b"t" || line == b"f" => {
            *at = next;
            Some(Value::Boolean(line == b"t"))
        }
        b'$' => match parse_int(line) {
            Some(n) if n < 0 => {
                *at = next;
                Some(Value::Nil)
            }
            Some(n) => {
                let end = next + n as usize;
                *at = end + 2;
                Some(Value::BulkString(bulk_string(&data[next..end])))
            }
            None => None,
        },
        kind @ (b'*' | b'~' | b'%') => match parse_int(line) {
            Some(n) if n < 0 && kind != b'%' => {
                *at = next;
                Some(Value::Nil)
            }
            Some(n) if n >= 0 => {
                *at = next;
                let n = n as usize;
                Some(match kind {
                    b'%' => {
                        let mut pairs = Vec::with_capacity(n.min(4096));
                        for _ in 0..n {
                            let key = build(data, at)?;
                            pairs.push((key, build(data, at)?));
                        }
                        Value::Map(pairs)
                    }
                    _ => {
                        let mut items = Vec::with_capacity(n.min(4096));
                        for _ in 0..n {
                            items.push(build(data, at)?);
                        }
                        if kind == b'*' {
                            Value::Array(items)
                        } else {
                            Value::Set(items)
                        }
                    }
                })
            }
            _ => None,
        },
        _ => None,
    };
    match common {
        Some(value) => Ok(value),
        None => {
            // A rare type, or a malformed common one: the crate's parser decides.
            let mut scan = Scan {
                pos: start,
                ..Scan::default()
            };
            let end = scan
                .advance(data)?
                .ok_or_else(|| protocol_error("cut reply"))?;
            *at = end;
            redis::parse_redis_value(&data[start..end]).map(Value::from_parsed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes `chunk` at a time, as a socket might.
    struct Chunked<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Chunked<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    const REPLIES: &[&[u8]] = &[
        b"+OK\r\n",
        b"+QUEUED\r\n",
        b"-ERR unknown command\r\n",
        b"-READONLY You can't write against a read only replica.\r\n",
        b":0\r\n",
        b":-42\r\n",
        b":9223372036854775807\r\n",
        b":-9223372036854775808\r\n",
        b"*2\r\n:+7\r\n: 8\r\n",
        b"$5\r\nhello\r\n",
        b"$0\r\n\r\n",
        b"$-1\r\n",
        b"$4\r\na\r\nb\r\n",
        b"*-1\r\n",
        b"*0\r\n",
        b"*3\r\n$1\r\na\r\n:2\r\n*2\r\n+x\r\n-ERR inner\r\n",
        b"%2\r\n+k1\r\n:1\r\n$2\r\nk2\r\n*1\r\n_\r\n",
        b"~2\r\n:1\r\n:2\r\n",
        b"~-1\r\n",
        b"_\r\n",
        b"#t\r\n",
        b"#f\r\n",
        b",3.25\r\n",
        b",inf\r\n",
        b"(3492890328409238509324850943850943825024385\r\n",
        b"!21\r\nSYNTAX invalid syntax\r\n",
        b"=15\r\ntxt:Some string\r\n",
        b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
        b"*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n",
        b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nhey\r\n",
        b"*2\r\n=15\r\ntxt:Some string\r\n(12345678901234567890\r\n",
    ];

    #[test]
    fn builds_what_the_redis_crate_builds_however_the_bytes_arrive() {
        for reply in REPLIES {
            let expected = Value::from_parsed(redis::parse_redis_value(reply).unwrap());
            for chunk in 1..=reply.len() {
                let mut reader = ReplyReader::new();
                let mut stream = Chunked { data: reply, chunk };
                let value = reader.read_value(&mut stream).unwrap();
                assert_eq!(
                    value,
                    expected,
                    "{} in chunks of {chunk}",
                    String::from_utf8_lossy(reply)
                );
                assert_eq!(reader.start, reader.end, "consumed exactly the reply");
            }
        }
    }

    #[test]
    fn reads_back_to_back_replies_in_order() {
        let all: Vec<u8> = REPLIES.concat();
        for (chunk, capacity) in [(1, 16), (3, 16), (7, 100), (64, 16), (all.len(), 16 * 1024)] {
            let mut reader = ReplyReader::with_capacity(capacity);
            let mut stream = Chunked { data: &all, chunk };
            for reply in REPLIES {
                let expected = Value::from_parsed(redis::parse_redis_value(reply).unwrap());
                assert_eq!(reader.read_value(&mut stream).unwrap(), expected);
            }
            assert!(reader.read_value(&mut stream).is_err(), "end of stream");
        }
    }

    #[test]
    fn large_replies_grow_the_buffer_then_give_it_back() {
        let element = b"$1000\r\n"
            .iter()
            .copied()
            .chain([b'x'; 1000])
            .chain(*b"\r\n");
        let count = 3000;
        let mut reply = format!("*{count}\r\n").into_bytes();
        for _ in 0..count {
            reply.extend(element.clone());
        }
        reply.extend_from_slice(b"+OK\r\n");
        let mut reader = ReplyReader::new();
        let mut stream = Chunked {
            data: &reply,
            chunk: 65536,
        };
        match reader.read_value(&mut stream).unwrap() {
            Value::Array(items) => {
                assert_eq!(items.len(), count);
                assert_eq!(items[count - 1], Value::BulkString(vec![b'x'; 1000]));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(reader.read_value(&mut stream).unwrap(), Value::Okay);
        assert_eq!(reader.buf.len(), INITIAL_CAPACITY);
    }

    #[test]
    fn garbage_is_an_error() {
        for bad in [&b"?what\r\n"[..], b"$x\r\n", b"*x\r\n"] {
            let mut reader = ReplyReader::new();
            let mut stream = Chunked {
                data: bad,
                chunk: 64,
            };
            assert!(reader.read_value(&mut stream).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn replies_that_break_the_protocol_are_errors_not_values() {
        let long_line = [&b"+"[..], &vec![b'x'; MAX_LINE_LEN + 8], b"\r\n"].concat();
        let cases: &[&[u8]] = &[
            b"$3\r\nabcXY", // payload not followed by CRLF
            b"$3\r\nabc\rX",
            b"$-5\r\n", // only -1 means nil
            b"*-2\r\n",
            b"%-3\r\n",
            b"!-1\r\n",
            b"$536870913\r\n", // longer than Redis would ever send
            b"+OK\n",          // LF without CR
            b"*1\r\n:1\n",
            &long_line,
        ];
        for bad in cases {
            for chunk in [1, 3, 64] {
                let mut reader = ReplyReader::new();
                let mut stream = Chunked { data: bad, chunk };
                let result = reader.read_value(&mut stream);
                assert!(
                    matches!(&result, Err(e) if e.kind() == redis::ErrorKind::Io
                        || e.kind() == redis::ErrorKind::Parse),
                    "{:?} in chunks of {chunk}: {result:?}",
                    String::from_utf8_lossy(&bad[..bad.len().min(40)])
                );
            }
        }
    }

    #[test]
    fn bytes_after_a_reply_are_seen_as_unread() {
        let mut reader = ReplyReader::new();
        let mut stream = Chunked {
            data: b"$1\r\na\r\n+EXTRA\r\n",
            chunk: 64,
        };
        assert_eq!(
            reader.read_value(&mut stream).unwrap(),
            Value::BulkString(b"a".to_vec())
        );
        assert!(reader.has_unread());
        assert_eq!(
            reader.read_value(&mut stream).unwrap(),
            Value::SimpleString("EXTRA".into())
        );
        assert!(!reader.has_unread());
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = b"*1\r\n".repeat(MAX_DEPTH + 1);
        let mut reader = ReplyReader::new();
        let mut stream = Chunked {
            data: &deep,
            chunk: 64,
        };
        assert!(reader.read_value(&mut stream).is_err());
    }
}

/// Generated replies, for this module's property tests and the sentinel parsers'.
#[cfg(test)]
pub(crate) mod generated {
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn aggregate(marker: char, count: usize, items: Vec<Vec<u8>>) -> Vec<u8> {
        let mut out = format!("{marker}{count}\r\n").into_bytes();
        for item in items {
            out.extend(item);
        }
        out
    }

    fn blob(marker: char, bytes: &[u8]) -> Vec<u8> {
        let mut out = format!("{marker}{}\r\n", bytes.len()).into_bytes();
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The bytes of one valid RESP2 or RESP3 reply, nested up to four deep.
    pub fn reply() -> impl Strategy<Value = Vec<u8>> {
        let leaf = prop_oneof![
            "[a-zA-Z0-9 :.-]{0,24}".prop_map(|s| format!("+{s}\r\n").into_bytes()),
            "[A-Z]{1,9}( [a-z0-9 ]{0,24})?".prop_map(|s| format!("-{s}\r\n").into_bytes()),
            any::<i64>().prop_map(|n| format!(":{n}\r\n").into_bytes()),
            vec(any::<u8>(), 0..80).prop_map(|bytes| blob('$', &bytes)),
            "(ip|port|flags|config-epoch|role:master|role:slave|s_down|[a-z0-9.,:]{0,12})"
                .prop_map(|s| blob('$', s.as_bytes())),
            Just(b"$-1\r\n".to_vec()),
            Just(b"*-1\r\n".to_vec()),
            Just(b"_\r\n".to_vec()),
            any::<bool>().prop_map(|t| if t {
                b"#t\r\n".to_vec()
            } else {
                b"#f\r\n".to_vec()
            }),
            (-1e9f64..1e9).prop_map(|d| format!(",{d}\r\n").into_bytes()),
            "-?[1-9][0-9]{0,40}".prop_map(|d| format!("({d}\r\n").into_bytes()),
            "[a-z ]{0,20}".prop_map(|t| blob('=', format!("txt:{t}").as_bytes())),
            "[A-Z]{1,8} [a-z ]{0,20}".prop_map(|t| blob('!', t.as_bytes())),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..8).prop_map(|items| aggregate('*', items.len(), items)),
                vec(inner.clone(), 0..8).prop_map(|items| aggregate('~', items.len(), items)),
                vec((inner.clone(), inner.clone()), 0..4).prop_map(|pairs| {
                    let count = pairs.len();
                    let items = pairs.into_iter().flat_map(|(k, v)| [k, v]).collect();
                    aggregate('%', count, items)
                }),
                // A push names its kind first.
                ("(message|pmessage|invalidate)", vec(inner, 0..5)).prop_map(|(kind, items)| {
                    let items: Vec<Vec<u8>> = std::iter::once(blob('$', kind.as_bytes()))
                        .chain(items)
                        .collect();
                    aggregate('>', items.len(), items)
                }),
            ]
        })
    }

    /// The value the redis crate builds from a generated reply.
    pub fn value() -> impl Strategy<Value = crate::resp::value::Value> {
        reply().prop_map(|bytes| {
            let parsed = redis::parse_redis_value(&bytes).expect("a valid reply");
            crate::resp::value::Value::from_parsed(parsed)
        })
    }
}

#[cfg(test)]
mod properties {
    use std::io::{self, Read};

    use proptest::collection::vec;
    use proptest::prelude::*;

    use crate::resp::value::Value;

    use super::generated::reply;
    use super::ReplyReader;

    /// Hands out its bytes in reads of the given sizes (cycling), as a socket might.
    struct Splits {
        data: Vec<u8>,
        at: usize,
        sizes: Vec<usize>,
        next: usize,
    }

    impl Read for Splits {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let size = self.sizes[self.next % self.sizes.len()];
            self.next += 1;
            let n = size.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// Bytes a value holds, roughly: what building it may have allocated.
    fn footprint(value: &Value) -> usize {
        let nested = |items: &[Value]| items.iter().map(footprint).sum::<usize>();
        std::mem::size_of::<Value>()
            + match value {
                Value::BulkString(bytes) => bytes.len(),
                Value::SimpleString(text) => text.len(),
                Value::Array(items) | Value::Set(items) => nested(items),
                Value::Push { data, .. } => nested(data),
                Value::Map(pairs) => pairs.iter().map(|(k, v)| footprint(k) + footprint(v)).sum(),
                _ => 64,
            }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn valid_replies_read_as_the_redis_crate_parses_them_in_any_split(
            replies in vec(reply(), 1..4),
            sizes in vec(1usize..40, 1..8),
            capacity in 16usize..256,
        ) {
            let mut reader = ReplyReader::with_capacity(capacity);
            let mut stream = Splits { data: replies.concat(), at: 0, sizes, next: 0 };
            for bytes in &replies {
                let expected = Value::from_parsed(redis::parse_redis_value(bytes).unwrap());
                prop_assert_eq!(reader.read_value(&mut stream).unwrap(), expected);
            }
            prop_assert!(!reader.has_unread());
        }

        #[test]
        fn arbitrary_bytes_never_panic_nor_outgrow_their_input(
            prefix in vec(reply(), 0..2),
            garbage in vec(any::<u8>(), 0..600),
            sizes in vec(1usize..64, 1..4),
        ) {
            // Valid replies first, so the garbage lands in every state of the reader.
            let data = [prefix.concat(), garbage].concat();
            let input = data.len();
            let mut reader = ReplyReader::with_capacity(16);
            let mut stream = Splits { data, at: 0, sizes, next: 0 };
            let mut built = 0;
            while let Ok(value) = reader.read_value(&mut stream) {
                built += footprint(&value);
                prop_assert!(built <= 64 * (input + 1), "{} bytes built from {}", built, input);
            }
            prop_assert!(reader.buf.len() <= 16usize.max(4 * input), "{} for {}", reader.buf.len(), input);
        }

        #[test]
        fn huge_lengths_wait_for_their_bytes_without_allocating_them(
            marker in prop::sample::select(vec!['$', '*', '%', '~', '=']),
            length in 1_000_000i64..i64::MAX,
        ) {
            let data = format!("{marker}{length}\r\nabc").into_bytes();
            let mut reader = ReplyReader::with_capacity(16);
            let mut stream = Splits { data, at: 0, sizes: vec![7], next: 0 };
            prop_assert!(reader.read_value(&mut stream).is_err());
            prop_assert!(reader.buf.len() <= 64);
        }
    }
}
