//! Key extraction from key specs, as Redis 7.0's `getKeysFromCommandWithSpecs` does it, so
//! that our answer matches `COMMAND GETKEYS` for every request.
//!
//! The specs are walked in order; a spec whose begin-search keyword is absent is skipped. A
//! spec that cannot be applied (unknown type, bad numkeys, out of bounds) or is INCOMPLETE
//! makes Redis fall back to the command's own key finder — emulated in `native_keys` — and
//! so does any spec with VARIABLE_FLAGS (SET, BITFIELD).

use std::iter::StepBy;
use std::ops::RangeInclusive;

use bytes::Bytes;

use super::flags::KeyFlags;
use super::native_keys::native_keys;
use super::spec::{BeginSearch, CommandSpec, FindKeys};

/// One key of a request: its argument index and how the command touches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: KeyFlags,
}

/// The keys of `args` (a whole request, name first) with their flags, as Redis's
/// `COMMAND GETKEYSANDFLAGS` reports them. Shard channels (NOT_KEY specs) are not keys.
pub fn key_refs(spec: &CommandSpec, args: &[Bytes]) -> Vec<KeyRef> {
    let variable_flags = spec
        .key_specs
        .iter()
        .any(|k| k.flags.contains(KeyFlags::VARIABLE_FLAGS));
    if spec.has_keys() && !variable_flags {
        if let Some(keys) = from_specs(spec, args, false, false) {
            return keys;
        }
    }
    native_keys(spec, args)
}

/// The argument indices of the keys of `args`, as `COMMAND GETKEYS` reports them.
pub fn key_indices(spec: &CommandSpec, args: &[Bytes]) -> Vec<usize> {
    key_refs(spec, args).into_iter().map(|k| k.pos).collect()
}

/// The argument indices that choose a request's slot: its keys, and for sharded pub/sub
/// (SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE) its shard channels.
pub fn routing_indices(spec: &CommandSpec, args: &[Bytes]) -> Vec<usize> {
    routing_positions(spec, args).collect()
}

/// [`routing_indices`] as an iterator, without allocating for the common shape: one key
/// spec, a fixed index then a range (GET, SET, MSET, HSET, …).
///
/// Where Redis 7.0 finds no keys because a later spec does not apply (`PFMERGE dest` with
/// no source), the keys of the specs that do apply still choose the slot: Redis would run
/// the command on whatever node got it, which may write a key to a node that does not
/// own its slot.
pub(super) fn routing_positions(spec: &CommandSpec, args: &[Bytes]) -> Positions {
    if let Some(range) = single_range(spec, args) {
        return Positions::Range(range);
    }
    let positions = |refs: Option<Vec<KeyRef>>| -> Vec<usize> {
        refs.unwrap_or_default()
            .into_iter()
            .map(|k| k.pos)
            .collect()
    };
    let listed = if spec.has_keys() {
        match key_indices(spec, args) {
            keys if keys.is_empty() => positions(from_specs(spec, args, false, true)),
            keys => keys,
        }
    } else {
        positions(from_specs(spec, args, true, false))
    };
    Positions::Listed(listed.into_iter())
}

/// Key positions: a stepped range or a list.
#[derive(Debug, Clone)]
pub(super) enum Positions {
    Range(StepBy<RangeInclusive<usize>>),
    Listed(std::vec::IntoIter<usize>),
}

impl Iterator for Positions {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Positions::Range(range) => range.next(),
            Positions::Listed(list) => list.next(),
        }
    }
}

/// The keys of a command with a single key spec, an index then a range, when it applies to
/// `args`; `None` sends the request down the general path (which also finds SET's and
/// BITFIELD's keys, VARIABLE_FLAGS, by their native finder: at the same position).
fn single_range(spec: &CommandSpec, args: &[Bytes]) -> Option<StepBy<RangeInclusive<usize>>> {
    let [key_spec] = spec.key_specs.as_slice() else {
        return None;
    };
    if key_spec.flags.contains(KeyFlags::NOT_KEY) || key_spec.flags.contains(KeyFlags::INCOMPLETE) {
        return None;
    }
    let (BeginSearch::Index { index }, FindKeys::Range { .. }) =
        (&key_spec.begin_search, &key_spec.find_keys)
    else {
        return None;
    };
    let (first, last, step) = find(&key_spec.find_keys, i64::from(*index), args)?;
    let argc = args.len() as i64;
    if last >= argc || last < first || first >= argc || step <= 0 || first < 0 {
        return None;
    }
    Some((first as usize..=last as usize).step_by(step as usize))
}

