//! `crossline-venue`: plays the configured external venues on loopback, so a demo or a
//! test needs nothing from outside the project.
//!
//! Each venue listens on its `[[venues]] address` and speaks the venue protocol
//! (`docs/PROTOCOL.md`): a logon, then child orders that are acknowledged and filled
//! against the venue's own quote after its configured latency, with its fill probability,
//! charging its `fee_per_share`. An immediate-or-cancel child's unfilled rest is cancelled
//! at once; a day child works until it fills at a later quote, is cancelled, or its
//! session ends (**cancel on disconnect**: every open child of a session that ends is
//! cancelled).
//!
//! Quotes: each symbol's mid moves by a random tick (or not) every `quote_refresh_ms`,
//! from its `reference_price`; each venue quotes `spread_ticks` wide around it, sometimes
//! a tick worse, with a random displayed size. Every refresh publishes the NBBO and every
//! venue's top of book on the market-data feed (UDP, to `[market_data] listen`), which
//! also serves as the feed's heartbeat. A fill takes displayed size until the next
//! refresh.
//!
//! Market status: `[[simulator.schedule]]` events (a halt, a limit-up/limit-down band,
//! Rule 201) run from `at_ms` after the simulator's first poll for `for_ms`. Every refresh
//! publishes each scheduled symbol's status (halted or not, its band or none, Rule 201 on
//! or off) after its quotes, so a receiver that lost one learns it again at the next
//! refresh. While a symbol is halted no venue quotes it, so nothing fills there.
//!
//! Everything random comes from `[simulator] seed`, so a run with the same input repeats.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use crossline_config::{Config, ScheduledKind, ScheduledStatus};
use crossline_net::{ConnId, Handler, ListenerId, NetConfig, NetError, Outbox, Transport};
use crossline_protocol::frame::{each_frame, FRAME_BYTES_MAX};
use crossline_protocol::market_data::{FileWriter, MarketData, PacketWriter};
use crossline_protocol::venue::{FromVenue, ToVenue};
use crossline_types::{Price, Quantity, Quote, Side, SymbolId, TimeInForce};

/// Why the simulator could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimulatorError {
    /// The transport failed (a venue port is taken, say).
    #[error("network: {0}")]
    Net(#[from] NetError),
    /// The feed socket or the recording failed.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        error: io::Error,
    },
    /// No venue is configured.
    #[error("no [[venues]] are configured: there is nothing to simulate")]
    NoVenues,
}

/// Child-order reject codes the simulator sends.
pub mod reject {
    /// The symbol is not traded here.
    pub const UNKNOWN_SYMBOL: u8 = 1;
    /// Zero shares.
    pub const ZERO_QUANTITY: u8 = 2;
    /// The child id is already open in this session.
    pub const DUPLICATE_ID: u8 = 3;
    /// The venue's book is full.
    pub const BOOK_FULL: u8 = 4;
}

/// Child-order cancel reasons (the protocol's).
mod cancel {
    pub(crate) const REQUESTED: u8 = 1;
    pub(crate) const IOC_REMAINDER: u8 = 2;
    pub(crate) const NO_LIQUIDITY: u8 = 3;
}

/// Day children a venue keeps working at once, all sessions.
const WORKING_MAX: usize = 4_096;
/// Requests waiting out a venue's latency, per venue.
const DELAYED_MAX: usize = 65_536;

/// What the simulator has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimulatorStats {
    /// Sessions logged on.
    pub logons: u64,
    /// Child orders received.
    pub children: u64,
    /// Executions sent.
    pub fills: u64,
    /// Shares executed.
    pub shares: u64,
    /// Children cancelled (requested, remainders, disconnects).
    pub cancels: u64,
    /// Children refused.
    pub rejects: u64,
    /// Feed packets published.
    pub packets: u64,
    /// Sessions closed for breaking the protocol.
    pub protocol_errors: u64,
}

#[derive(Debug, Clone, Copy)]
struct Request {
    due_ns: u64,
    conn: ConnId,
    message: ToVenue,
}

