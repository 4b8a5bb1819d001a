//! Stream id arguments as Redis 7.0 parses them (`streamGenericParseIDOrReply`): `ms-seq`
//! with C's `strtoull` leniency, `-` and `+`, a missing sequence, `ms-*` where XADD
//! allows it, and `(` for exclusive range ends.

use slotgate_protocol::Frame;

use crate::db::stream::StreamId;

/// The error for any malformed id.
pub fn invalid() -> Frame {
    Frame::error("ERR Invalid stream ID specified as stream command argument")
}

/// C's `strtoull` in base 10 over the whole text (leading blanks, a sign, at least one
/// digit, no overflow; `-` negates modulo 2^64), after Redis's `string2ll` refusal of
/// negatives.
fn strtoull(text: &[u8]) -> Option<u64> {
    if let Some(v) = crate::db::parse_i64(text) {
        return u64::try_from(v).ok();
    }
    let start = text
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let rest = &text[start..];
    let (negative, digits) = match rest.first() {
        Some(b'-') => (true, &rest[1..]),
        Some(b'+') => (false, &rest[1..]),
        _ => (false, rest),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// A parsed id: the id, and whether its sequence was given (false for `ms-*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parsed {
    pub id: StreamId,
    pub seq_given: bool,
}

/// The general parser: `missing_seq` fills an absent sequence; `strict` refuses `-`/`+`;
/// `allow_auto_seq` accepts `ms-*`.
fn parse(
    arg: &[u8],
    missing_seq: u64,
    strict: bool,
    allow_auto_seq: bool,
) -> Result<Parsed, Frame> {
    if arg.len() > 127 {
        return Err(invalid());
    }
    // Redis copies the argument into a C string: a NUL ends it.
    let text = arg.split(|c| *c == 0).next().unwrap_or_default();
    let given = |id| Parsed {
        id,
        seq_given: true,
    };
    match text {
        b"-" | b"+" if strict => return Err(invalid()),
        b"-" => return Ok(given(StreamId::MIN)),
        b"+" => return Ok(given(StreamId::MAX)),
        _ => {}
    }
    let (ms, seq) = match text.iter().position(|c| *c == b'-') {
        Some(dash) => (&text[..dash], Some(&text[dash + 1..])),
        None => (text, None),
    };
    let ms = strtoull(ms).ok_or_else(invalid)?;
    match seq {
        Some(b"*") if allow_auto_seq => Ok(Parsed {
            id: StreamId::new(ms, 0),
            seq_given: false,
        }),
        Some(seq) => Ok(given(StreamId::new(ms, strtoull(seq).ok_or_else(invalid)?))),
        None => Ok(given(StreamId::new(ms, missing_seq))),
    }
}

/// An exact id (no `-`, `+` or `ms-*`), a missing sequence meaning 0.
pub fn strict(arg: &[u8]) -> Result<StreamId, Frame> {
    parse(arg, 0, true, false).map(|p| p.id)
}

/// XADD's id: strict, but `ms-*` allowed.
pub fn for_xadd(arg: &[u8]) -> Result<Parsed, Frame> {
    parse(arg, 0, true, true)
}

/// A lenient id (`-`, `+` allowed), a missing sequence meaning `missing_seq`.
pub fn lenient(arg: &[u8], missing_seq: u64) -> Result<StreamId, Frame> {
    parse(arg, missing_seq, false, false).map(|p| p.id)
}

/// A range end (`streamParseIntervalIDOrReply`): `(id` is exclusive (and strict).
pub fn interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), Frame> {
    match arg {
        [b'(', rest @ ..] if !rest.is_empty() => {
            Ok((parse(rest, missing_seq, true, false)?.id, true))
        }
        _ => Ok((lenient(arg, missing_seq)?, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_redis() {
        assert_eq!(strict(b"5"), Ok(StreamId::new(5, 0)));
        assert_eq!(strict(b"5-3"), Ok(StreamId::new(5, 3)));
        assert_eq!(strict(b" +7-00"), Ok(StreamId::new(7, 0)));
        assert_eq!(
            strict(b"18446744073709551615-18446744073709551615"),
            Ok(StreamId::MAX)
        );
        assert_eq!(strict(b"-0"), Err(invalid()));
        for bad in [
            &b"-"[..],
            b"+",
            b"-1",
            b"1-2-3",
            b"18446744073709551616",
            b"",
            b"a",
            b"1-*",
            b"1-",
        ] {
            assert_eq!(strict(bad), Err(invalid()), "{bad:?}");
        }
        assert_eq!(lenient(b"+", 0), Ok(StreamId::MAX));
        assert_eq!(lenient(b"3", u64::MAX), Ok(StreamId::new(3, u64::MAX)));
        assert_eq!(
            for_xadd(b"4-*"),
            Ok(Parsed {
                id: StreamId::new(4, 0),
                seq_given: false
            })
        );
        assert_eq!(interval(b"(5", 0), Ok((StreamId::new(5, 0), true)));
        assert_eq!(interval(b"(", 0), Err(invalid()));
        assert_eq!(interval(b"(-", 0), Err(invalid()));
        assert_eq!(strict(&[b'1'; 128]), Err(invalid()));
    }
}
