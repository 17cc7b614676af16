use core::fmt;

use rust_decimal::Decimal;

use crate::error::{significant_places, ValueError};

/// A number of whole shares in one order, fill or quote.
///
/// 32 bits hold over four billion shares, far beyond any single order, and keep the
/// message layouts inside one cache line. Positions and cumulative totals, which can
/// exceed that, use wider types of their own.
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
pub struct Quantity(u32);

const _: () = assert!(size_of::<Quantity>() == 4);

impl Quantity {
    /// No shares.
    pub const ZERO: Quantity = Quantity(0);
    /// The largest quantity one message carries.
    pub const MAX: Quantity = Quantity(u32::MAX);

    /// A quantity of `shares`.
    #[must_use]
    pub const fn new(shares: u32) -> Quantity {
        Quantity(shares)
    }

    /// The number of shares.
    #[must_use]
    pub const fn shares(self) -> u32 {
        self.0
    }

    /// Whether this is zero shares.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Converts from a decimal, exactly, or explains why it cannot.
    ///
    /// # Errors
    /// [`ValueError::Negative`] below zero, [`ValueError::TooManyDecimals`] for a fraction
    /// of a share, [`ValueError::OutOfRange`] above [`Quantity::MAX`].
    pub fn from_decimal(value: Decimal) -> Result<Quantity, ValueError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(ValueError::Negative {
                what: "quantity",
                value,
            });
        }
        let places = significant_places(value);
        if places > 0 {
            return Err(ValueError::TooManyDecimals {
                what: "quantity",
                value,
                places,
                places_max: 0,
            });
        }
        let whole = value.normalize();
        u32::try_from(whole.mantissa())
            .map(Quantity)
            .map_err(|_| ValueError::OutOfRange {
                what: "quantity",
                value,
                min: Decimal::ZERO,
                max: Decimal::from(u32::MAX),
            })
    }

    /// The quantity as a decimal.
    #[must_use]
    pub fn to_decimal(self) -> Decimal {
        Decimal::from(self.0)
    }

    /// `self - other`, or `None` if `other` is larger.
    #[must_use]
    pub const fn checked_sub(self, other: Quantity) -> Option<Quantity> {
        match self.0.checked_sub(other.0) {
            Some(shares) => Some(Quantity(shares)),
            None => None,
        }
    }

    /// The smaller of two quantities.
    #[must_use]
    pub fn min(self, other: Quantity) -> Quantity {
        Quantity(self.0.min(other.0))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, formatter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn converts_whole_shares() {
        assert_eq!(
            Quantity::from_decimal(decimal("100")).unwrap(),
            Quantity::new(100)
        );
        assert_eq!(
            Quantity::from_decimal(decimal("100.000")).unwrap(),
            Quantity::new(100)
        );
        assert_eq!(
            Quantity::from_decimal(decimal("0")).unwrap(),
            Quantity::ZERO
        );
        assert_eq!(
            Quantity::from_decimal(decimal("-0")).unwrap(),
            Quantity::ZERO
        );
        assert_eq!(
            Quantity::from_decimal(decimal("4294967295")).unwrap(),
            Quantity::MAX
        );
    }

    #[test]
    fn rejects_negative_quantity() {
        let err = Quantity::from_decimal(decimal("-1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "quantity -1 is negative; it must be zero or more"
        );
    }

    #[test]
    fn rejects_fractional_shares() {
        let err = Quantity::from_decimal(decimal("10.5")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "quantity 10.5 has 1 decimal places; at most 0 are representable"
        );
    }

    #[test]
    fn rejects_quantity_above_max() {
        let err = Quantity::from_decimal(decimal("4294967296")).unwrap_err();
        assert!(matches!(
            err,
            ValueError::OutOfRange {
                what: "quantity",
                ..
            }
        ));
    }
}
