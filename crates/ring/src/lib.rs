//! A bounded, lock-free, single-producer single-consumer ring of fixed-size messages.
//!
//! Guarantee: after [`channel`] returns, no call allocates, takes a lock, makes a system
//! call or blocks. Every operation either completes at once or reports that it cannot
//! (ring full, ring empty); what to do then (spin, yield, back off) is the caller's idle
//! strategy.
//!
//! ```
//! let (mut producer, mut consumer) = crossline_ring::channel::<u64>(4).unwrap();
//! assert!(producer.try_push(1).is_ok());
//! assert_eq!(producer.push_slice(&[2, 3, 4, 5]), 3); // only three slots were free
//! assert_eq!(consumer.try_pop(), Some(1));
//! let mut seen = Vec::new();
//! assert_eq!(consumer.drain(8, |value| seen.push(*value)), 3);
//! assert_eq!(seen, [2, 3, 4]);
//! assert_eq!(consumer.try_pop(), None);
//! ```
//!
//! # Design
//!
//! Each slot is one 64-byte cache line holding an 8-byte *stamp* followed by the message
//! (for messages of up to 56 bytes, such as `crossline_types::Message`). The producer
//! publishes messages in *runs* of consecutive slots (one for [`Producer::try_push`], up
//! to [`RUN_LENGTH_MAX`] for a [`Claim`]): it writes the run's other slots, then the first
//! slot's message, then the first slot's stamp, with release ordering. The stamp holds the
//! position and the run's length. The consumer polls the stamp of the slot it will read
//! next with acquire ordering, and one load tells it the whole run is ready.
//!
//! So a consumer waiting for the next message touches exactly one cache line, the one its
//! message arrives in, and one cache-line transfer from the producer's core brings both
//! the "ready" signal and the payload; a classic ring whose consumer polls the producer's
//! tail index needs two dependent transfers (the index, then the slot). And a batch costs
//! one stamp store and one stamp load, as a classic ring's batch costs one index update:
//! the polled line changes hands once per run, never while the producer is filling it.
//!
//! The consumer publishes its position (`head`) on its own cache-padded line after each
//! pop or batch; the producer caches it and reads the shared copy again only when its
//! cached view says the ring is full, so in steady state the producer never touches the
//! consumer's line. The producer also publishes its own position (`tail`) on a separate
//! padded line; nothing on the hot path reads it, it is there for depth monitoring.
//!
//! A stamp is `(position + 1) mod 2^56` in its low 56 bits and the run length (1 to 255)
//! in its high 8. Comparing positions modulo 2^56 is exact: a slot's stale stamp is
//! always exactly one lap (`capacity` positions, far less than 2^56) old.
#![deny(unsafe_op_in_unsafe_fn)]

mod sync;

use core::fmt;
use core::mem::{size_of, MaybeUninit};

use crossbeam_utils::CachePadded;

use crate::sync::{spin_loop, Arc, AtomicBool, AtomicU64, Ordering, UnsafeCell};

/// The most slots a ring may have (2^26: four GiB of 64-byte slots).
pub const CAPACITY_MAX: usize = 1 << 26;

/// The most slots one [`Claim`] reserves (a run's length fits the stamp's top byte).
pub const RUN_LENGTH_MAX: usize = 255;

/// Bits of a stamp that hold the position; the rest hold the run length.
const STAMP_POSITION_BITS: u32 = 56;
const STAMP_POSITION_MASK: u64 = (1 << STAMP_POSITION_BITS) - 1;

const _: () = assert!(CAPACITY_MAX as u64 <= STAMP_POSITION_MASK);
const _: () = assert!(RUN_LENGTH_MAX as u64 == u64::MAX >> STAMP_POSITION_BITS);

/// The stamp that publishes a run of `length` slots starting at `position`.
#[inline(always)]
const fn stamp_for(position: u64, length: u64) -> u64 {
    ((position + 1) & STAMP_POSITION_MASK) | (length << STAMP_POSITION_BITS)
}

