//! The journal's single writer: opens (recovering the end), appends, rolls segments and
//! hands durability to a flusher thread when the policy asks for it.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use memmap2::MmapRaw;

use crate::error::{JournalError, Position};
use crate::layout::{
    frame_bytes, record_header, store_commit, store_magic, SegmentHeader, ALIGN, END_OF_SEGMENT,
    HEADER_BYTES,
};
use crate::recovery::{scan, Scan, TornTail};
use crate::segment::{self, Segment};

/// When appended records reach the disk itself, beyond the page cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// A record is safe once appended: it is in the kernel's page cache, which outlives
    /// the process (a crash or `kill -9` loses nothing). Power loss can lose what the
    /// kernel had not yet written back. The default.
    #[default]
    Process,
    /// A flusher thread `msync`s what was appended whenever the writer ends a batch
    /// ([`Writer::end_batch`]); [`Writer::durable`] says how far the disk has it.
    SyncPerBatch,
    /// A flusher thread `msync`s what was appended at this interval.
    SyncInterval(Duration),
}

/// How a journal is laid out and kept.
#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// The directory (created if missing).
    pub dir: PathBuf,
    /// Bytes per segment file (a multiple of 4096, at least 64 KiB). Default 64 MiB.
    pub segment_bytes: u64,
    /// Largest record payload, bytes. Default 4,096.
    pub payload_max: usize,
    /// When records reach the disk.
    pub durability: Durability,
    /// Whether segments are pre-faulted (default on): appends then never take a page
    /// fault. Off saves memory for tools that write a few records.
    pub prefault: bool,
}

impl JournalConfig {
    /// The defaults for a journal in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> JournalConfig {
        JournalConfig {
            dir: dir.into(),
            segment_bytes: 64 << 20,
            payload_max: 4096,
            durability: Durability::Process,
            prefault: true,
        }
    }

    fn validate(&self) -> Result<(), JournalError> {
        if self.segment_bytes % 4096 != 0 || self.segment_bytes < 64 << 10 {
            return Err(JournalError::Config(format!(
                "segment_bytes {} must be a multiple of 4096 and at least 65536",
                self.segment_bytes
            )));
        }
        if self.segment_bytes >= 1 << 40 {
            return Err(JournalError::Config(format!(
                "segment_bytes {} must be under 1 TiB",
                self.segment_bytes
            )));
        }
        let room = HEADER_BYTES + frame_bytes(self.payload_max) + ALIGN;
        if self.payload_max == 0 || room as u64 > self.segment_bytes {
            return Err(JournalError::Config(format!(
                "payload_max {} must be positive and leave a record, the header and the end \
                 marker room in a {}-byte segment",
                self.payload_max, self.segment_bytes
            )));
        }
        if let Durability::SyncInterval(interval) = self.durability {
            if interval.is_zero() {
                return Err(JournalError::Config(
                    "sync interval must be positive".to_owned(),
                ));
            }
        }
        Ok(())
    }
}

/// What opening the journal found.
#[derive(Debug, Clone)]
pub struct Opened {
    /// Records already in the journal.
    pub records: u64,
    /// The first record's sequence number.
    pub first_sequence: Option<u64>,
    /// The last record's sequence number.
    pub last_sequence: Option<u64>,
    /// A torn record a crash left at the end, which was cleared.
    pub torn: Option<TornTail>,
    /// Where appending continues.
    pub end: Position,
}

/// Counters a writer keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Records appended since open.
    pub appends: u64,
    /// Segments rolled over.
    pub rolls: u64,
    /// Rolls that had to wait for the next segment to be prepared.
    pub roll_waits: u64,
}

/// The mode of a journal directory the writer creates: the owner's, the group may list
/// it, nobody else has access (see [`crate::FILE_MODE`]).
pub const DIR_MODE: u32 = 0o750;

/// The journal's writer. One per journal: the directory's lock file keeps a second one
/// (in this process or another) out.
pub struct Writer {
    config: JournalConfig,
    _lock: std::fs::File,
    segment: Segment,
    /// Next record's offset; zero until the segment's header is written.
    offset: usize,
    last_sequence: Option<u64>,
    prepared: Receiver<Result<Segment, JournalError>>,
    requests: Option<Sender<u64>>,
    preparer: Option<JoinHandle<()>>,
    flusher: Option<Flusher>,
    stats: WriterStats,
}

