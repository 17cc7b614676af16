//! CRC32C (Castagnoli), with the SSE4.2 `crc32` instruction where the CPU has it: a
//! record's 60-odd bytes take a handful of instructions instead of a table walk.

/// Extends `crc` (a finished CRC32C, zero to start) over `data`.
#[inline]
pub(crate) fn append(crc: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2, checked just above.
        return unsafe { append_sse42(crc, data) };
    }
    crc32c::crc32c_append(crc, data)
}

/// The CRC32C of `data`.
#[inline]
pub(crate) fn of(data: &[u8]) -> u32 {
    append(0, data)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn append_sse42(crc: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut state = u64::from(!crc);
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        state = _mm_crc32_u64(state, u64::from_le_bytes(bytes));
    }
    let mut state = u32::try_from(state).unwrap_or(0);
    for &byte in words.remainder() {
        state = _mm_crc32_u8(state, byte);
    }
    !state
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_reference_implementation_at_every_length_and_start() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 31 + 7).to_le_bytes()[0]).collect();
        for start in 0..9 {
            for end in start..data.len() {
                let slice = &data[start..end];
                assert_eq!(super::of(slice), crc32c::crc32c(slice));
                assert_eq!(
                    super::append(0x1234_5678, slice),
                    crc32c::crc32c_append(0x1234_5678, slice)
                );
            }
        }
        // The standard check value.
        assert_eq!(super::of(b"123456789"), 0xE306_9283);
    }
}
