//! Every decoder of journal bytes takes any bytes and answers with a record or a specific
//! error: the command record, snapshot files and their parts. (The fuzz targets
//! `journal_record` and `snapshot` in `crates/protocol/fuzz` do the same with libFuzzer;
//! these run in every test run.) And the command record's table in `docs/JOURNAL.md` is
//! the code.

use crossline_engine::codec::{self, KIND_COMMAND, RECORD_BYTES, RECORD_FIELDS};
use crossline_engine::snapshot::{self, Parts, Snapshot};
use crossline_engine::Engine;
use crossline_journal::{Entry, Position};
use crossline_sequencer::{Command, Decision, NoJournal, Record, Verdict};
use crossline_types::layout::KIND_OFFSET;
use crossline_types::{
    Capacity, ClientId, ClientOrderId, NewOrder, OrderType, Price, Quantity, SequenceNumber, Side,
    SymbolId, TimeInForce, Timestamp,
};

/// A xorshift generator: the same bytes every run.
struct Bytes(u64);

impl Bytes {
    fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *byte = self.0.to_le_bytes()[0];
        }
    }
}

fn entry(payload: &[u8], sequence: u64, timestamp: u64) -> Entry<'_> {
    Entry {
        kind: KIND_COMMAND,
        sequence,
        timestamp,
        payload,
        position: Position {
            segment: 0,
            offset: 64,
        },
    }
}

fn order_record() -> Record {
    Record {
        sequence: SequenceNumber::new(12),
        time: Timestamp::new(34),
        command: Command::NewOrder(NewOrder {
            client: ClientId::new(1),
            symbol: SymbolId::new(2),
            client_order_id: ClientOrderId::new(3),
            price: Price::from_micros(4),
            quantity: Quantity::new(5),
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Day,
            capacity: Capacity::Agency,
        }),
        verdict: Verdict::Accepted,
        events_applied: 99,
    }
}

#[test]
fn the_command_record_table_is_the_code() {
    let doc = include_str!("../../../docs/JOURNAL.md");
    let table = doc
        .split("The command record (")
        .nth(1)
        .expect("JOURNAL.md has the command record table");
    let rows: Vec<(usize, usize)> = table
        .lines()
        .skip_while(|line| !line.starts_with("| offset"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].parse().unwrap(), cells[2].parse().unwrap())
        })
        .collect();
    let fields: Vec<(usize, usize)> = RECORD_FIELDS.iter().map(|(_, o, s)| (*o, *s)).collect();
    assert_eq!(rows, fields);
    assert_eq!(rows.last().map(|(o, s)| o + s), Some(RECORD_BYTES));
    // A written record holds each field where the table says.
    let record = order_record();
    let payload = codec::encode(&record);
    assert_eq!(payload[KIND_OFFSET], 1, "a new order message");
    assert_eq!(payload[56], 1, "verdict accepted");
    assert_eq!(&payload[64..72], &99u64.to_le_bytes(), "events applied");
    let decoded = codec::decode(&entry(&payload, 12, 34)).unwrap();
    assert_eq!(decoded.command, record.command);
    assert_eq!(decoded.decision, Decision::Accepted);
    assert_eq!(decoded.events_applied, 99);
}

