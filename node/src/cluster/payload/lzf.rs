//! LZF decompression (liblzf's `lzf_decompress`), for the strings Redis compresses in DUMP
//! payloads. The output never grows past the declared length.

/// Decompresses `input` into exactly `len` bytes; `None` when the data is corrupt or does
/// not produce exactly `len` bytes.
pub fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    // An LZF back reference expands at most 3 input bytes into 264 output bytes.
    let mut out = Vec::with_capacity(len.min(input.len().saturating_mul(88)));
    let mut pos = 0;
    while let Some(&ctrl) = input.get(pos) {
        pos += 1;
        if ctrl < 32 {
            let run = usize::from(ctrl) + 1;
            out.extend_from_slice(input.get(pos..pos + run)?);
            pos += run;
        } else {
            let (run, distance, used) = back_reference(ctrl, input.get(pos..)?)?;
            pos += used;
            copy_back(&mut out, run, distance)?;
        }
        if out.len() > len {
            return None;
        }
    }
    (out.len() == len).then_some(out)
}

/// A back reference's (length, distance, extra bytes read) from its control byte.
fn back_reference(ctrl: u8, rest: &[u8]) -> Option<(usize, usize, usize)> {
    let mut run = usize::from(ctrl >> 5);
    let mut used = 0;
    if run == 7 {
        run += usize::from(*rest.first()?);
        used += 1;
    }
    let low = usize::from(*rest.get(used)?);
    used += 1;
    let distance = (usize::from(ctrl & 0x1f) << 8 | low) + 1;
    Some((run + 2, distance, used))
}

/// Appends `run` bytes copied from `distance` back (the source may overlap the output).
fn copy_back(out: &mut Vec<u8>, run: usize, distance: usize) -> Option<()> {
    let start = out.len().checked_sub(distance)?;
    for i in start..start + run {
        let byte = *out.get(i)?;
        out.push(byte);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompresses_literals_and_back_references() {
        // "aaaaaaaaaa": literal 'a', then a back reference of 9 at distance 1.
        let data = [0x00, b'a', 0xe0, 0x00, 0x00];
        assert_eq!(decompress(&data, 10).unwrap(), b"aaaaaaaaaa");
        // "abcabcabc": literal "abc", then 6 bytes from 3 back (ctrl = (6-2)<<5 | 0).
        let data = [0x02, b'a', b'b', b'c', 0x80, 0x02];
        assert_eq!(decompress(&data, 9).unwrap(), b"abcabcabc");
    }

    #[test]
    fn refuses_corrupt_input() {
        assert_eq!(decompress(&[0x05, b'a'], 6), None);
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x05], 4), None);
        assert_eq!(decompress(&[0x00, b'a', 0xe0, 0x00, 0x00], 5), None);
        assert_eq!(decompress(&[0x00, b'a'], 2), None);
    }
}
