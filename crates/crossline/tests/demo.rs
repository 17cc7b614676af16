//! The demo's flow as a test: the pipeline on the embedded configuration, the venue
//! simulator and four simulated clients for a few seconds, then the economics checked
//! against the journal, event by event:
//! - no internal execution (cross or principal) outside the NBBO in force at it;
//! - every principal fill improves on the NBBO by at least the symbol's minimum;
//! - the firm's position inside its long and short limits after every change;
//! - every client order ends (filled, cancelled or rejected), every reply numbered in
//!   order;
//! - rejects stay under 5% of orders, and the run ends soon after its trading time.

use std::time::Duration;

use crossline::demo::{self, DemoOptions};
use crossline::disclosure::rule605::Report605;
use crossline::disclosure::rule606::{PlaceKey, Report606a, Report606b3};
use crossline::disclosure::tape::Tape;
use crossline::disclosure::{date_of, Period};
use crossline_engine::{recovery, Engine, Observer};
use crossline_matcher::{Contra, Event};
use crossline_sequencer::{Command, NoJournal, Record, Sequenced};
use crossline_types::{Side, SymbolId};

#[derive(Default)]
struct Checks {
    limits: Vec<(SymbolId, i64, i64, i64)>,
    violations: Vec<String>,
    crossed: u64,
    principal: u64,
    venue: u64,
    position_changes: u64,
    /// New-order records in the journal.
    new_orders: u64,
    /// Client orders the matcher accepted.
    client_orders: std::collections::HashSet<u64>,
    /// Shares executed for client orders: all, and at venues.
    client_shares: (u64, u64),
    /// Shares routed for client orders, and given back unexecuted by the router.
    routed: (u64, u64),
    /// Per venue id: shares of client orders the venue fills reported, and the child
    /// records' shares sent and filled.
    venues: std::collections::BTreeMap<u8, (u64, u64, u64)>,
}

impl Observer for Checks {
    fn record(&mut self, record: &Record) {
        match record.command {
            Command::NewOrder(_) => self.new_orders += 1,
            Command::VenueCancel(cancel) if self.client_orders.contains(&cancel.order_id.get()) => {
                self.routed.1 += u64::from(cancel.quantity.shares());
            }
            Command::VenueFill(fill) if self.client_orders.contains(&fill.order_id.get()) => {
                self.venues.entry(fill.venue).or_default().0 += u64::from(fill.quantity.shares());
            }
            Command::VenueChild(child) if self.client_orders.contains(&child.order_id.get()) => {
                let venue = self.venues.entry(child.venue).or_default();
                venue.1 += u64::from(child.quantity.shares());
                venue.2 += u64::from(child.filled.shares());
            }
            _ => {}
        }
    }

