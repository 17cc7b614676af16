//! A fixed-capacity hash map from small keys to slot indices, for the order tables.
//!
//! Open addressing with linear probing and backward-shift deletion (no tombstones, so
//! lookups never slow down as orders come and go). The table is sized at construction to
//! at least twice the most entries it will hold, so a probe sequence stays short and an
//! insert never needs to grow it. Lookups are deterministic; nothing ever iterates the
//! table, so its layout cannot leak into the matcher's output.

/// A key the map can hold: copyable, comparable, and with a well-mixed 64-bit hash.
pub(crate) trait MapKey: Copy + Eq {
    /// The key's hash; every bit should depend on every bit of the key.
    fn hash(&self) -> u64;
}

/// The value stored in a slot that holds no entry.
const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry<K> {
    key: K,
    value: u32,
}

/// A map of at most `entries_max` entries to `u32` values below `u32::MAX`.
pub(crate) struct FixedMap<K> {
    entries: Vec<Entry<K>>,
    mask: usize,
    len: u32,
    entries_max: u32,
}

/// Finalizer of SplitMix64: a cheap mix in which every output bit depends on every input
/// bit, good enough for keys an adversary does not choose freely (order ids are assigned
/// by the engine; client order ids are scoped by client).
pub(crate) const fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl<K: MapKey> FixedMap<K> {
    /// A map for up to `entries_max` entries; `placeholder` fills the empty slots.
    pub(crate) fn new(entries_max: u32, placeholder: K) -> FixedMap<K> {
        let slots = (entries_max as usize * 2).next_power_of_two().max(8);
        FixedMap {
            entries: vec![
                Entry {
                    key: placeholder,
                    value: EMPTY,
                };
                slots
            ],
            mask: slots - 1,
            len: 0,
            entries_max,
        }
    }

    fn home(&self, key: &K) -> usize {
        // The mask keeps the index below the table's length, which is a `usize`.
        #[allow(clippy::cast_possible_truncation)]
        let hash = key.hash() as usize;
        hash & self.mask
    }

    /// The value for `key`.
    pub(crate) fn get(&self, key: &K) -> Option<u32> {
        let mut index = self.home(key);
        loop {
            let entry = &self.entries[index];
            if entry.value == EMPTY {
                return None;
            }
            if entry.key == *key {
                return Some(entry.value);
            }
            index = (index + 1) & self.mask;
        }
    }

    /// Inserts `key`, which must be absent, with `value`. Returns `false`, changing nothing,
    /// when the map already holds `entries_max` entries.
    pub(crate) fn insert(&mut self, key: K, value: u32) -> bool {
        debug_assert!(value != EMPTY);
        debug_assert!(self.get(&key).is_none(), "inserting a key twice");
        if self.len == self.entries_max {
            return false;
        }
        let mut index = self.home(&key);
        while self.entries[index].value != EMPTY {
            index = (index + 1) & self.mask;
        }
        self.entries[index] = Entry { key, value };
        self.len += 1;
        true
    }

    /// Removes `key` and returns its value.
    pub(crate) fn remove(&mut self, key: &K) -> Option<u32> {
        let mut index = self.home(key);
        loop {
            let entry = self.entries[index];
            if entry.value == EMPTY {
                return None;
            }
            if entry.key == *key {
                break;
            }
            index = (index + 1) & self.mask;
        }
        let value = self.entries[index].value;
        self.shift_back(index);
        self.len -= 1;
        Some(value)
    }

    /// Fills the hole at `hole` by moving back later entries of the same probe run whose
    /// home is at or before the hole, so every entry stays reachable from its home.
    fn shift_back(&mut self, mut hole: usize) {
        let mut index = (hole + 1) & self.mask;
        loop {
            let entry = self.entries[index];
            if entry.value == EMPTY {
                break;
            }
            let home = self.home(&entry.key);
            // Distance from the entry's home to where it sits, and to the hole: it may move
            // into the hole only if the hole lies on its probe path.
            let sits = index.wrapping_sub(home) & self.mask;
            let gap = index.wrapping_sub(hole) & self.mask;
            if sits >= gap {
                self.entries[hole] = entry;
                hole = index;
            }
            index = (index + 1) & self.mask;
        }
        self.entries[hole].value = EMPTY;
    }

    /// Entries held.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    impl MapKey for u64 {
        fn hash(&self) -> u64 {
            // A deliberately poor hash (many collisions) stresses probing and deletion.
            *self % 7
        }
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec((0u8..3, 0u64..40, 0u32..1000), 1..400)) {
            let mut map = FixedMap::new(24, 0u64);
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, key, value) in ops {
                match op {
                    0 => {
                        if model.contains_key(&key) {
                            continue;
                        }
                        let inserted = map.insert(key, value);
                        prop_assert_eq!(inserted, model.len() < 24);
                        if inserted {
                            model.insert(key, value);
                        }
                    }
                    1 => prop_assert_eq!(map.remove(&key), model.remove(&key)),
                    _ => prop_assert_eq!(map.get(&key), model.get(&key).copied()),
                }
                prop_assert_eq!(map.len() as usize, model.len());
                for (key, value) in &model {
                    prop_assert_eq!(map.get(key), Some(*value));
                }
            }
        }
    }
}
