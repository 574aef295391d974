//! Encoding commands in RESP, for every link: data connections, sentinels and ROLE probes.
//! Replies are read by [`crate::resp::read`], into [`Value`](crate::resp::value::Value)s.

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
}
