//! The client messages and the quote as the engine's state machines hold them: typed
//! fields (ids, prices, codes as enums). Their fixed byte layouts, as they cross the
//! rings and enter the journal, are in [`crate::layout`].

use core::mem::size_of;

use zerocopy::little_endian::{I64, U32, U64};

use crate::codes::{Capacity, OrderType, Side, TimeInForce};
use crate::ids::{ClientId, ClientOrderId, OrderId, SequenceNumber, SymbolId, Timestamp};
use crate::layout::{
    head, CancelLayout, Message, NbboLayout, NewOrderLayout, ReplaceLayout, VenueCancelLayout,
    VenueChildLayout, VenueFillLayout,
};
use crate::price::Price;
use crate::quantity::Quantity;

/// A client's new order. A market order's `price` is ignored.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct NewOrder {
    /// Who sent it.
    pub client: ClientId,
    /// What to trade.
    pub symbol: SymbolId,
    /// The client's id for the order.
    pub client_order_id: ClientOrderId,
    /// Limit price (ignored for market orders).
    pub price: Price,
    /// Shares to trade.
    pub quantity: Quantity,
    /// Buy, sell, or sell short.
    pub side: Side,
    /// Market or limit.
    pub order_type: OrderType,
    /// How long it stays working.
    pub time_in_force: TimeInForce,
    /// The capacity the client asks the firm to act in.
    pub capacity: Capacity,
}

/// A client's request to cancel its order `original_client_order_id`.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Cancel {
    /// Who sent it.
    pub client: ClientId,
    /// The order's symbol.
    pub symbol: SymbolId,
    /// The client's id for this cancel request.
    pub client_order_id: ClientOrderId,
    /// The client's id of the order to cancel.
    pub original_client_order_id: ClientOrderId,
}

/// A client's request to replace an order's price and quantity (the symbol and side stay
/// the original order's).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Replace {
    /// Who sent it.
    pub client: ClientId,
    /// The new total quantity.
    pub quantity: Quantity,
    /// The client's id for the replacement order.
    pub client_order_id: ClientOrderId,
    /// The client's id of the order to replace.
    pub original_client_order_id: ClientOrderId,
    /// The new limit price.
    pub price: Price,
}

/// The national best bid and offer for one symbol.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Quote {
    /// Which symbol.
    pub symbol: SymbolId,
    /// Shares displayed at the best bid.
    pub bid_size: Quantity,
    /// National best bid.
    pub bid: Price,
    /// National best offer.
    pub ask: Price,
    /// Shares displayed at the best offer.
    pub ask_size: Quantity,
}

impl Quote {
    /// No bid and no offer for `symbol`: what the engine holds when it cannot trust the
    /// market (after a feed gap), and what the matcher treats as unusable.
    #[must_use]
    pub const fn empty(symbol: SymbolId) -> Quote {
        Quote {
            symbol,
            bid_size: Quantity::new(0),
            bid: Price::from_micros(0),
            ask: Price::from_micros(0),
            ask_size: Quantity::new(0),
        }
    }
}

// Compile-time layout checks of the in-memory payloads.
const _: () = assert!(size_of::<NewOrder>() == 32);
const _: () = assert!(size_of::<Cancel>() == 24);
const _: () = assert!(size_of::<Replace>() == 32);
const _: () = assert!(size_of::<Quote>() == 32);

/// A venue's execution of a child order.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueFill {
    /// The parent order (a child order carries its parent's id).
    pub order_id: OrderId,
    /// Shares executed.
    pub quantity: Quantity,
    /// Execution price.
    pub price: Price,
    /// The venue that executed it: its configured id, 1 to 255 (0: not known, as in a
    /// test that plays the venue).
    pub venue: u8,
    /// What the venue charged for it, for all its shares (negative: a rebate paid to the
    /// firm), micro-dollars.
    pub fee: Price,
}