/// The length of the run that `stamp` publishes starting at `position`, or 0 if the slot
/// at `position` has not been published (the stamp is from an earlier lap, or zero).
#[inline(always)]
const fn run_length(stamp: u64, position: u64) -> u64 {
    if stamp & STAMP_POSITION_MASK == (position + 1) & STAMP_POSITION_MASK {
        stamp >> STAMP_POSITION_BITS
    } else {
        0
    }
}

/// Why a ring could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The capacity is zero or not a power of two.
    #[error("ring capacity {capacity} must be a power of two and at least 1")]
    CapacityNotPowerOfTwo {
        /// The capacity asked for.
        capacity: usize,
    },
    /// The capacity is larger than [`CAPACITY_MAX`].
    #[error("ring capacity {capacity} is larger than the maximum {capacity_max}")]
    CapacityTooLarge {
        /// The capacity asked for.
        capacity: usize,
        /// The largest capacity allowed.
        capacity_max: usize,
    },
}

/// The size in bytes of one slot holding a `T`: 64 for messages of up to 56 bytes.
#[must_use]
pub const fn slot_bytes<T>() -> usize {
    size_of::<Slot<T>>()
}

/// Builds a ring of `capacity` slots and returns its two ends.
///
/// All memory is allocated and touched here (every slot's stamp is written), so the pages
/// are resident before the first message and no later call page-faults on first use.
///
/// # Errors
/// [`RingError`] if `capacity` is not a power of two or exceeds [`CAPACITY_MAX`].
pub fn channel<T: Copy + Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), RingError> {
    if !capacity.is_power_of_two() {
        return Err(RingError::CapacityNotPowerOfTwo { capacity });
    }
    if capacity > CAPACITY_MAX {
        return Err(RingError::CapacityTooLarge {
            capacity,
            capacity_max: CAPACITY_MAX,
        });
    }
    let slots: Box<[Slot<T>]> = (0..capacity).map(|_| Slot::empty()).collect();
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicU64::new(0)),
        tail: CachePadded::new(AtomicU64::new(0)),
        closed: CachePadded::new(Closed {
            producer: AtomicBool::new(false),
            consumer: AtomicBool::new(false),
        }),
        slots,
    });
    let producer = Producer {
        slots: Slots::of(&shared),
        shared: Arc::clone(&shared),
        tail: 0,
        head_cached: 0,
        capacity: capacity as u64,
    };
    let consumer = Consumer {
        slots: Slots::of(&shared),
        shared,
        head: 0,
        ready_end: 0,
    };
    Ok((producer, consumer))
}

