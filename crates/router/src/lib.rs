//! Crossline's outbound router: the matcher's route instructions become child orders at
//! external venues, over the venue protocol (`docs/PROTOCOL.md`), and the venues' reports
//! come back as commands (`VenueFill`, `VenueCancel`) that the engine sequences and
//! journals like any other input.
//!
//! **Venue choice.** Among the venues connected and not yet tried for the parent, the
//! router ranks by the best displayed price on the feed's venue tops (a venue showing a
//! price the parent's limit accepts comes before one that shows none), then the lowest
//! fee per share, then the highest recent fill rate (shares filled over shares sent in
//! the venue's last `fill_rate_window` child orders; a venue with no history counts as
//! filling everything, so it gets tried), then configuration order.
//!
//! **One child per parent at a time**, immediate-or-cancel: it takes the displayed
//! liquidity. When it ends with shares left (cancelled, refused or its venue lost),
//! they go to the next venue that displays an acceptable price, up to `reroutes_max`
//! further venues; then what is still left goes back to the parent as one `VenueCancel`
//! (the matcher rests or cancels it, by the order's terms).
//!
//! **Timeouts.** A child not acknowledged within `ack_timeout_ms`, or acknowledged but not
//! finished within `fill_timeout_ms`, is cancelled at the venue; a venue that does not
//! answer the cancel within `cancel_timeout_ms` is disconnected.
//!
//! **Venue loss.** The venue protocol makes a venue cancel every open child order of a
//! session that ends, so a lost venue's open children are over. Their remainders are
//! re-routed or cancelled back, per `on_venue_loss`. The router reconnects every
//! `reconnect_ms`. A fill the venue made but could not deliver before the connection
//! dropped is not known here: a production deployment reconciles such fills from the
//! venue's drop copy.
//!
//! The router reads no clock: the caller passes the time into every call.

mod config;
mod window;

use std::time::Duration;

use crossline_matcher::{RouteInstruction, VenueCancel, VenueFill};
use crossline_net::{ConnId, Outbox, Transport};
use crossline_protocol::frame::{each_frame, FRAME_BYTES_MAX};
use crossline_protocol::venue::{FromVenue, ToVenue};
use crossline_types::{
    Message, OrderId, Price, Quantity, Quote, SequenceNumber, Side, SymbolId, TimeInForce,
    Timestamp, VenueChild,
};

pub use config::{FixVenue, RouterConfig, RouterConfigError, VenueConfig, VenueLoss, VENUES_MAX};

mod fix;
use window::FillWindow;

/// What a venue told the router about a parent order's child, for the sequencer: a fill,
/// or the child's end with shares unfilled (cancelled by the venue, lost with it, timed
/// out, or never sent), which returns them to the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueReport {
    /// A venue executed (part of) a child order.
    Fill(VenueFill),
    /// A child order's unfilled shares come back.
    Cancel(VenueCancel),
    /// A child order ended at its venue (for the routing reports; the matcher takes no
    /// input from it). Sent after the child's fills and before its shares are re-routed
    /// or come back.
    Child(VenueChild),
}

impl VenueReport {
    /// The report as the 56-byte command message the sequencer takes, stamped `now_ns`
    /// (`docs/MESSAGES.md`: `VenueFill`, `VenueCancel`).
    #[must_use]
    pub fn to_message(&self, now_ns: u64) -> Message {
        let (sequence, time) = (SequenceNumber::new(0), Timestamp::new(now_ns));
        match self {
            VenueReport::Fill(fill) => fill.to_message(sequence, time),
            VenueReport::Cancel(cancel) => cancel.to_message(sequence, time),
            VenueReport::Child(child) => child.to_message(sequence, time),
        }
    }
}

/// Log lines of one kind (protocol errors, refused children, a full table) printed before
/// only counting.
const LOGGED_MAX: u64 = 10;

/// Where a venue connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueState {
    /// Not connected; the next attempt is due at this time (ns).
    Down {
        /// When the router tries again.
        retry_ns: u64,
    },
    /// Connected, logon sent, not yet accepted.
    LoggingOn,
    /// Logged on: child orders may go there.
    Up,
}

/// What the router has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Child orders sent.
    pub children_sent: u64,
    /// Of those, sent for a remainder another venue did not take.
    pub reroutes: u64,
    /// Shares the venues executed.
    pub shares_filled: u64,
    /// Venue fees reported, micro-dollars (negative: rebates).
    pub fees_micros: i64,
    /// Of those, the fees paid (positive fees), micro-dollars.
    pub fees_paid_micros: u64,
    /// Of those, the rebates received (negative fees, as a positive amount),
    /// micro-dollars.
    pub rebates_micros: u64,
    /// Remainders cancelled back to their parents.
    pub cancelled_back: u64,
    /// Child orders the venues refused.
    pub children_rejected: u64,
    /// Remainders cancelled back because the child table was full.
    pub table_full: u64,
    /// Child orders cancelled for a timeout.
    pub timeouts: u64,
    /// Venue connections lost (closed by either side, or dropped by the router).
    pub venues_lost: u64,
    /// Child orders open on a venue when it was lost.
    pub children_lost: u64,
    /// Venue messages that broke the protocol (the venue was disconnected).
    pub venue_errors: u64,
}

