//! The matcher's inputs and outputs.

use crossline_types::layout::{
    head, ExecutedLayout, PositionChangedLayout, ReleasedLayout, ReplacedLayout, RouteLayout,
    SnapshotLayout,
};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, LiquiditySource, Message, NewOrder, OrderId, Price,
    Quantity, Quote, Replace, SequenceNumber, Side, SymbolId, Timestamp, ValueError,
};
use zerocopy::little_endian::{I64, U32, U64};

use crate::config::{SettingsError, SymbolSettings};

/// A venue's fill and cancel of a child order are plain data shared with the router
/// and the message layouts: they live in `crossline-types`.
pub use crossline_types::{VenueCancel, VenueFill};

/// One sequenced input. The sequence number and time travel beside it (see
/// [`crate::Matcher::apply`]).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A client's new order. It is given the input's sequence number as its [`OrderId`].
    NewOrder(NewOrder),
    /// A client's cancel request.
    Cancel(Cancel),
    /// A client's cancel/replace request.
    Replace(Replace),
    /// A new national best bid and offer for a symbol.
    Nbbo(Quote),
    /// A venue executed (part of) the child order routed for an order.
    VenueFill(VenueFill),
    /// A venue cancelled the rest of the child order routed for an order.
    VenueCancel(VenueCancel),
    /// The trading day ended: day orders expire.
    EndOfDay,
    /// The firm changed a symbol's settings.
    Settings(SettingsChange),
    /// A kill switch: cancel every client order in scope.
    MassCancel(MassCancel),
    /// An operator set a client's price-improvement multiplier (or its expiry reverted
    /// it): the firm's principal fills of the client's orders are priced with it.
    ClientImprovement(ClientImprovement),
    /// A snapshot is being taken at this input's sequence number: the matcher's state now
    /// is the cut. Changes nothing; answers with [`Event::Snapshot`], which tells whoever
    /// collects the matcher's events that every event before the cut has arrived.
    Snapshot,
}

/// The scope of a mass cancel: the client orders of `client` (any client when `None`) in
/// `symbol` (any symbol when `None`). Shares out at a venue are cancelled when the venue
/// returns them instead of resting again. The firm's hedge orders are always out at a
/// venue, immediate-or-cancel, so the venue ends them either way; turn hedging off with a
/// settings change to stop new ones.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MassCancel {
    /// Only this client's orders.
    pub client: Option<ClientId>,
    /// Only orders in this symbol.
    pub symbol: Option<SymbolId>,
}

/// A client's price-improvement multiplier: the improvement the firm gives on a
/// principal fill of the client's order (its symbol's configured fraction of the spread,
/// before inventory skew) is scaled by `multiplier_ppm / 1,000,000`, and never goes below
/// the symbol's minimum. A client nobody set one for has 1,000,000.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientImprovement {
    /// The client.
    pub client: ClientId,
    /// The multiplier, parts per million: 0 to [`IMPROVEMENT_MULTIPLIER_PPM_MAX`].
    pub multiplier_ppm: u32,
}

/// The largest price-improvement multiplier, ppm (×2.0): the admin message's bound.
pub const IMPROVEMENT_MULTIPLIER_PPM_MAX: u32 =
    crossline_types::layout::AdminLayout::IMPROVEMENT_MULTIPLIER_PPM_MAX;

/// New settings for a symbol.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingsChange {
    /// The symbol.
    pub symbol: SymbolId,
    /// Its new settings.
    pub settings: SymbolSettings,
}

/// The national best bid and offer prices, as recorded on an execution. Zero means no
/// price on that side.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NbboPrices {
    /// National best bid.
    pub bid: Price,
    /// National best offer.
    pub ask: Price,
}

/// The other side of an execution.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contra {
    /// Another client's order (internal cross).
    Order(OrderId),
    /// The firm's inventory (principal fill).
    Firm,
    /// An external venue (the order's routed child).
    Venue,
}

