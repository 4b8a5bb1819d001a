//! Redis 7.0's `geohash_helper.c` geometry: the haversine distance on a sphere of radius
//! 6372797.560856 m, the radius and box membership tests, the bounding box of a search
//! shape and the geohash precision a search radius needs.

/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// `geohashGetDistance`: the great-circle distance in meters.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let (lat1r, lon1r) = (deg_rad(lat1d), deg_rad(lon1d));
    let (lat2r, lon2r) = (deg_rad(lat2d), deg_rad(lon2d));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_IN_METERS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// `geohashGetDistanceIfInRadiusWGS84`: the distance when within `radius` meters.
pub fn within_radius(x1: f64, y1: f64, x2: f64, y2: f64, radius: f64) -> Option<f64> {
    let d = distance(x1, y1, x2, y2);
    (d <= radius).then_some(d)
}

/// `geohashGetDistanceIfInRectangle`: the distance from the centre `(x1, y1)` when
/// `(x2, y2)` lies in the `width_m` × `height_m` box around it.
pub fn within_box(width_m: f64, height_m: f64, x1: f64, y1: f64, x2: f64, y2: f64) -> Option<f64> {
    let lon_distance = distance(x2, y2, x1, y2);
    let lat_distance = distance(x2, y2, x2, y1);
    if lon_distance > width_m / 2.0 || lat_distance > height_m / 2.0 {
        return None;
    }
    Some(distance(x1, y1, x2, y2))
}

/// `geohashEstimateStepsByRadius`: the cell precision whose 9 areas cover the radius.
pub fn estimate_steps(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range = range_meters;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// `geohashBoundingBox`: `[min_lon, min_lat, max_lon, max_lat]` around `xy` for half
/// sizes `width` and `height` in meters.
pub fn bounding_box(xy: [f64; 2], width: f64, height: f64) -> [f64; 4] {
    let [longitude, latitude] = xy;
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
    let long_delta_bottom =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
    let long_delta = if latitude < 0.0 {
        long_delta_bottom
    } else {
        long_delta_top
    };
    [
        longitude - long_delta,
        latitude - lat_delta,
        longitude + long_delta,
        latitude + lat_delta,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_like_redis() {
        // GEODIST Sicily Palermo Catania → 166274.1516 (the stored cell centres).
        let d = distance(
            13.361_389_338_970_184,
            38.115_556_395_496_3,
            15.087_267_458_438_873,
            37.502_668_423_331_62,
        );
        assert_eq!(format!("{d:.4}"), "166274.1516");
        assert_eq!(distance(1.0, 2.0, 1.0, 2.0), 0.0);
        assert!(within_radius(0.0, 0.0, 0.0, 1.0, 111_000.0).is_none());
        assert!(within_radius(0.0, 0.0, 0.0, 1.0, 112_000.0).is_some());
    }

    #[test]
    fn box_and_steps() {
        assert!(within_box(200_000.0, 10.0, 0.0, 0.0, 0.5, 0.0).is_some());
        assert!(within_box(200_000.0, 10.0, 0.0, 0.0, 0.5, 0.1).is_none());
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert_eq!(estimate_steps(200_000.0, 38.0), 6);
        assert_eq!(estimate_steps(200_000.0, 85.0), 4);
        let b = bounding_box([0.0, 0.0], 1000.0, 1000.0);
        assert!(b[0] < 0.0 && b[2] > 0.0 && (b[1] + b[3]).abs() < 1e-12);
    }
}
