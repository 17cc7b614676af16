//! The matcher's state: working orders (a preallocated table with two indexes) and
//! symbols.

use crossline_book::{Book, BookSide, OrderHandle};
use crossline_types::{
    ClientId, ClientOrderId, OrderId, OrderType, Price, Side, SymbolId, TimeInForce,
};

use crate::config::SymbolSettings;
use crate::io::{FirmQuote, NbboPrices};
use crate::pricing::Nbbo;
use crossline_index::{mix, Index};

/// A working order. `ordered = filled + leaves` (a cancel ends an order, so a working
/// order has cancelled nothing); `routed ≤ leaves` is out at a venue; the rest rests in
/// the book once the order has finished arriving.
///
/// One cache line exactly: every input that touches an order touches this record, so it
/// costs one miss, not two. The NBBO at receipt, needed only to report an execution, lives
/// apart in [`Orders`].
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Order {
    pub(crate) id: OrderId,
    pub(crate) client_order_id: ClientOrderId,
    pub(crate) client: ClientId,
    pub(crate) symbol: SymbolId,
    /// Limit price; zero for a market order.
    pub(crate) price: Price,
    pub(crate) ordered: u32,
    pub(crate) filled: u32,
    pub(crate) routed: u32,
    pub(crate) side: Side,
    pub(crate) order_type: OrderType,
    pub(crate) time_in_force: TimeInForce,
    /// The trading day it was accepted on (day orders expire with it).
    pub(crate) day: u32,
    pub(crate) handle: Option<OrderHandle>,
}

const _: () = assert!(size_of::<Order>() == 64);

impl Order {
    /// Shares still working (resting, out at a venue, or not yet placed).
    pub(crate) fn leaves(&self) -> u32 {
        self.ordered - self.filled
    }

    /// The limit, or `None` for a market order.
    pub(crate) fn limit(&self) -> Option<Price> {
        match self.order_type {
            OrderType::Limit => Some(self.price),
            OrderType::Market => None,
        }
    }

    /// The book side the order rests on.
    pub(crate) fn book_side(&self) -> BookSide {
        if self.side.is_buy() {
            BookSide::Bid
        } else {
            BookSide::Ask
        }
    }

    /// Whether it is the firm's own (a hedge), not a client's.
    pub(crate) fn is_hedge(&self) -> bool {
        self.id.get() & crate::matcher::HEDGE_ORDER_BIT != 0
    }

    /// Whether it may rest: a day or good-till-cancel limit order.
    pub(crate) fn may_rest(&self) -> bool {
        self.order_type == OrderType::Limit
            && matches!(
                self.time_in_force,
                TimeInForce::Day | TimeInForce::GoodTillCancel
            )
    }
}

/// The hash of a client's order id, scoped by client.
fn client_hash(client: ClientId, client_order_id: ClientOrderId) -> u64 {
    mix(client_order_id.get() ^ mix(u64::from(client.get())))
}

/// The hash of an engine order id.
fn id_hash(id: OrderId) -> u64 {
    mix(id.get())
}

/// The working orders: a slab of `orders_max` records, found by engine id or by client
/// order id. Nothing here allocates after construction.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Orders {
    slots: Vec<Order>,
    /// The NBBO when each order arrived (or was last re-priced), by slot.
    receipts: Vec<NbboPrices>,
    #[serde(with = "crossline_types::serde_support::capacity")]
    free: Vec<u32>,
    by_id: Index,
    by_client: Index,
}

impl Orders {
    pub(crate) fn new(orders_max: u32) -> Orders {
        let blank = Order {
            id: OrderId::new(0),
            client_order_id: ClientOrderId::new(0),
            client: ClientId::new(0),
            symbol: SymbolId::new(0),
            price: Price::ZERO,
            ordered: 0,
            filled: 0,
            routed: 0,
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Day,
            day: 0,
            handle: None,
        };
        Orders {
            slots: vec![blank; orders_max as usize],
            receipts: vec![NbboPrices::default(); orders_max as usize],
            // Popped from the back: slot 0 first, so a run's slot use is easy to follow.
            free: (0..orders_max).rev().collect(),
            by_id: Index::new(orders_max),
            by_client: Index::new(orders_max),
        }
    }

    pub(crate) fn is_full(&self) -> bool {
        self.free.is_empty()
    }

    pub(crate) fn len(&self) -> u32 {
        self.by_id.len()
    }