#[derive(Debug, Clone, Copy)]
struct Working {
    conn: ConnId,
    child_id: u64,
    symbol: usize,
    side: Side,
    limit: Option<Price>,
    leaves: u32,
}

struct Venue {
    id: u8,
    listener: ListenerId,
    address: SocketAddr,
    fee_per_share: Price,
    latency_ns: u64,
    fill_ppm: u32,
    /// Its quote per symbol (index as in `Simulator::symbols`).
    quotes: Vec<Quote>,
    delayed: VecDeque<Request>,
    working: Vec<Working>,
    /// Down: sessions closed and new ones refused, no quotes published.
    down: bool,
}

#[derive(Debug, Clone, Copy)]
struct Session {
    conn: ConnId,
    venue: usize,
    logged_on: bool,
    heard: u32,
    sent: u32,
    last_sent_ns: u64,
}

struct Symbol {
    id: SymbolId,
    tick: i64,
    mid: i64,
}

/// The simulation's random stream (quotes and fill draws), from `[simulator] seed`.
struct Rng(fastrand::Rng);

impl Rng {
    /// A number below `bound` (> 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.0.u64(..bound)
    }
}

/// The venues, their sessions and the feed publisher.
pub struct Simulator {
    net: Transport,
    state: State,
}

struct State {
    venues: Vec<Venue>,
    sessions: Vec<Option<Session>>,
    symbols: Vec<Symbol>,
    rng: Rng,
    feed: UdpSocket,
    feed_to: SocketAddr,
    feed_sequence: u64,
    packet: PacketWriter,
    record: Option<FileWriter<io::BufWriter<std::fs::File>>>,
    refresh_ns: u64,
    last_refresh_ns: u64,
    heartbeat_ns: u64,
    spread_ticks: i64,
    size_lots_max: u64,
    now_ns: u64,
    stats: SimulatorStats,
    /// `[[simulator.schedule]]`, and the symbols it names (each once, by index).
    schedule: Vec<ScheduledStatus>,
    scheduled_symbols: Vec<usize>,
    /// The first poll's clock: the schedule's zero.
    started_ns: Option<u64>,
}

impl Simulator {
    /// Opens every configured venue's port (a venue whose address has port 0 gets a
    /// free one: see [`Simulator::venue_address`]) and the feed socket, publishing to
    /// `feed_to` (normally `[market_data] listen`).
    ///
    /// # Errors
    /// No venues, a port that cannot be opened, or the feed socket.
    pub fn new(config: &Config, feed_to: SocketAddr) -> Result<Simulator, SimulatorError> {
        if config.router.venues.is_empty() {
            return Err(SimulatorError::NoVenues);
        }
        let net_config = NetConfig {
            connections_max: 256,
            listeners_max: config.router.venues.len(),
            ..config.network.net.clone()
        };
        let mut net = Transport::new(&net_config)?;
        let symbols: Vec<Symbol> = config
            .matcher
            .symbols
            .iter()
            .map(|symbol| {
                let tick = symbol.book.tick.micros().max(1);
                Symbol {
                    id: symbol.symbol,
                    tick,
                    mid: symbol.reference_price.micros() / tick * tick,
                }
            })
            .collect();
        let mut venues = Vec::with_capacity(config.router.venues.len());
        for venue in &config.router.venues {
            let (listener, address) = net.listen(venue.address)?;
            let simulated = config.simulator.venues[&venue.id];
            venues.push(Venue {
                id: venue.id,
                listener,
                address,
                fee_per_share: venue.fee_per_share,
                latency_ns: simulated.latency_us * 1_000,
                fill_ppm: simulated.fill_ppm,
                quotes: symbols
                    .iter()
                    .map(|symbol| Quote::empty(symbol.id))
                    .collect(),
                delayed: VecDeque::with_capacity(1024),
                working: Vec::with_capacity(WORKING_MAX),
                down: false,
            });
        }
        let symbols_len = symbols.len();
        let io_error = |what| move |error| SimulatorError::Io { what, error };
        let feed = UdpSocket::bind("127.0.0.1:0").map_err(io_error("feed socket"))?;
        let mut state = State {
            venues,
            sessions: vec![None; net_config.connections_max],
            symbols,
            rng: Rng(fastrand::Rng::with_seed(config.simulator.seed)),
            feed,
            feed_to,
            feed_sequence: 1,
            packet: PacketWriter::default(),
            record: None,
            refresh_ns: config.simulator.quote_refresh_ms * 1_000_000,
            last_refresh_ns: 0,
            heartbeat_ns: config.router.heartbeat_ms * 1_000_000,
            spread_ticks: i64::from(config.simulator.spread_ticks),
            size_lots_max: u64::from(config.simulator.size_lots_max),
            now_ns: 0,
            stats: SimulatorStats::default(),
            scheduled_symbols: (0..symbols_len)
                .filter(|&index| {
                    config
                        .simulator
                        .schedule
                        .iter()
                        .any(|event| event.symbol == config.matcher.symbols[index].symbol)
                })
                .collect(),
            schedule: config.simulator.schedule.clone(),
            started_ns: None,
        };
        state.requote();
        Ok(Simulator { net, state })
    }

