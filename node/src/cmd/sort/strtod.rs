//! C's string-to-number reading as SORT relies on it: `strtod` (decimal and hex floats,
//! `inf`, leading blanks, up to the first NUL byte) and the C-string view of a value.

/// The bytes a C string function sees: up to the first NUL.
pub(super) fn c_str(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .position(|&b| b == 0)
        .map_or(bytes, |nul| &bytes[..nul])
}

/// C's `strtod` as Redis checks it in SORT: the whole C string (up to a NUL) must be
/// consumed, without `ERANGE`, and not NaN. An empty string reads as 0.
pub(super) fn c_strtod(bytes: &[u8]) -> Option<f64> {
    let s = c_str(bytes);
    let mut i = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(s.len());
    let negative = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'+' | b'-')) {
        i += 1;
    }
    let rest = &s[i..];
    let starts =
        |word: &[u8]| rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word);
    let sign = if negative { -1.0 } else { 1.0 };
    if starts(b"infinity") || starts(b"inf") {
        let len = if starts(b"infinity") { 8 } else { 3 };
        return (i + len == s.len()).then_some(sign * f64::INFINITY);
    }
    if starts(b"nan") {
        return None;
    }
    let hex_digit = |b: Option<&u8>| b.is_some_and(u8::is_ascii_hexdigit);
    let (value, nonzero) = if (starts(b"0x"))
        && (hex_digit(rest.get(2)) || (rest.get(2) == Some(&b'.') && hex_digit(rest.get(3))))
    {
        let (value, nonzero, used) = hex_float(&rest[2..])?;
        if 2 + used != rest.len() {
            return None;
        }
        (value, nonzero)
    } else {
        let digits = |from: usize| {
            rest[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let int_len = digits(0);
        let mut end = int_len;
        let mut mantissa_digits = int_len;
        if rest.get(end) == Some(&b'.') {
            let frac = digits(end + 1);
            mantissa_digits += frac;
            end += 1 + frac;
        }
        if mantissa_digits == 0 {
            // No conversion: `eptr` is the start of the string.
            return s.is_empty().then_some(0.0);
        }
        if matches!(rest.get(end), Some(b'e' | b'E')) {
            let sign_len = usize::from(matches!(rest.get(end + 1), Some(b'+' | b'-')));
            let exp = digits(end + 1 + sign_len);
            if exp > 0 {
                end += 1 + sign_len + exp;
            }
        }
        if end != rest.len() {
            return None;
        }
        let mantissa_end = rest[..end]
            .iter()
            .position(|b| matches!(b, b'e' | b'E'))
            .unwrap_or(end);
        let nonzero = rest[..mantissa_end]
            .iter()
            .any(|b| (b'1'..=b'9').contains(b));
        let text = std::str::from_utf8(&rest[..end]).ok()?;
        let text = if text.starts_with('.') {
            format!("0{text}")
        } else {
            text.to_string()
        };
        (text.parse::<f64>().ok()?, nonzero)
    };
    // ERANGE: overflow, or an underflow to zero or to a subnormal.
    if value.is_infinite() || (nonzero && value.abs() < f64::MIN_POSITIVE) {
        return None;
    }
    Some(sign * value)
}

/// A hex float's digits after `0x`: (value, any nonzero digit, bytes used).
fn hex_float(s: &[u8]) -> Option<(f64, bool, usize)> {
    let (mut value, mut nonzero, mut i, mut scale) = (0.0f64, false, 0, 0i32);
    let mut seen_point = false;
    while let Some(&b) = s.get(i) {
        if b == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (b as char).to_digit(16) {
            value = value * 16.0 + f64::from(d);
            nonzero |= d != 0;
            if seen_point {
                scale -= 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if matches!(s.get(i), Some(b'p' | b'P')) {
        let sign_len = usize::from(matches!(s.get(i + 1), Some(b'+' | b'-')));
        let exp_digits = s[i + 1 + sign_len..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if exp_digits > 0 {
            let text = std::str::from_utf8(&s[i + 1..i + 1 + sign_len + exp_digits]).ok()?;
            let exp: i32 = text.parse().unwrap_or(if text.starts_with('-') {
                i32::MIN / 2
            } else {
                i32::MAX / 2
            });
            scale = scale.saturating_add(exp);
            i += 1 + sign_len + exp_digits;
        }
    }
    Some((value * 2f64.powi(scale), nonzero, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_like_c() {
        assert_eq!(c_strtod(b"1.5"), Some(1.5));
        assert_eq!(c_strtod(b" 2"), Some(2.0));
        assert_eq!(c_strtod(b""), Some(0.0));
        assert_eq!(c_strtod(b" "), None);
        assert_eq!(c_strtod(b"0x10"), Some(16.0));
        assert_eq!(c_strtod(b"0x"), None);
        assert_eq!(c_strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(c_strtod(b"nan"), None);
        assert_eq!(c_strtod(b"1e400"), None);
        assert_eq!(c_strtod(b"1e-400"), None);
        assert_eq!(c_strtod(b"1\x00x"), Some(1.0));
        assert_eq!(c_strtod(b"1e"), None);
        assert_eq!(c_strtod(b".5"), Some(0.5));
        assert_eq!(c_strtod(b"5."), Some(5.0));
        assert_eq!(c_strtod(b"abc"), None);
    }
}
