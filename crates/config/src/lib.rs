//! Crossline's TOML configuration: the risk gate's limits, the matcher's policies and
//! every symbol's settings, in human units (dollars as decimals, times in milliseconds),
//! parsed into the engine's fixed-point configuration structs.
//!
//! Every table refuses unknown keys (a misspelt limit must not silently fall back to a
//! default), and every error names the table and key: `symbols[2] (id 7): long_max is
//! missing (set it there or in [symbol_defaults])`. The whole configuration is then
//! checked by building the gate and the matcher from it, so a file that parses is a file
//! the engine starts with. `docs/RISK.md` lists every key; [`DEFAULT`] is the embedded
//! configuration (`crossline demo` runs on it unless given `--config`).
//!
//! ```
//! let config = crossline_config::parse(crossline_config::DEFAULT).unwrap();
//! assert!(!config.risk.clients.is_empty());
//! assert_eq!(config.risk.symbols.len(), config.matcher.symbols.len());
//! ```
#![forbid(unsafe_code)]

use std::str::FromStr;

use crossline_book::BookConfig;
use crossline_matcher::{
    CrossPrice, Matcher, MatcherConfig, Mode, SelfMatch, SymbolConfig, SymbolSettings, UnusableNbbo,
};
use crossline_risk::{ClientLimits, CollarTier, RiskConfig, RiskGate, SymbolRisk};
use crossline_types::{ClientId, Price, Quantity, SymbolId};
use rust_decimal::Decimal;
use serde::Deserialize;

mod admin;
mod fix;
mod network;
mod pipeline;
mod routing;
pub use admin::{AdminSettings, Operator, Role};
pub use fix::{FixRole, FixSession, FixSettings, FixVersion};
pub use network::{GatewaySettings, MarketDataSettings, Network, ReplayPace};
pub use pipeline::{AgentKind, PipelineSettings, Placement, RingSizes, ThreadSettings, IDLE_NAMES};
pub use routing::{ScheduledKind, ScheduledStatus, SimulatedVenue, SimulatorSettings};

/// The embedded default configuration: a small firm with four clients and four symbols.
pub const DEFAULT: &str = include_str!("../default.toml");

/// A parsed, checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The risk gate's.
    pub risk: RiskConfig,
    /// The matcher's.
    pub matcher: MatcherConfig,
    /// Each symbol's display name (ticker), by id.
    pub symbol_names: Vec<(SymbolId, String)>,
    /// The journal's.
    pub journal: JournalSettings,
    /// The transport's, client sessions' and the feed's.
    pub network: Network,
    /// Each client's logon secret (clients without one cannot log on), by id.
    pub secrets: Vec<(ClientId, String)>,
    /// The admin port and its operators.
    pub admin: AdminSettings,
    /// The FIX port and its sessions.
    pub fix: FixSettings,
    /// The router's, with the venues (none: routes are cancelled back).
    pub router: crossline_router::RouterConfig,
    /// How `crossline-venue` plays the venues.
    pub simulator: SimulatorSettings,
    /// Where the pipeline's agents run and the rings between them.
    pub pipeline: PipelineSettings,
}

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// Not valid TOML, or a value of the wrong type, or an unknown key.
    #[error("{0}")]
    Toml(String),
    /// A required key is absent.
    #[error("{table}: {key} is missing{hint}")]
    Missing {
        /// Where.
        table: String,
        /// The key.
        key: &'static str,
        /// Where else it could be set.
        hint: &'static str,
    },
    /// A value out of range or unreadable.
    #[error("{table}: {key} = {value}: {expected}")]
    Invalid {
        /// Where.
        table: String,
        /// The key.
        key: &'static str,
        /// The value as written.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// `[net] connections_max` leaves a configured client or operator, or a connection
    /// waiting to log on within `[gateway]` or `[admin] pending_logons_max`, without a
    /// slot (the admin port shares the order ingress's transport).
    #[error(
        "[net]: connections_max = {connections_max}: must be at least {needed}, the \
         {clients} clients with a secret plus [gateway] pending_logons_max = \
         {pending_logons_max}, plus the {operators} operators plus [admin] \
         pending_logons_max = {admin_pending_logons_max}, plus the {fix_sessions} \
         [[fix_sessions]] plus [fix] pending_logons_max = {fix_pending_logons_max} (every \
         client, operator and FIX session must find a slot however many connections wait \
         to log on)"
    )]
    TooFewConnections {
        /// `[net] connections_max`.
        connections_max: usize,
        /// `[[clients]]` entries with a `secret`.
        clients: usize,
        /// `[gateway] pending_logons_max`.
        pending_logons_max: usize,
        /// `[[operators]]` entries.
        operators: usize,
        /// `[admin] pending_logons_max`.
        admin_pending_logons_max: usize,
        /// `[[fix_sessions]]` entries.
        fix_sessions: usize,
        /// `[fix] pending_logons_max`.
        fix_pending_logons_max: usize,
        /// Their sum.
        needed: usize,
    },
    /// The risk gate refused the limits.
    #[error("risk limits: {0}")]
    Risk(#[from] crossline_risk::RiskConfigError),
    /// The matcher refused its configuration.
    #[error("matcher: {0}")]
    Matcher(#[from] crossline_matcher::ConfigError),
}

/// A dollar amount as written: a decimal string (exact, recommended), an integer, or a
/// float (read through its shortest decimal form, so `10.05` means $10.05).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Amount {
    Text(String),
    Integer(i64),
    Float(f64),
}

