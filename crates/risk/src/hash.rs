//! A fast, deterministic hasher for the set of client order ids a client sent out of
//! order. The standard library's SipHash is keyed randomly per process and costs tens of
//! nanoseconds; these keys are scoped by client, and the set is only ever looked up,
//! never iterated, so a SplitMix64 mix is enough.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Accumulates written integers with a SplitMix64 finalizer.
#[derive(Default, Clone, Copy)]
pub(crate) struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(29) ^ value).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A hash set with [`MixHasher`].
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<MixHasher>>;
