//! The one order-flow generator: client order messages (new orders, cancels, replaces)
//! from the configured clients over the configured symbols, and the NBBO quotes they
//! trade against, deterministic for a seed. The end-to-end benchmark sends its stream;
//! the crash-test harness and the journal benchmark drive the one-thread engine with it
//! (through [`crate::load`], which adds locates, the end of the day, snapshots, and
//! venue answers to the routes of a caller that hands it the engine's events, as the
//! harness does); each of the demo's simulated clients draws its new orders from one
//! restricted to that client and the symbols it trades.
//!
//! - **New orders**: buys, sells and (unless turned off) short sales, limit prices from
//!   four ticks through the NBBO midpoint (marketable) to four behind it (resting), a
//!   twentieth market orders, a fifth immediate-or-cancel, the rest day orders; 100 to
//!   `lots_max` × 100 shares.
//! - **Cancels and replaces** ([`OrderFlow::next_order`]) of day orders sent earlier: a
//!   message in ten cancels one and one in twenty replaces one. Day orders are remembered
//!   up to a bound; past it the oldest is cancelled, so the books hold a steady working
//!   set the way a real session's do instead of growing without end. Since every day
//!   order is cancelled in the end, the mix settles at about 55% new orders, 41% cancels
//!   and 3% replaces. A cancel or replace of an order that has meanwhile filled is
//!   refused by the engine, which is part of the flow too.
//! - **Quotes**: the NBBO of one symbol at a time, its midpoint walking a tick at a time
//!   and pulled back towards the reference price, one to two ticks either side.
//!
//! Every client order id is unique across clients, so a reply names its request alone.

use std::collections::VecDeque;

use crossline_config::Config;
use crossline_protocol::client::Inbound;
use crossline_sequencer::Command;
use crossline_types::{
    Cancel, Capacity, ClientId, ClientOrderId, NewOrder, OrderType, Price, Quantity, Quote,
    Replace, Side, SymbolId, TimeInForce,
};

/// A symbol the flow trades: id, reference price and tick, in micro-dollars.
#[derive(Debug, Clone, Copy)]
struct Traded {
    symbol: SymbolId,
    reference: i64,
    tick: i64,
}

/// Ticks the midpoint may wander from the reference price before it is pulled back.
const WANDER_TICKS: i64 = 10;

/// The generator. See the module documentation.
#[derive(Clone)]
pub struct OrderFlow {
    random: fastrand::Rng,
    symbols: Vec<Traded>,
    mids: Vec<i64>,
    clients: Vec<ClientId>,
    next_id: u64,
    resting: VecDeque<(ClientId, SymbolId, ClientOrderId, Price)>,
    resting_max: usize,
    lots_max: u32,
    short_sales: bool,
}

impl OrderFlow {
    /// A flow over `config`'s symbols and clients (those with a session secret) from
    /// `seed`, keeping at most `resting_max` day orders working before it cancels the
    /// oldest (0: it remembers none, and [`OrderFlow::next_order`] only sends new ones).
    #[must_use]
    pub fn new(config: &Config, seed: u64, resting_max: usize) -> OrderFlow {
        let symbols: Vec<Traded> = config
            .matcher
            .symbols
            .iter()
            .map(|s| Traded {
                symbol: s.symbol,
                reference: s.reference_price.micros(),
                tick: s.book.tick.micros(),
            })
            .collect();
        OrderFlow {
            random: fastrand::Rng::with_seed(seed),
            mids: symbols.iter().map(|s| s.reference).collect(),
            symbols,
            clients: config.secrets.iter().map(|(id, _)| *id).collect(),
            next_id: 0,
            resting: VecDeque::with_capacity(resting_max + 1),
            resting_max,
            lots_max: 10,
            short_sales: true,
        }
    }

    /// Orders from `client` alone.
    #[must_use]
    pub fn for_client(mut self, client: ClientId) -> OrderFlow {
        self.clients = vec![client];
        self
    }

    /// Orders in these of the configured symbols only (all of them if none match).
    #[must_use]
    pub fn in_symbols(mut self, symbols: &[SymbolId]) -> OrderFlow {
        let kept: Vec<usize> = (0..self.symbols.len())
            .filter(|&index| symbols.contains(&self.symbols[index].symbol))
            .collect();
        if !kept.is_empty() {
            self.mids = kept.iter().map(|&index| self.mids[index]).collect();
            self.symbols = kept.iter().map(|&index| self.symbols[index]).collect();
        }
        self
    }

    /// New orders of 100 to `lots_max` × 100 shares (default 10).
    #[must_use]
    pub fn lots_max(mut self, lots_max: u32) -> OrderFlow {
        self.lots_max = lots_max.max(1);
        self
    }

