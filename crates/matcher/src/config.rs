//! Configuration of the matcher: firm-wide policies and per-symbol settings.

use crossline_book::{BookConfig, BookConfigError};
use crossline_types::{ClientId, Price, SymbolId};

/// Parts per million: the unit of the fractional settings (1,000,000 = 100%).
pub const PPM: u32 = 1_000_000;

/// How a symbol is internalized.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Cross client orders against each other; never trade from the firm's inventory.
    AgencyOnly,
    /// Passive internalization: cross client orders, and fill arriving orders from the
    /// firm's inventory at an improved price when limits allow.
    Passive,
    /// Active internalization: as passive, and the firm keeps its own improved quote
    /// (emitting a [`crate::Event::FirmQuote`] whenever the NBBO or its inventory moves
    /// it) and trades with resting client orders that the quote reaches. No interface
    /// carries the quote events out of the engine yet (`docs/ARCHITECTURE.md`).
    Active,
}

/// At what price an internal cross executes, before it is clamped to both orders' limits
/// and to the NBBO.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossPrice {
    /// The NBBO midpoint: both clients share the spread (the default).
    Midpoint,
    /// The resting order's limit (exchange convention: the aggressor gets the improvement
    /// only when the resting order offers it).
    RestingLimit,
}

/// What happens when an order would trade with another order of the same client.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfMatch {
    /// Cancel the resting order and keep matching the arriving one.
    CancelResting,
    /// Cancel what is left of the arriving order.
    CancelArriving,
}

/// What happens to an order that needs the market's price when the NBBO is unusable
/// (missing, one-sided, locked, crossed or stale). No order ever executes in-house then.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnusableNbbo {
    /// Route market and immediate-or-cancel orders to a venue (when the symbol routes);
    /// fill-or-kill orders are cancelled; day and good-till-cancel limit orders rest.
    Route,
    /// Reject market, immediate-or-cancel and fill-or-kill orders; day and
    /// good-till-cancel limit orders rest.
    Reject,
}

/// Settings of one symbol that the firm may change during the day.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolSettings {
    /// How the symbol is internalized.
    pub mode: Mode,
    /// Price improvement on a principal fill, as a fraction of the NBBO spread in parts
    /// per million.
    pub improvement_spread_ppm: u32,
    /// The least price improvement on a principal fill; inventory skew never takes it
    /// lower (only the spread caps it below this).
    pub improvement_min: Price,
    /// Inventory skew, in parts per million of the improvement at a full position: at a
    /// position of `long_max` shares long (or `short_max` short) the firm improves by
    /// `1 + skew` times as much on fills that reduce it and `1 - skew` times as much (not
    /// below `improvement_min`) on fills that grow it, linearly from `soft_limit`. The
    /// exact rule: `docs/RISK.md`, "Firm inventory and the hedger".
    pub skew_ppm: u32,
    /// Largest long position, in shares.
    pub long_max: u32,
    /// Largest short position, in shares.
    pub short_max: u32,
    /// Largest principal fill, and the size of the firm's quote in active mode.
    pub principal_size_max: u32,
    /// Whether a marketable residual is routed to a venue (otherwise it rests or is
    /// cancelled).
    pub route_residual: bool,
    /// The inventory soft limit, in shares: inventory skew starts past it (growing
    /// linearly to its full size at `long_max` / `short_max`), and the hedger works the
    /// position back to it. Zero: skew from the first share.
    pub soft_limit: u32,
    /// Whether the hedger works a position past `soft_limit` back to it with principal
    /// orders to a venue (off by default).
    pub hedge: bool,
}

impl SymbolSettings {
    /// Checks the settings' ranges.
    ///
    /// # Errors
    /// [`SettingsError`] naming the field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.improvement_spread_ppm > PPM {
            return Err(SettingsError::Fraction {
                field: "improvement_spread_ppm",
                value: self.improvement_spread_ppm,
            });
        }
        if self.skew_ppm > PPM {
            return Err(SettingsError::Fraction {
                field: "skew_ppm",
                value: self.skew_ppm,
            });
        }
        if self.improvement_min < Price::ZERO {
            return Err(SettingsError::NegativeImprovement {
                value: self.improvement_min,
            });
        }
        Ok(())
    }
}

