//! The snapshot file's header is the table in `docs/JOURNAL.md`: every field at the
//! offset and size the table gives, holding what the table says.

use crossline_engine::snapshot::{self, Parts, FIELDS, HEADER, LAYOUT};

/// The rows of the snapshot header table: (offset, size, field text).
fn documented_header() -> Vec<(usize, usize, String)> {
    let doc = include_str!("../../../docs/JOURNAL.md");
    let table = doc
        .split("Header (layout version")
        .nth(1)
        .expect("JOURNAL.md has the snapshot header table");
    table
        .lines()
        .skip_while(|line| !line.starts_with("| offset"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let number = |cell: &str| cell.parse::<usize>().ok();
            (
                number(cells[1]).expect("an offset"),
                number(cells[2]).unwrap_or(0),
                cells[3].to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_header_table_is_the_code() {
    let rows = documented_header();
    for (name, offset, size) in FIELDS {
        let row = rows
            .iter()
            .find(|(at, _, _)| *at == offset)
            .unwrap_or_else(|| panic!("no row at offset {offset} for {name}"));
        assert_eq!(row.1, size, "{name} at {offset}: {}", row.2);
    }
    // The rows cover the header without gaps, up to the parts.
    let mut at = 0;
    for (offset, size, field) in &rows {
        assert_eq!(*offset, at, "{field} starts where the previous field ends");
        at = offset + size;
    }
    assert_eq!(at, HEADER, "the parts start after the header");
    assert!(
        rows.iter()
            .any(|(_, _, field)| field.contains(&format!("layout version ({LAYOUT})"))),
        "the table names layout version {LAYOUT}"
    );
}

#[test]
fn a_written_snapshot_holds_each_field_where_the_table_says() {
    let dir =
        std::env::temp_dir().join(format!("crossline-snapshot-layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let parts = Parts {
        sequencer: vec![1; 3],
        pending: vec![2; 5],
        matcher: vec![3; 7],
        replies: vec![4; 11],
    };
    let path = snapshot::write(&dir, 42, 0xC0FFEE, &parts).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let field = |name: &str| {
        let (_, offset, size) = FIELDS.iter().find(|(n, _, _)| *n == name).unwrap();
        let mut word = [0u8; 8];
        word[..*size].copy_from_slice(&bytes[*offset..offset + size]);
        u64::from_le_bytes(word)
    };
    assert_eq!(&bytes[0..8], b"CRSLSNAP");
    assert_eq!(field("layout version"), u64::from(LAYOUT));
    assert_eq!(field("cut"), 42);
    assert_eq!(field("sequencer part bytes"), 3);
    assert_eq!(field("in-flight events part bytes"), 5);
    assert_eq!(field("matcher part bytes"), 7);
    assert_eq!(field("replies part bytes"), 11);
    assert_eq!(field("state hash"), parts.hash());
    assert_eq!(field("configuration hash"), 0xC0FFEE);
    assert!(
        bytes[76..HEADER].iter().all(|&b| b == 0),
        "the rest of the header is zero"
    );
    assert_eq!(bytes.len(), HEADER + 26, "the four parts follow, in order");
    assert_eq!(&bytes[HEADER + 15..], &[4; 11], "the replies part is last");
    let read = snapshot::read(&path, 0xC0FFEE).unwrap();
    assert_eq!(read.parts, parts);
    // A version-1 header is passed over with the reason.
    let mut old = bytes.clone();
    old[12..16].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(&path, &old).unwrap();
    let why = snapshot::read(&path, 0xC0FFEE).unwrap_err();
    assert!(why.contains("header layout 1"), "{why}");
    let _ = std::fs::remove_dir_all(&dir);
}
