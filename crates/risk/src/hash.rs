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

/// `#[serde(with = "crate::hash::sorted")]` for a [`FastSet`]: written in ascending order
/// (a canonical form: the same set always writes the same bytes, whatever order its
/// table happens to hold it in), with its capacity reserved again on the way back.
pub(crate) mod sorted {
    use serde::de::{Deserialize, Deserializer};
    use serde::ser::{Serialize, Serializer};

    use super::FastSet;

    pub(crate) fn serialize<S: Serializer>(
        set: &FastSet<u64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut values: Vec<u64> = set.iter().copied().collect();
        values.sort_unstable();
        (set.capacity() as u64, values).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<FastSet<u64>, D::Error> {
        let (capacity, values) = <(u64, Vec<u64>)>::deserialize(deserializer)?;
        let mut set = FastSet::default();
        set.reserve(usize::try_from(capacity).unwrap_or(0).max(values.len()));
        set.extend(values);
        Ok(set)
    }
}
