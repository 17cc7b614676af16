//! `crossline demo`: the engine on the embedded default configuration with the venue
//! simulator and simulated clients, all on loopback, for a given time; then what
//! happened, rebuilt from the journal (executions, internalization, price improvement,
//! spreads, the firm's inventory and P&L, rejects) and from the clients (every order's
//! end, reply latency).
//!
//! Ports are chosen by the OS, so a demo never collides with anything already running.
//! The journal and the live counters file go to a fresh temporary directory, removed at
//! the end unless `--journal DIR` named one (then it is kept: replay it with `crossline
//! replay DIR`); watch a run with `crossline stat --journal DIR`.
//!
//! **The flow.** Each simulated client sends inside its configured limits, as a real
//! client's order system would: its share of the rate, or 80% of its own message rate if
//! that is lower (the rest goes to the others); a client with a small credit limit trades
//! only the cheap symbols, at a pace its credit lasts the run. One exception is on
//! purpose: a client whose rate is capped sends a burst past its configured
//! `message_burst` every two seconds, so the summary shows the rate control at work.
//! Its new orders come from the one order-flow generator ([`crate::flow::OrderFlow`]),
//! restricted to that client and the symbols it trades, without short sales (the demo
//! has no locates); its cancels and replaces pick among the orders its replies show
//! still open. Reply latency is taken by a thread per client that blocks on the socket
//! and stamps each reply as it arrives, from the moment the order was handed to the
//! socket.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::flow::{on_the_wire, OrderFlow};
use crate::report::Summary;
use crossline_agent::Cores;
use crossline_config::Config;
use crossline_config::Role;
use crossline_counters::{CountersReader, Reading};
use crossline_engine::recovery;
use crossline_gateway::wall_clock_ns;
use crossline_pipeline::Pipeline;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_sequencer::Command;
use crossline_types::{ClientOrderId, Price, Quantity, SymbolId};
use crossline_venue::Simulator;
use hdrhistogram::Histogram;

use crate::admin::{multiplier_text, AdminSession, ImprovementLine};
use crate::client::{Client, ClientError};
use crate::fix_client::{self, FixClient, FixClientError, FixTally, Tradable};
use crate::stat;
use crossline_protocol::frame::Header;

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
    /// Keep the journal directory at the end (it was named by the user).
    pub keep_journal: bool,
    /// Add a FIX 4.4 client (client 5) and a FIX 4.2 drop copy ([`FIX_DEMO_TABLES`]).
    pub fix: bool,
    /// Clients' price-improvement multipliers (client, ppm) an operator sets through the
    /// admin port before trading starts ([`DEMO_MULTIPLIERS`] by default).
    pub multipliers: Vec<(u32, u32)>,
}

/// The demo's flow classification, as an operator would load it from last month's
/// `crossline report markouts` (`crossline admin improvement load`): client 1 is taken
/// for informed flow (×0.5 the improvement), client 2 for uninformed flow (×1.5); the
/// others keep their symbols' own improvement.
pub const DEMO_MULTIPLIERS: [(u32, u32); 2] = [(1, 500_000), (2, 1_500_000)];

/// What `crossline demo --fix` adds to the configuration: client 5, which trades on
/// FIX 4.4 as `DEMOFIX`, and the middle office's drop copy `MIDOFFICE` on FIX 4.2
/// (docs/FIX.md).
pub const FIX_DEMO_TABLES: &str = r#"
# Added by `crossline demo --fix`: a client on FIX and the middle office's drop copy.
[[clients]]
id = 5

[[fix_sessions]]
comp_id = "DEMOFIX"
client = 5
version = "FIX.4.4"
secret = "demo-fix-secret"

[[fix_sessions]]
comp_id = "MIDOFFICE"
role = "drop_copy"
version = "FIX.4.2"
secret = "demo-dropcopy-secret"
"#;

