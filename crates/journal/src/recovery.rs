//! Finding the end of a journal by validating every record, and telling a torn tail
//! (a record a crash interrupted: reported and cleared) from damage before the end
//! (an error that says where; nothing is ever skipped).

use std::fmt;
use std::path::PathBuf;

use crate::error::{JournalError, Position};
use crate::layout::{
    check_frame, frame_bytes, u16_at, u32_at, u64_at, SegmentHeader, ALIGN, END_OF_SEGMENT,
    HEADER_BYTES, MAGIC,
};

/// A record a crash interrupted at the end of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// Where it starts.
    pub at: Position,
    /// The sequence number of the last complete record before it.
    pub after_sequence: Option<u64>,
    /// Bytes it covered (cleared to zero when a writer opens the journal).
    pub bytes: u64,
    /// What was wrong with it.
    pub what: &'static str,
}

impl fmt::Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "torn record at {}", self.at)?;
        match self.after_sequence {
            Some(sequence) => write!(f, " after sequence {sequence}")?,
            None => write!(f, " before the first record")?,
        }
        write!(f, ": {} ({} bytes)", self.what, self.bytes)
    }
}

/// One segment as the scan found it.
#[derive(Debug, Clone)]
pub(crate) struct ScannedSegment {
    pub(crate) index: u64,
    pub(crate) path: PathBuf,
    /// The header, when one was written.
    pub(crate) header: Option<SegmentHeader>,
    /// Where its records end (the next record would go here).
    pub(crate) end: usize,
    /// Whether it ends with the end-of-segment marker.
    pub(crate) closed: bool,
    /// Records in it (the end marker not counted).
    pub(crate) records: u64,
    /// The file's length.
    pub(crate) file_length: usize,
}

/// What a scan of the whole journal found.
#[derive(Debug, Clone)]
pub struct Scan {
    pub(crate) segments: Vec<ScannedSegment>,
    /// The last record's sequence number.
    pub last_sequence: Option<u64>,
    /// The first record's sequence number.
    pub first_sequence: Option<u64>,
    /// Records in the journal.
    pub records: u64,
    /// A torn record at the end, if a crash left one.
    pub torn: Option<TornTail>,
}

/// Scans segments (already listed without gaps, and mapped) from first to last.
pub(crate) fn scan(
    segments: &[(u64, PathBuf, &[u8])],
    payload_max: usize,
) -> Result<Scan, JournalError> {
    let mut result = Scan {
        segments: Vec::with_capacity(segments.len()),
        last_sequence: None,
        first_sequence: None,
        records: 0,
        torn: None,
    };
    let mut ended = false;
    for (position, (index, path, bytes)) in segments.iter().enumerate() {
        let later = &segments[position + 1..];
        let at = |offset: usize| Position {
            segment: *index,
            offset: offset as u64,
        };
        let mut segment = ScannedSegment {
            index: *index,
            path: path.clone(),
            header: None,
            end: 0,
            closed: false,
            records: 0,
            file_length: bytes.len(),
        };
        let magic = if bytes.len() >= 8 {
            u64_at(bytes, 0)
        } else {
            0
        };
        if magic == 0 {
            // Never started: a segment prepared ahead, or the crash came before its
            // header. Only the journal's end may look like this.
            if let Some(offset) = first_non_zero(bytes, 0) {
                return Err(corrupt(
                    at(offset),
                    &result,
                    "data in a segment without a header",
                ));
            }
            ended = true;
            result.segments.push(segment);
            continue;
        }
        if ended {
            return Err(corrupt(
                at(0),
                &result,
                "segment follows the end of the journal (an earlier segment is unfinished)",
            ));
        }
        if bytes.len() < HEADER_BYTES || magic != MAGIC {
            return Err(corrupt(at(0), &result, "bad segment header magic"));
        }
        let header = SegmentHeader::decode(bytes)
            .map_err(|error| error.into_error(path, |what| corrupt(at(0), &result, what)))?;
        if header.index != *index {
            return Err(corrupt(
                at(0),
                &result,
                &format!(
                    "header says segment {}, file name says {index}",
                    header.index
                ),
            ));
        }
        if let Some(last) = result.last_sequence {
            if header.first_sequence <= last {
                return Err(corrupt(
                    at(0),
                    &result,
                    &format!(
                        "first sequence {} does not follow {last}",
                        header.first_sequence
                    ),
                ));
            }
        }
        let length = usize::try_from(header.length).unwrap_or(usize::MAX);
        if bytes.len() != length && !(bytes.len() < length && is_empty(later)) {
            return Err(corrupt(
                at(0),
                &result,
                &format!("file is {} bytes, header says {length}", bytes.len()),
            ));
        }
        segment.header = Some(header);
        let mut offset = HEADER_BYTES;
        loop {
            let committed = if offset + 4 <= bytes.len() {
                u32_at(bytes, offset)
            } else {
                0
            };
            if committed == 0 {
                // The end of this segment's records. A record in progress may have left
                // bytes in its slot; past that slot, and in every later segment, nothing.
                let declared = if offset + 28 <= bytes.len() {
                    u32_at(bytes, offset + 24)
                } else {
                    0
                };
                let slot = if declared > 0 && (declared as usize) <= payload_max {
                    frame_bytes(declared as usize)
                } else {
                    ALIGN
                };
                let slot_end = (offset + slot).min(bytes.len());
                if let Some(after) = first_non_zero(bytes, slot_end) {
                    return Err(corrupt(
                        at(after),
                        &result,
                        &format!(
                            "data after the end of the records (which end at offset {offset})"
                        ),
                    ));
                }
                ensure_empty(later, &result)?;
                if first_non_zero(&bytes[..slot_end], offset).is_some() || bytes.len() < length {
                    result.torn = Some(TornTail {
                        at: at(offset),
                        after_sequence: result.last_sequence,
                        bytes: (slot_end - offset) as u64,
                        what: if bytes.len() < length {
                            "segment file cut short"
                        } else {
                            "commit marker never written"
                        },
                    });
                }
                ended = true;
                break;
            }
            let checked = check_frame(&bytes[offset..], committed, payload_max);
            let length_ok = checked.is_ok() || checked == Err("record CRC mismatch");
            let problem = match checked {
                Err(_) if bytes.len() < length && offset + committed as usize > bytes.len() => {
                    Some("segment file cut short inside a record")
                }
                Err(what) => Some(what),
                Ok(_) => None,
            };
            let kind = u16_at(bytes, offset + 4);
            let sequence = u64_at(bytes, offset + 8);
            let problem = problem.or_else(|| {
                if kind == END_OF_SEGMENT {
                    return None;
                }
                match result.last_sequence {
                    Some(last) if sequence <= last => Some("record sequence does not increase"),
                    _ if segment.records == 0 && sequence != header.first_sequence => {
                        Some("first record's sequence differs from the segment header's")
                    }
                    _ => None,
                }
            });
            if let Some(what) = problem {
                let slot_end = if length_ok {
                    offset + committed as usize
                } else {
                    (offset + ALIGN).min(bytes.len())
                };
                let tail = first_non_zero(bytes, slot_end).is_none() && is_empty(later);
                if !tail {
                    return Err(corrupt(at(offset), &result, what));
                }
                result.torn = Some(TornTail {
                    at: at(offset),
                    after_sequence: result.last_sequence,
                    bytes: (slot_end - offset) as u64,
                    what,
                });
                ended = true;
                break;
            }
            offset += committed as usize;
            if kind == END_OF_SEGMENT {
                segment.closed = true;
                break;
            }
            result.first_sequence.get_or_insert(sequence);
            result.last_sequence = Some(sequence);
            result.records += 1;
            segment.records += 1;
        }
        segment.end = offset;
        result.segments.push(segment);
    }
    Ok(result)
}

