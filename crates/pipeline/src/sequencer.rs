//! The sequencer agent: the engine's sequencer between its rings.

use std::sync::mpsc::{Receiver, Sender};

use crossline_agent::Agent;
use crossline_engine::snapshot::encode_part;
use crossline_ring::{Consumer, Producer};
use crossline_risk::PENDING_CHANGES_MAX;
use crossline_sequencer::{set_caused_by, Command, Journal, Output, Sequencer, Stamped};

use crossline_gateway::{StatusQuery, StatusScope};
use crossline_protocol::admin::{
    Outbound as AdminOutbound, SYMBOL_HALTED_BY_MARKET, SYMBOL_HALTED_BY_OPERATOR, SYMBOL_KILLED,
    SYMBOL_RESTRICTED, SYMBOL_RULE_201,
};
use crossline_types::layout::{Layout, SnapshotLayout};
use crossline_types::{Message, Timestamp};

use crate::queue::Bounded;
use crate::snapshots::Piece;

/// Commands taken from each input ring per duty cycle.
const BATCH: usize = 256;

/// The sequencer as an agent: commands in from each ingress ring (client orders, market
/// data, venue reports), the matcher's events back in, and its outputs out on one ring
/// to the matcher agent, in sequence order, as 56-byte messages (`docs/MESSAGES.md`):
/// each matcher input (`Sequenced::to_message`) and each risk reject
/// (`rejected_message`), which the matcher agent turns into the client's reply. A
/// refused locate or admin change is logged here (operators are told through the log
/// until the admin port exists); admin records go to no one but the journal's replay.
/// A message may take effect outside the process once the journal is durable through
/// `crossline_sequencer::barrier` of it. Outputs that do not fit
/// downstream wait in a queue, and no new command is taken until it is empty, so a full
/// ring slows ingress instead of losing anything.
///
/// Commands from different rings were stamped by different ingress agents: a command
/// stamped earlier than the last one sequenced is sequenced at the last one's time, so
/// time in the journal never goes backwards.
pub struct SequencerAgent<J> {
    sequencer: Sequencer<J>,
    commands: Vec<Consumer<Message>>,
    events: Consumer<Message>,
    out: Producer<Message>,
    /// Outputs not yet on the ring: those of the last command (and of the snapshot
    /// command after it), as no command is taken while any wait.
    queue: Bounded<Message>,
    last_time: Timestamp,
    next_ring: usize,
    snapshots: Option<Snapshots>,
    stopping: Stopping,
    /// Operators' status queries from the order ingress, and where their answers go.
    status: Option<(Receiver<StatusQuery>, Sender<StatusAnswer>)>,
}

/// A status query's answer on its way back to the order ingress: the operator who asked,
/// and the message.
pub type StatusAnswer = (u32, AdminOutbound);

/// The sequencer's side of live snapshots ([`crate::snapshots`]).
struct Snapshots {
    /// Commands between snapshots.
    every: u64,
    /// Commands sequenced since the last snapshot command.
    since: u64,
    /// Where the pieces go.
    pieces: Sender<Piece>,
    /// The cut in progress: its state, and the events taken back since.
    open: Option<(u64, Vec<u8>, Vec<Message>)>,
}

impl<J: Journal + Send> SequencerAgent<J> {
    /// Wires a sequencer to its rings.
    pub fn new(
        sequencer: Sequencer<J>,
        commands: Vec<Consumer<Message>>,
        events: Consumer<Message>,
        out: Producer<Message>,
    ) -> SequencerAgent<J> {
        // Each command yields at most its own output, a mass cancel, and the records and
        // mass cancels of the admin changes expiring before it; a snapshot command may
        // follow it before the queue is flushed.
        let bound = 2 * (2 + 2 * PENDING_CHANGES_MAX);
        SequencerAgent {
            sequencer,
            commands,
            events,
            out,
            queue: Bounded::new("sequencer outputs", bound),
            last_time: Timestamp::new(0),
            next_ring: 0,
            snapshots: None,
            stopping: Stopping::No,
            status: None,
        }
    }

    /// Answers the status queries `queries` brings, between commands, from the risk
    /// gate's state and the journal's position, on `answers` (with the asking operator).
    /// Queries are not sequenced: they change nothing.
    #[must_use]
    pub fn with_status(
        mut self,
        queries: Receiver<StatusQuery>,
        answers: Sender<StatusAnswer>,
    ) -> SequencerAgent<J> {
        self.status = Some((queries, answers));
        self
    }

    fn answer_status(&mut self) -> usize {
        let Some((queries, answers)) = &self.status else {
            return 0;
        };
        let mut work = 0;
        while let Ok(query) = queries.try_recv() {
            work += 1;
            let answer = status_answer(&self.sequencer, &query);
            let _ = answers.send((query.operator, answer));
        }
        work
    }

