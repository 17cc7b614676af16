//! The machine's physical limits for moving cache lines between two cores: the one-way
//! latency of a single line ([`measure`]) and the streaming throughput of many
//! ([`line_streaming`]).
//!
//! The ping-pong's two threads on two cores use two cache lines: A writes line X and spins
//! on line Y, B spins on X and answers on Y. Each hop is exactly what a queue hand-off is:
//! a store on one core becoming visible to a load spinning on the other. The one-way
//! latency is half the round trip measured on A's clock alone, so it does not depend on
//! the two cores' counters agreeing (on virtual machines they disagree by an offset that
//! was measured here to move by tens of nanoseconds between runs).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;

use crate::clock::Clock;
use crate::echo::{open_loop_echo, EchoLatency, EchoSource, Echoer, Schedule};
use crate::stats::{latency_histogram, Percentiles};

/// One ping-pong run.
#[derive(Debug, Clone)]
pub struct CoreToCore {
    /// One-way latency (half of each round trip), in nanoseconds.
    pub one_way: Percentiles,
    /// The histogram behind `one_way`.
    pub histogram: Histogram<u64>,
}

/// Measures `round_trips` ping-pongs between `cores`, after `warmup` unrecorded ones.
/// A writes line X and spins on line Y; B spins on X and answers on Y; A times each round
/// trip on its own counter and records half of it.
#[must_use]
pub fn measure(clock: &Clock, cores: (usize, usize), round_trips: u64, warmup: u64) -> CoreToCore {
    let ping: CachePadded<AtomicU64> = CachePadded::default();
    let pong: CachePadded<AtomicU64> = CachePadded::default();
    let total = warmup + round_trips;
    let (histogram, ()) = crate::run_pinned_pair(
        cores,
        |barrier| {
            let mut histogram = latency_histogram();
            barrier.wait();
            for sequence in 1..=total {
                let start = clock.now();
                ping.store(sequence, Ordering::Release);
                while pong.load(Ordering::Acquire) != sequence {
                    std::hint::spin_loop();
                }
                let end = clock.now();
                if sequence > warmup {
                    let round_trip_ns = clock.nanos(end.wrapping_sub(start));
                    histogram.saturating_record((round_trip_ns / 2.0).round().max(1.0) as u64);
                }
            }
            histogram
        },
        |barrier| {
            barrier.wait();
            for sequence in 1..=total {
                while ping.load(Ordering::Acquire) != sequence {
                    std::hint::spin_loop();
                }
                pong.store(sequence, Ordering::Release);
            }
        },
    );
    CoreToCore {
        one_way: Percentiles::of(&histogram),
        histogram,
    }
}

/// A cache line written word by word with relaxed atomics (plain moves on x86-64), so the
/// streaming measurement needs no `unsafe`.
#[repr(C, align(64))]
#[derive(Default)]
struct StreamLine([AtomicU64; 8]);

/// Lines in the streaming buffer: 256 KiB, the same footprint as the rings compared.
const STREAM_LINES: u64 = 4096;
/// Lines per hand-off in the streaming measurement: far more than any ring batch, so the
/// synchronisation cost is negligible.
const STREAM_BLOCK_LINES: u64 = 1024;

