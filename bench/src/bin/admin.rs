//! `scripts/bench.sh admin [--quick] [--rounds N]`: how fast the firm-wide kill switch
//! empties the engine.
//!
//! **What is measured.** The whole pipeline as `crossline run` starts it (the five agents,
//! placed by the default `placement = "auto"`, with the venue simulator publishing the
//! feed for every symbol) holds 100,000 open day orders, resting limit buys of 100 shares
//! spread evenly over 1,000 symbols and four clients. An operator logged on to the admin
//! port sends the firm kill switch (`Control`, setting 11, on). The figure is the time
//! from just before the operator's frame is written to the socket until the last of the
//! 100,000 `Cancelled` replies (reason 10, kill switch) has been read by the clients, all
//! over loopback TCP: an upper bound on the measure (the admin frame's arrival
//! to the last `Cancelled` sent), as it also holds the loopback crossings and the
//! clients' reads. The operator's `ControlAccepted` (sent once the kill is journaled) is
//! timed from the same start. After each kill a new order must be refused with reason
//! 101 (firm kill switch), then the switch is turned off and the next round places its
//! 100,000 orders afresh.
//!
//! **The physical limit**, in every round: the same 100,000 `Cancelled` frames (their
//! wire size) written by one thread over four loopback TCP connections to the reading
//! side, as fast as the kernel takes them, from the first write to the last byte read:
//! what delivering those replies costs this machine with no engine at all.
//! `firm_kill_vs_loopback_floor` is the kill's figure over it. No peer engine publishes a
//! comparable mass-cancel figure to run beside it.
//!
//! The target is 100 ms. `--quick`: one round. Results go to `target/bench/admin.json`.
// Measurement arithmetic converts between f64 and integer counts far inside both ranges.
#![allow(clippy::cast_possible_truncation)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossline::admin::{AdminSession, Answer};
use crossline::client::Client;
use crossline::demo::{on_free_ports, Venues};
use crossline_agent::Cores;
use crossline_bench::stats::median;
use crossline_bench::{report, Options};
use crossline_pipeline::Pipeline;
use crossline_protocol::admin::Inbound as AdminInbound;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_protocol::frame::FRAME_BYTES_MAX;
use crossline_types::{
    Capacity, ClientOrderId, OrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};
use serde_json::{json, Value};