    /// Records every feed packet published from now on to `path` (the recorded-feed file
    /// format, which the engine can replay).
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn record_feed(&mut self, path: &std::path::Path) -> Result<(), SimulatorError> {
        let io_error = |error| SimulatorError::Io {
            what: "feed recording",
            error,
        };
        let file = std::fs::File::create(path).map_err(io_error)?;
        self.state.record = Some(FileWriter::new(io::BufWriter::new(file)).map_err(io_error)?);
        Ok(())
    }

    /// Finishes the recording, if any.
    ///
    /// # Errors
    /// The file could not be written.
    pub fn finish_recording(&mut self) -> Result<(), SimulatorError> {
        if let Some(record) = self.state.record.take() {
            let mut out = record.finish().map_err(|error| SimulatorError::Io {
                what: "feed recording",
                error,
            })?;
            out.flush().map_err(|error| SimulatorError::Io {
                what: "feed recording",
                error,
            })?;
        }
        Ok(())
    }

    /// Where venue `id` listens (its configured address, with the port it got).
    #[must_use]
    pub fn venue_address(&self, id: u8) -> Option<SocketAddr> {
        let venue = self.state.venues.iter().find(|venue| venue.id == id)?;
        Some(venue.address)
    }

    /// Publishes the feed to `address` from now on.
    pub fn set_feed_to(&mut self, address: SocketAddr) {
        self.state.feed_to = address;
    }

    /// What the simulator has done.
    #[must_use]
    pub fn stats(&self) -> SimulatorStats {
        self.state.stats
    }

    /// Takes venue `id` down (every session closed, so its open children are cancelled;
    /// new connections refused; no quotes) or brings it back up.
    pub fn set_venue_down(&mut self, id: u8, down: bool) {
        let Some(index) = self.state.venues.iter().position(|venue| venue.id == id) else {
            return;
        };
        self.state.venues[index].down = down;
        if down {
            let out = self.net.outbox();
            for session in self.state.sessions.iter().flatten() {
                if session.venue == index {
                    out.close(session.conn);
                }
            }
        }
    }

    /// Holds venue `id`'s answers (a venue that hangs: nothing it owes is sent until
    /// released), or releases them.
    pub fn set_venue_latency(&mut self, id: u8, latency: Duration) {
        if let Some(venue) = self.state.venues.iter_mut().find(|venue| venue.id == id) {
            venue.latency_ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        }
    }

    /// One round: I/O, answers whose latency has passed, and (when due) a quote refresh
    /// and feed publication. `now_ns` is the caller's clock. Returns the work done.
    ///
    /// # Errors
    /// The transport failed.
    pub fn poll(
        &mut self,
        now_ns: u64,
        timeout: Option<Duration>,
    ) -> Result<usize, SimulatorError> {
        self.state.now_ns = now_ns;
        self.state.started_ns.get_or_insert(now_ns);
        let mut work = self.net.poll(&mut self.state, timeout)?;
        let out = self.net.outbox();
        work += self.state.answer_due(out);
        if now_ns.saturating_sub(self.state.last_refresh_ns) >= self.state.refresh_ns {
            self.state.last_refresh_ns = now_ns;
            self.state.requote();
            self.state.fill_working(out);
            self.state.publish()?;
            self.state.heartbeats(out);
            work += 1;
        }
        Ok(work)
    }
}

