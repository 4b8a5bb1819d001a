//! The HLL string layout of Redis's `hyperloglog.c`, byte for byte: a 16-byte header
//! (`HYLL`, encoding, 3 unused bytes, the cached cardinality little endian with bit 7 of
//! its last byte meaning "stale"), then the registers — dense: 16384 6-bit registers packed
//! least significant bits first; sparse: ZERO (`00xxxxxx`), XZERO (`01xxxxxx yyyyyyyy`) and
//! VAL (`1vvvvvxx`) opcodes. The sparse editing below mirrors `hllSparseSet` step by step
//! (same splits, same merge of adjacent VALs, same promotions) so the bytes come out equal.

/// Bits of the hash that pick the register.
pub const P: u32 = 14;
/// Bits left for the pattern.
pub const Q: u32 = 64 - P;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Header size.
pub const HDR: usize = 16;
/// Length of a dense HLL string.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const ENCODING: usize = 4;
const CARD: usize = 8;

const XZERO_BIT: u8 = 0x40;
const VAL_BIT: u8 = 0x80;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;

/// A sparse representation that does not cover exactly [`REGISTERS`] registers.
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt;

/// One sparse opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    /// The opcode at `p` (an XZERO cut at the end reads a 0 second byte, like Redis's
    /// implicit terminator).
    fn at(s: &[u8], p: usize) -> Op {
        let b = s[p];
        if b & VAL_BIT != 0 {
            Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1)
        } else if b & 0xc0 == XZERO_BIT {
            let low = s.get(p + 1).copied().unwrap_or(0);
            Op::XZero(((usize::from(b & 0x3f) << 8) | usize::from(low)) + 1)
        } else {
            Op::Zero(usize::from(b & 0x3f) + 1)
        }
    }

    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    fn size(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
}

fn val_byte(value: u8, len: usize) -> u8 {
    ((value - 1) << 2 | (len as u8 - 1)) | VAL_BIT
}

/// Writes a ZERO or an XZERO run of `len`, whichever fits, as `hllSparseSet` does.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        let l = len - 1;
        seq.push((l >> 8) as u8 | XZERO_BIT);
        seq.push((l & 0xff) as u8);
    } else {
        seq.push((len - 1) as u8);
    }
}

/// A new empty HLL, sparse (`createHLLObject`).
pub fn new_sparse() -> Vec<u8> {
    let mut s = b"HYLL".to_vec();
    s.push(SPARSE);
    s.resize(HDR, 0);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(XZERO_MAX_LEN);
        push_zeros(&mut s, run);
        left -= run;
    }
    s
}

/// `isHLLObjectOrReply`'s checks on a string value.
pub fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR
        && s.starts_with(b"HYLL")
        && s[ENCODING] <= SPARSE
        && (s[ENCODING] != DENSE || s.len() == DENSE_SIZE)
}

pub fn encoding(s: &[u8]) -> u8 {
    s[ENCODING]
}

/// The cached cardinality, when valid.
pub fn cached(s: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(s[CARD..HDR].try_into().ok()?);
    (card >> 63 == 0).then_some(card)
}

pub fn set_cache(s: &mut [u8], card: u64) {
    s[CARD..HDR].copy_from_slice(&card.to_le_bytes());
}

pub fn invalidate_cache(s: &mut [u8]) {
    s[HDR - 1] |= 0x80;
}

/// Register `i` of packed dense registers.
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let (byte, fb) = (i * BITS / 8, (i * BITS) & 7);
    let b0 = u16::from(regs[byte]);
    let b1 = u16::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & u16::from(REGISTER_MAX)) as u8
}

pub fn dense_put(regs: &mut [u8], i: usize, value: u8) {
    let (byte, fb) = (i * BITS / 8, (i * BITS) & 7);
    let v = u16::from(value);
    regs[byte] &= !((u16::from(REGISTER_MAX) << fb) as u8);
    regs[byte] |= (v << fb) as u8;
    if let Some(next) = regs.get_mut(byte + 1) {
        *next &= !(u16::from(REGISTER_MAX) >> (8 - fb)) as u8;
        *next |= (v >> (8 - fb)) as u8;
    }
}

/// `hllDenseSet`: raises register `i` to `count`; true when it changed.
pub fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

/// `hllSparseToDense`: converts in place (a dense HLL is left as is). The header, cached
/// cardinality included, is kept.
pub fn sparse_to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    if s[ENCODING] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR].copy_from_slice(&s[..HDR]);
    dense[ENCODING] = DENSE;
    let (mut idx, mut p) = (0, HDR);
    while p < s.len() {
        let op = Op::at(s, p);
        if let Op::Val(value, run) = op {
            if run + idx > REGISTERS {
                break;
            }
            for i in idx..idx + run {
                dense_put(&mut dense[HDR..], i, value);
            }
        }
        idx += op.span();
        p += op.size();
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *s = dense;
    Ok(())
}

