//! The inventory hedger and the soft limit: off by default; past the soft limit it works
//! the position back with principal orders to a venue; it never goes ahead of a customer
//! order it holds at the same or a better price (Manning).

mod common;

use common::{config, limit, market, nbbo, Harness, TEN};
use crossline_matcher::{
    CancelReason, Event, Input, MassCancel, Mode, RouteInstruction, SettingsChange, SymbolSettings,
    VenueCancel, VenueFill, HEDGE_ORDER_BIT,
};
use crossline_types::{Capacity, ClientId, OrderId, Price, Quantity, Side, TimeInForce};

const FIRM: ClientId = ClientId::new(99);

/// Passive mode, soft limit 200 shares, hedging as given; the firm trades under FIRM.
fn harness(hedge: bool) -> Harness {
    let mut config = config(Mode::Passive);
    config.firm_account = FIRM;
    for symbol in &mut config.symbols {
        symbol.settings.soft_limit = 200;
        symbol.settings.hedge = hedge;
    }
    let mut harness = Harness::new(&config);
    harness.send(nbbo(TEN, 10_000_000, 10_020_000));
    harness
}

fn routes(events: &[Event]) -> Vec<RouteInstruction> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Route(route) => Some(*route),
            _ => None,
        })
        .collect()
}

#[test]
fn hedging_is_off_by_default() {
    let mut harness = harness(false);
    // A client buys 500 from the firm: the firm is short 500, past the soft limit.
    let events = harness.send(market(1, 1, Side::Buy, 500));
    assert_eq!(harness.matcher.position(TEN), Some(-500));
    assert!(routes(&events).is_empty(), "{events:?}");
}

#[test]
fn past_the_soft_limit_the_hedger_buys_back_the_excess_at_the_offer() {
    let mut harness = harness(true);
    // Short 150: inside the soft limit, no hedge.
    let events = harness.send(market(1, 1, Side::Buy, 150));
    assert_eq!(harness.matcher.position(TEN), Some(-150));
    assert!(routes(&events).is_empty(), "{events:?}");
    // Short 450: 250 past it.
    let events = harness.send(market(1, 2, Side::Buy, 300));
    assert_eq!(harness.matcher.position(TEN), Some(-450));
    let hedge = routes(&events);
    assert_eq!(hedge.len(), 1, "{events:?}");
    let hedge = hedge[0];
    assert_eq!(hedge.side, Side::Buy);
    assert_eq!(hedge.quantity, Quantity::new(250));
    assert_eq!(hedge.limit, Some(Price::from_micros(10_020_000)));
    assert_eq!(hedge.capacity, Capacity::Principal);
    assert_ne!(hedge.order_id.get() & HEDGE_ORDER_BIT, 0);
    // One hedge at a time: more inventory does not send a second while it is out.
    let events = harness.send(market(1, 3, Side::Buy, 10));
    assert!(routes(&events).is_empty(), "{events:?}");
    // A firm-wide kill switch cancels client orders, not the firm's hedge.
    let events = harness.send(Input::MassCancel(MassCancel::default()));
    assert!(
        routes(&events).is_empty()
            && events
                .iter()
                .all(|event| !matches!(event, Event::Cancelled { client, .. } if *client == FIRM))
    );
    // The venue fills 200: the position moves, reported as the firm's principal fill.
    let events = harness.send(Input::VenueFill(VenueFill {
        order_id: hedge.order_id,
        price: Price::from_micros(10_020_000),
        quantity: Quantity::new(200),
        venue: 0,
        fee: Price::ZERO,
    }));
    assert_eq!(harness.matcher.position(TEN), Some(-260));
    let fill = events
        .iter()
        .find_map(|event| match event {
            Event::Filled(fill) => Some(*fill),
            _ => None,
        })
        .expect("a fill");
    assert_eq!((fill.client, fill.capacity), (FIRM, Capacity::Principal));
    assert!(events.iter().any(|event| matches!(
        event,
        Event::PositionChanged {
            delta: 200,
            position: -260,
            ..
        }
    )));
    // The venue cancels the rest; the next market update sends a new hedge for the 60
    // still past the soft limit.
    let events = harness.send(Input::VenueCancel(VenueCancel {
        order_id: hedge.order_id,
        quantity: Quantity::new(50),
    }));
    assert!(routes(&events).is_empty(), "no immediate retry: {events:?}");
    assert!(events.iter().any(|event| matches!(
        event,
        Event::Cancelled { reason: CancelReason::VenueCancelled, client, .. } if *client == FIRM
    )));
    let events = harness.send(nbbo(TEN, 10_000_000, 10_010_000));
    let again = routes(&events);
    assert_eq!(again.len(), 1, "{events:?}");
    assert_eq!(
        (again[0].quantity, again[0].limit),
        (Quantity::new(60), Some(Price::from_micros(10_010_000)))
    );
}

