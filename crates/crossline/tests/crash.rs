//! Crash recovery under load: the harness (risk gate, journal and matcher in one
//! process, snapshots every 2,000 commands, 1 MiB segments so rolls happen) is killed
//! with SIGKILL at random moments (half of the trials 0 to 150 ms after it starts, so in
//! recovery or early in the load; half 0 to 150 ms after it says it is ready, so in the
//! load however slow the host is to start it), then restarted on the same journal, which
//! so holds what each earlier crash left. After every kill:
//!
//! - every order the harness acknowledged is in the journal, with the sequence number
//!   it was acknowledged with;
//! - the state recovery rebuilds (newest snapshot plus the records after it) equals, bit
//!   for bit, a clean replay of the whole journal from its first record.
//!
//! 20 trials here; `scripts/crash-test.sh 1000` runs a thousand. Each check reads the
//! whole journal, so a fresh journal is started every [`TRIALS_PER_JOURNAL`] trials:
//! the run's time grows with the trials, not with their square (the harness appends
//! about a thousand orders before a kill).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crossline_engine::{codec, recovery};
use crossline_journal::Reader;
use crossline_sequencer::Command as Cmd;

const HARNESS: &str = env!("CARGO_BIN_EXE_crossline-harness");

/// Kills on one journal before the next trial starts a fresh one.
const TRIALS_PER_JOURNAL: u64 = 25;

/// Every new order in the journal: (client, client order id) → sequence number.
fn journaled_orders(dir: &Path) -> HashMap<(u32, u64), u64> {
    let mut reader = Reader::open(dir, recovery::PAYLOAD_MAX).unwrap();
    let mut orders = HashMap::new();
    while let Some(entry) = reader.next().unwrap() {
        if entry.kind != codec::KIND_COMMAND {
            continue;
        }
        let record = codec::decode(&entry).unwrap();
        if let Cmd::NewOrder(order) = record.command {
            orders.insert(
                (order.client.get(), order.client_order_id.get()),
                record.sequence.get(),
            );
        }
    }
    orders
}

fn check(dir: &Path) -> (String, String, String) {
    let output = Command::new(HARNESS)
        .args(["check", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "check failed: {text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .to_owned()
    };
    (
        field("recovered "),
        field("recovered_state "),
        field("clean_state "),
    )
}

#[test]
fn kill_nine_under_load_loses_nothing_acknowledged() {
    let trials: u64 = std::env::var("CROSSLINE_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let dir = std::env::temp_dir().join(format!("crossline-crash-{}", std::process::id()));
    let mut random = 0x2545_F491_4F6C_DD1Du64;
    // Acknowledged on the current journal: (client, client order id, sequence).
    let mut acked: Vec<(u32, u64, u64)> = Vec::new();
    let (mut acked_total, mut journaled_total) = (0, 0);
    let (mut torn, mut from_snapshot) = (0, 0);
    let started = Instant::now();
    for trial in 0..trials {
        if trial % TRIALS_PER_JOURNAL == 0 {
            if trial > 0 {
                journaled_total += journaled_orders(&dir).len();
            }
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            acked_total += acked.len();
            acked.clear();
        }
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let mut child = Command::new(HARNESS)
            .args([
                "run",
                "--snapshot-every",
                "2000",
                "--segment-mib",
                "1",
                "--seed",
            ])
            .arg(trial.to_string())
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut acks = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut words = line.split(' ');
                match words.next() {
                    Some("ready") => {
                        let _ = ready_tx.send(());
                    }
                    Some("ack") => {
                        let mut n = || words.next().unwrap().parse::<u64>().unwrap();
                        acks.push((u32::try_from(n()).unwrap(), n(), n()));
                    }
                    _ => {}
                }
            }
            acks
        });
        // Kill at a random moment: in even trials counted from the start (so anywhere in
        // start-up and recovery, or early in the load), in odd ones from when the
        // harness is ready (in the load, however long this host takes to start it).
        if trial % 2 == 1 {
            let _ = ready.recv_timeout(Duration::from_secs(10));
        }
        std::thread::sleep(Duration::from_micros(random % 150_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        acked.extend(reader.join().unwrap());

        let (report, recovered, clean) = check(&dir);
        assert_eq!(
            recovered, clean,
            "trial {trial}: recovered state differs from a clean replay ({report})"
        );
        torn += usize::from(report.contains("torn"));
        from_snapshot += usize::from(report.contains("loaded snapshot"));
        let journaled = journaled_orders(&dir);
        for (client, id, sequence) in &acked {
            assert_eq!(
                journaled.get(&(*client, *id)),
                Some(sequence),
                "trial {trial}: acknowledged order {client}/{id} (sequence {sequence}) lost"
            );
        }
    }
    journaled_total += journaled_orders(&dir).len();
    acked_total += acked.len();
    let journals = trials.div_ceil(TRIALS_PER_JOURNAL);
    println!(
        "{trials} kills in {:.1} s ({journals} journals, up to {TRIALS_PER_JOURNAL} kills \
         each): {acked_total} orders acknowledged, all present among {journaled_total} \
         journaled; {torn} recoveries cleared a torn record, {from_snapshot} started from a \
         snapshot; every recovered state equal to a clean replay",
        started.elapsed().as_secs_f64(),
    );
    assert!(
        acked_total > 100,
        "the load never got going: {acked_total} acks"
    );
    std::fs::remove_dir_all(&dir).ok();
}