impl State {
    /// Moves every mid by a tick (or not) and requotes every venue around it.
    fn requote(&mut self) {
        let halted: Vec<bool> = (0..self.symbols.len())
            .map(|index| self.status(index).0)
            .collect();
        for (index, symbol) in self.symbols.iter_mut().enumerate() {
            let step = self.rng.below(3);
            let tick = symbol.tick;
            // The mid stays at least a spread above zero.
            let floor = (self.spread_ticks + 2) * tick;
            symbol.mid = match step {
                0 => (symbol.mid - tick).max(floor),
                1 => symbol.mid + tick,
                _ => symbol.mid.max(floor),
            };
            let half_down = self.spread_ticks / 2 * tick;
            for venue in &mut self.venues {
                let worse_bid = i64::from(self.rng.below(4) == 0) * tick;
                let worse_ask = i64::from(self.rng.below(4) == 0) * tick;
                let bid = symbol.mid - half_down - worse_bid;
                let ask = symbol.mid - half_down + self.spread_ticks * tick + worse_ask;
                let lots =
                    |rng: &mut Rng, max| u32::try_from((rng.below(max) + 1) * 100).unwrap_or(100);
                venue.quotes[index] = if venue.down || halted[index] {
                    Quote::empty(symbol.id)
                } else {
                    Quote {
                        symbol: symbol.id,
                        bid: Price::from_micros(bid),
                        bid_size: Quantity::new(lots(&mut self.rng, self.size_lots_max)),
                        ask: Price::from_micros(ask),
                        ask_size: Quantity::new(lots(&mut self.rng, self.size_lots_max)),
                    }
                };
            }
        }
    }

    /// Publishes the NBBO and every venue's top for every symbol, and each scheduled
    /// symbol's market status.
    ///
    /// A halted symbol's status goes before its (empty) quotes and a trading one's after
    /// its quotes, so a receiver never sees the quotes of a halt without the halt, nor a
    /// resume without fresh quotes.
    fn publish(&mut self) -> Result<(), SimulatorError> {
        for index in 0..self.symbols.len() {
            let status = self
                .scheduled_symbols
                .contains(&index)
                .then(|| self.status(index));
            if let Some(status @ (true, ..)) = status {
                self.push_status(index, status)?;
            }
            let nbbo = self.nbbo(index);
            self.push(&MarketData::Nbbo(nbbo))?;
            for venue in 0..self.venues.len() {
                let quote = self.venues[venue].quotes[index];
                let id = self.venues[venue].id;
                self.push(&MarketData::VenueTop { venue: id, quote })?;
            }
            if let Some(status @ (false, ..)) = status {
                self.push_status(index, status)?;
            }
        }
        self.flush_packet()
    }

    fn push_status(
        &mut self,
        index: usize,
        (halted, band, on): (bool, Option<(Price, Price)>, bool),
    ) -> Result<(), SimulatorError> {
        let symbol = self.symbols[index].id;
        self.push(&MarketData::Halt { symbol, halted })?;
        self.push(&MarketData::Band { symbol, band })?;
        self.push(&MarketData::Rule201 { symbol, on })
    }

    /// A symbol's scheduled status now: halted, its band (the latest event's) and Rule
    /// 201.
    fn status(&self, index: usize) -> (bool, Option<(Price, Price)>, bool) {
        let symbol = self.symbols[index].id;
        let elapsed_ms = match self.started_ns {
            Some(started) => self.now_ns.saturating_sub(started) / 1_000_000,
            None => return (false, None, false),
        };
        let mut status = (false, None, false);
        for event in &self.schedule {
            let active = event.symbol == symbol
                && elapsed_ms >= event.at_ms
                && (event.for_ms == 0 || elapsed_ms < event.at_ms + event.for_ms);
            if active {
                match event.status {
                    ScheduledKind::Halt => status.0 = true,
                    ScheduledKind::Band { lower, upper } => status.1 = Some((lower, upper)),
                    ScheduledKind::Rule201 => status.2 = true,
                }
            }
        }
        status
    }

