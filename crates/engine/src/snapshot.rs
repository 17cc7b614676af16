//! Snapshot files: the engine's whole state at a cut, so recovery replays only the
//! journal records after it.
//!
//! `snapshot-<cut, 20 digits>.cxs` in the journal directory, written to a temporary
//! name, synced and renamed, so a crash leaves either the whole file or none:
//!
//! ```text
//!  0  8  magic "CRSLSNAP"
//!  8  4  format version (codec::FORMAT, the journal's)
//! 12  4  layout version (LAYOUT, 3)
//! 16  8  cut: the sequence number of the Snapshot command
//! 24  8  bytes of the sequencer part (postcard of the gate and its counters)
//! 32  8  bytes of the in-flight events part (56-byte event messages, back to back)
//! 40  8  bytes of the matcher part (postcard of the matcher)
//! 48  8  bytes of the replies part (every client's kept replies; may be empty)
//! 56  8  state hash: xxh3-64 of the first three parts, in order
//! 64  8  configuration hash: xxh3-64 of the configuration text
//! 72  4  CRC32C of bytes 0..72 and the four parts
//! 76 52  zero
//! 128 …  the four parts
//! ```
//!
//! The replies part is the order ingress's: each client's reply numbering and the
//! replies it keeps for resend, at the cut (`Sessions::export_replies`). A snapshot the
//! one-thread engine writes without an observer that keeps replies leaves it empty; a
//! restart from such a snapshot numbers the replies by replaying the whole journal.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crossline_types::layout::{
    ExecutedLayout, Layout, PositionChangedLayout, ReleasedLayout, ReplacedLayout, SnapshotLayout,
};
use crossline_types::{Message, MESSAGE_BYTES};

use crate::codec::FORMAT;

const MAGIC: &[u8; 8] = b"CRSLSNAP";
/// The header's size; the parts follow it.
pub const HEADER: usize = 128;
/// The header layout's version (offset 12). Version 1 had no replies part; version 2
/// held the in-flight events as postcard of the matcher's Rust events.
pub const LAYOUT: u32 = 3;
/// Where each header field starts, as `docs/JOURNAL.md`'s table gives it.
pub const FIELDS: [(&str, usize, usize); 11] = [
    ("magic", 0, 8),
    ("format version", 8, 4),
    ("layout version", 12, 4),
    ("cut", 16, 8),
    ("sequencer part bytes", 24, 8),
    ("in-flight events part bytes", 32, 8),
    ("matcher part bytes", 40, 8),
    ("replies part bytes", 48, 8),
    ("state hash", 56, 8),
    ("configuration hash", 64, 8),
    ("CRC32C", 72, 4),
];
const CHECKED: usize = 72;
/// The extension of snapshot files.
pub const SNAPSHOT_EXTENSION: &str = "cxs";

/// The extension a snapshot has while it is being written.
const UNFINISHED_EXTENSION: &str = "tmp";

/// Removes snapshot files a crash left half written (never renamed into place).
///
/// # Errors
/// The file system's.
pub fn remove_unfinished(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("snapshot-")
            && path.extension().and_then(|e| e.to_str()) == Some(UNFINISHED_EXTENSION)
        {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// A snapshot's parts, serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// The sequencer's state ([`crossline_sequencer::SequencerStateRef`]).
    pub sequencer: Vec<u8>,
    /// The matcher events in flight at the cut.
    pub pending: Vec<u8>,
    /// The matcher's state.
    pub matcher: Vec<u8>,
    /// Every client's kept replies at the cut (empty: not recorded).
    pub replies: Vec<u8>,
}

impl Parts {
    /// The state hash: xxh3-64 of the engine's parts (sequencer, in-flight events,
    /// matcher) in order; the replies are the edge's, not the engine's state.
    #[must_use]
    pub fn hash(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&self.sequencer);
        hasher.update(&self.pending);
        hasher.update(&self.matcher);
        hasher.digest()
    }

    /// The parts' size in bytes, together.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.all().iter().map(|part| part.len()).sum()
    }

    fn all(&self) -> [&Vec<u8>; 4] {
        [&self.sequencer, &self.pending, &self.matcher, &self.replies]
    }
}

