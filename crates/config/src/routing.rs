//! The tables for external venues: `[router]` (how route instructions become child
//! orders), `[[venues]]` (where the venues are and what they charge) and `[simulator]`
//! (how `crossline-venue` plays them). Without `[[venues]]` the engine routes nowhere: a
//! route instruction is cancelled back to its parent at once.

use std::collections::BTreeMap;

use crossline_router::{FixVenue, RouterConfig, VenueConfig, VenueLoss};
use crossline_types::{Price, SymbolId};
use serde::Deserialize;

use crate::{network::address, network::invalid, Amount, ConfigError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RouterFile {
    firm: u32,
    on_venue_loss: String,
    reroutes_max: u8,
    ack_timeout_ms: u64,
    fill_timeout_ms: u64,
    cancel_timeout_ms: u64,
    heartbeat_ms: u64,
    reconnect_ms: u64,
    connect_timeout_ms: u64,
    fill_rate_window: u32,
    children_max: u32,
}

impl Default for RouterFile {
    fn default() -> RouterFile {
        let d = RouterConfig::default();
        RouterFile {
            firm: d.firm,
            on_venue_loss: "reroute".into(),
            reroutes_max: d.reroutes_max,
            ack_timeout_ms: d.ack_timeout_ms,
            fill_timeout_ms: d.fill_timeout_ms,
            cancel_timeout_ms: d.cancel_timeout_ms,
            heartbeat_ms: d.heartbeat_ms,
            reconnect_ms: d.reconnect_ms,
            connect_timeout_ms: d.connect_timeout_ms,
            fill_rate_window: d.fill_rate_window,
            children_max: d.children_max,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VenueFile {
    id: Option<u8>,
    name: Option<String>,
    address: Option<String>,
    fee_per_share: Option<Amount>,
    protocol: Option<String>,
    sender_comp_id: Option<String>,
    target_comp_id: Option<String>,
    secret: Option<String>,
}

/// How `crossline-venue` plays the configured venues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatorSettings {
    /// Seeds the quotes' random walk and the fill draws: a run is repeatable.
    pub seed: u64,
    /// Each venue's behaviour, by venue id (every configured venue has one).
    pub venues: BTreeMap<u8, SimulatedVenue>,
    /// How often quotes move and the feed is published.
    pub quote_refresh_ms: u64,
    /// Quoted spread, in ticks, around the symbol's moving mid.
    pub spread_ticks: u32,
    /// The most round lots (100 shares) a venue displays at its best price.
    pub size_lots_max: u32,
    /// Market-status events the feed publishes on a schedule (`[[simulator.schedule]]`).
    pub schedule: Vec<ScheduledStatus>,
}

/// One scheduled market-status event: from `at_ms` after the simulator starts, for
/// `for_ms` (0: until it stops), the feed says `status` for `symbol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledStatus {
    /// The symbol.
    pub symbol: SymbolId,
    /// Milliseconds after the simulator starts.
    pub at_ms: u64,
    /// How long it lasts, milliseconds (0: until the simulator stops).
    pub for_ms: u64,
    /// What the feed says meanwhile.
    pub status: ScheduledKind,
}

/// What a scheduled event puts in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduledKind {
    /// A trading halt.
    Halt,
    /// A limit-up/limit-down band from `lower` to `upper`.
    Band {
        /// The lower bound.
        lower: Price,
        /// The upper bound.
        upper: Price,
    },
    /// Rule 201's short-sale price test.
    Rule201,
}

/// One simulated venue's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimulatedVenue {
    /// Delay before each answer to a child order, microseconds.
    pub latency_us: u64,
    /// Chance, in parts per million, that a child order takes the displayed size (else
    /// nothing fills).
    pub fill_ppm: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SimulatorFile {
    seed: u64,
    latency_us: u64,
    fill_probability: f64,
    quote_refresh_ms: u64,
    spread_ticks: u32,
    size_lots_max: u32,
    venues: Vec<SimulatedVenueFile>,
    schedule: Vec<ScheduledFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduledFile {
    symbol: u32,
    status: String,
    at_ms: u64,
    #[serde(default)]
    for_ms: u64,
    lower: Option<Amount>,
    upper: Option<Amount>,
}

impl Default for SimulatorFile {
    fn default() -> SimulatorFile {
        SimulatorFile {
            seed: 1,
            latency_us: 200,
            fill_probability: 0.9,
            quote_refresh_ms: 100,
            spread_ticks: 2,
            size_lots_max: 10,
            venues: Vec::new(),
            schedule: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SimulatedVenueFile {
    id: u8,
    latency_us: Option<u64>,
    fill_probability: Option<f64>,
}

fn probability(table: &str, value: f64) -> Result<u32, ConfigError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(invalid(
            table,
            "fill_probability",
            value.to_string(),
            "a probability from 0 to 1",
        ));
    }
    // In range: the product is at most 10^6.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok((value * 1e6).round() as u32)
}

fn simulated_range(
    key: &'static str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
    expected: &'static str,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(invalid("[simulator]", key, value.to_string(), expected))
    }
}

pub(crate) fn settings(
    router: &RouterFile,
    venues: &[VenueFile],
    simulator: &SimulatorFile,
) -> Result<(RouterConfig, SimulatorSettings), ConfigError> {
    let on_venue_loss = match router.on_venue_loss.as_str() {
        "reroute" => VenueLoss::Reroute,
        "cancel" => VenueLoss::Cancel,
        other => {
            return Err(invalid(
                "[router]",
                "on_venue_loss",
                format!("\"{other}\""),
                "\"reroute\" or \"cancel\"",
            ))
        }
    };
    let mut configs = Vec::with_capacity(venues.len());
    for (index, venue) in venues.iter().enumerate() {
        let missing = |key| ConfigError::Missing {
            table: format!("venues[{index}]"),
            key,
            hint: "",
        };
        let id = venue.id.ok_or_else(|| missing("id"))?;
        let table = format!("venues[{index}] (id {id})");
        let text = venue.address.as_deref().ok_or_else(|| missing("address"))?;
        let fix = match venue.protocol.as_deref().unwrap_or("binary") {
            "binary" => {
                for (key, value) in [
                    ("sender_comp_id", &venue.sender_comp_id),
                    ("target_comp_id", &venue.target_comp_id),
                    ("secret", &venue.secret),
                ] {
                    if value.is_some() {
                        return Err(invalid(
                            &table,
                            key,
                            "(set)".into(),
                            "no value: it is for protocol = \"fix44\" venues",
                        ));
                    }
                }
                None
            }
            "fix44" => {
                let comp_id =
                    |key: &'static str, value: Option<&str>| -> Result<String, ConfigError> {
                        let text = value.ok_or(ConfigError::Missing {
                            table: table.clone(),
                            key,
                            hint: " (a FIX venue's CompIDs)",
                        })?;
                        if (1..=32).contains(&text.len())
                            && text.bytes().all(|b| b.is_ascii_graphic() && b != b'=')
                        {
                            Ok(text.to_owned())
                        } else {
                            Err(invalid(
                                &table,
                                key,
                                format!("\"{text}\""),
                                "1 to 32 printable ASCII characters, without '='",
                            ))
                        }
                    };
                Some(FixVenue {
                    sender_comp_id: comp_id(
                        "sender_comp_id",
                        Some(venue.sender_comp_id.as_deref().unwrap_or("CROSSLINE")),
                    )?,
                    target_comp_id: comp_id("target_comp_id", venue.target_comp_id.as_deref())?,
                    password: venue.secret.clone(),
                })
            }
            other => {
                return Err(invalid(
                    &table,
                    "protocol",
                    format!("\"{other}\""),
                    "\"binary\" (docs/PROTOCOL.md) or \"fix44\" (docs/FIX.md)",
                ))
            }
        };
        configs.push(VenueConfig {
            fix,
            id,
            name: venue.name.clone().unwrap_or_else(|| format!("venue {id}")),
            address: address(&table, "address", text)?,
            fee_per_share: venue
                .fee_per_share
                .as_ref()
                .ok_or_else(|| missing("fee_per_share"))?
                .price(&table, "fee_per_share")?,
        });
    }
    let config = RouterConfig {
        venues: configs,
        firm: router.firm,
        on_venue_loss,
        reroutes_max: router.reroutes_max,
        ack_timeout_ms: router.ack_timeout_ms,
        fill_timeout_ms: router.fill_timeout_ms,
        cancel_timeout_ms: router.cancel_timeout_ms,
        heartbeat_ms: router.heartbeat_ms,
        reconnect_ms: router.reconnect_ms,
        connect_timeout_ms: router.connect_timeout_ms,
        fill_rate_window: router.fill_rate_window,
        children_max: router.children_max,
        // Filled in by the caller, from [[symbols]].
        tickers: Vec::new(),
    };
    if let Err(error) = config.validate() {
        let table = if matches!(error.field, "id" | "address" | "venues") {
            "[[venues]]"
        } else {
            "[router]"
        };
        return Err(invalid(table, error.field, error.value, error.expected));
    }
    let base = SimulatedVenue {
        latency_us: simulator.latency_us,
        fill_ppm: probability("[simulator]", simulator.fill_probability)?,
    };
    let mut simulated: BTreeMap<u8, SimulatedVenue> =
        config.venues.iter().map(|venue| (venue.id, base)).collect();
    for (index, entry) in simulator.venues.iter().enumerate() {
        let table = format!("simulator.venues[{index}] (id {})", entry.id);
        let Some(venue) = simulated.get_mut(&entry.id) else {
            return Err(invalid(
                &table,
                "id",
                entry.id.to_string(),
                "the id of a venue in [[venues]]",
            ));
        };
        venue.latency_us = entry.latency_us.unwrap_or(base.latency_us);
        if let Some(value) = entry.fill_probability {
            venue.fill_ppm = probability(&table, value)?;
        }
    }
    simulated_range(
        "quote_refresh_ms",
        simulator.quote_refresh_ms,
        1..=60_000,
        "between 1 and 60000 milliseconds",
    )?;
    simulated_range(
        "spread_ticks",
        simulator.spread_ticks.into(),
        1..=1_000,
        "between 1 and 1000",
    )?;
    simulated_range(
        "size_lots_max",
        simulator.size_lots_max.into(),
        1..=10_000,
        "between 1 and 10000",
    )?;
    let schedule = simulator
        .schedule
        .iter()
        .enumerate()
        .map(|(index, entry)| scheduled(index, entry))
        .collect::<Result<_, _>>()?;
    Ok((
        config,
        SimulatorSettings {
            seed: simulator.seed,
            venues: simulated,
            quote_refresh_ms: simulator.quote_refresh_ms,
            spread_ticks: simulator.spread_ticks,
            size_lots_max: simulator.size_lots_max,
            schedule,
        },
    ))
}

/// One `[[simulator.schedule]]` entry, checked (its symbol is checked against the
/// configured symbols by the caller).
fn scheduled(index: usize, entry: &ScheduledFile) -> Result<ScheduledStatus, ConfigError> {
    let table = format!("simulator.schedule[{index}]");
    let status = match entry.status.as_str() {
        "halt" | "rule201" => {
            if let Some(key) = [("lower", &entry.lower), ("upper", &entry.upper)]
                .iter()
                .find_map(|(key, value)| value.is_some().then_some(*key))
            {
                return Err(invalid(
                    &table,
                    key,
                    "set".into(),
                    "no band bound: only a \"band\" event has lower and upper",
                ));
            }
            if entry.status == "halt" {
                ScheduledKind::Halt
            } else {
                ScheduledKind::Rule201
            }
        }
        "band" => {
            let bound = |key: &'static str, value: &Option<Amount>| match value {
                Some(amount) => amount.price(&table, key),
                None => Err(invalid(
                    &table,
                    key,
                    "missing".into(),
                    "a dollar amount (a \"band\" event needs lower and upper)",
                )),
            };
            let (lower, upper) = (bound("lower", &entry.lower)?, bound("upper", &entry.upper)?);
            if lower <= Price::ZERO || upper < lower {
                return Err(invalid(
                    &table,
                    "upper",
                    format!("{lower}-{upper}"),
                    "a band with 0 < lower <= upper",
                ));
            }
            ScheduledKind::Band { lower, upper }
        }
        other => {
            return Err(invalid(
                &table,
                "status",
                format!("{other:?}"),
                "\"halt\", \"band\" or \"rule201\"",
            ))
        }
    };
    if entry.at_ms > 86_400_000 || entry.for_ms > 86_400_000 {
        return Err(invalid(
            &table,
            if entry.at_ms > 86_400_000 {
                "at_ms"
            } else {
                "for_ms"
            },
            entry.at_ms.max(entry.for_ms).to_string(),
            "at most 86400000 (a day)",
        ));
    }
    Ok(ScheduledStatus {
        symbol: SymbolId::new(entry.symbol),
        at_ms: entry.at_ms,
        for_ms: entry.for_ms,
        status,
    })
}
