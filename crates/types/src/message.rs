//! The fixed-size messages designed to flow between agents through the rings.
//!
//! A [`Message`] is 56 bytes: a sequence number, an event timestamp and a 40-byte tagged
//! [`Body`]. In a ring slot it sits behind the ring's 8-byte publication stamp, so a slot
//! is exactly one 64-byte cache line: a consumer waiting for the next message polls the
//! very line the message arrives in, and one cache-line transfer delivers both the "ready"
//! signal and the payload (see `crossline-ring`).
//!
//! Layouts are `#[repr(C)]` with compile-time size and offset checks below, and
//! `docs/MESSAGES.md` holds the byte tables. As built, the ring benchmarks move
//! `Message`s; the pipeline's rings carry the engine's own types and the journal stores
//! `bincode` of the sequencer's types (`docs/MESSAGES.md` says which).

use core::mem::{align_of, offset_of, size_of};

use crate::codes::{Capacity, LiquiditySource, OrderType, Side, TimeInForce};
use crate::ids::{ClientId, ClientOrderId, OrderId, SequenceNumber, SymbolId, Timestamp};
use crate::price::Price;
use crate::quantity::Quantity;
use crate::CACHE_LINE_BYTES;

/// Size of a [`Message`] in bytes.
pub const MESSAGE_BYTES: usize = 56;

/// One input to, or output from, the engine's state machine.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Message {
    /// The journal position of the input (or of the input that caused this output).
    /// Zero until the sequencer assigns one.
    pub sequence: SequenceNumber,
    /// When the event happened, in nanoseconds since the epoch: taken from the input,
    /// never from a clock inside the deterministic core.
    pub timestamp: Timestamp,
    /// What happened.
    pub body: Body,
}

impl Message {
    /// An unsequenced message.
    #[must_use]
    pub const fn new(timestamp: Timestamp, body: Body) -> Message {
        Message {
            sequence: SequenceNumber::new(0),
            timestamp,
            body,
        }
    }
}

/// What a message says. The discriminant is its one-byte type code on the wire and in the
/// journal; inputs use codes below 16, outputs 16 and above.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, u8)]
pub enum Body {
    /// A client's new order.
    NewOrder(NewOrder) = 1,
    /// A client's request to cancel an order.
    Cancel(Cancel) = 2,
    /// A client's request to change an order's price or size.
    Replace(Replace) = 3,
    /// A new national best bid and offer for a symbol.
    Quote(Quote) = 4,
    /// An order was accepted.
    Accepted(Accepted) = 16,
    /// An order was (partly) executed.
    Filled(Filled) = 17,
    /// An order's open quantity was cancelled.
    Cancelled(Cancelled) = 18,
}

impl Body {
    /// The lower-case name of the message type, for logs and reports.
    #[must_use]
    pub const fn label(&self) -> &'static str {
        match self {
            Body::NewOrder(_) => "new_order",
            Body::Cancel(_) => "cancel",
            Body::Replace(_) => "replace",
            Body::Quote(_) => "quote",
            Body::Accepted(_) => "accepted",
            Body::Filled(_) => "filled",
            Body::Cancelled(_) => "cancelled",
        }
    }
}

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

/// An order was accepted and given an engine id.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Accepted {
    /// The engine's id for the order.
    pub order_id: OrderId,
    /// The client's id for the order.
    pub client_order_id: ClientOrderId,
    /// Whose order.
    pub client: ClientId,
    /// The order's symbol.
    pub symbol: SymbolId,
}

/// An execution against an order.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Filled {
    /// The order executed.
    pub order_id: OrderId,
    /// The other side: a client's order id for an internal cross, the child order for a
    /// venue fill, zero for a principal fill from inventory.
    pub contra_order_id: OrderId,
    /// Execution price (may be sub-penny: midpoint or price-improved).
    pub price: Price,
    /// Shares executed.
    pub quantity: Quantity,
    /// Where the liquidity came from.
    pub liquidity: LiquiditySource,
    /// The capacity the firm acted in.
    pub capacity: Capacity,
}

/// Open quantity of an order was cancelled.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Cancelled {
    /// The order cancelled.
    pub order_id: OrderId,
    /// Shares cancelled.
    pub quantity: Quantity,
    /// The client's id for the order.
    pub client_order_id: ClientOrderId,
}