/// One execution against a client's order.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Execution {
    /// The order executed.
    pub order_id: OrderId,
    /// Its client.
    pub client: ClientId,
    /// The client's id for it.
    pub client_order_id: ClientOrderId,
    /// Its symbol.
    pub symbol: SymbolId,
    /// Its side.
    pub side: Side,
    /// Execution price (may be sub-penny).
    pub price: Price,
    /// Shares executed.
    pub quantity: Quantity,
    /// Shares still working after this execution.
    pub leaves: Quantity,
    /// Where the liquidity came from.
    pub liquidity: LiquiditySource,
    /// The capacity the firm acted in.
    pub capacity: Capacity,
    /// Who the order traded with.
    pub contra: Contra,
    /// The NBBO when the order was received (or last replaced with a new price or size).
    pub nbbo_at_receipt: NbboPrices,
    /// The NBBO in force at the execution.
    pub nbbo_at_execution: NbboPrices,
    /// How much better than the NBBO at execution the price is, per share: the national
    /// best offer minus the price for a buy, the price minus the national best bid for a
    /// sell. Negative when a venue executed outside the NBBO the matcher knew.
    pub price_improvement: Price,
}

/// A child order for the router: venue-agnostic; the router picks the venue.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInstruction {
    /// The parent order; venue reports name it.
    pub order_id: OrderId,
    /// The symbol.
    pub symbol: SymbolId,
    /// The side (short sales stay marked short).
    pub side: Side,
    /// Shares to route.
    pub quantity: Quantity,
    /// Limit price; `None` for a market order.
    pub limit: Option<Price>,
    /// Agency for a client's order; principal for the firm's own (the hedger's).
    pub capacity: Capacity,
}

impl RouteInstruction {
    /// The route as its 56-byte message on the `events_out` ring ([`RouteLayout`]):
    /// `sequence` is the journal position of the command that caused it, `time` that
    /// command's time.
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        let mut view = head::<RouteLayout>(sequence, time);
        view.side = self.side.code();
        view.capacity = self.capacity.code();
        view.symbol = U32::new(self.symbol.get());
        view.order_id = U64::new(self.order_id.get());
        if let Some(limit) = self.limit {
            view.flags = RouteLayout::FLAG_LIMIT;
            view.limit = I64::new(limit.micros());
        }
        view.quantity = U32::new(self.quantity.shares());
        Message::from_view(&view)
    }

    /// The route a [`RouteLayout`] message holds.
    ///
    /// # Errors
    /// [`ValueError::UnknownCode`] naming what is wrong: a message of another kind, an
    /// undefined side or capacity code, or a flag bit not defined.
    pub fn from_message(message: &Message) -> Result<RouteInstruction, ValueError> {
        let view = message
            .view::<RouteLayout>()
            .ok_or(ValueError::UnknownCode {
                what: "message kind (a Route, 18, expected)",
                code: message.kind(),
            })?;
        if view.flags & !RouteLayout::FLAG_LIMIT != 0 {
            return Err(ValueError::UnknownCode {
                what: "Route flags",
                code: view.flags,
            });
        }
        Ok(RouteInstruction {
            order_id: OrderId::new(view.order_id.get()),
            symbol: SymbolId::new(view.symbol.get()),
            side: Side::try_from(view.side)?,
            quantity: Quantity::new(view.quantity.get()),
            limit: (view.flags & RouteLayout::FLAG_LIMIT != 0)
                .then(|| Price::from_micros(view.limit.get())),
            capacity: Capacity::try_from(view.capacity)?,
        })
    }
}

/// The firm's own quote for a symbol in active mode. Zero sizes mean no quote.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FirmQuote {
    /// The symbol.
    pub symbol: SymbolId,
    /// The price the firm buys at.
    pub bid: Price,
    /// Shares it buys there.
    pub bid_size: Quantity,
    /// The price the firm sells at.
    pub ask: Price,
    /// Shares it sells there.
    pub ask_size: Quantity,
}