#[test]
fn the_hedger_waits_for_a_customer_order_at_the_same_or_a_better_price() {
    let mut harness = harness(true);
    // A customer's buy rests at the offer... it cannot: it would be marketable. A buy
    // resting at $10.02 needs the offer above it.
    harness.send(nbbo(TEN, 10_000_000, 10_030_000));
    harness.send(limit(2, 1, Side::Buy, 10_020_000, 100, TimeInForce::Day));
    // The firm goes short 450 (a client buys at the market; the firm sells at an
    // improved price, ahead of nobody: the resting order is a buy). A hedge buy at the
    // $10.03 offer satisfies no customer order (the customer pays at most $10.02): it goes.
    let events = harness.send(market(1, 2, Side::Buy, 450));
    assert_eq!(harness.matcher.position(TEN), Some(-450));
    let hedge = routes(&events);
    assert_eq!(hedge.len(), 1, "{events:?}");
    assert_eq!(hedge[0].limit, Some(Price::from_micros(10_030_000)));
    harness.send(Input::VenueCancel(VenueCancel {
        order_id: hedge[0].order_id,
        quantity: Quantity::new(250),
    }));
    // The offer drops to $10.02: a hedge buy at $10.02 would satisfy the customer's buy
    // at $10.02, which the firm holds: no hedge.
    let events = harness.send(nbbo(TEN, 10_000_000, 10_020_000));
    assert!(routes(&events).is_empty(), "{events:?}");
    // The customer cancels; the next update lets the hedge go.
    harness.send(Input::Cancel(crossline_types::Cancel {
        client: ClientId::new(2),
        symbol: TEN,
        client_order_id: crossline_types::ClientOrderId::new(3),
        original_client_order_id: crossline_types::ClientOrderId::new(1),
    }));
    let events = harness.send(nbbo(TEN, 10_000_000, 10_020_000));
    assert_eq!(routes(&events).len(), 1, "{events:?}");
}

#[test]
fn turning_hedging_on_hedges_the_position_already_held() {
    let mut harness = harness(false);
    harness.send(market(1, 1, Side::Sell, 300));
    assert_eq!(harness.matcher.position(TEN), Some(300));
    let settings = SymbolSettings {
        hedge: true,
        ..common::settings(Mode::Passive)
    };
    let settings = SymbolSettings {
        soft_limit: 200,
        ..settings
    };
    let events = harness.send(Input::Settings(SettingsChange {
        symbol: TEN,
        settings,
    }));
    let hedge = routes(&events);
    assert_eq!(hedge.len(), 1, "{events:?}");
    assert_eq!(
        (hedge[0].side, hedge[0].quantity, hedge[0].limit),
        (
            Side::Sell,
            Quantity::new(100),
            Some(Price::from_micros(10_000_000))
        )
    );
    assert_eq!(hedge[0].order_id, OrderId::new(3 | HEDGE_ORDER_BIT));
}
