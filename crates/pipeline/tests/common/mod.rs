//! What the engine's integration tests share: the engine started exactly as `crossline
//! run` starts it (the one topology, on a journal directory of its own), a client
//! speaking the order-entry protocol over a blocking socket, and readers of what the
//! engine left (its counters and its journal).
#![allow(dead_code, unreachable_pub)] // each test binary uses its own part

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossline_agent::Cores;
use crossline_counters::{CountersReader, Reading};
use crossline_engine::{recovery, Observer};
use crossline_pipeline::Pipeline;
use crossline_sequencer::{NoJournal, Record};
use toml::{Table, Value};

use crossline_protocol::client::{Inbound, Outbound, SessionRejectReason};
use crossline_protocol::frame::{split, Secret, FRAME_BYTES_MAX};
use crossline_types::ClientId;

/// A test client speaking the order-entry protocol over a blocking socket.
pub(crate) struct Client {
    pub(crate) stream: TcpStream,
    pub(crate) buffer: Vec<u8>,
    pub(crate) sequence: u32,
    /// The flags of the last frame received.
    pub(crate) last_flags: u8,
    /// The sequence number of the last frame received.
    pub(crate) last_sequence: u32,
}

impl Client {
    pub(crate) fn connect(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Client {
            stream,
            buffer: Vec::new(),
            sequence: 0,
            last_flags: 0,
            last_sequence: 0,
        }
    }

    pub(crate) fn logon(address: SocketAddr, client: u32) -> Client {
        Client::logon_with(address, client, 30_000)
    }

    /// Logs on asking for heartbeats every `heartbeat_ms`.
    pub(crate) fn logon_with(address: SocketAddr, client: u32, heartbeat_ms: u32) -> Client {
        Client::logon_as(
            address,
            client,
            &format!("demo-secret-{client}"),
            heartbeat_ms,
        )
    }

    /// Logs on with `secret`, asking for heartbeats every `heartbeat_ms`.
    pub(crate) fn logon_as(
        address: SocketAddr,
        client: u32,
        secret: &str,
        heartbeat_ms: u32,
    ) -> Client {
        let mut session = Client::connect(address);
        let mut message = logon(client, secret);
        if let Inbound::Logon {
            heartbeat_ms: ms, ..
        } = &mut message
        {
            *ms = heartbeat_ms;
        }
        session.send(&message);
        match session.receive() {
            Outbound::LogonAccepted { .. } => session,
            other => panic!("logon refused: {other:?}"),
        }
    }

    /// Sends with the next sequence number.
    pub(crate) fn send(&mut self, message: &Inbound) {
        self.sequence += 1;
        self.send_as(message, self.sequence, 0);
    }

    pub(crate) fn send_as(&mut self, message: &Inbound, sequence: u32, flags: u8) {
        let mut frame = [0u8; FRAME_BYTES_MAX];
        let length = message.encode(sequence, flags, &mut frame);
        self.send_raw(&frame[..length]);
    }

    pub(crate) fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    pub(crate) fn try_receive(&mut self, wait: Duration) -> Option<Outbound> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some((header, body)) = split(&self.buffer).expect("engine framing") {
                let length = usize::from(header.length);
                let message = Outbound::decode(&header, body).expect("engine frame decodes");
                self.last_flags = header.flags;
                self.last_sequence = header.sequence;
                self.buffer.drain(..length);
                return Some(message);
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(length) => self.buffer.extend_from_slice(&chunk[..length]),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    if Instant::now() > deadline {
                        return None;
                    }
                }
                Err(_) => return None,
            }
        }
    }

    pub(crate) fn receive(&mut self) -> Outbound {
        self.try_receive(Duration::from_secs(5))
            .expect("a reply within 5 s")
    }

    /// The next reply must be a session reject for `reason`.
    pub(crate) fn expect_reject(&mut self, reason: SessionRejectReason, what: &str) -> Outbound {
        let reply = self.receive();
        match reply {
            Outbound::SessionReject { reason: got, .. } if got == reason as u8 => reply,
            other => panic!("{what}: expected a {reason:?} reject, got {other:?}"),
        }
    }

    /// The server must close the connection (after any last replies).
    pub(crate) fn expect_closed(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.try_receive(Duration::from_millis(100)).is_none() {
                // A reply may land between the timeout and this probe: keep its byte in
                // the buffer so the framing stays aligned.
                let mut byte = [0u8; 1];
                match self.stream.read(&mut byte) {
                    Ok(0) => return,
                    Ok(_) => self.buffer.push(byte[0]),
                    Err(error) if error.kind() == ErrorKind::ConnectionReset => return,
                    Err(_) => {}
                }
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the connection stayed open"
            );
        }
    }
}

