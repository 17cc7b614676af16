//! `crossline metrics`: a running engine's live counters served to Prometheus. A separate
//! process maps the counters file read-only (as `crossline stat` does) at each scrape and
//! answers `GET /metrics` in the Prometheus text exposition format (version 0.0.4),
//! encoded by the `prometheus` crate.
//!
//! Names: a counters-file label becomes `crossline_` and the label with every character
//! outside `[A-Za-z0-9_]` turned into `_`; a counter gets `_total` (`orders.accepted` is
//! `crossline_orders_accepted_total`), a gauge or a maximum keeps its name
//! (`ring.commands.depth` is `crossline_ring_commands_depth`), and a label ending in
//! `_ns` ends in `_seconds` instead, its value in seconds
//! (`crossline_thread_core_duty_cycle_max_seconds`). The reply-latency buckets
//! (`replies.latency_ns.*`) become the histogram `crossline_reply_latency_seconds`, and
//! the summary `crossline_reply_latency_recent_seconds` gives its 0.5, 0.9, 0.99 and
//! 0.999 quantiles over the replies since the previous scrape (each the upper bound of
//! the bucket it falls in; NaN when there were none). `crossline_engine_up` is 1 while
//! the engine that writes the file runs, and `crossline_engine_start_time_seconds` is
//! its start. A file that cannot be read answers 503 with the reason, so Prometheus
//! records the scrape as failed.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crossline_counters::{CountersError, CountersReader, Kind, Reading};
use crossline_pipeline::LATENCY_PREFIX;
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram, Metric, MetricFamily, MetricType, Quantile, Summary,
};
use prometheus::{Encoder, TextEncoder};

/// The quantiles of the recent-latency summary.
pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.99, 0.999];

/// Why the exporter stopped.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The listening socket could not be opened.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address asked for.
        address: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// The exporter's memory between scrapes: the latency buckets at the previous one, for
/// the recent quantiles, and the engine they came from.
#[derive(Debug, Default)]
pub struct Scrapes {
    engine_start_ns: u64,
    previous: Vec<u64>,
}

/// The reply-latency histogram read from the file: bucket upper bounds (ns; `None` for
/// the last, unbounded one) with their counts, and the sum.
struct Latency {
    buckets: Vec<(Option<u64>, u64)>,
    sum_ns: u64,
}

fn latency(readings: &[Reading]) -> Option<Latency> {
    let mut buckets = Vec::new();
    let mut sum_ns = None;
    for reading in readings {
        let Some(rest) = reading.label.strip_prefix(LATENCY_PREFIX) else {
            continue;
        };
        if rest == "sum" {
            sum_ns = Some(reading.value);
        } else if rest == "le_inf" {
            buckets.push((None, reading.value));
        } else if let Some(bound) = rest.strip_prefix("le_").and_then(|n| n.parse().ok()) {
            buckets.push((Some(bound), reading.value));
        }
    }
    // Bounded buckets in order, the unbounded one last.
    buckets.sort_by_key(|(bound, _)| bound.unwrap_or(u64::MAX));
    Some(Latency {
        buckets,
        sum_ns: sum_ns?,
    })
}

