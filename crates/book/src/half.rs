//! One side of the book: the array window of levels, its occupancy bitset, and the sorted
//! overflow for levels outside the window.
//!
//! Invariants: a far level is never inside the window; a window level's bit is set exactly
//! when it holds orders; a far entry exists exactly when its level holds orders (an entry
//! is inserted empty only immediately before an order is linked into it).

use core::ops::ControlFlow;

use crate::slab::NIL;

/// A price level: the FIFO of its orders (slab indices) and its totals.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Level {
    pub(crate) head: u32,
    pub(crate) tail: u32,
    pub(crate) count: u32,
    pub(crate) quantity: u64,
}

// Two and a half levels per cache line; the window of a 2,048-level side is 48 KiB.
const _: () = assert!(size_of::<Level>() == 24);

impl Level {
    const EMPTY: Level = Level {
        head: NIL,
        tail: NIL,
        count: 0,
        quantity: 0,
    };
}

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy)]
struct FarLevel {
    ticks: i64,
    level: Level,
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Half {
    levels: Box<[Level]>,
    /// Bit `i` set when `levels[i]` holds orders.
    occupied: Box<[u64]>,
    /// Levels outside the window, ascending by price. Its capacity is `far_levels_max` plus
    /// the window, so that a recenter can park leaving levels before taking entering ones
    /// out, without allocating.
    #[serde(with = "crossline_types::serde_support::capacity")]
    far: Vec<FarLevel>,
    far_levels_max: u32,
    /// Whether better prices are higher (bids).
    descending: bool,
    /// The best non-empty level's tick, kept up to date so that finding the best price
    /// reads this field instead of scanning the bitset (a scan happens only when the best
    /// level empties).
    best: Option<i64>,
}

/// Window index of `ticks`, if it is inside the window.
#[inline]
fn window_index(ticks: i64, base: i64, window: u32) -> Option<usize> {
    let offset = ticks.checked_sub(base)?;
    if !(0..i64::from(window)).contains(&offset) {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)] // 0 <= offset < window <= 2^24
    let index = offset as usize;
    Some(index)
}

impl Half {
    pub(crate) fn new(window: u32, far_levels_max: u32, descending: bool) -> Half {
        Half {
            descending,
            best: None,
            levels: vec![Level::EMPTY; window as usize].into_boxed_slice(),
            occupied: vec![0; (window as usize).div_ceil(64)].into_boxed_slice(),
            far: Vec::with_capacity(far_levels_max as usize + window as usize),
            far_levels_max,
        }
    }

    /// Starts loading the best level and its occupancy word, if the best is in the
    /// window.
    pub(crate) fn prefetch_best(&self, base: i64, window: u32) {
        if let Some(index) = self.best.and_then(|best| window_index(best, base, window)) {
            crossline_hint::prefetch(&self.levels[index]);
            crossline_hint::prefetch(&self.occupied[index / 64]);
        }
    }

    /// The slab index of the oldest order at the best level, if the best is in the window.
    pub(crate) fn best_head(&self, base: i64, window: u32) -> Option<u32> {
        let index = window_index(self.best?, base, window)?;
        let level = &self.levels[index];
        (level.count > 0).then_some(level.head)
    }

    pub(crate) fn far_levels_max(&self) -> u32 {
        self.far_levels_max
    }

    /// The non-empty level at `ticks`.
    pub(crate) fn level(&self, ticks: i64, base: i64, window: u32) -> Option<&Level> {
        match window_index(ticks, base, window) {
            Some(index) => Some(&self.levels[index]).filter(|level| level.count > 0),
            None => {
                let position = self
                    .far
                    .binary_search_by_key(&ticks, |far| far.ticks)
                    .ok()?;
                Some(&self.far[position].level)
            }
        }
    }

    /// The level at `ticks`, for an order known to rest there.
    pub(crate) fn level_mut(&mut self, ticks: i64, base: i64, window: u32) -> Option<&mut Level> {
        match window_index(ticks, base, window) {
            Some(index) => Some(&mut self.levels[index]),
            None => {
                let position = self
                    .far
                    .binary_search_by_key(&ticks, |far| far.ticks)
                    .ok()?;
                Some(&mut self.far[position].level)
            }
        }
    }

    /// The level at `ticks`, inserting an empty far level if needed; `None` if the
    /// overflow is full.
    pub(crate) fn level_or_insert(
        &mut self,
        ticks: i64,
        base: i64,
        window: u32,
    ) -> Option<&mut Level> {
        if let Some(index) = window_index(ticks, base, window) {
            return Some(&mut self.levels[index]);
        }
        let position = match self.far.binary_search_by_key(&ticks, |far| far.ticks) {
            Ok(position) => position,
            Err(position) => {
                if self.far.len() >= self.far_levels_max as usize {
                    return None;
                }
                // Within capacity: no allocation.
                self.far.insert(
                    position,
                    FarLevel {
                        ticks,
                        level: Level::EMPTY,
                    },
                );
                position
            }
        };
        Some(&mut self.far[position].level)
    }

    /// Records that the level at `ticks` holds orders.
    pub(crate) fn mark_occupied(&mut self, ticks: i64, base: i64, window: u32) {
        if let Some(index) = window_index(ticks, base, window) {
            self.occupied[index / 64] |= 1 << (index % 64);
        }
        self.best = Some(match self.best {
            Some(best) if self.descending => best.max(ticks),
            Some(best) => best.min(ticks),
            None => ticks,
        });
    }

    /// The best non-empty level's tick.
    pub(crate) fn best(&self) -> Option<i64> {
        self.best
    }