/// A routed child order's end at its venue: where it went, for how many shares, and how
/// many the venue executed (its fills are journaled before it, as `VenueFill`s). The
/// routing reports read it; the matcher takes no input from it.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueChild {
    /// The parent order.
    pub order_id: OrderId,
    /// The venue's configured id.
    pub venue: u8,
    /// Shares the child was sent for.
    pub quantity: Quantity,
    /// Shares the venue executed of it (at most `quantity`).
    pub filled: Quantity,
    /// Whether it ended because its venue was lost rather than by the venue's answer.
    pub lost: bool,
}

impl VenueChild {
    /// The child's end as its 56-byte message ([`VenueChildLayout`]).
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        let mut view = head::<VenueChildLayout>(sequence, time);
        view.venue = self.venue;
        view.flags = if self.lost {
            VenueChildLayout::FLAG_LOST
        } else {
            0
        };
        view.quantity = U32::new(self.quantity.shares());
        view.order_id = U64::new(self.order_id.get());
        view.filled = U32::new(self.filled.shares());
        Message::from_view(&view)
    }
}

/// A venue's cancellation of what is left of a child order.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueCancel {
    /// The parent order.
    pub order_id: OrderId,
    /// Shares cancelled: everything the child had left.
    pub quantity: Quantity,
}

impl NewOrder {
    /// The order as its 56-byte message ([`NewOrderLayout`]) with `sequence` (zero
    /// before the sequencer) and `time`.
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        let mut view = head::<NewOrderLayout>(sequence, time);
        view.side = self.side.code();
        view.order_type = self.order_type.code();
        view.time_in_force = self.time_in_force.code();
        view.client = U32::new(self.client.get());
        view.client_order_id = U64::new(self.client_order_id.get());
        view.price = I64::new(self.price.micros());
        view.quantity = U32::new(self.quantity.shares());
        view.symbol = U32::new(self.symbol.get());
        view.capacity = self.capacity.code();
        Message::from_view(&view)
    }
}

impl Cancel {
    /// The cancel as its 56-byte message ([`CancelLayout`]).
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        let mut view = head::<CancelLayout>(sequence, time);
        view.client = U32::new(self.client.get());
        view.client_order_id = U64::new(self.client_order_id.get());
        view.original_client_order_id = U64::new(self.original_client_order_id.get());
        view.symbol = U32::new(self.symbol.get());
        Message::from_view(&view)
    }
}

impl Replace {
    /// The cancel/replace as its 56-byte message ([`ReplaceLayout`]).
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        let mut view = head::<ReplaceLayout>(sequence, time);
        view.client = U32::new(self.client.get());
        view.client_order_id = U64::new(self.client_order_id.get());
        view.original_client_order_id = U64::new(self.original_client_order_id.get());
        view.price = I64::new(self.price.micros());
        view.quantity = U32::new(self.quantity.shares());
        Message::from_view(&view)
    }
}

impl Quote {
    /// The quote as its 56-byte NBBO message ([`NbboLayout`]).
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        let mut view = head::<NbboLayout>(sequence, time);
        view.symbol = U32::new(self.symbol.get());
        view.bid = I64::new(self.bid.micros());
        view.ask = I64::new(self.ask.micros());
        view.bid_size = U32::new(self.bid_size.shares());
        view.ask_size = U32::new(self.ask_size.shares());
        Message::from_view(&view)
    }
}

impl VenueFill {
    /// The venue fill as its 56-byte message ([`VenueFillLayout`]).
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        let mut view = head::<VenueFillLayout>(sequence, time);
        view.quantity = U32::new(self.quantity.shares());
        view.order_id = U64::new(self.order_id.get());
        view.price = I64::new(self.price.micros());
        view.venue = self.venue;
        view.fee = I64::new(self.fee.micros());
        Message::from_view(&view)
    }
}

impl VenueCancel {
    /// The venue cancel as its 56-byte message ([`VenueCancelLayout`]).
    #[must_use]
    pub fn to_message(&self, sequence: SequenceNumber, time: Timestamp) -> Message {
        let mut view = head::<VenueCancelLayout>(sequence, time);
        view.quantity = U32::new(self.quantity.shares());
        view.order_id = U64::new(self.order_id.get());
        Message::from_view(&view)
    }
}
