//! A recorded feed as the engine's market-data source: the simulator records what it
//! publishes, and a server configured with `[market_data] replay_file` takes every
//! datagram through the feed ingress, journaling the NBBOs, at the recorded pace or fast.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossline_config::{Config, ReplayPace};
use crossline_engine::Engine;
use crossline_gateway::{Server, ServerError};
use crossline_risk::{Command, Record};
use crossline_venue::Simulator;

fn now_ns() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(since.as_nanos()).unwrap()
}

fn config() -> Config {
    let mut config = crossline_config::parse(crossline_config::DEFAULT).unwrap();
    config.network.gateway.listen = "127.0.0.1:0".parse().unwrap();
    config.network.market_data.listen = "127.0.0.1:0".parse().unwrap();
    for venue in &mut config.router.venues {
        venue.address = "127.0.0.1:0".parse().unwrap();
    }
    config.simulator.quote_refresh_ms = 10;
    config
}

/// Records `refreshes` feed publications; returns the packets written.
fn record(path: &Path, refreshes: u64) -> u64 {
    let config = config();
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

fn replay(path: &Path, pace: ReplayPace) -> (Server<Vec<Record>>, Duration) {
    let mut config = config();
    config.router.venues.clear();
    config.network.market_data.replay = Some((path.to_owned(), pace));
    let engine = Engine::new(&config, Vec::<Record>::new()).unwrap();
    let mut server = Server::new(&config, engine).unwrap();
    let started = Instant::now();
    while !server.replay_progress().unwrap().1 {
        server.poll(Some(Duration::from_millis(1))).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "replay never finished"
        );
    }
    (server, started.elapsed())
}

fn nbbos(server: &Server<Vec<Record>>) -> usize {
    let journal = server.engine().sequencer().journal();
    journal
        .iter()
        .filter(|record| matches!(record.command, Command::Nbbo(_)))
        .count()
}

#[test]
fn a_recorded_feed_replays_through_the_feed_ingress() {
    let dir = std::env::temp_dir().join(format!("crossline-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("feed.cxmd");
    // One packet per refresh: 4 symbols × (NBBO + 3 venue tops) fit in one.
    let packets = record(&path, 20);
    let symbols = config().symbol_names.len();

    let (server, fast) = replay(&path, ReplayPace::Fast);
    let stats = server.feed_stats();
    assert_eq!(server.replay_progress(), Some((packets, true)));
    assert_eq!(stats.packets, packets);
    assert_eq!((stats.gaps, stats.malformed, stats.duplicates), (0, 0, 0));
    assert_eq!(nbbos(&server), symbols * usize::try_from(packets).unwrap());

    // At the recorded pace it takes about as long as the recording (19 intervals of 10 ms).
    let (server, paced) = replay(&path, ReplayPace::Recorded);
    assert_eq!(server.feed_stats().packets, packets);
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
    let (server, _) = replay(&cut, ReplayPace::Fast);
    assert_eq!(server.replay_progress(), Some((packets - 1, true)));
    assert_eq!(server.feed_stats().packets, packets - 1);

    // Not a recorded feed at all: the server refuses to start, naming the file.
    let mut config = config();
    config.router.venues.clear();
    config.network.market_data.replay = Some((dir.join("missing.cxmd"), ReplayPace::Fast));
    let engine = Engine::new(&config, Vec::<Record>::new()).unwrap();
    match Server::new(&config, engine) {
        Err(ServerError::Replay(error)) => {
            assert!(error.to_string().contains("missing.cxmd"), "{error}");
        }
        Err(other) => panic!("expected a replay error, got {other}"),
        Ok(_) => panic!("a missing recorded feed must refuse the start"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
