//! Reading a journal, finished or live: replay tools, drop copies and audit feeds. A
//! reader needs no lock and never writes; it sees a record only once its commit marker
//! is published, so it never sees half of one, even in another process.

use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{JournalError, Position};
use crate::layout::{
    check_frame_shape, load_commit, load_magic, u32_at, u64_at, SegmentHeader, END_OF_SEGMENT,
    HEADER_BYTES, RECORD_HEADER_BYTES,
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

/// The most records [`Reader::next_run`] validates in one call.
pub const RUN_MAX: usize = 256;

/// Consecutive records of one segment, already validated ([`Reader::next_run`]).
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    bytes: &'a [u8],
    start: usize,
    segment: u64,
    records: usize,
}

impl<'a> Run<'a> {
    /// Records in the run.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records
    }

    /// Whether the run holds no record (never, as [`Reader::next_run`] returns them).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The run's records, in order.
    #[must_use]
    pub fn iter(&self) -> RunIter<'a> {
        RunIter {
            bytes: self.bytes,
            at: 0,
            start: self.start,
            segment: self.segment,
        }
    }
}

impl<'a> IntoIterator for &Run<'a> {
    type Item = Entry<'a>;
    type IntoIter = RunIter<'a>;

    fn into_iter(self) -> RunIter<'a> {
        self.iter()
    }
}

/// The records of a [`Run`]: frames already validated, read without checks.
#[derive(Debug, Clone)]
pub struct RunIter<'a> {
    bytes: &'a [u8],
    at: usize,
    start: usize,
    segment: u64,
}

impl<'a> Iterator for RunIter<'a> {
    type Item = Entry<'a>;

    #[inline]
    fn next(&mut self) -> Option<Entry<'a>> {
        let frame = self.bytes.get(self.at..)?;
        let header = RecordHeader::of(frame)?;
        let length = header.word(0) as usize;
        if length == 0 {
            return None;
        }
        let payload = header.word(24) as usize;
        let entry = Entry {
            kind: header.kind(),
            sequence: header.long(8),
            timestamp: header.long(16),
            payload: frame.get(RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + payload)?,
            position: Position {
                segment: self.segment,
                offset: (self.start + self.at) as u64,
            },
        };
        self.at += length;
        Some(entry)
    }
}

/// A record's 32-byte header, read by fixed offsets (no bounds checks past the first).
struct RecordHeader<'a>(&'a [u8; RECORD_HEADER_BYTES]);

impl<'a> RecordHeader<'a> {
    /// The header at the start of `frame`, if `frame` is that long.
    #[inline]
    fn of(frame: &'a [u8]) -> Option<RecordHeader<'a>> {
        frame
            .get(..RECORD_HEADER_BYTES)
            .and_then(|bytes| bytes.try_into().ok())
            .map(RecordHeader)
    }

    #[inline]
    fn word(&self, at: usize) -> u32 {
        let mut word = [0u8; 4];
        word.copy_from_slice(&self.0[at..at + 4]);
        u32::from_le_bytes(word)
    }

    #[inline]
    fn long(&self, at: usize) -> u64 {
        let mut long = [0u8; 8];
        long.copy_from_slice(&self.0[at..at + 8]);
        u64::from_le_bytes(long)
    }

    #[inline]
    fn kind(&self) -> u16 {
        u16::from_le_bytes([self.0[4], self.0[5]])
    }
}

/// How far ahead of the frame it checks [`scan_run`] prefetches.
const PREFETCH_BYTES: usize = 2048;

/// Why a scan of frames stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// It took as many records as asked.
    Full,
    /// The next frame is not committed yet: the end of the journal, for now.
    Uncommitted,
    /// The next frame is the end-of-segment marker.
    EndOfSegment,
    /// The next frame fails a check.
    Bad(&'static str),
}

/// What [`scan_run`] found.
struct Scanned {
    records: usize,
    end: usize,
    last_sequence: Option<u64>,
    stop: Stop,
}

/// Validates up to `records_max` frames from `start` in a segment mapping: each frame's
/// commit word, lengths and sequence number as it walks, and the CRCs of every four
/// frames together (interleaved chains, [`crate::crc::frames4`]). The run ends before
/// the first frame that fails.
fn scan_run(
    map: &[u8],
    start: usize,
    payload_max: usize,
    last_sequence: Option<u64>,
    records_max: usize,
) -> Scanned {
    // Frames walked whose CRCs are not checked yet: offset, payload length, and the
    // last sequence number before each.
    let mut pending = [(0usize, 0usize, None); 4];
    let mut waiting = 0;
    let mut scanned = Scanned {
        records: 0,
        end: start,
        last_sequence,
        stop: Stop::Full,
    };
    let mut at = start;
    let mut sequence_at = last_sequence;
    let stop = loop {
        if scanned.records + waiting == records_max {
            break Stop::Full;
        }
        let Some(frame) = map.get(at..).filter(|f| f.len() >= RECORD_HEADER_BYTES) else {
            break Stop::Bad("segment ends without its end marker");
        };
        // Frames are read in order: start loading the lines PREFETCH_BYTES ahead now,
        // so the misses of the walk (and of the TLB, a new page every 64 records)
        // overlap instead of each waiting for the last.
        if let Some(ahead) = frame.get(PREFETCH_BYTES) {
            crossline_hint::prefetch(ahead);
        }
        // SAFETY: `at` is inside the mapping and 64-byte aligned.
        let committed = unsafe { load_commit(map.as_ptr(), at) };
        if committed == 0 {
            break Stop::Uncommitted;
        }
        // Behind the acquire load above, the frame's bytes are complete and final.
        let payload = match check_frame_shape(frame, committed, payload_max) {
            Ok(payload) => payload,
            Err(what) => break Stop::Bad(what),
        };
        let Some(header) = RecordHeader::of(frame) else {
            break Stop::Bad("segment ends without its end marker");
        };
        if header.kind() == END_OF_SEGMENT {
            break Stop::EndOfSegment;
        }
        let sequence = header.long(8);
        if sequence_at.is_some_and(|last| sequence <= last) {
            break Stop::Bad("record sequence does not increase");
        }
        pending[waiting] = (at, payload, sequence_at);
        waiting += 1;
        sequence_at = Some(sequence);
        at += committed as usize;
        if waiting == 4 {
            if !check_crcs(map, &pending, 4, &mut scanned) {
                return scanned;
            }
            waiting = 0;
            scanned.end = at;
            scanned.last_sequence = sequence_at;
        }
    };
    if waiting > 0 {
        if !check_crcs(map, &pending, waiting, &mut scanned) {
            return scanned;
        }
        scanned.end = at;
        scanned.last_sequence = sequence_at;
    }
    scanned.stop = stop;
    scanned
}

/// Checks the CRCs of the first `count` (1..=4) `pending` frames, counting them into
/// `scanned`; at the first bad one, ends `scanned` before it and answers `false`.
#[inline]
fn check_crcs(
    map: &[u8],
    pending: &[(usize, usize, Option<u64>); 4],
    count: usize,
    scanned: &mut Scanned,
) -> bool {
    // Lanes past `count` repeat the first frame; their results are ignored.
    let lane = |index: usize| pending[if index < count { index } else { 0 }];
    let crcs = crate::crc::frames4(
        [0, 1, 2, 3].map(|index| &map[lane(index).0..]),
        [0, 1, 2, 3].map(|index| lane(index).1),
    );
    for (index, crc) in crcs.into_iter().take(count).enumerate() {
        let (at, _, before) = pending[index];
        if crc != u32_at(map, at + 28) {
            scanned.end = at;
            scanned.last_sequence = before;
            scanned.stop = Stop::Bad("record CRC mismatch");
            return false;
        }
        scanned.records += 1;
    }
    true
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
    /// never skips one); [`JournalError::Version`] for a segment of another format
    /// version; [`JournalError::Io`].
    #[allow(clippy::should_implement_trait)] // it lends from the mapping, unlike Iterator
    pub fn next(&mut self) -> Result<Option<Entry<'_>>, JournalError> {
        let Some(run) = self.next_run(1)? else {
            return Ok(None);
        };
        Ok(run.iter().next())
    }

