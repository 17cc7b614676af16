//! The `[pipeline]` table: where the engine's agents run (placement), how they wait for
//! work (idle strategy), how big the rings between them are, and where the live counters
//! file goes. Every key has a default; `docs/OPERATIONS.md` describes each.
//!
//! ```toml
//! [pipeline]
//! placement = "auto"          # "auto", "shared", "pinned", or explicit [[pipeline.threads]]
//! idle = "back_off"           # shared threads: "busy_spin", "yield" or "back_off"
//! pinned_idle = "busy_spin"   # pinned threads
//! counters_file = "crossline.counters"   # relative to the journal directory
//!
//! [pipeline.rings]
//! commands = 4096
//!
//! [[pipeline.threads]]        # explicit placement: every agent exactly once
//! name = "io"
//! agents = ["order_ingress", "market_data", "egress"]
//! core = 1                    # optional: pin the thread
//! idle = "busy_spin"          # optional
//! ```

use std::path::PathBuf;

use serde::Deserialize;

use crate::ConfigError;

/// The pipeline's agents, in the order data flows through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentKind {
    /// Client order-entry sessions in, client replies out (TCP).
    OrderIngress,
    /// The market-data feed in (UDP, or a recorded file).
    MarketData,
    /// The risk gate, sequencer and journal.
    Sequencer,
    /// The internalization matcher.
    Matcher,
    /// Events to client replies, and routes to venues as child orders (TCP).
    Egress,
}

impl AgentKind {
    /// Every agent, upstream first.
    pub const ALL: [AgentKind; 5] = [
        AgentKind::OrderIngress,
        AgentKind::MarketData,
        AgentKind::Sequencer,
        AgentKind::Matcher,
        AgentKind::Egress,
    ];

    /// The name used in the configuration, in logs and in the counters file.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::OrderIngress => "order_ingress",
            AgentKind::MarketData => "market_data",
            AgentKind::Sequencer => "sequencer",
            AgentKind::Matcher => "matcher",
            AgentKind::Egress => "egress",
        }
    }

    fn from_name(name: &str) -> Option<AgentKind> {
        AgentKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// How threads wait when a duty cycle found no work.
pub const IDLE_NAMES: [&str; 3] = ["busy_spin", "yield", "back_off"];

/// Where the agents run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// `"auto"` (the default): pinned when the machine has a core for every agent plus
    /// one for the OS, shared otherwise.
    Auto,
    /// `"shared"`: two unpinned threads, the I/O agents on one and the sequencer and
    /// matcher on the other.
    Shared,
    /// `"pinned"`: one thread per agent, pinned to the cores after the first.
    Pinned,
    /// `[[pipeline.threads]]`: as listed.
    Threads(Vec<ThreadSettings>),
}

/// One thread of an explicit placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSettings {
    /// The thread's name.
    pub name: String,
    /// The agents it runs, in duty-cycle order.
    pub agents: Vec<AgentKind>,
    /// The core it is pinned to, if any.
    pub core: Option<usize>,
    /// Its idle strategy (one of [`IDLE_NAMES`]), if not the placement's default.
    pub idle: Option<String>,
}

/// Slots in each ring between the agents (powers of two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingSizes {
    /// Order ingress to sequencer: client requests.
    pub commands: usize,
    /// Market-data ingress to sequencer: NBBO quotes.
    pub market_data: usize,
    /// Egress to sequencer: venue fills and cancels.
    pub venue_reports: usize,
    /// Sequencer to matcher: sequenced inputs, and the rejects the matcher turns into
    /// replies.
    pub sequenced: usize,
    /// Matcher back to sequencer: events the gate follows.
    pub events_back: usize,
    /// Matcher to egress: routes, and the sequencer's outputs the egress logs.
    pub events_out: usize,
    /// Matcher to order ingress: client replies, in journal order.
    pub replies: usize,
    /// Market-data ingress to egress: venue tops for routing.
    pub venue_tops: usize,
}

