//! The acknowledgement gate, through the wire: under a `[journal] durability` that syncs,
//! no reply leaves before the journal record that caused it is on disk; once it is, every
//! reply leaves, in order. Under `"process"` nothing waits and nothing is synced.

use std::time::Duration;

mod common;

use common::{config_text, no_venues, publish_nbbo, resting_buy, set, Client, Engine};
use crossline_protocol::client::Outbound;

fn accepted_id(reply: &Outbound) -> u64 {
    match reply {
        Outbound::Accepted {
            client_order_id, ..
        } => client_order_id.get(),
        other => panic!("expected an acceptance, got {other:?}"),
    }
}

const ORDERS: u64 = 20;

/// The engine on `text`, with an NBBO of $190.00 × $190.02 for AAPL.
fn started(text: &str) -> Engine {
    let engine = Engine::start(text);
    publish_nbbo(engine.feed, 1, 1, 190_000_000, 190_020_000);
    engine
}

#[test]
fn no_reply_leaves_before_its_record_is_on_disk_and_all_leave_in_order_once_it_is() {
    // The flusher syncs once a minute: within the test, only the stop makes it sync.
    let text = config_text(|doc| {
        no_venues(doc);
        set(doc, "journal.durability", "sync_interval");
        set(doc, "journal.sync_interval_ms", 60_000);
    });
    let mut engine = started(&text);
    let mut client = Client::logon(engine.address, 1);
    for id in 1..=ORDERS {
        client.send(&resting_buy(id));
    }
    assert_eq!(
        client.try_receive(Duration::from_millis(400)),
        None,
        "a reply left before its record was on disk"
    );
    engine.wait_for("every acceptance held", |engine| {
        engine.counter("replies.held_for_disk") == ORDERS
    });
    assert_eq!(engine.counter("journal.msyncs"), 0);

    // The stop syncs the journal first; then every held reply leaves, in order, before
    // the connection closes.
    let stopped = engine.stop();
    for id in 1..=ORDERS {
        assert_eq!(accepted_id(&client.receive()), id);
    }
    client.expect_closed("after the last reply");
    assert!(stopped.counter("journal.msyncs") >= 1);
    // The quote and the orders.
    assert_eq!(stopped.records.len() as u64, ORDERS + 1);
}

#[test]
fn sync_per_batch_answers_once_each_batch_is_synced_and_process_never_syncs() {
    for (policy, synced) in [("sync_per_batch", true), ("process", false)] {
        let text = config_text(|doc| {
            no_venues(doc);
            set(doc, "journal.durability", policy);
        });
        let mut engine = started(&text);
        let mut client = Client::logon(engine.address, 1);
        for id in 1..=ORDERS {
            client.send(&resting_buy(id));
            assert_eq!(accepted_id(&client.receive()), id, "{policy}");
        }
        let stopped = engine.stop();
        let (msyncs, held) = (
            stopped.counter("journal.msyncs"),
            stopped.counter("replies.held_for_disk"),
        );
        if synced {
            // Each order was its own batch, and each batch was synced.
            assert!(msyncs >= ORDERS, "{policy}: {msyncs} msyncs");
            assert!(held <= ORDERS, "{policy}: {held} held");
        } else {
            assert_eq!((msyncs, held), (0, 0), "{policy}");
        }
    }
}
