//! The running engine: five agents joined by single-producer single-consumer rings, as
//! `docs/ARCHITECTURE.md` draws it.
//!
//! ```text
//!  clients ─TCP─▶ order_ingress ─commands──┐
//!  feed ─UDP─▶ market_data ─market_data────┼─▶ sequencer ─sequenced─▶ matcher ─events_out─▶ egress ─TCP─▶ venues
//!                  │                       │   (risk gate,  ◀─events_back─┘ │   (routes)    │ │
//!                  │                       │    journal)                    │               │ │
//!                  └─venue_tops────────────┼────────────────────────────────┼──────────────▶┘ │
//!                                          └◀─venue_reports─ (venue fills and cancels) ───────┘
//!  clients ◀─TCP─ order_ingress ◀─replies─ (client replies, numbered per client) ◀─┘
//! ```
//!
//! - **order_ingress** owns the client listener and sessions: requests become stamped
//!   commands; replies from the matcher agent go out numbered per client.
//! - **market_data** owns the feed socket (or a recorded file): NBBOs become commands,
//!   venue tops go to the egress for routing.
//! - **sequencer** ([`SequencerAgent`]) decides every command at the risk
//!   gate, appends it to the journal, and only then passes it on.
//! - **matcher** ([`MatcherAgent`]) applies sequenced inputs; every event goes back to
//!   the gate, every client reply (an event's, or a risk reject's passed through) goes to
//!   the order ingress in journal order, and routes go to the egress. An acknowledgement
//!   so crosses three rings: commands, sequenced, replies.
//! - **egress** owns the router and the venue connections: routes become child orders,
//!   venue reports become commands.
//!
//! Only the three I/O agents read the clock (once per duty cycle) or make system calls;
//! the sequencer and matcher take time from their inputs. Where the agents run comes from
//! `[pipeline]` ([`crossline_config::PipelineSettings`]): each on its own pinned core, or
//! several sharing a thread. Start-up checks the placement against the machine's cores
//! and names what does not fit. [`Core`] builds the sequencer and matcher agents and the
//! rings between them; the in-process benchmark runs the same core.
//!
//! Every agent writes its counters into a memory-mapped file (`crossline stat` reads it
//! from another process): its work, its input rings' depths, each thread's longest duty
//! cycle, what the matcher agent told clients and what the egress sent venues.

mod agents;
mod meter;
pub mod queue;
mod sequencer;
pub mod snapshots;

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use crossline_agent::{
    Agent, Composite, Cores, Idle, Runner, RunnerError, ThreadReport, ThreadSpec,
};
use crossline_config::{AgentKind, Config, Placement, RingSizes, Role, ThreadSettings};
use crossline_counters::{Counter, Counters, CountersError, CountersReader, Kind};
use crossline_engine::recovery::{MappedJournal, RecoveryReport};
use crossline_engine::snapshot::Snapshot;
use crossline_engine::{recovery, Engine, EngineError, Observer};
use crossline_gateway::fix::{FixSessions, OrderTable};
use crossline_gateway::replay::Replay;
use crossline_gateway::session::Request;
use crossline_gateway::{
    event_reply, reject_reply, sessions_for, wall_clock_ns, Feed, GatewayError, OperatorAccount,
    Operators, SessionLimits, Sessions, VenueTops,
};
use crossline_matcher::Event;
use crossline_matcher::{Matcher, VenueCancel};
use crossline_net::{NetError, Transport};
use crossline_protocol::frame::{Secret, HEADER_BYTES};
use crossline_protocol::market_data::ENTRIES_PER_PACKET_MAX;
use crossline_ring::{Consumer, Producer, RingError};
use crossline_router::{Router, RouterConfigError, VenueReport};
use crossline_sequencer::{Command, Journal, NoJournal, Output, Record, Sequenced};
use crossline_types::{Message, SymbolId, Timestamp};

pub use agents::{
    Egress, EgressCounters, EgressRings, Fault, IngressCounters, MarketDataIngress, MatcherAgent,
    MatcherRings, OrderCounters, OrderIngress, Reply, StatusLink, REPLY_FIELD_BYTES,
};

/// Operators' status queries waiting for the sequencer agent, at most: past it a query is
/// refused (`AdminRefusal::StatusUnavailable`).
pub const STATUS_QUERIES_MAX: usize = 64;
use meter::{
    latency_labels, Depth, Metered, Timed, DURABILITY_LABELS, EGRESS_LABELS, FEED_LABELS,
    ROUTER_LABELS, SESSION_LABELS, SESSION_REASON_LABELS,
};
pub use meter::{Published, ReplyLatency, VenueGauges, LATENCY_BOUNDS_NS, LATENCY_PREFIX};
use queue::AckGate;
pub use sequencer::{SequencerAgent, StatusAnswer};
use snapshots::{SnapshotWriter, WriterReport};

