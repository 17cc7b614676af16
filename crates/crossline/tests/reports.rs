//! `crossline report` on a small hand-built journal: every figure checked below was
//! worked out by hand from the scenario (in the comments), not by the code under test.
//!
//! The scenario, AAPL with the firm acting as agent only (no principal fills), times
//! from T0 = 2026-11-02 14:30:00 UTC:
//! - T0: NBBO 190.00 × 190.10 (300 × 200 shares), midpoint 190.05.
//! - T0+1ms, order A: client 2 buys 300 at 190.05 (day): not marketable, at the
//!   midpoint (midpoint-or-better, LNYNN), notional 300 × 190.05 = $57,015 (50000).
//! - T0+3ms, order B: client 4 sells 100 at 190.05 (day): LNYNN, $19,005 (10000). It
//!   crosses A in house: 100 at 190.05; A waited 2 ms, B nothing.
//! - T0+10ms, order C: client 1 buys 1,000 at market: MXXNN, $190,050 (50000), routed.
//! - T0+11ms: C's first child, 1,000 shares at BATS (venue 3), ends unfilled.
//! - T0+12ms: XNYS (venue 1) fills 400 of C at 190.10, fee $0.80; at T0+13ms that child
//!   of 1,000 ends.
//! - T0+14ms: XNAS (venue 2) fills 600 of C at 190.09, rebate $1.20; its child of 600
//!   ends at T0+15ms.
//! - T0+500ms: NBBO 190.04 × 190.12 (mid 190.08); T0+2s: 190.10 × 190.20 (mid
//!   190.15); T0+70s: 190.00 × 190.10 (mid 190.05); T0+400s: the same again (the
//!   journal's last record, so the 5-minute horizon falls inside it).

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use crossline_engine::recovery;
use crossline_matcher::VenueFill;
use crossline_sequencer::{Command, Stamped};
use crossline_types::{
    Capacity, ClientId, ClientOrderId, NewOrder, OrderId, OrderType, Price, Quantity, Quote, Side,
    SymbolId, TimeInForce, Timestamp, VenueChild,
};

const CROSSLINE: &str = env!("CARGO_BIN_EXE_crossline");
/// 2026-11-02 14:30:00 UTC.
const T0: u64 = 1_793_629_800_000_000_000;
const MS: u64 = 1_000_000;

/// A price written with at most two decimals (cents).
fn dollars(text: &str) -> Price {
    let (whole, cents) = text.split_once('.').unwrap_or((text, "0"));
    let cents = format!("{cents:0<2}");
    Price::from_micros(
        whole.parse::<i64>().unwrap() * 1_000_000 + cents.parse::<i64>().unwrap() * 10_000,
    )
}

fn quote(bid: &str, ask: &str, bid_size: u32, ask_size: u32) -> Command {
    Command::Nbbo(Quote {
        symbol: SymbolId::new(1),
        bid: dollars(bid),
        ask: dollars(ask),
        bid_size: Quantity::new(bid_size),
        ask_size: Quantity::new(ask_size),
    })
}

fn order(client: u32, id: u64, side: Side, kind: OrderType, price: &str, shares: u32) -> Command {
    Command::NewOrder(NewOrder {
        client: ClientId::new(client),
        symbol: SymbolId::new(1),
        client_order_id: ClientOrderId::new(id),
        price: dollars(price),
        quantity: Quantity::new(shares),
        side,
        order_type: kind,
        time_in_force: TimeInForce::Day,
        capacity: Capacity::Agency,
    })
}

