//! The facts every disclosure report is computed from, gathered by replaying journals:
//! each covered client order as it was received (its terms and the NBBO then), each
//! execution of it (where, when, at what price, and the midpoint at fixed horizons
//! after it), and what was cancelled.
//!
//! Everything here comes from the journal's records and the matcher's events as a replay
//! reproduces them; nothing reads a clock.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};

use crossline_config::Config;
use crossline_engine::{recovery, Engine, EngineError, Observer};
use crossline_matcher::{Contra, Event, Input};
use crossline_sequencer::{Command, NoJournal, Record, Sequenced, Verdict};
use crossline_types::{OrderType, Side, TimeInForce};

/// The horizons after an execution at which the midpoint is taken, nanoseconds: Rule
/// 605's realized spread's (50 ms, 1 s, 15 s, 1 min, 5 min) and the markouts' (100 ms,
/// 1 s, 5 s, 60 s). One table, documented in `docs/REPORTS.md`.
pub const HORIZONS_NS: [u64; 7] = [
    50_000_000,
    100_000_000,
    1_000_000_000,
    5_000_000_000,
    15_000_000_000,
    60_000_000_000,
    300_000_000_000,
];

/// The horizons' names, in [`HORIZONS_NS`]'s order.
pub const HORIZON_NAMES: [&str; 7] = ["50ms", "100ms", "1s", "5s", "15s", "60s", "5min"];

/// Where an execution happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Place {
    /// Crossed against another client's order in house.
    Cross,
    /// Filled from the firm's inventory (principal).
    Firm,
    /// At an external venue: an index into [`Tape::venues`].
    Venue(u16),
}

impl Place {
    /// Whether the market center (this engine) executed it.
    #[must_use]
    pub fn in_house(self) -> bool {
        !matches!(self, Place::Venue(_))
    }
}

/// A quote as the reports use it: prices in micro-dollars (0: no price on that side).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quote {
    /// National best bid.
    pub bid: i64,
    /// National best offer.
    pub ask: i64,
    /// Shares displayed at the bid.
    pub bid_size: u32,
    /// Shares displayed at the offer.
    pub ask_size: u32,
}

impl Quote {
    /// Whether both sides have a price and the offer is above the bid.
    #[must_use]
    pub fn usable(&self) -> bool {
        self.bid > 0 && self.ask > self.bid
    }

    /// Twice the midpoint (bid + ask), micro-dollars; 0 when the quote is not usable.
    #[must_use]
    pub fn mid2(&self) -> i64 {
        if self.usable() {
            self.bid + self.ask
        } else {
            0
        }
    }
}

/// A covered order: a client's new order the engine accepted.
#[derive(Debug, Clone, Copy)]
pub struct Order {
    /// Which journal of the tape it came from (an index into [`Tape::journals`]).
    pub journal: u16,
    /// Its engine id.
    pub order_id: u64,
    /// The client.
    pub client: u32,
    /// The symbol: an index into [`Tape::symbols`].
    pub symbol: u32,
    /// Buy, sell or short sale.
    pub side: Side,
    /// Market or limit.
    pub order_type: OrderType,
    /// Its time in force.
    pub time_in_force: TimeInForce,
    /// Limit price, micro-dollars (0 for a market order).
    pub limit: i64,
    /// Shares ordered.
    pub quantity: u32,
    /// When it was received, ns since the epoch (the ingress's stamp).
    pub received_ns: u64,
    /// The NBBO when it was received.
    pub nbbo: Quote,
    /// Shares cancelled (by the client, a kill switch, the end of the day, or an IOC's
    /// unfilled rest).
    pub cancelled: u32,
    /// Whether the client changed its price or size after receipt.
    pub replaced: bool,
    /// Shares executed.
    pub filled: u32,
    /// When it became executable, ns since the epoch: at receipt for a market order and
    /// a limit order priced at or better than the NBBO midpoint; for another limit
    /// order, when the NBBO first reached its limit (or it first executed); 0: never.
    pub executable_ns: u64,
    /// Shares the matcher sent out to be routed to venues.
    pub routed: u32,
    /// Of those, shares the router gave back unexecuted (`VenueCancel`).
    pub returned: u32,
}

