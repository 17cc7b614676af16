//! A price-level order book for one symbol, built for the cache.
//!
//! Guarantee: after [`Book::new`] returns, no operation allocates. Every capacity (orders,
//! price window, far-away levels) is fixed from [`BookConfig`], and an operation that
//! would exceed one fails with a [`BookError`] naming it, leaving the book unchanged.
//! The book is deterministic: no clock, no randomness, no hash-map iteration.
//!
//! ```
//! use crossline_book::{Book, BookConfig, BookSide, RestingOrder};
//! use crossline_types::{ClientId, OrderId, Price, Quantity};
//!
//! let config = BookConfig { orders_max: 1024, tick: Price::CENT, window_levels: 2048, far_levels_max: 64 };
//! let mut book = Book::new(&config, Price::from_micros(100_000_000)).unwrap();
//! let order = |id, side, micros, shares| RestingOrder {
//!     order_id: OrderId::new(id), client: ClientId::new(1), side,
//!     price: Price::from_micros(micros), quantity: Quantity::new(shares), owner: 0,
//! };
//! let first = book.add(order(1, BookSide::Bid, 99_990_000, 300)).unwrap();
//! book.add(order(2, BookSide::Bid, 99_990_000, 200)).unwrap();
//! book.add(order(3, BookSide::Ask, 100_010_000, 100)).unwrap();
//! assert_eq!(book.best(BookSide::Bid).unwrap().price, Price::from_micros(99_990_000));
//! assert_eq!(book.best(BookSide::Bid).unwrap().quantity, 500);
//!
//! // Time priority within a level; a fill takes the oldest order first.
//! let fill = book.fill_front(BookSide::Bid, Quantity::new(300)).unwrap();
//! assert_eq!(fill.order_id, OrderId::new(1));
//! assert!(fill.completed);
//! assert!(book.cancel(first).is_err(), "a filled order's handle is stale");
//! ```
//!
//! # Layout
//!
//! - **Orders** live in a slab preallocated to `orders_max`; free nodes form a list. Each
//!   order is linked into a doubly linked FIFO per price level through slab indices, so
//!   cancelling by [`OrderHandle`] is O(1). Handles carry a generation, so a stale handle
//!   (to an order since filled or cancelled, and its slot reused) is refused.
//! - **Price levels** for each side sit in a contiguous array covering `window_levels`
//!   ticks around the market, indexed by `price / tick - base`. A bitset of non-empty
//!   levels finds the best price with a few word scans.
//! - **Far-away prices**, outside the window, go to a small sorted overflow per side
//!   (capacity `far_levels_max`), so a deep limit order is accepted, not refused.
//!   [`Book::recenter`] moves the window when the market moves, migrating levels between
//!   the window and the overflow.
#![forbid(unsafe_code)]

mod half;
mod slab;

use core::ops::ControlFlow;

use crossline_types::{ClientId, OrderId, Price, Quantity};

use crate::half::{Half, Level};
use crate::slab::{Node, Slab, NIL};

/// Which side of the book an order rests on.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookSide {
    /// Buy orders.
    Bid,
    /// Sell orders (long or short).
    Ask,
}

impl BookSide {
    /// The other side.
    #[must_use]
    pub const fn contra(self) -> BookSide {
        match self {
            BookSide::Bid => BookSide::Ask,
            BookSide::Ask => BookSide::Bid,
        }
    }
}

/// Capacities of one book, fixed at construction.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookConfig {
    /// Most orders resting at once (both sides together).
    pub orders_max: u32,
    /// Price increment of the levels: every resting price is a multiple of it.
    pub tick: Price,
    /// Levels per side in the array window around the market.
    pub window_levels: u32,
    /// Most non-empty levels per side outside the window.
    pub far_levels_max: u32,
}

