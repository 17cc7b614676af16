//! `crossline replay` end to end on a journal the harness wrote: the summary, `--verify`
//! against two replays and the snapshots, `--until`, `--audit`, and clear failures on a
//! damaged snapshot or journal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HARNESS: &str = env!("CARGO_BIN_EXE_crossline-harness");
const CROSSLINE: &str = env!("CARGO_BIN_EXE_crossline");

fn journal(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crossline-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(HARNESS)
        .args([
            "run",
            "--commands",
            "12000",
            "--snapshot-every",
            "3000",
            "--segment-mib",
            "1",
            "--dir",
        ])
        .arg(&dir)
        .output()
        .unwrap()
        .status;
    assert!(status.success());
    dir
}

fn replay(dir: &Path, args: &[&str]) -> Output {
    Command::new(CROSSLINE)
        .arg("replay")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn verify_agrees_with_itself_and_every_snapshot() {
    let dir = journal("verify");
    let output = replay(&dir, &["--verify"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("records      12000"), "{out}");
    assert!(out.contains("verify       two replays agree"), "{out}");
    assert_eq!(
        out.matches("recorded state equals the replay's").count(),
        4,
        "snapshots at 3000, 6000, 9000 and 12000: {out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn until_stops_at_the_sequence_and_prints_the_state_there() {
    let dir = journal("until");
    let out = text(&replay(&dir, &["--until", "5000"]));
    assert!(out.contains("replayed     5000 command records"), "{out}");
    assert!(out.contains("state after sequence 5000:"), "{out}");
    assert!(out.contains("next sequence 5001"), "{out}");
    assert!(out.contains("AAPL"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_audit_trail_links_crosses_and_routes_to_their_orders() {
    let dir = journal("audit");
    let csv = dir.join("audit.csv");
    let output = replay(&dir, &["--audit", csv.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
    let trail = std::fs::read_to_string(&csv).unwrap();
    let mut lines = trail.lines();
    assert_eq!(lines.next(), Some(crossline::report::AUDIT_HEADER));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let new_orders: std::collections::HashSet<&str> = rows
        .iter()
        .filter(|r| r[2] == "new_order")
        .map(|r| r[3])
        .collect();
    let crosses: Vec<&Vec<&str>> = rows.iter().filter(|r| r[2] == "internal_cross").collect();
    assert!(!crosses.is_empty(), "the load crosses orders");
    for cross in &crosses {
        assert!(
            new_orders.contains(cross[3]),
            "cross of an order never received: {cross:?}"
        );
        assert!(
            new_orders.contains(cross[12]),
            "cross against an unknown contra: {cross:?}"
        );
        assert!(
            cross[0].parse::<u64>().unwrap() > 1_700_000_000_000_000_000,
            "ns timestamps"
        );
    }
    assert!(
        rows.iter().any(|r| r[2] == "principal_fill"),
        "principal fills appear"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_damaged_snapshot_fails_verify_and_a_damaged_journal_says_where() {
    let dir = journal("damage");
    let snapshot = crossline_engine::snapshot::path(&dir, 6000);
    let mut bytes = std::fs::read(&snapshot).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0x40;
    std::fs::write(&snapshot, bytes).unwrap();
    let output = replay(&dir, &["--verify"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("snapshot 6000 unreadable"),
        "{}",
        text(&output)
    );

    let segment = crossline_journal::segment_path(&dir, 0);
    let mut bytes = std::fs::read(&segment).unwrap();
    bytes[200_000] ^= 0x01;
    std::fs::write(&segment, bytes).unwrap();
    let output = replay(&dir, &[]);
    assert_eq!(output.status.code(), Some(2));
    let out = text(&output);
    assert!(out.contains("journal corrupt at segment 0 offset"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_restart_removes_a_snapshot_a_crash_left_half_written() {
    let dir = journal("unfinished");
    let unfinished = crossline_engine::snapshot::path(&dir, 11_000).with_extension("tmp");
    std::fs::write(&unfinished, b"half a snapshot").unwrap();
    let output = Command::new(HARNESS)
        .args([
            "run",
            "--commands",
            "10",
            "--segment-mib",
            "1",
            "--snapshot-every",
            "3000",
            "--dir",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        !unfinished.exists(),
        "the unfinished snapshot is still there"
    );
    assert!(
        crossline_engine::snapshot::path(&dir, 12_000).exists(),
        "finished ones are kept"
    );
    std::fs::remove_dir_all(&dir).ok();
}
