//! A recorded feed as the market-data source (`[market_data] replay_file`): the file's
//! datagrams go through the same [`crate::Feed`] ingress as live ones (sequencing, gap
//! handling, NBBO commands journaled), either with the spacing they were recorded with
//! or as fast as the engine takes them. Record one with `crossline-venue --record`.
//!
//! A live feed on the UDP port is still taken: do not publish one while replaying, or
//! the two streams' sequence numbers will read as duplicates and gaps.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crossline_protocol::market_data::{FileError, FileReader};

/// How fast a recorded feed is replayed (`[market_data] replay_pace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayPace {
    /// Datagrams keep the spacing they were received with (`"recorded"`).
    Recorded,
    /// As fast as the engine takes them (`"fast"`).
    Fast,
}

/// Datagrams replayed in one poll at most (a fast replay must not starve sessions).
pub const DATAGRAMS_PER_POLL: usize = 64;

/// Why a recorded feed could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("recorded feed {path}: {error}")]
pub struct ReplayError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub error: String,
}

/// A recorded feed being replayed.
pub struct Replay {
    path: PathBuf,
    reader: FileReader<BufReader<File>>,
    pace: ReplayPace,
    /// The next datagram, read but not yet due: its recorded time and bytes.
    held: Option<u64>,
    datagram: Vec<u8>,
    /// The first datagram's recorded time, and the time replay started.
    origin: Option<(u64, u64)>,
    replayed: u64,
    finished: bool,
}

impl Replay {
    /// Opens the recorded feed at `path` to replay at `pace`.
    ///
    /// # Errors
    /// [`ReplayError`] when the file is missing or is not a recorded feed.
    pub fn open(path: &Path, pace: ReplayPace) -> Result<Replay, ReplayError> {
        let error = |error: String| ReplayError {
            path: path.to_owned(),
            error,
        };
        let file = File::open(path).map_err(|e| error(e.to_string()))?;
        let reader = FileReader::new(BufReader::new(file)).map_err(|e| error(e.to_string()))?;
        Ok(Replay {
            path: path.to_owned(),
            reader,
            pace,
            held: None,
            datagram: Vec::with_capacity(65_536),
            origin: None,
            replayed: 0,
            finished: false,
        })
    }

    /// Datagrams replayed so far.
    pub fn replayed(&self) -> u64 {
        self.replayed
    }

    /// Whether the whole file has been replayed (or replay stopped on a damaged record).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// The next datagram due at `now_ns`, if any.
    pub fn next_due(&mut self, now_ns: u64) -> Option<&[u8]> {
        if self.finished {
            return None;
        }
        let recorded = match self.held {
            Some(recorded) => recorded,
            None => match self.reader.next_datagram() {
                Ok(Some((recorded, bytes))) => {
                    self.datagram.clear();
                    self.datagram.extend_from_slice(bytes);
                    self.held = Some(recorded);
                    recorded
                }
                Ok(None) => return self.finish(None),
                Err(error) => return self.finish(Some(error)),
            },
        };
        let (first, start) = *self.origin.get_or_insert((recorded, now_ns));
        let due = start.saturating_add(recorded.saturating_sub(first));
        if self.pace == ReplayPace::Recorded && now_ns < due {
            return None;
        }
        self.held = None;
        self.replayed += 1;
        Some(&self.datagram)
    }

    fn finish(&mut self, error: Option<FileError>) -> Option<&[u8]> {
        self.finished = true;
        match error {
            None => eprintln!(
                "crossline: market data: replay of {} finished: {} datagrams",
                self.path.display(),
                self.replayed
            ),
            Some(error) => eprintln!(
                "crossline: market data: replay of {} stopped after {} datagrams: {error}",
                self.path.display(),
                self.replayed
            ),
        }
        None
    }
}