impl Default for RingSizes {
    fn default() -> RingSizes {
        RingSizes {
            commands: 8192,
            market_data: 4096,
            venue_reports: 4096,
            sequenced: 16384,
            events_back: 32768,
            events_out: 32768,
            replies: 32768,
            venue_tops: 4096,
        }
    }
}

/// The `[pipeline]` table, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineSettings {
    /// Where the agents run.
    pub placement: Placement,
    /// Idle strategy of shared threads.
    pub idle: String,
    /// Idle strategy of pinned threads.
    pub pinned_idle: String,
    /// Ring sizes.
    pub rings: RingSizes,
    /// The live counters file; a relative path is under the journal directory.
    pub counters_file: PathBuf,
}

impl Default for PipelineSettings {
    fn default() -> PipelineSettings {
        PipelineSettings {
            placement: Placement::Auto,
            idle: "back_off".to_owned(),
            pinned_idle: "busy_spin".to_owned(),
            rings: RingSizes::default(),
            counters_file: PathBuf::from("crossline.counters"),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PipelineFile {
    placement: Option<String>,
    idle: Option<String>,
    pinned_idle: Option<String>,
    counters_file: Option<PathBuf>,
    #[serde(default)]
    rings: RingsFile,
    #[serde(default)]
    threads: Vec<ThreadFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RingsFile {
    commands: Option<usize>,
    market_data: Option<usize>,
    venue_reports: Option<usize>,
    sequenced: Option<usize>,
    events_back: Option<usize>,
    events_out: Option<usize>,
    replies: Option<usize>,
    venue_tops: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThreadFile {
    name: Option<String>,
    agents: Vec<String>,
    core: Option<usize>,
    idle: Option<String>,
}

/// Ring sizes allowed: enough for a batch, at most 2^22 slots (256 MiB of 64-byte lines).
const RING_MIN: usize = 64;
const RING_MAX: usize = 1 << 22;

fn idle_name(
    table: &str,
    key: &'static str,
    value: Option<&String>,
    default: &str,
) -> Result<String, ConfigError> {
    let name = value.map_or(default, String::as_str);
    if IDLE_NAMES.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(ConfigError::Invalid {
            table: table.to_owned(),
            key,
            value: format!("\"{name}\""),
            expected: "\"busy_spin\", \"yield\" or \"back_off\"",
        })
    }
}

impl PipelineFile {
    pub(crate) fn settings(&self) -> Result<PipelineSettings, ConfigError> {
        let defaults = PipelineSettings::default();
        let table = "[pipeline]";
        let idle = idle_name(table, "idle", self.idle.as_ref(), &defaults.idle)?;
        let pinned_idle = idle_name(
            table,
            "pinned_idle",
            self.pinned_idle.as_ref(),
            &defaults.pinned_idle,
        )?;
        let placement = match (self.placement.as_deref(), self.threads.is_empty()) {
            (None | Some("threads"), false) => Placement::Threads(self.threads()?),
            (Some("threads"), true) => {
                return Err(ConfigError::Missing {
                    table: table.to_owned(),
                    key: "threads",
                    hint: " (placement = \"threads\" needs [[pipeline.threads]] entries)",
                })
            }
            (Some(other), false) => {
                return Err(ConfigError::Invalid {
                    table: table.to_owned(),
                    key: "placement",
                    value: format!("\"{other}\""),
                    expected:
                        "\"threads\" (or no placement key) when [[pipeline.threads]] is given",
                })
            }
            (None | Some("auto"), true) => Placement::Auto,
            (Some("shared"), true) => Placement::Shared,
            (Some("pinned"), true) => Placement::Pinned,
            (Some(other), true) => {
                return Err(ConfigError::Invalid {
                    table: table.to_owned(),
                    key: "placement",
                    value: format!("\"{other}\""),
                    expected: "\"auto\", \"shared\", \"pinned\" or \"threads\"",
                })
            }
        };
        let counters_file = self.counters_file.clone().unwrap_or(defaults.counters_file);
        if counters_file.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                table: table.to_owned(),
                key: "counters_file",
                value: "\"\"".to_owned(),
                expected: "a file path",
            });
        }
        Ok(PipelineSettings {
            placement,
            idle,
            pinned_idle,
            rings: self.rings.sizes(defaults.rings)?,
            counters_file,
        })
    }

    fn threads(&self) -> Result<Vec<ThreadSettings>, ConfigError> {
        let mut seen: Vec<(AgentKind, String)> = Vec::new();
        let mut cores: Vec<(usize, String)> = Vec::new();
        let mut threads = Vec::with_capacity(self.threads.len());
        for (index, thread) in self.threads.iter().enumerate() {
            let name = thread
                .name
                .clone()
                .unwrap_or_else(|| format!("thread{index}"));
            let table = format!("pipeline.threads[{index}] ({name})");
            // The name labels the thread's duty-cycle counter and its OS thread.
            if threads
                .iter()
                .any(|other: &ThreadSettings| other.name == name)
            {
                return Err(ConfigError::Invalid {
                    table,
                    key: "name",
                    value: format!("\"{name}\""),
                    expected: "a name no other thread has",
                });
            }
            if thread.agents.is_empty() {
                return Err(ConfigError::Invalid {
                    table,
                    key: "agents",
                    value: "[]".to_owned(),
                    expected: "at least one agent",
                });
            }
            let mut agents = Vec::with_capacity(thread.agents.len());
            for agent in &thread.agents {
                let kind = AgentKind::from_name(agent).ok_or_else(|| ConfigError::Invalid {
                    table: table.clone(),
                    key: "agents",
                    value: format!("\"{agent}\""),
                    expected: "one of \"order_ingress\", \"market_data\", \"sequencer\", \"matcher\", \"egress\"",
                })?;
                if let Some((_, other)) = seen.iter().find(|(k, _)| *k == kind) {
                    return Err(ConfigError::Invalid {
                        table: table.clone(),
                        key: "agents",
                        value: format!("\"{agent}\""),
                        expected: if *other == name {
                            "each agent once (it is listed twice in this thread)"
                        } else {
                            "each agent in one thread only (it is also in another thread)"
                        },
                    });
                }
                seen.push((kind, name.clone()));
                agents.push(kind);
            }
            if let Some(core) = thread.core {
                if cores.iter().any(|(c, _)| *c == core) {
                    return Err(ConfigError::Invalid {
                        table,
                        key: "core",
                        value: core.to_string(),
                        expected: "a core no other pinned thread has",
                    });
                }
                cores.push((core, name.clone()));
            }
            let idle = match &thread.idle {
                Some(idle) => Some(idle_name(&table, "idle", Some(idle), "")?),
                None => None,
            };
            threads.push(ThreadSettings {
                name,
                agents,
                core: thread.core,
                idle,
            });
        }
        if let Some(missing) = AgentKind::ALL
            .into_iter()
            .find(|kind| !seen.iter().any(|(k, _)| k == kind))
        {
            return Err(ConfigError::Invalid {
                table: "[[pipeline.threads]]".to_owned(),
                key: "agents",
                value: format!("(\"{}\" is in no thread)", missing.name()),
                expected: "every agent in exactly one thread",
            });
        }
        Ok(threads)
    }
}

impl RingsFile {
    fn sizes(&self, defaults: RingSizes) -> Result<RingSizes, ConfigError> {
        let size = |key: &'static str, value: Option<usize>, default: usize| {
            let size = value.unwrap_or(default);
            if size.is_power_of_two() && (RING_MIN..=RING_MAX).contains(&size) {
                Ok(size)
            } else {
                Err(ConfigError::Invalid {
                    table: "[pipeline.rings]".to_owned(),
                    key,
                    value: size.to_string(),
                    expected: "a power of two from 64 to 4194304 (slots)",
                })
            }
        };
        Ok(RingSizes {
            commands: size("commands", self.commands, defaults.commands)?,
            market_data: size("market_data", self.market_data, defaults.market_data)?,
            venue_reports: size("venue_reports", self.venue_reports, defaults.venue_reports)?,
            sequenced: size("sequenced", self.sequenced, defaults.sequenced)?,
            events_back: size("events_back", self.events_back, defaults.events_back)?,
            events_out: size("events_out", self.events_out, defaults.events_out)?,
            replies: size("replies", self.replies, defaults.replies)?,
            venue_tops: size("venue_tops", self.venue_tops, defaults.venue_tops)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PipelineSettings, ConfigError> {
        let file: PipelineFile =
            toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        file.settings()
    }

    #[test]
    fn defaults_place_automatically_with_power_of_two_rings() {
        let settings = parse("").unwrap();
        assert_eq!(settings, PipelineSettings::default());
        assert_eq!(settings.placement, Placement::Auto);
    }

    #[test]
    fn explicit_threads_must_hold_every_agent_once() {
        let ok = parse(
            r#"
            [[threads]]
            name = "io"
            agents = ["order_ingress", "market_data", "egress"]
            core = 1
            [[threads]]
            name = "core"
            agents = ["sequencer", "matcher"]
            core = 2
            idle = "busy_spin"
            "#,
        )
        .unwrap();
        let Placement::Threads(threads) = ok.placement else {
            panic!("explicit threads expected");
        };
        assert_eq!(
            threads[1].agents,
            [AgentKind::Sequencer, AgentKind::Matcher]
        );
        assert_eq!(threads[1].idle.as_deref(), Some("busy_spin"));

        let missing = parse(
            r#"
            [[threads]]
            agents = ["order_ingress", "market_data", "egress", "sequencer"]
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(missing.contains("\"matcher\" is in no thread"), "{missing}");

        let twice = parse(
            r#"
            [[threads]]
            name = "a"
            agents = ["order_ingress", "market_data", "egress", "sequencer", "matcher"]
            [[threads]]
            name = "b"
            agents = ["matcher"]
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            twice.contains("pipeline.threads[1] (b)") && twice.contains("also in another thread"),
            "{twice}"
        );

        let unknown = parse("[[threads]]\nagents = [\"risk\"]")
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("\"risk\"") && unknown.contains("one of"),
            "{unknown}"
        );

        let same_core = parse(
            r#"
            [[threads]]
            agents = ["order_ingress", "market_data", "egress"]
            core = 3
            [[threads]]
            agents = ["sequencer", "matcher"]
            core = 3
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(same_core.contains("core = 3"), "{same_core}");

        let same_name = parse(
            r#"
            [[threads]]
            name = "io"
            agents = ["order_ingress", "market_data", "egress"]
            [[threads]]
            name = "io"
            agents = ["sequencer", "matcher"]
            "#,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            same_name,
            "pipeline.threads[1] (io): name = \"io\": a name no other thread has"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let ring = parse("[rings]\nsequenced = 1000").unwrap_err().to_string();
        assert_eq!(
            ring,
            "[pipeline.rings]: sequenced = 1000: a power of two from 64 to 4194304 (slots)"
        );
        let idle = parse("idle = \"sleep\"").unwrap_err().to_string();
        assert!(idle.contains("idle = \"sleep\""), "{idle}");
        let placement = parse("placement = \"everywhere\"").unwrap_err().to_string();
        assert!(
            placement.contains("placement = \"everywhere\""),
            "{placement}"
        );
        let conflicting = parse("placement = \"shared\"\n[[threads]]\nagents = [\"matcher\"]")
            .unwrap_err()
            .to_string();
        assert!(
            conflicting.contains("placement = \"shared\""),
            "{conflicting}"
        );
    }
}