/// All specs applied in order; `None` when one is invalid (unless `partial`: then it is
/// skipped) or incomplete.
fn from_specs(
    spec: &CommandSpec,
    args: &[Bytes],
    include_not_keys: bool,
    partial: bool,
) -> Option<Vec<KeyRef>> {
    let mut keys = Vec::new();
    for key_spec in &spec.key_specs {
        if key_spec.flags.contains(KeyFlags::NOT_KEY) && !include_not_keys {
            continue;
        }
        let Some(first) = begin(&key_spec.begin_search, args)? else {
            continue;
        };
        let found = find(&key_spec.find_keys, first, args);
        let argc = args.len() as i64;
        let usable = found.filter(|&(first, last, step)| {
            !(last >= argc || last < first || first >= argc || step <= 0)
        });
        let Some((first, last, step)) = usable else {
            if partial {
                continue;
            }
            return None;
        };
        let positions = (first..=last).step_by(step as usize);
        keys.extend(positions.map(|pos| KeyRef {
            pos: pos as usize,
            flags: key_spec.flags,
        }));
        if key_spec.flags.contains(KeyFlags::INCOMPLETE) {
            return None;
        }
    }
    Some(keys)
}

/// The index of the spec's first key; `Some(None)` when its keyword is absent (the spec
/// is skipped), `None` when the spec is unusable.
fn begin(search: &BeginSearch, args: &[Bytes]) -> Option<Option<i64>> {
    match search {
        BeginSearch::Index { index } => Some(Some(i64::from(*index))),
        BeginSearch::Keyword { keyword, startfrom } => {
            Some(find_keyword(keyword, *startfrom, args))
        }
        BeginSearch::Unknown => None,
    }
}

/// Redis's keyword scan: forward from `startfrom` (exclusive of the last argument) or
/// backward from `argc + startfrom` (exclusive of index 1); the key starts just after it.
fn find_keyword(keyword: &str, startfrom: i32, args: &[Bytes]) -> Option<i64> {
    let argc = args.len() as i64;
    let startfrom = i64::from(startfrom);
    let (start, end) = if startfrom > 0 {
        (startfrom, argc - 1)
    } else {
        (argc + startfrom, 1)
    };
    let step = if start <= end { 1 } else { -1 };
    let mut i = start;
    while i != end && i >= 1 && i < argc {
        if args[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
            return Some(i + 1);
        }
        i += step;
    }
    None
}

/// `(first, last, step)` of a spec's keys; `None` when the spec is unusable.
fn find(find: &FindKeys, first: i64, args: &[Bytes]) -> Option<(i64, i64, i64)> {
    let argc = args.len() as i64;
    match *find {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => {
            let (lastkey, limit) = (i64::from(lastkey), i64::from(limit));
            let last = match (lastkey >= 0, limit) {
                (true, _) => first + lastkey,
                (false, 0) => argc + lastkey,
                (false, limit) => first + ((argc - first) / limit + lastkey),
            };
            Some((first, last, i64::from(keystep)))
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            let count_at = usize::try_from(first + i64::from(keynumidx)).ok()?;
            let numkeys = parse_count(args.get(count_at)?)?;
            let first = first + i64::from(firstkey);
            Some((first, first + numkeys - 1, i64::from(keystep)))
        }
        FindKeys::Unknown => None,
    }
}

