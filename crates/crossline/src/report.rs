//! What a replay reports: a summary of the day, a digest of every output (to compare
//! two replays bit for bit), the state at a point, and a CAT-style audit trail.

use std::collections::BTreeMap;
use std::io::Write;

use crossline_matcher::{Contra, Event};
use crossline_risk::{AdminCause, AdminRecord, KillTarget, Setting};
use crossline_sequencer::{Command, Output, Record, Sequenced, Verdict};
use crossline_types::{ClientId, Price, Side, SymbolId};

use crossline_engine::Observer;

/// Counts of what a replay went through.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Command records, by kind.
    pub commands: BTreeMap<&'static str, u64>,
    /// Client messages the gate rejected, by reason.
    pub risk_rejects: BTreeMap<String, u64>,
    /// Control messages refused.
    pub refused: u64,
    /// Orders the matcher accepted.
    pub accepted: u64,
    /// Orders the matcher rejected, by reason.
    pub matcher_rejects: BTreeMap<String, u64>,
    /// Executions and shares: internal crosses (each side counted), principal fills,
    /// venue fills.
    pub crosses: (u64, u64),
    /// Principal fills and shares.
    pub principal: (u64, u64),
    /// Venue fills and shares.
    pub venue: (u64, u64),
    /// Child orders routed and shares.
    pub routes: (u64, u64),
    /// Cancellations.
    pub cancels: u64,
    /// Price improvement over the NBBO on crosses and principal fills, micro-dollars.
    pub improvement_micros: i128,
    /// Snapshot cuts passed, with their state hashes.
    pub cuts: Vec<(u64, u64)>,
    /// First and last record times.
    pub span: Option<(u64, u64)>,
    /// Execution quality and the firm's inventory, per symbol.
    pub symbols: BTreeMap<SymbolId, SymbolDay>,
    /// The firm's principal fills of each client's orders.
    pub principal_by_client: BTreeMap<ClientId, PrincipalFills>,
}

/// The firm's principal fills of one client's orders: how much of the spread they gave
/// away (what a client's price-improvement multiplier changes).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PrincipalFills {
    /// Shares filled.
    pub shares: u64,
    /// Their price improvement over the NBBO at execution, micro-dollars.
    pub improvement_micros: i128,
    /// Their NBBO spread at execution, micro-dollars × shares.
    pub spread_micros: i128,
}

impl PrincipalFills {
    /// The improvement as a fraction of the spread (`None` without a spread).
    #[must_use]
    pub fn share_of_spread(&self) -> Option<f64> {
        (self.spread_micros > 0).then(|| self.improvement_micros as f64 / self.spread_micros as f64)
    }
}

/// One symbol's day: execution quality (Rule 605 style) and the firm's position and P&L.
#[derive(Debug, Default, Clone, Copy)]
pub struct SymbolDay {
    /// Shares executed in house (crossed and principal).
    pub internal_shares: u64,
    /// Their notional, micro-dollars.
    pub internal_notional_micros: i128,
    /// Their price improvement over the NBBO at execution, micro-dollars.
    pub improvement_micros: i128,
    /// Shares of every execution with a two-sided NBBO at receipt.
    pub spread_shares: u64,
    /// Σ shares × effective spread (2 × how far the price is from the midpoint at
    /// receipt, on the client's side), micro-dollars.
    pub effective_spread_micros: i128,
    /// Σ shares × quoted spread at receipt, micro-dollars.
    pub quoted_spread_micros: i128,
    /// The firm's position, shares (negative: short).
    pub position: i64,
    /// The firm's cash from its trades in the symbol, micro-dollars.
    pub cash_micros: i128,
    /// The last NBBO midpoint, micro-dollars (0: none yet).
    pub last_mid_micros: i64,
}

impl SymbolDay {
    /// The firm's profit and loss: cash plus the position marked at the last midpoint,
    /// in micro-dollars.
    #[must_use]
    pub fn pnl_micros(&self) -> i128 {
        self.cash_micros + i128::from(self.position) * i128::from(self.last_mid_micros)
    }