/// Bytes available to a body variant's payload after the one-byte tag (padded to 8).
const BODY_PAYLOAD_BYTES_MAX: usize = 32;

// Compile-time layout checks: a message plus the ring's 8-byte stamp is one cache line, and
// no payload outgrows the body.
const _: () = assert!(size_of::<Message>() == MESSAGE_BYTES);
const _: () = assert!(MESSAGE_BYTES + 8 == CACHE_LINE_BYTES);
const _: () = assert!(align_of::<Message>() == 8);
const _: () = assert!(offset_of!(Message, sequence) == 0);
const _: () = assert!(offset_of!(Message, timestamp) == 8);
const _: () = assert!(offset_of!(Message, body) == 16);
const _: () = assert!(size_of::<Body>() == 8 + BODY_PAYLOAD_BYTES_MAX);
const _: () = assert!(size_of::<NewOrder>() == 32);
const _: () = assert!(offset_of!(NewOrder, client) == 0);
const _: () = assert!(offset_of!(NewOrder, symbol) == 4);
const _: () = assert!(offset_of!(NewOrder, client_order_id) == 8);
const _: () = assert!(offset_of!(NewOrder, price) == 16);
const _: () = assert!(offset_of!(NewOrder, quantity) == 24);
const _: () = assert!(offset_of!(NewOrder, side) == 28);
const _: () = assert!(offset_of!(NewOrder, order_type) == 29);
const _: () = assert!(offset_of!(NewOrder, time_in_force) == 30);
const _: () = assert!(offset_of!(NewOrder, capacity) == 31);
const _: () = assert!(size_of::<Cancel>() == 24);
const _: () = assert!(offset_of!(Cancel, client_order_id) == 8);
const _: () = assert!(offset_of!(Cancel, original_client_order_id) == 16);
const _: () = assert!(size_of::<Replace>() == 32);
const _: () = assert!(offset_of!(Replace, quantity) == 4);
const _: () = assert!(offset_of!(Replace, price) == 24);
const _: () = assert!(size_of::<Quote>() == 32);
const _: () = assert!(offset_of!(Quote, bid) == 8);
const _: () = assert!(offset_of!(Quote, ask) == 16);
const _: () = assert!(offset_of!(Quote, ask_size) == 24);
const _: () = assert!(size_of::<Accepted>() == 24);
const _: () = assert!(size_of::<Filled>() == 32);
const _: () = assert!(offset_of!(Filled, quantity) == 24);
const _: () = assert!(offset_of!(Filled, liquidity) == 28);
const _: () = assert!(offset_of!(Filled, capacity) == 29);
const _: () = assert!(size_of::<Cancelled>() == 24);

#[cfg(test)]
mod tests {
    use super::*;

    /// `offset_of!` cannot reach into enum variants, so the documented payload offset (24
    /// within the message) is measured from addresses instead.
    #[test]
    fn body_payload_starts_at_byte_24() {
        let message = Message::new(
            Timestamp::new(1),
            Body::Quote(Quote {
                symbol: SymbolId::new(1),
                bid_size: Quantity::new(1),
                bid: Price::from_micros(1),
                ask: Price::from_micros(2),
                ask_size: Quantity::new(1),
            }),
        );
        let Body::Quote(quote) = &message.body else {
            unreachable!()
        };
        let start = core::ptr::from_ref(&message) as usize;
        assert_eq!(core::ptr::from_ref(&message.body) as usize - start, 16);
        assert_eq!(core::ptr::from_ref(quote) as usize - start, 24);
    }

    #[test]
    fn message_is_plain_copyable_data() {
        let order = NewOrder {
            client: ClientId::new(7),
            symbol: SymbolId::new(3),
            client_order_id: ClientOrderId::new(42),
            price: Price::from_micros(101_250_000),
            quantity: Quantity::new(300),
            side: Side::SellShort,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::ImmediateOrCancel,
            capacity: Capacity::Agency,
        };
        let message = Message::new(
            Timestamp::new(1_700_000_000_000_000_000),
            Body::NewOrder(order),
        );
        let copy = message;
        assert_eq!(copy, message);
        assert_eq!(copy.sequence, SequenceNumber::new(0));
        assert_eq!(copy.body.label(), "new_order");
    }
}