/// The best price a venue displays on the side a parent takes from, if any.
pub trait Tops {
    /// `venue`'s latest top of book for `symbol`, if the feed has one.
    fn venue_top(&self, venue: u8, symbol: SymbolId) -> Option<Quote>;
}

impl<F: Fn(u8, SymbolId) -> Option<Quote>> Tops for F {
    fn venue_top(&self, venue: u8, symbol: SymbolId) -> Option<Quote> {
        self(venue, symbol)
    }
}

struct Venue {
    config: VenueConfig,
    state: VenueState,
    conn: Option<ConnId>,
    /// When the logon went out (for its timeout).
    logon_ns: u64,
    last_sent_ns: u64,
    last_heard_ns: u64,
    sent_sequence: u32,
    heard_sequence: u32,
    /// A failed connection attempt was logged (reset once up).
    retrying: bool,
    fills: FillWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Sent, not yet acknowledged.
    Sent,
    /// Acknowledged and working.
    Working,
    /// A cancel was sent.
    Cancelling,
}

/// What a child order carries of its parent.
#[derive(Debug, Clone, Copy)]
struct Parent {
    order_id: OrderId,
    symbol: SymbolId,
    side: Side,
    limit: Option<Price>,
    /// Venues this parent's children have been sent to (bit per venue index).
    tried: u64,
    /// Children sent after the first.
    reroutes: u8,
}

#[derive(Debug, Clone, Copy)]
struct Child {
    id: u64,
    parent: Parent,
    quantity: u32,
    filled: u32,
    venue: usize,
    conn: ConnId,
    stage: Stage,
    deadline_ns: u64,
    /// Where it sits in the open list.
    open_at: usize,
}

/// How a child order ended with shares left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The venue cancelled or refused it.
    Venue,
    /// Its venue was lost.
    Lost,
}

/// The router.
pub struct Router {
    config: RouterConfig,
    venues: Vec<Venue>,
    /// Child orders by slot; a child id's low 32 bits are its slot.
    children: Vec<Option<Child>>,
    free: Vec<u32>,
    /// Slots of open children, for the timers.
    open: Vec<u32>,
    next_serial: u64,
    /// The venue index on each connection slot the router has used (a hint: the venue's
    /// current connection confirms it), so an arrival finds its venue without a scan.
    venue_by_slot: Vec<usize>,
    stats: RouterStats,
}

impl Router {
    /// A router for `config`, every table allocated; nothing is connected until
    /// [`Router::tick`].
    ///
    /// # Errors
    /// A setting out of range.
    pub fn new(config: &RouterConfig) -> Result<Router, RouterConfigError> {
        config.validate()?;
        let venues = config
            .venues
            .iter()
            .map(|venue| Venue {
                config: venue.clone(),
                state: VenueState::Down { retry_ns: 0 },
                conn: None,
                logon_ns: 0,
                last_sent_ns: 0,
                last_heard_ns: 0,
                sent_sequence: 0,
                heard_sequence: 0,
                retrying: false,
                fills: FillWindow::new(config.fill_rate_window),
            })
            .collect();
        let children_max = config.children_max;
        Ok(Router {
            config: config.clone(),
            venues,
            children: vec![None; children_max as usize],
            free: (0..children_max).rev().collect(),
            open: Vec::with_capacity(children_max as usize),
            next_serial: 1,
            venue_by_slot: Vec::new(),
            stats: RouterStats::default(),
        })
    }

    /// Whether any venue is configured.
    #[must_use]
    pub fn has_venues(&self) -> bool {
        !self.venues.is_empty()
    }

    /// Whether `conn` is a venue connection (its data goes to [`Router::on_data`]).
    #[must_use]
    pub fn is_venue(&self, conn: ConnId) -> bool {
        self.venue_of(conn).is_some()
    }

    /// The venue whose current connection is `conn`.
    fn venue_of(&self, conn: ConnId) -> Option<usize> {
        let index = *self.venue_by_slot.get(conn.slot())?;
        (self.venues.get(index)?.conn == Some(conn)).then_some(index)
    }

    /// Child orders it tracks at once (`[router] children_max`).
    #[must_use]
    pub fn children_max(&self) -> usize {
        self.children.len()
    }

    /// What the router has done.
    #[must_use]
    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// Child orders open now.
    #[must_use]
    pub fn open_children(&self) -> usize {
        self.open.len()
    }

    /// Child orders open now at venue `id`.
    #[must_use]
    pub fn open_children_at(&self, id: u8) -> usize {
        self.open
            .iter()
            .filter_map(|&slot| self.children[slot as usize])
            .filter(|child| self.venues[child.venue].config.id == id)
            .count()
    }

