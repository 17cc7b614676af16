//! A fixed-capacity hash index from keys to order-table slots, for the order tables of
//! the matcher and the risk gate.
//!
//! Each entry is eight bytes: 32 bits of the key's hash (the tag) and the slot. The key
//! itself lives in the order record, so a lookup compares tags and checks only a slot
//! whose tag matches — the record it needs next anyway — and a table twice the size of
//! the most entries stays small enough to stay in cache. Open addressing with linear
//! probing and backward-shift deletion (no tombstones, so lookups never slow down as
//! orders come and go); sized at construction, it never grows. Lookups are deterministic
//! and nothing iterates the table, so its layout cannot leak into the matcher's output.

#![forbid(unsafe_code)]

/// A slot value marking an empty entry.
const EMPTY: u32 = u32::MAX;

#[derive(serde::Serialize, serde::Deserialize, Clone, Copy)]
struct Entry {
    tag: u32,
    slot: u32,
}

/// An index of at most `entries_max` entries.
///
/// The caller hashes its key (with [`mix`], say) and keeps the key in its own record;
/// `is_key(slot)` tells the index whether the record at `slot` holds the key sought.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Index {
    entries: Vec<Entry>,
    mask: usize,
    len: u32,
    entries_max: u32,
}

/// Finalizer of SplitMix64: a cheap mix in which every output bit depends on every input
/// bit, good enough for keys an adversary does not choose freely (order ids are assigned
/// by the engine; client order ids are scoped by client).
pub const fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A hash of `(scope, sequence)` under which the eight keys `8k..8k+7` of one scope share
/// one cache line of the table: their homes are one aligned group of eight entries,
/// placed by a [`mix`] of the scope and `k`. Keys a client numbers upwards (client order
/// ids, as sessions send them) then touch a new line once per eight orders instead of
/// once per order, while different scopes and groups still spread over the whole table.
pub const fn grouped(scope: u64, sequence: u64) -> u64 {
    let group = mix(mix(scope) ^ (sequence >> 3));
    (group & !(7 << 32)) | ((sequence & 7) << 32)
}

