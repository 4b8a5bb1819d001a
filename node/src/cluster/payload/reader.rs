//! A bounds-checked cursor over an RDB-encoded object: lengths (6/14/32/64-bit), strings
//! (raw, 8/16/32-bit integers, LZF-compressed) and doubles (binary and text).

use bytes::{Buf, Bytes};

use super::{lzf, Parse, PayloadError};
use crate::db::value::parse_f64;

/// What an RDB length field holds: a length, or the kind of a specially encoded string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Plain(u64),
    /// `0b11xxxxxx`: 0, 1, 2 = an 8/16/32-bit integer, 3 = an LZF string.
    Encoded(u8),
}

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// The unread rest of an object.
pub struct Reader(Bytes);

impl Reader {
    pub fn new(bytes: Bytes) -> Reader {
        Reader(bytes)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn u8(&mut self) -> Parse<u8> {
        Ok(self.take(1)?.get_u8())
    }

    /// The next `n` bytes; fewer left is an error (so no length allocates past the input).
    pub fn take(&mut self, n: usize) -> Parse<Bytes> {
        if n > self.0.len() {
            return Err(PayloadError::BadData);
        }
        Ok(self.0.split_to(n))
    }

    /// A length field (Redis's `rdbLoadLenByRef`).
    pub fn length(&mut self) -> Parse<Length> {
        let first = self.u8()?;
        Ok(match first >> 6 {
            0 => Length::Plain(u64::from(first & 0x3f)),
            1 => Length::Plain(u64::from(first & 0x3f) << 8 | u64::from(self.u8()?)),
            3 => Length::Encoded(first & 0x3f),
            _ if first == 0x80 => Length::Plain(u64::from(self.take(4)?.get_u32())),
            _ if first == 0x81 => Length::Plain(self.take(8)?.get_u64()),
            _ => return Err(PayloadError::BadData),
        })
    }

    /// A plain length as a number (stream ids and counters).
    pub fn u64(&mut self) -> Parse<u64> {
        match self.length()? {
            Length::Plain(n) => Ok(n),
            Length::Encoded(_) => Err(PayloadError::BadData),
        }
    }

    /// A plain length that fits in memory.
    pub fn len(&mut self) -> Parse<usize> {
        usize::try_from(self.u64()?).map_err(|_| PayloadError::BadData)
    }

    /// A count of items that take at least one byte each, so at most what is left.
    pub fn count(&mut self) -> Parse<usize> {
        let n = self.len()?;
        if n > self.0.len() {
            return Err(PayloadError::BadData);
        }
        Ok(n)
    }

    /// A string in any of its encodings (Redis's `rdbGenericLoadStringObject`).
    pub fn string(&mut self) -> Parse<Bytes> {
        let int = |v: i64| Ok(Bytes::from(v.to_string()));
        match self.length()? {
            Length::Plain(n) => self.take(usize::try_from(n).map_err(|_| PayloadError::BadData)?),
            Length::Encoded(ENC_INT8) => int(i64::from(self.take(1)?.get_i8())),
            Length::Encoded(ENC_INT16) => int(i64::from(self.take(2)?.get_i16_le())),
            Length::Encoded(ENC_INT32) => int(i64::from(self.take(4)?.get_i32_le())),
            Length::Encoded(ENC_LZF) => self.lzf_string(),
            Length::Encoded(_) => Err(PayloadError::BadData),
        }
    }

    fn lzf_string(&mut self) -> Parse<Bytes> {
        let compressed_len = self.len()?;
        let len = self.len()?;
        let compressed = self.take(compressed_len)?;
        lzf::decompress(&compressed, len)
            .map(Bytes::from)
            .ok_or(PayloadError::BadData)
    }

    /// `count` strings.
    pub fn strings(&mut self, count: usize) -> Parse<Vec<Bytes>> {
        (0..count).map(|_| self.string()).collect()
    }

    /// A score of RDB_TYPE_ZSET_2: 8 bytes, little endian.
    pub fn binary_double(&mut self) -> Parse<f64> {
        Ok(f64::from_bits(self.take(8)?.get_u64_le()))
    }

    /// A score of the old RDB_TYPE_ZSET: a length byte (253 NaN, 254 +inf, 255 -inf) and
    /// that much text.
    pub fn text_double(&mut self) -> Parse<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            len => {
                let text = self.take(usize::from(len))?;
                parse_f64(&text).ok_or(PayloadError::BadData)
            }
        }
    }
}

/// `N` bytes of `blob` from `at` (listpack and ziplist headers and entries).
pub(super) fn array<const N: usize>(blob: &[u8], at: usize) -> Parse<[u8; N]> {
    blob.get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or(PayloadError::BadData)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &[u8]) -> Reader {
        Reader::new(Bytes::copy_from_slice(bytes))
    }

    #[test]
    fn decodes_every_length_width() {
        assert_eq!(reader(&[0x05]).length(), Ok(Length::Plain(5)));
        assert_eq!(reader(&[0x41, 0x02]).length(), Ok(Length::Plain(258)));
        assert_eq!(
            reader(&[0x80, 0, 1, 0, 0]).length(),
            Ok(Length::Plain(65536))
        );
        assert_eq!(
            reader(&[0x81, 0, 0, 0, 1, 0, 0, 0, 0]).length(),
            Ok(Length::Plain(1 << 32))
        );
        assert_eq!(reader(&[0xc3]).length(), Ok(Length::Encoded(3)));
        assert_eq!(reader(&[0x82]).length(), Err(PayloadError::BadData));
        assert_eq!(reader(&[0x80, 0]).length(), Err(PayloadError::BadData));
    }

    #[test]
    fn decodes_integer_strings() {
        assert_eq!(reader(&[0xc0, 0xfe]).string().unwrap(), "-2");
        assert_eq!(reader(&[0xc1, 0x39, 0x30]).string().unwrap(), "12345");
        assert_eq!(
            reader(&[0xc2, 0x00, 0x00, 0x00, 0x80]).string().unwrap(),
            "-2147483648"
        );
        assert_eq!(reader(&[0x03, b'a', b'b', b'c']).string().unwrap(), "abc");
    }

    #[test]
    fn refuses_lengths_past_the_input() {
        assert_eq!(reader(&[0x05, b'a']).string(), Err(PayloadError::BadData));
        let huge = [0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(reader(&huge).string(), Err(PayloadError::BadData));
        assert_eq!(reader(&huge).count(), Err(PayloadError::BadData));
        assert_eq!(reader(&[0xc4]).string(), Err(PayloadError::BadData));
    }

    #[test]
    fn decodes_text_doubles() {
        assert_eq!(reader(&[254]).text_double(), Ok(f64::INFINITY));
        assert_eq!(reader(&[255]).text_double(), Ok(f64::NEG_INFINITY));
        assert_eq!(reader(b"\x031.5").text_double(), Ok(1.5));
        assert_eq!(reader(b"\x061e+300").text_double(), Ok(1e300));
    }
}
