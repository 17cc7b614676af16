//! Pure price arithmetic: NBBO usability, cross prices, price improvement with inventory
//! skew, inventory capacity, Rule 612 increments. No state, so each rule is testable at
//! its edges on its own.

use crossline_types::{Price, Side, Timestamp};

use crate::config::{CrossPrice, SymbolSettings, PPM};
use crate::io::NbboPrices;

/// The national best bid and offer of a symbol, with when it was set.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Nbbo {
    pub(crate) prices: NbboPrices,
    pub(crate) time: Timestamp,
    pub(crate) seen: bool,
}

impl Nbbo {
    /// Whether prices may be derived from it at `now`: two-sided, neither locked nor
    /// crossed, and no older than `stale_after_ns`.
    pub(crate) fn usable(&self, now: Timestamp, stale_after_ns: u64) -> bool {
        let NbboPrices { bid, ask } = self.prices;
        self.seen
            && bid > Price::ZERO
            && bid < ask
            && now.nanos().saturating_sub(self.time.nanos()) <= stale_after_ns
    }

    /// The midpoint, rounded down to a whole micro-dollar.
    pub(crate) fn midpoint(&self) -> Price {
        let NbboPrices { bid, ask } = self.prices;
        Price::from_micros(bid.micros() + (ask.micros() - bid.micros()) / 2)
    }
}

/// Rule 612: prices of $1.00 or more in whole cents, lower prices in hundredths of a cent.
pub(crate) fn is_valid_increment(price: Price) -> bool {
    let increment = if price.micros() >= Price::MICROS_PER_DOLLAR {
        Price::CENT
    } else {
        Price::HUNDREDTH_CENT
    };
    price.is_multiple_of(increment)
}

/// The worst price an order may execute at in-house: its limit, tightened to the
/// protected NBBO side it must not trade through (Rule 611). `limit` is `None` for a
/// market order.
pub(crate) fn protected_bound(side: Side, limit: Option<Price>, nbbo: NbboPrices) -> Price {
    match (side.is_buy(), limit) {
        (true, Some(limit)) => limit.min(nbbo.ask),
        (true, None) => nbbo.ask,
        (false, Some(limit)) => limit.max(nbbo.bid),
        (false, None) => nbbo.bid,
    }
}

/// The price of an internal cross between an arriving order (`side`, `limit`, `None` for
/// market) and a resting contra order at `resting`: the configured base price, clamped to
/// both limits and to the NBBO. `None` when no price satisfies all of them (the resting
/// order is priced through the NBBO on the arriving order's far side).
pub(crate) fn cross_price(
    side: Side,
    limit: Option<Price>,
    resting: Price,
    nbbo: &Nbbo,
    rule: CrossPrice,
) -> Option<Price> {
    let NbboPrices { bid, ask } = nbbo.prices;
    let (buy_limit, sell_limit) = if side.is_buy() {
        (limit.unwrap_or(ask), resting)
    } else {
        (resting, limit.unwrap_or(bid))
    };
    let low = sell_limit.max(bid);
    let high = buy_limit.min(ask);
    if low > high {
        return None;
    }
    let base = match rule {
        CrossPrice::Midpoint => nbbo.midpoint(),
        CrossPrice::RestingLimit => resting,
    };
    Some(base.clamp(low, high))
}

