//! `crossline admin`: one subcommand per operator command on the admin port
//! (docs/OPERATIONS.md). Human output by default, `--json` for scripts; the exit status
//! is 0 when the engine applied the command, 1 when it refused it, 2 when the command
//! could not be sent (no connection, a refused logon, a bad argument or file).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use crossline_protocol::admin::{
    Inbound, Outbound, STATUS_CLIENT, STATUS_ENGINE, STATUS_SYMBOL, SYMBOL_HALTED_BY_MARKET,
    SYMBOL_HALTED_BY_OPERATOR, SYMBOL_KILLED, SYMBOL_RESTRICTED, SYMBOL_RULE_201,
};
use crossline_types::layout::AdminLayout;
use crossline_types::Price;
use rust_decimal::Decimal;

use crate::admin::{
    multiplier_text, parse_classes, parse_locates, parse_multiplier, parse_time, refusal_text,
    AdminSession, Answer, ImprovementLine,
};

/// How to reach the admin port, and what to do there.
#[derive(Args)]
pub struct AdminArgs {
    /// The engine's admin port (`[admin] listen`).
    #[arg(long, default_value = "127.0.0.1:9101", value_name = "ADDR")]
    pub address: SocketAddr,
    /// The operator's id (`[[operators]] id`).
    #[arg(long, env = "CROSSLINE_OPERATOR", value_name = "ID")]
    pub operator: u32,
    /// The operator's secret. Prefer the environment variable: a command line is visible
    /// to every user of the host.
    #[arg(
        long,
        env = "CROSSLINE_ADMIN_SECRET",
        hide_env_values = true,
        value_name = "SECRET"
    )]
    pub secret: String,
    /// Print the outcome as one JSON object per command.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the engine's answer.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub timeout: f64,
    /// The command.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// On or off.
#[derive(Clone, Copy, ValueEnum)]
pub enum Switch {
    /// Turn it on.
    On,
    /// Turn it off.
    Off,
}

/// What a kill switch covers.
#[derive(Clone, Copy, ValueEnum)]
pub enum Scope {
    /// Every order of every client.
    Firm,
    /// One symbol's orders (give its id).
    Symbol,
    /// One client's orders (give its id).
    Client,
}

/// A client limit.
#[derive(Clone, Copy, ValueEnum)]
pub enum Limit {
    /// Credit: open-order plus executed notional, dollars per day.
    Credit,
    /// Largest order, shares.
    OrderQuantity,
    /// Largest order notional, dollars.
    OrderNotional,
    /// Sustained messages per second.
    MessagesPerSecond,
    /// Largest market order, ppm of average daily volume.
    MarketOrderAdvPpm,
}

/// When a temporary change reverts.
#[derive(Args, Clone, Copy, Default)]
pub struct Expiry {
    /// Revert after this many seconds.
    #[arg(long = "for", value_name = "SECONDS", conflicts_with = "until")]
    pub for_seconds: Option<u64>,
    /// Revert at this time (`YYYY-MM-DDTHH:MM:SSZ`, `YYYY-MM-DD` for the end of that day
    /// UTC, or seconds since the epoch).
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    pub until: Option<u64>,
}

fn parse_until(text: &str) -> Result<u64, String> {
    parse_time(text).ok_or_else(|| {
        format!("\"{text}\" is not YYYY-MM-DDTHH:MM:SSZ, YYYY-MM-DD or seconds since the epoch")
    })
}

