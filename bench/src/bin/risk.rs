//! `scripts/bench.sh risk [--quick]`: the cost of the risk gate's full pre-trade check.
//!
//! Every control is enabled: 100 clients and 1,000 symbols with NBBOs, tiered collars,
//! limit-up/limit-down bands on every symbol, Rule 201 on a tenth of them, locates for
//! every short sale (`locate_pairs` client-symbol pairs), credit limits, the message rate
//! and the duplicate-id memory. Each client numbers its orders upwards (1, 2, 3, …, as
//! a session does); a second stream with random 63-bit client order ids, timed the same
//! way in every round, measures the gate when every duplicate check takes the
//! out-of-order path (`check_ns_p50_random_ids`). The
//! orders (limit and market, buys, sells and short sales, priced inside the collar and
//! the band) pass every control, so each check walks the whole list and books the
//! order; after each check the matcher's answer is fed back (a fill or a cancel,
//! untimed), so the open-order table and credit stay in a steady state.
//!
//! Each check is timed on its own with the TSC, and the cost of reading the clock twice
//! with nothing between (measured the same way, interleaved) is subtracted from the
//! median: `check_ns_p50`. A batch pass without per-check timing gives the mean as a
//! cross-check. The machine's limit: a dependent random read in a buffer the size of
//! the gate's tables.
// Measurement arithmetic converts between f64 and integer nanoseconds and counts far
// inside both ranges; truncation there is rounding, on purpose.
#![allow(clippy::cast_possible_truncation)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crossline_bench::clock::Clock;
use crossline_bench::stats::{latency_histogram, median, Percentiles};
use crossline_bench::{memory, pin_current_thread, report, Options};
use crossline_matcher::{CancelReason, Contra, Event, Execution, NbboPrices};
use crossline_risk::{ClientLimits, CollarTier, RiskConfig, RiskGate, SymbolRisk};
use crossline_types::{
    Capacity, ClientId, ClientOrderId, LiquiditySource, NewOrder, OrderId, OrderType, Price,
    Quantity, Quote, Side, SymbolId, TimeInForce, Timestamp,
};
use hdrhistogram::Histogram;
use serde_json::{json, Map, Value};

const CLIENTS: u32 = 100;
const SYMBOLS: u32 = 1_000;
const DOLLAR: i64 = 1_000_000;

fn config() -> RiskConfig {
    RiskConfig {
        clients: (1..=CLIENTS)
            .map(|client| ClientLimits {
                client: ClientId::new(client),
                credit_limit: Price::from_micros(100_000_000_000 * DOLLAR),
                order_quantity_max: Quantity::new(50_000),
                order_notional_max: Price::from_micros(1_000_000 * DOLLAR),
                messages_per_second: 100_000,
                message_burst: 10_000,
                market_order_adv_ppm: 10_000,
                client_order_ids_max: 1 << 15,
            })
            .collect(),
        symbols: (0..SYMBOLS)
            .map(|symbol| SymbolRisk {
                symbol: SymbolId::new(symbol),
                average_daily_volume: 10_000_000,
                restricted: false,
            })
            .collect(),
        collar: vec![
            CollarTier {
                below: Price::from_micros(DOLLAR),
                ppm: 200_000,
                minimum: Price::from_micros(10_000),
            },
            CollarTier {
                below: Price::from_micros(25 * DOLLAR),
                ppm: 100_000,
                minimum: Price::from_micros(50_000),
            },
            CollarTier {
                below: Price::from_micros(50 * DOLLAR),
                ppm: 50_000,
                minimum: Price::from_micros(100_000),
            },
            CollarTier {
                below: Price::MAX,
                ppm: 30_000,
                minimum: Price::from_micros(200_000),
            },
        ],
        orders_max: 1 << 16,
        locates_max: CLIENTS * SYMBOLS,
    }
}

/// $10–$200, in cents.
fn mid_micros(symbol: u32) -> i64 {
    (1_000 + (i64::from(symbol) * 7_919) % 19_000) * 10_000
}

fn gate() -> RiskGate {
    let mut gate = RiskGate::new(&config()).expect("valid risk configuration");
    for symbol in 0..SYMBOLS {
        let id = SymbolId::new(symbol);
        let mid = mid_micros(symbol);
        gate.on_nbbo(&Quote {
            symbol: id,
            bid_size: Quantity::new(500),
            bid: Price::from_micros(mid - 10_000),
            ask: Price::from_micros(mid + 10_000),
            ask_size: Quantity::new(500),
        });
        let band = (
            Price::from_micros(mid * 9 / 10),
            Price::from_micros(mid * 11 / 10),
        );
        gate.set_band(id, Some(band)).expect("configured symbol");
        gate.set_rule_201(id, symbol % 10 == 0)
            .expect("configured symbol");
    }
    gate
}

/// How the benchmark's clients number their orders.
#[derive(Clone, Copy)]
enum Ids {
    /// Each client numbers its orders 1, 2, 3, … (as sessions do).
    PerClient,
    /// Random 63-bit ids: every duplicate check takes the out-of-order path.
    Random,
}

