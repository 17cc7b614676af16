//! A hostile client sends every kind of malformed, unauthenticated, out-of-order and
//! out-of-bounds frame to the running engine (the topology `crossline run` starts), on
//! both backends and in two placements, and checks the specific reply to each; a
//! well-behaved client on the same engine meanwhile trades, and its replies are exactly
//! those of a run without the hostile client.
#![allow(clippy::cast_possible_truncation)]

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

use crossline_net::Backend;
use crossline_protocol::client::{Inbound, LogonRejectReason, Outbound, SessionRejectReason};
use crossline_protocol::frame::{Secret, FLAG_RESENT, FRAME_BYTES_MAX};
use crossline_protocol::market_data::{MarketData, PacketWriter};
use crossline_types::{
    Capacity, ClientId, ClientOrderId, OrderId, OrderType, Price, Quantity, Quote, Side, SymbolId,
    TimeInForce,
};

mod common;

use common::{config_text, logon, no_venues, one_thread, set, Client, Engine, Stopped};

const AAPL: SymbolId = SymbolId::new(1);

fn order(id: u64, side: Side, price: i64, time_in_force: TimeInForce) -> Inbound {
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: AAPL,
        quantity: Quantity::new(100),
        price: Price::from_micros(price),
        side,
        order_type: OrderType::Limit,
        time_in_force,
        capacity: Capacity::Agency,
    }
}

fn encode(message: &Inbound, sequence: u32) -> Vec<u8> {
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let length = message.encode(sequence, 0, &mut frame);
    frame[..length].to_vec()
}

/// Publishes a fresh NBBO for AAPL ($190.00 / $190.02).
struct Feed {
    socket: UdpSocket,
    address: SocketAddr,
    sequence: u64,
}

impl Feed {
    fn quote(&mut self) {
        let mut packet = PacketWriter::default();
        packet.push(&MarketData::Nbbo(Quote {
            symbol: AAPL,
            bid_size: Quantity::new(500),
            bid: Price::from_micros(190_000_000),
            ask: Price::from_micros(190_020_000),
            ask_size: Quantity::new(500),
        }));
        self.sequence += 1;
        let bytes = packet.finish(self.sequence, 0);
        self.socket.send_to(bytes, self.address).unwrap();
        // The datagram and the next order travel different sockets: let the quote land.
        thread::sleep(Duration::from_millis(20));
    }
}

/// The engine with no venues (this test is about sessions: a route would be cancelled
/// back), a session error limit of 12, on `backend`; the epoll run places every agent on
/// one thread, the io_uring run on the machine's default placement.
fn start(backend: Backend) -> (Engine, Feed) {
    let text = config_text(|doc| {
        no_venues(doc);
        set(doc, "gateway.session_errors_max", 12);
        match backend {
            Backend::IoUring => set(doc, "net.backend", "io_uring"),
            Backend::Epoll => {
                set(doc, "net.backend", "epoll");
                one_thread(doc);
            }
        }
    });
    let engine = Engine::start(&text);
    let feed = Feed {
        socket: UdpSocket::bind("127.0.0.1:0").unwrap(),
        address: engine.feed,
        sequence: 0,
    };
    (engine, feed)
}

/// The well-behaved client's part: a principal fill, a resting order, its cancel.
/// Returns the replies with engine order ids blanked (the hostile client's accepted
/// requests take sequence numbers, so ids differ between runs; nothing else may).
fn good_step(step: usize, good: &mut Client, feed: &mut Feed, replies: &mut Vec<Outbound>) {
    feed.quote();
    let base = 1000 + step as u64 * 10;
    good.send(&order(
        base,
        Side::Buy,
        190_020_000,
        TimeInForce::ImmediateOrCancel,
    ));
    good.send(&order(base + 1, Side::Sell, 191_000_000, TimeInForce::Day));
    good.send(&Inbound::Cancel {
        client_order_id: ClientOrderId::new(base + 2),
        original_client_order_id: ClientOrderId::new(base + 1),
        symbol: AAPL,
    });
    // Accepted, filled (and possibly a cancel of the rest) for the first; accepted for the
    // second; cancelled for the third: read until the cancel of `base + 1` arrives.
    loop {
        let reply = blank_ids(good.receive());
        let done = matches!(reply, Outbound::Cancelled { client_order_id, .. }
            if client_order_id == ClientOrderId::new(base + 1));
        replies.push(reply);
        if done {
            return;
        }
    }
}

fn blank_ids(reply: Outbound) -> Outbound {
    let zero = OrderId::new(0);
    match reply {
        Outbound::Accepted {
            client_order_id,
            symbol,
            ..
        } => Outbound::Accepted {
            client_order_id,
            order_id: zero,
            symbol,
        },
        Outbound::Filled {
            client_order_id,
            price,
            price_improvement,
            quantity,
            leaves,
            liquidity,
            capacity,
            ..
        } => Outbound::Filled {
            client_order_id,
            order_id: zero,
            price,
            price_improvement,
            quantity,
            leaves,
            liquidity,
            capacity,
        },
        Outbound::Cancelled {
            client_order_id,
            quantity,
            reason,
            ..
        } => Outbound::Cancelled {
            client_order_id,
            order_id: zero,
            quantity,
            reason,
        },
        other => other,
    }
}

