//! What the tests of the real `crossline run` share: a configuration on free loopback
//! ports, starting the engine on a journal, publishing an NBBO on its feed, and
//! `crossline replay --verify`.

#![allow(dead_code, unreachable_pub)] // each test binary uses its own part

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crossline_counters::CountersReader;

use crossline_protocol::market_data::{MarketData, PacketWriter};
use crossline_types::{Price, Quantity, Quote, SymbolId};

pub(crate) const CROSSLINE: &str = env!("CARGO_BIN_EXE_crossline");

/// A running `crossline run`, killed if the test fails before it stops it.
pub(crate) struct Engine(pub(crate) Child);

impl Drop for Engine {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The default configuration with its client and feed ports free (the kernel picks
/// them: `start` reads them from what the engine prints), and each `(from, to)` line
/// replaced; every `from` must be in the default, so a renamed key fails loudly.
pub(crate) fn config(replacements: &[(&str, &str)]) -> String {
    let mut text = crossline_config::DEFAULT
        .replace("listen = \"127.0.0.1:9100\"", "listen = \"127.0.0.1:0\"")
        .replace("listen = \"127.0.0.1:9200\"", "listen = \"127.0.0.1:0\"")
        .replace("listen = \"127.0.0.1:9101\"", "listen = \"127.0.0.1:0\"");
    for (from, to) in replacements {
        assert!(text.contains(from), "the default configuration has {from}");
        text = text.replace(from, to);
    }
    text
}

/// Starts `crossline run` and returns it with the client and feed addresses it printed,
/// and its recovery report.
pub(crate) fn start(config: &Path, journal: &Path) -> (Engine, SocketAddr, SocketAddr, String) {
    let started = start_all(config, journal);
    (
        started.engine,
        started.clients,
        started.feed,
        started.recovery,
    )
}

/// A started `crossline run` and what it printed.
pub(crate) struct Started {
    pub(crate) engine: Engine,
    pub(crate) clients: SocketAddr,
    pub(crate) admin: SocketAddr,
    /// The FIX port, when FIX sessions are configured.
    pub(crate) fix: Option<SocketAddr>,
    pub(crate) feed: SocketAddr,
    pub(crate) recovery: String,
    /// Its standard error, line by line, as it comes.
    pub(crate) log: std::sync::mpsc::Receiver<String>,
}

/// Starts `crossline run` and returns it with every address it printed.
pub(crate) fn start_all(config: &Path, journal: &Path) -> Started {
    let mut child = Command::new(CROSSLINE)
        .args(["run", "--config"])
        .arg(config)
        .arg("--journal")
        .arg(journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (log_tx, log) = std::sync::mpsc::channel();
    let errors = BufReader::new(child.stderr.take().unwrap()).lines();
    std::thread::spawn(move || {
        for line in errors.map_while(Result::ok) {
            let _ = log_tx.send(line);
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut clients, mut admin, mut fix) = (None, None, None);
    let mut recovery = String::new();
    let feed = loop {
        let line = lines
            .next()
            .expect("crossline run printed its addresses")
            .unwrap();
        if line.starts_with("crossline: ") && recovery.is_empty() {
            recovery = line.clone();
        }
        if let Some(text) = line.strip_prefix("clients: ") {
            clients = Some(text.parse().unwrap());
        }
        if let Some(text) = line.strip_prefix("admin: ") {
            admin = Some(text.parse().unwrap());
        }
        if let Some(text) = line.strip_prefix("fix: ") {
            fix = Some(text.parse().unwrap());
        }
        if let Some(text) = line.strip_prefix("market data: ") {
            break text.parse().unwrap();
        }
    };
    // Keep reading its output so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Started {
        engine: Engine(child),
        clients: clients.expect("the client address comes first"),
        admin: admin.expect("the admin address comes before the feed's"),
        fix,
        feed,
        recovery,
        log,
    }
}

/// Publishes an NBBO for symbol 1 ($189.99 × $190.01) as the feed's message `sequence`.
pub(crate) fn send_quote(feed: SocketAddr, sequence: u64) {
    let mut writer = PacketWriter::default();
    assert!(writer.push(&MarketData::Nbbo(Quote {
        symbol: SymbolId::new(1),
        bid: Price::from_micros(189_990_000),
        bid_size: Quantity::new(500),
        ask: Price::from_micros(190_010_000),
        ask_size: Quantity::new(500),
    })));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(writer.finish(sequence, 0), feed).unwrap();
}

/// Sends symbol 1's NBBO like [`send_quote`] and waits until the engine of `journal`
/// has read it (its `feed.messages` counter went up), so that an order sent next finds
/// it in force: the feed (UDP) and the clients (TCP) are separate ingresses, and an
/// order sequenced before the quote would meet a stale NBBO (`nbbo_stale_after_ms`),
/// which allows no in-house execution.
pub(crate) fn send_quote_read(feed: SocketAddr, journal: &Path, sequence: u64) {
    let counters = CountersReader::open(&journal.join("crossline.counters"))
        .expect("the engine's counters file");
    let read = || {
        counters
            .sample()
            .into_iter()
            .find(|r| r.label == "feed.messages")
            .expect("a feed.messages counter")
            .value
    };
    let before = read();
    send_quote(feed, sequence);
    let deadline = Instant::now() + Duration::from_secs(10);
    while read() == before {
        assert!(Instant::now() < deadline, "the feed never read the quote");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Runs `crossline replay --verify` on `journal`, which must pass, and returns what it
/// printed.
pub(crate) fn verify(journal: &Path) -> String {
    let verify = Command::new(CROSSLINE)
        .args(["replay", "--verify"])
        .arg(journal)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert!(
        verify.status.success(),
        "replay --verify failed: {text}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    text
}
