//! The sequencer: the risk gate as the single point every state-changing input passes.
//!
//! Each command from the ingress agents (client orders, market data, venue reports, stock
//! loan locates, admin messages, the end of the day) arrives stamped with its time. The
//! sequencer gives it the next sequence number, decides it (the gate's verdict),
//! appends the decision to the journal *before* anything downstream sees it
//! (write-ahead), and then passes what it caused on: the input to the matcher, a reject
//! to the client, an audit record to operators. Inputs the gate itself causes (the mass
//! cancel of a kill switch, one input whatever its scope holds) take the next sequence
//! numbers, deterministically, so they need no journal record of their own; nor do the
//! reverts of expired admin changes, which follow from the inputs' times.
//!
//! The matcher's events come back to the gate a little later than new commands arrive,
//! so what the gate knows when it decides depends on timing. Each record therefore notes
//! how many events the gate had applied; replaying the journal through
//! [`Sequencer::replay`] applies exactly as many before deciding again, which rebuilds
//! the gate exactly, and emits the same matcher inputs with the same sequence numbers:
//! the matcher, a pure state machine, then rebuilds too.

#![forbid(unsafe_code)]

mod message;

use std::collections::VecDeque;

use crossline_matcher::{ClientImprovement, Input, SettingsChange, VenueCancel, VenueFill};
use crossline_types::{
    Cancel, ClientId, ClientOrderId, Message, NewOrder, Quote, Replace, SequenceNumber, SymbolId,
    Timestamp, VenueChild,
};

use crossline_risk::{
    AdminCause, AdminChange, AdminRecord, ControlError, RiskGate, RiskReject, Setting,
    PENDING_CHANGES_MAX,
};

pub use message::{
    admin_ack, barrier, rejected_message, set_caused_by, AdminAck, MessageError, SETTING_CODES,
};

/// What arrives at the sequencer.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// A client's new order.
    NewOrder(NewOrder),
    /// A client's cancel.
    Cancel(Cancel),
    /// A client's cancel/replace.
    Replace(Replace),
    /// A national best bid and offer.
    Nbbo(Quote),
    /// A venue's fill of a routed order.
    VenueFill(VenueFill),
    /// A venue returning a routed order's shares.
    VenueCancel(VenueCancel),
    /// A routed child order's end at its venue (journaled for the routing reports; no
    /// matcher input).
    VenueChild(VenueChild),
    /// Shares the stock loan desk located for a client's short sales.
    Locate {
        /// The client.
        client: ClientId,
        /// The symbol.
        symbol: SymbolId,
        /// Shares located.
        shares: u64,
        /// The stock-loan desk's id for the locate (0: none given).
        locate_id: u64,
        /// When the locate lapses, seconds since the epoch (0: at the end of the day). A
        /// locate that has lapsed by the time it is sequenced is refused; one that has
        /// not holds until the end of the day.
        expires_s: u32,
        /// The operator who loaded it (0: the engine's own, e.g. a test or the demo).
        operator: u32,
        /// The operator's request number on the admin port (0: not from the port).
        request: u32,
    },
    /// A change of a risk limit or control.
    Admin(AdminChange),
    /// A change of a symbol's internalization settings (mode, improvement, inventory
    /// limits, soft limit, hedging).
    Settings(SettingsChange),
    /// The trading day ends.
    EndOfDay {
        /// The operator who ended it (0: the engine's own).
        operator: u32,
        /// The operator's request number on the admin port (0: not from the port).
        request: u32,
    },
    /// Take a snapshot here: the gate's and the matcher's state at this sequence number
    /// form a consistent cut (see [`Sequencer::state`] and `Input::Snapshot`).
    Snapshot,
}

impl Command {
    /// The end of day as the engine's own command (no operator, not from the admin port).
    pub const END_OF_DAY: Command = Command::EndOfDay {
        operator: 0,
        request: 0,
    };

    /// The matcher input an accepted command becomes; `None` for a locate or an admin
    /// change, which stop at the gate.
    #[must_use]
    pub fn input(&self) -> Option<Input> {
        Some(match *self {
            Command::NewOrder(order) => Input::NewOrder(order),
            Command::Cancel(cancel) => Input::Cancel(cancel),
            Command::Replace(replace) => Input::Replace(replace),
            Command::Nbbo(quote) => Input::Nbbo(quote),
            Command::VenueFill(fill) => Input::VenueFill(fill),
            Command::VenueCancel(cancel) => Input::VenueCancel(cancel),
            Command::Settings(change) => Input::Settings(change),
            Command::EndOfDay { .. } => Input::EndOfDay,
            Command::Snapshot => Input::Snapshot,
            Command::Locate { .. } | Command::Admin(_) | Command::VenueChild(_) => return None,
        })
    }