/// Why a new order was rejected (nothing about it was kept).
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, thiserror::Error,
)]
pub enum RejectReason {
    /// The symbol is not configured.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// The quantity is zero.
    #[error("quantity must be positive")]
    ZeroQuantity,
    /// A limit price of zero or less.
    #[error("limit price must be positive")]
    PriceNotPositive,
    /// Rule 612: a price of $1.00 or more in an increment finer than $0.01, or a lower
    /// price finer than $0.0001.
    #[error("limit price is in an increment finer than Rule 612 allows")]
    SubPennyIncrement,
    /// An order that may rest is not on the symbol's book tick.
    #[error("limit price is not on the symbol's book tick")]
    PriceNotOnBookTick,
    /// The client already has a working order with this client order id.
    #[error("client order id is already in use by a working order")]
    DuplicateClientOrderId,
    /// The matcher already holds `orders_max` working orders.
    #[error("the matcher's order table is full")]
    OrdersFull,
    /// The NBBO is missing, one-sided, locked, crossed or stale, and the firm rejects
    /// orders that need it.
    #[error("the NBBO is unusable (missing, locked, crossed or stale)")]
    NbboUnusable,
}

impl RejectReason {
    /// The stable reason code on the wire (1 to 99; the risk gate's codes are 101 and up), listed in `docs/PROTOCOL.md`.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            RejectReason::UnknownSymbol => 1,
            RejectReason::ZeroQuantity => 2,
            RejectReason::PriceNotPositive => 3,
            RejectReason::SubPennyIncrement => 4,
            RejectReason::PriceNotOnBookTick => 5,
            RejectReason::DuplicateClientOrderId => 6,
            RejectReason::OrdersFull => 7,
            RejectReason::NbboUnusable => 8,
        }
    }
}

/// Why working quantity was cancelled.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, thiserror::Error,
)]
pub enum CancelReason {
    /// The client asked.
    #[error("cancelled at the client's request")]
    Requested,
    /// Immediate-or-cancel: what could not execute at once.
    #[error("immediate-or-cancel remainder")]
    ImmediateOrCancel,
    /// Fill-or-kill: the whole quantity could not execute at once.
    #[error("fill-or-kill could not fill in full")]
    FillOrKill,
    /// A market order with nowhere to go (no venue route).
    #[error("market order remainder with no liquidity")]
    NoLiquidity,
    /// Self-match prevention.
    #[error("self-match prevention")]
    SelfMatch,
    /// A day order expired at the end of the day.
    #[error("day order expired")]
    EndOfDay,
    /// Resting would lock or cross the internal book: the contra order at that price
    /// cannot be crossed at a price inside the NBBO.
    #[error("resting would lock or cross the internal book")]
    WouldLockBook,
    /// The symbol's book is full (orders or far-away levels).
    #[error("the symbol's book is full")]
    BookFull,
    /// Routed shares came back unfilled (an `Input::VenueCancel`) and the order may not
    /// rest them: a market or immediate-or-cancel order (one a kill switch made
    /// immediate-or-cancel while it was out included), an order accepted on an earlier
    /// trading day, or a hedge. The router sends the cancel back whenever shares it was
    /// given end up nowhere: the venue cancelled or refused the child (on its own, or
    /// answering the router's cancel after an acknowledgement or fill timeout) and no
    /// other venue takes the rest; no venue was up, or the child table was full, when the
    /// order was routed; the venue was lost (disconnected, silent, a protocol error, a
    /// cancel left unanswered) and the remainder was not re-routed. The pipeline also
    /// cancels back, at start-up, whatever the previous run left out at venues.
    #[error("the venue cancelled the routed remainder")]
    VenueCancelled,
    /// A kill switch cancelled it (a mass cancel).
    #[error("cancelled by a kill switch")]
    KillSwitch,
}

