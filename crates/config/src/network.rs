//! The tables for the engine's connections: `[net]` (the transport), `[gateway]` (client
//! sessions), `[market_data]` (the feed) and each client's logon `secret`. Every key has a
//! default, so a file without these tables runs on loopback with the io_uring backend.

use std::net::SocketAddr;
use std::path::PathBuf;

use crossline_net::{Backend, NetConfig};
use serde::Deserialize;

use crate::ConfigError;

/// The transport and session settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// The transport's.
    pub net: NetConfig,
    /// Client sessions'.
    pub gateway: GatewaySettings,
    /// The market-data feed's.
    pub market_data: MarketDataSettings,
}

/// Client order-entry sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// How long a connection may take to log on.
    pub logon_timeout_ms: u64,
    /// Refused frames a session may send before it is disconnected.
    pub session_errors_max: u32,
    /// Order replies kept per client for resend after a reconnect.
    pub replies_max: usize,
    /// Connections that have not logged on yet, at most: past it the oldest is closed.
    /// `[net] connections_max` must cover it and every client with a secret.
    pub pending_logons_max: usize,
}

/// The market-data feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketDataSettings {
    /// The UDP address the feed arrives on.
    pub listen: SocketAddr,
    /// A recorded feed to replay as the feed's source, and its pace.
    pub replay: Option<(PathBuf, ReplayPace)>,
    /// The feed socket's kernel receive buffer (`SO_RCVBUF`), bytes: room for the
    /// datagrams that arrive while the market-data ingress is busy.
    pub socket_buffer_bytes: usize,
}

pub use crossline_gateway::replay::ReplayPace;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct NetFile {
    backend: String,
    connections_max: usize,
    receive_buffer_kib: usize,
    send_buffer_kib: usize,
    sqpoll_idle_ms: u32,
    busy_poll_us: u32,
}

impl Default for NetFile {
    fn default() -> NetFile {
        NetFile {
            backend: "io_uring".into(),
            connections_max: 64,
            receive_buffer_kib: 64,
            send_buffer_kib: 256,
            sqpoll_idle_ms: 0,
            busy_poll_us: 0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct GatewayFile {
    listen: String,
    logon_timeout_ms: u64,
    session_errors_max: u32,
    replies_max: usize,
    pending_logons_max: usize,
}

impl Default for GatewayFile {
    fn default() -> GatewayFile {
        GatewayFile {
            listen: "127.0.0.1:9100".into(),
            logon_timeout_ms: 5_000,
            session_errors_max: 10,
            replies_max: 65_536,
            pending_logons_max: 16,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MarketDataFile {
    listen: String,
    replay_file: Option<String>,
    replay_pace: String,
    socket_buffer_kib: usize,
}

impl Default for MarketDataFile {
    fn default() -> MarketDataFile {
        MarketDataFile {
            listen: "127.0.0.1:9200".into(),
            replay_file: None,
            replay_pace: "recorded".into(),
            socket_buffer_kib: 4096,
        }
    }
}

pub(crate) fn invalid(
    table: &str,
    key: &'static str,
    value: String,
    expected: &'static str,
) -> ConfigError {
    ConfigError::Invalid {
        table: table.to_owned(),
        key,
        value,
        expected,
    }
}

pub(crate) fn address(
    table: &str,
    key: &'static str,
    text: &str,
) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| {
        invalid(
            table,
            key,
            format!("\"{text}\""),
            "an IP address and port, like \"127.0.0.1:9100\"",
        )
    })
}

fn replay(market_data: &MarketDataFile) -> Result<Option<(PathBuf, ReplayPace)>, ConfigError> {
    let pace = match market_data.replay_pace.as_str() {
        "recorded" => ReplayPace::Recorded,
        "fast" => ReplayPace::Fast,
        other => {
            return Err(invalid(
                "[market_data]",
                "replay_pace",
                format!("\"{other}\""),
                "\"recorded\" or \"fast\"",
            ))
        }
    };
    match market_data.replay_file.as_deref() {
        None => Ok(None),
        Some("") => Err(invalid(
            "[market_data]",
            "replay_file",
            "\"\"".into(),
            "the path of a recorded feed (crossline-venue --record)",
        )),
        Some(path) => Ok(Some((PathBuf::from(path), pace))),
    }
}

pub(crate) fn settings(
    net: &NetFile,
    gateway: &GatewayFile,
    market_data: &MarketDataFile,
) -> Result<Network, ConfigError> {
    let backend = match net.backend.as_str() {
        "io_uring" => Backend::IoUring,
        "epoll" => Backend::Epoll,
        other => {
            return Err(invalid(
                "[net]",
                "backend",
                format!("\"{other}\""),
                "\"io_uring\" or \"epoll\"",
            ))
        }
    };
    let config = NetConfig {
        backend,
        connections_max: net.connections_max,
        receive_buffer_bytes: net.receive_buffer_kib << 10,
        send_buffer_bytes: net.send_buffer_kib << 10,
        sqpoll_idle_ms: (net.sqpoll_idle_ms > 0).then_some(net.sqpoll_idle_ms),
        busy_poll_us: net.busy_poll_us,
        ..NetConfig::default()
    };
    if let Err(crossline_net::NetError::Config {
        field,
        value,
        expected,
    }) = config.validate()
    {
        // Name the key as the file spells it.
        let (key, value) = match field {
            "receive_buffer_bytes" => ("receive_buffer_kib", net.receive_buffer_kib.to_string()),
            "send_buffer_bytes" => ("send_buffer_kib", net.send_buffer_kib.to_string()),
            "connections_max" => ("connections_max", value),
            other => (other, value),
        };
        return Err(invalid("[net]", key, value, expected));
    }
    if !(64..=1 << 20).contains(&market_data.socket_buffer_kib) {
        return Err(invalid(
            "[market_data]",
            "socket_buffer_kib",
            market_data.socket_buffer_kib.to_string(),
            "between 64 and 1048576 (KiB)",
        ));
    }
    if gateway.session_errors_max == 0 {
        return Err(invalid(
            "[gateway]",
            "session_errors_max",
            "0".into(),
            "at least 1",
        ));
    }
    if !(16..=1 << 24).contains(&gateway.replies_max) {
        return Err(invalid(
            "[gateway]",
            "replies_max",
            gateway.replies_max.to_string(),
            "between 16 and 16777216",
        ));
    }
    if gateway.pending_logons_max == 0 {
        return Err(invalid(
            "[gateway]",
            "pending_logons_max",
            "0".into(),
            "at least 1 (a client must be able to connect to log on)",
        ));
    }
    if gateway.logon_timeout_ms == 0 {
        return Err(invalid(
            "[gateway]",
            "logon_timeout_ms",
            "0".into(),
            "a positive number of milliseconds",
        ));
    }
    Ok(Network {
        net: config,
        gateway: GatewaySettings {
            listen: address("[gateway]", "listen", &gateway.listen)?,
            logon_timeout_ms: gateway.logon_timeout_ms,
            session_errors_max: gateway.session_errors_max,
            replies_max: gateway.replies_max,
            pending_logons_max: gateway.pending_logons_max,
        },
        market_data: MarketDataSettings {
            listen: address("[market_data]", "listen", &market_data.listen)?,
            replay: replay(market_data)?,
            socket_buffer_bytes: market_data.socket_buffer_kib << 10,
        },
    })
}
