//! A deterministic stream of commands that exercises the whole engine: the one order
//! flow ([`crate::flow::OrderFlow`]: quotes, client orders of every type on both sides,
//! some marketable, some resting, some short, and cancels and replaces of day orders),
//! venue fills and cancels answering the routes the matcher sends (to a caller that
//! hands it the engine's events through [`Generator::on_event`]: the crash-test harness
//! does, the journal benchmark does not), locates, the end of the trading day every
//! 20,000 commands, and now and then a snapshot. The crash tests, the journal harness
//! and the journal benchmark drive the one-thread engine with it. Time comes from the
//! caller.

use std::collections::VecDeque;

use crossline_config::Config;
use crossline_matcher::{Event, VenueCancel, VenueFill};
use crossline_sequencer::Command;
use crossline_types::{OrderId, Price, Quantity, SymbolId};

use crate::flow::OrderFlow;

/// Day orders the flow keeps working before it cancels the oldest.
const RESTING_MAX: usize = 64;
/// Routes waiting for a venue's answer, at most.
const ROUTES_MAX: usize = 64;
/// Commands in a trading day.
const DAY_COMMANDS: u64 = 20_000;

/// The generator. See the module documentation.
pub struct Generator {
    flow: OrderFlow,
    random: fastrand::Rng,
    routes: VecDeque<(OrderId, SymbolId, Quantity, Option<Price>)>,
    snapshot_every: u64,
    count: u64,
}

impl Generator {
    /// A generator over `config`'s clients and symbols from `seed`, whose client order
    /// ids start above `first_id` × 4 (pass the engine's next sequence number after a
    /// restart, so ids never repeat), taking a snapshot every `snapshot_every` commands
    /// (zero: never).
    #[must_use]
    pub fn new(config: &Config, seed: u64, first_id: u64, snapshot_every: u64) -> Generator {
        Generator {
            flow: OrderFlow::new(config, seed, RESTING_MAX).ids_after(first_id.saturating_mul(4)),
            random: fastrand::Rng::with_seed(seed ^ 0x9E37_79B9_7F4A_7C15),
            routes: VecDeque::with_capacity(ROUTES_MAX),
            snapshot_every,
            count: 0,
        }
    }

    /// Follows the engine's events: routes wait for a venue's answer.
    pub fn on_event(&mut self, event: &Event) {
        if let Event::Route(route) = event {
            if self.routes.len() < ROUTES_MAX {
                self.routes
                    .push_back((route.order_id, route.symbol, route.quantity, route.limit));
            }
        }
    }

    /// The next command.
    pub fn next_command(&mut self) -> Command {
        self.count += 1;
        if self.snapshot_every > 0 && self.count % self.snapshot_every == 0 {
            return Command::Snapshot;
        }
        // Day orders expire and credit starts afresh.
        if self.count % DAY_COMMANDS == 1 && self.count > 1 {
            return Command::END_OF_DAY;
        }
        match self.random.u64(..100) {
            0..=19 => Command::Nbbo(self.flow.next_quote()),
            20..=29 if !self.routes.is_empty() => self.venue_answer(),
            30..=31 => {
                let client = self.flow.clients()[self.random.usize(..self.flow.clients().len())];
                let symbols = self.flow.symbols().count();
                let pick = self.random.usize(..symbols);
                let symbol = self.flow.symbols().nth(pick).unwrap_or(SymbolId::new(1));
                Command::Locate {
                    client,
                    symbol,
                    shares: 1000 * (1 + self.random.u64(..10)),
                    locate_id: 0,
                    expires_s: 0,
                    operator: 0,
                    request: 0,
                }
            }
            _ => self.flow.next_order(),
        }
    }

    /// A venue's answer to the oldest route waiting: a cancel one time in three, else a
    /// fill at the route's limit (at the flow's midpoint for a market order).
    fn venue_answer(&mut self) -> Command {
        let Some((order_id, symbol, quantity, limit)) = self.routes.pop_front() else {
            return Command::END_OF_DAY;
        };
        if self.random.u64(..3) == 0 {
            Command::VenueCancel(VenueCancel { order_id, quantity })
        } else {
            let price = limit
                .or_else(|| self.flow.mid(symbol))
                .unwrap_or(Price::CENT);
            Command::VenueFill(VenueFill {
                order_id,
                quantity,
                price,
                // One of the default configuration's three venues, charging 0.3¢ a share.
                venue: u8::try_from(1 + order_id.get() % 3).unwrap_or(1),
                fee: Price::from_micros(3_000 * i64::from(quantity.shares())),
            })
        }
    }
}