/// The hostile client's steps; each checks the exact reply. Step `n` runs before the
/// good client's step `n`.
fn hostile_step(step: usize, address: SocketAddr, hostile: &mut Option<Client>) {
    fn session(hostile: &mut Option<Client>, address: SocketAddr) -> &mut Client {
        hostile.get_or_insert_with(|| Client::logon(address, 2))
    }
    match step {
        0 => {
            // Orders before a logon.
            let mut anonymous = Client::connect(address);
            anonymous.send(&order(1, Side::Buy, 190_020_000, TimeInForce::Day));
            anonymous.expect_reject(SessionRejectReason::NotLoggedOn, "order before logon");
            // Wrong secret, unknown client, someone else's live session, bad heartbeat.
            for (message, reason) in [
                (logon(2, "not-the-secret"), LogonRejectReason::BadSecret),
                (logon(99, "demo-secret-2"), LogonRejectReason::UnknownClient),
                (
                    logon(1, "demo-secret-1"),
                    LogonRejectReason::AlreadyConnected,
                ),
            ] {
                let mut intruder = Client::connect(address);
                intruder.send(&message);
                match intruder.receive() {
                    Outbound::LogonRejected { reason: got } => assert_eq!(got, reason as u8),
                    other => panic!("expected {reason:?}, got {other:?}"),
                }
                intruder.expect_closed("after a refused logon");
            }
            let mut intruder = Client::connect(address);
            intruder.send(&Inbound::Logon {
                client: ClientId::new(2),
                heartbeat_ms: 0,
                secret: Secret::from_text("demo-secret-2").unwrap(),
            });
            assert_eq!(
                intruder.receive(),
                Outbound::LogonRejected {
                    reason: LogonRejectReason::BadHeartbeat as u8
                }
            );
            // A logon that is not the session's first message.
            let mut intruder = Client::connect(address);
            intruder.send_as(&logon(2, "demo-secret-2"), 2, 0);
            assert_eq!(
                intruder.receive(),
                Outbound::LogonRejected {
                    reason: LogonRejectReason::BadSequence as u8
                }
            );
        }
        1 => {
            let client = session(hostile, address);
            // Unknown type, wrong length, bad field, reserved flags: each refused, none
            // uses up a sequence number.
            let mut unknown = encode(&Inbound::Heartbeat {}, 2);
            unknown[2] = 200;
            client.send_raw(&unknown);
            client.expect_reject(SessionRejectReason::UnknownType, "unknown type");
            let mut short = encode(&Inbound::Heartbeat {}, 2);
            short[2] = 3; // a new order's type with a heartbeat's length
            client.send_raw(&short);
            client.expect_reject(SessionRejectReason::WrongLength, "wrong length");
            let mut bad_side = encode(&order(5, Side::Buy, 1, TimeInForce::Day), 2);
            bad_side[8 + 24] = 42;
            client.send_raw(&bad_side);
            client.expect_reject(SessionRejectReason::BadField, "bad side");
            let mut flags = encode(&Inbound::Heartbeat {}, 2);
            flags[3] = 0x40;
            client.send_raw(&flags);
            client.expect_reject(SessionRejectReason::ReservedFlags, "reserved flags");
        }
        2 => {
            let client = session(hostile, address);
            // Out of order: 9 when 2 is due.
            client.send_as(&order(6, Side::Buy, 190_020_000, TimeInForce::Day), 9, 0);
            match client.expect_reject(SessionRejectReason::SequenceGap, "sequence gap") {
                Outbound::SessionReject {
                    ref_sequence,
                    related_sequence,
                    ..
                } => {
                    assert_eq!((ref_sequence, related_sequence), (9, 2));
                }
                _ => unreachable!(),
            }
            // A second logon, in sequence: refused, and its number is still due.
            client.send(&logon(2, "demo-secret-2"));
            client.expect_reject(SessionRejectReason::AlreadyLoggedOn, "second logon");
            client.sequence -= 1;
            // The good client's resting order, named by its id: this client cannot reach it.
            client.send(&Inbound::Cancel {
                client_order_id: ClientOrderId::new(7),
                original_client_order_id: ClientOrderId::new(1001),
                symbol: AAPL,
            });
            match client.receive() {
                Outbound::CancelRejected { reason, .. } => assert_eq!(reason, 1, "unknown order"),
                other => panic!("cancel of another client's order: {other:?}"),
            }
            // Replies that were never sent.
            client.send(&Inbound::ResendRequest {
                from_sequence: 1000,
            });
            client.expect_reject(SessionRejectReason::ResendUnavailable, "resend");
            client.sequence -= 1;
        }
        3 => {
            let mut client = hostile.take().unwrap_or_else(|| Client::logon(address, 2));
            // Past the limit (12 refusals: 7 so far on this session), a disconnect.
            for _ in 0..4 {
                client.send_as(&Inbound::Heartbeat {}, 999, 0);
                client.expect_reject(SessionRejectReason::SequenceGap, "gap");
            }
            client.send_as(&Inbound::Heartbeat {}, 999, 0);
            client.expect_reject(SessionRejectReason::SequenceGap, "last gap");
            client.expect_reject(SessionRejectReason::TooManyErrors, "limit");
            client.expect_closed("past the error limit");
        }
        4 => {
            // A length no frame has: the stream cannot be re-split, so a disconnect.
            let mut client = Client::logon(address, 2);
            client.send_raw(&[0xff, 0x7f, 3, 0, 2, 0, 0, 0]);
            client.expect_reject(SessionRejectReason::Framing, "oversized frame");
            client.expect_closed("after a framing error");
            // Half a frame, then gone.
            let mut client = Client::logon(address, 2);
            client.send_raw(&encode(&order(8, Side::Buy, 1, TimeInForce::Day), 2)[..20]);
            drop(client);
            // A flood of garbage bytes from an unauthenticated connection.
            let mut flood = Client::connect(address);
            let _ = flood
                .stream
                .write_all(&[0x08, 0, 0xee, 0, 0, 0, 0, 0].repeat(64));
            flood.expect_closed("garbage flood");
        }
        _ => {}
    }
}

