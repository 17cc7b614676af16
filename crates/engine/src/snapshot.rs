//! Snapshot files: the engine's whole state at a cut, so recovery replays only the
//! journal records after it.
//!
//! `snapshot-<cut, 20 digits>.cxs` in the journal directory, written to a temporary
//! name, synced and renamed, so a crash leaves either the whole file or none:
//!
//! ```text
//!  0  8  magic "CRSLSNAP"
//!  8  4  payload format (codec::FORMAT)
//! 12  4  zero
//! 16  8  cut: the sequence number of the Snapshot command
//! 24  8  bytes of the sequencer part (bincode of the gate and its counters)
//! 32  8  bytes of the in-flight events part (bincode of Vec<Event>)
//! 40  8  bytes of the matcher part (bincode of the matcher)
//! 48  8  state hash: xxh3-64 of the three parts, in order
//! 56  8  configuration hash: xxh3-64 of the configuration text
//! 64  4  CRC32C of bytes 0..64 and the three parts
//! 68 60  zero
//! 128 …  the three parts
//! ```

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::codec::FORMAT;

const MAGIC: &[u8; 8] = b"CRSLSNAP";
const HEADER: usize = 128;
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

/// A snapshot's three parts, serialized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts {
    /// The sequencer's state ([`crossline_sequencer::SequencerStateRef`]).
    pub sequencer: Vec<u8>,
    /// The matcher events in flight at the cut.
    pub pending: Vec<u8>,
    /// The matcher's state.
    pub matcher: Vec<u8>,
}

impl Parts {
    /// The state hash: xxh3-64 of the parts in order.
    #[must_use]
    pub fn hash(&self) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&self.sequencer);
        hasher.update(&self.pending);
        hasher.update(&self.matcher);
        hasher.digest()
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
    header[16..24].copy_from_slice(&cut.to_le_bytes());
    header[24..32].copy_from_slice(&(parts.sequencer.len() as u64).to_le_bytes());
    header[32..40].copy_from_slice(&(parts.pending.len() as u64).to_le_bytes());
    header[40..48].copy_from_slice(&(parts.matcher.len() as u64).to_le_bytes());
    header[48..56].copy_from_slice(&parts.hash().to_le_bytes());
    header[56..64].copy_from_slice(&config_hash.to_le_bytes());
    let crc = [&parts.sequencer, &parts.pending, &parts.matcher]
        .iter()
        .fold(crc32c::crc32c(&header[0..64]), |crc, part| {
            crc32c::crc32c_append(crc, part)
        });
    header[64..68].copy_from_slice(&crc.to_le_bytes());
    let final_path = path(dir, cut);
    let temporary = final_path.with_extension(UNFINISHED_EXTENSION);
    {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)?;
        file.write_all(&header)?;
        file.write_all(&parts.sequencer)?;
        file.write_all(&parts.pending)?;
        file.write_all(&parts.matcher)?;
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
            "payload format {format}, this build reads {FORMAT}"
        )));
    }
    let lengths = [word(24), word(32), word(40)];
    let total = lengths
        .iter()
        .try_fold(HEADER as u64, |sum, length| sum.checked_add(*length));
    if total != Some(bytes.len() as u64) {
        return Err(fail("length does not match its header (cut short?)"));
    }
    let computed = crc32c::crc32c_append(crc32c::crc32c(&bytes[0..64]), &bytes[HEADER..]);
    if computed != u32::from_le_bytes([bytes[64], bytes[65], bytes[66], bytes[67]]) {
        return Err(fail("CRC mismatch"));
    }
    if word(56) != config_hash {
        return Err(fail("made with a different configuration"));
    }
    let (a, b) = (
        HEADER + usize::try_from(lengths[0]).unwrap_or(0),
        HEADER + usize::try_from(lengths[0] + lengths[1]).unwrap_or(0),
    );
    let parts = Parts {
        sequencer: bytes[HEADER..a].to_vec(),
        pending: bytes[a..b].to_vec(),
        matcher: bytes[b..].to_vec(),
    };
    if parts.hash() != word(48) {
        return Err(fail("state hash mismatch"));
    }
    Ok(Snapshot {
        cut: word(16),
        state_hash: word(48),
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
