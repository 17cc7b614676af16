//! Live counters in a memory-mapped file: each agent updates its own counters with plain
//! atomic stores (no locks, no system calls), and a monitor in another process maps the
//! same file read-only and samples them with [`CountersReader`]. (The running engine's
//! agents and its `crossline stat` monitor are being built on this.)
//!
//! **Layout** (little-endian; `docs/OPERATIONS.md` has the table):
//!
//! | offset | size | field |
//! | --- | --- | --- |
//! | 0 | 8 | magic `CXCNTRS1` |
//! | 8 | 4 | layout version (1) |
//! | 12 | 4 | counter count `n` |
//! | 16 | 8 | the writer's start time, ns since the epoch |
//! | 24 | 4 | the writer's process id |
//! | 28 | 36 | reserved, zero |
//! | 64 | 64 × n | labels: 60 bytes of UTF-8, zero-padded, then a u32 kind (1 counter, 2 gauge, 3 maximum) |
//! | 64 + 64 × n | 64 × n | values: a u64 at the start of each 64-byte line |
//!
//! Each value has a cache line to itself, so agents on different cores never share one.
//! The magic is written last, after every label, so a reader never sees a half-made file.
//! A value is written by one agent only (single writer): it is read-modify-written with
//! relaxed loads and stores, which is exact for its writer and never torn for a reader.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::{Mmap, MmapMut, MmapOptions};

/// The file's magic.
pub const MAGIC: [u8; 8] = *b"CXCNTRS1";
/// The layout version.
pub const VERSION: u32 = 1;
/// Bytes of one label or one value line.
pub const LINE_BYTES: usize = 64;
/// Bytes of a label's text, at most.
pub const LABEL_BYTES_MAX: usize = 60;
/// Counters in one file, at most.
pub const COUNTERS_MAX: usize = 4_096;

/// What a value means, so a reader knows whether to show a rate or a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only grows: a reader shows its rate.
    Counter = 1,
    /// A level (a ring's depth): a reader shows it as is.
    Gauge = 2,
    /// The largest value seen (a duty cycle's longest time).
    Maximum = 3,
}

impl Kind {
    fn from_code(code: u32) -> Option<Kind> {
        match code {
            1 => Some(Kind::Counter),
            2 => Some(Kind::Gauge),
            3 => Some(Kind::Maximum),
            _ => None,
        }
    }
}

/// Why a counters file could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum CountersError {
    /// The file could not be created, opened or mapped.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        error: std::io::Error,
    },
    /// A label is empty, too long or given twice, or there are too many.
    #[error("counter label {label:?}: {problem}")]
    Label {
        /// The label.
        label: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// Not a counters file, another layout version, or cut short.
    #[error("{path}: {problem}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CountersError + '_ {
    move |error| CountersError::Io {
        path: path.to_owned(),
        error,
    }
}

/// The writing side: owns the mapping the [`Counter`] handles point into.
pub struct Counters {
    map: Arc<MmapMut>,
    count: usize,
}

/// One value, for its single writer. Cheap to move to the agent's thread.
pub struct Counter {
    /// Keeps the mapping alive while the handle exists.
    _map: Arc<MmapMut>,
    value: *const AtomicU64,
}

// SAFETY: the pointer is into a shared mapping that `_map` keeps alive, and it is only
// ever used through `AtomicU64`, which is safe to use from any thread.
unsafe impl Send for Counter {}

impl Counter {
    fn atomic(&self) -> &AtomicU64 {
        // SAFETY: `value` points at an 8-byte-aligned u64 inside the mapping (a 64-byte
        // line in a page-aligned map), which lives as long as `_map`, and every access
        // to it is atomic.
        unsafe { &*self.value }
    }

    /// Adds `n` (a counter).
    #[inline]
    pub fn add(&self, n: u64) {
        let value = self.atomic();
        value.store(
            value.load(Ordering::Relaxed).wrapping_add(n),
            Ordering::Relaxed,
        );
    }

    /// Sets the value (a gauge).
    #[inline]
    pub fn set(&self, n: u64) {
        self.atomic().store(n, Ordering::Relaxed);
    }

    /// Raises the value to `n` if `n` is larger (a maximum).
    #[inline]
    pub fn raise(&self, n: u64) {
        let value = self.atomic();
        if n > value.load(Ordering::Relaxed) {
            value.store(n, Ordering::Relaxed);
        }
    }

    /// The value now.
    #[must_use]
    pub fn get(&self) -> u64 {
        self.atomic().load(Ordering::Relaxed)
    }
}

impl Counters {
    /// Checks `labels` the way [`Counters::create`] does, without making a file: at
    /// most 4,096, none empty, longer than 60 bytes or given twice.
    ///
    /// # Errors
    /// [`CountersError::Label`] naming the first label refused and why.
    pub fn check(labels: &[(&str, Kind)]) -> Result<(), CountersError> {
        if labels.len() > COUNTERS_MAX {
            return Err(CountersError::Label {
                label: labels[COUNTERS_MAX].0.to_owned(),
                problem: "more than 4096 counters",
            });
        }
        for (index, (label, _)) in labels.iter().enumerate() {
            let problem = if label.is_empty() {
                Some("empty")
            } else if label.len() > LABEL_BYTES_MAX {
                Some("longer than 60 bytes")
            } else if labels[..index].iter().any(|(other, _)| other == label) {
                Some("given twice")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(CountersError::Label {
                    label: (*label).to_owned(),
                    problem,
                });
            }
        }
        Ok(())
    }

