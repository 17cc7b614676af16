//! A FIX session's store: its next incoming and outgoing sequence numbers and every
//! application message it sent today, in a file in the journal directory, so a restart
//! of the engine (a kill -9 included) goes on with the same numbers and can resend what
//! was sent before it. `docs/FIX.md` has the layout.
//!
//! Layout (little-endian): a 32-byte header, `CXFIXS01`, version `u32` (1), next
//! incoming `u32`, next outgoing `u32`, 12 bytes zero; then one record per application
//! message sent: its MsgSeqNum `u32`, length `u32`, SendingTime `u64` (ns since the
//! epoch), the message's bytes. A record cut short by a crash is dropped at open.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"CXFIXS01";
const HEADER_SIZE: usize = 32;
/// The store layout's version.
pub const STORE_VERSION: u32 = 1;
/// Header bytes.
pub(crate) const HEADER_BYTES: u64 = HEADER_SIZE as u64;
/// The message bytes a record is reserved for (larger ones are kept too, after one
/// allocation).
const RECORD_MESSAGE_BYTES: usize = 4096;
/// Record header bytes.
pub(crate) const RECORD_HEADER_BYTES: usize = 16;

/// Why a store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing it failed.
    #[error("FIX store {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// It is not a store of this version.
    #[error(
        "FIX store {path}: not a Crossline FIX store of version {STORE_VERSION} (header {found:?})"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// Its first bytes.
        found: Vec<u8>,
    },
}

/// One session's store.
pub struct Store {
    file: File,
    path: PathBuf,
    next_in: u32,
    next_out: u32,
    /// Where each stored message is: (MsgSeqNum, offset of its record, length).
    index: Vec<(u32, u64, u32)>,
    end: u64,
    /// The record being written.
    record: Vec<u8>,
}

impl Store {
    /// Opens (or creates) the store at `path`.
    ///
    /// # Errors
    /// [`StoreError`] when it cannot be read or written, or is not a store.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let io = |error| StoreError::Io {
            path: path.to_owned(),
            error,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut store = Store {
            file,
            path: path.to_owned(),
            next_in: 1,
            next_out: 1,
            index: Vec::new(),
            end: HEADER_BYTES,
            record: Vec::with_capacity(RECORD_HEADER_BYTES + RECORD_MESSAGE_BYTES),
        };
        if bytes.is_empty() {
            store.write_header().map_err(io)?;
            return Ok(store);
        }
        let header_ok = bytes.len() >= 32
            && &bytes[..8] == MAGIC
            && bytes[8..12] == STORE_VERSION.to_le_bytes();
        if !header_ok {
            return Err(StoreError::Format {
                path: path.to_owned(),
                found: bytes[..bytes.len().min(12)].to_vec(),
            });
        }
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        store.next_in = word(12).max(1);
        store.next_out = word(16).max(1);
        let mut at = 32usize;
        while at + RECORD_HEADER_BYTES <= bytes.len() {
            let (seq, length) = (word(at), word(at + 4));
            let size = RECORD_HEADER_BYTES + length as usize;
            if at + size > bytes.len() {
                break;
            }
            store.index.push((seq, at as u64, length));
            at += size;
        }
        store.end = at as u64;
        if (at as u64) < bytes.len() as u64 {
            store.file.set_len(store.end).map_err(io)?;
        }
        // A message stored and not yet counted in the header (a crash between the two
        // writes) was sent: the next number is past it.
        if let Some(&(last, ..)) = store.index.last() {
            store.next_out = store.next_out.max(last + 1);
        }
        Ok(store)
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The MsgSeqNum the next incoming message must carry.
    #[must_use]
    pub fn next_in(&self) -> u32 {
        self.next_in
    }

    /// The MsgSeqNum of the next message sent.
    #[must_use]
    pub fn next_out(&self) -> u32 {
        self.next_out
    }