    fn event(&mut self, input: &Sequenced, event: &Event) {
        match event {
            Event::Accepted { order_id, .. } => {
                self.client_orders.insert(order_id.get());
            }
            Event::Route(route) if self.client_orders.contains(&route.order_id.get()) => {
                self.routed.0 += u64::from(route.quantity.shares());
            }
            Event::Filled(fill) => {
                if self.client_orders.contains(&fill.order_id.get()) {
                    self.client_shares.0 += u64::from(fill.quantity.shares());
                    if matches!(fill.contra, Contra::Venue) {
                        self.client_shares.1 += u64::from(fill.quantity.shares());
                    }
                }
                let nbbo = fill.nbbo_at_execution;
                let price = fill.price.micros();
                match fill.contra {
                    Contra::Venue => {
                        self.venue += 1;
                        return;
                    }
                    Contra::Order(_) => self.crossed += 1,
                    Contra::Firm => self.principal += 1,
                }
                let outside = match fill.side {
                    Side::Buy => price > nbbo.ask.micros(),
                    _ => price < nbbo.bid.micros(),
                };
                if outside || nbbo.bid.micros() <= 0 || nbbo.ask.micros() <= 0 {
                    self.violations.push(format!(
                        "seq {}: {:?} at {price} outside the NBBO {nbbo:?}",
                        input.sequence.get(),
                        fill.contra
                    ));
                }
                if matches!(fill.contra, Contra::Firm) {
                    let minimum = self
                        .limits
                        .iter()
                        .find(|l| l.0 == fill.symbol)
                        .map_or(i64::MAX, |l| l.3);
                    if fill.price_improvement.micros() < minimum {
                        self.violations.push(format!(
                            "seq {}: principal fill improves by {} µ$, below the minimum {minimum}",
                            input.sequence.get(),
                            fill.price_improvement.micros()
                        ));
                    }
                }
            }
            Event::PositionChanged {
                symbol, position, ..
            } => {
                self.position_changes += 1;
                let (_, long_max, short_max, _) = self
                    .limits
                    .iter()
                    .copied()
                    .find(|l| l.0 == *symbol)
                    .unwrap_or((*symbol, 0, 0, 0));
                if *position > long_max || *position < -short_max {
                    self.violations.push(format!(
                        "seq {}: position {position} in symbol {} outside -{short_max}..{long_max}",
                        input.sequence.get(),
                        symbol.get()
                    ));
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_demo_keeps_every_market_rule_and_ends_every_order() {
    let dir = std::env::temp_dir().join(format!("crossline-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut options = DemoOptions::new();
    options.duration = Duration::from_secs(4);
    options.orders_per_second = 1_500;
    options.journal_dir = dir.clone();
    options.keep_journal = true;
    options.progress = false;
    let started = std::time::Instant::now();
    let report = demo::run(&options).expect("the demo runs");
    // The clients trade for 4 s; stopping, the day's end and the summary take little more.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(7), "the demo took {took:?}");
    // Rejects are a small, explained minority (the deliberate bursts of the rate-capped
    // client): under 5% of orders.
    let orders: u64 = report.clients.iter().map(|(_, t)| t.orders).sum();
    let s = &report.summary;
    let rejected: u64 =
        s.risk_rejects.values().sum::<u64>() + s.matcher_rejects.values().sum::<u64>();
    assert!(
        rejected * 20 < orders,
        "{rejected} rejects of {orders} orders: {:?} {:?}",
        s.risk_rejects,
        s.matcher_rejects
    );

    // Every order ended, and each client's replies arrived numbered one after another.
    for (client, tally) in &report.clients {
        assert!(tally.orders > 0, "client {client} sent nothing");
        assert_eq!(tally.open, 0, "client {client}: orders never ended");
        assert_eq!(tally.terminal, tally.orders, "client {client}");
        assert_eq!(
            tally.numbering_gaps, 0,
            "client {client}: reply numbers skipped"
        );
    }
    assert!(!report.latency.is_empty());

    // The economics, from the journal.
    let config = crossline_config::parse(crossline_config::DEFAULT).unwrap();
    let mut checks = Checks {
        limits: config
            .matcher
            .symbols
            .iter()
            .map(|s| {
                (
                    s.symbol,
                    i64::from(s.settings.long_max),
                    i64::from(s.settings.short_max),
                    s.settings.improvement_min.micros(),
                )
            })
            .collect(),
        ..Checks::default()
    };
    let mut engine = Engine::new(&config, NoJournal).unwrap();
    recovery::replay_from(&dir, &mut engine, None, &mut checks, &mut |_| {}).unwrap();
    assert!(
        checks.violations.is_empty(),
        "{} violations, first: {:?}",
        checks.violations.len(),
        &checks.violations[..checks.violations.len().min(5)]
    );
    // The run exercised every kind of execution the rules are about.
    assert!(checks.crossed > 0, "no internal crosses");
    assert!(checks.principal > 0, "no principal fills");
    assert!(checks.venue > 0, "no venue fills");
    assert!(checks.position_changes > 0);
    // The summary agrees with the journal.
    assert_eq!(report.summary.principal.0, checks.principal);
    // The operator's multipliers, journaled before trading, priced the principal fills:
    // client 1 (×0.5) was given a smaller share of the spread than client 2 (×1.5), by
    // far more than skew and the active symbol's quote (×1 for everyone) blur.
    assert_eq!(report.multipliers, demo::DEMO_MULTIPLIERS);
    let share = |client| {
        report
            .summary
            .principal_by_client
            .get(&crossline_types::ClientId::new(client))
            .and_then(|fills| fills.share_of_spread())
            .unwrap_or_else(|| panic!("client {client} had no principal fills"))
    };
    let (informed, uninformed) = (share(1), share(2));
    assert!(
        informed * 1.5 < uninformed && informed < 0.1 && uninformed > 0.1,
        "client 1 got {informed:.4} of the spread, client 2 {uninformed:.4}"
    );
    reconcile_reports(&dir, &checks);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The disclosure reports of the demo's journal add up to the journal: shares executed
/// in the Rule 605 rows (here and away) are the executions of covered orders, and with
/// the orders not covered, every execution of a client order; orders per category, not
/// covered and rejected add up to the new orders received; the 606 rows' shares are the
/// executions, their venue shares the venue fills; and every routed share came back
/// executed at a venue or given back.
fn reconcile_reports(dir: &std::path::Path, checks: &Checks) {
    let tape = Tape::replay(&[dir.to_path_buf()], &mut |_, _, _| {}).unwrap();
    let (first, last) = tape.span.unwrap();
    let period = Period::days(&date_of(first), &date_of(last)).unwrap();
    let rule605 = Report605::compute(&tape, &period, "T", "XCRL");
    let executed: u64 = rule605.rows.values().map(|r| r.here + r.away).sum();
    let covered: std::collections::HashSet<u32> = (0..tape.orders.len())
        .filter(|&i| crossline::disclosure::rule605::not_covered(&tape.orders[i]).is_none())
        .map(|i| u32::try_from(i).unwrap())
        .collect();
    let (covered_shares, all_shares) = tape.fills.iter().fold((0, 0), |(c, a), f| {
        let shares = u64::from(f.shares);
        (
            c + if covered.contains(&f.order) {
                shares
            } else {
                0
            },
            a + shares,
        )
    });
    assert_eq!(
        executed, covered_shares,
        "605 rows against covered orders' executions"
    );
    assert_eq!(
        all_shares, checks.client_shares.0,
        "every client execution is on the tape"
    );
    assert!(
        executed > 0 && executed * 10 > all_shares * 8,
        "{executed} of {all_shares}"
    );
    let orders: u64 = rule605.rows.values().map(|r| r.orders).sum();
    let not_covered: u64 = rule605.not_covered.values().sum();
    assert_eq!(
        orders + not_covered + tape.excluded.risk_rejected + tape.excluded.matcher_rejected,
        checks.new_orders,
        "orders per category + not covered + rejected = new orders received"
    );
    assert_eq!(tape.new_orders, checks.new_orders);

    let quarter = Period::quarter(&{
        let (year, month) = crossline::disclosure::month_of(first);
        format!("{year}-Q{}", (month - 1) / 3 + 1)
    })
    .unwrap();
    let rule606 = Report606a::compute(&tape, &quarter, "Crossline", &[]);
    let (mut in_house, mut away) = (0u64, 0u64);
    for (_, _, sp500, other) in &rule606.months {
        for (key, row) in sp500.venues.iter().chain(&other.venues) {
            let shares: u64 = row.shares.iter().sum();
            match key {
                PlaceKey::Firm => in_house += shares,
                PlaceKey::Venue(_) => away += shares,
            }
        }
    }
    assert_eq!(
        in_house + away,
        checks.client_shares.0,
        "606 shares = executions"
    );
    assert_eq!(
        away, checks.client_shares.1,
        "606 venue shares = venue fills"
    );
    // Every routed share ended: executed at a venue or given back to the order.
    assert_eq!(checks.routed.0, checks.client_shares.1 + checks.routed.1);
    let routed: u64 = tape.orders.iter().map(|o| u64::from(o.routed)).sum();
    let returned: u64 = tape.orders.iter().map(|o| u64::from(o.returned)).sum();
    assert_eq!((routed, returned), checks.routed);

    // Each venue's child records account for its fills, and the 606(b)(3) reports of all
    // the clients together route exactly the shares of the child records.
    assert!(checks.venues.len() >= 2, "{:?}", checks.venues);
    for (venue, (fills, sent, filled)) in &checks.venues {
        assert_eq!(fills, filled, "venue {venue}: fills against its children's");
        assert!(sent >= filled && *sent > 0, "venue {venue}");
    }
    let config = crossline_config::parse(crossline_config::DEFAULT).unwrap();
    let names: std::collections::BTreeMap<u8, String> = config
        .router
        .venues
        .iter()
        .map(|v| (v.id, v.name.clone()))
        .collect();
    let mut by_venue: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for client in &config.risk.clients {
        let report = Report606b3::compute(&tape, &period, "Crossline", client.client.get());
        for (_, _, month) in &report.months {
            for (name, row) in &month.venues {
                let entry = by_venue.entry(name.clone()).or_default();
                entry.0 += row.routed;
                entry.1 += row.executed;
            }
        }
    }
    for (venue, (_, sent, filled)) in &checks.venues {
        let name = &names[venue];
        assert_eq!(
            by_venue.get(name),
            Some(&(*sent, *filled)),
            "606(b)(3) at {name}"
        );
    }
}

#[test]
fn the_fix_demo_trades_a_client_on_fix_and_the_drop_copy_sees_every_client() {
    let mut options = DemoOptions::new();
    options.duration = Duration::from_secs(2);
    options.orders_per_second = 500;
    options.progress = false;
    options.fix = true;
    let report = demo::run(&options).expect("the demo runs with --fix");
    let (fix, copies) = report.fix.as_ref().expect("the FIX client's tally");
    assert!(fix.orders > 0, "{fix:?}");
    // Every NewOrderSingle got its first report: accepted or rejected.
    assert_eq!(fix.new + fix.rejects, fix.orders, "{fix:?}");
    assert!(fix.fills > 0, "nothing filled on FIX: {fix:?}");
    // The drop copy has the FIX client's reports and the binary clients' too.
    let fix_reports = fix.new + fix.fills + fix.cancels + fix.rejects;
    let binary_orders: u64 = report.clients.iter().map(|(_, t)| t.orders).sum();
    assert!(
        *copies >= fix_reports + binary_orders,
        "{copies} copies, {fix_reports} FIX reports, {binary_orders} binary orders"
    );
    let text = report.to_string();
    assert!(text.contains("fix           client 5 on FIX 4.4"), "{text}");
}