/// Why a book could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookConfigError {
    /// A capacity is zero or too large.
    #[error("book {field} is {value}; it must be between 1 and {max}")]
    Capacity {
        /// The configuration field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// The largest allowed.
        max: u64,
    },
    /// The tick is not a positive price.
    #[error("book tick {tick} must be a positive price")]
    Tick {
        /// The tick given.
        tick: Price,
    },
}

/// Why an operation on the book was refused. The book is unchanged after any error.
#[derive(
    serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, thiserror::Error,
)]
pub enum BookError {
    /// The book already holds `orders_max` orders.
    #[error("book full: it already holds {orders_max} orders")]
    Full {
        /// The configured limit.
        orders_max: u32,
    },
    /// The order's price is outside the window and the overflow for far-away levels is full.
    #[error("no room for price {price}: {far_levels_max} far-away levels are already in use on that side")]
    FarLevelsFull {
        /// The price that did not fit.
        price: Price,
        /// The configured limit.
        far_levels_max: u32,
    },
    /// The price is not a positive multiple of the book's tick.
    #[error("price {price} is not a positive multiple of the book's tick {tick}")]
    PriceNotOnTick {
        /// The price given.
        price: Price,
        /// The book's tick.
        tick: Price,
    },
    /// A resting order, or a fill, needs a positive quantity.
    #[error("a resting order or a fill needs a positive quantity")]
    ZeroQuantity,
    /// The handle names no order resting now (filled, cancelled, or never issued).
    #[error("no resting order for that handle")]
    UnknownOrder,
    /// A reduction must leave a smaller, positive quantity.
    #[error("cannot reduce an order of {open} shares to {requested}")]
    InvalidReduce {
        /// The order's open quantity.
        open: Quantity,
        /// The quantity asked for.
        requested: Quantity,
    },
}

/// An order resting in the book. `quantity` is its open quantity.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestingOrder {
    /// The engine's id for the order.
    pub order_id: OrderId,
    /// Whose order (for self-match prevention).
    pub client: ClientId,
    /// Which side it rests on.
    pub side: BookSide,
    /// Its limit price.
    pub price: Price,
    /// Its open quantity.
    pub quantity: Quantity,
    /// Whatever index the book's owner keeps for the order (the matcher's order-table
    /// slot), handed back with every fill so the owner finds its record without a lookup.
    pub owner: u32,
}

/// Names a resting order for O(1) cancel and reduce. Refused once the order has left the
/// book, even if its slot has been reused.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderHandle {
    index: u32,
    generation: u32,
}

/// A price level as seen from outside.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelView {
    /// The level's price.
    pub price: Price,
    /// Open shares at the level.
    pub quantity: u64,
    /// Orders at the level.
    pub orders: u32,
}

/// What [`Book::fill_front`] executed.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontFill {
    /// The order filled.
    pub order_id: OrderId,
    /// Its client.
    pub client: ClientId,
    /// The owner's index for it (see [`RestingOrder::owner`]).
    pub owner: u32,
    /// Its price.
    pub price: Price,
    /// Shares filled.
    pub quantity: Quantity,
    /// Whether the order is now complete (and gone from the book).
    pub completed: bool,
}

/// The order book of one symbol.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Book {
    tick_micros: i64,
    /// Tick number of window index 0 (both sides share the window).
    base_ticks: i64,
    window_levels: u32,
    bids: Half,
    asks: Half,
    slab: Slab,
}

/// Upper bounds on capacities, so that indices fit `u32` and memory stays sane.
const ORDERS_MAX: u64 = 1 << 30;
const WINDOW_LEVELS_MAX: u64 = 1 << 24;
const FAR_LEVELS_MAX: u64 = 1 << 20;

