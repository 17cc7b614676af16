//! `crossline stat`: a running engine's live counters, read from its counters file in
//! another process and printed every interval: rates of the counters, ring depths, each
//! thread's longest duty cycle, and the share of executed shares internalized.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crossline_counters::{CountersError, CountersReader, Kind, Reading};

/// The value labelled `label` (0 when the file has no such label).
#[must_use]
pub fn value(readings: &[Reading], label: &str) -> u64 {
    readings
        .iter()
        .find(|reading| reading.label == label)
        .map_or(0, |reading| reading.value)
}

/// Shares executed (crossed, principal and at venues) and the percentage of them
/// executed in house; `None` before the first execution.
#[must_use]
pub fn internalized(readings: &[Reading]) -> (u64, Option<f64>) {
    internalized_by(|label| value(readings, label))
}

/// [`internalized`] from a lookup of the fill counters.
fn internalized_by(value: impl Fn(&str) -> u64) -> (u64, Option<f64>) {
    let in_house = value("fills.crossed_shares") + value("fills.principal_shares");
    let executed = in_house + value("fills.venue_shares");
    let percent = (executed > 0).then(|| 100.0 * in_house as f64 / executed as f64);
    (executed, percent)
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |p| format!("{p:.1}%"))
}

/// One screen of figures from two samples `seconds` apart.
#[must_use]
pub fn render(before: &[Reading], after: &[Reading], seconds: f64) -> String {
    let mut text = String::new();
    let delta = |label: &str| value(after, label).saturating_sub(value(before, label));
    let rate = |label: &str| delta(label) as f64 / seconds.max(1e-9);
    let (executed, since_start) = internalized(after);
    let (internalized, recent) = (percent(since_start), percent(internalized_by(delta).1));
    text.push_str(&format!(
        "internalized {internalized} of {executed} executed shares (last interval: {recent})\n"
    ));
    text.push_str("rates (per second)\n");
    for reading in after.iter().filter(|r| r.kind == Kind::Counter) {
        text.push_str(&format!(
            "  {:<34} {:>14.0}   total {}\n",
            reading.label,
            rate(&reading.label),
            reading.value
        ));
    }
    text.push_str("ring depths (slots in use)\n");
    for reading in after.iter().filter(|r| r.kind == Kind::Gauge) {
        text.push_str(&format!("  {:<34} {:>14}\n", reading.label, reading.value));
    }
    text.push_str("longest duty cycle since start\n");
    for reading in after.iter().filter(|r| r.kind == Kind::Maximum) {
        text.push_str(&format!(
            "  {:<34} {:>11.1} µs\n",
            reading.label,
            reading.value as f64 / 1e3
        ));
    }
    text
}

/// Prints the counters in `path` every `interval`, `count` times (`None`: until the
/// engine that writes them is gone).
///
/// # Errors
/// [`CountersError`] when the file is missing or not a counters file.
pub fn watch(path: &Path, interval: Duration, count: Option<u64>) -> Result<(), CountersError> {
    let reader = CountersReader::open(path)?;
    let pid = reader.pid();
    let mut before = reader.sample();
    let mut at = Instant::now();
    let mut shown = 0u64;
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    loop {
        std::thread::sleep(interval);
        let after = reader.sample();
        let seconds = at.elapsed().as_secs_f64();
        at = Instant::now();
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        let mut out = std::io::stdout().lock();
        if terminal {
            let _ = write!(out, "\x1b[2J\x1b[H");
        }
        let _ = writeln!(
            out,
            "crossline stat: {} (engine pid {pid}{})",
            path.display(),
            if alive { "" } else { ", no longer running" }
        );
        let _ = write!(out, "{}", render(&before, &after, seconds));
        let _ = writeln!(out);
        let _ = out.flush();
        before = after;
        shown += 1;
        if count.is_some_and(|count| shown >= count) || !alive {
            return Ok(());
        }
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

    #[test]
    fn rates_levels_maxima_and_the_internalized_share() {
        let before = [
            reading("fills.crossed_shares", Kind::Counter, 100),
            reading("fills.principal_shares", Kind::Counter, 200),
            reading("fills.venue_shares", Kind::Counter, 100),
            reading("ring.sequenced.depth", Kind::Gauge, 3),
            reading("thread.core.duty_cycle_max_ns", Kind::Maximum, 900),
        ];
        let after = [
            reading("fills.crossed_shares", Kind::Counter, 400),
            reading("fills.principal_shares", Kind::Counter, 200),
            reading("fills.venue_shares", Kind::Counter, 200),
            reading("ring.sequenced.depth", Kind::Gauge, 7),
            reading("thread.core.duty_cycle_max_ns", Kind::Maximum, 2_500),
        ];
        let text = render(&before, &after, 2.0);
        // 600 of 800 since start; 300 of the last interval's 400.
        assert!(
            text.starts_with("internalized 75.0% of 800 executed shares (last interval: 75.0%)"),
            "{text}"
        );
        assert!(
            text.contains("fills.crossed_shares") && text.contains("150   total 400"),
            "{text}"
        );
        assert!(
            text.contains("ring.sequenced.depth") && text.contains(" 7\n"),
            "{text}"
        );
        assert!(text.contains("2.5 µs"), "{text}");
        assert_eq!(internalized(&[]), (0, None));
    }
}
