//! `crossline stat`: a running engine's live counters, read from its counters file in
//! another process and printed every interval: rates of the counters, ring depths, each
//! thread's longest duty cycle, and the share of executed shares internalized.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crossline_counters::{CountersError, CountersReader, Kind, Reading};

/// One screen of figures from two samples `seconds` apart.
#[must_use]
pub fn render(before: &[Reading], after: &[Reading], seconds: f64) -> String {
    let mut text = String::new();
    let value = |label: &str| {
        after
            .iter()
            .find(|r| r.label == label)
            .map_or(0, |r| r.value)
    };
    let earlier = |label: &str| {
        before
            .iter()
            .find(|r| r.label == label)
            .map_or(0, |r| r.value)
    };
    let rate = |label: &str| value(label).saturating_sub(earlier(label)) as f64 / seconds.max(1e-9);
    let (crossed, principal, venue) = (
        value("fills.crossed_shares"),
        value("fills.principal_shares"),
        value("fills.venue_shares"),
    );
    let executed = crossed + principal + venue;
    let internalized = if executed > 0 {
        format!(
            "{:.1}%",
            100.0 * (crossed + principal) as f64 / executed as f64
        )
    } else {
        "-".to_owned()
    };
    let (d_crossed, d_principal, d_venue) = (
        rate("fills.crossed_shares"),
        rate("fills.principal_shares"),
        rate("fills.venue_shares"),
    );
    let recent = if d_crossed + d_principal + d_venue > 0.0 {
        format!(
            "{:.1}%",
            100.0 * (d_crossed + d_principal) / (d_crossed + d_principal + d_venue)
        )
    } else {
        "-".to_owned()
    };
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