    /// Forgets the (now empty) level at `ticks`.
    pub(crate) fn release(&mut self, ticks: i64, base: i64, window: u32) {
        self.forget_level(ticks, base, window);
        if self.best == Some(ticks) {
            self.best = if self.descending {
                self.highest(base)
            } else {
                self.lowest(base)
            };
        }
    }

    fn forget_level(&mut self, ticks: i64, base: i64, window: u32) {
        match window_index(ticks, base, window) {
            Some(index) => {
                debug_assert_eq!(self.levels[index], Level::EMPTY);
                self.occupied[index / 64] &= !(1 << (index % 64));
            }
            None => {
                if let Ok(position) = self.far.binary_search_by_key(&ticks, |far| far.ticks) {
                    debug_assert_eq!(self.far[position].level, Level::EMPTY);
                    self.far.remove(position);
                }
            }
        }
    }

    /// The highest non-empty level's tick.
    /// The highest non-empty level, by scanning.
    fn highest(&self, base: i64) -> Option<i64> {
        let in_window = self
            .occupied
            .iter()
            .enumerate()
            .rev()
            .find(|(_, word)| **word != 0)
            .map(|(word_index, word)| {
                base + (word_index * 64 + 63 - word.leading_zeros() as usize) as i64
            });
        let in_far = self.far.last().map(|far| far.ticks);
        in_window.max(in_far)
    }

    /// The lowest non-empty level's tick.
    /// The lowest non-empty level, by scanning.
    fn lowest(&self, base: i64) -> Option<i64> {
        let in_window = self
            .occupied
            .iter()
            .enumerate()
            .find(|(_, word)| **word != 0)
            .map(|(word_index, word)| {
                base + (word_index * 64 + word.trailing_zeros() as usize) as i64
            });
        let in_far = self.far.first().map(|far| far.ticks);
        match (in_window, in_far) {
            (Some(window), Some(far)) => Some(window.min(far)),
            (window, far) => window.or(far),
        }
    }

    /// Visits every non-empty level, best first: descending for bids, ascending for asks.
    /// Visits the non-empty levels in price order (highest first when `descending`), until
    /// `visit` breaks.
    pub(crate) fn try_for_each_level(
        &self,
        descending: bool,
        base: i64,
        mut visit: impl FnMut(i64, &Level) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        // Far levels are all outside the window: those below `base` come before it in
        // ascending order, the rest after it.
        let split = self.far.partition_point(|far| far.ticks < base);
        let (below, above) = self.far.split_at(split);
        let mut window = self
            .levels
            .iter()
            .enumerate()
            .filter(|(_, level)| level.count > 0);
        if descending {
            above
                .iter()
                .rev()
                .try_for_each(|far| visit(far.ticks, &far.level))?;
            window
                .rev()
                .try_for_each(|(index, level)| visit(base + index as i64, level))?;
            below
                .iter()
                .rev()
                .try_for_each(|far| visit(far.ticks, &far.level))
        } else {
            below
                .iter()
                .try_for_each(|far| visit(far.ticks, &far.level))?;
            window.try_for_each(|(index, level)| visit(base + index as i64, level))?;
            above
                .iter()
                .try_for_each(|far| visit(far.ticks, &far.level))
        }
    }

    /// Whether moving the window from `old_base` to `new_base` keeps the overflow within
    /// `far_levels_max`.
    pub(crate) fn can_recenter(&self, old_base: i64, new_base: i64, window: u32) -> bool {
        let leaving = self
            .levels
            .iter()
            .enumerate()
            .filter(|(index, level)| {
                level.count > 0
                    && window_index(old_base + *index as i64, new_base, window).is_none()
            })
            .count();
        let entering = self
            .far
            .iter()
            .filter(|far| window_index(far.ticks, new_base, window).is_some())
            .count();
        self.far.len() - entering + leaving <= self.far_levels_max as usize
    }

    /// Moves the window from `old_base` to `new_base` (the caller checked `can_recenter`).
    pub(crate) fn recenter(&mut self, old_base: i64, new_base: i64, window: u32) {
        // 1. Park the levels leaving the window in the overflow (its spare capacity).
        for (index, level) in self.levels.iter().enumerate() {
            let ticks = old_base + index as i64;
            if level.count > 0 && window_index(ticks, new_base, window).is_none() {
                self.far.push(FarLevel {
                    ticks,
                    level: *level,
                });
            }
        }
        // 2. Shift the levels that stay to their new indices.
        let shift = new_base - old_base;
        let length = self.levels.len() as i64;
        if shift.abs() >= length {
            self.levels.fill(Level::EMPTY);
        } else if shift > 0 {
            #[allow(clippy::cast_possible_truncation)] // 0 < shift < window <= 2^24
            let shift = shift as usize;
            self.levels.copy_within(shift.., 0);
            let keep = self.levels.len() - shift;
            self.levels[keep..].fill(Level::EMPTY);
        } else if shift < 0 {
            #[allow(clippy::cast_possible_truncation)] // 0 < -shift < window <= 2^24
            let shift = (-shift) as usize;
            let keep = self.levels.len() - shift;
            self.levels.copy_within(..keep, shift);
            self.levels[..shift].fill(Level::EMPTY);
        }
        // 3. Bring far levels now inside the window into it, and keep the rest sorted.
        for far in &self.far {
            if let Some(index) = window_index(far.ticks, new_base, window) {
                self.levels[index] = far.level;
            }
        }
        self.far
            .retain(|far| window_index(far.ticks, new_base, window).is_none());
        self.far.sort_unstable_by_key(|far| far.ticks);
        debug_assert!(self.far.len() <= self.far_levels_max as usize);
        // 4. Rebuild the occupancy bits.
        self.occupied.fill(0);
        for (index, level) in self.levels.iter().enumerate() {
            if level.count > 0 {
                self.occupied[index / 64] |= 1 << (index % 64);
            }
        }
    }
}
