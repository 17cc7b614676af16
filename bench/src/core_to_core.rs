//! The machine's physical limits for moving cache lines between two cores: the one-way
//! latency of a single line ([`measure`]) and the streaming throughput of many
//! ([`line_streaming`]).
//!
//! Two threads on two cores ping-pong through two cache lines: A writes line X and spins
//! on line Y, B spins on X and answers on Y. Each hop is exactly what a ring hand-off is:
//! a store on one core becoming visible to a load spinning on the other. The one-way
//! latency is half the round trip measured on A's clock alone, so it does not depend on
//! the two cores' counters agreeing. Each hop also carries the sender's counter, which
//! gives the cross-core counter offset: the error in any one-way figure that compares
//! timestamps taken on two cores (such as the rings' latency).

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_utils::CachePadded;
use hdrhistogram::Histogram;

use crate::clock::Clock;
use crate::stats::{latency_histogram, median, Percentiles};

/// One ping-pong run.
#[derive(Debug, Clone)]
pub struct CoreToCore {
    /// One-way latency (half of each round trip), in nanoseconds.
    pub one_way: Percentiles,
    /// The histogram behind `one_way`.
    pub histogram: Histogram<u64>,
    /// Median of (B's counter - A's counter) over (A's counter - B's counter), halved: how
    /// far B's counter runs ahead of A's, in nanoseconds (0 when they agree).
    pub counter_offset_ns: f64,
}

/// A line written by one side: its sequence number and the sender's counter, together.
#[derive(Default)]
struct Line {
    sequence: AtomicU64,
    sent_ticks: AtomicU64,
}

/// Measures `round_trips` ping-pongs between `cores`, after `warmup` unrecorded ones.
#[must_use]
pub fn measure(clock: &Clock, cores: (usize, usize), round_trips: u64, warmup: u64) -> CoreToCore {
    let ping: CachePadded<Line> = CachePadded::default();
    let pong: CachePadded<Line> = CachePadded::default();
    let total = warmup + round_trips;
    let ((histogram, back_ns), forward_ns) = crate::run_pinned_pair(
        cores,
        |barrier| {
            let mut histogram = latency_histogram();
            let mut back_ns = Vec::with_capacity(round_trips as usize);
            barrier.wait();
            for sequence in 1..=total {
                let start = clock.now();
                ping.sent_ticks.store(start, Ordering::Relaxed);
                ping.sequence.store(sequence, Ordering::Release);
                while pong.sequence.load(Ordering::Acquire) != sequence {
                    std::hint::spin_loop();
                }
                let end = clock.now();
                if sequence > warmup {
                    let round_trip_ns = clock.nanos(end.wrapping_sub(start));
                    histogram.saturating_record((round_trip_ns / 2.0).round().max(1.0) as u64);
                    let sent = pong.sent_ticks.load(Ordering::Relaxed);
                    back_ns.push(signed_nanos(clock, end, sent));
                }
            }
            (histogram, back_ns)
        },
        |barrier| {
            let mut forward_ns = Vec::with_capacity(round_trips as usize);
            barrier.wait();
            for sequence in 1..=total {
                while ping.sequence.load(Ordering::Acquire) != sequence {
                    std::hint::spin_loop();
                }
                let received = clock.now();
                if sequence > warmup {
                    let sent = ping.sent_ticks.load(Ordering::Relaxed);
                    forward_ns.push(signed_nanos(clock, received, sent));
                }
                // A fresh reading right before the send, as A's is: stamping the answer with
                // `received` would charge the bookkeeping above to the B-to-A direction and
                // bias the offset estimate.
                pong.sent_ticks.store(clock.now(), Ordering::Relaxed);
                pong.sequence.store(sequence, Ordering::Release);
            }
            forward_ns
        },
    );
    // forward = true + offset, back = true - offset (offset: how far B runs ahead of A).
    let counter_offset_ns = (median(&forward_ns) - median(&back_ns)) / 2.0;
    CoreToCore {
        one_way: Percentiles::of(&histogram),
        histogram,
        counter_offset_ns,
    }
}

/// `later - earlier` in nanoseconds, negative when `later` is the smaller count (possible
/// when the two were read on cores whose counters disagree).
#[must_use]
pub fn signed_nanos(clock: &Clock, later: u64, earlier: u64) -> f64 {
    if later >= earlier {
        clock.nanos(later - earlier)
    } else {
        -clock.nanos(earlier - later)
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

/// One-way latency of a bare cache line through the same open-loop harness the queues are
/// measured with: A writes a line at each due time (`rate_per_s`), B spins on it and
/// records arrival minus due time, corrected by `counter_offset_ns`. What it adds over the
/// ping-pong's figure is the cost of the method itself (the wait loop's exit and a counter
/// read), so a queue's latency divided by this isolates the queue's own cost.
#[must_use]
pub fn open_loop_line(
    clock: &Clock,
    cores: (usize, usize),
    rate_per_s: u64,
    messages: u64,
    warmup: u64,
    counter_offset_ns: f64,
) -> Histogram<u64> {
    let line: CachePadded<Line> = CachePadded::default();
    let interval_ticks = clock.ticks_per_second() / rate_per_s as f64;
    let lead_ticks = clock.ticks(1_000_000.0);
    let total = warmup + messages;
    let ((), histogram) = crate::run_pinned_pair(
        cores,
        |barrier| {
            barrier.wait();
            let start = clock.now() + lead_ticks;
            for sequence in 1..=total {
                let due = start + (sequence as f64 * interval_ticks) as u64;
                clock.wait_until(due);
                line.sent_ticks.store(due, Ordering::Relaxed);
                line.sequence.store(sequence, Ordering::Release);
            }
        },
        |barrier| {
            let mut histogram = latency_histogram();
            barrier.wait();
            for sequence in 1..=total {
                while line.sequence.load(Ordering::Acquire) < sequence {
                    std::hint::spin_loop();
                }
                let now = clock.now();
                if sequence > warmup {
                    let due = line.sent_ticks.load(Ordering::Relaxed);
                    let one_way_ns = signed_nanos(clock, now, due) - counter_offset_ns;
                    histogram.saturating_record((one_way_ns.round() as u64).max(1));
                }
            }
            histogram
        },
    );
    histogram
}
