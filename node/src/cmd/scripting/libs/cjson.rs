//! `cjson`: lua-cjson 2.1.0 as bundled with Redis 7.0 — `encode` / `decode` with the same
//! output bytes (numbers as `%.14g`, `/` escaped as `\/`, sparse-array rules, `{}` for an
//! empty table), the same error texts, and the configuration functions. The configuration
//! is per module instance (`cjson.new()` makes another) and outlives a script, as in Redis.

use std::ffi::{c_char, c_int, c_void};

use mlua::ffi::{self, lua_State};

use super::{
    c_cast_i32, check_bytes, check_integer, lib_fn, new_lib, push_bytes, type_name, Fail, Outcome,
};

#[derive(Clone, Copy)]
struct Config {
    sparse_convert: c_int,
    sparse_ratio: c_int,
    sparse_safe: c_int,
    encode_max_depth: c_int,
    decode_max_depth: c_int,
    encode_invalid_numbers: c_int,
    decode_invalid_numbers: c_int,
    encode_keep_buffer: c_int,
    encode_number_precision: c_int,
}

const DEFAULTS: Config = Config {
    sparse_convert: 0,
    sparse_ratio: 2,
    sparse_safe: 10,
    encode_max_depth: 1000,
    decode_max_depth: 1000,
    encode_invalid_numbers: 0,
    decode_invalid_numbers: 1,
    encode_keep_buffer: 1,
    encode_number_precision: 14,
};

/// The deepest table `encode` goes into whatever `encode_max_depth` says: lua-cjson stops
/// where Lua's stack ends (some 8000 levels), deeper than a 2 MB worker thread's stack
/// could follow here.
const MAX_ENCODE_NESTING: c_int = 4000;

/// `luaopen_cjson` / `cjson.new()`: a module table with its own configuration.
pub unsafe fn open(state: *mut lua_State) -> Outcome {
    let config = ffi::lua_newuserdata(state, std::mem::size_of::<Config>()).cast::<Config>();
    config.write(DEFAULTS);
    new_lib(
        state,
        &[
            (c"encode", lib_fn!(encode)),
            (c"decode", lib_fn!(decode)),
            (c"encode_sparse_array", lib_fn!(cfg_encode_sparse_array)),
            (c"encode_max_depth", lib_fn!(cfg_encode_max_depth)),
            (c"decode_max_depth", lib_fn!(cfg_decode_max_depth)),
            (
                c"encode_number_precision",
                lib_fn!(cfg_encode_number_precision),
            ),
            (c"encode_keep_buffer", lib_fn!(cfg_encode_keep_buffer)),
            (
                c"encode_invalid_numbers",
                lib_fn!(cfg_encode_invalid_numbers),
            ),
            (
                c"decode_invalid_numbers",
                lib_fn!(cfg_decode_invalid_numbers),
            ),
            (c"new", lib_fn!(open)),
        ],
        true,
    );
    ffi::lua_pushlightuserdata(state, std::ptr::null_mut());
    ffi::lua_setfield(state, -2, c"null".as_ptr());
    ffi::lua_pushstring(state, c"cjson".as_ptr());
    ffi::lua_setfield(state, -2, c"_NAME".as_ptr());
    ffi::lua_pushstring(state, c"2.1.0".as_ptr());
    ffi::lua_setfield(state, -2, c"_VERSION".as_ptr());
    Ok(1)
}

/// The configuration of the module instance the running function belongs to.
unsafe fn config<'a>(state: *mut lua_State) -> Result<&'a mut Config, Fail> {
    ffi::lua_touserdata(state, ffi::lua_upvalueindex(1))
        .cast::<Config>()
        .as_mut()
        .ok_or_else(|| Fail::msg("BUG: Unable to fetch CJSON configuration"))
}

// ---- configuration ----

/// `json_arg_init`: at most `args` arguments, the missing ones made nil.
unsafe fn arg_init<'a>(state: *mut lua_State, args: c_int) -> Result<&'a mut Config, Fail> {
    if ffi::lua_gettop(state) > args {
        return Err(Fail::arg(args + 1, "found too many arguments"));
    }
    ffi::lua_settop(state, args);
    config(state)
}

