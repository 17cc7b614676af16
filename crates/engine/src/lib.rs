//! Crossline's engine core: the risk gate (as sequencer) and the matcher over the
//! memory-mapped journal, with crash recovery, snapshots and deterministic replay
//! ([`recovery::open`], [`Engine`]), the replay tool's summaries and the CAT-style audit
//! trail ([`report`]). The `crossline` binary is the command line over it.

pub mod codec;
mod engine;
pub mod load;
pub mod recovery;
pub mod report;
pub mod snapshot;

pub use engine::{Engine, EngineError, Observer};
