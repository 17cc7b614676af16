//! The firm's inventory book: position, average cost, realized and mark-to-mid
//! unrealized profit and loss per symbol.
//!
//! The matcher owns the position (it enforces the long, short and gross limits and skews
//! its prices by it) and reports every change with its price
//! ([`crossline_matcher::Event::PositionChanged`]); this is the accounting kept from
//! those reports, so it always agrees with the matcher and is rebuilt by replaying the
//! same journal. Average-cost method, exact in micro-dollars: the cost basis is the
//! signed sum of shares × price of the open position.

use crossline_types::{Price, SymbolId};

/// One symbol's inventory accounting.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// Shares; negative is short.
    quantity: i64,
    /// Signed cost of the open position (same sign as `quantity`), micro-dollars.
    cost: i128,
    /// Realized profit (negative: loss), micro-dollars.
    realized: i128,
    /// The last NBBO midpoint (zero before one).
    mark: Price,
}

/// A symbol's inventory, for reports and the hedger's operators.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionView {
    /// The symbol.
    pub symbol: SymbolId,
    /// Shares; negative is short.
    pub quantity: i64,
    /// Average cost per share of the open position (zero when flat), rounded toward zero.
    pub average_cost: Price,
    /// Realized profit and loss today, micro-dollars.
    pub realized_pnl: i128,
    /// Open position valued at the mark less its cost, micro-dollars (zero before the
    /// first NBBO).
    pub unrealized_pnl: i128,
    /// The NBBO midpoint the position is marked at.
    pub mark: Price,
}

impl Position {
    /// Applies a trade of `delta` shares (positive: the firm bought) at `price`.
    pub(crate) fn trade(&mut self, delta: i64, price: Price) {
        let price = i128::from(price.micros());
        let direction = i128::from(delta.signum());
        if self.quantity == 0 || (delta > 0) == (self.quantity > 0) {
            self.quantity += delta;
            self.cost += i128::from(delta) * price;
            return;
        }
        // Closing: the closed shares leave the cost basis in proportion, and realize the
        // difference between what they cost and what they traded at.
        let held = i128::from(self.quantity.unsigned_abs());
        let traded = i128::from(delta.unsigned_abs());
        let closed = traded.min(held);
        let removed = self.cost * closed / held;
        let sign = i128::from(self.quantity.signum());
        self.realized += sign * closed * price - removed;
        self.cost -= removed;
        // `closed` is at most |delta|, an `i64`.
        let closed_shares = i64::try_from(closed).unwrap_or(0);
        self.quantity += delta.signum() * closed_shares;
        let opened = traded - closed;
        if opened > 0 {
            self.quantity += delta.signum() * i64::try_from(opened).unwrap_or(0);
            self.cost += direction * opened * price;
        }
    }

    /// Marks the position at a new NBBO midpoint.
    pub(crate) fn mark(&mut self, mid: Price) {
        self.mark = mid;
    }

    /// Starts a new day: realized profit and loss is booked and starts again from zero.
    pub(crate) fn new_day(&mut self) {
        self.realized = 0;
    }

    pub(crate) fn view(&self, symbol: SymbolId) -> PositionView {
        let average = if self.quantity == 0 {
            0
        } else {
            self.cost / i128::from(self.quantity)
        };
        let unrealized = if self.mark > Price::ZERO {
            i128::from(self.quantity) * i128::from(self.mark.micros()) - self.cost
        } else {
            0
        };
        PositionView {
            symbol,
            quantity: self.quantity,
            average_cost: Price::from_micros(i64::try_from(average).unwrap_or(i64::MAX)),
            realized_pnl: self.realized,
            unrealized_pnl: unrealized,
            mark: self.mark,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dollars(value: i64) -> Price {
        Price::from_micros(value * 1_000_000)
    }

    const DOLLAR: i128 = 1_000_000;

    #[test]
    fn average_cost_realized_and_unrealized() {
        let mut position = Position::default();
        position.trade(100, dollars(10));
        position.trade(100, dollars(12));
        let view = position.view(SymbolId::new(1));
        assert_eq!((view.quantity, view.average_cost), (200, dollars(11)));
        // Sell 50 at $13: realizes 50 × ($13 − $11).
        position.trade(-50, dollars(13));
        position.mark(dollars(14));
        let view = position.view(SymbolId::new(1));
        assert_eq!(view.quantity, 150);
        assert_eq!(view.average_cost, dollars(11));
        assert_eq!(view.realized_pnl, 100 * DOLLAR);
        assert_eq!(view.unrealized_pnl, 150 * 3 * DOLLAR);
    }

    #[test]
    fn through_flat_to_short_and_back() {
        let mut position = Position::default();
        position.trade(100, dollars(10));
        // Sell 300 at $9: closes 100 (−$100), opens 200 short at $9.
        position.trade(-300, dollars(9));
        let view = position.view(SymbolId::new(1));
        assert_eq!((view.quantity, view.average_cost), (-200, dollars(9)));
        assert_eq!(view.realized_pnl, -100 * DOLLAR);
        // Buy back 200 at $8: +$200 on the short.
        position.trade(200, dollars(8));
        let view = position.view(SymbolId::new(1));
        assert_eq!((view.quantity, view.average_cost), (0, Price::ZERO));
        assert_eq!(view.realized_pnl, 100 * DOLLAR);
        assert_eq!(view.unrealized_pnl, 0);
    }

    #[test]
    fn uneven_costs_leave_nothing_behind_when_flat() {
        let mut position = Position::default();
        position.trade(3, Price::from_micros(10_000_001));
        position.trade(-1, Price::from_micros(10_000_000));
        position.trade(-1, Price::from_micros(10_000_000));
        position.trade(-1, Price::from_micros(10_000_000));
        let view = position.view(SymbolId::new(1));
        assert_eq!(view.quantity, 0);
        // Exactly −3 micro-dollars: the cost basis is exhausted, not rounded away.
        assert_eq!(view.realized_pnl, -3);
        assert_eq!(position.cost, 0);
    }
}