    /// Makes a `Snapshot` command after every `every` commands (none while the previous
    /// cut is still collecting its in-flight events) and hands the sequencer's part of
    /// each to `pieces` (`None`, or `every` zero: no live snapshots).
    #[must_use]
    pub fn with_snapshots(
        mut self,
        every: u64,
        pieces: Option<Sender<Piece>>,
    ) -> SequencerAgent<J> {
        self.snapshots = pieces.filter(|_| every > 0).map(|pieces| Snapshots {
            every,
            since: 0,
            pieces,
            open: None,
        });
        self
    }

    /// The sequencer, for queries once the agent has stopped.
    pub fn sequencer(&self) -> &Sequencer<J> {
        &self.sequencer
    }

    /// Moves queued outputs to their rings; `false` when one did not fit.
    fn flush(&mut self) -> bool {
        while let Some(message) = self.queue.front() {
            if self.out.try_push(*message).is_err() {
                return false;
            }
            self.queue.pop();
        }
        true
    }

    /// Sequences up to a batch from ring `index`; `false` when the agent must stop
    /// taking commands this cycle (a full ring downstream, or a journal failure).
    fn take(&mut self, index: usize, work: &mut usize) -> bool {
        for _ in 0..BATCH {
            let Some(message) = self.commands[index].try_pop() else {
                return true;
            };
            // The ingress agents build every message from a command, so this cannot
            // fail unless one of them is wrong: say so, and sequence nothing of it.
            let command = match Command::from_message(&message) {
                Ok(command) => command,
                Err(error) => {
                    eprintln!("sequencer: a message on the commands ring is no command: {error}");
                    continue;
                }
            };
            let mut stamped = Stamped {
                time: Timestamp::new(message.time()),
                command,
            };
            if stamped.time < self.last_time {
                stamped.time = self.last_time;
            }
            self.last_time = stamped.time;
            if !self.submit(&stamped) {
                return false;
            }
            *work += 1;
            if self.snapshot_due() {
                let snapshot = Stamped {
                    time: self.last_time,
                    command: Command::Snapshot,
                };
                if !self.submit(&snapshot) {
                    return false;
                }
                self.begin_cut();
            }
            if !self.flush() {
                return false;
            }
        }
        true
    }

    /// Sequences one command, queueing its outputs; `false` when the journal failed.
    fn submit(&mut self, stamped: &Stamped) -> bool {
        let (queue, original, time) = (
            &mut self.queue,
            stamped.command.original_order(),
            stamped.time,
        );
        let first = queue.len();
        let submitted = self.sequencer.submit(stamped, &mut |output| {
            if let Output::Refused { sequence, error } = output {
                eprintln!("crossline: command {sequence} refused: {error}");
            } else if let Some(message) = output.to_message(time, original) {
                queue.push_past_bound(message);
            }
        });
        let recorded = match submitted {
            Ok(recorded) => recorded,
            Err(failure) => {
                // Fatal: the engine must stop and recover from the journal. The command
                // taken is not lost: it was never acknowledged.
                eprintln!("sequencer stopped: {failure}");
                return false;
            }
        };
        // A kill switch's mass cancel has no record: it is durable with the command's.
        for message in self.queue.tail_mut(first) {
            set_caused_by(message, recorded);
        }
        true
    }

    /// Counts a command; whether a snapshot command is due after it.
    fn snapshot_due(&mut self) -> bool {
        let Some(snapshots) = self.snapshots.as_mut() else {
            return false;
        };
        snapshots.since += 1;
        snapshots.since >= snapshots.every && snapshots.open.is_none()
    }

    /// The snapshot command was just decided: takes the gate's part at its cut.
    fn begin_cut(&mut self) {
        let Some(snapshots) = self.snapshots.as_mut() else {
            return;
        };
        snapshots.since = 0;
        let cut = self.sequencer.next_sequence().get() - 1;
        match encode_part(&self.sequencer.state()) {
            Ok(state) => {
                let pending = self.sequencer.queued_events().copied().collect();
                snapshots.open = Some((cut, state, pending));
            }
            Err(why) => {
                let _ = snapshots.pieces.send(Piece::Failed { cut, why });
            }
        }
    }

    /// A matcher event taken back while a cut is open: in flight at the cut, up to the
    /// matcher's `Event::Snapshot` for it, which completes the sequencer's part.
    fn collect(&mut self, event: &Message) {
        let Some(snapshots) = self.snapshots.as_mut() else {
            return;
        };
        let Some((cut, _, pending)) = snapshots.open.as_mut() else {
            return;
        };
        pending.push(*event);
        if event.kind() == SnapshotLayout::KIND && event.sequence() == *cut {
            if let Some((cut, state, pending)) = snapshots.open.take() {
                let _ = snapshots.pieces.send(Piece::Sequencer {
                    cut,
                    state,
                    pending,
                });
            }
        }
    }
}