impl Order {
    /// Whether a buy.
    #[must_use]
    pub fn buys(&self) -> bool {
        self.side.is_buy()
    }

    /// Whether its limit reaches `quote`'s far side (a buy at or above the offer, a sell
    /// at or below the bid); a market order always does.
    #[must_use]
    pub fn marketable_against(&self, quote: &Quote) -> bool {
        match self.order_type {
            OrderType::Market => true,
            OrderType::Limit if self.buys() => quote.ask > 0 && self.limit >= quote.ask,
            OrderType::Limit => quote.bid > 0 && self.limit <= quote.bid,
        }
    }

    /// Whether a limit order not marketable at receipt was priced at or better than the
    /// NBBO midpoint then (Rule 605's midpoint-or-better limit order).
    #[must_use]
    pub fn midpoint_or_better(&self) -> bool {
        let mid2 = self.nbbo.mid2();
        self.order_type == OrderType::Limit
            && !self.marketable_against(&self.nbbo)
            && mid2 > 0
            && if self.buys() {
                2 * self.limit >= mid2
            } else {
                2 * self.limit <= mid2
            }
    }

    /// Whether it is over: every share executed or cancelled.
    #[must_use]
    pub fn done(&self) -> bool {
        self.filled + self.cancelled >= self.quantity
    }
}

/// One execution of a covered order.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    /// The order: an index into [`Tape::orders`].
    pub order: u32,
    /// When, ns since the epoch (the time of the input that caused it).
    pub time_ns: u64,
    /// Price, micro-dollars.
    pub price: i64,
    /// Shares.
    pub shares: u32,
    /// Where.
    pub place: Place,
    /// The venue's fee for it, micro-dollars (negative: a rebate; 0 in house).
    pub fee: i64,
    /// The NBBO in force at the execution.
    pub nbbo: Quote,
    /// Twice the midpoint in force at each of [`HORIZONS_NS`] after the execution
    /// (0: unknown: no usable quote then, or the horizon passes the journal's end).
    pub mid2_after: [i64; HORIZONS_NS.len()],
}

/// A child order a covered order's shares were sent to a venue in.
#[derive(Debug, Clone, Copy)]
pub struct Child {
    /// The parent order: an index into [`Tape::orders`].
    pub order: u32,
    /// The venue: an index into [`Tape::venues`].
    pub venue: u16,
    /// When it ended, ns since the epoch.
    pub time_ns: u64,
    /// Shares sent.
    pub sent: u32,
    /// Shares the venue executed.
    pub filled: u32,
}

/// Client orders the reports do not cover, by why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Excluded {
    /// Refused by the risk gate (never executable).
    pub risk_rejected: u64,
    /// Refused by the matcher (unknown symbol, halted, no usable market, …).
    pub matcher_rejected: u64,
}

/// What replaying a set of journals shows of every client order.
#[derive(Debug, Default)]
pub struct Tape {
    /// The journal directories, in the order given.
    pub journals: Vec<PathBuf>,
    /// Symbol names ([`Order::symbol`] indexes this).
    pub symbols: Vec<String>,
    /// Venue names ([`Place::Venue`] indexes this).
    pub venues: Vec<String>,
    /// Covered orders, in the order received.
    pub orders: Vec<Order>,
    /// Their executions, in the order they happened.
    pub fills: Vec<Fill>,
    /// Their child orders at venues, in the order they ended.
    pub children: Vec<Child>,
    /// New-order records seen, covered or not.
    pub new_orders: u64,
    /// Orders not covered.
    pub excluded: Excluded,
    /// The market center's identifier (`[fix] market`).
    pub market: String,
    /// The first and last record times of the tape, ns since the epoch.
    pub span: Option<(u64, u64)>,
}

