//! `scripts/bench.sh e2e [--quick] [--rounds N] [--cores A,B] [--rate N]`: the engine's end-to-end
//! latency, open-loop at fixed offered rates, beside the machine's limits measured in the
//! same run.
//!
//! **In-process tick-to-trade** (100k, 500k and 1M orders/s): from the commands ring
//! to the replies ring, through the pipeline's own core (`crossline_pipeline::Core`,
//! built as `Pipeline::open` builds it: the sequencer agent with the risk gate and a
//! memory-mapped journal on disk, every command appended before it is passed on, and the
//! matcher agent), on one thread as the shared placement runs them. A generator on the
//! other core pushes each client order message (new order, cancel or replace) into the
//! commands ring when it falls due, with the NBBO quotes and venue reports of the flow in
//! between (`crossline::flow`, the one order-flow generator), whatever has come back; the same thread drains the
//! replies ring (what the order ingress would send the client) and the egress's ring
//! (routes). An order's latency is the arrival of its first reply (accepted, rejected,
//! replaced, cancelled, refused) minus the time it was *due*, so a stall is charged to
//! every order it delayed (no coordinated omission). Each order is stamped with its due
//! time; a reply carries the sequence number of the journal record that caused it, and
//! the flow's commands are sequenced in the order they are pushed, which is how replies
//! are matched to their orders; every order must be answered, or the run fails.
//!
//! **The cost of durability**: the in-process run again at 100k and 500k orders/s (100k
//! with `--quick`) under `[journal] durability = "sync_per_batch"`, named
//! `in_process_sync_per_batch_at_*`: the sequencer ends a batch every duty cycle, the
//! journal's flusher thread `msync`s it, and a reply is taken from the replies ring only
//! once its record is on disk (the order ingress's acknowledgement gate,
//! `crossline_pipeline::queue::AckGate`, which the sink runs too). Under the default
//! `"process"` the gate passes everything at once.
//!
//! **Wire-to-wire** (50k and 100k orders/s): the whole pipeline (`crossline-pipeline`,
//! the five agents on one pinned busy-spinning thread) with the venue simulator, and one
//! client thread on the other core holding sessions for two clients
//! (`crossline::client`), sending each order of the same flow when due and timing its
//! first reply. The wire has no locates, so its short sales (3 new orders in 20) are
//! refused by the gate (Reg SHO). In
//! the same run, at the same rate and on the same two cores, a plain blocking
//! `std::net` echo server gives the kernel's loopback round trip: the floor for any
//! engine answering over TCP on this machine.
//!
//! **Capacity** (every round, on the same planned flow): `matcher_alone_orders_per_s` is
//! a fresh matcher applying the flow's sequenced inputs (exactly those the reference
//! engine's sequencer passed its matcher while planning: orders, quotes, venue
//! reports), nothing else, on the engine's core. `engine_capacity_orders_per_s` is the
//! whole one-core engine as above (commands ring, gate, journal append, matcher,
//! replies and egress rings, the acknowledgement gate) driven as fast as it drains: the
//! generator pushes the commands, encoded and stamped with their planned times before the
//! clock starts, as fast as the commands ring takes them, the sink only counts what comes
//! out, and the clock runs from the first push to the last order's first reply; every
//! order must be answered. Both count the flow's orders; `engine_vs_matcher_alone` is
//! their ratio. `engine_one_thread_orders_per_s` runs the same engine with its feeder and
//! its drain on one thread (no core crossed), timing its two agents' duty cycles:
//! `engine_one_thread_sequencer_ns_per_order` (gate, journal, events back) and
//! `engine_one_thread_matcher_ns_per_order` (matcher, events out, replies), beside the
//! matcher alone's time per order. Between them they say where the engine's time goes.
//!
//! **The physical limit**: the core-to-core one-way latency of a cache line between the
//! same two cores (`crossline_bench::core_to_core`), measured in every round. An order
//! in process crosses between cores twice (generator to sequencer, matcher to sink), so
//! `in_process_p50_vs_physical` is the p50 at 1M/s over two one-way hops.
//!
//! `--quick`: one round at 1M/s in process and 100k/s on the wire, half a second each.
//! `--rate N`: in process at N orders/s alone (no wire runs), to find where it saturates.
//!
//! Rounds interleave every subject; each figure is the median over rounds. Results go to
//! `target/bench/e2e.json`, percentile distributions to `target/bench/e2e/*.hgrm` and a
//! chart to `target/bench/e2e/e2e.svg`.
// Measurement arithmetic converts between f64 and integer nanoseconds, ticks and counts
// far inside both ranges; truncation there is rounding, on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossline::client::Client;
use crossline::demo::{on_free_ports, Venues};
use crossline::flow::{on_the_wire, OrderFlow};
use crossline_agent::{Agent, Composite, Cores, Idle, Runner, ThreadSpec};
use crossline_bench::chart::{write_hgrm, write_percentile_chart, Series};
use crossline_bench::clock::Clock;
use crossline_bench::stats::{latency_histogram, median, Percentiles};
use crossline_bench::tcp::{self, EchoServer};
use crossline_bench::{core_to_core, pin_current_thread, report, Options};
use crossline_config::Config;
use crossline_engine::{recovery, Engine, Observer};
use crossline_matcher::{Event, VenueCancel, VenueFill};
use crossline_pipeline::queue::AckGate;
use crossline_pipeline::{Core, CoreEdges, Pipeline, Reply};
use crossline_protocol::client::Outbound;
use crossline_sequencer::{Command, NoJournal, Output, Sequenced, Stamped};
use crossline_types::{ClientId, Message, Price, SequenceNumber, Timestamp};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

/// Journal time of slot 0: 2023-11-14, so every time is a plausible wall-clock time.
const BASE_NS: u64 = 1_700_000_000_000_000_000;
/// The flow's seed.
const SEED: u64 = 20_261_121;
/// Day orders the flow keeps working before it cancels the oldest.
const RESTING_MAX: usize = 2_000;
/// A quote goes in before every this many orders.
const QUOTE_EVERY: u64 = 8;
/// A route is answered by its venue this many order slots later.
const VENUE_SLOTS: u64 = 50;
/// The in-process rate the targets are set at, and the wire rate.
const TARGET_IN_PROCESS: u64 = 1_000_000;
const TARGET_WIRE: u64 = 100_000;
/// Client sessions on the wire.
const WIRE_CLIENTS: usize = 2;
/// Time between starting an engine and offering it load.
const SETTLE: Duration = Duration::from_millis(500);
/// Reject reasons from the risk gate start above this (PROTOCOL.md's `Rejected`).
const RISK_CODES: u16 = 100;
/// Cache-line hand-offs between the two cores on an order's in-process path.
const CROSS_CORE_HOPS: u64 = 2;
/// The in-process rate both durability policies are measured at (`--quick`).
const SYNC_RATE: u64 = 100_000;