/// Why the pipeline could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A socket could not be set up or bound.
    #[error("network: {0}")]
    Net(#[from] NetError),
    /// Sessions or the feed's replay could not be set up.
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    /// The router's settings are out of range.
    #[error("[router]: {0}")]
    Router(#[from] RouterConfigError),
    /// A ring could not be built.
    #[error("[pipeline.rings]: {0}")]
    Ring(#[from] RingError),
    /// The counters file could not be made.
    #[error("counters file: {0}")]
    Counters(#[from] CountersError),
    /// The placement does not fit this machine.
    #[error("[pipeline] placement: {0}")]
    Placement(String),
    /// A FIX session's store cannot be opened.
    #[error("{0}")]
    FixStore(#[from] crossline_gateway::fix::StoreError),
    /// The day's client replies could not be rebuilt from the journal.
    #[error("rebuilding client replies from the journal: {0}")]
    Journal(#[from] EngineError),
    /// A thread could not be started or pinned, or did not stop.
    #[error("[pipeline] threads: {0}")]
    Runner(#[from] RunnerError),
    /// The snapshot writer's thread could not be started.
    #[error("snapshot writer: {0}")]
    Snapshots(std::io::Error),
}

/// One thread of the resolved placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedThread {
    /// Its name.
    pub name: String,
    /// Its agents, in duty-cycle order.
    pub agents: Vec<AgentKind>,
    /// Its core, when pinned.
    pub core: Option<usize>,
    /// Its idle strategy's name.
    pub idle: String,
}

/// Resolves the configured placement on a machine with `cores`.
///
/// # Errors
/// [`PipelineError::Placement`] when pinned placement needs more cores than there are, a
/// listed thread's core is not one this process may use, or an idle strategy is unknown.
pub fn plan(config: &Config, cores: &Cores) -> Result<Vec<PlannedThread>, PipelineError> {
    let settings = &config.pipeline;
    let agents = AgentKind::ALL.len();
    // Pinned: one core per agent, core 0 left to the OS and interrupts.
    let pinned = |cores: &Cores| -> Result<Vec<PlannedThread>, PipelineError> {
        if cores.len() < agents + 1 {
            return Err(PipelineError::Placement(format!(
                "\"pinned\" needs {} cores (one per agent, plus one left to the OS); this \
                 process may use {} ({:?}). Use placement = \"shared\", or list \
                 [[pipeline.threads]] that fit",
                agents + 1,
                cores.len(),
                cores.ids()
            )));
        }
        Ok(AgentKind::ALL
            .iter()
            .zip(&cores.ids()[1..])
            .map(|(kind, core)| PlannedThread {
                name: kind.name().to_owned(),
                agents: vec![*kind],
                core: Some(*core),
                idle: settings.pinned_idle.clone(),
            })
            .collect())
    };
    let shared = || {
        vec![
            PlannedThread {
                name: "io".to_owned(),
                agents: vec![
                    AgentKind::OrderIngress,
                    AgentKind::MarketData,
                    AgentKind::Egress,
                ],
                core: None,
                idle: settings.idle.clone(),
            },
            PlannedThread {
                name: "core".to_owned(),
                agents: vec![AgentKind::Sequencer, AgentKind::Matcher],
                core: None,
                idle: settings.idle.clone(),
            },
        ]
    };
    let threads = match &settings.placement {
        Placement::Auto if cores.len() > agents => pinned(cores)?,
        Placement::Auto | Placement::Shared => shared(),
        Placement::Pinned => pinned(cores)?,
        Placement::Threads(threads) => threads
            .iter()
            .map(|thread: &ThreadSettings| PlannedThread {
                name: thread.name.clone(),
                agents: thread.agents.clone(),
                core: thread.core,
                idle: thread.idle.clone().unwrap_or_else(|| {
                    if thread.core.is_some() {
                        settings.pinned_idle.clone()
                    } else {
                        settings.idle.clone()
                    }
                }),
            })
            .collect(),
    };
    for thread in &threads {
        Idle::from_name(&thread.idle)
            .map_err(|e| PipelineError::Placement(format!("thread \"{}\": {e}", thread.name)))?;
        if let Some(core) = thread.core.filter(|core| !cores.ids().contains(core)) {
            return Err(PipelineError::Placement(format!(
                "thread \"{}\" is configured for core {core}, which this process may not \
                 use (it may use {:?})",
                thread.name,
                cores.ids()
            )));
        }
    }
    Ok(threads)
}

/// The counters file's labels for `threads` and `venues`: each agent's work and
/// input-ring depths, each thread's longest duty cycle, then the I/O agents' figures.
fn labels(threads: &[PlannedThread], venues: &[(u8, String)]) -> Vec<(String, Kind)> {
    let mut labels = Vec::new();
    for kind in AgentKind::ALL {
        labels.push((format!("agent.{}.work", kind.name()), Kind::Counter));
    }
    for ring in RING_NAMES {
        labels.push((format!("ring.{ring}.depth"), Kind::Gauge));
    }
    for thread in threads {
        labels.push((
            format!("thread.{}.duty_cycle_max_ns", thread.name),
            Kind::Maximum,
        ));
    }
    labels.push(("ingress.requests".to_owned(), Kind::Counter));
    let totals = |labels: &mut Vec<(String, Kind)>, group: &[&str]| {
        labels.extend(
            group
                .iter()
                .map(|label| ((*label).to_owned(), Kind::Counter)),
        );
    };
    totals(&mut labels, &SESSION_LABELS);
    totals(&mut labels, &SESSION_REASON_LABELS);
    totals(&mut labels, &FEED_LABELS);
    totals(&mut labels, &DURABILITY_LABELS);
    for (label, kind) in EGRESS_LABELS {
        labels.push((label.to_owned(), kind));
    }
    totals(&mut labels, &ROUTER_LABELS);
    labels.extend(VenueGauges::labels(venues));
    labels.extend(
        latency_labels()
            .into_iter()
            .map(|label| (label, Kind::Counter)),
    );
    labels
}

/// A ring's depth: the producer's monitor and the gauge it is written to.
type DepthGauge = (Box<dyn Depth>, Counter);

/// The rings' names: their `[pipeline.rings]` keys and, as `ring.<name>.depth`, their
/// gauges in the counters file, in the order `Pipeline::start` takes them.
pub const RING_NAMES: [&str; 8] = [
    "commands",
    "market_data",
    "venue_reports",
    "sequenced",
    "events_back",
    "events_out",
    "replies",
    "venue_tops",
];

/// What a stopped pipeline hands back.
pub struct Stopped {
    /// Each thread's report (duty cycles, work, whether it drained).
    pub threads: Vec<ThreadReport>,
    /// The matcher's final state (books, positions), when the matcher closed cleanly.
    pub matcher: Option<Matcher>,
    /// The snapshots written while it ran (`[journal] snapshot_every`).
    pub snapshots: WriterReport,
}

/// The running pipeline.
pub struct Pipeline {
    runner: Runner,
    client_address: std::net::SocketAddr,
    admin_address: std::net::SocketAddr,
    fix_address: Option<std::net::SocketAddr>,
    feed_address: std::net::SocketAddr,
    counters_path: PathBuf,
    plan: Vec<PlannedThread>,
    fault: Fault,
    matcher_closed: mpsc::Receiver<Matcher>,
    snapshots: Option<SnapshotWriter>,
}

/// Where the counters file of a journal in `journal_dir` goes.
#[must_use]
pub fn counters_path(config: &Config, journal_dir: &Path) -> PathBuf {
    journal_dir.join(&config.pipeline.counters_file)
}

impl Pipeline {
    /// Opens the engine on its journal in `journal_dir` (recovering it, or starting it
    /// with `config_text`, the configuration `config` was parsed from) and starts its
    /// agents on the threads `config.pipeline` places them on, with the counters file in
    /// the journal directory (see [`counters_path`]). This is the one way the engine
    /// starts: `crossline run`, `crossline demo`, the integration tests and the
    /// benchmarks all call it.
    ///
    /// A restart changes nothing a client can see: each client's replies of the day are
    /// rebuilt, with their numbers, for its resend requests, in the same replay that
    /// recovers the engine (starting from the replies the loaded snapshot keeps; only a
    /// snapshot without a replies part needs a second replay of the whole day); and orders the recovered engine shows out at venues are cancelled
    /// back first (the previous run's venue sessions, and with them its child orders, are
    /// gone).
    ///
    /// # Errors
    /// [`PipelineError`] naming what could not be set up.
    pub fn open(
        config: &Config,
        config_text: &str,
        journal_dir: &Path,
        cores: &Cores,
    ) -> Result<(Pipeline, RecoveryReport), PipelineError> {
        // Everything that can refuse to start is checked, and every socket bound, before
        // the journal is opened: a start that fails leaves the journal as it was.
        let prepared = Prepared::new(config, cores)?;
        let mut keeper = ReplyKeeper::new(config)?;
        let (engine, report) = recovery::open_observed(journal_dir, config_text, &mut keeper)?;
        // The FIX edge's order table (what its reports need beyond a reply) is rebuilt
        // from the whole day, when FIX sessions are configured.
        let fix_orders = if config.fix.sessions.is_empty() {
            OrderTable::default()
        } else {
            rebuild_fix_orders(config, journal_dir)?
        };
        let sessions = if keeper.from_snapshot == Some(false) {
            // The snapshot loaded keeps no replies: they need the whole day.
            rebuild_replies(config, journal_dir)?
        } else {
            keeper.sessions
        };
        let pipeline = Pipeline::start(
            config,
            engine,
            prepared,
            Edges {
                sessions,
                fix_orders,
                config_hash: report.config_hash,
            },
            journal_dir,
            cores,
        )?;
        Ok((pipeline, report))
    }

    fn start(
        config: &Config,
        engine: Engine<MappedJournal>,
        prepared: Prepared,
        edges: Edges,
        journal_dir: &Path,
        cores: &Cores,
    ) -> Result<Pipeline, PipelineError> {
        let Edges {
            sessions,
            fix_orders,
            config_hash,
        } = edges;
        let Prepared {
            plan,
            labels,
            venues,
            client_net,
            listener,
            client_address,
            admin_listener,
            admin_address,
            fix_listener,
            feed_net,
            feed_address,
            venue_net,
            replay,
            router,
        } = prepared;
        let fix = FixSessions::open(
            &config.fix,
            &journal_dir.join("fix"),
            &config.symbol_names,
            config.network.net.connections_max,
        )?
        .with_orders(fix_orders);
        let counters_path = &counters_path(config, journal_dir);
        let network = &config.network;
        let sizes = config.pipeline.rings;
        let (commands_tx, commands_rx) = crossline_ring::channel(sizes.commands)?;
        let (nbbo_tx, nbbo_rx) = crossline_ring::channel(sizes.market_data)?;
        let (venue_tx, venue_rx) = crossline_ring::channel(sizes.venue_reports)?;
        let (out_tx, out_rx) = crossline_ring::channel(sizes.events_out)?;
        let (replies_tx, replies_rx) = crossline_ring::channel(sizes.replies)?;
        let events_out_monitor = out_tx.monitor();
        let replies_monitor = replies_tx.monitor();
        // Replies and child orders leave once the journal has their records on disk
        // (under a durability that syncs).
        let durable = engine.sequencer().journal().writer().durable_sequence();
        let mut cancel_back = Vec::new();
        engine.matcher().for_each_routed(|order| {
            cancel_back.push(VenueReport::Cancel(VenueCancel {
                order_id: order.order_id,
                quantity: order.routed,
            }));
        });
        let (matcher_closed_tx, matcher_closed) = mpsc::channel();
        let core = Core::new(
            engine,
            sizes,
            CoreEdges {
                commands: vec![commands_rx, nbbo_rx, venue_rx],
                out: out_tx,
                replies: replies_tx,
            },
            Some(matcher_closed_tx),
        )?;
        let (tops_tx, tops_rx) = crossline_ring::channel(sizes.venue_tops)?;

        let label_refs: Vec<(&str, Kind)> = labels.iter().map(|(l, k)| (l.as_str(), *k)).collect();
        // The handles keep the file's mapping alive.
        let (_, handles) = Counters::create(counters_path, &label_refs, wall_clock_ns())?;
        let mut handles = handles.into_iter();
        // Operators' status queries: order ingress -> sequencer agent and back.
        let (query_tx, query_rx) = mpsc::sync_channel(STATUS_QUERIES_MAX);
        let (answer_tx, answer_rx) = mpsc::channel();
        let status = StatusLink {
            queries: query_tx,
            answers: answer_rx,
            counters: CountersReader::open(counters_path).ok(),
        };
        let mut work: Vec<Option<Counter>> =
            AgentKind::ALL.iter().map(|_| handles.next()).collect();
        let missing =
            || PipelineError::Placement("counters file has fewer values than labels".to_owned());
        // Each ring's depth gauge, in `RING_NAMES` order (the file's labels).
        let mut gauge = |monitor: Box<dyn Depth>| -> Result<DepthGauge, PipelineError> {
            Ok((monitor, handles.next().ok_or_else(missing)?))
        };
        let commands_depth = gauge(Box::new(commands_tx.monitor()))?;
        let market_data_depth = gauge(Box::new(nbbo_tx.monitor()))?;
        let venue_reports_depth = gauge(Box::new(venue_tx.monitor()))?;
        let sequenced_depth = gauge(core.sequenced_depth)?;
        let events_back_depth = gauge(core.events_back_depth)?;
        let events_out_depth = gauge(Box::new(events_out_monitor))?;
        let replies_depth = gauge(Box::new(replies_monitor))?;
        let venue_tops_depth = gauge(Box::new(tops_tx.monitor()))?;
        let mut duty: Vec<Option<Counter>> = plan.iter().map(|_| handles.next()).collect();
        let requests = handles.next().ok_or_else(missing)?;
        let sessions_published = Published::take(&mut handles).ok_or_else(missing)?;
        let reasons = Published::take(&mut handles).ok_or_else(missing)?;
        let feed_published = Published::take(&mut handles).ok_or_else(missing)?;
        let durability = Published::take(&mut handles).ok_or_else(missing)?;
        let routes_held = Published::take(&mut handles).ok_or_else(missing)?;
        let (order_counters, egress_counters) =
            OrderCounters::take(&mut handles, &venues, routes_held).ok_or_else(missing)?;

        let symbols: Vec<SymbolId> = config.symbol_names.iter().map(|(id, _)| *id).collect();

        if !cancel_back.is_empty() {
            eprintln!(
                "crossline: {} orders were out at venues when the engine stopped; their routed \
                 shares are cancelled back",
                cancel_back.len()
            );
        }
        let fault = Fault::default();
        let every = config.journal.snapshot_every;
        let (snapshots, pieces) = if every > 0 {
            let (writer, pieces) = SnapshotWriter::start(journal_dir.to_owned(), config_hash)
                .map_err(PipelineError::Snapshots)?;
            (Some(writer), Some(pieces))
        } else {
            (None, None)
        };
        // One arrival hands over at most a receive buffer (old bytes and new) or a
        // provided buffer, whichever is larger: at most this many frames, each at least
        // a header long, each one command at most.
        let frames_per_arrival = network
            .net
            .receive_buffer_bytes
            .max(network.net.provided_buffer_bytes as usize)
            / HEADER_BYTES;

        // Each agent with the depth gauges of the rings it drains.
        let mut built: Vec<Option<Box<dyn Agent>>> = Vec::new();
        let mut metered = |kind: AgentKind, agent: Box<dyn Agent>, depths: Vec<DepthGauge>| {
            let index = AgentKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
            work[index].take().map(|work| -> Box<dyn Agent> {
                Box::new(Metered {
                    agent,
                    work,
                    depths,
                    cycles: 0,
                })
            })
        };
        built.push(metered(
            AgentKind::OrderIngress,
            Box::new({
                let ingress = OrderIngress::new(
                    client_net,
                    listener,
                    sessions,
                    (admin_listener, operators(config)),
                    commands_tx,
                    replies_rx,
                    AckGate::new(durable.clone(), sizes.replies),
                    frames_per_arrival,
                    IngressCounters {
                        requests,
                        sessions: sessions_published,
                        reasons,
                        durability,
                    },
                    fault.clone(),
                );
                ingress
                    .with_snapshots(pieces.clone())
                    .with_status(Some(status))
                    .with_fix(fix_listener.map(|(listener, _)| listener), fix)
            }),
            vec![replies_depth],
        ));
        built.push(metered(
            AgentKind::MarketData,
            Box::new(MarketDataIngress::new(
                feed_net,
                Feed::new(symbols.clone()),
                // A datagram's entries, or an empty NBBO per symbol and a clear of every
                // venue top at a gap before them.
                ENTRIES_PER_PACKET_MAX + symbols.len() + 1,
                replay,
                nbbo_tx,
                tops_tx,
                feed_published,
                fault.clone(),
            )),
            Vec::new(),
        ));
        built.push(metered(
            AgentKind::Sequencer,
            Box::new(FaultWatch {
                agent: core
                    .sequencer
                    .with_snapshots(every, pieces.clone())
                    .with_status(query_rx, answer_tx),
                fault: fault.clone(),
            }),
            vec![
                commands_depth,
                market_data_depth,
                venue_reports_depth,
                events_back_depth,
            ],
        ));
        built.push(metered(
            AgentKind::Matcher,
            Box::new({
                core.matcher
                    .with_counters(order_counters)
                    .with_snapshots(pieces)
            }),
            vec![sequenced_depth],
        ));
        built.push(metered(
            AgentKind::Egress,
            Box::new(Egress::new(
                venue_net,
                router,
                frames_per_arrival,
                VenueTops::new(symbols),
                EgressRings {
                    events: out_rx,
                    gate: AckGate::new(durable, sizes.events_out),
                    top_changes: tops_rx,
                    venue_commands: venue_tx,
                },
                cancel_back,
                egress_counters,
                fault.clone(),
            )),
            vec![events_out_depth, venue_tops_depth],
        ));

        let mut specs = Vec::with_capacity(plan.len());
        for (index, thread) in plan.iter().enumerate() {
            let mut agents: Vec<Box<dyn Agent>> = Vec::with_capacity(thread.agents.len());
            for kind in &thread.agents {
                let position = AgentKind::ALL.iter().position(|k| k == kind).unwrap_or(0);
                agents.push(built[position].take().ok_or_else(|| {
                    PipelineError::Placement(format!("agent \"{}\" placed twice", kind.name()))
                })?);
            }
            let agent: Box<dyn Agent> = if agents.len() == 1 {
                agents.remove(0)
            } else {
                Box::new(Composite::new(agents))
            };
            let duty_max_ns = duty[index].take().ok_or_else(missing)?;
            let idle = Idle::from_name(&thread.idle).map_err(|e| {
                PipelineError::Placement(format!("thread \"{}\": {e}", thread.name))
            })?;
            let mut spec = ThreadSpec::new(
                format!("cx-{}", thread.name),
                Box::new(Timed { agent, duty_max_ns }),
            )
            .idle(idle);
            if let Some(core) = thread.core {
                spec = spec.pin(core);
            }
            specs.push(spec);
        }
        if let Some(kind) = built.iter().position(Option::is_some) {
            return Err(PipelineError::Placement(format!(
                "agent \"{}\" is in no thread",
                AgentKind::ALL[kind].name()
            )));
        }
        let runner = Runner::start(cores, specs)?;
        Ok(Pipeline {
            runner,
            client_address,
            admin_address,
            fix_address: fix_listener.map(|(_, address)| address),
            feed_address,
            counters_path: counters_path.to_owned(),
            plan,
            fault,
            matcher_closed,
            snapshots,
        })
    }

    /// Where clients connect.
    #[must_use]
    pub fn client_address(&self) -> std::net::SocketAddr {
        self.client_address
    }

    /// Where operators connect (the admin port, `[admin] listen`).
    #[must_use]
    pub fn admin_address(&self) -> std::net::SocketAddr {
        self.admin_address
    }

    /// Where FIX sessions connect (`[fix] listen`; `None` without `[[fix_sessions]]`).
    #[must_use]
    pub fn fix_address(&self) -> Option<std::net::SocketAddr> {
        self.fix_address
    }

    /// Where the feed's datagrams go.
    #[must_use]
    pub fn feed_address(&self) -> std::net::SocketAddr {
        self.feed_address
    }

    /// The live counters file.
    #[must_use]
    pub fn counters_path(&self) -> &Path {
        &self.counters_path
    }

    /// The threads the agents run on.
    #[must_use]
    pub fn plan(&self) -> &[PlannedThread] {
        &self.plan
    }

    /// The first fatal error an agent met (a journal append, a transport failure): the
    /// pipeline must be stopped and the engine recovered from its journal.
    #[must_use]
    pub fn fault(&self) -> Option<String> {
        self.fault.get()
    }

    /// Stops every thread once its agents have drained what they hold.
    ///
    /// # Errors
    /// [`PipelineError::Runner`] when a thread could not be joined.
    pub fn stop(self) -> Result<Stopped, PipelineError> {
        let threads = self.runner.stop()?;
        // The agents, and with them the writer's senders, are gone: it finishes.
        let snapshots = self.snapshots.map(SnapshotWriter::join).unwrap_or_default();
        Ok(Stopped {
            threads,
            matcher: self.matcher_closed.try_recv().ok(),
            snapshots,
        })
    }
}

/// The engine core as the pipeline runs it: the sequencer agent and the matcher agent,
/// joined by the sequenced and events-back rings, between the rings at its edges.
/// [`Pipeline::open`] builds its core with it, and so does the in-process end-to-end
/// benchmark, which feeds the commands ring and drains the other two itself.
pub struct Core {
    /// The sequencer (risk gate and journal) between its rings.
    pub sequencer: SequencerAgent<MappedJournal>,
    /// The matcher between its rings.
    pub matcher: MatcherAgent,
    sequenced_depth: Box<dyn Depth>,
    events_back_depth: Box<dyn Depth>,
}

// A command on its ring, what the sequencer passes on to the matcher agent, the events
// the matcher hands back, a route to the egress and a venue's top of book are one cache
// line: the 56-byte message behind the ring's stamp. So is a reply.
const _: () = assert!(crossline_ring::slot_bytes::<Message>() == 64);
const _: () = assert!(crossline_ring::slot_bytes::<Reply>() == 64);

/// The rings at the core's edges.
pub struct CoreEdges {
    /// Commands from each ingress, in the order the sequencer takes turns over them: each
    /// the 56-byte message the journal stores (`Command::to_message`, sequence 0), one
    /// cache line with the ring's stamp.
    pub commands: Vec<Consumer<Message>>,
    /// Routes to the egress: 56-byte `Route` messages
    /// (`RouteInstruction::to_message`), each numbered with the journal position it
    /// waits for.
    pub out: Producer<Message>,
    /// Client replies to the order ingress.
    pub replies: Producer<Reply>,
}

impl Core {
    /// Splits `engine` into its two agents, joined by rings of `sizes`; at close the
    /// matcher sends its final state to `closed`.
    ///
    /// # Errors
    /// [`PipelineError::Ring`] for a ring size that is not a power of two.
    pub fn new(
        engine: Engine<MappedJournal>,
        sizes: RingSizes,
        edges: CoreEdges,
        closed: Option<mpsc::Sender<Matcher>>,
    ) -> Result<Core, PipelineError> {
        let (sequenced_tx, sequenced_rx) = crossline_ring::channel(sizes.sequenced)?;
        let (back_tx, back_rx) = crossline_ring::channel(sizes.events_back)?;
        let sequenced_depth: Box<dyn Depth> = Box::new(sequenced_tx.monitor());
        let events_back_depth: Box<dyn Depth> = Box::new(back_tx.monitor());
        let (sequencer, matcher) = engine.into_parts();
        Ok(Core {
            sequencer: SequencerAgent::new(sequencer, edges.commands, back_rx, sequenced_tx),
            matcher: MatcherAgent::new(
                matcher,
                MatcherRings {
                    inputs: sequenced_rx,
                    back: back_tx,
                    out: edges.out,
                    replies: edges.replies,
                },
                closed,
            ),
            sequenced_depth,
            events_back_depth,
        })
    }
}

/// Numbers and keeps every client reply the journal in `dir` caused, in journal order
/// (the order the matcher agent handed them to the order ingress), so a client's resend after a restart gets them
/// again with the same numbers: a replay of the whole day on a journal-less engine, for
/// a snapshot that keeps no replies.
fn rebuild_replies(config: &Config, dir: &Path) -> Result<Sessions, PipelineError> {
    let mut engine = Engine::new(config, NoJournal)?;
    let mut keeper = ReplyKeeper::new(config)?;
    recovery::replay_from(dir, &mut engine, None, &mut keeper, &mut |_| {})?;
    Ok(keeper.sessions)
}

/// The FIX edge's order table as the journal in `dir` leaves it: every client's
/// requests and the replies they caused, in journal order, as the order ingress saw them
/// live.
fn rebuild_fix_orders(config: &Config, dir: &Path) -> Result<OrderTable, PipelineError> {
    let mut engine = Engine::new(config, NoJournal)?;
    let mut rebuilder = FixOrders {
        orders: OrderTable::default(),
        command: None,
    };
    recovery::replay_from(dir, &mut engine, None, &mut rebuilder, &mut |_| {})?;
    Ok(rebuilder.orders)
}

/// Rebuilds the FIX order table from a replay.
struct FixOrders {
    orders: OrderTable,
    command: Option<(Command, u64)>,
}

impl Observer for FixOrders {
    fn record(&mut self, record: &Record) {
        self.command = Some((record.command, record.sequence.get()));
        let request = match record.command {
            Command::NewOrder(order) => Request::NewOrder(order),
            Command::Cancel(cancel) => Request::Cancel(cancel),
            Command::Replace(replace) => Request::Replace(replace),
            _ => return,
        };
        self.orders.note_request(&request);
    }
    fn output(&mut self, output: &Output) {
        let Some((command, sequence)) = self.command else {
            return;
        };
        let message = output.to_message(Timestamp::new(0), command.original_order());
        if let Some((client, reply)) = message.as_ref().and_then(reject_reply) {
            self.orders.apply_reply(client, &reply, sequence);
        }
    }
    fn event(&mut self, input: &Sequenced, event: &Event) {
        if let Some((client, reply)) = event_reply(event) {
            self.orders
                .apply_reply(client, &reply, input.sequence.get());
        }
    }
}

/// What the order ingress starts with (the client sessions, their replies of the day
/// already numbered and kept) and the hash snapshots carry.
struct Edges {
    sessions: Sessions,
    fix_orders: OrderTable,
    config_hash: u64,
}

/// What start-up makes before it touches the journal: the thread plan and counter labels
/// checked, every socket bound, the recorded feed opened, the router built. A
/// configuration that cannot start fails here, leaving the journal untouched.
struct Prepared {
    plan: Vec<PlannedThread>,
    labels: Vec<(String, Kind)>,
    venues: Vec<(u8, String)>,
    client_net: Transport,
    listener: crossline_net::ListenerId,
    client_address: std::net::SocketAddr,
    admin_listener: crossline_net::ListenerId,
    admin_address: std::net::SocketAddr,
    fix_listener: Option<(crossline_net::ListenerId, std::net::SocketAddr)>,
    feed_net: Transport,
    feed_address: std::net::SocketAddr,
    venue_net: Transport,
    replay: Option<Replay>,
    router: Router,
}

impl Prepared {
    fn new(config: &Config, cores: &Cores) -> Result<Prepared, PipelineError> {
        let plan = plan(config, cores)?;
        let venues: Vec<(u8, String)> = config
            .router
            .venues
            .iter()
            .map(|venue| (venue.id, venue.name.clone()))
            .collect();
        let labels = labels(&plan, &venues);
        let label_refs: Vec<(&str, Kind)> = labels.iter().map(|(l, k)| (l.as_str(), *k)).collect();
        Counters::check(&label_refs)?;
        let router = Router::new(&config.router)?;
        // Sockets: each I/O agent has its own transport.
        let network = &config.network;
        let mut client_net = Transport::new(&network.net)?;
        let (listener, client_address) = client_net.listen(network.gateway.listen)?;
        // The admin port is on the order ingress's transport: its commands join the
        // clients' on the commands ring, and its answers come back with their replies.
        let (admin_listener, admin_address) = client_net.listen(config.admin.listen)?;
        // The FIX port too, when FIX sessions are configured (docs/FIX.md).
        let fix_listener = if config.fix.sessions.is_empty() {
            None
        } else {
            Some(client_net.listen(config.fix.listen)?)
        };
        let mut feed_net = Transport::new(&network.net)?;
        let (_, feed_address) = feed_net.bind_udp(
            network.market_data.listen,
            network.market_data.socket_buffer_bytes,
        )?;
        let venue_net = Transport::new(&network.net)?;
        let replay = match &network.market_data.replay {
            Some((path, pace)) => Some(Replay::open(path, *pace).map_err(GatewayError::from)?),
            None => None,
        };
        Ok(Prepared {
            plan,
            labels,
            venues,
            client_net,
            listener,
            client_address,
            admin_listener,
            admin_address,
            fix_listener,
            feed_net,
            feed_address,
            venue_net,
            replay,
            router,
        })
    }
}

/// The admin port's operator sessions `config` describes (`[admin]`, `[[operators]]`).
fn operators(config: &Config) -> Operators {
    let accounts = config
        .admin
        .operators
        .iter()
        .map(|operator| OperatorAccount {
            id: operator.id,
            // A secret longer than 32 bytes does not parse as a configuration.
            secret: operator.secret.as_deref().and_then(Secret::from_text),
            control: operator.role == Role::Control,
        })
        .collect();
    Operators::new(
        accounts,
        config.admin.logon_timeout_ms * 1_000_000,
        config.admin.pending_logons_max,
    )
}

/// The client sessions `config` describes: its clients' secrets and the session limits.
fn sessions(config: &Config) -> Result<Sessions, PipelineError> {
    let network = &config.network;
    let limits = SessionLimits {
        logon_timeout_ns: network.gateway.logon_timeout_ms * 1_000_000,
        errors_max: network.gateway.session_errors_max,
        replies_max: network.gateway.replies_max,
        pending_logons_max: network.gateway.pending_logons_max,
    };
    Ok(sessions_for(
        limits,
        &config.secrets,
        network.net.connections_max,
    )?)
}

/// Numbers and keeps the client replies a replay of the journal causes, in journal order
/// (the order the matcher agent hands them to the order ingress), the way the order ingress does live. When
/// recovery loads a snapshot, it starts from the replies the snapshot keeps; as the
/// observer of a one-thread engine writing snapshots, it puts the replies into them, as
/// the running pipeline does.
pub struct ReplyKeeper {
    sessions: Sessions,
    command: Option<Command>,
    /// `Some(restored)` once recovery loaded a snapshot: whether its replies part gave
    /// every client's replies at the cut.
    from_snapshot: Option<bool>,
}

impl ReplyKeeper {
    /// A keeper for the sessions `config` names, with no replies yet.
    ///
    /// # Errors
    /// [`PipelineError::Gateway`] for a session secret that does not parse.
    pub fn new(config: &Config) -> Result<ReplyKeeper, PipelineError> {
        Ok(ReplyKeeper {
            sessions: sessions(config)?,
            command: None,
            from_snapshot: None,
        })
    }

    /// The replies kept, as the order ingress's sessions.
    #[must_use]
    pub fn into_sessions(self) -> Sessions {
        self.sessions
    }
}

impl Observer for ReplyKeeper {
    fn record(&mut self, record: &Record) {
        self.command = Some(record.command);
    }
    fn output(&mut self, output: &Output) {
        // The same message and mapping as the matcher agent's live.
        let original = self.command.and_then(|command| command.original_order());
        let message = output.to_message(Timestamp::new(0), original);
        if let Some((client, reply)) = message.as_ref().and_then(reject_reply) {
            self.sessions.keep(client, &reply);
        }
    }
    fn event(&mut self, _input: &Sequenced, event: &Event) {
        if let Some((client, reply)) = event_reply(event) {
            self.sessions.keep(client, &reply);
        }
    }
    fn replies_at_cut(&mut self, _cut: u64) -> Vec<u8> {
        let mut replies = Vec::new();
        self.sessions.export_replies(&mut replies);
        replies
    }
    fn snapshot_loaded(&mut self, snapshot: &Snapshot) {
        let restored = if snapshot.parts.replies.is_empty() {
            false
        } else {
            match self.sessions.import_replies(&snapshot.parts.replies) {
                Ok(()) => true,
                Err(why) => {
                    eprintln!(
                        "crossline: {}: {why}; the client replies are rebuilt from the whole \
                         journal instead",
                        snapshot.path.display()
                    );
                    false
                }
            }
        };
        self.from_snapshot = Some(restored);
    }
}

/// The sequencer agent, reporting its journal failure as the pipeline's fault.
struct FaultWatch<J> {
    agent: SequencerAgent<J>,
    fault: Fault,
}

impl<J: Journal + Send> Agent for FaultWatch<J> {
    fn role_name(&self) -> &str {
        self.agent.role_name()
    }

    fn do_work(&mut self) -> usize {
        let work = self.agent.do_work();
        if work == 0 {
            if let Some(failure) = self.agent.sequencer().failure() {
                self.fault.raise(format!("sequencer stopped: {failure}"));
            }
        }
        work
    }

    fn has_pending_work(&self) -> bool {
        self.agent.has_pending_work()
    }

    fn close_intake(&mut self) {
        self.agent.close_intake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(placement: Placement) -> Config {
        let mut config = crossline_config::parse(crossline_config::DEFAULT).unwrap();
        config.pipeline.placement = placement;
        config
    }

    #[test]
    fn auto_shares_two_threads_on_a_small_machine_and_pins_on_a_large_one() {
        let small = plan(&config(Placement::Auto), &Cores::from_ids(vec![0, 1])).unwrap();
        assert_eq!(small.len(), 2);
        assert_eq!(
            small[0].agents,
            [
                AgentKind::OrderIngress,
                AgentKind::MarketData,
                AgentKind::Egress
            ]
        );
        assert_eq!(small[1].agents, [AgentKind::Sequencer, AgentKind::Matcher]);
        assert!(small
            .iter()
            .all(|t| t.core.is_none() && t.idle == "back_off"));

        let large = plan(&config(Placement::Auto), &Cores::from_ids((0..8).collect())).unwrap();
        assert_eq!(large.len(), 5);
        let cores: Vec<Option<usize>> = large.iter().map(|t| t.core).collect();
        assert_eq!(cores, [Some(1), Some(2), Some(3), Some(4), Some(5)]);
        assert!(large
            .iter()
            .all(|t| t.agents.len() == 1 && t.idle == "busy_spin"));
    }

    #[test]
    fn pinned_on_too_few_cores_says_how_many_it_needs() {
        let error = plan(&config(Placement::Pinned), &Cores::from_ids(vec![0, 1]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"pinned\" needs 6 cores"), "{error}");
        assert!(error.contains("may use 2 ([0, 1])"), "{error}");
    }

    #[test]
    fn listed_threads_take_the_idle_strategy_of_their_kind() {
        let threads = vec![ThreadSettings {
            name: "all".to_owned(),
            agents: AgentKind::ALL.to_vec(),
            core: Some(1),
            idle: None,
        }];
        let plan = plan(
            &config(Placement::Threads(threads)),
            &Cores::from_ids(vec![0, 1]),
        )
        .unwrap();
        assert_eq!(plan.len(), 1);
        assert_eq!(
            (plan[0].core, plan[0].idle.as_str()),
            (Some(1), "busy_spin")
        );
    }
}