    /// The best bid and offer across venues, with the size displayed at each.
    fn nbbo(&self, index: usize) -> Quote {
        let mut nbbo = Quote::empty(self.symbols[index].id);
        for venue in &self.venues {
            let quote = venue.quotes[index];
            if quote.bid_size.shares() > 0 {
                if quote.bid > nbbo.bid {
                    nbbo.bid = quote.bid;
                    nbbo.bid_size = quote.bid_size;
                } else if quote.bid == nbbo.bid {
                    nbbo.bid_size = Quantity::new(nbbo.bid_size.shares() + quote.bid_size.shares());
                }
            }
            if quote.ask_size.shares() > 0 {
                if nbbo.ask_size.shares() == 0 || quote.ask < nbbo.ask {
                    nbbo.ask = quote.ask;
                    nbbo.ask_size = quote.ask_size;
                } else if quote.ask == nbbo.ask {
                    nbbo.ask_size = Quantity::new(nbbo.ask_size.shares() + quote.ask_size.shares());
                }
            }
        }
        nbbo
    }

    fn push(&mut self, message: &MarketData) -> Result<(), SimulatorError> {
        if !self.packet.push(message) {
            self.flush_packet()?;
            self.packet.push(message);
        }
        Ok(())
    }

    fn flush_packet(&mut self) -> Result<(), SimulatorError> {
        let count = self.packet.len() as u64;
        let bytes = self.packet.finish(self.feed_sequence, self.now_ns);
        self.feed_sequence += count;
        self.stats.packets += 1;
        // A datagram the kernel refuses is a gap the receiver detects and handles.
        let _ = self.feed.send_to(bytes, self.feed_to);
        if let Some(record) = &mut self.record {
            record
                .append(self.now_ns, bytes)
                .map_err(|error| SimulatorError::Io {
                    what: "feed recording",
                    error,
                })?;
        }
        Ok(())
    }

    /// Sends each logged-on session a heartbeat when it has been sent nothing for an
    /// interval.
    fn heartbeats(&mut self, out: &mut Outbox) {
        for index in 0..self.sessions.len() {
            let Some(session) = self.sessions[index] else {
                continue;
            };
            if session.logged_on
                && self.now_ns.saturating_sub(session.last_sent_ns) >= self.heartbeat_ns
            {
                self.send(out, session.conn, &FromVenue::Heartbeat {});
            }
        }
    }

    /// Answers every request whose venue latency has passed.
    fn answer_due(&mut self, out: &mut Outbox) -> usize {
        let mut work = 0;
        for venue in 0..self.venues.len() {
            while let Some(request) = self.venues[venue].delayed.front().copied() {
                if request.due_ns > self.now_ns {
                    break;
                }
                self.venues[venue].delayed.pop_front();
                work += 1;
                if self.sessions[request.conn.slot()]
                    .is_some_and(|session| session.conn == request.conn)
                {
                    self.answer(out, venue, request.conn, request.message);
                }
            }
        }
        work
    }

