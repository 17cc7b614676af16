//! Crossline's connection to the world, around the engine core: client order-entry
//! sessions over TCP ([`session`]), the market-data feed over UDP ([`feed`]), and the
//! egress of replies and routes, all on one [`crossline_net::Transport`].
//!
//! [`Server`] runs them with the engine (risk gate, sequencer, journal, matcher) on one
//! thread, the shared-thread placement a two-core machine uses: a poll reads what arrived,
//! every client request and NBBO becomes a journaled command, and the engine's events
//! become client replies and routes before the poll hands its sends to the kernel. The
//! write-ahead rule holds: a reply leaves only after its command is in the journal.
//!
//! **Routes.** The [`crossline_router::Router`] runs on the same transport: a route
//! instruction becomes a child order at the best venue, and the venue's reports come back
//! as `VenueFill`/`VenueCancel` commands, journaled before the client hears of them. With
//! no venue configured or connected, a route is cancelled back to its parent at once.
//!
//! **Restart.** Orders that the recovered engine still shows out at a venue are cancelled
//! back at start: the venue sessions of the previous run ended with it, and the venue
//! protocol's cancel on disconnect ended their child orders.

pub mod feed;
pub mod replay;
pub mod session;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossline_config::Config;
use crossline_engine::{Engine, EngineError, Observer};
use crossline_matcher::{Event, VenueCancel};
use crossline_net::{CloseReason, ConnId, Handler, ListenerId, NetError, Outbox, Transport, UdpId};
use crossline_protocol::client::Outbound;
use crossline_protocol::frame::{Secret, HEADER_BYTES};
use crossline_protocol::market_data::ENTRIES_PER_PACKET_MAX;
use crossline_risk::{Command, Journal, Output, Sequenced, Stamped};
use crossline_router::{Router, RouterConfigError, RouterStats, Tops};
use crossline_types::{ClientId, ClientOrderId, Quote, SymbolId, Timestamp};

pub use feed::{Feed, FeedStats, TopChange, VenueTops};
pub use replay::ReplayError;
use replay::{Replay, DATAGRAMS_PER_POLL};
pub use session::{SessionLimits, SessionStats, Sessions};

/// Housekeeping (heartbeats, logon timeouts) runs at most this often.
const HOUSEKEEPING_INTERVAL_NS: u64 = 10_000_000;