#[derive(Debug, Clone)]
struct Settings {
    rounds: usize,
    in_process_rates: Vec<u64>,
    /// In-process rates run again under `durability = "sync_per_batch"`.
    sync_rates: Vec<u64>,
    wire_rates: Vec<u64>,
    seconds: f64,
    warmup_seconds: f64,
}

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("e2e benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let cores = match options.pick_cores() {
        Ok(cores) => cores,
        Err(error) => {
            eprintln!("e2e benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let settings = if options.quick {
        Settings {
            rounds: 1,
            in_process_rates: vec![TARGET_IN_PROCESS],
            sync_rates: vec![SYNC_RATE],
            wire_rates: vec![TARGET_WIRE],
            seconds: 0.5,
            warmup_seconds: 0.1,
        }
    } else {
        Settings {
            rounds: options.rounds.map_or(3, |rounds| rounds.min(99)),
            in_process_rates: vec![100_000, 500_000, TARGET_IN_PROCESS],
            sync_rates: vec![SYNC_RATE, 500_000],
            wire_rates: vec![50_000, TARGET_WIRE],
            seconds: 2.0,
            warmup_seconds: 0.2,
        }
    };
    let mut settings = settings;
    if let Some(rate) = options.rate_per_s {
        // One in-process rate alone, for exploring where the engine saturates.
        settings.in_process_rates = vec![rate];
        settings.sync_rates = Vec::new();
        settings.wire_rates = Vec::new();
    }
    match run(cores, &settings) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("e2e benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `text` with `[journal] durability` set to `policy`.
fn with_durability(text: &str, policy: &str) -> Result<String, String> {
    let from = "durability = \"process\"";
    if !text.contains(from) {
        return Err(format!(
            "the default configuration no longer has {from:?}; update with_durability"
        ));
    }
    Ok(text.replacen(from, &format!("durability = \"{policy}\""), 1))
}

/// The name of the in-process run at `rate` under `durability = "sync_per_batch"`.
fn sync_name(rate: u64) -> String {
    format!("in_process_sync_per_batch_at_{}", rate_label(rate))
}

/// The benchmark configuration with all five agents on one thread pinned to `core`,
/// busy spinning: the engine's own core, the other left to the client.
fn one_thread_config_text(text: &str, core: usize) -> Result<String, String> {
    let from = "placement = \"auto\"";
    if !text.contains(from) {
        return Err("the default configuration no longer has placement = \"auto\"".to_owned());
    }
    Ok(text.replacen(from, "placement = \"threads\"", 1)
        + &format!(
            "\n[[pipeline.threads]]\nname = \"engine\"\nagents = [\"order_ingress\", \
             \"market_data\", \"sequencer\", \"matcher\", \"egress\"]\ncore = {core}\nidle = \
             \"busy_spin\"\n"
        ))
}

/// One command of the planned flow: in order slot `slot`, a client order message
/// (`order`) or the quote or venue report sent just before it.
#[derive(Debug, Clone, Copy)]
struct Planned {
    slot: u64,
    order: bool,
    command: Command,
}

impl Planned {
    /// The command as an ingress agent puts it on the commands ring: its 56-byte message,
    /// stamped with its planned time at `rate` (an order at its slot's due time, a quote
    /// or venue report a nanosecond before).
    fn message(&self, rate: u64) -> Message {
        let time = BASE_NS + slot_ns(self.slot, rate) - u64::from(!self.order);
        self.command
            .to_message(SequenceNumber::new(0), Timestamp::new(time))
    }
}

/// Journal time of a command in `slot` at `rate`: orders at the slot's due time, the
/// quotes and venue reports before them a nanosecond earlier (so an outbound item's time
/// tells an order's answer from theirs).
fn slot_ns(slot: u64, rate: u64) -> u64 {
    // In 64 bits while the product fits (the sink calls this once per reply, and a
    // 128-bit division is a library call).
    match slot.checked_mul(1_000_000_000) {
        Some(product) => product / rate,
        None => {
            u64::try_from(u128::from(slot) * 1_000_000_000 / u128::from(rate)).unwrap_or(u64::MAX)
        }
    }
}

/// Learns the routes a reference engine sends, to answer them as a venue would, and
/// keeps every input its sequencer passed to its matcher (for `matcher_alone`).
#[derive(Default)]
struct RouteWatch {
    routes: Vec<Command>,
    inputs: Vec<Sequenced>,
}

impl Observer for RouteWatch {
    fn output(&mut self, output: &Output) {
        if let Output::Matcher(sequenced) = output {
            self.inputs.push(*sequenced);
        }
    }

    fn event(&mut self, _input: &Sequenced, event: &Event) {
        if let Event::Route(route) = event {
            self.routes.push(match route.limit {
                Some(price) => Command::VenueFill(VenueFill {
                    order_id: route.order_id,
                    quantity: route.quantity,
                    price,
                    venue: 0,
                    fee: Price::ZERO,
                }),
                None => Command::VenueCancel(VenueCancel {
                    order_id: route.order_id,
                    quantity: route.quantity,
                }),
            });
        }
    }
}

/// Plans `slots` order slots of the flow, with the venue reports that answer its routes:
/// a reference engine (no journal) runs the flow once to learn where the matcher routes,
/// and each route is filled at its limit (cancelled, for a market order) `VENUE_SLOTS`
/// slots later. Also answers the inputs the reference engine's matcher applied.
fn plan(config: &Config, slots: u64) -> Result<(Vec<Planned>, Vec<Sequenced>), String> {
    let mut flow = OrderFlow::new(config, SEED, RESTING_MAX);
    let mut engine = Engine::new(config, NoJournal).map_err(|e| e.to_string())?;
    let mut watch = RouteWatch::default();
    let mut answers: VecDeque<(u64, Command)> = VecDeque::new();
    let mut planned = Vec::with_capacity(slots as usize * 5 / 4);
    let mut submit = |planned: &mut Vec<Planned>,
                      watch: &mut RouteWatch,
                      slot: u64,
                      order: bool,
                      command: Command|
     -> Result<(), String> {
        let time = BASE_NS + slot_ns(slot, TARGET_IN_PROCESS) - u64::from(!order);
        engine
            .submit(
                &Stamped {
                    time: Timestamp::new(time),
                    command,
                },
                watch,
            )
            .map_err(|e| format!("planning the flow: {e}"))?;
        planned.push(Planned {
            slot,
            order,
            command,
        });
        Ok(())
    };
    for command in flow.locates(1_000_000_000) {
        submit(&mut planned, &mut watch, 0, false, command)?;
    }
    for quote in flow.all_quotes() {
        submit(&mut planned, &mut watch, 0, false, Command::Nbbo(quote))?;
    }
    for slot in 0..slots {
        if slot % QUOTE_EVERY == 0 {
            let quote = flow.next_quote();
            submit(&mut planned, &mut watch, slot, false, Command::Nbbo(quote))?;
        }
        while answers.front().is_some_and(|(due, _)| *due <= slot) {
            if let Some((_, answer)) = answers.pop_front() {
                submit(&mut planned, &mut watch, slot, false, answer)?;
            }
        }
        let order = flow.next_order();
        submit(&mut planned, &mut watch, slot, true, order)?;
        answers.extend(watch.routes.drain(..).map(|a| (slot + VENUE_SLOTS, a)));
    }
    Ok((planned, watch.inputs))
}

/// `matcher_alone_orders_per_s`: a fresh matcher applying the flow's sequenced inputs
/// (what the reference engine's sequencer passed it: orders, quotes, venue reports),
/// nothing else, on the engine's core; the flow's orders over the time it took.
fn matcher_alone(
    config: &Config,
    inputs: &[Sequenced],
    orders: u64,
    core: usize,
) -> Result<f64, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<f64, String> {
                pin_current_thread(core)?;
                let mut matcher =
                    crossline_matcher::Matcher::new(&config.matcher).map_err(|e| e.to_string())?;
                let mut events = 0u64;
                let started = Instant::now();
                for sequenced in inputs {
                    matcher.apply(
                        sequenced.sequence,
                        sequenced.time,
                        &sequenced.input,
                        &mut |event| {
                            events += 1;
                            std::hint::black_box(event);
                        },
                    );
                }
                let elapsed = started.elapsed().as_secs_f64();
                std::hint::black_box(events);
                Ok(orders as f64 / elapsed)
            })
            .join()
            .map_err(|_| "the matcher-alone thread panicked".to_owned())?
    })
}

