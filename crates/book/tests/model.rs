//! The book against a small, obviously correct model: an ordered map of FIFO queues per
//! side. Random operations (add, cancel, reduce, fill at the front, recenter), with tiny
//! capacities so that a full book, the far-away overflow and its limit, and window moves
//! all happen often. After every operation the two must agree on the result and on every
//! level and every queue; errors must agree too.
#![allow(clippy::cast_possible_truncation)] // test values are small

use std::collections::{BTreeMap, VecDeque};

use crossline_book::{Book, BookConfig, BookError, BookSide, OrderHandle, RestingOrder};
use crossline_types::{ClientId, OrderId, Price, Quantity};
use proptest::prelude::*;

const TICK: i64 = 10_000; // one cent
const CENTER_TICKS: i64 = 10_000; // $100.00
const CONFIG: BookConfig = BookConfig {
    orders_max: 48,
    tick: Price::CENT,
    window_levels: 64,
    far_levels_max: 3,
};

#[derive(Debug, Clone)]
enum Operation {
    Add {
        bid: bool,
        offset: i64,
        quantity: u32,
    },
    Cancel {
        pick: usize,
    },
    Reduce {
        pick: usize,
        percent: u32,
    },
    FillFront {
        bid: bool,
        quantity: u32,
    },
    Recenter {
        offset: i64,
    },
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        5 => (any::<bool>(), -120i64..120, 1u32..500)
            .prop_map(|(bid, offset, quantity)| Operation::Add { bid, offset, quantity }),
        2 => any::<usize>().prop_map(|pick| Operation::Cancel { pick }),
        1 => (any::<usize>(), 0u32..120).prop_map(|(pick, percent)| Operation::Reduce { pick, percent }),
        2 => (any::<bool>(), 1u32..700).prop_map(|(bid, quantity)| Operation::FillFront { bid, quantity }),
        1 => (-100i64..100).prop_map(|offset| Operation::Recenter { offset }),
    ]
}

/// The model: levels as ordered maps of FIFO queues of (order id, shares).
#[derive(Default)]
struct Model {
    bids: BTreeMap<i64, VecDeque<(u64, u32)>>,
    asks: BTreeMap<i64, VecDeque<(u64, u32)>>,
    base: i64,
}

impl Model {
    fn side(&mut self, bid: bool) -> &mut BTreeMap<i64, VecDeque<(u64, u32)>> {
        if bid {
            &mut self.bids
        } else {
            &mut self.asks
        }
    }

    fn len(&self) -> usize {
        self.bids
            .values()
            .chain(self.asks.values())
            .map(VecDeque::len)
            .sum()
    }

    fn in_window(&self, ticks: i64, base: i64) -> bool {
        (base..base + i64::from(CONFIG.window_levels)).contains(&ticks)
    }

    fn far_levels(&self, levels: &BTreeMap<i64, VecDeque<(u64, u32)>>, base: i64) -> usize {
        levels
            .keys()
            .filter(|ticks| !self.in_window(**ticks, base))
            .count()
    }

    fn best(&self, bid: bool) -> Option<i64> {
        if bid {
            self.bids.keys().next_back().copied()
        } else {
            self.asks.keys().next().copied()
        }
    }

    /// Removes `order_id` wherever it rests.
    fn remove(&mut self, bid: bool, ticks: i64, order_id: u64) {
        let levels = self.side(bid);
        let queue = levels.get_mut(&ticks).unwrap();
        queue.retain(|(id, _)| *id != order_id);
        if queue.is_empty() {
            levels.remove(&ticks);
        }
    }
}

fn side_of(bid: bool) -> BookSide {
    if bid {
        BookSide::Bid
    } else {
        BookSide::Ask
    }
}

