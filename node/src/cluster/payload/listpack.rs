//! Listpacks (Redis 7's packed encoding of small lists, hashes, sets and zsets, and of
//! stream nodes): a 6-byte header (total bytes u32 LE, element count u16 LE), entries each
//! followed by their backward length, and a 0xFF terminator. Decoded integers come back as
//! their decimal text; [`Writer`] encodes as Redis's `lpAppend` / `lpAppendInteger` do.

use bytes::Bytes;

use super::reader::array;
use super::{Parse, PayloadError};
use crate::db::value::parse_i64;

const HEADER_LEN: usize = 6;
const EOF: u8 = 0xff;
/// The header's count when there are too many elements to count there.
const UNKNOWN_COUNT: u16 = u16::MAX;

/// The elements of the listpack `blob`.
pub fn decode(blob: &Bytes) -> Parse<Vec<Bytes>> {
    let total = u32::from_le_bytes(array(blob, 0)?) as usize;
    let count = u16::from_le_bytes(array(blob, 4)?);
    if total != blob.len() {
        return Err(PayloadError::BadData);
    }
    let mut items = Vec::with_capacity(usize::from(count).min(blob.len()));
    let mut pos = HEADER_LEN;
    while *blob.get(pos).ok_or(PayloadError::BadData)? != EOF {
        let (item, len) = entry(blob, pos)?;
        items.push(item);
        pos += len + backlen_size(len);
    }
    let counted = count == UNKNOWN_COUNT || usize::from(count) == items.len();
    if pos + 1 != blob.len() || !counted {
        return Err(PayloadError::BadData);
    }
    Ok(items)
}

/// A listpack being built, entry by entry.
#[derive(Default)]
pub struct Writer {
    body: Vec<u8>,
    count: usize,
}

impl Writer {
    /// An integer in the smallest encoding that holds it (`lpEncodeIntegerGetType`).
    pub fn int(&mut self, v: i64) {
        let start = self.body.len();
        let le = v.to_le_bytes();
        match v {
            0..=127 => self.body.push(v as u8),
            -4096..=4095 => {
                let raw = (v & 0x1fff) as u16;
                self.body
                    .extend_from_slice(&[0xc0 | (raw >> 8) as u8, raw as u8]);
            }
            -32_768..=32_767 => self.body.extend([&[0xf1][..], &le[..2]].concat()),
            -8_388_608..=8_388_607 => self.body.extend([&[0xf2][..], &le[..3]].concat()),
            -2_147_483_648..=2_147_483_647 => self.body.extend([&[0xf3][..], &le[..4]].concat()),
            _ => self.body.extend([&[0xf4][..], &le[..]].concat()),
        }
        self.close_entry(start);
    }

    /// A string, as an integer when it is one's canonical text (Redis's `lpAppend`).
    pub fn string(&mut self, s: &[u8]) {
        if let Some(v) = parse_i64(s) {
            return self.int(v);
        }
        let start = self.body.len();
        let len = s.len();
        match len {
            0..=63 => self.body.push(0x80 | len as u8),
            64..=4095 => self
                .body
                .extend_from_slice(&[0xe0 | (len >> 8) as u8, len as u8]),
            _ => {
                self.body.push(0xf0);
                self.body.extend_from_slice(&(len as u32).to_le_bytes());
            }
        }
        self.body.extend_from_slice(s);
        self.close_entry(start);
    }

    /// Appends the backward length of the entry written from `start` (`lpEncodeBacklen`):
    /// 7 bits a byte, most significant first, every byte but the first flagged 0x80.
    fn close_entry(&mut self, start: usize) {
        let len = self.body.len() - start;
        let size = backlen_size(len);
        self.body.extend((0..size).rev().map(|i| {
            let bits = (len >> (7 * i)) as u8 & 0x7f;
            if i + 1 == size {
                bits
            } else {
                bits | 0x80
            }
        }));
        self.count += 1;
    }

    /// The listpack's bytes.
    pub fn finish(self) -> Vec<u8> {
        let total = HEADER_LEN + self.body.len() + 1;
        let count = u16::try_from(self.count).unwrap_or(UNKNOWN_COUNT);
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&self.body);
        out.push(EOF);
        out
    }
}

/// The entry at `pos`: its value and its length without the backward length.
fn entry(blob: &Bytes, pos: usize) -> Parse<(Bytes, usize)> {
    let first = *blob.get(pos).ok_or(PayloadError::BadData)?;
    let byte = |i: usize| blob.get(pos + i).copied().ok_or(PayloadError::BadData);
    let int = |v: i64, len: usize| Ok((Bytes::from(v.to_string()), len));
    match first {
        0x00..=0x7f => int(i64::from(first), 1),
        0x80..=0xbf => string(blob, pos + 1, usize::from(first & 0x3f), 1),
        0xc0..=0xdf => int(int13(first, byte(1)?), 2),
        0xe0..=0xef => {
            let len = usize::from(first & 0x0f) << 8 | usize::from(byte(1)?);
            string(blob, pos + 2, len, 2)
        }
        0xf0 => {
            let len = u32::from_le_bytes(array(blob, pos + 1)?) as usize;
            string(blob, pos + 5, len, 5)
        }
        0xf1 => int(i64::from(i16::from_le_bytes(array(blob, pos + 1)?)), 3),
        0xf2 => {
            let [a, b, c] = array(blob, pos + 1)?;
            int(i64::from(i32::from_le_bytes([0, a, b, c]) >> 8), 4)
        }
        0xf3 => int(i64::from(i32::from_le_bytes(array(blob, pos + 1)?)), 5),
        0xf4 => int(i64::from_le_bytes(array(blob, pos + 1)?), 9),
        _ => Err(PayloadError::BadData),
    }
}

