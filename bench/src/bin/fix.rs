//! `scripts/bench.sh fix [--quick] [--rounds N]`: Crossline's FIX codec against QuickFIX
//! C++ on the same messages, in the same run.
//!
//! - **parse**: a NewOrderSingle's bytes to the five fields an order needs (ClOrdID,
//!   Symbol, Side, OrderQty, Price): Crossline's [`Message::parse`] (which also checks
//!   BodyLength and CheckSum) against QuickFIX's `Message::setString` without
//!   validation, then `getField` of each.
//! - **encode**: an ExecutionReport (a principal fill, 27 fields) from its values to its
//!   bytes: Crossline's [`Encoder`] against QuickFIX's `setField` of each and
//!   `Message::toString`.
//! - the machine's floor: copying the NewOrderSingle's bytes (`memcpy`).
//!
//! QuickFIX runs as its own process (`bench/quickfix/fixbench.cpp`, built by
//! `scripts/bench.sh` against Debian's libquickfix-dev) and times its loop itself;
//! rounds alternate Crossline, QuickFIX, floor, and each ratio is the median of the
//! per-round ratios (QuickFIX ns / Crossline ns). Results: `target/bench/fix.json`.
//!
//! - **wire round trip**: through the whole engine as `crossline run` starts it (the
//!   venue simulator publishing the feed), open-loop at 10,000 and 50,000 orders/s: a
//!   NewOrderSingle to its first ExecutionReport on a FIX 4.4 session, beside a NewOrder
//!   to its first reply on the binary protocol, on the same engine, alternating which
//!   goes first each round. Latency runs from each order's intended send time (free of
//!   coordinated omission) to its first answer's arrival, read by one client thread that
//!   also sends. The orders are immediate-or-cancel limit buys of 100 AAPL far below the
//!   market: accepted (the first answer), then cancelled, so nothing accumulates.

#![allow(clippy::cast_possible_truncation)] // measurement arithmetic, rounding on purpose

use std::hint::black_box;
use std::net::SocketAddr;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use crossline::client::Client;
use crossline::demo::{on_free_ports, Venues};
use crossline::fix_client::FixClient;
use crossline_agent::Cores;
use crossline_bench::stats::median;
use crossline_bench::{report, Options};
use crossline_fix::{tags, Encoder, Message};
use crossline_pipeline::Pipeline;
use crossline_protocol::client::{Inbound, Outbound};
use crossline_types::{
    Capacity, ClientOrderId, OrderType, Price, Quantity, Side, SymbolId, TimeInForce,
};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

/// The FIX session the wire round trip uses (client 5 of the benchmark configuration).
const FIX_TABLES: &str = r#"
[[clients]]
id = 5

[[fix_sessions]]
comp_id = "BENCHFIX"
client = 5
version = "FIX.4.4"
secret = "bench-fix-secret"
"#;

/// Named figures, for the JSON's results or ratios.
type Figures = Map<String, Value>;

/// The offered rates of the wire round trip, orders per second.
const RATES: [u32; 2] = [10_000, 50_000];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Fix,
    Binary,
}

/// The two sessions on one engine, and the next client order id of each.
struct Sessions {
    fix: FixClient,
    binary: Client,
    next_id: u64,
}

