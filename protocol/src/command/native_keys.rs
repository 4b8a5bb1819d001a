//! The key finders of Redis 7.0's own commands (`getkeys_proc`), used where Redis does not
//! trust the key specs: SORT/SORT_RO (unknown specs), MIGRATE … KEYS (incomplete spec),
//! GEORADIUS[BYMEMBER] … STORE without a key, and SET/BITFIELD (flags depend on the
//! arguments). Every other command's finder agrees with its specs, and where the specs
//! fail it finds no key either, so it yields none here.

use bytes::Bytes;

use super::flags::KeyFlags;
use super::keys::KeyRef;
use super::spec::CommandSpec;

/// The keys Redis's command-specific finder reports for `args`.
pub(super) fn native_keys(spec: &CommandSpec, args: &[Bytes]) -> Vec<KeyRef> {
    match spec.name.as_str() {
        "sort" => sort_keys(args),
        "sort_ro" => at(1, KeyFlags::RO | KeyFlags::ACCESS, args),
        "migrate" => migrate_keys(args),
        "georadius" | "georadiusbymember" => georadius_keys(args),
        "set" => at(1, set_flags(args), args),
        "bitfield" => at(1, bitfield_flags(args), args),
        _ => Vec::new(),
    }
}

fn at(pos: usize, flags: KeyFlags, args: &[Bytes]) -> Vec<KeyRef> {
    if pos < args.len() {
        vec![KeyRef { pos, flags }]
    } else {
        Vec::new()
    }
}

fn is(arg: &[u8], word: &str) -> bool {
    arg.eq_ignore_ascii_case(word.as_bytes())
}

/// `sortGetKeys`: the sorted key, and the last `STORE dest` (LIMIT skips 2, GET/BY skip 1).
fn sort_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let mut keys = at(1, KeyFlags::RO | KeyFlags::ACCESS, args);
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "limit") {
            i += 2;
        } else if is(arg, "store") && i + 1 < args.len() {
            store = Some(i + 1);
        } else if is(arg, "get") || is(arg, "by") {
            i += 1;
        }
        i += 1;
    }
    if let Some(pos) = store {
        keys.push(KeyRef {
            pos,
            flags: KeyFlags::OW | KeyFlags::UPDATE,
        });
    }
    keys
}

/// `migrateGetKeys`: the key at 3, or everything after KEYS when the key is empty.
fn migrate_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let flags = KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::DELETE;
    let mut i = 6;
    while i < args.len() {
        let arg = &args[i];
        if is(arg, "keys") {
            if args.get(3).is_some_and(|k| !k.is_empty()) {
                return Vec::new();
            }
            return (i + 1..args.len())
                .map(|pos| KeyRef { pos, flags })
                .collect();
        }
        if is(arg, "auth") {
            i += 1;
        } else if is(arg, "auth2") {
            i += 2;
        }
        i += 1;
    }
    at(3, flags, args)
}

/// `georadiusGetKeys`: the key, and the last STORE/STOREDIST destination.
fn georadius_keys(args: &[Bytes]) -> Vec<KeyRef> {
    let mut keys = at(1, KeyFlags::RO | KeyFlags::ACCESS, args);
    let mut store = None;
    let mut i = 5;
    while i < args.len() {
        let arg = &args[i];
        if (is(arg, "store") || is(arg, "storedist")) && i + 1 < args.len() {
            store = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    if let Some(pos) = store {
        keys.push(KeyRef {
            pos,
            flags: KeyFlags::OW | KeyFlags::UPDATE,
        });
    }
    keys
}

/// `setGetKeys`: SET … GET reads the old value, plain SET overwrites it.
fn set_flags(args: &[Bytes]) -> KeyFlags {
    if args.iter().skip(3).any(|a| is(a, "get")) {
        KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
    } else {
        KeyFlags::OW | KeyFlags::UPDATE
    }
}

/// `bitfieldGetKeys`: read-only when every operation is a well-formed GET or OVERFLOW.
fn bitfield_flags(args: &[Bytes]) -> KeyFlags {
    let mut i = 2;
    while i < args.len() {
        let remaining = args.len() - i - 1;
        let arg = &args[i];
        if is(arg, "get") && remaining >= 2 {
            i += 2;
        } else if is(arg, "overflow") && remaining >= 1 {
            i += 1;
        } else {
            return KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE;
        }
        i += 1;
    }
    KeyFlags::RO | KeyFlags::ACCESS
}
