//! Core value types and message layouts for Crossline.
//!
//! Guarantee: every type here is plain data. Prices are signed 64-bit counts of
//! micro-dollars, quantities are whole shares, and no float appears anywhere. The only
//! place a [`rust_decimal::Decimal`] meets these types is at the edges (configuration,
//! reports, human input), through conversions that fail with a [`ValueError`] naming the
//! value and why it cannot be represented, instead of rounding it silently.
//!
//! ```
//! use crossline_types::{Price, Quantity};
//! use rust_decimal::Decimal;
//!
//! let price = Price::from_decimal("101.2534".parse::<Decimal>().unwrap()).unwrap();
//! assert_eq!(price.micros(), 101_253_400);
//! assert_eq!(price.to_string(), "101.2534");
//!
//! // Seven decimal places cannot be represented in micro-dollars.
//! let err = Price::from_decimal("0.0000001".parse().unwrap()).unwrap_err();
//! assert_eq!(err.to_string(), "price 0.0000001 has 7 decimal places; at most 6 are representable");
//!
//! assert!(Quantity::from_decimal("-5".parse().unwrap()).is_err());
//! ```
#![forbid(unsafe_code)]

mod codes;
mod error;
mod ids;
mod message;
mod price;
mod quantity;

pub use codes::{Capacity, LiquiditySource, OrderType, Side, TimeInForce};
pub use error::ValueError;
pub use ids::{ClientId, ClientOrderId, OrderId, SequenceNumber, SymbolId, Timestamp};
pub use message::{
    Accepted, Body, Cancel, Cancelled, Filled, Message, NewOrder, Quote, Replace, MESSAGE_BYTES,
};
pub use price::Price;
pub use quantity::Quantity;

/// Bytes in one cache line on the targets Crossline is built for (x86-64, aarch64 servers).
///
/// Ring slots and journal records are laid out in multiples of this.
pub const CACHE_LINE_BYTES: usize = 64;
