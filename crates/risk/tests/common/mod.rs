//! The configurations the gate-and-matcher tests share: three clients, two symbols.
#![allow(dead_code)]

use crossline_book::BookConfig;
use crossline_matcher::{
    CrossPrice, MatcherConfig, Mode, SelfMatch, SymbolConfig, SymbolSettings, UnusableNbbo,
};
use crossline_risk::{ClientLimits, CollarTier, RiskConfig};
use crossline_types::{ClientId, Price, Quantity, SymbolId};

pub(crate) const SYMBOL: SymbolId = SymbolId::new(1);
pub(crate) const CLIENTS: u32 = 3;
/// A second symbol, for tests of scope.
pub(crate) const OTHER_SYMBOL: SymbolId = SymbolId::new(2);

pub(crate) fn risk_config() -> RiskConfig {
    RiskConfig {
        clients: (1..=CLIENTS)
            .map(|client| ClientLimits {
                client: ClientId::new(client),
                credit_limit: Price::from_micros(60_000 * 1_000_000),
                order_quantity_max: Quantity::new(2_000),
                order_notional_max: Price::from_micros(25_000 * 1_000_000),
                messages_per_second: 1_000_000,
                message_burst: 1_000,
                market_order_adv_ppm: 1_000_000,
                client_order_ids_max: 10_000,
            })
            .collect(),
        symbols: [SYMBOL, OTHER_SYMBOL]
            .into_iter()
            .map(|symbol| crossline_risk::SymbolRisk {
                symbol,
                average_daily_volume: 10_000_000,
                restricted: false,
            })
            .collect(),
        collar: vec![CollarTier {
            below: Price::MAX,
            ppm: 100_000,
            minimum: Price::CENT,
        }],
        orders_max: 256,
        locates_max: 8,
    }
}

pub(crate) fn matcher_config() -> MatcherConfig {
    MatcherConfig {
        orders_max: 256,
        gross_notional_max: Price::from_micros(1_000_000 * 1_000_000),
        nbbo_stale_after_ns: u64::MAX,
        unusable_nbbo: UnusableNbbo::Route,
        self_match: SelfMatch::CancelResting,
        cross_price: CrossPrice::Midpoint,
        improvement_increment: Price::HUNDREDTH_CENT,
        firm_account: ClientId::new(900),
        symbols: [SYMBOL, OTHER_SYMBOL]
            .into_iter()
            .map(|symbol| SymbolConfig {
                symbol,
                reference_price: Price::from_micros(10_000_000),
                book: BookConfig {
                    orders_max: 128,
                    tick: Price::CENT,
                    window_levels: 256,
                    far_levels_max: 64,
                },
                settings: SymbolSettings {
                    mode: Mode::Passive,
                    improvement_spread_ppm: 100_000,
                    improvement_min: Price::HUNDREDTH_CENT,
                    skew_ppm: 0,
                    long_max: 1_000,
                    short_max: 1_000,
                    principal_size_max: 300,
                    route_residual: true,
                    // The second symbol runs the hedger past 200 shares.
                    soft_limit: if symbol == OTHER_SYMBOL { 200 } else { 0 },
                    hedge: symbol == OTHER_SYMBOL,
                },
            })
            .collect(),
    }
}