    /// The operator and request number of a control command that came through the
    /// admin port (a locate, an admin change or the end of day with a request number),
    /// which the operator's session is answered with; `None` for any other command.
    #[must_use]
    pub fn request(&self) -> Option<(u32, u32)> {
        let (operator, request) = match *self {
            Command::Locate {
                operator, request, ..
            }
            | Command::EndOfDay { operator, request } => (operator, request),
            Command::Admin(change) => (change.operator, change.request),
            _ => return None,
        };
        (request != 0).then_some((operator, request))
    }

    /// The client order id a cancel or replace names as the order it is for (a refused
    /// one is answered with a cancel reject naming it); `None` for other commands.
    #[must_use]
    pub fn original_order(&self) -> Option<ClientOrderId> {
        match self {
            Command::Cancel(cancel) => Some(cancel.original_client_order_id),
            Command::Replace(replace) => Some(replace.original_client_order_id),
            _ => None,
        }
    }
}

/// A command with the time it arrived (stamped by the ingress agent: the only place in
/// the pipeline that reads a clock).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamped {
    /// Arrival time.
    pub time: Timestamp,
    /// The command.
    pub command: Command,
}

/// The sequencer's decision on a command.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Passed on (to the matcher, or applied to the gate).
    Accepted,
    /// A client message the gate refused.
    Rejected(RiskReject),
    /// A control message (locate, admin) that could not be applied.
    Refused(ControlError),
    /// An admin message applied: who, what, the old and the new value.
    Admin(AdminRecord),
}

/// One journal record: a command, its sequence number and time, the verdict, and how
/// far the matcher's events had come back when the gate decided.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The command's sequence number (inputs it causes follow it).
    pub sequence: SequenceNumber,
    /// Its time.
    pub time: Timestamp,
    /// The command.
    pub command: Command,
    /// What the sequencer decided.
    pub verdict: Verdict,
    /// How many matcher events the gate had applied before deciding. The matcher's
    /// event stream is a function of its inputs, so replay applies exactly this many
    /// first and the gate decides from the same state.
    pub events_applied: u64,
}

/// What the journal keeps of a [`Verdict`]: which verdict, and its reason code. The
/// details (a credit limit's amounts, an admin change's old value) follow from the
/// gate's state, which replay rebuilds, so replay decides the record again and compares
/// the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// [`Verdict::Accepted`].
    Accepted,
    /// [`Verdict::Rejected`], with [`RiskReject::code`].
    Rejected(u16),
    /// [`Verdict::Refused`], with [`ControlError::code`].
    Refused(u16),
    /// [`Verdict::Admin`].
    Admin,
}

impl Decision {
    /// What the journal keeps of `verdict`.
    #[must_use]
    pub const fn of(verdict: &Verdict) -> Decision {
        match verdict {
            Verdict::Accepted => Decision::Accepted,
            Verdict::Rejected(reason) => Decision::Rejected(reason.code()),
            Verdict::Refused(error) => Decision::Refused(error.code()),
            Verdict::Admin(_) => Decision::Admin,
        }
    }

    /// The verdict code and the reason code, as the journal stores them (1 accepted,
    /// 2 rejected, 3 refused, 4 admin; the reason is 0 for accepted and admin).
    #[must_use]
    pub const fn codes(self) -> (u8, u16) {
        match self {
            Decision::Accepted => (1, 0),
            Decision::Rejected(code) => (2, code),
            Decision::Refused(code) => (3, code),
            Decision::Admin => (4, 0),
        }
    }

    /// The decision the codes name, or `None` for codes no verdict has.
    #[must_use]
    pub const fn from_codes(verdict: u8, reason: u16) -> Option<Decision> {
        match (verdict, reason) {
            (1, 0) => Some(Decision::Accepted),
            (2, 101..=199) => Some(Decision::Rejected(reason)),
            (3, 201..=299) => Some(Decision::Refused(reason)),
            (4, 0) => Some(Decision::Admin),
            _ => None,
        }
    }
}

