//! `scripts/bench.sh journal [--quick]`: the memory-mapped journal.
//!
//! - `append_records_per_s`: 64-byte records (32-byte header, 32-byte payload) appended
//!   back to back into pre-faulted 64 MiB segments, rolls included, each record's CRC32C
//!   computed and its commit marker published. Also `append_128_records_per_s` for
//!   128-byte records, the size of a journaled new order.
//! - `append_p9999_ns` (and the other percentiles): open loop at a fixed 1,000,000
//!   records/s. Each append is due at its slot in the schedule; its latency runs from
//!   when it was due to when it returned, so a stall delays, and counts against, every
//!   append queued behind it (no coordinated omission).
//! - `append_in_segment_records_per_s`: appends that stay inside one prepared segment,
//!   the writer's own cost without segment preparation, with the page faults taken.
//! - `replay_records_per_s`: a reader validating every record (CRC, length, sequence)
//!   over the journal the throughput run wrote, a run of up to 256 records per call
//!   (`Reader::next_run`, CRCs four at a time), reading each record's header and
//!   payload as replay does. `replay_one_at_a_time_records_per_s`: the same through
//!   `Reader::next`, one record per call, for comparison.
//! - `recovery_10m_s`: `Writer::open` on a closed journal of 10,000,000 records: the
//!   lock, every record validated to find the end, and the current segment mapped and
//!   pre-faulted. The page cache is warm, as after a process crash.
//! - `engine_replay_records_per_s`: for scale, a journal of engine commands replayed
//!   through the risk gate and the matcher (what a restart without a snapshot costs).
//! - `pipeline_restart_10m_s`: the running engine's restart, as `crossline run` restarts:
//!   `Pipeline::open` on a closed journal of 10,000,000 generated engine commands (the
//!   default configuration) until every agent runs, the journal recovered, the engine
//!   rebuilt and every client's replies of the day numbered for resend. Written without
//!   snapshots, and again (`pipeline_restart_snapshots_10m_s`) with a snapshot every
//!   950,000 commands, each keeping every client's replies as the running engine's
//!   snapshots do, so the restart replays only the tail after the newest, once: the
//!   newest is at 9,500,000, half an interval before the end (the average tail).
//!   `--quick`: 1,000,000 commands (`pipeline_restart_s`).
//! - `snapshot_sequencer_part_ms`, `snapshot_matcher_part_ms`, `snapshot_replies_part_ms`:
//!   how long each agent's part of a live snapshot takes to take (serialized on its own
//!   thread, the one time a snapshot holds up the hot path) at the end of that journal.
//! - The machine's limit in the same run: `memcpy_gb_per_s`, a large memory copy, and the
//!   append rate it would allow, `memcpy_64_byte_records_per_s`.
//!
//! Data goes to `target/bench/journal-data` and is removed at the end.
#![allow(clippy::cast_possible_truncation)] // measurement arithmetic, rounding on purpose

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use crossline::demo::on_free_ports;
use crossline::load::Generator;
use crossline_agent::Cores;
use crossline_bench::clock::Clock;
use crossline_bench::stats::{latency_histogram, median, Percentiles};
use crossline_bench::{report, Options};
use crossline_engine::snapshot::encode_part;
use crossline_engine::Observer;
use crossline_engine::{recovery, Engine};
use crossline_journal::{JournalConfig, Reader, Writer, RUN_MAX};
use crossline_pipeline::{Pipeline, ReplyKeeper};
use crossline_sequencer::{NoJournal, Stamped};
use crossline_types::Timestamp;
use serde_json::json;

fn config(dir: &Path) -> JournalConfig {
    let _ = std::fs::remove_dir_all(dir);
    let mut config = JournalConfig::new(dir);
    config.segment_bytes = 64 << 20;
    config
}

