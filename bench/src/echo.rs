//! Open-loop one-way latency on one core's clock: half of a scheduled round trip.
//!
//! Core A sends message `i` when it falls due (`start + i / rate`), whatever has come
//! back; core B echoes every message back the moment it arrives, over a second channel
//! of the same kind; A, polling for echoes while it waits for the next due time, records
//! `(arrival - due) / 2` for each. Timing from the due time keeps the measurement free of
//! coordinated omission (a stall is charged to every message it delays); taking both
//! readings on A's counter keeps it free of the two cores' counter offset, which on
//! virtual machines is neither zero nor stable. Halving assumes both directions cost the
//! same, which holds because both are the same kind of channel between the same cores,
//! the assumption the core-to-core ping-pong makes too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;

use crossbeam_utils::CachePadded;

use hdrhistogram::Histogram;

use crate::clock::Clock;
use crate::stats::latency_histogram;

/// Core A's end: sends on the outbound channel, receives echoes on the return channel.
pub trait EchoSource: Send {
    /// Sends message `sequence`, due at `due_ticks`, or says the channel is full.
    fn try_send(&mut self, sequence: u64, due_ticks: u64) -> bool;
    /// Takes an echo if one has arrived: its sequence number and due time.
    fn try_receive(&mut self) -> Option<(u64, u64)>;
}

/// Core B's end: receives on the outbound channel and sends each message straight back.
pub trait Echoer: Send {
    /// Echoes the next message if one has arrived; says whether it did.
    fn try_echo(&mut self) -> bool;
}

/// The offered load of one open-loop run.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Messages per second offered.
    pub rate_per_s: u64,
    /// Messages recorded.
    pub messages: u64,
    /// Messages sent first and not recorded (caches, branch predictors, page tables).
    pub warmup: u64,
}

/// What one open-loop run measured.
#[derive(Debug, Clone)]
pub struct EchoLatency {
    /// One-way latency (half of each round trip), nanoseconds.
    pub histogram: Histogram<u64>,
    /// Messages that never came back (a gap in the echoed sequence). Always zero for a
    /// queue; a bare cache line can lose a message that is overwritten before it is read.
    pub lost: u64,
}

/// Runs `schedule` with `source` pinned to `cores.0` and `echoer` to `cores.1`.
///
/// # Panics
/// If an echo comes back out of order: a channel that reorders is broken, not slow.
pub fn open_loop_echo<S: EchoSource, E: Echoer>(
    clock: &Clock,
    cores: (usize, usize),
    schedule: Schedule,
    mut source: S,
    mut echoer: E,
) -> EchoLatency {
    let total = schedule.warmup + schedule.messages;
    let finished: CachePadded<AtomicBool> = CachePadded::default();
    let finished = &finished;
    let (latency, ()) = crate::run_pinned_pair(
        cores,
        move |barrier: &Barrier| {
            let interval_ticks = clock.ticks_per_second() / schedule.rate_per_s as f64;
            let mut recorder = Recorder {
                clock,
                latency: EchoLatency {
                    histogram: latency_histogram(),
                    lost: 0,
                },
                next: 0,
                warmup: schedule.warmup,
            };
            barrier.wait();
            let start = clock.now() + clock.ticks(1_000_000.0);
            for sequence in 0..total {
                let due = start + (sequence as f64 * interval_ticks) as u64;
                // Wait for the due time, taking echoes meanwhile; the counter is read back
                // to back (no pause), so the send leaves within a few ns of `due`.
                while clock.now() < due {
                    if let Some(echo) = source.try_receive() {
                        recorder.record(echo);
                    }
                }
                // While the outbound channel is full (after a stall), keep taking echoes:
                // otherwise B blocks on a full return channel and both wait forever.
                while !source.try_send(sequence, due) {
                    if let Some(echo) = source.try_receive() {
                        recorder.record(echo);
                    }
                }
            }
            // The last echoes, waiting at most a second for them: whatever has not come
            // back by then is counted lost rather than waited for forever.
            let deadline = clock.now() + clock.ticks(1e9);
            while recorder.next < total && clock.now() < deadline {
                match source.try_receive() {
                    Some(echo) => recorder.record(echo),
                    None => std::hint::spin_loop(),
                }
            }
            recorder.latency.lost += total - recorder.next;
            finished.store(true, Ordering::Release);
            recorder.latency
        },
        move |barrier: &Barrier| {
            barrier.wait();
            // Checking the flag only when idle keeps it off the echo path.
            while echoer.try_echo() || !finished.load(Ordering::Acquire) {
                std::hint::spin_loop();
            }
        },
    );
    latency
}

struct Recorder<'a> {
    clock: &'a Clock,
    latency: EchoLatency,
    next: u64,
    warmup: u64,
}

impl Recorder<'_> {
    #[inline(always)]
    fn record(&mut self, (sequence, due): (u64, u64)) {
        let now = self.clock.now();
        assert!(
            sequence >= self.next,
            "echo {sequence} came back after {}",
            self.next
        );
        self.latency.lost += sequence - self.next;
        self.next = sequence + 1;
        if sequence >= self.warmup {
            let one_way_ns = self.clock.nanos(now.saturating_sub(due)) / 2.0;
            self.latency
                .histogram
                .saturating_record((one_way_ns.round() as u64).max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Source {
        out: crossline_ring::Producer<(u64, u64)>,
        back: crossline_ring::Consumer<(u64, u64)>,
    }

    impl EchoSource for Source {
        fn try_send(&mut self, sequence: u64, due_ticks: u64) -> bool {
            self.out.try_push((sequence, due_ticks)).is_ok()
        }
        fn try_receive(&mut self) -> Option<(u64, u64)> {
            self.back.try_pop()
        }
    }

    /// Echoes, but stalls once for 20 ms, as a descheduled vCPU does.
    struct StallingEchoer {
        input: crossline_ring::Consumer<(u64, u64)>,
        back: crossline_ring::Producer<(u64, u64)>,
        echoed: u64,
    }

    impl Echoer for StallingEchoer {
        fn try_echo(&mut self) -> bool {
            let Some(message) = self.input.try_pop() else {
                return false;
            };
            if self.echoed == 100 {
                std::thread::sleep(Duration::from_millis(20));
            }
            let mut pending = message;
            while let Err(back) = self.back.try_push(pending) {
                pending = back;
                std::hint::spin_loop();
            }
            self.echoed += 1;
            true
        }
    }

    #[test]
    fn a_stall_longer_than_both_queues_neither_hangs_nor_loses_messages() {
        let cores = crossline_agent::Cores::detect();
        let cores = match cores.ids() {
            [a, b, ..] => (*a, *b),
            [a] => (*a, *a),
            [] => unreachable!("detect always finds a core"),
        };
        // 8 slots each way at 1M msg/s: the 20 ms stall backs up both queues many times over.
        let (out, input) = crossline_ring::channel(8).unwrap();
        let (back_producer, back) = crossline_ring::channel(8).unwrap();
        let clock = Clock::calibrate(Duration::from_millis(20));
        let schedule = Schedule {
            rate_per_s: 1_000_000,
            messages: 20_000,
            warmup: 0,
        };
        let latency = open_loop_echo(
            &clock,
            cores,
            schedule,
            Source { out, back },
            StallingEchoer {
                input,
                back: back_producer,
                echoed: 0,
            },
        );
        assert_eq!(latency.lost, 0);
        assert_eq!(latency.histogram.len(), 20_000);
        // The stall is charged to every message it delayed, from its due time.
        assert!(
            latency.histogram.max() >= 5_000_000,
            "max {}",
            latency.histogram.max()
        );
    }
}
