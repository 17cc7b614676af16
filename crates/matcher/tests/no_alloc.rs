//! After construction, the matcher never touches the heap: a counting global allocator
//! fails the test if one allocation happens while a long mixed workload runs through it
//! (orders, crosses, principal fills, routes and venue reports, replaces, cancels, NBBO
//! moves that re-centre books and drive active-mode quotes, ends of day).
// The workload generator narrows random words into small ranges on purpose.
#![allow(clippy::cast_possible_truncation)]

use crossline_book::BookConfig;
use crossline_matcher::{
    CancelReason, CrossPrice, Event, Input, Matcher, MatcherConfig, Mode, SelfMatch, SymbolConfig,
    SymbolSettings, UnusableNbbo, VenueCancel, VenueFill,
};
use crossline_testkit::{count_allocations, CountingAllocator, Xorshift};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, LiquiditySource, NewOrder, OrderId, OrderType,
    Price, Quantity, Quote, Replace, SequenceNumber, Side, SymbolId, TimeInForce, Timestamp,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const SYMBOLS: u32 = 8;
const STEPS: u64 = 300_000;
const ROUTED_MAX: usize = 1024;

fn config() -> MatcherConfig {
    let modes = [Mode::Passive, Mode::Active, Mode::AgencyOnly, Mode::Passive];
    MatcherConfig {
        orders_max: 50_000,
        gross_notional_max: Price::from_micros(50_000_000_000),
        nbbo_stale_after_ns: 1_000_000,
        unusable_nbbo: UnusableNbbo::Route,
        self_match: SelfMatch::CancelResting,
        cross_price: CrossPrice::Midpoint,
        improvement_increment: Price::HUNDREDTH_CENT,
        firm_account: ClientId::new(0),
        symbols: (0..SYMBOLS)
            .map(|index| SymbolConfig {
                symbol: SymbolId::new(index),
                reference_price: Price::from_micros(20_000_000),
                book: BookConfig {
                    orders_max: 4096,
                    tick: Price::CENT,
                    window_levels: 128,
                    far_levels_max: 256,
                },
                settings: SymbolSettings {
                    mode: modes[index as usize % 4],
                    improvement_spread_ppm: 200_000,
                    improvement_min: Price::HUNDREDTH_CENT,
                    skew_ppm: 500_000,
                    long_max: 5_000,
                    short_max: 5_000,
                    principal_size_max: 300,
                    route_residual: true,
                    soft_limit: 0,
                    hedge: false,
                },
            })
            .collect(),
    }
}

/// What the workload did, to prove it exercised every path.
#[derive(Default, Debug)]
struct Seen {
    crosses: u64,
    principal: u64,
    venue: u64,
    routes: u64,
    cancels: u64,
    quotes: u64,
    replaced: u64,
    expired: u64,
}

