//! The machine's memory limits: how long a dependent random read takes once a working
//! set outgrows the caches. A state machine that touches a large working set at random
//! (the matcher's order tables and books) cannot beat this per cache miss it cannot hide.

use std::time::Instant;

/// Nanoseconds per dependent load when chasing pointers through a random cyclic
/// permutation of the cache lines of a `bytes`-sized buffer (each load's address comes
/// from the previous load, so the misses cannot overlap: this is pure latency).
#[must_use]
pub fn random_access_latency_ns(bytes: usize, loads: u64) -> f64 {
    const LINE_WORDS: usize = 64 / size_of::<usize>();
    let lines = (bytes / 64).max(2);
    // Sattolo's algorithm: a single cycle through every line.
    let mut order: Vec<usize> = (0..lines).collect();
    let mut random = crossline_testkit::Xorshift::new(0x9E37_79B9_7F4A_7C15u64);
    for index in (1..lines).rev() {
        let state = random.next();
        #[allow(clippy::cast_possible_truncation)] // modulo a usize
        let other = (state % index as u64) as usize;
        order.swap(index, other);
    }
    let mut next = vec![0usize; lines * LINE_WORDS];
    for position in 0..lines {
        next[order[position] * LINE_WORDS] = order[(position + 1) % lines] * LINE_WORDS;
    }
    let mut cursor = 0usize;
    // One pass to warm the TLB and caches as far as they go.
    for _ in 0..lines {
        cursor = next[cursor];
    }
    let start = Instant::now();
    for _ in 0..loads {
        cursor = next[cursor];
    }
    let elapsed = start.elapsed();
    std::hint::black_box(cursor);
    elapsed.as_nanos() as f64 / loads as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chase_reports_a_plausible_latency() {
        let small = random_access_latency_ns(16 * 1024, 200_000);
        assert!(small > 0.0 && small < 1_000.0, "{small}");
    }
}