/// `label` as a metric name (without the `_total` of a counter).
#[must_use]
pub fn metric_name(label: &str) -> String {
    let mut name = String::with_capacity(label.len() + 10);
    name.push_str("crossline_");
    name.extend(label.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    name
}

fn family(name: String, help: String, kind: MetricType, metric: Metric) -> MetricFamily {
    let mut family = MetricFamily::default();
    family.set_name(name);
    family.set_help(help);
    family.set_field_type(kind);
    family.set_metric(vec![metric]);
    family
}

fn gauge(name: &str, help: &str, value: f64) -> MetricFamily {
    let mut gauge = Gauge::default();
    gauge.set_value(value);
    let mut metric = Metric::default();
    metric.set_gauge(gauge);
    family(name.to_owned(), help.to_owned(), MetricType::GAUGE, metric)
}

impl Scrapes {
    /// The metric families for one sample of the file (`alive`: its engine runs).
    #[must_use]
    pub fn families(
        &mut self,
        readings: &[Reading],
        engine_start_ns: u64,
        alive: bool,
    ) -> Vec<MetricFamily> {
        let mut families = vec![
            gauge(
                "crossline_engine_up",
                "1 while the engine writing the counters file runs.",
                f64::from(u8::from(alive)),
            ),
            gauge(
                "crossline_engine_start_time_seconds",
                "When the engine started, seconds since the epoch.",
                engine_start_ns as f64 / 1e9,
            ),
        ];
        for reading in readings {
            if reading.label.starts_with(LATENCY_PREFIX) {
                continue;
            }
            let (name, value) = match reading.label.strip_suffix("_ns") {
                // Prometheus names its units in full, and in seconds.
                Some(stem) => (metric_name(stem) + "_seconds", reading.value as f64 / 1e9),
                None => (metric_name(&reading.label), reading.value as f64),
            };
            let help = format!("The engine's counter {}.", reading.label);
            families.push(match reading.kind {
                Kind::Counter => {
                    let mut counter = Counter::default();
                    counter.set_value(value);
                    let mut metric = Metric::default();
                    metric.set_counter(counter);
                    family(name + "_total", help, MetricType::COUNTER, metric)
                }
                Kind::Gauge | Kind::Maximum => gauge(&name, &help, value),
            });
        }
        if let Some(latency) = latency(readings) {
            families.extend(self.latency_families(&latency, engine_start_ns));
        }
        families
    }

    fn latency_families(&mut self, latency: &Latency, engine_start_ns: u64) -> [MetricFamily; 2] {
        let counts: Vec<u64> = latency.buckets.iter().map(|(_, count)| *count).collect();
        let total: u64 = counts.iter().sum();
        let sum = latency.sum_ns as f64 / 1e9;
        let mut cumulative = 0;
        let mut buckets = Vec::new();
        for (bound, count) in &latency.buckets {
            cumulative += count;
            if let Some(bound) = bound {
                let mut bucket = Bucket::default();
                bucket.set_upper_bound(*bound as f64 / 1e9);
                bucket.set_cumulative_count(cumulative);
                buckets.push(bucket);
            }
        }
        let mut histogram = Histogram::default();
        histogram.set_sample_count(total);
        histogram.set_sample_sum(sum);
        histogram.set_bucket(buckets);
        let mut metric = Metric::default();
        metric.set_histogram(histogram);
        let histogram = family(
            "crossline_reply_latency_seconds".to_owned(),
            "From the stamp of the input that caused a client reply to the reply's hand-off \
             to the order ingress."
                .to_owned(),
            MetricType::HISTOGRAM,
            metric,
        );

        // The window since the previous scrape of the same engine.
        if self.engine_start_ns != engine_start_ns || self.previous.len() != counts.len() {
            self.engine_start_ns = engine_start_ns;
            self.previous = vec![0; counts.len()];
        }
        let recent: Vec<u64> = counts
            .iter()
            .zip(&self.previous)
            .map(|(now, before)| now.saturating_sub(*before))
            .collect();
        self.previous = counts;
        let in_window: u64 = recent.iter().sum();
        let quantiles = QUANTILES
            .iter()
            .map(|&q| {
                let mut quantile = Quantile::default();
                quantile.set_quantile(q);
                quantile.set_value(quantile_bound(&latency.buckets, &recent, in_window, q));
                quantile
            })
            .collect();
        let mut summary = Summary::default();
        summary.set_sample_count(total);
        summary.set_sample_sum(sum);
        summary.set_quantile(quantiles);
        let mut metric = Metric::default();
        metric.set_summary(summary);
        let summary = family(
            "crossline_reply_latency_recent_seconds".to_owned(),
            "Reply-latency quantiles over the replies since the previous scrape (each the \
             upper bound of its histogram bucket); count and sum since the engine started."
                .to_owned(),
            MetricType::SUMMARY,
            metric,
        );
        [histogram, summary]
    }
}

/// The upper bound, in seconds, of the bucket holding quantile `q` of `counts` (`total`
/// of them); NaN when there are none, +Inf past the last bound.
fn quantile_bound(buckets: &[(Option<u64>, u64)], counts: &[u64], total: u64, q: f64) -> f64 {
    if total == 0 {
        return f64::NAN;
    }
    // q is in (0, 1], so the rank is within 1..=total.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let rank = ((q * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for ((bound, _), count) in buckets.iter().zip(counts) {
        seen += count;
        if seen >= rank {
            return bound.map_or(f64::INFINITY, |ns| ns as f64 / 1e9);
        }
    }
    f64::INFINITY
}

