//! A cheap, cross-core timestamp: the CPU's invariant time-stamp counter on x86-64,
//! `Instant` elsewhere, calibrated to nanoseconds once at start-up.

use std::time::{Duration, Instant};

/// Timestamps in ticks and their conversion to nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    nanos_per_tick: f64,
    /// Whether ticks come from the hardware counter (`rdtsc`).
    pub hardware: bool,
}

impl Clock {
    /// Calibrates the tick rate against the OS monotonic clock over `span`.
    #[must_use]
    pub fn calibrate(span: Duration) -> Clock {
        let started = Instant::now();
        let first = ticks();
        while started.elapsed() < span {
            std::hint::spin_loop();
        }
        let elapsed_ns = started.elapsed().as_nanos() as f64;
        let elapsed_ticks = ticks().wrapping_sub(first).max(1) as f64;
        Clock {
            nanos_per_tick: elapsed_ns / elapsed_ticks,
            hardware: cfg!(target_arch = "x86_64"),
        }
    }

    /// The current tick count.
    #[inline(always)]
    #[must_use]
    pub fn now(&self) -> u64 {
        ticks()
    }

    /// Nanoseconds in `ticks` ticks.
    #[inline(always)]
    #[must_use]
    pub fn nanos(&self, ticks: u64) -> f64 {
        ticks as f64 * self.nanos_per_tick
    }

    /// Ticks in `nanos` nanoseconds.
    #[must_use]
    pub fn ticks(&self, nanos: f64) -> u64 {
        (nanos / self.nanos_per_tick).round() as u64
    }

    /// Spins until the counter reaches `due`: with pauses while far from it, then reading
    /// the counter back to back, so whatever follows starts within a few nanoseconds of
    /// `due` (a pause per poll would add ~25 ns on a current x86 core).
    #[inline(always)]
    pub fn wait_until(&self, due: u64) {
        let near = self.ticks(200.0);
        loop {
            let now = self.now();
            if now >= due {
                return;
            }
            if due - now > near {
                std::hint::spin_loop();
            }
        }
    }

    /// Ticks per second (the counter's frequency).
    #[must_use]
    pub fn ticks_per_second(&self) -> f64 {
        1e9 / self.nanos_per_tick
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
fn ticks() -> u64 {
    // SAFETY: `rdtsc` has no preconditions and is available on every x86-64 CPU; it only
    // reads the time-stamp counter. (Invariant TSC is what makes it comparable across
    // cores; the ring benchmark measures the cross-core offset and reports it.)
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn ticks() -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}
