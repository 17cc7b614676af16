//! Every control at a value just inside its limit (accepted) and just outside (refused
//! with its reason), named after the control.

use crossline_matcher::{CancelReason, Contra, Event, Execution, NbboPrices, RejectReason};
use crossline_risk::{
    ClientLimits, CollarTier, KillScope, KillTarget, RiskConfig, RiskConfigError, RiskGate,
    RiskReject, SymbolRisk,
};
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, LiquiditySource, NewOrder, OrderId, OrderType,
    Price, Quantity, Quote, Replace, Side, SymbolId, TimeInForce, Timestamp,
};

/// The event as it comes back to the gate on `events_back`.
fn back(event: Event) -> crossline_types::Message {
    event
        .to_back_message(crossline_types::SequenceNumber::new(1), Timestamp::new(0))
        .expect("an event the gate follows")
}

const CLIENT: ClientId = ClientId::new(1);
const OTHER: ClientId = ClientId::new(2);
const SYMBOL: SymbolId = SymbolId::new(1);
const SECOND: SymbolId = SymbolId::new(2);
const DOLLAR: i64 = 1_000_000;

fn limits(client: ClientId) -> ClientLimits {
    ClientLimits {
        client,
        credit_limit: Price::from_micros(100_000 * DOLLAR),
        order_quantity_max: Quantity::new(5_000),
        order_notional_max: Price::from_micros(50_000 * DOLLAR),
        messages_per_second: 10,
        message_burst: 5,
        market_order_adv_ppm: 1_000,
        client_order_ids_max: 1_000,
    }
}

fn config() -> RiskConfig {
    RiskConfig {
        clients: vec![limits(CLIENT), limits(OTHER)],
        symbols: vec![
            SymbolRisk {
                symbol: SYMBOL,
                average_daily_volume: 1_000_000,
                restricted: false,
            },
            SymbolRisk {
                symbol: SECOND,
                average_daily_volume: 1_000_000,
                restricted: true,
            },
        ],
        // Below $5: 10% or at least 5 cents; above: 5% or at least 10 cents.
        collar: vec![
            CollarTier {
                below: Price::from_micros(5 * DOLLAR),
                ppm: 100_000,
                minimum: Price::from_micros(50_000),
            },
            CollarTier {
                below: Price::MAX,
                ppm: 50_000,
                minimum: Price::from_micros(100_000),
            },
        ],
        orders_max: 64,
        locates_max: 8,
    }
}

/// A gate with an NBBO of $10.00 / $10.02 on SYMBOL.
fn gate() -> RiskGate {
    let mut gate = RiskGate::new(&config()).unwrap();
    gate.on_nbbo(&quote(SYMBOL, 10 * DOLLAR, 10 * DOLLAR + 20_000));
    gate
}

fn quote(symbol: SymbolId, bid: i64, ask: i64) -> Quote {
    Quote {
        symbol,
        bid_size: Quantity::new(100),
        bid: Price::from_micros(bid),
        ask: Price::from_micros(ask),
        ask_size: Quantity::new(100),
    }
}

