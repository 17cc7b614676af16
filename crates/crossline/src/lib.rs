//! The `crossline` command's parts: the demo (the engine with the venue simulator and
//! simulated clients), `stat` (live counters from another process), `metrics` (the same
//! counters for Prometheus), `admin` (the operator's client), and the client the demo,
//! the end-to-end benchmark and the tests speak.

pub mod admin;
pub mod admin_cli;
pub mod client;
pub mod demo;
pub mod disclosure;
pub mod fix_client;
pub mod flow;
pub mod load;
pub mod metrics;
pub mod report;
pub mod run;
pub mod stat;