/// One cache line: the publication stamp, then the message.
#[repr(C, align(64))]
struct Slot<T> {
    /// Meaningful only on the first slot of a run: [`stamp_for`] its position and length.
    /// Zero before the first lap. Written only by the producer (release), read by the
    /// consumer (acquire).
    stamp: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    fn empty() -> Slot<T> {
        Slot {
            stamp: AtomicU64::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// Which ends have been dropped, on a line of its own (read only when a side is idle).
struct Closed {
    producer: AtomicBool,
    consumer: AtomicBool,
}

struct Shared<T> {
    /// Messages consumed so far. Written only by the consumer (release).
    head: CachePadded<AtomicU64>,
    /// Messages published so far. Written only by the producer; read only for monitoring.
    tail: CachePadded<AtomicU64>,
    closed: CachePadded<Closed>,
    slots: Box<[Slot<T>]>,
}

// SAFETY: `Shared` is reached only through one `Producer` and one `Consumer`. A slot's value
// is written only by the producer while the slot is free (its position is below
// `head + capacity`, which the producer learns with acquire ordering from the consumer's
// release store of `head`), and read only by the consumer after it observes the slot's
// stamp with acquire ordering (paired with the producer's release store). So no slot is
// ever accessed from two threads without a happens-before edge between them, and moving
// `T` values between threads needs only `T: Send`.
unsafe impl<T: Send> Sync for Shared<T> {}

/// A handle's cached view of the slot array: its start and `capacity - 1`, so a lookup
/// does not chase the `Arc` and `Box` pointers.
struct Slots<T> {
    base: *const Slot<T>,
    mask: u64,
}

impl<T> Slots<T> {
    fn of(shared: &Shared<T>) -> Slots<T> {
        Slots {
            base: shared.slots.as_ptr(),
            mask: shared.slots.len() as u64 - 1,
        }
    }

    /// The slot for `position`.
    ///
    /// Sound because every `Slots` lives in a handle next to the `Arc<Shared>` that owns
    /// the array, which therefore outlives every borrow of the handle.
    #[inline(always)]
    fn get(&self, position: u64) -> &Slot<T> {
        #[allow(clippy::cast_possible_truncation)] // masked: below capacity <= CAPACITY_MAX
        let index = (position & self.mask) as usize;
        // SAFETY: `index <= mask`, so the offset stays inside the array.
        let slot = unsafe { self.base.add(index) };
        // SAFETY: `slot` points to an initialised slot of an array that the owning handle
        // keeps alive for as long as `self` is borrowed; slots are only ever shared (`&`),
        // their contents guarded by atomics.
        unsafe { &*slot }
    }
}

/// Depth of a ring, readable from any thread without disturbing either end.
#[derive(Clone)]
pub struct Monitor<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Monitor<T> {
    /// Messages published but not yet consumed, as of two relaxed loads: exact when both
    /// ends are idle, approximate while they run.
    #[must_use]
    pub fn depth(&self) -> u64 {
        let head = self.shared.head.load(Ordering::Relaxed);
        let tail = self.shared.tail.load(Ordering::Relaxed);
        tail.saturating_sub(head)
    }

    /// The number of slots.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.shared.slots.len()
    }
}

impl<T> fmt::Debug for Monitor<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Monitor")
            .field("depth", &self.depth())
            .field("capacity", &self.capacity())
            .finish()
    }
}

/// The writing end of a ring. Not `Clone`: there is exactly one producer.
///
/// Aligned to 128 bytes (two cache lines, the unit the adjacent-line prefetcher moves) so
/// that its private positions, updated on every push, never share a line with the
/// consumer's handle or anything else, wherever the caller puts it (measured: a producer
/// and consumer handle side by side in one struct doubled the one-way latency).
#[repr(align(128))]
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    slots: Slots<T>,
    /// Messages published by this producer (the next position to write).
    tail: u64,
    /// The consumer's `head` as last read; only ever behind the real value.
    head_cached: u64,
    capacity: u64,
}

// SAFETY: the producer end may move to another thread as long as the messages may; see the
// `Sync` justification of `Shared` for why the two ends never race on a slot.
unsafe impl<T: Send> Send for Producer<T> {}

