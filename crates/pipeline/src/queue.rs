//! The two holding places an agent keeps beside its rings: a [`Bounded`] queue, which
//! never grows past the bound it was made with, and the [`AckGate`], which holds what may
//! not leave the process until the journal has it on disk.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use crossline_journal::Durable;
use crossline_ring::Consumer;

/// Pushes past a queue's bound in this process ([`Bounded::push_past_bound`]).
static OVERFLOWS: AtomicU64 = AtomicU64::new(0);

/// Pushes past any queue's bound since the process started: each is a defect in a
/// bound's derivation (`docs/ARCHITECTURE.md`, bounded queues), shown as
/// `queues.overflows` in the live counters. Zero in every test and benchmark run.
#[must_use]
pub fn overflows() -> u64 {
    OVERFLOWS.load(Ordering::Relaxed)
}

/// A first-in first-out queue of at most `bound` items, all allocated when it is made:
/// a push never reallocates, and a push to a full queue hands the item back, so the
/// caller waits (back-pressure) instead of growing.
#[derive(Debug)]
pub struct Bounded<T> {
    items: VecDeque<T>,
    bound: usize,
    name: &'static str,
}

impl<T> Bounded<T> {
    /// An empty queue `name`d (for its overflow log) for `bound` items (at least one).
    #[must_use]
    pub fn new(name: &'static str, bound: usize) -> Bounded<T> {
        let bound = bound.max(1);
        let items = VecDeque::with_capacity(bound);
        assert!(
            items.capacity() >= bound,
            "the queue's storage is made at start"
        );
        Bounded { items, bound, name }
    }

    /// Appends `item` where the bound's derivation says it always fits (the caller took
    /// no more input than its bound covers). Nothing is ever dropped: should the bound
    /// have been derived wrong, the item goes in anyway, the queue grows (the one
    /// allocation this type ever makes), and the overflow is counted ([`overflows`]) and
    /// logged once per queue.
    #[inline]
    pub fn push_past_bound(&mut self, item: T) {
        if self.items.len() >= self.bound {
            self.overflow();
        }
        self.items.push_back(item);
    }

    #[cold]
    fn overflow(&mut self) {
        OVERFLOWS.fetch_add(1, Ordering::Relaxed);
        if self.items.len() == self.bound {
            eprintln!(
                "crossline: queue {} went past its bound of {} (a defect: nothing is dropped, \
                 the queue grows; counted as queues.overflows)",
                self.name, self.bound
            );
        }
    }

    /// Appends `item`, or hands it back when the queue is full.
    ///
    /// # Errors
    /// The item, when `bound` items are queued.
    #[inline]
    pub fn push(&mut self, item: T) -> Result<(), T> {
        if self.items.len() >= self.bound {
            return Err(item);
        }
        self.items.push_back(item);
        Ok(())
    }

    /// The oldest item.
    #[inline]
    #[must_use]
    pub fn front(&self) -> Option<&T> {
        self.items.front()
    }

    /// Removes the oldest item.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.items.pop_front()
    }

    /// Items queued.
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is queued.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Room for `n` more items.
    #[inline]
    #[must_use]
    pub fn has_room(&self, n: usize) -> bool {
        self.items.len() + n <= self.bound
    }

    /// The bound it was made with.
    #[must_use]
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// The items from the `from`th on (0: the oldest), to amend them in place.
    pub fn tail_mut(&mut self, from: usize) -> impl Iterator<Item = &mut T> {
        self.items.range_mut(from..)
    }
}

/// Something that may leave the process only once the journal is durable up to the
/// sequence number of the record that caused it.
pub trait Journaled {
    /// The journal sequence number it waits for.
    fn sequence(&self) -> u64;
}

/// The acknowledgement gate: under a `durability` that syncs (`sync_per_batch`,
/// `sync_interval`), a client reply or a venue child order leaves only once the journal
/// record that caused it is on disk. What is not yet releasable waits here, in order, up
/// to a bound; the agent stops taking from its ring while the gate is full, so the engine
/// thread never blocks on the disk. Under `"process"` everything passes at once (one
/// branch, no atomic read).
#[derive(Debug)]
pub struct AckGate<T> {
    durable: Durable,
    /// The last durable sequence read, so most items pass without reading it again.
    known: u64,
    held: Bounded<T>,
    /// Items ever held (each waited for the disk).
    held_total: u64,
}

