//! The byte layout of segment files and records (tabled in `docs/JOURNAL.md`). All
//! integers are little-endian.
//!
//! A segment file starts with a 64-byte header; records follow, each starting on a
//! 64-byte boundary:
//!
//! ```text
//! header   0  8  magic "CRSLJRNL" (written last, with release ordering)
//!          8  4  format version
//!         12  4  header length (64)
//!         16  8  segment index (0, 1, 2, … without gaps)
//!         24  8  sequence number of the segment's first record
//!         32  8  segment length in bytes
//!         40  4  CRC32C of bytes 8..40
//!         44 20  zero
//! record   0  4  frame length (a multiple of 64): the commit marker, written last with
//!                release ordering
//!          4  2  kind (END_OF_SEGMENT = 0xFFFF)
//!          6  2  zero
//!          8  8  sequence number
//!         16  8  timestamp (nanoseconds)
//!         24  4  payload length, written first (it bounds a torn record)
//!         28  4  CRC32C of bytes 0..28 and the payload
//!         32  …  payload, then zero padding to the next 64-byte boundary
//! ```

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The file magic, `CRSLJRNL` as little-endian bytes.
pub const MAGIC: u64 = u64::from_le_bytes(*b"CRSLJRNL");
/// The format version this build writes and reads: of the segment and record layout
/// here and of the payloads the engine stores in them (`docs/JOURNAL.md`). Version 1
/// held `bincode` payloads; version 2 holds the fixed-layout messages; version 3 counts
/// in `events_applied` only the events the gate follows (and snapshot markers); version 4
/// adds the venue and its fee to each venue fill and a record of each routed child's end;
/// version 5 adds admin setting 15 (a client's price-improvement multiplier), which the
/// gate's and the matcher's snapshot state carry.
pub const VERSION: u32 = 5;
/// Bytes of the segment header; the first record starts here.
pub const HEADER_BYTES: usize = 64;
const HEADER_BYTES_U32: u32 = 64;
/// Records start on multiples of this.
pub const ALIGN: usize = 64;
/// Bytes of a record header; the payload starts here.
pub const RECORD_HEADER_BYTES: usize = 32;
/// The kind of the marker that ends a segment; the next record is in the next segment.
pub const END_OF_SEGMENT: u16 = u16::MAX;

/// Bytes a record with `payload` bytes occupies: header and payload rounded up to 64.
#[must_use]
pub const fn frame_bytes(payload: usize) -> usize {
    (RECORD_HEADER_BYTES + payload).div_ceil(ALIGN) * ALIGN
}

/// A record's 32-byte header, built in a register-sized buffer before it is copied in.
pub(crate) fn record_header(kind: u16, sequence: u64, timestamp: u64, payload: &[u8]) -> [u8; 32] {
    let mut header = [0u8; RECORD_HEADER_BYTES];
    let frame = u32::try_from(frame_bytes(payload.len())).unwrap_or(u32::MAX);
    let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    header[0..4].copy_from_slice(&frame.to_le_bytes());
    header[4..6].copy_from_slice(&kind.to_le_bytes());
    header[8..16].copy_from_slice(&sequence.to_le_bytes());
    header[16..24].copy_from_slice(&timestamp.to_le_bytes());
    header[24..28].copy_from_slice(&length.to_le_bytes());
    let crc = crate::crc::append(crate::crc::of(&header[0..28]), payload);
    header[28..32].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Checks the committed frame at the start of `frame` (its first word already read as
/// `committed`): returns the payload length, or what is wrong.
pub(crate) fn check_frame(
    frame: &[u8],
    committed: u32,
    payload_max: usize,
) -> Result<usize, &'static str> {
    let payload = check_frame_shape(frame, committed, payload_max)?;
    if crate::crc::frame(frame, payload) != u32_at(frame, 28) {
        return Err("record CRC mismatch");
    }
    Ok(payload)
}

/// [`check_frame`] less the CRC: the frame and payload lengths agree and fit.
#[inline]
pub(crate) fn check_frame_shape(
    frame: &[u8],
    committed: u32,
    payload_max: usize,
) -> Result<usize, &'static str> {
    let committed = committed as usize;
    if committed % ALIGN != 0 || committed > frame_bytes(payload_max) || committed > frame.len() {
        return Err("record length out of range");
    }
    let payload = u32_at(frame, 24) as usize;
    if payload > payload_max || frame_bytes(payload) != committed {
        return Err("record length out of range");
    }
    Ok(payload)
}