/// The tag of a hash: its high half. The entry's home position is the tag's low bits
/// (tables have at most 2^29 entries), so a moved entry's home is known from its tag.
const fn tag_of(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl Index {
    /// An index for up to `entries_max` entries (at most 2^28).
    ///
    /// # Panics
    /// When `entries_max` is above 2^28 (callers validate their configuration first).
    pub fn new(entries_max: u32) -> Index {
        assert!(entries_max <= 1 << 28, "index too large for 32-bit tags");
        let size = (entries_max as usize * 2).next_power_of_two().max(8);
        Index {
            entries: vec![
                Entry {
                    tag: 0,
                    slot: EMPTY,
                };
                size
            ],
            mask: size - 1,
            len: 0,
            entries_max,
        }
    }

    fn home(&self, tag: u32) -> usize {
        tag as usize & self.mask
    }

    /// The slot whose key hashes to `hash` and for which `is_key` says it holds the key.
    #[inline]
    pub fn get(&self, hash: u64, is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        self.position(hash, is_key)
            .map(|position| self.entries[position].slot)
    }

    /// Where in the table the entry for `hash` that `is_key` recognises sits.
    #[inline]
    fn position(&self, hash: u64, mut is_key: impl FnMut(u32) -> bool) -> Option<usize> {
        let tag = tag_of(hash);
        let mut index = self.home(tag);
        loop {
            let entry = self.entries[index];
            if entry.slot == EMPTY {
                return None;
            }
            if entry.tag == tag && is_key(entry.slot) {
                return Some(index);
            }
            index = (index + 1) & self.mask;
        }
    }

    /// Starts loading the entry where a lookup of `hash` begins.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        crossline_hint::prefetch(&self.entries[self.home(tag_of(hash))]);
    }

    /// The first slot in `hash`'s probe run whose tag matches, unverified: a guess good
    /// enough to prefetch the order it names.
    #[inline]
    pub fn peek(&self, hash: u64) -> Option<u32> {
        self.get(hash, |_| true)
    }

    /// Adds `slot` under `hash` (its key must be absent). Returns `false`, changing
    /// nothing, when the index already holds `entries_max` entries.
    pub fn insert(&mut self, hash: u64, slot: u32) -> bool {
        debug_assert!(slot != EMPTY);
        if self.len == self.entries_max {
            return false;
        }
        let tag = tag_of(hash);
        let mut index = self.home(tag);
        while self.entries[index].slot != EMPTY {
            index = (index + 1) & self.mask;
        }
        self.entries[index] = Entry { tag, slot };
        self.len += 1;
        true
    }

    /// Removes the entry for the key hashing to `hash` that `is_key` recognises, and
    /// returns its slot.
    pub fn remove(&mut self, hash: u64, is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let position = self.position(hash, is_key)?;
        let slot = self.entries[position].slot;
        self.shift_back(position);
        self.len -= 1;
        Some(slot)
    }

    /// Fills the hole at `hole` by moving back later entries of the same probe run whose
    /// home is at or before the hole, so every entry stays reachable from its home.
    fn shift_back(&mut self, mut hole: usize) {
        let mut index = (hole + 1) & self.mask;
        loop {
            let entry = self.entries[index];
            if entry.slot == EMPTY {
                break;
            }
            // Distance from the entry's home to where it sits, and to the hole: it may move
            // into the hole only if the hole lies on its probe path.
            let sits = index.wrapping_sub(self.home(entry.tag)) & self.mask;
            let gap = index.wrapping_sub(hole) & self.mask;
            if sits >= gap {
                self.entries[hole] = entry;
                hole = index;
            }
            index = (index + 1) & self.mask;
        }
        self.entries[hole].slot = EMPTY;
    }

    /// Entries held.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        for entry in &mut self.entries {
            entry.slot = EMPTY;
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// A deliberately poor hash: many keys share a home and a tag, which stresses probing,
    /// tag collisions (the key check must reject them) and deletion.
    fn hash(key: u64) -> u64 {
        (key % 7) << 32
    }

    #[test]
    fn grouped_keys_share_a_line_and_scopes_spread() {
        let index = Index::new(1 << 16);
        let home = |hash: u64| index.home(tag_of(hash));
        for scope in 0..50u64 {
            let first = home(grouped(scope, 800));
            // 800..807 are one group: consecutive entries of one aligned group of eight.
            for offset in 0..8usize {
                assert_eq!(home(grouped(scope, 800 + offset as u64)), first + offset);
            }
            assert_eq!(first % 8, 0);
        }
        // Different scopes, and the next group, land elsewhere.
        let homes: std::collections::HashSet<usize> =
            (0..50u64).map(|scope| home(grouped(scope, 800))).collect();
        assert!(
            homes.len() > 45,
            "scopes collide too often: {}",
            homes.len()
        );
        assert_ne!(home(grouped(1, 800)) + 8, home(grouped(1, 808)));
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map(ops in proptest::collection::vec((0u8..3, 0u64..40), 1..400)) {
            let mut index = Index::new(24);
            // The "order table": slot → key.
            let mut keys: Vec<Option<u64>> = vec![None; 24];
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, key) in ops {
                let found = |keys: &Vec<Option<u64>>, index: &Index| {
                    index.get(hash(key), |slot| keys[slot as usize] == Some(key))
                };
                match op {
                    0 => {
                        if model.contains_key(&key) {
                            continue;
                        }
                        let Some(slot) = keys.iter().position(Option::is_none) else {
                            prop_assert!(!index.insert(hash(key), 0), "a full index refuses");
                            continue;
                        };
                        let slot_u32 = u32::try_from(slot).unwrap();
                        prop_assert!(index.insert(hash(key), slot_u32));
                        keys[slot] = Some(key);
                        model.insert(key, slot_u32);
                    }
                    1 => {
                        let removed = index.remove(hash(key), |slot| keys[slot as usize] == Some(key));
                        prop_assert_eq!(removed, model.remove(&key));
                        if let Some(slot) = removed {
                            keys[slot as usize] = None;
                        }
                    }
                    _ => prop_assert_eq!(found(&keys, &index), model.get(&key).copied()),
                }
                prop_assert_eq!(index.len() as usize, model.len());
                for (key, slot) in &model {
                    prop_assert_eq!(index.get(hash(*key), |s| keys[s as usize] == Some(*key)), Some(*slot));
                }
            }
        }
    }
}