impl Tape {
    /// Replays each journal in `dirs` (each with the configuration it holds) and gathers
    /// its orders and executions. `progress` is told each replayed record's sequence
    /// number and the journal's last sequence number.
    ///
    /// # Errors
    /// A journal that cannot be read or replayed, with its directory named.
    pub fn replay(
        dirs: &[PathBuf],
        progress: &mut impl FnMut(&Path, u64, u64),
    ) -> Result<Tape, String> {
        let mut tape = Tape::default();
        for dir in dirs {
            tape.add_journal(dir, progress)
                .map_err(|error| format!("journal {}: {error}", dir.display()))?;
        }
        Ok(tape)
    }

    fn add_journal(
        &mut self,
        dir: &Path,
        progress: &mut impl FnMut(&Path, u64, u64),
    ) -> Result<(), EngineError> {
        let scan = crossline_journal::verify(dir, recovery::PAYLOAD_MAX)?;
        let config = recovery::recorded_config(dir)?;
        let journal = u16::try_from(self.journals.len())
            .map_err(|_| EngineError::Config("more than 65535 journals".to_owned()))?;
        self.journals.push(dir.to_path_buf());
        if self.market.is_empty() {
            self.market.clone_from(&config.fix.market);
        }
        let last = scan.last_sequence.unwrap_or(0);
        let mut engine = Engine::new(&config, NoJournal)?;
        let mut gather = Gather::new(self, &config, journal);
        recovery::replay_from(dir, &mut engine, None, &mut gather, &mut |sequence| {
            progress(dir, sequence, last);
        })?;
        gather.finish();
        Ok(())
    }

    /// The symbol's name.
    #[must_use]
    pub fn symbol(&self, index: u32) -> &str {
        self.symbols.get(index as usize).map_or("?", String::as_str)
    }

    /// The order a fill belongs to.
    #[must_use]
    pub fn order_of(&self, fill: &Fill) -> &Order {
        &self.orders[fill.order as usize]
    }

    fn intern(names: &mut Vec<String>, name: &str) -> usize {
        names.iter().position(|n| n == name).unwrap_or_else(|| {
            names.push(name.to_owned());
            names.len() - 1
        })
    }
}

/// Markouts waiting for the quote in force at their horizon: per symbol and horizon, the
/// fills in time order with the time their horizon falls.
type Pending = Vec<[VecDeque<(u64, u32)>; HORIZONS_NS.len()]>;

/// Limit orders of one symbol waiting to become executable: (key, order index), buys
/// keyed by their negated limit (highest first), sells by their limit (lowest first).
type Waiting = (BTreeSet<(i64, u32)>, BTreeSet<(i64, u32)>);

/// The observer that fills a [`Tape`] from one journal's replay.
struct Gather<'t> {
    tape: &'t mut Tape,
    journal: u16,
    /// The journal's symbol ids → the tape's symbol index.
    symbol_index: HashMap<u32, u32>,
    /// The journal's venue ids → the tape's venue index.
    venue_index: HashMap<u8, u16>,
    /// The current NBBO, by the tape's symbol index.
    quotes: Vec<Quote>,
    pending: Pending,
    /// Per symbol, limit orders not yet executable, buys by highest limit first and
    /// sells by lowest: (key, order index).
    waiting: Vec<Waiting>,
    /// The order just received, waiting for the matcher's answer.
    received: Option<Order>,
    /// Engine order id → index into `tape.orders`.
    orders: HashMap<u64, u32>,
    last_time: u64,
}