pub(crate) fn logon(client: u32, secret: &str) -> Inbound {
    Inbound::Logon {
        client: ClientId::new(client),
        heartbeat_ms: 30_000,
        secret: Secret::from_text(secret).unwrap(),
    }
}

/// The engine as `crossline run` starts it ([`crossline_pipeline::Pipeline::open`] on
/// this machine's cores), on a fresh journal directory of its own.
pub(crate) struct Engine {
    pipeline: Option<Pipeline>,
    /// The journal directory (removed when the engine is dropped).
    pub(crate) dir: PathBuf,
    /// Where clients connect.
    pub(crate) address: SocketAddr,
    /// Where the feed's datagrams go.
    pub(crate) feed: SocketAddr,
    counters: PathBuf,
}

/// What a stopped engine left: its counters' last values and its journal.
pub(crate) struct Stopped {
    pub(crate) counters: Vec<Reading>,
    pub(crate) records: Vec<Record>,
}

impl Stopped {
    /// A counter's last value.
    pub(crate) fn counter(&self, label: &str) -> u64 {
        value(&self.counters, label)
    }
}

fn value(readings: &[Reading], label: &str) -> u64 {
    readings
        .iter()
        .find(|reading| reading.label == label)
        .unwrap_or_else(|| panic!("no counter labelled {label}"))
        .value
}

/// A fresh journal directory under the system's temporary directory.
pub(crate) fn fresh_dir(what: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "crossline-test-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The embedded default configuration with every address on an OS-chosen loopback
/// port, then `edit` on its TOML tables: the text a test's engine runs on (and
/// journals), so the engine and its edges read one configuration.
pub(crate) fn config_text(edit: impl FnOnce(&mut Table)) -> String {
    let mut doc: Table = toml::from_str(crossline_config::DEFAULT).unwrap();
    set(&mut doc, "gateway.listen", "127.0.0.1:0");
    set(&mut doc, "admin.listen", "127.0.0.1:0");
    set(&mut doc, "market_data.listen", "127.0.0.1:0");
    // Each venue on its own loopback address (the configuration refuses two venues at
    // one address), on a port the simulator's OS chooses.
    if let Some(Value::Array(venues)) = doc.get_mut("venues") {
        for (index, venue) in venues.iter_mut().enumerate() {
            let address = format!("127.0.0.{}:0", 11 + index);
            venue
                .as_table_mut()
                .unwrap()
                .insert("address".into(), address.into());
        }
    }
    edit(&mut doc);
    toml::to_string(&doc).unwrap()
}

/// Sets the key at a dotted `path` of tables (made if missing).
pub(crate) fn set(doc: &mut Table, path: &str, value: impl Into<Value>) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let key = parts.pop().unwrap();
    let mut table = doc;
    for part in parts {
        table = table
            .entry(part)
            .or_insert_with(|| Value::Table(Table::new()))
            .as_table_mut()
            .unwrap();
    }
    table.insert(key.into(), value.into());
}

/// The `index`th entry of the array of tables `name` (`clients`, `symbols`, `venues`).
pub(crate) fn entry<'a>(doc: &'a mut Table, name: &str, index: usize) -> &'a mut Table {
    doc.get_mut(name).unwrap().as_array_mut().unwrap()[index]
        .as_table_mut()
        .unwrap()
}

/// Every agent on one thread: the smallest placement.
pub(crate) fn one_thread(doc: &mut Table) {
    let mut thread = Table::new();
    thread.insert("name".into(), "all".into());
    let agents = [
        "order_ingress",
        "market_data",
        "sequencer",
        "matcher",
        "egress",
    ];
    thread.insert(
        "agents".into(),
        Value::Array(agents.iter().map(|a| Value::from(*a)).collect()),
    );
    let pipeline = doc.get_mut("pipeline").unwrap().as_table_mut().unwrap();
    pipeline.remove("placement");
    pipeline.insert("threads".into(), Value::Array(vec![Value::Table(thread)]));
}

impl Engine {
    /// Starts the engine on `text` in a fresh journal directory.
    pub(crate) fn start(text: &str) -> Engine {
        Engine::try_start(&fresh_dir("engine"), text).expect("the engine starts")
    }