/// Appends `records` records of `payload` bytes as fast as possible: records per second,
/// and how many segment rolls had to wait for the next segment to be prepared.
fn append_throughput(dir: &Path, records: u64, payload: usize) -> (f64, u64) {
    let (mut writer, _) = Writer::open(config(dir)).expect("open journal");
    let mut bytes = vec![0u8; payload];
    let started = Instant::now();
    for sequence in 1..=records {
        bytes[..8].copy_from_slice(&sequence.to_le_bytes());
        writer
            .append(2, sequence, sequence, &bytes)
            .expect("append");
    }
    let elapsed = started.elapsed().as_secs_f64();
    (records as f64 / elapsed, writer.stats().roll_waits)
}

/// Appends that stay inside one prepared segment (no roll): the writer's own cost, with
/// the page faults the thread took meanwhile (zero when pre-faulting works).
fn append_in_segment(dir: &Path) -> (f64, i64) {
    let (mut writer, _) = Writer::open(config(dir)).expect("open journal");
    // 900,000 64-byte records fill 55 of the segment's 64 MiB.
    let records = 900_000u64;
    let bytes = [5u8; 32];
    let faults = thread_minor_faults();
    let started = Instant::now();
    for sequence in 1..=records {
        writer
            .append(2, sequence, sequence, &bytes)
            .expect("append");
    }
    let rate = records as f64 / started.elapsed().as_secs_f64();
    assert_eq!(writer.stats().rolls, 0);
    (rate, thread_minor_faults() - faults)
}

fn thread_minor_faults() -> i64 {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    usage.ru_minflt
}

/// Reads and validates every record one call per record (`Reader::next`); records per
/// second.
fn replay_one_at_a_time(dir: &Path) -> f64 {
    let started = Instant::now();
    let mut reader = Reader::open(dir, 4096).expect("reader");
    let (mut count, mut sum) = (0u64, 0u64);
    while let Some(entry) = reader.next().expect("valid journal") {
        count += 1;
        sum = sum.wrapping_add(entry.payload.len() as u64 ^ entry.sequence);
    }
    black_box(sum);
    count as f64 / started.elapsed().as_secs_f64()
}

/// Reads and validates every record, a run at a time; records per second.
fn replay_rate(dir: &Path) -> (f64, u64) {
    let started = Instant::now();
    let mut reader = Reader::open(dir, 4096).expect("reader");
    let (mut count, mut sum) = (0u64, 0u64);
    while let Some(run) = reader.next_run(RUN_MAX).expect("valid journal") {
        for entry in &run {
            count += 1;
            sum = sum.wrapping_add(entry.payload.len() as u64 ^ entry.sequence);
        }
    }
    black_box(sum);
    (count as f64 / started.elapsed().as_secs_f64(), count)
}

/// Open-loop appends at `rate` per second for `records`; the latency histogram.
fn append_latency(dir: &Path, clock: &Clock, rate: f64, records: u64) -> Percentiles {
    let (mut writer, _) = Writer::open(config(dir)).expect("open journal");
    let bytes = [7u8; 32];
    let mut histogram = latency_histogram();
    let interval = clock.ticks(1e9 / rate);
    let start = clock.now() + clock.ticks(1e6);
    for sequence in 1..=records {
        let due = start + interval * sequence;
        clock.wait_until(due);
        writer.append(2, sequence, due, &bytes).expect("append");
        let done = clock.now();
        let _ = histogram.record((clock.nanos(done.saturating_sub(due)) as u64).max(1));
    }
    Percentiles::of(&histogram)
}

/// The same open-loop schedule with only a 64-byte copy into a pre-touched 64 MiB
/// buffer per slot: the floor this host's scheduling and memory put under any append.
fn copy_latency(clock: &Clock, rate: f64, records: u64) -> Percentiles {
    let mut buffer = vec![1u8; 64 << 20];
    let record = [7u8; 64];
    let mut histogram = latency_histogram();
    let interval = clock.ticks(1e9 / rate);
    let start = clock.now() + clock.ticks(1e6);
    let slots = (buffer.len() / 64) as u64;
    for n in 1..=records {
        let due = start + interval * n;
        clock.wait_until(due);
        let at = ((n % slots) * 64) as usize;
        buffer[at..at + 64].copy_from_slice(black_box(&record));
        let done = clock.now();
        let _ = histogram.record((clock.nanos(done.saturating_sub(due)) as u64).max(1));
    }
    black_box(&buffer);
    Percentiles::of(&histogram)
}