/// A non-negative integer as Redis's `string2ll` reads it (no sign, no leading zeros),
/// truncated to 32 bits as Redis's `(int)` cast does.
fn parse_count(arg: &[u8]) -> Option<i64> {
    let digits_ok = !arg.is_empty() && arg.len() <= 18 && arg.iter().all(u8::is_ascii_digit);
    if !digits_ok || (arg.len() > 1 && arg[0] == b'0') {
        return None;
    }
    let n = arg.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'));
    Some(i64::from(n as i32))
}

#[cfg(test)]
mod tests {
    use super::super::table::table;
    use super::*;

    fn keys(request: &str) -> Vec<String> {
        let args: Vec<Bytes> = request
            .split(' ')
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let Some(spec) = table().resolve(&args) else {
            return vec!["?".into()];
        };
        key_indices(spec, &args)
            .iter()
            .map(|&i| String::from_utf8_lossy(&args[i]).into_owned())
            .collect()
    }

    #[test]
    fn fixed_and_movable_keys() {
        assert_eq!(keys("get k"), ["k"]);
        assert_eq!(keys("mset a 1 b 2"), ["a", "b"]);
        assert_eq!(keys("eval s 2 a b c"), ["a", "b"]);
        assert_eq!(keys("eval s 0"), Vec::<String>::new());
        assert_eq!(keys("zunionstore d 2 a b weights 1 2"), ["d", "a", "b"]);
        assert_eq!(keys("lmpop 2 a b left"), ["a", "b"]);
        assert_eq!(keys("xread count 2 streams a b 0 0"), ["a", "b"]);
        assert_eq!(keys("migrate h 1 k 0 10"), ["k"]);
        assert_eq!(keys("migrate h 1  0 10 copy keys a b"), ["a", "b"]);
        assert_eq!(keys("sort k by w store d"), ["k", "d"]);
        assert_eq!(keys("georadius k 0 0 1 km store d"), ["k", "d"]);
        assert_eq!(keys("object encoding k"), ["k"]);
    }

    #[test]
    fn bad_numkeys_yield_no_keys() {
        assert_eq!(keys("eval s 5 a"), Vec::<String>::new());
        assert_eq!(keys("eval s -1 a"), Vec::<String>::new());
        assert_eq!(keys("eval s 01 a"), Vec::<String>::new());
        assert_eq!(keys("eval s x"), Vec::<String>::new());
        assert_eq!(keys("zunionstore d 99999999999 a"), Vec::<String>::new());
    }

    #[test]
    fn never_panics_on_short_requests() {
        for spec in table().iter_all() {
            for n in 0..4 {
                let args = vec![Bytes::from_static(b"x"); n];
                let _ = key_refs(spec, &args);
                let _ = routing_indices(spec, &args);
            }
        }
    }

    #[test]
    fn range_shortcut_finds_what_the_general_path_finds() {
        let words = ["k", "get", "2", "x", "keys", "store", "1"];
        for spec in table().iter_all() {
            for n in 0..9 {
                let args: Vec<Bytes> = (0..n)
                    .map(|i| Bytes::from_static(words[i % words.len()].as_bytes()))
                    .collect();
                if let Some(range) = single_range(spec, &args) {
                    let general = key_indices(spec, &args);
                    assert_eq!(range.collect::<Vec<_>>(), general, "{}", spec.name);
                }
            }
        }
    }

    #[test]
    fn shard_channels_route_but_are_not_keys() {
        let spec = table().get(b"spublish").expect("spublish");
        let args = [
            Bytes::from_static(b"spublish"),
            Bytes::from_static(b"ch"),
            Bytes::from_static(b"m"),
        ];
        assert!(key_indices(spec, &args).is_empty());
        assert_eq!(routing_indices(spec, &args), [1]);
    }

    #[test]
    fn keys_of_the_specs_that_apply_still_route() {
        let spec = table().get(b"pfmerge").expect("pfmerge");
        let args = [Bytes::from_static(b"pfmerge"), Bytes::from_static(b"dest")];
        // COMMAND GETKEYS finds none (the source spec does not apply), as in Redis 7.0...
        assert!(key_indices(spec, &args).is_empty());
        // ...but the destination still picks the slot.
        assert_eq!(routing_indices(spec, &args), [1]);
    }
}
