//! The matcher's state: working orders (a preallocated table with two indexes) and
//! symbols.

use crossline_book::{Book, BookSide, OrderHandle};
use crossline_types::{
    ClientId, ClientOrderId, OrderId, OrderType, Price, Side, SymbolId, TimeInForce,
};

use crate::config::SymbolSettings;
use crate::io::{FirmQuote, NbboPrices};
use crate::map::{mix, FixedMap, MapKey};
use crate::pricing::Nbbo;

/// A working order. `ordered = filled + cancelled + leaves`; `routed ≤ leaves` is out at a
/// venue; the rest rests in the book once the order has finished arriving.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Order {
    pub(crate) id: OrderId,
    pub(crate) client_order_id: ClientOrderId,
    pub(crate) client: ClientId,
    pub(crate) symbol: SymbolId,
    /// Limit price; zero for a market order.
    pub(crate) price: Price,
    pub(crate) ordered: u32,
    pub(crate) filled: u32,
    pub(crate) cancelled: u32,
    pub(crate) routed: u32,
    pub(crate) side: Side,
    pub(crate) order_type: OrderType,
    pub(crate) time_in_force: TimeInForce,
    /// The trading day it was accepted on (day orders expire with it).
    pub(crate) day: u32,
    pub(crate) handle: Option<OrderHandle>,
    pub(crate) receipt: NbboPrices,
}

impl Order {
    /// Shares still working (resting, out at a venue, or not yet placed).
    pub(crate) fn leaves(&self) -> u32 {
        self.ordered - self.filled - self.cancelled
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

    /// Whether it may rest: a day or good-till-cancel limit order.
    pub(crate) fn may_rest(&self) -> bool {
        self.order_type == OrderType::Limit
            && matches!(
                self.time_in_force,
                TimeInForce::Day | TimeInForce::GoodTillCancel
            )
    }
}

/// A client's order id, scoped by client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientKey {
    pub(crate) client: ClientId,
    pub(crate) client_order_id: ClientOrderId,
}

impl MapKey for ClientKey {
    fn hash(&self) -> u64 {
        mix(self.client_order_id.get() ^ mix(u64::from(self.client.get())))
    }
}

impl MapKey for OrderId {
    fn hash(&self) -> u64 {
        mix(self.get())
    }
}

/// The working orders: a slab of `orders_max` records, found by engine id or by client
/// order id. Nothing here allocates after construction.
pub(crate) struct Orders {
    slots: Vec<Order>,
    free: Vec<u32>,
    by_id: FixedMap<OrderId>,
    by_client: FixedMap<ClientKey>,
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
            cancelled: 0,
            routed: 0,
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Day,
            day: 0,
            handle: None,
            receipt: NbboPrices::default(),
        };
        Orders {
            slots: vec![blank; orders_max as usize],
            // Popped from the back: slot 0 first, so a run's slot use is easy to follow.
            free: (0..orders_max).rev().collect(),
            by_id: FixedMap::new(orders_max, OrderId::new(0)),
            by_client: FixedMap::new(
                orders_max,
                ClientKey {
                    client: ClientId::new(0),
                    client_order_id: ClientOrderId::new(0),
                },
            ),
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
    pub(crate) fn insert(&mut self, order: Order) -> u32 {
        let slot = self.free.pop().expect("caller checked is_full");
        self.slots[slot as usize] = order;
        let fresh =
            self.by_id.insert(order.id, slot) && self.by_client.insert(Self::key(&order), slot);
        debug_assert!(fresh, "maps are sized to orders_max");
        slot
    }

    /// Forgets a finished order.
    pub(crate) fn release(&mut self, slot: u32) {
        let order = self.slots[slot as usize];
        debug_assert!(order.leaves() == 0 && order.routed == 0 && order.handle.is_none());
        self.by_id.remove(&order.id);
        self.by_client.remove(&Self::key(&order));
        self.free.push(slot);
    }

    /// Gives a working order a new client order id (the caller checked it is free).
    pub(crate) fn rename(&mut self, slot: u32, client_order_id: ClientOrderId) {
        let order = &mut self.slots[slot as usize];
        let old = Self::key(order);
        order.client_order_id = client_order_id;
        let new = Self::key(order);
        self.by_client.remove(&old);
        self.by_client.insert(new, slot);
    }

    pub(crate) fn find(&self, client: ClientId, client_order_id: ClientOrderId) -> Option<u32> {
        self.by_client.get(&ClientKey {
            client,
            client_order_id,
        })
    }

    pub(crate) fn find_id(&self, id: OrderId) -> Option<u32> {
        self.by_id.get(&id)
    }

    pub(crate) fn get(&self, slot: u32) -> &Order {
        &self.slots[slot as usize]
    }

    pub(crate) fn get_mut(&mut self, slot: u32) -> &mut Order {
        &mut self.slots[slot as usize]
    }

    fn key(order: &Order) -> ClientKey {
        ClientKey {
            client: order.client,
            client_order_id: order.client_order_id,
        }
    }
}

/// One symbol: its book, market, settings and the firm's position in it.
pub(crate) struct Symbol {
    pub(crate) id: SymbolId,
    pub(crate) book: Book,
    /// The book's window, in levels, to decide when to re-centre it.
    pub(crate) window_levels: u32,
    pub(crate) nbbo: Nbbo,
    pub(crate) settings: SymbolSettings,
    /// Shares; negative is short.
    pub(crate) position: i64,
    /// The price the position is valued at for the gross notional limit: the last usable
    /// NBBO midpoint (the reference price before one arrives).
    pub(crate) mark: Price,
    /// The last firm quote published (active mode).
    pub(crate) quote: FirmQuote,
}
