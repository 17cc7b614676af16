//! The fuzz target for recovery: a valid journal, damaged at random (bytes flipped,
//! ranges zeroed or filled with noise, files cut short or deleted), must never make
//! recovery panic, hang or hand back a record that was not written. Either it finds the
//! end and every record it keeps is one that was appended, in order, or it refuses with
//! an error that names where the damage is.
//!
//! Runs 256 cases in the test suite; for a longer run:
//! `PROPTEST_CASES=100000 cargo test --release -p crossline-journal --test recovery_fuzz`.

#![allow(clippy::cast_possible_truncation)] // offsets and bytes in small test files

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crossline_journal::{verify, JournalConfig, JournalError, Reader, Writer};
use proptest::prelude::*;

const SEGMENT: u64 = 64 << 10;
const RECORDS: u64 = 700;

fn config(dir: &Path) -> JournalConfig {
    let mut config = JournalConfig::new(dir);
    config.segment_bytes = SEGMENT;
    config.payload_max = 512;
    config.prefault = false;
    config
}

fn payload(n: u64) -> Vec<u8> {
    (0..(n * 53 % 160)).map(|i| (i * 7 + n) as u8).collect()
}

/// One undamaged journal of three or four segments, written once.
fn template() -> &'static PathBuf {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("crossline-fuzz-template-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (mut writer, _) = Writer::open(config(&dir)).unwrap();
        for n in 1..=RECORDS {
            writer.append(3, n * 3, n, &payload(n)).unwrap();
        }
        dir
    })
}

fn copy(from: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let to = std::env::temp_dir().join(format!(
        "crossline-fuzz-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&to);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "cxj") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
    to
}

#[derive(Debug, Clone)]
enum Damage {
    Flip {
        segment: u8,
        offset: u32,
        bit: u8,
    },
    Zero {
        segment: u8,
        offset: u32,
        length: u16,
    },
    Noise {
        segment: u8,
        offset: u32,
        bytes: Vec<u8>,
    },
    Cut {
        segment: u8,
        length: u32,
    },
    Delete {
        segment: u8,
    },
}

fn damage() -> impl Strategy<Value = Damage> {
    let segment = 0u8..5;
    let offset = 0u32..SEGMENT as u32;
    prop_oneof![
        (segment.clone(), offset.clone(), 0u8..8).prop_map(|(segment, offset, bit)| Damage::Flip {
            segment,
            offset,
            bit
        }),
        (segment.clone(), offset.clone(), 1u16..5000).prop_map(|(segment, offset, length)| {
            Damage::Zero {
                segment,
                offset,
                length,
            }
        }),
        (
            segment.clone(),
            offset.clone(),
            prop::collection::vec(any::<u8>(), 1..200)
        )
            .prop_map(|(segment, offset, bytes)| Damage::Noise {
                segment,
                offset,
                bytes
            }),
        (segment.clone(), 0u32..SEGMENT as u32)
            .prop_map(|(segment, length)| Damage::Cut { segment, length }),
        segment.prop_map(|segment| Damage::Delete { segment }),
    ]
}

fn apply(dir: &Path, damage: &Damage) {
    let path = |segment: u8| crossline_journal::segment_path(dir, u64::from(segment));
    let edit = |segment: u8, offset: u32, f: &dyn Fn(&mut [u8])| {
        let path = path(segment);
        if let Ok(mut bytes) = std::fs::read(&path) {
            let start = (offset as usize).min(bytes.len());
            f(&mut bytes[start..]);
            std::fs::write(&path, bytes).unwrap();
        }
    };
    match damage {
        Damage::Flip {
            segment,
            offset,
            bit,
        } => edit(*segment, *offset, &|b| {
            if let Some(byte) = b.first_mut() {
                *byte ^= 1 << bit;
            }
        }),
        Damage::Zero {
            segment,
            offset,
            length,
        } => edit(*segment, *offset, &|b| {
            let n = (*length as usize).min(b.len());
            b[..n].fill(0);
        }),
        Damage::Noise {
            segment,
            offset,
            bytes,
        } => edit(*segment, *offset, &|b| {
            let n = bytes.len().min(b.len());
            b[..n].copy_from_slice(&bytes[..n]);
        }),
        Damage::Cut { segment, length } => {
            if let Ok(file) = std::fs::OpenOptions::new().write(true).open(path(*segment)) {
                file.set_len(u64::from(*length)).unwrap();
            }
        }
        Damage::Delete { segment } => {
            let _ = std::fs::remove_file(path(*segment));
        }
    }
}

/// The records a reader hands back, which must be the appended ones, in order, from the
/// first (or from the first kept segment when leading segments were deleted).
fn check_records(dir: &Path) -> Result<u64, JournalError> {
    let mut reader = Reader::open(dir, 512)?;
    let mut count = 0;
    let mut expected: Option<u64> = None;
    while let Some(entry) = reader.next()? {
        let n = entry.sequence / 3;
        assert_eq!(
            entry.sequence % 3,
            0,
            "a sequence number that was never written"
        );
        if let Some(expected) = expected {
            assert_eq!(n, expected, "a record skipped or repeated");
        }
        assert_eq!(entry.payload, &payload(n)[..], "record {n} altered");
        assert_eq!(entry.timestamp, n);
        expected = Some(n + 1);
        count += 1;
    }
    Ok(count)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn recovery_survives_any_damage(damages in prop::collection::vec(damage(), 1..3)) {
        let dir = copy(template());
        for damage in &damages {
            apply(&dir, damage);
        }
        let scanned = verify(&dir, 512);
        match Writer::open(config(&dir)) {
            Ok((writer, opened)) => {
                let scanned = scanned.expect("the writer opened what verify refused");
                prop_assert_eq!(scanned.records, opened.records);
                drop(writer);
                let read = check_records(&dir).expect("a recovered journal reads cleanly");
                prop_assert_eq!(read, opened.records);
            }
            Err(error) => {
                prop_assert!(scanned.is_err(), "verify accepted what the writer refused: {}", error);
                let message = error.to_string();
                prop_assert!(
                    matches!(error, JournalError::Corrupt { .. } | JournalError::MissingSegment { .. }),
                    "unexpected error kind: {}", message
                );
                prop_assert!(message.contains("segment"), "error does not say where: {}", message);
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
