//! Reading a journal, finished or live: replay tools, drop copies and audit feeds. A
//! reader needs no lock and never writes; it sees a record only once its commit marker
//! is published, so it never sees half of one, even in another process.

use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{JournalError, Position};
use crate::layout::{
    check_frame, frame_bytes, load_commit, load_magic, u16_at, u64_at, SegmentHeader,
    END_OF_SEGMENT, HEADER_BYTES, RECORD_HEADER_BYTES,
};
use crate::segment::{map_read, segment_path};

/// One record read from the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its kind (what the payload holds; the journal's user defines kinds).
    pub kind: u16,
    /// Its sequence number.
    pub sequence: u64,
    /// Its timestamp, nanoseconds.
    pub timestamp: u64,
    /// The payload.
    pub payload: &'a [u8],
    /// Where it is.
    pub position: Position,
}

/// A sequential reader. [`Reader::next`] returns `Ok(None)` at the current end; call it
/// again later to tail a live journal.
pub struct Reader {
    dir: PathBuf,
    payload_max: usize,
    map: Option<Mmap>,
    index: u64,
    offset: usize,
    last_sequence: Option<u64>,
}

impl Reader {
    /// A reader at the start of the journal in `dir` (its lowest-numbered segment).
    /// `payload_max` must be at least the writer's.
    ///
    /// # Errors
    /// [`JournalError::Io`] when the directory cannot be read, and the listing errors of
    /// [`JournalError::MissingSegment`] and [`JournalError::BadFileName`].
    pub fn open(dir: &Path, payload_max: usize) -> Result<Reader, JournalError> {
        let first = crate::segment::list(dir)?
            .first()
            .map_or(0, |(index, _)| *index);
        Ok(Reader {
            dir: dir.to_owned(),
            payload_max,
            map: None,
            index: first,
            offset: 0,
            last_sequence: None,
        })
    }

    /// Moves to the first record whose sequence number is at least `sequence`: finds its
    /// segment from the segment headers, then reads forward.
    ///
    /// # Errors
    /// As [`Reader::next`].
    pub fn seek(&mut self, sequence: u64) -> Result<(), JournalError> {
        for (index, path) in crate::segment::list(&self.dir)? {
            // Only the header is needed: read it, rather than map (and populate) the file.
            let mut header = [0u8; HEADER_BYTES];
            let read = std::fs::File::open(&path)
                .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut header));
            if read.is_err() || u64_at(&header, 0) == 0 {
                break;
            }
            match SegmentHeader::decode(&header) {
                Ok(header) if header.first_sequence <= sequence => self.index = index,
                _ => break,
            }
        }
        self.map = None;
        self.offset = 0;
        self.last_sequence = None;
        loop {
            let saved = (self.index, self.offset, self.last_sequence);
            match self.next()?.map(|entry| entry.sequence) {
                Some(found) if found < sequence => {}
                Some(_) => {
                    if self.index != saved.0 || saved.1 == 0 {
                        self.map = None;
                    }
                    (self.index, self.offset, self.last_sequence) = saved;
                    return Ok(());
                }
                None => return Ok(()),
            }
        }
    }

    /// Where the next record will be read from.
    #[must_use]
    pub fn position(&self) -> Position {
        Position {
            segment: self.index,
            offset: self.offset.max(HEADER_BYTES) as u64,
        }
    }

    /// The next committed record, or `Ok(None)` at the current end of the journal.
    ///
    /// # Errors
    /// [`JournalError::Corrupt`] for a committed record that fails its checks (a reader
    /// never skips one); [`JournalError::Io`].
    #[allow(clippy::should_implement_trait)] // it lends from the mapping, unlike Iterator
    pub fn next(&mut self) -> Result<Option<Entry<'_>>, JournalError> {
        loop {
            if self.map.is_none() {
                let path = segment_path(&self.dir, self.index);
                if !path.exists() {
                    return Ok(None);
                }
                let map = map_read(&path)?;
                if map.len() < HEADER_BYTES {
                    return Ok(None);
                }
                // SAFETY: the mapping is at least a header long and page aligned.
                if unsafe { load_magic(map.as_ptr()) } == 0 {
                    return Ok(None);
                }
                let header = SegmentHeader::decode(&map).map_err(|what| self.corrupt(0, what))?;
                if header.index != self.index {
                    return Err(self.corrupt(0, "header names a different segment"));
                }
                self.map = Some(map);
                self.offset = HEADER_BYTES;
            }
            let (at, length, kind) = {
                let Some(map) = &self.map else {
                    return Ok(None);
                };
                let at = self.offset;
                if at + RECORD_HEADER_BYTES > map.len() {
                    return Err(self.corrupt(at, "segment ends without its end marker"));
                }
                // SAFETY: `at` is inside the mapping and 64-byte aligned.
                let committed = unsafe { load_commit(map.as_ptr(), at) };
                if committed == 0 {
                    return Ok(None);
                }
                // Behind the acquire load above, the frame's bytes are complete and final.
                let length = check_frame(&map[at..], committed, self.payload_max)
                    .map_err(|what| self.corrupt(at, what))?;
                (at, length, u16_at(map, at + 4))
            };
            if kind == END_OF_SEGMENT {
                self.map = None;
                self.index += 1;
                self.offset = 0;
                continue;
            }
            let Some(map) = &self.map else {
                return Ok(None);
            };
            let frame = &map[at..at + frame_bytes(length)];
            let sequence = u64_at(frame, 8);
            if self.last_sequence.is_some_and(|last| sequence <= last) {
                return Err(self.corrupt(at, "record sequence does not increase"));
            }
            self.last_sequence = Some(sequence);
            self.offset = at + frame.len();
            return Ok(Some(Entry {
                kind,
                sequence,
                timestamp: u64_at(frame, 16),
                payload: &frame[RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + length],
                position: Position {
                    segment: self.index,
                    offset: at as u64,
                },
            }));
        }
    }

    fn corrupt(&self, offset: usize, what: &str) -> JournalError {
        JournalError::Corrupt {
            at: Position {
                segment: self.index,
                offset: offset as u64,
            },
            after_sequence: self.last_sequence,
            what: what.to_owned(),
        }
    }
}
