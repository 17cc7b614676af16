//! `scripts/bench.sh book [--quick]`: the internalization matcher on a documented mix
//! across 1,000 symbols (throughput and open-loop per-input latency), and crossline-book
//! against order-book crates from crates.io on a plain limit-order-book stream.
//!
//! Both parts are single-threaded: the matcher is one agent's state machine. Subjects are
//! interleaved round by round (crossline, lobster, matchcore, orderbook-rs, crossline, …)
//! and ratios are medians of per-round ratios. The machine's limits for the mix, measured
//! in the same run: the rate at which one core merely copies the recorded inputs (no
//! matcher consumes its inputs faster than it reads them), and the latency of a dependent
//! random read in a buffer the size of the matcher's hot working set (each cache miss the
//! matcher cannot overlap costs at least that).
// Measurement arithmetic converts between f64 and integer nanoseconds, ticks and counts
// far inside both ranges; truncation there is rounding, on purpose.
#![allow(clippy::cast_possible_truncation)]

mod mix;
mod plain;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossline_bench::clock::Clock;
use crossline_bench::stats::{latency_histogram, median, Percentiles};
use crossline_bench::{memory, pin_current_thread, report, Options};
use crossline_matcher::{Event, Input, Matcher, PREFETCH_STAGES};
use crossline_types::{SequenceNumber, Timestamp};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

use crate::mix::{Recording, SymbolSpread};
use crate::plain::{Crossline, Lobster, Matchcore, OrderbookRs, PlainBook, PlainOp};

/// Default offered rate for the open-loop latency pass, inputs per second: well below
/// what one core sustains on the mix, so the figure is service time plus the queueing a
/// real arrival process causes, not a backlog.
const LATENCY_RATE_PER_S: u64 = 1_000_000;

/// The buffer for the random-access latency: about the matcher's hot working set on the
/// mix (order records, order indexes, the books' touched levels and nodes).
const WORKING_SET_BYTES: usize = 16 << 20;
/// A smaller buffer, to show where this machine's caches end.
const SMALL_SET_BYTES: usize = 4 << 20;

struct Settings {
    rounds: usize,
    mix_inputs: usize,
    latency_inputs: usize,
    plain_ops: usize,
    rate_per_s: u64,
}

impl Settings {
    fn from_options(options: &Options) -> Settings {
        let (rounds, mix_inputs, latency_inputs, plain_ops) = if options.quick {
            (5, 600_000, 200_000, 300_000)
        } else {
            (7, 3_000_000, 1_000_000, 1_000_000)
        };
        Settings {
            rounds: options.rounds.unwrap_or(rounds),
            mix_inputs,
            latency_inputs,
            plain_ops,
            rate_per_s: options.rate_per_s.unwrap_or(LATENCY_RATE_PER_S),
        }
    }
}

/// Counts events by kind: the benchmark's sink, cheap but impossible to optimise away.
#[derive(Default, Clone, Copy)]
struct Tally {
    events: u64,
    fills: u64,
    routes: u64,
}

impl Tally {
    #[inline(always)]
    fn record(&mut self, event: &Event) {
        self.events += 1;
        match event {
            Event::Filled(_) => self.fills += 1,
            Event::Route(_) => self.routes += 1,
            _ => {}
        }
    }
}

/// A fresh matcher with the warm-up prefix applied (not timed).
fn warmed(recording: &Recording) -> Matcher {
    let mut matcher = Matcher::new(&recording.config).expect("valid mix configuration");
    let mut tally = Tally::default();
    for (index, (time, input)) in recording.inputs[..recording.warmup].iter().enumerate() {
        matcher.apply(
            SequenceNumber::new(index as u64 + 1),
            *time,
            input,
            &mut |event| tally.record(&event),
        );
    }
    matcher
}