/// `json_integer_option`: sets `setting` from argument `idx` unless nil; pushes it.
unsafe fn integer_option(
    state: *mut lua_State,
    idx: c_int,
    setting: &mut c_int,
    min: c_int,
    max: c_int,
) -> Outcome {
    if ffi::lua_isnil(state, idx) == 0 {
        let value = check_integer(state, idx)? as c_int;
        if !(min..=max).contains(&value) {
            return Err(Fail::arg(
                1,
                format!("expected integer between {min} and {max}"),
            ));
        }
        *setting = value;
    }
    ffi::lua_pushinteger(state, ffi::lua_Integer::from(*setting));
    Ok(1)
}

/// `json_enum_option` with `bool_true` 1: a boolean or one of `options` (an index);
/// pushes the setting, as a boolean when it is 0 or 1.
unsafe fn enum_option(
    state: *mut lua_State,
    idx: c_int,
    setting: &mut c_int,
    options: &[&str],
) -> Outcome {
    if ffi::lua_isnil(state, idx) == 0 {
        if ffi::lua_isboolean(state, idx) != 0 {
            *setting = ffi::lua_toboolean(state, idx);
        } else {
            let name = check_bytes(state, idx, false)?;
            let found = options.iter().position(|o| o.as_bytes() == name);
            let Some(found) = found else {
                let mut text = b"invalid option '".to_vec();
                text.extend_from_slice(name.split(|&b| b == 0).next().unwrap_or_default());
                text.push(b'\'');
                return Err(Fail::Arg(idx, text));
            };
            *setting = found as c_int;
        }
    }
    match usize::try_from(*setting) {
        Ok(i @ 2..) => push_bytes(state, options.get(i).unwrap_or(&"").as_bytes()),
        _ => ffi::lua_pushboolean(state, *setting),
    }
    Ok(1)
}

const ON_OFF: &[&str] = &["off", "on"];

unsafe fn cfg_encode_sparse_array(state: *mut lua_State) -> Outcome {
    let cfg = arg_init(state, 3)?;
    enum_option(state, 1, &mut cfg.sparse_convert, ON_OFF)?;
    integer_option(state, 2, &mut cfg.sparse_ratio, 0, c_int::MAX)?;
    integer_option(state, 3, &mut cfg.sparse_safe, 0, c_int::MAX)?;
    Ok(3)
}

unsafe fn cfg_encode_max_depth(state: *mut lua_State) -> Outcome {
    let cfg = arg_init(state, 1)?;
    integer_option(state, 1, &mut cfg.encode_max_depth, 1, c_int::MAX)
}

unsafe fn cfg_decode_max_depth(state: *mut lua_State) -> Outcome {
    let cfg = arg_init(state, 1)?;
    integer_option(state, 1, &mut cfg.decode_max_depth, 1, c_int::MAX)
}

unsafe fn cfg_encode_number_precision(state: *mut lua_State) -> Outcome {
    let cfg = arg_init(state, 1)?;
    integer_option(state, 1, &mut cfg.encode_number_precision, 1, 14)
}

unsafe fn cfg_encode_keep_buffer(state: *mut lua_State) -> Outcome {
    let cfg = arg_init(state, 1)?;
    enum_option(state, 1, &mut cfg.encode_keep_buffer, ON_OFF)
}

unsafe fn cfg_encode_invalid_numbers(state: *mut lua_State) -> Outcome {
    let cfg = arg_init(state, 1)?;
    enum_option(
        state,
        1,
        &mut cfg.encode_invalid_numbers,
        &["off", "on", "null"],
    )
}

unsafe fn cfg_decode_invalid_numbers(state: *mut lua_State) -> Outcome {
    let cfg = arg_init(state, 1)?;
    enum_option(state, 1, &mut cfg.decode_invalid_numbers, ON_OFF)
}

// ---- encoding ----

unsafe fn encode(state: *mut lua_State) -> Outcome {
    let cfg = *config(state)?;
    if ffi::lua_gettop(state) != 1 {
        return Err(Fail::arg(1, "expected 1 argument"));
    }
    let mut out = Vec::new();
    append_data(state, &cfg, 0, &mut out)?;
    push_bytes(state, &out);
    Ok(1)
}

/// `Cannot serialise <type of the value at idx>: <reason>`.
unsafe fn exception(state: *mut lua_State, idx: c_int, reason: &str) -> Fail {
    Fail::msg(format!(
        "Cannot serialise {}: {reason}",
        type_name(state, idx)
    ))
}

