//! Reading a journal, finished or live: replay tools, drop copies and audit feeds. A
//! reader needs no lock and never writes; it sees a record only once its commit marker
//! is published, so it never sees half of one, even in another process.

use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{JournalError, Position};
use crate::layout::{
    check_frame_shape, load_commit, load_magic, u16_at, u32_at, u64_at, SegmentHeader,
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
        let length = u32_at(frame, 0) as usize;
        let payload = u32_at(frame, 24) as usize;
        if length == 0 {
            return None;
        }
        let entry = Entry {
            kind: u16_at(frame, 4),
            sequence: u64_at(frame, 8),
            timestamp: u64_at(frame, 16),
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

/// Validates up to `records_max` (≤ [`RUN_MAX`]) frames from `start` in a segment
/// mapping: first each frame's commit word, lengths and sequence number, one after the
/// other; then their CRCs four at a time. The run ends before the first frame that
/// fails.
fn scan_run(
    map: &[u8],
    start: usize,
    payload_max: usize,
    mut last_sequence: Option<u64>,
    records_max: usize,
) -> Scanned {
    let mut frames = [(0usize, 0usize); RUN_MAX];
    let mut sequences = [None; RUN_MAX];
    let mut count = 0;
    let mut at = start;
    let mut stop = Stop::Full;
    while count < records_max {
        if at + RECORD_HEADER_BYTES > map.len() {
            stop = Stop::Bad("segment ends without its end marker");
            break;
        }
        // SAFETY: `at` is inside the mapping and 64-byte aligned.
        let committed = unsafe { load_commit(map.as_ptr(), at) };
        if committed == 0 {
            stop = Stop::Uncommitted;
            break;
        }
        // Behind the acquire load above, the frame's bytes are complete and final.
        let payload = match check_frame_shape(&map[at..], committed, payload_max) {
            Ok(payload) => payload,
            Err(what) => {
                stop = Stop::Bad(what);
                break;
            }
        };
        if u16_at(map, at + 4) == END_OF_SEGMENT {
            stop = Stop::EndOfSegment;
            break;
        }
        let sequence = u64_at(map, at + 8);
        if last_sequence.is_some_and(|last| sequence <= last) {
            stop = Stop::Bad("record sequence does not increase");
            break;
        }
        sequences[count] = last_sequence;
        last_sequence = Some(sequence);
        frames[count] = (at, payload);
        count += 1;
        at += committed as usize;
    }
    // The CRCs, four frames at a time (the last group padded with the first frame).
    let mut good = count;
    let mut group = 0;
    'check: while group < count {
        let lanes: [usize; 4] = [0, 1, 2, 3].map(|lane| {
            if group + lane < count {
                group + lane
            } else {
                group
            }
        });
        let crcs = crate::crc::frames4(
            lanes.map(|index| &map[frames[index].0..]),
            lanes.map(|index| frames[index].1),
        );
        for (lane, crc) in crcs.into_iter().enumerate() {
            let index = group + lane;
            if index < count && crc != u32_at(map, frames[index].0 + 28) {
                good = index;
                break 'check;
            }
        }
        group += 4;
    }
    if good < count {
        return Scanned {
            records: good,
            end: frames[good].0,
            last_sequence: sequences[good],
            stop: Stop::Bad("record CRC mismatch"),
        };
    }
    Scanned {
        records: count,
        end: at,
        last_sequence,
        stop,
    }
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
