//! Redis 7.0's cardinality estimator (`hllCount`): Otmar Ertl's improved estimator over
//! the register histogram ("New cardinality estimation algorithms for HyperLogLog
//! sketches", arXiv:1702.01284), with the same floating-point steps as the C code.

use super::registers::{Q, REGISTERS};

/// 0.5 / ln(2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let previous = z;
        z += x * y;
        y += y;
        if previous == z {
            return z;
        }
    }
}

/// `hllTau`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let previous = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if previous == z {
            return z / 3.0;
        }
    }
}

/// The estimated cardinality for a register histogram (`hist[v]` = registers holding `v`).
pub fn count(hist: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(hist[q + 1])) / m);
    for j in (1..=q).rev() {
        z += f64::from(hist[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(hist[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_small() {
        let mut hist = [0u32; 64];
        hist[0] = REGISTERS as u32;
        assert_eq!(count(&hist), 0);
        hist[0] -= 1;
        hist[1] = 1;
        assert_eq!(count(&hist), 1);
        hist[0] -= 2;
        hist[2] = 2;
        assert_eq!(count(&hist), 3);
    }

    #[test]
    fn alpha_is_redis_s_double() {
        assert_eq!(ALPHA_INF.to_bits(), 0x3fe7_1547_652b_82fe);
    }

    #[test]
    fn helpers_edge_values() {
        assert_eq!(sigma(1.0), f64::INFINITY);
        assert_eq!(sigma(0.0), 0.0);
        assert_eq!(tau(0.0), 0.0);
        assert_eq!(tau(1.0), 0.0);
        assert!(tau(0.5) > 0.0);
    }
}
