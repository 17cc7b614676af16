//! The plain limit-order-book stream (adds, cancels, aggressive crosses; no NBBO), and the
//! subjects that run it: crossline-book and three order-book crates from crates.io.
//!
//! One stream, generated once, replayed through every subject. Every subject gets orders
//! the way its API wants them and keeps its own order-id index, as a user of it would:
//! crossline-book returns a handle per order and the adapter keeps handles in a table
//! indexed by order id (ids are dense, as a sequencer assigns them); lobster, matchcore
//! and orderbook-rs take the id and index it themselves. An aggressive order is a limit
//! order priced through the best contra level: each subject matches it, price-time, and
//! rests what is left.

use crossline_book::{Book, BookConfig, BookSide, OrderHandle, RestingOrder};
use crossline_testkit::Xorshift;
use crossline_types::{ClientId, OrderId, Price, Quantity};

/// Price of the stream's market centre, in ticks (cents): $100.00.
const CENTER_TICKS: u64 = 10_000;
/// Micro-dollars per tick.
const TICK_MICROS: i64 = 10_000;

/// One operation of the plain stream. An order's id is the index of the operation that
/// added it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PlainOp {
    /// A limit order: it crosses what it reaches, then rests.
    Limit {
        buy: bool,
        price_ticks: u64,
        quantity: u32,
    },
    /// Cancel the order added by operation `id` (a no-op if it is gone).
    Cancel { id: u64 },
}

/// The stream's composition, in percent.
pub(crate) const ADD_PERCENT: u64 = 60;
/// Cancels of an order added earlier (possibly filled since: then a no-op everywhere).
pub(crate) const CANCEL_PERCENT: u64 = 30;
/// The rest are aggressive limit orders priced 0–2 ticks through the best contra level.
pub(crate) const AGGRESSIVE_PERCENT: u64 = 100 - ADD_PERCENT - CANCEL_PERCENT;

/// Generates `count` operations from `seed`. Passive orders rest 1–20 ticks from a
/// market centre that random-walks a tick at a time; cancels pick among the last 2,000
/// orders added; aggressive orders cross 0–2 ticks through the far touch.
pub(crate) fn stream(count: usize, seed: u64) -> Vec<PlainOp> {
    let mut random = Xorshift::new(seed);
    let mut center = CENTER_TICKS;
    let mut added: Vec<u64> = Vec::with_capacity(count);
    let mut ops = Vec::with_capacity(count);
    for index in 0..count as u64 {
        let word = random.next();
        if word % 50 == 0 {
            center = if word & (1 << 20) == 0 {
                center + 1
            } else {
                center - 1
            };
        }
        let buy = word & (1 << 8) == 0;
        let quantity = 100 * (1 + ((word >> 24) % 10) as u32);
        let pick = (word >> 40) % 100;
        let op = if pick < ADD_PERCENT {
            let distance = 1 + (word >> 12) % 20;
            let price_ticks = if buy {
                center - distance
            } else {
                center + distance
            };
            added.push(index);
            PlainOp::Limit {
                buy,
                price_ticks,
                quantity,
            }
        } else if pick < ADD_PERCENT + CANCEL_PERCENT && !added.is_empty() {
            let back = ((word >> 16) % 2_000) as usize % added.len();
            PlainOp::Cancel {
                id: added[added.len() - 1 - back],
            }
        } else {
            let through = (word >> 12) % 3;
            let price_ticks = if buy {
                center + 1 + through
            } else {
                center - 1 - through
            };
            added.push(index);
            PlainOp::Limit {
                buy,
                price_ticks,
                quantity,
            }
        };
        ops.push(op);
    }
    ops
}

/// A book under test.
pub(crate) trait PlainBook {
    /// Display name.
    const NAME: &'static str;
    /// Key in the JSON results.
    const KEY: &'static str;
    /// An empty book sized for `orders` orders.
    fn new(orders: usize) -> Self;
    /// Applies operation `id`.
    fn apply(&mut self, id: u64, op: PlainOp);
    /// The best bid and ask, in ticks, to check that every subject ended in the same state.
    fn touch(&self) -> (Option<u64>, Option<u64>);
}

/// crossline-book with a handle table indexed by order id and a price-time crossing loop.
pub(crate) struct Crossline {
    book: Book,
    handles: Vec<Option<OrderHandle>>,
}

impl PlainBook for Crossline {
    const NAME: &'static str = "crossline-book";
    const KEY: &'static str = "crossline";

    fn new(orders: usize) -> Crossline {
        let config = BookConfig {
            orders_max: u32::try_from(orders).unwrap_or(u32::MAX).min(1 << 22),
            tick: Price::CENT,
            window_levels: 1024,
            far_levels_max: 1024,
        };
        let center = Price::from_micros(CENTER_TICKS as i64 * TICK_MICROS);
        Crossline {
            book: Book::new(&config, center).expect("valid book configuration"),
            handles: vec![None; orders],
        }
    }

