//! The risk gate's configuration: per-client limits, per-symbol settings, the price
//! collar.

use crossline_types::{ClientId, Price, Quantity, SymbolId};

/// Limits of one client (SEC Rule 15c3-5 credit and capital thresholds and erroneous-
/// order controls).
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// The client.
    pub client: ClientId,
    /// Largest exposure: the notional of open orders plus the notional executed today,
    /// in micro-dollars.
    pub credit_limit: Price,
    /// Largest quantity of one order.
    pub order_quantity_max: Quantity,
    /// Largest notional of one order (limit price, or the far NBBO side for a market
    /// order, times quantity).
    pub order_notional_max: Price,
    /// Sustained message rate: orders, replaces and cancels per second of message time.
    pub messages_per_second: u32,
    /// Messages allowed in a burst above the sustained rate.
    pub message_burst: u32,
    /// Largest market order, in parts per million of the symbol's average daily volume.
    pub market_order_adv_ppm: u32,
    /// Client order ids the client may use in one day (each is remembered for duplicate
    /// detection).
    pub client_order_ids_max: u32,
}

/// Risk settings of one symbol.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolRisk {
    /// The symbol.
    pub symbol: SymbolId,
    /// Average daily volume in shares, for the market-order size check.
    pub average_daily_volume: u64,
    /// On the restricted list: no orders at all.
    pub restricted: bool,
}

/// One tier of the price collar: for reference prices below `below`, a limit order may
/// be at most `max(reference × ppm / 10^6, minimum)` through the far side of the NBBO.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollarTier {
    /// The tier covers reference prices below this.
    pub below: Price,
    /// Collar width as parts per million of the reference price.
    pub ppm: u32,
    /// The least collar width.
    pub minimum: Price,
}

/// The risk gate's configuration.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct RiskConfig {
    /// Clients allowed to trade.
    pub clients: Vec<ClientLimits>,
    /// Symbols allowed to trade.
    pub symbols: Vec<SymbolRisk>,
    /// Price collar tiers, ascending by `below`; the last must cover every price
    /// (`below` = `Price::MAX`).
    pub collar: Vec<CollarTier>,
    /// Most open orders tracked at once, all clients (for credit usage).
    pub orders_max: u32,
    /// Most (client, symbol) pairs with located shares.
    pub locates_max: u32,
}

/// Largest client or symbol id (ids index dense tables).
pub const ID_MAX: u32 = 1 << 20;

/// Why a risk configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskConfigError {
    /// A client or symbol id is too large.
    #[error("{what} id {id} is above the largest allowed, {ID_MAX}")]
    IdTooLarge {
        /// "client" or "symbol".
        what: &'static str,
        /// The id.
        id: u32,
    },
    /// A client or symbol is configured twice.
    #[error("{what} {id} is configured twice")]
    Twice {
        /// "client" or "symbol".
        what: &'static str,
        /// The id.
        id: u32,
    },
    /// A client limit is out of range.
    #[error("client {client} {field} is {value}; {expected}")]
    ClientLimit {
        /// The client.
        client: ClientId,
        /// The field.
        field: &'static str,
        /// Its value.
        value: i128,
        /// What it must be.
        expected: &'static str,
    },
    /// The collar tiers are not ascending, or do not cover every price.
    #[error("collar tiers must ascend by `below` and the last must be Price::MAX")]
    CollarTiers,
    /// A table capacity is zero or too large.
    #[error("{field} is {value}; it must be between 1 and {max}")]
    Capacity {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u32,
        /// The largest allowed.
        max: u32,
    },
}

impl ClientLimits {
    pub(crate) fn validate(&self) -> Result<(), RiskConfigError> {
        let error = |field, value: i128, expected| RiskConfigError::ClientLimit {
            client: self.client,
            field,
            value,
            expected,
        };
        if self.credit_limit < Price::ZERO {
            return Err(error(
                "credit_limit",
                i128::from(self.credit_limit.micros()),
                "it must not be negative",
            ));
        }
        if self.order_notional_max < Price::ZERO {
            return Err(error(
                "order_notional_max",
                i128::from(self.order_notional_max.micros()),
                "it must not be negative",
            ));
        }
        if self.message_burst == 0 {
            return Err(error("message_burst", 0, "it must be at least 1"));
        }
        if self.client_order_ids_max == 0 || self.client_order_ids_max > 1 << 24 {
            return Err(error(
                "client_order_ids_max",
                i128::from(self.client_order_ids_max),
                "it must be between 1 and 16777216",
            ));
        }
        Ok(())
    }
}
