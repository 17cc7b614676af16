//! `crossline demo`: the engine on the embedded default configuration with the venue
//! simulator and simulated clients, all on loopback, for a given time; then what
//! happened, rebuilt from the journal (executions, internalization, price improvement,
//! spreads, the firm's inventory and P&L, rejects) and from the clients (every order's
//! end, reply latency).
//!
//! Ports are chosen by the OS, so a demo never collides with anything already running.
//! The journal and the live counters file go to a fresh directory that is kept: replay
//! it with `crossline replay DIR`, watch the run with `crossline stat --journal DIR`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crossline_agent::Cores;
use crossline_config::Config;
use crossline_counters::{CountersReader, Reading};
use crossline_engine::recovery;
use crossline_engine::report::Summary;
use crossline_gateway::wall_clock_ns;
use crossline_pipeline::Pipeline;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_testkit::Xorshift;
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};
use crossline_venue::Simulator;
use hdrhistogram::Histogram;

use crate::client::{Client, ClientError};
use crate::stat;

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The configuration's text (the embedded default unless given).
    pub config_text: String,
    /// How long the clients trade.
    pub duration: Duration,
    /// New orders per second, all clients together.
    pub orders_per_second: u32,
    /// Where the journal and the counters file go (a fresh directory).
    pub journal_dir: PathBuf,
    /// Print a progress line every second.
    pub progress: bool,
    /// Seed of the clients' order stream.
    pub seed: u64,
}

impl DemoOptions {
    /// The defaults: the embedded configuration, 10 s, 2,000 orders/s, a new directory
    /// under the system's temporary directory.
    #[must_use]
    pub fn new() -> DemoOptions {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        DemoOptions {
            config_text: crossline_config::DEFAULT.to_owned(),
            duration: Duration::from_secs(10),
            orders_per_second: 2_000,
            journal_dir: std::env::temp_dir()
                .join(format!("crossline-demo-{stamp}-{}", std::process::id())),
            progress: true,
            seed: 1,
        }
    }
}

