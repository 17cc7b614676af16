//! Crossline's client and market-data edges, as the pipeline's I/O agents use them:
//! client order-entry sessions over TCP ([`session`]), the market-data feed over UDP or
//! replayed from a recorded file ([`feed`], [`replay`]), and the translation of the
//! engine's outputs and events into client replies ([`event_reply`], [`reject_reply`]).
//!
//! None of this holds engine state or runs an engine: the agents of `crossline-pipeline`
//! own these pieces (the order ingress the sessions, the market-data ingress the feed, the
//! egress the reply mapping) and meet the sequencer and matcher only at rings.

pub mod admin;
pub mod feed;
pub mod fix;
pub mod replay;
pub mod session;

use std::time::{SystemTime, UNIX_EPOCH};

use crossline_matcher::Event;
use crossline_protocol::client::Outbound;
use crossline_protocol::frame::Secret;
use crossline_types::layout::RiskRejectedLayout;
use crossline_types::{ClientId, ClientOrderId, Message};

pub use admin::{AdminRequest, OperatorAccount, Operators, StatusQuery, StatusScope};
pub use feed::{Feed, FeedStats, TopChange, VenueTops};
pub use replay::ReplayError;
pub use session::{SessionLimits, SessionStats, Sessions};

/// Why an edge could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The recorded feed to replay cannot be opened.
    #[error("{0}")]
    Replay(#[from] ReplayError),
    /// A configured secret is not usable.
    #[error("[[clients]] id = {client}: secret is longer than 32 bytes")]
    Secret {
        /// The client.
        client: ClientId,
    },
}

/// The client sessions for `secrets` (each configured client's secret, as text) under
/// `limits`, with `connections_max` connection slots.
///
/// # Errors
/// [`GatewayError::Secret`] when a configured secret is not usable.
pub fn sessions_for(
    limits: SessionLimits,
    secrets: &[(ClientId, String)],
    connections_max: usize,
) -> Result<Sessions, GatewayError> {
    let mut parsed = Vec::with_capacity(secrets.len());
    for (client, text) in secrets {
        let secret = Secret::from_text(text).ok_or(GatewayError::Secret { client: *client })?;
        parsed.push((*client, secret));
    }
    Ok(Sessions::new(limits, &parsed, connections_max))
}

/// Nanoseconds since the Unix epoch by the wall clock: the time ingress agents stamp on
/// commands (the deterministic core reads no clock).
#[must_use]
pub fn wall_clock_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        })
}

/// The client reply to a risk reject, if `message` is one (a `RiskRejected` message,
/// `docs/MESSAGES.md`): a cancel reject naming the original order when the refused
/// command was a cancel or replace, else a reject.
#[must_use]
pub fn reject_reply(message: &Message) -> Option<(ClientId, Outbound)> {
    let view = message.view::<RiskRejectedLayout>()?;
    let client_order_id = ClientOrderId::new(view.client_order_id.get());
    let original = view.original_client_order_id().map(ClientOrderId::new);
    let reason = view.reason.get();
    let reply = match original {
        Some(original_client_order_id) => Outbound::CancelRejected {
            client_order_id,
            original_client_order_id,
            // Risk codes are 101 to 199: they fit the one-byte field.
            reason: u8::try_from(reason).unwrap_or(u8::MAX),
        },
        None => Outbound::Rejected {
            client_order_id,
            reason,
        },
    };
    Some((ClientId::new(view.client.get()), reply))
}

/// The client reply a matcher event causes, if any (routes, positions, quotes and
/// snapshots reach no client).
#[must_use]
pub fn event_reply(event: &Event) -> Option<(ClientId, Outbound)> {
    let reply = match *event {
        Event::Accepted {
            order_id,
            client,
            client_order_id,
            symbol,
        } => (
            client,
            Outbound::Accepted {
                client_order_id,
                order_id,
                symbol,
            },
        ),
        Event::Rejected {
            client,
            client_order_id,
            reason,
            ..
        } => (
            client,
            Outbound::Rejected {
                client_order_id,
                reason: reason.code(),
            },
        ),
        Event::Filled(execution) => (
            execution.client,
            Outbound::Filled {
                client_order_id: execution.client_order_id,
                order_id: execution.order_id,
                price: execution.price,
                price_improvement: execution.price_improvement,
                quantity: execution.quantity,
                leaves: execution.leaves,
                liquidity: execution.liquidity,
                capacity: execution.capacity,
            },
        ),
        Event::Cancelled {
            order_id,
            client,
            client_order_id,
            quantity,
            reason,
        } => (
            client,
            Outbound::Cancelled {
                client_order_id,
                order_id,
                quantity,
                reason: reason.code(),
            },
        ),
        Event::Replaced {
            order_id,
            client,
            client_order_id,
            original_client_order_id,
            price,
            quantity,
            priority_kept,
        } => (
            client,
            Outbound::Replaced {
                client_order_id,
                original_client_order_id,
                order_id,
                price,
                quantity,
                priority_kept,
            },
        ),
        Event::CancelRejected {
            client,
            client_order_id,
            original_client_order_id,
            reason,
        } => (
            client,
            Outbound::CancelRejected {
                client_order_id,
                original_client_order_id,
                reason: reason.code(),
            },
        ),
        Event::Route(_)
        | Event::PositionChanged { .. }
        | Event::FirmQuote(_)
        | Event::InputRejected { .. }
        | Event::Snapshot { .. } => return None,
    };
    Some(reply)
}
