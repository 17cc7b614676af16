//! Session timers and the slow-consumer rule, on the running engine: a connection that
//! does not log on in time is closed; a logged-on session gets heartbeats at the interval
//! it asked for and is closed after three intervals of silence; a client that stops
//! reading its replies is disconnected while everyone else carries on.

use std::io::{ErrorKind, Write};
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::{config_text, entry, no_venues, set, Client, Engine};
use crossline_protocol::client::{Inbound, Outbound};
use crossline_protocol::frame::FRAME_BYTES_MAX;
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};
use toml::Table;

/// The engine with no venues, and `edit` on its configuration.
fn start(edit: impl FnOnce(&mut Table)) -> Engine {
    Engine::start(&config_text(|doc| {
        no_venues(doc);
        edit(doc);
    }))
}

#[test]
fn a_connection_that_does_not_log_on_in_time_is_closed() {
    let mut running = start(|doc| set(doc, "gateway.logon_timeout_ms", 200));
    let started = Instant::now();
    let mut idle = Client::connect(running.address);
    idle.expect_closed("a connection that never logs on");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200),
        "closed after {waited:?}"
    );
    // A connection that logs on in time stays past the logon timeout, and is answered.
    let mut prompt = Client::logon(running.address, 1);
    thread::sleep(Duration::from_millis(300));
    prompt.send(&Inbound::Cancel {
        client_order_id: ClientOrderId::new(1),
        original_client_order_id: ClientOrderId::new(99),
        symbol: SymbolId::new(1),
    });
    assert!(
        matches!(prompt.receive(), Outbound::CancelRejected { .. }),
        "the logged-on session still answers after the logon timeout"
    );
    running.stop();
}

#[test]
fn heartbeats_flow_and_a_silent_session_is_closed_after_three_intervals() {
    let mut running = start(|_| {});
    let mut client = Client::logon_with(running.address, 1, 100);
    // The server's heartbeat arrives about every 100 ms while nothing else is sent (the
    // client answers each, or it would be silent for three intervals).
    let started = Instant::now();
    for _ in 0..3 {
        match client.try_receive(Duration::from_millis(500)) {
            Some(Outbound::Heartbeat {}) => client.send(&Inbound::Heartbeat {}),
            other => panic!(
                "expected a heartbeat, got {other:?} after {:?}",
                started.elapsed()
            ),
        }
    }
    let three = started.elapsed();
    assert!(
        three >= Duration::from_millis(250),
        "three heartbeats in {three:?}"
    );
    // Kept alive by the client's own heartbeats, well past three intervals ...
    for _ in 0..8 {
        thread::sleep(Duration::from_millis(50));
        client.send(&Inbound::Heartbeat {});
    }
    // ... then silent: closed after three intervals (300 ms) without a word.
    let silent = Instant::now();
    client.expect_closed("a silent session");
    let waited = silent.elapsed();
    assert!(
        waited >= Duration::from_millis(290),
        "closed after {waited:?}"
    );
    let stopped = running.stop();
    assert_eq!(stopped.counter("sessions.disconnects"), 1);
}

fn unknown_symbol_order(id: u64) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(999),
        quantity: Quantity::new(100),
        price: Price::from_micros(10_000_000),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

#[test]
fn a_client_that_stops_reading_is_disconnected_and_others_carry_on() {
    let mut running = start(|doc| {
        set(doc, "net.send_buffer_kib", 4);
        let client = entry(doc, "clients", 0);
        client.insert("messages_per_second".into(), 1_000_000.into());
        client.insert("message_burst".into(), 1_000_000.into());
    });
    let mut slow = Client::logon(running.address, 1);
    // Orders that are all refused, each with a reply the client never reads, until the
    // server cuts it off (its writes then fail).
    let mut batch = Vec::with_capacity(1_000 * FRAME_BYTES_MAX);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut id = 0;
    let cut_off = loop {
        assert!(
            Instant::now() < deadline,
            "a client that never reads was never cut off"
        );
        batch.clear();
        for _ in 0..1_000 {
            id += 1;
            slow.sequence += 1;
            let mut frame = [0u8; FRAME_BYTES_MAX];
            let length = unknown_symbol_order(id).encode(slow.sequence, 0, &mut frame);
            batch.extend_from_slice(&frame[..length]);
        }
        match slow.stream.write_all(&batch) {
            Ok(()) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
                ) =>
            {
                break id;
            }
            Err(error) => panic!("unexpected write error: {error}"),
        }
    };
    assert!(cut_off > 1_000, "cut off after {cut_off} orders");
    // Another client logs on and is served as usual.
    let mut other = Client::logon(running.address, 2);
    other.send(&unknown_symbol_order(1));
    assert!(matches!(other.receive(), Outbound::Rejected { .. }));
    let stopped = running.stop();
    assert_eq!(stopped.counter("sessions.disconnects"), 1);
}