impl<T: Journaled + Copy + Send> AckGate<T> {
    /// A gate following `durable`, holding at most `bound` items.
    #[must_use]
    pub fn new(durable: Durable, bound: usize) -> AckGate<T> {
        let known = if durable.gated() { 0 } else { u64::MAX };
        AckGate {
            durable,
            known,
            held: Bounded::new("ack gate", bound),
            held_total: 0,
        }
    }

    /// Hands `leave` every held item now durable, then takes items from `ring` while the
    /// gate has room, passing each to `leave` at once when nothing waits before it and
    /// its record is durable, holding it otherwise. At most `max` items are taken from
    /// the ring; `leave` returns `false` to stop (the caller's own queue is full), and
    /// the item it was given counts as gone. Returns the items handled.
    #[inline]
    pub fn pump(
        &mut self,
        ring: &mut Consumer<T>,
        max: usize,
        mut leave: impl FnMut(T) -> bool,
    ) -> usize {
        let (released, go_on) = self.release(&mut leave);
        let mut work = released;
        if !go_on {
            return work;
        }
        let mut taken = 0;
        while taken < max && self.held.has_room(1) {
            let Some(item) = ring.try_pop() else {
                break;
            };
            taken += 1;
            if self.held.is_empty() && self.is_durable(item.sequence()) {
                if !leave(item) {
                    break;
                }
            } else {
                self.held_total += 1;
                // Room was checked: the push cannot hand the item back.
                let _ = self.held.push(item);
            }
        }
        work += taken;
        work
    }

    #[inline]
    fn is_durable(&mut self, sequence: u64) -> bool {
        if sequence <= self.known {
            return true;
        }
        self.known = self.durable.sequence();
        sequence <= self.known
    }

    /// Hands held items now durable to `leave`, in order, until it returns `false`.
    fn release(&mut self, leave: &mut impl FnMut(T) -> bool) -> (usize, bool) {
        if self.held.is_empty() {
            return (0, true);
        }
        self.known = self.durable.sequence();
        let mut released = 0;
        while let Some(item) = self.held.front().copied() {
            if item.sequence() > self.known {
                break;
            }
            self.held.pop();
            released += 1;
            if !leave(item) {
                return (released, false);
            }
        }
        (released, true)
    }

    /// Items waiting for the disk.
    #[must_use]
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Items that ever waited for the disk.
    #[must_use]
    pub fn held_total(&self) -> u64 {
        self.held_total
    }

    /// The journal's `msync`s so far.
    #[must_use]
    pub fn msyncs(&self) -> u64 {
        self.durable.msyncs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Journaled for u64 {
        fn sequence(&self) -> u64 {
            *self
        }
    }

    #[test]
    fn a_bounded_queue_hands_back_what_does_not_fit() {
        let mut queue = Bounded::new("test", 2);
        assert_eq!(
            (queue.push(1), queue.push(2), queue.push(3)),
            (Ok(()), Ok(()), Err(3))
        );
        assert_eq!(queue.pop(), Some(1));
        assert_eq!(queue.push(3), Ok(()));
        assert_eq!((queue.len(), queue.bound()), (2, 2));
        let before = overflows();
        queue.push_past_bound(4);
        assert_eq!((queue.len(), overflows()), (3, before + 1));
        assert_eq!(
            (queue.pop(), queue.pop(), queue.pop()),
            (Some(2), Some(3), Some(4))
        );
    }

    #[test]
    fn without_a_flusher_everything_passes() {
        let (mut tx, mut rx) = crossline_ring::channel::<u64>(64).unwrap();
        let mut gate = AckGate::new(Durable::default(), 1);
        for sequence in [5, 9, u64::MAX - 1] {
            tx.try_push(sequence).unwrap();
        }
        let mut left = Vec::new();
        assert_eq!(
            gate.pump(&mut rx, 8, |item| {
                left.push(item);
                true
            }),
            3
        );
        assert_eq!(left, [5, 9, u64::MAX - 1]);
        assert_eq!((gate.held(), gate.held_total()), (0, 0));
    }
}