impl<J: Journal + Send> Agent for SequencerAgent<J> {
    fn role_name(&self) -> &str {
        "sequencer"
    }

    fn do_work(&mut self) -> usize {
        let mut work = self.answer_status();
        while let Some(event) = self.events.try_pop() {
            self.sequencer.on_event(&event);
            self.collect(&event);
            work += 1;
            if work >= BATCH {
                break;
            }
        }
        if !self.flush() {
            return work.max(1);
        }
        if self.sequencer.failure().is_some() {
            return work;
        }
        // Rings take turns being first, so a busy one cannot starve the others.
        let rings = self.commands.len();
        for turn in 0..rings {
            let index = (self.next_ring + turn) % rings;
            if !self.take(index, &mut work) {
                break;
            }
        }
        self.next_ring = (self.next_ring + 1) % rings.max(1);
        if work > 0 || self.stopping == Stopping::Closed {
            // One batch per duty cycle: under sync_per_batch the flusher syncs it. Once
            // intake closes, every batch (and the first cycle) goes to disk at once, so
            // what waits for it can leave before the engine stops.
            self.sequencer.end_batch(self.stopping != Stopping::No);
            if self.stopping == Stopping::Closed {
                self.stopping = Stopping::Flushed;
            }
        }
        work
    }

    fn has_pending_work(&self) -> bool {
        !self.queue.is_empty()
    }

    fn close_intake(&mut self) {
        self.stopping = Stopping::Closed;
    }
}

/// Where the sequencer agent is in the pipeline's stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopping {
    /// Running.
    No,
    /// Intake just closed: the journal is to be flushed on the next cycle.
    Closed,
    /// Draining: every batch is flushed as it ends.
    Flushed,
}

/// The answer to `query` from the gate's state and the journal's position: a status
/// message, or `ControlRefused` (201 unknown symbol, 202 unknown client; sequence 0).
fn status_answer<J: Journal>(sequencer: &Sequencer<J>, query: &StatusQuery) -> AdminOutbound {
    let gate = sequencer.gate();
    let request = query.request;
    let clamp =
        |value: i128| i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX });
    let refused = |reason| AdminOutbound::ControlRefused {
        request,
        reason,
        sequence: 0,
    };
    match query.scope {
        StatusScope::Client(client) => match gate.client_state(client) {
            Some(state) => AdminOutbound::ClientStatus {
                request,
                client,
                open_orders: state.open_orders,
                killed: state.killed,
                credit_used: clamp(state.exposure),
                credit_limit: state.limits.credit_limit.micros(),
                messages_per_second: state.limits.messages_per_second,
                message_burst: state.limits.message_burst,
                tokens: u32::try_from(state.tokens).unwrap_or(u32::MAX),
                improvement_ppm: state.improvement_ppm,
            },
            None => refused(UNKNOWN_CLIENT),
        },
        StatusScope::Symbol(symbol) => match gate.symbol_state(symbol) {
            Some(state) => {
                let flags = [
                    (state.halted_by_operator, SYMBOL_HALTED_BY_OPERATOR),
                    (state.halted_by_market, SYMBOL_HALTED_BY_MARKET),
                    (state.rule_201, SYMBOL_RULE_201),
                    (state.killed, SYMBOL_KILLED),
                    (state.restricted, SYMBOL_RESTRICTED),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .fold(0, |flags, (_, bit)| flags | bit);
                let (band_lower, band_upper) = state
                    .band
                    .map_or((0, 0), |(lower, upper)| (lower.micros(), upper.micros()));
                AdminOutbound::SymbolStatus {
                    request,
                    symbol,
                    flags,
                    position: state.inventory.quantity,
                    realized_pnl: clamp(state.inventory.realized_pnl),
                    unrealized_pnl: clamp(state.inventory.unrealized_pnl),
                    band_lower,
                    band_upper,
                }
            }
            None => refused(UNKNOWN_SYMBOL),
        },
        StatusScope::Engine => AdminOutbound::EngineStatus {
            request,
            open_orders: u32::try_from(gate.open_orders()).unwrap_or(u32::MAX),
            last_sequence: sequencer.next_sequence().get().saturating_sub(1),
            firm_killed: gate.firm_killed(),
            // The order ingress fills the ring depths from the live counters.
            commands_depth: 0,
            market_data_depth: 0,
            venue_reports_depth: 0,
            sequenced_depth: 0,
            events_back_depth: 0,
            events_out_depth: 0,
            replies_depth: 0,
            venue_tops_depth: 0,
        },
    }
}

/// The control error codes a status query about an unknown symbol or client is refused
/// with (`ControlError::code`).
const UNKNOWN_SYMBOL: u16 = 201;
const UNKNOWN_CLIENT: u16 = 202;