/// What the outbound ring carried in one in-process run.
#[derive(Debug, Default, Clone)]
struct OutboundTally {
    accepted: u64,
    rejected_by_matcher: u64,
    rejected_by_risk: u64,
    fills: u64,
    routes: u64,
    cancelled: u64,
    replaced: u64,
    cancel_rejected: u64,
    other: u64,
    risk_reasons: BTreeMap<String, u64>,
}

impl OutboundTally {
    /// A client reply the matcher agent handed the order ingress, as the replies ring
    /// carries it. Rejects are decoded for their reason; the others are told by their
    /// type code alone, so the sink stays cheap beside the engine it drains.
    fn count_reply(&mut self, reply: &Reply) {
        const ACCEPTED: u8 = 67;
        const REJECTED: u8 = 68;
        const FILLED: u8 = 69;
        const CANCELLED: u8 = 70;
        const REPLACED: u8 = 71;
        const CANCEL_REJECTED: u8 = 72;
        match reply.kind {
            ACCEPTED => self.accepted += 1,
            FILLED => self.fills += 1,
            CANCELLED => self.cancelled += 1,
            REPLACED => self.replaced += 1,
            CANCEL_REJECTED => self.cancel_rejected += 1,
            REJECTED => match reply.outbound() {
                Some(outbound) => self.count(&outbound),
                None => self.other += 1,
            },
            _ => self.other += 1,
        }
    }

    /// A client reply, decoded.
    fn count(&mut self, reply: &Outbound) {
        match reply {
            Outbound::Accepted { .. } => self.accepted += 1,
            Outbound::Rejected { reason, .. } if *reason < RISK_CODES => {
                self.rejected_by_matcher += 1;
            }
            Outbound::Rejected { reason, .. } => {
                self.rejected_by_risk += 1;
                // Only the first few reasons are named: naming allocates.
                if self.rejected_by_risk <= 64 {
                    *self
                        .risk_reasons
                        .entry(format!("code {reason}"))
                        .or_default() += 1;
                }
            }
            Outbound::Filled { .. } => self.fills += 1,
            Outbound::Cancelled { .. } => self.cancelled += 1,
            Outbound::Replaced { .. } => self.replaced += 1,
            Outbound::CancelRejected { .. } => self.cancel_rejected += 1,
            _ => self.other += 1,
        }
    }

    /// What the matcher agent handed the egress.
    fn count_egressed(&mut self, _item: &Message) {
        self.routes += 1;
    }

    fn to_json(&self) -> Value {
        json!({
            "accepted": self.accepted,
            "rejected_by_matcher": self.rejected_by_matcher,
            "rejected_by_risk": self.rejected_by_risk,
            "fills": self.fills,
            "routes": self.routes,
            "cancelled": self.cancelled,
            "replaced": self.replaced,
            "cancel_rejected": self.cancel_rejected,
            "first_risk_reject_reasons": self.risk_reasons,
        })
    }
}

/// One in-process run's result.
struct InProcess {
    histogram: Histogram<u64>,
    outbound: OutboundTally,
    orders: u64,
    commands: u64,
    journal_bytes: u64,
    /// From the first command pushed to the last order answered.
    elapsed_s: f64,
}