/// A record as the journal holds it: the command, the [`Decision`] and the events
/// applied. [`Sequencer::replay`] takes it and answers with the full verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// The command's sequence number.
    pub sequence: SequenceNumber,
    /// Its time.
    pub time: Timestamp,
    /// The command.
    pub command: Command,
    /// What the sequencer decided.
    pub decision: Decision,
    /// How many matcher events the gate had applied before deciding.
    pub events_applied: u64,
}

impl From<&Record> for Recorded {
    fn from(record: &Record) -> Recorded {
        Recorded {
            sequence: record.sequence,
            time: record.time,
            command: record.command,
            decision: Decision::of(&record.verdict),
            events_applied: record.events_applied,
        }
    }
}

/// Where the sequencer writes its records, before their effects leave it. The memory-
/// mapped journal implements it; `Vec<Record>` does for tests and tools.
pub trait Journal {
    /// Appends one record (durably, for a real journal) before returning.
    ///
    /// # Errors
    /// [`JournalFailure`] when the record could not be written. The sequencer then passes
    /// nothing on and refuses every later command: its state has moved past a record the
    /// journal does not hold, so the engine must stop and recover from the journal.
    fn append(&mut self, record: &Record) -> Result<(), JournalFailure>;

    /// Ends a batch of appends (one duty cycle of the sequencer): a journal that syncs
    /// per batch starts writing them to disk. Never blocks; by default nothing.
    fn end_batch(&mut self) {}

    /// Starts writing everything appended to disk now, whatever the policy's pace (the
    /// engine is stopping). Never blocks; by default nothing.
    fn flush_soon(&mut self) {}
}

/// A journal could not take a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("journal append failed at sequence {sequence}: {reason}")]
pub struct JournalFailure {
    /// The record's sequence number.
    pub sequence: SequenceNumber,
    /// Why.
    pub reason: String,
}

impl Journal for Vec<Record> {
    fn append(&mut self, record: &Record) -> Result<(), JournalFailure> {
        self.push(*record);
        Ok(())
    }
}

/// A journal that keeps nothing: for benchmarks and for replays (whose records are
/// already journaled).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoJournal;

impl Journal for NoJournal {
    fn append(&mut self, _: &Record) -> Result<(), JournalFailure> {
        Ok(())
    }
}

/// A matcher input with its sequence number and time.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequenced {
    /// Sequence number (a new order's engine id).
    pub sequence: SequenceNumber,
    /// Time.
    pub time: Timestamp,
    /// The input.
    pub input: Input,
}

/// What the sequencer passes on.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// An input for the matcher.
    Matcher(Sequenced),
    /// A client message the gate refused: the client hears of it.
    Rejected {
        /// The command's sequence number.
        sequence: SequenceNumber,
        /// The client.
        client: ClientId,
        /// The client's id of the refused message.
        client_order_id: ClientOrderId,
        /// Why.
        reason: RiskReject,
    },
    /// A locate or admin message that could not be applied: operators hear of it.
    Refused {
        /// The command's sequence number.
        sequence: SequenceNumber,
        /// Why.
        error: ControlError,
    },
    /// An admin change made, or a temporary one expired: for operators and the audit
    /// trail.
    Admin(AdminRecord),
    /// The outcome of an operator's control command from the admin port (a command with
    /// a request number): for the operator's session, once the record is durable.
    Ack {
        /// The command's sequence number.
        sequence: SequenceNumber,
        /// The operator.
        operator: u32,
        /// The operator's request number.
        request: u32,
        /// 0: applied; otherwise the [`ControlError::code`].
        result: u16,
    },
}

/// Why a journal could not be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// Records are missing or out of order.
    #[error("journal record has sequence {found}; expected {expected}")]
    Sequence {
        /// The sequence number the next record must have.
        expected: SequenceNumber,
        /// The one it has.
        found: SequenceNumber,
    },
    /// The gate decided a record differently from the journal: a corrupt journal, or
    /// one made with a different configuration.
    #[error("record {sequence}: the journal says {recorded:?}, the gate now decides {replayed:?}")]
    Verdict {
        /// The record.
        sequence: SequenceNumber,
        /// The journal's decision.
        recorded: Decision,
        /// The verdict on replay.
        replayed: Box<Verdict>,
    },
    /// The record was decided after more matcher events than the replay has handed back
    /// ([`Sequencer::replay_event`]).
    #[error("record {sequence} needs {needed} matcher events applied; only {available} were handed back")]
    Events {
        /// The record.
        sequence: SequenceNumber,
        /// Events the record was decided after.
        needed: u64,
        /// Events applied or waiting.
        available: u64,
    },
}