impl CancelReason {
    /// The stable reason code on the wire, listed in `docs/PROTOCOL.md`.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            CancelReason::Requested => 1,
            CancelReason::ImmediateOrCancel => 2,
            CancelReason::FillOrKill => 3,
            CancelReason::NoLiquidity => 4,
            CancelReason::SelfMatch => 5,
            CancelReason::EndOfDay => 6,
            CancelReason::WouldLockBook => 7,
            CancelReason::BookFull => 8,
            CancelReason::VenueCancelled => 9,
            CancelReason::KillSwitch => 10,
        }
    }
}

/// Why a cancel or cancel/replace request was refused (the order is unchanged).
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, thiserror::Error,
)]
pub enum CancelRejectReason {
    /// No working order of this client has that client order id.
    #[error("no working order with that client order id")]
    UnknownOrder,
    /// The request names a different symbol than the order's.
    #[error("the request's symbol is not the order's")]
    SymbolMismatch,
    /// The order is out at a venue; it can be changed when the venue reports back.
    #[error("the order is out at a venue")]
    OrderAtVenue,
    /// The replacement's client order id is already in use.
    #[error("the replacement client order id is already in use")]
    DuplicateClientOrderId,
    /// The replacement quantity does not exceed what has already executed.
    #[error("the replacement quantity does not exceed the executed quantity")]
    QuantityNotAboveFilled,
    /// The replacement price is not positive.
    #[error("limit price must be positive")]
    PriceNotPositive,
    /// The replacement price breaks Rule 612.
    #[error("limit price is in an increment finer than Rule 612 allows")]
    SubPennyIncrement,
    /// The replacement price is not on the symbol's book tick.
    #[error("limit price is not on the symbol's book tick")]
    PriceNotOnBookTick,
    /// Only limit orders can be replaced.
    #[error("only a limit order can be replaced")]
    NotALimitOrder,
}

impl CancelRejectReason {
    /// The stable reason code on the wire, listed in `docs/PROTOCOL.md`.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            CancelRejectReason::UnknownOrder => 1,
            CancelRejectReason::SymbolMismatch => 2,
            CancelRejectReason::OrderAtVenue => 3,
            CancelRejectReason::DuplicateClientOrderId => 4,
            CancelRejectReason::QuantityNotAboveFilled => 5,
            CancelRejectReason::PriceNotPositive => 6,
            CancelRejectReason::SubPennyIncrement => 7,
            CancelRejectReason::PriceNotOnBookTick => 8,
            CancelRejectReason::NotALimitOrder => 9,
        }
    }
}

/// Why a non-order input was refused (it changed nothing).
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, thiserror::Error,
)]
pub enum InputError {
    /// The symbol is not configured.
    #[error("unknown symbol {symbol}")]
    UnknownSymbol {
        /// The symbol.
        symbol: SymbolId,
    },
    /// An NBBO price is negative.
    #[error("NBBO for symbol {symbol} has a negative price")]
    NegativeNbboPrice {
        /// The symbol.
        symbol: SymbolId,
    },
    /// A venue report names no order with a child out at a venue.
    #[error("venue report for order {order_id}, which has nothing out at a venue")]
    UnknownRoute {
        /// The order named.
        order_id: OrderId,
    },
    /// A venue report's quantity is zero or more than the child has out.
    #[error("venue report for order {order_id} has {quantity} shares; {routed} are out")]
    VenueQuantity {
        /// The order named.
        order_id: OrderId,
        /// The report's quantity.
        quantity: Quantity,
        /// Shares out at the venue.
        routed: Quantity,
    },
    /// A venue fill outside the child's limit, or not positive.
    #[error("venue fill for order {order_id} at {price} is outside the child's limit")]
    VenuePrice {
        /// The order named.
        order_id: OrderId,
        /// The fill's price.
        price: Price,
    },
    /// A price-improvement multiplier above [`IMPROVEMENT_MULTIPLIER_PPM_MAX`].
    #[error("improvement multiplier {multiplier_ppm} ppm for client {client} is above 2000000")]
    ImprovementMultiplier {
        /// The client.
        client: ClientId,
        /// The multiplier asked for.
        multiplier_ppm: u32,
    },
    /// Invalid settings.
    #[error("settings for symbol {symbol}: {source}")]
    Settings {
        /// The symbol.
        symbol: SymbolId,
        /// Why.
        source: SettingsError,
    },
}