    /// Starts (or restarts) the engine on `text` over the journal in `dir`.
    pub(crate) fn try_start(dir: &Path, text: &str) -> Result<Engine, String> {
        let config = crossline_config::parse(text).map_err(|e| e.to_string())?;
        let (pipeline, _) =
            Pipeline::open(&config, text, dir, &Cores::detect()).map_err(|e| e.to_string())?;
        Ok(Engine {
            address: pipeline.client_address(),
            feed: pipeline.feed_address(),
            counters: pipeline.counters_path().to_owned(),
            pipeline: Some(pipeline),
            dir: dir.to_owned(),
        })
    }

    /// A live counter's value.
    pub(crate) fn counter(&self, label: &str) -> u64 {
        let reader = CountersReader::open(&self.counters).unwrap();
        value(&reader.sample(), label)
    }

    /// Waits (up to 10 s) until `done` holds for the live counters.
    pub(crate) fn wait_for(&self, what: &str, done: impl Fn(&Engine) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops the engine (every agent drained) and reads back what it left; the journal
    /// directory stays until `self` is dropped.
    pub(crate) fn stop(&mut self) -> Stopped {
        let pipeline = self.pipeline.take().expect("running");
        assert_eq!(pipeline.fault(), None, "no agent met a fatal error");
        let stopped = pipeline.stop().unwrap();
        assert!(
            stopped.threads.iter().all(|thread| thread.drained),
            "every thread drained at stop: {:?}",
            stopped.threads
        );
        let counters = CountersReader::open(&self.counters).unwrap().sample();
        Stopped {
            counters,
            records: records(&self.dir),
        }
    }

    /// Stops the engine and keeps its journal directory (for a restart on it).
    pub(crate) fn stop_keeping_journal(mut self) -> (PathBuf, Stopped) {
        let stopped = self.stop();
        let dir = std::mem::take(&mut self.dir);
        (dir, stopped)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(pipeline) = self.pipeline.take() {
            let _ = pipeline.stop();
        }
        if !self.dir.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Every command record of the journal in `dir`, in sequence order.
pub(crate) fn records(dir: &Path) -> Vec<Record> {
    struct Collect(Vec<Record>);
    impl Observer for Collect {
        fn record(&mut self, record: &Record) {
            self.0.push(*record);
        }
    }
    let text = recovery::read_config(dir).unwrap();
    let config = crossline_config::parse(&text).unwrap();
    let mut engine = crossline_engine::Engine::new(&config, NoJournal).unwrap();
    let mut collect = Collect(Vec::new());
    recovery::replay_from(dir, &mut engine, None, &mut collect, &mut |_| {}).unwrap();
    collect.0
}

/// No `[[venues]]` (and so none for the simulator to play): a route is cancelled back.
pub(crate) fn no_venues(doc: &mut Table) {
    doc.remove("venues");
    if let Some(Value::Table(simulator)) = doc.get_mut("simulator") {
        simulator.remove("venues");
    }
}

/// Publishes one NBBO for `symbol` to the engine's feed as datagram `sequence` (from 1),
/// and lets it land before the next order (the two travel different sockets).
pub(crate) fn publish_nbbo(feed: SocketAddr, sequence: u64, symbol: u32, bid: i64, ask: i64) {
    use crossline_protocol::market_data::{MarketData, PacketWriter};
    use crossline_types::{Price, Quantity, Quote, SymbolId};
    let mut packet = PacketWriter::default();
    assert!(packet.push(&MarketData::Nbbo(Quote {
        symbol: SymbolId::new(symbol),
        bid_size: Quantity::new(500),
        bid: Price::from_micros(bid),
        ask: Price::from_micros(ask),
        ask_size: Quantity::new(500),
    })));
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(packet.finish(sequence, 0), feed).unwrap();
    std::thread::sleep(Duration::from_millis(30));
}

/// A day buy of 100 AAPL (symbol 1) at $180.00, below any NBBO the tests publish: it
/// rests.
pub(crate) fn resting_buy(id: u64) -> Inbound {
    use crossline_types::{
        Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
    };
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(1),
        quantity: Quantity::new(100),
        price: Price::from_micros(180_000_000),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

/// Every configured client without a message-rate limit: a test's client floods.
pub(crate) fn unlimited_rates(doc: &mut Table) {
    if let Some(Value::Array(clients)) = doc.get_mut("clients") {
        for client in clients.iter_mut().filter_map(Value::as_table_mut) {
            client.insert("messages_per_second".into(), 1_000_000.into());
            client.insert("message_burst".into(), 1_000_000.into());
        }
    }
}
