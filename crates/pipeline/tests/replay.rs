//! A recorded feed as the engine's market-data source: the simulator records what it
//! publishes, and the running engine configured with `[market_data] replay_file` takes
//! every datagram through its market-data ingress, journaling the NBBOs, at the recorded
//! pace or fast.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod common;

use common::{config_text, fresh_dir, no_venues, set, Engine, Stopped};
use crossline_sequencer::Command;
use crossline_venue::Simulator;

fn now_ns() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since.as_nanos()).unwrap()
}

/// Records `refreshes` feed publications; returns the packets written.
fn record(path: &Path, refreshes: u64) -> u64 {
    let text = config_text(|doc| set(doc, "simulator.quote_refresh_ms", 10));
    let config = crossline_config::parse(&text).unwrap();
    let nowhere = "127.0.0.1:9".parse().unwrap();
    let mut simulator = Simulator::new(&config, nowhere).unwrap();
    simulator.record_feed(path).unwrap();
    while simulator.stats().packets < refreshes {
        simulator
            .poll(now_ns(), Some(Duration::from_millis(1)))
            .unwrap();
    }
    simulator.finish_recording().unwrap();
    simulator.stats().packets
}

/// The engine's text with no venues, replaying `path` at `pace`.
fn replaying(path: &Path, pace: &str) -> String {
    config_text(|doc| {
        no_venues(doc);
        set(doc, "market_data.replay_file", path.display().to_string());
        set(doc, "market_data.replay_pace", pace);
    })
}

/// Runs the engine until its feed has taken `packets` packets; returns what it left and
/// how long that took.
fn replay(path: &Path, pace: &str, packets: u64) -> (Stopped, Duration) {
    let started = Instant::now();
    let mut engine = Engine::start(&replaying(path, pace));
    engine.wait_for("the recorded feed replayed", |engine| {
        engine.counter("feed.packets") >= packets
    });
    let took = started.elapsed();
    // Nothing more arrives after the last packet.
    std::thread::sleep(Duration::from_millis(50));
    (engine.stop(), took)
}

fn nbbos(stopped: &Stopped) -> usize {
    stopped
        .records
        .iter()
        .filter(|record| matches!(record.command, Command::Nbbo(_)))
        .count()
}

#[test]
fn a_recorded_feed_replays_through_the_feed_ingress() {
    let dir = fresh_dir("replay");
    let path = dir.join("feed.cxmd");
    // One packet per refresh: 4 symbols × (NBBO + 3 venue tops) fit in one.
    let packets = record(&path, 20);
    let symbols = crossline_config::parse(crossline_config::DEFAULT)
        .unwrap()
        .symbol_names
        .len();

    let (stopped, fast) = replay(&path, "fast", packets);
    let taken = [
        "feed.packets",
        "feed.gaps",
        "feed.malformed",
        "feed.duplicates",
    ]
    .map(|label| stopped.counter(label));
    assert_eq!(taken, [packets, 0, 0, 0]);
    assert_eq!(nbbos(&stopped), symbols * usize::try_from(packets).unwrap());

    // At the recorded pace it takes about as long as the recording (19 intervals of 10 ms).
    let (stopped, paced) = replay(&path, "recorded", packets);
    assert_eq!(stopped.counter("feed.packets"), packets);
    assert!(
        paced >= Duration::from_millis(150),
        "paced replay took {paced:?}"
    );
    assert!(fast < paced, "fast {fast:?} vs paced {paced:?}");

    // A file cut inside its last record: every whole datagram is replayed, then replay
    // stops (the error is logged) and the engine carries on.
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.cxmd");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let (stopped, _) = replay(&cut, "fast", packets - 1);
    assert_eq!(stopped.counter("feed.packets"), packets - 1);

    // Not a recorded feed at all: the engine refuses to start, naming the file.
    let missing = dir.join("missing.cxmd");
    let journal = dir.join("journal");
    match Engine::try_start(&journal, &replaying(&missing, "fast")) {
        Err(error) => assert!(error.contains("missing.cxmd"), "{error}"),
        Ok(_) => panic!("a missing recorded feed must refuse the start"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
