//! Opening the engine on its journal directory: recover the journal's end, load the
//! newest valid snapshot, replay the records after it, and go on appending.

use std::path::Path;
use std::time::Duration;

use crossline_config::{Config, Durability};
use crossline_journal::{
    Durability as JournalDurability, JournalConfig, Reader, TornTail, Writer, RUN_MAX,
};
use crossline_sequencer::{Journal, JournalFailure, Record};

use crate::codec::{self, KIND_COMMAND, KIND_CONFIG};
use crate::engine::{Engine, EngineError, Observer};
use crate::snapshot;

/// Largest journal payload the engine writes (the configuration record is the largest).
pub const PAYLOAD_MAX: usize = 64 << 10;

/// The memory-mapped journal as the sequencer's [`Journal`].
pub struct MappedJournal {
    writer: Writer,
}

impl MappedJournal {
    /// The journal's writer (to end a batch, sync, or read its counters).
    #[must_use]
    pub fn writer(&self) -> &Writer {
        &self.writer
    }
}

impl Journal for MappedJournal {
    #[inline]
    fn append(&mut self, record: &Record) -> Result<(), JournalFailure> {
        let failure = |reason: String| JournalFailure {
            sequence: record.sequence,
            reason,
        };
        let payload = codec::encode(record);
        self.writer
            .append(
                KIND_COMMAND,
                record.sequence.get(),
                record.time.get(),
                &payload,
            )
            .map(|_| ())
            .map_err(|e| failure(e.to_string()))
    }

    #[inline]
    fn end_batch(&mut self) {
        self.writer.end_batch();
    }

    fn flush_soon(&mut self) {
        self.writer.flush_soon();
    }
}

/// The journal settings of `config` for the journal in `dir`.
#[must_use]
pub fn journal_config(dir: &Path, config: &Config) -> JournalConfig {
    let mut journal = JournalConfig::new(dir);
    journal.segment_bytes = config.journal.segment_bytes;
    journal.payload_max = PAYLOAD_MAX;
    journal.durability = match config.journal.durability {
        Durability::Process => JournalDurability::Process,
        Durability::SyncPerBatch => JournalDurability::SyncPerBatch,
        Durability::SyncInterval(ms) => JournalDurability::SyncInterval(Duration::from_millis(ms)),
    };
    journal
}

