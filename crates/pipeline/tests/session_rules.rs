//! The order-entry rules a compliance review checks through the wire, against the
//! running engine: a cancel/replace meets every per-order control a new order meets
//! (Rule 15c3-5 applies to replaced orders too); a refused session frame never uses up
//! its sequence number, whatever the reason; a resend from past the last reply is
//! refused as docs/PROTOCOL.md says; and every `SessionReject` field means what the
//! byte table says.

use std::time::Duration;

mod common;

use common::{config_text, no_venues, publish_nbbo, Client, Engine};
use crossline_protocol::client::{Inbound, Outbound, SessionRejectReason};
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

const AAPL: u32 = 1;
const DOLLAR: i64 = 1_000_000;

/// The engine with no venues, and an NBBO of $190.00 × $190.02 for AAPL.
fn start() -> Engine {
    let engine = Engine::start(&config_text(no_venues));
    publish_nbbo(engine.feed, 1, AAPL, 190 * DOLLAR, 190 * DOLLAR + 20_000);
    engine
}

/// A resting buy of `shares` AAPL at $189.00 (below the bid: it rests).
fn resting_buy(id: u64, shares: u32) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(AAPL),
        quantity: Quantity::new(shares),
        price: Price::from_micros(189 * DOLLAR),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

fn replace(id: u64, original: u64, price: i64, shares: u32) -> Inbound {
    Inbound::Replace {
        client_order_id: ClientOrderId::new(id),
        original_client_order_id: ClientOrderId::new(original),
        price: Price::from_micros(price),
        quantity: Quantity::new(shares),
    }
}

/// The next reply must refuse the replace `id` with the risk gate's `code`.
fn expect_replace_refused(client: &mut Client, id: u64, code: u8, what: &str) {
    match client.receive() {
        Outbound::CancelRejected {
            client_order_id,
            reason,
            ..
        } => {
            assert_eq!(client_order_id, ClientOrderId::new(id), "{what}");
            assert_eq!(reason, code, "{what}: reason");
        }
        other => panic!("{what}: expected CancelRejected {code}, got {other:?}"),
    }
}

#[test]
fn a_replace_meets_every_per_order_control() {
    let mut engine = start();
    let mut client = Client::logon(engine.address, 1);
    client.send(&resting_buy(1, 10));
    assert!(matches!(client.receive(), Outbound::Accepted { .. }));
    // 10 shares replaced to 50,001: past order_quantity_max (50,000).
    client.send(&replace(2, 1, 189 * DOLLAR, 50_001));
    expect_replace_refused(&mut client, 2, 150, "quantity above the maximum");
    // 3,000 shares at $189.00 is $567,000: past order_notional_max ($500,000).
    client.send(&replace(3, 1, 189 * DOLLAR, 3_000));
    expect_replace_refused(&mut client, 3, 170, "notional above the maximum");
    // A buy at $200.00 is past the collar ($190.02 + 5%).
    client.send(&replace(4, 1, 200 * DOLLAR, 10));
    expect_replace_refused(&mut client, 4, 161, "outside the collar");
    // Client 3's credit is $250,000: 1,400 shares at $189 is $264,600.
    let mut small = Client::logon(engine.address, 3);
    small.send(&resting_buy(1, 10));
    assert!(matches!(small.receive(), Outbound::Accepted { .. }));
    small.send(&replace(2, 1, 189 * DOLLAR, 1_400));
    expect_replace_refused(&mut small, 2, 190, "credit limit");
    // Inside every limit, the same order is replaced.
    client.send(&replace(5, 1, 189 * DOLLAR, 2_000));
    match client.receive() {
        Outbound::Replaced { quantity, .. } => assert_eq!(quantity.shares(), 2_000),
        other => panic!("expected the replace accepted, got {other:?}"),
    }
    engine.stop();
}

