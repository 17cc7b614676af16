//! A journal or snapshot written in another format version is refused with the error
//! `docs/JOURNAL.md` documents: it names the file, the version found and the version
//! this build reads.

use std::path::{Path, PathBuf};

use crossline_engine::{codec::FORMAT, recovery, snapshot, EngineError};
use crossline_journal::JournalError;
use crossline_sequencer::{Command, Stamped};
use crossline_types::Timestamp;

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crossline-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A journal of a few records and one snapshot, written by this build.
fn write_journal(dir: &Path) {
    let (mut engine, _) = recovery::open(dir, crossline_config::DEFAULT).unwrap();
    for (time, command) in [
        (1, Command::END_OF_DAY),
        (2, Command::Snapshot),
        (3, Command::END_OF_DAY),
    ] {
        let stamped = Stamped {
            time: Timestamp::new(time),
            command,
        };
        engine.submit(&stamped, &mut ()).unwrap();
    }
}

fn set_version(path: &Path, version: u32) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[8..12].copy_from_slice(&version.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// As a build of `version` would have written the segment: the version, and the header
/// CRC over it (a version field changed without it reads as damage).
fn set_segment_version(path: &Path, version: u32) {
    set_version(path, version);
    let mut bytes = std::fs::read(path).unwrap();
    let crc = crossline_journal::layout::header_crc(&bytes);
    bytes[40..44].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_segment_of_another_version_is_refused_with_the_file_and_both_versions() {
    let dir = fresh_dir("format-version-journal");
    write_journal(&dir);
    // This build reads its own journal.
    let (_, report) = recovery::open(&dir, crossline_config::DEFAULT).unwrap();
    assert_eq!(report.snapshot, Some(2));
    let segment = crossline_journal::segment_path(&dir, 0);
    set_segment_version(&segment, FORMAT - 1);
    let error = recovery::open(&dir, crossline_config::DEFAULT)
        .err()
        .expect("another version is refused");
    match &error {
        EngineError::Journal(JournalError::Version { path, found, reads }) => {
            assert_eq!((path, *found, *reads), (&segment, FORMAT - 1, FORMAT));
        }
        other => panic!("expected a version error, got {other}"),
    }
    let text = error.to_string();
    assert!(
        text.contains(&segment.display().to_string())
            && text.contains(&format!("journal format version {}", FORMAT - 1))
            && text.contains(&format!("this build reads version {FORMAT}")),
        "{text}"
    );
    // The reader `crossline replay` uses says the same.
    let mut reader = crossline_journal::Reader::open(&dir, recovery::PAYLOAD_MAX).unwrap();
    assert!(matches!(
        reader.next(),
        Err(JournalError::Version { found, .. }) if found == FORMAT - 1
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_snapshot_of_another_version_is_passed_over_with_the_file_and_both_versions() {
    let dir = fresh_dir("format-version-snapshot");
    write_journal(&dir);
    let (_, path) = snapshot::list(&dir).unwrap().remove(0);
    set_version(&path, FORMAT + 1);
    let error = snapshot::read(&path, 0).expect_err("refused");
    assert!(
        error.contains(&path.display().to_string())
            && error.contains(&format!("snapshot format version {}", FORMAT + 1))
            && error.contains(&format!("this build reads version {FORMAT}")),
        "{error}"
    );
    // Recovery passes it over, says why, and replays the journal from its start.
    let (_, report) = recovery::open(&dir, crossline_config::DEFAULT).unwrap();
    assert_eq!(report.snapshot, None);
    assert!(
        report.skipped_snapshots.iter().any(|why| why == &error),
        "{report}"
    );
    assert_eq!(report.replayed, 3);
    std::fs::remove_dir_all(&dir).ok();
}