impl Writer {
    /// Opens (or creates) the journal in `config.dir` for appending: takes the lock,
    /// validates every record to find the end, clears a torn tail, and prepares the next
    /// segment in the background.
    ///
    /// # Errors
    /// [`JournalError::Locked`] when another writer has it open; [`JournalError::Corrupt`]
    /// or [`JournalError::MissingSegment`] for damage before the end (nothing is
    /// changed); [`JournalError::Io`] and [`JournalError::Config`].
    pub fn open(config: JournalConfig) -> Result<(Writer, Opened), JournalError> {
        config.validate()?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(&config.dir)
            .map_err(|e| JournalError::io(&config.dir, e))?;
        let lock = segment::lock(&config.dir)?;
        let found = scan_dir(&config.dir, config.payload_max)?;
        let (segment, offset) = Writer::resume(&config, &found)?;
        let (requests, wanted) = mpsc::channel::<u64>();
        let (ready, prepared) = mpsc::channel();
        let dir = config.dir.clone();
        let (length, prefault) = (config.segment_bytes, config.prefault);
        let preparer = std::thread::Builder::new()
            .name("journal-prepare".to_owned())
            .spawn(move || {
                for index in wanted {
                    if ready
                        .send(Segment::create(&dir, index, length, prefault))
                        .is_err()
                    {
                        break;
                    }
                }
            })
            .map_err(|e| JournalError::io(&config.dir, e))?;
        let _ = requests.send(segment.index + 1);
        let flusher = match config.durability {
            Durability::Process => None,
            policy => Some(Flusher::start(
                policy,
                &segment,
                offset,
                found.last_sequence.unwrap_or(0),
                &config.dir,
            )?),
        };
        let opened = Opened {
            records: found.records,
            first_sequence: found.first_sequence,
            last_sequence: found.last_sequence,
            torn: found.torn.clone(),
            end: Position {
                segment: segment.index,
                offset: offset.max(HEADER_BYTES) as u64,
            },
        };
        let writer = Writer {
            last_sequence: found.last_sequence,
            config,
            _lock: lock,
            segment,
            offset,
            prepared,
            requests: Some(requests),
            preparer: Some(preparer),
            flusher,
            stats: WriterStats::default(),
        };
        Ok((writer, opened))
    }

    /// Clears a torn tail and maps the segment appending continues in.
    fn resume(config: &JournalConfig, found: &Scan) -> Result<(Segment, usize), JournalError> {
        let last = found.segments.iter().rev().find(|s| s.header.is_some());
        if let (Some(torn), Some(last)) = (&found.torn, last) {
            let length = last.header.map_or(0, |h| h.length);
            if (last.file_length as u64) < length {
                // A segment file cut short: put back its zeroed length.
                segment::open_rw(&last.path, false)?
                    .set_len(length)
                    .map_err(|e| JournalError::io(&last.path, e))?;
            }
            let segment = Segment::open(&last.path, last.index)?;
            let start = usize::try_from(torn.at.offset).unwrap_or(usize::MAX);
            let end = start + usize::try_from(torn.bytes).unwrap_or(0);
            segment.clear(start, end.min(segment.len()))?;
        }
        let (segment, offset) = match last {
            None => {
                let index = found.segments.first().map_or(0, |s| s.index);
                let segment = Segment::create(&config.dir, index, config.segment_bytes, false)?;
                (segment, 0)
            }
            Some(s) if s.closed => {
                let segment =
                    Segment::create(&config.dir, s.index + 1, config.segment_bytes, false)?;
                (segment, 0)
            }
            // A header but no records: rewrite the header with the next record's number.
            Some(s) if s.records == 0 => (Segment::open(&s.path, s.index)?, 0),
            Some(s) => (Segment::open(&s.path, s.index)?, s.end),
        };
        if config.prefault {
            segment.prefault(offset);
        }
        Ok((segment, offset))
    }