#[test]
fn a_long_mixed_workload_allocates_nothing_after_construction() {
    let mut matcher = Matcher::new(&config()).unwrap();
    let mut random = Xorshift::new(0x9E37_79B9_7F4A_7C15);
    let mut seen = Seen::default();
    // Routed orders waiting for a venue report: a fixed ring of ids, allocated up front.
    let mut routed = vec![OrderId::new(0); ROUTED_MAX];
    let (mut routed_head, mut routed_tail) = (0usize, 0usize);
    // The market of each symbol drifts by whole cents, now and then far (re-centring).
    let mut mid = [20_000_000i64; SYMBOLS as usize];
    let allocations = count_allocations(|| {
        for step in 1..=STEPS {
            let word = random.next();
            let symbol = (word % u64::from(SYMBOLS)) as usize;
            // Each order's client follows from its client order id, so a cancel or replace
            // can name a live order of the same client.
            let client_of = |client_order_id: u64| ClientId::new(1 + (client_order_id % 50) as u32);
            let original = step.saturating_sub((word >> 32) % 2_000);
            let offset = ((word >> 16) % 9) as i64 - 4;
            let input = match (word >> 24) % 20 {
                0..=8 => {
                    let market = (word >> 32) % 10 == 0;
                    let tif = [
                        TimeInForce::Day,
                        TimeInForce::GoodTillCancel,
                        TimeInForce::ImmediateOrCancel,
                        TimeInForce::FillOrKill,
                    ][((word >> 36) % 4) as usize];
                    Input::NewOrder(NewOrder {
                        client: client_of(step),
                        symbol: SymbolId::new(symbol as u32),
                        client_order_id: ClientOrderId::new(step),
                        price: Price::from_micros(mid[symbol] + offset * 10_000),
                        quantity: Quantity::new(100 * (1 + ((word >> 40) % 5) as u32)),
                        side: [Side::Buy, Side::Sell, Side::SellShort][((word >> 44) % 3) as usize],
                        order_type: if market {
                            OrderType::Market
                        } else {
                            OrderType::Limit
                        },
                        time_in_force: tif,
                        capacity: Capacity::Agency,
                    })
                }
                9..=11 => Input::Cancel(Cancel {
                    client: client_of(original),
                    symbol: SymbolId::new(symbol as u32),
                    client_order_id: ClientOrderId::new(u64::MAX - step),
                    original_client_order_id: ClientOrderId::new(
                        step.saturating_sub((word >> 32) % 2_000),
                    ),
                }),
                12..=13 => Input::Replace(Replace {
                    client: client_of(original),
                    quantity: Quantity::new(50 * (1 + ((word >> 40) % 6) as u32)),
                    client_order_id: ClientOrderId::new(step),
                    original_client_order_id: ClientOrderId::new(
                        step.saturating_sub((word >> 32) % 2_000),
                    ),
                    price: Price::from_micros(mid[symbol] + offset * 10_000),
                }),
                14..=16 => {
                    let jump = if (word >> 32) % 500 == 0 { 200 } else { 1 };
                    mid[symbol] += (((word >> 36) % 3) as i64 - 1) * 10_000 * jump;
                    mid[symbol] = mid[symbol].clamp(5_000_000, 60_000_000);
                    let half_spread = 10_000 * (1 + ((word >> 40) % 3) as i64);
                    Input::Nbbo(Quote {
                        symbol: SymbolId::new(symbol as u32),
                        bid_size: Quantity::new(500),
                        bid: Price::from_micros(mid[symbol] - half_spread),
                        ask: Price::from_micros(mid[symbol] + half_spread),
                        ask_size: Quantity::new(500),
                    })
                }
                _ if routed_head == routed_tail => Input::EndOfDay,
                17 | 18 => {
                    let order_id = routed[routed_tail % ROUTED_MAX];
                    let state = matcher.order_by_id(order_id);
                    match state {
                        Some(state) if state.routed.shares() > 0 => Input::VenueFill(VenueFill {
                            order_id,
                            quantity: Quantity::new(state.routed.shares().min(100)),
                            price: if state.price > Price::ZERO {
                                state.price
                            } else {
                                Price::from_micros(mid[symbol])
                            },
                            venue: 0,
                            fee: Price::ZERO,
                        }),
                        _ => {
                            routed_tail += 1;
                            Input::EndOfDay
                        }
                    }
                }
                _ => {
                    let order_id = routed[routed_tail % ROUTED_MAX];
                    routed_tail += 1;
                    let shares = matcher
                        .order_by_id(order_id)
                        .map_or(0, |state| state.routed.shares());
                    Input::VenueCancel(VenueCancel {
                        order_id,
                        quantity: Quantity::new(shares),
                    })
                }
            };
            // `EndOfDay` stands for "nothing to report" above; a real end of day comes
            // every 20,000 steps.
            let input = match input {
                Input::EndOfDay if step % 20_000 != 0 => continue,
                _ if step % 20_000 == 0 => Input::EndOfDay,
                other => other,
            };
            matcher.apply(
                SequenceNumber::new(step),
                Timestamp::new(step * 1_000),
                &input,
                &mut |event| match event {
                    Event::Filled(fill) => match fill.liquidity {
                        LiquiditySource::InternalCross => seen.crosses += 1,
                        LiquiditySource::Principal => seen.principal += 1,
                        LiquiditySource::Venue => seen.venue += 1,
                    },
                    Event::Route(route) => {
                        seen.routes += 1;
                        if routed_head - routed_tail < ROUTED_MAX {
                            routed[routed_head % ROUTED_MAX] = route.order_id;
                            routed_head += 1;
                        }
                    }
                    Event::Cancelled { reason, .. } => {
                        seen.cancels += 1;
                        seen.expired += u64::from(reason == CancelReason::EndOfDay);
                    }
                    Event::FirmQuote(_) => seen.quotes += 1,
                    Event::Replaced { .. } => seen.replaced += 1,
                    _ => {}
                },
            );
        }
    });
    assert!(
        seen.crosses > 1_000
            && seen.principal > 1_000
            && seen.venue > 1_000
            && seen.routes > 1_000
            && seen.cancels > 1_000
            && seen.quotes > 1_000
            && seen.replaced > 1_000
            && seen.expired > 1_000,
        "the workload missed a path: {seen:?}"
    );
    assert_eq!(allocations, 0, "the matcher allocated after construction");
}
