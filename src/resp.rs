//! A small RESP2 codec for the sentinel links.
//!
//! Sentinel links need reads that can time out halfway through a frame without losing bytes
//! (keepalive) and sockets that another thread can shut down (close). An incremental parser
//! over our own buffer gives both. Data connections share the encoder and parse replies with
//! the `redis` crate's parser (RESP3 too).

/// One RESP2 value as a sentinel sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    Array(Vec<Frame>),
    Nil,
}

impl Frame {
    /// The text of a bulk or simple string.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Frame::Bulk(bytes) => std::str::from_utf8(bytes).ok(),
            Frame::Simple(text) => Some(text),
            _ => None,
        }
    }
}

/// Appends one command in RESP form to `out`.
pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    push_header(out, b'*', args.len());
    for arg in args {
        push_header(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// `<marker><n>\r\n`, without going through `fmt` (this runs for every argument sent).
fn push_header(out: &mut Vec<u8>, marker: u8, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut left = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (left % 10) as u8;
        left /= 10;
        if left == 0 {
            break;
        }
    }
    out.push(marker);
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
}

/// A protocol violation: the link cannot be trusted after it.
#[derive(Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

/// Parses one frame from the front of `buf`: `Ok(Some((frame, used)))`, `Ok(None)` when more
/// bytes are needed.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
    Parser { buf, pos: 0 }.frame(0)
}

const MAX_DEPTH: usize = 16;

struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn line(&mut self) -> Option<&[u8]> {
        let rest = &self.buf[self.pos..];
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        self.pos += end + 2;
        Some(&rest[..end])
    }

    fn int(line: &[u8]) -> Result<i64, ProtocolError> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                ProtocolError(format!("bad integer {:?}", String::from_utf8_lossy(line)))
            })
    }

    fn frame(&mut self, depth: usize) -> Result<Option<(Frame, usize)>, ProtocolError> {
        if depth > MAX_DEPTH {
            return Err(ProtocolError("reply nested too deeply".into()));
        }
        let Some(&tag) = self.buf.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        let Some(line) = self.line() else {
            return Ok(None);
        };
        let text = || String::from_utf8_lossy(line).into_owned();
        let frame = match tag {
            b'+' => Frame::Simple(text()),
            b'-' => Frame::Error(text()),
            b':' => Frame::Integer(Self::int(line)?),
            b'$' => match Self::int(line)? {
                -1 => Frame::Nil,
                len if len < 0 => return Err(ProtocolError(format!("bad bulk length {len}"))),
                len => {
                    let len = len as usize;
                    let start = self.pos;
                    if self.buf.len() < start + len + 2 {
                        return Ok(None);
                    }
                    if &self.buf[start + len..start + len + 2] != b"\r\n" {
                        return Err(ProtocolError("bulk string not followed by CRLF".into()));
                    }
                    self.pos = start + len + 2;
                    Frame::Bulk(self.buf[start..start + len].to_vec())
                }
            },
            b'*' => match Self::int(line)? {
                -1 => Frame::Nil,
                len if len < 0 => return Err(ProtocolError(format!("bad array length {len}"))),
                len => {
                    let mut items = Vec::with_capacity((len as usize).min(64));
                    for _ in 0..len {
                        match self.frame(depth + 1)? {
                            Some((item, _)) => items.push(item),
                            None => return Ok(None),
                        }
                    }
                    Frame::Array(items)
                }
            },
            other => {
                return Err(ProtocolError(format!(
                    "unexpected reply type byte 0x{other:02x}"
                )))
            }
        };
        Ok(Some((frame, self.pos)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_binary_safe_commands() {
        let mut out = Vec::new();
        encode_command(&mut out, &[b"SET", b"k\0", b""]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$2\r\nk\0\r\n$0\r\n\r\n");
        let long = vec![b'x'; 1234567];
        out.clear();
        encode_command(&mut out, &[&long]);
        assert!(out.starts_with(b"*1\r\n$1234567\r\nxxx"));
        assert_eq!(out.len(), 4 + 10 + long.len() + 2);
    }

    #[test]
    fn parses_every_type() {
        let input = b"*6\r\n+OK\r\n-ERR no\r\n:42\r\n$3\r\na\r\n\r\n$-1\r\n*1\r\n*0\r\n";
        let (frame, used) = parse_frame(input).unwrap().unwrap();
        assert_eq!(used, input.len());
        assert_eq!(
            frame,
            Frame::Array(vec![
                Frame::Simple("OK".into()),
                Frame::Error("ERR no".into()),
                Frame::Integer(42),
                Frame::Bulk(b"a\r\n".to_vec()),
                Frame::Nil,
                Frame::Array(vec![Frame::Array(vec![])]),
            ])
        );
    }

    #[test]
    fn waits_for_incomplete_frames_at_every_cut() {
        let input = b"*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n$5\r\nhello\r\n";
        for cut in 0..input.len() {
            assert_eq!(parse_frame(&input[..cut]).unwrap(), None, "cut at {cut}");
        }
        assert!(parse_frame(input).unwrap().is_some());
    }

    #[test]
    fn leaves_following_frames_in_place() {
        let (frame, used) = parse_frame(b":1\r\n:2\r\n").unwrap().unwrap();
        assert_eq!((frame, used), (Frame::Integer(1), 4));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_frame(b"?x\r\n").is_err());
        assert!(parse_frame(b":x\r\n").is_err());
        assert!(parse_frame(b"$1\r\nab\r\n").is_err());
        assert!(parse_frame(b"$-5\r\n").is_err());
    }
}