/// Seconds for `Writer::open` to recover a closed journal of `records` 64-byte records.
fn recovery_time(dir: &Path, records: u64) -> f64 {
    {
        let (mut writer, _) = Writer::open(config(dir)).expect("open journal");
        let bytes = [3u8; 32];
        for sequence in 1..=records {
            writer
                .append(2, sequence, sequence, &bytes)
                .expect("append");
        }
    }
    let mut config = JournalConfig::new(dir);
    config.segment_bytes = 64 << 20;
    let started = Instant::now();
    let (writer, opened) = Writer::open(config).expect("recover");
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(opened.records, records);
    drop(writer);
    elapsed
}

/// Engine commands journaled and replayed through gate and matcher; records per second.
fn engine_replay(dir: &Path, commands: u64) -> f64 {
    let _ = std::fs::remove_dir_all(dir);
    {
        let (mut engine, _) = recovery::open(dir, crossline_config::DEFAULT).expect("engine");
        let config = crossline_config::parse(crossline_config::DEFAULT).expect("default");
        let mut generator = Generator::new(&config, 7, 1, 0);
        for n in 1..=commands {
            let stamped = Stamped {
                time: Timestamp::new(1_700_000_000_000_000_000 + n * 1_000_000),
                command: generator.next_command(),
            };
            engine.submit(&stamped, &mut ()).expect("submit");
        }
    }
    let config = crossline_config::parse(crossline_config::DEFAULT).expect("default config");
    let mut engine = Engine::new(&config, NoJournal).expect("engine");
    let started = Instant::now();
    let replayed =
        recovery::replay_from(dir, &mut engine, None, &mut (), &mut |_| {}).expect("replay");
    let rate = replayed as f64 / started.elapsed().as_secs_f64();
    assert_eq!(replayed, commands);
    rate
}

/// What one restart measured.
struct Restart {
    /// Seconds `Pipeline::open` took.
    seconds: f64,
    /// The cut of the snapshot loaded.
    snapshot: Option<u64>,
    /// Commands replayed after it.
    tail: u64,
    /// Milliseconds each agent's part of a snapshot took to take at the journal's end
    /// (what a live snapshot holds that agent's thread up for): sequencer, matcher,
    /// order ingress.
    stall_ms: [f64; 3],
}

/// `Pipeline::open` restarting the engine on a journal of `commands` generated commands
/// with a snapshot every `snapshot_every` (0: none).
fn pipeline_restart(dir: &Path, commands: u64, snapshot_every: u64) -> Restart {
    let _ = std::fs::remove_dir_all(dir);
    let stall_ms = {
        let (mut engine, _) = recovery::open(dir, crossline_config::DEFAULT).expect("engine");
        // Its snapshots keep the clients' replies, as the running engine's do.
        let config = crossline_config::parse(crossline_config::DEFAULT).expect("default");
        let mut generator = Generator::new(&config, 11, 1, snapshot_every);
        let mut replies = ReplyKeeper::new(&config).expect("sessions");
        for n in 1..=commands {
            let stamped = Stamped {
                time: Timestamp::new(1_700_000_000_000_000_000 + n * 1_000_000),
                command: generator.next_command(),
            };
            engine.submit(&stamped, &mut replies).expect("submit");
        }
        // The pieces a live snapshot takes on the agents' threads, at this state.
        let timed = |take: &mut dyn FnMut() -> usize| {
            let started = Instant::now();
            black_box(take());
            started.elapsed().as_secs_f64() * 1e3
        };
        let (sequencer, matcher) = (engine.sequencer(), engine.matcher());
        [
            timed(&mut || encode_part(&sequencer.state()).expect("sequencer").len()),
            timed(&mut || encode_part(matcher).expect("matcher").len()),
            timed(&mut || replies.replies_at_cut(0).len()),
        ]
    };
    // Sockets on free ports, and no venue to reach: the restart itself is measured.
    let mut config =
        on_free_ports(crossline_config::parse(crossline_config::DEFAULT).expect("default"));
    config.router.venues.clear();
    let started = Instant::now();
    let (pipeline, report) =
        Pipeline::open(&config, crossline_config::DEFAULT, dir, &Cores::detect()).expect("restart");
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(report.last_sequence, Some(commands));
    pipeline.stop().expect("stop");
    Restart {
        seconds: elapsed,
        snapshot: report.snapshot,
        tail: report.replayed,
        stall_ms,
    }
}