    /// Average price improvement per internal share, in dollars.
    #[must_use]
    pub fn improvement_per_share(&self) -> f64 {
        if self.internal_shares == 0 {
            return 0.0;
        }
        self.improvement_micros as f64 / 1e6 / self.internal_shares as f64
    }

    /// Average price improvement in basis points of the internal notional.
    #[must_use]
    pub fn improvement_bps(&self) -> f64 {
        if self.internal_notional_micros == 0 {
            return 0.0;
        }
        self.improvement_micros as f64 / self.internal_notional_micros as f64 * 1e4
    }

    /// Effective over quoted spread (below 1: better than the quote).
    #[must_use]
    pub fn effective_over_quoted(&self) -> Option<f64> {
        (self.quoted_spread_micros > 0)
            .then(|| self.effective_spread_micros as f64 / self.quoted_spread_micros as f64)
    }
}

/// A reason's variant name, without its values: the key rejects are counted under.
fn variant(reason: &impl std::fmt::Debug) -> String {
    let text = format!("{reason:?}");
    let end = text.find([' ', '(', '{']).unwrap_or(text.len());
    text[..end].to_owned()
}

fn command_kind(command: &Command) -> &'static str {
    match command {
        Command::NewOrder(_) => "new_order",
        Command::Cancel(_) => "cancel",
        Command::Replace(_) => "replace",
        Command::Nbbo(_) => "nbbo",
        Command::VenueFill(_) => "venue_fill",
        Command::VenueCancel(_) => "venue_cancel",
        Command::VenueChild(_) => "venue_child",
        Command::Locate { .. } => "locate",
        Command::Admin(_) => "admin",
        Command::Settings(_) => "settings",
        Command::EndOfDay { .. } => "end_of_day",
        Command::Snapshot => "snapshot",
    }
}

impl Observer for Summary {
    fn record(&mut self, record: &Record) {
        *self
            .commands
            .entry(command_kind(&record.command))
            .or_default() += 1;
        let time = record.time.get();
        self.span = Some(self.span.map_or((time, time), |(first, _)| (first, time)));
        if let (Command::Nbbo(quote), Verdict::Accepted) = (&record.command, &record.verdict) {
            let day = self.symbols.entry(quote.symbol).or_default();
            day.last_mid_micros = if quote.bid.micros() > 0 && quote.ask.micros() > 0 {
                (quote.bid.micros() + quote.ask.micros()) / 2
            } else {
                day.last_mid_micros
            };
        }
        match record.verdict {
            Verdict::Rejected(reason) => {
                *self.risk_rejects.entry(variant(&reason)).or_default() += 1;
            }
            Verdict::Refused(_) => self.refused += 1,
            Verdict::Accepted | Verdict::Admin(_) => {}
        }
    }

    fn event(&mut self, _input: &Sequenced, event: &Event) {
        let add = |pair: &mut (u64, u64), shares: u64| {
            pair.0 += 1;
            pair.1 += shares;
        };
        match event {
            Event::Accepted { .. } => self.accepted += 1,
            Event::Rejected { reason, .. } => {
                *self.matcher_rejects.entry(variant(reason)).or_default() += 1;
            }
            Event::PositionChanged {
                symbol,
                position,
                delta,
                price,
            } => {
                let day = self.symbols.entry(*symbol).or_default();
                day.position = *position;
                day.cash_micros -= i128::from(*delta) * i128::from(price.micros());
            }
            Event::Filled(fill) => {
                let shares = u64::from(fill.quantity.shares());
                let improvement = i128::from(fill.price_improvement.micros()) * i128::from(shares);
                let day = self.symbols.entry(fill.symbol).or_default();
                let (bid, ask) = (
                    fill.nbbo_at_receipt.bid.micros(),
                    fill.nbbo_at_receipt.ask.micros(),
                );
                if bid > 0 && ask > bid {
                    let doubled_mid = i128::from(bid) + i128::from(ask);
                    let doubled_price = 2 * i128::from(fill.price.micros());
                    let effective = if fill.side == Side::Buy {
                        doubled_price - doubled_mid
                    } else {
                        doubled_mid - doubled_price
                    };
                    day.spread_shares += shares;
                    day.effective_spread_micros += effective * i128::from(shares);
                    day.quoted_spread_micros += i128::from(ask - bid) * i128::from(shares);
                }
                if !matches!(fill.contra, Contra::Venue) {
                    day.internal_shares += shares;
                    day.internal_notional_micros +=
                        i128::from(fill.price.micros()) * i128::from(shares);
                    day.improvement_micros += improvement;
                }
                match fill.contra {
                    Contra::Order(_) => {
                        add(&mut self.crosses, shares);
                        self.improvement_micros += improvement;
                    }
                    Contra::Firm => {
                        add(&mut self.principal, shares);
                        self.improvement_micros += improvement;
                        let client = self.principal_by_client.entry(fill.client).or_default();
                        let spread = fill.nbbo_at_execution.ask.micros()
                            - fill.nbbo_at_execution.bid.micros();
                        client.shares += shares;
                        client.improvement_micros += improvement;
                        client.spread_micros += i128::from(spread) * i128::from(shares);
                    }
                    Contra::Venue => add(&mut self.venue, shares),
                }
            }
            Event::Route(route) => add(&mut self.routes, u64::from(route.quantity.shares())),
            Event::Cancelled { .. } => self.cancels += 1,
            _ => {}
        }
    }

