//! Segment files: names, listing, creation (preallocated and pre-faulted) and mapping.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::{MmapOptions, MmapRaw};

use crate::error::JournalError;

/// The extension of segment files.
pub const SEGMENT_EXTENSION: &str = "cxj";

/// The path of segment `index` in `dir`.
#[must_use]
pub fn segment_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:010}.{SEGMENT_EXTENSION}"))
}

/// The segments in `dir`, by index, checked for gaps.
pub(crate) fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut segments = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| JournalError::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| JournalError::io(dir, e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(SEGMENT_EXTENSION) {
            continue;
        }
        let index = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| s.len() == 10)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| JournalError::BadFileName { path: path.clone() })?;
        segments.push((index, path));
    }
    segments.sort();
    for pair in segments.windows(2) {
        if pair[1].0 != pair[0].0 + 1 {
            return Err(JournalError::MissingSegment {
                dir: dir.to_owned(),
                missing: pair[0].0 + 1,
                after: pair[1].0,
            });
        }
    }
    Ok(segments)
}

/// One segment file mapped for writing. The mapping is shared with the flusher thread.
pub(crate) struct Segment {
    pub(crate) index: u64,
    pub(crate) map: Arc<MmapRaw>,
    pub(crate) path: PathBuf,
}

impl Segment {
    /// Bytes in the segment.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The mapping's first byte.
    pub(crate) fn base(&self) -> *mut u8 {
        self.map.as_mut_ptr()
    }

    /// Creates segment `index` of `length` bytes (all zero, blocks allocated), or opens it
    /// if a previous run already prepared it, and maps it writable.
    pub(crate) fn create(
        dir: &Path,
        index: u64,
        length: u64,
        prefault: bool,
    ) -> Result<Segment, JournalError> {
        let path = segment_path(dir, index);
        let file = open_rw(&path, true)?;
        let current = file
            .metadata()
            .map_err(|e| JournalError::io(&path, e))?
            .len();
        if current < length {
            allocate(&file, length).map_err(|e| JournalError::io(&path, e))?;
        }
        let segment = Segment::map(&file, index, path)?;
        if prefault {
            segment.prefault(0);
        }
        Ok(segment)
    }

    /// Opens an existing segment for writing.
    pub(crate) fn open(path: &Path, index: u64) -> Result<Segment, JournalError> {
        let file = open_rw(path, false)?;
        Segment::map(&file, index, path.to_owned())
    }

    fn map(file: &File, index: u64, path: PathBuf) -> Result<Segment, JournalError> {
        let map = MmapOptions::new()
            .map_raw(file)
            .map_err(|e| JournalError::io(&path, e))?;
        Ok(Segment {
            index,
            map: Arc::new(map),
            path,
        })
    }

    /// Faults in every page from `from` on, writable, so appends never take a page fault:
    /// `MADV_POPULATE_WRITE` where the kernel has it (5.14+), else a write to each page.
    pub(crate) fn prefault(&self, from: usize) {
        let page = page_size();
        let start = from / page * page;
        let len = self.len() - start;
        // SAFETY: the range lies inside this live mapping; the advice changes no contents.
        let advised = unsafe {
            libc::madvise(
                self.base().wrapping_add(start).cast::<libc::c_void>(),
                len,
                libc::MADV_POPULATE_WRITE,
            )
        };
        if advised == 0 {
            return;
        }
        let mut at = start.max(from);
        while at < self.len() {
            // SAFETY: `at` is inside the mapping. Bytes past the journal's end are zero
            // (segments are created zeroed, recovery clears torn tails), so an atomic
            // add of zero dirties the page without changing it or racing the writer.
            let byte =
                unsafe { std::sync::atomic::AtomicU8::from_ptr(self.base().wrapping_add(at)) };
            byte.fetch_add(0, std::sync::atomic::Ordering::Relaxed);
            at = (at / page + 1) * page;
        }
    }

    /// Clears `range` (a torn record) to zeros and writes it to the file.
    pub(crate) fn clear(&self, start: usize, end: usize) -> Result<(), JournalError> {
        // SAFETY: the range lies inside this live mapping, and recovery holds the
        // journal's exclusive lock, so no writer touches it.
        unsafe { std::ptr::write_bytes(self.base().wrapping_add(start), 0, end - start) };
        self.map
            .flush_range(start, end - start)
            .map_err(|e| JournalError::io(&self.path, e))
    }
}

/// Who may read what the engine writes to disk: the owner reads and writes, the
/// owner's group reads (an operator's replay or audit), nobody else has access (the
/// journal holds every client's orders). docs/JOURNAL.md.
pub const FILE_MODE: u32 = 0o640;

/// Opens `path` for reading and writing, creating it (empty, [`FILE_MODE`]) when
/// `create` is set.
pub(crate) fn open_rw(path: &Path, create: bool) -> Result<File, JournalError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .mode(FILE_MODE)
        .open(path)
        .map_err(|e| JournalError::io(path, e))
}

/// Read-only mapping of a segment for recovery and readers.
pub(crate) fn map_read(path: &Path) -> Result<memmap2::Mmap, JournalError> {
    let file = File::open(path).map_err(|e| JournalError::io(path, e))?;
    // SAFETY: journal files are only ever appended to through the commit protocol:
    // bytes a reader looks at behind a committed marker never change afterwards (the
    // one exception, recovery clearing a torn tail, happens under the exclusive lock).
    unsafe { MmapOptions::new().populate().map(&file) }.map_err(|e| JournalError::io(path, e))
}

/// Allocates `length` bytes of disk for `file`, so writes through the mapping cannot fail
/// later for lack of space (a full disk would otherwise kill the process with SIGBUS).
fn allocate(file: &File, length: u64) -> std::io::Result<()> {
    let length = libc::off_t::try_from(length)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "segment too large"))?;
    // SAFETY: plain system call on an open descriptor.
    let result = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, length) };
    match result {
        0 => Ok(()),
        // Filesystems without fallocate (some tmpfs versions): a sparse file instead.
        libc::EOPNOTSUPP | libc::EINVAL => file.set_len(u64::try_from(length).unwrap_or(0)),
        errno => Err(std::io::Error::from_raw_os_error(errno)),
    }
}

/// The system's page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// Takes the journal's exclusive lock: `LOCK` in the directory, held with `flock` for as
/// long as the returned file stays open (the kernel releases it when the process dies).
pub(crate) fn lock(dir: &Path) -> Result<File, JournalError> {
    let path = dir.join("LOCK");
    let file = open_rw(&path, true)?;
    // SAFETY: plain system call on an open descriptor.
    let result = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if result != 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(JournalError::Locked {
                dir: dir.to_owned(),
            });
        }
        return Err(JournalError::io(&path, error));
    }
    Ok(file)
}
