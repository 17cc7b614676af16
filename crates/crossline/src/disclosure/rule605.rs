//! Rule 605 (17 CFR 242.605, as amended by Release 34-99679 in 2024): the detailed
//! monthly report of 605(a)(1), pipe-delimited in the 55 columns of the Rule 605 NMS
//! Plan's Exhibit A, one row per symbol × lot size × order size × order type; and the
//! summary report of 605(a)(2) in the SEC's OES comma-delimited format. Which column
//! implements which paragraph, and what this engine cannot supply, is in
//! `docs/REPORTS.md`.

use std::collections::BTreeMap;

use crossline_types::{OrderType, TimeInForce};

use super::tape::{Fill, Order, Tape, HORIZONS_NS};
use super::Period;

/// The order size categories by notional value at receipt (shares × NBBO midpoint),
/// dollars: the lower bound of each, which is also its code in the files.
pub const SIZE_CODES: [u64; 8] = [0, 250, 1_000, 5_000, 10_000, 20_000, 50_000, 200_000];

/// The time-to-execution buckets' upper bounds, nanoseconds from the moment the order
/// became executable; the last bucket takes the rest.
pub const TIME_BUCKETS_NS: [u64; 7] = [
    100_000,
    1_000_000,
    10_000_000,
    1_000_000_000,
    10_000_000_000,
    30_000_000_000,
    300_000_000_000,
];

/// The realized-spread horizons, as indexes into [`HORIZONS_NS`]: 50 ms, 1 s, 15 s,
/// 1 min, 5 min.
pub const REALIZED_HORIZONS: [usize; 5] = [0, 2, 4, 5, 6];

/// The detailed report's column names, in the file's order (the Plan's Exhibit A).
pub const DETAILED_COLUMNS: [&str; 55] = [
    "DsgntParticipant",
    "RprtEntityCd",
    "RptDate",
    "Symbol",
    "LotSizeFlag",
    "OrderSize",
    "OrderType",
    "CvrdOrderCnt",
    "CvrdOrderSize",
    "CvrdOrderQty",
    "CvrdOrderCnclQty",
    "CvrdOrderExctdQty",
    "CvrdOrderExctdAwayQty",
    "CvrdOrderQtyto100microsec",
    "CvrdOrderQtyto1millisec",
    "CvrdOrderQtyto10millisec",
    "CvrdOrderQtyto1sec",
    "CvrdOrderQtyto10sec",
    "CvrdOrderQtyto30sec",
    "CvrdOrderQtyto5min",
    "CvrdOrderQtyOthr",
    "AvgRealSprd50millisec",
    "AvgRealSprdPct50millisec",
    "AvgRealSprd1sec",
    "AvgRealSprdPct1sec",
    "AvgRealSprd15sec",
    "AvgRealSprdPct15sec",
    "AvgRealSprd1min",
    "AvgRealSprdPct1min",
    "AvgRealSprd5min",
    "AvgRealSprdPct5min",
    "ExctdOrderMidPtAvg",
    "ExctdOrderAvgQuotSprd",
    "AvgEffctvSprd",
    "AvgEffctvSprdPct",
    "AvgEFQPct",
    "ExctdPIOrdersQty",
    "ExctdPIOrdWghtdAvgAmtPerShare",
    "ExctdPIOrdWghtdAvgTime",
    "ExctdOrderAtQuotQty",
    "ExctdAtQuotOrdWghtdAvgTime",
    "ExctdOrderOutQuotQty",
    "ExctdOutQuotOrdWghtdAvgAmt",
    "ExctdOutQuotOrdWghtdAvgTime",
    "ExctdPIOrderRltvBestPrQty",
    "ExctdPIOrderRltvBestPrWghtdAvg",
    "ExctdOrderAtBestPrQty",
    "ExctdOrderOutBestPrQty",
    "ExctdOrderOutBestPrWghtdAvgAmt",
    "ExctdOrderSizeBnchmrkQty",
    "ExctdSIOutsizedQty",
    "FilledOrderCnt",
    "RegExctdOrderQty",
    "RegExctdOrderOnXchngQty",
    "FilledOrderWghtdAvgTime",
];

