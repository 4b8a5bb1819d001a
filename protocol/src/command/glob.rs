//! Redis's glob matching (`stringmatchlen`, case-insensitive) for `COMMAND LIST FILTERBY
//! PATTERN`: `*`, `?`, `[abc]`, `[^a-z]`, and `\` escapes.

/// Whether `text` matches the glob `pattern`, ignoring ASCII case.
pub(super) fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            let rest = trim_stars(rest);
            rest.is_empty() || (0..text.len()).any(|i| glob_match(rest, &text[i..]))
        }
        Some((b'?', rest)) => text.split_first().is_some_and(|(_, t)| glob_match(rest, t)),
        Some((b'[', rest)) => {
            let Some((&c, t)) = text.split_first() else {
                return false;
            };
            let (matched, after) = class(rest, c);
            matched && glob_match(after, t)
        }
        Some((b'\\', rest)) if !rest.is_empty() => literal(rest, text),
        Some(_) => literal(pattern, text),
    }
}

fn trim_stars(mut pattern: &[u8]) -> &[u8] {
    while let Some((b'*', rest)) = pattern.split_first() {
        pattern = rest;
    }
    pattern
}

fn literal(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.split_first(), text.split_first()) {
        (Some((p, prest)), Some((t, trest))) => {
            p.eq_ignore_ascii_case(t) && glob_match(prest, trest)
        }
        _ => false,
    }
}

/// Matches `c` against a `[...]` class whose body starts `pattern`; returns the verdict
/// and the pattern after the closing `]` (or the end, for an unclosed class).
fn class(pattern: &[u8], c: u8) -> (bool, &[u8]) {
    let c = c.to_ascii_lowercase();
    let (negate, mut p) = match pattern.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, pattern),
    };
    let mut matched = false;
    loop {
        match p {
            [] => return (matched != negate, p),
            [b']', rest @ ..] => return (matched != negate, rest),
            [b'\\', e, rest @ ..] => {
                matched |= e.to_ascii_lowercase() == c;
                p = rest;
            }
            [a, b'-', b, rest @ ..] => {
                let (lo, hi) = (a.min(b).to_ascii_lowercase(), a.max(b).to_ascii_lowercase());
                matched |= (lo..=hi).contains(&c);
                p = rest;
            }
            [e, rest @ ..] => {
                matched |= e.to_ascii_lowercase() == c;
                p = rest;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        let m = |p: &str, t: &str| glob_match(p.as_bytes(), t.as_bytes());
        assert!(m("*", "get"));
        assert!(m("G*", "get"));
        assert!(m("client|*", "client|setname"));
        assert!(m("?et", "set"));
        assert!(m("[gs]et", "set"));
        assert!(!m("[^gs]et", "set"));
        assert!(m("[a-h]et", "get"));
        assert!(m("x\\*", "x*"));
        assert!(!m("x\\*", "xy"));
        assert!(!m("g", "get"));
        assert!(m("*e*t*", "getset"));
    }
}