#[test]
fn a_refused_frame_leaves_its_sequence_number_unused() {
    let mut engine = start();
    let mut client = Client::logon(engine.address, 1);
    // A second logon, with the next number (2): refused, and 2 is still the next number.
    client.send(&common::logon(1, "demo-secret-1"));
    client.expect_reject(SessionRejectReason::AlreadyLoggedOn, "second logon");
    client.sequence -= 1;
    // A resend of replies that were never sent, with 2 again: refused, 2 still due.
    client.send(&Inbound::ResendRequest { from_sequence: 5 });
    client.expect_reject(SessionRejectReason::ResendUnavailable, "resend");
    client.sequence -= 1;
    // An order with 2 is taken: no sequence-gap reject, and no error counted against
    // the session.
    client.send(&resting_buy(1, 100));
    assert!(
        matches!(client.receive(), Outbound::Accepted { .. }),
        "the order carrying the refused frames' number is taken"
    );
    let stopped = engine.stop();
    assert_eq!(stopped.counter("sessions.frames_refused"), 2);
}

#[test]
fn a_resend_from_past_the_last_reply_is_refused_with_the_oldest_kept() {
    let mut engine = start();
    let mut client = Client::logon(engine.address, 1);
    // Before any reply: nothing can be resent, and the oldest kept is 0 (none).
    client.send(&Inbound::ResendRequest { from_sequence: 1 });
    match client.expect_reject(SessionRejectReason::ResendUnavailable, "no replies yet") {
        Outbound::SessionReject {
            related_sequence, ..
        } => assert_eq!(related_sequence, 0),
        _ => unreachable!(),
    }
    client.sequence -= 1;
    client.send(&resting_buy(1, 100));
    client.send(&resting_buy(2, 100));
    for _ in 0..2 {
        assert!(matches!(client.receive(), Outbound::Accepted { .. }));
    }
    // Replies 1 and 2 were sent: from 3 is past the last, refused naming the oldest kept.
    client.send(&Inbound::ResendRequest { from_sequence: 3 });
    match client.expect_reject(SessionRejectReason::ResendUnavailable, "past the last") {
        Outbound::SessionReject {
            ref_sequence,
            related_sequence,
            ref_kind,
            ..
        } => {
            assert_eq!(ref_sequence, client.sequence);
            assert_eq!(related_sequence, 1, "the oldest reply kept");
            assert_eq!(ref_kind, 6, "a ResendRequest");
        }
        _ => unreachable!(),
    }
    client.sequence -= 1;
    // From the last itself: that one reply again, flagged resent.
    client.send(&Inbound::ResendRequest { from_sequence: 2 });
    match client.receive() {
        Outbound::Accepted {
            client_order_id, ..
        } => assert_eq!(client_order_id, ClientOrderId::new(2)),
        other => panic!("expected reply 2 again, got {other:?}"),
    }
    assert!(client.try_receive(Duration::from_millis(100)).is_none());
    engine.stop();
}

#[test]
fn a_session_reject_names_the_expected_number_only_for_a_gap() {
    let mut engine = start();
    let mut client = Client::logon(engine.address, 1);
    // Reason 3: the related number is the sequence expected.
    client.send_as(&Inbound::Heartbeat {}, 7, 0);
    match client.expect_reject(SessionRejectReason::SequenceGap, "gap") {
        Outbound::SessionReject {
            ref_sequence,
            related_sequence,
            ..
        } => assert_eq!((ref_sequence, related_sequence), (7, 2)),
        _ => unreachable!(),
    }
    // Reason 2: the related number is 0.
    client.send_as(&common::logon(1, "demo-secret-1"), 2, 0);
    match client.expect_reject(SessionRejectReason::AlreadyLoggedOn, "second logon") {
        Outbound::SessionReject {
            ref_sequence,
            related_sequence,
            ref_kind,
            ..
        } => assert_eq!((ref_sequence, related_sequence, ref_kind), (2, 0, 1)),
        _ => unreachable!(),
    }
    engine.stop();
}