/// The operator commands.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Turn a kill switch on (every open order in scope is cancelled, new ones refused)
    /// or off: `kill on firm`, `kill off client 3`.
    Kill {
        /// On or off.
        switch: Switch,
        /// Firm, symbol or client.
        scope: Scope,
        /// The symbol's or client's id (not for the firm).
        id: Option<u32>,
        /// When it reverts by itself.
        #[command(flatten)]
        expiry: Expiry,
    },
    /// Halt trading in a symbol.
    Halt {
        /// The symbol's id.
        symbol: u32,
        /// When the halt lifts by itself.
        #[command(flatten)]
        expiry: Expiry,
    },
    /// Resume trading in a halted symbol.
    Resume {
        /// The symbol's id.
        symbol: u32,
    },
    /// Put a symbol on the restricted list (orders in it are refused).
    Restrict {
        /// The symbol's id.
        symbol: u32,
        /// When it comes off by itself.
        #[command(flatten)]
        expiry: Expiry,
    },
    /// Take a symbol off the restricted list.
    Unrestrict {
        /// The symbol's id.
        symbol: u32,
    },
    /// Turn a symbol's Reg SHO Rule 201 short-sale price test on or off.
    Rule201 {
        /// The symbol's id.
        symbol: u32,
        /// On or off.
        switch: Switch,
    },
    /// Set a symbol's limit-up/limit-down band (dollars), or clear it with `--clear`.
    Band {
        /// The symbol's id.
        symbol: u32,
        /// The lower bound, dollars.
        #[arg(required_unless_present = "clear")]
        lower: Option<String>,
        /// The upper bound, dollars.
        #[arg(required_unless_present = "clear")]
        upper: Option<String>,
        /// Clear the band.
        #[arg(long, conflicts_with_all = ["lower", "upper"])]
        clear: bool,
    },
    /// Change a client's limit, for good or until an expiry.
    Limit {
        /// The client's id.
        client: u32,
        /// Which limit.
        limit: Limit,
        /// The new value: dollars for credit and order notional, else a whole number.
        value: String,
        /// When it reverts by itself.
        #[command(flatten)]
        expiry: Expiry,
    },
    /// Set a symbol's average daily volume (shares), for the market-order size check.
    Adv {
        /// The symbol's id.
        symbol: u32,
        /// Shares.
        shares: u64,
    },
    /// A client's price-improvement multiplier on the firm's principal fills (0 to 2; 1
    /// is the symbol's own improvement): `improvement set 3 0.5`, or `improvement load
    /// markouts-2026-12-classes.csv` from `crossline report markouts`.
    Improvement {
        /// What to do.
        #[command(subcommand)]
        action: ImprovementAction,
    },
    /// Stock-loan locates.
    Locates {
        /// What to do with them.
        #[command(subcommand)]
        action: LocatesAction,
    },
    /// End the trading day (day orders expire, credit and locates start afresh).
    EndOfDay,
    /// Show a client's, a symbol's or the engine's state (any role): `status client 3`,
    /// `status symbol 2`, `status engine`.
    Status {
        /// Client, symbol or engine.
        of: StatusOf,
        /// The client's or symbol's id (not for the engine).
        id: Option<u32>,
    },
}

/// What `crossline admin status` shows.
#[derive(Clone, Copy, ValueEnum)]
pub enum StatusOf {
    /// One client: open orders, credit used, message rate.
    Client,
    /// One symbol: the firm's position and P&L, halts, band, Rule 201.
    Symbol,
    /// The engine: the journal's position, open orders, ring depths.
    Engine,
}

/// What to do with price-improvement multipliers.
#[derive(Subcommand)]
pub enum ImprovementAction {
    /// Set one client's multiplier, for good or until an expiry.
    Set {
        /// The client's id.
        client: u32,
        /// The multiplier, 0 to 2 (e.g. 0.5 for informed flow, 1.5 for uninformed).
        multiplier: String,
        /// When it reverts by itself.
        #[command(flatten)]
        expiry: Expiry,
    },
    /// Load a flow classification: the `markouts-<month>-classes.csv` `crossline report
    /// markouts` writes (client first, multiplier last), or `client,multiplier` lines.
    /// Every line is checked first; a file with a bad line is reported (with line
    /// numbers) and nothing of it is sent.
    Load {
        /// The CSV file.
        file: PathBuf,
    },
}

/// What to do with locates.
#[derive(Subcommand)]
pub enum LocatesAction {
    /// Load a locate file: CSV lines `client,symbol,shares,locate_id,expiry`. Every line
    /// is checked first; a file with a bad line is reported (with line numbers) and
    /// nothing of it is sent.
    Load {
        /// The CSV file.
        file: PathBuf,
    },
}

