//! CPU hints for Crossline's hot paths.
//!
//! [`prefetch`] asks the CPU to start loading the cache line holding a value the caller
//! will read soon, without waiting for it. An agent that processes inputs in a batch can
//! prefetch what input `i + d` needs while it works on input `i`, so that several memory
//! misses overlap instead of queueing one after another. A hint never changes what a
//! program computes, only when memory arrives; on targets without a prefetch instruction
//! it does nothing.
//!
//! ```
//! let table = vec![0u64; 1 << 16];
//! crossline_hint::prefetch(&table[40_000]);
//! assert_eq!(table[40_000], 0);
//! ```
//!
//! The crate holds one `unsafe` block: the intrinsic is `unsafe` only because it is a
//! target-feature function, and SSE, which it needs, is part of every x86-64 CPU.

/// Starts loading the cache line that holds `value` into every cache level.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let address = core::ptr::from_ref(value).cast::<i8>();
        // SAFETY: SSE is in the x86-64 baseline, so the target feature the intrinsic
        // requires is always present; a prefetch never faults and never writes, and
        // `address` comes from a live reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(address) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