    fn answer(&mut self, out: &mut Outbox, venue: usize, conn: ConnId, message: ToVenue) {
        match message {
            ToVenue::NewChild {
                child_id,
                symbol,
                quantity,
                price,
                side,
                time_in_force,
            } => {
                self.stats.children += 1;
                let index = self.symbols.iter().position(|s| s.id == symbol);
                let duplicate = self.venues[venue]
                    .working
                    .iter()
                    .any(|working| working.conn == conn && working.child_id == child_id);
                let refused = match index {
                    None => Some(reject::UNKNOWN_SYMBOL),
                    Some(_) if quantity.shares() == 0 => Some(reject::ZERO_QUANTITY),
                    Some(_) if duplicate => Some(reject::DUPLICATE_ID),
                    Some(_)
                        if time_in_force != TimeInForce::ImmediateOrCancel
                            && self.venues[venue].working.len() == WORKING_MAX =>
                    {
                        Some(reject::BOOK_FULL)
                    }
                    Some(_) => None,
                };
                let (Some(symbol), None) = (index, refused) else {
                    self.stats.rejects += 1;
                    let reason = refused.unwrap_or(reject::UNKNOWN_SYMBOL);
                    return self.send(out, conn, &FromVenue::ChildRejected { child_id, reason });
                };
                self.send(out, conn, &FromVenue::ChildAccepted { child_id });
                let mut child = Working {
                    conn,
                    child_id,
                    symbol,
                    side,
                    limit: (price > Price::ZERO).then_some(price),
                    leaves: quantity.shares(),
                };
                let filled = self.execute(out, venue, &mut child);
                if child.leaves == 0 {
                    return;
                }
                if time_in_force == TimeInForce::ImmediateOrCancel {
                    let reason = if filled {
                        cancel::IOC_REMAINDER
                    } else {
                        cancel::NO_LIQUIDITY
                    };
                    self.cancel(out, &child, reason);
                } else {
                    self.venues[venue].working.push(child);
                }
            }
            ToVenue::CancelChild { child_id } => {
                let working = &mut self.venues[venue].working;
                // A cancel that crossed the child's last report finds nothing: it is over.
                if let Some(at) = working
                    .iter()
                    .position(|working| working.conn == conn && working.child_id == child_id)
                {
                    let child = working.swap_remove(at);
                    self.cancel(out, &child, cancel::REQUESTED);
                }
            }
            ToVenue::Logon { .. } | ToVenue::Heartbeat {} => {}
        }
    }

    /// Fills `child` against the venue's quote if its price is acceptable and the fill
    /// draw says so; returns whether anything filled.
    fn execute(&mut self, out: &mut Outbox, venue: usize, child: &mut Working) -> bool {
        let quote = self.venues[venue].quotes[child.symbol];
        let buy = child.side.is_buy();
        let (price, size) = if buy {
            (quote.ask, quote.ask_size.shares())
        } else {
            (quote.bid, quote.bid_size.shares())
        };
        let acceptable = child
            .limit
            .is_none_or(|limit| child.side.within(price, limit));
        if size == 0
            || !acceptable
            || self.rng.below(1_000_000) >= u64::from(self.venues[venue].fill_ppm)
        {
            return false;
        }
        let shares = child.leaves.min(size);
        child.leaves -= shares;
        let quote = &mut self.venues[venue].quotes[child.symbol];
        if buy {
            quote.ask_size = Quantity::new(size - shares);
        } else {
            quote.bid_size = Quantity::new(size - shares);
        }
        let fee = self.venues[venue].fee_per_share.micros() * i64::from(shares);
        self.stats.fills += 1;
        self.stats.shares += u64::from(shares);
        let fill = FromVenue::ChildFilled {
            child_id: child.child_id,
            price,
            fee,
            quantity: Quantity::new(shares),
            leaves: Quantity::new(child.leaves),
        };
        self.send(out, child.conn, &fill);
        true
    }

    /// Works every day child against the fresh quotes.
    fn fill_working(&mut self, out: &mut Outbox) {
        for venue in 0..self.venues.len() {
            let mut at = 0;
            while at < self.venues[venue].working.len() {
                let mut child = self.venues[venue].working[at];
                self.execute(out, venue, &mut child);
                if child.leaves == 0 {
                    self.venues[venue].working.swap_remove(at);
                } else {
                    self.venues[venue].working[at] = child;
                    at += 1;
                }
            }
        }
    }

    fn cancel(&mut self, out: &mut Outbox, child: &Working, reason: u8) {
        self.stats.cancels += 1;
        let message = FromVenue::ChildCancelled {
            child_id: child.child_id,
            quantity: Quantity::new(child.leaves),
            reason,
        };
        self.send(out, child.conn, &message);
    }

