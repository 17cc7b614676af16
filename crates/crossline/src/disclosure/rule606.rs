//! Rule 606 routing reports (17 CFR 242.606): the quarterly public report of 606(a)(1)
//! in the SEC's XML schema (`docs/sec/oh-20191231.xsd`, root
//! `heldOrderRoutingPublicReport`) with a readable HTML rendering, and the customer
//! report of 606(b)(3) (root `notHeldOrderHandlingCustomerReport`).
//!
//! Every order here is non-directed (a client cannot name a venue), so the sections'
//! `ndoPct` is 100. An order counts as "routed to" each place it went: the firm itself
//! when it executed there (crossed or filled as principal, named by `--bd` with the
//! market identifier `[fix] market`), and each external venue a child of it was sent to
//! (the journal's `VenueChild` records).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::tape::{Order, Place, Tape};
use super::{month_of, percent, Period};

/// The 606 order types (242.606(a)(1)(i)): market, marketable limit, non-marketable
/// limit, other. Index into per-type arrays.
pub const ORDER_TYPES: [&str; 4] = [
    "market",
    "marketable limit",
    "non-marketable limit",
    "other",
];

/// An order's 606 type, from its terms and the NBBO at receipt: a limit order is
/// marketable when it could execute at once against the NBBO (a buy at or above the
/// offer, a sell at or below the bid).
#[must_use]
pub fn order_type(order: &Order) -> usize {
    use crossline_types::OrderType;
    match order.order_type {
        OrderType::Market => 0,
        OrderType::Limit => {
            let quote = order.nbbo;
            let marketable = if order.buys() {
                quote.ask > 0 && order.limit >= quote.ask
            } else {
                quote.bid > 0 && order.limit <= quote.bid
            };
            if marketable {
                1
            } else {
                2
            }
        }
    }
}

/// One venue's row in a 606(a)(1) section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VenueRow {
    /// Orders routed there, by type.
    pub orders: [u64; 4],
    /// Shares executed there, by order type.
    pub shares: [u64; 4],
    /// Net payment received from it (rebates received minus fees paid), micro-dollars,
    /// by order type.
    pub net_micros: [i64; 4],
}

/// One section (S&P 500 stocks, or other NMS stocks) of one month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// Non-directed orders, by type.
    pub orders: [u64; 4],
    /// By place: the firm first, then venues by name.
    pub venues: BTreeMap<PlaceKey, VenueRow>,
}

/// Where a row's orders went: the firm itself sorts before the venues.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PlaceKey {
    /// Executed in house.
    Firm,
    /// An external venue, by name.
    Venue(String),
}

/// A 606(a)(1) report: per month of the quarter, the two stock sections.
#[derive(Debug, Clone, PartialEq)]
pub struct Report606a {
    /// The broker-dealer's name.
    pub bd: String,
    /// The market center's identifier (the firm row's `mic`).
    pub market: String,
    /// The quarter.
    pub year: u64,
    /// 1 to 4.
    pub quarter: u64,
    /// (year, month, S&P 500 section, other stocks section).
    pub months: Vec<(u64, u64, Section, Section)>,
}