    /// Creates (or replaces) the file at `path` with one value per label, all zero, and
    /// returns a handle for each, in the order given.
    ///
    /// # Errors
    /// A bad label, or the file could not be made.
    pub fn create(
        path: &Path,
        labels: &[(&str, Kind)],
        start_time_ns: u64,
    ) -> Result<(Counters, Vec<Counter>), CountersError> {
        Counters::check(labels)?;
        let count = labels.len();
        let length = LINE_BYTES * (1 + 2 * count);
        // A fresh file: a reader of the old one keeps its own (unlinked) inode.
        let _ = std::fs::remove_file(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            // Operators' group may read it; nobody else (docs/OPERATIONS.md).
            .mode(0o640)
            .open(path)
            .map_err(io(path))?;
        file.set_len(length as u64).map_err(io(path))?;
        // SAFETY: the file was just created by this process and is only written through
        // this mapping; other processes map it read-only and read values atomically.
        let mut map = unsafe { MmapOptions::new().map_mut(&file) }.map_err(io(path))?;
        let count_field = u32::try_from(count).unwrap_or(u32::MAX);
        map[8..12].copy_from_slice(&VERSION.to_le_bytes());
        map[12..16].copy_from_slice(&count_field.to_le_bytes());
        map[16..24].copy_from_slice(&start_time_ns.to_le_bytes());
        map[24..28].copy_from_slice(&std::process::id().to_le_bytes());
        for (index, (label, kind)) in labels.iter().enumerate() {
            let line = LINE_BYTES * (1 + index);
            map[line..line + label.len()].copy_from_slice(label.as_bytes());
            map[line + 60..line + 64].copy_from_slice(&(*kind as u32).to_le_bytes());
        }
        // Last: the magic says the file is complete.
        map[0..8].copy_from_slice(&MAGIC);
        let map = Arc::new(map);
        let values = LINE_BYTES * (1 + count);
        let handles = (0..count)
            .map(|index| Counter {
                _map: Arc::clone(&map),
                value: map
                    .as_ptr()
                    .wrapping_add(values + LINE_BYTES * index)
                    .cast(),
            })
            .collect();
        Ok((Counters { map, count }, handles))
    }

    /// Counters in the file.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the file has no counters.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes in the file.
    #[must_use]
    pub fn file_bytes(&self) -> usize {
        self.map.len()
    }
}

/// One counter as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// Its label.
    pub label: String,
    /// What it means.
    pub kind: Kind,
    /// Its value when sampled.
    pub value: u64,
}

/// The reading side: another process's counters file, mapped read-only.
pub struct CountersReader {
    map: Mmap,
    labels: Vec<(String, Kind)>,
    start_time_ns: u64,
    pid: u32,
}

impl CountersReader {
    /// Maps and checks the file at `path`.
    ///
    /// # Errors
    /// The file cannot be read, or is not a complete counters file of this version.
    pub fn open(path: &Path) -> Result<CountersReader, CountersError> {
        let file = std::fs::File::open(path).map_err(io(path))?;
        // SAFETY: mapped read-only; the writer changes only value lines after the magic
        // is published, and those are read with atomic loads.
        let map = unsafe { Mmap::map(&file) }.map_err(io(path))?;
        let format = |problem: String| CountersError::Format {
            path: path.to_owned(),
            problem,
        };
        if map.len() < LINE_BYTES || map[0..8] != MAGIC {
            return Err(format(
                "not a counters file (or its writer has not finished making it)".into(),
            ));
        }
        let word = |at: usize| u32::from_le_bytes([map[at], map[at + 1], map[at + 2], map[at + 3]]);
        let version = word(8);
        if version != VERSION {
            return Err(format(format!(
                "layout version {version}, expected {VERSION}"
            )));
        }
        let count = word(12) as usize;
        if count > COUNTERS_MAX || map.len() < LINE_BYTES * (1 + 2 * count) {
            return Err(format(format!(
                "{count} counters do not fit its {} bytes",
                map.len()
            )));
        }
        let mut labels = Vec::with_capacity(count);
        for index in 0..count {
            let line = &map[LINE_BYTES * (1 + index)..LINE_BYTES * (2 + index)];
            let end = line[..LABEL_BYTES_MAX]
                .iter()
                .position(|&byte| byte == 0)
                .unwrap_or(LABEL_BYTES_MAX);
            let label = std::str::from_utf8(&line[..end])
                .map_err(|_| format(format!("label {index} is not UTF-8")))?;
            let code = u32::from_le_bytes([line[60], line[61], line[62], line[63]]);
            let kind = Kind::from_code(code)
                .ok_or_else(|| format(format!("label {index} has the unknown kind {code}")))?;
            labels.push((label.to_owned(), kind));
        }
        let mut start = [0u8; 8];
        start.copy_from_slice(&map[16..24]);
        Ok(CountersReader {
            start_time_ns: u64::from_le_bytes(start),
            pid: word(24),
            map,
            labels,
        })
    }

    /// The writer's start time, ns since the epoch.
    #[must_use]
    pub fn start_time_ns(&self) -> u64 {
        self.start_time_ns
    }

    /// The writer's process id.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Every counter's value now, in file order.
    #[must_use]
    pub fn sample(&self) -> Vec<Reading> {
        let values = LINE_BYTES * (1 + self.labels.len());
        self.labels
            .iter()
            .enumerate()
            .map(|(index, (label, kind))| {
                let at = values + LINE_BYTES * index;
                // `at` is inside the mapping (checked in `open`) and 8-byte aligned
                // (64-byte lines in a page-aligned map); the writer stores it atomically.
                let pointer = self.map.as_ptr().wrapping_add(at).cast_mut().cast::<u64>();
                // SAFETY: as above; the value is only loaded.
                let value = unsafe { AtomicU64::from_ptr(pointer) };
                Reading {
                    label: label.clone(),
                    kind: *kind,
                    value: value.load(Ordering::Relaxed),
                }
            })
            .collect()
    }
}
