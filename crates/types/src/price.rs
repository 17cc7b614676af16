use core::fmt;

use rust_decimal::Decimal;

use crate::error::{significant_places, ValueError};

/// A price in micro-dollars (1e-6 USD), signed.
///
/// One micro-dollar is fine enough to hold every price the market rules produce exactly:
/// whole cents, sub-penny increments of $0.0001 below $1.00, midpoints of those
/// ($0.00005) and price-improved executions. Signed because spreads, P&L and price
/// differences are prices too.
#[derive(
    serde::Serialize,
    serde::Deserialize,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
)]
#[repr(transparent)]
pub struct Price(i64);

const _: () = assert!(size_of::<Price>() == 8);

impl Price {
    /// Micro-dollars in one dollar.
    pub const MICROS_PER_DOLLAR: i64 = 1_000_000;
    /// Decimal places a price holds exactly.
    pub const DECIMAL_PLACES: u32 = 6;
    /// Zero dollars.
    pub const ZERO: Price = Price(0);
    /// One cent, the Rule 612 increment for prices of $1.00 or more.
    pub const CENT: Price = Price(10_000);
    /// One hundredth of a cent, the Rule 612 increment below $1.00.
    pub const HUNDREDTH_CENT: Price = Price(100);
    /// Smallest representable price.
    pub const MIN: Price = Price(i64::MIN);
    /// Largest representable price.
    pub const MAX: Price = Price(i64::MAX);

    /// A price of `micros` micro-dollars.
    #[must_use]
    pub const fn from_micros(micros: i64) -> Price {
        Price(micros)
    }

    /// A price of whole `dollars`, or `None` if it does not fit.
    #[must_use]
    pub const fn from_dollars(dollars: i64) -> Option<Price> {
        match dollars.checked_mul(Self::MICROS_PER_DOLLAR) {
            Some(micros) => Some(Price(micros)),
            None => None,
        }
    }

    /// The price in micro-dollars.
    #[must_use]
    pub const fn micros(self) -> i64 {
        self.0
    }

    /// Converts from a decimal, exactly, or explains why it cannot.
    ///
    /// # Errors
    /// [`ValueError::TooManyDecimals`] for finer than a micro-dollar (trailing zeros do not
    /// count), [`ValueError::OutOfRange`] for a value beyond ±9.2 trillion dollars.
    pub fn from_decimal(value: Decimal) -> Result<Price, ValueError> {
        let places = significant_places(value);
        if places > Self::DECIMAL_PLACES {
            return Err(ValueError::TooManyDecimals {
                what: "price",
                value,
                places,
                places_max: Self::DECIMAL_PLACES,
            });
        }
        let out_of_range = || ValueError::OutOfRange {
            what: "price",
            value,
            min: Price::MIN.to_decimal(),
            max: Price::MAX.to_decimal(),
        };
        let micros = value
            .checked_mul(Decimal::from(Self::MICROS_PER_DOLLAR))
            .ok_or_else(out_of_range)?;
        // Exact: the scale check above guarantees `micros` is a whole number, so once
        // trailing zeros are stripped its scale is zero and the mantissa is the value.
        let micros = micros.normalize();
        debug_assert_eq!(micros.scale(), 0);
        i64::try_from(micros.mantissa())
            .map(Price)
            .map_err(|_| out_of_range())
    }

    /// The price as a decimal, exactly (always possible).
    #[must_use]
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, Self::DECIMAL_PLACES).normalize()
    }

    /// `self + other`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, other: Price) -> Option<Price> {
        match self.0.checked_add(other.0) {
            Some(micros) => Some(Price(micros)),
            None => None,
        }
    }

    /// `self - other`, or `None` on overflow.
    #[must_use]
    pub const fn checked_sub(self, other: Price) -> Option<Price> {
        match self.0.checked_sub(other.0) {
            Some(micros) => Some(Price(micros)),
            None => None,
        }
    }

    /// Whether the price is a whole multiple of `increment` (which must be positive).
    ///
    /// # Panics
    /// If `increment` is zero or negative: increments are constants such as
    /// [`Price::CENT`] or come from validated configuration, so this is a programming
    /// error, not bad input.
    #[must_use]
    pub const fn is_multiple_of(self, increment: Price) -> bool {
        assert!(increment.0 > 0, "a price increment must be positive");
        self.0 % increment.0 == 0
    }
}

impl fmt::Display for Price {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_decimal(), formatter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decimal(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn converts_exact_values() {
        assert_eq!(
            Price::from_decimal(decimal("101.25")).unwrap().micros(),
            101_250_000
        );
        assert_eq!(
            Price::from_decimal(decimal("0.000001")).unwrap().micros(),
            1
        );
        assert_eq!(
            Price::from_decimal(decimal("-3.5")).unwrap().micros(),
            -3_500_000
        );
        // Trailing zeros beyond six places carry no precision and are accepted.
        assert_eq!(
            Price::from_decimal(decimal("1.000000000"))
                .unwrap()
                .micros(),
            1_000_000
        );
    }

    #[test]
    fn rejects_seven_decimal_places() {
        let err = Price::from_decimal(decimal("10.0000001")).unwrap_err();
        assert!(matches!(
            err,
            ValueError::TooManyDecimals {
                places: 7,
                places_max: 6,
                ..
            }
        ));
    }

    #[test]
    fn rejects_out_of_range() {
        let max_dollars = decimal("9223372036854.775807");
        assert_eq!(Price::from_decimal(max_dollars).unwrap(), Price::MAX);
        let err = Price::from_decimal(decimal("9223372036854.775808")).unwrap_err();
        assert!(
            matches!(err, ValueError::OutOfRange { what: "price", .. }),
            "{err}"
        );
        assert_eq!(
            Price::from_decimal(decimal("-9223372036854.775808")).unwrap(),
            Price::MIN
        );
    }

    #[test]
    fn displays_without_trailing_zeros() {
        assert_eq!(Price::from_micros(1_500_000).to_string(), "1.5");
        assert_eq!(Price::from_micros(50).to_string(), "0.00005");
        assert_eq!(Price::from_micros(-10_000).to_string(), "-0.01");
    }

    #[test]
    fn rule_612_increments() {
        assert!(Price::from_micros(1_010_000).is_multiple_of(Price::CENT));
        assert!(!Price::from_micros(1_010_100).is_multiple_of(Price::CENT));
        assert!(Price::from_micros(990_100).is_multiple_of(Price::HUNDREDTH_CENT));
    }

    proptest! {
        #[test]
        fn decimal_round_trip_is_exact(micros in any::<i64>()) {
            let price = Price::from_micros(micros);
            prop_assert_eq!(Price::from_decimal(price.to_decimal()), Ok(price));
        }
    }
}