impl Report606a {
    /// The report for `period` (a quarter), `sp500` naming the symbols of the S&P 500.
    #[must_use]
    pub fn compute(tape: &Tape, period: &Period, bd: &str, sp500: &[String]) -> Report606a {
        let months = period.months();
        let (year, first) = months.first().copied().unwrap_or((1970, 1));
        let mut report = Report606a {
            bd: bd.to_owned(),
            market: tape.market.clone(),
            year: months.last().map_or(year, |m| m.0),
            quarter: (first - 1) / 3 + 1,
            months: months
                .iter()
                .map(|&(y, m)| (y, m, Section::default(), Section::default()))
                .collect(),
        };
        // Where each order went: the firm, when it executed in house; each venue a child
        // of it was sent to (filled there or not).
        let mut places: Vec<Vec<PlaceKey>> = vec![Vec::new(); tape.orders.len()];
        let keys = tape
            .fills
            .iter()
            .filter(|f| f.place.in_house())
            .map(|f| (f.order, PlaceKey::Firm))
            .chain(tape.children.iter().map(|c| {
                (
                    c.order,
                    PlaceKey::Venue(tape.venues[c.venue as usize].clone()),
                )
            }));
        for (order, key) in keys {
            let list = &mut places[order as usize];
            if !list.contains(&key) {
                list.push(key);
            }
        }
        let mut fills_of: Vec<Vec<usize>> = vec![Vec::new(); tape.orders.len()];
        for (index, fill) in tape.fills.iter().enumerate() {
            fills_of[fill.order as usize].push(index);
        }
        for (index, order) in tape.orders.iter().enumerate() {
            if !period.contains(order.received_ns) {
                continue;
            }
            let month = month_of(order.received_ns);
            let Some(entry) = report
                .months
                .iter_mut()
                .find(|(y, m, _, _)| (*y, *m) == month)
            else {
                continue;
            };
            let section = if sp500.iter().any(|s| s == tape.symbol(order.symbol)) {
                &mut entry.2
            } else {
                &mut entry.3
            };
            let kind = order_type(order);
            section.orders[kind] += 1;
            for key in &places[index] {
                section.venues.entry(key.clone()).or_default().orders[kind] += 1;
            }
            for &f in &fills_of[index] {
                let fill = &tape.fills[f];
                let key = match fill.place {
                    Place::Cross | Place::Firm => PlaceKey::Firm,
                    Place::Venue(v) => PlaceKey::Venue(tape.venues[v as usize].clone()),
                };
                let row = section.venues.entry(key).or_default();
                row.shares[kind] += u64::from(fill.shares);
                row.net_micros[kind] -= fill.fee;
            }
        }
        report
    }

