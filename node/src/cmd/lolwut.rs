//! LOLWUT: Redis 7.0's computer art. `VERSION 5` draws Georg Nees's "Schotter" (squares
//! that rotate and shift more, at random, row after row) in Braille characters; every
//! other version prints the version line, as Redis 7.0's unstable LOLWUT does.

use bytes::Bytes;
use rand::Rng;
use slotgate_protocol::Frame;

use super::args::{int, is};
use super::{spec, Ctx, Reply, Spec};

const VERSION: &str = "7.0.15";

/// Redis's literal for √2 (short of `SQRT_2` in the last digits): the same rounding.
#[allow(clippy::approx_constant)]
const REDIS_SQRT_2: f64 = 1.4142135623;

pub const COMMANDS: &[Spec] = &[spec("lolwut", -1, 0, lolwut)];

fn lolwut(_: &mut Ctx, args: &[Bytes]) -> Reply {
    let (version, rest) = match args.get(1) {
        Some(word) if args.len() >= 3 && is(word, "version") => (int(&args[2])?, &args[3..]),
        _ => (7, &args[1..]),
    };
    let text = match version {
        5 => schotter(rest)?,
        _ => format!("Redis ver. {VERSION}\n"),
    };
    Ok(Frame::Verbatim(*b"txt", Bytes::from(text)))
}

/// `LOLWUT VERSION 5 [columns [squares-per-row [squares-per-column]]]`.
fn schotter(args: &[Bytes]) -> Result<String, Frame> {
    let mut settings = [66, 8, 12];
    for (setting, arg) in settings.iter_mut().zip(args) {
        *setting = int(arg)?;
    }
    let [cols, per_row, per_col] = settings;
    let canvas = draw_schotter(
        cols.clamp(1, 1000),
        per_row.clamp(1, 200),
        per_col.clamp(1, 200),
    );
    Ok(format!(
        "{}\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {VERSION}\n",
        canvas.render()
    ))
}

/// A black and white picture.
struct Canvas {
    width: i64,
    height: i64,
    pixels: Vec<bool>,
}

impl Canvas {
    fn new(width: i64, height: i64) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![false; (width * height).max(0) as usize],
        }
    }

    fn inside(&self, x: i64, y: i64) -> bool {
        (0..self.width).contains(&x) && (0..self.height).contains(&y)
    }

    fn set(&mut self, x: i64, y: i64) {
        if self.inside(x, y) {
            self.pixels[(x + y * self.width) as usize] = true;
        }
    }

    fn get(&self, x: i64, y: i64) -> bool {
        self.inside(x, y) && self.pixels[(x + y * self.width) as usize]
    }

    /// Bresenham's line.
    fn line(&mut self, (mut x1, mut y1): (i64, i64), (x2, y2): (i64, i64)) {
        let (dx, dy) = ((x2 - x1).abs(), (y2 - y1).abs());
        let (sx, sy) = (if x1 < x2 { 1 } else { -1 }, if y1 < y2 { 1 } else { -1 });
        let mut err = dx - dy;
        loop {
            self.set(x1, y1);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// A square of side `size` centred on (x, y), turned by `angle` radians; the corner
    /// angle is a C `float` stepped in `double` arithmetic, as Redis computes it.
    fn square(&mut self, x: i64, y: i64, size: f32, angle: f32) {
        use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};
        let half_diagonal = ((f64::from(size) / REDIS_SQRT_2) as f32).round();
        let mut k = (FRAC_PI_4 + f64::from(angle)) as f32;
        let mut corners = [(0, 0); 4];
        for corner in &mut corners {
            let at = |trig: f64, centre: i64| {
                (trig * f64::from(half_diagonal) + centre as f64).round() as i64
            };
            *corner = (at(f64::from(k).sin(), x), at(f64::from(k).cos(), y));
            k = (f64::from(k) + FRAC_PI_2) as f32;
        }
        for j in 0..4 {
            self.line(corners[j], corners[(j + 1) % 4]);
        }
    }

    /// Braille characters, one per 2×4 pixels, rows joined by newlines.
    fn render(&self) -> String {
        let mut text = String::new();
        for y in (0..self.height).step_by(4) {
            for x in (0..self.width).step_by(2) {
                let dots = [
                    (0, 0),
                    (0, 1),
                    (0, 2),
                    (1, 0),
                    (1, 1),
                    (1, 2),
                    (0, 3),
                    (1, 3),
                ];
                let byte = dots
                    .iter()
                    .enumerate()
                    .filter(|(_, (dx, dy))| self.get(x + dx, y + dy))
                    .fold(0u32, |acc, (bit, _)| acc | 1 << bit);
                text.push(char::from_u32(0x2800 + byte).unwrap_or(' '));
            }
            if y != self.height - 1 {
                text.push('\n');
            }
        }
        text
    }
}

/// Rows of squares, each row past the second turned and shifted more at random.
fn draw_schotter(cols: i64, per_row: i64, per_col: i64) -> Canvas {
    let width = cols * 2;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32) as i64 + padding * 2;
    let mut canvas = Canvas::new(width, height);
    let mut rng = rand::thread_rng();
    for y in 0..per_col {
        for x in 0..per_row {
            let mut sx = (x as f32 * side + side / 2.0) as i64 + padding;
            let mut sy = (y as f32 * side + side / 2.0) as i64 + padding;
            let mut angle = 0.0;
            if y > 1 {
                let mut jitter = || {
                    let r = rng.gen::<f32>() / per_col as f32 * y as f32;
                    if rng.gen::<bool>() {
                        -r
                    } else {
                        r
                    }
                };
                let (r1, r2, r3) = (jitter(), jitter(), jitter());
                angle = r1;
                sx = (sx as f32 + r2 * side / 3.0) as i64;
                sy = (sy as f32 + r3 * side / 3.0) as i64;
            }
            canvas.square(sx, sy, side, angle);
        }
    }
    canvas
}
