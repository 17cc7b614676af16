use rust_decimal::Decimal;

/// Why a value from the outside world cannot become a Crossline value.
///
/// Each variant names what was being converted (`what`: "price", "quantity", "side", …)
/// and the offending value, so that a configuration or input error can be reported
/// precisely without the caller adding context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The value has more decimal places than the type represents exactly.
    #[error("{what} {value} has {places} decimal places; at most {places_max} are representable")]
    TooManyDecimals {
        /// What was being converted.
        what: &'static str,
        /// The value as given.
        value: Decimal,
        /// Decimal places in the value as given (trailing zeros excluded).
        places: u32,
        /// The most decimal places the type can hold.
        places_max: u32,
    },
    /// The value lies outside the range the type holds.
    #[error("{what} {value} is out of range; it must lie between {min} and {max}")]
    OutOfRange {
        /// What was being converted.
        what: &'static str,
        /// The value as given.
        value: Decimal,
        /// Smallest representable value.
        min: Decimal,
        /// Largest representable value.
        max: Decimal,
    },
    /// The value is negative where only zero or more is meaningful.
    #[error("{what} {value} is negative; it must be zero or more")]
    Negative {
        /// What was being converted.
        what: &'static str,
        /// The value as given.
        value: Decimal,
    },
    /// A byte code that names no variant of an enumeration (from a journal or the wire).
    #[error("{what} code {code} is not defined")]
    UnknownCode {
        /// Which enumeration was being decoded.
        what: &'static str,
        /// The code as read.
        code: u8,
    },
}

/// Decimal places of `value` once trailing zeros are removed ("1.500" has one).
pub(crate) fn significant_places(value: Decimal) -> u32 {
    value.normalize().scale()
}