/// Runs `crossline admin status`.
fn run_status(args: &AdminArgs, of: StatusOf, id: Option<u32>) -> ExitCode {
    let (scope, id) = match (of, id) {
        (StatusOf::Client, Some(id)) => (STATUS_CLIENT, id),
        (StatusOf::Symbol, Some(id)) => (STATUS_SYMBOL, id),
        (StatusOf::Engine, None) => (STATUS_ENGINE, 0),
        (StatusOf::Engine, Some(_)) => {
            eprintln!("crossline admin: status engine takes no id");
            return ExitCode::from(2);
        }
        (_, None) => {
            eprintln!("crossline admin: give the client's or symbol's id");
            return ExitCode::from(2);
        }
    };
    let timeout = Duration::from_secs_f64(args.timeout.max(0.001));
    let answer = AdminSession::logon(args.address, args.operator, &args.secret, timeout).and_then(
        |mut session| {
            let answer = session.status(scope, id)?;
            let _ = session.logout();
            Ok(answer)
        },
    );
    match answer {
        Ok(Ok(status)) => {
            if args.json {
                println!("{}", status_json(&status));
            } else {
                println!("{}", status_text(&status));
            }
            ExitCode::SUCCESS
        }
        Ok(Err(refused)) => {
            if args.json {
                println!("{}", answer_json("status", &refused));
            } else {
                println!("{}", answer_text("status", &refused));
            }
            ExitCode::from(1)
        }
        Err(error) => {
            report_error(args.json, &error.to_string());
            ExitCode::from(2)
        }
    }
}

fn dollars_text(micros: i64) -> String {
    format!("${}", Price::from_micros(micros))
}

fn status_text(status: &Outbound) -> String {
    let on = |value: bool| if value { "on" } else { "off" };
    match *status {
        Outbound::ClientStatus {
            client,
            open_orders,
            killed,
            credit_used,
            credit_limit,
            messages_per_second,
            message_burst,
            tokens,
            improvement_ppm,
            ..
        } => format!(
            "client {client}: {open_orders} open orders; credit used {} of {}; kill switch \
             {}; message rate limit {messages_per_second}/s, burst {message_burst}, \
             {tokens} left after its last message; price-improvement multiplier {}",
            dollars_text(credit_used),
            dollars_text(credit_limit),
            on(killed),
            multiplier_text(improvement_ppm)
        ),
        Outbound::SymbolStatus {
            symbol,
            flags,
            position,
            realized_pnl,
            unrealized_pnl,
            band_lower,
            band_upper,
            ..
        } => {
            let flag = |bit: u8| flags & bit != 0;
            let band = if band_lower == 0 && band_upper == 0 {
                "none".to_owned()
            } else {
                format!(
                    "{} to {}",
                    dollars_text(band_lower),
                    dollars_text(band_upper)
                )
            };
            format!(
                "symbol {symbol}: position {position} shares, realized P&L {}, unrealized {}; \
                 halted by an operator: {}, by the market: {}; band {band}; Rule 201 {}; \
                 kill switch {}; restricted: {}",
                dollars_text(realized_pnl),
                dollars_text(unrealized_pnl),
                yes(flag(SYMBOL_HALTED_BY_OPERATOR)),
                yes(flag(SYMBOL_HALTED_BY_MARKET)),
                on(flag(SYMBOL_RULE_201)),
                on(flag(SYMBOL_KILLED)),
                yes(flag(SYMBOL_RESTRICTED)),
            )
        }
        Outbound::EngineStatus {
            open_orders,
            last_sequence,
            firm_killed,
            commands_depth,
            market_data_depth,
            venue_reports_depth,
            sequenced_depth,
            events_back_depth,
            events_out_depth,
            replies_depth,
            venue_tops_depth,
            ..
        } => format!(
            "engine: journal at sequence {last_sequence}; {open_orders} open orders; firm kill \
             switch {}; ring depths: commands {commands_depth}, market_data \
             {market_data_depth}, venue_reports {venue_reports_depth}, sequenced \
             {sequenced_depth}, events_back {events_back_depth}, events_out \
             {events_out_depth}, replies {replies_depth}, venue_tops {venue_tops_depth}",
            on(firm_killed)
        ),
        ref other => format!("{other:?}"),
    }
}

