//! `cmsgpack`: lua-cmsgpack 0.4.0 as bundled with Redis — `pack` (any number of values,
//! concatenated), `unpack` (every value), `unpack_one` and `unpack_limit` (a count of
//! values from an offset, the next offset first). Tables nested deeper than 16 pack as
//! nil; a table whose keys are exactly 1..n packs as an array, any other as a map.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use super::{check_bytes, check_integer, lib_fn, new_lib, push_bytes, Fail, Outcome};

pub unsafe fn open(state: *mut lua_State) -> Outcome {
    new_lib(
        state,
        &[
            (c"pack", lib_fn!(pack)),
            (c"unpack", lib_fn!(unpack)),
            (c"unpack_one", lib_fn!(unpack_one)),
            (c"unpack_limit", lib_fn!(unpack_limit)),
        ],
        false,
    );
    for (field, value) in [
        (c"_NAME", c"cmsgpack"),
        (c"_VERSION", c"lua-cmsgpack 0.4.0"),
        (c"_COPYRIGHT", c"Copyright (C) 2012, Salvatore Sanfilippo"),
        (c"_DESCRIPTION", c"MessagePack C implementation for Lua"),
    ] {
        ffi::lua_pushstring(state, value.as_ptr());
        ffi::lua_setfield(state, -2, field.as_ptr());
    }
    Ok(1)
}

/// Tables nested this deep are packed as nil (this also stops reference cycles).
const MAX_NESTING: c_int = 16;

// ---- packing ----

unsafe fn pack(state: *mut lua_State) -> Outcome {
    let nargs = ffi::lua_gettop(state);
    if nargs == 0 {
        return Err(Fail::arg(0, "MessagePack pack needs input."));
    }
    if ffi::lua_checkstack(state, nargs) == 0 {
        return Err(Fail::arg(0, "Too many arguments for MessagePack pack."));
    }
    let mut out = Vec::new();
    for i in 1..=nargs {
        ffi::lua_pushvalue(state, i);
        encode(state, &mut out, 0)?;
    }
    push_bytes(state, &out);
    Ok(1)
}

