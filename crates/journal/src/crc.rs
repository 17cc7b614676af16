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

/// The CRC32C of each frame (its first 28 bytes, then its payload at 32): four frames
/// at a time in interleaved chains, so the `crc32` instruction's latency overlaps (one
/// chain waits three cycles per word; four keep the unit busy). `frames[i]` must be at
/// least `32 + payloads[i]` bytes.
#[inline]
pub(crate) fn frames4(frames: [&[u8]; 4], payloads: [usize; 4]) -> [u32; 4] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2, checked just above.
        return unsafe { frames4_sse42(frames, payloads) };
    }
    [0, 1, 2, 3].map(|lane| frame(frames[lane], payloads[lane]))
}

/// The CRC32C of one frame, as [`frames4`] computes each.
#[inline]
pub(crate) fn frame(frame: &[u8], payload: usize) -> u32 {
    append(of(&frame[0..28]), &frame[32..32 + payload])
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
fn frames4_sse42(frames: [&[u8]; 4], payloads: [usize; 4]) -> [u32; 4] {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64};
    let word = |bytes: &[u8], at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(word)
    };
    let mut state = [u64::from(u32::MAX); 4];
    for at in [0, 8, 16] {
        for lane in 0..4 {
            state[lane] = _mm_crc32_u64(state[lane], word(frames[lane], at));
        }
    }
    let mut narrow = [0u32; 4];
    for lane in 0..4 {
        let mut tail = [0u8; 4];
        tail.copy_from_slice(&frames[lane][24..28]);
        let lane_state = u32::try_from(state[lane]).unwrap_or(0);
        narrow[lane] = _mm_crc32_u32(lane_state, u32::from_le_bytes(tail));
    }
    let state = narrow.map(u64::from);
    // The payloads' whole words they all have, interleaved; then each lane's rest.
    let common = payloads.iter().min().copied().unwrap_or(0) / 8 * 8;
    let mut state = state;
    let mut at = 0;
    while at < common {
        for lane in 0..4 {
            state[lane] = _mm_crc32_u64(state[lane], word(frames[lane], 32 + at));
        }
        at += 8;
    }
    [0, 1, 2, 3].map(|lane| {
        let so_far = !u32::try_from(state[lane]).unwrap_or(0);
        if payloads[lane] == common {
            so_far
        } else {
            append_sse42(so_far, &frames[lane][32 + common..32 + payloads[lane]])
        }
    })
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
        // Four frames at a time, of equal and of different payload lengths.
        let frames: Vec<Vec<u8>> = (0..4u8)
            .map(|lane| {
                (0..300u32)
                    .map(|i| (i * 7 + u32::from(lane)).to_le_bytes()[0])
                    .collect()
            })
            .collect();
        for payloads in [
            [0, 0, 0, 0],
            [32, 32, 32, 32],
            [1, 9, 64, 200],
            [255, 3, 0, 17],
        ] {
            let lanes = [
                &frames[0][..],
                &frames[1][..],
                &frames[2][..],
                &frames[3][..],
            ];
            let crcs = super::frames4(lanes, payloads);
            for lane in 0..4 {
                let mut data = frames[lane][..28].to_vec();
                data.extend_from_slice(&frames[lane][32..32 + payloads[lane]]);
                assert_eq!(
                    crcs[lane],
                    crc32c::crc32c(&data),
                    "{payloads:?} lane {lane}"
                );
                assert_eq!(super::frame(lanes[lane], payloads[lane]), crcs[lane]);
            }
        }
        // The standard check value.
        assert_eq!(super::of(b"123456789"), 0xE306_9283);
    }
}
