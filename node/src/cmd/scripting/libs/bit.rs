//! `bit`: LuaBitOp 1.0.2 (as bundled with Redis) — 32-bit operations on Lua numbers.
//! Arguments are taken modulo 2^32 the way LuaBitOp does (adding 2^52 + 2^51 and keeping
//! the low word of the double); results are signed 32-bit numbers.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use super::{lib_fn, new_lib, push_bytes, type_error, Outcome};

pub unsafe fn open(state: *mut lua_State) -> Outcome {
    new_lib(
        state,
        &[
            (c"tobit", lib_fn!(tobit)),
            (c"bnot", lib_fn!(bnot)),
            (c"band", lib_fn!(band)),
            (c"bor", lib_fn!(bor)),
            (c"bxor", lib_fn!(bxor)),
            (c"lshift", lib_fn!(lshift)),
            (c"rshift", lib_fn!(rshift)),
            (c"arshift", lib_fn!(arshift)),
            (c"rol", lib_fn!(rol)),
            (c"ror", lib_fn!(ror)),
            (c"bswap", lib_fn!(bswap)),
            (c"tohex", lib_fn!(tohex)),
        ],
        false,
    );
    Ok(1)
}

/// LuaBitOp's `barg`: the argument's low 32 bits (non-numbers are a type error).
unsafe fn barg(state: *mut lua_State, idx: c_int) -> Result<u32, super::Fail> {
    let n = ffi::lua_tonumber(state, idx);
    let b = (n + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && ffi::lua_isnumber(state, idx) == 0 {
        return Err(type_error(state, idx, "number"));
    }
    Ok(b)
}

unsafe fn ret(state: *mut lua_State, b: u32) -> Outcome {
    ffi::lua_pushnumber(state, f64::from(b as i32));
    Ok(1)
}

unsafe fn tobit(state: *mut lua_State) -> Outcome {
    ret(state, barg(state, 1)?)
}

unsafe fn bnot(state: *mut lua_State) -> Outcome {
    ret(state, !barg(state, 1)?)
}

/// `band` / `bor` / `bxor`: the first argument, then the others from the last one down.
unsafe fn fold(state: *mut lua_State, op: fn(u32, u32) -> u32) -> Outcome {
    let mut b = barg(state, 1)?;
    for i in (2..=ffi::lua_gettop(state)).rev() {
        b = op(b, barg(state, i)?);
    }
    ret(state, b)
}

unsafe fn band(state: *mut lua_State) -> Outcome {
    fold(state, |a, b| a & b)
}

unsafe fn bor(state: *mut lua_State) -> Outcome {
    fold(state, |a, b| a | b)
}

unsafe fn bxor(state: *mut lua_State) -> Outcome {
    fold(state, |a, b| a ^ b)
}

/// The shifts and rotations: the count is the second argument modulo 32.
unsafe fn shift(state: *mut lua_State, op: fn(u32, u32) -> u32) -> Outcome {
    let b = barg(state, 1)?;
    let n = barg(state, 2)? & 31;
    ret(state, op(b, n))
}

unsafe fn lshift(state: *mut lua_State) -> Outcome {
    shift(state, |b, n| b << n)
}

unsafe fn rshift(state: *mut lua_State) -> Outcome {
    shift(state, |b, n| b >> n)
}

unsafe fn arshift(state: *mut lua_State) -> Outcome {
    shift(state, |b, n| ((b as i32) >> n) as u32)
}

unsafe fn rol(state: *mut lua_State) -> Outcome {
    shift(state, u32::rotate_left)
}

unsafe fn ror(state: *mut lua_State) -> Outcome {
    shift(state, u32::rotate_right)
}

unsafe fn bswap(state: *mut lua_State) -> Outcome {
    ret(state, barg(state, 1)?.swap_bytes())
}

/// `tohex(x [, n])`: the low `|n|` (at most 8, default 8) hex digits, upper case for a
/// negative `n`.
unsafe fn tohex(state: *mut lua_State) -> Outcome {
    let b = barg(state, 1)?;
    let n = match ffi::lua_isnone(state, 2) != 0 {
        true => 8,
        false => barg(state, 2)? as i32,
    };
    let digits: &[u8; 16] = match n < 0 {
        true => b"0123456789ABCDEF",
        false => b"0123456789abcdef",
    };
    let n = n.unsigned_abs().min(8);
    let text: Vec<u8> = (0..n)
        .rev()
        .map(|i| digits[((b >> (4 * i)) & 15) as usize])
        .collect();
    push_bytes(state, &text);
    Ok(1)
}
