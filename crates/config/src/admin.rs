//! The operator control plane's tables: `[admin]` (the admin port) and `[[operators]]`
//! (who may use it, with which role). docs/CONFIGURATION.md and docs/OPERATIONS.md.

use std::net::SocketAddr;

use serde::Deserialize;

use crate::network::{address, invalid};
use crate::ConfigError;

/// The admin port and its operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSettings {
    /// Where operators connect (loopback by default).
    pub listen: SocketAddr,
    /// How long a connection may take to log on.
    pub logon_timeout_ms: u64,
    /// Connections to the admin port that have not logged on yet, at most: past it the
    /// oldest is closed.
    pub pending_logons_max: usize,
    /// The configured operators.
    pub operators: Vec<Operator>,
}

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Status only.
    View,
    /// Everything: kill switches, halts, limits, locates, price-improvement multipliers,
    /// end of day.
    Control,
}

impl Role {
    /// The role's wire code (`docs/PROTOCOL.md`): 1 view, 2 control.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Role::View => 1,
            Role::Control => 2,
        }
    }
}

/// One operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator's id (never 0: 0 marks the engine's own commands in the journal).
    pub id: u32,
    /// The logon secret (`None`: this operator cannot log on, as in a journal's copy of
    /// the configuration, which keeps no secret).
    pub secret: Option<String>,
    /// What the operator may do.
    pub role: Role,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AdminFile {
    listen: String,
    logon_timeout_ms: u64,
    pending_logons_max: usize,
}

impl Default for AdminFile {
    fn default() -> AdminFile {
        AdminFile {
            listen: "127.0.0.1:9101".into(),
            logon_timeout_ms: 5_000,
            pending_logons_max: 4,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OperatorFile {
    id: Option<u32>,
    secret: Option<String>,
    role: Option<String>,
}

pub(crate) fn settings(
    admin: &AdminFile,
    operators: &[OperatorFile],
) -> Result<AdminSettings, ConfigError> {
    if admin.logon_timeout_ms == 0 {
        return Err(invalid(
            "[admin]",
            "logon_timeout_ms",
            "0".into(),
            "a positive number of milliseconds",
        ));
    }
    if admin.pending_logons_max == 0 {
        return Err(invalid(
            "[admin]",
            "pending_logons_max",
            "0".into(),
            "at least 1 (an operator must be able to connect to log on)",
        ));
    }
    let mut parsed: Vec<Operator> = Vec::with_capacity(operators.len());
    for (index, entry) in operators.iter().enumerate() {
        let id = entry.id.ok_or_else(|| ConfigError::Missing {
            table: format!("operators[{index}]"),
            key: "id",
            hint: "",
        })?;
        let table = format!("operators[{index}] (id {id})");
        if id == 0 {
            return Err(invalid(
                &table,
                "id",
                "0".into(),
                "1 or more (0 marks the engine's own commands)",
            ));
        }
        if parsed.iter().any(|operator| operator.id == id) {
            return Err(invalid(
                &table,
                "id",
                id.to_string(),
                "unique: another [[operators]] entry has it",
            ));
        }
        if let Some(secret) = &entry.secret {
            if secret.is_empty() || secret.len() > 32 {
                return Err(ConfigError::Invalid {
                    table,
                    key: "secret",
                    value: format!("({} bytes, hidden)", secret.len()),
                    expected: "1 to 32 bytes",
                });
            }
        }
        let role = match entry.role.as_deref() {
            Some("view") => Role::View,
            Some("control") => Role::Control,
            Some(other) => {
                return Err(invalid(
                    &table,
                    "role",
                    format!("\"{other}\""),
                    "one of \"view\", \"control\"",
                ))
            }
            None => {
                return Err(ConfigError::Missing {
                    table,
                    key: "role",
                    hint: " (\"view\" or \"control\")",
                })
            }
        };
        parsed.push(Operator {
            id,
            secret: entry.secret.clone(),
            role,
        });
    }
    Ok(AdminSettings {
        listen: address("[admin]", "listen", &admin.listen)?,
        logon_timeout_ms: admin.logon_timeout_ms,
        pending_logons_max: admin.pending_logons_max,
        operators: parsed,
    })
}

#[cfg(test)]
mod tests {
    use crate::{parse, ConfigError, DEFAULT};

    fn with(extra: &str) -> Result<crate::Config, ConfigError> {
        parse(&format!("{DEFAULT}\n{extra}"))
    }

    #[test]
    fn the_default_has_a_loopback_admin_port_and_two_operators() {
        let admin = parse(DEFAULT).unwrap().admin;
        assert!(admin.listen.ip().is_loopback());
        assert_eq!(admin.operators.len(), 2);
    }

    #[test]
    fn bad_operator_entries_are_refused_by_name() {
        let error = with("[[operators]]\nid = 1\nsecret = \"x\"\nrole = \"control\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("operators[2] (id 1): id = 1"), "{error}");
        let error = with("[[operators]]\nid = 9\nsecret = \"x\"\nrole = \"god\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("role = \"god\""), "{error}");
        let error = with("[[operators]]\nid = 9\nsecret = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("role is missing"), "{error}");
        let error = with("[[operators]]\nid = 0\nrole = \"view\"")
            .unwrap_err()
            .to_string();
        assert!(error.contains("id = 0"), "{error}");
    }
}