/// The price improvement the firm gives on a principal fill, per share, in whole
/// `increment`s and never more than the spread: the configured fraction of the spread,
/// scaled by the client's multiplier (`multiplier_ppm`, 1,000,000 for none; at most
/// 2,000,000) and at least the minimum, then scaled up when the fill reduces the firm's
/// position and down when it grows it, in proportion to how far the position is past the
/// soft limit, on the way to its hard limit. Neither the multiplier nor skew takes it
/// below the configured minimum (rounded up to whole increments): every principal fill
/// improves on the NBBO by at least that.
pub(crate) fn improvement(
    spread: Price,
    settings: &SymbolSettings,
    multiplier_ppm: u32,
    position: i64,
    firm_buys: bool,
    increment: Price,
) -> Price {
    let spread_micros = spread.micros().max(0);
    let fraction = scale(spread_micros, settings.improvement_spread_ppm);
    // Most clients have none: no second scaling for them.
    let scaled = if multiplier_ppm == PPM {
        fraction
    } else {
        scale(fraction, multiplier_ppm.min(2 * PPM))
    };
    let base = scaled.max(settings.improvement_min.micros());
    let limit = if position > 0 {
        settings.long_max
    } else {
        settings.short_max
    };
    let soft = u64::from(settings.soft_limit);
    let over = position.unsigned_abs().saturating_sub(soft);
    let room = u64::from(limit).saturating_sub(soft);
    let fullness_ppm = match (over, room) {
        (0, _) => 0,
        (_, 0) => PPM,
        _ => {
            let ratio = u128::from(over) * u128::from(PPM) / u128::from(room);
            u32::try_from(ratio.min(u128::from(PPM))).unwrap_or(PPM)
        }
    };
    let skew_ppm = scale(i64::from(settings.skew_ppm), fullness_ppm);
    let reduces = (firm_buys && position < 0) || (!firm_buys && position > 0);
    let factor_ppm = if reduces {
        i64::from(PPM) + skew_ppm
    } else {
        i64::from(PPM) - skew_ppm
    };
    let skewed = scale(base, u32::try_from(factor_ppm).unwrap_or(0));
    let step = increment.micros().max(1);
    let whole = skewed - skewed % step;
    let minimum = settings.improvement_min.micros().div_euclid(step) * step
        + if settings.improvement_min.micros() % step == 0 {
            0
        } else {
            step
        };
    Price::from_micros(whole.max(minimum).min(spread_micros).max(0))
}

/// `value × ppm / 1,000,000`, rounded toward zero, for a non-negative `value` and a
/// `ppm` of at most two million (so the result is at most twice `value`). Plain 64-bit
/// arithmetic when the product fits, which is every realistic price; 128-bit otherwise.
fn scale(value: i64, ppm: u32) -> i64 {
    debug_assert!(value >= 0 && ppm <= 2 * PPM);
    match value.checked_mul(i64::from(ppm)) {
        Some(product) => product / i64::from(PPM),
        None => {
            let scaled = i128::from(value) * i128::from(ppm) / i128::from(PPM);
            i64::try_from(scaled).unwrap_or(i64::MAX)
        }
    }
}

/// The firm's inventory limits and its current gross notional, for sizing a principal
/// fill.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Inventory {
    pub(crate) position: i64,
    pub(crate) long_max: u32,
    pub(crate) short_max: u32,
    /// Gross notional of all symbols, including this one's `|position| × mark`.
    pub(crate) gross: i128,
    pub(crate) gross_max: i128,
    /// This symbol's mark (NBBO midpoint); positive.
    pub(crate) mark: Price,
}