fn order(coid: u64, side: Side, price: i64, shares: u32) -> NewOrder {
    NewOrder {
        client: CLIENT,
        symbol: SYMBOL,
        client_order_id: ClientOrderId::new(coid),
        price: Price::from_micros(price),
        quantity: Quantity::new(shares),
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

fn market(coid: u64, side: Side, shares: u32) -> NewOrder {
    NewOrder {
        order_type: OrderType::Market,
        price: Price::ZERO,
        ..order(coid, side, 0, shares)
    }
}

/// Checks at one-second spacing, so the rate limit never interferes.
fn check(gate: &mut RiskGate, coid_time: u64, order: &NewOrder) -> Result<(), RiskReject> {
    gate.check_new_order(Timestamp::new(coid_time * 1_000_000_000), order)
}

#[test]
fn unknown_client_and_symbol() {
    let mut gate = gate();
    let stranger = NewOrder {
        client: ClientId::new(9),
        ..order(1, Side::Buy, 10 * DOLLAR, 100)
    };
    assert_eq!(
        check(&mut gate, 1, &stranger),
        Err(RiskReject::UnknownClient)
    );
    let elsewhere = NewOrder {
        symbol: SymbolId::new(9),
        ..order(2, Side::Buy, 10 * DOLLAR, 100)
    };
    assert_eq!(
        check(&mut gate, 2, &elsewhere),
        Err(RiskReject::UnknownSymbol)
    );
}

#[test]
fn kill_switches_refuse_in_scope_only() {
    // (Cancelling the orders already working is the matcher's: see tests/sequencer.rs.)
    let mut gate = gate();
    gate.on_nbbo(&quote(SECOND, 10 * DOLLAR, 10 * DOLLAR + 20_000));
    gate.set_kill_switch(KillTarget::Client(CLIENT), true)
        .unwrap();
    assert_eq!(
        check(&mut gate, 3, &order(3, Side::Buy, 10 * DOLLAR, 100)),
        Err(RiskReject::KillSwitch {
            scope: KillScope::Client
        })
    );
    let other = NewOrder {
        client: OTHER,
        ..order(4, Side::Buy, 10 * DOLLAR, 100)
    };
    assert_eq!(
        check(&mut gate, 4, &other),
        Ok(()),
        "other clients still trade"
    );
    // Cancels are never blocked by a kill switch.
    let cancel = Cancel {
        client: CLIENT,
        symbol: SYMBOL,
        client_order_id: ClientOrderId::new(5),
        original_client_order_id: ClientOrderId::new(1),
    };
    assert_eq!(
        gate.check_cancel(Timestamp::new(5_000_000_000), &cancel),
        Ok(())
    );
    gate.set_kill_switch(KillTarget::Client(CLIENT), false)
        .unwrap();
    assert_eq!(
        check(&mut gate, 6, &order(6, Side::Buy, 10 * DOLLAR, 100)),
        Ok(())
    );
    // Symbol and firm switches.
    gate.set_kill_switch(KillTarget::Symbol(SYMBOL), true)
        .unwrap();
    assert_eq!(
        check(&mut gate, 7, &order(7, Side::Buy, 10 * DOLLAR, 100)),
        Err(RiskReject::KillSwitch {
            scope: KillScope::Symbol
        })
    );
    gate.set_kill_switch(KillTarget::Firm, true).unwrap();
    assert_eq!(
        check(&mut gate, 8, &order(8, Side::Buy, 10 * DOLLAR, 100)),
        Err(RiskReject::KillSwitch {
            scope: KillScope::Firm
        })
    );
}

#[test]
fn message_rate_token_bucket() {
    let mut gate = gate();
    // A burst of 5 at the same instant passes; the sixth does not.
    for coid in 1..=5 {
        assert_eq!(
            gate.check_new_order(Timestamp::new(1), &order(coid, Side::Buy, 10 * DOLLAR, 1)),
            Ok(()),
            "message {coid}"
        );
    }
    assert_eq!(
        gate.check_new_order(Timestamp::new(1), &order(6, Side::Buy, 10 * DOLLAR, 1)),
        Err(RiskReject::RateLimited)
    );
    // At 10 per second a token takes 100 ms: one nanosecond early is refused, on time passes.
    assert_eq!(
        gate.check_new_order(
            Timestamp::new(100_000_000),
            &order(7, Side::Buy, 10 * DOLLAR, 1)
        ),
        Err(RiskReject::RateLimited)
    );
    assert_eq!(
        gate.check_new_order(
            Timestamp::new(100_000_001),
            &order(8, Side::Buy, 10 * DOLLAR, 1)
        ),
        Ok(())
    );
}

#[test]
fn duplicate_client_order_id_per_day() {
    let mut gate = gate();
    assert_eq!(
        check(&mut gate, 1, &order(1, Side::Buy, 10 * DOLLAR, 100)),
        Ok(())
    );
    assert_eq!(
        check(&mut gate, 2, &order(1, Side::Buy, 10 * DOLLAR, 100)),
        Err(RiskReject::DuplicateClientOrderId)
    );
    assert_eq!(
        check(&mut gate, 3, &order(2, Side::Buy, 10 * DOLLAR, 100)),
        Ok(())
    );
    // Another client may use the same id.
    let other = NewOrder {
        client: OTHER,
        ..order(1, Side::Buy, 10 * DOLLAR, 100)
    };
    assert_eq!(check(&mut gate, 4, &other), Ok(()));
}

#[test]
fn duplicate_client_order_id_out_of_order() {
    // Ids below the highest seen take the slow path: used ones are refused, unused ones
    // (gaps a client left) are accepted once.
    let mut gate = gate();
    for (time, coid) in [(1, 10), (2, 20), (3, 15)] {
        assert_eq!(
            check(&mut gate, time, &order(coid, Side::Buy, 10 * DOLLAR, 1)),
            Ok(()),
            "id {coid}"
        );
    }
    for (time, coid) in [(4, 10), (5, 15), (6, 20)] {
        assert_eq!(
            check(&mut gate, time, &order(coid, Side::Buy, 10 * DOLLAR, 1)),
            Err(RiskReject::DuplicateClientOrderId),
            "id {coid}"
        );
    }
    assert_eq!(
        check(&mut gate, 7, &order(11, Side::Buy, 10 * DOLLAR, 1)),
        Ok(())
    );
    // After the end of the day every id is free again, except those of orders still open.
    gate.end_of_day();
    assert_eq!(
        check(&mut gate, 8, &order(10, Side::Buy, 10 * DOLLAR, 1)),
        Err(RiskReject::DuplicateClientOrderId)
    );
    gate.on_event(&back(Event::Cancelled {
        order_id: OrderId::new(0),
        client: CLIENT,
        client_order_id: ClientOrderId::new(20),
        quantity: Quantity::new(1),
        reason: CancelReason::Requested,
    }));
    gate.end_of_day();
    assert_eq!(
        check(&mut gate, 9, &order(20, Side::Buy, 10 * DOLLAR, 1)),
        Ok(())
    );
}

#[test]
fn restricted_list_and_halts() {
    let mut gate = gate();
    gate.on_nbbo(&quote(SECOND, 10 * DOLLAR, 10 * DOLLAR + 20_000));
    let restricted = NewOrder {
        symbol: SECOND,
        ..order(1, Side::Buy, 10 * DOLLAR, 100)
    };
    assert_eq!(
        check(&mut gate, 1, &restricted),
        Err(RiskReject::Restricted)
    );
    gate.set_halted(SYMBOL, true).unwrap();
    assert_eq!(
        check(&mut gate, 2, &order(2, Side::Buy, 10 * DOLLAR, 100)),
        Err(RiskReject::Halted)
    );
    gate.set_halted(SYMBOL, false).unwrap();
    assert_eq!(
        check(&mut gate, 3, &order(3, Side::Buy, 10 * DOLLAR, 100)),
        Ok(())
    );
}

#[test]
fn maximum_order_quantity() {
    let mut gate = gate();
    assert_eq!(
        check(&mut gate, 1, &order(1, Side::Buy, DOLLAR, 5_000)),
        Ok(())
    );
    assert_eq!(
        check(&mut gate, 2, &order(2, Side::Buy, DOLLAR, 5_001)),
        Err(RiskReject::QuantityAboveMax {
            quantity: Quantity::new(5_001),
            max: Quantity::new(5_000)
        })
    );
}

#[test]
fn maximum_order_notional() {
    let mut gate = gate();
    // $50,000 at $10.00: 5,000 shares exactly; $10.01 is over.
    assert_eq!(
        check(&mut gate, 1, &order(1, Side::Buy, 10 * DOLLAR, 5_000)),
        Ok(())
    );
    assert_eq!(
        check(
            &mut gate,
            2,
            &order(2, Side::Buy, 10 * DOLLAR + 10_000, 5_000)
        ),
        Err(RiskReject::NotionalAboveMax)
    );
}

#[test]
fn price_collar_by_tier() {
    let mut gate = gate();
    // Offer $10.02, 5% tier: a buy up to $10.521 passes, a cent more does not.
    assert_eq!(
        check(&mut gate, 1, &order(1, Side::Buy, 10_521_000, 1)),
        Ok(())
    );
    let refused = check(&mut gate, 2, &order(2, Side::Buy, 10_530_000, 1));
    assert_eq!(
        refused,
        Err(RiskReject::OutsideCollar {
            price: Price::from_micros(10_530_000),
            bound: Price::from_micros(10_521_000)
        })
    );
    // Bid $10.00: a sell down to $9.50.
    assert_eq!(
        check(&mut gate, 3, &order(3, Side::Sell, 9_500_000, 1)),
        Ok(())
    );
    assert!(matches!(
        check(&mut gate, 4, &order(4, Side::Sell, 9_490_000, 1)),
        Err(RiskReject::OutsideCollar { .. })
    ));
    // The low tier's minimum: at $1.00 the collar is 10 cents (10%), at $0.20 it is the
    // 5-cent minimum.
    gate.on_nbbo(&quote(SYMBOL, 190_000, 200_000));
    assert_eq!(
        check(&mut gate, 5, &order(5, Side::Buy, 250_000, 1)),
        Ok(())
    );
    assert!(matches!(
        check(&mut gate, 6, &order(6, Side::Buy, 260_000, 1)),
        Err(RiskReject::OutsideCollar { .. })
    ));
}

#[test]
fn collar_needs_a_reference_price() {
    let mut gate = RiskGate::new(&config()).unwrap();
    assert_eq!(
        check(&mut gate, 1, &order(1, Side::Buy, 10 * DOLLAR, 1)),
        Err(RiskReject::NoReferencePrice)
    );
    assert_eq!(
        check(&mut gate, 2, &market(2, Side::Buy, 1)),
        Err(RiskReject::NoReferencePrice)
    );
}

#[test]
fn limit_up_limit_down_band() {
    let mut gate = gate();
    gate.set_band(
        SYMBOL,
        Some((
            Price::from_micros(9_900_000),
            Price::from_micros(10_100_000),
        )),
    )
    .unwrap();
    assert_eq!(
        check(&mut gate, 1, &order(1, Side::Buy, 10_100_000, 1)),
        Ok(())
    );
    assert!(matches!(
        check(&mut gate, 2, &order(2, Side::Buy, 10_110_000, 1)),
        Err(RiskReject::OutsidePriceBand { .. })
    ));
    assert_eq!(
        check(&mut gate, 3, &order(3, Side::Sell, 9_900_000, 1)),
        Ok(())
    );
    assert!(matches!(
        check(&mut gate, 4, &order(4, Side::Sell, 9_890_000, 1)),
        Err(RiskReject::OutsidePriceBand { .. })
    ));
    assert!(gate
        .set_band(SYMBOL, Some((Price::from_micros(2), Price::from_micros(1))))
        .is_err());
}

#[test]
fn market_order_share_of_average_daily_volume() {
    let mut gate = gate();
    // 1,000 ppm of 1,000,000 shares: 1,000 shares.
    assert_eq!(check(&mut gate, 1, &market(1, Side::Buy, 1_000)), Ok(()));
    assert_eq!(
        check(&mut gate, 2, &market(2, Side::Buy, 1_001)),
        Err(RiskReject::AboveAdvShare { ppm: 1_000 })
    );
}

#[test]
fn reg_sho_locate_required_for_short_sales() {
    let mut gate = gate();
    assert!(matches!(
        check(&mut gate, 1, &order(1, Side::SellShort, 10 * DOLLAR, 100)),
        Err(RiskReject::NoLocate { .. })
    ));
    gate.add_locate(CLIENT, SYMBOL, 150).unwrap();
    assert_eq!(
        check(&mut gate, 2, &order(2, Side::SellShort, 10 * DOLLAR, 100)),
        Ok(())
    );
    assert_eq!(
        gate.located(CLIENT, SYMBOL),
        50,
        "the order used 100 located shares"
    );
    assert_eq!(
        check(&mut gate, 3, &order(3, Side::SellShort, 10 * DOLLAR, 50)),
        Ok(())
    );
    assert!(matches!(
        check(&mut gate, 4, &order(4, Side::SellShort, 10 * DOLLAR, 1)),
        Err(RiskReject::NoLocate { .. })
    ));
    // A long sale needs no locate.
    assert_eq!(
        check(&mut gate, 5, &order(5, Side::Sell, 10 * DOLLAR, 100)),
        Ok(())
    );
}

#[test]
fn rule_201_short_sales_above_the_national_best_bid() {
    let mut gate = gate();
    gate.add_locate(CLIENT, SYMBOL, 10_000).unwrap();
    gate.set_rule_201(SYMBOL, true).unwrap();
    // Bid $10.00: a short sale at $10.01 passes, at $10.00 it does not; a market short
    // sale never does; an exempt short sale may sell at the bid.
    assert_eq!(
        check(
            &mut gate,
            1,
            &order(1, Side::SellShort, 10 * DOLLAR + 10_000, 100)
        ),
        Ok(())
    );
    assert_eq!(
        check(&mut gate, 2, &order(2, Side::SellShort, 10 * DOLLAR, 100)),
        Err(RiskReject::ShortSaleRestricted)
    );
    assert_eq!(
        check(&mut gate, 3, &market(3, Side::SellShort, 100)),
        Err(RiskReject::ShortSaleRestricted)
    );
    assert_eq!(
        check(
            &mut gate,
            4,
            &order(4, Side::SellShortExempt, 10 * DOLLAR, 100)
        ),
        Ok(())
    );
    gate.set_rule_201(SYMBOL, false).unwrap();
    assert_eq!(
        check(&mut gate, 5, &order(5, Side::SellShort, 10 * DOLLAR, 100)),
        Ok(())
    );
}

fn fill(coid: u64, side: Side, price: i64, shares: u32, leaves: u32) -> Event {
    Event::Filled(Execution {
        order_id: OrderId::new(coid),
        client: CLIENT,
        client_order_id: ClientOrderId::new(coid),
        symbol: SYMBOL,
        side,
        price: Price::from_micros(price),
        quantity: Quantity::new(shares),
        leaves: Quantity::new(leaves),
        liquidity: LiquiditySource::Principal,
        capacity: Capacity::Principal,
        contra: Contra::Firm,
        nbbo_at_receipt: NbboPrices::default(),
        nbbo_at_execution: NbboPrices::default(),
        price_improvement: Price::ZERO,
    })
}

#[test]
fn credit_limit_counts_open_orders_and_fills() {
    let mut gate = gate();
    // $100,000 of credit: two $50,000 orders fit exactly; a third share does not.
    assert_eq!(
        check(&mut gate, 1, &order(1, Side::Buy, 10 * DOLLAR, 5_000)),
        Ok(())
    );
    assert_eq!(
        check(&mut gate, 2, &order(2, Side::Buy, 10 * DOLLAR, 5_000)),
        Ok(())
    );
    assert!(matches!(
        check(&mut gate, 3, &order(3, Side::Buy, 10 * DOLLAR, 1)),
        Err(RiskReject::CreditLimit { .. })
    ));
    // A fill below the limit price frees the difference; a cancel frees the rest.
    gate.on_event(&back(fill(1, Side::Buy, 9_990_000, 5_000, 0)));
    assert_eq!(
        gate.exposure(CLIENT),
        Some(i128::from(5_000 * 9_990_000_i64 + 5_000 * 10 * DOLLAR))
    );
    gate.on_event(&back(Event::Cancelled {
        order_id: OrderId::new(2),
        client: CLIENT,
        client_order_id: ClientOrderId::new(2),
        quantity: Quantity::new(5_000),
        reason: CancelReason::Requested,
    }));
    assert_eq!(
        gate.exposure(CLIENT),
        Some(i128::from(5_000 * 9_990_000_i64))
    );
    // A matcher reject releases the reservation too.
    check(&mut gate, 4, &order(4, Side::Buy, 10 * DOLLAR, 100)).unwrap();
    gate.on_event(&back(Event::Rejected {
        client: CLIENT,
        client_order_id: ClientOrderId::new(4),
        symbol: SYMBOL,
        reason: RejectReason::OrdersFull,
    }));
    assert_eq!(
        gate.exposure(CLIENT),
        Some(i128::from(5_000 * 9_990_000_i64))
    );
    // The next day executed notional no longer counts.
    gate.end_of_day();
    assert_eq!(gate.exposure(CLIENT), Some(0));
}

#[test]
fn credit_counts_an_over_fill_in_full_and_releases_only_open_shares() {
    let mut gate = gate();
    check(&mut gate, 1, &order(1, Side::Buy, 10 * DOLLAR, 100)).unwrap();
    // A venue reports 150 shares on a 100-share order, the order still working.
    gate.on_event(&back(fill(1, Side::Buy, 10 * DOLLAR, 150, 1)));
    assert_eq!(gate.exposure(CLIENT), Some(i128::from(150 * 10 * DOLLAR)));
    // Its open shares are all gone: a cancel frees nothing more.
    gate.on_event(&back(Event::Cancelled {
        order_id: OrderId::new(1),
        client: CLIENT,
        client_order_id: ClientOrderId::new(1),
        quantity: Quantity::new(0),
        reason: CancelReason::Requested,
    }));
    assert_eq!(gate.exposure(CLIENT), Some(i128::from(150 * 10 * DOLLAR)));
    assert_eq!(gate.open_orders(), 0);
}

#[test]
fn replace_is_checked_for_collar_credit_and_duplicate_id() {
    let mut config = config();
    config.clients[0].credit_limit = Price::from_micros(85_000 * DOLLAR);
    let mut gate = RiskGate::new(&config).unwrap();
    gate.on_nbbo(&quote(SYMBOL, 10 * DOLLAR, 10 * DOLLAR + 20_000));
    check(&mut gate, 1, &order(1, Side::Buy, 10 * DOLLAR, 4_000)).unwrap();
    check(&mut gate, 2, &order(2, Side::Buy, 10 * DOLLAR, 4_000)).unwrap();
    let replace = |to: u64, price: i64, shares: u32| Replace {
        client: CLIENT,
        quantity: Quantity::new(shares),
        client_order_id: ClientOrderId::new(to),
        original_client_order_id: ClientOrderId::new(1),
        price: Price::from_micros(price),
    };
    let at = |seconds: u64| Timestamp::new(seconds * 1_000_000_000);
    assert_eq!(
        gate.check_replace(at(3), &replace(2, 10 * DOLLAR, 4_000)),
        Err(RiskReject::DuplicateClientOrderId)
    );
    assert!(matches!(
        gate.check_replace(at(4), &replace(3, 11 * DOLLAR, 4_000)),
        Err(RiskReject::OutsideCollar { .. })
    ));
    // $45,000 + $40,000 = the $85,000 limit exactly; one more share is over.
    assert_eq!(
        gate.check_replace(at(5), &replace(4, 10 * DOLLAR, 4_500)),
        Ok(())
    );
    assert!(matches!(
        gate.check_replace(at(6), &replace(5, 10 * DOLLAR, 4_501)),
        Err(RiskReject::CreditLimit { .. })
    ));
    // Booked when the matcher confirms.
    gate.on_event(&back(Event::Replaced {
        order_id: OrderId::new(1),
        client: CLIENT,
        client_order_id: ClientOrderId::new(4),
        original_client_order_id: ClientOrderId::new(1),
        price: Price::from_micros(10 * DOLLAR),
        quantity: Quantity::new(4_500),
        priority_kept: false,
    }));
    assert_eq!(gate.exposure(CLIENT), Some(i128::from(85_000 * DOLLAR)));
}

/// Rule 15c3-5's erroneous-order controls apply to a replaced order as to a new one:
/// a small order replaced past a per-order limit, into a halt, a band, a kill switch or
/// short past its locate is refused, and just inside each limit it passes.
#[test]
fn replace_meets_every_per_order_control() {
    let mut gate = gate();
    check(&mut gate, 1, &order(1, Side::Buy, 10 * DOLLAR, 10)).unwrap();
    let mut second = 10;
    let mut replace = |gate: &mut RiskGate, to: u64, price: i64, shares: u32| {
        second += 1;
        gate.check_replace(
            Timestamp::new(second * 1_000_000_000),
            &Replace {
                client: CLIENT,
                quantity: Quantity::new(shares),
                client_order_id: ClientOrderId::new(to),
                original_client_order_id: ClientOrderId::new(1),
                price: Price::from_micros(price),
            },
        )
    };
    // Quantity: 5,000 is the maximum.
    assert_eq!(replace(&mut gate, 2, 10 * DOLLAR, 5_000), Ok(()));
    assert!(matches!(
        replace(&mut gate, 3, 10 * DOLLAR, 5_001),
        Err(RiskReject::QuantityAboveMax { .. })
    ));
    // Notional: $50,000 is the maximum ($10.02 inside the collar).
    assert_eq!(replace(&mut gate, 4, 10 * DOLLAR, 4_990), Ok(()));
    assert_eq!(
        replace(&mut gate, 5, 10 * DOLLAR + 20_000, 4_995),
        Err(RiskReject::NotionalAboveMax)
    );
    // Halt, band and kill switch, each lifted again.
    gate.set_halted(SYMBOL, true).unwrap();
    assert_eq!(
        replace(&mut gate, 6, 10 * DOLLAR, 100),
        Err(RiskReject::Halted)
    );
    gate.set_halted(SYMBOL, false).unwrap();
    gate.set_band(
        SYMBOL,
        Some((
            Price::from_micros(9 * DOLLAR),
            Price::from_micros(10 * DOLLAR),
        )),
    )
    .unwrap();
    assert!(matches!(
        replace(&mut gate, 7, 10 * DOLLAR + 10_000, 100),
        Err(RiskReject::OutsidePriceBand { .. })
    ));
    gate.set_band(SYMBOL, None).unwrap();
    gate.set_kill_switch(KillTarget::Symbol(SYMBOL), true)
        .unwrap();
    assert!(matches!(
        replace(&mut gate, 8, 10 * DOLLAR, 100),
        Err(RiskReject::KillSwitch { .. })
    ));
    gate.set_kill_switch(KillTarget::Symbol(SYMBOL), false)
        .unwrap();
    assert_eq!(replace(&mut gate, 9, 10 * DOLLAR, 100), Ok(()));
}

/// A short sale replaced to more shares needs a locate for the shares it adds, and the
/// gate books them when the matcher confirms the replace.
#[test]
fn a_short_sale_replaced_larger_needs_a_locate_for_what_it_adds() {
    let mut gate = gate();
    gate.add_locate(CLIENT, SYMBOL, 150).unwrap();
    check(&mut gate, 1, &order(1, Side::SellShort, 10 * DOLLAR, 100)).unwrap();
    assert_eq!(gate.located(CLIENT, SYMBOL), 50);
    let replace = |to: u64, shares: u32| Replace {
        client: CLIENT,
        quantity: Quantity::new(shares),
        client_order_id: ClientOrderId::new(to),
        original_client_order_id: ClientOrderId::new(1),
        price: Price::from_micros(10 * DOLLAR),
    };
    assert!(matches!(
        gate.check_replace(Timestamp::new(2_000_000_000), &replace(2, 151)),
        Err(RiskReject::NoLocate { .. })
    ));
    assert_eq!(
        gate.check_replace(Timestamp::new(3_000_000_000), &replace(3, 150)),
        Ok(())
    );
    gate.on_event(&back(Event::Replaced {
        order_id: OrderId::new(1),
        client: CLIENT,
        client_order_id: ClientOrderId::new(3),
        original_client_order_id: ClientOrderId::new(1),
        price: Price::from_micros(10 * DOLLAR),
        quantity: Quantity::new(150),
        priority_kept: false,
    }));
    assert_eq!(gate.located(CLIENT, SYMBOL), 0, "the added 50 are taken");
}

#[test]
fn configuration_errors_name_the_field() {
    let mut bad = config();
    bad.collar.pop();
    assert_eq!(
        RiskGate::new(&bad).err(),
        Some(RiskConfigError::CollarTiers)
    );
    let mut bad = config();
    bad.clients[1].client = CLIENT;
    assert_eq!(
        RiskGate::new(&bad).err().unwrap().to_string(),
        "client 1 is configured twice"
    );
    let mut bad = config();
    bad.clients[0].message_burst = 0;
    assert_eq!(
        RiskGate::new(&bad).err().unwrap().to_string(),
        "client 1 message_burst is 0; it must be at least 1"
    );
}

#[test]
fn reason_codes_are_distinct() {
    let rejects = [
        RiskReject::KillSwitch {
            scope: KillScope::Firm,
        },
        RiskReject::KillSwitch {
            scope: KillScope::Symbol,
        },
        RiskReject::KillSwitch {
            scope: KillScope::Client,
        },
        RiskReject::UnknownClient,
        RiskReject::UnknownSymbol,
        RiskReject::RateLimited,
        RiskReject::DuplicateClientOrderId,
        RiskReject::ClientOrderIdsFull { capacity: 1 },
        RiskReject::Restricted,
        RiskReject::Halted,
        RiskReject::QuantityAboveMax {
            quantity: Quantity::new(1),
            max: Quantity::new(1),
        },
        RiskReject::NoReferencePrice,
        RiskReject::OutsideCollar {
            price: Price::ZERO,
            bound: Price::ZERO,
        },
        RiskReject::OutsidePriceBand {
            price: Price::ZERO,
            low: Price::ZERO,
            high: Price::ZERO,
        },
        RiskReject::NotionalAboveMax,
        RiskReject::AboveAdvShare { ppm: 1 },
        RiskReject::NoLocate {
            quantity: Quantity::new(1),
            located: 0,
        },
        RiskReject::ShortSaleRestricted,
        RiskReject::CreditLimit {
            used: 0,
            order: 0,
            limit: 0,
        },
        RiskReject::OrdersFull,
    ];
    let mut codes: Vec<u16> = rejects.iter().map(RiskReject::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), rejects.len());
}

#[test]
fn client_order_id_table_capacity() {
    let mut config = config();
    config.clients[0].client_order_ids_max = 3;
    let mut gate = RiskGate::new(&config).unwrap();
    gate.on_nbbo(&quote(SYMBOL, 10 * DOLLAR, 10 * DOLLAR + 20_000));
    for coid in 1..=3 {
        assert_eq!(
            check(&mut gate, coid, &order(coid, Side::Buy, 10 * DOLLAR, 1)),
            Ok(()),
            "id {coid} of 3"
        );
    }
    assert_eq!(
        check(&mut gate, 4, &order(4, Side::Buy, 10 * DOLLAR, 1)),
        Err(RiskReject::ClientOrderIdsFull { capacity: 3 })
    );
}

#[test]
fn open_order_table_capacity() {
    let mut config = config();
    config.orders_max = 2;
    let mut gate = RiskGate::new(&config).unwrap();
    gate.on_nbbo(&quote(SYMBOL, 10 * DOLLAR, 10 * DOLLAR + 20_000));
    for coid in 1..=2 {
        assert_eq!(
            check(&mut gate, coid, &order(coid, Side::Buy, 10 * DOLLAR, 1)),
            Ok(())
        );
    }
    assert_eq!(
        check(&mut gate, 3, &order(3, Side::Buy, 10 * DOLLAR, 1)),
        Err(RiskReject::OrdersFull)
    );
    // A cancel frees a place.
    gate.on_event(&back(Event::Cancelled {
        order_id: OrderId::new(1),
        client: CLIENT,
        client_order_id: ClientOrderId::new(1),
        quantity: Quantity::new(1),
        reason: CancelReason::Requested,
    }));
    assert_eq!(
        check(&mut gate, 4, &order(4, Side::Buy, 10 * DOLLAR, 1)),
        Ok(())
    );
}
