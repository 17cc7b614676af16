//! `crossline run` killed with SIGKILL mid-session and started again on its journal:
//! nothing a client can see changes. Its replies keep their numbers (a resend after the
//! restart returns every reply of the day exactly as first sent), its resting orders are
//! still there to cancel, and new orders go on where the old ones stopped; the same
//! whether the restart replays the whole journal or starts from a snapshot the running
//! engine took. `crossline stat` reads the running engine's counters meanwhile.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use common::{config, send_quote, start, verify, CROSSLINE};
use crossline::client::Client;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

/// Publishes symbol 1's NBBO and lets it arrive.
fn quote(feed: SocketAddr, sequence: u64) {
    send_quote(feed, sequence);
    std::thread::sleep(Duration::from_millis(100));
}

fn order(id: u64, price: i64) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(1),
        quantity: Quantity::new(100),
        price: Price::from_micros(price),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

/// The next order reply (sequence number and message), skipping session messages.
fn next_reply(client: &mut Client) -> (u32, Outbound) {
    loop {
        let (header, reply) = client
            .receive_within(Duration::from_secs(5))
            .unwrap()
            .expect("a reply within 5 s");
        if header.sequence != 0 {
            return (header.sequence, reply);
        }
    }
}

#[test]
fn a_kill_and_restart_changes_nothing_a_client_can_see() {
    kill_and_restart("full", None);
}

#[test]
fn a_restart_from_the_running_engines_snapshot_changes_nothing_a_client_can_see() {
    kill_and_restart("snapshots", Some(5));
}

/// The session above, with the running engine taking a snapshot every `snapshot_every`
/// commands (`None`: the default configuration's, which this short session never
/// reaches, so the restart replays the whole journal).
fn kill_and_restart(name: &str, snapshot_every: Option<u64>) {
    let dir = std::env::temp_dir().join(format!("crossline-restart-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The default configuration on free ports; no venues or feed are running, so orders
    // rest or are refused, all deterministically.
    let default_every = "snapshot_every = 1000000";
    let every = snapshot_every.map(|every| format!("snapshot_every = {every}"));
    let text = config(&[(default_every, every.as_deref().unwrap_or(default_every))]);
    let config = dir.join("crossline.toml");
    std::fs::write(&config, text).unwrap();
    let journal = dir.join("journal");

    let (mut engine, address, feed, _) = start(&config, &journal);
    let (mut client, last) =
        Client::logon(address, 1, "demo-secret-1", Duration::from_secs(5)).unwrap();
    assert_eq!(last, 0);
    quote(feed, 1);
    let mut seen = Vec::new();
    for id in 1..=20u64 {
        // Resting bids below the national best bid.
        client
            .send(&order(
                id,
                189_500_000 + 10_000 * i64::try_from(id).unwrap(),
            ))
            .unwrap();
        seen.push(next_reply(&mut client));
    }
    assert!(
        seen.iter()
            .all(|(_, reply)| matches!(reply, Outbound::Accepted { .. })),
        "{seen:?}"
    );
    let accepted: Vec<(u64, u64)> = seen
        .iter()
        .filter_map(|(_, reply)| match reply {
            Outbound::Accepted {
                client_order_id,
                order_id,
                ..
            } => Some((client_order_id.get(), order_id.get())),
            _ => None,
        })
        .collect();
    assert!(!accepted.is_empty(), "{seen:?}");

    // stat reads the live counters of the running engine.
    let stat = Command::new(CROSSLINE)
        .args(["stat", "--interval", "0.2", "--count", "1", "--journal"])
        .arg(&journal)
        .output()
        .unwrap();
    let stat_text = String::from_utf8_lossy(&stat.stdout);
    assert!(stat.status.success(), "{stat_text}");
    assert!(stat_text.contains("ingress.requests"), "{stat_text}");
    assert!(stat_text.contains("ring.sequenced.depth"), "{stat_text}");

    // Killed with no chance to clean up.
    engine.0.kill().unwrap();
    engine.0.wait().unwrap();
    drop(client);
    let snapshots = std::fs::read_dir(&journal)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".cxs"))
        .count();
    match snapshot_every {
        // 20 orders and a quote: four snapshots were taken, the newest two kept.
        Some(_) => assert_eq!(snapshots, 2, "the running engine keeps its two newest"),
        None => assert_eq!(snapshots, 0),
    }
    // Each snapshot the running engine took holds the state a replay of its journal
    // reaches at that cut.
    let checked = verify(&journal)
        .matches("recorded state equals the replay's")
        .count();
    assert_eq!(checked, snapshots, "every snapshot was checked");

    let (mut engine, address, feed, recovery) = start(&config, &journal);
    assert_eq!(
        recovery.contains("loaded snapshot at"),
        snapshot_every.is_some(),
        "{recovery}"
    );
    let (mut client, last) =
        Client::logon(address, 1, "demo-secret-1", Duration::from_secs(5)).unwrap();
    assert_eq!(
        last,
        seen.last().unwrap().0,
        "the reply numbers go on where they were"
    );
    quote(feed, 1);
    client
        .send(&Inbound::ResendRequest { from_sequence: 1 })
        .unwrap();
    let resent: Vec<(u32, Outbound)> = (0..seen.len()).map(|_| next_reply(&mut client)).collect();
    assert_eq!(
        resent, seen,
        "a resend returns every reply exactly as first sent"
    );

    // The resting orders survived: one is cancelled, by its id from before the kill.
    let (original, order_id) = accepted[0];
    client
        .send(&Inbound::Cancel {
            client_order_id: ClientOrderId::new(1_000),
            original_client_order_id: ClientOrderId::new(original),
            symbol: SymbolId::new(1),
        })
        .unwrap();
    match next_reply(&mut client) {
        (
            sequence,
            Outbound::Cancelled {
                order_id: cancelled,
                ..
            },
        ) => {
            assert_eq!(sequence, last + 1);
            assert_eq!(cancelled.get(), order_id);
        }
        other => panic!("expected the cancel of order {order_id}, got {other:?}"),
    }
    // A client order id used before the kill is still a duplicate.
    client.send(&order(1, 189_500_000)).unwrap();
    assert!(matches!(
        next_reply(&mut client),
        (_, Outbound::Rejected { .. })
    ));
    // New orders go on, with engine ids after every one before the kill.
    client.send(&order(2_000, 189_600_000)).unwrap();
    match next_reply(&mut client) {
        (_, Outbound::Accepted { order_id, .. }) => {
            assert!(order_id.get() > accepted.last().unwrap().1);
        }
        other => panic!("expected an accept, got {other:?}"),
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(engine.0.id().to_string())
        .status();
    let status = engine.0.wait().unwrap();
    assert!(status.success(), "a SIGTERM stops it cleanly: {status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