/// Checks every level and every queue of both sides against the model.
fn assert_same(book: &Book, model: &Model) {
    assert_eq!(book.len(), model.len());
    for bid in [true, false] {
        let side = side_of(bid);
        let levels = if bid { &model.bids } else { &model.asks };
        let mut expected: Vec<(i64, u64, u32)> = levels
            .iter()
            .map(|(ticks, queue)| {
                (
                    *ticks,
                    queue.iter().map(|(_, q)| u64::from(*q)).sum(),
                    queue.len() as u32,
                )
            })
            .collect();
        if bid {
            expected.reverse();
        }
        let mut actual = Vec::new();
        book.for_each_level(side, |level| {
            actual.push((level.price.micros() / TICK, level.quantity, level.orders));
        });
        assert_eq!(actual, expected, "levels of {side:?}");
        let best = book.best(side).map(|level| level.price.micros() / TICK);
        assert_eq!(best, model.best(bid), "best {side:?}");
        for (ticks, queue) in levels {
            let mut orders = Vec::new();
            book.for_each_order_at(side, Price::from_micros(ticks * TICK), |order| {
                orders.push((order.order_id.get(), order.quantity.shares()));
            });
            assert_eq!(
                orders,
                queue.iter().copied().collect::<Vec<_>>(),
                "queue at {ticks}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn book_matches_the_model(operations in prop::collection::vec(operation(), 1..500)) {
        let mut book = Book::new(&CONFIG, Price::from_micros(CENTER_TICKS * TICK)).unwrap();
        let mut model = Model { base: CENTER_TICKS - i64::from(CONFIG.window_levels / 2), ..Model::default() };
        // Live orders: (handle, id, bid, ticks), in insertion order.
        let mut live: Vec<(OrderHandle, u64, bool, i64)> = Vec::new();
        let mut next_id = 1u64;
        for operation in operations {
            match operation {
                Operation::Add { bid, offset, quantity } => {
                    let ticks = CENTER_TICKS + offset;
                    let order = RestingOrder {
                        order_id: OrderId::new(next_id),
                        client: ClientId::new(7),
                        side: side_of(bid),
                        price: Price::from_micros(ticks * TICK),
                        quantity: Quantity::new(quantity),
                        owner: 0,
                    };
                    let levels = if bid { &model.bids } else { &model.asks };
                    let new_far_level = !model.in_window(ticks, model.base) && !levels.contains_key(&ticks);
                    let expected = if model.len() == CONFIG.orders_max as usize {
                        Err(BookError::Full { orders_max: CONFIG.orders_max })
                    } else if new_far_level && model.far_levels(levels, model.base) == CONFIG.far_levels_max as usize {
                        Err(BookError::FarLevelsFull { price: order.price, far_levels_max: CONFIG.far_levels_max })
                    } else {
                        Ok(())
                    };
                    let result = book.add(order);
                    prop_assert_eq!(result.map(|_| ()), expected);
                    if let Ok(handle) = result {
                        model.side(bid).entry(ticks).or_default().push_back((next_id, quantity));
                        live.push((handle, next_id, bid, ticks));
                    }
                    next_id += 1;
                }
                Operation::Cancel { pick } => {
                    if live.is_empty() { continue; }
                    let (handle, id, bid, ticks) = live.remove(pick % live.len());
                    let cancelled = book.cancel(handle).unwrap();
                    prop_assert_eq!(cancelled.order_id.get(), id);
                    model.remove(bid, ticks, id);
                    prop_assert_eq!(book.cancel(handle), Err(BookError::UnknownOrder));
                }
                Operation::Reduce { pick, percent } => {
                    if live.is_empty() { continue; }
                    let (handle, id, bid, ticks) = live[pick % live.len()];
                    let queue = model.side(bid).get_mut(&ticks).unwrap();
                    let entry = queue.iter_mut().find(|(order, _)| *order == id).unwrap();
                    let requested = (u64::from(entry.1) * u64::from(percent) / 100) as u32;
                    let result = book.reduce(handle, Quantity::new(requested));
                    if requested == 0 || requested >= entry.1 {
                        let refused = matches!(result, Err(BookError::InvalidReduce { .. }));
                        prop_assert!(refused, "{:?}", result);
                    } else {
                        prop_assert_eq!(result, Ok(()));
                        entry.1 = requested;
                    }
                }
                Operation::FillFront { bid, quantity } => {
                    let result = book.fill_front(side_of(bid), Quantity::new(quantity));
                    let Some(ticks) = model.best(bid) else {
                        prop_assert_eq!(result, Err(BookError::UnknownOrder));
                        continue;
                    };
                    let fill = result.unwrap();
                    let queue = model.side(bid).get_mut(&ticks).unwrap();
                    let front = queue.front_mut().unwrap();
                    prop_assert_eq!(fill.order_id.get(), front.0);
                    prop_assert_eq!(fill.price.micros(), ticks * TICK);
                    let filled = quantity.min(front.1);
                    prop_assert_eq!(fill.quantity.shares(), filled);
                    prop_assert_eq!(fill.completed, filled == front.1);
                    front.1 -= filled;
                    if front.1 == 0 {
                        let id = front.0;
                        model.remove(bid, ticks, id);
                        live.retain(|(_, live_id, _, _)| *live_id != id);
                    }
                }
                Operation::Recenter { offset } => {
                    let new_base = CENTER_TICKS + offset - i64::from(CONFIG.window_levels / 2);
                    let fits = model.far_levels(&model.bids, new_base) <= CONFIG.far_levels_max as usize
                        && model.far_levels(&model.asks, new_base) <= CONFIG.far_levels_max as usize;
                    let result = book.recenter(Price::from_micros((CENTER_TICKS + offset) * TICK));
                    prop_assert_eq!(result.is_ok(), fits, "{:?}", result);
                    if fits {
                        model.base = new_base;
                    }
                }
            }
            assert_same(&book, &model);
        }
    }
}