    /// No short sales (a flow without locates, whose short sales Reg SHO would refuse).
    #[must_use]
    pub fn without_short_sales(mut self) -> OrderFlow {
        self.short_sales = false;
        self
    }

    /// Client order ids from `after` + 1 on.
    #[must_use]
    pub fn ids_after(mut self, after: u64) -> OrderFlow {
        self.next_id = after;
        self
    }

    /// A fresh client order id (for a request the caller builds itself).
    pub fn take_id(&mut self) -> ClientOrderId {
        self.next_id += 1;
        ClientOrderId::new(self.next_id)
    }

    /// A number below `n` from the flow's stream (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.random.usize(..n)
        }
    }

    /// The clients orders come from.
    #[must_use]
    pub fn clients(&self) -> &[ClientId] {
        &self.clients
    }

    /// The symbols it trades.
    pub fn symbols(&self) -> impl Iterator<Item = SymbolId> + '_ {
        self.symbols.iter().map(|traded| traded.symbol)
    }

    /// The flow's midpoint of `symbol` (its quotes centre on it).
    #[must_use]
    pub fn mid(&self, symbol: SymbolId) -> Option<Price> {
        let index = self.symbols.iter().position(|t| t.symbol == symbol)?;
        Some(Price::from_micros(self.mids[index]))
    }

    /// A locate of `shares` for every client in every symbol, so short sales pass Reg SHO.
    #[must_use]
    pub fn locates(&self, shares: u64) -> Vec<Command> {
        self.clients
            .iter()
            .flat_map(|client| {
                self.symbols.iter().map(move |traded| Command::Locate {
                    client: *client,
                    symbol: traded.symbol,
                    shares,
                    locate_id: 0,
                    expires_s: 0,
                    operator: 0,
                    request: 0,
                })
            })
            .collect()
    }

    /// The NBBO of every symbol at its current midpoint.
    #[must_use]
    pub fn all_quotes(&self) -> Vec<Quote> {
        (0..self.symbols.len())
            .map(|index| self.quote_of(index, 1))
            .collect()
    }

    /// The next quote: one symbol's midpoint moves by at most a tick.
    pub fn next_quote(&mut self) -> Quote {
        let index = self.below(self.symbols.len());
        let Traded {
            reference, tick, ..
        } = self.symbols[index];
        let drift = self.mids[index] - reference;
        let step = if drift > WANDER_TICKS * tick {
            -tick
        } else if drift < -WANDER_TICKS * tick {
            tick
        } else {
            (i64::try_from(self.below(3)).unwrap_or(1) - 1) * tick
        };
        self.mids[index] += step;
        let half_ticks = 1 + i64::try_from(self.below(2)).unwrap_or(0);
        self.quote_of(index, half_ticks)
    }

    fn quote_of(&self, index: usize, half_ticks: i64) -> Quote {
        let Traded { symbol, tick, .. } = self.symbols[index];
        let mid = self.mids[index];
        Quote {
            symbol,
            bid: Price::from_micros(mid - half_ticks * tick),
            bid_size: Quantity::new(500),
            ask: Price::from_micros(mid + half_ticks * tick),
            ask_size: Quantity::new(500),
        }
    }

    /// The next client order message: a cancel or replace of a day order it sent, or a
    /// new order.
    pub fn next_order(&mut self) -> Command {
        if self.resting_max > 0 && self.resting.len() > self.resting_max {
            if let Some((client, symbol, original, _)) = self.resting.pop_front() {
                return self.cancel(client, symbol, original);
            }
        }
        let roll = self.below(100);
        if roll < 15 && !self.resting.is_empty() {
            let index = self.below(self.resting.len());
            if roll < 10 {
                let (client, symbol, original, _) = self
                    .resting
                    .swap_remove_back(index)
                    .expect("index is below the length");
                return self.cancel(client, symbol, original);
            }
            let (client, _, original, price) = self.resting[index];
            let client_order_id = self.take_id();
            self.resting[index].2 = client_order_id;
            return Command::Replace(Replace {
                client,
                client_order_id,
                original_client_order_id: original,
                price,
                quantity: Quantity::new(100 * (1 + u32::try_from(self.below(5)).unwrap_or(0))),
            });
        }
        self.new_order()
    }

    fn cancel(&mut self, client: ClientId, symbol: SymbolId, original: ClientOrderId) -> Command {
        Command::Cancel(Cancel {
            client,
            symbol,
            client_order_id: self.take_id(),
            original_client_order_id: original,
        })
    }

    /// The next new order (a `Command::NewOrder`).
    pub fn new_order(&mut self) -> Command {
        let index = self.below(self.symbols.len());
        let Traded { symbol, tick, .. } = self.symbols[index];
        let pick = self.below(self.clients.len());
        let client = self.clients[pick];
        let side = match self.below(20) {
            0..=8 => Side::Buy,
            9..=16 => Side::Sell,
            _ if self.short_sales => Side::SellShort,
            _ => Side::Sell,
        };
        // Positive: through the midpoint towards the far side (marketable at two ticks).
        let offset = (i64::try_from(self.below(9)).unwrap_or(4) - 4) * tick;
        let mid = self.mids[index];
        let price = if side == Side::Buy {
            mid + offset
        } else {
            mid - offset
        };
        let (order_type, time_in_force) = match self.below(20) {
            0 => (OrderType::Market, TimeInForce::ImmediateOrCancel),
            1..=4 => (OrderType::Limit, TimeInForce::ImmediateOrCancel),
            _ => (OrderType::Limit, TimeInForce::Day),
        };
        let price = if order_type == OrderType::Market {
            Price::ZERO
        } else {
            Price::from_micros(price)
        };
        let client_order_id = self.take_id();
        if time_in_force == TimeInForce::Day && self.resting_max > 0 {
            self.resting
                .push_back((client, symbol, client_order_id, price));
        }
        Command::NewOrder(NewOrder {
            client,
            symbol,
            client_order_id,
            price,
            quantity: Quantity::new(100 * (1 + self.random.u32(..self.lots_max))),
            side,
            order_type,
            time_in_force,
            capacity: Capacity::Agency,
        })
    }
}