    /// Each venue's id and connection state.
    pub fn venue_states(&self) -> impl Iterator<Item = (u8, VenueState)> + '_ {
        self.venues
            .iter()
            .map(|venue| (venue.config.id, venue.state))
    }

    /// Sends a route instruction's shares to the best venue; with no venue connected, or
    /// no room for another child, cancels them back at once (through `emit`).
    pub fn route(
        &mut self,
        out: &mut Outbox,
        route: &RouteInstruction,
        tops: &impl Tops,
        now_ns: u64,
        emit: &mut impl FnMut(VenueReport),
    ) {
        let parent = Parent {
            order_id: route.order_id,
            symbol: route.symbol,
            side: route.side,
            limit: route.limit,
            tried: 0,
            reroutes: 0,
        };
        let shares = route.quantity.shares();
        match self.choose(&parent, false, tops) {
            Some(venue) => self.send_child(out, parent, shares, venue, now_ns, emit),
            None => self.cancel_back(route.order_id, shares, emit),
        }
    }

    /// Handles whole frames from a venue connection; returns the bytes consumed.
    pub fn on_data(
        &mut self,
        out: &mut Outbox,
        conn: ConnId,
        data: &[u8],
        tops: &impl Tops,
        now_ns: u64,
        emit: &mut impl FnMut(VenueReport),
    ) -> usize {
        let Some(venue) = self.venue_of(conn) else {
            return data.len();
        };
        self.venues[venue].last_heard_ns = now_ns;
        if self.venues[venue].config.fix.is_some() {
            return self.on_fix_data(out, venue, conn, data, tops, now_ns, emit);
        }
        let framed = each_frame(data, |header, body| {
            let expected = self.venues[venue].heard_sequence.wrapping_add(1);
            if header.sequence != expected {
                let detail = format!("sequence {}, expected {expected}", header.sequence);
                self.venue_error(out, venue, &detail, now_ns);
                return false;
            }
            self.venues[venue].heard_sequence = expected;
            match FromVenue::decode(header, body) {
                Ok(message) => self.on_message(out, venue, message, tops, now_ns, emit),
                Err(error) => self.venue_error(out, venue, &error.to_string(), now_ns),
            }
            out.is_open(conn)
        });
        framed.unwrap_or_else(|(_, error)| {
            self.venue_error(out, venue, &error.to_string(), now_ns);
            data.len()
        })
    }

    /// A venue connection closed: the venue is down, and its open children are handled
    /// at the next [`Router::tick`].
    pub fn on_close(&mut self, conn: ConnId, now_ns: u64) {
        if let Some(index) = self.venue_of(conn) {
            self.mark_down(index, now_ns);
        }
    }

    /// Housekeeping: connects venues that are down (blocking up to `connect_timeout_ms`
    /// each), sends heartbeats, drops silent venues, and handles child orders whose
    /// timers ran out or whose venue was lost.
    pub fn tick(
        &mut self,
        net: &mut Transport,
        tops: &impl Tops,
        now_ns: u64,
        emit: &mut impl FnMut(VenueReport),
    ) {
        for index in 0..self.venues.len() {
            self.keep_venue(net, index, now_ns);
        }
        let out = net.outbox();
        let mut at = 0;
        while at < self.open.len() {
            let slot = self.open[at];
            let Some(child) = self.children[slot as usize] else {
                at += 1;
                continue;
            };
            if self.venues[child.venue].conn != Some(child.conn) {
                // Its venue is gone, and with it the child (cancel on disconnect).
                self.stats.children_lost += 1;
                self.finish(out, slot, End::Lost, tops, now_ns, emit);
                // The open list swapped another child into `at`.
                continue;
            }
            if now_ns >= child.deadline_ns {
                self.expire(out, slot, now_ns);
            }
            at += 1;
        }
    }

    /// Connection upkeep for one venue.
    fn keep_venue(&mut self, net: &mut Transport, index: usize, now_ns: u64) {
        let heartbeat_ns = self.config.heartbeat_ms * 1_000_000;
        let venue = &mut self.venues[index];
        let name = &venue.config.name;
        match venue.state {
            VenueState::Down { retry_ns } if now_ns >= retry_ns => {
                let timeout = Duration::from_millis(self.config.connect_timeout_ms);
                match net.connect(venue.config.address, timeout) {
                    Ok(conn) => {
                        // Grows only when a connection gets a slot not seen before.
                        if self.venue_by_slot.len() <= conn.slot() {
                            self.venue_by_slot.resize(conn.slot() + 1, usize::MAX);
                        }
                        self.venue_by_slot[conn.slot()] = index;
                        venue.conn = Some(conn);
                        venue.state = VenueState::LoggingOn;
                        venue.logon_ns = now_ns;
                        venue.last_heard_ns = now_ns;
                        venue.sent_sequence = 0;
                        venue.heard_sequence = 0;
                        let logon = ToVenue::Logon {
                            firm: self.config.firm,
                        };
                        let heartbeat_s = self.config.heartbeat_ms.div_ceil(1000).max(1);
                        let context = fix::Context::logon(heartbeat_s);
                        send(net.outbox(), venue, &logon, &context, now_ns);
                    }
                    Err(error) => {
                        // Logged once per outage, not at every retry.
                        if !venue.retrying {
                            eprintln!(
                                "crossline: router: venue {name} at {}: {error}; retrying \
                                 every {} ms",
                                venue.config.address, self.config.reconnect_ms
                            );
                            venue.retrying = true;
                        }
                        venue.state = VenueState::Down {
                            retry_ns: now_ns.saturating_add(self.config.reconnect_ms * 1_000_000),
                        };
                    }
                }
            }
            VenueState::Down { .. } => {}
            VenueState::LoggingOn => {
                if now_ns.saturating_sub(venue.logon_ns) >= self.config.ack_timeout_ms * 1_000_000 {
                    eprintln!(
                        "crossline: router: venue {name} did not accept the logon within {} ms",
                        self.config.ack_timeout_ms
                    );
                    self.lose_venue(net.outbox(), index, now_ns);
                }
            }
            VenueState::Up => {
                if now_ns.saturating_sub(venue.last_heard_ns) >= 3 * heartbeat_ns {
                    eprintln!(
                        "crossline: router: venue {name} silent for three heartbeat intervals"
                    );
                    self.lose_venue(net.outbox(), index, now_ns);
                } else if now_ns.saturating_sub(venue.last_sent_ns) >= heartbeat_ns {
                    send(
                        net.outbox(),
                        venue,
                        &ToVenue::Heartbeat {},
                        &fix::Context::NONE,
                        now_ns,
                    );
                }
            }
        }
    }

    /// Ends a venue's session from this side: the connection is closed and the venue
    /// marked down. Its open children are handled at the next [`Router::tick`].
    fn lose_venue(&mut self, out: &mut Outbox, index: usize, now_ns: u64) {
        if let Some(conn) = self.mark_down(index, now_ns) {
            out.close(conn);
        }
    }

    /// Marks a venue down until its next connection attempt; returns the connection it
    /// had.
    fn mark_down(&mut self, index: usize, now_ns: u64) -> Option<ConnId> {
        let venue = &mut self.venues[index];
        venue.state = VenueState::Down {
            retry_ns: now_ns.saturating_add(self.config.reconnect_ms * 1_000_000),
        };
        let conn = venue.conn.take()?;
        eprintln!("crossline: router: venue {} lost", venue.config.name);
        self.stats.venues_lost += 1;
        Some(conn)
    }

    /// Whole FIX messages from a FIX venue's connection, as the same venue messages.
    #[allow(clippy::too_many_arguments)]
    fn on_fix_data(
        &mut self,
        out: &mut Outbox,
        venue: usize,
        conn: ConnId,
        data: &[u8],
        tops: &impl Tops,
        now_ns: u64,
        emit: &mut impl FnMut(VenueReport),
    ) -> usize {
        let mut consumed = 0;
        loop {
            let rest = &data[consumed..];
            let length = match crossline_fix::frame_length(rest) {
                Ok(Some(length)) => length,
                Ok(None) => return consumed,
                Err(error) => {
                    self.venue_error(out, venue, &format!("FIX: {error}"), now_ns);
                    return data.len();
                }
            };
            consumed += length;
            let v = &mut self.venues[venue];
            let fee = v.config.fee_per_share;
            match fix::decode(
                &rest[..length],
                &mut v.heard_sequence,
                u32::from(v.config.id),
                fee,
            ) {
                Ok(fix::Decoded::Message(message)) => {
                    self.on_message(out, venue, message, tops, now_ns, emit);
                }
                Ok(fix::Decoded::TestRequest(id)) => {
                    let context = fix::Context::test_request(&id);
                    send(
                        out,
                        &mut self.venues[venue],
                        &ToVenue::Heartbeat {},
                        &context,
                        now_ns,
                    );
                }
                Ok(fix::Decoded::Nothing) => {}
                Err(detail) => {
                    self.venue_error(out, venue, &detail, now_ns);
                    return data.len();
                }
            }
            if !out.is_open(conn) {
                return data.len();
            }
        }
    }

    fn on_message(
        &mut self,
        out: &mut Outbox,
        venue: usize,
        message: FromVenue,
        tops: &impl Tops,
        now_ns: u64,
        emit: &mut impl FnMut(VenueReport),
    ) {
        let child_id = match message {
            FromVenue::LogonAccepted { venue: id } => {
                let v = &mut self.venues[venue];
                if v.state != VenueState::LoggingOn || id != u32::from(v.config.id) {
                    let detail = format!("logon accepted as venue {id} in state {:?}", v.state);
                    return self.venue_error(out, venue, &detail, now_ns);
                }
                v.state = VenueState::Up;
                v.retrying = false;
                eprintln!(
                    "crossline: router: venue {} up at {}",
                    v.config.name, v.config.address
                );
                return;
            }
            FromVenue::Heartbeat {} => return,
            FromVenue::ChildAccepted { child_id }
            | FromVenue::ChildRejected { child_id, .. }
            | FromVenue::ChildFilled { child_id, .. }
            | FromVenue::ChildCancelled { child_id, .. } => child_id,
        };
        let Some(slot) = self.slot_of(child_id, venue) else {
            let detail = format!("{} for unknown child order {child_id}", message.label());
            return self.venue_error(out, venue, &detail, now_ns);
        };
        let Some(mut child) = self.children[slot as usize] else {
            return;
        };
        let leaves = child.quantity - child.filled;
        match message {
            FromVenue::ChildAccepted { .. } => {
                if child.stage == Stage::Sent {
                    child.stage = Stage::Working;
                    child.deadline_ns =
                        now_ns.saturating_add(self.config.fill_timeout_ms * 1_000_000);
                    self.children[slot as usize] = Some(child);
                }
            }
            FromVenue::ChildRejected { reason, .. } => {
                self.stats.children_rejected += 1;
                // Logged for the first few; the counter carries the rest.
                if self.stats.children_rejected <= LOGGED_MAX {
                    eprintln!(
                        "crossline: router: venue {} refused child {child_id} (reason {reason})",
                        self.venues[venue].config.name
                    );
                }
                self.finish(out, slot, End::Venue, tops, now_ns, emit);
            }
            FromVenue::ChildFilled {
                price,
                fee,
                quantity,
                leaves: venue_leaves,
                ..
            } => {
                let shares = quantity.shares();
                let side = child.parent.side;
                let outside = child
                    .parent
                    .limit
                    .is_some_and(|limit| !side.within(price, limit));
                if shares == 0
                    || shares > leaves
                    || venue_leaves.shares() != leaves - shares
                    || price <= Price::ZERO
                    || outside
                {
                    let detail = format!(
                        "fill of child {child_id}: {shares} shares at {price} with {} left, \
                         but {leaves} were open within limit {:?}",
                        venue_leaves.shares(),
                        child.parent.limit
                    );
                    return self.venue_error(out, venue, &detail, now_ns);
                }
                child.filled += shares;
                self.children[slot as usize] = Some(child);
                self.stats.shares_filled += u64::from(shares);
                self.stats.fees_micros = self.stats.fees_micros.saturating_add(fee);
                if fee >= 0 {
                    self.stats.fees_paid_micros += fee.unsigned_abs();
                } else {
                    self.stats.rebates_micros += fee.unsigned_abs();
                }
                emit(VenueReport::Fill(VenueFill {
                    order_id: child.parent.order_id,
                    quantity,
                    price,
                    venue: self.venues[venue].config.id,
                    fee: Price::from_micros(fee),
                }));
                if child.filled == child.quantity {
                    self.finish(out, slot, End::Venue, tops, now_ns, emit);
                }
            }
            FromVenue::ChildCancelled { quantity, .. } => {
                if quantity.shares() != leaves {
                    let detail = format!(
                        "cancel of child {child_id} for {} shares, but {leaves} were open",
                        quantity.shares()
                    );
                    return self.venue_error(out, venue, &detail, now_ns);
                }
                self.finish(out, slot, End::Venue, tops, now_ns, emit);
            }
            FromVenue::LogonAccepted { .. } | FromVenue::Heartbeat {} => {}
        }
    }

    /// The open child `child_id` on `venue`, if there is one.
    fn slot_of(&self, child_id: u64, venue: usize) -> Option<u32> {
        let slot = u32::try_from(child_id & u64::from(u32::MAX)).ok()?;
        let child = self.children.get(slot as usize)?.as_ref()?;
        (child.id == child_id && child.venue == venue).then_some(slot)
    }

    /// A venue broke the protocol: logged, counted, and disconnected (its open children
    /// are handled as on any venue loss).
    fn venue_error(&mut self, out: &mut Outbox, venue: usize, detail: &str, now_ns: u64) {
        self.stats.venue_errors += 1;
        if self.stats.venue_errors <= LOGGED_MAX {
            eprintln!(
                "crossline: router: venue {}: {detail}; disconnecting",
                self.venues[venue].config.name
            );
        }
        self.lose_venue(out, venue, now_ns);
    }

    /// A child's timer ran out: a cancel is sent (once); a cancel unanswered in time
    /// drops the venue.
    fn expire(&mut self, out: &mut Outbox, slot: u32, now_ns: u64) {
        let Some(mut child) = self.children[slot as usize] else {
            return;
        };
        if child.stage == Stage::Cancelling {
            eprintln!(
                "crossline: router: venue {} did not answer the cancel of child {} within {} ms",
                self.venues[child.venue].config.name, child.id, self.config.cancel_timeout_ms
            );
            return self.lose_venue(out, child.venue, now_ns);
        }
        let venue = &mut self.venues[child.venue];
        self.stats.timeouts += 1;
        child.stage = Stage::Cancelling;
        child.deadline_ns = now_ns.saturating_add(self.config.cancel_timeout_ms * 1_000_000);
        self.children[slot as usize] = Some(child);
        let context =
            fix::Context::child(&self.config.tickers, child.parent.symbol, child.parent.side);
        send(
            out,
            venue,
            &ToVenue::CancelChild { child_id: child.id },
            &context,
            now_ns,
        );
    }

    /// A child is over: its fill history is recorded, and any shares left go to another
    /// venue or back to the parent.
    fn finish(
        &mut self,
        out: &mut Outbox,
        slot: u32,
        end: End,
        tops: &impl Tops,
        now_ns: u64,
        emit: &mut impl FnMut(VenueReport),
    ) {
        let Some(child) = self.children[slot as usize].take() else {
            return;
        };
        self.release(slot, child.open_at);
        self.venues[child.venue]
            .fills
            .record(child.quantity, child.filled);
        emit(VenueReport::Child(VenueChild {
            order_id: child.parent.order_id,
            venue: self.venues[child.venue].config.id,
            quantity: Quantity::new(child.quantity),
            filled: Quantity::new(child.filled),
            lost: end == End::Lost,
        }));
        let left = child.quantity - child.filled;
        if left == 0 {
            return;
        }
        let parent = child.parent;
        let may_reroute = parent.reroutes < self.config.reroutes_max
            && (end == End::Venue || self.config.on_venue_loss == VenueLoss::Reroute);
        // After a venue's own answer only a venue showing an acceptable price is worth a
        // try; after a loss any connected venue is (the shares were never offered).
        let next = may_reroute
            .then(|| self.choose(&parent, end == End::Venue, tops))
            .flatten();
        match next {
            Some(venue) => {
                self.stats.reroutes += 1;
                let parent = Parent {
                    reroutes: parent.reroutes + 1,
                    ..parent
                };
                self.send_child(out, parent, left, venue, now_ns, emit);
            }
            None => self.cancel_back(parent.order_id, left, emit),
        }
    }

    fn cancel_back(&mut self, order_id: OrderId, shares: u32, emit: &mut impl FnMut(VenueReport)) {
        self.stats.cancelled_back += 1;
        emit(VenueReport::Cancel(VenueCancel {
            order_id,
            quantity: Quantity::new(shares),
        }));
    }

    /// The best venue for `parent` that is up and not yet tried (`displayed_only`: one
    /// showing a price the parent's limit accepts).
    fn choose(&self, parent: &Parent, displayed_only: bool, tops: &impl Tops) -> Option<usize> {
        let buy = parent.side.is_buy();
        let mut best: Option<((bool, i64, i64, u64), usize)> = None;
        for (index, venue) in self.venues.iter().enumerate() {
            if venue.state != VenueState::Up || parent.tried & (1 << index) != 0 {
                continue;
            }
            let price = tops
                .venue_top(venue.config.id, parent.symbol)
                .and_then(|top| {
                    let (price, size) = if buy {
                        (top.ask, top.ask_size)
                    } else {
                        (top.bid, top.bid_size)
                    };
                    (price > Price::ZERO && size.shares() > 0).then_some(price)
                })
                .filter(|&price| {
                    parent
                        .limit
                        .is_none_or(|limit| parent.side.within(price, limit))
                });
            if displayed_only && price.is_none() {
                continue;
            }
            // Lower sorts first: a shown price, then the better price (lower to buy,
            // higher to sell), the lower fee, the higher fill rate.
            let better_price = price.map_or(
                0,
                |price| {
                    if buy {
                        price.micros()
                    } else {
                        -price.micros()
                    }
                },
            );
            let key = (
                price.is_none(),
                better_price,
                venue.config.fee_per_share.micros(),
                u64::MAX - venue.fills.rate_ppm(),
            );
            if best.is_none_or(|(best_key, _)| key < best_key) {
                best = Some((key, index));
            }
        }
        best.map(|(_, index)| index)
    }

    /// Sends a child for `shares` of `parent` to `venue` (one that is up), or cancels
    /// them back when the child table is full.
    fn send_child(
        &mut self,
        out: &mut Outbox,
        parent: Parent,
        shares: u32,
        venue: usize,
        now_ns: u64,
        emit: &mut impl FnMut(VenueReport),
    ) {
        let (Some(slot), Some(conn)) = (self.free.last().copied(), self.venues[venue].conn) else {
            self.stats.table_full += 1;
            if self.stats.table_full <= LOGGED_MAX {
                eprintln!(
                    "crossline: router: {} child orders open, the most allowed; order {} is \
                     cancelled back",
                    self.config.children_max, parent.order_id
                );
            }
            return self.cancel_back(parent.order_id, shares, emit);
        };
        self.free.pop();
        let id = (self.next_serial << 32) | u64::from(slot);
        self.next_serial += 1;
        let child = Child {
            id,
            parent: Parent {
                tried: parent.tried | 1 << venue,
                ..parent
            },
            quantity: shares,
            filled: 0,
            venue,
            conn,
            stage: Stage::Sent,
            deadline_ns: now_ns.saturating_add(self.config.ack_timeout_ms * 1_000_000),
            open_at: self.open.len(),
        };
        self.children[slot as usize] = Some(child);
        self.open.push(slot);
        self.stats.children_sent += 1;
        let message = ToVenue::NewChild {
            child_id: id,
            symbol: parent.symbol,
            quantity: Quantity::new(shares),
            price: parent.limit.unwrap_or(Price::ZERO),
            side: parent.side,
            time_in_force: TimeInForce::ImmediateOrCancel,
        };
        // A send that fails closes the connection: the child is then handled as lost.
        let context = fix::Context::child(&self.config.tickers, parent.symbol, parent.side);
        send(out, &mut self.venues[venue], &message, &context, now_ns);
    }

    /// Frees a child's slot and takes it off the open list.
    fn release(&mut self, slot: u32, open_at: usize) {
        self.open.swap_remove(open_at);
        if let Some(&moved) = self.open.get(open_at) {
            if let Some(child) = self.children[moved as usize].as_mut() {
                child.open_at = open_at;
            }
        }
        self.free.push(slot);
    }
}

