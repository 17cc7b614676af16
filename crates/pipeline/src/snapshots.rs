//! Snapshots of the running engine (`[journal] snapshot_every`).
//!
//! The sequencer agent makes a `Snapshot` command every `snapshot_every` commands; its
//! sequence number is the cut, and three agents each hand over their part of the state
//! at that cut as the command passes them, without waiting for one another:
//! - the **sequencer**, its gate right after deciding the command, then the matcher
//!   events it takes off the events-back ring up to and including the matcher's
//!   `Event::Snapshot` for the cut (the events the gate had not applied at the cut);
//! - the **matcher**, its state when the snapshot's input reaches it (every input before
//!   it applied); the matcher agent then puts a [`crate::Reply::cut`] marker on the
//!   `replies` ring to the order ingress, behind every reply the commands up to the cut
//!   caused;
//! - the **order ingress**, every client's kept replies and their numbering when the
//!   marker reaches it.
//!
//! A writer thread assembles the parts and writes the file (`snapshot::write`: a
//! temporary name, `fsync`, rename), off the hot path, then keeps the newest
//! [`SNAPSHOTS_KEPT`] files. The bytes are those the one-thread engine writes at the same
//! cut of the same journal, so recovery reads either the same way.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::Instant;

use crossline_engine::snapshot::{self, Parts};
use crossline_types::Message;

/// Snapshot files the running engine keeps; older ones are removed once a newer one is
/// written.
pub const SNAPSHOTS_KEPT: usize = 2;

/// One agent's part of a snapshot.
pub enum Piece {
    /// The sequencer's: its state at the cut, and the events in flight.
    Sequencer {
        /// The cut.
        cut: u64,
        /// `postcard` of the sequencer's state.
        state: Vec<u8>,
        /// The matcher events the gate had not applied at the cut.
        pending: Vec<Message>,
    },
    /// The matcher's state at the cut.
    Matcher {
        /// The cut.
        cut: u64,
        /// `postcard` of the matcher.
        state: Vec<u8>,
    },
    /// The order ingress's kept replies at the cut (`Sessions::export_replies`).
    Replies {
        /// The cut.
        cut: u64,
        /// The replies part.
        replies: Vec<u8>,
    },
    /// An agent could not produce its part: the snapshot at this cut is abandoned.
    Failed {
        /// The cut.
        cut: u64,
        /// Why.
        why: String,
    },
}

impl Piece {
    fn cut(&self) -> u64 {
        match self {
            Piece::Sequencer { cut, .. }
            | Piece::Matcher { cut, .. }
            | Piece::Replies { cut, .. }
            | Piece::Failed { cut, .. } => *cut,
        }
    }
}

/// What the three agents hand over for one cut, so far.
#[derive(Default)]
struct Assembly {
    sequencer: Option<(Vec<u8>, Vec<Message>)>,
    matcher: Option<Vec<u8>>,
    replies: Option<Vec<u8>>,
}

/// The writer thread: takes pieces until every sender is gone.
pub struct SnapshotWriter {
    thread: JoinHandle<WriterReport>,
}

/// What the writer did, for the pipeline's stop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterReport {
    /// Snapshots written, by cut.
    pub written: Vec<u64>,
    /// Snapshots abandoned, with why.
    pub failed: Vec<String>,
}

impl SnapshotWriter {
    /// Starts the writer for snapshots into `dir` carrying `config_hash`; the sender is
    /// cloned to each agent that hands over a piece.
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn start(
        dir: PathBuf,
        config_hash: u64,
    ) -> std::io::Result<(SnapshotWriter, Sender<Piece>)> {
        let (sender, pieces) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cx-snapshots".to_owned())
            .spawn(move || write_all(&dir, config_hash, &pieces))?;
        Ok((SnapshotWriter { thread }, sender))
    }

    /// Waits for the writer to finish (every sender dropped: the agents stopped).
    #[must_use]
    pub fn join(self) -> WriterReport {
        self.thread.join().unwrap_or_else(|_| WriterReport {
            written: Vec::new(),
            failed: vec!["the snapshot writer panicked".to_owned()],
        })
    }
}

fn write_all(dir: &std::path::Path, config_hash: u64, pieces: &Receiver<Piece>) -> WriterReport {
    let mut report = WriterReport::default();
    // Cuts in progress: at most a few, since the sequencer starts none while one is open.
    let mut open: Vec<(u64, Assembly)> = Vec::new();
    while let Ok(piece) = pieces.recv() {
        let cut = piece.cut();
        let index = match open.iter().position(|(c, _)| *c == cut) {
            Some(index) => index,
            None => {
                open.push((cut, Assembly::default()));
                open.len() - 1
            }
        };
        let assembly = &mut open[index].1;
        match piece {
            Piece::Sequencer { state, pending, .. } => assembly.sequencer = Some((state, pending)),
            Piece::Matcher { state, .. } => assembly.matcher = Some(state),
            Piece::Replies { replies, .. } => assembly.replies = Some(replies),
            Piece::Failed { why, .. } => {
                eprintln!("crossline: snapshot at {cut} abandoned: {why}");
                report.failed.push(format!("{cut}: {why}"));
                open.remove(index);
                continue;
            }
        }
        if !(assembly.sequencer.is_some()
            && assembly.matcher.is_some()
            && assembly.replies.is_some())
        {
            continue;
        }
        let (_, assembly) = open.remove(index);
        let (Some((sequencer, pending)), Some(matcher), Some(replies)) =
            (assembly.sequencer, assembly.matcher, assembly.replies)
        else {
            continue;
        };
        let started = Instant::now();
        let parts = Parts {
            sequencer,
            pending: snapshot::encode_events(&pending),
            matcher,
            replies,
        };
        let written = snapshot::write(dir, cut, config_hash, &parts)
            .map_err(|e| e.to_string())
            .map(|path| (path, parts.bytes()));
        match written {
            Ok((path, bytes)) => {
                if let Err(e) = snapshot::prune(dir, SNAPSHOTS_KEPT) {
                    eprintln!(
                        "crossline: removing old snapshots in {}: {e}",
                        dir.display()
                    );
                }
                eprintln!(
                    "crossline: snapshot at {cut} written ({} KiB, {} ms): {}",
                    bytes / 1024,
                    started.elapsed().as_millis(),
                    path.display()
                );
                report.written.push(cut);
            }
            Err(why) => {
                eprintln!("crossline: snapshot at {cut} not written: {why}");
                report.failed.push(format!("{cut}: {why}"));
            }
        }
    }
    report
}