/// An offered rate and how long to run it.
#[derive(Debug, Clone, Copy)]
struct Load {
    /// Orders per second.
    rate: u64,
    /// Orders sent first and not recorded.
    warmup: u64,
    /// Orders recorded.
    orders: u64,
    /// Whether each command waits for its due time; unpaced (`engine_capacity`), the
    /// generator pushes as fast as the engine drains, each command stamped with its
    /// planned time at `TARGET_IN_PROCESS`.
    paced: bool,
}

/// Runs the planned flow through a fresh engine journaling into `dir` at `load`.
fn in_process(
    clock: &Clock,
    cores: (usize, usize),
    text: &str,
    planned: &[Planned],
    load: Load,
    dir: &Path,
) -> Result<InProcess, String> {
    let Load {
        rate,
        warmup,
        orders: slots,
        paced,
    } = load;
    // Unpaced, commands are stamped as if due at the in-process target rate.
    let stamp_rate = if paced { rate } else { TARGET_IN_PROCESS };
    let (core, mut commands, mut outbound) = open_core(text, dir)?;
    let first_sequence = core.sequencer.sequencer().next_sequence().get();
    let end = planned.partition_point(|p| p.slot < warmup + slots);
    let order_slots: Vec<u64> = planned[..end]
        .iter()
        .map(|item| if item.order { item.slot } else { u64::MAX })
        .collect();
    let core = Composite::new(vec![Box::new(core.sequencer), Box::new(core.matcher)]);
    let runner = Runner::start(
        &Cores::detect(),
        vec![ThreadSpec::new("cx-core", Box::new(core))
            .pin(cores.1)
            .idle(Idle::BusySpin)],
    )
    .map_err(|e| e.to_string())?;
    // Start-up work finishes before the load starts, as it would before a market opens:
    // the journal prepares its next segment in the background as it opens.
    std::thread::sleep(SETTLE);

    let result = std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<InProcess, String> {
                pin_current_thread(cores.0)?;
                let mut sink = Sink {
                    clock,
                    rate: stamp_rate,
                    warmup,
                    start: 0,
                    timed: paced,
                    first_sequence,
                    slots: &order_slots,
                    last_sequence: None,
                    answered: 0,
                    histogram: latency_histogram(),
                    outbound: OutboundTally::default(),
                };
                // As an ingress agent does: each command as its 56-byte message, stamped
                // with its planned time. Unpaced, the ingress's encoding is done before the
                // clock starts, so the generator only copies slots and cannot be the
                // engine's bottleneck.
                let stamp =
                    |item: &Planned| (slot_ns(item.slot, stamp_rate), item.message(stamp_rate));
                let encoded: Vec<Message> = if paced {
                    Vec::new()
                } else {
                    planned[..end].iter().map(|item| stamp(item).1).collect()
                };
                sink.start = clock.now() + clock.ticks(2e6);
                sink.wait_until(&mut outbound, sink.start);
                let started = Instant::now();
                if paced {
                    for item in &planned[..end] {
                        let (offset, message) = stamp(item);
                        sink.wait_until(&mut outbound, sink.start + clock.ticks(offset as f64));
                        let mut pushed = commands.try_push(message).is_ok();
                        let stuck = Instant::now();
                        while !pushed {
                            sink.drain(&mut outbound);
                            if stuck.elapsed() > Duration::from_secs(5) {
                                return Err("the sequencer took no command for 5 s".to_owned());
                            }
                            pushed = commands.try_push(message).is_ok();
                        }
                    }
                } else {
                    let mut next = 0;
                    let mut progress = Instant::now();
                    while next < encoded.len() {
                        let pushed = commands.push_slice(&encoded[next..]);
                        next += pushed;
                        sink.drain(&mut outbound);
                        if pushed > 0 {
                            progress = Instant::now();
                        } else if progress.elapsed() > Duration::from_secs(5) {
                            return Err("the sequencer took no command for 5 s".to_owned());
                        }
                    }
                }
                let orders = warmup + slots;
                let deadline = Instant::now() + Duration::from_secs(10);
                while sink.answered < orders && Instant::now() < deadline {
                    sink.drain(&mut outbound);
                }
                let elapsed_s = started.elapsed().as_secs_f64();
                if sink.answered < orders {
                    return Err(format!(
                        "{} of {orders} orders got no outbound item within 10 s",
                        orders - sink.answered
                    ));
                }
                Ok(InProcess {
                    histogram: sink.histogram,
                    outbound: sink.outbound,
                    orders: slots,
                    commands: end as u64,
                    journal_bytes: 0,
                    elapsed_s,
                })
            })
            .join()
            .map_err(|_| "the generator thread panicked".to_owned())?
    });
    runner.stop().map_err(|e| e.to_string())?;
    let journal_bytes = directory_bytes(dir);
    let _ = std::fs::remove_dir_all(dir);
    result.map(|run| InProcess {
        journal_bytes,
        ..run
    })
}

/// A fresh engine journaling into `dir`, built into the pipeline's core as
/// `Pipeline::open` builds it, with the ends of its edge rings: the commands ring's
/// producer and the rings out of it.
fn open_core(
    text: &str,
    dir: &Path,
) -> Result<(Core, crossline_ring::Producer<Message>, CoreOutput), String> {
    let _ = std::fs::remove_dir_all(dir);
    let config = crossline_config::parse(text).map_err(|e| e.to_string())?;
    let (engine, _) = recovery::open(dir, text).map_err(|e| e.to_string())?;
    // Replies leave once their records are durable, as the order ingress lets them.
    let durable = engine.sequencer().journal().writer().durable_sequence();
    let sizes = config.pipeline.rings;
    let ring = |e: crossline_ring::RingError| e.to_string();
    let (commands, commands_rx) =
        crossline_ring::channel::<Message>(sizes.commands).map_err(ring)?;
    let (out_tx, egressed) = crossline_ring::channel::<Message>(sizes.events_out).map_err(ring)?;
    let (replies_tx, replies) = crossline_ring::channel::<Reply>(sizes.replies).map_err(ring)?;
    let core = Core::new(
        engine,
        sizes,
        CoreEdges {
            commands: vec![commands_rx],
            out: out_tx,
            replies: replies_tx,
        },
        None,
    )
    .map_err(|e| e.to_string())?;
    let outbound = CoreOutput {
        replies,
        gate: AckGate::new(durable, sizes.replies),
        egressed,
    };
    Ok((core, commands, outbound))
}