/// The summary report's column names (the SEC's OES specification).
pub const SUMMARY_COLUMNS: [&str; 18] = [
    "DsgntParticipant",
    "RprtEntityCd",
    "RptDate",
    "Sp500",
    "OrderSize",
    "OrderType",
    "AvgOrderQty",
    "AvgOrderSize",
    "ExctdOrderMidPtAvg",
    "PctExctdAtQuotOrBetter",
    "PctExctdPI",
    "WghtdAvgPctPI",
    "AvgEffctvSprdPct",
    "AvgPctQuotSprd",
    "AvgEFQPct",
    "AvgRealSprdPct15sec",
    "AvgRealSprdPct1min",
    "WghtdAvgExctnTime",
];

/// A covered order's Rule 605 order type code, from its terms and the NBBO at receipt.
#[must_use]
pub fn order_type_code(order: &Order) -> &'static str {
    let ioc = matches!(
        order.time_in_force,
        TimeInForce::ImmediateOrCancel | TimeInForce::FillOrKill
    );
    match order.order_type {
        OrderType::Market => "MXXNN",
        OrderType::Limit if order.marketable_against(&order.nbbo) => {
            if ioc {
                "LYNYN"
            } else {
                "LYNNN"
            }
        }
        OrderType::Limit if order.midpoint_or_better() => {
            if ioc {
                "LNYYN"
            } else {
                "LNYNN"
            }
        }
        OrderType::Limit => {
            if ioc {
                "LNNYN"
            } else {
                "LNNNN"
            }
        }
    }
}

/// Whether the spread and price-improvement statistics apply to an order type: market,
/// marketable limit and marketable IOC orders (605(a)(1)(ii)).
#[must_use]
pub fn marketable_code(code: &str) -> bool {
    matches!(code, "MXXNN" | "LYNNN" | "LYNYN")
}

/// The order's notional value at receipt, micro-dollars: shares × the NBBO midpoint (a
/// limit order received without a usable NBBO: × its limit).
#[must_use]
pub fn notional_micros(order: &Order) -> i128 {
    let mid2 = order.nbbo.mid2();
    let price2 = if mid2 > 0 { mid2 } else { 2 * order.limit };
    i128::from(order.quantity) * i128::from(price2) / 2
}

/// The size category code of a notional value (micro-dollars).
#[must_use]
pub fn size_code(notional_micros: i128) -> u64 {
    let dollars = notional_micros / 1_000_000;
    SIZE_CODES
        .iter()
        .rev()
        .copied()
        .find(|code| dollars >= i128::from(*code))
        .unwrap_or(0)
}

/// The lot size flag: `ROUND` for an order of at least one round lot (100 shares up to
/// $250 a share, 40 up to $1,000, 10 up to $10,000, else 1; the price is the midpoint at
/// receipt), `ODD` below.
#[must_use]
pub fn lot_flag(order: &Order) -> &'static str {
    let price = order.nbbo.mid2() / 2;
    let round_lot = match price {
        p if p <= 250_000_000 => 100,
        p if p <= 1_000_000_000 => 40,
        p if p <= 10_000_000_000 => 10,
        _ => 1,
    };
    if order.quantity >= round_lot {
        "ROUND"
    } else {
        "ODD"
    }
}

/// Why an order is not covered by Rule 605, if it is not: a market order (or a
/// marketable limit order) received with no usable NBBO, or a non-marketable order
/// that never became executable.
#[must_use]
pub fn not_covered(order: &Order) -> Option<&'static str> {
    if !order.nbbo.usable() && (order.order_type == OrderType::Market || order.limit == 0) {
        return Some("no NBBO at receipt");
    }
    if order.executable_ns == 0 {
        return Some("never executable");
    }
    None
}