/// `(int64_t)n == n` (and `int` for `int32`), as C computes it on x86-64.
fn int64_equivalent(n: f64) -> bool {
    !n.is_infinite() && super::c_cast_i64(n) as f64 == n
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    match n {
        0..=127 => out.push(n as u8),
        128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        0x1_0000_0000.. => {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
        -32..=-1 => out.push(n as u8),
        -128..=-33 => out.extend_from_slice(&[0xd0, n as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn encode_double(out: &mut Vec<u8>, d: f64) {
    let f = d as f32;
    if f64::from(f) == d {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&d.to_be_bytes());
    }
}

/// A length header: the fix form (`fix` ORed with `len` when it is at most `fix_max`), else
/// `code16` / `code16 + 1` with a 16- or 32-bit length.
fn encode_len(out: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, code16: u8) {
    if len <= fix_max {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(code16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(code16 + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Packs the value on top of the stack and pops it.
unsafe fn encode(state: *mut lua_State, out: &mut Vec<u8>, level: c_int) -> Result<(), Fail> {
    match ffi::lua_type(state, -1) {
        ffi::LUA_TSTRING => {
            let mut len = 0;
            let ptr = ffi::lua_tolstring(state, -1, &mut len).cast::<u8>();
            let bytes = std::slice::from_raw_parts(ptr, len);
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else {
                encode_len(out, len, 0, 0, 0xda);
            }
            out.extend_from_slice(bytes);
        }
        ffi::LUA_TBOOLEAN => out.push(match ffi::lua_toboolean(state, -1) != 0 {
            true => 0xc3,
            false => 0xc2,
        }),
        ffi::LUA_TNUMBER => {
            let n = ffi::lua_tonumber(state, -1);
            match int64_equivalent(n) {
                true => encode_int(out, super::c_cast_i64(n)),
                false => encode_double(out, n),
            }
        }
        ffi::LUA_TTABLE if level < MAX_NESTING => match is_array(state)? {
            true => {
                let len = ffi::lua_objlen(state, -1);
                encode_len(out, len, 0x90, 15, 0xdc);
                check_stack(state, 1, "in function mp_encode_lua_table_as_array")?;
                for j in 1..=len {
                    ffi::lua_pushnumber(state, j as f64);
                    ffi::lua_rawget(state, -2);
                    encode(state, out, level + 1)?;
                }
            }
            false => {
                check_stack(state, 3, "in function mp_encode_lua_table_as_map")?;
                let mut len = 0;
                ffi::lua_pushnil(state);
                while ffi::lua_next(state, -2) != 0 {
                    ffi::lua_settop(state, -2);
                    len += 1;
                }
                encode_len(out, len, 0x80, 15, 0xde);
                ffi::lua_pushnil(state);
                while ffi::lua_next(state, -2) != 0 {
                    ffi::lua_pushvalue(state, -2);
                    encode(state, out, level + 1)?;
                    encode(state, out, level + 1)?;
                }
            }
        },
        _ => out.push(0xc0),
    }
    ffi::lua_settop(state, -2);
    Ok(())
}

/// `luaL_checkstack`'s failure.
unsafe fn check_stack(state: *mut lua_State, space: c_int, what: &str) -> Result<(), Fail> {
    match ffi::lua_checkstack(state, space) != 0 {
        true => Ok(()),
        false => Err(Fail::msg(format!("stack overflow ({what})"))),
    }
}

/// `table_is_an_array`: every key a positive `int`, the largest equal to the count.
unsafe fn is_array(state: *mut lua_State) -> Result<bool, Fail> {
    check_stack(state, 2, "in function table_is_an_array")?;
    let top = ffi::lua_gettop(state);
    let (mut count, mut max): (c_int, c_int) = (0, 0);
    ffi::lua_pushnil(state);
    while ffi::lua_next(state, -2) != 0 {
        ffi::lua_settop(state, -2);
        let n = ffi::lua_tonumber(state, -1);
        if ffi::lua_type(state, -1) != ffi::LUA_TNUMBER
            || n <= 0.0
            || f64::from(super::c_cast_i32(n)) != n
        {
            ffi::lua_settop(state, top);
            return Ok(false);
        }
        max = max.max(n as c_int);
        count += 1;
    }
    ffi::lua_settop(state, top);
    Ok(max == count)
}

// ---- unpacking ----

/// Why a value could not be read: the input ends inside it, or a byte is no known type.
enum Bad {
    Eof,
    Format,
    /// A Lua error (stack overflow, a nil or NaN map key).
    Lua(Fail),
}

impl From<Fail> for Bad {
    fn from(fail: Fail) -> Bad {
        Bad::Lua(fail)
    }
}

struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn need(&self, len: usize) -> Result<(), Bad> {
        match self.data.len() < len {
            true => Err(Bad::Eof),
            false => Ok(()),
        }
    }

    /// The `len` bytes after a header of `skip` bytes, consuming both.
    fn take(&mut self, skip: usize, len: usize) -> Result<&'a [u8], Bad> {
        self.need(skip.saturating_add(len))?;
        let bytes = &self.data[skip..skip + len];
        self.data = &self.data[skip + len..];
        Ok(bytes)
    }

    /// A big-endian number of `N` bytes after the type byte, consuming both.
    fn be<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        let mut bytes = [0; N];
        bytes.copy_from_slice(self.take(1, N)?);
        Ok(bytes)
    }

    /// Pushes the next value.
    unsafe fn decode(&mut self, state: *mut lua_State) -> Result<(), Bad> {
        self.need(1)?;
        check_stack(
            state,
            1,
            "too many return values at once; use unpack_one or unpack_limit instead.",
        )?;
        let int = |n: i64| ffi::lua_pushinteger(state, n as ffi::lua_Integer);
        let head = self.data[0];
        match head {
            0xcc => int(i64::from(self.be::<1>()?[0])),
            0xd0 => int(i64::from(self.be::<1>()?[0] as i8)),
            0xcd => int(i64::from(u16::from_be_bytes(self.be()?))),
            0xd1 => int(i64::from(i16::from_be_bytes(self.be()?))),
            0xce => int(i64::from(u32::from_be_bytes(self.be()?))),
            0xd2 => int(i64::from(i32::from_be_bytes(self.be()?))),
            0xcf => int(u64::from_be_bytes(self.be()?) as i64),
            0xd3 => int(i64::from_be_bytes(self.be()?)),
            0xc0 | 0xc2 | 0xc3 => {
                match head {
                    0xc0 => ffi::lua_pushnil(state),
                    _ => ffi::lua_pushboolean(state, c_int::from(head == 0xc3)),
                }
                self.data = &self.data[1..];
            }
            0xca => ffi::lua_pushnumber(state, f64::from(f32::from_be_bytes(self.be()?))),
            0xcb => ffi::lua_pushnumber(state, f64::from_be_bytes(self.be()?)),
            0xd9 => {
                self.need(2)?;
                let len = usize::from(self.data[1]);
                push_bytes(state, self.take(2, len)?);
            }
            0xda => {
                let len = usize::from(u16::from_be_bytes(self.be()?));
                push_bytes(state, self.take(0, len)?);
            }
            0xdb => {
                let len = u32::from_be_bytes(self.be()?) as usize;
                push_bytes(state, self.take(0, len)?);
            }
            0xdc => {
                let len = usize::from(u16::from_be_bytes(self.be()?));
                self.array(state, len)?;
            }
            0xdd => {
                let len = u32::from_be_bytes(self.be()?) as usize;
                self.array(state, len)?;
            }
            0xde => {
                let len = usize::from(u16::from_be_bytes(self.be()?));
                self.map(state, len)?;
            }
            0xdf => {
                let len = u32::from_be_bytes(self.be()?) as usize;
                self.map(state, len)?;
            }
            0x00..=0x7f => {
                int(i64::from(head));
                self.data = &self.data[1..];
            }
            0xe0..=0xff => {
                int(i64::from(head as i8));
                self.data = &self.data[1..];
            }
            0xa0..=0xbf => push_bytes(state, self.take(1, usize::from(head & 0x1f))?),
            0x90..=0x9f => {
                self.data = &self.data[1..];
                self.array(state, usize::from(head & 0xf))?;
            }
            0x80..=0x8f => {
                self.data = &self.data[1..];
                self.map(state, usize::from(head & 0xf))?;
            }
            _ => return Err(Bad::Format),
        }
        Ok(())
    }

    unsafe fn array(&mut self, state: *mut lua_State, len: usize) -> Result<(), Bad> {
        ffi::lua_newtable(state);
        check_stack(state, 1, "in function mp_decode_to_lua_array")?;
        for index in 1..=len {
            ffi::lua_pushnumber(state, index as f64);
            self.decode(state)?;
            ffi::lua_rawset(state, -3);
        }
        Ok(())
    }

    unsafe fn map(&mut self, state: *mut lua_State, len: usize) -> Result<(), Bad> {
        ffi::lua_newtable(state);
        for _ in 0..len {
            self.decode(state)?;
            self.decode(state)?;
            // `lua_settable`'s own errors, which carry no position.
            if ffi::lua_isnil(state, -2) != 0 {
                return Err(Bad::Lua(Fail::Plain(b"table index is nil".to_vec())));
            }
            if ffi::lua_type(state, -2) == ffi::LUA_TNUMBER && ffi::lua_tonumber(state, -2).is_nan()
            {
                return Err(Bad::Lua(Fail::Plain(b"table index is NaN".to_vec())));
            }
            ffi::lua_rawset(state, -3);
        }
        Ok(())
    }
}

/// `mp_unpack_full`: up to `limit` values from byte `offset` (every value when both are
/// 0, else preceded by the next offset, -1 at the end).
unsafe fn unpack_full(state: *mut lua_State, limit: c_int, offset: c_int) -> Outcome {
    let data = check_bytes(state, 1, false)?;
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Err(Fail::msg(format!(
            "Invalid request to unpack with offset of {offset} and limit of {}.",
            len as c_int
        )));
    }
    let start = offset as usize;
    if start > len {
        return Err(Fail::msg(format!(
            "Start offset {offset} greater than input length {}.",
            len as c_int
        )));
    }
    let limit = if decode_all { c_int::MAX } else { limit };
    let mut cursor = Cursor {
        data: &data[start..],
    };
    let mut count = 0;
    while !cursor.data.is_empty() && count < limit {
        match cursor.decode(state) {
            Ok(()) => count += 1,
            Err(Bad::Eof) => return Err(Fail::msg("Missing bytes in input.")),
            Err(Bad::Format) => return Err(Fail::msg("Bad data format in input.")),
            Err(Bad::Lua(fail)) => return Err(fail),
        }
    }
    if !decode_all {
        let next = match cursor.data.len() {
            0 => -1,
            left => (len - left) as i64,
        };
        // C pushes into Lua's reserve when the values filled the stack; ours are checked.
        check_stack(state, 1, "too many results")?;
        ffi::lua_pushinteger(state, next as ffi::lua_Integer);
        ffi::lua_insert(state, 2);
        count += 1;
    }
    Ok(count)
}

unsafe fn unpack(state: *mut lua_State) -> Outcome {
    unpack_full(state, 0, 0)
}

/// `luaL_optinteger(L, idx, 0)` as the C `int` it is stored in.
unsafe fn opt_int(state: *mut lua_State, idx: c_int) -> Result<c_int, Fail> {
    match ffi::lua_isnoneornil(state, idx) != 0 {
        true => Ok(0),
        false => Ok(check_integer(state, idx)? as c_int),
    }
}

unsafe fn unpack_one(state: *mut lua_State) -> Outcome {
    let offset = opt_int(state, 2)?;
    ffi::lua_settop(state, 1);
    unpack_full(state, 1, offset)
}

unsafe fn unpack_limit(state: *mut lua_State) -> Outcome {
    let limit = check_integer(state, 2)? as c_int;
    let offset = opt_int(state, 3)?;
    ffi::lua_settop(state, 1);
    unpack_full(state, limit, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(n: i64) -> Vec<u8> {
        let mut out = Vec::new();
        encode_int(&mut out, n);
        out
    }

    #[test]
    fn integers_take_the_smallest_form() {
        assert_eq!(int(5), [5]);
        assert_eq!(int(-1), [0xff]);
        assert_eq!(int(200), [0xcc, 200]);
        assert_eq!(int(-200), [0xd1, 0xff, 0x38]);
        assert_eq!(int(1 << 32), [0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(int(i64::MIN)[0], 0xd3);
    }

    #[test]
    fn doubles_shrink_to_float_when_exact() {
        let mut out = Vec::new();
        encode_double(&mut out, 1.5);
        assert_eq!(out, [0xca, 0x3f, 0xc0, 0, 0]);
        out.clear();
        encode_double(&mut out, 0.1);
        assert_eq!(out[0], 0xcb);
    }
}
