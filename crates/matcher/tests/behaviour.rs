//! The matcher's rules, each at a value just inside and just outside its edge.

mod common;

use common::{config, limit, market, micros, nbbo, settings, Harness, HALF, TEN};
use crossline_book::BookSide;
use crossline_matcher::{
    CancelReason, CancelRejectReason, ConfigError, Contra, CrossPrice, Event, Execution, FirmQuote,
    Input, InputError, Matcher, Mode, RejectReason, RouteInstruction, SelfMatch, SettingsChange,
    UnusableNbbo, VenueCancel, VenueFill,
};
use crossline_types::{
    Cancel, ClientId, ClientOrderId, LiquiditySource, OrderId, Price, Quantity, Replace, Side,
    TimeInForce,
};

use TimeInForce::{Day, FillOrKill, GoodTillCancel, ImmediateOrCancel};

fn fills(events: &[Event]) -> Vec<Execution> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Filled(fill) => Some(*fill),
            _ => None,
        })
        .collect()
}

fn cancel_reasons(events: &[Event]) -> Vec<CancelReason> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Cancelled { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn rejected(events: &[Event]) -> Option<RejectReason> {
    events.iter().find_map(|event| match event {
        Event::Rejected { reason, .. } => Some(*reason),
        _ => None,
    })
}

fn agency() -> Harness {
    Harness::new(&config(Mode::AgencyOnly))
}

#[test]
fn internal_cross_at_the_midpoint_clamped_to_the_limits() {
    let mut h = agency();
    h.send(nbbo(TEN, 10_000_000, 10_040_000));
    h.send(limit(1, 1, Side::Sell, 10_010_000, 100, Day));
    // Midpoint 10.02 is inside both limits.
    let events = h.send(limit(2, 1, Side::Buy, 10_030_000, 60, Day));
    let f = fills(&events);
    assert_eq!(f.len(), 2);
    assert_eq!(
        (f[0].price, f[0].quantity),
        (micros(10_020_000), Quantity::new(60))
    );
    assert_eq!(f[0].liquidity, LiquiditySource::InternalCross);
    assert_eq!(f[0].contra, Contra::Order(OrderId::new(2)));
    assert_eq!(f[1].order_id, OrderId::new(2));
    assert_eq!(
        f[0].price_improvement,
        micros(20_000),
        "two cents better than the offer"
    );
    // A buyer limited below the midpoint gets its own limit.
    let events = h.send(limit(3, 1, Side::Buy, 10_010_000, 40, Day));
    assert_eq!(fills(&events)[0].price, micros(10_010_000));
    assert_eq!(
        h.matcher.best(TEN, BookSide::Ask),
        None,
        "the resting sell is used up"
    );
}

#[test]
fn resting_limit_cross_price_is_configurable() {
    let mut config = config(Mode::AgencyOnly);
    config.cross_price = CrossPrice::RestingLimit;
    let mut h = Harness::new(&config);
    h.send(nbbo(TEN, 10_000_000, 10_040_000));
    h.send(limit(1, 1, Side::Sell, 10_010_000, 100, Day));
    let events = h.send(limit(2, 1, Side::Buy, 10_030_000, 60, Day));
    assert_eq!(fills(&events)[0].price, micros(10_010_000));
}

#[test]
fn no_trade_through_the_protected_offer() {
    let mut h = agency();
    h.send(nbbo(TEN, 10_000_000, 10_010_000));
    // A resting sell above the offer: a buy may not lift it in-house, at any limit.
    h.send(limit(1, 1, Side::Sell, 10_020_000, 100, Day));
    let events = h.send(limit(2, 1, Side::Buy, 10_030_000, 100, ImmediateOrCancel));
    assert!(fills(&events).is_empty());
    // Routed instead (marketable against the public offer).
    assert!(events.iter().any(|event| matches!(event, Event::Route(_))));
    // Once the offer moves up to it, the sell is within reach: exactly at the offer.
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    let events = h.send(limit(2, 2, Side::Buy, 10_030_000, 100, ImmediateOrCancel));
    assert_eq!(fills(&events)[0].price, micros(10_020_000));
}

#[test]
fn stale_locked_or_crossed_nbbo_means_no_in_house_execution() {
    let mut h = Harness::new(&config(Mode::Passive));
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    h.send(limit(1, 1, Side::Sell, 10_010_000, 100, Day));
    // The harness steps one microsecond per input; the limit is one millisecond.
    h.now += 1_000_000 - 2_000;
    let events = h.send(market(2, 1, Side::Buy, 10));
    assert_eq!(
        fills(&events).len(),
        2,
        "exactly at the staleness limit: still usable"
    );
    let events = h.send(market(2, 2, Side::Buy, 10));
    assert_eq!(
        rejected(&events),
        Some(RejectReason::NbboUnusable),
        "one microsecond older"
    );
    h.send(nbbo(TEN, 10_020_000, 10_020_000));
    assert_eq!(
        rejected(&h.send(market(2, 3, Side::Buy, 10))),
        Some(RejectReason::NbboUnusable)
    );
    h.send(nbbo(TEN, 10_030_000, 10_020_000));
    assert_eq!(
        rejected(&h.send(market(2, 4, Side::Buy, 10))),
        Some(RejectReason::NbboUnusable)
    );
    // A day limit order still rests (it does not need the market's price).
    let events = h.send(limit(2, 5, Side::Buy, 9_990_000, 10, Day));
    assert!(fills(&events).is_empty() && cancel_reasons(&events).is_empty());
}

#[test]
fn unusable_nbbo_routes_when_configured() {
    let mut config = config(Mode::Passive);
    config.unusable_nbbo = UnusableNbbo::Route;
    let mut h = Harness::new(&config);
    // No NBBO yet: a market order goes straight to a venue, a fill-or-kill is killed.
    let events = h.send(market(1, 1, Side::Buy, 100));
    assert!(matches!(
        events[1],
        Event::Route(RouteInstruction { limit: None, .. })
    ));
    let events = h.send(limit(1, 2, Side::Buy, 10_000_000, 100, FillOrKill));
    assert_eq!(cancel_reasons(&events), [CancelReason::FillOrKill]);
}

#[test]
fn principal_fill_improves_on_the_nbbo_within_inventory_limits() {
    let mut config = config(Mode::Passive);
    config.symbols[0].settings.short_max = 150;
    config.symbols[0].settings.principal_size_max = 100;
    let mut h = Harness::new(&config);
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    // 10% of two cents: the firm sells at 10.018.
    let events = h.send(market(1, 1, Side::Buy, 300));
    let f = fills(&events);
    assert_eq!(f[0].liquidity, LiquiditySource::Principal);
    assert_eq!(
        (f[0].price, f[0].quantity),
        (micros(10_018_000), Quantity::new(100)),
        "size capped"
    );
    assert!(events.contains(&Event::PositionChanged {
        symbol: TEN,
        position: -100,
        delta: -100,
        price: micros(10_018_000)
    }));
    // The rest is routed.
    assert!(events
        .iter()
        .any(|event| matches!(event, Event::Route(r) if r.quantity == Quantity::new(200))));
    // Short 100 of 150: only 50 more.
    let f = fills(&h.send(market(1, 2, Side::Buy, 300)));
    assert_eq!(f[0].quantity, Quantity::new(50));
    // At the limit: nothing more from inventory, but buying back is always allowed.
    assert!(fills(&h.send(market(1, 3, Side::Buy, 10)))
        .iter()
        .all(|f| f.liquidity != LiquiditySource::Principal));
    let f = fills(&h.send(market(1, 4, Side::Sell, 10)));
    assert_eq!(
        (f[0].price, f[0].liquidity),
        (micros(10_002_000), LiquiditySource::Principal)
    );
    assert_eq!(h.matcher.position(TEN), Some(-140));
}

#[test]
fn principal_price_must_reach_the_limit() {
    let mut h = Harness::new(&config(Mode::Passive));
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    // The firm offers at 10.018: a buy limited to 10.01 (on the penny grid) does not reach it.
    let events = h.send(limit(1, 1, Side::Buy, 10_010_000, 100, ImmediateOrCancel));
    assert!(fills(&events).is_empty());
    assert_eq!(cancel_reasons(&events), [CancelReason::ImmediateOrCancel]);
    let mut config = config(Mode::Passive);
    config.symbols[0].settings.improvement_spread_ppm = 500_000;
    let mut h = Harness::new(&config);
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    let f = fills(&h.send(limit(1, 1, Side::Buy, 10_010_000, 100, ImmediateOrCancel)));
    assert_eq!(
        f[0].price,
        micros(10_010_000),
        "half the spread: exactly at the limit"
    );
}

#[test]
fn gross_notional_limit_caps_principal_fills() {
    let mut config = config(Mode::Passive);
    // $1,000 at a $10.01 mark: 99 shares.
    config.gross_notional_max = micros(1_000_000_000);
    let mut h = Harness::new(&config);
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    let f = fills(&h.send(market(1, 1, Side::Sell, 300)));
    assert_eq!(f[0].quantity, Quantity::new(99));
    assert_eq!(h.matcher.gross_notional_micros(), 99 * 10_010_000);
}

#[test]
fn agency_only_never_trades_from_inventory() {
    let mut h = agency();
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    let events = h.send(market(1, 1, Side::Buy, 100));
    assert!(fills(&events).is_empty());
    assert_eq!(h.matcher.position(TEN), Some(0));
}

#[test]
fn customers_cross_before_the_firm_fills() {
    let mut h = Harness::new(&config(Mode::Passive));
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    h.send(limit(1, 1, Side::Sell, 10_010_000, 50, Day));
    let f = fills(&h.send(market(2, 1, Side::Buy, 100)));
    assert_eq!(f[0].liquidity, LiquiditySource::InternalCross);
    assert_eq!(f[0].quantity, Quantity::new(50));
    assert_eq!(f[2].liquidity, LiquiditySource::Principal);
    assert_eq!(f[2].quantity, Quantity::new(50));
}

#[test]
fn self_match_prevention_cancels_resting_or_arriving() {
    for (policy, expected) in [
        (SelfMatch::CancelResting, OrderId::new(2)),
        (SelfMatch::CancelArriving, OrderId::new(3)),
    ] {
        let mut config = config(Mode::AgencyOnly);
        config.self_match = policy;
        let mut h = Harness::new(&config);
        h.send(nbbo(TEN, 10_000_000, 10_020_000));
        h.send(limit(1, 1, Side::Sell, 10_010_000, 100, Day));
        let events = h.send(limit(1, 2, Side::Buy, 10_010_000, 100, Day));
        let cancelled = events.iter().find_map(|event| match event {
            Event::Cancelled {
                order_id,
                reason: CancelReason::SelfMatch,
                ..
            } => Some(*order_id),
            _ => None,
        });
        assert_eq!(cancelled, Some(expected), "{policy:?}");
        assert!(fills(&events).is_empty());
    }
}

#[test]
fn replace_keeps_priority_only_for_a_size_decrease() {
    let mut h = agency();
    h.send(nbbo(TEN, 9_990_000, 10_030_000));
    h.send(limit(1, 1, Side::Buy, 10_000_000, 300, Day));
    h.send(limit(2, 1, Side::Buy, 10_000_000, 300, Day));
    let replace = |client: u32, from: u64, to: u64, price: i64, shares: u32| {
        Input::Replace(Replace {
            client: ClientId::new(client),
            quantity: Quantity::new(shares),
            client_order_id: ClientOrderId::new(to),
            original_client_order_id: ClientOrderId::new(from),
            price: micros(price),
        })
    };
    let events = h.send(replace(1, 1, 2, 10_000_000, 200));
    assert!(matches!(
        events[0],
        Event::Replaced {
            priority_kept: true,
            ..
        }
    ));
    let front = |h: &Harness| {
        let mut first = None;
        h.matcher.for_each_resting(TEN, BookSide::Bid, |order| {
            first.get_or_insert(order.client);
        });
        first
    };
    assert_eq!(
        front(&h),
        Some(ClientId::new(1)),
        "size down keeps the front"
    );
    // Size up loses priority.
    let events = h.send(replace(1, 2, 3, 10_000_000, 250));
    assert!(matches!(
        events[0],
        Event::Replaced {
            priority_kept: false,
            ..
        }
    ));
    assert_eq!(front(&h), Some(ClientId::new(2)));
    // A price change loses priority too, and the old client order id is gone.
    h.send(replace(2, 1, 2, 9_990_000, 300));
    h.send(replace(2, 2, 3, 10_000_000, 300));
    assert_eq!(front(&h), Some(ClientId::new(1)));
    let events = h.send(replace(2, 1, 4, 10_000_000, 300));
    assert!(matches!(
        events[0],
        Event::CancelRejected {
            reason: CancelRejectReason::UnknownOrder,
            ..
        }
    ));
    // A replace that becomes marketable executes.
    h.send(limit(3, 1, Side::Sell, 10_020_000, 100, Day));
    let events = h.send(replace(1, 3, 4, 10_020_000, 250));
    assert_eq!(fills(&events).len(), 2);
}

#[test]
fn replace_and_cancel_rejections_name_the_reason() {
    let mut h = agency();
    h.send(nbbo(TEN, 9_990_000, 10_030_000));
    h.send(limit(1, 1, Side::Buy, 10_000_000, 300, Day));
    h.send(limit(1, 2, Side::Buy, 10_000_000, 300, Day));
    let replace = |to: u64, price: i64, shares: u32| {
        Input::Replace(Replace {
            client: ClientId::new(1),
            quantity: Quantity::new(shares),
            client_order_id: ClientOrderId::new(to),
            original_client_order_id: ClientOrderId::new(1),
            price: micros(price),
        })
    };
    let reason = |events: Vec<Event>| match events[0] {
        Event::CancelRejected { reason, .. } => Some(reason),
        _ => None,
    };
    assert_eq!(
        reason(h.send(replace(2, 10_000_000, 100))),
        Some(CancelRejectReason::DuplicateClientOrderId)
    );
    assert_eq!(
        reason(h.send(replace(3, 10_005_000, 100))),
        Some(CancelRejectReason::SubPennyIncrement)
    );
    assert_eq!(
        reason(h.send(replace(3, 0, 100))),
        Some(CancelRejectReason::PriceNotPositive)
    );
    let cancel = |symbol, original| {
        Input::Cancel(Cancel {
            client: ClientId::new(1),
            symbol,
            client_order_id: ClientOrderId::new(9),
            original_client_order_id: ClientOrderId::new(original),
        })
    };
    assert_eq!(
        reason(h.send(cancel(HALF, 1))),
        Some(CancelRejectReason::SymbolMismatch)
    );
    assert_eq!(
        reason(h.send(cancel(TEN, 7))),
        Some(CancelRejectReason::UnknownOrder)
    );
    assert_eq!(
        cancel_reasons(&h.send(cancel(TEN, 1))),
        [CancelReason::Requested]
    );
}

#[test]
fn rule_612_increments_and_other_new_order_rejections() {
    let mut h = agency();
    h.send(nbbo(TEN, 9_990_000, 10_030_000));
    assert_eq!(
        rejected(&h.send(limit(1, 1, Side::Buy, 10_000_000, 0, Day))),
        Some(RejectReason::ZeroQuantity)
    );
    assert_eq!(
        rejected(&h.send(limit(1, 1, Side::Buy, 1_000_100, 10, Day))),
        Some(RejectReason::SubPennyIncrement)
    );
    assert_eq!(
        rejected(&h.send(limit(1, 1, Side::Buy, 1_000_000, 10, Day))),
        None,
        "$1.00 exactly"
    );
    assert_eq!(
        rejected(&h.send(limit(1, 2, Side::Buy, 1_000_000, 10, Day))),
        None
    );
    assert_eq!(
        rejected(&h.send(limit(1, 2, Side::Buy, 1_000_000, 10, Day))),
        Some(RejectReason::DuplicateClientOrderId)
    );
    // Below $1.00, hundredths of a cent are fine for the sub-dollar symbol…
    let mut sub_dollar = limit(1, 3, Side::Buy, 499_900, 10, Day);
    let mut too_fine = limit(1, 4, Side::Buy, 499_950, 10, Day);
    for input in [&mut sub_dollar, &mut too_fine] {
        if let Input::NewOrder(order) = input {
            order.symbol = HALF;
        }
    }
    assert_eq!(rejected(&h.send(sub_dollar)), None);
    assert_eq!(
        rejected(&h.send(too_fine)),
        Some(RejectReason::SubPennyIncrement)
    );
    // …but not on a cent-tick book, where they could not rest.
    assert_eq!(
        rejected(&h.send(limit(1, 5, Side::Buy, 999_900, 10, Day))),
        Some(RejectReason::PriceNotOnBookTick)
    );
    let mut unknown = limit(1, 6, Side::Buy, 10_000_000, 10, Day);
    if let Input::NewOrder(order) = &mut unknown {
        order.symbol = crossline_types::SymbolId::new(77);
    }
    assert_eq!(
        rejected(&h.send(unknown)),
        Some(RejectReason::UnknownSymbol)
    );
}

#[test]
fn order_table_full_is_a_reject_and_book_full_a_cancel() {
    let mut config = config(Mode::AgencyOnly);
    config.orders_max = 3;
    config.symbols[0].book.orders_max = 2;
    let mut h = Harness::new(&config);
    h.send(nbbo(TEN, 9_990_000, 10_030_000));
    for coid in 1..=2 {
        assert_eq!(
            cancel_reasons(&h.send(limit(1, coid, Side::Buy, 9_000_000, 10, Day))),
            []
        );
    }
    assert_eq!(
        cancel_reasons(&h.send(limit(1, 3, Side::Buy, 9_000_000, 10, Day))),
        [CancelReason::BookFull]
    );
    h.send(market(1, 4, Side::Buy, 10)); // routed: the third working order
    assert_eq!(
        rejected(&h.send(limit(1, 5, Side::Buy, 9_000_000, 10, Day))),
        Some(RejectReason::OrdersFull)
    );
}

#[test]
fn residuals_route_rest_or_cancel() {
    let mut h = agency();
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    // Marketable limit: routed at its limit.
    let events = h.send(limit(1, 1, Side::Buy, 10_020_000, 100, Day));
    assert!(
        matches!(events[1], Event::Route(RouteInstruction { limit: Some(p), .. }) if p == micros(10_020_000))
    );
    // One cent below the offer: not marketable, rests.
    let events = h.send(limit(1, 2, Side::Buy, 10_010_000, 100, Day));
    assert_eq!(events.len(), 1, "accepted and resting: {events:?}");
    // Immediate-or-cancel below the offer: cancelled.
    assert_eq!(
        cancel_reasons(&h.send(limit(1, 3, Side::Buy, 10_010_000, 100, ImmediateOrCancel))),
        [CancelReason::ImmediateOrCancel]
    );
    // Without routing, a market order's remainder is cancelled.
    let mut settings = settings(Mode::AgencyOnly);
    settings.route_residual = false;
    h.send(Input::Settings(SettingsChange {
        symbol: TEN,
        settings,
    }));
    assert_eq!(
        cancel_reasons(&h.send(market(1, 4, Side::Buy, 100))),
        [CancelReason::NoLiquidity]
    );
}

#[test]
fn venue_reports_fill_the_parent_and_a_day_remainder_rests() {
    let mut h = agency();
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    h.send(limit(1, 1, Side::Buy, 10_020_000, 100, Day));
    let parent = OrderId::new(2);
    let fill = |shares, price| {
        Input::VenueFill(VenueFill {
            order_id: parent,
            quantity: Quantity::new(shares),
            price: micros(price),
            venue: 0,
            fee: Price::ZERO,
        })
    };
    // Above the limit: refused.
    let events = h.send(fill(30, 10_030_000));
    assert!(matches!(
        events[0],
        Event::InputRejected {
            reason: InputError::VenuePrice { .. }
        }
    ));
    let f = fills(&h.send(fill(30, 10_020_000)));
    assert_eq!(
        (f[0].liquidity, f[0].leaves),
        (LiquiditySource::Venue, Quantity::new(70))
    );
    // The cancel must cover everything still out.
    let cancel = |shares| {
        Input::VenueCancel(VenueCancel {
            order_id: parent,
            quantity: Quantity::new(shares),
        })
    };
    assert!(matches!(
        h.send(cancel(71))[0],
        Event::InputRejected {
            reason: InputError::VenueQuantity { .. }
        }
    ));
    // The market moved away: the remainder rests at its limit.
    h.send(nbbo(TEN, 10_000_000, 10_040_000));
    assert_eq!(h.send(cancel(70)), []);
    assert_eq!(
        h.matcher.best(TEN, BookSide::Bid),
        Some((micros(10_020_000), 70))
    );
    // A cancel for an order with nothing out is refused.
    assert!(matches!(
        h.send(cancel(70))[0],
        Event::InputRejected {
            reason: InputError::UnknownRoute { .. }
        }
    ));
}

#[test]
fn fill_or_kill_fills_in_full_or_not_at_all() {
    let mut h = agency();
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    h.send(limit(1, 1, Side::Sell, 10_010_000, 100, Day));
    let events = h.send(limit(2, 1, Side::Buy, 10_010_000, 101, FillOrKill));
    assert!(fills(&events).is_empty());
    assert_eq!(cancel_reasons(&events), [CancelReason::FillOrKill]);
    let events = h.send(limit(2, 2, Side::Buy, 10_010_000, 100, FillOrKill));
    assert_eq!(fills(&events).len(), 2);
}

#[test]
fn end_of_day_expires_day_orders_only() {
    let mut h = agency();
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    h.send(limit(1, 1, Side::Buy, 9_990_000, 100, Day));
    h.send(limit(1, 2, Side::Buy, 9_980_000, 100, GoodTillCancel));
    let events = h.send(Input::EndOfDay);
    assert_eq!(cancel_reasons(&events), [CancelReason::EndOfDay]);
    assert_eq!(
        h.matcher.best(TEN, BookSide::Bid),
        Some((micros(9_980_000), 100))
    );
}

#[test]
fn active_mode_quotes_and_trades_with_resting_orders_it_reaches() {
    let mut h = Harness::new(&config(Mode::Active));
    h.send(limit(1, 1, Side::Sell, 10_010_000, 100, Day));
    // The firm quotes 10% inside a 2-cent spread: bid 10.002 — below the resting sell.
    let events = h.send(nbbo(TEN, 10_000_000, 10_020_000));
    let quote = FirmQuote {
        symbol: TEN,
        bid: micros(10_002_000),
        bid_size: Quantity::new(500),
        ask: micros(10_018_000),
        ask_size: Quantity::new(500),
    };
    assert_eq!(events, [Event::FirmQuote(quote)]);
    // The market moves up: the firm's bid (10.012) now reaches the resting sell at 10.01,
    // which it buys at its bid: better than the client's limit, inside the NBBO.
    let events = h.send(nbbo(TEN, 10_010_000, 10_030_000));
    let f = fills(&events);
    assert_eq!(
        (f[0].price, f[0].liquidity, f[0].quantity),
        (
            micros(10_012_000),
            LiquiditySource::Principal,
            Quantity::new(100)
        )
    );
    assert_eq!(h.matcher.position(TEN), Some(100));
    assert!(matches!(events.last(), Some(Event::FirmQuote(_))));
    // Back to passive: the quote is withdrawn.
    let events = h.send(Input::Settings(SettingsChange {
        symbol: TEN,
        settings: settings(Mode::Passive),
    }));
    assert_eq!(
        events,
        [Event::FirmQuote(FirmQuote {
            symbol: TEN,
            ..FirmQuote::default()
        })]
    );
}

#[test]
fn bad_inputs_are_refused_with_a_reason() {
    let mut h = agency();
    let events = h.send(nbbo(TEN, -1, 10_000_000));
    assert!(matches!(
        events[0],
        Event::InputRejected {
            reason: InputError::NegativeNbboPrice { .. }
        }
    ));
    let mut bad = settings(Mode::Passive);
    bad.improvement_spread_ppm = 1_000_001;
    let events = h.send(Input::Settings(SettingsChange {
        symbol: TEN,
        settings: bad,
    }));
    let Event::InputRejected { reason } = events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(reason.to_string(), "settings for symbol 1: improvement_spread_ppm is 1000001; it must be at most 1000000 (100%)");
}

#[test]
fn bad_configuration_names_the_field() {
    let mut bad = config(Mode::Passive);
    bad.orders_max = 0;
    assert!(matches!(
        Matcher::new(&bad),
        Err(ConfigError::OrdersMax { value: 0 })
    ));
    let mut bad = config(Mode::Passive);
    bad.symbols[1].symbol = TEN;
    assert_eq!(
        Matcher::new(&bad).err().unwrap().to_string(),
        "symbol 1 is configured twice"
    );
    let mut bad = config(Mode::Passive);
    bad.symbols[0].book.tick = Price::ZERO;
    assert!(matches!(Matcher::new(&bad), Err(ConfigError::Book { .. })));
}

#[test]
fn extreme_values_are_refused_or_handled_without_panicking() {
    let mut h = Harness::new(&config(Mode::Active));
    let huge = i64::MAX / 10_000 * 10_000;
    for (bid, ask) in [(huge - 10_000, huge), (1, huge), (0, 0), (huge, 1)] {
        h.send(nbbo(TEN, bid, ask));
        for (side, price, shares) in [
            (Side::Buy, huge, u32::MAX),
            (Side::Sell, 10_000, u32::MAX),
            (Side::SellShort, huge, 1),
        ] {
            for tif in [Day, ImmediateOrCancel, FillOrKill, GoodTillCancel] {
                let coid = h.sequence + 1_000;
                let events = h.send(limit(1, coid, side, price, shares, tif));
                assert!(!events.is_empty(), "every order gets an answer");
            }
            h.send(market(2, h.sequence + 1_000, side, u32::MAX));
        }
    }
    // A venue fill at an extreme price on a routed market order is accepted or refused,
    // never a panic.
    h.send(nbbo(TEN, 10_000_000, 10_010_000));
    let events = h.send(market(3, 1, Side::Buy, u32::MAX));
    if let Some(route) = events.iter().find_map(|event| match event {
        Event::Route(route) => Some(*route),
        _ => None,
    }) {
        let fill = Input::VenueFill(VenueFill {
            order_id: route.order_id,
            quantity: route.quantity,
            price: micros(i64::MAX),
            venue: 0,
            fee: Price::ZERO,
        });
        let events = h.send(fill);
        assert!(matches!(events[0], Event::Filled(_)), "{events:?}");
    }
}

#[test]
fn mass_cancel_cancels_its_scope_and_what_a_venue_returns() {
    let mut h = Harness::new(&config(Mode::AgencyOnly));
    h.send(nbbo(TEN, 10_000_000, 10_020_000));
    // Client 1: one resting buy, one day buy at the offer routed to a venue. Client 2:
    // one resting buy.
    h.send(limit(1, 1, Side::Buy, 9_990_000, 100, Day));
    let events = h.send(limit(1, 2, Side::Buy, 10_020_000, 100, Day));
    let routed = events
        .iter()
        .find_map(|event| match event {
            Event::Route(route) => Some(route.order_id),
            _ => None,
        })
        .expect("a marketable day order routes");
    h.send(limit(2, 3, Side::Buy, 9_990_000, 100, Day));
    let events = h.send(Input::MassCancel(crossline_matcher::MassCancel {
        client: Some(ClientId::new(1)),
        symbol: None,
    }));
    assert_eq!(cancel_reasons(&events), [CancelReason::KillSwitch]);
    assert!(h
        .matcher
        .order(ClientId::new(1), ClientOrderId::new(1))
        .is_none());
    assert!(h
        .matcher
        .order(ClientId::new(2), ClientOrderId::new(3))
        .is_some());
    // The routed order is still out; when the venue returns it, it is cancelled, where a
    // day order would otherwise rest.
    assert!(h
        .matcher
        .order(ClientId::new(1), ClientOrderId::new(2))
        .is_some());
    let events = h.send(Input::VenueCancel(VenueCancel {
        order_id: routed,
        quantity: Quantity::new(100),
    }));
    assert_eq!(cancel_reasons(&events), [CancelReason::VenueCancelled]);
    assert!(h
        .matcher
        .order(ClientId::new(1), ClientOrderId::new(2))
        .is_none());
}
