//! CRC-64 (the Jones polynomial Redis uses for DUMP payloads, reflected, init 0): the
//! checksum of cluster bus messages and of DUMP payloads (Redis's format).

const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

const TABLE: [u64; 256] = table();

const fn table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// The CRC-64/Jones of `data`.
pub fn crc64(data: &[u8]) -> u64 {
    data.iter().fold(0u64, |crc, &byte| {
        TABLE[((crc ^ u64::from(byte)) & 0xff) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_test_vector() {
        // redis/src/crc64.c: crc64(0, "123456789") == 0xe9c6d914c4b8d9ca
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b""), 0);
    }
}