/// Writes the scenario's journal into a new directory and returns it.
fn journal(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("crossline-reports-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = crossline_config::DEFAULT.replace(
        "reference_price = \"190.00\"\n",
        "reference_price = \"190.00\"\nmode = \"agency_only\"\n",
    );
    assert!(config.contains("mode = \"agency_only\""));
    let (mut engine, _) = recovery::open(&dir, &config).unwrap();
    let mut order_c = None;
    let commands: Vec<(u64, Command)> = vec![
        (0, quote("190.00", "190.10", 300, 200)),
        (MS, order(2, 1, Side::Buy, OrderType::Limit, "190.05", 300)),
        (
            3 * MS,
            order(4, 1, Side::Sell, OrderType::Limit, "190.05", 100),
        ),
        (
            10 * MS,
            order(1, 1, Side::Buy, OrderType::Market, "0", 1000),
        ),
    ];
    for (offset, command) in commands {
        let stamped = Stamped {
            time: Timestamp::new(T0 + offset),
            command,
        };
        engine.submit(&stamped, &mut ()).unwrap();
        order_c = Some(engine.sequencer().next_sequence().get() - 1);
    }
    let c = OrderId::new(order_c.unwrap());
    let fill = |shares: u32, price: &str, venue: u8, fee: i64| {
        Command::VenueFill(VenueFill {
            order_id: c,
            quantity: Quantity::new(shares),
            price: dollars(price),
            venue,
            fee: Price::from_micros(fee),
        })
    };
    let child = |venue: u8, sent: u32, filled: u32| {
        Command::VenueChild(VenueChild {
            order_id: c,
            venue,
            quantity: Quantity::new(sent),
            filled: Quantity::new(filled),
            lost: false,
        })
    };
    let later: Vec<(u64, Command)> = vec![
        (11 * MS, child(3, 1000, 0)),
        (12 * MS, fill(400, "190.10", 1, 800_000)),
        (13 * MS, child(1, 1000, 400)),
        (14 * MS, fill(600, "190.09", 2, -1_200_000)),
        (15 * MS, child(2, 600, 600)),
        (500 * MS, quote("190.04", "190.12", 300, 300)),
        (2_000 * MS, quote("190.10", "190.20", 300, 300)),
        (70_000 * MS, quote("190.00", "190.10", 300, 300)),
        (400_000 * MS, quote("190.00", "190.10", 300, 300)),
    ];
    for (offset, command) in later {
        let stamped = Stamped {
            time: Timestamp::new(T0 + offset),
            command,
        };
        engine.submit(&stamped, &mut ()).unwrap();
    }
    drop(engine);
    dir
}

fn report(dir: &Path, args: &[&str]) -> PathBuf {
    let out = dir.join("out");
    let output = Process::new(CROSSLINE)
        .arg("report")
        .args(args)
        .arg("--journal")
        .arg(dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// The rows of a delimited file, each as (column name → value).
fn rows(path: &Path, separator: char) -> Vec<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(separator)
        .map(str::to_owned)
        .collect();
    lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(line.split(separator).map(str::to_owned))
                .collect()
        })
        .collect()
}

fn field<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    &row.iter().find(|(n, _)| n == name).unwrap().1
}

/// A numeric field equal to `expected` within the files' six decimals.
fn near(row: &[(String, String)], name: &str, expected: f64) {
    let value: f64 = field(row, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} = {:?} is not a number", field(row, name)));
    assert!(
        (value - expected).abs() < 1.5e-6,
        "{name}: {value} but worked out {expected}"
    );
}

fn find<'a>(rows: &'a [Vec<(String, String)>], keys: &[(&str, &str)]) -> &'a [(String, String)] {
    rows.iter()
        .find(|row| keys.iter().all(|(name, value)| field(row, name) == *value))
        .unwrap_or_else(|| panic!("no row {keys:?}"))
}

