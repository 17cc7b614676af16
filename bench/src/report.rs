//! Machine description and the JSON result file every benchmark writes.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// Where results go: `target/bench/` under the workspace (or `$CARGO_TARGET_DIR/bench`).
#[must_use]
pub fn results_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    target.join("bench")
}

/// What the numbers were measured on, and how to measure them again.
#[must_use]
pub fn machine(cores_used: &[usize]) -> Value {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let hypervisor = std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.contains(" hypervisor"))
        .unwrap_or(false);
    // scripts/bench.sh passes the command as typed; run directly, the binary's own.
    let command = std::env::var("CROSSLINE_BENCH_COMMAND")
        .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    json!({
        "cores": std::thread::available_parallelism().map_or(0, |count| count.get()),
        "cores_used": cores_used,
        "cpu_model": cpu_model,
        "virtualized": hypervisor,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "date": utc_date_time(),
        "command": command,
    })
}

/// CPU time (user + system) this process has used so far, in seconds, from
/// `/proc/self/stat`; `None` off Linux. Clock ticks are `USER_HZ`, 100 on Linux's
/// user-space ABI.
#[must_use]
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name start at field 3; utime and stime are
    // fields 14 and 15.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(14 - 3);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Measures what share of `cores` cores a run actually got, to catch a host that starves
/// the machine (invisible in a VM's steal counter here): a benchmark whose threads were
/// descheduled measures the host, not the code.
#[derive(Debug)]
pub struct CpuShare {
    started: std::time::Instant,
    cpu_seconds_at_start: Option<f64>,
    cores: usize,
}

impl CpuShare {
    /// Starts measuring for a run that keeps `cores` threads busy.
    #[must_use]
    pub fn start(cores: usize) -> CpuShare {
        CpuShare {
            started: std::time::Instant::now(),
            cpu_seconds_at_start: process_cpu_seconds(),
            cores,
        }
    }

    /// CPU time used since the start divided by `cores` × wall time (1.0: every busy
    /// thread had its core all the time), or `None` where it cannot be read.
    #[must_use]
    pub fn share(&self) -> Option<f64> {
        let used = process_cpu_seconds()? - self.cpu_seconds_at_start?;
        Some(used / (self.cores as f64 * self.started.elapsed().as_secs_f64()))
    }
}

/// The share below which a run's figures are reported as untrustworthy.
pub const CPU_SHARE_MIN: f64 = 0.9;

/// Writes `{"results", "ratios", "machine"}` to `target/bench/<name>.json` and returns the
/// path.
///
/// # Errors
/// The I/O error, with the path, if the file cannot be written.
pub fn write(name: &str, results: Value, ratios: Value, machine: Value) -> Result<PathBuf, String> {
    let directory = results_dir();
    std::fs::create_dir_all(&directory)
        .map_err(|error| format!("cannot create {}: {error}", directory.display()))?;
    let path = directory.join(format!("{name}.json"));
    let document =
        json!({ "benchmark": name, "results": results, "ratios": ratios, "machine": machine });
    let text = serde_json::to_string_pretty(&document).expect("JSON values always serialise");
    std::fs::write(&path, text + "\n")
        .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    Ok(path)
}

/// Ends a single-threaded benchmark run: prints the results and ratios, warns if the run
/// got less than [`CPU_SHARE_MIN`] of its core, writes `target/bench/<name>.json` and
/// returns the process's exit code.
#[must_use]
pub fn conclude(
    name: &str,
    results: Value,
    ratios: Value,
    cpu_share: &CpuShare,
) -> std::process::ExitCode {
    let share = cpu_share.share();
    let mut machine = machine(&[]);
    machine["cpu_share"] = json!(share);
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    println!("results: {}", pretty(&results));
    println!("ratios: {}", pretty(&ratios));
    if let Some(share) = share.filter(|share| *share < CPU_SHARE_MIN) {
        println!(
            "WARNING: this run got {:.0}% of a core; the host starved the machine and the figures understate the code",
            share * 100.0
        );
    }
    match write(name, results, ratios, machine) {
        Ok(path) => {
            println!("wrote {}", path.display());
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{name} benchmark: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
#[must_use]
pub fn utc_date_time() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_counts_as_a_full_core() {
        let share = CpuShare::start(1);
        let started = std::time::Instant::now();
        let mut spins = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(300) {
            spins = std::hint::black_box(spins + 1);
        }
        if let Some(share) = share.share() {
            // A busy thread on an idle machine gets close to all of a core; even a loaded
            // CI machine gives it well over a tenth, and never more than a whole one.
            assert!((0.1..=1.2).contains(&share), "share {share}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
    }
}