/// Applies the measured section as fast as possible; returns inputs per second and the
/// tally. With `prefetch`, the matcher is told about each input at the distances of
/// `PREFETCH_STAGES` before applying it, as an agent draining a batch from its ring would.
fn mix_throughput(recording: &Recording, prefetch: bool) -> (f64, Tally) {
    let mut matcher = warmed(recording);
    let mut tally = Tally::default();
    let measured = &recording.inputs[recording.warmup..];
    let start = Instant::now();
    for (offset, (time, input)) in measured.iter().enumerate() {
        if prefetch {
            for (distance, stage) in PREFETCH_STAGES {
                if let Some((_, ahead)) = measured.get(offset + distance) {
                    let sequence = (recording.warmup + offset + distance) as u64 + 1;
                    matcher.prefetch(SequenceNumber::new(sequence), ahead, stage);
                }
            }
        }
        let sequence = SequenceNumber::new((recording.warmup + offset) as u64 + 1);
        matcher.apply(sequence, *time, input, &mut |event| tally.record(&event));
    }
    let elapsed = start.elapsed().as_secs_f64();
    black_box(&matcher);
    (measured.len() as f64 / elapsed, tally)
}

/// Applies the first `count` measured inputs open-loop at `rate_per_s`: input `i` is due
/// at `start + i / rate`, and its latency is from when it was due to when `apply`
/// returned, so a slow input charges its delay to every input queued behind it.
fn mix_latency(
    recording: &Recording,
    clock: &Clock,
    count: usize,
    rate_per_s: u64,
) -> Histogram<u64> {
    let mut matcher = warmed(recording);
    let mut tally = Tally::default();
    let mut histogram = latency_histogram();
    let interval = clock.ticks(1e9 / rate_per_s as f64).max(1);
    let measured = &recording.inputs[recording.warmup..recording.warmup + count];
    let start = clock.now() + clock.ticks(1e6);
    for (offset, (time, input)) in measured.iter().enumerate() {
        let due = start + offset as u64 * interval;
        clock.wait_until(due);
        let sequence = SequenceNumber::new((recording.warmup + offset) as u64 + 1);
        matcher.apply(sequence, *time, input, &mut |event| tally.record(&event));
        let done = clock.now();
        histogram.saturating_record(clock.nanos(done.saturating_sub(due)) as u64);
    }
    black_box(tally.events);
    histogram
}

/// Copies the measured inputs once (the machine's limit for reading them); inputs per
/// second.
fn input_copy_rate(recording: &Recording, scratch: &mut Vec<(Timestamp, Input)>) -> f64 {
    let measured = &recording.inputs[recording.warmup..];
    scratch.clear();
    let start = Instant::now();
    scratch.extend_from_slice(measured);
    black_box(scratch.as_ptr());
    measured.len() as f64 / start.elapsed().as_secs_f64()
}

/// Runs the plain stream through one subject; operations per second and the final touch.
fn plain_run<B: PlainBook>(ops: &[PlainOp]) -> (f64, (Option<u64>, Option<u64>)) {
    let mut book = B::new(ops.len());
    let start = Instant::now();
    for (id, op) in ops.iter().enumerate() {
        book.apply(id as u64, *op);
    }
    let rate = ops.len() as f64 / start.elapsed().as_secs_f64();
    (rate, book.touch())
}

/// The mix's figures, by round.
#[derive(Default)]
struct MixResults {
    /// Uniform symbols, batched with prefetch (the headline).
    rates: Vec<f64>,
    /// Uniform symbols, one input at a time without prefetch.
    unbatched_rates: Vec<f64>,
    /// Zipf-distributed symbols, batched with prefetch.
    zipf_rates: Vec<f64>,
    copy_rates: Vec<f64>,
    random_access_ns: Vec<f64>,
    random_access_small_ns: Vec<f64>,
    tally: Tally,
}

