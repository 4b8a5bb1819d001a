//! Redis's `geohash.c`: 52-bit interleaved geohashes (latitude in the even bits,
//! longitude in the odd ones), their decoding into an area, and the eight neighbours of a
//! cell, with the same integer and floating-point steps as the C code.

/// The precision of a stored score: 26 bits per coordinate.
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;

/// A range of one coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// Redis's WGS84 ranges (`geohashGetCoordRange`): longitude, latitude.
pub const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
pub const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A geohash cell: `step` bits per coordinate. All zero is Redis's "no cell" (`GZERO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bits {
    pub bits: u64,
    pub step: u8,
}

impl Bits {
    /// `HASHISZERO`.
    pub fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// `geohashAlign52Bits`: the cell's first 52-bit score.
    pub fn align52(self) -> u64 {
        self.bits << (52 - u32::from(self.step) * 2)
    }
}

/// A cell's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

/// Spreads the low 32 bits of `v` to the even bits.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `v` into 32 bits.
fn squash(v: u64) -> u64 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    (x | (x >> 16)) & 0x0000_0000_FFFF_FFFF
}

/// `interleave64(xlo, ylo)`: `x` in the even bits, `y` in the odd ones.
fn interleave(x: u32, y: u32) -> u64 {
    spread(x) | (spread(y) << 1)
}

/// `deinterleave64`: the even bits in the low half, the odd ones in the high half.
fn deinterleave(v: u64) -> u64 {
    squash(v) | (squash(v >> 1) << 32)
}

/// `geohashEncode`: the cell of `step` bits holding the point, or `None` outside Redis's
/// limits or the given ranges.
pub fn encode(long: Range, lat: Range, longitude: f64, latitude: f64, step: u8) -> Option<Bits> {
    if step == 0 || step > 32 {
        return None;
    }
    let outside_limits =
        !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude);
    let outside_ranges =
        latitude < lat.min || latitude > lat.max || longitude < long.min || longitude > long.max;
    if outside_limits || outside_ranges {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat.min) / (lat.max - lat.min) * scale;
    let long_offset = (longitude - long.min) / (long.max - long.min) * scale;
    Some(Bits {
        bits: interleave(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// `geohashEncodeWGS84`.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<Bits> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// `geohashDecode`: the cell's bounds.
pub fn decode(long: Range, lat: Range, hash: Bits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave(hash.bits);
    let ilat = sep as u32;
    let ilong = (sep >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    let at = |r: Range, i: u32| r.min + (f64::from(i) / cells) * (r.max - r.min);
    Some(Area {
        latitude: Range {
            min: at(lat, ilat),
            max: at(lat, ilat.wrapping_add(1)),
        },
        longitude: Range {
            min: at(long, ilong),
            max: at(long, ilong.wrapping_add(1)),
        },
    })
}

/// `geohashDecodeAreaToLongLat`: the cell's centre, clamped to Redis's limits.
fn centre(area: &Area) -> [f64; 2] {
    let long = (area.longitude.min + area.longitude.max) / 2.0;
    let lat = (area.latitude.min + area.latitude.max) / 2.0;
    [long.clamp(LONG_MIN, LONG_MAX), lat.clamp(LAT_MIN, LAT_MAX)]
}

/// Redis's `decodeGeohash`: a sorted-set score → `[longitude, latitude]`.
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = Bits {
        bits: score as u64,
        step: STEP_MAX,
    };
    decode(LONG_RANGE, LAT_RANGE, hash).map(|a| centre(&a))
}

/// The score GEOADD stores for a point.
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(Bits::align52)
}

const EVEN: u64 = 0x5555_5555_5555_5555;
const ODD: u64 = 0xaaaa_aaaa_aaaa_aaaa;

/// `geohash_move_x` / `geohash_move_y`: steps `d` cells along the bits in `mine`.
fn step(hash: &mut Bits, d: i8, mine: u64, other: u64) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & mine;
    let y = hash.bits & other;
    let zz = other >> shift;
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x = (x | zz).wrapping_sub(zz.wrapping_add(1));
    }
    x &= mine >> shift;
    hash.bits = x | y;
}

/// Moves east (`d > 0`) or west along the longitude bits.
fn move_x(hash: &mut Bits, d: i8) {
    step(hash, d, ODD, EVEN);
}

/// Moves north (`d > 0`) or south along the latitude bits.
fn move_y(hash: &mut Bits, d: i8) {
    step(hash, d, EVEN, ODD);
}

/// A cell's eight neighbours.
#[derive(Debug, Clone, Copy, Default)]
pub struct Neighbors {
    pub north: Bits,
    pub south: Bits,
    pub east: Bits,
    pub west: Bits,
    pub north_east: Bits,
    pub north_west: Bits,
    pub south_east: Bits,
    pub south_west: Bits,
}

/// `geohashNeighbors`.
pub fn neighbors(hash: Bits) -> Neighbors {
    let moved = |dx: i8, dy: i8| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: moved(1, 0),
        west: moved(-1, 0),
        south: moved(0, -1),
        north: moved(0, 1),
        north_west: moved(-1, 1),
        south_west: moved(-1, -1),
        north_east: moved(1, 1),
        south_east: moved(1, -1),
    }
}

/// GEOHASH's text: the point re-encoded with the standard -90..90 latitude range, as 11
/// base32 characters (the last always `0`: there are only 52 bits).
pub fn standard_text(xy: [f64; 2]) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let lat = Range {
        min: -90.0,
        max: 90.0,
    };
    let hash = encode(LONG_RANGE, lat, xy[0], xy[1], STEP_MAX)?;
    let mut text = [b'0'; 11];
    for (i, c) in text.iter_mut().take(10).enumerate() {
        let idx = (hash.bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_redis() {
        // GEOADD Sicily 13.361389 38.115556 Palermo → WITHHASH 3479099956230698.
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        assert_eq!(score_of(181.0, 0.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
    }

    #[test]
    fn decodes_to_the_cell_centre() {
        let xy = decode_score(3479099956230698.0).unwrap();
        assert_eq!(format!("{:.17}", xy[0]), "13.36138933897018433");
        assert_eq!(format!("{:.17}", xy[1]), "38.11555639549629859");
        assert_eq!(&standard_text(xy).unwrap(), b"sqc8b49rny0");
    }

    #[test]
    fn interleaving_round_trips() {
        for (x, y) in [(0u32, 0u32), (1, 0), (0, 1), (0x3ff_ffff, 0x155_5555)] {
            let v = deinterleave(interleave(x, y));
            assert_eq!((v as u32, (v >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn neighbours_step_one_cell() {
        let h = Bits {
            bits: 0b0110,
            step: 2,
        };
        let n = neighbors(h);
        let lat = |b: Bits| squash(b.bits);
        let long = |b: Bits| squash(b.bits >> 1);
        assert_eq!((long(n.east), lat(n.east)), (long(h) + 1, lat(h)));
        assert_eq!((long(n.west), lat(n.west)), (long(h) - 1, lat(h)));
        assert_eq!((long(n.north), lat(n.north)), (long(h), lat(h) + 1));
        assert_eq!((long(n.south), lat(n.south)), (long(h), lat(h) - 1));
    }
}
