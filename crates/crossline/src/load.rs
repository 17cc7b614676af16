//! A deterministic stream of commands that exercises the whole engine on the default
//! configuration: quotes moving around each symbol's reference price, client orders of
//! every type on both sides (some marketable, some resting, some short), cancels and
//! replaces of recent orders, venue fills and cancels answering the routes the matcher
//! sends, locates, and now and then a snapshot. The crash tests, the journal harness and
//! the replay benchmark drive the engine with it. Time comes from the caller.

use std::collections::VecDeque;

use crossline_matcher::{Event, VenueCancel, VenueFill};
use crossline_sequencer::Command;
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, NewOrder, OrderId, OrderType, Price, Quantity,
    Quote, Replace, Side, SymbolId, TimeInForce,
};

/// The symbols of the default configuration: id, reference price (micro-dollars), tick.
const SYMBOLS: [(u32, i64, i64); 4] = [
    (1, 190_000_000, 10_000),
    (2, 415_000_000, 10_000),
    (3, 11_200_000, 10_000),
    (4, 850_000, 100),
];
const CLIENTS: [u32; 4] = [1, 2, 3, 4];

/// The generator. See the module documentation.
pub struct Generator {
    state: u64,
    mids: [i64; 4],
    next_id: u64,
    recent: VecDeque<(ClientId, SymbolId, ClientOrderId, Price)>,
    routes: VecDeque<(OrderId, Quantity, Option<Price>, i64)>,
    snapshot_every: u64,
    count: u64,
}

impl Generator {
    /// A generator from `seed`, whose client order ids start above `first_id` (pass the
    /// engine's next sequence number after a restart, so ids never repeat), taking a
    /// snapshot every `snapshot_every` commands (zero: never).
    #[must_use]
    pub fn new(seed: u64, first_id: u64, snapshot_every: u64) -> Generator {
        Generator {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            mids: SYMBOLS.map(|(_, reference, _)| reference),
            next_id: first_id.saturating_mul(4).max(1),
            recent: VecDeque::with_capacity(64),
            routes: VecDeque::with_capacity(64),
            snapshot_every,
            count: 0,
        }
    }

    fn random(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn below(&mut self, n: u64) -> u64 {
        self.random() % n
    }

    /// Follows the engine's events: routes wait for a venue's answer.
    pub fn on_event(&mut self, event: &Event) {
        if let Event::Route(route) = event {
            if self.routes.len() < 64 {
                let symbol = SYMBOLS
                    .iter()
                    .position(|s| s.0 == route.symbol.get())
                    .unwrap_or(0);
                self.routes.push_back((
                    route.order_id,
                    route.quantity,
                    route.limit,
                    self.mids[symbol],
                ));
            }
        }
    }

    /// The next command.
    pub fn next_command(&mut self) -> Command {
        self.count += 1;
        if self.snapshot_every > 0 && self.count % self.snapshot_every == 0 {
            return Command::Snapshot;
        }
        // A trading day every 20,000 commands: day orders expire, credit starts afresh.
        if self.count % 20_000 == 1 && self.count > 1 {
            return Command::EndOfDay;
        }
        let roll = self.below(100);
        let s = usize::try_from(self.below(4)).unwrap_or(0);
        let (symbol, _, tick) = SYMBOLS[s];
        let symbol = SymbolId::new(symbol);
        match roll {
            0..=19 => {
                let step = (i64::try_from(self.below(5)).unwrap_or(0) - 2) * tick;
                self.mids[s] = (self.mids[s] + step).max(tick * 10);
                let half = tick * (1 + i64::try_from(self.below(3)).unwrap_or(0));
                Command::Nbbo(Quote {
                    symbol,
                    bid: Price::from_micros(self.mids[s] - half),
                    bid_size: Quantity::new(100 * (1 + u32::try_from(self.below(20)).unwrap_or(0))),
                    ask: Price::from_micros(self.mids[s] + half),
                    ask_size: Quantity::new(100 * (1 + u32::try_from(self.below(20)).unwrap_or(0))),
                })
            }
            20..=29 if !self.routes.is_empty() => {
                let Some((order_id, quantity, limit, mid)) = self.routes.pop_front() else {
                    return Command::EndOfDay;
                };
                if self.below(3) == 0 {
                    Command::VenueCancel(VenueCancel { order_id, quantity })
                } else {
                    Command::VenueFill(VenueFill {
                        order_id,
                        quantity,
                        price: limit.unwrap_or(Price::from_micros(mid)),
                    })
                }
            }
            30..=39 if !self.recent.is_empty() => {
                let index = usize::try_from(self.below(self.recent.len() as u64)).unwrap_or(0);
                let (client, symbol, original, price) = self.recent[index];
                let client_order_id = self.take_id();
                if self.below(2) == 0 {
                    Command::Cancel(Cancel {
                        client,
                        symbol,
                        client_order_id,
                        original_client_order_id: original,
                    })
                } else {
                    self.recent[index].2 = client_order_id;
                    Command::Replace(Replace {
                        client,
                        client_order_id,
                        original_client_order_id: original,
                        price,
                        quantity: Quantity::new(
                            100 * (1 + u32::try_from(self.below(5)).unwrap_or(0)),
                        ),
                    })
                }
            }
            40..=41 => Command::Locate {
                client: ClientId::new(CLIENTS[usize::try_from(self.below(4)).unwrap_or(0)]),
                symbol,
                shares: 1000 * (1 + self.below(10)),
            },
            _ => self.new_order(s),
        }
    }

    fn take_id(&mut self) -> ClientOrderId {
        self.next_id += 1;
        ClientOrderId::new(self.next_id)
    }

    fn new_order(&mut self, s: usize) -> Command {
        let (symbol, _, tick) = SYMBOLS[s];
        let client = ClientId::new(CLIENTS[usize::try_from(self.below(4)).unwrap_or(0)]);
        let side = match self.below(10) {
            0..=4 => Side::Buy,
            5..=8 => Side::Sell,
            _ => Side::SellShort,
        };
        let buy = side == Side::Buy;
        // From five ticks through the far side (marketable) to five ticks behind.
        let offset = (i64::try_from(self.below(11)).unwrap_or(0) - 5) * tick;
        let price = Price::from_micros(if buy {
            self.mids[s] + offset
        } else {
            self.mids[s] - offset
        });
        let (order_type, time_in_force) = match self.below(20) {
            0 => (OrderType::Market, TimeInForce::ImmediateOrCancel),
            1..=4 => (OrderType::Limit, TimeInForce::ImmediateOrCancel),
            _ => (OrderType::Limit, TimeInForce::Day),
        };
        let price = if order_type == OrderType::Market {
            Price::ZERO
        } else {
            price
        };
        let client_order_id = self.take_id();
        let symbol = SymbolId::new(symbol);
        if time_in_force == TimeInForce::Day {
            if self.recent.len() == 64 {
                self.recent.pop_front();
            }
            self.recent
                .push_back((client, symbol, client_order_id, price));
        }
        Command::NewOrder(NewOrder {
            client,
            symbol,
            client_order_id,
            price,
            quantity: Quantity::new(100 * (1 + u32::try_from(self.below(10)).unwrap_or(0))),
            side,
            order_type,
            time_in_force,
            capacity: Capacity::Agency,
        })
    }
}