/// Encodes the value on top of the stack.
unsafe fn append_data(
    state: *mut lua_State,
    cfg: &Config,
    depth: c_int,
    out: &mut Vec<u8>,
) -> Result<(), Fail> {
    match ffi::lua_type(state, -1) {
        ffi::LUA_TSTRING => append_string(state, -1, out),
        ffi::LUA_TNUMBER => append_number(state, cfg, -1, out)?,
        ffi::LUA_TBOOLEAN => match ffi::lua_toboolean(state, -1) != 0 {
            true => out.extend_from_slice(b"true"),
            false => out.extend_from_slice(b"false"),
        },
        ffi::LUA_TTABLE => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth.min(MAX_ENCODE_NESTING)
                || ffi::lua_checkstack(state, 3) == 0
            {
                return Err(Fail::msg(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            match array_length(state, cfg)? {
                Some(len) => append_array(state, cfg, depth, len, out)?,
                None => append_object(state, cfg, depth, out)?,
            }
        }
        ffi::LUA_TNIL => out.extend_from_slice(b"null"),
        ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(state, -1).is_null() => {
            out.extend_from_slice(b"null")
        }
        _ => return Err(exception(state, -1, "type not supported")),
    }
    Ok(())
}

/// `lua_array_length`: the array length of the table on top when every key is a positive
/// integer and it is not excessively sparse (an error unless sparse arrays convert to
/// objects); `None` for an object (including the empty table).
unsafe fn array_length(state: *mut lua_State, cfg: &Config) -> Result<Option<c_int>, Fail> {
    let mut max: c_int = 0;
    let mut items: c_int = 0;
    ffi::lua_pushnil(state);
    while ffi::lua_next(state, -2) != 0 {
        let k = ffi::lua_tonumber(state, -2);
        if ffi::lua_type(state, -2) == ffi::LUA_TNUMBER && k != 0.0 && k.floor() == k && k >= 1.0 {
            if k > f64::from(max) {
                max = c_cast_i32(k);
            }
            items = items.wrapping_add(1);
            ffi::lua_settop(state, -2);
            continue;
        }
        ffi::lua_settop(state, -3);
        return Ok(None);
    }
    if cfg.sparse_ratio > 0 && max > items.wrapping_mul(cfg.sparse_ratio) && max > cfg.sparse_safe {
        if cfg.sparse_convert == 0 {
            return Err(exception(state, -1, "excessively sparse array"));
        }
        return Ok(None);
    }
    Ok((max > 0).then_some(max))
}

unsafe fn append_array(
    state: *mut lua_State,
    cfg: &Config,
    depth: c_int,
    len: c_int,
    out: &mut Vec<u8>,
) -> Result<(), Fail> {
    out.push(b'[');
    for i in 1..=len {
        if i > 1 {
            out.push(b',');
        }
        ffi::lua_rawgeti(state, -1, ffi::lua_Integer::from(i));
        append_data(state, cfg, depth, out)?;
        ffi::lua_settop(state, -2);
    }
    out.push(b']');
    Ok(())
}

unsafe fn append_object(
    state: *mut lua_State,
    cfg: &Config,
    depth: c_int,
    out: &mut Vec<u8>,
) -> Result<(), Fail> {
    out.push(b'{');
    let mut first = true;
    ffi::lua_pushnil(state);
    while ffi::lua_next(state, -2) != 0 {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        match ffi::lua_type(state, -2) {
            ffi::LUA_TNUMBER => {
                out.push(b'"');
                append_number(state, cfg, -2, out)?;
                out.extend_from_slice(b"\":");
            }
            ffi::LUA_TSTRING => {
                append_string(state, -2, out);
                out.push(b':');
            }
            _ => return Err(exception(state, -2, "table key must be a number or string")),
        }
        append_data(state, cfg, depth, out)?;
        ffi::lua_settop(state, -2);
    }
    out.push(b'}');
    Ok(())
}

unsafe fn append_number(
    state: *mut lua_State,
    cfg: &Config,
    idx: c_int,
    out: &mut Vec<u8>,
) -> Result<(), Fail> {
    let num = ffi::lua_tonumber(state, idx);
    match cfg.encode_invalid_numbers {
        0 if !num.is_finite() => return Err(exception(state, idx, "must not be NaN or Inf")),
        1 if num.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        0 | 1 => {}
        _ if !num.is_finite() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    out.extend_from_slice(&format_g(num, cfg.encode_number_precision));
    Ok(())
}

/// C's `%.<precision>g`.
fn format_g(num: f64, precision: c_int) -> Vec<u8> {
    let mut buf = [0u8; 64];
    // SAFETY: the format takes an int and a double; snprintf stays within `buf`.
    let len = unsafe {
        libc::snprintf(
            buf.as_mut_ptr().cast::<c_char>(),
            buf.len(),
            c"%.*g".as_ptr(),
            precision,
            num,
        )
    };
    let len = usize::try_from(len).unwrap_or(0).min(buf.len() - 1);
    buf[..len].to_vec()
}

/// lua-cjson's `char2escape`: the escape for a byte that needs one.
fn escape(byte: u8) -> Option<&'static [u8]> {
    const CONTROL: [&[u8]; 32] = [
        b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006",
        b"\\u0007", b"\\b", b"\\t", b"\\n", b"\\u000b", b"\\f", b"\\r", b"\\u000e", b"\\u000f",
        b"\\u0010", b"\\u0011", b"\\u0012", b"\\u0013", b"\\u0014", b"\\u0015", b"\\u0016",
        b"\\u0017", b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c", b"\\u001d",
        b"\\u001e", b"\\u001f",
    ];
    match byte {
        0..=31 => Some(CONTROL[usize::from(byte)]),
        b'"' => Some(b"\\\""),
        b'/' => Some(b"\\/"),
        b'\\' => Some(b"\\\\"),
        127 => Some(b"\\u007f"),
        _ => None,
    }
}

unsafe fn append_string(state: *mut lua_State, idx: c_int, out: &mut Vec<u8>) {
    let mut len = 0;
    let ptr = ffi::lua_tolstring(state, idx, &mut len);
    let bytes = match ptr.is_null() {
        true => &[][..],
        false => std::slice::from_raw_parts(ptr.cast::<u8>(), len),
    };
    out.push(b'"');
    for &b in bytes {
        match escape(b) {
            Some(esc) => out.extend_from_slice(esc),
            None => out.push(b),
        }
    }
    out.push(b'"');
}

// ---- decoding ----

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Number(f64),
    Boolean(bool),
    Null,
    Colon,
    Comma,
    End,
    Whitespace,
    Error(&'static str),
    Unknown,
}

impl Kind {
    /// lua-cjson's `json_token_type_name`, or the error's own text.
    fn name(self) -> &'static str {
        match self {
            Kind::ObjBegin => "T_OBJ_BEGIN",
            Kind::ObjEnd => "T_OBJ_END",
            Kind::ArrBegin => "T_ARR_BEGIN",
            Kind::ArrEnd => "T_ARR_END",
            Kind::Str => "T_STRING",
            Kind::Number(_) => "T_NUMBER",
            Kind::Boolean(_) => "T_BOOLEAN",
            Kind::Null => "T_NULL",
            Kind::Colon => "T_COLON",
            Kind::Comma => "T_COMMA",
            Kind::End => "T_END",
            Kind::Whitespace => "T_WHITESPACE",
            Kind::Error(text) => text,
            Kind::Unknown => "T_UNKNOWN",
        }
    }
}

/// A token and where it starts (0-based); a string token's text is in `Parser::text`.
#[derive(Clone, Copy)]
struct Token {
    kind: Kind,
    index: usize,
}

struct Parser<'a> {
    /// The JSON text followed by Lua's terminating NUL (read as the end).
    data: &'a [u8],
    pos: usize,
    depth: c_int,
    cfg: Config,
    /// The decoded text of the last string token.
    text: Vec<u8>,
}