    /// The venues a section lists (242.606(a)(1)(ii)): the ten with the most
    /// non-directed orders, and any other with at least 5% of them.
    #[must_use]
    pub fn listed(section: &Section) -> Vec<(&PlaceKey, &VenueRow)> {
        let total: u64 = section.orders.iter().sum();
        let mut rows: Vec<_> = section.venues.iter().collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.1.orders.iter().sum::<u64>()));
        rows.into_iter()
            .enumerate()
            .filter(|(rank, (_, row))| {
                *rank < 10 || percent(row.orders.iter().sum(), total).is_some_and(|p| p >= 5.0)
            })
            .map(|(_, row)| row)
            .collect()
    }

    /// The report in the SEC's XML schema (version 1.2 of `oh-20191231.xsd`), stamped
    /// `timestamp` (`YYYY-MM-DDThh:mm:ssZ`).
    #[must_use]
    pub fn xml(&self, timestamp: &str) -> String {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.push_str("<heldOrderRoutingPublicReport xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"oh-20191231.xsd\">\n");
        let _ = writeln!(x, "  <version>1.2</version>");
        let _ = writeln!(x, "  <bd>{}</bd>", escape(&self.bd));
        let _ = writeln!(x, "  <year>{}</year>", self.year);
        let _ = writeln!(x, "  <qtr>{}</qtr>", self.quarter);
        let _ = writeln!(x, "  <timestamp>{timestamp}</timestamp>");
        for (year, month, sp500, other) in &self.months {
            let _ = writeln!(
                x,
                "  <rMonthly>\n    <year>{year}</year>\n    <mon>{month}</mon>"
            );
            for (tag, section) in [("rSP500", sp500), ("rOtherStocks", other)] {
                self.section_xml(&mut x, tag, section);
            }
            x.push_str("  </rMonthly>\n");
        }
        x.push_str("</heldOrderRoutingPublicReport>\n");
        x
    }

    fn section_xml(&self, x: &mut String, tag: &str, section: &Section) {
        let total: u64 = section.orders.iter().sum();
        let _ = writeln!(x, "    <{tag}>");
        element(x, 6, "ndoPct", pct(total, total));
        for (name, kind) in [
            ("ndoMarketPct", 0),
            ("ndoMarketableLimitPct", 1),
            ("ndoNonmarketableLimitPct", 2),
            ("ndoOtherPct", 3),
        ] {
            element(x, 6, name, pct(section.orders[kind], total));
        }
        x.push_str("      <rVenues>\n");
        for (key, row) in Self::listed(section) {
            x.push_str("        <rVenue>\n");
            match key {
                PlaceKey::Firm => {
                    element(x, 10, "name", escape(&self.bd));
                    if is_mic(&self.market) {
                        element(x, 10, "mic", self.market.clone());
                    }
                }
                PlaceKey::Venue(name) => {
                    element(x, 10, "name", escape(name));
                    if is_mic(name) && *name != self.market {
                        element(x, 10, "mic", name.clone());
                    }
                }
            }
            let orders: u64 = row.orders.iter().sum();
            element(x, 10, "orderPct", pct(orders, total));
            for (name, kind) in [
                ("marketPct", 0),
                ("marketableLimitPct", 1),
                ("nonMarketableLimitPct", 2),
                ("otherPct", 3),
            ] {
                element(x, 10, name, pct(row.orders[kind], section.orders[kind]));
            }
            for (name, kind) in [
                ("MarketOrders", 0),
                ("MarketableLimitOrders", 1),
                ("NonMarketableLimitOrders", 2),
                ("OtherOrders", 3),
            ] {
                element(
                    x,
                    10,
                    &format!("netPmtPaidRecv{name}Usd"),
                    usd(row.net_micros[kind]),
                );
                element(
                    x,
                    10,
                    &format!("netPmtPaidRecv{name}Cph"),
                    cph(row.net_micros[kind], row.shares[kind]),
                );
            }
            let aspects = match key {
                PlaceKey::Firm => "Executed in house: crossed against another client's order or filled from the firm's inventory at or better than the NBBO; no payment for order flow.",
                PlaceKey::Venue(_) => "Routed immediate-or-cancel by the smart order router (best displayed price, then lowest fee, then fill rate); net amount is rebates received minus access fees paid, as the venue reported them; no payment for order flow.",
            };
            element(x, 10, "materialAspects", aspects.to_owned());
            x.push_str("        </rVenue>\n");
        }
        x.push_str("      </rVenues>\n");
        let _ = writeln!(x, "    </{tag}>");
    }

    /// A readable HTML rendering of the report's tables (no charts; see
    /// [`super::html`]).
    #[must_use]
    pub fn html_tables(&self) -> String {
        let mut h = String::new();
        for (year, month, sp500, other) in &self.months {
            for (title, section) in [("S&amp;P 500 stocks", sp500), ("Other NMS stocks", other)] {
                let total: u64 = section.orders.iter().sum();
                let _ = writeln!(
                    h,
                    "<h3>{year}-{month:02}: {title}</h3>\n<p>Non-directed orders: {total} (100.00% of orders); market {}, marketable limit {}, non-marketable limit {}, other {}</p>",
                    text(pct(section.orders[0], total)),
                    text(pct(section.orders[1], total)),
                    text(pct(section.orders[2], total)),
                    text(pct(section.orders[3], total)),
                );
                h.push_str("<table><tr><th>Venue</th><th>% of orders</th><th>% market</th><th>% marketable limit</th><th>% non-marketable limit</th><th>% other</th><th>Net received, market ($)</th><th>(¢/100 sh)</th><th>Net received, marketable limit ($)</th><th>(¢/100 sh)</th><th>Net received, non-marketable limit ($)</th><th>(¢/100 sh)</th></tr>\n");
                for (key, row) in Self::listed(section) {
                    let name = match key {
                        PlaceKey::Firm => format!("{} (in house)", escape(&self.bd)),
                        PlaceKey::Venue(name) => escape(name),
                    };
                    let _ = write!(
                        h,
                        "<tr><td>{name}</td><td>{}</td>",
                        text(pct(row.orders.iter().sum(), total))
                    );
                    for kind in 0..4 {
                        let _ = write!(
                            h,
                            "<td>{}</td>",
                            text(pct(row.orders[kind], section.orders[kind]))
                        );
                    }
                    for kind in 0..3 {
                        let _ = write!(
                            h,
                            "<td>{}</td><td>{}</td>",
                            text(usd(row.net_micros[kind])),
                            text(cph(row.net_micros[kind], row.shares[kind]))
                        );
                    }
                    h.push_str("</tr>\n");
                }
                h.push_str("</table>\n");
            }
        }
        h
    }
}

/// A 606(b)(3) report for one client: per month, the shares it sent, those the firm
/// executed as principal, and per venue what was routed and executed there.
#[derive(Debug, Clone, PartialEq)]
pub struct Report606b3 {
    /// The client.
    pub client: u32,
    /// The broker-dealer's name.
    pub bd: String,
    /// The period's first and last dates, `YYYY-MM-DD`.
    pub dates: (String, String),
    /// (year, month, figures).
    pub months: Vec<(u64, u64, Month606b3)>,
}

