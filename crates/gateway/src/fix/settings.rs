//! The FIX port's settings, as `crossline-config` reads them from `[fix]` and
//! `[[fix_sessions]]` (docs/CONFIGURATION.md).

use std::net::SocketAddr;

use crossline_types::ClientId;

/// The FIX port and its sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixSettings {
    /// Where FIX counterparties connect.
    pub listen: SocketAddr,
    /// The engine's CompID: its SenderCompID (49) on every message it sends, the
    /// TargetCompID (56) every message to it must carry.
    pub comp_id: String,
    /// How long a connection may take to log on.
    pub logon_timeout_ms: u64,
    /// Connections to the FIX port that have not logged on yet, at most: past it the
    /// oldest is closed.
    pub pending_logons_max: usize,
    /// How far a message's SendingTime (52) may be from the engine's clock.
    pub sending_time_tolerance_ms: u64,
    /// LastMkt (30) on executions the firm made itself (internal crosses, principal
    /// fills): its market identifier code.
    pub market: String,
    /// The configured sessions.
    pub sessions: Vec<FixSession>,
}

/// A FIX version a session speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixVersion {
    /// `FIX.4.2`.
    Fix42,
    /// `FIX.4.4`.
    Fix44,
}

impl FixVersion {
    /// BeginString (8).
    #[must_use]
    pub const fn begin_string(self) -> &'static str {
        match self {
            FixVersion::Fix42 => "FIX.4.2",
            FixVersion::Fix44 => "FIX.4.4",
        }
    }
}

/// What a session does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixRole {
    /// Order entry for one client.
    Orders(ClientId),
    /// A read-only copy of every client's execution reports.
    DropCopy,
}

/// One FIX session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixSession {
    /// The counterparty's CompID: the SenderCompID (49) it logs on with.
    pub comp_id: String,
    /// Order entry for a client, or drop copy.
    pub role: FixRole,
    /// The version it speaks.
    pub version: FixVersion,
    /// The Password (554) its Logon must carry (`None`: it cannot log on, as in the
    /// journal's copy of the configuration, which keeps no secret).
    pub secret: Option<String>,
}