impl<T: Copy> Producer<T> {
    /// Publishes `value`, or hands it back if the ring is full.
    ///
    /// # Errors
    /// Returns `value` unchanged when every slot holds an unconsumed message.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        if self.free_slots_cached() == 0 && self.refresh_free_slots() == 0 {
            return Err(value);
        }
        self.write(self.tail, value);
        self.stamp(self.tail, 1);
        self.tail += 1;
        self.shared.tail.store(self.tail, Ordering::Relaxed);
        Ok(())
    }

    /// Reserves up to `count_max` free slots (at most [`RUN_LENGTH_MAX`]) for writing;
    /// what is written is published by [`Claim::publish`] or when the claim is dropped. The claim may be shorter than asked (even empty) when the ring is
    /// nearly full.
    #[inline]
    pub fn claim(&mut self, count_max: usize) -> Claim<'_, T> {
        let mut free = self.free_slots_cached();
        if free < count_max as u64 {
            free = self.refresh_free_slots();
        }
        #[allow(clippy::cast_possible_truncation)] // free <= capacity <= CAPACITY_MAX
        let count = (count_max.min(RUN_LENGTH_MAX) as u64).min(free) as usize;
        Claim {
            producer: self,
            count,
            written: 0,
            first: MaybeUninit::uninit(),
        }
    }

    /// Publishes as many leading values of `values` as fit and returns how many did.
    #[inline]
    pub fn push_slice(&mut self, values: &[T]) -> usize {
        let mut claim = self.claim(values.len());
        for value in &values[..claim.len()] {
            let written = claim.write(*value);
            debug_assert!(written.is_ok(), "a claim holds as many slots as its length");
        }
        claim.publish()
    }

    /// Free slots as of the consumer's position re-read now (one shared load).
    #[must_use]
    pub fn free_slots(&mut self) -> usize {
        #[allow(clippy::cast_possible_truncation)] // <= capacity <= CAPACITY_MAX
        let free = self.refresh_free_slots() as usize;
        free
    }

    /// The number of slots.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.shared.slots.len()
    }

    /// Whether the consumer end has been dropped (nothing published will be read).
    #[must_use]
    pub fn is_consumer_closed(&self) -> bool {
        self.shared.closed.consumer.load(Ordering::Acquire)
    }

    /// A handle for reading the ring's depth from another thread.
    #[must_use]
    pub fn monitor(&self) -> Monitor<T> {
        Monitor {
            shared: Arc::clone(&self.shared),
        }
    }

    #[inline(always)]
    fn free_slots_cached(&self) -> u64 {
        debug_assert!(self.tail - self.head_cached <= self.capacity);
        self.capacity - (self.tail - self.head_cached)
    }

    #[cold]
    #[inline(never)]
    fn refresh_free_slots(&mut self) -> u64 {
        // Acquire pairs with the consumer's release store of `head`: its reads of the slots
        // it has released happen before our writes into them.
        self.head_cached = self.shared.head.load(Ordering::Acquire);
        self.free_slots_cached()
    }

    #[inline(always)]
    fn write(&mut self, position: u64, value: T) {
        debug_assert!(position - self.head_cached < self.capacity);
        let slot = self.slots.get(position);
        slot.value.with_mut(|pointer| {
            // SAFETY: `position` is below `head + capacity`, so the consumer has released
            // this slot and will not read it until we store its stamp below; we are the only
            // producer, so nothing else writes it.
            unsafe { pointer.write(MaybeUninit::new(value)) };
        });
    }

    /// Publishes the run of `length` slots from `position`, all already written.
    #[inline(always)]
    fn stamp(&self, position: u64, length: u64) {
        debug_assert!((1..=RUN_LENGTH_MAX as u64).contains(&length));
        // Release: every value of the run, written before, becomes visible with the stamp.
        self.slots
            .get(position)
            .stamp
            .store(stamp_for(position, length), Ordering::Release);
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Producer")
            .field("tail", &self.tail)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // Release: everything published before the close is visible to a consumer that
        // sees the flag.
        self.shared.closed.producer.store(true, Ordering::Release);
    }
}

/// Slots reserved by [`Producer::claim`]: write into them in order, then publish.
///
/// Every written slot becomes visible to the consumer, as one run, when the claim is
/// published or dropped, whichever comes first; unwritten slots stay free.
///
/// The run's first value is held back and written last, just before its stamp: a
/// caught-up consumer polls exactly that slot, so the line it polls receives all its
/// stores in one burst and changes hands once per run, and the other slots are never
/// touched by the consumer while the producer fills them.
pub struct Claim<'a, T: Copy> {
    producer: &'a mut Producer<T>,
    count: usize,
    written: usize,
    /// The run's first value, held until publication.
    first: MaybeUninit<T>,
}

impl<T: Copy> Claim<'_, T> {
    /// Slots reserved.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no slot could be reserved.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Slots reserved and not yet written.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.count - self.written
    }

    /// Writes the next reserved slot, or hands `value` back if all are written.
    ///
    /// # Errors
    /// Returns `value` unchanged when the claim is used up.
    #[inline]
    pub fn write(&mut self, value: T) -> Result<(), T> {
        if self.written == self.count {
            return Err(value);
        }
        if self.written == 0 {
            self.first = MaybeUninit::new(value);
        } else {
            let position = self.producer.tail + self.written as u64;
            self.producer.write(position, value);
        }
        self.written += 1;
        Ok(())
    }

    /// Makes every written slot visible to the consumer and returns how many.
    #[inline]
    pub fn publish(self) -> usize {
        self.written
        // Drop writes the first slot, stamps the run and advances the producer.
    }
}