#[test]
fn rule_605_detailed_and_summary_rows_match_the_hand_computed_figures() {
    let dir = journal("605");
    let out = report(&dir, &["605", "--month", "2026-11"]);
    let detailed = rows(&out.join("XCRL202611.txt"), '|');
    assert_eq!(
        detailed.len(),
        3,
        "orders A, B and C, each in its own category"
    );
    assert_eq!(detailed[0].len(), 55);

    // Order C: market, $190,050 notional, routed and filled away.
    let c = find(&detailed, &[("OrderType", "MXXNN"), ("OrderSize", "50000")]);
    for (name, value) in [
        ("DsgntParticipant", "T"),
        ("RprtEntityCd", "XCRL"),
        ("RptDate", "202611"),
        ("Symbol", "AAPL"),
        ("LotSizeFlag", "ROUND"),
        ("CvrdOrderCnt", "1"),
        ("CvrdOrderSize", "190050"),
        ("CvrdOrderQty", "1000"),
        ("CvrdOrderCnclQty", "0"),
        ("CvrdOrderExctdQty", "0"),
        ("CvrdOrderExctdAwayQty", "1000"),
        ("CvrdOrderQtyto100microsec", "0"),
        ("CvrdOrderQtyto1millisec", "0"),
        // 2 ms and 4 ms after receipt.
        ("CvrdOrderQtyto10millisec", "1000"),
        ("CvrdOrderQtyto1sec", "0"),
        ("CvrdOrderQtyOthr", "0"),
        // At the quote 400 (190.10 = the offer), improved 600 by a cent.
        ("ExctdPIOrdersQty", "600"),
        ("ExctdOrderAtQuotQty", "400"),
        ("ExctdOrderOutQuotQty", "0"),
        ("ExctdOutQuotOrdWghtdAvgAmt", ""),
        ("ExctdPIOrderRltvBestPrQty", "600"),
        ("ExctdOrderAtBestPrQty", "400"),
        // Benchmark: 200 shares offered; 1,000 at or better, 800 beyond it.
        ("ExctdOrderSizeBnchmrkQty", "200"),
        ("ExctdSIOutsizedQty", "800"),
        ("FilledOrderCnt", "1"),
        ("RegExctdOrderQty", "1000"),
        ("RegExctdOrderOnXchngQty", "1000"),
    ] {
        assert_eq!(field(c, name), value, "{name}");
    }
    let mid = 190.05;
    // Realized spread 2 × (price − later midpoint), share-weighted over 400 and 600:
    // 50 ms: midpoint 190.05: (400 × 0.10 + 600 × 0.08) / 1000 = 0.088;
    // 1 s: 190.08: (400 × 0.04 + 600 × 0.02) / 1000 = 0.028;
    // 15 s and 1 min: 190.15: (400 × −0.10 + 600 × −0.12) / 1000 = −0.112;
    // 5 min: 190.05 again: 0.088.
    for (name, dollars) in [
        ("50millisec", 0.088),
        ("1sec", 0.028),
        ("15sec", -0.112),
        ("1min", -0.112),
        ("5min", 0.088),
    ] {
        near(c, &format!("AvgRealSprd{name}"), dollars);
        near(c, &format!("AvgRealSprdPct{name}"), dollars / mid);
    }
    near(c, "ExctdOrderMidPtAvg", 190.05);
    near(c, "ExctdOrderAvgQuotSprd", 0.10);
    near(c, "AvgEffctvSprd", 0.088);
    near(c, "AvgEffctvSprdPct", 0.088 / mid);
    near(c, "AvgEFQPct", 0.88);
    near(c, "ExctdPIOrdWghtdAvgAmtPerShare", 0.01);
    near(c, "ExctdPIOrdWghtdAvgTime", 4.0);
    near(c, "ExctdAtQuotOrdWghtdAvgTime", 2.0);
    near(c, "ExctdPIOrderRltvBestPrWghtdAvg", 0.01);
    // (400 × 2 ms + 600 × 4 ms) / 1000.
    near(c, "FilledOrderWghtdAvgTime", 3.2);

    // Order A: midpoint-or-better limit buy, crossed 100 after 2 ms, 200 still working.
    let a = find(&detailed, &[("OrderType", "LNYNN"), ("OrderSize", "50000")]);
    for (name, value) in [
        ("CvrdOrderCnt", "1"),
        ("CvrdOrderSize", "57015"),
        ("CvrdOrderQty", "300"),
        ("CvrdOrderExctdQty", "100"),
        ("CvrdOrderExctdAwayQty", "0"),
        ("CvrdOrderQtyto10millisec", "100"),
        // Spread statistics are for market and marketable orders only.
        ("AvgEffctvSprd", ""),
        ("ExctdPIOrdersQty", ""),
        ("FilledOrderCnt", "1"),
        ("RegExctdOrderQty", "100"),
        ("RegExctdOrderOnXchngQty", "0"),
        ("FilledOrderWghtdAvgTime", "2"),
    ] {
        assert_eq!(field(a, name), value, "{name}");
    }
    // Order B: executed on arrival.
    let b = find(&detailed, &[("OrderType", "LNYNN"), ("OrderSize", "10000")]);
    for (name, value) in [
        ("CvrdOrderSize", "19005"),
        ("CvrdOrderQty", "100"),
        ("CvrdOrderExctdQty", "100"),
        ("CvrdOrderQtyto100microsec", "100"),
        ("FilledOrderWghtdAvgTime", "0"),
    ] {
        assert_eq!(field(b, name), value, "{name}");
    }

    // The summary: market orders only here (A and B are not market or marketable
    // limit), in size 50000 and in the all-under-$200,000 rows.
    let summary = rows(&out.join("XCRL202611-summary.csv"), ',');
    assert_eq!(summary.len(), 2, "{summary:?}");
    for size in ["50000", "199999"] {
        let row = find(&summary, &[("OrderSize", size), ("OrderType", "M")]);
        assert_eq!(field(row, "Sp500"), "N");
        near(row, "AvgOrderQty", 1000.0);
        near(row, "AvgOrderSize", 190_050.0);
        near(row, "ExctdOrderMidPtAvg", 190.05);
        near(row, "PctExctdAtQuotOrBetter", 1.0);
        near(row, "PctExctdPI", 0.6);
        // (600 × 0.01 − 0) / (190.05 × 1000).
        near(row, "WghtdAvgPctPI", 6.0 / 190_050.0);
        near(row, "AvgEffctvSprdPct", 0.088 / mid);
        near(row, "AvgPctQuotSprd", 0.10 / mid);
        near(row, "AvgEFQPct", 0.88);
        near(row, "AvgRealSprdPct15sec", -0.112 / mid);
        near(row, "AvgRealSprdPct1min", -0.112 / mid);
        near(row, "WghtdAvgExctnTime", 3.2);
    }
    let html = std::fs::read_to_string(out.join("XCRL202611.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 4, "four charts");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn markouts_and_the_flow_class_match_the_hand_computed_figures() {
    let dir = journal("markouts");
    let out = report(&dir, &["markouts", "--month", "2026-11"]);
    let markouts = std::fs::read_to_string(out.join("markouts-2026-11.csv")).unwrap();
    let markouts: Vec<Vec<(String, String)>> = rows_lf(&markouts);
    // Midpoint at each execution 190.05; +100 ms still 190.05, +1 s 190.08, +5 s and
    // +60 s 190.15. Buyers gain the move, the seller loses it.
    let mid = 190.05;
    for (client, sign, shares) in [("1", 1.0, "1000"), ("2", 1.0, "100"), ("4", -1.0, "100")] {
        for (horizon, moved) in [("100ms", 0.0), ("1s", 0.03), ("5s", 0.10), ("60s", 0.10)] {
            let row = find(
                &markouts,
                &[("scope", "client"), ("key", client), ("horizon", horizon)],
            );
            assert_eq!(field(row, "shares"), shares);
            near(row, "markout_usd_per_share", sign * moved);
            let bps: f64 = field(row, "markout_bps").parse().unwrap();
            assert!((bps - sign * moved / mid * 1e4).abs() < 1e-3, "{bps}");
        }
    }
    // AAPL, all 1,200 shares: +1 s (1000 × 0.03 + 100 × 0.03 − 100 × 0.03) / 1200.
    let row = find(
        &markouts,
        &[("scope", "symbol"), ("key", "AAPL"), ("horizon", "1s")],
    );
    near(row, "markout_usd_per_share", 0.025);
    let row = find(
        &markouts,
        &[("scope", "symbol"), ("key", "AAPL"), ("horizon", "5s")],
    );
    near(row, "markout_usd_per_share", 100.0 / 1200.0);
    // Client 1 has 1,000 shares at +5 s, 0.10 / 190.05 = 5.26 bps: informed. The others
    // have too few shares to classify.
    let text = std::fs::read_to_string(out.join("markouts-2026-11-classes.csv")).unwrap();
    // The file is what `crossline admin improvement load` reads: client 1 at ×0.5, the
    // unclassified clients with executions (2 and 4) back to ×1.
    let loaded: Vec<(u32, u32)> = crossline::admin::parse_classes(&text)
        .unwrap()
        .iter()
        .map(|line| (line.client, line.multiplier_ppm))
        .collect();
    assert_eq!(loaded, [(1, 500_000), (2, 1_000_000), (4, 1_000_000)]);
    let classes = rows_lf(&text);
    let one = find(&classes, &[("client", "1")]);
    assert_eq!(field(one, "class"), "informed");
    assert_eq!(field(one, "multiplier"), "0.50");
    assert_eq!(
        field(find(&classes, &[("client", "2")]), "class"),
        "unclassified"
    );
    std::fs::remove_dir_all(&dir).ok();
}

fn rows_lf(text: &str) -> Vec<Vec<(String, String)>> {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

/// The text of element `tag` in each of `xml`'s `parent` elements, in order.
fn texts(xml: &str, parent: &str, tag: &str) -> Vec<String> {
    xml.split(&format!("<{parent}>"))
        .skip(1)
        .map(|part| {
            let part = &part[..part.find(&format!("</{parent}>")).unwrap_or(part.len())];
            match part.find(&format!("<{tag}>")) {
                Some(start) => {
                    let rest = &part[start + tag.len() + 2..];
                    rest[..rest.find('<').unwrap()].to_owned()
                }
                None => String::new(),
            }
        })
        .collect()
}

#[test]
fn rule_606_reports_match_the_hand_computed_figures_and_the_sec_schema() {
    let dir = journal("606");
    let out = report(&dir, &["606a", "--quarter", "2026-Q4"]);
    let xml = std::fs::read_to_string(out.join("606a-2026-Q4.xml")).unwrap();
    assert_eq!(texts(&xml, "rMonthly", "mon"), ["10", "11", "12"]);
    // November, other stocks: A and B non-marketable limit, C market.
    let november = xml.split("<rMonthly>").nth(2).unwrap();
    let other = &november[november.find("<rOtherStocks>").unwrap()..];
    assert_eq!(texts(other, "rOtherStocks", "ndoPct"), ["100.00"]);
    assert_eq!(texts(other, "rOtherStocks", "ndoMarketPct"), ["33.33"]);
    assert_eq!(
        texts(other, "rOtherStocks", "ndoMarketableLimitPct"),
        ["0.00"]
    );
    assert_eq!(
        texts(other, "rOtherStocks", "ndoNonmarketableLimitPct"),
        ["66.67"]
    );
    // In house (A and B); BATS, XNAS and XNYS each got a child of C: 1 of 3 orders.
    assert_eq!(
        texts(other, "rVenue", "name"),
        ["Crossline Securities LLC", "BATS", "XNAS", "XNYS"]
    );
    assert_eq!(
        texts(other, "rVenue", "orderPct"),
        ["66.67", "33.33", "33.33", "33.33"]
    );
    assert_eq!(
        texts(other, "rVenue", "marketPct"),
        ["0.00", "100.00", "100.00", "100.00"]
    );
    assert_eq!(
        texts(other, "rVenue", "nonMarketableLimitPct"),
        ["100.00", "0.00", "0.00", "0.00"]
    );
    // XNAS: rebate $1.20 on 600 shares = 20 ¢ per 100 shares received; XNYS: fee $0.80
    // on 400 = 20 ¢ per 100 paid; BATS executed nothing.
    assert_eq!(
        texts(other, "rVenue", "netPmtPaidRecvMarketOrdersUsd"),
        ["0.00", "0.00", "1.20", "-0.80"]
    );
    assert_eq!(
        texts(other, "rVenue", "netPmtPaidRecvMarketOrdersCph"),
        ["", "", "20.0000", "-20.0000"]
    );

    let out = report(
        &dir,
        &[
            "606b3",
            "--client",
            "1",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
        ],
    );
    let xml = std::fs::read_to_string(out.join("606b3-client1-2026-11-01_2026-11-30.xml")).unwrap();
    assert_eq!(texts(&xml, "hMonthly", "sentShr"), ["1000"]);
    assert_eq!(texts(&xml, "hMonthly", "executedAsPrincipalShr"), ["0"]);
    assert_eq!(texts(&xml, "iVenue", "venueName"), ["BATS", "XNAS", "XNYS"]);
    assert_eq!(texts(&xml, "iVenue", "routedShr"), ["1000", "600", "1000"]);
    assert_eq!(
        texts(&xml, "iVenue", "iocRoutedShr"),
        ["1000", "600", "1000"]
    );
    assert_eq!(
        texts(&xml, "iVenue", "orderSizeShr"),
        ["1000.00", "600.00", "1000.00"]
    );
    assert_eq!(texts(&xml, "iVenue", "executedShr"), ["0", "600", "400"]);
    assert_eq!(
        texts(&xml, "iVenue", "filledPct"),
        ["0.00", "100.00", "40.00"]
    );
    assert_eq!(
        texts(&xml, "iVenue", "fillSizeShr"),
        ["", "600.00", "400.00"]
    );
    // Both fills above the 190.05 midpoint for a buy: the far side.
    assert_eq!(texts(&xml, "iVenue", "farsideShr"), ["0", "600", "400"]);
    assert_eq!(
        texts(&xml, "iVenue", "netFeeOrRebateCph"),
        ["", "20.0000", "-20.0000"]
    );

    // Both files validate against the SEC's schema (docs/sec/oh-20191231.xsd), with
    // xmllint (Debian's libxml2-utils; scripts/test.sh installs it).
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/sec/oh-20191231.xsd");
    let files = [
        dir.join("out/606a-2026-Q4.xml"),
        dir.join("out/606b3-client1-2026-11-01_2026-11-30.xml"),
    ];
    match Process::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .args(&files)
        .output()
    {
        Ok(output) => assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => {
            assert!(
                std::env::var_os("CROSSLINE_REQUIRE_XMLLINT").is_none(),
                "xmllint: {error}"
            );
            eprintln!("xmllint not installed ({error}): schema check skipped");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// What an operator gets wrong is named, with exit status 2 and nothing written: a
/// period that is no period, a 606(b)(3) range past six months, a journal that is not
/// there.
#[test]
fn bad_arguments_and_missing_journals_are_named_with_exit_status_2() {
    let missing =
        std::env::temp_dir().join(format!("crossline-report-missing-{}", std::process::id()));
    let out = missing.with_extension("out");
    let cases: [(&[&str], String); 5] = [
        (
            &["605", "--month", "2026-13"],
            "--month \"2026-13\": expected YYYY-MM".to_owned(),
        ),
        (
            &["606a", "--quarter", "2026-Q5"],
            "--quarter \"2026-Q5\": expected YYYY-Qn".to_owned(),
        ),
        (
            &[
                "606b3",
                "--client",
                "1",
                "--from",
                "2026-01-01",
                "--to",
                "2026-07-01",
            ],
            "a 606(b)(3) report covers at most six months".to_owned(),
        ),
        (
            &[
                "606b3",
                "--client",
                "1",
                "--from",
                "2026-02-01",
                "--to",
                "2026-01-31",
            ],
            "--to 2026-01-31 is before --from 2026-02-01".to_owned(),
        ),
        (
            &["markouts", "--month", "2026-12"],
            format!("journal {}", missing.display()),
        ),
    ];
    for (args, expected) in cases {
        let output = Process::new(CROSSLINE)
            .arg("report")
            .args(args)
            .arg("--journal")
            .arg(&missing)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("crossline report: ") && stderr.contains(&expected),
            "{args:?}: {stderr}"
        );
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}
