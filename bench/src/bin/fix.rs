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
//! The wire round trip of the issue (NewOrderSingle to first ExecutionReport at 10k and
//! 50k orders/s beside the binary protocol) is not measured here yet.

use std::hint::black_box;
use std::process::{Command, ExitCode};
use std::time::Instant;

use crossline_bench::stats::median;
use crossline_bench::{report, Options};
use crossline_fix::{tags, Encoder, Message};
use serde_json::json;

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
    let ratios = json!({
        "parse_vs_quickfix": median(&per_round(&parse, &qf_parse)),
        "encode_vs_quickfix": median(&per_round(&encode, &qf_encode)),
        "parse_over_copy_floor": median(&per_round(&floor, &parse)),
    });
    let pretty =
        |value: &serde_json::Value| serde_json::to_string_pretty(value).unwrap_or_default();
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