struct PlainResults {
    /// Per subject (crossline first): ops/s by round.
    rates: Vec<Vec<f64>>,
    names: Vec<(&'static str, &'static str)>,
}

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("book benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    if options.cores.is_some() {
        eprintln!(
            "book benchmark: --cores does not apply; the matcher runs on one thread (use taskset)"
        );
        return ExitCode::from(2);
    }
    let settings = Settings::from_options(&options);
    let core = crossline_agent::Cores::detect().ids().first().copied();
    if let Some(core) = core {
        if let Err(error) = pin_current_thread(core) {
            eprintln!("book benchmark: {error}; running unpinned");
        }
    }
    let clock = Clock::calibrate(Duration::from_millis(200));
    let cpu_share = report::CpuShare::start(1);
    println!(
        "book benchmark: {} rounds; mix of {} inputs over {} symbols, latency over {} inputs at {} inputs/s; plain stream of {} operations",
        settings.rounds, settings.mix_inputs, mix::SYMBOLS, settings.latency_inputs, settings.rate_per_s, settings.plain_ops,
    );
    let started = Instant::now();
    let recording = mix::record(
        settings.mix_inputs,
        0x5DEE_CE66_D1CE_4E5B,
        SymbolSpread::Uniform,
    );
    let skewed = mix::record(
        settings.mix_inputs,
        0x5DEE_CE66_D1CE_4E5B,
        SymbolSpread::Zipf,
    );
    println!(
        "  recorded {} warm-up + {} measured inputs (uniform and Zipf) in {:.1} s; {} orders working when measuring starts, {} at the end",
        recording.warmup,
        recording.inputs.len() - recording.warmup,
        started.elapsed().as_secs_f64(),
        recording.working_at_start,
        recording.working_at_end,
    );
    let ops = plain::stream(settings.plain_ops, 0x2545_F491_4F6C_DD1D);
    println!(
        "  plain stream: {}% passive adds, {}% cancels, {}% aggressive crosses",
        plain::ADD_PERCENT,
        plain::CANCEL_PERCENT,
        plain::AGGRESSIVE_PERCENT
    );

    let mut mix = MixResults::default();
    let mut latency = latency_histogram();
    let mut scratch = Vec::with_capacity(recording.inputs.len());
    let mut plain = PlainResults {
        rates: vec![Vec::new(); 4],
        names: vec![
            (Crossline::NAME, Crossline::KEY),
            (Lobster::NAME, Lobster::KEY),
            (Matchcore::NAME, Matchcore::KEY),
            (OrderbookRs::NAME, OrderbookRs::KEY),
        ],
    };
    for round in 1..=settings.rounds {
        let (rate, tally) = mix_throughput(&recording, true);
        mix.rates.push(rate);
        mix.tally = tally;
        mix.unbatched_rates
            .push(mix_throughput(&recording, false).0);
        mix.zipf_rates.push(mix_throughput(&skewed, true).0);
        mix.copy_rates
            .push(input_copy_rate(&recording, &mut scratch));
        mix.random_access_ns
            .push(memory::random_access_latency_ns(WORKING_SET_BYTES, 500_000));
        mix.random_access_small_ns
            .push(memory::random_access_latency_ns(SMALL_SET_BYTES, 500_000));
        let round_latency = mix_latency(
            &recording,
            &clock,
            settings.latency_inputs,
            settings.rate_per_s,
        );
        latency
            .add(&round_latency)
            .expect("histograms share bounds");
        let runs = [
            plain_run::<Crossline>(&ops),
            plain_run::<Lobster>(&ops),
            plain_run::<Matchcore>(&ops),
            plain_run::<OrderbookRs>(&ops),
        ];
        for (index, (rate, touch)) in runs.iter().enumerate() {
            plain.rates[index].push(*rate);
            if *touch != runs[0].1 {
                eprintln!(
                    "book benchmark: {} ended at bid/ask {:?}, crossline-book at {:?}: the subjects disagree",
                    plain.names[index].0, touch, runs[0].1
                );
                return ExitCode::FAILURE;
            }
        }
        println!(
            "  round {round}: mix {:.2} M inputs/s ({:.2} unbatched, {:.2} Zipf; p50 {} ns at {}/s); plain M ops/s: {}",
            rate / 1e6,
            mix.unbatched_rates[round - 1] / 1e6,
            mix.zipf_rates[round - 1] / 1e6,
            round_latency.value_at_quantile(0.5),
            settings.rate_per_s,
            runs.iter()
                .zip(&plain.names)
                .map(|((rate, _), (name, _))| format!("{name} {:.2}", rate / 1e6))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    report_results(&settings, &recording, &mix, &latency, &plain, &cpu_share)
}

fn report_results(
    settings: &Settings,
    recording: &Recording,
    mix: &MixResults,
    latency: &Histogram<u64>,
    plain: &PlainResults,
    cpu_share: &report::CpuShare,
) -> ExitCode {
    let measured = (recording.inputs.len() - recording.warmup) as f64;
    let tally = mix.tally;
    let rounded = |values: &[f64]| values.iter().map(|value| value.round()).collect::<Vec<_>>();
    let mut results = Map::new();
    results.insert(
        "internalization_mix_ops_per_s".into(),
        json!(median(&mix.rates).round()),
    );
    results.insert(
        "internalization_mix_ops_per_s_by_round".into(),
        json!(rounded(&mix.rates)),
    );
    results.insert(
        "internalization_mix_unbatched_ops_per_s".into(),
        json!(median(&mix.unbatched_rates).round()),
    );
    results.insert(
        "internalization_mix_zipf_ops_per_s".into(),
        json!(median(&mix.zipf_rates).round()),
    );
    results.insert(
        "internalization_mix_events_per_input".into(),
        json!(tally.events as f64 / measured),
    );
    results.insert(
        "internalization_mix_fills_per_input".into(),
        json!(tally.fills as f64 / measured),
    );
    results.insert(
        "internalization_mix_routes_per_input".into(),
        json!(tally.routes as f64 / measured),
    );
    results.insert(
        "internalization_mix_working_orders_at_start".into(),
        json!(recording.working_at_start),
    );
    results.insert(
        "internalization_mix_working_orders_at_end".into(),
        json!(recording.working_at_end),
    );
    for (kind, share) in recording.composition() {
        results.insert(format!("internalization_mix_share_{kind}"), json!(share));
    }
    results.insert(
        "internalization_latency_rate_per_s".into(),
        json!(settings.rate_per_s),
    );
    if let Value::Object(latency) = Percentiles::of(latency).to_json("internalization_latency_") {
        results.extend(latency);
    }
    results.insert(
        "input_copy_ops_per_s".into(),
        json!(median(&mix.copy_rates).round()),
    );
    results.insert(
        "random_access_4mib_ns".into(),
        json!(median(&mix.random_access_small_ns)),
    );
    results.insert(
        "random_access_16mib_ns".into(),
        json!(median(&mix.random_access_ns)),
    );
    let mut ratios = Map::new();
    let ratio_by_round = |numerator: &[f64], denominator: &[f64]| {
        median(
            &numerator
                .iter()
                .zip(denominator)
                .map(|(a, b)| a / b)
                .collect::<Vec<_>>(),
        )
    };
    ratios.insert(
        "internalization_mix_vs_input_copy".into(),
        json!(ratio_by_round(&mix.rates, &mix.copy_rates)),
    );
    // Time per input, in units of one unhidden cache miss to memory.
    let nanos_per_input: Vec<f64> = mix.rates.iter().map(|rate| 1e9 / rate).collect();
    ratios.insert(
        "internalization_ns_per_input_vs_random_access".into(),
        json!(ratio_by_round(&nanos_per_input, &mix.random_access_ns)),
    );
    ratios.insert(
        "internalization_batched_vs_unbatched".into(),
        json!(ratio_by_round(&mix.rates, &mix.unbatched_rates)),
    );
    for (index, (_, key)) in plain.names.iter().enumerate() {
        results.insert(
            format!("plain_{key}_ops_per_s"),
            json!(median(&plain.rates[index]).round()),
        );
        if index > 0 {
            ratios.insert(
                format!("plain_vs_{key}"),
                json!(ratio_by_round(&plain.rates[0], &plain.rates[index])),
            );
        }
    }
    // Per round: crossline over the fastest peer of that round.
    let fastest_peer: Vec<f64> = (0..mix.rates.len())
        .map(|round| {
            (1..plain.rates.len())
                .map(|index| plain.rates[index][round])
                .fold(0.0, f64::max)
        })
        .collect();
    ratios.insert(
        "plain_vs_fastest_peer".into(),
        json!(ratio_by_round(&plain.rates[0], &fastest_peer)),
    );
    report::conclude(
        "book",
        Value::Object(results),
        Value::Object(ratios),
        cpu_share,
    )
}