/// Symbols the orders are spread over, numbered from [`FIRST_SYMBOL`].
const SYMBOLS: u32 = 1_000;
const FIRST_SYMBOL: u32 = 1_001;
/// Open orders when the switch is thrown.
const ORDERS: usize = 100_000;
/// The sessions holding them (the default configuration's four clients).
const CLIENTS: usize = 4;
/// Orders a session keeps unanswered while placing.
const IN_FLIGHT: usize = 2_000;
/// The target, milliseconds.
const TARGET_MS: f64 = 100.0;
/// The firm kill switch's admin setting and the reasons it produces (docs/PROTOCOL.md).
const FIRM_KILL_SETTING: u8 = 11;
const KILL_CANCEL_REASON: u8 = 10;
const FIRM_KILLED_REJECT: u16 = 101;
/// The gate's reject for an order with no NBBO to check its price against.
const NO_NBBO_REJECT: u16 = 160;
/// The default configuration's control operator.
const OPERATOR: (u32, &str) = (1, "ops-secret-1");

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("admin benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let rounds = options.rounds.unwrap_or(if options.quick { 1 } else { 5 });
    match run(rounds) {
        Ok((results, ratios)) => finish(results, ratios),
        Err(error) => {
            eprintln!("admin benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The engine benchmarks' configuration with room for the orders: 1,000 more symbols
/// (each book sized for its share of them) and open-order tables past 100,000.
fn config_text() -> Result<String, String> {
    let mut text = crossline_bench::engine_config_text()?;
    for (from, to, count) in [
        ("orders_max = 65536 ", "orders_max = 262144 ", 2),
        ("book_orders_max = 16384", "book_orders_max = 1024", 1),
        ("window_levels = 2048", "window_levels = 512", 1),
        // The added symbols' reference price, so each entry is just its id: the whole
        // configuration must fit the journal's first record (64 KiB).
        (
            "[symbol_defaults]\n",
            "[symbol_defaults]\nreference_price = \"50.00\"\n",
            1,
        ),
    ] {
        if text.matches(from).count() != count {
            return Err(format!(
                "the default configuration no longer has {count} of {from:?}; update config_text"
            ));
        }
        text = text.replace(from, to);
    }
    for symbol in FIRST_SYMBOL..FIRST_SYMBOL + SYMBOLS {
        text.push_str(&format!("\n[[symbols]]\nid = {symbol}\n"));
    }
    Ok(text)
}

fn run(rounds: usize) -> Result<(Value, Value), String> {
    let text = config_text()?;
    let mut config = on_free_ports(crossline_config::parse(&text).map_err(|e| e.to_string())?);
    let dir = std::env::temp_dir().join(format!("crossline-admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let venues = Venues::start(&mut config).map_err(|e| e.to_string())?;
    let (pipeline, _) =
        Pipeline::open(&config, &text, &dir, &Cores::detect()).map_err(|e| e.to_string())?;
    venues.feed_to(pipeline.feed_address());
    println!(
        "admin: {rounds} round(s) of a firm kill with {ORDERS} open orders over {SYMBOLS} \
         symbols and {CLIENTS} clients, through the whole pipeline"
    );
    let result = measure(
        &config,
        pipeline.client_address(),
        pipeline.admin_address(),
        rounds,
    );
    let fault = pipeline.fault();
    let stopped = pipeline.stop().map_err(|e| e.to_string());
    venues.stop();
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(fault) = fault {
        return Err(format!("the engine stopped: {fault}"));
    }
    stopped?;
    result
}

fn measure(
    config: &crossline_config::Config,
    clients: SocketAddr,
    admin: SocketAddr,
    rounds: usize,
) -> Result<(Value, Value), String> {
    let mut sessions = Vec::with_capacity(CLIENTS);
    for (client, secret) in config.secrets.iter().take(CLIENTS) {
        let (session, _) = Client::logon(clients, client.get(), secret, Duration::from_secs(5))
            .map_err(|e| format!("client {client}: {e}"))?;
        sessions.push(session);
    }
    let mut operator = AdminSession::logon(admin, OPERATOR.0, OPERATOR.1, Duration::from_secs(5))
        .map_err(|e| format!("operator logon: {e}"))?;
    // The simulator publishes every symbol's NBBO within its refresh interval; a limit
    // order needs one for its price collar.
    std::thread::sleep(Duration::from_millis(500));
    let mut next_id = 0u64;
    let (mut last_cancel_ms, mut ack_ms, mut place_s) = (Vec::new(), Vec::new(), Vec::new());
    let mut sent_again = 0;
    let mut floor_ms = Vec::new();
    for round in 1..=rounds {
        let placing = Instant::now();
        let again = place(&mut sessions, &mut next_id)?;
        place_s.push(placing.elapsed().as_secs_f64());
        sent_again += again;
        // Let the last acknowledgements' work finish before the switch.
        std::thread::sleep(Duration::from_millis(200));
        let (last, ack) = kill(&mut sessions, &mut operator)?;
        next_id += 1;
        refused_while_killed(&mut sessions[0], next_id)?;
        let off = operator
            .request(&kill_switch(false))
            .map_err(|e| format!("kill switch off: {e}"))?;
        if !off.accepted() {
            return Err(format!("the kill switch was not turned off: {off:?}"));
        }
        println!(
            "  round {round}: placed {ORDERS} orders in {:.2} s; kill acknowledged after \
             {:.2} ms, last Cancelled read after {:.2} ms",
            place_s[round - 1],
            ack * 1e3,
            last * 1e3
        );
        last_cancel_ms.push(last * 1e3);
        ack_ms.push(ack * 1e3);
        let floor = loopback_floor()?;
        println!(
            "  round {round}: the same replies over loopback TCP alone: {:.2} ms",
            floor * 1e3
        );
        floor_ms.push(floor * 1e3);
    }
    let _ = operator.logout();
    let last = median(&last_cancel_ms);
    let floor = median(&floor_ms);
    let results = json!({
        "open_orders": ORDERS,
        "symbols": SYMBOLS,
        "clients": CLIENTS,
        "rounds": rounds,
        "firm_kill_last_cancelled_ms": last,
        "firm_kill_last_cancelled_ms_per_round": last_cancel_ms,
        "firm_kill_acknowledged_ms": median(&ack_ms),
        "cancels_per_s": ORDERS as f64 / (last / 1e3),
        "placement_orders_per_s": ORDERS as f64 / median(&place_s),
        "placement_sent_again_after_feed_gaps": sent_again,
        "target_ms": TARGET_MS,
        "loopback_floor_ms": floor,
        "loopback_floor_ms_per_round": floor_ms,
    });
    // Each ratio is the median of the per-round ratios.
    let per_round: Vec<f64> = last_cancel_ms
        .iter()
        .zip(&floor_ms)
        .map(|(kill, floor)| kill / floor)
        .collect();
    let ratios = json!({
        "firm_kill_vs_target": last / TARGET_MS,
        "firm_kill_vs_loopback_floor": median(&per_round),
    });
    Ok((results, ratios))
}

fn kill_switch(on: bool) -> AdminInbound {
    AdminInbound::Control {
        target: 0,
        setting: FIRM_KILL_SETTING,
        on,
        value: 0,
        upper: 0,
        expires_at: 0,
    }
}

/// A resting limit buy: well under the simulator's quotes (around $50), inside the collar.
fn resting_buy(id: u64) -> Inbound {
    let symbol = FIRST_SYMBOL + (id % u64::from(SYMBOLS)) as u32;
    Inbound::NewOrder {
        client_order_id: ClientOrderId::new(id),
        symbol: SymbolId::new(symbol),
        quantity: Quantity::new(100),
        price: Price::from_micros(45_000_000),
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    }
}

/// Places [`ORDERS`] resting orders, a quarter per session, keeping at most
/// [`IN_FLIGHT`] unanswered per session; every one must be accepted, except that one
/// refused for want of an NBBO (a feed gap cleared it: the simulator publishes 4,000
/// quotes at once every 100 ms, and the engine's two cores are busy placing) is sent
/// again with a new id. Returns the orders sent again.
fn place(sessions: &mut [Client], next_id: &mut u64) -> Result<u64, String> {
    let per_session = ORDERS / sessions.len();
    let mut sent = vec![0usize; sessions.len()];
    let mut accepted = vec![0usize; sessions.len()];
    let mut again = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while accepted.iter().sum::<usize>() < ORDERS {
        if Instant::now() > deadline {
            return Err(format!(
                "{} of {ORDERS} orders accepted within 60 s",
                accepted.iter().sum::<usize>()
            ));
        }
        for (index, session) in sessions.iter_mut().enumerate() {
            while sent[index] < per_session && sent[index] - accepted[index] < IN_FLIGHT {
                *next_id += 1;
                session
                    .send(&resting_buy(*next_id))
                    .map_err(|e| format!("sending an order: {e}"))?;
                sent[index] += 1;
            }
            while let Some((_, reply)) = session.receive().map_err(|e| e.to_string())? {
                match reply {
                    Outbound::Accepted { .. } => accepted[index] += 1,
                    Outbound::Rejected { reason, .. } if reason == NO_NBBO_REJECT => {
                        sent[index] -= 1;
                        again += 1;
                    }
                    other => return Err(format!("placing: expected Accepted, got {other:?}")),
                }
            }
        }
    }
    Ok(again)
}

/// Throws the firm kill switch and reads every session's `Cancelled` replies: the time to
/// the last one read, and to the operator's acknowledgement, in seconds.
fn kill(sessions: &mut [Client], operator: &mut AdminSession) -> Result<(f64, f64), String> {
    let per_session = ORDERS / sessions.len();
    std::thread::scope(|scope| {
        let (start_tx, start_rx) = std::sync::mpsc::channel();
        let acknowledged = scope.spawn(move || {
            let start = Instant::now();
            let _ = start_tx.send(start);
            let answer = operator.request(&kill_switch(true));
            (answer, start.elapsed())
        });
        let start = start_rx
            .recv()
            .map_err(|_| "the operator's thread did not start".to_owned())?;
        let mut cancelled = vec![0usize; sessions.len()];
        let mut last = start;
        let deadline = start + Duration::from_secs(30);
        while cancelled.iter().sum::<usize>() < ORDERS {
            if Instant::now() > deadline {
                return Err(format!(
                    "{} of {ORDERS} orders cancelled within 30 s of the kill",
                    cancelled.iter().sum::<usize>()
                ));
            }
            for (index, session) in sessions.iter_mut().enumerate() {
                while let Some((_, reply)) = session.receive().map_err(|e| e.to_string())? {
                    match reply {
                        Outbound::Cancelled { reason, .. } if reason == KILL_CANCEL_REASON => {
                            cancelled[index] += 1;
                            last = Instant::now();
                        }
                        other => return Err(format!("after the kill: {other:?}")),
                    }
                }
            }
        }
        if cancelled.iter().any(|&count| count != per_session) {
            return Err(format!("cancels per session {cancelled:?}"));
        }
        let (answer, ack) = acknowledged
            .join()
            .map_err(|_| "the operator's thread panicked".to_owned())?;
        match answer {
            Ok(Answer::Accepted { .. }) => Ok(((last - start).as_secs_f64(), ack.as_secs_f64())),
            other => Err(format!("the kill switch: {other:?}")),
        }
    })
}

/// A new order while the firm is killed must be refused with reason 101.
fn refused_while_killed(session: &mut Client, id: u64) -> Result<(), String> {
    session
        .send(&resting_buy(id))
        .map_err(|e| format!("sending an order: {e}"))?;
    match session
        .receive_within(Duration::from_secs(5))
        .map_err(|e| e.to_string())?
    {
        Some((_, Outbound::Rejected { reason, .. })) if reason == FIRM_KILLED_REJECT => Ok(()),
        other => Err(format!(
            "a new order under the firm kill switch: expected reject {FIRM_KILLED_REJECT}, \
             got {other:?}"
        )),
    }
}

/// Seconds to write [`ORDERS`] `Cancelled` frames over [`CLIENTS`] loopback TCP
/// connections from one thread and read them all on another.
fn loopback_floor() -> Result<f64, String> {
    let mut frame = [0u8; FRAME_BYTES_MAX];
    let length = Outbound::Cancelled {
        client_order_id: ClientOrderId::new(1),
        order_id: OrderId::new(1),
        quantity: Quantity::new(100),
        reason: KILL_CANCEL_REASON,
    }
    .encode(1, 0, &mut frame);
    let per_connection = ORDERS / CLIENTS * length;
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let mut readers = Vec::with_capacity(CLIENTS);
    let mut writers = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let reader = TcpStream::connect(address).map_err(|e| e.to_string())?;
        let (writer, _) = listener.accept().map_err(|e| e.to_string())?;
        writer.set_nodelay(true).map_err(|e| e.to_string())?;
        writer.set_nonblocking(true).map_err(|e| e.to_string())?;
        reader.set_nonblocking(true).map_err(|e| e.to_string())?;
        readers.push(reader);
        writers.push(writer);
    }
    let chunk: Vec<u8> = frame[..length].repeat(65_536 / length);
    std::thread::scope(|scope| {
        let start = Instant::now();
        let writing = scope.spawn(move || -> Result<(), String> {
            let mut left = vec![per_connection; CLIENTS];
            while left.iter().any(|&n| n > 0) {
                for (writer, left) in writers.iter_mut().zip(&mut left) {
                    let n = (*left).min(chunk.len());
                    if n == 0 {
                        continue;
                    }
                    match writer.write(&chunk[..n]) {
                        Ok(written) => *left -= written,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => return Err(e.to_string()),
                    }
                }
            }
            Ok(())
        });
        let mut buffer = vec![0u8; 1 << 16];
        let mut got = vec![0usize; CLIENTS];
        while got.iter().any(|&n| n < per_connection) {
            for (reader, got) in readers.iter_mut().zip(&mut got) {
                // A connection read in full is done: once the writer has finished and
                // closed its end, reading it again would see the close.
                if *got >= per_connection {
                    continue;
                }
                match reader.read(&mut buffer) {
                    Ok(0) => return Err("a loopback connection closed early".to_owned()),
                    Ok(n) => *got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        writing
            .join()
            .map_err(|_| "the writing thread panicked".to_owned())??;
        Ok(elapsed)
    })
}

fn finish(results: Value, ratios: Value) -> ExitCode {
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    println!("results: {}", pretty(&results));
    println!("ratios: {}", pretty(&ratios));
    match report::write("admin", results, ratios, report::machine(&[])) {
        Ok(path) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("admin benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}