    fn write_header(&self) -> std::io::Result<()> {
        let mut header = [0u8; HEADER_SIZE];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&STORE_VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&self.next_in.to_le_bytes());
        header[16..20].copy_from_slice(&self.next_out.to_le_bytes());
        self.file.write_all_at(&header, 0)
    }

    fn write_numbers(&self) -> std::io::Result<()> {
        let mut numbers = [0u8; 8];
        numbers[..4].copy_from_slice(&self.next_in.to_le_bytes());
        numbers[4..].copy_from_slice(&self.next_out.to_le_bytes());
        self.file.write_all_at(&numbers, 12)
    }

    /// Sets the next incoming number.
    ///
    /// # Errors
    /// The write failed.
    pub fn set_next_in(&mut self, next: u32) -> std::io::Result<()> {
        self.next_in = next;
        self.write_numbers()
    }

    /// Takes the next outgoing number for a session message (not kept: a resend
    /// gap-fills it).
    ///
    /// # Errors
    /// The write failed.
    pub fn take_out(&mut self) -> std::io::Result<u32> {
        let number = self.next_out;
        self.next_out += 1;
        self.write_numbers()?;
        Ok(number)
    }

    /// Keeps the application message `bytes`, sent as `seq` at `sending_ns`, and moves
    /// the next outgoing number past it. One write: the header's outgoing number is not
    /// rewritten (opening the store takes the number after the last record kept).
    ///
    /// # Errors
    /// The write failed.
    pub fn keep(&mut self, seq: u32, sending_ns: u64, bytes: &[u8]) -> std::io::Result<()> {
        let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        // One write per record: its header and the message side by side (the buffer is
        // reserved at open for any message a session sends).
        self.record.clear();
        self.record.extend_from_slice(&seq.to_le_bytes());
        self.record.extend_from_slice(&length.to_le_bytes());
        self.record.extend_from_slice(&sending_ns.to_le_bytes());
        self.record.extend_from_slice(bytes);
        self.file.write_all_at(&self.record, self.end)?;
        self.index.push((seq, self.end, length));
        self.end += (RECORD_HEADER_BYTES + bytes.len()) as u64;
        self.next_out = self.next_out.max(seq + 1);
        Ok(())
    }

    /// The kept messages numbered `from..=to`, in order: (MsgSeqNum, SendingTime,
    /// bytes).
    ///
    /// # Errors
    /// A read failed.
    pub fn kept(&self, from: u32, to: u32) -> std::io::Result<Vec<(u32, u64, Vec<u8>)>> {
        let start = self.index.partition_point(|&(seq, ..)| seq < from);
        let mut messages = Vec::new();
        for &(seq, offset, length) in &self.index[start..] {
            if seq > to {
                break;
            }
            let mut header = [0u8; RECORD_HEADER_BYTES];
            self.file.read_exact_at(&mut header, offset)?;
            let sending = u64::from_le_bytes(header[8..].try_into().unwrap_or([0; 8]));
            let mut bytes = vec![0u8; length as usize];
            self.file
                .read_exact_at(&mut bytes, offset + RECORD_HEADER_BYTES as u64)?;
            messages.push((seq, sending, bytes));
        }
        Ok(messages)
    }

    /// Starts the session's numbers again at 1 and forgets what was kept (a Logon with
    /// ResetSeqNumFlag).
    ///
    /// # Errors
    /// The write failed.
    pub fn reset(&mut self) -> std::io::Result<()> {
        self.file.set_len(HEADER_BYTES)?;
        self.index.clear();
        self.end = HEADER_BYTES;
        self.next_in = 1;
        self.next_out = 1;
        self.write_header()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows `| offset | bytes | field |` of each table under FIX.md's store section.
    fn documented_tables() -> Vec<Vec<(usize, usize, String)>> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/FIX.md");
        let text = std::fs::read_to_string(path).unwrap();
        let section = text
            .split("## The session store")
            .nth(1)
            .expect("FIX.md has the store section");
        let section = section.split("\n## ").next().unwrap();
        let mut tables = vec![Vec::new()];
        for line in section.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            match cells.as_slice() {
                ["", offset, bytes, field, ""] => {
                    if let (Ok(offset), Ok(bytes)) = (offset.parse(), bytes.parse()) {
                        tables
                            .last_mut()
                            .unwrap()
                            .push((offset, bytes, (*field).to_owned()));
                    }
                }
                _ if !tables.last().unwrap().is_empty() => tables.push(Vec::new()),
                _ => {}
            }
        }
        tables.retain(|table| !table.is_empty());
        tables
    }

    #[test]
    fn the_documented_layout_is_the_one_written() {
        let tables = documented_tables();
        assert_eq!(tables.len(), 2, "{tables:?}");
        let (header, record) = (&tables[0], &tables[1]);
        let field = |table: &[(usize, usize, String)], name: &str| {
            table
                .iter()
                .find(|(_, _, text)| text.contains(name))
                .map(|&(offset, bytes, _)| (offset, bytes))
                .unwrap_or_else(|| panic!("no row for {name}"))
        };
        let end = header.iter().map(|(o, b, _)| o + b).max().unwrap();
        assert_eq!(end as u64, HEADER_BYTES);
        let record_end = record
            .iter()
            .map(|(o, b, _)| o + b)
            .filter(|&e| e < 1000)
            .max()
            .unwrap();
        assert_eq!(record_end, RECORD_HEADER_BYTES);

        let dir = std::env::temp_dir().join(format!("cx-fix-layout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("L.fixstore");
        let _ = std::fs::remove_file(&path);
        let mut store = Store::open(&path).unwrap();
        store.set_next_in(0x0102_0304).unwrap();
        let seq = store.take_out().unwrap();
        store.keep(seq + 1, 0x0a0b_0c0d, b"8=FIX").unwrap();
        assert_eq!(store.next_out(), 3);
        store.set_next_in(0x0102_0304).unwrap(); // rewrites both numbers
        let bytes = std::fs::read(&path).unwrap();
        let at = |(offset, length): (usize, usize), base: usize| {
            bytes[base + offset..base + offset + length].to_vec()
        };
        assert_eq!(at(field(header, "magic"), 0), MAGIC);
        assert_eq!(at(field(header, "version"), 0), STORE_VERSION.to_le_bytes());
        assert_eq!(
            at(field(header, "incoming"), 0),
            0x0102_0304u32.to_le_bytes()
        );
        assert_eq!(at(field(header, "outgoing"), 0), 3u32.to_le_bytes());
        let base = HEADER_SIZE;
        assert_eq!(at(field(record, "MsgSeqNum"), base), 2u32.to_le_bytes());
        assert_eq!(at(field(record, "length"), base), 5u32.to_le_bytes());
        assert_eq!(
            at(field(record, "SendingTime"), base),
            0x0a0b_0c0du64.to_le_bytes()
        );
        assert_eq!(&bytes[base + RECORD_HEADER_BYTES..], b"8=FIX");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn numbers_and_kept_messages_survive_a_reopen_and_a_torn_tail_is_dropped() {
        let dir = std::env::temp_dir().join(format!("cx-fix-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("C1.fixstore");
        let _ = std::fs::remove_file(&path);
        {
            let mut store = Store::open(&path).unwrap();
            assert_eq!((store.next_in(), store.next_out()), (1, 1));
            assert_eq!(store.take_out().unwrap(), 1);
            store.keep(2, 77, b"8=FIX.4.4|...").unwrap();
            assert_eq!(store.next_out(), 3);
            store.set_next_in(5).unwrap();
        }
        // A crash mid-record: half a record header at the end.
        let file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all_at(&[3, 0, 0], std::fs::metadata(&path).unwrap().len())
            .unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!((store.next_in(), store.next_out()), (5, 3));
        assert_eq!(
            store.kept(1, 10).unwrap(),
            vec![(2, 77, b"8=FIX.4.4|...".to_vec())]
        );
        assert!(store.kept(3, 10).unwrap().is_empty());
        std::fs::write(&path, b"not a store at all, not at all").unwrap();
        assert!(matches!(Store::open(&path), Err(StoreError::Format { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