/// Why the server stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The transport failed.
    #[error("network: {0}")]
    Net(#[from] NetError),
    /// The engine failed (a journal append; the engine must stop and recover).
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    /// The router's settings are out of range.
    #[error("router: {0}")]
    Router(#[from] RouterConfigError),
    /// The recorded feed to replay cannot be opened.
    #[error("{0}")]
    Replay(#[from] ReplayError),
    /// A configured secret is not usable.
    #[error("client {client}: secret is longer than 32 bytes")]
    Secret {
        /// The client.
        client: ClientId,
    },
}

/// The client sessions `config` describes: its clients' secrets and the session limits.
///
/// # Errors
/// [`ServerError::Secret`] when a configured secret is not usable.
pub fn sessions_for(config: &Config) -> Result<Sessions, ServerError> {
    let network = &config.network;
    let mut secrets = Vec::with_capacity(config.secrets.len());
    for (client, text) in &config.secrets {
        let secret = Secret::from_text(text).ok_or(ServerError::Secret { client: *client })?;
        secrets.push((*client, secret));
    }
    let limits = SessionLimits {
        logon_timeout_ns: network.gateway.logon_timeout_ms * 1_000_000,
        errors_max: network.gateway.session_errors_max,
        replies_max: network.gateway.replies_max,
    };
    Ok(Sessions::new(limits, &secrets, network.net.connections_max))
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

/// The engine with its sessions and feed on one transport.
pub struct Server<J: Journal> {
    net: Transport,
    gateway: Gateway<J>,
    client_address: SocketAddr,
    feed_address: SocketAddr,
}

struct Gateway<J: Journal> {
    engine: Engine<J>,
    sessions: Sessions,
    feed: Feed,
    router: Router,
    /// The recorded feed being replayed, if the feed's source is a file.
    replay: Option<Replay>,
    clients: Option<ListenerId>,
    /// Commands waiting for the engine: requests from one poll's frames and datagrams,
    /// and the follow-ups their events cause. Sized at start for the most one poll
    /// brings; it never grows.
    pending: VecDeque<Stamped>,
    pending_max: usize,
    failure: Option<EngineError>,
    /// The time of this poll, read once before it: every command a poll brings is
    /// stamped with it (one clock read per duty cycle, none per message).
    cycle_ns: u64,
    last_housekeeping_ns: u64,
}

impl<J: Journal> Server<J> {
    /// Binds the client listener and the feed socket from `config.network` and wraps
    /// `engine` (opened on the same configuration).
    ///
    /// # Errors
    /// The transport could not be set up or bound, or a secret is unusable.
    pub fn new(config: &Config, engine: Engine<J>) -> Result<Server<J>, ServerError> {
        let network = &config.network;
        let mut net = Transport::new(&network.net)?;
        let (clients, client_address) = net.listen(network.gateway.listen)?;
        let (_, feed_address) = net.bind_udp(network.market_data.listen)?;
        // Pending commands are drained after every handler call and every housekeeping
        // round. One call brings at most a receive (or provided) buffer of frames (a frame
        // is at least a header), from a client or a venue; or one datagram (its messages,
        // plus an empty NBBO per symbol on a gap); a housekeeping round at most one cancel
        // back per open child order. Each command causes at most one follow-up (a route
        // cancelled back).
        let delivered_max = network
            .net
            .receive_buffer_bytes
            .max(network.net.provided_buffer_bytes as usize);
        let frames_max = delivered_max / HEADER_BYTES;
        let datagram_max = ENTRIES_PER_PACKET_MAX + config.symbol_names.len();
        let children_max = config.router.children_max as usize;
        let routed_max = config.matcher.orders_max as usize;
        let pending_max = 2 * frames_max
            .max(datagram_max)
            .max(children_max)
            .max(routed_max);
        let symbols = config.symbol_names.iter().map(|(id, _)| *id).collect();
        let mut server = Server {
            net,
            gateway: Gateway {
                engine,
                sessions: sessions_for(config)?,
                feed: Feed::new(symbols),
                router: Router::new(&config.router)?,
                replay: match &network.market_data.replay {
                    Some((path, pace)) => Some(Replay::open(path, *pace)?),
                    None => None,
                },
                clients: Some(clients),
                pending: VecDeque::with_capacity(pending_max),
                pending_max,
                failure: None,
                cycle_ns: 0,
                last_housekeeping_ns: 0,
            },
            client_address,
            feed_address,
        };
        server.gateway.tick_clock();
        server.cancel_recovered_routes()?;
        server.housekeeping();
        Ok(server)
    }

    /// Cancels back every order a recovered engine shows out at a venue (the previous
    /// run's venue sessions, and with them its child orders, are gone).
    fn cancel_recovered_routes(&mut self) -> Result<(), ServerError> {
        // Collected first (start-up: allocation is fine), then taken in batches that fit
        // the pending queue.
        let mut routed = Vec::new();
        self.gateway.engine.matcher().for_each_routed(|order| {
            routed.push(VenueCancel {
                order_id: order.order_id,
                quantity: order.routed,
            });
        });
        if !routed.is_empty() {
            eprintln!(
                "crossline: {} orders were out at venues when the engine stopped; their routed \
                 shares are cancelled back",
                routed.len()
            );
        }
        let gateway = &mut self.gateway;
        for batch in routed.chunks(gateway.pending_max / 2) {
            for cancel in batch {
                let command = Command::VenueCancel(*cancel);
                enqueue(
                    &mut gateway.pending,
                    gateway.pending_max,
                    gateway.cycle_ns,
                    command,
                );
            }
            gateway.drain(self.net.outbox());
            if let Some(error) = gateway.failure.take() {
                return Err(ServerError::Engine(error));
            }
        }
        Ok(())
    }

    /// Datagrams replayed from the recorded feed and whether it is all replayed; `None`
    /// when the feed's source is the network.
    #[must_use]
    pub fn replay_progress(&self) -> Option<(u64, bool)> {
        let replay = self.gateway.replay.as_ref()?;
        Some((replay.replayed(), replay.finished()))
    }

    /// Feeds the recorded datagrams due now (at most [`DATAGRAMS_PER_POLL`]) through the
    /// feed ingress, as if they had arrived on the socket.
    fn replay_due(&mut self) -> usize {
        let Some(mut replay) = self.gateway.replay.take() else {
            return 0;
        };
        let now = self.gateway.cycle_ns;
        let mut replayed = 0;
        while replayed < DATAGRAMS_PER_POLL {
            let Some(datagram) = replay.next_due(now) else {
                break;
            };
            let gateway = &mut self.gateway;
            let (pending, pending_max) = (&mut gateway.pending, gateway.pending_max);
            gateway.feed.on_datagram(datagram, &mut |command| {
                enqueue(pending, pending_max, now, command);
            });
            gateway.drain(self.net.outbox());
            replayed += 1;
        }
        self.gateway.replay = Some(replay);
        replayed
    }

    /// Session timers and the router's upkeep; the commands it causes go through the
    /// engine.
    fn housekeeping(&mut self) {
        let gateway = &mut self.gateway;
        let now = gateway.cycle_ns;
        gateway.last_housekeeping_ns = now;
        gateway.sessions.tick(self.net.outbox(), now);
        let (pending, pending_max) = (&mut gateway.pending, gateway.pending_max);
        gateway
            .router
            .tick(&mut self.net, &gateway.feed, now, &mut |command| {
                enqueue(pending, pending_max, now, command);
            });
        gateway.drain(self.net.outbox());
    }

    /// Where clients connect.
    #[must_use]
    pub fn client_address(&self) -> SocketAddr {
        self.client_address
    }

    /// Where the feed's datagrams go.
    #[must_use]
    pub fn feed_address(&self) -> SocketAddr {
        self.feed_address
    }

    /// The engine.
    #[must_use]
    pub fn engine(&self) -> &Engine<J> {
        &self.gateway.engine
    }

    /// What sessions have done.
    #[must_use]
    pub fn session_stats(&self) -> SessionStats {
        self.gateway.sessions.stats()
    }

    /// What the feed has done.
    #[must_use]
    pub fn feed_stats(&self) -> FeedStats {
        self.gateway.feed.stats()
    }

    /// What the router has done.
    #[must_use]
    pub fn router_stats(&self) -> RouterStats {
        self.gateway.router.stats()
    }

    /// The router (venue states, open child orders).
    #[must_use]
    pub fn router(&self) -> &Router {
        &self.gateway.router
    }

    /// One round: I/O, commands through the engine, replies out, and housekeeping.
    /// Returns the work done (zero: idle). `timeout` lets an idle poll wait for input.
    ///
    /// # Errors
    /// A transport failure, or an engine failure (the journal could not take a record:
    /// the server must stop; nothing after the failed record took effect).
    pub fn poll(&mut self, timeout: Option<Duration>) -> Result<usize, ServerError> {
        self.gateway.tick_clock();
        let replayed = self.replay_due();
        // Datagrams still due from a file: the transport must not wait for input.
        let timeout = if replayed == DATAGRAMS_PER_POLL {
            Some(Duration::ZERO)
        } else {
            timeout
        };
        let work = replayed + self.net.poll(&mut self.gateway, timeout)?;
        if let Some(error) = self.gateway.failure.take() {
            return Err(ServerError::Engine(error));
        }
        let now = self.gateway.cycle_ns;
        if now.saturating_sub(self.gateway.last_housekeeping_ns) >= HOUSEKEEPING_INTERVAL_NS {
            self.housekeeping();
            if let Some(error) = self.gateway.failure.take() {
                return Err(ServerError::Engine(error));
            }
        }
        Ok(work)
    }
}

impl<J: Journal> Gateway<J> {
    /// Reads the wall clock for this poll, never going backwards: the ingress stamps
    /// time on every command (the deterministic core reads no clock).
    fn tick_clock(&mut self) {
        self.cycle_ns = self.cycle_ns.max(wall_clock_ns());
    }

    /// Runs every pending command through the engine; their events become replies and
    /// follow-up commands.
    fn drain(&mut self, out: &mut Outbox) {
        while let Some(stamped) = self.pending.pop_front() {
            if self.failure.is_some() {
                self.pending.clear();
                return;
            }
            let mut replies = Replies {
                sessions: &mut self.sessions,
                router: &mut self.router,
                feed: &self.feed,
                out,
                follow_up: &mut self.pending,
                follow_up_max: self.pending_max,
                command: stamped.command,
                time: stamped.time,
            };
            if let Err(error) = self.engine.submit(&stamped, &mut replies) {
                self.failure = Some(error);
            }
        }
    }
}

/// Queues a command stamped with this poll's time.
fn enqueue(pending: &mut VecDeque<Stamped>, pending_max: usize, now: u64, command: Command) {
    // The bound is sized in `Server::new` for the most one handler call brings.
    debug_assert!(
        pending.len() < pending_max,
        "pending commands past their bound"
    );
    pending.push_back(Stamped {
        time: Timestamp::new(now),
        command,
    });
}

impl Tops for Feed {
    fn venue_top(&self, venue: u8, symbol: SymbolId) -> Option<Quote> {
        Feed::venue_top(self, venue, symbol)
    }
}

impl<J: Journal> Handler for Gateway<J> {
    fn on_accept(&mut self, _out: &mut Outbox, listener: ListenerId, conn: ConnId) {
        if Some(listener) == self.clients {
            self.sessions.open(conn, self.cycle_ns);
        }
    }

    fn on_data(&mut self, out: &mut Outbox, conn: ConnId, data: &[u8]) -> usize {
        let (now, pending, pending_max) = (self.cycle_ns, &mut self.pending, self.pending_max);
        let mut submit = |command| enqueue(pending, pending_max, now, command);
        let consumed = if self.router.is_venue(conn) {
            self.router
                .on_data(out, conn, data, &self.feed, now, &mut submit)
        } else {
            self.sessions.on_data(out, conn, data, now, &mut submit)
        };
        self.drain(out);
        consumed
    }

    fn on_close(&mut self, conn: ConnId, _reason: CloseReason) {
        if self.router.is_venue(conn) {
            // Its open child orders are handled at the next housekeeping round.
            self.router.on_close(conn, self.cycle_ns);
        } else {
            self.sessions.closed(conn);
        }
    }

    fn on_datagram(&mut self, out: &mut Outbox, _socket: UdpId, data: &[u8]) {
        let (now, pending, pending_max) = (self.cycle_ns, &mut self.pending, self.pending_max);
        self.feed.on_datagram(data, &mut |command| {
            enqueue(pending, pending_max, now, command);
        });
        self.drain(out);
    }
}

/// Turns the engine's outputs and events into client replies and follow-up commands.
struct Replies<'a> {
    sessions: &'a mut Sessions,
    router: &'a mut Router,
    feed: &'a Feed,
    out: &'a mut Outbox,
    follow_up: &'a mut VecDeque<Stamped>,
    follow_up_max: usize,
    command: Command,
    time: Timestamp,
}

impl Replies<'_> {
    fn reply(&mut self, client: ClientId, reply: &Outbound) {
        self.sessions
            .reply(self.out, client, reply, self.time.get());
    }
}

impl Observer for Replies<'_> {
    fn output(&mut self, output: &Output) {
        if let Some((client, reply)) = reject_reply(output, self.command.original_order()) {
            self.reply(client, &reply);
        }
    }

    fn event(&mut self, _input: &Sequenced, event: &Event) {
        match *event {
            Event::Route(route) => {
                // A child order to the best venue, or (none connected) a venue cancel of
                // the whole quantity, journaled as a follow-up command.
                let (follow_up, follow_up_max, time) =
                    (&mut *self.follow_up, self.follow_up_max, self.time);
                self.router
                    .route(self.out, &route, self.feed, time.get(), &mut |command| {
                        enqueue(follow_up, follow_up_max, time.get(), command);
                    });
            }
            _ => {
                if let Some((client, reply)) = event_reply(event) {
                    self.reply(client, &reply);
                }
            }
        }
    }
}

/// The client reply to a risk reject, if `output` is one: a cancel reject naming
/// `original` when the refused command was a cancel or replace, else a reject.
#[must_use]
pub fn reject_reply(
    output: &Output,
    original: Option<ClientOrderId>,
) -> Option<(ClientId, Outbound)> {
    let Output::Rejected {
        client,
        client_order_id,
        reason,
        ..
    } = *output
    else {
        return None;
    };
    let reply = match original {
        Some(original_client_order_id) => Outbound::CancelRejected {
            client_order_id,
            original_client_order_id,
            // Risk codes are 101 to 199: they fit the one-byte field.
            reason: u8::try_from(reason.code()).unwrap_or(u8::MAX),
        },
        None => Outbound::Rejected {
            client_order_id,
            reason: reason.code(),
        },
    };
    Some((client, reply))
}

/// Whether a client or a venue hears of `event`: the events [`event_reply`] answers, and
/// routes. A check of the kind only, for the matcher's hot path.
#[must_use]
pub fn for_egress(event: &Event) -> bool {
    !matches!(
        event,
        Event::PositionChanged { .. }
            | Event::FirmQuote(_)
            | Event::InputRejected { .. }
            | Event::Snapshot { .. }
    )
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