impl<T: Copy> Drop for Claim<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.written == 0 {
            return;
        }
        let first = self.producer.tail;
        // SAFETY: `written > 0`, so `write` stored the first value in `self.first`.
        let value = unsafe { self.first.assume_init() };
        self.producer.write(first, value);
        self.producer.stamp(first, self.written as u64);
        self.producer.tail = first + self.written as u64;
        self.producer
            .shared
            .tail
            .store(self.producer.tail, Ordering::Relaxed);
    }
}

/// The reading end of a ring. Not `Clone`: there is exactly one consumer.
///
/// Aligned to 128 bytes for the same reason as [`Producer`].
#[repr(align(128))]
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    slots: Slots<T>,
    /// Messages consumed (the next position to read).
    head: u64,
    /// End of the last run seen: every position in `head..ready_end` is published.
    ready_end: u64,
}

// SAFETY: as for `Producer`: the consumer end may move to another thread as long as the
// messages may.
unsafe impl<T: Send> Send for Consumer<T> {}

impl<T: Copy> Consumer<T> {
    /// Takes the next message, or `None` if none is published.
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        if self.ready_from(self.head) == 0 {
            return None;
        }
        let value = self.slots.get(self.head).value.with(|pointer| {
            // SAFETY: `head` lies in a published run (acquire on its stamp pairs with the
            // producer's release after writing the run), and the producer will not write
            // this slot again until we advance `head` past it.
            unsafe { pointer.cast::<T>().read() }
        });
        self.head += 1;
        self.release();
        Some(value)
    }

    /// Hands up to `count_max` messages, in order, to `handler` by reference (no copy out
    /// of the ring), then releases their slots in one store. Returns how many.
    #[inline]
    pub fn drain(&mut self, count_max: usize, mut handler: impl FnMut(&T)) -> usize {
        let first = self.head;
        let end = first.saturating_add(count_max as u64);
        let mut position = first;
        while position < end {
            let ready = self.ready_from(position);
            if ready == 0 {
                break;
            }
            let run_end = end.min(position + ready);
            while position < run_end {
                self.slots.get(position).value.with(|pointer| {
                    // SAFETY: `position` lies in a published run (see `try_pop`), and the
                    // slot stays ours until `head` advances below, after this reference's
                    // last use.
                    handler(unsafe { &*pointer.cast::<T>() });
                });
                position += 1;
            }
        }
        if position > first {
            self.head = position;
            self.release();
        }
        #[allow(clippy::cast_possible_truncation)] // at most count_max
        let count = (position - first) as usize;
        count
    }

    /// Copies up to `out.len()` messages into `out`, in order, and returns how many.
    #[inline]
    pub fn pop_slice(&mut self, out: &mut [T]) -> usize {
        let mut index = 0;
        self.drain(out.len(), |value| {
            out[index] = *value;
            index += 1;
        })
    }

    /// Whether no message is ready to read (at most one load of the next slot's stamp).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.head >= self.ready_end
            && run_length(
                self.slots.get(self.head).stamp.load(Ordering::Acquire),
                self.head,
            ) == 0
    }

    /// Whether the producer has been dropped. Once it has, and [`Consumer::is_empty`] is
    /// true, nothing more will ever arrive.
    #[must_use]
    pub fn is_producer_closed(&self) -> bool {
        self.shared.closed.producer.load(Ordering::Acquire)
    }

    /// Waits for the next message by spinning, giving up after `spins_max` empty polls.
    /// For tests and benchmarks; agents poll through their idle strategy instead.
    #[inline]
    pub fn pop_spinning(&mut self, spins_max: u64) -> Option<T> {
        for _ in 0..=spins_max {
            if let Some(value) = self.try_pop() {
                return Some(value);
            }
            spin_loop();
        }
        None
    }

    /// The number of slots.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.shared.slots.len()
    }

    /// A handle for reading the ring's depth from another thread.
    #[must_use]
    pub fn monitor(&self) -> Monitor<T> {
        Monitor {
            shared: Arc::clone(&self.shared),
        }
    }

    /// How many slots from `position` (the next unread one) are known to be published:
    /// what remains of the last run seen, or else the length of the run whose stamp is at
    /// `position` now (one acquire load), or 0.
    #[inline(always)]
    fn ready_from(&mut self, position: u64) -> u64 {
        debug_assert!(position >= self.head);
        if position < self.ready_end {
            return self.ready_end - position;
        }
        // Runs are contiguous, so the first slot not covered by the last run is the first
        // slot of the next run, whose stamp announces it.
        let length = run_length(
            self.slots.get(position).stamp.load(Ordering::Acquire),
            position,
        );
        self.ready_end = position + length;
        length
    }

    #[inline(always)]
    fn release(&self) {
        // Release: our reads of the slots happen before the producer reuses them.
        self.shared.head.store(self.head, Ordering::Release);
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Consumer")
            .field("head", &self.head)
            .finish()
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.shared.closed.consumer.store(true, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_slot_for_a_56_byte_message_is_one_cache_line() {
        assert_eq!(slot_bytes::<[u64; 7]>(), 64);
        assert_eq!(slot_bytes::<u64>(), 64);
        assert_eq!(slot_bytes::<[u64; 8]>(), 128);
    }

    #[test]
    fn handles_never_share_a_cache_line() {
        assert_eq!(align_of::<Producer<[u64; 7]>>(), 128);
        assert_eq!(align_of::<Consumer<[u64; 7]>>(), 128);
        let pair = channel::<u64>(2).unwrap();
        let producer_address = core::ptr::addr_of!(pair.0) as usize;
        let consumer_address = core::ptr::addr_of!(pair.1) as usize;
        assert!(producer_address.abs_diff(consumer_address) >= 128);
    }

    #[test]
    fn rejects_bad_capacities() {
        assert_eq!(
            channel::<u64>(0).unwrap_err(),
            RingError::CapacityNotPowerOfTwo { capacity: 0 }
        );
        assert_eq!(
            channel::<u64>(12).unwrap_err().to_string(),
            "ring capacity 12 must be a power of two and at least 1"
        );
        assert!(matches!(
            channel::<u64>(CAPACITY_MAX * 2),
            Err(RingError::CapacityTooLarge { .. })
        ));
    }

    #[test]
    fn drain_without_a_limit_takes_everything_published() {
        let (mut producer, mut consumer) = channel::<u32>(4).unwrap();
        assert_eq!(producer.push_slice(&[1, 2, 3]), 3);
        consumer.try_pop().unwrap();
        let mut seen = Vec::new();
        assert_eq!(consumer.drain(usize::MAX, |value| seen.push(*value)), 2);
        assert_eq!(seen, [2, 3]);
    }

    #[test]
    fn full_ring_hands_the_value_back_and_empty_ring_returns_none() {
        let (mut producer, mut consumer) = channel::<u32>(2).unwrap();
        assert_eq!(consumer.try_pop(), None);
        assert!(consumer.is_empty());
        producer.try_push(1).unwrap();
        producer.try_push(2).unwrap();
        assert_eq!(producer.try_push(3), Err(3));
        assert_eq!(producer.free_slots(), 0);
        assert_eq!(consumer.try_pop(), Some(1));
        assert_eq!(producer.free_slots(), 1);
        producer.try_push(3).unwrap();
        assert_eq!(consumer.try_pop(), Some(2));
        assert_eq!(consumer.try_pop(), Some(3));
        assert_eq!(consumer.try_pop(), None);
    }

    #[test]
    fn capacity_one_ring_alternates() {
        let (mut producer, mut consumer) = channel::<u8>(1).unwrap();
        for value in 0..10u8 {
            producer.try_push(value).unwrap();
            assert_eq!(producer.try_push(value), Err(value));
            assert_eq!(consumer.try_pop(), Some(value));
        }
    }

    #[test]
    fn claim_publishes_only_what_was_written() {
        let (mut producer, mut consumer) = channel::<u32>(8).unwrap();
        let mut claim = producer.claim(5);
        assert_eq!(claim.len(), 5);
        claim.write(10).unwrap();
        claim.write(11).unwrap();
        assert_eq!(claim.remaining(), 3);
        assert_eq!(claim.publish(), 2);
        let mut out = [0u32; 8];
        assert_eq!(consumer.pop_slice(&mut out), 2);
        assert_eq!(&out[..2], &[10, 11]);
        // A claim dropped without an explicit publish still publishes what it wrote, and
        // only that.
        {
            let mut dropped = producer.claim(3);
            dropped.write(98).unwrap();
            dropped.write(99).unwrap();
        }
        assert_eq!(consumer.pop_slice(&mut out), 2);
        assert_eq!(&out[..2], &[98, 99]);
        assert!(consumer.is_empty());
        // The claim is clipped to the free space and a full claim refuses further writes.
        assert_eq!(producer.push_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), 8);
        let mut full = producer.claim(1);
        assert!(full.is_empty());
        assert_eq!(full.write(0), Err(0));
        assert_eq!(full.publish(), 0);
    }

    #[test]
    fn stamps_compare_positions_modulo_2_to_the_56() {
        assert_eq!(run_length(stamp_for(5, 3), 5), 3);
        assert_eq!(run_length(stamp_for(5, 3), 6), 0);
        assert_eq!(run_length(0, 0), 0, "a never-written slot is not published");
        let late = STAMP_POSITION_MASK + 10; // past the first wrap of the stamp's position
        assert_eq!(run_length(stamp_for(late, 1), late), 1);
        assert_eq!(
            run_length(stamp_for(late - 4096, 1), late),
            0,
            "a lap-old stamp"
        );
    }

    #[test]
    fn a_run_is_read_across_pops_drains_and_wrap_around() {
        let (mut producer, mut consumer) = channel::<u64>(8).unwrap();
        for lap in 0..5u64 {
            assert_eq!(
                producer.push_slice(&[lap * 10, lap * 10 + 1, lap * 10 + 2]),
                3
            );
            producer.try_push(lap * 10 + 3).unwrap();
            assert_eq!(consumer.try_pop(), Some(lap * 10));
            let mut seen = Vec::new();
            assert_eq!(consumer.drain(1, |value| seen.push(*value)), 1);
            assert_eq!(consumer.drain(10, |value| seen.push(*value)), 2);
            assert_eq!(seen, [lap * 10 + 1, lap * 10 + 2, lap * 10 + 3]);
            assert!(consumer.is_empty());
        }
    }

    #[test]
    fn a_claim_is_capped_at_the_longest_run() {
        let (mut producer, _consumer) = channel::<u8>(1024).unwrap();
        assert_eq!(producer.claim(1000).len(), RUN_LENGTH_MAX);
    }

    #[test]
    fn drain_respects_its_limit_and_releases_slots() {
        let (mut producer, mut consumer) = channel::<u64>(4).unwrap();
        assert_eq!(producer.push_slice(&[1, 2, 3, 4]), 4);
        let mut seen = Vec::new();
        assert_eq!(consumer.drain(3, |value| seen.push(*value)), 3);
        assert_eq!(seen, [1, 2, 3]);
        assert_eq!(producer.free_slots(), 3);
        assert_eq!(consumer.drain(0, |_| unreachable!()), 0);
    }

    #[test]
    fn monitor_reports_depth_and_close_flags_are_seen() {
        let (mut producer, mut consumer) = channel::<u64>(8).unwrap();
        let monitor = producer.monitor();
        producer.push_slice(&[1, 2, 3]);
        assert_eq!(monitor.depth(), 3);
        consumer.try_pop();
        assert_eq!(monitor.depth(), 2);
        assert!(!consumer.is_producer_closed());
        drop(producer);
        assert!(consumer.is_producer_closed());
        assert_eq!(consumer.pop_spinning(0), Some(2));
        let (producer, consumer) = channel::<u64>(2).unwrap();
        drop(consumer);
        assert!(producer.is_consumer_closed());
    }
}