/// One output of the matcher.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A new order was accepted.
    Accepted {
        /// Its engine id: the sequence number of the input that created it.
        order_id: OrderId,
        /// Its client.
        client: ClientId,
        /// The client's id for it.
        client_order_id: ClientOrderId,
        /// Its symbol.
        symbol: SymbolId,
    },
    /// A new order was rejected.
    Rejected {
        /// Its client.
        client: ClientId,
        /// The client's id for it.
        client_order_id: ClientOrderId,
        /// Its symbol.
        symbol: SymbolId,
        /// Why.
        reason: RejectReason,
    },
    /// An execution.
    Filled(Execution),
    /// Working quantity of an order was cancelled.
    Cancelled {
        /// The order.
        order_id: OrderId,
        /// Its client.
        client: ClientId,
        /// The client's id for it.
        client_order_id: ClientOrderId,
        /// Shares cancelled.
        quantity: Quantity,
        /// Why.
        reason: CancelReason,
    },
    /// An order was replaced.
    Replaced {
        /// The order (its engine id does not change).
        order_id: OrderId,
        /// Its client.
        client: ClientId,
        /// The client's new id for it.
        client_order_id: ClientOrderId,
        /// The client's previous id for it.
        original_client_order_id: ClientOrderId,
        /// Its limit price now.
        price: Price,
        /// Its total quantity now (executed shares included).
        quantity: Quantity,
        /// Whether it kept its time priority (a size decrease at the same price).
        priority_kept: bool,
    },
    /// A cancel or cancel/replace request was refused.
    CancelRejected {
        /// The client.
        client: ClientId,
        /// The client's id for the request.
        client_order_id: ClientOrderId,
        /// The client's id of the order it named.
        original_client_order_id: ClientOrderId,
        /// Why.
        reason: CancelRejectReason,
    },
    /// Route a child order to a venue.
    Route(RouteInstruction),
    /// The firm's position in a symbol changed.
    PositionChanged {
        /// The symbol.
        symbol: SymbolId,
        /// The position now, in shares (negative: short).
        position: i64,
        /// The change, in shares.
        delta: i64,
        /// The execution price.
        price: Price,
    },
    /// The firm's quote moved (active mode).
    FirmQuote(FirmQuote),
    /// A non-order input was refused.
    InputRejected {
        /// Why.
        reason: InputError,
    },
    /// The answer to [`Input::Snapshot`]: the events before this one are every event of
    /// the inputs before the snapshot's cut.
    Snapshot {
        /// The snapshot input's sequence number.
        sequence: SequenceNumber,
    },
}

