//! Crossline's engine core: the risk gate (as sequencer) and the matcher over the
//! memory-mapped journal, with crash recovery, snapshots and deterministic replay
//! ([`recovery::open`], [`Engine`]). The `crossline` crate holds the tools over it (the
//! replay tool's summaries, the audit trail, the generated load of the crash harness).

pub mod codec;
mod engine;
pub mod recovery;
pub mod snapshot;

pub use engine::{Engine, EngineError, Observer};
