//! Why the risk gate refused an input: one documented code per control.

use crossline_types::{Price, Quantity};

/// Which kill switch refused an order.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillScope {
    /// The whole firm.
    Firm,
    /// The order's symbol.
    Symbol,
    /// The order's client.
    Client,
}

/// Why an order was refused before it reached the matcher. `code()` is stable and
/// documented in `docs/RISK.md`.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, thiserror::Error,
)]
pub enum RiskReject {
    /// A kill switch is on for the firm, the symbol or the client.
    #[error("kill switch on ({scope:?})")]
    KillSwitch {
        /// Which one.
        scope: KillScope,
    },
    /// The client has no configured limits.
    #[error("unknown client")]
    UnknownClient,
    /// The symbol has no configured risk settings.
    #[error("unknown symbol")]
    UnknownSymbol,
    /// The client sent more messages than its rate allows.
    #[error("message rate above the client's limit")]
    RateLimited,
    /// The client already used this client order id today.
    #[error("client order id already used today")]
    DuplicateClientOrderId,
    /// The client's table of client order ids for the day is full.
    #[error("the client's daily client order id table is full ({capacity})")]
    ClientOrderIdsFull {
        /// Its capacity.
        capacity: u32,
    },
    /// The symbol is on the restricted list.
    #[error("symbol is restricted")]
    Restricted,
    /// Trading in the symbol is halted.
    #[error("symbol is halted")]
    Halted,
    /// More shares than the client may send in one order.
    #[error("quantity {quantity} above the maximum {max}")]
    QuantityAboveMax {
        /// The order's quantity.
        quantity: Quantity,
        /// The limit.
        max: Quantity,
    },
    /// No NBBO has been seen for the symbol, and the check needs one.
    #[error("no reference price for the symbol")]
    NoReferencePrice,
    /// A limit price too far through the NBBO (the price collar).
    #[error("limit price {price} outside the collar (limit {bound})")]
    OutsideCollar {
        /// The order's price.
        price: Price,
        /// The collar's edge on that side.
        bound: Price,
    },
    /// A limit price outside the symbol's limit-up/limit-down band.
    #[error("limit price {price} outside the price band {low}–{high}")]
    OutsidePriceBand {
        /// The order's price.
        price: Price,
        /// The band's low edge.
        low: Price,
        /// The band's high edge.
        high: Price,
    },
    /// The order's notional is above the client's per-order maximum.
    #[error("order notional above the client's maximum")]
    NotionalAboveMax,
    /// A market order for more than the allowed share of average daily volume.
    #[error("market order above {ppm} ppm of average daily volume")]
    AboveAdvShare {
        /// The limit, parts per million of ADV.
        ppm: u32,
    },
    /// A short sale without enough located shares (Reg SHO Rule 203(b)).
    #[error("short sale of {quantity} with {located} shares located")]
    NoLocate {
        /// The order's quantity.
        quantity: Quantity,
        /// Located shares available.
        located: u64,
    },
    /// A short sale at or below the national best bid while Rule 201 is in force.
    #[error("short sale not above the national best bid under Rule 201")]
    ShortSaleRestricted,
    /// The order would take the client past its credit limit.
    #[error("credit limit: usage {used} + order {order} above limit {limit} (micro-dollars)")]
    CreditLimit {
        /// Usage before the order.
        used: i128,
        /// The order's notional.
        order: i128,
        /// The limit.
        limit: i128,
    },
    /// The gate's table of open orders is full.
    #[error("the risk gate's open-order table is full")]
    OrdersFull,
}

impl RiskReject {
    /// The stable numeric reason code.
    #[must_use]
    pub const fn code(&self) -> u16 {
        match self {
            RiskReject::KillSwitch {
                scope: KillScope::Firm,
            } => 101,
            RiskReject::KillSwitch {
                scope: KillScope::Symbol,
            } => 102,
            RiskReject::KillSwitch {
                scope: KillScope::Client,
            } => 103,
            RiskReject::UnknownClient => 110,
            RiskReject::UnknownSymbol => 111,
            RiskReject::RateLimited => 120,
            RiskReject::DuplicateClientOrderId => 130,
            RiskReject::ClientOrderIdsFull { .. } => 131,
            RiskReject::Restricted => 140,
            RiskReject::Halted => 141,
            RiskReject::QuantityAboveMax { .. } => 150,
            RiskReject::NoReferencePrice => 160,
            RiskReject::OutsideCollar { .. } => 161,
            RiskReject::OutsidePriceBand { .. } => 162,
            RiskReject::NotionalAboveMax => 170,
            RiskReject::AboveAdvShare { .. } => 171,
            RiskReject::NoLocate { .. } => 180,
            RiskReject::ShortSaleRestricted => 181,
            RiskReject::CreditLimit { .. } => 190,
            RiskReject::OrdersFull => 199,
        }
    }
}
