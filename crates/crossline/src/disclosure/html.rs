//! The reports as one self-contained HTML page: tables, and charts drawn with
//! `plotters` as inline SVG (text as SVG text, so no fonts are needed to draw them).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;

use super::markouts::{Markouts, MARKOUT_HORIZONS};
use super::rule605::{improvement, marketable_code, Report605, SIZE_CODES, TIME_BUCKETS_NS};
use super::rule606::{escape, Report606a};
use super::tape::{Tape, HORIZON_NAMES};
use super::Period;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 360;
/// The charts' colours (the report page's and the benchmarks').
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// What the page shows.
pub struct Page<'a> {
    /// The tape the reports came from.
    pub tape: &'a Tape,
    /// The period.
    pub period: &'a Period,
    /// The Rule 605 report.
    pub rule605: &'a Report605,
    /// The markouts.
    pub markouts: &'a Markouts,
    /// The 606(a)(1) report, if one was asked for.
    pub rule606: Option<&'a Report606a>,
}

impl Page<'_> {
    /// The page's HTML.
    ///
    /// # Errors
    /// A chart that could not be drawn, with why.
    pub fn render(&self) -> Result<String, String> {
        let mut h =
            String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
        let _ = writeln!(
            h,
            "<title>Crossline execution quality {}</title>",
            escape(&self.period.label)
        );
        h.push_str("<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:2px 6px;text-align:right;font-size:13px}th{background:#eee}figure{margin:1em 0}figcaption{font-size:13px;color:#444}</style>\n</head><body>\n");
        let _ = writeln!(
            h,
            "<h1>Execution quality and routing, {}</h1>\n<p>Market center {}; journals: {}. {} orders accepted, {} executions. Figures follow docs/REPORTS.md.</p>",
            escape(&self.period.label),
            escape(&self.tape.market),
            self.tape
                .journals
                .iter()
                .map(|j| escape(&j.display().to_string()))
                .collect::<Vec<_>>()
                .join(", "),
            self.tape.orders.len(),
            self.tape.fills.len()
        );
        h.push_str("<h2>Rule 605: spreads by order size</h2>\n");
        figure(&mut h, "effective-over-quoted", "Effective and quoted spread ($/share) by notional size category, market and marketable orders", self.spread_chart()?);
        h.push_str("<h2>Price improvement</h2>\n");
        figure(&mut h, "price-improvement", "Shares executed by price improvement against the NBBO at receipt (¢/share; negative: outside the quote)", self.improvement_chart()?);
        h.push_str("<h2>Time to execution</h2>\n");
        figure(
            &mut h,
            "time-to-execution",
            "Shares executed by time from executable to execution (Rule 605 buckets)",
            self.time_chart()?,
        );
        h.push_str("<h2>Markouts per client</h2>\n");
        figure(
            &mut h,
            "markouts",
            "Share-weighted midpoint move after execution in the client's favour (bps)",
            self.markout_chart()?,
        );
        h.push_str(&self.markout_table());
        if let Some(report) = self.rule606 {
            h.push_str("<h2>Rule 606(a)(1) routing</h2>\n");
            h.push_str(&report.html_tables());
        }
        h.push_str("</body></html>\n");
        Ok(h)
    }

    fn spread_chart(&self) -> Result<String, String> {
        let mut by_size: BTreeMap<u64, (i128, i128, u64)> = BTreeMap::new();
        for ((_, _, size, code), row) in &self.rule605.rows {
            if marketable_code(code) {
                let entry = by_size.entry(*size).or_default();
                entry.0 += row.effective;
                entry.1 += row.quoted;
                entry.2 += row.quoted_shares;
            }
        }
        let bars: Vec<(String, [f64; 2])> = SIZE_CODES
            .iter()
            .map(|size| {
                let (effective, quoted, shares) = by_size.get(size).copied().unwrap_or_default();
                let per = |sum: i128| {
                    if shares == 0 {
                        0.0
                    } else {
                        sum as f64 / 1e6 / shares as f64
                    }
                };
                (format!("${size}+"), [per(effective), per(quoted)])
            })
            .collect();
        grouped_bars(&bars, ["effective", "quoted"], "$ per share")
    }

    fn improvement_chart(&self) -> Result<String, String> {
        let mut cents: BTreeMap<i64, u64> = BTreeMap::new();
        for fill in &self.tape.fills {
            let order = self.tape.order_of(fill);
            if !order.nbbo.usable() || !self.period.contains(order.received_ns) {
                continue;
            }
            let tenth_cents = improvement(order, fill) / 1_000;
            *cents.entry(tenth_cents.clamp(-50, 100)).or_default() += u64::from(fill.shares);
        }
        let bars: Vec<(String, [f64; 1])> = cents
            .iter()
            .map(|(tenths, shares)| (format!("{:.1}", *tenths as f64 / 10.0), [*shares as f64]))
            .collect();
        grouped_bars(&bars, ["shares"], "shares")
    }

    fn time_chart(&self) -> Result<String, String> {
        let mut buckets = [0u64; 8];
        for row in self.rule605.rows.values() {
            for (total, shares) in buckets.iter_mut().zip(row.buckets) {
                *total += shares;
            }
        }
        let names = TIME_BUCKETS_NS
            .iter()
            .map(|ns| format!("<{}", duration(*ns)))
            .chain(std::iter::once(">=5min".to_owned()));
        let bars: Vec<(String, [f64; 1])> = names
            .zip(buckets)
            .map(|(name, shares)| (name, [shares as f64]))
            .collect();
        grouped_bars(&bars, ["shares"], "shares executed")
    }

    fn markout_chart(&self) -> Result<String, String> {
        // Only the horizons with a midpoint: a horizon past the journal's end has none.
        let lines: Vec<(String, Vec<(f64, f64)>)> = self
            .markouts
            .clients
            .iter()
            .map(|(client, sums)| {
                let points = MARKOUT_HORIZONS
                    .iter()
                    .enumerate()
                    .filter_map(|(i, h)| sums[*h].bps().map(|bps| (i as f64, bps)))
                    .collect();
                (format!("client {client}"), points)
            })
            .collect();
        let (low, high) = lines
            .iter()
            .flat_map(|(_, p)| p.iter().map(|(_, v)| *v))
            .fold((-1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let pad = (high - low) * 0.1;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            let count = MARKOUT_HORIZONS.len();
            let mut chart = ChartBuilder::on(&root)
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d(0f64..(count - 1) as f64, (low - pad)..(high + pad))
                .map_err(err)?;
            chart
                .configure_mesh()
                .x_labels(count)
                .x_label_formatter(&|x| {
                    MARKOUT_HORIZONS
                        .iter()
                        .enumerate()
                        .find(|(i, _)| (*i as f64 - x).abs() < 0.01)
                        .map_or(String::new(), |(_, h)| format!("+{}", HORIZON_NAMES[*h]))
                })
                .y_desc("bps in the client's favour")
                .draw()
                .map_err(err)?;
            for (index, (name, points)) in lines.iter().enumerate() {
                let color = PALETTE[index % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        color.stroke_width(2),
                    ))
                    .map_err(err)?
                    .label(name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
            root.present().map_err(err)?;
        }
        Ok(svg)
    }

    fn markout_table(&self) -> String {
        let mut h = String::from("<table><tr><th>Client</th><th>Shares (5 s)</th><th>Markout 5 s (bps)</th><th>Class</th><th>PI multiplier</th></tr>\n");
        for (client, sums, class) in self.markouts.classify() {
            let _ = writeln!(
                h,
                "<tr><td>{client}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                sums.shares,
                sums.bps().map_or("–".to_owned(), |b| format!("{b:.3}")),
                class.map_or("unclassified", |c| c.name),
                class.map_or(1.0, |c| c.multiplier)
            );
        }
        h.push_str("</table>\n");
        h
    }
}

fn figure(h: &mut String, id: &str, caption: &str, svg: String) {
    let _ = writeln!(
        h,
        "<figure id=\"{id}\">{svg}<figcaption>{}</figcaption></figure>",
        escape(caption)
    );
}

fn err(error: impl std::fmt::Debug) -> String {
    format!("drawing a chart: {error:?}")
}

fn duration(ns: u64) -> String {
    match ns {
        n if n < 1_000_000 => format!("{}us", n / 1_000),
        n if n < 1_000_000_000 => format!("{}ms", n / 1_000_000),
        n if n < 60_000_000_000 => format!("{}s", n / 1_000_000_000),
        n => format!("{}min", n / 60_000_000_000),
    }
}

/// A bar chart: one group of `N` bars per category.
fn grouped_bars<const N: usize>(
    bars: &[(String, [f64; N])],
    series: [&str; N],
    y_desc: &str,
) -> Result<String, String> {
    let top = bars
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let bottom = bars
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0f64, f64::min)
        * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let count = bars.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5f64..count as f64 - 0.5, bottom..top)
            .map_err(err)?;
        let labels: Vec<String> = bars.iter().map(|(name, _)| name.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(count.min(24))
            .x_label_formatter(&|x| {
                labels
                    .iter()
                    .enumerate()
                    .find(|(i, _)| (*i as f64 - x).abs() < 0.01)
                    .map_or(String::new(), |(_, label)| label.clone())
            })
            .y_desc(y_desc)
            .draw()
            .map_err(err)?;
        let width = 0.8 / N as f64;
        for (s, name) in series.iter().enumerate() {
            let color = PALETTE[s % PALETTE.len()];
            chart
                .draw_series(bars.iter().enumerate().map(|(i, (_, values))| {
                    let left = i as f64 - 0.4 + s as f64 * width;
                    Rectangle::new([(left, 0.0), (left + width, values[s])], color.filled())
                }))
                .map_err(err)?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        if N > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}