/// The engine's work on one thread: what `engine_capacity` costs without crossing cores.
struct OneThread {
    orders_per_s: f64,
    /// Time in the sequencer agent's duty cycles (gate, journal, events back), per order.
    sequencer_ns_per_order: f64,
    /// Time in the matcher agent's duty cycles (matcher, replies, routes), per order.
    matcher_ns_per_order: f64,
}

/// `engine_one_thread_orders_per_s`: the capacity run's engine, its feeder and its drain
/// on one thread, on the engine's core: the sequencer's and the matcher's duty cycles in
/// turn, every command pushed as the commands ring has room and every outbound item taken
/// as it appears. What it adds to `matcher_alone` is the engine's own work; what
/// `engine_capacity` loses against it is the cost of crossing cores.
fn engine_one_thread(
    text: &str,
    planned: &[Planned],
    core: usize,
    dir: &Path,
) -> Result<OneThread, String> {
    let (core_parts, mut commands, mut outbound) = open_core(text, dir)?;
    let Core {
        mut sequencer,
        mut matcher,
        ..
    } = core_parts;
    let encoded: Vec<Message> = planned
        .iter()
        .map(|item| item.message(TARGET_IN_PROCESS))
        .collect();
    let orders = planned.iter().filter(|item| item.order).count() as f64;
    let result = std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<OneThread, String> {
                pin_current_thread(core)?;
                sequencer.on_start();
                matcher.on_start();
                // As before the capacity run: the journal prepares its next segment.
                std::thread::sleep(SETTLE);
                let (mut in_sequencer, mut in_matcher) = (Duration::ZERO, Duration::ZERO);
                let mut taken = 0u64;
                let started = Instant::now();
                let mut next = 0;
                while next < encoded.len() {
                    next += commands.push_slice(&encoded[next..]);
                    loop {
                        let before = Instant::now();
                        let sequenced = sequencer.do_work();
                        let between = Instant::now();
                        let matched = matcher.do_work();
                        in_matcher += between.elapsed();
                        in_sequencer += between - before;
                        let CoreOutput {
                            replies, egressed, ..
                        } = &mut outbound;
                        taken += replies.drain(usize::MAX, |_| {}) as u64;
                        taken += egressed.drain(usize::MAX, |_| {}) as u64;
                        if sequenced + matched == 0 {
                            break;
                        }
                    }
                    if started.elapsed() > Duration::from_secs(60) {
                        return Err("the one-thread engine took over 60 s".to_owned());
                    }
                }
                let elapsed = started.elapsed().as_secs_f64();
                std::hint::black_box(taken);
                sequencer.on_close();
                matcher.on_close();
                Ok(OneThread {
                    orders_per_s: orders / elapsed,
                    sequencer_ns_per_order: in_sequencer.as_nanos() as f64 / orders,
                    matcher_ns_per_order: in_matcher.as_nanos() as f64 / orders,
                })
            })
            .join()
            .map_err(|_| "the one-thread engine panicked".to_owned())?
    });
    let _ = std::fs::remove_dir_all(dir);
    result
}

/// Bytes of the files in `dir` (the journal's segments).
fn directory_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.metadata().ok())
                .map(|metadata| metadata.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The in-process run's reader of the outbound ring.
/// The two rings the core hands out: client replies and what goes to the egress.
struct CoreOutput {
    replies: crossline_ring::Consumer<Reply>,
    /// The order ingress's acknowledgement gate.
    gate: AckGate<Reply>,
    egressed: crossline_ring::Consumer<Message>,
}

struct Sink<'a> {
    clock: &'a Clock,
    rate: u64,
    warmup: u64,
    start: u64,
    /// Whether replies are timed (paced runs); unpaced, only counted, so that the sink
    /// costs as little as it can beside the engine it drains.
    timed: bool,
    /// The sequence number the first planned command gets: the flow's commands are
    /// sequenced in the order they are pushed.
    first_sequence: u64,
    /// Per planned command, in push order: its order slot, or `u64::MAX` for a quote,
    /// venue report or locate.
    slots: &'a [u64],
    /// The record of the last order answered.
    last_sequence: Option<u64>,
    answered: u64,
    histogram: Histogram<u64>,
    outbound: OutboundTally,
}

impl Sink<'_> {
    /// Drains the outbound ring until the clock reaches `due`.
    #[inline]
    fn wait_until(&mut self, outbound: &mut CoreOutput, due: u64) {
        while self.clock.now() < due {
            self.drain(outbound);
        }
    }

    /// Takes everything on the outbound rings; the first reply of each order times it.
    #[inline]
    fn drain(&mut self, outbound: &mut CoreOutput) {
        while let Some(item) = outbound.egressed.try_pop() {
            self.outbound.count_egressed(&item);
        }
        let CoreOutput { replies, gate, .. } = outbound;
        gate.pump(replies, usize::MAX, |item| {
            self.take(item);
            true
        });
    }

    /// One reply as it leaves: the first of each order times it.
    #[inline]
    fn take(&mut self, item: Reply) {
        let now = if self.timed { self.clock.now() } else { 0 };
        if item.kind == Reply::CUT {
            return;
        }
        self.outbound.count_reply(&item);
        let sequence = item.sequence;
        if self.last_sequence.is_some_and(|last| sequence <= last) {
            return; // a later reply to an order already answered
        }
        let planned = sequence.wrapping_sub(self.first_sequence);
        let Some(&slot) = usize::try_from(planned)
            .ok()
            .and_then(|index| self.slots.get(index))
        else {
            return;
        };
        if slot == u64::MAX {
            return; // a quote's or venue report's answer
        }
        self.last_sequence = Some(sequence);
        self.answered += 1;
        if self.timed && slot >= self.warmup {
            let offset = slot_ns(slot, self.rate);
            let due = self.start + self.clock.ticks(offset as f64);
            let nanos = self.clock.nanos(now.saturating_sub(due)).max(1.0) as u64;
            self.histogram.saturating_record(nanos);
        }
    }
}

/// One wire-to-wire run's result.
struct Wire {
    histogram: Histogram<u64>,
    replies: BTreeMap<&'static str, u64>,
}