    fn cut(&mut self, cut: u64, state_hash: u64) {
        self.cuts.push((cut, state_hash));
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: u64 = self.commands.values().sum();
        writeln!(f, "records      {total}")?;
        for (kind, count) in &self.commands {
            writeln!(f, "  {kind:<13}{count}")?;
        }
        if let Some((first, last)) = self.span {
            writeln!(
                f,
                "time span    {first} .. {last} ns ({:.3} s)",
                (last - first) as f64 / 1e9
            )?;
        }
        let rejected: u64 = self.risk_rejects.values().sum();
        writeln!(f, "risk rejects {rejected}")?;
        for (reason, count) in &self.risk_rejects {
            writeln!(f, "  {count:>10}  {reason}")?;
        }
        writeln!(f, "refused      {} control messages", self.refused)?;
        writeln!(f, "accepted     {} orders", self.accepted)?;
        for (reason, count) in &self.matcher_rejects {
            writeln!(f, "  rejected {count:>6}  {reason}")?;
        }
        writeln!(
            f,
            "crossed      {} executions, {} shares",
            self.crosses.0, self.crosses.1
        )?;
        writeln!(
            f,
            "principal    {} executions, {} shares",
            self.principal.0, self.principal.1
        )?;
        writeln!(
            f,
            "routed       {} child orders, {} shares",
            self.routes.0, self.routes.1
        )?;
        writeln!(
            f,
            "venue fills  {} executions, {} shares",
            self.venue.0, self.venue.1
        )?;
        writeln!(f, "cancelled    {}", self.cancels)?;
        let improved = self.crosses.1 + self.principal.1;
        if improved > 0 {
            writeln!(
                f,
                "improvement  ${:.2} in all, ${:.4} per internalized share",
                self.improvement_micros as f64 / 1e6,
                self.improvement_micros as f64 / 1e6 / improved as f64
            )?;
        }
        if !self.symbols.is_empty() {
            writeln!(
                f,
                "per symbol   {:>8} {:>10} {:>8} {:>9} {:>10} {:>12}",
                "in-house", "$ impr/sh", "bps", "eff/quo", "position", "firm P&L $"
            )?;
            for (symbol, day) in &self.symbols {
                let ratio = day
                    .effective_over_quoted()
                    .map_or("-".to_owned(), |r| format!("{r:.3}"));
                writeln!(
                    f,
                    "  {:<10} {:>8} {:>10.4} {:>8.2} {:>9} {:>10} {:>12.2}",
                    format!("symbol {}", symbol.get()),
                    day.internal_shares,
                    day.improvement_per_share(),
                    day.improvement_bps(),
                    ratio,
                    day.position,
                    day.pnl_micros() as f64 / 1e6
                )?;
            }
        }
        for (cut, hash) in &self.cuts {
            writeln!(f, "snapshot cut {cut}: state {hash:016x}")?;
        }
        Ok(())
    }
}

