//! The journal end to end: appends across segment rolls, reopening, the lock, the
//! tailing reader, durability policies, and recovery from every kind of damage.

#![allow(clippy::cast_possible_truncation)] // test payload bytes are built by truncation

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crossline_journal::{
    layout, segment_path, verify, Durability, JournalConfig, JournalError, Reader, Writer,
};

const SEGMENT: u64 = 64 << 10;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crossline-journal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(dir: &Path) -> JournalConfig {
    let mut config = JournalConfig::new(dir);
    config.segment_bytes = SEGMENT;
    config.payload_max = 1024;
    config
}

/// The payload of record `sequence`: its length varies from 0 to 199 bytes.
fn payload(sequence: u64) -> Vec<u8> {
    (0..(sequence * 37 % 200))
        .map(|i| (i as u8) ^ (sequence as u8))
        .collect()
}

/// Writes records 1..=count (sequence numbers ×2, so they have gaps, as the engine's do).
fn write(dir: &Path, count: u64) {
    let (mut writer, _) = Writer::open(config(dir)).expect("open");
    for n in 1..=count {
        writer
            .append(7, n * 2, n * 1000, &payload(n))
            .expect("append");
    }
}

fn read_all(dir: &Path) -> Result<Vec<(u64, u64, Vec<u8>)>, JournalError> {
    let mut reader = Reader::open(dir, 1024)?;
    let mut records = Vec::new();
    while let Some(entry) = reader.next()? {
        assert_eq!(entry.kind, 7);
        records.push((entry.sequence, entry.timestamp, entry.payload.to_vec()));
    }
    Ok(records)
}

fn expected(count: u64) -> Vec<(u64, u64, Vec<u8>)> {
    (1..=count).map(|n| (n * 2, n * 1000, payload(n))).collect()
}

fn segments(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cxj")
        })
        .count()
}

fn patch(path: &Path, offset: u64, bytes: &[u8]) {
    let mut file = OpenOptions::new().write(true).open(path).unwrap();
    file.seek(SeekFrom::Start(offset)).unwrap();
    file.write_all(bytes).unwrap();
}

fn read_byte(path: &Path, offset: u64) -> u8 {
    std::fs::read(path).unwrap()[offset as usize]
}