/// Runs the flow's client order messages over TCP through the whole pipeline, journaling
/// into `dir`, at `load`.
fn wire(
    clock: &Clock,
    cores: (usize, usize),
    text: &str,
    load: Load,
    dir: &Path,
) -> Result<Wire, String> {
    let _ = std::fs::remove_dir_all(dir);
    let text = one_thread_config_text(text, cores.1)?;
    let mut config = on_free_ports(crossline_config::parse(&text).map_err(|e| e.to_string())?);
    let venues = Venues::start(&mut config).map_err(|e| e.to_string())?;
    let (pipeline, _) =
        Pipeline::open(&config, &text, dir, &Cores::detect()).map_err(|e| e.to_string())?;
    venues.feed_to(pipeline.feed_address());
    let address = pipeline.client_address();
    let result = std::thread::scope(|scope| {
        scope
            .spawn(|| wire_client(clock, cores.0, &config, address, load))
            .join()
            .map_err(|_| "the client thread panicked".to_owned())?
    });
    let fault = pipeline.fault();
    let stopped = pipeline.stop().map_err(|e| e.to_string());
    venues.stop();
    let _ = std::fs::remove_dir_all(dir);
    if let Some(fault) = fault {
        return Err(format!("the engine stopped: {fault}"));
    }
    stopped?;
    result
}

/// The wire run's client: a session per configured client, open-loop sends, first
/// replies timed.
fn wire_client(
    clock: &Clock,
    core: usize,
    config: &Config,
    address: std::net::SocketAddr,
    load: Load,
) -> Result<Wire, String> {
    let Load {
        rate,
        warmup,
        orders,
        ..
    } = load;
    pin_current_thread(core)?;
    // Two clients: enough for their orders to cross each other, and every session polled
    // is one more read system call per poll.
    let mut config = config.clone();
    config.secrets.truncate(WIRE_CLIENTS);
    let config = &config;
    let mut sessions: Vec<(ClientId, Client)> = Vec::new();
    for (client, secret) in &config.secrets {
        let (session, _) = Client::logon(address, client.get(), secret, Duration::from_secs(5))
            .map_err(|e| format!("client {client}: {e}"))?;
        sessions.push((*client, session));
    }
    // The simulator publishes every symbol's NBBO within its refresh interval.
    std::thread::sleep(Duration::from_millis(400));
    let mut flow = OrderFlow::new(config, SEED, RESTING_MAX);
    let mut waiting = Waiting {
        clock,
        due: HashMap::with_capacity(1 << 16),
        recorded_waiting: 0,
        cancels: HashMap::with_capacity(1 << 12),
        histogram: latency_histogram(),
        replies: BTreeMap::new(),
    };
    let start = clock.now() + clock.ticks(5e6);
    let total = warmup + orders;
    for index in 0..total {
        let due = start + clock.ticks(slot_ns(index, rate) as f64);
        while clock.now() < due {
            waiting.poll(&mut sessions)?;
        }
        let command = flow.next_order();
        let (client, message, id) = on_the_wire(&command)
            .ok_or_else(|| format!("the flow made {command:?}, not an order message"))?;
        if let Command::Cancel(cancel) = command {
            waiting.cancels.insert(
                cancel.original_client_order_id.get(),
                cancel.client_order_id.get(),
            );
        }
        let recorded = index >= warmup;
        waiting.recorded_waiting += u64::from(recorded);
        waiting.due.insert(id.get(), (due, recorded));
        let session = sessions
            .iter_mut()
            .find(|(id, _)| *id == client)
            .ok_or_else(|| format!("no session for client {client}"))?;
        session.1.send(&message).map_err(|e| e.to_string())?;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while waiting.recorded_waiting > 0 && Instant::now() < deadline {
        waiting.poll(&mut sessions)?;
    }
    if waiting.recorded_waiting > 0 {
        return Err(format!(
            "{} of {orders} orders got no reply within 10 s",
            waiting.recorded_waiting
        ));
    }
    Ok(Wire {
        histogram: waiting.histogram,
        replies: waiting.replies,
    })
}

/// Requests sent and not yet answered.
struct Waiting<'a> {
    clock: &'a Clock,
    /// Client order id of each request: its due time and whether it is recorded.
    due: HashMap<u64, (u64, bool)>,
    /// Recorded requests still waiting (counted, so the final drain need not scan).
    recorded_waiting: u64,
    /// Order id → the cancel request sent for it (a cancel's answer names the order).
    cancels: HashMap<u64, u64>,
    histogram: Histogram<u64>,
    replies: BTreeMap<&'static str, u64>,
}

