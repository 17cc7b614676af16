//! The FIX gateway's tables: `[fix]` (the FIX port) and `[[fix_sessions]]` (who may log
//! on to it, as which client, in which FIX version). docs/CONFIGURATION.md, docs/FIX.md.

use crossline_types::ClientId;
use serde::Deserialize;

use crate::network::{address, invalid};
use crate::ConfigError;

pub use crossline_gateway::fix::{FixRole, FixSession, FixSettings, FixVersion};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FixFile {
    listen: String,
    comp_id: String,
    logon_timeout_ms: u64,
    pending_logons_max: usize,
    sending_time_tolerance_ms: u64,
    market: String,
}

impl Default for FixFile {
    fn default() -> FixFile {
        FixFile {
            listen: "127.0.0.1:9102".into(),
            comp_id: "CROSSLINE".into(),
            logon_timeout_ms: 5_000,
            pending_logons_max: 4,
            sending_time_tolerance_ms: 120_000,
            market: "XCRL".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FixSessionFile {
    comp_id: Option<String>,
    client: Option<u32>,
    role: Option<String>,
    version: Option<String>,
    secret: Option<String>,
}

/// A CompID: 1 to 32 printable ASCII characters, no `=`.
fn comp_id(table: &str, key: &'static str, text: &str) -> Result<String, ConfigError> {
    let valid =
        (1..=32).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic() && b != b'=');
    if valid {
        Ok(text.to_owned())
    } else {
        Err(invalid(
            table,
            key,
            format!("\"{text}\""),
            "1 to 32 printable ASCII characters, without '='",
        ))
    }
}

pub(crate) fn settings(
    fix: &FixFile,
    sessions: &[FixSessionFile],
    clients: &[ClientId],
    secrets: &[(ClientId, String)],
) -> Result<FixSettings, ConfigError> {
    let listen = address("[fix]", "listen", &fix.listen)?;
    let own = comp_id("[fix]", "comp_id", &fix.comp_id)?;
    let market = comp_id("[fix]", "market", &fix.market)?;
    if fix.logon_timeout_ms == 0 {
        return Err(invalid(
            "[fix]",
            "logon_timeout_ms",
            "0".into(),
            "a positive number of milliseconds",
        ));
    }
    if fix.pending_logons_max == 0 {
        return Err(invalid(
            "[fix]",
            "pending_logons_max",
            "0".into(),
            "at least 1 (a session must be able to connect to log on)",
        ));
    }
    if fix.sending_time_tolerance_ms == 0 {
        return Err(invalid(
            "[fix]",
            "sending_time_tolerance_ms",
            "0".into(),
            "a positive number of milliseconds",
        ));
    }
    let mut parsed: Vec<FixSession> = Vec::with_capacity(sessions.len());
    for (index, entry) in sessions.iter().enumerate() {
        let text = entry
            .comp_id
            .as_deref()
            .ok_or_else(|| ConfigError::Missing {
                table: format!("fix_sessions[{index}]"),
                key: "comp_id",
                hint: "",
            })?;
        let table = format!("fix_sessions[{index}] ({text})");
        let id = comp_id(&table, "comp_id", text)?;
        if id == own {
            return Err(invalid(
                &table,
                "comp_id",
                format!("\"{text}\""),
                "a CompID other than [fix] comp_id (the engine's own)",
            ));
        }
        if parsed.iter().any(|session| session.comp_id == id) {
            return Err(invalid(
                &table,
                "comp_id",
                format!("\"{text}\""),
                "a CompID no other [[fix_sessions]] entry has",
            ));
        }
        let role = match (entry.role.as_deref().unwrap_or("orders"), entry.client) {
            ("orders", Some(client)) => {
                let client = ClientId::new(client);
                if !clients.contains(&client) {
                    return Err(invalid(
                        &table,
                        "client",
                        client.get().to_string(),
                        "the id of a configured [[clients]] entry",
                    ));
                }
                if secrets.iter().any(|(id, _)| *id == client) {
                    return Err(invalid(
                        &table,
                        "client",
                        client.get().to_string(),
                        "a client without a binary-protocol secret (a client's orders come \
                         in on one protocol: remove its [[clients]] secret, or this session)",
                    ));
                }
                if parsed
                    .iter()
                    .any(|session| session.role == FixRole::Orders(client))
                {
                    return Err(invalid(
                        &table,
                        "client",
                        client.get().to_string(),
                        "a client no other [[fix_sessions]] entry acts for",
                    ));
                }
                FixRole::Orders(client)
            }
            ("orders", None) => {
                return Err(ConfigError::Missing {
                    table,
                    key: "client",
                    hint: " (the client an orders session acts for)",
                })
            }
            ("drop_copy", None) => FixRole::DropCopy,
            ("drop_copy", Some(client)) => {
                return Err(invalid(
                    &table,
                    "client",
                    client.to_string(),
                    "no client: a drop-copy session sees every client's executions",
                ))
            }
            (other, _) => {
                return Err(invalid(
                    &table,
                    "role",
                    format!("\"{other}\""),
                    "\"orders\" or \"drop_copy\"",
                ))
            }
        };
        let version = match entry.version.as_deref().unwrap_or("FIX.4.4") {
            "FIX.4.4" => FixVersion::Fix44,
            "FIX.4.2" => FixVersion::Fix42,
            other => {
                return Err(invalid(
                    &table,
                    "version",
                    format!("\"{other}\""),
                    "\"FIX.4.2\" or \"FIX.4.4\"",
                ))
            }
        };
        if let Some(secret) = &entry.secret {
            if secret.is_empty() || secret.len() > 64 || !secret.bytes().all(|b| b >= 0x20) {
                return Err(invalid(
                    &table,
                    "secret",
                    "(not shown)".into(),
                    "1 to 64 bytes, no control characters",
                ));
            }
        }
        parsed.push(FixSession {
            comp_id: id,
            role,
            version,
            secret: entry.secret.clone(),
        });
    }
    Ok(FixSettings {
        listen,
        comp_id: own,
        logon_timeout_ms: fix.logon_timeout_ms,
        pending_logons_max: fix.pending_logons_max,
        sending_time_tolerance_ms: fix.sending_time_tolerance_ms,
        market,
        sessions: parsed,
    })
}