impl Event {
    /// The event as the 56-byte message that goes back to the sequencer on
    /// `events_back`, stamped with the `sequence` and `time` of the input that caused
    /// it: the events the risk gate follows (an order rejected or cancelled, an
    /// execution, a replace, a position change: `docs/MESSAGES.md`, kinds 14 to 17,
    /// with only the fields the gate reads) and a snapshot marker (kind 11, its
    /// sequence the snapshot's), which closes a live cut. `None` for every other event:
    /// nothing else goes back, and only these count in a journal record's
    /// `events_applied`, live and in replay alike.
    #[must_use]
    pub fn to_back_message(&self, sequence: SequenceNumber, time: Timestamp) -> Option<Message> {
        let released = |cause, client: ClientId, client_order_id: ClientOrderId| {
            let mut view = head::<ReleasedLayout>(sequence, time);
            view.cause = cause;
            view.client = U32::new(client.get());
            view.client_order_id = U64::new(client_order_id.get());
            Message::from_view(&view)
        };
        Some(match *self {
            Event::Rejected {
                client,
                client_order_id,
                ..
            } => released(ReleasedLayout::CAUSE_REJECTED, client, client_order_id),
            Event::Cancelled {
                client,
                client_order_id,
                ..
            } => released(ReleasedLayout::CAUSE_CANCELLED, client, client_order_id),
            Event::Filled(fill) => {
                let mut view = head::<ExecutedLayout>(sequence, time);
                view.client = U32::new(fill.client.get());
                view.client_order_id = U64::new(fill.client_order_id.get());
                view.price = I64::new(fill.price.micros());
                view.quantity = U32::new(fill.quantity.shares());
                view.leaves = U32::new(fill.leaves.shares());
                view.symbol = U32::new(fill.symbol.get());
                Message::from_view(&view)
            }
            Event::Replaced {
                client,
                client_order_id,
                original_client_order_id,
                price,
                quantity,
                ..
            } => {
                let mut view = head::<ReplacedLayout>(sequence, time);
                view.client = U32::new(client.get());
                view.client_order_id = U64::new(client_order_id.get());
                view.original_client_order_id = U64::new(original_client_order_id.get());
                view.price = I64::new(price.micros());
                view.quantity = U32::new(quantity.shares());
                Message::from_view(&view)
            }
            Event::PositionChanged {
                symbol,
                position,
                delta,
                price,
            } => {
                let mut view = head::<PositionChangedLayout>(sequence, time);
                view.symbol = U32::new(symbol.get());
                view.position = I64::new(position);
                view.delta = I64::new(delta);
                view.price = I64::new(price.micros());
                Message::from_view(&view)
            }
            Event::Snapshot { sequence } => {
                Message::from_view(&head::<SnapshotLayout>(sequence, time))
            }
            Event::Accepted { .. }
            | Event::CancelRejected { .. }
            | Event::Route(_)
            | Event::FirmQuote(_)
            | Event::InputRejected { .. } => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossline_types::layout::Layout;

    #[test]
    fn a_route_crosses_its_ring_as_a_route_message_and_back() {
        let limit = RouteInstruction {
            order_id: OrderId::new(900),
            symbol: SymbolId::new(4),
            side: Side::SellShort,
            quantity: Quantity::new(300),
            limit: Some(Price::from_micros(-1)),
            capacity: Capacity::Principal,
        };
        let market = RouteInstruction {
            limit: None,
            side: Side::Buy,
            capacity: Capacity::Agency,
            ..limit
        };
        for route in [limit, market] {
            let message = route.to_message(SequenceNumber::new(77), Timestamp::new(5));
            assert_eq!(message.kind(), RouteLayout::KIND);
            assert_eq!((message.sequence(), message.time()), (77, 5));
            assert_eq!(RouteInstruction::from_message(&message), Ok(route));
        }

        let good = *limit
            .to_message(SequenceNumber::new(1), Timestamp::new(1))
            .bytes();
        let refused = |at: usize, byte: u8| {
            let mut bytes = good;
            bytes[at] = byte;
            RouteInstruction::from_message(&Message::from_bytes(bytes))
        };
        assert_eq!(
            refused(17, 9),
            Err(ValueError::UnknownCode {
                what: "side",
                code: 9
            })
        );
        assert_eq!(
            refused(18, 0),
            Err(ValueError::UnknownCode {
                what: "capacity",
                code: 0
            })
        );
        assert_eq!(
            refused(19, 3),
            Err(ValueError::UnknownCode {
                what: "Route flags",
                code: 3
            })
        );
        assert!(matches!(
            refused(16, 15),
            Err(ValueError::UnknownCode { code: 15, .. })
        ));
    }
}