/// lua-cjson's `ch2token`: what a byte starts (`Unknown`: more to read).
fn class(byte: u8) -> Kind {
    match byte {
        b'{' => Kind::ObjBegin,
        b'}' => Kind::ObjEnd,
        b'[' => Kind::ArrBegin,
        b']' => Kind::ArrEnd,
        b',' => Kind::Comma,
        b':' => Kind::Colon,
        0 => Kind::End,
        b' ' | b'\t' | b'\n' | b'\r' => Kind::Whitespace,
        b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'"' | b'+' | b'-' | b'0'..=b'9' => Kind::Unknown,
        _ => Kind::Error("invalid token"),
    }
}

fn hex_digit(byte: u8) -> Option<u32> {
    char::from(byte).to_digit(16)
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    /// `strncmp(ptr, lit, len) == 0`.
    fn starts(&self, lit: &[u8]) -> bool {
        lit.iter()
            .enumerate()
            .all(|(i, &b)| self.at(self.pos + i) == b)
    }

    fn error(&self, text: &'static str) -> Token {
        Token {
            kind: Kind::Error(text),
            index: self.pos,
        }
    }

    fn next_token(&mut self) -> Token {
        let mut kind = class(self.at(self.pos));
        while kind == Kind::Whitespace {
            self.pos += 1;
            kind = class(self.at(self.pos));
        }
        let index = self.pos;
        match kind {
            Kind::Error(_) | Kind::End => return Token { kind, index },
            Kind::Unknown => {}
            _ => {
                self.pos += 1;
                return Token { kind, index };
            }
        }
        let ch = self.at(self.pos);
        let kind = if ch == b'"' {
            return self.string_token();
        } else if ch == b'-' || ch.is_ascii_digit() {
            if self.cfg.decode_invalid_numbers == 0 && self.invalid_number() {
                return self.error("invalid number");
            }
            return self.number_token();
        } else if self.starts(b"true") {
            self.pos += 4;
            Kind::Boolean(true)
        } else if self.starts(b"false") {
            self.pos += 5;
            Kind::Boolean(false)
        } else if self.starts(b"null") {
            self.pos += 4;
            Kind::Null
        } else if self.cfg.decode_invalid_numbers != 0 && self.invalid_number() {
            return self.number_token();
        } else {
            return self.error("invalid token");
        };
        Token { kind, index }
    }

    /// `json_is_invalid_number`: a number JSON does not allow (hex, leading `+` or zeros,
    /// inf, nan).
    fn invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let ch = self.at(p);
        if ch == b'0' {
            let ch2 = self.at(p + 1);
            return ch2 | 0x20 == b'x' || ch2.is_ascii_digit();
        }
        // C compares a (signed) char: bytes from 0x80 are below '9'.
        if (ch as i8) <= b'9' as i8 {
            return false;
        }
        let word: Vec<u8> = (0..3)
            .map(|i| self.at(p + i).to_ascii_lowercase())
            .collect();
        word == b"inf" || word == b"nan"
    }

    /// The number at the position, read by C's `strtod`.
    fn number_token(&mut self) -> Token {
        let start = &self.data[self.pos..];
        let mut end: *mut c_char = std::ptr::null_mut();
        // SAFETY: `data` ends with Lua's NUL, so strtod stops inside it.
        let number = unsafe { libc::strtod(start.as_ptr().cast::<c_char>(), &mut end) };
        let used = (end as usize).saturating_sub(start.as_ptr() as usize);
        if used == 0 {
            return self.error("invalid number");
        }
        let index = self.pos;
        self.pos += used;
        Token {
            kind: Kind::Number(number),
            index,
        }
    }

    fn string_token(&mut self) -> Token {
        let index = self.pos;
        self.pos += 1;
        self.text.clear();
        loop {
            let ch = self.at(self.pos);
            match ch {
                b'"' => break,
                0 => return self.error("unexpected end of string"),
                b'\\' => {
                    let esc = match self.at(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b't' => b'\t',
                        b'n' => b'\n',
                        b'f' => 12,
                        b'r' => b'\r',
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return self.error("invalid unicode escape code");
                        }
                        _ => return self.error("invalid escape code"),
                    };
                    self.text.push(esc);
                    self.pos += 2;
                }
                _ => {
                    self.text.push(ch);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Token {
            kind: Kind::Str,
            index,
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        (0..4).try_fold(0, |acc, i| Some(acc << 4 | hex_digit(self.at(at + i))?))
    }

    /// `json_append_unicode_escape` at a `\u`: appends the UTF-8 of the code point (a
    /// surrogate pair is one), advancing past the escape; false when invalid.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut code) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if code & 0xF800 == 0xD800 {
            if code & 0x400 != 0 || !self.starts_at(self.pos + 6, b"\\u") {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            code = (((code & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let utf8: &[u32] = match code {
            0..=0x7F => &[code],
            0x80..=0x7FF => &[(code >> 6) | 0xC0, (code & 0x3F) | 0x80],
            0x800..=0xFFFF => &[
                (code >> 12) | 0xE0,
                ((code >> 6) & 0x3F) | 0x80,
                (code & 0x3F) | 0x80,
            ],
            _ => &[
                (code >> 18) | 0xF0,
                ((code >> 12) & 0x3F) | 0x80,
                ((code >> 6) & 0x3F) | 0x80,
                (code & 0x3F) | 0x80,
            ],
        };
        self.text.extend(utf8.iter().map(|&b| b as u8));
        self.pos += len;
        true
    }

    fn starts_at(&self, at: usize, lit: &[u8]) -> bool {
        lit.iter().enumerate().all(|(i, &b)| self.at(at + i) == b)
    }

    fn parse_error(&self, expected: &str, token: Token) -> Fail {
        Fail::msg(format!(
            "Expected {expected} but found {} at character {}",
            token.kind.name(),
            token.index + 1
        ))
    }

    /// `json_decode_descend`: one level deeper, with room for `slots` stack values.
    unsafe fn descend(&mut self, state: *mut lua_State, slots: c_int) -> Result<(), Fail> {
        self.depth += 1;
        if self.depth <= self.cfg.decode_max_depth && ffi::lua_checkstack(state, slots) != 0 {
            return Ok(());
        }
        Err(Fail::msg(format!(
            "Found too many nested data structures ({}) at character {}",
            self.depth, self.pos
        )))
    }

    /// Pushes the value `token` starts.
    unsafe fn value(&mut self, state: *mut lua_State, token: Token) -> Result<(), Fail> {
        match token.kind {
            Kind::Str => push_bytes(state, &self.text),
            Kind::Number(n) => ffi::lua_pushnumber(state, n),
            Kind::Boolean(b) => ffi::lua_pushboolean(state, c_int::from(b)),
            Kind::ObjBegin => self.object(state)?,
            Kind::ArrBegin => self.array(state)?,
            Kind::Null => ffi::lua_pushlightuserdata(state, std::ptr::null_mut::<c_void>()),
            _ => return Err(self.parse_error("value", token)),
        }
        Ok(())
    }

    unsafe fn object(&mut self, state: *mut lua_State) -> Result<(), Fail> {
        self.descend(state, 3)?;
        ffi::lua_newtable(state);
        let mut token = self.next_token();
        if token.kind == Kind::ObjEnd {
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if token.kind != Kind::Str {
                return Err(self.parse_error("object key string", token));
            }
            push_bytes(state, &self.text);
            token = self.next_token();
            if token.kind != Kind::Colon {
                return Err(self.parse_error("colon", token));
            }
            token = self.next_token();
            self.value(state, token)?;
            ffi::lua_rawset(state, -3);
            token = self.next_token();
            if token.kind == Kind::ObjEnd {
                self.depth -= 1;
                return Ok(());
            }
            if token.kind != Kind::Comma {
                return Err(self.parse_error("comma or object end", token));
            }
            token = self.next_token();
        }
    }

    unsafe fn array(&mut self, state: *mut lua_State) -> Result<(), Fail> {
        self.descend(state, 2)?;
        ffi::lua_newtable(state);
        let mut token = self.next_token();
        if token.kind == Kind::ArrEnd {
            self.depth -= 1;
            return Ok(());
        }
        for i in 1.. {
            self.value(state, token)?;
            ffi::lua_rawseti(state, -2, i);
            token = self.next_token();
            if token.kind == Kind::ArrEnd {
                break;
            }
            if token.kind != Kind::Comma {
                return Err(self.parse_error("comma or array end", token));
            }
            token = self.next_token();
        }
        self.depth -= 1;
        Ok(())
    }
}

unsafe fn decode(state: *mut lua_State) -> Outcome {
    if ffi::lua_gettop(state) != 1 {
        return Err(Fail::arg(1, "expected 1 argument"));
    }
    let cfg = *config(state)?;
    let data = check_bytes(state, 1, true)?;
    if data.len() > 2 && (data[0] == 0 || data[1] == 0) {
        return Err(Fail::msg("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut parser = Parser {
        data,
        pos: 0,
        depth: 0,
        cfg,
        text: Vec::new(),
    };
    let token = parser.next_token();
    parser.value(state, token)?;
    let token = parser.next_token();
    if token.kind != Kind::End {
        return Err(parser.parse_error("the end", token));
    }
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_c() {
        assert_eq!(format_g(0.1, 14), b"0.1");
        assert_eq!(format_g(1e300, 14), b"1e+300");
        assert_eq!(format_g(-0.0, 14), b"-0");
        assert_eq!(format_g(123456789012345678.0, 14), b"1.2345678901235e+17");
        assert_eq!(format_g(f64::INFINITY, 14), b"inf");
    }

    #[test]
    fn escapes() {
        assert_eq!(escape(b'/'), Some(&b"\\/"[..]));
        assert_eq!(escape(0x1f), Some(&b"\\u001f"[..]));
        assert_eq!(escape(b'a'), None);
        assert_eq!(escape(0xc3), None);
    }
}