#[test]
fn records_round_trip_across_segment_rolls_and_reopening() {
    let dir = dir("roundtrip");
    write(&dir, 2000);
    assert!(
        segments(&dir) >= 4,
        "2,000 records of up to 256 bytes fill several 64 KiB segments"
    );
    assert_eq!(read_all(&dir).unwrap(), expected(2000));
    let (mut writer, opened) = Writer::open(config(&dir)).unwrap();
    assert_eq!(opened.records, 2000);
    assert_eq!(
        (opened.first_sequence, opened.last_sequence),
        (Some(2), Some(4000))
    );
    assert!(opened.torn.is_none());
    for n in 2001..=2500 {
        writer.append(7, n * 2, n * 1000, &payload(n)).unwrap();
    }
    drop(writer);
    assert_eq!(read_all(&dir).unwrap(), expected(2500));
    let scan = verify(&dir, 1024).unwrap();
    assert_eq!(scan.records, 2500);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_second_writer_is_refused_while_the_first_is_open() {
    let dir = dir("lock");
    let (writer, _) = Writer::open(config(&dir)).unwrap();
    let error = Writer::open(config(&dir))
        .err()
        .expect("second writer refused");
    assert!(matches!(error, JournalError::Locked { .. }), "{error}");
    assert!(error.to_string().contains("already open for writing"));
    drop(writer);
    Writer::open(config(&dir)).expect("free again once the first closes");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_appends_are_refused_and_write_nothing() {
    let dir = dir("refuse");
    let (mut writer, _) = Writer::open(config(&dir)).unwrap();
    writer.append(1, 10, 0, b"x").unwrap();
    assert!(matches!(
        writer.append(1, 10, 0, b"y"),
        Err(JournalError::SequenceNotIncreasing {
            sequence: 10,
            last: 10
        })
    ));
    assert!(matches!(
        writer.append(1, 11, 0, &[0; 1025]),
        Err(JournalError::PayloadTooLarge {
            length: 1025,
            max: 1024
        })
    ));
    assert!(matches!(
        writer.append(u16::MAX, 11, 0, b""),
        Err(JournalError::ReservedKind)
    ));
    writer.append(1, 11, 0, b"z").unwrap();
    drop(writer);
    let mut reader = Reader::open(&dir, 1024).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().payload, b"x");
    assert_eq!(reader.next().unwrap().unwrap().payload, b"z");
    assert!(reader.next().unwrap().is_none());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn configuration_errors_name_the_value() {
    let mut bad = config(&dir("config"));
    bad.segment_bytes = 5000;
    let error = Writer::open(bad).err().unwrap();
    assert!(error.to_string().contains("segment_bytes 5000"), "{error}");
}

#[test]
fn a_tailing_reader_sees_each_record_once_committed_across_rolls() {
    let dir = dir("tail");
    let (mut writer, _) = Writer::open(config(&dir)).unwrap();
    let reader_dir = dir.clone();
    let reader = std::thread::spawn(move || {
        let mut reader = Reader::open(&reader_dir, 1024).unwrap();
        let mut seen = Vec::new();
        while seen.len() < 3000 {
            match reader.next().unwrap() {
                Some(entry) => seen.push((entry.sequence, entry.timestamp, entry.payload.to_vec())),
                None => std::hint::spin_loop(),
            }
        }
        seen
    });
    for n in 1..=3000 {
        writer.append(7, n * 2, n * 1000, &payload(n)).unwrap();
    }
    assert_eq!(reader.join().unwrap(), expected(3000));
    assert!(writer.stats().rolls >= 5);
    drop(writer);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn seek_finds_the_first_record_at_or_after_a_sequence() {
    let dir = dir("seek");
    write(&dir, 2000);
    let mut reader = Reader::open(&dir, 1024).unwrap();
    reader.seek(3001).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().sequence, 3002);
    reader.seek(2).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().sequence, 2);
    reader.seek(9999).unwrap();
    assert!(reader.next().unwrap().is_none());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sync_policies_advance_the_durable_position() {
    for policy in [
        Durability::SyncPerBatch,
        Durability::SyncInterval(Duration::from_millis(5)),
    ] {
        let dir = dir("durable");
        let mut config = config(&dir);
        config.durability = policy;
        let (mut writer, _) = Writer::open(config).unwrap();
        for n in 1..=500 {
            writer.append(7, n, n, &payload(n)).unwrap();
        }
        let durable = writer.durable_sequence();
        assert!(durable.gated());
        // Under sync_per_batch nothing is synced before the batch ends.
        if policy == Durability::SyncPerBatch {
            std::thread::sleep(Duration::from_millis(20));
            assert_eq!((durable.sequence(), durable.msyncs()), (0, 0));
        }
        writer.end_batch();
        let target = writer.position();
        let mut waited = 0;
        while writer.durable() < target || durable.sequence() < 500 {
            std::thread::sleep(Duration::from_millis(1));
            waited += 1;
            assert!(
                waited < 5000,
                "{policy:?}: durable position stuck at {}",
                writer.durable()
            );
        }
        assert_eq!(durable.sequence(), 500, "{policy:?}");
        assert!(durable.msyncs() > 0, "{policy:?}");
        drop(writer);
        std::fs::remove_dir_all(&dir).ok();
    }
    // Under "process" there is no flusher: nothing waits.
    let dir = dir("durable-process");
    let (writer, _) = Writer::open(config(&dir)).unwrap();
    let durable = writer.durable_sequence();
    assert!(!durable.gated());
    assert_eq!((durable.sequence(), durable.msyncs()), (u64::MAX, 0));
    drop(writer);
    std::fs::remove_dir_all(&dir).ok();
}

/// The offset of record `n` (1-based) in segment 0, for records written by `write`.
fn offset_of(n: u64) -> u64 {
    let mut offset = layout::HEADER_BYTES as u64;
    for k in 1..n {
        offset += layout::frame_bytes(payload(k).len()) as u64;
    }
    offset
}

#[test]
fn a_torn_record_at_the_end_is_reported_and_cleared() {
    let dir = dir("torn");
    write(&dir, 100);
    // A crash mid-append: the declared length and part of the payload, no commit marker.
    let at = offset_of(101);
    let path = segment_path(&dir, 0);
    patch(&path, at + 24, &64u32.to_le_bytes());
    patch(&path, at + 40, &[0xAB; 20]);
    let scan = verify(&dir, 1024).unwrap();
    let torn = scan.torn.expect("torn tail reported");
    assert_eq!(
        (torn.at.segment, torn.at.offset, torn.after_sequence),
        (0, at, Some(200))
    );
    assert!(
        torn.to_string().contains("commit marker never written"),
        "{torn}"
    );
    let (mut writer, opened) = Writer::open(config(&dir)).unwrap();
    assert_eq!(opened.records, 100);
    assert!(opened.torn.is_some());
    writer.append(7, 202, 101_000, &payload(101)).unwrap();
    drop(writer);
    assert_eq!(read_all(&dir).unwrap(), expected(101));
    assert!(
        Writer::open(config(&dir)).unwrap().1.torn.is_none(),
        "cleared for good"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_flipped_byte_before_the_end_is_an_error_that_says_where() {
    let dir = dir("flip");
    write(&dir, 100);
    let at = offset_of(40);
    let path = segment_path(&dir, 0);
    patch(&path, at + 33, &[read_byte(&path, at + 33) ^ 0x10]);
    let error = Writer::open(config(&dir))
        .err()
        .expect("corruption refused");
    match &error {
        JournalError::Corrupt {
            at: where_,
            after_sequence,
            what,
        } => {
            assert_eq!((where_.segment, where_.offset), (0, at));
            assert_eq!(*after_sequence, Some(78));
            assert_eq!(what, "record CRC mismatch");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    assert!(
        error
            .to_string()
            .contains(&format!("segment 0 offset {at}")),
        "{error}"
    );
    let read = read_all(&dir).expect_err("the reader refuses it too");
    assert!(matches!(read, JournalError::Corrupt { .. }));
    std::fs::remove_dir_all(&dir).ok();
}

/// Records as read: sequence number, timestamp, payload.
type Records = Vec<(u64, u64, Vec<u8>)>;

/// Reads every record a run at a time: the records, and the first error.
fn read_runs(dir: &Path, records_max: usize) -> (Records, Option<JournalError>) {
    let mut reader = Reader::open(dir, 1024).unwrap();
    let mut records = Vec::new();
    loop {
        match reader.next_run(records_max) {
            Ok(Some(run)) => {
                assert!(!run.is_empty() && run.len() <= records_max.max(1));
                let before = records.len();
                for entry in &run {
                    records.push((entry.sequence, entry.timestamp, entry.payload.to_vec()));
                }
                assert_eq!(records.len() - before, run.len());
            }
            Ok(None) => return (records, None),
            Err(error) => return (records, Some(error)),
        }
    }
}

#[test]
fn runs_read_what_single_reads_do_and_stop_right_before_damage() {
    let dir = dir("runs");
    // Records of every length from 0 to 199 bytes, across several segment rolls.
    write(&dir, 3_000);
    assert!(segments(&dir) > 3);
    for records_max in [0, 1, 3, 4, 5, 64, crossline_journal::RUN_MAX, 100_000] {
        let (records, error) = read_runs(&dir, records_max);
        assert!(error.is_none(), "{records_max}: {error:?}");
        assert_eq!(records, expected(3_000), "{records_max} at a time");
    }
    // A damaged payload in the middle of a run (record 42 of segment 0, the second
    // of a group of four): the run ends before it, and the next call says where.
    let at = offset_of(42);
    let path = segment_path(&dir, 0);
    patch(&path, at + 33, &[read_byte(&path, at + 33) ^ 0x10]);
    for records_max in [1, 4, 256] {
        let (records, error) = read_runs(&dir, records_max);
        assert_eq!(records, expected(41), "{records_max} at a time");
        match error {
            Some(JournalError::Corrupt {
                at: where_,
                after_sequence,
                what,
            }) => {
                assert_eq!((where_.segment, where_.offset), (0, at));
                assert_eq!(after_sequence, Some(82));
                assert_eq!(what, "record CRC mismatch");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_record_cut_in_half_at_the_end_is_a_torn_tail() {
    let dir = dir("cut");
    write(&dir, 100);
    let path = segment_path(&dir, 0);
    let cut = offset_of(100) + 40;
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let (writer, opened) = Writer::open(config(&dir)).unwrap();
    let torn = opened.torn.expect("reported");
    assert_eq!(
        (torn.at.offset, torn.after_sequence),
        (offset_of(100), Some(198))
    );
    assert!(torn.what.contains("cut short"), "{torn}");
    assert_eq!(opened.records, 99);
    drop(writer);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        SEGMENT,
        "length restored"
    );
    assert_eq!(read_all(&dir).unwrap(), expected(99));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_segment_cut_short_before_the_last_is_an_error() {
    let dir = dir("cutmiddle");
    write(&dir, 2000);
    let path = segment_path(&dir, 1);
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(10_000)
        .unwrap();
    let error = Writer::open(config(&dir)).err().expect("refused");
    assert!(error.to_string().contains("segment 1 offset 0"), "{error}");
    assert!(error.to_string().contains("file is 10000 bytes"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_zeroed_page_before_the_end_is_an_error() {
    let dir = dir("zeropage");
    write(&dir, 200);
    let path = segment_path(&dir, 0);
    patch(&path, 8192, &[0; 4096]);
    let error = Writer::open(config(&dir)).err().expect("refused");
    let JournalError::Corrupt { at, what, .. } = &error else {
        panic!("expected Corrupt, got {error}");
    };
    assert_eq!(at.segment, 0);
    assert!(at.offset > 8192, "reports where data resumes: {error}");
    assert!(
        what.contains("data after the end of the records"),
        "{error}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_deleted_middle_segment_is_an_error() {
    let dir = dir("delete");
    write(&dir, 2000);
    std::fs::remove_file(segment_path(&dir, 2)).unwrap();
    let error = Writer::open(config(&dir)).err().expect("refused");
    assert!(
        matches!(
            error,
            JournalError::MissingSegment {
                missing: 2,
                after: 3,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("segment 2 is missing"));
    assert!(Reader::open(&dir, 1024).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_crash_between_segments_loses_nothing() {
    // The writer closed segment 0 with its end marker and died before writing a record
    // in segment 1: segment 1 exists (prepared ahead) but has no header.
    let dir = dir("between");
    write(&dir, 2000);
    let last = std::fs::read_dir(&dir).unwrap().count() as u64; // segments + LOCK
    let next = segment_path(&dir, last - 1);
    std::fs::remove_file(&next).ok();
    let (writer, opened) = Writer::open(config(&dir)).unwrap();
    assert_eq!(opened.records, 2000);
    drop(writer);
    assert_eq!(read_all(&dir).unwrap(), expected(2000));
    std::fs::remove_dir_all(&dir).ok();
}
