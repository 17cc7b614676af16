//! The live counters the agents write: each agent's work and its input rings' depths,
//! each thread's longest duty cycle, and what the egress saw (orders, fills by source,
//! rejects). Names are `<what>.<detail>`; `crossline stat` shows counters as rates,
//! gauges and maxima as they are.

use std::time::Instant;

use crossline_agent::Agent;
use crossline_counters::{Counter, Kind};
use crossline_ring::Monitor;

/// The counters the egress keeps, in file order after the agents' and threads'.
pub(crate) const EGRESS_LABELS: [(&str, Kind); 12] = [
    ("orders.accepted", Kind::Counter),
    ("orders.rejected_by_risk", Kind::Counter),
    ("orders.rejected_by_matcher", Kind::Counter),
    ("orders.cancelled", Kind::Counter),
    ("fills.crossed_shares", Kind::Counter),
    ("fills.principal_shares", Kind::Counter),
    ("fills.venue_shares", Kind::Counter),
    ("fills.executions", Kind::Counter),
    ("routes.shares", Kind::Counter),
    ("replies.sent", Kind::Counter),
    ("venue.reports", Kind::Counter),
    ("improvement.micros", Kind::Counter),
];

/// A ring's depth, read from the consumer's side without touching the hot lines.
pub(crate) trait Depth: Send {
    fn depth(&self) -> u64;
}

impl<T: Copy + Send> Depth for Monitor<T> {
    fn depth(&self) -> u64 {
        Monitor::depth(self)
    }
}

/// Duty cycles between samples of the input rings' depths.
const SAMPLE_EVERY: u32 = 1024;

/// An agent with its work counter and the depth gauges of the rings it drains.
pub(crate) struct Metered<A> {
    pub(crate) agent: A,
    pub(crate) work: Counter,
    pub(crate) depths: Vec<(Box<dyn Depth>, Counter)>,
    pub(crate) cycles: u32,
}

impl<A: Agent> Agent for Metered<A> {
    fn role_name(&self) -> &str {
        self.agent.role_name()
    }

    fn on_start(&mut self) {
        self.agent.on_start();
    }

    fn do_work(&mut self) -> usize {
        let work = self.agent.do_work();
        if work > 0 {
            self.work.add(work as u64);
        }
        self.cycles = self.cycles.wrapping_add(1);
        if self.cycles % SAMPLE_EVERY == 0 {
            for (ring, gauge) in &self.depths {
                gauge.set(ring.depth());
            }
        }
        work
    }

    fn has_pending_work(&self) -> bool {
        self.agent.has_pending_work()
    }

    fn on_close(&mut self) {
        for (ring, gauge) in &self.depths {
            gauge.set(ring.depth());
        }
        self.agent.on_close();
    }
}

/// A thread's agent with its longest duty cycle that did work, in nanoseconds. One clock
/// read before each cycle and one after a cycle that found work.
pub(crate) struct Timed<A> {
    pub(crate) agent: A,
    pub(crate) duty_max_ns: Counter,
}

impl<A: Agent> Agent for Timed<A> {
    fn role_name(&self) -> &str {
        self.agent.role_name()
    }

    fn on_start(&mut self) {
        self.agent.on_start();
    }

    fn do_work(&mut self) -> usize {
        let start = Instant::now();
        let work = self.agent.do_work();
        if work > 0 {
            let elapsed = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.duty_max_ns.raise(elapsed);
        }
        work
    }

    fn has_pending_work(&self) -> bool {
        self.agent.has_pending_work()
    }

    fn on_close(&mut self) {
        self.agent.on_close();
    }
}