fn corrupt(at: Position, scan: &Scan, what: &str) -> JournalError {
    JournalError::Corrupt {
        at,
        after_sequence: scan.last_sequence,
        what: what.to_owned(),
    }
}

/// Whether later segments hold nothing at all.
fn is_empty(later: &[(u64, PathBuf, &[u8])]) -> bool {
    later
        .iter()
        .all(|(_, _, bytes)| first_non_zero(bytes, 0).is_none())
}

fn ensure_empty(later: &[(u64, PathBuf, &[u8])], scan: &Scan) -> Result<(), JournalError> {
    for (index, _, bytes) in later {
        if let Some(offset) = first_non_zero(bytes, 0) {
            return Err(corrupt(
                Position {
                    segment: *index,
                    offset: offset as u64,
                },
                scan,
                "data after the end of the journal (an earlier segment ends without its end marker)",
            ));
        }
    }
    Ok(())
}

/// The offset of the first non-zero byte at or after `from`.
fn first_non_zero(bytes: &[u8], from: usize) -> Option<usize> {
    if from >= bytes.len() {
        return None;
    }
    let tail = &bytes[from..];
    let (head, words, rest) = {
        // SAFETY: u64 has no invalid bit patterns; align_to only reinterprets.
        unsafe { tail.align_to::<u64>() }
    };
    if let Some(i) = head.iter().position(|&b| b != 0) {
        return Some(from + i);
    }
    let base = from + head.len();
    if let Some(w) = words.iter().position(|&w| w != 0) {
        let at = base + w * 8;
        return bytes[at..at + 8]
            .iter()
            .position(|&b| b != 0)
            .map(|i| at + i);
    }
    let base = base + words.len() * 8;
    rest.iter().position(|&b| b != 0).map(|i| base + i)
}

#[cfg(test)]
mod tests {
    use super::first_non_zero;

    #[test]
    fn finds_the_first_non_zero_byte_at_any_alignment() {
        let mut bytes = vec![0u8; 300];
        assert_eq!(first_non_zero(&bytes, 0), None);
        bytes[201] = 5;
        for from in 0..=201 {
            assert_eq!(first_non_zero(&bytes, from), Some(201));
        }
        assert_eq!(first_non_zero(&bytes, 202), None);
        assert_eq!(first_non_zero(&bytes, 400), None);
    }
}
