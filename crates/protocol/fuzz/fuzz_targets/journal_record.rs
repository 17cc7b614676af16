//! The engine's decoder of journal command records: any payload gives a record or an
//! error, and a record re-encodes to the same payload bytes (less the padding the
//! layouts leave zero, which decoding ignores).
#![no_main]

use crossline_engine::codec::{self, KIND_COMMAND, RECORD_BYTES};
use crossline_journal::{Entry, Position};
use crossline_types::MESSAGE_BYTES;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (sequence, timestamp) = match data.get(..16) {
        Some(head) => (
            u64::from_le_bytes(head[..8].try_into().unwrap_or_default()),
            u64::from_le_bytes(head[8..].try_into().unwrap_or_default()),
        ),
        None => (0, 0),
    };
    let entry = Entry {
        kind: KIND_COMMAND,
        sequence,
        timestamp,
        payload: data,
        position: Position {
            segment: 0,
            offset: 64,
        },
    };
    if let Ok(record) = codec::decode(&entry) {
        assert_eq!(data.len(), RECORD_BYTES);
        let message = record.command.to_message(record.sequence, record.time);
        let again = codec::encode_message(&message, record.decision, record.events_applied);
        let decoded = codec::decode(&Entry {
            payload: &again,
            ..entry
        })
        .expect("a re-encoded record decodes");
        assert_eq!(decoded, record);
        assert_eq!(&again[MESSAGE_BYTES..], &data[MESSAGE_BYTES..].iter().enumerate()
            .map(|(at, byte)| if matches!(at, 1 | 4..=7) { 0 } else { *byte })
            .collect::<Vec<u8>>()[..]);
    }
});
