//! Crossline's journal: every state-changing input is appended here before anything
//! acts on it, so a crash loses nothing and any day replays exactly.
//!
//! - **Segments**: append-only files of a fixed, preallocated size (`0000000000.cxj`,
//!   `0000000001.cxj`, …), each with a 64-byte header (magic, version, index, first
//!   sequence number). The writer rolls to the next when a record does not fit; a
//!   background thread prepares (allocates and pre-faults) the next segment ahead of time,
//!   so appends never take a page fault.
//! - **Records**: 64-byte aligned frames with length, kind, sequence number, timestamp and
//!   a CRC32C. The length is the commit marker: written last, with release ordering, so a
//!   [`Reader`] tailing the journal, in this process or another, never sees half a record.
//! - **Recovery**: [`Writer::open`] validates every record to find the end. A record a
//!   crash interrupted is reported ([`TornTail`]) and cleared; damage before the end is a
//!   [`JournalError::Corrupt`] naming the segment, offset and last good sequence number.
//! - **Durability**: by default a record survives a crash of the process once appended
//!   (it is in the page cache). [`Durability::SyncPerBatch`] and
//!   [`Durability::SyncInterval`] add `msync` on a flusher thread for power loss.
//! - **One writer**: `flock` on the directory's `LOCK` file.
//!
//! The byte layout is in [`layout`] and `docs/JOURNAL.md`.
//!
//! ```
//! use crossline_journal::{JournalConfig, Reader, Writer};
//! let dir = std::env::temp_dir().join(format!("crossline-doc-{}", std::process::id()));
//! let mut config = JournalConfig::new(&dir);
//! config.segment_bytes = 1 << 20;
//! config.prefault = false;
//! let (mut writer, opened) = Writer::open(config.clone())?;
//! assert_eq!(opened.records, 0);
//! writer.append(1, 10, 1_000, b"first")?;
//! writer.append(1, 11, 2_000, b"second")?;
//! drop(writer);
//! let mut reader = Reader::open(&dir, config.payload_max)?;
//! let entry = reader.next()?.expect("a record");
//! assert_eq!((entry.sequence, entry.payload), (10, &b"first"[..]));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), crossline_journal::JournalError>(())
//! ```

mod crc;
mod error;
pub mod layout;
mod reader;
mod recovery;
mod segment;
mod writer;

pub use error::{JournalError, Position};
pub use reader::{Entry, Reader, Run, RunIter, RUN_MAX};
pub use recovery::{Scan, TornTail};
pub use segment::{segment_path, FILE_MODE, SEGMENT_EXTENSION};
pub use writer::{
    verify, Durability, Durable, JournalConfig, Opened, Writer, WriterStats, DIR_MODE,
};
