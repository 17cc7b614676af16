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

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use crossline_bench::clock::Clock;
use crossline_bench::stats::{latency_histogram, median, Percentiles};
use crossline_bench::{report, run_pinned_pair, Options};
use crossline_net::{Backend, ConnId, Handler, NetConfig, Outbox, Transport};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

/// Bytes per frame: the size of an order-entry message.
const FRAME_BYTES: usize = 64;
/// The rate the target is set at.
const TARGET_RATE_PER_S: u64 = 50_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    IoUring,
    Epoll,
    Baseline,
}

impl Subject {
    const ALL: [Subject; 3] = [Subject::IoUring, Subject::Epoll, Subject::Baseline];

    fn name(self) -> &'static str {
        match self {
            Subject::IoUring => "io_uring",
            Subject::Epoll => "epoll",
            Subject::Baseline => "loopback_baseline",
        }
    }
}

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
        let mut merged: Vec<Histogram<u64>> =
            Subject::ALL.iter().map(|_| latency_histogram()).collect();
        let mut round_ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        for round in 0..settings.rounds {
            let mut p99 = [0u64; 3];
            for (index, subject) in Subject::ALL.into_iter().enumerate() {
                let outcome = run_one(clock, cores, subject, rate, messages, settings.warmup)?;
                if let Some(mode) = outcome.receive_mode {
                    if subject == Subject::IoUring {
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
        for (index, subject) in Subject::ALL.into_iter().enumerate() {
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

struct Outcome {
    histogram: Histogram<u64>,
    lost: u64,
    receive_mode: Option<&'static str>,
}

/// One open-loop run against a fresh server of `subject`.
fn run_one(
    clock: &Clock,
    cores: (usize, usize),
    subject: Subject,
    rate_per_s: u64,
    messages: u64,
    warmup: u64,
) -> Result<Outcome, String> {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let (server, address, receive_mode): (Server, SocketAddr, Option<&'static str>) = match subject
    {
        Subject::Baseline => {
            let listener = TcpListener::bind(any).map_err(|e| format!("bind: {e}"))?;
            let address = listener.local_addr().map_err(|e| e.to_string())?;
            (Server::Blocking(listener), address, None)
        }
        Subject::IoUring | Subject::Epoll => {
            let backend = if subject == Subject::IoUring {
                Backend::IoUring
            } else {
                Backend::Epoll
            };
            let config = NetConfig {
                backend,
                connections_max: 4,
                ..NetConfig::default()
            };
            let mut net =
                Transport::new(&config).map_err(|e| format!("{}: {e}", subject.name()))?;
            let (_, address) = net.listen(any).map_err(|e| e.to_string())?;
            let mode = net.receive_mode();
            (Server::Transport(Box::new(net)), address, Some(mode))
        }
    };
    let (outcome, ()) = run_pinned_pair(
        cores,
        move |barrier| client(clock, address, barrier, rate_per_s, messages, warmup),
        move |barrier| server.serve(barrier),
    );
    let (histogram, lost) = outcome?;
    Ok(Outcome {
        histogram,
        lost,
        receive_mode,
    })
}

enum Server {
    Blocking(TcpListener),
    Transport(Box<Transport>),
}

/// Echoes whole frames; notes when the client has gone.
struct Echo {
    closed: bool,
}

impl Handler for Echo {
    fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize {
        let whole = data.len() / FRAME_BYTES * FRAME_BYTES;
        if out.send(conn, &data[..whole]).is_err() {
            out.close(conn);
        }
        whole
    }

    fn on_close(&mut self, _conn: ConnId, _reason: crossline_net::CloseReason) {
        self.closed = true;
    }
}

impl Server {
    fn serve(self, barrier: &std::sync::Barrier) {
        match self {
            Server::Blocking(listener) => {
                barrier.wait();
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                let _ = stream.set_nodelay(true);
                let mut buffer = [0u8; 64 * FRAME_BYTES];
                let mut held = 0;
                loop {
                    match stream.read(&mut buffer[held..]) {
                        Ok(0) | Err(_) => return,
                        Ok(length) => held += length,
                    }
                    let whole = held / FRAME_BYTES * FRAME_BYTES;
                    if stream.write_all(&buffer[..whole]).is_err() {
                        return;
                    }
                    buffer.copy_within(whole..held, 0);
                    held -= whole;
                }
            }
            Server::Transport(mut net) => {
                barrier.wait();
                let mut echo = Echo { closed: false };
                while !echo.closed {
                    if net.poll(&mut echo, None).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The open-loop client: sends frame `i` at its due time, reads echoes in between.
fn client(
    clock: &Clock,
    address: SocketAddr,
    barrier: &std::sync::Barrier,
    rate_per_s: u64,
    messages: u64,
    warmup: u64,
) -> Result<(Histogram<u64>, u64), String> {
    barrier.wait();
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream.set_nonblocking(true).map_err(|e| e.to_string())?;
    let total = warmup + messages;
    let interval_ticks = clock.ticks_per_second() / rate_per_s as f64;
    let mut histogram = latency_histogram();
    let mut reader = FrameReader::default();
    let mut received = 0u64;
    // One socket, two handles: the read half is polled while a write waits for room.
    let mut read_half = stream.try_clone().map_err(|e| e.to_string())?;
    let start = clock.now() + clock.ticks(5_000_000.0);
    for sequence in 0..total {
        let due = start + (sequence as f64 * interval_ticks) as u64;
        while clock.now() < due {
            received += reader.take(&mut read_half, clock, warmup, &mut histogram)?;
        }
        let mut frame = [0u8; FRAME_BYTES];
        frame[..8].copy_from_slice(&sequence.to_le_bytes());
        frame[8..16].copy_from_slice(&due.to_le_bytes());
        let mut bytes = &frame[..];
        while !bytes.is_empty() {
            match stream.write(bytes) {
                Ok(written) => bytes = &bytes[written..],
                // While the socket is full, keep reading, or both sides wait forever.
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    received += reader.take(&mut read_half, clock, warmup, &mut histogram)?;
                }
                Err(error) => return Err(format!("send: {error}")),
            }
        }
    }
    let deadline = clock.now() + clock.ticks(2e9);
    while received < total && clock.now() < deadline {
        received += reader.take(&mut read_half, clock, warmup, &mut histogram)?;
    }
    Ok((histogram, total - received))
}

#[derive(Default)]
struct FrameReader {
    buffer: Vec<u8>,
    next: u64,
}

impl FrameReader {
    /// Reads what has arrived; records each whole echo. Returns how many came back.
    fn take(
        &mut self,
        stream: &mut TcpStream,
        clock: &Clock,
        warmup: u64,
        histogram: &mut Histogram<u64>,
    ) -> Result<u64, String> {
        let mut chunk = [0u8; 16 * FRAME_BYTES];
        let length = match stream.read(&mut chunk) {
            Ok(0) => return Err("the server closed the connection".into()),
            Ok(length) => length,
            Err(error) if error.kind() == ErrorKind::WouldBlock => return Ok(0),
            Err(error) => return Err(format!("receive: {error}")),
        };
        let now = clock.now();
        self.buffer.extend_from_slice(&chunk[..length]);
        let mut count = 0;
        let whole = self.buffer.len() / FRAME_BYTES * FRAME_BYTES;
        for frame in self.buffer[..whole].chunks_exact(FRAME_BYTES) {
            let sequence = u64::from_le_bytes(frame[..8].try_into().expect("8 bytes"));
            let due = u64::from_le_bytes(frame[8..16].try_into().expect("8 bytes"));
            if sequence != self.next {
                return Err(format!(
                    "echo {sequence} arrived when {} was next",
                    self.next
                ));
            }
            self.next += 1;
            if sequence >= warmup {
                let nanos = clock.nanos(now.saturating_sub(due)).max(1.0) as u64;
                histogram.record(nanos).map_err(|e| e.to_string())?;
            }
            count += 1;
        }
        self.buffer.drain(..whole);
        Ok(count)
    }
}