/// Orders that pass every control (xorshift-generated, with fresh client order ids).
fn orders(count: usize, ids: Ids) -> Vec<NewOrder> {
    let mut random = crossline_testkit::Xorshift::new(0x9E37_79B9_7F4A_7C15u64);
    let mut numbering = crossline_testkit::Xorshift::new(0x2545_F491_4F6C_DD1Du64);
    let mut next_id = vec![0u64; CLIENTS as usize + 1];
    (0..count as u64)
        .map(|_| {
            let state = random.next();
            let client = 1 + ((state >> 40) % u64::from(CLIENTS)) as u32;
            let client_order_id = match ids {
                Ids::PerClient => {
                    next_id[client as usize] += 1;
                    next_id[client as usize]
                }
                Ids::Random => numbering.next() >> 1,
            };
            let symbol = (state % u64::from(SYMBOLS)) as u32;
            let mid = mid_micros(symbol);
            let side = [Side::Buy, Side::Sell, Side::SellShort][((state >> 16) % 3) as usize];
            let market = (state >> 24) % 10 == 0 && side != Side::SellShort;
            // Inside the collar and the band; a short sale above the bid (Rule 201).
            let offset = ((state >> 32) % 5) as i64 * 10_000;
            let price = if side.is_buy() {
                mid - offset
            } else {
                mid + 10_000 + offset
            };
            NewOrder {
                client: ClientId::new(client),
                symbol: SymbolId::new(symbol),
                client_order_id: ClientOrderId::new(client_order_id),
                price: if market {
                    Price::ZERO
                } else {
                    Price::from_micros(price)
                },
                quantity: Quantity::new(100 * (1 + ((state >> 48) % 10) as u32)),
                side,
                order_type: if market {
                    OrderType::Market
                } else {
                    OrderType::Limit
                },
                time_in_force: TimeInForce::Day,
                capacity: Capacity::Agency,
            }
        })
        .collect()
}

/// The matcher's answer to an accepted order, as it comes back to the gate: alternately
/// a full fill and a cancel.
fn answer(order: &NewOrder, index: usize) -> crossline_types::Message {
    let event = if index % 2 == 0 {
        Event::Filled(Execution {
            order_id: OrderId::new(index as u64),
            client: order.client,
            client_order_id: order.client_order_id,
            symbol: order.symbol,
            side: order.side,
            price: Price::from_micros(mid_micros(order.symbol.get())),
            quantity: order.quantity,
            leaves: Quantity::ZERO,
            liquidity: LiquiditySource::Principal,
            capacity: Capacity::Principal,
            contra: Contra::Firm,
            nbbo_at_receipt: NbboPrices::default(),
            nbbo_at_execution: NbboPrices::default(),
            price_improvement: Price::ZERO,
        })
    } else {
        Event::Cancelled {
            order_id: OrderId::new(index as u64),
            client: order.client,
            client_order_id: order.client_order_id,
            quantity: order.quantity,
            reason: CancelReason::Requested,
        }
    };
    let sequence = crossline_types::SequenceNumber::new(index as u64 + 1);
    event
        .to_back_message(sequence, Timestamp::new(0))
        .expect("fills and cancels go back to the gate")
}

/// Locates for every short sale in `orders`.
fn locate(gate: &mut RiskGate, orders: &[NewOrder]) {
    for order in orders.iter().filter(|order| order.side.is_short()) {
        gate.add_locate(
            order.client,
            order.symbol,
            u64::from(order.quantity.shares()),
        )
        .expect("locate table sized for every pair");
    }
}

/// Per-check times of one pass, raw (the timer's cost included).
struct Timed {
    /// Every check.
    checks: Histogram<u64>,
    /// Short sales only (they also look up a locate).
    short_sales: Histogram<u64>,
    /// Two clock reads with nothing between.
    empty: Histogram<u64>,
}

/// Checks every order, timing each.
fn timed(clock: &Clock, orders: &[NewOrder]) -> Result<Timed, String> {
    let mut gate = gate();
    locate(&mut gate, orders);
    let mut checks = latency_histogram();
    let mut short_sales = latency_histogram();
    let mut empty = latency_histogram();
    for (index, order) in orders.iter().enumerate() {
        let time = Timestamp::new(index as u64 * 10_000);
        let before = clock.now();
        let verdict = gate.check_new_order(time, order);
        let after = clock.now();
        let idle = clock.now();
        let idle_after = clock.now();
        verdict.map_err(|reject| format!("order {index} was refused ({reject}); the benchmark's orders must pass every control"))?;
        let nanos = clock.nanos(after.saturating_sub(before)).round() as u64;
        checks.saturating_record(nanos);
        if order.side.is_short() {
            short_sales.saturating_record(nanos);
        }
        empty.saturating_record(clock.nanos(idle_after.saturating_sub(idle)).round() as u64);
        gate.on_event(&answer(order, index));
    }
    black_box(&gate);
    Ok(Timed {
        checks,
        short_sales,
        empty,
    })
}