/// A running xxh3-64 of every record, output and event: two replays that agree on it
/// agree on every bit of what they produced.
pub struct Digest {
    hasher: xxhash_rust::xxh3::Xxh3,
    scratch: Vec<u8>,
    /// Items hashed.
    pub items: u64,
}

impl Default for Digest {
    fn default() -> Digest {
        Digest {
            hasher: xxhash_rust::xxh3::Xxh3::new(),
            scratch: Vec::with_capacity(256),
            items: 0,
        }
    }
}

impl Digest {
    fn add(&mut self, value: &impl serde::Serialize) {
        self.scratch.clear();
        if let Ok(bytes) = postcard::to_extend(value, std::mem::take(&mut self.scratch)) {
            self.hasher.update(&bytes);
            self.scratch = bytes;
            self.items += 1;
        }
    }

    /// The hash so far.
    #[must_use]
    pub fn value(&self) -> u64 {
        self.hasher.digest()
    }
}

impl Observer for Digest {
    fn record(&mut self, record: &Record) {
        self.add(record);
    }
    fn output(&mut self, output: &Output) {
        self.add(output);
    }
    fn event(&mut self, input: &Sequenced, event: &Event) {
        self.add(&(input.sequence, event));
    }
}

/// Several observers as one.
pub struct Both<'a, A, B>(pub &'a mut A, pub &'a mut B);

impl<A: Observer, B: Observer> Observer for Both<'_, A, B> {
    fn record(&mut self, record: &Record) {
        self.0.record(record);
        self.1.record(record);
    }
    fn output(&mut self, output: &Output) {
        self.0.output(output);
        self.1.output(output);
    }
    fn event(&mut self, input: &Sequenced, event: &Event) {
        self.0.event(input, event);
        self.1.event(input, event);
    }
    fn cut(&mut self, cut: u64, state_hash: u64) {
        self.0.cut(cut, state_hash);
        self.1.cut(cut, state_hash);
    }
}

/// The audit trail's header line.
pub const AUDIT_HEADER: &str = "time_ns,sequence,event,order_id,client,client_order_id,symbol,side,price,quantity,leaves,liquidity,linked_order_id,nbbo_bid,nbbo_ask,price_improvement,detail,operator";

/// A CAT-style audit trail: one CSV line per lifecycle event of every order (received,
/// rejected, internal cross, principal fill, route, venue fill, cancel, replace), with
/// the input's nanosecond timestamp and sequence number, and the links between them: a
/// cross names the contra order, a route and a venue fill name the parent order.
pub struct Audit<W: Write> {
    out: W,
    names: BTreeMap<SymbolId, String>,
    /// The first write error, after which nothing more is written.
    pub error: Option<std::io::Error>,
    /// Lines written.
    pub lines: u64,
    /// The time and sequence number of the last record: a temporary admin change that
    /// expires before a command is audited with them.
    expiry_at: (u64, u64),
}

impl<W: Write> Audit<W> {
    /// An audit trail into `out`, naming symbols by `names`. Writes the header.
    pub fn new(mut out: W, names: &[(SymbolId, String)]) -> Audit<W> {
        let error = writeln!(out, "{AUDIT_HEADER}").err();
        Audit {
            out,
            names: names.iter().cloned().collect(),
            error,
            lines: 0,
            expiry_at: (0, 0),
        }
    }

    /// Flushes and hands back the writer.
    ///
    /// # Errors
    /// The first write error, or the flush's.
    pub fn finish(mut self) -> std::io::Result<W> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn symbol(&self, symbol: SymbolId) -> String {
        self.names
            .get(&symbol)
            .cloned()
            .unwrap_or_else(|| symbol.to_string())
    }

    /// An order event's line (no operator).
    fn line(&mut self, fields: std::fmt::Arguments<'_>) {
        if self.error.is_none() {
            self.error = writeln!(self.out, "{fields},").err();
            self.lines += 1;
        }
    }

