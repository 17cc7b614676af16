//! Random command streams through the matcher and through the reference model: every
//! command must produce identical events, and the invariants hold after every command.

mod common;

use std::collections::BTreeMap;

use common::model::Model;
use common::{config, HALF, TEN};
use crossline_book::BookSide;
use crossline_matcher::{
    ClientImprovement, Contra, CrossPrice, Event, Input, Matcher, MatcherConfig, Mode, SelfMatch,
    SettingsChange, SymbolSettings, UnusableNbbo, VenueCancel, VenueFill,
};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, LiquiditySource, NewOrder, OrderId, OrderType,
    Price, Quantity, Quote, Replace, SequenceNumber, Side, SymbolId, TimeInForce, Timestamp,
};
use proptest::prelude::*;

/// Commands per case; with the case count, at least 100,000 commands per run.
const COMMANDS: usize = 400;
const CASES: u32 = 256;

const MODES: [Mode; 3] = [Mode::AgencyOnly, Mode::Passive, Mode::Active];

fn random_settings(r: u32) -> SymbolSettings {
    SymbolSettings {
        mode: MODES[(r % 3) as usize],
        improvement_spread_ppm: [0, 100_000, 250_000, 1_000_000][(r >> 2) as usize % 4],
        improvement_min: Price::from_micros([0, 100, 2_500][(r >> 4) as usize % 3]),
        skew_ppm: [0, 500_000, 1_000_000][(r >> 6) as usize % 3],
        long_max: [0, 300, 1_500][(r >> 8) as usize % 3],
        short_max: [0, 300, 1_500][(r >> 10) as usize % 3],
        principal_size_max: [100, 1_000][(r >> 12) as usize % 2],
        route_residual: (r >> 13) % 4 != 0,
        soft_limit: 0,
        hedge: false,
    }
}

fn case_config(r: u32) -> MatcherConfig {
    let mut config = config(Mode::Passive);
    config.orders_max = [10, 64][r as usize % 2];
    config.self_match =
        [SelfMatch::CancelResting, SelfMatch::CancelArriving][(r >> 1) as usize % 2];
    config.cross_price = [CrossPrice::Midpoint, CrossPrice::RestingLimit][(r >> 2) as usize % 2];
    config.unusable_nbbo = [UnusableNbbo::Reject, UnusableNbbo::Route][(r >> 3) as usize % 2];
    // $8,000 binds at about 800 shares of the $10 stock; $1M never does.
    config.gross_notional_max =
        Price::from_micros([8_000_000_000, 1_000_000_000_000][(r >> 4) as usize % 2]);
    config.nbbo_stale_after_ns = 20_000;
    for (index, symbol) in config.symbols.iter_mut().enumerate() {
        symbol.book.orders_max = [6, 12][(r >> 5) as usize % 2];
        symbol.settings = random_settings(r >> (8 + 3 * index));
    }
    config
}

/// Tick and a price grid per symbol: 21 ticks around the reference.
fn price(symbol: SymbolId, step: u32, odd: bool) -> i64 {
    let (center, tick) = if symbol == HALF {
        (500_000, 100)
    } else {
        (10_000_000, 10_000)
    };
    let base = center + (i64::from(step % 21) - 10) * tick;
    // Now and then half a tick off: Rule 612 (or the book tick) must refuse it.
    if odd {
        base + tick / 2
    } else {
        base
    }
}

/// What the harness tracks to check the invariants.
#[derive(Default)]
struct Tracker {
    /// Per order: (ordered, filled, cancelled).
    orders: BTreeMap<OrderId, (u32, u32, u32)>,
    /// Orders out at a venue: id → (shares, limit).
    routed: BTreeMap<OrderId, (u32, Option<Price>)>,
    /// The NBBO last sent per symbol.
    nbbo: BTreeMap<SymbolId, (Price, Price, u64)>,
    /// Sum of principal fills per symbol, from the firm's side.
    principal: BTreeMap<SymbolId, i64>,
    commands: u64,
}