/// Checks every order without per-check timing; mean nanoseconds per check.
fn batch(orders: &[NewOrder]) -> f64 {
    let mut gate = gate();
    locate(&mut gate, orders);
    let mut elapsed = Duration::ZERO;
    for (chunk_index, chunk) in orders.chunks(1_024).enumerate() {
        let start = Instant::now();
        for (offset, order) in chunk.iter().enumerate() {
            let time = Timestamp::new((chunk_index * 1_024 + offset) as u64 * 10_000);
            black_box(gate.check_new_order(time, order)).ok();
        }
        elapsed += start.elapsed();
        // The matcher's answers, outside the timed part.
        for (offset, order) in chunk.iter().enumerate() {
            gate.on_event(&answer(order, chunk_index * 1_024 + offset));
        }
    }
    elapsed.as_nanos() as f64 / orders.len() as f64
}

fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("risk benchmark: {error}");
            return ExitCode::from(2);
        }
    };
    if options.cores.is_some() || options.rate_per_s.is_some() {
        eprintln!("risk benchmark: --cores and --rate do not apply (one thread, closed loop)");
        return ExitCode::from(2);
    }
    if let Some(core) = crossline_agent::Cores::detect().ids().first().copied() {
        if let Err(error) = pin_current_thread(core) {
            eprintln!("risk benchmark: {error}; running unpinned");
        }
    }
    let (rounds, count) = if options.quick {
        (5, 200_000)
    } else {
        (7, 1_000_000)
    };
    let rounds = options.rounds.unwrap_or(rounds);
    let clock = Clock::calibrate(Duration::from_millis(200));
    let cpu_share = report::CpuShare::start(1);
    println!("risk benchmark: {rounds} rounds of {count} orders over {CLIENTS} clients and {SYMBOLS} symbols, every control on");
    let orders_per_client = orders(count, Ids::PerClient);
    let orders_random = orders(count, Ids::Random);
    let (mut net_p50, mut raw_all, mut empty_all, mut means, mut chase) = (
        Vec::new(),
        latency_histogram(),
        latency_histogram(),
        Vec::new(),
        Vec::new(),
    );
    let mut net_p50_random = Vec::new();
    let mut shorts_all = latency_histogram();
    let net_of = |checks: &Histogram<u64>, empty: &Histogram<u64>| {
        checks.value_at_quantile(0.5) as f64 - empty.value_at_quantile(0.5) as f64
    };
    for round in 1..=rounds {
        let Timed {
            checks,
            short_sales,
            empty,
        } = match timed(&clock, &orders_per_client) {
            Ok(timed) => timed,
            Err(error) => {
                eprintln!("risk benchmark: {error}");
                return ExitCode::FAILURE;
            }
        };
        let net = net_of(&checks, &empty);
        net_p50.push(net);
        match timed(&clock, &orders_random) {
            Ok(random) => net_p50_random.push(net_of(&random.checks, &random.empty)),
            Err(error) => {
                eprintln!("risk benchmark: {error}");
                return ExitCode::FAILURE;
            }
        }
        raw_all.add(&checks).expect("histograms share bounds");
        shorts_all
            .add(&short_sales)
            .expect("histograms share bounds");
        empty_all.add(&empty).expect("histograms share bounds");
        means.push(batch(&orders_per_client));
        chase.push(memory::random_access_latency_ns(8 << 20, 500_000));
        println!(
            "  round {round}: check p50 {} ns timed, timer {} ns, net {net:.0} ns; batch mean {:.1} ns; random ids net p50 {:.0} ns",
            checks.value_at_quantile(0.5),
            empty.value_at_quantile(0.5),
            means[round - 1],
            net_p50_random[round - 1],
        );
    }
    let mut results = Map::new();
    results.insert("check_ns_p50".into(), json!(median(&net_p50)));
    results.insert("check_ns_p50_by_round".into(), json!(net_p50));
    results.insert("check_ns_mean_batch".into(), json!(median(&means)));
    results.insert(
        "check_ns_p50_random_ids".into(),
        json!(median(&net_p50_random)),
    );
    if let Value::Object(raw) = Percentiles::of(&raw_all).to_json("check_timed_") {
        results.extend(raw);
    }
    results.insert(
        "check_timed_short_sales_p50_ns".into(),
        json!(shorts_all.value_at_quantile(0.5)),
    );
    results.insert(
        "short_sale_share".into(),
        json!(shorts_all.len() as f64 / raw_all.len() as f64),
    );
    let pairs: std::collections::HashSet<(u32, u32)> = orders_per_client
        .iter()
        .filter(|order| order.side.is_short())
        .map(|order| (order.client.get(), order.symbol.get()))
        .collect();
    results.insert("locate_pairs".into(), json!(pairs.len()));
    results.insert(
        "timer_overhead_ns_p50".into(),
        json!(empty_all.value_at_quantile(0.5)),
    );
    results.insert("random_access_8mib_ns".into(), json!(median(&chase)));
    let mut ratios = Map::new();
    ratios.insert(
        "check_p50_vs_random_access".into(),
        json!(median(&net_p50) / median(&chase)),
    );
    report::conclude(
        "risk",
        Value::Object(results),
        Value::Object(ratios),
        &cpu_share,
    )
}
