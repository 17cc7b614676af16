//! The live counters the agents write: each agent's work and its input rings' depths,
//! each thread's longest duty cycle, what the matcher agent told clients (orders, fills
//! by source, rejects, replies) and what the egress's router did. Names are `<what>.<detail>`; `crossline stat` shows counters as rates,
//! gauges and maxima as they are.

use std::time::Instant;

use crossline_agent::Agent;
use crossline_counters::{Counter, Kind};
use crossline_ring::Monitor;

/// The matcher agent's order counters, then the egress's `venue.reports`, in file order
/// after the agents' and threads'.
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
    ("improvement.micros", Kind::Counter),
    ("venue.reports", Kind::Counter),
];

/// Upper bounds of the reply-latency histogram's buckets, nanoseconds (each bucket
/// counts the replies at most its bound and above the previous one); a last bucket,
/// `le_inf`, takes the rest.
pub const LATENCY_BOUNDS_NS: [u64; 16] = [
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    50_000,
    100_000,
    200_000,
    500_000,
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    100_000_000,
];

/// The counters-file label prefix of the reply-latency histogram: `<prefix>le_<ns>` per
/// bucket, `<prefix>le_inf`, and `<prefix>sum` (every latency added, nanoseconds).
pub const LATENCY_PREFIX: &str = "replies.latency_ns.";

/// The reply-latency histogram's labels, in the file's order.
pub(crate) fn latency_labels() -> Vec<String> {
    LATENCY_BOUNDS_NS
        .iter()
        .map(|bound| format!("{LATENCY_PREFIX}le_{bound}"))
        .chain([
            format!("{LATENCY_PREFIX}le_inf"),
            format!("{LATENCY_PREFIX}sum"),
        ])
        .collect()
}

/// The reply-latency histogram in the counters file: one counter per bucket and the sum,
/// written by the matcher agent alone (plain stores, no locks).
pub struct ReplyLatency {
    buckets: [Counter; LATENCY_BOUNDS_NS.len() + 1],
    sum: Counter,
}

impl ReplyLatency {
    /// Takes the histogram's counters, in [`latency_labels`] order.
    pub(crate) fn take(counters: &mut impl Iterator<Item = Counter>) -> Option<ReplyLatency> {
        let mut buckets = [(); LATENCY_BOUNDS_NS.len() + 1].map(|()| counters.next());
        if buckets.iter().any(Option::is_none) {
            return None;
        }
        Some(ReplyLatency {
            buckets: buckets
                .each_mut()
                .map(|bucket| bucket.take().expect("checked")),
            sum: counters.next()?,
        })
    }

    /// Counts one reply `ns` nanoseconds after its cause.
    #[inline]
    pub fn record(&self, ns: u64) {
        let index = LATENCY_BOUNDS_NS.partition_point(|&bound| bound < ns);
        self.buckets[index].add(1);
        self.sum.add(ns);
    }
}

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

    fn close_intake(&mut self) {
        self.agent.close_intake();
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

    fn close_intake(&mut self) {
        self.agent.close_intake();
    }

    fn on_close(&mut self) {
        self.agent.on_close();
    }
}

/// What the order ingress's sessions did (`crossline_gateway::SessionStats`), published
/// at each housekeeping round and at stop.
pub(crate) const SESSION_LABELS: [&str; 7] = [
    "sessions.logons",
    "sessions.logons_refused",
    "sessions.frames_refused",
    "sessions.disconnects",
    "sessions.resent",
    "sessions.pending_evicted",
    "sessions.connections_refused",
];

/// What the market-data ingress's feed did (`crossline_gateway::FeedStats`), published
/// every 10 ms (the housekeeping interval) and at stop.
pub(crate) const FEED_LABELS: [&str; 8] = [
    "feed.packets",
    "feed.messages",
    "feed.gaps",
    "feed.messages_lost",
    "feed.duplicates",
    "feed.malformed",
    "feed.unknown_symbols",
    "feed.status_changes",
];

/// The journal's `msync`s and what waited for them (`docs/JOURNAL.md`), and pushes past
/// a queue's bound (`crate::queue::overflows`): published by the order ingress (the first
/// three) and the egress (the last) at each housekeeping round.
pub(crate) const DURABILITY_LABELS: [&str; 4] = [
    "journal.msyncs",
    "replies.held_for_disk",
    "queues.overflows",
    "routes.held_for_disk",
];

/// What the egress's router did (`crossline_router::RouterStats`: the fees paid and
/// the rebates received apart, as each is a total that only grows), published at each
/// housekeeping round and at stop.
pub(crate) const ROUTER_LABELS: [&str; 12] = [
    "router.children_sent",
    "router.reroutes",
    "router.shares_filled",
    "router.cancelled_back",
    "router.children_rejected",
    "router.table_full",
    "router.timeouts",
    "router.venues_lost",
    "router.children_lost",
    "router.venue_errors",
    "router.fees_paid_micros",
    "router.rebates_micros",
];

