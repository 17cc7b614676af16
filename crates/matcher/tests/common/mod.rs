//! Shared by the matcher's integration tests: configurations and input builders.
#![allow(dead_code)]

pub(crate) mod model;

use crossline_book::BookConfig;
use crossline_matcher::{
    CrossPrice, Event, Input, Matcher, MatcherConfig, Mode, SelfMatch, SymbolConfig,
    SymbolSettings, UnusableNbbo,
};
use crossline_types::{
    Capacity, ClientId, ClientOrderId, NewOrder, OrderType, Price, Quantity, Quote, SequenceNumber,
    Side, SymbolId, TimeInForce, Timestamp,
};

/// $10.00, a cent-tick symbol.
pub(crate) const TEN: SymbolId = SymbolId::new(1);
/// $0.50, a sub-dollar symbol with a $0.0001 tick.
pub(crate) const HALF: SymbolId = SymbolId::new(2);

pub(crate) fn micros(value: i64) -> Price {
    Price::from_micros(value)
}

pub(crate) fn settings(mode: Mode) -> SymbolSettings {
    SymbolSettings {
        mode,
        improvement_spread_ppm: 100_000,
        improvement_min: Price::HUNDREDTH_CENT,
        skew_ppm: 0,
        long_max: 1_000,
        short_max: 1_000,
        principal_size_max: 500,
        route_residual: true,
        soft_limit: 0,
        hedge: false,
    }
}

pub(crate) fn config(mode: Mode) -> MatcherConfig {
    MatcherConfig {
        orders_max: 64,
        gross_notional_max: micros(1_000_000_000_000),
        nbbo_stale_after_ns: 1_000_000,
        unusable_nbbo: UnusableNbbo::Reject,
        self_match: SelfMatch::CancelResting,
        cross_price: CrossPrice::Midpoint,
        improvement_increment: Price::HUNDREDTH_CENT,
        firm_account: ClientId::new(0),
        symbols: vec![
            SymbolConfig {
                symbol: TEN,
                reference_price: micros(10_000_000),
                book: BookConfig {
                    orders_max: 32,
                    tick: Price::CENT,
                    window_levels: 64,
                    far_levels_max: 256,
                },
                settings: settings(mode),
            },
            SymbolConfig {
                symbol: HALF,
                reference_price: micros(500_000),
                book: BookConfig {
                    orders_max: 32,
                    tick: Price::HUNDREDTH_CENT,
                    window_levels: 64,
                    far_levels_max: 256,
                },
                settings: settings(mode),
            },
        ],
    }
}

pub(crate) fn limit(
    client: u32,
    coid: u64,
    side: Side,
    price_micros: i64,
    shares: u32,
    tif: TimeInForce,
) -> Input {
    Input::NewOrder(NewOrder {
        client: ClientId::new(client),
        symbol: TEN,
        client_order_id: ClientOrderId::new(coid),
        price: micros(price_micros),
        quantity: Quantity::new(shares),
        side,
        order_type: OrderType::Limit,
        time_in_force: tif,
        capacity: Capacity::Agency,
    })
}

pub(crate) fn market(client: u32, coid: u64, side: Side, shares: u32) -> Input {
    Input::NewOrder(NewOrder {
        client: ClientId::new(client),
        symbol: TEN,
        client_order_id: ClientOrderId::new(coid),
        price: Price::ZERO,
        quantity: Quantity::new(shares),
        side,
        order_type: OrderType::Market,
        time_in_force: TimeInForce::ImmediateOrCancel,
        capacity: Capacity::Agency,
    })
}

pub(crate) fn nbbo(symbol: SymbolId, bid_micros: i64, ask_micros: i64) -> Input {
    Input::Nbbo(Quote {
        symbol,
        bid_size: Quantity::new(100),
        bid: micros(bid_micros),
        ask: micros(ask_micros),
        ask_size: Quantity::new(100),
    })
}

/// A matcher with a clock: each `send` is the next sequence number, at the given time.
pub(crate) struct Harness {
    pub(crate) matcher: Matcher,
    pub(crate) sequence: u64,
    pub(crate) now: u64,
}

impl Harness {
    pub(crate) fn new(config: &MatcherConfig) -> Harness {
        Harness {
            matcher: Matcher::new(config).unwrap(),
            sequence: 0,
            now: 1_000,
        }
    }

    /// Applies `input` one microsecond after the previous one and returns its events.
    pub(crate) fn send(&mut self, input: Input) -> Vec<Event> {
        self.sequence += 1;
        self.now += 1_000;
        let mut events = Vec::new();
        self.matcher.apply(
            SequenceNumber::new(self.sequence),
            Timestamp::new(self.now),
            &input,
            &mut |event| events.push(event),
        );
        events
    }
}