fn command(words: [u32; 6], tracker: &Tracker, matcher: &Matcher) -> Input {
    let [kind, a, b, c, d, e] = words;
    let symbol = match a % 16 {
        0 => SymbolId::new(9),
        1..=5 => HALF,
        _ => TEN,
    };
    let client = ClientId::new(1 + b % 3);
    let client_order_id = ClientOrderId::new(u64::from(c % 10));
    match kind % 100 {
        0..=39 => {
            let market = d % 8 == 0;
            Input::NewOrder(NewOrder {
                client,
                symbol,
                client_order_id,
                price: if market {
                    Price::ZERO
                } else {
                    Price::from_micros(price(symbol, e, d % 29 == 1))
                },
                quantity: Quantity::new([0, 1, 50, 100, 100, 200, 300, 700][(d >> 3) as usize % 8]),
                side: [Side::Buy, Side::Buy, Side::Sell, Side::SellShort][(e >> 8) as usize % 4],
                order_type: if market {
                    OrderType::Market
                } else {
                    OrderType::Limit
                },
                time_in_force: [
                    TimeInForce::Day,
                    TimeInForce::Day,
                    TimeInForce::GoodTillCancel,
                    TimeInForce::ImmediateOrCancel,
                    TimeInForce::FillOrKill,
                ][(e >> 12) as usize % 5],
                capacity: Capacity::Agency,
            })
        }
        40..=49 => Input::Cancel(Cancel {
            client,
            symbol: if d % 10 == 0 { HALF } else { TEN },
            client_order_id: ClientOrderId::new(100 + u64::from(d % 10)),
            original_client_order_id: client_order_id,
        }),
        50..=59 => {
            // A third of replaces keep the price (and so, if smaller, the priority).
            let current = matcher
                .order(client, client_order_id)
                .map(|order| order.price);
            let price = match current {
                Some(current) if d % 3 == 0 => current,
                _ => Price::from_micros(price(symbol, e, d % 31 == 1)),
            };
            Input::Replace(Replace {
                client,
                quantity: Quantity::new([50, 100, 200, 400][(d >> 2) as usize % 4]),
                client_order_id: ClientOrderId::new(u64::from((c + 1 + d % 3) % 10)),
                original_client_order_id: client_order_id,
                price,
            })
        }
        60..=79 => {
            let tick = if symbol == HALF { 100 } else { 10_000 };
            let bid = price(symbol, e, false);
            // Mostly a normal spread; now and then locked, crossed or one-sided.
            let spread = [1, 1, 2, 3, 5, 0, -1][d as usize % 7] * tick;
            let bid = if d % 23 == 0 { 0 } else { bid };
            Input::Nbbo(Quote {
                symbol,
                bid_size: Quantity::new(100),
                bid: Price::from_micros(bid),
                ask: Price::from_micros(bid + spread),
                ask_size: Quantity::new(100),
            })
        }
        80..=87 => {
            let Some((&order_id, &(routed, limit))) = tracker
                .routed
                .iter()
                .nth(d as usize % tracker.routed.len().max(1))
            else {
                return Input::EndOfDay;
            };
            let quantity = if e % 5 == 0 {
                routed + 1
            } else {
                1 + e % routed
            };
            let tick = if limit.is_some_and(|p| p.micros() < 1_000_000) {
                100
            } else {
                10_000
            };
            let price = match limit {
                Some(limit) => {
                    limit.micros() - i64::from(b % 3) * tick * if c % 2 == 0 { 1 } else { -1 }
                }
                None => price(symbol, e, false),
            };
            Input::VenueFill(VenueFill {
                order_id,
                quantity: Quantity::new(quantity),
                price: Price::from_micros(price),
                venue: 0,
                fee: Price::ZERO,
            })
        }
        88..=94 => {
            let Some((&order_id, &(routed, _))) = tracker
                .routed
                .iter()
                .nth(d as usize % tracker.routed.len().max(1))
            else {
                return Input::EndOfDay;
            };
            let quantity = if e % 7 == 0 { routed + 1 } else { routed };
            Input::VenueCancel(VenueCancel {
                order_id,
                quantity: Quantity::new(quantity),
            })
        }
        95 if d % 4 == 0 => Input::EndOfDay,
        96 => Input::ClientImprovement(ClientImprovement {
            client,
            // Mostly the classes' multipliers, sometimes any, rarely out of range.
            multiplier_ppm: match d % 8 {
                0 => 0,
                1 => 500_000,
                2 => 1_000_000,
                3 => 1_500_000,
                4 => 2_000_000,
                5 if e % 5 == 0 => 2_000_001 + e % 1_000,
                _ => e % 2_000_001,
            },
        }),
        _ => {
            let mut settings = random_settings(e);
            if d % 11 == 0 {
                settings.skew_ppm = 2_000_000;
            }
            Input::Settings(SettingsChange { symbol, settings })
        }
    }
}

