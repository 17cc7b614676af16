//! Connections that never log on cannot starve anyone, against the running engine (the
//! topology `crossline run` starts, with the default 64 connection slots and 16 for
//! connections waiting to log on): while 1,000 idle and slow-loris connections arrive,
//! a client already logged on keeps trading and a client that logs on promptly is let in
//! and trades; a slow-loris holds its slot no longer than the logon timeout; and the
//! connections closed to make room are counted.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

mod common;

use common::{config_text, no_venues, publish_nbbo, set, Client, Engine};
use crossline_protocol::client::Outbound;
use crossline_protocol::frame::FRAME_BYTES_MAX;
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};

const AAPL: u32 = 1;
const DOLLAR: i64 = 1_000_000;
const FLOOD: usize = 1_000;
const LOGON_TIMEOUT_MS: u64 = 1_000;

/// A resting buy of 100 AAPL at $189.00 (below the bid: it rests).
fn order(id: u64) -> crossline_protocol::client::Inbound {
    crossline_protocol::client::Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(AAPL),
        quantity: Quantity::new(100),
        price: Price::from_micros(189 * DOLLAR),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

fn trades(client: &mut Client, id: u64, what: &str) {
    client.send(&order(id));
    match client.receive() {
        Outbound::Accepted {
            client_order_id, ..
        } => assert_eq!(client_order_id, ClientOrderId::new(id), "{what}"),
        other => panic!("{what}: expected the order accepted, got {other:?}"),
    }
}

/// A logon frame for client 4, to be sent a byte at a time and never finished.
fn logon_bytes() -> Vec<u8> {
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let length = common::logon(4, "demo-secret-4").encode(1, 0, &mut frame);
    frame[..length].to_vec()
}

/// Opens `FLOOD` connections, every other one a slow-loris that starts a logon frame and
/// adds a byte every 20 ms; counts them in `opened`; keeps dripping until `stop`.
fn flood(address: SocketAddr, opened: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
    let logon = logon_bytes();
    let mut lorises: Vec<(TcpStream, usize)> = Vec::new();
    let mut idle: Vec<TcpStream> = Vec::new();
    for index in 0..FLOOD {
        // A connection the engine closed at once would fail here only if the listener
        // were gone; the engine never refuses outright, it closes the oldest waiting.
        let Ok(mut stream) = TcpStream::connect(address) else {
            continue;
        };
        if index % 2 == 1 {
            let _ = stream.write_all(&logon[..1]);
            lorises.push((stream, 1));
        } else {
            idle.push(stream);
        }
        opened.fetch_add(1, Ordering::Relaxed);
    }
    while !stop.load(Ordering::Relaxed) {
        for (stream, sent) in &mut lorises {
            if *sent + 1 < logon.len() && stream.write_all(&logon[*sent..=*sent]).is_ok() {
                *sent += 1;
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn idle_and_slow_loris_connections_never_keep_a_client_out() {
    let text = config_text(|doc| {
        no_venues(doc);
        set(doc, "gateway.logon_timeout_ms", LOGON_TIMEOUT_MS as i64);
    });
    let mut engine = Engine::start(&text);
    publish_nbbo(engine.feed, 1, AAPL, 190 * DOLLAR, 190 * DOLLAR + 20_000);
    let mut early = Client::logon(engine.address, 1);
    trades(&mut early, 1, "a client logged on before the flood");

    let opened = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = {
        let (opened, stop, address) = (opened.clone(), stop.clone(), engine.address);
        thread::spawn(move || flood(address, opened, stop))
    };
    // Mid-flood, a client logs on promptly and trades; the one logged on before trades.
    while opened.load(Ordering::Relaxed) < FLOOD / 2 {
        thread::sleep(Duration::from_millis(1));
    }
    let mut prompt = Client::logon(engine.address, 2);
    trades(&mut prompt, 1, "a client that logged on mid-flood");
    trades(
        &mut early,
        2,
        "the client logged on before the flood, mid-flood",
    );
    while opened.load(Ordering::Relaxed) < FLOOD && !flooding.is_finished() {
        thread::sleep(Duration::from_millis(1));
    }
    // After the flood, with 16 of its connections still waiting to log on, another client
    // gets in, and the first two still trade.
    let mut late = Client::logon(engine.address, 3);
    trades(&mut late, 1, "a client that logged on after the flood");
    trades(&mut prompt, 2, "the mid-flood client, after the flood");
    trades(&mut early, 3, "the first client, after the flood");
    // Every flood connection past the budget was closed: the oldest waiting one to make
    // room for a newer, or (the flood's own pace permitting) at its logon timeout; and
    // nothing was refused outright.
    engine.wait_for("the flood's connections closed", |engine| {
        let evicted = engine.counter("sessions.pending_evicted");
        let timed_out = engine.counter("sessions.disconnects");
        evicted + timed_out >= (FLOOD - 16) as u64
    });
    assert!(engine.counter("sessions.pending_evicted") >= (FLOOD / 2) as u64);
    assert_eq!(engine.counter("sessions.connections_refused"), 0);

    // A slow-loris still dripping its logon is closed at the logon timeout.
    let mut loris = Client::connect(engine.address);
    let logon = logon_bytes();
    let started = Instant::now();
    loris.send_raw(&logon[..1]);
    let mut sent = 1;
    let closed_after = loop {
        thread::sleep(Duration::from_millis(50));
        if loris.stream.write_all(&logon[sent..=sent]).is_err()
            || loris.try_receive(Duration::from_millis(1)).is_none() && closed(&mut loris)
        {
            break started.elapsed();
        }
        sent = (sent + 1).min(logon.len() - 2);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the slow-loris kept its slot past the logon timeout"
        );
    };
    assert!(
        closed_after >= Duration::from_millis(LOGON_TIMEOUT_MS - 100),
        "closed at the logon timeout, not before ({closed_after:?})"
    );
    stop.store(true, Ordering::Relaxed);
    flooding.join().unwrap();
    let stopped = engine.stop();
    assert_eq!(stopped.counter("sessions.logons"), 3);
}

/// Whether the engine closed `client`'s connection (end of stream or reset).
fn closed(client: &mut Client) -> bool {
    use std::io::{ErrorKind, Read};
    client.stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let result = match client.stream.read(&mut byte) {
        Ok(0) => true,
        Err(error) => error.kind() == ErrorKind::ConnectionReset,
        Ok(_) => false,
    };
    client.stream.set_nonblocking(false).unwrap();
    result
}
