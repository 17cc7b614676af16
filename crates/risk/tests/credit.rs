//! Credit usage through the whole loop — the gate checks each input, the matcher works
//! it, the matcher's events flow back to the gate — never goes negative, and always
//! equals the value recomputed from the matcher's open orders and today's fills.

use std::collections::BTreeMap;

use crossline_matcher::{Event, Input, Matcher, VenueCancel, VenueFill};
use crossline_risk::RiskGate;
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, NewOrder, OrderId, OrderType, Price, Quantity,
    Quote, Replace, SequenceNumber, Side, TimeInForce, Timestamp,
};
use proptest::prelude::*;

mod common;

use common::{matcher_config, risk_config, CLIENTS, SYMBOL};

#[derive(Default)]
struct Books {
    /// (client, client order id) → valuation price of the order's open shares.
    valued: BTreeMap<(u32, u64), Price>,
    /// Per client: notional executed since the last end of day.
    executed: BTreeMap<u32, i128>,
    routed: Vec<(OrderId, u32)>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn credit_usage_is_never_negative_and_always_recomputable(words in proptest::collection::vec(any::<[u32; 4]>(), 300)) {
        let mut gate = RiskGate::new(&risk_config()).unwrap();
        let mut matcher = Matcher::new(&matcher_config()).unwrap();
        let mut books = Books::default();
        let mut sequence = 0u64;
        let (mut bid, mut ask) = (10_000_000i64, 10_020_000i64);
        let mut next_id = 1u64;
        for (step, [kind, a, b, c]) in words.into_iter().enumerate() {
            let time = Timestamp::new(step as u64 * 1_000_000);
            let client = ClientId::new(1 + a % CLIENTS);
            let input = match kind % 10 {
                0..=4 => {
                    let market = b % 5 == 0;
                    let side = if b & 8 == 0 { Side::Buy } else { Side::Sell };
                    let price = bid - 30_000 + i64::from(c % 8) * 10_000;
                    let order = NewOrder {
                        client,
                        symbol: SYMBOL,
                        client_order_id: ClientOrderId::new(next_id),
                        price: if market { Price::ZERO } else { Price::from_micros(price) },
                        quantity: Quantity::new(100 * (1 + (c >> 8) % 20)),
                        side,
                        order_type: if market { OrderType::Market } else { OrderType::Limit },
                        time_in_force: [TimeInForce::Day, TimeInForce::ImmediateOrCancel][(c >> 16) as usize % 2],
                        capacity: Capacity::Agency,
                    };
                    next_id += 1;
                    if gate.check_new_order(time, &order).is_err() {
                        continue;
                    }
                    let valued = if market { Price::from_micros(if side.is_buy() { ask } else { bid }) } else { order.price };
                    books.valued.insert((client.get(), order.client_order_id.get()), valued);
                    Input::NewOrder(order)
                }
                5 => {
                    let original = ClientOrderId::new(u64::from(b) % next_id);
                    let cancel = Cancel { client, symbol: SYMBOL, client_order_id: ClientOrderId::new(0), original_client_order_id: original };
                    if gate.check_cancel(time, &cancel).is_err() {
                        continue;
                    }
                    Input::Cancel(cancel)
                }
                6 => {
                    let original = ClientOrderId::new(u64::from(b) % next_id);
                    let replace = Replace {
                        client,
                        quantity: Quantity::new(100 * (1 + c % 20)),
                        client_order_id: ClientOrderId::new(next_id),
                        original_client_order_id: original,
                        price: Price::from_micros(bid - 30_000 + i64::from((c >> 8) % 8) * 10_000),
                    };
                    next_id += 1;
                    if gate.check_replace(time, &replace).is_err() {
                        continue;
                    }
                    Input::Replace(replace)
                }
                7 => {
                    let step_ticks = i64::from(b % 3) - 1;
                    bid += step_ticks * 10_000;
                    ask = bid + 10_000 * (1 + i64::from(c % 3));
                    let quote = Quote { symbol: SYMBOL, bid_size: Quantity::new(100), bid: Price::from_micros(bid), ask: Price::from_micros(ask), ask_size: Quantity::new(100) };
                    gate.on_nbbo(&quote);
                    Input::Nbbo(quote)
                }
                8 => {
                    let Some(&(order_id, _)) = books.routed.first() else { continue };
                    let state = matcher.order_by_id(order_id);
                    match state {
                        Some(state) if state.routed.shares() > 0 => {
                            if b % 2 == 0 {
                                let price = if state.price > Price::ZERO { state.price } else { Price::from_micros(ask) };
                                Input::VenueFill(VenueFill { order_id, quantity: Quantity::new(state.routed.shares().min(100)), price, venue: 0, fee: Price::ZERO, })
                            } else {
                                books.routed.remove(0);
                                Input::VenueCancel(VenueCancel { order_id, quantity: state.routed })
                            }
                        }
                        _ => {
                            books.routed.remove(0);
                            continue;
                        }
                    }
                }
                _ => {
                    if b % 8 != 0 {
                        continue;
                    }
                    gate.end_of_day();
                    books.executed.clear();
                    Input::EndOfDay
                }
            };
            sequence += 1;
            let mut events = Vec::new();
            matcher.apply(SequenceNumber::new(sequence), time, &input, &mut |event| events.push(event));
            for event in &events {
                // As the engine hands them back: only the events the gate follows, in
                // their 56-byte form (the credit checks below fail if one is missing).
                if let Some(back) = event.to_back_message(SequenceNumber::new(sequence), time) {
                    gate.on_event(&back);
                }
                match event {
                    Event::Filled(fill) => {
                        *books.executed.entry(fill.client.get()).or_default() += i128::from(fill.quantity.shares()) * i128::from(fill.price.micros());
                    }
                    Event::Replaced { client, client_order_id, original_client_order_id, price, .. } => {
                        books.valued.remove(&(client.get(), original_client_order_id.get()));
                        books.valued.insert((client.get(), client_order_id.get()), *price);
                    }
                    Event::Route(route) => books.routed.push((route.order_id, route.quantity.shares())),
                    _ => {}
                }
            }
            for client in 1..=CLIENTS {
                let id = ClientId::new(client);
                let open: i128 = books
                    .valued
                    .iter()
                    .filter(|((owner, _), _)| *owner == client)
                    .filter_map(|((_, coid), price)| {
                        matcher.order(id, ClientOrderId::new(*coid)).map(|state| i128::from(state.leaves.shares()) * i128::from(price.micros()))
                    })
                    .sum();
                let expected = open + books.executed.get(&client).copied().unwrap_or(0);
                let exposure = gate.exposure(id).unwrap();
                prop_assert!(exposure >= 0, "client {} exposure {} is negative", client, exposure);
                prop_assert_eq!(exposure, expected, "client {} at step {}", client, step);
            }
            // The inventory book follows the matcher's position exactly.
            let inventory = gate.inventory(SYMBOL).unwrap();
            prop_assert_eq!(Some(inventory.quantity), matcher.position(SYMBOL), "inventory at step {}", step);
        }
    }
}
