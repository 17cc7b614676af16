//! The engine core on one thread: the sequencer (risk gate) and the matcher, with the
//! matcher's events fed straight back to the gate, over a journal. The same core
//! replays a journal, and takes snapshots at the cut a `Snapshot` command makes.

use std::path::PathBuf;

use crossline_config::Config;
use crossline_matcher::{Event, Input, Matcher};
use crossline_risk::RiskGate;
use crossline_sequencer::{
    Command, Journal, JournalFailure, Output, Record, Recorded, ReplayError, Sequenced, Sequencer,
    SequencerState, Stamped,
};
use crossline_types::{Message, SequenceNumber};

use crate::snapshot::{self, Parts, Snapshot};

/// Why the engine stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The journal could not be opened or read.
    #[error(transparent)]
    Journal(#[from] crossline_journal::JournalError),
    /// The journal could not take a record: the engine must stop.
    #[error(transparent)]
    Append(#[from] JournalFailure),
    /// A journal record does not decode.
    #[error(transparent)]
    Codec(#[from] crate::codec::CodecError),
    /// Replay decided a record differently, or records are missing.
    #[error("replay: {0}")]
    Replay(#[from] ReplayError),
    /// The configuration is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The journal was started with a configuration that differs in what replay depends
    /// on.
    #[error("journal {dir} was started with a different configuration: this one changes {part} (first difference at line {line} of the text the journal keeps, secrets left out); replay decides every record with the journal's, so change these on a new journal directory (a new trading day). Operational settings ([journal], [network], [pipeline], [router], [simulator], secrets) may change on restart")]
    ConfigMismatch {
        /// The journal directory.
        dir: PathBuf,
        /// What differs.
        part: &'static str,
        /// The first line that differs.
        line: usize,
    },
    /// The journal holds no configuration record.
    #[error("journal {dir} does not start with a configuration record: {what}")]
    NoConfig {
        /// The journal directory.
        dir: PathBuf,
        /// What was found instead.
        what: String,
    },
    /// A snapshot could not be written or read back.
    #[error("snapshot: {0}")]
    Snapshot(String),
}

/// What a run or a replay reports as it goes. Every method does nothing by default.
pub trait Observer {
    /// A command record was decided (live) or replayed.
    fn record(&mut self, _record: &Record) {}
    /// The sequencer passed this on.
    fn output(&mut self, _output: &Output) {}
    /// The matcher emitted `event` applying `input`.
    fn event(&mut self, _input: &Sequenced, _event: &Event) {}
    /// A snapshot cut was reached, with the state hash there.
    fn cut(&mut self, _cut: u64, _state_hash: u64) {}
    /// A live snapshot at `cut` is being written: the replies part to put in it (every
    /// client's kept replies after the commands up to the cut; empty for none).
    fn replies_at_cut(&mut self, _cut: u64) -> Vec<u8> {
        Vec::new()
    }
    /// Recovery loaded `snapshot` and is about to replay the records after its cut.
    fn snapshot_loaded(&mut self, _snapshot: &Snapshot) {}
}

impl Observer for () {}

/// An optional observer: `None` observes nothing.
impl<O: Observer> Observer for Option<O> {
    fn record(&mut self, record: &Record) {
        if let Some(observer) = self {
            observer.record(record);
        }
    }
    fn output(&mut self, output: &Output) {
        if let Some(observer) = self {
            observer.output(output);
        }
    }
    fn event(&mut self, input: &Sequenced, event: &Event) {
        if let Some(observer) = self {
            observer.event(input, event);
        }
    }
    fn cut(&mut self, cut: u64, state_hash: u64) {
        if let Some(observer) = self {
            observer.cut(cut, state_hash);
        }
    }
    fn replies_at_cut(&mut self, cut: u64) -> Vec<u8> {
        self.as_mut()
            .map_or_else(Vec::new, |observer| observer.replies_at_cut(cut))
    }
    fn snapshot_loaded(&mut self, snapshot: &Snapshot) {
        if let Some(observer) = self {
            observer.snapshot_loaded(snapshot);
        }
    }
}

/// A snapshot being assembled: the gate's part is taken when the Snapshot command is
/// decided, the matcher's when its input reaches the matcher, and the in-flight events
/// are collected up to the matcher's `Event::Snapshot`.
struct Cut {
    cut: u64,
    sequencer: Vec<u8>,
    pending: Vec<Message>,
    matcher: Vec<u8>,
}

/// The engine core. See the module documentation.
pub struct Engine<J> {
    sequencer: Sequencer<J>,
    matcher: Matcher,
    outputs: Vec<Output>,
    events: Vec<Event>,
    cut: Option<Cut>,
    /// Where live snapshots go, and the configuration's hash they carry.
    snapshots: Option<(PathBuf, u64)>,
}

fn serialize<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EngineError> {
    snapshot::encode_part(value).map_err(EngineError::Snapshot)
}

impl<J: Journal> Engine<J> {
    /// A fresh engine on `config`, whose first command gets sequence number 1.
    ///
    /// # Errors
    /// [`EngineError::Config`] when the gate or the matcher refuses the configuration.
    pub fn new(config: &Config, journal: J) -> Result<Engine<J>, EngineError> {
        let gate = RiskGate::new(&config.risk).map_err(|e| EngineError::Config(e.to_string()))?;
        let matcher =
            Matcher::new(&config.matcher).map_err(|e| EngineError::Config(e.to_string()))?;
        Ok(Engine::assemble(
            Sequencer::new(gate, journal, SequenceNumber::new(1)),
            matcher,
        ))
    }

    /// An engine restored from a snapshot, ready to replay the records after its cut.
    ///
    /// # Errors
    /// [`EngineError::Snapshot`] when a part does not decode.
    pub fn from_snapshot(snapshot: &Snapshot, journal: J) -> Result<Engine<J>, EngineError> {
        let fail = |what: &str, e: String| {
            EngineError::Snapshot(format!("{}: {what}: {e}", snapshot.path.display()))
        };
        let state: SequencerState = snapshot::decode_part(&snapshot.parts.sequencer)
            .map_err(|e| fail("sequencer part", e))?;
        let pending =
            snapshot::decode_events(&snapshot.parts.pending).map_err(|e| fail("events part", e))?;
        let matcher: Matcher =
            snapshot::decode_part(&snapshot.parts.matcher).map_err(|e| fail("matcher part", e))?;
        Ok(Engine::assemble(
            Sequencer::restore(state, pending, journal),
            matcher,
        ))
    }

    fn assemble(sequencer: Sequencer<J>, matcher: Matcher) -> Engine<J> {
        Engine {
            sequencer,
            matcher,
            outputs: Vec::with_capacity(64),
            events: Vec::with_capacity(256),
            cut: None,
            snapshots: None,
        }
    }

    /// Writes a snapshot file into `dir` at every `Snapshot` command from now on.
    pub fn write_snapshots(&mut self, dir: PathBuf, config_hash: u64) {
        self.snapshots = Some((dir, config_hash));
    }

    /// The sequencer (and through it the gate).
    #[must_use]
    pub fn sequencer(&self) -> &Sequencer<J> {
        &self.sequencer
    }

    /// The matcher.
    #[must_use]
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Splits the engine into its sequencer (with the journal) and its matcher, to run
    /// them as separate agents joined by rings. Live snapshots are the one-thread
    /// engine's: the split parts take none.
    #[must_use]
    pub fn into_parts(self) -> (Sequencer<J>, Matcher) {
        (self.sequencer, self.matcher)
    }

    /// Sequences, decides, journals and applies one command.
    ///
    /// # Errors
    /// [`EngineError::Append`] when the journal fails (nothing of the command took
    /// effect downstream; the engine must stop); [`EngineError::Snapshot`].
    pub fn submit(
        &mut self,
        stamped: &Stamped,
        observer: &mut impl Observer,
    ) -> Result<(), EngineError> {
        let snapshot = matches!(stamped.command, Command::Snapshot);
        self.step(snapshot, true, observer, |sequencer, outputs| {
            let result = sequencer.submit(stamped, &mut |output| outputs.push(output));
            result.map(|_| None).map_err(EngineError::from)
        })
    }

    /// Replays one journal record (nothing is journaled).
    ///
    /// # Errors
    /// [`EngineError::Replay`] when the record is out of sequence or decided differently.
    pub fn replay(
        &mut self,
        record: &Recorded,
        observer: &mut impl Observer,
    ) -> Result<(), EngineError> {
        let snapshot = matches!(record.command, Command::Snapshot);
        self.step(snapshot, false, observer, |sequencer, outputs| {
            let verdict = sequencer.replay(record, &mut |output| outputs.push(output))?;
            Ok(Some(Record {
                sequence: record.sequence,
                time: record.time,
                command: record.command,
                verdict,
                events_applied: record.events_applied,
            }))
        })
    }

    /// One command through the sequencer (`decide`: live or replayed; a replay answers
    /// the record with its full verdict, for the observer), then its outputs through the
    /// matcher. A `Snapshot` command starts a cut right after it is decided.
    fn step(
        &mut self,
        snapshot: bool,
        live: bool,
        observer: &mut impl Observer,
        decide: impl FnOnce(&mut Sequencer<J>, &mut Vec<Output>) -> Result<Option<Record>, EngineError>,
    ) -> Result<(), EngineError> {
        let mut outputs = std::mem::take(&mut self.outputs);
        outputs.clear();
        let result = decide(&mut self.sequencer, &mut outputs)
            .map(|record| {
                if let Some(record) = record {
                    observer.record(&record);
                }
            })
            .and_then(|()| if snapshot { self.begin_cut() } else { Ok(()) })
            .and_then(|()| self.dispatch(&outputs, live, observer));
        self.outputs = outputs;
        result
    }

    /// After the last replayed record: applies the events the live gate went on to apply.
    pub fn finish_replay(&mut self) {
        self.sequencer.finish_replay();
    }

    /// A hash of the whole state (gate, counters, events not yet applied, matcher): equal
    /// for two engines exactly when their states are.
    ///
    /// # Errors
    /// [`EngineError::Snapshot`] if serializing fails.
    pub fn state_hash(&self) -> Result<u64, EngineError> {
        Ok(Parts {
            sequencer: serialize(&self.sequencer.state())?,
            pending: snapshot::encode_events(self.sequencer.queued_events()),
            matcher: serialize(&self.matcher)?,
            replies: Vec::new(),
        }
        .hash())
    }

    fn begin_cut(&mut self) -> Result<(), EngineError> {
        self.cut = Some(Cut {
            cut: self.sequencer.next_sequence().get() - 1,
            sequencer: serialize(&self.sequencer.state())?,
            pending: self.sequencer.queued_events().copied().collect(),
            matcher: Vec::new(),
        });
        Ok(())
    }

    fn dispatch(
        &mut self,
        outputs: &[Output],
        live: bool,
        observer: &mut impl Observer,
    ) -> Result<(), EngineError> {
        for output in outputs {
            observer.output(output);
            let Output::Matcher(sequenced) = output else {
                continue;
            };
            if sequenced.input == Input::Snapshot {
                if let Some(cut) = &mut self.cut {
                    cut.matcher = serialize(&self.matcher)?;
                }
            }
            let events = &mut self.events;
            events.clear();
            self.matcher.apply(
                sequenced.sequence,
                sequenced.time,
                &sequenced.input,
                &mut |event| {
                    events.push(event);
                },
            );
            for index in 0..self.events.len() {
                let event = self.events[index];
                observer.event(sequenced, &event);
                // As the pipeline's matcher agent hands back only these.
                let Some(back) = event.to_back_message(sequenced.sequence, sequenced.time) else {
                    continue;
                };
                if let Some(cut) = &mut self.cut {
                    cut.pending.push(back);
                }
                if live {
                    self.sequencer.on_event(&back);
                } else {
                    self.sequencer.replay_event(&back);
                }
                let cut = self.cut.as_ref().map(|c| c.cut);
                if matches!(event, Event::Snapshot { sequence } if Some(sequence.get()) == cut) {
                    self.finish_cut(live, observer)?;
                }
            }
        }
        Ok(())
    }

    fn finish_cut(&mut self, live: bool, observer: &mut impl Observer) -> Result<(), EngineError> {
        let Some(cut) = self.cut.take() else {
            return Ok(());
        };
        let mut parts = Parts {
            sequencer: cut.sequencer,
            pending: snapshot::encode_events(&cut.pending),
            matcher: cut.matcher,
            replies: Vec::new(),
        };
        observer.cut(cut.cut, parts.hash());
        if live {
            if let Some((dir, config_hash)) = &self.snapshots {
                parts.replies = observer.replies_at_cut(cut.cut);
                snapshot::write(dir, cut.cut, *config_hash, &parts).map_err(|e| {
                    EngineError::Snapshot(format!("writing snapshot {}: {e}", cut.cut))
                })?;
            }
        }
        Ok(())
    }
}
