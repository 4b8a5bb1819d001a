//! The area search behind GEOSEARCH and GEORADIUS: Redis's
//! `geohashCalculateAreasByShapeWGS84` (a cell and its eight neighbours, with the step
//! estimated from the radius and pruned neighbours) and `membersOfAllNeighbors`, which
//! walks each cell's score range in Redis's order and keeps the points inside the shape.

use bytes::Bytes;

use super::distance::{bounding_box, estimate_steps, within_box, within_radius};
use super::hash::{self, decode, encode, Area, Bits, LAT_RANGE, LONG_RANGE};
use crate::db::zset::ZSet;

/// What to search: a circle or a box (sizes in the unit), around `xy`.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Radius(f64),
    Box { width: f64, height: f64 },
}

/// Redis's `GeoShape`.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub xy: [f64; 2],
    pub kind: Kind,
    /// Meters per unit.
    pub conversion: f64,
}

/// A point found: Redis's `geoPoint`.
#[derive(Debug, Clone)]
pub struct Point {
    pub member: Bytes,
    pub xy: [f64; 2],
    /// Meters from the centre.
    pub dist: f64,
    pub score: f64,
}

impl Shape {
    /// The bounding box half sizes, in meters.
    fn half_sizes(&self) -> (f64, f64) {
        match self.kind {
            Kind::Radius(r) => (r * self.conversion, r * self.conversion),
            Kind::Box { width, height } => (
                width / 2.0 * self.conversion,
                height / 2.0 * self.conversion,
            ),
        }
    }

    /// The radius that covers the shape, in meters.
    fn radius_meters(&self) -> f64 {
        let r = match self.kind {
            Kind::Radius(r) => r,
            Kind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        };
        r * self.conversion
    }

    /// `geoWithinShape`: the point's coordinates and distance when inside.
    fn contains(&self, score: f64) -> Option<([f64; 2], f64)> {
        let xy = hash::decode_score(score)?;
        let [x, y] = self.xy;
        let c = self.conversion;
        let dist = match self.kind {
            Kind::Radius(r) => within_radius(x, y, xy[0], xy[1], r * c)?,
            Kind::Box { width, height } => within_box(width * c, height * c, x, y, xy[0], xy[1])?,
        };
        Some((xy, dist))
    }
}

/// The cell at `steps` around the centre, its neighbours and its area.
fn cells_at(xy: [f64; 2], steps: u8) -> (Bits, hash::Neighbors, Option<Area>) {
    let cell = encode(LONG_RANGE, LAT_RANGE, xy[0], xy[1], steps).unwrap_or_default();
    let n = hash::neighbors(cell);
    (cell, n, decode(LONG_RANGE, LAT_RANGE, cell))
}

/// Whether a neighbour misses part of the bounding box (the step must then decrease).
fn too_fine(n: &hash::Neighbors, b: [f64; 4]) -> bool {
    let area = |h: Bits| decode(LONG_RANGE, LAT_RANGE, h);
    let (north, south) = (area(n.north), area(n.south));
    let (east, west) = (area(n.east), area(n.west));
    north.is_some_and(|a| a.latitude.max < b[3])
        || south.is_some_and(|a| a.latitude.min > b[1])
        || east.is_some_and(|a| a.longitude.max < b[2])
        || west.is_some_and(|a| a.longitude.min > b[0])
}

/// Drops the neighbours beyond the bounding box (`GZERO`).
fn prune(n: &mut hash::Neighbors, area: &Area, b: [f64; 4]) {
    let zero = Bits::default();
    if area.latitude.min < b[1] {
        (n.south, n.south_west, n.south_east) = (zero, zero, zero);
    }
    if area.latitude.max > b[3] {
        (n.north, n.north_east, n.north_west) = (zero, zero, zero);
    }
    if area.longitude.min < b[0] {
        (n.west, n.south_west, n.north_west) = (zero, zero, zero);
    }
    if area.longitude.max > b[2] {
        (n.east, n.south_east, n.north_east) = (zero, zero, zero);
    }
}

/// `geohashCalculateAreasByShapeWGS84`: the nine cells to scan, in Redis's order (self,
/// N, S, E, W, NE, NW, SE, SW), pruned ones zero.
pub fn areas(shape: &Shape) -> [Bits; 9] {
    let (w, h) = shape.half_sizes();
    let b = bounding_box(shape.xy, w, h);
    let mut steps = estimate_steps(shape.radius_meters(), shape.xy[1]);
    let (mut cell, mut n, mut area) = cells_at(shape.xy, steps);
    if steps > 1 && too_fine(&n, b) {
        steps -= 1;
        (cell, n, area) = cells_at(shape.xy, steps);
    }
    if let Some(area) = area.filter(|_| steps >= 2) {
        prune(&mut n, &area, b);
    }
    [
        cell,
        n.north,
        n.south,
        n.east,
        n.west,
        n.north_east,
        n.north_west,
        n.south_east,
        n.south_west,
    ]
}

/// `membersOfAllNeighbors`: the points inside the shape, cell after cell (a cell equal to
/// the one scanned before is skipped), stopping once `limit` (when not 0) are found.
pub fn members(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let cells = areas(shape);
    let mut found = Vec::new();
    // Like Redis's `last_processed`, 0 also means "none": the centre cell is never
    // compared with.
    let mut last = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() || (last != 0 && cells[last] == *cell) {
            continue;
        }
        if limit != 0 && found.len() >= limit {
            break;
        }
        in_cell(z, *cell, shape, limit, &mut found);
        last = i;
    }
    found
}

/// `membersOfGeoHashBox`: the points whose score lies in the cell's range.
fn in_cell(z: &ZSet, cell: Bits, shape: &Shape, limit: usize, found: &mut Vec<Point>) {
    let min = cell.align52() as f64;
    let max = Bits {
        bits: cell.bits.wrapping_add(1),
        step: cell.step,
    }
    .align52() as f64;
    for (member, score) in z.from_score(min) {
        if score >= max {
            break;
        }
        if let Some((xy, dist)) = shape.contains(score) {
            found.push(Point {
                member: member.clone(),
                xy,
                dist,
                score,
            });
        }
        if limit != 0 && found.len() >= limit {
            break;
        }
    }
}
