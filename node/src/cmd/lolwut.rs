//! LOLWUT: Redis 7.0's computer art. `VERSION 5` draws Georg Nees's "Schotter" (squares
//! that rotate and shift more, at random, row after row) in Braille characters; `VERSION
//! 6` a random city skyline in terminal colours; every other version prints the version
//! line, as Redis 7.0's unstable LOLWUT does.

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
        6 => skyline(rest)?,
        _ => format!("Redis ver. {VERSION}\n"),
    };
    Ok(Frame::Verbatim(*b"txt", Bytes::from(text)))
}

/// `LOLWUT VERSION 5 [columns [squares-per-row [squares-per-column]]]`.
fn schotter(args: &[Bytes]) -> Result<String, Frame> {
    let [cols, per_row, per_col] = settings(args, [66, 8, 12])?;
    let canvas = draw_schotter(
        cols.clamp(1, 1000),
        per_row.clamp(1, 200),
        per_col.clamp(1, 200),
    );
    Ok(format!(
        "{}\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. {VERSION}\n",
        canvas.render_braille()
    ))
}

/// `LOLWUT VERSION 6 [columns [rows]]`.
fn skyline(args: &[Bytes]) -> Result<String, Frame> {
    let [cols, rows] = settings(args, [80, 20])?;
    let mut canvas = Canvas::new(cols.clamp(1, 1000), rows.clamp(1, 1000), WHITE);
    draw_skyline(&mut canvas);
    Ok(format!(
        "{}\nDedicated to the 8 bit game developers of past and present.\nOriginal 8 bit image from Plaguemon by hikikomori. Redis ver. {VERSION}\n",
        canvas.render_colours()
    ))
}

/// The optional integer arguments over their defaults.
fn settings<const N: usize>(args: &[Bytes], defaults: [i64; N]) -> Result<[i64; N], Frame> {
    let mut values = defaults;
    for (value, arg) in values.iter_mut().zip(args) {
        *value = int(arg)?;
    }
    Ok(values)
}

const BLACK: u8 = 0;
const WHITE: u8 = 3;

/// A picture in four colours: black, two greys, white.
struct Canvas {
    width: i64,
    height: i64,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: i64, height: i64, background: u8) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![background; (width * height).max(0) as usize],
        }
    }

    fn inside(&self, x: i64, y: i64) -> bool {
        (0..self.width).contains(&x) && (0..self.height).contains(&y)
    }

    fn set(&mut self, x: i64, y: i64, colour: u8) {
        if self.inside(x, y) {
            self.pixels[(x + y * self.width) as usize] = colour;
        }
    }

    fn get(&self, x: i64, y: i64) -> u8 {
        if self.inside(x, y) {
            self.pixels[(x + y * self.width) as usize]
        } else {
            BLACK
        }
    }

    /// Bresenham's line.
    fn line(&mut self, (mut x1, mut y1): (i64, i64), (x2, y2): (i64, i64)) {
        let (dx, dy) = ((x2 - x1).abs(), (y2 - y1).abs());
        let (sx, sy) = (if x1 < x2 { 1 } else { -1 }, if y1 < y2 { 1 } else { -1 });
        let mut err = dx - dy;
        loop {
            self.set(x1, y1, 1);
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

    /// Braille characters, one per 2×4 pixels (set: not black), rows joined by newlines.
    fn render_braille(&self) -> String {
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
                    .filter(|(_, (dx, dy))| self.get(x + dx, y + dy) != BLACK)
                    .fold(0u32, |acc, (bit, _)| acc | 1 << bit);
                text.push(char::from_u32(0x2800 + byte).unwrap_or(' '));
            }
            if y != self.height - 1 {
                text.push('\n');
            }
        }
        text
    }

    /// One space per pixel in its terminal colours, rows joined by newlines.
    fn render_colours(&self) -> String {
        let mut text = String::new();
        for y in 0..self.height {
            for x in 0..self.width {
                let escape = match self.get(x, y) {
                    1 => "0;90;100m",
                    2 => "0;37;47m",
                    WHITE => "0;97;107m",
                    _ => "0;30;40m",
                };
                text.push_str(&format!("\x1b[{escape} \x1b[0m"));
            }
            if y != self.height - 1 {
                text.push('\n');
            }
        }
        text
    }
}

/// One building: its left edge, size, colour and whether it has lit windows.
struct Skyscraper {
    left: i64,
    width: i64,
    height: i64,
    colour: u8,
    windows: bool,
}

impl Skyscraper {
    /// Draws it standing on the bottom row, the roof two pixels narrower on each side,
    /// windows two pixels wide in random greys.
    fn draw(&self, canvas: &mut Canvas, rng: &mut impl Rng) {
        let bottom = canvas.height - 1;
        let top = bottom - self.height + 1;
        let right = self.left + self.width;
        for y in (top..=bottom).rev() {
            for x in self.left..right {
                if y == top && (x <= self.left + 1 || x >= right - 2) {
                    continue;
                }
                let mut colour = self.colour;
                let inner = x > self.left + 1 && x < right - 2 && y > top + 1 && y < bottom - 1;
                if self.windows && inner {
                    let (relx, rely) = (x - (self.left + 1), y - (top + 1));
                    if (relx / 2) % 2 != 0 && rely % 2 != 0 {
                        colour = if relx % 2 != 0 {
                            canvas.get(x - 1, y)
                        } else {
                            loop {
                                let pick = 1 + rng.gen_range(0..2);
                                if pick != self.colour {
                                    break pick;
                                }
                            }
                        };
                    }
                }
                canvas.set(x, y, colour);
            }
        }
    }
}

/// Two rows of grey buildings (the lighter behind), then black ones with windows.
fn draw_skyline(canvas: &mut Canvas) {
    let mut rng = rand::thread_rng();
    let h = canvas.height;
    for colour in [2, 1] {
        let mut offset = -10;
        while offset < canvas.width {
            offset += rng.gen_range(0..8);
            let width = 10 + rng.gen_range(0..9);
            let spread = if colour == 2 { 2 } else { 3 };
            let building = Skyscraper {
                left: offset,
                width,
                height: h / 2 + rng.gen_range(0..h) / spread,
                colour,
                windows: false,
            };
            building.draw(canvas, &mut rng);
            offset += if colour == 2 { width / 2 } else { width + 1 };
        }
    }
    let mut offset = -10;
    while offset < canvas.width {
        offset += rng.gen_range(0..8);
        let mut width = 5 + rng.gen_range(0..14);
        if width % 4 != 0 {
            width += width % 3;
        }
        let building = Skyscraper {
            left: offset,
            width,
            height: h / 3 + rng.gen_range(0..h) / 2,
            colour: BLACK,
            windows: true,
        };
        building.draw(canvas, &mut rng);
        offset += width + 5;
    }
}

/// Rows of squares, each row past the second turned and shifted more at random.
fn draw_schotter(cols: i64, per_row: i64, per_col: i64) -> Canvas {
    let width = cols * 2;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32) as i64 + padding * 2;
    let mut canvas = Canvas::new(width, height, BLACK);
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