/// Sends one message on a venue's session; a full or closed connection is closed (its
/// children are then handled as lost).
fn send(
    out: &mut Outbox,
    venue: &mut Venue,
    message: &ToVenue,
    context: &fix::Context<'_>,
    now_ns: u64,
) {
    let Some(conn) = venue.conn else {
        return;
    };
    venue.sent_sequence = venue.sent_sequence.wrapping_add(1);
    venue.last_sent_ns = now_ns;
    if let Some(session) = &venue.config.fix {
        let mut buffer = [0u8; fix::MESSAGE_BYTES];
        if let Some(bytes) = fix::encode(
            session,
            venue.sent_sequence,
            message,
            context,
            now_ns,
            &mut buffer,
        ) {
            if out.send(conn, bytes).is_err() {
                out.close(conn);
            }
        }
        return;
    }
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let length = message.encode(venue.sent_sequence, 0, &mut frame);
    if out.send(conn, &frame[..length]).is_err() {
        out.close(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYMBOL: SymbolId = SymbolId::new(1);

    fn router(fees: [i64; 3]) -> Router {
        let venues = (0..3u8)
            .map(|index| VenueConfig {
                fix: None,
                id: index + 1,
                name: format!("V{}", index + 1),
                address: format!("127.0.0.1:{}", 9301 + u16::from(index))
                    .parse()
                    .unwrap(),
                fee_per_share: Price::from_micros(fees[usize::from(index)]),
            })
            .collect();
        let mut router = Router::new(&RouterConfig {
            venues,
            ..RouterConfig::default()
        })
        .unwrap();
        for venue in &mut router.venues {
            venue.state = VenueState::Up;
        }
        router
    }

    fn buy(limit: Option<i64>) -> Parent {
        Parent {
            order_id: OrderId::new(1),
            symbol: SYMBOL,
            side: Side::Buy,
            limit: limit.map(Price::from_micros),
            tried: 0,
            reroutes: 0,
        }
    }

    /// Venue tops from (ask in micro-dollars, ask size) per venue id; 0 size: no offer.
    fn tops(asks: [(i64, u32); 3]) -> impl Fn(u8, SymbolId) -> Option<Quote> {
        move |venue, symbol| {
            let (ask, size) = asks[usize::from(venue) - 1];
            Some(Quote {
                symbol,
                bid: Price::from_micros(ask - 20_000),
                bid_size: Quantity::new(100),
                ask: Price::from_micros(ask),
                ask_size: Quantity::new(size),
            })
        }
    }

    fn id(router: &Router, index: Option<usize>) -> Option<u8> {
        index.map(|index| router.venues[index].config.id)
    }

    #[test]
    fn the_best_displayed_price_comes_before_the_fee() {
        let router = router([3_000, 3_000, 1_000]);
        let tops = tops([(10_010_000, 100), (10_000_000, 100), (10_020_000, 100)]);
        assert_eq!(
            id(&router, router.choose(&buy(None), false, &tops)),
            Some(2)
        );
    }

    #[test]
    fn at_the_same_price_the_lower_fee_wins_then_the_higher_fill_rate() {
        let mut router = router([3_000, 2_000, 2_000]);
        let tops = tops([(10_000_000, 100); 3]);
        // Venues 2 and 3 tie on price and fee: configuration order decides.
        assert_eq!(
            id(&router, router.choose(&buy(None), false, &tops)),
            Some(2)
        );
        // Venue 2 fills less of what it gets: venue 3 wins.
        router.venues[1].fills.record(100, 50);
        router.venues[2].fills.record(100, 90);
        assert_eq!(
            id(&router, router.choose(&buy(None), false, &tops)),
            Some(3)
        );
    }

    #[test]
    fn a_price_outside_the_limit_or_without_size_counts_as_no_price() {
        let router = router([1_000, 2_000, 3_000]);
        // Venue 1 is cheapest but shows nothing; venue 2 is past the limit.
        let tops = tops([(10_000_000, 0), (10_050_000, 100), (10_040_000, 100)]);
        let parent = buy(Some(10_040_000));
        assert_eq!(id(&router, router.choose(&parent, false, &tops)), Some(3));
        assert_eq!(id(&router, router.choose(&parent, true, &tops)), Some(3));
        // With no acceptable price anywhere, a first route still goes out (by fee) ...
        let parent = buy(Some(9_000_000));
        assert_eq!(id(&router, router.choose(&parent, false, &tops)), Some(1));
        // ... but a re-route after a venue's answer does not.
        assert_eq!(router.choose(&parent, true, &tops), None);
    }

    #[test]
    fn venues_tried_or_not_up_are_passed_over() {
        let mut router = router([1_000, 2_000, 3_000]);
        let tops = tops([(10_000_000, 100); 3]);
        let mut parent = buy(None);
        parent.tried = 1; // venue 1
        router.venues[1].state = VenueState::LoggingOn;
        assert_eq!(id(&router, router.choose(&parent, false, &tops)), Some(3));
        router.venues[2].state = VenueState::Down { retry_ns: 0 };
        assert_eq!(router.choose(&parent, false, &tops), None);
    }

    #[test]
    fn a_sell_takes_the_highest_bid() {
        let router = router([1_000, 1_000, 1_000]);
        let tops = tops([(10_000_000, 100), (10_030_000, 100), (10_010_000, 100)]);
        let mut parent = buy(None);
        parent.side = Side::Sell;
        // Bids are 2 cents under each ask: venue 2's is highest.
        assert_eq!(id(&router, router.choose(&parent, false, &tops)), Some(2));
    }

    /// A router whose venue 1 is up on a real (loopback) connection, with the transport.
    fn connected(config: RouterConfig) -> (Router, Transport) {
        let mut net = Transport::new(&crossline_net::NetConfig {
            backend: crossline_net::Backend::Epoll,
            ..crossline_net::NetConfig::default()
        })
        .unwrap();
        let (_, address) = net.listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let conn = net.connect(address, Duration::from_secs(1)).unwrap();
        let mut router = Router::new(&config).unwrap();
        router.venue_by_slot = vec![0; conn.slot() + 1];
        router.venues[0].conn = Some(conn);
        router.venues[0].state = VenueState::Up;
        (router, net)
    }

    fn route(order: u64) -> RouteInstruction {
        RouteInstruction {
            order_id: OrderId::new(order),
            symbol: SYMBOL,
            side: Side::Buy,
            quantity: Quantity::new(100),
            limit: None,
            capacity: crossline_types::Capacity::Agency,
        }
    }

    fn one_venue(config: RouterConfig) -> RouterConfig {
        RouterConfig {
            venues: vec![VenueConfig {
                fix: None,
                id: 1,
                name: "V1".into(),
                address: "127.0.0.1:9".parse().unwrap(),
                fee_per_share: Price::ZERO,
            }],
            ..config
        }
    }

    #[test]
    fn a_route_past_the_child_table_is_cancelled_back() {
        let config = one_venue(RouterConfig {
            children_max: 1,
            ..RouterConfig::default()
        });
        let (mut router, mut net) = connected(config);
        let tops = tops([(10_000_000, 100); 3]);
        let mut commands = Vec::new();
        router.route(net.outbox(), &route(1), &tops, 0, &mut |c| commands.push(c));
        assert_eq!((router.open_children(), commands.len()), (1, 0));
        router.route(net.outbox(), &route(2), &tops, 0, &mut |c| commands.push(c));
        let back = VenueReport::Cancel(VenueCancel {
            order_id: OrderId::new(2),
            quantity: Quantity::new(100),
        });
        assert_eq!(commands, [back]);
        assert_eq!(router.stats().table_full, 1);
    }

    #[test]
    fn a_venue_silent_for_three_heartbeats_is_dropped_and_its_child_cancelled_back() {
        let config = one_venue(RouterConfig {
            on_venue_loss: VenueLoss::Cancel,
            heartbeat_ms: 100,
            ..RouterConfig::default()
        });
        let (mut router, mut net) = connected(config);
        let tops = tops([(10_000_000, 100); 3]);
        let mut commands = Vec::new();
        router.route(net.outbox(), &route(1), &tops, 0, &mut |c| commands.push(c));
        // Two intervals of silence: still up (a heartbeat goes out).
        router.tick(&mut net, &tops, 200_000_000, &mut |c| commands.push(c));
        assert_eq!(router.venues[0].state, VenueState::Up);
        assert!(commands.is_empty());
        // Three: dropped, and its open child is over (cancel on disconnect).
        router.tick(&mut net, &tops, 300_000_000, &mut |c| commands.push(c));
        assert!(matches!(router.venues[0].state, VenueState::Down { .. }));
        assert_eq!(router.stats().venues_lost, 1);
        // The child's end at the lost venue is recorded, then its shares come back.
        let child = VenueReport::Child(VenueChild {
            order_id: OrderId::new(1),
            venue: router.venues[0].config.id,
            quantity: Quantity::new(100),
            filled: Quantity::new(0),
            lost: true,
        });
        let back = VenueReport::Cancel(VenueCancel {
            order_id: OrderId::new(1),
            quantity: Quantity::new(100),
        });
        assert_eq!(commands, [child, back]);
        assert_eq!(router.open_children(), 0);
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let mut config = router([0; 3]).config;
        config.venues[2].id = 1;
        assert_eq!(config.validate().unwrap_err().field, "id");
        let config = RouterConfig {
            ack_timeout_ms: 0,
            ..RouterConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "ack_timeout_ms = 0: between 1 and 3600000 milliseconds"
        );
    }
}