    #[inline]
    fn apply(&mut self, id: u64, op: PlainOp) {
        match op {
            PlainOp::Limit {
                buy,
                price_ticks,
                quantity,
            } => {
                let price = Price::from_micros(price_ticks as i64 * TICK_MICROS);
                let (side, contra) = if buy {
                    (BookSide::Bid, BookSide::Ask)
                } else {
                    (BookSide::Ask, BookSide::Bid)
                };
                let mut left = quantity;
                while left > 0 {
                    let Some((_, front)) = self.book.front(contra) else {
                        break;
                    };
                    let crosses = if buy {
                        front.price <= price
                    } else {
                        front.price >= price
                    };
                    if !crosses {
                        break;
                    }
                    let Ok(fill) = self.book.fill_front(contra, Quantity::new(left)) else {
                        break;
                    };
                    left -= fill.quantity.shares();
                }
                if left > 0 {
                    let order = RestingOrder {
                        order_id: OrderId::new(id),
                        client: ClientId::new(1),
                        side,
                        price,
                        quantity: Quantity::new(left),
                        owner: 0,
                    };
                    self.handles[id as usize] = self.book.add(order).ok();
                }
            }
            PlainOp::Cancel { id } => {
                if let Some(handle) = self.handles[id as usize].take() {
                    // A filled order's handle is stale: the book refuses it, as it should.
                    let _ = self.book.cancel(handle);
                }
            }
        }
    }

    fn touch(&self) -> (Option<u64>, Option<u64>) {
        let ticks = |side| {
            self.book
                .best(side)
                .map(|level| (level.price.micros() / TICK_MICROS) as u64)
        };
        (ticks(BookSide::Bid), ticks(BookSide::Ask))
    }
}

/// lobster 0.7 (BTreeMap of levels over an order arena), statistics tracking off.
pub(crate) struct Lobster(lobster::OrderBook);

impl PlainBook for Lobster {
    const NAME: &'static str = "lobster";
    const KEY: &'static str = "lobster";

    fn new(orders: usize) -> Lobster {
        Lobster(lobster::OrderBook::new(orders, 16, false))
    }

    #[inline]
    fn apply(&mut self, id: u64, op: PlainOp) {
        let order = match op {
            PlainOp::Limit {
                buy,
                price_ticks,
                quantity,
            } => lobster::OrderType::Limit {
                id: u128::from(id),
                side: if buy {
                    lobster::Side::Bid
                } else {
                    lobster::Side::Ask
                },
                qty: u64::from(quantity),
                price: price_ticks,
            },
            PlainOp::Cancel { id } => lobster::OrderType::Cancel { id: u128::from(id) },
        };
        std::hint::black_box(self.0.execute(order));
    }

    fn touch(&self) -> (Option<u64>, Option<u64>) {
        (self.0.max_bid(), self.0.min_ask())
    }
}

/// matchcore 0.4 (a command → outcome state machine; order ids are the submitting
/// command's sequence number, which here is the operation index).
pub(crate) struct Matchcore(matchcore::OrderBook);

impl PlainBook for Matchcore {
    const NAME: &'static str = "matchcore";
    const KEY: &'static str = "matchcore";

    fn new(_orders: usize) -> Matchcore {
        Matchcore(matchcore::OrderBook::new("BENCH"))
    }

    #[inline]
    fn apply(&mut self, id: u64, op: PlainOp) {
        use matchcore::{
            CancelCmd, Command, CommandKind, CommandMeta, LimitOrder, NewOrder, OrderFlags,
            OrderKind, QuantityPolicy, SequenceNumber, Side, SubmitCmd, TimeInForce, Timestamp,
        };
        let kind = match op {
            PlainOp::Limit {
                buy,
                price_ticks,
                quantity,
            } => CommandKind::Submit(SubmitCmd {
                order: NewOrder::Limit(LimitOrder::new(
                    matchcore::Price(price_ticks),
                    QuantityPolicy::Standard {
                        quantity: matchcore::Quantity(u64::from(quantity)),
                    },
                    OrderFlags::new(
                        if buy { Side::Buy } else { Side::Sell },
                        false,
                        TimeInForce::Gtc,
                    ),
                )),
            }),
            PlainOp::Cancel { id } => CommandKind::Cancel(CancelCmd {
                order_id: matchcore::OrderId(id),
                order_kind: OrderKind::Limit,
            }),
        };
        let command = Command {
            meta: CommandMeta {
                sequence_number: SequenceNumber(id),
                timestamp: Timestamp(id),
            },
            kind,
        };
        std::hint::black_box(self.0.execute(&command));
    }

    fn touch(&self) -> (Option<u64>, Option<u64>) {
        (
            self.0.best_bid_price().map(|price| price.0),
            self.0.best_ask_price().map(|price| price.0),
        )
    }
}

/// orderbook-rs 0.15 (a concurrent book: lock-free price levels in a skip list).
pub(crate) struct OrderbookRs(orderbook_rs::OrderBook<()>);

impl PlainBook for OrderbookRs {
    const NAME: &'static str = "orderbook-rs";
    const KEY: &'static str = "orderbook_rs";

    fn new(_orders: usize) -> OrderbookRs {
        OrderbookRs(orderbook_rs::OrderBook::new("BENCH"))
    }

    #[inline]
    fn apply(&mut self, id: u64, op: PlainOp) {
        use orderbook_rs::prelude::{Id, Side, TimeInForce};
        match op {
            PlainOp::Limit {
                buy,
                price_ticks,
                quantity,
            } => {
                let side = if buy { Side::Buy } else { Side::Sell };
                let result = self.0.add_limit_order(
                    Id::from_u64(id),
                    u128::from(price_ticks),
                    u64::from(quantity),
                    side,
                    TimeInForce::Gtc,
                    None,
                );
                let _ = std::hint::black_box(result);
            }
            PlainOp::Cancel { id } => {
                let _ = std::hint::black_box(self.0.cancel_order(Id::from_u64(id)));
            }
        }
    }

    fn touch(&self) -> (Option<u64>, Option<u64>) {
        let ticks =
            |price: Option<u128>| price.map(|price| u64::try_from(price).unwrap_or(u64::MAX));
        (ticks(self.0.best_bid()), ticks(self.0.best_ask()))
    }
}
