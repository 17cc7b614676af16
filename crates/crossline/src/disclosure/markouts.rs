//! Markouts: where the NBBO midpoint goes after each execution of a client's order, in
//! the client's favour (positive: it went the way the client traded, so the client was
//! informed and whoever took the other side lost) or against it, share-weighted, per
//! client and per symbol; and a flow classification per client derived from them.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::tape::{Fill, Tape, HORIZONS_NS, HORIZON_NAMES};
use super::Period;

/// The markout horizons reported, as indexes into [`HORIZONS_NS`]: +100 ms, +1 s, +5 s,
/// +60 s.
pub const MARKOUT_HORIZONS: [usize; 4] = [1, 2, 3, 5];

/// The horizon the flow classification reads: +5 s (index into [`HORIZONS_NS`]).
pub const CLASSIFY_HORIZON: usize = 3;
/// Shares with a markout at [`CLASSIFY_HORIZON`] a client needs before it is classified.
pub const CLASSIFY_SHARES_MIN: u64 = 1_000;

/// The flow classes, the markout (bps, at [`CLASSIFY_HORIZON`]) that puts a client in
/// each, and the price-improvement multiplier each suggests: informed flow (the midpoint
/// follows its trades) gets half the improvement, uninformed flow half as much again.
pub const CLASSES: [FlowClass; 3] = [
    FlowClass {
        name: "informed",
        at_least_bps: 2.0,
        multiplier: 0.5,
    },
    FlowClass {
        name: "neutral",
        at_least_bps: -2.0,
        multiplier: 1.0,
    },
    FlowClass {
        name: "uninformed",
        at_least_bps: f64::NEG_INFINITY,
        multiplier: 1.5,
    },
];

/// One flow class (see [`CLASSES`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlowClass {
    /// Its name.
    pub name: &'static str,
    /// The lowest markout, bps, that falls in it (the classes are tried in order).
    pub at_least_bps: f64,
    /// The price-improvement multiplier it suggests.
    pub multiplier: f64,
}

/// Markout sums for one group of executions at one horizon.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Shares with a known midpoint at the execution and at the horizon.
    pub shares: u64,
    /// Σ shares × (twice the midpoint move in the client's favour), micro-dollars.
    pub move2: i128,
    /// Σ shares × twice the midpoint at the execution, micro-dollars.
    pub mid2: i128,
}

impl Sums {
    fn add(&mut self, fill: &Fill, buys: bool, horizon: usize) {
        let (at, after) = (fill.nbbo.mid2(), fill.mid2_after[horizon]);
        if at == 0 || after == 0 {
            return;
        }
        let shares = i128::from(fill.shares);
        let moved = i128::from(after - at);
        self.shares += u64::from(fill.shares);
        self.move2 += shares * if buys { moved } else { -moved };
        self.mid2 += shares * i128::from(at);
    }

    /// The share-weighted markout, dollars per share.
    #[must_use]
    pub fn per_share(&self) -> Option<f64> {
        (self.shares > 0).then(|| self.move2 as f64 / 2.0 / 1e6 / self.shares as f64)
    }

    /// The share-weighted markout, basis points of the midpoint at execution.
    #[must_use]
    pub fn bps(&self) -> Option<f64> {
        (self.mid2 > 0).then(|| self.move2 as f64 / self.mid2 as f64 * 1e4)
    }
}

/// Markouts per client and per symbol, at every horizon of [`HORIZONS_NS`].
#[derive(Debug, Default)]
pub struct Markouts {
    /// By client id.
    pub clients: BTreeMap<u32, [Sums; HORIZONS_NS.len()]>,
    /// By symbol name.
    pub symbols: BTreeMap<String, [Sums; HORIZONS_NS.len()]>,
    /// Executions in the period, and of those, how many have no midpoint at +60 s (the
    /// horizon passes the journal's end, or no usable quote then).
    pub fills: (u64, u64),
}

impl Markouts {
    /// The markouts of the executions in `period`.
    #[must_use]
    pub fn compute(tape: &Tape, period: &Period) -> Markouts {
        let mut markouts = Markouts::default();
        for fill in tape.fills.iter().filter(|f| period.contains(f.time_ns)) {
            let order = tape.order_of(fill);
            markouts.fills.0 += 1;
            markouts.fills.1 += u64::from(fill.mid2_after[5] == 0);
            let client = markouts.clients.entry(order.client).or_default();
            let symbol = markouts
                .symbols
                .entry(tape.symbol(order.symbol).to_owned())
                .or_default();
            for horizon in 0..HORIZONS_NS.len() {
                client[horizon].add(fill, order.buys(), horizon);
                symbol[horizon].add(fill, order.buys(), horizon);
            }
        }
        markouts
    }

    /// Each client's flow class from its markout at [`CLASSIFY_HORIZON`]: `None` for a
    /// client with fewer than [`CLASSIFY_SHARES_MIN`] shares measured there.
    #[must_use]
    pub fn classify(&self) -> Vec<(u32, Sums, Option<FlowClass>)> {
        self.clients
            .iter()
            .map(|(client, sums)| {
                let sums = sums[CLASSIFY_HORIZON];
                let class = (sums.shares >= CLASSIFY_SHARES_MIN)
                    .then(|| sums.bps())
                    .flatten()
                    .and_then(|bps| CLASSES.iter().find(|c| bps >= c.at_least_bps).copied());
                (*client, sums, class)
            })
            .collect()
    }

    /// The markouts as CSV: `scope,key,horizon,shares,markout_usd_per_share,markout_bps`
    /// (scope `client` or `symbol`), one line per group and markout horizon.
    #[must_use]
    pub fn csv(&self) -> String {
        let mut text = String::from("scope,key,horizon,shares,markout_usd_per_share,markout_bps\n");
        let groups = self
            .clients
            .iter()
            .map(|(client, sums)| ("client", client.to_string(), sums))
            .chain(
                self.symbols
                    .iter()
                    .map(|(symbol, sums)| ("symbol", symbol.clone(), sums)),
            );
        for (scope, key, sums) in groups {
            for horizon in MARKOUT_HORIZONS {
                let s = sums[horizon];
                let _ = writeln!(
                    text,
                    "{scope},{key},{},{},{},{}",
                    HORIZON_NAMES[horizon],
                    s.shares,
                    s.per_share().map_or(String::new(), |v| format!("{v:.6}")),
                    s.bps().map_or(String::new(), |v| format!("{v:.4}")),
                );
            }
        }
        text
    }

    /// The classification as CSV: `client,shares,markout_5s_bps,class,multiplier`.
    #[must_use]
    pub fn classification_csv(&self) -> String {
        let mut text = String::from("client,shares,markout_5s_bps,class,multiplier\n");
        for (client, sums, class) in self.classify() {
            let _ = writeln!(
                text,
                "{client},{},{},{},{:.2}",
                sums.shares,
                sums.bps().map_or(String::new(), |v| format!("{v:.4}")),
                class.map_or("unclassified", |c| c.name),
                class.map_or(1.0, |c| c.multiplier),
            );
        }
        text
    }
}
