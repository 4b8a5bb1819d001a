//! `struct`: Roberto Ierusalimschy's struct library as bundled with Redis — `pack`,
//! `unpack` and `size` of binary records. Formats: `>` `<` `!n` (endianness, alignment),
//! `b B h H l L T i I in In` (integers, `long` and `size_t` being 8 bytes), `f d`, `x`
//! (padding), `s` (zero-terminated), `cn` / `c0` (fixed / previous-size strings).

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use super::{check_bytes, check_number, lib_fn, new_lib, push_bytes, Fail, Outcome};

pub unsafe fn open(state: *mut lua_State) -> Outcome {
    new_lib(
        state,
        &[
            (c"pack", lib_fn!(pack)),
            (c"unpack", lib_fn!(unpack)),
            (c"size", lib_fn!(size)),
        ],
        false,
    );
    Ok(1)
}

/// The largest integer size (`in`).
const MAX_INT_SIZE: usize = 32;
/// The default `!` alignment (that of a `double` in a struct on x86-64).
const MAX_ALIGN: usize = 8;

/// Byte order and maximum alignment (native: little endian, alignment 1).
struct Header {
    little: bool,
    align: usize,
}

impl Header {
    const NATIVE: Header = Header {
        little: true,
        align: 1,
    };
}

/// A format string being read (Lua's NUL after it is the end).
struct Format<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Format<'a> {
    /// The format string, the function's first argument.
    ///
    /// # Safety
    /// `state` is a live Lua state inside a C function call.
    unsafe fn first_arg(state: *mut lua_State) -> Result<Format<'a>, Fail> {
        Ok(Format {
            text: check_bytes(state, 1, false)?,
            pos: 0,
        })
    }

    /// The next option, or `None` at the end (or at an embedded NUL, as C does).
    fn next(&mut self) -> Option<u8> {
        let opt = *self.text.get(self.pos).filter(|&&c| c != 0)?;
        self.pos += 1;
        Some(opt)
    }

    /// `getnum`: a decimal size after the option, or `default`.
    fn number(&mut self, default: usize) -> Result<usize, Fail> {
        let mut n: usize = 0;
        let mut any = false;
        while let Some(d) = self.text.get(self.pos).filter(|c| c.is_ascii_digit()) {
            let d = usize::from(d - b'0');
            if n > c_int::MAX as usize / 10 || n * 10 > c_int::MAX as usize - d {
                return Err(Fail::msg("integral size overflow"));
            }
            n = n * 10 + d;
            any = true;
            self.pos += 1;
        }
        Ok(if any { n } else { default })
    }

    /// `optsize`: the size of option `opt` (0 for the control options).
    fn size(&mut self, opt: u8) -> Result<usize, Fail> {
        Ok(match opt {
            b'B' | b'b' | b'x' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let size = self.number(4)?;
                if size > MAX_INT_SIZE {
                    return Err(Fail::msg(format!(
                        "integral size {size} is larger than limit of {MAX_INT_SIZE}"
                    )));
                }
                size
            }
            _ => 0,
        })
    }

    /// `controloptions`: endianness, alignment and blanks; anything else is invalid.
    fn control(&mut self, opt: u8, h: &mut Header) -> Result<(), Fail> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.number(MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(Fail::msg(format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
            }
            _ => {
                let mut text = b"invalid format option '".to_vec();
                text.extend_from_slice(&[opt, b'\'']);
                return Err(Fail::Arg(1, text));
            }
        }
        Ok(())
    }
}

