//! `docs/MESSAGES.md` is the code: every kind's table lists exactly its struct's fields,
//! at their real offsets and sizes, under the kind's code and name.

use crossline_types::layout::{KINDS, MESSAGE_BYTES};

/// A table's rows: (offset, bytes, field).
type Rows = Vec<(usize, usize, String)>;

/// The documented tables: (code, name, rows).
fn documented() -> Vec<(u8, String, Rows)> {
    let doc = include_str!("../../../docs/MESSAGES.md");
    let kinds = doc
        .split("\n## Kinds\n")
        .nth(1)
        .expect("MESSAGES.md has a Kinds section");
    let mut tables = Vec::new();
    for section in kinds.split("\n### ").skip(1) {
        let heading = section.lines().next().unwrap_or_default();
        let Some((code, name)) = heading.split_once(": ") else {
            continue;
        };
        let Ok(code) = code.parse::<u8>() else {
            continue; // "Admin settings" and other prose sections
        };
        let rows = section
            .lines()
            .skip_while(|line| !line.starts_with("| offset"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                (
                    cells[1].parse().expect("an offset"),
                    cells[2].parse().expect("a size"),
                    cells[3].trim_matches('`').to_owned(),
                )
            })
            .collect();
        tables.push((code, name.trim().to_owned(), rows));
    }
    tables
}

#[test]
fn every_kind_has_its_table_and_every_table_is_the_struct() {
    let tables = documented();
    assert_eq!(tables.len(), KINDS.len(), "one table per kind");
    for (code, name, fields) in KINDS {
        let (_, documented_name, rows) = tables
            .iter()
            .find(|(at, _, _)| at == code)
            .unwrap_or_else(|| panic!("no table for kind {code} ({name})"));
        assert_eq!(documented_name, name, "kind {code}");
        let actual: Rows = fields
            .iter()
            .map(|(field, offset, size)| (*offset, *size, (*field).to_owned()))
            .collect();
        assert_eq!(rows, &actual, "the table of {name}");
        let end = rows.last().map(|(offset, size, _)| offset + size);
        assert_eq!(end, Some(MESSAGE_BYTES), "{name} fills 56 bytes");
    }
}