/// The share of the demo's order rate the FIX client sends.
const FIX_SHARE: f64 = 0.1;

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
            keep_journal: false,
            fix: false,
            multipliers: DEMO_MULTIPLIERS.to_vec(),
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
    /// Whether the journal directory was kept.
    pub journal_kept: bool,
    /// Each client's plan (rate, symbols, deliberate bursts), in words.
    pub plans: Vec<String>,
    /// Per client.
    pub clients: Vec<(u32, ClientTally)>,
    /// From sending a new order to its first reply, nanoseconds, all clients.
    pub latency: Histogram<u64>,
    /// The day, rebuilt from the journal.
    pub summary: Summary,
    /// Symbol names.
    pub names: Vec<(SymbolId, String)>,
    /// With `--fix`: what the FIX client saw, and the execution reports the drop copy
    /// received.
    pub fix: Option<(FixTally, u64)>,
    /// The price-improvement multipliers set through the admin port (client, ppm).
    pub multipliers: Vec<(u32, u32)>,
}

/// The configuration with every address (clients, admin port, feed, venues) on an
/// OS-chosen loopback port.
#[must_use]
pub fn on_free_ports(mut config: Config) -> Config {
    let any: SocketAddr = ([127, 0, 0, 1], 0).into();
    config.network.gateway.listen = any;
    config.network.market_data.listen = any;
    config.admin.listen = any;
    config.fix.listen = any;
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
    let mut options = options.clone();
    if options.fix {
        options.config_text.push_str(FIX_DEMO_TABLES);
    }
    let options = &options;
    let config = crossline_config::parse(&options.config_text)
        .map_err(|e| DemoError::Config(e.to_string()))?;
    let mut config = on_free_ports(config);
    std::fs::create_dir_all(&options.journal_dir)
        .map_err(|e| DemoError::Config(format!("{}: {e}", options.journal_dir.display())))?;

    let venues = Venues::start(&mut config)?;
    let (pipeline, _) = Pipeline::open(
        &config,
        &options.config_text,
        &options.journal_dir,
        &Cores::detect(),
    )?;
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

    let counters = CountersReader::open(pipeline.counters_path()).ok();
    wait_for_quotes(counters.as_ref(), config.symbol_names.len());
    let multipliers = match set_multipliers(&config, options, pipeline.admin_address()) {
        Ok(multipliers) => multipliers,
        Err(error) => {
            let _ = pipeline.stop();
            venues.stop();
            return Err(error);
        }
    };
    let flows = plan_flows(&config, options, pipeline.client_address());
    let plans: Vec<String> = flows.iter().map(ClientFlow::describe).collect();
    let trading = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut threads = Vec::with_capacity(flows.len());
    for flow in flows {
        let (trading, sent) = (trading.clone(), sent.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("cx-client{}", flow.client))
                .spawn(move || flow.run(&trading, &sent))
                .map_err(|e| DemoError::Simulator(e.to_string()))?,
        );
    }

    let fix = match (options.fix, pipeline.fix_address()) {
        (true, Some(address)) => Some(start_fix(&config, options, address, &trading)?),
        _ => None,
    };

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
    let fix = match fix {
        Some((trader, watcher)) => {
            let failed =
                |what: &str| DemoError::Simulator(format!("the FIX {what} thread panicked"));
            let tally = trader
                .join()
                .map_err(|_| failed("client"))?
                .map_err(|e| DemoError::Simulator(format!("FIX client: {e}")))?;
            let copies = watcher
                .join()
                .map_err(|_| failed("drop copy"))?
                .map_err(|e| DemoError::Simulator(format!("FIX drop copy: {e}")))?;
            Some((tally, copies))
        }
        None => None,
    };
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
    let parsed = recovery::recorded_config(&options.journal_dir)?;
    let mut engine = crossline_engine::Engine::new(&parsed, crossline_sequencer::NoJournal)?;
    recovery::replay_from(
        &options.journal_dir,
        &mut engine,
        None,
        &mut summary,
        &mut |_| {},
    )?;
    let journal_kept = options.keep_journal;
    if !journal_kept {
        // A temporary directory of this run's own: nothing else is in it.
        let _ = std::fs::remove_dir_all(&options.journal_dir);
    }
    Ok(DemoReport {
        duration,
        journal_dir: options.journal_dir.clone(),
        journal_kept,
        plans,
        clients: tallies,
        latency,
        summary,
        names: config.symbol_names.clone(),
        fix,
        multipliers,
    })
}