/// A client order message of the flow as the client sends it on the wire: the client it
/// comes from, the request (the session, not the frame, names the client), and its
/// client order id. `None` for a command that is not a client order message.
#[must_use]
pub fn on_the_wire(command: &Command) -> Option<(ClientId, Inbound, ClientOrderId)> {
    Some(match *command {
        Command::NewOrder(order) => (
            order.client,
            Inbound::NewOrder {
                client_order_id: order.client_order_id,
                symbol: order.symbol,
                quantity: order.quantity,
                price: order.price,
                side: order.side,
                order_type: order.order_type,
                time_in_force: order.time_in_force,
                capacity: order.capacity,
            },
            order.client_order_id,
        ),
        Command::Cancel(cancel) => (
            cancel.client,
            Inbound::Cancel {
                client_order_id: cancel.client_order_id,
                original_client_order_id: cancel.original_client_order_id,
                symbol: cancel.symbol,
            },
            cancel.client_order_id,
        ),
        Command::Replace(replace) => (
            replace.client,
            Inbound::Replace {
                client_order_id: replace.client_order_id,
                original_client_order_id: replace.original_client_order_id,
                price: replace.price,
                quantity: replace.quantity,
            },
            replace.client_order_id,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(resting_max: usize) -> OrderFlow {
        let config = crossline_config::parse(crossline_config::DEFAULT).unwrap();
        OrderFlow::new(&config, 7, resting_max)
    }

    #[test]
    fn ids_are_unique_and_the_working_set_stays_bounded() {
        let mut flow = flow(100);
        let mut ids = std::collections::HashSet::new();
        let (mut news, mut cancels, mut replaces) = (0, 0, 0);
        for _ in 0..100_000 {
            let id = match flow.next_order() {
                Command::NewOrder(order) => {
                    news += 1;
                    order.client_order_id
                }
                Command::Cancel(cancel) => {
                    cancels += 1;
                    cancel.client_order_id
                }
                Command::Replace(replace) => {
                    replaces += 1;
                    replace.client_order_id
                }
                other => panic!("not a client order message: {other:?}"),
            };
            assert!(ids.insert(id), "id {id:?} repeated");
            assert!(flow.resting.len() <= 101);
        }
        // Every day order is cancelled in the end (three in four new orders), so the mix
        // settles at about 55% new orders, 41% cancels and 3% replaces.
        assert!((50_000..60_000).contains(&news), "{news} new orders");
        assert!((36_000..46_000).contains(&cancels), "{cancels} cancels");
        assert!((2_000..5_000).contains(&replaces), "{replaces} replaces");
    }

    #[test]
    fn quotes_stay_near_the_reference_and_never_cross() {
        let mut flow = flow(100);
        for _ in 0..100_000 {
            let quote = flow.next_quote();
            assert!(quote.bid < quote.ask);
            let traded = flow
                .symbols
                .iter()
                .find(|t| t.symbol == quote.symbol)
                .unwrap();
            let mid = (quote.bid.micros() + quote.ask.micros()) / 2;
            assert!((mid - traded.reference).abs() <= (WANDER_TICKS + 1) * traded.tick);
        }
    }
}