    /// A control action's line: `event`, the client or symbol it concerns, the shares
    /// (a locate's), the detail, and the operator.
    #[allow(clippy::too_many_arguments)]
    fn control_line(
        &mut self,
        time: u64,
        sequence: u64,
        event: &str,
        client: Option<ClientId>,
        symbol: Option<SymbolId>,
        quantity: Option<u64>,
        detail: &str,
        operator: u32,
    ) {
        let client = client.map_or_else(String::new, |c| c.to_string());
        let symbol = symbol.map_or_else(String::new, |s| self.symbol(s));
        let quantity = quantity.map_or_else(String::new, |q| q.to_string());
        let detail = csv(detail);
        if self.error.is_none() {
            self.error = writeln!(
                self.out,
                "{time},{sequence},{event},,{client},,{symbol},,,{quantity},,,,,,,{detail},{operator}"
            )
            .err();
            self.lines += 1;
        }
    }

    /// The audit line of an admin change (or of its expiry).
    fn admin_line(&mut self, time: u64, sequence: u64, record: &AdminRecord) {
        let event = match record.cause {
            AdminCause::Message => "admin",
            AdminCause::Expired => "admin_expired",
            AdminCause::Superseded => "admin_superseded",
        };
        let (client, symbol) = setting_scope(&record.new);
        let until = record
            .expires_at
            .map_or_else(String::new, |at| format!(" until {}", at.get()));
        let detail = format!(
            "{} -> {}{until}",
            setting_text(&record.old),
            setting_text(&record.new)
        );
        self.control_line(
            time,
            sequence,
            event,
            client,
            symbol,
            None,
            &detail,
            record.operator,
        );
    }
}

/// A setting and its value as the audit trail writes it: `halted 3 on`,
/// `credit_limit client 2 250000`, `kill_switch firm on`.
fn setting_text(setting: &Setting) -> String {
    let on = |on: bool| if on { "on" } else { "off" };
    match *setting {
        Setting::CreditLimit(client, value) => format!("credit_limit client {client} {value}"),
        Setting::OrderQuantityMax(client, value) => {
            format!("order_quantity_max client {client} {value}")
        }
        Setting::OrderNotionalMax(client, value) => {
            format!("order_notional_max client {client} {value}")
        }
        Setting::MessagesPerSecond(client, value) => {
            format!("messages_per_second client {client} {value}")
        }
        Setting::MarketOrderAdvPpm(client, value) => {
            format!("market_order_adv_ppm client {client} {value}")
        }
        Setting::Restricted(symbol, value) => format!("restricted {symbol} {}", on(value)),
        Setting::Halted(symbol, value) => format!("halted {symbol} {}", on(value)),
        Setting::Band(symbol, Some((lower, upper))) => format!("band {symbol} {lower}-{upper}"),
        Setting::Band(symbol, None) => format!("band {symbol} none"),
        Setting::Rule201(symbol, value) => format!("rule201 {symbol} {}", on(value)),
        Setting::AverageDailyVolume(symbol, value) => {
            format!("average_daily_volume {symbol} {value}")
        }
        Setting::KillSwitch(KillTarget::Firm, value) => format!("kill_switch firm {}", on(value)),
        Setting::KillSwitch(KillTarget::Symbol(symbol), value) => {
            format!("kill_switch symbol {symbol} {}", on(value))
        }
        Setting::KillSwitch(KillTarget::Client(client), value) => {
            format!("kill_switch client {client} {}", on(value))
        }
        Setting::MarketHalted(symbol, value) => format!("market_halted {symbol} {}", on(value)),
        Setting::ImprovementMultiplier(client, ppm) => {
            format!("improvement_multiplier_ppm client {client} {ppm}")
        }
    }
}