/// `gettoalign`: padding before an item of `size` at `len`.
fn to_align(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

fn is_integer(opt: u8) -> bool {
    matches!(
        opt,
        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I'
    )
}

/// Puts `bytes` (native, little-endian order) in the header's order.
fn ordered(mut bytes: Vec<u8>, h: &Header) -> Vec<u8> {
    if !h.little {
        bytes.reverse();
    }
    bytes
}

unsafe fn pack(state: *mut lua_State) -> Outcome {
    let mut fmt = Format::first_arg(state)?;
    let mut h = Header::NATIVE;
    // C pushes a nil to mark the end of the arguments: a missing one is this nil.
    ffi::lua_pushnil(state);
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        let pad = to_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            _ if is_integer(opt) => {
                let n = check_number(state, arg)?;
                arg += 1;
                let value = match n < 0.0 {
                    true => super::c_cast_i64(n) as u64,
                    false => c_cast_u64(n),
                };
                let bytes = (0..size).map(|i| value.checked_shr(8 * i as u32).unwrap_or(0) as u8);
                out.extend(ordered(bytes.collect(), &h));
            }
            b'x' => out.push(0),
            b'f' => {
                let f = check_number(state, arg)? as f32;
                arg += 1;
                out.extend(ordered(f.to_le_bytes().to_vec(), &h));
            }
            b'd' => {
                let d = check_number(state, arg)?;
                arg += 1;
                out.extend(ordered(d.to_le_bytes().to_vec(), &h));
            }
            b'c' | b's' => {
                let s = check_bytes(state, arg, false)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    return Err(Fail::arg(arg, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => fmt.control(opt, &mut h)?,
        }
    }
    push_bytes(state, &out);
    Ok(1)
}

/// C's `(unsigned long)` of a double as gcc compiles it on x86-64: from 2^63 up, the
/// conversion of `n - 2^63` with the top bit flipped (so 2^64 and beyond give 0); below
/// it, and for NaN, the signed conversion.
fn c_cast_u64(n: f64) -> u64 {
    const HALF: f64 = 9_223_372_036_854_775_808.0;
    match n >= HALF {
        true => super::c_cast_i64(n - HALF) as u64 ^ (1 << 63),
        false => super::c_cast_i64(n) as u64,
    }
}

unsafe fn unpack(state: *mut lua_State) -> Outcome {
    let mut fmt = Format::first_arg(state)?;
    let data = check_bytes(state, 2, false)?;
    let start = match ffi::lua_isnoneornil(state, 3) != 0 {
        true => 1,
        false => super::check_integer(state, 3)?,
    };
    let Ok(mut pos) = usize::try_from(start.saturating_sub(1)) else {
        return Err(Fail::arg(3, "offset must be 1 or greater"));
    };
    let ld = data.len();
    let mut h = Header::NATIVE;
    let mut results: c_int = 0;
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        pos += to_align(pos, &h, opt, size);
        let fits = |pos: usize, size: usize| size <= ld && pos <= ld - size;
        if !fits(pos, size) {
            return Err(Fail::arg(2, "data string too short"));
        }
        if ffi::lua_checkstack(state, 2) == 0 {
            return Err(Fail::msg("stack overflow (too many results)"));
        }
        match opt {
            _ if is_integer(opt) => {
                let mut bytes = data[pos..pos + size].to_vec();
                if !h.little {
                    bytes.reverse();
                }
                let mut l: u64 = 0;
                for &b in bytes.iter().rev() {
                    l = (l << 8) | u64::from(b);
                }
                let n = match opt.is_ascii_lowercase() {
                    true => {
                        // C's `~0 << (size*8 - 1)`: x86 takes the count modulo 64.
                        let shift = ((size * 8) as u32).wrapping_sub(1);
                        let mask = u64::MAX.wrapping_shl(shift);
                        if l & mask != 0 {
                            l |= mask;
                        }
                        l as i64 as f64
                    }
                    false => l as f64,
                };
                ffi::lua_pushnumber(state, n);
                results += 1;
            }
            b'x' => {}
            b'f' => {
                let mut bytes = [0u8; 4];
                bytes.copy_from_slice(&data[pos..pos + 4]);
                let f = match h.little {
                    true => f32::from_le_bytes(bytes),
                    false => f32::from_be_bytes(bytes),
                };
                ffi::lua_pushnumber(state, f64::from(f));
                results += 1;
            }
            b'd' => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&data[pos..pos + 8]);
                let d = match h.little {
                    true => f64::from_le_bytes(bytes),
                    false => f64::from_be_bytes(bytes),
                };
                ffi::lua_pushnumber(state, d);
                results += 1;
            }
            b'c' => {
                if size == 0 {
                    if results == 0 || ffi::lua_isnumber(state, -1) == 0 {
                        return Err(Fail::msg("format 'c0' needs a previous size"));
                    }
                    size = c_cast_u64(ffi::lua_tonumber(state, -1).max(0.0)) as usize;
                    ffi::lua_settop(state, -2);
                    results -= 1;
                    if !fits(pos, size) {
                        return Err(Fail::arg(2, "data string too short"));
                    }
                }
                push_bytes(state, &data[pos..pos + size]);
                results += 1;
            }
            b's' => {
                let Some(len) = data[pos..].iter().position(|&b| b == 0) else {
                    return Err(Fail::msg("unfinished string in data"));
                };
                push_bytes(state, &data[pos..pos + len]);
                size = len + 1;
                results += 1;
            }
            _ => fmt.control(opt, &mut h)?,
        }
        pos += size;
    }
    ffi::lua_pushinteger(state, (pos as i64).wrapping_add(1));
    Ok(results + 1)
}

unsafe fn size(state: *mut lua_State) -> Outcome {
    let mut fmt = Format::first_arg(state)?;
    let mut h = Header::NATIVE;
    let mut pos: usize = 0;
    while let Some(opt) = fmt.next() {
        let size = fmt.size(opt)?;
        pos += to_align(pos, &h, opt, size);
        if opt == b's' {
            return Err(Fail::arg(1, "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(Fail::arg(1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.control(opt, &mut h)?;
        }
        pos += size;
    }
    ffi::lua_pushinteger(state, pos as i64);
    Ok(1)
}