/// A snapshot read back.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Its cut.
    pub cut: u64,
    /// Its state hash.
    pub state_hash: u64,
    /// The parts.
    pub parts: Parts,
    /// Its file.
    pub path: PathBuf,
}

/// One part of a snapshot, serialized as the file holds it (`postcard`).
///
/// # Errors
/// What the serializer refused.
pub fn encode_part<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    postcard::to_stdvec(value).map_err(|e| e.to_string())
}

/// One part of a snapshot read back: the whole of `bytes` must be one value.
///
/// # Errors
/// What the deserializer refused, or bytes left over after the value.
pub fn decode_part<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} bytes left over after the value", rest.len()))
    }
}

/// The in-flight events part: each event message's 56 bytes
/// (`crossline_matcher::Event::to_back_message`, `docs/MESSAGES.md`), oldest first.
#[must_use]
pub fn encode_events<'a>(events: impl IntoIterator<Item = &'a Message>) -> Vec<u8> {
    events
        .into_iter()
        .flat_map(|event| event.bytes().iter().copied())
        .collect()
}

/// The in-flight events part read back.
///
/// # Errors
/// A length that is not a whole number of messages, or a message of a kind that never
/// goes back to the sequencer (its place and kind named).
pub fn decode_events(bytes: &[u8]) -> Result<Vec<Message>, String> {
    if bytes.len() % MESSAGE_BYTES != 0 {
        return Err(format!(
            "{} bytes is not a whole number of {MESSAGE_BYTES}-byte event messages",
            bytes.len()
        ));
    }
    bytes
        .chunks_exact(MESSAGE_BYTES)
        .enumerate()
        .map(|(index, chunk)| {
            let mut message = [0; MESSAGE_BYTES];
            message.copy_from_slice(chunk);
            let message = Message::from_bytes(message);
            if BACK_KINDS.contains(&message.kind()) {
                Ok(message)
            } else {
                Err(format!(
                    "event message {index} is of kind {}, which never goes back to the sequencer",
                    message.kind()
                ))
            }
        })
        .collect()
}

/// The kinds of message that go back to the sequencer: a snapshot marker and the
/// events the risk gate follows.
const BACK_KINDS: [u8; 5] = [
    SnapshotLayout::KIND,
    ReleasedLayout::KIND,
    ExecutedLayout::KIND,
    ReplacedLayout::KIND,
    PositionChangedLayout::KIND,
];

/// Keeps the newest `kept` snapshot files in `dir` and removes the older ones; returns
/// how many it removed.
///
/// # Errors
/// The file system's.
pub fn prune(dir: &Path, kept: usize) -> std::io::Result<usize> {
    let listed = list(dir)?;
    let mut removed = 0;
    for (_, path) in listed.iter().skip(kept) {
        std::fs::remove_file(path)?;
        removed += 1;
    }
    Ok(removed)
}

/// The path of the snapshot at `cut`.
#[must_use]
pub fn path(dir: &Path, cut: u64) -> PathBuf {
    dir.join(format!("snapshot-{cut:020}.{SNAPSHOT_EXTENSION}"))
}

