//! The C libraries Redis 7.0 loads into a script's Lua state besides Lua's own: `bit`
//! (LuaBitOp), `cjson` (lua-cjson), `struct` and `cmsgpack` (lua-cmsgpack), ported to
//! Rust at the level of Lua's C API so that numbers, errors and table traversal behave
//! exactly as in Redis.
//!
//! Each library function is an `unsafe fn(state) -> Outcome`; [`lib_fn!`] wraps it into a
//! `lua_CFunction` that raises a failure the way `luaL_error` / `luaL_argerror` would,
//! once every Rust value of the call is gone (Lua errors are `longjmp`s).

mod bit;
mod cjson;
mod msgpack;
mod structs;

use std::ffi::{c_char, c_int, CStr};

use mlua::{ffi, Lua, Table};

/// Why a library function stopped: what `luaL_error` (the caller's position is prefixed),
/// `luaL_argerror` (`bad argument #n to 'f' (…)`) or the Lua core (the text alone) would
/// raise.
pub enum Fail {
    Msg(Vec<u8>),
    Arg(c_int, Vec<u8>),
    Plain(Vec<u8>),
}

impl Fail {
    fn msg(text: impl Into<Vec<u8>>) -> Fail {
        Fail::Msg(text.into())
    }

    fn arg(narg: c_int, text: impl Into<Vec<u8>>) -> Fail {
        Fail::Arg(narg, text.into())
    }
}

/// The number of results a library function pushed, or its failure.
pub type Outcome = Result<c_int, Fail>;

/// Wraps `unsafe fn(*mut lua_State) -> Outcome` into a `lua_CFunction`.
macro_rules! lib_fn {
    ($f:path) => {{
        unsafe extern "C-unwind" fn entry(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
            // SAFETY: called by Lua with its state, as every C function.
            unsafe {
                let outcome = $f(state);
                $crate::cmd::scripting::libs::finish(state, outcome)
            }
        }
        entry as mlua::ffi::lua_CFunction
    }};
}
pub(crate) use lib_fn;

/// Returns the result count, or raises the failure as lauxlib would.
///
/// # Safety
/// `state` is the running Lua state of a C function; no Rust value needing a drop may be
/// alive in the caller (raising is a `longjmp`).
pub unsafe fn finish(state: *mut ffi::lua_State, outcome: Outcome) -> c_int {
    let fail = match outcome {
        Ok(results) => return results,
        Err(fail) => fail,
    };
    // What the function pushed is of no use now, and frees room for the message (the
    // stack may be full: C's pushes could go into Lua's reserve, ours are API-checked).
    ffi::lua_settop(state, 0);
    match fail {
        Fail::Arg(narg, text) => {
            push_bytes(state, &text);
            drop(text);
            let text = ffi::lua_tolstring(state, -1, std::ptr::null_mut());
            ffi::luaL_argerror(state, narg, text)
        }
        Fail::Msg(text) => {
            ffi::luaL_where(state, 1);
            push_bytes(state, &text);
            drop(text);
            ffi::lua_concat(state, 2);
            ffi::lua_error(state)
        }
        Fail::Plain(text) => {
            push_bytes(state, &text);
            drop(text);
            ffi::lua_error(state)
        }
    }
}

/// Loads the libraries as globals of `lua` (the script environment shows them read-only).
pub fn register(lua: &Lua) -> mlua::Result<()> {
    let opens = [
        ("bit", lib_fn!(bit::open)),
        ("cjson", lib_fn!(cjson::open)),
        ("struct", lib_fn!(structs::open)),
        ("cmsgpack", lib_fn!(msgpack::open)),
    ];
    for (name, open) in opens {
        // SAFETY: the openers only build a table of C functions.
        let open = unsafe { lua.create_c_function(open)? };
        lua.globals().raw_set(name, open.call::<Table>(())?)?;
    }
    Ok(())
}

/// Builds a table of C functions on the stack; with `upvalue`, each closure gets the value
/// on top of the stack (popped) as its upvalue 1, as `luaL_setfuncs(L, l, 1)` does.
unsafe fn new_lib(
    state: *mut ffi::lua_State,
    funcs: &[(&CStr, ffi::lua_CFunction)],
    upvalue: bool,
) {
    let up = c_int::from(upvalue);
    ffi::lua_createtable(state, 0, funcs.len() as c_int);
    if upvalue {
        ffi::lua_insert(state, -2);
    }
    for (name, f) in funcs {
        if upvalue {
            ffi::lua_pushvalue(state, -1);
        }
        ffi::lua_pushcclosure(state, *f, up);
        ffi::lua_setfield(state, -2 - up, name.as_ptr());
    }
    if upvalue {
        ffi::lua_settop(state, -2);
    }
}

unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    ffi::lua_pushlstring(state, bytes.as_ptr().cast::<c_char>(), bytes.len());
}