fn check_invariants(
    matcher: &Matcher,
    model: &Model,
    input: &Input,
    events: &[Event],
    tracker: &mut Tracker,
    now: u64,
) -> Result<(), TestCaseError> {
    if let Input::Nbbo(quote) = input {
        if !events
            .iter()
            .any(|event| matches!(event, Event::InputRejected { .. }))
        {
            tracker
                .nbbo
                .insert(quote.symbol, (quote.bid, quote.ask, now));
        }
    }
    if let Input::NewOrder(new) = input {
        for event in events {
            if let Event::Accepted { order_id, .. } = event {
                tracker
                    .orders
                    .insert(*order_id, (new.quantity.shares(), 0, 0));
            }
        }
    }
    for event in events {
        match *event {
            Event::Filled(fill) => {
                let entry = tracker
                    .orders
                    .get_mut(&fill.order_id)
                    .expect("fill for a known order");
                entry.1 += fill.quantity.shares();
                if fill.liquidity != LiquiditySource::Venue {
                    // No in-house execution outside the NBBO in force at that moment.
                    let (bid, ask, _) = tracker.nbbo[&fill.symbol];
                    prop_assert_eq!(fill.nbbo_at_execution.bid, bid);
                    prop_assert_eq!(fill.nbbo_at_execution.ask, ask);
                    prop_assert!(
                        bid > Price::ZERO && bid < ask,
                        "executed on an unusable NBBO: {:?}",
                        fill
                    );
                    prop_assert!(
                        bid <= fill.price && fill.price <= ask,
                        "trade-through: {:?}",
                        fill
                    );
                    prop_assert!(fill.price_improvement >= Price::ZERO);
                }
                if fill.liquidity == LiquiditySource::Principal {
                    prop_assert_eq!(fill.contra, Contra::Firm);
                    prop_assert_eq!(fill.capacity, Capacity::Principal);
                    let delta = i64::from(fill.quantity.shares());
                    *tracker.principal.entry(fill.symbol).or_default() +=
                        if fill.side.is_buy() { -delta } else { delta };
                }
                if let Some(routed) = tracker.routed.get_mut(&fill.order_id) {
                    if fill.liquidity == LiquiditySource::Venue {
                        routed.0 -= fill.quantity.shares();
                        if routed.0 == 0 {
                            tracker.routed.remove(&fill.order_id);
                        }
                    }
                }
            }
            Event::Cancelled {
                order_id, quantity, ..
            } => {
                tracker
                    .orders
                    .get_mut(&order_id)
                    .expect("cancel of a known order")
                    .2 += quantity.shares();
            }
            Event::Replaced {
                order_id, quantity, ..
            } => {
                tracker
                    .orders
                    .get_mut(&order_id)
                    .expect("replace of a known order")
                    .0 = quantity.shares();
            }
            Event::Route(route) => {
                tracker
                    .routed
                    .insert(route.order_id, (route.quantity.shares(), route.limit));
            }
            _ => {}
        }
    }
    if let Input::VenueCancel(cancel) = input {
        if !events
            .iter()
            .any(|event| matches!(event, Event::InputRejected { .. }))
        {
            tracker.routed.remove(&cancel.order_id);
        }
    }
    // Per order: filled + open + cancelled = ordered, for working and finished orders.
    let mut finished = Vec::new();
    for (&id, &(ordered, filled, cancelled)) in &tracker.orders {
        match matcher.order_by_id(id) {
            Some(state) => {
                prop_assert_eq!(state.ordered.shares(), ordered);
                prop_assert_eq!(state.filled.shares(), filled);
                // A cancel ends an order: a working order has cancelled nothing.
                prop_assert_eq!(cancelled, 0);
                prop_assert_eq!(filled + state.leaves.shares() + cancelled, ordered);
                prop_assert!(state.leaves.shares() > 0);
            }
            None => {
                prop_assert_eq!(
                    filled + cancelled,
                    ordered,
                    "finished order {} is not whole",
                    id
                );
                finished.push(id);
            }
        }
    }
    for id in finished {
        tracker.orders.remove(&id);
    }
    // Manning: when the firm trades, no customer order rests on the firm's side at its
    // price or better (a firm sale at P leaves no resting customer sell at or below P).
    for event in events {
        if let Event::Filled(fill) = event {
            if fill.liquidity == LiquiditySource::Principal {
                let firm_side = if fill.side.is_buy() {
                    BookSide::Ask
                } else {
                    BookSide::Bid
                };
                if let Some((best, _)) = matcher.best(fill.symbol, firm_side) {
                    let ahead = if fill.side.is_buy() {
                        best <= fill.price
                    } else {
                        best >= fill.price
                    };
                    prop_assert!(
                        !ahead,
                        "firm traded at {} with a customer at {} on its side",
                        fill.price,
                        best
                    );
                }
            }
        }
    }
    prop_assert_eq!(matcher.working_orders() as usize, tracker.orders.len());
    prop_assert_eq!(model.working().len(), tracker.orders.len());
    for symbol in [TEN, HALF] {
        // No crossed (or locked) internal book.
        if let (Some((bid, _)), Some((ask, _))) = (
            matcher.best(symbol, BookSide::Bid),
            matcher.best(symbol, BookSide::Ask),
        ) {
            prop_assert!(bid < ask, "internal book crossed: {} / {}", bid, ask);
        }
        // Firm position = sum of principal fills.
        let position = matcher.position(symbol).unwrap();
        prop_assert_eq!(
            position,
            tracker.principal.get(&symbol).copied().unwrap_or(0)
        );
        prop_assert_eq!(position, model.position(symbol));
    }
    tracker.commands += 1;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, max_shrink_iters: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn matcher_agrees_with_the_reference_model(
        case in any::<u32>(),
        words in proptest::collection::vec(any::<[u32; 6]>(), COMMANDS),
    ) {
        let config = case_config(case);
        let mut matcher = Matcher::new(&config).unwrap();
        let mut model = Model::new(&config);
        let mut tracker = Tracker::default();
        let mut now = 1_000u64;
        for (index, words) in words.into_iter().enumerate() {
            let input = command(words, &tracker, &matcher);
            // One to three microseconds apart (so an NBBO's age often lands exactly on the
            // staleness limit); now and then a pause that stales it.
            now += if words[5] % 29 == 0 { 25_000 } else { 1_000 * (1 + u64::from(words[4] % 3)) };
            let sequence = index as u64 + 1;
            let mut events = Vec::new();
            matcher.apply(SequenceNumber::new(sequence), Timestamp::new(now), &input, &mut |event| events.push(event));
            let mut expected = Vec::new();
            model.apply(sequence, now, &input, &mut expected);
            prop_assert_eq!(&events, &expected, "command {}: {:?}", index, input);
            // `CROSSLINE_TALLY=1 cargo test … -- --nocapture` prints every event kind, to
            // check that the generator reaches every rule.
            if std::env::var("CROSSLINE_TALLY").is_ok() {
                for event in &events {
                    let label = match event {
                        Event::Filled(fill) => format!("filled {:?}", fill.liquidity),
                        Event::Cancelled { reason, .. } => format!("cancelled {reason:?}"),
                        Event::Rejected { reason, .. } => format!("rejected {reason:?}"),
                        Event::CancelRejected { reason, .. } => format!("cancel_rejected {reason:?}"),
                        Event::InputRejected { reason } => format!("input_rejected {}", format!("{reason:?}").split(' ').next().unwrap()),
                        Event::Replaced { priority_kept, .. } => format!("replaced kept={priority_kept}"),
                        other => format!("{:?}", other).split('(').next().unwrap().split(' ').next().unwrap().to_string(),
                    };
                    eprintln!("TALLY {label}");
                }
            }
            check_invariants(&matcher, &model, &input, &events, &mut tracker, now)?;
        }
        prop_assert_eq!(tracker.commands, COMMANDS as u64);
    }
}
