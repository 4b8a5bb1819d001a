//! The packed encodings Redis before 7.0 wrote and 7.0 still loads: ziplists (header of
//! total bytes u32 LE, tail offset u32 LE, count u16 LE; entries of previous length,
//! encoding, data; a 0xFF terminator) and intsets. Integers come back as decimal text.

use bytes::Bytes;

use super::reader::array;
use super::{Parse, PayloadError};

const HEADER_LEN: usize = 10;
const END: u8 = 0xff;
const BIG_PREVLEN: u8 = 0xfe;

/// The elements of the ziplist `blob`.
pub fn decode(blob: &Bytes) -> Parse<Vec<Bytes>> {
    let total = u32::from_le_bytes(array(blob, 0)?) as usize;
    if total != blob.len() {
        return Err(PayloadError::BadData);
    }
    let mut items = Vec::new();
    let mut pos = HEADER_LEN;
    loop {
        let first = *blob.get(pos).ok_or(PayloadError::BadData)?;
        if first == END {
            break;
        }
        pos += if first == BIG_PREVLEN { 5 } else { 1 };
        let (item, len) = entry(blob, pos)?;
        items.push(item);
        pos += len;
    }
    if pos + 1 != blob.len() {
        return Err(PayloadError::BadData);
    }
    Ok(items)
}

/// The entry whose encoding starts at `pos`: its value and its length from there.
fn entry(blob: &Bytes, pos: usize) -> Parse<(Bytes, usize)> {
    let first = *blob.get(pos).ok_or(PayloadError::BadData)?;
    let int = |v: i64, len: usize| Ok((Bytes::from(v.to_string()), len));
    match first {
        0x00..=0x3f => string(blob, pos + 1, usize::from(first), 1),
        0x40..=0x7f => {
            let low = *blob.get(pos + 1).ok_or(PayloadError::BadData)?;
            string(
                blob,
                pos + 2,
                usize::from(first & 0x3f) << 8 | usize::from(low),
                2,
            )
        }
        0x80 => string(
            blob,
            pos + 5,
            u32::from_be_bytes(array(blob, pos + 1)?) as usize,
            5,
        ),
        0xc0 => int(i64::from(i16::from_le_bytes(array(blob, pos + 1)?)), 3),
        0xd0 => int(i64::from(i32::from_le_bytes(array(blob, pos + 1)?)), 5),
        0xe0 => int(i64::from_le_bytes(array(blob, pos + 1)?), 9),
        0xf0 => {
            let [a, b, c] = array(blob, pos + 1)?;
            int(i64::from(i32::from_le_bytes([0, a, b, c]) >> 8), 4)
        }
        0xfe => int(i64::from(i8::from_le_bytes(array(blob, pos + 1)?)), 2),
        0xf1..=0xfd => int(i64::from(first & 0x0f) - 1, 1),
        _ => Err(PayloadError::BadData),
    }
}

/// A string of `len` bytes at `at`, after a `header`-byte encoding.
fn string(blob: &Bytes, at: usize, len: usize, header: usize) -> Parse<(Bytes, usize)> {
    if at.checked_add(len).is_none_or(|end| end > blob.len()) {
        return Err(PayloadError::BadData);
    }
    Ok((blob.slice(at..at + len), header + len))
}

/// The members of the intset `blob`: width u32 LE (2, 4 or 8), count u32 LE, integers LE.
pub fn intset(blob: &Bytes) -> Parse<Vec<Bytes>> {
    let width = u32::from_le_bytes(array(blob, 0)?) as usize;
    let count = u32::from_le_bytes(array(blob, 4)?) as usize;
    let body = blob.get(8..).ok_or(PayloadError::BadData)?;
    if !matches!(width, 2 | 4 | 8) || count.checked_mul(width) != Some(body.len()) {
        return Err(PayloadError::BadData);
    }
    body.chunks_exact(width)
        .map(|chunk| {
            let value = match chunk {
                [a, b] => i64::from(i16::from_le_bytes([*a, *b])),
                [a, b, c, d] => i64::from(i32::from_le_bytes([*a, *b, *c, *d])),
                _ => i64::from_le_bytes(chunk.try_into().map_err(|_| PayloadError::BadData)?),
            };
            Ok(Bytes::from(value.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ziplist(entries: &[&[u8]]) -> Bytes {
        let mut body = Vec::new();
        for e in entries {
            body.push(0); // previous length: not read
            body.extend_from_slice(e);
        }
        let total = HEADER_LEN + body.len() + 1;
        let mut out = (total as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(END);
        Bytes::from(out)
    }

    #[test]
    fn decodes_every_entry_encoding() {
        let str14 = [&[0x41, 0x00][..], &[b'y'; 256][..]].concat();
        let blob = ziplist(&[
            &[0x02, b'h', b'i'],
            &str14,
            &[0x80, 0, 0, 0, 1, b'z'],
            &[0xc0, 0xff, 0xff],
            &[0xd0, 0x00, 0x00, 0x00, 0x80],
            &[0xe0, 1, 0, 0, 0, 0, 0, 0, 0],
            &[0xf0, 0xff, 0xff, 0xff],
            &[0xfe, 0x80],
            &[0xf1],
            &[0xfd],
        ]);
        let items: Vec<String> = decode(&blob)
            .unwrap()
            .iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect();
        let y = "y".repeat(256);
        let expected = [
            "hi",
            &y,
            "z",
            "-1",
            "-2147483648",
            "1",
            "-1",
            "-128",
            "0",
            "12",
        ];
        assert_eq!(items, expected);
    }

    #[test]
    fn decodes_intsets_and_refuses_bad_ones() {
        let blob = Bytes::from_static(&[2, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 7, 0]);
        assert_eq!(intset(&blob).unwrap(), vec!["-1", "7"]);
        let short = Bytes::from_static(&[2, 0, 0, 0, 3, 0, 0, 0, 1, 0]);
        assert!(intset(&short).is_err());
        let huge = Bytes::from_static(&[8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(intset(&huge).is_err());
        assert!(decode(&Bytes::from_static(&[
            0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05
        ]))
        .is_err());
    }
}
