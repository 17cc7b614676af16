//! What a thread does between duty cycles that found no work.

use std::time::Duration;

/// Decides how to wait after a duty cycle, given how much work it did.
pub trait IdleStrategy: Send {
    /// Called after every duty cycle with its work count; waits (or not) when it is 0.
    fn idle(&mut self, work_count: usize);

    /// Forgets any back-off state, as if work had just been done.
    fn reset(&mut self) {}
}

/// Never gives the core up: the lowest latency, one core burnt per thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct BusySpin;

impl IdleStrategy for BusySpin {
    #[inline]
    fn idle(&mut self, work_count: usize) {
        if work_count == 0 {
            std::hint::spin_loop();
        }
    }
}

/// Yields the core to the OS scheduler when idle: for threads sharing cores.
#[derive(Debug, Clone, Copy, Default)]
pub struct Yield;

impl IdleStrategy for Yield {
    #[inline]
    fn idle(&mut self, work_count: usize) {
        if work_count == 0 {
            std::thread::yield_now();
        }
    }
}

/// Spins, then yields, then sleeps for exponentially longer periods up to a maximum, and
/// starts over as soon as there is work (the strategy of Agrona's `BackoffIdleStrategy`).
#[derive(Debug, Clone, Copy)]
pub struct BackOff {
    /// Empty cycles spent spinning before yielding.
    pub spins_max: u32,
    /// Empty cycles spent yielding before sleeping.
    pub yields_max: u32,
    /// First sleep.
    pub park_min: Duration,
    /// Longest sleep; bounds how late a quiet agent notices new work.
    pub park_max: Duration,
    idle_cycles: u64,
    park: Duration,
}

impl BackOff {
    /// A back-off with the given limits.
    ///
    /// # Panics
    /// If `park_min` is zero or longer than `park_max`: the sleep could never grow or would
    /// exceed its own bound.
    #[must_use]
    pub fn new(spins_max: u32, yields_max: u32, park_min: Duration, park_max: Duration) -> Self {
        assert!(!park_min.is_zero(), "back-off park_min must be positive");
        assert!(
            park_min <= park_max,
            "back-off park_min must not exceed park_max"
        );
        BackOff {
            spins_max,
            yields_max,
            park_min,
            park_max,
            idle_cycles: 0,
            park: park_min,
        }
    }
}

impl Default for BackOff {
    /// 100 spins, 10 yields, then sleeps from 1 µs up to 50 µs: a quiet agent notices new
    /// work within about 50 µs (at 1 ms, three sleeping hops made the demo's median reply
    /// 2.3 ms). The runner sets its threads' timer slack to 1 ns, so a sleep ends when
    /// asked rather than up to the kernel's default 50 µs later.
    fn default() -> Self {
        BackOff::new(100, 10, Duration::from_micros(1), Duration::from_micros(50))
    }
}

impl IdleStrategy for BackOff {
    fn idle(&mut self, work_count: usize) {
        if work_count > 0 {
            self.reset();
            return;
        }
        self.idle_cycles += 1;
        let spins = u64::from(self.spins_max);
        if self.idle_cycles <= spins {
            std::hint::spin_loop();
        } else if self.idle_cycles <= spins + u64::from(self.yields_max) {
            std::thread::yield_now();
        } else {
            std::thread::sleep(self.park);
            self.park = (self.park * 2).min(self.park_max);
        }
    }

    fn reset(&mut self) {
        self.idle_cycles = 0;
        self.park = self.park_min;
    }
}

/// An idle strategy chosen by configuration (static dispatch, no allocation).
#[derive(Debug, Clone, Copy)]
pub enum Idle {
    /// See [`BusySpin`].
    BusySpin,
    /// See [`Yield`].
    Yield,
    /// See [`BackOff`].
    BackOff(BackOff),
}

impl Idle {
    /// Parses a configuration name: `busy_spin`, `yield` or `back_off` (default limits).
    ///
    /// # Errors
    /// [`UnknownIdleStrategy`], naming the value and the accepted names.
    pub fn from_name(name: &str) -> Result<Idle, UnknownIdleStrategy> {
        match name {
            "busy_spin" => Ok(Idle::BusySpin),
            "yield" => Ok(Idle::Yield),
            "back_off" => Ok(Idle::BackOff(BackOff::default())),
            other => Err(UnknownIdleStrategy {
                name: other.to_string(),
            }),
        }
    }
}

/// A configuration named an idle strategy that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("idle strategy \"{name}\" is not one of \"busy_spin\", \"yield\", \"back_off\"")]
pub struct UnknownIdleStrategy {
    /// The name given.
    pub name: String,
}

impl IdleStrategy for Idle {
    #[inline]
    fn idle(&mut self, work_count: usize) {
        match self {
            Idle::BusySpin => BusySpin.idle(work_count),
            Idle::Yield => Yield.idle(work_count),
            Idle::BackOff(back_off) => back_off.idle(work_count),
        }
    }

    fn reset(&mut self) {
        if let Idle::BackOff(back_off) = self {
            back_off.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn back_off_escalates_to_sleeping_and_resets_on_work() {
        let mut back_off = BackOff::new(2, 2, Duration::from_millis(1), Duration::from_millis(4));
        for _ in 0..4 {
            back_off.idle(0); // two spins, two yields: no sleep yet
        }
        assert_eq!(back_off.park, Duration::from_millis(1));
        let started = Instant::now();
        back_off.idle(0);
        back_off.idle(0);
        back_off.idle(0);
        assert!(started.elapsed() >= Duration::from_millis(1 + 2 + 4));
        assert_eq!(
            back_off.park,
            Duration::from_millis(4),
            "capped at park_max"
        );
        back_off.idle(1);
        assert_eq!(back_off.idle_cycles, 0);
        assert_eq!(back_off.park, Duration::from_millis(1));
    }

    #[test]
    fn idle_names_parse_and_unknown_names_are_explained() {
        assert!(matches!(Idle::from_name("busy_spin"), Ok(Idle::BusySpin)));
        assert!(matches!(Idle::from_name("back_off"), Ok(Idle::BackOff(_))));
        let err = Idle::from_name("sleepy").unwrap_err();
        assert_eq!(
            err,
            UnknownIdleStrategy {
                name: "sleepy".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "idle strategy \"sleepy\" is not one of \"busy_spin\", \"yield\", \"back_off\""
        );
    }
}