    /// The next run of up to `records_max` committed records (at most [`RUN_MAX`], all
    /// in one segment), every one validated (length, CRC, increasing sequence number),
    /// or `Ok(None)` at the current end of the journal. Checking a run at a time lets
    /// the CRCs of four records proceed side by side, which is what makes replay run at
    /// memory speed; iterating the run then reads the validated frames without
    /// checking them again.
    ///
    /// # Errors
    /// As [`Reader::next`]: a damaged record ends the run before it, and the next call
    /// reports it.
    pub fn next_run(&mut self, records_max: usize) -> Result<Option<Run<'_>>, JournalError> {
        loop {
            if self.map.is_none() && !self.open_segment()? {
                return Ok(None);
            }
            let Some(map) = &self.map else {
                return Ok(None);
            };
            let start = self.offset;
            let scanned = scan_run(
                map,
                start,
                self.payload_max,
                self.last_sequence,
                records_max.clamp(1, RUN_MAX),
            );
            if scanned.records > 0 {
                self.offset = scanned.end;
                self.last_sequence = scanned.last_sequence;
                let Some(map) = &self.map else {
                    return Ok(None);
                };
                return Ok(Some(Run {
                    bytes: &map[start..scanned.end],
                    start,
                    segment: self.index,
                    records: scanned.records,
                }));
            }
            match scanned.stop {
                Stop::Full | Stop::Uncommitted => return Ok(None),
                Stop::EndOfSegment => {
                    self.map = None;
                    self.index += 1;
                    self.offset = 0;
                }
                Stop::Bad(what) => return Err(self.corrupt(start, what)),
            }
        }
    }

    /// Maps the current segment and checks its header; `Ok(false)` when it does not
    /// exist or has no header yet (the end of the journal).
    fn open_segment(&mut self) -> Result<bool, JournalError> {
        let path = segment_path(&self.dir, self.index);
        if !path.exists() {
            return Ok(false);
        }
        let map = map_read(&path)?;
        if map.len() < HEADER_BYTES {
            return Ok(false);
        }
        // SAFETY: the mapping is at least a header long and page aligned.
        if unsafe { load_magic(map.as_ptr()) } == 0 {
            return Ok(false);
        }
        let header = SegmentHeader::decode(&map)
            .map_err(|error| error.into_error(&path, |what| self.corrupt(0, what)))?;
        if header.index != self.index {
            return Err(self.corrupt(0, "header names a different segment"));
        }
        self.map = Some(map);
        self.offset = HEADER_BYTES;
        Ok(true)
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