impl Sessions {
    fn send(&mut self, protocol: Protocol, id: u64) -> Result<(), String> {
        match protocol {
            Protocol::Binary => self
                .binary
                .send(&Inbound::NewOrder {
                    client_order_id: ClientOrderId::new(id),
                    symbol: SymbolId::new(1),
                    quantity: Quantity::new(100),
                    price: Price::from_micros(100_000_000),
                    side: Side::Buy,
                    order_type: OrderType::Limit,
                    time_in_force: TimeInForce::ImmediateOrCancel,
                    capacity: Capacity::Agency,
                })
                .map_err(|e| e.to_string()),
            Protocol::Fix => {
                let mut digits = [0u8; 20];
                let text = decimal(id, &mut digits);
                self.fix
                    .send(
                        b"D",
                        &[
                            (tags::CL_ORD_ID, text),
                            (tags::SYMBOL, b"AAPL"),
                            (tags::SIDE, b"1"),
                            (tags::ORDER_QTY, b"100"),
                            (tags::ORD_TYPE, b"2"),
                            (tags::PRICE, b"100.00"),
                            (tags::TIME_IN_FORCE, b"3"),
                        ],
                    )
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// The client order id of the next answer that has arrived, if any.
    fn answer(&mut self, protocol: Protocol) -> Result<Option<u64>, String> {
        match protocol {
            Protocol::Binary => loop {
                match self.binary.receive().map_err(|e| e.to_string())? {
                    None => return Ok(None),
                    Some((_, reply)) => {
                        let id = match reply {
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
                            } => client_order_id,
                            _ => continue,
                        };
                        return Ok(Some(id.get()));
                    }
                }
            },
            Protocol::Fix => loop {
                match self.fix.try_receive().map_err(|e| e.to_string())? {
                    None => return Ok(None),
                    Some(message) if message.get(tags::MSG_TYPE) == Some(b"8") => {
                        let id = message
                            .get(tags::CL_ORD_ID)
                            .and_then(crossline_fix::parse_uint)
                            .ok_or("an execution report without a numeric ClOrdID")?;
                        return Ok(Some(id));
                    }
                    Some(_) => {}
                }
            },
        }
    }
}

fn decimal(mut value: u64, out: &mut [u8; 20]) -> &[u8] {
    let mut at = out.len();
    loop {
        at -= 1;
        out[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    &out[at..]
}

/// One open-loop run: `rate` orders a second for `seconds` on `protocol`; the latency
/// of each order's first answer from its intended send time, ns.
fn open_loop(
    sessions: &mut Sessions,
    protocol: Protocol,
    rate: u32,
    seconds: f64,
) -> Result<Histogram<u64>, String> {
    let count = (f64::from(rate) * seconds) as u64;
    let interval_ns = 1e9 / f64::from(rate);
    let first = sessions.next_id;
    sessions.next_id += count;
    let mut answered = vec![false; count as usize];
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| e.to_string())?;
    let start = Instant::now() + Duration::from_millis(5);
    let deadline = start + Duration::from_secs_f64(seconds + 10.0);
    let intended = |index: u64| start + Duration::from_nanos((index as f64 * interval_ns) as u64);
    let (mut sent, mut done) = (0u64, 0u64);
    while done < count {
        let now = Instant::now();
        if now > deadline {
            return Err(format!(
                "{protocol:?} at {rate}/s: {done} of {count} orders answered"
            ));
        }
        while sent < count && intended(sent) <= now {
            sessions.send(protocol, first + sent)?;
            sent += 1;
        }
        while let Some(id) = sessions.answer(protocol)? {
            let Some(index) = id.checked_sub(first).filter(|&i| i < count) else {
                continue; // an answer of an earlier run (its cancel)
            };
            if !std::mem::replace(&mut answered[index as usize], true) {
                let latency = Instant::now().saturating_duration_since(intended(index));
                histogram
                    .record(u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1))
                    .map_err(|e| e.to_string())?;
                done += 1;
            }
        }
    }
    Ok(histogram)
}

/// The wire round trip at each rate: per-round figures of both protocols, and the
/// ratios.
fn wire_round_trip(rounds: usize, seconds: f64) -> Result<(Figures, Figures), String> {
    let mut text = crossline_bench::engine_config_text()?;
    if !text.contains("connections_max = 16 ") {
        return Err("the benchmark configuration no longer has connections_max = 16".into());
    }
    text = text.replace("connections_max = 16 ", "connections_max = 32 ");
    text.push_str(FIX_TABLES);
    let mut config = on_free_ports(crossline_config::parse(&text).map_err(|e| e.to_string())?);
    let dir = std::env::temp_dir().join(format!("crossline-bench-fix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let venues = Venues::start(&mut config).map_err(|e| e.to_string())?;
    let (pipeline, _) =
        Pipeline::open(&config, &text, &dir, &Cores::detect()).map_err(|e| e.to_string())?;
    venues.feed_to(pipeline.feed_address());
    std::thread::sleep(Duration::from_millis(500)); // the first quotes
    let fix_address: SocketAddr = pipeline.fix_address().ok_or("no FIX port")?;
    let result = (|| {
        let fix = FixClient::logon(
            fix_address,
            b"FIX.4.4",
            "BENCHFIX",
            &config.fix.comp_id,
            "bench-fix-secret",
        )
        .map_err(|e| e.to_string())?;
        let (binary, _) = Client::logon(
            pipeline.client_address(),
            1,
            "demo-secret-1",
            Duration::from_secs(5),
        )
        .map_err(|e| e.to_string())?;
        let mut sessions = Sessions {
            fix,
            binary,
            next_id: 1,
        };
        // Warm-up: both paths once.
        open_loop(&mut sessions, Protocol::Fix, 5_000, 0.2)?;
        open_loop(&mut sessions, Protocol::Binary, 5_000, 0.2)?;
        let (mut results, mut ratios) = (Map::new(), Map::new());
        let mut worst: f64 = 0.0;
        for rate in RATES {
            let mut figures: Vec<[f64; 8]> = Vec::new();
            for round in 0..rounds {
                let order = if round % 2 == 0 {
                    [Protocol::Fix, Protocol::Binary]
                } else {
                    [Protocol::Binary, Protocol::Fix]
                };
                let mut row = [0.0; 8];
                for protocol in order {
                    let h = open_loop(&mut sessions, protocol, rate, seconds)?;
                    let at = if protocol == Protocol::Fix { 0 } else { 4 };
                    row[at] = h.value_at_quantile(0.5) as f64;
                    row[at + 1] = h.value_at_quantile(0.99) as f64;
                    row[at + 2] = h.value_at_quantile(0.999) as f64;
                    row[at + 3] = h.max() as f64;
                }
                println!(
                    "wire {rate}/s round {}: FIX p50 {:.1} µs p99 {:.1} µs, binary p50 {:.1} µs p99 {:.1} µs",
                    round + 1,
                    row[0] / 1e3,
                    row[1] / 1e3,
                    row[4] / 1e3,
                    row[5] / 1e3
                );
                figures.push(row);
            }
            let column = |i: usize| median(&figures.iter().map(|r| r[i]).collect::<Vec<_>>());
            let k = rate / 1000;
            for (name, i) in [
                ("fix_p50_ns", 0),
                ("fix_p99_ns", 1),
                ("fix_p999_ns", 2),
                ("fix_max_ns", 3),
                ("binary_p50_ns", 4),
                ("binary_p99_ns", 5),
                ("binary_p999_ns", 6),
                ("binary_max_ns", 7),
            ] {
                results.insert(format!("wire_{k}k_{name}"), json!(column(i)));
            }
            let ratio = median(&figures.iter().map(|r| r[0] / r[4]).collect::<Vec<_>>());
            worst = worst.max(ratio);
            ratios.insert(format!("fix_p50_vs_binary_p50_{k}k"), json!(ratio));
        }
        ratios.insert("fix_p50_vs_binary_p50".into(), json!(worst));
        Ok((results, ratios))
    })();
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

fn new_order_single() -> Vec<u8> {
    let mut buffer = [0u8; 512];
    let mut encoder = Encoder::new(&mut buffer, b"FIX.4.4", b"D");
    encoder
        .str(tags::SENDER_COMP_ID, b"OMS1")
        .str(tags::TARGET_COMP_ID, b"CROSSLINE")
        .uint(tags::MSG_SEQ_NUM, 2)
        .str(tags::SENDING_TIME, b"20261205-14:30:00.000123")
        .str(tags::CL_ORD_ID, b"B-2")
        .str(tags::SYMBOL, b"AAPL")
        .char(tags::SIDE, b'1')
        .uint(tags::ORDER_QTY, 100)
        .char(tags::ORD_TYPE, b'2')
        .str(tags::PRICE, b"190.00")
        .char(tags::TIME_IN_FORCE, b'0')
        .str(tags::TRANSACT_TIME, b"20261205-14:30:00.000123");
    encoder.finish().expect("fits").to_vec()
}

/// Crossline: parse and read the order's fields; ns per message.
fn crossline_parse(wire: &[u8], iterations: u64) -> f64 {
    let start = Instant::now();
    let mut sink = 0u64;
    for _ in 0..iterations {
        let message = Message::parse(black_box(wire)).expect("parses");
        sink += message.get(tags::CL_ORD_ID).map_or(0, |v| v.len() as u64);
        sink += message.get(tags::SYMBOL).map_or(0, |v| v.len() as u64);
        sink += u64::from(message.char(tags::SIDE).ok().flatten().unwrap_or(0));
        sink += message.uint(tags::ORDER_QTY).ok().flatten().unwrap_or(0);
        sink += message
            .micros(tags::PRICE)
            .ok()
            .flatten()
            .unwrap_or(0)
            .unsigned_abs();
    }
    black_box(sink);
    start.elapsed().as_nanos() as f64 / iterations as f64
}

/// Crossline: the execution report QuickFIX's side builds, field for field; ns each.
fn crossline_encode(iterations: u64) -> f64 {
    let mut buffer = [0u8; 1024];
    let start = Instant::now();
    let mut sink = 0usize;
    for sequence in 1..=iterations {
        let mut encoder = Encoder::new(&mut buffer, b"FIX.4.4", b"8");
        encoder
            .str(tags::SENDER_COMP_ID, b"CROSSLINE")
            .str(tags::TARGET_COMP_ID, b"OMS1")
            .uint(tags::MSG_SEQ_NUM, black_box(sequence))
            .timestamp(tags::SENDING_TIME, black_box(1_796_481_000_000_123_000))
            .uint(tags::ACCOUNT, 5)
            .uint(tags::ORDER_ID, 3)
            .str(tags::CL_ORD_ID, b"B-2")
            .str(tags::EXEC_ID, b"3.2")
            .char(tags::EXEC_TYPE, b'F')
            .char(tags::ORD_STATUS, b'2')
            .str(tags::SYMBOL, b"AAPL")
            .char(tags::SIDE, b'1')
            .uint(tags::ORDER_QTY, 100)
            .char(tags::ORD_TYPE, b'2')
            .micros(tags::PRICE, 190_000_000)
            .char(tags::TIME_IN_FORCE, b'0')
            .uint(tags::LAST_SHARES, 100)
            .micros(tags::LAST_PX, black_box(190_005_000))
            .char(tags::LAST_CAPACITY, b'4')
            .str(tags::LAST_MKT, b"XCRL")
            .char(tags::LAST_LIQUIDITY_IND, b'2')
            .micros(tags::PRICE_IMPROVEMENT, 5_000)
            .uint(tags::LEAVES_QTY, 0)
            .uint(tags::CUM_QTY, 100)
            .micros(tags::AVG_PX, 190_005_000)
            .timestamp(tags::TRANSACT_TIME, 1_796_481_000_000_123_000);
        sink += encoder.finish().expect("fits").len();
    }
    black_box(sink);
    start.elapsed().as_nanos() as f64 / iterations as f64
}

/// The floor: copying the message's bytes; ns each.
fn copy_floor(wire: &[u8], iterations: u64) -> f64 {
    let mut buffer = vec![0u8; wire.len()];
    let start = Instant::now();
    for _ in 0..iterations {
        buffer.copy_from_slice(black_box(wire));
        black_box(&mut buffer);
    }
    start.elapsed().as_nanos() as f64 / iterations as f64
}

fn quickfix(program: &str, args: &[&str]) -> Result<f64, String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .strip_prefix("ns_per_op ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            format!(
                "{program} {args:?}: unexpected output {text:?} ({})",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("fix benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    let Ok(program) = std::env::var("CROSSLINE_QUICKFIX_BENCH") else {
        eprintln!(
            "fix benchmark: CROSSLINE_QUICKFIX_BENCH is not set; run it as scripts/bench.sh fix"
        );
        return ExitCode::from(2);
    };
    let rounds = options.rounds.unwrap_or(if options.quick { 5 } else { 9 });
    let iterations: u64 = if options.quick { 20_000 } else { 300_000 };
    let wire = new_order_single();
    let visible = String::from_utf8_lossy(&wire).replace('\u{1}', "|");
    let count = iterations.to_string();
    let (mut parse, mut qf_parse, mut encode, mut qf_encode, mut floor) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    // Warm-up: caches, branch predictors, the CPU's clock.
    crossline_parse(&wire, iterations / 4);
    crossline_encode(iterations / 4);
    for round in 0..rounds {
        parse.push(crossline_parse(&wire, iterations));
        match quickfix(&program, &["parse", &count, &visible]) {
            Ok(ns) => qf_parse.push(ns),
            Err(error) => {
                eprintln!("fix benchmark: {error}");
                return ExitCode::FAILURE;
            }
        }
        encode.push(crossline_encode(iterations));
        match quickfix(&program, &["encode", &count]) {
            Ok(ns) => qf_encode.push(ns),
            Err(error) => {
                eprintln!("fix benchmark: {error}");
                return ExitCode::FAILURE;
            }
        }
        floor.push(copy_floor(&wire, iterations));
        println!(
            "round {}: parse {:.1} ns (QuickFIX {:.1}), encode {:.1} ns (QuickFIX {:.1}), copy {:.1} ns",
            round + 1,
            parse[round],
            qf_parse[round],
            encode[round],
            qf_encode[round],
            floor[round]
        );
    }
    let (wire_rounds, wire_seconds) = if options.quick { (1, 0.3) } else { (5, 1.0) };
    let (wire_results, wire_ratios) = match wire_round_trip(wire_rounds, wire_seconds) {
        Ok(figures) => figures,
        Err(error) => {
            eprintln!("fix benchmark: wire round trip: {error}");
            return ExitCode::FAILURE;
        }
    };
    let per_round = |ours: &[f64], theirs: &[f64]| -> Vec<f64> {
        ours.iter().zip(theirs).map(|(o, t)| t / o).collect()
    };
    let results = json!({
        "message_bytes": wire.len(),
        "iterations_per_round": iterations,
        "rounds": rounds,
        "parse_ns": median(&parse),
        "quickfix_parse_ns": median(&qf_parse),
        "encode_ns": median(&encode),
        "quickfix_encode_ns": median(&qf_encode),
        "copy_floor_ns": median(&floor),
        "parse_messages_per_s": 1e9 / median(&parse),
        "encode_messages_per_s": 1e9 / median(&encode),
    });
    let mut ratios = json!({
        "parse_vs_quickfix": median(&per_round(&parse, &qf_parse)),
        "encode_vs_quickfix": median(&per_round(&encode, &qf_encode)),
        "parse_over_copy_floor": median(&per_round(&floor, &parse)),
    });
    let mut results = results;
    if let (Some(r), Some(q)) = (results.as_object_mut(), ratios.as_object_mut()) {
        r.extend(wire_results);
        q.extend(wire_ratios);
    }
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    println!("results: {}", pretty(&results));
    println!("ratios: {}", pretty(&ratios));
    match report::write("fix", results, ratios, report::machine(&[])) {
        Ok(path) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("fix benchmark: {error}");
            ExitCode::FAILURE
        }
    }
}