impl<'t> Gather<'t> {
    fn new(tape: &'t mut Tape, config: &Config, journal: u16) -> Gather<'t> {
        let mut symbol_index = HashMap::new();
        for (id, name) in &config.symbol_names {
            let index = Tape::intern(&mut tape.symbols, name);
            symbol_index.insert(id.get(), u32::try_from(index).unwrap_or(u32::MAX));
        }
        let mut venue_index = HashMap::new();
        for venue in &config.router.venues {
            let index = Tape::intern(&mut tape.venues, &venue.name);
            venue_index.insert(venue.id, u16::try_from(index).unwrap_or(u16::MAX));
        }
        let symbols = tape.symbols.len();
        Gather {
            tape,
            journal,
            symbol_index,
            venue_index,
            quotes: vec![Quote::default(); symbols],
            pending: (0..symbols).map(|_| Default::default()).collect(),
            waiting: (0..symbols).map(|_| Default::default()).collect(),
            received: None,
            orders: HashMap::new(),
            last_time: 0,
        }
    }

    fn symbol(&self, id: u32) -> Option<u32> {
        self.symbol_index.get(&id).copied()
    }

    /// A new quote for `symbol` at `time`: markouts whose horizon fell before it take the
    /// quote that was in force then.
    fn quote(&mut self, symbol: u32, time: u64, quote: Quote) {
        let index = symbol as usize;
        let mid2 = self.quotes[index].mid2();
        for (horizon, queue) in self.pending[index].iter_mut().enumerate() {
            while queue.front().is_some_and(|(due, _)| *due < time) {
                if let Some((_, fill)) = queue.pop_front() {
                    self.tape.fills[fill as usize].mid2_after[horizon] = mid2;
                }
            }
        }
        self.quotes[index] = quote;
        let (buys, sells) = &mut self.waiting[index];
        let orders = &mut self.tape.orders;
        while let Some(&(key, order)) = buys.first() {
            if quote.ask == 0 || -key < quote.ask {
                break;
            }
            buys.pop_first();
            let order = &mut orders[order as usize];
            if order.executable_ns == 0 && !order.done() {
                order.executable_ns = time;
            }
        }
        while let Some(&(key, order)) = sells.first() {
            if quote.bid == 0 || key > quote.bid {
                break;
            }
            sells.pop_first();
            let order = &mut orders[order as usize];
            if order.executable_ns == 0 && !order.done() {
                order.executable_ns = time;
            }
        }
    }

    /// After the last record: a horizon that falls within the journal takes the quote
    /// still in force; one past its end stays unknown.
    fn finish(&mut self) {
        for (index, queues) in self.pending.iter_mut().enumerate() {
            let mid2 = self.quotes[index].mid2();
            for (horizon, queue) in queues.iter_mut().enumerate() {
                for (due, fill) in queue.drain(..) {
                    if due <= self.last_time {
                        self.tape.fills[fill as usize].mid2_after[horizon] = mid2;
                    }
                }
            }
        }
    }
}

impl Observer for Gather<'_> {
    fn record(&mut self, record: &Record) {
        let time = record.time.get();
        self.last_time = time;
        self.tape.span = Some(self.tape.span.map_or((time, time), |(first, last)| {
            (first.min(time), last.max(time))
        }));
        match (&record.command, &record.verdict) {
            (Command::NewOrder(order), verdict) => {
                self.tape.new_orders += 1;
                if !matches!(verdict, Verdict::Accepted) {
                    self.tape.excluded.risk_rejected += 1;
                    return;
                }
                let Some(symbol) = self.symbol(order.symbol.get()) else {
                    return;
                };
                self.received = Some(Order {
                    journal: self.journal,
                    order_id: record.sequence.get(),
                    client: order.client.get(),
                    symbol,
                    side: order.side,
                    order_type: order.order_type,
                    time_in_force: order.time_in_force,
                    limit: if order.order_type == OrderType::Market {
                        0
                    } else {
                        order.price.micros()
                    },
                    quantity: order.quantity.shares(),
                    received_ns: time,
                    nbbo: self.quotes[symbol as usize],
                    cancelled: 0,
                    replaced: false,
                    filled: 0,
                    executable_ns: 0,
                    routed: 0,
                    returned: 0,
                });
            }
            (Command::Nbbo(quote), Verdict::Accepted) => {
                if let Some(symbol) = self.symbol(quote.symbol.get()) {
                    self.quote(
                        symbol,
                        time,
                        Quote {
                            bid: quote.bid.micros(),
                            ask: quote.ask.micros(),
                            bid_size: quote.bid_size.shares(),
                            ask_size: quote.ask_size.shares(),
                        },
                    );
                }
            }
            (Command::VenueChild(child), Verdict::Accepted) => {
                if let Some(&order) = self.orders.get(&child.order_id.get()) {
                    let venue = self.venue_of(child.venue);
                    self.tape.children.push(Child {
                        order,
                        venue,
                        time_ns: time,
                        sent: child.quantity.shares(),
                        filled: child.filled.shares(),
                    });
                }
            }
            (Command::VenueCancel(cancel), Verdict::Accepted) => {
                if let Some(&order) = self.orders.get(&cancel.order_id.get()) {
                    self.tape.orders[order as usize].returned += cancel.quantity.shares();
                }
            }
            _ => {}
        }
    }