fn run(backend: Backend, with_hostile: bool) -> (Vec<Outbound>, Stopped) {
    let (mut engine, mut feed) = start(backend);
    let mut good = Client::logon(engine.address, 1);
    let mut replies = Vec::new();
    let mut hostile = None;
    for step in 0..5 {
        if with_hostile {
            hostile_step(step, engine.address, &mut hostile);
        }
        good_step(step, &mut good, &mut feed, &mut replies);
    }
    // The good session is still up: its first reply comes back on request, flagged
    // as resent.
    good.send(&Inbound::ResendRequest { from_sequence: 1 });
    assert!(
        matches!(good.receive(), Outbound::Accepted { .. }),
        "the good session lives"
    );
    assert_eq!(good.last_flags, FLAG_RESENT);
    let stopped = engine.stop();
    // Nothing in the scenario routes (no venue is configured: a route would come back).
    assert_eq!(stopped.counter("router.cancelled_back"), 0);
    (replies, stopped)
}

fn hostile_client_changes_nothing_for_others(backend: Backend) {
    let (control, control_stopped) = run(backend, false);
    let (observed, stopped) = run(backend, true);
    // One NBBO per good step, each taken in order, in both runs.
    for run in [&control_stopped, &stopped] {
        let feed = [
            "feed.packets",
            "feed.messages",
            "feed.gaps",
            "feed.malformed",
        ]
        .map(|label| run.counter(label));
        assert_eq!(feed, [5, 5, 0, 0]);
    }
    assert!(control.len() >= 15, "the good client traded: {control:?}");
    assert!(
        control
            .iter()
            .any(|reply| matches!(reply, Outbound::Filled { .. })),
        "the scenario includes a fill: {control:?}"
    );
    assert_eq!(
        observed, control,
        "the well-behaved session saw a difference"
    );
    assert_eq!(control_stopped.counter("sessions.frames_refused"), 0);
    let refused = stopped.counter("sessions.frames_refused");
    assert!(refused >= 20, "{refused} frames refused");
    let logons_refused = stopped.counter("sessions.logons_refused");
    assert!(logons_refused >= 4, "{logons_refused} logons refused");
    let disconnects = stopped.counter("sessions.disconnects");
    assert!(disconnects >= 3, "{disconnects} disconnects");

    // Each reject counted by its reason, as operators see them in `crossline stat`.
    let reasons = [
        ("not_logged_on", 1),
        ("already_logged_on", 1),
        ("sequence_gap", 6),
        ("unknown_type", 1),
        ("wrong_length", 1),
        ("bad_field", 1),
        ("reserved_flags", 1),
        ("framing", 1),
        ("resend_unavailable", 1),
        ("too_many_errors", 1),
    ];
    let mut by_reason = 0;
    for (reason, at_least) in reasons {
        let label = format!("sessions.rejected.{reason}");
        let count = stopped.counter(&label);
        assert!(count >= at_least, "{label} = {count}");
        assert_eq!(
            control_stopped.counter(&label),
            0,
            "{label} without the hostile client"
        );
        if reason != "too_many_errors" {
            by_reason += count;
        }
    }
    assert_eq!(
        by_reason, refused,
        "every refused frame has its reason counted"
    );
    for reason in [
        "unknown_client",
        "bad_secret",
        "already_connected",
        "bad_heartbeat",
        "bad_sequence",
    ] {
        let label = format!("sessions.logon_refused.{reason}");
        assert_eq!(stopped.counter(&label), 1, "{label}");
    }
}

#[test]
fn io_uring_hostile_client_changes_nothing_for_others() {
    hostile_client_changes_nothing_for_others(Backend::IoUring);
}

#[test]
fn epoll_hostile_client_changes_nothing_for_others() {
    hostile_client_changes_nothing_for_others(Backend::Epoll);
}