/// The client or symbol a setting is for (neither for the firm's kill switch).
fn setting_scope(setting: &Setting) -> (Option<ClientId>, Option<SymbolId>) {
    match *setting {
        Setting::CreditLimit(client, _)
        | Setting::OrderQuantityMax(client, _)
        | Setting::OrderNotionalMax(client, _)
        | Setting::MessagesPerSecond(client, _)
        | Setting::MarketOrderAdvPpm(client, _)
        | Setting::ImprovementMultiplier(client, _)
        | Setting::KillSwitch(KillTarget::Client(client), _) => (Some(client), None),
        Setting::Restricted(symbol, _)
        | Setting::Halted(symbol, _)
        | Setting::MarketHalted(symbol, _)
        | Setting::Band(symbol, _)
        | Setting::Rule201(symbol, _)
        | Setting::AverageDailyVolume(symbol, _)
        | Setting::KillSwitch(KillTarget::Symbol(symbol), _) => (None, Some(symbol)),
        Setting::KillSwitch(KillTarget::Firm, _) => (None, None),
    }
}

impl<W: Write> Audit<W> {}

fn side(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
        Side::SellShort => "sell_short",
        Side::SellShortExempt => "sell_short_exempt",
    }
}

fn price(price: Option<Price>) -> String {
    price.map_or_else(String::new, |p| p.to_string())
}

impl<W: Write> Observer for Audit<W> {
    fn record(&mut self, record: &Record) {
        let (t, s) = (record.time.get(), record.sequence.get());
        self.expiry_at = (t, s);
        match (&record.command, record.verdict) {
            (Command::NewOrder(order), verdict) => {
                let (event, detail) = match verdict {
                    Verdict::Rejected(reason) => ("risk_reject", reason.to_string()),
                    _ => (
                        "new_order",
                        format!("{:?} {:?}", order.order_type, order.time_in_force),
                    ),
                };
                let symbol = self.symbol(order.symbol);
                self.line(format_args!(
                    "{t},{s},{event},{s},{},{},{symbol},{},{},{},,,,,,,{}",
                    order.client,
                    order.client_order_id,
                    side(order.side),
                    order.price,
                    order.quantity,
                    csv(&detail)
                ));
            }
            (Command::Cancel(cancel), Verdict::Rejected(reason)) => self.line(format_args!(
                "{t},{s},risk_reject,,{},{},{},,,,,,,,,,{}",
                cancel.client,
                cancel.client_order_id,
                self.symbol(cancel.symbol),
                csv(&format!("cancel: {reason}"))
            )),
            (Command::Replace(replace), Verdict::Rejected(reason)) => self.line(format_args!(
                "{t},{s},risk_reject,,{},{},,,,,,,,,,,{}",
                replace.client,
                replace.client_order_id,
                csv(&format!("replace: {reason}"))
            )),
            (Command::Admin(_), Verdict::Admin(admin)) => self.admin_line(t, s, &admin),
            (Command::Admin(change), Verdict::Refused(error)) => {
                let (client, symbol) = setting_scope(&change.setting);
                let detail = format!("{}: {error}", setting_text(&change.setting));
                self.control_line(
                    t,
                    s,
                    "admin_refused",
                    client,
                    symbol,
                    None,
                    &detail,
                    change.operator,
                );
            }
            (
                Command::Locate {
                    client,
                    symbol,
                    shares,
                    locate_id,
                    expires_s,
                    operator,
                    ..
                },
                verdict,
            ) => {
                let (event, mut detail) = match verdict {
                    Verdict::Refused(error) => ("locate_refused", format!("{error}; ")),
                    _ => ("locate", String::new()),
                };
                detail.push_str(&format!("locate id {locate_id}"));
                if *expires_s != 0 {
                    detail.push_str(&format!(", expires {expires_s} s"));
                }
                self.control_line(
                    t,
                    s,
                    event,
                    Some(*client),
                    Some(*symbol),
                    Some(*shares),
                    &detail,
                    *operator,
                );
            }
            (Command::EndOfDay { operator, .. }, _) => {
                self.control_line(t, s, "end_of_day", None, None, None, "", *operator);
            }
            _ => {}
        }
    }

    fn output(&mut self, output: &Output) {
        // A temporary change's expiry is no command of its own: it is decided at the
        // time of the command it comes before, and the audit names it there.
        if let Output::Admin(record) = output {
            if record.cause != AdminCause::Message {
                let (t, s) = self.expiry_at;
                self.admin_line(t, s, record);
            }
        }
    }