fn fraction_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    crossline_types::serde_support::one_of(d, &["improvement_spread_ppm", "skew_ppm"])
}

/// Why symbol settings were refused.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, thiserror::Error,
)]
pub enum SettingsError {
    /// A fraction above 100%.
    #[error("{field} is {value}; it must be at most 1000000 (100%)")]
    Fraction {
        /// The setting.
        #[serde(deserialize_with = "fraction_field")]
        field: crossline_types::serde_support::FieldName,
        /// Its value.
        value: u32,
    },
    /// A negative minimum improvement.
    #[error("improvement_min is {value}; it must not be negative")]
    NegativeImprovement {
        /// Its value.
        value: Price,
    },
}

/// One symbol the matcher trades.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolConfig {
    /// The symbol's id: a small dense number (ids index a table).
    pub symbol: SymbolId,
    /// Where the book's price window starts centred, before the first NBBO arrives.
    pub reference_price: Price,
    /// The book's capacities and tick.
    pub book: BookConfig,
    /// The starting settings.
    pub settings: SymbolSettings,
}

/// The matcher's configuration.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MatcherConfig {
    /// Most orders working at once across all symbols (resting, or out at a venue).
    pub orders_max: u32,
    /// The firm's largest gross position notional: the sum over symbols of |position| ×
    /// NBBO midpoint.
    pub gross_notional_max: Price,
    /// An NBBO older than this, relative to the time of the input that uses it, is stale.
    pub nbbo_stale_after_ns: u64,
    /// What to do with orders that need the market's price when the NBBO is unusable.
    pub unusable_nbbo: UnusableNbbo,
    /// Self-match prevention.
    pub self_match: SelfMatch,
    /// The internal cross price.
    pub cross_price: CrossPrice,
    /// Price improvement is a whole multiple of this (executions may be sub-penny).
    pub improvement_increment: Price,
    /// The account the firm's own orders (the hedger's) are booked under: their fills
    /// name it as the client.
    pub firm_account: ClientId,
    /// The symbols.
    pub symbols: Vec<SymbolConfig>,
}

/// Largest symbol id (ids index a dense table).
pub const SYMBOL_ID_MAX: u32 = 1 << 20;
/// Largest `orders_max`.
pub const ORDERS_MAX: u32 = 1 << 28;

/// Why a matcher could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `orders_max` is zero or too large.
    #[error("orders_max is {value}; it must be between 1 and {ORDERS_MAX}")]
    OrdersMax {
        /// Its value.
        value: u32,
    },
    /// A symbol id is too large for the dense symbol table.
    #[error("symbol id {symbol} is above the largest allowed, {SYMBOL_ID_MAX}")]
    SymbolId {
        /// The symbol.
        symbol: SymbolId,
    },
    /// A symbol is configured twice.
    #[error("symbol {symbol} is configured twice")]
    SymbolTwice {
        /// The symbol.
        symbol: SymbolId,
    },
    /// A symbol's reference price is not positive.
    #[error("symbol {symbol} reference_price is {price}; it must be positive")]
    ReferencePrice {
        /// The symbol.
        symbol: SymbolId,
        /// The price.
        price: Price,
    },
    /// A symbol's book configuration is invalid.
    #[error("symbol {symbol} book: {source}")]
    Book {
        /// The symbol.
        symbol: SymbolId,
        /// Why.
        source: BookConfigError,
    },
    /// A symbol's settings are invalid.
    #[error("symbol {symbol} settings: {source}")]
    Settings {
        /// The symbol.
        symbol: SymbolId,
        /// Why.
        source: SettingsError,
    },
    /// The improvement increment is not positive.
    #[error("improvement_increment is {value}; it must be positive")]
    ImprovementIncrement {
        /// Its value.
        value: Price,
    },
    /// The gross notional limit is negative.
    #[error("gross_notional_max is {value}; it must not be negative")]
    GrossNotional {
        /// Its value.
        value: Price,
    },
}
