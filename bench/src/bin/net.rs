//! `scripts/bench.sh net [--quick]`: TCP round trips over loopback, open-loop at fixed
//! rates, through crossline-net's io_uring backend, its epoll backend, and a plain blocking
//! `std::net` echo server (the kernel's loopback baseline), interleaved round by round.
//!
//! **What is measured.** One client, pinned to one core, holds one TCP connection to an
//! echo server pinned to the other. It sends a 64-byte frame when each falls due
//! (`start + i / rate`), whatever has come back, and reads echoes (non-blocking) while it
//! waits; each echo's round trip is `arrival - due`, so a stall is charged to every frame
//! it delays (no coordinated omission). The client is the same code for every subject;
//! only the server differs:
//! - `io_uring`: a crossline-net transport on the io_uring backend (multishot receive,
//!   registered send buffers), busy polling: each poll reaps completions from shared
//!   memory and enters the kernel only to submit;
//! - `epoll`: a crossline-net transport on the epoll backend, busy polling
//!   (`epoll_wait` with a zero timeout);
//! - `loopback_baseline`: `std::net::TcpStream`, blocking `read` then `write_all`: what
//!   the kernel's loopback costs with the plainest code.
//!
//! Every server echoes through the same kernel TCP stack, so the baseline is the floor
//! this machine sets; the ratio `io_uring_p99_vs_loopback_baseline` says what the
//! transport adds to it (below 1: busy polling saves the blocked reader's wake-up).
// Measurement arithmetic converts between f64 and integer nanoseconds and counts far
// inside both ranges; truncation there is rounding, on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::process::ExitCode;
use std::time::Duration;

use crossline_bench::clock::Clock;
use crossline_bench::stats::{latency_histogram, median, Percentiles};
use crossline_bench::tcp::{run_one, EchoServer, FRAME_BYTES};
use crossline_bench::{report, Options};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

/// The rate the target is set at.
const TARGET_RATE_PER_S: u64 = 50_000;

#[derive(Debug, Clone, Copy)]
struct Settings {
    rounds: usize,
    rates_per_s: &'static [u64],
    seconds_per_run: f64,
    warmup: u64,
}

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("net benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let cores = match options.pick_cores() {
        Ok(cores) => cores,
        Err(error) => {
            eprintln!("net benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let settings = if options.quick {
        Settings {
            rounds: 1,
            rates_per_s: &[TARGET_RATE_PER_S],
            seconds_per_run: 1.0,
            warmup: 2_000,
        }
    } else {
        // Short runs, many rounds: on a shared VM a single multi-millisecond host stall
        // sets a run's p99, so the ratio is a median over many interleaved rounds.
        Settings {
            rounds: options.rounds.unwrap_or(7),
            rates_per_s: &[10_000, TARGET_RATE_PER_S, 100_000],
            seconds_per_run: 1.0,
            warmup: 5_000,
        }
    };
    let clock = Clock::calibrate(Duration::from_millis(200));
    println!(
        "net: {} round(s), rates {:?}/s, {} s per run, client on core {}, server on core {}",
        settings.rounds, settings.rates_per_s, settings.seconds_per_run, cores.0, cores.1
    );
    match run(&clock, cores, settings) {
        Ok((results, ratios)) => finish(results, ratios, cores),
        Err(error) => {
            eprintln!("net benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(clock: &Clock, cores: (usize, usize), settings: Settings) -> Result<(Value, Value), String> {
    let mut results = Map::new();
    let mut ratios = Map::new();
    let mut receive_mode = String::new();
    for &rate in settings.rates_per_s {
        let messages = (rate as f64 * settings.seconds_per_run) as u64;
        let mut merged: Vec<Histogram<u64>> = EchoServer::ALL
            .iter()
            .map(|_| latency_histogram())
            .collect();
        let mut round_ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..settings.rounds {
            let mut p99 = [0u64; 3];
            for (index, subject) in EchoServer::ALL.into_iter().enumerate() {
                let outcome = run_one(clock, cores, subject, rate, messages, settings.warmup)?;
                if let Some(mode) = outcome.receive_mode {
                    if subject == EchoServer::IoUring {
                        receive_mode = mode.to_string();
                    }
                }
                if outcome.lost > 0 {
                    return Err(format!(
                        "{}: {} frames never came back",
                        subject.name(),
                        outcome.lost
                    ));
                }
                let percentiles = Percentiles::of(&outcome.histogram);
                println!(
                    "  round {} {:>7}/s {:<18} p50 {:>7} ns  p99 {:>7} ns  p99.9 {:>8} ns  max {:>9} ns",
                    round + 1,
                    rate,
                    subject.name(),
                    percentiles.p50_ns,
                    percentiles.p99_ns,
                    percentiles.p999_ns,
                    percentiles.max_ns
                );
                p99[index] = percentiles.p99_ns;
                merged[index]
                    .add(&outcome.histogram)
                    .map_err(|e| e.to_string())?;
            }
            round_ratios[0].push(p99[0] as f64 / p99[2] as f64);
            round_ratios[1].push(p99[1] as f64 / p99[2] as f64);
        }
        for (index, subject) in EchoServer::ALL.into_iter().enumerate() {
            let key = format!("{}_at_{}_per_s_", subject.name(), rate);
            let percentiles = Percentiles::of(&merged[index]).to_json(&key);
            if let Value::Object(map) = percentiles {
                results.extend(map);
            }
        }
        let suffix = if rate == TARGET_RATE_PER_S {
            String::new()
        } else {
            format!("_at_{rate}_per_s")
        };
        ratios.insert(
            format!("io_uring_p99_vs_loopback_baseline{suffix}"),
            json!(median(&round_ratios[0])),
        );
        ratios.insert(
            format!("epoll_p99_vs_loopback_baseline{suffix}"),
            json!(median(&round_ratios[1])),
        );
        println!(
            "  {rate}/s: io_uring p99 / baseline p99 per round {:?} (median {:.3}); epoll {:?} (median {:.3})",
            rounded(&round_ratios[0]),
            median(&round_ratios[0]),
            rounded(&round_ratios[1]),
            median(&round_ratios[1])
        );
    }
    results.insert("frame_bytes".into(), json!(FRAME_BYTES));
    results.insert("io_uring_receive_mode".into(), json!(receive_mode));
    results.insert("rounds".into(), json!(settings.rounds));
    results.insert("seconds_per_run".into(), json!(settings.seconds_per_run));
    Ok((Value::Object(results), Value::Object(ratios)))
}

fn rounded(values: &[f64]) -> Vec<f64> {
    values
        .iter()
        .map(|v| (v * 1000.0).round() / 1000.0)
        .collect()
}

fn finish(results: Value, ratios: Value, cores: (usize, usize)) -> ExitCode {
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    println!("results: {}", pretty(&results));
    println!("ratios: {}", pretty(&ratios));
    match report::write("net", results, ratios, report::machine(&[cores.0, cores.1])) {
        Ok(path) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("net benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}