/// One row's sums (every figure a share-weighted sum; averages are taken on output).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Covered orders.
    pub orders: u64,
    /// Σ notional at receipt, micro-dollars.
    pub notional: i128,
    /// Σ shares ordered.
    pub shares: u64,
    /// Σ shares cancelled.
    pub cancelled: u64,
    /// Σ shares executed here and away.
    pub here: u64,
    /// Σ shares executed at other venues.
    pub away: u64,
    /// Shares executed per time bucket.
    pub buckets: [u64; 8],
    /// Per realized horizon: shares with a midpoint then, Σ shares × realized spread
    /// (micro-dollars), Σ shares × realized spread ÷ midpoint.
    pub realized: [(u64, i128, f64); 5],
    /// Shares executed with a usable NBBO at receipt.
    pub quoted_shares: u64,
    /// Σ shares × midpoint at receipt, micro-dollars.
    pub mid: i128,
    /// Σ shares × quoted spread at receipt, micro-dollars.
    pub quoted: i128,
    /// Σ shares × effective spread, micro-dollars.
    pub effective: i128,
    /// Σ shares × effective spread ÷ midpoint.
    pub effective_pct: f64,
    /// Price-improved shares, Σ shares × improvement (micro-dollars), Σ shares × ns.
    pub improved: (u64, i128, u128),
    /// At-the-quote shares and Σ shares × ns.
    pub at_quote: (u64, u128),
    /// Outside-the-quote shares, Σ shares × amount outside (micro-dollars), Σ shares × ns.
    pub outside: (u64, i128, u128),
    /// Σ size-improvement benchmark (displayed size at the far side at receipt) over
    /// executed orders, and shares executed at or better than the quote beyond it.
    pub size_benchmark: (u64, u64),
    /// Orders with an execution.
    pub filled_orders: u64,
    /// Σ shares × ns from executable to execution, over every executed share.
    pub time: u128,
}

/// The detailed report's rows, by (symbol, lot flag, size code, order type code).
pub type Rows = BTreeMap<(String, &'static str, u64, &'static str), Row>;

/// The amended Rule 605 report of one month.
#[derive(Debug, Default)]
pub struct Report605 {
    /// `YYYYMM`.
    pub month: String,
    /// The designated participant code and the reporting entity code.
    pub reporter: (String, String),
    /// The detailed rows.
    pub rows: Rows,
    /// Orders received in the month that are not covered, by why.
    pub not_covered: BTreeMap<&'static str, u64>,
}

impl Report605 {
    /// The report for the orders received in `period` (a month).
    #[must_use]
    pub fn compute(tape: &Tape, period: &Period, participant: &str, entity: &str) -> Report605 {
        let mut report = Report605 {
            month: period.label.replace('-', ""),
            reporter: (participant.to_owned(), entity.to_owned()),
            ..Report605::default()
        };
        let mut keys: Vec<Option<(String, &'static str, u64, &'static str)>> =
            vec![None; tape.orders.len()];
        let mut at_or_better: Vec<u64> = vec![0; tape.orders.len()];
        for (index, order) in tape.orders.iter().enumerate() {
            if !period.contains(order.received_ns) {
                continue;
            }
            if let Some(why) = not_covered(order) {
                *report.not_covered.entry(why).or_default() += 1;
                continue;
            }
            let notional = notional_micros(order);
            let key = (
                tape.symbol(order.symbol).to_owned(),
                lot_flag(order),
                size_code(notional),
                order_type_code(order),
            );
            let row = report.rows.entry(key.clone()).or_default();
            row.orders += 1;
            row.notional += notional;
            row.shares += u64::from(order.quantity);
            row.cancelled += u64::from(order.cancelled);
            row.filled_orders += u64::from(order.filled > 0);
            keys[index] = Some(key);
        }
        for fill in &tape.fills {
            let Some(key) = &keys[fill.order as usize] else {
                continue;
            };
            let order = tape.order_of(fill);
            let row = report.rows.get_mut(key).expect("every key has a row");
            add_fill(row, order, fill);
            if order.nbbo.usable() && improvement(order, fill) >= 0 {
                at_or_better[fill.order as usize] += u64::from(fill.shares);
            }
        }
        for (index, order) in tape.orders.iter().enumerate() {
            let Some(key) = &keys[index] else { continue };
            if order.filled == 0 || !marketable_code(key.3) || !order.nbbo.usable() {
                continue;
            }
            let benchmark = u64::from(if order.buys() {
                order.nbbo.ask_size
            } else {
                order.nbbo.bid_size
            });
            let row = report.rows.get_mut(key).expect("every key has a row");
            row.size_benchmark.0 += benchmark;
            if u64::from(order.quantity) > benchmark {
                row.size_benchmark.1 += at_or_better[index].saturating_sub(benchmark);
            }
        }
        report
    }

