//! Agents, idle strategies and the runner that gives them threads and cores.
//!
//! Guarantee: an agent's duty cycle runs on exactly one thread, with no lock and no
//! allocation in the runner's loop; the runner touches the clock and the OS only at start
//! (pinning) and at stop (drain deadline, join).
//!
//! Every component of the engine is an [`Agent`]: a struct whose [`Agent::do_work`] does a
//! bounded amount of work and says how much. A [`Runner`] starts each agent on its own
//! thread, pinned to a configured core, or several on one thread through a [`Composite`],
//! so the same pipeline runs on a two-core laptop and on a host with a core per agent.
//!
//! ```
//! use crossline_agent::{Agent, Cores, Idle, Runner, ThreadSpec};
//!
//! struct Counter { count: u64, limit: u64 }
//! impl Agent for Counter {
//!     fn role_name(&self) -> &str { "counter" }
//!     fn do_work(&mut self) -> usize {
//!         if self.count == self.limit { return 0; }
//!         self.count += 1;
//!         1
//!     }
//! }
//!
//! let cores = Cores::detect();
//! let spec = ThreadSpec::new("worker", Box::new(Counter { count: 0, limit: 1000 }))
//!     .idle(Idle::Yield);
//! let runner = Runner::start(&cores, vec![spec]).unwrap();
//! let reports = runner.stop().unwrap();
//! assert!(reports[0].drained);
//! ```
#![forbid(unsafe_code)]

mod composite;
mod cores;
mod idle;
mod runner;

pub use composite::Composite;
pub use cores::{current_cpu, Cores};
pub use idle::{BackOff, BusySpin, Idle, IdleStrategy, UnknownIdleStrategy, Yield};
pub use runner::{Runner, RunnerError, ThreadReport, ThreadSpec};

/// A unit of work with a duty cycle, run by one thread at a time.
///
/// The runner's loop is `while running { idle.idle(agent.do_work()) }`: `do_work` must do a
/// bounded amount of work (drain at most a fixed batch from its rings) and return how much
/// it did, so that the idle strategy can spin while there is work and back off when there
/// is none.
pub trait Agent: Send {
    /// A short name for logs, counters and thread names.
    fn role_name(&self) -> &str;

    /// Called once on the agent's own thread, after pinning, before the first duty cycle.
    fn on_start(&mut self) {}

    /// Does one bounded batch of work and returns how many units it did (0: none waiting).
    fn do_work(&mut self) -> usize;

    /// Whether the agent holds work it could not finish for lack of room downstream (an
    /// output waiting for ring space). At shutdown the runner keeps running duty cycles
    /// until the agent finds no work *and* has none pending, so nothing in flight is lost.
    fn has_pending_work(&self) -> bool {
        false
    }

    /// Called once when the runner begins to stop: from now on the agent takes no new
    /// input from outside the process (an ingress stops reading its sockets), and its
    /// `do_work` counts only what it must still finish (messages in its rings, outputs
    /// waiting for room), so that the whole pipeline reaches rest while the outside world
    /// keeps sending. Agents fed only by rings need nothing here.
    fn close_intake(&mut self) {}

    /// Called once on the agent's own thread after its last duty cycle.
    fn on_close(&mut self) {}
}

impl Agent for Box<dyn Agent> {
    fn role_name(&self) -> &str {
        (**self).role_name()
    }

    fn on_start(&mut self) {
        (**self).on_start();
    }

    fn do_work(&mut self) -> usize {
        (**self).do_work()
    }

    fn has_pending_work(&self) -> bool {
        (**self).has_pending_work()
    }

    fn close_intake(&mut self) {
        (**self).close_intake();
    }

    fn on_close(&mut self) {
        (**self).on_close();
    }
}