/// Why a segment header does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderError {
    /// It is damaged.
    Damaged(&'static str),
    /// It is of another format version than [`VERSION`].
    Version(u32),
}

impl HeaderError {
    /// The journal error for segment `path`: a [`crate::JournalError::Version`], or
    /// what `damaged` makes of the damage.
    pub(crate) fn into_error(
        self,
        path: &std::path::Path,
        damaged: impl FnOnce(&'static str) -> crate::JournalError,
    ) -> crate::JournalError {
        match self {
            HeaderError::Damaged(what) => damaged(what),
            HeaderError::Version(found) => crate::JournalError::Version {
                path: path.to_path_buf(),
                found,
                reads: VERSION,
            },
        }
    }
}

/// A segment header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub(crate) index: u64,
    pub(crate) first_sequence: u64,
    pub(crate) length: u64,
}

impl SegmentHeader {
    /// Bytes 8..64 of the header (the magic goes in last, separately).
    pub(crate) fn encode(&self) -> [u8; HEADER_BYTES] {
        let mut bytes = [0u8; HEADER_BYTES];
        bytes[8..12].copy_from_slice(&VERSION.to_le_bytes());
        bytes[12..16].copy_from_slice(&HEADER_BYTES_U32.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.index.to_le_bytes());
        bytes[24..32].copy_from_slice(&self.first_sequence.to_le_bytes());
        bytes[32..40].copy_from_slice(&self.length.to_le_bytes());
        let crc = header_crc(&bytes);
        bytes[40..44].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Decodes a header whose magic is present; `Err` says what is wrong. The CRC is
    /// checked before the version, so a damaged version field reads as damage, not as
    /// another version: every format version keeps the header's first 44 bytes (magic,
    /// version, header length, index, first sequence, length, and the CRC of bytes
    /// 8..40) as laid out here ([`header_crc`]).
    pub(crate) fn decode(bytes: &[u8]) -> Result<SegmentHeader, HeaderError> {
        if u64_at(bytes, 0) != MAGIC {
            return Err(HeaderError::Damaged("bad magic"));
        }
        if header_crc(bytes) != u32_at(bytes, 40) {
            return Err(HeaderError::Damaged("header CRC mismatch"));
        }
        let version = u32_at(bytes, 8);
        if version != VERSION {
            return Err(HeaderError::Version(version));
        }
        if u32_at(bytes, 12) as usize != HEADER_BYTES {
            return Err(HeaderError::Damaged("unexpected header length"));
        }
        Ok(SegmentHeader {
            index: u64_at(bytes, 16),
            first_sequence: u64_at(bytes, 24),
            length: u64_at(bytes, 32),
        })
    }
}

/// The CRC a segment header keeps at bytes 40..44: CRC-32C of its bytes 8..40 (`bytes`
/// is the header, at least 40 bytes). Public for tools that write a header by hand.
#[must_use]
pub fn header_crc(bytes: &[u8]) -> u32 {
    crate::crc::of(&bytes[8..40])
}

/// The little-endian `u32` at `at`; bytes past the end of `bytes` read as zero (a file
/// cut short reads as if its missing bytes were never written).
#[inline]
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(read_at(bytes, at))
}

/// The little-endian `u16` at `at`, zero past the end as [`u32_at`].
#[inline]
pub(crate) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(read_at(bytes, at))
}

/// The little-endian `u64` at `at`, zero past the end as [`u32_at`].
#[inline]
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(read_at(bytes, at))
}

