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
pub mod layout;
mod message;
mod price;
mod quantity;

pub use codes::{Capacity, LiquiditySource, OrderType, Side, TimeInForce};
pub use error::ValueError;
pub use ids::{ClientId, ClientOrderId, OrderId, SequenceNumber, SymbolId, Timestamp};
pub use layout::{Message, MESSAGE_BYTES};
pub use message::{Cancel, NewOrder, Quote, Replace, VenueCancel, VenueChild, VenueFill};
pub use price::Price;
pub use quantity::Quantity;

/// Bytes in one cache line on the targets Crossline is built for (x86-64, aarch64 servers).
///
/// Ring slots and journal records are laid out in multiples of this.
pub const CACHE_LINE_BYTES: usize = 64;

/// Serde support for the journal and snapshots.
///
/// - Error values name their field with a `&'static str` ([`serde_support::FieldName`]),
///   which deserializes by matching one of the names the type can hold.
/// - Tables sized at start-up keep their capacity through a snapshot
///   ([`serde_support::capacity`]), so a restored engine allocates no more than a fresh one.
pub mod serde_support {
    use serde::de::{Deserialize, Deserializer, Error};

    /// A field's name in an error value. An alias, so that serde does not take the
    /// `&'static str` for a borrow from the input; deserialize it with [`one_of`].
    pub type FieldName = &'static str;

    /// Deserializes a field name into the one of `known` it equals.
    ///
    /// # Errors
    /// A name not in `known` (a journal from another version).
    pub fn one_of<'de, D: Deserializer<'de>>(
        deserializer: D,
        known: &[&'static str],
    ) -> Result<&'static str, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        known
            .iter()
            .find(|k| **k == name)
            .copied()
            .ok_or_else(|| D::Error::custom(format!("unknown field name {name:?}")))
    }

    /// `#[serde(with = "crossline_types::serde_support::capacity")]` for a `Vec` sized at
    /// start-up: its capacity travels with its elements and is reserved again on the way back.
    pub mod capacity {
        use serde::de::{Deserialize, Deserializer};
        use serde::ser::{Serialize, Serializer};

        /// Writes the capacity, then the elements.
        ///
        /// # Errors
        /// The serializer's.
        pub fn serialize<T: Serialize, S: Serializer>(
            vec: &Vec<T>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            (vec.capacity() as u64, vec.as_slice()).serialize(serializer)
        }

        /// Reads the capacity and the elements into a `Vec` with that capacity.
        ///
        /// # Errors
        /// The deserializer's.
        pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<T>, D::Error> {
            let (capacity, elements) = <(u64, Vec<T>)>::deserialize(deserializer)?;
            let capacity = usize::try_from(capacity).unwrap_or(0).max(elements.len());
            let mut vec = Vec::with_capacity(capacity);
            vec.extend(elements);
            Ok(vec)
        }
    }
}
