//! The shared harness of Crossline's benchmark programs (`scripts/bench.sh <name>`).
//!
//! What every benchmark here does the same way (DESIGN.md, "Benchmarks"):
//! - latency in an HdrHistogram, open-loop at a fixed offered rate, each message stamped
//!   with the time it was *scheduled* to be sent, so a stall is charged to every message
//!   it delayed (no coordinated omission);
//! - subjects interleaved round by round (A B C, A B C, …), ratios taken per round and
//!   reported as the median over rounds;
//! - the machine's own limit (core-to-core latency) measured in the same run;
//! - results written as JSON to `target/bench/<name>.json` with `results`, `ratios` and
//!   `machine`.
// Measurement arithmetic converts between f64 and integer nanoseconds, ticks and counts
// that are far inside both ranges; truncation there is rounding, on purpose.
#![allow(clippy::cast_possible_truncation)]
#![deny(unsafe_code)]

pub mod chart;
pub mod clock;
pub mod core_to_core;
pub mod echo;
pub mod memory;
pub mod report;
pub mod stats;
pub mod tcp;

use std::sync::Barrier;
use std::thread;

/// Pins the calling thread to `core`, or explains why it could not.
///
/// # Errors
/// A message naming the core when the OS refuses.
pub fn pin_current_thread(core: usize) -> Result<(), String> {
    if core_affinity::set_for_current(core_affinity::CoreId { id: core }) {
        Ok(())
    } else {
        Err(format!("could not pin a benchmark thread to core {core}"))
    }
}

/// Runs `left` pinned to `cores.0` and `right` pinned to `cores.1`, started together
/// through a barrier, and returns both results.
///
/// # Panics
/// If pinning fails or either side panics: a benchmark whose threads are not where it
/// says they are would report a wrong number.
pub fn run_pinned_pair<L, R, A, B>(cores: (usize, usize), left: L, right: R) -> (A, B)
where
    L: FnOnce(&Barrier) -> A + Send,
    R: FnOnce(&Barrier) -> B + Send,
    A: Send,
    B: Send,
{
    let barrier = Barrier::new(2);
    thread::scope(|scope| {
        let left = scope.spawn(|| {
            pin_current_thread(cores.0).unwrap_or_else(|error| panic!("{error}"));
            left(&barrier)
        });
        let right = scope.spawn(|| {
            pin_current_thread(cores.1).unwrap_or_else(|error| panic!("{error}"));
            right(&barrier)
        });
        let left = left.join().expect("benchmark thread panicked");
        let right = right.join().expect("benchmark thread panicked");
        (left, right)
    })
}

/// Command-line options shared by the benchmark programs.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--quick`: the short run (well under a minute).
    pub quick: bool,
    /// `--rounds N`: interleaved rounds (at least 5).
    pub rounds: Option<usize>,
    /// `--cores A,B`: the two cores to pin to.
    pub cores: Option<(usize, usize)>,
    /// `--rate N`: offered rate for latency runs, messages per second.
    pub rate_per_s: Option<u64>,
}

impl Options {
    /// Parses the process arguments.
    ///
    /// # Errors
    /// A message naming the argument and what was expected.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut options = Options {
            quick: false,
            rounds: None,
            cores: None,
            rate_per_s: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--quick" => options.quick = true,
                "--rounds" => {
                    let text = value("--rounds")?;
                    let rounds: usize = text
                        .parse()
                        .map_err(|_| format!("--rounds {text:?} is not a whole number"))?;
                    if rounds < 5 {
                        return Err(format!("--rounds {rounds}: at least 5 rounds are needed"));
                    }
                    options.rounds = Some(rounds);
                }
                "--cores" => {
                    let text = value("--cores")?;
                    let parsed: Vec<usize> =
                        text.split(',').map(str::trim).filter_map(|id| id.parse().ok()).collect();
                    match parsed[..] {
                        [a, b] if a != b => options.cores = Some((a, b)),
                        _ => return Err(format!("--cores {text:?}: expected two different core ids like 0,1")),
                    }
                }
                "--rate" => {
                    let text = value("--rate")?;
                    let rate: u64 = text
                        .parse()
                        .ok()
                        .filter(|rate| *rate > 0)
                        .ok_or_else(|| format!("--rate {text:?} is not a positive whole number"))?;
                    options.rate_per_s = Some(rate);
                }
                other => {
                    return Err(format!(
                        "unknown argument {other:?}; expected --quick, --rounds N, --cores A,B, --rate N"
                    ))
                }
            }
        }
        Ok(options)
    }

    /// The two cores to use: `--cores`, or the first two this process may run on.
    ///
    /// # Errors
    /// When fewer than two cores are available or a requested core is not among them.
    pub fn pick_cores(&self) -> Result<(usize, usize), String> {
        let available = crossline_agent::Cores::detect();
        match self.cores {
            Some((a, b)) => {
                for core in [a, b] {
                    if !available.contains(core) {
                        return Err(format!(
                            "core {core} is not available to this process (available: {:?})",
                            available.ids()
                        ));
                    }
                }
                Ok((a, b))
            }
            None => match available.ids() {
                [a, b, ..] => Ok((*a, *b)),
                ids => Err(format!(
                    "this benchmark needs two cores for a producer and a consumer; available: {ids:?}"
                )),
            },
        }
    }
}

/// The benchmark's configuration: the embedded default with every client's limits set
/// where the offered rates pass them (1M messages/s, a $1T credit line: the benchmark
/// measures the path of an accepted order, not a rejection), on free ports.
pub fn engine_config_text() -> Result<String, String> {
    let mut text = crossline_config::DEFAULT.to_owned();
    for (from, to) in [
        (
            "credit_limit = \"1000000000\"  ",
            "credit_limit = \"1000000000000\"",
        ),
        (
            "messages_per_second = 2000 ",
            "messages_per_second = 4000000",
        ),
        ("message_burst = 200\n", "message_burst = 1000000\n"),
        (
            "credit_limit = \"250000\"            # a smaller account\n",
            "",
        ),
        ("messages_per_second = 100\nmessage_burst = 20\n", ""),
        // A client that falls behind at an overload is cut off when its replies fill
        // this buffer; the benchmark's client is kept on to measure the backlog instead.
        ("send_buffer_kib = 256", "send_buffer_kib = 4096"),
        ("connections_max = 64 ", "connections_max = 16 "),
        // The 16 slots must cover the 4 clients with a secret plus those waiting to log on.
        ("pending_logons_max = 16 ", "pending_logons_max = 8 "),
        // ... and the 2 operators plus the admin port's logons (the port shares them).
        ("pending_logons_max = 4 ", "pending_logons_max = 2 "),
        ("listen = \"127.0.0.1:9100\"", "listen = \"127.0.0.1:0\""),
        ("listen = \"127.0.0.1:9101\"", "listen = \"127.0.0.1:0\""),
        ("listen = \"127.0.0.1:9200\"", "listen = \"127.0.0.1:0\""),
    ] {
        if !text.contains(from) {
            return Err(format!(
                "the default configuration no longer has {from:?}; update engine_config_text"
            ));
        }
        text = text.replacen(from, to, 1);
    }
    Ok(text)
}