/// One month of a 606(b)(3) report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Month606b3 {
    /// Shares the client sent (its orders' quantities).
    pub sent: u64,
    /// Shares the firm executed as principal.
    pub principal: u64,
    /// Per venue, by name.
    pub venues: BTreeMap<String, Venue606b3>,
}

/// One venue's figures in a 606(b)(3) month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Venue606b3 {
    /// Shares sent there in child orders (every child is immediate-or-cancel).
    pub routed: u64,
    /// Child orders sent there.
    pub children: u64,
    /// Shares executed there.
    pub executed: u64,
    /// Executions there.
    pub fills: u64,
    /// Net fee (negative) or rebate (positive), micro-dollars.
    pub net_micros: i64,
    /// Shares executed at the NBBO midpoint at execution.
    pub midpoint: u64,
    /// Shares executed better than the midpoint for the order (near side).
    pub near: u64,
    /// Shares executed worse than the midpoint for the order (far side).
    pub far: u64,
}

impl Report606b3 {
    /// The report for `client` over `period`.
    #[must_use]
    pub fn compute(tape: &Tape, period: &Period, bd: &str, client: u32) -> Report606b3 {
        let mut months: Vec<(u64, u64, Month606b3)> = period
            .months()
            .into_iter()
            .map(|(y, m)| (y, m, Month606b3::default()))
            .collect();
        let month = |months: &mut Vec<(u64, u64, Month606b3)>, ns: u64| {
            let (y, m) = month_of(ns);
            months.iter().position(|e| (e.0, e.1) == (y, m))
        };
        for order in tape.orders.iter().filter(|o| o.client == client) {
            if period.contains(order.received_ns) {
                if let Some(i) = month(&mut months, order.received_ns) {
                    months[i].2.sent += u64::from(order.quantity);
                }
            }
        }
        for child in &tape.children {
            let order = &tape.orders[child.order as usize];
            if order.client != client || !period.contains(child.time_ns) {
                continue;
            }
            if let Some(i) = month(&mut months, child.time_ns) {
                let row = months[i]
                    .2
                    .venues
                    .entry(tape.venues[child.venue as usize].clone())
                    .or_default();
                row.routed += u64::from(child.sent);
                row.children += 1;
            }
        }
        for fill in &tape.fills {
            let order = tape.order_of(fill);
            if order.client != client || !period.contains(fill.time_ns) {
                continue;
            }
            let Some(i) = month(&mut months, fill.time_ns) else {
                continue;
            };
            let figures = &mut months[i].2;
            match fill.place {
                Place::Firm => figures.principal += u64::from(fill.shares),
                Place::Cross => {}
                Place::Venue(v) => {
                    let row = figures
                        .venues
                        .entry(tape.venues[v as usize].clone())
                        .or_default();
                    let shares = u64::from(fill.shares);
                    row.executed += shares;
                    row.fills += 1;
                    row.net_micros -= fill.fee;
                    let mid2 = fill.nbbo.mid2();
                    if mid2 > 0 {
                        let price2 = 2 * fill.price;
                        let better = if order.buys() {
                            price2 < mid2
                        } else {
                            price2 > mid2
                        };
                        if price2 == mid2 {
                            row.midpoint += shares;
                        } else if better {
                            row.near += shares;
                        } else {
                            row.far += shares;
                        }
                    }
                }
            }
        }
        Report606b3 {
            client,
            bd: bd.to_owned(),
            dates: (
                super::date_of(period.from_ns),
                super::date_of(period.to_ns.saturating_sub(1)),
            ),
            months,
        }
    }

