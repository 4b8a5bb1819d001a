//! The arguments Redis 7.0 replaces with `(redacted)` wherever a command is shown (MONITOR,
//! SLOWLOG): every argument of AUTH; the credentials of HELLO's and MIGRATE's AUTH /
//! AUTH2 options, found by walking the options in order as the commands parse them; the
//! values of `requirepass` and `masterauth` in CONFIG SET.

use bytes::Bytes;

use crate::cmd::args::is;

/// Positions of the arguments to hide.
pub fn secrets(args: &[Bytes]) -> Vec<usize> {
    let Some(name) = args.first() else {
        return Vec::new();
    };
    if is(name, "auth") {
        (1..args.len()).collect()
    } else if is(name, "hello") {
        hello(args)
    } else if is(name, "migrate") {
        migrate(args)
    } else if is(name, "config") && args.len() > 1 && is(&args[1], "set") {
        (2..args.len())
            .step_by(2)
            .filter(|&i| is(&args[i], "requirepass") || is(&args[i], "masterauth"))
            .map(|i| i + 1)
            .filter(|&i| i < args.len())
            .collect()
    } else {
        Vec::new()
    }
}

/// `HELLO protover [AUTH user pass] [SETNAME name]`, options in any order.
fn hello(args: &[Bytes]) -> Vec<usize> {
    let mut hidden = Vec::new();
    let mut j = 2;
    while j < args.len() {
        let more = args.len() - j - 1;
        if is(&args[j], "auth") && more >= 2 {
            hidden.extend([j + 1, j + 2]);
            j += 3;
        } else if is(&args[j], "setname") && more >= 1 {
            j += 2;
        } else {
            break;
        }
    }
    hidden
}

/// `MIGRATE host port key db timeout [COPY] [REPLACE] [AUTH pass | AUTH2 user pass]
/// [KEYS key …]`: options from the sixth argument until KEYS.
fn migrate(args: &[Bytes]) -> Vec<usize> {
    let mut hidden = Vec::new();
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - j - 1;
        if is(&args[j], "copy") || is(&args[j], "replace") {
            j += 1;
        } else if is(&args[j], "auth") && more >= 1 {
            hidden.push(j + 1);
            j += 2;
        } else if is(&args[j], "auth2") && more >= 2 {
            hidden.extend([j + 1, j + 2]);
            j += 3;
        } else {
            break;
        }
    }
    hidden
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(parts: &[&str]) -> Vec<usize> {
        let args: Vec<Bytes> = parts.iter().map(|p| Bytes::from(p.to_string())).collect();
        secrets(&args)
    }

    #[test]
    fn like_redis() {
        assert_eq!(hidden(&["AUTH", "u", "p"]), [1, 2]);
        assert_eq!(
            hidden(&["HELLO", "3", "SETNAME", "auth", "AUTH", "u", "p"]),
            [5, 6]
        );
        assert_eq!(hidden(&["HELLO", "3", "AUTH", "u"]), Vec::<usize>::new());
        assert_eq!(
            hidden(&["MIGRATE", "h", "1", "", "0", "10", "COPY", "AUTH", "p", "KEYS", "auth"]),
            [8]
        );
        assert_eq!(
            hidden(&["MIGRATE", "h", "1", "k", "0", "10", "AUTH2", "u", "p"]),
            [7, 8]
        );
        assert_eq!(
            hidden(&["MIGRATE", "h", "1", "", "0", "10", "KEYS", "AUTH", "x"]),
            Vec::<usize>::new()
        );
        assert_eq!(
            hidden(&["config", "set", "masterauth", "x", "timeout", "1"]),
            [3]
        );
        assert_eq!(hidden(&["GET", "auth"]), Vec::<usize>::new());
    }
}