/// The risk gate as the sequencer. See the module documentation.
pub struct Sequencer<J> {
    gate: RiskGate,
    journal: J,
    next: u64,
    /// Admin records of expiries, waiting to be passed on.
    expired: Vec<AdminRecord>,
    /// Matcher events applied to the gate so far.
    events_applied: u64,
    /// Replay only: matcher events handed back and not yet due.
    replayed_events: VecDeque<Message>,
    /// The journal failed: nothing more is sequenced.
    failed: Option<JournalFailure>,
}

/// The sequencer's state at a snapshot's cut, for writing: the gate and the counters.
/// The matcher events still on their way back to the gate at the cut travel beside it
/// (see [`Sequencer::state`]).
#[derive(serde::Serialize)]
pub struct SequencerStateRef<'a> {
    gate: &'a RiskGate,
    next: u64,
    events_applied: u64,
}

/// The sequencer's state read back from a snapshot ([`Sequencer::restore`]).
#[derive(serde::Deserialize)]
pub struct SequencerState {
    gate: RiskGate,
    next: u64,
    events_applied: u64,
}

impl<J: Journal> Sequencer<J> {
    /// A sequencer around `gate` whose first sequence number is `first`.
    pub fn new(gate: RiskGate, journal: J, first: SequenceNumber) -> Sequencer<J> {
        Sequencer {
            gate,
            journal,
            next: first.get(),
            expired: Vec::with_capacity(PENDING_CHANGES_MAX),
            events_applied: 0,
            replayed_events: VecDeque::new(),
            failed: None,
        }
    }