    /// Stores a new working order; the caller has checked `is_full` and that the client
    /// order id is free.
    pub(crate) fn insert(&mut self, order: Order, receipt: NbboPrices) -> u32 {
        let slot = self.free.pop().expect("caller checked is_full");
        self.slots[slot as usize] = order;
        self.receipts[slot as usize] = receipt;
        let fresh = self.by_id.insert(id_hash(order.id), slot)
            && self
                .by_client
                .insert(client_hash(order.client, order.client_order_id), slot);
        debug_assert!(fresh, "indexes are sized to orders_max");
        slot
    }

    /// Forgets a finished order: filled, or its leaves just cancelled.
    pub(crate) fn release(&mut self, slot: u32) {
        let order = self.slots[slot as usize];
        debug_assert!(order.routed == 0 && order.handle.is_none());
        self.by_id.remove(id_hash(order.id), |found| found == slot);
        self.by_client
            .remove(client_hash(order.client, order.client_order_id), |found| {
                found == slot
            });
        self.free.push(slot);
    }

    /// Gives a working order a new client order id (the caller checked it is free).
    pub(crate) fn rename(&mut self, slot: u32, client_order_id: ClientOrderId) {
        let order = &mut self.slots[slot as usize];
        let old = client_hash(order.client, order.client_order_id);
        let new = client_hash(order.client, client_order_id);
        order.client_order_id = client_order_id;
        self.by_client.remove(old, |found| found == slot);
        self.by_client.insert(new, slot);
    }

    pub(crate) fn find(&self, client: ClientId, client_order_id: ClientOrderId) -> Option<u32> {
        self.by_client
            .get(client_hash(client, client_order_id), |slot| {
                let order = &self.slots[slot as usize];
                order.client == client && order.client_order_id == client_order_id
            })
    }

    /// Starts loading what [`Orders::find`] will read first.
    pub(crate) fn prefetch_client(&self, client: ClientId, client_order_id: ClientOrderId) {
        self.by_client
            .prefetch(client_hash(client, client_order_id));
    }

    /// Starts loading the record [`Orders::find`] will most likely return (its index
    /// entry should already be in cache: see [`Orders::prefetch_client`]).
    pub(crate) fn prefetch_client_order(&self, client: ClientId, client_order_id: ClientOrderId) {
        if let Some(slot) = self.by_client.peek(client_hash(client, client_order_id)) {
            crossline_hint::prefetch(&self.slots[slot as usize]);
        }
    }

    /// Starts loading what [`Orders::find_id`] will read first.
    pub(crate) fn prefetch_id(&self, id: OrderId) {
        self.by_id.prefetch(id_hash(id));
    }

    pub(crate) fn find_id(&self, id: OrderId) -> Option<u32> {
        self.by_id
            .get(id_hash(id), |slot| self.slots[slot as usize].id == id)
    }

    /// The NBBO when the order in `slot` arrived.
    pub(crate) fn receipt(&self, slot: u32) -> NbboPrices {
        self.receipts[slot as usize]
    }

    /// Records a new NBBO at receipt (a replace that re-prices the order).
    pub(crate) fn set_receipt(&mut self, slot: u32, receipt: NbboPrices) {
        self.receipts[slot as usize] = receipt;
    }

    /// Slots in the table.
    pub(crate) fn capacity(&self) -> u32 {
        // Built from a `u32`.
        u32::try_from(self.slots.len()).unwrap_or(u32::MAX)
    }

    /// The working order in `slot`, if the slot holds one.
    pub(crate) fn live(&self, slot: u32) -> Option<&Order> {
        let order = &self.slots[slot as usize];
        (self.find_id(order.id) == Some(slot)).then_some(order)
    }

    pub(crate) fn get(&self, slot: u32) -> &Order {
        &self.slots[slot as usize]
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Order {
        &mut self.slots[slot as usize]
    }
}

/// One symbol: its book, market, settings and the firm's position in it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Symbol {
    pub(crate) id: SymbolId,
    pub(crate) book: Book,
    /// The book's window, in levels, to decide when to re-centre it.
    pub(crate) window_levels: u32,
    pub(crate) nbbo: Nbbo,
    pub(crate) settings: SymbolSettings,
    /// Shares; negative is short.
    pub(crate) position: i64,
    /// A hedge order is out at a venue.
    pub(crate) hedging: bool,
    /// The price the position is valued at for the gross notional limit: the last usable
    /// NBBO midpoint (the reference price before one arrives).
    pub(crate) mark: Price,
    /// The last firm quote published (active mode).
    pub(crate) quote: FirmQuote,
}

impl Symbol {
    /// Starts loading the lines of the symbol's state that every input reads.
    pub(crate) fn prefetch(&self) {
        crossline_hint::prefetch(&self.nbbo);
        crossline_hint::prefetch(&self.book);
        crossline_hint::prefetch(&self.settings);
    }
}