/// The configuration's hash, which snapshots carry.
#[must_use]
pub fn config_hash(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// What opening found and did.
#[derive(Debug, Clone)]
pub struct RecoveryReport {
    /// Records in the journal before this run (the configuration record included).
    pub records: u64,
    /// The last record's sequence number.
    pub last_sequence: Option<u64>,
    /// A torn record a crash left at the end, cleared.
    pub torn: Option<TornTail>,
    /// The snapshot loaded, by its cut.
    pub snapshot: Option<u64>,
    /// Snapshots passed over, newest first, each with why.
    pub skipped_snapshots: Vec<String>,
    /// Command records replayed after the snapshot (or from the start).
    pub replayed: u64,
    /// The hash of the journal's configuration record, which its snapshots carry.
    pub config_hash: u64,
    /// The operational settings this run's configuration changes from the journal's
    /// (the parts replay does not depend on: `[journal]`, `[network]`, `[pipeline]`,
    /// `[router]`, `[simulator]`, client secrets), by table; empty when unchanged.
    pub config_changes: Vec<&'static str>,
}

impl std::fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "journal: {} records", self.records)?;
        if let Some(last) = self.last_sequence {
            write!(f, " through sequence {last}")?;
        }
        match self.snapshot {
            Some(cut) => write!(f, "; loaded snapshot at {cut}")?,
            None => write!(f, "; no snapshot")?,
        }
        write!(f, "; replayed {} records", self.replayed)?;
        if let Some(torn) = &self.torn {
            write!(f, "; {torn}, cleared")?;
        }
        for skipped in &self.skipped_snapshots {
            write!(f, "; skipped {skipped}")?;
        }
        if !self.config_changes.is_empty() {
            write!(
                f,
                "; this run changes {} from the journal's configuration (operational \
                 settings: the journal keeps its own)",
                self.config_changes.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Opens the engine on the journal in `dir` with the configuration `text`: recovers the
/// journal (clearing a torn tail), checks it was started with this configuration (a new
/// journal records it as its first record), loads the newest valid snapshot and replays
/// the records after it, rebuilding every piece of state. The engine then appends after
/// the last record and writes snapshots into `dir`.
///
/// # Errors
/// [`EngineError`]: a damaged journal, another configuration, a replay that disagrees
/// with the journal.
pub fn open(
    dir: &Path,
    text: &str,
) -> Result<(Engine<MappedJournal>, RecoveryReport), EngineError> {
    open_observed(dir, text, &mut ())
}

/// [`open`], with `observer` told of every record replayed and what it caused: from the
/// journal's first record when no snapshot was loaded (`RecoveryReport::snapshot` is
/// `None`), else from the snapshot's cut on, after `Observer::snapshot_loaded` handed
/// it the snapshot (whose replies part lets the pipeline number every client's replies
/// from the cut on; only a snapshot without one needs a second replay of the whole day).
///
/// # Errors
/// As [`open`].
pub fn open_observed(
    dir: &Path,
    text: &str,
    observer: &mut impl Observer,
) -> Result<(Engine<MappedJournal>, RecoveryReport), EngineError> {
    let config = crossline_config::parse(text).map_err(|e| EngineError::Config(e.to_string()))?;
    if text.len() > PAYLOAD_MAX {
        return Err(EngineError::Config(format!(
            "the configuration is {} bytes; the journal's first record holds at most {PAYLOAD_MAX}",
            text.len()
        )));
    }
    let kept =
        crossline_config::without_secrets(text).map_err(|e| EngineError::Config(e.to_string()))?;
    let (mut writer, opened) = Writer::open(journal_config(dir, &config))?;
    let (recorded, config_changes) = if opened.records == 0 {
        writer.append(KIND_CONFIG, 0, 0, kept.as_bytes())?;
        (kept, Vec::new())
    } else {
        check_config(dir, &kept, &config)?
    };
    // Snapshots belong to the journal's configuration, not to the file's operational
    // settings (a changed thread plan or secret keeps them usable).
    let hash = config_hash(&recorded);
    snapshot::remove_unfinished(dir).map_err(|e| EngineError::Snapshot(e.to_string()))?;
    let mut skipped = Vec::new();
    let mut loaded = None;
    let listed = snapshot::list(dir).map_err(|e| EngineError::Snapshot(e.to_string()))?;
    for (cut, path) in listed {
        if opened.last_sequence.is_none_or(|last| cut > last) {
            skipped.push(format!("{}: after the journal's end", path.display()));
            continue;
        }
        match snapshot::read(&path, hash) {
            Ok(snapshot) => {
                loaded = Some(snapshot);
                break;
            }
            Err(why) => skipped.push(why),
        }
    }
    let journal = MappedJournal { writer };
    let mut engine = match &loaded {
        Some(snapshot) => {
            observer.snapshot_loaded(snapshot);
            Engine::from_snapshot(snapshot, journal)?
        }
        None => Engine::new(&config, journal)?,
    };
    let replayed = replay_from(dir, &mut engine, None, observer, &mut |_| {})?;
    engine.finish_replay();
    engine.write_snapshots(dir.to_owned(), hash);
    let report = RecoveryReport {
        records: opened.records,
        last_sequence: opened.last_sequence,
        torn: opened.torn,
        snapshot: loaded.map(|s| s.cut),
        skipped_snapshots: skipped,
        replayed,
        config_hash: hash,
        config_changes,
    };
    Ok((engine, report))
}

/// Reads the journal's configuration record.
///
/// # Errors
/// [`EngineError::NoConfig`] when the first record is something else.
pub fn read_config(dir: &Path) -> Result<String, EngineError> {
    let mut reader = Reader::open(dir, PAYLOAD_MAX)?;
    let no_config = |what: String| EngineError::NoConfig {
        dir: dir.to_owned(),
        what,
    };
    let entry = reader
        .next()?
        .ok_or_else(|| no_config("the journal is empty".to_owned()))?;
    if entry.kind != KIND_CONFIG {
        return Err(no_config(format!("a record of kind {}", entry.kind)));
    }
    String::from_utf8(entry.payload.to_vec())
        .map_err(|_| no_config("text that is not UTF-8".to_owned()))
}

/// The journal's configuration record, parsed: what a replay of the journal runs on.
///
/// # Errors
/// [`read_config`]'s, or [`EngineError::Config`] naming what does not parse.
pub fn recorded_config(dir: &Path) -> Result<Config, EngineError> {
    let text = read_config(dir)?;
    crossline_config::parse(&text)
        .map_err(|e| EngineError::Config(format!("the journal's configuration: {e}")))
}

/// Checks this run's configuration (`kept`: its text as the journal keeps it, parsed
/// as `config`) against the journal's: the same text, or one that differs only in
/// operational settings (returned by table), is accepted; a change to what replay
/// depends on (risk limits, clients, symbols, matcher policies) is refused, naming the
/// part and the first line that differs. Returns the journal's text.
fn check_config(
    dir: &Path,
    kept: &str,
    config: &Config,
) -> Result<(String, Vec<&'static str>), EngineError> {
    let recorded = read_config(dir)?;
    if recorded == kept {
        return Ok((recorded, Vec::new()));
    }
    // A journal written before secrets were left out holds the full text.
    let journaled = crossline_config::parse(&recorded)
        .map_err(|e| EngineError::Config(format!("the journal's configuration: {e}")))?;
    let replayed_part = if journaled.risk != config.risk {
        Some("the risk limits and clients ([risk], [[clients]], [client_defaults])")
    } else if journaled.matcher != config.matcher || journaled.symbol_names != config.symbol_names {
        Some("the symbols or the matcher's policies ([[symbols]], [symbol_defaults], [matcher])")
    } else {
        None
    };
    if let Some(part) = replayed_part {
        let line = recorded
            .lines()
            .zip(kept.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| recorded.lines().count().min(kept.lines().count()))
            + 1;
        return Err(EngineError::ConfigMismatch {
            dir: dir.to_owned(),
            part,
            line,
        });
    }
    let changes = [
        ("[journal]", journaled.journal != config.journal),
        ("[network]", journaled.network != config.network),
        ("[pipeline]", journaled.pipeline != config.pipeline),
        ("[router]", journaled.router != config.router),
        ("[simulator]", journaled.simulator != config.simulator),
        ("client secrets", journaled.secrets != config.secrets),
    ]
    .into_iter()
    .filter_map(|(table, changed)| changed.then_some(table))
    .collect();
    Ok((recorded, changes))
}

/// Replays the command records of the journal in `dir` into `engine`, from its next
/// sequence number up to `until` (inclusive; `None`: the end). `progress` is told each
/// record's sequence number. Returns the records replayed.
///
/// # Errors
/// [`EngineError`] for a record that does not decode or replays differently.
pub fn replay_from<J: Journal>(
    dir: &Path,
    engine: &mut Engine<J>,
    until: Option<u64>,
    observer: &mut impl Observer,
    progress: &mut impl FnMut(u64),
) -> Result<u64, EngineError> {
    let mut reader = Reader::open(dir, PAYLOAD_MAX)?;
    reader.seek(engine.sequencer().next_sequence().get())?;
    let mut replayed = 0;
    while let Some(run) = reader.next_run(RUN_MAX)? {
        for entry in &run {
            if until.is_some_and(|until| entry.sequence > until) {
                return Ok(replayed);
            }
            if entry.kind != KIND_COMMAND {
                continue;
            }
            let record = codec::decode(&entry)?;
            engine.replay(&record, observer)?;
            replayed += 1;
            progress(entry.sequence);
        }
    }
    Ok(replayed)
}
