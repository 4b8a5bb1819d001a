//! Splitting an inline command line into arguments with Redis's `sdssplitargs` rules:
//! blanks separate arguments; `"double quotes"` understand `\n \r \t \b \a \\ \"` and `\xHH`;
//! `'single quotes'` understand only `\'`; a closing quote must be followed by a blank or the
//! end of the line, else the request has unbalanced quotes.

use bytes::Bytes;

use super::ProtocolError;

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Splits one line (without its line ending) into arguments.
pub fn split_inline_args(line: &[u8]) -> Result<Vec<Bytes>, ProtocolError> {
    // Redis works on a C string: a NUL byte ends the line.
    let line = match memchr::memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && is_blank(line[i]) {
            i += 1;
        }
        if i == line.len() {
            return Ok(args);
        }
        let (arg, next) = split_one(line, i)?;
        args.push(Bytes::from(arg));
        i = next;
    }
}

/// Reads one argument starting at `i`; returns it and the index after it.
fn split_one(line: &[u8], mut i: usize) -> Result<(Vec<u8>, usize), ProtocolError> {
    let at = |k: usize| line.get(k).copied();
    let mut current = Vec::new();
    match line[i] {
        b'"' => {
            i += 1;
            loop {
                match (at(i), at(i + 1)) {
                    (None, _) => return Err(ProtocolError::UnbalancedQuotes),
                    (Some(b'\\'), Some(b'x'))
                        if at(i + 2).and_then(hex_value).is_some()
                            && at(i + 3).and_then(hex_value).is_some() =>
                    {
                        let hi = at(i + 2).and_then(hex_value).unwrap_or(0);
                        let lo = at(i + 3).and_then(hex_value).unwrap_or(0);
                        current.push(hi * 16 + lo);
                        i += 4;
                    }
                    (Some(b'\\'), Some(escaped)) => {
                        current.push(match escaped {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        i += 2;
                    }
                    (Some(b'"'), after) => return closing_quote(current, i, after),
                    (Some(b), _) => {
                        current.push(b);
                        i += 1;
                    }
                }
            }
        }
        b'\'' => {
            i += 1;
            loop {
                match (at(i), at(i + 1)) {
                    (None, _) => return Err(ProtocolError::UnbalancedQuotes),
                    (Some(b'\\'), Some(b'\'')) => {
                        current.push(b'\'');
                        i += 2;
                    }
                    (Some(b'\''), after) => return closing_quote(current, i, after),
                    (Some(b), _) => {
                        current.push(b);
                        i += 1;
                    }
                }
            }
        }
        _ => {
            // An unquoted argument runs to the next blank; a quote inside it opens a quoted
            // part in Redis, so hand over to the quoted reader from there.
            while let Some(b) = at(i) {
                match b {
                    b' ' | b'\n' | b'\r' | b'\t' => break,
                    b'"' | b'\'' => {
                        let (rest, next) = split_one(line, i)?;
                        current.extend_from_slice(&rest);
                        return Ok((current, next));
                    }
                    _ => {
                        current.push(b);
                        i += 1;
                    }
                }
            }
            Ok((current, i))
        }
    }
}

fn closing_quote(
    arg: Vec<u8>,
    quote_at: usize,
    after: Option<u8>,
) -> Result<(Vec<u8>, usize), ProtocolError> {
    match after {
        Some(b) if !is_blank(b) => Err(ProtocolError::UnbalancedQuotes),
        _ => Ok((arg, quote_at + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<Vec<String>, ProtocolError> {
        split_inline_args(line.as_bytes()).map(|args| {
            args.iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(split("set a b").unwrap(), ["set", "a", "b"]);
        assert_eq!(split("  set   a  ").unwrap(), ["set", "a"]);
        assert_eq!(split(r#"set "a b" 'c d'"#).unwrap(), ["set", "a b", "c d"]);
        assert_eq!(
            split(r#"set "\x41\n" 'it\'s'"#).unwrap(),
            ["set", "A\n", "it's"]
        );
        assert_eq!(split(r#"echo "\q""#).unwrap(), ["echo", "q"]);
        assert_eq!(split("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn rejects_unbalanced_quotes() {
        assert_eq!(split(r#"set "a"#), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(split(r#"set "a"b"#), Err(ProtocolError::UnbalancedQuotes));
        assert_eq!(split("set 'a"), Err(ProtocolError::UnbalancedQuotes));
    }
}