/// A 13-bit two's-complement integer from the low 5 bits of `high` and `low`.
fn int13(high: u8, low: u8) -> i64 {
    let raw = i64::from(high & 0x1f) << 8 | i64::from(low);
    if raw >= 1 << 12 {
        raw - (1 << 13)
    } else {
        raw
    }
}

/// A string of `len` bytes at `at`, after a `header`-byte encoding.
fn string(blob: &Bytes, at: usize, len: usize, header: usize) -> Parse<(Bytes, usize)> {
    if at.checked_add(len).is_none_or(|end| end > blob.len()) {
        return Err(PayloadError::BadData);
    }
    Ok((blob.slice(at..at + len), header + len))
}

/// How many bytes the backward length of a `len`-byte entry takes (`lpEncodeBacklen`).
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listpack of `entries` (each an encoded entry without its backward length).
    fn listpack(entries: &[&[u8]]) -> Bytes {
        let mut body = Vec::new();
        for e in entries {
            body.extend_from_slice(e);
            let len = e.len();
            body.extend(std::iter::repeat_n(0u8, backlen_size(len)));
        }
        let total = HEADER_LEN + body.len() + 1;
        let mut out = (total as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(EOF);
        Bytes::from(out)
    }

    #[test]
    fn decodes_every_entry_encoding() {
        let str12 = [&[0xe0 | 0x01, 0x00][..], &[b'x'; 256][..]].concat();
        let str32 = [&[0xf0, 0x03, 0, 0, 0][..], b"big"].concat();
        let blob = listpack(&[
            &[0x05],
            &[0x83, b'a', b'b', b'c'],
            &[0xdf, 0xff],
            &[0xc0 | 0x01, 0x00],
            &str12,
            &str32,
            &[0xf1, 0x00, 0x80],
            &[0xf2, 0xff, 0xff, 0x7f],
            &[0xf3, 0x00, 0x00, 0x00, 0x80],
            &[0xf4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ]);
        let items = decode(&blob).unwrap();
        let expected: Vec<Bytes> = [
            "5",
            "abc",
            "-1",
            "256",
            &"x".repeat(256),
            "big",
            "-32768",
            "8388607",
            "-2147483648",
            "9223372036854775807",
        ]
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
        assert_eq!(items, expected);
    }

    #[test]
    fn writes_what_it_reads() {
        let ints = [
            0, 127, 128, -1, 4095, -4096, 4096, 32767, -32768, 32768, 8388607,
        ];
        let ints = ints
            .into_iter()
            .chain([-8388609, 1 << 31, i64::MIN, i64::MAX]);
        let strings = ["", "-0", "007", "x", &"y".repeat(64), &"z".repeat(5000)];
        let strings = strings.map(String::from);
        let big = "w".repeat(20_000);
        let mut lp = Writer::default();
        let mut expected = Vec::new();
        for v in ints {
            lp.int(v);
            expected.push(v.to_string());
        }
        for s in strings.iter().chain([&big]) {
            lp.string(s.as_bytes());
            expected.push(s.clone());
        }
        lp.string(b"-12");
        expected.push("-12".into());
        let blob = Bytes::from(lp.finish());
        let items: Vec<String> = decode(&blob)
            .unwrap()
            .iter()
            .map(|i| String::from_utf8_lossy(i).into_owned())
            .collect();
        assert_eq!(items, expected);
        // A 202-byte entry (2-byte header, 200 bytes): its backlen as lpEncodeBacklen writes it.
        let mut lp = Writer::default();
        lp.string(&[b'q'; 200]);
        let blob = lp.finish();
        assert_eq!(blob[HEADER_LEN..HEADER_LEN + 2], [0xe0, 200]);
        assert_eq!(
            blob[blob.len() - 3..blob.len() - 1],
            [202 >> 7, (202 & 127) | 128]
        );
    }

    #[test]
    fn refuses_malformed_listpacks() {
        let good = listpack(&[&[0x83, b'a', b'b', b'c']]);
        assert!(decode(&good).is_ok());
        assert!(decode(&good.slice(..good.len() - 1)).is_err());
        let mut wrong_count = good.to_vec();
        wrong_count[4] = 2;
        assert!(decode(&Bytes::from(wrong_count)).is_err());
        let huge = listpack(&[&[0xf0, 0xff, 0xff, 0xff, 0x7f]]);
        assert!(decode(&huge).is_err());
        assert!(decode(&Bytes::from_static(b"\x01")).is_err());
    }
}