/// A large memory copy into a pre-touched destination; bytes per second.
fn memcpy_bandwidth(bytes: usize) -> f64 {
    let source = vec![1u8; bytes];
    let mut destination = vec![0u8; bytes];
    destination.copy_from_slice(&source);
    let mut best: f64 = 0.0;
    for _ in 0..3 {
        let started = Instant::now();
        destination.copy_from_slice(black_box(&source));
        black_box(&destination);
        best = best.max(bytes as f64 / started.elapsed().as_secs_f64());
    }
    best
}

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("journal benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let quick = options.quick;
    let data: PathBuf = report::results_dir().join("journal-data");
    let rounds = if quick { 1 } else { 3 };
    let throughput_records: u64 = if quick { 5_000_000 } else { 20_000_000 };
    let latency_records: u64 = if quick { 1_000_000 } else { 5_000_000 };
    let recovery_records: u64 = if quick { 1_000_000 } else { 10_000_000 };
    let engine_commands: u64 = if quick { 200_000 } else { 1_000_000 };
    let restart_commands: u64 = if quick { 1_000_000 } else { 10_000_000 };
    let cpu_share = report::CpuShare::start(1);
    let clock = Clock::calibrate(std::time::Duration::from_millis(200));

    let memcpy = memcpy_bandwidth(512 << 20);
    println!("memcpy: {:.2} GB/s", memcpy / 1e9);
    // Latency first, on a quiet page cache: what earlier runs left dirty is written back
    // (the journal's own writeback, at the append rate, still runs during the test).
    // SAFETY: sync has no preconditions.
    unsafe { libc::sync() };
    let latency = append_latency(&data.join("latency"), &clock, 1e6, latency_records);
    println!(
        "append at 1M/s: p50 {} ns, p99 {} ns, p99.9 {} ns, p99.99 {} ns, max {} ns",
        latency.p50_ns, latency.p99_ns, latency.p999_ns, latency.p9999_ns, latency.max_ns
    );
    let floor = copy_latency(&clock, 1e6, latency_records);
    println!(
        "64-byte copy at 1M/s (the host's floor): p50 {} ns, p99 {} ns, p99.9 {} ns, p99.99 {} ns, max {} ns",
        floor.p50_ns, floor.p99_ns, floor.p999_ns, floor.p9999_ns, floor.max_ns
    );
    let (mut appends, mut appends_128, mut replays) = (Vec::new(), Vec::new(), Vec::new());
    let mut replays_one = Vec::new();
    let (mut in_segments, mut roll_waits) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let dir = data.join("append");
        let (in_segment, faults) = append_in_segment(&data.join("segment"));
        let (rate, waits) = append_throughput(&dir, throughput_records, 32);
        let (replay, count) = replay_rate(&dir);
        assert_eq!(count, throughput_records);
        let replay_one = replay_one_at_a_time(&dir);
        let (rate_128, _) = append_throughput(&data.join("append128"), throughput_records / 2, 96);
        println!(
            "round {round}: append {:.2} M/s (64 B, {waits} rolls waited), {:.2} M/s (128 B); \
             within one segment {:.2} M/s ({faults} page faults); replay {:.2} M/s \
             (one record per call {:.2} M/s)",
            rate / 1e6,
            rate_128 / 1e6,
            in_segment / 1e6,
            replay / 1e6,
            replay_one / 1e6
        );
        replays_one.push(replay_one);
        in_segments.push(in_segment);
        roll_waits.push(waits);
        appends.push(rate);
        appends_128.push(rate_128);
        replays.push(replay);
        let _ = std::fs::remove_dir_all(&data);
    }
    let _ = std::fs::remove_dir_all(&data);
    let recovery = recovery_time(&data.join("recovery"), recovery_records);
    println!("recovery of {recovery_records} records: {recovery:.3} s");
    let _ = std::fs::remove_dir_all(&data);
    let engine = engine_replay(&data.join("engine"), engine_commands);
    println!("engine replay: {:.2} M commands/s", engine / 1e6);
    let _ = std::fs::remove_dir_all(&data);
    let restart = pipeline_restart(&data.join("restart"), restart_commands, 0).seconds;
    println!("pipeline restart on {restart_commands} commands, no snapshot: {restart:.2} s");
    let _ = std::fs::remove_dir_all(&data);
    // The newest snapshot half an interval before the end: the average tail.
    let snapshot_every = restart_commands / 200 * 19;
    let Restart {
        seconds: restart_snapshots,
        snapshot,
        tail,
        stall_ms,
    } = pipeline_restart(&data.join("restart"), restart_commands, snapshot_every);
    let cut = snapshot.expect("the restart loaded a snapshot");
    println!(
        "a snapshot's parts at the end of the journal: sequencer {:.1} ms, matcher {:.1} ms, \
         replies {:.1} ms",
        stall_ms[0], stall_ms[1], stall_ms[2]
    );
    println!(
        "pipeline restart on {restart_commands} commands, a snapshot every {snapshot_every} \
         (the newest at {cut}, {tail} commands replayed after it): {restart_snapshots:.2} s"
    );
    let _ = std::fs::remove_dir_all(&data);

    let append = median(&appends);
    let mut results = json!({
        "append_records_per_s": append.round(),
        "append_128_records_per_s": median(&appends_128).round(),
        "append_in_segment_records_per_s": median(&in_segments).round(),
        "append_roll_waits": roll_waits,
        "append_rolls_per_round": throughput_records * 64 / (64 << 20),
        "replay_records_per_s": median(&replays).round(),
        "replay_one_at_a_time_records_per_s": median(&replays_one).round(),
        "recovery_10m_s": if quick { serde_json::Value::Null } else { json!(recovery) },
        "recovery_s": recovery,
        "recovery_records": recovery_records,
        "engine_replay_records_per_s": engine.round(),
        "pipeline_restart_10m_s": if quick { serde_json::Value::Null } else { json!(restart) },
        "pipeline_restart_snapshots_10m_s": if quick { serde_json::Value::Null } else { json!(restart_snapshots) },
        "pipeline_restart_s": restart,
        "pipeline_restart_snapshots_s": restart_snapshots,
        "pipeline_restart_commands": restart_commands,
        "pipeline_restart_snapshot_every": snapshot_every,
        "pipeline_restart_snapshot_tail_commands": tail,
        "snapshot_sequencer_part_ms": stall_ms[0],
        "snapshot_matcher_part_ms": stall_ms[1],
        "snapshot_replies_part_ms": stall_ms[2],
        "memcpy_gb_per_s": memcpy / 1e9,
        "memcpy_64_byte_records_per_s": (memcpy / 64.0).round(),
        "append_rate_per_s": 1_000_000,
        "rounds": rounds,
        "quick": quick,
    });
    if let (Some(target), serde_json::Value::Object(more)) =
        (results.as_object_mut(), latency.to_json("append_"))
    {
        target.extend(more);
    }
    if let (Some(target), serde_json::Value::Object(more)) =
        (results.as_object_mut(), floor.to_json("copy_floor_"))
    {
        target.extend(more);
    }
    let ratios = json!({
        "append_bytes_vs_memcpy": append * 64.0 / memcpy,
        "append_p9999_vs_copy_floor": latency.p9999_ns as f64 / floor.p9999_ns.max(1) as f64,
    });
    report::conclude("journal", results, ratios, &cpu_share)
}
