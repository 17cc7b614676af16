//! Journal records of the engine: what each kind's payload holds (`docs/JOURNAL.md` has
//! the byte tables; [`RECORD_FIELDS`] is the command record's, checked against it).
//!
//! | kind | payload |
//! | --- | --- |
//! | [`KIND_CONFIG`] (1) | the configuration's TOML text, UTF-8: the journal's first record, sequence 0 |
//! | [`KIND_COMMAND`] (2) | 72 bytes: the command as the 56-byte message that crossed the ring (`docs/MESSAGES.md`), then the decision (verdict code, reason code) and the matcher events the gate had applied |
//!
//! The layout is fixed and versioned ([`FORMAT`], the journal's format version): a
//! journal is readable by any build of the same version, whatever its Rust types.

use crossline_journal::{Entry, Position};
use crossline_sequencer::{Command, Decision, Record, Recorded};
use crossline_types::{Message, SequenceNumber, Timestamp, MESSAGE_BYTES};

/// Kind of the configuration record.
pub const KIND_CONFIG: u16 = 1;
/// Kind of a sequencer record.
pub const KIND_COMMAND: u16 = 2;
/// The format version of the journal and of snapshots: written into every segment and
/// snapshot header and checked when one is opened.
pub const FORMAT: u32 = crossline_journal::layout::VERSION;

/// Bytes of a [`KIND_COMMAND`] payload.
pub const RECORD_BYTES: usize = MESSAGE_BYTES + 16;

/// The command record's fields: name, offset, size (the `docs/JOURNAL.md` table).
pub const RECORD_FIELDS: [(&str, usize, usize); 6] = [
    ("message", 0, MESSAGE_BYTES),
    ("verdict", MESSAGE_BYTES, 1),
    ("zero", MESSAGE_BYTES + 1, 1),
    ("reason", MESSAGE_BYTES + 2, 2),
    ("zero", MESSAGE_BYTES + 4, 4),
    ("events applied", MESSAGE_BYTES + 8, 8),
];

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

/// Encodes `record`'s payload: [`RECORD_BYTES`] bytes.
#[must_use]
pub fn encode(record: &Record) -> [u8; RECORD_BYTES] {
    let message = record.command.to_message(record.sequence, record.time);
    encode_message(
        &message,
        Decision::of(&record.verdict),
        record.events_applied,
    )
}

/// Encodes a payload from a command already in its message form.
#[must_use]
pub fn encode_message(
    message: &Message,
    decision: Decision,
    events_applied: u64,
) -> [u8; RECORD_BYTES] {
    let mut payload = [0u8; RECORD_BYTES];
    payload[..MESSAGE_BYTES].copy_from_slice(message.bytes());
    let (verdict, reason) = decision.codes();
    payload[MESSAGE_BYTES] = verdict;
    payload[MESSAGE_BYTES + 2..MESSAGE_BYTES + 4].copy_from_slice(&reason.to_le_bytes());
    payload[MESSAGE_BYTES + 8..].copy_from_slice(&events_applied.to_le_bytes());
    payload
}

/// Decodes a [`KIND_COMMAND`] entry.
///
/// # Errors
/// [`CodecError`] for another kind or any payload that is not a record (wrong length, a
/// message that is not a command, a sequence number or time other than the frame's, an
/// undefined verdict), never a panic.
pub fn decode(entry: &Entry<'_>) -> Result<Recorded, CodecError> {
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
    let payload: &[u8; RECORD_BYTES] = entry.payload.try_into().map_err(|_| {
        error(format!(
            "payload of {} bytes; a command record has {RECORD_BYTES}",
            entry.payload.len()
        ))
    })?;
    let mut bytes = [0u8; MESSAGE_BYTES];
    bytes.copy_from_slice(&payload[..MESSAGE_BYTES]);
    let message = Message::from_bytes(bytes);
    if message.sequence() != entry.sequence || message.time() != entry.timestamp {
        return Err(error(format!(
            "the message says sequence {} time {}; the frame says {} and {}",
            message.sequence(),
            message.time(),
            entry.sequence,
            entry.timestamp
        )));
    }
    let command = Command::from_message(&message).map_err(|e| error(e.to_string()))?;
    let verdict = payload[MESSAGE_BYTES];
    let reason = u16::from_le_bytes([payload[MESSAGE_BYTES + 2], payload[MESSAGE_BYTES + 3]]);
    let decision = Decision::from_codes(verdict, reason).ok_or_else(|| {
        error(format!(
            "verdict {verdict} with reason {reason} is not defined"
        ))
    })?;
    let mut events = [0u8; 8];
    events.copy_from_slice(&payload[MESSAGE_BYTES + 8..]);
    Ok(Recorded {
        sequence: SequenceNumber::new(entry.sequence),
        time: Timestamp::new(entry.timestamp),
        command,
        decision,
        events_applied: u64::from_le_bytes(events),
    })
}