/// The machine's core-to-core streaming limit, in 64-byte lines per second: `lines`
/// seven-word messages written into a 256 KiB buffer on one core and read and checked
/// on the other, handed over in blocks of 1,024 lines. No correct queue moving one
/// message per line between the same two cores can beat it by more than noise.
#[must_use]
pub fn line_streaming(cores: (usize, usize), lines: u64) -> f64 {
    let buffer: Vec<StreamLine> = (0..STREAM_LINES).map(|_| StreamLine::default()).collect();
    let written: CachePadded<AtomicU64> = CachePadded::default();
    let read: CachePadded<AtomicU64> = CachePadded::default();
    let lines = lines.div_ceil(STREAM_BLOCK_LINES) * STREAM_BLOCK_LINES;
    let (started, finished) = crate::run_pinned_pair(
        cores,
        |barrier| {
            barrier.wait();
            let started = std::time::Instant::now();
            let mut next = 0;
            while next < lines {
                while next + STREAM_BLOCK_LINES - read.load(Ordering::Acquire) > STREAM_LINES {
                    std::hint::spin_loop();
                }
                for sequence in next..next + STREAM_BLOCK_LINES {
                    let line = &buffer[(sequence % STREAM_LINES) as usize];
                    for word in &line.0[..7] {
                        word.store(sequence, Ordering::Relaxed);
                    }
                }
                next += STREAM_BLOCK_LINES;
                written.store(next, Ordering::Release);
            }
            started
        },
        |barrier| {
            barrier.wait();
            let mut expected = 0;
            while expected < lines {
                let available = written.load(Ordering::Acquire);
                if available == expected {
                    std::hint::spin_loop();
                    continue;
                }
                while expected < available {
                    let line = &buffer[(expected % STREAM_LINES) as usize];
                    assert_eq!(
                        line.0[0].load(Ordering::Relaxed),
                        expected,
                        "line out of order"
                    );
                    expected += 1;
                }
                read.store(expected, Ordering::Release);
            }
            std::time::Instant::now()
        },
    );
    lines as f64 / finished.duration_since(started).as_secs_f64()
}

/// One-way latency of a bare cache line through the same open-loop echo harness the
/// queues are measured with ([`crate::echo`]): each direction is one line holding the
/// due time of the latest message, so this is the floor for one message per line,
/// open-loop, with no queue around it.
#[must_use]
pub fn open_loop_line(clock: &Clock, cores: (usize, usize), schedule: Schedule) -> EchoLatency {
    let ping: Arc<CachePadded<AtomicU64>> = Arc::default();
    let pong: Arc<CachePadded<AtomicU64>> = Arc::default();
    let source = LineSource {
        ping: Arc::clone(&ping),
        pong: Arc::clone(&pong),
        in_flight: VecDeque::with_capacity(LINE_IN_FLIGHT_MAX),
        last_echo: 0,
    };
    let echoer = LineEchoer {
        ping,
        pong,
        last: 0,
    };
    open_loop_echo(clock, cores, schedule, source, echoer)
}

/// Sent messages remembered by [`LineSource`] until their echo returns.
const LINE_IN_FLIGHT_MAX: usize = 1024;

/// Core A's end of the bare line: writes the due time (one word, so it cannot tear) and
/// maps each echoed due time back to its sequence number.
struct LineSource {
    ping: Arc<CachePadded<AtomicU64>>,
    pong: Arc<CachePadded<AtomicU64>>,
    in_flight: VecDeque<(u64, u64)>,
    last_echo: u64,
}

impl EchoSource for LineSource {
    fn try_send(&mut self, sequence: u64, due_ticks: u64) -> bool {
        if self.in_flight.len() == LINE_IN_FLIGHT_MAX {
            self.in_flight.pop_front(); // long lost; the recorder counts the gap
        }
        self.in_flight.push_back((sequence, due_ticks));
        self.ping.store(due_ticks, Ordering::Release);
        true
    }

    fn try_receive(&mut self) -> Option<(u64, u64)> {
        let due = self.pong.load(Ordering::Acquire);
        if due == self.last_echo {
            return None;
        }
        self.last_echo = due;
        // Older entries were overwritten on the line before they were echoed: lost.
        while let Some((sequence, sent_due)) = self.in_flight.pop_front() {
            if sent_due == due {
                return Some((sequence, due));
            }
        }
        None
    }
}

/// Core B's end of the bare line: copies each new due time straight back.
struct LineEchoer {
    ping: Arc<CachePadded<AtomicU64>>,
    pong: Arc<CachePadded<AtomicU64>>,
    last: u64,
}

impl Echoer for LineEchoer {
    fn try_echo(&mut self) -> bool {
        let due = self.ping.load(Ordering::Acquire);
        if due == self.last {
            return false;
        }
        self.last = due;
        self.pong.store(due, Ordering::Release);
        true
    }
}
