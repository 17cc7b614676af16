//! Latency distributions as files a person reads: HdrHistogram's text percentile
//! distribution (`.hgrm`, the format HdrHistogram's plotters read) and a PNG chart of
//! several distributions on one percentile axis.
//!
//! The chart is drawn here, with a built-in 5×7 bitmap font, so it needs no system fonts
//! or plotting stack: latency on a log scale against the percentile on the usual "nines"
//! scale (`log10(1 / (1 - q))`: 90%, 99%, 99.9%, … evenly spaced).

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;

/// Writes `histogram` (nanoseconds) as an HdrHistogram percentile distribution in
/// microseconds, five steps per halving of the distance to 100%.
///
/// # Errors
/// The I/O error, with the path.
pub fn write_hgrm(path: &Path, histogram: &Histogram<u64>) -> Result<(), String> {
    std::fs::write(path, hgrm(histogram))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// The `.hgrm` text of `histogram` (see [`write_hgrm`]).
#[must_use]
pub fn hgrm(histogram: &Histogram<u64>) -> String {
    let mut text = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    let mut total = 0u64;
    for step in histogram.iter_quantiles(5) {
        total += step.count_since_last_iteration();
        let quantile = step.quantile_iterated_to();
        let value_us = step.value_iterated_to() as f64 / 1000.0;
        if quantile < 1.0 {
            let _ = writeln!(
                text,
                "{value_us:12.3} {quantile:14.12} {total:10} {:14.2}",
                1.0 / (1.0 - quantile)
            );
        } else {
            let _ = writeln!(text, "{value_us:12.3} {quantile:14.12} {total:10}");
        }
    }
    let _ = writeln!(
        text,
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]",
        histogram.mean() / 1000.0,
        histogram.stdev() / 1000.0
    );
    let _ = writeln!(
        text,
        "#[Max     = {:12.3}, Total count    = {:12}]",
        histogram.max() as f64 / 1000.0,
        histogram.len()
    );
    let _ = writeln!(
        text,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        histogram.buckets(),
        histogram.distinct_values()
    );
    text
}

/// One line on a chart.
pub struct Series<'a> {
    /// Its legend.
    pub label: String,
    /// Its latencies in nanoseconds.
    pub histogram: &'a Histogram<u64>,
}

const WIDTH: usize = 1200;
const HEIGHT: usize = 720;
const LEFT: usize = 110;
const RIGHT: usize = 70;
const TOP: usize = 60;
const BOTTOM: usize = 80;
const SCALE: usize = 2;
const PALETTE: [[u8; 3]; 8] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [23, 190, 207],
];