/// `N` bytes at `at`: a fixed-size copy when they are all there (the hot path), else
/// the part that is, zero-filled.
#[inline]
fn read_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut word = [0u8; N];
    match bytes.get(at..).and_then(|rest| rest.get(..N)) {
        Some(whole) => word.copy_from_slice(whole),
        None => copy_clipped(bytes, at, &mut word),
    }
    word
}

#[cold]
fn copy_clipped(bytes: &[u8], at: usize, word: &mut [u8]) {
    if let Some(source) = bytes.get(at..at + word.len()) {
        word.copy_from_slice(source);
    } else if let Some(source) = bytes.get(at..) {
        word[..source.len()].copy_from_slice(source);
    }
}

/// Reads the commit word at `at` in a mapping with acquire ordering: once it is non-zero,
/// every byte the writer wrote before it is visible.
///
/// # Safety
/// `base + at` must be inside a live mapping and 4-byte aligned.
pub(crate) unsafe fn load_commit(base: *const u8, at: usize) -> u32 {
    // SAFETY: the caller guarantees the address is mapped and aligned; the writer only
    // ever touches this word atomically.
    let word = unsafe { AtomicU32::from_ptr(base.wrapping_add(at).cast_mut().cast::<u32>()) };
    u32::from_le(word.load(Ordering::Acquire))
}

/// Publishes a record: stores its frame length at `at` with release ordering.
///
/// # Safety
/// `base + at` must be inside a live writable mapping and 4-byte aligned.
pub(crate) unsafe fn store_commit(base: *mut u8, at: usize, frame: u32) {
    // SAFETY: the caller guarantees the address is mapped, writable and aligned.
    let word = unsafe { AtomicU32::from_ptr(base.wrapping_add(at).cast::<u32>()) };
    word.store(frame.to_le(), Ordering::Release);
}

/// Reads a header's magic with acquire ordering.
///
/// # Safety
/// `base` must be the start of a live mapping of at least 8 bytes (mappings are page
/// aligned).
pub(crate) unsafe fn load_magic(base: *const u8) -> u64 {
    // SAFETY: as the caller guarantees.
    let word = unsafe { AtomicU64::from_ptr(base.cast_mut().cast::<u64>()) };
    u64::from_le(word.load(Ordering::Acquire))
}

/// Publishes a header: stores the magic with release ordering.
///
/// # Safety
/// `base` must be the start of a live writable mapping.
pub(crate) unsafe fn store_magic(base: *mut u8) {
    // SAFETY: as the caller guarantees.
    let word = unsafe { AtomicU64::from_ptr(base.cast::<u64>()) };
    word.store(MAGIC.to_le(), Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_up_to_cache_lines() {
        assert_eq!(frame_bytes(0), 64);
        assert_eq!(frame_bytes(32), 64);
        assert_eq!(frame_bytes(33), 128);
        assert_eq!(frame_bytes(96), 128);
    }

    #[test]
    fn header_round_trips_and_detects_damage() {
        let header = SegmentHeader {
            index: 7,
            first_sequence: 1234,
            length: 1 << 20,
        };
        let mut bytes = header.encode();
        bytes[0..8].copy_from_slice(&MAGIC.to_le_bytes());
        assert_eq!(SegmentHeader::decode(&bytes), Ok(header));
        bytes[20] ^= 1;
        assert_eq!(
            SegmentHeader::decode(&bytes),
            Err(HeaderError::Damaged("header CRC mismatch"))
        );
        bytes[20] ^= 1;
        // A damaged version field is damage; a sealed header of another version is
        // that version.
        bytes[8] ^= 1;
        assert_eq!(
            SegmentHeader::decode(&bytes),
            Err(HeaderError::Damaged("header CRC mismatch"))
        );
        let crc = header_crc(&bytes);
        bytes[40..44].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            SegmentHeader::decode(&bytes),
            Err(HeaderError::Version(VERSION ^ 1))
        );
    }
}