    /// Appends one record: `kind` (any but `0xFFFF`), a sequence number greater than the
    /// last record's, a timestamp, and up to `payload_max` bytes. The record is visible
    /// to readers, and survives a crash of this process, when this returns.
    ///
    /// # Errors
    /// [`JournalError::PayloadTooLarge`], [`JournalError::SequenceNotIncreasing`],
    /// [`JournalError::ReservedKind`]: nothing is written. [`JournalError::Io`] when the
    /// next segment cannot be made.
    #[inline]
    pub fn append(
        &mut self,
        kind: u16,
        sequence: u64,
        timestamp: u64,
        payload: &[u8],
    ) -> Result<Position, JournalError> {
        if payload.len() > self.config.payload_max {
            return Err(JournalError::PayloadTooLarge {
                length: payload.len(),
                max: self.config.payload_max,
            });
        }
        if kind == END_OF_SEGMENT {
            return Err(JournalError::ReservedKind);
        }
        if let Some(last) = self.last_sequence {
            if sequence <= last {
                return Err(JournalError::SequenceNotIncreasing { sequence, last });
            }
        }
        let frame = frame_bytes(payload.len());
        if self.offset == 0 {
            self.start_segment(sequence);
        } else if self.offset + frame + ALIGN > self.segment.len() {
            self.roll(sequence)?;
        }
        let at = self.offset;
        self.write(at, kind, sequence, timestamp, payload);
        self.offset = at + frame;
        self.last_sequence = Some(sequence);
        self.stats.appends += 1;
        if let Some(flusher) = &self.flusher {
            flusher
                .committed
                .store(pack(self.segment.index, self.offset), Ordering::Release);
            flusher
                .committed_sequence
                .store(sequence, Ordering::Release);
        }
        Ok(Position {
            segment: self.segment.index,
            offset: at as u64,
        })
    }

    /// Writes the record's bytes, then publishes it by storing its length.
    #[inline]
    fn write(&mut self, at: usize, kind: u16, sequence: u64, timestamp: u64, payload: &[u8]) {
        let header = record_header(kind, sequence, timestamp, payload);
        let frame = frame_bytes(payload.len());
        let base = self.segment.base();
        // SAFETY: the frame lies inside the mapping (the caller checked it against the
        // segment's length). Its bytes after the commit word are read by nobody until the
        // commit store below publishes them, so this is the only reference to them.
        let slot = unsafe { std::slice::from_raw_parts_mut(base.wrapping_add(at + 4), frame - 4) };
        // The payload length first: recovery uses it to bound a torn record.
        slot[20..24].copy_from_slice(&header[24..28]);
        std::sync::atomic::compiler_fence(Ordering::Release);
        slot[0..20].copy_from_slice(&header[4..24]);
        slot[24..28].copy_from_slice(&header[28..32]);
        slot[28..28 + payload.len()].copy_from_slice(payload);
        let committed = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        // SAFETY: `at` is inside the mapping and 64-byte aligned.
        unsafe { store_commit(base, at, committed) };
    }

    /// Writes the current segment's header, whose first record is `sequence`.
    fn start_segment(&mut self, sequence: u64) {
        let header = SegmentHeader {
            index: self.segment.index,
            first_sequence: sequence,
            length: self.segment.len() as u64,
        }
        .encode();
        let base = self.segment.base();
        // SAFETY: the header's 64 bytes are inside the mapping, and nobody reads bytes
        // 8.. before the magic is published below.
        let slot =
            unsafe { std::slice::from_raw_parts_mut(base.wrapping_add(8), HEADER_BYTES - 8) };
        slot.copy_from_slice(&header[8..]);
        // SAFETY: the mapping starts at `base`.
        unsafe { store_magic(base) };
        self.offset = HEADER_BYTES;
    }

    /// Closes the current segment with its end marker and moves to the prepared next one.
    #[cold]
    fn roll(&mut self, sequence: u64) -> Result<(), JournalError> {
        let next = match self.prepared.try_recv() {
            Ok(next) => next,
            Err(_) => {
                self.stats.roll_waits += 1;
                self.prepared.recv().unwrap_or_else(|_| {
                    Segment::create(
                        &self.config.dir,
                        self.segment.index + 1,
                        self.config.segment_bytes,
                        self.config.prefault,
                    )
                })
            }
        }?;
        let at = self.offset;
        let last = self.last_sequence.unwrap_or(0);
        self.write(at, END_OF_SEGMENT, last, 0, &[]);
        if let Some(requests) = &self.requests {
            let _ = requests.send(next.index + 1);
        }
        if let Some(flusher) = &self.flusher {
            flusher.add(&next, pack(self.segment.index, at + ALIGN));
        }
        self.segment = next;
        self.start_segment(sequence);
        self.stats.rolls += 1;
        Ok(())
    }

    /// Ends a batch of appends: under [`Durability::SyncPerBatch`] the flusher thread
    /// starts writing them to disk. Never blocks.
    #[inline]
    pub fn end_batch(&self) {
        if let Some(flusher) = &self.flusher {
            if flusher.policy == Durability::SyncPerBatch {
                flusher.wake();
            }
        }
    }

    /// Has the flusher thread write everything appended so far to disk now, whatever the
    /// policy's pace (the engine is stopping, and what waits for the disk must not wait
    /// for the next interval). Never blocks; nothing under [`Durability::Process`].
    pub fn flush_soon(&self) {
        if let Some(flusher) = &self.flusher {
            flusher.wake();
        }
    }