/// Writes a snapshot durably (temporary file, `fsync`, rename, directory `fsync`).
///
/// # Errors
/// The file system's.
pub fn write(dir: &Path, cut: u64, config_hash: u64, parts: &Parts) -> std::io::Result<PathBuf> {
    let mut header = [0u8; HEADER];
    header[0..8].copy_from_slice(MAGIC);
    header[8..12].copy_from_slice(&FORMAT.to_le_bytes());
    header[12..16].copy_from_slice(&LAYOUT.to_le_bytes());
    header[16..24].copy_from_slice(&cut.to_le_bytes());
    header[24..32].copy_from_slice(&(parts.sequencer.len() as u64).to_le_bytes());
    header[32..40].copy_from_slice(&(parts.pending.len() as u64).to_le_bytes());
    header[40..48].copy_from_slice(&(parts.matcher.len() as u64).to_le_bytes());
    header[48..56].copy_from_slice(&(parts.replies.len() as u64).to_le_bytes());
    header[56..64].copy_from_slice(&parts.hash().to_le_bytes());
    header[64..72].copy_from_slice(&config_hash.to_le_bytes());
    let crc = parts
        .all()
        .iter()
        .fold(crc32c::crc32c(&header[0..CHECKED]), |crc, part| {
            crc32c::crc32c_append(crc, part)
        });
    header[CHECKED..CHECKED + 4].copy_from_slice(&crc.to_le_bytes());
    let final_path = path(dir, cut);
    let temporary = final_path.with_extension(UNFINISHED_EXTENSION);
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(crossline_journal::FILE_MODE)
            .open(&temporary)?;
        file.write_all(&header)?;
        for part in parts.all() {
            file.write_all(part)?;
        }
        file.sync_all()?;
    }
    std::fs::rename(&temporary, &final_path)?;
    File::open(dir)?.sync_all()?;
    Ok(final_path)
}

/// Reads and checks one snapshot file.
///
/// # Errors
/// A message saying what is wrong with it.
pub fn read(path: &Path, config_hash: u64) -> Result<Snapshot, String> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    parse(path, &bytes, config_hash)
}

/// Checks a snapshot file's bytes (read from `path`, which errors name): any bytes give
/// the snapshot or a message saying what is wrong, never a panic.
///
/// # Errors
/// A message saying what is wrong with it.
pub fn parse(path: &Path, bytes: &[u8], config_hash: u64) -> Result<Snapshot, String> {
    let fail = |what: &str| format!("{}: {what}", path.display());
    if bytes.len() < HEADER || &bytes[0..8] != MAGIC {
        return Err(fail("not a snapshot (bad magic)"));
    }
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let format = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if format != FORMAT {
        return Err(fail(&format!(
            "snapshot format version {format}; this build reads version {FORMAT} only"
        )));
    }
    if bytes[CHECKED + 4..HEADER].iter().any(|byte| *byte != 0) {
        return Err(fail("reserved header bytes 76..128 are not zero"));
    }
    let layout = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if layout != LAYOUT {
        return Err(fail(&format!(
            "header layout {layout}, this build reads {LAYOUT}"
        )));
    }
    let lengths = [word(24), word(32), word(40), word(48)];
    let total = lengths
        .iter()
        .try_fold(HEADER as u64, |sum, length| sum.checked_add(*length));
    if total != Some(bytes.len() as u64) {
        return Err(fail("length does not match its header (cut short?)"));
    }
    let computed = crc32c::crc32c_append(crc32c::crc32c(&bytes[0..CHECKED]), &bytes[HEADER..]);
    let stored = &bytes[CHECKED..CHECKED + 4];
    if computed != u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]) {
        return Err(fail("CRC mismatch"));
    }
    if word(64) != config_hash {
        return Err(fail("made with a different configuration"));
    }
    let mut at = HEADER;
    let mut part = |length: u64| {
        let start = at;
        at += usize::try_from(length).unwrap_or(0);
        bytes[start..at].to_vec()
    };
    let parts = Parts {
        sequencer: part(lengths[0]),
        pending: part(lengths[1]),
        matcher: part(lengths[2]),
        replies: part(lengths[3]),
    };
    if parts.hash() != word(56) {
        return Err(fail("state hash mismatch"));
    }
    Ok(Snapshot {
        cut: word(16),
        state_hash: word(56),
        parts,
        path: path.to_owned(),
    })
}

/// The cuts of the snapshot files in `dir`, newest first.
///
/// # Errors
/// The directory cannot be read.
pub fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some(SNAPSHOT_EXTENSION) {
            continue;
        }
        let cut = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.strip_prefix("snapshot-"))
            .and_then(|s| s.parse::<u64>().ok());
        if let Some(cut) = cut {
            found.push((cut, path));
        }
    }
    found.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    Ok(found)
}
