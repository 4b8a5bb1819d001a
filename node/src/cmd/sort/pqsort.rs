//! Redis's `pqsort` (`pqsort.c`): a partial quicksort whose swaps match Redis's, so that
//! elements that compare equal end up where Redis puts them.

use std::cmp::Ordering;

use super::Item;

/// Redis's `pqsort` (NetBSD's `qsort`, a Bentley–McIlroy quicksort, that only recurses
/// into partitions overlapping `[lrange, rrange]`): the same swaps, so equal elements end
/// up in Redis's order.
pub(super) fn pqsort(
    v: &mut [Item],
    cmp: &dyn Fn(&Item, &Item) -> Ordering,
    lrange: i64,
    rrange: i64,
) {
    let mut a = 0usize;
    let mut n = v.len();
    let outside = |a: usize, n: usize| {
        let (l, r) = (a as i64, (a + n) as i64);
        (lrange < l && rrange < l) || (lrange >= r && rrange >= r)
    };
    let c = |v: &[Item], i: usize, j: usize| cmp(&v[i], &v[j]);
    let med3 = |v: &[Item], x: usize, y: usize, z: usize| {
        if c(v, x, y).is_lt() {
            if c(v, y, z).is_lt() {
                y
            } else if c(v, x, z).is_lt() {
                z
            } else {
                x
            }
        } else if c(v, y, z).is_gt() {
            y
        } else if c(v, x, z).is_lt() {
            x
        } else {
            z
        }
    };
    let vecswap = |v: &mut [Item], x: usize, y: usize, k: usize| {
        for i in 0..k {
            v.swap(x + i, y + i);
        }
    };
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && c(v, pl - 1, pl).is_gt() {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d);
                pm = med3(v, pm - d, pm, pm + d);
                pn = med3(v, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, pl, pm, pn);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = c(v, pb, a);
                if r.is_gt() {
                    break;
                }
                if r.is_eq() {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = c(v, pc, a);
                if r.is_lt() {
                    break;
                }
                if r.is_eq() {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, r) {
            pqsort_at(v, cmp, a, r, lrange, rrange);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if !outside(a, n) {
                continue;
            }
        }
        return;
    }
}

/// [`pqsort`] on `v[a..a + n]` (the recursion keeps absolute positions for the range test).
fn pqsort_at(
    v: &mut [Item],
    cmp: &dyn Fn(&Item, &Item) -> Ordering,
    a: usize,
    n: usize,
    lrange: i64,
    rrange: i64,
) {
    let offset = a as i64;
    pqsort(&mut v[a..a + n], cmp, lrange - offset, rrange - offset);
}
