//! The counters file between a writer and a reader: labels, kinds and values cross the
//! mapping; bad labels and foreign files are refused with the reason.

use std::path::PathBuf;

use crossline_counters::{Counters, CountersError, CountersReader, Kind, Reading};

fn path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crossline-counters-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

#[test]
fn a_reader_sees_what_the_writers_store() {
    let file = path("live.cxc");
    let labels = [
        ("orders", Kind::Counter),
        ("ring.ingress.depth", Kind::Gauge),
        ("matcher.duty_ns.max", Kind::Maximum),
    ];
    let (counters, handles) = Counters::create(&file, &labels, 1_234).unwrap();
    assert_eq!(counters.len(), 3);
    assert_eq!(counters.file_bytes(), 64 * 7);
    let reader = CountersReader::open(&file).unwrap();
    assert_eq!(reader.start_time_ns(), 1_234);
    assert_eq!(reader.pid(), std::process::id());
    // Each handle on its own thread, as each agent owns its counters.
    let mut handles = handles.into_iter();
    let (orders, depth, longest) = (
        handles.next().unwrap(),
        handles.next().unwrap(),
        handles.next().unwrap(),
    );
    std::thread::scope(|scope| {
        scope.spawn(move || (0..1_000).for_each(|_| orders.add(2)));
        scope.spawn(move || [5, 9, 3].into_iter().for_each(|n| depth.set(n)));
        scope.spawn(move || [70, 900, 40].into_iter().for_each(|n| longest.raise(n)));
    });
    let reading = |label: &str, kind, value| Reading {
        label: label.to_owned(),
        kind,
        value,
    };
    assert_eq!(
        reader.sample(),
        [
            reading("orders", Kind::Counter, 2_000),
            reading("ring.ingress.depth", Kind::Gauge, 3),
            reading("matcher.duty_ns.max", Kind::Maximum, 900),
        ]
    );
    drop(counters);
    // The values outlive the writer's handles: the file is what `stat` reads.
    assert_eq!(
        CountersReader::open(&file).unwrap().sample()[0].value,
        2_000
    );
}

#[test]
fn bad_labels_and_foreign_files_are_refused_with_the_reason() {
    let file = path("bad.cxc");
    let long = "x".repeat(61);
    for (labels, problem) in [
        (vec![("", Kind::Counter)], "empty"),
        (vec![(long.as_str(), Kind::Counter)], "longer than 60 bytes"),
        (
            vec![("a", Kind::Counter), ("a", Kind::Gauge)],
            "given twice",
        ),
    ] {
        match Counters::create(&file, &labels, 0) {
            Err(CountersError::Label { problem: got, .. }) => assert_eq!(got, problem),
            Err(other) => panic!("expected a label error, got {other}"),
            Ok(_) => panic!("{labels:?} must be refused"),
        }
    }
    std::fs::write(
        &file,
        b"not a counters file, but long enough to have a header ......",
    )
    .unwrap();
    let error = CountersReader::open(&file)
        .err()
        .expect("a foreign file is refused");
    assert!(error.to_string().contains("not a counters file"), "{error}");
    let missing = CountersReader::open(&path("missing.cxc")).err().unwrap();
    assert!(matches!(missing, CountersError::Io { .. }), "{missing}");
    // A later layout version is named, not misread.
    let (_counters, _) = Counters::create(&file, &[("a", Kind::Counter)], 0).unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[8] = 2;
    let other = path("v2.cxc");
    std::fs::write(&other, bytes).unwrap();
    let error = CountersReader::open(&other).err().unwrap();
    assert!(
        error.to_string().contains("layout version 2, expected 1"),
        "{error}"
    );
}