    fn event(&mut self, input: &Sequenced, event: &Event) {
        match event {
            Event::Accepted { order_id, .. } => {
                if let Some(mut order) = self.received.take() {
                    if order.order_id == order_id.get() {
                        let index = u32::try_from(self.tape.orders.len()).unwrap_or(u32::MAX);
                        if order.marketable_against(&order.nbbo) || order.midpoint_or_better() {
                            order.executable_ns = order.received_ns;
                        } else if order.buys() {
                            self.waiting[order.symbol as usize]
                                .0
                                .insert((-order.limit, index));
                        } else {
                            self.waiting[order.symbol as usize]
                                .1
                                .insert((order.limit, index));
                        }
                        self.orders.insert(order.order_id, index);
                        self.tape.orders.push(order);
                    }
                }
            }
            Event::Rejected { .. } if self.received.take().is_some() => {
                self.tape.excluded.matcher_rejected += 1;
            }
            Event::Filled(execution) => {
                let Some(&order) = self.orders.get(&execution.order_id.get()) else {
                    return;
                };
                let (place, fee) = match (execution.contra, &input.input) {
                    (Contra::Order(_), _) => (Place::Cross, 0),
                    (Contra::Firm, _) => (Place::Firm, 0),
                    (Contra::Venue, Input::VenueFill(fill)) => {
                        (Place::Venue(self.venue_of(fill.venue)), fill.fee.micros())
                    }
                    (Contra::Venue, _) => (Place::Venue(self.venue_of(0)), 0),
                };
                let time_ns = input.time.get();
                let facts = &mut self.tape.orders[order as usize];
                facts.filled += execution.quantity.shares();
                if facts.executable_ns == 0 {
                    facts.executable_ns = time_ns;
                }
                let symbol = facts.symbol;
                let nbbo = Quote {
                    bid: execution.nbbo_at_execution.bid.micros(),
                    ask: execution.nbbo_at_execution.ask.micros(),
                    ..self.quotes[symbol as usize]
                };
                let index = u32::try_from(self.tape.fills.len()).unwrap_or(u32::MAX);
                self.tape.fills.push(Fill {
                    order,
                    time_ns,
                    price: execution.price.micros(),
                    shares: execution.quantity.shares(),
                    place,
                    fee,
                    nbbo,
                    mid2_after: [0; HORIZONS_NS.len()],
                });
                for (queue, horizon) in self.pending[symbol as usize].iter_mut().zip(HORIZONS_NS) {
                    queue.push_back((time_ns.saturating_add(horizon), index));
                }
            }
            Event::Cancelled {
                order_id, quantity, ..
            } => {
                if let Some(&order) = self.orders.get(&order_id.get()) {
                    self.tape.orders[order as usize].cancelled += quantity.shares();
                }
            }
            Event::Route(route) => {
                if let Some(&order) = self.orders.get(&route.order_id.get()) {
                    self.tape.orders[order as usize].routed += route.quantity.shares();
                }
            }
            Event::Replaced { order_id, .. } => {
                if let Some(&order) = self.orders.get(&order_id.get()) {
                    self.tape.orders[order as usize].replaced = true;
                }
            }
            _ => {}
        }
    }
}

impl Gather<'_> {
    /// The tape's venue index for the venue that filled a child (the fill's venue id).
    fn venue_of(&mut self, id: u8) -> u16 {
        if let Some(&index) = self.venue_index.get(&id) {
            return index;
        }
        let name = if id == 0 {
            "unattributed".to_owned()
        } else {
            format!("venue {id}")
        };
        let index = u16::try_from(Tape::intern(&mut self.tape.venues, &name)).unwrap_or(u16::MAX);
        self.venue_index.insert(id, index);
        index
    }
}
