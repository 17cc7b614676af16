//! What can go wrong opening, appending to or reading a journal.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A place in the journal: a segment and a byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The segment's index (its file is `<index>.cxj`, ten digits).
    pub segment: u64,
    /// Byte offset in the segment file.
    pub offset: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "segment {} offset {}", self.segment, self.offset)
    }
}

/// Why a journal could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Another writer holds the journal's lock.
    #[error("journal {dir} is already open for writing by another process or handle")]
    Locked {
        /// The journal directory.
        dir: PathBuf,
    },
    /// A segment file in the middle of the journal is missing.
    #[error("journal {dir}: segment {missing} is missing (segment {after} exists after it)")]
    MissingSegment {
        /// The journal directory.
        dir: PathBuf,
        /// The missing segment's index.
        missing: u64,
        /// The next segment present.
        after: u64,
    },
    /// A file in the journal directory looks like a segment but its name does not parse.
    #[error("{path}: not a segment file name (expected ten digits and .cxj)")]
    BadFileName {
        /// The file.
        path: PathBuf,
    },
    /// Damage before the end of the journal: records after it are intact, so truncating
    /// would lose them. Nothing is skipped; the journal must be repaired by hand or
    /// restored from a replica.
    #[error("journal corrupt at {at}{}: {what}", after_text(*.after_sequence))]
    Corrupt {
        /// Where the damage is.
        at: Position,
        /// The sequence number of the last good record before it.
        after_sequence: Option<u64>,
        /// What is wrong.
        what: String,
    },
    /// A segment (or snapshot) written in another format version than this build reads.
    #[error("{path}: journal format version {found}; this build reads version {reads} only (replay the journal with the build that wrote it, or start a new journal directory)")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version the file holds.
        found: u32,
        /// The version this build reads.
        reads: u32,
    },
    /// A record's payload exceeds the configured maximum.
    #[error("record payload of {length} bytes exceeds payload_max {max}")]
    PayloadTooLarge {
        /// The payload's length.
        length: usize,
        /// The maximum.
        max: usize,
    },
    /// Sequence numbers must increase from record to record.
    #[error("record sequence {sequence} does not follow the last record's {last}")]
    SequenceNotIncreasing {
        /// The new record's sequence number.
        sequence: u64,
        /// The last record's.
        last: u64,
    },
    /// Record kind `0xFFFF` marks the end of a segment and cannot be appended.
    #[error("record kind 0xFFFF is reserved for the end-of-segment marker")]
    ReservedKind,
    /// The configuration cannot work.
    #[error("journal configuration: {0}")]
    Config(String),
}

fn after_text(sequence: Option<u64>) -> String {
    match sequence {
        Some(sequence) => format!(" (after sequence {sequence})"),
        None => " (before the first record)".to_owned(),
    }
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> JournalError {
        JournalError::Io {
            path: path.into(),
            source,
        }
    }
}
