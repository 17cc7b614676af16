//! Latency distributions as files a person reads: HdrHistogram's text percentile
//! distribution (`.hgrm`, the format HdrHistogram's plotters read) and an SVG chart of
//! several distributions on one percentile axis, drawn with `plotters` (SVG text needs
//! no system fonts): latency on a log scale against the percentile on the usual "nines"
//! scale (`log10(1 / (1 - q))`: 90%, 99%, 99.9%, … evenly spaced).

use std::fmt::Write as _;
use std::path::Path;

use crossline::disclosure::html::PALETTE;
use hdrhistogram::Histogram;
use plotters::prelude::*;

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

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 720;

/// Draws `series` as percentile distributions on one chart titled `title` and writes it
/// to `path` as SVG (drawn with `plotters`; text is SVG text, so no fonts are needed).
///
/// # Errors
/// The drawing or I/O error, with the path.
pub fn write_percentile_chart(
    path: &Path,
    title: &str,
    series: &[Series<'_>],
) -> Result<(), String> {
    let svg = percentile_chart(title, series)?;
    std::fs::write(path, svg).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

fn failed(error: impl std::fmt::Debug) -> String {
    format!("cannot draw the chart: {error:?}")
}

/// The chart as SVG text: latency on a log scale against the percentile on the "nines"
/// scale, one line per non-empty series.
fn percentile_chart(title: &str, series: &[Series<'_>]) -> Result<String, String> {
    let nonempty: Vec<&Series<'_>> = series.iter().filter(|s| !s.histogram.is_empty()).collect();
    let count = nonempty
        .iter()
        .map(|s| s.histogram.len())
        .max()
        .unwrap_or(1);
    // As many nines as the samples support (at least 1, at most 6).
    let nines = (count as f64).log10().floor().clamp(1.0, 6.0);
    let low = nonempty
        .iter()
        .map(|s| s.histogram.min().max(1))
        .min()
        .unwrap_or(1);
    let high = nonempty
        .iter()
        .map(|s| s.histogram.max().max(1))
        .max()
        .unwrap_or(10);
    let decade_low = 10f64.powf((low as f64).log10().floor());
    let decade_high = 10f64.powf(
        (high as f64)
            .log10()
            .ceil()
            .max((low as f64).log10().floor() + 1.0),
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..nines, (decade_low..decade_high).log_scale())
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_labels(nines as usize + 1)
            .x_label_formatter(&|n| nines_label(*n))
            .y_label_formatter(&|ns| latency_label(*ns))
            .x_desc("percentile")
            .y_desc("latency")
            .draw()
            .map_err(failed)?;
        for (index, series) in nonempty.iter().enumerate() {
            let color = PALETTE[index % PALETTE.len()];
            let steps = 400;
            let points = (0..=steps).map(|step| {
                let n = nines * f64::from(step) / f64::from(steps);
                let quantile = (1.0 - 10f64.powf(-n)).min(1.0);
                (
                    n,
                    (series.histogram.value_at_quantile(quantile) as f64).max(1.0),
                )
            });
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(3)))
                .map_err(failed)?
                .label(series.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(4))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE)
            .border_style(BLACK)
            .draw()
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// A position on the nines scale as a percentile: 0 is 0%, 1 is 90%, 2 is 99%, …
fn nines_label(n: f64) -> String {
    let whole = n.round();
    if (n - whole).abs() > 1e-6 {
        return String::new();
    }
    match whole as i64 {
        0 => "0%".to_owned(),
        1 => "90%".to_owned(),
        2 => "99%".to_owned(),
        k => format!("99.{}%", "9".repeat(usize::try_from(k - 2).unwrap_or(0))),
    }
}

/// `ns` nanoseconds as an axis label: `100ns`, `10us`, `1ms`, `1s`.
fn latency_label(ns: f64) -> String {
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "us")
    } else {
        (ns, "ns")
    };
    format!("{value:.0}{unit}")
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
    fn the_chart_draws_each_series_in_its_colour_with_its_label() {
        let histogram = histogram();
        let empty = latency_histogram();
        let svg = percentile_chart(
            "TEST",
            &[
                Series {
                    label: "ONE".to_owned(),
                    histogram: &histogram,
                },
                Series {
                    label: "NONE".to_owned(),
                    histogram: &empty,
                },
            ],
        )
        .unwrap();
        assert!(svg.starts_with("<svg"));
        // The line across the plot (400 steps) and the legend swatch, in the first colour.
        let blue = svg.matches("stroke=\"#1F77B4\"").count();
        assert!(blue >= 2, "{blue} paths in the series colour");
        assert!(
            svg.contains(">\nONE\n<") || svg.contains(">ONE<"),
            "the legend names it"
        );
        // An empty series draws nothing and has no legend entry.
        assert!(!svg.contains("NONE"));
        assert!(
            svg.contains("99.9%") && svg.contains("90%"),
            "the nines axis"
        );
    }
}
