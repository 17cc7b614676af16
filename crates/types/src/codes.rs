//! Small enumerations carried in messages as one byte each.
//!
//! Every code starts at 1 so that a zeroed byte (an unwritten slot, a torn record) is never
//! mistaken for a valid value; decoding an unknown byte fails with
//! [`ValueError::UnknownCode`].

use crate::error::ValueError;
use crate::Price;

/// Generates a `#[repr(u8)]` enumeration with its byte code, name and checked decoding.
macro_rules! byte_code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$variant_meta:meta])* $variant:ident = $code:literal, $label:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant = $code, )+
        }

        impl $name {
            /// Every variant, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The byte that stands for this value on the wire and in the journal.
            #[must_use]
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// The lower-case name used in configuration, logs and reports.
            #[must_use]
            pub const fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }
        }

        impl TryFrom<u8> for $name {
            type Error = ValueError;

            fn try_from(code: u8) -> Result<Self, ValueError> {
                match code {
                    $($code => Ok($name::$variant),)+
                    _ => Err(ValueError::UnknownCode { what: $what, code }),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                formatter.write_str(self.label())
            }
        }
    };
}

byte_code_enum! {
    /// Which way an order trades. Short sales are their own sides because Reg SHO treats
    /// them differently: a short sale needs a locate and obeys the Rule 201 price test.
    Side, "side" {
        /// Buy.
        Buy = 1, "buy";
        /// Sell shares the client owns (long sale).
        Sell = 2, "sell";
        /// Sell shares the client does not own (needs a locate; Rule 201 applies).
        SellShort = 3, "sell_short";
        /// A short sale exempt from the Rule 201 price test (still marked short).
        SellShortExempt = 4, "sell_short_exempt";
    }
}

impl Side {
    /// Whether the order buys.
    #[must_use]
    pub const fn is_buy(self) -> bool {
        matches!(self, Side::Buy)
    }

    /// Whether the order sells, long or short.
    #[must_use]
    pub const fn is_sell(self) -> bool {
        !self.is_buy()
    }

    /// Whether `price` is at or inside `bound` for this side: no higher to buy, no lower
    /// to sell (a limit price, a protected quote).
    #[must_use]
    pub fn within(self, price: Price, bound: Price) -> bool {
        if self.is_buy() {
            price <= bound
        } else {
            price >= bound
        }
    }

    /// Whether the order is a short sale (exempt or not).
    #[must_use]
    pub const fn is_short(self) -> bool {
        matches!(self, Side::SellShort | Side::SellShortExempt)
    }
}

byte_code_enum! {
    /// Market or limit.
    OrderType, "order type" {
        /// Execute at the best available price.
        Market = 1, "market";
        /// Execute at the limit price or better.
        Limit = 2, "limit";
    }
}

byte_code_enum! {
    /// How long an order stays working.
    TimeInForce, "time in force" {
        /// Until the end of the trading day.
        Day = 1, "day";
        /// Immediate or cancel: fill what can be filled now, cancel the rest.
        ImmediateOrCancel = 2, "ioc";
        /// Good till cancelled.
        GoodTillCancel = 3, "gtc";
        /// Fill or kill: fill the whole quantity now or none of it.
        FillOrKill = 4, "fok";
    }
}

byte_code_enum! {
    /// The capacity in which the firm acts on an execution (CAT and Rule 606 report it).
    Capacity, "capacity" {
        /// As the client's agent (internal cross, venue execution).
        Agency = 1, "agency";
        /// As principal, from the firm's own inventory.
        Principal = 2, "principal";
        /// Riskless principal: offsetting principal trades at the same price.
        RisklessPrincipal = 3, "riskless_principal";
    }
}

byte_code_enum! {
    /// Where the liquidity for an execution came from.
    LiquiditySource, "liquidity source" {
        /// Another client's resting order in the internal book.
        InternalCross = 1, "internal_cross";
        /// The firm's own inventory.
        Principal = 2, "principal";
        /// An external venue, through a routed child order.
        Venue = 3, "venue";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_means_no_higher_to_buy_and_no_lower_to_sell() {
        let (low, high) = (
            Price::from_micros(10_000_000),
            Price::from_micros(10_010_000),
        );
        assert!(Side::Buy.within(low, high) && Side::Buy.within(high, high));
        assert!(!Side::Buy.within(high, low));
        for side in [Side::Sell, Side::SellShort] {
            assert!(side.within(high, low) && side.within(low, low));
            assert!(!side.within(low, high));
        }
    }

    #[test]
    fn codes_round_trip_and_zero_is_invalid() {
        for side in Side::ALL {
            assert_eq!(Side::try_from(side.code()), Ok(*side));
        }
        for tif in TimeInForce::ALL {
            assert_eq!(TimeInForce::try_from(tif.code()), Ok(*tif));
        }
        assert_eq!(
            Side::try_from(0).unwrap_err().to_string(),
            "side code 0 is not defined"
        );
        assert!(OrderType::try_from(3).is_err());
        assert!(Capacity::try_from(4).is_err());
        assert!(LiquiditySource::try_from(255).is_err());
    }

    #[test]
    fn short_sales_are_sells() {
        assert!(Side::SellShort.is_sell() && Side::SellShort.is_short());
        assert!(Side::SellShortExempt.is_short());
        assert!(Side::Sell.is_sell() && !Side::Sell.is_short());
        assert!(Side::Buy.is_buy() && !Side::Buy.is_sell());
    }
}