/// `hllSparseSet`: raises register `index` to `count` in a sparse HLL, promoting it to
/// dense when `count` does not fit a VAL or the string would grow beyond `max_bytes`.
/// 1 when a register changed, 0 when not, `Err` for a corrupt representation.
pub fn sparse_set(
    s: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: u64,
) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Step 1: the opcode covering `index`.
    let mut end = s.len();
    let (mut p, mut first, mut prev, mut span) = (HDR, 0, None, 0);
    let mut op = Op::Zero(0);
    while p < end {
        op = Op::at(s, p);
        span = op.span();
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += op.size();
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    // Step 2: the trivial cases, or the split sequence.
    let runlen = op.span();
    let mut done = false;
    if let Op::Val(old, run) = op {
        if old >= count {
            return Ok(false);
        }
        if run == 1 {
            s[p] = val_byte(count, 1);
            done = true;
        }
    }
    if op == Op::Zero(1) {
        s[p] = val_byte(count, 1);
        done = true;
    }
    if !done {
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        match op {
            Op::Val(current, _) => {
                if index != first {
                    seq.push(val_byte(current, index - first));
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    seq.push(val_byte(current, last - index));
                }
            }
            _ => {
                if index != first {
                    push_zeros(&mut seq, index - first);
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    push_zeros(&mut seq, last - index);
                }
            }
        }
        debug_assert!(runlen >= 1);
        // Step 3: the new sequence replaces the old opcode.
        let oldlen = op.size();
        if seq.len() > oldlen && (s.len() + seq.len() - oldlen) as u64 > max_bytes {
            return promote(s, index, count);
        }
        let oldend = (p + oldlen).min(s.len());
        s.splice(p..oldend, seq.iter().copied());
        end = s.len();
    }
    // Step 4: merge adjacent VALs of the same value, up to 5 opcodes from `prev`.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        match Op::at(s, p) {
            Op::XZero(_) => {
                p += 2;
                continue;
            }
            Op::Zero(_) => {
                p += 1;
                continue;
            }
            Op::Val(v1, l1) => {
                if p + 1 < end {
                    if let Op::Val(v2, l2) = Op::at(s, p + 1) {
                        if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                            s[p + 1] = val_byte(v1, l1 + l2);
                            s.remove(p);
                            end -= 1;
                            continue;
                        }
                    }
                }
            }
        }
        p += 1;
    }
    invalidate_cache(s);
    Ok(true)
}

fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(s)?;
    dense_set(&mut s[HDR..], index, count);
    Ok(true)
}

/// Raises register `index` to `count` whatever the encoding (`hllAdd` after hashing).
pub fn set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: u64) -> Result<bool, Corrupt> {
    match s[ENCODING] {
        DENSE => Ok(dense_set(&mut s[HDR..], index, count)),
        _ => sparse_set(s, index, count, max_bytes),
    }
}