    fn event(&mut self, input: &Sequenced, event: &Event) {
        let (t, s) = (input.time.get(), input.sequence.get());
        match event {
            Event::Rejected {
                client,
                client_order_id,
                symbol,
                reason,
            } => {
                let symbol = self.symbol(*symbol);
                self.line(format_args!(
                    "{t},{s},matcher_reject,,{client},{client_order_id},{symbol},,,,,,,,,,{}",
                    csv(&reason.to_string())
                ));
            }
            Event::Filled(fill) => {
                let (event, linked) = match fill.contra {
                    Contra::Order(other) => ("internal_cross", other.to_string()),
                    Contra::Firm => ("principal_fill", String::new()),
                    Contra::Venue => ("venue_fill", String::new()),
                };
                let symbol = self.symbol(fill.symbol);
                self.line(format_args!(
                    "{t},{s},{event},{},{},{},{symbol},{},{},{},{},{:?},{linked},{},{},{},{:?}",
                    fill.order_id,
                    fill.client,
                    fill.client_order_id,
                    side(fill.side),
                    fill.price,
                    fill.quantity,
                    fill.leaves,
                    fill.liquidity,
                    fill.nbbo_at_execution.bid,
                    fill.nbbo_at_execution.ask,
                    fill.price_improvement,
                    fill.capacity
                ));
            }
            Event::Route(route) => {
                let symbol = self.symbol(route.symbol);
                self.line(format_args!(
                    "{t},{s},route,{},,,{symbol},{},{},{},,,{},,,,{:?}",
                    route.order_id,
                    side(route.side),
                    price(route.limit),
                    route.quantity,
                    route.order_id,
                    route.capacity
                ));
            }
            Event::Cancelled {
                order_id,
                client,
                client_order_id,
                quantity,
                reason,
            } => self.line(format_args!(
                "{t},{s},cancel,{order_id},{client},{client_order_id},,,,{quantity},,,,,,,{}",
                csv(&reason.to_string())
            )),
            Event::Replaced {
                order_id,
                client,
                client_order_id,
                original_client_order_id,
                price,
                quantity,
                ..
            } => self.line(format_args!(
                "{t},{s},replace,{order_id},{client},{client_order_id},,,{price},{quantity},,,,,,,replaces {original_client_order_id}"
            )),
            Event::CancelRejected {
                client,
                client_order_id,
                reason,
                ..
            } => self.line(format_args!(
                "{t},{s},cancel_reject,,{client},{client_order_id},,,,,,,,,,,{}",
                csv(&reason.to_string())
            )),
            _ => {}
        }
    }
}

/// Quotes a CSV field that holds a comma or a quote.
fn csv(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// The engine's state at a point, for `crossline replay --until`.
pub fn state_text<J: crossline_sequencer::Journal>(
    engine: &crossline_engine::Engine<J>,
    names: &[(SymbolId, String)],
    clients: &[ClientId],
) -> String {
    use std::fmt::Write as _;
    let gate = engine.sequencer().gate();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "next sequence {}; open orders {}",
        engine.sequencer().next_sequence(),
        gate.open_orders()
    );
    let _ = writeln!(text, "inventory:");
    for (symbol, name) in names {
        if let Some(view) = gate.inventory(*symbol) {
            let _ = writeln!(
                text,
                "  {name:<6} position {:>8}  average cost {:>12}  realized {:>14.2}  unrealized {:>14.2}",
                view.quantity,
                view.average_cost,
                view.realized_pnl as f64 / 1e6,
                view.unrealized_pnl as f64 / 1e6
            );
        }
    }
    let (realized, unrealized) = gate.firm_pnl();
    let _ = writeln!(
        text,
        "  firm   realized {:.2}  unrealized {:.2}",
        realized as f64 / 1e6,
        unrealized as f64 / 1e6
    );
    let _ = writeln!(
        text,
        "credit used (open orders and today's fills), by client:"
    );
    for client in clients {
        if let Some(exposure) = gate.exposure(*client) {
            let _ = writeln!(text, "  client {client:<6} {:.2}", exposure as f64 / 1e6);
        }
    }
    text
}