/// Session rejects by reason (`SessionRejectReason`, codes 1 to 10, in code order), then
/// logon rejects by reason (`LogonRejectReason`, codes 1 to 5).
pub(crate) const SESSION_REASON_LABELS: [&str; 15] = [
    "sessions.rejected.not_logged_on",
    "sessions.rejected.already_logged_on",
    "sessions.rejected.sequence_gap",
    "sessions.rejected.unknown_type",
    "sessions.rejected.wrong_length",
    "sessions.rejected.bad_field",
    "sessions.rejected.reserved_flags",
    "sessions.rejected.framing",
    "sessions.rejected.resend_unavailable",
    "sessions.rejected.too_many_errors",
    "sessions.logon_refused.unknown_client",
    "sessions.logon_refused.bad_secret",
    "sessions.logon_refused.already_connected",
    "sessions.logon_refused.bad_heartbeat",
    "sessions.logon_refused.bad_sequence",
];

/// The session reject figures in [`SESSION_REASON_LABELS`] order.
pub(crate) fn session_reason_values(stats: &crossline_gateway::SessionStats) -> [u64; 15] {
    let mut values = [0; 15];
    let (rejects, logons) = values.split_at_mut(stats.rejects_by_reason.len());
    rejects.copy_from_slice(&stats.rejects_by_reason);
    logons.copy_from_slice(&stats.logons_refused_by_reason);
    values
}

/// A group of totals one agent owns and publishes as a whole (the component keeps the
/// figures; the counters file shows their latest values).
pub struct Published<const N: usize>([Counter; N]);

impl<const N: usize> Published<N> {
    /// Takes the next `N` counters of the file, in label order.
    pub(crate) fn take(counters: &mut impl Iterator<Item = Counter>) -> Option<Published<N>> {
        let taken: Vec<Counter> = counters.take(N).collect();
        taken.try_into().ok().map(Published)
    }

    /// Sets every counter to its figure.
    pub(crate) fn publish(&self, values: [u64; N]) {
        for (counter, value) in self.0.iter().zip(values) {
            counter.set(value);
        }
    }
}

/// The session figures in [`SESSION_LABELS`] order.
pub(crate) fn session_values(stats: &crossline_gateway::SessionStats) -> [u64; 7] {
    [
        stats.logons,
        stats.logons_refused,
        stats.frames_refused,
        stats.disconnects,
        stats.resent,
        stats.pending_evicted,
        stats.connections_refused,
    ]
}

/// The feed figures in [`FEED_LABELS`] order.
pub(crate) fn feed_values(stats: &crossline_gateway::FeedStats) -> [u64; 8] {
    [
        stats.packets,
        stats.messages,
        stats.gaps,
        stats.messages_lost,
        stats.duplicates,
        stats.malformed,
        stats.unknown_symbols,
        stats.status_changes,
    ]
}

/// The router figures in [`ROUTER_LABELS`] order.
pub(crate) fn router_values(stats: &crossline_router::RouterStats) -> [u64; 12] {
    [
        stats.children_sent,
        stats.reroutes,
        stats.shares_filled,
        stats.cancelled_back,
        stats.children_rejected,
        stats.table_full,
        stats.timeouts,
        stats.venues_lost,
        stats.children_lost,
        stats.venue_errors,
        stats.fees_paid_micros,
        stats.rebates_micros,
    ]
}

/// Each venue's state as the router sees it: `venue.<name>.up` (1 when logged on) and
/// `venue.<name>.children_open`, in `[[venues]]` order.
pub struct VenueGauges {
    venues: Vec<(u8, Counter, Counter)>,
}

impl VenueGauges {
    /// The labels for `venues` (id and name).
    pub(crate) fn labels(venues: &[(u8, String)]) -> Vec<(String, Kind)> {
        venues
            .iter()
            .flat_map(|(_, name)| {
                // A label is one word per part: a name's other characters become '_'.
                let name: String = name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                [
                    (format!("venue.{name}.up"), Kind::Gauge),
                    (format!("venue.{name}.children_open"), Kind::Gauge),
                ]
            })
            .collect()
    }

    /// Takes two counters per venue of `venues`, in [`VenueGauges::labels`] order.
    pub(crate) fn take(
        venues: &[(u8, String)],
        counters: &mut impl Iterator<Item = Counter>,
    ) -> Option<VenueGauges> {
        let mut taken = Vec::with_capacity(venues.len());
        for (id, _) in venues {
            taken.push((*id, counters.next()?, counters.next()?));
        }
        Some(VenueGauges { venues: taken })
    }

    /// Sets each venue's gauges from `router`.
    pub(crate) fn publish(&self, router: &crossline_router::Router) {
        for (id, up, open) in &self.venues {
            let is_up = router
                .venue_states()
                .any(|(venue, state)| venue == *id && state == crossline_router::VenueState::Up);
            up.set(u64::from(is_up));
            open.set(router.open_children_at(*id) as u64);
        }
    }
}