    /// The report in the SEC's XML schema (`notHeldOrderHandlingCustomerReport`).
    #[must_use]
    pub fn xml(&self, timestamp: &str) -> String {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        x.push_str("<notHeldOrderHandlingCustomerReport xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"oh-20191231.xsd\">\n");
        let _ = writeln!(x, "  <version>1.2</version>");
        let _ = writeln!(x, "  <customer>client {}</customer>", self.client);
        let _ = writeln!(x, "  <bd>{}</bd>", escape(&self.bd));
        let _ = writeln!(x, "  <timestamp>{timestamp}</timestamp>");
        let _ = writeln!(x, "  <startDate>{}</startDate>", self.dates.0);
        let _ = writeln!(x, "  <endDate>{}</endDate>", self.dates.1);
        x.push_str("  <hNondirected>\n");
        for (year, month, m) in &self.months {
            let _ = writeln!(
                x,
                "    <hMonthly>\n      <year>{year}</year>\n      <mon>{month}</mon>"
            );
            element(&mut x, 6, "sentShr", m.sent.to_string());
            element(&mut x, 6, "executedAsPrincipalShr", m.principal.to_string());
            element(&mut x, 6, "ioiExposedOrd", "0".to_owned());
            x.push_str("      <ioiExposedVenueList/>\n      <routingVenueList>\n");
            for (name, v) in &m.venues {
                x.push_str("        <iVenue>\n");
                element(&mut x, 10, "venueName", escape(name));
                element(&mut x, 10, "routedShr", v.routed.to_string());
                // Every child is immediate-or-cancel, and none may be routed on.
                element(&mut x, 10, "iocRoutedShr", v.routed.to_string());
                element(&mut x, 10, "furtherRoutableShr", "0".to_owned());
                element(
                    &mut x,
                    10,
                    "orderSizeShr",
                    if v.children == 0 {
                        String::new()
                    } else {
                        format!("{:.2}", v.routed as f64 / v.children as f64)
                    },
                );
                element(&mut x, 10, "executedShr", v.executed.to_string());
                element(&mut x, 10, "filledPct", pct(v.executed, v.routed));
                element(
                    &mut x,
                    10,
                    "fillSizeShr",
                    if v.fills == 0 {
                        String::new()
                    } else {
                        format!("{:.2}", v.executed as f64 / v.fills as f64)
                    },
                );
                element(
                    &mut x,
                    10,
                    "netFeeOrRebateCph",
                    cph(v.net_micros, v.executed),
                );
                element(&mut x, 10, "midpointShr", v.midpoint.to_string());
                element(&mut x, 10, "midpointPct", pct(v.midpoint, v.executed));
                element(&mut x, 10, "nearsideShr", v.near.to_string());
                element(&mut x, 10, "nearsidePct", pct(v.near, v.executed));
                element(&mut x, 10, "farsideShr", v.far.to_string());
                element(&mut x, 10, "farsidePct", pct(v.far, v.executed));
                element(&mut x, 10, "providedLiqudityShr", "0".to_owned());
                element(&mut x, 10, "providedLiquidityPct", pct(0, v.executed));
                element(&mut x, 10, "orderDurationMsec", String::new());
                element(&mut x, 10, "providedLiquidityNetCph", String::new());
                element(&mut x, 10, "removedLiquidityShr", v.executed.to_string());
                element(
                    &mut x,
                    10,
                    "removedLiquidityPct",
                    pct(v.executed, v.executed),
                );
                element(
                    &mut x,
                    10,
                    "removedLiquidityNetCph",
                    cph(v.net_micros, v.executed),
                );
                x.push_str("        </iVenue>\n");
            }
            x.push_str("      </routingVenueList>\n    </hMonthly>\n");
        }
        x.push_str("  </hNondirected>\n</notHeldOrderHandlingCustomerReport>\n");
        x
    }
}

fn element(x: &mut String, indent: usize, tag: &str, value: String) {
    if value.is_empty() {
        let _ = writeln!(x, "{:indent$}<{tag}/>", "");
    } else {
        let _ = writeln!(x, "{:indent$}<{tag}>{value}</{tag}>", "");
    }
}

/// A percentage with two decimals, or empty (not meaningful) when `whole` is zero.
fn pct(part: u64, whole: u64) -> String {
    percent(part, whole).map_or(String::new(), |p| format!("{p:.2}"))
}

/// Dollars with two decimals.
fn usd(micros: i64) -> String {
    format!("{:.2}", micros as f64 / 1e6)
}

/// Cents per hundred shares with four decimals, or empty when no shares.
fn cph(micros: i64, shares: u64) -> String {
    if shares == 0 {
        return String::new();
    }
    // micro-dollars per share × 1e-6 $ × 100 ¢ × 100 shares = micros / shares / 100.
    format!("{:.4}", micros as f64 / shares as f64 / 100.0)
}

fn text(value: String) -> String {
    if value.is_empty() {
        "–".to_owned()
    } else {
        value
    }
}

fn is_mic(name: &str) -> bool {
    name.len() == 4
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Text made safe for XML and HTML.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
