//! Header lines shared by both decoders: finding the CRLF that ends a line and parsing the
//! integers in `*<n>`, `$<n>` and `:<n>` exactly as Redis's `string2ll` does.

/// Position of the `\r` of the first `\r\n` at or after `from`, if the line is complete.
/// Like Redis, only the `\r` is searched; the `\n` must follow it.
pub(crate) fn find_line_end(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    // Header lines are a few bytes long: a plain loop beats memchr's set-up for them.
    let rel = match rest.iter().take(16).position(|&b| b == b'\r') {
        Some(rel) => rel,
        None if rest.len() <= 16 => return None,
        None => 16 + memchr::memchr(b'\r', &rest[16..])?,
    };
    let cr = from + rel;
    (cr + 1 < buf.len()).then_some(cr)
}

/// Strict signed decimal: optional `-`, no `+`, no leading zeros, no spaces, fits `i64`.
pub fn parse_i64(digits: &[u8]) -> Option<i64> {
    let (negative, body) = match digits.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, digits),
    };
    match body {
        [] => return None,
        [b'0'] => return (!negative).then_some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut value: i64 = 0;
    for &b in body {
        if !b.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(b - b'0');
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(digit)?
        } else {
            value.checked_add(digit)?
        };
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-1"), Some(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
        ] {
            assert_eq!(parse_i64(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn line_end_needs_the_newline_byte() {
        assert_eq!(find_line_end(b"*1\r\n", 0), Some(2));
        assert_eq!(find_line_end(b"*1\r", 0), None);
        assert_eq!(find_line_end(b"*1", 0), None);
        assert_eq!(find_line_end(b"ab\r\ncd\r\n", 4), Some(6));
    }
}
