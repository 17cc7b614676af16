//! Journal records of the engine: what each kind's payload holds.
//!
//! | kind | payload |
//! | --- | --- |
//! | [`KIND_CONFIG`] (1) | the configuration's TOML text, UTF-8: the journal's first record, sequence 0 |
//! | [`KIND_COMMAND`] (2) | a sequencer [`Record`] less its sequence number and time (which the frame carries): `bincode` 1.3 (fixed-width little-endian integers) of `(Command, Verdict, events_applied: u64)` |
//!
//! The payload's schema is the Rust types', so [`FORMAT`] changes whenever they do.

use crossline_journal::{Entry, Position};
use crossline_sequencer::{Command, Record, Verdict};
use crossline_types::{SequenceNumber, Timestamp};

/// Kind of the configuration record.
pub const KIND_CONFIG: u16 = 1;
/// Kind of a sequencer record.
pub const KIND_COMMAND: u16 = 2;
/// The version of the payload schema, written into every snapshot and checked on load.
pub const FORMAT: u32 = 1;

#[derive(serde::Serialize)]
struct PayloadRef<'a> {
    command: &'a Command,
    verdict: &'a Verdict,
    events_applied: u64,
}

#[derive(serde::Deserialize)]
struct Payload {
    command: Command,
    verdict: Verdict,
    events_applied: u64,
}

/// A journal record that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("journal record {sequence} at {at}: {reason}")]
pub struct CodecError {
    /// The record's sequence number.
    pub sequence: u64,
    /// Where it is.
    pub at: Position,
    /// Why.
    pub reason: String,
}

/// Encodes `record`'s payload into `buffer` (cleared first).
///
/// # Errors
/// `bincode`'s, which writing these plain types into a `Vec` does not produce.
pub fn encode(record: &Record, buffer: &mut Vec<u8>) -> Result<(), bincode::Error> {
    buffer.clear();
    let payload = PayloadRef {
        command: &record.command,
        verdict: &record.verdict,
        events_applied: record.events_applied,
    };
    bincode::serialize_into(&mut *buffer, &payload)
}

/// Decodes a [`KIND_COMMAND`] entry.
///
/// # Errors
/// [`CodecError`] for another kind, or a payload that is not a record.
pub fn decode(entry: &Entry<'_>) -> Result<Record, CodecError> {
    let error = |reason: String| CodecError {
        sequence: entry.sequence,
        at: entry.position,
        reason,
    };
    if entry.kind != KIND_COMMAND {
        return Err(error(format!(
            "kind {} is not a command record",
            entry.kind
        )));
    }
    let payload: Payload =
        bincode::deserialize(entry.payload).map_err(|e| error(format!("payload: {e}")))?;
    Ok(Record {
        sequence: SequenceNumber::new(entry.sequence),
        time: Timestamp::new(entry.timestamp),
        command: payload.command,
        verdict: payload.verdict,
        events_applied: payload.events_applied,
    })
}