impl Amount {
    fn price(&self, table: &str, key: &'static str) -> Result<Price, ConfigError> {
        let invalid = |expected| ConfigError::Invalid {
            table: table.to_owned(),
            key,
            value: self.to_string(),
            expected,
        };
        let decimal = match self {
            Amount::Text(text) => Decimal::from_str(text.trim())
                .map_err(|_| invalid("a dollar amount such as \"10.05\""))?,
            Amount::Integer(value) => Decimal::from(*value),
            Amount::Float(value) => Decimal::from_str(&value.to_string())
                .map_err(|_| invalid("a dollar amount such as \"10.05\""))?,
        };
        if decimal.normalize().scale() > 6 {
            return Err(invalid("at most six decimal places (micro-dollars)"));
        }
        let micros = decimal
            .checked_mul(Decimal::from(1_000_000))
            .and_then(|micros| i64::try_from(micros.trunc()).ok())
            .ok_or_else(|| invalid("an amount below 9,223,372,036,854 dollars"))?;
        Ok(Price::from_micros(micros))
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Text(text) => write!(f, "\"{text}\""),
            Amount::Integer(value) => write!(f, "{value}"),
            Amount::Float(value) => write!(f, "{value}"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    matcher: MatcherFile,
    risk: RiskFile,
    #[serde(default)]
    client_defaults: ClientFile,
    #[serde(default)]
    clients: Vec<ClientFile>,
    #[serde(default)]
    symbol_defaults: SymbolFile,
    #[serde(default)]
    symbols: Vec<SymbolFile>,
    #[serde(default)]
    journal: JournalFile,
    #[serde(default)]
    net: network::NetFile,
    #[serde(default)]
    gateway: network::GatewayFile,
    #[serde(default)]
    admin: admin::AdminFile,
    #[serde(default)]
    operators: Vec<admin::OperatorFile>,
    #[serde(default)]
    fix: fix::FixFile,
    #[serde(default)]
    fix_sessions: Vec<fix::FixSessionFile>,
    #[serde(default)]
    market_data: network::MarketDataFile,
    #[serde(default)]
    router: routing::RouterFile,
    #[serde(default)]
    venues: Vec<routing::VenueFile>,
    #[serde(default)]
    simulator: routing::SimulatorFile,
    #[serde(default)]
    pipeline: pipeline::PipelineFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct JournalFile {
    segment_mib: u64,
    durability: String,
    sync_interval_ms: u64,
    snapshot_every: u64,
}

impl Default for JournalFile {
    fn default() -> JournalFile {
        JournalFile {
            segment_mib: 64,
            durability: "process".to_owned(),
            sync_interval_ms: 10,
            snapshot_every: 0,
        }
    }
}

/// When journal records reach the disk (see `crossline-journal`'s `Durability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Safe once appended, against a crash of the process (`"process"`, the default).
    Process,
    /// `msync` after every batch, off the hot thread (`"sync_per_batch"`).
    SyncPerBatch,
    /// `msync` every this many milliseconds, off the hot thread (`"sync_interval"`).
    SyncInterval(u64),
}

/// The `[journal]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalSettings {
    /// Bytes per segment file.
    pub segment_bytes: u64,
    /// When records reach the disk.
    pub durability: Durability,
    /// Commands between snapshots of the running engine (the embedded default sets
    /// 1,000,000); zero, or the key left out, for none (`docs/JOURNAL.md`).
    pub snapshot_every: u64,
}

impl JournalFile {
    fn settings(&self) -> Result<JournalSettings, ConfigError> {
        let invalid = |key, value: String, expected| ConfigError::Invalid {
            table: "[journal]".to_owned(),
            key,
            value,
            expected,
        };
        if !(1..=65_536).contains(&self.segment_mib) {
            return Err(invalid(
                "segment_mib",
                self.segment_mib.to_string(),
                "between 1 and 65536 (MiB)",
            ));
        }
        let durability = match self.durability.as_str() {
            "process" => Durability::Process,
            "sync_per_batch" => Durability::SyncPerBatch,
            "sync_interval" if self.sync_interval_ms > 0 => {
                Durability::SyncInterval(self.sync_interval_ms)
            }
            "sync_interval" => {
                return Err(invalid(
                    "sync_interval_ms",
                    self.sync_interval_ms.to_string(),
                    "a positive number of milliseconds",
                ))
            }
            other => {
                return Err(invalid(
                    "durability",
                    format!("\"{other}\""),
                    "\"process\", \"sync_per_batch\" or \"sync_interval\"",
                ))
            }
        };
        Ok(JournalSettings {
            segment_bytes: self.segment_mib << 20,
            durability,
            snapshot_every: self.snapshot_every,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatcherFile {
    orders_max: u32,
    gross_notional_max: Amount,
    nbbo_stale_after_ms: u64,
    unusable_nbbo: String,
    self_match: String,
    cross_price: String,
    improvement_increment: Amount,
    firm_account: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskFile {
    orders_max: u32,
    locates_max: u32,
    collar: Vec<CollarFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CollarFile {
    /// A dollar amount, or "max" for the last tier.
    below: Amount,
    ppm: u32,
    minimum: Amount,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    id: Option<u32>,
    secret: Option<String>,
    credit_limit: Option<Amount>,
    order_quantity_max: Option<u32>,
    order_notional_max: Option<Amount>,
    messages_per_second: Option<u32>,
    message_burst: Option<u32>,
    market_order_adv_ppm: Option<u32>,
    client_order_ids_max: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolFile {
    id: Option<u32>,
    name: Option<String>,
    reference_price: Option<Amount>,
    tick: Option<Amount>,
    book_orders_max: Option<u32>,
    window_levels: Option<u32>,
    far_levels_max: Option<u32>,
    average_daily_volume: Option<u64>,
    restricted: Option<bool>,
    mode: Option<String>,
    improvement_spread_ppm: Option<u32>,
    improvement_min: Option<Amount>,
    skew_ppm: Option<u32>,
    long_max: Option<u32>,
    short_max: Option<u32>,
    soft_limit: Option<u32>,
    principal_size_max: Option<u32>,
    route_residual: Option<bool>,
    hedge: Option<bool>,
}

/// Takes `$key` from the entry, else from the defaults, else names what is missing.
macro_rules! take {
    ($entry:expr, $defaults:expr, $table:expr, $key:ident, $hint:expr) => {
        $entry
            .$key
            .clone()
            .or_else(|| $defaults.$key.clone())
            .ok_or_else(|| ConfigError::Missing {
                table: $table.clone(),
                key: stringify!($key),
                hint: $hint,
            })?
    };
}

const CLIENT_HINT: &str = " (set it there or in [client_defaults])";
const SYMBOL_HINT: &str = " (set it there or in [symbol_defaults])";

fn choice<T: Copy>(
    table: &str,
    key: &'static str,
    value: &str,
    options: &[(&str, T)],
    expected: &'static str,
) -> Result<T, ConfigError> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, option)| *option)
        .ok_or_else(|| ConfigError::Invalid {
            table: table.to_owned(),
            key,
            value: format!("\"{value}\""),
            expected,
        })
}

/// Parses and checks a configuration.
///
/// # Errors
/// [`ConfigError`] naming the table and key at fault.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let file: File = toml::from_str(text).map_err(|error| ConfigError::Toml(error.to_string()))?;
    let matcher_table = "[matcher]".to_owned();
    let m = &file.matcher;
    let collar = file
        .risk
        .collar
        .iter()
        .enumerate()
        .map(|(index, tier)| {
            let table = format!("risk.collar[{index}]");
            let below = match &tier.below {
                Amount::Text(text) if text.trim() == "max" => Price::MAX,
                amount => amount.price(&table, "below")?,
            };
            Ok(CollarTier {
                below,
                ppm: tier.ppm,
                minimum: tier.minimum.price(&table, "minimum")?,
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    if file.client_defaults.secret.is_some() {
        return Err(ConfigError::Invalid {
            table: "[client_defaults]".to_owned(),
            key: "secret",
            value: "(hidden)".to_owned(),
            expected: "set per client, never as a default",
        });
    }
    let mut secrets = Vec::new();
    let mut clients = Vec::with_capacity(file.clients.len());
    for (index, entry) in file.clients.iter().enumerate() {
        let id = entry.id.ok_or_else(|| ConfigError::Missing {
            table: format!("clients[{index}]"),
            key: "id",
            hint: "",
        })?;
        let table = format!("clients[{index}] (id {id})");
        if let Some(secret) = &entry.secret {
            if secret.is_empty() || secret.len() > 32 {
                return Err(ConfigError::Invalid {
                    table,
                    key: "secret",
                    value: format!("({} bytes, hidden)", secret.len()),
                    expected: "1 to 32 bytes",
                });
            }
            secrets.push((ClientId::new(id), secret.clone()));
        }
        let d = &file.client_defaults;
        clients.push(ClientLimits {
            client: ClientId::new(id),
            credit_limit: take!(entry, d, table, credit_limit, CLIENT_HINT)
                .price(&table, "credit_limit")?,
            order_quantity_max: Quantity::new(take!(
                entry,
                d,
                table,
                order_quantity_max,
                CLIENT_HINT
            )),
            order_notional_max: take!(entry, d, table, order_notional_max, CLIENT_HINT)
                .price(&table, "order_notional_max")?,
            messages_per_second: take!(entry, d, table, messages_per_second, CLIENT_HINT),
            message_burst: take!(entry, d, table, message_burst, CLIENT_HINT),
            market_order_adv_ppm: take!(entry, d, table, market_order_adv_ppm, CLIENT_HINT),
            client_order_ids_max: take!(entry, d, table, client_order_ids_max, CLIENT_HINT),
        });
    }
    let mut risk_symbols = Vec::with_capacity(file.symbols.len());
    let mut matcher_symbols = Vec::with_capacity(file.symbols.len());
    let mut symbol_names = Vec::with_capacity(file.symbols.len());
    for (index, entry) in file.symbols.iter().enumerate() {
        let id = entry.id.ok_or_else(|| ConfigError::Missing {
            table: format!("symbols[{index}]"),
            key: "id",
            hint: "",
        })?;
        let table = format!("symbols[{index}] (id {id})");
        let d = &file.symbol_defaults;
        let symbol = SymbolId::new(id);
        let mode = take!(entry, d, table, mode, SYMBOL_HINT);
        let mode = choice(
            &table,
            "mode",
            &mode,
            &[
                ("agency_only", Mode::AgencyOnly),
                ("passive", Mode::Passive),
                ("active", Mode::Active),
            ],
            "one of \"agency_only\", \"passive\", \"active\"",
        )?;
        risk_symbols.push(SymbolRisk {
            symbol,
            average_daily_volume: take!(entry, d, table, average_daily_volume, SYMBOL_HINT),
            restricted: entry.restricted.or(d.restricted).unwrap_or(false),
        });
        matcher_symbols.push(SymbolConfig {
            symbol,
            reference_price: take!(entry, d, table, reference_price, SYMBOL_HINT)
                .price(&table, "reference_price")?,
            book: BookConfig {
                orders_max: take!(entry, d, table, book_orders_max, SYMBOL_HINT),
                tick: take!(entry, d, table, tick, SYMBOL_HINT).price(&table, "tick")?,
                window_levels: take!(entry, d, table, window_levels, SYMBOL_HINT),
                far_levels_max: take!(entry, d, table, far_levels_max, SYMBOL_HINT),
            },
            settings: SymbolSettings {
                mode,
                improvement_spread_ppm: take!(entry, d, table, improvement_spread_ppm, SYMBOL_HINT),
                improvement_min: take!(entry, d, table, improvement_min, SYMBOL_HINT)
                    .price(&table, "improvement_min")?,
                skew_ppm: take!(entry, d, table, skew_ppm, SYMBOL_HINT),
                long_max: take!(entry, d, table, long_max, SYMBOL_HINT),
                short_max: take!(entry, d, table, short_max, SYMBOL_HINT),
                principal_size_max: take!(entry, d, table, principal_size_max, SYMBOL_HINT),
                route_residual: entry.route_residual.or(d.route_residual).unwrap_or(true),
                soft_limit: entry.soft_limit.or(d.soft_limit).unwrap_or(0),
                hedge: entry.hedge.or(d.hedge).unwrap_or(false),
            },
        });
        symbol_names.push((
            symbol,
            entry.name.clone().unwrap_or_else(|| format!("#{id}")),
        ));
    }
    let stale_ns = m
        .nbbo_stale_after_ms
        .checked_mul(1_000_000)
        .ok_or_else(|| ConfigError::Invalid {
            table: matcher_table.clone(),
            key: "nbbo_stale_after_ms",
            value: m.nbbo_stale_after_ms.to_string(),
            expected: "at most 18446744073709 (about 584 years)",
        })?;
    let matcher = MatcherConfig {
        orders_max: m.orders_max,
        gross_notional_max: m
            .gross_notional_max
            .price(&matcher_table, "gross_notional_max")?,
        nbbo_stale_after_ns: stale_ns,
        unusable_nbbo: choice(
            &matcher_table,
            "unusable_nbbo",
            &m.unusable_nbbo,
            &[
                ("route", UnusableNbbo::Route),
                ("reject", UnusableNbbo::Reject),
            ],
            "one of \"route\", \"reject\"",
        )?,
        self_match: choice(
            &matcher_table,
            "self_match",
            &m.self_match,
            &[
                ("cancel_resting", SelfMatch::CancelResting),
                ("cancel_arriving", SelfMatch::CancelArriving),
            ],
            "one of \"cancel_resting\", \"cancel_arriving\"",
        )?,
        cross_price: choice(
            &matcher_table,
            "cross_price",
            &m.cross_price,
            &[
                ("midpoint", CrossPrice::Midpoint),
                ("resting_limit", CrossPrice::RestingLimit),
            ],
            "one of \"midpoint\", \"resting_limit\"",
        )?,
        improvement_increment: m
            .improvement_increment
            .price(&matcher_table, "improvement_increment")?,
        firm_account: ClientId::new(m.firm_account),
        symbols: matcher_symbols,
    };
    let risk = RiskConfig {
        clients,
        symbols: risk_symbols,
        collar,
        orders_max: file.risk.orders_max,
        locates_max: file.risk.locates_max,
    };
    // A configuration that parses is one the engine starts with.
    RiskGate::new(&risk)?;
    Matcher::new(&matcher)?;
    let (mut router, simulator) = routing::settings(&file.router, &file.venues, &file.simulator)?;
    // FIX venues name symbols by ticker.
    router.tickers = symbol_names.clone();
    for (index, event) in simulator.schedule.iter().enumerate() {
        if !matcher.symbols.iter().any(|s| s.symbol == event.symbol) {
            return Err(ConfigError::Invalid {
                table: format!("simulator.schedule[{index}]"),
                key: "symbol",
                value: event.symbol.to_string(),
                expected: "a configured symbol's id",
            });
        }
    }
    let network = network::settings(&file.net, &file.gateway, &file.market_data)?;
    // Slots are reserved: a client that logs on must find one however many connections
    // are waiting to log on (the gateway closes the oldest of those past their budget).
    let (connections_max, pending_logons_max) = (
        network.net.connections_max,
        network.gateway.pending_logons_max,
    );
    let admin = admin::settings(&file.admin, &file.operators)?;
    let client_ids: Vec<ClientId> = risk.clients.iter().map(|limits| limits.client).collect();
    let fix = fix::settings(&file.fix, &file.fix_sessions, &client_ids, &secrets)?;
    let needed = secrets
        .len()
        .saturating_add(fix.sessions.len())
        // The FIX port is open only when sessions are configured.
        .saturating_add(if fix.sessions.is_empty() { 0 } else { fix.pending_logons_max })
        .saturating_add(pending_logons_max)
        .saturating_add(admin.operators.len())
        .saturating_add(admin.pending_logons_max);
    if connections_max < needed {
        return Err(ConfigError::TooFewConnections {
            connections_max,
            clients: secrets.len(),
            pending_logons_max,
            operators: admin.operators.len(),
            admin_pending_logons_max: admin.pending_logons_max,
            fix_sessions: fix.sessions.len(),
            fix_pending_logons_max: if fix.sessions.is_empty() {
                0
            } else {
                fix.pending_logons_max
            },
            needed,
        });
    }
    // The egress's transport has the same slots: one per venue at least.
    if router.venues.len() > connections_max {
        return Err(ConfigError::Invalid {
            table: "[net]".to_owned(),
            key: "connections_max",
            value: connections_max.to_string(),
            expected: "at least one slot per [[venues]] entry (the egress's transport has \
                       connections_max slots too)",
        });
    }
    Ok(Config {
        risk,
        matcher,
        symbol_names,
        journal: file.journal.settings()?,
        network,
        secrets,
        admin,
        fix,
        router,
        simulator,
        pipeline: file.pipeline.settings()?,
    })
}

/// The configuration `text` as the journal keeps it: every client's and operator's logon `secret` left
/// out (replay does not need them, and the journal must not hold them in clear), the rest
/// exactly as written, comments included. docs/JOURNAL.md.
///
/// # Errors
/// [`ConfigError::Toml`] when `text` is not TOML.
pub fn without_secrets(text: &str) -> Result<String, ConfigError> {
    let mut document: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| ConfigError::Toml(e.to_string()))?;
    let forget = |table: &mut dyn toml_edit::TableLike| {
        table.remove("secret");
    };
    if let Some(defaults) = document
        .get_mut("client_defaults")
        .and_then(toml_edit::Item::as_table_like_mut)
    {
        forget(defaults);
    }
    for list in ["clients", "operators", "fix_sessions", "venues"] {
        match document.get_mut(list) {
            Some(toml_edit::Item::ArrayOfTables(entries)) => {
                entries.iter_mut().for_each(|entry| forget(entry));
            }
            Some(toml_edit::Item::Value(toml_edit::Value::Array(entries))) => {
                for entry in entries.iter_mut() {
                    if let toml_edit::Value::InlineTable(entry) = entry {
                        forget(entry);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(document.to_string())
}

#[cfg(test)]
mod secrets_tests {
    use super::*;

    #[test]
    fn the_journaled_text_keeps_no_secret_and_parses_to_the_same_engine() {
        let kept = without_secrets(DEFAULT).unwrap();
        assert!(!kept.contains("demo-secret"), "{kept}");
        let (given, recorded) = (parse(DEFAULT).unwrap(), parse(&kept).unwrap());
        assert!(recorded.secrets.is_empty());
        assert!(recorded.admin.operators.iter().all(|o| o.secret.is_none()));
        assert!(!kept.contains("ops-secret"), "{kept}");
        assert_eq!(
            (given.risk, given.matcher, given.symbol_names),
            (recorded.risk, recorded.matcher, recorded.symbol_names)
        );
        // Inline tables too.
        let inline = without_secrets("clients = [{ id = 1, secret = \"s3cr3t\" }]").unwrap();
        assert!(!inline.contains("s3cr3t"), "{inline}");
    }
}