    /// How far the journal is durable under the configured policy: everything before
    /// this position. Under [`Durability::Process`], everything appended.
    #[must_use]
    pub fn durable(&self) -> Position {
        match &self.flusher {
            Some(flusher) => unpack(flusher.synced.load(Ordering::Acquire)),
            None => self.position(),
        }
    }

    /// The journal's durability as other threads follow it: the last sequence number on
    /// disk, for releasing what must wait for it (an acknowledgement), and the `msync`s
    /// made.
    #[must_use]
    pub fn durable_sequence(&self) -> Durable {
        Durable(
            self.flusher
                .as_ref()
                .map(|flusher| Arc::clone(&flusher.durable)),
        )
    }

    /// Writes everything appended so far to disk and waits for it (for shutdown, or
    /// before acknowledging something that must survive power loss).
    ///
    /// # Errors
    /// [`JournalError::Io`] when `msync` fails.
    pub fn sync(&self) -> Result<(), JournalError> {
        self.segment
            .map
            .flush_range(0, self.offset.max(HEADER_BYTES))
            .map_err(|e| JournalError::io(&self.segment.path, e))
    }

    /// Where the next record goes.
    #[must_use]
    pub fn position(&self) -> Position {
        Position {
            segment: self.segment.index,
            offset: self.offset.max(HEADER_BYTES) as u64,
        }
    }

    /// The last record's sequence number.
    #[must_use]
    pub fn last_sequence(&self) -> Option<u64> {
        self.last_sequence
    }

    /// Counters since open.
    #[must_use]
    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// The journal's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.requests = None;
        // The preparer may be making a segment; wait for it so its file is complete.
        if let Some(preparer) = self.preparer.take() {
            let _ = preparer.join();
        }
        if let Some(mut flusher) = self.flusher.take() {
            flusher.stop();
        }
    }
}

/// Lists, maps and validates the segments in `dir` without changing anything.
pub(crate) fn scan_dir(dir: &Path, payload_max: usize) -> Result<Scan, JournalError> {
    let listed = segment::list(dir)?;
    let mut maps = Vec::with_capacity(listed.len());
    for (index, path) in &listed {
        maps.push((*index, path.clone(), segment::map_read(path)?));
    }
    let views: Vec<(u64, PathBuf, &[u8])> = maps
        .iter()
        .map(|(index, path, map)| (*index, path.clone(), &map[..]))
        .collect();
    scan(&views, payload_max)
}

/// Checks a journal without opening it for writing: every record validated, the end
/// found, a torn tail reported (not cleared). Safe beside a live writer only for the
/// part already written; for live reading use [`crate::Reader`].
///
/// # Errors
/// As [`Writer::open`], less the lock.
pub fn verify(dir: &Path, payload_max: usize) -> Result<Scan, JournalError> {
    scan_dir(dir, payload_max)
}

const OFFSET_BITS: u32 = 40;

fn pack(segment: u64, offset: usize) -> u64 {
    (segment << OFFSET_BITS) | offset as u64
}

fn unpack(packed: u64) -> Position {
    Position {
        segment: packed >> OFFSET_BITS,
        offset: packed & ((1 << OFFSET_BITS) - 1),
    }
}

/// How far the journal is on disk, as the threads that wait for it see it
/// ([`Writer::durable_sequence`]). Cheap to clone and to read (one atomic load).
#[derive(Debug, Clone, Default)]
pub struct Durable(Option<Arc<DurableShared>>);

#[derive(Debug)]
struct DurableShared {
    /// The last record's sequence number known to be on disk.
    sequence: AtomicU64,
    /// `msync` calls made.
    msyncs: AtomicU64,
}

impl Durable {
    /// The last sequence number on disk: every record up to it survives a power loss.
    /// Under [`Durability::Process`] (no flusher), `u64::MAX`: every appended record is as
    /// safe as the policy makes it.
    #[inline]
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.0
            .as_ref()
            .map_or(u64::MAX, |shared| shared.sequence.load(Ordering::Acquire))
    }

    /// Whether anything waits for the disk (a flusher runs: `sync_per_batch` or
    /// `sync_interval`).
    #[must_use]
    pub fn gated(&self) -> bool {
        self.0.is_some()
    }

    /// `msync` calls the flusher has made.
    #[must_use]
    pub fn msyncs(&self) -> u64 {
        self.0
            .as_ref()
            .map_or(0, |shared| shared.msyncs.load(Ordering::Relaxed))
    }
}