/// `hllMerge`: `max[i] = max(max[i], register i)`.
pub fn merge_into(max: &mut [u8], s: &[u8]) -> Result<(), Corrupt> {
    if s[ENCODING] == DENSE {
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            *m = (*m).max(dense_get(&s[HDR..], i));
        }
        return Ok(());
    }
    let (mut i, mut p) = (0, HDR);
    while p < s.len() {
        let op = Op::at(s, p);
        if let Op::Val(value, run) = op {
            if run + i > REGISTERS {
                break;
            }
            for m in &mut max[i..i + run] {
                *m = (*m).max(value);
            }
        }
        i += op.span();
        p += op.size();
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// How many registers hold each value; `Err` when a sparse HLL does not cover exactly
/// [`REGISTERS`] registers (`hllDenseRegHisto` / `hllSparseRegHisto`).
pub fn histogram(s: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut hist = [0u32; 64];
    if s[ENCODING] == DENSE {
        for i in 0..REGISTERS {
            hist[usize::from(dense_get(&s[HDR..], i))] += 1;
        }
        return Ok(hist);
    }
    let (mut idx, mut p) = (0, HDR);
    while p < s.len() {
        let op = Op::at(s, p);
        let value = match op {
            Op::Val(value, _) => usize::from(value),
            _ => 0,
        };
        hist[value] += op.span() as u32;
        idx += op.span();
        p += op.size();
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    Ok(hist)
}

/// The histogram of unpacked registers (one byte each, `HLL_RAW`).
pub fn raw_histogram(max: &[u8]) -> [u32; 64] {
    let mut hist = [0u32; 64];
    for &r in max {
        hist[usize::from(r & 63)] += 1;
    }
    hist
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_hll_is_one_xzero() {
        let s = new_sparse();
        assert_eq!(s, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert!(is_hll(&s));
        assert_eq!(cached(&s), Some(0));
        assert_eq!(histogram(&s).unwrap()[0], REGISTERS as u32);
    }

    #[test]
    fn dense_registers_pack_six_bits() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        dense_put(&mut regs, 0, 0x3f);
        assert_eq!(&regs[..2], &[0x3f, 0]);
        dense_put(&mut regs, 1, 0x21);
        // Register 1: bits 6..12 → low 2 bits in byte 0's top, the rest in byte 1.
        assert_eq!(&regs[..2], &[0x7f, 0x08]);
        dense_put(&mut regs, REGISTERS - 1, 0x2a);
        assert_eq!(regs[regs.len() - 1], 0x2a << 2);
        for (i, v) in [(0, 0x3f), (1, 0x21), (2, 0), (REGISTERS - 1, 0x2a)] {
            assert_eq!(dense_get(&regs, i), v);
        }
        let mut vals = [0u8; 64];
        for (i, v) in vals.iter_mut().enumerate() {
            *v = (i * 7 % 64) as u8;
            dense_put(&mut regs, 100 + i, *v);
        }
        for (i, v) in vals.iter().enumerate() {
            assert_eq!(dense_get(&regs, 100 + i), *v);
        }
        assert!(!dense_set(&mut regs, 0, 5));
        assert!(dense_set(&mut regs, 2, 5));
    }

    #[test]
    fn sparse_splits_and_merges() {
        let mut s = new_sparse();
        assert_eq!(sparse_set(&mut s, 0, 3, 3000), Ok(true));
        // VAL(3,1) then XZERO(16383).
        assert_eq!(&s[HDR..], &[0x88, 0x7f, 0xfe]);
        assert_eq!(cached(&s), None);
        assert_eq!(sparse_set(&mut s, 0, 2, 3000), Ok(false));
        assert_eq!(sparse_set(&mut s, 1, 3, 3000), Ok(true));
        // Merged into VAL(3,2).
        assert_eq!(&s[HDR..], &[0x89, 0x7f, 0xfd]);
        assert_eq!(sparse_set(&mut s, 100, 1, 3000), Ok(true));
        assert_eq!(&s[HDR..], &[0x89, 0x40, 0x61, 0x80, 0x7f, 0x9a]);
        let hist = histogram(&s).unwrap();
        assert_eq!((hist[0], hist[1], hist[3]), (REGISTERS as u32 - 3, 1, 2));
    }

    #[test]
    fn sparse_to_dense_keeps_registers() {
        let mut s = new_sparse();
        let mut max = vec![0u8; REGISTERS];
        for (i, v) in [(5, 1), (6, 2), (7000, 32), (REGISTERS - 1, 4)] {
            sparse_set(&mut s, i, v, 3000).unwrap();
            max[i] = v;
        }
        let sparse = s.clone();
        sparse_to_dense(&mut s).unwrap();
        assert_eq!(s.len(), DENSE_SIZE);
        assert_eq!(encoding(&s), DENSE);
        assert!(is_hll(&s));
        assert_eq!(histogram(&s), histogram(&sparse));
        let mut merged = vec![0u8; REGISTERS];
        merge_into(&mut merged, &s).unwrap();
        assert_eq!(merged, max);
        merged.fill(0);
        merge_into(&mut merged, &sparse).unwrap();
        assert_eq!(merged, max);
    }

    #[test]
    fn promotions() {
        let mut s = new_sparse();
        assert_eq!(sparse_set(&mut s, 9, 33, 3000), Ok(true));
        assert_eq!(encoding(&s), DENSE);
        assert_eq!(dense_get(&s[HDR..], 9), 33);
        let mut s = new_sparse();
        // 18 bytes; a split needing 3 more bytes exceeds a 20-byte limit.
        assert_eq!(sparse_set(&mut s, 200, 1, 20), Ok(true));
        assert_eq!(encoding(&s), DENSE);
    }

    #[test]
    fn corrupt_sparse_is_detected() {
        let mut s = new_sparse();
        s.truncate(HDR + 1);
        s.push(0x00);
        assert_eq!(histogram(&s), Err(Corrupt));
        assert_eq!(sparse_to_dense(&mut s.clone()), Err(Corrupt));
        assert_eq!(merge_into(&mut [0; REGISTERS], &s), Err(Corrupt));
    }
}