    /// The detailed report as its pipe-delimited file: a header row of
    /// [`DETAILED_COLUMNS`], then one row per category, CRLF line ends.
    #[must_use]
    pub fn detailed(&self) -> String {
        let mut text = DETAILED_COLUMNS.join("|");
        text.push_str("\r\n");
        for ((symbol, lot, size, code), row) in &self.rows {
            let mut fields: Vec<String> = vec![
                self.reporter.0.clone(),
                self.reporter.1.clone(),
                self.month.clone(),
                symbol.clone(),
                (*lot).to_owned(),
                size.to_string(),
                (*code).to_owned(),
                row.orders.to_string(),
                dollars(row.notional),
                row.shares.to_string(),
                row.cancelled.to_string(),
                row.here.to_string(),
                row.away.to_string(),
            ];
            fields.extend(row.buckets.iter().map(u64::to_string));
            let spreads = marketable_code(code);
            for (shares, sum, pct) in row.realized {
                fields.push(only(spreads, per_share(sum, shares)));
                fields.push(only(spreads, ratio(pct, shares)));
            }
            let executed = row.quoted_shares;
            fields.push(only(spreads, per_share(row.mid, executed)));
            fields.push(only(spreads, per_share(row.quoted, executed)));
            fields.push(only(spreads, per_share(row.effective, executed)));
            fields.push(only(spreads, ratio(row.effective_pct, executed)));
            fields.push(only(
                spreads,
                (row.quoted > 0).then(|| decimal(row.effective as f64 / row.quoted as f64)),
            ));
            let improvement = [
                row.improved.0.to_string(),
                per_share(row.improved.1, row.improved.0).unwrap_or_default(),
                millis(row.improved.2, row.improved.0),
                row.at_quote.0.to_string(),
                millis(row.at_quote.1, row.at_quote.0),
                row.outside.0.to_string(),
                per_share(row.outside.1, row.outside.0).unwrap_or_default(),
                millis(row.outside.2, row.outside.0),
            ];
            fields.extend(improvement.into_iter().map(|f| only(spreads, Some(f))));
            // The best available displayed price: the feed has no odd-lot quotations,
            // so it is the NBBO and these repeat the NBBO figures (docs/REPORTS.md).
            let best = [
                row.improved.0.to_string(),
                per_share(row.improved.1, row.improved.0).unwrap_or_default(),
                row.at_quote.0.to_string(),
                row.outside.0.to_string(),
                per_share(row.outside.1, row.outside.0).unwrap_or_default(),
            ];
            fields.extend(best.into_iter().map(|f| only(spreads, Some(f))));
            fields.push(only(spreads, Some(row.size_benchmark.0.to_string())));
            fields.push(only(spreads, Some(row.size_benchmark.1.to_string())));
            fields.push(row.filled_orders.to_string());
            fields.push((row.here + row.away).to_string());
            fields.push(row.away.to_string());
            fields.push(millis(row.time, row.here + row.away));
            text.push_str(&fields.join("|"));
            text.push_str("\r\n");
        }
        text
    }

