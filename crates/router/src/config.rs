//! The router's settings (`[router]` and `[[venues]]` in the configuration file).

use std::net::SocketAddr;

use crossline_types::{Price, SymbolId};

/// The most venues a router connects to (a parent's tried venues are a 64-bit set).
pub const VENUES_MAX: usize = 64;

/// One external venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueConfig {
    /// Its id, 1 to 255: the id its top of book carries on the market-data feed.
    pub id: u8,
    /// Its name, for logs.
    pub name: String,
    /// Where its order-entry port is.
    pub address: SocketAddr,
    /// What it charges to take liquidity, per share (negative: a rebate).
    pub fee_per_share: Price,
    /// `Some`: the venue speaks FIX 4.4 (the router is the initiator); `None`: the
    /// binary venue protocol of docs/PROTOCOL.md.
    pub fix: Option<FixVenue>,
}

/// A FIX 4.4 venue session: the router logs on as `sender_comp_id` to `target_comp_id`
/// with ResetSeqNumFlag (each connection starts both directions at 1; children do not
/// outlive a connection) and, if set, a Password (554). docs/FIX.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixVenue {
    /// The firm's CompID at the venue.
    pub sender_comp_id: String,
    /// The venue's CompID.
    pub target_comp_id: String,
    /// The Password (554) of the Logon, if the venue asks for one.
    pub password: Option<String>,
}

/// What happens to the open child orders on a venue whose connection is lost. The venue
/// protocol requires the venue to cancel them (cancel on disconnect), so either way they
/// are over at the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueLoss {
    /// Their remainders go to the next best venue still connected (within
    /// `reroutes_max`); with none, they are cancelled back.
    Reroute,
    /// Their remainders are cancelled back to the parent orders at once.
    Cancel,
}

/// The router's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterConfig {
    /// The venues, in the order ties are broken.
    pub venues: Vec<VenueConfig>,
    /// The firm's participant id, sent in every venue logon.
    pub firm: u32,
    /// What a lost venue's open child orders become.
    pub on_venue_loss: VenueLoss,
    /// Further venues one parent's remainder may be sent to after its first child.
    pub reroutes_max: u8,
    /// A child order not acknowledged within this is cancelled.
    pub ack_timeout_ms: u64,
    /// An acknowledged child order not finished within this is cancelled.
    pub fill_timeout_ms: u64,
    /// A venue that does not answer a cancel within this is disconnected (and its open
    /// child orders handled as on a venue loss).
    pub cancel_timeout_ms: u64,
    /// The router's heartbeat interval; a venue silent for three is disconnected.
    pub heartbeat_ms: u64,
    /// Time between connection attempts to a venue that is down.
    pub reconnect_ms: u64,
    /// How long one connection attempt may block the router's thread.
    pub connect_timeout_ms: u64,
    /// Child orders per venue behind its recent fill rate.
    pub fill_rate_window: u32,
    /// Child orders open at once, all venues (the table is allocated at start).
    pub children_max: u32,
    /// Each symbol's ticker, by id: the Symbol (55) of child orders to FIX venues.
    pub tickers: Vec<(SymbolId, String)>,
}

impl Default for RouterConfig {
    fn default() -> RouterConfig {
        RouterConfig {
            venues: Vec::new(),
            firm: 1,
            on_venue_loss: VenueLoss::Reroute,
            reroutes_max: 2,
            ack_timeout_ms: 500,
            fill_timeout_ms: 2_000,
            cancel_timeout_ms: 1_000,
            heartbeat_ms: 1_000,
            reconnect_ms: 1_000,
            connect_timeout_ms: 100,
            fill_rate_window: 32,
            children_max: 4_096,
            tickers: Vec::new(),
        }
    }
}

/// A setting out of range: the field, its value and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} = {value}: {expected}")]
pub struct RouterConfigError {
    /// The field, as the configuration file spells it.
    pub field: &'static str,
    /// The value given.
    pub value: String,
    /// What it must be.
    pub expected: &'static str,
}

impl RouterConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// The first field out of range.
    pub fn validate(&self) -> Result<(), RouterConfigError> {
        let error = |field, value: String, expected| {
            Err(RouterConfigError {
                field,
                value,
                expected,
            })
        };
        if self.venues.len() > VENUES_MAX {
            return error("venues", self.venues.len().to_string(), "at most 64 venues");
        }
        for (index, venue) in self.venues.iter().enumerate() {
            if venue.id == 0 {
                return error("id", "0".into(), "a venue id from 1 to 255");
            }
            if self.venues[..index]
                .iter()
                .any(|other| other.id == venue.id)
            {
                return error("id", venue.id.to_string(), "each venue id once");
            }
            if self.venues[..index]
                .iter()
                .any(|other| other.address == venue.address)
            {
                return error(
                    "address",
                    venue.address.to_string(),
                    "each venue at its own address",
                );
            }
        }
        let timers = [
            ("ack_timeout_ms", self.ack_timeout_ms),
            ("fill_timeout_ms", self.fill_timeout_ms),
            ("cancel_timeout_ms", self.cancel_timeout_ms),
            ("heartbeat_ms", self.heartbeat_ms),
            ("reconnect_ms", self.reconnect_ms),
            ("connect_timeout_ms", self.connect_timeout_ms),
        ];
        for (field, value) in timers {
            if !(1..=3_600_000).contains(&value) {
                return error(
                    field,
                    value.to_string(),
                    "between 1 and 3600000 milliseconds",
                );
            }
        }
        if !(1..=4_096).contains(&self.fill_rate_window) {
            return error(
                "fill_rate_window",
                self.fill_rate_window.to_string(),
                "between 1 and 4096 child orders",
            );
        }
        if !(1..=1 << 20).contains(&self.children_max) {
            return error(
                "children_max",
                self.children_max.to_string(),
                "between 1 and 1048576",
            );
        }
        Ok(())
    }
}
