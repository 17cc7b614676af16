//! An orderly stop under load, as `crossline run` makes on SIGTERM (`Pipeline::stop`):
//! intake closes first, the core drains, the egress and the order ingress send all it
//! produced, and only then do the connections close. Every order the engine sequenced
//! has its reply on the client's socket before the socket closes, in both placements,
//! even for a client that reads nothing until the stop has begun.

use std::collections::HashSet;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

mod common;

use common::{
    config_text, no_venues, one_thread, publish_nbbo, set, unlimited_rates, Client, Engine,
};
use crossline_protocol::client::{Inbound, Outbound};
use crossline_protocol::frame::FRAME_BYTES_MAX;
use crossline_sequencer::Command;
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

/// A buy of 100 AAPL at a price below the market (it rests), or at the market's offer
/// (it crosses the firm's inventory or routes), by `id`.
fn order(id: u64) -> Inbound {
    let price = if id % 4 == 0 {
        190_020_000
    } else {
        189_000_000
    };
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(1),
        quantity: Quantity::new(100),
        price: Price::from_micros(price),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: if id % 2 == 0 {
            TimeInForce::ImmediateOrCancel
        } else {
            TimeInForce::Day
        },
        capacity: Capacity::Agency,
    }
}

fn answered(reply: &Outbound) -> Option<u64> {
    match reply {
        Outbound::Accepted {
            client_order_id, ..
        }
        | Outbound::Rejected {
            client_order_id, ..
        }
        | Outbound::Filled {
            client_order_id, ..
        }
        | Outbound::Cancelled {
            client_order_id, ..
        } => Some(client_order_id.get()),
        _ => None,
    }
}

fn stop_under_load(placement: &str, edit: impl FnOnce(&mut toml::Table)) {
    let text = config_text(|doc| {
        no_venues(doc);
        // No rate limit: the client floods the engine.
        unlimited_rates(doc);
        // Room for the replies a busy test machine's client falls behind by.
        set(doc, "net.send_buffer_kib", 16_384);
        set(doc, "net.connections_max", 32);
        edit(doc);
    });
    let mut engine = Engine::start(&text);
    publish_nbbo(engine.feed, 1, 1, 190_000_000, 190_020_000);
    let mut client = Client::logon(engine.address, 1);
    let mut stream = client.stream.try_clone().unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut sequence = client.sequence;
    let writer = thread::spawn(move || {
        let mut frame = [0u8; FRAME_BYTES_MAX];
        for id in 1.. {
            sequence += 1;
            let length = order(id).encode(sequence, 0, &mut frame);
            if stream.write_all(&frame[..length]).is_err() {
                return id - 1;
            }
            // About 100,000 orders a second at most: load the two cores share with
            // the engine, not a flood the client cannot read the answers to.
            if id % 100 == 0 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        unreachable!()
    });
    let stopping = Arc::new(AtomicBool::new(false));
    let stop_seen = Arc::clone(&stopping);
    let reader = thread::spawn(move || {
        // A client that reads only once the stop has begun: its replies pile up in the
        // kernel's buffers and the engine's, and the stop must wait for it to take them.
        while !stop_seen.load(Ordering::Acquire) {
            thread::sleep(Duration::from_millis(1));
        }
        thread::sleep(Duration::from_millis(300));
        let mut ids = HashSet::new();
        // Until the engine closes the connection.
        while let Some(reply) = client.try_receive(Duration::from_secs(10)) {
            if let Some(id) = answered(&reply) {
                ids.insert(id);
            }
        }
        ids
    });
    thread::sleep(Duration::from_millis(400));
    stopping.store(true, Ordering::Release);
    let stopped = engine.stop();
    let sent = writer.join().unwrap();
    let answered = reader.join().unwrap();

    let sequenced: Vec<u64> = stopped
        .records
        .iter()
        .filter_map(|record| match record.command {
            Command::NewOrder(order) => Some(order.client_order_id.get()),
            _ => None,
        })
        .collect();
    assert!(
        sequenced.len() > 1_000,
        "{placement}: under load ({} sequenced of {sent} sent)",
        sequenced.len()
    );
    let unanswered: Vec<&u64> = sequenced
        .iter()
        .filter(|id| !answered.contains(id))
        .collect();
    assert!(
        unanswered.is_empty(),
        "{placement}: {} of {} sequenced orders had no reply before the connection closed \
         (first {:?})",
        unanswered.len(),
        sequenced.len(),
        unanswered.first()
    );
}

#[test]
fn every_sequenced_order_is_answered_before_the_connections_close() {
    stop_under_load("shared", |doc| set(doc, "pipeline.placement", "shared"));
    stop_under_load("one thread", one_thread);
}