    /// The summary report (605(a)(2)) in the OES comma-delimited format: market (`M`)
    /// and marketable limit (`ML`, not IOC) orders, per S&P 500 flag and size category,
    /// plus the `199999` rows (every size under $200,000).
    #[must_use]
    pub fn summary(&self, sp500: &[String]) -> String {
        let mut groups: BTreeMap<(&'static str, u64, &'static str), Row> = BTreeMap::new();
        for ((symbol, _, size, code), row) in &self.rows {
            let kind = match *code {
                "MXXNN" => "M",
                "LYNNN" => "ML",
                _ => continue,
            };
            let flag = if sp500.contains(symbol) { "Y" } else { "N" };
            let mut targets = vec![*size];
            if *size < 200_000 {
                targets.push(199_999);
            }
            for size in targets {
                merge(groups.entry((flag, size, kind)).or_default(), row);
            }
        }
        let mut text = SUMMARY_COLUMNS.join(",");
        text.push_str("\r\n");
        for ((flag, size, kind), row) in &groups {
            let executed = row.quoted_shares;
            let avg_mid = (executed > 0).then(|| row.mid as f64 / executed as f64);
            let pi_net = row.improved.1 - row.outside.1;
            let fields = [
                self.reporter.0.clone(),
                self.reporter.1.clone(),
                self.month.clone(),
                (*flag).to_owned(),
                size.to_string(),
                (*kind).to_owned(),
                ratio(row.shares as f64, row.orders).unwrap_or_default(),
                ratio(row.notional as f64 / 1e6, row.orders).unwrap_or_default(),
                per_share(row.mid, executed).unwrap_or_default(),
                ratio((row.improved.0 + row.at_quote.0) as f64, executed).unwrap_or_default(),
                ratio(row.improved.0 as f64, executed).unwrap_or_default(),
                if row.mid > 0 {
                    decimal(pi_net as f64 / row.mid as f64)
                } else {
                    String::new()
                },
                ratio(row.effective_pct, executed).unwrap_or_default(),
                avg_mid
                    .filter(|m| *m > 0.0)
                    .map(|m| decimal(row.quoted as f64 / executed as f64 / m))
                    .unwrap_or_default(),
                if row.quoted > 0 {
                    decimal(row.effective as f64 / row.quoted as f64)
                } else {
                    String::new()
                },
                ratio(row.realized[2].2, row.realized[2].0).unwrap_or_default(),
                ratio(row.realized[3].2, row.realized[3].0).unwrap_or_default(),
                millis(row.time, row.here + row.away),
            ];
            text.push_str(&fields.join(","));
            text.push_str("\r\n");
        }
        text
    }
}

/// How much better than the NBBO at receipt a fill's price is, micro-dollars per share
/// (negative: outside the quote).
#[must_use]
pub fn improvement(order: &Order, fill: &Fill) -> i64 {
    if order.buys() {
        order.nbbo.ask - fill.price
    } else {
        fill.price - order.nbbo.bid
    }
}