    fn send(&mut self, out: &mut Outbox, conn: ConnId, message: &FromVenue) {
        let Some(session) = self.sessions[conn.slot()]
            .as_mut()
            .filter(|s| s.conn == conn)
        else {
            return;
        };
        session.sent = session.sent.wrapping_add(1);
        session.last_sent_ns = self.now_ns;
        let mut frame = [0u8; FRAME_BYTES_MAX];
        let length = message.encode(session.sent, 0, &mut frame);
        if out.send(conn, &frame[..length]).is_err() {
            out.close(conn);
        }
    }

    fn protocol_error(&mut self, out: &mut Outbox, conn: ConnId, detail: &str) {
        self.stats.protocol_errors += 1;
        eprintln!("crossline-venue: session {conn:?}: {detail}; disconnecting");
        out.close(conn);
    }

    fn on_frame(&mut self, out: &mut Outbox, conn: ConnId, message: ToVenue) {
        let Some(session) = self.sessions[conn.slot()] else {
            return;
        };
        let venue = session.venue;
        match message {
            ToVenue::Logon { .. } if !session.logged_on => {
                if let Some(session) = self.sessions[conn.slot()].as_mut() {
                    session.logged_on = true;
                }
                self.stats.logons += 1;
                let id = u32::from(self.venues[venue].id);
                self.send(out, conn, &FromVenue::LogonAccepted { venue: id });
            }
            ToVenue::Logon { .. } => self.protocol_error(out, conn, "second logon"),
            _ if !session.logged_on => self.protocol_error(out, conn, "message before logon"),
            ToVenue::Heartbeat {} => {}
            ToVenue::NewChild { .. } | ToVenue::CancelChild { .. } => {
                let delayed = &mut self.venues[venue].delayed;
                if delayed.len() == DELAYED_MAX {
                    return self.protocol_error(out, conn, "too many requests in flight");
                }
                let request = Request {
                    due_ns: self.now_ns + self.venues[venue].latency_ns,
                    conn,
                    message,
                };
                self.venues[venue].delayed.push_back(request);
            }
        }
    }
}

impl Handler for State {
    fn on_accept(&mut self, out: &mut Outbox, listener: ListenerId, conn: ConnId) {
        let Some(venue) = self
            .venues
            .iter()
            .position(|venue| venue.listener == listener)
        else {
            return out.close(conn);
        };
        if self.venues[venue].down {
            return out.close(conn);
        }
        self.sessions[conn.slot()] = Some(Session {
            conn,
            venue,
            logged_on: false,
            heard: 0,
            sent: 0,
            last_sent_ns: self.now_ns,
        });
    }

    fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize {
        if self.sessions[conn.slot()].is_none_or(|session| session.conn != conn) {
            return data.len();
        }
        let framed = each_frame(data, |header, body| {
            let Some(session) = self.sessions[conn.slot()].as_mut() else {
                return false;
            };
            let expected = session.heard.wrapping_add(1);
            session.heard = expected;
            if header.sequence != expected {
                let detail = format!("sequence {}, expected {expected}", header.sequence);
                self.protocol_error(out, conn, &detail);
                return false;
            }
            match ToVenue::decode(header, body) {
                Ok(message) => self.on_frame(out, conn, message),
                Err(error) => self.protocol_error(out, conn, &error.to_string()),
            }
            out.is_open(conn)
        });
        framed.unwrap_or_else(|(_, error)| {
            self.protocol_error(out, conn, &error.to_string());
            data.len()
        })
    }

    fn on_close(&mut self, conn: ConnId, _reason: crossline_net::CloseReason) {
        let Some(session) = self.sessions[conn.slot()].take_if(|session| session.conn == conn)
        else {
            return;
        };
        // Cancel on disconnect: the session's open children are over, and its requests
        // still waiting out the latency are dropped.
        let venue = &mut self.venues[session.venue];
        let before = venue.working.len();
        venue.working.retain(|working| working.conn != conn);
        self.stats.cancels += (before - venue.working.len()) as u64;
        venue.delayed.retain(|request| request.conn != conn);
    }
}