/// Sets `options.multipliers` through the admin port as the configuration's first
/// control operator, for the clients the configuration has; answers those set. Without
/// a control operator that can log on, sets none and says so.
fn set_multipliers(
    config: &Config,
    options: &DemoOptions,
    admin: SocketAddr,
) -> Result<Vec<(u32, u32)>, DemoError> {
    let wanted: Vec<(u32, u32)> = options
        .multipliers
        .iter()
        .copied()
        .filter(|(client, _)| config.secrets.iter().any(|(id, _)| id.get() == *client))
        .collect();
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let operator = config.admin.operators.iter().find_map(|operator| {
        let secret = operator.secret.as_ref()?;
        (operator.role == Role::Control).then_some((operator.id, secret))
    });
    let Some((operator, secret)) = operator else {
        if options.progress {
            println!(
                "crossline demo: no control operator can log on ([[operators]] role = \"control\" with a secret): every client keeps its symbols' own price improvement"
            );
        }
        return Ok(Vec::new());
    };
    let failed = |what: String| DemoError::Simulator(format!("admin port: {what}"));
    let mut session = AdminSession::logon(admin, operator, secret, Duration::from_secs(5))
        .map_err(|e| failed(e.to_string()))?;
    let messages: Vec<_> = wanted
        .iter()
        .map(|&(client, multiplier_ppm)| {
            ImprovementLine {
                line: 0,
                client,
                multiplier_ppm,
            }
            .message()
        })
        .collect();
    let answers = session
        .request_all(&messages)
        .map_err(|e| failed(e.to_string()))?;
    let _ = session.logout();
    if let Some(refused) = answers.iter().find(|answer| !answer.accepted()) {
        return Err(failed(format!("a multiplier was refused: {refused:?}")));
    }
    if options.progress {
        println!(
            "price improvement: operator {operator} set {} through the admin port (journaled before trading starts)",
            wanted
                .iter()
                .map(|&(client, ppm)| format!("client {client} ×{}", multiplier_text(ppm)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(wanted)
}

type FixThreads = (
    std::thread::JoinHandle<Result<FixTally, FixClientError>>,
    std::thread::JoinHandle<Result<u64, FixClientError>>,
);

/// Logs the FIX client and the drop copy on and starts their threads.
fn start_fix(
    config: &Config,
    options: &DemoOptions,
    address: SocketAddr,
    trading: &Arc<AtomicBool>,
) -> Result<FixThreads, DemoError> {
    let session = |comp_id: &str| {
        config
            .fix
            .sessions
            .iter()
            .find(|s| s.comp_id == comp_id)
            .ok_or_else(|| DemoError::Config(format!("no [[fix_sessions]] entry {comp_id}")))
    };
    let logon = |comp_id: &str| -> Result<FixClient, DemoError> {
        let entry = session(comp_id)?;
        FixClient::logon(
            address,
            entry.version.begin_string().as_bytes(),
            comp_id,
            &config.fix.comp_id,
            entry.secret.as_deref().unwrap_or_default(),
        )
        .map_err(|e| DemoError::Simulator(format!("FIX session {comp_id}: {e}")))
    };
    let mut trader = logon("DEMOFIX")?;
    let mut watcher = logon("MIDOFFICE")?;
    let symbols: Vec<Tradable> = config
        .matcher
        .symbols
        .iter()
        .filter_map(|s| {
            let name = config.symbol_names.iter().find(|(id, _)| *id == s.symbol)?;
            Some((
                name.1.clone(),
                s.reference_price.micros(),
                s.book.tick.micros(),
            ))
        })
        .collect();
    let rate = (f64::from(options.orders_per_second) * FIX_SHARE).max(1.0);
    let spawn_error = |e: std::io::Error| DemoError::Simulator(e.to_string());
    let flag = trading.clone();
    let trader = std::thread::Builder::new()
        .name("cx-fix-client".to_owned())
        .spawn(move || fix_client::trade(&mut trader, &symbols, rate, &flag))
        .map_err(spawn_error)?;
    let flag = trading.clone();
    let watcher = std::thread::Builder::new()
        .name("cx-fix-dropcopy".to_owned())
        .spawn(move || fix_client::watch(&mut watcher, &flag, Duration::from_millis(600)))
        .map_err(spawn_error)?;
    Ok((trader, watcher))
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

/// Waits (up to two seconds) until the feed has brought a quote for every symbol, so the
/// first orders meet a market rather than "no reference price".
fn wait_for_quotes(counters: Option<&CountersReader>, symbols: usize) {
    let Some(reader) = counters else { return };
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline
        && stat::value(&reader.sample(), "feed.messages") < symbols as u64
    {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Fraction of its own message rate a rate-capped client uses.
const RATE_USE: f64 = 0.8;
/// How often a rate-capped client bursts past its `message_burst` on purpose.
const BURST_EVERY: Duration = Duration::from_secs(2);
/// Orders past `message_burst` in each deliberate burst.
const BURST_EXCESS: u32 = 10;
/// Largest order a simulated client sends, shares.
const ORDER_SHARES_MAX: u32 = 1_000;
/// Share of its credit a small account lets its orders reach over the run.
const CREDIT_USE: f64 = 0.5;
/// How long the clients take at the end to cancel what they still have open.
const DAY_END: Duration = Duration::from_millis(1_500);

/// Each configured client's flow: its share of `options.orders_per_second`, inside its
/// own limits (see the module documentation).
fn plan_flows(config: &Config, options: &DemoOptions, address: SocketAddr) -> Vec<ClientFlow> {
    let symbols: Vec<(SymbolId, i64, i64)> = config
        .matcher
        .symbols
        .iter()
        .map(|s| (s.symbol, s.reference_price.micros(), s.book.tick.micros()))
        .collect();
    let share = f64::from(options.orders_per_second) / config.secrets.len().max(1) as f64;
    let seconds = options.duration.as_secs_f64().max(1.0);
    let mut flows: Vec<ClientFlow> = Vec::with_capacity(config.secrets.len());
    for (index, (client, secret)) in config.secrets.iter().enumerate() {
        let limits = config.risk.clients.iter().find(|l| l.client == *client);
        let mut flow = ClientFlow {
            address,
            client: client.get(),
            secret: secret.clone(),
            per_second: share,
            symbols: symbols.clone(),
            orders: OrderFlow::new(config, options.seed.wrapping_add(index as u64 * 7919), 0)
                .for_client(*client)
                .lots_max(ORDER_SHARES_MAX / 100)
                .without_short_sales()
                .ids_after(u64::from(client.get()) << 40),
            burst: None,
            capped_by: None,
        };
        if let Some(limits) = limits {
            let rate = RATE_USE * f64::from(limits.messages_per_second);
            if rate < flow.per_second {
                flow.per_second = rate;
                flow.burst = Some(limits.message_burst + BURST_EXCESS);
                flow.capped_by = Some(format!(
                    "its {} messages/s (burst {})",
                    limits.messages_per_second, limits.message_burst
                ));
            }
            // A small account: the symbols whose largest order is a tenth of its credit
            // at most, at a pace its credit lasts the run.
            let credit = limits.credit_limit.micros() as f64;
            let affordable: Vec<_> = symbols
                .iter()
                .copied()
                .filter(|(_, price, _)| {
                    (*price as f64) * f64::from(ORDER_SHARES_MAX) * 10.0 <= credit
                })
                .collect();
            let average_order = |list: &[(SymbolId, i64, i64)]| {
                list.iter().map(|(_, p, _)| *p as f64).sum::<f64>() / list.len().max(1) as f64
                    * f64::from(ORDER_SHARES_MAX + 100)
                    / 2.0
            };
            let lasting = CREDIT_USE * credit / average_order(&symbols) / seconds;
            if lasting < flow.per_second && !affordable.is_empty() {
                let lasting = CREDIT_USE * credit / average_order(&affordable) / seconds;
                flow.symbols = affordable;
                flow.per_second = flow.per_second.min(lasting);
                flow.capped_by = Some(format!(
                    "its ${:.0} credit limit (cheap symbols only)",
                    credit / 1e6
                ));
            }
        }
        flows.push(flow);
    }
    // What the capped clients do not send, the others share.
    let capped: f64 = flows
        .iter()
        .filter(|f| f.capped_by.is_some())
        .map(|f| f.per_second)
        .sum();
    let free = flows.iter().filter(|f| f.capped_by.is_none()).count();
    if free > 0 {
        let each = (f64::from(options.orders_per_second) - capped).max(0.0) / free as f64;
        for flow in flows.iter_mut().filter(|f| f.capped_by.is_none()) {
            flow.per_second = each;
        }
    }
    flows
}

/// One simulated client's order flow.
struct ClientFlow {
    address: SocketAddr,
    client: u32,
    secret: String,
    per_second: f64,
    /// Symbol, reference price and tick, micro-dollars.
    symbols: Vec<(SymbolId, i64, i64)>,
    /// Its orders' generator, before it is narrowed to the client's symbols.
    orders: OrderFlow,
    /// Orders sent at once every [`BURST_EVERY`], past the client's `message_burst`.
    burst: Option<u32>,
    /// What limits this client's pace, if anything does.
    capped_by: Option<String>,
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
    /// From handing a new order to the socket to its first reply's arrival.
    latency: Histogram<u64>,
    /// New orders sent and not yet answered, with their send times.
    awaiting: HashMap<u64, Instant>,
    /// Open orders, by current client order id.
    open: HashMap<u64, Working>,
}

impl Ledger {
    /// Follows one reply that arrived at `arrived`: latency of a new order's first
    /// answer, and each order's end.
    fn take(&mut self, sequence: u32, reply: &Outbound, arrived: Instant) {
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
            let nanos = u64::try_from(arrived.duration_since(sent).as_nanos()).unwrap_or(u64::MAX);
            let _ = latency.record(nanos.max(1));
        }
        // Every new order is open from its sending: its first end counts it.
        if ended && open.remove(&id.get()).is_some() {
            tally.terminal += 1;
        }
    }
}

type FlowResult = (u32, Result<(ClientTally, Histogram<u64>), ClientError>);

/// A reply and when its frame was read off the socket.
type Arrival = (Header, Outbound, Instant);

impl ClientFlow {
    fn run(self, trading: &AtomicBool, sent: &AtomicU64) -> FlowResult {
        let client = self.client;
        (client, self.trade(trading, sent))
    }

    /// The plan in words, for the summary.
    fn describe(&self) -> String {
        let names: Vec<String> = self
            .symbols
            .iter()
            .map(|(s, _, _)| s.get().to_string())
            .collect();
        let mut text = format!(
            "client {}: {:.0} orders/s on symbols {}",
            self.client,
            self.per_second,
            names.join(",")
        );
        if let Some(why) = &self.capped_by {
            text.push_str(&format!(", paced by {why}"));
        }
        if let Some(burst) = self.burst {
            text.push_str(&format!(
                "; every {} s a burst of {burst} orders at once, past its burst limit on purpose",
                BURST_EVERY.as_secs()
            ));
        }
        text
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
        let mut replies = session.split_replies(Duration::from_millis(20))?;
        let (arrivals_tx, arrivals) = mpsc::channel::<Arrival>();
        let reading = Arc::new(AtomicBool::new(true));
        let reader = {
            let reading = reading.clone();
            std::thread::Builder::new()
                .name(format!("cx-replies{}", self.client))
                .spawn(move || -> Result<(), ClientError> {
                    while reading.load(Ordering::Acquire) {
                        if let Some((header, reply)) = replies.wait()? {
                            let _ = arrivals_tx.send((header, reply, Instant::now()));
                        }
                    }
                    Ok(())
                })?
        };
        let mut ledger = Ledger {
            last_reply,
            tally: ClientTally::default(),
            latency: Histogram::<u64>::new(3).map_err(|e| ClientError::Protocol(e.to_string()))?,
            awaiting: HashMap::new(),
            open: HashMap::new(),
        };
        let symbols: Vec<SymbolId> = self.symbols.iter().map(|(symbol, _, _)| *symbol).collect();
        let mut state = FlowState {
            orders: self.orders.clone().in_symbols(&symbols),
            ids: Vec::new(),
        };
        let traded = self.send_flow(
            &mut session,
            &mut ledger,
            &mut state,
            &arrivals,
            trading,
            sent,
        );
        let ended =
            traded.and_then(|()| self.end_day(&mut session, &mut ledger, &mut state, &arrivals));
        let _ = session.send(&Inbound::Logout {});
        reading.store(false, Ordering::Release);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(ClientError::Protocol("reply reader panicked".to_owned())));
        ended?;
        // The engine closes the session after the logout: that ends the reader.
        if let Err(error) = read {
            if !matches!(error, ClientError::Closed) {
                return Err(error);
            }
        }
        ledger.tally.open = ledger.open.len() as u64;
        Ok((ledger.tally, ledger.latency))
    }

    /// Sends the flow at its pace until trading stops, following replies as they come.
    fn send_flow(
        &self,
        session: &mut Client,
        ledger: &mut Ledger,
        state: &mut FlowState,
        arrivals: &mpsc::Receiver<Arrival>,
        trading: &AtomicBool,
        sent: &AtomicU64,
    ) -> Result<(), ClientError> {
        let interval = Duration::from_secs_f64(1.0 / self.per_second.max(0.1));
        let start = Instant::now();
        let mut due = start;
        let mut next_burst = start + BURST_EVERY;
        while trading.load(Ordering::Acquire) {
            let now = Instant::now();
            while due <= now {
                due += interval;
                self.send_one(session, ledger, state, sent)?;
            }
            if let Some(burst) = self.burst.filter(|_| now >= next_burst) {
                next_burst += BURST_EVERY;
                for _ in 0..burst {
                    self.send_new(session, ledger, state, sent)?;
                }
            }
            while let Ok((header, reply, arrived)) = arrivals.try_recv() {
                ledger.take(header.sequence, &reply, arrived);
            }
            // Ids of orders that ended are dropped now and then, not every step: a scan
            // of every id each step grows with the orders left resting.
            if state.ids.len() > 2 * ledger.open.len() + 64 {
                state.ids.retain(|id| ledger.open.contains_key(id));
            }
            // Replies are read on their own thread: this one only sleeps until the next
            // order (or burst, for a client that bursts) is due.
            let wake = match self.burst {
                Some(_) => due.min(next_burst),
                None => due,
            };
            std::thread::sleep(
                wake.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(50)),
            );
        }
        Ok(())
    }

    /// One step of the flow: a cancel or a replace of an open order, else a new order.
    fn send_one(
        &self,
        session: &mut Client,
        ledger: &mut Ledger,
        state: &mut FlowState,
        sent: &AtomicU64,
    ) -> Result<(), ClientError> {
        let roll = state.orders.below(100);
        let target = (!state.ids.is_empty())
            .then(|| state.ids[state.orders.below(state.ids.len())])
            .and_then(|id| ledger.open.get(&id).map(|w| (id, *w)));
        match (roll, target) {
            (0..=9, Some((original, working))) => {
                cancel(session, &mut ledger.tally, state, original, working.symbol)?;
            }
            (10..=14, Some((original, working))) => {
                let (_, _, tick) = self.symbol(working.symbol);
                let step = i64::try_from(state.orders.below(3)).unwrap_or(1) - 1;
                session.send(&Inbound::Replace {
                    client_order_id: state.orders.take_id(),
                    original_client_order_id: ClientOrderId::new(original),
                    price: Price::from_micros(working.price.micros() + step * tick),
                    quantity: Quantity::new(working.quantity),
                })?;
                ledger.tally.replaces += 1;
            }
            _ => self.send_new(session, ledger, state, sent)?,
        }
        Ok(())
    }

    fn send_new(
        &self,
        session: &mut Client,
        ledger: &mut Ledger,
        state: &mut FlowState,
        sent: &AtomicU64,
    ) -> Result<(), ClientError> {
        let command = state.orders.new_order();
        let (Command::NewOrder(order), Some((_, message, _))) = (command, on_the_wire(&command))
        else {
            return Ok(());
        };
        let id = order.client_order_id.get();
        ledger.open.insert(
            id,
            Working {
                symbol: order.symbol,
                price: order.price,
                quantity: order.quantity.shares(),
            },
        );
        state.ids.push(id);
        ledger.awaiting.insert(id, Instant::now());
        session.send(&message)?;
        ledger.tally.orders += 1;
        sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The day ends: cancel what is still open (inside the client's pace), and follow the
    /// replies for [`DAY_END`] at most; what is still open then stays open (day orders).
    fn end_day(
        &self,
        session: &mut Client,
        ledger: &mut Ledger,
        state: &mut FlowState,
        arrivals: &mpsc::Receiver<Arrival>,
    ) -> Result<(), ClientError> {
        let mut cancelled: HashSet<u64> = HashSet::new();
        let deadline = Instant::now() + DAY_END;
        // Cancels in batches every 10 ms at the client's own pace (its rate limit applies
        // to cancels too).
        // Orders a second over 100 batches a second, rounded up; a rate is at most a
        // few thousand, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let batch = ((self.per_second / 100.0).ceil() as usize).max(1);
        let mut next_batch = Instant::now();
        while !ledger.open.is_empty() && Instant::now() < deadline {
            if Instant::now() >= next_batch {
                next_batch += Duration::from_millis(10);
                let mut left = batch;
                for (&original, working) in &ledger.open {
                    if left == 0 {
                        break;
                    }
                    if cancelled.insert(original) {
                        left -= 1;
                        cancel(session, &mut ledger.tally, state, original, working.symbol)?;
                    }
                }
            }
            if let Ok((header, reply, arrived)) = arrivals.recv_timeout(Duration::from_millis(5)) {
                // A refused cancel (shares out at a venue, a replace in flight) is sent
                // again in a later batch.
                if let Outbound::CancelRejected {
                    original_client_order_id,
                    ..
                } = reply
                {
                    cancelled.remove(&original_client_order_id.get());
                }
                ledger.take(header.sequence, &reply, arrived);
            }
        }
        Ok(())
    }

    fn symbol(&self, symbol: SymbolId) -> (SymbolId, i64, i64) {
        self.symbols
            .iter()
            .copied()
            .find(|(id, _, _)| *id == symbol)
            .unwrap_or((symbol, 1_000_000, 10_000))
    }
}

/// What a client's flow draws from and numbers with.
struct FlowState {
    /// Its orders, draws and client order ids.
    orders: OrderFlow,
    /// Ids of orders it may cancel or replace.
    ids: Vec<u64>,
}

/// Sends a cancel of the client's order `original` in `symbol`.
fn cancel(
    session: &mut Client,
    tally: &mut ClientTally,
    state: &mut FlowState,
    original: u64,
    symbol: SymbolId,
) -> Result<(), ClientError> {
    session.send(&Inbound::Cancel {
        client_order_id: state.orders.take_id(),
        original_client_order_id: ClientOrderId::new(original),
        symbol,
    })?;
    tally.cancels += 1;
    Ok(())
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
        if !s.principal_by_client.is_empty() {
            writeln!(
                f,
                "principal     per client: the firm's improvement as a share of the NBBO spread, with the multiplier the operator set"
            )?;
            for (client, fills) in &s.principal_by_client {
                let ppm = self
                    .multipliers
                    .iter()
                    .find(|(id, _)| *id == client.get())
                    .map_or(crossline_risk::IMPROVEMENT_PPM_DEFAULT, |&(_, ppm)| ppm);
                writeln!(
                    f,
                    "  client {:<3} ×{:<4} {:>8} shares  {:>5.1}% of the spread  ${:.4}/share",
                    client.get(),
                    multiplier_text(ppm),
                    fills.shares,
                    fills.share_of_spread().unwrap_or(0.0) * 100.0,
                    fills.improvement_micros as f64 / 1e6 / fills.shares.max(1) as f64
                )?;
            }
        }
        let rejected: u64 =
            s.risk_rejects.values().sum::<u64>() + s.matcher_rejects.values().sum::<u64>();
        writeln!(
            f,
            "rejects       {rejected} ({:.2}% of {orders} orders; the flow below says which are on purpose)",
            100.0 * rejected as f64 / orders.max(1) as f64
        )?;
        for (reason, count) in &s.risk_rejects {
            writeln!(f, "  {count:>8}  {reason} (risk gate)")?;
        }
        for (reason, count) in &s.matcher_rejects {
            writeln!(f, "  {count:>8}  {reason} (matcher)")?;
        }
        let l = &self.latency;
        writeln!(
            f,
            "latency       new order to first reply, {} orders: p50 {:.1} µs  p99 {:.1} µs  p99.9 {:.1} µs  max {:.1} µs",
            l.len(),
            l.value_at_quantile(0.5) as f64 / 1e3,
            l.value_at_quantile(0.99) as f64 / 1e3,
            l.value_at_quantile(0.999) as f64 / 1e3,
            l.max() as f64 / 1e3
        )?;
        writeln!(
            f,
            "              (TCP loopback, from handing the order to the socket to the reply's arrival, stamped by a thread per client blocked on its socket)"
        )?;
        if let Some((fix, copies)) = &self.fix {
            let l = &fix.latency;
            writeln!(
                f,
                "fix           client 5 on FIX 4.4 (DEMOFIX): {} NewOrderSingles; execution reports: {} new, {} fills, {} cancelled, {} rejected",
                fix.orders, fix.new, fix.fills, fix.cancels, fix.rejects
            )?;
            writeln!(
                f,
                "              NewOrderSingle to first ExecutionReport: p50 {:.1} µs  p99 {:.1} µs  max {:.1} µs (the same loop reads and sends)",
                l.value_at_quantile(0.5) as f64 / 1e3,
                l.value_at_quantile(0.99) as f64 / 1e3,
                l.max() as f64 / 1e3
            )?;
            writeln!(
                f,
                "              drop copy on FIX 4.2 (MIDOFFICE): {copies} execution reports and cancel rejects, every client's"
            )?;
        }
        writeln!(f, "flow")?;
        for plan in &self.plans {
            writeln!(f, "  {plan}")?;
        }
        if self.journal_kept {
            writeln!(
                f,
                "journal       {} (replay it: crossline replay {})",
                self.journal_dir.display(),
                self.journal_dir.display()
            )
        } else {
            writeln!(
                f,
                "journal       removed with its temporary directory (give --journal DIR to keep it)"
            )
        }
    }
}