fn add_fill(row: &mut Row, order: &Order, fill: &Fill) {
    let shares = u64::from(fill.shares);
    if fill.place.in_house() {
        row.here += shares;
    } else {
        row.away += shares;
    }
    let waited = fill.time_ns.saturating_sub(order.executable_ns);
    let bucket = TIME_BUCKETS_NS
        .iter()
        .position(|bound| waited < *bound)
        .unwrap_or(TIME_BUCKETS_NS.len());
    row.buckets[bucket] += shares;
    let weighted_ns = u128::from(shares) * u128::from(waited);
    row.time += weighted_ns;
    let mid2 = order.nbbo.mid2();
    if mid2 == 0 {
        return;
    }
    let n = i128::from(fill.shares);
    let sign: i64 = if order.buys() { 1 } else { -1 };
    let mid = mid2 as f64 / 2.0;
    for (slot, horizon) in row.realized.iter_mut().zip(REALIZED_HORIZONS) {
        let after = fill.mid2_after[horizon];
        if after > 0 {
            // 2 × D × (price − midpoint then), D = +1 for a buy.
            let spread = i128::from(sign * (2 * fill.price - after));
            slot.0 += shares;
            slot.1 += n * spread;
            slot.2 += fill.shares as f64 * spread as f64 / mid;
        }
    }
    row.quoted_shares += shares;
    row.mid += n * i128::from(mid2) / 2;
    row.quoted += n * i128::from(order.nbbo.ask - order.nbbo.bid);
    let effective = i128::from(sign * (2 * fill.price - mid2));
    row.effective += n * effective;
    row.effective_pct += fill.shares as f64 * effective as f64 / mid;
    let better = improvement(order, fill);
    match better {
        b if b > 0 => {
            row.improved.0 += shares;
            row.improved.1 += n * i128::from(b);
            row.improved.2 += weighted_ns;
        }
        0 => {
            row.at_quote.0 += shares;
            row.at_quote.1 += weighted_ns;
        }
        b => {
            row.outside.0 += shares;
            row.outside.1 += n * i128::from(-b);
            row.outside.2 += weighted_ns;
        }
    }
}

fn merge(into: &mut Row, row: &Row) {
    into.orders += row.orders;
    into.notional += row.notional;
    into.shares += row.shares;
    into.cancelled += row.cancelled;
    into.here += row.here;
    into.away += row.away;
    for (a, b) in into.buckets.iter_mut().zip(row.buckets) {
        *a += b;
    }
    for (a, b) in into.realized.iter_mut().zip(row.realized) {
        a.0 += b.0;
        a.1 += b.1;
        a.2 += b.2;
    }
    into.quoted_shares += row.quoted_shares;
    into.mid += row.mid;
    into.quoted += row.quoted;
    into.effective += row.effective;
    into.effective_pct += row.effective_pct;
    into.improved.0 += row.improved.0;
    into.improved.1 += row.improved.1;
    into.improved.2 += row.improved.2;
    into.at_quote.0 += row.at_quote.0;
    into.at_quote.1 += row.at_quote.1;
    into.outside.0 += row.outside.0;
    into.outside.1 += row.outside.1;
    into.outside.2 += row.outside.2;
    into.size_benchmark.0 += row.size_benchmark.0;
    into.size_benchmark.1 += row.size_benchmark.1;
    into.filled_orders += row.filled_orders;
    into.time += row.time;
}

/// A number with up to six decimals, trailing zeros dropped (the formats' precision).
fn decimal(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

fn dollars(micros: i128) -> String {
    decimal(micros as f64 / 1e6)
}

/// A share-weighted sum of micro-dollars as dollars per share.
fn per_share(sum_micros: i128, shares: u64) -> Option<String> {
    (shares > 0).then(|| decimal(sum_micros as f64 / 1e6 / shares as f64))
}

fn ratio(sum: f64, count: u64) -> Option<String> {
    (count > 0).then(|| decimal(sum / count as f64))
}

/// A share-weighted sum of nanoseconds as average milliseconds (empty for no shares).
fn millis(sum_ns: u128, shares: u64) -> String {
    if shares == 0 {
        return String::new();
    }
    decimal(sum_ns as f64 / 1e6 / shares as f64)
}

fn only(applies: bool, value: Option<String>) -> String {
    if applies {
        value.unwrap_or_default()
    } else {
        String::new()
    }
}

/// The realized-spread horizons' values, for the documentation's table check.
#[must_use]
pub fn realized_horizons_ns() -> [u64; 5] {
    REALIZED_HORIZONS.map(|h| HORIZONS_NS[h])
}