/// The families in the text format.
#[must_use]
pub fn encode(families: &[MetricFamily]) -> String {
    let mut bytes = Vec::new();
    if let Err(error) = TextEncoder::new().encode(families, &mut bytes) {
        // The encoder fails only on a family it cannot express, which this module never
        // builds; say so in the body rather than serve half a page.
        return format!("# the metrics could not be encoded: {error}\n");
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// One scrape of the counters file at `path`.
///
/// # Errors
/// [`CountersError`] when the file is missing or not a counters file.
pub fn scrape(path: &Path, scrapes: &mut Scrapes) -> Result<String, CountersError> {
    let reader = CountersReader::open(path)?;
    let alive = Path::new(&format!("/proc/{}", reader.pid())).exists();
    let families = scrapes.families(&reader.sample(), reader.start_time_ns(), alive);
    Ok(encode(&families))
}

/// Serves `/metrics` for the counters file at `path` on `listen` until the process is
/// stopped; `ready` is called with the bound address first.
///
/// # Errors
/// [`MetricsError::Listen`] when the address cannot be bound.
pub fn serve(
    path: PathBuf,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), MetricsError> {
    let server = tiny_http::Server::http(listen).map_err(|error| MetricsError::Listen {
        address: listen,
        reason: error.to_string(),
    })?;
    let bound = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| MetricsError::Listen {
            address: listen,
            reason: "not an IP socket".to_owned(),
        })?;
    ready(bound);
    let mut scrapes = Scrapes::default();
    for request in server.incoming_requests() {
        let (status, content_type, body) = answer(request.url(), &path, &mut scrapes);
        let header =
            tiny_http::Header::from_bytes("Content-Type", content_type).expect("a valid header");
        let response = tiny_http::Response::from_string(body)
            .with_status_code(status)
            .with_header(header);
        if let Err(error) = request.respond(response) {
            report_write_error(&error);
        }
    }
    Ok(())
}

fn report_write_error(error: &io::Error) {
    // A scraper that hung up early is its own problem; the next scrape is a new request.
    if error.kind() != io::ErrorKind::BrokenPipe {
        eprintln!("crossline metrics: answering a request: {error}");
    }
}

/// The status, content type and body for a request of `url`.
fn answer(url: &str, path: &Path, scrapes: &mut Scrapes) -> (u16, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    match url.split('?').next().unwrap_or("") {
        "/metrics" => match scrape(path, scrapes) {
            Ok(body) => (200, "text/plain; version=0.0.4; charset=utf-8", body),
            Err(error) => (503, TEXT, format!("{}: {error}\n", path.display())),
        },
        "/" => {
            let mut body = String::new();
            let _ = writeln!(
                body,
                "crossline metrics for {}: see /metrics",
                path.display()
            );
            (200, TEXT, body)
        }
        other => (404, TEXT, format!("no page {other}; see /metrics\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(label: &str, kind: Kind, value: u64) -> Reading {
        Reading {
            label: label.to_owned(),
            kind,
            value,
        }
    }

    fn latency_readings(counts: [u64; 3], sum: u64) -> Vec<Reading> {
        vec![
            reading("replies.latency_ns.le_1000", Kind::Counter, counts[0]),
            reading("replies.latency_ns.le_10000", Kind::Counter, counts[1]),
            reading("replies.latency_ns.le_inf", Kind::Counter, counts[2]),
            reading("replies.latency_ns.sum", Kind::Counter, sum),
        ]
    }

    #[test]
    fn counters_gauges_and_the_latency_histogram_in_the_text_format() {
        let mut readings = vec![
            reading("orders.accepted", Kind::Counter, 7),
            reading("ring.commands.depth", Kind::Gauge, 3),
            reading("thread.engine-1.duty_cycle_max_ns", Kind::Maximum, 900),
        ];
        readings.extend(latency_readings([90, 9, 1], 150_000));
        let mut scrapes = Scrapes::default();
        let text = encode(&scrapes.families(&readings, 2_000_000_000, true));
        for line in [
            "# TYPE crossline_orders_accepted_total counter",
            "crossline_orders_accepted_total 7",
            "crossline_ring_commands_depth 3",
            "crossline_thread_engine_1_duty_cycle_max_seconds 0.0000009",
            "crossline_engine_up 1",
            "crossline_engine_start_time_seconds 2",
            "# TYPE crossline_reply_latency_seconds histogram",
            "crossline_reply_latency_seconds_bucket{le=\"0.000001\"} 90",
            "crossline_reply_latency_seconds_bucket{le=\"0.00001\"} 99",
            "crossline_reply_latency_seconds_bucket{le=\"+Inf\"} 100",
            "crossline_reply_latency_seconds_sum 0.00015",
            "crossline_reply_latency_seconds_count 100",
            "crossline_reply_latency_recent_seconds{quantile=\"0.5\"} 0.000001",
            "crossline_reply_latency_recent_seconds{quantile=\"0.99\"} 0.00001",
            // (Past the last bound; Prometheus reads `inf` as +Inf.)
            "crossline_reply_latency_recent_seconds{quantile=\"0.999\"} inf",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
        // The next scrape's quantiles cover only what came since: 10 replies, all slow.
        let later = latency_readings([90, 19, 1], 250_000);
        let text = encode(&scrapes.families(&later, 2_000_000_000, false));
        assert!(text.contains("crossline_reply_latency_recent_seconds{quantile=\"0.5\"} 0.00001"));
        assert!(text.contains("crossline_engine_up 0"));
        // And none at all: NaN.
        let text = encode(&scrapes.families(&later, 2_000_000_000, false));
        assert!(text.contains("crossline_reply_latency_recent_seconds{quantile=\"0.5\"} NaN"));
    }
}