impl Default for DemoOptions {
    fn default() -> DemoOptions {
        DemoOptions::new()
    }
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The engine or its journal could not start.
    #[error("engine: {0}")]
    Engine(#[from] crossline_engine::EngineError),
    /// The pipeline could not start or stop.
    #[error("{0}")]
    Pipeline(#[from] crossline_pipeline::PipelineError),
    /// The venue simulator could not start.
    #[error("venue simulator: {0}")]
    Simulator(String),
    /// A simulated client failed.
    #[error("simulated client {client}: {error}")]
    Client {
        /// The client.
        client: u32,
        /// What failed.
        error: ClientError,
    },
    /// An agent met a fatal error.
    #[error("the engine stopped: {0}")]
    Fault(String),
}

/// What one simulated client saw.
#[derive(Debug, Clone, Default)]
pub struct ClientTally {
    /// New orders sent.
    pub orders: u64,
    /// Cancels sent.
    pub cancels: u64,
    /// Replaces sent.
    pub replaces: u64,
    /// Orders that reached an end (filled, cancelled, rejected).
    pub terminal: u64,
    /// Orders still open at the end.
    pub open: u64,
    /// Replies received.
    pub replies: u64,
    /// Order replies whose numbers did not run one after another.
    pub numbering_gaps: u64,
}

/// What the demo did.
pub struct DemoReport {
    /// How long the clients traded.
    pub duration: Duration,
    /// The journal directory.
    pub journal_dir: PathBuf,
    /// Per client.
    pub clients: Vec<(u32, ClientTally)>,
    /// From sending a new order to its first reply, nanoseconds, all clients.
    pub latency: Histogram<u64>,
    /// The day, rebuilt from the journal.
    pub summary: Summary,
    /// Symbol names.
    pub names: Vec<(SymbolId, String)>,
}

/// The simulated clients: their ids and secrets from the configuration.
fn demo_clients(config: &Config) -> Vec<(u32, String)> {
    config
        .secrets
        .iter()
        .map(|(id, secret)| (id.get(), secret.clone()))
        .collect()
}

/// The configuration with every address on an OS-chosen loopback port.
#[must_use]
pub fn on_free_ports(mut config: Config) -> Config {
    let any: SocketAddr = ([127, 0, 0, 1], 0).into();
    config.network.gateway.listen = any;
    config.network.market_data.listen = any;
    for venue in &mut config.router.venues {
        venue.address = any;
    }
    config
}

/// Runs the demo.
///
/// # Errors
/// [`DemoError`] when something could not start, a client failed, or the engine
/// stopped on a fault.
pub fn run(options: &DemoOptions) -> Result<DemoReport, DemoError> {
    let config = crossline_config::parse(&options.config_text)
        .map_err(|e| DemoError::Config(e.to_string()))?;
    let mut config = on_free_ports(config);
    std::fs::create_dir_all(&options.journal_dir)
        .map_err(|e| DemoError::Config(format!("{}: {e}", options.journal_dir.display())))?;

    let venues = Venues::start(&mut config)?;
    let (engine, _) = recovery::open(&options.journal_dir, &options.config_text)?;
    let pipeline = Pipeline::start(&config, engine, &options.journal_dir, &Cores::detect())?;
    venues.feed_to(pipeline.feed_address());
    if options.progress {
        println!(
            "crossline demo: {} s, {} clients at {} orders/s, {} simulated venues; threads: {}",
            options.duration.as_secs_f64(),
            config.secrets.len(),
            options.orders_per_second,
            config.router.venues.len(),
            pipeline
                .plan()
                .iter()
                .map(|t| format!(
                    "{}[{}]",
                    t.name,
                    t.agents
                        .iter()
                        .map(|a| a.name())
                        .collect::<Vec<_>>()
                        .join(",")
                ))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!("journal: {}", options.journal_dir.display());
        println!(
            "watch it live: crossline stat --journal {}",
            options.journal_dir.display()
        );
    }

    let clients = demo_clients(&config);
    let trading = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicU64::new(0));
    let per_client = f64::from(options.orders_per_second) / clients.len().max(1) as f64;
    let symbols: Vec<(SymbolId, i64, i64)> = config
        .matcher
        .symbols
        .iter()
        .map(|s| (s.symbol, s.reference_price.micros(), s.book.tick.micros()))
        .collect();
    let start = Instant::now();
    let mut threads = Vec::with_capacity(clients.len());
    for (index, (client, secret)) in clients.into_iter().enumerate() {
        let flow = ClientFlow {
            address: pipeline.client_address(),
            client,
            secret,
            per_second: per_client,
            symbols: symbols.clone(),
            seed: options.seed.wrapping_add(index as u64 * 7919),
        };
        let (trading, sent) = (trading.clone(), sent.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("cx-client{client}"))
                .spawn(move || flow.run(&trading, &sent))
                .map_err(|e| DemoError::Simulator(e.to_string()))?,
        );
    }

    let counters = CountersReader::open(pipeline.counters_path()).ok();
    let mut last = (Instant::now(), Vec::new());
    while start.elapsed() < options.duration {
        std::thread::sleep(
            Duration::from_millis(100).min(options.duration.saturating_sub(start.elapsed())),
        );
        if let Some(fault) = pipeline.fault() {
            trading.store(false, Ordering::Release);
            venues.stop();
            return Err(DemoError::Fault(fault));
        }
        if let Some(reader) = counters.as_ref().filter(|_| options.progress) {
            if last.0.elapsed() >= Duration::from_secs(1) {
                progress_line(reader, start, &mut last, sent.load(Ordering::Relaxed));
            }
        }
    }
    trading.store(false, Ordering::Release);
    let duration = start.elapsed();
    let mut tallies = Vec::new();
    let mut latency = Histogram::<u64>::new(3).map_err(|e| DemoError::Simulator(e.to_string()))?;
    for thread in threads {
        let (client, result) = thread
            .join()
            .map_err(|_| DemoError::Simulator("a client thread panicked".to_owned()))?;
        let (tally, histogram) = result.map_err(|error| DemoError::Client { client, error })?;
        let _ = latency.add(&histogram);
        tallies.push((client, tally));
    }
    if options.progress {
        println!();
    }
    let fault = pipeline.fault();
    pipeline.stop()?;
    venues.stop();
    if let Some(fault) = fault {
        return Err(DemoError::Fault(fault));
    }

    let mut summary = Summary::default();
    let text = recovery::read_config(&options.journal_dir)?;
    let parsed = crossline_config::parse(&text).map_err(|e| DemoError::Config(e.to_string()))?;
    let mut engine = crossline_engine::Engine::new(&parsed, crossline_risk::NoJournal)?;
    recovery::replay_from(
        &options.journal_dir,
        &mut engine,
        None,
        &mut summary,
        &mut |_| {},
    )?;
    Ok(DemoReport {
        duration,
        journal_dir: options.journal_dir.clone(),
        clients: tallies,
        latency,
        summary,
        names: config.symbol_names.clone(),
    })
}

/// Prints one progress line from the live counters, against the `last` sample (which it
/// replaces).
fn progress_line(
    reader: &CountersReader,
    start: Instant,
    last: &mut (Instant, Vec<Reading>),
    sent: u64,
) {
    let readings = reader.sample();
    let now = Instant::now();
    let seconds = now.duration_since(last.0).as_secs_f64().max(1e-3);
    let requests = stat::value(&readings, "ingress.requests")
        .saturating_sub(stat::value(&last.1, "ingress.requests"));
    let (executed, internalized) = stat::internalized(&readings);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    print!(
        "{}{:>5.1} s  orders sent {sent:>7}  requests/s {:>7.0}  executed {executed:>9} shares  \
         in-house {:>5.1}%   ",
        if terminal { "\r" } else { "\n" },
        start.elapsed().as_secs_f64(),
        requests as f64 / seconds,
        internalized.unwrap_or(0.0),
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    *last = (now, readings);
}

/// The venue simulator on its own thread, playing the configuration's venues on loopback
/// and publishing the feed (NBBO and venue tops) to the engine.
pub struct Venues {
    stop: Arc<AtomicBool>,
    feed: mpsc::Sender<SocketAddr>,
    thread: std::thread::JoinHandle<()>,
}

impl Venues {
    /// Starts the simulator on `config`'s venues and points `config`'s venue addresses at
    /// the ports it opened. Its feed waits for [`Venues::feed_to`].
    ///
    /// # Errors
    /// [`DemoError::Simulator`] when it cannot start.
    pub fn start(config: &mut Config) -> Result<Venues, DemoError> {
        let stop = Arc::new(AtomicBool::new(false));
        let (addresses_tx, addresses_rx) = mpsc::channel();
        let (feed, feed_rx) = mpsc::channel::<SocketAddr>();
        let thread = {
            let (config, stop) = (config.clone(), stop.clone());
            std::thread::Builder::new()
                .name("cx-venues".to_owned())
                .spawn(move || simulate_venues(&config, &stop, &addresses_tx, &feed_rx))
                .map_err(|e| DemoError::Simulator(e.to_string()))?
        };
        let addresses: Vec<(u8, SocketAddr)> = match addresses_rx.recv() {
            Ok(Ok(addresses)) => addresses,
            Ok(Err(error)) => return Err(DemoError::Simulator(error)),
            Err(_) => return Err(DemoError::Simulator("did not start".to_owned())),
        };
        for venue in &mut config.router.venues {
            if let Some((_, address)) = addresses.iter().find(|(id, _)| *id == venue.id) {
                venue.address = *address;
            }
        }
        Ok(Venues { stop, feed, thread })
    }

    /// Starts publishing the feed to the engine's market-data socket at `address`.
    pub fn feed_to(&self, address: SocketAddr) {
        let _ = self.feed.send(address);
    }

    /// Stops the simulator and waits for its thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        drop(self.feed);
        let _ = self.thread.join();
    }
}

/// The simulator's thread: plays the venues and publishes the feed until `stop`.
fn simulate_venues(
    config: &Config,
    stop: &AtomicBool,
    addresses: &mpsc::Sender<Result<Vec<(u8, SocketAddr)>, String>>,
    feed: &mpsc::Receiver<SocketAddr>,
) {
    // Nothing listens on the discard port until the engine's feed address arrives.
    let mut simulator = match Simulator::new(config, ([127, 0, 0, 1], 9).into()) {
        Ok(simulator) => simulator,
        Err(error) => {
            let _ = addresses.send(Err(error.to_string()));
            return;
        }
    };
    let list = config
        .router
        .venues
        .iter()
        .filter_map(|venue| simulator.venue_address(venue.id).map(|a| (venue.id, a)))
        .collect();
    let _ = addresses.send(Ok(list));
    match feed.recv() {
        Ok(address) => simulator.set_feed_to(address),
        Err(_) => return,
    }
    while !stop.load(Ordering::Acquire) {
        let now = wall_clock_ns();
        if let Err(error) = simulator.poll(now, Some(Duration::from_millis(1))) {
            eprintln!("crossline demo: venue simulator: {error}");
            return;
        }
    }
}

/// A random index below `n` (which is not zero).
fn below(random: &mut Xorshift, n: usize) -> usize {
    usize::try_from(random.next() % n as u64).unwrap_or(0)
}

/// One simulated client's order flow.
struct ClientFlow {
    address: SocketAddr,
    client: u32,
    secret: String,
    per_second: f64,
    /// Symbol, reference price and tick, micro-dollars.
    symbols: Vec<(SymbolId, i64, i64)>,
    seed: u64,
}

/// An order the client has open, under its current client order id.
#[derive(Debug, Clone, Copy)]
struct Working {
    symbol: SymbolId,
    price: Price,
    quantity: u32,
}

/// What a simulated client knows of its orders.
struct Ledger {
    /// The last reply number received.
    last_reply: u32,
    tally: ClientTally,
    /// From sending a new order to its first reply.
    latency: Histogram<u64>,
    /// New orders sent and not yet answered, with their send times.
    awaiting: HashMap<u64, Instant>,
    /// Open orders, by current client order id.
    open: HashMap<u64, Working>,
}

impl Ledger {
    /// Follows one reply: latency of a new order's first answer, and each order's end.
    fn take(&mut self, sequence: u32, reply: &Outbound) {
        let Ledger {
            last_reply,
            tally,
            latency,
            awaiting,
            open,
        } = self;
        tally.replies += 1;
        if sequence != 0 {
            if sequence != *last_reply + 1 {
                tally.numbering_gaps += 1;
            }
            *last_reply = sequence;
        }
        let (id, ended) = match *reply {
            Outbound::Accepted {
                client_order_id, ..
            } => (client_order_id, false),
            Outbound::Rejected {
                client_order_id, ..
            }
            | Outbound::Cancelled {
                client_order_id, ..
            } => (client_order_id, true),
            Outbound::Filled {
                client_order_id,
                leaves,
                ..
            } => (client_order_id, leaves.shares() == 0),
            Outbound::Replaced {
                client_order_id,
                original_client_order_id,
                price,
                quantity,
                ..
            } => {
                if let Some(mut working) = open.remove(&original_client_order_id.get()) {
                    working.price = price;
                    working.quantity = quantity.shares();
                    open.insert(client_order_id.get(), working);
                }
                (client_order_id, false)
            }
            _ => return,
        };
        if let Some(sent) = awaiting.remove(&id.get()) {
            let nanos = u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX);
            let _ = latency.record(nanos.max(1));
        }
        // Every new order is open from its sending: its first end counts it.
        if ended && open.remove(&id.get()).is_some() {
            tally.terminal += 1;
        }
    }
}

