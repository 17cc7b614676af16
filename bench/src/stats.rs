//! Latency histograms, percentiles and medians.

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// A latency histogram in nanoseconds: 1 ns to 60 s at three significant digits.
#[must_use]
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("static histogram bounds are valid")
}

/// The percentiles every latency report carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// 99.99th percentile.
    pub p9999_ns: u64,
    /// Largest value recorded.
    pub max_ns: u64,
    /// Values recorded.
    pub count: u64,
}

impl Percentiles {
    /// Reads the percentiles of `histogram`.
    #[must_use]
    pub fn of(histogram: &Histogram<u64>) -> Percentiles {
        Percentiles {
            p50_ns: histogram.value_at_quantile(0.50),
            p99_ns: histogram.value_at_quantile(0.99),
            p999_ns: histogram.value_at_quantile(0.999),
            p9999_ns: histogram.value_at_quantile(0.9999),
            max_ns: histogram.max(),
            count: histogram.len(),
        }
    }

    /// As a JSON object with the unit in every key.
    #[must_use]
    pub fn to_json(&self, prefix: &str) -> Value {
        json!({
            format!("{prefix}p50_ns"): self.p50_ns,
            format!("{prefix}p99_ns"): self.p99_ns,
            format!("{prefix}p999_ns"): self.p999_ns,
            format!("{prefix}p9999_ns"): self.p9999_ns,
            format!("{prefix}max_ns"): self.max_ns,
            format!("{prefix}count"): self.count,
        })
    }
}

/// The median of `values` (mean of the middle two for an even count); NaN when empty.
#[must_use]
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn percentiles_read_from_a_histogram() {
        let mut histogram = latency_histogram();
        for value in 1..=10_000u64 {
            histogram.record(value).unwrap();
        }
        let percentiles = Percentiles::of(&histogram);
        assert!(
            (4_990..=5_010).contains(&percentiles.p50_ns),
            "{percentiles:?}"
        );
        assert!(
            (9_890..=9_910).contains(&percentiles.p99_ns),
            "{percentiles:?}"
        );
        assert_eq!(percentiles.count, 10_000);
        assert!(percentiles.max_ns >= 10_000 && percentiles.max_ns <= 10_010);
    }
}
