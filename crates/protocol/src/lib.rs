//! Crossline's wire protocols, with no I/O: the client order-entry protocol
//! ([`client`]), the operators' admin protocol ([`admin`]) and the venue protocol ([`venue`]) over TCP, both in the frame of
//! [`frame`], and the market-data feed over UDP ([`market_data`]). Byte tables are in
//! `docs/PROTOCOL.md`.
//!
//! Every layout is fixed and little-endian; every decoder takes any bytes at all and
//! answers with a message or a specific error, never a panic (each has a fuzz target in
//! `crates/protocol/fuzz`). Encoders write into caller-owned arrays: nothing allocates.
//!
//! ```
//! use crossline_protocol::client::Inbound;
//! use crossline_protocol::frame::{split, FRAME_BYTES_MAX};
//! use crossline_types::{ClientOrderId, SymbolId};
//!
//! let cancel = Inbound::Cancel {
//!     client_order_id: ClientOrderId::new(8),
//!     original_client_order_id: ClientOrderId::new(7),
//!     symbol: SymbolId::new(1),
//! };
//! let mut frame = [0u8; FRAME_BYTES_MAX];
//! let length = cancel.encode(12, 0, &mut frame);
//! let (header, body) = split(&frame[..length]).unwrap().expect("a whole frame");
//! assert_eq!(header.sequence, 12);
//! assert_eq!(Inbound::decode(&header, body), Ok(cancel));
//! ```
#![forbid(unsafe_code)]

pub mod admin;
pub mod client;
pub mod frame;
pub mod market_data;
pub mod venue;

#[cfg(test)]
mod tests;