/// The durability thread: `msync`s what the writer committed, off the hot thread.
struct Flusher {
    policy: Durability,
    committed: Arc<AtomicU64>,
    /// The last record's sequence number, stored after `committed`.
    committed_sequence: Arc<AtomicU64>,
    synced: Arc<AtomicU64>,
    durable: Arc<DurableShared>,
    shared: Arc<FlushShared>,
    thread: Option<JoinHandle<()>>,
}

struct FlushShared {
    /// Segments not yet fully synced, oldest first.
    maps: Mutex<Vec<(u64, Arc<MmapRaw>, PathBuf)>>,
    stop: AtomicBool,
}

impl Flusher {
    fn start(
        policy: Durability,
        segment: &Segment,
        offset: usize,
        last_sequence: u64,
        dir: &Path,
    ) -> Result<Flusher, JournalError> {
        let start = pack(segment.index, offset.max(HEADER_BYTES));
        let committed = Arc::new(AtomicU64::new(start));
        let committed_sequence = Arc::new(AtomicU64::new(last_sequence));
        let synced = Arc::new(AtomicU64::new(start));
        let durable = Arc::new(DurableShared {
            sequence: AtomicU64::new(last_sequence),
            msyncs: AtomicU64::new(0),
        });
        let shared = Arc::new(FlushShared {
            maps: Mutex::new(vec![(
                segment.index,
                Arc::clone(&segment.map),
                segment.path.clone(),
            )]),
            stop: AtomicBool::new(false),
        });
        let interval = match policy {
            Durability::SyncInterval(interval) => Some(interval),
            _ => None,
        };
        let thread = {
            let progress = Progress {
                committed: Arc::clone(&committed),
                committed_sequence: Arc::clone(&committed_sequence),
                synced: Arc::clone(&synced),
                durable: Arc::clone(&durable),
            };
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("journal-flush".to_owned())
                .spawn(move || flush_loop(&progress, &shared, interval))
                .map_err(|e| JournalError::io(dir, e))?
        };
        Ok(Flusher {
            policy,
            committed,
            committed_sequence,
            synced,
            durable,
            shared,
            thread: Some(thread),
        })
    }

    fn add(&self, segment: &Segment, committed: u64) {
        self.committed.store(committed, Ordering::Release);
        if let Ok(mut maps) = self.shared.maps.lock() {
            maps.push((
                segment.index,
                Arc::clone(&segment.map),
                segment.path.clone(),
            ));
        }
    }

    /// Wakes the flusher: no lock, one `unpark` (a futex wake only when it sleeps).
    fn wake(&self) {
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the flusher reads from the writer and publishes back.
struct Progress {
    committed: Arc<AtomicU64>,
    committed_sequence: Arc<AtomicU64>,
    synced: Arc<AtomicU64>,
    durable: Arc<DurableShared>,
}

fn flush_loop(progress: &Progress, shared: &FlushShared, interval: Option<Duration>) {
    let Progress {
        committed,
        committed_sequence,
        synced,
        durable,
    } = progress;
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        if !stopping {
            // An unpark before the park is not lost: park returns at once.
            match interval {
                Some(interval) => std::thread::park_timeout(interval),
                None => std::thread::park(),
            }
        }
        // The sequence first: the writer stores a record's position before its
        // sequence, so the position read after it covers that record at least.
        let sequence = committed_sequence.load(Ordering::Acquire);
        let target = unpack(committed.load(Ordering::Acquire));
        let from = unpack(synced.load(Ordering::Acquire));
        let mut failed = false;
        if target > from {
            let Ok(mut maps) = shared.maps.lock() else {
                return;
            };
            for (index, map, path) in maps.iter() {
                if *index < from.segment || *index > target.segment {
                    continue;
                }
                let start = if *index == from.segment {
                    from.offset
                } else {
                    0
                };
                let end = if *index == target.segment {
                    target.offset
                } else {
                    map.len() as u64
                };
                let (start, end) = (
                    usize::try_from(start).unwrap_or(0),
                    usize::try_from(end).unwrap_or(0),
                );
                if end > start {
                    if let Err(error) = map.flush_range(start, end - start) {
                        eprintln!("journal: msync of {} failed: {error}", path.display());
                        failed = true;
                        break;
                    }
                    durable.msyncs.fetch_add(1, Ordering::Relaxed);
                }
            }
            if !failed {
                synced.store(
                    (target.segment << OFFSET_BITS) | target.offset,
                    Ordering::Release,
                );
                maps.retain(|(index, _, _)| *index >= target.segment);
            }
        }
        if !failed {
            durable.sequence.fetch_max(sequence, Ordering::Release);
        }
        if stopping {
            return;
        }
    }
}