#[test]
fn a_record_decodes_or_gets_a_specific_error_whatever_its_bytes() {
    let good = codec::encode(&order_record());
    // The frame's sequence number and time must be the message's.
    let error = codec::decode(&entry(&good, 13, 34)).unwrap_err();
    assert!(error.to_string().contains("sequence 12"), "{error}");
    // A record of the wrong length.
    let error = codec::decode(&entry(&good[..71], 12, 34)).unwrap_err();
    assert!(error.to_string().contains("payload of 71 bytes"), "{error}");
    // An undefined verdict.
    let mut bad = good;
    bad[56] = 9;
    let error = codec::decode(&entry(&bad, 12, 34)).unwrap_err();
    assert!(error.to_string().contains("verdict 9"), "{error}");
    // A bad code in the message names the field.
    let mut bad = good;
    bad[17] = 0;
    let error = codec::decode(&entry(&bad, 12, 34)).unwrap_err();
    assert!(error.to_string().contains("side 0"), "{error}");
    // Arbitrary bytes, mostly with a real kind and a plausible verdict.
    let mut random = Bytes(0x0123_4567_89AB_CDEF);
    let mut decoded = 0;
    for round in 0..100_000_u32 {
        let mut payload = [0u8; RECORD_BYTES];
        random.fill(&mut payload);
        payload[KIND_OFFSET] = u8::try_from(round % 12).unwrap();
        payload[56] = u8::try_from(round % 5).unwrap();
        if round % 3 == 0 {
            payload[58..60].copy_from_slice(&[0, 0]);
        }
        let sequence = u64::from_le_bytes(payload[..8].try_into().unwrap());
        let time = u64::from_le_bytes(payload[8..16].try_into().unwrap());
        if let Ok(record) = codec::decode(&entry(&payload, sequence, time)) {
            decoded += 1;
            let message = record.command.to_message(record.sequence, record.time);
            let again = codec::encode_message(&message, record.decision, record.events_applied);
            assert_eq!(
                codec::decode(&entry(&again, sequence, time)).unwrap(),
                record
            );
        }
    }
    assert!(
        decoded > 1_000,
        "the generator reached valid records ({decoded})"
    );
}

#[test]
fn snapshot_files_and_parts_of_any_bytes_give_an_error_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("crossline-decoders-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let engine = Engine::new(
        &crossline_config::parse(crossline_config::DEFAULT).unwrap(),
        NoJournal,
    )
    .unwrap();
    let parts = Parts {
        sequencer: snapshot::encode_part(&engine.sequencer().state()).unwrap(),
        pending: snapshot::encode_events(&[]),
        matcher: snapshot::encode_part(engine.matcher()).unwrap(),
        replies: Vec::new(),
    };
    let path = snapshot::write(&dir, 5, 7, &parts).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let good = snapshot::parse(&path, &bytes, 7).unwrap();
    assert!(Engine::from_snapshot(&good, NoJournal).is_ok());
    // A change of any header byte or of a byte in the parts, and every truncation, is
    // caught by the file's checks. (The parts are megabytes: every 99,991st byte.)
    let samples = (0..snapshot::HEADER).chain((snapshot::HEADER..bytes.len()).step_by(99_991));
    for at in samples.clone() {
        let mut bad = bytes.clone();
        bad[at] ^= 0x5A;
        assert!(snapshot::parse(&path, &bad, 7).is_err(), "byte {at}");
    }
    for length in samples {
        assert!(
            snapshot::parse(&path, &bytes[..length], 7).is_err(),
            "{length} bytes"
        );
    }
    // Parts that pass the file's checks but hold other bytes are refused by decoding.
    let mut random = Bytes(0xFEED_FACE_CAFE_BEEF);
    for round in 0..600_usize {
        let mut noise = vec![0u8; round % 300];
        random.fill(&mut noise);
        let mut parts = good.parts.clone();
        match round % 3 {
            0 => parts.sequencer = noise,
            1 => parts.pending = noise,
            _ => parts.matcher = noise,
        }
        let snapshot = Snapshot {
            parts,
            ..good.clone()
        };
        let _ = Engine::from_snapshot(&snapshot, NoJournal);
    }
    // A part with bytes left over after its value is refused, naming the part.
    let mut parts = good.parts.clone();
    parts.pending.push(0);
    let error = Engine::from_snapshot(
        &Snapshot {
            parts,
            ..good.clone()
        },
        NoJournal,
    )
    .err()
    .expect("refused");
    assert!(error.to_string().contains("events part"), "{error}");
    // In-flight events are 56-byte event messages: a command's kind is refused, naming
    // the message; a whole snapshot marker is read back.
    let marker = crossline_matcher::Event::Snapshot {
        sequence: SequenceNumber::new(5),
    }
    .to_back_message(SequenceNumber::new(5), Timestamp::new(1))
    .unwrap();
    assert_eq!(
        snapshot::decode_events(&snapshot::encode_events(&[marker])).unwrap(),
        vec![marker]
    );
    let mut order = snapshot::encode_events(&[marker]);
    order[KIND_OFFSET] =
        <crossline_types::layout::NewOrderLayout as crossline_types::layout::Layout>::KIND;
    let error = snapshot::decode_events(&order).unwrap_err();
    assert!(error.contains("event message 0 is of kind 1"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}