    /// The state to write into a snapshot whose cut is the last command decided (a
    /// [`Command::Snapshot`]): take it right after submitting or replaying that command.
    /// Beside it the snapshot keeps the matcher events in flight at the cut: those not
    /// yet applied ([`Sequencer::queued_events`], during replay) followed by every event
    /// the matcher emits after, up to and including its `Event::Snapshot` for this cut.
    /// Live and in replay the same journal gives the same state here, byte for byte.
    pub fn state(&self) -> SequencerStateRef<'_> {
        SequencerStateRef {
            gate: &self.gate,
            next: self.next,
            events_applied: self.events_applied,
        }
    }

    /// Replay only: matcher events handed back and not yet applied, oldest first.
    pub fn queued_events(&self) -> impl Iterator<Item = &Message> {
        self.replayed_events.iter()
    }

    /// A sequencer restored from a snapshot's state and its in-flight events, ready to
    /// [`Sequencer::replay`] the journal records after the cut (each event applied when
    /// the records say it was), and then to go on live.
    pub fn restore(state: SequencerState, pending: Vec<Message>, journal: J) -> Sequencer<J> {
        let mut sequencer = Sequencer::new(state.gate, journal, SequenceNumber::new(state.next));
        sequencer.events_applied = state.events_applied;
        sequencer.replayed_events.extend(pending);
        sequencer
    }

    /// Why the sequencer stopped, if its journal failed.
    #[must_use]
    pub fn failure(&self) -> Option<&JournalFailure> {
        self.failed.as_ref()
    }

    /// The gate, for queries.
    pub fn gate(&self) -> &RiskGate {
        &self.gate
    }

    /// The journal.
    pub fn journal(&self) -> &J {
        &self.journal
    }

    /// Ends the batch of records appended since the last call ([`Journal::end_batch`]);
    /// with `stopping`, has the journal write it to disk now ([`Journal::flush_soon`]).
    pub fn end_batch(&mut self, stopping: bool) {
        self.journal.end_batch();
        if stopping {
            self.journal.flush_soon();
        }
    }

    /// The sequence number the next command will get.
    pub fn next_sequence(&self) -> SequenceNumber {
        SequenceNumber::new(self.next)
    }

    /// A matcher event coming back as its message
    /// ([`crossline_matcher::Event::to_back_message`]): keeps credit usage and
    /// inventory exact.
    pub fn on_event(&mut self, event: &Message) {
        self.gate.on_event(event);
        self.events_applied += 1;
    }

    /// Replay only: a matcher event from the replayed matcher. The gate applies it when
    /// the journal says it had: before the first record decided after it.
    pub fn replay_event(&mut self, event: &Message) {
        self.replayed_events.push_back(*event);
    }

    /// Replay only: applies the events handed back and not yet applied (after the last
    /// record, the live gate went on applying events too).
    pub fn finish_replay(&mut self) {
        while let Some(event) = self.replayed_events.pop_front() {
            self.on_event(&event);
        }
    }

    /// Sequences, decides and journals one command, then passes its effects to `out`.
    /// Answers the sequence number of the command's record: the record whose
    /// durability makes every output passed on here durable (the outputs of admin
    /// changes expiring before it, a kill switch's mass cancel and a client's
    /// price-improvement multiplier have no record of their own).
    ///
    /// # Errors
    /// [`JournalFailure`] when the journal could not take the record (or failed before):
    /// nothing is passed on, and the sequencer takes no more commands.
    pub fn submit(
        &mut self,
        stamped: &Stamped,
        out: &mut impl FnMut(Output),
    ) -> Result<SequenceNumber, JournalFailure> {
        if let Some(failure) = &self.failed {
            return Err(failure.clone());
        }
        self.expire(stamped.time, out);
        let sequence = self.take_sequence();
        let time = stamped.time;
        let verdict = self.decide(time, &stamped.command);
        let appended = self.journal.append(&Record {
            sequence,
            time,
            command: stamped.command,
            verdict,
            events_applied: self.events_applied,
        });
        if let Err(failure) = appended {
            self.failed = Some(failure.clone());
            return Err(failure);
        }
        self.pass_on(sequence, time, &stamped.command, verdict, out);
        Ok(sequence)
    }

    /// Replays one journal record: applies the matcher events the gate had applied
    /// when it decided (handed back through [`Sequencer::replay_event`]), decides it
    /// again — from the same state, so to the same verdict — and passes on the same
    /// outputs with the same sequence numbers. Nothing is journaled. Answers the full
    /// verdict, whose [`Decision`] is the record's.
    ///
    /// # Errors
    /// [`ReplayError`] when the record is out of sequence, was decided after events not
    /// yet handed back, or is decided differently.
    pub fn replay(
        &mut self,
        record: &Recorded,
        out: &mut impl FnMut(Output),
    ) -> Result<Verdict, ReplayError> {
        while self.events_applied < record.events_applied {
            let Some(event) = self.replayed_events.pop_front() else {
                return Err(ReplayError::Events {
                    sequence: record.sequence,
                    needed: record.events_applied,
                    available: self.events_applied,
                });
            };
            self.on_event(&event);
        }
        // Changes expiring at the record's time come first, as they did live: what they
        // pass to the matcher takes the sequence numbers before the record's.
        self.expire(record.time, out);
        let expected = SequenceNumber::new(self.next);
        if record.sequence != expected {
            return Err(ReplayError::Sequence {
                expected,
                found: record.sequence,
            });
        }
        let sequence = self.take_sequence();
        let verdict = self.decide(record.time, &record.command);
        if Decision::of(&verdict) != record.decision {
            return Err(ReplayError::Verdict {
                sequence,
                recorded: record.decision,
                replayed: Box::new(verdict),
            });
        }
        self.pass_on(sequence, record.time, &record.command, verdict, out);
        Ok(verdict)
    }

    fn take_sequence(&mut self) -> SequenceNumber {
        let sequence = SequenceNumber::new(self.next);
        self.next += 1;
        sequence
    }

    /// Reverts admin changes that expired by `time`, passing on their records and what
    /// they mean to the matcher (the mass cancel of a kill switch an expiry turns back
    /// on, a client's multiplier it restores), each with its own sequence number.
    fn expire(&mut self, time: Timestamp, out: &mut impl FnMut(Output)) {
        let expired = &mut self.expired;
        self.gate.expire(time, |record| expired.push(record));
        for index in 0..self.expired.len() {
            let record = self.expired[index];
            out(Output::Admin(record));
            if record.cause == AdminCause::Expired {
                self.effects(&record, time, out);
            }
        }
        self.expired.clear();
    }

    /// Sends the matcher what an admin change means to it, as the next input: the mass
    /// cancel of a kill switch's scope when `record` turned the switch on, a client's
    /// price-improvement multiplier when it set one. Nothing for any other change.
    fn effects(&mut self, record: &AdminRecord, time: Timestamp, out: &mut impl FnMut(Output)) {
        let input = match record.new {
            Setting::KillSwitch(target, true) => Input::MassCancel(target.mass_cancel()),
            Setting::ImprovementMultiplier(client, multiplier_ppm) => {
                Input::ClientImprovement(ClientImprovement {
                    client,
                    multiplier_ppm,
                })
            }
            _ => return,
        };
        let sequence = self.take_sequence();
        out(Output::Matcher(Sequenced {
            sequence,
            time,
            input,
        }));
    }

    /// The gate's verdict on a command, live.
    fn decide(&mut self, time: Timestamp, command: &Command) -> Verdict {
        let client = |result: Result<(), RiskReject>| match result {
            Ok(()) => Verdict::Accepted,
            Err(reject) => Verdict::Rejected(reject),
        };
        match command {
            Command::NewOrder(order) => client(self.gate.check_new_order(time, order)),
            Command::Replace(replace) => client(self.gate.check_replace(time, replace)),
            Command::Cancel(cancel) => client(self.gate.check_cancel(time, cancel)),
            Command::Nbbo(quote) => {
                self.gate.on_nbbo(quote);
                Verdict::Accepted
            }
            Command::Locate {
                client,
                symbol,
                shares,
                expires_s,
                ..
            } => {
                let expires_at = Timestamp::new(u64::from(*expires_s) * 1_000_000_000);
                if *expires_s != 0 && expires_at <= time {
                    return Verdict::Refused(ControlError::ExpiryPassed {
                        expires_at,
                        now: time,
                    });
                }
                match self.gate.add_locate(*client, *symbol, *shares) {
                    Ok(()) => Verdict::Accepted,
                    Err(error) => Verdict::Refused(error),
                }
            }
            Command::Admin(change) => match self.gate.apply_admin(time, change) {
                Ok(record) => Verdict::Admin(record),
                Err(error) => Verdict::Refused(error),
            },
            Command::EndOfDay { .. } => {
                self.gate.end_of_day();
                Verdict::Accepted
            }
            Command::VenueFill(_)
            | Command::VenueCancel(_)
            | Command::VenueChild(_)
            | Command::Settings(_)
            | Command::Snapshot => Verdict::Accepted,
        }
    }

    /// Passes on a decided command's outputs, then, for a control command from the
    /// admin port, its [`Output::Ack`]: after the command's own outputs (a kill switch's
    /// mass cancel, the end of day's input), so the operator hears once they are under
    /// way.
    fn pass_on(
        &mut self,
        sequence: SequenceNumber,
        time: Timestamp,
        command: &Command,
        verdict: Verdict,
        out: &mut impl FnMut(Output),
    ) {
        self.pass_on_effects(sequence, time, command, verdict, out);
        if let Some((operator, request)) = command.request() {
            let result = match verdict {
                Verdict::Refused(error) => error.code(),
                _ => 0,
            };
            out(Output::Ack {
                sequence,
                operator,
                request,
                result,
            });
        }
    }

    fn pass_on_effects(
        &mut self,
        sequence: SequenceNumber,
        time: Timestamp,
        command: &Command,
        verdict: Verdict,
        out: &mut impl FnMut(Output),
    ) {
        let to_matcher = |input| {
            Output::Matcher(Sequenced {
                sequence,
                time,
                input,
            })
        };
        match (verdict, command) {
            (Verdict::Rejected(reason), command) => {
                let (client, client_order_id) = match command {
                    Command::NewOrder(order) => (order.client, order.client_order_id),
                    Command::Replace(replace) => (replace.client, replace.client_order_id),
                    Command::Cancel(cancel) => (cancel.client, cancel.client_order_id),
                    _ => (ClientId::new(0), ClientOrderId::new(0)),
                };
                out(Output::Rejected {
                    sequence,
                    client,
                    client_order_id,
                    reason,
                });
            }
            (Verdict::Refused(error), _) => out(Output::Refused { sequence, error }),
            (Verdict::Admin(record), _) => {
                out(Output::Admin(record));
                self.effects(&record, time, out);
            }
            (Verdict::Accepted, command) => {
                if let Some(input) = command.input() {
                    out(to_matcher(input));
                }
            }
        }
    }
}
