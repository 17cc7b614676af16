//! Test support shared by Crossline's crates.
//!
//! [`CountingAllocator`] wraps the system allocator and counts allocations while
//! counting is switched on, so a test can prove that a hot path never touches the heap
//! after start-up (TigerBeetle's "allocate at start-up, not on the hot path", made to
//! fail loudly). Install it in a test binary and wrap the code under test in
//! [`count_allocations`]:
//!
//! ```
//! use crossline_testkit::{count_allocations, CountingAllocator};
//!
//! #[global_allocator]
//! static ALLOCATOR: CountingAllocator = CountingAllocator;
//!
//! let mut buffer = Vec::with_capacity(16);
//! assert_eq!(count_allocations(|| buffer.extend_from_slice(&[1u8; 16])), 0);
//! assert_eq!(count_allocations(|| buffer.push(1)), 1, "growing past the capacity allocates");
//! ```
//!
//! [`Xorshift`] is the deterministic stream of pseudo-random words that workload
//! generators (tests and benchmarks) draw from, so a failing run can be repeated exactly.
//!
//! Its `unsafe` code (`docs/ARCHITECTURE.md` lists every crate that has some) is the
//! `GlobalAlloc` implementation, which only forwards to the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// A global allocator that forwards to [`System`] and counts allocations and
/// reallocations made by a thread while it runs [`count_allocations`].
pub struct CountingAllocator;

thread_local! {
    /// Whether this thread is inside [`count_allocations`]. Const-initialised and without
    /// a destructor, so reading it never allocates.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; counting touches only atomics and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract for `layout`, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: `pointer` came from `System` with this layout (we allocate nothing else).
        unsafe { System.dealloc(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on unchanged.
        unsafe { System.realloc(pointer, layout, size) }
    }
}

fn count() {
    // `try_with`: a thread being torn down may still free and allocate.
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs `work` and returns how many heap allocations (and reallocations) it made on this
/// thread. Only meaningful with [`CountingAllocator`] installed as the global allocator.
/// Other threads (the test harness's, a loaded machine's timers) are not counted: they
/// once failed a no-allocation test on a busy CI machine with allocations of their own.
pub fn count_allocations(work: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|counting| counting.set(true));
    work();
    COUNTING.with(|counting| counting.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// Marsaglia's xorshift64: a deterministic stream of pseudo-random 64-bit words, cheap
/// enough to draw inside a measured loop. Not for anything that needs unpredictability.
#[derive(Debug, Clone)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A stream starting from `seed` (zero would stay zero, so it is replaced).
    #[must_use]
    pub const fn new(seed: u64) -> Xorshift {
        Xorshift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next word.
    #[allow(clippy::should_implement_trait)] // an endless stream, not an `Iterator`
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
