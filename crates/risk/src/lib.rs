//! Crossline's pre-trade risk gate: the controls SEC Rule 15c3-5 requires of a broker
//! with market access, the short-sale and price-band rules, and kill switches.
//!
//! Guarantee: deterministic (time comes from the input; no clock, no randomness, no
//! iteration over hash tables), and no allocation after [`RiskGate::new`]. Every refusal
//! is a [`RiskReject`] with a stable numeric code (`docs/RISK.md`).
//!
//! An order passes these controls in this order; the first that refuses it decides:
//! unknown client or symbol; kill switches (firm, symbol, client); the client's message
//! rate (a token bucket refilled in message time); duplicate client order id (per day);
//! restricted list; trading halt; maximum order quantity; price collar (limit orders:
//! at most a tiered width through the far side of the NBBO); limit-up/limit-down band;
//! market orders above a share of average daily volume; maximum order notional; Reg SHO
//! (a located quantity for every short sale; under Rule 201, a non-exempt short sale
//! priced above the national best bid); the client's credit limit (open-order notional
//! plus notional executed today).
//!
//! ```
//! use crossline_risk::*;
//! use crossline_types::*;
//!
//! let client = ClientLimits {
//!     client: ClientId::new(1), credit_limit: Price::from_micros(1_000_000 * 1_000_000),
//!     order_quantity_max: Quantity::new(10_000), order_notional_max: Price::from_micros(500_000 * 1_000_000),
//!     messages_per_second: 1_000, message_burst: 100, market_order_adv_ppm: 10_000,
//!     client_order_ids_max: 100_000,
//! };
//! let config = RiskConfig {
//!     clients: vec![client],
//!     symbols: vec![SymbolRisk { symbol: SymbolId::new(1), average_daily_volume: 5_000_000, restricted: false }],
//!     collar: vec![CollarTier { below: Price::MAX, ppm: 50_000, minimum: Price::CENT }],
//!     orders_max: 1_024, locates_max: 64,
//! };
//! let mut gate = RiskGate::new(&config).unwrap();
//! gate.on_nbbo(&Quote { symbol: SymbolId::new(1), bid: Price::from_micros(10_000_000), bid_size: Quantity::new(100),
//!                       ask: Price::from_micros(10_010_000), ask_size: Quantity::new(100) });
//! let order = NewOrder { client: ClientId::new(1), symbol: SymbolId::new(1), client_order_id: ClientOrderId::new(7),
//!     price: Price::from_micros(10_010_000), quantity: Quantity::new(100), side: Side::Buy,
//!     order_type: OrderType::Limit, time_in_force: TimeInForce::Day, capacity: Capacity::Agency };
//! assert_eq!(gate.check_new_order(Timestamp::new(1), &order), Ok(()));
//! assert_eq!(gate.exposure(ClientId::new(1)), Some(100 * 10_010_000));
//! // The same client order id again, the same day:
//! let again = gate.check_new_order(Timestamp::new(2), &order).unwrap_err();
//! assert_eq!((again, again.code()), (RiskReject::DuplicateClientOrderId, 130));
//! ```
#![forbid(unsafe_code)]

mod admin;
mod config;
mod gate;
mod hash;
mod inventory;
mod reject;
mod tables;

pub use admin::{AdminCause, AdminChange, AdminRecord, Setting, IMPROVEMENT_PPM_DEFAULT};
pub use config::{ClientLimits, CollarTier, RiskConfig, RiskConfigError, SymbolRisk, ID_MAX};
pub use gate::{ClientState, ControlError, KillTarget, RiskGate, SymbolState, PENDING_CHANGES_MAX};
pub use inventory::PositionView;
pub use reject::{KillScope, RiskReject};
