//! After construction, the risk gate never touches the heap: checks, bookings, the
//! matcher's events, kill switches and ends of day, under a counting global allocator.

use crossline_matcher::{CancelReason, Contra, Event, Execution, NbboPrices};
use crossline_risk::{
    AdminChange, ClientLimits, CollarTier, KillTarget, RiskConfig, RiskGate, Setting, SymbolRisk,
};
use crossline_testkit::{count_allocations, CountingAllocator};
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

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

#[test]
fn a_long_mixed_workload_allocates_nothing_after_construction() {
    let config = RiskConfig {
        clients: (1..=4)
            .map(|client| ClientLimits {
                client: ClientId::new(client),
                credit_limit: Price::from_micros(100_000_000 * 1_000_000),
                order_quantity_max: Quantity::new(10_000),
                order_notional_max: Price::from_micros(100_000 * 1_000_000),
                messages_per_second: 1_000_000,
                message_burst: 1_000,
                market_order_adv_ppm: 100_000,
                client_order_ids_max: 100_000,
            })
            .collect(),
        symbols: (1..=4)
            .map(|symbol| SymbolRisk {
                symbol: SymbolId::new(symbol),
                average_daily_volume: 1_000_000,
                restricted: false,
            })
            .collect(),
        collar: vec![CollarTier {
            below: Price::MAX,
            ppm: 100_000,
            minimum: Price::CENT,
        }],
        orders_max: 4_096,
        locates_max: 16,
    };
    let mut gate = RiskGate::new(&config).unwrap();
    // Recently accepted orders, for the events and replaces to name: a fixed ring.
    let mut recent = vec![(ClientId::new(1), ClientOrderId::new(0)); 1_024];
    let mut recent_count = 0usize;
    let (mut accepted, mut refused, mut filled) = (0u64, 0u64, 0u64);
    let mut random = crossline_testkit::Xorshift::new(0x2545_F491_4F6C_DD1Du64);
    let allocations = count_allocations(|| {
        for step in 1..=200_000u64 {
            let state = random.next();
            let client = ClientId::new(1 + (state % 4) as u32);
            let symbol = SymbolId::new(1 + ((state >> 8) % 4) as u32);
            let time = Timestamp::new(step * 1_000);
            let coid = ClientOrderId::new(step);
            match (state >> 16) % 10 {
                0..=4 => {
                    let order = NewOrder {
                        client,
                        symbol,
                        client_order_id: coid,
                        price: Price::from_micros(9_900_000 + ((state >> 24) % 40) as i64 * 10_000),
                        quantity: Quantity::new(100 * (1 + ((state >> 32) % 10) as u32)),
                        side: [Side::Buy, Side::Sell, Side::SellShort]
                            [((state >> 40) % 3) as usize],
                        order_type: OrderType::Limit,
                        time_in_force: TimeInForce::Day,
                        capacity: Capacity::Agency,
                    };
                    match gate.check_new_order(time, &order) {
                        Ok(()) => {
                            accepted += 1;
                            recent[recent_count % 1_024] = (order.client, order.client_order_id);
                            recent_count += 1;
                        }
                        Err(_) => refused += 1,
                    }
                }
                5 => {
                    let (client, original) =
                        recent[((state >> 24) as usize) % recent_count.clamp(1, 1_024)];
                    let fill = Execution {
                        order_id: OrderId::new(0),
                        client,
                        client_order_id: original,
                        symbol,
                        side: Side::Buy,
                        price: Price::from_micros(10_000_000),
                        quantity: Quantity::new(100),
                        leaves: Quantity::new(((state >> 32) % 2) as u32),
                        liquidity: LiquiditySource::Principal,
                        capacity: Capacity::Principal,
                        contra: Contra::Firm,
                        nbbo_at_receipt: NbboPrices::default(),
                        nbbo_at_execution: NbboPrices::default(),
                        price_improvement: Price::ZERO,
                    };
                    gate.on_event(&back(Event::Filled(fill)));
                    filled += 1;
                }
                6 => {
                    let (client, original) =
                        recent[((state >> 24) as usize) % recent_count.clamp(1, 1_024)];
                    gate.on_event(&back(Event::Cancelled {
                        order_id: OrderId::new(0),
                        client,
                        client_order_id: original,
                        quantity: Quantity::new(100),
                        reason: CancelReason::Requested,
                    }));
                    let cancel = Cancel {
                        client,
                        symbol,
                        client_order_id: coid,
                        original_client_order_id: original,
                    };
                    let _ = gate.check_cancel(time, &cancel);
                }
                7 => {
                    let (client, original) =
                        recent[((state >> 24) as usize) % recent_count.clamp(1, 1_024)];
                    let replace = Replace {
                        client,
                        quantity: Quantity::new(200),
                        client_order_id: coid,
                        original_client_order_id: original,
                        price: Price::from_micros(10_000_000),
                    };
                    let _ = gate.check_replace(time, &replace);
                }
                8 => {
                    let bid = 9_950_000 + ((state >> 24) % 10) as i64 * 10_000;
                    gate.on_nbbo(&Quote {
                        symbol,
                        bid_size: Quantity::new(100),
                        bid: Price::from_micros(bid),
                        ask: Price::from_micros(bid + 20_000),
                        ask_size: Quantity::new(100),
                    });
                    let _ = gate.add_locate(client, symbol, 500);
                }
                _ => {
                    if (state >> 24) % 200 == 0 {
                        let _ = gate.set_kill_switch(KillTarget::Symbol(symbol), true);
                        let _ = gate.set_kill_switch(KillTarget::Symbol(symbol), false);
                    }
                    if (state >> 24) % 5_000 == 0 {
                        gate.end_of_day();
                    }
                    if (state >> 24) % 50 == 0 {
                        let change = AdminChange {
                            operator: 7,
                            request: 0,
                            setting: Setting::CreditLimit(
                                client,
                                Price::from_micros(
                                    ((state >> 32) % 1_000_000) as i64 * 1_000_000_000,
                                ),
                            ),
                            expires_at: Some(Timestamp::new(time.nanos() + 5_000_000)),
                        };
                        let _ = gate.apply_admin(time, &change);
                    }
                    gate.expire(time, |_| {});
                }
            }
        }
    });
    assert!(
        accepted > 10_000 && refused > 1_000 && filled > 10_000,
        "{accepted} {refused} {filled}"
    );
    assert_eq!(allocations, 0, "the risk gate allocated after construction");
}
