//! The client messages and the quote as the engine's state machines hold them: typed
//! fields (ids, prices, codes as enums). Their fixed byte layouts, as they cross the
//! rings and enter the journal, are in [`crate::layout`].

use core::mem::size_of;

use crate::codes::{Capacity, OrderType, Side, TimeInForce};
use crate::ids::{ClientId, ClientOrderId, SymbolId};
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