/// Draws `series` as percentile distributions on one chart titled `title` and writes it
/// to `path` as a PNG.
///
/// # Errors
/// The I/O or encoding error, with the path.
pub fn write_percentile_chart(
    path: &Path,
    title: &str,
    series: &[Series<'_>],
) -> Result<(), String> {
    let canvas = percentile_chart(title, series);
    let file = std::fs::File::create(path)
        .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH as u32, HEIGHT as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut writer| writer.write_image_data(&canvas.pixels))
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// An RGB image.
struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            pixels: vec![255; WIDTH * HEIGHT * 3],
        }
    }

    fn set(&mut self, x: i64, y: i64, color: [u8; 3]) {
        if (0..WIDTH as i64).contains(&x) && (0..HEIGHT as i64).contains(&y) {
            let at = (y as usize * WIDTH + x as usize) * 3;
            self.pixels[at..at + 3].copy_from_slice(&color);
        }
    }

    /// A line `thickness` pixels wide (Bresenham, thickened by a square brush).
    fn line(&mut self, from: (i64, i64), to: (i64, i64), color: [u8; 3], thickness: i64) {
        let (mut x, mut y) = from;
        let (dx, dy) = ((to.0 - x).abs(), -(to.1 - y).abs());
        let (sx, sy) = (if x < to.0 { 1 } else { -1 }, if y < to.1 { 1 } else { -1 });
        let mut error = dx + dy;
        loop {
            for bx in 0..thickness {
                for by in 0..thickness {
                    self.set(x + bx - thickness / 2, y + by - thickness / 2, color);
                }
            }
            if (x, y) == to {
                return;
            }
            let doubled = 2 * error;
            if doubled >= dy {
                error += dy;
                x += sx;
            }
            if doubled <= dx {
                error += dx;
                y += sy;
            }
        }
    }

    /// `text` (upper-cased) with its top left at `(x, y)`.
    fn text(&mut self, x: i64, y: i64, text: &str, color: [u8; 3]) {
        let step = (6 * SCALE) as i64;
        for (index, character) in text.chars().enumerate() {
            let rows = glyph(character);
            for (row, bits) in rows.iter().enumerate() {
                for column in 0..5 {
                    if bits & (0x10 >> column) != 0 {
                        for sx in 0..SCALE as i64 {
                            for sy in 0..SCALE as i64 {
                                self.set(
                                    x + index as i64 * step + column * SCALE as i64 + sx,
                                    y + row as i64 * SCALE as i64 + sy,
                                    color,
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Width in pixels of `text` as [`Canvas::text`] draws it.
fn text_width(text: &str) -> i64 {
    (text.chars().count() * 6 * SCALE) as i64
}

fn percentile_chart(title: &str, series: &[Series<'_>]) -> Canvas {
    let mut canvas = Canvas::new();
    let (plot_w, plot_h) = (
        (WIDTH - LEFT - RIGHT) as f64,
        (HEIGHT - TOP - BOTTOM) as f64,
    );
    let nonempty: Vec<&Series<'_>> = series.iter().filter(|s| !s.histogram.is_empty()).collect();
    // X: nines, up to what the largest series can resolve (at most 99.9999%).
    let count = nonempty
        .iter()
        .map(|s| s.histogram.len())
        .max()
        .unwrap_or(10);
    let nines = (count as f64).log10().floor().clamp(1.0, 6.0);
    // Y: whole decades around every value drawn.
    let low = nonempty
        .iter()
        .map(|s| s.histogram.min().max(1))
        .min()
        .unwrap_or(1);
    let high = nonempty
        .iter()
        .map(|s| s.histogram.max())
        .max()
        .unwrap_or(10)
        .max(low + 1);
    let (decade_low, decade_high) = (
        (low as f64).log10().floor(),
        (high as f64)
            .log10()
            .ceil()
            .max((low as f64).log10().floor() + 1.0),
    );
    let x_of = |n: f64| LEFT as f64 + n / nines * plot_w;
    let y_of = |ns: f64| {
        TOP as f64 + plot_h
            - (ns.max(1.0).log10() - decade_low) / (decade_high - decade_low) * plot_h
    };
    let (grid, axis, ink) = ([225, 225, 225], [90, 90, 90], [20, 20, 20]);

    for decade in decade_low as i64..=decade_high as i64 {
        let y = y_of(10f64.powi(decade as i32)) as i64;
        canvas.line((LEFT as i64, y), ((WIDTH - RIGHT) as i64, y), grid, 1);
        let label = latency_label(10f64.powi(decade as i32));
        canvas.text(LEFT as i64 - 10 - text_width(&label), y - 7, &label, ink);
    }
    for nine in 0..=nines as i64 {
        let x = x_of(nine as f64) as i64;
        canvas.line((x, TOP as i64), (x, (HEIGHT - BOTTOM) as i64), grid, 1);
        let label = match nine {
            0 => "0%".to_owned(),
            n => format!("{}%", 100.0 - 100.0 / 10f64.powi(n as i32)),
        };
        canvas.text(
            x - text_width(&label) / 2,
            (HEIGHT - BOTTOM) as i64 + 12,
            &label,
            ink,
        );
    }
    canvas.line(
        (LEFT as i64, TOP as i64),
        (LEFT as i64, (HEIGHT - BOTTOM) as i64),
        axis,
        2,
    );
    canvas.line(
        (LEFT as i64, (HEIGHT - BOTTOM) as i64),
        ((WIDTH - RIGHT) as i64, (HEIGHT - BOTTOM) as i64),
        axis,
        2,
    );
    canvas.text(LEFT as i64, 20, title, ink);
    let x_title = "PERCENTILE";
    canvas.text(
        LEFT as i64 + plot_w as i64 / 2 - text_width(x_title) / 2,
        (HEIGHT - BOTTOM) as i64 + 44,
        x_title,
        ink,
    );

    for (index, series) in nonempty.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let steps = 400;
        let mut last: Option<(i64, i64)> = None;
        for step in 0..=steps {
            let n = nines * f64::from(step) / f64::from(steps);
            let quantile = 1.0 - 10f64.powf(-n);
            let value = series.histogram.value_at_quantile(quantile.min(1.0)) as f64;
            let point = (x_of(n) as i64, y_of(value) as i64);
            if let Some(previous) = last {
                canvas.line(previous, point, color, 3);
            }
            last = Some(point);
        }
    }
    // The legend, on white over the lines.
    let widest = nonempty
        .iter()
        .map(|s| text_width(&s.label))
        .max()
        .unwrap_or(0);
    let legend_bottom = TOP as i64 + 14 + nonempty.len() as i64 * 22;
    for y in TOP as i64 + 4..legend_bottom {
        for x in LEFT as i64 + 8..LEFT as i64 + 66 + widest {
            canvas.set(x, y, [255, 255, 255]);
        }
    }
    for (index, series) in nonempty.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let y = TOP as i64 + 10 + index as i64 * 22;
        canvas.line(
            (LEFT as i64 + 16, y + 7),
            (LEFT as i64 + 46, y + 7),
            color,
            4,
        );
        canvas.text(LEFT as i64 + 56, y, &series.label, ink);
    }
    canvas
}

/// `ns` nanoseconds as an axis label: `100NS`, `10US`, `1MS`, `1S`.
fn latency_label(ns: f64) -> String {
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "S")
    } else if ns >= 1e6 {
        (ns / 1e6, "MS")
    } else if ns >= 1e3 {
        (ns / 1e3, "US")
    } else {
        (ns, "NS")
    };
    format!("{value:.0}{unit}")
}

/// The 5×7 bitmap of `character` (upper-cased), one row per byte, bit 4 leftmost;
/// unknown characters draw as a blank.
fn glyph(character: char) -> [u8; 7] {
    match character.to_ascii_uppercase() {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'A' => [0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        ',' => [0, 0, 0, 0, 0x0C, 0x04, 0x08],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '/' => [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '+' => [0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0],
        '=' => [0, 0, 0x1F, 0, 0x1F, 0, 0],
        ':' => [0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        _ => [0; 7],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::latency_histogram;

    fn histogram() -> Histogram<u64> {
        let mut histogram = latency_histogram();
        for value in 1..=10_000u64 {
            histogram.record(value * 10).unwrap();
        }
        histogram
    }

    #[test]
    fn hgrm_lists_rising_percentiles_and_the_totals() {
        let text = hgrm(&histogram());
        let rows: Vec<(f64, f64)> = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .skip(1)
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                (fields[0].parse().unwrap(), fields[1].parse().unwrap())
            })
            .collect();
        assert!(rows.len() > 20);
        assert!(rows
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        // The median of 10 ns .. 100 µs is about 50 µs.
        let median = rows.iter().find(|(_, q)| *q >= 0.5).unwrap().0;
        assert!((49.0..=51.0).contains(&median), "median {median} us");
        assert!(text.contains("Total count    =        10000"));
    }

    #[test]
    fn the_chart_draws_each_series_in_its_colour() {
        let histogram = histogram();
        let canvas = percentile_chart(
            "TEST",
            &[Series {
                label: "ONE".to_owned(),
                histogram: &histogram,
            }],
        );
        let blue = canvas
            .pixels
            .chunks_exact(3)
            .filter(|pixel| *pixel == PALETTE[0])
            .count();
        // The line across the plot and the legend swatch.
        assert!(blue > 1_000, "{blue} pixels of the series colour");
    }
}
