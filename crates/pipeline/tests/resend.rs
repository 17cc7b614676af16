//! A resend of the whole kept range completes, against the running engine (the topology
//! `crossline run` starts): docs/PROTOCOL.md promises `ResendRequest` sends the kept
//! replies (up to `replies_max`, 65,536 by default) from a number on, and a client that
//! reads at a modest pace gets every one, in order, flagged resent, without being cut
//! off; live replies that arrive meanwhile follow them in number order, not flagged.
//!
//! The resend is far larger than the connection's 256 KiB send buffer (65,536 replies of
//! 24 bytes: 1.5 MiB), so it must be paced by what the client reads.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::{config_text, no_venues, Client, Engine};
use crossline_protocol::client::{Inbound, Outbound};
use crossline_protocol::frame::{FLAG_RESENT, FRAME_BYTES_MAX};
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

/// The default `[gateway] replies_max`: the whole kept range.
const KEPT: u32 = 65_536;
/// Live orders sent while the resend is under way.
const LIVE: u32 = 100;

/// An order for a symbol that is not configured: the risk gate refuses it (code 111), so
/// each costs one 24-byte `Rejected` reply and no engine state.
fn refused_order(id: u64) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(999),
        quantity: Quantity::new(1),
        price: Price::from_micros(1_000_000),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

/// Sends orders `first..first + count` with sequence numbers from `sequence`, from
/// another thread, so the caller reads replies meanwhile (a client that only wrote would
/// fill its own send buffer and be cut off as a slow reader).
fn send_orders(client: &Client, first: u64, count: u32, sequence: u32) -> thread::JoinHandle<()> {
    let mut stream = client.stream.try_clone().unwrap();
    thread::spawn(move || {
        let mut batch = Vec::with_capacity(1024 * FRAME_BYTES_MAX);
        let mut frame = [0u8; FRAME_BYTES_MAX];
        for index in 0..count {
            let length =
                refused_order(first + u64::from(index)).encode(sequence + index, 0, &mut frame);
            batch.extend_from_slice(&frame[..length]);
            if batch.len() >= 1000 * FRAME_BYTES_MAX || index + 1 == count {
                stream.write_all(&batch).expect("send orders");
                batch.clear();
            }
        }
    })
}

/// Reads the next reply, which must be the `Rejected` numbered `number` with `resent`
/// as its flag.
fn expect_reply(client: &mut Client, number: u32, resent: bool) {
    match client.try_receive(Duration::from_secs(10)) {
        Some(Outbound::Rejected { reason, .. }) => assert_eq!(reason, 111),
        other => panic!("reply {number}: expected a Rejected, got {other:?} (cut off?)"),
    }
    assert_eq!(
        client.last_sequence, number,
        "replies arrive in number order"
    );
    let flagged = client.last_flags & FLAG_RESENT != 0;
    assert_eq!(flagged, resent, "reply {number}: resent flag");
}

#[test]
fn a_resend_of_every_kept_reply_completes_for_a_client_that_reads() {
    let mut engine = Engine::start(&config_text(no_venues));

    // A day's worth of replies: 65,536, all kept.
    // Sent in batches whose replies (96 KiB) fit the send buffer, each read before the
    // next is sent: this client is not the one under test.
    let mut client = Client::logon(engine.address, 1);
    const BATCH: u32 = 4_096;
    for first in (1..=KEPT).step_by(BATCH as usize) {
        send_orders(&client, u64::from(first), BATCH, first + 1)
            .join()
            .unwrap();
        for number in first..first + BATCH {
            expect_reply(&mut client, number, false);
        }
    }
    client.sequence = KEPT + 1;
    client.send(&Inbound::Logout {});
    client.expect_closed("logout");

    // Reconnect: every reply sent is kept, and a resend from 1 asks for all of them.
    let mut client = Client::connect(engine.address);
    client.send(&common::logon(1, "demo-secret-1"));
    match client.receive() {
        Outbound::LogonAccepted {
            last_reply_sequence,
            ..
        } => assert_eq!(last_reply_sequence, KEPT),
        other => panic!("logon refused: {other:?}"),
    }
    client.send(&Inbound::ResendRequest { from_sequence: 1 });
    let started = Instant::now();
    let mut live_writer = None;
    for number in 1..=KEPT {
        expect_reply(&mut client, number, true);
        if number % 1024 == 0 {
            // A modest pace: about 24 KiB, then a pause.
            thread::sleep(Duration::from_millis(2));
        }
        if number == 1_000 {
            // Orders while the resend is under way: their replies are kept and follow
            // the resent ones, in number order (1 to 100 are overwritten in the ring,
            // but they have been sent by now).
            live_writer = Some(send_orders(&client, 1_000_000, LIVE, client.sequence + 1));
            client.sequence += LIVE;
        }
    }
    for number in KEPT + 1..=KEPT + LIVE {
        expect_reply(&mut client, number, false);
    }
    live_writer.unwrap().join().unwrap();
    assert!(
        client.try_receive(Duration::from_millis(100)).is_none(),
        "nothing after the live replies"
    );
    let paced = started.elapsed();
    assert!(
        paced > Duration::from_millis(64),
        "the client read slowly ({paced:?})"
    );

    let stopped = engine.stop();
    assert_eq!(stopped.counter("sessions.resent"), u64::from(KEPT));
    assert_eq!(
        stopped.counter("sessions.disconnects"),
        0,
        "a client that reads is never cut off"
    );
}