impl Inventory {
    /// The most shares the firm may buy (`firm_buys`) or sell. A trade that takes the
    /// position toward zero is always allowed; one that grows it must leave it within
    /// the long or short limit and the firm's gross notional within its limit.
    pub(crate) fn capacity(&self, firm_buys: bool) -> u64 {
        let mark = i128::from(self.mark.micros().max(1));
        let position = i128::from(self.position);
        let own = position.abs() * mark;
        let room = self.gross_max - (self.gross - own);
        // The largest |position| the gross limit allows; negative when even a flat
        // position is over it (then only reductions are allowed, which the max/min with
        // the current position below provide).
        let by_notional = match i64::try_from(room) {
            // 64-bit division when the room fits (it always does below the limit, which is
            // an `i64`): a 128-bit one is a slow library call.
            Ok(room) => i128::from(room.div_euclid(self.mark.micros().max(1))),
            Err(_) => room.div_euclid(mark),
        };
        let highest = i128::from(self.long_max).min(by_notional);
        let lowest = -i128::from(self.short_max).min(by_notional);
        let shares = if firm_buys {
            highest.max(position.max(0)) - position
        } else {
            position - lowest.min(position.min(0))
        };
        u64::try_from(shares.max(0)).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;

    fn micros(value: i64) -> Price {
        Price::from_micros(value)
    }

    fn nbbo(bid: i64, ask: i64, time: u64) -> Nbbo {
        Nbbo {
            prices: NbboPrices {
                bid: micros(bid),
                ask: micros(ask),
            },
            time: Timestamp::new(time),
            seen: true,
        }
    }

    fn settings() -> SymbolSettings {
        SymbolSettings {
            mode: Mode::Passive,
            improvement_spread_ppm: 100_000,
            improvement_min: micros(100),
            skew_ppm: 500_000,
            long_max: 1000,
            short_max: 1000,
            principal_size_max: 500,
            route_residual: true,
            soft_limit: 0,
            hedge: false,
        }
    }

    #[test]
    fn nbbo_usability_at_the_edges() {
        let quote = nbbo(10_000_000, 10_010_000, 1_000);
        assert!(
            quote.usable(Timestamp::new(1_500), 500),
            "exactly at the age limit"
        );
        assert!(
            !quote.usable(Timestamp::new(1_501), 500),
            "one nanosecond older"
        );
        assert!(
            !nbbo(10_000_000, 10_000_000, 0).usable(Timestamp::new(0), 10),
            "locked"
        );
        assert!(
            !nbbo(10_000_001, 10_000_000, 0).usable(Timestamp::new(0), 10),
            "crossed"
        );
        assert!(nbbo(10_000_000, 10_000_001, 0).usable(Timestamp::new(0), 10));
        assert!(
            !nbbo(0, 10_000_000, 0).usable(Timestamp::new(0), 10),
            "one-sided"
        );
        assert!(
            !Nbbo::default().usable(Timestamp::new(0), u64::MAX),
            "never seen"
        );
    }

    #[test]
    fn rule_612_increments() {
        assert!(is_valid_increment(micros(1_000_000)));
        assert!(
            !is_valid_increment(micros(1_000_100)),
            "$1.0001 is sub-penny"
        );
        assert!(
            is_valid_increment(micros(999_900)),
            "$0.9999 is allowed below $1"
        );
        assert!(!is_valid_increment(micros(999_950)), "$0.99995 is too fine");
    }

    #[test]
    fn cross_price_is_clamped_to_both_limits_and_the_nbbo() {
        let quote = nbbo(10_000_000, 10_020_000, 0);
        let mid = CrossPrice::Midpoint;
        // Midpoint inside both limits.
        let price = cross_price(
            Side::Buy,
            Some(micros(10_020_000)),
            micros(10_000_000),
            &quote,
            mid,
        );
        assert_eq!(price, Some(micros(10_010_000)));
        // The buyer's limit below the midpoint clamps it.
        let price = cross_price(
            Side::Buy,
            Some(micros(10_005_000)),
            micros(10_000_000),
            &quote,
            mid,
        );
        assert_eq!(price, Some(micros(10_005_000)));
        // A resting sell above the midpoint clamps it up.
        let price = cross_price(
            Side::Sell,
            Some(micros(10_000_000)),
            micros(10_015_000),
            &quote,
            mid,
        );
        assert_eq!(
            price,
            Some(micros(10_010_000)),
            "sell arriving: resting buy at 10.015"
        );
        let price = cross_price(Side::Buy, None, micros(10_015_000), &quote, mid);
        assert_eq!(price, Some(micros(10_015_000)));
        // A buyer below the national best bid cannot trade with a seller below it either:
        // any price would be a sell through the protected bid.
        let price = cross_price(
            Side::Buy,
            Some(micros(9_990_000)),
            micros(9_980_000),
            &quote,
            mid,
        );
        assert_eq!(price, None);
        // Resting-limit pricing.
        let price = cross_price(
            Side::Buy,
            Some(micros(10_020_000)),
            micros(10_005_000),
            &quote,
            CrossPrice::RestingLimit,
        );
        assert_eq!(price, Some(micros(10_005_000)));
    }

    #[test]
    fn improvement_fraction_minimum_increment_and_cap() {
        let mut settings = settings();
        // 10% of a 2-cent spread is 0.2 cents.
        let spread = micros(20_000);
        assert_eq!(
            improvement(spread, &settings, PPM, 0, true, micros(100)),
            micros(2_000)
        );
        // The minimum applies when the fraction is smaller.
        settings.improvement_min = micros(5_000);
        assert_eq!(
            improvement(spread, &settings, PPM, 0, true, micros(100)),
            micros(5_000)
        );
        // A minimum between whole increments is rounded up, so it still holds.
        settings.improvement_min = micros(5_050);
        assert_eq!(
            improvement(spread, &settings, PPM, 0, true, micros(100)),
            micros(5_100)
        );
        // Never more than the spread.
        settings.improvement_min = micros(50_000);
        assert_eq!(
            improvement(spread, &settings, PPM, 0, true, micros(100)),
            spread
        );
    }

    #[test]
    fn a_client_multiplier_scales_the_base_improvement_but_not_the_minimum() {
        let mut settings = settings();
        settings.improvement_spread_ppm = 300_000;
        // 30% of a 4-cent spread is 1.2 cents; ×0.5 is 0.6, ×1.5 is 1.8, ×2 is 2.4.
        let spread = micros(40_000);
        let at = |multiplier_ppm, settings: &SymbolSettings| {
            improvement(spread, settings, multiplier_ppm, 0, true, micros(100))
        };
        assert_eq!(at(PPM, &settings), micros(12_000));
        assert_eq!(at(500_000, &settings), micros(6_000));
        assert_eq!(at(1_500_000, &settings), micros(18_000));
        assert_eq!(at(2 * PPM, &settings), micros(24_000));
        // Rounded down to whole increments after scaling: ×0.333333 of 1.2 cents.
        assert_eq!(at(333_333, &settings), micros(3_900));
        // Zero leaves the minimum, which no multiplier goes below.
        assert_eq!(at(0, &settings), settings.improvement_min);
        settings.improvement_min = micros(7_000);
        assert_eq!(at(500_000, &settings), micros(7_000));
        // Never more than the spread, whatever the multiplier.
        settings.improvement_spread_ppm = 800_000;
        assert_eq!(at(2 * PPM, &settings), spread);
    }

    #[test]
    fn skew_improves_more_when_reducing_and_less_when_growing() {
        let settings = settings();
        let spread = micros(20_000);
        // Long 500 of 1000: skew is 50% × 50% = 25%.
        assert_eq!(
            improvement(spread, &settings, PPM, 500, false, micros(100)),
            micros(2_500)
        );
        assert_eq!(
            improvement(spread, &settings, PPM, 500, true, micros(100)),
            micros(1_500)
        );
        // Short 1000 of 1000 with a 100% skew: buying improves double, selling only by the
        // configured minimum (skew never goes below it).
        let full = SymbolSettings {
            skew_ppm: PPM,
            ..settings
        };
        assert_eq!(
            improvement(spread, &full, PPM, -1000, true, micros(100)),
            micros(4_000)
        );
        assert_eq!(
            improvement(spread, &full, PPM, -1000, false, micros(100)),
            settings.improvement_min
        );
    }

    #[test]
    fn skew_starts_past_the_soft_limit() {
        let settings = SymbolSettings {
            soft_limit: 200,
            ..settings()
        };
        let spread = micros(20_000);
        // At or inside the soft limit: the base improvement, 10% of the spread.
        for position in [0, 200, -200] {
            assert_eq!(
                improvement(spread, &settings, PPM, position, false, micros(100)),
                micros(2_000),
                "position {position}"
            );
        }
        // Long 600: 400 of the 800 between the soft and hard limits, 50% × 50% = 25%.
        assert_eq!(
            improvement(spread, &settings, PPM, 600, false, micros(100)),
            micros(2_500)
        );
        assert_eq!(
            improvement(spread, &settings, PPM, 600, true, micros(100)),
            micros(1_500)
        );
    }

    fn inventory(position: i64, gross_max_dollars: i64) -> Inventory {
        let mark = micros(10_000_000);
        Inventory {
            position,
            long_max: 1000,
            short_max: 800,
            gross: i128::from(position.abs()) * i128::from(mark.micros()),
            gross_max: i128::from(gross_max_dollars) * 1_000_000,
            mark,
        }
    }

    #[test]
    fn capacity_respects_position_and_notional_limits() {
        // Flat, $1M gross limit: the position limits bind.
        assert_eq!(inventory(0, 1_000_000).capacity(true), 1000);
        assert_eq!(inventory(0, 1_000_000).capacity(false), 800);
        // Long 300: buy up to 700 more; sell down to short 800.
        assert_eq!(inventory(300, 1_000_000).capacity(true), 700);
        assert_eq!(inventory(300, 1_000_000).capacity(false), 1100);
        // A $5,000 gross limit at $10 allows |position| ≤ 500.
        assert_eq!(inventory(300, 5_000).capacity(true), 200);
        assert_eq!(inventory(300, 5_000).capacity(false), 800);
        // Over every limit: only reductions, down to flat at most… and past it only as far
        // as the limits allow.
        assert_eq!(inventory(1200, 5_000).capacity(true), 0);
        assert_eq!(inventory(1200, 5_000).capacity(false), 1700);
        assert_eq!(inventory(-900, 0).capacity(false), 0);
        assert_eq!(inventory(-900, 0).capacity(true), 900);
    }
}