type FlowResult = (u32, Result<(ClientTally, Histogram<u64>), ClientError>);

impl ClientFlow {
    fn run(self, trading: &AtomicBool, sent: &AtomicU64) -> FlowResult {
        let client = self.client;
        (client, self.trade(trading, sent))
    }

    fn trade(
        &self,
        trading: &AtomicBool,
        sent: &AtomicU64,
    ) -> Result<(ClientTally, Histogram<u64>), ClientError> {
        let (mut session, last_reply) = Client::logon(
            self.address,
            self.client,
            &self.secret,
            Duration::from_secs(5),
        )?;
        let mut random = Xorshift::new(self.seed);
        let mut ledger = Ledger {
            last_reply,
            tally: ClientTally::default(),
            latency: Histogram::<u64>::new(3).map_err(|e| ClientError::Protocol(e.to_string()))?,
            awaiting: HashMap::new(),
            open: HashMap::new(),
        };
        let mut ids: Vec<u64> = Vec::new();
        let mut next_id = u64::from(self.client) << 40;
        let interval = Duration::from_secs_f64(1.0 / self.per_second.max(1.0));
        let start = Instant::now();
        let mut due = start;
        while trading.load(Ordering::Acquire) {
            let now = Instant::now();
            while due <= now {
                due += interval;
                next_id += 1;
                let roll = random.next() % 100;
                let target = (!ids.is_empty()).then(|| ids[below(&mut random, ids.len())]);
                match (
                    roll,
                    target.and_then(|id| ledger.open.get(&id).map(|w| (id, *w))),
                ) {
                    (0..=9, Some((original, working))) => {
                        session.send(&Inbound::Cancel {
                            client_order_id: ClientOrderId::new(next_id),
                            original_client_order_id: ClientOrderId::new(original),
                            symbol: working.symbol,
                        })?;
                        ledger.tally.cancels += 1;
                    }
                    (10..=14, Some((original, working))) => {
                        let (_, _, tick) = self.symbol(working.symbol);
                        let step = (random.next() % 3) as i64 - 1;
                        session.send(&Inbound::Replace {
                            client_order_id: ClientOrderId::new(next_id),
                            original_client_order_id: ClientOrderId::new(original),
                            price: Price::from_micros(working.price.micros() + step * tick),
                            quantity: Quantity::new(working.quantity),
                        })?;
                        ledger.tally.replaces += 1;
                    }
                    _ => {
                        let order = self.new_order(&mut random, next_id);
                        if let Inbound::NewOrder {
                            symbol,
                            price,
                            quantity,
                            ..
                        } = order
                        {
                            ledger.open.insert(
                                next_id,
                                Working {
                                    symbol,
                                    price,
                                    quantity: quantity.shares(),
                                },
                            );
                            ids.push(next_id);
                        }
                        ledger.awaiting.insert(next_id, Instant::now());
                        session.send(&order)?;
                        ledger.tally.orders += 1;
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            while let Some((header, reply)) = session.receive()? {
                ledger.take(header.sequence, &reply);
            }
            ids.retain(|id| ledger.open.contains_key(id));
            std::thread::sleep(
                Duration::from_micros(200).min(due.saturating_duration_since(Instant::now())),
            );
        }
        // The day ends: cancel what is still open, and wait for every order's end. A
        // replace in flight gives an order a new id: it is cancelled again under it.
        let mut cancel_id = next_id;
        let mut cancelled: HashSet<u64> = HashSet::new();
        // Paced at 50 cancels a second, inside any client's message-rate limit.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut next_batch = Instant::now();
        while !ledger.open.is_empty() && Instant::now() < deadline {
            if Instant::now() >= next_batch {
                next_batch += Duration::from_millis(100);
                let mut batch = 5;
                for (&original, working) in &ledger.open {
                    if batch == 0 {
                        break;
                    }
                    if cancelled.insert(original) {
                        batch -= 1;
                        cancel_id += 1;
                        session.send(&Inbound::Cancel {
                            client_order_id: ClientOrderId::new(cancel_id),
                            original_client_order_id: ClientOrderId::new(original),
                            symbol: working.symbol,
                        })?;
                        ledger.tally.cancels += 1;
                    }
                }
            }
            if let Some((header, reply)) = session.receive_within(Duration::from_millis(10))? {
                // A refused cancel (the client's message rate, or shares out at a venue)
                // is sent again in a later batch.
                if let Outbound::CancelRejected {
                    original_client_order_id,
                    ..
                } = reply
                {
                    cancelled.remove(&original_client_order_id.get());
                }
                ledger.take(header.sequence, &reply);
            }
        }
        let _ = session.send(&Inbound::Logout {});
        ledger.tally.open = ledger.open.len() as u64;
        Ok((ledger.tally, ledger.latency))
    }

    fn symbol(&self, symbol: SymbolId) -> (SymbolId, i64, i64) {
        self.symbols
            .iter()
            .copied()
            .find(|(id, _, _)| *id == symbol)
            .unwrap_or((symbol, 1_000_000, 10_000))
    }

    /// A new order around the symbol's reference price: from five ticks through the
    /// market (marketable) to five behind it (resting), some IOC, a few market orders.
    fn new_order(&self, random: &mut Xorshift, id: u64) -> Inbound {
        let (symbol, reference, tick) = self.symbols[below(random, self.symbols.len())];
        let side = match random.next() % 10 {
            0..=4 => Side::Buy,
            _ => Side::Sell,
        };
        let offset = ((random.next() % 11) as i64 - 5) * tick;
        let price = if side == Side::Buy {
            reference + offset
        } else {
            reference - offset
        };
        let (order_type, time_in_force) = match random.next() % 20 {
            0 => (OrderType::Market, TimeInForce::ImmediateOrCancel),
            1..=6 => (OrderType::Limit, TimeInForce::ImmediateOrCancel),
            _ => (OrderType::Limit, TimeInForce::Day),
        };
        Inbound::NewOrder {
            client_order_id: ClientOrderId::new(id),
            symbol,
            quantity: Quantity::new(100 * (1 + (random.next() % 10) as u32)),
            price: if order_type == OrderType::Market {
                Price::ZERO
            } else {
                Price::from_micros(price)
            },
            side,
            order_type,
            time_in_force,
            capacity: Capacity::Agency,
        }
    }
}

impl std::fmt::Display for DemoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.summary;
        let total =
            |pick: fn(&ClientTally) -> u64| self.clients.iter().map(|(_, t)| pick(t)).sum::<u64>();
        let orders = total(|t| t.orders);
        writeln!(
            f,
            "crossline demo: what happened in {:.1} s",
            self.duration.as_secs_f64()
        )?;
        writeln!(
            f,
            "orders        {orders} new, {} cancels, {} replaces from {} clients; {} ended, {} still open",
            total(|t| t.cancels),
            total(|t| t.replaces),
            self.clients.len(),
            total(|t| t.terminal),
            total(|t| t.open)
        )?;
        let executed = s.crosses.1 + s.principal.1 + s.venue.1;
        let share = |x: u64| {
            if executed > 0 {
                100.0 * x as f64 / executed as f64
            } else {
                0.0
            }
        };
        writeln!(
            f,
            "executed      {executed} shares: {:.1}% internalized ({:.1}% crossed between clients, {:.1}% principal from inventory), {:.1}% at venues",
            share(s.crosses.1 + s.principal.1),
            share(s.crosses.1),
            share(s.principal.1),
            share(s.venue.1)
        )?;
        writeln!(
            f,
            "routed        {} child orders, {} shares",
            s.routes.0, s.routes.1
        )?;
        let (mut improved, mut notional, mut improvement, mut effective, mut quoted) =
            (0u64, 0i128, 0i128, 0i128, 0i128);
        for day in s.symbols.values() {
            improved += day.internal_shares;
            notional += day.internal_notional_micros;
            improvement += day.improvement_micros;
            effective += day.effective_spread_micros;
            quoted += day.quoted_spread_micros;
        }
        if improved > 0 {
            writeln!(
                f,
                "improvement   ${:.4} per internalized share, {:.2} bps of notional (${:.2} in all)",
                improvement as f64 / 1e6 / improved as f64,
                improvement as f64 / notional.max(1) as f64 * 1e4,
                improvement as f64 / 1e6
            )?;
        }
        if quoted > 0 {
            writeln!(
                f,
                "spread        effective / quoted = {:.3} (all executions, NBBO at receipt)",
                effective as f64 / quoted as f64
            )?;
        }
        writeln!(
            f,
            "firm inventory and P&L (marked at the last NBBO midpoint):"
        )?;
        for (symbol, day) in &s.symbols {
            let name = self
                .names
                .iter()
                .find(|(id, _)| id == symbol)
                .map_or_else(|| symbol.get().to_string(), |(_, n)| n.clone());
            writeln!(
                f,
                "  {name:<6} position {:>7} shares   P&L ${:>10.2}   improvement ${:.4}/share {:.2} bps   eff/quoted {}",
                day.position,
                day.pnl_micros() as f64 / 1e6,
                day.improvement_per_share(),
                day.improvement_bps(),
                day.effective_over_quoted().map_or("-".to_owned(), |r| format!("{r:.3}"))
            )?;
        }
        let rejected: u64 =
            s.risk_rejects.values().sum::<u64>() + s.matcher_rejects.values().sum::<u64>();
        writeln!(f, "rejects       {rejected}")?;
        for (reason, count) in &s.risk_rejects {
            writeln!(f, "  {count:>8}  {reason} (risk gate)")?;
        }
        for (reason, count) in &s.matcher_rejects {
            writeln!(f, "  {count:>8}  {reason} (matcher)")?;
        }
        let l = &self.latency;
        writeln!(
            f,
            "latency       new order to first reply, over TCP loopback, {} orders: p50 {:.1} µs  p99 {:.1} µs  p99.9 {:.1} µs  max {:.1} µs",
            l.len(),
            l.value_at_quantile(0.5) as f64 / 1e3,
            l.value_at_quantile(0.99) as f64 / 1e3,
            l.value_at_quantile(0.999) as f64 / 1e3,
            l.max() as f64 / 1e3
        )?;
        writeln!(
            f,
            "journal       {} (replay it: crossline replay {})",
            self.journal_dir.display(),
            self.journal_dir.display()
        )
    }
}