/// `luaL_typename`: `no value` for an absent argument.
unsafe fn type_name(state: *mut ffi::lua_State, idx: c_int) -> String {
    let name = ffi::lua_typename(state, ffi::lua_type(state, idx));
    CStr::from_ptr(name).to_string_lossy().into_owned()
}

/// `luaL_typerror`'s failure.
unsafe fn type_error(state: *mut ffi::lua_State, idx: c_int, expected: &str) -> Fail {
    Fail::arg(
        idx,
        format!("{expected} expected, got {}", type_name(state, idx)),
    )
}

/// `luaL_checknumber`.
unsafe fn check_number(state: *mut ffi::lua_State, idx: c_int) -> Result<f64, Fail> {
    let n = ffi::lua_tonumber(state, idx);
    if n == 0.0 && ffi::lua_isnumber(state, idx) == 0 {
        return Err(type_error(state, idx, "number"));
    }
    Ok(n)
}

/// `luaL_checkinteger` (a C `(ptrdiff_t)` of the number).
unsafe fn check_integer(state: *mut ffi::lua_State, idx: c_int) -> Result<i64, Fail> {
    let n = check_number(state, idx)?;
    Ok(c_cast_i64(n))
}

/// `luaL_checklstring`: the bytes stay valid while the value is on the stack. Lua keeps a
/// NUL after them, included in the slice when `with_nul`.
unsafe fn check_bytes<'a>(
    state: *mut ffi::lua_State,
    idx: c_int,
    with_nul: bool,
) -> Result<&'a [u8], Fail> {
    let mut len = 0;
    let ptr = ffi::lua_tolstring(state, idx, &mut len);
    if ptr.is_null() {
        return Err(type_error(state, idx, "string"));
    }
    Ok(std::slice::from_raw_parts(
        ptr.cast::<u8>(),
        len + usize::from(with_nul),
    ))
}

/// C's `(long long)` of a double on x86-64: out of range (and NaN) is `i64::MIN`.
fn c_cast_i64(n: f64) -> i64 {
    const END: f64 = 9_223_372_036_854_775_808.0;
    match (-END..END).contains(&n) {
        true => n as i64,
        false => i64::MIN,
    }
}

/// C's `(int)` of a double on x86-64: out of range (and NaN) is `i32::MIN`.
fn c_cast_i32(n: f64) -> i32 {
    match (-2_147_483_648.0..2_147_483_648.0).contains(&n) {
        true => n as i32,
        false => i32::MIN,
    }
}

#[cfg(test)]
mod tests {
    use mlua::{Lua, LuaOptions, StdLib};

    fn eval(code: &str) -> String {
        let lua = Lua::new_with(StdLib::ALL_SAFE, LuaOptions::new()).expect("lua");
        super::register(&lua).expect("register");
        lua.load(code)
            .set_name("=test")
            .eval::<String>()
            .expect(code)
    }

    #[test]
    fn bit_operations() {
        assert_eq!(eval("return bit.tohex(255, -4)"), "00FF");
        assert_eq!(eval("return tostring(bit.tobit(2^32 + 5))"), "5");
        assert_eq!(eval("return tostring(bit.bswap(0x12345678))"), "2018915346");
        assert_eq!(eval("return tostring(bit.arshift(-256, 4))"), "-16");
    }

    #[test]
    fn cjson_round_trip() {
        assert_eq!(
            eval(r#"return cjson.encode(cjson.decode('[1,"a\/b",{"x":0.1},null,-0,1e300]'))"#),
            r#"[1,"a\/b",{"x":0.1},null,-0,1e+300]"#
        );
        assert_eq!(eval(r#"return cjson.decode('"\\ud83d\\ude00"')"#), "😀");
        assert_eq!(eval("return cjson.encode({})"), "{}");
    }

    #[test]
    fn errors_are_raised_like_lauxlib() {
        assert_eq!(
            eval("return select(2, pcall(cjson.decode, '[1,'))"),
            "Expected value but found T_END at character 4"
        );
        assert_eq!(
            eval("local ok, e = pcall(function() return cjson.decode('x') end) return e"),
            "test:1: Expected value but found invalid token at character 1"
        );
        assert_eq!(
            eval("return select(2, pcall(bit.band, 1, {}))"),
            "bad argument #2 to '?' (number expected, got table)"
        );
    }

    #[test]
    fn struct_and_msgpack() {
        assert_eq!(eval("return struct.pack('>I2c0', 258, 'ab')"), "\x01\x02ab");
        assert_eq!(
            eval("return table.concat({struct.unpack('<h', struct.pack('<h', -2))}, ',')"),
            "-2,3"
        );
        assert_eq!(
            eval("return cjson.encode({cmsgpack.unpack(cmsgpack.pack({1, {a = 'b'}}, 300))})"),
            r#"[[1,{"a":"b"}],300]"#
        );
        assert_eq!(
            eval("return select(2, pcall(cmsgpack.unpack, string.char(0x92, 1)))"),
            "Missing bytes in input."
        );
    }
}