impl Book {
    /// Builds an empty book with its window centred on `center`, allocating everything.
    ///
    /// # Errors
    /// [`BookConfigError`] naming the field that is out of range.
    pub fn new(config: &BookConfig, center: Price) -> Result<Book, BookConfigError> {
        check_capacity("orders_max", config.orders_max, ORDERS_MAX)?;
        check_capacity("window_levels", config.window_levels, WINDOW_LEVELS_MAX)?;
        check_capacity("far_levels_max", config.far_levels_max, FAR_LEVELS_MAX)?;
        if config.tick.micros() <= 0 {
            return Err(BookConfigError::Tick { tick: config.tick });
        }
        let tick_micros = config.tick.micros();
        let mut book = Book {
            tick_micros,
            base_ticks: 0,
            window_levels: config.window_levels,
            bids: Half::new(config.window_levels, config.far_levels_max, true),
            asks: Half::new(config.window_levels, config.far_levels_max, false),
            slab: Slab::new(config.orders_max),
        };
        book.base_ticks = book.window_base_for(center);
        Ok(book)
    }

    /// Orders resting, both sides.
    #[must_use]
    pub fn len(&self) -> usize {
        self.slab.len() as usize
    }

    /// Whether no order rests.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.slab.len() == 0
    }

    /// Starts loading the best level on each side (a hint: it changes nothing; see
    /// `crossline-hint`). Matching and resting near the touch read these first.
    pub fn prefetch_levels(&self) {
        self.bids.prefetch_best(self.base_ticks, self.window_levels);
        self.asks.prefetch_best(self.base_ticks, self.window_levels);
    }

    /// Starts loading the oldest order at the best level on each side: what a cross
    /// reads next. Best issued once [`Book::prefetch_levels`]'s lines have arrived.
    pub fn prefetch_fronts(&self) {
        for half in [&self.bids, &self.asks] {
            if let Some(head) = half.best_head(self.base_ticks, self.window_levels) {
                crossline_hint::prefetch(self.slab.node(head));
            }
        }
    }

    /// The book's tick.
    #[must_use]
    pub fn tick(&self) -> Price {
        Price::from_micros(self.tick_micros)
    }

    /// Rests `order` at the back of its price level's queue.
    ///
    /// # Errors
    /// [`BookError::ZeroQuantity`], [`BookError::PriceNotOnTick`], [`BookError::Full`] or
    /// [`BookError::FarLevelsFull`]; the book is unchanged.
    pub fn add(&mut self, order: RestingOrder) -> Result<OrderHandle, BookError> {
        if order.quantity.is_zero() {
            return Err(BookError::ZeroQuantity);
        }
        let ticks = self.ticks_of(order.price)?;
        if self.slab.is_full() {
            return Err(BookError::Full {
                orders_max: self.slab.capacity(),
            });
        }
        let (base, window) = (self.base_ticks, self.window_levels);
        let half = match order.side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        let far_levels_max = half.far_levels_max();
        let level = half
            .level_or_insert(ticks, base, window)
            .ok_or(BookError::FarLevelsFull {
                price: order.price,
                far_levels_max,
            })?;
        let index = self.slab.allocate(order);
        self.slab.push_back(level, index);
        half.mark_occupied(ticks, base, window);
        Ok(OrderHandle {
            index,
            generation: self.slab.generation(index),
        })
    }

    /// Removes a resting order and returns it.
    ///
    /// # Errors
    /// [`BookError::UnknownOrder`] for a stale or foreign handle.
    pub fn cancel(&mut self, handle: OrderHandle) -> Result<RestingOrder, BookError> {
        let order = *self.order(handle).ok_or(BookError::UnknownOrder)?;
        self.remove(handle.index, order);
        Ok(order)
    }

    /// Lowers a resting order's open quantity in place, keeping its time priority.
    ///
    /// # Errors
    /// [`BookError::UnknownOrder`] for a stale handle, [`BookError::InvalidReduce`] unless
    /// `0 < quantity < open`.
    pub fn reduce(&mut self, handle: OrderHandle, quantity: Quantity) -> Result<(), BookError> {
        let order = *self.order(handle).ok_or(BookError::UnknownOrder)?;
        if quantity.is_zero() || quantity >= order.quantity {
            return Err(BookError::InvalidReduce {
                open: order.quantity,
                requested: quantity,
            });
        }
        self.shrink(handle.index, order, quantity);
        Ok(())
    }

    /// The order behind `handle`, if it still rests.
    #[must_use]
    pub fn order(&self, handle: OrderHandle) -> Option<&RestingOrder> {
        self.slab.get(handle.index, handle.generation)
    }

    /// The best level on `side`: highest bid or lowest ask.
    #[must_use]
    pub fn best(&self, side: BookSide) -> Option<LevelView> {
        let ticks = self.best_ticks(side)?;
        let level = self
            .half(side)
            .level(ticks, self.base_ticks, self.window_levels)?;
        Some(self.view(ticks, level))
    }

    /// The oldest order at the best price on `side`.
    #[must_use]
    pub fn front(&self, side: BookSide) -> Option<(OrderHandle, &RestingOrder)> {
        let ticks = self.best_ticks(side)?;
        let level = self
            .half(side)
            .level(ticks, self.base_ticks, self.window_levels)?;
        let node: &Node = self.slab.node(level.head);
        Some((
            OrderHandle {
                index: level.head,
                generation: node.generation,
            },
            &node.order,
        ))
    }

    /// Executes up to `quantity` shares against the front order on `side` (best price,
    /// oldest first): it is reduced, or removed once complete.
    ///
    /// # Errors
    /// [`BookError::ZeroQuantity`] for a fill of no shares, [`BookError::UnknownOrder`]
    /// when `side` is empty.
    pub fn fill_front(
        &mut self,
        side: BookSide,
        quantity: Quantity,
    ) -> Result<FrontFill, BookError> {
        if quantity.is_zero() {
            return Err(BookError::ZeroQuantity);
        }
        let (handle, order) = self.front(side).ok_or(BookError::UnknownOrder)?;
        let order = *order;
        let filled = quantity.min(order.quantity);
        let completed = filled == order.quantity;
        if completed {
            self.remove(handle.index, order);
        } else {
            let left = order.quantity.checked_sub(filled).unwrap_or(Quantity::ZERO);
            self.shrink(handle.index, order, left);
        }
        Ok(FrontFill {
            order_id: order.order_id,
            client: order.client,
            owner: order.owner,
            price: order.price,
            quantity: filled,
            completed,
        })
    }

    /// Calls `visit` for every level on `side`, best first.
    pub fn for_each_level(&self, side: BookSide, mut visit: impl FnMut(LevelView)) {
        let _ = self.half(side).try_for_each_level(
            side == BookSide::Bid,
            self.base_ticks,
            |ticks, level| {
                visit(self.view(ticks, level));
                ControlFlow::Continue(())
            },
        );
    }

    /// Calls `visit` for every order on `side` in priority order (best price first, oldest
    /// first within a price) until it returns [`ControlFlow::Break`]. This is how a
    /// fill-or-kill order measures the liquidity it could take without taking it.
    pub fn try_for_each_order(
        &self,
        side: BookSide,
        mut visit: impl FnMut(&RestingOrder) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.half(side)
            .try_for_each_level(side == BookSide::Bid, self.base_ticks, |_, level| {
                self.try_for_each_order_in(level, &mut visit)
            })
    }

    /// Calls `visit` for every order at `price` on `side`, oldest first.
    pub fn for_each_order_at(
        &self,
        side: BookSide,
        price: Price,
        mut visit: impl FnMut(&RestingOrder),
    ) {
        let Ok(ticks) = self.ticks_of(price) else {
            return;
        };
        let Some(level) = self
            .half(side)
            .level(ticks, self.base_ticks, self.window_levels)
        else {
            return;
        };
        let _ = self.try_for_each_order_in(level, &mut |order| {
            visit(order);
            ControlFlow::Continue(())
        });
    }

    /// Moves the price window so that it is centred on `center`, migrating levels between
    /// the window and the far-away overflow. Call it when the market has moved far from
    /// the window's centre; it costs O(window + far levels).
    ///
    /// # Errors
    /// [`BookError::FarLevelsFull`] if the levels leaving the window would not fit in the
    /// overflow; the book is then unchanged.
    pub fn recenter(&mut self, center: Price) -> Result<(), BookError> {
        let new_base = self.window_base_for(center);
        let (old_base, window) = (self.base_ticks, self.window_levels);
        for half in [&self.bids, &self.asks] {
            if !half.can_recenter(old_base, new_base, window) {
                return Err(BookError::FarLevelsFull {
                    price: center,
                    far_levels_max: half.far_levels_max(),
                });
            }
        }
        self.bids.recenter(old_base, new_base, window);
        self.asks.recenter(old_base, new_base, window);
        self.base_ticks = new_base;
        Ok(())
    }

    /// The price at the centre of the window.
    #[must_use]
    pub fn window_center(&self) -> Price {
        Price::from_micros((self.base_ticks + i64::from(self.window_levels / 2)) * self.tick_micros)
    }

    fn window_base_for(&self, center: Price) -> i64 {
        center.micros().div_euclid(self.tick_micros) - i64::from(self.window_levels / 2)
    }

    fn ticks_of(&self, price: Price) -> Result<i64, BookError> {
        if price.micros() <= 0 || price.micros() % self.tick_micros != 0 {
            return Err(BookError::PriceNotOnTick {
                price,
                tick: self.tick(),
            });
        }
        Ok(price.micros() / self.tick_micros)
    }

    fn half(&self, side: BookSide) -> &Half {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    fn best_ticks(&self, side: BookSide) -> Option<i64> {
        self.half(side).best()
    }

    fn try_for_each_order_in(
        &self,
        level: &Level,
        visit: &mut impl FnMut(&RestingOrder) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let mut index = level.head;
        while index != NIL {
            let node = self.slab.node(index);
            visit(&node.order)?;
            index = node.next;
        }
        ControlFlow::Continue(())
    }

    fn view(&self, ticks: i64, level: &Level) -> LevelView {
        LevelView {
            price: Price::from_micros(ticks * self.tick_micros),
            quantity: level.quantity,
            orders: level.count,
        }
    }

    /// Unlinks and frees a resting order (`order` is its current content).
    fn remove(&mut self, index: u32, order: RestingOrder) {
        let (half, slab, ticks, base, window) = self.locate(&order);
        let level = half
            .level_mut(ticks, base, window)
            .expect("a resting order's level exists");
        slab.unlink(level, index);
        if level.count == 0 {
            half.release(ticks, base, window);
        }
        slab.free(index);
    }

    /// Sets a resting order's open quantity to `quantity` (smaller, positive).
    fn shrink(&mut self, index: u32, order: RestingOrder, quantity: Quantity) {
        debug_assert!(!quantity.is_zero() && quantity < order.quantity);
        let (half, slab, ticks, base, window) = self.locate(&order);
        let level = half
            .level_mut(ticks, base, window)
            .expect("a resting order's level exists");
        level.quantity -= u64::from(order.quantity.shares() - quantity.shares());
        slab.set_quantity(index, quantity);
    }

    /// The half holding a resting `order`, the slab, the order's tick and the window, as
    /// separate borrows so a level and the slab can be changed together.
    fn locate(&mut self, order: &RestingOrder) -> (&mut Half, &mut Slab, i64, i64, u32) {
        let ticks = order.price.micros() / self.tick_micros;
        let half = match order.side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        (
            half,
            &mut self.slab,
            ticks,
            self.base_ticks,
            self.window_levels,
        )
    }
}

fn check_capacity(field: &'static str, value: u32, max: u64) -> Result<(), BookConfigError> {
    if value == 0 || u64::from(value) > max {
        return Err(BookConfigError::Capacity {
            field,
            value: u64::from(value),
            max,
        });
    }
    Ok(())
}