fn yes(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

fn status_json(status: &Outbound) -> serde_json::Value {
    match *status {
        Outbound::ClientStatus {
            request,
            client,
            open_orders,
            killed,
            credit_used,
            credit_limit,
            messages_per_second,
            message_burst,
            tokens,
            improvement_ppm,
        } => serde_json::json!({
            "status": "client", "request": request, "client": client.get(),
            "open_orders": open_orders, "kill_switch": killed,
            "credit_used_micros": credit_used, "credit_limit_micros": credit_limit,
            "messages_per_second": messages_per_second, "message_burst": message_burst,
            "tokens": tokens, "improvement_multiplier_ppm": improvement_ppm,
        }),
        Outbound::SymbolStatus {
            request,
            symbol,
            flags,
            position,
            realized_pnl,
            unrealized_pnl,
            band_lower,
            band_upper,
        } => {
            let flag = |bit: u8| flags & bit != 0;
            let band = (band_lower != 0 || band_upper != 0)
                .then(|| serde_json::json!([band_lower, band_upper]));
            serde_json::json!({
                "status": "symbol", "request": request, "symbol": symbol.get(),
                "position": position, "realized_pnl_micros": realized_pnl,
                "unrealized_pnl_micros": unrealized_pnl,
                "halted_by_operator": flag(SYMBOL_HALTED_BY_OPERATOR),
                "halted_by_market": flag(SYMBOL_HALTED_BY_MARKET),
                "rule_201": flag(SYMBOL_RULE_201), "kill_switch": flag(SYMBOL_KILLED),
                "restricted": flag(SYMBOL_RESTRICTED), "band_micros": band,
            })
        }
        Outbound::EngineStatus {
            request,
            open_orders,
            last_sequence,
            firm_killed,
            commands_depth,
            market_data_depth,
            venue_reports_depth,
            sequenced_depth,
            events_back_depth,
            events_out_depth,
            replies_depth,
            venue_tops_depth,
        } => serde_json::json!({
            "status": "engine", "request": request, "open_orders": open_orders,
            "last_sequence": last_sequence, "firm_kill_switch": firm_killed,
            "ring_depths": {
                "commands": commands_depth, "market_data": market_data_depth,
                "venue_reports": venue_reports_depth, "sequenced": sequenced_depth,
                "events_back": events_back_depth, "events_out": events_out_depth,
                "replies": replies_depth, "venue_tops": venue_tops_depth,
            },
        }),
        ref other => serde_json::json!({ "unexpected": format!("{other:?}") }),
    }
}

/// Runs `crossline admin`.
#[must_use]
pub fn run(args: AdminArgs) -> ExitCode {
    if let AdminCommand::Status { of, id } = args.command {
        return run_status(&args, of, id);
    }
    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let messages = match messages(&args.command, now_s) {
        Ok(messages) => messages,
        Err(lines) => {
            for line in lines {
                eprintln!("crossline admin: {line}");
            }
            return ExitCode::from(2);
        }
    };
    let timeout = Duration::from_secs_f64(args.timeout.max(0.001));
    let mut session = match AdminSession::logon(args.address, args.operator, &args.secret, timeout)
    {
        Ok(session) => session,
        Err(error) => {
            report_error(args.json, &error.to_string());
            return ExitCode::from(2);
        }
    };
    let answers = match session.request_all(&messages) {
        Ok(answers) => answers,
        Err(error) => {
            report_error(args.json, &error.to_string());
            return ExitCode::from(2);
        }
    };
    let _ = session.logout();
    let name = command_name(&args.command);
    let mut refused = 0;
    for answer in &answers {
        if !answer.accepted() {
            refused += 1;
        }
        if args.json {
            println!("{}", answer_json(name, answer));
        } else {
            println!("{}", answer_text(name, answer));
        }
    }
    if answers.len() > 1 && !args.json {
        println!(
            "{name}: {} of {} applied, {refused} refused",
            answers.len() - refused,
            answers.len()
        );
    }
    if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn report_error(json: bool, what: &str) {
    if json {
        println!(
            "{}",
            serde_json::json!({ "accepted": false, "error": what })
        );
    }
    eprintln!("crossline admin: {what}");
}

fn command_name(command: &AdminCommand) -> &'static str {
    match command {
        AdminCommand::Kill { .. } => "kill",
        AdminCommand::Halt { .. } => "halt",
        AdminCommand::Resume { .. } => "resume",
        AdminCommand::Restrict { .. } => "restrict",
        AdminCommand::Unrestrict { .. } => "unrestrict",
        AdminCommand::Rule201 { .. } => "rule201",
        AdminCommand::Band { .. } => "band",
        AdminCommand::Limit { .. } => "limit",
        AdminCommand::Adv { .. } => "adv",
        AdminCommand::Improvement {
            action: ImprovementAction::Set { .. },
        } => "improvement set",
        AdminCommand::Improvement {
            action: ImprovementAction::Load { .. },
        } => "improvement load",
        AdminCommand::Locates { .. } => "locates load",
        AdminCommand::EndOfDay => "end-of-day",
        AdminCommand::Status { .. } => "status",
    }
}

fn answer_text(name: &str, answer: &Answer) -> String {
    match *answer {
        Answer::Accepted { request, sequence } => {
            format!("{name}: applied (request {request}, journal sequence {sequence})")
        }
        Answer::Refused {
            request,
            reason,
            sequence: 0,
        } => format!(
            "{name}: refused, reason {reason}: {} (request {request}, not journaled)",
            refusal_text(reason)
        ),
        Answer::Refused {
            request,
            reason,
            sequence,
        } => format!(
            "{name}: refused by the risk gate, reason {reason}: {} (request {request}, journal sequence {sequence})",
            refusal_text(reason)
        ),
    }
}

fn answer_json(name: &str, answer: &Answer) -> serde_json::Value {
    match *answer {
        Answer::Accepted { request, sequence } => serde_json::json!({
            "command": name, "accepted": true, "request": request, "sequence": sequence,
        }),
        Answer::Refused {
            request,
            reason,
            sequence,
        } => serde_json::json!({
            "command": name, "accepted": false, "request": request, "reason": reason,
            "reason_text": refusal_text(reason),
            "sequence": if sequence == 0 { serde_json::Value::Null } else { sequence.into() },
        }),
    }
}

/// A control frame.
fn control(target: u32, setting: u8, on: bool, value: i64, upper: i64, expires_at: u64) -> Inbound {
    Inbound::Control {
        target,
        setting,
        on,
        value,
        upper,
        expires_at,
    }
}

fn expiry_ns(expiry: &Expiry, now_s: u64) -> u64 {
    match (expiry.for_seconds, expiry.until) {
        (Some(seconds), _) => now_s.saturating_add(seconds).saturating_mul(1_000_000_000),
        (None, Some(at)) => at.saturating_mul(1_000_000_000),
        (None, None) => 0,
    }
}

fn dollars(what: &str, text: &str) -> Result<i64, Vec<String>> {
    Decimal::from_str(text)
        .ok()
        .and_then(|value| Price::from_decimal(value).ok())
        .map(Price::micros)
        .ok_or_else(|| {
            vec![format!(
                "{what} \"{text}\" is not a dollar amount (e.g. 250000 or 10.05)"
            )]
        })
}

/// Reads `file` and checks every line with `parse`: on any error, each one named with
/// the file, and that nothing was sent.
fn read_checked<T>(
    file: &std::path::Path,
    parse: impl FnOnce(&str) -> Result<Vec<T>, Vec<String>>,
) -> Result<Vec<T>, Vec<String>> {
    let text =
        std::fs::read_to_string(file).map_err(|e| vec![format!("{}: {e}", file.display())])?;
    parse(&text).map_err(|errors| {
        let mut errors: Vec<String> = errors
            .into_iter()
            .map(|e| format!("{}: {e}", file.display()))
            .collect();
        errors.push(format!("{}: nothing was sent", file.display()));
        errors
    })
}

/// The admin frames a command sends (a locate file: one per line).
fn messages(command: &AdminCommand, now_s: u64) -> Result<Vec<Inbound>, Vec<String>> {
    let switch = |s: Switch| matches!(s, Switch::On);
    Ok(vec![match command {
        AdminCommand::Kill {
            switch: on,
            scope,
            id,
            expiry,
        } => {
            let (setting, target) = match (scope, id) {
                (Scope::Firm, None) => (11, 0),
                (Scope::Firm, Some(_)) => {
                    return Err(vec!["a firm kill switch takes no id".to_owned()])
                }
                (Scope::Symbol, Some(id)) => (12, *id),
                (Scope::Client, Some(id)) => (13, *id),
                (_, None) => return Err(vec!["give the symbol's or client's id".to_owned()]),
            };
            control(target, setting, switch(*on), 0, 0, expiry_ns(expiry, now_s))
        }
        AdminCommand::Halt { symbol, expiry } => {
            control(*symbol, 7, true, 0, 0, expiry_ns(expiry, now_s))
        }
        AdminCommand::Resume { symbol } => control(*symbol, 7, false, 0, 0, 0),
        AdminCommand::Restrict { symbol, expiry } => {
            control(*symbol, 6, true, 0, 0, expiry_ns(expiry, now_s))
        }
        AdminCommand::Unrestrict { symbol } => control(*symbol, 6, false, 0, 0, 0),
        AdminCommand::Rule201 { symbol, switch: on } => control(*symbol, 9, switch(*on), 0, 0, 0),
        AdminCommand::Band {
            symbol,
            lower,
            upper,
            clear,
        } => match (lower, upper, clear) {
            (_, _, true) => control(*symbol, 8, false, 0, 0, 0),
            (Some(lower), Some(upper), false) => control(
                *symbol,
                8,
                true,
                dollars("lower", lower)?,
                dollars("upper", upper)?,
                0,
            ),
            _ => {
                return Err(vec![
                    "give the band's lower and upper bounds, or --clear".to_owned()
                ])
            }
        },
        AdminCommand::Limit {
            client,
            limit,
            value,
            expiry,
        } => {
            let whole = |text: &str| -> Result<i64, Vec<String>> {
                text.parse::<u32>().map(i64::from).map_err(|_| {
                    vec![format!(
                        "value \"{text}\" is not a whole number from 0 to 4294967295"
                    )]
                })
            };
            let (setting, value) = match limit {
                Limit::Credit => (1, dollars("credit", value)?),
                Limit::OrderQuantity => (2, whole(value)?),
                Limit::OrderNotional => (3, dollars("order notional", value)?),
                Limit::MessagesPerSecond => (4, whole(value)?),
                Limit::MarketOrderAdvPpm => (5, whole(value)?),
            };
            control(*client, setting, false, value, 0, expiry_ns(expiry, now_s))
        }
        AdminCommand::Adv { symbol, shares } => {
            let shares = i64::from_le_bytes(shares.to_le_bytes());
            control(*symbol, 10, false, shares, 0, 0)
        }
        AdminCommand::Improvement {
            action:
                ImprovementAction::Set {
                    client,
                    multiplier,
                    expiry,
                },
        } => control(
            *client,
            AdminLayout::SETTING_IMPROVEMENT_MULTIPLIER,
            false,
            i64::from(parse_multiplier(multiplier).map_err(|e| vec![e])?),
            0,
            expiry_ns(expiry, now_s),
        ),
        AdminCommand::Improvement {
            action: ImprovementAction::Load { file },
        } => {
            let lines = read_checked(file, parse_classes)?;
            return Ok(lines.iter().map(ImprovementLine::message).collect());
        }
        AdminCommand::Locates {
            action: LocatesAction::Load { file },
        } => {
            let lines = read_checked(file, |text| parse_locates(text, now_s))?;
            return Ok(lines
                .iter()
                .map(crate::admin::LocateLine::message)
                .collect());
        }
        AdminCommand::EndOfDay => Inbound::EndOfDay {},
        AdminCommand::Status { .. } => {
            return Err(vec!["status is answered by its own path".to_owned()])
        }
    }])
}