impl Waiting<'_> {
    fn poll(&mut self, sessions: &mut [(ClientId, Client)]) -> Result<(), String> {
        for (_, session) in sessions.iter_mut() {
            while let Some((header, reply)) = session.receive().map_err(|e| e.to_string())? {
                if header.sequence == 0 {
                    continue; // a session message (heartbeat)
                }
                let now = self.clock.now();
                let (kind, id) = match reply {
                    Outbound::Accepted {
                        client_order_id, ..
                    } => ("accepted", Some(client_order_id)),
                    Outbound::Rejected {
                        client_order_id, ..
                    } => ("rejected", Some(client_order_id)),
                    Outbound::Replaced {
                        client_order_id, ..
                    } => ("replaced", Some(client_order_id)),
                    Outbound::CancelRejected {
                        client_order_id, ..
                    } => ("cancel_rejected", Some(client_order_id)),
                    Outbound::Cancelled {
                        client_order_id, ..
                    } => (
                        "cancelled",
                        self.cancels
                            .remove(&client_order_id.get())
                            .map(crossline_types::ClientOrderId::new),
                    ),
                    Outbound::Filled { .. } => ("filled", None),
                    _ => ("other", None),
                };
                *self.replies.entry(kind).or_default() += 1;
                if let Some((due, recorded)) = id.and_then(|id| self.due.remove(&id.get())) {
                    if recorded {
                        self.recorded_waiting -= 1;
                        let nanos = self.clock.nanos(now.saturating_sub(due)).max(1.0) as u64;
                        self.histogram.saturating_record(nanos);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Everything measured, merged over rounds, and each round's key figures.
#[derive(Default)]
struct Collected {
    merged: BTreeMap<String, Histogram<u64>>,
    per_round: BTreeMap<String, Vec<f64>>,
    notes: Map<String, Value>,
}

impl Collected {
    fn add(&mut self, name: &str, histogram: &Histogram<u64>) -> Result<(), String> {
        let percentiles = Percentiles::of(histogram);
        println!(
            "  {name:<34} p50 {:>9} ns  p99 {:>9} ns  p99.9 {:>10} ns  p99.99 {:>10} ns  max {:>10} ns  ({} values)",
            percentiles.p50_ns,
            percentiles.p99_ns,
            percentiles.p999_ns,
            percentiles.p9999_ns,
            percentiles.max_ns,
            percentiles.count
        );
        self.merged
            .entry(name.to_owned())
            .or_insert_with(latency_histogram)
            .add(histogram)
            .map_err(|e| e.to_string())?;
        for (suffix, value) in [
            ("p50_ns", percentiles.p50_ns),
            ("p99_ns", percentiles.p99_ns),
            ("p999_ns", percentiles.p999_ns),
            ("p9999_ns", percentiles.p9999_ns),
            ("max_ns", percentiles.max_ns),
        ] {
            self.per_round
                .entry(format!("{name}_{suffix}"))
                .or_default()
                .push(value as f64);
        }
        Ok(())
    }

    fn round_figure(&mut self, key: &str, value: f64) {
        self.per_round
            .entry(key.to_owned())
            .or_default()
            .push(value);
    }

    fn median_of(&self, key: &str) -> f64 {
        self.per_round
            .get(key)
            .map_or(f64::NAN, |values| median(values))
    }
}

fn in_process_name(rate: u64) -> String {
    format!("in_process_at_{}", rate_label(rate))
}

fn rate_label(rate: u64) -> String {
    if rate % 1_000_000 == 0 {
        format!("{}m", rate / 1_000_000)
    } else if rate % 1_000 == 0 {
        format!("{}k", rate / 1_000)
    } else {
        rate.to_string()
    }
}

fn run(cores: (usize, usize), settings: &Settings) -> Result<ExitCode, String> {
    let clock = Clock::calibrate(Duration::from_millis(200));
    let text = crossline_bench::engine_config_text()?;
    let sync_text = with_durability(&text, "sync_per_batch")?;
    let config = crossline_config::parse(&text).map_err(|e| e.to_string())?;
    let scratch = std::env::temp_dir().join(format!("crossline-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let most = settings
        .in_process_rates
        .iter()
        .map(|rate| slots_for(*rate, settings.seconds + settings.warmup_seconds))
        .max()
        .unwrap_or(0);
    println!(
        "e2e: {} round(s), {} s per rate after {} s of warm-up; generator, sink and client on \
         core {}, engine on core {}; planning {most} order slots",
        settings.rounds, settings.seconds, settings.warmup_seconds, cores.0, cores.1
    );
    let (planned, inputs) = plan(&config, most)?;
    println!(
        "  planned {} commands ({} orders, the rest quotes, venue reports and locates)",
        planned.len(),
        most
    );
    let mut collected = Collected::default();
    let share = report::CpuShare::start(2);
    for round in 1..=settings.rounds {
        println!("round {round}");
        let limit = core_to_core::measure(&clock, cores, 200_000, 20_000);
        collected.add("core_to_core_one_way", &limit.histogram)?;
        // The engine's capacity beside its matcher's, on the same planned flow.
        let alone = matcher_alone(&config, &inputs, most, cores.1)?;
        let capacity_load = Load {
            rate: TARGET_IN_PROCESS,
            warmup: 0,
            orders: most,
            paced: false,
        };
        let capacity = in_process(
            &clock,
            cores,
            &text,
            &planned,
            capacity_load,
            &scratch.join("capacity"),
        )?;
        let engine = capacity.orders as f64 / capacity.elapsed_s;
        let one = engine_one_thread(
            &text,
            &planned[..capacity.commands as usize],
            cores.1,
            &scratch.join("one-thread"),
        )?;
        collected.round_figure("matcher_alone_orders_per_s", alone);
        collected.round_figure("engine_one_thread_orders_per_s", one.orders_per_s);
        collected.round_figure(
            "engine_one_thread_sequencer_ns_per_order",
            one.sequencer_ns_per_order,
        );
        collected.round_figure(
            "engine_one_thread_matcher_ns_per_order",
            one.matcher_ns_per_order,
        );
        collected.round_figure("engine_capacity_orders_per_s", engine);
        collected.round_figure("engine_vs_matcher_alone", engine / alone);
        println!(
            "  matcher alone {:.2} M orders/s ({} inputs); whole engine, unpaced, {:.2} M orders/s \
             ({} commands, every order answered): {:.2} of the matcher alone",
            alone / 1e6,
            inputs.len(),
            engine / 1e6,
            capacity.commands,
            engine / alone
        );
        println!(
            "  the same engine on one thread (no core crossed): {:.2} M orders/s; per order \
             {:.0} ns in the sequencer agent, {:.0} ns in the matcher agent (matcher alone {:.0} ns)",
            one.orders_per_s / 1e6,
            one.sequencer_ns_per_order,
            one.matcher_ns_per_order,
            1e9 / alone
        );
        let durabilities = settings
            .in_process_rates
            .iter()
            .map(|rate| (*rate, &text, in_process_name(*rate)))
            .chain(
                settings
                    .sync_rates
                    .iter()
                    .map(|rate| (*rate, &sync_text, sync_name(*rate))),
            );
        for (rate, text, name) in durabilities {
            let warmup = slots_for(rate, settings.warmup_seconds);
            let slots = slots_for(rate, settings.seconds);
            let load = Load {
                rate,
                warmup,
                orders: slots,
                paced: true,
            };
            println!("  {name}");
            let run = in_process(
                &clock,
                cores,
                text,
                &planned,
                load,
                &scratch.join("in-process"),
            )?;
            collected.add(&name, &run.histogram)?;
            collected
                .notes
                .insert(format!("{name}_outbound"), run.outbound.to_json());
            collected.notes.insert(
                format!("{name}_commands_per_order"),
                json!(run.commands as f64 / (warmup + slots) as f64),
            );
            collected
                .notes
                .insert(format!("{name}_journal_bytes"), json!(run.journal_bytes));
            println!(
                "    {} orders, {} commands, journal {:.1} MiB; outbound: {}",
                run.orders,
                run.commands,
                run.journal_bytes as f64 / f64::from(1 << 20),
                run.outbound.to_json()
            );
        }
        for &rate in &settings.wire_rates {
            let warmup = slots_for(rate, settings.warmup_seconds);
            let orders = slots_for(rate, settings.seconds);
            let baseline = tcp::run_one(&clock, cores, EchoServer::Baseline, rate, orders, warmup)?;
            if baseline.lost > 0 {
                return Err(format!(
                    "loopback baseline: {} frames never came back",
                    baseline.lost
                ));
            }
            let base_name = format!("loopback_baseline_at_{}", rate_label(rate));
            collected.add(&base_name, &baseline.histogram)?;
            let load = Load {
                rate,
                warmup,
                orders,
                paced: true,
            };
            let run = wire(&clock, cores, &text, load, &scratch.join("wire"))?;
            let name = format!("wire_at_{}", rate_label(rate));
            collected.add(&name, &run.histogram)?;
            collected
                .notes
                .insert(format!("{name}_replies"), json!(run.replies));
            let ratio = Percentiles::of(&run.histogram).p99_ns as f64
                / Percentiles::of(&baseline.histogram).p99_ns.max(1) as f64;
            collected.round_figure(&format!("{name}_p99_vs_loopback_baseline"), ratio);
            println!(
                "    replies: {:?}; p99 / baseline p99 = {ratio:.3}",
                run.replies
            );
        }
        let target = in_process_name(TARGET_IN_PROCESS);
        if let (Some(p50), Some(one_way)) = (
            collected
                .per_round
                .get(&format!("{target}_p50_ns"))
                .and_then(|v| v.last().copied()),
            collected
                .per_round
                .get("core_to_core_one_way_p50_ns")
                .and_then(|v| v.last().copied()),
        ) {
            let ratio = p50 / (CROSS_CORE_HOPS as f64 * one_way);
            collected.round_figure("in_process_p50_vs_physical", ratio);
            println!("    in-process p50 at 1M/s / ({CROSS_CORE_HOPS} x core-to-core one-way) = {ratio:.2}");
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    finish(&collected, settings, cores, &share)
}

/// Order slots in `seconds` at `rate`.
fn slots_for(rate: u64, seconds: f64) -> u64 {
    (rate as f64 * seconds).round() as u64
}

fn finish(
    collected: &Collected,
    settings: &Settings,
    cores: (usize, usize),
    share: &report::CpuShare,
) -> Result<ExitCode, String> {
    let mut results = Map::new();
    for key in collected.per_round.keys() {
        if key.ends_with("_ns") {
            results.insert(key.clone(), json!(collected.median_of(key).round()));
        }
    }
    let p99_at_1m = collected.median_of(&format!("{}_p99_ns", in_process_name(TARGET_IN_PROCESS)));
    if p99_at_1m.is_finite() {
        results.insert("in_process_p99_ns_at_1m".into(), json!(p99_at_1m.round()));
    }
    for key in [
        "matcher_alone_orders_per_s",
        "engine_one_thread_orders_per_s",
        "engine_one_thread_sequencer_ns_per_order",
        "engine_one_thread_matcher_ns_per_order",
        "engine_capacity_orders_per_s",
    ] {
        let value = collected.median_of(key);
        if value.is_finite() {
            results.insert(key.into(), json!(value.round()));
        }
    }
    results.insert("cross_core_hops_in_process".into(), json!(CROSS_CORE_HOPS));
    results.insert("rounds".into(), json!(settings.rounds));
    results.insert("seconds_per_rate".into(), json!(settings.seconds));
    results.insert("per_round".into(), json!(collected.per_round));
    results.insert("workload".into(), Value::Object(collected.notes.clone()));
    let mut ratios = Map::new();
    let versus = collected.median_of("engine_vs_matcher_alone");
    if versus.is_finite() {
        ratios.insert("engine_vs_matcher_alone".into(), json!(versus));
    }
    let physical = collected.median_of("in_process_p50_vs_physical");
    if physical.is_finite() {
        ratios.insert("in_process_p50_vs_physical".into(), json!(physical));
    }
    let wire = collected.median_of(&format!(
        "wire_at_{}_p99_vs_loopback_baseline",
        rate_label(TARGET_WIRE)
    ));
    if wire.is_finite() {
        ratios.insert("wire_p99_vs_loopback_baseline".into(), json!(wire));
    }
    for rate in settings
        .wire_rates
        .iter()
        .filter(|rate| **rate != TARGET_WIRE)
    {
        let key = format!("wire_at_{}_p99_vs_loopback_baseline", rate_label(*rate));
        ratios.insert(key.clone(), json!(collected.median_of(&key)));
    }

    // Distributions: one .hgrm per subject, and the chart.
    let directory = report::results_dir().join("e2e");
    std::fs::create_dir_all(&directory).map_err(|e| format!("{}: {e}", directory.display()))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for (name, histogram) in &collected.merged {
        let path = directory.join(format!("{name}.hgrm"));
        write_hgrm(&path, histogram)?;
        files.push(path);
    }
    let series: Vec<Series<'_>> = collected
        .merged
        .iter()
        .map(|(name, histogram)| Series {
            label: name.replace('_', " "),
            histogram,
        })
        .collect();
    let chart = directory.join("e2e.svg");
    write_percentile_chart(
        &chart,
        "CROSSLINE E2E LATENCY (OPEN LOOP, ALL ROUNDS)",
        &series,
    )?;
    files.push(chart);

    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    let cpu_share = share.share();
    println!("ratios: {}", pretty(&Value::Object(ratios.clone())));
    for key in ["in_process_p99_ns_at_1m"] {
        if let Some(value) = results.get(key) {
            println!("{key}: {value}");
        }
    }
    if let Some(share) = cpu_share.filter(|share| *share < report::CPU_SHARE_MIN) {
        println!(
            "WARNING: this run got {:.0}% of its two cores; the host starved the machine and the \
             figures understate the code",
            share * 100.0
        );
    }
    let mut machine = report::machine(&[cores.0, cores.1]);
    machine["cpu_share"] = json!(cpu_share);
    let path = report::write(
        "e2e",
        Value::Object(results),
        Value::Object(ratios),
        machine,
    )?;
    println!("wrote {}", path.display());
    for file in files {
        println!("wrote {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}
